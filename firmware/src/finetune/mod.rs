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
//!    [`Config::bounds_div`] (4 by default; lrate-core `Bounds`, the CLR paper's
//!    "max/3–max/4 … or 1/10" rule, so 3 to 10 are accepted); when the curve has no
//!    usable suggestion, [`Config::fallback`].
//! 4. Fine-tune the head with SGD + momentum under triangular CLR, momentum cycled
//!    inversely (lrate-core [`Cyclic`](lrate_core::Cyclic)), for [`Config::cycles`] cycles.
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
use lrate_core::{BoundsRule, Schedule};

mod lr;

/// Mini-batch size on the device.
pub const BATCH: usize = 16;
/// Held-out windows per class.
pub const EVAL_PER_CLASS: usize = 10;
/// Held-out set size.
pub const EVAL_LEN: usize = EVAL_PER_CLASS * CLASSES;
/// Attempts to fill one sample slot before giving up on it.
pub const MAX_ATTEMPTS: u32 = 8;

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
    /// L2 weight decay.
    pub weight_decay: f32,
}

impl Default for Config {
    /// The firmware's settings: sweep 1e-4 → 10 over 40 batches; bounds
    /// `(max_lr / 4, max_lr)` with `max_lr` by lrate-core's default rule; fallback bounds 0.01 – 0.1 (a safe rate for softmax
    /// regression on unit-scale features); 6 cycles of 2 × 20 steps; momentum 0.95 ↔ 0.85 (Smith 2018).
    fn default() -> Self {
        Self {
            seed: 0x5EED,
            range_start_lr: 1e-4,
            range_end_lr: 10.0,
            range_batches: 40,
            range_momentum: 0.9,
            range_beta: 0.9,
            bounds_rule: BoundsRule::DEFAULT,
            bounds_div: 4.0,
            fallback: (0.01, 0.1),
            step_size: 20,
            cycles: 6,
            momentum: (0.95, 0.85),
            weight_decay: 1e-4,
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
    /// CLR bounds `(base_lr, max_lr)`.
    pub bounds: (f32, f32),
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
pub fn run<S: LabelledSource, O: Observer>(
    model: &mut Model,
    src: &mut S,
    ws: &mut Workspace,
    cfg: &Config,
    obs: &mut O,
) -> Outcome {
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

    // 4. CLR fine-tuning.
    match lr::clr(bounds, cfg) {
        Ok(schedule) => fine_tune(model, src, ws, cfg, &schedule, obs),
        Err(e) => obs.event(&Event::ConfigRejected(e)),
    }

    // 5.
    let acc_after = accuracy_event(model, ws, Phase::After, obs);
    Outcome {
        acc_before,
        acc_after,
        bounds,
        from_range_test,
        counts: ws.counts,
    }
}

/// One optimizer step on a fresh batch at `(lr, momentum)`; with `timed`, reports
/// the step's cost (sensor reads excluded).
#[allow(clippy::too_many_arguments)]
fn train_step<S: LabelledSource, O: Observer>(
    model: &mut Model,
    src: &mut S,
    ws: &mut Workspace,
    phase: Phase,
    lr: f32,
    momentum: f32,
    obs: &mut O,
    timed: bool,
) -> crate::train::Step {
    let (n, feature_ticks) = fill_batch(model, src, ws, phase, obs);
    let t1 = obs.ticks();
    let step = ws
        .trainer
        .step(&mut model.head, &ws.h[..n], &ws.y[..n], lr, momentum);
    let t2 = obs.ticks();
    if timed {
        obs.event(&Event::StepCost {
            features: feature_ticks,
            update: t2.wrapping_sub(t1),
        });
    }
    step
}

fn fine_tune<S: LabelledSource, O: Observer, Sch: Schedule<f32>>(
    model: &mut Model,
    src: &mut S,
    ws: &mut Workspace,
    cfg: &Config,
    schedule: &Sch,
    obs: &mut O,
) {
    ws.trainer.reset();
    let per_cycle = 2 * cfg.step_size;
    let mut step = 0u32;
    for cycle in 1..=cfg.cycles {
        ws.snapshot.copy_from(&model.head);
        let (mut loss_sum, mut n_loss, mut skipped) = (0.0f32, 0u32, 0u32);
        let (mut lr_min, mut lr_max) = (f32::INFINITY, 0.0f32);
        let (mut mom_min, mut mom_max) = (f32::INFINITY, 0.0f32);
        for _ in 0..per_cycle {
            let lr = schedule.lr(step);
            let mom = schedule.momentum(step).unwrap_or(cfg.momentum.0);
            let s = train_step(model, src, ws, Phase::FineTune, lr, mom, obs, step == 0);
            if s.updated {
                loss_sum += s.loss;
                n_loss += 1;
            } else {
                skipped += 1;
                if !model.head.all_finite() {
                    model.head.copy_from(&ws.snapshot);
                    ws.trainer.reset();
                }
            }
            lr_min = lr_min.min(lr);
            lr_max = lr_max.max(lr);
            mom_min = mom_min.min(mom);
            mom_max = mom_max.max(mom);
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

    fn base() -> std::boxed::Box<Model> {
        let mut m = std::boxed::Box::new(Model::zeroed());
        crate::weights::load(include_bytes!("../../model/base.bin"), &mut m).unwrap();
        m
    }

    /// The whole device procedure on the host, same code and seeds as the firmware.
    #[test]
    fn fine_tuning_recovers_the_shifted_domain() {
        let mut m = base();
        let mut sensor = Accel::new(
            SimAccel::new(Domain::SHIFTED, Faults::DEMO, 0xD15EA5E),
            NoDelay,
            ADDRESS,
        );
        sensor.init().unwrap();
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
        let mut sensor = Accel::new(
            SimAccel::new(Domain::SHIFTED, Faults::NONE, 2),
            NoDelay,
            ADDRESS,
        );
        sensor.init().unwrap();
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
