//! The Cortex-M4F firmware, end to end: build it, run it in QEMU (mps2-an386) with a
//! timeout, decode its defmt log and check what it claims — once per fine-tuning
//! optimizer: the default image (CLR SGD) and the `sf-sgd` image (schedule-free
//! SGD), built one after the other and run in QEMU side by side.
//!
//! Asserts, for each image: exit status success; the image ran its optimizer;
//! one complete run per test stream (`lrate_firmware::evaluation::TEST_SEEDS`),
//! whose mean held-out accuracy after fine-tuning, recomputed here from the
//! per-run lines, reaches the image's floor (`evaluation::accuracy_floor`, 2 pp
//! under the measured mean) and every run gained accuracy; every range test
//! picked finite bounds (0 < base_lr < max_lr); static RAM + peak stack ≤ 64 KiB
//! with at least 1 KiB of untouched stack paint left (logged by the firmware,
//! cross-checked against the ELF's section sizes and the stack region); flash ≤
//! 256 KiB (ELF); the step cost was measured and the instruction counter is
//! deterministic (the calibration loop of 200 000 instructions reads exactly
//! 5000 SysTick ticks under `-icount shift=0`).
//!
//! A third image, `--features stack-hog`, uses its stack down to 512 bytes above
//! the end of the stack region on purpose, staying inside the 64 KiB (which the
//! old total-only check let pass): it must fail, on the stack headroom.
//! Across the two: the same number of fine-tuning steps and the same static RAM
//! (schedule-free SGD keeps `z` in the momentum buffer). Prints a `COMPARISON`
//! line: accuracy before → after, static RAM, flash and instructions per step of
//! each (the step's feature pass + update, plus the mean cost of its scalar
//! schedule).
//!
//! Needs `qemu-system-arm`, `defmt-print` (PATH, `$CARGO_HOME/bin`,
//! `~/.cargo/bin` or `target/tools/bin`) and the `thumbv7em-none-eabihf` target.
//! Without them the test fails, naming what to install; `bash scripts/test.sh`
//! installs all three.
//!
//! A passing run prints the firmware's `RESULT` and `PASS` lines; the whole
//! decoded log of an image is printed when the test fails on it after QEMU ran.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lrate_firmware::evaluation::{accuracy_floor, TEST_SEEDS};
use lrate_firmware::finetune::FineTuneOptimizer;

const TARGET: &str = "thumbv7em-none-eabihf";
const QEMU_TIMEOUT: Duration = Duration::from_secs(300);
const RAM_BUDGET: u64 = 64 * 1024;
/// Painted stack bytes that must survive (the firmware's `STACK_HEADROOM_MIN`).
const STACK_HEADROOM_MIN: u64 = 1024;
const FLASH_BUDGET: u64 = 256 * 1024;

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn find_defmt_print(root: &Path) -> Option<PathBuf> {
    if let Some(p) = on_path("defmt-print") {
        return Some(p);
    }
    let mut dirs = Vec::new();
    if let Some(h) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(h).join("bin"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(h).join(".cargo/bin"));
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(t).join("tools/bin"));
    }
    dirs.push(root.join("target/tools/bin"));
    dirs.push(root.join("target/bin"));
    dirs.into_iter()
        .map(|d| d.join("defmt-print"))
        .find(|p| p.is_file())
}

fn thumb_target_installed() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .is_dir()
}

/// `key=value` from the first decoded line containing `marker`.
fn field(log: &str, marker: &str, key: &str) -> String {
    let line = log
        .lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no line with {marker:?} in the log:\n{log}"));
    let pat = format!("{key}=");
    let start = line
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
        + pat.len();
    line[start..]
        .split(|c: char| c.is_whitespace() || c == '%' || c == ',')
        .next()
        .unwrap()
        .trim_end_matches("pp")
        .to_string()
}

fn num(log: &str, marker: &str, key: &str) -> f64 {
    let v = field(log, marker, key);
    v.parse()
        .unwrap_or_else(|_| panic!("{key}={v:?} is not a number"))
}

/// Section sizes of an ELF32 little-endian file: (flash bytes, RAM bytes).
/// Flash: allocated sections that occupy file space outside RAM plus the load
/// image of `.data`; RAM: allocated sections at RAM addresses (0x2000_0000..).
fn elf_budgets(elf: &[u8]) -> (u64, u64) {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes([elf[o], elf[o + 1], elf[o + 2], elf[o + 3]]) as u64;
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 1, "not ELF32");
    let shoff = u32_at(0x20) as usize;
    let shentsize = u16_at(0x2E);
    let shnum = u16_at(0x30);
    let (mut flash, mut ram) = (0u64, 0u64);
    for i in 0..shnum {
        let s = shoff + i * shentsize;
        let (kind, flags, addr, size) =
            (u32_at(s + 4), u32_at(s + 8), u32_at(s + 12), u32_at(s + 20));
        const SHF_ALLOC: u64 = 2;
        const SHT_NOBITS: u64 = 8;
        if flags & SHF_ALLOC == 0 {
            continue;
        }
        let in_ram = (0x2000_0000..0x4000_0000).contains(&addr);
        if in_ram {
            ram += size;
        }
        if kind != SHT_NOBITS && (!in_ram || size > 0) {
            // .text/.rodata/.vector_table, and .data's initialisers stored in flash.
            flash += size;
        }
    }
    (flash, ram)
}

