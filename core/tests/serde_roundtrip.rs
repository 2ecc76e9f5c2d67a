//! Under the `serde` feature every schedule round-trips through JSON, PyTorch's
//! defaults fill omitted fields, and an invalid config is rejected on load.
//! `cargo test -p lrate-core --features serde --test serde_roundtrip`.
#![cfg(feature = "serde")]

use lrate_core::*;

fn roundtrip(s: &AnySchedule<f64>) {
    let json = serde_json::to_string(s).unwrap();
    let back: AnySchedule<f64> = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, s, "{json}");
    for t in [0, 1, 17, 1000, u32::MAX] {
        assert_eq!(back.lr(t), s.lr(t));
        assert_eq!(back.momentum(t), s.momentum(t));
    }
}

#[test]
fn every_schedule_round_trips_through_json() {
    let cos: Single<f64> = CosineAnnealingConfig::new(0.1, 45, 0.0)
        .build()
        .unwrap()
        .into();
    let lin: Single<f64> = LinearConfig::new(0.1, 0.01, 1.0, 5).build().unwrap().into();
    let mut exp = CyclicConfig::new(0.001, 0.1, 10);
    exp.mode = CyclicMode::ExpRange;
    exp.gamma = 0.99;
    exp.step_size_down = Some(30);
    let mut keras = WarmRestartsConfig::new(0.1, 8, 1, 0.001);
    keras.t_mult = 1.5;
    keras.m_mul = 0.8;
    let mut three = OneCycleConfig::pytorch(0.4, 120);
    three.three_phase = true;
    three.anneal = Anneal::Linear;
    let all: Vec<AnySchedule<f64>> = vec![
        ConstantConfig::new(0.1).build().unwrap().into(),
        StepConfig::new(0.1, 30).build().unwrap().into(),
        MultiStepConfig::new(0.1, &[30, 80, 80], 0.1)
            .unwrap()
            .build()
            .unwrap()
            .into(),
        ExponentialConfig::new(0.1, 0.95).build().unwrap().into(),
        PolynomialConfig::new(0.1, 40, 2.0).build().unwrap().into(),
        lin.clone().into(),
        ConstantFactorConfig::new(0.1, 0.5, 4)
            .build()
            .unwrap()
            .into(),
        InverseTimeConfig::new(0.1, 5, 0.5).build().unwrap().into(),
        cos.clone().into(),
        keras.build().unwrap().into(),
        exp.build().unwrap().into(),
        OneCycle::fastai(0.01, 50).unwrap().into(),
        three.build().unwrap().into(),
        PiecewiseConstantConfig::new(&[10, 25], &[0.1, 0.01, 0.001])
            .unwrap()
            .build()
            .unwrap()
            .into(),
        Warmup::new(10, 0.0, cos.clone()).unwrap().into(),
        Sequential::from_slices(&[lin, cos], &[5]).unwrap().into(),
    ];
    for s in &all {
        roundtrip(s);
    }
    let plateau = PlateauConfig::new(0.1f64);
    let back: PlateauConfig<f64> =
        serde_json::from_str(&serde_json::to_string(&plateau).unwrap()).unwrap();
    assert_eq!(back, plateau);
}

#[test]
fn omitted_fields_take_pytorch_defaults() {
    let s: AnySchedule =
        serde_json::from_str(r#"{"step": {"base_lr": 0.1, "step_size": 30}}"#).unwrap();
    assert_eq!(s, StepConfig::new(0.1, 30).build().unwrap().into());
    let c: AnySchedule = serde_json::from_str(
        r#"{"cyclic": {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 20}}"#,
    )
    .unwrap();
    assert_eq!(c.momentum(0), Some(0.9));
    assert_eq!(c.momentum(20), Some(0.8));
}

#[test]
fn invalid_config_files_are_rejected_naming_the_field() {
    let e = serde_json::from_str::<AnySchedule>(
        r#"{"cyclic": {"base_lr": 0.1, "max_lr": 0.01, "step_size_up": 20}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("`max_lr`"), "{e}");
    let e = serde_json::from_str::<AnySchedule>(
        r#"{"sequential": {"schedulers": [{"constant": {"base_lr": 0.1}}], "milestones": [3]}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("`milestones`"), "{e}");
    assert!(serde_json::from_str::<AnySchedule>(
        r#"{"step": {"base_lr": 0.1, "step_size": 3, "gama": 1}}"#
    )
    .is_err());
}
