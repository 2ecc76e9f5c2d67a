//! Pause points that make a run's short windows reachable by a kill test.
//!
//! With `LRATE_TEST_PAUSE=PHASE:MS[,PHASE:MS…]` in the environment, a run that reaches
//! [`at`]`(PHASE, what)` prints `lrate-test: pause in PHASE (what)` to stderr and sleeps
//! MS milliseconds there, so that a test can SIGKILL it inside that phase. The phases:
//!
//! - `eval`: inside an evaluation of the test set;
//! - `write`: inside an atomic file write (`checkpoint::write_atomic`), after half of
//!   the temporary file is on disk and before it is completed, synced and renamed.
//!
//! Unset (as always outside tests) a pause point costs one look at a cached empty list.

use std::sync::OnceLock;
use std::time::Duration;

/// The environment variable.
pub const ENV: &str = "LRATE_TEST_PAUSE";

fn pauses() -> &'static [(String, u64)] {
    static P: OnceLock<Vec<(String, u64)>> = OnceLock::new();
    P.get_or_init(|| {
        std::env::var(ENV)
            .unwrap_or_default()
            .split(',')
            .filter_map(|item| {
                let (phase, ms) = item.split_once(':')?;
                Some((phase.trim().to_string(), ms.trim().parse().ok()?))
            })
            .collect()
    })
}

/// A pause point: sleeps if [`ENV`] names `phase` (see the module docs).
pub fn at(phase: &str, what: &str) {
    if let Some(&(_, ms)) = pauses().iter().find(|(p, _)| p == phase) {
        eprintln!("lrate-test: pause in {phase} ({what})");
        std::thread::sleep(Duration::from_millis(ms));
    }
}
