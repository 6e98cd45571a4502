#!/usr/bin/env bash
# Instructions per acknowledged request, repeatable on a noisy machine: hookd (release build,
# `durability: full`, GitHub HMAC route) under callgrind; after a warm-up the counters are
# zeroed, hookd-bench sends a fixed number of requests, and the counters are dumped. Prints
# the instructions per request of the whole process and per thread (main + io-N: the I/O
# threads; the outbox writer and the checkpointer are the others).
#
# Usage: bench/io-callgrind.sh [requests, default 3000]
# Environment: HOOKD (binary, default build/release/app/hookd), BENCH (hookd-bench),
# CONNECTIONS (16), IO_THREADS (2), OUT (directory for the callgrind files, default a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-3000}
hookd=${HOOKD:-$PWD/build/release/app/hookd}
bench=${BENCH:-$PWD/build/release/bench/hookd-bench}
connections=${CONNECTIONS:-16}
secret=io-callgrind-secret
work=$(mktemp -d /tmp/hookd-io-callgrind-XXXXXX)
out=${OUT:-$work}
mkdir -p "$out"
pid=
cleanup() {
  [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work/hookd"
}
trap cleanup EXIT

mkdir -p "$work/hookd"
cat >"$work/hookd/hookd.yaml" <<YAML
server:
  listen: 127.0.0.1:0
  io_threads: ${IO_THREADS:-2}
  tls: { cert: tls/cert.pem, key: tls/key.pem, self_signed: true }
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
(cd "$work/hookd" && exec valgrind --tool=callgrind --separate-threads=yes \
   --callgrind-out-file="$out/callgrind.out.%p" "$hookd" serve -c hookd.yaml 2>"$work/hookd/log") &
pid=$!
for _ in $(seq 600); do grep -q 'admin listening' "$work/hookd/log" 2>/dev/null && break; sleep 0.1; done
port=$(grep -oP 'webhooks on https://[^ ]*:\K[0-9]+' "$work/hookd/log")
url=https://127.0.0.1:$port/webhooks/github
export HOOKD_BENCH_SECRET=$secret
"$bench" "$url" -c "$connections" -n 500 -d 120s --scheme github --json >/dev/null  # warm-up
callgrind_control -z "$pid" >/dev/null
"$bench" "$url" -c "$connections" -n "$requests" -d 600s --scheme github --json >"$work/run.json"
callgrind_control -d measured "$pid" >/dev/null
answered=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"], r["status"])' "$work/run.json")
echo "requests: $answered"
python3 - "$out" "$pid" "${answered%% *}" <<'EOF'
import glob, re, sys
out, pid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
total = 0
rows = []
for f in sorted(glob.glob(f"{out}/callgrind.out.{pid}.1-*")):
    text = open(f, errors="replace").read()
    m = re.search(r"^summary: (\d+)", text, re.M) or re.search(r"^totals: (\d+)", text, re.M)
    ir = int(m.group(1)) if m else 0
    thread = re.search(r"-(\d+)$", f)
    rows.append((f.rsplit("-", 1)[-1], ir))
    total += ir
for t, ir in rows:
    if ir:
        print(f"thread {t}: {ir / n:,.0f} instructions/request")
print(f"total: {total / n:,.0f} instructions/request over {n} requests")
EOF
