//! Which point of the range-test curve becomes a schedule's `max_lr`.

use core::fmt;
use core::str::FromStr;

use super::bounds::Bounds;
use super::machine::RangeTest;
use super::suggest::Suggestion;
use crate::error::{ConfigError, Problem};
use crate::Real;

/// How the recommended `max_lr` is read off a range-test curve, for
/// [`RangeTest::bounds_by`].
///
/// Why [`NearMin`](Self::NearMin) and not fastai's `valley` by default: on
/// lrate's built-in data and on Fashion-MNIST `valley` suggested ≈2e-3 where
/// 1cycle trains best at 0.1–1 (37 % vs 77 % test accuracy on synthetic data
/// after 4 epochs); `steep` is noisy on short sweeps (it picked 3e-6 from a noise
/// dip in a 50-batch sweep).
///
/// Parsed ([`FromStr`], case-insensitive) from `near-min` (or `nearmin`),
/// `steep`, `valley`, `slide`, `minimum` (or `min`) and `steepest`; displayed and
/// serialized (under the `serde` feature) as its canonical name, [`name`](Self::name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BoundsRule {
    /// `near-min` (the default): a third of the lr at the lowest smoothed loss,
    /// i.e. `10/3 ×` fastai's `minimum` suggestion (which is that lr / 10).
    /// Smith (2018, *A disciplined approach to neural network hyper-parameters:
    /// Part 1*, §4.1) takes 1cycle's max_lr near the loss minimum of the range
    /// test; the factor 3 backs off from the edge of divergence.
    NearMin,
    /// A [`Suggestion`] of the range test, used as is.
    Suggestion(Suggestion),
}

impl BoundsRule {
    /// The default rule, [`NearMin`](Self::NearMin).
    pub const DEFAULT: Self = Self::NearMin;

    /// Every rule, in the order of [`NAMES`](Self::NAMES).
    pub const ALL: [Self; 6] = [
        Self::NearMin,
        Self::Suggestion(Suggestion::Steep),
        Self::Suggestion(Suggestion::Valley),
        Self::Suggestion(Suggestion::Slide),
        Self::Suggestion(Suggestion::Minimum),
        Self::Suggestion(Suggestion::Steepest),
    ];

    /// The canonical names of [`ALL`](Self::ALL).
    pub const NAMES: [&'static str; 6] = [
        "near-min", "steep", "valley", "slide", "minimum", "steepest",
    ];

    /// The canonical name: `near-min`, `steep`, `valley`, `slide`, `minimum` or
    /// `steepest`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NearMin => "near-min",
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`BoundsRule`]: the name is none of
/// [`BoundsRule::NAMES`] (or their aliases `nearmin`, `min`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnknownBoundsRule;

impl fmt::Display for UnknownBoundsRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown bounds rule (expected ")?;
        for (i, name) in BoundsRule::NAMES.iter().enumerate() {
            let sep = match i {
                0 => "",
                i if i + 1 == BoundsRule::NAMES.len() => " or ",
                _ => ", ",
            };
            write!(f, "{sep}{name}")?;
        }
        f.write_str(")")
    }
}

impl core::error::Error for UnknownBoundsRule {}

impl FromStr for BoundsRule {
    type Err = UnknownBoundsRule;

    /// A canonical name or alias, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, UnknownBoundsRule> {
        const ALIASES: [(&str, BoundsRule); 2] = [
            ("nearmin", BoundsRule::NearMin),
            ("min", BoundsRule::Suggestion(Suggestion::Minimum)),
        ];
        let named = BoundsRule::NAMES.iter().zip(BoundsRule::ALL);
        ALIASES
            .into_iter()
            .chain(named.map(|(&n, r)| (n, r)))
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, r)| r)
            .ok_or(UnknownBoundsRule)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for BoundsRule {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{=str}", self.name())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for BoundsRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
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
                    "a bounds rule name (near-min, steep, valley, slide, minimum, steepest)",
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
    /// * [`BoundsRule::NearMin`] gives `max_lr = suggest(Minimum) · (10/3)`, with `10/3`
    ///   evaluated in `F` (for `f32` the same bits as `10.0f32 / 3.0`), i.e. a
    ///   third of [`min_point`](Self::min_point)'s lr.
    /// * [`BoundsRule::Suggestion`] gives [`bounds`](Self::bounds).
    pub fn bounds_by(&self, rule: BoundsRule, div: F) -> Result<Bounds<F>, ConfigError> {
        match rule {
            BoundsRule::Suggestion(s) => self.bounds(s, div),
            BoundsRule::NearMin => match self.suggest(Suggestion::Minimum) {
                Some(m) => Bounds::new(m * (F::from_f64(10.0) / F::from_f64(3.0)), div),
                None => Err(NO_SUGGESTION),
            },
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

    #[test]
    fn parses_names_and_aliases_in_any_case() {
        for (r, n) in BoundsRule::ALL.iter().zip(BoundsRule::NAMES) {
            assert_eq!(n.parse::<BoundsRule>(), Ok(*r));
            assert_eq!(r.name(), n);
        }
        assert_eq!("NearMin".parse(), Ok(BoundsRule::NearMin));
        assert_eq!("NEAR-MIN".parse(), Ok(BoundsRule::DEFAULT));
        assert_eq!(
            "Min".parse(),
            Ok(BoundsRule::Suggestion(Suggestion::Minimum))
        );
        assert_eq!(
            "Valley".parse(),
            Ok(BoundsRule::Suggestion(Suggestion::Valley))
        );
        assert_eq!("warp".parse::<BoundsRule>(), Err(UnknownBoundsRule));
        assert_eq!("".parse::<BoundsRule>(), Err(UnknownBoundsRule));
        assert_eq!(BoundsRule::default(), BoundsRule::NearMin);
    }

    #[test]
    fn error_lists_the_names() {
        struct Buf([u8; 128], usize);
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
        let mut b = Buf([0; 128], 0);
        fmt::write(&mut b, format_args!("{UnknownBoundsRule}")).unwrap();
        assert_eq!(
            core::str::from_utf8(&b.0[..b.1]).unwrap(),
            "unknown bounds rule (expected near-min, steep, valley, slide, minimum or steepest)"
        );
    }

    #[test]
    fn near_min_is_ten_thirds_of_the_minimum_suggestion() {
        let mut t = RangeTest::<f32, 128>::new(RangeTestConfig::fastai()).unwrap();
        let mut i = 0u32;
        while let Some(_lr) = t.next_lr() {
            let x = i as f32 / 100.0;
            if let Status::Done(_) = t.record(3.0 - 2.0 * libm::sinf(x * 4.0)) {
                break;
            }
            i += 1;
        }
        let m = t.suggest(Suggestion::Minimum).unwrap();
        let b = t.bounds_by(BoundsRule::NearMin, 4.0).unwrap();
        assert_eq!(b.max_lr.to_bits(), (m * (10.0 / 3.0)).to_bits());
        assert_eq!(
            b,
            Bounds::new(t.min_point().unwrap().lr / 10.0 * (10.0 / 3.0), 4.0).unwrap()
        );
        for s in Suggestion::ALL {
            assert_eq!(t.bounds_by(s.into(), 4.0), t.bounds(s, 4.0));
        }
        let empty = RangeTest::<f32, 8>::fastai();
        assert_eq!(
            empty.bounds_by(BoundsRule::NearMin, 4.0).unwrap_err(),
            empty.bounds(Suggestion::Minimum, 4.0).unwrap_err()
        );
    }
}
