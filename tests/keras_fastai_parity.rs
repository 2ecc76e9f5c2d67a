//! Parity with Keras `keras.optimizers.schedules` and fastai's `fit_one_cycle`,
//! `fit_sgdr` and `fit_flat_cos`: every case of the golden file
//! (`tests/golden/keras_fastai_schedules.json`, or the file named by env
//! `LRATE_KERAS_FASTAI_GOLDEN`; a missing file fails the test) is mapped
//! generally from its class / method and arguments to an lrate schedule, and lr
//! (and fastai's momentum, where recorded) is compared at every step, in `f64`
//! and `f32`, within a relative 1e-5 (absolute 1e-9 near 0).
//!
//! One documented allowance, for warm restarts only: both Keras
//! (`CosineDecayRestarts`, float32 `log` of the geometric series) and fastai
//! (`combine_scheds`, float32 phase boundaries and an accumulated `pct_train`)
//! locate cycles in float32, so at a step that falls exactly on a restart they
//! can round it into the end of the previous cycle, where the rate is
//! `eta_min`. lrate computes the restart exactly. At such a step (and only
//! there) the test also accepts `eta_min`, and prints how often it did.
//!
//! Keras computes in float32, and `0.5·(1 + cos(π·x))` cancels near the end of
//! a cosine cycle: its absolute error there is about `f32::EPSILON · lr_peak`
//! (about 1e-9 for a peak of 0.1, e.g. `k_cosine_restarts` step 149: Keras
//! 3.85493e-5 against the exact 3.85482e-5). So for Keras cases the absolute
//! tolerance near 0 is `max(1e-9, f32::EPSILON · max(lr))` instead of 1e-9; the
//! relative 1e-5 is unchanged. fastai computes in float64 and keeps 1e-9.
//!
//! Run with `--nocapture` to see `parity: K/N cases`.

use lrate_core::{AnySchedule, Real};
use lrate_tests::reference::{
    check_cases, close, fastai_schedule, golden_path, keras_schedule, load, numbers, trajectory,
    Built, ABS_TOL,
};
use serde_json::Value;

/// Compares one case; returns how many restart steps needed the allowance.
fn run_case<F: Real>(case: &Value) -> Result<usize, String> {
    let library = case["library"].as_str().ok_or("case without `library`")?;
    let schedule: AnySchedule<F> = match library {
        "keras" => keras_schedule(
            case["class"].as_str().ok_or("keras case without `class`")?,
            &case["args"],
        )?,
        "fastai" => {
            let bpe = case["batches_per_epoch"]
                .as_u64()
                .and_then(|b| u32::try_from(b).ok())
                .ok_or("fastai case without `batches_per_epoch`")?;
            fastai_schedule(
                case["method"]
                    .as_str()
                    .ok_or("fastai case without `method`")?,
                &case["args"],
                bpe,
            )?
        }
        other => return Err(format!("unsupported library {other:?}")),
    };
    let want_lr = numbers(case, "lr").ok_or("case without `lr`")?;
    let want_m = numbers(case, "momentum");
    let built = Built::Closed(Box::new(schedule.clone()));
    let got = trajectory(&built, want_lr.len(), None)?;
    let abs_tol = if library == "keras" {
        let peak = want_lr.iter().fold(0.0f64, |m, &v| m.max(v.abs()));
        ABS_TOL.max(f64::from(f32::EPSILON) * peak)
    } else {
        ABS_TOL
    };
    let mut allowed = 0;
    for (t, (&wl, &(gl, gm))) in want_lr.iter().zip(&got).enumerate() {
        if !close(wl, gl, abs_tol) {
            let restart_end = match &schedule {
                AnySchedule::WarmRestarts(w) => {
                    let step = u32::try_from(t).map_err(|_| "too many steps")?;
                    let (cycle, pos) = w.cycle(step);
                    (cycle > 0 && pos == F::ZERO).then(|| w.config().eta_min.to_f64())
                }
                _ => None,
            };
            match restart_end {
                Some(eta_min) if close(wl, eta_min, abs_tol) => allowed += 1,
                _ => return Err(format!("lr[{t}]: {library} {wl:e}, lrate {gl:e}")),
            }
        }
        if let Some(want_m) = &want_m {
            let wm = *want_m.get(t).ok_or("momentum shorter than lr")?;
            let gm = gm.ok_or("lrate schedule does not cycle momentum")?;
            if !close(wm, gm, ABS_TOL) {
                return Err(format!("momentum[{t}]: {library} {wm:e}, lrate {gm:e}"));
            }
        }
    }
    Ok(allowed)
}

#[test]
fn keras_fastai_parity() {
    let golden = load(&golden_path(
        "LRATE_KERAS_FASTAI_GOLDEN",
        "keras_fastai_schedules.json",
    ));
    let cases = golden["cases"].as_array().expect("`cases` must be a list");
    check_cases("Keras/fastai", cases, |case, f64| {
        if f64 {
            run_case::<f64>(case)
        } else {
            run_case::<f32>(case)
        }
    });
}
