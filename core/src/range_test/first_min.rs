//! Where the smoothed loss stops falling: the first minimum of the curve.

use super::curve::CurvePoint;
use super::machine::RangeTest;
use crate::Real;

impl<F: Real, const N: usize> RangeTest<F, N> {
    /// The rise that ends the fall in [`first_min_point`](Self::first_min_point): a tenth
    /// of the fall so far.
    pub const TURN_RISE: f64 = 0.1;

    /// The lowest point of the curve before the smoothed loss first turns up: where the
    /// loss stops falling (Smith 2017, §3.3: the max bound is where "the accuracy slows,
    /// becomes ragged, or starts to fall").
    ///
    /// Scanning fastai's trimmed window (batches `[num_it / 10, batches − 5)`, cut at the
    /// first non-finite loss) in order, with `s₀` the first smoothed loss of the curve,
    /// `m` the lowest smoothed loss so far and `d = s₀ − m` the fall so far, the scan
    /// stops at the first point with `s > m + rise · d` once the loss has fallen by at
    /// least [`MIN_DROP`](Self::MIN_DROP) (`d ≥ MIN_DROP · |s₀|`); the result is the point
    /// of `m` then, or [`min_point`](Self::min_point) when the loss never turned up.
    ///
    /// Why not the global minimum: on batch-normalised nets with weight decay the curve
    /// often has a second, later dip just before divergence (one Fashion-MNIST sweep:
    /// 1.90 at lr 0.21, 1.98 at 0.91, 1.87 at 2.75, diverged at 4). Which dip is lower is
    /// noise, and the two are 10× apart; the first is where the loss stopped falling.
    pub fn first_min_point(&self, rise: F) -> Option<CurvePoint<F>> {
        let r = self.fastai_window();
        let curve = self.curve();
        let s0 = curve.get(0)?.loss?;
        let min_fall = F::from_f64(Self::MIN_DROP) * s0.abs();
        let mut best: Option<(usize, F)> = None;
        for i in r {
            let Some(s) = curve.get(i).and_then(|p| p.loss) else {
                break;
            };
            match best {
                Some((_, m)) if s < m => best = Some((i, s)),
                Some((_, m)) => {
                    let d = s0 - m;
                    if d >= min_fall && d > F::ZERO && s > m + rise * d {
                        break;
                    }
                }
                None => best = Some((i, s)),
            }
        }
        curve.get(best?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range_test::{RangeTestConfig, Smoothing, Status};

    fn run(loss: impl Fn(f32) -> f32) -> RangeTest<f32, 128> {
        let cfg = RangeTestConfig::fastai().smoothing(Smoothing::Debiased { beta: 0.0 });
        let mut t = RangeTest::<f32, 128>::new(cfg).unwrap();
        while let Some(lr) = t.next_lr() {
            if let Status::Done(_) = t.record(loss(lr)) {
                break;
            }
        }
        t
    }

    #[test]
    fn the_first_of_two_dips_wins_over_a_lower_second() {
        // Falls to 1.9 at lr 0.2, rises to 2.0, dips to 1.85 at lr 3, then explodes.
        let t = run(|lr| {
            let x = libm::log10f(lr);
            let first = 1.9 + 0.4 * (x - libm::log10f(0.2)).powi(2).min(1.0);
            let second = 1.85 + 2.0 * (x - libm::log10f(3.0)).powi(2);
            if lr > 6.0 { 100.0 } else { first.min(second).min(2.3) }
        });
        let m = t.min_point().unwrap();
        assert!(m.lr > 2.0 && m.lr < 4.0, "global minimum {}", m.lr);
        let f = t.first_min_point(0.1).unwrap();
        assert!(f.lr > 0.15 && f.lr < 0.27, "first minimum {}", f.lr);
    }

    #[test]
    fn a_single_dip_is_the_global_minimum_and_early_noise_does_not_stop_the_scan() {
        // Flat with ±0.5 % noise for the first half (no fall yet), then one dip.
        let t = run(|lr| {
            let x = libm::log10f(lr);
            let noise = 0.01 * libm::sinf(x * 40.0);
            2.3 + noise - 1.0 * libm::expf(-(x + 1.0) * (x + 1.0))
        });
        assert_eq!(t.first_min_point(0.1), t.min_point());
        let empty = RangeTest::<f32, 8>::fastai();
        assert_eq!(empty.first_min_point(0.1), None);
    }
}
