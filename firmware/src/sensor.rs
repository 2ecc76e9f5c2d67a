//! Driver for the vibration accelerometer, written against embedded-hal 1.0
//! ([`I2c`] + [`DelayNs`]), so it runs unchanged on any HAL, on the simulated
//! device of [`crate::sim`] and against `embedded-hal-mock` in the tests.
//!
//! The register map follows the ST LIS3DH (datasheet DocID17530, §8): `WHO_AM_I`
//! (0x0F) reads 0x33, `CTRL_REG1` (0x20) sets the data rate and enables the axis,
//! `CTRL_REG4` (0x23) block-data-update, ±4 g and high-resolution, `FIFO_CTRL_REG`
//! (0x2E) FIFO mode, and `STATUS_REG` (0x27) bit 3 (`ZYXDA`) flags new data. The
//! sub-address MSB (0x80) selects auto-increment, so one burst read of
//! [`WINDOW`] little-endian `i16` from `OUT_X_L` (0x28) drains one window from the
//! FIFO. (The LIS3DH FIFO holds 32 samples of 3 axes; this part is configured for a
//! single axis, 64 deep.)

use crate::pipeline::Fault;
use crate::signal::WINDOW;
use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

/// Default 7-bit address (SA0 high).
pub const ADDRESS: u8 = 0x19;
/// Register addresses.
pub mod reg {
    /// Device identification.
    pub const WHO_AM_I: u8 = 0x0F;
    /// Data rate and axis enable.
    pub const CTRL_REG1: u8 = 0x20;
    /// Block data update, full scale, resolution.
    pub const CTRL_REG4: u8 = 0x23;
    /// Status: bit 3 = new data.
    pub const STATUS_REG: u8 = 0x27;
    /// First output byte (X low).
    pub const OUT_X_L: u8 = 0x28;
    /// FIFO mode.
    pub const FIFO_CTRL_REG: u8 = 0x2E;
    /// Auto-increment flag for the sub-address.
    pub const AUTO_INCREMENT: u8 = 0x80;
}
/// `WHO_AM_I` value.
pub const DEVICE_ID: u8 = 0x33;
/// `CTRL_REG1`: 1.344 kHz, X axis only.
pub const CTRL_REG1_RUN: u8 = 0x91;
/// `CTRL_REG4`: BDU, ±4 g, high resolution.
pub const CTRL_REG4_4G_HR: u8 = 0x98;
/// `FIFO_CTRL_REG`: stream mode.
pub const FIFO_STREAM: u8 = 0x80;
/// `STATUS_REG` data-ready bit.
pub const STATUS_DATA_READY: u8 = 0x08;
/// Turn-on time after enabling, ms.
pub const BOOT_MS: u32 = 5;
/// Status polls before [`Error::NotReady`].
pub const MAX_POLLS: u32 = 8;
/// Pause between status polls, µs.
pub const POLL_US: u32 = 200;

/// Driver errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// The bus reported an error.
    Bus(E),
    /// `WHO_AM_I` returned something else (the value read).
    WrongDevice(u8),
    /// No data became ready within [`MAX_POLLS`] polls.
    NotReady,
}

impl<E> Error<E> {
    /// The pipeline's view of this error (the sample is skipped).
    pub fn fault(&self) -> Fault {
        match self {
            Error::Bus(_) | Error::WrongDevice(_) => Fault::Bus,
            Error::NotReady => Fault::Timeout,
        }
    }
}

/// The accelerometer on a bus.
pub struct Accel<I2C, D> {
    i2c: I2C,
    delay: D,
    address: u8,
}

impl<I2C: I2c, D: DelayNs> Accel<I2C, D> {
    /// A driver for the device at `address` (not yet initialised).
    pub fn new(i2c: I2C, delay: D, address: u8) -> Self {
        Self {
            i2c,
            delay,
            address,
        }
    }

