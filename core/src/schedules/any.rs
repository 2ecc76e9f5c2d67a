//! Enums that can hold any schedule: what a config file (TOML / JSON under the
//! `serde` feature) describes.
//!
//! One list, in the single invocation of `schedules!` below, names every
//! closed-form schedule (variant, type, serde tag, doc line); the macro generates
//! [`Single`], [`AnySchedule`], their [`Schedule`] and `From` impls, and the
//! dispatch of [`name`](AnySchedule::name),
//! [`natural_length`](AnySchedule::natural_length),
//! [`with_length`](AnySchedule::with_length) and
//! [`with_peak`](AnySchedule::with_peak).

use super::adjust::{Adjust, NO_PEAK};
use super::{
    Constant, ConstantFactor, CosineAnnealing, CosineHardRestarts, CosineWithWarmup, Cyclic,
    Exponential, InverseSqrt, InverseTime, Linear, MultiStep, OneCycle, PiecewiseConstant,
    Polynomial, PolynomialWithWarmup, Sequential, Step, TimmCosine, TimmPoly, TimmTanh,
    WarmRestarts, Warmup, Wsd,
};
use crate::{ConfigError, Real, Schedule};

macro_rules! schedules {
    ($($(#[$doc:meta])* $v:ident($t:ident) = $tag:literal $(| $alias:literal)*;)*) => {
        /// Any closed-form schedule that is not a composition; the building block
        /// of [`Warmup`] and [`Sequential`] inside [`AnySchedule`].
        ///
        /// Serialized externally tagged with snake_case names (see
        /// [`name`](Self::name)), e.g. `{"one_cycle": {"max_lr": 0.1, …}}`
        /// (TOML: `[one_cycle]`).
        #[derive(Clone, Debug, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum Single<F: Real = f32> {
            $(
                $(#[$doc])*
                #[cfg_attr(feature = "serde", serde(rename = $tag $(, alias = $alias)*))]
                $v($t<F>),
            )*
        }

        /// Any closed-form schedule, including a warmup before one and a sequence
        /// of up to `N` of them: the type a configuration file describes.
        /// Implements [`Schedule`]; round-trips through serde (externally tagged,
        /// snake_case, see [`name`](Self::name):
        /// `{"warmup": {"warmup_steps": 5, "start_lr": 0.0, "schedule": {"cosine_annealing": {…}}}}`).
        ///
        /// `ReduceOnPlateau`, which is fed a metric rather than computed from the
        /// step, is configured separately with [`PlateauConfig`](super::PlateauConfig).
        #[derive(Clone, Debug, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
        #[cfg_attr(
            feature = "serde",
            serde(bound(
                serialize = "F: serde::Serialize",
                deserialize = "F: serde::Deserialize<'de>"
            ))
        )]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum AnySchedule<F: Real = f32, const N: usize = 4> {
            $(
                $(#[$doc])*
                #[cfg_attr(feature = "serde", serde(rename = $tag $(, alias = $alias)*))]
                $v($t<F>),
            )*
            /// [`Warmup`] before a [`Single`] schedule.
            #[cfg_attr(feature = "serde", serde(rename = "warmup"))]
            Warmup(Warmup<Single<F>, F>),
            /// [`Sequential`] of up to `N` [`Single`] schedules (PyTorch `SequentialLR`).
            #[cfg_attr(feature = "serde", serde(rename = "sequential"))]
            Sequential(Sequential<Single<F>, N>),
        }

        impl<F: Real> Schedule<F> for Single<F> {
            #[inline]
            fn lr(&self, step: u32) -> F {
                match self {
                    $(Self::$v(s) => s.lr(step),)*
                }
            }

            #[inline]
            fn momentum(&self, step: u32) -> Option<F> {
                match self {
                    $(Self::$v(s) => s.momentum(step),)*
                }
            }
        }

        impl<F: Real, const N: usize> Schedule<F> for AnySchedule<F, N> {
            #[inline]
            fn lr(&self, step: u32) -> F {
                match self {
                    $(Self::$v(s) => s.lr(step),)*
                    Self::Warmup(s) => s.lr(step),
                    Self::Sequential(s) => s.lr(step),
                }
            }

            #[inline]
            fn momentum(&self, step: u32) -> Option<F> {
                match self {
                    $(Self::$v(s) => s.momentum(step),)*
                    Self::Warmup(s) => s.momentum(step),
                    Self::Sequential(s) => s.momentum(step),
                }
            }
        }

        $(
            impl<F: Real> From<$t<F>> for Single<F> {
                fn from(s: $t<F>) -> Self {
                    Self::$v(s)
                }
            }

            impl<F: Real, const N: usize> From<$t<F>> for AnySchedule<F, N> {
                fn from(s: $t<F>) -> Self {
                    Self::$v(s)
                }
            }
        )*

        impl<F: Real, const N: usize> From<Single<F>> for AnySchedule<F, N> {
            fn from(s: Single<F>) -> Self {
                match s {
                    $(Single::$v(x) => Self::$v(x),)*
                }
            }
        }

        impl<F: Real, const N: usize> From<Warmup<Single<F>, F>> for AnySchedule<F, N> {
            fn from(s: Warmup<Single<F>, F>) -> Self {
                Self::Warmup(s)
            }
        }

        impl<F: Real, const N: usize> From<Sequential<Single<F>, N>> for AnySchedule<F, N> {
            fn from(s: Sequential<Single<F>, N>) -> Self {
                Self::Sequential(s)
            }
        }

        impl<F: Real> Single<F> {
            /// The serde tag of this kind, e.g. `"one_cycle"`, `"cosine_annealing"`.
            pub const fn name(&self) -> &'static str {
                match self {
                    $(Self::$v(_) => $tag,)*
                }
            }

            /// The number of steps the schedule is configured to span, where it has
            /// one: `Some(total_steps)` for [`OneCycle`], `Some(t_max)` for
            /// [`CosineAnnealing`], `Some(num_training_steps)` for
            /// [`CosineWithWarmup`], [`CosineHardRestarts`] and
            /// [`PolynomialWithWarmup`], warmup + stable + decay for [`Wsd`],
            /// `None` for every other kind.
            pub fn natural_length(&self) -> Option<u32> {
                match self {
                    $(Self::$v(s) => s.natural_length(),)*
                }
            }

            /// The schedule stretched to a run of `total` steps: [`OneCycle`]'s
            /// `total_steps`, [`CosineAnnealing`]'s `t_max` and the HF kinds'
            /// `num_training_steps` become `total` ([`Wsd`]'s stable phase takes
            /// what its warmup and decay leave), validated again; every other kind
            /// is returned unchanged.
            pub fn with_length(self, total: u32) -> Result<Self, ConfigError> {
                match self {
                    $(Self::$v(s) => s.with_length(total).map(Self::$v),)*
                }
            }

            /// The schedule with peak learning rate `max_lr`, rebuilt and validated:
            ///
            /// * [`OneCycle`]: `max_lr` (its start and end follow through the div
            ///   factors);
            /// * [`Cyclic`]: `max_lr`, and `base_lr = min_lr`, or without `min_lr` the
            ///   old ratio kept, `base_lr = max_lr · old_base_lr / old_max_lr`;
            /// * [`Constant`], [`Step`], [`MultiStep`], [`Exponential`],
            ///   [`Polynomial`], [`Linear`], [`ConstantFactor`], [`InverseTime`],
            ///   [`CosineAnnealing`], [`WarmRestarts`], [`Wsd`], [`CosineWithWarmup`],
            ///   [`CosineHardRestarts`], [`InverseSqrt`], [`PolynomialWithWarmup`],
            ///   [`TimmCosine`], [`TimmTanh`], [`TimmPoly`]: `base_lr = max_lr`;
            /// * [`PiecewiseConstant`], which has no single peak: an error on
            ///   `max_lr`.
            pub fn with_peak(self, max_lr: F, min_lr: Option<F>) -> Result<Self, ConfigError> {
                match self {
                    $(Self::$v(s) => s.with_peak(max_lr, min_lr).map(Self::$v),)*
                }
            }
        }

        impl<F: Real, const N: usize> AnySchedule<F, N> {
            /// Every kind's serde tag, in declaration order, then `"warmup"` and
            /// `"sequential"` (aliases such as HF's names are accepted too, not listed).
            pub const KINDS: &'static [&'static str] = &[$($tag,)* "warmup", "sequential"];

            /// The serde tag of this kind, e.g. `"one_cycle"`, `"cosine_annealing"`,
            /// `"warmup"`.
            pub const fn name(&self) -> &'static str {
                match self {
                    $(Self::$v(_) => $tag,)*
                    Self::Warmup(_) => "warmup",
                    Self::Sequential(_) => "sequential",
                }
            }

            /// As [`Single::natural_length`]; `None` for [`Warmup`] and
            /// [`Sequential`].
            pub fn natural_length(&self) -> Option<u32> {
                match self {
                    $(Self::$v(s) => s.natural_length(),)*
                    Self::Warmup(_) | Self::Sequential(_) => None,
                }
            }

            /// As [`Single::with_length`]; [`Warmup`] and [`Sequential`] are
            /// returned unchanged.
            pub fn with_length(self, total: u32) -> Result<Self, ConfigError> {
                match self {
                    $(Self::$v(s) => s.with_length(total).map(Self::$v),)*
                    other @ (Self::Warmup(_) | Self::Sequential(_)) => Ok(other),
                }
            }

            /// As [`Single::with_peak`]; [`Warmup`] and [`Sequential`], like
            /// [`PiecewiseConstant`], give an error on `max_lr`.
            pub fn with_peak(self, max_lr: F, min_lr: Option<F>) -> Result<Self, ConfigError> {
                match self {
                    $(Self::$v(s) => s.with_peak(max_lr, min_lr).map(Self::$v),)*
                    Self::Warmup(_) | Self::Sequential(_) => Err(NO_PEAK),
                }
            }
        }
    };
}

