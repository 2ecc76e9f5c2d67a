//! `lrate train`: the training loop with schedule-driven lr and momentum,
//! per-epoch evaluation, metrics, plots, checkpoints and exact resume.
//!
//! [`run`] resolves the options (or reads the checkpoint for `--resume`) and hands the run to
//! [`with_device`]; [`start`] builds a fresh run (with the range test for `--max-lr auto`),
//! [`train_epoch`] runs one epoch of [`train_step`]s, and [`resume::save`] writes a checkpoint
//! after each.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use lrate_core::Schedule;
use serde::Serialize;

use crate::checkpoint::Checkpoint;
use crate::cli::TrainArgs;
use crate::config::{self, MaxLr, TrainOptions};
use crate::data::{batch, Split};
use crate::device::{with_device, Device, OnDevice};
use crate::eval_point::{self, BnBatches};
use crate::find;
use crate::interrupt;
use crate::meta::{self, Meta};
use crate::metrics::{EpochRow, Metrics, StepRow};
use crate::nn::{Model, NnDevice, Optimizer};
use crate::outdir;
use crate::plot;
use crate::progress;
use crate::resume::{self, RunState, Saved};
use crate::sched::{self, Peak};

pub use crate::resume::{CHECKPOINT, METRICS};
pub use crate::stop::Stop;

/// File name of the training plot (a PNG of the same name is written beside it).
pub const PLOT: &str = "training.svg";
/// File name of the final weights, written when a run finishes: the model tensors its last
/// evaluation used (for schedule-free optimizers the evaluation point `x` with the BN
/// statistics recomputed there; else the trained weights), in the checkpoint format
/// without optimizer state.
pub const WEIGHTS: &str = "weights.safetensors";
/// Batch size used for evaluation.
pub const EVAL_BATCH: usize = 256;

/// The result printed as the final JSON line.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Final test accuracy.
    pub test_acc: f32,
    /// Epochs trained.
    pub epochs: u32,
    /// Wall seconds (range test, training and evaluation).
    pub seconds: f64,
    /// Training throughput (images per second of training steps).
    pub img_per_s: f64,
    /// Peak learning rate.
    pub max_lr: f32,
    /// Lower bound used (CLR base lr), if any.
    pub min_lr: Option<f32>,
    /// Schedule.
    pub schedule: String,
    /// Model.
    pub model: String,
    /// Data.
    pub data: String,
    /// Optimizer steps.
    pub steps: u32,
    /// Mean training loss of the last epoch.
    pub train_loss: f32,
    /// Output directory.
    pub out: PathBuf,
}

/// The momentum (SGD) or β₁ of the last step taken: the β of a schedule-free evaluation point.
pub fn eval_beta<D: NnDevice>(st: &RunState<D>) -> f32 {
    st.sched
        .momentum(st.meta.step.saturating_sub(1))
        .unwrap_or(st.meta.common.optimizer.momentum)
}

/// Test accuracy in `[0, 1]` of the model as it is (see [`evaluate_run`] for a run's
/// evaluation, which uses the optimizer's evaluation point).
pub fn evaluate<D: NnDevice>(model: &Model<D>, split: &Split) -> Result<f32> {
    let t = &split.test;
    let mut ok = 0;
    // A chunk of images at a time (pixels kept as bytes are expanded per chunk only).
    let idx: Vec<usize> = (0..t.len()).collect();
    for chunk in idx.chunks(8 * EVAL_BATCH) {
        let b = batch::gather(t, chunk);
        let pred = model.try_predict(&b.x, EVAL_BATCH).context("evaluation")?;
        ok += pred.iter().zip(&b.labels).filter(|(p, l)| p == l).count();
    }
    Ok(ok as f32 / split.test.len().max(1) as f32)
}

/// Test accuracy of the run at its evaluation point (schedule-free: `x`, with the BN statistics
/// recomputed there from the first batches of `order`, epoch `epoch`'s; see [`eval_point`]),
/// and, when `keep` is set, the model tensors it used. The run itself is left unchanged.
pub fn evaluate_run<D: NnDevice>(
    st: &mut RunState<D>,
    split: &Split,
    order: &[usize],
    epoch: u32,
    keep: bool,
) -> Result<(f32, Option<Vec<crate::nn::NamedTensor>>)> {
    let beta = eval_beta(st);
    let c = &st.meta.common;
    let bn = BnBatches {
        ds: &split.train,
        order,
        batch: c.batch,
        augment: split.augment,
        seed: c.seed,
        epoch: epoch as usize,
    };
    eval_point::at_eval_point(&mut st.model, &st.opt, beta, &bn, |m| {
        crate::pause::at("eval", &format!("epoch {}", epoch + 1));
        Ok((evaluate(m, split)?, keep.then(|| m.state())))
    })
}

