/* db_impl.h — struct strata_db and the engine's internal interfaces, split by path:
 * db_open.c (open/close/destroy), db_recover.c (WAL replay), db_write.c (group commit, write
 * controller, memtable switch), db_read.c (get, snapshots), db_iter.c (user-facing iterator),
 * db_bg.c (background pool, flush, obsolete files), compaction_job.c (compactions, table output),
 * db_props.c (properties, approximate sizes).
 *
 * Locking: `mu` guards the fields listed under "guarded by mu" below (clang cannot name a sibling
 * field in a C struct annotation, so the functions carry ST_REQUIRES(db->mu) instead).  Long work (I/O, merging, compression)
 * runs without it.  Readers pin a super-version (memtable, immutable memtables, version) under mu
 * for a few instructions and then read lock-free.  Only the group-commit leader (the writer at the
 * front of the queue) appends to the WAL, inserts into the memtable or switches memtables. */
#ifndef STRATA_DB_DB_IMPL_H
#define STRATA_DB_DB_IMPL_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>

#include "api/options.h"
#include "codec/integrity.h"
#include "db/table_cache.h"
#include "db/version_set.h"
#include "db/write_batch.h"
#include "env/env.h"
#include "env/logging.h"
#include "mem/memtable.h"
#include "strata.h"
#include "table/filter.h"
#include "table/table_builder.h"
#include "util/cache.h"
#include "util/compiler.h"
#include "util/mutex.h"
#include "util/status.h"
#include "wal/log_writer.h"

#define ST_MAX_IMM 64
#define ST_MAX_CFS 1024

/* What readers pin: a consistent set of memtables and a version. */
typedef struct st_superversion {
    atomic_int refs;
    st_memtable *mem;
    st_memtable *imm[ST_MAX_IMM]; /* newest first */
    int nimm;
    st_version *version;
} st_superversion;

struct strata_snapshot {
    uint64_t seq;
    struct strata_snapshot *prev, *next;
};

typedef struct st_writer {
    strata_batch *batch; /* NULL: a flush request (force a memtable switch), or excl */
    struct strata_cf *flush_cf; /* flush request: that family's memtable (NULL: every family) */
    int (*excl)(struct strata_db *db, void *arg); /* run alone at the queue's front (with mu) */
    void *excl_arg;
    const uint64_t *prot; /* per-key protection: one checksum per operation of batch, or NULL */
    size_t nprot;
    int sync;
    int disable_wal;
    int done;
    int excluded; /* left out of its group by a failed check: status and errmsg are its own */
    int status;
    char errmsg[ST_ERRMSG_MAX];
    const struct st_write_check *check; /* NULL, or validated before the write (db/db_txn.h) */
    st_cond cv;
    struct st_writer *next;
} st_writer;

/* Statistics: atomics, readable without the mutex. */
typedef struct st_db_stats {
    atomic_uint_fast64_t stall_micros;
    atomic_uint_fast64_t user_bytes_written;
    atomic_uint_fast64_t wal_bytes_written;
    atomic_uint_fast64_t wal_syncs;
    atomic_uint_fast64_t flush_bytes_written;
    atomic_uint_fast64_t compaction_bytes_read;
    atomic_uint_fast64_t compaction_bytes_written;
    atomic_uint_fast64_t flushes;
    atomic_uint_fast64_t compactions;
    atomic_uint_fast64_t trivial_moves;
    atomic_uint_fast64_t flushes_to_base; /* flushes installed below L0 (no overlap) */
    atomic_uint_fast64_t write_groups;
    atomic_uint_fast64_t writes_grouped;
    atomic_uint_fast64_t slowdowns;
    atomic_uint_fast64_t stops;
    atomic_uint_fast64_t bg_errors;
    atomic_uint_fast64_t single_delete_misuse;
    atomic_uint_fast64_t level_bytes_written[ST_MAX_LEVELS];
    atomic_uint_fast64_t level_bytes_read[ST_MAX_LEVELS];
    atomic_uint_fast64_t level_compactions[ST_MAX_LEVELS];
    atomic_uint_fast64_t level_micros[ST_MAX_LEVELS];
} st_db_stats;

/* A column family (column_family.c): its options, tables and memtables.  The public handle is
 * this object; it lives until the DB closes, also after a drop. */
