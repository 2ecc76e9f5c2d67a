//! Smoke test of the super-convergence experiment (issue 7): runs
//! `bench/superconvergence.sh --quick` end to end on small generated CIFAR-10
//! binary files with `resnet9` (the `cifar10:DIR` path a user with the real
//! files takes), then checks the report it writes: `superconvergence.json` with
//! the keys the issue asks for, `superconvergence.md` and the plots. A second
//! invocation must resume: skip every finished run, continue a run stopped
//! mid-way (after epoch 1 of 2) from its checkpoint, and finish a run whose
//! result is missing; both report exactly what the uninterrupted runs did.
//!
//! The script runs the `lrate` command line. This test binary is that command
//! line too (`harness = false`): started with `LRATE_TESTS_RUN_AS_CLI` set, its
//! `main` calls `lrate::app::main`, the same entry point as
//! `host/src/main.rs`, so the test needs no separately built binary.
//!
//! Needs `bash` and `python3` (the script and its report use only Python's
//! standard library); without them the test fails, naming what to install
//! (`bash scripts/test.sh` checks for both first). The script's progress log is
//! printed only when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, ExitCode, Stdio};

use serde_json::Value;

/// Environment variable that turns this binary into the `lrate` command line.
const AS_CLI: &str = "LRATE_TESTS_RUN_AS_CLI";

fn main() -> ExitCode {
    if std::env::var_os(AS_CLI).is_some() {
        return lrate::app::main();
    }
    let mut logs = Vec::new();
    match smoke(&mut logs) {
        Ok(()) => {
            println!("test superconvergence_smoke ... ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            for log in &logs {
                eprintln!("{log}");
            }
            eprintln!("test superconvergence_smoke ... FAILED\n{e}");
            ExitCode::FAILURE
        }
    }
}

