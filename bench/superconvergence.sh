#!/usr/bin/env bash
# Super-convergence on real data (issue 7): the LR range test, 1cycle with the range test's
# max_lr for 1, 2 and 3 epochs, constant / multistep baselines for 12 epochs, CLR and SGDR for
# 7 epochs (1 + 2 + 4) and a brute-force grid of 1cycle max_lr values, all with lrate's own
# trainer (SGD with Nesterov momentum 0.9, weight decay 5e-4, batch 128), then the report.
# The range test and the 1cycle --max-lr auto runs (the "auto rows") run once per seed of
# AUTO_SEEDS and are reported as mean +- sample sd; the baselines, CLR/SGDR and the grid run
# once, at SEED (the time budget).
#
#   bash bench/superconvergence.sh                                # Fashion-MNIST, cnn-s
#   DATA=fashion-mnist:/path/to/fashion-mnist bash bench/superconvergence.sh
#   DATA=cifar10:/path/to/cifar-10-batches-bin MODEL=resnet9 bash bench/superconvergence.sh
#   QUICK=1 bash bench/superconvergence.sh                        # smoke test: subsets, short runs
#
# Flags (each also an environment variable): --quick (QUICK=1), --data SPEC (DATA),
# --model NAME (MODEL), --out DIR (OUT), --report-dir DIR (REPORT_DIR), --epoch-scale X
# (EPOCH_SCALE: multiplies every epoch count, rounded up, at least 1), --no-report.
# Other environment variables:
#   LRATE           the lrate binary (default: build it with `cargo build --release -p lrate`)
#   BATCH           mini-batch size (default 128)
#   DEFAULT_LR      the "common default" constant lr, also multistep's initial lr (default 0.05)
#   GRID            1cycle max_lr grid (default "0.05 0.1 0.2 0.4 0.8 1.6")
#   ONECYCLE_EPOCHS 1cycle lengths with --max-lr auto (default "1 2 3")
#   BASELINE_EPOCHS constant / multistep length (default 12)
#   CYCLIC_EPOCHS   CLR / SGDR length (default 7 = 1 + 2 + 4 SGDR periods)
#   GRID_EPOCHS     grid run length (default 3)
#   NUM_IT          range-test batches (default 100)
#   LIMIT_TRAIN, LIMIT_TEST   use only the first N images (quick mode: 1024 / 512)
#   SEED            seed of weights, shuffles and augmentation of the single-seed runs
#                   (baselines, CLR/SGDR, grid) and of the range-test plot (default 0)
#   AUTO_SEEDS      seeds of the range test and of the 1cycle --max-lr auto runs, each run once
#                   per seed (default "0 1 2"; quick mode "0 1"); SEED's range test runs too
#   EXPERIMENTS     which groups to run (default "find onecycle baselines cyclic grid")
#   DRAFT           1: run on a working tree with uncommitted changes, the report marked DRAFT
# Defaults: DATA=fashion-mnist:/usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist),
# MODEL=cnn-s, OUT=target/superconvergence, REPORT_DIR=docs/results. Quick mode: OUT=
# target/superconvergence-quick, REPORT_DIR=OUT/report, 1024/512 images, NUM_IT=30, 1cycle for
# 1 and 2 epochs, AUTO_SEEDS "0 1", baselines 2, CLR/SGDR 3, grid "0.1 0.4" for 1 epoch (each
# overridable).
# Run names: find-sS (in OUT/find-sS), onecycle-auto-Nep-sS (S the seed), and, at SEED,
# constant-*, multistep-*, clr-auto-*, sgdr-auto-*, grid-onecycle-* (in OUT/runs/NAME).
#
# Provenance (issue 18, bench/provenance.py): the script refuses a working tree with uncommitted
# changes (exit 2) unless DRAFT=1, which marks the report DRAFT; quick mode (the smoke test of
# tests/superconvergence_smoke.rs, on a fresh clone or a working copy) never refuses, it only
# marks a dirty tree's report DRAFT. Each invocation records its commit in OUT/experiment.json.
#
# Resumable: every run writes its directory's result.json when it is done (finished or diverged);
# a second invocation skips those, continues a run that was stopped mid-way from its checkpoint
# (lrate train --resume), and starts the rest. Ctrl-C stops the current run with a checkpoint.
set -euo pipefail
# The whole script is one function, read before it runs: editing this file (or a git pull) while
# an experiment runs cannot change what the running shell executes.
main() {
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# The command as invoked (settings given by environment variables first), for the report.
SC_COMMAND=""
for v in QUICK DATA MODEL OUT REPORT_DIR EPOCH_SCALE BATCH DEFAULT_LR GRID ONECYCLE_EPOCHS \
         BASELINE_EPOCHS CYCLIC_EPOCHS GRID_EPOCHS NUM_IT LIMIT_TRAIN LIMIT_TEST SEED AUTO_SEEDS \
         EXPERIMENTS; do
  if [ -n "${!v+x}" ]; then SC_COMMAND+="$v=$(printf '%q' "${!v}") "; fi
done
SC_COMMAND+="bash bench/superconvergence.sh"
if [ $# -gt 0 ]; then SC_COMMAND+=$(printf ' %q' "$@"); fi
export SC_COMMAND

NO_REPORT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --data) DATA=$2; shift ;;
    --model) MODEL=$2; shift ;;
    --out) OUT=$2; shift ;;
    --report-dir) REPORT_DIR=$2; shift ;;
    --epoch-scale) EPOCH_SCALE=$2; shift ;;
    --no-report) NO_REPORT=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "superconvergence.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

