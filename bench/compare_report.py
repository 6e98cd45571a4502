#!/usr/bin/env python3
"""Turns the raw results of bench/compare (hookd-bench JSON, wrk output, /metrics) into
the comparison table with ratios and goals, prints it, draws the chart with gnuplot and,
with --docs, writes it into docs/benchmarks.md between the bench/compare markers."""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys

TARGETS = [
    ("nginx", "nginx `return 204`", "TLS + HTTP only: the ceiling"),
    ("full", "hookd, `durability: full`", "GitHub HMAC, JSON, group commit, fsync"),
    ("normal", "hookd, `durability: normal`", "the same without fsync per commit"),
    ("batch1", "hookd, `max_events: 1`", "full, one fsync'd transaction per request"),
]
# Measured with hookd-bench only (durability full): handlers per event, and a full store.
MORE = [
    ("noop1", "hookd + 1 no-op handler per event", 1),
    ("noop4", "hookd + 4 no-op handlers per event", 4),
    ("grown", "hookd, store already holding {events} events", 0),
]
CHART_LABELS = {"nginx": "nginx 204", "full": "hookd full", "normal": "normal",
                "batch1": "1 fsync/req"}
BEGIN, END = "<!-- bench/compare:begin -->", "<!-- bench/compare:end -->"


def load_bench(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def load_wrk(path):
    try:
        text = open(path).read()
    except OSError:
        return None
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"p50_ms=([\d.]+) p99_ms=([\d.]+)", text)
    out["p50"], out["p99"] = (float(m.group(1)), float(m.group(2))) if m else (0.0, 0.0)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", text)
    out["errors"] = m.group(1).strip() if m else ""
    return out


def mean_batch(path):
    try:
        text = open(path).read()
    except OSError:
        return None
    s = re.search(r"^hookd_commit_batch_size_sum (\S+)", text, re.M)
    c = re.search(r"^hookd_commit_batch_size_count (\S+)", text, re.M)
    if not s or not c or float(c.group(1)) == 0:
        return None
    return float(s.group(1)) / float(c.group(1))


def load_number(path):
    try:
        return float(open(path).read().strip())
    except (OSError, ValueError):
        return None


def cpu_us(args, key, bench):
    """Server CPU (its children included) per request answered by hookd-bench, in µs."""
    cpu = load_number(os.path.join(args.work, key + ".cpu"))
    n = (bench or {}).get("requests")
    return None if cpu is None or not n else cpu * 1e6 / n


def seconds(duration):
    m = re.fullmatch(r"([\d.]+)(ms|s|m)?", duration)
    if not m:
        return None
    return float(m.group(1)) * {"ms": 1e-3, "s": 1, "m": 60, None: 1}[m.group(2)]


def fmt(v, digits=0):
    return "-" if v is None else f"{v:,.{digits}f}"


def ratio(a, b):
    return None if not a or not b else a / b


