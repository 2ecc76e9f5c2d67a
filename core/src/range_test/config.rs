//! Configuration of the range test: sweep, smoothing, divergence and the
//! non-finite-loss policy, with the fastai and torch-lr-finder presets.

use crate::error::{ConfigError, Problem};
use crate::Real;

/// How the learning rate moves from `start_lr` to `end_lr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Sweep {
    /// `lr = start_lr · (end_lr / start_lr)^pos` (fastai `SchedExp`,
    /// torch-lr-finder `ExponentialLR`). The default.
    #[default]
    Exponential,
    /// `lr = start_lr + pos · (end_lr − start_lr)` (torch-lr-finder `LinearLR`).
    Linear,
}

/// Where the last batch of the sweep lands, i.e. the position `pos` of batch `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SweepEnd {
    /// `pos = i / num_it`: the last batch's lr stays below `end_lr`
    /// (fastai `LRFinder.before_batch`: `_update_val(train_iter/num_it)`). The default.
    #[default]
    Exclusive,
    /// `pos = i / (num_it − 1)`: the last batch runs at `end_lr`
    /// (torch-lr-finder `ExponentialLR.get_lr`: `r = last_epoch / (num_iter − 1)`).
    Inclusive,
}

/// The exponential moving average applied to the raw batch losses.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Smoothing<F> {
    /// fastai `AvgSmoothLoss`: `avg ← avg − (avg − loss)(1 − β)` from `avg = 0`,
    /// reported debiased as `avg / (1 − β^n)` after `n` batches. fastai uses β = 0.98.
    Debiased {
        /// β in `[0, 1)`; 0 disables smoothing.
        beta: F,
    },
    /// torch-lr-finder: the first batch's loss as is, then
    /// `s ← smooth_f · loss + (1 − smooth_f) · s` (no debiasing). torch-lr-finder uses 0.05.
    Plain {
        /// Weight of the new loss, in `[0, 1)`; 0 disables smoothing (torch-lr-finder's rule).
        smooth_f: F,
    },
}

impl<F: Real> Smoothing<F> {
    /// The weight (`beta` or `smooth_f`) must be finite and in `[0, 1)`.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let (name, w) = match *self {
            Smoothing::Debiased { beta } => ("beta", beta),
            Smoothing::Plain { smooth_f } => ("smooth_f", smooth_f),
        };
        if !w.is_finite() {
            return Err(ConfigError::new(name, Problem::NotFinite));
        }
        if w < F::ZERO || w >= F::ONE {
            return Err(ConfigError::new(name, Problem::MustBe("in [0, 1)")));
        }
        Ok(())
    }
}

/// What a non-finite loss (NaN, ±∞, or a smoothed loss that overflows) does.
///
/// In both cases the batch is recorded with its lr and *no* smoothed loss
/// ([`CurvePoint::loss`](super::CurvePoint::loss) is `None`): no NaN or ∞ ever
/// leaves the range test, and suggestions only look at the curve before the first
/// such point (fastai's "cut at the first NaN").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NonFinite {
    /// Stop at once with [`StopReason::NonFinite`](super::StopReason::NonFinite).
    /// lrate's default: a model whose loss went NaN learns nothing from more batches.
    #[default]
    Stop,
    /// Reproduce fastai and torch-lr-finder: their smoothed loss turns NaN and stays
    /// NaN, every later divergence test (`NaN > x`) is false, and the sweep runs
    /// on to `num_it` batches. lrate does the same, recording the later batches
    /// without a loss. A `+∞` loss once a finite best exists stops the test as
    /// [`Diverged`](super::StopReason::Diverged), as `∞ > factor·best` does there.
    Continue,
}

/// Everything that defines a range test. Build one with [`RangeTestConfig::fastai`],
/// [`RangeTestConfig::torch_lr_finder`] or [`Default`], adjust the public fields or
/// use the chained setters, then validate it through
/// [`RangeTest::new`](super::RangeTest::new).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RangeTestConfig<F = f32> {
    /// Learning rate of the first batch; finite and > 0.
    pub start_lr: F,
    /// Learning rate the sweep heads for; finite and > `start_lr`.
    pub end_lr: F,
    /// Number of batches of the sweep (≥ 2); also sets fastai's suggestion trim
    /// (`num_it / 10` batches skipped at the start).
    pub num_it: u32,
    /// Exponential (default) or linear.
    pub sweep: Sweep,
    /// Whether the last batch lands on `end_lr`.
    pub sweep_end: SweepEnd,
    /// Loss smoothing.
    pub smoothing: Smoothing<F>,
    /// Divergence factor `k` (finite, > 1): stop once the smoothed loss exceeds `k`
    /// times the best one (see [`RangeTest`](super::RangeTest) for the rule when
    /// the best loss is ≤ 0). `None` never stops early (fastai `stop_div=False`).
    pub diverge_factor: Option<F>,
    /// What a NaN or infinite loss does.
    pub non_finite: NonFinite,
}

impl<F: Real> Default for RangeTestConfig<F> {
    /// lrate's defaults: the fastai preset (1e-7 → 10 over 100 batches, exponential,
    /// debiased β = 0.98, factor 4), except that a non-finite loss stops the test
    /// ([`NonFinite::Stop`]).
    fn default() -> Self {
        Self {
            non_finite: NonFinite::Stop,
            ..Self::fastai()
        }
    }
}

