//! The Cortex-M program: entry point, logging observer, budgets.
//!
//! Budget figures come from the linker symbols of `cortex-m-rt`
//! (`__sdata..__edata`, `__sbss..__ebss`, `__sheap` = end of static RAM,
//! `_stack_start` = top of RAM) and from stack painting: `cortex-m-rt`'s
//! `paint-stack` fills `_stack_end.._stack_start` with `0xCCCC_CCCC` before `main`,
//! and [`stack_use`] finds the lowest word that was overwritten and how much
//! paint is left below it ([`STACK_HEADROOM_MIN`] must be).
//! The cost of a training step is read from SysTick, which QEMU clocks from its
//! virtual clock: with `-icount shift=0` one instruction is one nanosecond and
//! SysTick counts one tick per 40 ns (25 MHz), so the figures are deterministic.

use crate::board;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::entry;
use lrate_firmware::evaluation::{accuracy_floor, config_for, mean_sd, TEST_SEEDS};
use lrate_firmware::events::{Event, Observer, Phase};
use lrate_firmware::finetune::{self, Config, FineTuneOptimizer, Workspace};
use lrate_firmware::model::Model;
use lrate_firmware::pipeline::Fault;
use lrate_firmware::sensor::{Accel, ADDRESS};
use lrate_firmware::weights;

/// The base model, trained on the host by the `export` example (see firmware/README.md).
static BASE_WEIGHTS: &[u8] = include_bytes!("../model/base.bin");

/// The fine-tuning optimizer of this image: CLR SGD, or schedule-free SGD with the
/// `sf-sgd` feature (one optimizer per image, so that flash and step cost of each
/// can be measured on its own).
const OPTIMIZER: FineTuneOptimizer = if cfg!(feature = "sf-sgd") {
    FineTuneOptimizer::ScheduleFreeSgd
} else {
    FineTuneOptimizer::ClrSgd
};

extern "C" {
    static __sdata: u32;
    static __edata: u32;
    static __sbss: u32;
    static __ebss: u32;
    static __sheap: u32;
    static _stack_start: u32;
    static _stack_end: u32;
    static __vector_table: u32;
    static __veneer_limit: u32;
}

/// Address of a linker symbol, without creating a reference (the vector table
/// sits at address 0 on mps2-an386, where a reference would be null).
macro_rules! addr {
    ($sym:ident) => {
        core::ptr::addr_of!($sym) as usize
    };
}

/// Static RAM: `(.data, .bss, total)`, the total running from the start of RAM
/// (`.data` comes first) to the end of `.uninit` (`__sheap`).
fn static_ram() -> (usize, usize, usize) {
    (
        addr!(__edata) - addr!(__sdata),
        addr!(__ebss) - addr!(__sbss),
        addr!(__sheap) - addr!(__sdata),
    )
}

/// Flash used: from the vector table to the end of the last flash section
/// (`.text`, `.rodata` with the weights, the `.data` initialisers, `.gnu.sgstubs`).
fn flash_used() -> usize {
    addr!(__veneer_limit) - addr!(__vector_table)
}

/// Painted stack words that must survive below the deepest point the stack
/// reached, in bytes. The stack region runs from the top of RAM down to the end
/// of static RAM (`_stack_end`), so a stack that outgrows it writes over the
/// statics below: this margin makes the budget check fail before that happens,
/// and catches a frame that jumps over up to 1 KiB of paint without writing it.
const STACK_HEADROOM_MIN: usize = 1024;

/// Stack use from stack painting: `(peak, headroom)`, the distance from the top
/// of the stack to the lowest overwritten word and the painted bytes left below
/// it (`peak + headroom` is the whole region, `_stack_start − _stack_end`).
fn stack_use() -> (usize, usize) {
    const PAINT: u32 = 0xCCCC_CCCC;
    // SAFETY: reads words inside the stack region `_stack_end.._stack_start`,
    // which is RAM reserved for the stack; volatile so the scan is not elided.
    unsafe {
        let top = addr!(_stack_start);
        let bottom = addr!(_stack_end);
        let mut p = bottom;
        while p < top && core::ptr::read_volatile(p as *const u32) == PAINT {
            p += 4;
        }
        (top - p, p - bottom)
    }
}

