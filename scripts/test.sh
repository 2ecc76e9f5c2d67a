#!/usr/bin/env bash
# The test command from the README: every unit, property, parity, trainer and QEMU test,
# then the Python package's tests.
#
# First scripts/tools.sh installs what the firmware, super-convergence and Python tests
# need when it is missing (the Python venv with torch under target/). Nothing is left out:
# a test whose tools are missing fails rather than passing unrun.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
source scripts/tools.sh

cargo test --workspace --exclude lrate-python -- --nocapture

# The Python package (PyO3 + maturin): built and installed into the venv, then pytest. The
# tests run from python/tests, so they import the installed package, not the source tree.
PATH="$PWD/$PY_VENV/bin:$PATH" "$PY_VENV/bin/pip" install -q --no-build-isolation ./python
(cd python && OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "../$PY_VENV/bin/pytest" -q -s tests)
