/* db_recover.c — WAL replay at open.  Every log whose number is >= the MANIFEST's log number (or
 * equals its prev log number) is replayed in number order into memtables, which are written to
 * level-0 tables as they fill and at the end.  The record log reader drops a torn tail; corruption
 * in the middle of a log fails the open with file and offset unless skip_corrupt_wal_records is
 * set.  A record is a whole write batch, so a batch is applied entirely or not at all.
 *
 * Ordering across WALs (docs/FORMAT.md "WAL marker"): a WAL's first record may be a marker, a
 * batch with count 0 whose sequence P is 1 + the last sequence logged before the WAL was created.
 * Markers carry no data.  logged_end is 1 + the last sequence of the last batch replayed (a WAL
 * that yields only its marker sets it to P).  For every WAL after the first one, a marker with
 * P > logged_end (or with nothing replayed before it) means an earlier WAL lost its unsynced tail
 * while this one survived: to keep the recovered writes a prefix of the acknowledged ones, nothing
 * from this WAL or any later one is applied.  The caller's new WAL then gets a number above all of
 * them and the MANIFEST's log number moves to it, so they are never replayed again (and are
 * deleted as obsolete).  A WAL without a marker (written before markers existed, or empty) is
 * replayed without the check.  The check needs a known log number: with log number 0 (a new DB,
 * or strata_repair replaying every WAL, where flushed WALs leave gaps) it is not applied. */
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/filename.h"
#include "util/alloc.h"
#include "wal/log_reader.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Log numbers to replay, ascending. */
static int logs_to_replay(strata_db *db, uint64_t **logs, int *n)
{
    char **names = NULL;
    int count = 0;
    int rc = st_env_list_dir(db->env, db->dbname, &names, &count);
    if (rc) {
        return rc;
    }
    *logs = st_calloc((size_t)count + 1, sizeof(uint64_t));
    *n = 0;
    if (!*logs) {
        st_env_free_names(names, count);
        return st_err(STRATA_E_NOMEM, "out of memory listing %s", db->dbname);
    }
    uint64_t min_log = UINT64_MAX, prev_log = st_vset_prev_log_number(db->vs);
    for (int f = 0; f < db->ncfs; f++) {
        uint64_t l = st_vset_log_number(db->cfs[f]->vs);
        min_log = l < min_log ? l : min_log;
    }
    for (int i = 0; i < count; i++) {
        int type;
        uint64_t number;
        if (!st_parse_filename(names[i], &type, &number)) {
            continue;
        }
        if (type == ST_FILE_LOG && (number >= min_log || (prev_log && number == prev_log))) {
            (*logs)[(*n)++] = number;
        }
    }
    st_env_free_names(names, count);
    qsort(*logs, (size_t)*n, sizeof(uint64_t), cmp_u64);
    return 0;
}

/* Writes mem to a level-0 table of cf and records it in edit. REQUIRES mu (held throughout
 * open). */
static int flush_recovered(strata_db *db, strata_cf *cf, st_memtable *mem, st_version_edit *edit)
    ST_REQUIRES(db->mu)
{
    uint64_t number = st_vset_new_file_number(db->vs);
    st_file_meta *meta = NULL;
    int rc = st_db_write_level0_table(db, cf, mem, number, NULL, 0, &meta); /* no snapshots yet */
    if (!rc && meta) {
        rc = st_version_edit_add_file(edit, 0, meta);
        st_file_meta_unref(meta);
    }
    if (!rc) {
        st_log(db->log, "recovered writes flushed to table %llu", (unsigned long long)number);
    }
    return rc;
}

typedef struct replay_state {
    strata_db *db;
    st_version_edit *edits; /* per family (db->cfs order) */
    st_memtable **mems;     /* per family, NULL until it gets a write */
    uint64_t wal;           /* the WAL being replayed */
    int route_rc;           /* an error creating a memtable in route_op */
    strata_batch batch;
    uint64_t max_seq;
    int check;           /* apply the marker check to this WAL (not the first one replayed) */
    uint64_t logged_end; /* 1 + last sequence logged by the WALs replayed so far; 0: unknown */
    int lost;            /* this WAL's marker showed an earlier WAL's tail missing: stop */
} replay_state;

