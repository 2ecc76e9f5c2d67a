//! Warmup–stable–decay, WSD (Hägele et al. 2024; MiniCPM; HF transformers
//! `get_wsd_schedule`).

use super::util::{cos_weight, fu, non_negative, nonzero, positive, rule};
use crate::{ConfigError, Real, Schedule};

/// The shape of WSD's warmup, a function of the warmup progress `p = t / W`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WsdWarmup {
    /// `p` (HF `"linear"`, the default).
    #[default]
    #[cfg_attr(feature = "serde", serde(rename = "linear"))]
    Linear,
    /// `(1 − cos(π·p)) / 2` (HF `"cosine"`).
    #[cfg_attr(feature = "serde", serde(rename = "cosine"))]
    Cosine,
    /// `1 − √(1 − p)` (HF `"1-sqrt"`).
    #[cfg_attr(feature = "serde", serde(rename = "1-sqrt"))]
    OneMinusSqrt,
}

/// The shape of WSD's decay, a function of the decay progress `p = (t − W − S) / D`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WsdDecay {
    /// `1 − p` (HF `"linear"`).
    #[cfg_attr(feature = "serde", serde(rename = "linear"))]
    Linear,
    /// `(1 + cos(2π·num_cycles·p)) / 2` (HF `"cosine"`, the default).
    #[default]
    #[cfg_attr(feature = "serde", serde(rename = "cosine"))]
    Cosine,
    /// `1 − √p` (HF `"1-sqrt"`; the decay Hägele et al. 2024 found best).
    #[cfg_attr(feature = "serde", serde(rename = "1-sqrt"))]
    OneMinusSqrt,
    /// Geometric, `min_lr_ratio^p`, from 1 straight to the floor (lrate's own; not
    /// in HF; needs `min_lr_ratio > 0`). Unlike the other shapes it is not
    /// rescaled by `(1 − r)·f + r`: it already ends at `r`.
    #[cfg_attr(feature = "serde", serde(rename = "exp"))]
    Exp,
}

/// Configuration of [`Wsd`]; field names and defaults are HF transformers'
/// `get_wsd_schedule` (under `serde` `base_lr` and `num_decay_steps` are required,
/// and one of `num_training_steps` / `num_stable_steps`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WsdConfig<F: Real = f32> {
    /// The stable phase's learning rate (finite, ≥ 0; the optimizer's `lr` in HF).
    pub base_lr: F,
    /// Warmup steps `W` (default 0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub num_warmup_steps: u32,
    /// Decay steps `D` (≥ 1).
    pub num_decay_steps: u32,
    /// The whole length `W + S + D`; the stable length `S` follows from it. Give
    /// this or `num_stable_steps`; with both they must agree.
    #[cfg_attr(feature = "serde", serde(default))]
    pub num_training_steps: Option<u32>,
    /// The stable length `S` (the form to use when the horizon is not fixed in
    /// advance).
    #[cfg_attr(feature = "serde", serde(default))]
    pub num_stable_steps: Option<u32>,
    /// Warmup shape (default linear).
    #[cfg_attr(feature = "serde", serde(default))]
    pub warmup_type: WsdWarmup,
    /// Decay shape (default cosine).
    #[cfg_attr(feature = "serde", serde(default))]
    pub decay_type: WsdDecay,
    /// Floor `r` as a fraction of `base_lr` (in [0, 1]; default 0), where both the
    /// warmup starts and the decay ends.
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::zero"))]
    pub min_lr_ratio: F,
    /// Waves of the cosine decay (finite, > 0; default 0.5, a half wave from 1 to
    /// the floor).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::half"))]
    pub num_cycles: F,
}

impl<F: Real> WsdConfig<F> {
    /// HF `get_wsd_schedule(num_warmup_steps, num_decay_steps, num_training_steps)`
    /// with its defaults (linear warmup, cosine decay, floor 0).
    pub fn new(base_lr: F, num_warmup_steps: u32, num_decay_steps: u32, total: u32) -> Self {
        Self {
            base_lr,
            num_warmup_steps,
            num_decay_steps,
            num_training_steps: Some(total),
            num_stable_steps: None,
            warmup_type: WsdWarmup::Linear,
            decay_type: WsdDecay::Cosine,
            min_lr_ratio: F::ZERO,
            num_cycles: F::HALF,
        }
    }

