//! The places `lrate-core` drives the device: the LR range test, and the
//! fine-tuning schedule built from its result (cyclical, or schedule-free SGD's
//! warmup and averaging weights).

use super::{train_step, Config, Workspace};
use crate::events::{Event, Observer, Phase, RangeSummary};
use crate::model::Model;
use crate::sensor::LabelledSource;
use lrate_core::{
    Bounds, ConfigError, Cyclic, CyclicConfig, Problem, RangeTest, RangeTestConfig, ScheduleFree,
    ScheduleFreeConfig, Smoothing, Status, StopReason,
};

/// Curve points kept by the range test (`RangeTest<f32, 64>`: about 860 bytes).
pub const RANGE_POINTS: usize = 64;

/// Runs the range test on fresh mini-batches, restores the head and its momentum,
/// and returns `(base_lr, max_lr)` = `(max_lr / cfg.bounds_div, max_lr)` with
/// `max_lr` by `cfg.bounds_rule` (lrate-core `RangeTest::reliable_max_lr`, the
/// host's implementation), or `None` when the curve gives no reliable pick.
pub(super) fn range_test<S: LabelledSource, O: Observer>(
    model: &mut Model,
    src: &mut S,
    ws: &mut Workspace,
    cfg: &Config,
    obs: &mut O,
) -> Result<Option<(f32, f32)>, ConfigError> {
    let config = RangeTestConfig::<f32>::default()
        .range(cfg.range_start_lr, cfg.range_end_lr, cfg.range_batches)
        .smoothing(Smoothing::Debiased {
            beta: cfg.range_beta,
        });
    let mut rt = RangeTest::<f32, RANGE_POINTS>::new(config)?;
    ws.snapshot.copy_from(&model.head);
    ws.trainer.reset();
    let mut last_lr = cfg.range_start_lr;
    let mut stop = StopReason::Finished;
    while let Some(lr) = rt.next_lr() {
        let batch = rt.batches();
        let s = train_step(
            model,
            src,
            ws,
            Phase::RangeTest,
            |t, head, h, y| t.step(head, h, y, lr, cfg.range_momentum),
            obs,
            false,
        );
        obs.event(&Event::RangePoint {
            batch,
            lr,
            loss: s.loss,
        });
        last_lr = lr;
        if let Status::Done(r) = rt.record(s.loss) {
            stop = r;
            break;
        }
    }
    // The sweep was a measurement, not training: put the head back.
    model.head.copy_from(&ws.snapshot);
    ws.trainer.reset();

    // The curve's argmin, as fastai's `minimum` finds it (lrate-core `RangeTest::min_point`).
    let (best_loss, best_lr) = rt
        .min_point()
        .and_then(|p| Some((p.loss?, p.lr)))
        .unwrap_or((f32::NAN, f32::NAN));
    let suggestion = rt.reliable_max_lr(cfg.bounds_rule).ok();
    obs.event(&Event::RangeDone(RangeSummary {
        batches: rt.batches(),
        best_loss,
        best_lr,
        last_lr,
        diverged: stop != StopReason::Finished,
        rule: cfg.bounds_rule,
        suggestion,
    }));
    Ok(suggestion
        .and_then(|lr| Bounds::new(lr, cfg.bounds_div).ok())
        .map(|b| (b.min_lr, b.max_lr)))
}

/// Triangular CLR between the bounds, half-cycle `step_size`, momentum cycled
/// inversely between `cfg.momentum.0` (at `base_lr`) and `cfg.momentum.1` (at
/// `max_lr`) — lrate-core `Cyclic` (PyTorch `CyclicLR`).
pub(super) fn clr(bounds: (f32, f32), cfg: &Config) -> Result<Cyclic<f32>, ConfigError> {
    let mut c = CyclicConfig::new(bounds.0, bounds.1, cfg.step_size);
    c.max_momentum = cfg.momentum.0;
    c.base_momentum = cfg.momentum.1;
    c.build()
}

/// Schedule-free SGD's scalar schedule for the fine-tuning phase and its `β`:
/// base rate `max_lr × cfg.sf_lr_scale` (`max_lr` the range test's pick, the same
/// number CLR peaks at), linear warmup over `cfg.sf_warmup_pct` % of the
/// `cfg.cycles × 2 × cfg.step_size` steps, `schedulefree`'s `r = 0`,
/// `weight_lr_power = 2` — lrate-core `ScheduleFree` (closed-form `lr_k`, `ckp1`).
/// `β = cfg.sf_momentum` must lie in (0, 1) (`schedulefree` refuses 0 and 1;
/// the evaluation point divides by it).
pub(super) fn schedule_free(
    max_lr: f32,
    cfg: &Config,
) -> Result<(ScheduleFree<f32>, f32), ConfigError> {
    let beta = cfg.sf_momentum;
    if !beta.is_finite() {
        return Err(ConfigError::new("sf_momentum", Problem::NotFinite));
    }
    if beta <= 0.0 || beta >= 1.0 {
        return Err(ConfigError::new(
            "sf_momentum",
            Problem::MustBe("in (0, 1)"),
        ));
    }
    if cfg.sf_warmup_pct > 100 {
        return Err(ConfigError::new("sf_warmup_pct", Problem::MustBe("≤ 100")));
    }
    let steps = u64::from(cfg.cycles) * 2 * u64::from(cfg.step_size);
    let warmup = (steps * u64::from(cfg.sf_warmup_pct) / 100).min(u64::from(u32::MAX)) as u32;
    let schedule = ScheduleFreeConfig::new(max_lr * cfg.sf_lr_scale, warmup).build()?;
    Ok((schedule, beta))
}
