/* db_bg.c — the background pool (max_background_jobs threads), memtable flushes and deletion of
 * obsolete files.
 *
 * Scheduling: any idle thread takes a flush first (one at a time, oldest immutable memtable, so
 * level 0 stays ordered by age); otherwise it picks a compaction, but at most
 * nthreads - 1 compactions run at once so a thread is always free to flush.  After a sticky
 * background error no new work starts.  Threads exit when shutting_down is set, after finishing
 * their current job (compactions notice shutdown and stop early). */
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/filename.h"
#include "util/alloc.h"

/* ---- pending outputs -------------------------------------------------------------------------- */

int st_db_pending_add(strata_db *db, uint64_t number)
{
    if (db->npending == db->cap_pending) {
        int cap = db->cap_pending ? db->cap_pending * 2 : 16;
        uint64_t *p = st_realloc(db->pending_outputs, sizeof(uint64_t) * (size_t)cap);
        if (!p) {
            return st_err(STRATA_E_NOMEM, "out of memory");
        }
        db->pending_outputs = p;
        db->cap_pending = cap;
    }
    db->pending_outputs[db->npending++] = number;
    return 0;
}

void st_db_pending_remove(strata_db *db, uint64_t number)
{
    for (int i = 0; i < db->npending; i++) {
        if (db->pending_outputs[i] == number) {
            db->pending_outputs[i] = db->pending_outputs[--db->npending];
            return;
        }
    }
}

/* ---- flush ------------------------------------------------------------------------------------ */

/* Installs the flushed table (NULL: the memtable was empty); *level gets its level. */
static int install_flush(strata_db *db, strata_cf *cf, st_file_meta *meta, int *level_out)
    ST_REQUIRES(db->mu)
{
    st_version_edit edit;
    st_version_edit_init(&edit);
    int level = meta ? st_vset_pick_flush_level(cf->vs, meta) : 0;
    *level_out = level;
    int rc = meta ? st_version_edit_add_file(&edit, level, meta) : 0;
    if (!rc) {
        /* Writes of imm[0] are now in a table: its WAL is no longer needed by this family. */
        uint64_t log = cf->nimm > 1 ? cf->imm_log[1] : cf->mem_log;
        st_version_edit_set_log_number(&edit, log);
        st_version_edit_set_prev_log_number(&edit, 0);
        st_vset_want_min_log(cf->vs, st_db_min_log_needed_with(db, cf, log));
        rc = st_vset_log_and_apply(cf->vs, &edit, &db->mu);
    }
    st_vset_flush_installed(cf->vs);
    st_version_edit_clear(&edit);
    if (!rc && level > 0) {
        atomic_fetch_add(&db->stats.flushes_to_base, 1);
        st_log(db->log, "flushed table %llu straight to level %d (no overlap above it)",
               (unsigned long long)meta->number, level);
    }
    return rc;
}

static int live_families(strata_db *db) ST_REQUIRES(db->mu)
{
    int n = 0;
    for (int f = 0; f < db->ncfs; f++) {
        n += !db->cfs[f]->dropped;
    }
    return n;
}

int st_db_flush_imm(strata_db *db, strata_cf *cf)
{
    st_memtable *m = cf->imm[0];
    uint64_t number = st_vset_new_file_number(db->vs);
    int rc = st_db_pending_add(db, number);
    if (rc) {
        return rc;
    }
    uint64_t start = st_env_now_micros(db->env);
    uint64_t *snaps = NULL;
    int nsnaps = 0;
    rc = st_db_snapshot_list(db, &snaps, &nsnaps);
    if (rc) {
        st_db_pending_remove(db, number);
        return rc;
    }
    st_mutex_unlock(&db->mu);
    st_file_meta *meta = NULL;
    int level = 0;
    rc = st_db_write_level0_table(db, cf, m, number, snaps, nsnaps, &meta);
    st_free(snaps);
    st_mutex_lock(&db->mu);
    if (!rc && live_families(db) > 1) {
        rc = st_db_sync_closed_wals(db);
    }
    if (!rc) {
        rc = install_flush(db, cf, meta, &level);
    }
    st_db_pending_remove(db, number);
    if (rc) {
        st_db_set_bg_error(db, rc, st_errmsg());
    } else {
        memmove(cf->imm, cf->imm + 1, sizeof(cf->imm[0]) * (size_t)(cf->nimm - 1));
        memmove(cf->imm_log, cf->imm_log + 1, sizeof(cf->imm_log[0]) * (size_t)(cf->nimm - 1));
        cf->nimm--;
        cf->imm_flushed++;
        st_memtable_unref(m);
        rc = st_db_sv_install(db, cf);
        uint64_t bytes = meta ? meta->file_size : 0;
        atomic_fetch_add(&db->stats.flushes, 1);
        atomic_fetch_add(&db->stats.flush_bytes_written, bytes);
        atomic_fetch_add(&db->stats.level_bytes_written[level], bytes);
        atomic_fetch_add(&db->stats.level_micros[level], st_env_now_micros(db->env) - start);
        st_log(db->log, "flushed memtable to table %llu (%llu bytes)", (unsigned long long)number,
               (unsigned long long)bytes);
        st_db_delete_obsolete(db);
    }
    if (meta) {
        st_file_meta_unref(meta);
    }
    return rc;
}

