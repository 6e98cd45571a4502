#!/usr/bin/env bash
# build_example.sh BUILD_DIR WORK_DIR: the out-of-tree plugin workflow of docs/plugins.md,
# end to end. Installs BUILD_DIR into WORK_DIR/prefix, builds examples/plugin against it
# with find_package(hookd), checks that the plugin exports exactly hookd_plugin_v1, runs the
# example's unit tests (ctest: counter_test.cpp with the installed hookd/plugin_testing.hpp),
# runs one delivery with the installed `hookd plugin-run` and `hookd check` on a config
# naming it.
# WORK_DIR is emptied first. Registered by tests/package/CMakeLists.txt, which sets the
# environment below; by hand, only BUILD_DIR has no default:
#   tests/package/build_example.sh build/dev /tmp/pkg-test
set -euo pipefail

build=$(cd "$1" && pwd)
work=${2:-$build/tests/package/work}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
cmake=${HOOKD_CMAKE:-cmake}
libdir=${HOOKD_INSTALL_LIBDIR:-lib}
binary=${HOOKD_BINARY:-$build/app/hookd}
ctest=${HOOKD_CTEST:-ctest}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }
# Runs a command quietly into a log; on failure shows the log and fails.
run_logged() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    fail "$* (log: $log)"
  fi
}

[ -x "$binary" ] || fail "$binary is not built: run the full build (cmake --build $build) first"

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

step "install $build into $prefix"
run_logged "$work/install.log" "$cmake" --install "$build" --prefix "$prefix"
for f in bin/hookd include/hookd/plugin.h include/hookd/plugin.hpp include/hookd/plugin_testing.hpp \
  "$libdir/cmake/hookd/hookdConfig.cmake" "$libdir/cmake/hookd/hookdConfigVersion.cmake" \
  "$libdir/cmake/hookd/hookdPluginHelpers.cmake" "$libdir/cmake/hookd/hookd-plugin-exports.map"; do
  [ -f "$prefix/$f" ] || fail "the install lacks $f"
done
# Plugins need no hookd library: the framework must not be installed.
if find "$prefix" -name '*hookd_framework*' | grep -q .; then
  fail "the install contains the framework library"
fi

step "configure and build examples/plugin against the install"
generator_args=()
[ -n "${HOOKD_GENERATOR:-}" ] && generator_args+=(-G "$HOOKD_GENERATOR")
[ -n "${HOOKD_MAKE_PROGRAM:-}" ] && generator_args+=("-DCMAKE_MAKE_PROGRAM=$HOOKD_MAKE_PROGRAM")
[ -n "${HOOKD_CXX:-}" ] && generator_args+=("-DCMAKE_CXX_COMPILER=$HOOKD_CXX")
run_logged "$work/configure.log" "$cmake" -S "$source_dir/examples/plugin" -B "$work/build" \
  "${generator_args[@]}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$prefix"
found=$(sed -n 's/^hookd_DIR:PATH=//p' "$work/build/CMakeCache.txt")
[ "$found" = "$prefix/$libdir/cmake/hookd" ] ||
  fail "find_package(hookd) found '$found', not the package in $prefix"
run_logged "$work/build.log" "$cmake" --build "$work/build"
so=$work/build/libhookd_counter.so
[ -f "$so" ] || fail "the build made no $so"

step "exports of $(basename "$so")"
exports=$(nm -D --defined-only "$so" | awk '{ print $2 " " $3 }')
[ "$exports" = "T hookd_plugin_v1" ] ||
  fail "expected exactly 'T hookd_plugin_v1' in nm -D --defined-only, got:
$exports"

step "the package refuses another major version"
mkdir -p "$work/major"
cat >"$work/major/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(major_check LANGUAGES NONE)
find_package(hookd 1.0 QUIET)
message(STATUS "hookd 1.0 found: ${hookd_FOUND}")
EOF
run_logged "$work/major.log" "$cmake" -S "$work/major" -B "$work/major/build" \
  "-DCMAKE_PREFIX_PATH=$prefix"
grep -q 'hookd 1.0 found: 0' "$work/major.log" || fail "find_package(hookd 1.0) accepted 0.x"

step "the example's unit tests (hookd/plugin_testing.hpp)"
run_logged "$work/ctest.log" "$ctest" --test-dir "$work/build" --output-on-failure --no-tests=error

step "hookd plugin-run with the plugin"
log=$work/counter.log
printf 'path: %s\n' "$log" >"$work/counter.yaml"
printf '{"id":1}' >"$work/body.json"
status=0
out=$("$prefix/bin/hookd" plugin-run --library "$so" --config "$work/counter.yaml" \
  --body "$work/body.json" --type invitation.created --id evt_1 2>&1) || status=$?
[ "$status" = 0 ] && [ "$out" = "outcome: ok
message: invitation.created #1" ] || fail "plugin-run exited $status:
$out"
grep -q ' plugin-run evt_1 invitation.created #1$' "$log" || fail "plugin-run wrote no line to $log"
status=0
out=$(printf '' | "$prefix/bin/hookd" plugin-run --library "$so" --config "$work/counter.yaml" \
  --body - --json 2>&1) || status=$?
[ "$status" = 4 ] &&
  [ "$out" = '{"outcome":"fail","retry_after_ms":0,"message":"empty body: nothing to count"}' ] ||
  fail "plugin-run of an empty body exited $status:
$out"

step "hookd check with the plugin"
write_config() { # $1: the plugin's config block
  cat >"$work/hookd.yaml" <<EOF
server:
  listen: 127.0.0.1:0
  tls: { cert: tls/cert.pem, key: tls/key.pem, self_signed: true }
admin:
  listen: 127.0.0.1:0
storage:
  path: hookd.db
plugins:
  counter:
    library: $so
    config: $1
routes:
  - name: example
    path: /webhooks/example
    auth: none
    event: { id: json:/id, type: json:/type }
    handlers: [{ plugin: counter, types: ["*"] }]
EOF
}
rm -f "$log"
write_config "{ path: $log }"
status=0
out=$(cd "$work" && "$prefix/bin/hookd" check -c "$work/hookd.yaml" 2>&1) || status=$?
[ "$status" = 0 ] || fail "hookd check exited $status:
$out"
case $out in
  *"ok (1 routes, 1 plugins)"*) ;;
  *) fail "unexpected hookd check output: $out" ;;
esac
[ ! -e "$log" ] || fail "creating the plugin (hookd check) wrote $log"

# The same config without `path`: the installed hookd must show the plugin's refusal.
write_config "{}"
status=0
out=$(cd "$work" && "$prefix/bin/hookd" check -c "$work/hookd.yaml" 2>&1) || status=$?
[ "$status" = 1 ] || fail "hookd check of a config the plugin refuses exited $status:
$out"
case $out in
  *"refused its config: counter: the config needs \`path\`"*) ;;
  *) fail "hookd check did not show the plugin's refusal: $out" ;;
esac

echo "PASS: the example plugin builds out of tree and loads in the installed hookd"
