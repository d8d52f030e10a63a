#!/usr/bin/env bash
# integrity-overhead.sh — the cost of each integrity axis on fillrandom, readrandom and readseq,
# as ratios to the plain configuration in one interleaved run (docs/PERFORMANCE.md "Integrity").
#   scripts/integrity-overhead.sh [BUILD_DIR] [NUM] [ROUNDS]
# Runs strata-bench once per configuration per round, configurations interleaved, and prints the
# median µs/op of each and its ratio to "plain" (> 1 = slower).  Needs python3 for the table.
set -euo pipefail
build=${1:-build/release}
num=${2:-300000}
rounds=${3:-3}
bench=$build/bench/strata-bench
work=$(mktemp -d /var/tmp/strata-overhead.XXXXXX)
trap 'rm -rf "$work"' EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/key"
echo >>"$work/key"
configs=(
  "plain|"
  "aes-gcm|encryption=aes-256-gcm;encryption_key_file=$work/key"
  "rs-8+2|ecc=rs"
  "xor-8+1|ecc=xor"
  "protect-8|protection_bytes_per_key=8"
  "all|encryption=aes-256-gcm;encryption_key_file=$work/key;ecc=rs;protection_bytes_per_key=8"
)
for r in $(seq 1 "$rounds"); do
  for c in "${configs[@]}"; do
    name=${c%%|*}
    opts=${c#*|}
    rm -rf "$work/db"
    args=(--engine=strata --num="$num" --benchmarks=fillrandom,readrandom,readseq
          --db="$work/db" --json)
    [ -n "$opts" ] && args+=(--strata_options="$opts")
    "$bench" "${args[@]}" 2>/dev/null >"$work/$name.$r.json" || {
      echo "strata-bench failed for $name" >&2; exit 1; }
  done
done
python3 - "$work" "$rounds" "${configs[@]%%|*}" <<'PY'
import json, statistics, sys
work, rounds, names = sys.argv[1], int(sys.argv[2]), [c.split('|')[0] for c in sys.argv[3:]]
med = {}
for n in names:
    per = {}
    for r in range(1, rounds + 1):
        d = json.load(open(f"{work}/{n}.{r}.json"))
        for w in d["runs"][0]["workloads"]:
            per.setdefault(w["name"], []).append(w["micros_per_op"])
    med[n] = {w: statistics.median(v) for w, v in per.items()}
wl = list(med["plain"].keys())
print("config      " + "".join(f"{w:>24}" for w in wl))
for n in names:
    cells = "".join(f"{med[n][w]:>11.3f} µs ({med[n][w] / med['plain'][w]:5.2f}x)" for w in wl)
    print(f"{n:<12}{cells}")
PY
