//! End-to-end tests of the `lrate` binary: small runs on the built-in data,
//! exact resume, Ctrl-C, divergence, corrupt input files and the schedule printer.
//!
//! Sizes are kept small so that the whole file runs in well under a minute with
//! the binary built at opt-level ≥ 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{fails, lrate, stderr};
use lrate::data::{cifar10, idx};
use lrate::metrics::Metrics;

fn ok(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "lrate failed: {}", stderr(o));
    let out = String::from_utf8_lossy(&o.stdout);
    let last = out.lines().last().expect("no stdout");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"))
}

/// Small synthetic runs: 2048 training images in batches of 32.
const SMALL: [&str; 8] = [
    "--limit-train",
    "2048",
    "--limit-test",
    "1000",
    "--batch",
    "32",
    "--no-progress",
    "--seed",
];

#[test]
fn find_and_one_epoch_beat_chance() {
    let d = tempfile::tempdir().unwrap();
    let mut args = vec![
        "train",
        "--epochs",
        "1",
        "--start-lr",
        "1e-4",
        "--num-it",
        "80",
        "--out",
        "run",
    ];
    args.extend(SMALL);
    args.push("1");
    let s = ok(&lrate(d.path(), &args));
    let acc = s["test_acc"].as_f64().unwrap();
    assert!(acc >= 0.25, "one epoch reached only {acc} (chance is 0.1)");
    assert_eq!(s["epochs"], 1);
    assert!(s["max_lr"].as_f64().unwrap() > 1e-3);
    for k in ["seconds", "img_per_s"] {
        assert!(s[k].as_f64().unwrap() > 0.0, "{k}");
    }
    let run = d.path().join("run");
    for f in [
        "lr_find.csv",
        "lr_find.json",
        "lr_find.svg",
        "lr_find.png",
        "metrics.csv",
        "training.svg",
        "training.png",
        "checkpoint.safetensors",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    // The range test itself learned: its smoothed loss fell by at least 10 %.
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("lr_find.json")).unwrap()).unwrap();
    let drop = j["loss_drop"].as_f64().unwrap();
    assert!(drop >= 0.1, "range test loss fell by only {drop}");
    assert!(j["bounds"]["max_lr"].as_f64().unwrap() > j["bounds"]["min_lr"].as_f64().unwrap());
    // One CSV row per batch of the longest of the (default 3) sweeps.
    let csv = std::fs::read_to_string(run.join("lr_find.csv")).unwrap();
    let sweeps = j["sweeps"].as_array().unwrap();
    assert_eq!(sweeps.len(), 3);
    let longest = sweeps
        .iter()
        .map(|s| s["batches"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(csv.lines().count() as u64, longest + 1);
    let m = Metrics::read(&run.join("metrics.csv")).unwrap();
    assert_eq!(m.steps.len(), 64);
    assert_eq!(m.epochs.len(), 1);
    // 1cycle: the momentum falls while the lr rises.
    assert!(m.steps[0].momentum > m.steps[20].momentum);
    assert!(m.steps[0].lr < m.steps[20].lr);
    let svg = std::fs::read_to_string(run.join("lr_find.svg")).unwrap();
    assert!(svg.contains("near-min") && svg.contains("valley"));
}

fn step_rows(dir: &Path) -> Metrics {
    Metrics::read(&dir.join("metrics.csv")).unwrap()
}

fn assert_same_run(a: &Metrics, b: &Metrics) {
    assert_eq!(a.steps.len(), b.steps.len());
    for (x, y) in a.steps.iter().zip(&b.steps) {
        assert_eq!((x.step, x.epoch), (y.step, y.epoch));
        assert_eq!(
            x.lr.to_bits(),
            y.lr.to_bits(),
            "lr differs at step {}",
            x.step
        );
        assert_eq!(
            x.momentum.to_bits(),
            y.momentum.to_bits(),
            "momentum differs at step {}",
            x.step
        );
        assert!(
            (x.loss - y.loss).abs() <= 1e-4 * x.loss.abs().max(1.0),
            "loss differs at step {}: {} vs {}",
            x.step,
            x.loss,
            y.loss
        );
    }
    assert_eq!(a.epochs.len(), b.epochs.len());
    for (x, y) in a.epochs.iter().zip(&b.epochs) {
        assert!(
            (x.test_acc - y.test_acc).abs() <= 0.002,
            "accuracy {} vs {}",
            x.test_acc,
            y.test_acc
        );
    }
}

const RESUME: [&str; 13] = [
    "train",
    "--epochs",
    "2",
    "--max-lr",
    "0.1",
    "--limit-train",
    "512",
    "--limit-test",
    "200",
    "--batch",
    "32",
    "--no-progress",
    "--seed",
];

/// RESUME's run with 2048 training images, the given `--seed` and an `--out` directory.
#[cfg(unix)]
fn long_resume_args(seed: &str, out: &str) -> Vec<String> {
    let mut v: Vec<String> = RESUME.iter().map(|s| s.to_string()).collect();
    let i = v.iter().position(|a| a == "--limit-train").unwrap();
    v[i + 1] = "2048".into();
    v.extend([seed, "--out", out].map(String::from));
    v
}

/// [`long_resume_args`] with `--epochs EPOCHS` instead of RESUME's 2.
#[cfg(unix)]
fn long_resume_args_epochs(seed: &str, epochs: &str, out: &str) -> Vec<String> {
    let mut a = long_resume_args(seed, out);
    let i = a.iter().position(|x| x == "--epochs").unwrap();
    a[i + 1] = epochs.into();
    a
}

/// Starts `lrate args` in `dir` and reads its stderr until a line satisfies `until`
/// (panicking, with the log, if it ends first: "lrate ended before {what}").
/// Returns the running child, the rest of its stderr and the log so far.
#[cfg(unix)]
fn spawn_until(
    dir: &Path,
    args: &[String],
    what: &str,
    until: impl Fn(&str) -> bool,
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStderr>,
    String,
) {
    use std::io::BufRead;
    use std::process::Stdio;
    #[allow(clippy::zombie_processes)] // the caller waits for it
    let mut child = Command::new(env!("CARGO_BIN_EXE_lrate"))
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            panic!("lrate ended before {what}: {log}");
        }
        log.push_str(&line);
        if until(&line) {
            return (child, err, log);
        }
    }
}

