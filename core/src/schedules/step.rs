//! Step decay (PyTorch `StepLR`).

use super::util::{non_negative, nonzero, powi, sat};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`Step`]; defaults are PyTorch `StepLR`'s (under `serde`
/// `base_lr` and `step_size` are required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StepConfig<F: Real = f32> {
    /// Initial learning rate (finite, ≥ 0).
    pub base_lr: F,
    /// Steps between decays (≥ 1).
    pub step_size: u32,
    /// Multiplicative decay per `step_size` steps (finite, ≥ 0; PyTorch default 0.1).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::tenth"))]
    pub gamma: F,
}

impl<F: Real> StepConfig<F> {
    /// `StepLR(step_size)` with PyTorch's default `gamma = 0.1`.
    pub fn new(base_lr: F, step_size: u32) -> Self {
        Self {
            base_lr,
            step_size,
            gamma: F::from_f64(0.1),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        nonzero("step_size", self.step_size)?;
        non_negative("gamma", self.gamma)
    }
}

validated!(
    /// Step decay: `lr(t) = base_lr · gamma^⌊t / step_size⌋`.
    ///
    /// Source: PyTorch `torch.optim.lr_scheduler.StepLR` (closed form). A `gamma`
    /// above 1 saturates at `F::MAX` instead of overflowing.
    Step,
    StepConfig
);

impl<F: Real> Schedule<F> for Step<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        sat(c.base_lr * powi(c.gamma, u64::from(step / c.step_size)))
    }
}
