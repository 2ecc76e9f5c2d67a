//! The floating-point abstraction every schedule is generic over.
//!
//! `lrate-core` is `no_std` with no allocator, so its math comes from [`libm`].
//! [`Real`] is implemented for `f32` (the default everywhere) and `f64`; a schedule
//! written once against `Real` serves both without duplicated code.

use core::fmt::Debug;
use core::ops::{Add, Div, Mul, Neg, Sub};

/// A floating-point scalar: `f32` or `f64`.
///
/// Only the handful of operations the schedules need, each routed to [`libm`].
pub trait Real:
    Copy
    + Debug
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// 2.
    const TWO: Self;
    /// 0.5.
    const HALF: Self;
    /// π.
    const PI: Self;
    /// Largest finite value.
    const MAX: Self;
    /// Smallest positive normal value.
    const MIN_POSITIVE: Self;

    /// Converts from `f64`, rounding to the nearest representable value.
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// Converts a step count. Exact for `f64`; rounds above 2^24 for `f32`.
    fn from_u32(v: u32) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// e^self.
    fn exp(self) -> Self;
    /// 2^self.
    fn exp2(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Base-2 logarithm.
    fn log2(self) -> Self;
    /// Base-10 logarithm.
    fn log10(self) -> Self;
    /// self^e.
    fn powf(self, e: Self) -> Self;
    /// Largest integer ≤ self.
    fn floor(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Neither NaN nor ±∞.
    fn is_finite(self) -> bool;
    /// Is NaN.
    fn is_nan(self) -> bool;
    /// The smaller of two values; a NaN operand loses.
    fn min(self, other: Self) -> Self;
    /// The larger of two values; a NaN operand loses.
    fn max(self, other: Self) -> Self;
}

macro_rules! impl_real {
    ($t:ty, $cos:ident, $sin:ident, $exp:ident, $exp2:ident, $ln:ident, $log2:ident, $log10:ident, $pow:ident, $floor:ident, $fabs:ident, $sqrt:ident, $tanh:ident, $fmin:ident, $fmax:ident, $pi:expr) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const TWO: Self = 2.0;
            const HALF: Self = 0.5;
            const PI: Self = $pi;
            const MAX: Self = <$t>::MAX;
            const MIN_POSITIVE: Self = <$t>::MIN_POSITIVE;

            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_u32(v: u32) -> Self {
                v as $t
            }
            #[inline]
            fn cos(self) -> Self {
                libm::$cos(self)
            }
            #[inline]
            fn sin(self) -> Self {
                libm::$sin(self)
            }
            #[inline]
            fn exp(self) -> Self {
                libm::$exp(self)
            }
            #[inline]
            fn exp2(self) -> Self {
                libm::$exp2(self)
            }
            #[inline]
            fn log2(self) -> Self {
                libm::$log2(self)
            }
            #[inline]
            fn ln(self) -> Self {
                libm::$ln(self)
            }
            #[inline]
            fn log10(self) -> Self {
                libm::$log10(self)
            }
            #[inline]
            fn powf(self, e: Self) -> Self {
                libm::$pow(self, e)
            }
            #[inline]
            fn floor(self) -> Self {
                libm::$floor(self)
            }
            #[inline]
            fn abs(self) -> Self {
                libm::$fabs(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                libm::$sqrt(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                libm::$tanh(self)
            }
            #[inline]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline]
            fn min(self, other: Self) -> Self {
                libm::$fmin(self, other)
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                libm::$fmax(self, other)
            }
        }
    };
}

impl_real!(
    f32,
    cosf,
    sinf,
    expf,
    exp2f,
    logf,
    log2f,
    log10f,
    powf,
    floorf,
    fabsf,
    sqrtf,
    tanhf,
    fminf,
    fmaxf,
    core::f32::consts::PI
);
impl_real!(
    f64,
    cos,
    sin,
    exp,
    exp2,
    log,
    log2,
    log10,
    pow,
    floor,
    fabs,
    sqrt,
    tanh,
    fmin,
    fmax,
    core::f64::consts::PI
);
