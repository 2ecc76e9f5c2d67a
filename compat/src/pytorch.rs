//! PyTorch `torch.optim.lr_scheduler` classes onto lrate schedules.

use crate::{cfg_err, f, Args, Built};
use lrate_core::{
    Anneal, AnySchedule, ConstantFactorConfig, CosineAnnealingConfig, CyclicConfig, CyclicMode,
    ExponentialConfig, LinearConfig, MultiStepConfig, OneCycleConfig, PhaseRule, PlateauConfig,
    PlateauMode, PolynomialConfig, Real, Sequential, Single, StepConfig, ThresholdMode,
    WarmRestartsConfig,
};
use serde_json::Value;

/// Maps one PyTorch scheduler that is not `SequentialLR` / `ReduceLROnPlateau`.
/// `base_lr` is the optimizer's initial learning rate.
pub fn pytorch_single<F: Real>(
    class: &str,
    args: &Value,
    base_lr: f64,
) -> Result<Single<F>, String> {
    let mut a = Args::new(args, class)?;
    let lr = f::<F>(base_lr);
    let s: Single<F> = match class {
        "StepLR" => StepConfig {
            base_lr: lr,
            step_size: a.u32_req("step_size")?,
            gamma: f(a.f64_or("gamma", 0.1)?),
        }
        .build()
        .map_err(cfg_err)?
        .into(),
        "MultiStepLR" => {
            // PyTorch keeps milestones in a Counter: order does not matter.
            let mut m = a.u32_list("milestones")?;
            m.sort_unstable();
            MultiStepConfig::new(lr, &m, f(a.f64_or("gamma", 0.1)?))
                .and_then(MultiStepConfig::build)
                .map_err(cfg_err)?
                .into()
        }
        "ExponentialLR" => ExponentialConfig::new(lr, f(a.f64_req("gamma")?))
            .build()
            .map_err(cfg_err)?
            .into(),
        "ConstantLR" => ConstantFactorConfig::new(
            lr,
            f(a.f64_or("factor", 1.0 / 3.0)?),
            a.u32_or("total_iters", 5)?,
        )
        .build()
        .map_err(cfg_err)?
        .into(),
        "LinearLR" => LinearConfig::new(
            lr,
            f(a.f64_or("start_factor", 1.0 / 3.0)?),
            f(a.f64_or("end_factor", 1.0)?),
            a.u32_or("total_iters", 5)?,
        )
        .build()
        .map_err(cfg_err)?
        .into(),
        "PolynomialLR" => {
            PolynomialConfig::new(lr, a.u32_or("total_iters", 5)?, f(a.f64_or("power", 1.0)?))
                .build()
                .map_err(cfg_err)?
                .into()
        }
        "CosineAnnealingLR" => {
            CosineAnnealingConfig::new(lr, a.u32_req("T_max")?, f(a.f64_or("eta_min", 0.0)?))
                .build()
                .map_err(cfg_err)?
                .into()
        }
        "CosineAnnealingWarmRestarts" => WarmRestartsConfig::new(
            lr,
            a.u32_req("T_0")?,
            a.u32_or("T_mult", 1)?,
            f(a.f64_or("eta_min", 0.0)?),
        )
        .build()
        .map_err(cfg_err)?
        .into(),
        "CyclicLR" => {
            let mode = match a.str_or("mode", "triangular")? {
                "triangular" => CyclicMode::Triangular,
                "triangular2" => CyclicMode::Triangular2,
                "exp_range" => CyclicMode::ExpRange,
                other => return Err(format!("CyclicLR: unsupported mode {other:?}")),
            };
            if a.get("scale_fn").is_some() {
                return Err("CyclicLR: a custom scale_fn is not supported".into());
            }
            let default_scale_mode = match mode {
                CyclicMode::ExpRange => "iterations",
                _ => "cycle",
            };
            // scale_mode only matters with a custom scale_fn; with the built-in
            // modes PyTorch ignores it.
            let _ = a.str_or("scale_mode", default_scale_mode)?;
            CyclicConfig {
                base_lr: f(a.f64_req("base_lr")?),
                max_lr: f(a.f64_req("max_lr")?),
                step_size_up: a.u32_or("step_size_up", 2000)?,
                step_size_down: a.u32("step_size_down")?,
                mode,
                gamma: f(a.f64_or("gamma", 1.0)?),
                cycle_momentum: a.bool_or("cycle_momentum", true)?,
                base_momentum: f(a.f64_or("base_momentum", 0.8)?),
                max_momentum: f(a.f64_or("max_momentum", 0.9)?),
            }
            .build()
            .map_err(cfg_err)?
            .into()
        }
        "OneCycleLR" => {
            let total_steps = match a.u32("total_steps")? {
                Some(t) => t,
                None => {
                    let e = a.u32("epochs")?;
                    let s = a.u32("steps_per_epoch")?;
                    match (e, s) {
                        (Some(e), Some(s)) => e
                            .checked_mul(s)
                            .ok_or("OneCycleLR: epochs·steps_per_epoch overflows")?,
                        _ => {
                            return Err("OneCycleLR: needs total_steps or epochs and \
                                        steps_per_epoch"
                                .into())
                        }
                    }
                }
            };
            // Mark epochs / steps_per_epoch as read even when total_steps wins
            // (PyTorch ignores them then).
            let _ = (a.get("epochs"), a.get("steps_per_epoch"));
            let anneal = match a.str_or("anneal_strategy", "cos")? {
                "cos" => Anneal::Cos,
                "linear" => Anneal::Linear,
                other => return Err(format!("OneCycleLR: unsupported anneal_strategy {other:?}")),
            };
            OneCycleConfig {
                max_lr: f(a.f64_req("max_lr")?),
                total_steps,
                pct_start: f(a.f64_or("pct_start", 0.3)?),
                anneal,
                div_factor: f(a.f64_or("div_factor", 25.0)?),
                final_div_factor: f(a.f64_or("final_div_factor", 1e4)?),
                three_phase: a.bool_or("three_phase", false)?,
                cycle_momentum: a.bool_or("cycle_momentum", true)?,
                base_momentum: f(a.f64_or("base_momentum", 0.85)?),
                max_momentum: f(a.f64_or("max_momentum", 0.95)?),
                final_momentum: None,
                phase_rule: PhaseRule::PyTorch,
            }
            .build()
            .map_err(cfg_err)?
            .into()
        }
        other => return Err(format!("unsupported PyTorch scheduler class {other:?}")),
    };
    a.finish()?;
    Ok(s)
}

