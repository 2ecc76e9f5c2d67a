//! The weights file: plain little-endian `f32` arrays behind a small checked header.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"LRFW"` |
//! | 4 | 2 | format version (1) |
//! | 6 | 2 | layer count (2) |
//! | 8 | 4·layers | per layer: `in: u16`, `out: u16` |
//! | 16 | 4·P | `W₁` row-major (`out × in`), `b₁`, `W₂`, `b₂` as `f32` |
//! | 16 + 4P | 4 | CRC-32 (IEEE 802.3, reflected, poly `0xEDB88320`) of all bytes before it |
//!
//! [`load`] validates every field, the checksum and that every weight is finite,
//! and never panics on any input.

use crate::model::{Dense, Model, HIDDEN, INPUT};
use crate::signal::CLASSES;

/// File magic.
pub const MAGIC: [u8; 4] = *b"LRFW";
/// Format version.
pub const VERSION: u16 = 1;
const HEADER: usize = 16;
const PARAMS: usize = Dense::<INPUT, HIDDEN>::PARAMS + Dense::<HIDDEN, CLASSES>::PARAMS;
/// Exact size of a weights file for this model.
pub const BLOB_LEN: usize = HEADER + 4 * PARAMS + 4;

/// Why a weights file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightsError {
    /// Length differs from [`BLOB_LEN`] (found length).
    Length(usize),
    /// Magic is not `LRFW`.
    Magic,
    /// Unsupported version (found).
    Version(u16),
    /// Layer count or a layer shape does not match the compiled model.
    Shape,
    /// CRC-32 mismatch (stored, computed).
    Checksum(u32, u32),
    /// A weight is NaN or infinite (flat parameter index).
    NonFinite(usize),
    /// Output buffer too small (needed length).
    BufferTooSmall(usize),
}

/// CRC-32 (IEEE), bitwise; `crc32(b"123456789") = 0xCBF43926`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn header() -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[0..4].copy_from_slice(&MAGIC);
    h[4..6].copy_from_slice(&VERSION.to_le_bytes());
    h[6..8].copy_from_slice(&2u16.to_le_bytes());
    let dims = [INPUT as u16, HIDDEN as u16, HIDDEN as u16, CLASSES as u16];
    for (i, d) in dims.iter().enumerate() {
        h[8 + 2 * i..10 + 2 * i].copy_from_slice(&d.to_le_bytes());
    }
    h
}

fn params(m: &Model) -> impl Iterator<Item = &f32> {
    m.features.params().chain(m.head.params())
}

/// Serialises `m` into `out`; returns the number of bytes written ([`BLOB_LEN`]).
pub fn store(m: &Model, out: &mut [u8]) -> Result<usize, WeightsError> {
    let out = out
        .get_mut(..BLOB_LEN)
        .ok_or(WeightsError::BufferTooSmall(BLOB_LEN))?;
    out[..HEADER].copy_from_slice(&header());
    for (chunk, p) in out[HEADER..BLOB_LEN - 4].chunks_exact_mut(4).zip(params(m)) {
        chunk.copy_from_slice(&p.to_le_bytes());
    }
    let crc = crc32(&out[..BLOB_LEN - 4]);
    out[BLOB_LEN - 4..].copy_from_slice(&crc.to_le_bytes());
    Ok(BLOB_LEN)
}

/// Validates `blob` and fills `m` with its weights (in place: no second copy of
/// the model on the stack). On error `m` may be partly written.
pub fn load(blob: &[u8], m: &mut Model) -> Result<(), WeightsError> {
    if blob.len() != BLOB_LEN {
        return Err(WeightsError::Length(blob.len()));
    }
    if blob[0..4] != MAGIC {
        return Err(WeightsError::Magic);
    }
    let version = u16::from_le_bytes([blob[4], blob[5]]);
    if version != VERSION {
        return Err(WeightsError::Version(version));
    }
    if blob[6..HEADER] != header()[6..] {
        return Err(WeightsError::Shape);
    }
    let stored = u32::from_le_bytes([
        blob[BLOB_LEN - 4],
        blob[BLOB_LEN - 3],
        blob[BLOB_LEN - 2],
        blob[BLOB_LEN - 1],
    ]);
    let computed = crc32(&blob[..BLOB_LEN - 4]);
    if stored != computed {
        return Err(WeightsError::Checksum(stored, computed));
    }
    let dst = m.features.params_mut().chain(m.head.params_mut());
    for (i, (p, chunk)) in dst
        .zip(blob[HEADER..BLOB_LEN - 4].chunks_exact(4))
        .enumerate()
    {
        let v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if !v.is_finite() {
            return Err(WeightsError::NonFinite(i));
        }
        *p = v;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn round_trip_and_every_corruption_is_caught() {
        let mut m = Model::zeroed();
        m.init(5);
        let mut buf = [0u8; BLOB_LEN + 3];
        assert_eq!(store(&m, &mut buf), Ok(BLOB_LEN));
        assert_eq!(
            store(&m, &mut buf[..10]),
            Err(WeightsError::BufferTooSmall(BLOB_LEN))
        );
        let blob = &buf[..BLOB_LEN];
        let mut back = Model::zeroed();
        assert_eq!(load(blob, &mut back), Ok(()));
        assert_eq!(back, m);

        assert_eq!(
            load(&blob[..BLOB_LEN - 1], &mut back),
            Err(WeightsError::Length(BLOB_LEN - 1))
        );
        assert_eq!(load(&[], &mut back), Err(WeightsError::Length(0)));
        let mut bad = [0u8; BLOB_LEN];
        bad.copy_from_slice(blob);
        bad[0] = b'X';
        assert_eq!(load(&bad, &mut back), Err(WeightsError::Magic));
        bad.copy_from_slice(blob);
        bad[4] = 9;
        assert_eq!(load(&bad, &mut back), Err(WeightsError::Version(9)));
        bad.copy_from_slice(blob);
        bad[8] = 63;
        assert_eq!(load(&bad, &mut back), Err(WeightsError::Shape));
        bad.copy_from_slice(blob);
        bad[100] ^= 1;
        assert!(matches!(
            load(&bad, &mut back),
            Err(WeightsError::Checksum(_, _))
        ));
        // A NaN weight with a consistent checksum is still refused.
        bad.copy_from_slice(blob);
        bad[HEADER + 8..HEADER + 12].copy_from_slice(&f32::NAN.to_le_bytes());
        let crc = crc32(&bad[..BLOB_LEN - 4]);
        bad[BLOB_LEN - 4..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(load(&bad, &mut back), Err(WeightsError::NonFinite(2)));
    }
}
