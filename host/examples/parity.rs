//! Training-parity trace for `bench/torch_parity.py`: builds a run exactly as `lrate train`
//! does (same flags), writes its initial weights and BN statistics, the normalisation and the
//! batch order of every epoch, then trains and records per step the loss, lr, momentum and
//! the weight norm, and per epoch the test accuracy. The PyTorch side loads the same weights,
//! replays the same batches with the same optimizer and schedule, and compares.
//!
//! ```text
//! cargo run --release -p lrate --example parity -- --trace-dir DIR [--trace-steps N] \
//!     --data fashion-mnist:DIR --model cnn-s --schedule onecycle-pytorch --max-lr 0.4 --epochs 1
//! ```
//!
//! Writes `DIR/init.safetensors` (lrate's checkpoint format: `model/<name>` tensors) and
//! `DIR/trace.json`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use lrate::checkpoint::Checkpoint;
use lrate::cli::TrainArgs;
use lrate::config;
use lrate::data::batch;
use lrate::train;
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// Where to write init.safetensors and trace.json.
    #[arg(long)]
    trace_dir: PathBuf,
    /// Stop after this many steps (default: the whole run).
    #[arg(long)]
    trace_steps: Option<u32>,
    /// Also write every training batch as lrate fed it (after augmentation) to
    /// `DIR/batches.f32` (little-endian f32, NCHW, batch after batch), with the labels in
    /// the trace, so the other side needs no data loader.
    #[arg(long)]
    dump_batches: bool,
    #[command(flatten)]
    train: TrainArgs,
}

fn weight_norm(state: &[lrate::nn::NamedTensor]) -> f64 {
    state
        .iter()
        .filter(|(n, _, _)| !n.contains("running_"))
        .flat_map(|(_, _, v)| v.iter())
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

fn main() -> Result<()> {
    lrate::allocator::tune();
    let a = Args::parse();
    std::fs::create_dir_all(&a.trace_dir)
        .with_context(|| format!("{}: cannot create", a.trace_dir.display()))?;
    let o = config::resolve_train(&a.train)?;
    let split = o.common.load_data()?;
    let dev = lrate::nn::Cpu::default();
    let mut st = train::start(&dev, o.clone(), &split, true, Instant::now())?;
    Checkpoint {
        meta: serde_json::to_string(&st.meta)?,
        model: st.model.state(),
        optimizer: Vec::new(),
    }
    .save(&a.trace_dir.join("init.safetensors"))?;
    let spe = st.meta.steps_per_epoch;
    let total = spe * st.meta.epochs;
    let limit = a.trace_steps.unwrap_or(total).min(total);
    let mut orders = Vec::new();
    let mut steps = Vec::new();
    let mut epochs = Vec::new();
    let t0 = Instant::now();
    let mut dumped = Vec::new();
    let mut labels: Vec<Vec<usize>> = Vec::new();
    while st.meta.step < limit {
        let epoch = st.meta.epoch;
        let order = batch::epoch_order(split.train.len(), st.meta.common.seed, epoch as usize);
        orders.push(order[..(spe as usize * st.meta.common.batch).min(order.len())].to_vec());
        while st.meta.batch_in_epoch < spe && st.meta.step < limit {
            if a.dump_batches {
                let c = &st.meta.common;
                let bt = batch::train_batch(
                    &split.train,
                    &order,
                    c.batch,
                    st.meta.batch_in_epoch as usize,
                    split.augment,
                    c.seed,
                    epoch as usize,
                );
                dumped.extend(bt.x.iter().flat_map(|v| v.to_le_bytes()));
                labels.push(bt.labels);
            }
            let row = train::train_step(&mut st, &split, &order)?;
            anyhow::ensure!(
                row.loss.is_finite(),
                "loss {} at step {}",
                row.loss,
                row.step
            );
            steps.push(json!({
                "step": row.step, "lr": row.lr, "momentum": row.momentum, "loss": row.loss,
                "weight_norm": weight_norm(&st.model.state()),
            }));
        }
        if st.meta.batch_in_epoch == spe {
            let acc = train::evaluate(&st.model, &split)?;
            epochs.push(json!({"epoch": epoch, "test_acc": acc}));
            eprintln!(
                "lrate epoch {}: test accuracy {:.2}%",
                epoch + 1,
                acc * 100.0
            );
            st.meta.epoch += 1;
            st.meta.batch_in_epoch = 0;
        }
    }
    if a.dump_batches {
        std::fs::write(a.trace_dir.join("batches.f32"), &dumped)?;
    }
    let trace = json!({
        "batches_file": a.dump_batches.then_some("batches.f32"),
        "batch_labels": labels,
        "model": st.meta.common.model.label(),
        "data": st.meta.common.data.to_string(),
        "batch": st.meta.common.batch,
        "seed": st.meta.common.seed,
        "steps_per_epoch": spe,
        "epochs": st.meta.epochs,
        "mean": split.mean,
        "std": split.std,
        "input": [split.train.c, split.train.h, split.train.w],
        "num_classes": split.train.num_classes,
        "limit_train": st.meta.common.limit_train,
        "limit_test": st.meta.common.limit_test,
        "optimizer": st.meta.common.optimizer,
        "schedule": st.meta.schedule,
        "max_lr": st.meta.max_lr,
        "orders": orders,
        "steps": steps,
        "epoch_results": epochs,
        "seconds": t0.elapsed().as_secs_f64(),
    });
    std::fs::write(a.trace_dir.join("trace.json"), serde_json::to_vec(&trace)?)?;
    eprintln!(
        "wrote {0}/init.safetensors and {0}/trace.json ({1} steps)",
        a.trace_dir.display(),
        steps.len()
    );
    Ok(())
}
