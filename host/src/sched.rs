//! Schedules of a run: where the schedule comes from ([`ScheduleSource`]: a named preset
//! or a `[schedule]` table in lrate-core's serde format, [`AnySchedule`]), where its peak lr
//! comes from ([`MaxLr`] as typed, [`Peak`] once resolved), and the run's schedule built
//! from them ([`for_training`]). The schedule formulas and their adjustments (length, peak)
//! are lrate-core's.

use anyhow::{anyhow, bail, Context, Result};
use lrate_core::{
    AnySchedule, Bounds, ConstantConfig, CosineAnnealingConfig, CosineWithWarmupConfig,
    CyclicConfig, Exponential, InverseSqrtConfig, MultiStepConfig, OneCycle,
    PolynomialWithWarmupConfig, Schedule, StepConfig, TimmCosineConfig, TimmPolyConfig,
    TimmTanhConfig, WarmRestartsConfig, WsdConfig, WsdDecay,
};
use serde::{Deserialize, Serialize};

/// The schedule type of config files: any lrate-core schedule, sequences of up to 4.
pub type Any = AnySchedule<f32, 4>;

/// Names accepted by `--schedule`.
pub const NAMES: &str = "onecycle, onecycle-pytorch, clr, clr2, sgdr, step, multistep, cosine, \
     exponential, constant, wsd, wsd-cosine, cosine-warmup, linear-warmup, inverse-sqrt, \
     timm-cosine, tanh, poly";

/// The warmup of the presets that have one: 5 % of the run.
fn warmup_steps(total: u32) -> u32 {
    total / 20
}

/// A validated schedule; serialises as lrate-core's [`AnySchedule`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunSchedule(pub Any);

impl Schedule<f32> for RunSchedule {
    fn lr(&self, step: u32) -> f32 {
        self.0.lr(step)
    }
    fn momentum(&self, step: u32) -> Option<f32> {
        self.0.momentum(step)
    }
}

impl RunSchedule {
    /// As JSON (stored in checkpoints).
    pub fn to_json(&self) -> Result<serde_json::Value> {
        Ok(serde_json::to_value(self)?)
    }

    /// From JSON; validated again by lrate-core.
    pub fn from_json(v: &serde_json::Value) -> Result<Self> {
        Ok(serde_json::from_value(v.clone())?)
    }

    /// Largest lr over steps `0..steps`.
    pub fn peak(&self, steps: u32) -> f32 {
        (0..steps.max(1)).map(|s| self.lr(s)).fold(0.0, f32::max)
    }
}

/// What an error of [`AnySchedule::with_peak`] is about.
pub const PEAK: &str =
    "--max-lr on this [schedule] table (leave max_lr unset to keep the table's own rates)";

/// An lrate-core error with what it was about.
pub fn core<T>(r: Result<T, lrate_core::ConfigError>, what: &str) -> Result<T> {
    r.map_err(|e| anyhow!("{what}: {e}"))
}

