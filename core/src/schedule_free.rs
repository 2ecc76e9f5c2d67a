//! The scalar schedule of schedule-free SGD / AdamW in closed form: the warmed-up
//! learning rate `lr_k` and the averaging weight `c_{k+1}` of every step.
//!
//! Schedule-free optimization (Defazio, Yang, Mehta, Mishchenko, Khaled and
//! Cutkosky, "The Road Less Scheduled", NeurIPS 2024, arXiv:2405.15682; reference
//! implementation `facebookresearch/schedule_free`, PyPI `schedulefree` 1.x)
//! replaces the learning-rate decay by an online average. Each step `k`
//! (0-based) it computes
//!
//! ```text
//! sched    = (k+1)/warmup_steps  if k < warmup_steps, else 1
//! lr_k     = lr · sched
//! lr_max   = max(lr_max, lr_k)
//! weight   = (k+1)^r · lr_max^weight_lr_power
//! weight_sum += weight
//! ckp1     = weight / weight_sum          (0 when weight_sum = 0)
//! ```
//!
//! and then, per parameter, interpolates `y ← lerp(y, z, ckp1)` before its gradient
//! step. The reference keeps `lr_max` and `weight_sum` as running state. With a
//! constant base `lr` and this linear warmup `lr_k` never decreases, so
//! `lr_max = lr_k`, and the factor `lr^weight_lr_power` cancels from the ratio:
//!
//! ```text
//! ckp1(k) = w(k+1) / S(k+1),   w(i) = i^r · min(1, i/W)^p,
//! S(n)    = W^(−p) · Σ_{i=1}^{min(n,W)} i^(r+p)  +  Σ_{i=W+1}^{n} i^r
//! ```
//!
//! (`W = warmup_steps`, `p = weight_lr_power`), a function of the step alone, so
//! resuming needs nothing but the step. [`ScheduleFree`] evaluates it in O(1): the
//! power sums `Σ_{i=a}^{b} i^s` take their first 32 terms directly and the rest
//! by Euler–Maclaurin (integral, endpoint terms and the B₂, B₄, B₆ derivative
//! corrections; exact for integer `s ≤ 6`), internally in `f64`, scaled so that
//! nothing overflows for any step up to `u32::MAX`.

use crate::{ConfigError, Problem, Real, Schedule};

/// Largest accepted `r` and `weight_lr_power` (the Euler–Maclaurin tail keeps its
/// 1e-9 relative accuracy up to `r + weight_lr_power = 16`).
pub const MAX_SF_EXPONENT: f64 = 8.0;

/// Configuration of [`ScheduleFree`]; defaults are `schedulefree`'s
/// (`warmup_steps = 0`, `r = 0`, `weight_lr_power = 2`; under `serde` only `lr`
/// is required).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ScheduleFreeConfig<F: Real = f32> {
    /// Base learning rate (finite, ≥ 0; `schedulefree`'s `lr`).
    pub lr: F,
    /// Linear warmup steps: `lr_k = lr·(k+1)/warmup_steps` while
    /// `k < warmup_steps` (0: no warmup; default 0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub warmup_steps: u32,
    /// Polynomial averaging exponent: step `k` weighs `(k+1)^r` (finite,
    /// 0 ≤ r ≤ [`MAX_SF_EXPONENT`]; default 0).
    #[cfg_attr(feature = "serde", serde(default = "zero"))]
    pub r: F,
    /// Exponent of the warmed-up learning rate in the weight (finite,
    /// 0 ≤ weight_lr_power ≤ [`MAX_SF_EXPONENT`]; default 2).
    #[cfg_attr(feature = "serde", serde(default = "two"))]
    pub weight_lr_power: F,
}

#[cfg(feature = "serde")]
fn zero<F: Real>() -> F {
    F::ZERO
}

#[cfg(feature = "serde")]
fn two<F: Real>() -> F {
    F::TWO
}

impl<F: Real> ScheduleFreeConfig<F> {
    /// `schedulefree`'s defaults for `lr` and `warmup_steps`: `r = 0`,
    /// `weight_lr_power = 2`.
    pub fn new(lr: F, warmup_steps: u32) -> Self {
        Self {
            lr,
            warmup_steps,
            r: F::ZERO,
            weight_lr_power: F::TWO,
        }
    }

