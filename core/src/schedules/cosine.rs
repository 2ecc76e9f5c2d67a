//! Cosine annealing (PyTorch `CosineAnnealingLR`, Keras `CosineDecay`).

use super::util::{cos_weight, fu, non_negative, nonzero};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`CosineAnnealing`]; defaults are PyTorch
/// `CosineAnnealingLR`'s (under `serde` `base_lr` and `t_max` are required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CosineAnnealingConfig<F: Real = f32> {
    /// Initial (peak) learning rate (finite, ≥ 0).
    pub base_lr: F,
    /// Half-period in steps (≥ 1).
    pub t_max: u32,
    /// Floor reached at `t_max` (finite, ≥ 0; default 0).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::zero"))]
    pub eta_min: F,
    /// Hold `eta_min` after `t_max` (Keras `CosineDecay`) instead of continuing
    /// the cosine back up, as PyTorch does (default false).
    #[cfg_attr(feature = "serde", serde(default))]
    pub hold_eta_min: bool,
}

impl<F: Real> CosineAnnealingConfig<F> {
    /// PyTorch `CosineAnnealingLR(T_max, eta_min)`.
    pub fn new(base_lr: F, t_max: u32, eta_min: F) -> Self {
        Self {
            base_lr,
            t_max,
            eta_min,
            hold_eta_min: false,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        nonzero("t_max", self.t_max)?;
        non_negative("eta_min", self.eta_min)
    }
}

validated!(
    /// Cosine annealing:
    /// `lr(t) = eta_min + (base_lr − eta_min) · (1 + cos(π·t / T_max)) / 2`.
    ///
    /// Past `T_max` this is PyTorch's behaviour: the cosine continues with period
    /// `2·T_max` (PyTorch's chainable recursive form and its closed form agree on
    /// this), so the rate climbs back to `base_lr` at `2·T_max`. With
    /// `hold_eta_min` it stays at `eta_min`, like Keras `CosineDecay`.
    ///
    /// Sources: Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
    /// Restarts" (ICLR 2017), eq. 5; PyTorch `CosineAnnealingLR`; Keras
    /// `keras.optimizers.schedules.CosineDecay`.
    CosineAnnealing,
    CosineAnnealingConfig
);

impl<F: Real> Schedule<F> for CosineAnnealing<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let t_max = u64::from(c.t_max);
        let t = u64::from(step);
        // Reduce to [0, T_max] exactly in integers: cos is 2·T_max periodic and
        // symmetric about T_max.
        let r = if c.hold_eta_min {
            t.min(t_max)
        } else {
            let r = t % (2 * t_max);
            if r > t_max {
                2 * t_max - r
            } else {
                r
            }
        };
        c.eta_min + (c.base_lr - c.eta_min) * cos_weight(fu::<F>(r) / fu(t_max))
    }
}
