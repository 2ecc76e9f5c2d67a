#!/usr/bin/env bash
# The README's main-job figures (issue 18): the main job, `cargo run --release -p lrate` with no
# arguments (the range test on cnn-s, then 8 epochs of 1cycle at its pick, on the built-in
# synthetic data: 20 000 training / 2 000 test images), once per seed of SEEDS, and beside it
# two runs of the same length that the README compares it with: a constant lr 0.1 and 1cycle
# at max_lr 0.003. Then the report: docs/results/main_job.md and docs/results/main_job.json
# (bench/readme_figures_report.py, Python stdlib): test accuracy per seed and mean ± sd per
# row, the range test's max_lr per seed, wall seconds per run, commit, CPU, nproc.
#
#   bash bench/readme_figures.sh                  # 3 seeds × 3 rows, about 10 minutes on 2 cores
#   QUICK=1 bash bench/readme_figures.sh          # smoke test: 512 / 256 images, 1 epoch, 2 seeds
#   LRATE=/path/to/lrate DRAFT=1 QUICK=1 bash bench/readme_figures.sh
#
# The main job takes no flags, so each seed runs its explicit equivalent
#   lrate train --seed S --out OUT/runs/main-8ep-sS --no-progress
# `lrate` without a command runs `train` with every option at its default (host/src/app.rs:
# `Command::Train(Box::<TrainArgs>::default())`), which is what `lrate train` parses to; the
# default seed is 0 (host/src/config.rs: `a.seed.or(f.run.seed).unwrap_or(0)`), so seed 0's
# run *is* the main job; --out only moves the outputs (default runs/lrate) and --no-progress
# only hides the progress bar (host/src/progress.rs). The other rows add
#   --schedule constant --max-lr CONST_LR --epochs EPOCHS    (SGD, momentum 0.9, wd 5e-4)
#   --schedule onecycle --max-lr LOW_LR --epochs EPOCHS
#
# Environment variables:
#   SEEDS        seeds (default "0 1 2"; quick "0 1"); 0 is the main job's own seed
#   EPOCHS       run length (default 8, the main job's on synthetic data; quick 1). The main
#                row passes --epochs only when it differs from 8
#   LIMIT_TRAIN, LIMIT_TEST   image subsets (default: none, the main job's 20 000 / 2 000;
#                quick 512 / 256)
#   NUM_IT       range-test batches per sweep (default: lrate's, 100; quick 60: with 30 the
#                quick range test's loss falls too little for a pick)
#   CONST_LR     the constant row's lr (default 0.1); LOW_LR the low 1cycle row's (default 0.003)
#   ROWS         which rows (default "main constant onecycle-low")
#   OUT          work directory (default target/readme-figures; quick target/readme-figures-quick)
#   REPORT_DIR   report directory (default docs/results; quick OUT/report)
#   LRATE        the lrate binary (default: build it with `cargo build --release -p lrate`)
#   DRAFT        1: run on a working tree with uncommitted changes, the report marked DRAFT
# Provenance (bench/provenance.py): a working tree with uncommitted changes is refused (exit 2)
# unless DRAFT=1; every invocation's commit is recorded in OUT/experiment.json.
# Resumable: a run with a result.json is skipped; rerun the script to continue.
set -euo pipefail
main() {
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# The command as invoked (settings given by environment variables first, paths hidden).
RF_COMMAND=""
for v in QUICK SEEDS EPOCHS LIMIT_TRAIN LIMIT_TEST NUM_IT CONST_LR LOW_LR ROWS DRAFT; do
  if [ -n "${!v+x}" ]; then RF_COMMAND+="$v=$(printf '%q' "${!v}") "; fi
done
for v in OUT REPORT_DIR LRATE; do
  if [ -n "${!v+x}" ]; then RF_COMMAND+="$v=... "; fi
done
export RF_COMMAND="${RF_COMMAND}bash bench/readme_figures.sh"

QUICK=${QUICK:-0}
MAIN_EPOCHS=8   # the main job's length on the synthetic data (host/src/config.rs default_epochs)
CONST_LR=${CONST_LR:-0.1}
LOW_LR=${LOW_LR:-0.003}
ROWS=${ROWS:-main constant onecycle-low}
if [ "$QUICK" = 1 ]; then
  SEEDS=${SEEDS:-0 1}; EPOCHS=${EPOCHS:-1}; LIMIT_TRAIN=${LIMIT_TRAIN:-512}
  LIMIT_TEST=${LIMIT_TEST:-256}; NUM_IT=${NUM_IT:-60}; OUT=${OUT:-target/readme-figures-quick}
  REPORT_DIR=${REPORT_DIR:-$OUT/report}
else
  SEEDS=${SEEDS:-0 1 2}; EPOCHS=${EPOCHS:-$MAIN_EPOCHS}; LIMIT_TRAIN=${LIMIT_TRAIN:-}
  LIMIT_TEST=${LIMIT_TEST:-}; NUM_IT=${NUM_IT:-}; OUT=${OUT:-target/readme-figures}
  REPORT_DIR=${REPORT_DIR:-docs/results}
fi
for s in $SEEDS; do
  case "$s" in ''|*[!0-9]*) echo "readme_figures.sh: SEEDS: '$s' is not a non-negative integer" >&2; exit 2 ;; esac
