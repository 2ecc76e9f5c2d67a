//! Exponential decay (PyTorch `ExponentialLR`, Keras `ExponentialDecay`).

use super::util::{fu, non_negative, nonzero, positive, pow_log2, sat};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`Exponential`]; defaults (for [`new`](Self::new) and
/// omitted serde fields) are PyTorch `ExponentialLR`'s (`gamma` required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ExponentialConfig<F: Real = f32> {
    /// Initial learning rate (finite, ≥ 0).
    pub base_lr: F,
    /// Decay per `decay_steps` steps (finite, ≥ 0; Keras `decay_rate`).
    pub gamma: F,
    /// Steps per factor of `gamma` (≥ 1; PyTorch: 1).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one_u32"))]
    pub decay_steps: u32,
    /// Decay in whole stairs of `decay_steps` (Keras `staircase`; default false).
    #[cfg_attr(feature = "serde", serde(default))]
    pub staircase: bool,
}

impl<F: Real> ExponentialConfig<F> {
    /// PyTorch `ExponentialLR(gamma)`: `decay_steps = 1`, no staircase.
    pub fn new(base_lr: F, gamma: F) -> Self {
        Self {
            base_lr,
            gamma,
            decay_steps: 1,
            staircase: false,
        }
    }

    /// Decay from `base_lr` to `ratio · base_lr` over `steps` steps:
    /// `gamma = ratio^(1/steps)`, `decay_steps = 1`, so `lr(steps) = ratio · base_lr`
    /// (up to rounding of `gamma`). `ratio` must be finite and > 0, `steps` ≥ 1.
    ///
    /// The exponent `1/steps` is computed in `F`, the power in `f64` and rounded
    /// once to `F`. For `f32` this is `ratio.powf(1.0 / steps as f32)` rounded
    /// from a (nearly exact) `f64` power rather than from `libm::powf`, and is
    /// bit-identical to std's `f32::powf` on glibc for `ratio = 0.01` (checked for
    /// every `steps` up to 2·10⁷), the decay of lrate's `exponential` preset.
    pub fn decay_to(base_lr: F, ratio: F, steps: u32) -> Result<Self, ConfigError> {
        positive("ratio", ratio)?;
        nonzero("steps", steps)?;
        let e = F::ONE / F::from_u32(steps);
        let gamma = F::from_f64(libm::pow(ratio.to_f64(), e.to_f64()));
        Ok(Self::new(base_lr, gamma))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        non_negative("gamma", self.gamma)?;
        nonzero("decay_steps", self.decay_steps)
    }
}

validated!(
    /// Exponential decay: `lr(t) = base_lr · gamma^(t / decay_steps)`, the exponent
    /// floored when `staircase`.
    ///
    /// Sources: PyTorch `ExponentialLR` (`decay_steps = 1`) and Keras
    /// `keras.optimizers.schedules.ExponentialDecay`. A `gamma` above 1
    /// saturates at `F::MAX`.
    Exponential,
    ExponentialConfig,
    Log2Gamma
);

/// `log2(gamma)`, derived once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Log2Gamma<F>(F);

impl<F: Real> Log2Gamma<F> {
    fn new(c: &ExponentialConfig<F>) -> Self {
        Self(c.gamma.log2())
    }
}

impl<F: Real> Exponential<F> {
    /// [`ExponentialConfig::decay_to`], validated: from `base_lr` to
    /// `ratio · base_lr` over `steps` steps, `gamma = ratio^(1/steps)`.
    pub fn decay_to(base_lr: F, ratio: F, steps: u32) -> Result<Self, ConfigError> {
        ExponentialConfig::decay_to(base_lr, ratio, steps)?.build()
    }
}

impl<F: Real> Schedule<F> for Exponential<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let e = if c.staircase {
            fu(u64::from(step / c.decay_steps))
        } else if c.decay_steps == 1 {
            F::from_u32(step)
        } else {
            F::from_u32(step) / F::from_u32(c.decay_steps)
        };
        let p = pow_log2(self.1 .0, e);
        sat(c.base_lr * p)
    }
}
