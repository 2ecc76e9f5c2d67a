//! The run configuration: defaults, an optional TOML file (`--config`), and
//! command-line flags, merged in that order (a flag beats the file, the file
//! beats the default).
//!
//! ```toml
//! [run]
//! data = "synthetic"
//! model = "cnn-s"
//! epochs = 4
//! batch = 128
//! max_lr = "auto"        # or a number
//!
//! [optimizer]
//! kind = "sgd"           # or "adam"
//! momentum = 0.9
//! weight_decay = 5e-4
//!
//! [find]
//! start_lr = 1e-7
//! end_lr = 10.0
//! num_it = 100
//!
//! [schedule]             # lrate-core's schedule format (see `lrate schedule`)
//! ...
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::cli::{CommonArgs, TrainArgs};
use crate::nn::{ModelKind, OptimizerKind};

/// `[run]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Data spec.
    pub data: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// Epochs.
    pub epochs: Option<u32>,
    /// Batch size.
    pub batch: Option<usize>,
    /// Seed.
    pub seed: Option<u64>,
    /// `"auto"` or a number.
    pub max_lr: Option<MaxLrValue>,
    /// Training subset.
    pub limit_train: Option<usize>,
    /// Test subset.
    pub limit_test: Option<usize>,
    /// Device.
    pub device: Option<String>,
    /// Output directory (relative to the working directory).
    pub out: Option<PathBuf>,
    /// Schedule by name (ignored when a `[schedule]` table is present).
    pub schedule: Option<String>,
}

/// `max_lr` in a config file: a number or `"auto"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum MaxLrValue {
    /// A fixed value.
    Number(f32),
    /// `"auto"`.
    Text(String),
}

/// `[optimizer]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSection {
    /// `"sgd"` or `"adam"`.
    pub kind: Option<String>,
    /// Momentum / β1 where the schedule sets none.
    pub momentum: Option<f32>,
    /// Nesterov momentum (SGD).
    pub nesterov: Option<bool>,
    /// Weight decay.
    pub weight_decay: Option<f32>,
    /// Adam β2.
    pub beta2: Option<f32>,
    /// Adam ε.
    pub eps: Option<f32>,
}

/// `[find]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindSection {
    /// First lr.
    pub start_lr: Option<f32>,
    /// Last lr.
    pub end_lr: Option<f32>,
    /// Batches.
    pub num_it: Option<u32>,
    /// Suggestion rule for the bounds.
    pub suggestion: Option<String>,
}

/// A whole config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[run]`.
    #[serde(default)]
    pub run: RunSection,
    /// `[optimizer]`.
    #[serde(default)]
    pub optimizer: OptimizerSection,
    /// `[find]`.
    #[serde(default)]
    pub find: FindSection,
    /// `[schedule]`, in lrate-core's format; parsed by [`crate::sched`].
    pub schedule: Option<toml::Value>,
}

impl FileConfig {
    /// Reads and parses a TOML file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read config file", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{}: invalid config", path.display()))
    }
}

/// The optimizer of a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// `"sgd"` or `"adam"`.
    pub adam: bool,
    /// Momentum (SGD) or β1 (Adam) where the schedule sets none.
    pub momentum: f32,
    /// Nesterov momentum (SGD only).
    pub nesterov: bool,
    /// Weight decay.
    pub weight_decay: f32,
    /// Adam β2.
    pub beta2: f32,
    /// Adam ε.
    pub eps: f32,
}

impl OptimizerConfig {
    /// The nn layer's optimizer kind.
    pub fn kind(&self) -> OptimizerKind {
        if self.adam {
            OptimizerKind::Adam {
                beta2: self.beta2,
                eps: self.eps,
                weight_decay: self.weight_decay,
            }
        } else {
            OptimizerKind::Sgd {
                nesterov: self.nesterov,
                weight_decay: self.weight_decay,
            }
        }
    }
}

/// The range test of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindConfig {
    /// First lr.
    pub start_lr: f32,
    /// Last lr.
    pub end_lr: f32,
    /// Batches.
    pub num_it: u32,
    /// Suggestion rule that sets the bounds (see [`crate::find::parse_rule`]).
    pub suggestion: String,
}

