//! `lrate`: the learning-rate workflow on a real CNN (dfdx 0.13, stable Rust).
//!
//! Find the bounds with the range test ([`find`]), train with 1cycle, CLR, SGDR
//! or a classic schedule from `lrate-core` ([`train`], [`sched`]), and show what
//! happened ([`plot`], [`metrics`]).
//!
//! * The command line is [`cli`] (what was typed); [`config`] resolves it, with the
//!   config file, once into typed options; [`app`] dispatches the subcommands.
//! * A run's state is [`resume::RunState`]; [`checkpoint`] is the file format, [`meta`] its
//!   metadata, [`resume`] saving and loading, [`stop`] the ways a run ends early.
//! * Data loaders live in [`data`], the networks in [`nn`], the devices in [`device`];
//!   [`eval_point`] evaluates schedule-free runs at their evaluation point.

pub mod allocator;
pub mod app;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod cooldown;
pub mod data;
pub mod device;
pub mod eval_point;
pub mod find;
pub mod interrupt;
pub mod meta;
pub mod metrics;
pub mod model_cmd;
pub mod nn;
pub mod outdir;
pub mod pause;
pub mod plot;
pub mod predict;
pub mod progress;
pub mod resume;
pub mod sched;
pub mod schedule_cmd;
pub mod stop;
pub mod train;
