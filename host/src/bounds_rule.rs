//! TEMPORARY: replaced by lrate-core's `BoundsRule` when the core refactor lands.
use lrate_core::{Bounds, RangeTest, Suggestion};

/// How the recommended max_lr is read off the curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BoundsRule {
    /// A suggestion of lrate-core, used as is.
    Suggestion(Suggestion),
    /// near-min.
    NearMin,
}
impl BoundsRule {
    /// Default.
    pub const DEFAULT: Self = BoundsRule::NearMin;
}
impl std::fmt::Display for BoundsRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoundsRule::Suggestion(s) => write!(f, "{}", format!("{s:?}").to_lowercase()),
            BoundsRule::NearMin => f.write_str("near-min"),
        }
    }
}
impl std::str::FromStr for BoundsRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "near-min" | "nearmin" => BoundsRule::NearMin,
            "steep" => BoundsRule::Suggestion(Suggestion::Steep),
            "valley" => BoundsRule::Suggestion(Suggestion::Valley),
            "slide" => BoundsRule::Suggestion(Suggestion::Slide),
            "minimum" | "min" => BoundsRule::Suggestion(Suggestion::Minimum),
            "steepest" => BoundsRule::Suggestion(Suggestion::Steepest),
            _ => return Err(format!("unknown suggestion `{s}` (expected near-min, steep, valley, slide, minimum or steepest)")),
        })
    }
}
/// bounds_by.
pub fn bounds_by<const N: usize>(
    rt: &RangeTest<f32, N>,
    rule: BoundsRule,
    div: f32,
) -> Result<Bounds<f32>, lrate_core::ConfigError> {
    match rule {
        BoundsRule::Suggestion(s) => rt.bounds(s, div),
        BoundsRule::NearMin => {
            let max_lr = rt.suggest(Suggestion::Minimum).unwrap_or(f32::NAN) * (10.0 / 3.0);
            Bounds::new(max_lr, div)
        }
    }
}
