//! Helpers the integration tests of the `lrate` binary share.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `lrate` binary with `args` in `dir`.
pub fn lrate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lrate"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("cannot run the lrate binary")
}

/// Its stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit status 1, no panic, and every needle in stderr.
pub fn fails(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected exit 1, got {:?}: {e}",
        o.status
    );
    assert!(!e.contains("panicked"), "panic instead of an error: {e}");
    for n in needles {
        assert!(e.contains(n), "stderr lacks `{n}`: {e}");
    }
}
