//! timm's cycling schedulers: `CosineLRScheduler`, `TanhLRScheduler` and
//! `PolyLRScheduler`, stepped per update (`step_update(num_updates=t)`,
//! `t_in_epochs=False`).
//!
//! All three share timm's `Scheduler` cycle machinery: a linear warmup from
//! `warmup_lr_init` over `warmup_t` steps, cycles of length `t_initial ·
//! cycle_mulⁱ` whose peak decays as `base_lr · cycle_decayⁱ`, and `lr_min` held
//! once `cycle_limit` cycles are done. Only the shape within a cycle differs.

use super::util::{cos_weight, finite, fu, non_negative, nonzero, positive, powi, rule, sat};
use super::NoCache;
use crate::{ConfigError, Real, Schedule};

/// Declares a timm config with the cycle fields every timm scheduler shares, plus
/// its own `$extra` fields.
macro_rules! timm_config {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* pub $f:ident: $t:ty,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name<F: Real = f32> {
            /// Peak learning rate of the first cycle (finite, ≥ 0; the optimizer's
            /// `lr` in timm).
            pub base_lr: F,
            /// Length of the first cycle in steps (≥ 1).
            pub t_initial: u32,
            /// Floor at the end of every cycle and after the last (finite, ≥ 0;
            /// default 0).
            #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::zero"))]
            pub lr_min: F,
            /// Growth of the cycle length (finite, ≥ 1; default 1).
            #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
            pub cycle_mul: F,
            /// Decay of the peak per cycle (finite, ≥ 0; default 1).
            #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
            pub cycle_decay: F,
            /// Cycles run before `lr_min` is held (default 1).
            #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one_u32"))]
            pub cycle_limit: u32,
            /// Warmup steps (default 0).
            #[cfg_attr(feature = "serde", serde(default))]
            pub warmup_t: u32,
            /// Learning rate at step 0 of the warmup (finite, ≥ 0; default 0).
            #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::zero"))]
            pub warmup_lr_init: F,
            /// The cycles start after the warmup (`true`) or the warmup overlays
            /// the first `warmup_t` steps of the first cycle (`false`, default).
            #[cfg_attr(feature = "serde", serde(default))]
            pub warmup_prefix: bool,
            $($(#[$fdoc])* pub $f: $t,)*
        }

        impl<F: Real> $name<F> {
            fn cycles(&self) -> Cycles<F> {
                Cycles {
                    t_initial: self.t_initial,
                    cycle_mul: self.cycle_mul,
                    cycle_decay: self.cycle_decay,
                    cycle_limit: self.cycle_limit,
                    warmup_t: self.warmup_t,
                    warmup_prefix: self.warmup_prefix,
                }
            }

            fn validate_cycles(&self) -> Result<(), ConfigError> {
                non_negative("base_lr", self.base_lr)?;
                nonzero("t_initial", self.t_initial)?;
                non_negative("lr_min", self.lr_min)?;
                finite("cycle_mul", self.cycle_mul)?;
                rule("cycle_mul", self.cycle_mul >= F::ONE, "≥ 1")?;
                non_negative("cycle_decay", self.cycle_decay)?;
                non_negative("warmup_lr_init", self.warmup_lr_init)
            }
        }
    };
}

/// The cycle position of a step.
enum Phase<F> {
    /// Warmup, at step `t < warmup_t`.
    Warmup(u64),
    /// Cycle `i`, `t_curr` steps into a cycle of length `t_i`.
    Cycle { i: u64, t_curr: F, t_i: F },
    /// Past `cycle_limit` cycles.
    Done,
}

/// timm `Scheduler`'s cycle fields.
struct Cycles<F> {
    t_initial: u32,
    cycle_mul: F,
    cycle_decay: F,
    cycle_limit: u32,
    warmup_t: u32,
    warmup_prefix: bool,
}

impl<F: Real> Cycles<F> {
    /// timm's `_get_lr` cycle arithmetic. With `cycle_mul = 1` it is exact in
    /// integers; otherwise cycle `i` starts at `t_initial·(1 − mⁱ)/(1 − m)` and
    /// `i = ⌊log_m(1 + t·(m − 1)/t_initial)⌋` (timm's formula), corrected by one
    /// where rounding put `t` outside the cycle found.
    fn phase(&self, step: u32) -> Phase<F> {
        let mut t = u64::from(step);
        let w = u64::from(self.warmup_t);
        if t < w {
            return Phase::Warmup(t);
        }
        if self.warmup_prefix {
            t -= w;
        }
        let t0 = u64::from(self.t_initial);
        let (i, t_curr, t_i) = if self.cycle_mul == F::ONE {
            let i = t / t0;
            (i, fu::<F>(t - i * t0), fu::<F>(t0))
        } else {
            let m = self.cycle_mul;
            let (tf, t0f) = (fu::<F>(t), fu::<F>(t0));
            // timm's expression, `(1 − mⁱ)/(1 − m)·t_initial` from `mi = mⁱ`: exactly
            // `t_initial` for i = 1. One `powf` per step (the neighbours are `mi·m`, `mi/m`).
            let start = |mi: F| (F::ONE - mi) / (F::ONE - m) * t0f;
            let mut i = ((F::ONE + tf / t0f * (m - F::ONE)).ln() / m.ln())
                .floor()
                .max(F::ZERO);
            let mut mi = m.powf(i);
            if tf < start(mi) && i > F::ZERO {
                i = i - F::ONE;
                mi = mi / m;
            } else if tf >= start(mi * m) {
                i = i + F::ONE;
                mi = mi * m;
            }
            (i.to_f64() as u64, (tf - start(mi)).max(F::ZERO), mi * t0f)
        };
        if i < u64::from(self.cycle_limit) {
            Phase::Cycle { i, t_curr, t_i }
        } else {
            Phase::Done
        }
    }

    /// The peak of cycle `i`: `base_lr · cycle_decayⁱ`, saturated at `F::MAX` (a
    /// `cycle_decay` > 1 grows it without bound).
    fn peak(&self, base_lr: F, i: u64) -> F {
        if i == 0 || self.cycle_decay == F::ONE {
            base_lr
        } else {
            sat(base_lr * powi(self.cycle_decay, i))
        }
    }
}

/// `(t_curr / t_i)^k`, the cycle progress timm feeds its shapes (`t_curr**k /
/// t_i**k`).
#[inline]
fn progress<F: Real>(t_curr: F, t_i: F, k: F) -> F {
    let p = (t_curr / t_i).min(F::ONE);
    if k == F::ONE {
        p
    } else {
        p.powf(k)
    }
}

/// The warmup value `warmup_lr_init + t · (target − warmup_lr_init) / warmup_t` (timm's
/// order of operations), kept between `init` and `target`: it lies there exactly, and with
/// subnormal rates the rounding of `t · step` could otherwise cross 0.
#[inline]
fn warmup<F: Real>(init: F, target: F, t: u64, warmup_t: u32) -> F {
    let v = init + fu::<F>(t) * ((target - init) / fu(u64::from(warmup_t)));
    v.max(init.min(target)).min(init.max(target))
}

timm_config!(
    /// Configuration of [`TimmCosine`]; field names and defaults are timm
    /// `CosineLRScheduler`'s (under `serde` `base_lr` and `t_initial` are required).
    TimmCosineConfig {
        /// Exponent on the progress, `cos(π·(t_curr/t_i)^k)` (finite, > 0;
        /// default 1).
        #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
        pub k_decay: F,
    }
);

impl<F: Real> TimmCosineConfig<F> {
    fn validate(&self) -> Result<(), ConfigError> {
        self.validate_cycles()?;
        positive("k_decay", self.k_decay)
    }
}

validated!(
    /// timm's cosine: within cycle `i` of length `t_i`, at `t_curr` steps in,
    /// `lr = lr_min + (peak − lr_min) · (1 + cos(π·(t_curr/t_i)^k))/2` with `peak =
    /// base_lr · cycle_decayⁱ`; a warmup `warmup_lr_init → base_lr` over
    /// `warmup_t` steps first; `lr_min` after `cycle_limit` cycles.
    ///
    /// Source: timm `timm.scheduler.CosineLRScheduler` (SGDR as timm implements
    /// it, with `k_decay` from Zhang et al. 2020, "k-decay").
    TimmCosine,
    TimmCosineConfig,
    NoCache
);

impl<F: Real> Schedule<F> for TimmCosine<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let cy = c.cycles();
        match cy.phase(step) {
            Phase::Warmup(t) => warmup(c.warmup_lr_init, c.base_lr, t, c.warmup_t),
            Phase::Cycle { i, t_curr, t_i } => {
                let peak = cy.peak(c.base_lr, i);
                c.lr_min + (peak - c.lr_min) * cos_weight(progress(t_curr, t_i, c.k_decay))
            }
            Phase::Done => c.lr_min,
        }
    }
}

