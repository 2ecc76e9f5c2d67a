//! `lrate train`: the training loop with schedule-driven lr and momentum,
//! per-epoch evaluation, metrics, plots, checkpoints and exact resume.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lrate_core::Schedule;
use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::cli::TrainArgs;
use crate::config::{self, CommonConfig, MaxLr};
use crate::data::{self, batch, DataSpec, LoadOptions, Split};
use crate::find;
use crate::interrupt;
use crate::metrics::{EpochRow, Metrics, StepRow};
use crate::nn::{Model, NnDevice, Optimizer};
use crate::plot;
use crate::sched::{self, RunSchedule};

/// File name of the checkpoint in the output directory.
pub const CHECKPOINT: &str = "checkpoint.safetensors";
/// File name of the metrics.
pub const METRICS: &str = "metrics.csv";
/// File name of the training plot.
pub const PLOT: &str = "training.svg";
/// Batch size used for evaluation.
pub const EVAL_BATCH: usize = 256;

/// How a training run ended when it did not finish.
#[derive(Debug)]
pub enum Stop {
    /// Ctrl-C: a checkpoint was written; `--resume` continues.
    Interrupted {
        /// The checkpoint.
        checkpoint: PathBuf,
        /// Step reached.
        step: u32,
    },
    /// The loss became NaN or infinite.
    Diverged {
        /// Step of the bad loss.
        step: u32,
        /// Its learning rate.
        lr: f32,
        /// The loss value.
        loss: f32,
        /// The last good checkpoint, if any.
        checkpoint: Option<PathBuf>,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Interrupted { checkpoint, step } => write!(
                f,
                "interrupted at step {step}; checkpoint written to {} (continue with --resume)",
                checkpoint.display()
            ),
            Stop::Diverged {
                step,
                lr,
                loss,
                checkpoint,
            } => {
                write!(
                    f,
                    "training diverged: the loss became {loss} at step {step} (lr {lr:.3e}); \
                     try a lower --max-lr (e.g. {:.1e})",
                    lr / 3.0
                )?;
                match checkpoint {
                    Some(c) => write!(f, "; the last good checkpoint is {}", c.display()),
                    None => write!(
                        f,
                        "; no checkpoint was written (it failed in the first epoch)"
                    ),
                }
            }
        }
    }
}

impl std::error::Error for Stop {}

/// Everything a checkpoint needs besides the tensors; also the record of the
/// resolved run configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// Format version.
    pub version: u32,
    /// Next optimizer step to run.
    pub step: u32,
    /// Epoch of the next step.
    pub epoch: u32,
    /// Batch index of the next step within its epoch.
    pub batch_in_epoch: u32,
    /// Shared options (data, model, optimizer, seed …).
    pub common: CommonConfig,
    /// Epochs in the run.
    pub epochs: u32,
    /// Steps per epoch.
    pub steps_per_epoch: u32,
    /// Peak learning rate used.
    pub max_lr: f32,
    /// Lower bound (from the range test), if any.
    pub min_lr: Option<f32>,
    /// Short name of the schedule.
    pub schedule_name: String,
    /// The schedule (lrate-core's serde format).
    pub schedule: serde_json::Value,
    /// Seconds spent in training steps so far.
    pub train_seconds: f64,
    /// Seconds of the whole run so far.
    pub total_seconds: f64,
    /// Images trained on so far.
    pub images: u64,
    /// The run is complete.
    pub finished: bool,
    /// The RNG state: shuffles and augmentation are ChaCha8 streams derived from
    /// `(common.seed, epoch[, batch])`, so `(seed, epoch, batch_in_epoch)` is the
    /// whole state; recorded here explicitly for readers.
    pub rng: String,
}

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

/// Loads the data of a run.
pub fn load_data(c: &CommonConfig) -> Result<Split> {
    let spec: DataSpec = c.data.parse()?;
    let split = data::load(
        &spec,
        &LoadOptions {
            limit_train: c.limit_train,
            limit_test: c.limit_test,
            seed: c.seed,
            ..LoadOptions::default()
        },
    )?;
    Ok(split)
}

/// A progress bar on stderr, hidden when stderr is not a terminal or when asked.
pub fn progress(len: u64, prefix: String, hidden: bool) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if hidden || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(prefix);
    pb
}

