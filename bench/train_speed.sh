#!/usr/bin/env bash
# Training throughput, lrate vs PyTorch, side by side in one invocation (issue 6), with its
# report (issue 18): docs/results/train_speed.md and docs/results/train_speed.json.
#
#   bash bench/train_speed.sh            # cnn-s and resnet9, batch 128, all cores, 3 repeats
#   STEPS=50 RESNET_STEPS=5 THREADS=2 bash bench/train_speed.sh
#   REPORT_DIR=/tmp/speed SPEED=target/release/examples/speed bash bench/train_speed.sh
#
# Same nets, same optimizer (SGD, Nesterov momentum 0.9, weight decay 5e-4), same batch, same
# input shape and the same thread count for both. Prints the CPU model, the instruction set the
# gemm crate dispatched to and the machine's GEMM peak (`speed --gemm-peak`, the same gemm
# crate, 2048² f32, at the start and the end). Per model, REPEATS pairs of runs (lrate's
# `speed` example, bench/torch_ref.py), their order alternating; prints img/s, the
# lrate/PyTorch ratio, peak RSS, CPU/wall (cores busy) and evaluation img/s of every run, then
#   MODEL ratio lrate/pytorch img/s = X ± sd; peak RSS ratio = Y; gemm fraction = Z
# (Z: lrate's training FLOP rate over the GEMM peak) and the evaluation ratio; then the peak
# RSS of a Python process that only imports torch. The measuring and the
# report are bench/train_speed.py (Python stdlib). A benchmark, not a test: compare the ratios
# of one invocation; a shared machine is noisy (the report records the load average).
#
# The anchor is pinned: PyTorch 2.15 (TORCH_PIN). It is installed from PyPI (pip install
# "torch==2.15.*") into the virtualenv VENV when the venv lacks torch or has another
# major.minor; the report records the version the runs used.
#
# Provenance (bench/provenance.py): refuses a working tree with uncommitted changes (exit 2)
# unless DRAFT=1, which marks the report DRAFT; the report records commit, CPU and nproc.
#
# Environment variables:
#   THREADS       threads of both sides (RAYON_NUM_THREADS, OMP_NUM_THREADS; default: nproc)
#   BATCH         mini-batch size (default 128)
#   STEPS         timed steps of cnn-s (default 50); RESNET_STEPS those of resnet9 (default 4)
#   WARMUP        untimed steps before them (default 2)
#   REPEATS       pairs of runs per model (default 5)
#   MODELS        models (default "cnn-s resnet9")
#   REPORT_DIR    report directory (default docs/results; tests: REPORT_DIR=/tmp/...)
#   SPEED         lrate's speed example (default: build it with
#                 `cargo build -q --release -p lrate --example speed`)
#   VENV          the virtualenv with torch (default target/bench-venv)
#   TORCH_PIN     the PyTorch major.minor to use (default 2.15)
#   ISA           avx2: build the speed example without lrate's `avx512` feature (into
#                 target/isa-avx2), so gemm dispatches to AVX2 + FMA even on an AVX-512 CPU, and
#                 check that it did; PyTorch is held to AVX2 as well (ATEN_CPU_CAPABILITY=avx2,
#                 ONEDNN_MAX_CPU_ISA=AVX2); the report is REPORT_DIR/train_speed_avx2.{md,json}.
#                 Default: the normal build, gemm's run-time choice (AVX-512 where present).
#   REPORT_NAME   the report's file name without extension (default train_speed, or
#                 train_speed_avx2 with ISA=avx2): one report per machine, e.g.
#                 REPORT_NAME=train_speed_zen3 on a second CPU, keeps the first machine's report
#   DRAFT         1: run on a working tree with uncommitted changes, the report marked DRAFT
set -euo pipefail
main() {
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# The command as invoked (settings given by environment variables first, paths hidden).
# shellcheck source=bench/lib.sh
source bench/lib.sh
COMMAND=$(bench_command train_speed.sh \
  "THREADS BATCH STEPS RESNET_STEPS WARMUP REPEATS MODELS TORCH_PIN ISA REPORT_NAME DRAFT" \
  "REPORT_DIR SPEED VENV")

THREADS=${THREADS:-$(nproc)}
BATCH=${BATCH:-128}
STEPS=${STEPS:-50}
RESNET_STEPS=${RESNET_STEPS:-4}
WARMUP=${WARMUP:-2}
REPEATS=${REPEATS:-5}
MODELS=${MODELS:-cnn-s resnet9}
REPORT_DIR=${REPORT_DIR:-docs/results}
VENV=${VENV:-target/bench-venv}
TORCH_PIN=${TORCH_PIN:-2.15}
command -v python3 >/dev/null || { echo "train_speed.sh: python3 is needed" >&2; exit 2; }
# Before any install, build or run: a report from a dirty tree is refused unless DRAFT=1.
TREE=$(python3 bench/provenance.py check --prog train_speed.sh) || exit 2

# The anchor: torch TORCH_PIN.* in VENV.
torch_version() { "$VENV/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null || true; }
found=$(torch_version)
echo "torch in $VENV: ${found:-none}" >&2
if [ "$(echo "$found" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')" != "$TORCH_PIN" ]; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  echo "installing torch==$TORCH_PIN.* into $VENV" >&2
  "$VENV/bin/pip" install -q "torch==$TORCH_PIN.*"
  found=$(torch_version)
  echo "torch in $VENV: ${found:-none}" >&2
  case "$found" in "$TORCH_PIN"|"$TORCH_PIN".*|"$TORCH_PIN"+*) ;;
    *) echo "train_speed.sh: torch $TORCH_PIN could not be installed (found: ${found:-none})" >&2; exit 2 ;;
  esac
fi

ISA=${ISA:-}
isa_args=(--report-name train_speed)
case "$ISA" in
  "") ;;
  avx2)
    isa_args=(--isa avx2+fma --report-name train_speed_avx2)
    # PyTorch held to AVX2 too, as on a CPU without AVX-512: ATen's kernels and oneDNN's.
    export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 ;;
  *) echo "train_speed.sh: ISA must be empty or avx2 (got '$ISA')" >&2; exit 2 ;;
esac
if [ -n "${REPORT_NAME:-}" ]; then
  case "$REPORT_NAME" in
    *[!A-Za-z0-9_-]*) echo "train_speed.sh: REPORT_NAME may hold only letters, digits, _ and - (got '$REPORT_NAME')" >&2; exit 2 ;;
  esac
  isa_args+=(--report-name "$REPORT_NAME")
fi
if [ -z "${SPEED:-}" ]; then
  if [ "$ISA" = avx2 ]; then
    CARGO_TARGET_DIR="$ROOT/target/isa-avx2" cargo build -q --release -p lrate --example speed \
      --no-default-features
    SPEED="$ROOT/target/isa-avx2/release/examples/speed"
  else
    cargo build -q --release -p lrate --example speed
    SPEED="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/speed"
  fi
fi
[ -x "$SPEED" ] || { echo "train_speed.sh: speed example '$SPEED' not found" >&2; exit 2; }
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS

draft=()
[ "$TREE" = draft ] && draft=(--draft)
python3 bench/train_speed.py --speed "$SPEED" --python "$VENV/bin/python" --threads "$THREADS" \
  --batch "$BATCH" --steps "$STEPS" --resnet-steps "$RESNET_STEPS" --warmup "$WARMUP" \
  --repeats "$REPEATS" --models "$MODELS" --report-dir "$REPORT_DIR" --command "$COMMAND" \
  "${isa_args[@]}" ${draft[@]+"${draft[@]}"}
}
main "$@"
