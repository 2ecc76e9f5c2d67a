//! The command line (clap derive). Every option is optional so that a
//! `--config FILE.toml` can supply it; an explicit flag overrides the file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::sched::MaxLr;

/// `lrate`: find the learning-rate bounds with the range test, train a CNN with
/// 1cycle, CLR, SGDR or a classic schedule, and plot what happened.
///
/// Without a command it runs the whole workflow on the built-in synthetic data:
/// range test, then 1cycle training (same as `lrate train`).
#[derive(Debug, Parser)]
#[command(name = "lrate", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: `train` with every option at its default).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the LR range test on the model and data, print the suggestions and bounds,
    /// write lr_find.csv, lr_find.json and lr_find.svg.
    Find(Box<FindArgs>),
    /// Train (by default: range test first, then 1cycle with its bounds).
    Train(Box<TrainArgs>),
    /// Print (CSV) and plot a schedule without training.
    Schedule(ScheduleArgs),
    /// Check a network (a built-in or a model FILE.toml) against an input shape and print
    /// its layer table: output shape, parameters and FLOPs per layer, with totals.
    Model(ModelArgs),
    /// Classify images with a trained run: top-k classes with probabilities.
    Predict(PredictArgs),
}

/// `lrate model`.
///
/// A model file lists layers as `[[layers]]` tables with a `type`: conv (channels, kernel,
/// stride = 1, padding = 0, bias = true), bn, relu, maxpool, avgpool (2x2, stride 2),
/// global_avgpool, global_maxpool, residual (layers = [ ... ]), dropout (p), flatten,
/// linear (features, default the number of classes; bias = true), scale (factor); each may
/// have a `name` (its tensors' prefix). The built-ins are such files: host/models/*.toml.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// The network: cnn-s | resnet9 | mlp | FILE.toml
    #[arg(long, value_name = "NAME|FILE")]
    pub model: String,
    /// Input shape CxHxW, e.g. 3x32x32
    #[arg(long, value_name = "CxHxW", default_value = "3x32x32")]
    pub input: String,
    /// Number of classes (the logits the network must end in)
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub classes: usize,
    /// Print the table as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `lrate predict`.
#[derive(Debug, Args, Clone)]
pub struct PredictArgs {
    /// The run directory (its weights.safetensors, else its checkpoint).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Images to classify (PNG or JPEG; resized and cropped as in training).
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<PathBuf>,
    /// Classes shown per image [default: 3]
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub top: usize,
    /// Refuse the run unless it was trained with this network (a name or FILE.toml).
    #[arg(long, value_name = "NAME|FILE")]
    pub model: Option<String>,
    /// Print one JSON line per image.
    #[arg(long)]
    pub json: bool,
}

/// Options shared by `find` and `train`.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// TOML file describing the run, the optimizer, the range test and the schedule;
    /// flags override it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Data: synthetic | fashion-mnist | fashion-mnist:DIR | mnist:DIR | cifar10:DIR |
    /// imagefolder:DIR (DIR/train/CLASS/*.png|jpg and DIR/valid/ or DIR/test/)
    /// [default: synthetic]
    #[arg(long, value_name = "SPEC")]
    pub data: Option<String>,
    /// imagefolder: with no valid/ or test/ folder, hold out this fraction of train/ (a
    /// split seeded by --seed) [default: 0.2]
    #[arg(long, value_name = "F")]
    pub valid_pct: Option<f32>,
    /// imagefolder: resize the short side to N and centre-crop to NxN [default: the first
    /// image's size, every image resized to it]
    #[arg(long, value_name = "N")]
    pub image_size: Option<usize>,
    /// imagefolder: 1 (grayscale) or 3 (RGB) [default: 1 when every image is grayscale, else 3]
    #[arg(long, value_name = "1|3")]
    pub channels: Option<usize>,
    /// imagefolder: no random crop and flip on training batches
    #[arg(long)]
    pub no_augment: bool,
    /// imagefolder: an unreadable image is an error instead of being left out
    #[arg(long)]
    pub strict: bool,
    /// Model: cnn-s | resnet9 | mlp | FILE.toml (see `lrate model --help`) [default: cnn-s]
    #[arg(long, value_name = "NAME|FILE")]
    pub model: Option<String>,
    /// Mini-batch size [default: 128]
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// Optimizer: sgd | adam | adamw | sf-sgd | sf-adamw (schedule-free SGD / AdamW, which
    /// warm up and average on their own: use them with the `constant` schedule, their
    /// default) [default: sgd]
    #[arg(long, value_name = "NAME")]
    pub optimizer: Option<String>,
    /// Nesterov momentum (SGD; also `nesterov = true` under `[optimizer]`)
    #[arg(long)]
    pub nesterov: bool,
    /// Momentum (SGD), β1 (Adam, AdamW, sf-adamw) or β (sf-sgd) where the schedule does not
    /// set one [default: 0.9]
    #[arg(long)]
    pub momentum: Option<f32>,
    /// Weight decay: L2 added to the gradient (PyTorch `weight_decay`; decoupled for adamw,
    /// at y for sf-sgd / sf-adamw) [default: 5e-4; 0.01 for adamw and sf-adamw]
    #[arg(long, value_name = "WD")]
    pub weight_decay: Option<f32>,
    /// sf-sgd / sf-adamw: linear warmup steps of the optimizer's own learning rate
    /// (schedulefree's `warmup_steps`; also under `[optimizer]`) [default: 0]
    #[arg(long, value_name = "N")]
    pub warmup_steps: Option<u32>,
    /// Seed of the weights, the synthetic data, the shuffle and the augmentation [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Use only the first N training images.
    #[arg(long, value_name = "N")]
    pub limit_train: Option<usize>,
    /// Use only the first N test images.
    #[arg(long, value_name = "N")]
    pub limit_test: Option<usize>,
    /// Device: cpu | cuda (cuda needs the `cuda` feature) [default: cpu]
    #[arg(long)]
    pub device: Option<String>,
    /// Output directory [default: runs/lrate, or runs/lrate-2, -3, … when it holds a run]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the run already in --out (its checkpoint, weights, metrics and plots); without
    /// it a fresh run refuses a directory that holds one
    #[arg(long)]
    pub overwrite: bool,
    /// Range test: first learning rate [default: 1e-7]
    #[arg(long)]
    pub start_lr: Option<f32>,
    /// Range test: last learning rate [default: 10]
    #[arg(long)]
    pub end_lr: Option<f32>,
    /// Range test: number of batches [default: 100]
    #[arg(long, value_name = "N")]
    pub num_it: Option<u32>,
    /// Range test: rule that sets max_lr (min_lr = max_lr/4): near-min (the lr at the
    /// lowest smoothed loss × a factor calibrated per optimizer family, SGD or Adam;
    /// see docs/results/calibration.md) | near-min:F (factor F) | valley | steep | slide
    /// | minimum | steepest [default: near-min]
    #[arg(long, value_name = "RULE")]
    pub suggestion: Option<String>,
    /// Range test: sweeps averaged, each from the same initial weights (1-16)
    /// [default: 3]
    #[arg(long, value_name = "K")]
    pub repeats: Option<u32>,
    /// Range test: what differs between the sweeps: data | init | both [default: data]
    #[arg(long, value_name = "WHAT")]
    pub vary: Option<String>,
    /// Range test: then short 1cycle trials at pick × {1/3, 1, 3} on a subset of the
    /// training data (≈10% of one run's compute) choose the final max_lr
    #[arg(long)]
    pub verify: bool,
    /// Do not show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `lrate find`.
