//! Several range tests from the same start, combined on one lr grid.

use heapless::Vec;

use super::bounds_rule::BoundsRule;
use super::config::RangeTestConfig;
use super::curve::CurveBuf;
use super::machine::{RangeTest, Status, StopReason};
use crate::error::{ConfigError, Problem};
use crate::Real;

/// `K` range tests with the same [`RangeTestConfig`] (so the same lr at every
/// batch), run from the same initial weights and differing in data order or
/// initialisation, combined into a mean curve with its spread, and every rule's
/// pick with its spread over the sweeps. One sweep is not a measurement: the
/// pick of a single sweep moves by 2–3× with the data order (issue 11's seed 0
/// vs seed 1 on Fashion-MNIST).
///
/// The caller runs each sweep as an ordinary [`RangeTest`] (from
/// [`new_sweep`](Self::new_sweep)), restoring its model before each, and hands the
/// finished sweep to [`push`](Self::push). No allocation: the state is `K + 1`
/// range tests and `N` spread points.
///
/// # The mean curve
///
/// With `s` the largest [`Curve::stride`](super::Curve::stride) of the sweeps,
/// the mean curve has a point at every batch `b = j·s` that every sweep recorded
/// with a finite smoothed loss; its smoothed loss is the mean `m(b) = Σₖ sₖ(b) / K`
/// of the sweeps' smoothed losses, its raw loss the mean raw loss. It ends where
/// the first sweep ends, so every point averages all `K` sweeps. [`mean`](Self::mean)
/// is a [`RangeTest`] over that curve: its suggestions, [`RangeTest::min_point`]
/// and [`RangeTest::bounds_by`] read the mean curve exactly as they read a sweep.
/// [`band`](Self::band) gives the spread at each point: min, max and the sample
/// standard deviation `sqrt(Σ (sₖ − m)² / (K − 1))` (0 for one sweep).
///
/// ```
/// use lrate_core::{AveragedRangeTest, BoundsRule, RangeTestConfig, Status};
///
/// let config = RangeTestConfig::<f32>::fastai();
/// let mut avg = AveragedRangeTest::<f32, 128, 3>::new(config).unwrap();
/// for k in 0..3 {
///     let mut sweep = avg.new_sweep();
///     let mut w = 0.0f32; // the same start for every sweep
///     let noise = [0.0, 0.01, -0.01][k];
///     while let Some(lr) = sweep.next_lr() {
///         let loss = (w - 3.0) * (w - 3.0) + noise;
///         w -= lr * 2.0 * (w - 3.0);
///         if let Status::Done(_) = sweep.record(loss) { break; }
///     }
///     avg.push(sweep).unwrap();
/// }
/// let pick = avg.spread(BoundsRule::DEFAULT);
/// let (lo, hi) = (pick.low.unwrap(), pick.high.unwrap());
/// assert!(lo <= pick.median.unwrap() && pick.median.unwrap() <= hi);
/// assert!(avg.pick(BoundsRule::DEFAULT).is_some());
/// ```
#[derive(Clone, Debug)]
pub struct AveragedRangeTest<F = f32, const N: usize = 128, const K: usize = 4> {
    config: RangeTestConfig<F>,
    sweeps: Vec<RangeTest<F, N>, K>,
    mean: RangeTest<F, N>,
    band: Vec<BandStats<F>, N>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct BandStats<F> {
    min: F,
    max: F,
    sd: F,
}

/// One point of the mean curve with its spread over the sweeps.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BandPoint<F = f32> {
    /// Index of the batch (from 0), the same in every sweep.
    pub batch: u32,
    /// Its learning rate.
    pub lr: F,
    /// Mean smoothed loss.
    pub mean: F,
    /// Lowest smoothed loss of a sweep.
    pub min: F,
    /// Highest smoothed loss of a sweep.
    pub max: F,
    /// Sample standard deviation of the sweeps' smoothed losses (0 for one sweep).
    pub sd: F,
}