    /// The stable length `S`, from `num_stable_steps` or from the total.
    pub fn stable_steps(&self) -> Option<u32> {
        match (self.num_stable_steps, self.num_training_steps) {
            (Some(s), _) => Some(s),
            (None, Some(total)) => total
                .checked_sub(self.num_warmup_steps)?
                .checked_sub(self.num_decay_steps),
            (None, None) => None,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        nonzero("num_decay_steps", self.num_decay_steps)?;
        non_negative("min_lr_ratio", self.min_lr_ratio)?;
        rule("min_lr_ratio", self.min_lr_ratio <= F::ONE, "≤ 1")?;
        positive("num_cycles", self.num_cycles)?;
        if self.decay_type == WsdDecay::Exp {
            rule(
                "min_lr_ratio",
                self.min_lr_ratio > F::ZERO,
                "> 0 for the exp decay",
            )?;
        }
        let stable = self.stable_steps();
        rule(
            "num_training_steps",
            self.num_training_steps.is_some() || self.num_stable_steps.is_some(),
            "given (or num_stable_steps)",
        )?;
        let end = u64::from(self.num_warmup_steps)
            + u64::from(stable.unwrap_or(0))
            + u64::from(self.num_decay_steps);
        rule(
            "num_training_steps",
            stable.is_some() && end <= u64::from(u32::MAX),
            "≥ num_warmup_steps + num_decay_steps (and < 2^32)",
        )?;
        if let (Some(_), Some(total)) = (self.num_stable_steps, self.num_training_steps) {
            rule(
                "num_stable_steps",
                end == u64::from(total),
                "num_training_steps − num_warmup_steps − num_decay_steps",
            )?;
        }
        Ok(())
    }
}

validated!(
    /// Warmup–stable–decay: a warmup of `W` steps, `S` steps at `base_lr`, a decay of
    /// `D` steps, then the floor. With `r = min_lr_ratio` and `f` the warmup or
    /// decay shape ([`WsdWarmup`], [`WsdDecay`]) at its progress,
    ///
    /// * `t < W`: `lr = base_lr · max(0, f(t / max(1, W))·(1 − r) + r)`;
    /// * `W ≤ t < W + S`: `lr = base_lr`;
    /// * `W + S ≤ t < W + S + D`: `lr = base_lr · max(0, f(p)·(1 − r) + r)`,
    ///   `p = (t − W − S) / D`;
    /// * after: `lr = base_lr · r`.
    ///
    /// The stable phase holds no state and the decay is a closed form of the step,
    /// so a decay can be branched from any stable-phase checkpoint: a `Wsd` with
    /// `num_stable_steps = s − W` starts decaying at step `s`.
    ///
    /// Sources: Hägele et al., "Scaling Laws and Compute-Optimal Training Beyond
    /// Fixed Training Durations" (NeurIPS 2024), which recommends the `1-sqrt`
    /// decay; Hu et al., "MiniCPM" (2024); HF transformers `get_wsd_schedule`
    /// (`_get_wsd_scheduler_lambda`).
    Wsd,
    WsdConfig,
    WsdCache
);

/// Derived once: the start of the decay `W + S` and the end `W + S + D`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct WsdCache<F> {
    decay_start: u64,
    end: u64,
    ln_r: F,
}

impl<F: Real> WsdCache<F> {
    fn new(c: &WsdConfig<F>) -> Self {
        let w = u64::from(c.num_warmup_steps);
        let decay_start = w + u64::from(c.stable_steps().unwrap_or(0));
        Self {
            decay_start,
            end: decay_start + u64::from(c.num_decay_steps),
            ln_r: c.min_lr_ratio.ln(),
        }
    }
}

impl<F: Real> Wsd<F> {
    /// The step the decay starts at, `W + S`.
    pub fn decay_start(&self) -> u32 {
        u32::try_from(self.1.decay_start).unwrap_or(u32::MAX)
    }
}

impl<F: Real> Schedule<F> for Wsd<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let t = u64::from(step);
        let r = c.min_lr_ratio;
        let rescale = |f: F| (f * (F::ONE - r) + r).max(F::ZERO);
        let w = u64::from(c.num_warmup_steps);
        let factor = if t < w {
            let p = fu::<F>(t) / fu(w.max(1));
            rescale(match c.warmup_type {
                WsdWarmup::Linear => p,
                // (1 − cos πp)/2 = 1 − cos_weight(p), kept precise near p = 0.
                WsdWarmup::Cosine => cos_weight(F::ONE - p),
                WsdWarmup::OneMinusSqrt => F::ONE - (F::ONE - p).sqrt(),
            })
        } else if t < self.1.decay_start {
            F::ONE
        } else if t < self.1.end {
            let d = u64::from(c.num_decay_steps);
            let p = fu::<F>(t - self.1.decay_start) / fu(d.max(1));
            match c.decay_type {
                WsdDecay::Linear => rescale(F::ONE - p),
                WsdDecay::Cosine => rescale(cos_weight(F::TWO * c.num_cycles * p)),
                WsdDecay::OneMinusSqrt => rescale(F::ONE - p.sqrt()),
                WsdDecay::Exp => (p * self.1.ln_r).exp(),
            }
        } else {
            r
        };
        c.base_lr * factor
    }
}
