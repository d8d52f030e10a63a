/* block.h — reading block contents written by block_builder: a validated view of the restart
 * array plus an iterator (binary search over restart points, then a linear scan; forward and
 * backward).  Every length decoded from the block is checked against the block's bounds; a bad
 * one makes the iterator invalid with STRATA_E_CORRUPTION ("<fname>: corrupted block at offset
 * N: ...") — never a read outside the block.  Layout: docs/FORMAT.md "Block contents".
 *
 * Keys compare as internal keys (st_ikey_cmp) when the iterator has a user comparator, else
 * bytewise (metaindex and properties blocks).  In internal-key mode every key decoded must be
 * at least 8 bytes long.  A block is immutable once initialised, so any number of iterators on
 * any threads may read it.
 *
 * Per-key protection (util/prot.h): st_block_protect gives a data block a checksum per entry
 * (done before the block is shared, i.e. before it enters the block cache); iterators over such a
 * block then check each entry they are positioned on (seek, next, prev, ...; not the entries a
 * seek only steps over), and a mismatch is STRATA_E_CORRUPTION naming the key and "block cache".
 * Unprotected blocks pay one predictable branch per positioning. */
#ifndef STRATA_TABLE_BLOCK_H
#define STRATA_TABLE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "util/comparator.h"
#include "util/iter.h"
#include "util/slice.h"

typedef struct st_block {
    const char *data;      /* contents: entries ‖ restart offsets ‖ restart count */
    uint32_t size;
    uint32_t restarts;     /* offset of the restart array == end of the entries */
    uint32_t num_restarts; /* >= 1 */
    char *heap;            /* allocation holding data, freed by st_block_free (or NULL) */
    const char *fname;     /* labels errors (borrowed; must outlive users of the block) */
    uint64_t offset;       /* file offset of the block, for errors */
    /* Per-key protection, or NULL: uint32_t index of the first entry of each restart interval
     * (num_restarts of them, host order), then prot_bytes bytes per entry.  Owned. */
    char *prot;
    uint32_t prot_entries;
    int prot_bytes;
} st_block;

/* Validates contents (size, restart count and offsets) and fills b.  heap (may be NULL) is the
 * allocation holding contents: b owns it from now on, even on error (it is then freed).
 * Errors: CORRUPTION. */
int st_block_init(st_block *b, st_slice contents, char *heap, const char *fname,
                  uint64_t offset);
/* Frees b->heap and b->prot (not b itself). */
void st_block_free(st_block *b);
/* Computes a checksum of n bytes (1, 2, 4 or 8) for every entry of a data block (internal keys
 * under ucmp) and attaches them.  REQUIRES: b is not yet shared and not protected.  0, NOMEM, or
 * CORRUPTION when the block does not decode.  The extra memory is st_block_prot_size(b). */
int st_block_protect(st_block *b, const st_comparator *ucmp, int n);
static inline size_t st_block_prot_size(const st_block *b)
{
    return b->prot ? 4 * (size_t)b->num_restarts + (size_t)b->prot_bytes * b->prot_entries : 0;
}
/* Checks freshly built data block contents (before they are sealed) against the full 64-bit
 * checksums pi[0..n) of the entries that were added (st_prot_ikv).  0, or CORRUPTION naming where
 * ("flush", "compaction") and the first key that does not match. */
int st_block_check_entries(st_slice contents, const st_comparator *ucmp, const uint64_t *pi,
                           size_t n, const char *where);

/* Inline key storage of an iterator; longer keys go to the heap. */
#define ST_BLOCK_KEY_INLINE 80
/* Entries of one restart interval remembered for stepping backwards (longer intervals fall back
 * to re-scanning from the restart point at each step). */
#define ST_BLOCK_PREV_MAX 64

/* An iterator over one block.  It may live on the stack (st_block_iter_init ... _release) or on
 * the heap as an st_iter (st_block_iter_new ... st_iter_destroy).  Do not move it once
 * initialised. */
typedef struct st_block_iter {
    st_iter base;
    const st_block *b;
    const st_comparator *ucmp; /* NULL: bytewise keys */
    uint32_t cur;              /* offset of the current entry; b->restarts when invalid */
    uint32_t next;             /* offset just past the current entry */
    uint32_t restart_idx;      /* restart interval holding cur */
    uint32_t idx;              /* protected blocks: index of the current entry */
    uint32_t next_idx;         /* ... and of the entry parse_next reads next */
    int status;
    st_slice key;              /* into the block (restart points) or into the key buffer */
    st_slice value;            /* into the block */
    char *kheap;
    size_t kheap_cap;
    char kinline[ST_BLOCK_KEY_INLINE];
    /* Reverse stepping: prev decodes a restart interval once, remembering its entries' offsets
     * and full keys, so each later prev inside that interval is a lookup, not a re-scan. */
    uint32_t pc_restart; /* interval remembered (UINT32_MAX: none) */
    uint32_t pc_limit;   /* ... its entries at offsets below this one (all it holds there) */
    int pc_n;
    uint32_t pc_off[ST_BLOCK_PREV_MAX];
    uint32_t pc_kend[ST_BLOCK_PREV_MAX]; /* key i is pc_keys[pc_kend[i-1] .. pc_kend[i]) */
    char *pc_keys;
    size_t pc_cap;
} st_block_iter;

void st_block_iter_init(st_block_iter *it, const st_block *b, const st_comparator *ucmp);
/* Re-targets an initialised iterator at another block, keeping its key buffer. */
void st_block_iter_reset(st_block_iter *it, const st_block *b);
/* Frees what st_block_iter_init allocated (not it). */
void st_block_iter_release(st_block_iter *it);
/* A heap iterator over b (b must outlive it); NULL when out of memory. */
st_iter *st_block_iter_new(const st_block *b, const st_comparator *ucmp);

static inline int st_block_iter_valid(const st_block_iter *it)
{
    return it->cur < it->b->restarts;
}
void st_block_iter_seek(st_block_iter *it, st_slice target);
void st_block_iter_seek_to_first(st_block_iter *it);
void st_block_iter_seek_to_last(st_block_iter *it);
void st_block_iter_next(st_block_iter *it);
void st_block_iter_prev(st_block_iter *it);

#endif