    fn read_reg(&mut self, r: u8) -> Result<u8, Error<I2C::Error>> {
        let mut b = [0u8];
        self.i2c
            .write_read(self.address, &[r], &mut b)
            .map_err(Error::Bus)?;
        Ok(b[0])
    }

    fn write_reg(&mut self, r: u8, v: u8) -> Result<(), Error<I2C::Error>> {
        self.i2c.write(self.address, &[r, v]).map_err(Error::Bus)
    }

    /// Checks the identity, configures rate, range and FIFO, and waits the turn-on time.
    pub fn init(&mut self) -> Result<(), Error<I2C::Error>> {
        let id = self.read_reg(reg::WHO_AM_I)?;
        if id != DEVICE_ID {
            return Err(Error::WrongDevice(id));
        }
        self.write_reg(reg::CTRL_REG1, CTRL_REG1_RUN)?;
        self.write_reg(reg::CTRL_REG4, CTRL_REG4_4G_HR)?;
        self.write_reg(reg::FIFO_CTRL_REG, FIFO_STREAM)?;
        self.delay.delay_ms(BOOT_MS);
        Ok(())
    }

    /// Reads `STATUS_REG` and returns the data-ready bit.
    pub fn data_ready(&mut self) -> Result<bool, Error<I2C::Error>> {
        Ok(self.read_reg(reg::STATUS_REG)? & STATUS_DATA_READY != 0)
    }

    /// Waits for data ready (polling every [`POLL_US`]) and burst-reads one window.
    pub fn read_window(&mut self, out: &mut [i16; WINDOW]) -> Result<(), Error<I2C::Error>> {
        let mut polls = 0;
        while !self.data_ready()? {
            polls += 1;
            if polls >= MAX_POLLS {
                return Err(Error::NotReady);
            }
            self.delay.delay_us(POLL_US);
        }
        let mut buf = [0u8; 2 * WINDOW];
        self.i2c
            .write_read(
                self.address,
                &[reg::OUT_X_L | reg::AUTO_INCREMENT],
                &mut buf,
            )
            .map_err(Error::Bus)?;
        for (o, b) in out.iter_mut().zip(buf.chunks_exact(2)) {
            *o = i16::from_le_bytes([b[0], b[1]]);
        }
        Ok(())
    }

    /// The bus (for a simulated device: the hook the test rig uses).
    pub fn bus_mut(&mut self) -> &mut I2C {
        &mut self.i2c
    }

    /// Gives the bus and delay back.
    pub fn release(self) -> (I2C, D) {
        (self.i2c, self.delay)
    }
}

/// Something that produces labelled raw windows: the calibration rig runs the
/// machine in condition `class` and the sensor records it.
pub trait LabelledSource {
    /// One raw window of condition `class`, or why it had to be skipped.
    fn next(&mut self, class: u8, raw: &mut [i16; WINDOW]) -> Result<(), Fault>;
}

/// A physical setup that can be put into a known machine condition (on the
/// simulated bus, the simulator itself; on a real deployment, the operator's
/// calibration procedure).
pub trait Rig {
    /// Runs the machine in condition `class` from now on.
    fn set_condition(&mut self, class: u8);
}

impl<I2C: I2c + Rig, D: DelayNs> LabelledSource for Accel<I2C, D> {
    fn next(&mut self, class: u8, raw: &mut [i16; WINDOW]) -> Result<(), Fault> {
        self.i2c.set_condition(class);
        self.read_window(raw).map_err(|e| e.fault())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use embedded_hal::i2c::ErrorKind;
    use embedded_hal_mock::eh1::delay::{CheckedDelay, NoopDelay, Transaction as D};
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};
    use std::vec;
    use std::vec::Vec;

    fn init_transactions() -> Vec<T> {
        vec![
            T::write_read(ADDRESS, vec![reg::WHO_AM_I], vec![DEVICE_ID]),
            T::write(ADDRESS, vec![reg::CTRL_REG1, CTRL_REG1_RUN]),
            T::write(ADDRESS, vec![reg::CTRL_REG4, CTRL_REG4_4G_HR]),
            T::write(ADDRESS, vec![reg::FIFO_CTRL_REG, FIFO_STREAM]),
        ]
    }

