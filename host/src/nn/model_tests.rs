//! Whole-model tests: native vs portable kernels, learning on a separable toy set, state I/O.

use super::testutil::rand_vec;
use super::*;

/// 4 classes: one bright quadrant of a 1×8×8 image plus noise.
fn quadrants(n: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let noise = rand_vec(n * 64, seed);
    let mut x = Vec::with_capacity(n * 64);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 4;
        for r in 0..8 {
            for col in 0..8 {
                let q = (r / 4) * 2 + col / 4;
                x.push(if q == c { 1.0 } else { 0.0 } + 0.3 * noise[i * 64 + r * 8 + col]);
            }
        }
        y.push(c);
    }
    (x, y)
}

fn sgd() -> Optimizer {
    Optimizer::new(OptimizerKind::Sgd {
        nesterov: true,
        weight_decay: 5e-4,
    })
}

#[test]
fn model_kind_parses_names() {
    assert_eq!("cnn-s".parse::<ModelKind>().unwrap(), ModelKind::CnnS);
    assert_eq!("ResNet9".parse::<ModelKind>().unwrap(), ModelKind::ResNet9);
    assert_eq!("mlp".parse::<ModelKind>().unwrap(), ModelKind::Mlp);
    let e = "vgg".parse::<ModelKind>().unwrap_err().to_string();
    assert!(e.contains("vgg") && e.contains("cnn-s"), "{e}");
}

#[test]
fn cnn_s_matches_pytorch_parameter_count() {
    // conv 1→32: 288, bn 64; conv 32→64: 18432, bn 128; conv 64→128: 73728, bn 256; fc 1290.
    let m = Model::new(ModelKind::CnnS, (1, 28, 28), 10, 0, &Cpu::default());
    assert_eq!(m.num_params(), 288 + 64 + 18432 + 128 + 73728 + 256 + 1290);
    let r = Model::new(ModelKind::ResNet9, (3, 32, 32), 10, 0, &Cpu::default());
    // Convs 6,563,520 + fc 5,120 (no bias) + BN affine 2·2,240.
    assert_eq!(
        r.num_params(),
        1728 + 73728 + 2 * 147456 + 294912 + 1179648 + 2 * 2359296 + 5120 + 4480
    );
}

#[test]
fn too_small_input_is_an_error() {
    let e = Model::try_new(ModelKind::CnnS, (1, 7, 9), 10, 0, &Cpu::default())
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("layer 12 (maxpool)")
            && e.to_string().contains("smaller than the 2x2 window"),
        "{e}"
    );
    assert!(Model::try_new(ModelKind::Mlp, (1, 1, 1), 2, 0, &Cpu::default()).is_ok());
}

#[test]
fn bad_batches_are_errors() {
    let mut m = Model::new(ModelKind::Mlp, (1, 4, 4), 3, 0, &Cpu::default());
    let mut o = sgd();
    assert!(m
        .try_train_step(&[0.0; 15], &[0], &mut o, 0.1, 0.9)
        .is_err());
    assert!(m
        .try_train_step(&[0.0; 32], &[0], &mut o, 0.1, 0.9)
        .is_err());
    assert!(m
        .try_train_step(&[0.0; 16], &[3], &mut o, 0.1, 0.9)
        .is_err());
    assert!(m.try_predict(&[0.0; 16], 0).is_err());
    assert_eq!(m.try_predict(&[], 4).unwrap(), Vec::<usize>::new());
}

/// The native CPU kernels and the portable dfdx-op kernels give the same training run.
#[test]
fn native_and_portable_kernels_agree() {
    for (kind, input) in [
        (ModelKind::CnnS, (2, 9, 11)),
        (ModelKind::ResNet9, (3, 8, 8)),
    ] {
        let dev = Cpu::default();
        let n = 4;
        let x = rand_vec(n * input.0 * input.1 * input.2, 5);
        let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let mut a = Model::new(kind, input, 3, 7, &dev);
        let mut b = Model::new(kind, input, 3, 7, &dev);
        b.set_portable(true);
        let (mut oa, mut ob) = (sgd(), sgd());
        for step in 0..2 {
            let la = a.train_step(&x, &y, &mut oa, 0.05, 0.9);
            let lb = b.train_step(&x, &y, &mut ob, 0.05, 0.9);
            assert!(
                (la - lb).abs() < 1e-4 * (1.0 + la.abs()),
                "{kind} step {step}: {la} vs {lb}"
            );
        }
        for ((n1, _, d1), (_, _, d2)) in a.state().iter().zip(b.state()) {
            let scale = d1.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
            for (u, v) in d1.iter().zip(&d2) {
                assert!((u - v).abs() < 2e-3 * scale, "{kind} {n1}: {u} vs {v}");
            }
        }
        assert_eq!(a.predict(&x, 3), b.predict(&x, 3));
    }
}

