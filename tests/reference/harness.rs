//! The parity harness: finding and loading a golden file, the tolerances,
//! running a built schedule step by step, and the per-case loop.

use super::{f, Built};
use lrate_core::{Real, Schedule};
use serde_json::Value;
use std::path::PathBuf;

/// The golden file: `$env` if set (a missing file then fails the test, since it
/// was asked for), else `<workspace>/../shared/golden/<file>` if it exists;
/// `None` (skip) when neither is there.
pub fn golden_path(env: &str, file: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/golden")
        .join(file);
    path.exists().then_some(path)
}

/// Loads and parses a golden file.
pub fn load(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Relative tolerance of the parity tests.
pub const REL_TOL: f64 = 1e-5;
/// Absolute tolerance for values near 0.
pub const ABS_TOL: f64 = 1e-9;

/// `got` matches `want` within [`REL_TOL`] relative or `abs_tol` absolute.
pub fn close(want: f64, got: f64, abs_tol: f64) -> bool {
    let d = (want - got).abs();
    got.is_finite() && (d <= abs_tol || d <= REL_TOL * want.abs())
}

/// A JSON array of numbers.
pub fn numbers(case: &Value, key: &str) -> Option<Vec<f64>> {
    case.get(key)?
        .as_array()?
        .iter()
        .map(Value::as_f64)
        .collect()
}

/// The values (lr, momentum) a built schedule gives at steps `0..n`; for
/// `ReduceLROnPlateau`, `metrics[t]` is fed after step `t`. Momentum is `None`
/// where the schedule leaves it to the optimizer.
pub fn trajectory<F: Real>(
    built: &Built<F>,
    n: usize,
    metrics: Option<&[f64]>,
) -> Result<Vec<(f64, Option<f64>)>, String> {
    let mut out = Vec::with_capacity(n);
    match built {
        Built::Closed(s) => {
            for t in 0..n {
                let t = u32::try_from(t).map_err(|_| "too many steps")?;
                out.push((s.lr(t).to_f64(), s.momentum(t).map(Real::to_f64)));
            }
        }
        Built::Plateau(p) => {
            let metrics = metrics.ok_or("ReduceLROnPlateau case without `metrics`")?;
            if metrics.len() < n {
                return Err("fewer metrics than steps".into());
            }
            let mut p = p.clone();
            for &m in metrics.iter().take(n) {
                out.push((p.lr().to_f64(), None));
                p.step(f(m));
            }
        }
    }
    Ok(out)
}

/// Runs every case of a golden file through `run` (in `f64`, then `f32`), prints
/// `ok`/`FAIL` per case and `parity: K/N cases`, and panics with every failure.
///
/// `run` returns how many steps needed the restart-step allowance (0 for none).
pub fn check_cases(
    label: &str,
    cases: &[Value],
    run: impl Fn(&Value, bool) -> Result<usize, String>,
) {
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let result = run(case, true)
            .map_err(|e| format!("f64: {e}"))
            .and_then(|n| run(case, false).map(|_| n).map_err(|e| format!("f32: {e}")));
        match result {
            Ok(0) => println!("ok   {name}"),
            Ok(n) => println!("ok   {name} ({n} restart step(s) matched the previous cycle's end)"),
            Err(e) => {
                println!("FAIL {name}: {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    println!(
        "parity: {}/{} cases",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{label} parity failures: {failures:#?}"
    );
}