#[test]
fn resume_continues_exactly() {
    let d = tempfile::tempdir().unwrap();
    let mut a = RESUME.to_vec();
    a.extend(["3", "--out", "straight"]);
    let full = ok(&lrate(d.path(), &a));
    assert_eq!(full["epochs"], 2);

    let mut b = RESUME.to_vec();
    b.extend(["3", "--out", "split", "--stop-after", "1"]);
    let half = ok(&lrate(d.path(), &b));
    assert_eq!(half["epochs"], 1);
    assert_eq!(step_rows(&d.path().join("split")).steps.len(), 16);
    let resumed = ok(&lrate(
        d.path(),
        &["train", "--resume", "--out", "split", "--no-progress"],
    ));
    assert_eq!(resumed["epochs"], 2);
    assert_same_run(
        &step_rows(&d.path().join("straight")),
        &step_rows(&d.path().join("split")),
    );

    // A finished run resumes to nothing and says so in its summary.
    let again = ok(&lrate(
        d.path(),
        &["train", "--resume", "--out", "split", "--no-progress"],
    ));
    assert_eq!(again["steps"], 32);

    // Resuming where there is no checkpoint is a clean error.
    fails(
        &lrate(d.path(), &["train", "--resume", "--out", "nothing"]),
        &["no checkpoint", "nothing"],
    );
}

/// `--resume` runs on the device its checkpoint names: a checkpoint that says `cuda`
/// (faked by editing its metadata) fails in a build without the `cuda` feature, with a
/// message naming the feature and the way out, and `--device cpu` overrides it.
#[cfg(not(feature = "cuda"))]
#[test]
fn resume_uses_the_checkpoint_device() {
    use lrate::checkpoint::Checkpoint;
    let d = tempfile::tempdir().unwrap();
    let mut a = RESUME.to_vec();
    a.extend(["7", "--out", "dev", "--stop-after", "1"]);
    assert_eq!(ok(&lrate(d.path(), &a))["epochs"], 1);
    let path = d.path().join("dev/checkpoint.safetensors");
    let mut ck = Checkpoint::load(&path).unwrap();
    let mut meta: serde_json::Value = serde_json::from_str(&ck.meta).unwrap();
    assert_eq!(meta["common"]["device"], "cpu", "{meta}");
    meta["common"]["device"] = "cuda".into();
    ck.meta = meta.to_string();
    ck.save(&path).unwrap();

    let resume = ["train", "--resume", "--out", "dev", "--no-progress"];
    fails(
        &lrate(d.path(), &resume),
        &["cuda", "feature", "--device cpu"],
    );
    // Nothing was lost: the refused resume left the checkpoint as it was.
    assert_eq!(Checkpoint::load(&path).unwrap(), ck);
    let mut on_cpu = resume.to_vec();
    on_cpu.extend(["--device", "cpu"]);
    assert_eq!(ok(&lrate(d.path(), &on_cpu))["epochs"], 2);
}