    /// Validates the configuration and builds the schedule.
    pub fn build(self) -> Result<ScheduleFree<F>, ConfigError> {
        ScheduleFree::new(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        fn bounded<F: Real>(
            field: &'static str,
            v: F,
            max: Option<f64>,
        ) -> Result<(), ConfigError> {
            if !v.is_finite() {
                return Err(ConfigError::new(field, Problem::NotFinite));
            }
            if v < F::ZERO {
                return Err(ConfigError::new(field, Problem::Negative));
            }
            match max {
                Some(m) if v.to_f64() > m => Err(ConfigError::new(field, Problem::MustBe("≤ 8"))),
                _ => Ok(()),
            }
        }
        bounded("lr", self.lr, None)?;
        bounded("r", self.r, Some(MAX_SF_EXPONENT))?;
        bounded(
            "weight_lr_power",
            self.weight_lr_power,
            Some(MAX_SF_EXPONENT),
        )
    }
}

/// The schedule-free scalar schedule (Defazio et al. 2024, "The Road Less
/// Scheduled"; `facebookresearch/schedule_free`): [`Schedule::lr`] is the
/// warmed-up rate `lr_k = lr · min(1, (k+1)/warmup_steps)` and
/// [`ScheduleFree::ckp1`] the averaging weight
/// `ckp1(k) = w(k+1)/S(k+1)` with `w(i) = i^r·min(1, i/W)^p` and
/// `S(n) = Σ_{i≤n} w(i)` (see the [module docs](self)), both closed-form in the
/// step. Never panics and returns finite values for every step up to `u32::MAX`.
///
/// Construct it with [`Self::new`] (or the config's `build`), which validates
/// every field. With `r = 0` (the default) a step past the warmup costs one
/// division (the warmup's part of the sum is computed at construction), and a
/// warmup step with `r + p = 2` a closed-form sum of squares.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ScheduleFree<F: Real = f32>(ScheduleFreeConfig<F>, f64);

impl<F: Real> ScheduleFree<F> {
    /// Validates `config`; the error names the first bad field.
    pub fn new(config: ScheduleFreeConfig<F>) -> Result<Self, ConfigError> {
        config.validate()?;
        // The warmup's share of S(n) past the warmup, W^(−r)·W^(−p)·Σ_{1}^{W} i^(r+p),
        // depends on no step: computed once.
        let w = u64::from(config.warmup_steps);
        let s = config.r.to_f64() + config.weight_lr_power.to_f64();
        let warm = if w == 0 {
            0.0
        } else {
            power_sum(1, w, s, w as f64)
        };
        Ok(Self(config, warm))
    }

    /// The validated configuration.
    pub fn config(&self) -> &ScheduleFreeConfig<F> {
        &self.0
    }

    /// The averaging weight `ckp1` of step `step` (0-based): the `y ← lerp(y, z, ckp1)`
    /// interpolation factor, in `[0, 1]` (1 at step 0).
    ///
    /// `ckp1(k) = w(k+1) / S(k+1)`, `w(i) = i^r · min(1, i/W)^p`,
    /// `S(n) = W^(−p)·Σ_{i=1}^{min(n,W)} i^(r+p) + Σ_{i=W+1}^{n} i^r`: `schedulefree`'s
    /// `weight / weight_sum` for a constant base `lr`. With `lr = 0` and
    /// `weight_lr_power > 0` every weight is 0 and so is `ckp1` (the reference's
    /// `ZeroDivisionError` branch).
    pub fn ckp1(&self, step: u32) -> F {
        F::from_f64(self.ckp1_f64(step))
    }

