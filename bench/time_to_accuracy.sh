#!/usr/bin/env bash
# Time to accuracy, lrate's workflow vs PyTorch's, in one invocation (issue 16): the figure a
# user feels. Writes docs/results/time_to_accuracy.{md,json}.
#
#   bash bench/time_to_accuracy.sh
#   DATA=fashion-mnist:/path/to/fashion-mnist THREADS=2 bash bench/time_to_accuracy.sh
#
# On Fashion-MNIST with cnn-s, batch 128, SGD (Nesterov momentum 0.9, weight decay 5e-4),
# 3 epochs, the same thread count for both, ROUNDS times with the order alternating:
#   - lrate: `lrate train --max-lr auto` (its range test, then 1cycle at the pick);
#   - PyTorch: torch-lr-finder's range test and suggestion, then OneCycleLR at the suggestion
#     (bench/tta_torch.py, the same net).
# Prints the wall time of each from the start of the process to the first epoch whose test
# accuracy is >= TARGET (evaluation included), and
#   ratio pytorch/lrate time-to-91 = X
# (bench/time_to_accuracy.py, Python stdlib; the torch side needs torch, torch-lr-finder and
# matplotlib, installed into VENV when missing).
#
# Provenance (bench/provenance.py): refuses a working tree with uncommitted changes (exit 2)
# unless DRAFT=1, which marks the report DRAFT.
#
# Environment variables:
#   DATA        fashion-mnist:DIR (default fashion-mnist:/usr/share/datasets/fashion-mnist,
#               Debian's dataset-fashion-mnist; as bench/superconvergence.sh)
#   THREADS     threads of both sides (default: nproc)
#   EPOCHS      1cycle length in epochs (default 3); TARGET test accuracy in % (default 91.0)
#   ROUNDS      runs of each side (default 3)
#   NUM_IT      range-test batches of both sides (default 100, both tools' default)
#   REPORT_DIR  report directory (default docs/results)
#   LRATE       the lrate binary (default: `cargo build --release -p lrate`)
#   VENV        the virtualenv with torch (default target/bench-venv)
#   TORCH_PIN   the PyTorch major.minor (default 2.15); TORCH_LR_FINDER_PIN (default 0.2.2)
#   DRAFT       1: run on a working tree with uncommitted changes, the report marked DRAFT
set -euo pipefail
main() {
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
COMMAND=$(bench_command time_to_accuracy.sh \
  "DATA THREADS EPOCHS TARGET ROUNDS NUM_IT TORCH_PIN TORCH_LR_FINDER_PIN DRAFT" \
  "REPORT_DIR LRATE VENV")

DATA=${DATA:-fashion-mnist:/usr/share/datasets/fashion-mnist}
THREADS=${THREADS:-$(nproc)}
EPOCHS=${EPOCHS:-3}
TARGET=${TARGET:-91.0}
ROUNDS=${ROUNDS:-3}
NUM_IT=${NUM_IT:-100}
REPORT_DIR=${REPORT_DIR:-docs/results}
VENV=${VENV:-target/bench-venv}
TORCH_PIN=${TORCH_PIN:-2.15}
TORCH_LR_FINDER_PIN=${TORCH_LR_FINDER_PIN:-0.2.2}
command -v python3 >/dev/null || { echo "time_to_accuracy.sh: python3 is needed" >&2; exit 2; }
case "$DATA" in
  fashion-mnist:*) [ -d "${DATA#*:}" ] || { echo "time_to_accuracy.sh: DATA=$DATA: no such directory" >&2; exit 2; } ;;
  *) echo "time_to_accuracy.sh: DATA must be fashion-mnist:DIR (got '$DATA')" >&2; exit 2 ;;
esac
TREE=$(python3 bench/provenance.py check --prog time_to_accuracy.sh) || exit 2

have_torch() {
  "$VENV/bin/python" -c "import torch, torch_lr_finder, matplotlib, numpy, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_PIN.') else 1)" 2>/dev/null
}
if ! have_torch; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  echo "installing torch==$TORCH_PIN.*, torch-lr-finder==$TORCH_LR_FINDER_PIN into $VENV" >&2
  "$VENV/bin/pip" install -q "torch==$TORCH_PIN.*" "torch-lr-finder==$TORCH_LR_FINDER_PIN" numpy matplotlib
  have_torch || { echo "time_to_accuracy.sh: torch $TORCH_PIN with torch-lr-finder could not be installed into $VENV" >&2; exit 2; }
fi
bench_lrate time_to_accuracy.sh

draft=()
[ "$TREE" = draft ] && draft=(--draft)
python3 bench/time_to_accuracy.py --lrate "$LRATE" --python "$VENV/bin/python" --data "$DATA" \
  --threads "$THREADS" --epochs "$EPOCHS" --target "$TARGET" --rounds "$ROUNDS" \
  --num-it "$NUM_IT" --report-dir "$REPORT_DIR" --command "$COMMAND" ${draft[@]+"${draft[@]}"}
}
main "$@"