/// One rule's pick on every sweep and on the mean curve.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSpread<F = f32, const K: usize = 4> {
    /// The rule's `max_lr` on each sweep, in the order pushed (`None`: no pick).
    pub per_sweep: Vec<Option<F>, K>,
    /// Its `max_lr` on the mean curve.
    pub mean_curve: Option<F>,
    /// Median of the sweeps' picks (geometric mean of the middle two for an even
    /// count, the lr being a log-scale quantity); `None` when no sweep gave one.
    pub median: Option<F>,
    /// Lowest pick of a sweep.
    pub low: Option<F>,
    /// Highest pick of a sweep.
    pub high: Option<F>,
}

impl<F: Real, const K: usize> RuleSpread<F, K> {
    /// `high / low`, the factor by which the sweeps disagree (1 when they agree),
    /// saturated at `F::MAX` (picks at both ends of the float range).
    pub fn ratio(&self) -> Option<F> {
        Some((self.high? / self.low?).min(F::MAX))
    }

    /// The sweeps disagree by more than `factor` (`high > factor · low`), or some
    /// sweep gave no pick while another did.
    pub fn disagrees(&self, factor: F) -> bool {
        let missing = self.per_sweep.iter().any(Option::is_none);
        let found = self.per_sweep.iter().any(Option::is_some);
        missing && found || self.ratio().is_some_and(|r| r > factor)
    }
}

/// Why [`AveragedRangeTest::push`] refused a sweep (given back in [`Rejected`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RejectReason {
    /// `K` sweeps are already stored.
    Full,
    /// The sweep's configuration differs, so its lr grid is not the shared one.
    OtherConfig,
    /// The sweep has not ended ([`Status::Continue`]).
    NotDone,
}

/// A sweep [`AveragedRangeTest::push`] did not take, given back with the reason.
#[derive(Clone, Debug)]
pub struct Rejected<F, const N: usize> {
    /// The sweep, unchanged.
    pub sweep: RangeTest<F, N>,
    /// Why.
    pub reason: RejectReason,
}

impl<F: Real, const N: usize, const K: usize> AveragedRangeTest<F, N, K> {
    /// The disagreement factor above which a pick should not be reported as one
    /// number: two, one step of a ×2 grid.
    pub const DISAGREEMENT: f64 = 2.0;

    /// No sweep yet, for `config` (validated). `K = 0` is refused.
    pub fn new(config: RangeTestConfig<F>) -> Result<Self, ConfigError> {
        if K == 0 {
            return Err(ConfigError::new("repeats", Problem::MustBe("at least 1")));
        }
        Ok(Self {
            mean: RangeTest::new(config)?,
            config,
            sweeps: Vec::new(),
            band: Vec::new(),
        })
    }

    /// A fresh sweep with the shared configuration.
    pub fn new_sweep(&self) -> RangeTest<F, N> {
        let mut t = self.mean.clone();
        t.reset();
        t
    }

    /// The shared configuration.
    pub fn config(&self) -> &RangeTestConfig<F> {
        &self.config
    }

