//! Unit tests of the optimizers: each update rule against a hand-written f64 reference of
//! its formulas, state round trips and exact continuation for every kind.

use super::state::{join_u64, split_u64};
use super::*;

/// Hand-written PyTorch SGD for one scalar over several steps.
#[test]
fn sgd_matches_pytorch_formulas() {
    for nesterov in [false, true] {
        let mut opt = Optimizer::new(OptimizerKind::Sgd {
            nesterov,
            weight_decay: 5e-4,
        });
        let mut p = [1.0f32, -2.0];
        let grads = [[0.5f32, 0.1], [-0.3, 0.2], [0.05, -0.4]];
        let moms = [0.95f32, 0.9, 0.85];
        let lrs = [0.1f32, 0.2, 0.05];
        let (mut rp, mut buf) = ([1.0f64, -2.0], [0.0f64; 2]);
        for s in 0..3 {
            opt.begin_step();
            opt.update("w", &[2], &mut p, &grads[s], lrs[s], moms[s])
                .unwrap();
            for i in 0..2 {
                let g = grads[s][i] as f64 + 5e-4 * rp[i];
                let mu = moms[s] as f64;
                buf[i] = if s == 0 { g } else { mu * buf[i] + g };
                let d = if nesterov { g + mu * buf[i] } else { buf[i] };
                rp[i] -= lrs[s] as f64 * d;
            }
            for i in 0..2 {
                assert!(
                    (p[i] as f64 - rp[i]).abs() < 1e-6,
                    "step {s}: {} vs {}",
                    p[i],
                    rp[i]
                );
            }
        }
    }
}

#[test]
fn adam_matches_pytorch_formulas() {
    let mut opt = Optimizer::new(OptimizerKind::Adam {
        beta2: 0.99,
        eps: 1e-8,
        weight_decay: 1e-2,
    });
    let mut p = [0.5f32];
    let (mut rp, mut m, mut v) = (0.5f64, 0.0f64, 0.0f64);
    for (t, (g, b1)) in [(0.2f32, 0.95f32), (-0.1, 0.9), (0.3, 0.85)]
        .iter()
        .enumerate()
    {
        opt.begin_step();
        opt.update("w", &[1], &mut p, &[*g], 0.01, *b1).unwrap();
        let t = t as i32 + 1;
        let gg = *g as f64 + 1e-2 * rp;
        let b1 = *b1 as f64;
        m = b1 * m + (1.0 - b1) * gg;
        v = 0.99 * v + 0.01 * gg * gg;
        let mh = m / (1.0 - b1.powi(t));
        let vh = v / (1.0 - 0.99f64.powi(t));
        rp -= 0.01 * mh / (vh.sqrt() + 1e-8);
        assert!((p[0] as f64 - rp).abs() < 1e-6, "{} vs {rp}", p[0]);
    }
    assert_eq!(opt.steps(), 3);
}

#[test]
fn load_state_rejects_bad_input() {
    let mut o = Optimizer::new(OptimizerKind::Sgd {
        nesterov: false,
        weight_decay: 0.0,
    });
    assert!(matches!(o.load_state(&[]), Err(NnError::MissingTensor(_))));
    let adam = Optimizer::new(OptimizerKind::Adam {
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    });
    let mut st = adam.state();
    st.push(("optim.adam.exp_avg.w".into(), vec![1], vec![0.0]));
    assert!(o.load_state(&st).is_err());
    let bad = vec![("optim.step".to_string(), vec![2], vec![0.5, 0.0])];
    assert!(o.load_state(&bad).is_err());
    let mut p = [0.0f32; 2];
    assert!(o.update("w", &[2], &mut p, &[0.0], 0.1, 0.9).is_err());
    assert_eq!(split_u64(123_456_789_012).len(), 2);
    assert_eq!(join_u64(split_u64(123_456_789_012)), Some(123_456_789_012));
}

/// One of every kind, with non-trivial hyper-parameters.
fn all_kinds() -> [OptimizerKind; 5] {
    [
        OptimizerKind::Sgd {
            nesterov: true,
            weight_decay: 5e-4,
        },
        OptimizerKind::Adam {
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-3,
        },
        OptimizerKind::AdamW {
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: 0.05,
        },
        OptimizerKind::SfSgd {
            weight_decay: 1e-3,
            warmup_steps: 4,
            r: 0.5,
            weight_lr_power: 2.0,
        },
        OptimizerKind::SfAdamW {
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            warmup_steps: 3,
            r: 0.0,
            weight_lr_power: 2.0,
        },
    ]
}

/// Deterministic gradient of step `t` for parameter `j`, element `i`.
fn grad(t: usize, j: usize, p: &[f32]) -> Vec<f32> {
    p.iter()
        .enumerate()
        .map(|(i, &w)| 0.7 * (w - 0.3 * j as f32) + 0.1 * (1.3 * t as f32 + i as f32).sin())
        .collect()
}

