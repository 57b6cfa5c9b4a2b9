#!/bin/sh
# permessage-deflate cost per server window and context-takeover setting:
# times Autobahn-style 13.x cases (1,000 x 128 KiB echoed) against a running carbond
# and reads the server's CPU time from /proc (wall time is noisy on a shared machine).
# Usage: bench/ws_deflate_windows.sh URL CARBOND_PID [CASES]
#   e.g. bench/ws_deflate_windows.sh ws://127.0.0.1:8080/ "$(pidof carbond)"
set -eu
url=$1
pid=$2
cases=${3:-13.1.10 13.1.18 13.2.18 13.3.10 13.3.18 13.4.18 13.5.18 13.6.18}
here=$(dirname "$0")
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
for c in $cases; do
    before=$(cpu)
    t0=$(date +%s.%N)
    result=$(python3 "$here/../tests/e2e/ws_conformance.py" --url "$url" --slow --cases "$c" | tail -1)
    t1=$(date +%s.%N)
    after=$(cpu)
    echo "$c wall $(echo "$t1 - $t0" | bc | cut -c1-6) s, carbond cpu $(echo "scale=2; ($after - $before) / $tck" | bc) s: $result"
done
