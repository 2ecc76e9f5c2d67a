//! Inverse square-root decay after a linear warmup (HF transformers
//! `get_inverse_sqrt_schedule`; Vaswani et al. 2017's "Noam" decay).

use super::util::{fu, hf_warmup, non_negative, nonzero};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`InverseSqrt`]; field names and defaults are HF
/// transformers' (under `serde` only `base_lr` is required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InverseSqrtConfig<F: Real = f32> {
    /// Peak learning rate, reached at the end of the warmup (finite, ≥ 0).
    pub base_lr: F,
    /// Warmup steps `W` (default 0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub num_warmup_steps: u32,
    /// Time scale `τ` of the decay (≥ 1; default `W`, or 10 000 when `W = 0`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub timescale: Option<u32>,
}

impl<F: Real> InverseSqrtConfig<F> {
    /// The time scale in use: `timescale`, else `W`, else 10 000 (HF's
    /// `num_warmup_steps or 10_000`).
    pub fn timescale(&self) -> u32 {
        match self.timescale {
            Some(t) => t,
            None if self.num_warmup_steps > 0 => self.num_warmup_steps,
            None => 10_000,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        nonzero("timescale", self.timescale())
    }
}

validated!(
    /// Inverse square root: `lr = base_lr · t / max(1, W)` while `t < W`, then
    /// `lr = base_lr / √((t − W + τ) / τ)`, which is `base_lr` at `t = W` and
    /// falls as `1/√t`.
    ///
    /// Sources: HF transformers `get_inverse_sqrt_schedule`; Vaswani et al.,
    /// "Attention Is All You Need" (2017), §5.3.
    InverseSqrt,
    InverseSqrtConfig
);

impl<F: Real> Schedule<F> for InverseSqrt<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let t = u64::from(step);
        if let Some(f) = hf_warmup::<F>(t, c.num_warmup_steps) {
            return c.base_lr * f;
        }
        let tau = u64::from(c.timescale());
        // t + (τ − W) ≥ τ ≥ 1 here, computed in integers (no cancellation).
        let shifted = t - u64::from(c.num_warmup_steps) + tau;
        c.base_lr / (fu::<F>(shifted) / fu(tau)).sqrt()
    }
}
