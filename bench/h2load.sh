#!/usr/bin/env bash
# HTTP/2 side by side: carbond, nginx and h2o, one worker each, driven by h2load over
# TLS (ALPN h2) and h2c (prior knowledge), reporting requests/s and the server's CPU
# time per request (utime + stime of the serving process over the measured run,
# divided by the requests h2load completed), as bench/run.sh does for HTTP/1.1.
#
# Usage: bench/h2load.sh [--help]
#
# Environment (all optional):
#   BENCH_SERVERS      servers to run, in order          (default "nginx h2o carbond")
#   BENCH_DURATION     seconds of h2load per case        (default 5)
#   BENCH_WARMUP       seconds of unmeasured warm-up     (default 1)
#   BENCH_MODES        "tls h2c" or one of them          (default "tls h2c")
#   BENCH_SERVER_CPU   core the servers are pinned to    (default 0)
#   BENCH_CLIENT_CPU   core h2load is pinned to          (default 1)
#   BENCH_PATHS        N > 1 adds a case of N distinct 1 KiB files asked for in
#                      turn (`h2load -i`), as a browser loading a page's assets
#                      does: nothing keyed by the previous request repeats (default 1)
#   BENCH_CARBOND      carbond binary; unset = `cargo build --release -p carbond`
#   BENCH_FRESH_TCP    1 = flush loopback's cached TCP metrics before each case (as
#                      root; see bench/README.md), 0 = keep them   (default 1)
#   BENCH_OUT          also write the Markdown report to this file
#   BENCH_KEEP=1       keep the temporary directory
#
# Cases (from issue 12): `-c64 -m10` on a 1 KiB file, `-c16 -m4` on a 1 MiB file.
# Only loopback is used; each server is started from a generated config and stopped
# by the PID this script started.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

LOG_TAG=h2bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

for arg in "$@"; do
    case $arg in
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

SERVERS=${BENCH_SERVERS:-"nginx h2o carbond"}
DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-1}
MODES=${BENCH_MODES:-"tls h2c"}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
CARBOND=${BENCH_CARBOND:-}
PATHS=${BENCH_PATHS:-1}
if ! [[ $PATHS =~ ^[0-9]+$ ]] || ((PATHS < 1 || PATHS > 10000)); then die "BENCH_PATHS must be 1..10000"; fi
OUT=${BENCH_OUT:-}
for v in DURATION WARMUP SERVER_CPU CLIENT_CPU; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((DURATION >= 1 && DURATION <= 120)) || die "BENCH_DURATION must be 1..120"
for s in $SERVERS; do
    case $s in nginx | h2o | carbond) ;; *) die "unknown server: $s" ;; esac
done
for m in $MODES; do
    case $m in tls | h2c) ;; *) die "unknown mode: $m" ;; esac
done
for cmd in h2load taskset curl python3; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd is not installed (Debian: nghttp2-client, util-linux, curl, python3)"
done

[[ -n $CARBOND ]] || build_release_carbond
[[ -x $CARBOND ]] || die "no carbond binary at $CARBOND"

raise_nofile
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/carbon-h2bench.XXXXXX")
chmod 755 "$WORK"
DOCROOT=$WORK/www
mkdir -p "$DOCROOT" "$WORK/raw"
RESULTS=$WORK/results.tsv
: >"$RESULTS"
SRV_PID="" MEAS_PID="" SRV_NAME=""

