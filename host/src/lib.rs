//! `lrate`: the learning-rate workflow on a real CNN (dfdx 0.13, stable Rust).
//!
//! Find the bounds with the range test ([`find`]), train with 1cycle, CLR, SGDR
//! or a classic schedule from `lrate-core` ([`train`], [`sched`]), and show what
//! happened ([`plot`], [`metrics`]). The binary's command line is [`cli`];
//! [`app`] dispatches it. Data loaders live in [`data`], the networks in [`nn`].

pub mod app;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod export;
pub mod find;
pub mod interrupt;
pub mod metrics;
pub mod nn;
pub mod plot;
pub mod sched;
pub mod schedule_cmd;
pub mod train;
