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

#[test]
fn required_keys_alone_take_the_mirrored_librarys_defaults() {
    let parse = |json: &str| -> AnySchedule {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    };
    let one = parse(r#"{"one_cycle": {"max_lr": 0.4, "total_steps": 100}}"#);
    assert_eq!(one, OneCycle::pytorch(0.4, 100).unwrap().into());
    let clr = parse(r#"{"cyclic": {"base_lr": 0.001, "max_lr": 0.1}}"#);
    assert_eq!(
        clr,
        CyclicConfig::new(0.001, 0.1, 2000).build().unwrap().into()
    );
    let cases: [(&str, AnySchedule); 13] = [
        (
            r#"{"constant": {"base_lr": 0.1}}"#,
            ConstantConfig::new(0.1).build().unwrap().into(),
        ),
        (
            r#"{"step": {"base_lr": 0.1, "step_size": 30}}"#,
            StepConfig::new(0.1, 30).build().unwrap().into(),
        ),
        (
            r#"{"multi_step": {"base_lr": 0.1, "milestones": [30, 80]}}"#,
            MultiStepConfig::new(0.1, &[30, 80], 0.1)
                .unwrap()
                .build()
                .unwrap()
                .into(),
        ),
        (
            r#"{"exponential": {"base_lr": 0.1, "gamma": 0.9}}"#,
            ExponentialConfig::new(0.1, 0.9).build().unwrap().into(),
        ),
        (
            r#"{"polynomial": {"base_lr": 0.1}}"#,
            PolynomialConfig::new(0.1, 5, 1.0).build().unwrap().into(),
        ),
        (
            r#"{"linear": {"base_lr": 0.1}}"#,
            LinearConfig::new(0.1, 1.0 / 3.0, 1.0, 5)
                .build()
                .unwrap()
                .into(),
        ),
        (
            r#"{"constant_factor": {"base_lr": 0.1}}"#,
            ConstantFactorConfig::new(0.1, 1.0 / 3.0, 5)
                .build()
                .unwrap()
                .into(),
        ),
        (
            r#"{"inverse_time": {"base_lr": 0.1, "decay_rate": 0.5, "decay_steps": 10}}"#,
            InverseTimeConfig::new(0.1, 10, 0.5).build().unwrap().into(),
        ),
        (
            r#"{"cosine_annealing": {"base_lr": 0.1, "t_max": 50}}"#,
            CosineAnnealingConfig::new(0.1, 50, 0.0)
                .build()
                .unwrap()
                .into(),
        ),
        (
            r#"{"warm_restarts": {"base_lr": 0.1, "t_0": 10}}"#,
            WarmRestartsConfig::new(0.1, 10, 1, 0.0)
                .build()
                .unwrap()
                .into(),
        ),
        (
            r#"{"piecewise_constant": {"boundaries": [10], "values": [0.1, 0.01]}}"#,
            PiecewiseConstantConfig::new(&[10], &[0.1, 0.01])
                .unwrap()
                .build()
                .unwrap()
                .into(),
        ),
        (
            r#"{"warmup": {"warmup_steps": 5, "schedule": {"constant": {"base_lr": 0.1}}}}"#,
            Warmup::new(
                5,
                0.0,
                Single::from(ConstantConfig::new(0.1).build().unwrap()),
            )
            .unwrap()
            .into(),
        ),
        (
            r#"{"sequential": {"schedulers": [{"constant": {"base_lr": 0.1}},
                {"step": {"base_lr": 0.1, "step_size": 3}}], "milestones": [5]}}"#,
            Sequential::from_slices(
                &[
                    Single::from(ConstantConfig::new(0.1).build().unwrap()),
                    StepConfig::new(0.1, 3).build().unwrap().into(),
                ],
                &[5],
            )
            .unwrap()
            .into(),
        ),
    ];
    for (json, want) in cases {
        assert_eq!(parse(json), want, "{json}");
    }
    // Validation still runs on the defaults' behalf: 10 steps at pct_start 0.3
    // are fine, 1 step is not.
    assert!(serde_json::from_str::<AnySchedule>(
        r#"{"one_cycle": {"max_lr": 0.4, "total_steps": 1}}"#
    )
    .is_err());
    // Still required: the keys PyTorch requires.
    for json in [
        r#"{"one_cycle": {"max_lr": 0.4}}"#,
        r#"{"cyclic": {"max_lr": 0.1}}"#,
        r#"{"step": {"base_lr": 0.1}}"#,
        r#"{"cosine_annealing": {"base_lr": 0.1}}"#,
    ] {
        assert!(serde_json::from_str::<AnySchedule>(json).is_err(), "{json}");
    }
}

