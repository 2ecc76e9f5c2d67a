//! The two adjustments a training run makes to a configured schedule: its
//! length (the run's number of steps) and its peak learning rate (from a
//! `--max-lr` or a range test). [`Single`](super::Single) and
//! [`AnySchedule`](super::AnySchedule) dispatch to these per-kind rules.

use super::{
    Constant, ConstantConfig, ConstantFactor, ConstantFactorConfig, CosineAnnealing,
    CosineAnnealingConfig, Cyclic, CyclicConfig, Exponential, ExponentialConfig, InverseTime,
    InverseTimeConfig, Linear, LinearConfig, MultiStep, MultiStepConfig, OneCycle, OneCycleConfig,
    PiecewiseConstant, Polynomial, PolynomialConfig, Step, StepConfig, WarmRestarts,
    WarmRestartsConfig,
};
use super::{
    CosineHardRestarts, CosineHardRestartsConfig, CosineWithWarmup, CosineWithWarmupConfig,
    InverseSqrt, InverseSqrtConfig, PolynomialWithWarmup, PolynomialWithWarmupConfig, TimmCosine,
    TimmCosineConfig, TimmPoly, TimmPolyConfig, TimmTanh, TimmTanhConfig, Wsd, WsdConfig,
};
use crate::{ConfigError, Problem, Real};

/// The error of [`Adjust::with_peak`] on a kind without a single peak or base lr.
pub(crate) const NO_PEAK: ConfigError = ConfigError::new(
    "max_lr",
    Problem::MustBe(
        "set only on a schedule with a single peak or base lr \
         (not piecewise_constant, warmup or sequential)",
    ),
);

/// Per-kind length and peak rules; the defaults are "no natural length",
/// "length unchanged" and "no peak to set".
pub(crate) trait Adjust<F: Real>: Sized {
    /// The number of steps the schedule is configured to span, if it has one.
    fn natural_length(&self) -> Option<u32> {
        None
    }

    /// The schedule stretched to `total` steps; unchanged where it has no
    /// natural length.
    fn with_length(self, _total: u32) -> Result<Self, ConfigError> {
        Ok(self)
    }

    /// The schedule with peak `max_lr` (and lower bound `min_lr`, where it has
    /// one); [`NO_PEAK`] where it has no single peak.
    fn with_peak(self, _max_lr: F, _min_lr: Option<F>) -> Result<Self, ConfigError> {
        Err(NO_PEAK)
    }
}

/// Kinds whose peak is their starting `base_lr`: `with_peak` sets `base_lr =
/// max_lr` and revalidates.
macro_rules! base_lr_peak {
    ($($name:ident($cfg:ident)),* $(,)?) => {
        $(
            impl<F: Real> Adjust<F> for $name<F> {
                fn with_peak(self, max_lr: F, _min_lr: Option<F>) -> Result<Self, ConfigError> {
                    let mut c: $cfg<F> = self.into();
                    c.base_lr = max_lr;
                    c.build()
                }
            }
        )*
    };
}

base_lr_peak!(
    Constant(ConstantConfig),
    Step(StepConfig),
    MultiStep(MultiStepConfig),
    Exponential(ExponentialConfig),
    Polynomial(PolynomialConfig),
    Linear(LinearConfig),
    ConstantFactor(ConstantFactorConfig),
    InverseTime(InverseTimeConfig),
    WarmRestarts(WarmRestartsConfig),
    InverseSqrt(InverseSqrtConfig),
    TimmCosine(TimmCosineConfig),
    TimmTanh(TimmTanhConfig),
    TimmPoly(TimmPolyConfig),
);

