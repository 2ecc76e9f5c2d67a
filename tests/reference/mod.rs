//! Reading the golden reference files and mapping PyTorch / Keras / fastai /
//! HF transformers / timm scheduler descriptions (class or method name + arguments) onto lrate
//! schedules, generally: any file in the same format goes through the same code.
//!
//! Every argument a mapper does not understand is an error, so an unsupported
//! class or argument fails the parity tests instead of being ignored.
//!
//! * [`args`]: typed, strict access to a case's `args` object ([`Args`]).
//! * [`pytorch`] (from `lrate-compat`, which the Python package shares), [`keras`],
//!   [`fastai`], [`modern`] (HF transformers and timm): one mapper per library.
//! * [`harness`]: finding and loading a golden file, the tolerances, running a
//!   built schedule ([`trajectory`]) and the per-case loop ([`check_cases`]).

pub use lrate_compat::{args, cfg_err, f, pytorch, Args, Built};

pub mod fastai;
pub mod harness;
pub mod keras;
pub mod modern;

pub use fastai::fastai_schedule;
pub use harness::{check_cases, close, golden_path, load, numbers, trajectory, ABS_TOL, REL_TOL};
pub use keras::keras_schedule;
pub use modern::{timm_schedule, transformers_schedule};
pub use pytorch::{pytorch_schedule, pytorch_single};
