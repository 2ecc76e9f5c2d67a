use super::*;
use crate::cli::CommonArgs;
use crate::data::{self, DataSpec, LoadOptions};
use crate::nn::{Cpu, Optimizer};
use lrate_core::{BoundsRule, RangeTest, Status};
use std::hash::{Hash, Hasher};

fn split(n: usize) -> Split {
    data::load(
        &DataSpec::Synthetic,
        &LoadOptions {
            limit_train: Some(n),
            limit_test: Some(50),
            ..LoadOptions::default()
        },
    )
    .unwrap()
}

fn common(args: CommonArgs) -> CommonConfig {
    let args = CommonArgs {
        model: Some("mlp".into()),
        batch: Some(32),
        num_it: Some(40),
        start_lr: args.start_lr.or(Some(1e-4)),
        ..args
    };
    config::resolve_common(&args, &config::FileConfig::default()).unwrap()
}

/// A hash of every tensor's bits.
fn hash(state: &[crate::nn::NamedTensor]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (name, shape, data) in state {
        name.hash(&mut h);
        shape.hash(&mut h);
        for v in data {
            v.to_bits().hash(&mut h);
        }
    }
    h.finish()
}

#[test]
fn one_sweep_restores_the_weights_and_matches_a_plain_range_test() {
    let split = split(256);
    let c = common(CommonArgs {
        repeats: Some(1),
        ..CommonArgs::default()
    });
    let dev = Cpu::default();
    let mut model = c.build_model(&split, &dev).unwrap();
    let before = model.state();
    let run = RunSize { epochs: 1 };
    let o = range_test(&mut model, &dev, &split, &c, run, true).unwrap();
    assert_eq!(model.state(), before);
    assert_eq!(o.sweeps.len(), 1);
    assert_eq!(o.sweeps[0].batches, o.batches);
    assert!(o.rows.windows(2).all(|w| w[1].lr > w[0].lr));
    let b = o.bounds.expect("bounds");
    assert!((b.max_lr / b.min_lr - 4.0).abs() < 1e-4);

    // The same sweep driven by hand: the same pick, bit for bit.
    let mut rt = RangeTest::<f32, CURVE_CAPACITY>::new(c.find.range_test()).unwrap();
    let mut opt = Optimizer::new(c.optimizer.kind);
    let spe = batch::steps_per_epoch(split.train.len(), c.batch);
    let mut i = 0;
    while let Some(lr) = rt.next_lr() {
        let (pass, b) = (i / spe, i % spe);
        let order = batch::epoch_order(split.train.len(), c.seed ^ 0x006c_725f_6669_6e64, pass);
        let bt = batch::train_batch(
            &split.train,
            &order,
            c.batch,
            b,
            split.augment,
            c.seed ^ 0x6c72,
            pass,
        );
        let loss = model
            .try_train_step(&bt.x, &bt.labels, &mut opt, lr, c.optimizer.momentum)
            .unwrap();
        i += 1;
        if let Status::Done(_) = rt.record(loss) {
            break;
        }
    }
    assert_eq!(rt.bounds_by(c.find.rule, 4.0).ok(), o.bounds);
    assert_eq!(c.find.rule, BoundsRule::DEFAULT);

    let d = tempfile::tempdir().unwrap();
    write_outputs(d.path(), &o).unwrap();
    let csv = std::fs::read_to_string(d.path().join("lr_find.csv")).unwrap();
    assert_eq!(csv.lines().count(), o.sweeps[0].curve.len() + 1);
    assert!(csv.starts_with(
        "lr,loss,smoothed_loss,smoothed_min,smoothed_max,smoothed_sd,sweep1_loss,sweep1_smoothed\n"
    ));
    assert!(config::parse_rule("bogus").is_err());
}

