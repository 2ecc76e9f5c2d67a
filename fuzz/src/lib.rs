//! Helpers shared by the fuzz targets in `fuzz_targets/`: values drawn from the fuzzer's
//! bytes with a bias towards the edge cases (NaN, ±∞, ±0, the largest and smallest floats,
//! `u32::MAX`), a serde [`Deserializer`](serde::Deserializer) that builds any lrate-core
//! configuration from those bytes (so every schedule and every field is reached, NaN and
//! infinities included, which JSON cannot write), and the checks of the schedules' promise.

use std::fmt::{self, Debug, Display};

use arbitrary::Unstructured;
use lrate_core::{Real, Schedule};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

const F32_EDGES: [f32; 40] = [
    0.1,
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    0.9,
    0.95,
    0.98,
    0.99,
    1e-7,
    1e-8,
    10.0,
    2.0,
    3.0,
    4.0,
    8.0,
    8.000001,
    25.0,
    100.0,
    1e4,
    1e5,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::MAX,
    f32::MIN,
    f32::MIN_POSITIVE,
    -f32::MIN_POSITIVE,
    1e-45,
    f32::EPSILON,
    1.0 - f32::EPSILON,
    1.0 + f32::EPSILON,
    1e38,
    1e-38,
    1e30,
    -1e30,
    0.3,
    0.25,
    -7.0,
];

const U32_EDGES: [u32; 20] = [
    10,
    0,
    1,
    2,
    3,
    4,
    5,
    100,
    1000,
    (1 << 24) - 1,
    1 << 24,
    (1 << 24) + 1,
    1 << 31,
    (1 << 31) - 1,
    u32::MAX,
    u32::MAX - 1,
    u32::MAX / 2,
    u32::MAX / 2 + 1,
    65535,
    65536,
];

/// A float: an edge case (NaN, ±∞, ±0, extremes, typical settings) or any bit pattern.
pub fn f32_any(u: &mut Unstructured) -> f32 {
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    match sel {
        0..=159 => F32_EDGES[sel as usize % F32_EDGES.len()],
        160..=191 => f32::from(sel - 160) / 8.0,
        _ => f32::from_bits(u.arbitrary().unwrap_or(0)),
    }
}

/// An `f64` drawn like [`f32_any`], with `f64`'s own extremes and bit patterns.
pub fn f64_any(u: &mut Unstructured) -> f64 {
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    match sel {
        0..=7 => [
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            1e300,
            -1e300,
            f64::EPSILON,
            1.0 - f64::EPSILON,
        ][sel as usize],
        8..=191 => f64::from(f32_any(u)),
        _ => f64::from_bits(u.arbitrary().unwrap_or(0)),
    }
}

/// A `u32`: an edge case (0, 1, 2^24 ± 1, `u32::MAX`, …), a small count or any value.
pub fn u32_any(u: &mut Unstructured) -> u32 {
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    match sel {
        0..=79 => U32_EDGES[sel as usize % U32_EDGES.len()],
        80..=191 => u32::from(u.arbitrary::<u8>().unwrap_or(0)),
        _ => u.arbitrary().unwrap_or(0),
    }
}

/// A float of type `F` (see [`f32_any`], [`f64_any`]).
pub fn real<F: Real>(u: &mut Unstructured) -> F {
    if core::mem::size_of::<F>() == 4 {
        F::from_f64(f64::from(f32_any(u)))
    } else {
        F::from_f64(f64_any(u))
    }
}

/// Steps worth evaluating a schedule at: the ends of `u32`, the neighbourhood of its
/// natural length (and of `extra`: milestones, warmup ends …) and steps drawn from `u`.
pub fn steps(u: &mut Unstructured, around: &[u32]) -> Vec<u32> {
    let mut out = vec![0, 1, 2, 3, u32::MAX, u32::MAX - 1, 1 << 24, (1 << 24) + 1];
    for &a in around {
        out.extend([a.saturating_sub(1), a, a.saturating_add(1)]);
    }
    for _ in 0..u.int_in_range(0..=24u8).unwrap_or(0) {
        let s = u32_any(u);
        out.push(s);
        // Near a drawn step too: phase ends are where rounding bites.
        out.push(s.wrapping_add(1));
    }
    out
}

/// Asserts the promise of [`Schedule`]: for every step, `lr` is finite and ≥ 0 and the
/// momentum, where the schedule sets one, is finite. Panics (a fuzz failure) otherwise.
pub fn check_schedule<F: Real, S: Schedule<F> + Debug>(s: &S, steps: &[u32]) {
    for &t in steps {
        let lr = s.lr(t);
        assert!(
            lr.is_finite() && lr >= F::ZERO,
            "lr({t}) = {lr:?} (not finite and ≥ 0) for {s:?}"
        );
        if let Some(m) = s.momentum(t) {
            assert!(m.is_finite(), "momentum({t}) = {m:?} for {s:?}");
        }
    }
}

/// The error of [`Fz`]: serde's message (a validation error of lrate-core included).
#[derive(Debug)]
pub struct FzError(pub String);

impl Display for FzError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FzError {}

impl de::Error for FzError {
    fn custom<T: Display>(msg: T) -> Self {
        FzError(msg.to_string())
    }
}

impl From<arbitrary::Error> for FzError {
    fn from(e: arbitrary::Error) -> Self {
        FzError(e.to_string())
    }
}

