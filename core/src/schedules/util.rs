//! Validation helpers, overflow-safe arithmetic and the annealing curves shared
//! by the schedules.

use crate::{ConfigError, Problem, Real};

/// `v` must be finite.
pub(crate) fn finite<F: Real>(field: &'static str, v: F) -> Result<(), ConfigError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(ConfigError::new(field, Problem::NotFinite))
    }
}

/// `v` must be finite and ≥ 0.
pub(crate) fn non_negative<F: Real>(field: &'static str, v: F) -> Result<(), ConfigError> {
    finite(field, v)?;
    if v >= F::ZERO {
        Ok(())
    } else {
        Err(ConfigError::new(field, Problem::Negative))
    }
}

/// `v` must be finite and > 0.
pub(crate) fn positive<F: Real>(field: &'static str, v: F) -> Result<(), ConfigError> {
    finite(field, v)?;
    if v > F::ZERO {
        Ok(())
    } else {
        Err(ConfigError::new(field, Problem::NotPositive))
    }
}

/// A step count or size must be ≥ 1.
pub(crate) fn nonzero(field: &'static str, v: u32) -> Result<(), ConfigError> {
    if v == 0 {
        Err(ConfigError::new(field, Problem::NotPositive))
    } else {
        Ok(())
    }
}

/// `ok` or an error `MustBe(rule)` for `field`.
pub(crate) fn rule(field: &'static str, ok: bool, rule: &'static str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(field, Problem::MustBe(rule)))
    }
}

/// Momentum bounds of a schedule that cycles momentum (CLR, 1cycle): both finite
/// and `max_momentum ≥ base_momentum`.
pub(crate) fn momentum_range<F: Real>(base: F, max: F) -> Result<(), ConfigError> {
    finite("base_momentum", base)?;
    finite("max_momentum", max)?;
    rule("max_momentum", max >= base, "≥ base_momentum")
}

/// Saturates a result that may have overflowed: NaN → 0 (it can only come from
/// `0 · ∞`, whose limit here is 0), ±∞ → ±`F::MAX`.
#[inline]
pub(crate) fn sat<F: Real>(x: F) -> F {
    if x.is_nan() {
        F::ZERO
    } else {
        x.min(F::MAX).max(-F::MAX)
    }
}

/// `x^n` for an integer `n`: square-and-multiply in `F` while `n < 64` (at
/// most 6 squarings, so within ~64 ulp, i.e. 4e-6 relative in `f32`), else
/// `powf`, whose error does not grow with `n`. Several times faster than
/// `powf` for the small exponents of step decays and restart counts.
#[inline]
pub(crate) fn powi<F: Real>(x: F, n: u64) -> F {
    if n >= 64 {
        return x.powf(fu(n));
    }
    let (mut x, mut n, mut r) = (x, n, F::ONE);
    while n > 0 {
        if n & 1 == 1 {
            r = r * x;
        }
        x = x * x;
        n >>= 1;
    }
    r
}

/// `x^e` from a cached `log2_x = log2(x)`: `2^(e · log2_x)`, with `x^0 = 1`
/// (also for `x = 0`, whose logarithm is −∞). One `exp2` instead of `powf`'s
/// `log` + `exp`; its relative error is about `|e · ln x|·ε`. Overflow gives +∞
/// (callers saturate).
#[inline]
pub(crate) fn pow_log2<F: Real>(log2_x: F, e: F) -> F {
    if e == F::ZERO {
        F::ONE
    } else {
        (e * log2_x).exp2()
    }
}

/// A `u64` step count as `F` (exact below 2^53 for `f64`, 2^24 for `f32`).
#[inline]
pub(crate) fn fu<F: Real>(v: u64) -> F {
    F::from_f64(v as f64)
}

/// HF transformers' linear warmup factor `t / max(1, W)` while `t < W`, else
/// `None` (every `get_*_schedule_with_warmup` starts with it).
#[inline]
pub(crate) fn hf_warmup<F: Real>(t: u64, warmup: u32) -> Option<F> {
    let w = u64::from(warmup);
    (t < w).then(|| fu::<F>(t) / fu(w.max(1)))
}

/// The cosine weight `(1 + cos(π·p)) / 2` for `p ∈ [0, 1]`, evaluated as
/// `sin²(π·(1 − p)/2)`, which is the same function but keeps full relative
/// precision near `p = 1` (where `1 + cos` cancels), so `f32` stays within 1e-5 of
/// `f64` even when the annealed value approaches its floor.
#[inline]
pub(crate) fn cos_weight<F: Real>(p: F) -> F {
    let s = (F::PI * F::HALF * (F::ONE - p)).sin();
    s * s
}

/// The annealing curve between two values, as PyTorch's `OneCycleLR`
/// (`anneal_strategy`) and fastai's `SchedCos` / `SchedLin` define it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Anneal {
    /// Cosine: `end + (start − end)·(1 + cos(π·p))/2`.
    #[default]
    Cos,
    /// Linear: `start + (end − start)·p`.
    Linear,
}

impl Anneal {
    /// The value a fraction `p ∈ [0, 1]` of the way from `start` to `end`.
    #[inline]
    pub fn at<F: Real>(self, start: F, end: F, p: F) -> F {
        let v = match self {
            Anneal::Cos => end + (start - end) * cos_weight(p),
            // `(1 − p)·start + p·end` is PyTorch's `(end − start)·p + start`, but
            // exact at both ends (no cancellation when `end ≪ start` in f32).
            Anneal::Linear => (F::ONE - p) * start + p * end,
        };
        if v.is_finite() {
            v
        } else {
            // `start − end` (or a sum) overflowed: values near ±`F::MAX` of opposite
            // sign, as momenta may be. The same point as a weighted sum, saturated.
            let w = match self {
                Anneal::Cos => cos_weight(p),
                Anneal::Linear => F::ONE - p,
            };
            sat(start * w + end * (F::ONE - w))
        }
    }
}

/// Serde defaults (PyTorch's or Keras's, as each config says), as generic functions.
#[cfg(feature = "serde")]
pub(crate) mod defaults {
    use crate::Real;

    pub(crate) fn zero<F: Real>() -> F {
        F::ZERO
    }
    pub(crate) fn one<F: Real>() -> F {
        F::ONE
    }
    pub(crate) fn half<F: Real>() -> F {
        F::HALF
    }
    pub(crate) fn tenth<F: Real>() -> F {
        F::from_f64(0.1)
    }
    pub(crate) fn third<F: Real>() -> F {
        F::from_f64(1.0 / 3.0)
    }
    pub(crate) fn yes() -> bool {
        true
    }
    pub(crate) fn one_u32() -> u32 {
        1
    }
    pub(crate) fn five_u32() -> u32 {
        5
    }
    pub(crate) fn lr_end_hf<F: Real>() -> F {
        F::from_f64(1e-7)
    }
    pub(crate) fn lb_timm<F: Real>() -> F {
        F::from_f64(-7.0)
    }
    pub(crate) fn ub_timm<F: Real>() -> F {
        F::from_f64(3.0)
    }
}