    fn ckp1_f64(&self, step: u32) -> f64 {
        let c = &self.0;
        let (r, p) = (c.r.to_f64(), c.weight_lr_power.to_f64());
        if c.lr == F::ZERO && p > 0.0 {
            return 0.0;
        }
        let n = u64::from(step) + 1;
        let w = u64::from(c.warmup_steps);
        let s = r + p;
        // S(n) / w(n), each sum scaled by its own upper end so nothing overflows.
        let denom = if n <= w {
            // w(n) = n^s / W^p, S(n) = W^(−p) Σ_{1}^{n} i^s.
            if s == 2.0 {
                // Σ_{1}^{n} (i/n)² = (n+1)(2n+1)/(6n), the default (r = 0, p = 2), exactly
                // and without the power sum (cheap on an FPU-less f64, e.g. Cortex-M4F).
                let nf = n as f64;
                (nf + 1.0) * (2.0 * nf + 1.0) / (6.0 * nf)
            } else {
                power_sum(1, n, s, n as f64)
            }
        } else if r == 0.0 {
            // w(n) = 1: S(n) = W^(−p) Σ_{1}^{W} i^p + (n − W), the first part cached.
            self.1 + (n - w) as f64
        } else {
            // w(n) = n^r; W^(−p) Σ_{1}^{W} i^s = W^r Σ_{1}^{W} (i/W)^s.
            libm::pow(w as f64 / n as f64, r) * self.1 + power_sum(w + 1, n, r, n as f64)
        };
        let v = 1.0 / denom;
        if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

impl<F: Real> Schedule<F> for ScheduleFree<F> {
    /// `lr_k = lr · min(1, (step+1)/warmup_steps)` (`warmup_steps = 0`: `lr`).
    #[inline]
    fn lr(&self, step: u32) -> F {
        let c = &self.0;
        if step >= c.warmup_steps {
            c.lr
        } else {
            F::from_f64(c.lr.to_f64() * ((f64::from(step) + 1.0) / f64::from(c.warmup_steps)))
        }
    }
}

impl<F: Real> TryFrom<ScheduleFreeConfig<F>> for ScheduleFree<F> {
    type Error = ConfigError;
    fn try_from(config: ScheduleFreeConfig<F>) -> Result<Self, ConfigError> {
        Self::new(config)
    }
}

impl<F: Real> From<ScheduleFree<F>> for ScheduleFreeConfig<F> {
    fn from(s: ScheduleFree<F>) -> Self {
        s.0
    }
}

#[cfg(feature = "serde")]
impl<F: Real + serde::Serialize> serde::Serialize for ScheduleFree<F> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&self.0, s)
    }
}

#[cfg(feature = "serde")]
impl<'de, F: Real + serde::Deserialize<'de>> serde::Deserialize<'de> for ScheduleFree<F> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let config = <ScheduleFreeConfig<F> as serde::Deserialize<'de>>::deserialize(d)?;
        Self::new(config).map_err(serde::de::Error::custom)
    }
}

/// Terms of a power sum added one by one before the Euler–Maclaurin tail.
const DIRECT_TERMS: u64 = 32;

/// `Σ_{i=a}^{b} (i/c)^s` for `1 ≤ a`, `s ≥ 0`, `c > 0` (0 when `a > b`): the first
/// [`DIRECT_TERMS`] terms directly, the rest by Euler–Maclaurin.
fn power_sum(a: u64, b: u64, s: f64, c: f64) -> f64 {
    if a > b || a == 0 {
        return 0.0;
    }
    let split = b.min(a.saturating_add(DIRECT_TERMS - 1));
    let mut sum = 0.0;
    for i in a..=split {
        sum += libm::pow(i as f64 / c, s);
    }
    if split < b {
        sum += euler_maclaurin(split + 1, b, s, c);
    }
    sum
}

