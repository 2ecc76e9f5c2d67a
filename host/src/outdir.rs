//! The output directory of a run, claimed before anything is written into it, so that a
//! new run never erases an old one and two processes never write one directory.
//!
//! - **A fresh run refuses a directory that holds one.** `train` and `find` stop, naming
//!   `--resume` and `--overwrite`, when `--out` (or the config's `run.out`) already holds
//!   any of [`RUN_FILES`]; `--overwrite` replaces that run on purpose (as HF's `Trainer`
//!   with `overwrite_output_dir`). The default directory instead moves on to the first
//!   numbered sibling that holds no run, `runs/lrate-2`, `runs/lrate-3`, … (as Lightning's
//!   `version_N`), and the summary line says where the run went.
//! - **One writer per directory.** Every command that writes a run directory (`train`,
//!   `train --resume`, `train --from`, `find`) holds an advisory lock on
//!   `DIR/`[`LOCK_FILE`] (`flock(2)`, exclusive, non-blocking) for its whole run, with its
//!   pid written inside. A second process fails at once, naming the holder's pid. The
//!   kernel drops the lock when the holder's file is closed, so a holder killed by SIGKILL
//!   releases it too; the file itself stays and is reused. (Off Unix there is no lock.)

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::DEFAULT_OUT;
use crate::resume::{CHECKPOINT, METRICS};
use crate::train::WEIGHTS;

/// The lock file inside a run directory.
pub const LOCK_FILE: &str = "lrate.lock";

/// The files whose presence means a directory holds a run: a training checkpoint, final
/// weights, the metrics table, or a range test's results.
pub const RUN_FILES: [&str; 4] = [CHECKPOINT, WEIGHTS, METRICS, "lr_find.json"];

/// What `--overwrite` removes before the new run starts: the run files and the plots and
/// tables derived from them (nothing else in the directory is touched).
pub const OUTPUT_FILES: [&str; 10] = [
    CHECKPOINT,
    WEIGHTS,
    METRICS,
    "lr_find.json",
    "lr_find.csv",
    "lr_find.svg",
    "lr_find.png",
    "training.svg",
    "training.png",
    "checkpoint.safetensors.tmp",
];

/// Removes [`OUTPUT_FILES`] from `dir` (for `--overwrite`).
pub fn clear(dir: &Path) -> Result<()> {
    for f in OUTPUT_FILES {
        let p = dir.join(f);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("{}: cannot remove", p.display())),
        }
    }
    Ok(())
}

/// Numbered siblings of the default directory tried before giving up.
const MAX_NUMBERED: u32 = 10_000;

/// The run files present in `dir` (empty if none, or if `dir` does not exist).
pub fn run_files(dir: &Path) -> Vec<&'static str> {
    RUN_FILES
        .into_iter()
        .filter(|f| dir.join(f).exists())
        .collect()
}

/// Checks that a fresh run (`command` is `train` or `find`) may write `dir`: it holds no
/// run, or `overwrite` is set.
pub fn check_fresh(dir: &Path, overwrite: bool, command: &str) -> Result<()> {
    let found = run_files(dir);
    if found.is_empty() || overwrite {
        return Ok(());
    }
    let d = dir.display();
    let resume = if found.contains(&CHECKPOINT) {
        format!("continue it with `lrate train --resume --out {d}`, ")
    } else {
        String::new()
    };
    bail!(
        "{d} already holds a run ({}): {resume}replace it with `lrate {command} --overwrite \
         --out {d}`, or choose another --out",
        found.join(", ")
    )
}

/// `runs/lrate`, or its first numbered sibling (`runs/lrate-2`, …) that holds no run.
pub fn default_out() -> Result<PathBuf> {
    numbered(Path::new(DEFAULT_OUT))
        .find(|d| run_files(d).is_empty())
        .with_context(|| format!("{DEFAULT_OUT}: {MAX_NUMBERED} numbered runs exist; give --out"))
}