/// cnn-s learns a separable toy problem within a few dozen steps.
#[test]
fn cnn_s_reduces_loss_on_separable_data() {
    let dev = Cpu::default();
    let (x, y) = quadrants(64, 11);
    let mut m = Model::new(ModelKind::CnnS, (1, 8, 8), 4, 3, &dev);
    let mut o = sgd();
    let before = m.loss(&x, &y).unwrap();
    let mut first = None;
    let mut last = 0.0;
    for step in 0..40 {
        let i = (step % 4) * 16;
        last = m.train_step(&x[i * 64..(i + 16) * 64], &y[i..i + 16], &mut o, 0.05, 0.9);
        first.get_or_insert(last);
        assert!(last.is_finite());
    }
    let after = m.loss(&x, &y).unwrap();
    assert!(
        last < 0.5 * first.unwrap(),
        "train loss {first:?} -> {last}"
    );
    assert!(after < 0.5 * before, "eval loss {before} -> {after}");
    let acc = m
        .predict(&x, 32)
        .iter()
        .zip(&y)
        .filter(|(a, b)| a == b)
        .count();
    assert!(acc >= 60, "accuracy {acc}/64");
}

#[test]
fn mlp_and_adam_learn_too() {
    let dev = Cpu::default();
    let (x, y) = quadrants(64, 12);
    let mut m = Model::new(ModelKind::Mlp, (1, 8, 8), 4, 3, &dev);
    let mut o = Optimizer::new(OptimizerKind::Adam {
        beta2: 0.99,
        eps: 1e-8,
        weight_decay: 0.0,
    });
    let before = m.loss(&x, &y).unwrap();
    for _ in 0..30 {
        m.train_step(&x, &y, &mut o, 1e-2, 0.9);
    }
    assert!(m.loss(&x, &y).unwrap() < 0.3 * before);
}

#[test]
fn non_finite_loss_leaves_model_untouched() {
    let dev = Cpu::default();
    let (mut x, y) = quadrants(4, 1);
    x[0] = f32::NAN;
    let mut m = Model::new(ModelKind::CnnS, (1, 8, 8), 4, 3, &dev);
    let s0 = m.state();
    let mut o = sgd();
    assert!(!m.train_step(&x, &y, &mut o, 0.1, 0.9).is_finite());
    assert_eq!(m.state(), s0);
    assert_eq!(o.steps(), 0);
}

#[test]
fn state_round_trip_restores_weights_and_running_stats() {
    let dev = Cpu::default();
    let (x, y) = quadrants(16, 2);
    let mut a = Model::new(ModelKind::ResNet9, (1, 8, 8), 4, 1, &dev);
    let init = a.state();
    let mut o = sgd();
    a.train_step(&x, &y, &mut o, 0.05, 0.9);
    let trained = a.state();
    assert_ne!(init, trained);
    assert!(trained
        .iter()
        .any(|(n, _, _)| n == "layer3.res2.bn.running_var"));
    let preds = a.predict(&x, 8);
    a.load_state(&init).unwrap();
    assert_eq!(a.state(), init);
    let mut b = Model::new(ModelKind::ResNet9, (1, 8, 8), 4, 99, &dev);
    b.load_state(&trained).unwrap();
    assert_eq!(b.predict(&x, 8), preds);
    assert!(b.check_optimizer(&o).is_ok());
    // Errors leave the model unchanged.
    let mut bad = trained.clone();
    bad.retain(|(n, _, _)| n != "fc.weight");
    assert_eq!(
        b.load_state(&bad),
        Err(NnError::MissingTensor("fc.weight".into()))
    );
    let mut bad = trained.clone();
    bad[0].1 = vec![1];
    assert!(matches!(
        b.load_state(&bad),
        Err(NnError::ShapeMismatch { .. })
    ));
    assert_eq!(b.state(), trained);
    let small = Model::new(ModelKind::CnnS, (1, 8, 8), 4, 1, &dev);
    assert!(small.check_optimizer(&o).is_err());
}

/// Training is bit-for-bit reproducible: the weight-gradient reduction has a fixed order, so
/// thread scheduling cannot change the result.
#[test]
fn training_is_deterministic() {
    let dev = Cpu::default();
    let (x, y) = quadrants(32, 4);
    let run = || {
        let mut m = Model::new(ModelKind::CnnS, (1, 8, 8), 4, 5, &dev);
        let mut o = sgd();
        for _ in 0..3 {
            m.train_step(&x, &y, &mut o, 0.05, 0.9);
        }
        (m.state(), o.state())
    };
    assert_eq!(run(), run());
}

