//! Property tests: random valid configurations never panic, never give a
//! non-finite value and stay within each schedule's promised bounds, for steps up
//! to `u32::MAX`, in `f32` and `f64`; random invalid configurations are
//! rejected with an error naming the bad field.

use lrate_core::*;
use proptest::prelude::*;

/// Steps: small, anywhere, and right below `u32::MAX`.
fn step() -> impl Strategy<Value = u32> {
    prop_oneof![0..5000u32, any::<u32>(), (u32::MAX - 5000)..=u32::MAX]
}

fn lr_value() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), 1e-8..10.0f64]
}

/// `v` is finite and within `[lo, hi]` up to rounding.
fn within<F: Real>(v: F, lo: f64, hi: f64) -> Result<(), TestCaseError> {
    let v = v.to_f64();
    prop_assert!(v.is_finite(), "not finite: {v}");
    let slack = 1e-6 * lo.abs().max(hi.abs()) + 1e-30;
    prop_assert!(
        v >= lo - slack && v <= hi + slack,
        "{v} outside [{lo}, {hi}]"
    );
    Ok(())
}

fn both<S32: Schedule<f32>, S64: Schedule<f64>>(
    s32: &S32,
    s64: &S64,
    t: u32,
    lo: f64,
    hi: f64,
) -> Result<(), TestCaseError> {
    within(s32.lr(t), lo, hi)?;
    within(s64.lr(t), lo, hi)
}

fn momentum_both<S32: Schedule<f32>, S64: Schedule<f64>>(
    s32: &S32,
    s64: &S64,
    t: u32,
    lo: f64,
    hi: f64,
) -> Result<(), TestCaseError> {
    let (m32, m64) = (s32.momentum(t), s64.momentum(t));
    prop_assert!(m32.is_some() && m64.is_some());
    within(m32.unwrap_or(f32::NAN), lo, hi)?;
    within(m64.unwrap_or(f64::NAN), lo, hi)
}

macro_rules! build2 {
    ($cfg:expr) => {{
        let c64 = $cfg(|x: f64| x);
        let c32 = $cfg(|x: f64| x as f32);
        (c32.build().unwrap(), c64.build().unwrap())
    }};
}