#[cfg(unix)]
#[test]
fn ctrl_c_checkpoints_mid_epoch_and_resume_matches() {
    let d = tempfile::tempdir().unwrap();
    // RESUME's run with 2048 training images (128 steps), so that it is still
    // training when the signal comes.
    let args = |out: &str| long_resume_args("4", out);
    let (mut child, mut err, log) = spawn_until(d.path(), &args("cut"), "training", |line| {
        line.contains("lrate: training")
    });
    // The handler is installed before that line is printed; a short pause lets a
    // few steps run (the run takes seconds, so it cannot finish first).
    std::thread::sleep(std::time::Duration::from_millis(50));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{log}{rest}");
    assert!(rest.contains("--resume"), "{rest}");
    let cut = d.path().join("cut");
    let m = step_rows(&cut);
    assert!(
        !m.steps.is_empty() && m.steps.len() < 128,
        "{} steps before the interrupt",
        m.steps.len()
    );
    ok(&lrate(
        d.path(),
        &["train", "--resume", "--out", "cut", "--no-progress"],
    ));
    let m = step_rows(&cut);
    assert_eq!(m.steps.len(), 128);
    // The learning-rate and momentum sequence is the one of an uninterrupted run
    // of the same length (1cycle over 128 steps) …
    let c = args("whole");
    ok(&lrate(
        d.path(),
        &c.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_same_run(&step_rows(&d.path().join("whole")), &m);
}

/// SIGKILL at 12 pseudo-random moments of one 3-epoch run (mid-epoch after a random delay,
/// inside an evaluation, inside an atomic write: the run is slowed there by the test-only
/// `LRATE_TEST_PAUSE`), each time continuing with `--resume` (or afresh while no checkpoint
/// exists yet). Every kill leaves a loadable checkpoint or none, and the finished run has
/// the uninterrupted run's final weights bit for bit, every metrics row once, and the same
/// lr, momentum and loss at every step.
#[cfg(unix)]
#[test]
fn killed_anywhere_resumes_exactly() {
    use lrate::checkpoint::Checkpoint;
    let d = tempfile::tempdir().unwrap();
    let three = |out: &str| long_resume_args_epochs("8", "3", out);
    let whole = three("whole");
    ok(&lrate(
        d.path(),
        &whole.iter().map(String::as_str).collect::<Vec<_>>(),
    ));

    let killed = d.path().join("killed");
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |n: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    let (mut by_phase, mut in_write_window) = ([0u32; 3], 0u32);
    // (phase, n): 0 mid-epoch (a random delay after training starts), 1 inside the n-th
    // evaluation, 2 inside the n-th atomic write of this invocation. An epoch ends with
    // evaluation, then the writes of metrics.csv (1), checkpoint.safetensors (2),
    // training.svg (3) and .png (4): kills at writes 3 and 4 leave that epoch saved, so
    // the run moves through all 3 epochs.
    let plan = [
        (0, 0),
        (1, 1),
        (2, 1),
        (0, 0),
        (2, 3), // epoch 1
        (1, 1),
        (0, 0),
        (2, 2),
        (2, 4), // epoch 2
        (1, 1),
        (0, 0),
        (1, 1), // epoch 3
    ];
    for (k, &(phase, nth)) in plan.iter().enumerate() {
        let args: Vec<String> = if killed.join("checkpoint.safetensors").is_file() {
            ["train", "--resume", "--out", "killed", "--no-progress"]
                .map(String::from)
                .to_vec()
        } else {
            let mut a = three("killed");
            a.push("--overwrite".into());
            a
        };
        let mut seen = 0;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lrate"));
        cmd.args(&args)
            .current_dir(d.path())
            .env(lrate::pause::ENV, "eval:300,write:300")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut log = String::new();
        loop {
            let mut line = String::new();
            use std::io::BufRead;
            if err.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                let files: Vec<_> = std::fs::read_dir(&killed)
                    .unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                panic!(
                    "kill {k}: the run ended ({status}) before its kill point: {log}\n{files:?}"
                );
            }
            log.push_str(&line);
            let hit = match phase {
                0 => line.contains("lrate: training"),
                1 => line.contains("lrate-test: pause in eval"),
                _ => line.contains("lrate-test: pause in write"),
            };
            if hit {
                seen += 1;
                if phase == 0 || seen == nth {
                    break;
                }
            }
        }
        if phase == 0 {
            std::thread::sleep(std::time::Duration::from_millis(50 + next(900)));
        }
        if phase == 2
            && std::fs::read_dir(&killed)
                .unwrap()
                .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "tmp"))
        {
            in_write_window += 1;
        }
        child.kill().unwrap(); // SIGKILL
        assert!(!child.wait().unwrap().success(), "kill {k}: {log}");
        by_phase[phase] += 1;
        // Whatever the moment, the checkpoint on disk (if any) loads.
        let ck = killed.join("checkpoint.safetensors");
        if ck.is_file() {
            Checkpoint::load(&ck).unwrap_or_else(|e| panic!("kill {k}: {e:#}\n{log}"));
        }
    }
    assert_eq!(by_phase, [4, 4, 4]);
    assert_eq!(plan.len(), 12);
    assert_eq!(
        in_write_window, 4,
        "every write kill landed inside the write"
    );
    let last = ok(&lrate(
        d.path(),
        &["train", "--resume", "--out", "killed", "--no-progress"],
    ));
    assert_eq!(last["epochs"], 3);

    let weights =
        |dir: &str| Checkpoint::load(&d.path().join(dir).join("weights.safetensors")).unwrap();
    let (a, b) = (weights("whole"), weights("killed"));
    assert_eq!(a.model.len(), b.model.len());
    for ((na, sa, va), (nb, sb, vb)) in a.model.iter().zip(&b.model) {
        assert_eq!((na, sa), (nb, sb));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert!(bits(va) == bits(vb), "tensor {na} differs after the kills");
    }
    let (ma, mb) = (step_rows(&d.path().join("whole")), step_rows(&killed));
    assert_same_run(&ma, &mb);
    for (i, (x, y)) in ma.steps.iter().zip(&mb.steps).enumerate() {
        assert_eq!(
            y.step as usize, i,
            "metrics rows: step {} at row {i}",
            y.step
        );
        assert_eq!(
            x.loss.to_bits(),
            y.loss.to_bits(),
            "loss at step {}",
            x.step
        );
    }
    assert_eq!(mb.epochs.len(), 3);
}

/// A disk that fills up mid-run (the checkpoint's temporary file made a link to
/// `/dev/full`, which refuses every write with ENOSPC): the run stops with an error naming
/// the file and the cause, the previous checkpoint stays intact and loadable, and once
/// there is space again `--resume` finishes the run as if nothing had happened.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_stops_the_run_and_keeps_the_last_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path();
    let (mut child, mut err, mut log) = spawn_until(
        t,
        &long_resume_args_epochs("9", "3", "full"),
        "its first epoch finished",
        |line| line.starts_with("epoch 1/3"),
    );
    let full = t.join("full");
    let tmp = full.join("checkpoint.safetensors.tmp");
    std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
    std::fs::copy(full.join("checkpoint.safetensors"), t.join("saved")).unwrap();
    std::io::Read::read_to_string(&mut err, &mut log).unwrap();
    let status = child.wait().unwrap();
    std::fs::write(t.join("err"), &log).unwrap();
    std::fs::write(t.join("rc"), format!("{}", status.code().unwrap_or(-1))).unwrap();
    // The failed write removed its temporary file (here the link to /dev/full): space again.
    assert!(
        std::fs::symlink_metadata(&tmp).is_err(),
        "the temporary file is left"
    );
    stopped_cleanly_and_resumes(
        t,
        "full",
        &[
            "checkpoint.safetensors.tmp",
            "write failed",
            "No space left on device",
        ],
        "9",
    );
}

