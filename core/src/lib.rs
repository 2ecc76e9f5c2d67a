#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
//! # lrate-core
//!
//! Learning-rate schedules and the LR range test, `no_std` with no allocator.
//!
//! Math comes from [`libm`], buffers are fixed-size [`heapless`] ones, and every
//! schedule is a closed-form function of the step (see [`Schedule`]).

mod error;
pub mod range_test;
mod real;
mod schedule;
pub mod schedule_free;
pub mod schedules;

pub use error::{ConfigError, Problem};
pub use range_test::{
    AveragedRangeTest, BandPoint, Bounds, BoundsRule, Curve, CurvePoint, NonFinite,
    OptimizerFamily, ParseBoundsRuleError, RangeTest, RangeTestConfig, RuleSpread, SlideParams,
    Smoother, Smoothing, Status, StopReason, Suggestion, Suggestions, Sweep, SweepEnd, Unreliable,
};
pub use real::Real;
pub use schedule::Schedule;
pub use schedule_free::{ScheduleFree, ScheduleFreeConfig, MAX_SF_EXPONENT};
pub use schedules::*;

/// The workspace README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// This crate's README (`core/README.md`, shown on crates.io), its Rust examples
/// compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
