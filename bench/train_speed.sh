#!/usr/bin/env bash
# Training throughput, lrate vs PyTorch, side by side in one invocation (issue 6).
#
#   bash bench/train_speed.sh            # cnn-s and resnet9, batch 128, all cores
#   STEPS=50 RESNET_STEPS=5 THREADS=2 bash bench/train_speed.sh
#
# Same nets, same optimizer (SGD, Nesterov momentum 0.9, weight decay 5e-4), same batch, same
# input shape and the same thread count for both. Prints img/s, the lrate/PyTorch ratio, peak RSS
# and CPU/wall (cores busy). PyTorch is installed into a virtualenv under target/ when missing.
# A benchmark, not a test: compare the ratios of one run; the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-$(nproc)}
BATCH=${BATCH:-128}
STEPS=${STEPS:-50}
RESNET_STEPS=${RESNET_STEPS:-4}
VENV=target/bench-venv
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch
fi
cargo build -q --release -p lrate --example speed
SPEED=target/release/examples/speed
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS

# Runs a command under GNU-time-like accounting: prints "wall cpu peak_rss_mib" after its output.
measure() {
  python3 - "$@" <<'PY'
import os, resource, subprocess, sys, time
t = time.perf_counter()
out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True).stdout
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(out.strip())
print(f"MEASURE wall={wall:.2f} cpu={ru.ru_utime + ru.ru_stime:.2f} peak_rss_mib={ru.ru_maxrss / 1024:.0f}")
PY
}

# Value of `key=value` where key is a whole word (so img_per_s does not match eval_img_per_s).
field() { sed -n "s/^\(.*[ {]\)\{0,1\}$1=\([^ ,}]*\).*/\2/p" | head -n 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads=$THREADS batch=$BATCH"
printf '%-8s %-8s %12s %12s %10s\n' model impl img/s peak_MiB cpu/wall
for model in cnn-s resnet9; do
  steps=$STEPS; [ "$model" = resnet9 ] && steps=$RESNET_STEPS
  lr_out=$(measure "$SPEED" --model "$model" --batch "$BATCH" --steps "$steps" --warmup 2)
  pt_out=$(measure "$VENV/bin/python" bench/torch_ref.py --model "$model" --batch "$BATCH" --steps "$steps" --warmup 2 --threads "$THREADS" 2>/dev/null)
  lr_ips=$(echo "$lr_out" | field img_per_s)
  pt_ips=$(echo "$pt_out" | tr -d '"' | sed 's/: /=/g' | field img_per_s)
  lr_rss=$(echo "$lr_out" | grep MEASURE | field peak_rss_mib)
  pt_rss=$(echo "$pt_out" | grep MEASURE | field peak_rss_mib)
  lr_cpu=$(echo "$lr_out" | field 'cpu\/wall')
  pt_cpu=$(echo "$pt_out" | tr -d '"' | sed 's/: /=/g' | field cpu_per_wall | xargs printf '%.2f')
  printf '%-8s %-8s %12.1f %12s %10s\n' "$model" lrate "$lr_ips" "$lr_rss" "$lr_cpu"
  printf '%-8s %-8s %12.1f %12s %10s   (RSS: whole process)\n' "$model" pytorch "$pt_ips" "$pt_rss" "$pt_cpu"
  python3 -c "print(f'$model ratio lrate/pytorch img/s = {$lr_ips/$pt_ips:.2f}; peak RSS ratio = {$lr_rss/$pt_rss:.2f}')"
done
