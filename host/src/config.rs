//! The run configuration: defaults, an optional TOML file (`--config`), and
//! command-line flags, merged in that order (a flag beats the file, the file
//! beats the default).
//!
//! The layering is ripgrep's `LowArgs` → `HiArgs`: [`crate::cli`] and [`FileConfig`] hold
//! what was written (optional strings and numbers); [`resolve_common`] and
//! [`resolve_train`] turn them once into typed values ([`CommonConfig`], [`TrainOptions`]:
//! [`ModelDef`], [`Device`], [`OptimizerKind`], [`BoundsRule`], [`DataSpec`], [`MaxLr`]),
//! and nothing after that parses a string again.
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
//! kind = "sgd"           # or "adam", "adamw", "sf-sgd", "sf-adamw"
//! momentum = 0.9         # SGD momentum, Adam / AdamW β1, schedule-free β
//! weight_decay = 5e-4    # default 0.01 for adamw and sf-adamw
//! # beta2 = 0.999, eps = 1e-8                    (adam, adamw, sf-adamw)
//! # warmup_steps = 0, r = 0, weight_lr_power = 2 (sf-sgd, sf-adamw; use schedule "constant")
//!
//! [find]
//! start_lr = 1e-7
//! end_lr = 10.0
//! num_it = 100
//! repeats = 3            # sweeps averaged (1..=16; default 3)
//! vary = "data"          # what differs between sweeps: "data", "init" or "both"
//! verify = false         # short 1cycle trials at pick × {1/3, 1, 3}
//! suggestion = "near-min" # or "near-min:F", "valley", …
//!
//! [schedule]             # lrate-core's schedule format (see `lrate schedule`)
//! ...
//! ```

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use lrate_core::{RangeTestConfig, ScheduleFreeConfig};
use serde::{Deserialize, Serialize};

use crate::cli::{CommonArgs, TrainArgs};
use crate::data::imagefolder::ImageOptions;
use crate::data::{self, DataSpec, LoadOptions, Split};
use crate::device::Device;
use crate::nn::def::ModelDef;
use crate::nn::{Model, NnDevice, OptimizerKind};
use crate::sched;

pub use lrate_core::BoundsRule;
use lrate_core::OptimizerFamily;

pub use crate::sched::{MaxLr, ScheduleSource};

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
    /// `"sgd"`, `"adam"`, `"adamw"`, `"sf-sgd"` or `"sf-adamw"`.
    pub kind: Option<String>,
    /// Momentum / β1 where the schedule sets none.
    pub momentum: Option<f32>,
    /// Nesterov momentum (SGD).
    pub nesterov: Option<bool>,
    /// Weight decay.
    pub weight_decay: Option<f32>,
    /// Adam β2 (default 0.999, as `torch.optim.Adam`).
    pub beta2: Option<f32>,
    /// Adam ε.
    pub eps: Option<f32>,
    /// Schedule-free: linear warmup steps of the optimizer's own rate (default 0).
    pub warmup_steps: Option<u32>,
    /// Schedule-free: polynomial averaging exponent `r` (default 0).
    pub r: Option<f32>,
    /// Schedule-free: exponent of the lr in the averaging weight (default 2).
    pub weight_lr_power: Option<f32>,
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
    /// Sweeps averaged.
    pub repeats: Option<u32>,
    /// What differs between sweeps.
    pub vary: Option<String>,
    /// Short trials around the pick.
    pub verify: Option<bool>,
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
    /// Reads and parses a TOML file ([`FileConfig::parse`]).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read config file", path.display()))?;
        Self::parse(&text, path)
    }

    /// Parses the TOML text of a config file; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        toml::from_str(text).with_context(|| format!("{}: invalid config", path.display()))
    }

    /// Reads `path` when given, else the empty configuration.
    pub fn read_opt(path: Option<&Path>) -> Result<Self> {
        path.map_or_else(|| Ok(Self::default()), Self::read)
    }
}

/// The optimizer of a run: its kind with the fixed hyper-parameters, and the momentum
/// (SGD) or β1 (Adam) used where the schedule sets none.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// SGD, Adam, AdamW or schedule-free SGD / AdamW, with their fixed hyper-parameters.
    pub kind: OptimizerKind,
    /// Momentum (SGD), β1 (Adam, AdamW, sf-adamw) or β (sf-sgd) where the schedule sets none.
    pub momentum: f32,
}

