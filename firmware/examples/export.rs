//! Trains the firmware's base model on the host and writes its weights file
//! (see `lrate_firmware::export` for the recipe):
//!
//! ```text
//! cargo run --release -p lrate-firmware --example export -- --out firmware/model/base.bin --seed 2026
//! ```
//!
//! `--out` defaults to `firmware/model/base.bin` (relative to the current
//! directory, i.e. run it from the workspace root), `--seed` to 2026: the
//! committed file, reproduced bit for bit. Creates the file's directory and
//! prints a one-line JSON summary to stdout.

use anyhow::Context;
use clap::Parser;
use lrate_firmware::export::{self, DEFAULT_OUT, DEFAULT_SEED};
use lrate_firmware::weights;
use std::path::{Path, PathBuf};

/// Trains the firmware's base model and writes its weights file.
#[derive(Parser)]
struct Args {
    /// Output weights file
    #[arg(long, value_name = "FILE", default_value = DEFAULT_OUT)]
    out: PathBuf,
    /// Seed of the weights and the training data
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    seed: u64,
}

#[derive(serde::Serialize)]
struct Summary {
    source_accuracy: f32,
    shifted_accuracy: f32,
    final_loss: f32,
    bytes: usize,
}

fn run(out: &Path, seed: u64) -> anyhow::Result<()> {
    let mut blob = vec![0u8; weights::BLOB_LEN];
    let s = export::train(seed, &mut blob).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, &blob[..s.bytes]).with_context(|| format!("writing {}", out.display()))?;
    let summary = Summary {
        source_accuracy: s.source_accuracy,
        shifted_accuracy: s.shifted_accuracy,
        final_loss: s.final_loss,
        bytes: s.bytes,
    };
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    run(&a.out, a.seed)
}