/* ---- obsolete files --------------------------------------------------------------------------- */

typedef struct live_set {
    uint64_t *numbers;
    int n;
    st_table_cache **tcs; /* every family's, to evict deleted tables from */
    int ntcs;
    uint64_t min_log;
    uint64_t manifest;
    uint64_t first_new; /* every number >= this may be in use by a job started later */
    int remove_temp;    /* at open no CURRENT update can be in progress */
} live_set;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int is_live(const live_set *ls, uint64_t number)
{
    return bsearch(&number, ls->numbers, (size_t)ls->n, sizeof(uint64_t), cmp_u64) != NULL;
}

static int should_keep(const live_set *ls, int type, uint64_t number)
{
    /* Numbers from first_new on may belong to a job that started after the live set was taken
     * -- except at open (remove_temp), when no job runs: then a temp file or a table nothing
     * lists is debris (say, the outputs of a compaction cut off by a crash or a close), whatever
     * its number. */
    if (number >= ls->first_new &&
        !(ls->remove_temp && (type == ST_FILE_TEMP || type == ST_FILE_TABLE))) {
        return 1;
    }
    switch (type) {
    case ST_FILE_LOG: return number >= ls->min_log;
    case ST_FILE_MANIFEST: return number >= ls->manifest;
    case ST_FILE_TABLE: return is_live(ls, number);
    case ST_FILE_TEMP: return !ls->remove_temp; /* else a CURRENT update may be in progress */
    default: return 1;
    }
}

static int collect_live(strata_db *db, live_set *ls) ST_REQUIRES(db->mu)
{
    ls->numbers = NULL;
    ls->n = 0;
    int rc = 0;
    for (int f = 0; f < db->ncfs && !rc; f++) {
        rc = st_vset_live_files(db->cfs[f]->vs, &ls->numbers, &ls->n);
    }
    ls->ntcs = db->ncfs;
    ls->tcs = rc ? NULL : st_malloc(sizeof(*ls->tcs) * (size_t)db->ncfs);
    if (!rc && !ls->tcs) {
        rc = st_err(STRATA_E_NOMEM, "out of memory");
    }
    for (int f = 0; !rc && f < db->ncfs; f++) {
        ls->tcs[f] = db->cfs[f]->tc;
    }
    for (int i = 0; !rc && i < db->npending; i++) {
        uint64_t *p = st_realloc(ls->numbers, sizeof(uint64_t) * (size_t)(ls->n + 1));
        if (!p) {
            rc = st_err(STRATA_E_NOMEM, "out of memory");
            break;
        }
        ls->numbers = p;
        ls->numbers[ls->n++] = db->pending_outputs[i];
    }
    if (rc) {
        st_free(ls->numbers);
        st_free(ls->tcs);
        return rc;
    }
    qsort(ls->numbers, (size_t)ls->n, sizeof(uint64_t), cmp_u64);
    ls->min_log = st_vset_min_log_to_keep(db->vs); /* recorded: a crash cannot undo it */
    ls->manifest = st_vset_manifest_number(db->vs);
    ls->first_new = st_vset_next_file_number(db->vs);
    ls->remove_temp = !db->bg_started; /* still opening: no background job, no other writer */
    return 0;
}

static void delete_file(strata_db *db, const live_set *ls, const char *name, int type,
                        uint64_t number)
{
    size_t len = strlen(db->dbname) + strlen(name) + 2;
    char *full = st_malloc(len);
    if (!full) {
        return;
    }
    snprintf(full, len, "%s/%s", db->dbname, name);
    for (int f = 0; type == ST_FILE_TABLE && f < ls->ntcs; f++) {
        st_table_cache_evict(ls->tcs[f], number);
    }
    int rc = st_env_remove_file(db->env, full);
    st_log(db->log, "deleted obsolete %s: %s", name, rc ? st_errmsg() : "ok");
    st_free(full);
}

