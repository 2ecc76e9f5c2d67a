//! Hand-computed values of every schedule family: a few points each, the expected value
//! written as the formula it comes from (evaluated here with `std`'s f64 math, not through
//! lrate's code). They hold without any reference file, so a formula that stays within its
//! bounds but is wrong fails here even where the parity tests cannot run.

use lrate_core::*;
use std::f64::consts::PI;

/// `got` equals `want` within 1e-12 relative (1e-15 absolute near 0).
#[track_caller]
fn eq(got: f64, want: f64) {
    let d = (got - want).abs();
    assert!(
        d <= 1e-12 * want.abs() || d <= 1e-15,
        "got {got:e}, want {want:e}"
    );
}

/// PyTorch's `_annealing_cos(start, end, p)`.
fn cos_anneal(start: f64, end: f64, p: f64) -> f64 {
    end + (start - end) / 2.0 * ((PI * p).cos() + 1.0)
}

#[test]
fn constant_step_multistep_exponential() {
    let c = ConstantConfig::new(0.1f64).build().unwrap();
    eq(c.lr(0), 0.1);
    eq(c.lr(u32::MAX), 0.1);
    // StepLR(step_size=30, gamma=0.1): base · γ^⌊t/30⌋.
    let s = StepConfig::new(0.1f64, 30).build().unwrap();
    eq(s.lr(29), 0.1);
    eq(s.lr(30), 0.1 * 0.1);
    eq(s.lr(65), 0.1 * 0.1 * 0.1);
    // MultiStepLR([30, 80], 0.5): γ to the number of milestones passed.
    let m = MultiStepConfig::new(0.1f64, &[30, 80], 0.5)
        .unwrap()
        .build()
        .unwrap();
    eq(m.lr(29), 0.1);
    eq(m.lr(30), 0.05);
    eq(m.lr(80), 0.025);
    // ExponentialLR(0.9): base · 0.9^t.
    let e = ExponentialConfig::new(0.1f64, 0.9).build().unwrap();
    eq(e.lr(3), 0.1 * 0.9 * 0.9 * 0.9);
    // decay_to(0.1, 0.01, 100): γ = 0.01^(1/100), so half-way is 0.1 · 0.1.
    let d = Exponential::decay_to(0.1f64, 0.01, 100).unwrap();
    eq(d.lr(50), 0.01);
    eq(d.lr(100), 0.001);
}

#[test]
fn polynomial_linear_constant_factor_inverse_time_piecewise() {
    // PolynomialLR(40, power 2): base · (1 − t/40)².
    let p = PolynomialConfig::new(0.1f64, 40, 2.0).build().unwrap();
    eq(p.lr(10), 0.1 * 0.75 * 0.75);
    eq(p.lr(50), 0.0);
    // LinearLR(0.5 → 1 over 10): base · (0.5 + 0.5 · t/10).
    let l = LinearConfig::new(0.1f64, 0.5, 1.0, 10).build().unwrap();
    eq(l.lr(0), 0.05);
    eq(l.lr(5), 0.1 * 0.75);
    eq(l.lr(20), 0.1);
    // ConstantLR(0.5, 4): base · 0.5 for t < 4.
    let f = ConstantFactorConfig::new(0.1f64, 0.5, 4).build().unwrap();
    eq(f.lr(3), 0.05);
    eq(f.lr(4), 0.1);
    // InverseTimeDecay(5, 0.5): base / (1 + 0.5 · t/5).
    let i = InverseTimeConfig::new(0.1f64, 5, 0.5).build().unwrap();
    eq(i.lr(10), 0.1 / 2.0);
    eq(i.lr(3), 0.1 / (1.0 + 0.5 * 3.0 / 5.0));
    // PiecewiseConstantDecay([10, 25], [0.1, 0.01, 0.001]): values[k] while t ≤ boundary k.
    let w = PiecewiseConstantConfig::new(&[10, 25], &[0.1f64, 0.01, 0.001])
        .unwrap()
        .build()
        .unwrap();
    eq(w.lr(10), 0.1);
    eq(w.lr(11), 0.01);
    eq(w.lr(25), 0.01);
    eq(w.lr(26), 0.001);
}

