#!/usr/bin/env bash
# strata's main job: a short side-by-side benchmark on a temporary database when strata-bench is
# built, otherwise the load/read-back demo.
set -euo pipefail
build=${1:-build/release}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-main.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ -x "$build/bench/strata-bench" ]; then
    "$build/bench/strata-bench" --compare --num=100000 --repeats=3 --db="$tmp" \
        --benchmarks=fillseq,fillrandom,overwrite,readrandom,readseq,readreverse,seekrandom,fdatasync,fillsync
else
    "$build/examples/strata_demo" "$tmp/demo"
fi
