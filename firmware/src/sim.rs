//! A simulated accelerometer behind the embedded-hal 1.0 [`I2c`] trait.
//!
//! It answers the register map of [`crate::sensor`] and fills its FIFO with
//! [`crate::signal::synthesize`]d windows of the current machine condition seen
//! through a [`Domain`]. Everything is deterministic by seed, including the faults
//! it injects to exercise the no-panic paths:
//!
//! * a bus error (NACK) on a transaction, with probability `bus_error_per_mille`/1000;
//! * a mechanical shock that saturates a window, with probability `shock_per_mille`/1000;
//! * data not ready on the first status poll of every window (the driver must poll).

use crate::rng::Rng;
use crate::sensor::{reg, Rig, ADDRESS, DEVICE_ID, STATUS_DATA_READY};
use crate::signal::{synthesize, Domain, WINDOW};
use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};

/// Bus errors the simulator reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimError {
    /// Nobody acknowledged (wrong address or injected glitch).
    Nack,
}

impl embedded_hal::i2c::Error for SimError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)
    }
}

/// Fault-injection rates (per mille).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faults {
    /// Probability of a NACK per transaction, ‰.
    pub bus_error_per_mille: u32,
    /// Probability that a window is hit by a saturating shock, ‰.
    pub shock_per_mille: u32,
}

impl Faults {
    /// No faults.
    pub const NONE: Faults = Faults {
        bus_error_per_mille: 0,
        shock_per_mille: 0,
    };
    /// The firmware demo: 1 % bus errors per transaction, 3 % shocks.
    pub const DEMO: Faults = Faults {
        bus_error_per_mille: 10,
        shock_per_mille: 30,
    };
}

/// The simulated device.
pub struct SimAccel {
    regs: [u8; 0x40],
    ptr: u8,
    rng: Rng,
    domain: Domain,
    faults: Faults,
    condition: u8,
    fifo: [i16; WINDOW],
    /// Bytes of the current window already read.
    fifo_pos: usize,
    /// True when `fifo` holds an unread window.
    fresh: bool,
    /// Status polls answered "not ready" for the next window.
    pending_polls: u8,
}

impl SimAccel {
    /// A device seeing `domain`, deterministic by `seed`.
    pub fn new(domain: Domain, faults: Faults, seed: u64) -> Self {
        let mut regs = [0u8; 0x40];
        regs[reg::WHO_AM_I as usize] = DEVICE_ID;
        Self {
            regs,
            ptr: 0,
            rng: Rng::new(seed),
            domain,
            faults,
            condition: 0,
            fifo: [0; WINDOW],
            fifo_pos: 0,
            fresh: false,
            pending_polls: 1,
        }
    }

    fn running(&self) -> bool {
        self.regs[reg::CTRL_REG1 as usize] & 0x01 != 0
    }

    fn fill_fifo(&mut self) {
        synthesize(&self.domain, self.condition, &mut self.rng, &mut self.fifo);
        if self.rng.below(1000) < self.faults.shock_per_mille {
            let at = self.rng.below(WINDOW as u32 - 4) as usize;
            for v in &mut self.fifo[at..at + 4] {
                *v = i16::MAX;
            }
        }
        self.fifo_pos = 0;
        self.fresh = true;
    }

    fn read_byte(&mut self) -> u8 {
        let r = self.ptr & 0x7F;
        let b = if r == reg::OUT_X_L {
            if !self.fresh {
                return 0;
            }
            let s = self.fifo[(self.fifo_pos / 2) % WINDOW].to_le_bytes();
            let b = s[self.fifo_pos % 2];
            self.fifo_pos += 1;
            if self.fifo_pos >= 2 * WINDOW {
                self.fresh = false;
                self.pending_polls = 1;
            }
            return b;
        } else if r == reg::STATUS_REG {
            if !self.running() {
                0
            } else if self.fresh {
                STATUS_DATA_READY
            } else if self.pending_polls > 0 {
                self.pending_polls -= 1;
                0
            } else {
                self.fill_fifo();
                STATUS_DATA_READY
            }
        } else {
            self.regs[r as usize % self.regs.len()]
        };
        if self.ptr & reg::AUTO_INCREMENT != 0 {
            self.ptr = reg::AUTO_INCREMENT | ((r + 1) & 0x3F);
        }
        b
    }

