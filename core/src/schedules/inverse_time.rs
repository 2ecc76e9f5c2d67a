//! Inverse-time decay (Keras `InverseTimeDecay`).

use super::util::{fu, non_negative, nonzero};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`InverseTime`]; defaults are Keras `InverseTimeDecay`'s
/// (under `serde` `base_lr`, `decay_rate` and `decay_steps` are required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InverseTimeConfig<F: Real = f32> {
    /// Initial learning rate (finite, ≥ 0).
    pub base_lr: F,
    /// Decay rate (finite, ≥ 0).
    pub decay_rate: F,
    /// Steps per unit of decay (≥ 1).
    pub decay_steps: u32,
    /// Decay in whole stairs of `decay_steps` (default false).
    #[cfg_attr(feature = "serde", serde(default))]
    pub staircase: bool,
}

impl<F: Real> InverseTimeConfig<F> {
    /// Keras `InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate)`.
    pub fn new(base_lr: F, decay_steps: u32, decay_rate: F) -> Self {
        Self {
            base_lr,
            decay_rate,
            decay_steps,
            staircase: false,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        non_negative("decay_rate", self.decay_rate)?;
        nonzero("decay_steps", self.decay_steps)
    }
}

validated!(
    /// Inverse-time decay: `lr(t) = base_lr / (1 + decay_rate · t / decay_steps)`,
    /// with `t / decay_steps` floored when `staircase`.
    ///
    /// Source: Keras `keras.optimizers.schedules.InverseTimeDecay`.
    InverseTime,
    InverseTimeConfig
);

impl<F: Real> Schedule<F> for InverseTime<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let p = if c.staircase {
            fu(u64::from(step / c.decay_steps))
        } else {
            F::from_u32(step) / F::from_u32(c.decay_steps)
        };
        c.base_lr / (F::ONE + c.decay_rate * p)
    }
}
