//! The seeds of the fuzz targets (`fuzz/corpus/<target>/`), made by lrate's own writers:
//! tiny IDX files (raw and gzip), CIFAR-10 records, checkpoints of a tiny MLP with real
//! metadata, schedules as JSON and TOML, the example configs, and byte strings for the
//! targets that decode their input themselves.
//!
//! The test checks that every committed seed is still what its target expects (a valid
//! input that parses), so a format change cannot silently turn the corpus into noise;
//! `LRATE_WRITE_FUZZ_SEEDS=1 cargo test -p lrate --test fuzz_seeds` rewrites them.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use lrate::checkpoint::Checkpoint;
use lrate::cli::CommonArgs;
use lrate::config::{resolve_common, FileConfig};
use lrate::data::{cifar10, idx, Dataset};
use lrate::meta::{Meta, VERSION};
use lrate::nn::{Cpu, Model, ModelKind, Optimizer};
use lrate::sched::{self, Any, RunSchedule};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A checkpoint of an MLP on 1×2×2 inputs with 2 classes (the model the `checkpoint`
/// target restores into) after one training step with `optimizer`, `schedule` stored.
fn checkpoint(optimizer: &str, schedule: &str) -> Vec<u8> {
    let args = CommonArgs {
        model: Some("mlp".into()),
        optimizer: Some(optimizer.into()),
        batch: Some(2),
        out: Some("runs/fuzz-seed".into()),
        ..CommonArgs::default()
    };
    let common = resolve_common(&args, &FileConfig::default()).unwrap();
    let dev = Cpu::default();
    let mut model = Model::try_new(ModelKind::Mlp, (1, 2, 2), 2, 0, &dev).unwrap();
    let mut opt = Optimizer::new(common.optimizer.kind);
    let x = [0.1, 0.9, 0.4, 0.2, 0.8, 0.3, 0.5, 0.7];
    model
        .try_train_step(&x, &[0, 1], &mut opt, 0.01, 0.9)
        .unwrap();
    let run = RunSchedule(sched::named(schedule, 0.1, None, 20, 10).unwrap());
    let meta = Meta {
        version: VERSION,
        step: 1,
        epoch: 0,
        batch_in_epoch: 1,
        epochs: 2,
        steps_per_epoch: 10,
        max_lr: 0.1,
        min_lr: Some(0.025),
        schedule_name: schedule.into(),
        schedule: run.to_json().unwrap(),
        train_seconds: 0.5,
        total_seconds: 0.75,
        images: 2,
        finished: false,
        rng: Meta::rng_note(common.seed, 0, 1),
        data: None,
        common,
    };
    Checkpoint {
        meta: serde_json::to_string(&meta).unwrap(),
        model: model.state(),
        optimizer: opt.state(),
    }
    .to_bytes()
    .unwrap()
}

/// `(target, file, bytes)` of every seed.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add = |target, name: &str, bytes: Vec<u8>| out.push((target, name.to_string(), bytes));

    let pixels: Vec<u8> = (0..3 * 2 * 2).map(|i| (i * 37 % 256) as u8).collect();
    let images = idx::encode_images(3, 2, 2, &pixels);
    let labels = idx::encode_labels(&[0, 9, 5]);
    add("idx", "images-3x2x2", images.clone());
    add("idx", "labels-3", labels.clone());
    add("idx", "images-3x2x2.gz", gz(&images));
    add("idx", "labels-3.gz", gz(&labels));

    let pixels: Vec<u8> = (0..2 * 3072).map(|i| (i % 251) as u8).collect();
    add(
        "cifar10",
        "two-records.bin",
        cifar10::encode(&[3, 9], &pixels),
    );

    add(
        "checkpoint",
        "mlp-sgd-onecycle.safetensors",
        checkpoint("sgd", "onecycle"),
    );
    add(
        "checkpoint",
        "mlp-sf-adamw-constant.safetensors",
        checkpoint("sf-adamw", "constant"),
    );

    add(
        "config",
        "onecycle.toml",
        include_bytes!("../examples/onecycle.toml").to_vec(),
    );
    add(
        "config",
        "sgdr.toml",
        include_bytes!("../examples/sgdr.toml").to_vec(),
    );
    for name in sched::NAMES.split(", ") {
        let any = sched::named(name, 0.1, Some(0.01), 1000, 100).unwrap();
        add(
            "config",
            &format!("{name}.json"),
            serde_json::to_vec(&any).unwrap(),
        );
        add(
            "config",
            &format!("{name}.table.toml"),
            toml::to_string(&any).unwrap().into_bytes(),
        );
    }
    // The compositions, which no preset makes.
    let warmup = r#"{"warmup":{"warmup_steps":50,"start_lr":0.0,"schedule":{"cosine_annealing":{"base_lr":0.1,"t_max":950,"eta_min":0.001}}}}"#;
    let sequential = r#"{"sequential":{"schedulers":[{"linear":{"base_lr":0.1,"start_factor":0.01,"end_factor":1.0,"total_iters":100}},{"multi_step":{"base_lr":0.1,"milestones":[300,600],"gamma":0.1}},{"piecewise_constant":{"boundaries":[10,20],"values":[0.01,0.005,0.001]}}],"milestones":[100,900]}}"#;
    add("config", "warmup.json", warmup.as_bytes().to_vec());
    add("config", "sequential.json", sequential.as_bytes().to_vec());
    add(
        "config",
        "run-with-table.toml",
        b"[run]\nmodel = \"mlp\"\nepochs = 3\nbatch = 64\nmax_lr = 0.3\n\n[optimizer]\nkind = \"adamw\"\nbeta2 = 0.99\n\n[find]\nstart_lr = 1e-6\nend_lr = 1.0\nnum_it = 50\nrepeats = 2\nvary = \"both\"\nsuggestion = \"near-min:0.8\"\n\n[schedule.warmup]\nwarmup_steps = 20\nschedule = { cosine_annealing = { base_lr = 0.1, t_max = 100 } }\n".to_vec(),
    );

    // The targets that read their input as a stream of choices: the first byte picks the
    // kind of test, the rest are parameters (a plain ramp here; the fuzzer mutates them).
    for k in 0..11u8 {
        let mut b = vec![k];
        b.extend((0..96u32).map(|i| (i * 29 % 251) as u8));
        add("schedules", &format!("kind-{k}"), b);
    }
    for k in 0..7u8 {
        let mut b = vec![k, 3, 0];
        // A loss that falls, flattens, then rises (steps around 96 go down, above go up).
        b.extend((0..240u32).map(|i| if i < 120 { 60 } else if i < 180 { 96 } else { 150 } as u8));
        add("range_test", &format!("kind-{k}"), b);
    }
    out
}