#[test]
fn cosine_and_warm_restarts() {
    // CosineAnnealingLR(T_max 100, eta_min 0.01): η_min + (base − η_min)(1 + cos(πt/100))/2.
    let c = CosineAnnealingConfig::new(0.1f64, 100, 0.01)
        .build()
        .unwrap();
    eq(c.lr(25), 0.01 + 0.09 * (1.0 + (PI * 0.25).cos()) / 2.0);
    eq(c.lr(100), 0.01);
    // SGDR T_0 10, T_mult 2: cycles [0, 10), [10, 30), [30, 70).
    let s = WarmRestartsConfig::new(0.1f64, 10, 2, 0.0).build().unwrap();
    eq(s.lr(10), 0.1);
    eq(s.lr(15), 0.05 * (1.0 + (PI * 5.0 / 20.0).cos()));
    eq(s.lr(30), 0.1);
    // Keras t_mul 1.5, m_mul 0.5: cycles [0, 10), [10, 25), [25, 47.5); peak 0.1 · 0.5^i.
    let mut k = WarmRestartsConfig::new(0.1f64, 10, 1, 0.0);
    k.t_mult = 1.5;
    k.m_mul = 0.5;
    let k = k.build().unwrap();
    eq(k.lr(20), 0.05 * 0.5 * (1.0 + (PI * 10.0 / 15.0).cos()));
    eq(k.lr(25), 0.1 * 0.25);
}

#[test]
fn cyclic_modes_and_momentum() {
    // Triangular between 0.01 and 0.1, 10 steps up and 10 down.
    let t = Cyclic::triangular(0.01f64, 0.1, 10).unwrap();
    eq(t.lr(5), 0.01 + 0.09 * 0.5);
    eq(t.lr(10), 0.1);
    eq(t.lr(15), 0.01 + 0.09 * 0.5);
    eq(t.lr(20), 0.01);
    // Momentum inversely: 0.9 at the trough, 0.8 at the peak.
    eq(t.momentum(0).unwrap(), 0.9);
    eq(t.momentum(10).unwrap(), 0.8);
    eq(t.momentum(5).unwrap(), 0.85);
    // Triangular2: the second cycle's amplitude is halved.
    let mut c = CyclicConfig::new(0.01f64, 0.1, 10);
    c.mode = CyclicMode::Triangular2;
    let c = c.build().unwrap();
    eq(c.lr(30), 0.01 + 0.09 * 0.5);
    // exp_range γ 0.99: amplitude · γ^t.
    let mut e = CyclicConfig::new(0.01f64, 0.1, 10);
    e.mode = CyclicMode::ExpRange;
    e.gamma = 0.99;
    let e = e.build().unwrap();
    eq(e.lr(10), 0.01 + 0.09 * 0.99f64.powi(10));
}

#[test]
fn one_cycle_presets() {
    // PyTorch OneCycleLR(0.1, 100): initial 0.1/25, phase ends at steps 0.3·100 − 1 = 29 and
    // 99, final 0.004/1e4; momentum 0.95 → 0.85 → 0.95.
    let p = OneCycle::pytorch(0.1f64, 100).unwrap();
    eq(p.lr(0), 0.004);
    eq(p.lr(10), cos_anneal(0.004, 0.1, 10.0 / 29.0));
    eq(p.lr(29), 0.1);
    eq(p.lr(64), cos_anneal(0.1, 4e-7, 35.0 / 70.0));
    eq(p.lr(99), 4e-7);
    eq(p.momentum(0).unwrap(), 0.95);
    eq(p.momentum(29).unwrap(), 0.85);
    eq(p.momentum(64).unwrap(), cos_anneal(0.85, 0.95, 0.5));
    // fastai fit_one_cycle(0.1) over 100 batches: position t/100, warm phase to 0.25, final
    // 0.1/1e5.
    let f = OneCycle::fastai(0.1f64, 100).unwrap();
    eq(f.lr(0), 0.004);
    eq(f.lr(10), cos_anneal(0.004, 0.1, 0.4));
    eq(f.lr(25), 0.1);
    eq(f.lr(40), cos_anneal(0.1, 1e-6, 0.2));
    eq(f.momentum(40).unwrap(), cos_anneal(0.85, 0.95, 0.2));
}

