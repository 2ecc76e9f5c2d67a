//! What an averaged range test found: the curves, every rule's pick with its spread, and
//! the pick used, or why there is none.

use lrate_core::{
    BandPoint, Bounds, BoundsRule, CurvePoint, RangeTestConfig, Status, Suggestion, Suggestions,
};
use serde::Serialize;

use super::sweeps::Averaged;
use super::verify::Verified;
use crate::config::{FindConfig, Vary};

/// The factor by which the sweeps may disagree on the pick before `find` says so: one step
/// of a ×2 grid (lrate-core's [`lrate_core::AveragedRangeTest::DISAGREEMENT`]).
pub const DISAGREEMENT: f32 = Averaged::DISAGREEMENT as f32;

/// One sweep of the range test.
#[derive(Clone, Debug, Serialize)]
pub struct SweepReport {
    /// Batches run.
    pub batches: u32,
    /// Why it stopped.
    pub stop_reason: String,
    /// Its lowest smoothed loss and the lr there (fastai `minimum`'s point).
    pub min_point: Option<MinPoint>,
    /// Where its smoothed loss had made 80 % of its fall (the point `near-min` multiplies).
    pub anchor: Option<MinPoint>,
    /// The pick of the chosen rule on this sweep alone.
    pub max_lr: Option<f32>,
    /// Its recorded curve.
    pub curve: Vec<CurvePoint<f32>>,
}

/// A point of lowest smoothed loss.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct MinPoint {
    /// The lr.
    pub lr: f32,
    /// The smoothed loss there.
    pub loss: f32,
}

/// One rule's pick on the mean curve and on each sweep.
#[derive(Clone, Debug, Serialize)]
pub struct RuleReport {
    /// The rule (`near-min` with its factor).
    pub rule: BoundsRule,
    /// Its max_lr on the mean curve.
    pub mean_curve: Option<f32>,
    /// Median over the sweeps.
    pub median: Option<f32>,
    /// Lowest pick of a sweep.
    pub low: Option<f32>,
    /// Highest pick of a sweep.
    pub high: Option<f32>,
    /// Each sweep's pick.
    pub per_sweep: Vec<Option<f32>>,
}

/// The max_lr used, with its spread over the sweeps.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Pick {
    /// The max_lr used (after `--verify`, the verified one).
    pub max_lr: f32,
    /// Where it comes from: `mean-curve` (the rule on the mean curve) or `verify`.
    pub source: &'static str,
    /// The rule's pick on the mean curve.
    pub mean_curve: f32,
    /// Lowest pick of a sweep.
    pub low: Option<f32>,
    /// Highest pick of a sweep.
    pub high: Option<f32>,
    /// Sweeps.
    pub sweeps: u32,
    /// The sweeps disagree by more than [`DISAGREEMENT`] (or some gave no pick).
    pub disagrees: bool,
}

/// Everything the range test produced.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The mean curve (one sweep: its curve up to its first non-finite loss).
    #[serde(skip)]
    pub rows: Vec<CurvePoint<f32>>,
    /// The mean curve with min, max and standard deviation over the sweeps.
    pub band: Vec<BandPoint<f32>>,
    /// Sweeps.
    pub repeats: u32,
    /// What differed between them.
    pub vary: Vary,
    /// Each sweep.
    pub sweeps: Vec<SweepReport>,
    /// Why the first sweep to end stopped.
    pub stop_reason: String,
    /// Batches run, over all sweeps.
    pub batches: u32,
    /// The suggestions on the mean curve.
    pub suggestions: Suggestions<f32>,
    /// The lowest point of the mean curve.
    pub min_point: Option<MinPoint>,
    /// Where the mean curve had made 80 % of its fall to its minimum: `near-min`'s
    /// `max_lr = factor × anchor.lr`.
    pub anchor: Option<MinPoint>,
    /// Every rule's pick.
    pub rules: Vec<RuleReport>,
    /// The bounds: max_lr from the chosen rule, min_lr a quarter of it (Smith 2017, §3.3:
    /// the lower bound 1/3–1/4 of the upper one). `None` when there is no reliable pick.
    pub bounds: Option<Bounds<f32>>,
    /// Rule used for the bounds.
    pub bounds_rule: BoundsRule,
    /// The pick with its spread.
    pub pick: Option<Pick>,
    /// Why there is no reliable suggestion, when there is none.
    pub unreliable: Option<String>,
    /// Relative fall of the mean smoothed loss from its first to its lowest value.
    pub loss_drop: f32,
    /// The `--verify` trials.
    pub verify: Option<Verified>,
    /// Wall seconds of the sweeps (and trials).
    pub seconds: f64,
    /// Configuration.
    pub config: RangeTestConfig<f32>,
}

