#!/usr/bin/env bash
# Memory per idle WebSocket connection next to per idle HTTP keep-alive connection,
# in the same carbond: N upgraded sessions (bench/ws_idle.py), then N keep-alive
# connections (bench/idle_conns.py), then (with Python's h2) WebSocket streams over
# h2c, RFC 8441 (bench/ws_h2_idle.py), each measured as the RSS delta of the process.
#
# Usage: bench/ws_idle.sh
# Environment: WS_IDLE_CONNS (default 1000), CARBOND (default target/release/carbond).
# Loopback only; carbond is started from a temporary config and stopped by its PID.

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
N=${WS_IDLE_CONNS:-1000}
CARBOND=${CARBOND:-$ROOT/target/release/carbond}
[[ -x $CARBOND ]] || { echo "no carbond at $CARBOND (cargo build --release -p carbond)" >&2; exit 1; }
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]] || ((hard >= 16384)); then ulimit -n 16384; else ulimit -n "$hard"; fi

tmp=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp/www"
head -c 1024 /dev/zero >"$tmp/www/1k.bin"
cat >"$tmp/carbon.conf" <<CONF
port = 0
server_name = 127.0.0.1
www_path = $tmp/www
max_threads = 1
max_connections = 8192
log_file =
allow_root = true
control_socket = $tmp/carbond.sock
enable_websocket = true
enable_h2c = true
# No pings during the measurement.
websocket_ping_interval = 10m
keep_alive_timeout = 10m
CONF
# Each measurement in a fresh process, so neither reuses memory the other freed.
start() {
    : >"$tmp/out"
    "$CARBOND" --config "$tmp/carbon.conf" >"$tmp/out" 2>&1 &
    pid=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's#.*listening on http://127.0.0.1:\([0-9]*\).*#\1#p' "$tmp/out" | head -1)
        [[ -n $port ]] && return 0
        sleep 0.1
    done
    cat "$tmp/out" >&2
    exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

echo "== carbond $("$CARBOND" --version 2>/dev/null | head -1), $N connections"
start
echo "== WebSocket (upgraded, one echo each, then idle)"
timeout 120 python3 "$HERE/ws_idle.py" --pid "$pid" --port "$port" --count "$N"
stop
start
echo "== HTTP/1.1 keep-alive (one GET of 1k.bin each, then idle)"
timeout 120 python3 "$HERE/idle_conns.py" --pid "$pid" --port "$port" --count "$N"
stop
if python3 -c "import h2" 2>/dev/null; then
    start
    echo "== WebSocket over HTTP/2 (h2c, 10 connections x 100 streams, one echo each, then idle)"
    timeout 120 python3 "$HERE/ws_h2_idle.py" --pid "$pid" --port "$port" --connections 10 --streams 100
    stop
else
    echo "== WebSocket over HTTP/2: SKIPPED (python3 without the h2 package)"
fi