struct strata_cf {
    strata_db *db;
    uint32_t id;
    char *name;
    struct strata_options opts; /* sanitized copy; the per-family fields are used */
    const st_comparator *ucmp;
    st_filter_policy *own_filter;   /* built-in bloom we created, or NULL */
    const st_filter_policy *filter; /* in use (NULL: none) */
    st_table_cache *tc;
    st_vset *vs;
    /* ---- guarded by the DB's mu ---- */
    int dropped;
    st_memtable *mem;
    uint64_t mem_log; /* WAL holding mem's writes */
    st_memtable *imm[ST_MAX_IMM]; /* oldest first */
    uint64_t imm_log[ST_MAX_IMM];
    int nimm;
    int flush_running;
    uint64_t imm_added;   /* memtables ever switched out */
    uint64_t imm_flushed; /* memtables ever flushed */
    st_superversion *sv;
};

struct strata_db {
    char *dbname;
    struct strata_options opts; /* sanitized copy (DB-wide fields; the default family's too) */
    st_env *env;
    const st_comparator *ucmp;      /* the default family's */
    const st_filter_policy *filter; /* the default family's */
    st_cache *block_cache;          /* referenced */
    st_table_cache *tc;             /* the default family's */
    st_vset *vs;                    /* the default family's: also the shared counters */
    /* Column families: dflt is cfs[0]; dropped ones stay listed until close.  Appended under mu
     * by the write-queue leader; the array never moves, and ncfs_pub (release) lets threads
     * without mu walk it (st_db_cf_count). */
    strata_cf *dflt;
    strata_cf **cfs;
    int ncfs;
    atomic_int ncfs_pub;
    st_logger *log;
    st_filelock *lock;
    st_integrity *integ; /* identity, keys, parity settings, heal counters (db_integrity.c) */
    int migrate_encryption; /* open: mark the DB encrypted once the MANIFEST is read */
    int rotate_wal;         /* (mu) the next forced flush switches even an empty memtable */
    struct {
        st_thread *thread;  /* the scrub pass, joined by scrub_wait, the next scrub or close */
        uint64_t rate;
        atomic_int running, stop, last_status;
        atomic_uint_fast64_t passes, bytes, blocks, healed, unrecoverable;
    } scrub;

    st_mutex mu;
    st_cond bg_cv;   /* broadcast when background work finishes or state changes */
    st_cond work_cv; /* wakes background threads */

    /* ---- guarded by mu ---- */
    int flush_running; /* a flush is in progress (one at a time, any family) */

    /* WAL: written by the group-commit leader only. */
    st_log_writer *wal;
    uint64_t wal_number;
    /* Ordering across WAL files (db_write.c): switched-out WALs whose tails may not be durable yet,
     * oldest first (touched by the leader under mu, and by close); whether a WAL was created since
     * the directory was last synced by the write path; and the last sequence appended to any WAL
     * (disable_wal writes excluded), which the next WAL's marker record names plus one. */
    st_log_writer *wal_old[ST_MAX_IMM + 1];
    uint64_t wal_old_number[ST_MAX_IMM + 1];
    int nwal_old;
    int wal_dir_dirty;
    uint64_t wal_logged_seq;
    int syncing_old_wals; /* flushes syncing switched-out WALs they took (st_db_sync_closed_wals) */

    /* Group commit. */
    st_writer *writers_head;
    st_writer *writers_tail;
    strata_batch group_batch; /* leader's scratch for merged batches */

    /* Sequence numbers: last_seq is assigned under mu; visible_seq is published after the
     * memtable insert (release) and read by readers (acquire). */
    uint64_t last_seq;
    atomic_uint_fast64_t visible_seq;

    /* Snapshots: a list sorted by seq (oldest first), sentinel-headed. */
    struct strata_snapshot snapshots;

    /* Background work. */
    st_thread *threads[64];
    int nthreads;  /* started; only the opening/closing thread touches it */
    int bg_started;  /* set before the first background thread starts; read by them */
    int pool_size; /* fixed before the threads start */
    int running_compactions;
    int next_compact_cf; /* round-robin start of the compaction picker over families */
    int manual_compactions;
    atomic_int shutting_down;
    int bg_error; /* sticky: set once, returned by every later write */
    int filter_installing; /* a compaction whose filter changed values is being installed */
    char bg_errmsg[ST_ERRMSG_MAX];
    uint64_t *pending_outputs; /* file numbers being written */
    int npending, cap_pending;
    uint64_t delay_credit_micros;