fn has_tool(name: &str) -> bool {
    Process::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes `data_batch_1..5.bin` (`per_file` records each) and `test_batch.bin`
/// (`test` records): 3073-byte records, one label byte then 32×32 red, green and
/// blue planes. Each class has its own colour and stripe pattern plus noise, so
/// the images are learnable but not trivially so.
fn write_cifar(dir: &Path, per_file: usize, test: usize) {
    let mut state: u64 = 0x5eed_c1fa_0000_0007;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    let mut file = |name: &str, n: usize| {
        let mut bytes = Vec::with_capacity(n * 3073);
        for _ in 0..n {
            let label = (next() % 10) as u8;
            bytes.push(label);
            for c in 0..3u32 {
                for y in 0..32u32 {
                    for x in 0..32u32 {
                        let l = u32::from(label);
                        let colour = 40 + 30 * ((l + c) % 5);
                        let stripe = if ((x + l * y) / (2 + l % 3)) % 2 == 0 {
                            60
                        } else {
                            0
                        };
                        let noise = next() % 41;
                        bytes.push((colour + stripe + noise).min(255) as u8);
                    }
                }
            }
        }
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    for i in 1..=5 {
        file(&format!("data_batch_{i}.bin"), per_file);
    }
    file("test_batch.bin", test);
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Runs the script; returns its stderr (the progress log). Both of its output
/// streams are kept in `logs`, which is printed if the test fails.
fn run_script(
    data: &Path,
    out: &Path,
    report: &Path,
    logs: &mut Vec<String>,
) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let o = Process::new("bash")
        .arg(root().join("bench/superconvergence.sh"))
        .args(["--quick", "--model", "resnet9", "--data"])
        .arg(format!("cifar10:{}", data.display()))
        .arg("--out")
        .arg(out)
        .arg("--report-dir")
        .arg(report)
        .env(AS_CLI, "1")
        .env("LRATE", &exe)
        // The quick experiment list, cut further for CI: resnet9 is slow on a CPU.
        .env("BATCH", "16")
        .env("LIMIT_TRAIN", "32")
        .env("LIMIT_TEST", "32")
        .env("NUM_IT", "10")
        .env("ONECYCLE_EPOCHS", "1")
        .env("BASELINE_EPOCHS", "2")
        .env("CYCLIC_EPOCHS", "1")
        .env("GRID_EPOCHS", "1")
        .env("GRID", "0.05 0.4")
        .env("DEFAULT_LR", "0.05")
        .output()
        .map_err(|e| format!("cannot run bash: {e}"))?;
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    logs.push(format!(
        "--- superconvergence.sh run {} stderr ---\n{stderr}--- stdout ---\n{stdout}",
        logs.len() + 1
    ));
    if !o.status.success() {
        return Err(format!("superconvergence.sh failed: {}", o.status));
    }
    Ok(stderr)
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn smoke(logs: &mut Vec<String>) -> Result<(), String> {
    let missing: Vec<&str> = ["bash", "python3"]
        .into_iter()
        .filter(|tool| !has_tool(tool))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "bench/superconvergence.sh needs {} on PATH (python3: the standard library \
             is enough); install {} (e.g. `apt-get install -y bash python3` on \
             Debian/Ubuntu) — `bash scripts/test.sh` checks for them first",
            missing.join(" and "),
            if missing.len() == 1 { "it" } else { "them" },
        ));
    }
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = tmp.path().join("cifar");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    write_cifar(&data, 40, 60);
    let out = tmp.path().join("exp");
    let report = tmp.path().join("report");

    run_script(&data, &out, &report, logs)?;

    let text = std::fs::read_to_string(report.join("superconvergence.json"))
        .map_err(|e| format!("no superconvergence.json: {e}"))?;
    let j: Value = serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))?;
    let acc = |v: &Value| v.as_f64().is_some_and(|a| (0.0..=1.0).contains(&a));
    check(j["model"] == "resnet9", || format!("model: {}", j["model"]))?;
    check(j["quick"] == true, || "quick flag".into())?;
    check(acc(&j["onecycle_acc_by_epochs"]["1"]), || {
        format!("onecycle_acc_by_epochs: {}", j["onecycle_acc_by_epochs"])
    })?;
    let ett = j["epochs_to_target"]
        .as_object()
        .ok_or("epochs_to_target is not an object")?;
    for k in [
        "onecycle-auto",
        "constant-minlr",
        "constant-0.05",
        "multistep-0.05",
        "clr-auto",
        "sgdr-auto",
    ] {
        let v = ett
            .get(k)
            .ok_or_else(|| format!("epochs_to_target lacks {k}: {ett:?}"))?;
        check(v.is_null() || v.as_u64().is_some_and(|e| e >= 1), || {
            format!("epochs_to_target[{k}] = {v}")
        })?;
    }
    let grid = j["grid"].as_object().ok_or("grid is not an object")?;
    check(grid.len() == 2 && acc(&grid["0.05"]), || {
        format!("grid: {grid:?}")
    })?;
    check(grid["0.4"].is_null() || acc(&grid["0.4"]), || {
        format!("grid: {grid:?}")
    })?;
    check(j["auto_max_lr"].as_f64().is_some_and(|v| v > 0.0), || {
        format!("auto_max_lr: {}", j["auto_max_lr"])
    })?;
    check(j["auto_minus_best_grid_pp"].is_f64(), || {
        format!("auto_minus_best_grid_pp: {}", j["auto_minus_best_grid_pp"])
    })?;
    for k in ["range_test_seconds", "grid_seconds"] {
        check(j[k].as_f64().is_some_and(|v| v > 0.0), || {
            format!("{k}: {}", j[k])
        })?;
    }
    check(
        j["targets"].as_array().is_some_and(|t| t.len() == 4),
        || format!("targets: {}", j["targets"]),
    )?;
    let runs = j["runs"].as_object().ok_or("runs is not an object")?;
    // The quick experiment list: 7 single-seed runs and 1cycle at the range test's pick
    // for each of the quick mode's 2 auto seeds, with the seed in its name.
    let auto: Vec<&String> = runs
        .keys()
        .filter(|k| k.starts_with("onecycle-auto"))
        .collect();
    check(
        auto.len() == 2
            && auto
                .iter()
                .all(|k| k.ends_with("-s0") || k.ends_with("-s1")),
        || format!("auto runs per seed: {auto:?}"),
    )?;
    check(
        j["auto_acc_by_seed"].is_object() || j["onecycle_auto"].is_object(),
        || "auto rows per seed missing".into(),
    )?;
    check(runs.len() == 9, || {
        format!("expected 9 runs, got {:?}", runs.keys())
    })?;
    for (name, r) in runs {
        check(r["status"] == "ok" || r["status"] == "diverged", || {
            format!("run {name}: {r}")
        })?;
    }
    let md = std::fs::read_to_string(report.join("superconvergence.md"))
        .map_err(|e| format!("no superconvergence.md: {e}"))?;
    for needle in ["resnet9", "cifar10:", "## Targets", "## 5. Grid", "nproc"] {
        check(md.contains(needle), || format!("report lacks `{needle}`"))?;
    }
    for svg in [
        "superconvergence_accuracy.svg",
        "superconvergence_lr_momentum.svg",
        "superconvergence_grid.svg",
        "superconvergence_range_test.svg",
    ] {
        let s = std::fs::read_to_string(report.join(svg)).map_err(|e| format!("{svg}: {e}"))?;
        check(s.starts_with("<svg") || s.contains("<svg"), || {
            format!("{svg} is not an SVG")
        })?;
    }

    // Resume: a finished run is not run again; a run without result.json continues from
    // its checkpoint and reports what the uninterrupted run reported. Two such runs:
    // one stopped mid-way (epoch 1 of the 2 of a multistep baseline, re-run here by its
    // own recorded command with `--stop-after 1`), and one whose checkpoint is complete.
    let read_result = |dir: &Path| -> Result<Value, String> {
        let text = std::fs::read_to_string(dir.join("result.json"))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    };
    let mid_run = out.join("runs/multistep-0.05-2ep");
    let mid_before = read_result(&mid_run)?;
    let command = std::fs::read_to_string(mid_run.join("command.txt"))
        .map_err(|e| format!("command.txt: {e}"))?;
    std::fs::remove_dir_all(&mid_run).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&mid_run).map_err(|e| e.to_string())?;
    let stopped = Process::new("bash")
        .arg("-c")
        .arg(format!("{} --stop-after 1", command.trim()))
        .env(AS_CLI, "1")
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run bash: {e}"))?;
    logs.push(format!(
        "--- {} --stop-after 1 ---\n{}",
        command.trim(),
        String::from_utf8_lossy(&stopped.stderr)
    ));
    check(stopped.status.success(), || {
        format!("the mid-way run failed: {}", stopped.status)
    })?;
    check(mid_run.join("checkpoint.safetensors").is_file(), || {
        "the run stopped after epoch 1 left no checkpoint".into()
    })?;
    check(!mid_run.join("result.json").exists(), || {
        "the run stopped after epoch 1 already has a result".into()
    })?;
    let metrics = std::fs::read_to_string(mid_run.join("metrics.csv")).unwrap_or_default();
    let grid_run = out.join("runs/grid-onecycle-0.05-1ep");
    let grid_before = read_result(&grid_run)?;
    std::fs::remove_file(grid_run.join("result.json")).map_err(|e| e.to_string())?;

    let log = run_script(&data, &out, &report, logs)?;
    for name in ["multistep-0.05-2ep", "grid-onecycle-0.05-1ep"] {
        check(log.contains(&format!("resume {name}")), || {
            format!("second invocation did not resume {name}, which had no result")
        })?;
    }
    // 9 runs less the 2 resumed ones, and the range tests of the 2 auto seeds.
    check(log.matches("skip ").count() == 9, || {
        format!(
            "second invocation did not skip the 9 finished runs (finds included): {} skips",
            log.matches("skip ").count()
        )
    })?;
    check(!log.contains("start "), || {
        "second invocation started a run again".into()
    })?;
    let metrics_after = std::fs::read_to_string(mid_run.join("metrics.csv")).unwrap_or_default();
    check(
        metrics_after.lines().count() > metrics.lines().count(),
        || {
            format!(
                "the resumed run added no metrics (before: {} lines, after: {})",
                metrics.lines().count(),
                metrics_after.lines().count()
            )
        },
    )?;
    for (dir, before) in [(&mid_run, &mid_before), (&grid_run, &grid_before)] {
        let after = read_result(dir)?;
        for key in ["test_acc", "train_loss", "steps"] {
            check(before[key] == after[key], || {
                format!(
                    "{}: resumed {key} differs from the uninterrupted run: {} vs {}",
                    dir.display(),
                    before[key],
                    after[key]
                )
            })?;
        }
    }
    Ok(())
}