/// How a run starts: from resolved options, or from a checkpoint.
enum Start {
    Fresh(Box<TrainOptions>),
    Resume(Box<Saved>),
}

/// `lrate train` as a job for [`with_device`].
struct TrainJob<'a> {
    args: &'a TrainArgs,
    start: Start,
}

impl OnDevice for TrainJob<'_> {
    type Output = Summary;
    fn run<D: NnDevice>(self, dev: D) -> Result<Summary> {
        run_on(&dev, self.args, self.start)
    }
}

/// Runs `lrate train`; returns the summary on success.
///
/// With `--resume` the configuration, including the device, comes from the checkpoint
/// (`--device` overrides the device).
pub fn run(args: &TrainArgs) -> Result<Summary> {
    let (device, start, lock) = if let Some(from) = &args.from {
        let ignored = resume::ignored_flags(args);
        if !ignored.is_empty() {
            eprintln!(
                "lrate: warning: --from continues that run's configuration with a cooldown; ignoring {}",
                ignored.join(", ")
            );
        }
        // The branch's directory is claimed before the branch writes into it.
        let lock = match &args.common.out {
            Some(out) => Some(outdir::lock(out)?),
            None => None,
        };
        let saved = crate::cooldown::branch(args, from)?;
        let device = resumed_device(args, saved.meta.common.device, from)?;
        (device, Start::Resume(Box::new(saved)), lock)
    } else if args.resume {
        let ignored = resume::ignored_flags(args);
        if !ignored.is_empty() {
            eprintln!(
                "lrate: warning: --resume continues the run as it was configured; ignoring {}",
                ignored.join(", ")
            );
        }
        let dir = resume::dir(args)?;
        let lock = if dir.is_dir() {
            Some(outdir::lock(&dir)?)
        } else {
            None // Saved::read says there is no checkpoint
        };
        let saved = Saved::read(&dir)?;
        let device = resumed_device(args, saved.meta.common.device, &dir)?;
        (device, Start::Resume(Box::new(saved)), lock)
    } else {
        let o = config::resolve_train(args)?;
        let out = &o.common.out;
        let lock = outdir::lock(out)?;
        outdir::check_fresh(out, args.common.overwrite, "train")?;
        if args.common.overwrite {
            outdir::clear(out)?;
        }
        if args.common.out.is_none() && out.as_path() != Path::new(config::DEFAULT_OUT) {
            eprintln!(
                "lrate: {} holds an earlier run; this one goes to {}",
                config::DEFAULT_OUT,
                out.display()
            );
        }
        (o.common.device, Start::Fresh(Box::new(o)), Some(lock))
    };
    // Held until the run ends: no other process writes this directory meanwhile.
    let _lock = lock;
    with_device(device, TrainJob { args, start })
}

/// The device a continued run (`--resume`, `--from`) uses: `--device` if given, else the
/// one its checkpoint in `dir` names. A checkpoint that names a device this build cannot
/// use is an error that says how to go on, never a silent switch to another device.
fn resumed_device(args: &TrainArgs, saved: Device, dir: &Path) -> Result<Device> {
    if let Some(d) = &args.common.device {
        return d.parse();
    }
    if saved == Device::Cuda && !cfg!(feature = "cuda") {
        anyhow::bail!(
            "{}: the checkpoint was written on device cuda, and this build has no `cuda` \
             feature: rebuild with `--features cuda`, or continue on the CPU with --device cpu",
            dir.display()
        );
    }
    Ok(saved)
}

/// The hint of `--max-lr auto` without a reliable pick.
const AUTO_HINT: &str = "look at lr_find.svg, then give --max-lr yourself (e.g. the lr where \
                         the smoothed loss is lowest), or change --start-lr/--end-lr/--num-it/--repeats";

