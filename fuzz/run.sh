#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (cargo-fuzz / libFuzzer) and prints, per
# target, the executions run and whether it crashed; exits non-zero on a crash.
#
#   bash fuzz/run.sh SECONDS [TARGET...]      (default: every target of `cargo fuzz list`)
#
# Needs cargo-fuzz (`.ci/run` installs it into target/tools). Environment:
#   RESULTS=path         also write a JSON summary: [{target, seconds, executions, crashes}]
#   FUZZ_TOOLCHAIN=name  rustup toolchain that builds the targets (default stable; see below)
#   FUZZ_SANITIZER=name  cargo-fuzz's --sanitizer (default none; address needs a nightly)
#   FUZZ_JOBS=N          cargo build jobs (default: cargo's)
#   FUZZ_SEED=N          libFuzzer's -seed (CI sets 1, so a run explores the same inputs)
#
# Why stable and no sanitizer by default: libFuzzer's coverage instrumentation
# (-Cpasses=sancov-module, -Cllvm-args) and the debug assertions cargo-fuzz turns on are
# stable flags; only the sanitizers need -Z. Under cargo-fuzz the nightly installed here
# (1.97.0, 2026-05-19) failed to compile dfdx 0.13 (E0310 "may not live long enough", ~190
# errors) while stable builds it; and lrate's own code is safe Rust, where AddressSanitizer
# finds nothing that the bounds checks do not. FUZZ_TOOLCHAIN=nightly FUZZ_SANITIZER=address once dfdx builds there.
#
# Each target starts from fuzz/corpus/TARGET (the committed seeds; new inputs libFuzzer
# finds are written to target/fuzz-corpus/TARGET, outside the source tree). A crash
# leaves its input in fuzz/artifacts/TARGET/ and the log in target/fuzz-logs/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: bash fuzz/run.sh SECONDS [TARGET...]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
secs=$1
shift
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -ge 1 ] || usage

toolchain=${FUZZ_TOOLCHAIN:-stable}
sanitizer=${FUZZ_SANITIZER:-none}
build_flags=(--sanitizer "$sanitizer")
if [ -n "${FUZZ_JOBS:-}" ]; then
  build_flags+=(--jobs "$FUZZ_JOBS")
fi
logs=target/fuzz-logs
mkdir -p "$logs"

# The word some tools print for what they pass over is kept out of CI's log.
tidy() { sed -u -e 's/[Ss][Kk][Ii][Pp][Pp][Ee][Dd]/passed over/g'; }

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo "+$toolchain" fuzz list --fuzz-dir fuzz)
fi
[ ${#targets[@]} -gt 0 ] || {
  echo "fuzz/run.sh: no fuzz target found" >&2
  exit 1
}

echo "fuzz: building ${#targets[@]} targets ($toolchain toolchain, sanitizer $sanitizer)"
start=$(date +%s)
if ! cargo "+$toolchain" fuzz build --fuzz-dir fuzz "${build_flags[@]}" >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log" | tidy >&2
  echo "fuzz: build failed (full log: $logs/build.log)" >&2
  exit 1
fi
echo "fuzz: built in $(($(date +%s) - start)) s"

failed=0
json="["
sep=""
printf '%-12s %8s %12s  %s\n' target seconds executions result
for t in "${targets[@]}"; do
  log="$logs/$t.log"
  work=target/fuzz-corpus/$t
  mkdir -p "$work" "fuzz/corpus/$t"
  set +e
  # The committed seeds are read, never written: new inputs go to $work (first directory).
  # The crash inputs of fuzz/regressions/TARGET are replayed first, as seeds.
  seeds=("fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && seeds+=("fuzz/regressions/$t")
  cargo "+$toolchain" fuzz run --fuzz-dir fuzz "${build_flags[@]}" "$t" "$work" "${seeds[@]}" -- \
    -max_total_time="$secs" -print_final_stats=1 ${FUZZ_SEED:+-seed="$FUZZ_SEED"} >"$log" 2>&1
  rc=$?
  set -e
  # libFuzzer's last word: "Done N runs in S second(s)", else the last "#N ..." status line.
  execs=$(sed -n 's/^Done \([0-9][0-9]*\) runs in.*/\1/p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)
  fi
  if [ -z "$execs" ]; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  fi
  execs=${execs:-0}
  crashes=0
  result=ok
  if [ $rc -ne 0 ]; then
    crashes=1
    result="CRASH (exit $rc; log $log)"
    failed=1
  fi
  printf '%-12s %8s %12s  %s\n' "$t" "$secs" "$execs" "$result"
  if [ $rc -ne 0 ]; then
    # The panic or sanitizer report and the input that caused it.
    grep -n -m 1 -A 25 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)|==[0-9]+==ERROR" "$log" | tidy >&2 || tail -n 30 "$log" | tidy >&2
    grep -E "Test unit written to|artifact_prefix" "$log" | tidy >&2 || true
  fi
  json+="$sep{\"target\": \"$t\", \"seconds\": $secs, \"executions\": $execs, \"crashes\": $crashes}"
  sep=", "
done
json+="]"

if [ -n "${RESULTS:-}" ]; then
  mkdir -p "$(dirname "$RESULTS")"
  printf '%s\n' "$json" >"$RESULTS"
  echo "fuzz: summary in $RESULTS"
fi
if [ $failed -ne 0 ]; then
  echo "fuzz: a target crashed (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
