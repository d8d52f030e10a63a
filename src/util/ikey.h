/* ikey.h — internal keys: user key followed by an 8-byte little-endian trailer (seq << 8) | type.
 * Order: user key ascending (user comparator), then trailer descending, so the newest version of a
 * key comes first.  Format: docs/FORMAT.md "Internal keys".  Shared by memtable, tables and the
 * engine, which is why it lives in util/ rather than db/ (see docs/ARCHITECTURE.md). */
#ifndef STRATA_UTIL_IKEY_H
#define STRATA_UTIL_IKEY_H

#include <stdint.h>

#include "util/buf.h"
#include "util/coding.h"
#include "util/comparator.h"
#include "util/slice.h"

enum st_vtype {
    ST_TYPE_DELETION = 0,
    ST_TYPE_VALUE = 1,
    ST_TYPE_MERGE = 2,      /* a merge operand (combined by the merge operator on read) */
    ST_TYPE_BLOB_REF = 3,   /* reserved: key-value separation */
    ST_TYPE_RANGE_DEL = 4,  /* range tombstone start (value: end); kept in their own structure
                             * and block, never among point entries */
    ST_TYPE_SINGLE_DELETION = 5, /* deletes a key written once (see strata_single_delete) */
    ST_TYPE_VALUE_TTL = 6,  /* value = fixed64 expiry (unix micros) ‖ user value */
    ST_TYPE_MAX = 6
};

#define ST_TTL_PREFIX 8

/* Deletion-like types: the key has no value at this version. */
static inline int st_type_is_deletion(int type)
{
    return type == 0 || type == 5;
}

/* A lookup key for "newest version <= seq" must sort before every entry with that seq. */
#define ST_TYPE_FOR_SEEK ST_TYPE_MAX
#define ST_MAX_SEQ ((UINT64_C(1) << 56) - 1)
#define ST_IKEY_TRAILER 8

static inline uint64_t st_pack_trailer(uint64_t seq, int type)
{
    return (seq << 8) | (uint64_t)type;
}

static inline st_slice st_ikey_user(st_slice ikey)
{
    return st_slice_make(ikey.data, ikey.size - ST_IKEY_TRAILER);
}

static inline uint64_t st_ikey_trailer(st_slice ikey)
{
    return st_decode_fixed64(ikey.data + ikey.size - ST_IKEY_TRAILER);
}

/* Appends user_key ‖ trailer to b. */
int st_ikey_append(st_buf *b, st_slice user_key, uint64_t seq, int type);
/* Splits an internal key; returns 0, or STRATA_E_CORRUPTION if too short or the type is unknown. */
int st_ikey_parse(st_slice ikey, st_slice *user_key, uint64_t *seq, int *type);

/* The internal key order. */
static inline int st_ikey_cmp(const st_comparator *ucmp, st_slice a, st_slice b)
{
    int r = st_ucmp(ucmp, st_ikey_user(a), st_ikey_user(b));
    if (r == 0) {
        uint64_t ta = st_ikey_trailer(a), tb = st_ikey_trailer(b);
        r = ta > tb ? -1 : ta < tb;
    }
    return r;
}

/* Index-key shortening on internal keys: start <= result < limit (as internal keys). */
int st_ikey_shorten(const st_comparator *ucmp, st_buf *start, st_slice limit);
int st_ikey_successor(const st_comparator *ucmp, st_buf *key);

#endif