/// Test accuracy in `[0, 1]`.
pub fn evaluate<D: NnDevice>(model: &Model<D>, split: &Split) -> Result<f32> {
    let pred = model
        .try_predict(&split.test.images, EVAL_BATCH)
        .context("evaluation")?;
    let ok = pred
        .iter()
        .zip(&split.test.labels)
        .filter(|(p, l)| p == l)
        .count();
    Ok(ok as f32 / split.test.len().max(1) as f32)
}

/// Flags that shape a run and are therefore taken from the checkpoint on `--resume`.
fn ignored_on_resume(a: &TrainArgs) -> Vec<&'static str> {
    let c = &a.common;
    [
        ("--schedule", a.schedule.is_some()),
        ("--max-lr", a.max_lr.is_some()),
        ("--epochs", a.epochs.is_some()),
        ("--data", c.data.is_some()),
        ("--model", c.model.is_some()),
        ("--batch", c.batch.is_some()),
        ("--optimizer", c.optimizer.is_some()),
        ("--momentum", c.momentum.is_some()),
        ("--weight-decay", c.weight_decay.is_some()),
        ("--seed", c.seed.is_some()),
        ("--limit-train", c.limit_train.is_some()),
        ("--limit-test", c.limit_test.is_some()),
        ("--start-lr", c.start_lr.is_some()),
        ("--end-lr", c.end_lr.is_some()),
        ("--num-it", c.num_it.is_some()),
        ("--suggestion", c.suggestion.is_some()),
    ]
    .into_iter()
    .filter_map(|(n, set)| set.then_some(n))
    .collect()
}

/// Runs `lrate train`; returns the summary on success.
pub fn run(args: &TrainArgs) -> Result<Summary> {
    if args.resume {
        let ignored = ignored_on_resume(args);
        if !ignored.is_empty() {
            eprintln!(
                "lrate: warning: --resume continues the run as it was configured; ignoring {}",
                ignored.join(", ")
            );
        }
    }
    let device = if args.resume {
        args.common.device.clone()
    } else {
        None
    };
    let opts = if args.resume {
        None
    } else {
        Some(config::resolve_train(args)?)
    };
    let dev_name = match (&opts, &device) {
        (Some(o), _) => o.common.device.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => "cpu".into(),
    };
    match dev_name.as_str() {
        "cpu" => run_on(crate::nn::Cpu::default(), args, opts),
        "cuda" | "gpu" => run_cuda(args, opts),
        d => bail!("unknown device `{d}` (expected cpu or cuda)"),
    }
}

#[cfg(feature = "cuda")]
fn run_cuda(args: &TrainArgs, opts: Option<config::TrainOptions>) -> Result<Summary> {
    let dev = dfdx::tensor::Cuda::try_build(0, 0)
        .map_err(|e| anyhow::anyhow!("cannot open CUDA device 0: {e:?}"))?;
    run_on(dev, args, opts)
}

#[cfg(not(feature = "cuda"))]
fn run_cuda(_: &TrainArgs, _: Option<config::TrainOptions>) -> Result<Summary> {
    bail!("--device cuda needs a build with the `cuda` feature (cargo build --release -p lrate --features cuda)")
}

/// Output directory for `--resume`: the flag, else the config file's, else the default.
fn resume_dir(args: &TrainArgs) -> Result<PathBuf> {
    if let Some(o) = &args.common.out {
        return Ok(o.clone());
    }
    if let Some(p) = &args.common.config {
        if let Some(o) = config::FileConfig::read(p)?.run.out {
            return Ok(o);
        }
    }
    Ok(PathBuf::from("runs/lrate"))
}

struct State<D: NnDevice> {
    meta: Meta,
    model: Model<D>,
    opt: Optimizer,
    metrics: Metrics,
    sched: RunSchedule,
}

