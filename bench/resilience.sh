#!/usr/bin/env bash
# Resilience under slow-client attacks: carbond, nginx and h2o, each with its default
# configuration, attacked in turn by Debian's slowhttptest (slowloris, slow body, slow
# read, range) from 127.0.0.1 while a second client fetches a small page on a fresh
# connection every 0.5 s with a 2 s timeout. Prints the share of probes served.
#
# Usage: bench/resilience.sh [--help]
#
# Environment (all optional):
#   RES_SERVERS     servers to run, in order                  (default "nginx h2o carbond")
#   RES_ATTACKS     attacks to run, in order                  (default "slowloris slowbody slowread range";
#                   variants, not run by default: slowloris-fast slowbody-get slowread-many)
#   RES_DURATION    seconds each attack lasts                 (default 35, 20..600)
#   RES_RAMP        seconds of attack before probing starts   (default 8)
#   RES_SCALE       percent of the attack connection counts   (default 100)
#   RES_CARBOND     carbond binary to use; unset = `cargo build --release -p carbond`
#   RES_OUT         also write the Markdown report to this file
#   RES_KEEP=1      keep the temporary directory (configs, logs, slowhttptest output)
#
# Only loopback is used. Servers are started in the foreground from generated configs
# in a temporary directory and stopped by the PID this script started.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

LOG_TAG=resilience
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

for arg in "$@"; do
    case $arg in
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

SERVERS=${RES_SERVERS:-"nginx h2o carbond"}
ATTACKS=${RES_ATTACKS:-"slowloris slowbody slowread range"}
DURATION=${RES_DURATION:-35}
RAMP=${RES_RAMP:-8}
SCALE=${RES_SCALE:-100}
CARBOND=${RES_CARBOND:-}
OUT=${RES_OUT:-}
for v in DURATION RAMP SCALE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((DURATION >= 20 && DURATION <= 600)) || die "RES_DURATION must be 20..600"
((RAMP + 5 < DURATION)) || die "RES_RAMP must leave at least 5 s of probing"
((SCALE >= 1 && SCALE <= 100)) || die "RES_SCALE must be 1..100"
for s in $SERVERS; do
    case $s in nginx | h2o | carbond) ;; *) die "unknown server in RES_SERVERS: $s" ;; esac
done
for a in $ATTACKS; do
    case $a in slowloris | slowbody | slowread | range | slowloris-fast | slowbody-get | slowread-many) ;;
        *) die "unknown attack in RES_ATTACKS: $a" ;;
    esac
done

# ---------------------------------------------------------------------------------
# Tools

