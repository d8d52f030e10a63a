/* write_batch.h — the batch encoding (docs/FORMAT.md "Write batch"), which is also the WAL record
 * payload: fixed64 starting sequence, fixed32 count, then per operation a type byte (the internal
 * value type), the length-prefixed key and (for puts, TTL puts, merges and range deletions) the
 * length-prefixed value (a range deletion's value is its end key).  struct strata_batch is defined
 * here.
 *
 * Per-key protection (util/prot.h): a *protected* batch also holds, outside the encoding, one
 * 64-bit checksum per operation (st_prot_kv, no sequence number), computed from the caller's key
 * and value as each operation is added — before they are copied into rep.  A batch becomes
 * protected through strata_batch_protect (public), or is built protected by strata_put/delete on a
 * DB with protection on.  An unprotected batch written to such a DB gets its checksums computed
 * from its bytes when strata_write hands it over (into the writer, not the batch: strata_write
 * does not modify the batch, so one batch may be written by several threads at once). */
#ifndef STRATA_DB_WRITE_BATCH_H
#define STRATA_DB_WRITE_BATCH_H

#include <stdint.h>

#include "mem/memtable.h"
#include "strata.h"
#include "util/buf.h"
#include "util/slice.h"

#define ST_BATCH_HEADER 12
/* A type byte with this bit set is followed by the operation's column family id (varint32,
 * non-zero); without it the operation belongs to the default family (id 0). */
#define ST_BATCH_CF_FLAG 0x80
#define ST_MAX_KEY_SIZE (64u << 20)
#define ST_MAX_VALUE_SIZE ((1u << 30) - 1)

struct strata_batch {
    st_buf rep;  /* always at least ST_BATCH_HEADER bytes */
    st_buf prot; /* protected: one uint64_t checksum per operation (host order); else empty */
    int protect; /* 1: add_op and append maintain prot (kept across strata_batch_clear) */
    int pending_ttl; /* holds ST_BATCH_TTL_PENDING operations (resolved by strata_write) */
    int has_cf;      /* holds operations on a family other than the default */
};

/* Initializes an empty batch in place (for batches embedded in other structs). */
int st_batch_init(strata_batch *b);
void st_batch_free(strata_batch *b);
uint64_t st_batch_seq(const strata_batch *b);
void st_batch_set_seq(strata_batch *b, uint64_t seq);
uint32_t st_batch_count(const strata_batch *b);
/* Appends src's operations to dst (dst keeps its sequence). */
int st_batch_append(strata_batch *dst, const strata_batch *src);
/* Replaces the contents with a WAL record after checking it is well-formed (header present, every
 * operation decodes, the count matches).  STRATA_E_CORRUPTION otherwise. */
int st_batch_set_contents(strata_batch *b, st_slice rep);
/* Calls fn for each operation (an internal value type); stops at the first
 * non-zero return.  STRATA_E_CORRUPTION if the encoding is malformed. */
int st_batch_for_each(const strata_batch *b, void *ctx,
                      int (*fn)(void *ctx, int type, st_slice key, st_slice value));
/* As st_batch_for_each, also giving each operation's column family id (0: default). */
int st_batch_for_each_cf(const strata_batch *b, void *ctx,
                         int (*fn)(void *ctx, uint32_t cf, int type, st_slice key, st_slice value));
/* Appends an operation on family cf (0: default): value NULL for deletions; for
 * ST_TYPE_VALUE_TTL / ST_BATCH_TTL_PENDING the value gets the fixed64 prefix (expiry / TTL). */
int st_batch_add_cf(strata_batch *b, uint32_t cf, int type, st_slice key, const st_slice *value,
                    uint64_t prefix);
/* Appends a put of value that expires at expire_micros (unix micros; ST_TYPE_VALUE_TTL). */
int st_batch_put_expiring(strata_batch *b, st_slice key, st_slice value, uint64_t expire_micros);
/* now + ttl, saturating. */
uint64_t st_ttl_expiry(uint64_t now_micros, uint64_t ttl_seconds);
/* A batch-only operation type (never in a WAL record or a memtable): a put added by
 * strata_batch_put_ttl, value = fixed64 TTL in seconds ‖ user value, resolved into an expiry when
 * the batch is written. */
#define ST_BATCH_TTL_PENDING 7
/* Appends src's operations to the empty dst for writing at now_micros: pending TTL puts get their
 * expiry (TTL 0: a plain put), and with default_ttl (seconds) > 0 so do plain puts. */
int st_batch_resolve_ttl(const strata_batch *src, uint64_t now_micros, uint64_t default_ttl,
                         strata_batch *dst);
/* 1 if b holds an operation of that type (b must be well formed). */
int st_batch_has_type(const strata_batch *b, int type);
/* Inserts every operation into the memtable route gives for its family (NULL: skip it, still
 * using its sequence number), with consecutive sequence numbers from st_batch_seq(b); with prot
 * (nprot checksums) each entry is verified as st_batch_insert_protected does. */
int st_batch_insert_routed(const strata_batch *b, const uint64_t *prot, size_t nprot,
                           st_memtable *(*route)(void *ctx, uint32_t cf), void *ctx);
/* Inserts every operation into mem with consecutive sequence numbers from st_batch_seq(b). */
int st_batch_insert_into(const strata_batch *b, st_memtable *mem);

/* ---- per-key protection ---- */

/* Makes b protected: computes the checksums of the operations it holds; later additions compute
 * theirs.  0 or STRATA_E_NOMEM (b unchanged). */
int st_batch_protect(strata_batch *b);
/* b's checksums (one per operation), or NULL when b is not protected. */
static inline const uint64_t *st_batch_prot(const strata_batch *b)
{
    return b->protect ? (const uint64_t *)(const void *)b->prot.data : NULL;
}
/* Appends the checksums of b's operations, computed from its bytes, to out.  0, NOMEM or
 * CORRUPTION (malformed encoding). */
int st_batch_compute_prot(const strata_batch *b, st_buf *out);
/* As st_batch_append, for a protected dst: src_prot holds src's checksums (one per operation).
 * On failure dst is unchanged. */
int st_batch_append_protected(strata_batch *dst, const strata_batch *src, const uint64_t *src_prot);
/* Recomputes every operation's checksum from b's bytes and compares it with prot (nprot
 * entries; a count that differs from the operations decoded is a mismatch too).  0, or
 * STRATA_E_CORRUPTION naming where ("write batch") and the first key that does not match. */
int st_batch_verify(const strata_batch *b, const uint64_t *prot, size_t nprot, const char *where);
/* As st_batch_insert_into, verifying each entry as the memtable stores it against prot (nprot
 * entries; see st_memtable_add_protected). */
int st_batch_insert_protected(const strata_batch *b, const uint64_t *prot, size_t nprot,
                              st_memtable *mem);

#endif
