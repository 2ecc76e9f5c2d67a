//! fastai `Learner.fit_*` methods onto lrate schedules.

use super::{cfg_err, f, Args};
use lrate_core::{AnySchedule, OneCycleConfig, Real, WarmRestartsConfig};
use serde_json::Value;

/// Maps a fastai `Learner.fit_*` method; `batches_per_epoch` turns epochs into
/// steps (one step per training batch).
pub fn fastai_schedule<F: Real>(
    method: &str,
    args: &Value,
    batches_per_epoch: u32,
) -> Result<AnySchedule<F>, String> {
    let mut a = Args::new(args, method)?;
    let steps = |epochs: u32| {
        epochs
            .checked_mul(batches_per_epoch)
            .ok_or_else(|| format!("{method}: too many batches"))
    };
    let s: AnySchedule<F> = match method {
        "fit_one_cycle" => {
            let lr_max = a.f64_req("lr_max")?;
            let mut cfg = OneCycleConfig::<F>::fastai(f(lr_max), steps(a.u32_req("n_epoch")?)?);
            let div = a.f64_or("div", 25.0)?;
            cfg.div_factor = f(div);
            cfg.final_div_factor = f(a.f64_or("div_final", 1e5)? / div);
            cfg.pct_start = f(a.f64_or("pct_start", 0.25)?);
            if a.get("moms").is_some() {
                let m = a.f64_list("moms")?;
                if m.len() != 3 {
                    return Err("fit_one_cycle: `moms` must have 3 values".into());
                }
                cfg.max_momentum = f(m[0]);
                cfg.base_momentum = f(m[1]);
                cfg.final_momentum = Some(f(m[2]));
            }
            cfg.build().map_err(cfg_err)?.into()
        }
        "fit_flat_cos" => {
            // combined_cos(pct_start, lr, lr, lr/div_final): a 1cycle whose rise is flat.
            let lr = a.f64_req("lr")?;
            let mut cfg =
                OneCycleConfig::<F>::fastai_flat_cos(f(lr), steps(a.u32_req("n_epoch")?)?);
            cfg.final_div_factor = f(a.f64_or("div_final", 1e5)?);
            cfg.pct_start = f(a.f64_or("pct_start", 0.75)?);
            cfg.build().map_err(cfg_err)?.into()
        }
        "fit_sgdr" => {
            // Cycle i lasts cycle_len·cycle_mult^i epochs, cosine from lr_max to 0.
            let lr_max = a.f64_req("lr_max")?;
            WarmRestartsConfig::new(
                f(lr_max),
                steps(a.u32_req("cycle_len")?)?,
                a.u32_or("cycle_mult", 2)?,
                F::ZERO,
            )
            .build()
            .map_err(cfg_err)?
            .into()
        }
        other => return Err(format!("unsupported fastai method {other:?}")),
    };
    // n_cycles only bounds the fit's length, which the golden arrays give.
    let _ = a.get("n_cycles");
    a.finish()?;
    Ok(s)
}
