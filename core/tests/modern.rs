//! The modern schedules (WSD, HF transformers' warmup schedules, timm's cycling
//! schedulers): random valid configurations never panic, never give a
//! non-finite value and stay within their bounds for steps up to `u32::MAX`, in
//! `f32` and `f64`; bad configurations are rejected naming the field; the length
//! and peak adjustments; the config-file names (HF and timm aliases).

use lrate_core::*;
use proptest::prelude::*;

fn step() -> impl Strategy<Value = u32> {
    prop_oneof![0..5000u32, any::<u32>(), (u32::MAX - 5000)..=u32::MAX]
}

fn lr_value() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), 1e-8..10.0f64]
}

fn count() -> impl Strategy<Value = u32> {
    prop_oneof![0..100u32, 0..100_000u32, any::<u32>()]
}

fn within(v: f64, lo: f64, hi: f64) -> Result<(), TestCaseError> {
    prop_assert!(v.is_finite(), "not finite: {v}");
    let slack = 1e-5 * lo.abs().max(hi.abs()) + 1e-30;
    prop_assert!(
        v >= lo - slack && v <= hi + slack,
        "{v} outside [{lo}, {hi}]"
    );
    Ok(())
}

/// Builds `$cfg` in f32 and f64 (or skips the case when it is rejected, which
/// must then happen in both) and checks `lr(t)` within `[lo, hi]`.
macro_rules! check {
    ($cfg:expr, $t:expr, $lo:expr, $hi:expr) => {{
        let c64 = $cfg(|x: f64| x);
        let c32 = $cfg(|x: f64| x as f32);
        match (c32.build(), c64.build()) {
            (Ok(a), Ok(b)) => {
                within(f64::from(a.lr($t)), $lo, $hi)?;
                within(b.lr($t), $lo, $hi)?;
            }
            (Err(e32), Err(e64)) => prop_assert_eq!(e32.field, e64.field),
            (a, b) => prop_assert!(false, "f32 {:?} vs f64 {:?}", a.is_ok(), b.is_ok()),
        }
    }};
}

fn warmup_shape() -> impl Strategy<Value = WsdWarmup> {
    prop_oneof![
        Just(WsdWarmup::Linear),
        Just(WsdWarmup::Cosine),
        Just(WsdWarmup::OneMinusSqrt)
    ]
}

fn decay_shape() -> impl Strategy<Value = WsdDecay> {
    prop_oneof![
        Just(WsdDecay::Linear),
        Just(WsdDecay::Cosine),
        Just(WsdDecay::OneMinusSqrt),
        Just(WsdDecay::Exp)
    ]
}

