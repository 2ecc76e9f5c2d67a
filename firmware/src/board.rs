//! Everything board-specific, in one place.
//!
//! * default (`qemu` feature): QEMU `mps2-an386` (Cortex-M4F at 25 MHz), logs over
//!   semihosting, exit status through semihosting `SYS_EXIT`.
//! * `rtt` feature: an STM32F411 board (16 MHz HSI after reset), logs over RTT for
//!   probe-rs; the run ends on a breakpoint instruction (success) or a permanent
//!   `udf` loop (failure), which a probe sees.
//!
//! The sensor bus: on QEMU, and for now on the board too, the simulated device of
//! [`lrate_firmware::sim`] stands in for the accelerometer. A board with a real
//! LIS3DH-style part returns its HAL's `embedded_hal::i2c::I2c` peripheral from
//! [`sensor_bus`] instead (and a `Rig` that asks the operator for the machine
//! condition); nothing else changes.

use embedded_hal::delay::DelayNs;
use lrate_firmware::sim::SimAccel;

#[cfg(all(feature = "qemu", feature = "rtt"))]
compile_error!("features `qemu` and `rtt` are exclusive: build the board image with --no-default-features --features rtt");
#[cfg(not(any(feature = "qemu", feature = "rtt")))]
compile_error!("enable one board feature: `qemu` (default) or `rtt`");

#[cfg(feature = "rtt")]
use defmt_rtt as _;
#[cfg(feature = "qemu")]
use defmt_semihosting as _;

/// Core clock after reset.
#[cfg(feature = "qemu")]
pub const CORE_HZ: u32 = 25_000_000;
/// Core clock after reset.
#[cfg(feature = "rtt")]
pub const CORE_HZ: u32 = 16_000_000;

/// Board name for the log.
#[cfg(feature = "qemu")]
pub const NAME: &str = "QEMU mps2-an386 (Cortex-M4F)";
/// Board name for the log.
#[cfg(feature = "rtt")]
pub const NAME: &str = "STM32F411 (Cortex-M4F)";

/// Ends the program; `success` becomes the exit status where there is one.
#[cfg(feature = "qemu")]
pub fn exit(success: bool) -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

/// Ends the program; `success` becomes the exit status where there is one.
#[cfg(feature = "rtt")]
pub fn exit(success: bool) -> ! {
    loop {
        if success {
            cortex_m::asm::bkpt();
        } else {
            cortex_m::asm::udf();
        }
    }
}

/// The accelerometer's bus (see the module docs): test stream `seed`
/// ([`lrate_firmware::evaluation::stream`]).
pub fn sensor_bus(seed: u64) -> SimAccel {
    lrate_firmware::evaluation::stream(seed)
}

/// Busy-wait delay calibrated to [`CORE_HZ`] (`cortex_m::asm::delay` spins at
/// least the given number of cycles).
pub struct SpinDelay;

impl DelayNs for SpinDelay {
    fn delay_ns(&mut self, ns: u32) {
        let cycles = (ns as u64 * CORE_HZ as u64).div_ceil(1_000_000_000);
        cortex_m::asm::delay(cycles.min(u32::MAX as u64) as u32);
    }
}
