//! The on-device procedure: held-out evaluation, LR range test, cyclical
//! fine-tuning of the head, evaluation again.
//!
//! 1. Record a balanced held-out set of [`EVAL_LEN`] windows from the sensor (kept
//!    raw, 128 bytes each) and measure the base model's accuracy on it.
//! 2. Range test (Smith, "Cyclical Learning Rates for Training Neural Networks",
//!    WACV 2017, §3.3; fastai `lr_find`): an `lrate-core` [`RangeTest`](lrate_core::RangeTest) sweeps the
//!    rate exponentially from [`Config::range_start_lr`] to [`Config::range_end_lr`] while the head trains on fresh
//!    mini-batches; the head and momentum are restored afterwards.
//! 3. Bounds: `max_lr` by [`Config::bounds_rule`] (lrate-core's `near-min`, as on
//!    the host) when the curve is reliable (`RangeTest::reliable_max_lr`), `base_lr = max_lr /`
//!    [`Config::bounds_div`] (10 by default, chosen on the validation streams by
//!    [`crate::tune`]; lrate-core `Bounds`, the CLR paper's "max/3–max/4 … or
//!    1/10" rule, so 3 to 10 are accepted); when the curve has no
//!    usable suggestion, [`Config::fallback`].
//! 4. Fine-tune the head with [`Config::optimizer`]:
//!    - [`FineTuneOptimizer::ClrSgd`] (default): SGD + momentum under triangular
//!      CLR, momentum cycled inversely (lrate-core [`Cyclic`]),
//!      for [`Config::cycles`] cycles;
//!    - [`FineTuneOptimizer::ScheduleFreeSgd`]: schedule-free SGD (Defazio et al.,
//!      "The Road Less Scheduled", NeurIPS 2024; `schedulefree`'s `SGDScheduleFree`)
//!      for the same number of steps, `cycles × 2 × step_size`, at the base rate
//!      `max_lr ×` [`Config::sf_lr_scale`] (`max_lr` is the range test's pick, the
//!      CLR peak), linear warmup over [`Config::sf_warmup_pct`] % of the steps,
//!      interpolation [`Config::sf_momentum`]; `lr_k` and the averaging weight
//!      `ckp1(k)` come from lrate-core's [`ScheduleFree`].
//!      Its `z` sequence is the trainer's momentum buffer, so it needs the RAM of
//!      momentum SGD and nothing more; the head holds `y` while training and is
//!      switched in place to the evaluation point `x` before step 5.
//! 5. Accuracy on the held-out set again.
//!
//! Every sample goes through the fault checks of [`crate::pipeline`]; a bad one is
//! reported to the [`Observer`] and skipped. Nothing here can panic on sensor data.
//!
//! Steps 2–4 drive `lrate-core` from the private child module `lr` (range test,
//! bounds, CLR schedule), which trains through this module's batch step and
//! workspace; nothing outside `finetune` sees either.

use crate::events::{Event, Observer, Phase};
use crate::model::{Head, Model, HIDDEN, INPUT};
use crate::pipeline::{to_input, FaultCounts};
use crate::rng::Rng;
use crate::sensor::LabelledSource;
use crate::signal::{CLASSES, WINDOW};
use crate::train::HeadTrainer;
use lrate_core::{BoundsRule, Cyclic, Schedule, ScheduleFree};

mod lr;

/// Mini-batch size on the device.
pub const BATCH: usize = 16;
/// Held-out windows per class.
pub const EVAL_PER_CLASS: usize = 10;
/// Held-out set size.
pub const EVAL_LEN: usize = EVAL_PER_CLASS * CLASSES;
/// Attempts to fill one sample slot before giving up on it.
pub const MAX_ATTEMPTS: u32 = 8;

/// The optimizer of the fine-tuning phase (step 4). The range test (steps 2–3)
/// always sweeps with SGD + momentum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FineTuneOptimizer {
    /// SGD + momentum under triangular CLR between the range test's bounds,
    /// momentum cycled inversely (the default).
    ClrSgd,
    /// Schedule-free SGD at `max_lr × sf_lr_scale` with linear warmup, no
    /// schedule; `z` kept in the momentum buffer.
    ScheduleFreeSgd,
}

