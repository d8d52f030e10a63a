/* crash_log.h — bookkeeping for crash and I/O-error tests: a log of the write batches sent to a
 * DB and the rule that decides whether a recovered DB is acceptable.
 *
 * Batch i (ids increase and are never reused) puts and deletes keys "k%05d" with values that
 * encode (i, key, length), and always puts the marker key "~marker" = decimal i.  After a crash
 * the marker names the last batch k that survived; the recovered DB must then equal exactly
 * base + batches up to k (a prefix: no torn batch, no reordering, no lost earlier batch), and k
 * must lie between the durability floor (the last batch acknowledged by a sync write or covered
 * by a successful flush(wait)) and the last batch attempted.  cl_verify checks this rule and then
 * rebases: the recovered state becomes the new base.  Failures go through cmocka (fail()). */
#ifndef STRATA_TESTS_CRASH_LOG_H
#define STRATA_TESTS_CRASH_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "engine_util.h"
#include "strata.h"

typedef struct cl_log cl_log;

/* nkeys: size of the key space; max_val: largest value length. */
cl_log *cl_create(int nkeys, size_t max_val);
/* Like cl_create, with every key (and the marker) prefixed by ns, so several logs (e.g. one per
 * writer thread) can share a DB; cl_verify then looks only at keys starting with ns.  One thread
 * at a time per log. */
cl_log *cl_create_ns(const char *ns, int nkeys, size_t max_val);
void cl_destroy(cl_log *l);

/* Builds the next batch (nops random operations plus the marker) and records it as attempted.
 * Owned: the returned batch (strata_batch_destroy).  *id receives its id. */
strata_batch *cl_next_batch(cl_log *l, eu_rng *r, int nops, long *id);
/* Records the outcome of writing batch id: rc == 0 acknowledges it; sync raises the durability
 * floor to id. */
void cl_ack(cl_log *l, long id, int rc, int sync);
/* Raises the durability floor to the last acknowledged batch (after a successful flush(wait)). */
void cl_mark_durable(cl_log *l);
/* Convenience: build, write with sync or not, ack.  Returns the write's status. */
int cl_write(cl_log *l, strata_db *db, eu_rng *r, int nops, int sync);

long cl_last_acked(const cl_log *l);
long cl_last_attempted(const cl_log *l);
long cl_durable(const cl_log *l);

/* Checks db against the rule above with floor = the durability floor (after power loss) or, with
 * all_acked, the last acknowledged batch (after a clean close and reopen, or while still open).
 * Then rebases on the recovered state.  Returns the surviving batch id k (-1: none ever). */
long cl_verify(cl_log *l, strata_db *db, int all_acked, const char *what);

#endif