    #[test]
    fn init_configures_and_waits_boot_time() {
        let mut i2c = Mock::new(&init_transactions());
        let mut delay = CheckedDelay::new(&[D::delay_ms(BOOT_MS)]);
        let mut a = Accel::new(i2c.clone(), delay.clone(), ADDRESS);
        assert_eq!(a.init(), Ok(()));
        i2c.done();
        delay.done();
    }

    #[test]
    fn wrong_device_is_refused() {
        let mut i2c = Mock::new(&[T::write_read(ADDRESS, vec![reg::WHO_AM_I], vec![0x44])]);
        let mut a = Accel::new(i2c.clone(), NoopDelay::new(), ADDRESS);
        assert_eq!(a.init(), Err(Error::WrongDevice(0x44)));
        i2c.done();
    }

    #[test]
    fn polls_status_then_burst_reads_little_endian() {
        let mut bytes = Vec::new();
        for i in 0..WINDOW as i16 {
            bytes.extend_from_slice(&(i * 300 - 9000).to_le_bytes());
        }
        let mut i2c = Mock::new(&[
            T::write_read(ADDRESS, vec![reg::STATUS_REG], vec![0x00]),
            T::write_read(
                ADDRESS,
                vec![reg::STATUS_REG],
                vec![STATUS_DATA_READY | 0x80],
            ),
            T::write_read(ADDRESS, vec![reg::OUT_X_L | reg::AUTO_INCREMENT], bytes),
        ]);
        let mut delay = CheckedDelay::new(&[D::delay_us(POLL_US)]);
        let mut a = Accel::new(i2c.clone(), delay.clone(), ADDRESS);
        let mut w = [0i16; WINDOW];
        assert_eq!(a.read_window(&mut w), Ok(()));
        assert_eq!(w[0], -9000);
        assert_eq!(w[63], 63 * 300 - 9000);
        i2c.done();
        delay.done();
    }

    #[test]
    fn not_ready_times_out() {
        let polls: Vec<T> = (0..MAX_POLLS)
            .map(|_| T::write_read(ADDRESS, vec![reg::STATUS_REG], vec![0]))
            .collect();
        let mut i2c = Mock::new(&polls);
        let mut a = Accel::new(i2c.clone(), NoopDelay::new(), ADDRESS);
        let mut w = [0i16; WINDOW];
        let e = a.read_window(&mut w).unwrap_err();
        assert_eq!((e, e.fault()), (Error::NotReady, Fault::Timeout));
        i2c.done();
    }

    #[test]
    fn bus_errors_surface_as_skippable_faults() {
        let mut i2c = Mock::new(&[
            T::write_read(ADDRESS, vec![reg::STATUS_REG], vec![0]).with_error(ErrorKind::Bus),
            T::write_read(ADDRESS, vec![reg::STATUS_REG], vec![STATUS_DATA_READY]),
            T::write_read(
                ADDRESS,
                vec![reg::OUT_X_L | reg::AUTO_INCREMENT],
                vec![0; 2 * WINDOW],
            )
            .with_error(ErrorKind::ArbitrationLoss),
        ]);
        let mut a = Accel::new(i2c.clone(), NoopDelay::new(), ADDRESS);
        let mut w = [7i16; WINDOW];
        let e = a.read_window(&mut w).unwrap_err();
        assert_eq!((e, e.fault()), (Error::Bus(ErrorKind::Bus), Fault::Bus));
        let e = a.read_window(&mut w).unwrap_err();
        assert_eq!(e, Error::Bus(ErrorKind::ArbitrationLoss));
        assert_eq!(w, [7i16; WINDOW], "a failed read leaves the buffer alone");
        i2c.done();
    }
}
