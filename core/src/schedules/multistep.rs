//! Decay at milestones (PyTorch `MultiStepLR`).

use super::util::{non_negative, powi, sat};
use super::MAX_MILESTONES;
use crate::{ConfigError, Problem, Real, Schedule};
use heapless::Vec;

/// Configuration of [`MultiStep`]; defaults are PyTorch `MultiStepLR`'s (under
/// `serde` `base_lr` and `milestones` are required).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MultiStepConfig<F: Real = f32> {
    /// Initial learning rate (finite, ≥ 0).
    pub base_lr: F,
    /// Steps at which the rate is multiplied by `gamma`; non-decreasing. A
    /// milestone listed twice applies `gamma` twice, as in PyTorch.
    pub milestones: Vec<u32, MAX_MILESTONES>,
    /// Multiplicative decay per milestone (finite, ≥ 0; PyTorch default 0.1).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::tenth"))]
    pub gamma: F,
}

impl<F: Real> MultiStepConfig<F> {
    /// `MultiStepLR(milestones, gamma)`; fails if there are more than
    /// [`MAX_MILESTONES`] milestones.
    pub fn new(base_lr: F, milestones: &[u32], gamma: F) -> Result<Self, ConfigError> {
        let milestones = Vec::from_slice(milestones).map_err(|()| {
            ConfigError::new(
                "milestones",
                Problem::TooMany {
                    capacity: MAX_MILESTONES,
                },
            )
        })?;
        Ok(Self {
            base_lr,
            milestones,
            gamma,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        if self.milestones.windows(2).any(|w| w[1] < w[0]) {
            return Err(ConfigError::new("milestones", Problem::NotIncreasing));
        }
        non_negative("gamma", self.gamma)
    }
}

validated!(
    /// Multi-step decay: `lr(t) = base_lr · gamma^n(t)`, where `n(t)` counts the
    /// milestones `≤ t` (with multiplicity).
    ///
    /// Source: PyTorch `torch.optim.lr_scheduler.MultiStepLR` (closed form,
    /// `bisect_right`).
    MultiStep,
    MultiStepConfig
);

impl<F: Real> Schedule<F> for MultiStep<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let n = c.milestones.iter().filter(|&&m| m <= step).count();
        sat(c.base_lr * powi(c.gamma, n as u64))
    }
}