/* A marker (first record, count 0) names where the earlier WALs must end.  No data. */
static void replay_marker(replay_state *rs, uint64_t p, const char *fname)
{
    if (rs->check && (rs->logged_end == 0 || p > rs->logged_end)) {
        rs->lost = 1;
        st_log(rs->db->log,
               "%s: marker says earlier WALs reach sequence %llu but they end at %llu: an earlier "
               "WAL lost its unsynced tail while this one survived",
               fname, (unsigned long long)p - 1,
               (unsigned long long)(rs->logged_end ? rs->logged_end - 1 : 0));
    } else if (p > rs->logged_end) {
        rs->logged_end = p;
    }
}

/* The memtable an operation of family id goes to: none for a dropped family, or one whose MANIFEST
 * log number says this WAL's writes to it are already in its tables. */
static st_memtable *route_op(void *ctx, uint32_t id)
{
    replay_state *rs = ctx;
    strata_db *db = rs->db;
    for (int f = 0; f < db->ncfs; f++) {
        strata_cf *cf = db->cfs[f];
        if (cf->id != id) {
            continue;
        }
        if (cf->dropped || rs->wal < st_vset_log_number(cf->vs)) {
            return NULL;
        }
        if (!rs->mems[f]) {
            int rc = st_db_new_memtable(cf, &rs->mems[f]);
            if (rc) {
                rs->route_rc = rc;
                return NULL;
            }
        }
        return rs->mems[f];
    }
    return NULL;
}

static int replay_record(strata_db *db, replay_state *rs, st_slice rec, const char *fname,
                         uint64_t off, int first) ST_REQUIRES(db->mu)
{
    int rc = st_batch_set_contents(&rs->batch, rec);
    if (rc) {
        return st_err_context(rc, "%s: offset %llu", fname, (unsigned long long)off);
    }
    uint32_t count = st_batch_count(&rs->batch);
    if (count == 0) { /* a marker (only the first record of a WAL is one); never data */
        if (first) {
            replay_marker(rs, st_batch_seq(&rs->batch), fname);
        }
        return 0;
    }
    rs->route_rc = 0;
    rc = st_batch_insert_routed(&rs->batch, NULL, 0, route_op, rs);
    rc = rc ? rc : rs->route_rc;
    if (rc) {
        return rc == STRATA_E_NOMEM ? st_err(rc, "out of memory replaying %s", fname) : rc;
    }
    uint64_t last = st_batch_seq(&rs->batch) + count - 1;
    if (last > rs->max_seq) {
        rs->max_seq = last;
    }
    rs->logged_end = last + 1;
    for (int f = 0; f < db->ncfs && !rc; f++) {
        strata_cf *cf = db->cfs[f];
        if (rs->mems[f] && st_memtable_memory_usage(rs->mems[f]) > cf->opts.write_buffer_size) {
            rc = flush_recovered(db, cf, rs->mems[f], &rs->edits[f]);
            st_memtable_unref(rs->mems[f]);
            rs->mems[f] = NULL;
        }
    }
    return rc;
}

static int replay_log(strata_db *db, replay_state *rs, uint64_t number) ST_REQUIRES(db->mu)
{
    char *fname = st_filename(db->dbname, ST_FILE_LOG, number);
    if (!fname) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    st_sfile *f = NULL;
    st_log_reader *r = NULL;
    int rc = st_env_new_sequential(db->env, fname, &f);
    if (!rc) {
        /* closes f on failure */
        rc = st_log_reader_create(f, fname, db->opts.skip_corrupt_wal_records, &r);
    }
    if (!rc) {
        st_log_reader_set_integrity(r, db->integ, number, ST_CRYPT_FILE_WAL);
    }
    st_slice rec;
    uint64_t off;
    rs->wal = number;
    for (int first = 1; !rc && !rs->lost; first = 0) {
        int got = st_log_reader_read(r, &rec, &off);
        if (got <= 0) {
            rc = got;
            break;
        }
        rc = replay_record(db, rs, rec, fname, off, first);
        if (rc == STRATA_E_CORRUPTION && db->opts.skip_corrupt_wal_records) {
            st_log(db->log, "skipping corrupt batch: %s", st_errmsg());
            rc = 0;
        }
    }
    if (r) {
        if (st_log_reader_dropped(r) || st_log_reader_torn_tail(r)) {
            st_log(db->log, "%s: dropped %llu corrupt bytes, torn tail %d", fname,
                   (unsigned long long)st_log_reader_dropped(r), st_log_reader_torn_tail(r));
        }
        st_log_reader_close(r);
    }
    st_free(fname);
    return rc;
}

static int has_number(const uint64_t *v, int n, uint64_t x)
{
    for (int i = 0; i < n; i++) {
        if (v[i] == x) {
            return 1;
        }
    }
    return 0;
}

