#!/usr/bin/env bash
# Issue 14: a network written as a model file trains at the built-in's speed wherever its
# layers match the fused native conv-BN-ReLU(-pool) block. Runs the speed example on the
# built-in cnn-s and on host/examples/my_cnn.toml (the same layers, written as a user would:
# no tensor names) ROUNDS times each, alternating, in one invocation, and prints img/s of
# each run and the ratio file/built-in (mean ± sd over the rounds).
#
#   ROUNDS=3 BATCH=128 STEPS=30 bash bench/model_file_speed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
BATCH=${BATCH:-128}
STEPS=${STEPS:-30}
cargo build -q --release -p lrate --example speed
SPEED="${CARGO_TARGET_DIR:-$(pwd)/target}/release/examples/speed"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (dirty)')"
out=$(mktemp)
for r in $(seq "$ROUNDS"); do
  for m in cnn-s host/examples/my_cnn.toml; do
    line=$("$SPEED" --model "$m" --batch "$BATCH" --steps "$STEPS")
    echo "round $r $m: $line"
    echo "$r $m $(sed -E 's/.*img_per_s=([0-9.]+).*/\1/' <<<"$line")" >> "$out"
  done
done
python3 - "$out" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for r, m, v in rows:
    by.setdefault(r, {})[m] = float(v)
ratios = [d["host/examples/my_cnn.toml"] / d["cnn-s"] for d in by.values()]
sd = statistics.stdev(ratios) if len(ratios) > 1 else 0.0
print(f"model file / built-in cnn-s img/s: {statistics.mean(ratios):.3f} ± {sd:.3f} over {len(ratios)} rounds")
PY
rm -f "$out"
