/* version_set.h — versions (immutable snapshots of the live table set per level), the version set
 * (current version, file numbers, sequence numbers, the MANIFEST writer and recovery) and
 * compaction picking (leveled, dynamic level targets, score-based, parallel-safe).
 *
 * Locking: every function that takes `mu` or says REQUIRES mu must be called with the DB mutex
 * held.  Version and file_meta reference counts are guarded by the DB mutex.  A version's file
 * lists are immutable once installed, so a reader that holds a reference may read them without
 * the mutex. */
#ifndef STRATA_DB_VERSION_SET_H
#define STRATA_DB_VERSION_SET_H

#include <stdatomic.h>
#include <stdint.h>

#include "codec/integrity.h"
#include "db/table_cache.h"
#include "db/version_edit.h"
#include "env/env.h"
#include "env/logging.h"
#include "util/comparator.h"
#include "util/range_del.h"
#include "util/iter.h"
#include "util/mutex.h"
#include "util/pin.h"

typedef struct st_vset st_vset;
typedef struct st_version st_version;

typedef struct st_vset_options {
    st_env *env;
    const char *dbname;                /* copied */
    const st_comparator *ucmp;         /* borrowed */
    st_logger *info_log;               /* may be NULL */
    int num_levels;                    /* 2..ST_MAX_LEVELS */
    uint64_t max_bytes_for_level_base;
    double level_multiplier;
    int dynamic_level_bytes;
    uint64_t target_file_size;         /* output file size target, same for all levels */
    int l0_compaction_trigger;
    uint64_t max_manifest_size;        /* start a new MANIFEST after this many bytes (0: 64 MiB) */
    st_integrity *integ;               /* MANIFEST encryption (NULL: plaintext); borrowed */
    const char *merge_operator;        /* the merge operator's name (NULL: none); borrowed */
    uint32_t cf_id;                    /* column family (0: default) */
    const char *cf_name;               /* copied ("default" for id 0) */
    void *owner;                       /* returned by st_vset_owner */
} st_vset_options;

struct st_version {
    st_vset *vset;
    int refs;                           /* guarded by the DB mutex */
    int num_levels;
    st_file_meta **files[ST_MAX_LEVELS]; /* L0 newest first (by largest_seq, then number); Lk>0
                                            sorted by smallest key, non-overlapping */
    int nfiles[ST_MAX_LEVELS];
    /* Filled when the version is installed: */
    double score[ST_MAX_LEVELS];        /* compaction score per level (>= 1 means needed) */
    uint64_t level_target[ST_MAX_LEVELS]; /* target bytes per level (0 for unused levels) */
    int base_level;                     /* level L0 compacts into (dynamic levels) */
    uint64_t pending_bytes;             /* estimated bytes compaction must rewrite (see
                                           st_vset_pending_compaction_bytes) */
    struct st_version *prev, *next;     /* list of live versions, guarded by the DB mutex */
    /* Every table's range tombstones fragmented together, built by the first iterator that needs
     * them (st_version_range_dels) and published with a CAS; rdels_none: there are none. */
    _Atomic(st_rdel_list *) rdels;
    atomic_int rdels_none;
};

/* A compaction picked from a version.  inputs[0] come from level, inputs[1] from output_level. */
typedef struct st_compaction {
    int level;
    int output_level;
    int manual;
    st_version *input_version;   /* referenced */
    st_file_meta **inputs[2];
    int ninputs[2];
    st_file_meta **grandparents; /* files in output_level + 1 overlapping the inputs */
    int ngrandparents;
    uint64_t max_output_file_size;
    uint64_t max_grandparent_overlap;
    /* Iteration state of should_stop_before / is_base_level_for_key (private). */
    int grandparent_index;
    int seen_key;
    uint64_t overlapped_bytes;
    int level_ptrs[ST_MAX_LEVELS];
} st_compaction;

/* ---- Version set -------------------------------------------------------------------------- */

