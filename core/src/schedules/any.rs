//! Enums that can hold any schedule: what a config file (TOML / JSON under the
//! `serde` feature) describes.

use super::{
    Constant, ConstantFactor, CosineAnnealing, Cyclic, Exponential, InverseTime, Linear, MultiStep,
    OneCycle, PiecewiseConstant, Polynomial, Sequential, Step, WarmRestarts, Warmup,
};
use crate::{Real, Schedule};

macro_rules! dispatch {
    ($self:expr, $s:ident => $e:expr; $($v:ident),*) => {
        dispatch!($self, Self, $s => $e; $($v),*)
    };
    ($self:expr, $enum:ident, $s:ident => $e:expr; $($v:ident),*) => {
        match $self {
            $($enum::$v($s) => $e,)*
        }
    };
}

macro_rules! from_impls {
    (Single; $($v:ident),*) => {
        $(
            impl<F: Real> From<$v<F>> for Single<F> {
                fn from(s: $v<F>) -> Self {
                    Self::$v(s)
                }
            }
        )*
    };
    (AnySchedule; $($v:ident),*) => {
        $(
            impl<F: Real, const N: usize> From<$v<F>> for AnySchedule<F, N> {
                fn from(s: $v<F>) -> Self {
                    Self::$v(s)
                }
            }
        )*
    };
}

/// Any closed-form schedule that is not a composition; the building block of
/// [`Warmup`] and [`Sequential`] inside [`AnySchedule`].
///
/// Serialized externally tagged with snake_case names, e.g.
/// `{"one_cycle": {"max_lr": 0.1, …}}` (TOML: `[one_cycle]`).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Single<F: Real = f32> {
    /// [`Constant`].
    Constant(Constant<F>),
    /// [`Step`] (PyTorch `StepLR`).
    Step(Step<F>),
    /// [`MultiStep`] (PyTorch `MultiStepLR`).
    MultiStep(MultiStep<F>),
    /// [`Exponential`] (PyTorch `ExponentialLR`, Keras `ExponentialDecay`).
    Exponential(Exponential<F>),
    /// [`Polynomial`] (PyTorch `PolynomialLR`, Keras `PolynomialDecay`).
    Polynomial(Polynomial<F>),
    /// [`Linear`] (PyTorch `LinearLR`).
    Linear(Linear<F>),
    /// [`ConstantFactor`] (PyTorch `ConstantLR`).
    ConstantFactor(ConstantFactor<F>),
    /// [`InverseTime`] (Keras `InverseTimeDecay`).
    InverseTime(InverseTime<F>),
    /// [`CosineAnnealing`] (PyTorch `CosineAnnealingLR`, Keras `CosineDecay`).
    CosineAnnealing(CosineAnnealing<F>),
    /// [`WarmRestarts`] (SGDR).
    WarmRestarts(WarmRestarts<F>),
    /// [`Cyclic`] (CLR).
    Cyclic(Cyclic<F>),
    /// [`OneCycle`] (1cycle).
    OneCycle(OneCycle<F>),
    /// [`PiecewiseConstant`] (Keras `PiecewiseConstantDecay`).
    PiecewiseConstant(PiecewiseConstant<F>),
}

impl<F: Real> Schedule<F> for Single<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        dispatch!(self, s => s.lr(step); Constant, Step, MultiStep, Exponential, Polynomial,
            Linear, ConstantFactor, InverseTime, CosineAnnealing, WarmRestarts, Cyclic, OneCycle,
            PiecewiseConstant)
    }

    #[inline]
    fn momentum(&self, step: u32) -> Option<F> {
        dispatch!(self, s => s.momentum(step); Constant, Step, MultiStep, Exponential,
            Polynomial, Linear, ConstantFactor, InverseTime, CosineAnnealing, WarmRestarts, Cyclic,
            OneCycle, PiecewiseConstant)
    }
}

