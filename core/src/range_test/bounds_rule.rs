//! Which point of the range-test curve becomes a schedule's `max_lr`.

use core::fmt;
use core::str::FromStr;

use super::bounds::Bounds;
use super::machine::RangeTest;
use super::suggest::Suggestion;
use crate::error::{ConfigError, Problem};
use crate::Real;

/// The optimizer family a calibrated [`BoundsRule::NearMin`] factor is for: the
/// best 1cycle `max_lr` sits at a different multiple of the range test's
/// loss-minimum lr for SGD than for Adam (see [`BoundsRule::for_optimizer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OptimizerFamily {
    /// SGD, with or without (Nesterov) momentum.
    Sgd,
    /// Adam and AdamW.
    Adam,
}

/// How the recommended `max_lr` is read off a range-test curve, for
/// [`RangeTest::bounds_by`].
///
/// Why [`NearMin`](Self::NearMin) and not fastai's `valley` by default: the
/// calibration study (`bench/calibrate.sh`, `docs/results/calibration.md`)
/// measures every rule against a grid search of 1cycle `max_lr` on 7 tasks (3
/// seeds, 3 sweeps each): the default comes within 0.3 pp of the best grid point on
/// 5 of them (mean gap −0.10 pp on the calibration tasks, −0.38 pp held out);
/// `steepest`, the best of the others, on 4 (−0.29 / −0.58 pp); `valley` on none.
///
/// Parsed ([`FromStr`], case-insensitive) from `near-min` (or `nearmin`; the SGD
/// default factor), `near-min:F` (factor `F`), `steep`, `valley`, `slide`,
/// `minimum` (or `min`) and `steepest`; displayed and serialized (under the
/// `serde` feature) as its canonical name, [`NearMin`](Self::NearMin) always with
/// its factor (`near-min:1.4`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BoundsRule {
    /// `near-min`: `max_lr = factor · lr*`, with `lr*` the first lr at which the
    /// smoothed loss has made 80 % of its fall to its minimum
    /// ([`RangeTest::near_min_point`]). Smith (2018, *A disciplined approach to neural
    /// network hyper-parameters: Part 1*, §4.1) takes 1cycle's max_lr near the loss
    /// minimum of the range test; the factor is calibrated per [`OptimizerFamily`]
    /// ([`BoundsRule::for_optimizer`]).
    NearMin {
        /// The multiple of `lr*` (finite, > 0).
        factor: f32,
    },
    /// A [`Suggestion`] of the range test, used as is.
    Suggestion(Suggestion),
}

impl BoundsRule {
    /// The `near-min` factor for SGD: the geometric mean, over the SGD calibration
    /// tasks of `docs/results/calibration.md` (`bench/calibrate.sh`), of the best
    /// grid-searched 1cycle `max_lr` over the anchor lr (3 seeds, 3 sweeps each).
    ///
    /// | task (3 seeds) | split | best grid / anchor | default − best grid |
    /// |---|---|---:|---:|
    /// | cnn-s, Fashion-MNIST, SGD Nesterov, batch 128 | calibration | 2.26 | −0.15 pp |
    /// | mlp, Fashion-MNIST, SGD Nesterov, batch 32 | calibration | 0.91 | +0.17 pp |
    /// | cnn-s, MNIST, SGD Nesterov, batch 64 | held-out | 4.25 | −0.20 pp |
    pub const SGD_FACTOR: f32 = 1.4;
    /// The `near-min` factor for Adam, fitted like [`SGD_FACTOR`](Self::SGD_FACTOR).
    /// The batch-normalised CNNs want 0.3–0.5× the anchor, the MLPs 0.8–2.7×: the
    /// factor is their compromise, and the MLP tasks miss the 0.3 pp target.
    ///
    /// | task (3 seeds) | split | best grid / anchor | default − best grid |
    /// |---|---|---:|---:|
    /// | mlp, MNIST, Adam, batch 64 | calibration | 0.83 | −0.37 pp |
    /// | cnn-s, MNIST, Adam, batch 128 | calibration | 0.30 | −0.05 pp |
    /// | cnn-s, Fashion-MNIST, Adam, batch 64 | held-out | 0.51 | −0.10 pp |
    /// | mlp, Fashion-MNIST, Adam, batch 256 | held-out | 2.7 | −0.85 pp |
    pub const ADAM_FACTOR: f32 = 0.49;

