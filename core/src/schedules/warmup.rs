//! Linear warmup followed by any schedule.

use super::util::{fu, non_negative, sat};
use crate::{ConfigError, Real, Schedule};

/// Linear warmup from `start_lr` to the wrapped schedule's first rate, then the
/// schedule itself, shifted by the warmup:
///
/// `lr(t) = start_lr + (S.lr(0) − start_lr) · t / warmup_steps` for
/// `t < warmup_steps`, else `S.lr(t − warmup_steps)`. Momentum during warmup is
/// `S.momentum(0)`.
///
/// This is Keras `CosineDecay(warmup_target, warmup_steps)` when `S` is a
/// [`CosineAnnealing`](super::CosineAnnealing) from `warmup_target` that holds
/// `eta_min`; see also Goyal et al., "Accurate, Large Minibatch SGD: Training
/// ImageNet in 1 Hour" (2017) for gradual warmup.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Warmup<S, F: Real = f32> {
    warmup_steps: u32,
    start_lr: F,
    schedule: S,
}

impl<S, F: Real> Warmup<S, F> {
    /// Warmup over `warmup_steps` steps from `start_lr` (finite, ≥ 0) into
    /// `schedule`. `warmup_steps = 0` is just `schedule`.
    pub fn new(warmup_steps: u32, start_lr: F, schedule: S) -> Result<Self, ConfigError> {
        non_negative("start_lr", start_lr)?;
        Ok(Self {
            warmup_steps,
            start_lr,
            schedule,
        })
    }

    /// Steps of warmup.
    pub fn warmup_steps(&self) -> u32 {
        self.warmup_steps
    }

    /// Rate at step 0.
    pub fn start_lr(&self) -> F {
        self.start_lr
    }

    /// The schedule after warmup.
    pub fn schedule(&self) -> &S {
        &self.schedule
    }
}

impl<F: Real, S: Schedule<F>> Schedule<F> for Warmup<S, F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        if step < self.warmup_steps {
            let target = self.schedule.lr(0);
            let (t, w) = (fu::<F>(u64::from(step)), fu(u64::from(self.warmup_steps)));
            let rise = (target - self.start_lr) * t / w;
            if rise.is_finite() {
                self.start_lr + rise
            } else {
                // `(target − start_lr) · t` overflowed (a target near `F::MAX`): the
                // fraction first, which stays between the two.
                sat(self.start_lr + (target - self.start_lr) * (t / w))
            }
        } else {
            self.schedule.lr(step - self.warmup_steps)
        }
    }

    #[inline]
    fn momentum(&self, step: u32) -> Option<F> {
        self.schedule
            .momentum(step.saturating_sub(self.warmup_steps))
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::Warmup;
    use crate::Real;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize)]
    struct Out<'a, F, S> {
        warmup_steps: u32,
        start_lr: F,
        schedule: &'a S,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct In<F: Real, S> {
        warmup_steps: u32,
        #[serde(default = "crate::schedules::util::defaults::zero")]
        start_lr: F,
        schedule: S,
    }

    impl<F: Real + Serialize, S: Serialize> Serialize for Warmup<S, F> {
        fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
            Out {
                warmup_steps: self.warmup_steps,
                start_lr: self.start_lr,
                schedule: &self.schedule,
            }
            .serialize(s)
        }
    }

    impl<'de, F: Real + Deserialize<'de>, S: Deserialize<'de>> Deserialize<'de> for Warmup<S, F> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let v = In::<F, S>::deserialize(d)?;
            Warmup::new(v.warmup_steps, v.start_lr, v.schedule).map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConstantConfig;

    /// Fuzz regression (`fuzz/regressions/schedules/warmup-overflow`): a warmup into a
    /// rate near `f64::MAX` overflowed to ∞ computing `(target − start_lr) · step`.
    #[test]
    fn a_warmup_to_a_huge_rate_stays_finite() {
        let target = ConstantConfig::new(f64::MAX).build().unwrap();
        let w = Warmup::new(2709861346, 2.186228905432e-311, target).unwrap();
        for t in [0, 1, 2, 1 << 30, 2709861345, 2709861346, u32::MAX] {
            assert!(w.lr(t).is_finite(), "{t}: {}", w.lr(t));
        }
        assert!((w.lr(2) / (f64::MAX / 2709861346.0 * 2.0) - 1.0).abs() < 1e-12);
        let c = ConstantConfig::new(0.1f32).build().unwrap();
        let w = Warmup::new(4, 0.0, c).unwrap();
        assert_eq!((w.lr(0), w.lr(2), w.lr(4)), (0.0, 0.05, 0.1));
    }
}
