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
#   BENCH_FILES        files to fetch over keep-alive      (default "1k.bin 64k.bin 1m.bin";
#                      set it empty to skip the keep-alive cases)
#   BENCH_CLOSE        1 = also the plain "new connection per request" case
#                      (1k.bin with Connection: close), 0 = skip (default 1)
#   BENCH_IDLE         1 = also the idle-connection memory case, 0 = skip (default 1)
#   BENCH_MANY         1 = also 1k.bin keep-alive over BENCH_MANY_CONNS connections, one
#                      request in flight each (the "flat cost as connections grow" case),
#                      0 = skip (default 0; bench/many_conns.sh runs it with a baseline)
#   BENCH_MANY_CONNS   connections for that case              (default 5000)
#   BENCH_SERVER_CPU   core the servers are pinned to     (default 0)
#   BENCH_CLIENT_CPU   core wrk is pinned to              (default 1)
#   BENCH_NGINX_TCP_NOPUSH  nginx's tcp_nopush, on|off         (default on)
#   BENCH_TLS          1 = also the HTTPS cases, 0 = skip  (default 1)
#   BENCH_TLS_FILES    files for HTTPS keep-alive          (default "1k.bin 64k.bin")
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

LOG_TAG=bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

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
FILES=${BENCH_FILES-"1k.bin 64k.bin 1m.bin"}
CLOSE=${BENCH_CLOSE:-1}
[[ $CLOSE == 0 || $CLOSE == 1 ]] || die "BENCH_CLOSE must be 0 or 1"
IDLE_CASE=${BENCH_IDLE:-1}
MANY=${BENCH_MANY:-0}
[[ $MANY == 0 || $MANY == 1 ]] || die "BENCH_MANY must be 0 or 1"
MANY_CONNS=${BENCH_MANY_CONNS:-5000}
[[ $IDLE_CASE == 0 || $IDLE_CASE == 1 ]] || die "BENCH_IDLE must be 0 or 1"
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
CARBOND=${BENCH_CARBOND:-}
OUT=${BENCH_OUT:-}
NGINX_NOPUSH=${BENCH_NGINX_TCP_NOPUSH:-on}
[[ $NGINX_NOPUSH == on || $NGINX_NOPUSH == off ]] || die "BENCH_NGINX_TCP_NOPUSH must be on or off"
TLS=${BENCH_TLS:-1}
[[ $TLS == 0 || $TLS == 1 ]] || die "BENCH_TLS must be 0 or 1"
TLS_FILES=${BENCH_TLS_FILES:-"1k.bin 64k.bin"}
# The full-handshake case always fetches the smallest file: the handshake is the work.
HANDSHAKE_FILE=1k.bin

for v in DURATION CONNS WARMUP IDLE_CONNS SERVER_CPU CLIENT_CPU MANY_CONNS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((DURATION >= 1 && DURATION <= 600)) || die "BENCH_DURATION must be 1..600"
((CONNS >= 1 && CONNS <= 10000)) || die "BENCH_CONNECTIONS must be 1..10000"
((IDLE_CONNS >= 1 && IDLE_CONNS <= 5000)) || die "BENCH_IDLE_CONNS must be 1..5000"
((MANY_CONNS >= 1 && MANY_CONNS <= 7000)) || die "BENCH_MANY_CONNS must be 1..7000"
for s in $SERVERS; do
    case $s in nginx | h2o | carbond) ;; *) die "unknown server in BENCH_SERVERS: $s" ;; esac
done
for f in $FILES $TLS_FILES; do
    case $f in 1k.bin | 64k.bin | 1m.bin) ;; *) die "unknown file in BENCH_FILES or BENCH_TLS_FILES: $f" ;; esac
done

# ---------------------------------------------------------------------------------
# Tools

