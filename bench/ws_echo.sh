#!/usr/bin/env bash
# WebSocket echo, side by side: carbond's built-in echo endpoint against the echo
# server a Rust user would write today (bench/ws-peer: tokio + tokio-tungstenite),
# loaded by bench/ws-load (neither of them), then bytes per idle WebSocket connection
# for both (bench/ws_idle.py, as bench/ws_idle.sh measures carbond alone).
#
# Usage: bench/ws_echo.sh [--quick]
#
#   WS_ECHO_SIZES      message sizes in bytes          (default "64 16384 1048576")
#   WS_ECHO_CONNS      load connections                (default 64)
#   WS_ECHO_INFLIGHT   messages in flight per conn     (default 4)
#   WS_ECHO_DURATION   measured seconds per case       (default 10; --quick 3)
#   WS_ECHO_IDLE       idle connections (0 skips)      (default 1000; --quick 200)
#   WS_ECHO_SERVERS    servers, in order               (default "carbond ws-peer")
#   WS_ECHO_CARBOND    carbond binary to use; unset = cargo build --release -p carbond
#   BENCH_SERVER_CPU / BENCH_CLIENT_CPU   cores (default 0 / 1)
#   BENCH_OUT          also write the report to this file
#
# Fairness: each server runs alone (one after another, a fresh process per case),
# pinned to the one core BENCH_SERVER_CPU with taskset, with one worker: carbond
# `max_threads = 1`, ws-peer `--threads 1` (one tokio worker; its main thread only
# accepts). permessage-deflate is off on both sides: carbond `websocket_deflate =
# false`, tokio-tungstenite negotiates no extension, and ws-load offers none. The load
# generator runs on BENCH_CLIENT_CPU. Server CPU is utime+stime of the whole process
# (/proc/PID/stat, every thread) from before the load connects until it has ended,
# divided by every message echoed in that time. Loopback only; every run is bounded
# (duration, message count, timeouts); servers are stopped by the PID started here.

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
LOG_TAG=ws_echo
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

QUICK=0
for a in "$@"; do
    case $a in
        --quick) QUICK=1 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument: $a" ;;
    esac
done
SIZES=${WS_ECHO_SIZES:-"64 16384 1048576"}
CONNS=${WS_ECHO_CONNS:-64}
INFLIGHT=${WS_ECHO_INFLIGHT:-4}
DURATION=${WS_ECHO_DURATION:-$((QUICK ? 3 : 10))}
IDLE=${WS_ECHO_IDLE:-$((QUICK ? 200 : 1000))}
SERVERS=${WS_ECHO_SERVERS:-"carbond ws-peer"}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
TICK=$(getconf CLK_TCK)

for tool in taskset python3 cargo; do
    command -v "$tool" >/dev/null || die "needs $tool"
done
raise_nofile

if [[ -n ${WS_ECHO_CARBOND:-} ]]; then CARBOND=$WS_ECHO_CARBOND; else build_release_carbond; fi
log "building bench/ws-peer and bench/ws-load (release)"
for p in ws-peer ws-load; do
    (cd "$HERE/$p" && timeout 1800 cargo build --release --locked -q) || die "$p build failed"
done
PEER=$HERE/ws-peer/target/release/ws-peer
LOAD=$HERE/ws-load/target/release/ws-load

WORK=$(mktemp -d)
SRV_PID=""
cleanup() {
    if [[ -n $SRV_PID ]]; then stop_pid "$SRV_PID" server 5; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/www"
echo ok >"$WORK/www/index.html"

# start NAME: a fresh server pinned to SERVER_CPU; sets SRV_PID and PORT.
start() {
    local name=$1 i
    : >"$WORK/out"
    case $name in
        carbond)
            cat >"$WORK/carbon.conf" <<CONF
port = 0
server_name = 127.0.0.1
www_path = $WORK/www
max_threads = 1
max_connections = 8192
log_mode = off
access_log =
rate_limit = 0
allow_root = true
control_socket = $WORK/carbond.sock
enable_websocket = true
websocket_deflate = false
# No pings during a measurement (ws-peer sends none either).
websocket_ping_interval = 10m
keep_alive_timeout = 10m
CONF
            taskset -c "$SERVER_CPU" "$CARBOND" --config "$WORK/carbon.conf" >"$WORK/out" 2>&1 </dev/null &
            ;;
        ws-peer)
            taskset -c "$SERVER_CPU" "$PEER" --threads 1 >"$WORK/out" 2>&1 </dev/null &
            ;;
        *) die "unknown server $name" ;;
    esac
    SRV_PID=$!
    PORT=
    for ((i = 0; i < 100; i++)); do
        PORT=$(sed -n 's#.*listening on \(http://\)\{0,1\}127\.0\.0\.1:\([0-9]*\).*#\2#p' "$WORK/out" | head -n1)
        [[ -n $PORT ]] && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/out" >&2
    die "$name did not start"
}
stop() { stop_pid "$SRV_PID" server 5; SRV_PID=""; }

