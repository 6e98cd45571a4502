#!/usr/bin/env bash
# Durable acks/s over TLS keep-alive, measured with wrk (an independent load generator):
# starts the release hookd on a temp dir for each durability mode, posts ~1 KiB JSON events
# with unique ids from 64 connections, and prints requests/s, latency and the mean commit
# batch size (from /metrics). Usage: bench/wrk-ingest.sh [duration, default 15s]
# MODES="full normal" (default), MAX_EVENTS / MAX_WAIT (batch), AUTHS="none github": the routes'
# auth; with github every request carries a valid X-Hub-Signature-256 (pre-signed by
# bench/presign.py, so wrk spends no time on HMACs).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15s}
connections=${CONNECTIONS:-64}
scripts/setup.sh wrk >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release --target hookd >/dev/null
bin=$PWD/build/release/app/hookd
presigned=$(mktemp -u /tmp/hookd-presigned-XXXXXX)
trap 'rm -f "$presigned"' EXIT

printf '| auth | durability | connections | requests/s | p50 ms | p99 ms | mean batch | non-2xx |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for auth in ${AUTHS:-none}; do
for mode in ${MODES:-full normal}; do
  dir=$(mktemp -d)
  cat >"$dir/hookd.yaml" <<YAML
server:
  listen: 127.0.0.1:0
  tls: { cert: tls/cert.pem, key: tls/key.pem, self_signed: true }
admin: { listen: 127.0.0.1:0 }
storage:
  path: hookd.db
  durability: $mode
  batch: { max_events: ${MAX_EVENTS:-1024}, max_wait: ${MAX_WAIT:-1ms} }
routes:
  - { name: bench, path: /webhooks/bench, auth: none, event: { id: json:/id, type: json:/type } }
  - name: github
    path: /webhooks/github
    auth: [ { hmac: { scheme: github, secrets: [bench-secret] } } ]
YAML
  (cd "$dir" && exec "$bin" serve -c hookd.yaml 2>"$dir/log") &
  pid=$!
  for _ in $(seq 100); do grep -q 'admin listening' "$dir/log" 2>/dev/null && break; sleep 0.1; done
  port=$(grep -oP 'webhooks on https://[^ ]*:\K[0-9]+' "$dir/log")
  admin=$(grep -oP 'admin listening on http://[^ ]*:\K[0-9]+' "$dir/log")
  if [[ $auth == github ]]; then
    [[ -f "$presigned" ]] || python3 bench/presign.py bench-secret "${PRESIGN_COUNT:-200000}" "$presigned"
    out=$(PRESIGNED=$presigned WRK_THREADS=2 wrk -t2 -c"$connections" -d"$duration" --latency \
          -s bench/wrk-presigned.lua "https://127.0.0.1:$port/webhooks/github")
  else
    out=$(wrk -t2 -c"$connections" -d"$duration" --latency -s bench/wrk-ingest.lua \
          "https://127.0.0.1:$port/webhooks/bench")
  fi
  metrics=$(curl -s "http://127.0.0.1:$admin/metrics")
  kill -TERM $pid; wait $pid || true
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(grep -oP 'p50_ms=\K[0-9.]+' <<<"$out")
  p99=$(grep -oP 'p99_ms=\K[0-9.]+' <<<"$out")
  non2xx=$(grep -oP 'Non-2xx or 3xx responses: \K[0-9]+' <<<"$out" || echo 0)
  sum=$(awk '/^hookd_commit_batch_size_sum/ {print $2}' <<<"$metrics")
  count=$(awk '/^hookd_commit_batch_size_count/ {print $2}' <<<"$metrics")
  mean=$(awk -v s="$sum" -v c="$count" 'BEGIN { if (c > 0) printf "%.1f", s / c; else print "-" }')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$auth" "$mode" "$connections" "$rps" "$p50" "$p99" "$mean" "$non2xx"
  rm -rf "$dir"
done
done
