#!/usr/bin/env bash
# Server instructions per small keep-alive HTTP/1.1 request, counted by callgrind,
# so two builds can be compared on a busy machine (the count does not depend on load).
#
#   bench/callgrind_h1.sh CARBOND [CARBOND_B] [CONFIG_EXTRA]
#
# Runs each carbond (release builds) under `valgrind --tool=callgrind` with one
# worker, sends N1 then N2 requests for a 1 KiB file with `h2load --h1` on one
# connection, and prints (Ir(N2) - Ir(N1)) / (N2 - N1): start-up and shutdown cancel
# out. CONFIG_EXTRA: more `key = value` lines (e.g. a `[site ...]` section to measure
# the router). Needs valgrind and h2load (nghttp2-client).

set -euo pipefail
[[ $# -ge 1 ]] || { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 2; }
N1=${N1:-500}
N2=${N2:-2500}
EXTRA=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'a' >"$work/www/1k.txt"

# instructions BIN N: total Ir of one carbond run answering N requests.
instructions() {
    local bin=$1 n=$2 out=$work/cg.out port pid
    cat >"$work/carbon.conf" <<EOF
port = 0
www_path = $work/www
max_threads = 1
log_mode = off
allow_root = true
control_socket =
rate_limit = 0
$EXTRA
EOF
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --config "$work/carbon.conf" \
        >"$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
        port=$(sed -n 's|.*listening on http://[^ ]*:\([0-9]*\).*|\1|p' "$work/log" | head -1)
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || { cat "$work/log" >&2; kill "$pid"; exit 1; }
    h2load --h1 -n "$n" -c 1 -m 1 "http://127.0.0.1:$port/1k.txt" >"$work/h2load" 2>&1 ||
        { cat "$work/h2load" >&2; kill "$pid"; exit 1; }
    grep -q "succeeded, 0 failed" "$work/h2load" || grep -q " 0 failed" "$work/h2load" ||
        { cat "$work/h2load" >&2; }
    kill -TERM "$pid"
    wait "$pid" || true
    sed -n 's/^summary: //p' "$out"
}

for bin in "$1" ${2:+"$2"}; do
    a=$(instructions "$bin" "$N1")
    b=$(instructions "$bin" "$N2")
    echo "$bin: $(((b - a) / (N2 - N1))) instructions per request (Ir $N1: $a, Ir $N2: $b)"
done