QUICK=${QUICK:-0}
DATA=${DATA:-fashion-mnist:/usr/share/datasets/fashion-mnist}
MODEL=${MODEL:-cnn-s}
BATCH=${BATCH:-128}
SEED=${SEED:-0}
DEFAULT_LR=${DEFAULT_LR:-0.05}
EPOCH_SCALE=${EPOCH_SCALE:-1}
EXPERIMENTS=${EXPERIMENTS:-find onecycle baselines cyclic grid}
if [ "$QUICK" = 1 ]; then
  # Same experiment list and code path, on subsets and with shorter runs.
  OUT=${OUT:-target/superconvergence-quick}
  REPORT_DIR=${REPORT_DIR:-$OUT/report}
  LIMIT_TRAIN=${LIMIT_TRAIN:-1024}
  LIMIT_TEST=${LIMIT_TEST:-512}
  NUM_IT=${NUM_IT:-30}
  AUTO_SEEDS=${AUTO_SEEDS:-0 1}
  ONECYCLE_EPOCHS=${ONECYCLE_EPOCHS:-1 2}
  BASELINE_EPOCHS=${BASELINE_EPOCHS:-2}
  CYCLIC_EPOCHS=${CYCLIC_EPOCHS:-3}
  GRID_EPOCHS=${GRID_EPOCHS:-1}
  GRID=${GRID:-0.1 0.4}
else
  OUT=${OUT:-target/superconvergence}
  REPORT_DIR=${REPORT_DIR:-docs/results}
  LIMIT_TRAIN=${LIMIT_TRAIN:-}
  LIMIT_TEST=${LIMIT_TEST:-}
  NUM_IT=${NUM_IT:-100}
  AUTO_SEEDS=${AUTO_SEEDS:-0 1 2}
  ONECYCLE_EPOCHS=${ONECYCLE_EPOCHS:-1 2 3}
  BASELINE_EPOCHS=${BASELINE_EPOCHS:-12}
  CYCLIC_EPOCHS=${CYCLIC_EPOCHS:-7}
  GRID_EPOCHS=${GRID_EPOCHS:-3}
  GRID=${GRID:-0.05 0.1 0.2 0.4 0.8 1.6}
fi

scale() { python3 -c "import math,sys; print(max(1, math.ceil(float(sys.argv[1]) * float(sys.argv[2]) - 1e-9)))" "$1" "$EPOCH_SCALE"; }
ONECYCLE_EPOCHS=$(for e in $ONECYCLE_EPOCHS; do scale "$e"; done | sort -un | xargs)
BASELINE_EPOCHS=$(scale "$BASELINE_EPOCHS")
CYCLIC_EPOCHS=$(scale "$CYCLIC_EPOCHS")
GRID_EPOCHS=$(scale "$GRID_EPOCHS")

