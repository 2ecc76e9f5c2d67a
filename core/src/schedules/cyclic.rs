//! Cyclical learning rates, CLR (PyTorch `CyclicLR`).

use super::util::{finite, fu, momentum_range, non_negative, nonzero, pow_log2, powi, rule, sat};
use crate::{ConfigError, Real, Schedule};

/// The amplitude policy of [`Cyclic`] (PyTorch `mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CyclicMode {
    /// Constant amplitude: `scale = 1`.
    #[default]
    Triangular,
    /// Amplitude halved every cycle: `scale = 1 / 2^(cycle − 1)`.
    Triangular2,
    /// Amplitude decayed per step: `scale = gamma^t`.
    ExpRange,
}

/// Configuration of [`Cyclic`]; names and defaults are PyTorch `CyclicLR`'s
/// (under `serde` only `base_lr` and `max_lr` are required; PyTorch's
/// `scale_fn` / `scale_mode` are the [`CyclicMode`]s).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CyclicConfig<F: Real = f32> {
    /// Lower bound of the cycle (finite, ≥ 0).
    pub base_lr: F,
    /// Upper bound of the cycle (finite, ≥ `base_lr`).
    pub max_lr: F,
    /// Steps from `base_lr` up to `max_lr` (≥ 1; PyTorch default 2000).
    #[cfg_attr(feature = "serde", serde(default = "default_step_size_up"))]
    pub step_size_up: u32,
    /// Steps back down (≥ 1); `None` means `step_size_up`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub step_size_down: Option<u32>,
    /// Amplitude policy (default triangular).
    #[cfg_attr(feature = "serde", serde(default))]
    pub mode: CyclicMode,
    /// Per-step amplitude decay of [`CyclicMode::ExpRange`] (in (0, 1]; default 1).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
    pub gamma: F,
    /// Cycle momentum (or Adam β1) inversely to the rate (default true).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::yes"))]
    pub cycle_momentum: bool,
    /// Momentum at the rate's peak (finite; default 0.8).
    #[cfg_attr(feature = "serde", serde(default = "default_base_momentum"))]
    pub base_momentum: F,
    /// Momentum at the rate's trough (finite, ≥ `base_momentum`; default 0.9).
    #[cfg_attr(feature = "serde", serde(default = "default_max_momentum"))]
    pub max_momentum: F,
}

#[cfg(feature = "serde")]
fn default_step_size_up() -> u32 {
    2000
}
#[cfg(feature = "serde")]
fn default_base_momentum<F: Real>() -> F {
    F::from_f64(0.8)
}
#[cfg(feature = "serde")]
fn default_max_momentum<F: Real>() -> F {
    F::from_f64(0.9)
}

impl<F: Real> CyclicConfig<F> {
    /// `CyclicLR(base_lr, max_lr, step_size_up)` with PyTorch's other defaults:
    /// triangular, symmetric, momentum cycled between 0.8 and 0.9.
    pub fn new(base_lr: F, max_lr: F, step_size_up: u32) -> Self {
        Self {
            base_lr,
            max_lr,
            step_size_up,
            step_size_down: None,
            mode: CyclicMode::Triangular,
            gamma: F::ONE,
            cycle_momentum: true,
            base_momentum: F::from_f64(0.8),
            max_momentum: F::from_f64(0.9),
        }
    }

    /// The down-phase length actually used.
    pub fn step_size_down_or_up(&self) -> u32 {
        self.step_size_down.unwrap_or(self.step_size_up)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        finite("max_lr", self.max_lr)?;
        rule("max_lr", self.max_lr >= self.base_lr, "≥ base_lr")?;
        nonzero("step_size_up", self.step_size_up)?;
        if let Some(down) = self.step_size_down {
            nonzero("step_size_down", down)?;
        }
        finite("gamma", self.gamma)?;
        rule(
            "gamma",
            self.gamma > F::ZERO && self.gamma <= F::ONE,
            "in (0, 1]",
        )?;
        // Finite even when not cycled: the fields are stored (serialized) all the same,
        // and a NaN would not read back.
        finite("base_momentum", self.base_momentum)?;
        finite("max_momentum", self.max_momentum)?;
        if self.cycle_momentum {
            momentum_range(self.base_momentum, self.max_momentum)?;
        }
        Ok(())
    }
}

