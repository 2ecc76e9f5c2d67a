//! Parity with PyTorch's `torch.optim.lr_scheduler`: every case of the golden
//! file (`tests/golden/pytorch_schedules.json`, or the file named by env
//! `LRATE_PYTORCH_GOLDEN`; a missing file fails the test) is mapped generally
//! from its class name and arguments to an lrate schedule, and lr and momentum (or Adam β1) are compared at every step,
//! in `f64` and in `f32`, within a relative 1e-5 (absolute 1e-9 near 0).
//!
//! An unsupported class or argument fails the test. Run with `--nocapture` to see
//! `parity: K/N cases`.

use lrate_core::Real;
use lrate_tests::reference::{
    check_cases, close, golden_path, load, numbers, pytorch_schedule, trajectory, ABS_TOL,
};
use serde_json::Value;

fn run_case<F: Real>(case: &Value) -> Result<(), String> {
    let class = case["class"].as_str().ok_or("case without `class`")?;
    let base_lr = case["base_lr"].as_f64().ok_or("case without `base_lr`")?;
    let opt_m = case["optimizer_momentum_or_beta1"]
        .as_f64()
        .ok_or("case without `optimizer_momentum_or_beta1`")?;
    let want_lr = numbers(case, "lr").ok_or("case without `lr`")?;
    let want_m = numbers(case, "momentum_or_beta1").ok_or("case without `momentum_or_beta1`")?;
    let metrics = numbers(case, "metrics");
    let built = pytorch_schedule::<F>(class, &case["args"], base_lr)?;
    let got = trajectory(&built, want_lr.len(), metrics.as_deref())?;
    for (t, (&wl, &(gl, gm))) in want_lr.iter().zip(&got).enumerate() {
        if !close(wl, gl, ABS_TOL) {
            return Err(format!("lr[{t}]: PyTorch {wl:e}, lrate {gl:e}"));
        }
        let wm = *want_m.get(t).ok_or("momentum_or_beta1 shorter than lr")?;
        let gm = gm.unwrap_or(opt_m);
        if !close(wm, gm, ABS_TOL) {
            return Err(format!(
                "momentum_or_beta1[{t}]: PyTorch {wm:e}, lrate {gm:e}"
            ));
        }
    }
    Ok(())
}

#[test]
fn pytorch_parity() {
    let golden = load(&golden_path(
        "LRATE_PYTORCH_GOLDEN",
        "pytorch_schedules.json",
    ));
    let cases = golden["cases"].as_array().expect("`cases` must be a list");
    check_cases("PyTorch", cases, |case, f64| {
        if f64 {
            run_case::<f64>(case)
        } else {
            run_case::<f32>(case)
        }
        .map(|()| 0)
    });
}