#[derive(Debug, Args, Clone, Default)]
pub struct FindArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
    /// Epochs of the run the pick is for, which sets --verify's budget (10% of that run)
    /// [default: the config file's, else 8 on synthetic data and 5 on a real data set]
    #[arg(long, value_name = "N")]
    pub epochs: Option<u32>,
}

/// `lrate train`.
#[derive(Debug, Args, Clone, Default)]
pub struct TrainArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
    /// Schedule: onecycle | onecycle-pytorch | clr | sgdr | step | multistep | cosine |
    /// exponential | constant | wsd | wsd-cosine | cosine-warmup | linear-warmup |
    /// inverse-sqrt | timm-cosine | tanh | poly (replaces the schedule table of the config
    /// file) [default: onecycle; constant for the schedule-free optimizers]
    #[arg(long, value_name = "NAME")]
    pub schedule: Option<String>,
    /// Peak learning rate, or `auto` to take it from a range test, or `schedule` to keep
    /// the config file's `[schedule]` table's own rates [default: auto, or schedule with a table]
    #[arg(long, value_name = "X|auto", allow_hyphen_values = true)]
    pub max_lr: Option<MaxLr>,
    /// Number of epochs [default: 8 on synthetic data, 5 otherwise]
    #[arg(long, value_name = "N")]
    pub epochs: Option<u32>,
    /// Continue the run in --out from its checkpoint (its configuration is reused).
    #[arg(long)]
    pub resume: bool,
    /// Branch a warmup–stable–decay cooldown from the latest checkpoint of the stable-phase
    /// run in DIR (a constant or wsd schedule) into the new directory --out; DIR is not
    /// modified. Needs --cooldown.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub from: Option<std::path::PathBuf>,
    /// With --from: the decay's length, `N%` of the branched run's whole length (e.g. 20%)
    /// or N epochs.
    #[arg(long, value_name = "N%|EPOCHS", requires = "from")]
    pub cooldown: Option<crate::cooldown::CooldownLength>,
    /// With --from: the decay's shape: 1-sqrt | linear | cosine [default: 1-sqrt]
    #[arg(long, value_name = "SHAPE", requires = "from")]
    pub decay: Option<String>,
    /// Stop, with a checkpoint, after this many epochs of this invocation
    /// (continue later with --resume).
    #[arg(long, value_name = "N")]
    pub stop_after: Option<u32>,
}

/// `lrate schedule`.
#[derive(Debug, Args, Clone)]
pub struct ScheduleArgs {
    /// TOML file with a schedule table (lrate-core's schedule format).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Schedule by name, with its default settings (instead of --config).
    #[arg(long, value_name = "NAME")]
    pub schedule: Option<String>,
    /// Peak learning rate for --schedule [default: 0.1]
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub max_lr: Option<f32>,
    /// Number of steps to print [default: total steps in the config, else 1000]
    #[arg(long, value_name = "N")]
    pub steps: Option<u32>,
    /// Steps per epoch, for schedules that count epochs (sgdr) [default: steps / 10]
    #[arg(long, value_name = "N")]
    pub steps_per_epoch: Option<u32>,
    /// Write DIR/schedule.csv and DIR/schedule.svg instead of printing CSV.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}
