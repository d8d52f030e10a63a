#!/usr/bin/env bash
# cli_test.sh STRATA_BIN WORKDIR SCENARIO — end-to-end tests of the `strata` tool.
# Scenarios: roundtrip (load, scan, dump, reload, compare, verify, compact), corrupt_repair
# (corrupt one byte of a data block, verify reports file and offset with exit 3, repair reports
# what it lost, reopen), salvage (copy a damaged DB into a new one, the report, exit codes),
# errors (exit codes: missing key 1, usage 2, busy DB 4, missing DB 4), json (every --json output
# parses), encodings (hex/escaped/raw round trips of binary keys).
set -u
S=$1
W=$2
SCENARIO=$3
rm -rf "$W"
mkdir -p "$W"
cd "$W" || exit 1
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# expect_rc CODE CMD... : runs CMD (stdout to out.txt, stderr to err.txt), checks its exit code.
expect_rc() {
    local want=$1; shift
    "$@" >out.txt 2>err.txt
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "expected exit $want, got $got: $*"
        sed 's/^/  stderr: /' err.txt >&2
    fi
}

json_ok() { # json_ok CMD... : exit 0 and stdout parses as JSON
    expect_rc 0 "$@"
    python3 -c 'import json,sys; json.load(sys.stdin)' <out.txt || fail "bad JSON from: $*"
}

make_input() { # N lines key%06d<TAB>value with an escaped control byte
    local n=$1
    for ((i = 1; i <= n; i++)); do printf 'key%06d\tvalue-%d-\\x01-padding-padding-padding\n' "$i" "$i"; done
}

