//! Linear change of a multiplicative factor (PyTorch `LinearLR`).

use super::util::{fu, non_negative};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`Linear`]; defaults are PyTorch `LinearLR`'s (under
/// `serde` only `base_lr` is required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LinearConfig<F: Real = f32> {
    /// The optimizer's learning rate the factors multiply (finite, ≥ 0).
    pub base_lr: F,
    /// Factor at step 0 (finite, ≥ 0; PyTorch default 1/3).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::third"))]
    pub start_factor: F,
    /// Factor from `total_iters` on (finite, ≥ 0; default 1).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
    pub end_factor: F,
    /// Steps of the ramp (default 5; 0 means `end_factor` from the start).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::five_u32"))]
    pub total_iters: u32,
}

impl<F: Real> LinearConfig<F> {
    /// `LinearLR(start_factor, end_factor, total_iters)`.
    pub fn new(base_lr: F, start_factor: F, end_factor: F, total_iters: u32) -> Self {
        Self {
            base_lr,
            start_factor,
            end_factor,
            total_iters,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        non_negative("start_factor", self.start_factor)?;
        non_negative("end_factor", self.end_factor)
    }
}

validated!(
    /// Linear factor ramp:
    /// `lr(t) = base_lr · (s + (e − s) · min(t, T)/T)` with `s = start_factor`,
    /// `e = end_factor`, `T = total_iters`.
    ///
    /// Source: PyTorch `torch.optim.lr_scheduler.LinearLR` (closed form).
    Linear,
    LinearConfig
);

impl<F: Real> Schedule<F> for Linear<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let factor = if step >= c.total_iters {
            c.end_factor
        } else {
            c.start_factor
                + (c.end_factor - c.start_factor) * fu::<F>(u64::from(step))
                    / fu(u64::from(c.total_iters))
        };
        c.base_lr * factor
    }
}