/// Euler–Maclaurin for `Σ_{i=lo}^{hi} f(i)`, `f(x) = (x/c)^s`, `lo ≥ 33`:
/// `∫_lo^hi f + (f(lo) + f(hi))/2 + Σ_{k=1}^{3} B_{2k}/(2k)! (f^(2k−1)(hi) − f^(2k−1)(lo))`.
/// The remainder is below `8e-7·(s/lo)^8` of the sum (0 for integer `s ≤ 6`).
fn euler_maclaurin(lo: u64, hi: u64, s: f64, c: f64) -> f64 {
    let (l, h) = (lo as f64, hi as f64);
    let (fl, fh) = (libm::pow(l / c, s), libm::pow(h / c, s));
    // ∫ = c/(s+1) · ((h/c)^(s+1) − (l/c)^(s+1)) = h·f(h)/(s+1) · (1 − (l/h)^(s+1)),
    // the difference via expm1 / log1p so it keeps full precision when l ≈ h.
    let ratio_pow = libm::expm1((s + 1.0) * libm::log1p(-((hi - lo) as f64) / h));
    let integral = -h * fh / (s + 1.0) * ratio_pow;
    // f'(x) = s/x·f, f'''(x) = s(s−1)(s−2)/x³·f, f⁽⁵⁾(x) = s(s−1)(s−2)(s−3)(s−4)/x⁵·f.
    let d1 = s;
    let d3 = s * (s - 1.0) * (s - 2.0);
    let d5 = d3 * (s - 3.0) * (s - 4.0);
    let diff =
        |d: f64, k: i32| d * (fh / libm::pow(h, f64::from(k)) - fl / libm::pow(l, f64::from(k)));
    integral + 0.5 * (fl + fh) + diff(d1, 1) / 12.0 - diff(d3, 3) / 720.0 + diff(d5, 5) / 30240.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `schedulefree`'s running computation, in f64 with a compensated `weight_sum`.
    struct Reference {
        lr: f64,
        warmup: u64,
        r: f64,
        p: f64,
        k: u64,
        lr_max: f64,
        sum: f64,
        comp: f64,
    }

    impl Reference {
        fn new(lr: f64, warmup: u32, r: f64, p: f64) -> Self {
            Self {
                lr,
                warmup: u64::from(warmup),
                r,
                p,
                k: 0,
                lr_max: 0.0,
                sum: 0.0,
                comp: 0.0,
            }
        }

        /// (lr_k, ckp1) of the next step.
        fn step(&mut self) -> (f64, f64) {
            let k = self.k;
            self.k += 1;
            let sched = if k < self.warmup {
                (k + 1) as f64 / self.warmup as f64
            } else {
                1.0
            };
            let lr = self.lr * sched;
            self.lr_max = self.lr_max.max(lr);
            let weight = libm::pow((k + 1) as f64, self.r) * libm::pow(self.lr_max, self.p);
            // Kahan summation.
            let y = weight - self.comp;
            let t = self.sum + y;
            self.comp = (t - self.sum) - y;
            self.sum = t;
            let ckp1 = if self.sum == 0.0 {
                0.0
            } else {
                weight / self.sum
            };
            (lr, ckp1)
        }
    }

    fn sf(lr: f64, warmup: u32, r: f64, p: f64) -> ScheduleFree<f64> {
        let mut c = ScheduleFreeConfig::new(lr, warmup);
        c.r = r;
        c.weight_lr_power = p;
        c.build().unwrap()
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
    }

    /// Steps checked against the running reference: every one of the first 300,
    /// around the warmup end, then a geometric sample up to `n`.
    fn checked(k: u64, warmup: u64) -> bool {
        k < 300 || k.abs_diff(warmup) < 40 || k.is_power_of_two() || k % 999_983 == 0
    }

    #[test]
    fn closed_form_matches_the_running_reference() {
        let cases: [(u32, f64, f64, u64); 9] = [
            (0, 0.0, 2.0, 100_000),
            (10, 0.0, 2.0, 10_000_000),
            (1000, 0.0, 2.0, 1_000_000),
            (37, 0.5, 2.0, 200_000),
            (5, 1.0, 1.0, 200_000),
            (100, 0.0, 0.0, 200_000),
            (250, 2.0, 3.0, 10_000_000),
            (7, 0.3, 0.7, 200_000),
            (3, 8.0, 8.0, 200_000),
        ];
        for (warmup, r, p, n) in cases {
            let s = sf(0.3, warmup, r, p);
            let mut reference = Reference::new(0.3, warmup, r, p);
            for k in 0..n {
                let (lr, ckp1) = reference.step();
                if checked(k, u64::from(warmup)) {
                    let step = k as u32;
                    assert!(rel(s.lr(step), lr) < 1e-15, "lr W={warmup} k={k}");
                    let got = s.ckp1(step);
                    assert!(
                        rel(got, ckp1) < 1e-9,
                        "ckp1 W={warmup} r={r} p={p} k={k}: {got:e} vs {ckp1:e}"
                    );
                }
            }
        }
    }

    #[test]
    fn exact_in_simple_cases_and_finite_to_u32_max() {
        // No warmup, r = 0: uniform averaging, ckp1 = 1/(k+1).
        let s = sf(0.1, 0, 0.0, 2.0);
        for k in [
            0u32,
            1,
            2,
            31,
            32,
            33,
            1000,
            16_777_216,
            u32::MAX - 1,
            u32::MAX,
        ] {
            let want = 1.0 / (f64::from(k) + 1.0);
            assert!(rel(s.ckp1(k), want) < 1e-12, "k={k}");
        }
        // r = 0, p = 2: S(n) = (W+1)(2W+1)/(6W) + (n − W) past the warmup.
        for w in [1u32, 10, 1000, 1 << 20, u32::MAX - 5] {
            let s = sf(0.1, w, 0.0, 2.0);
            for k in [w, w.saturating_add(1), w.saturating_add(12_345), u32::MAX] {
                let (n, wf) = (f64::from(k) + 1.0, f64::from(w));
                if n <= wf {
                    continue;
                }
                let want = 1.0 / ((wf + 1.0) * (2.0 * wf + 1.0) / (6.0 * wf) + (n - wf));
                assert!(rel(s.ckp1(k), want) < 1e-9, "W={w} k={k}");
            }
        }
        for (w, r, p) in [
            (0, 0.0, 2.0),
            (10, 8.0, 8.0),
            (u32::MAX, 0.5, 2.0),
            (1, 0.0, 0.0),
        ] {
            let s = sf(1.0, w, r, p);
            let f32s = sf(1.0, w, r, p);
            for k in [0u32, 1, 33, 1 << 24, u32::MAX - 1, u32::MAX] {
                let c = s.ckp1(k);
                assert!(
                    c.is_finite() && c > 0.0 && c <= 1.0,
                    "W={w} r={r} p={p} k={k}: {c}"
                );
                assert!(f32s.lr(k).is_finite());
            }
            assert_eq!(s.ckp1(0), 1.0);
        }
        let f: ScheduleFree<f32> = ScheduleFreeConfig::new(0.5f32, 10).build().unwrap();
        assert_eq!(f.lr(0), 0.05);
        assert_eq!(f.lr(9), 0.5);
        assert_eq!(f.lr(u32::MAX), 0.5);
        assert!(f.ckp1(u32::MAX).is_finite() && f.ckp1(u32::MAX) > 0.0);
    }

    #[test]
    fn zero_lr_gives_zero_weight() {
        let s = sf(0.0, 10, 0.0, 2.0);
        assert_eq!(s.ckp1(0), 0.0);
        assert_eq!(s.ckp1(u32::MAX), 0.0);
        assert_eq!(s.lr(3), 0.0);
        // 0^0 = 1 in the reference: weight_lr_power 0 keeps the averaging.
        assert_eq!(sf(0.0, 0, 0.0, 0.0).ckp1(1), 0.5);
    }

    #[test]
    fn bad_configs_are_rejected() {
        let ok = ScheduleFreeConfig::new(0.1f64, 5);
        let with = |f: &dyn Fn(&mut ScheduleFreeConfig<f64>)| {
            let mut c = ok;
            f(&mut c);
            c.build().map(|_| ()).map_err(|e| e.field)
        };
        assert_eq!(with(&|_| {}), Ok(()));
        assert_eq!(with(&|c| c.lr = -1.0), Err("lr"));
        assert_eq!(with(&|c| c.lr = f64::NAN), Err("lr"));
        assert_eq!(with(&|c| c.lr = f64::INFINITY), Err("lr"));
        assert_eq!(with(&|c| c.r = -0.5), Err("r"));
        assert_eq!(with(&|c| c.r = 8.5), Err("r"));
        assert_eq!(
            with(&|c| c.weight_lr_power = f64::NAN),
            Err("weight_lr_power")
        );
        assert_eq!(with(&|c| c.weight_lr_power = 9.0), Err("weight_lr_power"));
        let e = ScheduleFree::try_from(ScheduleFreeConfig::new(-1.0f32, 0)).unwrap_err();
        assert_eq!(e.problem, Problem::Negative);
        let s = ScheduleFree::new(ok).unwrap();
        assert_eq!(ScheduleFreeConfig::from(s.clone()), ok);
        assert_eq!(s.config(), &ok);
    }

    #[test]
    fn never_non_finite_on_a_step_sweep() {
        for (w, r, p) in [
            (0, 0.0, 2.0),
            (17, 1.5, 0.5),
            (100_000, 0.0, 8.0),
            (3, 8.0, 0.0),
        ] {
            let s: ScheduleFree<f32> = {
                let mut c = ScheduleFreeConfig::new(0.01f32, w);
                c.r = r;
                c.weight_lr_power = p;
                c.build().unwrap()
            };
            let mut k: u32 = 0;
            let mut prev = 2.0f32;
            loop {
                let c = s.ckp1(k);
                assert!(c.is_finite() && (0.0..=1.0).contains(&c), "k={k}");
                assert!(s.lr(k).is_finite());
                // Past the warmup with r = 0 the weights are equal: ckp1 decreases.
                if r == 0.0 && k > w {
                    assert!(c <= prev * 1.000_001, "k={k}");
                }
                prev = c;
                match k.checked_add(1 + k / 7) {
                    Some(n) => k = n,
                    None if k < u32::MAX => k = u32::MAX,
                    None => break,
                }
            }
        }
    }
}
