//! Evaluation at the optimizer's evaluation point.
//!
//! Schedule-free optimizers (`sf-sgd`, `sf-adamw`; Defazio et al. 2024) take gradients at `y`,
//! the weights the model trains with, but their iterate to evaluate and ship is
//! `x = lerp(y, z, 1 − 1/β)`. Batch-norm running statistics gathered while training at `y`
//! do not fit `x`, so, as the `schedule_free` README prescribes, they are recomputed at `x`
//! from training-mode forward passes over up to [`BN_BATCHES`] training batches (no
//! optimizer step) before evaluating. Afterwards `y` and the training statistics are put
//! back bit for bit, so evaluating never changes the training run (and `--resume` stays
//! exact). For the other optimizers the model is evaluated as it is.

use anyhow::{Context, Result};

use crate::data::{batch, Augment, Dataset};
use crate::nn::{Model, NnDevice, Optimizer};

/// Training batches whose forward passes recompute the BN statistics at `x` (the
/// `schedule_free` README uses 50).
pub const BN_BATCHES: usize = 50;

/// The training batches for the BN passes: batches `0..` of `order`, augmented as batch `b`
/// of pass `epoch` with `seed` (see [`batch::train_batch`]).
#[derive(Clone, Copy, Debug)]
pub struct BnBatches<'a> {
    /// The training set.
    pub ds: &'a Dataset,
    /// Image order.
    pub order: &'a [usize],
    /// Batch size.
    pub batch: usize,
    /// Augmentation.
    pub augment: Augment,
    /// Augmentation seed.
    pub seed: u64,
    /// Pass (epoch) of the augmentation.
    pub epoch: usize,
}

/// Runs `f` on `model` at `opt`'s evaluation point: for a schedule-free optimizer with
/// momentum / β₁ `beta`, at `x` with the BN statistics recomputed there from `data`; then
/// restores `y` and the training statistics (also when `f` fails). Other optimizers: `f`
/// sees `model` unchanged.
pub fn at_eval_point<D: NnDevice, T>(
    model: &mut Model<D>,
    opt: &Optimizer,
    beta: f32,
    data: &BnBatches<'_>,
    f: impl FnOnce(&Model<D>) -> Result<T>,
) -> Result<T> {
    let Some(saved) = model.enter_eval_point(opt, beta) else {
        return f(model);
    };
    let out = recalibrate(model, data).and_then(|()| f(model));
    model.leave_eval_point(saved);
    out
}

fn recalibrate<D: NnDevice>(model: &mut Model<D>, d: &BnBatches<'_>) -> Result<()> {
    if !model.has_batchnorm() || d.order.is_empty() {
        return Ok(());
    }
    let n = d.order.len().div_ceil(d.batch.max(1)).min(BN_BATCHES);
    for b in 0..n {
        let bt = batch::train_batch(d.ds, d.order, d.batch, b, d.augment, d.seed, d.epoch);
        model
            .try_bn_pass(&bt.x, b)
            .context("recomputing the batch-norm statistics at the evaluation point")?;
    }
    Ok(())
}