/// Prints the whole decoded log if the test panics while this is alive.
struct LogOnFailure<'a>(&'a str);

impl Drop for LogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- decoded firmware log ---\n{}", self.0);
        }
    }
}

/// One firmware image: its name, the optimizer it runs, its cargo features.
struct Variant {
    name: &'static str,
    optimizer: FineTuneOptimizer,
    features: &'static [&'static str],
}

const VARIANTS: [Variant; 3] = [
    Variant {
        name: "clr-sgd",
        optimizer: FineTuneOptimizer::ClrSgd,
        features: &[],
    },
    Variant {
        name: "sf-sgd",
        optimizer: FineTuneOptimizer::ScheduleFreeSgd,
        features: &["--features", "sf-sgd"],
    },
    Variant {
        name: "stack-hog",
        optimizer: FineTuneOptimizer::ClrSgd,
        features: &["--features", "stack-hog"],
    },
];

/// What one image's run measured (after its checks passed).
#[derive(Debug)]
struct Measured {
    before: f64,
    after: f64,
    after_sd: f64,
    steps: u64,
    static_ram: u64,
    flash: u64,
    step_instructions: u64,
    schedule_instructions: u64,
}

impl Measured {
    fn per_step(&self) -> u64 {
        self.step_instructions + self.schedule_instructions
    }
}

/// Builds `v` into `target_dir` and copies the ELF to a name of its own (the
/// other variant's build overwrites cargo's output).
fn build(root: &Path, target_dir: &Path, v: &Variant) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .current_dir(root)
        .env("DEFMT_LOG", "info")
        .env("CARGO_TARGET_DIR", target_dir)
        .args([
            "build",
            "-p",
            "lrate-firmware",
            "--release",
            "--target",
            TARGET,
        ])
        .args(v.features)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "firmware build ({}) failed", v.name);
    let built = target_dir.join(TARGET).join("release/lrate-firmware");
    let elf = target_dir.join(format!("lrate-firmware-{}.elf", v.name));
    std::fs::copy(&built, &elf).expect("copy the ELF");
    elf
}

/// Runs `elf` in QEMU and decodes its log: (exit status, decoded log).
fn run_qemu(qemu: &Path, decoder: &Path, elf: &Path) -> (std::process::ExitStatus, String) {
    let started = Instant::now();
    let mut child = Command::new(qemu)
        .args(["-cpu", "cortex-m4", "-machine", "mps2-an386", "-nographic"])
        .args([
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=0",
        ])
        .arg("-kernel")
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start qemu-system-arm");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for qemu") {
            break s;
        }
        if started.elapsed() > QEMU_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "QEMU did not finish within {QEMU_TIMEOUT:?} ({})",
                elf.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let raw = reader.join().unwrap().expect("read qemu output");
    eprintln!(
        "QEMU ran {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        elf.display()
    );

    let mut dec = Command::new(decoder)
        .arg("-e")
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start defmt-print");
    dec.stdin
        .take()
        .unwrap()
        .write_all(&raw)
        .expect("feed defmt-print");
    let out = dec.wait_with_output().expect("defmt-print");
    (status, String::from_utf8_lossy(&out.stdout).to_string())
}

/// The line containing `marker` and `seed=SEED ` (one per test stream).
fn run_line<'a>(log: &'a str, marker: &str, seed: u64) -> &'a str {
    let tag = format!("seed={seed} ");
    log.lines()
        .find(|l| l.contains(marker) && l.contains(&tag))
        .unwrap_or_else(|| panic!("no {marker:?} line for seed {seed}"))
}

/// `key=value` from [`run_line`].
fn run_num(log: &str, marker: &str, seed: u64, key: &str) -> f64 {
    num(run_line(log, marker, seed), marker, key)
}

/// Mean and sample sd.
fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    (m, (ss / (n - 1.0)).sqrt())
}

