#!/usr/bin/env bash
# Sets up, builds and runs every test: the dev build, the ASan+UBSan build, the unit
# suites (the concurrent writer, metrics, ...) under ThreadSanitizer, and a short libFuzzer
# pass over every fuzz target (clang; scripts/fuzz.sh, HOOKD_FUZZ_SECONDS per target).
# HOOKD_TEST_PRESETS="dev" runs just one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
# pebble: the ACME test server the ACME tests start on loopback (with pebble-challtestsrv).
# dpkg-dev, lintian, debootstrap, strace: the Debian package test (package_deb, dev preset only).
# clang-14, libclang-rt-14-dev: the fuzz preset (libFuzzer and its sanitizer runtimes).
scripts/setup.sh pebble dpkg-dev lintian debootstrap strace clang-14 libclang-rt-14-dev
for preset in ${HOOKD_TEST_PRESETS:-dev asan tsan fuzz}; do
  echo "== preset $preset"
  cmake --preset "$preset" >/dev/null
  if [[ $preset == tsan ]]; then
    # Under TSan only the unit suites run (below): build them and what they depend on (the
    # hookd binary, the plugins), not the integration suite and the corpus replays.
    mapfile -t units < <(ninja -C build/tsan -t targets all | grep -oE '^unit_[a-z_]+:' |
                         tr -d ':' | sort -u)
    cmake --build --preset "$preset" --target "${units[@]}"
  else
    cmake --build --preset "$preset"
  fi
  # The fuzz preset builds only the fuzz targets; its corpora already ran as tests above.
  if [[ $preset == fuzz ]]; then
    scripts/fuzz.sh
    continue
  fi
  filter=()
  # Under TSan the unit suites: they drive the threads directly, without the minutes of
  # process start-up the integration suite would add.
  [[ $preset == tsan ]] && filter=(-R '^unit_')
  # The package test builds the .deb from the dev build: once is enough.
  [[ $preset == asan ]] && filter=(-LE '^deb$')
  ctest --preset "$preset" -j2 "${filter[@]}"
done
