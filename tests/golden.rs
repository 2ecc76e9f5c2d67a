//! Reading the golden reference files and mapping PyTorch / Keras / fastai
//! scheduler descriptions (class or method name + arguments) onto lrate
//! schedules, generally: any file in the same format goes through the same code.
//!
//! Every argument a mapper does not understand is an error, so an unsupported
//! class or argument fails the parity tests instead of being skipped.

use lrate_core::{
    Anneal, AnySchedule, ConfigError, ConstantFactorConfig, CosineAnnealingConfig, CyclicConfig,
    CyclicMode, ExponentialConfig, InverseTimeConfig, LinearConfig, MultiStepConfig,
    OneCycleConfig, PhaseRule, PiecewiseConstantConfig, PlateauConfig, PlateauMode,
    PolynomialConfig, Real, ReduceOnPlateau, Schedule, Sequential, Single, StepConfig,
    ThresholdMode, WarmRestartsConfig, Warmup,
};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// A schedule built from a golden case.
#[derive(Clone, Debug)]
pub enum Built<F: Real> {
    /// A closed-form schedule.
    Closed(Box<AnySchedule<F>>),
    /// `ReduceLROnPlateau`, fed a metric after every step.
    Plateau(ReduceOnPlateau<F>),
}

fn cfg_err(e: ConfigError) -> String {
    format!("lrate rejected the configuration: {e}")
}

/// Typed access to an `args` object that remembers which keys were read, so
/// [`Args::finish`] can reject the rest.
pub struct Args<'a> {
    map: &'a Map<String, Value>,
    used: Vec<&'a str>,
    ctx: String,
}

impl<'a> Args<'a> {
    /// Wraps `args` (must be a JSON object) of `ctx` (the class name).
    pub fn new(args: &'a Value, ctx: &str) -> Result<Self, String> {
        let map = args
            .as_object()
            .ok_or_else(|| format!("{ctx}: args is not an object"))?;
        Ok(Self {
            map,
            used: Vec::new(),
            ctx: ctx.to_string(),
        })
    }

    /// The value of `key`; JSON `null` (Python `None`) counts as absent.
    pub fn get(&mut self, key: &'a str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn bad(&self, key: &str, want: &str) -> String {
        format!("{}: argument `{key}` is not {want}", self.ctx)
    }

    /// An optional number.
    pub fn f64(&mut self, key: &'a str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::Bool(b)) => Ok(Some(f64::from(u8::from(*b)))),
            Some(_) => Err(self.bad(key, "a number")),
        }
    }

    /// A number with a default.
    pub fn f64_or(&mut self, key: &'a str, default: f64) -> Result<f64, String> {
        Ok(self.f64(key)?.unwrap_or(default))
    }

    /// A required number.
    pub fn f64_req(&mut self, key: &'a str) -> Result<f64, String> {
        self.f64(key)?
            .ok_or_else(|| format!("{}: missing argument `{key}`", self.ctx))
    }

    /// An optional non-negative integer that fits `u32`.
    pub fn u32(&mut self, key: &'a str) -> Result<Option<u32>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .or_else(|| {
                    // Accept an integral float such as 10.0.
                    v.as_f64()
                        .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x <= f64::from(u32::MAX))
                        .map(|x| x as u32)
                })
                .map(Some)
                .ok_or_else(|| self.bad(key, "a non-negative integer below 2^32")),
        }
    }

    /// An integer with a default.
    pub fn u32_or(&mut self, key: &'a str, default: u32) -> Result<u32, String> {
        Ok(self.u32(key)?.unwrap_or(default))
    }

    /// A required integer.
    pub fn u32_req(&mut self, key: &'a str) -> Result<u32, String> {
        self.u32(key)?
            .ok_or_else(|| format!("{}: missing argument `{key}`", self.ctx))
    }

    /// A boolean with a default.
    pub fn bool_or(&mut self, key: &'a str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(key, "a boolean")),
        }
    }

    /// A string with a default.
    pub fn str_or(&mut self, key: &'a str, default: &'a str) -> Result<&'a str, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(self.bad(key, "a string")),
        }
    }

    /// A required list of numbers.
    pub fn f64_list(&mut self, key: &'a str) -> Result<Vec<f64>, String> {
        let bad = self.bad(key, "a list of numbers");
        match self.get(key) {
            Some(Value::Array(a)) => a.iter().map(|v| v.as_f64().ok_or(bad.clone())).collect(),
            Some(_) => Err(bad),
            None => Err(format!("{}: missing argument `{key}`", self.ctx)),
        }
    }

    /// A required list of non-negative integers.
    pub fn u32_list(&mut self, key: &'a str) -> Result<Vec<u32>, String> {
        let bad = self.bad(key, "a list of non-negative integers");
        self.f64_list(key)?
            .into_iter()
            .map(|x| {
                (x.fract() == 0.0 && x >= 0.0 && x <= f64::from(u32::MAX))
                    .then_some(x as u32)
                    .ok_or(bad.clone())
            })
            .collect()
    }

    /// Fails on an argument that was not read, or on `last_epoch` other than -1
    /// (resuming mid-schedule is not what the golden files describe).
    pub fn finish(mut self) -> Result<(), String> {
        if let Some(v) = self.f64("last_epoch")? {
            if v != -1.0 {
                return Err(format!("{}: unsupported `last_epoch` {v}", self.ctx));
            }
        }
        let unused: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.used.contains(&k.as_str()))
            .collect();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: unsupported argument(s) {unused:?}", self.ctx))
        }
    }
}

fn f<F: Real>(v: f64) -> F {
    F::from_f64(v)
}

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