impl FineTuneOptimizer {
    /// Short name for the log: `clr-sgd` or `sf-sgd`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ClrSgd => "clr-sgd",
            Self::ScheduleFreeSgd => "sf-sgd",
        }
    }
}

/// Default [`Config::sf_lr_scale`]: schedule-free SGD's base rate is 10 × the
/// range test's `max_lr`. The sweep measures rates of SGD with momentum
/// `μ = 0.9` ([`Config::range_momentum`]), whose steady-state step is
/// `lr/(1 − μ)` = 10 `lr`, while schedule-free SGD's `z` steps by `lr` itself;
/// `schedulefree`'s README accordingly starts SGD at "10x to 50x" the classical
/// rate. 10, the bottom of that range, also won the validation-stream search
/// over 10, 20 and 50 ([`crate::tune`]).
pub const SF_LR_SCALE: f32 = 10.0;

/// Fine-tuning settings.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Seed of the batch composition.
    pub seed: u64,
    /// First rate of the sweep.
    pub range_start_lr: f32,
    /// Last rate of the sweep.
    pub range_end_lr: f32,
    /// Mini-batches of the sweep.
    pub range_batches: u32,
    /// Momentum during the sweep (fastai keeps the optimizer's).
    pub range_momentum: f32,
    /// β of the sweep's debiased loss smoothing (fastai: 0.98 over 100 batches;
    /// 0.9 suits a 40-batch sweep).
    pub range_beta: f32,
    /// The rule that reads `max_lr` off the curve: lrate-core's default
    /// ([`BoundsRule::DEFAULT`], `near-min` with the SGD factor), the same
    /// implementation the host's `lrate find` uses.
    pub bounds_rule: BoundsRule,
    /// `base_lr = max_lr / bounds_div` (lrate-core `Bounds`, in [3, 10]).
    pub bounds_div: f32,
    /// Bounds used when the range test gives no usable suggestion:
    /// `(base_lr, max_lr)`.
    pub fallback: (f32, f32),
    /// Steps from `base_lr` to `max_lr` (half a cycle).
    pub step_size: u32,
    /// Number of CLR cycles.
    pub cycles: u32,
    /// Momentum at the rate's trough and peak: `(max_momentum, base_momentum)`.
    pub momentum: (f32, f32),
    /// L2 weight decay (both optimizers).
    pub weight_decay: f32,
    /// The fine-tuning optimizer; [`FineTuneOptimizer::ClrSgd`] by default.
    pub optimizer: FineTuneOptimizer,
    /// Schedule-free SGD: its base rate is `max_lr × sf_lr_scale`, `max_lr` the
    /// range test's pick (the CLR peak; the fallback's `max_lr` without one).
    pub sf_lr_scale: f32,
    /// Schedule-free SGD: the interpolation `β` (`schedulefree`'s `momentum`,
    /// in (0, 1)).
    pub sf_momentum: f32,
    /// Schedule-free SGD: linear warmup over this percentage of the steps
    /// (`warmup_steps = cycles · 2 · step_size · pct / 100`, rounded down; ≤ 100).
    pub sf_warmup_pct: u32,
}

impl Default for Config {
    /// The firmware's settings: sweep 1e-4 → 10 over 40 batches; bounds
    /// `(max_lr / 10, max_lr)` with `max_lr` by lrate-core's default rule;
    /// fallback bounds 0.01 – 0.1 (a safe rate for softmax regression on
    /// unit-scale features); 6 cycles of 2 × 20 steps; momentum 0.95 ↔ 0.85
    /// (Smith 2018). CLR is the optimizer; for schedule-free SGD (same 240 steps):
    /// base rate `max_lr ×` [`SF_LR_SCALE`] (10), `β = 0.9` and warmup over 10 %
    /// of the steps (24), `schedulefree`'s defaults `r = 0`, `weight_lr_power = 2`.
    ///
    /// The split into cycles, the bounds divisor, the schedule-free rate multiple
    /// and its warmup are the winners of the validation-stream search
    /// ([`crate::tune`], checked by `tests/tuning.rs`); the rest are the papers'
    /// defaults and were not searched.
    fn default() -> Self {
        Self {
            seed: 0x5EED,
            range_start_lr: 1e-4,
            range_end_lr: 10.0,
            range_batches: 40,
            range_momentum: 0.9,
            range_beta: 0.9,
            bounds_rule: BoundsRule::DEFAULT,
            bounds_div: 10.0,
            fallback: (0.01, 0.1),
            step_size: 20,
            cycles: 6,
            momentum: (0.95, 0.85),
            weight_decay: 1e-4,
            optimizer: FineTuneOptimizer::ClrSgd,
            sf_lr_scale: SF_LR_SCALE,
            sf_momentum: 0.9,
            sf_warmup_pct: 10,
        }
    }
}