proptest! {
    #[test]
    fn wsd(base in lr_value(), w in count(), d in count(), s in prop::option::of(count()),
           total in prop::option::of(count()), wt in warmup_shape(), dt in decay_shape(),
           r in 0.0..=1.0f64, t in step()) {
        check!(|f: fn(f64) -> _| WsdConfig {
            base_lr: f(base), num_warmup_steps: w, num_decay_steps: d, num_training_steps: total,
            num_stable_steps: s, warmup_type: wt, decay_type: dt, min_lr_ratio: f(r),
            num_cycles: f(0.5),
        }, t, 0.0, base);
    }

    #[test]
    fn wsd_is_flat_then_decays_monotonically(base in 1e-6..10.0f64, w in 0..1000u32,
            s in 0..1000u32, d in 1..1000u32, dt in decay_shape(), r in 0.01..=1.0f64) {
        let c = WsdConfig { num_stable_steps: Some(s), num_training_steps: None, decay_type: dt,
                            min_lr_ratio: r, ..WsdConfig::new(base, w, d, 0) };
        let sched = c.build().unwrap();
        prop_assert_eq!(sched.decay_start(), w + s);
        for t in w..w + s {
            prop_assert_eq!(sched.lr(t), base);
        }
        let mut prev = base * (1.0 + 1e-12);
        for t in w + s..w + s + d + 3 {
            let v = sched.lr(t);
            prop_assert!(v <= prev, "lr({t}) = {v} above {prev}");
            prev = v;
        }
        prop_assert!((sched.lr(w + s + d) - base * r).abs() <= 1e-12 * base);
    }

    #[test]
    fn hf_cosine(base in lr_value(), w in count(), total in count(), cycles in 0.01..5.0f64,
                 rate in 0.0..=1.0f64, t in step()) {
        check!(|f: fn(f64) -> _| CosineWithWarmupConfig {
            base_lr: f(base), num_warmup_steps: w, num_training_steps: total,
            num_cycles: f(cycles), min_lr_rate: f(rate), min_lr: None,
        }, t, 0.0, base);
    }

    #[test]
    fn hf_hard_restarts(base in lr_value(), w in count(), total in count(), n in count(), t in step()) {
        check!(|f: fn(f64) -> _| CosineHardRestartsConfig {
            base_lr: f(base), num_warmup_steps: w, num_training_steps: total, num_cycles: n,
        }, t, 0.0, base);
    }

    #[test]
    fn hf_inverse_sqrt(base in lr_value(), w in count(), ts in prop::option::of(count()), t in step()) {
        check!(|f: fn(f64) -> _| InverseSqrtConfig {
            base_lr: f(base), num_warmup_steps: w, timescale: ts,
        }, t, 0.0, base);
    }

    #[test]
    fn hf_polynomial(base in lr_value(), end in lr_value(), w in count(), total in count(),
                     power in 0.0..5.0f64, t in step()) {
        check!(|f: fn(f64) -> _| PolynomialWithWarmupConfig {
            base_lr: f(base), num_warmup_steps: w, num_training_steps: total,
            lr_end: f(end), power: f(power),
        }, t, 0.0, base.max(end));
    }

    #[test]
    fn timm(base in lr_value(), t0 in 1..u32::MAX, lr_min in lr_value(),
            mul in prop_oneof![Just(1.0), 1.0..4.0f64, Just(1e12)], decay in 0.0..=1.0f64,
            limit in count(), wt in count(), init in lr_value(), prefix: bool,
            k in 0.1..3.0f64, power in 0.0..3.0f64, t in step()) {
        let hi = base.max(lr_min).max(init);
        check!(|f: fn(f64) -> _| TimmCosineConfig {
            base_lr: f(base), t_initial: t0, lr_min: f(lr_min), cycle_mul: f(mul),
            cycle_decay: f(decay), cycle_limit: limit, warmup_t: wt, warmup_lr_init: f(init),
            warmup_prefix: prefix, k_decay: f(k),
        }, t, 0.0, hi);
        check!(|f: fn(f64) -> _| TimmTanhConfig {
            base_lr: f(base), t_initial: t0, lr_min: f(lr_min), cycle_mul: f(mul),
            cycle_decay: f(decay), cycle_limit: limit, warmup_t: wt, warmup_lr_init: f(init),
            warmup_prefix: prefix, lb: f(-7.0), ub: f(3.0),
        }, t, 0.0, hi);
        check!(|f: fn(f64) -> _| TimmPolyConfig {
            base_lr: f(base), t_initial: t0, lr_min: f(lr_min), cycle_mul: f(mul),
            cycle_decay: f(decay), cycle_limit: limit, warmup_t: wt, warmup_lr_init: f(init),
            warmup_prefix: prefix, power: f(power), k_decay: f(k),
        }, t, 0.0, hi);
    }

    #[test]
    fn timm_cycles_restart_where_the_previous_ends(t0 in 1..2000u32, mul in 1.0..3.0f64) {
        let c = TimmCosineConfig { base_lr: 1.0, t_initial: t0, lr_min: 0.0, cycle_mul: mul,
            cycle_decay: 1.0, cycle_limit: 4, warmup_t: 0, warmup_lr_init: 0.0,
            warmup_prefix: false, k_decay: 1.0 }.build().unwrap();
        // A restart (lr back at the peak) happens exactly at a cycle start.
        let (mut start, mut len) = (0.0f64, f64::from(t0));
        for _ in 0..3 {
            let s = start.ceil() as u32;
            if f64::from(s) == start {
                prop_assert!((c.lr(s) - 1.0).abs() < 1e-9, "lr({s}) = {}", c.lr(s));
            }
            start += len;
            len *= mul;
        }
    }
}

fn field<T>(r: Result<T, ConfigError>) -> Option<&'static str> {
    r.err().map(|e| e.field)
}

