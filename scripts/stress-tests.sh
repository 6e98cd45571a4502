#!/usr/bin/env bash
# Hunts timing-dependent tests: runs the test suites of each preset many times with
# `ctest -j2` while a CPU load keeps both cores busy, and reports every test case that
# failed at least once (Boost.Test's `error: in "suite/case"` lines, or the CTest test when
# it died without one: a sanitizer report, a crash, a timeout). Exit 1 if any failed.
#
#   scripts/stress-tests.sh [ctest -R regex]
#   HOOKD_STRESS_PRESETS  presets to run (default "asan tsan"; each is configured and
#                         built first, as scripts/test.sh builds it)
#   HOOKD_STRESS_RUNS     repetitions of the whole selection per preset (default 20)
#   HOOKD_STRESS_LOAD     busy processes beside the tests (default 2: one per core; 0: none)
#
# Logs: build/stress/<preset>/run-<n>.log; the summary at the end and in
# build/stress/summary.txt. docs/testing.md has the last results and what they found.
set -euo pipefail
cd "$(dirname "$0")/.."

presets=${HOOKD_STRESS_PRESETS:-asan tsan}
runs=${HOOKD_STRESS_RUNS:-20}
load=${HOOKD_STRESS_LOAD:-2}
regex=${1:-}
out=build/stress
mkdir -p "$out"

load_pids=()
start_load() {
  for ((i = 0; i < load; ++i)); do
    # A shell loop, not `yes`: pure CPU, no pipe to fill.
    bash -c 'while :; do :; done' &
    load_pids+=($!)
  done
}
stop_load() {
  ((${#load_pids[@]})) && kill "${load_pids[@]}" 2>/dev/null || true
  load_pids=()
}
trap stop_load EXIT

summary=$out/summary.txt
: >"$summary"
failed=0
for preset in $presets; do
  echo "== stress: preset $preset, $runs runs, load $load${regex:+, tests matching $regex}" |
    tee -a "$summary"
  cmake --preset "$preset" >/dev/null
  filter=()
  if [[ $preset == tsan ]]; then
    # What scripts/test.sh runs under TSan: the unit suites.
    mapfile -t units < <(ninja -C "build/$preset" -t targets all | grep -oE '^unit_[a-z_]+:' |
                         tr -d ':' | sort -u)
    cmake --build --preset "$preset" --target "${units[@]}"
    filter=(-R '^unit_')
  else
    cmake --build --preset "$preset"
    filter=(-LE '^deb$')
  fi
  [[ -n $regex ]] && filter+=(-R "$regex")
  dir=$out/$preset
  rm -rf "$dir"
  mkdir -p "$dir"
  start_load  # after the build: only the tests run beside it
  for ((run = 1; run <= runs; ++run)); do
    log=$dir/run-$run.log
    start=$SECONDS
    if ctest --preset "$preset" -j2 "${filter[@]}" >"$log" 2>&1; then
      echo "stress: $preset run $run/$runs passed ($((SECONDS - start)) s)"
    else
      echo "stress: $preset run $run/$runs FAILED ($((SECONDS - start)) s): $log"
      failed=1
    fi
  done
  # Test cases that failed, with how often; then CTest tests that failed without naming
  # a case (they died). `|| true`: no match is the good outcome, not an error.
  { grep -ahoE '(error|fatal error): in "[^"]+"' "$dir"/run-*.log || true; } |
    sed -E 's/^.*in "([^"]+)"/\1/' | sort | uniq -c | sort -rn |
    awk -v p="$preset" '{printf "stress: %s: %s failed in %d of '"$runs"' runs\n", p, $2, $1}' |
    tee -a "$summary"
  { grep -ahoE '[0-9]+ - [A-Za-z0-9_]+ \((Failed|Timeout|Subprocess aborted|SEGFAULT|Child aborted|Exception)\)' "$dir"/run-*.log || true; } |
    sed -E 's/^[0-9]+ - //' | sort | uniq -c | sort -rn |
    awk -v p="$preset" '{c=$1; $1=""; printf "stress: %s: ctest%s in %d of '"$runs"' runs\n", p, $0, c}' |
    tee -a "$summary"
  stop_load
done
if ((failed)); then
  echo "stress: failures found (above; logs under $out/)" | tee -a "$summary"
  exit 1
fi
echo "stress: no failures" | tee -a "$summary"