install_missing() {
    local missing=() pkg cmd
    for pair in nginx:nginx h2o:h2o wrk:wrk taskset:util-linux curl:curl python3:python3 ps:procps \
        cc:gcc,libc6-dev openssl:openssl; do
        cmd=${pair%%:*} pkg=${pair#*:}
        [[ $cmd == nginx && " $SERVERS " != *" nginx "* ]] && continue
        [[ $cmd == h2o && " $SERVERS " != *" h2o "* ]] && continue
        # The C compiler builds the wrk shim (bench/no_resume.c) for the HTTPS cases.
        [[ ($cmd == cc || $cmd == openssl) && $TLS == 0 ]] && continue
        command -v "$cmd" >/dev/null 2>&1 || missing+=(${pkg//,/ })
    done
    ((${#missing[@]} == 0)) && return 0
    install_packages "${missing[@]}"
}

build_carbond() {
    # With TLS on, carbond also makes the certificate every server uses.
    [[ " $SERVERS " == *" carbond "* || $TLS == 1 ]] || return 0
    if [[ -n $CARBOND ]]; then
        [[ -x $CARBOND ]] || die "BENCH_CARBOND=$CARBOND is not an executable"
        return 0
    fi
    build_release_carbond
}

install_missing
build_carbond

# A server may accept 1000+ idle connections in the idle test; wrk needs a few more.
raise_nofile

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
# report.py reads the idle HTTPS rows from the idle table's name plus ".tls".
IDLE_TLS=$IDLE.tls
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

# One certificate and key for every server: ECDSA P-256 from carbond --gen-self-signed,
# valid for 127.0.0.1, so curl can check it with --cacert instead of -k.
TLS_DIR=$WORK/tls
CERT=$TLS_DIR/cert.pem
KEY=$TLS_DIR/key.pem
NO_RESUME=$TLS_DIR/no_resume.so
if [[ $TLS == 1 ]]; then
    timeout 30 "$CARBOND" --gen-self-signed "$TLS_DIR" >"$WORK/gen-self-signed.txt" 2>&1 ||
        { cat "$WORK/gen-self-signed.txt" >&2; die "carbond --gen-self-signed failed"; }
    # nginx and h2o read the key as root before switching to nobody; the directory must
    # still be walkable for them (and the throw-away key may as well be readable).
    chmod 755 "$TLS_DIR"
    chmod 644 "$KEY"
    cc -O2 -shared -fPIC -o "$NO_RESUME" "$HERE/no_resume.c" -ldl ||
        die "could not build the wrk shim bench/no_resume.c (needs a C compiler; BENCH_TLS=0 skips HTTPS)"
fi

# ---------------------------------------------------------------------------------
# Servers

write_nginx_conf() {
    local dir=$1 port=$2 mode=$3 listen_ssl="" tls_conf="" access_log="access_log off;"
    mkdir -p "$dir/tmp"
    if [[ $mode != plain ]]; then
        listen_ssl=" ssl"
        # nginx's defaults written out: a 1 MiB shared session cache and session tickets,
        # as carbond (session-ID cache + tickets) and h2o have. The client never resumes
        # (see no_resume.c), so full-handshake cases do full handshakes on every server.
        tls_conf="ssl_certificate $CERT;
        ssl_certificate_key $KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:1m;
        ssl_session_tickets on;"
    fi
    # The resumption check logs whether each handshake was resumed.
    [[ $mode == tls-check ]] && access_log="log_format check '\$ssl_protocol \$ssl_cipher \$ssl_curve \$ssl_session_reused';
    access_log $dir/access.log check;"
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
    $access_log
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
        listen 127.0.0.1:$port$listen_ssl;
        server_name 127.0.0.1;
        root $DOCROOT;
        $tls_conf
    }
}
EOF
}

write_carbond_conf() {
    local dir=$1 port=$2 mode=$3 http_port=$2 tls_conf=""
    if [[ $mode != plain ]]; then
        # carbond keeps its plain listener beside the HTTPS one; it gets another free
        # port and is not used. Session tickets and the session-ID cache are always on.
        http_port=$(free_port)
        tls_conf="use_https = true
https_port = $port
ssl_cert_path = $CERT
ssl_key_path = $KEY"
    fi
    cat >"$dir/carbon.conf" <<EOF
port = $http_port
server_name = 127.0.0.1
www_path = $DOCROOT
max_threads = 1
max_connections = 8192
log_mode = off
access_log =
rate_limit = 0
gzip = off
keep_alive_timeout = 120
# The benchmark runs as whoever starts it (root in CI); carbond refuses root otherwise.
allow_root = true
control_socket = $dir/carbond.sock
$tls_conf
EOF
}

# start_server NAME PORT [MODE]: start pinned to SERVER_CPU; sets SRV_PID, MEAS_PID,
# SRV_NAME. MODE is plain (default), tls, or tls-check (nginx only: logs resumption).
start_server() {
    local name=$1 port=$2 mode=${3:-plain} dir=$WORK/$1 base=http curl_tls=()
    [[ $mode == plain ]] || { base=https curl_tls=(--cacert "$CERT"); }
    rm -rf "$dir"
    mkdir -p "$dir"
    SRV_NAME=$name
    case $name in
        nginx)
            write_nginx_conf "$dir" "$port" "$mode"
            taskset -c "$SERVER_CPU" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
                >"$dir/stdout" 2>"$dir/stderr" </dev/null &
            ;;
        h2o)
            # http1-request-timeout is also the keep-alive idle timeout; raise it so the
            # idle test is not cut short.
            write_h2o_conf "$dir" "$port" "$([[ $mode == plain ]] && echo 0 || echo 1)" \
                "http1-request-timeout: 120"
            taskset -c "$SERVER_CPU" h2o -c "$dir/h2o.conf" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
            ;;
        carbond)
            write_carbond_conf "$dir" "$port" "$mode"
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
        if curl -sf --noproxy '*' --max-time 2 "${curl_tls[@]}" -o /dev/null "$base://127.0.0.1:$port/1k.bin"; then
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
    local pid=$SRV_PID meas=$MEAS_PID
    SRV_PID="" MEAS_PID=""
    stop_pid "$pid" "$SRV_NAME" 5
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

# wrk as every case runs it; for HTTPS with the shim that stops session resumption.
# Arguments after the first are wrk's.
run_wrk() {
    local secs=$1 conns=$CONNS
    shift
    [[ $CASE_MODE == many ]] && conns=$MANY_CONNS
    if [[ $CASE_MODE == plain || $CASE_MODE == close || $CASE_MODE == many ]]; then
        timeout $((secs + 60)) taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"${secs}s" "$@"
    else
        LD_PRELOAD=$NO_RESUME timeout $((secs + 60)) taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"${secs}s" "$@"
    fi
}

# What a server negotiates with OpenSSL's default client offer (the same libssl and
# defaults wrk uses): "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519".
negotiated() {
    timeout 10 openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null |
        awk '/^New, / { p = $2; c = $5; sub(/,$/, "", p) } /^Server Temp Key:/ { k = $4; sub(/,$/, "", k) }
             END { print p, c, k }'
}

# bench_case SERVER FILE MODE: MODE is plain (keep-alive), close (plain, a new TCP
# connection per request: the accept path), many (plain keep-alive over
# $MANY_CONNS connections), https (keep-alive) or https-close (a new connection, hence
# a full handshake, per request).
bench_case() {
    local server=$1 file=$2 mode=$3 port out url cpu0 cpu1 hwm scheme=http curl_tls=() hdr=()
    CASE_MODE=$mode
    port=$(free_port)
    if [[ $mode == plain || $mode == close || $mode == many ]]; then
        start_server "$server" "$port"
    else
        start_server "$server" "$port" tls
        scheme=https curl_tls=(--cacert "$CERT")
        [[ -n ${NEGOTIATED[$server]:-} ]] || NEGOTIATED[$server]=$(negotiated "$port")
    fi
    [[ $mode == https-close || $mode == close ]] && hdr=(-H "Connection: close")
    url="$scheme://127.0.0.1:$port/$file"
    out=$WORK/raw/$server-$mode-$file.wrk
    # Measure only a server that returns the right bytes.
    curl -sf --noproxy '*' --max-time 10 "${curl_tls[@]}" "$url" | cmp -s - "$DOCROOT/$file" ||
        die "$server did not return $file intact over $scheme"
    if ((WARMUP > 0)); then
        run_wrk "$WARMUP" "${hdr[@]}" "$url" >/dev/null || die "wrk warm-up failed against $server"
    fi
    cpu0=$(cpu_ticks "$MEAS_PID")
    run_wrk "$DURATION" "${hdr[@]}" --latency "$url" >"$out" || die "wrk failed against $server (see $out)"
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
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$server" "$rps" "$p99" "$cpu_us" "$hwm" "$requests" "$errors" "$mode" >>"$RESULTS"
    log "$server $mode $file: $rps req/s, p99 ${p99} us, ${cpu_us} us CPU/req, peak RSS ${hwm} KiB, errors $errors"
}

# Does the client resume TLS sessions? Against an nginx that allows resumption (cache
# and tickets) and logs $ssl_session_reused, run the handshake case's wrk for 2 s with
# and without the shim. With it, no handshake may be resumed; without it, the count
# shows what plain wrk would have measured. Sets TLS_CHECK (a sentence for the report).
tls_resumption_check() {
    if [[ " $SERVERS " != *" nginx "* ]]; then
        TLS_CHECK="not checked (the check uses nginx, which was not in BENCH_SERVERS)"
        return 0
    fi
    local port log total reused plain_total plain_reused hdr=(-H "Connection: close")
    port=$(free_port)
    start_server nginx "$port" tls-check
    log=$WORK/nginx/access.log
    CASE_MODE=plain # wrk without the shim first
    : >"$log"
    run_wrk 2 "${hdr[@]}" "https://127.0.0.1:$port/$HANDSHAKE_FILE" >"$WORK/raw/tls-check-wrk.wrk" ||
        die "wrk failed in the resumption check"
    plain_total=$(wc -l <"$log") plain_reused=$(awk '$4 == "r"' "$log" | wc -l)
    CASE_MODE=https-close
    : >"$log"
    run_wrk 2 "${hdr[@]}" "https://127.0.0.1:$port/$HANDSHAKE_FILE" >"$WORK/raw/tls-check-shim.wrk" ||
        die "wrk failed in the resumption check"
    total=$(wc -l <"$log") reused=$(awk '$4 == "r"' "$log" | wc -l)
    cp "$log" "$WORK/raw/tls-check-access.log"
    stop_server
    ((total > 0)) || die "resumption check: nginx logged no requests"
    ((reused == 0)) || die "resumption check: wrk with the shim still resumed $reused of $total handshakes"
    TLS_CHECK="with the shim 0 of $total handshakes were resumed (wrk alone: $plain_reused of $plain_total)"
    log "resumption check: $TLS_CHECK"
}

# idle_case SERVER [MODE]: MODE plain (default) or tls (HTTPS connections, each after a
# full handshake; the figure then includes what the TLS library keeps per connection).
idle_case() {
    local server=$1 mode=${2:-plain} port out table=$IDLE tls_args=()
    port=$(free_port)
    if [[ $mode == tls ]]; then
        start_server "$server" "$port" tls
        tls_args=(--tls --cafile "$CERT")
        table=$IDLE_TLS
    else
        start_server "$server" "$port"
    fi
    out=$WORK/raw/$server-idle-$mode.txt
    timeout 120 taskset -c "$CLIENT_CPU" python3 "$HERE/idle_conns.py" --pid "$MEAS_PID" --port "$port" \
        --count "$IDLE_CONNS" --deadline 60 "${tls_args[@]}" >"$out" || die "idle test ($mode) failed against $server"
    stop_server
    local before after alive per errs
    before=$(sed -n 's/^rss_before_kib=//p' "$out")
    after=$(sed -n 's/^rss_after_kib=//p' "$out")
    alive=$(sed -n 's/^alive=//p' "$out")
    errs=$(sed -n 's/^errors=//p' "$out")
    per=$(sed -n 's/^per_conn_bytes=//p' "$out")
    printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$before" "$after" "$alive" "$per" >>"$table"
    ((alive == IDLE_CONNS)) || log "warning: only $alive of $IDLE_CONNS idle $mode connections to $server stayed open ($errs errors)"
    log "$server idle $mode: RSS $before -> $after KiB over $alive connections = $per bytes/conn"
}

# ---------------------------------------------------------------------------------
# Run

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "servers: $SERVERS; files: $FILES; wrk -t1 -c$CONNS -d${DURATION}s (+${WARMUP}s warm-up); idle conns: $IDLE_CONNS"
log "servers on core $SERVER_CPU, client on core $CLIENT_CPU; work dir $WORK"
declare -A NEGOTIATED=()
TLS_CHECK=""
for file in $FILES; do
    for server in $SERVERS; do
        bench_case "$server" "$file" plain
    done
done
if [[ $CLOSE == 1 ]]; then
    for server in $SERVERS; do
        bench_case "$server" 1k.bin close
    done
fi
if [[ $MANY == 1 ]]; then
    for server in $SERVERS; do
        bench_case "$server" 1k.bin many
    done
fi
if [[ $TLS == 1 ]]; then
    tls_resumption_check
    for file in $TLS_FILES; do
        for server in $SERVERS; do
            bench_case "$server" "$file" https
        done
    done
    for server in $SERVERS; do
        bench_case "$server" "$HANDSHAKE_FILE" https-close
    done
fi
if [[ $IDLE_CASE == 1 ]]; then
    for server in $SERVERS; do
        idle_case "$server"
        [[ $TLS == 0 ]] || idle_case "$server" tls
    done
fi

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
    echo "- command: \`$(printf '%q ' "$0" "$@" | sed 's/ $//')\` with BENCH_SERVERS=\"$SERVERS\" BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNS BENCH_WARMUP=$WARMUP BENCH_FILES=\"$FILES\" BENCH_CLOSE=$CLOSE BENCH_MANY=$MANY BENCH_MANY_CONNS=$MANY_CONNS BENCH_IDLE=$IDLE_CASE BENCH_IDLE_CONNS=$IDLE_CONNS BENCH_NGINX_TCP_NOPUSH=$NGINX_NOPUSH BENCH_TLS=$TLS BENCH_TLS_FILES=\"$TLS_FILES\""
    echo "- client: \`taskset -c $CLIENT_CPU wrk -t1 -c$CONNS -d${DURATION}s --latency\` ($(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)), after ${WARMUP}s of unmeasured warm-up"
    echo "- servers: one worker each, pinned with \`taskset -c $SERVER_CPU\`, one after another, fresh process per case"
    echo "- machine: $NPROC CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
    for s in $SERVERS; do echo "- $s: $(version_of "$s")"; done
    if [[ $TLS == 1 ]]; then
        echo "- HTTPS: one ECDSA P-256 certificate and key from \`carbond --gen-self-signed\` for all servers; TLS 1.2 and 1.3 enabled, session cache and tickets on in every server; negotiated with OpenSSL's default client offer:"
        for s in $SERVERS; do echo "  - $s: ${NEGOTIATED[$s]:-not measured}"; done
        echo "- HTTPS client: the same wrk with \`LD_PRELOAD=no_resume.so\` (bench/no_resume.c), which stops it resuming TLS sessions; \"new conn\" cases add \`-H 'Connection: close'\`, so every request is a new TCP connection and a full handshake"
        echo "- resumption check against nginx with resumption allowed: $TLS_CHECK"
    fi
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "## Results"
    echo
    python3 "$HERE/report.py" "$RESULTS" "$IDLE" $SERVERS
} >"$REPORT"

echo
cat "$REPORT"
if [[ -n $OUT ]]; then cp "$REPORT" "$OUT" && log "report written to $OUT"; fi
