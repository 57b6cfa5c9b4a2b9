#!/usr/bin/env bash
# Side-by-side static-file benchmark: carbond, nginx and h2o, one worker each, same
# document root, same client. See bench/README.md for what each column means.
#
# Usage: bench/run.sh [--quick] [--help]
#
# Environment (all optional):
#   BENCH_SERVERS      servers to run, in order           (default "nginx h2o carbond")
#   BENCH_DURATION     seconds of wrk per case            (default 10; --quick: 3)
#   BENCH_CONNECTIONS  wrk connections                    (default 50)
#   BENCH_WARMUP       seconds of unmeasured wrk first    (default 1)
#   BENCH_IDLE_CONNS   idle keep-alive connections        (default 1000; --quick: 200)
#   BENCH_FILES        files to fetch                     (default "1k.bin 64k.bin 1m.bin")
#   BENCH_SERVER_CPU   core the servers are pinned to     (default 0)
#   BENCH_CLIENT_CPU   core wrk is pinned to              (default 1)
#   BENCH_NGINX_TCP_NOPUSH  nginx's tcp_nopush, on|off         (default on)
#   BENCH_CARBOND      carbond binary to use; unset = `cargo build --release -p carbond`
#   BENCH_OUT          also write the Markdown report to this file
#   BENCH_KEEP=1       keep the temporary directory (configs, logs, raw wrk output)
#
# Only loopback is used. Each server is started in the foreground from a generated
# config in a temporary directory and stopped by the PID this script started; the
# distribution's service units are never touched.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

QUICK=0
for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

if [[ $QUICK == 1 ]]; then def_duration=3 def_idle=200; else def_duration=10 def_idle=1000; fi
DURATION=${BENCH_DURATION:-$def_duration}
CONNS=${BENCH_CONNECTIONS:-50}
WARMUP=${BENCH_WARMUP:-1}
IDLE_CONNS=${BENCH_IDLE_CONNS:-$def_idle}
SERVERS=${BENCH_SERVERS:-"nginx h2o carbond"}
FILES=${BENCH_FILES:-"1k.bin 64k.bin 1m.bin"}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
CARBOND=${BENCH_CARBOND:-}
OUT=${BENCH_OUT:-}
NGINX_NOPUSH=${BENCH_NGINX_TCP_NOPUSH:-on}
[[ $NGINX_NOPUSH == on || $NGINX_NOPUSH == off ]] || die "BENCH_NGINX_TCP_NOPUSH must be on or off"

for v in DURATION CONNS WARMUP IDLE_CONNS SERVER_CPU CLIENT_CPU; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((DURATION >= 1 && DURATION <= 600)) || die "BENCH_DURATION must be 1..600"
((CONNS >= 1 && CONNS <= 10000)) || die "BENCH_CONNECTIONS must be 1..10000"
((IDLE_CONNS >= 1 && IDLE_CONNS <= 5000)) || die "BENCH_IDLE_CONNS must be 1..5000"
for s in $SERVERS; do
    case $s in nginx | h2o | carbond) ;; *) die "unknown server in BENCH_SERVERS: $s" ;; esac
done
for f in $FILES; do
    case $f in 1k.bin | 64k.bin | 1m.bin) ;; *) die "unknown file in BENCH_FILES: $f" ;; esac
done

# ---------------------------------------------------------------------------------
# Tools