/// Builds a fresh run: the model from the seed, the peak lr from `--max-lr` (running the
/// range test for `auto`), and the schedule over `epochs × steps per epoch`.
pub fn start<D: NnDevice>(
    dev: &D,
    o: TrainOptions,
    split: &Split,
    hide: bool,
    t0: Instant,
) -> Result<RunState<D>> {
    let c = &o.common;
    let tr = &split.train;
    let mut model = c.build_model(split, dev)?;
    let steps_per_epoch = batch::steps_per_epoch(tr.len(), c.batch) as u32;
    let total = steps_per_epoch
        .checked_mul(o.epochs)
        .context("epochs × steps per epoch overflows")?;
    let peak = match o.max_lr {
        MaxLr::Fixed(max_lr) => Some(Peak {
            max_lr,
            min_lr: None,
        }),
        MaxLr::FromSchedule => None,
        MaxLr::Auto => {
            eprintln!(
                "lrate: --max-lr auto: running the range test ({} × {} batches, lr {:.0e} -> {:.0e})",
                c.find.repeats, c.find.num_it, c.find.start_lr, c.find.end_lr
            );
            let run = find::RunSize { epochs: o.epochs };
            let outcome = find::range_test(&mut model, dev, split, c, run, hide)?;
            find::write_outputs(&c.out, &outcome)?;
            find::print_report(&outcome, &c.out);
            if let Some(msg) = outcome.no_suggestion(AUTO_HINT) {
                bail!("--max-lr auto: {msg}");
            }
            let b = outcome
                .bounds
                .context("--max-lr auto: the range test gave no bounds")?;
            Some(Peak::from(b))
        }
    };
    let (name, sched) = sched::for_training(&o.schedule, peak, total, steps_per_epoch)?;
    let kind = c.optimizer.kind;
    if kind.is_schedule_free() && !name.eq_ignore_ascii_case("constant") {
        eprintln!(
            "lrate: note: {} warms up and averages on its own; the `{name}` schedule scales its \
             base lr on top (schedule-free runs normally use the `constant` schedule)",
            kind.name()
        );
    }
    // A `[schedule]` table keeps its own learning rates: its peak is read off the schedule.
    let max_lr = peak.map_or_else(|| sched.peak(total), |p| p.max_lr);
    let meta = Meta {
        version: meta::VERSION,
        step: 0,
        epoch: 0,
        batch_in_epoch: 0,
        common: o.common.clone(),
        epochs: o.epochs,
        steps_per_epoch,
        max_lr,
        min_lr: peak.and_then(|p| p.min_lr),
        schedule_name: name,
        schedule: sched.to_json()?,
        train_seconds: 0.0,
        total_seconds: t0.elapsed().as_secs_f64(),
        images: 0,
        finished: false,
        rng: Meta::rng_note(o.common.seed, 0, 0),
        data: Some(meta::DataInfo::of(split)),
    };
    Ok(RunState {
        meta,
        model,
        opt: Optimizer::new(c.optimizer.kind),
        metrics: Metrics::default(),
        sched,
    })
}

/// One optimizer step at the run's position: batch `meta.batch_in_epoch` of `order`, with the
/// schedule's lr and momentum at `meta.step` (the optimizer's momentum where the schedule sets
/// none). The step is recorded in the metrics; the position advances only when the loss is
/// finite (a NaN/inf loss leaves weights and optimizer untouched).
pub fn train_step<D: NnDevice>(
    st: &mut RunState<D>,
    split: &Split,
    order: &[usize],
) -> Result<StepRow> {
    let c = &st.meta.common;
    let (step, epoch, b) = (st.meta.step, st.meta.epoch, st.meta.batch_in_epoch);
    let lr = st.sched.lr(step);
    let momentum = st.sched.momentum(step).unwrap_or(c.optimizer.momentum);
    let bt = batch::train_batch(
        &split.train,
        order,
        c.batch,
        b as usize,
        split.augment,
        c.seed,
        epoch as usize,
    );
    let ts = Instant::now();
    let loss = st
        .model
        .try_train_step(&bt.x, &bt.labels, &mut st.opt, lr, momentum)
        .with_context(|| format!("training step {step}"))?;
    st.meta.train_seconds += ts.elapsed().as_secs_f64();
    st.meta.images += bt.labels.len() as u64;
    let row = StepRow {
        step,
        epoch,
        lr,
        momentum,
        loss,
    };
    st.metrics.steps.push(row);
    if loss.is_finite() {
        st.meta.step += 1;
        st.meta.batch_in_epoch = b + 1;
    }
    Ok(row)
}