/// Runs `script` with `sh` in a private mount namespace (`unshare -r -m`: a user namespace
/// maps this user to root there, so no privileges are needed; mounts made inside vanish
/// with it). `$LRATE` is the binary, `$T` the test's directory; the script's exit code
/// is returned with its output. Used for filesystems that fill up or turn read-only.
#[cfg(target_os = "linux")]
fn in_mount_namespace(t: &Path, script: &str, args: &[String]) -> Output {
    let o = Command::new("unshare")
        .args(["-r", "-m", "sh", "-euc", script, "sh"])
        .args(args)
        .env("LRATE", env!("CARGO_BIN_EXE_lrate"))
        .env("T", t)
        .current_dir(t)
        .output()
        .expect("cannot run unshare (util-linux)");
    assert!(
        o.status.success(),
        "namespace script failed ({:?}): {}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    o
}

/// The shell lines that start `lrate "$@"` in the background with stderr to `$T/err` and
/// wait until its first epoch has finished (its checkpoint written).
#[cfg(target_os = "linux")]
const START_AND_WAIT_EPOCH_1: &str = r#"
"$LRATE" "$@" 2>"$T/err" >/dev/null &
pid=$!
until grep -q '^epoch 1/3' "$T/err"; do
  kill -0 "$pid" 2>/dev/null || { cat "$T/err"; exit 90; }
  sleep 0.05
done
"#;

/// After a run stopped by a write failure (its stderr in `t/err`, its exit code in `t/rc`):
/// exit code 1 with `needles` in its stderr, the first epoch's checkpoint (`t/saved`, copied
/// when the failure began) intact and loadable in `run`, and `--resume` there finishing
/// exactly the uninterrupted run.
#[cfg(target_os = "linux")]
fn stopped_cleanly_and_resumes(t: &Path, run: &str, needles: &[&str], seed: &str) {
    use lrate::checkpoint::Checkpoint;
    let log = std::fs::read_to_string(t.join("err")).unwrap();
    let rc = std::fs::read_to_string(t.join("rc")).unwrap();
    assert_eq!(rc.trim(), "1", "exit code: {log}");
    assert!(!log.contains("panicked"), "{log}");
    for n in needles {
        assert!(log.contains(n), "stderr lacks `{n}`: {log}");
    }
    let ck_path = t.join(run).join("checkpoint.safetensors");
    assert_eq!(
        std::fs::read(&ck_path).unwrap(),
        std::fs::read(t.join("saved")).unwrap(),
        "the checkpoint changed"
    );
    let ck = Checkpoint::load(&ck_path).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&ck.meta).unwrap();
    assert_eq!(meta["step"], 64, "the first epoch's checkpoint");
    let resumed = ok(&lrate(
        t,
        &["train", "--resume", "--out", run, "--no-progress"],
    ));
    assert_eq!(resumed["epochs"], 3);
    let whole = long_resume_args_epochs(seed, "3", "whole");
    ok(&lrate(
        t,
        &whole.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_same_run(&step_rows(&t.join("whole")), &step_rows(&t.join(run)));
}

/// The output directory's filesystem turns read-only mid-run (a bind mount of it remounted
/// `ro` after the first epoch, in a private mount namespace): the run stops with an error
/// naming the file it could not create (the epoch's first write, a plot) and "Read-only
/// file system", the first epoch's checkpoint stays intact
/// and loadable, and once the filesystem is writable again `--resume` finishes the run
/// exactly as an uninterrupted one.
#[cfg(target_os = "linux")]
#[test]
fn a_filesystem_turning_read_only_stops_the_run_and_keeps_the_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path();
    std::fs::create_dir(t.join("vol")).unwrap();
    let script = format!(
        r#"mount --bind "$T/vol" "$T/vol"
{START_AND_WAIT_EPOCH_1}
n=0
until mount -o remount,bind,ro "$T/vol" 2>/dev/null; do
  n=$((n + 1)); [ "$n" -lt 200 ] || exit 91; sleep 0.05
done
touch "$T/vol/probe" 2>/dev/null && exit 92
cp "$T/vol/run/checkpoint.safetensors" "$T/saved"
set +e; wait "$pid"; echo $? >"$T/rc""#
    );
    in_mount_namespace(t, &script, &long_resume_args_epochs("9", "3", "vol/run"));
    stopped_cleanly_and_resumes(
        t,
        "vol/run",
        &[".tmp: cannot create", "Read-only file system"],
        "9",
    );
}

/// The output directory's filesystem fills up mid-run (a small tmpfs, filled by another
/// writer after the first epoch to half a checkpoint short of what the next checkpoint
/// needs, so the write fails part-way with ENOSPC): the run stops with an error naming the
/// file and "No space left on device", the first epoch's checkpoint stays intact and
/// loadable, and with space again `--resume` finishes the run exactly.
#[cfg(target_os = "linux")]
#[test]
fn a_filesystem_filling_up_stops_the_run_and_keeps_the_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path();
    std::fs::create_dir(t.join("vol")).unwrap();
    let script = format!(
        r#"mount -t tmpfs -o size=16m lrate-test "$T/vol"
{START_AND_WAIT_EPOCH_1}
cp "$T/vol/run/checkpoint.safetensors" "$T/saved"
ck=$(( $(stat -c %s "$T/saved") / 1024 ))
avail=$(df -k --output=avail "$T/vol" | tail -n 1)
head -c $(( (avail - ck / 2) * 1024 )) /dev/zero >"$T/vol/filler" 2>/dev/null || true
set +e; wait "$pid"; echo $? >"$T/rc"; set -e
rm "$T/vol/filler"
cp -a "$T/vol/run" "$T/run""#
    );
    in_mount_namespace(t, &script, &long_resume_args_epochs("9", "3", "vol/run"));
    assert!(
        !t.join("run/checkpoint.safetensors.tmp").exists(),
        "the part-written temporary file is left"
    );
    stopped_cleanly_and_resumes(t, "run", &["No space left on device"], "9");
}

