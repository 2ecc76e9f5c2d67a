//! `--verify`: short 1cycle trials at the pick × {1/3, 1, 3}, the best kept.
//!
//! The range test reads one curve; a trial trains. Each trial starts from the run's
//! initial weights with a fresh optimizer, runs PyTorch's `OneCycleLR(max_lr, steps)` over
//! the same batches of a training subset, and is scored by its accuracy on images of the
//! training set it did not see (never the test set). All trials together, with their
//! evaluations (a forward pass counted as a third of a training step), stay within
//! [`BUDGET`] of one full run's compute.
//!
//! With a schedule-free optimizer (which warms up and averages on its own) a trial runs a
//! constant `max_lr` instead of 1cycle and is scored at the optimizer's evaluation point `x`,
//! with the BN statistics recomputed there ([`crate::eval_point`]).

use anyhow::{anyhow, Context, Result};
use lrate_core::{ConstantConfig, OneCycle, Schedule};
use serde::Serialize;

use crate::config::CommonConfig;
use crate::data::{batch, Split};
use crate::eval_point::{at_eval_point, BnBatches};
use crate::nn::{Model, NnDevice, Optimizer};
use crate::progress;

/// The trials' max_lr as multiples of the range test's pick.
pub const FACTORS: [f32; 3] = [1.0 / 3.0, 1.0, 3.0];
/// The share of one full run's compute that all trials together may take.
pub const BUDGET: f64 = 0.10;
/// Most validation images (a tenth of the training set when smaller).
pub const MAX_VAL: usize = 1024;
/// Salt of the trials' data split and order.
const SALT: u64 = 0x7665_7269_6679;

/// One trial.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Trial {
    /// Its 1cycle max_lr.
    pub max_lr: f32,
    /// Accuracy on the held-back training images, in `[0, 1]`.
    pub val_acc: f32,
    /// Mean training loss of its last quarter of steps (NaN once it diverged).
    pub train_loss: f32,
}

/// The trials and the max_lr they chose.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Verified {
    /// The trials, in the order of the factors 1/3, 1 and 3.
    pub trials: Vec<Trial>,
    /// The best trial's max_lr: highest `val_acc`, then lowest `train_loss`.
    pub chosen: f32,
    /// Steps of each trial.
    pub steps: u32,
    /// Training images the trials draw from.
    pub train_images: usize,
    /// Held-back images they are scored on.
    pub val_images: usize,
    /// Images trained and evaluated (forward passes as a third) by all trials, as a
    /// fraction of one full run's.
    pub share_of_run: f64,
}

/// The fewest steps of a trial, for a 1cycle with a warm-up and an annealing phase. For a
/// run so short that this exceeds [`BUDGET`], [`Verified::share_of_run`] says by how much.
pub const MIN_STEPS: u32 = 8;

/// Steps per trial for a full run of `run_images` images: all trials with their
/// evaluations of `val` images within [`BUDGET`]; at least [`MIN_STEPS`].
pub fn steps_per_trial(run_images: u64, val: usize, batch: usize) -> u32 {
    let n = FACTORS.len() as f64;
    let budget = BUDGET * run_images as f64 - n * val as f64 / 3.0;
    ((budget / n / batch.max(1) as f64).floor().max(0.0) as u32).max(MIN_STEPS)
}

/// Runs the trials around `pick` on `model` and restores its initial state.
pub fn run<D: NnDevice>(
    model: &mut Model<D>,
    split: &Split,
    c: &CommonConfig,
    pick: f32,
    run_images: u64,
    hide: bool,
) -> Result<Verified> {
    super::restoring(model, "--verify", |model, initial| {
        trials(model, split, c, pick, run_images, hide, initial)
    })
}