/* Every file the recovered version names must exist: tables, and the WAL at the log number (WALs
 * and compaction inputs are deleted only after a newer MANIFEST edit is durable, so a missing one
 * means that edit was lost — e.g. a damaged last MANIFEST record read as a torn tail — and going on
 * would silently roll the DB back). */
static int check_live_files(strata_db *db, char **names, int count) ST_REQUIRES(db->mu)
{
    uint64_t *tables = NULL, *present = st_calloc((size_t)count + 1, sizeof(uint64_t));
    int ntables = 0, npresent = 0, rc = present ? 0 : STRATA_E_NOMEM;
    uint64_t log = st_vset_min_log_to_keep(db->vs); /* deletion keeps it and every later WAL */
    int log_found = log == 0;
    for (int i = 0; !rc && i < count; i++) {
        int type;
        uint64_t number;
        if (st_parse_filename(names[i], &type, &number)) {
            if (type == ST_FILE_TABLE) {
                present[npresent++] = number;
            }
            log_found |= type == ST_FILE_LOG && number == log;
        }
    }
    for (int f = 0; f < db->ncfs && !rc; f++) {
        rc = st_vset_live_files(db->cfs[f]->vs, &tables, &ntables);
    }
    char *manifest = rc ? NULL : st_filename(db->dbname, ST_FILE_MANIFEST,
                                             st_vset_manifest_number(db->vs));
    rc = rc ? rc : manifest ? 0 : STRATA_E_NOMEM;
    for (int i = 0; !rc && i < ntables; i++) {
        if (!has_number(present, npresent, tables[i])) {
            rc = st_err(STRATA_E_CORRUPTION,
                        "%s: names table %06llu.sst, which is missing (a later record of this "
                        "MANIFEST is damaged or lost; strata_repair can rebuild it)",
                        manifest, (unsigned long long)tables[i]);
        }
    }
    if (!rc && !log_found) {
        rc = st_err(STRATA_E_CORRUPTION,
                    "%s: its log number names WAL %06llu.log, which is missing (a later record "
                    "of this MANIFEST is damaged or lost; strata_repair can rebuild it)",
                    manifest, (unsigned long long)log);
    }
    st_free(manifest);
    st_free(tables);
    st_free(present);
    return rc == STRATA_E_NOMEM ? st_err(rc, "out of memory") : rc;
}

int st_db_check_files(strata_db *db)
{
    char **names = NULL;
    int count = 0;
    int rc = st_env_list_dir(db->env, db->dbname, &names, &count);
    if (!rc) {
        rc = check_live_files(db, names, count);
        st_env_free_names(names, count);
    }
    return rc;
}

int st_db_recover_logs(strata_db *db, st_version_edit *edits, uint64_t *max_seq)
{
    uint64_t *logs = NULL;
    int n = 0;
    int rc = logs_to_replay(db, &logs, &n);
    if (rc) {
        return rc;
    }
    for (int k = 0; k < n; k++) {
        /* Before any flush_recovered takes a number: tables and the new WAL get larger ones. */
        st_vset_mark_file_number_used(db->vs, logs[k]);
    }
    replay_state rs = {.db = db, .edits = edits};
    rs.mems = st_calloc((size_t)db->ncfs, sizeof(*rs.mems));
    rc = rs.mems ? st_batch_init(&rs.batch) : STRATA_E_NOMEM;
    if (rc) {
        st_free(rs.mems);
        st_free(logs);
        return st_err(rc, "out of memory replaying WALs");
    }
    int i;
    for (i = 0; !rc && !rs.lost && i < n; i++) {
        st_log(db->log, "replaying WAL %llu", (unsigned long long)logs[i]);
        rs.check = i > 0 && st_vset_log_number(db->vs) != 0; /* (repair replays from 0) */
        rc = replay_log(db, &rs, logs[i]);
    }
    if (!rc && rs.lost) {
        st_log(db->log, "skipped %d WAL(s) from %llu on (writes not synced before a power cut); "
               "they will not be replayed again", n - (i - 1), (unsigned long long)logs[i - 1]);
    }
    for (int f = 0; f < db->ncfs; f++) {
        if (!rc && rs.mems[f] && st_memtable_num_entries(rs.mems[f]) > 0) {
            rc = flush_recovered(db, db->cfs[f], rs.mems[f], &edits[f]);
        }
        if (rs.mems[f]) {
            st_memtable_unref(rs.mems[f]);
        }
    }
    st_free(rs.mems);
    st_batch_free(&rs.batch);
    st_free(logs);
    *max_seq = rs.max_seq;
    return rc;
}