validated!(
    /// Cyclical learning rate between `base_lr` and `max_lr`.
    ///
    /// With `up = step_size_up`, `total = up + step_size_down`, PyTorch's
    /// `cycle = ⌊1 + t/total⌋` and `x = 1 + t/total − cycle` (computed exactly as
    /// `(t mod total)/total`), `step_ratio = up/total`:
    /// `s = x/step_ratio` if `x ≤ step_ratio`, else `(x − 1)/(step_ratio − 1)`;
    /// `lr(t) = base_lr + (max_lr − base_lr) · s · scale`, with `scale` from
    /// [`CyclicMode`]. Momentum, when cycled, moves inversely:
    /// `m(t) = max_momentum − (max_momentum − base_momentum) · s · scale`.
    /// Always `base_lr ≤ lr(t) ≤ max_lr`.
    ///
    /// Sources: Leslie N. Smith, "Cyclical Learning Rates for Training Neural
    /// Networks" (WACV 2017); PyTorch `torch.optim.lr_scheduler.CyclicLR`.
    Cyclic,
    CyclicConfig,
    CyclicCache
);

/// `log2(gamma)` for [`CyclicMode::ExpRange`], derived once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CyclicCache<F> {
    log2_gamma: F,
}

impl<F: Real> CyclicCache<F> {
    fn new(c: &CyclicConfig<F>) -> Self {
        Self {
            log2_gamma: c.gamma.log2(),
        }
    }
}

impl<F: Real> Cyclic<F> {
    /// A triangular cycle with PyTorch's defaults; see [`CyclicConfig::new`].
    pub fn triangular(base_lr: F, max_lr: F, step_size_up: u32) -> Result<Self, ConfigError> {
        CyclicConfig::new(base_lr, max_lr, step_size_up).build()
    }

    /// `s · scale ∈ [0, 1]`: the fraction of the amplitude reached at `step`.
    #[inline]
    fn height(&self, step: u32) -> F {
        let c = &self.0;
        let up = u64::from(c.step_size_up);
        let down = u64::from(c.step_size_down_or_up());
        let total = up + down;
        let t = u64::from(step);
        let r = t % total;
        let s = if r <= up {
            fu::<F>(r) / fu(up)
        } else {
            fu::<F>(total - r) / fu(down)
        };
        let scale = match c.mode {
            CyclicMode::Triangular => F::ONE,
            CyclicMode::Triangular2 => powi(F::HALF, t / total),
            CyclicMode::ExpRange => pow_log2(self.1.log2_gamma, F::from_u32(step)),
        };
        s * scale
    }
}

impl<F: Real> Schedule<F> for Cyclic<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        // At most `max_lr` (it is, exactly; with rates near `F::MAX` the rounded sum could
        // otherwise step past it to ∞).
        (c.base_lr + (c.max_lr - c.base_lr) * self.height(step)).min(c.max_lr)
    }

    #[inline]
    fn momentum(&self, step: u32) -> Option<F> {
        let c = &self.0;
        c.cycle_momentum.then(|| {
            let h = self.height(step);
            let m = c.max_momentum - (c.max_momentum - c.base_momentum) * h;
            if m.is_finite() {
                m
            } else {
                // `max − base` overflowed (momenta of opposite sign near ±F::MAX): the
                // same point as a weighted sum, saturated.
                sat(c.max_momentum * (F::ONE - h) + c.base_momentum * h)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz regression (`fuzz/regressions/schedules/cyclic-lr-overflow`): a base and peak
    /// near `f64::MAX` rounded the lr at the top of a cycle up to ∞.
    #[test]
    fn the_lr_never_passes_max_lr() {
        let mut c = CyclicConfig::new(7.190772646600123e307f64, f64::MAX, 65535);
        c.step_size_down = Some(65535);
        c.gamma = 0.25;
        c.cycle_momentum = false;
        c.base_momentum = 0.25;
        c.max_momentum = 0.25;
        let s = c.build().unwrap();
        for t in [0, 65535, 131070, 1 << 24, u32::MAX] {
            let lr = s.lr(t);
            assert!(
                (7.190772646600123e307..=f64::MAX).contains(&lr),
                "{t}: {lr}"
            );
        }
    }

    /// Fuzz regression (`fuzz/regressions/schedules/cyclic-momentum-overflow`): momenta of
    /// opposite sign near ±`f64::MAX` gave `∞ · 0 = NaN` at the top of the cycle.
    #[test]
    fn the_momentum_stays_finite() {
        let mut c = CyclicConfig::new(-0.0f64, -0.0, 122);
        c.step_size_down = Some(2);
        c.base_momentum = -1e300;
        c.max_momentum = f64::MAX;
        let s = c.build().unwrap();
        for t in [0, 1, 61, 122, 123, 124, u32::MAX] {
            assert!(s.momentum(t).unwrap().is_finite(), "{t}");
        }
        assert_eq!(s.momentum(0), Some(f64::MAX));
        assert_eq!(s.momentum(122), Some(-1e300));
        let s = Cyclic::triangular(0.01f32, 0.1, 10).unwrap();
        assert_eq!((s.momentum(0), s.momentum(10)), (Some(0.9), Some(0.8)));
    }
}
