#!/usr/bin/env bash
# A short fuzzing pass over every target of the `fuzz` preset (build it first:
# `cmake --preset fuzz && cmake --build --preset fuzz`). Each target runs on a copy of its
# committed corpus, so the corpus in the tree stays as it is, with crash/leak/timeout
# artifacts written under build/fuzz/fuzz-runs/<target>/; any finding fails the pass.
#   HOOKD_FUZZ_SECONDS  per target (default 20)
#   HOOKD_FUZZ_JOBS     targets run at once (default 2)
#   HOOKD_FUZZ_TIMEOUT  seconds one input may take before it counts as a hang (default 10;
#                       wall time, so raise it for runs at a low priority on a busy machine)
#   arguments           only these targets (default: every directory of tests/fuzz/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."

export bin=build/fuzz/tests/fuzz runs=build/fuzz/fuzz-runs seconds=${HOOKD_FUZZ_SECONDS:-20}
export timeout=${HOOKD_FUZZ_TIMEOUT:-10}
jobs=${HOOKD_FUZZ_JOBS:-2}
targets=("$@")
if ((${#targets[@]} == 0)); then
  for dir in tests/fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

run_one() {
  local t=$1 dir=$runs/$1
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp -R "tests/fuzz/corpus/$t/." "$dir/corpus/"
  local dict=()
  [[ -f tests/fuzz/dict/$t.dict ]] && dict=(-dict="tests/fuzz/dict/$t.dict")
  # -timeout: one input running 10 s is a finding (a hang), not a slow machine.
  if ! "$bin/$t" "$dir/corpus" "${dict[@]}" -max_total_time="$seconds" -timeout="$timeout" \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/" >"$dir/log" 2>&1; then
    echo "fuzz: $t FAILED; artifacts: $(ls "$dir" | grep -E '^(crash|leak|timeout|oom)-' | tr '\n' ' ')" >&2
    tail -n 60 "$dir/log" >&2
    return 1
  fi
  # The last status line: "#N<TAB>DONE   cov: C ft: F corp: ... exec/s: E rss: ..."
  local stats
  stats=$(grep -aE '^#[0-9]+[[:space:]]+DONE' "$dir/log" | tail -n 1 |
    sed -E 's/^#([0-9]+).*(cov: [0-9]+ ft: [0-9]+).*(exec\/s: [0-9]+).*/\2 \3 runs: \1/')
  echo "fuzz: $t ok: $stats"
}
export -f run_one

mkdir -p "$runs"
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'
