//! Cosine annealing with warm restarts, SGDR (PyTorch
//! `CosineAnnealingWarmRestarts`, Keras `CosineDecayRestarts`).

use super::util::{cos_weight, finite, fu, non_negative, nonzero, powi, rule};
use crate::{ConfigError, Real, Schedule};

/// Configuration of [`WarmRestarts`]; defaults are PyTorch
/// `CosineAnnealingWarmRestarts`' (under `serde` `base_lr` and `t_0` are
/// required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WarmRestartsConfig<F: Real = f32> {
    /// Peak learning rate of the first cycle (finite, ≥ 0).
    pub base_lr: F,
    /// Length of the first cycle in steps (≥ 1; Keras `first_decay_steps`).
    pub t_0: u32,
    /// Growth factor of the cycle length (finite, ≥ 1; default 1). An integer
    /// value gives PyTorch's exact integer cycles (lengths `T_0`, `2·T_0`, `4·T_0`
    /// … for 2); a fractional one, Keras's `t_mul`.
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
    pub t_mult: F,
    /// Floor at the end of every cycle (finite, ≥ 0; default 0; Keras:
    /// `alpha · initial_learning_rate`).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::zero"))]
    pub eta_min: F,
    /// Peak decay per restart, Keras `m_mul` (in [0, 1]; default 1).
    #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
    pub m_mul: F,
}

impl<F: Real> WarmRestartsConfig<F> {
    /// PyTorch `CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)`.
    pub fn new(base_lr: F, t_0: u32, t_mult: u32, eta_min: F) -> Self {
        Self {
            base_lr,
            t_0,
            t_mult: fu(u64::from(t_mult)),
            eta_min,
            m_mul: F::ONE,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        non_negative("base_lr", self.base_lr)?;
        nonzero("t_0", self.t_0)?;
        finite("t_mult", self.t_mult)?;
        rule("t_mult", self.t_mult >= F::ONE, "≥ 1")?;
        non_negative("eta_min", self.eta_min)?;
        finite("m_mul", self.m_mul)?;
        rule(
            "m_mul",
            self.m_mul >= F::ZERO && self.m_mul <= F::ONE,
            "in [0, 1]",
        )
    }
}

validated!(
    /// SGDR: cosine annealing restarted every cycle, cycles growing by `t_mult`.
    ///
    /// With `i` the cycle index of step `t`, `T_cur` the steps since its start
    /// and `T_i = T_0 · t_mult^i` its length:
    /// `lr(t) = eta_min + (base_lr − eta_min) · m_mul^i · (1 + cos(π·T_cur/T_i)) / 2`.
    ///
    /// Integer `t_mult` is computed exactly in integers (PyTorch); a fractional
    /// one uses Keras's geometric-series closed form, corrected so that a restart
    /// falls exactly on the step where the previous cycle ends.
    ///
    /// fastai's `fit_sgdr(n_cycles, cycle_len, lr_max, cycle_mult)` is
    /// `WarmRestartsConfig::new(lr_max, cycle_len · batches_per_epoch, cycle_mult, 0)`
    /// over its `n_cycles` cycles.
    ///
    /// Sources: Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
    /// Restarts" (ICLR 2017); PyTorch `CosineAnnealingWarmRestarts`; Keras
    /// `keras.optimizers.schedules.CosineDecayRestarts`; fastai `fit_sgdr`.
    WarmRestarts,
    WarmRestartsConfig,
    RestartsCache
);

/// Cycles whose start steps a fractional `t_mult` tabulates.
const TABLE: usize = 32;

/// Derived once: the integer growth factor (0 when `t_mult` is fractional),
/// `ln(t_mult)`, and for a fractional `t_mult` the start steps of the first
/// [`TABLE`] cycles (plus the end of the last), found by binary search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RestartsCache<F> {
    k: u64,
    ln_m: F,
    starts: [F; TABLE + 1],
}

