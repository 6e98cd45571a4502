#!/usr/bin/env bash
# deb_test.sh BUILD_DIR WORK_DIR: the Debian packages end to end (packaging/, README "Deploy
# on a VM"). From the already built BUILD_DIR (the dev build in CI: no second compile), it
#   - makes hookd_*.deb and hookd-dev_*.deb with cpack, prefix /usr;
#   - checks the exact file list (dpkg-deb -c), the computed Depends, lintian (no errors);
#   - checks the systemd units: systemd-analyze verify, and security --offline (≤ 2.5);
#   - bootstraps a minimal Debian 12 (debootstrap --variant=minbase bookworm), installs the
#     package there with apt (which fetches its Depends: nothing from this machine leaks
#     in), and checks the user, directories, generated password and enabled unit;
#   - as user hookd in that root: `hookd check -c /etc/hookd/hookd.yaml` exits 0, and
#     `hookd serve` on the packaged config (listeners moved to free loopback ports) answers
#     /readyz, takes a POST with 202 and delivers it through the log plugin's host process;
#   - removes the package (data kept) and purges it (data and user gone).
# Needs root (chroot, mount); exits 77 (skipped) otherwise. The bootstrapped root is cached
# as WORK_DIR/../bookworm-minbase.tar.gz between local runs (HOOKD_DEB_FRESH_ROOT=1, or a
# fresh build directory as in CI, bootstraps anew). Registered by tests/package/CMakeLists.txt.
set -euo pipefail

build=$(cd "$1" && pwd)
work=${2:-$build/tests/package/deb}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
cmakedir=${HOOKD_INSTALL_CMAKEDIR:-lib/cmake/hookd}
mirror=${HOOKD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$work/root
cache=$(dirname "$work")/bookworm-minbase.tar.gz

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $* ($(date +%T))"; }
run_logged() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -50 "$log" >&2
    fail "$* (log: $log)"
  fi
}

if [ "$(id -u)" != 0 ]; then
  echo "SKIP: the package test needs root (debootstrap, chroot, mount); CI runs it as root"
  exit 77
fi
for tool in cpack dpkg-deb dpkg-shlibdeps lintian debootstrap systemd-analyze strace curl; do
  command -v "$tool" >/dev/null ||
    fail "$tool is missing: scripts/test.sh installs it (scripts/setup.sh dpkg-dev lintian debootstrap strace)"
done
[ -x "$build/app/hookd" ] || fail "$build/app/hookd is not built: run cmake --build $build first"

server_pid=   # strace, whose child is hookd serve
cleanup() {
  if [ -n "$server_pid" ]; then
    pkill -TERM -P "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # Whatever is mounted below the root, innermost first.
  if [ -d "$root" ]; then
    { findmnt -rn -o TARGET | grep -F "$root/" || true; } | sort -r | while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" || true
    done
  fi
}
trap cleanup EXIT
cleanup
rm -rf --one-file-system "$work"
mkdir -p "$work"

step "cpack (prefix /usr) from $build"
run_logged "$work/cpack.log" cpack --config "$build/CPackConfig.cmake" -B "$work/out" \
  -D CPACK_INSTALL_PREFIX=/usr
deb=$(ls "$work"/out/hookd_*_amd64.deb)
dev=$(ls "$work"/out/hookd-dev_*_amd64.deb)
echo "$deb"
echo "$dev"

