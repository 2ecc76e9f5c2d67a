//! The per-step and per-epoch record of a training run, written as
//! `metrics.csv` with one row per optimizer step (`kind = step`: lr, momentum,
//! loss) and one per epoch (`kind = epoch`: mean training loss, test accuracy,
//! seconds).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::checkpoint::write_atomic;

/// One optimizer step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepRow {
    /// Global step (from 0).
    pub step: u32,
    /// Epoch (from 0).
    pub epoch: u32,
    /// Learning rate used.
    pub lr: f32,
    /// Momentum (SGD) or β1 (Adam) used.
    pub momentum: f32,
    /// Mean cross-entropy of the batch.
    pub loss: f32,
}

/// One finished epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochRow {
    /// Epoch (from 0).
    pub epoch: u32,
    /// Global step after the epoch.
    pub step: u32,
    /// Mean training loss over the epoch.
    pub train_loss: f32,
    /// Test accuracy in `[0, 1]`.
    pub test_acc: f32,
    /// Wall-clock seconds of the epoch (training and evaluation).
    pub seconds: f64,
}

/// The whole record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Step rows in order.
    pub steps: Vec<StepRow>,
    /// Epoch rows in order.
    pub epochs: Vec<EpochRow>,
}

/// The CSV header.
pub const HEADER: &str = "kind,epoch,step,lr,momentum,loss,test_acc,seconds";

impl Metrics {
    /// The CSV text: the epoch row follows the last step of its epoch.
    pub fn to_csv(&self) -> String {
        let mut s = String::with_capacity(64 * (self.steps.len() + 1));
        s.push_str(HEADER);
        s.push('\n');
        let mut e = self.epochs.iter().peekable();
        for r in &self.steps {
            while let Some(er) = e.next_if(|er| er.step <= r.step) {
                push_epoch(&mut s, er);
            }
            let _ = writeln!(
                s,
                "step,{},{},{:e},{},{},,",
                r.epoch, r.step, r.lr, r.momentum, r.loss
            );
        }
        for er in e {
            push_epoch(&mut s, er);
        }
        s
    }

    /// Parses the CSV written by [`Metrics::to_csv`].
    pub fn from_csv(text: &str, path: &Path) -> Result<Self> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            bail!("{}: not a metrics file (bad header)", path.display());
        }
        let mut m = Metrics::default();
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            let bad = || format!("{}: line {}: malformed row `{line}`", path.display(), i + 2);
            if f.len() != 8 {
                bail!(bad());
            }
            match f[0] {
                "step" => m.steps.push(StepRow {
                    epoch: f[1].parse().with_context(bad)?,
                    step: f[2].parse().with_context(bad)?,
                    lr: f[3].parse().with_context(bad)?,
                    momentum: f[4].parse().with_context(bad)?,
                    loss: f[5].parse().with_context(bad)?,
                }),
                "epoch" => m.epochs.push(EpochRow {
                    epoch: f[1].parse().with_context(bad)?,
                    step: f[2].parse().with_context(bad)?,
                    train_loss: f[5].parse().with_context(bad)?,
                    test_acc: f[6].parse().with_context(bad)?,
                    seconds: f[7].parse().with_context(bad)?,
                }),
                _ => bail!(bad()),
            }
        }
        Ok(m)
    }

    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        Self::from_csv(&text, path)
    }

    /// Writes `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_csv().as_bytes())
    }

    /// Drops everything recorded at or after `step` / `epoch` (what a resumed run
    /// will redo).
    pub fn truncate(&mut self, step: u32, epoch: u32) {
        self.steps.retain(|r| r.step < step);
        self.epochs.retain(|r| r.epoch < epoch);
    }
}

fn push_epoch(s: &mut String, r: &EpochRow) {
    let _ = writeln!(
        s,
        "epoch,{},{},,,{},{},{:.3}",
        r.epoch, r.step, r.train_loss, r.test_acc, r.seconds
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_and_truncate() {
        let mut m = Metrics::default();
        for step in 0..4 {
            m.steps.push(StepRow {
                step,
                epoch: step / 2,
                lr: 0.1 * (step + 1) as f32,
                momentum: 0.9,
                loss: 2.0 / (step + 1) as f32,
            });
            if step % 2 == 1 {
                m.epochs.push(EpochRow {
                    epoch: step / 2,
                    step: step + 1,
                    train_loss: 1.5,
                    test_acc: 0.5,
                    seconds: 1.25,
                });
            }
        }
        let csv = m.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 7);
        assert!(lines[3].starts_with("epoch,0,2,"));
        let back = Metrics::from_csv(&csv, Path::new("m.csv")).unwrap();
        assert_eq!(back, m);
        let mut t = back.clone();
        t.truncate(2, 1);
        assert_eq!((t.steps.len(), t.epochs.len()), (2, 1));
        assert!(Metrics::from_csv("x\n", Path::new("m.csv")).is_err());
    }
}