#[test]
fn bad_configs_name_the_field() {
    let wsd = WsdConfig::new(0.1f32, 10, 30, 100);
    assert_eq!(
        field(
            WsdConfig {
                num_decay_steps: 0,
                ..wsd
            }
            .build()
        ),
        Some("num_decay_steps")
    );
    assert_eq!(
        field(
            WsdConfig {
                min_lr_ratio: 1.5,
                ..wsd
            }
            .build()
        ),
        Some("min_lr_ratio")
    );
    assert_eq!(
        field(
            WsdConfig {
                base_lr: f32::NAN,
                ..wsd
            }
            .build()
        ),
        Some("base_lr")
    );
    assert_eq!(
        field(
            WsdConfig {
                num_training_steps: Some(30),
                ..wsd
            }
            .build()
        ),
        Some("num_training_steps")
    );
    assert_eq!(
        field(
            WsdConfig {
                num_training_steps: None,
                ..wsd
            }
            .build()
        ),
        Some("num_training_steps")
    );
    assert_eq!(
        field(
            WsdConfig {
                num_stable_steps: Some(5),
                ..wsd
            }
            .build()
        ),
        Some("num_stable_steps"),
        "a stable length that disagrees with the total"
    );
    assert!(WsdConfig {
        num_stable_steps: Some(60),
        ..wsd
    }
    .build()
    .is_ok());
    assert_eq!(
        field(
            WsdConfig {
                decay_type: WsdDecay::Exp,
                ..wsd
            }
            .build()
        ),
        Some("min_lr_ratio"),
        "exp needs a floor above 0"
    );
    let cos = CosineWithWarmupConfig::new(0.1f32, 10, 100);
    assert_eq!(
        field(
            CosineWithWarmupConfig {
                num_cycles: 0.0,
                ..cos
            }
            .build()
        ),
        Some("num_cycles")
    );
    assert_eq!(
        field(
            CosineWithWarmupConfig {
                min_lr: Some(0.2),
                ..cos
            }
            .build()
        ),
        Some("min_lr")
    );
    assert_eq!(
        field(
            CosineWithWarmupConfig {
                min_lr: Some(0.01),
                min_lr_rate: 0.1,
                ..cos
            }
            .build()
        ),
        Some("min_lr")
    );
    let poly = PolynomialWithWarmupConfig {
        base_lr: 0.1f32,
        num_warmup_steps: 10,
        num_training_steps: 10,
        lr_end: 1e-7,
        power: 1.0,
    };
    assert_eq!(field(poly.build()), Some("num_training_steps"));
    assert_eq!(
        field(
            PolynomialWithWarmupConfig {
                lr_end: 0.2,
                num_training_steps: 20,
                ..poly
            }
            .build()
        ),
        Some("base_lr")
    );
    let tanh = TimmTanhConfig {
        base_lr: 0.1f32,
        t_initial: 10,
        lr_min: 0.0,
        cycle_mul: 1.0,
        cycle_decay: 1.0,
        cycle_limit: 1,
        warmup_t: 0,
        warmup_lr_init: 0.0,
        warmup_prefix: false,
        lb: 3.0,
        ub: -7.0,
    };
    assert_eq!(field(tanh.build()), Some("ub"));
    assert_eq!(
        field(
            TimmTanhConfig {
                t_initial: 0,
                ..tanh
            }
            .build()
        ),
        Some("t_initial")
    );
    assert_eq!(
        field(
            TimmTanhConfig {
                cycle_mul: 0.5,
                lb: -7.0,
                ub: 3.0,
                ..tanh
            }
            .build()
        ),
        Some("cycle_mul")
    );
}

#[test]
fn lengths_and_peaks() {
    let wsd: AnySchedule = WsdConfig::new(0.1, 10, 30, 100).build().unwrap().into();
    assert_eq!(wsd.natural_length(), Some(100));
    let long = wsd.clone().with_length(1000).unwrap();
    assert_eq!(long.natural_length(), Some(1000));
    assert_eq!(long.lr(500), 0.1, "the stable phase takes the extra length");
    assert!(long.lr(999) < 0.001);
    assert!(
        wsd.clone().with_length(39).is_err(),
        "shorter than warmup + decay"
    );
    let high = wsd.with_peak(0.4, None).unwrap();
    assert_eq!(high.lr(50), 0.4);
    let cos: AnySchedule = CosineWithWarmupConfig::new(0.1, 10, 100)
        .build()
        .unwrap()
        .into();
    assert_eq!(cos.natural_length(), Some(100));
    assert_eq!(cos.with_length(400).unwrap().natural_length(), Some(400));
    let isq: AnySchedule = InverseSqrtConfig {
        base_lr: 0.1,
        num_warmup_steps: 10,
        timescale: None,
    }
    .build()
    .unwrap()
    .into();
    assert_eq!(isq.natural_length(), None);
    assert_eq!(isq.with_peak(0.2, None).unwrap().lr(10), 0.2);
}

#[test]
fn hard_restarts_fall_and_restart() {
    let s = CosineHardRestartsConfig {
        base_lr: 1.0f64,
        num_warmup_steps: 0,
        num_training_steps: 100,
        num_cycles: 4,
    }
    .build()
    .unwrap();
    for start in [0, 25, 50, 75] {
        assert_eq!(s.lr(start), 1.0);
        assert!(s.lr(start + 24) < 0.01);
    }
    assert_eq!(s.lr(100), 0.0);
    assert_eq!(s.lr(u32::MAX), 0.0);
}