schedules! {
    /// [`Constant`].
    Constant(Constant) = "constant";
    /// [`Step`] (PyTorch `StepLR`).
    Step(Step) = "step";
    /// [`MultiStep`] (PyTorch `MultiStepLR`).
    MultiStep(MultiStep) = "multi_step";
    /// [`Exponential`] (PyTorch `ExponentialLR`, Keras `ExponentialDecay`).
    Exponential(Exponential) = "exponential";
    /// [`Polynomial`] (PyTorch `PolynomialLR`, Keras `PolynomialDecay`).
    Polynomial(Polynomial) = "polynomial";
    /// [`Linear`] (PyTorch `LinearLR`).
    Linear(Linear) = "linear";
    /// [`ConstantFactor`] (PyTorch `ConstantLR`).
    ConstantFactor(ConstantFactor) = "constant_factor";
    /// [`InverseTime`] (Keras `InverseTimeDecay`).
    InverseTime(InverseTime) = "inverse_time";
    /// [`CosineAnnealing`] (PyTorch `CosineAnnealingLR`, Keras `CosineDecay`).
    CosineAnnealing(CosineAnnealing) = "cosine_annealing";
    /// [`WarmRestarts`] (SGDR).
    WarmRestarts(WarmRestarts) = "warm_restarts";
    /// [`Cyclic`] (CLR).
    Cyclic(Cyclic) = "cyclic";
    /// [`OneCycle`] (1cycle).
    OneCycle(OneCycle) = "one_cycle";
    /// [`PiecewiseConstant`] (Keras `PiecewiseConstantDecay`).
    PiecewiseConstant(PiecewiseConstant) = "piecewise_constant";
    /// [`Wsd`] (warmup–stable–decay; HF `get_wsd_schedule`, whose
    /// `SchedulerType` name `warmup_stable_decay` is accepted too).
    Wsd(Wsd) = "wsd" | "warmup_stable_decay";
    /// [`CosineWithWarmup`] (HF `get_cosine_schedule_with_warmup`; also accepted
    /// as HF's `cosine_with_min_lr`).
    CosineWithWarmup(CosineWithWarmup) = "cosine_with_warmup" | "cosine_with_min_lr";
    /// [`CosineHardRestarts`] (HF `cosine_with_restarts`).
    CosineHardRestarts(CosineHardRestarts) = "cosine_with_restarts" | "cosine_with_hard_restarts";
    /// [`InverseSqrt`] (HF `inverse_sqrt`).
    InverseSqrt(InverseSqrt) = "inverse_sqrt";
    /// [`PolynomialWithWarmup`] (HF `get_polynomial_decay_schedule_with_warmup`,
    /// HF's `polynomial`, which here names PyTorch `PolynomialLR`).
    PolynomialWithWarmup(PolynomialWithWarmup) = "polynomial_with_warmup";
    /// [`TimmCosine`] (timm `CosineLRScheduler`).
    TimmCosine(TimmCosine) = "timm_cosine";
    /// [`TimmTanh`] (timm `TanhLRScheduler`, timm's `tanh`).
    TimmTanh(TimmTanh) = "timm_tanh" | "tanh";
    /// [`TimmPoly`] (timm `PolyLRScheduler`, timm's `poly`).
    TimmPoly(TimmPoly) = "timm_poly" | "poly";
}
