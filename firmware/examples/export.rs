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

use anyhow::{bail, Context};
use lrate_firmware::export::{self, DEFAULT_OUT, DEFAULT_SEED};
use lrate_firmware::weights;
use std::path::{Path, PathBuf};

const USAGE: &str = "\
Trains the firmware's base model and writes its weights file

Usage: export [--out FILE] [--seed N]

Options:
      --out <FILE>  Output weights file [default: firmware/model/base.bin]
      --seed <N>    Seed of the weights and the training data [default: 2026]
  -h, --help        Print help";

/// The JSON summary line (the fields of [`export::ExportSummary`], in order).
#[derive(serde::Serialize)]
struct Summary {
    source_accuracy: f32,
    shifted_accuracy: f32,
    final_loss: f32,
    bytes: usize,
}

struct Args {
    out: PathBuf,
    seed: u64,
}

fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Args>> {
    let mut out = None;
    let mut seed = None;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .with_context(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--seed" => {
                let v = value("--seed")?;
                seed = Some(
                    v.parse()
                        .with_context(|| format!("--seed {v:?} is not an unsigned integer"))?,
                );
            }
            other => bail!("unexpected argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(Some(Args {
        out: out.unwrap_or_else(|| DEFAULT_OUT.into()),
        seed: seed.unwrap_or(DEFAULT_SEED),
    }))
}

/// Trains the base model from `seed` and writes the weights file to `out`
/// (creating its directory); prints the JSON summary to stdout.
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
    match parse(std::env::args().skip(1))? {
        Some(a) => run(&a.out, a.seed),
        None => {
            println!("{USAGE}");
            Ok(())
        }
    }
}