/// A named preset with peak `max_lr` (and lower bound `min_lr` where the
/// schedule has one) over `total` steps of `steps_per_epoch` each.
///
/// * `onecycle`: fastai `fit_one_cycle` (pct_start 0.25, div 25, div_final 1e5,
///   momentum 0.95→0.85→0.95); `onecycle-pytorch`: PyTorch `OneCycleLR` defaults.
/// * `clr`/`clr2`: triangular / triangular2 CLR between `min_lr` (default
///   `max_lr/4`) and `max_lr`, two cycles over the run (step size total/4; Smith
///   2017 recommends 2–10 epochs), momentum cycled 0.9→0.8.
/// * `sgdr`: cosine warm restarts (Loshchilov & Hutter 2017), first period one
///   epoch, doubling (T_mult 2), eta_min 0.
/// * `step`: ×0.1 every third of the run; `multistep`: ×0.1 at 50 % and 75 %.
/// * `cosine`: cosine annealing to 0 over the run.
/// * `exponential`: decays to `max_lr/100` over the run.
/// * `constant`: `max_lr` throughout.
/// * `wsd`: warmup–stable–decay (Hägele et al. 2024): linear warmup over the first
///   5 %, `max_lr` until 80 %, a `1-sqrt` decay to 0 over the last 20 %;
///   `wsd-cosine`: the same with HF's default cosine decay.
/// * `cosine-warmup`, `linear-warmup`: HF transformers' `cosine` and `linear`
///   (5 % warmup, then cosine / linear decay to 0); `inverse-sqrt`: HF's, 5 % warmup.
/// * `timm-cosine`, `tanh`, `poly`: timm's `CosineLRScheduler`, `TanhLRScheduler`,
///   `PolyLRScheduler` over the run (one cycle, 5 % warmup from 0, floor 0).
pub fn named(name: &str, max_lr: f32, min_lr: Option<f32>, total: u32, spe: u32) -> Result<Any> {
    let total = total.max(1);
    let lo = min_lr.unwrap_or(max_lr / 4.0);
    let what = format!("schedule `{name}`");
    let any: Any = match name.to_ascii_lowercase().as_str() {
        "onecycle" | "1cycle" | "one-cycle" | "onecycle-fastai" => {
            core(OneCycle::fastai(max_lr, total), &what)?.into()
        }
        "onecycle-pytorch" => core(OneCycle::pytorch(max_lr, total), &what)?.into(),
        "clr" | "triangular" | "clr2" | "triangular2" => {
            let mut c = CyclicConfig::new(lo, max_lr, (total / 4).max(1));
            if name.ends_with('2') {
                c.mode = lrate_core::CyclicMode::Triangular2;
            }
            core(c.build(), &what)?.into()
        }
        "sgdr" | "warm-restarts" => core(
            WarmRestartsConfig::new(max_lr, spe.max(1), 2, 0.0).build(),
            &what,
        )?
        .into(),
        "step" => core(StepConfig::new(max_lr, (total / 3).max(1)).build(), &what)?.into(),
        "multistep" => {
            // 3/4 of the run in u64: `total · 3` overflows u32 for runs beyond 2^32 / 3 steps.
            let m = [
                (total / 2).max(1),
                ((u64::from(total) * 3 / 4) as u32).max(2),
            ];
            let m: Vec<u32> = if m[1] > m[0] { m.to_vec() } else { vec![m[0]] };
            core(
                core(MultiStepConfig::new(max_lr, &m, 0.1), &what)?.build(),
                &what,
            )?
            .into()
        }
        "cosine" => core(
            CosineAnnealingConfig::new(max_lr, total, 0.0).build(),
            &what,
        )?
        .into(),
        "exponential" => core(Exponential::decay_to(max_lr, 0.01, total), &what)?.into(),
        "constant" => core(ConstantConfig::new(max_lr).build(), &what)?.into(),
        "wsd" | "wsd-1sqrt" | "wsd-cosine" => {
            let decay = (total / 5).max(1);
            let mut c = WsdConfig::new(max_lr, warmup_steps(total), decay, total.max(decay));
            if !name.ends_with("cosine") {
                c.decay_type = WsdDecay::OneMinusSqrt;
            }
            core(c.build(), &what)?.into()
        }
        "cosine-warmup" => core(
            CosineWithWarmupConfig::new(max_lr, warmup_steps(total), total).build(),
            &what,
        )?
        .into(),
        "linear-warmup" => core(
            PolynomialWithWarmupConfig {
                base_lr: max_lr,
                num_warmup_steps: warmup_steps(total),
                num_training_steps: total,
                lr_end: 0.0,
                power: 1.0,
            }
            .build(),
            &what,
        )?
        .into(),
        "inverse-sqrt" => core(
            InverseSqrtConfig {
                base_lr: max_lr,
                num_warmup_steps: warmup_steps(total),
                timescale: None,
            }
            .build(),
            &what,
        )?
        .into(),
        "timm-cosine" | "tanh" | "poly" => {
            let w = warmup_steps(total);
            let t0 = total.saturating_sub(w).max(1);
            // One cycle over the run after the warmup (from 0), floor 0; `$extra` are the
            // shape's own fields.
            macro_rules! timm {
                ($cfg:ident { $($extra:tt)* }) => {
                    core(
                        $cfg {
                            base_lr: max_lr,
                            t_initial: t0,
                            lr_min: 0.0,
                            cycle_mul: 1.0,
                            cycle_decay: 1.0,
                            cycle_limit: 1,
                            warmup_t: w,
                            warmup_lr_init: 0.0,
                            warmup_prefix: true,
                            $($extra)*
                        }
                        .build(),
                        &what,
                    )?
                    .into()
                };
            }
            match name {
                "timm-cosine" => timm!(TimmCosineConfig { k_decay: 1.0 }),
                "tanh" => timm!(TimmTanhConfig { lb: -7.0, ub: 3.0 }),
                _ => timm!(TimmPolyConfig {
                    power: 0.5,
                    k_decay: 1.0
                }),
            }
        }
        _ => bail!("unknown schedule `{name}` (expected one of: {NAMES})"),
    };
    Ok(any)
}