    fn write_bytes(&mut self, bytes: &[u8]) {
        let Some((&sub, data)) = bytes.split_first() else {
            return;
        };
        self.ptr = sub;
        for &v in data {
            let r = (self.ptr & 0x3F) as usize;
            if r != reg::WHO_AM_I as usize && r != reg::STATUS_REG as usize {
                self.regs[r] = v;
            }
            self.ptr = (self.ptr & reg::AUTO_INCREMENT) | ((self.ptr + 1) & 0x3F);
        }
    }
}

impl Rig for SimAccel {
    fn set_condition(&mut self, class: u8) {
        if class != self.condition {
            self.condition = class;
            // The FIFO still holds the old condition: flush it.
            self.fresh = false;
            self.pending_polls = 1;
        }
    }
}

impl ErrorType for SimAccel {
    type Error = SimError;
}

impl I2c for SimAccel {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), SimError> {
        if address != ADDRESS || self.rng.below(1000) < self.faults.bus_error_per_mille {
            return Err(SimError::Nack);
        }
        for op in operations {
            match op {
                Operation::Write(w) => self.write_bytes(w),
                Operation::Read(r) => r.iter_mut().for_each(|b| *b = self.read_byte()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{to_input, Fault, FaultCounts};
    use crate::sensor::{Accel, LabelledSource};

    struct NoDelay;
    impl embedded_hal::delay::DelayNs for NoDelay {
        fn delay_ns(&mut self, _: u32) {}
    }

    #[test]
    fn driver_reads_deterministic_windows_through_the_trait() {
        let mut a = Accel::new(
            SimAccel::new(Domain::SOURCE, Faults::NONE, 3),
            NoDelay,
            ADDRESS,
        );
        a.init().unwrap();
        let mut w = [0i16; WINDOW];
        a.next(2, &mut w).unwrap();
        let mut b = Accel::new(
            SimAccel::new(Domain::SOURCE, Faults::NONE, 3),
            NoDelay,
            ADDRESS,
        );
        b.init().unwrap();
        let mut v = [0i16; WINDOW];
        b.next(2, &mut v).unwrap();
        assert_eq!(w, v);
        assert!(w.iter().any(|&s| s.unsigned_abs() > 2000));
        // Wrong address: NACK.
        let mut sim = SimAccel::new(Domain::SOURCE, Faults::NONE, 3);
        assert_eq!(sim.write(0x18, &[0x20, 1]), Err(SimError::Nack));
        // Powered down: never ready.
        let mut c = Accel::new(
            SimAccel::new(Domain::SOURCE, Faults::NONE, 3),
            NoDelay,
            ADDRESS,
        );
        assert_eq!(c.next(1, &mut v), Err(Fault::Timeout));
    }

    #[test]
    fn injected_faults_are_dropped_never_panic() {
        let faults = Faults {
            bus_error_per_mille: 100,
            shock_per_mille: 200,
        };
        let mut a = Accel::new(SimAccel::new(Domain::SHIFTED, faults, 11), NoDelay, ADDRESS);
        while a.init().is_err() {}
        let mut counts = FaultCounts::default();
        let mut w = [0i16; WINDOW];
        let mut x = [0.0; crate::model::INPUT];
        for i in 0..500u32 {
            let r = a
                .next((i % 10) as u8, &mut w)
                .and_then(|()| to_input(&w, &mut x));
            counts.count(r);
        }
        assert!(counts.bus > 20, "{counts:?}");
        assert!(counts.saturated > 40, "{counts:?}");
        assert!(counts.ok > 250, "{counts:?}");
        assert_eq!(counts.ok + counts.skipped(), 500);
    }
}
