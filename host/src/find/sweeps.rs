//! The sweeps of an averaged range test, run on the real model and data.

use anyhow::{anyhow, Context, Result};
use lrate_core::{AveragedRangeTest, RangeTest, Status};

use super::CURVE_CAPACITY;
use crate::config::{CommonConfig, MAX_REPEATS};
use crate::data::{batch, Split};
use crate::nn::{Model, NnDevice, Optimizer};
use crate::progress;

/// lrate-core's averaged range test at the host's capacities.
pub type Averaged = AveragedRangeTest<f32, CURVE_CAPACITY, { MAX_REPEATS as usize }>;

/// Salt of the sweeps' data order: the sweeps read the data in their own seeded order, so
/// they never disturb the training order.
const ORDER_SALT: u64 = 0x006c_725f_6669_6e64;
/// Salt of the sweeps' augmentation.
const AUGMENT_SALT: u64 = 0x6c72;

/// The data-order and augmentation seeds of sweep `k`: sweep 0 has the run's own (so one
/// sweep is what `lrate find` always ran), sweep k > 0 its own where the data varies.
fn seeds(c: &CommonConfig, k: u32) -> (u64, u64) {
    let shift = if k > 0 && c.find.vary.data() {
        batch::mix(u64::from(k))
    } else {
        0
    };
    (c.seed ^ ORDER_SALT ^ shift, c.seed ^ AUGMENT_SALT ^ shift)
}

/// Runs `c.find.repeats` sweeps on `model`, each from its initial state (or, where `--vary`
/// includes `init`, sweep k > 0 from the weights of seed + k), and restores the initial state
/// afterwards, also when a sweep fails. The sweeps use their own optimizer: the caller's is
/// never touched.
pub fn run<D: NnDevice>(
    model: &mut Model<D>,
    dev: &D,
    split: &Split,
    c: &CommonConfig,
    hide: bool,
) -> Result<Box<Averaged>> {
    super::restoring(model, "the range test", |model, initial| {
        sweeps(model, dev, split, c, hide, initial)
    })
}

fn sweeps<D: NnDevice>(
    model: &mut Model<D>,
    dev: &D,
    split: &Split,
    c: &CommonConfig,
    hide: bool,
    initial: &[crate::nn::NamedTensor],
) -> Result<Box<Averaged>> {
    let mut avg = Box::new(Averaged::new(c.find.range_test()).map_err(|e| anyhow!("{e}"))?);
    let total = u64::from(c.find.num_it) * u64::from(c.find.repeats);
    let pb = progress::bar(total, "lr find".into(), hide);
    for k in 0..c.find.repeats {
        if k > 0 && c.find.vary.init() {
            let mut other = c.clone();
            other.seed = c.seed.wrapping_add(u64::from(k));
            let start = other.build_model(split, dev)?.state();
            model
                .load_state(&start)
                .context("range test: initial weights of a sweep")?;
        } else {
            model
                .load_state(initial)
                .context("range test: initial weights")?;
        }
        let mut rt = avg.new_sweep();
        one_sweep(&mut rt, model, split, c, k, &|lr, loss| {
            pb.inc(1);
            let of = if c.find.repeats > 1 {
                format!("sweep {}/{} ", k + 1, c.find.repeats)
            } else {
                String::new()
            };
            pb.set_message(format!("{of}lr {lr:.2e} loss {loss:.4}"));
        })?;
        avg.push(rt)
            .map_err(|r| anyhow!("range test sweep {k} refused: {:?}", r.reason))?;
    }
    pb.finish_and_clear();
    Ok(avg)
}

/// One sweep: batches in the order of sweep `k`, each trained at the sweep's lr with a
/// fresh optimizer, until the range test is done.
fn one_sweep<D: NnDevice, const N: usize>(
    rt: &mut RangeTest<f32, N>,
    model: &mut Model<D>,
    split: &Split,
    c: &CommonConfig,
    k: u32,
    step_done: &dyn Fn(f32, f32),
) -> Result<()> {
    let mut opt = Optimizer::new(c.optimizer.kind);
    let tr = &split.train;
    let spe = batch::steps_per_epoch(tr.len(), c.batch);
    let (order_seed, augment_seed) = seeds(c, k);
    let mut order = Vec::new();
    let mut i = 0usize;
    while let Some(lr) = rt.next_lr() {
        let (pass, b) = (i / spe, i % spe);
        if b == 0 {
            order = batch::epoch_order(tr.len(), order_seed, pass);
        }
        let bt = batch::train_batch(tr, &order, c.batch, b, split.augment, augment_seed, pass);
        let loss = model
            .try_train_step(&bt.x, &bt.labels, &mut opt, lr, c.optimizer.momentum)
            .context("range test step")?;
        step_done(lr, loss);
        i += 1;
        if let Status::Done(_) = rt.record(loss) {
            break;
        }
    }
    Ok(())
}
