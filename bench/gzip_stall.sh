#!/usr/bin/env bash
# Does compressing large files stall the event loop? p99 latency of a small file on
# one carbond worker while cold multi-MiB text files are first requested with gzip.
#
# Usage: bench/gzip_stall.sh CARBOND_BINARY [CARBOND_BINARY ...]
#
# Environment (all optional):
#   GZ_FILES     distinct large files requested once each with gzip  (default 24)
#   GZ_SIZE_MIB  size of each large file in MiB                      (default 4)
#   GZ_DURATION  seconds of wrk per case                             (default 15)
#   GZ_CONNS     wrk connections on the small file                   (default 10)
#
# Per binary: one worker (`max_threads = 1`), wrk --latency on a 1 KiB file, first
# alone (baseline), then with a sequential curl loop asking each large file once with
# `Accept-Encoding: gzip` (each file is cold: never asked before, so the server must
# compress it). Only loopback is used; each carbond is stopped by its own PID; every
# loop is bounded by GZ_FILES and GZ_DURATION.

set -euo pipefail

[ $# -ge 1 ] || { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 2; }
FILES=${GZ_FILES:-24}
SIZE_MIB=${GZ_SIZE_MIB:-4}
DURATION=${GZ_DURATION:-15}
CONNS=${GZ_CONNS:-10}
PORT=18471

TMP=$(mktemp -d /tmp/carbon-gzstall.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

make_root() {
    local www=$1
    mkdir -p "$www"
    head -c 1024 /dev/zero | tr '\0' 'a' > "$www/small.html"
    # Compressible, and different in every file so nothing is shared.
    python3 - "$www" "$FILES" "$SIZE_MIB" <<'PY'
import sys
www, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for f in range(n):
    line = 0
    with open(f"{www}/large-{f}.txt", "w") as out:
        size = 0
        while size < mib << 20:
            s = f"{f:04} {line:09} the quick brown fox jumps over the lazy dog {line * 7919 % 100003}\n"
            out.write(s)
            size += len(s)
            line += 1
PY
}

run_case() {
    local bin=$1 label=$2 www=$3 with_gzip=$4
    cat > "$TMP/carbon.conf" <<CONF
port = $PORT
listen_address = 127.0.0.1
www_path = $www
max_threads = 1
log_mode = off
rate_limit = 0
CONF
    "$bin" --config "$TMP/carbon.conf" > "$TMP/carbond.out" 2>&1 &
    local pid=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/small.html" && break
        sleep 0.1
    done
    wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/small.html" > "$TMP/wrk.out" &
    local wrk_pid=$!
    if [ "$with_gzip" = 1 ]; then
        sleep 1
        for f in $(seq 0 $((FILES - 1))); do
            curl -s -o /dev/null --max-time 30 -H 'Accept-Encoding: gzip' \
                "http://127.0.0.1:$PORT/large-$f.txt"
        done
    fi
    wait "$wrk_pid"
    kill "$pid"
    wait "$pid" || true
    local p50 p99 rps
    p50=$(awk '$1 == "50%" {print $2}' "$TMP/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.out")
    rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk.out")
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$([ "$with_gzip" = 1 ] && echo "yes" || echo "no")" "$p50" "$p99" "$rps"
}

echo "| carbond | cold gzip loop ($FILES x $SIZE_MIB MiB) | p50 | p99 | small req/s |"
echo "|---|---|---|---|---|"
n=0
for bin in "$@"; do
    n=$((n + 1))
    # A fresh tree per run: every large file is cold for each binary.
    make_root "$TMP/www-$n-a"
    run_case "$bin" "$(basename "$bin")" "$TMP/www-$n-a" 0
    make_root "$TMP/www-$n-b"
    run_case "$bin" "$(basename "$bin")" "$TMP/www-$n-b" 1
done