/// The `stack-hog` test image only: recurses in 256-byte frames (each written,
/// so the paint is scrubbed) until the stack pointer is within 512 bytes of the
/// end of the stack region, leaving less than [`STACK_HEADROOM_MIN`] of paint:
/// the budget check must then fail. Returns a checksum so nothing is elided.
#[cfg(feature = "stack-hog")]
#[inline(never)]
fn hog_stack(bottom: usize, depth: u32) -> u32 {
    let mut frame = [0u32; 64];
    for (i, w) in frame.iter_mut().enumerate() {
        // SAFETY: a volatile write into this frame's own array.
        unsafe { core::ptr::write_volatile(w, depth ^ i as u32) };
    }
    let sp = cortex_m::register::msp::read() as usize;
    // SAFETY: volatile reads of this frame's own array.
    let mut sum = frame
        .iter()
        .map(|w| unsafe { core::ptr::read_volatile(w) })
        .fold(0u32, u32::wrapping_add);
    if sp > bottom + 512 {
        sum = sum.wrapping_add(hog_stack(bottom, depth + 1));
    }
    sum
}

struct Log {
    skipped_logged: u32,
    /// SysTick ticks for [`CALIBRATION_INSTRUCTIONS`] instructions.
    calibration: u32,
}

impl Log {
    /// Ticks to instructions, by the calibration.
    fn instructions(&self, ticks: u32) -> u64 {
        ticks as u64 * CALIBRATION_INSTRUCTIONS as u64 / self.calibration.max(1) as u64
    }
}

/// Instructions executed by [`calibrate`]'s loop (2 per iteration).
const CALIBRATION_INSTRUCTIONS: u32 = 200_000;

/// Times a loop of exactly `CALIBRATION_INSTRUCTIONS` instructions (`subs` + `bne`
/// per iteration) in SysTick ticks, so tick counts convert to instruction counts.
/// Under `-icount shift=0` QEMU charges 1 ns per instruction and SysTick runs at
/// 25 MHz, so the expected answer is 200 000 / 40 = 5000.
fn calibrate(log: &mut Log) -> u32 {
    let t0 = log.ticks();
    // SAFETY: a register-only countdown loop.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bne 2b",
            n = inout(reg) CALIBRATION_INSTRUCTIONS / 2 => _,
            options(nomem, nostack)
        );
    }
    log.ticks().wrapping_sub(t0) & 0x00FF_FFFF
}

impl Observer for Log {
    fn event(&mut self, e: &Event) {
        match *e {
            Event::Skipped {
                phase,
                fault,
                counts,
            } => {
                // Log the first few in full, then every 25th.
                self.skipped_logged += 1;
                if self.skipped_logged <= 5 || self.skipped_logged % 25 == 0 {
                    defmt::warn!(
                        "skipped sample ({}): {} | ok={} bus={} timeout={} saturated={} non_finite={}",
                        phase_name(phase),
                        fault_name(fault),
                        counts.ok,
                        counts.bus,
                        counts.timeout,
                        counts.saturated,
                        counts.non_finite
                    );
                }
            }
            Event::Accuracy {
                phase,
                correct,
                total,
            } => {
                defmt::info!(
                    "accuracy {}: {}/{} held-out windows",
                    phase_name(phase),
                    correct,
                    total
                );
            }
            Event::RangePoint { batch, lr, loss } => {
                // The curve, every 4th batch (all of them at DEFMT_LOG=debug).
                if batch % 4 == 0 {
                    defmt::info!("range batch {} lr={} loss={}", batch, lr, loss);
                } else {
                    defmt::debug!("range batch {} lr={} loss={}", batch, lr, loss);
                }
            }
            Event::RangeDone(s) => {
                defmt::info!(
                    "range test: batches={} best_loss={} at lr={} last_lr={} diverged={}",
                    s.batches,
                    s.best_loss,
                    s.best_lr,
                    s.last_lr,
                    s.diverged
                );
                match s.suggestion {
                    Some(v) => {
                        defmt::info!("range test suggestion ({=str}): lr={}", s.rule.name(), v)
                    }
                    None => defmt::warn!("range test: no usable suggestion"),
                }
            }
            Event::Bounds {
                base_lr,
                max_lr,
                from_range_test,
            } => {
                defmt::info!(
                    "CLR bounds: base_lr={} max_lr={} source={}",
                    base_lr,
                    max_lr,
                    if from_range_test {
                        "range-test"
                    } else {
                        "fallback"
                    }
                );
            }
            Event::ScheduleFree {
                lr,
                warmup_steps,
                momentum,
                steps,
            } => {
                defmt::info!(
                    "schedule-free SGD: lr={} (max_lr x {}) warmup_steps={} momentum={} steps={}",
                    lr,
                    finetune::SF_LR_SCALE,
                    warmup_steps,
                    momentum,
                    steps
                );
            }
            Event::Cycle {
                cycle,
                mean_loss,
                lr_min,
                lr_max,
                mom_min,
                mom_max,
                skipped_steps,
            } => {
                defmt::info!(
                    "cycle {}: mean_loss={} lr=[{}, {}] momentum=[{}, {}] skipped_steps={}",
                    cycle,
                    mean_loss,
                    lr_min,
                    lr_max,
                    mom_min,
                    mom_max,
                    skipped_steps
                );
            }
            Event::StepCost { features, update } => {
                let per_tick = |t: u32| self.instructions(t);
                defmt::info!(
                    "RESULT step_cost batch={} features_ticks={} update_ticks={} features_instructions={} update_instructions={} total_instructions={}",
                    finetune::BATCH,
                    features,
                    update,
                    per_tick(features),
                    per_tick(update),
                    per_tick(features) + per_tick(update)
                );
            }
            Event::ScheduleCost { steps, total, max } => {
                // Mean over the steps, from the summed ticks (one tick of rounding
                // per step at most).
                let mean = self.instructions(total) / steps.max(1) as u64;
                defmt::info!(
                    "RESULT schedule_cost steps={} total_ticks={} mean_instructions={} max_instructions={}",
                    steps,
                    total,
                    mean,
                    self.instructions(max)
                );
            }
            Event::ConfigRejected(e) => {
                defmt::error!("lrate-core refused a configuration: field `{}`", e.field);
            }
        }
    }