/// The outcome of [`run`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// Held-out accuracy before, in `[0, 1]`.
    pub acc_before: f32,
    /// Held-out accuracy after.
    pub acc_after: f32,
    /// CLR bounds `(base_lr, max_lr)` (schedule-free SGD scales `max_lr`).
    pub bounds: (f32, f32),
    /// The fine-tuning optimizer that ran (or was refused: see the events).
    pub optimizer: FineTuneOptimizer,
    /// True if the bounds came from the range test.
    pub from_range_test: bool,
    /// Sample outcomes.
    pub counts: FaultCounts,
}

/// All the working memory of [`run`] (about 22 KiB), so the caller decides where
/// it lives.
pub struct Workspace {
    eval: [[i16; WINDOW]; EVAL_LEN],
    eval_y: [u8; EVAL_LEN],
    eval_len: usize,
    h: [[f32; HIDDEN]; BATCH],
    y: [u8; BATCH],
    trainer: HeadTrainer,
    snapshot: Head,
    rng: Rng,
    counts: FaultCounts,
}

impl Workspace {
    /// An empty workspace.
    pub const fn new() -> Self {
        Self {
            eval: [[0; WINDOW]; EVAL_LEN],
            eval_y: [0; EVAL_LEN],
            eval_len: 0,
            h: [[0.0; HIDDEN]; BATCH],
            y: [0; BATCH],
            trainer: HeadTrainer::new(0.0),
            snapshot: Head::zeroed(),
            rng: Rng::new(0),
            counts: FaultCounts {
                ok: 0,
                bus: 0,
                timeout: 0,
                saturated: 0,
                non_finite: 0,
            },
        }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads one valid input of `class`, retrying up to [`MAX_ATTEMPTS`] times.
fn acquire<S: LabelledSource, O: Observer>(
    src: &mut S,
    class: u8,
    phase: Phase,
    raw: &mut [i16; WINDOW],
    x: &mut [f32; INPUT],
    counts: &mut FaultCounts,
    obs: &mut O,
) -> bool {
    for _ in 0..MAX_ATTEMPTS {
        let r = src.next(class, raw).and_then(|()| to_input(raw, x));
        counts.count(r);
        match r {
            Ok(()) => return true,
            Err(fault) => obs.event(&Event::Skipped {
                phase,
                fault,
                counts: *counts,
            }),
        }
    }
    false
}

/// Fills the batch with features of fresh samples of random classes; returns how
/// many slots were filled (fewer only if the sensor kept failing) and the ticks
/// spent in the feature pass alone.
fn fill_batch<S: LabelledSource, O: Observer>(
    model: &Model,
    src: &mut S,
    ws: &mut Workspace,
    phase: Phase,
    obs: &mut O,
) -> (usize, u32) {
    let mut raw = [0i16; WINDOW];
    let mut x = [0.0; INPUT];
    let mut n = 0;
    let mut ticks = 0u32;
    for _ in 0..BATCH {
        let class = ws.rng.below(CLASSES as u32) as u8;
        if acquire(src, class, phase, &mut raw, &mut x, &mut ws.counts, obs) {
            let t0 = obs.ticks();
            model.features(&x, &mut ws.h[n]);
            ticks = ticks.wrapping_add(obs.ticks().wrapping_sub(t0));
            ws.y[n] = class;
            n += 1;
        }
    }
    (n, ticks)
}

/// Correct predictions on the held-out set.
fn evaluate(model: &Model, ws: &Workspace) -> u32 {
    let mut x = [0.0; INPUT];
    let mut correct = 0;
    for (raw, &y) in ws.eval.iter().zip(&ws.eval_y).take(ws.eval_len) {
        // Stored windows passed the checks already; re-check costs nothing.
        if to_input(raw, &mut x).is_ok() && model.predict(&x) == y {
            correct += 1;
        }
    }
    correct
}

fn accuracy_event<O: Observer>(model: &Model, ws: &Workspace, phase: Phase, obs: &mut O) -> f32 {
    let correct = evaluate(model, ws);
    let total = ws.eval_len as u32;
    obs.event(&Event::Accuracy {
        phase,
        correct,
        total,
    });
    correct as f32 / total.max(1) as f32
}

/// Runs the whole procedure on `model` (its head is fine-tuned in place).
///
/// `cfg.optimizer` selects one monomorphised fine-tuning loop; the function is
/// inlined into its caller so that, where the caller's `cfg.optimizer` is a
/// constant (the firmware image), the other optimizer's code is not linked at all
/// and each image's flash and step cost are its own.
#[inline(always)]
pub fn run<S: LabelledSource, O: Observer>(
    model: &mut Model,
    src: &mut S,
    ws: &mut Workspace,
    cfg: &Config,
    obs: &mut O,
) -> Outcome {
    let (acc_before, bounds, from_range_test) = prepare(model, src, ws, cfg, obs);

    // 4. Fine-tuning.
    match cfg.optimizer {
        FineTuneOptimizer::ClrSgd => match lr::clr(bounds, cfg) {
            Ok(schedule) => fine_tune(model, src, ws, cfg, &ClrPlan(schedule), obs),
            Err(e) => obs.event(&Event::ConfigRejected(e)),
        },
        FineTuneOptimizer::ScheduleFreeSgd => match lr::schedule_free(bounds.1, cfg) {
            Ok((schedule, momentum)) => {
                let c = schedule.config();
                obs.event(&Event::ScheduleFree {
                    lr: c.lr,
                    warmup_steps: c.warmup_steps,
                    momentum,
                    steps: cfg.cycles.saturating_mul(2 * cfg.step_size),
                });
                let plan = SfPlan { schedule, momentum };
                fine_tune(model, src, ws, cfg, &plan, obs);
            }
            Err(e) => obs.event(&Event::ConfigRejected(e)),
        },
    }

    // 5.
    let acc_after = accuracy_event(model, ws, Phase::After, obs);
    Outcome {
        acc_before,
        acc_after,
        bounds,
        optimizer: cfg.optimizer,
        from_range_test,
        counts: ws.counts,
    }
}

/// Steps 1–3: held-out set, accuracy before, range test and bounds. Returns
/// `(acc_before, bounds, from_range_test)`.
fn prepare<S: LabelledSource, O: Observer>(
    model: &mut Model,
    src: &mut S,
    ws: &mut Workspace,
    cfg: &Config,
    obs: &mut O,
) -> (f32, (f32, f32), bool) {
    ws.rng = Rng::new(cfg.seed);
    ws.counts = FaultCounts::default();
    ws.trainer.weight_decay = cfg.weight_decay;
    ws.trainer.reset();

    // 1. Held-out set, balanced, recorded before any training.
    ws.eval_len = 0;
    let mut x = [0.0; INPUT];
    for i in 0..EVAL_LEN {
        let class = (i % CLASSES) as u8;
        let mut raw = [0i16; WINDOW];
        if acquire(
            src,
            class,
            Phase::Collect,
            &mut raw,
            &mut x,
            &mut ws.counts,
            obs,
        ) {
            ws.eval[ws.eval_len] = raw;
            ws.eval_y[ws.eval_len] = class;
            ws.eval_len += 1;
        }
    }
    let acc_before = accuracy_event(model, ws, Phase::Before, obs);

    // 2./3. Range test and bounds.
    let (bounds, from_range_test) = match lr::range_test(model, src, ws, cfg, obs) {
        Ok(Some(b)) => (b, true),
        Ok(None) => (cfg.fallback, false),
        Err(e) => {
            obs.event(&Event::ConfigRejected(e));
            (cfg.fallback, false)
        }
    };
    obs.event(&Event::Bounds {
        base_lr: bounds.0,
        max_lr: bounds.1,
        from_range_test,
    });
    (acc_before, bounds, from_range_test)
}

/// Step `k`'s scalars of the fine-tuning optimizer.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Scalars {
    /// Rate (`lr_k` for schedule-free SGD).
    lr: f32,
    /// Momentum `μ` (schedule-free SGD: the interpolation `β`).
    momentum: f32,
    /// Schedule-free SGD's averaging weight `ckp1(k)`; 0 (unused) for CLR.
    ckp1: f32,
}

/// The fine-tuning phase's optimizer with its lrate-core schedule; one
/// monomorphised [`fine_tune`] per implementation.
trait Plan {
    /// Step `step`'s scalars (the scalar schedule only).
    fn scalars(&self, step: u32, cfg: &Config) -> Scalars;
    /// The optimizer step of one batch.
    fn apply(
        &self,
        trainer: &mut HeadTrainer,
        head: &mut Head,
        h: &[[f32; HIDDEN]],
        y: &[u8],
        s: Scalars,
    ) -> crate::train::Step;
    /// Starts (or, after the head was restored from a snapshot, restarts) the
    /// optimizer state.
    fn begin(&self, head: &Head, trainer: &mut HeadTrainer);
    /// After the last step: puts the head at the point to evaluate and deploy.
    fn finish(&self, _head: &mut Head, _trainer: &HeadTrainer) {}
}

/// SGD + momentum, rate and momentum from triangular CLR (lrate-core `Cyclic`).
struct ClrPlan(Cyclic<f32>);

impl Plan for ClrPlan {
    fn scalars(&self, step: u32, cfg: &Config) -> Scalars {
        Scalars {
            lr: self.0.lr(step),
            momentum: self.0.momentum(step).unwrap_or(cfg.momentum.0),
            ckp1: 0.0,
        }
    }

