#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! # lrate-firmware (library part)
//!
//! The `no_std`, allocator-free learning code of the Cortex-M4F fine-tuning demo:
//! data pipeline, model, backward passes, SGD with momentum, the embedded-hal
//! sensor driver, a simulated sensor, the weights format and the on-device
//! fine-tuning procedure. It builds for the host as well, where `cargo test -p
//! lrate-firmware` checks it and the `export` example (`cargo run --release -p
//! lrate-firmware --example export`) trains the base model with it ([`export`]).

pub mod base;
pub mod evaluation;
pub mod events;
// Host-only: the Cortex-M image never trains the base model, and leaving the module
// out of that build keeps its code generation (and so its flash size and step
// cost) exactly what it is without the module.
#[cfg(not(target_os = "none"))]
pub mod export;
pub mod finetune;
pub mod model;
pub mod pipeline;
pub mod rng;
pub mod sensor;
pub mod signal;
pub mod sim;
pub mod train;
// Host-only, like `export`: the search that chose the fine-tuning settings.
#[cfg(not(target_os = "none"))]
pub mod tune;
pub mod weights;