impl<F: Real> RangeTestConfig<F> {
    /// fastai 2.8 `Learner.lr_find` defaults (`callback/schedule.py`, `LRFinder`,
    /// `AvgSmoothLoss`): `start_lr = 1e-7`, `end_lr = 10`, `num_it = 100`,
    /// exponential with `pos = i / num_it`, debiased β = 0.98, stop when
    /// smoothed > 4 × best, and NaN losses carried on to `num_it` as fastai does.
    ///
    /// One fastai quirk is not copied: `LRFinder` silently raises `num_it < 6` to 6;
    /// lrate runs the `num_it` it is given.
    pub fn fastai() -> Self {
        Self {
            start_lr: F::from_f64(1e-7),
            end_lr: F::from_f64(10.0),
            num_it: 100,
            sweep: Sweep::Exponential,
            sweep_end: SweepEnd::Exclusive,
            smoothing: Smoothing::Debiased {
                beta: F::from_f64(0.98),
            },
            diverge_factor: Some(F::from_f64(4.0)),
            non_finite: NonFinite::Continue,
        }
    }

    /// torch-lr-finder 0.2.2 `LRFinder.range_test` defaults (`end_lr = 10`,
    /// `num_iter = 100`, `step_mode = "exp"`, `smooth_f = 0.05`, `diverge_th = 5`,
    /// with `r = i / (num_iter − 1)`), started at fastai's `1e-7` since
    /// torch-lr-finder takes its start from the optimizer.
    pub fn torch_lr_finder() -> Self {
        Self {
            start_lr: F::from_f64(1e-7),
            end_lr: F::from_f64(10.0),
            num_it: 100,
            sweep: Sweep::Exponential,
            sweep_end: SweepEnd::Inclusive,
            smoothing: Smoothing::Plain {
                smooth_f: F::from_f64(0.05),
            },
            diverge_factor: Some(F::from_f64(5.0)),
            non_finite: NonFinite::Continue,
        }
    }

    /// Sets `start_lr`, `end_lr` and `num_it`.
    pub fn range(mut self, start_lr: F, end_lr: F, num_it: u32) -> Self {
        self.start_lr = start_lr;
        self.end_lr = end_lr;
        self.num_it = num_it;
        self
    }

    /// Sets the sweep shape.
    pub fn sweep(mut self, sweep: Sweep) -> Self {
        self.sweep = sweep;
        self
    }

    /// Sets the smoothing.
    pub fn smoothing(mut self, smoothing: Smoothing<F>) -> Self {
        self.smoothing = smoothing;
        self
    }

    /// Sets the divergence factor (`None`: never stop early).
    pub fn diverge_factor(mut self, factor: Option<F>) -> Self {
        self.diverge_factor = factor;
        self
    }

    /// Sets the non-finite-loss policy.
    pub fn non_finite(mut self, policy: NonFinite) -> Self {
        self.non_finite = policy;
        self
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = self.start_lr;
        if !s.is_finite() {
            return Err(ConfigError::new("start_lr", Problem::NotFinite));
        }
        if s <= F::ZERO {
            return Err(ConfigError::new("start_lr", Problem::NotPositive));
        }
        let e = self.end_lr;
        if !e.is_finite() {
            return Err(ConfigError::new("end_lr", Problem::NotFinite));
        }
        if e <= s {
            return Err(ConfigError::new("end_lr", Problem::MustBe("> start_lr")));
        }
        if self.sweep == Sweep::Exponential && !(e / s).is_finite() {
            return Err(ConfigError::new(
                "end_lr",
                Problem::MustBe("such that end_lr / start_lr is finite"),
            ));
        }
        if self.num_it < 2 {
            return Err(ConfigError::new("num_it", Problem::MustBe("≥ 2")));
        }
        self.smoothing.validate()?;
        if let Some(k) = self.diverge_factor {
            if !k.is_finite() {
                return Err(ConfigError::new("diverge_factor", Problem::NotFinite));
            }
            if k <= F::ONE {
                return Err(ConfigError::new("diverge_factor", Problem::MustBe("> 1")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_default_are_valid() {
        assert_eq!(RangeTestConfig::<f32>::fastai().validate(), Ok(()));
        assert_eq!(RangeTestConfig::<f64>::torch_lr_finder().validate(), Ok(()));
        assert_eq!(RangeTestConfig::<f32>::default().validate(), Ok(()));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn config_round_trips_through_json() {
        let c = RangeTestConfig::<f64>::torch_lr_finder()
            .sweep(Sweep::Linear)
            .non_finite(NonFinite::Stop);
        let json = serde_json::to_string(&c).unwrap();
        let back: RangeTestConfig<f64> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn each_bad_field_is_named() {
        let c = RangeTestConfig::<f32>::fastai();
        let field = |c: RangeTestConfig<f32>| c.validate().unwrap_err().field;
        assert_eq!(field(c.range(0.0, 1.0, 10)), "start_lr");
        assert_eq!(field(c.range(f32::NAN, 1.0, 10)), "start_lr");
        assert_eq!(field(c.range(1e-3, 1e-3, 10)), "end_lr");
        assert_eq!(field(c.range(1e-3, f32::INFINITY, 10)), "end_lr");
        assert_eq!(field(c.range(1e-38, 1e38, 10)), "end_lr");
        assert_eq!(field(c.range(1e-3, 1.0, 1)), "num_it");
        assert_eq!(
            field(c.smoothing(Smoothing::Debiased { beta: 1.0 })),
            "beta"
        );
        assert_eq!(
            field(c.smoothing(Smoothing::Plain { smooth_f: -0.1 })),
            "smooth_f"
        );
        assert_eq!(field(c.diverge_factor(Some(1.0))), "diverge_factor");
        assert_eq!(field(c.diverge_factor(Some(f32::NAN))), "diverge_factor");
        assert_eq!(c.diverge_factor(None).validate(), Ok(()));
        // A linear sweep tolerates a ratio that would overflow.
        assert_eq!(
            c.range(1e-38, 1e38, 10).sweep(Sweep::Linear).validate(),
            Ok(())
        );
    }
}