impl<F: Real> RestartsCache<F> {
    fn new(c: &WarmRestartsConfig<F>) -> Self {
        let k = if c.t_mult.floor() == c.t_mult {
            c.t_mult.to_f64() as u64 // saturating; ≥ 1 after validation
        } else {
            0
        };
        let mut starts = [F::MAX; TABLE + 1];
        if k == 0 {
            let (mut start, mut len) = (F::ZERO, fu::<F>(u64::from(c.t_0)));
            for s in starts.iter_mut() {
                *s = start.min(F::MAX);
                start = start + len;
                len = len * c.t_mult;
            }
        }
        Self {
            k,
            ln_m: c.t_mult.ln(),
            starts,
        }
    }
}

impl<F: Real> WarmRestarts<F> {
    /// The cycle of `step`: its index `i` (0 for the first cycle) and the
    /// fraction `T_cur / T_i ∈ [0, 1)` of it already done. A restart happens at a
    /// step whose fraction is 0 and index is above 0.
    pub fn cycle(&self, step: u32) -> (u32, F) {
        let c = &self.0;
        let t = u64::from(step);
        let t0 = u64::from(c.t_0);
        let k = self.1.k;
        if k != 0 {
            // Exact integer cycles. t_mult ≥ 2 needs at most 32 doublings to pass
            // u32::MAX; lengths saturate instead of overflowing.
            let (index, start, len) = if k == 1 {
                let q = u64::from(step / c.t_0);
                (q, q * t0, t0)
            } else if k == 2 {
                // Cycle i starts at T_0·(2^i − 1) ≤ t  ⇔  2^i ≤ ⌊t/T_0⌋ + 1.
                let i = (u64::from(step / c.t_0) + 1).ilog2();
                (u64::from(i), t0 * ((1u64 << i) - 1), t0 << i)
            } else {
                let (mut i, mut start, mut len) = (0u64, 0u64, t0);
                while t >= start.saturating_add(len) {
                    start += len;
                    len = len.saturating_mul(k);
                    i += 1;
                }
                (i, start, len)
            };
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            return (index, fu::<F>(t - start) / fu(len));
        }
        // Geometric (Keras `t_mul`): cycle i starts at T_0·(m^i − 1)/(m − 1) and
        // lasts T_0·m^i. Look the first cycles up in the table (fast, and exact
        // at boundaries); beyond them use the closed form, corrected by one.
        let m = c.t_mult;
        let tf = fu::<F>(t);
        let t0f = fu::<F>(t0);
        let table = &self.1.starts;
        let (i, start, len) = if tf < table[TABLE] {
            // The cycle whose successor is the first to start after t.
            let j = table[1..].partition_point(|&s| s <= tf);
            (j as u32, table[j], table[j + 1] - table[j])
        } else {
            let start_len = |i: F| {
                let mi = m.powf(i);
                (t0f * (mi - F::ONE) / (m - F::ONE), t0f * mi)
            };
            let frac = tf / t0f;
            let mut fi = ((F::ONE + frac * (m - F::ONE)).ln() / self.1.ln_m)
                .floor()
                .max(F::ZERO);
            let (mut start, mut len) = start_len(fi);
            if tf < start && fi > F::ZERO {
                fi = fi - F::ONE;
                (start, len) = start_len(fi);
            } else if tf >= start + len {
                fi = fi + F::ONE;
                (start, len) = start_len(fi);
            }
            (fi.to_f64() as u32, start, len) // saturating cast
        };
        let pos = ((tf - start) / len).max(F::ZERO);
        let pos = if pos < F::ONE && pos.is_finite() {
            pos
        } else {
            F::ZERO
        };
        (i, pos)
    }
}

impl<F: Real> Schedule<F> for WarmRestarts<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let (i, pos) = self.cycle(step);
        let peak = if c.m_mul == F::ONE || i == 0 {
            F::ONE
        } else {
            powi(c.m_mul, u64::from(i))
        };
        c.eta_min + (c.base_lr - c.eta_min) * peak * cos_weight(pos)
    }
}
