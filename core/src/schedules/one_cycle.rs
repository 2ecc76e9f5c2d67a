//! The 1cycle policy (PyTorch `OneCycleLR`, fastai `fit_one_cycle`).

use super::util::{finite, fu, momentum_range, nonzero, positive, rule, Anneal};
use crate::{ConfigError, Real, Schedule};

/// Where 1cycle's phases start and end: the two libraries place them slightly
/// differently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PhaseRule {
    /// PyTorch `OneCycleLR`: phase 1 ends at step `pct_start·total_steps − 1`
    /// (three-phase: phase 2 at `2·pct_start·total_steps − 2`), the last at
    /// `total_steps − 1`; the fraction within a phase is
    /// `(t − start) / (end − start)`.
    #[default]
    PyTorch,
    /// fastai `combined_cos`: the position is `pos = t / total_steps`, split at
    /// `pct_start` (and `2·pct_start` for three phases); the fraction within a
    /// phase is `(pos − start) / (end − start)`.
    Fastai,
}

/// Configuration of [`OneCycle`]; field names and defaults are PyTorch
/// `OneCycleLR`'s ([`pytorch`](Self::pytorch); under `serde` every field but
/// `max_lr` and `total_steps` may be omitted and takes that default).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OneCycleConfig<F: Real = f32> {
    /// Peak learning rate (finite, > 0).
    pub max_lr: F,
    /// Steps in the cycle (large enough that every phase spans a step).
    pub total_steps: u32,
    /// Fraction of the cycle spent rising (in (0, 1); PyTorch 0.3, fastai 0.25).
    #[cfg_attr(feature = "serde", serde(default = "default_pct_start"))]
    pub pct_start: F,
    /// Annealing curve (PyTorch `anneal_strategy`; default cos).
    #[cfg_attr(feature = "serde", serde(default))]
    pub anneal: Anneal,
    /// `initial_lr = max_lr / div_factor` (finite, ≥ 1; default 25).
    #[cfg_attr(feature = "serde", serde(default = "default_div_factor"))]
    pub div_factor: F,
    /// `min_lr = initial_lr / final_div_factor` (finite, ≥ 1; PyTorch 1e4; fastai
    /// `div_final / div` = 4000).
    #[cfg_attr(feature = "serde", serde(default = "default_final_div_factor"))]
    pub final_div_factor: F,
    /// Three phases: up, back down to `initial_lr`, then annihilate to `min_lr`
    /// (default false).
    #[cfg_attr(feature = "serde", serde(default))]
    pub three_phase: bool,
    /// Cycle momentum / Adam β1 inversely to the rate (default true).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::yes"))]
    pub cycle_momentum: bool,
    /// Momentum at the rate's peak (finite; PyTorch 0.85).
    #[cfg_attr(feature = "serde", serde(default = "default_base_momentum"))]
    pub base_momentum: F,
    /// Momentum at the start (finite, ≥ `base_momentum`; PyTorch 0.95).
    #[cfg_attr(feature = "serde", serde(default = "default_max_momentum"))]
    pub max_momentum: F,
    /// Momentum at the end; `None` means `max_momentum` (fastai's third `moms`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub final_momentum: Option<F>,
    /// Phase arithmetic (default PyTorch's).
    #[cfg_attr(feature = "serde", serde(default))]
    pub phase_rule: PhaseRule,
}

/// PyTorch `OneCycleLR`'s defaults: [`OneCycleConfig::pytorch`] and the serde defaults.
fn default_pct_start<F: Real>() -> F {
    F::from_f64(0.3)
}
fn default_div_factor<F: Real>() -> F {
    F::from_f64(25.0)
}
fn default_final_div_factor<F: Real>() -> F {
    F::from_f64(1e4)
}
fn default_base_momentum<F: Real>() -> F {
    F::from_f64(0.85)
}
fn default_max_momentum<F: Real>() -> F {
    F::from_f64(0.95)
}