step "layout (dpkg-deb -c)"
files() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort; }
expected_hookd="/etc/hookd/hookd.yaml
/lib/systemd/system/hookd-admin.socket
/lib/systemd/system/hookd.service
/lib/systemd/system/hookd.socket
/usr/bin/hookd
/usr/bin/hookd-bench
/usr/lib/hookd/plugins/libhookd_exec.so
/usr/lib/hookd/plugins/libhookd_forward.so
/usr/lib/hookd/plugins/libhookd_jofi.so
/usr/lib/hookd/plugins/libhookd_log.so
/usr/share/doc/hookd/changelog.gz
/usr/share/doc/hookd/copyright"
expected_dev="/usr/include/hookd/plugin.h
/usr/include/hookd/plugin.hpp
/usr/include/hookd/plugin_testing.hpp
/usr/$cmakedir/hookd-plugin-exports.map
/usr/$cmakedir/hookdConfig.cmake
/usr/$cmakedir/hookdConfigVersion.cmake
/usr/$cmakedir/hookdPluginHelpers.cmake
/usr/share/doc/hookd-dev/changelog.gz
/usr/share/doc/hookd-dev/copyright"
diff -u <(echo "$expected_hookd") <(files "$deb") || fail "unexpected files in $(basename "$deb")"
diff -u <(echo "$expected_dev" | sort) <(files "$dev") || fail "unexpected files in $(basename "$dev")"
dpkg-deb -c "$deb" | grep '^-rwxr-xr-x root/root .* ./usr/bin/hookd$' >/dev/null ||
  fail "/usr/bin/hookd is not root-owned 0755"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for d in adduser init-system-helpers libc6 libssl3 libsqlite3-0 libstdc++6; do
  [[ ", $depends," == *", $d "* || ", $depends," == *", $d,"* ]] || fail "Depends lacks $d"
done
[ "$(dpkg-deb -f "$dev" Depends)" = "hookd (= $(dpkg-deb -f "$deb" Version))" ] ||
  fail "hookd-dev Depends: $(dpkg-deb -f "$dev" Depends)"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -x /etc/hookd/hookd.yaml >/dev/null ||
  fail "/etc/hookd/hookd.yaml is not a conffile"

step "lintian"
for f in "$deb" "$dev"; do
  status=0
  lintian --fail-on error --tag-display-limit 0 "$f" >"$work/lintian.log" 2>&1 || status=$?
  cat "$work/lintian.log"
  [ "$status" = 0 ] || fail "lintian reports errors for $(basename "$f")"
done

step "systemd units"
mkdir -p "$work/unpacked"
dpkg-deb -x "$deb" "$work/unpacked"
units=$work/unpacked/lib/systemd/system
# verify checks that ExecStart's binary exists, and this machine has no /usr/bin/hookd: the
# copies in $work/units name the unpacked one instead (the only change), and load the
# rest (sysinit.target, /bin/kill) from this machine's systemd.
mkdir -p "$work/units"
for u in hookd.service hookd.socket hookd-admin.socket; do
  sed "s|^ExecStart=/usr/bin/hookd |ExecStart=$work/unpacked/usr/bin/hookd |" "$units/$u" >"$work/units/$u"
done
grep -q "^ExecStart=$work/unpacked/usr/bin/hookd serve " "$work/units/hookd.service" ||
  fail "hookd.service has no ExecStart=/usr/bin/hookd serve ..."
for u in hookd.service hookd.socket hookd-admin.socket; do
  out=$(systemd-analyze verify "$work/units/$u" 2>&1) || fail "systemd-analyze verify $u: $out"
  [ -z "$out" ] || fail "systemd-analyze verify $u warns: $out"
done
exposure=$(systemd-analyze security --offline=true "$units/hookd.service" 2>&1 |
  sed -n 's/.*Overall exposure level for hookd.service: \([0-9.]*\).*/\1/p')
echo "exposure: $exposure"
[ -n "$exposure" ] && awk "BEGIN { exit !($exposure <= 2.5) }" || fail "exposure '$exposure' > 2.5"

step "debootstrap --variant=minbase bookworm"
if [ -f "$cache" ] && [ -z "${HOOKD_DEB_FRESH_ROOT:-}" ]; then
  echo "(cached: $cache)"
  mkdir -p "$root"
  tar -xzf "$cache" -C "$root"
else
  run_logged "$work/debootstrap.log" debootstrap --variant=minbase bookworm "$root" "$mirror"
  tar -czf "$cache.new" -C "$root" . && mv "$cache.new" "$cache"
fi
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No service starts in the chroot (there is no systemd running there anyway).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