/// A fresh run never erases another: an explicit `--out` holding a run is refused (the
/// files stay byte for byte) until `--overwrite`; `find` likewise; the default directory
/// moves on to `runs/lrate-2` and the summary line says so; `--resume` without `--out`
/// continues the latest of them.
#[test]
fn a_fresh_run_never_overwrites_another() {
    let d = tempfile::tempdir().unwrap();
    let mut a = RESUME.to_vec();
    a[2] = "1"; // --epochs 1
    a.extend(["1", "--out", "kept"]);
    ok(&lrate(d.path(), &a));
    let kept = d.path().join("kept");
    let before: Vec<Vec<u8>> = [
        "checkpoint.safetensors",
        "metrics.csv",
        "weights.safetensors",
    ]
    .iter()
    .map(|f| std::fs::read(kept.join(f)).unwrap())
    .collect();
    fails(
        &lrate(d.path(), &a),
        &[
            "kept already holds a run",
            "--resume --out kept",
            "--overwrite",
        ],
    );
    let mut f = vec!["find", "--model", "mlp", "--num-it", "20", "--out", "kept"];
    f.extend(["--limit-train", "256", "--no-progress"]);
    fails(
        &lrate(d.path(), &f),
        &["kept already holds a run", "--overwrite"],
    );
    for (i, name) in [
        "checkpoint.safetensors",
        "metrics.csv",
        "weights.safetensors",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(std::fs::read(kept.join(name)).unwrap(), before[i], "{name}");
    }
    let mut over = a.clone();
    over[RESUME.len()] = "2"; // another seed, replacing the run on purpose
    over.push("--overwrite");
    assert_eq!(ok(&lrate(d.path(), &over))["epochs"], 1);
    assert_ne!(
        std::fs::read(kept.join("weights.safetensors")).unwrap(),
        before[2]
    );

    // The default directory: the second run goes to runs/lrate-2.
    let mut def = RESUME.to_vec();
    def[2] = "1"; // --epochs 1
    def.push("1");
    let first = ok(&lrate(d.path(), &def));
    assert_eq!(first["out"], "runs/lrate");
    let o = lrate(d.path(), &def);
    let second = ok(&o);
    assert_eq!(second["out"], "runs/lrate-2");
    assert!(
        stderr(&o).contains("runs/lrate holds an earlier run"),
        "{}",
        stderr(&o)
    );
    assert!(d.path().join("runs/lrate/weights.safetensors").is_file());
    // Resuming without --out continues the latest (here: finished, so nothing to do).
    let mut stop = RESUME.to_vec(); // 2 epochs, stopped after the first
    stop.extend(["1", "--stop-after", "1"]);
    assert_eq!(ok(&lrate(d.path(), &stop))["out"], "runs/lrate-3");
    let resumed = ok(&lrate(d.path(), &["train", "--resume", "--no-progress"]));
    assert_eq!(
        (resumed["out"].clone(), resumed["epochs"].clone()),
        ("runs/lrate-3".into(), 2.into())
    );
}

/// Two processes on one directory: the second fails at once naming the first's pid,
/// for a fresh run and for `--resume`; the lock goes with its holder, even by SIGKILL.
#[cfg(unix)]
#[test]
fn a_second_writer_is_refused_until_the_first_is_gone() {
    let d = tempfile::tempdir().unwrap();
    let args = long_resume_args("6", "busy");
    let (mut child, _err, _log) = spawn_until(d.path(), &args, "training starts", |line| {
        line.contains("lrate: training")
    });
    let pid = format!("pid {}", child.id());
    let mut fresh = args.iter().map(String::as_str).collect::<Vec<_>>();
    fresh.push("--overwrite");
    for second in [
        lrate(d.path(), &fresh),
        lrate(
            d.path(),
            &["train", "--resume", "--out", "busy", "--no-progress"],
        ),
    ] {
        fails(&second, &["busy is in use by another lrate process", &pid]);
    }
    let st = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    child.wait().unwrap();
    // The holder is gone: the directory can be taken again (a fresh run on purpose).
    assert_eq!(ok(&lrate(d.path(), &fresh))["epochs"], 2);
}

