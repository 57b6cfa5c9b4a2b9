#!/usr/bin/env bash
# Server CPU per small keep-alive HTTP/1.1 request: two carbond builds and h2o,
# alternating, so a change is measured against the code before it and against h2o in
# the same minutes (load drifts between minutes on a shared machine).
#
#   bench/ka_ab.sh CARBOND_OLD CARBOND_NEW [ROUNDS]
#
# Each server runs one worker pinned to core 0 (SERVER_CPU); `wrk -t1 -c50` on core 1
# (CLIENT_CPU) fetches a 1 KiB file over keep-alive for 1 s of warm-up and DURATION
# (default 5) seconds measured. Printed per run: requests served and the server's
# user+system CPU per request (all threads, from /proc/PID/task/*/stat), and
# voluntary context switches per request. Needs wrk, h2o, curl and taskset; run it
# on a quiet machine (each run keeps two cores busy for DURATION + 1 seconds).

set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 2; }
OLD=$1
NEW=$2
ROUNDS=${3:-3}
DURATION=${DURATION:-5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18291}
CLK_TCK=$(getconf CLK_TCK)
work=$(mktemp -d)
pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www"
head -c 1024 /dev/urandom >"$work/www/1k.bin"

cat >"$work/carbon.conf" <<C
port = $PORT
server_name = 127.0.0.1
www_path = $work/www
max_threads = 1
max_connections = 8192
log_mode = off
access_log =
rate_limit = 0
gzip = off
keep_alive_timeout = 120
allow_root = true
control_socket =
C
cat >"$work/h2o.conf" <<C
num-threads: 1
max-connections: 8192
error-log: $work/h2o-error.log
listen:
  host: 127.0.0.1
  port: $PORT
hosts:
  "127.0.0.1:$PORT":
    paths:
      /:
        file.dir: $work/www
C

# cpu_ticks PID: user+system ticks of every thread; switches PID: voluntary ones.
cpu_ticks() { cat /proc/"$1"/task/*/stat | awk '{s += $14 + $15} END {print s}'; }
switches() { cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt/ {s += $2} END {print s}'; }

# run LABEL COMMAND...: one measured run of a server started by COMMAND.
run() {
    local label=$1
    shift
    taskset -c "$SERVER_CPU" "$@" >"$work/out" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/1k.bin" && break
        sleep 0.1
    done
    taskset -c "$CLIENT_CPU" wrk -t1 -c50 -d1s "http://127.0.0.1:$PORT/1k.bin" >/dev/null
    local c0 s0 c1 s1 out req
    c0=$(cpu_ticks "$pid")
    s0=$(switches "$pid")
    out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c50 -d"${DURATION}s" "http://127.0.0.1:$PORT/1k.bin")
    c1=$(cpu_ticks "$pid")
    s1=$(switches "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    req=$(echo "$out" | awk '/requests in/ {print $1}')
    awk -v l="$label" -v r="$req" -v c=$((c1 - c0)) -v s=$((s1 - s0)) -v hz="$CLK_TCK" \
        'BEGIN {printf "%-12s requests %8d  server CPU %.2f us/req  switches %.3f/req\n", l, r, c * 1e6 / hz / r, s / r}'
}

for round in $(seq "$ROUNDS"); do
    echo "round $round"
    run "carbond old" "$OLD" --config "$work/carbon.conf"
    run "carbond new" "$NEW" --config "$work/carbon.conf"
    run h2o h2o -c "$work/h2o.conf"
done
