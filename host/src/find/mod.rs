//! `lrate find`: the LR range test (Smith 2017, §3.3; fastai `lr_find`), averaged over
//! `--repeats` sweeps by lrate-core's [`lrate_core::AveragedRangeTest`] on the real model
//! and data, optionally checked by short trials (`--verify`). The model's initial weights
//! (and batch-norm statistics) are restored afterwards; no optimizer or data order of the
//! run is touched.

mod outcome;
mod output;
mod sweeps;
mod verify;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};

use crate::cli::FindArgs;
use crate::config::{self, CommonConfig, FileConfig};
use crate::data::{batch, Split};
use crate::device::{with_device, OnDevice};
use crate::nn::{Model, NnDevice};

pub use outcome::{MinPoint, Outcome, Pick, RuleReport, SweepReport, DISAGREEMENT};
pub use output::{csv, write as write_outputs};
pub use sweeps::Averaged;
pub use verify::{Trial, Verified};

/// Capacity of each recorded curve: no decimation up to this many batches.
pub const CURVE_CAPACITY: usize = 1024;

/// What to do about `--verify`'s budget: the images one full run trains on.
#[derive(Clone, Copy, Debug)]
pub struct RunSize {
    /// Epochs of the run.
    pub epochs: u32,
}

impl RunSize {
    /// Images trained by the whole run on `split` with `c`'s batch size.
    pub fn images(&self, split: &Split, c: &CommonConfig) -> u64 {
        let spe = batch::steps_per_epoch(split.train.len(), c.batch) as u64;
        u64::from(self.epochs) * spe * c.batch as u64
    }
}

/// Runs `f` on `model` and puts the model's state back afterwards, also when `f` fails;
/// `what` names the measurement in the error of a failed restore.
fn restoring<D: NnDevice, T>(
    model: &mut Model<D>,
    what: &str,
    f: impl FnOnce(&mut Model<D>, &[crate::nn::NamedTensor]) -> Result<T>,
) -> Result<T> {
    use anyhow::Context as _;
    let initial = model.state();
    let out = f(model, &initial);
    model
        .load_state(&initial)
        .with_context(|| format!("cannot restore the model's initial weights after {what}"))?;
    out
}

/// Runs the (averaged) range test on `model`, then `--verify`'s trials when asked for and
/// when there is a pick, and restores the model's initial state.
pub fn range_test<D: NnDevice>(
    model: &mut Model<D>,
    dev: &D,
    split: &Split,
    c: &CommonConfig,
    run: RunSize,
    hide: bool,
) -> Result<Outcome> {
    let t0 = Instant::now();
    let avg = sweeps::run(model, dev, split, c, hide)?;
    let o = Outcome::new(&avg, &c.find, t0.elapsed().as_secs_f64());
    let o = match (c.find.verify, o.pick) {
        (true, Some(p)) => {
            let v = verify::run(model, split, c, p.mean_curve, run.images(split, c), hide)?;
            o.verified(v)
        }
        _ => o,
    };
    Ok(Outcome {
        seconds: t0.elapsed().as_secs_f64(),
        ..o
    })
}

fn range(p: &Pick) -> String {
    match (p.low, p.high) {
        (Some(lo), Some(hi)) if p.sweeps > 1 => {
            format!("({lo:.3e}–{hi:.3e} over {} sweeps)", p.sweeps)
        }
        _ if p.sweeps > 1 => format!("(not every one of the {} sweeps gave a pick)", p.sweeps),
        _ => "(one sweep, so its spread is unknown: --repeats 3 measures it)".into(),
    }
}