/// The run `train --resume` without `--out` continues: the last of `runs/lrate`,
/// `runs/lrate-2`, … that holds a checkpoint (`runs/lrate` if none does).
pub fn latest_default() -> PathBuf {
    let mut latest = PathBuf::from(DEFAULT_OUT);
    for d in numbered(Path::new(DEFAULT_OUT)) {
        if !d.exists() {
            break;
        }
        if d.join(CHECKPOINT).exists() {
            latest = d;
        }
    }
    latest
}

/// `base`, `base-2`, `base-3`, … up to [`MAX_NUMBERED`].
fn numbered(base: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    (1..=MAX_NUMBERED).map(move |n| {
        if n == 1 {
            base.to_path_buf()
        } else {
            let mut s = base.as_os_str().to_os_string();
            s.push(format!("-{n}"));
            PathBuf::from(s)
        }
    })
}

/// An exclusive claim on a run directory, held until dropped (or the process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Creates `dir` if needed and locks it for this process; fails at once, naming the
/// holder's pid, if another process holds it.
pub fn lock(dir: &Path) -> Result<DirLock> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
    let path = dir.join(LOCK_FILE);
    // The lock is held through a read-only handle: a file open for writing would keep the
    // directory's filesystem from being remounted read-only, and a run must meet that as
    // an error it reports (tested), not be the thing that prevents it. Creating the file
    // and writing the pid use short-lived write handles.
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .with_context(|| format!("{}: cannot create the lock file", path.display()))?;
    let mut file = File::open(&path)
        .with_context(|| format!("{}: cannot open the lock file", path.display()))?;
    if !try_lock(&file).with_context(|| format!("{}: cannot lock", path.display()))? {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        bail!(
            "{} is in use by another lrate process ({}; lock {}): wait for it to end, or \
             give another --out",
            dir.display(),
            if holder.is_empty() {
                "pid unknown".to_string()
            } else {
                format!("pid {holder}")
            },
            path.display()
        );
    }
    // Ours now: record the pid for whoever tries next.
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut w| writeln!(w, "{}", std::process::id()))
        .with_context(|| format!("{}: cannot write the lock file", path.display()))?;
    Ok(DirLock { _file: file })
}

/// `flock(LOCK_EX | LOCK_NB)`: `Ok(false)` if another open file holds the lock.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this `File` owns; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// No advisory lock off Unix.
#[cfg(not(unix))]
fn try_lock(_: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_runs_refuse_a_directory_with_a_run() {
        let d = tempfile::tempdir().unwrap();
        check_fresh(d.path(), false, "train").unwrap();
        std::fs::write(d.path().join("stderr.txt"), "not a run file").unwrap();
        check_fresh(d.path(), false, "train").unwrap();
        std::fs::write(d.path().join(METRICS), "epoch\n").unwrap();
        let e = check_fresh(d.path(), false, "train")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("metrics.csv") && e.contains("--overwrite"),
            "{e}"
        );
        assert!(
            !e.contains("--resume"),
            "no checkpoint, nothing to resume: {e}"
        );
        std::fs::write(d.path().join(CHECKPOINT), "x").unwrap();
        let e = check_fresh(d.path(), false, "train")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--resume") && e.contains("checkpoint.safetensors"),
            "{e}"
        );
        check_fresh(d.path(), true, "train").unwrap();
    }

    #[test]
    fn numbered_siblings() {
        let n: Vec<_> = numbered(Path::new("runs/x")).take(3).collect();
        assert_eq!(
            n,
            ["runs/x", "runs/x-2", "runs/x-3"]
                .map(PathBuf::from)
                .to_vec()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_second_lock_fails_naming_the_holder() {
        let d = tempfile::tempdir().unwrap();
        let held = lock(d.path()).unwrap();
        let e = lock(d.path()).unwrap_err().to_string();
        assert!(
            e.contains(&format!("pid {}", std::process::id())) && e.contains("in use"),
            "{e}"
        );
        drop(held);
        let again = lock(d.path()).unwrap();
        drop(again);
    }
}