/// The range test of a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindConfig {
    /// First lr.
    pub start_lr: f32,
    /// Last lr.
    pub end_lr: f32,
    /// Batches.
    pub num_it: u32,
    /// The rule that reads `max_lr` off the curve.
    pub rule: BoundsRule,
    /// Sweeps, each from the same initial weights, averaged into one curve.
    #[serde(default = "one")]
    pub repeats: u32,
    /// What differs between the sweeps.
    #[serde(default)]
    pub vary: Vary,
    /// Short 1cycle trials at pick × {1/3, 1, 3} choose the final max_lr.
    #[serde(default)]
    pub verify: bool,
}

fn one() -> u32 {
    1
}

/// Sweeps by default: one sweep is not a measurement (its pick moves 2–3× with the data
/// order), three give the pick with its range for three times one sweep's cost.
pub const DEFAULT_REPEATS: u32 = 3;

/// The most sweeps `--repeats` takes (the capacity of lrate-core's averaged test).
pub const MAX_REPEATS: u32 = 16;

/// What differs between the sweeps of an averaged range test (`--vary`); every
/// sweep starts from the run's initial weights unless `init` varies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vary {
    /// The data order (and augmentation) of each sweep.
    #[default]
    Data,
    /// The initial weights of each sweep (seed + k); the same data order.
    Init,
    /// Both.
    Both,
}

impl Vary {
    /// The name, as `--vary` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Vary::Data => "data",
            Vary::Init => "init",
            Vary::Both => "both",
        }
    }

    /// Sweep k > 0 reads its own data order.
    pub fn data(self) -> bool {
        matches!(self, Vary::Data | Vary::Both)
    }

    /// Sweep k > 0 starts from its own initial weights.
    pub fn init(self) -> bool {
        matches!(self, Vary::Init | Vary::Both)
    }
}

impl std::str::FromStr for Vary {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        [Vary::Data, Vary::Init, Vary::Both]
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| anyhow!("unknown --vary `{s}` (expected data, init or both)"))
    }
}

impl OptimizerConfig {
    /// The family whose calibrated `near-min` factor applies.
    pub fn family(&self) -> OptimizerFamily {
        self.kind.family()
    }
}

impl FindConfig {
    /// lrate-core's range-test configuration: exponential sweep from `start_lr` to `end_lr`
    /// over `num_it` batches, fastai's smoothing and divergence rule.
    pub fn range_test(&self) -> RangeTestConfig<f32> {
        RangeTestConfig::default().range(self.start_lr, self.end_lr, self.num_it)
    }
}

/// Everything shared by `find` and `train`, resolved and typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommonConfig {
    /// The data set.
    pub data: DataSpec,
    /// The network.
    pub model: ModelDef,
    /// Batch size.
    pub batch: usize,
    /// Seed.
    pub seed: u64,
    /// Training subset.
    pub limit_train: Option<usize>,
    /// Test subset.
    pub limit_test: Option<usize>,
    /// Device.
    pub device: Device,
    /// Output directory.
    pub out: PathBuf,
    /// Optimizer.
    pub optimizer: OptimizerConfig,
    /// Range test.
    pub find: FindConfig,
    /// Image-folder options (`--valid-pct`, `--image-size`, `--channels`, `--no-augment`,
    /// `--strict`).
    #[serde(default)]
    pub images: ImageOptions,
}