    st_db_stats stats;

    /* Fault injection for tests (db/test_hooks.h); NULL in normal use.  Called by the group-commit
     * leader with the group's batch at the points of enum st_db_write_point. */
    void (*test_write_hook)(void *arg, int point, strata_batch *group);
    void *test_write_hook_arg;

    /* The transaction layer's lock table (src/txn), freed by close through txn_db_free. */
    void *txn_db;
    void (*txn_db_free)(void *txn_db);
};

/* Where the write path calls test_write_hook. */
enum st_db_write_point {
    ST_DB_WRITE_GROUP_BUILT = 1, /* the WAL record is assembled, not yet verified (holding mu) */
    ST_DB_WRITE_WAL_DONE = 2,    /* appended to the WAL, not yet in the memtable (without mu) */
};

/* ---- db_open.c ------------------------------------------------------------------------------ */
int st_db_open(const struct strata_options *opt, const char *path, strata_db **out);
/* Opens with the families names[] (cf_opts[i] NULL or cf_opts NULL: opt), handles[i] set. */
int st_db_open_cf(const struct strata_options *opt, const char *path, size_t n,
                  const char *const *names, const struct strata_options *const *cf_opts,
                  strata_cf **handles, strata_db **out);
/* Clamps options to workable values (the setters already range-check). */
void st_db_sanitize_options(struct strata_options *o);
int st_db_close(strata_db *db);
int st_db_destroy(const struct strata_options *opt, const char *path);

/* ---- db_integrity.c ------------------------------------------------------------------------ */
/* Before anything is read: the key provider, the parity settings and the IDENTITY file (read,
 * or made for a new DB); a wrong or missing key fails here with STRATA_E_AUTH. */
int st_db_integrity_open(strata_db *db, int db_exists);
/* After the MANIFEST is read: a DB first opened with encryption is marked encrypted from the
 * next file number on.  REQUIRES mu. */
int st_db_integrity_after_manifest(strata_db *db) ST_REQUIRES(db->mu);
void st_db_integrity_close(strata_db *db);
/* For offline tools (verify, repair, salvage, the CLI's inspectors): the integrity settings of
 * the DB at dbname from its IDENTITY and opt's keys (opt may be NULL), writing nothing.  No
 * IDENTITY: a plaintext DB with a zero id.  Errors: AUTH (encrypted, no or wrong key), IO,
 * CORRUPTION, NOMEM.  Free with st_integrity_free. */
int st_integrity_load(st_env *env, const char *dbname, const struct strata_options *opt,
                      st_integrity **out);
void st_integrity_free(st_integrity *in);

/* ---- db_scrub.c ----------------------------------------------------------------------------- */
int st_db_verify(strata_db *db, int flags, strata_integrity_report *rep);
int st_db_scrub(strata_db *db, uint64_t rate);
int st_db_scrub_wait(strata_db *db);
/* For close: stops a running scrub and joins it. */
void st_db_scrub_stop(strata_db *db);
/* "strata.scrub-<name>" integer properties. */
int st_db_scrub_property(strata_db *db, const char *name, uint64_t *value);
int st_db_rekey(strata_db *db);

/* ---- repair.c ------------------------------------------------------------------------------- */
/* Rebuilds the MANIFEST from surviving tables and WALs (see repair.c); fills report (may be
 * NULL; its detail is owned by the caller afterwards, also on failure). */
int st_db_repair(const struct strata_options *opt, const char *path,
                 strata_integrity_report *report);

/* ---- salvage.c ------------------------------------------------------------------------------ */
/* Copies what can be read of the DB at damaged into a new DB at fresh (see salvage.c). */
int st_db_salvage(const struct strata_options *opt, const char *damaged, const char *fresh,
                  strata_integrity_report *report);

/* ---- db_recover.c --------------------------------------------------------------------------- */
/* Replays WALs newer than the families' log numbers into level-0 tables; fills edits[i] (one per
 * db->cfs[i]) and *max_seq.  REQUIRES mu. */
int st_db_recover_logs(strata_db *db, st_version_edit *edits, uint64_t *max_seq)
    ST_REQUIRES(db->mu);
/* Checks that every table of the recovered version and the WAL at its log number exist
 * (STRATA_E_CORRUPTION naming the missing file otherwise). REQUIRES mu. */
int st_db_check_files(strata_db *db) ST_REQUIRES(db->mu);