/// Steps `range` of a two-parameter problem with a moving lr and momentum.
fn run(o: &mut Optimizer, ps: &mut [Vec<f32>; 2], range: std::ops::Range<usize>) {
    for t in range {
        o.begin_step();
        let lr = 0.05 + 0.01 * (t % 3) as f32;
        let mom = 0.9 - 0.01 * (t % 2) as f32;
        for (j, p) in ps.iter_mut().enumerate() {
            let g = grad(t, j, p);
            let name = ["a.weight", "b.bias"][j];
            o.update(name, &[p.len()], p, &g, lr, mom).unwrap();
        }
    }
}

#[test]
fn state_round_trips_and_continues_identically() {
    for kind in all_kinds() {
        let init = || [vec![1.0f32, 2.0, -3.0], vec![0.5f32, -0.25]];
        let mut full = Optimizer::new(kind);
        let mut pf = init();
        run(&mut full, &mut pf, 0..12);

        let mut first = Optimizer::new(kind);
        let mut pr = init();
        run(&mut first, &mut pr, 0..5);
        let saved = first.state();
        let mut resumed = Optimizer::new(kind);
        resumed.load_state(&saved).unwrap();
        assert_eq!(resumed, first, "{kind:?}");
        assert_eq!(resumed.state(), saved);
        run(&mut resumed, &mut pr, 5..12);
        for (a, b) in pf.iter().zip(&pr) {
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b), "{kind:?}");
        }
        assert_eq!(full, resumed, "{kind:?}");
        assert_eq!(full.steps(), 12);
        let params = [
            ("a.weight".to_string(), vec![3]),
            ("b.bias".to_string(), vec![2]),
        ];
        assert!(resumed.check_params(&params).is_ok());
        assert!(resumed
            .check_params(&[("a.weight".into(), vec![3]), ("b.bias".into(), vec![3])])
            .is_err());
        assert!(resumed.check_params(&params[..1]).is_err());
        // State names follow the documented scheme.
        let names: Vec<String> = saved.iter().map(|t| t.0.clone()).collect();
        let want = match kind {
            OptimizerKind::Sgd { .. } => vec!["optim.sgd.momentum_buffer.a.weight"],
            OptimizerKind::Adam { .. } => {
                vec![
                    "optim.adam.exp_avg.a.weight",
                    "optim.adam.exp_avg_sq.a.weight",
                ]
            }
            OptimizerKind::AdamW { .. } => {
                vec![
                    "optim.adamw.exp_avg.a.weight",
                    "optim.adamw.exp_avg_sq.a.weight",
                ]
            }
            OptimizerKind::SfSgd { .. } => vec!["optim.sf.z.a.weight"],
            OptimizerKind::SfAdamW { .. } => {
                vec!["optim.sf.z.a.weight", "optim.sf.exp_avg_sq.a.weight"]
            }
        };
        for w in want {
            assert!(names.iter().any(|n| n == w), "{kind:?}: {names:?}");
        }
        assert_eq!(names[0], "optim.step");
    }
}

#[test]
fn state_of_another_kind_is_rejected() {
    let kinds = all_kinds();
    for (i, a) in kinds.iter().enumerate() {
        let mut src = Optimizer::new(*a);
        let mut p = [vec![1.0f32, 2.0, -3.0], vec![0.5f32, -0.25]];
        run(&mut src, &mut p, 0..2);
        let st = src.state();
        for (j, b) in kinds.iter().enumerate() {
            let ok = Optimizer::new(*b).load_state(&st).is_ok();
            assert_eq!(ok, i == j, "{a:?} state into {b:?}");
        }
        // Dropping one of two buffers of a parameter is an error.
        if st.len() > 3 {
            let mut o = Optimizer::new(*a);
            assert!(o.load_state(&st[..st.len() - 1]).is_err(), "{a:?}");
        }
    }
}

#[test]
fn adamw_matches_pytorch_formulas() {
    let mut opt = Optimizer::new(OptimizerKind::AdamW {
        beta2: 0.99,
        eps: 1e-8,
        weight_decay: 0.1,
    });
    let mut p = [0.5f32, -1.0];
    let (mut rp, mut m, mut v) = ([0.5f64, -1.0], [0.0f64; 2], [0.0f64; 2]);
    let lr = 0.01f64;
    for (t, (g, b1)) in [
        ([0.2f32, -0.4], 0.95f32),
        ([-0.1, 0.3], 0.9),
        ([0.3, 0.0], 0.85),
    ]
    .iter()
    .enumerate()
    {
        opt.begin_step();
        opt.update("w", &[2], &mut p, g, lr as f32, *b1).unwrap();
        let t = t as i32 + 1;
        let b1 = *b1 as f64;
        for i in 0..2 {
            let gg = g[i] as f64;
            rp[i] *= 1.0 - lr * 0.1;
            m[i] = b1 * m[i] + (1.0 - b1) * gg;
            v[i] = 0.99 * v[i] + 0.01 * gg * gg;
            let step = lr / (1.0 - b1.powi(t));
            rp[i] -= step * m[i] / (v[i].sqrt() / (1.0 - 0.99f64.powi(t)).sqrt() + 1e-8);
            assert!((p[i] as f64 - rp[i]).abs() < 1e-6, "{} vs {}", p[i], rp[i]);
        }
    }
}

