#!/usr/bin/env bash
# User-space instructions per request of carbond under a fixed kind of load, with
# valgrind's callgrind: repeatable on a busy machine, unlike CPU time, so it is the
# A/B measure for changes on the request path.
#
# Usage: bench/callgrind.sh CARBOND MODE [DEFER_SECS]
#   MODE: close (1k.bin, Connection: close, 8 connections), ka (keep-alive, 8
#   connections) or many (keep-alive, 2000 connections). DEFER_SECS > 0 serves from a
#   socket-activated listener with TCP_DEFER_ACCEPT (bench/defer_listener.py).
#
# carbond runs under callgrind with one worker; after a warm-up run of wrk the
# counters are zeroed (callgrind_control -z), a second run is measured, and the
# instruction total is divided by wrk's request count. With many connections that
# count misses the requests in flight when wrk stops, so the figure is an upper bound.
# Needs valgrind, wrk, curl, python3. Loopback only; the server is stopped by its PID.

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=callgrind
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
(($# >= 2)) || { usage >&2; exit 2; }
BIN=$1 MODE=$2 DEFER=${3:-0}
[[ -x $BIN ]] || die "not an executable: $BIN"
case $MODE in
    close) W=(-t1 -c8 -d4s -H "Connection: close") ;;
    ka) W=(-t1 -c8 -d4s) ;;
    many) W=(-t1 -c2000 -d8s) ;;
    *) die "MODE must be close, ka or many" ;;
esac
raise_nofile
WORK=$(mktemp -d "${TMPDIR:-/tmp}/carbon-callgrind.XXXXXX")
PID=""
cleanup() { [[ -z $PID ]] || { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir "$WORK/www"
python3 -c "import random,sys; open(sys.argv[1],'wb').write(random.Random(1024).randbytes(1024))" "$WORK/www/1k.bin"
PORT=$(free_port)
cat >"$WORK/carbon.conf" <<EOC
port = $PORT
server_name = 127.0.0.1
www_path = $WORK/www
max_threads = 1
max_connections = 8192
log_mode = off
access_log =
rate_limit = 0
gzip = off
keep_alive_timeout = 120
allow_root = true
control_socket = $WORK/carbond.sock
EOC
VG=(valgrind --tool=callgrind "--callgrind-out-file=$WORK/cg.out" "$BIN" --config "$WORK/carbon.conf")
if ((DEFER > 0)); then
    python3 "$HERE/defer_listener.py" "$PORT" "$DEFER" "${VG[@]}" >"$WORK/server.log" 2>&1 &
else
    "${VG[@]}" >"$WORK/server.log" 2>&1 &
fi
PID=$!
for _ in $(seq 150); do curl -sf --noproxy '*' -o /dev/null "http://127.0.0.1:$PORT/1k.bin" && break; sleep 0.2; done
URL=http://127.0.0.1:$PORT/1k.bin
timeout 60 wrk "${W[@]}" "$URL" >/dev/null
callgrind_control -z "$PID" >/dev/null
timeout 60 wrk "${W[@]}" "$URL" >"$WORK/wrk.txt"
callgrind_control -d "$PID" >/dev/null
sleep 1
REQ=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$WORK/wrk.txt")
OUT=$(ls -t "$WORK"/cg.out.* | head -n1)
IR=$(awk '$1 == "summary:" || $1 == "totals:" { print $2; exit }' "$OUT")
[[ -n $REQ && -n $IR && $REQ -gt 0 ]] || die "no measurement (see $WORK)"
echo "mode=$MODE defer=$DEFER requests=$REQ instructions=$IR per_request=$((IR / REQ))"
