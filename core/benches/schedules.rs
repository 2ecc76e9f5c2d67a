//! Nanoseconds per `lr(step)` for every schedule (target ≤ 10 ns median).
//!
//! `cargo bench -p lrate-core --bench schedules`; each iteration evaluates one
//! step, walking through a range of steps so that branches vary.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lrate_core::*;

fn bench_one<S: Schedule<f32>>(c: &mut Criterion, name: &str, s: &S) {
    let mut t = 0u32;
    c.bench_function(name, |b| {
        b.iter(|| {
            t = t.wrapping_add(7919) & 0xF_FFFF;
            black_box(s).lr(black_box(t))
        })
    });
}

fn schedules(c: &mut Criterion) {
    let base = 0.1f32;
    let single = |s: Single<f32>| s;
    bench_one(c, "constant", &ConstantConfig::new(base).build().unwrap());
    bench_one(c, "step", &StepConfig::new(base, 30_000).build().unwrap());
    bench_one(
        c,
        "multistep",
        &MultiStepConfig::new(base, &[300_000, 600_000, 900_000], 0.1)
            .unwrap()
            .build()
            .unwrap(),
    );
    bench_one(
        c,
        "exponential",
        &ExponentialConfig::new(base, 0.99999).build().unwrap(),
    );
    bench_one(
        c,
        "polynomial",
        &PolynomialConfig::new(base, 1_000_000, 2.0).build().unwrap(),
    );
    bench_one(
        c,
        "linear",
        &LinearConfig::new(base, 0.1, 1.0, 500_000).build().unwrap(),
    );
    bench_one(
        c,
        "constant_factor",
        &ConstantFactorConfig::new(base, 0.5, 500_000)
            .build()
            .unwrap(),
    );
    bench_one(
        c,
        "inverse_time",
        &InverseTimeConfig::new(base, 1000, 0.5).build().unwrap(),
    );
    bench_one(
        c,
        "piecewise_constant",
        &PiecewiseConstantConfig::new(&[100_000, 500_000], &[0.1, 0.01, 0.001])
            .unwrap()
            .build()
            .unwrap(),
    );
    bench_one(
        c,
        "cosine_annealing",
        &CosineAnnealingConfig::new(base, 1_000_000, 0.0)
            .build()
            .unwrap(),
    );
    bench_one(
        c,
        "warm_restarts_tmult2",
        &WarmRestartsConfig::new(base, 1000, 2, 0.0).build().unwrap(),
    );
    let mut keras = WarmRestartsConfig::new(base, 1000, 1, 0.0);
    keras.t_mult = 1.5;
    keras.m_mul = 0.8;
    bench_one(c, "warm_restarts_keras_tmul1.5", &keras.build().unwrap());
    bench_one(
        c,
        "cyclic_triangular",
        &Cyclic::triangular(0.001, base, 2000).unwrap(),
    );
    let mut exp = CyclicConfig::new(0.001, base, 2000);
    exp.mode = CyclicMode::ExpRange;
    exp.gamma = 0.99999;
    bench_one(c, "cyclic_exp_range", &exp.build().unwrap());
    bench_one(
        c,
        "one_cycle_pytorch",
        &OneCycle::pytorch(base, 1_000_000).unwrap(),
    );
    bench_one(
        c,
        "one_cycle_fastai",
        &OneCycle::fastai(base, 1_000_000).unwrap(),
    );
    let cos = single(
        CosineAnnealingConfig::new(base, 900_000, 0.0)
            .build()
            .unwrap()
            .into(),
    );
    bench_one(
        c,
        "warmup_cosine",
        &Warmup::new(100_000, 0.0, cos.clone()).unwrap(),
    );
    let lin = single(
        LinearConfig::new(base, 0.01, 1.0, 100_000)
            .build()
            .unwrap()
            .into(),
    );
    bench_one(
        c,
        "sequential_linear_cosine",
        &Sequential::<_, 4>::from_slices(&[lin, cos], &[100_000]).unwrap(),
    );
    let mut wsd = WsdConfig::new(base, 10_000, 200_000, 1_000_000);
    wsd.decay_type = WsdDecay::OneMinusSqrt;
    wsd.min_lr_ratio = 0.01;
    bench_one(c, "wsd_1sqrt", &wsd.build().unwrap());
    wsd.decay_type = WsdDecay::Cosine;
    wsd.warmup_type = WsdWarmup::Cosine;
    bench_one(c, "wsd_cosine", &wsd.build().unwrap());
    let mut hf_cos = CosineWithWarmupConfig::new(base, 10_000, 1_000_000);
    hf_cos.min_lr_rate = 0.1;
    bench_one(c, "hf_cosine_with_min_lr", &hf_cos.build().unwrap());
    bench_one(
        c,
        "hf_cosine_with_restarts",
        &CosineHardRestartsConfig {
            base_lr: base,
            num_warmup_steps: 10_000,
            num_training_steps: 1_000_000,
            num_cycles: 4,
        }
        .build()
        .unwrap(),
    );
    bench_one(
        c,
        "hf_inverse_sqrt",
        &InverseSqrtConfig {
            base_lr: base,
            num_warmup_steps: 10_000,
            timescale: None,
        }
        .build()
        .unwrap(),
    );
    bench_one(
        c,
        "hf_polynomial_with_warmup",
        &PolynomialWithWarmupConfig {
            base_lr: base,
            num_warmup_steps: 10_000,
            num_training_steps: 1_000_000,
            lr_end: 1e-7,
            power: 2.0,
        }
        .build()
        .unwrap(),
    );
    let timm = TimmCosineConfig {
        base_lr: base,
        t_initial: 100_000,
        lr_min: 1e-5,
        cycle_mul: 1.0,
        cycle_decay: 0.5,
        cycle_limit: 8,
        warmup_t: 5_000,
        warmup_lr_init: 1e-4,
        warmup_prefix: false,
        k_decay: 1.0,
    };
    bench_one(c, "timm_cosine", &timm.build().unwrap());
    bench_one(
        c,
        "timm_cosine_cycle_mul1.5",
        &TimmCosineConfig {
            cycle_mul: 1.5,
            ..timm
        }
        .build()
        .unwrap(),
    );
    bench_one(
        c,
        "timm_tanh",
        &TimmTanhConfig {
            base_lr: base,
            t_initial: 1_000_000,
            lr_min: 1e-5,
            cycle_mul: 1.0,
            cycle_decay: 1.0,
            cycle_limit: 1,
            warmup_t: 5_000,
            warmup_lr_init: 1e-4,
            warmup_prefix: false,
            lb: -7.0,
            ub: 3.0,
        }
        .build()
        .unwrap(),
    );
    bench_one(
        c,
        "timm_poly",
        &TimmPolyConfig {
            base_lr: base,
            t_initial: 1_000_000,
            lr_min: 1e-5,
            cycle_mul: 1.0,
            cycle_decay: 1.0,
            cycle_limit: 1,
            warmup_t: 5_000,
            warmup_lr_init: 1e-4,
            warmup_prefix: false,
            power: 0.5,
            k_decay: 1.0,
        }
        .build()
        .unwrap(),
    );
    let any: AnySchedule<f32> = OneCycle::pytorch(base, 1_000_000).unwrap().into();
    bench_one(c, "any_schedule_one_cycle", &any);

    let mut p = PlateauConfig::new(base).build().unwrap();
    let mut i = 0u32;
    c.bench_function("reduce_on_plateau_step", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            p.step(black_box(1.0 / (1.0 + (i % 100) as f32)))
        })
    });
}

criterion_group!(benches, schedules);
criterion_main!(benches);
