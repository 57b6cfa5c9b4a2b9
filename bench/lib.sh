# shellcheck shell=bash
# Shared by bench/run.sh, bench/h2load.sh and bench/resilience.sh (sourced, not run).
# The sourcing script sets LOG_TAG (the log prefix) and ROOT (the repository) first.

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[-1]}"; }
log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# install_packages PKG...: apt-get install, as root or through sudo.
install_packages() {
    log "installing missing packages: $*"
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
        apt-get install -y -qq --no-install-recommends "$@" || rc=$?; }
    ((created_policy)) && "${sudo[@]}" rm -f "$policy"
    ((rc == 0)) || die "apt-get failed (exit $rc)"
}

# Builds the release carbond of this checkout and points CARBOND at it.
build_release_carbond() {
    log "building carbond (cargo build --release -p carbond)"
    (cd "$ROOT" && timeout 3600 cargo build --release -p carbond) || die "carbond build failed"
    CARBOND=${CARGO_TARGET_DIR:-$ROOT/target}/release/carbond
    [[ -x $CARBOND ]] || die "no binary at $CARBOND"
}

# Thousands of connections on both sides of loopback.
raise_nofile() {
    local hard
    hard=$(ulimit -Hn)
    if [[ $hard == unlimited ]] || ((hard >= 16384)); then ulimit -n 16384; else ulimit -n "$hard"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# utime + stime of a whole process (all threads, live and exited), in clock ticks.
# Fields after "(comm)" start at field 3, so utime (14) and stime (15) are $12 and $13.
# write_h2_files DOCROOT PATHS: 1k.bin and 1m.bin of random octets, and when PATHS > 1
# also PATHS distinct 1 KiB files 1k-0000.bin, ... (the distinct-paths cases).
write_h2_files() {
    python3 - "$1" "$2" <<'PY'
import random, sys
for name, size in (("1k.bin", 1024), ("1m.bin", 1024 * 1024)):
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        f.write(random.Random(size).randbytes(size))
paths = int(sys.argv[2])
for i in range(paths if paths > 1 else 0):
    with open(f"{sys.argv[1]}/1k-{i:04}.bin", "wb") as f:
        f.write(random.Random(i).randbytes(1024))
PY
}

# path_uris BASE PATHS: the URIs of those PATHS files under BASE (scheme://host:port),
# one a line, for `h2load -i`.
path_uris() {
    local i
    for ((i = 0; i < $2; i++)); do printf '%s/1k-%04d.bin\n' "$1" "$i"; done
}

# Linux caches per-destination TCP metrics (RTT, ssthresh, cwnd, reordering) when a
# connection closes and seeds new connections to that address with them: on loopback
# every server shares one entry for 127.0.0.1, so one server's run would set the
# starting point of the next's (a cached 4 ms RTT and an ssthresh of 18 segments were
# seen after a run). Each case starts from none instead (root only; a no-op otherwise).
fresh_tcp_metrics() {
    ip tcp_metrics flush 127.0.0.0/8 2>/dev/null || true
    ip tcp_metrics flush ::1 2>/dev/null || true
}
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
proc_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
children_of() { ps -o pid= --ppid "$1" | tr -d ' ' || true; }

# stop_pid PID NAME GRACE_SECONDS: SIGTERM to a server this script started, SIGKILL
# if it is still there after the grace period, then reap it.
stop_pid() {
    local pid=$1 name=$2 grace=$3 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "warning: $name ($pid) ignored SIGTERM for $grace s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# write_h2o_conf DIR PORT TLS(0|1) TUNING: one-thread h2o serving $DOCROOT on
# 127.0.0.1:PORT, over TLS with $CERT/$KEY when TLS=1; TUNING is an extra top-level
# line (the idle timeout that matters to the caller). h2o's default session resumption
# (internal cache + tickets) is kept. neverbleed would do the private-key operations
# in a separate daemon process, outside the measured one; OFF keeps the signature in
# the process whose CPU is counted. With a self-signed certificate there is no OCSP
# responder to ask. No access-log directive: h2o then logs nothing.
write_h2o_conf() {
    local dir=$1 port=$2 tls=$3 tuning=$4 ssl=""
    ((tls)) && ssl="
  ssl:
    certificate-file: $CERT
    key-file: $KEY
    minimum-version: TLSv1.2
    neverbleed: OFF
    ocsp-update-interval: 0"
    cat >"$dir/h2o.conf" <<EOF2
num-threads: 1
max-connections: 8192
$tuning
error-log: $dir/error.log
listen:
  host: 127.0.0.1
  port: $port$ssl
hosts:
  "127.0.0.1:$port":
    paths:
      /:
        file.dir: $DOCROOT
EOF2
}
