//! `AnySchedule`'s length and peak adjustments, checked against a copy of the
//! rules the `lrate` CLI applied before they moved here, and
//! `Exponential::decay_to` against the CLI's f32 expression.

use lrate_core::*;

type Any = AnySchedule<f32, 4>;

fn every_kind() -> Vec<Any> {
    let cos: Single = CosineAnnealingConfig::new(0.1, 45, 0.01)
        .build()
        .unwrap()
        .into();
    let mut clr = CyclicConfig::new(0.02, 0.1, 10);
    clr.mode = CyclicMode::Triangular2;
    vec![
        ConstantConfig::new(0.1).build().unwrap().into(),
        StepConfig::new(0.1, 30).build().unwrap().into(),
        MultiStepConfig::new(0.1, &[30, 80], 0.5)
            .unwrap()
            .build()
            .unwrap()
            .into(),
        ExponentialConfig::new(0.1, 0.95).build().unwrap().into(),
        PolynomialConfig::new(0.1, 40, 2.0).build().unwrap().into(),
        LinearConfig::new(0.1, 0.01, 1.0, 5).build().unwrap().into(),
        ConstantFactorConfig::new(0.1, 0.5, 4)
            .build()
            .unwrap()
            .into(),
        InverseTimeConfig::new(0.1, 5, 0.5).build().unwrap().into(),
        cos.clone().into(),
        WarmRestartsConfig::new(0.1, 8, 2, 0.001)
            .build()
            .unwrap()
            .into(),
        clr.build().unwrap().into(),
        OneCycle::fastai(0.01, 50).unwrap().into(),
        PiecewiseConstantConfig::new(&[10, 25], &[0.1, 0.01, 0.001])
            .unwrap()
            .build()
            .unwrap()
            .into(),
        Warmup::new(10, 0.0, cos.clone()).unwrap().into(),
        Sequential::from_slices(&[cos.clone(), cos], &[5])
            .unwrap()
            .into(),
    ]
}

/// The CLI's `with_length`, as it was.
fn host_with_length(any: Any, total: u32) -> Result<Any, ConfigError> {
    Ok(match any {
        AnySchedule::OneCycle(s) => OneCycleConfig {
            total_steps: total,
            ..*s.config()
        }
        .build()?
        .into(),
        AnySchedule::CosineAnnealing(s) => CosineAnnealingConfig {
            t_max: total,
            ..*s.config()
        }
        .build()?
        .into(),
        other => other,
    })
}

/// The CLI's `with_peak`, as it was (`None` where it refused).
fn host_with_peak(any: Any, max_lr: f32, min_lr: Option<f32>) -> Option<Result<Any, ConfigError>> {
    macro_rules! peak {
        ($s:expr, $cfg:ident) => {
            $cfg {
                base_lr: max_lr,
                ..*$s.config()
            }
            .build()
            .map(Into::into)
        };
    }
    Some(match any {
        AnySchedule::OneCycle(s) => {
            let mut c = *s.config();
            c.max_lr = max_lr;
            c.build().map(Into::into)
        }
        AnySchedule::Cyclic(s) => {
            let old = *s.config();
            let base_lr =
                min_lr.unwrap_or(max_lr * old.base_lr / old.max_lr.max(f32::MIN_POSITIVE));
            CyclicConfig {
                base_lr,
                max_lr,
                ..old
            }
            .build()
            .map(Into::into)
        }
        AnySchedule::Constant(_) => ConstantConfig::new(max_lr).build().map(Into::into),
        AnySchedule::Step(s) => peak!(s, StepConfig),
        AnySchedule::MultiStep(s) => {
            let mut c = s.config().clone();
            c.base_lr = max_lr;
            c.build().map(Into::into)
        }
        AnySchedule::Exponential(s) => peak!(s, ExponentialConfig),
        AnySchedule::CosineAnnealing(s) => peak!(s, CosineAnnealingConfig),
        AnySchedule::WarmRestarts(s) => peak!(s, WarmRestartsConfig),
        _ => return None,
    })
}

#[test]
fn natural_length_and_with_length_match_the_cli() {
    for s in every_kind() {
        let want = match &s {
            AnySchedule::OneCycle(o) => Some(o.config().total_steps),
            AnySchedule::CosineAnnealing(c) => Some(c.config().t_max),
            _ => None,
        };
        assert_eq!(s.natural_length(), want, "{}", s.name());
        for total in [1, 7, 200, 100_000] {
            assert_eq!(
                s.clone().with_length(total),
                host_with_length(s.clone(), total),
                "{} {total}",
                s.name()
            );
        }
        let stretched = s.clone().with_length(300).unwrap();
        if want.is_some() {
            assert_eq!(stretched.natural_length(), Some(300));
        }
        if let Ok(single) = Single::try_from_any(&s) {
            assert_eq!(single.natural_length(), want);
            assert_eq!(
                Any::from(single.with_length(300).unwrap()),
                stretched,
                "{}",
                s.name()
            );
        }
    }
    // A length the schedule cannot take is an error, not a panic.
    let one: Any = OneCycle::pytorch(0.1, 100).unwrap().into();
    assert_eq!(one.with_length(1).unwrap_err().field, "total_steps");
    let cos: Any = CosineAnnealingConfig::new(0.1, 45, 0.0)
        .build()
        .unwrap()
        .into();
    assert_eq!(cos.with_length(0).unwrap_err().field, "t_max");
}