install_missing() {
    local missing=() pkg cmd
    for pair in slowhttptest:slowhttptest nginx:nginx h2o:h2o curl:curl python3:python3; do
        cmd=${pair%%:*} pkg=${pair#*:}
        [[ $cmd == nginx && " $SERVERS " != *" nginx "* ]] && continue
        [[ $cmd == h2o && " $SERVERS " != *" h2o "* ]] && continue
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    install_packages "${missing[@]}"
}

build_carbond() {
    [[ " $SERVERS " == *" carbond "* ]] || return 0
    if [[ -n $CARBOND ]]; then
        [[ -x $CARBOND ]] || die "RES_CARBOND=$CARBOND is not an executable"
        return 0
    fi
    build_release_carbond
}

install_missing
build_carbond

# Thousands of attack connections on both sides of loopback.
raise_nofile

WORK=$(mktemp -d "${TMPDIR:-/tmp}/carbon-resilience.XXXXXX")
# nginx workers and h2o switch to `nobody` when started as root.
chmod 755 "$WORK"
DOCROOT=$WORK/www
mkdir -p "$DOCROOT"
RESULTS=$WORK/results.tsv
: >"$RESULTS"

SRV_PID=""
SRV_NAME=""
ATTACK_PID=""

cleanup() {
    local rc=$?
    [[ -n $ATTACK_PID ]] && kill -TERM "$ATTACK_PID" 2>/dev/null || true
    stop_server || true
    if [[ ${RES_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The probed page (small, like a landing page) and the slow-read target (200 kB).
python3 - "$DOCROOT" <<'PY'
import random, sys
root = sys.argv[1]
with open(f"{root}/index.html", "w") as f:
    f.write("<!doctype html>\n<title>probe</title>\n<p>" + "carbon " * 120 + "</p>\n")
with open(f"{root}/200k.bin", "wb") as f:
    f.write(random.Random(200_000).randbytes(200_000))
PY
chmod 755 "$DOCROOT"
chmod 644 "$DOCROOT"/*

# ---------------------------------------------------------------------------------
# Servers: each one's defaults, only what it needs to run from a temporary directory
# on one loopback port written out. nginx: worker_processes 1, worker_connections 512,
# client_header_timeout and client_body_timeout 60 s. h2o 2.2: one thread per CPU,
# max-connections 1024, http1-request-timeout 10 s. carbond: one worker per CPU,
# max_connections 1024, request_header_timeout 30 s, request_body_timeout 60 s.

start_server() {
    local name=$1 port=$2 dir=$WORK/$1 i
    rm -rf "$dir"
    mkdir -p "$dir/tmp"
    SRV_NAME=$name
    case $name in
        nginx)
            cat >"$dir/nginx.conf" <<EOF
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {}
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $DOCROOT;
    }
}
EOF
            nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
                >"$dir/stdout" 2>"$dir/stderr" </dev/null &
            ;;
        h2o)
            cat >"$dir/h2o.conf" <<EOF
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
            h2o -c "$dir/h2o.conf" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
            ;;
        carbond)
            # allow_root: carbond refuses to serve as root otherwise (the script may run
            # as root, like nginx and h2o here); it changes nothing under attack.
            cat >"$dir/carbon.conf" <<EOF
port = $port
server_name = 127.0.0.1
www_path = $DOCROOT
log_mode = classic
log_file = $dir/error.log
allow_root = true
EOF
            timeout 10 "$CARBOND" --check-config "$dir/carbon.conf" >"$dir/check.txt" 2>&1 ||
                { cat "$dir/check.txt" >&2; die "carbond rejected the generated config $dir/carbon.conf"; }
            "$CARBOND" --config "$dir/carbon.conf" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
            ;;
    esac
    SRV_PID=$!
    for ((i = 0; i < 200; i++)); do
        kill -0 "$SRV_PID" 2>/dev/null || { tail -n 20 "$dir"/stderr "$dir"/error.log 2>/dev/null >&2; SRV_PID=""; die "$name exited at startup"; }
        curl -sf --noproxy '*' --max-time 2 -o /dev/null "http://127.0.0.1:$port/index.html" && break
        sleep 0.1
    done
    ((i < 200)) || die "$name did not answer on 127.0.0.1:$port within 20 s"
}

stop_server() {
    [[ -n $SRV_PID ]] || return 0
    local pid=$SRV_PID
    SRV_PID=""
    stop_pid "$pid" "$SRV_NAME" 10
}

# ---------------------------------------------------------------------------------
# Attacks: the issue's figures, scaled by RES_SCALE. slowhttptest keeps its own probe
# (-p) too; only ours is reported.

scaled() { echo $(( ($1 * SCALE + 99) / 100 )); }

attack_args() {
    local attack=$1 port=$2 base="http://127.0.0.1:$2"
    case $attack in
        # 3,000 connections at 300/s, one header line every 10 s.
        slowloris) echo "-H -c $(scaled 3000) -r $(scaled 300) -i 10 -x 24 -u $base/" ;;
        # 3,000 POSTs at 300/s announcing 100 kB, a few bytes every 10 s.
        slowbody) echo "-B -c $(scaled 3000) -r $(scaled 300) -i 10 -s 100000 -x 10 -u $base/" ;;
        # 1,000 connections reading the 200 kB file three times through a 512-1024
        # byte window, 32 bytes every 5 s.
        slowread) echo "-X -c $(scaled 1000) -r $(scaled 200) -w 512 -y 1024 -n 5 -z 32 -k 3 -u $base/200k.bin" ;;
        # Apache killer: 1,000 connections at 200/s, HEAD with many overlapping ranges.
        range) echo "-R -c $(scaled 1000) -r $(scaled 200) -t HEAD -a 10 -b 3000 -u $base/200k.bin" ;;
        # Variants. slowloris-fast: 6,000 connections at 1,000/s, a line every 5 s.
        slowloris-fast) echo "-H -c $(scaled 6000) -r $(scaled 1000) -i 5 -x 24 -u $base/" ;;
        # slowbody-get: the slow body on a GET, which a static server reads rather
        # than refuses at its head.
        slowbody-get) echo "-B -t GET -c $(scaled 3000) -r $(scaled 300) -i 10 -s 100000 -x 10 -u $base/index.html" ;;
        # slowread-many: 2,500 slow readers at 500/s, more than any default limit.
        slowread-many) echo "-X -c $(scaled 2500) -r $(scaled 500) -w 512 -y 1024 -n 5 -z 32 -k 3 -u $base/200k.bin" ;;
    esac
}

# run_case SERVER ATTACK: appends "server attack served total" to RESULTS.
run_case() {
    local server=$1 attack=$2 port dir probes n i ok total
    port=$(free_port)
    dir=$WORK/$server-$attack
    mkdir -p "$dir"
    start_server "$server" "$port"
    log "$server: $attack for ${DURATION}s ($(attack_args "$attack" "$port"))"
    # shellcheck disable=SC2046 # the arguments are meant to split
    timeout $((DURATION + 30)) slowhttptest $(attack_args "$attack" "$port") -l "$DURATION" -p 2 \
        >"$dir/slowhttptest.txt" 2>&1 </dev/null &
    ATTACK_PID=$!
    sleep "$RAMP"
    probes=$dir/probes.txt
    : >"$probes"
    n=$(( (DURATION - RAMP - 4) * 2 ))
    for ((i = 0; i < n; i++)); do
        # A fresh connection per probe (curl), 2 s for the whole exchange.
        (curl -s --noproxy '*' -o /dev/null --max-time 2 -w '%{http_code}\n' \
            "http://127.0.0.1:$port/index.html" >>"$probes" 2>/dev/null || echo "fail" >>"$probes") &
        sleep 0.5
    done
    wait_probes=$((SECONDS + 5))
    while (( $(wc -l <"$probes") < n && SECONDS < wait_probes )); do sleep 0.2; done
    wait "$ATTACK_PID" 2>/dev/null || true
    ATTACK_PID=""
    stop_server
    ok=$(grep -c '^200$' "$probes" || true)
    total=$n
    printf '%s\t%s\t%s\t%s\n' "$server" "$attack" "$ok" "$total" >>"$RESULTS"
    log "$server under $attack: $ok of $total probes served"
}

for attack in $ATTACKS; do
    for server in $SERVERS; do
        run_case "$server" "$attack"
    done
done

# ---------------------------------------------------------------------------------
# Report

report() {
    echo "| attack | $(sed 's/ / | /g' <<<"$SERVERS") |"
    echo "|---$(for _ in $SERVERS; do printf '|---'; done)|"
    local attack server ok total
    for attack in $ATTACKS; do
        printf '| %s |' "$attack"
        for server in $SERVERS; do
            read -r ok total < <(awk -v s="$server" -v a="$attack" '$1 == s && $2 == a { print $3, $4 }' "$RESULTS")
            printf ' %s%% (%s/%s) |' "$(awk -v o="$ok" -v t="$total" 'BEGIN { printf "%.1f", t ? 100 * o / t : 0 }')" "$ok" "$total"
        done
        echo
    done
}

report | tee "${OUT:-/dev/null}"
