//! Keras `keras.optimizers.schedules` classes onto lrate schedules.

use super::{cfg_err, f, Args};
use lrate_core::{
    AnySchedule, CosineAnnealingConfig, ExponentialConfig, InverseTimeConfig,
    PiecewiseConstantConfig, PolynomialConfig, Real, Single, WarmRestartsConfig, Warmup,
};
use serde_json::Value;

/// Maps a Keras `keras.optimizers.schedules` class.
pub fn keras_schedule<F: Real>(class: &str, args: &Value) -> Result<AnySchedule<F>, String> {
    let mut a = Args::new(args, class)?;
    let _ = a.str_or("name", "")?;
    let s: AnySchedule<F> = match class {
        "CosineDecayRestarts" => {
            let initial = a.f64_req("initial_learning_rate")?;
            WarmRestartsConfig {
                base_lr: f(initial),
                t_0: a.u32_req("first_decay_steps")?,
                t_mult: f(a.f64_or("t_mul", 2.0)?),
                eta_min: f(a.f64_or("alpha", 0.0)? * initial),
                m_mul: f(a.f64_or("m_mul", 1.0)?),
            }
            .build()
            .map_err(cfg_err)?
            .into()
        }
        "CosineDecay" => {
            let initial = a.f64_req("initial_learning_rate")?;
            let decay_steps = a.u32_req("decay_steps")?;
            let alpha = a.f64_or("alpha", 0.0)?;
            let warmup_steps = a.u32_or("warmup_steps", 0)?;
            let cosine = |peak: f64| {
                CosineAnnealingConfig {
                    base_lr: f(peak),
                    t_max: decay_steps,
                    eta_min: f(alpha * peak),
                    hold_eta_min: true,
                }
                .build()
                .map_err(cfg_err)
            };
            match a.f64("warmup_target")? {
                None => cosine(initial)?.into(),
                Some(target) => AnySchedule::Warmup(
                    Warmup::new(warmup_steps, f(initial), Single::from(cosine(target)?))
                        .map_err(cfg_err)?,
                ),
            }
        }
        "ExponentialDecay" => ExponentialConfig {
            base_lr: f(a.f64_req("initial_learning_rate")?),
            gamma: f(a.f64_req("decay_rate")?),
            decay_steps: a.u32_req("decay_steps")?,
            staircase: a.bool_or("staircase", false)?,
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        "InverseTimeDecay" => InverseTimeConfig {
            base_lr: f(a.f64_req("initial_learning_rate")?),
            decay_rate: f(a.f64_req("decay_rate")?),
            decay_steps: a.u32_req("decay_steps")?,
            staircase: a.bool_or("staircase", false)?,
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        "PolynomialDecay" => PolynomialConfig {
            base_lr: f(a.f64_req("initial_learning_rate")?),
            total_iters: a.u32_req("decay_steps")?,
            power: f(a.f64_or("power", 1.0)?),
            end_lr: f(a.f64_or("end_learning_rate", 1e-4)?),
            cycle: a.bool_or("cycle", false)?,
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        "PiecewiseConstantDecay" => {
            let boundaries = a.u32_list("boundaries")?;
            let values: Vec<F> = a.f64_list("values")?.into_iter().map(f).collect();
            PiecewiseConstantConfig::new(&boundaries, &values)
                .and_then(PiecewiseConstantConfig::build)
                .map_err(cfg_err)?
                .into()
        }
        other => return Err(format!("unsupported Keras schedule class {other:?}")),
    };
    a.finish()?;
    Ok(s)
}
