#!/bin/sh
# build_compat.sh CC INCLUDE_DIR LIB_DIR SOURCE WORK_DIR [CFLAGS...] — builds a program written
# only against leveldb/c.h the way a user would (-I<strata>/include -lstrata_leveldb), checks that
# strata's header (not a system LevelDB's) was used and that the program does not link
# libleveldb, then runs it with a fresh directory for its DB.
set -eu
cc=$1
inc=$2
libdir=$3
src=$4
work=$5
shift 5

rm -rf "$work"
mkdir -p "$work"
exe=$work/leveldb_compat

# The header that the compiler resolves for <leveldb/c.h> must be ours.
"$cc" "$@" -I"$inc" -E "$src" -o "$work/pre.i"
if ! grep -qF "\"$inc/leveldb/c.h\"" "$work/pre.i"; then
    echo "leveldb/c.h did not resolve to $inc/leveldb/c.h:"
    grep -o '"[^"]*leveldb/c.h"' "$work/pre.i" | sort -u
    exit 1
fi

"$cc" "$@" -I"$inc" "$src" -o "$exe" -L"$libdir" -lstrata_leveldb -Wl,-rpath,"$libdir"

if ldd "$exe" | grep -q 'libleveldb'; then
    echo "$exe links LevelDB itself:"
    ldd "$exe"
    exit 1
fi
ldd "$exe" | grep -qF "$libdir/libstrata_leveldb" || { echo "not linked to $libdir"; ldd "$exe"; exit 1; }

"$exe" "$work/db"