    /// The default rule for SGD, `near-min` with [`SGD_FACTOR`](Self::SGD_FACTOR).
    pub const DEFAULT: Self = Self::for_optimizer(OptimizerFamily::Sgd);

    /// The calibrated default for `family`: `near-min` with
    /// [`SGD_FACTOR`](Self::SGD_FACTOR) or [`ADAM_FACTOR`](Self::ADAM_FACTOR).
    pub const fn for_optimizer(family: OptimizerFamily) -> Self {
        Self::NearMin {
            factor: match family {
                OptimizerFamily::Sgd => Self::SGD_FACTOR,
                OptimizerFamily::Adam => Self::ADAM_FACTOR,
            },
        }
    }

    /// `near-min` with `factor`, or the factor back when it is not finite and > 0.
    pub fn near_min(factor: f32) -> Result<Self, f32> {
        if factor.is_finite() && factor > 0.0 {
            Ok(Self::NearMin { factor })
        } else {
            Err(factor)
        }
    }

    /// Every rule (`near-min` with the SGD factor), in the order of
    /// [`NAMES`](Self::NAMES).
    pub const ALL: [Self; 6] = [
        Self::DEFAULT,
        Self::Suggestion(Suggestion::Steep),
        Self::Suggestion(Suggestion::Valley),
        Self::Suggestion(Suggestion::Slide),
        Self::Suggestion(Suggestion::Minimum),
        Self::Suggestion(Suggestion::Steepest),
    ];

    /// The rule names, without `near-min`'s factor.
    pub const NAMES: [&'static str; 6] = [
        "near-min", "steep", "valley", "slide", "minimum", "steepest",
    ];

    /// The rule's name without `near-min`'s factor: `near-min`, `steep`, `valley`,
    /// `slide`, `minimum` or `steepest`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NearMin { .. } => "near-min",
            Self::Suggestion(Suggestion::Steep) => "steep",
            Self::Suggestion(Suggestion::Valley) => "valley",
            Self::Suggestion(Suggestion::Slide) => "slide",
            Self::Suggestion(Suggestion::Minimum) => "minimum",
            Self::Suggestion(Suggestion::Steepest) => "steepest",
        }
    }
}

impl Default for BoundsRule {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl From<Suggestion> for BoundsRule {
    fn from(s: Suggestion) -> Self {
        Self::Suggestion(s)
    }
}

impl fmt::Display for BoundsRule {
    /// The canonical name; `near-min:F` with the factor's shortest round-trip form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NearMin { factor } => write!(f, "near-min:{factor}"),
            _ => f.write_str(self.name()),
        }
    }
}

/// The error of parsing a [`BoundsRule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParseBoundsRuleError {
    /// The name is none of [`BoundsRule::NAMES`] (or their aliases `nearmin`, `min`).
    UnknownName,
    /// `near-min:F` with an `F` that is not a finite number > 0.
    BadFactor,
}

impl fmt::Display for ParseBoundsRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::BadFactor {
            return f.write_str(
                "bad near-min factor (expected near-min:F with F a finite number > 0, e.g. near-min:1.6)",
            );
        }
        f.write_str("unknown bounds rule (expected ")?;
        for (i, name) in BoundsRule::NAMES.iter().enumerate() {
            let sep = match i {
                0 => "",
                i if i + 1 == BoundsRule::NAMES.len() => " or ",
                _ => ", ",
            };
            write!(f, "{sep}{name}")?;
        }
        f.write_str("; near-min takes a factor as near-min:F)")
    }
}

impl core::error::Error for ParseBoundsRuleError {}

impl FromStr for BoundsRule {
    type Err = ParseBoundsRuleError;

