#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! # lrate-core
//!
//! Learning-rate schedules and the LR range test, `no_std` with no allocator.
//!
//! Math comes from [`libm`], buffers are fixed-size [`heapless`] ones, and every
//! schedule is a closed-form function of the step (see [`Schedule`]).

mod real;
mod schedule;

pub use real::Real;
pub use schedule::Schedule;
