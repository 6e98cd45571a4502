#!/usr/bin/env bash
# CPU per acknowledged request on the I/O path: nginx `return 204` and hookd
# (`durability: full`, GitHub HMAC route) under the same wrk load, alternately, in one run.
# For each server: wrk's requests/s and the server's CPU (utime + stime of every process
# of it, from /proc/PID/stat, over the run) per request.
#
# Usage: bench/io-cpu.sh [duration, default 10s]
# Environment: ROUNDS (2), CONNECTIONS (64), WRK_THREADS (1), HOOKD (space-separated hookd
# binaries to compare, default build/release/app/hookd), PRESIGN_COUNT (400000).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
rounds=${ROUNDS:-2}
connections=${CONNECTIONS:-64}
wrk_threads=${WRK_THREADS:-1}
secret=io-cpu-secret
hookds=${HOOKD:-$PWD/build/release/app/hookd}
tick=$(getconf CLK_TCK)

work=$(mktemp -d /tmp/hookd-io-cpu-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
python3 bench/presign.py "$secret" "${PRESIGN_COUNT:-400000}" "$work/presigned"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# cpu_ticks PID...: utime + stime of the processes (all their threads), in clock ticks.
cpu_ticks() {
  local sum=0 p
  for p in "$@"; do
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$sum"
}

start_nginx() {
  local dir=$work/nginx
  mkdir -p "$dir/tmp"
  port=$(free_port)
  local user=""
  [[ $(id -u) -eq 0 ]] && user="user root;"
  cat >"$dir/nginx.conf" <<CONF
$user
worker_processes $(nproc);
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    client_max_body_size 1m;
    location / { return 204; }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do curl -sk -o /dev/null "https://127.0.0.1:$port/" && break; sleep 0.1; done
  procs=("$pid" $(pgrep -P "$pid"))
}

start_hookd() {
  local dir=$work/hookd
  rm -rf "$dir"
  mkdir -p "$dir"
  cat >"$dir/hookd.yaml" <<YAML
server:
  listen: 127.0.0.1:0
  tls: { cert: $work/cert.pem, key: $work/key.pem }
admin: { listen: 127.0.0.1:0 }
storage:
  path: hookd.db
  durability: full
  batch: { max_events: 1024, max_wait: 1ms }
routes:
  - name: github
    path: /webhooks/github
    auth: [ { hmac: { scheme: github, secrets: [$secret] } } ]
    event: { id: json:/id, type: json:/type }
YAML
  (cd "$dir" && exec "$1" serve -c hookd.yaml 2>"$dir/log") &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do grep -q 'admin listening' "$dir/log" 2>/dev/null && break; sleep 0.1; done
  port=$(grep -oP 'webhooks on https://[^ ]*:\K[0-9]+' "$dir/log")
  procs=("$pid")
}

stop() {
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
}

# measure NAME: wrk against the running server; prints one table row.
measure() {
  local before after out rps requests non2xx
  before=$(cpu_ticks "${procs[@]}")
  out=$(PRESIGNED=$work/presigned WRK_THREADS=$wrk_threads wrk -t"$wrk_threads" \
        -c"$connections" -d"$duration" -s bench/wrk-presigned.lua \
        "https://127.0.0.1:$port/webhooks/github")
  after=$(cpu_ticks "${procs[@]}")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  non2xx=$(grep -oP 'Non-2xx or 3xx responses: \K[0-9]+' <<<"$out" || echo 0)
  awk -v name="$1" -v rps="$rps" -v n="$requests" -v t=$((after - before)) -v hz="$tick" \
      -v bad="$non2xx" 'BEGIN { printf "| %s | %.0f | %.1f | %.2f | %d |\n", name, rps,
                                t / hz / n * 1e6, t / hz, bad }'
}

printf '| server | req/s | CPU µs/request | CPU s | non-2xx |\n|---|---|---|---|---|\n'
for round in $(seq "$rounds"); do
  start_nginx
  measure "nginx (round $round)"
  stop
  for h in $hookds; do
    start_hookd "$h"
    measure "hookd $h (round $round)"
    stop
  done
done