fn start_fresh<D: NnDevice>(
    dev: &D,
    o: config::TrainOptions,
    split: &Split,
    hide: bool,
    t0: Instant,
) -> Result<State<D>> {
    let c = &o.common;
    let kind = c.model_kind()?;
    let tr = &split.train;
    let mut model = Model::try_new(kind, (tr.c, tr.h, tr.w), tr.num_classes, c.seed, dev)?;
    let steps_per_epoch = batch::steps_per_epoch(tr.len(), c.batch) as u32;
    let total = steps_per_epoch
        .checked_mul(o.epochs)
        .context("epochs × steps per epoch overflows")?;
    let (max_lr, min_lr) = match o.max_lr {
        MaxLr::Fixed(v) => (Some(v), None),
        MaxLr::FromSchedule => (None, None),
        MaxLr::Auto => {
            eprintln!(
                "lrate: --max-lr auto: running the range test ({} batches, lr {:.0e} -> {:.0e})",
                c.find.num_it, c.find.start_lr, c.find.end_lr
            );
            let outcome = find::range_test(&mut model, split, c, hide)?;
            find::write_outputs(&c.out, &outcome)?;
            find::print_report(&outcome, &c.out);
            let b = outcome.bounds.with_context(|| {
                "the range test found no usable bounds (the loss never decreased); \
                 give --max-lr explicitly or widen --start-lr/--end-lr"
            })?;
            (Some(b.max_lr), Some(b.min_lr))
        }
    };
    let (name, sched) = sched::for_training(&o, max_lr, min_lr, total, steps_per_epoch)?;
    let max_lr = max_lr.unwrap_or_else(|| sched.peak(total));
    let opt = Optimizer::new(c.optimizer.kind());
    let meta = Meta {
        version: 1,
        step: 0,
        epoch: 0,
        batch_in_epoch: 0,
        common: o.common.clone(),
        epochs: o.epochs,
        steps_per_epoch,
        max_lr,
        min_lr,
        schedule_name: name,
        schedule: sched.to_json()?,
        train_seconds: 0.0,
        total_seconds: t0.elapsed().as_secs_f64(),
        images: 0,
        finished: false,
        rng: rng_note(o.common.seed, 0, 0),
    };
    Ok(State {
        meta,
        model,
        opt,
        metrics: Metrics::default(),
        sched,
    })
}

fn rng_note(seed: u64, epoch: u32, b: u32) -> String {
    format!("chacha8 streams from seed {seed}; next epoch {epoch}, batch {b}")
}

fn resume<D: NnDevice>(dev: &D, dir: &Path, split_out: &mut Option<Split>) -> Result<State<D>> {
    let path = dir.join(CHECKPOINT);
    if !path.is_file() {
        bail!(
            "--resume: no checkpoint at {} (start the run without --resume first)",
            path.display()
        );
    }
    let ck = Checkpoint::load(&path)?;
    let meta: Meta = serde_json::from_str(&ck.meta)
        .with_context(|| format!("{}: bad checkpoint metadata", path.display()))?;
    let split = load_data(&meta.common)?;
    let tr = &split.train;
    if batch::steps_per_epoch(tr.len(), meta.common.batch) as u32 != meta.steps_per_epoch {
        bail!(
            "--resume: the data no longer matches the checkpoint ({} steps per epoch, checkpoint has {})",
            batch::steps_per_epoch(tr.len(), meta.common.batch),
            meta.steps_per_epoch
        );
    }
    let kind = meta.common.model_kind()?;
    let mut model = Model::try_new(
        kind,
        (tr.c, tr.h, tr.w),
        tr.num_classes,
        meta.common.seed,
        dev,
    )?;
    model
        .load_state(&ck.model)
        .with_context(|| format!("{}: model state does not fit", path.display()))?;
    let mut opt = Optimizer::new(meta.common.optimizer.kind());
    opt.load_state(&ck.optimizer)
        .and_then(|_| model.check_optimizer(&opt))
        .with_context(|| format!("{}: optimizer state does not fit", path.display()))?;
    let sched = RunSchedule::from_json(&meta.schedule)
        .with_context(|| format!("{}: bad schedule in checkpoint", path.display()))?;
    let mpath = dir.join(METRICS);
    let mut metrics = if mpath.is_file() {
        Metrics::read(&mpath)?
    } else {
        Metrics::default()
    };
    metrics.truncate(meta.step, meta.epoch);
    if metrics.steps.len() != meta.step as usize {
        bail!(
            "--resume: {} holds {} step rows but the checkpoint is at step {}",
            mpath.display(),
            metrics.steps.len(),
            meta.step
        );
    }
    *split_out = Some(split);
    Ok(State {
        meta,
        model,
        opt,
        metrics,
        sched,
    })
}

