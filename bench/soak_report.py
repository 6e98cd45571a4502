#!/usr/bin/env python3
"""Turns the files of a bench/soak run (samples.tsv, hookd-bench's report.json and
intervals.jsonl, the acknowledged ids, the store and the log plugin's file) into the
verdict: every check with its number. Prints it, draws the chart with gnuplot and, with
--docs, writes it into docs/benchmarks.md between the bench/soak markers. Exit 1 when a
check fails."""
import argparse
import datetime
import json
import os
import sqlite3
import subprocess
import sys

BEGIN, END = "<!-- bench/soak:begin -->", "<!-- bench/soak:end -->"
MAX_GROWTH = 0.05  # RSS and descriptors: at most 5% over the run after the warm-up
WAL_BOUND = 2 * 64 * 1024 * 1024  # twice journal_size_limit
BACKLOG_SECONDS = 2  # the backlog stays under this many seconds of load


def read_samples(path):
    rows = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            values = line.rstrip("\n").split("\t")
            if len(values) == len(header):
                rows.append({k: float(v) for k, v in zip(header, values)})
    return rows


def read_intervals(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
    return out


def growth(rows, key):
    """The least-squares trend of `key` over `rows`, as a share of its mean, from the first
    sample to the last; and the minimum and maximum."""
    xs = [r["t"] for r in rows]
    ys = [r[key] for r in rows]
    n = len(xs)
    if n < 3:
        return None, min(ys, default=0), max(ys, default=0)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return (slope * (xs[-1] - xs[0]) / my if my else 0.0), min(ys), max(ys)


def check_ids(work):
    """Acknowledged ids that are neither in the store nor in the log plugin's file."""
    acked = set()
    with open(os.path.join(work, "acked.txt")) as f:
        for line in f:
            if line.strip():
                acked.add(line.strip())
    db = sqlite3.connect("file:" + os.path.join(work, "hookd.db") + "?mode=ro", uri=True)
    stored = {row[0] for row in db.execute("SELECT id FROM events WHERE route = 'github'")}
    db.close()
    delivered = set()
    logged = os.path.join(work, "events.jsonl")
    if os.path.exists(logged):
        with open(logged) as f:
            for line in f:
                try:
                    delivered.add(json.loads(line)["id"])
                except (ValueError, KeyError):
                    pass
    missing = acked - stored - delivered
    return len(acked), len(stored & acked), len((acked - stored) & delivered), sorted(missing)[:5], len(missing)


def chart(args, samples, intervals):
    data = os.path.join(args.work, "soak.dat")
    p99 = {round(i["t"]): i["latency_ms"] for i in intervals}
    with open(data, "w") as f:
        for r in samples:
            lat = p99.get(round(r["t"]), {})
            f.write("%f %f %f %d %f %d %f %f\n" % (
                r["t"] / 60, r["rss_kib"] / 1024, r["hosts_rss_kib"] / 1024, r["fds"],
                r["wal_bytes"] / 1048576, r["backlog"], lat.get("p99", float("nan")),
                lat.get("max", float("nan"))))
    warm = args.warmup / 60
    script = f"""
set terminal pngcairo size 1000,720 font "sans,10" background "white"
set output "{args.chart}"
set multiplot layout 2,2 title "bench/soak: {args.rate:,} requests/s for {args.duration // 60} min, 2 handlers per event, retention {args.retention}"
set termoption noenhanced
set grid
set xlabel "minutes"
set key top left
set arrow 1 from {warm}, graph 0 to {warm}, graph 1 nohead dt 2 lc rgb "#888888"
set title "resident memory (MiB)"
set yrange [0:*]
plot "{data}" using 1:2 with lines lw 2 lc rgb "#2f6fb0" title "hookd", "" using 1:3 with lines lw 2 lc rgb "#9bbbd9" title "plugin hosts"
set title "open descriptors (hookd)"
plot "{data}" using 1:4 with lines lw 2 lc rgb "#3a9a5b" title "fds"
set title "WAL (MiB) and backlog (deliveries)"
set y2tics
set y2range [0:*]
set ytics nomirror
plot "{data}" using 1:5 with lines lw 2 lc rgb "#d1803b" title "WAL", "" using 1:6 axes x1y2 with lines lw 1 lc rgb "#7f4fa0" title "backlog (right)"
unset y2tics
set ytics mirror
set title "senders' latency per {args.sample}s (ms)"
set logscale y
set yrange [0.1:*]
plot "{data}" using 1:7 with lines lw 2 lc rgb "#d1803b" title "p99", "" using 1:8 with lines lw 1 lc rgb "#b03a2f" title "max"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    p = argparse.ArgumentParser()
    for name in ("work", "machine", "version", "chart", "retention"):
        p.add_argument("--" + name, required=True)
    for name in ("rate", "duration", "warmup", "connections", "drained", "dead", "pruned"):
        p.add_argument("--" + name, type=int, required=True)
    p.add_argument("--sample", type=int, default=10)
    p.add_argument("--docs")
    args = p.parse_args()

    samples = read_samples(os.path.join(args.work, "samples.tsv"))
    intervals = read_intervals(os.path.join(args.work, "intervals.jsonl"))
    report = json.loads(open(os.path.join(args.work, "report.json")).read().strip().splitlines()[-1])
    # After the warm-up and while the load runs (the last sample may see it end).
    after = [r for r in samples if args.warmup <= r["t"] < args.duration]
    acked, in_store, pruned_delivered, examples, missing = check_ids(args.work)

    checks = []

    def check(name, value, ok):
        checks.append((name, value, ok))

    answered = report.get("requests", 0)
    statuses = report.get("status", {})
    errors = report.get("errors", {})
    non2xx = answered - statuses.get("202", 0) - statuses.get("200", 0)
    check("load: requests answered, of them not 2xx, errors",
          f"{answered:,} at {report.get('rps', 0):,.0f}/s; {non2xx:,}; "
          f"{sum(errors.values()):,}", non2xx == 0 and sum(errors.values()) == 0)
    check("every acknowledged id in the store, or delivered (log) and pruned",
          f"{acked:,} ids: {in_store:,} stored, {pruned_delivered:,} pruned after delivery, "
          f"{missing:,} missing" + (f" (e.g. {', '.join(examples)})" if examples else ""),
          missing == 0)
    check("dead deliveries; backlog drained after the load", f"{args.dead}; "
          f"{'yes' if args.drained else 'no'}", args.dead == 0 and args.drained == 1)
    for key, label in (("rss_kib", "hookd RSS"), ("hosts_rss_kib", "plugin hosts' RSS"),
                       ("fds", "hookd's open descriptors")):
        g, lo, hi = growth(after, key)
        unit = (lambda v: f"{v / 1024:.1f} MiB") if key != "fds" else (lambda v: f"{v:.0f}")
        check(f"{label} after the warm-up: trend, range",
              ("-" if g is None else f"{g * 100:+.1f}%") + f", {unit(lo)} to {unit(hi)}",
              g is not None and g <= MAX_GROWTH)
    wal_max = max((r["wal_bytes"] for r in after), default=0)
    db_max = max((r["db_bytes"] for r in after), default=0)
    check("WAL after the warm-up: largest (store file's largest)",
          f"{wal_max / 1048576:.1f} MiB ({db_max / 1048576:.0f} MiB)", wal_max <= WAL_BOUND)
    backlog_max = max((r["backlog"] for r in after), default=0)
    check("backlog after the warm-up: largest (pending + running deliveries)",
          f"{backlog_max:,.0f} ({backlog_max / max(args.rate, 1):.2f} s of load)",
          backlog_max <= BACKLOG_SECONDS * args.rate)
    p99s = sorted(i["latency_ms"]["p99"] for i in intervals if i["t"] >= args.warmup)
    lat = report.get("latency_ms", {})
    check(f"senders' latency: whole run p50 / p99 / p99.9 / max; p99 per {args.sample} s, median and worst",
          f"{lat.get('p50', 0):.2f} / {lat.get('p99', 0):.2f} / {lat.get('p99.9', 0):.1f} / "
          f"{lat.get('max', 0):.0f} ms; "
          + (f"{p99s[len(p99s) // 2]:.2f} and {p99s[-1]:.1f} ms" if p99s else "-"), True)
    cpu = [r["cpu_s"] for r in samples]
    if len(cpu) > 1:
        per_event = (cpu[-1] - cpu[0]) / max(1, (samples[-1]["t"] - samples[0]["t"]) * args.rate)
        check("hookd's CPU (server and plugin hosts) per event", f"{per_event * 1e6:.0f} µs", True)
    check("events deleted by retention", f"{args.pruned:,}", True)

    ok = all(c[2] for c in checks)
    lines = [
        f"Measured {datetime.date.today().isoformat()} on {args.machine}; {args.version}.",
        f"`bench/soak`: {args.rate:,} requests/s (open loop, {args.connections} connections) for "
        f"{args.duration // 60} minutes, GitHub HMAC, `durability: full`, two handlers per event "
        f"(no-op and `log`), `retention.done: {args.retention}`; a sample every {args.sample} s; "
        f"trends after a {args.warmup // 60}-minute warm-up.",
        "",
        "| check | measured | |",
        "|---|---|---|",
    ]
    for name, value, good in checks:
        lines.append(f"| {name} | {value} | {'ok' if good else '**fails**'} |")
    lines += ["", "![bench/soak](benchmarks/soak.png)"]
    section = "\n".join(lines)
    print(section)
    chart(args, samples, intervals)
    if args.docs:
        text = open(args.docs).read()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
        else:
            head, tail = text.rstrip("\n") + "\n\n## Soak: 30 minutes under load (bench/soak)\n\n", "\n"
        open(args.docs, "w").write(head + BEGIN + "\n" + section + "\n" + END + tail)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
