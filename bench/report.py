#!/usr/bin/env python3
"""Print run.sh's results as Markdown tables, with carbond/nginx and carbond/h2o ratios.

Usage: report.py RESULTS_TSV IDLE_TSV SERVERS...

RESULTS_TSV columns: file server rps p99_us cpu_us_per_req peak_rss_kib requests errors mode
IDLE_TSV columns:    server rss_before_kib rss_after_kib alive per_conn_bytes

mode is plain (HTTP/1.1 keep-alive), close (plain HTTP/1.1, a new connection per
request), many (plain keep-alive over BENCH_MANY_CONNS connections), https
(keep-alive over TLS) or https-close (a new connection and so a full
TLS handshake per request); a missing mode means plain.
"""

import os
import sys


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                rows.append(line.split("\t"))
    return rows


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, digits):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}"


CASE_SUFFIX = {
    "plain": "",
    "close": " new conn per request",
    "many": " keep-alive, many connections (BENCH_MANY_CONNS)",
    "https": " https",
    "https-close": " https, new conn per request",
}


def case_label(case):
    f, mode = case
    return f + CASE_SUFFIX.get(mode, f" {mode}")


def main():
    results_path, idle_path, servers = sys.argv[1], sys.argv[2], sys.argv[3:]
    results = {}
    cases = []  # (file, mode), in the order they ran
    for r in load(results_path):
        case = (r[0], r[8] if len(r) > 8 else "plain")
        results[(case, r[1])] = r
        if case not in cases:
            cases.append(case)
    idle = {r[0]: r for r in load(idle_path)}
    # Written by run.sh's idle case over HTTPS; absent with BENCH_TLS=0.
    tls_path = idle_path + ".tls"
    idle_tls = {r[0]: r for r in load(tls_path)} if os.path.exists(tls_path) else {}

    refs = [s for s in ("nginx", "h2o") if s in servers] if "carbond" in servers else []
    header = ["case", "metric"] + servers + [f"carbond/{r}" for r in refs]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")

    # (label, column in RESULTS_TSV, scale, digits)
    metrics = [
        ("req/s (higher is better)", 2, 1.0, 0),
        ("p99 latency ms", 3, 1e-3, 2),
        ("server CPU µs/req", 4, 1.0, 2),
        ("peak RSS MiB", 5, 1 / 1024, 1),
    ]
    # With a new connection per request, every request is one full handshake.
    handshake_labels = {
        "req/s (higher is better)": "handshakes/s (= req/s; higher is better)",
        "server CPU µs/req": "server CPU µs/handshake (incl. its request)",
    }
    for case in cases:
        for label, col, scale, digits in metrics:
            vals = {}
            for s in servers:
                r = results.get((case, s))
                v = num(r[col]) if r else None
                vals[s] = None if v is None else v * scale
            if case[1] == "https-close":
                label = handshake_labels.get(label, label)
            cells = [case_label(case), label] + [fmt(vals[s], digits) for s in servers]
            cells += [ratio(vals["carbond"], vals[r]) for r in refs]
            print("| " + " | ".join(cells) + " |")

    if idle:
        vals = {s: num(idle[s][4]) if s in idle else None for s in servers}
        cells = ["idle", "bytes per idle keep-alive conn"] + [fmt(vals[s], 0) for s in servers]
        cells += [ratio(vals["carbond"], vals[r]) for r in refs]
        print("| " + " | ".join(cells) + " |")
    if idle_tls:
        vals = {s: num(idle_tls[s][4]) if s in idle_tls else None for s in servers}
        cells = ["idle HTTPS", "bytes per idle TLS keep-alive conn"]
        cells += [fmt(vals[s], 0) for s in servers]
        cells += [ratio(vals["carbond"], vals[r]) for r in refs]
        print("| " + " | ".join(cells) + " |")

    print()
    print("Raw counts (errors = wrk socket errors + non-2xx/3xx responses; they should be 0):")
    print()
    print("| case | server | requests | errors |")
    print("|---|---|---|---|")
    for case in cases:
        for s in servers:
            r = results.get((case, s))
            if r:
                print(f"| {case_label(case)} | {s} | {r[6]} | {r[7]} |")
    print()
    print("| server | idle RSS before KiB | idle RSS after KiB | connections still open |")
    print("|---|---|---|---|")
    for s in servers:
        if s in idle:
            _, before, after, alive, _ = idle[s]
            print(f"| {s} | {before} | {after} | {alive} |")
        if s in idle_tls:
            _, before, after, alive, _ = idle_tls[s]
            print(f"| {s} (HTTPS) | {before} | {after} | {alive} |")


if __name__ == "__main__":
    main()