/// SIGKILL in the second epoch: the checkpoint of the first survives, resume
/// redoes only the lost epoch, and the run ends as an uninterrupted one.
#[cfg(unix)]
#[test]
fn sigkill_loses_at_most_the_current_epoch() {
    let d = tempfile::tempdir().unwrap();
    let args = |out: &str| long_resume_args("5", out);
    let (mut child, _err, _log) = spawn_until(
        d.path(),
        &args("killed"),
        "its first epoch finished",
        |line| line.starts_with("epoch 1/2"),
    );
    // The line is printed after the epoch's checkpoint is written.
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let killed = d.path().join("killed");
    let ck = lrate::checkpoint::Checkpoint::load(&killed.join("checkpoint.safetensors")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&ck.meta).unwrap();
    assert_eq!(meta["step"], 64, "the first epoch's checkpoint");
    ok(&lrate(
        d.path(),
        &["train", "--resume", "--out", "killed", "--no-progress"],
    ));
    let whole = args("whole");
    ok(&lrate(
        d.path(),
        &whole.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_same_run(&step_rows(&d.path().join("whole")), &step_rows(&killed));
}

#[test]
fn divergence_stops_with_a_clear_message_and_keeps_the_last_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    // lr 0.05 for the first epoch (8 steps), then 1e6.
    std::fs::write(
        d.path().join("boom.toml"),
        "[run]\nepochs = 3\nbatch = 64\nlimit_train = 512\nlimit_test = 100\nout = \"boom\"\n\
         [schedule.piecewise_constant]\nboundaries = [8]\nvalues = [0.05, 1e6]\n",
    )
    .unwrap();
    let o = lrate(
        d.path(),
        &["train", "--config", "boom.toml", "--no-progress"],
    );
    fails(
        &o,
        &[
            "diverged",
            "lower --max-lr",
            "last good checkpoint",
            "checkpoint.safetensors",
        ],
    );
    let e = stderr(&o);
    let step: u32 = e
        .split("at step ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(step >= 8, "{e}");
    assert!(d.path().join("boom/checkpoint.safetensors").is_file());
    let ck =
        lrate::checkpoint::Checkpoint::load(&d.path().join("boom/checkpoint.safetensors")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&ck.meta).unwrap();
    // The checkpoint is the one of the last epoch that finished before the bad step.
    assert_eq!(meta["step"].as_u64().unwrap(), u64::from(step / 8 * 8));
    assert!(ck.model.iter().all(|t| t.2.iter().all(|v| v.is_finite())));
}

fn write_idx(dir: &Path, prefix: &str, n: usize) {
    let px: Vec<u8> = (0..n * 28 * 28).map(|i| (i % 255) as u8).collect();
    let lb: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    std::fs::write(
        dir.join(format!("{prefix}-images-idx3-ubyte")),
        idx::encode_images(n, 28, 28, &px),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{prefix}-labels-idx1-ubyte")),
        idx::encode_labels(&lb),
    )
    .unwrap();
}

#[test]
fn corrupt_files_give_clean_errors() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    std::fs::create_dir(&m).unwrap();
    let find = |spec: &str| {
        lrate(
            d.path(),
            &[
                "find",
                "--data",
                spec,
                "--num-it",
                "5",
                "--out",
                "o",
                // Each call replaces the previous one's outputs on purpose.
                "--overwrite",
                "--no-progress",
            ],
        )
    };
    let spec = format!("mnist:{}", m.display());

    fails(&find(&spec), &["missing file", "train-images-idx3-ubyte"]);
    write_idx(&m, "train", 20);
    write_idx(&m, "t10k", 10);
    // A valid set loads and trains (a 5-batch range test on 20 images gives no reliable
    // pick, which `find` reports as such).
    let train = lrate(
        d.path(),
        &[
            "train",
            "--data",
            &spec,
            "--model",
            "mlp",
            "--batch",
            "4",
            "--epochs",
            "1",
            "--max-lr",
            "0.01",
            "--out",
            "t",
            "--no-progress",
        ],
    );
    assert!(train.status.success(), "{}", stderr(&train));
    fails(&find(&spec), &["no reliable suggestion"]);

    let img = m.join("t10k-images-idx3-ubyte");
    let good = std::fs::read(&img).unwrap();
    let mut bad = good.clone();
    bad[2] = 9;
    std::fs::write(&img, &bad).unwrap();
    fails(&find(&spec), &["wrong magic", "t10k-images-idx3-ubyte"]);
    std::fs::write(&img, &good[..good.len() - 100]).unwrap();
    fails(&find(&spec), &["truncated", "t10k-images-idx3-ubyte"]);
    std::fs::write(&img, &good).unwrap();

    let lbl = m.join("train-labels-idx1-ubyte");
    std::fs::write(&lbl, idx::encode_labels(&[1; 19])).unwrap();
    fails(&find(&spec), &["count mismatch", "20 images", "19 labels"]);
    let mut l = vec![1u8; 20];
    l[7] = 200;
    std::fs::write(&lbl, idx::encode_labels(&l)).unwrap();
    fails(
        &find(&spec),
        &[
            "label 200 of item 7 is out of range",
            "train-labels-idx1-ubyte",
        ],
    );

    // CIFAR-10 binary files.
    let c = d.path().join("c");
    std::fs::create_dir(&c).unwrap();
    let cspec = format!("cifar10:{}", c.display());
    for name in cifar10::TRAIN_FILES.iter().chain([&cifar10::TEST_FILE]) {
        let px = vec![100u8; 4 * 3072];
        std::fs::write(c.join(name), cifar10::encode(&[0, 1, 2, 3], &px)).unwrap();
    }
    // The set loads: a 3-batch range test on it runs, and says it cannot be read.
    let o = lrate(
        d.path(),
        &[
            "find",
            "--data",
            &cspec,
            "--num-it",
            "3",
            "--batch",
            "8",
            "--out",
            "o",
            "--no-progress",
        ],
    );
    fails(&o, &["no reliable suggestion", "after 3 batches"]);
    let t = c.join("data_batch_4.bin");
    let b = std::fs::read(&t).unwrap();
    std::fs::write(&t, &b[..b.len() - 1]).unwrap();
    fails(&find(&cspec), &["truncated", "data_batch_4.bin"]);
    std::fs::remove_file(&t).unwrap();
    fails(&find(&cspec), &["missing file", "data_batch_4.bin"]);

    // Bad specs, bad config, cuda without the feature, resume of a broken checkpoint.
    fails(&find("imagenet:/x"), &["unknown data spec"]);
    fails(
        &lrate(d.path(), &["train", "--model", "vgg"]),
        &["unknown model `vgg`"],
    );
    std::fs::write(d.path().join("bad.toml"), "[run]\nepochz = 3\n").unwrap();
    fails(
        &lrate(d.path(), &["train", "--config", "bad.toml"]),
        &["bad.toml", "epochz"],
    );
    #[cfg(not(feature = "cuda"))]
    fails(&lrate(d.path(), &["train", "--device", "cuda"]), &["cuda"]);
    std::fs::create_dir(d.path().join("ck")).unwrap();
    std::fs::write(
        d.path().join("ck/checkpoint.safetensors"),
        b"\x10\0\0\0\0\0\0\0{not json}",
    )
    .unwrap();
    fails(
        &lrate(d.path(), &["train", "--resume", "--out", "ck"]),
        &["checkpoint.safetensors"],
    );
}

/// Config and flag mistakes name the key, what was found and what is expected, before
/// any work is done (no range test runs first).
#[test]
fn mistakes_say_what_to_write() {
    let d = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 4] = [
        (
            "[schedule]\nkind = \"onecycle\"\nmax_lr = 0.1\n",
            &[
                "kind = \"onecycle\"",
                "[schedule.one_cycle]",
                "total_steps",
                "kinds: constant",
            ],
        ),
        (
            "[schedule]\nmax_lr = 0.1\n",
            &[
                "found `max_lr = 0.1`",
                "[schedule.KIND]",
                "[schedule.one_cycle]",
            ],
        ),
        (
            "[schedule.one_cycel]\nmax_lr = 0.1\n",
            &["unknown variant `one_cycel`", "one_cycle"],
        ),
        ("[run]\nepochz = 3\n", &["epochz"]),
    ];
    for (i, (toml, needles)) in cases.iter().enumerate() {
        let name = format!("c{i}.toml");
        std::fs::write(d.path().join(&name), toml).unwrap();
        fails(
            &lrate(d.path(), &["train", "--config", &name, "--out", "o"]),
            needles,
        );
    }
    // A value clap parses and refuses: a usage error (exit 2), not "unexpected argument".
    let o = lrate(d.path(), &["train", "--max-lr", "-1", "--out", "o"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("max_lr must be a positive number, got -1"),
        "{}",
        stderr(&o)
    );
    let o = lrate(d.path(), &["train", "--schedule", "foo", "--out", "o"]);
    fails(
        &o,
        &["unknown schedule `foo`", "onecycle, onecycle-pytorch"],
    );
    assert!(
        !d.path().join("o/lr_find.json").exists(),
        "the range test ran first"
    );
}

#[test]
fn schedule_prints_and_plots() {
    let d = tempfile::tempdir().unwrap();
    let o = lrate(
        d.path(),
        &[
            "schedule",
            "--schedule",
            "onecycle",
            "--max-lr",
            "0.4",
            "--steps",
            "100",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 100);
    let peak = rows.iter().map(|r| r[1]).fold(0.0, f64::max);
    assert!((peak - 0.4).abs() < 1e-3);
    assert!((rows[0][2] - 0.95).abs() < 1e-6);

    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    for (file, steps) in [("onecycle.toml", "1248"), ("sgdr.toml", "1092")] {
        let cfg = example.join(file);
        let o = lrate(
            d.path(),
            &[
                "schedule",
                "--config",
                cfg.to_str().unwrap(),
                "--steps",
                steps,
                "--out",
                "plot",
            ],
        );
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let csv = std::fs::read_to_string(d.path().join("plot/schedule.csv")).unwrap();
        assert_eq!(csv.lines().count(), steps.parse::<usize>().unwrap() + 1);
        assert!(std::fs::read_to_string(d.path().join("plot/schedule.svg"))
            .unwrap()
            .contains("<polyline"));
    }
    fails(
        &lrate(d.path(), &["schedule", "--schedule", "warp"]),
        &["unknown schedule `warp`"],
    );
    fails(&lrate(d.path(), &["schedule"]), &["give a schedule"]);
}

/// `train --max-lr auto` is `find` followed by `train --max-lr <its pick>`, step for step,
/// also with averaged sweeps: the range test leaves the run exactly as it found it.
#[test]
fn auto_is_find_then_train_at_its_pick() {
    let d = tempfile::tempdir().unwrap();
    let common = |cmd: &'static str, out: &'static str| {
        let mut a = vec![
            cmd,
            "--model",
            "mlp",
            "--start-lr",
            "1e-3",
            "--num-it",
            "100",
        ];
        a.extend(["--repeats", "2", "--out", out, "--limit-train", "2048"]);
        a.extend([
            "--limit-test",
            "500",
            "--batch",
            "128",
            "--seed",
            "3",
            "--no-progress",
        ]);
        a
    };
    let found = ok(&lrate(d.path(), &common("find", "f")));
    let pick = found["bounds"]["max_lr"].as_f64().expect("a pick");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("f/lr_find.json")).unwrap())
            .unwrap();
    assert_eq!(json["sweeps"].as_array().unwrap().len(), 2);
    // Each rule with its spread over the two sweeps.
    for r in json["rules"].as_array().unwrap() {
        assert_eq!(r["per_sweep"].as_array().unwrap().len(), 2, "{r}");
    }
    let mut auto = common("train", "a");
    auto.extend(["--epochs", "1"]);
    let a = ok(&lrate(d.path(), &auto));
    let value = format!("{}", pick as f32);
    let mut fixed = common("train", "b");
    fixed.extend(["--epochs", "1", "--max-lr", &value]);
    let b = ok(&lrate(d.path(), &fixed));
    assert_eq!(a["max_lr"], b["max_lr"]);
    assert_eq!(a["test_acc"], b["test_acc"]);
    assert_eq!(a["train_loss"], b["train_loss"]);
    assert_same_run(
        &step_rows(&d.path().join("a")),
        &step_rows(&d.path().join("b")),
    );
    // The console gave the pick with its range.
    let e = stderr(&lrate(d.path(), &common("find", "f2")));
    assert!(e.contains("over 2 sweeps"), "{e}");
}

