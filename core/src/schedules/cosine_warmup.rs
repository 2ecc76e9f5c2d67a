//! Cosine decay after a linear warmup, with a floor and any number of waves
//! (HF transformers `get_cosine_schedule_with_warmup`,
//! `get_cosine_with_min_lr_schedule_with_warmup`).

use super::util::{cos_weight, fu, hf_warmup, non_negative, nonzero, positive, rule};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`CosineWithWarmup`]; field names and defaults are HF
/// transformers' (under `serde` `base_lr` and `num_training_steps` are required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CosineWithWarmupConfig<F: Real = f32> {
    /// Peak learning rate (finite, ≥ 0; the optimizer's `lr` in HF).
    pub base_lr: F,
    /// Warmup steps `W` (default 0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub num_warmup_steps: u32,
    /// Total steps `T` (≥ 1).
    pub num_training_steps: u32,
    /// Waves of the cosine over `T − W` (finite, > 0; default 0.5, a half wave
    /// down to the floor; 1.5 goes down, up and down again).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::half"))]
    pub num_cycles: F,
    /// Floor as a fraction of `base_lr` (in [0, 1]; default 0; HF `min_lr_rate`).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::zero"))]
    pub min_lr_rate: F,
    /// Floor as an absolute learning rate (HF `min_lr`); replaces `min_lr_rate`,
    /// which must then be 0 (finite, in [0, `base_lr`]).
    #[cfg_attr(feature = "serde", serde(default))]
    pub min_lr: Option<F>,
}

impl<F: Real> CosineWithWarmupConfig<F> {
    /// HF `get_cosine_schedule_with_warmup(num_warmup_steps, num_training_steps)`.
    pub fn new(base_lr: F, num_warmup_steps: u32, num_training_steps: u32) -> Self {
        Self {
            base_lr,
            num_warmup_steps,
            num_training_steps,
            num_cycles: F::HALF,
            min_lr_rate: F::ZERO,
            min_lr: None,
        }
    }

    /// The floor as a fraction of `base_lr`: `min_lr / base_lr` (0 when
    /// `base_lr = 0`) or `min_lr_rate`.
    pub fn floor_rate(&self) -> F {
        match self.min_lr {
            Some(_) if self.base_lr == F::ZERO => F::ZERO,
            Some(m) => m / self.base_lr,
            None => self.min_lr_rate,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        nonzero("num_training_steps", self.num_training_steps)?;
        positive("num_cycles", self.num_cycles)?;
        non_negative("min_lr_rate", self.min_lr_rate)?;
        rule("min_lr_rate", self.min_lr_rate <= F::ONE, "≤ 1")?;
        if let Some(m) = self.min_lr {
            non_negative("min_lr", m)?;
            rule("min_lr", m <= self.base_lr, "≤ base_lr")?;
            rule(
                "min_lr",
                self.min_lr_rate == F::ZERO,
                "given alone (not with min_lr_rate)",
            )?;
        }
        Ok(())
    }
}

validated!(
    /// Cosine with warmup: with `W` warmup steps, `T` total, `c = num_cycles` and
    /// floor rate `r` (`min_lr_rate`, or `min_lr / base_lr`),
    ///
    /// * `t < W`: `lr = base_lr · t / max(1, W)`;
    /// * else, `p = (t − W) / max(1, T − W)`:
    ///   `lr = base_lr · max(0, (1 + cos(2π·c·p))/2 · (1 − r) + r)`.
    ///
    /// Past `T` the cosine keeps going (as in HF); with `c = 0.5` it climbs back.
    /// PyTorch `CosineAnnealingLR` is this without warmup, `c = 0.5`, `r =
    /// eta_min / base_lr`.
    ///
    /// Sources: HF transformers `get_cosine_schedule_with_warmup` and
    /// `get_cosine_with_min_lr_schedule_with_warmup`
    /// (`_get_cosine_schedule_with_warmup_lr_lambda`).
    CosineWithWarmup,
    CosineWithWarmupConfig
);

impl<F: Real> Schedule<F> for CosineWithWarmup<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let t = u64::from(step);
        if let Some(f) = hf_warmup::<F>(t, c.num_warmup_steps) {
            return c.base_lr * f;
        }
        let span = u64::from(c.num_training_steps).saturating_sub(u64::from(c.num_warmup_steps));
        let p = fu::<F>(t - u64::from(c.num_warmup_steps)) / fu(span.max(1));
        let r = c.floor_rate();
        let f = cos_weight(F::TWO * c.num_cycles * p);
        c.base_lr * (f * (F::ONE - r) + r).max(F::ZERO)
    }
}