void st_db_delete_obsolete(strata_db *db)
{
    if (db->bg_error) {
        return; /* after an error the state on disk is uncertain: keep everything */
    }
    live_set ls;
    if (collect_live(db, &ls)) {
        return;
    }
    st_mutex_unlock(&db->mu);
    char **names = NULL;
    int n = 0;
    if (st_env_list_dir(db->env, db->dbname, &names, &n) == 0) {
        for (int i = 0; i < n; i++) {
            int type;
            uint64_t number;
            if (st_parse_filename(names[i], &type, &number) && !should_keep(&ls, type, number)) {
                delete_file(db, &ls, names[i], type, number);
            }
        }
        st_env_free_names(names, n);
    }
    st_free(ls.numbers);
    st_free(ls.tcs);
    st_mutex_lock(&db->mu);
}

/* ---- the pool --------------------------------------------------------------------------------- */

/* The family whose oldest immutable memtable is on the oldest WAL (flushing it frees WALs
 * soonest), or NULL when none waits. */
static strata_cf *family_to_flush(strata_db *db) ST_REQUIRES(db->mu)
{
    strata_cf *best = NULL;
    for (int f = 0; f < db->ncfs; f++) {
        strata_cf *cf = db->cfs[f];
        if (!cf->dropped && cf->nimm > 0 && (!best || cf->imm_log[0] < best->imm_log[0])) {
            best = cf;
        }
    }
    return best;
}

/* A compaction from the families in turn (round robin, so none starves). */
static st_compaction *pick_compaction(strata_db *db) ST_REQUIRES(db->mu)
{
    for (int k = 0; k < db->ncfs; k++) {
        int f = (db->next_compact_cf + k) % db->ncfs;
        if (db->cfs[f]->dropped) {
            continue;
        }
        st_compaction *c = st_vset_pick_compaction(db->cfs[f]->vs);
        if (c) {
            db->next_compact_cf = (f + 1) % db->ncfs;
            return c;
        }
    }
    return NULL;
}

/* Runs one unit of work if there is any. Returns 1 if it did something. REQUIRES mu. */
static int do_one_job(strata_db *db) ST_REQUIRES(db->mu)
{
    if (db->bg_error) {
        return 0;
    }
    strata_cf *fcf = db->flush_running ? NULL : family_to_flush(db);
    if (fcf) {
        db->flush_running = 1;
        st_db_flush_imm(db, fcf);
        db->flush_running = 0;
        st_cond_broadcast(&db->bg_cv);
        return 1;
    }
    if (db->running_compactions >= db->pool_size - 1) {
        return 0;
    }
    st_compaction *c = pick_compaction(db);
    if (!c) {
        return 0;
    }
    db->running_compactions++;
    st_db_run_compaction(db, c);
    db->running_compactions--;
    st_cond_broadcast(&db->bg_cv);
    return 1;
}

static void bg_main(void *arg)
{
    strata_db *db = arg;
    if (db->opts.low_priority_background) {
        st_env_lower_thread_priority(db->env); /* foreground work wins a contended CPU */
    }
    st_mutex_lock(&db->mu);
    while (!atomic_load(&db->shutting_down)) {
        if (!do_one_job(db)) {
            st_cond_timedwait_micros(&db->work_cv, &db->mu, 1000000);
        } else {
            st_cond_broadcast(&db->work_cv); /* more work may now be possible for others */
        }
    }
    st_mutex_unlock(&db->mu);
}

int st_db_bg_start(strata_db *db)
{
    /* pool_size is written before any thread starts (thread creation orders it before their
     * reads); nthreads counts started threads and is touched only by the opening thread. */
    db->pool_size = db->opts.max_background_jobs;
    db->bg_started = 1;
    for (int i = 0; i < db->pool_size; i++) {
        int rc = st_env_thread_start(db->env, bg_main, db, &db->threads[i]);
        if (rc) {
            st_db_bg_stop(db);
            return rc;
        }
        db->nthreads = i + 1;
    }
    return 0;
}

void st_db_bg_stop(strata_db *db)
{
    st_mutex_lock(&db->mu);
    atomic_store(&db->shutting_down, 1);
    st_cond_broadcast(&db->work_cv);
    st_cond_broadcast(&db->bg_cv);
    st_mutex_unlock(&db->mu);
    for (int i = 0; i < db->nthreads; i++) {
        st_env_thread_join(db->env, db->threads[i]);
    }
    db->nthreads = 0;
}

void st_db_bg_schedule(strata_db *db)
{
    st_db_bg_wake(db); /* under mu no wakeup can be lost */
}

void st_db_bg_wake(strata_db *db)
{
    st_cond_broadcast(&db->work_cv);
}