/// Where a run writes, and what it needs to report a stop.
pub struct Output<'a> {
    /// The run directory.
    pub dir: &'a Path,
    /// Hide the progress bar.
    pub hide: bool,
    /// The last checkpoint written, named in a divergence error.
    pub last_good: Option<PathBuf>,
    /// Seconds of earlier invocations (resume) plus this one's start.
    pub clock: (f64, Instant),
}

impl Output<'_> {
    fn total_seconds(&self) -> f64 {
        self.clock.0 + self.clock.1.elapsed().as_secs_f64()
    }
}

/// Runs the rest of the current epoch and evaluates: the epoch's row. A NaN/inf loss returns
/// [`Stop::Diverged`] (metrics and plot written), Ctrl-C [`Stop::Interrupted`] (checkpoint
/// written).
pub fn train_epoch<D: NnDevice>(
    st: &mut RunState<D>,
    split: &Split,
    out: &Output<'_>,
) -> Result<EpochRow> {
    let (epoch, spe, epochs) = (st.meta.epoch, st.meta.steps_per_epoch, st.meta.epochs);
    let seed = st.meta.common.seed;
    let t_epoch = Instant::now();
    let order = batch::epoch_order(split.train.len(), seed, epoch as usize);
    let pb = progress::bar(
        u64::from(spe),
        format!("epoch {}/{epochs}", epoch + 1),
        out.hide,
    );
    pb.set_position(u64::from(st.meta.batch_in_epoch));
    let mut loss_sum = st
        .metrics
        .steps
        .iter()
        .filter(|r| r.epoch == epoch)
        .map(|r| f64::from(r.loss))
        .sum::<f64>();
    while st.meta.batch_in_epoch < spe {
        let row = train_step(st, split, &order)?;
        if !row.loss.is_finite() {
            pb.abandon();
            st.metrics.write(&out.dir.join(METRICS))?;
            let _ = plot::metrics(&st.metrics, &out.dir.join(PLOT));
            return Err(Stop::Diverged {
                step: row.step,
                lr: row.lr,
                loss: row.loss,
                checkpoint: out.last_good.clone(),
            }
            .into());
        }
        loss_sum += f64::from(row.loss);
        pb.set_position(u64::from(st.meta.batch_in_epoch));
        pb.set_message(format!(
            "loss {:.4} lr {:.2e} mom {:.3}",
            row.loss, row.lr, row.momentum
        ));
        if interrupt::requested() {
            pb.abandon();
            st.meta.total_seconds = out.total_seconds();
            st.meta.rng = Meta::rng_note(seed, epoch, st.meta.batch_in_epoch);
            let path = resume::save(st, out.dir)?;
            let _ = plot::metrics(&st.metrics, &out.dir.join(PLOT));
            return Err(Stop::Interrupted {
                checkpoint: path,
                step: st.meta.step,
            }
            .into());
        }
    }
    pb.finish_and_clear();
    let last = epoch + 1 >= epochs;
    let (test_acc, weights) = evaluate_run(st, split, &order, epoch, last)?;
    let row = EpochRow {
        epoch,
        step: st.meta.step,
        train_loss: (loss_sum / f64::from(spe)) as f32,
        test_acc,
        seconds: t_epoch.elapsed().as_secs_f64(),
    };
    st.metrics.epochs.push(row);
    st.meta.epoch += 1;
    st.meta.batch_in_epoch = 0;
    st.meta.finished = st.meta.epoch >= epochs;
    st.meta.total_seconds = out.total_seconds();
    st.meta.rng = Meta::rng_note(seed, st.meta.epoch, 0);
    if let Some(model) = weights {
        let w = Checkpoint {
            meta: serde_json::to_string(&st.meta)?,
            model,
            optimizer: Vec::new(),
        };
        w.save(&out.dir.join(WEIGHTS))?;
    }
    Ok(row)
}