#[test]
fn bad_range_test_options_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let find = |extra: &[&str]| {
        let mut a = vec!["find", "--model", "mlp", "--out", "o", "--no-progress"];
        a.extend(extra);
        lrate(d.path(), &a)
    };
    fails(
        &find(&["--repeats", "0"]),
        &["--repeats must be between 1 and 16", "got 0"],
    );
    fails(
        &find(&["--repeats", "1000"]),
        &["--repeats must be between 1 and 16", "got 1000"],
    );
    fails(
        &find(&["--vary", "seed"]),
        &["unknown --vary `seed`", "data, init or both"],
    );
    fails(
        &find(&["--suggestion", "near-min:-2"]),
        &["bad near-min factor"],
    );
    fails(
        &find(&["--suggestion", "valley:2"]),
        &["unknown bounds rule"],
    );
    fails(&find(&["--epochs", "0"]), &["--epochs must be at least 1"]);
    let cfg = d.path().join("c.toml");
    std::fs::write(&cfg, "[find]\nrepeats = 0\n").unwrap();
    fails(
        &find(&["--config", "c.toml"]),
        &["--repeats must be between 1 and 16"],
    );
}

/// A sweep that explodes at once, or whose loss never falls, gives no number: `find` exits
/// with the reason (after writing its curve), and `train --max-lr auto` stops with it and a
/// hint, before any training step.
#[test]
fn no_reliable_suggestion_is_an_error_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    for (start, end, why) in [
        ("1e4", "1e6", "no reliable suggestion: "),
        ("1e-9", "1e-8", "fell by only"),
    ] {
        let mut a = vec![
            "find",
            "--model",
            "mlp",
            "--start-lr",
            start,
            "--end-lr",
            end,
        ];
        // Each find and train here replaces the previous one's outputs on purpose.
        a.extend([
            "--num-it",
            "40",
            "--repeats",
            "2",
            "--out",
            "o",
            "--overwrite",
        ]);
        a.extend(SMALL);
        a.push("0");
        let o = lrate(d.path(), &a);
        fails(&o, &[why, "hint:"]);
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(d.path().join("o/lr_find.json")).unwrap(),
        )
        .unwrap();
        assert!(json["bounds"].is_null() && json["unreliable"].is_string());
        assert!(!stderr(&o).contains("NaN"), "{}", stderr(&o));
        a[0] = "train";
        a.extend(["--epochs", "1", "--max-lr", "auto"]);
        let o = lrate(d.path(), &a);
        fails(
            &o,
            &[
                "--max-lr auto: no reliable suggestion",
                why,
                "give --max-lr yourself",
            ],
        );
        assert!(!d.path().join("o/metrics.csv").exists(), "no step trained");
    }
}

