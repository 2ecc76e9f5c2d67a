//! A constant learning rate.

use super::util::non_negative;
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`Constant`]: `lr(t) = base_lr`. Its one field, `base_lr`,
/// is required.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConstantConfig<F: Real = f32> {
    /// The learning rate (finite, ≥ 0).
    pub base_lr: F,
}

impl<F: Real> ConstantConfig<F> {
    /// A constant `base_lr`.
    pub fn new(base_lr: F) -> Self {
        Self { base_lr }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)
    }
}

validated!(
    /// A constant learning rate, `lr(t) = base_lr` (PyTorch: no scheduler).
    Constant,
    ConstantConfig
);

impl<F: Real> Schedule<F> for Constant<F> {
    #[inline]
    fn lr(&self, _step: u32) -> F {
        self.0.base_lr
    }
}