fn min_point(p: Option<CurvePoint<f32>>) -> Option<MinPoint> {
    let p = p?;
    Some(MinPoint {
        lr: p.lr,
        loss: p.loss?,
    })
}

/// Every rule, `near-min` with the factor of `chosen` when that is a `near-min`.
fn rules(chosen: BoundsRule) -> Vec<BoundsRule> {
    let near_min = match chosen {
        BoundsRule::NearMin { .. } => chosen,
        BoundsRule::Suggestion(_) => BoundsRule::DEFAULT,
    };
    std::iter::once(near_min)
        .chain(Suggestion::ALL.into_iter().map(BoundsRule::from))
        .collect()
}

impl Outcome {
    /// The outcome of `avg` under `find`'s rule, before any `--verify`.
    pub fn new(avg: &Averaged, find: &FindConfig, seconds: f64) -> Self {
        let mean = avg.mean();
        let rule = find.rule;
        let spread = avg.spread(rule);
        let reliable = mean.reliable_max_lr(rule);
        let pick = reliable.ok().map(|lr| Pick {
            max_lr: lr,
            source: "mean-curve",
            mean_curve: lr,
            low: spread.low,
            high: spread.high,
            sweeps: avg.len() as u32,
            disagrees: spread.disagrees(DISAGREEMENT),
        });
        let div = Bounds::<f32>::DEFAULT_DIV as f32;
        let reason = |s: Status| match s {
            Status::Done(r) => format!("{r:?}"),
            Status::Continue => "Running".into(),
        };
        let sweeps = avg
            .sweeps()
            .iter()
            .map(|s| SweepReport {
                batches: s.batches(),
                stop_reason: reason(s.status()),
                min_point: min_point(s.min_point()),
                anchor: min_point(s.near_min_point()),
                max_lr: s.max_lr_by(rule),
                curve: s.curve().iter().collect(),
            })
            .collect();
        let rules = rules(rule)
            .into_iter()
            .map(|r| {
                let s = avg.spread(r);
                RuleReport {
                    rule: r,
                    mean_curve: s.mean_curve,
                    median: s.median,
                    low: s.low,
                    high: s.high,
                    per_sweep: s.per_sweep.to_vec(),
                }
            })
            .collect();
        Outcome {
            rows: mean.curve().iter().collect(),
            band: avg.band().collect(),
            repeats: avg.len() as u32,
            vary: find.vary,
            sweeps,
            stop_reason: reason(mean.status()),
            batches: avg.sweeps().iter().map(|s| s.batches()).sum(),
            suggestions: mean.suggestions(),
            min_point: min_point(mean.min_point()),
            anchor: min_point(mean.near_min_point()),
            rules,
            bounds: pick.and_then(|p| Bounds::new(p.max_lr, div).ok()),
            bounds_rule: rule,
            pick,
            unreliable: reliable.err().map(|e| e.to_string()),
            loss_drop: mean.loss_drop().unwrap_or(0.0),
            verify: None,
            seconds,
            config: *avg.config(),
        }
    }

    /// Takes the `--verify` trials' choice as the pick.
    pub fn verified(mut self, v: Verified) -> Self {
        if let Some(p) = &mut self.pick {
            p.max_lr = v.chosen;
            p.source = "verify";
            self.bounds = Bounds::new(v.chosen, Bounds::<f32>::DEFAULT_DIV as f32).ok();
        }
        self.verify = Some(v);
        self
    }

    /// The message of a range test without a reliable pick, with `hint`.
    pub fn no_suggestion(&self, hint: &str) -> Option<String> {
        let why = self.unreliable.as_deref()?;
        Some(format!("no reliable suggestion: {why}\nhint: {hint}"))
    }
}