impl CommonConfig {
    /// How [`data::load`] shapes the split of this run.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            images: self.images,
            // The bar hides itself when stderr is not a terminal.
            progress: true,
            limit_train: self.limit_train,
            limit_test: self.limit_test,
            seed: self.seed,
            ..LoadOptions::default()
        }
    }

    /// Loads the run's data ([`data::load`] with [`CommonConfig::load_options`]).
    pub fn load_data(&self) -> Result<Split> {
        data::load(&self.data, &self.load_options())
    }

    /// The run's network for `split`'s images and classes, initialised from the run's seed.
    pub fn build_model<D: NnDevice>(&self, split: &Split, dev: &D) -> Result<Model<D>> {
        let tr = &split.train;
        Ok(Model::try_new(
            self.model.clone(),
            (tr.c, tr.h, tr.w),
            tr.num_classes,
            self.seed,
            dev,
        )?)
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

/// Parses a bounds rule name (see [`BoundsRule`]).
pub fn parse_rule(s: &str) -> Result<BoundsRule> {
    s.parse::<BoundsRule>().map_err(|e| anyhow!("{e}"))
}

/// The schedule-free settings `(warmup_steps, r, weight_lr_power)`, validated by lrate-core.
fn resolve_schedule_free(a: &CommonArgs, f: &FileConfig) -> Result<(u32, f32, f32)> {
    let o = &f.optimizer;
    let warmup = a.warmup_steps.or(o.warmup_steps).unwrap_or(0);
    let (r, p) = (o.r.unwrap_or(0.0), o.weight_lr_power.unwrap_or(2.0));
    let mut c = ScheduleFreeConfig::new(1.0f32, warmup);
    (c.r, c.weight_lr_power) = (r, p);
    c.build()
        .map_err(|e| anyhow!("[optimizer] {e} (schedule-free settings)"))?;
    Ok((warmup, r, p))
}

fn resolve_optimizer(a: &CommonArgs, f: &FileConfig) -> Result<OptimizerConfig> {
    let name = a
        .optimizer
        .clone()
        .or(f.optimizer.kind.clone())
        .unwrap_or_else(|| "sgd".into())
        .to_ascii_lowercase();
    // Decoupled decay multiplies λ by the lr: PyTorch AdamW's default 0.01 is its scale.
    let decoupled = matches!(name.as_str(), "adamw" | "sf-adamw");
    let weight_decay = a
        .weight_decay
        .or(f.optimizer.weight_decay)
        .unwrap_or(if decoupled { 0.01 } else { 5e-4 });
    if !(weight_decay.is_finite() && weight_decay >= 0.0) {
        bail!("weight_decay must be ≥ 0, got {weight_decay}");
    }
    let nesterov = a.nesterov || f.optimizer.nesterov.unwrap_or(false);
    if nesterov && name != "sgd" {
        bail!("nesterov applies to sgd only (optimizer `{name}`)");
    }
    let schedule_free = matches!(name.as_str(), "sf-sgd" | "sf-adamw");
    let sf_set = [
        (
            "warmup_steps",
            a.warmup_steps.is_some() || f.optimizer.warmup_steps.is_some(),
        ),
        ("r", f.optimizer.r.is_some()),
        ("weight_lr_power", f.optimizer.weight_lr_power.is_some()),
    ];
    if let Some((opt, _)) = sf_set.iter().find(|(_, set)| *set && !schedule_free) {
        bail!(
            "{opt} applies to the schedule-free optimizers (sf-sgd, sf-adamw) only, not `{name}`"
        );
    }
    // torch.optim.Adam's defaults: betas = (0.9, 0.999), eps = 1e-8 (also AdamW's and
    // schedulefree's).
    let beta2 = || check_unit("beta2", f.optimizer.beta2.unwrap_or(0.999));
    let eps = || check_positive("eps", f.optimizer.eps.unwrap_or(1e-8));
    let kind = match name.as_str() {
        "sgd" => OptimizerKind::Sgd {
            nesterov,
            weight_decay,
        },
        "adam" => OptimizerKind::Adam {
            beta2: beta2()?,
            eps: eps()?,
            weight_decay,
        },
        "adamw" => OptimizerKind::AdamW {
            beta2: beta2()?,
            eps: eps()?,
            weight_decay,
        },
        "sf-sgd" => {
            let (warmup_steps, r, weight_lr_power) = resolve_schedule_free(a, f)?;
            OptimizerKind::SfSgd {
                weight_decay,
                warmup_steps,
                r,
                weight_lr_power,
            }
        }
        "sf-adamw" => {
            let (warmup_steps, r, weight_lr_power) = resolve_schedule_free(a, f)?;
            OptimizerKind::SfAdamW {
                beta2: beta2()?,
                eps: eps()?,
                weight_decay,
                warmup_steps,
                r,
                weight_lr_power,
            }
        }
        o => bail!(
            "unknown optimizer `{o}` (expected one of: {})",
            OptimizerKind::NAMES.join(", ")
        ),
    };
    let momentum = check_unit(
        "momentum",
        a.momentum.or(f.optimizer.momentum).unwrap_or(0.9),
    )?;
    if schedule_free && momentum == 0.0 {
        bail!("{name} needs momentum (β) in (0, 1): its evaluation point x = lerp(y, z, 1 − 1/β)");
    }
    Ok(OptimizerConfig { kind, momentum })
}

fn resolve_find(a: &CommonArgs, f: &FileConfig, opt: &OptimizerConfig) -> Result<FindConfig> {
    // Plain `near-min` (and no rule at all) takes the factor calibrated for the optimizer.
    let rule = match a.suggestion.as_deref().or(f.find.suggestion.as_deref()) {
        Some(s) if !s.contains(':') && parse_rule(s)? == BoundsRule::DEFAULT => {
            BoundsRule::for_optimizer(opt.family())
        }
        Some(s) => parse_rule(s)?,
        None => BoundsRule::for_optimizer(opt.family()),
    };
    let repeats = a.repeats.or(f.find.repeats).unwrap_or(DEFAULT_REPEATS);
    if !(1..=MAX_REPEATS).contains(&repeats) {
        bail!("--repeats must be between 1 and {MAX_REPEATS} (sweeps averaged), got {repeats}");
    }
    let vary = match a.vary.as_deref().or(f.find.vary.as_deref()) {
        Some(v) => v.parse()?,
        None => Vary::default(),
    };
    let find = FindConfig {
        repeats,
        vary,
        verify: a.verify || f.find.verify.unwrap_or(false),
        start_lr: check_positive("start_lr", a.start_lr.or(f.find.start_lr).unwrap_or(1e-7))?,
        end_lr: check_positive("end_lr", a.end_lr.or(f.find.end_lr).unwrap_or(10.0))?,
        num_it: a.num_it.or(f.find.num_it).unwrap_or(100),
        rule,
    };
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
    Ok(find)
}

/// Merges defaults, file and flags for the options `find` and `train` share.
pub fn resolve_common(a: &CommonArgs, f: &FileConfig) -> Result<CommonConfig> {
    let batch = a.batch.or(f.run.batch).unwrap_or(128);
    if batch == 0 {
        bail!("--batch must be at least 1");
    }
    let data = a
        .data
        .as_deref()
        .or(f.run.data.as_deref())
        .unwrap_or("synthetic");
    let model = a
        .model
        .as_deref()
        .or(f.run.model.as_deref())
        .unwrap_or("cnn-s");
    let device = a
        .device
        .as_deref()
        .or(f.run.device.as_deref())
        .unwrap_or("cpu");
    let optimizer = resolve_optimizer(a, f)?;
    Ok(CommonConfig {
        data: data.parse()?,
        model: model.parse()?,
        batch,
        seed: a.seed.or(f.run.seed).unwrap_or(0),
        limit_train: a.limit_train.or(f.run.limit_train),
        limit_test: a.limit_test.or(f.run.limit_test),
        device: device.parse()?,
        out: match a.out.clone().or(f.run.out.clone()) {
            Some(out) => out,
            None => crate::outdir::default_out()?,
        },
        find: resolve_find(a, f, &optimizer)?,
        optimizer,
        images: ImageOptions {
            valid_pct: a.valid_pct.unwrap_or(ImageOptions::default().valid_pct),
            image_size: a.image_size,
            channels: a.channels,
            augment: !a.no_augment,
            strict: a.strict,
        },
    })
}

/// Epochs of a run when neither `--epochs` nor the config file sets them: 8 on the
/// built-in synthetic data, 5 on a real data set.
pub fn default_epochs(data: &DataSpec) -> u32 {
    if *data == DataSpec::Synthetic {
        8
    } else {
        5
    }
}

/// The output directory when neither `--out` nor the config file names one.
pub const DEFAULT_OUT: &str = "runs/lrate";

/// The `train`-only options, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// Shared options.
    pub common: CommonConfig,
    /// Epochs.
    pub epochs: u32,
    /// Peak lr or auto.
    pub max_lr: MaxLr,
    /// The schedule.
    pub schedule: ScheduleSource,
}

