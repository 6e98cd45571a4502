#!/usr/bin/env bash
# Builds the Debian packages: the release preset (build/release, configured with
# CMAKE_INSTALL_PREFIX=/usr, which changes no compiled file), then cpack with
# packaging/CPack.cmake. Prints the paths of hookd_<version>_amd64.deb and
# hookd-dev_<version>_amd64.deb (build/release/deb/). Install with
# `apt install ./build/release/deb/hookd_*.deb` (README, "Deploy on a VM").
set -euo pipefail
cd "$(dirname "$0")/.."
# dpkg-dev: dpkg-shlibdeps computes the Depends from the binaries.
scripts/setup.sh dpkg-dev
build=build/release
cmake --preset release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build --preset release -j "${HOOKD_JOBS:-2}" --target hookd_package_files
rm -rf "$build/deb"
cpack --config "$build/CPackConfig.cmake" -B "$build/deb" >"$build/cpack.log" 2>&1 ||
  { cat "$build/cpack.log" >&2; exit 1; }
ls "$PWD/$build"/deb/*.deb