/// Everything shared by `find` and `train`, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommonConfig {
    /// Data spec.
    pub data: String,
    /// Model name.
    pub model: String,
    /// Batch size.
    pub batch: usize,
    /// Seed.
    pub seed: u64,
    /// Training subset.
    pub limit_train: Option<usize>,
    /// Test subset.
    pub limit_test: Option<usize>,
    /// Device.
    pub device: String,
    /// Output directory.
    pub out: PathBuf,
    /// Optimizer.
    pub optimizer: OptimizerConfig,
    /// Range test.
    pub find: FindConfig,
}

impl CommonConfig {
    /// The model kind.
    pub fn model_kind(&self) -> Result<ModelKind> {
        Ok(self.model.parse::<ModelKind>()?)
    }
}

fn check_positive(name: &str, v: f32) -> Result<f32> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        bail!("{name} must be a positive number, got {v}")
    }
}

fn check_unit(name: &str, v: f32) -> Result<f32> {
    if v.is_finite() && (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        bail!("{name} must be in [0, 1), got {v}")
    }
}

/// Merges defaults, file and flags for the options `find` and `train` share.
pub fn resolve_common(a: &CommonArgs, f: &FileConfig) -> Result<CommonConfig> {
    let opt_kind = a
        .optimizer
        .clone()
        .or(f.optimizer.kind.clone())
        .unwrap_or_else(|| "sgd".into());
    let adam = match opt_kind.to_ascii_lowercase().as_str() {
        "sgd" => false,
        "adam" => true,
        o => bail!("unknown optimizer `{o}` (expected sgd or adam)"),
    };
    let batch = a.batch.or(f.run.batch).unwrap_or(128);
    if batch == 0 {
        bail!("--batch must be at least 1");
    }
    let find = FindConfig {
        start_lr: check_positive("start_lr", a.start_lr.or(f.find.start_lr).unwrap_or(1e-7))?,
        end_lr: check_positive("end_lr", a.end_lr.or(f.find.end_lr).unwrap_or(10.0))?,
        num_it: a.num_it.or(f.find.num_it).unwrap_or(100),
        suggestion: a
            .suggestion
            .clone()
            .or(f.find.suggestion.clone())
            .unwrap_or_else(|| "near-min".into()),
    };
    crate::find::parse_rule(&find.suggestion)?;
    if find.end_lr <= find.start_lr {
        bail!(
            "end_lr ({}) must be above start_lr ({})",
            find.end_lr,
            find.start_lr
        );
    }
    if find.num_it < 2 {
        bail!("num_it must be at least 2");
    }
    let c = CommonConfig {
        data: a
            .data
            .clone()
            .or(f.run.data.clone())
            .unwrap_or_else(|| "synthetic".into()),
        model: a
            .model
            .clone()
            .or(f.run.model.clone())
            .unwrap_or_else(|| "cnn-s".into()),
        batch,
        seed: a.seed.or(f.run.seed).unwrap_or(0),
        limit_train: a.limit_train.or(f.run.limit_train),
        limit_test: a.limit_test.or(f.run.limit_test),
        device: a
            .device
            .clone()
            .or(f.run.device.clone())
            .unwrap_or_else(|| "cpu".into()),
        out: a
            .out
            .clone()
            .or(f.run.out.clone())
            .unwrap_or_else(|| PathBuf::from("runs/lrate")),
        optimizer: OptimizerConfig {
            adam,
            momentum: check_unit(
                "momentum",
                a.momentum.or(f.optimizer.momentum).unwrap_or(0.9),
            )?,
            nesterov: f.optimizer.nesterov.unwrap_or(false),
            weight_decay: {
                let wd = a.weight_decay.or(f.optimizer.weight_decay).unwrap_or(5e-4);
                if !(wd.is_finite() && wd >= 0.0) {
                    bail!("weight_decay must be ≥ 0, got {wd}");
                }
                wd
            },
            beta2: check_unit("beta2", f.optimizer.beta2.unwrap_or(0.99))?,
            eps: check_positive("eps", f.optimizer.eps.unwrap_or(1e-8))?,
        },
        find,
    };
    c.model_kind()?;
    if c.optimizer.nesterov && c.optimizer.adam {
        bail!("nesterov applies to sgd only");
    }
    Ok(c)
}

/// `--max-lr`: a number or `auto` (range test).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum MaxLr {
    /// Run the range test and use its bounds.
    Auto,
    /// A fixed peak learning rate.
    Fixed(f32),
    /// The learning rates written in the `[schedule]` table (the default when the
    /// config file has one and no `max_lr` is given).
    FromSchedule,
}