    fn ticks(&mut self) -> u32 {
        // SysTick counts down from 0xFF_FFFF; report an up-counter (24-bit wrap
        // handled by the caller's wrapping_sub on short intervals).
        0x00FF_FFFFu32.wrapping_sub(cortex_m::peripheral::SYST::get_current()) & 0x00FF_FFFF
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Collect => "collect",
        Phase::Before => "before",
        Phase::RangeTest => "range-test",
        Phase::FineTune => "fine-tune",
        Phase::After => "after",
    }
}

fn fault_name(f: Fault) -> &'static str {
    match f {
        Fault::Bus => "bus error",
        Fault::Timeout => "not ready",
        Fault::Saturated => "saturated",
        Fault::NonFinite => "non-finite",
    }
}

#[entry]
fn main() -> ! {
    let ok = run();
    board::exit(ok)
}

#[inline(never)]
fn run() -> bool {
    defmt::info!(
        "lrate-firmware {} on {}",
        env!("CARGO_PKG_VERSION"),
        board::NAME
    );
    let Some(mut cp) = cortex_m::Peripherals::take() else {
        defmt::error!("core peripherals already taken");
        return false;
    };
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(0x00FF_FFFF);
    cp.SYST.clear_current();
    cp.SYST.enable_counter();
    let mut log = Log {
        skipped_logged: 0,
        calibration: 0,
    };
    log.calibration = calibrate(&mut log);
    defmt::info!(
        "timer calibration: {} instructions = {} SysTick ticks",
        CALIBRATION_INSTRUCTIONS,
        log.calibration
    );

    // The model and the workspace live in .bss (zero-initialised, no copies
    // through the stack); `run` is entered once, so these are the only references.
    static mut MODEL: Model = Model::zeroed();
    static mut WORKSPACE: Workspace = Workspace::new();
    // SAFETY: `run` is called exactly once, from `main`, with interrupts unused:
    // no other reference to these statics ever exists.
    let (model, ws) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(MODEL),
            &mut *core::ptr::addr_of_mut!(WORKSPACE),
        )
    };
    defmt::info!(
        "base weights: {} bytes, {} parameters ({} trainable)",
        BASE_WEIGHTS.len(),
        (BASE_WEIGHTS.len() - 20) / 4,
        lrate_firmware::model::Head::PARAMS
    );

    // One complete run per test stream: fresh base weights, the stream's own
    // held-out set, range test, fine-tuning (see `lrate_firmware::evaluation`).
    let cfg = Config {
        optimizer: OPTIMIZER,
        ..Config::default()
    };
    defmt::info!("RESULT optimizer name={=str}", cfg.optimizer.name());
    let mut before = [0.0f32; TEST_SEEDS.len()];
    let mut after = [0.0f32; TEST_SEEDS.len()];
    let mut all_from_range_test = true;
    for (i, &seed) in TEST_SEEDS.iter().enumerate() {
        if let Err(e) = weights::load(BASE_WEIGHTS, model) {
            defmt::error!("base weights rejected: {}", defmt::Debug2Format(&e));
            return false;
        }
        let Some(mut sensor) = init_sensor(seed) else {
            return false;
        };
        defmt::info!(
            "run {} of {}: test stream seed={}",
            i + 1,
            TEST_SEEDS.len(),
            seed
        );
        let out = finetune::run(model, &mut sensor, ws, &config_for(&cfg, seed), &mut log);
        before[i] = 100.0 * out.acc_before;
        after[i] = 100.0 * out.acc_after;
        all_from_range_test &= out.from_range_test;
        defmt::info!(
            "samples: ok={} skipped={} (bus={} timeout={} saturated={} non_finite={})",
            out.counts.ok,
            out.counts.skipped(),
            out.counts.bus,
            out.counts.timeout,
            out.counts.saturated,
            out.counts.non_finite
        );
        defmt::info!(
            "RESULT run seed={} accuracy_before={}% accuracy_after={}% gain={}pp",
            seed,
            before[i],
            after[i],
            after[i] - before[i]
        );
        defmt::info!(
            "RESULT bounds seed={} base_lr={} max_lr={} from_range_test={}",
            seed,
            out.bounds.0,
            out.bounds.1,
            out.from_range_test
        );
    }
    let (mean_before, sd_before) = mean_sd(&before);
    let (mean_after, sd_after) = mean_sd(&after);
    let floor = 100.0 * accuracy_floor(cfg.optimizer);
    defmt::info!(
        "RESULT accuracy runs={} mean_before={}% sd_before={}pp mean_after={}% sd_after={}pp floor={}%",
        TEST_SEEDS.len(),
        mean_before,
        sd_before,
        mean_after,
        sd_after,
        floor
    );

    #[cfg(feature = "stack-hog")]
    defmt::warn!(
        "stack-hog image: stack used down to the end of its region on purpose (checksum {})",
        hog_stack(addr!(_stack_end), 0)
    );
    let (data, bss, statics) = static_ram();
    let (stack, headroom) = stack_use();
    let flash = flash_used();
    defmt::info!(
        "RESULT flash used={} budget=262144 (weights {})",
        flash,
        BASE_WEIGHTS.len()
    );
    defmt::info!(
        "RESULT memory static_ram={} (data={} bss={}) peak_stack={} total={} budget=65536 stack_headroom={} headroom_min={}",
        statics,
        data,
        bss,
        stack,
        statics + stack,
        headroom,
        STACK_HEADROOM_MIN
    );
    let accuracy_ok = mean_after >= floor && all_from_range_test;
    let ram_ok = statics + stack <= 64 * 1024 && headroom >= STACK_HEADROOM_MIN;
    let flash_ok = flash <= 256 * 1024;
    if accuracy_ok && ram_ok && flash_ok {
        defmt::info!(
            "PASS: mean accuracy {}% >= floor {}%, RAM {} bytes with {} bytes of stack headroom, flash {} bytes",
            mean_after,
            floor,
            statics + stack,
            headroom,
            flash
        );
    } else {
        if !accuracy_ok {
            defmt::error!(
                "FAIL accuracy: mean {}% (floor {}%), every range test picked: {}",
                mean_after,
                floor,
                all_from_range_test
            );
        }
        if !ram_ok {
            defmt::error!(
                "FAIL stack: RAM {} bytes (budget 65536), stack headroom {} bytes (need {})",
                statics + stack,
                headroom,
                STACK_HEADROOM_MIN
            );
        }
        if !flash_ok {
            defmt::error!("FAIL flash: {} bytes (budget 262144)", flash);
        }
    }
    accuracy_ok && ram_ok && flash_ok
}

/// The sensor on test stream `seed`, initialised (up to 5 retries); `None` after
/// logging the error if it never answers.
fn init_sensor(seed: u64) -> Option<Accel<lrate_firmware::sim::SimAccel, board::SpinDelay>> {
    let mut sensor = Accel::new(board::sensor_bus(seed), board::SpinDelay, ADDRESS);
    let mut tries = 0;
    loop {
        match sensor.init() {
            Ok(()) => break,
            Err(e) if tries < 5 => {
                defmt::warn!("sensor init failed ({}), retrying", defmt::Debug2Format(&e));
                tries += 1;
            }
            Err(e) => {
                defmt::error!("sensor init failed: {}", defmt::Debug2Format(&e));
                return None;
            }
        }
    }
    defmt::info!("sensor ready at 0x{:02x}", ADDRESS);
    Some(sensor)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    board::exit(false)
}
