#!/usr/bin/env bash
# run.sh — libFuzzer runs of the targets in fuzz/ (what `make fuzz` calls).
#   fuzz/run.sh [seconds-per-target] [target...]   long runs (default 300 s each, all targets)
#   fuzz/run.sh ci                                 the short CTest runs (label "fuzz"), for CI
# Environment: FUZZ_BUILD_DIR (default: the "fuzz" CMake preset, build/fuzz: clang, Debug,
# ASan+UBSan), FUZZ_JOBS (targets run in parallel, default 1).
# Long runs read the committed seeds (fuzz/corpus/<t>, never written) plus a growing corpus in
# <build>/fuzz/corpus-long/<t>; crash reproducers land in <build>/fuzz/artifacts/<t>/ — replay one
# with `<build>/fuzz/fuzz_<t> <file>`.  Prints the executions per target; exits non-zero if any
# target found a crash.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
targets_all="block table wal version_edit batch options api_ops keyfile crypt ecc encrypted_block
  parity_block encrypted_log"

if [ -n "${FUZZ_BUILD_DIR:-}" ]; then
  build=$FUZZ_BUILD_DIR
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
      -DCMAKE_CXX_COMPILER=clang++ -DSTRATA_SANITIZE=address >/dev/null || exit 1
  fi
else
  build=$root/build/fuzz
  (cd "$root" && cmake --preset fuzz >/dev/null) || exit 1
fi
ninja -C "$build" $(for t in $targets_all; do printf 'fuzz_%s ' "$t"; done) || exit 1

if [ "${1:-}" = ci ]; then
  exec ctest --test-dir "$build" -L fuzz --output-on-failure
fi

secs=${1:-300}
shift || true
targets=${*:-$targets_all}
status=0
run_one() {
  local t=$1 corpus="$build/fuzz/corpus-long/$1" art="$build/fuzz/artifacts/$1/"
  mkdir -p "$corpus" "$art"
  "$build/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art" "$corpus" "$here/corpus/$t" \
    >"$build/fuzz/$t.log" 2>&1
  local rc=$?
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz/$t.log" | grep -o '[0-9]*$')
  echo "fuzz_$t: rc=$rc executions=${execs:-?} log=$build/fuzz/$t.log"
  return $rc
}
jobs_max=${FUZZ_JOBS:-1}
for t in $targets; do
  run_one "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || status=1; done
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || status=1; done
exit $status