impl<F: Real> OneCycleConfig<F> {
    /// PyTorch `OneCycleLR(max_lr, total_steps)` defaults: `pct_start` 0.3, cos,
    /// `div_factor` 25, `final_div_factor` 1e4, two phases, momentum
    /// 0.95 → 0.85 → 0.95.
    pub fn pytorch(max_lr: F, total_steps: u32) -> Self {
        Self {
            max_lr,
            total_steps,
            pct_start: default_pct_start(),
            anneal: Anneal::Cos,
            div_factor: default_div_factor(),
            final_div_factor: default_final_div_factor(),
            three_phase: false,
            cycle_momentum: true,
            base_momentum: default_base_momentum(),
            max_momentum: default_max_momentum(),
            final_momentum: None,
            phase_rule: PhaseRule::PyTorch,
        }
    }

    /// fastai `fit_one_cycle(lr_max)` defaults: `pct_start` 0.25, `div` 25,
    /// `div_final` 1e5 (so `final_div_factor` = 1e5/25), cos in both phases,
    /// `moms` (0.95, 0.85, 0.95), fastai's phase rule.
    pub fn fastai(max_lr: F, total_steps: u32) -> Self {
        Self {
            pct_start: F::from_f64(0.25),
            final_div_factor: F::from_f64(1e5 / 25.0),
            phase_rule: PhaseRule::Fastai,
            ..Self::pytorch(max_lr, total_steps)
        }
    }

    /// fastai `fit_flat_cos(lr)` defaults: `combined_cos(0.75, lr, lr, lr/1e5)`,
    /// i.e. flat at `lr` for `pct_start` 0.75 of the fit, then cosine to
    /// `lr / div_final` (1e5); momentum left alone.
    pub fn fastai_flat_cos(lr: F, total_steps: u32) -> Self {
        Self {
            pct_start: F::from_f64(0.75),
            div_factor: F::ONE,
            final_div_factor: F::from_f64(1e5),
            cycle_momentum: false,
            ..Self::fastai(lr, total_steps)
        }
    }

    /// Start of the rise: `max_lr / div_factor`.
    pub fn initial_lr(&self) -> F {
        self.max_lr / self.div_factor
    }

    /// End of the cycle: `initial_lr / final_div_factor`.
    pub fn min_lr(&self) -> F {
        self.initial_lr() / self.final_div_factor
    }

