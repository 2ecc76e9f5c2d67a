//! What the fine-tuning procedure reports: the [`Event`]s it hands to an
//! [`Observer`] as it goes (the firmware logs them over defmt, the host tests
//! record them), the [`Phase`] each belongs to and the range test's
//! [`RangeSummary`].

use crate::pipeline::{Fault, FaultCounts};

/// The phase a log event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Recording the held-out set.
    Collect,
    /// Accuracy before fine-tuning.
    Before,
    /// The LR range test.
    RangeTest,
    /// Fine-tuning (CLR or schedule-free SGD).
    FineTune,
    /// Accuracy after fine-tuning.
    After,
}

/// Summary of the range test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangeSummary {
    /// Batches run.
    pub batches: u32,
    /// Lowest smoothed loss and its rate.
    pub best_loss: f32,
    /// Rate of the lowest smoothed loss.
    pub best_lr: f32,
    /// Last rate swept.
    pub last_lr: f32,
    /// True if the sweep stopped early because the loss diverged.
    pub diverged: bool,
    /// The rule that read `max_lr` off the curve.
    pub rule: lrate_core::BoundsRule,
    /// The `max_lr` of the bounds rule, if the curve gives a reliable one.
    pub suggestion: Option<f32>,
}

/// What happened, for the log.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// A sample was skipped.
    Skipped {
        /// Phase.
        phase: Phase,
        /// Why.
        fault: Fault,
        /// Totals so far.
        counts: FaultCounts,
    },
    /// Accuracy on the held-out set.
    Accuracy {
        /// [`Phase::Before`] or [`Phase::After`].
        phase: Phase,
        /// Correct predictions.
        correct: u32,
        /// Held-out windows.
        total: u32,
    },
    /// One batch of the range test.
    RangePoint {
        /// Batch index.
        batch: u32,
        /// Its rate.
        lr: f32,
        /// Its raw loss.
        loss: f32,
    },
    /// The range test finished.
    RangeDone(RangeSummary),
    /// The CLR bounds chosen.
    Bounds {
        /// Lower bound.
        base_lr: f32,
        /// Upper bound.
        max_lr: f32,
        /// False if the fallback was used.
        from_range_test: bool,
    },
    /// Schedule-free SGD was configured for the fine-tuning phase.
    ScheduleFree {
        /// Base rate after warmup.
        lr: f32,
        /// Linear warmup steps.
        warmup_steps: u32,
        /// Interpolation `β`.
        momentum: f32,
        /// Steps it will run.
        steps: u32,
    },
    /// One CLR cycle finished (schedule-free SGD: a block of as many steps).
    Cycle {
        /// Cycle number from 1.
        cycle: u32,
        /// Mean training loss over the cycle.
        mean_loss: f32,
        /// Lowest and highest rate used.
        lr_min: f32,
        /// Highest rate used.
        lr_max: f32,
        /// Lowest momentum used.
        mom_min: f32,
        /// Highest momentum used.
        mom_max: f32,
        /// Steps that were skipped (non-finite loss).
        skipped_steps: u32,
    },
    /// lrate-core refused a configuration (the procedure goes on with the
    /// fallback bounds, or skips fine-tuning if even those are refused).
    ConfigRejected(lrate_core::ConfigError),
    /// Cost of one training step, in [`Observer::ticks`] units.
    StepCost {
        /// Frozen-feature forward pass of one batch.
        features: u32,
        /// Head forward, backward and SGD update of one batch.
        update: u32,
    },
    /// Cost of evaluating the scalar schedule (rate, momentum, `ckp1`) over the
    /// fine-tuning phase, in [`Observer::ticks`] units.
    ScheduleCost {
        /// Steps timed.
        steps: u32,
        /// Sum over the steps.
        total: u32,
        /// The dearest step.
        max: u32,
    },
}

/// Receives the log events and supplies a tick counter for the step cost.
pub trait Observer {
    /// An event.
    fn event(&mut self, e: &Event);
    /// A monotonic tick count (wrapping); 0 where there is no timer.
    fn ticks(&mut self) -> u32 {
        0
    }
}
