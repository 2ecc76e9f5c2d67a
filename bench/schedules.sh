#!/usr/bin/env bash
# Schedules and optimizers compared (issue 12, part 5): 1cycle (SGD), 1cycle (AdamW), WSD with
# the 1-sqrt decay (SGD), schedule-free SGD and schedule-free AdamW, each for 1, 2 and 3 epochs
# and each over the seeds of SEEDS, on the same data, model and batch; then cooldowns branched
# from one long constant-lr run (lrate train --from --cooldown) against cosine runs of the same
# lengths. Every row's lr comes from `lrate find` with that row's optimizer (run once per
# optimizer and seed); then the report.
#
#   bash bench/schedules.sh                        # Fashion-MNIST (20 000 training images), cnn-s
#   DATA=fashion-mnist:/path/to/fashion-mnist bash bench/schedules.sh
#   QUICK=1 bash bench/schedules.sh                # smoke test: small subsets, 1-2 epochs, 2 seeds
#
# Environment variables:
#   DATA         data spec (default fashion-mnist:/usr/share/datasets/fashion-mnist)
#   MODEL        model (default cnn-s)
#   BATCH        mini-batch size (default 128)
#   SEEDS        seeds (default "0 1 2"; quick "0 1")
#   EPOCHS       run lengths (default "1 2 3"; quick "1 2")
#   LIMIT_TRAIN  training images (default 20000, so the whole study fits in 90 minutes on
#                2 cores; quick 1024), LIMIT_TEST test images (default all; quick 512)
#   NUM_IT       range-test batches (default 100; quick 30)
#   OUT          work directory (default target/schedules; quick target/schedules-quick)
#   REPORT_DIR   report directory (default docs/results; quick OUT/report)
#   LRATE        the lrate binary (default: build it with `cargo build --release -p lrate`)
#   ROWS         which rows (default "onecycle-sgd onecycle-adamw wsd-sgd sf-sgd sf-adamw cooldown")
#   DRAFT        1: run on a working tree with uncommitted changes, the report marked DRAFT
# Provenance (bench/provenance.py): a working tree with uncommitted changes is refused (exit 2)
# unless DRAFT=1 (quick mode only marks the report DRAFT); experiment.json records the commit.
# Resumable: a run with a result.json is skipped; rerun the script to continue.
set -euo pipefail
main() {
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=${QUICK:-0}
DATA=${DATA:-fashion-mnist:/usr/share/datasets/fashion-mnist}
MODEL=${MODEL:-cnn-s}
BATCH=${BATCH:-128}
ROWS=${ROWS:-onecycle-sgd onecycle-adamw wsd-sgd sf-sgd sf-adamw cooldown}
if [ "$QUICK" = 1 ]; then
  SEEDS=${SEEDS:-0 1}; EPOCHS=${EPOCHS:-1 2}; LIMIT_TRAIN=${LIMIT_TRAIN:-1024}
  LIMIT_TEST=${LIMIT_TEST:-512}; NUM_IT=${NUM_IT:-30}; OUT=${OUT:-target/schedules-quick}
  REPORT_DIR=${REPORT_DIR:-$OUT/report}
else
  SEEDS=${SEEDS:-0 1 2}; EPOCHS=${EPOCHS:-1 2 3}; LIMIT_TRAIN=${LIMIT_TRAIN:-20000}
  LIMIT_TEST=${LIMIT_TEST:-}; NUM_IT=${NUM_IT:-100}; OUT=${OUT:-target/schedules}
  REPORT_DIR=${REPORT_DIR:-docs/results}
fi
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_lrate schedules.sh
command -v python3 >/dev/null || { echo "schedules.sh: python3 is needed (stdlib only)" >&2; exit 2; }
if [ "$QUICK" = 1 ]; then
  SCH_TREE=$(python3 bench/provenance.py check --mark-only --prog schedules.sh)
else
  SCH_TREE=$(python3 bench/provenance.py check --prog schedules.sh) || exit 2
fi
export SCH_TREE
mkdir -p "$OUT/runs" "$OUT/config"
OUT=$(cd "$OUT" && pwd)

# One config file per optimizer: every fixed hyper-parameter of a row is here.
#   sgd:      Nesterov momentum 0.9 (cycled by 1cycle), weight decay 5e-4 (L2), as in
#             bench/superconvergence.sh;
#   adamw:    β2 0.999, decoupled weight decay 0.01 (torch.optim.AdamW's default), β1 cycled by 1cycle;
#   sf-sgd:   schedule-free SGD, β 0.9, weight decay 5e-4, warmup 5 % of the run (set per run);
#   sf-adamw: schedule-free AdamW, β1 0.9, β2 0.999, weight decay 0.01, warmup 5 %.
optimizer_toml() {
  case "$1" in
    sgd) printf '[optimizer]\nkind = "sgd"\nmomentum = 0.9\nnesterov = true\nweight_decay = 5e-4\n' ;;
    adamw) printf '[optimizer]\nkind = "adamw"\nmomentum = 0.9\nbeta2 = 0.999\nweight_decay = 0.01\n' ;;
    sf-sgd) printf '[optimizer]\nkind = "sf-sgd"\nmomentum = 0.9\nweight_decay = 5e-4\nwarmup_steps = %s\n' "$2" ;;
    sf-adamw) printf '[optimizer]\nkind = "sf-adamw"\nmomentum = 0.9\nbeta2 = 0.999\nweight_decay = 0.01\nwarmup_steps = %s\n' "$2" ;;
  esac
}
N_TRAIN=$LIMIT_TRAIN
SPE=$(( (N_TRAIN + BATCH - 1) / BATCH ))
# config OPT EPOCHS -> path of the optimizer's config for a run of EPOCHS epochs.
config() {
  local f=$OUT/config/$1-$2ep.toml
  optimizer_toml "$1" $(( ($2 * SPE + 19) / 20 )) > "$f"
  echo "$f"
}