kv() { sed -n "s/^$1=//p" "$2"; }
declare -A R
for size in $SIZES; do
    # Bounded in count too (100 GB of payload per run): DURATION is what normally ends
    # a run; the cap must stay far above what a fast server echoes in the warm-up plus
    # DURATION (a quiet machine echoes 16 KiB messages at over 4 GB/s on loopback).
    cap=$(( 100000000000 / (size + 64) ))
    for s in $SERVERS; do
        start "$s"
        c0=$(cpu_ticks "$SRV_PID")
        log "$s: $CONNS connections, $size-byte messages, $INFLIGHT in flight each, ${DURATION}s"
        timeout $((DURATION + 60)) taskset -c "$CLIENT_CPU" "$LOAD" --addr "127.0.0.1:$PORT" \
            --conns "$CONNS" --size "$size" --inflight "$INFLIGHT" --duration "$DURATION" \
            --messages "$cap" >"$WORK/load.txt" || { cat "$WORK/load.txt" >&2; die "ws-load failed against $s"; }
        c1=$(cpu_ticks "$SRV_PID")
        hwm=$(proc_kib "$SRV_PID" VmHWM)
        stop
        errors=$(kv errors "$WORK/load.txt")
        [[ $errors == 0 ]] || log "warning: $errors connection errors against $s"
        total=$(kv total_messages "$WORK/load.txt")
        R[$s,$size,mps]=$(kv msgs_per_s "$WORK/load.txt")
        R[$s,$size,mbps]=$(kv mb_per_s "$WORK/load.txt")
        # Microseconds of server CPU per echoed message.
        R[$s,$size,cpu]=$(awk -v t=$((c1 - c0)) -v hz="$TICK" -v n="$total" \
            'BEGIN { printf "%.2f", n ? t * 1e6 / hz / n : 0 }')
        R[$s,$size,hwm]=$hwm
        log "$s: ${R[$s,$size,mps]} msg/s, ${R[$s,$size,mbps]} MB/s, ${R[$s,$size,cpu]} us CPU/msg, peak RSS $hwm KiB"
    done
done
if ((IDLE > 0)); then
    for s in $SERVERS; do
        start "$s"
        log "$s: $IDLE idle WebSocket connections"
        timeout 180 taskset -c "$CLIENT_CPU" python3 "$HERE/ws_idle.py" --pid "$SRV_PID" --port "$PORT" \
            --count "$IDLE" >"$WORK/idle.txt" || { cat "$WORK/idle.txt" >&2; die "ws_idle.py failed against $s"; }
        stop
        R[$s,idle]=$(kv per_conn_bytes "$WORK/idle.txt")
        R[$s,alive]=$(kv alive "$WORK/idle.txt")
        log "$s: ${R[$s,idle]} bytes per idle connection (${R[$s,alive]} alive)"
    done
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "") printf "%.2f", a / b; else printf "n/a" }'; }
report() {
    local first=${SERVERS%% *} other=${SERVERS##* }
    echo "## WebSocket echo ($(date -u +%Y-%m-%d), load average $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    echo "- $CONNS connections, $INFLIGHT messages in flight each, ${DURATION}s measured after 1s warm-up; binary messages; permessage-deflate off"
    echo "- servers pinned with \`taskset -c $SERVER_CPU\`, one worker each; load: \`taskset -c $CLIENT_CPU bench/ws-load/target/release/ws-load\`"
    echo "- CPU/msg: server utime+stime over the whole load run / messages echoed (µs)"
    echo
    echo "| size | server | messages/s | MB/s | CPU µs/msg | peak RSS KiB |"
    echo "|---|---|---:|---:|---:|---:|"
    local size s
    for size in $SIZES; do
        for s in $SERVERS; do
            echo "| $size | $s | ${R[$s,$size,mps]} | ${R[$s,$size,mbps]} | ${R[$s,$size,cpu]} | ${R[$s,$size,hwm]} |"
        done
        if [[ $first != "$other" ]]; then
            echo "| $size | **$first / $other** | $(ratio "${R[$first,$size,mps]}" "${R[$other,$size,mps]}") | $(ratio "${R[$first,$size,mbps]}" "${R[$other,$size,mbps]}") | $(ratio "${R[$first,$size,cpu]}" "${R[$other,$size,cpu]}") | $(ratio "${R[$first,$size,hwm]}" "${R[$other,$size,hwm]}") |"
        fi
    done
    if ((IDLE > 0)); then
        echo
        echo "| idle WebSocket connections ($IDLE) | bytes per connection |"
        echo "|---|---:|"
        for s in $SERVERS; do echo "| $s | ${R[$s,idle]} (${R[$s,alive]} alive) |"; done
        [[ $first != "$other" ]] && echo "| **$first / $other** | $(ratio "${R[$first,idle]}" "${R[$other,idle]}") |"
    fi
}
report | tee "${BENCH_OUT:-/dev/null}"
