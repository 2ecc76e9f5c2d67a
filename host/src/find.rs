//! `lrate find`: the LR range test (Smith 2017, §3.3; fastai `lr_find`) run by
//! `lrate-core`'s [`RangeTest`] on the real model and data. The model's initial
//! weights (and batch-norm statistics) are restored afterwards.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use lrate_core::{Bounds, CurvePoint, RangeTest, RangeTestConfig, Status, StopReason, Suggestions};
use serde::Serialize;

use crate::checkpoint::write_atomic;
use crate::cli::FindArgs;
use crate::config::{self, BoundsRule, CommonConfig, FileConfig};
use crate::data::{batch, Split};
use crate::device::{with_device, OnDevice};
use crate::nn::{Model, NnDevice, Optimizer};
use crate::plot;
use crate::progress;

/// A sweep whose smoothed loss fell by less than this fraction gets a warning.
pub const MIN_DROP: f32 = 0.05;

/// Capacity of the recorded curve: no decimation up to this many batches.
pub const CURVE_CAPACITY: usize = 1024;
/// Everything the range test produced.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The recorded curve (written to `lr_find.csv`, not to the JSON).
    #[serde(skip)]
    pub rows: Vec<CurvePoint<f32>>,
    /// Why it stopped.
    pub stop_reason: String,
    /// Batches run.
    pub batches: u32,
    /// The suggestions.
    pub suggestions: Suggestions<f32>,
    /// The bounds: max_lr from the chosen suggestion, min_lr a quarter of it
    /// (Smith 2017, §3.3: the lower bound 1/3–1/4 of the upper one).
    pub bounds: Option<Bounds<f32>>,
    /// Rule used for the bounds.
    pub bounds_rule: BoundsRule,
    /// Relative drop of the smoothed loss from its first to its lowest value;
    /// below [`MIN_DROP`] the curve carries little information.
    pub loss_drop: f32,
    /// Configuration.
    pub config: RangeTestConfig<f32>,
}

fn core_err(e: lrate_core::ConfigError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Runs the range test on `model`, then restores its initial state.
pub fn range_test<D: NnDevice>(
    model: &mut Model<D>,
    split: &Split,
    c: &CommonConfig,
    hide: bool,
) -> Result<Outcome> {
    let mut rt: RangeTest<f32, CURVE_CAPACITY> =
        RangeTest::new(c.find.range_test()).map_err(core_err)?;
    let initial = model.state();
    let mut opt = Optimizer::new(c.optimizer.kind);
    let tr = &split.train;
    let spe = batch::steps_per_epoch(tr.len(), c.batch);
    let pb = progress::bar(u64::from(c.find.num_it), "lr find".into(), hide);
    // The sweep reads the data in its own seeded order (pass u32::MAX - k), so it
    // does not disturb the training order.
    let mut order = Vec::new();
    let mut i = 0usize;
    let mut reason = StopReason::Finished;
    while let Some(lr) = rt.next_lr() {
        let (pass, b) = (i / spe, i % spe);
        if b == 0 {
            order = batch::epoch_order(tr.len(), c.seed ^ 0x006c_725f_6669_6e64, pass);
        }
        let bt = batch::train_batch(tr, &order, c.batch, b, split.augment, c.seed ^ 0x6c72, pass);
        let loss = model
            .try_train_step(&bt.x, &bt.labels, &mut opt, lr, c.optimizer.momentum)
            .context("range test step")?;
        pb.inc(1);
        pb.set_message(format!("lr {lr:.2e} loss {loss:.4}"));
        i += 1;
        if let Status::Done(r) = rt.record(loss) {
            reason = r;
            break;
        }
    }
    pb.finish_and_clear();
    model
        .load_state(&initial)
        .context("cannot restore the model's initial weights after the range test")?;
    let rows: Vec<CurvePoint<f32>> = rt.curve().iter().collect();
    let rule = c.find.rule;
    let bounds = rt.bounds_by(rule, Bounds::<f32>::DEFAULT_DIV as f32).ok();
    let smoothed: Vec<f32> = rows.iter().filter_map(|r| r.loss).collect();
    let loss_drop = match (smoothed.first(), smoothed.iter().copied().reduce(f32::min)) {
        (Some(&first), Some(best)) if first > 0.0 => (first - best) / first,
        _ => 0.0,
    };
    Ok(Outcome {
        loss_drop,
        rows,
        stop_reason: format!("{reason:?}"),
        batches: rt.batches(),
        suggestions: rt.suggestions(),
        bounds,
        bounds_rule: rule,
        config: *rt.config(),
    })
}

fn named(s: &Suggestions<f32>) -> Vec<(&'static str, Option<f32>)> {
    vec![
        ("valley", s.valley),
        ("minimum", s.minimum),
        ("steep", s.steep),
        ("slide", s.slide),
        ("steepest", s.steepest),
    ]
}

/// Writes `lr_find.csv`, `lr_find.json` and `lr_find.svg` into `dir`.
pub fn write_outputs(dir: &Path, o: &Outcome) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
    let mut csv = String::from("lr,loss,smoothed_loss\n");
    let opt = |v: Option<f32>| v.map_or(String::new(), |v| v.to_string());
    for r in &o.rows {
        let _ = writeln!(csv, "{:e},{},{}", r.lr, opt(r.raw_loss), opt(r.loss));
    }
    write_atomic(&dir.join("lr_find.csv"), csv.as_bytes())?;
    write_atomic(
        &dir.join("lr_find.json"),
        serde_json::to_string_pretty(o)?.as_bytes(),
    )?;
    // Markers sit on the smoothed curve at the suggested lr (nearest recorded point).
    let lrs: Vec<f64> = o.rows.iter().map(|r| f64::from(r.lr)).collect();
    let nan = |v: Option<f32>| v.map_or(f64::NAN, f64::from);
    let raw: Vec<f64> = o.rows.iter().map(|r| nan(r.raw_loss)).collect();
    let sm: Vec<f64> = o.rows.iter().map(|r| nan(r.loss)).collect();
    let chosen = o
        .bounds
        .map(|b| (format!("max_lr by {}", o.bounds_rule), Some(b.max_lr)));
    let markers: Vec<plot::Marker> = chosen
        .into_iter()
        .chain(
            named(&o.suggestions)
                .into_iter()
                .map(|(n, v)| (n.to_string(), v)),
        )
        .filter_map(|(n, v)| {
            let lr = f64::from(v?);
            let near = lrs
                .iter()
                .zip(&sm)
                .filter(|(_, s)| s.is_finite())
                .min_by(|a, b| {
                    (a.0.ln() - lr.ln())
                        .abs()
                        .total_cmp(&(b.0.ln() - lr.ln()).abs())
                })?;
            Some(plot::Marker {
                name: format!("{n} {lr:.2e}"),
                lr,
                loss: *near.1,
            })
        })
        .collect();
    plot::lr_find(
        &dir.join("lr_find.svg"),
        &lrs,
        &raw,
        &sm,
        &markers,
        o.bounds.map(|b| (f64::from(b.min_lr), f64::from(b.max_lr))),
    )
}

