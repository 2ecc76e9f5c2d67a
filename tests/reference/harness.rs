//! The parity harness: finding and loading a golden file, the tolerances,
//! running a built schedule step by step, and the per-case loop.

use super::{f, Built};
use lrate_core::{Real, Schedule};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The golden file `file`: the path in `$env` when that is set, else the copy
/// vendored in `tests/golden/<file>`. A missing file fails the test (it panics
/// with the path and how to fix it): the parity tests never pass without their
/// reference data.
pub fn golden_path(env: &str, file: &str) -> PathBuf {
    match std::env::var_os(env) {
        Some(p) => {
            let path = PathBuf::from(p);
            assert!(
                path.is_file(),
                "golden file {} (from {env}) not found: point {env} at a copy of {file}, \
                 or unset it to use the vendored tests/golden/{file}",
                path.display()
            );
            path
        }
        None => {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("golden")
                .join(file);
            assert!(
                path.is_file(),
                "golden file {} not found: it is part of the repository (tests/golden/{file}); \
                 restore it (git checkout -- tests/golden) or set {env} to a copy",
                path.display()
            );
            path
        }
    }
}

/// Loads and parses a golden file. Python's `json` writes NaN and ±Infinity as
/// bare tokens, which JSON lacks: those become the strings `"nan"`, `"inf"` and
/// `"-inf"` (a file without them parses exactly as written).
pub fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&python_tokens_to_strings(&text))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Turns Python's bare `NaN`, `Infinity` and `-Infinity` tokens (outside
/// strings) into JSON strings.
fn python_tokens_to_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_str = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let mut replaced = false;
        for (tok, rep) in [
            ("-Infinity", "\"-inf\""),
            ("Infinity", "\"inf\""),
            ("NaN", "\"nan\""),
        ] {
            if rest.starts_with(tok) {
                out.push_str(rep);
                rest = &rest[tok.len()..];
                replaced = true;
                break;
            }
        }
        if !replaced {
            if c == '"' {
                in_str = true;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
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
