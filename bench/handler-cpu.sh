#!/usr/bin/env bash
# Where the CPU of an event with handlers goes: hookd (`durability: full`, GitHub HMAC
# route) with HANDLERS no-op handlers per event (bench/noop_plugin.c in its plugin host,
# the default isolation), under a closed hookd-bench load, then until the backlog is
# drained. For each hookd binary, alternately: requests/s, drain time, and the CPU per
# acknowledged event of every thread of hookd and of its plugin hosts (utime + stime from
# /proc/PID/task/TID/stat, over the load and the drain), by thread name; and the share of
# deliveries claimed by their append's transaction (hookd_deliveries_claimed_total).
#
# Usage: bench/handler-cpu.sh [duration, default 15s]
# Environment: ROUNDS (2), HANDLERS (1; 0: no handler), CONNECTIONS (64), HOOKD (space-separated hookd
# binaries to compare, default build/release/app/hookd), ISOLATION (process, the default, or
# thread).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15s}
rounds=${ROUNDS:-2}
handlers=${HANDLERS:-1}
connections=${CONNECTIONS:-64}
isolation=${ISOLATION:-process}
secret=handler-cpu-secret
hookds=${HOOKD:-$PWD/build/release/app/hookd}
bench=$PWD/build/release/bench/hookd-bench
noop=$PWD/build/release/bench/libhookd_bench_noop.so
cmake --build --preset release --target hookd-bench hookd_bench_noop >/dev/null

work=$(mktemp -d /tmp/hookd-handler-cpu-XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# snapshot: one line per thread of hookd and its children: "name ticks" (name = the
# thread's comm, prefixed with host/ for a plugin host's).
snapshot() {
  local p t prefix
  for p in "$pid" $(pgrep -P "$pid"); do
    prefix=""
    [[ $p != "$pid" ]] && prefix=host/
    for t in /proc/"$p"/task/*; do
      echo "$prefix$(tr ' ' _ <"$t/comm")/${t##*/} $(awk '{print $14 + $15}' "$t/stat")"
    done
  done 2>/dev/null
}

run_one() {  # run_one BINARY
  local dir=$work/hookd plugins="plugins:" route_handlers="    handlers:"
  rm -rf "$dir"
  mkdir -p "$dir"
  ((handlers == 0)) && plugins="" route_handlers=""  # ingest alone, for reference
  for i in $(seq "$handlers"); do
    plugins+=$'\n'"  noop$i: { library: $noop }"
    route_handlers+=$'\n'"      - { plugin: noop$i, types: [\"*\"] }"
  done
  cat >"$dir/hookd.yaml" <<YAML
server:
  listen: 127.0.0.1:0
  tls: { cert: $work/cert.pem, key: $work/key.pem }
admin: { listen: 127.0.0.1:0 }
storage:
  path: hookd.db
  durability: full
workers: { isolation: $isolation }
routes:
  - name: github
    path: /webhooks/github
    auth: [ { hmac: { scheme: github, secrets: [$secret] } } ]
    event: { id: json:/id, type: json:/type }
$route_handlers
$plugins
YAML
  (cd "$dir" && exec "$1" serve -c hookd.yaml 2>"$dir/log") &
  pid=$!
  for _ in $(seq 100); do grep -q 'admin listening' "$dir/log" 2>/dev/null && break; sleep 0.1; done
  local port admin
  port=$(grep -oP 'webhooks on https://[^ ]*:\K[0-9]+' "$dir/log")
  admin=$(grep -oP 'admin listening on http://[^ ]*:\K[0-9]+' "$dir/log")
  sleep 0.5
  snapshot >"$work/before"
  "$bench" "https://127.0.0.1:$port/webhooks/github" -c "$connections" -t 2 -d "$duration" \
    --scheme github --secret "$secret" --json >"$work/bench.json"
  local accepted start done_ drain
  accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"].get("202", 0))' "$work/bench.json")
  start=$(date +%s.%N)
  for _ in $(seq 3000); do
    done_=$(curl -s "http://127.0.0.1:$admin/metrics" |
      awk '$1 ~ /^hookd_deliveries_done_total/ {s += $2} END {printf "%d", s}')
    ((done_ >= accepted * handlers)) && break
    sleep 0.1
  done
  drain=$(echo "$(date +%s.%N) - $start" | bc)
  local at_append
  at_append=$(curl -s "http://127.0.0.1:$admin/metrics" | awk '
    $1 ~ /^hookd_deliveries_claimed_total/ { n++; if ($1 ~ /append/) a += $2; else c += $2 }
    END { if (n == 0 || a + c == 0) print "-"; else printf "%.0f%%", 100 * a / (a + c) }')
  snapshot >"$work/after"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
  python3 - "$work/before" "$work/after" "$work/bench.json" "$accepted" "$drain" "$1" \
    "$(getconf CLK_TCK)" "$at_append" <<'PY'
import json, re, sys
before = dict(l.split() for l in open(sys.argv[1]))
after = dict(l.split() for l in open(sys.argv[2]))
rps = json.load(open(sys.argv[3]))["rps"]
events, drain, binary, hz = int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], int(sys.argv[7])
at_append = sys.argv[8]
per = {}
for key, ticks in after.items():
    name = re.sub(r"/\d+$", "", key)  # by thread name: worker-1.. and lane-1.. summed below
    name = re.sub(r"-\d+$", "-*", name)
    per[name] = per.get(name, 0) + int(ticks) - int(before.get(key, 0))
us = lambda t: t * 1e6 / hz / max(events, 1)
total = sum(per.values())
cells = ", ".join(f"{n} {us(t):.1f}" for n, t in sorted(per.items(), key=lambda x: -x[1]) if t)
print(f"| {binary} | {rps:,.0f} | {drain:.1f} s | {at_append} | {us(total):.1f} | {cells} |")
PY
}

echo "$handlers no-op handler(s) per event, $connections connections, $duration per run"
echo
echo "| hookd | req/s | drain after | claimed at append | CPU µs/event | by thread (µs/event) |"
echo "|---|---|---|---|---|---|"
for _ in $(seq "$rounds"); do
  for h in $hookds; do run_one "$h"; done
done