/// Prints the suggestions and bounds to stderr.
pub fn print_report(o: &Outcome, dir: &Path) {
    eprintln!(
        "range test: {} batches, stopped: {}",
        o.batches, o.stop_reason
    );
    for (n, v) in named(&o.suggestions) {
        match v {
            Some(v) => eprintln!("  {n:<9} {v:.3e}"),
            None => eprintln!("  {n:<9} (none: curve too short)"),
        }
    }
    match o.bounds {
        Some(b) => eprintln!(
            "recommended bounds: min_lr {:.3e}, max_lr {:.3e} (max by rule {}, min = max/4)",
            b.min_lr, b.max_lr, o.bounds_rule
        ),
        None => eprintln!("recommended bounds: none (no suggestion on this curve)"),
    }
    if o.loss_drop < MIN_DROP {
        eprintln!(
            "warning: the smoothed loss fell by only {:.1}% during the sweep, so the suggestions \
             are mostly noise; use more batches (--num-it), a larger --start-lr, or give --max-lr",
            o.loss_drop * 100.0
        );
    }
    eprintln!(
        "wrote {}/lr_find.csv, lr_find.json, lr_find.svg, lr_find.png",
        dir.display()
    );
}

/// `lrate find` as a job for [`with_device`].
struct FindJob {
    c: CommonConfig,
    hide: bool,
}

impl OnDevice for FindJob {
    type Output = (Outcome, PathBuf);
    fn run<D: NnDevice>(self, dev: D) -> Result<Self::Output> {
        let c = &self.c;
        let split = c.load_data()?;
        let mut model = c.build_model(&split, &dev)?;
        let o = range_test(&mut model, &split, c, self.hide)?;
        write_outputs(&c.out, &o)?;
        print_report(&o, &c.out);
        Ok((o, c.out.clone()))
    }
}

/// Runs `lrate find`; returns the outcome and the output directory.
pub fn run(args: &FindArgs) -> Result<(Outcome, PathBuf)> {
    let f = FileConfig::read_opt(args.common.config.as_deref())?;
    let c = config::resolve_common(&args.common, &f)?;
    let job = FindJob {
        hide: args.common.no_progress,
        c,
    };
    with_device(job.c.device, job)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{self, DataSpec, LoadOptions};

    #[test]
    fn range_test_restores_the_initial_weights_and_finds_bounds() {
        let split = data::load(
            &DataSpec::Synthetic,
            &LoadOptions {
                limit_train: Some(256),
                limit_test: Some(50),
                ..LoadOptions::default()
            },
        )
        .unwrap();
        let f = config::FileConfig::default();
        let args = crate::cli::CommonArgs {
            model: Some("mlp".into()),
            batch: Some(32),
            num_it: Some(40),
            start_lr: Some(1e-4),
            ..Default::default()
        };
        let c = config::resolve_common(&args, &f).unwrap();
        let tr = &split.train;
        let dev = crate::nn::Cpu::default();
        let mut model = Model::try_new(c.model, (tr.c, tr.h, tr.w), 10, 0, &dev).unwrap();
        let before = model.state();
        let o = range_test(&mut model, &split, &c, true).unwrap();
        assert_eq!(model.state(), before);
        assert_eq!(o.rows.len() as u32, o.batches);
        assert!(o.rows.windows(2).all(|w| w[1].lr > w[0].lr));
        let b = o.bounds.expect("bounds");
        assert!((b.max_lr / b.min_lr - 4.0).abs() < 1e-4);
        let d = tempfile::tempdir().unwrap();
        write_outputs(d.path(), &o).unwrap();
        let csv = std::fs::read_to_string(d.path().join("lr_find.csv")).unwrap();
        assert_eq!(csv.lines().count(), o.rows.len() + 1);
        assert!(config::parse_rule("bogus").is_err());
    }
}
