#!/usr/bin/env bash
# The test command from the README: every unit, property, parity, trainer and QEMU test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace -- --nocapture
