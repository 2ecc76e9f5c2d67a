#!/usr/bin/env bash
# Build the firmware, run it in QEMU (mps2-an386, Cortex-M4F) and decode its defmt
# log. The exit status is the firmware's: 0 only if the mean accuracy after fine-tuning
# over its test streams reached the image's floor,
# within the RAM, stack-headroom and flash budgets.
#
#   firmware/run.sh                       # from anywhere; DEFMT_LOG=debug for the full curve
#   firmware/run.sh --features sf-sgd     # the schedule-free SGD image (extra args go to cargo build)
#
# Needs: rustup target thumbv7em-none-eabihf, qemu-system-arm, defmt-print
# (`cargo install defmt-print --locked`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
export DEFMT_LOG="${DEFMT_LOG:-info}"
CARGO_TARGET_DIR="$target_dir" cargo build -p lrate-firmware --release --target thumbv7em-none-eabihf "$@"
elf="$target_dir/thumbv7em-none-eabihf/release/lrate-firmware"
decoder="$(command -v defmt-print || true)"
if [ -z "$decoder" ]; then decoder="${CARGO_HOME:-$HOME/.cargo}/bin/defmt-print"; fi
# -icount shift=0: one instruction = 1 ns of virtual time, so SysTick-based cost
# figures are deterministic.
timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
  -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" \
  | "$decoder" -e "$elf"