proptest! {
    #[test]
    fn step_decay(base in lr_value(), size in 1..1000u32, gamma in 0.0..1.5f64, t in step()) {
        let (a, b) = build2!(|f: fn(f64) -> _| StepConfig { base_lr: f(base), step_size: size, gamma: f(gamma) });
        let hi = if gamma <= 1.0 { base } else { f64::MAX };
        both(&a, &b, t, 0.0, hi)?;
    }

    #[test]
    fn multistep(base in lr_value(), mut ms in prop::collection::vec(0..100_000u32, 0..16),
                 gamma in 0.0..1.0f64, t in step()) {
        ms.sort_unstable();
        let a = MultiStepConfig::new(base as f32, &ms, gamma as f32).unwrap().build().unwrap();
        let b = MultiStepConfig::new(base, &ms, gamma).unwrap().build().unwrap();
        both(&a, &b, t, 0.0, base)?;
    }

    #[test]
    fn exponential(base in lr_value(), gamma in 0.0..3.0f64, ds in 1..100u32, stair: bool, t in step()) {
        let (a, b) = build2!(|f: fn(f64) -> _| ExponentialConfig { base_lr: f(base), gamma: f(gamma), decay_steps: ds, staircase: stair });
        let hi = if gamma <= 1.0 { base } else { f64::MAX };
        both(&a, &b, t, 0.0, hi)?;
    }

    #[test]
    fn polynomial(base in lr_value(), end in lr_value(), total in 1..10_000u32, power in 0.0..5.0f64,
                  cycle: bool, t in step()) {
        let (a, b) = build2!(|f: fn(f64) -> _| PolynomialConfig { base_lr: f(base), total_iters: total, power: f(power), end_lr: f(end), cycle });
        both(&a, &b, t, base.min(end), base.max(end))?;
    }

    #[test]
    fn linear_and_constant_factor(base in lr_value(), s in 0.0..2.0f64, e in 0.0..2.0f64,
                                  total in 0..1000u32, t in step()) {
        let (a, b) = build2!(|f: fn(f64) -> _| LinearConfig { base_lr: f(base), start_factor: f(s), end_factor: f(e), total_iters: total });
        both(&a, &b, t, base * s.min(e), base * s.max(e))?;
        let (a, b) = build2!(|f: fn(f64) -> _| ConstantFactorConfig { base_lr: f(base), factor: f(s), total_iters: total });
        both(&a, &b, t, base * s.min(1.0), base * s.max(1.0))?;
    }

    #[test]
    fn inverse_time(base in lr_value(), rate in 0.0..100.0f64, ds in 1..1000u32, stair: bool, t in step()) {
        let (a, b) = build2!(|f: fn(f64) -> _| InverseTimeConfig { base_lr: f(base), decay_rate: f(rate), decay_steps: ds, staircase: stair });
        both(&a, &b, t, 0.0, base)?;
    }

    #[test]
    fn cosine(base in lr_value(), eta in lr_value(), t_max in 1..u32::MAX, hold: bool, t in step()) {
        let (a, b) = build2!(|f: fn(f64) -> _| CosineAnnealingConfig { base_lr: f(base), t_max, eta_min: f(eta), hold_eta_min: hold });
        both(&a, &b, t, base.min(eta), base.max(eta))?;
    }

    #[test]
    fn warm_restarts(base in lr_value(), eta in lr_value(), t_0 in 1..100_000u32,
                     t_mult in prop_oneof![Just(1.0), Just(2.0), Just(3.0), 1.0..4.0f64, Just(1e12)],
                     m_mul in 0.0..=1.0f64, t in step()) {
        let (a, b) = build2!(|f: fn(f64) -> _| WarmRestartsConfig { base_lr: f(base), t_0, t_mult: f(t_mult), eta_min: f(eta), m_mul: f(m_mul) });
        both(&a, &b, t, base.min(eta), base.max(eta))?;
        let (_, pos) = b.cycle(t);
        prop_assert!((0.0..1.0).contains(&pos));
    }

    #[test]
    fn cyclic(base in lr_value(), span in 0.0..10.0f64, up in 1..u32::MAX, down in prop::option::of(1..u32::MAX),
              mode in prop_oneof![Just(CyclicMode::Triangular), Just(CyclicMode::Triangular2), Just(CyclicMode::ExpRange)],
              gamma in 1e-6..=1.0f64, bm in 0.0..1.0f64, dm in 0.0..0.5f64, t in step()) {
        let (a, b) = build2!(|f: fn(f64) -> _| CyclicConfig {
            base_lr: f(base), max_lr: f(base + span), step_size_up: up, step_size_down: down, mode,
            gamma: f(gamma), cycle_momentum: true, base_momentum: f(bm), max_momentum: f(bm + dm) });
        both(&a, &b, t, base, base + span)?;
        momentum_both(&a, &b, t, bm, bm + dm)?;
    }

    #[test]
    fn one_cycle(max_lr in 1e-8..10.0f64, total in 2..u32::MAX, pct in 0.01..0.99f64,
                 div in 1.0..1e3f64, fdiv in 1.0..1e6f64, three: bool, linear: bool, fastai: bool,
                 bm in 0.0..1.0f64, dm in 0.0..0.5f64, t in step()) {
        let cfg = OneCycleParams { max_lr, total, pct, div, fdiv, three, linear, fastai, bm, dm };
        // Some (pct, total) pairs leave a phase empty: those must be rejected.
        let (c32, c64) = (cfg.config::<f32>(), cfg.config::<f64>());
        match (c32.build(), c64.build()) {
            (Ok(a), Ok(b)) => {
                both(&a, &b, t, max_lr / div / fdiv, max_lr)?;
                momentum_both(&a, &b, t, bm, bm + dm)?;
            }
            (Err(e), _) | (_, Err(e)) => prop_assert_eq!(e.field, "total_steps"),
        }
    }

    #[test]
    fn piecewise(bounds in prop::collection::btree_set(0..u32::MAX, 0..16), seed in lr_value(), t in step()) {
        let b: Vec<u32> = bounds.into_iter().collect();
        let values: Vec<f64> = (0..=b.len()).map(|i| seed * (i as f64 + 1.0)).collect();
        let v32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let a = PiecewiseConstantConfig::new(&b, &v32).unwrap().build().unwrap();
        let s = PiecewiseConstantConfig::new(&b, &values).unwrap().build().unwrap();
        both(&a, &s, t, seed, seed * (b.len() as f64 + 1.0))?;
    }

    #[test]
    fn compositions(base in lr_value(), start in lr_value(), w in 0..100_000u32, m in 1..u32::MAX, t in step()) {
        let cos64: Single<f64> = CosineAnnealingConfig::new(base, 1000, 0.0).build().unwrap().into();
        let cyc64: Single<f64> = Cyclic::triangular(0.0, base, 50).unwrap().into();
        let w64 = Warmup::new(w, start, cos64.clone()).unwrap();
        let s64 = Sequential::<_, 4>::from_slices(&[cos64, cyc64], &[m]).unwrap();
        let cos32: Single<f32> = CosineAnnealingConfig::new(base as f32, 1000, 0.0).build().unwrap().into();
        let cyc32: Single<f32> = Cyclic::triangular(0.0, base as f32, 50).unwrap().into();
        let w32 = Warmup::new(w, start as f32, cos32.clone()).unwrap();
        let s32 = Sequential::<_, 4>::from_slices(&[cos32, cyc32], &[m]).unwrap();
        both(&w32, &w64, t, 0.0, base.max(start))?;
        both(&s32, &s64, t, 0.0, base)?;
    }

    #[test]
    fn plateau(base in lr_value(), factor in 0.0..1.0f64, patience in 0..5u32, cooldown in 0..5u32,
               min_lr in lr_value(), threshold in 0.0..1.0f64, max_mode: bool, abs_mode: bool,
               metrics in prop::collection::vec(prop_oneof![any::<f64>(), -10.0..10.0f64], 1..200)) {
        let mut cfg = PlateauConfig::new(base);
        cfg.factor = factor;
        cfg.patience = patience;
        cfg.cooldown = cooldown;
        cfg.min_lr = min_lr;
        cfg.threshold = threshold;
        cfg.mode = if max_mode { PlateauMode::Max } else { PlateauMode::Min };
        cfg.threshold_mode = if abs_mode { ThresholdMode::Abs } else { ThresholdMode::Rel };
        let mut p = cfg.build().unwrap();
        let mut last = p.lr();
        for &m in &metrics {
            let lr = p.step(m);
            prop_assert!(lr.is_finite() && lr <= last && lr >= base.min(min_lr));
            last = lr;
        }
    }
}

