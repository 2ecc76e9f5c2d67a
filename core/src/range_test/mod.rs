//! The learning-rate range test (LR finder) as a `no_std`, allocation-free state
//! machine driven by the caller's own training loop.
//!
//! The caller owns the model: it asks [`RangeTest::next_lr`] for the learning rate
//! of the next batch, trains that batch, reports the loss to [`RangeTest::record`]
//! and repeats until the test says [`Status::Done`]. Then it restores its model
//! and reads the suggestions ([`Suggestion`], [`RangeTest::min_point`]), or turns
//! one into schedule [`Bounds`] by a [`BoundsRule`]. Its loss smoothing is
//! available on its own as [`Smoother`]. The presets [`RangeTest::fastai`] and
//! [`RangeTest::torch_lr_finder`] reproduce those libraries (fastai 2.8 `lr_find`,
//! torch-lr-finder 0.2.2 `range_test`), checked against their recorded outputs by
//! `tests/range_test_parity.rs`.
//!
//! ```
//! use lrate_core::{RangeTest, Status, Suggestion};
//!
//! let mut finder: RangeTest = RangeTest::fastai(); // f32, up to 128 curve points
//! let mut w = 0.0f32; // a one-weight "model" with loss (w − 3)²
//! while let Some(lr) = finder.next_lr() {
//!     let loss = (w - 3.0) * (w - 3.0); // forward
//!     w -= lr * 2.0 * (w - 3.0); // backward + SGD step at the finder's lr
//!     if let Status::Done(_) = finder.record(loss) { break; }
//! }
//! let lr = finder.suggest(Suggestion::Valley).expect("curve long enough");
//! assert!(lr > 1e-3 && lr < 1.0); // this model diverges for lr > 1
//! ```
//!
//! See [`RangeTest`] for the divergence rule (which also works for losses ≤ 0),
//! the handling of NaN and infinite losses, the decimation of long runs and the
//! memory used as a function of the capacity `N`.

mod averaged;
mod bounds;
mod bounds_rule;
mod config;
mod curve;
mod fall;
mod machine;
mod reliability;
mod smoothing;
mod suggest;
mod sweep;

pub use averaged::{AveragedRangeTest, BandPoint, RejectReason, Rejected, RuleSpread};
pub use bounds::Bounds;
pub use bounds_rule::{BoundsRule, OptimizerFamily, ParseBoundsRuleError};
pub use config::{NonFinite, RangeTestConfig, Smoothing, Sweep, SweepEnd};
pub use curve::{Curve, CurvePoint};
pub use machine::{RangeTest, Status, StopReason};
pub use reliability::Unreliable;
pub use smoothing::Smoother;
pub use suggest::{SlideParams, Suggestion, Suggestions};
