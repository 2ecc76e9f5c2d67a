//! `lrate export`: trains the firmware's base model and writes its weights file.
//!
//! The model is the firmware's own classifier (`lrate_firmware::model`, a frozen
//! 64→48 ReLU feature layer and a 48→10 head) trained on the *source* domain of
//! the vibration task (`lrate_firmware::signal::Domain::SOURCE`: nominal sensor
//! gain, level mount, 50 Hz machines) with the firmware's no_std learning code
//! (`lrate_firmware::base`, SGD with momentum), under an `lrate-core` 1cycle
//! schedule ([`OneCycle::pytorch`], `max_lr` = [`MAX_LR`], momentum cycled
//! 0.95 → 0.85 → 0.95; Smith & Topin 2018, PyTorch `OneCycleLR`). The result is
//! written in the firmware's checked format (`lrate_firmware::weights`: magic,
//! shapes, little-endian f32, CRC-32), which the firmware embeds with
//! `include_bytes!` and validates at boot.
//!
//! Everything is deterministic in `seed` (software `libm` math, no threads), so
//! the committed `firmware/model/base.bin` is reproduced bit for bit by
//!
//! ```text
//! lrate export --out firmware/model/base.bin --seed 2026
//! ```

use anyhow::{ensure, Context};
use lrate_core::OneCycle;
use lrate_firmware::model::Model;
use lrate_firmware::signal::Domain;
use lrate_firmware::{base, weights};
use std::path::Path;

/// Seed of the committed `firmware/model/base.bin`.
pub const DEFAULT_SEED: u64 = 2026;
/// Where the firmware expects the file, relative to the workspace root.
pub const DEFAULT_OUT: &str = "firmware/model/base.bin";
/// Optimizer steps (batches of `lrate_firmware::base::BASE_BATCH` = 32).
pub const STEPS: u32 = 3000;
/// Peak learning rate of the 1cycle schedule.
pub const MAX_LR: f32 = 0.1;
/// L2 weight decay.
pub const WEIGHT_DECAY: f32 = 1e-4;
/// Source-domain accuracy the exported model must reach.
pub const MIN_SOURCE_ACCURACY: f32 = 0.95;

/// What [`train`] produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExportSummary {
    /// Accuracy on 2000 fresh source-domain windows.
    pub source_accuracy: f32,
    /// Accuracy on 2000 fresh shifted-domain windows (the deployment the
    /// firmware adapts to; low by design).
    pub shifted_accuracy: f32,
    /// Mean loss of the last 100 steps.
    pub final_loss: f32,
    /// Size of the weights file in bytes.
    pub bytes: usize,
}

/// Trains the base model from `seed` and returns it with its weights file bytes.
pub fn train(seed: u64) -> anyhow::Result<(Vec<u8>, ExportSummary)> {
    let schedule = OneCycle::pytorch(MAX_LR, STEPS).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut m = Model::zeroed();
    m.init(seed);
    let mut tail = 0.0f64;
    base::train(
        &mut m,
        &schedule,
        STEPS,
        seed.wrapping_add(1),
        WEIGHT_DECAY,
        |step, _, loss| {
            if step + 100 >= STEPS {
                tail += loss as f64;
            }
        },
    );
    let source_accuracy = base::accuracy(&m, &Domain::SOURCE, 2000, seed.wrapping_add(2));
    let shifted_accuracy = base::accuracy(&m, &Domain::SHIFTED, 2000, seed.wrapping_add(3));
    ensure!(
        source_accuracy >= MIN_SOURCE_ACCURACY,
        "base model reached only {:.1} % on the source domain",
        100.0 * source_accuracy
    );
    let mut blob = vec![0u8; weights::BLOB_LEN];
    let bytes = weights::store(&m, &mut blob).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let summary = ExportSummary {
        source_accuracy,
        shifted_accuracy,
        final_loss: (tail / 100.0) as f32,
        bytes,
    };
    Ok((blob, summary))
}

/// Trains the base model from `seed` and writes the weights file to `out`
/// (creating its directory); prints a one-line JSON summary to stdout.
pub fn run(out: &Path, seed: u64) -> anyhow::Result<()> {
    let (blob, summary) = train(seed)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, &blob).with_context(|| format!("writing {}", out.display()))?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed weights file is exactly what `lrate export --seed 2026` writes.
    #[test]
    fn committed_base_model_is_reproducible() {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../")
            .join(DEFAULT_OUT);
        let committed = std::fs::read(&committed).expect("firmware/model/base.bin is committed");
        let (blob, summary) = train(DEFAULT_SEED).unwrap();
        assert!(
            summary.source_accuracy >= MIN_SOURCE_ACCURACY,
            "{summary:?}"
        );
        assert!(summary.shifted_accuracy < 0.3, "{summary:?}");
        assert!(
            blob == committed,
            "regenerate with `lrate export --out {DEFAULT_OUT} --seed {DEFAULT_SEED}`"
        );
        let mut m = Model::zeroed();
        weights::load(&committed, &mut m).unwrap();
    }
}
