//! The firmware image: on-device fine-tuning with a cyclical learning rate whose
//! bounds come from an on-device LR range test.
//!
//! Built for `thumbv7em-none-eabihf` this is a `cortex-m-rt` program (see
//! `firmware/README.md` and `firmware/run.sh`); built for the host it is a stub that
//! says so, so that `cargo test -p lrate-firmware` and workspace builds work.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "lrate-firmware is a Cortex-M image: build it with --target thumbv7em-none-eabihf \
         (firmware/run.sh builds, runs it in QEMU and decodes the log)"
    );
}

#[cfg(target_os = "none")]
mod board;
#[cfg(target_os = "none")]
mod device;
