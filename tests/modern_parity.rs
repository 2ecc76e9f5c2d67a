//! Parity with HF transformers' `get_*_schedule` functions and timm's
//! `CosineLRScheduler` / `TanhLRScheduler` / `PolyLRScheduler`: every case of the
//! golden file (`tests/golden/modern_schedules.json`, a copy of
//! `../shared/golden/modern_schedules.json`, or the file named by env
//! `LRATE_MODERN_GOLDEN`; a missing file fails the test) is mapped from its
//! function or class name and arguments to an lrate schedule and compared at every
//! step, in `f64` and in `f32`, within a relative 1e-5 (absolute 1e-9 near 0).
//!
//! The file's `semantics`: `lr[t]` is the rate the optimizer holds before optimizer
//! step `t` (transformers: after `t` calls of `scheduler.step()` on its
//! `LambdaLR`; timm: after `step_update(num_updates=t)`), which is lrate's
//! `lr(t)`. An unsupported function, class or argument fails the test. Run with
//! `--nocapture` to see `parity: K/N cases`.

use lrate_core::{Real, Schedule};
use lrate_tests::reference::{
    check_cases, close, golden_path, load, numbers, timm_schedule, transformers_schedule, ABS_TOL,
};
use serde_json::Value;

fn run_case<F: Real>(case: &Value) -> Result<(), String> {
    let library = case["library"].as_str().ok_or("case without `library`")?;
    let base_lr = case["base_lr"].as_f64().ok_or("case without `base_lr`")?;
    let want = numbers(case, "lr").ok_or("case without `lr`")?;
    let s = match library {
        "transformers" => {
            let function = case["function"].as_str().ok_or("case without `function`")?;
            transformers_schedule::<F>(function, &case["args"], base_lr)?
        }
        "timm" => {
            let class = case["class"].as_str().ok_or("case without `class`")?;
            timm_schedule::<F>(class, &case["args"], base_lr)?
        }
        o => return Err(format!("unknown library `{o}`")),
    };
    if let Some(steps) = case["steps"].as_u64() {
        if steps as usize != want.len() {
            return Err(format!("`steps` is {steps} but `lr` has {}", want.len()));
        }
    }
    for (t, &w) in want.iter().enumerate() {
        let t32 = u32::try_from(t).map_err(|_| "too many steps")?;
        let got = s.lr(t32).to_f64();
        if !close(w, got, ABS_TOL) {
            return Err(format!("lr[{t}]: reference {w:e}, lrate {got:e}"));
        }
    }
    Ok(())
}

#[test]
fn modern_parity() {
    let golden = load(&golden_path("LRATE_MODERN_GOLDEN", "modern_schedules.json"));
    let cases = golden["cases"].as_array().expect("`cases` must be a list");
    assert!(!cases.is_empty(), "the golden file has no cases");
    check_cases("HF transformers / timm", cases, |case, f64| {
        if f64 {
            run_case::<f64>(case)
        } else {
            run_case::<f32>(case)
        }
        .map(|()| 0)
    });
}