/// The target's own first check on a seed: it must be a valid input.
fn valid(target: &str, name: &str, bytes: &[u8]) {
    let p = Path::new(name);
    match target {
        "idx" => {
            let raw = if name.ends_with(".gz") {
                idx::decode_gz(bytes, p).unwrap()
            } else {
                bytes.to_vec()
            };
            if name.starts_with("images") {
                idx::parse_images(&raw, p).unwrap();
            } else {
                idx::parse_labels(&raw, p, idx::NUM_CLASSES).unwrap();
            }
        }
        "cifar10" => {
            let mut ds = Dataset {
                c: 3,
                h: cifar10::SIDE,
                w: cifar10::SIDE,
                num_classes: cifar10::NUM_CLASSES,
                images: Vec::new(),
                labels: Vec::new(),
                bytes: None,
            };
            cifar10::parse_into(bytes, p, &mut ds).unwrap();
        }
        "checkpoint" => {
            let ck = Checkpoint::from_bytes(bytes, p).unwrap();
            let meta = Meta::from_json(&ck.meta).unwrap();
            RunSchedule::from_json(&meta.schedule).unwrap();
            let mut model =
                Model::try_new(ModelKind::Mlp, (1, 2, 2), 2, 0, &Cpu::default()).unwrap();
            model.load_state(&ck.model).unwrap();
            let mut opt = Optimizer::new(meta.common.optimizer.kind);
            opt.load_state(&ck.optimizer).unwrap();
            model.check_optimizer(&opt).unwrap();
        }
        "config" => {
            let text = std::str::from_utf8(bytes).unwrap();
            if name.ends_with(".json") {
                serde_json::from_str::<Any>(text).unwrap();
            } else if name.ends_with(".table.toml") {
                sched::from_table(&toml::from_str(text).unwrap()).unwrap();
            } else {
                FileConfig::parse(text, p).unwrap();
            }
        }
        _ => assert!(!bytes.is_empty()),
    }
}

#[test]
fn fuzz_seeds_are_valid_inputs() {
    let write = std::env::var_os("LRATE_WRITE_FUZZ_SEEDS").is_some();
    for (target, name, bytes) in seeds() {
        valid(target, &name, &bytes);
        let path = corpus().join(target).join(&name);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let committed = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (LRATE_WRITE_FUZZ_SEEDS=1 cargo test -p lrate --test fuzz_seeds writes the seeds)",
                    path.display()
                )
            });
            valid(target, &name, &committed);
        }
    }
}