/// The stack figures every image logs, checked against each other and the ELF:
/// `(static RAM, peak stack, headroom)`.
fn memory(log: &str, elf: &Path) -> (u64, u64, u64) {
    let statics = num(log, "RESULT memory", "static_ram") as u64;
    let stack = num(log, "RESULT memory", "peak_stack") as u64;
    let total = num(log, "RESULT memory", "total") as u64;
    let headroom = num(log, "RESULT memory", "stack_headroom") as u64;
    assert_eq!(statics + stack, total);
    assert!(stack > 0, "stack painting measured nothing");
    let (_, ram) = elf_budgets(&std::fs::read(elf).expect("read ELF"));
    assert_eq!(ram, statics, "ELF RAM sections vs linker symbols");
    assert_eq!(
        statics + stack + headroom,
        RAM_BUDGET,
        "the stack region runs from the end of static RAM to the top of RAM"
    );
    (statics, stack, headroom)
}

/// Every per-image assertion; returns the figures for the comparison.
fn check(v: &Variant, elf: &Path, status: std::process::ExitStatus, log: &str) -> Measured {
    let _full_log = LogOnFailure(log);
    for line in log
        .lines()
        .filter(|l| l.contains("RESULT") || l.contains("PASS:"))
    {
        eprintln!("[{}] {line}", v.name);
    }

    assert!(status.success(), "firmware exited with {status}");
    assert!(log.contains("PASS:"), "no PASS line");
    assert_eq!(
        field(log, "RESULT optimizer", "name"),
        v.optimizer.name(),
        "the image ran another optimizer"
    );

    // One run per test stream; every run gains, each range test picks finite
    // bounds, and the mean after fine-tuning reaches the floor.
    let mut before = Vec::new();
    let mut after = Vec::new();
    for seed in TEST_SEEDS {
        let b = run_num(log, "RESULT run", seed, "accuracy_before");
        let a = run_num(log, "RESULT run", seed, "accuracy_after");
        let gain = run_num(log, "RESULT run", seed, "gain");
        assert!(
            (a - b - gain).abs() < 1e-3,
            "seed {seed}: gain {gain} != {a} - {b}"
        );
        assert!(
            gain > 0.0,
            "seed {seed}: fine-tuning lost accuracy ({b} -> {a})"
        );
        let lo = run_num(log, "RESULT bounds", seed, "base_lr");
        let hi = run_num(log, "RESULT bounds", seed, "max_lr");
        assert!(
            lo.is_finite() && hi.is_finite() && 0.0 < lo && lo < hi,
            "seed {seed}: bounds {lo} .. {hi}"
        );
        assert_eq!(
            field(
                run_line(log, "RESULT bounds", seed),
                "RESULT bounds",
                "from_range_test"
            ),
            "true",
            "seed {seed}: range test gave no suggestion"
        );
        before.push(b);
        after.push(a);
    }
    let (mean_after, sd_after) = mean_sd(&after);
    let (mean_before, _) = mean_sd(&before);
    let floor = 100.0 * accuracy_floor(v.optimizer) as f64;
    assert_eq!(
        num(log, "RESULT accuracy", "runs") as usize,
        TEST_SEEDS.len()
    );
    assert!((num(log, "RESULT accuracy", "mean_after") - mean_after).abs() < 1e-3);
    assert!((num(log, "RESULT accuracy", "sd_after") - sd_after).abs() < 1e-3);
    assert!((num(log, "RESULT accuracy", "floor") - floor).abs() < 1e-3);
    assert!(
        mean_after >= floor,
        "mean accuracy after fine-tuning {mean_after:.2} % < floor {floor} %"
    );
    assert!(log.contains("range test suggestion (near-min)"));
    assert!(
        log.matches("cycle ").count() >= 2 * TEST_SEEDS.len(),
        "per-cycle log missing"
    );
    if v.optimizer == FineTuneOptimizer::ScheduleFreeSgd {
        assert!(
            log.contains("schedule-free SGD: lr="),
            "SF-SGD settings missing"
        );
        assert!(!log.contains("refused a configuration"));
    }

    // Memory: firmware's own figures, then the ELF.
    let (statics, stack, headroom) = memory(log, elf);
    assert!(
        statics + stack <= RAM_BUDGET,
        "static RAM {statics} + peak stack {stack} > {RAM_BUDGET}"
    );
    assert!(
        headroom >= STACK_HEADROOM_MIN,
        "stack headroom {headroom} B < {STACK_HEADROOM_MIN} B"
    );
    let flash_logged = num(log, "RESULT flash", "used") as u64;
    let (flash, _) = elf_budgets(&std::fs::read(elf).expect("read ELF"));
    assert!(flash <= FLASH_BUDGET, "flash {flash} > {FLASH_BUDGET}");
    assert!(
        flash_logged <= FLASH_BUDGET && flash_logged >= flash,
        "flash {flash_logged} vs ELF {flash}"
    );

    // Step cost: deterministic instruction counting.
    assert!(
        log.contains("timer calibration: 200000 instructions = 5000 SysTick ticks"),
        "icount calibration"
    );
    let instructions = num(log, "RESULT step_cost", "total_instructions");
    assert!(instructions > 0.0, "step cost not measured");
    let steps = num(log, "RESULT schedule_cost", "steps") as u64;
    assert!(steps > 0, "no fine-tuning steps");
    Measured {
        before: mean_before,
        after: mean_after,
        after_sd: sd_after,
        steps,
        static_ram: statics,
        flash: flash_logged,
        step_instructions: instructions as u64,
        schedule_instructions: num(log, "RESULT schedule_cost", "mean_instructions") as u64,
    }
}