#[test]
fn cooldown_branches_from_a_stable_run_without_touching_it() {
    let d = tempfile::tempdir().unwrap();
    // The stable run: constant lr for 2 epochs (16 steps each), stopped after 1.
    let mut a = RESUME.to_vec();
    a.extend([
        "5",
        "--schedule",
        "constant",
        "--out",
        "long",
        "--stop-after",
        "1",
    ]);
    ok(&lrate(d.path(), &a));
    let long = d.path().join("long");
    let before = std::fs::read(long.join("checkpoint.safetensors")).unwrap();
    let metrics_before = std::fs::read(long.join("metrics.csv")).unwrap();

    // 20 % of the branched run: 16 stable steps → 4 decay steps, rounded up to an epoch.
    let s = ok(&lrate(
        d.path(),
        &[
            "train",
            "--from",
            "long",
            "--cooldown",
            "20%",
            "--out",
            "cool",
            "--no-progress",
        ],
    ));
    assert_eq!(s["epochs"], 2);
    assert_eq!(s["schedule"], "wsd-cooldown");
    assert_eq!(
        std::fs::read(long.join("checkpoint.safetensors")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read(long.join("metrics.csv")).unwrap(),
        metrics_before
    );

    let (orig, cool) = (step_rows(&long), step_rows(&d.path().join("cool")));
    assert_eq!(orig.steps.len(), 16);
    assert_eq!(cool.steps.len(), 32);
    for (x, y) in orig.steps.iter().zip(&cool.steps) {
        assert_eq!(
            (x.step, x.lr.to_bits(), x.loss.to_bits()),
            (y.step, y.lr.to_bits(), y.loss.to_bits())
        );
    }
    // The decay starts at the stable rate, falls monotonically and ends at 0 (1-sqrt).
    assert_eq!(cool.steps[16].lr, 0.1);
    for w in cool.steps[16..].windows(2) {
        assert!(w[1].lr < w[0].lr, "{} then {}", w[0].lr, w[1].lr);
    }
    assert!(cool.steps[31].lr < 0.1 * 0.3);

    // The branch is an ordinary run directory; the original can still be resumed.
    let again = ok(&lrate(
        d.path(),
        &["train", "--resume", "--out", "cool", "--no-progress"],
    ));
    assert_eq!(again["steps"], 32);
    let resumed = ok(&lrate(
        d.path(),
        &["train", "--resume", "--out", "long", "--no-progress"],
    ));
    assert_eq!(resumed["epochs"], 2);
    assert_eq!(resumed["schedule"], "constant");

    // Errors: no --cooldown, the same directory, a directory holding a run, a schedule with
    // no stable phase.
    fails(
        &lrate(d.path(), &["train", "--from", "long", "--out", "x"]),
        &["--cooldown"],
    );
    fails(
        &lrate(
            d.path(),
            &[
                "train",
                "--from",
                "long",
                "--cooldown",
                "1",
                "--out",
                "long",
            ],
        ),
        &["never modified"],
    );
    fails(
        &lrate(
            d.path(),
            &[
                "train",
                "--from",
                "long",
                "--cooldown",
                "1",
                "--out",
                "cool",
            ],
        ),
        &["already holds a run"],
    );
    let mut b = RESUME.to_vec();
    b.extend(["5", "--out", "oc", "--stop-after", "1"]);
    ok(&lrate(d.path(), &b));
    fails(
        &lrate(
            d.path(),
            &["train", "--from", "oc", "--cooldown", "1", "--out", "x"],
        ),
        &["no stable phase"],
    );
    // A bad length is a usage error (exit 2) from the command-line parser.
    let o = lrate(
        d.path(),
        &[
            "train",
            "--from",
            "long",
            "--cooldown",
            "150%",
            "--out",
            "y",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("below 100%"), "{}", stderr(&o));
}