step "apt-get install ./$(basename "$deb") in the root"
cp "$deb" "$root/tmp/"
run_logged "$work/apt-update.log" in_root apt-get update
run_logged "$work/apt-install.log" in_root apt-get install -y --no-install-recommends "/tmp/$(basename "$deb")"
in_root dpkg-query -W -f='${Status}\n' hookd | grep -x 'install ok installed' >/dev/null || fail "hookd is not installed"
in_root getent passwd hookd | grep ':/var/lib/hookd:/usr/sbin/nologin$' >/dev/null ||
  fail "user hookd: $(in_root getent passwd hookd)"
[ "$(in_root stat -c '%U:%G %a' /var/lib/hookd)" = "hookd:hookd 750" ] ||
  fail "/var/lib/hookd is $(in_root stat -c '%U:%G %a' /var/lib/hookd)"
[ "$(in_root stat -c '%U:%G %a' /etc/hookd/jofi-password)" = "root:hookd 640" ] ||
  fail "/etc/hookd/jofi-password: $(in_root stat -c '%U:%G %a' /etc/hookd/jofi-password)"
[ -L "$root/etc/systemd/system/multi-user.target.wants/hookd.service" ] ||
  fail "hookd.service is not enabled"
[ ! -e "$root/etc/systemd/system/sockets.target.wants/hookd.socket" ] ||
  fail "hookd.socket is enabled; it should not be"

step "hookd check -c /etc/hookd/hookd.yaml (as hookd)"
as_hookd=(setpriv --reuid=hookd --regid=hookd --init-groups sh -c)
as_hookd() { in_root "${as_hookd[@]}" "cd /var/lib/hookd && $1"; }
as_hookd 'hookd check -c /etc/hookd/hookd.yaml' || fail "hookd check exited $?"

step "hookd serve on the packaged config (loopback ports, under strace)"
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || break
  done
  echo "$p"
}
port=$(free_port)
admin_port=$(free_port)
[ "$port" != "$admin_port" ] || admin_port=$((port + 1))
sed -e "s/0\.0\.0\.0:443/127.0.0.1:$port/" -e "s/127\.0\.0\.1:9090/127.0.0.1:$admin_port/" \
  "$root/etc/hookd/hookd.yaml" >"$root/tmp/hookd-test.yaml"
chmod 0644 "$root/tmp/hookd-test.yaml"
# strace records every system call of hookd, its plugin hosts and their children, for the
# unit's SystemCallFilter below. Its child is hookd itself (chroot, env, setpriv and sh
# exec it), which strace's exit status reports.
strace -f -qq -o "$work/strace.out" chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  "${as_hookd[@]}" 'cd /var/lib/hookd && exec hookd serve -c /tmp/hookd-test.yaml' \
  >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "hookd serve exited"; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null || { cat "$work/serve.log" >&2; fail "/readyz"; }