install_missing() {
    local missing=() pkg cmd
    for pair in nginx:nginx h2o:h2o wrk:wrk taskset:util-linux curl:curl python3:python3 ps:procps; do
        cmd=${pair%%:*} pkg=${pair#*:}
        [[ $cmd == nginx && " $SERVERS " != *" nginx "* ]] && continue
        [[ $cmd == h2o && " $SERVERS " != *" h2o "* ]] && continue
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing missing packages: ${missing[*]}"
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    # Debian starts a freshly installed nginx/h2o through its service unit, which would
    # listen on every address; a policy-rc.d that answers 101 ("action forbidden")
    # stops that for the duration of the install.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        created_policy=1
    fi
    local rc=0
    timeout 600 "${sudo[@]}" apt-get update -qq || rc=$?
    ((rc == 0)) && { DEBIAN_FRONTEND=noninteractive timeout 900 "${sudo[@]}" \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?; }
    ((created_policy)) && "${sudo[@]}" rm -f "$policy"
    ((rc == 0)) || die "apt-get failed (exit $rc)"
}

build_carbond() {
    [[ " $SERVERS " == *" carbond "* ]] || return 0
    if [[ -n $CARBOND ]]; then
        [[ -x $CARBOND ]] || die "BENCH_CARBOND=$CARBOND is not an executable"
        return 0
    fi
    log "building carbond (cargo build --release -p carbond)"
    (cd "$ROOT" && timeout 3600 cargo build --release -p carbond) || die "carbond build failed"
    CARBOND=${CARGO_TARGET_DIR:-$ROOT/target}/release/carbond
    [[ -x $CARBOND ]] || die "no binary at $CARBOND"
}

install_missing
build_carbond

# A server may accept 1000+ idle connections in the idle test; wrk needs a few more.
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]] || ((hard >= 16384)); then ulimit -n 16384; else ulimit -n "$hard"; fi

CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)
((SERVER_CPU < NPROC && CLIENT_CPU < NPROC)) || die "need cores $SERVER_CPU and $CLIENT_CPU; have $NPROC"
((SERVER_CPU != CLIENT_CPU)) || log "warning: server and client share core $SERVER_CPU"

# ---------------------------------------------------------------------------------
# Temporary tree: document root, configs, logs, raw outputs

WORK=$(mktemp -d "${TMPDIR:-/tmp}/carbon-bench.XXXXXX")
# nginx workers and h2o switch to `nobody` when started as root: they must be able to
# walk to and read the document root.
chmod 755 "$WORK"
DOCROOT=$WORK/www
mkdir -p "$DOCROOT" "$WORK/raw"
RESULTS=$WORK/results.tsv
IDLE=$WORK/idle.tsv
: >"$RESULTS"
: >"$IDLE"

SRV_PID=""  # the process we started (nginx master, h2o, carbond)
MEAS_PID="" # the process we measure (nginx worker, else SRV_PID)
SRV_NAME=""