    /// Phase end points in the units of the phase rule (steps for PyTorch,
    /// fractions of the cycle for fastai); the last entry is unused when
    /// `three_phase` is false.
    fn ends(&self) -> [F; 3] {
        let n = fu::<F>(u64::from(self.total_steps));
        match self.phase_rule {
            PhaseRule::PyTorch => {
                let e1 = self.pct_start * n - F::ONE;
                if self.three_phase {
                    [e1, F::TWO * self.pct_start * n - F::TWO, n - F::ONE]
                } else {
                    [e1, n - F::ONE, n - F::ONE]
                }
            }
            PhaseRule::Fastai => {
                if self.three_phase {
                    [self.pct_start, F::TWO * self.pct_start, F::ONE]
                } else {
                    [self.pct_start, F::ONE, F::ONE]
                }
            }
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        positive("max_lr", self.max_lr)?;
        nonzero("total_steps", self.total_steps)?;
        finite("pct_start", self.pct_start)?;
        rule(
            "pct_start",
            self.pct_start > F::ZERO && self.pct_start < F::ONE,
            "in (0, 1)",
        )?;
        finite("div_factor", self.div_factor)?;
        rule("div_factor", self.div_factor >= F::ONE, "≥ 1")?;
        finite("final_div_factor", self.final_div_factor)?;
        rule("final_div_factor", self.final_div_factor >= F::ONE, "≥ 1")?;
        // Finite even when not cycled: the fields are stored (serialized) all the same,
        // and a NaN would not read back.
        finite("base_momentum", self.base_momentum)?;
        finite("max_momentum", self.max_momentum)?;
        if let Some(m) = self.final_momentum {
            finite("final_momentum", m)?;
        }
        if self.cycle_momentum {
            momentum_range(self.base_momentum, self.max_momentum)?;
        }
        let [e1, e2, e3] = self.ends();
        let ok = e1 > F::ZERO && e2 > e1 && (!self.three_phase || e3 > e2);
        rule(
            "total_steps",
            ok,
            "large enough, for this pct_start, that every phase spans at least one step",
        )
    }
}

validated!(
    /// The 1cycle policy: the rate rises from `initial_lr = max_lr/div_factor` to
    /// `max_lr` over the first `pct_start` of the cycle, then anneals to
    /// `min_lr = initial_lr/final_div_factor` (three-phase: back to `initial_lr`
    /// over an equal span, then to `min_lr`). Within a phase from `a` to `b` at
    /// fraction `p`: cos `b + (a − b)·(1 + cos πp)/2`, linear `a + (b − a)·p`.
    /// Momentum (SGD) or β1 (Adam) moves inversely: `max_momentum →
    /// base_momentum → final_momentum` (three-phase: `max → base → max → final`).
    /// After the cycle the final values hold (PyTorch raises instead).
    /// Always `min_lr ≤ lr(t) ≤ max_lr`.
    ///
    /// [`PhaseRule`] selects PyTorch's or fastai's phase arithmetic; the presets
    /// [`OneCycle::pytorch`] and [`OneCycle::fastai`] reproduce each library's
    /// defaults exactly.
    ///
    /// Sources: Leslie N. Smith & Nicholay Topin, "Super-Convergence: Very Fast
    /// Training of Neural Networks Using Large Learning Rates" (2018); L. N. Smith,
    /// "A disciplined approach to neural network hyper-parameters: Part 1" (2018);
    /// PyTorch `torch.optim.lr_scheduler.OneCycleLR`; fastai `fit_one_cycle`,
    /// `combined_cos` (fastai/callback/schedule.py).
    OneCycle,
    OneCycleConfig,
    OneCycleCache
);

/// Phase boundaries and end values of a [`OneCycle`], derived once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct OneCycleCache<F> {
    /// Number of phases − 1.
    last: usize,
    /// Phase start points and `1 / (end − start)`, in the phase rule's units.
    start: [F; 3],
    end: [F; 3],
    inv_len: [F; 3],
    /// `1 / total_steps` (fastai's position).
    inv_total: F,
    /// Learning rate and momentum at each phase's start and end.
    lr: [(F, F); 3],
    mom: [(F, F); 3],
}

impl<F: Real> OneCycleCache<F> {
    fn new(c: &OneCycleConfig<F>) -> Self {
        let ends = c.ends();
        let last = if c.three_phase { 2 } else { 1 };
        let mut start = [F::ZERO; 3];
        let mut inv_len = [F::ONE; 3];
        for i in 0..=last {
            start[i] = if i == 0 { F::ZERO } else { ends[i - 1] };
            inv_len[i] = F::ONE / (ends[i] - start[i]);
        }
        let (init, max, min) = (c.initial_lr(), c.max_lr, c.min_lr());
        let (lo, hi) = (c.base_momentum, c.max_momentum);
        let fin = c.final_momentum.unwrap_or(hi);
        let (lr, mom) = if c.three_phase {
            (
                [(init, max), (max, init), (init, min)],
                [(hi, lo), (lo, hi), (hi, fin)],
            )
        } else {
            (
                [(init, max), (max, min), (min, min)],
                [(hi, lo), (lo, fin), (fin, fin)],
            )
        };
        Self {
            inv_total: F::ONE / fu(u64::from(c.total_steps)),
            last,
            start,
            end: ends,
            inv_len,
            lr,
            mom,
        }
    }
}

impl<F: Real> OneCycle<F> {
    /// PyTorch `OneCycleLR(max_lr, total_steps)` with its defaults.
    pub fn pytorch(max_lr: F, total_steps: u32) -> Result<Self, ConfigError> {
        OneCycleConfig::pytorch(max_lr, total_steps).build()
    }

    /// fastai `fit_one_cycle(lr_max)` with its defaults, over `total_steps`
    /// batches (`n_epoch · batches_per_epoch`).
    pub fn fastai(max_lr: F, total_steps: u32) -> Result<Self, ConfigError> {
        OneCycleConfig::fastai(max_lr, total_steps).build()
    }