timm_config!(
    /// Configuration of [`TimmTanh`]; field names and defaults are timm
    /// `TanhLRScheduler`'s (under `serde` `base_lr` and `t_initial` are required).
    TimmTanhConfig {
        /// Lower bound of the tanh argument (finite, < `ub`; default −7).
        #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::lb_timm"))]
        pub lb: F,
        /// Upper bound of the tanh argument (finite; default 3).
        #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::ub_timm"))]
        pub ub: F,
    }
);

impl<F: Real> TimmTanhConfig<F> {
    fn validate(&self) -> Result<(), ConfigError> {
        self.validate_cycles()?;
        finite("lb", self.lb)?;
        finite("ub", self.ub)?;
        rule("ub", self.ub > self.lb, "> lb")
    }

    /// The tanh shape at cycle progress `tr`, between `lr_min` and `peak`.
    fn shape(&self, peak: F, tr: F) -> F {
        let arg = self.lb * (F::ONE - tr) + self.ub * tr;
        // Between lr_min and peak, both ≥ 0; the max keeps rounding from going below 0.
        (self.lr_min + F::HALF * (peak - self.lr_min) * (F::ONE - arg.tanh())).max(F::ZERO)
    }
}

validated!(
    /// timm's tanh decay: within cycle `i`, with `tr = t_curr/t_i`,
    /// `lr = lr_min + (peak − lr_min) · (1 − tanh(lb·(1 − tr) + ub·tr))/2`, `peak =
    /// base_lr · cycle_decayⁱ`. The warmup rises linearly from `warmup_lr_init` to
    /// the value the cycle has at `t = warmup_t` (to `base_lr` with
    /// `warmup_prefix`), as timm does.
    ///
    /// Sources: timm `timm.scheduler.TanhLRScheduler`; Hsueh et al., "Stochastic
    /// Gradient Descent with Hyperbolic-Tangent Decay" (WACV 2019).
    TimmTanh,
    TimmTanhConfig,
    TanhCache
);