/// Kinds with a `num_training_steps` horizon and a `base_lr` peak (HF's warmup
/// schedules): the length sets `num_training_steps`, the peak `base_lr`.
macro_rules! hf_horizon {
    ($($name:ident($cfg:ident)),* $(,)?) => {
        $(
            impl<F: Real> Adjust<F> for $name<F> {
                /// `num_training_steps`.
                fn natural_length(&self) -> Option<u32> {
                    Some(self.config().num_training_steps)
                }

                /// `num_training_steps = total`.
                fn with_length(self, total: u32) -> Result<Self, ConfigError> {
                    $cfg {
                        num_training_steps: total,
                        ..*self.config()
                    }
                    .build()
                }

                /// `base_lr = max_lr`.
                fn with_peak(self, max_lr: F, _min_lr: Option<F>) -> Result<Self, ConfigError> {
                    $cfg {
                        base_lr: max_lr,
                        ..*self.config()
                    }
                    .build()
                }
            }
        )*
    };
}

hf_horizon!(
    CosineWithWarmup(CosineWithWarmupConfig),
    CosineHardRestarts(CosineHardRestartsConfig),
    PolynomialWithWarmup(PolynomialWithWarmupConfig),
);

impl<F: Real> Adjust<F> for Wsd<F> {
    /// `num_warmup_steps + stable + num_decay_steps`.
    fn natural_length(&self) -> Option<u32> {
        let c = self.config();
        let stable = c.stable_steps()?;
        c.num_warmup_steps
            .checked_add(stable)?
            .checked_add(c.num_decay_steps)
    }

    /// `num_training_steps = total`, the stable phase taking up what the warmup
    /// and the decay leave (an error when `total` is shorter than both).
    fn with_length(self, total: u32) -> Result<Self, ConfigError> {
        WsdConfig {
            num_training_steps: Some(total),
            num_stable_steps: None,
            ..*self.config()
        }
        .build()
    }

    /// `base_lr = max_lr`.
    fn with_peak(self, max_lr: F, _min_lr: Option<F>) -> Result<Self, ConfigError> {
        WsdConfig {
            base_lr: max_lr,
            ..*self.config()
        }
        .build()
    }
}

impl<F: Real> Adjust<F> for PiecewiseConstant<F> {}

impl<F: Real> Adjust<F> for OneCycle<F> {
    /// `total_steps`.
    fn natural_length(&self) -> Option<u32> {
        Some(self.config().total_steps)
    }

    /// `total_steps = total`.
    fn with_length(self, total: u32) -> Result<Self, ConfigError> {
        OneCycleConfig {
            total_steps: total,
            ..*self.config()
        }
        .build()
    }

    /// `max_lr = max_lr` (the start and end rates follow through the div
    /// factors); `min_lr` is not used.
    fn with_peak(self, max_lr: F, _min_lr: Option<F>) -> Result<Self, ConfigError> {
        OneCycleConfig {
            max_lr,
            ..*self.config()
        }
        .build()
    }
}

impl<F: Real> Adjust<F> for CosineAnnealing<F> {
    /// `t_max`.
    fn natural_length(&self) -> Option<u32> {
        Some(self.config().t_max)
    }

    /// `t_max = total`.
    fn with_length(self, total: u32) -> Result<Self, ConfigError> {
        CosineAnnealingConfig {
            t_max: total,
            ..*self.config()
        }
        .build()
    }

    /// `base_lr = max_lr`.
    fn with_peak(self, max_lr: F, _min_lr: Option<F>) -> Result<Self, ConfigError> {
        CosineAnnealingConfig {
            base_lr: max_lr,
            ..*self.config()
        }
        .build()
    }
}

impl<F: Real> Adjust<F> for Cyclic<F> {
    /// `max_lr = max_lr` and `base_lr = min_lr`, or, without `min_lr`, the old
    /// ratio kept: `base_lr = max_lr · old_base_lr / max(old_max_lr, F::MIN_POSITIVE)`.
    fn with_peak(self, max_lr: F, min_lr: Option<F>) -> Result<Self, ConfigError> {
        let old = *self.config();
        let base_lr =
            min_lr.unwrap_or_else(|| max_lr * old.base_lr / old.max_lr.max(F::MIN_POSITIVE));
        CyclicConfig {
            base_lr,
            max_lr,
            ..old
        }
        .build()
    }
}