    /// Adds a finished sweep and recomputes the mean curve; refuses (and gives
    /// back) a sweep that is not done, has another configuration, or does not fit.
    pub fn push(&mut self, sweep: RangeTest<F, N>) -> Result<(), Rejected<F, N>> {
        let reason = if self.sweeps.is_full() {
            Some(RejectReason::Full)
        } else if sweep.config() != &self.config {
            Some(RejectReason::OtherConfig)
        } else if sweep.status() == Status::Continue {
            Some(RejectReason::NotDone)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Rejected { sweep, reason });
        }
        if let Err(sweep) = self.sweeps.push(sweep) {
            return Err(Rejected {
                sweep,
                reason: RejectReason::Full,
            });
        }
        self.rebuild();
        Ok(())
    }

    /// The sweeps, in the order pushed.
    pub fn sweeps(&self) -> &[RangeTest<F, N>] {
        &self.sweeps
    }

    /// The number of sweeps pushed.
    pub fn len(&self) -> usize {
        self.sweeps.len()
    }

    /// No sweep pushed yet.
    pub fn is_empty(&self) -> bool {
        self.sweeps.is_empty()
    }

    /// The range test over the mean curve (see the type's documentation); empty
    /// before the first push.
    pub fn mean(&self) -> &RangeTest<F, N> {
        &self.mean
    }

    /// The mean curve with min, max and standard deviation at each point.
    pub fn band(&self) -> impl Iterator<Item = BandPoint<F>> + '_ {
        self.mean
            .curve()
            .iter()
            .zip(self.band.iter())
            .filter_map(|(p, b)| {
                Some(BandPoint {
                    batch: p.batch,
                    lr: p.lr,
                    mean: p.loss?,
                    min: b.min,
                    max: b.max,
                    sd: b.sd,
                })
            })
    }

    /// `rule`'s `max_lr` on each sweep and on the mean curve, with median and range.
    pub fn spread(&self, rule: BoundsRule) -> RuleSpread<F, K> {
        let mut per_sweep = Vec::new();
        let mut sorted: Vec<F, K> = Vec::new();
        for s in &self.sweeps {
            let lr = s.max_lr_by(rule);
            // Both fit: at most K sweeps.
            let _ = per_sweep.push(lr);
            if let Some(lr) = lr {
                let at = sorted.iter().position(|&v| v > lr).unwrap_or(sorted.len());
                let _ = sorted.insert(at, lr);
            }
        }
        let n = sorted.len();
        let median = match n {
            0 => None,
            n if n % 2 == 1 => sorted.get(n / 2).copied(),
            n => {
                let (a, b) = (sorted[n / 2 - 1], sorted[n / 2]);
                let g = (a * b).sqrt();
                // Where the product over- or underflows (picks beyond ~1e19 or below ~1e-19
                // in f32), the same mean from the square roots.
                Some(if g.is_finite() && g > F::ZERO {
                    g
                } else {
                    a.sqrt() * b.sqrt()
                })
            }
        };
        RuleSpread {
            per_sweep,
            mean_curve: self.mean.max_lr_by(rule),
            median,
            low: sorted.first().copied(),
            high: sorted.last().copied(),
        }
    }

    /// The pick `rule` makes: on the mean curve, else the median of the sweeps.
    pub fn pick(&self, rule: BoundsRule) -> Option<F> {
        let s = self.spread(rule);
        s.mean_curve.or(s.median)
    }

    /// Rebuilds the mean curve and its band from the sweeps.
    fn rebuild(&mut self) {
        let stride = self
            .sweeps
            .iter()
            .map(|s| s.curve().stride())
            .max()
            .unwrap_or(1);
        // Exclusive end (in batches) of the points every sweep recorded with a
        // finite smoothed loss.
        let end = self
            .sweeps
            .iter()
            .map(|s| {
                let c = s.curve();
                let finite = c.iter().take_while(|p| p.loss.is_some()).count() as u64;
                (finite * u64::from(c.stride())).min(u64::from(s.batches()))
            })
            .min()
            .unwrap_or(0);
        let mut curve = CurveBuf::<F, N>::with_stride(stride);
        self.band.clear();
        let k = F::from_u32(self.sweeps.len() as u32);
        let mut b = 0u64;
        while b < end {
            let at =
                |s: &RangeTest<F, N>| s.curve().get((b / u64::from(s.curve().stride())) as usize);
            let (mut sum, mut raw, mut lo, mut hi) = (F::ZERO, F::ZERO, F::MAX, -F::MAX);
            let mut lr = F::ZERO;
            for s in &self.sweeps {
                let Some(p) = at(s) else { return };
                let v = p.loss.unwrap_or(F::ZERO);
                lr = p.lr;
                sum = sum + v;
                raw = raw + p.raw_loss.unwrap_or(F::from_f64(f64::NAN));
                lo = lo.min(v);
                hi = hi.max(v);
            }
            let mean = sum / k;
            let dev = |s: &RangeTest<F, N>| at(s).and_then(|p| p.loss).unwrap_or(mean) - mean;
            let mut ss = F::ZERO;
            for s in &self.sweeps {
                let v = dev(s);
                ss = ss + v * v;
            }
            let sd = if self.sweeps.len() > 1 {
                let sd = (ss / (k - F::ONE)).sqrt();
                if sd.is_finite() {
                    sd
                } else {
                    // The squares overflowed (deviations beyond ~1e19 in f32): the same sum
                    // over the deviations divided by the largest one, then scaled back;
                    // saturated at the largest finite value where a deviation itself
                    // overflows (NaN loses in `min`).
                    let m = self
                        .sweeps
                        .iter()
                        .map(|s| dev(s).abs())
                        .fold(F::ZERO, F::max);
                    let mut ss = F::ZERO;
                    for s in &self.sweeps {
                        let v = dev(s) / m;
                        ss = ss + v * v;
                    }
                    (m * (ss / (k - F::ONE)).sqrt()).min(F::MAX)
                }
            } else {
                F::ZERO
            };
            if !mean.is_finite()
                || self
                    .band
                    .push(BandStats {
                        min: lo,
                        max: hi,
                        sd,
                    })
                    .is_err()
            {
                break;
            }
            curve.push(b as u32, lr, Some(mean), raw / k);
            b += u64::from(stride);
        }
        let (batches, reason) = self
            .sweeps
            .iter()
            .map(|s| {
                let r = match s.status() {
                    Status::Done(r) => r,
                    Status::Continue => StopReason::Finished,
                };
                (s.batches(), r)
            })
            .min_by_key(|(b, _)| *b)
            .unwrap_or((0, StopReason::Finished));
        self.mean = RangeTest::from_curve(self.config, curve, batches, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range_test::Suggestion;

    /// A sweep of `n` batches of a U-shaped loss in ln lr, offset by `off`,
    /// with its minimum at lr `at`.
    fn sweep<const N: usize>(cfg: RangeTestConfig<f64>, at: f64, off: f64) -> RangeTest<f64, N> {
        let mut t = RangeTest::<f64, N>::new(cfg).unwrap();
        while let Some(lr) = t.next_lr() {
            let x = (lr / at).ln();
            if let Status::Done(_) = t.record(1.0 + off + 0.01 * x * x) {
                break;
            }
        }
        t
    }

    fn cfg() -> RangeTestConfig<f64> {
        RangeTestConfig::fastai().smoothing(crate::range_test::Smoothing::Debiased { beta: 0.0 })
    }

    #[test]
    fn mean_curve_is_the_pointwise_mean_with_its_band() {
        let mut a = AveragedRangeTest::<f64, 128, 3>::new(cfg()).unwrap();
        for off in [0.0, 0.3, 0.6] {
            a.push(sweep(cfg(), 1e-2, off)).unwrap();
        }
        let band: Vec<BandPoint<f64>, 128> = a.band().collect();
        assert_eq!(band.len(), 100);
        for p in &band {
            let x = (p.lr / 1e-2).ln();
            let base = 1.0 + 0.01 * x * x;
            assert!((p.mean - (base + 0.3)).abs() < 1e-12);
            assert!((p.min - base).abs() < 1e-12 && (p.max - (base + 0.6)).abs() < 1e-12);
            assert!((p.sd - 0.3).abs() < 1e-12);
        }
        // Identical shapes: every sweep, and the mean, pick the same lr.
        let s = a.spread(BoundsRule::DEFAULT);
        assert_eq!(s.per_sweep.len(), 3);
        assert_eq!(s.low, s.high);
        assert_eq!(s.mean_curve, s.median);
        assert_eq!(s.ratio(), Some(1.0));
        assert!(!s.disagrees(2.0));
        assert_eq!(
            a.mean().min_point().unwrap().lr,
            a.sweeps()[0].min_point().unwrap().lr
        );
    }

    #[test]
    fn spread_median_and_disagreement() {
        let mut a = AveragedRangeTest::<f64, 128, 4>::new(cfg()).unwrap();
        for at in [1e-3, 1e-2, 1e-1] {
            a.push(sweep(cfg(), at, 0.0)).unwrap();
        }
        let s = a.spread(Suggestion::Minimum.into());
        let lo = s.low.unwrap();
        let hi = s.high.unwrap();
        assert!(lo < s.median.unwrap() && s.median.unwrap() < hi);
        assert_eq!(s.median, s.per_sweep[1]);
        assert!(s.ratio().unwrap() > 50.0);
        assert!(s.disagrees(2.0));
        // An even count: the geometric mean of the middle two.
        a.push(sweep(cfg(), 1.0, 0.0)).unwrap();
        let s = a.spread(Suggestion::Minimum.into());
        let m = (s.per_sweep[1].unwrap() * s.per_sweep[2].unwrap()).sqrt();
        assert!((s.median.unwrap() / m - 1.0).abs() < 1e-12);
    }

    #[test]
    fn refuses_and_gives_back() {
        let mut a = AveragedRangeTest::<f64, 128, 1>::new(cfg()).unwrap();
        let running = a.new_sweep();
        let r = a.push(running).unwrap_err();
        assert_eq!(r.reason, RejectReason::NotDone);
        let other = sweep::<128>(cfg().range(1e-5, 1.0, 50), 1e-2, 0.0);
        assert_eq!(a.push(other).unwrap_err().reason, RejectReason::OtherConfig);
        a.push(sweep(cfg(), 1e-2, 0.0)).unwrap();
        let r = a.push(sweep(cfg(), 1e-2, 0.0)).unwrap_err();
        assert_eq!(r.reason, RejectReason::Full);
        assert_eq!(r.sweep.batches(), 100);
        assert!(AveragedRangeTest::<f64, 128, 0>::new(cfg()).is_err());
        assert!(AveragedRangeTest::<f64, 128, 2>::new(cfg().range(1.0, 0.1, 10)).is_err());
    }

    #[test]
    fn the_mean_ends_with_the_shortest_sweep_and_skips_non_finite() {
        let mut a = AveragedRangeTest::<f64, 128, 2>::new(cfg()).unwrap();
        a.push(sweep(cfg(), 1e-2, 0.0)).unwrap();
        let mut t = a.new_sweep();
        for i in 0..100 {
            let loss = if i < 40 { 1.0 } else { f64::NAN };
            if let Status::Done(_) = t.record(loss) {
                break;
            }
        }
        a.push(t).unwrap();
        let band: Vec<BandPoint<f64>, 128> = a.band().collect();
        assert_eq!(band.len(), 40);
        assert!(band.iter().all(|p| p.mean.is_finite() && p.sd.is_finite()));
        assert_eq!(a.mean().batches(), a.sweeps()[1].batches());
        // No NaN anywhere in a pick.
        for r in BoundsRule::ALL {
            let s = a.spread(r);
            for v in s.per_sweep.iter().flatten().chain(s.mean_curve.iter()) {
                assert!(v.is_finite() && *v > 0.0);
            }
        }
    }

    /// Fuzz regression (`fuzz/regressions/range_test/band-sd-overflow`): finite losses of
    /// ~1e21 in f32 made the squared deviations overflow and the band's sd infinite.
    #[test]
    fn band_sd_stays_finite_for_huge_losses() {
        let c = RangeTestConfig::<f32>::fastai()
            .range(1e-3, 1.0, 10)
            .smoothing(crate::range_test::Smoothing::Debiased { beta: 0.0 })
            .diverge_factor(None);
        let mut a = AveragedRangeTest::<f32, 16, 3>::new(c).unwrap();
        for loss in [2.3f32, 1.7668214e21] {
            let mut t = a.new_sweep();
            while let Status::Continue = t.record(loss) {}
            a.push(t).unwrap();
        }
        let want = (1.7668214e21f64 - 2.3) / 2f64.sqrt();
        let band: Vec<BandPoint<f32>, 16> = a.band().collect();
        assert_eq!(band.len(), 10);
        for p in &band {
            assert!(((f64::from(p.sd) - want) / want).abs() < 1e-5, "{p:?}");
        }
        // A deviation beyond f32::MAX saturates instead of turning into ∞ or NaN.
        let mut a = AveragedRangeTest::<f32, 16, 3>::new(c).unwrap();
        for loss in [-3e38f32, 3e38] {
            let mut t = a.new_sweep();
            while let Status::Continue = t.record(loss) {}
            a.push(t).unwrap();
        }
        for p in a.band() {
            assert_eq!(p.sd, f32::MAX, "{p:?}");
        }
    }

    /// Fuzz regression (`fuzz/regressions/range_test/median-overflow`): the geometric
    /// mean of two picks of ~1e20 (an f32 sweep up to 1e30) overflowed to ∞.
    #[test]
    fn median_of_huge_and_tiny_picks_is_finite() {
        for (start, end) in [(1e18f32, 1e30f32), (1e-38, 1e-30)] {
            let c = RangeTestConfig::<f32>::fastai()
                .range(start, end, 100)
                .diverge_factor(None);
            let mut a = AveragedRangeTest::<f32, 128, 2>::new(c).unwrap();
            for off in [0.0f32, 0.5] {
                let mut t = a.new_sweep();
                let mut i = 0;
                // A U-shaped loss with its minimum at different batches per sweep.
                while let Status::Continue = t.record({
                    let x = (i as f32 - 50.0 - off * 20.0) / 20.0;
                    1.0 + x * x
                }) {
                    i += 1;
                }
                a.push(t).unwrap();
            }
            let s = a.spread(BoundsRule::Suggestion(Suggestion::Minimum));
            let (lo, hi, m) = (s.low.unwrap(), s.high.unwrap(), s.median.unwrap());
            assert!(m.is_finite() && lo <= m && m <= hi, "{s:?}");
        }
    }

    /// Fuzz regression (`fuzz/regressions/range_test/ratio-overflow`): `high / low` of
    /// picks near both ends of the float range overflowed to ∞.
    #[test]
    fn ratio_saturates() {
        let s = RuleSpread::<f32, 4> {
            per_sweep: Vec::from_slice(&[Some(1e-30), Some(1e30)]).unwrap(),
            mean_curve: None,
            median: Some(1.0),
            low: Some(1e-30),
            high: Some(1e30),
        };
        assert_eq!(s.ratio(), Some(f32::MAX));
        assert!(s.disagrees(2.0));
    }

    #[test]
    fn sweeps_with_different_strides_share_the_coarser_grid() {
        let long = cfg().range(1e-7, 10.0, 300);
        let mut a = AveragedRangeTest::<f64, 64, 2>::new(long).unwrap();
        a.push(sweep(long, 1e-2, 0.0)).unwrap(); // 300 batches: stride 8
        let mut short = a.new_sweep();
        for _ in 0..100 {
            short.record(1.0);
        }
        for _ in 0..200 {
            if let Status::Done(_) = short.record(1e9) {
                break;
            }
        }
        let (s0, s1) = (a.sweeps()[0].curve().stride(), short.curve().stride());
        a.push(short).unwrap();
        let stride = s0.max(s1);
        let band: Vec<BandPoint<f64>, 128> = a.band().collect();
        assert!(!band.is_empty());
        for (j, p) in band.iter().enumerate() {
            assert_eq!(p.batch, j as u32 * stride);
        }
    }
}
