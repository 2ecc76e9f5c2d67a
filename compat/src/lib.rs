//! PyTorch `torch.optim.lr_scheduler` class names and arguments onto lrate-core schedules.
//!
//! One mapping, shared by the PyTorch parity test (`tests/pytorch_parity.rs`, which drives
//! it with every case of the reference file) and the Python package's
//! `lrate.schedules.from_torch`. It translates arguments only: every formula stays in
//! lrate-core. Every argument the mapper does not understand is an error, so an
//! unsupported class or argument is refused instead of being ignored.
//!
//! * [`args`]: typed, strict access to an `args` object ([`Args`]).
//! * [`pytorch`]: the classes ([`pytorch_schedule`], [`pytorch_single`]).

use lrate_core::{AnySchedule, ConfigError, Real, ReduceOnPlateau};

pub mod args;
pub mod pytorch;

pub use args::Args;
pub use pytorch::{pytorch_schedule, pytorch_single};

/// A schedule built from a scheduler description.
#[derive(Clone, Debug)]
pub enum Built<F: Real> {
    /// A closed-form schedule.
    Closed(Box<AnySchedule<F>>),
    /// `ReduceLROnPlateau`, fed a metric after every step.
    Plateau(ReduceOnPlateau<F>),
}

/// A rejected configuration, as an error message that keeps core's field name.
pub fn cfg_err(e: ConfigError) -> String {
    format!("lrate rejected the configuration: {e}")
}

/// An `f64` argument in the schedule's float type.
pub fn f<F: Real>(v: f64) -> F {
    F::from_f64(v)
}
