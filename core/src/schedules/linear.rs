//! Linear change of a multiplicative factor (PyTorch `LinearLR`).

use super::util::{fu, non_negative, sat};
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
            // The fraction first: a finite factor between start and end, whatever their size.
            c.start_factor
                + (c.end_factor - c.start_factor)
                    * (fu::<F>(u64::from(step)) / fu(u64::from(c.total_iters)))
        };
        // Both finite, but their product can overflow (factors > 1 are allowed).
        sat(c.base_lr * factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz regression (`fuzz/regressions/schedules/linear-overflow`): `base_lr · factor`
    /// overflowed to ∞ for a valid configuration.
    #[test]
    fn a_huge_product_saturates() {
        let s = LinearConfig::new(f64::MAX, 1.75, 1.0, 10).build().unwrap();
        assert_eq!(s.lr(0), f64::MAX);
        assert_eq!(s.lr(10), f64::MAX);
        // Huge factors no longer overflow in the interpolation either.
        let s = LinearConfig::new(1e-30f32, 0.0, 3e38, 4_000_000_000)
            .build()
            .unwrap();
        let lr = s.lr(2_000_000_000);
        assert!((lr / 1.5e8 - 1.0).abs() < 1e-5, "{lr}");
        let s = LinearConfig::new(0.1f32, 0.5, 1.0, 4).build().unwrap();
        assert_eq!((s.lr(0), s.lr(4)), (0.05, 0.1));
        assert!((s.lr(2) - 0.075).abs() < 1e-8);
    }
}