/// The `stack-hog` image: inside the 64 KiB in total, but with less than 1 KiB
/// of stack paint left, so the firmware must report failure on the stack.
fn check_overflow_caught(elf: &Path, status: std::process::ExitStatus, log: &str) {
    let _full_log = LogOnFailure(log);
    let (statics, stack, headroom) = memory(log, elf);
    eprintln!(
        "[stack-hog] static RAM {statics} B + peak stack {stack} B (headroom {headroom} B): \
         exit {status}"
    );
    assert!(
        statics + stack <= RAM_BUDGET,
        "the proof image should stay inside the total, where only the headroom can catch it"
    );
    assert!(headroom < STACK_HEADROOM_MIN, "the hog left {headroom} B");
    assert!(
        !status.success(),
        "the stack-hog image passed its budget check"
    );
    assert!(log.contains("FAIL stack:"), "no FAIL stack line");
    assert!(!log.contains("PASS:"), "a PASS line despite the overflow");
}

#[test]
fn firmware_fine_tunes_in_qemu_within_budgets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let qemu = on_path("qemu-system-arm");
    let decoder = find_defmt_print(&root);
    let mut missing = Vec::new();
    if qemu.is_none() {
        missing.push(
            "qemu-system-arm (not on PATH): install QEMU's Arm system emulator, \
             e.g. `apt-get install -y qemu-system-arm` on Debian/Ubuntu",
        );
    }
    if decoder.is_none() {
        missing.push(
            "defmt-print (not on PATH, in $CARGO_HOME/bin, ~/.cargo/bin or target/tools/bin): \
             `cargo install defmt-print --locked --root target/tools`",
        );
    }
    if !thumb_target_installed() {
        missing.push(
            "the thumbv7em-none-eabihf Rust target: `rustup target add thumbv7em-none-eabihf`",
        );
    }
    assert!(
        missing.is_empty(),
        "firmware_qemu needs tools that are missing:\n  - {}\n\
         `bash scripts/test.sh` installs them (qemu-system-arm through apt-get when run as root)",
        missing.join("\n  - ")
    );
    let (qemu, decoder) = (qemu.unwrap(), decoder.unwrap());

    // Own target dir: the outer cargo holds the lock on the workspace's. Both
    // images first (cargo serialises builds anyway), then both QEMU runs at once.
    let target_dir = root.join("target/fw-test");
    let elfs: Vec<PathBuf> = VARIANTS
        .iter()
        .map(|v| build(&root, &target_dir, v))
        .collect();
    let runs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = elfs
            .iter()
            .map(|elf| s.spawn(|| run_qemu(&qemu, &decoder, elf)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut runs = runs.into_iter();
    let measured: Vec<Measured> = VARIANTS[..2]
        .iter()
        .zip(&elfs)
        .zip(runs.by_ref())
        .map(|((v, elf), (status, log))| check(v, elf, status, &log))
        .collect();
    let (status, log) = runs.next().expect("the stack-hog run");
    check_overflow_caught(&elfs[2], status, &log);
    let (clr, sf) = (&measured[0], &measured[1]);

    eprintln!(
        "COMPARISON after {} steps, mean over {} test streams | clr-sgd: accuracy {:.1}% -> \
         {:.1} ± {:.1}%, static RAM {} B, flash {} B, instructions/step {} ({} + schedule {}) | \
         sf-sgd: accuracy {:.1}% -> {:.1} ± {:.1}%, static RAM {} B, flash {} B, \
         instructions/step {} ({} + schedule {})",
        clr.steps,
        TEST_SEEDS.len(),
        clr.before,
        clr.after,
        clr.after_sd,
        clr.static_ram,
        clr.flash,
        clr.per_step(),
        clr.step_instructions,
        clr.schedule_instructions,
        sf.before,
        sf.after,
        sf.after_sd,
        sf.static_ram,
        sf.flash,
        sf.per_step(),
        sf.step_instructions,
        sf.schedule_instructions,
    );
    assert_eq!(clr.steps, sf.steps, "both optimizers run the same steps");
    assert_eq!(
        clr.static_ram, sf.static_ram,
        "schedule-free SGD must use the static RAM of momentum SGD"
    );
    assert_eq!(
        clr.before, sf.before,
        "same held-out sets and base model before fine-tuning"
    );
}
