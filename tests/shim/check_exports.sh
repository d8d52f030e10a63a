#!/bin/sh
# check_exports.sh HEADER LIBRARY — libstrata_leveldb exports exactly the functions that LevelDB's
# C header (HEADER, LevelDB's own leveldb/c.h) declares: none missing, nothing else leaked (the
# library is built with hidden visibility; only leveldb_* may be visible).
set -eu
header=$1
lib=$2
tmp=${TMPDIR:-/tmp}/strata-shim-exports.$$
trap 'rm -f "$tmp".want "$tmp".have "$tmp".other' EXIT

grep -o 'leveldb_[a-z0-9_]*(' "$header" | tr -d '(' | sort -u >"$tmp".want
nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWwDdBbRr]$/ {print $3}' | sort -u >"$tmp".have.all
grep '^leveldb_' "$tmp".have.all >"$tmp".have || true
grep -v -e '^leveldb_' -e '^_init$' -e '^_fini$' -e '^_edata$' -e '^_end$' -e '^__bss_start$' \
    "$tmp".have.all >"$tmp".other || true
rm -f "$tmp".have.all

status=0
if ! cmp -s "$tmp".want "$tmp".have; then
    echo "exported leveldb_* symbols differ from $header (< missing, > extra):"
    diff "$tmp".want "$tmp".have || true
    status=1
fi
if [ -s "$tmp".other ]; then
    echo "unexpected exported symbols:"
    cat "$tmp".other
    status=1
fi
[ "$status" -eq 0 ] && echo "$(wc -l <"$tmp".want) functions exported, nothing else"
exit $status