/* A version set for one column family.  share_with NULL: the default family's, with new
 * counters and MANIFEST state; else a family of the same DB (sharing share_with's), not yet
 * registered (st_vset_register). */
int st_vset_create(const st_vset_options *opts, st_table_cache *tc, st_vset *share_with,
                   st_vset **out);
/* REQUIRES: every version except current has been released (or current too, after
 * st_vset_drop_current). */
void st_vset_destroy(st_vset *vs);
void *st_vset_owner(const st_vset *vs);
uint32_t st_vset_cf_id(const st_vset *vs);
/* Makes vs one of the DB's live families: recovery replays its edits and every new MANIFEST
 * records it.  REQUIRES mu (or single-threaded open). NOMEM. */
int st_vset_register(st_vset *vs);
/* The family is gone (its drop edit is durable): no more edits, not in new MANIFESTs, and its
 * current version is released so its files die with the last reader.  REQUIRES mu. */
void st_vset_drop(st_vset *vs);
/* The engine's next lower bound of the WALs it needs (the value is recorded with the next edit
 * once the DB has had several families; it never goes down).  REQUIRES mu. */
void st_vset_want_min_log(st_vset *vs, uint64_t log);
/* WALs below this hold nothing any family needs, as recorded in the MANIFEST: deletion and the
 * open-time check use it. */
uint64_t st_vset_min_log_to_keep(const st_vset *vs);
/* Reserves a new family's id (1 + the largest ever handed out).  REQUIRES mu. */
uint32_t st_vset_next_cf_id(st_vset *vs);
/* The families the MANIFEST CURRENT names records, without opening the DB: ids[i], names[i]
 * (st_malloc'd strings in an st_malloc'd array), default first.  NOTFOUND when there is no DB. */
int st_vset_list_families(st_env *env, const char *dbname, st_integrity *integ, uint32_t **ids,
                          char ***names, int *n);

/* Reads CURRENT and replays the MANIFEST it names into vs (the default family's set) and every
 * registered family; edits of families not registered (dropped) are skipped.  Returns STRATA_E_NOTFOUND if CURRENT does not
 * exist, STRATA_E_CORRUPTION (with file and offset) for a damaged MANIFEST or CURRENT, and
 * STRATA_E_INVALID if the recorded comparator name differs from opts->ucmp's name.  A torn last
 * record of the MANIFEST is ignored.  On success the current version reflects every edit. */
int st_vset_recover(st_vset *vs);

/* Applies edit to the current version, appends it to the MANIFEST (creating a new MANIFEST with a
 * full snapshot first if none is open or the current one is too large, then switching CURRENT),
 * syncs, and installs the new version as current.  Fills in log number / next file / last seq
 * from the vset when the edit does not set them.  Releases mu while doing I/O; at most one
 * log_and_apply runs at a time (others wait).  On a MANIFEST write error the version is not
 * installed and the error is returned (the caller makes it sticky).
 * REQUIRES mu held. */
int st_vset_log_and_apply(st_vset *vs, st_version_edit *edit, st_mutex *mu) ST_REQUIRES(mu);

/* The next log_and_apply writes a new MANIFEST (under the current key). REQUIRES mu. */
void st_vset_force_new_manifest(st_vset *vs);

/* A new reference to the current version (release with st_version_unref). REQUIRES mu. */
st_version *st_vset_current(st_vset *vs);
uint64_t st_vset_new_file_number(st_vset *vs);            /* REQUIRES mu */
void st_vset_mark_file_number_used(st_vset *vs, uint64_t n); /* REQUIRES mu */
uint64_t st_vset_next_file_number(const st_vset *vs);
uint64_t st_vset_manifest_number(const st_vset *vs);
uint64_t st_vset_last_sequence(const st_vset *vs);
/* REQUIRES mu (or single-threaded recovery). */
void st_vset_set_last_sequence(st_vset *vs, uint64_t s);
/* The family's log number: WALs older than it hold none of its unflushed writes. */
uint64_t st_vset_log_number(const st_vset *vs);
uint64_t st_vset_prev_log_number(const st_vset *vs);
/* Adds every file number referenced by any live version to *numbers (an st_malloc'd array,
 * grown as needed).  REQUIRES mu. */
