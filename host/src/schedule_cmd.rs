//! `lrate schedule`: print (CSV) or plot any schedule without training.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use lrate_core::Schedule;

use crate::checkpoint::write_atomic;
use crate::cli::ScheduleArgs;
use crate::config::{FileConfig, MaxLrValue};
use crate::plot;
use crate::sched::{self, RunSchedule};

/// Steps shown when neither `--steps` nor the schedule gives a length.
pub const DEFAULT_STEPS: u32 = 1000;

/// Resolves the schedule and the number of steps.
pub fn resolve(a: &ScheduleArgs) -> Result<(String, RunSchedule, u32)> {
    let file = match &a.config {
        Some(p) => Some(FileConfig::read(p)?),
        None => None,
    };
    if a.steps == Some(0) {
        bail!("--steps must be at least 1");
    }
    let table = file.as_ref().and_then(|f| f.schedule.clone());
    let name = a
        .schedule
        .clone()
        .or_else(|| file.as_ref().and_then(|f| f.run.schedule.clone()));
    match (table, name) {
        (Some(t), None) => {
            let s = RunSchedule(sched::from_table(&t).with_context(|| {
                a.config
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            })?);
            let steps = a.steps.or(s.0.natural_length()).unwrap_or(DEFAULT_STEPS);
            let s = match a.max_lr {
                Some(m) => RunSchedule(sched::core(s.0.with_peak(m, None), sched::PEAK)?),
                None => s,
            };
            Ok((s.0.name().into(), s, steps))
        }
        (_, Some(n)) => {
            let steps = a.steps.unwrap_or(DEFAULT_STEPS);
            let file_lr = file.as_ref().and_then(|f| match f.run.max_lr {
                Some(MaxLrValue::Number(v)) => Some(v),
                _ => None,
            });
            let max_lr = a.max_lr.or(file_lr).unwrap_or(0.1);
            let spe = a.steps_per_epoch.unwrap_or((steps / 10).max(1));
            Ok((
                n.clone(),
                RunSchedule(sched::named(&n, max_lr, None, steps, spe)?),
                steps,
            ))
        }
        (None, None) => bail!(
            "give a schedule: --config FILE.toml with a [schedule] table, or --schedule NAME ({})",
            sched::NAMES
        ),
    }
}

/// The CSV `step,lr,momentum` (momentum empty where the schedule sets none).
pub fn csv(s: &RunSchedule, steps: u32) -> String {
    let mut out = String::from("step,lr,momentum\n");
    for t in 0..steps {
        let m = s.momentum(t).map_or(String::new(), |m| m.to_string());
        let _ = writeln!(out, "{t},{:e},{m}", s.lr(t));
    }
    out
}

/// Runs `lrate schedule`.
pub fn run(a: &ScheduleArgs) -> Result<()> {
    let (name, s, steps) = resolve(a)?;
    let text = csv(&s, steps);
    match &a.out {
        None => print!("{text}"),
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
            write_atomic(&dir.join("schedule.csv"), text.as_bytes())?;
            let lr: Vec<(f64, f64)> = (0..steps)
                .map(|t| (f64::from(t), f64::from(s.lr(t))))
                .collect();
            let mut panels = vec![plot::Panel {
                y_label: "learning rate".into(),
                series: vec![plot::Series {
                    name: "lr".into(),
                    points: lr,
                    color: 0,
                    faint: false,
                }],
            }];
            if s.momentum(0).is_some() {
                panels.push(plot::Panel {
                    y_label: "momentum / beta1".into(),
                    series: vec![plot::Series {
                        name: "momentum".into(),
                        points: (0..steps)
                            .filter_map(|t| Some((f64::from(t), f64::from(s.momentum(t)?))))
                            .collect(),
                        color: 1,
                        faint: false,
                    }],
                });
            }
            plot::panels(
                &dir.join("schedule.svg"),
                &format!("schedule: {name}"),
                "step",
                &panels,
            )?;
            eprintln!(
                "wrote {0}/schedule.csv, {0}/schedule.svg and {0}/schedule.png ({steps} steps of {name})",
                dir.display()
            );
        }
    }
    Ok(())
}