/// Derived once: the warmup's target value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TanhCache<F> {
    warmup_target: F,
}

impl<F: Real> TanhCache<F> {
    fn new(c: &TimmTanhConfig<F>) -> Self {
        let warmup_target = if c.warmup_prefix || c.warmup_t == 0 {
            c.base_lr
        } else {
            let cy = Cycles {
                warmup_t: 0,
                ..c.cycles()
            };
            match cy.phase(c.warmup_t) {
                Phase::Cycle { i, t_curr, t_i } => c.shape(cy.peak(c.base_lr, i), t_curr / t_i),
                _ => c.lr_min,
            }
        };
        Self { warmup_target }
    }
}

impl<F: Real> Schedule<F> for TimmTanh<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let cy = c.cycles();
        match cy.phase(step) {
            Phase::Warmup(t) => warmup(c.warmup_lr_init, self.1.warmup_target, t, c.warmup_t),
            Phase::Cycle { i, t_curr, t_i } => c.shape(cy.peak(c.base_lr, i), t_curr / t_i),
            Phase::Done => c.lr_min,
        }
    }
}

timm_config!(
    /// Configuration of [`TimmPoly`]; field names and defaults are timm
    /// `PolyLRScheduler`'s (under `serde` `base_lr` and `t_initial` are required).
    TimmPolyConfig {
        /// Exponent of the decay (finite, ≥ 0; default 0.5).
        #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::half"))]
        pub power: F,
        /// Exponent on the progress, `(t_curr/t_i)^k` (finite, > 0; default 1).
        #[cfg_attr(feature = "serde", serde(default = "super::util::defaults::one"))]
        pub k_decay: F,
    }
);

impl<F: Real> TimmPolyConfig<F> {
    fn validate(&self) -> Result<(), ConfigError> {
        self.validate_cycles()?;
        non_negative("power", self.power)?;
        positive("k_decay", self.k_decay)
    }
}