/// Deserializes a `T` from the fuzzer's bytes: structs get each of their fields (most of
/// the time; a missing one tests the default or the error), enums any of their variants,
/// floats and integers [`f32_any`] / [`f64_any`] / [`u32_any`], sequences up to 20
/// elements (so fixed capacities overflow). Self-describing input (`deserialize_any`) is
/// refused: lrate-core's types never ask for it.
pub fn fuzz_value<T: DeserializeOwned>(u: &mut Unstructured) -> Result<T, FzError> {
    T::deserialize(&mut Fz { u, depth: 0 })
}

/// The deserializer of [`fuzz_value`].
pub struct Fz<'a, 'b> {
    u: &'b mut Unstructured<'a>,
    depth: u32,
}

impl Fz<'_, '_> {
    fn enter(&mut self) -> Result<(), FzError> {
        if self.depth >= 16 {
            return Err(FzError("nested too deep".into()));
        }
        self.depth += 1;
        Ok(())
    }
}

fn unsupported<T>(what: &str) -> Result<T, FzError> {
    Err(FzError(format!("{what} is not generated")))
}

impl<'de> de::Deserializer<'de> for &mut Fz<'_, '_> {
    type Error = FzError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FzError> {
        unsupported("a self-describing value")
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_bool(self.u.arbitrary()?)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_i8(self.u.arbitrary()?)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_i16(self.u.arbitrary()?)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_i32(self.u.arbitrary()?)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_i64(self.u.arbitrary()?)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_u8(self.u.arbitrary()?)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_u16(self.u.arbitrary()?)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_u32(u32_any(self.u))
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_u64(self.u.arbitrary()?)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_f32(f32_any(self.u))
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_f64(f64_any(self.u))
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_char(self.u.arbitrary()?)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_string(self.u.arbitrary::<String>()?)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_string(self.u.arbitrary::<String>()?)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FzError> {
        unsupported("bytes")
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FzError> {
        unsupported("bytes")
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        if self.u.arbitrary::<u8>()? % 3 == 2 {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, FzError> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, FzError> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        self.enter()?;
        let left = usize::from(self.u.int_in_range(0..=20u8)?);
        let r = v.visit_seq(Seq {
            de: &mut *self,
            left,
        });
        self.depth -= 1;
        r
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, FzError> {
        self.enter()?;
        let r = v.visit_seq(Seq {
            de: &mut *self,
            left: len,
        });
        self.depth -= 1;
        r
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, FzError> {
        de::Deserializer::deserialize_tuple(self, len, v)
    }
    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FzError> {
        unsupported("a map")
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, FzError> {
        self.enter()?;
        let r = v.visit_map(Fields {
            de: &mut *self,
            fields,
            next: 0,
        });
        self.depth -= 1;
        r
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, FzError> {
        self.enter()?;
        let r = v.visit_enum(Enum {
            de: &mut *self,
            variants,
        });
        self.depth -= 1;
        r
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FzError> {
        unsupported("an identifier outside a struct or enum")
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, FzError> {
        v.visit_unit()
    }
}

struct Seq<'x, 'a, 'b> {
    de: &'x mut Fz<'a, 'b>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Seq<'_, '_, '_> {
    type Error = FzError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, FzError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct Fields<'x, 'a, 'b> {
    de: &'x mut Fz<'a, 'b>,
    fields: &'static [&'static str],
    next: usize,
}

impl<'de> de::MapAccess<'de> for Fields<'_, '_, '_> {
    type Error = FzError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FzError> {
        while let Some(&name) = self.fields.get(self.next) {
            self.next += 1;
            // Leave a field out one time in four (never once the bytes run out, so that a
            // short input still builds a whole configuration).
            if self.de.u.arbitrary::<u8>()? % 4 == 3 {
                continue;
            }
            let key: de::value::StrDeserializer<'_, FzError> = name.into_deserializer();
            return seed.deserialize(key).map(Some);
        }
        Ok(None)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, FzError> {
        seed.deserialize(&mut *self.de)
    }
}

struct Enum<'x, 'a, 'b> {
    de: &'x mut Fz<'a, 'b>,
    variants: &'static [&'static str],
}

impl<'de, 'x, 'a, 'b> de::EnumAccess<'de> for Enum<'x, 'a, 'b> {
    type Error = FzError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), FzError> {
        if self.variants.is_empty() {
            return unsupported("an enum without variants");
        }
        let i = self.de.u.choose_index(self.variants.len())?;
        let key: de::value::StrDeserializer<'_, FzError> = self.variants[i].into_deserializer();
        Ok((seed.deserialize(key)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'_, '_, '_> {
    type Error = FzError;
    fn unit_variant(self) -> Result<(), FzError> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, FzError> {
        seed.deserialize(&mut *self.de)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, FzError> {
        de::Deserializer::deserialize_tuple(&mut *self.de, len, v)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, FzError> {
        de::Deserializer::deserialize_struct(&mut *self.de, "", fields, v)
    }
}

/// Asserts the promise of an [`AnySchedule`](lrate_core::AnySchedule) that was built
/// (validated): [`check_schedule`] at the [`steps`] around its natural length, and a JSON
/// round trip (how checkpoints store it) that gives it back unchanged.
pub fn check_any<F, const N: usize>(s: &lrate_core::AnySchedule<F, N>, u: &mut Unstructured)
where
    F: Real + serde::Serialize + DeserializeOwned,
{
    let around: Vec<u32> = s.natural_length().into_iter().collect();
    check_schedule(s, &steps(u, &around));
    let json = serde_json::to_string(s).expect("a valid schedule serializes");
    let back: lrate_core::AnySchedule<F, N> = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{json} (from {s:?}) does not deserialize back: {e}"));
    assert_eq!(&back, s, "JSON round trip changed the schedule: {json}");
}