struct OneCycleParams {
    max_lr: f64,
    total: u32,
    pct: f64,
    div: f64,
    fdiv: f64,
    three: bool,
    linear: bool,
    fastai: bool,
    bm: f64,
    dm: f64,
}

impl OneCycleParams {
    fn config<F: Real>(&self) -> OneCycleConfig<F> {
        let f = F::from_f64;
        OneCycleConfig {
            max_lr: f(self.max_lr),
            total_steps: self.total,
            pct_start: f(self.pct),
            anneal: if self.linear {
                Anneal::Linear
            } else {
                Anneal::Cos
            },
            div_factor: f(self.div),
            final_div_factor: f(self.fdiv),
            three_phase: self.three,
            cycle_momentum: true,
            base_momentum: f(self.bm),
            max_momentum: f(self.bm + self.dm),
            final_momentum: None,
            phase_rule: if self.fastai {
                PhaseRule::Fastai
            } else {
                PhaseRule::PyTorch
            },
        }
    }
}

fn field<T>(r: Result<T, ConfigError>) -> Option<&'static str> {
    r.err().map(|e| e.field)
}

fn bad_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        -1e9..-1e-12f64
    ]
}

proptest! {
    #[test]
    fn invalid_configs_are_rejected(bad in bad_f64(), n in 1..1000u32) {
        prop_assert_eq!(field(StepConfig { base_lr: bad, step_size: n, gamma: 0.1 }.build()), Some("base_lr"));
        prop_assert_eq!(field(StepConfig { base_lr: 0.1, step_size: 0, gamma: 0.1 }.build()), Some("step_size"));
        prop_assert_eq!(field(StepConfig { base_lr: 0.1, step_size: n, gamma: bad }.build()), Some("gamma"));
        prop_assert_eq!(field(ExponentialConfig::new(0.1, bad).build()), Some("gamma"));
        prop_assert_eq!(field(CosineAnnealingConfig::new(0.1, 0, 0.0).build()), Some("t_max"));
        prop_assert_eq!(field(CosineAnnealingConfig::new(0.1, n, bad).build()), Some("eta_min"));
        prop_assert_eq!(field(PolynomialConfig::new(0.1, n, bad).build()), Some("power"));
        prop_assert_eq!(field(LinearConfig::new(0.1, bad, 1.0, n).build()), Some("start_factor"));
        prop_assert_eq!(field(InverseTimeConfig::new(0.1, 0, 1.0).build()), Some("decay_steps"));
        prop_assert_eq!(field(WarmRestartsConfig::new(0.1, 0, 1, 0.0).build()), Some("t_0"));
        let mut w = WarmRestartsConfig::new(0.1, n, 1, 0.0);
        w.t_mult = 0.5;
        prop_assert_eq!(field(w.build()), Some("t_mult"));
        w.t_mult = 1.0;
        w.m_mul = bad;
        prop_assert_eq!(field(w.build()), Some("m_mul"));
        // CLR: max_lr < base_lr, zero step sizes, NaN.
        prop_assert_eq!(field(CyclicConfig::new(0.1, 0.1 - 1e-3 * n as f64 / 1000.0 - 1e-9, n).build()), Some("max_lr"));
        prop_assert_eq!(field(CyclicConfig::new(0.1, bad, n).build()), Some("max_lr"));
        prop_assert_eq!(field(CyclicConfig::new(0.01, 0.1, 0).build()), Some("step_size_up"));
        let mut c = CyclicConfig::new(0.01, 0.1, n);
        c.step_size_down = Some(0);
        prop_assert_eq!(field(c.build()), Some("step_size_down"));
        // 1cycle: pct_start outside (0, 1), NaN, total_steps 0, bad factors.
        let mut o = OneCycleConfig::pytorch(0.1, 1000);
        o.pct_start = if bad.is_nan() { bad } else { 1.0 + n as f64 };
        prop_assert_eq!(field(o.build()), Some("pct_start"));
        o.pct_start = -(n as f64) / 1000.0;
        prop_assert_eq!(field(o.build()), Some("pct_start"));
        prop_assert_eq!(field(OneCycleConfig::pytorch(0.1, 0).build()), Some("total_steps"));
        prop_assert_eq!(field(OneCycleConfig::pytorch(bad, n).build()), Some("max_lr"));
        let mut o = OneCycleConfig::pytorch(0.1, 1000);
        o.div_factor = bad;
        prop_assert_eq!(field(o.build()), Some("div_factor"));
        // Milestones.
        prop_assert_eq!(field(MultiStepConfig::new(0.1, &[n + 1, n], 0.1).unwrap().build()), Some("milestones"));
        prop_assert_eq!(field(MultiStepConfig::new(0.1, &[0; 17], 0.1)), Some("milestones"));
        prop_assert_eq!(field(PiecewiseConstantConfig::new(&[n, n], &[0.1, 0.2, 0.3]).unwrap().build()), Some("boundaries"));
        prop_assert_eq!(field(PiecewiseConstantConfig::new(&[n], &[0.1]).unwrap().build()), Some("values"));
        let c: Single<f64> = Constant::new(ConstantConfig::new(0.1)).unwrap().into();
        prop_assert_eq!(field(Sequential::<_, 4>::from_slices(&[c.clone(), c.clone()], &[])), Some("milestones"));
        prop_assert_eq!(field(Sequential::<_, 4>::from_slices(&[c.clone(), c.clone(), c.clone()], &[n + 1, n])), Some("milestones"));
        prop_assert_eq!(field(Warmup::new(n, bad, c)), Some("start_lr"));
        let mut p = PlateauConfig::new(0.1);
        p.factor = 1.0 + n as f64;
        prop_assert_eq!(field(p.build()), Some("factor"));
    }
}

