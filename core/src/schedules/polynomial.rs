//! Polynomial decay (PyTorch `PolynomialLR`, Keras `PolynomialDecay`).

use super::util::{fu, non_negative, nonzero};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`Polynomial`]; defaults are PyTorch `PolynomialLR`'s
/// (under `serde` only `base_lr` is required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PolynomialConfig<F: Real = f32> {
    /// Initial learning rate (finite, ≥ 0).
    pub base_lr: F,
    /// Steps to decay over (≥ 1; PyTorch default 5; Keras `decay_steps`).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::five_u32"))]
    pub total_iters: u32,
    /// Exponent (finite, ≥ 0; default 1).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
    pub power: F,
    /// Final learning rate (finite, ≥ 0; PyTorch: 0; Keras `end_learning_rate`).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::zero"))]
    pub end_lr: F,
    /// Keras `cycle`: restart with a horizon stretched to the next multiple of
    /// `total_iters` instead of holding `end_lr` (default false).
    #[cfg_attr(feature = "serde", serde(default))]
    pub cycle: bool,
}

impl<F: Real> PolynomialConfig<F> {
    /// PyTorch `PolynomialLR(total_iters, power)`: decays to 0 and holds.
    pub fn new(base_lr: F, total_iters: u32, power: F) -> Self {
        Self {
            base_lr,
            total_iters,
            power,
            end_lr: F::ZERO,
            cycle: false,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        nonzero("total_iters", self.total_iters)?;
        non_negative("power", self.power)?;
        non_negative("end_lr", self.end_lr)
    }
}

validated!(
    /// Polynomial decay:
    /// `lr(t) = (base_lr − end_lr) · (1 − min(t, T)/T)^power + end_lr`, `T = total_iters`.
    /// With `cycle`, `T` becomes `total_iters · max(1, ⌈t / total_iters⌉)`.
    ///
    /// Sources: PyTorch `PolynomialLR` (closed form, `end_lr = 0`) and Keras
    /// `keras.optimizers.schedules.PolynomialDecay`.
    Polynomial,
    PolynomialConfig
);

impl<F: Real> Schedule<F> for Polynomial<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let total = u64::from(c.total_iters);
        let t = u64::from(step);
        let p = if c.cycle {
            let mult = if t == 0 { 1 } else { t.div_ceil(total) };
            fu::<F>(t) / fu(total * mult)
        } else {
            fu::<F>(t.min(total)) / fu(total)
        };
        (c.base_lr - c.end_lr) * (F::ONE - p).max(F::ZERO).powf(c.power) + c.end_lr
    }
}
