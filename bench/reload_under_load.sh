#!/usr/bin/env bash
# Reload under load: wrk against carbond for DURATION seconds while RELOADS SIGHUPs
# alternate the document root. Prints wrk's summary (any "Socket errors" or
# "Non-2xx" line means a failed request) and how many reloads carbond applied.
# A correctness check, not a benchmark: it uses whatever carbond binary is given.
#
#   CARBOND=target/debug/carbond DURATION=8 RELOADS=20 bash bench/reload_under_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CARBOND=${CARBOND:-target/debug/carbond}
DURATION=${DURATION:-8}
RELOADS=${RELOADS:-20}
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
[ -x "$CARBOND" ] || cargo build -q -p carbond

work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/a" "$work/b"
echo "root a" >"$work/a/index.html"
echo "root b" >"$work/b/index.html"
cat >"$work/carbon.conf" <<CONF
port = 0
www_path = $work/a
max_threads = 2
rate_limit = 0
allow_root = true
CONF
"$CARBOND" --config "$work/carbon.conf" >"$work/out.txt" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on http://" "$work/out.txt" && break; sleep 0.05; done
port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/out.txt" | head -1 | cut -d: -f3)
[ -n "$port" ] || { cat "$work/out.txt" >&2; exit 1; }

wrk -t2 -c20 -d"${DURATION}s" "http://127.0.0.1:$port/index.html" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 0.5
step=$(awk -v d="$DURATION" -v n="$RELOADS" 'BEGIN { printf "%.3f", (d - 1.5) / n }')
for i in $(seq "$RELOADS"); do
    root=$([ $((i % 2)) = 0 ] && echo a || echo b)
    sed -i "s#^www_path = .*#www_path = $work/$root#" "$work/carbon.conf"
    kill -HUP "$pid"
    sleep "$step"
done
wait "$wrk_pid"
cat "$work/wrk.txt"
echo "reloads applied: $(grep -c 'configuration reloaded' "$work/out.txt") of $RELOADS"
echo "reloads refused: $(grep -c 'reload refused' "$work/out.txt" || true)"