/* ---- db_write.c ----------------------------------------------------------------------------- */
int st_db_write(strata_db *db, const struct strata_write_options *wo, strata_batch *batch);
/* Switches the memtable (if not empty) through the write queue; with wait, returns once every
 * memtable that existed at the call is flushed. */
int st_db_flush(strata_db *db, strata_cf *cf, int wait); /* cf NULL: every family */
/* Runs fn(db, arg) with mu held as the write queue's leader: no write is in flight meanwhile
 * (fn may release mu; the queue stays blocked).  Returns fn's status. */
int st_db_run_exclusive(strata_db *db, int (*fn)(strata_db *db, void *arg), void *arg);
/* Creates a new WAL file, writes its marker record and installs it; the old WAL (if any) joins the
 * list of WALs not yet known durable.  With no old WAL (open) the directory is synced, so the
 * MANIFEST edit that names the new WAL can follow.  REQUIRES mu; releases it during I/O. */
int st_db_new_wal(strata_db *db) ST_REQUIRES(db->mu);
/* For close: syncs the switched-out WALs not yet durable (oldest first), the directory if a WAL
 * was created since its last sync, then the current WAL, and closes them all.  Returns the first
 * sync error.  REQUIRES mu (held across the I/O; no writer may be active). */
int st_db_wal_close_all(strata_db *db) ST_REQUIRES(db->mu);
/* Syncs (and closes) the switched-out WALs not yet known durable, oldest first, and the directory
 * if a WAL was created since its last sync.  With several families a flush calls it before its
 * table joins the durable state: the table holds batches whose other families' parts live only
 * in those WALs, so a power cut must not keep the one and lose the other.  REQUIRES mu; releases
 * it during the I/O. */
int st_db_sync_closed_wals(strata_db *db) ST_REQUIRES(db->mu);
/* Records a sticky background error (first one wins). REQUIRES mu. */
void st_db_set_bg_error(strata_db *db, int code, const char *msg) ST_REQUIRES(db->mu);
/* A new empty memtable sized and protected (protection_bytes_per_key) by db's options. */
int st_db_new_memtable(strata_cf *cf, st_memtable **out);

/* ---- db_read.c ------------------------------------------------------------------------------ */
/* Pins the current super-version and reads the visible sequence (or snap's). */
st_superversion *st_db_sv_acquire(strata_db *db, strata_cf *cf, const strata_snapshot *snap,
                                  uint64_t *seq);
/* Releases a pin; mu_held says whether the caller holds mu. */
void st_db_sv_release(strata_db *db, st_superversion *sv, int mu_held);
/* Installs a new super-version from the current mem/imm/version. REQUIRES mu. */
int st_db_sv_install(strata_db *db, strata_cf *cf) ST_REQUIRES(db->mu);
int st_db_get(strata_db *db, strata_cf *cf, const struct strata_read_options *ro, st_slice key,
              void **val, size_t *vlen);
int st_db_multi_get(strata_db *db, strata_cf *cf, const struct strata_read_options *ro, size_t n,
                    const void *const *keys, const size_t *klens, void **vals, size_t *vlens,
                    int *statuses);
int st_db_get_pinned(strata_db *db, strata_cf *cf, const struct strata_read_options *ro,
                     st_slice key, strata_pinned **out);
/* Oldest live snapshot sequence, or last_seq if none. REQUIRES mu. */
uint64_t st_db_oldest_snapshot(strata_db *db) ST_REQUIRES(db->mu);
/* Sorted array of live snapshot sequences (owned, st_free). REQUIRES mu. */
int st_db_snapshot_list(strata_db *db, uint64_t **seqs, int *n) ST_REQUIRES(db->mu);

/* ---- db_iter.c ------------------------------------------------------------------------------ */
int st_db_iter_create(strata_db *db, strata_cf *cf, const struct strata_read_options *ro,
                      strata_iter **out);

/* ---- db_bg.c -------------------------------------------------------------------------------- */
int st_db_bg_start(strata_db *db);
/* Stops and joins the background threads (after the running jobs finish). */
void st_db_bg_stop(strata_db *db);
/* Wakes background threads to look for work. REQUIRES mu. */
void st_db_bg_schedule(strata_db *db) ST_REQUIRES(db->mu);
/* Wakes idle background threads without the mutex (from readers); a wakeup racing with a thread
 * about to wait is lost, and its periodic timeout picks the work up instead. */
