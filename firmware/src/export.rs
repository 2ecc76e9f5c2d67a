//! The recipe of the committed base model, `model/base.bin` (run on the host by
//! `examples/export.rs`).
//!
//! The model is this crate's classifier ([`crate::model`], a frozen 64→48 ReLU
//! feature layer and a 48→10 head) trained on the *source* domain of the
//! vibration task ([`Domain::SOURCE`]: nominal sensor gain, level mount, 50 Hz
//! machines) with this crate's own no_std learning code ([`crate::base`], SGD with
//! momentum), under an `lrate-core` 1cycle schedule ([`OneCycle::pytorch`],
//! `max_lr` = [`MAX_LR`], momentum cycled 0.95 → 0.85 → 0.95; Smith & Topin 2018,
//! PyTorch `OneCycleLR`). The result is written in the firmware's checked format
//! ([`crate::weights`]: magic, shapes, little-endian f32, CRC-32), which the
//! firmware embeds with `include_bytes!` and validates at boot.
//!
//! Everything is deterministic in `seed` (software `libm` math, no threads), so
//! the committed `firmware/model/base.bin` is reproduced bit for bit by
//!
//! ```text
//! cargo run --release -p lrate-firmware --example export -- --out firmware/model/base.bin --seed 2026
//! ```
//!
//! and `tests/export.rs` checks that it is. Nothing here needs `std` or an
//! allocator: [`train`] writes into a caller's buffer, the example does the file
//! and the JSON summary.

use crate::base;
use crate::model::Model;
use crate::signal::Domain;
use crate::weights::{self, WeightsError};
use core::fmt;
use lrate_core::{ConfigError, OneCycle};

/// Seed of the committed `firmware/model/base.bin`.
pub const DEFAULT_SEED: u64 = 2026;
/// Where the firmware expects the file, relative to the workspace root.
pub const DEFAULT_OUT: &str = "firmware/model/base.bin";
/// Optimizer steps (batches of [`base::BASE_BATCH`] = 32).
pub const STEPS: u32 = 3000;
/// Peak learning rate of the 1cycle schedule.
pub const MAX_LR: f32 = 0.1;
/// L2 weight decay.
pub const WEIGHT_DECAY: f32 = 1e-4;
/// Source-domain accuracy the exported model must reach.
pub const MIN_SOURCE_ACCURACY: f32 = 0.95;

/// What [`train`] produced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExportSummary {
    /// Accuracy on 2000 fresh source-domain windows.
    pub source_accuracy: f32,
    /// Accuracy on 2000 fresh shifted-domain windows (the deployment the
    /// firmware adapts to; low by design).
    pub shifted_accuracy: f32,
    /// Mean loss of the last 100 steps.
    pub final_loss: f32,
    /// Size of the weights file in bytes (the prefix of the buffer it was
    /// written to).
    pub bytes: usize,
}

/// Why [`train`] produced no weights file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExportError {
    /// lrate-core refused the 1cycle schedule.
    Schedule(ConfigError),
    /// The trained model reached only this source-domain accuracy (0–1), below
    /// [`MIN_SOURCE_ACCURACY`].
    Accuracy(f32),
    /// The weights could not be stored (e.g. the buffer is shorter than
    /// [`weights::BLOB_LEN`]).
    Weights(WeightsError),
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Schedule(e) => write!(f, "{e}"),
            Self::Accuracy(a) => write!(
                f,
                "base model reached only {:.1} % on the source domain",
                100.0 * a
            ),
            Self::Weights(e) => write!(f, "{e:?}"),
        }
    }
}

impl core::error::Error for ExportError {}

/// Trains the base model from `seed` and writes its weights file into the
/// first [`ExportSummary::bytes`] bytes of `out` (at least
/// [`weights::BLOB_LEN`] long).
pub fn train(seed: u64, out: &mut [u8]) -> Result<ExportSummary, ExportError> {
    let schedule = OneCycle::pytorch(MAX_LR, STEPS).map_err(ExportError::Schedule)?;
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
    if source_accuracy < MIN_SOURCE_ACCURACY {
        return Err(ExportError::Accuracy(source_accuracy));
    }
    let bytes = weights::store(&m, out).map_err(ExportError::Weights)?;
    Ok(ExportSummary {
        source_accuracy,
        shifted_accuracy,
        final_loss: (tail / 100.0) as f32,
        bytes,
    })
}
