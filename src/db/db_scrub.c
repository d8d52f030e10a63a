/* db_scrub.c — verify, patrol scrub and rekey: the integrity maintenance of a live DB.
 *
 * Verify reads every block of every table of the current version (pinned, so compactions may run
 * meanwhile but its files stay) through the table cache, healing what parity can heal — each heal
 * asks for the table to be rewritten — and, for logs, every record of the live MANIFEST and
 * WALs.  Scrub is the same table pass on a thread of its own, throttled to a byte rate.  Rekey
 * moves every live file onto the key provider's current key: a memtable switch (new WAL), a full
 * compaction (new tables), a new MANIFEST and a new IDENTITY. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/filename.h"
#include "db/identity.h"
#include "table/table_reader.h"
#include "util/alloc.h"
#include "wal/log_reader.h"

#define MAX_DETAIL_LINES 1000

typedef struct check_ctx {
    strata_db *db;
    st_table_cache *tc; /* the family whose tables are being checked */
    strata_integrity_report *rep;
    st_buf detail;
    int lines;
    const char *fname;
    int first_error;
    char first_msg[ST_ERRMSG_MAX];
    uint64_t rate;       /* bytes/s, 0 = unthrottled */
    uint64_t start_us;
    uint64_t bytes;
    int scrub;           /* counts into the scrub statistics */
} check_ctx;

