/* db_open.c — opening (locking, creating, recovering), closing and destroying a DB.
 * Open order: directory, LOCK, info log, table cache, version set, MANIFEST replay, WAL replay
 * (db_recover.c), a fresh WAL, one MANIFEST edit recording it, obsolete-file deletion, background
 * threads.  Any failure unwinds everything acquired so far. */
#include <stdio.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/merge_op.h"
#include "db/filename.h"
#include "util/alloc.h"
#include "util/comparator.h"
#include "wal/log_writer.h"

static int new_db(strata_db *db)
{
    st_version_edit edit;
    st_version_edit_init(&edit);
    st_buf rec = ST_BUF_INIT;
    st_wfile *f = NULL;
    st_log_writer *w = NULL;
    char *fname = st_filename(db->dbname, ST_FILE_MANIFEST, 1);
    int rc = fname ? 0 : STRATA_E_NOMEM;
    if (!rc) {
        rc = st_version_edit_set_comparator(&edit, st_comparator_name(db->ucmp));
    }
    if (!rc) {
        st_version_edit_set_log_number(&edit, 0);
        st_version_edit_set_next_file(&edit, 2);
        st_version_edit_set_last_seq(&edit, 0);
        rc = st_version_edit_encode(&edit, &rec);
    }
    if (!rc) {
        rc = st_env_new_writable(db->env, fname, &f);
    }
    if (!rc) {
        rc = st_log_writer_create(f, 0, &w); /* closes f on failure */
    }
    if (!rc) {
        rc = st_log_writer_protect(w, db->integ, 1, ST_CRYPT_FILE_MANIFEST);
    }
    if (!rc) {
        rc = st_log_writer_add(w, st_buf_slice(&rec));
    }
    if (!rc) {
        rc = st_log_writer_sync(w);
    }
    if (w) {
        int crc = st_log_writer_close(w);
        rc = rc ? rc : crc;
    }
    if (rc && fname) {
        st_env_remove_file(db->env, fname);
    } else if (!rc) {
        /* From here on CURRENT may name the MANIFEST (the rename can succeed and a later step
         * fail), so it is never removed; a failed creation is retried by the next open. */
        rc = st_set_current_file(db->env, db->dbname, 1);
    }
    st_free(fname);
    st_buf_free(&rec);
    st_version_edit_clear(&edit);
    return rc;
}

void st_db_sanitize_options(struct strata_options *o)
{
    if (o->max_write_buffers < 2) {
        o->max_write_buffers = 2;
    }
    if (o->max_write_buffers > ST_MAX_IMM) {
        o->max_write_buffers = ST_MAX_IMM;
    }
    if (o->max_background_jobs < 2) {
        o->max_background_jobs = 2;
    }
    if (o->max_background_jobs > 64) {
        o->max_background_jobs = 64;
    }
    if (o->num_levels > ST_MAX_LEVELS) {
        o->num_levels = ST_MAX_LEVELS;
    }
    if (o->l0_slowdown_trigger < o->l0_compaction_trigger) {
        o->l0_slowdown_trigger = o->l0_compaction_trigger;
    }
    if (o->l0_stop_trigger < o->l0_slowdown_trigger) {
        o->l0_stop_trigger = o->l0_slowdown_trigger;
    }
}

static int setup_cache(strata_db *db)
{
    if (db->opts.block_cache) {
        db->block_cache = db->opts.block_cache;
        st_cache_ref(db->block_cache);
    } else {
        db->block_cache = st_cache_create(db->opts.block_cache_size, -1);
        if (!db->block_cache) {
            return st_err(STRATA_E_NOMEM, "out of memory creating the block cache");
        }
    }
    db->opts.block_cache = NULL; /* the copy must not carry the caller's reference */
    return 0;
}

static int open_info_log(strata_db *db)
{
    if (!db->opts.info_log) {
        return 0;
    }
    char *cur = st_filename(db->dbname, ST_FILE_INFO_LOG, 0);
    char *old = st_filename(db->dbname, ST_FILE_INFO_LOG_OLD, 0);
    int rc = (cur && old) ? 0 : STRATA_E_NOMEM;
    if (!rc) {
        if (st_env_exists(db->env, cur)) {
            st_env_rename_file(db->env, cur, old); /* best effort: the log is advisory */
        }
        rc = st_logger_open(db->env, cur, &db->log);
    }
    st_free(cur);
    st_free(old);
    return rc;
}

static int lock_db(strata_db *db)
{
    char *lockname = st_filename(db->dbname, ST_FILE_LOCK, 0);
    if (!lockname) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    int rc = st_env_lock_file(db->env, lockname, &db->lock);
    if (rc == STRATA_E_BUSY) {
        rc = st_err(STRATA_E_BUSY, "%s: database is in use (LOCK held by another opener)",
                    db->dbname);
    }
    st_free(lockname);
    return rc;
}

/* 1 if dbname holds a DB (CURRENT exists). */
static int db_exists(strata_db *db)
{
    char *current = st_filename(db->dbname, ST_FILE_CURRENT, 0);
    int exists = current && st_env_exists(db->env, current);
    st_free(current);
    return exists;
}

