/* model_view.h — checks of a live DB's reads against a reference model (model_ref.h) whose
 * entries are not all certain, for the issue #11 operations:
 *  - TTL: an entry with mr_meta.expire != 0 reads as absent from that time on (unix micros of
 *    the clock the caller passes in mv_ctx.now), in every view, snapshots included;
 *  - the marker compaction filter (mv_filter): values that start with MV_MARK_REMOVE are removed
 *    and values that start with MV_MARK_CHANGE become MV_FILTERED, never 8-byte values (so
 *    uint64add counters are never touched).  When compaction runs is not predictable, so such a
 *    key may read either way; what a read shows resolves it: a filtered outcome is kept in the
 *    latest state (a filter never undoes), and an immutable view (a snapshot, one iterator) keeps
 *    whatever it showed first (MV_F_PINNED), so a filter that changed what a live snapshot sees
 *    is caught.
 * Entry flags (mr_meta.flags): MV_F_MERGE (a merge since the last delete), MV_F_GONE (the
 * filter's removal was seen), MV_F_PINNED (see above).  Failures print the key, both values and
 * the model entry, and fail the current cmocka test. */
#ifndef STRATA_TESTS_MODEL_VIEW_H
#define STRATA_TESTS_MODEL_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "engine_util.h"
#include "model_ref.h"
#include "strata.h"

#define MV_MARK_REMOVE '\x01'
#define MV_MARK_CHANGE '\x02'
#define MV_FILTERED "~filtered~"
#define MV_FILTERED_LEN (sizeof(MV_FILTERED) - 1)
#define MV_MAX_MGET 48

enum { MV_F_MERGE = 1, MV_F_GONE = 2, MV_F_PINNED = 4 };

/* What reads are checked against: the DB, the clock reading, and seek targets for walks. */
typedef struct mv_ctx {
    strata_db *db;
    uint64_t now;
    eu_rng *r;
    eu_keygen gen;
} mv_ctx;

/* The state a read should see.  pin: the view is immutable (a snapshot, one iterator), so the
 * filter's outcome is fixed once seen; latest: NULL, or the latest state, which takes over
 * filtered outcomes this view saw. */
typedef struct mv_view {
    mr_map *m;
    int pin;
    mr_map *latest;
} mv_view;

int mv_is_remove_marker(const char *v, size_t vl);
int mv_is_change_marker(const char *v, size_t vl);
/* The marker compaction filter (strata_compaction_filter_create's callback).  state: NULL or
 * two _Atomic long counters (calls, decisions other than keep). */
int mv_filter(void *state, int level, const char *key, size_t klen, const char *value, size_t vlen,
              char **new_value, size_t *new_vlen);
/* 1 when the entry reads as present at now (the filter's removal aside). */
int mv_visible(uint64_t now, const mr_meta *mt);

/* One point-read result (rc, got) for key. */
void mv_check_read(const mv_ctx *c, mv_view *vw, const char *k, size_t kl, int rc, const char *got,
                   size_t gl, const char *what);
/* strata_get (or strata_get_pinned) of key through ro, checked. */
void mv_check_get(const mv_ctx *c, mv_view *vw, const strata_read_options *ro, const char *k,
                  size_t kl, int pinned, const char *what);
/* One strata_multi_get of n <= MV_MAX_MGET keys, every status checked. */
void mv_check_multi_get(const mv_ctx *c, mv_view *vw, const strata_read_options *ro, size_t n,
                        const char *const *keys, const size_t *kls, const char *what);

/* An iterator walk: after each move the iterator must land on a candidate entry whose state is
 * present or maybe, and every candidate it passed must be absent or maybe. */
typedef struct mv_walk {
    const mv_ctx *c;
    strata_iter *it;
    mv_view *vw;
    size_t begin, end; /* the index range inside the bounds */
    size_t pos;        /* index of the iterator's key, SIZE_MAX when invalid */
    const char *what;
    const char *move;
} mv_walk;

void mv_walk_init(mv_walk *w, const mv_ctx *c, strata_iter *it, mv_view *vw, const char *lo,
                  size_t ll, const char *hi, size_t hl, const char *what);
/* One random move (seek_to_first/last, seek, seek_for_prev, runs of next/prev), checked. */
void mv_walk_move(mv_walk *w);
/* The iterator moved forward: its candidates are [from, end). */
void mv_expect_forward(mv_walk *w, size_t from);
/* The iterator moved backward: its candidates are [begin, hi). */
void mv_expect_backward(mv_walk *w, size_t hi);
void mv_walk_fail_at(const mv_walk *w, const char *msg, size_t i);
/* A full forward and backward scan through it. */
void mv_check_scans(const mv_ctx *c, strata_iter *it, mv_view *vw, const char *what);
/* An iterator's view of the latest state: a private clone whose outcomes are pinned for the
 * iterator's life, with filtered outcomes taken over by latest.  Owned: mr_destroy(view.m). */
mv_view mv_latest_iter_view(mr_map *latest);
/* Everything the view holds (snap NULL: the latest state, vw->m): both scans through one
 * iterator, then a get and a multi-get of every key the model has (present or not). */
void mv_check_full(const mv_ctx *c, const strata_snapshot *snap, mv_view *vw, const char *what);

#endif
