/* compaction_iter.h — what a compaction (or flush) keeps of one sorted stream of entries.
 *
 * Fed every entry in internal-key order, it emits the entries the output must hold:
 *  - Snapshot stripes: with the live snapshot sequences sorted ascending, an entry's stripe is the
 *    index of the first snapshot that can see it (nsnaps if none).  Within a stripe only the
 *    newest version of a key survives: every reader that could see an older one sees it instead.
 *  - Range tombstones (all of the inputs', fragmented): an entry covered by a tombstone of its
 *    own stripe is dropped.  (Writing the tombstones themselves is the caller's job.)
 *  - Deletions, and expired TTL values (which become deletions), are dropped in stripe 0 when
 *    no level below the output holds the key (is_base).
 *  - Single deletes: the put a single delete meets in its own stripe is dropped, and so is every
 *    older version in that stripe; the single delete itself vanishes too where no level below
 *    holds the key, else it is kept (written before any older version in an older stripe, which
 *    a snapshot still sees), so nothing older can ever reappear.  A lone one in stripe 0 at the
 *    base is dropped.  Meeting anything but a put is misuse, counted.
 *  - Merge operands of a stripe are combined: fully onto a base value, deletion or (at the base,
 *    with nothing older) nothing, else pairwise with partial_merge where it agrees.
 *  - The compaction filter sees the newest value of each key in the newest stripe when no
 *    snapshot exists at or above it, and may keep, remove (a deletion) or change it.
 * Entries of one key are held back only while merge operands or a single delete wait for what is
 * below them; st_cpass_finish_key emits them, so the caller can cut output files between keys. */
#ifndef STRATA_DB_COMPACTION_ITER_H
#define STRATA_DB_COMPACTION_ITER_H

#include <stdint.h>

#include "db/merge_op.h"
#include "strata.h"
#include "util/buf.h"
#include "util/comparator.h"
#include "util/range_del.h"
#include "util/slice.h"

typedef struct st_cpass {
    /* ---- set by the caller ---- */
    const st_comparator *ucmp;
    const uint64_t *snaps; /* ascending */
    int nsnaps;
    const st_rdel_list *rdels;              /* NULL: none */
    const strata_merge_operator *mo;        /* NULL: operands are kept as they are */
    const strata_compaction_filter *filter; /* NULL: none */
    int level;                              /* output level (for the filter) */
    uint64_t now;                           /* unix micros: TTL expiry */
    int (*is_base)(void *arg, st_slice ukey); /* NULL: never (flush) */
    void *base_arg;
    int (*emit)(void *arg, st_slice ikey, st_slice value);
    void *emit_arg;
    /* ---- statistics ---- */
    uint64_t dropped_covered, dropped_expired, filtered, merges, single_delete_misuse;
    uint64_t filtered_min_seq; /* smallest seq the filter removed or changed (UINT64_MAX: none) */
    /* ---- per-key state ---- */
    st_buf cur_key;
    int has_cur;
    int last_stripe; /* stripe of the newest entry kept for cur_key (-1: none) */
    st_merge_ops ops; /* merge operands held back, newest first */
    st_buf op_seqs;   /* ... and their seqs */
    int ops_stripe;
    uint64_t ops_seq; /* of the newest */
    int has_sd; /* a single delete held back */
    int sd_cancelled; /* ... that met its put in its own stripe (the put was dropped) */
    int sd_stripe;
    uint64_t sd_seq;
    st_buf scratch, merged;
    st_slice in_ikey; /* the entry being processed, as it came (valid during st_cpass_add) */
} st_cpass;

void st_cpass_init(st_cpass *p);
void st_cpass_free(st_cpass *p);
/* 1 if ukey differs from the key being processed (or none is). */
int st_cpass_is_new_key(const st_cpass *p, st_slice ukey);
/* Emits what the current key still holds back.  Call before cutting an output file and at the
 * end of the stream. */
int st_cpass_finish_key(st_cpass *p);
/* Processes one entry (finishing the previous key first when the key changes). */
int st_cpass_add(st_cpass *p, st_slice ikey, st_slice value);
/* The stripe of seq (index of the first snapshot >= seq). */
int st_cpass_stripe(const st_cpass *p, uint64_t seq);

#endif
