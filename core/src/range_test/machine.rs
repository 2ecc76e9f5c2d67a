//! The range-test state machine.

use super::config::{NonFinite, RangeTestConfig};
use super::curve::{Curve, CurveBuf, CurvePoint};
use super::smoothing::Ema;
use super::suggest::{self, SlideParams, Suggestion, Suggestions};
use super::sweep;
use crate::error::ConfigError;
use crate::Real;

/// Why the range test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StopReason {
    /// All `num_it` batches ran.
    Finished,
    /// The smoothed loss crossed the divergence threshold.
    Diverged,
    /// A loss was NaN or infinite (or the smoothed loss overflowed) under
    /// [`NonFinite::Stop`].
    NonFinite,
}

/// What [`RangeTest::record`] tells the training loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status {
    /// Train the next batch at [`RangeTest::next_lr`].
    Continue,
    /// The test is over; restore the model and read the suggestions.
    Done(StopReason),
}

/// Number of batches fastai's and torch-lr-finder's suggestions drop at the end.
const SKIP_END: u32 = 5;
/// torch-lr-finder `plot(skip_start=10)`.
const TORCH_SKIP_START: u32 = 10;

/// The LR range test (Smith 2017, *Cyclical Learning Rates for Training Neural
/// Networks*, §3.3; fastai `lr_find`; torch-lr-finder `range_test`) as a
/// caller-driven state machine: ask [`next_lr`](Self::next_lr), train one batch at
/// that rate, hand the loss to [`record`](Self::record), repeat until it returns
/// [`Status::Done`]. No allocation, no panic, no NaN or ∞ in any output.
///
/// `F` is the float type, `N` the capacity of the recorded curve in points.
///
/// # Divergence rule
///
/// With factor `k`, smoothed loss `s`, the best (lowest) smoothed loss so far `b`
/// (after folding in `s`) and the first smoothed loss `s₀`, the test stops as
/// [`StopReason::Diverged`] when
///
/// * `b > 0`: `s > k · b` — exactly fastai's (`k = 4`) and torch-lr-finder's
///   (`k = 5`) test, evaluated the same way;
/// * `b ≤ 0`: `s − b > (k − 1) · max(|b|, |s₀|)` — the loss rose by `k − 1` times
///   the magnitude of the best loss (or of the first one when the best is 0).
///
/// Both references misbehave when `b ≤ 0`: `s > k·b` holds at once for a negative
/// `b`, so torch-lr-finder stops after one batch and fastai then raises IndexError
/// on the empty curve. Losses with a negative offset are legitimate, hence the
/// second branch. The rule reduces to the references' wherever they work.
///
/// # Non-finite losses
///
/// See [`NonFinite`]: a batch whose loss (raw, or smoothed after overflow) is not
/// finite is recorded with its lr but no loss; suggestions ignore it and everything
/// after it. Negative, zero and huge finite losses are ordinary data.
///
/// # Curve storage and memory
///
/// The curve keeps `N` points of (lr, smoothed loss, raw loss). Once a run records
/// more than `N` batches it is decimated (every other point dropped, stride doubled;
/// see [`Curve::stride`]), so a long run keeps between `N/2` and `N` evenly spaced
/// points. Suggestions on a decimated curve are approximate (they see every
/// `stride`-th batch; trimming is still in batches).
///
/// The whole state is `size_of::<RangeTest<F, N>>() = H + 3·N·size_of::<F>()`
/// rounded up to the alignment of `usize`, with `H` a fixed header (config,
/// smoother and counters): 88 bytes for `f32` and 136 for `f64` on 64-bit targets
/// (checked by a unit test), so `RangeTest<f32, 128>` is 1624 bytes. Computing
/// [`Suggestion::Valley`] also takes `N · size_of::<F>()` bytes of stack.
///
/// # Suggestions
///
/// [`suggest`](Self::suggest) trims the curve like its reference: fastai's rules
/// use batches `[num_it / 10, batches − 5)`, torch-lr-finder's
/// [`Suggestion::Steepest`] batches `[10, batches − 5)`; both stop before the
/// first batch without a finite loss. They can be asked for at any time.
#[derive(Clone, Debug)]
pub struct RangeTest<F = f32, const N: usize = 128> {
    config: RangeTestConfig<F>,
    smoother: Ema<F>,
    curve: CurveBuf<F, N>,
    batch: u32,
    best: Option<F>,
    first: Option<F>,
    poisoned: bool,
    done: Option<StopReason>,
}

