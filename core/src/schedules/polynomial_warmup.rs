//! Polynomial decay to `lr_end` after a linear warmup (HF transformers
//! `get_polynomial_decay_schedule_with_warmup`).

use super::util::{fu, hf_warmup, non_negative, rule};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`PolynomialWithWarmup`]; field names and defaults are HF
/// transformers' (under `serde` `base_lr` and `num_training_steps` are required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PolynomialWithWarmupConfig<F: Real = f32> {
    /// Peak learning rate (HF: the optimizer's `lr`, `lr_init`; finite, > `lr_end`).
    pub base_lr: F,
    /// Warmup steps `W` (default 0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub num_warmup_steps: u32,
    /// Total steps `T` (> `W`); `lr_end` is held from `T` on.
    pub num_training_steps: u32,
    /// Final learning rate (finite, ≥ 0; default 1e-7).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::lr_end_hf"))]
    pub lr_end: F,
    /// Exponent (finite, ≥ 0; default 1, linear).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
    pub power: F,
}

impl<F: Real> PolynomialWithWarmupConfig<F> {
    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        non_negative("lr_end", self.lr_end)?;
        rule("base_lr", self.base_lr > self.lr_end, "> lr_end")?;
        non_negative("power", self.power)?;
        rule(
            "num_training_steps",
            self.num_training_steps > self.num_warmup_steps,
            "> num_warmup_steps",
        )
    }
}

validated!(
    /// Polynomial decay with warmup: `lr = base_lr · t / max(1, W)` while `t < W`;
    /// then `lr = (base_lr − lr_end) · (1 − (t − W)/(T − W))^power + lr_end` up to
    /// `T`; `lr_end` after.
    ///
    /// Source: HF transformers `get_polynomial_decay_schedule_with_warmup`.
    PolynomialWithWarmup,
    PolynomialWithWarmupConfig
);

impl<F: Real> Schedule<F> for PolynomialWithWarmup<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let t = u64::from(step);
        if let Some(f) = hf_warmup::<F>(t, c.num_warmup_steps) {
            return c.base_lr * f;
        }
        let total = u64::from(c.num_training_steps);
        if t > total {
            return c.lr_end;
        }
        let w = u64::from(c.num_warmup_steps);
        let remaining = fu::<F>(total - t) / fu(total - w);
        (c.base_lr - c.lr_end) * remaining.powf(c.power) + c.lr_end
    }
}