/// Parses a `[schedule]` table (lrate-core's format, e.g. `[schedule.one_cycle]`).
pub fn from_table(v: &toml::Value) -> Result<Any> {
    check_table_shape(v)?;
    v.clone()
        .try_into::<Any>()
        .map_err(|e| anyhow!("invalid [schedule] table: {e}"))
}

/// The shape of a `[schedule]` table: exactly one entry, a table named after a schedule
/// kind. Anything else (a `kind = "…"` key, stray values, several entries) is refused
/// with the key, what was found, what is expected and an example.
fn check_table_shape(v: &toml::Value) -> Result<()> {
    const EXAMPLE: &str = "e.g.\n  [schedule.one_cycle]\n  max_lr = 0.1\n  total_steps = 1000\n\
                           (host/examples/onecycle.toml)";
    let kinds = Any::KINDS.join(", ");
    let Some(t) = v.as_table() else {
        bail!(
            "[schedule] must be a table named after the schedule's kind, {EXAMPLE}; kinds: {kinds}"
        );
    };
    if let Some(kind) = t.get("kind") {
        let tag = kind.as_str().and_then(closest_kind).unwrap_or("one_cycle");
        bail!(
            "[schedule]: found `kind = {kind}`, but a schedule is written as a table named \
             after its kind, with its settings inside: `[schedule.{tag}]`, {EXAMPLE}; kinds: {kinds}"
        );
    }
    let mut entries = t.iter();
    match (entries.next(), entries.next()) {
        (None, _) => bail!("[schedule] is empty: it takes one table named after the schedule's kind, {EXAMPLE}; kinds: {kinds}"),
        (Some((k, val)), None) if !val.is_table() => bail!(
            "[schedule]: found `{k} = {val}`, expected a table `[schedule.KIND]` holding the \
             settings, {EXAMPLE}; kinds: {kinds}"
        ),
        (Some(_), None) => Ok(()),
        (Some(_), Some(_)) => bail!(
            "[schedule] holds {} entries ({}), expected exactly one table named after the \
             schedule's kind, {EXAMPLE}; kinds: {kinds}",
            t.len(),
            t.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The kind tag `name` means, ignoring case, `-` and `_` (`onecycle` → `one_cycle`).
fn closest_kind(name: &str) -> Option<&'static str> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let n = norm(name);
    Any::KINDS.iter().copied().find(|k| norm(k) == n)
}

/// Checks that `name` is a `--schedule` preset, before any work is done with it.
pub fn check_name(name: &str) -> Result<()> {
    named(name, 0.1, None, 1000, 100).map(|_| ())
}

/// `--max-lr`: a number or `auto` (range test); the one type of the peak learning rate
/// from the command line to the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum MaxLr {
    /// Run the range test and use its bounds.
    Auto,
    /// A fixed peak learning rate.
    Fixed(f32),
    /// The learning rates written in the `[schedule]` table (the default when the
    /// config file has one and no `max_lr` is given).
    FromSchedule,
}

impl std::str::FromStr for MaxLr {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(MaxLr::Auto);
        }
        if s.eq_ignore_ascii_case("schedule") {
            return Ok(MaxLr::FromSchedule);
        }
        let v: f32 = s
            .parse()
            .map_err(|_| anyhow!("--max-lr must be a number or `auto`, got `{s}`"))?;
        MaxLr::fixed(v)
    }
}

impl MaxLr {
    /// [`MaxLr::Fixed`], checked: finite and positive.
    pub fn fixed(v: f32) -> Result<Self> {
        if !(v.is_finite() && v > 0.0) {
            bail!("max_lr must be a positive number, got {v}");
        }
        Ok(MaxLr::Fixed(v))
    }
}

/// Where the schedule of a run comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ScheduleSource {
    /// A named preset (`--schedule NAME` or `[run] schedule`; default `onecycle`).
    Named(String),
    /// The config file's `[schedule]` table, in lrate-core's format.
    Table(Box<Any>),
}

/// The peak of a run's schedule: `max_lr` from `--max-lr` or the range test, and the
/// lower bound where the range test gave one (CLR's `base_lr`; presets default to `max_lr/4`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peak {
    /// Peak learning rate.
    pub max_lr: f32,
    /// Lower bound, if any.
    pub min_lr: Option<f32>,
}