validated!(
    /// timm's polynomial decay: within cycle `i`,
    /// `lr = lr_min + (peak − lr_min) · (1 − (t_curr/t_i)^k)^power`, `peak = base_lr ·
    /// cycle_decayⁱ`; a warmup `warmup_lr_init → base_lr` first; `lr_min` after
    /// `cycle_limit` cycles.
    ///
    /// Source: timm `timm.scheduler.PolyLRScheduler`.
    TimmPoly,
    TimmPolyConfig,
    NoCache
);

impl<F: Real> Schedule<F> for TimmPoly<F> {
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        let cy = c.cycles();
        match cy.phase(step) {
            Phase::Warmup(t) => warmup(c.warmup_lr_init, c.base_lr, t, c.warmup_t),
            Phase::Cycle { i, t_curr, t_i } => {
                let p = progress(t_curr, t_i, c.k_decay);
                let peak = cy.peak(c.base_lr, i);
                c.lr_min + (peak - c.lr_min) * (F::ONE - p).max(F::ZERO).powf(c.power)
            }
            Phase::Done => c.lr_min,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz regression (`fuzz/regressions/schedules/timm-tanh-negative`): a peak of 0
    /// below a subnormal `lr_min` rounded the tanh shape to −5e-324.
    #[test]
    fn the_tanh_shape_is_never_negative() {
        let s = TimmTanhConfig {
            base_lr: 0.0f64,
            t_initial: 10,
            lr_min: 1.57027688531e-312,
            cycle_mul: 9.999999680285692e37,
            cycle_decay: 9.999999680285692e37,
            cycle_limit: 31,
            warmup_t: 148,
            warmup_lr_init: 0.10000000149011612,
            warmup_prefix: true,
            lb: -1.0000000150474662e30,
            ub: 10000.0,
        }
        .build()
        .unwrap();
        for t in [0, 147, 148, 149, 158, 1 << 24, u32::MAX] {
            assert!(s.lr(t) >= 0.0 && s.lr(t).is_finite(), "{t}: {}", s.lr(t));
        }
    }

    /// Fuzz regression (`fuzz/regressions/schedules/timm-warmup-negative`): a warmup from
    /// a subnormal `warmup_lr_init` down to a peak of 0 over 2²⁴ steps rounded to
    /// −2.6e-319 one step before its end.
    #[test]
    fn the_warmup_stays_between_its_ends() {
        let s = TimmCosineConfig {
            base_lr: 0.0f64,
            t_initial: 10,
            lr_min: 1.57027688531e-312,
            cycle_mul: f64::MAX,
            cycle_decay: 2.375,
            cycle_limit: 10,
            warmup_t: 16777216,
            warmup_lr_init: 8.4962691111e-313,
            warmup_prefix: false,
            k_decay: f64::MAX,
        }
        .build()
        .unwrap();
        for t in [0, 1, 16777215, 16777216, u32::MAX] {
            assert!(s.lr(t) >= 0.0 && s.lr(t).is_finite(), "{t}: {}", s.lr(t));
        }
        assert!(s.lr(16777215) <= 8.4962691111e-313);
    }

    /// Fuzz regression (`fuzz/regressions/schedules/timm-peak-overflow`): with
    /// `cycle_decay` > 1 the peak of a late cycle overflowed to ∞ (and `∞ − lr_min`
    /// then gave ∞ or NaN).
    #[test]
    fn a_growing_peak_saturates() {
        let c = TimmPolyConfig {
            base_lr: f64::MAX,
            t_initial: 10,
            lr_min: f64::MAX,
            cycle_mul: 8.000000953674316,
            cycle_decay: 3.125,
            cycle_limit: 2526451221,
            warmup_t: 150,
            warmup_lr_init: 0.10000000149011612,
            warmup_prefix: false,
            power: f64::MAX,
            k_decay: f64::MAX,
        };
        let s = c.build().unwrap();
        for t in [0, 149, 150, 1000, 1 << 24, u32::MAX] {
            assert!(s.lr(t).is_finite(), "{t}: {}", s.lr(t));
        }
        let cos = TimmCosineConfig {
            base_lr: 0.1f32,
            t_initial: 1,
            lr_min: 0.0,
            cycle_mul: 1.0,
            cycle_decay: 10.0,
            cycle_limit: u32::MAX,
            warmup_t: 0,
            warmup_lr_init: 0.0,
            warmup_prefix: false,
            k_decay: 1.0,
        }
        .build()
        .unwrap();
        assert_eq!(cos.lr(1), 1.0);
        assert_eq!(cos.lr(1000), f32::MAX);
    }
}