    /// A canonical name or alias, ignoring ASCII case; `near-min:F` (or
    /// `nearmin:F`) sets the factor.
    fn from_str(s: &str) -> Result<Self, ParseBoundsRuleError> {
        const ALIASES: [(&str, BoundsRule); 2] = [
            ("nearmin", BoundsRule::DEFAULT),
            ("min", BoundsRule::Suggestion(Suggestion::Minimum)),
        ];
        let (name, factor) = match s.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (s, None),
        };
        let named = BoundsRule::NAMES.iter().zip(BoundsRule::ALL);
        let rule = ALIASES
            .into_iter()
            .chain(named.map(|(&n, r)| (n, r)))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, r)| r)
            .ok_or(ParseBoundsRuleError::UnknownName)?;
        match (rule, factor) {
            (_, None) => Ok(rule),
            (BoundsRule::NearMin { .. }, Some(f)) => f
                .trim()
                .parse::<f32>()
                .ok()
                .and_then(|f| BoundsRule::near_min(f).ok())
                .ok_or(ParseBoundsRuleError::BadFactor),
            (BoundsRule::Suggestion(_), Some(_)) => Err(ParseBoundsRuleError::UnknownName),
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for BoundsRule {
    fn format(&self, f: defmt::Formatter) {
        match self {
            Self::NearMin { factor } => defmt::write!(f, "near-min:{=f32}", factor),
            _ => defmt::write!(f, "{=str}", self.name()),
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for BoundsRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for BoundsRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = BoundsRule;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a bounds rule name (near-min[:F], steep, valley, slide, minimum, steepest)",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<BoundsRule, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Name)
    }
}

impl<F: Real, const N: usize> RangeTest<F, N> {
    /// [`Bounds::new`] with `max_lr` from `rule` and `min_lr = max_lr / div`; an
    /// error on `max_lr` when the curve gives no suggestion.
    ///
    /// * [`BoundsRule::NearMin`] gives `max_lr = factor · lr*`, `lr*` the lr of
    ///   [`near_min_point`](Self::near_min_point) and `factor` evaluated in `F`.
    /// * [`BoundsRule::Suggestion`] gives [`bounds`](Self::bounds).
    pub fn bounds_by(&self, rule: BoundsRule, div: F) -> Result<Bounds<F>, ConfigError> {
        Bounds::new(self.max_lr_by(rule).ok_or(NO_SUGGESTION)?, div)
    }

    /// The point `near-min` multiplies: [`fall_point`](Self::fall_point) with
    /// [`FALL_SHARE`](Self::FALL_SHARE), the first point within 20 % of the fall of the
    /// lowest smoothed loss.
    pub fn near_min_point(&self) -> Option<crate::range_test::CurvePoint<F>> {
        self.fall_point(F::from_f64(Self::FALL_SHARE))
    }

    /// The `max_lr` that `rule` reads off the curve (see
    /// [`bounds_by`](Self::bounds_by)); `None` when the curve gives none.
    pub fn max_lr_by(&self, rule: BoundsRule) -> Option<F> {
        let lr = match rule {
            BoundsRule::Suggestion(s) => self.suggest(s)?,
            BoundsRule::NearMin { factor } => {
                self.near_min_point()?.lr * F::from_f64(f64::from(factor))
            }
        };
        if lr.is_finite() && lr > F::ZERO {
            Some(lr)
        } else {
            None
        }
    }
}

/// The error of a bounds request on a curve that gives no suggestion.
pub(crate) const NO_SUGGESTION: ConfigError = ConfigError::new(
    "max_lr",
    Problem::MustBe("a suggestion, but the curve gives none"),
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range_test::{RangeTestConfig, Status};

    struct Buf([u8; 160], usize);
    impl fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let b = s.as_bytes();
            let end = self.1 + b.len();
            self.0
                .get_mut(self.1..end)
                .ok_or(fmt::Error)?
                .copy_from_slice(b);
            self.1 = end;
            Ok(())
        }
    }
    fn shown(v: impl fmt::Display, f: impl FnOnce(&str)) {
        let mut b = Buf([0; 160], 0);
        fmt::write(&mut b, format_args!("{v}")).unwrap();
        f(core::str::from_utf8(&b.0[..b.1]).unwrap())
    }

    #[test]
    fn parses_names_aliases_and_factors_in_any_case() {
        for (r, n) in BoundsRule::ALL.iter().zip(BoundsRule::NAMES) {
            assert_eq!(n.parse::<BoundsRule>(), Ok(*r));
            assert_eq!(r.name(), n);
        }
        assert_eq!("NearMin".parse(), Ok(BoundsRule::DEFAULT));
        assert_eq!("NEAR-MIN".parse(), Ok(BoundsRule::DEFAULT));
        assert_eq!(
            "near-min:0.25".parse(),
            Ok(BoundsRule::NearMin { factor: 0.25 })
        );
        assert_eq!(
            "nearmin: 2".parse(),
            Ok(BoundsRule::NearMin { factor: 2.0 })
        );
        assert_eq!(
            "Min".parse(),
            Ok(BoundsRule::Suggestion(Suggestion::Minimum))
        );
        assert_eq!(
            "Valley".parse(),
            Ok(BoundsRule::Suggestion(Suggestion::Valley))
        );
        use ParseBoundsRuleError::*;
        assert_eq!("warp".parse::<BoundsRule>(), Err(UnknownName));
        assert_eq!("".parse::<BoundsRule>(), Err(UnknownName));
        assert_eq!("valley:2".parse::<BoundsRule>(), Err(UnknownName));
        for bad in [
            "near-min:",
            "near-min:0",
            "near-min:-1",
            "near-min:nan",
            "near-min:inf",
            "near-min:x",
        ] {
            assert_eq!(bad.parse::<BoundsRule>(), Err(BadFactor), "{bad}");
        }
        assert_eq!(BoundsRule::default(), BoundsRule::DEFAULT);
        assert_eq!(BoundsRule::near_min(-1.0), Err(-1.0));
        assert!(BoundsRule::near_min(f32::NAN).is_err());
    }

    #[test]
    fn displays_the_canonical_name_which_parses_back() {
        let rules = BoundsRule::ALL.into_iter().chain([
            BoundsRule::near_min(0.3).unwrap(),
            BoundsRule::for_optimizer(OptimizerFamily::Adam),
        ]);
        for r in rules {
            shown(r, |s| assert_eq!(s.parse::<BoundsRule>(), Ok(r), "{s}"));
        }
        shown(BoundsRule::near_min(1.6).unwrap(), |s| {
            assert_eq!(s, "near-min:1.6")
        });
        shown(BoundsRule::Suggestion(Suggestion::Valley), |s| {
            assert_eq!(s, "valley")
        });
    }

    #[test]
    fn error_lists_the_names() {
        shown(ParseBoundsRuleError::UnknownName, |s| {
            assert_eq!(
                s,
                "unknown bounds rule (expected near-min, steep, valley, slide, minimum or steepest; near-min takes a factor as near-min:F)"
            )
        });
        shown(ParseBoundsRuleError::BadFactor, |s| {
            assert!(s.contains("near-min:F"))
        });
    }

    #[test]
    fn near_min_is_the_factor_times_the_fall_point() {
        let mut t = RangeTest::<f32, 128>::new(RangeTestConfig::fastai()).unwrap();
        let mut i = 0u32;
        while let Some(_lr) = t.next_lr() {
            let x = i as f32 / 100.0;
            if let Status::Done(_) = t.record(3.0 - 2.0 * libm::sinf(x * 4.0)) {
                break;
            }
            i += 1;
        }
        let lr = t.near_min_point().unwrap().lr;
        assert_eq!(Some(lr), t.fall_point(0.8).map(|p| p.lr));
        for factor in [BoundsRule::SGD_FACTOR, BoundsRule::ADAM_FACTOR, 0.5] {
            let b = t.bounds_by(BoundsRule::NearMin { factor }, 4.0).unwrap();
            assert_eq!(b.max_lr.to_bits(), (lr * factor).to_bits());
            assert_eq!(b, Bounds::new(lr * factor, 4.0).unwrap());
        }
        for s in Suggestion::ALL {
            assert_eq!(t.bounds_by(s.into(), 4.0), t.bounds(s, 4.0));
            assert_eq!(t.max_lr_by(s.into()), t.suggest(s));
        }
        let empty = RangeTest::<f32, 8>::fastai();
        assert_eq!(
            empty.bounds_by(BoundsRule::DEFAULT, 4.0).unwrap_err(),
            empty.bounds(Suggestion::Minimum, 4.0).unwrap_err()
        );
        assert_eq!(empty.max_lr_by(BoundsRule::DEFAULT), None);
    }
}
