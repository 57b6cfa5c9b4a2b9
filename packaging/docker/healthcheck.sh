#!/bin/bash
# HEALTHCHECK: GET / on the HTTP port must answer (any status below 500), using
# bash's /dev/tcp so the image needs no HTTP client.
set -eu
port=${CARBON_PORT:-${PORT:-8080}}
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
read -r -t 4 _ status _ <&3
[ -n "$status" ] && [ "$status" -lt 500 ]