impl<F: Real, const N: usize> Default for RangeTest<F, N> {
    /// [`RangeTestConfig::default`].
    fn default() -> Self {
        Self::from_valid(RangeTestConfig::default())
    }
}

impl<F: Real, const N: usize> RangeTest<F, N> {
    /// A range test for `config`, validated (the error names the bad field).
    pub fn new(config: RangeTestConfig<F>) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::from_valid(config))
    }

    /// [`RangeTestConfig::fastai`]: 1e-7 → 10 over 100 batches, β = 0.98, 4×.
    pub fn fastai() -> Self {
        Self::from_valid(RangeTestConfig::fastai())
    }

    /// [`RangeTestConfig::torch_lr_finder`]: 1e-7 → 10 over 100 batches,
    /// `smooth_f = 0.05`, 5×.
    pub fn torch_lr_finder() -> Self {
        Self::from_valid(RangeTestConfig::torch_lr_finder())
    }

    fn from_valid(config: RangeTestConfig<F>) -> Self {
        Self {
            config,
            smoother: Ema::new(),
            curve: CurveBuf::new(),
            batch: 0,
            best: None,
            first: None,
            poisoned: false,
            done: None,
        }
    }

    /// A finished test over a curve built elsewhere (the mean of several sweeps):
    /// `batches` recorded, ended by `reason`. Best and first loss are the curve's.
    pub(crate) fn from_curve(
        config: RangeTestConfig<F>,
        curve: CurveBuf<F, N>,
        batches: u32,
        reason: StopReason,
    ) -> Self {
        let finite = &curve.points()[..curve.finite_len()];
        let first = finite.first().map(|p| p.loss);
        let best = finite.iter().map(|p| p.loss).reduce(F::min);
        Self {
            config,
            smoother: Ema::new(),
            curve,
            batch: batches,
            best,
            first,
            poisoned: false,
            done: Some(reason),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RangeTestConfig<F> {
        &self.config
    }

    /// Starts over with the same configuration.
    pub fn reset(&mut self) {
        *self = Self::from_valid(self.config);
    }

    /// The learning rate for the next batch, `None` once the test is done.
    pub fn next_lr(&self) -> Option<F> {
        if self.done.is_some() {
            None
        } else {
            Some(sweep::lr_at(&self.config, self.batch))
        }
    }

    /// Records the loss of the batch just trained at [`next_lr`](Self::next_lr)
    /// and says whether to go on. After [`Status::Done`] further calls change
    /// nothing and return the same status.
    pub fn record(&mut self, loss: F) -> Status {
        if let Some(reason) = self.done {
            return Status::Done(reason);
        }
        let i = self.batch;
        let lr = sweep::lr_at(&self.config, i);
        let mut stop = None;
        let mut smoothed = None;
        if !self.poisoned {
            let s = self.smoother.update(self.config.smoothing, loss);
            if s.is_finite() {
                smoothed = Some(s);
                let first = *self.first.get_or_insert(s);
                let best = match self.best {
                    Some(b) if s >= b => b,
                    _ => s,
                };
                self.best = Some(best);
                if let Some(k) = self.config.diverge_factor {
                    if diverged(s, best, first, k) {
                        stop = Some(StopReason::Diverged);
                    }
                }
            } else {
                match self.config.non_finite {
                    NonFinite::Stop => stop = Some(StopReason::NonFinite),
                    NonFinite::Continue => {
                        if s > F::ZERO && self.best.is_some() {
                            stop = Some(StopReason::Diverged);
                        } else {
                            self.poisoned = true;
                        }
                    }
                }
            }
        }
        self.curve.push(i, lr, smoothed, loss);
        self.batch = i.saturating_add(1);
        if stop.is_none() && self.batch >= self.config.num_it {
            stop = Some(StopReason::Finished);
        }
        self.done = stop;
        self.status()
    }

    /// [`Status::Done`] once the test has ended, else [`Status::Continue`].
    pub fn status(&self) -> Status {
        match self.done {
            Some(r) => Status::Done(r),
            None => Status::Continue,
        }
    }

    /// Batches recorded so far.
    pub fn batches(&self) -> u32 {
        self.batch
    }

    /// The lowest finite smoothed loss so far.
    pub fn best_loss(&self) -> Option<F> {
        self.best
    }

    /// The recorded curve.
    pub fn curve(&self) -> Curve<'_, F> {
        Curve {
            points: self.curve.points(),
            stride: self.curve.stride(),
            finite: self.curve.finite_len(),
        }
    }

    /// One suggestion on the current curve (see [`Suggestion`]); `None` when the
    /// trimmed curve is too short or degenerate.
    pub fn suggest(&self, rule: Suggestion) -> Option<F> {
        let fastai = self
            .curve
            .window(self.config.num_it / 10, self.batch.saturating_sub(SKIP_END));
        match rule {
            Suggestion::Minimum => suggest::minimum(fastai),
            Suggestion::Steep => suggest::steep(fastai),
            Suggestion::Valley => suggest::valley::<F, N>(fastai),
            Suggestion::Slide => self.suggest_slide(SlideParams::default()),
            Suggestion::Steepest => suggest::steepest(
                self.curve
                    .window(TORCH_SKIP_START, self.batch.saturating_sub(SKIP_END)),
            ),
        }
    }

    /// The curve point at which [`Suggestion::Minimum`] finds the lowest smoothed
    /// loss, in the same trimmed window (batches `[num_it / 10, batches − 5)`,
    /// cut at the first non-finite loss; the first point on ties), so that
    /// `suggest(Minimum) == min_point().lr / 10` exactly (where that is > 0: an lr
    /// below ten times the smallest positive float gives no Minimum). This is the
    /// `(lr, loss)` pair of fastai's `minimum`, which returns `(lr / 10, (lr, loss))`.
    /// `None` when the trimmed curve is empty.
    pub fn min_point(&self) -> Option<CurvePoint<F>> {
        let r = self.fastai_window();
        let i = suggest::minimum_index(&self.curve.points()[r.clone()])?;
        self.curve().get(r.start + i)
    }

    /// The indices of the stored points in fastai's trimmed window (batches
    /// `[num_it / 10, batches − 5)`, cut at the first non-finite loss).
    pub(crate) fn fastai_window(&self) -> core::ops::Range<usize> {
        self.curve
            .window_range(self.config.num_it / 10, self.batch.saturating_sub(SKIP_END))
    }

    /// fastai's slide rule with other parameters than its defaults. The result is
    /// a recorded lr times `adjust_value`; `None` for a too-short curve or
    /// parameters that are not usable (`lr_diff = 0`, negative or NaN `thresh`,
    /// non-finite `adjust_value`).
    pub fn suggest_slide(&self, params: SlideParams<F>) -> Option<F> {
        let w = self
            .curve
            .window(self.config.num_it / 10, self.batch.saturating_sub(SKIP_END));
        suggest::slide(w, params, self.curve.stride())
    }

    /// All suggestions.
    pub fn suggestions(&self) -> Suggestions<F> {
        Suggestions {
            minimum: self.suggest(Suggestion::Minimum),
            steep: self.suggest(Suggestion::Steep),
            valley: self.suggest(Suggestion::Valley),
            slide: self.suggest(Suggestion::Slide),
            steepest: self.suggest(Suggestion::Steepest),
        }
    }
}

