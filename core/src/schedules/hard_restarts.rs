//! Cosine with hard restarts after a linear warmup (HF transformers
//! `get_cosine_with_hard_restarts_schedule_with_warmup`).

use super::util::{cos_weight, fu, hf_warmup, non_negative, nonzero};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`CosineHardRestarts`]; field names and defaults are HF
/// transformers' (under `serde` `base_lr` and `num_training_steps` are required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CosineHardRestartsConfig<F: Real = f32> {
    /// Peak learning rate of every cycle (finite, ≥ 0).
    pub base_lr: F,
    /// Warmup steps `W` (default 0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub num_warmup_steps: u32,
    /// Total steps `T` (≥ 1); the rate is 0 from `T` on.
    pub num_training_steps: u32,
    /// Equal cycles in `T − W` (≥ 1; default 1).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one_u32"))]
    pub num_cycles: u32,
}

impl<F: Real> CosineHardRestartsConfig<F> {
    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        nonzero("num_training_steps", self.num_training_steps)?;
        nonzero("num_cycles", self.num_cycles)
    }
}

validated!(
    /// Cosine with hard restarts: after the warmup `t / max(1, W)`, with `p = (t −
    /// W) / max(1, T − W)` and `n = num_cycles`,
    /// `lr = base_lr · (1 + cos(π·((n·p) mod 1)))/2` while `p < 1`, then 0. Each of
    /// the `n` cycles falls from `base_lr` to 0 and restarts at the top (SGDR with
    /// equal cycles and no floor, stopped at `T`).
    ///
    /// Source: HF transformers `get_cosine_with_hard_restarts_schedule_with_warmup`.
    CosineHardRestarts,
    CosineHardRestartsConfig
);

impl<F: Real> Schedule<F> for CosineHardRestarts<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let t = u64::from(step);
        if let Some(f) = hf_warmup::<F>(t, c.num_warmup_steps) {
            return c.base_lr * f;
        }
        let since = t - u64::from(c.num_warmup_steps);
        let span = u64::from(c.num_training_steps)
            .saturating_sub(u64::from(c.num_warmup_steps))
            .max(1);
        if since >= span {
            return F::ZERO;
        }
        // (n·p) mod 1 = ((n·since) mod span) / span, exactly in integers.
        let pos = (u64::from(c.num_cycles) * since) % span;
        c.base_lr * cos_weight(fu::<F>(pos) / fu(span))
    }
}
