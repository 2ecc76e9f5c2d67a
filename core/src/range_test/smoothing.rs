//! The exponential moving average of the batch losses: [`Smoother`], and the
//! bare running state the range test keeps.

use super::config::Smoothing;
use crate::{ConfigError, Real};

/// Running state of a [`Smoothing`]: the average and the number of losses in it.
/// The range test keeps this (its config already holds the [`Smoothing`]);
/// [`Smoother`] pairs it with its own.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Ema<F> {
    avg: F,
    count: u32,
}

impl<F: Real> Ema<F> {
    pub(crate) fn new() -> Self {
        Self {
            avg: F::ZERO,
            count: 0,
        }
    }

    /// See [`Smoother::update`].
    pub(crate) fn update(&mut self, smoothing: Smoothing<F>, loss: F) -> F {
        if !loss.is_finite() {
            return loss;
        }
        let n = self.count.saturating_add(1);
        let (avg, out) = match smoothing {
            Smoothing::Debiased { beta } => {
                let avg = self.avg - (self.avg - loss) * (F::ONE - beta);
                let debias = F::ONE - beta.powf(F::from_u32(n));
                (avg, avg / debias)
            }
            Smoothing::Plain { smooth_f } => {
                let s = if self.count == 0 {
                    loss
                } else {
                    smooth_f * loss + (F::ONE - smooth_f) * self.avg
                };
                (s, s)
            }
        };
        self.avg = avg;
        self.count = n;
        out
    }
}

/// The exponential moving average of a loss, as the range test smooths it:
/// fastai's debiased `AvgSmoothLoss` or torch-lr-finder's plain average (see
/// [`Smoothing`]). Use it to smooth any loss curve the same way, e.g. a training
/// run's for a plot.
///
/// ```
/// use lrate_core::{Smoother, Smoothing};
///
/// let mut s = Smoother::new(Smoothing::Plain { smooth_f: 0.05f64 })?;
/// assert_eq!(s.update(3.0), 3.0); // the first loss as is
/// assert_eq!(s.update(1.0), 0.05 * 1.0 + 0.95 * 3.0);
/// assert!(s.update(f64::NAN).is_nan()); // returned untouched, state unchanged
/// assert_eq!(s.count(), 2);
/// # Ok::<(), lrate_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Smoother<F = f32> {
    smoothing: Smoothing<F>,
    ema: Ema<F>,
}

impl<F: Real> Smoother<F> {
    /// A smoother with no loss folded in yet; the error names `beta` or
    /// `smooth_f` when the weight is not finite or not in `[0, 1)`.
    pub fn new(smoothing: Smoothing<F>) -> Result<Self, ConfigError> {
        smoothing.validate()?;
        Ok(Self {
            smoothing,
            ema: Ema::new(),
        })
    }

    /// The smoothing rule.
    pub fn smoothing(&self) -> Smoothing<F> {
        self.smoothing
    }

    /// Folds `loss` in and returns the smoothed loss, or returns `loss` itself
    /// untouched (state unchanged) when it is not finite. The result can still be
    /// non-finite when finite losses overflow; the caller checks.
    ///
    /// * [`Smoothing::Debiased`] (fastai `AvgSmoothLoss`, `torch.lerp` with weight
    ///   β): `avg ← avg − (avg − loss)(1 − β)`, result `avg / (1 − β^n)` after `n`
    ///   losses.
    /// * [`Smoothing::Plain`] (torch-lr-finder `range_test`): the first loss as
    ///   is, then `s ← smooth_f · loss + (1 − smooth_f) · s`.
    pub fn update(&mut self, loss: F) -> F {
        self.ema.update(self.smoothing, loss)
    }

    /// The current smoothed loss (debiased for [`Smoothing::Debiased`]); `None`
    /// before the first finite loss.
    pub fn value(&self) -> Option<F> {
        let Ema { avg, count } = self.ema;
        if count == 0 {
            return None;
        }
        Some(match self.smoothing {
            Smoothing::Debiased { beta } => avg / (F::ONE - beta.powf(F::from_u32(count))),
            Smoothing::Plain { .. } => avg,
        })
    }

    /// The number of (finite) losses folded in.
    pub fn count(&self) -> u32 {
        self.ema.count
    }

    /// Forgets every loss; the smoothing rule stays.
    pub fn reset(&mut self) {
        self.ema = Ema::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debiased_first_value_is_the_loss() {
        let mut s = Smoother::new(Smoothing::Debiased { beta: 0.98f64 }).unwrap();
        assert_eq!(s.value(), None);
        assert!((s.update(2.5) - 2.5).abs() < 1e-12);
        // second: the debiased mean weights 0.98 and 1 over 1.98
        let v = s.update(0.5);
        let expect = (2.5 * 0.98 * 0.02 + 0.5 * 0.02) / (1.0 - 0.98f64 * 0.98);
        assert!((v - expect).abs() < 1e-12, "{v} {expect}");
        assert_eq!(s.value(), Some(v));
        assert_eq!(s.count(), 2);
        s.reset();
        assert_eq!((s.count(), s.value()), (0, None));
        assert!((s.update(2.5) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn plain_matches_torch_lr_finder() {
        let mut s = Smoother::new(Smoothing::Plain { smooth_f: 0.05f64 }).unwrap();
        assert_eq!(s.update(3.0), 3.0);
        assert_eq!(s.update(1.0), 0.05 * 1.0 + 0.95 * 3.0);
        // Non-finite input leaves the state alone.
        assert!(s.update(f64::NAN).is_nan());
        assert_eq!(s.update(f64::INFINITY), f64::INFINITY);
        assert_eq!(s.count(), 2);
        let v = s.update(1.0);
        assert_eq!(v, 0.05 * 1.0 + 0.95 * (0.05 * 1.0 + 0.95 * 3.0));
        assert_eq!(s.value(), Some(v));
    }

    #[test]
    fn invalid_weights_are_rejected() {
        let e = Smoother::new(Smoothing::Debiased { beta: 1.0f32 }).unwrap_err();
        assert_eq!(e.field, "beta");
        let e = Smoother::new(Smoothing::Plain { smooth_f: f32::NAN }).unwrap_err();
        assert_eq!(e.field, "smooth_f");
    }
}