/// The divergence test (see [`RangeTest`]'s documentation).
fn diverged<F: Real>(s: F, best: F, first: F, k: F) -> bool {
    if best > F::ZERO {
        s > k * best
    } else {
        s - best > (k - F::ONE) * best.abs().max(first.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range_test::{Smoothing, Sweep};

    fn run<const N: usize>(t: &mut RangeTest<f64, N>, losses: &[f64]) -> Status {
        let mut st = t.status();
        for &l in losses {
            if t.next_lr().is_none() {
                break;
            }
            st = t.record(l);
        }
        st
    }

    #[test]
    fn divergence_rule_reduces_to_the_references_for_positive_best() {
        assert!(diverged(4.01, 1.0, 2.0, 4.0));
        assert!(!diverged(4.0, 1.0, 2.0, 4.0));
        // best ≤ 0: a rise of (k − 1)·|best|.
        assert!(!diverged(2.0, -1.0, -0.5, 4.0));
        assert!(diverged(2.01, -1.0, -0.5, 4.0));
        // best = 0: scale from the first loss.
        assert!(!diverged(1.5, 0.0, 0.5, 4.0));
        assert!(diverged(1.51, 0.0, 0.5, 4.0));
    }

    #[test]
    fn negative_losses_run_the_whole_sweep() {
        let mut t = RangeTest::<f64, 128>::torch_lr_finder();
        let losses: [f64; 100] = core::array::from_fn(|i| -1.0 - 0.001 * i as f64);
        assert_eq!(run(&mut t, &losses), Status::Done(StopReason::Finished));
        assert_eq!(t.batches(), 100);
        let s = t.suggestions();
        for v in [s.minimum, s.steep, s.valley, s.slide, s.steepest] {
            assert!(v.is_some());
        }
    }

    #[test]
    fn non_finite_policies() {
        let mut losses = [1.0f64; 50];
        losses[20] = f64::NAN;
        let mut stop = RangeTest::<f64, 64>::default();
        assert_eq!(run(&mut stop, &losses), Status::Done(StopReason::NonFinite));
        assert_eq!(stop.batches(), 21);
        assert_eq!(stop.curve().get(20).unwrap().loss, None);
        assert_eq!(stop.curve().get(19).unwrap().raw_loss, Some(1.0));
        assert_eq!(stop.next_lr(), None);
        assert_eq!(stop.record(1.0), Status::Done(StopReason::NonFinite));

        let cfg = RangeTestConfig::fastai().range(1e-7, 10.0, 50);
        let mut cont = RangeTest::<f64, 64>::new(cfg).unwrap();
        assert_eq!(run(&mut cont, &losses), Status::Done(StopReason::Finished));
        assert_eq!(cont.batches(), 50);
        assert!(cont.curve().iter().skip(20).all(|p| p.loss.is_none()));
        assert_eq!(cont.curve().get(20).unwrap().raw_loss, None);
        assert_eq!(cont.curve().get(21).unwrap().raw_loss, Some(1.0));

        // +∞ after a finite best: diverged, as in the references.
        losses[20] = f64::INFINITY;
        let mut cont = RangeTest::<f64, 64>::new(cfg).unwrap();
        assert_eq!(run(&mut cont, &losses), Status::Done(StopReason::Diverged));
        assert_eq!(cont.batches(), 21);
    }

    #[test]
    fn stops_on_divergence_and_records_the_diverging_batch() {
        let cfg = RangeTestConfig::fastai()
            .smoothing(Smoothing::Debiased { beta: 0.0 })
            .range(1e-3, 1.0, 20)
            .sweep(Sweep::Linear);
        let mut t = RangeTest::<f64, 32>::new(cfg).unwrap();
        let st = run(&mut t, &[2.0, 1.0, 0.5, 1.9, 2.1, 1.0]);
        assert_eq!(st, Status::Done(StopReason::Diverged));
        assert_eq!(t.batches(), 5);
        assert_eq!(t.curve().len(), 5);
        assert_eq!(t.curve().get(4).unwrap().loss, Some(2.1));
        assert_eq!(t.best_loss(), Some(0.5));
    }

    #[test]
    fn invalid_config_is_an_error() {
        let cfg = RangeTestConfig::<f32>::fastai().range(1.0, 0.5, 100);
        assert_eq!(RangeTest::<f32, 8>::new(cfg).unwrap_err().field, "end_lr");
    }

    #[test]
    fn memory_formula() {
        use core::mem::size_of;
        fn round8(x: usize) -> usize {
            x.div_ceil(8) * 8
        }
        let h32 = size_of::<RangeTest<f32, 0>>();
        let h64 = size_of::<RangeTest<f64, 0>>();
        if size_of::<usize>() == 8 {
            assert_eq!((h32, h64), (88, 136));
        }
        assert_eq!(size_of::<RangeTest<f32, 1>>(), round8(h32 + 12));
        assert_eq!(size_of::<RangeTest<f32, 7>>(), round8(h32 + 12 * 7));
        assert_eq!(size_of::<RangeTest<f32, 128>>(), round8(h32 + 12 * 128));
        assert_eq!(size_of::<RangeTest<f32, 1000>>(), round8(h32 + 12 * 1000));
        assert_eq!(size_of::<RangeTest<f64, 5>>(), round8(h64 + 24 * 5));
        assert_eq!(size_of::<RangeTest<f64, 256>>(), round8(h64 + 24 * 256));
    }

    /// Fuzz regression (`fuzz/regressions/range_test/minimum-underflow`): with subnormal
    /// learning rates `Minimum` divided the lr to 0.0 and returned `Some(0.0)`.
    #[test]
    fn minimum_is_never_zero() {
        let cfg = RangeTestConfig::fastai().range(1e-45f32, 1e-44, 20);
        let mut t = RangeTest::<f32, 64>::new(cfg).unwrap();
        let losses: [f32; 20] = core::array::from_fn(|i| 3.0 - i as f32 * 0.1);
        run32(&mut t, &losses);
        let p = t.min_point().unwrap();
        assert!(p.lr > 0.0 && p.lr / 10.0 == 0.0, "{p:?}");
        assert_eq!(t.suggest(Suggestion::Minimum), None);
        for s in Suggestion::ALL {
            assert!(
                t.suggest(s).map_or(true, |lr| lr > 0.0 && lr.is_finite()),
                "{s:?}"
            );
        }
    }

    #[test]
    fn min_point_is_ten_times_the_minimum_suggestion() {
        let cfg = RangeTestConfig::fastai().range(1e-6, 1.0, 300);
        for n in [0usize, 3, 20, 40, 100, 300] {
            let mut t = RangeTest::<f32, 64>::new(cfg).unwrap();
            let losses: [f32; 300] =
                core::array::from_fn(|i| 3.0 - 2.0 * libm::sinf(i as f32 / 300.0 * 4.0));
            run32(&mut t, &losses[..n]);
            let p = t.min_point();
            assert_eq!(
                p.map(|p| p.lr / 10.0),
                t.suggest(Suggestion::Minimum),
                "{n}"
            );
            if let Some(p) = p {
                let c = t.curve();
                let k = (p.batch / c.stride()) as usize;
                assert_eq!(c.get(k), Some(p));
                assert!(p.loss.is_some() && p.batch >= 30);
                // No lower smoothed loss in the window.
                let end = t.batches().saturating_sub(SKIP_END);
                assert!(c
                    .iter()
                    .filter(|q| q.batch >= 30 && q.batch < end)
                    .all(|q| q.loss.unwrap() >= p.loss.unwrap()));
            } else {
                assert!(n < 36, "{n}");
            }
        }
    }

    fn run32<const N: usize>(t: &mut RangeTest<f32, N>, losses: &[f32]) {
        for &l in losses {
            if t.next_lr().is_none() {
                break;
            }
            t.record(l);
        }
    }

    #[test]
    fn long_runs_decimate() {
        let cfg = RangeTestConfig::fastai().range(1e-6, 1.0, 1000);
        let mut t = RangeTest::<f64, 64>::new(cfg).unwrap();
        let losses: [f64; 1000] =
            core::array::from_fn(|i| 3.0 - 2.0 * libm::sin(i as f64 / 1000.0 * 3.0));
        assert_eq!(run(&mut t, &losses), Status::Done(StopReason::Finished));
        let c = t.curve();
        assert_eq!(c.stride(), 16);
        assert!(c.len() >= 32 && c.len() <= 64);
        for p in c.iter() {
            assert_eq!(p.lr, sweep::lr_at(t.config(), p.batch));
        }
        // The decimated curve finds the minimum within a stride of the full one.
        let mut full = RangeTest::<f64, 1024>::new(cfg).unwrap();
        run(&mut full, &losses);
        assert_eq!(full.curve().stride(), 1);
        let batch_of = |lr: f64| libm::log(lr * 10.0 / 1e-6) / libm::log(1e6) * 1000.0;
        let b = batch_of(t.suggest(Suggestion::Minimum).unwrap());
        let b_full = batch_of(full.suggest(Suggestion::Minimum).unwrap());
        assert!((b - b_full).abs() <= 16.5, "{b} {b_full}");
    }
}