    fn apply(
        &self,
        trainer: &mut HeadTrainer,
        head: &mut Head,
        h: &[[f32; HIDDEN]],
        y: &[u8],
        s: Scalars,
    ) -> crate::train::Step {
        trainer.step(head, h, y, s.lr, s.momentum)
    }

    /// Forgets the momentum.
    fn begin(&self, _head: &Head, trainer: &mut HeadTrainer) {
        trainer.reset();
    }
}

/// Schedule-free SGD: `lr_k` and `ckp1(k)` from lrate-core's `ScheduleFree`,
/// `β = momentum`, `z` in the trainer's momentum buffer.
struct SfPlan {
    schedule: ScheduleFree<f32>,
    momentum: f32,
}

impl Plan for SfPlan {
    fn scalars(&self, step: u32, _cfg: &Config) -> Scalars {
        Scalars {
            lr: self.schedule.lr(step),
            momentum: self.momentum,
            ckp1: self.schedule.ckp1(step),
        }
    }

    fn apply(
        &self,
        trainer: &mut HeadTrainer,
        head: &mut Head,
        h: &[[f32; HIDDEN]],
        y: &[u8],
        s: Scalars,
    ) -> crate::train::Step {
        trainer.sf_step(head, h, y, s.lr, s.ckp1, s.momentum)
    }