cleanup() {
    local rc=$?
    stop_server || true
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

write_h2_files "$DOCROOT" "$PATHS"
chmod 755 "$DOCROOT"
chmod 644 "$DOCROOT"/*.bin

TLS_DIR=$WORK/tls
CERT=$TLS_DIR/cert.pem
KEY=$TLS_DIR/key.pem
timeout 30 "$CARBOND" --gen-self-signed "$TLS_DIR" >"$WORK/gen.txt" 2>&1 || { cat "$WORK/gen.txt" >&2; die "--gen-self-signed failed"; }
chmod 755 "$TLS_DIR"
chmod 644 "$KEY"

write_conf() {
    local name=$1 dir=$2 port=$3 mode=$4
    case $name in
        nginx)
            local listen="listen 127.0.0.1:$port http2;" tls=""
            if [[ $mode == tls ]]; then
                listen="listen 127.0.0.1:$port ssl http2;"
                tls="ssl_certificate $CERT; ssl_certificate_key $KEY; ssl_protocols TLSv1.2 TLSv1.3;"
            fi
            mkdir -p "$dir/tmp"
            cat >"$dir/nginx.conf" <<EOF
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
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 10000000;
    http2_max_requests 10000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server { $listen server_name 127.0.0.1; root $DOCROOT; $tls }
}
EOF
            ;;
        h2o)
            local tls=0
            [[ $mode == tls ]] && tls=1
            write_h2o_conf "$dir" "$port" "$tls" "http2-idle-timeout: 120"
            ;;
        carbond)
            local conf="port = $port
enable_h2c = true"
            [[ $mode == tls ]] && conf="port = $(free_port)
use_https = true
https_port = $port
ssl_cert_path = $CERT
ssl_key_path = $KEY"
            cat >"$dir/carbon.conf" <<EOF
$conf
server_name = 127.0.0.1
www_path = $DOCROOT
max_threads = 1
max_connections = 8192
log_mode = off
access_log =
rate_limit = 0
gzip = off
allow_root = true
EOF
            ;;
    esac
}

start_server() {
    local name=$1 port=$2 mode=$3 dir=$WORK/$1-$3 url
    rm -rf "$dir"
    mkdir -p "$dir"
    SRV_NAME=$name
    write_conf "$name" "$dir" "$port" "$mode"
    case $name in
        nginx) taskset -c "$SERVER_CPU" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/out" 2>&1 </dev/null & ;;
        h2o) taskset -c "$SERVER_CPU" h2o -c "$dir/h2o.conf" >"$dir/out" 2>&1 </dev/null & ;;
        carbond) taskset -c "$SERVER_CPU" "$CARBOND" --config "$dir/carbon.conf" >"$dir/out" 2>&1 </dev/null & ;;
    esac
    SRV_PID=$!
    MEAS_PID=$SRV_PID
    if [[ $mode == tls ]]; then url="https://127.0.0.1:$port/1k.bin"; else url="http://127.0.0.1:$port/1k.bin"; fi
    local i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$SRV_PID" 2>/dev/null || { tail -n 20 "$dir/out" >&2; SRV_PID=""; die "$name exited at startup"; }
        if [[ $mode == tls ]]; then
            curl -sf --noproxy '*' --max-time 2 --http2 --cacert "$CERT" -o /dev/null "$url" && break
        else
            curl -sf --noproxy '*' --max-time 2 --http2-prior-knowledge -o /dev/null "$url" && break
        fi
        sleep 0.1
    done
    ((i < 200)) || die "$name did not answer HTTP/2 ($mode) on port $port"
    if [[ $name == nginx ]]; then
        MEAS_PID=$(children_of "$SRV_PID")
        [[ $(wc -w <<<"$MEAS_PID") == 1 ]] || die "expected one nginx worker, found: $MEAS_PID"
    fi
}

stop_server() {
    [[ -n $SRV_PID ]] || return 0
    local pid=$SRV_PID meas=$MEAS_PID
    SRV_PID="" MEAS_PID=""
    stop_pid "$pid" "$SRV_NAME" 5
    if [[ $meas != "$pid" ]] && kill -0 "$meas" 2>/dev/null; then kill -KILL "$meas" 2>/dev/null || true; fi
}

# bench_case SERVER MODE FILE CLIENTS STREAMS
bench_case() {
    local server=$1 mode=$2 file=$3 c=$4 m=$5 port url out cpu0 cpu1 scheme=http
    port=$(free_port)
    [[ ${BENCH_FRESH_TCP:-1} == 1 ]] && fresh_tcp_metrics
    start_server "$server" "$port" "$mode"
    [[ $mode == tls ]] && scheme=https
    url="$scheme://127.0.0.1:$port/$file"
    out=$WORK/raw/$server-$mode-$file.h2load
    # The distinct-paths case: each client asks for the BENCH_PATHS files in turn.
    local target=("$url")
    if [[ $file == "1k-x$PATHS-paths" ]]; then
        local uris=$WORK/raw/$server-$mode.uris
        path_uris "$scheme://127.0.0.1:$port" "$PATHS" >"$uris"
        target=(-i "$uris")
    fi
    if ((WARMUP > 0)); then
        timeout $((WARMUP + 60)) taskset -c "$CLIENT_CPU" h2load -c"$c" -m"$m" -D "$WARMUP" "${target[@]}" >/dev/null 2>&1 ||
            die "h2load warm-up failed against $server"
    fi
    cpu0=$(cpu_ticks "$MEAS_PID")
    timeout $((DURATION + 60)) taskset -c "$CLIENT_CPU" h2load -c"$c" -m"$m" -D "$DURATION" "${target[@]}" >"$out" 2>&1 ||
        die "h2load failed against $server (see $out)"
    cpu1=$(cpu_ticks "$MEAS_PID")
    stop_server
    local done rps failed proto cpu_us
    done=$(awk '$1 == "requests:" { print $8 }' "$out")
    failed=$(awk '$1 == "requests:" { print $12 + $14 }' "$out")
    rps=$(awk '$1 == "finished" { print $4 }' "$out")
    proto=$(awk '/Application protocol:/ { print $3 }' "$out")
    [[ -n $done && -n $rps ]] || die "cannot parse $out"
    cpu_us=$(awk -v d=$((cpu1 - cpu0)) -v t="$CLK_TCK" -v r="$done" 'BEGIN { printf "%.2f", (r > 0 ? d / t * 1e6 / r : 0) }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$file" "-c$c -m$m" "$server" "$rps" "$cpu_us" "$failed" "$proto" >>"$RESULTS"
    log "$server $mode $file -c$c -m$m: $rps req/s, $cpu_us us CPU/req, failed $failed, protocol $proto"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for mode in $MODES; do
    for server in $SERVERS; do
        bench_case "$server" "$mode" 1k.bin 64 10
    done
    if ((PATHS > 1)); then
        for server in $SERVERS; do
            bench_case "$server" "$mode" "1k-x$PATHS-paths" 64 10
        done
    fi
    for server in $SERVERS; do
        bench_case "$server" "$mode" 1m.bin 16 4
    done
done

REPORT=$WORK/report.md
{
    echo "- command: \`bench/h2load.sh\` with BENCH_SERVERS=\"$SERVERS\" BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_MODES=\"$MODES\" BENCH_PATHS=$PATHS"
    echo "- client: \`taskset -c $CLIENT_CPU h2load -cC -mM -D $DURATION\` ($(h2load --version | head -n1)); servers one worker each on core $SERVER_CPU"
    echo "- versions: nginx $(nginx -v 2>&1 | sed 's/.*\///'), $(h2o --version 2>&1 | head -n1), carbond git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| mode | file | h2load | server | requests/s | server CPU µs/request | failed | ALPN |"
    echo "|---|---|---|---|---:|---:|---:|---|"
    awk -F'\t' '{ printf "| %s | %s | `%s` | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$RESULTS"
    echo
    echo "Ratios carbond / h2o (CPU per request: lower is better; requests/s: higher is better):"
    echo
    awk -F'\t' '
        { key = $1 " " $2; if ($4 == "h2o") { hr[key] = $5; hc[key] = $6 } if ($4 == "carbond") { cr[key] = $5; cc[key] = $6 } }
        END { for (k in cr) if (k in hr && hr[k] > 0 && hc[k] > 0)
            printf "- %s: CPU/request %.2fx, requests/s %.2fx\n", k, cc[k] / hc[k], cr[k] / hr[k] }' "$RESULTS" | sort
} >"$REPORT"
echo
cat "$REPORT"
if [[ -n $OUT ]]; then cp "$REPORT" "$OUT" && log "report written to $OUT"; fi