#[test]
fn with_peak_matches_the_cli_and_extends_it() {
    for s in every_kind() {
        for (max_lr, min_lr) in [(0.5, None), (0.5, Some(0.05)), (0.003, None), (-1.0, None)] {
            let got = s.clone().with_peak(max_lr, min_lr);
            match host_with_peak(s.clone(), max_lr, min_lr) {
                Some(want) => assert_eq!(got, want, "{} {max_lr}", s.name()),
                None => match s {
                    AnySchedule::Polynomial(_)
                    | AnySchedule::Linear(_)
                    | AnySchedule::ConstantFactor(_)
                    | AnySchedule::InverseTime(_) => {
                        // Extended: base_lr is the peak.
                        if max_lr > 0.0 {
                            let got = got.unwrap();
                            assert!((got.lr(0) - s.lr(0) * max_lr / 0.1).abs() < 1e-6);
                        } else {
                            assert_eq!(got.unwrap_err().field, "base_lr");
                        }
                    }
                    _ => {
                        let e = got.unwrap_err();
                        assert_eq!(e.field, "max_lr");
                        assert!(e.to_string().contains("piecewise_constant"), "{e}");
                    }
                },
            }
        }
    }
    // The peak really moves.
    let one: Any = OneCycle::pytorch(0.1, 100).unwrap().into();
    let one = one.with_peak(0.8, None).unwrap();
    let peak = (0..100).map(|t| one.lr(t)).fold(0.0, f32::max);
    assert!((peak - 0.8).abs() < 1e-5, "{peak}");
    let clr: Any = Cyclic::triangular(0.025, 0.1, 10).unwrap().into();
    let clr = clr.with_peak(0.8, None).unwrap();
    assert!((clr.lr(0) - 0.2).abs() < 1e-6 && (clr.lr(10) - 0.8).abs() < 1e-6);
}

#[test]
fn decay_to_is_the_clis_exponential_bit_for_bit() {
    for total in (1..=20_000u32).chain([65_536, 1_000_000, u32::MAX]) {
        let e = Exponential::decay_to(0.4f32, 0.01, total).unwrap();
        let want = 0.01f32.powf(1.0 / total as f32);
        assert_eq!(e.config().gamma.to_bits(), want.to_bits(), "{total}");
        assert_eq!(e.config().base_lr, 0.4);
        assert_eq!(e.config().decay_steps, 1);
    }
    let e = Exponential::decay_to(0.4f64, 0.01, 100).unwrap();
    assert!((e.lr(100) - 0.004).abs() < 1e-15);
    assert!((e.lr(50) - 0.04).abs() < 1e-15);
    for (ratio, steps, field) in [
        (0.0, 10, "ratio"),
        (-0.5, 10, "ratio"),
        (f64::NAN, 10, "ratio"),
        (f64::INFINITY, 10, "ratio"),
        (0.01, 0, "steps"),
    ] {
        let err = ExponentialConfig::decay_to(0.1f64, ratio, steps).unwrap_err();
        assert_eq!(err.field, field, "{ratio} {steps}");
    }
    assert_eq!(
        Exponential::decay_to(-0.1f64, 0.5, 3).unwrap_err().field,
        "base_lr"
    );
}

trait TryFromAny: Sized {
    fn try_from_any(a: &Any) -> Result<Self, ()>;
}

impl TryFromAny for Single {
    /// The single schedule inside `a`, through the serde-free `From` impls:
    /// round-trip each kind by matching on it.
    fn try_from_any(a: &Any) -> Result<Self, ()> {
        Ok(match a.clone() {
            AnySchedule::Constant(s) => s.into(),
            AnySchedule::Step(s) => s.into(),
            AnySchedule::MultiStep(s) => s.into(),
            AnySchedule::Exponential(s) => s.into(),
            AnySchedule::Polynomial(s) => s.into(),
            AnySchedule::Linear(s) => s.into(),
            AnySchedule::ConstantFactor(s) => s.into(),
            AnySchedule::InverseTime(s) => s.into(),
            AnySchedule::CosineAnnealing(s) => s.into(),
            AnySchedule::WarmRestarts(s) => s.into(),
            AnySchedule::Cyclic(s) => s.into(),
            AnySchedule::OneCycle(s) => s.into(),
            AnySchedule::PiecewiseConstant(s) => s.into(),
            AnySchedule::Wsd(s) => s.into(),
            AnySchedule::CosineWithWarmup(s) => s.into(),
            AnySchedule::CosineHardRestarts(s) => s.into(),
            AnySchedule::InverseSqrt(s) => s.into(),
            AnySchedule::PolynomialWithWarmup(s) => s.into(),
            AnySchedule::TimmCosine(s) => s.into(),
            AnySchedule::TimmTanh(s) => s.into(),
            AnySchedule::TimmPoly(s) => s.into(),
            AnySchedule::Warmup(_) | AnySchedule::Sequential(_) => return Err(()),
        })
    }
}