/* Creates the DB if needed, or checks error_if_exists. */
static int check_existence(strata_db *db)
{
    char *current = st_filename(db->dbname, ST_FILE_CURRENT, 0);
    if (!current) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    int exists = st_env_exists(db->env, current);
    st_free(current);
    if (exists) {
        if (db->opts.error_if_exists) {
            return st_err(STRATA_E_EXISTS, "%s: database exists (error_if_exists is set)",
                          db->dbname);
        }
        return 0;
    }
    if (!db->opts.create_if_missing) {
        return st_err(STRATA_E_NOTFOUND, "%s: database does not exist (create_if_missing is off)",
                      db->dbname);
    }
    return new_db(db);
}

/* After the WAL replay: every family gets a memtable on the new WAL, and one edit each records
 * its recovered tables and that WAL as its log number.  REQUIRES mu. */
static int start_families(strata_db *db, st_version_edit *edits) ST_REQUIRES(db->mu)
{
    int rc = 0;
    for (int f = 0; f < db->ncfs && !rc; f++) {
        strata_cf *cf = db->cfs[f];
        rc = st_db_new_memtable(cf, &cf->mem);
        if (!rc) {
            cf->mem_log = db->wal_number;
            st_version_edit_set_log_number(&edits[f], db->wal_number);
            st_version_edit_set_prev_log_number(&edits[f], 0);
            if (f == db->ncfs - 1) { /* with the last family's edit every one names the new WAL */
                st_vset_want_min_log(db->vs, db->wal_number);
            }
            rc = st_vset_log_and_apply(cf->vs, &edits[f], &db->mu);
        }
        rc = rc ? rc : st_db_sv_install(db, cf);
    }
    return rc;
}

/* Replays MANIFEST and WALs, starts a fresh WAL and records it. REQUIRES mu. */
static int recover(strata_db *db) ST_REQUIRES(db->mu)
{
    int nf = db->ncfs;
    st_version_edit *edits = st_calloc((size_t)nf, sizeof(*edits));
    if (!edits) {
        return st_err(STRATA_E_NOMEM, "out of memory opening %s", db->dbname);
    }
    uint64_t max_seq = 0;
    int rc = st_vset_recover(db->vs);
    if (!rc) {
        rc = st_db_integrity_after_manifest(db);
    }
    if (!rc) {
        rc = st_db_check_files(db);
    }
    if (!rc) {
        rc = st_db_recover_logs(db, edits, &max_seq);
    }
    if (!rc) {
        uint64_t last = st_vset_last_sequence(db->vs);
        db->last_seq = max_seq > last ? max_seq : last;
        db->wal_logged_seq = db->last_seq; /* the new WAL's marker: everything before is durable */
        st_vset_set_last_sequence(db->vs, db->last_seq);
        atomic_store_explicit(&db->visible_seq, db->last_seq, memory_order_release);
        rc = st_db_new_wal(db);
    }
    rc = rc ? rc : start_families(db, edits);
    for (int f = 0; f < nf; f++) {
        st_version_edit_clear(&edits[f]);
    }
    st_free(edits);
    return rc;
}

static void write_options_file(strata_db *db)
{
    char *text = strata_options_to_string(&db->opts);
    char *fname = st_filename(db->dbname, ST_FILE_OPTIONS, 0);
    if (text && fname) {
        st_env_write_file(db->env, fname, st_slice_cstr(text), 0); /* informational only */
    }
    strata_free(text);
    st_free(fname);
}

static strata_db *db_alloc(const struct strata_options *opt, const char *path)
{
    strata_db *db = st_calloc(1, sizeof(*db));
    if (!db) {
        return NULL;
    }
    db->dbname = st_strdup(path);
    if (!db->dbname || st_batch_init(&db->group_batch)) {
        st_free(db->dbname);
        st_free(db);
        return NULL;
    }
    db->opts = *opt;
    st_db_sanitize_options(&db->opts);
    /* The DB's own references: the options may be destroyed while it is open. */
    if (db->opts.merge_operator) {
        st_merge_op_ref(db->opts.merge_operator);
    }
    if (db->opts.compaction_filter) {
        st_compaction_filter_ref(db->opts.compaction_filter);
    }
    db->env = opt->env ? opt->env : st_env_posix();
    db->ucmp = opt->comparator ? opt->comparator : st_comparator_bytewise();
    st_mutex_init(&db->mu);
    st_cond_init(&db->bg_cv);
    st_cond_init(&db->work_cv);
    db->snapshots.next = db->snapshots.prev = &db->snapshots;
    return db;
}

int st_db_open(const struct strata_options *opt, const char *path, strata_db **out)
{
    return st_db_open_cf(opt, path, 0, NULL, NULL, NULL, out);
}