# --overwrite: a run is started only when it has no result.json, and then whatever an earlier
# attempt left in its directory is replaced on purpose.
COMMON=(--data "$DATA" --model "$MODEL" --batch "$BATCH" --num-it "$NUM_IT" --no-progress --overwrite)
[ -n "$LIMIT_TRAIN" ] && COMMON+=(--limit-train "$LIMIT_TRAIN")
[ -n "$LIMIT_TEST" ] && COMMON+=(--limit-test "$LIMIT_TEST")

python3 - "$OUT/experiment.json" <<PY
import json, os, platform, subprocess, sys, time
sys.path.insert(0, "$ROOT/bench")
import provenance
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
prov = provenance.provenance(lrate="$LRATE", draft=os.environ.get("SCH_TREE") == "draft")
git = prov["commit"]  # the plain sha; "dirty" and "draft" say whether the tree was committed
json.dump({"quick": "$QUICK" == "1", "data": "$DATA", "model": "$MODEL", "batch": int("$BATCH"),
           "seeds": [int(s) for s in "$SEEDS".split()], "epochs": [int(e) for e in "$EPOCHS".split()],
           "limit_train": int("$LIMIT_TRAIN") if "$LIMIT_TRAIN" else None,
           "limit_test": int("$LIMIT_TEST") if "$LIMIT_TEST" else None, "num_it": int("$NUM_IT"),
           "rows": "$ROWS".split(), "git": git, "dirty": prov["dirty"], "draft": prov["draft"],
           "provenance": prov, "lrate_version": sh("'$LRATE' --version"),
           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": {"nproc": int(sh("nproc") or 0), "cpu": cpu, "os": platform.platform()}},
          open(sys.argv[1], "w"), indent=2)
PY

# pick OPT SEED -> the range test's max_lr for that optimizer and seed (empty if none).
pick() {
  local f=$OUT/runs/find-$1-s$2/lr_find.json
  [ -f "$f" ] && python3 -c "import json,sys; p=json.load(open(sys.argv[1])).get('pick'); print(repr(p['max_lr']) if p and p.get('max_lr') else '')" "$f"
}
has() { case " $ROWS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# The optimizers the rows need, and their range tests (the SF ones sweep the base lr).
OPTS=""
for r in $ROWS; do
  case "$r" in onecycle-sgd|wsd-sgd|cooldown) o=sgd ;; onecycle-adamw) o=adamw ;; sf-sgd) o=sf-sgd ;; sf-adamw) o=sf-adamw ;; *) echo "unknown row $r" >&2; exit 2 ;; esac
  case " $OPTS " in *" $o "*) ;; *) OPTS="$OPTS $o" ;; esac