void st_db_bg_wake(strata_db *db);
/* Flushes imm[0] to a level-0 table and installs it. REQUIRES mu; releases it during I/O. */
int st_db_flush_imm(strata_db *db, strata_cf *cf) ST_REQUIRES(db->mu);
/* Deletes files no longer referenced. REQUIRES mu; releases it while deleting. */
void st_db_delete_obsolete(strata_db *db) ST_REQUIRES(db->mu);
int st_db_pending_add(strata_db *db, uint64_t number) ST_REQUIRES(db->mu);
void st_db_pending_remove(strata_db *db, uint64_t number) ST_REQUIRES(db->mu);

/* ---- compaction_job.c ----------------------------------------------------------------------- */
/* Writes the entries of it into one level-0 table (for flush and recovery).  The table is synced,
 * its directory synced, and meta filled (*meta = NULL if it held no entries).  Called without mu;
 * the caller registered number as a pending output. */
/* Writes memtable m to table number (level 0 options) with the live snapshot sequences snaps
 * (ascending; may be NULL with nsnaps 0).  *meta NULL when nothing is left to write. */
int st_db_write_level0_table(strata_db *db, strata_cf *cf, st_memtable *m, uint64_t number,
                             const uint64_t *snaps, int nsnaps, st_file_meta **meta);
/* Runs c (picked by the caller, files marked), installs the result. REQUIRES mu; releases it
 * during I/O.  Releases c. */
int st_db_run_compaction(strata_db *db, st_compaction *c) ST_REQUIRES(db->mu);
int st_db_compact_range(strata_db *db, strata_cf *cf, const st_slice *begin, const st_slice *end);
/* Table-builder options for table number written to level. */
void st_db_table_options(const strata_cf *cf, int level, uint64_t number, st_table_options *to);

/* ---- db_props.c ----------------------------------------------------------------------------- */
int st_db_property(strata_db *db, strata_cf *cf, const char *name, char **value);
int st_db_property_int(strata_db *db, strata_cf *cf, const char *name, uint64_t *value);
int st_db_approximate_sizes(strata_db *db, strata_cf *cf, int n, const char *const *start,
                            const size_t *start_lens, const char *const *limit,
                            const size_t *limit_lens, uint64_t *sizes);

/* ---- column_family.c ------------------------------------------------------------------------ */
/* Opening: the families the MANIFEST records, each with its options (names[i] with cf_opts[i],
 * others with the DB's), their version sets registered, before st_vset_recover.  No mu needed
 * (single-threaded open). */
int st_db_cf_open_all(strata_db *db, size_t n, const char *const *names,
                      const struct strata_options *const *cf_opts);
/* After recovery: families named at open that do not exist are created (create_if_missing) or
 * NOTFOUND; handles[i] set.  REQUIRES mu. */
int st_db_cf_bind(strata_db *db, size_t n, const char *const *names,
                  const struct strata_options *const *cf_opts, strata_cf **handles)
    ST_REQUIRES(db->mu);
int st_db_cf_create(strata_db *db, const char *name, const struct strata_options *opts,
                    strata_cf **out);
int st_db_cf_drop(strata_db *db, strata_cf *cf);
/* The live family called name, or NULL. */
strata_cf *st_db_cf_find(strata_db *db, const char *name);
/* The live family with id, or NULL.  REQUIRES mu (or the group-commit leader's view). */
strata_cf *st_db_cf_by_id(strata_db *db, uint32_t id);
/* How many families db->cfs holds, for threads without mu. */
int st_db_cf_count(strata_db *db);
/* Frees every family (close). */
void st_db_cf_free_all(strata_db *db);
/* INVALID when cf is NULL, of another DB, or dropped; fn names the caller. */
int st_db_cf_check(strata_db *db, const strata_cf *cf, const char *fn);
/* The oldest WAL some family may still need: WALs below it hold no unflushed write.
 * REQUIRES mu. */
uint64_t st_db_min_log_needed(strata_db *db) ST_REQUIRES(db->mu);
/* The same as if family changed's log number were log (UINT64_MAX: as if it were gone). */
uint64_t st_db_min_log_needed_with(strata_db *db, const strata_cf *changed, uint64_t log)
    ST_REQUIRES(db->mu);
int st_db_cf_list(const struct strata_options *opt, const char *path, char ***names, size_t *n);

#endif
