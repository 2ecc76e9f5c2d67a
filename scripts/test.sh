#!/usr/bin/env bash
# The test command from the README: every unit, property, parity, trainer and QEMU test.
#
# First scripts/tools.sh installs what the firmware and super-convergence tests need when it
# is missing. Nothing is left out: a test whose tools are missing fails rather than passing
# unrun.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
source scripts/tools.sh

cargo test --workspace -- --nocapture