cleanup() {
    local rc=$?
    stop_server || true
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Deterministic, incompressible content: a seeded PRNG, so every run serves the same
# bytes and a gzip setting could not change the result.
python3 - "$DOCROOT" <<'PY'
import random, sys
for name, size in (("1k.bin", 1024), ("64k.bin", 64 * 1024), ("1m.bin", 1024 * 1024)):
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        f.write(random.Random(size).randbytes(size))
PY
chmod 755 "$DOCROOT"
chmod 644 "$DOCROOT"/*.bin

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# utime + stime of a whole process (all threads, live and exited), in clock ticks.
# Fields after "(comm)" start at field 3, so utime (14) and stime (15) are $12 and $13.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
proc_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
children_of() { ps -o pid= --ppid "$1" | tr -d ' ' || true; }

# ---------------------------------------------------------------------------------
# Servers

write_nginx_conf() {
    local dir=$1 port=$2
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
# One worker, tuned the way a production static server would be.
worker_processes 1;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
    access_log off;
    sendfile on;
    tcp_nopush $NGINX_NOPUSH;
    tcp_nodelay on;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        server_name 127.0.0.1;
        root $DOCROOT;
    }
}
EOF
}

write_h2o_conf() {
    local dir=$1 port=$2
    # No access-log directive: h2o then logs nothing. http1-request-timeout is also the
    # keep-alive idle timeout; raise it so the idle test is not cut short.
    cat >"$dir/h2o.conf" <<EOF
num-threads: 1
max-connections: 8192
http1-request-timeout: 120
error-log: $dir/error.log
listen:
  host: 127.0.0.1
  port: $port
hosts:
  "127.0.0.1:$port":
    paths:
      /:
        file.dir: $DOCROOT
EOF
}

write_carbond_conf() {
    local dir=$1 port=$2
    cat >"$dir/carbon.conf" <<EOF
port = $port
server_name = 127.0.0.1
www_path = $DOCROOT
max_threads = 1
max_connections = 8192
log_mode = off
access_log =
rate_limit = 0
gzip = off
keep_alive_timeout = 120
EOF
}

# start_server NAME PORT: start pinned to SERVER_CPU; sets SRV_PID, MEAS_PID, SRV_NAME.
start_server() {
    local name=$1 port=$2 dir=$WORK/$1
    rm -rf "$dir"
    mkdir -p "$dir"
    SRV_NAME=$name
    case $name in
        nginx)
            write_nginx_conf "$dir" "$port"
            taskset -c "$SERVER_CPU" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
                >"$dir/stdout" 2>"$dir/stderr" </dev/null &
            ;;
        h2o)
            write_h2o_conf "$dir" "$port"
            taskset -c "$SERVER_CPU" h2o -c "$dir/h2o.conf" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
            ;;
        carbond)
            write_carbond_conf "$dir" "$port"
            # A config error is clearer from --check-config than from a dead server.
            timeout 10 "$CARBOND" --check-config "$dir/carbon.conf" >"$dir/check.txt" 2>&1 ||
                { cat "$dir/check.txt" >&2; die "carbond rejected the generated config $dir/carbon.conf"; }
            taskset -c "$SERVER_CPU" "$CARBOND" --config "$dir/carbon.conf" \
                >"$dir/stdout" 2>"$dir/stderr" </dev/null &
            ;;
    esac
    # taskset execs the server, so $! is the server's own PID.
    SRV_PID=$!
    MEAS_PID=$SRV_PID

    local i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$SRV_PID" 2>/dev/null || { tail -n 20 "$dir"/stderr "$dir"/error.log 2>/dev/null >&2; SRV_PID=""; die "$name exited at startup"; }
        if curl -sf --noproxy '*' --max-time 2 -o /dev/null "http://127.0.0.1:$port/1k.bin"; then
            break
        fi
        sleep 0.1
    done
    ((i < 200)) || die "$name did not answer on 127.0.0.1:$port within 20 s"

    if [[ $name == nginx ]]; then
        # With a master, the requests are served (and CPU and memory spent) by the worker.
        local kids
        kids=$(children_of "$SRV_PID")
        [[ $(wc -w <<<"$kids") == 1 ]] || die "expected one nginx worker, found: $kids"
        MEAS_PID=$kids
    fi
    local extra
    extra=$(children_of "$MEAS_PID")
    # h2o keeps an idle helper (its crash handler, annotate-backtrace-symbols) as a child.
    [[ -z $extra ]] || log "note: $name has child processes ($extra) that are not measured"
}

stop_server() {
    [[ -n $SRV_PID ]] || return 0
    local pid=$SRV_PID meas=$MEAS_PID i
    SRV_PID="" MEAS_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "warning: $SRV_NAME ($pid) ignored SIGTERM for 5 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    # An nginx worker whose master died by SIGKILL would linger: it is ours too.
    if [[ $meas != "$pid" ]] && kill -0 "$meas" 2>/dev/null; then kill -KILL "$meas" 2>/dev/null || true; fi
}

# ---------------------------------------------------------------------------------
# Measurements

# wrk's "99%  1.23ms" -> microseconds.
p99_us() {
    awk '$1 == "99%" {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        m = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : -1
        if (m > 0) printf "%.0f\n", v * m
    }' "$1"
}

bench_case() {
    local server=$1 file=$2 port out url cpu0 cpu1 hwm
    port=$(free_port)
    start_server "$server" "$port"
    url="http://127.0.0.1:$port/$file"
    out=$WORK/raw/$server-$file.wrk
    # Measure only a server that returns the right bytes.
    curl -sf --noproxy '*' --max-time 10 "$url" | cmp -s - "$DOCROOT/$file" ||
        die "$server did not return $file intact"
    if ((WARMUP > 0)); then
        timeout $((WARMUP + 30)) taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null ||
            die "wrk warm-up failed against $server"
    fi
    cpu0=$(cpu_ticks "$MEAS_PID")
    timeout $((DURATION + 60)) taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url" >"$out" ||
        die "wrk failed against $server (see $out)"
    cpu1=$(cpu_ticks "$MEAS_PID")
    hwm=$(proc_kib "$MEAS_PID" VmHWM)
    stop_server

    local requests rps p99 errors cpu_us
    requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")
    rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$out")
    p99=$(p99_us "$out")
    errors=$(awk '
        /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { n += $5 }
        END { print n + 0 }' "$out")
    [[ -n $requests && -n $rps && -n $p99 ]] || die "could not parse wrk output in $out"
    cpu_us=$(awk -v d=$((cpu1 - cpu0)) -v t="$CLK_TCK" -v r="$requests" \
        'BEGIN { printf "%.3f", (r > 0 ? d / t * 1e6 / r : 0) }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$server" "$rps" "$p99" "$cpu_us" "$hwm" "$requests" "$errors" >>"$RESULTS"
    log "$server $file: $rps req/s, p99 ${p99} us, ${cpu_us} us CPU/req, peak RSS ${hwm} KiB, errors $errors"
}

idle_case() {
    local server=$1 port out
    port=$(free_port)
    start_server "$server" "$port"
    out=$WORK/raw/$server-idle.txt
    timeout 120 taskset -c "$CLIENT_CPU" python3 "$HERE/idle_conns.py" --pid "$MEAS_PID" --port "$port" \
        --count "$IDLE_CONNS" --deadline 60 >"$out" || die "idle test failed against $server"
    stop_server
    local before after alive per errs
    before=$(sed -n 's/^rss_before_kib=//p' "$out")
    after=$(sed -n 's/^rss_after_kib=//p' "$out")
    alive=$(sed -n 's/^alive=//p' "$out")
    errs=$(sed -n 's/^errors=//p' "$out")
    per=$(sed -n 's/^per_conn_bytes=//p' "$out")
    printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$before" "$after" "$alive" "$per" >>"$IDLE"
    ((alive == IDLE_CONNS)) || log "warning: only $alive of $IDLE_CONNS idle connections to $server stayed open ($errs errors)"
    log "$server idle: RSS $before -> $after KiB over $alive connections = $per bytes/conn"
}

# ---------------------------------------------------------------------------------
# Run

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "servers: $SERVERS; files: $FILES; wrk -t1 -c$CONNS -d${DURATION}s (+${WARMUP}s warm-up); idle conns: $IDLE_CONNS"
log "servers on core $SERVER_CPU, client on core $CLIENT_CPU; work dir $WORK"
for file in $FILES; do
    for server in $SERVERS; do
        bench_case "$server" "$file"
    done
done
for server in $SERVERS; do
    idle_case "$server"
done

version_of() {
    case $1 in
        nginx) nginx -v 2>&1 | head -n1 ;;
        h2o) h2o --version 2>&1 | head -n1 ;;
        # --version is bounded by a timeout in case a build does not know the flag and
        # starts serving instead; the git state says which source was measured.
        carbond) echo "$(timeout 5 "$CARBOND" --version </dev/null 2>&1 | head -n1), git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)" ;;
    esac
}

REPORT=$WORK/report.md
{
    echo "## Setup"
    echo
    echo "- command: \`$(printf '%q ' "$0" "$@" | sed 's/ $//')\` with BENCH_SERVERS=\"$SERVERS\" BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNS BENCH_WARMUP=$WARMUP BENCH_IDLE_CONNS=$IDLE_CONNS BENCH_NGINX_TCP_NOPUSH=$NGINX_NOPUSH"
    echo "- client: \`taskset -c $CLIENT_CPU wrk -t1 -c$CONNS -d${DURATION}s --latency\` ($(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)), after ${WARMUP}s of unmeasured warm-up"
    echo "- servers: one worker each, pinned with \`taskset -c $SERVER_CPU\`, one after another, fresh process per case"
    echo "- machine: $NPROC CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
    for s in $SERVERS; do echo "- $s: $(version_of "$s")"; done
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "## Results"
    echo
    python3 "$HERE/report.py" "$RESULTS" "$IDLE" $SERVERS
} >"$REPORT"

echo
cat "$REPORT"
if [[ -n $OUT ]]; then cp "$REPORT" "$OUT" && log "report written to $OUT"; fi