done
for r in $ROWS; do
  case "$r" in main|constant|onecycle-low) ;; *) echo "readme_figures.sh: unknown row '$r'" >&2; exit 2 ;; esac
done
command -v python3 >/dev/null || { echo "readme_figures.sh: python3 is needed (stdlib only)" >&2; exit 2; }
# Before any build or run: a report from a dirty tree is refused unless DRAFT=1.
RF_TREE=$(python3 bench/provenance.py check --prog readme_figures.sh) || exit 2
export RF_TREE
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_lrate readme_figures.sh
mkdir -p "$OUT/runs"
OUT=$(cd "$OUT" && pwd)

# Flags every row shares (none in the default study: the main job's own settings).
EXTRA=(--no-progress)
[ -n "$LIMIT_TRAIN" ] && EXTRA+=(--limit-train "$LIMIT_TRAIN")
[ -n "$LIMIT_TEST" ] && EXTRA+=(--limit-test "$LIMIT_TEST")
[ -n "$NUM_IT" ] && EXTRA+=(--num-it "$NUM_IT")
MAIN_LEN=()
[ "$EPOCHS" != "$MAIN_EPOCHS" ] && MAIN_LEN=(--epochs "$EPOCHS")

# The settings, and this invocation with its provenance, for the report.
python3 - "$OUT/experiment.json" <<PY
import json, os, sys, time
sys.path.insert(0, "$ROOT/bench")
import provenance
path = sys.argv[1]
old = {}
if os.path.exists(path):
    try:
        old = json.load(open(path))
    except ValueError:
        old = {}
prov = provenance.provenance(lrate="$LRATE", draft=os.environ.get("RF_TREE") == "draft")
inv = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": prov["commit"],
       "dirty": prov["dirty"], "draft": prov["draft"], "lrate_version": prov.get("lrate_version"),
       "loadavg_at_start": " ".join(open("/proc/loadavg").read().split()[:3]), "provenance": prov}
json.dump({"command": os.environ["RF_COMMAND"], "quick": "$QUICK" == "1",
           "seeds": [int(s) for s in "$SEEDS".split()], "epochs": int("$EPOCHS"),
           "main_epochs": int("$MAIN_EPOCHS"), "const_lr": float("$CONST_LR"),
           "low_lr": float("$LOW_LR"), "rows": "$ROWS".split(),
           "limit_train": int("$LIMIT_TRAIN") if "$LIMIT_TRAIN" else None,
           "limit_test": int("$LIMIT_TEST") if "$LIMIT_TEST" else None,
           "num_it": int("$NUM_IT") if "$NUM_IT" else None,
           "invocations": old.get("invocations", []) + [inv]}, open(path, "w"), indent=2)
PY

has() { case " $ROWS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

for s in $SEEDS; do
  d=$OUT/runs/main-${EPOCHS}ep-s$s
  has main && bench_run "$d" train --seed "$s" --out "$d" --overwrite "${EXTRA[@]}" ${MAIN_LEN[@]+"${MAIN_LEN[@]}"}
  d=$OUT/runs/constant-$CONST_LR-${EPOCHS}ep-s$s
  has constant && bench_run "$d" train --seed "$s" --out "$d" --overwrite "${EXTRA[@]}" --schedule constant \
    --max-lr "$CONST_LR" --epochs "$EPOCHS"
  d=$OUT/runs/onecycle-$LOW_LR-${EPOCHS}ep-s$s
  has onecycle-low && bench_run "$d" train --seed "$s" --out "$d" --overwrite "${EXTRA[@]}" --schedule onecycle \
    --max-lr "$LOW_LR" --epochs "$EPOCHS"
done

python3 - "$OUT/experiment.json" <<'PY'
import json, sys, time
p = sys.argv[1]; e = json.load(open(p))
e["invocations"][-1]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
e["invocations"][-1]["loadavg_at_end"] = " ".join(open("/proc/loadavg").read().split()[:3])
json.dump(e, open(p, "w"), indent=2)
PY
python3 bench/readme_figures_report.py --out "$OUT" --report-dir "$REPORT_DIR"
if [ "$FAILED" -gt 0 ]; then log "$FAILED run(s) failed"; exit 1; fi
}
main "$@"