static void note(check_ctx *c, uint64_t offset, const char *what)
{
    if (c->lines++ >= MAX_DETAIL_LINES) {
        return;
    }
    char line[ST_ERRMSG_MAX + 128];
    int n = snprintf(line, sizeof(line), "%s: offset %" PRIu64 ": %s\n", c->fname, offset, what);
    st_buf_append(&c->detail, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void count_error(check_ctx *c, int status, uint64_t offset)
{
    c->rep->blocks_unrecoverable++;
    if (c->scrub) {
        atomic_fetch_add(&c->db->scrub.unrecoverable, 1);
    }
    if (!c->first_error) {
        c->first_error = status;
        snprintf(c->first_msg, sizeof(c->first_msg), "%s", st_errmsg());
    }
    note(c, offset, st_errmsg());
}

/* st_table_scrub's per-block report. */
static int on_block(void *arg, uint64_t offset, int status)
{
    check_ctx *c = arg;
    c->rep->blocks_checked++;
    if (c->scrub) {
        atomic_fetch_add(&c->db->scrub.blocks, 1);
    }
    if (status == 1) {
        c->rep->blocks_healed++;
        if (c->scrub) {
            atomic_fetch_add(&c->db->scrub.healed, 1);
        }
        note(c, offset, "healed from parity (the table is rewritten)");
    } else if (status < 0) {
        count_error(c, status, offset);
    }
    return atomic_load(&c->db->shutting_down) || atomic_load(&c->db->scrub.stop) ? 1 : 0;
}

/* Sleeps as long as the rate asks for after c->bytes were read. */
static void throttle(check_ctx *c)
{
    if (!c->rate) {
        return;
    }
    uint64_t due = c->start_us + c->bytes * 1000000 / c->rate;
    uint64_t now = st_env_now_micros(c->db->env);
    if (due > now) {
        uint64_t wait = due - now;
        st_env_sleep_micros(c->db->env, wait > 200000 ? 200000 : wait); /* stay responsive */
    }
}

static int check_table(check_ctx *c, uint64_t number, uint64_t size)
{
    char *fname = st_filename(c->db->dbname, ST_FILE_TABLE, number);
    st_table *t = NULL;
    st_pin pin = {0};
    if (!fname) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    c->fname = fname;
    c->rep->files_checked++;
    int rc = st_table_cache_find(c->tc, number, size, &t, &pin);
    if (rc == STRATA_E_NOMEM) {
        st_free(fname);
        return rc;
    }
    if (rc) {
        count_error(c, rc, 0); /* the table cannot even be opened */
    } else {
        uint64_t before = c->bytes;
        rc = st_table_scrub(t, on_block, c, &c->bytes);
        st_pin_release(&pin);
        if (c->scrub) {
            atomic_fetch_add(&c->db->scrub.bytes, c->bytes - before);
        }
        throttle(c);
    }
    st_free(fname);
    return rc > 0 ? 1 : 0; /* > 0: stopped */
}

typedef struct file_list {
    uint64_t *numbers, *sizes;
    int n;
} file_list;

/* The tables of cf's current version; the version stays referenced (*v) so they are not
 * deleted.  *v NULL: the family was dropped. */
static int list_tables(strata_db *db, strata_cf *cf, file_list *fl, st_version **v)
{
    st_mutex_lock(&db->mu);
    if (cf->dropped) {
        *v = NULL;
        st_mutex_unlock(&db->mu);
        return 0;
    }
    *v = st_vset_current(cf->vs);
    int total = 0;
    for (int l = 0; l < (*v)->num_levels; l++) {
        total += (*v)->nfiles[l];
    }
    fl->numbers = st_calloc((size_t)total + 1, sizeof(uint64_t));
    fl->sizes = st_calloc((size_t)total + 1, sizeof(uint64_t));
    fl->n = 0;
    for (int l = 0; fl->numbers && fl->sizes && l < (*v)->num_levels; l++) {
        for (int i = 0; i < (*v)->nfiles[l]; i++) {
            fl->numbers[fl->n] = (*v)->files[l][i]->number;
            fl->sizes[fl->n++] = (*v)->files[l][i]->file_size;
        }
    }
    st_mutex_unlock(&db->mu);
    return fl->numbers && fl->sizes ? 0 : st_err(STRATA_E_NOMEM, "out of memory");
}

static int check_family_tables(check_ctx *c, strata_cf *cf)
{
    file_list fl = {NULL, NULL, 0};
    st_version *v = NULL;
    int rc = list_tables(c->db, cf, &fl, &v);
    c->tc = cf->tc;
    for (int i = 0; !rc && v && i < fl.n; i++) {
        rc = check_table(c, fl.numbers[i], fl.sizes[i]);
    }
    if (v) {
        st_mutex_lock(&c->db->mu);
        st_version_unref(v);
        st_mutex_unlock(&c->db->mu);
    }
    st_free(fl.numbers);
    st_free(fl.sizes);
    return rc;
}

/* Every family's tables. */
static int check_tables(check_ctx *c)
{
    int rc = 0;
    for (int f = 0; !rc && f < st_db_cf_count(c->db); f++) {
        rc = check_family_tables(c, c->db->cfs[f]);
    }
    return rc < 0 ? rc : 0;
}

/* Reads every record of one log. */
static int check_log(check_ctx *c, int type, uint64_t number, int kind)
{
    char *fname = st_filename(c->db->dbname, type, number);
    st_sfile *f = NULL;
    st_log_reader *r = NULL;
    if (!fname) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    c->fname = fname;
    c->rep->files_checked++;
    int rc = st_env_new_sequential(c->db->env, fname, &f);
    rc = rc ? rc : st_log_reader_create(f, fname, 0, &r);
    if (!rc) {
        st_log_reader_set_integrity(r, c->db->integ, number, kind);
    }
    st_slice rec;
    uint64_t off = 0;
    int got;
    while (!rc && (got = st_log_reader_read(r, &rec, &off)) > 0) {
        c->rep->blocks_checked++;
    }
    if (!rc && got < 0) {
        count_error(c, got, off);
    } else if (rc && rc != STRATA_E_NOTFOUND) { /* a WAL may be deleted meanwhile */
        count_error(c, rc, 0);
    }
    st_log_reader_close(r);
    st_free(fname);
    return rc == STRATA_E_NOMEM ? rc : 0;
}

static int check_logs(check_ctx *c)
{
    st_mutex_lock(&c->db->mu);
    uint64_t manifest = st_vset_manifest_number(c->db->vs);
    uint64_t min_log = st_db_min_log_needed(c->db);
    st_mutex_unlock(&c->db->mu);
    int rc = check_log(c, ST_FILE_MANIFEST, manifest, ST_CRYPT_FILE_MANIFEST);
    char **names = NULL;
    int n = 0;
    if (!rc && st_env_list_dir(c->db->env, c->db->dbname, &names, &n) == 0) {
        for (int i = 0; !rc && i < n; i++) {
            int type;
            uint64_t number;
            if (st_parse_filename(names[i], &type, &number) && type == ST_FILE_LOG &&
                number >= min_log) {
                rc = check_log(c, ST_FILE_LOG, number, ST_CRYPT_FILE_WAL);
            }
        }
        st_env_free_names(names, n);
    }
    return rc;
}

static int run_check(check_ctx *c, int flags)
{
    c->start_us = st_env_now_micros(c->db->env);
    int rc = (flags & STRATA_VERIFY_TABLES) ? check_tables(c) : 0;
    if (!rc && (flags & STRATA_VERIFY_LOGS)) {
        rc = check_logs(c);
    }
    if (!rc && st_buf_put_u8(&c->detail, '\0')) {
        rc = st_err(STRATA_E_NOMEM, "out of memory");
    }
    if (!rc) {
        c->rep->detail = st_buf_release(&c->detail, NULL);
    }
    st_buf_free(&c->detail);
    if (!rc && c->first_error) {
        rc = st_err_set(c->first_error, c->first_msg);
    }
    return rc;
}

int st_db_verify(strata_db *db, int flags, strata_integrity_report *rep)
{
    strata_integrity_report local;
    memset(&local, 0, sizeof(local));
    check_ctx c = {.db = db, .rep = rep ? rep : &local, .detail = ST_BUF_INIT};
    if (rep) {
        memset(rep, 0, sizeof(*rep));
    }
    int rc = run_check(&c, flags ? flags : STRATA_VERIFY_TABLES | STRATA_VERIFY_LOGS);
    st_free(local.detail);
    return rc;
}

/* ---- patrol scrub ------------------------------------------------------------------------------ */

static void scrub_main(void *arg)
{
    strata_db *db = arg;
    strata_integrity_report rep;
    memset(&rep, 0, sizeof(rep));
    check_ctx c = {.db = db, .rep = &rep, .detail = ST_BUF_INIT, .scrub = 1,
                   .rate = db->scrub.rate};
    int rc = run_check(&c, STRATA_VERIFY_TABLES);
    st_log(db->log, "scrub pass: %" PRIu64 " blocks, %" PRIu64 " healed, %" PRIu64
           " unrecoverable%s", rep.blocks_checked, rep.blocks_healed, rep.blocks_unrecoverable,
           rc ? " (first error logged below)" : "");
    if (rc) {
        st_log(db->log, "scrub: %s", st_errmsg());
    }
    st_free(rep.detail);
    atomic_store(&db->scrub.last_status, rc);
    atomic_fetch_add(&db->scrub.passes, 1);
    atomic_store(&db->scrub.running, 0);
}

int st_db_scrub(strata_db *db, uint64_t rate)
{
    st_mutex_lock(&db->mu);
    int rc = 0;
    if (atomic_load(&db->scrub.running)) {
        rc = st_err(STRATA_E_BUSY, "a scrub is already running");
    } else {
        if (db->scrub.thread) { /* a finished pass not yet joined */
            st_env_thread_join(db->env, db->scrub.thread);
            db->scrub.thread = NULL;
        }
        db->scrub.rate = rate;
        atomic_store(&db->scrub.stop, 0);
        atomic_store(&db->scrub.running, 1);
        rc = st_env_thread_start(db->env, scrub_main, db, &db->scrub.thread);
        if (rc) {
            atomic_store(&db->scrub.running, 0);
            db->scrub.thread = NULL;
        }
    }
    st_mutex_unlock(&db->mu);
    return rc;
}

static int rewrites_pending(strata_db *db) ST_REQUIRES(db->mu)
{
    for (int f = 0; f < db->ncfs; f++) {
        if (!db->cfs[f]->dropped && st_vset_rewrites_pending(db->cfs[f]->vs)) {
            return 1;
        }
    }
    return 0;
}

int st_db_scrub_wait(strata_db *db)
{
    st_mutex_lock(&db->mu);
    st_thread *t = db->scrub.thread;
    db->scrub.thread = NULL;
    st_mutex_unlock(&db->mu);
    if (t) {
        st_env_thread_join(db->env, t);
    }
    /* The heals are durable once their tables are rewritten: wait for those compactions. */
    st_mutex_lock(&db->mu);
    while ((rewrites_pending(db) || db->running_compactions) && !db->bg_error &&
           !atomic_load(&db->shutting_down)) {
        st_db_bg_schedule(db);
        st_cond_timedwait_micros(&db->bg_cv, &db->mu, 100000);
    }
    st_mutex_unlock(&db->mu);
    int rc = atomic_load(&db->scrub.last_status);
    return rc ? st_err(rc, "the last scrub found damage beyond repair (see the info LOG)") : 0;
}

void st_db_scrub_stop(strata_db *db)
{
    atomic_store(&db->scrub.stop, 1);
    if (db->scrub.thread) {
        st_env_thread_join(db->env, db->scrub.thread);
        db->scrub.thread = NULL;
    }
}

int st_db_scrub_property(strata_db *db, const char *name, uint64_t *value)
{
    const struct {
        const char *name;
        atomic_uint_fast64_t *v;
    } props[] = {{"passes", &db->scrub.passes}, {"bytes", &db->scrub.bytes},
                 {"blocks", &db->scrub.blocks}, {"healed", &db->scrub.healed},
                 {"unrecoverable", &db->scrub.unrecoverable}};
    if (!strcmp(name, "running")) {
        *value = (uint64_t)atomic_load(&db->scrub.running);
        return 0;
    }
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (!strcmp(name, props[i].name)) {
            *value = atomic_load(props[i].v);
            return 0;
        }
    }
    return STRATA_E_NOTFOUND;
}

/* ---- rekey --------------------------------------------------------------------------------------- */

/* A new MANIFEST under the current key (an edit that changes nothing else). */
static int rewrite_manifest(strata_db *db)
{
    st_version_edit edit;
    st_version_edit_init(&edit);
    st_mutex_lock(&db->mu);
    st_version_edit_set_log_number(&edit, st_vset_log_number(db->vs));
    st_version_edit_set_prev_log_number(&edit, 0);
    st_vset_force_new_manifest(db->vs);
    int rc = st_vset_log_and_apply(db->vs, &edit, &db->mu);
    if (!rc) {
        st_db_delete_obsolete(db);
    }
    st_mutex_unlock(&db->mu);
    st_version_edit_clear(&edit);
    return rc;
}

int st_db_rekey(strata_db *db)
{
    st_integrity *in = db->integ;
    if (!in->encrypt) {
        return st_err(STRATA_E_NOTSUP, "rekey: the database is not encrypted");
    }
    st_mutex_lock(&db->mu);
    db->rotate_wal = 1; /* a new WAL even if the memtable is empty */
    st_mutex_unlock(&db->mu);
    int rc = st_db_flush(db, NULL, 1); /* the WALs of older keys become obsolete */
    for (int f = 0; !rc; f++) { /* every family's tables rewritten */
        st_mutex_lock(&db->mu);
        strata_cf *cf = f < db->ncfs ? db->cfs[f] : NULL;
        int skip = cf && cf->dropped;
        st_mutex_unlock(&db->mu);
        if (!cf) {
            break;
        }
        rc = skip ? 0 : st_db_compact_range(db, cf, NULL, NULL);
    }
    rc = rc ? rc : rewrite_manifest(db);
    if (!rc) {
        /* Every live file is now encrypted under the current key. */
        st_identity id;
        memcpy(id.db_id, in->db_id, ST_DB_ID_LEN);
        id.encrypted = 1;
        id.encrypted_since = 0;
        rc = st_identity_write(db->env, db->dbname, in->kp, &id);
        if (!rc) {
            in->encrypted_since = 0;
            st_log(db->log, "rekeyed: every live file uses key id %" PRIu32, id.key_id);
        }
    }
    return rc;
}
