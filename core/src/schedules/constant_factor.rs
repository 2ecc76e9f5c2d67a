//! A constant factor for the first steps (PyTorch `ConstantLR`).

use super::util::non_negative;
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`ConstantFactor`]; defaults are PyTorch `ConstantLR`'s
/// (under `serde` only `base_lr` is required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConstantFactorConfig<F: Real = f32> {
    /// The optimizer's learning rate (finite, ≥ 0).
    pub base_lr: F,
    /// Factor applied before `total_iters` (finite, ≥ 0; PyTorch default 1/3).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::third"))]
    pub factor: F,
    /// Steps the factor applies to (default 5).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::five_u32"))]
    pub total_iters: u32,
}

impl<F: Real> ConstantFactorConfig<F> {
    /// `ConstantLR(factor, total_iters)`.
    pub fn new(base_lr: F, factor: F, total_iters: u32) -> Self {
        Self {
            base_lr,
            factor,
            total_iters,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        non_negative("factor", self.factor)
    }
}

validated!(
    /// Constant factor: `lr(t) = base_lr · factor` for `t < total_iters`, then
    /// `base_lr`.
    ///
    /// Source: PyTorch `torch.optim.lr_scheduler.ConstantLR`.
    ConstantFactor,
    ConstantFactorConfig
);

impl<F: Real> Schedule<F> for ConstantFactor<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        if step < c.total_iters {
            c.base_lr * c.factor
        } else {
            c.base_lr
        }
    }
}
