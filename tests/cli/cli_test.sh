#!/usr/bin/env bash
# cli_test.sh STRATA_BIN WORKDIR SCENARIO — end-to-end tests of the `strata` tool.
# Scenarios: roundtrip (load, scan, dump, reload, compare, verify, compact), corrupt_repair
# (corrupt one byte of a data block, verify reports file and offset with exit 3, repair reports
# what it lost, reopen), salvage (copy a damaged DB into a new one, the report, exit codes),
# errors (exit codes: missing key 1, usage 2, busy DB 4, missing DB 4), json (every --json output
# parses), encodings (hex/escaped/raw round trips of binary keys), ops (delete-range,
# delete-prefix, merge, multi-get, put --ttl, delete --single, and how wal dump and sst dump show
# range tombstones, merge operands, single deletes and TTL values), cf (cf create/list/drop, --cf
# on data and stats commands, data isolated between families, unknown families and misuse).
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

# last_wal_has DB ERE: the DB's newest WAL (the write just made; every open starts a new one)
# dumps a line matching ERE.
last_wal_has() {
    local log
    log=$(ls "$1"/*.log | tail -1)
    "$S" wal dump "$log" >wal.txt 2>&1 || fail "wal dump $log"
    grep -Eq -- "$2" wal.txt || { fail "wal dump of $log has no line /$2/"; cat wal.txt >&2; }
}

# sst_has DB ERE: some table of the DB dumps a line matching ERE.  Each DB below gets only a few
# opens, so its tables stay in level 0 (each open flushes the previous WAL there) and nothing is
# compacted away before it is looked at.
sst_has() {
    local f
    for f in "$1"/*.sst; do
        "$S" sst dump "$f" >sst.txt 2>&1 || fail "sst dump $f"
        grep -Eq -- "$2" sst.txt && return 0
    done
    fail "no table of $1 dumps a line /$2/"
    for f in "$1"/*.sst; do "$S" sst dump "$f" >&2; done
}

ops_range() {
    make_input 20 >in.tsv
    expect_rc 0 "$S" --db dbr --create load in.tsv
    expect_rc 0 "$S" --db dbr delete-range key000005 key000010
    last_wal_has dbr '^  @[0-9]+ range-del \[key000005, key000010\)$'
    json_ok "$S" --json wal dump "$(ls dbr/*.log | tail -1)"
    python3 -c '
import json, sys
ops = [o for r in json.load(sys.stdin)["records"] for o in r["ops"]]
assert ops == [dict(seq=ops[0]["seq"], op="range-del", begin="key000005", end="key000010")], ops
' <out.txt || fail "wal dump --json range-del: $(cat out.txt)"
    expect_rc 0 "$S" --db dbr scan --keys-only # this open flushes the tombstone to a table
    [ "$(tr '\n' ' ' <out.txt | cut -d' ' -f4-6)" = "key000004 key000010 key000011" ] \
        || fail "scan after delete-range: $(tr '\n' ' ' <out.txt)"
    [ "$(wc -l <out.txt)" -eq 15 ] || fail "15 keys left after delete-range"
    sst_has dbr "^range tombstones \(block at offset [0-9]+\):$"
    sst_has dbr "^  \['key000005', 'key000010'\) @[0-9]+$"
    local f found=0
    for f in dbr/*.sst; do
        "$S" --json sst dump "$f" >out.txt || fail "sst dump --json $f"
        python3 -c '
import json, sys
t = json.load(sys.stdin)["range_tombstones"]
sys.exit(0 if [(x["begin"], x["end"]) for x in t] == [("key000005", "key000010")] else 1)
' <out.txt && found=1
    done
    [ $found -eq 1 ] || fail "sst dump --json lists the range tombstone"
    expect_rc 1 "$S" --db dbr get key000005
    expect_rc 1 "$S" --db dbr get key000009
    expect_rc 0 "$S" --db dbr get key000010
    # delete-prefix: the range [P, successor of P).
    expect_rc 0 "$S" --db dbr put 'pfx:a' 1
    expect_rc 0 "$S" --db dbr put 'pfx:b' 2
    expect_rc 0 "$S" --db dbr put 'pfy' 3
    expect_rc 0 "$S" --db dbr delete-prefix 'pfx:'
    last_wal_has dbr '^  @[0-9]+ range-del \[pfx:, pfx;\)$'
    expect_rc 0 "$S" --db dbr scan --prefix pf --keys-only
    [ "$(cat out.txt)" = "pfy" ] || fail "delete-prefix left: $(cat out.txt)"
    expect_rc 0 "$S" --db dbr --hex delete-range 6b6579303030303130 6b6579303030303132
    expect_rc 1 "$S" --db dbr get key000011
    expect_rc 0 "$S" --db dbr get key000012
    expect_rc 2 "$S" --db dbr delete-range a
    expect_rc 2 "$S" --db dbr delete-range a b c
    expect_rc 2 "$S" --db dbr delete-prefix
    expect_rc 4 "$S" --db dbr delete-prefix '' # no successor: INVALID
    expect_rc 4 "$S" --db dbr delete-prefix '\xff\xff'
    expect_rc 4 "$S" --db nonexistent delete-range a b
}

ops_merge() {
    local M='--options=merge_operator=uint64add' one='\x01\x00\x00\x00\x00\x00\x00\x00'
    expect_rc 0 "$S" --db dbm --create "$M" merge cnt "$one"
    last_wal_has dbm '^  @[0-9]+ merge cnt => \\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00$'
    json_ok "$S" --json wal dump "$(ls dbm/*.log | tail -1)"
    grep -q '"op":"merge","key":"cnt","operand":"\\\\x01\\\\x00' out.txt \
        || fail "wal dump --json merge: $(cat out.txt)"
    expect_rc 0 "$S" --db dbm "$M" --hex get 636e74 # this open flushes the operand to a table
    [ "$(cat out.txt)" = 0100000000000000 ] || fail "uint64add of one operand: $(cat out.txt)"
    sst_has dbm "^  'cnt' @[0-9]+ merge => \\\\x01\\\\x00\\\\x00\\\\x00\\\\x00\\\\x00\\\\x00\\\\x00$"
    expect_rc 0 "$S" --db dbm "$M" --hex merge 636e74 0500000000000000
    expect_rc 0 "$S" --db dbm "$M" merge cnt "$one"
    expect_rc 0 "$S" --db dbm "$M" --hex get 636e74
    [ "$(cat out.txt)" = 0700000000000000 ] || fail "uint64add of 1+5+1: $(cat out.txt)"
    expect_rc 0 "$S" --db dbm "$M" --hex multi-get 636e74
    [ "$(cat out.txt)" = "$(printf '636e74\t0700000000000000')" ] || fail "multi-get of a merged key"
    # Reading operands needs the operator; an operator of another name does not open the DB.
    expect_rc 4 "$S" --db dbm get cnt
    grep -qi 'merge' err.txt || fail "get without a merge operator: $(cat err.txt)"
    expect_rc 4 "$S" --db dbm --options merge_operator=stringappend get cnt
    expect_rc 2 "$S" --db dbm --options merge_operator=nosuch get cnt
    expect_rc 2 "$S" --db dbm "$M" merge cnt
    # stringappend joins with ',' (none before the first operand of a missing key).
    local A='--options=merge_operator=stringappend'
    expect_rc 0 "$S" --db dbs --create "$A" merge s a
    expect_rc 0 "$S" --db dbs "$A" merge s 'b c'
    expect_rc 0 "$S" --db dbs "$A" get s
    [ "$(cat out.txt)" = "a,b c" ] || fail "stringappend: $(cat out.txt)"
    expect_rc 0 "$S" --db dbs "$A" put s base
    expect_rc 0 "$S" --db dbs "$A" merge s x
    expect_rc 0 "$S" --db dbs "$A" get s
    [ "$(cat out.txt)" = "base,x" ] || fail "stringappend onto a value: $(cat out.txt)"
}

ops_multi_get() {
    make_input 3 >in.tsv
    expect_rc 0 "$S" --db dbg --create load in.tsv
    expect_rc 0 "$S" --db dbg put empty ''
    expect_rc 0 "$S" --db dbg multi-get key000003 key000001
    [ "$(cat out.txt)" = "$(printf 'key000003\tvalue-3-\\x01-padding-padding-padding\nkey000001\tvalue-1-\\x01-padding-padding-padding')" ] \
        || fail "multi-get, all found: $(cat out.txt)"
    # Absent keys print alone (no TAB), found ones as key<TAB>value (an empty value keeps its TAB).
    expect_rc 1 "$S" --db dbg multi-get key000002 nosuch empty key000002
    [ "$(cat out.txt)" = "$(printf 'key000002\tvalue-2-\\x01-padding-padding-padding\nnosuch\nempty\t\nkey000002\tvalue-2-\\x01-padding-padding-padding')" ] \
        || fail "multi-get with an absent key: $(cat out.txt)"
    grep -q '^strata: multi-get: key not found: nosuch$' err.txt || fail "multi-get stderr: $(cat err.txt)"
    expect_rc 1 "$S" --db dbg --json multi-get key000001 nosuch
    python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d == [{"key": "key000001", "found": True, "value": "value-1-\\x01-padding-padding-padding"},
             {"key": "nosuch", "found": False}], d
' <out.txt || fail "multi-get --json: $(cat out.txt)"
    expect_rc 0 "$S" --db dbg --hex multi-get 656d707479
    [ "$(cat out.txt)" = "$(printf '656d707479\t')" ] || fail "multi-get --hex: $(cat out.txt)"
    expect_rc 2 "$S" --db dbg multi-get
    expect_rc 2 "$S" --db dbg --hex multi-get 00 zz
    expect_rc 4 "$S" --db nonexistent multi-get a
}

ops_ttl() {
    expect_rc 0 "$S" --db dbt --create put --ttl=3600 t1 v1
    last_wal_has dbt '^  @[0-9]+ put-ttl t1 => v1 \(expires [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\)$'
    json_ok "$S" --json wal dump "$(ls dbt/*.log | tail -1)"
    python3 -c '
import json, sys, time
ops = [o for r in json.load(sys.stdin)["records"] for o in r["ops"]]
o = ops[0]
assert len(ops) == 1 and o["op"] == "put-ttl" and o["key"] == "t1" and o["value"] == "v1", ops
left = o["expire_unix_micros"] / 1e6 - time.time()
assert 3500 < left <= 3600, left
' <out.txt || fail "wal dump --json put-ttl: $(cat out.txt)"
    expect_rc 0 "$S" --db dbt get t1 # this open flushes the value to a table
    [ "$(cat out.txt)" = v1 ] || fail "get of a TTL value: $(cat out.txt)"
    sst_has dbt "^  't1' @[0-9]+ put-ttl => v1 \(expires [0-9-]{10}T[0-9:]{8}\.[0-9]{6}Z\)$"
    expect_rc 0 "$S" --db dbt put --ttl=1 t2 v2
    expect_rc 0 "$S" --db dbt --options default_ttl=1 put t3 v3
    expect_rc 0 "$S" --db dbt --options default_ttl=1 put --ttl=0 t4 v4
    expect_rc 0 "$S" --db dbt multi-get t2 t3 t4
    sleep 2.5
    expect_rc 1 "$S" --db dbt multi-get t1 t2 t3 t4
    [ "$(cat out.txt)" = "$(printf 't1\tv1\nt2\nt3\nt4\tv4')" ] || fail "expired keys: $(cat out.txt)"
    expect_rc 2 "$S" --db dbt put --ttl=x k v
    expect_rc 2 "$S" --db dbt put --ttl=-1 k v
    expect_rc 2 "$S" --db dbt put --ttl= k v
    expect_rc 2 "$S" --db dbt delete --ttl=5 k
}

ops_single_delete() {
    # A DB of its own: compaction may drop a single delete together with its put.
    expect_rc 0 "$S" --db dbd --create put sd once
    expect_rc 0 "$S" --db dbd delete --single sd
    last_wal_has dbd '^  @[0-9]+ single-del sd$'
    json_ok "$S" --json wal dump "$(ls dbd/*.log | tail -1)"
    grep -q '"op":"single-del","key":"sd"}' out.txt || fail "wal dump --json single-del: $(cat out.txt)"
    expect_rc 1 "$S" --db dbd get sd # this open flushes the single delete to a table
    sst_has dbd "^  'sd' @[0-9]+ single-del => $"
    expect_rc 2 "$S" --db dbd put --single k v
}

ops() {
    ops_range
    ops_merge
    ops_multi_get
    ops_ttl
    ops_single_delete
}

# Column families: create, write and read through --cf, isolation from "default", list, drop.
cf_basic() {
    expect_rc 0 "$S" --db db --create put k in-default
    expect_rc 0 "$S" --db db cf list
    [ "$(cat out.txt)" = "default" ] || fail "cf list of a new DB: $(cat out.txt)"
    expect_rc 0 "$S" --db db cf create users
    expect_rc 4 "$S" --db db cf create users # exists
    expect_rc 0 "$S" --db db cf list
    [ "$(tr '\n' ' ' <out.txt)" = "default users " ] || fail "cf list after create: $(cat out.txt)"
    json_ok "$S" --db db --json cf list
    grep -q '"users"' out.txt || fail "cf list --json: $(cat out.txt)"
    expect_rc 0 "$S" --db db --cf users put k in-users
    expect_rc 0 "$S" --db db --cf users put only-users 1
    expect_rc 0 "$S" --db db --cf users get k
    [ "$(cat out.txt)" = "in-users" ] || fail "get --cf users: $(cat out.txt)"
    expect_rc 0 "$S" --db db get k
    [ "$(cat out.txt)" = "in-default" ] || fail "default family changed: $(cat out.txt)"
    expect_rc 0 "$S" --db db --cf default get k
    [ "$(cat out.txt)" = "in-default" ] || fail "get --cf default: $(cat out.txt)"
    expect_rc 1 "$S" --db db get only-users
    expect_rc 0 "$S" --db db scan --cf users --keys-only
    [ "$(tr '\n' ' ' <out.txt)" = "k only-users " ] || fail "scan --cf users: $(cat out.txt)"
    expect_rc 0 "$S" --db db scan --keys-only
    [ "$(cat out.txt)" = "k" ] || fail "scan of default sees users' keys: $(cat out.txt)"
}

# Every data and stats command on a family; the default family never sees it.
cf_commands() {
    make_input 200 >in.tsv
    expect_rc 0 "$S" --db db --cf users load in.tsv
    expect_rc 0 "$S" --db db --cf users dump
    grep -q '^key000200' out.txt || fail "dump --cf users"
    expect_rc 1 "$S" --db db get key000200
    expect_rc 0 "$S" --db db --cf users multi-get key000001 key000002
    [ "$(wc -l <out.txt)" -eq 2 ] || fail "multi-get --cf users: $(cat out.txt)"
    expect_rc 1 "$S" --db db multi-get key000001
    expect_rc 0 "$S" --db db --cf users delete-range key000100 key000150
    expect_rc 1 "$S" --db db --cf users get key000120
    expect_rc 0 "$S" --db db --cf users delete-prefix key0001
    expect_rc 1 "$S" --db db --cf users get key000160
    expect_rc 0 "$S" --db db --cf users delete key000001
    expect_rc 1 "$S" --db db --cf users get key000001
    expect_rc 0 "$S" --db db --cf users --options merge_operator=uint64add --hex merge 63 0100000000000000
    expect_rc 0 "$S" --db db --cf users --options merge_operator=uint64add --hex get 63
    [ "$(cat out.txt)" = "0100000000000000" ] || fail "merge --cf users: $(cat out.txt)"
    expect_rc 0 "$S" --db db --cf users compact
    expect_rc 0 "$S" --db db --cf users stats
    grep -Eq 'files at level:.* [1-9]' out.txt || fail "stats --cf users shows no table: $(cat out.txt)"
    json_ok "$S" --db db --cf users --json stats
    expect_rc 0 "$S" --db db --cf users approx-size key000000 key999999
    [ "$(cat out.txt)" -gt 0 ] || fail "approx-size --cf users"
    expect_rc 0 "$S" --db db approx-size key000000 key999999
    [ "$(cat out.txt)" -eq 0 ] || fail "approx-size of default counts users: $(cat out.txt)"
    expect_rc 0 "$S" --db db verify
    # manifest dump: the levels by family; --cf shows one
    expect_rc 0 "$S" --db db manifest dump
    grep -q '^add_column_family: users$' out.txt || fail "manifest dump: no family edit"
    grep -q '^column family users (id [0-9]*, log [0-9]*):$' out.txt || fail "manifest levels by family"
    expect_rc 0 "$S" --db db --cf users manifest dump
    [ "$(grep -c '^column family' out.txt)" -eq 1 ] || fail "manifest dump --cf users: $(cat out.txt)"
    grep -q '^  L[0-9] #[0-9]* [0-9]* bytes$' out.txt || fail "manifest dump --cf users: no table"
    json_ok "$S" --db db --cf users --json manifest dump
    grep -q '"name":"users"' out.txt || fail "manifest dump --json: families"
    expect_rc 4 "$S" --db db --cf nosuch manifest dump
}

cf_errors() {
    expect_rc 4 "$S" --db db --cf nosuch get k
    grep -q 'no column family "nosuch"' err.txt || fail "unknown family message: $(cat err.txt)"
    expect_rc 4 "$S" --db db --cf nosuch put k v
    expect_rc 4 "$S" --db db cf drop nosuch
    expect_rc 2 "$S" --db db cf drop default
    expect_rc 2 "$S" --db db cf create ''
    expect_rc 2 "$S" --db db cf
    expect_rc 2 "$S" --db db cf list extra
    expect_rc 2 "$S" --db db cf create
    expect_rc 2 "$S" --db db cf frob x
    expect_rc 2 "$S" --db db --cf users verify
    expect_rc 2 "$S" --db db --cf users cf list
    expect_rc 2 "$S" --db db --cf
    expect_rc 4 "$S" --db nonexistent cf list
    expect_rc 0 "$S" cf --help
    # repair and salvage refuse a DB with more than the default family, and change nothing
    expect_rc 4 "$S" --db db repair
    grep -q 'not supported: .*column families' err.txt || fail "repair of a multi-family DB: $(cat err.txt)"
    expect_rc 4 "$S" --db db salvage salvaged
    [ ! -e salvaged ] || fail "a refused salvage left a new DB behind"
    expect_rc 0 "$S" --db db --cf users get k
}

cf() {
    cf_basic
    cf_commands
    cf_errors
    expect_rc 0 "$S" --db db --cf users manifest dump
    local users_tables
    users_tables=$(grep '^  L[0-9] #' out.txt | grep -o '#[0-9]*' | tr -d '#' | sed 's/^0*//')
    [ -n "$users_tables" ] || fail "the users family has no table before the drop"
    expect_rc 0 "$S" --db db cf drop users
    expect_rc 0 "$S" --db db manifest dump
    for t in $users_tables; do
        grep -q "^L[0-9] #0*$t " out.txt && fail "a dropped family's table $t is still live"
    done
    grep -q '^column family' out.txt && fail "manifest dump lists a dropped family: $(cat out.txt)"
    expect_rc 0 "$S" --db db cf list
    [ "$(cat out.txt)" = "default" ] || fail "cf list after drop: $(cat out.txt)"
    expect_rc 4 "$S" --db db --cf users get k
    expect_rc 0 "$S" --db db get k
    [ "$(cat out.txt)" = "in-default" ] || fail "default after drop: $(cat out.txt)"
    expect_rc 0 "$S" --db db cf create users # a new, empty family of the same name
    expect_rc 1 "$S" --db db --cf users get k
    expect_rc 0 "$S" --db db verify
}

case "$SCENARIO" in
roundtrip | corrupt_repair | salvage | errors | json | encodings | ops | cf) "$SCENARIO" ;;
*) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
if [ $FAILS -ne 0 ]; then
    echo "$SCENARIO: $FAILS failure(s)" >&2
    exit 1
fi
echo "$SCENARIO: ok"