fn save<D: NnDevice>(st: &State<D>, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(CHECKPOINT);
    let ck = Checkpoint {
        meta: serde_json::to_string(&st.meta)?,
        model: st.model.state(),
        optimizer: st.opt.state(),
    };
    // Metrics first: a kill between the two leaves extra rows, which resume drops.
    st.metrics.write(&dir.join(METRICS))?;
    ck.save(&path)?;
    Ok(path)
}

/// Draws `training.svg`: lr, momentum, loss and test accuracy against the step.
pub fn plot_metrics(m: &Metrics, path: &Path) -> Result<()> {
    let pts = |f: &dyn Fn(&StepRow) -> f32| -> Vec<(f64, f64)> {
        m.steps
            .iter()
            .map(|r| (f64::from(r.step), f64::from(f(r))))
            .collect()
    };
    let mut ema = Vec::with_capacity(m.steps.len());
    let (mut avg, beta) = (0f64, 0.98f64);
    for (i, r) in m.steps.iter().enumerate() {
        if r.loss.is_finite() {
            avg = beta * avg + (1.0 - beta) * f64::from(r.loss);
        }
        ema.push((f64::from(r.step), avg / (1.0 - beta.powi(i as i32 + 1))));
    }
    let series = |name: &str, points, color, faint| plot::Series {
        name: name.into(),
        points,
        color,
        faint,
    };
    let mut panels = vec![
        plot::Panel {
            y_label: "learning rate".into(),
            series: vec![series("lr", pts(&|r| r.lr), 0, false)],
        },
        plot::Panel {
            y_label: "momentum / beta1".into(),
            series: vec![series("momentum", pts(&|r| r.momentum), 1, false)],
        },
        plot::Panel {
            y_label: "training loss".into(),
            series: vec![
                series("batch loss", pts(&|r| r.loss), 2, true),
                series("smoothed (0.98)", ema, 2, false),
            ],
        },
    ];
    if !m.epochs.is_empty() {
        panels.push(plot::Panel {
            y_label: "test accuracy".into(),
            series: vec![series(
                "test accuracy",
                m.epochs
                    .iter()
                    .map(|e| (f64::from(e.step), f64::from(e.test_acc)))
                    .collect(),
                3,
                false,
            )],
        });
    }
    plot::panels(path, "lrate training", "step", &panels)
}

