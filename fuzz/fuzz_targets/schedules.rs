//! Every lrate-core schedule from random parameters (any float, NaN, ±∞ and the extremes
//! included; any `u32` step count): `AnySchedule` (each kind, `warmup` and `sequential`)
//! for `f32` and `f64` built through serde from the fuzzer's bytes, so that each
//! constructor's validation runs; their `with_length` and `with_peak`; the convenience
//! constructors (`OneCycle::fastai`, `Exponential::decay_to`, `Cyclic::triangular`,
//! `Bounds`, …); `ScheduleFree`, `ReduceOnPlateau`; and lrate's named presets.
//!
//! Promise (lrate-core's `Schedule`): no input panics, and a schedule that was built gives
//! a finite lr ≥ 0 (and a finite momentum) at every step up to `u32::MAX`.
#![no_main]

use std::fmt::Debug;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use lrate_core::{
    AnySchedule, Bounds, ConstantFactorConfig, Cyclic, Exponential, MultiStepConfig, OneCycle,
    OneCycleConfig, PiecewiseConstantConfig, PlateauConfig, Real, ReduceOnPlateau, Schedule,
    ScheduleFree, ScheduleFreeConfig, Single,
};
use lrate_fuzz::{check_any, check_schedule, f32_any, fuzz_value, real, steps, u32_any};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn any<F: Real + Serialize + DeserializeOwned>(u: &mut Unstructured) {
    let Ok(s) = fuzz_value::<AnySchedule<F, 4>>(u) else {
        return;
    };
    check_any(&s, u);
    // lrate's adjustments: a run's length, then its peak.
    if let Ok(l) = s.clone().with_length(u32_any(u)) {
        check_any(&l, u);
    }
    let (max_lr, min_lr) = (real::<F>(u), u.arbitrary::<bool>().unwrap_or(false));
    let min_lr = min_lr.then(|| real::<F>(u));
    if let Ok(p) = s.with_peak(max_lr, min_lr) {
        check_any(&p, u);
    }
}

fn single<F: Real + Serialize + DeserializeOwned>(u: &mut Unstructured) {
    if let Ok(s) = fuzz_value::<Single<F>>(u) {
        let around: Vec<u32> = s.natural_length().into_iter().collect();
        check_schedule(&s, &steps(u, &around));
        let any: AnySchedule<F, 4> = s.into();
        check_any(&any, u);
    }
}

fn built<F: Real, S: Schedule<F> + Debug>(
    s: Result<S, lrate_core::ConfigError>,
    u: &mut Unstructured,
    around: &[u32],
) {
    if let Ok(s) = s {
        check_schedule(&s, &steps(u, around));
    }
}

fn constructors<F: Real>(u: &mut Unstructured) {
    let (a, b, t) = (real::<F>(u), real::<F>(u), u32_any(u));
    match u.int_in_range(0..=8u8).unwrap_or(0) {
        0 => built(OneCycle::fastai(a, t), u, &[t]),
        1 => built(OneCycle::pytorch(a, t), u, &[t]),
        2 => built(OneCycleConfig::fastai_flat_cos(a, t).build(), u, &[t]),
        3 => built(Exponential::decay_to(a, b, t), u, &[t]),
        4 => built(Cyclic::triangular(a, b, t), u, &[t, t.saturating_mul(2)]),
        5 => {
            let milestones: Vec<u32> = (0..u.int_in_range(0..=18u8).unwrap_or(0))
                .map(|_| u32_any(u))
                .collect();
            if let Ok(c) = MultiStepConfig::new(a, &milestones, b) {
                built(c.build(), u, &milestones);
            }
        }
        6 => {
            let boundaries: Vec<u32> = (0..u.int_in_range(0..=18u8).unwrap_or(0))
                .map(|_| u32_any(u))
                .collect();
            let values: Vec<F> = (0..u.int_in_range(0..=19u8).unwrap_or(0))
                .map(|_| real::<F>(u))
                .collect();
            if let Ok(c) = PiecewiseConstantConfig::new(&boundaries, &values) {
                built(c.build(), u, &boundaries);
            }
        }
        7 => {
            if let Ok(bounds) = Bounds::new(a, b) {
                assert!(bounds.max_lr.is_finite() && bounds.min_lr > F::ZERO);
                assert!(bounds.min_lr <= bounds.max_lr, "{bounds:?}");
                built(bounds.cyclic(t), u, &[t]);
                built(bounds.one_cycle(t), u, &[t]);
            }
        }
        _ => built(ConstantFactorConfig::new(a, b, t).build(), u, &[t]),
    }
}

