//! Schedule bounds derived from a range-test suggestion.

use super::bounds_rule::NO_SUGGESTION;
use super::machine::RangeTest;
use super::suggest::Suggestion;
use crate::error::{ConfigError, Problem};
use crate::schedules::{Cyclic, OneCycle, OneCycleConfig};
use crate::Real;

/// Learning-rate bounds for a cyclical schedule: `max_lr` from a range-test
/// suggestion and `min_lr = max_lr / div`.
///
/// Smith (2017, *Cyclical Learning Rates for Training Neural Networks*, §3.3) sets
/// the lower bound to 1/3 or 1/4 of the upper one; lrate accepts `div` in
/// `[3, 10]` and uses [`Bounds::DEFAULT_DIV`] = 4 by default.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Bounds<F = f32> {
    /// Lower bound, `max_lr / div`.
    pub min_lr: F,
    /// Upper bound.
    pub max_lr: F,
}

impl<F: Real> Bounds<F> {
    /// The default `div` (Smith 2017: "3 or 4").
    pub const DEFAULT_DIV: f64 = 4.0;

    /// `max_lr` (finite, > 0) and `min_lr = max_lr / div`, `div` in `[3, 10]`.
    pub fn new(max_lr: F, div: F) -> Result<Self, ConfigError> {
        if !max_lr.is_finite() {
            return Err(ConfigError::new("max_lr", Problem::NotFinite));
        }
        if max_lr <= F::ZERO {
            return Err(ConfigError::new("max_lr", Problem::NotPositive));
        }
        if !div.is_finite() {
            return Err(ConfigError::new("div", Problem::NotFinite));
        }
        if div < F::from_f64(3.0) || div > F::from_f64(10.0) {
            return Err(ConfigError::new("div", Problem::MustBe("in [3, 10]")));
        }
        let min_lr = max_lr / div;
        if min_lr <= F::ZERO {
            return Err(ConfigError::new(
                "max_lr",
                Problem::MustBe("large enough that max_lr / div > 0"),
            ));
        }
        Ok(Self { min_lr, max_lr })
    }

    /// A triangular CLR between the bounds (PyTorch `CyclicLR(min_lr, max_lr,
    /// step_size_up)` defaults otherwise, momentum cycled 0.8–0.9).
    pub fn cyclic(&self, step_size_up: u32) -> Result<Cyclic<F>, ConfigError> {
        Cyclic::triangular(self.min_lr, self.max_lr, step_size_up)
    }

    /// PyTorch `OneCycleLR(max_lr, total_steps)` defaults with
    /// `div_factor = max_lr / min_lr`, so the cycle starts at `min_lr`, peaks at
    /// `max_lr` and ends at `min_lr / final_div_factor` (Smith 2018, *A disciplined
    /// approach to neural network hyper-parameters*, §4.1). Adjust the other
    /// fields, then `build()`.
    pub fn one_cycle_config(&self, total_steps: u32) -> OneCycleConfig<F> {
        OneCycleConfig {
            div_factor: self.max_lr / self.min_lr,
            ..OneCycleConfig::pytorch(self.max_lr, total_steps)
        }
    }

    /// [`one_cycle_config`](Self::one_cycle_config), validated.
    pub fn one_cycle(&self, total_steps: u32) -> Result<OneCycle<F>, ConfigError> {
        self.one_cycle_config(total_steps).build()
    }
}

impl<F: Real, const N: usize> RangeTest<F, N> {
    /// [`Bounds::new`] from suggestion `rule`; an error on `max_lr` when the curve
    /// gives no suggestion.
    pub fn bounds(&self, rule: Suggestion, div: F) -> Result<Bounds<F>, ConfigError> {
        match self.suggest(rule) {
            Some(max_lr) => Bounds::new(max_lr, div),
            None => Err(NO_SUGGESTION),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schedule;

    #[test]
    fn validates_div_and_max_lr() {
        let b = Bounds::new(0.4f64, 4.0).unwrap();
        assert_eq!((b.min_lr, b.max_lr), (0.1, 0.4));
        assert_eq!(Bounds::new(0.4f64, 2.9).unwrap_err().field, "div");
        assert_eq!(Bounds::new(0.4f64, 10.5).unwrap_err().field, "div");
        assert_eq!(Bounds::new(0.4f64, f64::NAN).unwrap_err().field, "div");
        assert_eq!(Bounds::new(0.0f64, 4.0).unwrap_err().field, "max_lr");
        assert_eq!(Bounds::new(f64::INFINITY, 4.0).unwrap_err().field, "max_lr");
    }

    #[test]
    fn builds_a_cycle_from_the_range_test() {
        let t = RangeTest::<f64, 8>::fastai();
        assert_eq!(
            t.bounds(Suggestion::Valley, 4.0).unwrap_err().field,
            "max_lr"
        );
        let b = Bounds::new(0.4f64, 4.0).unwrap();
        let clr = b.cyclic(10).unwrap();
        assert_eq!(clr.lr(0), 0.1);
        assert!((clr.lr(10) - 0.4).abs() < 1e-12);
        assert_eq!(b.cyclic(0).unwrap_err().field, "step_size_up");
        let one = b.one_cycle(100).unwrap();
        assert!((one.lr(0) - 0.1).abs() < 1e-12);
        let peak = (0..100).map(|t| one.lr(t)).fold(0.0, f64::max);
        assert!((peak - 0.4).abs() < 1e-12);
        assert!(one.lr(99) < 0.1 / 1000.0);
        assert!(b.one_cycle(0).is_err());
    }
}