int st_vset_live_files(st_vset *vs, uint64_t **numbers, int *n);

/* Estimated bytes that compaction must rewrite to bring every level under its target. */
uint64_t st_vset_pending_compaction_bytes(st_vset *vs);
/* "files[ a b c ... ]" summary of the current version. Appends to out. */
int st_vset_level_summary(st_vset *vs, st_buf *out);

/* ---- Versions ----------------------------------------------------------------------------- */

void st_version_ref(st_version *v);   /* REQUIRES mu */
void st_version_unref(st_version *v); /* REQUIRES mu */

/* Looks up the newest entry for user key ukey at sequence <= the one in lookup (an internal key
 * built with ST_TYPE_FOR_SEEK), searching L0 newest first and then one file per level.
 * Returns 1 with *type and the value delivered through found (as st_table_get: the pin may be
 * taken), 0 if no table holds the key, or an error.  found is called only for an entry whose user
 * key equals ukey. */
/* Iterator read sampling: when two or more tables overlap the internal key ikey (a key an
 * iterator just read), the first of them is charged one wasted seek, as a point read that probed
 * two tables would charge it; a table whose budget runs out becomes the seek-compaction
 * candidate.  So scans, not only point reads, merge overlapping level-0 files away. */
void st_version_record_read_sample(st_version *v, st_slice ikey);
/* 1 once after a read made a table the seek-compaction candidate: the caller should wake the
 * background pool (st_db_bg_schedule) so the compaction starts now, not at its next timeout. */
int st_vset_take_seek_wakeup(st_vset *vs);
/* Asks for table number to be rewritten (its blocks healed from parity: the rewrite makes the
 * heal durable).  Lock-free; at most ST_REWRITE_SLOTS requests wait at once (more are dropped:
 * scrub and later reads ask again).  The picker compacts the table (into the next level, or in
 * place at the last level) before any other compaction. */
#define ST_REWRITE_SLOTS 16
void st_vset_request_rewrite(st_vset *vs, uint64_t number);
/* 1 while some rewrite request has not been picked yet. */
int st_vset_rewrites_pending(st_vset *vs);
int st_version_get(st_version *v, const st_read_flags *rf, st_slice lookup, int *type,
                   int (*found)(void *ctx, st_slice key, st_slice value, st_pin *pin), void *ctx);

/* What a full point lookup is told, table by table in the order it searches them. */
typedef struct st_get_sink {
    /* A probed table's range tombstones (borrowed for the call), before its entries. */
    void (*tombstones)(void *ctx, const st_rdel_list *l);
    /* An entry of the key (sequence <= the lookup's), newest first; value and pin as with
     * st_table_get.  Returns 1 to be given older entries, 0 when done, or an error. */
    int (*entry)(void *ctx, int type, uint64_t seq, st_slice value, st_pin *pin);
    void *ctx;
} st_get_sink;
/* Searches the tables as st_version_get does, feeding the sink until it is done.  1 when the
 * sink said done, 0 when the tables ran out first, or an error. */
int st_version_get_each(st_version *v, const st_read_flags *rf, st_slice lookup,
                        const st_get_sink *sink);
/* st_version_get_each for n lookups at once, in ascending key order (lookups[i] feeds sinks[i]),
 * skipping those whose done[i] is set and setting done[i] when a sink is done: each table is
 * opened once for all the keys it may hold, and each level is walked once.  0 or an error. */
int st_version_multi_get(st_version *v, const st_read_flags *rf, int n, const st_slice *lookups,
                         const st_get_sink *sinks, int *done);

/* Appends iterators covering the version (one per L0 file, one concatenating iterator per
 * non-empty deeper level) to *list (st_malloc'd, grown).  Each keeps its tables open.  REQUIRES:
 * the caller holds a reference to v for the iterators' lifetime. */
