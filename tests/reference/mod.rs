//! Reading the golden reference files and mapping PyTorch / Keras / fastai /
//! HF transformers / timm scheduler descriptions (class or method name + arguments) onto lrate
//! schedules, generally: any file in the same format goes through the same code.
//!
//! Every argument a mapper does not understand is an error, so an unsupported
//! class or argument fails the parity tests instead of being ignored.
//!
//! * [`args`]: typed, strict access to a case's `args` object ([`Args`]).
//! * [`pytorch`], [`keras`], [`fastai`], [`modern`] (HF transformers and timm):
//!   one mapper per library.
//! * [`harness`]: finding and loading a golden file, the tolerances, running a
//!   built schedule ([`trajectory`]) and the per-case loop ([`check_cases`]).

use lrate_core::{AnySchedule, ConfigError, Real, ReduceOnPlateau};

pub mod args;
pub mod fastai;
pub mod harness;
pub mod keras;
pub mod modern;
pub mod pytorch;

pub use args::Args;
pub use fastai::fastai_schedule;
pub use harness::{check_cases, close, golden_path, load, numbers, trajectory, ABS_TOL, REL_TOL};
pub use keras::keras_schedule;
pub use modern::{timm_schedule, transformers_schedule};
pub use pytorch::{pytorch_schedule, pytorch_single};

/// A schedule built from a golden case.
#[derive(Clone, Debug)]
pub enum Built<F: Real> {
    /// A closed-form schedule.
    Closed(Box<AnySchedule<F>>),
    /// `ReduceLROnPlateau`, fed a metric after every step.
    Plateau(ReduceOnPlateau<F>),
}

/// A rejected configuration, as a case error.
pub(crate) fn cfg_err(e: ConfigError) -> String {
    format!("lrate rejected the configuration: {e}")
}

/// A golden `f64` in the schedule's float type.
pub(crate) fn f<F: Real>(v: f64) -> F {
    F::from_f64(v)
}
