//! Link setup for the Cortex-M image, so that
//! `cargo build -p lrate-firmware --target thumbv7em-none-eabihf` works from the
//! workspace root without a `.cargo/config.toml`.
//!
//! Writes `memory.x` into `OUT_DIR` for the selected board (QEMU mps2-an386 by
//! default, STM32F411 with `--features rtt`) and passes `-Tlink.x -Tdefmt.x` to the
//! binary only. Host builds (library tests, the `export` example) get no link arguments.
//! Both layouts are capped at the budget: 256 KiB flash, 64 KiB RAM, so the linker
//! itself rejects an image that does not fit.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=memory-qemu.x");
    println!("cargo:rerun-if-changed=memory-stm32f411.x");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let rtt = env::var_os("CARGO_FEATURE_RTT").is_some();
    let src = if rtt {
        "memory-stm32f411.x"
    } else {
        "memory-qemu.x"
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(src, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
}