int st_version_add_iterators(st_version *v, const st_read_flags *rf, st_iter ***list, int *n);
/* How many iterators st_version_add_iterators adds, and the largest sequence number each one can
 * yield (out has room for st_version_num_iterators(v)). */
int st_version_num_iterators(const st_version *v);
int st_version_iter_max_seqs(const st_version *v, uint64_t *out, int *n);
/* Every table's range tombstones, fragmented together (built once per version, on first use):
 * a new reference, or NULL when no table has any.  0, NOMEM, or a table open error. */
int st_version_range_dels(st_version *v, st_rdel_list **out);

/* Files of level overlapping the user-key range [begin, end] (NULL = unbounded).  For L0 the range
 * is widened transitively as LevelDB does.  *out is st_malloc'd (NULL when n = 0). */
int st_version_overlapping(st_version *v, int level, const st_slice *begin, const st_slice *end,
                           st_file_meta ***out, int *n);
/* 1 if some file in level overlaps user keys [smallest, largest]. */
int st_version_overlaps(st_version *v, int level, st_slice smallest, st_slice largest);
uint64_t st_version_level_bytes(const st_version *v, int level);
/* Approximate bytes of data before ikey in the whole version. */
uint64_t st_version_approx_offset(st_version *v, st_slice ikey);

/* ---- Compaction picking -------------------------------------------------------------------- */

/* Picks the most needed compaction whose input and output files are not being compacted, marks
 * its files being_compacted, and returns it; NULL if none is needed or possible.
 * Rules: L0 → base level when L0 has >= l0_compaction_trigger files (all L0 files, only if no
 * other L0 compaction runs); else the level with the highest score >= 1, starting after the
 * level's round-robin pointer; inputs expanded to clean user-key boundaries; output files are cut
 * at target_file_size and when grandparent overlap exceeds 10 target files.  REQUIRES mu. */
st_compaction *st_vset_pick_compaction(st_vset *vs);
/* The level a flushed table f goes to: the base level when f overlaps nothing in levels
 * 0..base, no running compaction into the base level and at most the grandparent limit in the
 * level below (a sequential load then skips the L0 -> base rewrite); else 0.  A level > 0 is
 * reserved against compactions until st_vset_flush_installed.  REQUIRES mu; f must outlive the
 * reservation. */
int st_vset_pick_flush_level(st_vset *vs, const st_file_meta *f);
void st_vset_flush_installed(st_vset *vs);
/* Manual compaction of level's files overlapping [begin, end] (internal keys, NULL = unbounded)
 * into level+1 (level itself for the last level).  Returns NULL if nothing overlaps.  If some
 * needed file is being compacted, returns NULL and sets *busy = 1 (caller waits and retries).
 * REQUIRES mu. */
st_compaction *st_vset_compact_range(st_vset *vs, int level, const st_slice *begin,
                                     const st_slice *end, int *busy);
/* 1 if some level has score >= 1. REQUIRES mu. */
int st_vset_needs_compaction(st_vset *vs);
/* Releases the compaction's marks and references and frees it. REQUIRES mu. NULL ok. */
void st_compaction_release(st_compaction *c);

/* A single input file moved to the next level without rewriting (no grandparent overlap problem).*/
int st_compaction_is_trivial_move(const st_compaction *c);
/* Adds deletions of every input file to edit. */
int st_compaction_add_input_deletions(const st_compaction *c, st_version_edit *edit);
/* 1 if no level deeper than output_level can contain ukey (so a tombstone for it may be dropped).
 * Calls must come in increasing key order. */
int st_compaction_is_base_level_for_key(st_compaction *c, st_slice ukey);
/* 1 if the output file should end before ikey (too much grandparent overlap).  Calls in order. */
int st_compaction_should_stop_before(st_compaction *c, st_slice ikey);
/* Iterator over all input entries (merging), keeping tables open.  NULL when out of memory. */
st_iter *st_compaction_input_iter(st_compaction *c, st_table_cache *tc);

#endif