/// `schedulefree`'s algorithm with its running `lr_max` / `weight_sum`, in f64.
fn sf_reference(adam: bool, steps: usize) -> (Vec<f64>, Vec<f64>) {
    let (lr, warmup, wd, b1, b2, r, pw) = (0.1f64, 5usize, 0.01f64, 0.9f64, 0.999f64, 0.5, 2.0);
    let (mut y, mut z, mut v) = (vec![1.0f64, -0.5], vec![1.0f64, -0.5], vec![0.0f64; 2]);
    let (mut lr_max, mut wsum) = (0.0f64, 0.0f64);
    for k in 0..steps {
        let sched = if k < warmup {
            (k + 1) as f64 / warmup as f64
        } else {
            1.0
        };
        let lr_k = lr * sched;
        lr_max = lr_max.max(lr_k);
        let weight = ((k + 1) as f64).powf(r) * lr_max.powf(pw);
        wsum += weight;
        let ckp1 = weight / wsum;
        let yf: Vec<f32> = y.iter().map(|&x| x as f32).collect();
        let g = grad(k, 0, &yf);
        for i in 0..2 {
            let mut gi = g[i] as f64;
            if adam {
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                gi /= (v[i] / (1.0 - b2.powi(k as i32 + 1))).sqrt() + 1e-8;
            }
            gi += wd * y[i];
            y[i] += ckp1 * (z[i] - y[i]);
            y[i] += lr_k * (b1 * (1.0 - ckp1) - 1.0) * gi;
            z[i] -= lr_k * gi;
        }
    }
    let x = (0..2)
        .map(|i| y[i] + (1.0 - 1.0 / b1) * (z[i] - y[i]))
        .collect();
    (y, x)
}

#[test]
fn schedule_free_matches_the_reference_algorithm() {
    for adam in [false, true] {
        let kind = if adam {
            OptimizerKind::SfAdamW {
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.01,
                warmup_steps: 5,
                r: 0.5,
                weight_lr_power: 2.0,
            }
        } else {
            OptimizerKind::SfSgd {
                weight_decay: 0.01,
                warmup_steps: 5,
                r: 0.5,
                weight_lr_power: 2.0,
            }
        };
        let mut o = Optimizer::new(kind);
        assert!(
            o.eval_point("w", &[0.0, 0.0], 0.9).is_none(),
            "no z before step 1"
        );
        let mut y = vec![1.0f32, -0.5];
        for k in 0..40 {
            o.begin_step();
            let g = grad(k, 0, &y);
            o.update("w", &[2], &mut y, &g, 0.1, 0.9).unwrap();
        }
        let (ry, rx) = sf_reference(adam, 40);
        let x = o.eval_point("w", &y, 0.9).unwrap();
        for i in 0..2 {
            assert!(
                (y[i] as f64 - ry[i]).abs() < 1e-5,
                "adam={adam} y: {} vs {}",
                y[i],
                ry[i]
            );
            assert!(
                (x[i] as f64 - rx[i]).abs() < 1e-5,
                "adam={adam} x: {} vs {}",
                x[i],
                rx[i]
            );
        }
        let back = o.train_point("w", &x, 0.9).unwrap();
        for i in 0..2 {
            assert!((back[i] - y[i]).abs() < 1e-5, "{} vs {}", back[i], y[i]);
        }
        assert!(o.eval_point("w", &y, 0.0).is_none());
        assert!(o.eval_point("w", &y[..1], 0.9).is_none());
        assert!(o.eval_point("other", &y, 0.9).is_none());
        // β = 1: x = y.
        assert_eq!(o.eval_point("w", &y, 1.0).unwrap(), y);
    }
    let sgd = Optimizer::new(all_kinds()[0]);
    assert!(sgd.eval_point("w", &[1.0], 0.9).is_none());
}

#[test]
fn bad_schedule_free_settings_are_errors() {
    let mut o = Optimizer::new(OptimizerKind::SfSgd {
        weight_decay: 0.0,
        warmup_steps: 0,
        r: -1.0,
        weight_lr_power: 2.0,
    });
    o.begin_step();
    let mut p = [1.0f32];
    assert!(o.update("w", &[1], &mut p, &[0.1], 0.1, 0.9).is_err());
    let mut o = Optimizer::new(all_kinds()[3]);
    o.begin_step();
    assert!(o.update("w", &[1], &mut p, &[0.1], f32::NAN, 0.9).is_err());
    assert_eq!(p, [1.0]);
}

#[test]
fn kinds_serialize_with_stable_names() {
    let want = ["sgd", "adam", "adamw", "sf_sgd", "sf_adamw"];
    for (i, k) in all_kinds().iter().enumerate() {
        let json = serde_json::to_value(k).unwrap();
        assert!(json.get(want[i]).is_some(), "{json}");
        let back: OptimizerKind = serde_json::from_value(json).unwrap();
        assert_eq!(back, *k);
        assert_eq!(k.name(), OptimizerKind::NAMES[i]);
        assert_eq!(k.is_schedule_free(), i >= 3);
    }
}