    /// `z ← y`.
    fn begin(&self, head: &Head, trainer: &mut HeadTrainer) {
        trainer.sf_begin(head);
    }

    /// Switches the head from `y` to the averaged point `x`, in place.
    fn finish(&self, head: &mut Head, trainer: &HeadTrainer) {
        trainer.sf_eval_mode(head, self.momentum);
    }
}

/// One optimizer step (`apply`) on a fresh batch; with `timed`, reports the
/// step's cost (sensor reads excluded).
fn train_step<S, O, F>(
    model: &mut Model,
    src: &mut S,
    ws: &mut Workspace,
    phase: Phase,
    apply: F,
    obs: &mut O,
    timed: bool,
) -> crate::train::Step
where
    S: LabelledSource,
    O: Observer,
    F: FnOnce(&mut HeadTrainer, &mut Head, &[[f32; HIDDEN]], &[u8]) -> crate::train::Step,
{
    let (n, feature_ticks) = fill_batch(model, src, ws, phase, obs);
    let t1 = obs.ticks();
    let step = apply(&mut ws.trainer, &mut model.head, &ws.h[..n], &ws.y[..n]);
    let t2 = obs.ticks();
    if timed {
        obs.event(&Event::StepCost {
            features: feature_ticks,
            update: t2.wrapping_sub(t1),
        });
    }
    step
}

/// Step 4: `cfg.cycles × 2 × cfg.step_size` steps of `plan`, logged per cycle
/// (for schedule-free SGD: per block of as many steps). The head is snapshotted
/// at the start of every cycle; an update that overflowed restores it and
/// restarts the optimizer state ([`Plan::begin`]: CLR forgets the momentum,
/// schedule-free SGD sets `z ← y`). The scalar schedule's cost is timed at every
/// step ([`Event::ScheduleCost`]). Ends with [`Plan::finish`]: schedule-free SGD
/// leaves the head at its evaluation point `x`.
fn fine_tune<S: LabelledSource, O: Observer, P: Plan>(
    model: &mut Model,
    src: &mut S,
    ws: &mut Workspace,
    cfg: &Config,
    plan: &P,
    obs: &mut O,
) {
    plan.begin(&model.head, &mut ws.trainer);
    let per_cycle = 2 * cfg.step_size;
    let mut step = 0u32;
    let (mut schedule_total, mut schedule_max) = (0u32, 0u32);
    for cycle in 1..=cfg.cycles {
        ws.snapshot.copy_from(&model.head);
        let (mut loss_sum, mut n_loss, mut skipped) = (0.0f32, 0u32, 0u32);
        let (mut lr_min, mut lr_max) = (f32::INFINITY, 0.0f32);
        let (mut mom_min, mut mom_max) = (f32::INFINITY, 0.0f32);
        for _ in 0..per_cycle {
            let t0 = obs.ticks();
            let sc = plan.scalars(step, cfg);
            let dt = obs.ticks().wrapping_sub(t0);
            schedule_total = schedule_total.wrapping_add(dt);
            schedule_max = schedule_max.max(dt);
            let s = train_step(
                model,
                src,
                ws,
                Phase::FineTune,
                |t, head, h, y| plan.apply(t, head, h, y, sc),
                obs,
                step == 0,
            );
            if s.updated {
                loss_sum += s.loss;
                n_loss += 1;
            } else {
                skipped += 1;
                if !model.head.all_finite() || !ws.trainer.vel.all_finite() {
                    model.head.copy_from(&ws.snapshot);
                    plan.begin(&model.head, &mut ws.trainer);
                }
            }
            lr_min = lr_min.min(sc.lr);
            lr_max = lr_max.max(sc.lr);
            mom_min = mom_min.min(sc.momentum);
            mom_max = mom_max.max(sc.momentum);
            step += 1;
        }
        obs.event(&Event::Cycle {
            cycle,
            mean_loss: if n_loss > 0 {
                loss_sum / n_loss as f32
            } else {
                f32::NAN
            },
            lr_min,
            lr_max,
            mom_min,
            mom_max,
            skipped_steps: skipped,
        });
    }
    obs.event(&Event::ScheduleCost {
        steps: step,
        total: schedule_total,
        max: schedule_max,
    });
    plan.finish(&mut model.head, &ws.trainer);
    if !model.head.all_finite() {
        // Only an overflow of z − y gets here: fall back to the last snapshot.
        model.head.copy_from(&ws.snapshot);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::sensor::{Accel, ADDRESS};
    use crate::signal::Domain;
    use crate::sim::{Faults, SimAccel};
    use std::vec::Vec;

    struct NoDelay;
    impl embedded_hal::delay::DelayNs for NoDelay {
        fn delay_ns(&mut self, _: u32) {}
    }

    #[derive(Default)]
    struct Record(Vec<Event>);
    impl Observer for Record {
        fn event(&mut self, e: &Event) {
            self.0.push(*e);
        }
    }

    /// An initialised simulated accelerometer on the shifted domain.
    fn shifted_sensor(faults: Faults, seed: u64) -> Accel<SimAccel, NoDelay> {
        let mut sensor = Accel::new(
            SimAccel::new(Domain::SHIFTED, faults, seed),
            NoDelay,
            ADDRESS,
        );
        sensor.init().unwrap();
        sensor
    }

    fn base() -> std::boxed::Box<Model> {
        let mut m = std::boxed::Box::new(Model::zeroed());
        crate::weights::load(include_bytes!("../../model/base.bin"), &mut m).unwrap();
        m
    }

    /// The whole device procedure on the host, same code and seeds as the firmware.
    #[test]
    fn fine_tuning_recovers_the_shifted_domain() {
        let mut m = base();
        let mut sensor = shifted_sensor(Faults::DEMO, crate::evaluation::TEST_SEEDS[0]);
        let mut ws = std::boxed::Box::new(Workspace::new());
        let mut rec = Record::default();
        let out = run(&mut m, &mut sensor, &mut ws, &Config::default(), &mut rec);
        assert!(out.acc_after - out.acc_before >= 0.10, "{out:?}");
        assert!(out.from_range_test, "{out:?}");
        let (lo, hi) = out.bounds;
        assert!(
            lo.is_finite() && hi.is_finite() && 0.0 < lo && lo < hi,
            "{out:?}"
        );
        assert!(
            out.counts.bus > 0 && out.counts.saturated > 0,
            "faults were injected and skipped: {out:?}"
        );
        let cycles: Vec<_> = rec
            .0
            .iter()
            .filter(|e| matches!(e, Event::Cycle { .. }))
            .collect();
        assert_eq!(cycles.len(), Config::default().cycles as usize);
        assert!(rec
            .0
            .iter()
            .any(|e| matches!(e, Event::RangeDone(s) if s.suggestion.is_some())));
        // Momentum is cycled by the schedule between the configured bounds.
        for e in &cycles {
            if let Event::Cycle {
                mom_min,
                mom_max,
                lr_min,
                lr_max,
                ..
            } = e
            {
                assert!((mom_min - 0.85).abs() < 1e-6 && (mom_max - 0.95).abs() < 1e-6);
                assert!((lr_min - lo).abs() < 1e-6 && (lr_max - hi).abs() < 1e-6);
            }
        }
    }

    /// The same procedure with schedule-free SGD in the fine-tuning phase: same
    /// range test and bounds, as many steps as CLR, rate `max_lr × sf_lr_scale`
    /// after the warmup, and the evaluated head is the averaged point `x`.
    #[test]
    fn schedule_free_fine_tuning_recovers_the_shifted_domain() {
        let mut m = base();
        let mut sensor = shifted_sensor(Faults::DEMO, crate::evaluation::TEST_SEEDS[0]);
        let mut ws = std::boxed::Box::new(Workspace::new());
        let mut rec = Record::default();
        let cfg = Config {
            optimizer: FineTuneOptimizer::ScheduleFreeSgd,
            ..Config::default()
        };
        let out = run(&mut m, &mut sensor, &mut ws, &cfg, &mut rec);
        assert_eq!(out.optimizer, FineTuneOptimizer::ScheduleFreeSgd);
        assert!(out.acc_after - out.acc_before >= 0.10, "{out:?}");
        assert!(out.from_range_test, "{out:?}");
        assert!(!rec.0.iter().any(|e| matches!(e, Event::ConfigRejected(_))));
        let max_lr = out.bounds.1;
        let steps = cfg.cycles * 2 * cfg.step_size;
        let sf_lr = max_lr * cfg.sf_lr_scale;
        assert!(rec.0.iter().any(|e| *e
            == Event::ScheduleFree {
                lr: sf_lr,
                warmup_steps: steps * cfg.sf_warmup_pct / 100,
                momentum: cfg.sf_momentum,
                steps,
            }));
        assert!(rec
            .0
            .iter()
            .any(|e| matches!(e, Event::ScheduleCost { steps: s, .. } if *s == steps)));
        let cycles: Vec<_> = rec
            .0
            .iter()
            .filter_map(|e| match *e {
                Event::Cycle {
                    lr_min,
                    lr_max,
                    mom_min,
                    mom_max,
                    mean_loss,
                    ..
                } => Some((lr_min, lr_max, mom_min, mom_max, mean_loss)),
                _ => None,
            })
            .collect();
        assert_eq!(cycles.len(), cfg.cycles as usize);
        for (i, &(lr_min, lr_max, mom_min, mom_max, loss)) in cycles.iter().enumerate() {
            // β is constant; the rate warms up in the first block, then stays at sf_lr.
            assert!(mom_min == cfg.sf_momentum && mom_max == cfg.sf_momentum);
            assert!(
                (lr_max - sf_lr).abs() <= 1e-6 * sf_lr,
                "{lr_max} vs {sf_lr}"
            );
            if i == 0 {
                assert!((lr_min - sf_lr / 24.0).abs() <= 1e-6 * sf_lr);
            } else {
                assert_eq!(lr_min, lr_max);
            }
            assert!(loss.is_finite());
        }
        // The deployed head is x: with z kept in the momentum buffer, switching
        // back to y and forward again reproduces it.
        let x = m.head.clone();
        ws.trainer.sf_train_mode(&mut m.head, cfg.sf_momentum);
        assert_ne!(m.head, x);
        ws.trainer.sf_eval_mode(&mut m.head, cfg.sf_momentum);
        for (a, b) in m.head.params().zip(x.params()) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()));
        }
    }

    /// Schedule-free settings it cannot run are refused, not a panic: the head
    /// is left as the range test left it (the base model).
    #[test]
    fn bad_schedule_free_config_is_refused() {
        for (cfg, field) in [
            (
                Config {
                    sf_momentum: 1.0,
                    ..Config::default()
                },
                "sf_momentum",
            ),
            (
                Config {
                    sf_momentum: f32::NAN,
                    ..Config::default()
                },
                "sf_momentum",
            ),
            (
                Config {
                    sf_warmup_pct: 101,
                    ..Config::default()
                },
                "sf_warmup_pct",
            ),
            (
                Config {
                    sf_lr_scale: -1.0,
                    ..Config::default()
                },
                "lr",
            ),
        ] {
            let cfg = Config {
                optimizer: FineTuneOptimizer::ScheduleFreeSgd,
                range_batches: 8,
                cycles: 1,
                step_size: 2,
                ..cfg
            };
            let mut m = base();
            let before = m.head.clone();
            let mut sensor = shifted_sensor(Faults::NONE, 3);
            let mut ws = std::boxed::Box::new(Workspace::new());
            let mut rec = Record::default();
            let out = run(&mut m, &mut sensor, &mut ws, &cfg, &mut rec);
            assert!(
                rec.0
                    .iter()
                    .any(|e| matches!(e, Event::ConfigRejected(c) if c.field == field)),
                "{field}"
            );
            assert_eq!(m.head, before);
            assert_eq!(out.acc_after, out.acc_before);
        }
    }

    /// A dead bus: every transaction fails. The procedure logs, skips and returns.
    #[test]
    fn dead_sensor_never_panics() {
        let mut m = base();
        let faults = Faults {
            bus_error_per_mille: 1000,
            shock_per_mille: 0,
        };
        let mut sensor = Accel::new(SimAccel::new(Domain::SHIFTED, faults, 1), NoDelay, ADDRESS);
        let mut ws = std::boxed::Box::new(Workspace::new());
        let mut rec = Record::default();
        let cfg = Config {
            range_batches: 4,
            cycles: 1,
            step_size: 2,
            ..Config::default()
        };
        let out = run(&mut m, &mut sensor, &mut ws, &cfg, &mut rec);
        assert_eq!(out.counts.ok, 0);
        assert!(out.counts.bus > 0);
        assert!(!out.from_range_test);
        assert_eq!(out.bounds, cfg.fallback);
        assert_eq!(out.acc_after, 0.0);
    }

    /// Bad configuration is reported, not a panic: the fallback bounds are used.
    #[test]
    fn bad_range_config_falls_back() {
        let mut m = base();
        let mut sensor = shifted_sensor(Faults::NONE, 2);
        let mut ws = std::boxed::Box::new(Workspace::new());
        let mut rec = Record::default();
        let cfg = Config {
            range_start_lr: f32::NAN,
            cycles: 1,
            ..Config::default()
        };
        let out = run(&mut m, &mut sensor, &mut ws, &cfg, &mut rec);
        assert!(rec
            .0
            .iter()
            .any(|e| matches!(e, Event::ConfigRejected(c) if c.field == "start_lr")));
        assert_eq!(out.bounds, cfg.fallback);
    }
}