#[test]
fn compositions_and_plateau() {
    let cos: Single<f64> = CosineAnnealingConfig::new(0.1, 100, 0.0)
        .build()
        .unwrap()
        .into();
    // Warmup 10 steps from 0 to the schedule's start, then the schedule shifted by 10.
    let w = Warmup::new(10, 0.0, cos.clone()).unwrap();
    eq(w.lr(5), 0.05);
    eq(w.lr(10), 0.1);
    eq(w.lr(35), cos.lr(25));
    // SequentialLR([constant 0.2, cosine], milestones [5]): the cosine restarts at its step 0.
    let k: Single<f64> = ConstantConfig::new(0.2).build().unwrap().into();
    let s = Sequential::<_, 4>::from_slices(&[k, cos.clone()], &[5]).unwrap();
    eq(s.lr(4), 0.2);
    eq(s.lr(5), 0.1);
    eq(s.lr(55), 0.05);
    // ReduceLROnPlateau defaults (patience 10, factor 0.1): a flat metric reduces the rate
    // after the 11th non-improving step, i.e. at the 12th call.
    let mut p = PlateauConfig::new(0.1f64).build().unwrap();
    for _ in 0..11 {
        p.step(1.0);
    }
    eq(p.lr(), 0.1);
    p.step(1.0);
    eq(p.lr(), 0.01);
}

#[test]
fn wsd() {
    // Warmup 10, decay 30 of 120 (stable 80), floor ratio r = 0.1: f·(1 − r) + r.
    let mut c = WsdConfig::new(0.1f64, 10, 30, 120);
    c.min_lr_ratio = 0.1;
    let s = c.build().unwrap();
    eq(s.lr(5), 0.1 * (0.5 * 0.9 + 0.1));
    eq(s.lr(50), 0.1);
    eq(
        s.lr(105),
        0.1 * (0.5 * (1.0 + (PI * 0.5).cos()) * 0.9 + 0.1),
    );
    eq(s.lr(500), 0.01);
    // 1-sqrt decay over 40 from step 90: at 100, 1 − √0.25 = 0.5.
    c.num_decay_steps = 40;
    c.num_training_steps = Some(130);
    c.decay_type = WsdDecay::OneMinusSqrt;
    eq(c.build().unwrap().lr(100), 0.1 * (0.5 * 0.9 + 0.1));
    // exp: r^p, at p = 0.5 √0.1.
    c.decay_type = WsdDecay::Exp;
    eq(c.build().unwrap().lr(110), 0.1 * 0.1f64.sqrt());
    // cosine warmup: (1 − cos(π·0.5))/2 = 0.5 at step 5.
    c.warmup_type = WsdWarmup::Cosine;
    eq(c.build().unwrap().lr(5), 0.1 * (0.5 * 0.9 + 0.1));
}

#[test]
fn hf_warmup_schedules() {
    // Cosine with warmup 10 of 110: p = (t − 10)/100.
    let mut c = CosineWithWarmupConfig::new(0.1f64, 10, 110);
    eq(c.build().unwrap().lr(5), 0.05);
    eq(
        c.build().unwrap().lr(60),
        0.1 * 0.5 * (1.0 + (PI * 0.5).cos()),
    );
    c.min_lr_rate = 0.1;
    eq(c.build().unwrap().lr(60), 0.1 * (0.5 * 0.9 + 0.1));
    c.min_lr_rate = 0.0;
    c.num_cycles = 1.5;
    eq(
        c.build().unwrap().lr(35),
        0.1 * 0.5 * (1.0 + (2.0 * PI * 1.5 * 0.25).cos()),
    );
    // Hard restarts, 4 cycles over 100: cos of ((4p) mod 1).
    let h = CosineHardRestartsConfig {
        base_lr: 0.1f64,
        num_warmup_steps: 0,
        num_training_steps: 100,
        num_cycles: 4,
    }
    .build()
    .unwrap();
    eq(h.lr(25), 0.1);
    eq(h.lr(10), 0.1 * 0.5 * (1.0 + (PI * 0.4).cos()));
    eq(h.lr(100), 0.0);
    // Inverse sqrt, warmup 10 (τ = 10): 0.1 / √((t − 10 + 10)/10).
    let i = InverseSqrtConfig {
        base_lr: 0.1f64,
        num_warmup_steps: 10,
        timescale: None,
    }
    .build()
    .unwrap();
    eq(i.lr(5), 0.05);
    eq(i.lr(10), 0.1);
    eq(i.lr(30), 0.1 / 3.0f64.sqrt());
    // Polynomial with warmup 10 of 110 to 0.001, power 2.
    let p = PolynomialWithWarmupConfig {
        base_lr: 0.1f64,
        num_warmup_steps: 10,
        num_training_steps: 110,
        lr_end: 0.001,
        power: 2.0,
    }
    .build()
    .unwrap();
    eq(p.lr(60), 0.099 * 0.25 + 0.001);
    eq(p.lr(200), 0.001);
}

