//! Cooldown from a checkpoint: `lrate train --from DIR --cooldown 20% --out NEW` branches a
//! warmup–stable–decay decay off the latest checkpoint of a stable-phase run (a `constant`
//! schedule, or a `wsd` one before its decay) into a new output directory.
//!
//! This is what WSD is for (Hägele et al. 2024, §3; MiniCPM): train at a constant rate for as
//! long as the budget allows, and branch a short decay wherever a finished model is wanted.
//! The branch's schedule is lrate-core's [`Wsd`](lrate_core::Wsd) with the stable phase ending at the
//! checkpoint's step `s`, so for every step before `s` it gives the original rate and the
//! decay starts at `s` from the stable rate: the learning-rate sequence continues exactly
//! where the checkpoint stopped. DIR is only read; NEW gets a copy of the checkpoint (with the
//! branch's schedule and length) and of the metrics so far, and is from then on an ordinary run
//! directory (`--resume --out NEW` continues it).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use lrate_core::{Schedule, WsdConfig, WsdDecay, WsdWarmup};

use crate::checkpoint::Checkpoint;
use crate::cli::TrainArgs;
use crate::resume::{Saved, CHECKPOINT, METRICS};
use crate::sched::{core, Any, RunSchedule};

/// How long the decay is: `--cooldown`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CooldownLength {
    /// `N%`: this percentage `p` of the branched run's whole length (Hägele et al. use 20 %):
    /// with the checkpoint at step `s`, `D = s · p / (100 − p)` steps, rounded up to the end
    /// of an epoch.
    Percent(f64),
    /// `N`: this many epochs from the checkpoint (the decay ends at an epoch's end).
    Epochs(u32),
}

impl std::str::FromStr for CooldownLength {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            anyhow!("--cooldown must be a share like `20%` (of the branched run) or a number of epochs, got `{s}`")
        };
        if let Some(p) = s.trim().strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(v > 0.0 && v < 100.0) {
                bail!("--cooldown {s}: the share must be above 0% and below 100%");
            }
            return Ok(CooldownLength::Percent(v));
        }
        let n: u32 = s.trim().parse().map_err(|_| bad())?;
        if n == 0 {
            bail!("--cooldown 0: the decay needs at least one epoch");
        }
        Ok(CooldownLength::Epochs(n))
    }
}

/// `--decay`: the shape of the cooldown, as lrate-core's [`WsdDecay`] names it.
pub fn parse_decay(s: &str) -> Result<WsdDecay> {
    match s {
        "1-sqrt" | "1sqrt" => Ok(WsdDecay::OneMinusSqrt),
        "linear" => Ok(WsdDecay::Linear),
        "cosine" => Ok(WsdDecay::Cosine),
        _ => bail!("--decay must be 1-sqrt, linear or cosine, got `{s}`"),
    }
}

/// The stable phase a checkpoint's schedule is in at step `s`: warmup steps, stable rate,
/// warmup shape and floor ratio.
struct Stable {
    warmup: u32,
    lr: f32,
    warmup_type: WsdWarmup,
    min_lr_ratio: f32,
}

fn stable_phase(sched: &Any, s: u32, name: &str) -> Result<Stable> {
    match sched {
        Any::Constant(c) => Ok(Stable {
            warmup: 0,
            lr: c.lr(s),
            warmup_type: WsdWarmup::Linear,
            min_lr_ratio: 0.0,
        }),
        Any::Wsd(w) => {
            let c = w.config();
            if s < c.num_warmup_steps || s > w.decay_start() {
                bail!(
                    "--from: the checkpoint is at step {s}, outside the stable phase of its wsd \
                     schedule (steps {}..{}); branch from a checkpoint taken in the stable phase",
                    c.num_warmup_steps,
                    w.decay_start()
                );
            }
            Ok(Stable {
                warmup: c.num_warmup_steps,
                lr: c.base_lr,
                warmup_type: c.warmup_type,
                min_lr_ratio: c.min_lr_ratio,
            })
        }
        _ => bail!(
            "--from: the run's schedule `{name}` has no stable phase to branch a cooldown from; \
             train the long run with --schedule constant (or a [schedule.wsd] table with a long \
             stable phase)"
        ),
    }
}

/// The decay length in steps for a checkpoint at step `s` with `spe` steps per epoch, and
/// the branched run's length in epochs (the decay ends at an epoch's end).
fn decay_steps(len: CooldownLength, s: u32, spe: u32) -> Result<(u32, u32)> {
    let spe = u64::from(spe.max(1));
    let s64 = u64::from(s);
    let wanted = match len {
        // s·p/(100 − p), with a tolerance so that 800 steps at 20 % give 200, not 201.
        CooldownLength::Percent(p) => ((s64 as f64) * p / (100.0 - p) - 1e-9).ceil() as u64,
        CooldownLength::Epochs(n) => u64::from(n) * spe - s64 % spe,
    }
    .max(1);
    let end = (s64 + wanted).div_ceil(spe) * spe;
    let epochs = u32::try_from(end / spe).map_err(|_| anyhow!("--cooldown: too long"))?;
    let d = u32::try_from(end - s64).map_err(|_| anyhow!("--cooldown: too long"))?;
    Ok((d, epochs))
}