#[test]
fn averaged_sweeps_and_verify_leave_no_trace() {
    let split = split(512);
    let c = common(CommonArgs {
        repeats: Some(3),
        start_lr: Some(1e-3),
        vary: Some("both".into()),
        verify: true,
        ..CommonArgs::default()
    });
    let dev = Cpu::default();
    let mut with = c.build_model(&split, &dev).unwrap();
    let mut without = c.build_model(&split, &dev).unwrap();
    // An optimizer with state, as in a resumed run.
    let mut opt_with = Optimizer::new(c.optimizer.kind);
    let bt = batch::gather(&split.train, &[0, 1, 2, 3]);
    with.try_train_step(&bt.x, &bt.labels, &mut opt_with, 0.01, 0.9)
        .unwrap();
    let mut opt_without = Optimizer::new(c.optimizer.kind);
    without
        .try_train_step(&bt.x, &bt.labels, &mut opt_without, 0.01, 0.9)
        .unwrap();
    let (model_hash, opt_hash) = (hash(&with.state()), hash(&opt_with.state()));

    let o = range_test(&mut with, &dev, &split, &c, RunSize { epochs: 20 }, true).unwrap();
    assert_eq!(hash(&with.state()), model_hash, "weights and BN statistics");
    assert_eq!(hash(&opt_with.state()), opt_hash, "optimizer state");
    assert_eq!(o.sweeps.len(), 3);
    assert!(o.batches > 3 * 10);
    let v = o
        .verify
        .as_ref()
        .unwrap_or_else(|| panic!("verify ran: {:?}", o.unreliable));
    assert_eq!(v.trials.len(), 3);
    assert!(
        v.share_of_run <= verify::BUDGET + 1e-9,
        "{}",
        v.share_of_run
    );
    assert_eq!(o.bounds.unwrap().max_lr, v.chosen);
    // The sweeps differ (data and init vary), and the band holds the mean.
    assert_ne!(o.sweeps[0].curve, o.sweeps[1].curve);
    assert!(o.band.iter().all(|b| b.min <= b.mean && b.mean <= b.max));
    // The next training step (data order from the run's seed) is the same as without
    // the range test: no RNG stream moved.
    let order = batch::epoch_order(split.train.len(), c.seed, 0);
    let next = batch::train_batch(&split.train, &order, c.batch, 0, split.augment, c.seed, 0);
    let a = with
        .try_train_step(&next.x, &next.labels, &mut opt_with, 0.05, 0.9)
        .unwrap();
    let b = without
        .try_train_step(&next.x, &next.labels, &mut opt_without, 0.05, 0.9)
        .unwrap();
    assert_eq!(a.to_bits(), b.to_bits());
    assert_eq!(hash(&with.state()), hash(&without.state()));
    assert_eq!(hash(&opt_with.state()), hash(&opt_without.state()));

    let d = tempfile::tempdir().unwrap();
    write_outputs(d.path(), &o).unwrap();
    let csv = std::fs::read_to_string(d.path().join("lr_find.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with("sweep3_loss,sweep3_smoothed"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("lr_find.json")).unwrap())
            .unwrap();
    assert_eq!(json["sweeps"].as_array().unwrap().len(), 3);
    assert_eq!(json["rules"].as_array().unwrap().len(), 6);
    assert_eq!(json["verify"]["trials"].as_array().unwrap().len(), 3);
}

#[test]
fn a_flat_or_exploding_sweep_has_no_reliable_suggestion() {
    let split = split(256);
    let dev = Cpu::default();
    for (start, end, why) in [(1e-9f32, 1e-8f32, "fell by only"), (1e4, 1e6, "")] {
        let c = common(CommonArgs {
            start_lr: Some(start),
            end_lr: Some(end),
            repeats: Some(2),
            ..CommonArgs::default()
        });
        let mut model = c.build_model(&split, &dev).unwrap();
        let o = range_test(&mut model, &dev, &split, &c, RunSize { epochs: 1 }, true).unwrap();
        assert!(
            o.bounds.is_none() && o.pick.is_none(),
            "{start}: {:?}",
            o.bounds
        );
        let msg = o.no_suggestion(HINT).unwrap();
        assert!(
            msg.starts_with("no reliable suggestion: ") && msg.contains(why),
            "{msg}"
        );
        assert!(msg.contains("hint:"));
    }
}

/// The range test sweeps the base lr of every optimizer (schedule-free ones included, with
/// `--verify`'s trials) and leaves the model as it was.
#[test]
fn the_range_test_runs_with_every_optimizer() {
    let split = split(512);
    for name in crate::nn::OptimizerKind::NAMES {
        let c = common(CommonArgs {
            optimizer: Some(name.into()),
            repeats: Some(1),
            start_lr: Some(1e-3),
            verify: name == "sf-sgd",
            ..CommonArgs::default()
        });
        assert_eq!(c.optimizer.kind.name(), name);
        let dev = Cpu::default();
        let mut model = c.build_model(&split, &dev).unwrap();
        let before = hash(&model.state());
        let o = range_test(&mut model, &dev, &split, &c, RunSize { epochs: 4 }, true).unwrap();
        assert_eq!(hash(&model.state()), before, "{name}");
        assert!(o.batches >= 10, "{name}: {} batches", o.batches);
        assert!(o.rows.windows(2).all(|w| w[1].lr > w[0].lr), "{name}");
        assert!(o.rows[0].raw_loss.is_some_and(f32::is_finite), "{name}");
        if name == "sf-sgd" && o.pick.is_some() {
            let v = o.verify.as_ref().expect("--verify ran");
            assert!(v.trials.iter().all(|t| (0.0..=1.0).contains(&t.val_acc)));
        }
    }
}