/// Prints the sweeps, every rule's pick with its spread, and the pick used to stderr.
pub fn print_report(o: &Outcome, dir: &Path) {
    let stops: Vec<&str> = o.sweeps.iter().map(|s| s.stop_reason.as_str()).collect();
    eprintln!(
        "range test: {} sweep{} (vary {}), {} batches in all, stopped: {}",
        o.repeats,
        if o.repeats == 1 { "" } else { "s" },
        o.vary.name(),
        o.batches,
        stops.join(", ")
    );
    let e = |v: Option<f32>| v.map_or("-".to_string(), |v| format!("{v:.3e}"));
    eprintln!(
        "  {:<14} {:>10}  {:>10}  range over sweeps",
        "rule", "mean curve", "median"
    );
    for r in &o.rules {
        eprintln!(
            "  {:<14} {:>10}  {:>10}  {} – {}",
            r.rule.to_string(),
            e(r.mean_curve),
            e(r.median),
            e(r.low),
            e(r.high)
        );
    }
    if let Some(v) = &o.verify {
        for t in &v.trials {
            eprintln!(
                "  verify: max_lr {:.3e}: held-back accuracy {:.2}%, final train loss {:.4}",
                t.max_lr,
                t.val_acc * 100.0,
                t.train_loss
            );
        }
        eprintln!(
            "  verify: {} steps per trial on {} images, scored on {} held back ({:.1}% of one run)",
            v.steps,
            v.train_images,
            v.val_images,
            v.share_of_run * 100.0
        );
    }
    match (&o.pick, o.bounds) {
        (Some(p), Some(b)) => {
            eprintln!(
                "max_lr {:.3e} {} by {} on the mean curve{}; min_lr {:.3e} (max/4)",
                p.mean_curve,
                range(p),
                o.bounds_rule,
                if p.source == "verify" {
                    format!(", then --verify chose {:.3e}", p.max_lr)
                } else {
                    String::new()
                },
                b.min_lr
            );
            if p.disagrees {
                let by = match (p.low, p.high) {
                    (Some(lo), Some(hi)) => format!("by {:.1}× ", hi / lo),
                    _ => String::new(),
                };
                eprintln!(
                    "warning: the sweeps disagree {by}on max_lr (more than {DISAGREEMENT}×); the pick \
                     used is {} on their mean curve, {:.3e}; more sweeps (--repeats) narrow it",
                    o.bounds_rule, p.mean_curve
                );
            }
        }
        _ => eprintln!(
            "recommended bounds: none ({})",
            o.unreliable.as_deref().unwrap_or("no pick")
        ),
    }
    eprintln!(
        "wrote {}/lr_find.csv, lr_find.json, lr_find.svg, lr_find.png",
        dir.display()
    );
}

/// `lrate find`'s line on stdout: the pick and where the rest is (`lr_find.json`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// The bounds.
    pub bounds: Option<lrate_core::Bounds<f32>>,
    /// The rule.
    pub bounds_rule: lrate_core::BoundsRule,
    /// The pick with its spread.
    pub pick: Option<Pick>,
    /// Sweeps.
    pub repeats: u32,
    /// Batches over all sweeps.
    pub batches: u32,
    /// Wall seconds.
    pub seconds: f64,
    /// The output directory.
    pub out: PathBuf,
}

impl Summary {
    /// The summary of `o`, written to `dir`.
    pub fn new(o: &Outcome, dir: &Path) -> Self {
        Summary {
            bounds: o.bounds,
            bounds_rule: o.bounds_rule,
            pick: o.pick,
            repeats: o.repeats,
            batches: o.batches,
            seconds: o.seconds,
            out: dir.to_path_buf(),
        }
    }
}

/// `lrate find` as a job for [`with_device`].
struct FindJob {
    c: CommonConfig,
    run: RunSize,
    hide: bool,
}

/// The hint of a range test without a reliable pick.
pub const HINT: &str = "look at lr_find.svg; widen --start-lr/--end-lr, run more batches \
                        (--num-it) or sweeps (--repeats), or give --max-lr yourself";

impl OnDevice for FindJob {
    type Output = (Outcome, PathBuf);
    fn run<D: NnDevice>(self, dev: D) -> Result<Self::Output> {
        let c = &self.c;
        let split = c.load_data()?;
        let mut model = c.build_model(&split, &dev)?;
        let o = range_test(&mut model, &dev, &split, c, self.run, self.hide)?;
        write_outputs(&c.out, &o)?;
        print_report(&o, &c.out);
        if let Some(msg) = o.no_suggestion(HINT) {
            bail!("{msg}");
        }
        Ok((o, c.out.clone()))
    }
}

/// Runs `lrate find`; returns the outcome and the output directory. A range test without a
/// reliable pick writes its outputs, then fails with the reason.
pub fn run(args: &FindArgs) -> Result<(Outcome, PathBuf)> {
    let f = FileConfig::read_opt(args.common.config.as_deref())?;
    let c = config::resolve_common(&args.common, &f)?;
    let epochs = args
        .epochs
        .or(f.run.epochs)
        .unwrap_or(config::default_epochs(&c.data));
    if epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let _lock = crate::outdir::lock(&c.out)?;
    crate::outdir::check_fresh(&c.out, args.common.overwrite, "find")?;
    if args.common.overwrite {
        crate::outdir::clear(&c.out)?;
    }
    let job = FindJob {
        hide: args.common.no_progress,
        run: RunSize { epochs },
        c,
    };
    with_device(job.c.device, job)
}

#[cfg(test)]
mod tests;