/// Branches the cooldown: reads `--from`'s checkpoint, writes the branch's checkpoint and
/// metrics into `--out`, and returns it as a run to continue.
pub fn branch(args: &TrainArgs, from: &Path) -> Result<Saved> {
    let len = args
        .cooldown
        .ok_or_else(|| anyhow!("--from needs --cooldown (e.g. --cooldown 20%)"))?;
    let decay = parse_decay(args.decay.as_deref().unwrap_or("1-sqrt"))?;
    let out: PathBuf = args
        .common
        .out
        .clone()
        .ok_or_else(|| anyhow!("--from needs --out NEW, a new directory for the branch"))?;
    let same = match (from.canonicalize(), out.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        bail!(
            "--out {} is the run branched from; the original is never modified, so give the branch a new directory",
            out.display()
        );
    }
    crate::outdir::check_fresh(
        &out,
        args.common.overwrite,
        "train --from FROM --cooldown N",
    )?;
    if args.common.overwrite {
        crate::outdir::clear(&out)?;
    }
    let saved = Saved::read(from).map_err(|e| anyhow!("--from {}: {e:#}", from.display()))?;
    let mut meta = saved.meta.clone();
    let sched = RunSchedule::from_json(&meta.schedule)
        .with_context(|| format!("--from {}: bad schedule in checkpoint", from.display()))?;
    let s = meta.step;
    let stable = stable_phase(&sched.0, s, &meta.schedule_name)?;
    let (d, epochs) = decay_steps(len, s, meta.steps_per_epoch)?;
    let wsd = core(
        WsdConfig {
            base_lr: stable.lr,
            num_warmup_steps: stable.warmup,
            num_decay_steps: d,
            num_training_steps: None,
            num_stable_steps: Some(s - stable.warmup),
            warmup_type: stable.warmup_type,
            decay_type: decay,
            min_lr_ratio: stable.min_lr_ratio,
            num_cycles: 0.5,
        }
        .build(),
        "--cooldown",
    )?;
    let branch = RunSchedule(wsd.into());
    debug_assert_eq!(branch.lr(s), stable.lr);
    meta.schedule = branch.to_json()?;
    meta.schedule_name = "wsd-cooldown".to_string();
    meta.epochs = epochs;
    meta.finished = false;
    meta.common.out = out.clone();
    std::fs::create_dir_all(&out)
        .with_context(|| format!("{}: cannot create output directory", out.display()))?;
    let metrics = from.join(METRICS);
    if metrics.is_file() {
        let text = std::fs::read(&metrics)
            .with_context(|| format!("{}: cannot read", metrics.display()))?;
        crate::checkpoint::write_atomic(&out.join(METRICS), &text)?;
    }
    let ck = Checkpoint {
        meta: serde_json::to_string(&meta)?,
        ..saved.ck
    };
    ck.save(&out.join(CHECKPOINT))?;
    eprintln!(
        "lrate: cooldown branched from {} at step {s} (epoch {}): {decay:?} decay over {d} steps to epoch {epochs}, into {}",
        from.display(),
        meta.epoch + 1,
        out.display()
    );
    Saved::read(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_parse_and_round_to_epochs() {
        assert_eq!(
            "20%".parse::<CooldownLength>().unwrap(),
            CooldownLength::Percent(20.0)
        );
        assert_eq!(
            "3".parse::<CooldownLength>().unwrap(),
            CooldownLength::Epochs(3)
        );
        for bad in ["0", "0%", "100%", "-5%", "x", "1.5", ""] {
            assert!(bad.parse::<CooldownLength>().is_err(), "{bad}");
        }
        // 20 % of the branched run: 800 stable steps → 200 decay steps.
        assert_eq!(
            decay_steps(CooldownLength::Percent(20.0), 800, 100).unwrap(),
            (200, 10)
        );
        // Rounded up to the end of an epoch.
        assert_eq!(
            decay_steps(CooldownLength::Percent(20.0), 800, 150).unwrap(),
            (250, 7)
        );
        // Epochs from a mid-epoch checkpoint end at an epoch's end.
        assert_eq!(
            decay_steps(CooldownLength::Epochs(2), 250, 100).unwrap(),
            (150, 4)
        );
        assert!(parse_decay("2-sqrt").is_err());
    }

    #[test]
    fn only_stable_phases_branch() {
        let c: Any = lrate_core::ConstantConfig::new(0.05)
            .build()
            .unwrap()
            .into();
        assert_eq!(stable_phase(&c, 500, "constant").unwrap().lr, 0.05);
        let w: Any = WsdConfig::new(0.1, 10, 20, 100).build().unwrap().into();
        assert!(stable_phase(&w, 50, "wsd").is_ok());
        assert!(stable_phase(&w, 5, "wsd").is_err(), "in the warmup");
        assert!(stable_phase(&w, 90, "wsd").is_err(), "in the decay");
        let o: Any = lrate_core::OneCycle::fastai(0.1, 100).unwrap().into();
        assert!(stable_phase(&o, 50, "onecycle").is_err());
    }
}
