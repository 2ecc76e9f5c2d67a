//! Raw sensor windows → classifier inputs, with every way a sample can be bad.
//!
//! A window is rejected (and counted, never panicking) when the bus failed, the
//! sensor saturated (any reading at the rails of the 16-bit range: the signal was
//! clipped, its spectrum is wrong), or the converted input is not finite.

use crate::model::INPUT;
use crate::signal::{LSB_PER_G, WINDOW};

/// Why a sample was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The I²C transaction failed.
    Bus,
    /// The sensor never reported data ready.
    Timeout,
    /// At least one reading sat at the ±full-scale rail.
    Saturated,
    /// A value was NaN or infinite.
    NonFinite,
}

/// Skipped-sample counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Samples accepted.
    pub ok: u32,
    /// [`Fault::Bus`] count.
    pub bus: u32,
    /// [`Fault::Timeout`] count.
    pub timeout: u32,
    /// [`Fault::Saturated`] count.
    pub saturated: u32,
    /// [`Fault::NonFinite`] count.
    pub non_finite: u32,
}

impl FaultCounts {
    /// Counts one outcome.
    pub fn count(&mut self, r: Result<(), Fault>) {
        let c = match r {
            Ok(()) => &mut self.ok,
            Err(Fault::Bus) => &mut self.bus,
            Err(Fault::Timeout) => &mut self.timeout,
            Err(Fault::Saturated) => &mut self.saturated,
            Err(Fault::NonFinite) => &mut self.non_finite,
        };
        *c = c.saturating_add(1);
    }

    /// All rejected samples.
    pub fn skipped(&self) -> u32 {
        self.bus + self.timeout + self.saturated + self.non_finite
    }
}

/// Checks a raw window for saturation.
pub fn check_raw(raw: &[i16; WINDOW]) -> Result<(), Fault> {
    if raw.iter().any(|&v| v == i16::MAX || v <= -i16::MAX) {
        Err(Fault::Saturated)
    } else {
        Ok(())
    }
}

/// Converts a raw window to g (`x = raw / LSB_PER_G`) after [`check_raw`].
pub fn to_input(raw: &[i16; WINDOW], x: &mut [f32; INPUT]) -> Result<(), Fault> {
    check_raw(raw)?;
    for (o, &r) in x.iter_mut().zip(raw) {
        *o = r as f32 * (1.0 / LSB_PER_G);
    }
    check_finite(x)
}

/// Rejects inputs holding NaN or ±∞ (a float-output sensor, a corrupted buffer).
pub fn check_finite(x: &[f32]) -> Result<(), Fault> {
    if x.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Fault::NonFinite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_saturation_and_nan() {
        let mut raw = [100i16; WINDOW];
        let mut x = [0.0; INPUT];
        assert_eq!(to_input(&raw, &mut x), Ok(()));
        assert!((x[0] - 100.0 / LSB_PER_G).abs() < 1e-9);
        raw[10] = i16::MAX;
        assert_eq!(to_input(&raw, &mut x), Err(Fault::Saturated));
        raw[10] = i16::MIN;
        assert_eq!(to_input(&raw, &mut x), Err(Fault::Saturated));
        let mut y = [0.5f32; INPUT];
        y[3] = f32::NAN;
        assert_eq!(check_finite(&y), Err(Fault::NonFinite));
        y[3] = f32::NEG_INFINITY;
        assert_eq!(check_finite(&y), Err(Fault::NonFinite));
        let mut c = FaultCounts::default();
        c.count(Ok(()));
        c.count(Err(Fault::Bus));
        c.count(Err(Fault::Saturated));
        assert_eq!((c.ok, c.skipped()), (1, 2));
    }
}
