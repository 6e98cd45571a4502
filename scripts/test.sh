#!/usr/bin/env bash
# Sets up, builds and runs every test: the dev build, then the ASan+UBSan build.
# HOOKD_TEST_PRESETS="dev" runs just one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
for preset in ${HOOKD_TEST_PRESETS:-dev asan}; do
  echo "== preset $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset" -j2
done