#[test]
fn name_is_the_serde_tag() {
    let cos: Single<f64> = CosineAnnealingConfig::new(0.1, 45, 0.0)
        .build()
        .unwrap()
        .into();
    let all: Vec<(AnySchedule<f64>, &str)> = vec![
        (ConstantConfig::new(0.1).build().unwrap().into(), "constant"),
        (StepConfig::new(0.1, 3).build().unwrap().into(), "step"),
        (
            MultiStepConfig::new(0.1, &[3], 0.1)
                .unwrap()
                .build()
                .unwrap()
                .into(),
            "multi_step",
        ),
        (
            ExponentialConfig::new(0.1, 0.9).build().unwrap().into(),
            "exponential",
        ),
        (
            PolynomialConfig::new(0.1, 4, 1.0).build().unwrap().into(),
            "polynomial",
        ),
        (
            LinearConfig::new(0.1, 0.5, 1.0, 4).build().unwrap().into(),
            "linear",
        ),
        (
            ConstantFactorConfig::new(0.1, 0.5, 4)
                .build()
                .unwrap()
                .into(),
            "constant_factor",
        ),
        (
            InverseTimeConfig::new(0.1, 4, 0.5).build().unwrap().into(),
            "inverse_time",
        ),
        (cos.clone().into(), "cosine_annealing"),
        (
            WarmRestartsConfig::new(0.1, 4, 2, 0.0)
                .build()
                .unwrap()
                .into(),
            "warm_restarts",
        ),
        (Cyclic::triangular(0.01, 0.1, 4).unwrap().into(), "cyclic"),
        (OneCycle::pytorch(0.1, 40).unwrap().into(), "one_cycle"),
        (
            PiecewiseConstantConfig::new(&[3], &[0.1, 0.01])
                .unwrap()
                .build()
                .unwrap()
                .into(),
            "piecewise_constant",
        ),
        (Warmup::new(3, 0.0, cos.clone()).unwrap().into(), "warmup"),
        (
            Sequential::from_slices(&[cos.clone(), cos], &[5])
                .unwrap()
                .into(),
            "sequential",
        ),
    ];
    for (s, tag) in &all {
        assert_eq!(s.name(), *tag);
        let v = serde_json::to_value(s).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, [tag], "{v}");
        if let Ok(single) = serde_json::from_value::<Single<f64>>(v.clone()) {
            assert_eq!(single.name(), *tag);
            assert_eq!(serde_json::to_value(&single).unwrap(), v);
        }
    }
}

#[test]
fn bounds_rule_serializes_as_its_name() {
    let adam = BoundsRule::for_optimizer(lrate_core::OptimizerFamily::Adam);
    for r in BoundsRule::ALL.into_iter().chain([adam]) {
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, format!("\"{r}\""));
        assert_eq!(serde_json::from_str::<BoundsRule>(&json).unwrap(), r);
    }
    assert_eq!(
        serde_json::from_str::<BoundsRule>("\"Min\"").unwrap(),
        BoundsRule::Suggestion(Suggestion::Minimum)
    );
    assert_eq!(
        serde_json::to_string(&BoundsRule::near_min(0.5).unwrap()).unwrap(),
        "\"near-min:0.5\""
    );
    let e = serde_json::from_str::<BoundsRule>("\"warp\"").unwrap_err();
    assert!(e.to_string().contains("near-min"), "{e}");
}

/// The modern schedules round-trip and load under their HF / timm names, with
/// HF's and timm's defaults for what a config leaves out.
#[test]
fn modern_schedules_load_under_hf_and_timm_names() {
    let parse = |json: &str| -> AnySchedule {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    };
    let wsd = parse(
        r#"{"warmup_stable_decay": {"base_lr": 0.1, "num_warmup_steps": 10,
            "num_decay_steps": 30, "num_training_steps": 120, "decay_type": "1-sqrt",
            "min_lr_ratio": 0.1}}"#,
    );
    let mut want = WsdConfig::new(0.1, 10, 30, 120);
    want.decay_type = WsdDecay::OneMinusSqrt;
    want.min_lr_ratio = 0.1;
    assert_eq!(wsd, want.build().unwrap().into());
    assert_eq!(wsd.name(), "wsd");
    roundtrip(&parse_f64(&serde_json::to_string(&wsd).unwrap()));
    assert_eq!(
        parse(
            r#"{"cosine_with_min_lr": {"base_lr": 0.1, "num_training_steps": 100, "min_lr": 0.01}}"#
        ),
        CosineWithWarmupConfig {
            min_lr: Some(0.01),
            ..CosineWithWarmupConfig::new(0.1, 0, 100)
        }
        .build()
        .unwrap()
        .into()
    );
    assert_eq!(
        parse(r#"{"cosine_with_restarts": {"base_lr": 0.1, "num_training_steps": 100}}"#).name(),
        "cosine_with_restarts"
    );
    assert_eq!(
        parse(r#"{"inverse_sqrt": {"base_lr": 0.1, "num_warmup_steps": 20}}"#),
        InverseSqrtConfig {
            base_lr: 0.1,
            num_warmup_steps: 20,
            timescale: None
        }
        .build()
        .unwrap()
        .into()
    );
    let poly = parse(r#"{"polynomial_with_warmup": {"base_lr": 0.1, "num_training_steps": 90}}"#);
    assert_eq!(poly.lr(1000), 1e-7, "HF's lr_end default");
    let tanh = parse(r#"{"tanh": {"base_lr": 0.1, "t_initial": 60}}"#);
    assert_eq!(tanh.name(), "timm_tanh");
    let timm_poly = parse(r#"{"poly": {"base_lr": 0.1, "t_initial": 60}}"#);
    assert_eq!(timm_poly.name(), "timm_poly");
    let cos = parse(
        r#"{"timm_cosine": {"base_lr": 0.1, "t_initial": 30, "cycle_mul": 1.5, "cycle_limit": 3,
            "warmup_t": 5, "warmup_lr_init": 1e-4, "warmup_prefix": true}}"#,
    );
    assert_eq!(cos.lr(0), 1e-4);
    for json in [
        r#"{"wsd": {"base_lr": 0.1, "num_decay_steps": 10}}"#,
        r#"{"wsd": {"base_lr": 0.1, "num_decay_steps": 10, "num_training_steps": 100, "decay": "x"}}"#,
        r#"{"wsd": {"base_lr": 0.1, "num_decay_steps": 10, "num_training_steps": 100, "decay_type": "2-sqrt"}}"#,
        r#"{"tanh": {"base_lr": 0.1, "t_initial": 60, "lb": 5.0}}"#,
    ] {
        assert!(serde_json::from_str::<AnySchedule>(json).is_err(), "{json}");
    }
}

fn parse_f64(json: &str) -> AnySchedule<f64> {
    serde_json::from_str(json).unwrap()
}
