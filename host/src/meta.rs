//! [`Meta`]: the JSON metadata stored in a checkpoint beside its tensors: the resolved run
//! configuration, the position in the run (step, epoch, batch) and the RNG note.

use serde::{Deserialize, Serialize};

use crate::config::CommonConfig;

/// Version of the [`Meta`] layout; version 2 stores typed model, device, optimizer and
/// bounds rule (version 1, before them, held strings).
pub const VERSION: u32 = 2;

/// Everything a checkpoint needs besides the tensors; also the record of the
/// resolved run configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// Format version.
    pub version: u32,
    /// Next optimizer step to run.
    pub step: u32,
    /// Epoch of the next step.
    pub epoch: u32,
    /// Batch index of the next step within its epoch.
    pub batch_in_epoch: u32,
    /// Shared options (data, model, optimizer, seed …).
    pub common: CommonConfig,
    /// Epochs in the run.
    pub epochs: u32,
    /// Steps per epoch.
    pub steps_per_epoch: u32,
    /// Peak learning rate used.
    pub max_lr: f32,
    /// Lower bound (from the range test), if any.
    pub min_lr: Option<f32>,
    /// Short name of the schedule.
    pub schedule_name: String,
    /// The schedule (lrate-core's serde format).
    pub schedule: serde_json::Value,
    /// Seconds spent in training steps so far.
    pub train_seconds: f64,
    /// Seconds of the whole run so far.
    pub total_seconds: f64,
    /// Images trained on so far.
    pub images: u64,
    /// The run is complete.
    pub finished: bool,
    /// The RNG state: shuffles and augmentation are ChaCha8 streams derived from
    /// `(common.seed, epoch[, batch])`, so `(seed, epoch, batch_in_epoch)` is the
    /// whole state; recorded here explicitly for readers.
    pub rng: String,
    /// What `lrate predict` needs of the data: input shape, class names and the training
    /// set's normalisation (absent in checkpoints from before it was recorded).
    #[serde(default)]
    pub data: Option<DataInfo>,
}

/// The data a run's network was trained on, as prediction needs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// Input `[C, H, W]`.
    pub input: [usize; 3],
    /// Class names; label `i` is `class_names[i]`.
    pub class_names: Vec<String>,
    /// Per-channel mean of the training pixels (in `[0, 1]` for image folders).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation.
    pub std: Vec<f32>,
}

impl DataInfo {
    /// The record of `split`.
    pub fn of(split: &crate::data::Split) -> Self {
        let t = &split.train;
        DataInfo {
            input: [t.c, t.h, t.w],
            class_names: split.class_names.clone(),
            mean: split.mean.clone(),
            std: split.std.clone(),
        }
    }
}

impl Meta {
    /// The RNG note of position `(epoch, batch)`.
    pub fn rng_note(seed: u64, epoch: u32, batch: u32) -> String {
        format!("chacha8 streams from seed {seed}; next epoch {epoch}, batch {batch}")
    }

    /// Parses the metadata of a checkpoint, with a clear error for another layout version.
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct V {
            version: u32,
        }
        let v: V = serde_json::from_str(text)?;
        if v.version != VERSION {
            anyhow::bail!(
                "checkpoint metadata version {} (this lrate reads version {VERSION}); \
                 start a new run",
                v.version
            );
        }
        Ok(serde_json::from_str(text)?)
    }
}