done
FIRST_EPOCHS=${EPOCHS%% *}
for o in $OPTS; do
  for s in $SEEDS; do
    bench_run "$OUT/runs/find-$o-s$s" find --config "$(config "$o" "$FIRST_EPOCHS")" "${COMMON[@]}" --seed "$s" --out "$OUT/runs/find-$o-s$s"
  done
done

# train ROW OPT SCHEDULE: the row for every seed and length, at the range test's pick.
train_row() {
  local row=$1 opt=$2 sched=$3
  for s in $SEEDS; do
    local lr; lr=$(pick "$opt" "$s")
    if [ -z "$lr" ]; then log "no reliable pick for $opt seed $s: row $row skipped"; FAILED=$((FAILED + 1)); continue; fi
    for e in $EPOCHS; do
      bench_run "$OUT/runs/$row-${e}ep-s$s" train --config "$(config "$opt" "$e")" "${COMMON[@]}" --seed "$s" \
        --schedule "$sched" --max-lr "$lr" --epochs "$e" --out "$OUT/runs/$row-${e}ep-s$s"
    done
  done
}
has onecycle-sgd && train_row onecycle-sgd sgd onecycle
has onecycle-adamw && train_row onecycle-adamw adamw onecycle
has wsd-sgd && train_row wsd-sgd sgd wsd
# Schedule-free needs no schedule: constant at the base lr (the optimizer warms up itself).
has sf-sgd && train_row sf-sgd sf-sgd constant
has sf-adamw && train_row sf-adamw sf-adamw constant

# Cooldowns: one constant-lr run (SGD, the SGD pick), stopped after each length but the last,
# with a 1-epoch 1-sqrt cooldown branched at each stop, against cosine runs of the same lengths.
if has cooldown; then
  for s in $SEEDS; do
    lr=$(pick sgd "$s"); [ -z "$lr" ] && { FAILED=$((FAILED + 1)); continue; }
    last=0; for e in $EPOCHS; do last=$e; done
    long=$OUT/runs/stable-s$s
    for e in $EPOCHS; do
      [ "$e" -lt 2 ] && continue          # a branch needs at least one stable epoch
      stop=$((e - 1))
      if [ ! -f "$long/stopped-$stop" ]; then
        if [ -f "$long/checkpoint.safetensors" ]; then
          "$LRATE" train --resume --out "$long" --no-progress --stop-after $((stop - $(cat "$long/epochs-done" 2>/dev/null || echo 0))) > /dev/null 2>> "$long/stderr.txt"
        else
          mkdir -p "$long"
          "$LRATE" train --config "$(config sgd "$last")" "${COMMON[@]}" --seed "$s" --schedule constant \
            --max-lr "$lr" --epochs "$last" --out "$long" --stop-after "$stop" > /dev/null 2>> "$long/stderr.txt"
        fi
        echo "$stop" > "$long/epochs-done"; touch "$long/stopped-$stop"
      fi
      bench_run "$OUT/runs/cooldown-${e}ep-s$s" train --from "$long" --cooldown 1 --out "$OUT/runs/cooldown-${e}ep-s$s" --no-progress --overwrite
      bench_run "$OUT/runs/cosine-${e}ep-s$s" train --config "$(config sgd "$e")" "${COMMON[@]}" --seed "$s" \
        --schedule cosine --max-lr "$lr" --epochs "$e" --out "$OUT/runs/cosine-${e}ep-s$s"
    done
  done
fi

python3 bench/schedules_report.py --out "$OUT" --report-dir "$REPORT_DIR"
if [ "$FAILED" -gt 0 ]; then log "$FAILED run(s) failed or were skipped"; exit 1; fi
}
main "$@"
