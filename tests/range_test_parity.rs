//! Parity of lrate's LR range test with fastai 2.8 `lr_find` and torch-lr-finder
//! 0.2.2 `range_test`, against outputs recorded from the real libraries.
//!
//! Reads `tests/golden/range_test_reference.json`, or the file named by
//! `LRATE_RANGE_GOLDEN` (a missing file fails the test), through the shared
//! loader, which turns Python's bare `NaN` / `Infinity` tokens into the strings
//! `"nan"` / `"inf"` that [`number`] reads. Each case's raw losses go
//! through [`RangeTestConfig::fastai`] and [`RangeTestConfig::torch_lr_finder`]
//! with the case's `start_lr`, `end_lr` and `num_it`.
//!
//! * Where the library succeeded: the same number of batches, lrs and smoothed
//!   losses within 1e-5 relative (a non-finite reference loss ↔ no loss in lrate),
//!   and every suggestion within 1e-6 relative (`null` ↔ `None`).
//! * Where it raised (`error`) or stopped after one batch (torch-lr-finder on
//!   negative losses): lrate runs without panicking, and each suggestion is `None`
//!   or a finite lr inside the swept range (Minimum, being lr/10, inside
//!   `[start_lr/10, end_lr/10]`). When the losses are finite and some are
//!   negative (`negative_losses`: the loss falls below zero, then rises), where
//!   both libraries fail only because their divergence test `smoothed > k × best`
//!   holds at once for `best < 0`, lrate's smoothed curve must be the library's
//!   own formula (computed in the test), and it must stop exactly where its
//!   documented sign-aware rule says (re-implemented in the test), not at once.
//!
//! The libraries computed losses as float32 tensors, so the raw losses are rounded
//! to f32 before they are fed (in f64 arithmetic, torch-lr-finder's precision; the
//! f32 instantiation is run too and must match within the same tolerances).
//!
//! Run with `--nocapture` to see `parity: K/N cases`.

use lrate_core::{RangeTest, RangeTestConfig, Real, Suggestion};
use lrate_tests::reference::{golden_path, load};
use serde_json::Value;

/// Enough points that no reference run (≤ this many batches) is decimated.
const CAP: usize = 2048;

const REL_CURVE: f64 = 1e-5;
const REL_SUGGESTION: f64 = 1e-6;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lib {
    Fastai,
    Torch,
}

impl Lib {
    fn key(self) -> &'static str {
        match self {
            Lib::Fastai => "fastai",
            Lib::Torch => "torch_lr_finder",
        }
    }
    fn config<F: Real>(self) -> RangeTestConfig<F> {
        match self {
            Lib::Fastai => RangeTestConfig::fastai(),
            Lib::Torch => RangeTestConfig::torch_lr_finder(),
        }
    }
    /// The library's divergence factor `k` (fastai 4, torch-lr-finder 5).
    fn diverge_factor(self) -> f64 {
        match self {
            Lib::Fastai => 4.0,
            Lib::Torch => 5.0,
        }
    }
    /// The library's loss smoothing, from its source: fastai's `Recorder`
    /// (`avg = 0.98 avg + 0.02 x`, debiased by `1 − 0.98^(i+1)`) and
    /// torch-lr-finder's `range_test` (`s = 0.05 x + 0.95 s_prev`, `s_0 = x_0`).
    fn smooth(self, raw: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(raw.len());
        let mut avg = 0.0;
        for (i, &x) in raw.iter().enumerate() {
            let s = match self {
                Lib::Fastai => {
                    avg = 0.98 * avg + 0.02 * x;
                    avg / (1.0 - 0.98f64.powi(i as i32 + 1))
                }
                Lib::Torch if i == 0 => x,
                Lib::Torch => 0.05 * x + 0.95 * out[i - 1],
            };
            out.push(s);
        }
        out
    }
    /// The reference's suggestion keys and the matching lrate rule.
    fn suggestions(self, reference: &Value) -> Vec<(String, Option<f64>, Suggestion)> {
        match self {
            Lib::Fastai => {
                let s = reference.get("suggestions").and_then(Value::as_object);
                let mut out = Vec::new();
                for (key, rule) in [
                    ("minimum", Suggestion::Minimum),
                    ("steep", Suggestion::Steep),
                    ("valley", Suggestion::Valley),
                    ("slide", Suggestion::Slide),
                ] {
                    if let Some(v) = s.and_then(|s| s.get(key)) {
                        out.push((key.to_string(), number(v), rule));
                    }
                }
                out
            }
            Lib::Torch => reference
                .get("suggestion_steepest")
                .map(|v| {
                    vec![(
                        "suggestion_steepest".to_string(),
                        number(v),
                        Suggestion::Steepest,
                    )]
                })
                .unwrap_or_default(),
        }
    }
}