fn trials<D: NnDevice>(
    model: &mut Model<D>,
    split: &Split,
    c: &CommonConfig,
    pick: f32,
    run_images: u64,
    hide: bool,
    initial: &[crate::nn::NamedTensor],
) -> Result<Verified> {
    let tr = &split.train;
    let shuffled = batch::epoch_order(tr.len(), c.seed ^ SALT, 0);
    let val_n = (tr.len() / 10).min(MAX_VAL);
    if val_n == 0 || tr.len() - val_n < c.batch {
        return Err(anyhow!(
            "--verify needs at least {} training images ({} given): a tenth is held back to score the trials",
            10 * c.batch.max(1),
            tr.len()
        ));
    }
    let (val_idx, train_idx) = shuffled.split_at(val_n);
    let val = batch::gather(tr, val_idx);
    let steps = steps_per_trial(run_images, val_n, c.batch);
    let pb = progress::bar(
        u64::from(steps) * FACTORS.len() as u64,
        "verify".into(),
        hide,
    );
    let mut out = Vec::new();
    for f in FACTORS {
        let max_lr = pick * f;
        model
            .load_state(initial)
            .context("--verify: initial weights")?;
        let sched: Box<dyn Schedule<f32>> = if c.optimizer.kind.is_schedule_free() {
            Box::new(
                ConstantConfig::new(max_lr)
                    .build()
                    .map_err(|e| anyhow!("--verify: {e}"))?,
            )
        } else {
            Box::new(OneCycle::pytorch(max_lr, steps).map_err(|e| anyhow!("--verify: {e}"))?)
        };
        let mut opt = Optimizer::new(c.optimizer.kind);
        let mut tail = Vec::new();
        let per_pass = (train_idx.len() / c.batch).max(1);
        let mut order = Vec::new();
        let mut order_pass = 0;
        for s in 0..steps {
            let (pass, b) = (s as usize / per_pass, s as usize % per_pass);
            // A pass's order once, at its first batch (the trial subset, reshuffled per pass).
            if b == 0 {
                order_pass = pass;
                order = batch::epoch_order(train_idx.len(), c.seed ^ SALT, pass + 1)
                    .into_iter()
                    .map(|i| train_idx[i])
                    .collect();
            }
            let bt = batch::train_batch(tr, &order, c.batch, b, split.augment, c.seed ^ SALT, pass);
            let momentum = sched.momentum(s).unwrap_or(c.optimizer.momentum);
            let loss = model
                .try_train_step(&bt.x, &bt.labels, &mut opt, sched.lr(s), momentum)
                .context("--verify step")?;
            if 4 * s >= 3 * steps {
                tail.push(loss);
            }
            pb.inc(1);
        }
        let bn = BnBatches {
            ds: tr,
            order: &order,
            batch: c.batch,
            augment: split.augment,
            seed: c.seed ^ SALT,
            epoch: order_pass,
        };
        let beta = sched
            .momentum(steps.saturating_sub(1))
            .unwrap_or(c.optimizer.momentum);
        let pred = at_eval_point(model, &opt, beta, &bn, |m| {
            m.try_predict(&val.x, 256).context("--verify evaluation")
        })?;
        let ok = pred.iter().zip(&val.labels).filter(|(p, l)| p == l).count();
        out.push(Trial {
            max_lr,
            val_acc: ok as f32 / val_n as f32,
            train_loss: tail.iter().sum::<f32>() / tail.len().max(1) as f32,
        });
    }
    pb.finish_and_clear();
    let best = out
        .iter()
        .copied()
        .max_by(|a, b| {
            let loss = |t: &Trial| {
                if t.train_loss.is_finite() {
                    -t.train_loss
                } else {
                    f32::MIN
                }
            };
            a.val_acc
                .total_cmp(&b.val_acc)
                .then(loss(a).total_cmp(&loss(b)))
        })
        .context("--verify ran no trial")?;
    let n = FACTORS.len() as f64;
    let used = n * f64::from(steps) * c.batch as f64 + n * val_n as f64 / 3.0;
    Ok(Verified {
        trials: out,
        chosen: best.max_lr,
        steps,
        train_images: train_idx.len(),
        val_images: val_n,
        share_of_run: used / run_images.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trials_fit_the_budget() {
        // 3 epochs of 60 000 images, batch 128, 1024 held back.
        let run = 3 * 60_000;
        let s = steps_per_trial(run, 1024, 128);
        let used = 3.0 * f64::from(s) * 128.0 + 1024.0;
        assert!(used <= BUDGET * run as f64, "{used}");
        assert!(used > 0.9 * BUDGET * run as f64);
        assert_eq!(steps_per_trial(10, 1024, 128), MIN_STEPS);
    }
}