def build(args):
    bench = {k: load_bench(os.path.join(args.work, k + ".bench.json")) for k, _, _ in TARGETS}
    wrk = {k: load_wrk(os.path.join(args.work, k + ".wrk.txt")) for k, _, _ in TARGETS}
    batch = {k: mean_batch(os.path.join(args.work, k + ".metrics")) for k, _, _ in TARGETS}
    idle = load_bench(os.path.join(args.work, "idle.bench.json"))
    rps = {k: (b or {}).get("rps") for k, b in bench.items()}
    wrps = {k: (w or {}).get("rps") for k, w in wrk.items()}

    tls = sorted({b.get("tls") for b in bench.values() if b and b.get("tls")})
    lines = []
    lines.append(f"{args.connections} keep-alive connections ({', '.join(tls) or 'no TLS'}), "
                 f"{args.threads} load threads, {args.duration} per measurement, 1 KiB JSON "
                 "bodies with unique ids and a valid `X-Hub-Signature-256` each.")
    lines.append("")
    lines.append("| target | what it does | hookd-bench req/s | × nginx | p50 ms | p99 ms | "
                 "p99.9 ms | max ms | server CPU µs/req | × nginx | wrk req/s | × nginx | "
                 "wrk p99 ms | mean batch | non-2xx | missing from store |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    cpu = {k: cpu_us(args, k, bench[k]) for k, _, _ in TARGETS}
    for key, name, what in TARGETS:
        b, w = bench[key] or {}, wrk[key] or {}
        lat = b.get("latency_ms", {})
        non2xx = sum(n for s, n in b.get("status", {}).items() if not s.startswith("2"))
        non2xx += sum(b.get("errors", {}).values())
        missing = (b.get("verify") or {}).get("missing") if key != "nginx" else None
        lines.append(
            f"| {name} | {what} | {fmt(rps[key])} | {fmt(ratio(rps[key], rps['nginx']), 2)} | "
            f"{fmt(lat.get('p50'), 2)} | {fmt(lat.get('p99'), 2)} | {fmt(lat.get('p99.9'), 2)} | "
            f"{fmt(lat.get('max'), 2)} | {fmt(cpu[key], 1)} | "
            f"{fmt(ratio(cpu[key], cpu['nginx']), 2)} | {fmt(wrps[key])} | "
            f"{fmt(ratio(wrps[key], wrps['nginx']), 2)} | {fmt(w.get('p99'), 2)} | "
            f"{fmt(batch[key], 1)} | {non2xx} / {w.get('non2xx', '-')} | "
            f"{'n/a' if missing is None else missing} |")
    lines.append("")
    lines.append("non-2xx: hookd-bench / wrk (nginx answers 204, hookd 202; wrk repeats its "
                 "pre-signed requests when it runs out, which hookd answers 200 duplicate). "
                 "Server CPU: user + system time of the server process and its children over "
                 "the hookd-bench run, per request answered.")
    lines.append("")
    more = {k: load_bench(os.path.join(args.work, k + ".bench.json")) for k, _, _ in MORE}
    drain = {k: load_number(os.path.join(args.work, k + ".drain")) for k, _, _ in MORE}
    fill = load_number(os.path.join(args.work, "grown.fill"))
    run_s = seconds(args.duration)
    lines.append("With hookd-bench only, `durability: full`; handlers are `bench/noop_plugin.c` "
                 "in its plugin host (the default isolation); drain: from the end of the load "
                 "until every accepted event's deliveries are done.")
    lines.append("")
    lines.append("| target | req/s | × no handler (`full`) | p99 ms | max ms | server CPU "
                 "µs/req | backlog drained in | ÷ run time | non-2xx | missing from store |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for key, name, handlers in MORE:
        b = more[key] or {}
        lat = b.get("latency_ms", {})
        non2xx = sum(n for st, n in b.get("status", {}).items() if not st.startswith("2"))
        non2xx += sum(b.get("errors", {}).values())
        d = drain[key]
        lines.append(
            f"| {name.format(events=f'{args.store_events:,}')} | {fmt(b.get('rps'))} | "
            f"{fmt(ratio(b.get('rps'), rps['full']), 2)} | {fmt(lat.get('p99'), 2)} | "
            f"{fmt(lat.get('max'), 2)} | {fmt(cpu_us(args, key, b), 1)} | "
            f"{'-' if not handlers else fmt(d, 1) + ' s'} | "
            f"{'-' if not handlers or d is None or not run_s else fmt(d / run_s * 100, 0) + '%'} | "
            f"{non2xx} | {(b.get('verify') or {}).get('missing', '-')} |")
    lines.append("")
    if fill is not None:
        lines.append(f"The store was filled with {args.store_events:,} settled events by "
                     f"`hookd_store_bench --fill` in {fill:.0f} s before hookd started on it.")
        lines.append("")

    goals = []
    full_p99 = ((bench["full"] or {}).get("latency_ms") or {}).get("p99")
    missing = [((bench[k] or {}).get("verify") or {}).get("missing") for k in
               ("full", "normal", "batch1")]
    checked = sum(((bench[k] or {}).get("verify") or {}).get("checked", 0) for k in
                  ("full", "normal", "batch1"))
    rss = (idle or {}).get("server_rss_kib")
    opened = (idle or {}).get("connections_opened", 0)

    def goal(text, value, ok):
        goals.append(f"| {text} | {value} | {'**met**' if ok else '**not met**'} |")

    r = ratio(rps["full"], rps["nginx"])
    goal("hookd `full` ≥ 50% of nginx (hookd-bench)", fmt(r and r * 100, 0) + "%",
         r is not None and r >= 0.5)
    r = ratio(wrps["full"], wrps["nginx"])
    goal("the same, measured with wrk", fmt(r and r * 100, 0) + "%", r is not None and r >= 0.5)
    r = ratio(rps["full"], rps["batch1"])
    goal("group commit ≥ 5× one fsync per request", fmt(r, 1) + "×", r is not None and r >= 5)
    goal(f"p99 < 10 ms at {args.connections} connections (`full`)", fmt(full_p99, 2) + " ms",
         full_p99 is not None and full_p99 < 10)
    goal("no 2xx id missing from the store", f"{sum(m or 0 for m in missing)} of {checked:,}",
         all(m == 0 for m in missing))
    nginx_idle = load_bench(os.path.join(args.work, "nginx.idle.json")) or {}
    goal(f"RSS ≤ nginx's at {args.idle:,} idle keep-alive connections",
         f"{fmt(rss and rss / 1024, 1)} MiB ({opened:,} open; nginx: "
         f"{fmt(args.nginx_idle_kib / 1024, 1)} MiB with "
         f"{nginx_idle.get('connections_opened', 0):,} open)",
         rss is not None and rss <= args.nginx_idle_kib and opened >= args.idle)
    r = ratio(cpu["full"], cpu["nginx"])
    goal("hookd `full` CPU per event ≤ 2× nginx's per request", fmt(r, 2) + "×",
         r is not None and r <= 2)
    for key, floor in (("noop1", 0.8), ("noop4", 0.6)):
        r = ratio((more[key] or {}).get("rps"), rps["full"])
        d = drain[key]
        goal(f"{dict((k, n) for k, n, _ in MORE)[key]}: ≥ {floor}× the no-handler rate, "
             "backlog drained in ≤ 10% of the run",
             f"{fmt(r, 2)}×, {'-' if d is None else fmt(d, 1)} s",
             r is not None and r >= floor and d is not None and run_s and d <= 0.1 * run_s)
    r = ratio((more["grown"] or {}).get("rps"), rps["full"])
    goal(f"ingest with {args.store_events:,} events stored ≥ 0.8× the empty store", fmt(r, 2) + "×",
         r is not None and r >= 0.8)
    lines.append("| goal | measured | |")
    lines.append("|---|---|---|")
    lines.extend(goals)
    return "\n".join(lines), bench, wrk


def chart(args, bench, wrk):
    data = os.path.join(args.work, "compare.dat")
    with open(data, "w") as f:
        for key, name, _ in TARGETS:
            b, w = bench[key] or {}, wrk[key] or {}
            lat = b.get("latency_ms", {})
            label = CHART_LABELS[key]
            f.write('"%s" %f %f %f %f\n' % (label, b.get("rps", 0), w.get("rps", 0),
                                            lat.get("p50", 0), lat.get("p99", 0)))
    script = f"""
set terminal pngcairo size 1000,440 font "sans,10" background "white"
set output "{args.chart}"
set multiplot layout 1,2 title "bench/compare: {args.connections} TLS connections, 1 KiB signed JSON"
set termoption noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set xtics nomirror font ",10"
set key top right
set yrange [0:*]
set title "throughput (requests/s)"
plot "{data}" using 2:xtic(1) title "hookd-bench" lc rgb "#2f6fb0", "" using 3 title "wrk" lc rgb "#9bbbd9"
set title "latency, hookd-bench (ms)"
set key top left
set logscale y
set yrange [0.1:*]
plot "{data}" using 4:xtic(1) title "p50" lc rgb "#3a9a5b", "" using 5 title "p99" lc rgb "#d1803b"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def write_docs(args, section):
    text = open(args.docs).read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
    else:  # first run: after the introduction, before the first section
        cut = text.index("\n## ")
        head, tail = text[:cut + 1] + "\n", "\n" + text[cut:]
    open(args.docs, "w").write(head + BEGIN + "\n" + section + "\n" + END + tail)


def main():
    p = argparse.ArgumentParser()
    for name in ("work", "duration", "machine", "versions", "chart", "load"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--idle", type=int, required=True)
    p.add_argument("--nginx-idle-kib", type=int, default=0)
    p.add_argument("--store-events", type=int, default=0)
    p.add_argument("--docs")
    args = p.parse_args()
    table, bench, wrk = build(args)
    print(table)
    os.makedirs(os.path.dirname(args.chart), exist_ok=True)
    chart(args, bench, wrk)
    print(f"\nchart: {args.chart}", file=sys.stderr)
    if args.docs:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        image = os.path.relpath(args.chart, os.path.dirname(args.docs))
        section = "\n".join([
            "## Side by side: `bench/compare`", "",
            "Written by `bench/compare` (the README's benchmark command); every number below "
            "comes from its latest run. Each server runs alone, one after the other, with the "
            "load generator on the same two cores.", "",
            f"- Run: {now}, load average {args.load} before it", f"- Machine: {args.machine}", f"- Software: {args.versions}",
            f"- hookd-bench: `hookd-bench https://127.0.0.1:PORT/webhooks/github -c "
            f"{args.connections} -t {args.threads} -d {args.duration} --body-size 1024 "
            "--scheme github --json --verify-store DB --server-pid PID` (the secret in "
            "`HOOKD_BENCH_SECRET`)",
            f"- wrk: `wrk -t{args.threads} -c{args.connections} -d{args.duration} --latency "
            "-s bench/wrk-presigned.lua URL` over requests pre-signed by `bench/presign.py`",
            f"- idle: `hookd-bench URL -c {args.idle} -t {args.threads} --rate 0 -d 20s "
            "--server-pid PID` against a fresh nginx and then a fresh hookd (one request per connection, "
            "then all held open; hookd's RSS read at the end of the hold, nginx's master and "
            "workers summed from /proc during it)", "",
            table, "", f"![throughput and latency]({image})", ""])
        write_docs(args, section)
        print(f"wrote {args.docs}", file=sys.stderr)


if __name__ == "__main__":
    main()