# Seeds: non-negative integers; AUTO_SEEDS without repeats, in its order.
is_seed() { case "$1" in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac; }
is_seed "$SEED" || { echo "superconvergence.sh: SEED '$SEED' is not a non-negative integer" >&2; exit 2; }
for s in $AUTO_SEEDS; do
  is_seed "$s" || { echo "superconvergence.sh: AUTO_SEEDS: '$s' is not a non-negative integer" >&2; exit 2; }
done
AUTO_SEEDS=$(for s in $AUTO_SEEDS; do echo $((10#$s)); done | awk '!seen[$0]++' | xargs)
SEED=$((10#$SEED))
[ -n "$AUTO_SEEDS" ] || { echo "superconvergence.sh: AUTO_SEEDS is empty" >&2; exit 2; }
# The range tests: one per seed of AUTO_SEEDS, and SEED's (the plot, and the baselines' min_lr).
FIND_SEEDS=$AUTO_SEEDS
case " $AUTO_SEEDS " in *" $SEED "*) ;; *) FIND_SEEDS="$AUTO_SEEDS $SEED" ;; esac

command -v python3 >/dev/null || { echo "superconvergence.sh: python3 is needed (stdlib only)" >&2; exit 2; }
# A report from a dirty tree is not evidence: refuse it (unless DRAFT=1), before any build or run.
# Quick mode is the smoke test, run on any tree: it only marks the report DRAFT.
if [ "$QUICK" = 1 ]; then
  SC_TREE=$(python3 bench/provenance.py check --mark-only --prog superconvergence.sh)
else
  SC_TREE=$(python3 bench/provenance.py check --prog superconvergence.sh) || exit 2
fi
export SC_TREE

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_lrate superconvergence.sh

mkdir -p "$OUT/runs"
OUT=$(cd "$OUT" && pwd)
if [ -d "$OUT/find" ] || compgen -G "$OUT/runs/onecycle-auto-*ep" >/dev/null; then
  log "note: $OUT/find and runs/onecycle-auto-Nep (single-seed names of an older version of this script) are not used"
fi
CONFIG=$OUT/sgd-nesterov.toml
# Nesterov is a config-file option of lrate (no flag); everything else is given as flags.
cat > "$CONFIG" <<EOF
# Written by bench/superconvergence.sh: the optimizer of every run.
[optimizer]
kind = "sgd"
momentum = 0.9        # used where the schedule does not set momentum (constant, multistep, SGDR)
nesterov = true
weight_decay = 5e-4
EOF

# The seed is not common: run() gives each run its own.
COMMON=(--config "$CONFIG" --data "$DATA" --model "$MODEL" --batch "$BATCH"
        --num-it "$NUM_IT" --no-progress)
[ -n "$LIMIT_TRAIN" ] && COMMON+=(--limit-train "$LIMIT_TRAIN")
[ -n "$LIMIT_TEST" ] && COMMON+=(--limit-test "$LIMIT_TEST")

# The settings of this experiment, for the report.
python3 - "$OUT/experiment.json" <<PY
import json, os, platform, subprocess, sys, time
sys.path.insert(0, "$ROOT/bench")
import provenance
def sh(c):
    try:
        return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return ""
cpu = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
mem = ""
try:
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = line.split(":", 1)[1].strip(); break
except OSError:
    pass
path = sys.argv[1]
old = {}
if os.path.exists(path):
    try:
        old = json.load(open(path))
    except ValueError:
        old = {}
invocations = old.get("invocations", [])
prov = provenance.provenance(lrate="$LRATE", draft=os.environ.get("SC_TREE") == "draft")
git = prov["commit"]  # the plain sha; "dirty" and "draft" say whether the tree was committed
invocations.append({"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "loadavg_at_start": sh("cut -d' ' -f1-3 /proc/loadavg"), "git": git,
                    "commit": git, "dirty": prov["dirty"], "draft": prov["draft"],
                    "lrate_version": sh("'$LRATE' --version")})
json.dump({
    "command": os.environ.get("SC_COMMAND") or "bash bench/superconvergence.sh",
    "quick": "$QUICK" == "1",
    "data": "$DATA", "model": "$MODEL", "batch": int("$BATCH"), "seed": int("$SEED"),
    "auto_seeds": [int(s) for s in "$AUTO_SEEDS".split()],
    "optimizer": "SGD, Nesterov momentum 0.9 (cycled where the schedule cycles it), weight decay 5e-4",
    "default_lr": float("$DEFAULT_LR"), "num_it": int("$NUM_IT"),
    "limit_train": int("$LIMIT_TRAIN") if "$LIMIT_TRAIN" else None,
    "limit_test": int("$LIMIT_TEST") if "$LIMIT_TEST" else None,
    "onecycle_epochs": [int(e) for e in "$ONECYCLE_EPOCHS".split()],
    "baseline_epochs": int("$BASELINE_EPOCHS"), "cyclic_epochs": int("$CYCLIC_EPOCHS"),
    "grid_epochs": int("$GRID_EPOCHS"), "grid": [float(g) for g in "$GRID".split()],
    "lrate": "$LRATE", "lrate_version": sh("'$LRATE' --version"),
    "git": old.get("git") or git,  # of the first invocation; each invocation records its own
    "machine": {"nproc": int(sh("nproc") or 0), "cpu": cpu, "memory": mem,
                "os": platform.platform(), "rust": sh("rustc --version")},
    "invocations": invocations,
}, open(path, "w"), indent=2)
PY

# Records a run's outcome as result.json. $1 dir, $2 exit status, $3 stdout file, $4 stderr file,
# $5 wall seconds of this invocation.
record() {
  python3 - "$@" <<'PY'
import json, os, sys
d, rc, out, err, wall = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
lines = [l for l in open(out).read().splitlines() if l.strip().startswith("{")]
errtext = open(err).read()
res = None
if rc == 0 and lines:
    res = json.loads(lines[-1]); res["status"] = "ok"
elif "training diverged" in errtext:
    msg = [l for l in errtext.splitlines() if "training diverged" in l]
    res = {"status": "diverged", "test_acc": None, "error": msg[-1].strip() if msg else ""}
if res is None:
    sys.exit(1)
res["wall_seconds_last_invocation"] = wall
tmp = os.path.join(d, "result.json.tmp")
json.dump(res, open(tmp, "w"), indent=2)
os.replace(tmp, os.path.join(d, "result.json"))
PY
}

FAILED=0
# run NAME SEED ARGS...: one `lrate train --seed SEED` (or `lrate find` when NAME is find-sS, in
# OUT/NAME), skipped when done.
run() {
  local name=$1 seed=$2; shift 2
  local dir=$OUT/runs/$name find=0
  case "$name" in find-s*) dir=$OUT/$name; find=1 ;; esac
  if [ -f "$dir/result.json" ]; then log "skip $name (done: $dir/result.json)"; return 0; fi
  mkdir -p "$dir"
  local cmd
  if [ "$find" = 0 ] && [ -f "$dir/checkpoint.safetensors" ]; then
    cmd=("$LRATE" train --resume --out "$dir" --no-progress)
    log "resume $name"
  elif [ "$find" = 1 ]; then
    cmd=("$LRATE" find "${COMMON[@]}" --seed "$seed" --out "$dir" --overwrite "$@")
    log "start $name"
  else
    cmd=("$LRATE" train "${COMMON[@]}" --seed "$seed" --out "$dir" --overwrite "$@")
    log "start $name"
  fi
  printf '%q ' "${cmd[@]}" > "$dir/command.txt"; echo >> "$dir/command.txt"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  # stderr is appended, so that the log of a resumed run keeps its first part.
  echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) ${cmd[*]}" >> "$dir/stderr.txt"
  "${cmd[@]}" > "$dir/stdout.txt" 2>> "$dir/stderr.txt" || rc=$?
  t1=$(date +%s.%N)
  local wall
  wall=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$t1")
  if [ "$rc" = 130 ]; then log "interrupted: $name (rerun the script to continue)"; exit 130; fi
  if record "$dir" "$rc" "$dir/stdout.txt" "$dir/stderr.txt" "$wall"; then
    log "done $name: $(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['status'], 'test_acc', r.get('test_acc'))" "$dir/result.json") (${wall%.*} s)"
  else
    log "FAILED $name (exit $rc); see $dir/stderr.txt:"; tail -n 5 "$dir/stderr.txt" >&2
    FAILED=$((FAILED + 1))
  fi
}

