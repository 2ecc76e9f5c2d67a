//! The exponential moving average of the batch losses.

use super::config::Smoothing;
use crate::Real;

/// Running state of a [`Smoothing`]: the average and the number of losses in it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Smoother<F> {
    avg: F,
    count: u32,
}

impl<F: Real> Smoother<F> {
    pub(crate) fn new() -> Self {
        Self {
            avg: F::ZERO,
            count: 0,
        }
    }

    /// Folds `loss` in and returns the smoothed loss, or returns `loss` itself
    /// untouched (state unchanged) when it is not finite. The result can still be
    /// non-finite when finite losses overflow; the caller checks.
    ///
    /// * [`Smoothing::Debiased`] (fastai `AvgSmoothLoss`, `torch.lerp` with weight β):
    ///   `avg ← avg − (avg − loss)(1 − β)`, result `avg / (1 − β^n)`.
    /// * [`Smoothing::Plain`] (torch-lr-finder `range_test`): the first loss as is,
    ///   then `smooth_f · loss + (1 − smooth_f) · previous`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debiased_first_value_is_the_loss() {
        let mut s = Smoother::<f64>::new();
        let b = Smoothing::Debiased { beta: 0.98 };
        assert!((s.update(b, 2.5) - 2.5).abs() < 1e-12);
        // second: avg = 0.05*0.98*... debiased mean weights 0.98 and 1 over 1.98
        let v = s.update(b, 0.5);
        let expect = (2.5 * 0.98 * 0.02 + 0.5 * 0.02) / (1.0 - 0.98f64 * 0.98);
        assert!((v - expect).abs() < 1e-12, "{v} {expect}");
    }

    #[test]
    fn plain_matches_torch_lr_finder() {
        let mut s = Smoother::<f64>::new();
        let p = Smoothing::Plain { smooth_f: 0.05 };
        assert_eq!(s.update(p, 3.0), 3.0);
        assert_eq!(s.update(p, 1.0), 0.05 * 1.0 + 0.95 * 3.0);
        // Non-finite input leaves the state alone.
        assert!(s.update(p, f64::NAN).is_nan());
        assert_eq!(
            s.update(p, 1.0),
            0.05 * 1.0 + 0.95 * (0.05 * 1.0 + 0.95 * 3.0)
        );
    }
}