#[test]
fn error_names_the_field() {
    let e = CyclicConfig::new(0.1, 0.01, 10).build().unwrap_err();
    assert_eq!(e.to_string(), "invalid `max_lr`: must be ≥ base_lr");
    let e = OneCycleConfig::pytorch(0.1f32, 2).build().unwrap_err();
    assert_eq!(e.field, "total_steps");
}

#[test]
fn multistep_repeated_milestones_compound() {
    let s = MultiStepConfig::new(1.0f64, &[3, 3, 5], 0.5)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!([s.lr(2), s.lr(3), s.lr(5)], [1.0, 0.25, 0.125]);
}

#[test]
fn sgdr_integer_cycles_are_exact_at_huge_steps() {
    let s = WarmRestartsConfig::new(1.0f64, 1, 2, 0.0).build().unwrap();
    // Cycles of length 1, 2, 4, …: cycle i starts at 2^i − 1.
    for i in 0..32u32 {
        let start = (1u64 << i) - 1;
        assert_eq!(s.cycle(start as u32), (i, 0.0));
    }
    assert_eq!(s.cycle(u32::MAX).0, 32);
    assert_eq!(s.lr(u32::MAX), 1.0);
}

#[test]
fn presets_match_their_libraries_defaults() {
    let p = OneCycle::<f64>::pytorch(0.1, 100).unwrap();
    let c = p.config();
    assert_eq!(
        (c.pct_start, c.div_factor, c.final_div_factor),
        (0.3, 25.0, 1e4)
    );
    assert_eq!(
        (c.base_momentum, c.max_momentum, c.three_phase),
        (0.85, 0.95, false)
    );
    let f = OneCycle::<f64>::fastai(0.1, 100).unwrap();
    let c = f.config();
    assert_eq!((c.pct_start, c.div_factor), (0.25, 25.0));
    assert!((c.min_lr() - 0.1 / 1e5).abs() < 1e-18);
    assert_eq!(f.momentum(0), Some(0.95));
    assert_eq!(f.lr(25), 0.1);
}

