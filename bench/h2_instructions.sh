#!/usr/bin/env bash
# User-space instructions per HTTP/2 request of carbond, counted
# by valgrind's callgrind under a fixed h2load load: repeatable on a busy machine,
# where bench/h2load.sh's wall-clock figures are not. For A/B comparisons of changes.
#
# Usage: bench/h2_instructions.sh [--help]
#
# Environment (all optional):
#   BENCH_MODES     "tls h2c h1 h1tls" or a subset        (default "h2c tls")
#   BENCH_FILE      1k or 1m                              (default 1k)
#   BENCH_REQUESTS  requests h2load sends (-n)            (default 20000; 1m: 400)
#   BENCH_CLIENTS   h2load -c                             (default 8)
#   BENCH_STREAMS   h2load -m                             (default 10)
#   BENCH_PATHS     distinct files asked for in turn (h2load -i)  (default 1; 1k only)
#                   1: every request is the same (a load generator, a poller); more:
#                   each request names another file, as a browser loading a page's
#                   assets does, so nothing keyed by the previous request repeats
#   BENCH_CARBOND   carbond binary; unset = `cargo build --release -p carbond`
#   BENCH_KEEP=1    keep the temporary directory (callgrind.out.* for callgrind_annotate)
#
# Counting starts after a warm-up run (the open-file cache filled, code paged in) and
# covers the whole measured h2load run, TLS handshakes included (8 per run). Modes h1
# and h1tls are `h2load --h1` over plain TCP and over TLS, for the HTTP/1.1 path.
# Only user-space instructions are counted: system calls cost kernel time that this
# does not see.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # ROOT and LOG_TAG are read by lib.sh
ROOT=$(dirname "$HERE")
# shellcheck disable=SC2034
LOG_TAG=h2instr
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

for arg in "$@"; do
    case $arg in
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

MODES=${BENCH_MODES:-"h2c tls"}
FILE=${BENCH_FILE:-1k}
case $FILE in 1k) def_n=20000 ;; 1m) def_n=400 ;; *) die "BENCH_FILE must be 1k or 1m" ;; esac
REQUESTS=${BENCH_REQUESTS:-$def_n}
CLIENTS=${BENCH_CLIENTS:-8}
STREAMS=${BENCH_STREAMS:-10}
CARBOND=${BENCH_CARBOND:-}
PATHS=${BENCH_PATHS:-1}
for v in REQUESTS CLIENTS STREAMS PATHS; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} == 0)); then die "$v must be a positive whole number"; fi
done
for cmd in h2load valgrind callgrind_control curl python3; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd is not installed (Debian: nghttp2-client, valgrind, curl, python3)"
done
((PATHS == 1)) || [[ $FILE == 1k ]] || die "BENCH_PATHS needs BENCH_FILE=1k"
[[ -n $CARBOND ]] || build_release_carbond

WORK=$(mktemp -d "${TMPDIR:-/tmp}/carbon-h2instr.XXXXXX")
chmod 755 "$WORK"
DOCROOT=$WORK/www
mkdir -p "$DOCROOT"
SRV_PID=""
cleanup() {
    local rc=$?
    [[ -z $SRV_PID ]] || stop_pid "$SRV_PID" server 10
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

write_h2_files "$DOCROOT" "$PATHS"
chmod 644 "$DOCROOT"/*.bin
TLS_DIR=$WORK/tls
CERT=$TLS_DIR/cert.pem
KEY=$TLS_DIR/key.pem
timeout 30 "$CARBOND" --gen-self-signed "$TLS_DIR" >/dev/null 2>&1 || die "--gen-self-signed failed"
chmod 755 "$TLS_DIR"
chmod 644 "$KEY"

start() {
    local name=$1 mode=$2 port=$3 dir=$WORK/$1-$2
    mkdir -p "$dir"
    case $name in
        carbond)
            local conf="port = $port
enable_h2c = true"
            [[ $mode == tls || $mode == h1tls ]] && conf="port = $(free_port)
use_https = true
https_port = $port
ssl_cert_path = $CERT
ssl_key_path = $KEY"
            cat >"$dir/carbon.conf" <<EOF
$conf
server_name = 127.0.0.1
www_path = $DOCROOT
max_threads = 1
log_mode = off
access_log =
rate_limit = 0
gzip = off
allow_root = true
EOF
            valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$dir/callgrind.out.%p" \
                "$CARBOND" --config "$dir/carbon.conf" >"$dir/out" 2>&1 </dev/null &
            ;;
    esac
    SRV_PID=$!
}

url_of() {
    local mode=$1 port=$2
    if [[ $mode == tls || $mode == h1tls ]]; then echo "https://127.0.0.1:$port/$FILE.bin"; else echo "http://127.0.0.1:$port/$FILE.bin"; fi
}

count() {
    local name=$1 mode=$2 port url dir=$WORK/$1-$2 i h1=() ok=0
    port=$(free_port)
    start "$name" "$mode" "$port"
    url=$(url_of "$mode" "$port")
    [[ $mode == h1 || $mode == h1tls ]] && h1=(--h1)
    # The measured run's URIs: one, or each of the BENCH_PATHS files in turn.
    local target=("$url")
    if ((PATHS > 1)); then
        path_uris "${url%/*}" "$PATHS" >"$dir/uris"
        target=(-i "$dir/uris")
    fi
    for ((i = 0; i < 300; i++)); do
        kill -0 "$SRV_PID" 2>/dev/null || { tail -n 20 "$dir/out" >&2; die "$name exited at startup"; }
        if timeout 20 h2load "${h1[@]}" -n 200 -c 2 -m 2 "$url" 2>/dev/null | grep -q '200 succeeded'; then
            ok=1
            break
        fi
        sleep 0.2
    done
    ((ok)) || die "$name did not answer on port $port"
    # Warm-up, then zero the counters and measure.
    # A tenth of the measured run (at least 200), so a 1 MiB warm-up stays short.
    local warm=$((REQUESTS / 10 > 200 ? REQUESTS / 10 : 200))
    timeout 300 h2load "${h1[@]}" -n "$warm" -c "$CLIENTS" -m "$STREAMS" "${target[@]}" >/dev/null 2>&1 || die "warm-up failed"
    callgrind_control -z "$SRV_PID" >/dev/null
    timeout 600 h2load "${h1[@]}" -n "$REQUESTS" -c "$CLIENTS" -m "$STREAMS" "${target[@]}" >"$dir/h2load.txt" 2>&1 || die "h2load failed ($dir/h2load.txt)"
    callgrind_control -d "$SRV_PID" >/dev/null
    local completed
    completed=$(awk '$1 == "requests:" { print $8 }' "$dir/h2load.txt")
    stop_pid "$SRV_PID" "$name" 10
    SRV_PID=""
    # The first dump (`.1`, after -z) holds the measured run, every thread summed.
    local total
    total=$(cat "$dir"/callgrind.out.*.1 | awk '/^summary:/ { s += $2 } END { print s + 0 }')
    ((total > 0)) || die "no callgrind dump in $dir"
    awk -v n="$name" -v m="$mode" -v f="$FILE" -v t="$total" -v d="$completed" \
        -v p="$PATHS" 'BEGIN { printf "%s %s %s x%d paths: %d requests, %.0f instructions/request\n", n, m, f, p, d, (d > 0 ? t / d : 0) }'
}

log "h2load -n $REQUESTS -c $CLIENTS -m $STREAMS on $FILE.bin ($PATHS distinct paths); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in $MODES; do
    case $mode in tls | h2c | h1 | h1tls) ;; *) die "unknown mode: $mode" ;; esac
    count carbond "$mode"
done
