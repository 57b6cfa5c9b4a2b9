#!/usr/bin/env bash
# Per-request CPU as keep-alive connections grow: carbond, nginx and h2o, one worker
# each, 1k.bin over BENCH_CONNECTIONS (default 64) connections and then over
# BENCH_MANY_CONNS (default 5000), one request in flight on each (wrk never
# pipelines). The report puts both rows side by side; a server whose cost is flat
# spends the same microseconds per request in both.
#
# Usage: bench/many_conns.sh [--quick]
#
# Every other BENCH_* variable of bench/run.sh applies (BENCH_SERVERS,
# BENCH_DURATION, BENCH_CARBOND, BENCH_OUT, ...). The open-file limit is raised to
# 16384 for the servers and wrk (bench/lib.sh, raise_nofile), so 5000 connections
# fit on both sides of loopback.

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

export BENCH_FILES=${BENCH_FILES-1k.bin}
export BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-64}
export BENCH_MANY=1
export BENCH_MANY_CONNS=${BENCH_MANY_CONNS:-5000}
export BENCH_CLOSE=${BENCH_CLOSE:-0}
export BENCH_TLS=${BENCH_TLS:-0}
export BENCH_IDLE=${BENCH_IDLE:-0}
# Opening 5000 connections takes wrk a moment: a longer warm-up keeps that out of
# the measured run's steady state (the measured run reconnects, see bench/README.md).
export BENCH_WARMUP=${BENCH_WARMUP:-2}
exec "$HERE/run.sh" "$@"