has() { case " $EXPERIMENTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# 1. The range test (plot, every suggestion, the bounds), once per seed; the baselines need
#    only SEED's.
if has find; then
  for s in $FIND_SEEDS; do run "find-s$s" "$s"; done
elif has baselines; then
  run "find-s$SEED" "$SEED"
fi
MIN_LR=""
if [ -f "$OUT/find-s$SEED/lr_find.json" ]; then
  MIN_LR=$(python3 -c "import json,sys; b=json.load(open(sys.argv[1])).get('bounds'); print(repr(b['min_lr']) if b else '')" "$OUT/find-s$SEED/lr_find.json")
fi

# 2. 1cycle with the range test's max_lr (--max-lr auto: the test runs inside each run), once
#    per seed.
if has onecycle; then
  for s in $AUTO_SEEDS; do
    for e in $ONECYCLE_EPOCHS; do
      run "onecycle-auto-${e}ep-s$s" "$s" --schedule onecycle --max-lr auto --epochs "$e"
    done
  done
fi

# 3. Baselines, evaluated after every epoch.
if has baselines; then
  if [ -n "$MIN_LR" ]; then
    run "constant-minlr-${BASELINE_EPOCHS}ep" "$SEED" --schedule constant --max-lr "$MIN_LR" --epochs "$BASELINE_EPOCHS"
  else
    log "no range-test bounds: skipping the constant-at-min_lr baseline"; FAILED=$((FAILED + 1))
  fi
  run "multistep-${DEFAULT_LR}-${BASELINE_EPOCHS}ep" "$SEED" --schedule multistep --max-lr "$DEFAULT_LR" --epochs "$BASELINE_EPOCHS"
  run "constant-${DEFAULT_LR}-${BASELINE_EPOCHS}ep" "$SEED" --schedule constant --max-lr "$DEFAULT_LR" --epochs "$BASELINE_EPOCHS"
fi

# 5. Grid of 1cycle max_lr values (brute force against the range test).
if has grid; then
  for lr in $GRID; do
    run "grid-onecycle-${lr}-${GRID_EPOCHS}ep" "$SEED" --schedule onecycle --max-lr "$lr" --epochs "$GRID_EPOCHS"
  done
fi

# 4. CLR (triangular, between the range test's bounds, two cycles) and SGDR (T_0 = 1 epoch, T_mult 2).
if has cyclic; then
  run "clr-auto-${CYCLIC_EPOCHS}ep" "$SEED" --schedule clr --max-lr auto --epochs "$CYCLIC_EPOCHS"
  run "sgdr-auto-${CYCLIC_EPOCHS}ep" "$SEED" --schedule sgdr --max-lr auto --epochs "$CYCLIC_EPOCHS"
fi

python3 - "$OUT/experiment.json" <<'PY'
import json, sys, time
p = sys.argv[1]; e = json.load(open(p))
e["invocations"][-1]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
e["invocations"][-1]["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
json.dump(e, open(p, "w"), indent=2)
PY

if [ "$NO_REPORT" = 0 ]; then
  python3 bench/superconvergence_report.py --out "$OUT" --report-dir "$REPORT_DIR"
fi
if [ "$FAILED" -gt 0 ]; then
  log "$FAILED run(s) failed; rerun the script to retry them"
  exit 1
fi
}

main "$@"