fn schedule_free<F: Real + DeserializeOwned>(u: &mut Unstructured) {
    let s = if u.arbitrary::<bool>().unwrap_or(false) {
        fuzz_value::<ScheduleFree<F>>(u).ok()
    } else {
        ScheduleFreeConfig {
            lr: real::<F>(u),
            warmup_steps: u32_any(u),
            r: real::<F>(u),
            weight_lr_power: real::<F>(u),
        }
        .build()
        .ok()
    };
    let Some(s) = s else { return };
    let w = s.config().warmup_steps;
    let steps = steps(u, &[w]);
    check_schedule(&s, &steps);
    for &t in &steps {
        let c = s.ckp1(t);
        assert!(
            c.is_finite() && c >= F::ZERO && c <= F::ONE,
            "ckp1({t}) = {c:?} for {s:?}"
        );
    }
}

fn plateau<F: Real + DeserializeOwned>(u: &mut Unstructured) {
    let config = if u.arbitrary::<bool>().unwrap_or(false) {
        fuzz_value::<PlateauConfig<F>>(u).ok()
    } else {
        let mut c = PlateauConfig::new(real::<F>(u));
        c.factor = real(u);
        c.patience = u32::from(u.arbitrary::<u8>().unwrap_or(0) % 8);
        c.threshold = real(u);
        c.cooldown = u32::from(u.arbitrary::<u8>().unwrap_or(0) % 4);
        c.min_lr = real(u);
        c.eps = real(u);
        Some(c)
    };
    let Some(Ok(mut s)) = config.map(ReduceOnPlateau::new) else {
        return;
    };
    let mut last = s.lr();
    assert!(last.is_finite() && last >= F::ZERO);
    for _ in 0..u.int_in_range(0..=64u8).unwrap_or(0) {
        let lr = s.step(real::<F>(u));
        assert!(lr.is_finite() && lr >= F::ZERO, "lr {lr:?} for {s:?}");
        assert!(
            lr <= last,
            "ReduceOnPlateau raised the lr: {last:?} -> {lr:?}"
        );
        last = lr;
    }
}

fn presets(u: &mut Unstructured) {
    let names: Vec<&str> = lrate::sched::NAMES.split(", ").collect();
    let Ok(name) = u.choose(&names) else { return };
    let max_lr = f32_any(u);
    let min_lr = u.arbitrary::<bool>().unwrap_or(false).then(|| f32_any(u));
    let (total, spe) = (u32_any(u), u32_any(u));
    if let Ok(s) = lrate::sched::named(name, max_lr, min_lr, total, spe) {
        check_any(&s, u);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    match u.arbitrary::<u8>().unwrap_or(0) % 11 {
        0 => any::<f32>(&mut u),
        1 => any::<f64>(&mut u),
        2 => single::<f32>(&mut u),
        3 => single::<f64>(&mut u),
        4 => constructors::<f32>(&mut u),
        5 => constructors::<f64>(&mut u),
        6 => schedule_free::<f32>(&mut u),
        7 => schedule_free::<f64>(&mut u),
        8 => plateau::<f32>(&mut u),
        9 => plateau::<f64>(&mut u),
        _ => presets(&mut u),
    }
});