int st_db_open_cf(const struct strata_options *opt, const char *path, size_t n,
                  const char *const *names, const struct strata_options *const *cf_opts,
                  strata_cf **handles, strata_db **out)
{
    *out = NULL;
    int rc = st_options_validate(opt);
    if (rc) {
        return rc;
    }
    strata_db *db = db_alloc(opt, path);
    if (!db) {
        return st_err(STRATA_E_NOMEM, "out of memory opening %s", path);
    }
    if (db->opts.create_if_missing) {
        rc = st_env_create_dir(db->env, db->dbname);
    }
    rc = rc ? rc : lock_db(db);
    rc = rc ? rc : setup_cache(db);
    rc = rc ? rc : st_db_integrity_open(db, db_exists(db));
    rc = rc ? rc : check_existence(db);
    rc = rc ? rc : open_info_log(db);
    rc = rc ? rc : st_db_cf_open_all(db, n, names, cf_opts);
    if (!rc) {
        st_mutex_lock(&db->mu);
        rc = recover(db);
        rc = rc ? rc : st_db_cf_bind(db, n, names, cf_opts, handles);
        if (!rc) {
            st_db_delete_obsolete(db);
        }
        st_mutex_unlock(&db->mu);
    }
    rc = rc ? rc : st_db_bg_start(db);
    if (rc) {
        char msg[ST_ERRMSG_MAX];
        snprintf(msg, sizeof(msg), "%s", st_errmsg());
        st_db_close(db);
        return st_err_set(rc, msg);
    }
    st_log(db->log, "opened %s at sequence %llu", db->dbname, (unsigned long long)db->last_seq);
    write_options_file(db);
    st_mutex_lock(&db->mu);
    st_db_bg_schedule(db);
    st_mutex_unlock(&db->mu);
    *out = db;
    return 0;
}

int st_db_close(strata_db *db)
{
    if (db->txn_db_free) {
        db->txn_db_free(db->txn_db); /* no transaction may be alive (strata_close's REQUIRES) */
    }
    st_db_scrub_stop(db);
    st_db_bg_stop(db);
    st_mutex_lock(&db->mu);
    int rc = db->bg_error;
    char msg[ST_ERRMSG_MAX];
    snprintf(msg, sizeof(msg), "%s", db->bg_errmsg);
    int src = st_db_wal_close_all(db); /* earlier WALs first: the prefix property */
    rc = rc ? rc : src;
    for (int f = 0; f < db->ncfs; f++) {
        strata_cf *cf = db->cfs[f];
        if (cf->sv) {
            st_db_sv_release(db, cf->sv, 1);
            cf->sv = NULL;
        }
        if (cf->mem) {
            st_memtable_unref(cf->mem);
        }
        for (int i = 0; i < cf->nimm; i++) {
            st_memtable_unref(cf->imm[i]);
        }
    }
    st_mutex_unlock(&db->mu);
    st_db_cf_free_all(db);
    if (db->block_cache) {
        st_cache_unref(db->block_cache);
    }
    st_db_integrity_close(db);
    if (db->lock) {
        st_env_unlock_file(db->env, db->lock);
    }
    st_log(db->log, "closed");
    st_logger_close(db->log);
    st_batch_free(&db->group_batch);
    st_free(db->pending_outputs);
    st_cond_destroy(&db->bg_cv);
    st_cond_destroy(&db->work_cv);
    st_mutex_destroy(&db->mu);
    st_merge_op_unref(db->opts.merge_operator);
    st_compaction_filter_unref(db->opts.compaction_filter);
    st_free(db->dbname);
    st_free(db);
    return rc ? st_err_set(rc, msg) : 0;
}

int st_db_destroy(const struct strata_options *opt, const char *path)
{
    st_env *env = (opt && opt->env) ? opt->env : st_env_posix();
    char **names = NULL;
    int n = 0;
    if (st_env_list_dir(env, path, &names, &n)) {
        return 0; /* nothing to destroy */
    }
    char *lockname = st_filename(path, ST_FILE_LOCK, 0);
    st_filelock *lock = NULL;
    int rc = lockname ? st_env_lock_file(env, lockname, &lock) : STRATA_E_NOMEM;
    if (rc == STRATA_E_BUSY) {
        rc = st_err(STRATA_E_BUSY, "%s: cannot destroy an open database", path);
    }
    for (int i = 0; !rc && i < n; i++) {
        int type;
        uint64_t number;
        if (st_parse_filename(names[i], &type, &number) && type != ST_FILE_LOCK) {
            size_t len = strlen(path) + strlen(names[i]) + 2;
            char *full = st_malloc(len);
            if (!full) {
                rc = st_err(STRATA_E_NOMEM, "out of memory");
                break;
            }
            snprintf(full, len, "%s/%s", path, names[i]);
            int r = st_env_remove_file(env, full);
            rc = (r && r != STRATA_E_NOTFOUND) ? r : 0;
            st_free(full);
        }
    }
    if (lock) {
        st_env_unlock_file(env, lock);
        st_env_remove_file(env, lockname);
        if (!rc) {
            st_env_remove_dir(env, path); /* fails harmlessly if foreign files remain */
        }
    }
    st_free(lockname);
    st_env_free_names(names, n);
    return rc;
}
