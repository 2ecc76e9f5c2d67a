//! The state of a training run in memory ([`RunState`]), written to the output directory
//! by [`save`] (metrics, then the checkpoint) and read back by [`load`] for `--resume`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::checkpoint::Checkpoint;
use crate::cli::TrainArgs;
use crate::config::FileConfig;
use crate::data::{batch, Split};
use crate::meta::Meta;
use crate::metrics::Metrics;
use crate::nn::{Model, NnDevice, Optimizer};
use crate::sched::RunSchedule;

/// File name of the checkpoint in the output directory.
pub const CHECKPOINT: &str = "checkpoint.safetensors";
/// File name of the metrics.
pub const METRICS: &str = "metrics.csv";

/// A run in progress: its metadata, model, optimizer, record and schedule.
pub struct RunState<D: NnDevice> {
    /// Position and configuration.
    pub meta: Meta,
    /// The network.
    pub model: Model<D>,
    /// The optimizer and its state.
    pub opt: Optimizer,
    /// Steps and epochs so far.
    pub metrics: Metrics,
    /// The schedule (closed form: the step is all it needs).
    pub sched: RunSchedule,
}

/// Writes the metrics, then the checkpoint, into `dir`; returns the checkpoint's path.
/// Metrics go first: a kill between the two leaves extra rows, which [`load`] drops.
pub fn save<D: NnDevice>(st: &RunState<D>, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(CHECKPOINT);
    let ck = Checkpoint {
        meta: serde_json::to_string(&st.meta)?,
        model: st.model.state(),
        optimizer: st.opt.state(),
    };
    st.metrics.write(&dir.join(METRICS))?;
    ck.save(&path)?;
    Ok(path)
}

/// A checkpoint read from disk, before it is put on a device.
pub struct Saved {
    /// The run directory.
    pub dir: PathBuf,
    /// The checkpoint's tensors.
    pub ck: Checkpoint,
    /// Its metadata.
    pub meta: Meta,
}

impl Saved {
    /// Reads `dir`'s checkpoint.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(CHECKPOINT);
        if !path.is_file() {
            bail!(
                "--resume: no checkpoint at {} (start the run without --resume first)",
                path.display()
            );
        }
        let ck = Checkpoint::load(&path)?;
        let meta = Meta::from_json(&ck.meta)
            .with_context(|| format!("{}: bad checkpoint metadata", path.display()))?;
        Ok(Saved {
            dir: dir.to_path_buf(),
            ck,
            meta,
        })
    }
}

/// Rebuilds the run of `saved` on `dev`: data, model, optimizer, schedule and metrics, each
/// checked against the checkpoint.
pub fn load<D: NnDevice>(dev: &D, saved: Saved) -> Result<(RunState<D>, Split)> {
    let Saved { dir, ck, meta } = saved;
    let path = dir.join(CHECKPOINT);
    let split = meta.common.load_data()?;
    let spe = batch::steps_per_epoch(split.train.len(), meta.common.batch);
    if spe as u32 != meta.steps_per_epoch {
        bail!(
            "--resume: the data no longer matches the checkpoint ({spe} steps per epoch, checkpoint has {})",
            meta.steps_per_epoch
        );
    }
    let mut model = meta.common.build_model(&split, dev)?;
    model
        .load_state(&ck.model)
        .with_context(|| format!("{}: model state does not fit", path.display()))?;
    let mut opt = Optimizer::new(meta.common.optimizer.kind);
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
    let st = RunState {
        meta,
        model,
        opt,
        metrics,
        sched,
    };
    Ok((st, split))
}

/// Output directory for `--resume`: the flag, else the config file's, else the default.
pub fn dir(args: &TrainArgs) -> Result<PathBuf> {
    if let Some(o) = &args.common.out {
        return Ok(o.clone());
    }
    if let Some(o) = FileConfig::read_opt(args.common.config.as_deref())?.run.out {
        return Ok(o);
    }
    Ok(crate::outdir::latest_default())
}

/// Flags that shape a run and are therefore taken from the checkpoint on `--resume`.
pub fn ignored_flags(a: &TrainArgs) -> Vec<&'static str> {
    let c = &a.common;
    [
        ("--schedule", a.schedule.is_some()),
        ("--max-lr", a.max_lr.is_some()),
        ("--epochs", a.epochs.is_some()),
        ("--data", c.data.is_some()),
        ("--model", c.model.is_some()),
        ("--batch", c.batch.is_some()),
        ("--optimizer", c.optimizer.is_some()),
        ("--nesterov", c.nesterov),
        ("--momentum", c.momentum.is_some()),
        ("--weight-decay", c.weight_decay.is_some()),
        ("--warmup-steps", c.warmup_steps.is_some()),
        ("--seed", c.seed.is_some()),
        ("--limit-train", c.limit_train.is_some()),
        ("--limit-test", c.limit_test.is_some()),
        ("--start-lr", c.start_lr.is_some()),
        ("--end-lr", c.end_lr.is_some()),
        ("--num-it", c.num_it.is_some()),
        ("--suggestion", c.suggestion.is_some()),
        ("--repeats", c.repeats.is_some()),
        ("--vary", c.vary.is_some()),
        ("--verify", c.verify),
    ]
    .into_iter()
    .filter_map(|(n, set)| set.then_some(n))
    .collect()
}
