//! Reduce the rate when a metric stops improving (PyTorch `ReduceLROnPlateau`).

use super::util::{finite, non_negative, rule};
use crate::{ConfigError, Real};

/// Whether a lower (`Min`) or higher (`Max`) metric is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PlateauMode {
    /// Lower is better (loss).
    #[default]
    Min,
    /// Higher is better (accuracy).
    Max,
}

/// How `threshold` defines a significant improvement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ThresholdMode {
    /// Relative: `best · (1 ∓ threshold)`.
    #[default]
    Rel,
    /// Absolute: `best ∓ threshold`.
    Abs,
}

/// Configuration of [`ReduceOnPlateau`]; names and defaults are PyTorch
/// `ReduceLROnPlateau`'s (under `serde` only `base_lr` is required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PlateauConfig<F: Real = f32> {
    /// Starting learning rate (finite, ≥ 0).
    pub base_lr: F,
    /// Min or max (default min).
    #[cfg_attr(feature = "serde", serde(default))]
    pub mode: PlateauMode,
    /// Multiplier on reduction (in [0, 1); default 0.1).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::tenth"))]
    pub factor: F,
    /// Bad epochs tolerated before reducing (default 10).
    #[cfg_attr(feature = "serde", serde(default = "default_patience"))]
    pub patience: u32,
    /// Significance threshold (finite, ≥ 0; default 1e-4).
    #[cfg_attr(feature = "serde", serde(default = "default_threshold"))]
    pub threshold: F,
    /// Rel or abs (default rel).
    #[cfg_attr(feature = "serde", serde(default))]
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction before counting bad epochs (default 0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub cooldown: u32,
    /// Lower bound on the rate (finite, ≥ 0; default 0).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::zero"))]
    pub min_lr: F,
    /// A reduction smaller than this is skipped (finite, ≥ 0; default 1e-8).
    #[cfg_attr(feature = "serde", serde(default = "default_eps"))]
    pub eps: F,
}

#[cfg(feature = "serde")]
fn default_patience() -> u32 {
    10
}
#[cfg(feature = "serde")]
fn default_threshold<F: Real>() -> F {
    F::from_f64(1e-4)
}
#[cfg(feature = "serde")]
fn default_eps<F: Real>() -> F {
    F::from_f64(1e-8)
}

impl<F: Real> PlateauConfig<F> {
    /// `ReduceLROnPlateau` with PyTorch's defaults.
    pub fn new(base_lr: F) -> Self {
        Self {
            base_lr,
            mode: PlateauMode::Min,
            factor: F::from_f64(0.1),
            patience: 10,
            threshold: F::from_f64(1e-4),
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: F::ZERO,
            eps: F::from_f64(1e-8),
        }
    }

    /// Validates the configuration and builds the scheduler.
    pub fn build(self) -> Result<ReduceOnPlateau<F>, ConfigError> {
        ReduceOnPlateau::new(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        finite("factor", self.factor)?;
        rule(
            "factor",
            self.factor >= F::ZERO && self.factor < F::ONE,
            "in [0, 1)",
        )?;
        non_negative("threshold", self.threshold)?;
        non_negative("min_lr", self.min_lr)?;
        non_negative("eps", self.eps)
    }
}

/// Reduce the rate by `factor` when the metric has not improved for more than
/// `patience` epochs; the one stateful schedule, fed a metric with
/// [`step`](Self::step).
///
/// PyTorch semantics exactly: a metric `a` improves on `best` when
/// `a < best·(1 − threshold)` (min, rel), `a < best − threshold` (min, abs),
/// `a > best·(1 + threshold)` (max, rel) or `a > best + threshold` (max, abs).
/// Otherwise it is a bad epoch; during cooldown bad epochs are not counted. After
/// more than `patience` bad epochs the rate becomes `max(lr·factor, min_lr)`
/// (only if that lowers it by more than `eps`) and cooldown starts. A NaN metric
/// is never an improvement.
///
/// Source: PyTorch `torch.optim.lr_scheduler.ReduceLROnPlateau`.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReduceOnPlateau<F: Real = f32> {
    config: PlateauConfig<F>,
    lr: F,
    best: Option<F>,
    num_bad_epochs: u32,
    cooldown_counter: u32,
}

impl<F: Real> ReduceOnPlateau<F> {
    /// Validates `config`; the error names the first bad field.
    pub fn new(config: PlateauConfig<F>) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            lr: config.base_lr,
            best: None,
            num_bad_epochs: 0,
            cooldown_counter: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PlateauConfig<F> {
        &self.config
    }

    /// The current learning rate.
    pub fn lr(&self) -> F {
        self.lr
    }

    /// The best metric so far (`None` before the first finite-comparing one).
    pub fn best(&self) -> Option<F> {
        self.best
    }

    fn is_better(&self, a: F, best: F) -> bool {
        let c = &self.config;
        match (c.mode, c.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (F::ONE - c.threshold),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - c.threshold,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (c.threshold + F::ONE),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + c.threshold,
        }
    }

    /// Feeds the metric of the epoch (or step) just finished and returns the
    /// learning rate to use next.
    pub fn step(&mut self, metric: F) -> F {
        // `best` starts at the worst value (±∞ in PyTorch): any non-NaN metric
        // improves on it.
        let better = match self.best {
            None => match self.config.mode {
                PlateauMode::Min => metric <= F::MAX,
                PlateauMode::Max => metric >= -F::MAX,
            },
            Some(best) => self.is_better(metric, best),
        };
        if better {
            self.best = Some(metric);
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs = self.num_bad_epochs.saturating_add(1);
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.config.patience {
            let new_lr = (self.lr * self.config.factor).max(self.config.min_lr);
            if self.lr - new_lr > self.config.eps {
                self.lr = new_lr;
            }
            self.cooldown_counter = self.config.cooldown;
            self.num_bad_epochs = 0;
        }
        self.lr
    }
}
