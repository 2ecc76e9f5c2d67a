//! When a range-test curve can be trusted to give a `max_lr` at all.

use core::fmt;

use super::bounds_rule::BoundsRule;
use super::machine::{RangeTest, Status, StopReason};
use crate::Real;

/// Why a range test gives no reliable `max_lr` ([`RangeTest::reliable_max_lr`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Unreliable<F = f32> {
    /// No batch had a finite loss.
    NoFiniteLoss,
    /// The curve ended after `batches` batches, before the suggestion window
    /// (batches `[num_it / 10, batches − 5)`) held a point.
    TooShort {
        /// Batches recorded.
        batches: u32,
        /// Why the sweep ended.
        reason: StopReason,
    },
    /// The smoothed loss fell by only this fraction from its first value to its
    /// lowest, less than [`RangeTest::MIN_DROP`]: the curve is noise.
    NeverFell {
        /// `(first − lowest) / |first|`.
        drop: F,
    },
    /// The rule found no point on the curve.
    NoPick(BoundsRule),
}

impl<F: Real> fmt::Display for Unreliable<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoFiniteLoss => f.write_str("every loss of the sweep was NaN or infinite"),
            Self::TooShort { batches, reason } => {
                let why = match reason {
                    StopReason::Diverged => "diverged",
                    StopReason::NonFinite => "hit a NaN or infinite loss",
                    StopReason::Finished => "finished",
                };
                write!(
                    f,
                    "the sweep {why} after {batches} batches, before the curve could be read"
                )
            }
            Self::NeverFell { drop } => write!(
                f,
                "the smoothed loss fell by only {:.1}% during the sweep (at least {:.0}% is needed), \
                 so the curve is noise",
                drop.to_f64() * 100.0,
                RangeTest::<F, 0>::MIN_DROP * 100.0
            ),
            Self::NoPick(rule) => write!(f, "the rule {rule} found no point on the curve"),
        }
    }
}

impl<F: Real> core::error::Error for Unreliable<F> {}

impl<F: Real, const N: usize> RangeTest<F, N> {
    /// The smallest relative fall of the smoothed loss, from its first value to
    /// its lowest, for a curve to be read: 5 %.
    pub const MIN_DROP: f64 = 0.05;

    /// `(first − lowest) / |first|` of the smoothed loss (the fall as a fraction),
    /// saturated at `F::MAX` where it overflows; `None` before the first finite loss.
    /// `|first| = 0` counts as a full fall when the loss went below it, and as none
    /// otherwise.
    pub fn loss_drop(&self) -> Option<F> {
        let first = self.curve().iter().find_map(|p| p.loss)?;
        let best = self.best_loss()?;
        let fall = first - best;
        Some(if first.abs() > F::ZERO {
            // ≥ 0, or +∞ where `first − best` or the quotient overflows.
            (fall / first.abs()).min(F::MAX)
        } else if fall > F::ZERO {
            F::ONE
        } else {
            F::ZERO
        })
    }

    /// `rule`'s `max_lr` ([`max_lr_by`](Self::max_lr_by)) when the curve can be
    /// trusted, else why not: no finite loss, a sweep that ended before its
    /// suggestion window, a smoothed loss that fell by less than
    /// [`MIN_DROP`](Self::MIN_DROP), or no pick. Never NaN: the `Ok` value is
    /// finite and > 0.
    pub fn reliable_max_lr(&self, rule: BoundsRule) -> Result<F, Unreliable<F>> {
        let curve = self.curve();
        if curve.iter().all(|p| p.loss.is_none()) {
            return Err(Unreliable::NoFiniteLoss);
        }
        if self.min_point().is_none() {
            let reason = match self.status() {
                Status::Done(r) => r,
                Status::Continue => StopReason::Finished,
            };
            return Err(Unreliable::TooShort {
                batches: self.batches(),
                reason,
            });
        }
        let drop = self.loss_drop().unwrap_or(F::ZERO);
        if drop.is_nan() || drop < F::from_f64(Self::MIN_DROP) {
            return Err(Unreliable::NeverFell { drop });
        }
        self.max_lr_by(rule).ok_or(Unreliable::NoPick(rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range_test::{RangeTestConfig, Suggestion};

    fn run(loss: impl Fn(u32, f32) -> f32) -> RangeTest<f32, 128> {
        let mut t = RangeTest::<f32, 128>::new(RangeTestConfig::fastai()).unwrap();
        let mut i = 0;
        while let Some(lr) = t.next_lr() {
            if let Status::Done(_) = t.record(loss(i, lr)) {
                break;
            }
            i += 1;
        }
        t
    }

    #[test]
    fn a_falling_curve_is_reliable() {
        let t = run(|_, lr| 1.0 + (libm::logf(lr / 1e-2)).powi(2) * 0.05);
        let lr = t.reliable_max_lr(BoundsRule::DEFAULT).unwrap();
        assert_eq!(Some(lr), t.max_lr_by(BoundsRule::DEFAULT));
        assert!(t.loss_drop().unwrap() > 0.5);
    }

    #[test]
    fn nan_flat_and_instant_divergence_are_refused_with_the_reason() {
        let nan = run(|_, _| f32::NAN);
        assert_eq!(
            nan.reliable_max_lr(BoundsRule::DEFAULT),
            Err(Unreliable::NoFiniteLoss)
        );
        let flat = run(|i, _| 2.0 + 0.001 * ((i % 3) as f32));
        assert!(matches!(
            flat.reliable_max_lr(BoundsRule::DEFAULT),
            Err(Unreliable::NeverFell { .. })
        ));
        let at_once = run(|i, _| if i < 3 { 1.0 } else { 1e6 });
        assert_eq!(
            at_once.reliable_max_lr(BoundsRule::DEFAULT),
            Err(Unreliable::TooShort {
                batches: 4,
                reason: StopReason::Diverged
            })
        );
        // Rising from the start: no fall.
        let rising = run(|i, _| 1.0 + i as f32 * 0.001);
        assert!(rising.reliable_max_lr(Suggestion::Valley.into()).is_err());
    }

    /// Fuzz regression (`fuzz/regressions/range_test/loss-drop-overflow`): a fall from a
    /// subnormal first loss gave ∞.
    #[test]
    fn a_huge_fall_saturates() {
        let c = RangeTestConfig::fastai()
            .range(1e-3, 1.0, 20)
            .smoothing(crate::range_test::Smoothing::Debiased { beta: 0.0 })
            .diverge_factor(None);
        for (first, then) in [(1e-40f32, -1.0f32), (1e-45, -1e-5)] {
            let mut t = RangeTest::<f32, 128>::new(c).unwrap();
            t.record(first);
            t.record(then);
            assert_eq!(t.loss_drop(), Some(f32::MAX), "{first} -> {then}");
        }
    }

    #[test]
    fn zero_first_loss() {
        let t = run(|i, _| -(i as f32) * 0.01);
        assert_eq!(t.loss_drop(), Some(1.0));
    }
}
