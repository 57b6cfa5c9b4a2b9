#!/bin/sh
# The image's entrypoint. Maps the variable names Carbon's earlier image documented
# (SERVER_NAME, PORT, USE_HTTPS, ENABLE_HTTP2, ENABLE_WEBSOCKET, MAX_THREADS,
# VERBOSE) to carbond's CARBON_<KEY> overrides; a CARBON_<KEY> that is set wins.
# carbond validates the values and names the variable in any error.
#
# With no arguments, or only options (e.g. --check-config), runs carbond in the
# foreground with /etc/carbon/carbon.conf; otherwise runs the given command (e.g.
# `carbonctl status` through docker exec or run).
set -eu

for name in SERVER_NAME PORT USE_HTTPS ENABLE_HTTP2 ENABLE_WEBSOCKET MAX_THREADS VERBOSE; do
    eval "plain=\${$name:-}"
    eval "prefixed=\${CARBON_$name:-}"
    # shellcheck disable=SC2154 # assigned by eval above
    if [ -n "$plain" ] && [ -z "$prefixed" ]; then
        export "CARBON_$name=$plain"
    fi
done

if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
    exec /usr/sbin/carbond --foreground --config /etc/carbon/carbon.conf "$@"
fi
exec "$@"