fn run_on<D: NnDevice>(
    dev: D,
    args: &TrainArgs,
    opts: Option<config::TrainOptions>,
) -> Result<Summary> {
    let t0 = Instant::now();
    let hide = args.common.no_progress;
    let (mut st, split, dir) = match opts {
        Some(o) => {
            let dir = o.common.out.clone();
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
            let split = load_data(&o.common)?;
            let st = start_fresh(&dev, o, &split, hide, t0)?;
            (st, split, dir)
        }
        None => {
            let dir = resume_dir(args)?;
            let mut split = None;
            let st = resume(&dev, &dir, &mut split)?;
            let split = split.context("internal: resume loaded no data")?;
            eprintln!(
                "lrate: resuming {} at epoch {}, step {} (configuration from the checkpoint)",
                dir.display(),
                st.meta.epoch + 1,
                st.meta.step
            );
            (st, split, dir)
        }
    };
    let prior_seconds = if args.resume {
        st.meta.total_seconds
    } else {
        0.0
    };
    interrupt::install();
    let m = st.meta.clone();
    let c = &m.common;
    let spe = m.steps_per_epoch;
    let tr = &split.train;
    let mut last_good: Option<PathBuf> =
        dir.join(CHECKPOINT).is_file().then(|| dir.join(CHECKPOINT));
    if !args.resume {
        // A fresh run must not leave an older run's checkpoint behind as "last good".
        let _ = std::fs::remove_file(dir.join(CHECKPOINT));
        last_good = None;
    }
    let mut epochs_this_run = 0;
    eprintln!(
        "lrate: training {} on {} ({} train / {} test images), {} epochs × {} steps, batch {}, {} {}, max lr {:.3e}",
        c.model,
        c.data,
        tr.len(),
        split.test.len(),
        m.epochs,
        spe,
        c.batch,
        if c.optimizer.adam { "adam" } else { "sgd" },
        m.schedule_name,
        m.max_lr
    );
    while st.meta.epoch < m.epochs && !st.meta.finished {
        let epoch = st.meta.epoch;
        let t_epoch = Instant::now();
        let order = batch::epoch_order(tr.len(), c.seed, epoch as usize);
        let pb = progress(
            u64::from(spe),
            format!("epoch {}/{}", epoch + 1, m.epochs),
            hide,
        );
        pb.set_position(u64::from(st.meta.batch_in_epoch));
        let mut loss_sum = st
            .metrics
            .steps
            .iter()
            .filter(|r| r.epoch == epoch)
            .map(|r| f64::from(r.loss))
            .sum::<f64>();
        for b in st.meta.batch_in_epoch..spe {
            let step = st.meta.step;
            let lr = st.sched.lr(step);
            let mom = st.sched.momentum(step).unwrap_or(c.optimizer.momentum);
            let bt = batch::train_batch(
                tr,
                &order,
                c.batch,
                b as usize,
                split.augment,
                c.seed,
                epoch as usize,
            );
            let ts = Instant::now();
            let loss = st
                .model
                .try_train_step(&bt.x, &bt.labels, &mut st.opt, lr, mom)
                .with_context(|| format!("training step {step}"))?;
            st.meta.train_seconds += ts.elapsed().as_secs_f64();
            st.meta.images += bt.labels.len() as u64;
            st.metrics.steps.push(StepRow {
                step,
                epoch,
                lr,
                momentum: mom,
                loss,
            });
            if !loss.is_finite() {
                pb.abandon();
                st.metrics.write(&dir.join(METRICS))?;
                let _ = plot_metrics(&st.metrics, &dir.join(PLOT));
                return Err(Stop::Diverged {
                    step,
                    lr,
                    loss,
                    checkpoint: last_good,
                }
                .into());
            }
            loss_sum += f64::from(loss);
            st.meta.step += 1;
            st.meta.batch_in_epoch = b + 1;
            pb.set_position(u64::from(b + 1));
            pb.set_message(format!("loss {loss:.4} lr {lr:.2e} mom {mom:.3}"));
            if interrupt::requested() {
                pb.abandon();
                st.meta.total_seconds = prior_seconds + t0.elapsed().as_secs_f64();
                st.meta.rng = rng_note(c.seed, epoch, b + 1);
                let path = save(&st, &dir)?;
                let _ = plot_metrics(&st.metrics, &dir.join(PLOT));
                return Err(Stop::Interrupted {
                    checkpoint: path,
                    step: st.meta.step,
                }
                .into());
            }
        }
        pb.finish_and_clear();
        let acc = evaluate(&st.model, &split)?;
        let secs = t_epoch.elapsed().as_secs_f64();
        let train_loss = (loss_sum / f64::from(spe)) as f32;
        st.metrics.epochs.push(EpochRow {
            epoch,
            step: st.meta.step,
            train_loss,
            test_acc: acc,
            seconds: secs,
        });
        st.meta.epoch += 1;
        st.meta.batch_in_epoch = 0;
        st.meta.finished = st.meta.epoch >= m.epochs;
        st.meta.total_seconds = prior_seconds + t0.elapsed().as_secs_f64();
        st.meta.rng = rng_note(c.seed, st.meta.epoch, 0);
        last_good = Some(save(&st, &dir)?);
        eprintln!(
            "epoch {}/{}: train loss {train_loss:.4}, test accuracy {:.2}%, {secs:.1} s",
            epoch + 1,
            m.epochs,
            acc * 100.0
        );
        plot_metrics(&st.metrics, &dir.join(PLOT))?;
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
        seconds: prior_seconds + t0.elapsed().as_secs_f64(),
        img_per_s: st.meta.images as f64 / st.meta.train_seconds.max(1e-9),
        max_lr: m.max_lr,
        min_lr: m.min_lr,
        schedule: m.schedule_name.clone(),
        model: c.model.clone(),
        data: c.data.clone(),
        steps: st.meta.step,
        train_loss: last.map_or(f32::NAN, |e| e.train_loss),
        out: dir,
    })
}