/// Maps any PyTorch scheduler description.
pub fn pytorch_schedule<F: Real>(
    class: &str,
    args: &Value,
    base_lr: f64,
) -> Result<Built<F>, String> {
    match class {
        "SequentialLR" => {
            let mut a = Args::new(args, class)?;
            let list = match a.get("schedulers") {
                Some(Value::Array(l)) => l,
                _ => return Err("SequentialLR: `schedulers` must be a list".into()),
            };
            let mut subs = Vec::new();
            for item in list {
                let (cls, sub_args) = match item {
                    Value::Array(p) if p.len() == 2 => (
                        p[0].as_str()
                            .ok_or("SequentialLR: scheduler class must be a string")?,
                        &p[1],
                    ),
                    _ => return Err("SequentialLR: each scheduler must be [class, args]".into()),
                };
                subs.push(pytorch_single::<F>(cls, sub_args, base_lr)?);
            }
            let milestones = a.u32_list("milestones")?;
            a.finish()?;
            let seq = Sequential::from_slices(&subs, &milestones).map_err(cfg_err)?;
            Ok(Built::Closed(Box::new(AnySchedule::Sequential(seq))))
        }
        "ReduceLROnPlateau" => {
            let mut a = Args::new(args, class)?;
            let mode = match a.str_or("mode", "min")? {
                "min" => PlateauMode::Min,
                "max" => PlateauMode::Max,
                other => return Err(format!("ReduceLROnPlateau: unsupported mode {other:?}")),
            };
            let threshold_mode = match a.str_or("threshold_mode", "rel")? {
                "rel" => ThresholdMode::Rel,
                "abs" => ThresholdMode::Abs,
                other => {
                    return Err(format!(
                        "ReduceLROnPlateau: unsupported threshold_mode {other:?}"
                    ))
                }
            };
            let cfg = PlateauConfig {
                base_lr: f(base_lr),
                mode,
                factor: f(a.f64_or("factor", 0.1)?),
                patience: a.u32_or("patience", 10)?,
                threshold: f(a.f64_or("threshold", 1e-4)?),
                threshold_mode,
                cooldown: a.u32_or("cooldown", 0)?,
                min_lr: f(a.f64_or("min_lr", 0.0)?),
                eps: f(a.f64_or("eps", 1e-8)?),
            };
            a.finish()?;
            Ok(Built::Plateau(cfg.build().map_err(cfg_err)?))
        }
        _ => {
            let single = pytorch_single::<F>(class, args, base_lr)?;
            Ok(Built::Closed(Box::new(single.into())))
        }
    }
}
