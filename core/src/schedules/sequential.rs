//! Schedules in sequence, switching at milestones (PyTorch `SequentialLR`).

use crate::{ConfigError, Problem, Real, Schedule};
use heapless::Vec;

/// Up to `N` schedules run one after another: schedule `i` runs from
/// `milestones[i−1]` (0 for the first) and sees the step counted from there,
/// `lr(t) = S_i.lr(t − milestones[i−1])` where `i` counts the milestones `≤ t`.
///
/// Fixed capacity `N`, no allocation. Source: PyTorch
/// `torch.optim.lr_scheduler.SequentialLR` (each scheduler restarts from step 0
/// at its milestone).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sequential<S, const N: usize> {
    schedules: Vec<S, N>,
    milestones: Vec<u32, N>,
}

impl<S, const N: usize> Sequential<S, N> {
    /// `schedules` (at least one) switching at `milestones` (strictly increasing,
    /// exactly one fewer than the schedules).
    pub fn new(schedules: Vec<S, N>, milestones: Vec<u32, N>) -> Result<Self, ConfigError> {
        if schedules.is_empty() {
            return Err(ConfigError::new("schedulers", Problem::Empty));
        }
        if milestones.len() + 1 != schedules.len() {
            return Err(ConfigError::new("milestones", Problem::LengthMismatch));
        }
        if milestones.windows(2).any(|w| w[1] <= w[0]) {
            return Err(ConfigError::new("milestones", Problem::NotIncreasing));
        }
        Ok(Self {
            schedules,
            milestones,
        })
    }

    /// As [`Self::new`], copying from slices; fails when over capacity `N`.
    pub fn from_slices(schedules: &[S], milestones: &[u32]) -> Result<Self, ConfigError>
    where
        S: Clone,
    {
        let too_many = |field| ConfigError::new(field, Problem::TooMany { capacity: N });
        Self::new(
            Vec::from_slice(schedules).map_err(|()| too_many("schedulers"))?,
            Vec::from_slice(milestones).map_err(|()| too_many("milestones"))?,
        )
    }

    /// The schedules.
    pub fn schedules(&self) -> &[S] {
        &self.schedules
    }

    /// The milestones.
    pub fn milestones(&self) -> &[u32] {
        &self.milestones
    }

    /// The active schedule and the step it sees.
    #[inline]
    fn locate(&self, step: u32) -> Option<(&S, u32)> {
        let i = self.milestones.iter().filter(|&&m| m <= step).count();
        let offset = if i == 0 { 0 } else { self.milestones[i - 1] };
        self.schedules.get(i).map(|s| (s, step - offset))
    }
}

impl<F: Real, S: Schedule<F>, const N: usize> Schedule<F> for Sequential<S, N> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        self.locate(step).map_or(F::ZERO, |(s, t)| s.lr(t))
    }

    #[inline]
    fn momentum(&self, step: u32) -> Option<F> {
        self.locate(step).and_then(|(s, t)| s.momentum(t))
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::Sequential;
    use heapless::Vec;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize)]
    struct Out<'a, S> {
        schedulers: &'a [S],
        milestones: &'a [u32],
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct In<S, const N: usize> {
        schedulers: Vec<S, N>,
        milestones: Vec<u32, N>,
    }

    impl<S: Serialize, const N: usize> Serialize for Sequential<S, N> {
        fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
            Out {
                schedulers: &self.schedules,
                milestones: &self.milestones,
            }
            .serialize(s)
        }
    }

    impl<'de, S: Deserialize<'de>, const N: usize> Deserialize<'de> for Sequential<S, N> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let v = In::<S, N>::deserialize(d)?;
            Sequential::new(v.schedulers, v.milestones).map_err(serde::de::Error::custom)
        }
    }
}
