//! Every learning-rate (and momentum) schedule, one module per concept.
//!
//! Each closed-form schedule comes in two types: a `…Config` with public fields
//! named as PyTorch (or Keras / fastai, where PyTorch lacks the schedule) names
//! its arguments, and the validated schedule built from it by `Config::build()`
//! or `Schedule::new(config)`. Under the `serde` feature a schedule serializes
//! as its config and is validated again when deserialized.
//!
//! ```
//! use lrate_core::{CyclicConfig, CyclicMode, OneCycle, Schedule};
//!
//! // PyTorch `OneCycleLR(max_lr=0.1, total_steps=1000)`.
//! let one = OneCycle::pytorch(0.1f32, 1000)?;
//! assert!((one.lr(0) - 0.004).abs() < 1e-6); // max_lr / div_factor
//! assert_eq!(one.momentum(0), Some(0.95));
//!
//! // PyTorch `CyclicLR(base_lr=1e-3, max_lr=0.1, step_size_up=20, mode="triangular2")`.
//! let mut clr = CyclicConfig::new(1e-3f64, 0.1, 20);
//! clr.mode = CyclicMode::Triangular2;
//! let clr = clr.build()?;
//! assert_eq!(clr.lr(20), 0.1);
//! assert_eq!(clr.lr(60), 1e-3 + (0.1 - 1e-3) / 2.0);
//! # Ok::<(), lrate_core::ConfigError>(())
//! ```

/// Declares the validated newtype `$name` around `$cfg` with its constructor,
/// conversions and the serde / defmt impls. `$cfg` provides
/// `fn validate(&self) -> Result<(), ConfigError>`; the optional `$cache`
/// (`fn new(&$cfg) -> Self`) holds values derived once at construction.
macro_rules! validated {
    ($(#[$doc:meta])* $name:ident, $cfg:ident) => {
        use $crate::schedules::NoCache;
        validated!($(#[$doc])* $name, $cfg, NoCache);
    };
    ($(#[$doc:meta])* $name:ident, $cfg:ident, $cache:ident) => {
        $(#[$doc])*
        ///
        /// Construct it with [`Self::new`] (or the config's `build`), which
        /// validates every field.
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name<F: Real = f32>($cfg<F>, $cache<F>);

        impl<F: Real> $name<F> {
            /// Validates `config`; the error names the first bad field.
            pub fn new(config: $cfg<F>) -> Result<Self, ConfigError> {
                config.validate()?;
                let cache = $cache::new(&config);
                Ok(Self(config, cache))
            }

            /// The validated configuration.
            pub fn config(&self) -> &$cfg<F> {
                &self.0
            }
        }

        impl<F: Real> $cfg<F> {
            /// Validates the configuration and builds the schedule.
            pub fn build(self) -> Result<$name<F>, ConfigError> {
                $name::new(self)
            }
        }

        impl<F: Real> TryFrom<$cfg<F>> for $name<F> {
            type Error = ConfigError;
            fn try_from(config: $cfg<F>) -> Result<Self, ConfigError> {
                Self::new(config)
            }
        }

        impl<F: Real> From<$name<F>> for $cfg<F> {
            fn from(s: $name<F>) -> Self {
                s.0
            }
        }

        #[cfg(feature = "serde")]
        impl<F: Real + serde::Serialize> serde::Serialize for $name<F> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(&self.0, s)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de, F: Real + serde::Deserialize<'de>> serde::Deserialize<'de> for $name<F> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let config = <$cfg<F> as serde::Deserialize<'de>>::deserialize(d)?;
                Self::new(config).map_err(serde::de::Error::custom)
            }
        }

        #[cfg(feature = "defmt")]
        impl<F: Real + defmt::Format> defmt::Format for $name<F> {
            fn format(&self, f: defmt::Formatter) {
                defmt::Format::format(&self.0, f)
            }
        }
    };
}

mod adjust;
mod util;

/// The empty cache of schedules that derive nothing at construction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct NoCache<F>(core::marker::PhantomData<F>);

impl<F> NoCache<F> {
    fn new<C>(_: &C) -> Self {
        Self(core::marker::PhantomData)
    }
}

mod any;
mod constant;
mod constant_factor;
mod cosine;
mod cosine_warmup;
mod cyclic;
mod exponential;
mod hard_restarts;
mod inverse_sqrt;
mod inverse_time;
mod linear;
mod multistep;
mod one_cycle;
mod piecewise;
mod plateau;
mod polynomial;
mod polynomial_warmup;
mod sequential;
mod step;
mod timm;
mod warm_restarts;
mod warmup;
mod wsd;

pub use any::{AnySchedule, Single};
pub use constant::{Constant, ConstantConfig};
pub use constant_factor::{ConstantFactor, ConstantFactorConfig};
pub use cosine::{CosineAnnealing, CosineAnnealingConfig};
pub use cosine_warmup::{CosineWithWarmup, CosineWithWarmupConfig};
pub use cyclic::{Cyclic, CyclicConfig, CyclicMode};
pub use exponential::{Exponential, ExponentialConfig};
pub use hard_restarts::{CosineHardRestarts, CosineHardRestartsConfig};
pub use inverse_sqrt::{InverseSqrt, InverseSqrtConfig};
pub use inverse_time::{InverseTime, InverseTimeConfig};
pub use linear::{Linear, LinearConfig};
pub use multistep::{MultiStep, MultiStepConfig};
pub use one_cycle::{OneCycle, OneCycleConfig, PhaseRule};
pub use piecewise::{PiecewiseConstant, PiecewiseConstantConfig};
pub use plateau::{PlateauConfig, PlateauMode, ReduceOnPlateau, ThresholdMode};
pub use polynomial::{Polynomial, PolynomialConfig};
pub use polynomial_warmup::{PolynomialWithWarmup, PolynomialWithWarmupConfig};
pub use sequential::Sequential;
pub use step::{Step, StepConfig};
pub use timm::{TimmCosine, TimmCosineConfig, TimmPoly, TimmPolyConfig, TimmTanh, TimmTanhConfig};
pub use util::Anneal;
pub use warm_restarts::{WarmRestarts, WarmRestartsConfig};
pub use warmup::Warmup;
pub use wsd::{Wsd, WsdConfig, WsdDecay, WsdWarmup};

/// Capacity of milestone / boundary lists ([`MultiStep`], [`PiecewiseConstant`]).
pub const MAX_MILESTONES: usize = 16;
/// Capacity of [`PiecewiseConstant`]'s value list (one more than its boundaries).
pub const MAX_VALUES: usize = MAX_MILESTONES + 1;