/// A number, or one of the strings `nan`, `inf`, `-inf`, `infinity`, `-infinity`.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "nan" | "-nan" => Some(f64::NAN),
            "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn numbers(v: Option<&Value>, what: &str) -> Result<Vec<f64>, String> {
    let arr = v
        .and_then(Value::as_array)
        .ok_or_else(|| format!("`{what}` missing or not an array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, x)| number(x).ok_or_else(|| format!("`{what}[{i}]` is not a number: {x}")))
        .collect()
}

fn rel_ok(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(f64::MIN_POSITIVE)
}

struct Run {
    batches: u32,
    lrs: Vec<f64>,
    losses: Vec<Option<f64>>,
    suggestions: Vec<(Suggestion, Option<f64>)>,
}

/// Feeds `raw` through `config`, instantiated with float type `F`.
fn run<F: Real>(config: RangeTestConfig<F>, raw: &[f64]) -> Result<Run, String> {
    let mut t = Box::new(RangeTest::<F, CAP>::new(config).map_err(|e| e.to_string())?);
    let mut fed = 0usize;
    while t.next_lr().is_some() {
        let Some(&loss) = raw.get(fed) else {
            return Err(format!(
                "ran out of raw losses after {fed} batches without stopping"
            ));
        };
        t.record(F::from_f64(loss));
        fed += 1;
    }
    let c = t.curve();
    if c.stride() != 1 {
        return Err(format!("curve decimated (more than {CAP} batches)"));
    }
    Ok(Run {
        batches: t.batches(),
        lrs: c.iter().map(|p| p.lr.to_f64()).collect(),
        losses: c.iter().map(|p| p.loss.map(Real::to_f64)).collect(),
        suggestions: Suggestion::ALL
            .iter()
            .map(|&s| (s, t.suggest(s).map(Real::to_f64)))
            .collect(),
    })
}

/// Checks one (case, library) pair; `Err` lists every mismatch.
fn check_lib<F: Real>(lib: Lib, case: &Value) -> Result<String, String> {
    let start = case
        .get("start_lr")
        .and_then(number)
        .ok_or("no `start_lr`")?;
    let end = case.get("end_lr").and_then(number).ok_or("no `end_lr`")?;
    let num_it = case
        .get("num_it")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or("no `num_it`")?;
    // The libraries' losses were float32 tensors.
    let raw: Vec<f64> = numbers(case.get("raw_losses"), "raw_losses")?
        .into_iter()
        .map(|x| x as f32 as f64)
        .collect();
    let reference = case
        .get(lib.key())
        .ok_or_else(|| format!("no `{}` entry", lib.key()))?;
    let config = lib
        .config::<F>()
        .range(F::from_f64(start), F::from_f64(end), num_it);
    let got = run(config, &raw)?;

    let consumed = reference.get("batches_consumed").and_then(Value::as_u64);
    let failed = reference.get("error").is_some();
    if failed || consumed.is_some_and(|n| n <= 1 && num_it > 1) {
        // The reference is broken here: lrate must simply behave.
        for (rule, v) in &got.suggestions {
            if let Some(v) = *v {
                let (lo, hi) = match rule {
                    Suggestion::Minimum => (start / 10.0, end / 10.0),
                    _ => (start, end),
                };
                // f32 rounding of the bounds themselves.
                let (lo, hi) = (lo * (1.0 - 1e-6), hi * (1.0 + 1e-6));
                if !(v.is_finite() && v >= lo && v <= hi) {
                    return Err(format!("{rule:?} = {v} outside [{lo}, {hi}]"));
                }
            }
        }
        // Finite losses with a negative best (`negative_losses`): the libraries
        // fail only because their divergence test `s > k × best` holds at once
        // when `best < 0`. lrate must not: its smoothed curve is the library's own
        // smoothing formula (computed here), and it stops where its documented
        // rule for `best ≤ 0` says, `s − best > (k − 1) · max(|best|, |s₀|)`
        // (re-implemented here), not at the first batch.
        let sweep = &raw[..raw.len().min(num_it as usize)];
        if sweep.iter().all(|x| x.is_finite()) && sweep.iter().any(|&x| x < 0.0) {
            let want = lib.smooth(sweep);
            let k = lib.diverge_factor();
            let mut best = f64::INFINITY;
            let mut expect = sweep.len() as u32;
            for (i, &s) in want.iter().enumerate() {
                best = best.min(s);
                let rose = if best > 0.0 {
                    s > k * best
                } else {
                    s - best > (k - 1.0) * best.abs().max(want[0].abs())
                };
                if rose {
                    expect = i as u32 + 1;
                    break;
                }
            }
            if got.batches != expect {
                return Err(format!(
                    "negative best: lrate ran {} batches, its rule says {expect}",
                    got.batches
                ));
            }
            for (i, (g, w)) in got.losses.iter().zip(&want).enumerate() {
                match g {
                    Some(g) if rel_ok(*g, *w, REL_CURVE) => {}
                    _ => return Err(format!("smoothed loss [{i}] {g:?} != {w} (by formula)")),
                }
            }
        }
        return Ok(format!(
            "reference {}; lrate ran {} batches, suggestions {:?}",
            if failed { "raised" } else { "stopped at once" },
            got.batches,
            got.suggestions
        ));
    }

    let mut errors = Vec::new();
    let want_lrs = numbers(reference.get("lrs"), "lrs")?;
    let want_losses = numbers(reference.get("smooth_losses"), "smooth_losses")?;
    let consumed = consumed.ok_or("no `batches_consumed`")?;
    if u64::from(got.batches) != consumed {
        errors.push(format!("batches {} != {consumed}", got.batches));
    }
    if got.lrs.len() != want_lrs.len() || got.losses.len() != want_losses.len() {
        errors.push(format!(
            "curve length {} != {} lrs / {} losses",
            got.lrs.len(),
            want_lrs.len(),
            want_losses.len()
        ));
    }
    for (i, (&g, &w)) in got.lrs.iter().zip(&want_lrs).enumerate() {
        if !rel_ok(g, w, REL_CURVE) {
            errors.push(format!("lr[{i}] {g} != {w}"));
        }
    }
    for (i, (&g, &w)) in got.losses.iter().zip(&want_losses).enumerate() {
        let ok = match g {
            None => !w.is_finite(),
            Some(g) => w.is_finite() && rel_ok(g, w, REL_CURVE),
        };
        if !ok {
            errors.push(format!("smooth_loss[{i}] {g:?} != {w}"));
        }
    }
    for (key, want, rule) in lib.suggestions(reference) {
        let g = got
            .suggestions
            .iter()
            .find(|(r, _)| *r == rule)
            .and_then(|x| x.1);
        let ok = match (g, want) {
            (None, None) => true,
            (Some(g), Some(w)) => rel_ok(g, w, REL_SUGGESTION),
            _ => false,
        };
        if !ok {
            errors.push(format!("{key}: lrate {g:?} != reference {want:?}"));
        }
    }
    if errors.is_empty() {
        Ok(format!("{} batches match", got.batches))
    } else {
        errors.truncate(12);
        Err(errors.join("; "))
    }
}

#[test]
fn range_test_parity() {
    let path = golden_path("LRATE_RANGE_GOLDEN", "range_test_reference.json");
    let doc = load(&path);
    let cases = doc
        .get("cases")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{} has no `cases` array", path.display()));
    assert!(!cases.is_empty(), "{} has no cases", path.display());

    let mut passed = 0;
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{i}"), str::to_string);
        let mut ok = true;
        if case.get("fastai").is_none() && case.get("torch_lr_finder").is_none() {
            println!("{name}: FAIL: neither `fastai` nor `torch_lr_finder` results");
            failures.push(format!("{name}: no reference results"));
            ok = false;
        }
        for lib in [Lib::Fastai, Lib::Torch] {
            if case.get(lib.key()).is_none() {
                continue;
            }
            for (prec, result) in [
                ("f64", check_lib::<f64>(lib, case)),
                ("f32", check_lib::<f32>(lib, case)),
            ] {
                match result {
                    Ok(msg) => println!("{name} / {} / {prec}: ok ({msg})", lib.key()),
                    Err(msg) => {
                        println!("{name} / {} / {prec}: FAIL: {msg}", lib.key());
                        failures.push(format!("{name} / {} / {prec}: {msg}", lib.key()));
                        ok = false;
                    }
                }
            }
        }
        if ok {
            passed += 1;
        }
    }
    println!("parity: {passed}/{} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