#[test]
fn timm_schedulers() {
    // Cosine: 5 warmup steps from 0 (prefix), cycles 20, 40, 80, peak halved each, 3 cycles.
    let c = TimmCosineConfig {
        base_lr: 0.1f64,
        t_initial: 20,
        lr_min: 0.001,
        cycle_mul: 2.0,
        cycle_decay: 0.5,
        cycle_limit: 3,
        warmup_t: 5,
        warmup_lr_init: 0.0,
        warmup_prefix: true,
        k_decay: 1.0,
    }
    .build()
    .unwrap();
    eq(c.lr(2), 2.0 * 0.1 / 5.0);
    eq(c.lr(5), 0.1);
    eq(c.lr(25), 0.05);
    eq(c.lr(45), 0.001 + 0.049 * 0.5);
    eq(c.lr(65), 0.025);
    eq(c.lr(145), 0.001);
    // Tanh over 10 steps, lb −7, ub 3: at tr = 0.5 the argument is −2.
    let t = TimmTanhConfig {
        base_lr: 0.1f64,
        t_initial: 10,
        lr_min: 0.0,
        cycle_mul: 1.0,
        cycle_decay: 1.0,
        cycle_limit: 1,
        warmup_t: 0,
        warmup_lr_init: 0.0,
        warmup_prefix: false,
        lb: -7.0,
        ub: 3.0,
    }
    .build()
    .unwrap();
    eq(t.lr(5), 0.05 * (1.0 - (-2.0f64).tanh()));
    // Poly, power 0.5 over 10: 0.1 · √(1 − 0.4).
    let p = TimmPolyConfig {
        base_lr: 0.1f64,
        t_initial: 10,
        lr_min: 0.0,
        cycle_mul: 1.0,
        cycle_decay: 1.0,
        cycle_limit: 1,
        warmup_t: 0,
        warmup_lr_init: 0.0,
        warmup_prefix: false,
        power: 0.5,
        k_decay: 1.0,
    }
    .build()
    .unwrap();
    eq(p.lr(4), 0.1 * 0.6f64.sqrt());
    eq(p.lr(10), 0.0);
}

#[test]
fn schedule_free_weights() {
    use lrate_core::schedule_free::ScheduleFreeConfig;
    // No warmup, r = 0, p = 2: every weight is lr², so ckp1(k) = 1/(k+1).
    let s = ScheduleFreeConfig::new(0.5f64, 0).build().unwrap();
    eq(s.ckp1(0), 1.0);
    eq(s.ckp1(9), 0.1);
    eq(s.lr(3), 0.5);
    // Warmup 4: weights (i/4)² for i = 1..4, then 1: S(4) = 30/16, S(5) = 46/16.
    let w = ScheduleFreeConfig::new(0.5f64, 4).build().unwrap();
    eq(w.lr(0), 0.5 / 4.0);
    eq(w.ckp1(3), 16.0 / 30.0);
    eq(w.ckp1(4), 16.0 / 46.0);
    eq(w.ckp1(1), 4.0 / 5.0);
}