    /// Phase index and fraction `p ∈ [0, 1]` within it for `step`.
    #[inline]
    fn phase(&self, step: u32) -> (usize, F) {
        let (c, k) = (&self.0, &self.1);
        // PyTorch: the step itself, clamped to the last one (PyTorch raises past
        // it); fastai: the position `t / total_steps`, clamped to 1.
        let (x, pick_le) = match c.phase_rule {
            PhaseRule::PyTorch => (F::from_u32(step.min(c.total_steps - 1)), true),
            PhaseRule::Fastai => ((F::from_u32(step) * k.inv_total).min(F::ONE), false),
        };
        // PyTorch takes the first phase with `t ≤ end`; fastai the last phase
        // whose start is `≤ pos`, i.e. the first with `pos < end`.
        let mut i = 0;
        while i < k.last && (if pick_le { x > k.end[i] } else { x >= k.end[i] }) {
            i += 1;
        }
        let p = ((x - k.start[i]) * k.inv_len[i]).min(F::ONE).max(F::ZERO);
        (i, p)
    }
}

impl<F: Real> Schedule<F> for OneCycle<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let (i, p) = self.phase(step);
        let (a, b) = self.1.lr[i];
        self.0.anneal.at(a, b, p)
    }

    #[inline]
    fn momentum(&self, step: u32) -> Option<F> {
        if !self.0.cycle_momentum {
            return None;
        }
        let (i, p) = self.phase(step);
        let (a, b) = self.1.mom[i];
        Some(self.0.anneal.at(a, b, p))
    }
}

#[cfg(test)]
mod nan_momentum_tests {
    use super::*;
    use crate::CyclicConfig;

    /// Fuzz regression (`fuzz/regressions/schedules/one-cycle-nan-momentum`): with
    /// `cycle_momentum = false` a NaN momentum was accepted, and the schedule then
    /// serialized to JSON `null`, which does not read back (a checkpoint that cannot be
    /// resumed).
    #[test]
    fn unused_momenta_must_be_finite_too() {
        let mut c = OneCycleConfig::pytorch(0.1f64, 100);
        c.cycle_momentum = false;
        c.base_momentum = f64::NAN;
        assert_eq!(c.build().unwrap_err().field, "base_momentum");
        c.base_momentum = 0.85;
        c.final_momentum = Some(f64::INFINITY);
        assert_eq!(c.build().unwrap_err().field, "final_momentum");
        c.final_momentum = None;
        // Not cycled, the order of the two does not matter.
        c.max_momentum = 0.5;
        assert!(c.build().is_ok());
        let mut c = CyclicConfig::new(0.01f32, 0.1, 10);
        c.cycle_momentum = false;
        c.max_momentum = f32::NAN;
        assert_eq!(c.build().unwrap_err().field, "max_momentum");
    }
}

#[cfg(test)]
mod huge_momentum_tests {
    use super::*;

    /// Fuzz regression (`fuzz/regressions/schedules/one-cycle-momentum-overflow`): momenta
    /// of opposite sign near ±`f64::MAX` overflowed `max_momentum − base_momentum` to ∞.
    #[test]
    fn the_momentum_stays_finite() {
        for anneal in [Anneal::Cos, Anneal::Linear] {
            let mut c = OneCycleConfig::pytorch(0.9999999999999998f64, 10);
            c.anneal = anneal;
            c.base_momentum = -9.111037087120089e301;
            c.max_momentum = f64::MAX;
            c.final_momentum = Some(f64::MAX);
            let s = c.build().unwrap();
            for t in 0..12 {
                let m = s.momentum(t).unwrap();
                assert!(m.is_finite(), "{anneal:?} {t}: {m}");
            }
            assert_eq!(s.momentum(0), Some(f64::MAX));
        }
        // Ordinary momenta are unchanged by the fallback.
        let s = OneCycle::pytorch(0.1f32, 100).unwrap();
        assert_eq!(s.momentum(0), Some(0.95));
    }
}