impl From<Bounds<f32>> for Peak {
    fn from(b: Bounds<f32>) -> Self {
        Peak {
            max_lr: b.max_lr,
            min_lr: Some(b.min_lr),
        }
    }
}

/// The schedule of a training run of `total` steps (`spe` per epoch) and its short name.
/// `peak` is `None` only for a `[schedule]` table that keeps its own learning rates.
pub fn for_training(
    source: &ScheduleSource,
    peak: Option<Peak>,
    total: u32,
    spe: u32,
) -> Result<(String, RunSchedule)> {
    match source {
        ScheduleSource::Table(any) => {
            let any = core((**any).clone().with_length(total), "schedule length")?;
            let any = match peak {
                Some(p) => core(any.with_peak(p.max_lr, p.min_lr), PEAK)?,
                None => any,
            };
            Ok((any.name().to_string(), RunSchedule(any)))
        }
        ScheduleSource::Named(name) => {
            let p = peak.context("internal: a named schedule needs a max lr")?;
            let any = named(name, p.max_lr, p.min_lr, total, spe)?;
            Ok((name.clone(), RunSchedule(any)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_peak_at_max_lr() {
        for n in NAMES.split(", ") {
            let s = RunSchedule(named(n, 0.4, Some(0.1), 100, 10).unwrap());
            let p = s.peak(100);
            assert!((p - 0.4).abs() < 1e-3, "{n}: peak {p}");
            assert!(
                (0..100).all(|t| s.lr(t).is_finite() && s.lr(t) >= 0.0),
                "{n}"
            );
        }
        let oc = RunSchedule(named("onecycle", 0.4, None, 100, 10).unwrap());
        assert_eq!(oc.momentum(0), Some(0.95));
        assert!(named("warp", 0.4, None, 100, 10).is_err());
    }

    /// Fuzz regression (`fuzz/regressions/schedules/multistep-overflow`): `multistep` over
    /// more than 2^32 / 3 steps overflowed computing its second milestone.
    #[test]
    fn presets_take_any_length() {
        for n in NAMES.split(", ") {
            for total in [u32::MAX, u32::MAX / 3 + 1] {
                let s = RunSchedule(named(n, 0.4, Some(0.1), total, u32::MAX).unwrap());
                for t in [0, total / 2, total - 1, u32::MAX] {
                    assert!(s.lr(t).is_finite() && s.lr(t) >= 0.0, "{n} at {t}");
                }
            }
        }
        let Any::MultiStep(m) = named("multistep", 0.4, None, u32::MAX, 1).unwrap() else {
            panic!("multistep")
        };
        assert_eq!(m.config().milestones[..], [u32::MAX / 2, 3_221_225_471]);
    }

    /// Fuzz regression (`fuzz/regressions/schedules/one-cycle-nan-momentum`): TOML writes
    /// `nan`; a momentum left unused (`cycle_momentum = false`) was accepted as NaN and the
    /// run's schedule then could not be read back from its checkpoint.
    #[test]
    fn a_nan_momentum_table_is_refused() {
        for t in [
            "[one_cycle]\nmax_lr = 0.1\ntotal_steps = 100\ncycle_momentum = false\nbase_momentum = nan\n",
            "[cyclic]\nbase_lr = 0.01\nmax_lr = 0.1\ncycle_momentum = false\nmax_momentum = nan\n",
        ] {
            let e = format!("{:#}", from_table(&toml::from_str(t).unwrap()).unwrap_err());
            assert!(e.contains("momentum"), "{e}");
        }
    }

    #[test]
    fn table_round_trip_and_overrides() {
        let t: toml::Value = toml::from_str(
            "[one_cycle]\nmax_lr = 0.1\ntotal_steps = 10\npct_start = 0.3\ndiv_factor = 25.0\n\
             final_div_factor = 1e4\ncycle_momentum = true\nbase_momentum = 0.85\nmax_momentum = 0.95\n",
        )
        .unwrap();
        let any = from_table(&t).unwrap();
        let any = any.with_length(200).unwrap();
        let any = any.with_peak(0.5, None).unwrap();
        let s = RunSchedule(any);
        assert!((s.peak(200) - 0.5).abs() < 1e-3);
        let back = RunSchedule::from_json(&s.to_json().unwrap()).unwrap();
        assert_eq!(back, s);
        let bad: toml::Value =
            toml::from_str("[one_cycle]\nmax_lr = -1.0\ntotal_steps = 10\n").unwrap();
        assert!(from_table(&bad).is_err());
    }
}
