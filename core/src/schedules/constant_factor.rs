//! A constant factor for the first steps (PyTorch `ConstantLR`).

use super::util::{non_negative, sat};
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
            // Both finite, but their product can overflow (factor > 1 is allowed).
            sat(c.base_lr * c.factor)
        } else {
            c.base_lr
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz regression (`fuzz/regressions/schedules/constant-factor-overflow`):
    /// `base_lr · factor` overflowed to ∞ for a valid configuration.
    #[test]
    fn a_huge_product_saturates() {
        let s = ConstantFactorConfig::new(f64::MAX, 3.4028234663852886e38, 58)
            .build()
            .unwrap();
        assert_eq!(s.lr(0), f64::MAX);
        assert_eq!(s.lr(58), f64::MAX);
        let s = ConstantFactorConfig::new(0.1f32, 0.5, 5).build().unwrap();
        assert_eq!((s.lr(4), s.lr(5)), (0.05, 0.1));
    }
}