fn run_on<D: NnDevice>(dev: &D, args: &TrainArgs, start_from: Start) -> Result<Summary> {
    let t0 = Instant::now();
    let hide = args.common.no_progress;
    let (mut st, split, dir, prior_seconds) = match start_from {
        Start::Fresh(o) => {
            let dir = o.common.out.clone();
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
            let split = o.common.load_data()?;
            // A fresh run must not leave an older run's checkpoint behind as "last good".
            let _ = std::fs::remove_file(dir.join(CHECKPOINT));
            let _ = std::fs::remove_file(dir.join(WEIGHTS));
            let st = start(dev, *o, &split, hide, t0)?;
            (st, split, dir, 0.0)
        }
        Start::Resume(saved) => {
            let dir = saved.dir.clone();
            let (st, split) = resume::load(dev, *saved)?;
            eprintln!(
                "lrate: resuming {} at epoch {}, step {} (configuration from the checkpoint)",
                dir.display(),
                st.meta.epoch + 1,
                st.meta.step
            );
            let prior = st.meta.total_seconds;
            (st, split, dir, prior)
        }
    };
    interrupt::install();
    let mut out = Output {
        dir: &dir,
        hide,
        last_good: dir.join(CHECKPOINT).is_file().then(|| dir.join(CHECKPOINT)),
        clock: (prior_seconds, t0),
    };
    let m = st.meta.clone();
    let c = &m.common;
    eprintln!(
        "lrate: training {} on {} ({} train / {} test images), {} epochs × {} steps, batch {}, {} {}, max lr {:.3e}",
        c.model,
        c.data,
        split.train.len(),
        split.test.len(),
        m.epochs,
        m.steps_per_epoch,
        c.batch,
        c.optimizer.kind.name(),
        m.schedule_name,
        m.max_lr
    );
    let mut epochs_this_run = 0;
    while st.meta.epoch < m.epochs && !st.meta.finished {
        let e = train_epoch(&mut st, &split, &out)?;
        out.last_good = Some(resume::save(&st, &dir)?);
        eprintln!(
            "epoch {}/{}: train loss {:.4}, test accuracy {:.2}%, {:.1} s",
            e.epoch + 1,
            m.epochs,
            e.train_loss,
            e.test_acc * 100.0,
            e.seconds
        );
        plot::metrics(&st.metrics, &dir.join(PLOT))?;
        epochs_this_run += 1;
        if args.stop_after.is_some_and(|n| epochs_this_run >= n) && !st.meta.finished {
            eprintln!(
                "lrate: stopping after {epochs_this_run} epoch(s) as asked; continue with --resume --out {}",
                dir.display()
            );
            break;
        }
    }
    let last = st.metrics.epochs.last().copied();
    Ok(Summary {
        test_acc: last.map_or(0.0, |e| e.test_acc),
        epochs: st.meta.epoch,
        seconds: out.total_seconds(),
        img_per_s: st.meta.images as f64 / st.meta.train_seconds.max(1e-9),
        max_lr: m.max_lr,
        min_lr: m.min_lr,
        schedule: m.schedule_name.clone(),
        model: c.model.to_string(),
        data: c.data.to_string(),
        steps: st.meta.step,
        train_loss: last.map_or(f32::NAN, |e| e.train_loss),
        out: dir.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{CommonArgs, TrainArgs};
    use crate::metrics::Metrics;

    fn tiny(max_lr: &str) -> (TrainOptions, Split) {
        let a = TrainArgs {
            common: CommonArgs {
                model: Some("mlp".into()),
                batch: Some(32),
                limit_train: Some(96),
                limit_test: Some(40),
                ..CommonArgs::default()
            },
            max_lr: Some(max_lr.parse().unwrap()),
            epochs: Some(2),
            ..TrainArgs::default()
        };
        let o = config::resolve_train(&a).unwrap();
        let split = o.common.load_data().unwrap();
        (o, split)
    }

    #[test]
    fn a_step_follows_the_schedule_and_advances_the_position() {
        let (o, split) = tiny("0.05");
        let dev = crate::nn::Cpu::default();
        let mut st = start(&dev, o, &split, true, Instant::now()).unwrap();
        assert_eq!(st.meta.steps_per_epoch, 3);
        let order = batch::epoch_order(split.train.len(), 0, 0);
        let before = st.model.state();
        let row = train_step(&mut st, &split, &order).unwrap();
        assert_eq!((row.step, row.epoch), (0, 0));
        assert_eq!(row.lr, st.sched.lr(0));
        assert_eq!(Some(row.momentum), st.sched.momentum(0));
        assert!(row.loss.is_finite());
        assert_eq!((st.meta.step, st.meta.batch_in_epoch), (1, 1));
        assert_ne!(st.model.state(), before);
        assert_eq!(st.metrics.steps, vec![row]);
    }

    #[test]
    fn an_epoch_runs_every_batch_then_evaluates() {
        let (o, split) = tiny("0.05");
        let dev = crate::nn::Cpu::default();
        let mut st = start(&dev, o, &split, true, Instant::now()).unwrap();
        let d = tempfile::tempdir().unwrap();
        let out = Output {
            dir: d.path(),
            hide: true,
            last_good: None,
            clock: (0.0, Instant::now()),
        };
        let e = train_epoch(&mut st, &split, &out).unwrap();
        assert_eq!((e.epoch, e.step), (0, 3));
        assert_eq!(st.metrics.steps.len(), 3);
        assert_eq!((st.meta.epoch, st.meta.batch_in_epoch), (1, 0));
        assert!(!st.meta.finished);
        assert!((0.0..=1.0).contains(&e.test_acc));
        let mean = st.metrics.steps.iter().map(|r| r.loss).sum::<f32>() / 3.0;
        assert!((e.train_loss - mean).abs() < 1e-5);
        assert_eq!(e.test_acc, evaluate(&st.model, &split).unwrap());
    }

    /// A schedule-free run (sf-sgd, a BN network) stopped after one epoch and resumed is bit
    /// for bit the uninterrupted run: weights y, optimizer z and step, BN statistics, every
    /// step's loss, the evaluation at x and the exported weights.
    #[test]
    fn a_resumed_schedule_free_run_is_bit_identical() {
        let d = tempfile::tempdir().unwrap();
        let args = |out: &str, stop_after: Option<u32>, resume: bool| TrainArgs {
            common: CommonArgs {
                model: Some("cnn-s".into()),
                batch: Some(32),
                limit_train: Some(96),
                limit_test: Some(40),
                optimizer: Some("sf-sgd".into()),
                warmup_steps: Some(2),
                out: Some(d.path().join(out)),
                no_progress: true,
                ..CommonArgs::default()
            },
            max_lr: Some(MaxLr::Fixed(0.05)),
            epochs: Some(3),
            stop_after,
            resume,
            ..TrainArgs::default()
        };
        let full = run(&args("straight", None, false)).unwrap();
        assert_eq!(full.schedule, "constant");
        let half = run(&args("split", Some(1), false)).unwrap();
        assert_eq!(half.epochs, 1);
        assert!(!d.path().join("split").join(WEIGHTS).exists());
        let resumed = run(&args("split", None, true)).unwrap();
        assert_eq!((full.epochs, resumed.epochs), (3, 3));
        assert_eq!(full.test_acc.to_bits(), resumed.test_acc.to_bits());

        let bits = |t: &[crate::nn::NamedTensor]| -> Vec<(String, Vec<u32>)> {
            t.iter()
                .map(|(n, _, v)| (n.clone(), v.iter().map(|x| x.to_bits()).collect()))
                .collect()
        };
        let load = |run: &str, f: &str| Checkpoint::load(&d.path().join(run).join(f)).unwrap();
        for f in [CHECKPOINT, WEIGHTS] {
            let (a, b) = (load("straight", f), load("split", f));
            assert_eq!(bits(&a.model), bits(&b.model), "{f}: model");
            assert_eq!(bits(&a.optimizer), bits(&b.optimizer), "{f}: optimizer");
        }
        let ck = load("straight", CHECKPOINT);
        assert!(ck.optimizer.iter().any(|t| t.0.starts_with("optim.sf.z.")));
        // The exported weights are x (with BN statistics at x), not the training point y.
        let w = load("straight", WEIGHTS);
        assert!(w.optimizer.is_empty());
        assert_ne!(bits(&w.model), bits(&ck.model));
        let m = |run: &str| Metrics::read(&d.path().join(run).join(METRICS)).unwrap();
        let (a, b) = (m("straight"), m("split"));
        assert_eq!(a.steps, b.steps);
        let acc =
            |m: &Metrics| -> Vec<u32> { m.epochs.iter().map(|e| e.test_acc.to_bits()).collect() };
        assert_eq!(acc(&a), acc(&b));
        assert!(a.steps.iter().all(|r| r.lr == 0.05));
    }
}