impl std::str::FromStr for MaxLr {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(MaxLr::Auto);
        }
        if s.eq_ignore_ascii_case("schedule") {
            return Ok(MaxLr::FromSchedule);
        }
        let v: f32 = s
            .parse()
            .map_err(|_| anyhow::anyhow!("--max-lr must be a number or `auto`, got `{s}`"))?;
        Ok(MaxLr::Fixed(check_positive("max_lr", v)?))
    }
}

/// The `train`-only options, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// Shared options.
    pub common: CommonConfig,
    /// Epochs.
    pub epochs: u32,
    /// Peak lr or auto.
    pub max_lr: MaxLr,
    /// Schedule name given by flag or `[run] schedule` (None: the file's
    /// `[schedule]` table, or the default 1cycle).
    pub schedule_name: Option<String>,
    /// The file's `[schedule]` table.
    pub schedule_table: Option<toml::Value>,
}

/// Merges defaults, the `--config` file and the flags of `lrate train`.
pub fn resolve_train(a: &TrainArgs) -> Result<TrainOptions> {
    let f = match &a.common.config {
        Some(p) => FileConfig::read(p)?,
        None => FileConfig::default(),
    };
    let common = resolve_common(&a.common, &f)?;
    let default_epochs = if common.data == "synthetic" { 8 } else { 5 };
    let epochs = a.epochs.or(f.run.epochs).unwrap_or(default_epochs);
    if epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let max_lr = match (&a.max_lr, &f.run.max_lr) {
        (Some(s), _) => s.parse()?,
        (None, Some(MaxLrValue::Number(v))) => MaxLr::Fixed(check_positive("max_lr", *v)?),
        (None, Some(MaxLrValue::Text(s))) => s.parse()?,
        (None, None) if f.schedule.is_some() && a.schedule.is_none() => MaxLr::FromSchedule,
        (None, None) => MaxLr::Auto,
    };
    // A --schedule flag replaces the file's [schedule] table.
    let (schedule_name, schedule_table) = match &a.schedule {
        Some(n) => (Some(n.clone()), None),
        None => match f.schedule.clone() {
            Some(t) => (None, Some(t)),
            None => (f.run.schedule.clone(), None),
        },
    };
    Ok(TrainOptions {
        common,
        epochs,
        max_lr,
        schedule_name,
        schedule_table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.toml");
        std::fs::write(
            &p,
            "[run]\nepochs = 7\nbatch = 32\nmax_lr = 0.5\nmodel = \"mlp\"\n[optimizer]\nkind = \"adam\"\nmomentum = 0.8\n[find]\nnum_it = 50\n",
        )
        .unwrap();
        let mut a = TrainArgs::default();
        a.common.config = Some(p.clone());
        a.common.batch = Some(64);
        let o = resolve_train(&a).unwrap();
        assert_eq!(o.epochs, 7);
        assert_eq!(o.common.batch, 64);
        assert_eq!(o.max_lr, MaxLr::Fixed(0.5));
        assert_eq!(o.common.model, "mlp");
        assert!(o.common.optimizer.adam);
        assert_eq!(o.common.optimizer.momentum, 0.8);
        assert_eq!(o.common.find.num_it, 50);
        a.max_lr = Some("auto".into());
        assert_eq!(resolve_train(&a).unwrap().max_lr, MaxLr::Auto);
    }

    #[test]
    fn bad_values_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.toml");
        std::fs::write(&p, "[run]\nepoch = 7\n").unwrap();
        let mut a = TrainArgs::default();
        a.common.config = Some(p);
        let e = format!("{:#}", resolve_train(&a).unwrap_err());
        assert!(e.contains("c.toml") && e.contains("epoch"), "{e}");
        let a = TrainArgs {
            max_lr: Some("fast".into()),
            ..TrainArgs::default()
        };
        assert!(resolve_train(&a).is_err());
        let with = |common: CommonArgs| TrainArgs {
            common,
            ..TrainArgs::default()
        };
        let a = with(CommonArgs {
            model: Some("vgg".into()),
            ..CommonArgs::default()
        });
        assert!(resolve_train(&a).is_err());
        let a = with(CommonArgs {
            start_lr: Some(1.0),
            end_lr: Some(0.1),
            ..CommonArgs::default()
        });
        assert!(resolve_train(&a).is_err());
    }
}
