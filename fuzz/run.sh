#!/usr/bin/env bash
# Runs every cargo-fuzz target (or the ones named) for a fixed number of executions,
# one after another, and merges the inputs that add coverage into the committed corpora.
#
#   fuzz/run.sh [RUNS] [TARGET...]     RUNS defaults to 1000000
#   FUZZ_NICE=19 fuzz/run.sh 10000000  # the long run, polite to other work
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). It works on the stable toolchain:
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its unstable flags (-Zsanitizer is not needed,
# `-s none`); see fuzz/README.md. Not part of .ci/run: a run takes minutes to hours.
#
# For each target: libFuzzer runs with `-runs=RUNS` on a scratch corpus seeded from
# fuzz/corpus/TARGET; then `-set_cover_merge=1` copies into fuzz/corpus/TARGET only new inputs
# that reach code (edges) the committed corpus does not, and, past FUZZ_MAX_CORPUS files
# (default 1000), `cargo fuzz cmin` shrinks it again. A crash leaves its input in
# fuzz/artifacts/TARGET/, is reported, and makes the script exit 1 after the other
# targets have run. The summary (one line per target: runs, seconds, result, corpus
# size) is printed at the end and appended to fuzz/artifacts/runs.log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"

die() {
    echo "fuzz/run.sh: $*" >&2
    exit 2
}

RUNS=${1:-1000000}
[[ $RUNS =~ ^[0-9]+$ ]] || die "RUNS must be a number, got '$RUNS'"
shift || true
MAX_CORPUS=${FUZZ_MAX_CORPUS:-1000}
NICE=${FUZZ_NICE:-0}
# Inputs larger than this add little for line-oriented parsers and slow every run.
MAX_LEN=${FUZZ_MAX_LEN:-4096}

if (($# > 0)); then
    TARGETS=("$@")
else
    TARGETS=()
    for f in fuzz_targets/*.rs; do
        TARGETS+=("$(basename "$f" .rs)")
    done
fi
for t in "${TARGETS[@]}"; do
    [[ -f fuzz_targets/$t.rs ]] || die "no target fuzz_targets/$t.rs"
done
cargo fuzz --version >/dev/null 2>&1 || die "cargo-fuzz is missing: cargo install cargo-fuzz"

export RUSTC_BOOTSTRAP=1
# Release build with debug assertions: integer overflow panics instead of wrapping.
FUZZ_FLAGS=(-s none --debug-assertions)
nice -n "$NICE" cargo fuzz build "${FUZZ_FLAGS[@]}"

mkdir -p artifacts
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
SUMMARY=()
failed=0
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" "$SCRATCH/$t"
    log=$SCRATCH/$t.log
    started=$(date +%s)
    result=ok
    # New inputs go to the first corpus directory (the scratch one); the committed
    # corpus is read as seeds only.
    if ! nice -n "$NICE" cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" "$SCRATCH/$t" "corpus/$t" -- \
        -runs="$RUNS" -max_len="$MAX_LEN" -print_final_stats=1 >"$log" 2>&1; then
        result="FAILED (see artifacts/$t/ and $log)"
        failed=1
        cp "$log" "artifacts/$t/last-run.log"
    fi
    elapsed=$(($(date +%s) - started))
    done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    before=$(find "corpus/$t" -type f | wc -l)
    # -use_counters=0: an input is kept for a new edge, not for a new hit count of an
    # edge it shares (with counters, one h1_request run kept 3,000 files), and
    # -set_cover_merge picks a small set of inputs covering those edges (650 files
    # with the greedy -merge=1, 383 with it, for the same h1_request run).
    nice -n "$NICE" cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" "corpus/$t" "$SCRATCH/$t" -- \
        -set_cover_merge=1 -use_counters=0 -max_len="$MAX_LEN" >"$SCRATCH/$t.merge.log" 2>&1 ||
        echo "fuzz/run.sh: merge for $t failed (see $SCRATCH/$t.merge.log)" >&2
    after=$(find "corpus/$t" -type f | wc -l)
    if ((after > MAX_CORPUS)); then
        nice -n "$NICE" cargo fuzz cmin "${FUZZ_FLAGS[@]}" "$t" -- -use_counters=0 -max_len="$MAX_LEN" \
            >"$SCRATCH/$t.cmin.log" 2>&1 ||
            echo "fuzz/run.sh: cmin for $t failed (see $SCRATCH/$t.cmin.log)" >&2
        after=$(find "corpus/$t" -type f | wc -l)
    fi
    line="$(date -u '+%Y-%m-%d %H:%M UTC') $t: ${done_runs:-?} runs in ${elapsed} s, $result; corpus $before -> $after files"
    echo "$line"
    echo "$line" >>artifacts/runs.log
    SUMMARY+=("$line")
done

echo
printf '%s\n' "${SUMMARY[@]}"
exit "$failed"
