//! End-to-end tests of the `lrate` trainer workflow, run in-process through the
//! `lrate` library exactly as the binary runs them (command-line parsing
//! included): range test then 1cycle on Fashion-MNIST, and a run described by
//! the shipped example config file. The binary itself (exit codes, Ctrl-C,
//! resume, corrupt files) is tested by `host/tests/cli.rs`.
//!
//! The Fashion-MNIST test runs on the subset vendored in
//! `host/tests/data/fashion-mnist-subset/` (the first 5000 training and 1000
//! test items, see its `SOURCE.md`), or on the directory named by
//! `LRATE_FASHION_MNIST` (e.g. a full copy of the dataset).

use std::path::{Path, PathBuf};

use clap::Parser;
use lrate::cli::{Cli, Command};
use lrate::metrics::Metrics;

fn train(args: &[&str]) -> lrate::train::Summary {
    let cli = Cli::try_parse_from(std::iter::once("lrate").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("bad arguments: {e}"));
    match cli.command {
        Some(Command::Train(a)) => lrate::train::run(&a).unwrap_or_else(|e| panic!("{e:#}")),
        other => panic!("not a train command: {other:?}"),
    }
}

/// Environment variable naming another Fashion-MNIST directory (gzipped IDX
/// files, e.g. the full dataset) for the end-to-end test.
const FASHION_MNIST_ENV: &str = "LRATE_FASHION_MNIST";

/// `$LRATE_FASHION_MNIST`, else the vendored subset. A directory without the
/// training images fails the test.
fn fashion_mnist() -> PathBuf {
    let (dir, origin) = match std::env::var_os(FASHION_MNIST_ENV) {
        Some(d) => (PathBuf::from(d), format!("from {FASHION_MNIST_ENV}")),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fashion-mnist-subset"),
            "the vendored subset; restore it with `git checkout -- host/tests/data`".to_string(),
        ),
    };
    let images = dir.join("train-images-idx3-ubyte.gz");
    assert!(
        images.is_file() || dir.join("train-images-idx3-ubyte").is_file(),
        "Fashion-MNIST not found: {} is missing ({origin})",
        images.display()
    );
    dir
}

/// The article's workflow on a Fashion-MNIST subset: the range test picks the
/// bounds, then two epochs of 1cycle reach at least 80 % test accuracy.
#[test]
fn fashion_mnist_find_then_one_cycle_learns() {
    let dir = fashion_mnist();
    let out = tempfile::tempdir().unwrap();
    let data = format!("fashion-mnist:{}", dir.display());
    let s = train(&[
        "train",
        "--data",
        &data,
        "--limit-train",
        "5000",
        "--limit-test",
        "1000",
        "--batch",
        "32",
        "--epochs",
        "2",
        "--start-lr",
        "1e-5",
        "--no-progress",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    eprintln!("fashion-mnist subset: {s:?}");
    assert!(s.test_acc >= 0.80, "test accuracy {} < 0.80", s.test_acc);
    assert!(s.max_lr > 1e-2 && s.max_lr < 3.0, "max_lr {}", s.max_lr);
    assert_eq!(s.schedule, "onecycle");
    let m = Metrics::read(&out.path().join("metrics.csv")).unwrap();
    assert_eq!(m.steps.len(), 2 * 5000 / 32);
    // 1cycle (fastai): peak at 25 % of the run, momentum at its low there.
    let peak = m.steps.iter().max_by(|a, b| a.lr.total_cmp(&b.lr)).unwrap();
    let at = peak.step as f32 / m.steps.len() as f32;
    assert!((at - 0.25).abs() < 0.02, "peak at {at}");
    assert!((peak.lr - s.max_lr).abs() < 1e-3 * s.max_lr);
    assert!((peak.momentum - 0.85).abs() < 1e-3);
    assert!(m.epochs[1].test_acc >= m.epochs[0].test_acc - 0.02);
}

/// A run configured by the shipped example file (its `[schedule.one_cycle]`
/// table), with flags overriding the file: the schedule is stretched to the run
/// and peaks at the given max lr; the model learns on the built-in data.
#[test]
fn example_config_drives_a_synthetic_run() {
    let out = tempfile::tempdir().unwrap();
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/onecycle.toml");
    let s = train(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--epochs",
        "2",
        "--max-lr",
        "0.2",
        "--limit-train",
        "2048",
        "--limit-test",
        "500",
        "--batch",
        "64",
        "--no-progress",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(s.epochs, 2);
    assert_eq!(s.max_lr, 0.2);
    assert!(
        s.test_acc >= 0.25,
        "test accuracy {} (chance 0.1)",
        s.test_acc
    );
    let m = Metrics::read(&out.path().join("metrics.csv")).unwrap();
    assert_eq!(m.steps.len(), 64);
    let top = m.steps.iter().map(|r| r.lr).fold(0.0, f32::max);
    assert!((top - 0.2).abs() < 1e-3, "peak lr {top}");
    // The file's div_factor 25: the first step runs at max_lr / 25.
    assert!((m.steps[0].lr - 0.2 / 25.0).abs() < 1e-6);
    assert!(out.path().join("training.svg").is_file());
}
