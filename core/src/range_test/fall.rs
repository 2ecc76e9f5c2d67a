//! Where the smoothed loss has made most of its fall.

use super::curve::CurvePoint;
use super::machine::RangeTest;
use crate::Real;

impl<F: Real, const N: usize> RangeTest<F, N> {
    /// The share of the fall that [`near_min_point`](Self::near_min_point) waits for: 80 %.
    pub const FALL_SHARE: f64 = 0.8;

    /// The first point at which the smoothed loss has made `share` of its fall: with `s₀`
    /// the smoothed loss at the start of fastai's trimmed window (batches
    /// `[num_it / 10, batches − 5)`, cut at the first non-finite loss) and `m` the lowest
    /// in it ([`min_point`](Self::min_point)), the first point of the window with
    /// `s ≤ m + (1 − share) · (s₀ − m)`. `None` when the window is empty; the window's first
    /// point when the loss never fell (`s₀ = m`).
    ///
    /// Why not the minimum itself: near its bottom the curve is flat, and on
    /// batch-normalised nets with weight decay it often has a second, later dip just before
    /// divergence (one Fashion-MNIST sweep: 1.90 at lr 0.21, 1.98 at 0.91, 1.87 at 2.75,
    /// diverged at 4). Which dip is lower is noise, and the two are 10× apart. The crossing
    /// of `m + 10 %` of the fall lies on the steep part of the curve, where sweeps agree:
    /// 0.15–0.17 on that sweep's three seeds, whose minima were at 0.21, 0.25 and 2.75.
    pub fn fall_point(&self, share: F) -> Option<CurvePoint<F>> {
        let r = self.fastai_window();
        let curve = self.curve();
        let s0 = curve.get(r.start)?.loss?;
        let m = self.min_point()?.loss?;
        let level = m + (F::ONE - share) * (s0 - m);
        r.filter_map(|i| curve.get(i))
            .find(|p| p.loss.is_some_and(|s| s <= level))
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

    /// Falls from 2.3 to 1.9 at lr `at` (a parabola in log10 lr), then a second dip.
    fn two_dips(at: f32, second: f32) -> RangeTest<f32, 128> {
        run(|lr| {
            let x = libm::log10f(lr);
            let first = 1.9 + 0.4 * (x - libm::log10f(at)).powi(2).min(1.0);
            let dip = second + 2.0 * (x - libm::log10f(3.0)).powi(2);
            if lr > 6.0 {
                100.0
            } else {
                first.min(dip).min(2.3)
            }
        })
    }

    #[test]
    fn the_crossing_stays_put_whichever_dip_is_lower() {
        let low_second = two_dips(0.2, 1.86);
        let high_second = two_dips(0.2, 1.95);
        let (a, b) = (
            low_second.min_point().unwrap(),
            high_second.min_point().unwrap(),
        );
        assert!(a.lr > 2.0 && b.lr < 0.3, "minima {} and {}", a.lr, b.lr);
        let fa = low_second.fall_point(0.8).unwrap().lr;
        let fb = high_second.fall_point(0.8).unwrap().lr;
        assert!(fa > 0.05 && fa < 0.2 && fb > 0.05 && fb < 0.2, "{fa} {fb}");
        assert!(fa / fb < 1.3 && fb / fa < 1.3, "{fa} {fb}");
        // On the falling side of the first dip, below its minimum.
        assert!(high_second.fall_point(0.5).unwrap().lr < fb);
    }

    #[test]
    fn a_flat_curve_and_an_empty_one() {
        let flat = run(|_| 1.0);
        let first = flat.curve().get(10).unwrap();
        assert_eq!(flat.fall_point(0.9), Some(first));
        assert_eq!(RangeTest::<f32, 8>::fastai().fall_point(0.9), None);
    }
}
