//! The typed error every constructor returns: which field is bad, and why.

use core::fmt;

/// A configuration a constructor refused, naming the offending field.
///
/// Every schedule constructor validates its input and returns
/// `Result<_, ConfigError>`; nothing in `lrate-core` panics on bad input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConfigError {
    /// The field (PyTorch / Keras spelling, snake_case) that holds the bad value.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

/// Why a field was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Problem {
    /// NaN or ±∞.
    NotFinite,
    /// Below 0.
    Negative,
    /// Not strictly above 0 (a step count or size of 0, a factor of 0, …).
    NotPositive,
    /// A list that must increase (strictly, or not decrease, as the field's
    /// documentation says) does not.
    NotIncreasing,
    /// A list that needs at least one element is empty.
    Empty,
    /// A list longer than the fixed capacity.
    TooMany {
        /// The capacity.
        capacity: usize,
    },
    /// Two lists whose lengths must agree do not.
    LengthMismatch,
    /// Out of its allowed range; the text states the rule, e.g. `"≥ base_lr"`.
    MustBe(&'static str),
}

impl ConfigError {
    /// A new error for `field`.
    pub const fn new(field: &'static str, problem: Problem) -> Self {
        Self { field, problem }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotFinite => f.write_str("must be finite (not NaN or infinite)"),
            Problem::Negative => f.write_str("must be ≥ 0"),
            Problem::NotPositive => f.write_str("must be > 0"),
            Problem::NotIncreasing => f.write_str("must be increasing"),
            Problem::Empty => f.write_str("must not be empty"),
            Problem::TooMany { capacity } => write!(f, "holds more than {capacity} entries"),
            Problem::LengthMismatch => f.write_str("has the wrong number of entries"),
            Problem::MustBe(rule) => write!(f, "must be {rule}"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid `{}`: {}", self.field, self.problem)
    }
}

impl core::error::Error for ConfigError {}