proptest! {
    /// Integer SGDR cycles agree with walking the cycles one by one.
    #[test]
    fn sgdr_integer_cycles_match_a_walk(t_0 in 1..10_000u32, k in 1..6u32, t in step()) {
        let s = WarmRestartsConfig::new(1.0f64, t_0, k, 0.0).build().unwrap();
        let (mut i, mut start, mut len) = (0u32, 0u64, u64::from(t_0));
        while u64::from(t) >= start + len {
            start += len;
            len *= u64::from(k);
            i += 1;
        }
        prop_assert_eq!(s.cycle(t), (i, (u64::from(t) - start) as f64 / len as f64));
    }

    /// Keras-style fractional `t_mult`: restarts land where the geometric series
    /// of cycle lengths says, also beyond the first 32 cycles.
    #[test]
    fn sgdr_fractional_cycles_match_a_walk(t_0 in 1..50u32, m in 1.05..3.0f64, t in step()) {
        let mut cfg = WarmRestartsConfig::new(1.0f64, t_0, 1, 0.0);
        cfg.t_mult = m;
        let s = cfg.build().unwrap();
        let (mut i, mut start, mut len) = (0u32, 0.0f64, f64::from(t_0));
        while f64::from(t) >= start + len {
            start += len;
            len *= m;
            i += 1;
        }
        let (ci, pos) = s.cycle(t);
        let want = (f64::from(t) - start) / len;
        // Rounding may move a step sitting (to within 1e-9) on a boundary.
        if ci == i {
            prop_assert!((pos - want).abs() < 1e-6, "{pos} vs {want}");
        } else {
            prop_assert!(ci.abs_diff(i) == 1 && !(1e-9..=1.0 - 1e-9).contains(&want), "{ci} vs {i}");
        }
    }
}
