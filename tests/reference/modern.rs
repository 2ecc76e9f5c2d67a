//! HF transformers `get_*_schedule` functions and timm `*LRScheduler` classes
//! onto lrate schedules (`modern_schedules.json`).

use super::{cfg_err, f, Args};
use lrate_core::{
    AnySchedule, CosineHardRestartsConfig, CosineWithWarmupConfig, InverseSqrtConfig,
    PolynomialWithWarmupConfig, Real, TimmCosineConfig, TimmPolyConfig, TimmTanhConfig, WsdConfig,
    WsdDecay, WsdWarmup,
};
use serde_json::Value;

fn wsd_warmup(name: &str) -> Result<WsdWarmup, String> {
    match name {
        "linear" => Ok(WsdWarmup::Linear),
        "cosine" => Ok(WsdWarmup::Cosine),
        "1-sqrt" => Ok(WsdWarmup::OneMinusSqrt),
        o => Err(format!("unknown warmup_type `{o}`")),
    }
}

fn wsd_decay(name: &str) -> Result<WsdDecay, String> {
    match name {
        "linear" => Ok(WsdDecay::Linear),
        "cosine" => Ok(WsdDecay::Cosine),
        "1-sqrt" => Ok(WsdDecay::OneMinusSqrt),
        o => Err(format!("unknown decay_type `{o}`")),
    }
}

/// Maps an HF transformers schedule function (`get_wsd_schedule`, …) called on an
/// optimizer whose `lr` is `base_lr`.
pub fn transformers_schedule<F: Real>(
    function: &str,
    args: &Value,
    base_lr: f64,
) -> Result<AnySchedule<F>, String> {
    let mut a = Args::new(args, function)?;
    let s: AnySchedule<F> = match function {
        "get_wsd_schedule" => WsdConfig {
            base_lr: f(base_lr),
            num_warmup_steps: a.u32_req("num_warmup_steps")?,
            num_decay_steps: a.u32_req("num_decay_steps")?,
            num_training_steps: a.u32("num_training_steps")?,
            num_stable_steps: a.u32("num_stable_steps")?,
            warmup_type: wsd_warmup(a.str_or("warmup_type", "linear")?)?,
            decay_type: wsd_decay(a.str_or("decay_type", "cosine")?)?,
            min_lr_ratio: f(a.f64_or("min_lr_ratio", 0.0)?),
            num_cycles: f(a.f64_or("num_cycles", 0.5)?),
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        "get_cosine_schedule_with_warmup" | "get_cosine_with_min_lr_schedule_with_warmup" => {
            let min_lr = if function == "get_cosine_schedule_with_warmup" {
                None
            } else {
                a.f64("min_lr")?
            };
            let min_lr_rate = if function == "get_cosine_schedule_with_warmup" {
                0.0
            } else {
                a.f64_or("min_lr_rate", 0.0)?
            };
            CosineWithWarmupConfig {
                base_lr: f(base_lr),
                num_warmup_steps: a.u32_req("num_warmup_steps")?,
                num_training_steps: a.u32_req("num_training_steps")?,
                num_cycles: f(a.f64_or("num_cycles", 0.5)?),
                min_lr_rate: f(min_lr_rate),
                min_lr: min_lr.map(f),
            }
            .build()
            .map_err(cfg_err)?
            .into()
        }
        "get_cosine_with_hard_restarts_schedule_with_warmup" => CosineHardRestartsConfig {
            base_lr: f(base_lr),
            num_warmup_steps: a.u32_req("num_warmup_steps")?,
            num_training_steps: a.u32_req("num_training_steps")?,
            num_cycles: a.u32_or("num_cycles", 1)?,
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        "get_inverse_sqrt_schedule" => InverseSqrtConfig {
            base_lr: f(base_lr),
            num_warmup_steps: a.u32_req("num_warmup_steps")?,
            timescale: a.u32("timescale")?,
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        "get_polynomial_decay_schedule_with_warmup" => PolynomialWithWarmupConfig {
            base_lr: f(base_lr),
            num_warmup_steps: a.u32_req("num_warmup_steps")?,
            num_training_steps: a.u32_req("num_training_steps")?,
            lr_end: f(a.f64_or("lr_end", 1e-7)?),
            power: f(a.f64_or("power", 1.0)?),
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        o => return Err(format!("unsupported transformers function `{o}`")),
    };
    a.finish()?;
    Ok(s)
}

/// Maps a timm scheduler class stepped with `step_update(num_updates=t)` on an
/// optimizer whose `lr` is `base_lr`.
pub fn timm_schedule<F: Real>(
    class: &str,
    args: &Value,
    base_lr: f64,
) -> Result<AnySchedule<F>, String> {
    let mut a = Args::new(args, class)?;
    // timm's noise arguments change nothing when absent or off.
    for key in ["noise_range_t", "noise_pct", "noise_std", "noise_seed"] {
        if a.get(key).is_some() {
            return Err(format!("{class}: `{key}` (lr noise) is not supported"));
        }
    }
    if !a.bool_or("t_in_epochs", false)? {
        // Stepped per update, as the golden file's semantics says.
    } else {
        return Err(format!(
            "{class}: t_in_epochs = true is not a per-step case"
        ));
    }
    let _ = a.bool_or("initialize", true)?;
    let base_lr = f::<F>(base_lr);
    let t_initial = a.u32_req("t_initial")?;
    let lr_min = f(a.f64_or("lr_min", 0.0)?);
    let cycle_mul = f(a.f64_or("cycle_mul", 1.0)?);
    let cycle_decay = f(a.f64_or("cycle_decay", 1.0)?);
    let cycle_limit = a.u32_or("cycle_limit", 1)?;
    let warmup_t = a.u32_or("warmup_t", 0)?;
    let warmup_lr_init = f(a.f64_or("warmup_lr_init", 0.0)?);
    let warmup_prefix = a.bool_or("warmup_prefix", false)?;
    let s: AnySchedule<F> = match class {
        "CosineLRScheduler" => TimmCosineConfig {
            base_lr,
            t_initial,
            lr_min,
            cycle_mul,
            cycle_decay,
            cycle_limit,
            warmup_t,
            warmup_lr_init,
            warmup_prefix,
            k_decay: f(a.f64_or("k_decay", 1.0)?),
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        "TanhLRScheduler" => TimmTanhConfig {
            base_lr,
            t_initial,
            lr_min,
            cycle_mul,
            cycle_decay,
            cycle_limit,
            warmup_t,
            warmup_lr_init,
            warmup_prefix,
            lb: f(a.f64_or("lb", -7.0)?),
            ub: f(a.f64_or("ub", 3.0)?),
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        "PolyLRScheduler" => TimmPolyConfig {
            base_lr,
            t_initial,
            lr_min,
            cycle_mul,
            cycle_decay,
            cycle_limit,
            warmup_t,
            warmup_lr_init,
            warmup_prefix,
            power: f(a.f64_or("power", 0.5)?),
            k_decay: f(a.f64_or("k_decay", 1.0)?),
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        o => return Err(format!("unsupported timm class `{o}`")),
    };
    a.finish()?;
    Ok(s)
}