/// The schedule of a run that names none: `constant` for the schedule-free optimizers
/// (they warm up and average on their own), else `onecycle`.
pub fn default_schedule(kind: OptimizerKind) -> &'static str {
    if kind.is_schedule_free() {
        "constant"
    } else {
        "onecycle"
    }
}

/// Merges defaults, the `--config` file and the flags of `lrate train`.
pub fn resolve_train(a: &TrainArgs) -> Result<TrainOptions> {
    let f = FileConfig::read_opt(a.common.config.as_deref())?;
    resolve_train_with(a, &f)
}

/// [`resolve_train`] with the config file already parsed (`f`; [`FileConfig::default`]
/// when there is none); `a.common.config` only names the file in errors.
pub fn resolve_train_with(a: &TrainArgs, f: &FileConfig) -> Result<TrainOptions> {
    let common = resolve_common(&a.common, f)?;
    let epochs = a
        .epochs
        .or(f.run.epochs)
        .unwrap_or(default_epochs(&common.data));
    if epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let max_lr = match (a.max_lr, &f.run.max_lr) {
        (Some(m), _) => m,
        (None, Some(MaxLrValue::Number(v))) => MaxLr::fixed(*v)?,
        (None, Some(MaxLrValue::Text(s))) => s.parse()?,
        (None, None) if f.schedule.is_some() && a.schedule.is_none() => MaxLr::FromSchedule,
        (None, None) => MaxLr::Auto,
    };
    // A --schedule flag replaces the file's [schedule] table.
    let schedule = match (&a.schedule, &f.schedule) {
        (Some(n), _) => ScheduleSource::Named(n.clone()),
        (None, Some(t)) => {
            let any = sched::from_table(t).with_context(|| {
                a.common
                    .config
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            })?;
            ScheduleSource::Table(Box::new(any))
        }
        (None, None) => ScheduleSource::Named(
            f.run
                .schedule
                .clone()
                .unwrap_or_else(|| default_schedule(common.optimizer.kind).into()),
        ),
    };
    if let (ScheduleSource::Named(_), MaxLr::FromSchedule) = (&schedule, max_lr) {
        bail!("--max-lr schedule needs a [schedule] table in the config file");
    }
    // An unknown name fails now, not after the range test.
    if let ScheduleSource::Named(n) = &schedule {
        sched::check_name(n)?;
    }
    Ok(TrainOptions {
        common,
        epochs,
        max_lr,
        schedule,
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
        assert_eq!(o.common.model, crate::nn::ModelKind::Mlp.into());
        assert!(matches!(
            o.common.optimizer.kind,
            OptimizerKind::Adam { .. }
        ));
        assert_eq!(o.common.optimizer.momentum, 0.8);
        assert_eq!(o.common.find.num_it, 50);
        a.max_lr = Some(MaxLr::Auto);
        assert_eq!(resolve_train(&a).unwrap().max_lr, MaxLr::Auto);
        assert_eq!(o.schedule, ScheduleSource::Named("onecycle".into()));
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
        assert!("fast".parse::<MaxLr>().is_err());
        assert!("-1".parse::<MaxLr>().is_err());
        let a = TrainArgs {
            max_lr: Some(MaxLr::FromSchedule),
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

    #[test]
    fn every_optimizer_resolves_and_bad_settings_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let with = |toml: &str, optimizer: Option<&str>| {
            let p = d.path().join("o.toml");
            std::fs::write(&p, toml).unwrap();
            let mut a = TrainArgs::default();
            a.common.config = Some(p);
            a.common.optimizer = optimizer.map(String::from);
            resolve_train(&a)
        };
        for name in OptimizerKind::NAMES {
            let o = with("", Some(name)).unwrap();
            assert_eq!(o.common.optimizer.kind.name(), name);
            let want = if name.starts_with("sf-") {
                "constant"
            } else {
                "onecycle"
            };
            assert_eq!(o.schedule, ScheduleSource::Named(want.into()), "{name}");
        }
        let o = with(
            "[optimizer]\nkind = \"sf-adamw\"\nwarmup_steps = 20\nr = 0.5\nweight_lr_power = 1.0\nbeta2 = 0.99\n",
            None,
        )
        .unwrap();
        assert_eq!(
            o.common.optimizer.kind,
            OptimizerKind::SfAdamW {
                beta2: 0.99,
                eps: 1e-8,
                weight_decay: 0.01,
                warmup_steps: 20,
                r: 0.5,
                weight_lr_power: 1.0,
            }
        );
        assert_eq!(
            o.common.find.rule,
            BoundsRule::for_optimizer(OptimizerFamily::Adam)
        );
        let o = with("[optimizer]\nkind = \"SF-SGD\"\n", None).unwrap();
        assert_eq!(o.common.optimizer.kind.family(), OptimizerFamily::Sgd);
        let mut a = TrainArgs::default();
        a.common.optimizer = Some("sf-sgd".into());
        a.common.warmup_steps = Some(7);
        assert!(matches!(
            resolve_train(&a).unwrap().common.optimizer.kind,
            OptimizerKind::SfSgd {
                warmup_steps: 7,
                ..
            }
        ));
        let err = |toml: &str, opt: Option<&str>| format!("{:#}", with(toml, opt).unwrap_err());
        assert!(err("", Some("lion")).contains("sf-adamw"));
        assert!(err("[optimizer]\nwarmup_steps = 5\n", Some("adamw")).contains("schedule-free"));
        assert!(err("[optimizer]\nr = -1.0\n", Some("sf-sgd")).contains("`r`"));
        assert!(
            err("[optimizer]\nweight_lr_power = 100.0\n", Some("sf-adamw"))
                .contains("weight_lr_power")
        );
        assert!(err("[optimizer]\nmomentum = 0.0\n", Some("sf-sgd")).contains("momentum"));
        assert!(err("[optimizer]\nnesterov = true\n", Some("adamw")).contains("nesterov"));
        assert!(err("[optimizer]\nbeta2 = 1.0\n", Some("sf-adamw")).contains("beta2"));
    }
}