roundtrip() {
    make_input 5000 >in.tsv
    expect_rc 4 "$S" --db db load in.tsv   # no --create: missing DB
    expect_rc 0 "$S" --db db load in.tsv --create
    expect_rc 0 "$S" --db db get key000042
    [ "$(cat out.txt)" = 'value-42-\x01-padding-padding-padding' ] || fail "get value: $(cat out.txt)"
    expect_rc 0 "$S" --db db scan --from key000010 --to key000013
    [ "$(cut -f1 out.txt | tr '\n' ' ')" = "key000010 key000011 key000012 " ] || fail "scan range"
    expect_rc 0 "$S" scan --db db --prefix key00499 --reverse --keys-only
    [ "$(head -1 out.txt)" = "key004999" ] && [ "$(wc -l <out.txt)" -eq 10 ] || fail "prefix reverse"
    expect_rc 0 "$S" --db db scan --limit 7
    [ "$(wc -l <out.txt)" -eq 7 ] || fail "limit"
    expect_rc 0 "$S" --db db dump
    cp out.txt dump1.tsv
    cmp -s dump1.tsv in.tsv || fail "dump differs from input"
    "$S" --db db2 --create load <dump1.tsv || fail "reload dump from stdin"
    expect_rc 0 "$S" --db db2 dump
    cmp -s out.txt dump1.tsv || fail "second DB dump differs"
    expect_rc 0 "$S" --db db put extra 'x y'
    expect_rc 0 "$S" --db db delete key000001
    expect_rc 1 "$S" --db db get key000001
    expect_rc 0 "$S" --db db verify
    expect_rc 0 "$S" --db db compact
    expect_rc 0 "$S" --db db compact key000100 key000200
    expect_rc 0 "$S" --db db verify
    grep -q 'table .*\.sst: OK' out.txt || fail "verify lists tables"
    expect_rc 0 "$S" --db db get extra
    [ "$(cat out.txt)" = "x y" ] || fail "get after compact"
    expect_rc 0 "$S" --db db approx-size key000000 key999999
    [ "$(cat out.txt)" -gt 0 ] || fail "approx-size > 0"
    expect_rc 0 "$S" --db db stats
    expect_rc 0 "$S" --db db manifest dump
    grep -q 'resulting levels' out.txt || fail "manifest levels"
    for f in db/*.sst; do
        expect_rc 0 "$S" sst verify "$f"
        expect_rc 0 "$S" sst dump "$f"
        expect_rc 0 "$S" sst props "$f"
    done
    expect_rc 0 "$S" --db db2 destroy
    [ ! -e db2 ] || fail "destroy left the directory"
}

# Offset of the last data block of table $1 (from sst dump --json).
last_block_offset() {
    "$S" sst dump "$1" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(max(e["offset"] for e in d["index"]))'
}

corrupt_repair() {
    make_input 5000 >in.tsv
    expect_rc 0 "$S" --db db --create load in.tsv
    expect_rc 0 "$S" --db db compact
    expect_rc 0 "$S" --db db verify
    local sst
    sst=$(ls db/*.sst | head -1)
    [ -n "$sst" ] || { fail "no table after compact"; return; }
    local off
    off=$(last_block_offset "$sst")
    printf '\x5a' | dd of="$sst" bs=1 seek=$((off + 20)) conv=notrunc 2>/dev/null
    expect_rc 3 "$S" --db db verify
    grep -q "$(basename "$sst").*offset $off" out.txt || { fail "verify names file and offset"; cat out.txt >&2; }
    expect_rc 3 "$S" --db db verify --json
    python3 -c 'import json,sys; d=json.load(sys.stdin); assert not d["ok"] and d["corrupt"] == 1' <out.txt \
        || fail "verify --json reports the corruption"
    expect_rc 3 "$S" sst verify "$sst"
    expect_rc 3 "$S" --db db scan
    grep -q "corruption" err.txt || fail "scan error names corruption"
    expect_rc 0 "$S" --db db repair
    grep -q "^repaired db: .* 1 damaged blocks (~[0-9]* entries, [0-9]* bytes lost)" out.txt \
        || { fail "repair prints its report"; cat out.txt >&2; }
    grep -q "^  $(basename "$sst"): offsets $off\.\.[0-9]*: .*entries lost" out.txt \
        || { fail "repair report names file and offsets"; cat out.txt >&2; }
    expect_rc 0 "$S" --db db verify
    expect_rc 0 "$S" --db db get key000001
    expect_rc 0 "$S" --db db scan --keys-only
    [ "$(wc -l <out.txt)" -ge 4800 ] || fail "only the damaged block is lost: $(wc -l <out.txt) keys"
    ls db/*.corrupt >/dev/null 2>&1 || fail "damaged table renamed .corrupt"
}

# Offset of the middle data block of table $1.
mid_block_offset() {
    "$S" sst dump "$1" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
offs = sorted(e["offset"] for e in d["index"])
print(offs[len(offs) // 2])'
}

salvage() {
    make_input 5000 >in.tsv
    expect_rc 0 "$S" --db db --create load in.tsv
    expect_rc 0 "$S" --db db compact
    local sst off
    sst=$(ls db/*.sst | head -1)
    [ -n "$sst" ] || { fail "no table after compact"; return; }
    off=$(mid_block_offset "$sst")
    printf '\x5a' | dd of="$sst" bs=1 seek=$((off + 20)) conv=notrunc 2>/dev/null
    expect_rc 0 "$S" salvage db db2
    grep -q "^salvaged db into db2: .* 1 damaged blocks" out.txt || { fail "salvage summary"; cat out.txt >&2; }
    grep -q "^  $(basename "$sst"): offsets $off\.\.[0-9]*: .*entries lost" out.txt \
        || { fail "salvage report names file and offsets"; cat out.txt >&2; }
    expect_rc 0 "$S" --db db2 verify
    expect_rc 0 "$S" --db db2 scan --keys-only
    local n
    n=$(wc -l <out.txt)
    [ "$n" -ge 4800 ] && [ "$n" -lt 5000 ] || fail "salvage keeps all but the damaged block: $n keys"
    expect_rc 0 "$S" --db db2 get key005000
    # The damaged DB was only read.
    expect_rc 3 "$S" --db db verify
    ls db/*.corrupt >/dev/null 2>&1 && fail "salvage changed the damaged DB"
    # The --db form, JSON, and errors.
    json_ok "$S" --db db --json salvage db3
    python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["blocks_unrecoverable"] == 1 and len(d["detail"]) == 1' <out.txt \
        || fail "salvage --json reports the damaged block"
    expect_rc 4 "$S" salvage db db2
    grep -q "already exists" err.txt || fail "salvage into an existing DB: $(cat err.txt)"
    expect_rc 4 "$S" salvage nonexistent db4
    [ ! -e db4 ] || fail "failed salvage left a new DB behind"
    expect_rc 2 "$S" salvage
    expect_rc 2 "$S" salvage a b c
}

errors() {
    expect_rc 0 "$S" --db db --create put k v
    expect_rc 1 "$S" --db db get missing
    expect_rc 2 "$S" --db db frobnicate
    expect_rc 2 "$S" --db db get
    expect_rc 2 "$S" --db db get a b
    expect_rc 2 "$S" get k
    expect_rc 2 "$S" --db db --bogus get k
    expect_rc 2 "$S" --db db scan --limit -3
    expect_rc 2 "$S" --db db --options 'no_such_option=1' get k
    expect_rc 2 "$S" --db db --hex get 'zz'
    expect_rc 2 "$S" --db db sst
    expect_rc 2 "$S"
    expect_rc 0 "$S" --help
    expect_rc 0 "$S" scan --help
    grep -q -- '--prefix' out.txt || fail "scan --help"
    expect_rc 4 "$S" --db nonexistent get k
    grep -q '^strata: open nonexistent: not found' err.txt || fail "missing DB message"
    printf 'no tab here\n' >bad.tsv
    expect_rc 2 "$S" --db db load bad.tsv
    expect_rc 4 "$S" sst verify nonexistent.sst
    head -c 1000 /dev/zero | tr '\0' 'x' >notatable.sst
    expect_rc 3 "$S" sst verify notatable.sst
    grep -q 'not a strata table' err.txt || fail "sst verify of a non-table"
    # Busy: a load waiting on stdin holds the DB open.  Wait until its lock shows in /proc/locks
    # (probing with another strata process could steal the lock from it).
    (sleep 4 | "$S" --db db load) &
    local holder=$! ino locked=0
    ino=$(stat -c %i db/LOCK)
    for _ in $(seq 1 100); do
        if grep -q ":$ino " /proc/locks; then locked=1; break; fi
        sleep 0.05
    done
    [ $locked -eq 1 ] || fail "helper did not lock the DB"
    expect_rc 4 "$S" --db db get k
    grep -q '^strata: open db: busy: ' err.txt || fail "busy message format: $(cat err.txt)"
    expect_rc 4 "$S" --db db verify
    expect_rc 4 "$S" --db db repair
    wait "$holder"
    expect_rc 0 "$S" --db db get k
}

json() {
    make_input 300 >in.tsv
    expect_rc 0 "$S" --db db --create load in.tsv
    expect_rc 0 "$S" --db db put 'quote"back\\slash' 'v\x00\xff'
    json_ok "$S" --db db --json get key000001
    json_ok "$S" --db db --json scan
    json_ok "$S" --db db --json scan --reverse --limit 2 --keys-only
    json_ok "$S" --db db --json --raw scan
    json_ok "$S" --db db --json dump
    json_ok "$S" --db db --json stats
    json_ok "$S" --db db --json approx-size a z
    json_ok "$S" --db db --json manifest dump
    for f in db/*.log; do json_ok "$S" --json wal dump "$f"; done
    json_ok "$S" --db db --json verify
    expect_rc 0 "$S" --db db compact
    for f in db/*.sst; do
        json_ok "$S" --json sst dump "$f"
        json_ok "$S" --json sst props "$f"
        json_ok "$S" --json sst verify "$f"
    done
    json_ok "$S" --db db --json verify
    json_ok "$S" --db db --json manifest dump
}

encodings() {
    expect_rc 0 "$S" --db db --create --hex put 00ff0a09 deadbeef
    expect_rc 0 "$S" --db db get '\x00\xff\n\t'
    [ "$(cat out.txt)" = '\xde\xad\xbe\xef' ] || fail "escaped output: $(cat out.txt)"
    expect_rc 0 "$S" --db db --hex get 00FF0A09
    [ "$(cat out.txt)" = 'deadbeef' ] || fail "hex output"
    expect_rc 0 "$S" --db db --raw put rawkey 'plain'
    expect_rc 0 "$S" --db db --raw get rawkey
    [ "$(cat out.txt)" = 'plain' ] || fail "raw output"
    expect_rc 0 "$S" --db db put 'back\\slash' 'v'
    expect_rc 0 "$S" --db db --raw get 'back\slash'
    expect_rc 0 "$S" --db db --hex dump
    cp out.txt hex.tsv
    expect_rc 0 "$S" --db db2 --create --hex load hex.tsv
    expect_rc 0 "$S" --db db2 dump
    cp out.txt a.tsv
    expect_rc 0 "$S" --db db dump
    cmp -s out.txt a.tsv || fail "hex dump/load round trip"
    # A WAL dump shows the sequence numbers and operations.
    expect_rc 0 "$S" --db db delete rawkey
    expect_rc 0 "$S" --db db put 'k2' 'v2'
    local log
    log=$(ls db/*.log | tail -1)
    expect_rc 0 "$S" wal dump "$log"
    grep -q 'seq [0-9]* count 1' out.txt && grep -q 'put k2 => v2' out.txt || fail "wal dump: $(cat out.txt)"
}

case "$SCENARIO" in
roundtrip | corrupt_repair | salvage | errors | json | encodings) "$SCENARIO" ;;
*) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
if [ $FAILS -ne 0 ]; then
    echo "$SCENARIO: $FAILS failure(s)" >&2
    exit 1
fi
echo "$SCENARIO: ok"