/// Schedule-free: the model moves to x and back to y bit for bit, BN statistics included,
/// and a BN pass recomputes the statistics without touching the weights.
#[test]
fn eval_point_round_trips_exactly() {
    let dev = Cpu::default();
    let mut m = Model::new(ModelKind::CnnS, (1, 8, 8), 4, 3, &dev);
    let (x, y) = quadrants(16, 5);
    assert!(
        m.enter_eval_point(&sgd(), 0.9).is_none(),
        "not schedule-free"
    );
    let mut opt = Optimizer::new(OptimizerKind::SfSgd {
        weight_decay: 5e-4,
        warmup_steps: 2,
        r: 0.0,
        weight_lr_power: 2.0,
    });
    assert!(
        m.enter_eval_point(&opt, 0.9).is_none(),
        "no step yet: x = y"
    );
    for _ in 0..4 {
        m.try_train_step(&x, &y, &mut opt, 0.1, 0.9).unwrap();
    }
    let before = m.state();
    assert!(m.has_batchnorm());
    let saved = m.enter_eval_point(&opt, 0.9).expect("schedule-free");
    let at_x = m.state();
    // Parameters moved to x (BN statistics not yet).
    let w = |s: &[NamedTensor], n: &str| s.iter().find(|t| t.0 == n).unwrap().2.clone();
    assert_ne!(w(&at_x, "fc.weight"), w(&before, "fc.weight"));
    let mean = |s: &[NamedTensor]| {
        s.iter()
            .find(|t| t.0.ends_with("running_mean"))
            .unwrap()
            .2
            .clone()
    };
    assert_eq!(mean(&at_x), mean(&before));
    let params_x: Vec<_> = at_x
        .iter()
        .filter(|t| !t.0.contains(".bn."))
        .cloned()
        .collect();
    m.try_bn_pass(&x[..8 * 64], 0).unwrap();
    m.try_bn_pass(&x[8 * 64..], 1).unwrap();
    let after = m.state();
    assert_ne!(mean(&after), mean(&at_x));
    let params_after: Vec<_> = after
        .iter()
        .filter(|t| !t.0.contains(".bn."))
        .cloned()
        .collect();
    assert_eq!(params_after, params_x, "a BN pass changes no weight");
    assert!(m.try_bn_pass(&x[..10], 0).is_err());
    m.leave_eval_point(saved);
    let bits = |s: &[NamedTensor]| -> Vec<u32> {
        s.iter()
            .flat_map(|t| t.2.iter().map(|v| v.to_bits()))
            .collect()
    };
    assert_eq!(bits(&m.state()), bits(&before));
    // Training continues from y (the device copies were restored too).
    let mut opt2 = opt.clone();
    let mut fresh = Model::new(ModelKind::CnnS, (1, 8, 8), 4, 3, &dev);
    fresh.load_state(&before).unwrap();
    let l1 = m.try_train_step(&x, &y, &mut opt, 0.1, 0.9).unwrap();
    let l2 = fresh.try_train_step(&x, &y, &mut opt2, 0.1, 0.9).unwrap();
    assert_eq!(l1.to_bits(), l2.to_bits());
    assert_eq!(bits(&m.state()), bits(&fresh.state()));
}

/// Every layer type of a model file, outside the fused blocks too (a strided conv with a
/// bias, a BN not after a conv, an average pool, dropout, a residual block): the native and
/// portable kernels agree step by step (dropout masks included), and the net learns.
#[test]
fn toml_layers_agree_between_kernels_and_learn() {
    use super::def::ModelDef;
    let zoo = ModelDef::from_toml(
        "zoo.toml",
        r#"
[[layers]]
type = "conv"
channels = 8
kernel = 3
padding = 1
bias = false
[[layers]]
type = "bn"
[[layers]]
type = "relu"
[[layers]]
type = "residual"
layers = [ { type = "conv", channels = 8, kernel = 3, padding = 1 }, { type = "bn" } ]
[[layers]]
type = "conv"
channels = 8
kernel = 3
stride = 2
padding = 1
[[layers]]
type = "relu"
[[layers]]
type = "avgpool"
[[layers]]
type = "flatten"
[[layers]]
type = "dropout"
p = 0.2
[[layers]]
type = "linear"
features = 16
[[layers]]
type = "relu"
[[layers]]
type = "linear"
"#,
    )
    .unwrap();
    let dev = Cpu::default();
    let (x, y) = quadrants(64, 11);
    let mut a = Model::new(zoo.clone(), (1, 8, 8), 4, 3, &dev);
    let mut b = Model::new(zoo, (1, 8, 8), 4, 3, &dev);
    b.set_portable(true);
    let (mut oa, mut ob) = (sgd(), sgd());
    for step in 0..5 {
        let la = a.train_step(&x, &y, &mut oa, 0.05, 0.9);
        let lb = b.train_step(&x, &y, &mut ob, 0.05, 0.9);
        assert!(
            (la - lb).abs() < 1e-4 * (1.0 + la.abs()),
            "step {step}: {la} vs {lb}"
        );
    }
    for _ in 0..60 {
        a.train_step(&x, &y, &mut oa, 0.05, 0.9);
    }
    let (xt, yt) = quadrants(64, 12);
    let p = a.predict(&xt, 32);
    let right = p.iter().zip(&yt).filter(|(p, y)| p == y).count();
    assert!(right >= 56, "{right}/64 right");
}