from_impls!(Single; Constant, Step, MultiStep, Exponential, Polynomial, Linear, ConstantFactor,
    InverseTime, CosineAnnealing, WarmRestarts, Cyclic, OneCycle, PiecewiseConstant);

/// Any closed-form schedule, including a warmup before one and a sequence of up
/// to `N` of them: the type a configuration file describes. Implements
/// [`Schedule`]; round-trips through serde (externally tagged, snake_case:
/// `{"warmup": {"warmup_steps": 5, "start_lr": 0.0, "schedule": {"cosine_annealing": {…}}}}`).
///
/// `ReduceOnPlateau`, which is fed a metric rather than computed from the step,
/// is configured separately with [`PlateauConfig`](super::PlateauConfig).
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
    /// [`Constant`].
    Constant(Constant<F>),
    /// [`Step`] (PyTorch `StepLR`).
    Step(Step<F>),
    /// [`MultiStep`] (PyTorch `MultiStepLR`).
    MultiStep(MultiStep<F>),
    /// [`Exponential`] (PyTorch `ExponentialLR`, Keras `ExponentialDecay`).
    Exponential(Exponential<F>),
    /// [`Polynomial`] (PyTorch `PolynomialLR`, Keras `PolynomialDecay`).
    Polynomial(Polynomial<F>),
    /// [`Linear`] (PyTorch `LinearLR`).
    Linear(Linear<F>),
    /// [`ConstantFactor`] (PyTorch `ConstantLR`).
    ConstantFactor(ConstantFactor<F>),
    /// [`InverseTime`] (Keras `InverseTimeDecay`).
    InverseTime(InverseTime<F>),
    /// [`CosineAnnealing`] (PyTorch `CosineAnnealingLR`, Keras `CosineDecay`).
    CosineAnnealing(CosineAnnealing<F>),
    /// [`WarmRestarts`] (SGDR).
    WarmRestarts(WarmRestarts<F>),
    /// [`Cyclic`] (CLR).
    Cyclic(Cyclic<F>),
    /// [`OneCycle`] (1cycle).
    OneCycle(OneCycle<F>),
    /// [`PiecewiseConstant`] (Keras `PiecewiseConstantDecay`).
    PiecewiseConstant(PiecewiseConstant<F>),
    /// [`Warmup`] before a [`Single`] schedule.
    Warmup(Warmup<Single<F>, F>),
    /// [`Sequential`] of up to `N` [`Single`] schedules (PyTorch `SequentialLR`).
    Sequential(Sequential<Single<F>, N>),
}

impl<F: Real, const N: usize> Schedule<F> for AnySchedule<F, N> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        dispatch!(self, s => s.lr(step); Constant, Step, MultiStep, Exponential, Polynomial,
            Linear, ConstantFactor, InverseTime, CosineAnnealing, WarmRestarts, Cyclic, OneCycle,
            PiecewiseConstant, Warmup, Sequential)
    }

    #[inline]
    fn momentum(&self, step: u32) -> Option<F> {
        dispatch!(self, s => s.momentum(step); Constant, Step, MultiStep, Exponential,
            Polynomial, Linear, ConstantFactor, InverseTime, CosineAnnealing, WarmRestarts, Cyclic,
            OneCycle, PiecewiseConstant, Warmup, Sequential)
    }
}

from_impls!(AnySchedule; Constant, Step, MultiStep, Exponential, Polynomial, Linear,
    ConstantFactor, InverseTime, CosineAnnealing, WarmRestarts, Cyclic, OneCycle,
    PiecewiseConstant);

impl<F: Real, const N: usize> From<Single<F>> for AnySchedule<F, N> {
    fn from(s: Single<F>) -> Self {
        dispatch!(s, Single, x => Self::from(x); Constant, Step, MultiStep, Exponential, Polynomial,
            Linear, ConstantFactor, InverseTime, CosineAnnealing, WarmRestarts, Cyclic, OneCycle,
            PiecewiseConstant)
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
