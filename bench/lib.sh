# Shared by the report scripts (sourced from the repository root, after `set -euo pipefail`):
#   log MSG...              a time-stamped progress line on stderr
#   bench_lrate PROG        sets LRATE: the binary named by $LRATE, else `cargo build --release
#                           -p lrate`'s; exits 2 (naming PROG) if it is not executable
#   bench_run DIR ARGS...   one resumable `$LRATE ARGS...` in DIR: skipped when DIR/result.json
#                           exists; otherwise command.txt, stdout.txt and stderr.txt are written
#                           and the run's JSON summary line becomes DIR/result.json with its wall
#                           time ("status": "ok", or "diverged" with the error line); a failure is
#                           logged and counted in FAILED; Ctrl-C (exit 130) stops the script.
#   bench_command SCRIPT "SHOWN" "HIDDEN"
#                           prints the command as invoked, for a report: each variable of SHOWN
#                           that is set as VAR=value, each of HIDDEN that is set as VAR=...
#                           (paths), then `bash bench/SCRIPT`

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

bench_command() {
  local v out=""
  for v in $2; do
    if [ -n "${!v+x}" ]; then out+="$v=$(printf '%q' "${!v}") "; fi
  done
  for v in $3; do
    if [ -n "${!v+x}" ]; then out+="$v=... "; fi
  done
  printf '%sbash bench/%s' "$out" "$1"
}

bench_lrate() {
  if [ -z "${LRATE:-}" ]; then
    cargo build -q --release -p lrate
    LRATE="${CARGO_TARGET_DIR:-$(pwd)/target}/release/lrate"
  fi
  [ -x "$LRATE" ] || { echo "$1: lrate binary '$LRATE' not found" >&2; exit 2; }
}

FAILED=${FAILED:-0}
bench_run() {
  local dir=$1; shift
  if [ -f "$dir/result.json" ]; then log "skip $(basename "$dir")"; return 0; fi
  mkdir -p "$dir"
  log "start $(basename "$dir")"
  printf '%q ' "$LRATE" "$@" > "$dir/command.txt"; echo >> "$dir/command.txt"
  local t0 rc=0
  t0=$(date +%s.%N)
  "$LRATE" "$@" > "$dir/stdout.txt" 2> "$dir/stderr.txt" || rc=$?
  if [ "$rc" = 130 ]; then log "interrupted (rerun the script to continue)"; exit 130; fi
  if python3 - "$dir" "$rc" "$t0" "$(date +%s.%N)" <<'PY'
import json, os, sys
d, rc, t0, t1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
lines = [l for l in open(os.path.join(d, "stdout.txt")).read().splitlines() if l.startswith("{")]
err = open(os.path.join(d, "stderr.txt")).read()
if rc == 0 and lines:
    r = json.loads(lines[-1]); r["status"] = "ok"
elif "training diverged" in err:
    msg = [l for l in err.splitlines() if "training diverged" in l]
    r = {"status": "diverged", "test_acc": None, "error": msg[-1].strip()}
else:
    sys.exit(1)
r["wall_seconds"] = t1 - t0
json.dump(r, open(os.path.join(d, "result.json"), "w"), indent=2)
PY
  then log "done $(basename "$dir")"
  else log "FAILED $(basename "$dir") (exit $rc): $(tail -n 2 "$dir/stderr.txt")"; FAILED=$((FAILED + 1))
  fi
}
