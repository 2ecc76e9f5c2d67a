//! Piecewise-constant values between boundaries (Keras `PiecewiseConstantDecay`).

use super::util::non_negative;
use super::{MAX_MILESTONES, MAX_VALUES};
use crate::{ConfigError, Problem, Real, Schedule};
use heapless::Vec;

/// Configuration of [`PiecewiseConstant`]: Keras `PiecewiseConstantDecay`,
/// whose two arguments are both required.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PiecewiseConstantConfig<F: Real = f32> {
    /// Strictly increasing step boundaries.
    pub boundaries: Vec<u32, MAX_MILESTONES>,
    /// One more value than boundaries (each finite, ≥ 0).
    pub values: Vec<F, MAX_VALUES>,
}

impl<F: Real> PiecewiseConstantConfig<F> {
    /// Keras `PiecewiseConstantDecay(boundaries, values)`; fails if a list is
    /// over capacity.
    pub fn new(boundaries: &[u32], values: &[F]) -> Result<Self, ConfigError> {
        let too_many = |field, capacity| ConfigError::new(field, Problem::TooMany { capacity });
        Ok(Self {
            boundaries: Vec::from_slice(boundaries)
                .map_err(|()| too_many("boundaries", MAX_MILESTONES))?,
            values: Vec::from_slice(values).map_err(|()| too_many("values", MAX_VALUES))?,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.boundaries.windows(2).any(|w| w[1] <= w[0]) {
            return Err(ConfigError::new("boundaries", Problem::NotIncreasing));
        }
        if self.values.len() != self.boundaries.len() + 1 {
            return Err(ConfigError::new("values", Problem::LengthMismatch));
        }
        self.values
            .iter()
            .try_for_each(|&v| non_negative("values", v))
    }
}

validated!(
    /// Piecewise constant: `lr(t) = values[i]` where `i` counts the boundaries
    /// `b < t` (so `t ≤ boundaries[0]` gives `values[0]`).
    ///
    /// Source: Keras `keras.optimizers.schedules.PiecewiseConstantDecay`.
    PiecewiseConstant,
    PiecewiseConstantConfig
);

impl<F: Real> Schedule<F> for PiecewiseConstant<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let i = c.boundaries.iter().filter(|&&b| b < step).count();
        c.values.get(i).copied().unwrap_or(F::ZERO)
    }
}
