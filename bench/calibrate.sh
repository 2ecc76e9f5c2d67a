#!/usr/bin/env bash
# Calibration study: does `lrate train --max-lr auto` (the pick of `lrate find`) match the best
# point of a grid search of 1cycle max_lr, across tasks, optimizers and seeds? Runs every
# experiment (resumable) and regenerates docs/results/calibration.{md,json} and
# docs/results/calibration_*.svg. The work is done by bench/calibrate.py (Python stdlib only).
#
#   bash bench/calibrate.sh                    # the full study (about 90 minutes on 2 cores)
#   bash bench/calibrate.sh --quick            # smoke test (< 1 minute), report in OUT/report
#   bash bench/calibrate.sh --report-only      # rebuild the report from the cached runs
#   bash bench/calibrate.sh --tasks cnn-s/fmnist/sgd,mlp/mnist/adam
#   bash bench/calibrate.sh --help             # every flag and environment variable
#
# Environment: LRATE names the lrate binary (default: `cargo build --release -p lrate`, then
# target/release/lrate); the rest (OUT, REPORT_DIR, SEEDS, REPEATS, NUM_IT, RULES, ...) is read
# by bench/calibrate.py, see --help. Relative paths are relative to the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v python3 >/dev/null || { echo "calibrate.sh: python3 is needed (stdlib only)" >&2; exit 2; }

report_only=0
for a in "$@"; do
  case "$a" in
    --report-only) report_only=1 ;;
    -h|--help) exec python3 bench/calibrate.py --help ;;
  esac
done

if [ -z "${LRATE:-}" ] && [ "$report_only" = 0 ]; then
  cargo build -q --release -p lrate
  LRATE="${CARGO_TARGET_DIR:-$(pwd)/target}/release/lrate"
fi
if [ -n "${LRATE:-}" ]; then
  [ -x "$LRATE" ] || { echo "calibrate.sh: lrate binary '$LRATE' not found or not executable" >&2; exit 2; }
  export LRATE
fi
# How the study was started, for the report (calibrate.py records the arguments).
export CALIBRATE_ENTRY="bash bench/calibrate.sh"
exec python3 bench/calibrate.py "$@"