password=$(cat "$root/etc/hookd/jofi-password")
[ ${#password} -ge 20 ] || fail "the generated password is too short: ${#password} characters"
code=$(curl -ksS -o "$work/post.out" -w '%{http_code}' -u "jofi:$password" \
  "https://127.0.0.1:$port/webhooks/incoming/jofi" -d '{"id":"evt_pkg","type":"invitation.accepted"}')
[ "$code" = 202 ] || { cat "$work/post.out" "$work/serve.log" >&2; fail "POST answered $code"; }
code=$(curl -ksS -o /dev/null -w '%{http_code}' -u "jofi:wrong" \
  "https://127.0.0.1:$port/webhooks/incoming/jofi" -d '{"id":"evt_x","type":"x"}')
[ "$code" = 401 ] || fail "a wrong password answered $code"
# The log plugin runs in a `hookd plugin-host` child: the line shows the delivery ran.
for _ in $(seq 100); do
  grep -qs '"id":"evt_pkg"' "$root/var/lib/hookd/events.jsonl" && break
  sleep 0.1
done
grep -qs '"id":"evt_pkg"' "$root/var/lib/hookd/events.jsonl" ||
  { cat "$work/serve.log" >&2; fail "the log plugin wrote no line for evt_pkg"; }
[ "$(in_root stat -c '%U %a' /var/lib/hookd/hookd.db /var/lib/hookd/tls/key.pem | sort -u)" = "hookd 600" ] ||
  fail "store or TLS key: $(in_root stat -c '%n %U %a' /var/lib/hookd/hookd.db /var/lib/hookd/tls/key.pem)"
hookd_pid=$(cat "$root/var/lib/hookd/hookd.db.lock")
# systemctl reload: ExecReload=/bin/kill -HUP $MAINPID.
kill -HUP "$hookd_pid"
for _ in $(seq 50); do
  grep -q 'reloaded /tmp/hookd-test.yaml' "$work/serve.log" && break
  sleep 0.1
done
grep -q 'reloaded /tmp/hookd-test.yaml' "$work/serve.log" || { cat "$work/serve.log" >&2; fail "no reload on SIGHUP"; }
kill -TERM "$hookd_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
[ "$status" = 0 ] || { cat "$work/serve.log" >&2; fail "hookd serve exited $status on SIGTERM"; }

step "system calls of hookd serve against the unit's SystemCallFilter"
grep -x 'SystemCallFilter=@system-service' "$units/hookd.service" >/dev/null &&
  grep -x 'SystemCallFilter=~@privileged' "$units/hookd.service" >/dev/null ||
  fail "hookd.service's SystemCallFilter is not @system-service ~@privileged: update this check"
syscalls() { # the calls of a systemd-analyze syscall-filter group, its subgroups expanded
  systemd-analyze syscall-filter "$1" | awk 'NR > 1 && NF == 1 && $1 !~ /^#/ { print $1 }' |
    while read -r c; do if [[ $c == @* ]]; then syscalls "$c"; else echo "$c"; fi; done
}
comm -23 <(syscalls @system-service | sort -u) <(syscalls @privileged | sort -u) >"$work/allowed.txt"
# From hookd's execve on (before it: setpriv dropping to user hookd, which systemd does).
awk '/execve\("\/usr\/bin\/hookd"/ { on = 1 } on { c = $2; sub(/\(.*/, "", c); print c }' \
  "$work/strace.out" | grep -E '^[a-z0-9_]+$' | sort -u >"$work/used.txt"
[ "$(wc -l <"$work/used.txt")" -gt 50 ] || fail "strace recorded only $(wc -l <"$work/used.txt") calls"
denied=$(comm -23 "$work/used.txt" "$work/allowed.txt")
[ -z "$denied" ] || fail "hookd used system calls the unit denies: $denied"
echo "$(wc -l <"$work/used.txt") distinct calls, all allowed"
# MemoryDenyWriteExecute: no mapping is writable and executable, none made executable later.
wx=$(grep -E 'm(map|protect)\(.*PROT_[A-Z|]*WRITE[A-Z|]*EXEC|mprotect\(.*PROT_EXEC' "$work/strace.out" || true)
[ -z "$wx" ] || fail "W+X memory (MemoryDenyWriteExecute=yes would refuse it): $wx"
# ProtectSystem=strict: files opened for writing are under /var/lib/hookd (or /dev/null).
written=$(grep -E 'open(at)?\(.*O_(WRONLY|RDWR|CREAT)' "$work/strace.out" | grep -v ' = -1 ' |
  grep -oE '"[^"]*"' | tr -d '"' | grep -vE '^(/var/lib/hookd/|/dev/null$)' | sort -u || true)
[ -z "$written" ] || fail "hookd wrote outside /var/lib/hookd: $written"

step "apt-get remove keeps the data; purge removes it"
run_logged "$work/apt-remove.log" in_root apt-get remove -y hookd
[ -f "$root/var/lib/hookd/hookd.db" ] || fail "remove deleted /var/lib/hookd/hookd.db"
in_root getent passwd hookd >/dev/null || fail "remove deleted the user"
[ -f "$root/etc/hookd/hookd.yaml" ] || fail "remove deleted the conffile"
run_logged "$work/apt-purge.log" in_root apt-get purge -y hookd
[ ! -e "$root/var/lib/hookd" ] || fail "purge left /var/lib/hookd"
[ ! -e "$root/etc/hookd" ] || fail "purge left /etc/hookd: $(ls -A "$root/etc/hookd")"
! in_root getent passwd hookd >/dev/null || fail "purge left the user hookd"
! in_root getent group hookd >/dev/null || fail "purge left the group hookd"

step "ok"
