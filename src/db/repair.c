/* repair.c — rebuilds a DB whose MANIFEST or CURRENT is lost or damaged, from the tables and WALs
 * that survive.
 *
 * 1. Every table is scanned in full.  A readable table is kept with its key and sequence range; a
 *    table that fails part-way is salvaged: the entries read before the first damaged block are
 *    written to a new table (entries after it in that table are lost too: the table iterator stops
 *    at the first error) and the damaged file is renamed to NNNNNN.sst.corrupt (kept for
 *    inspection, never deleted by strata).
 * 2. A new MANIFEST lists every kept table in level 0 (overlap is allowed there; compaction sorts
 *    it out) with the largest sequence and file number seen, and CURRENT is pointed at it.
 * 3. The DB is opened normally with skip_corrupt_wal_records, which replays the WALs into level-0
 *    tables.  When the old MANIFEST was still readable, only WALs at or after its log number are
 *    replayed, so WALs whose writes were already flushed (and perhaps deleted by compaction since)
 *    cannot resurrect data.  Without it every WAL is replayed; entries keep their sequence numbers,
 *    so a replayed old write never shadows a newer one. */
#include <string.h>

#include "db/db_impl.h"
#include "db/filename.h"
#include "table/table_reader.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "wal/log_writer.h"

typedef struct repair {
    st_env *env;
    const char *dbname;
    const st_comparator *ucmp;
    const struct strata_options *opt;
    uint64_t next_number;
    uint64_t max_seq;
    uint64_t min_log; /* WALs before this were flushed (from the old MANIFEST), else 0 */
    st_version_edit edit;
    int kept, salvaged, lost;
} repair;

/* Scan state of one table: key range, sequence range and (for salvage) the entries read. */
typedef struct table_scan {
    st_buf smallest, largest;
    uint64_t smallest_seq, largest_seq, entries, deletions;
} table_scan;

static int scan_note(table_scan *ts, st_slice key)
{
    st_slice ukey;
    uint64_t seq;
    int type;
    if (st_ikey_parse(key, &ukey, &seq, &type)) {
        return STRATA_E_CORRUPTION;
    }
    if (ts->entries == 0 && st_buf_assign(&ts->smallest, key.data, key.size)) {
        return STRATA_E_NOMEM;
    }
    if (st_buf_assign(&ts->largest, key.data, key.size)) {
        return STRATA_E_NOMEM;
    }
    ts->smallest_seq = ts->entries == 0 || seq < ts->smallest_seq ? seq : ts->smallest_seq;
    ts->largest_seq = seq > ts->largest_seq ? seq : ts->largest_seq;
    ts->entries++;
    ts->deletions += type == ST_TYPE_DELETION;
    return 0;
}

/* Writes entries of it up to (not including) the first error into a new table. */
static int salvage_table(repair *r, st_table *t, uint64_t number, table_scan *ts)
{
    char *fname = st_filename(r->dbname, ST_FILE_TABLE, number);
    st_wfile *f = NULL;
    st_table_builder *b = NULL;
    st_table_options to = {r->ucmp, NULL, r->opt->block_size, r->opt->block_restart_interval,
                           STRATA_COMPRESSION_NONE, 0, r->opt->checksum, 0, NULL, 0};
    int rc = fname ? st_env_new_writable(r->env, fname, &f) : STRATA_E_NOMEM;
    rc = rc ? rc : st_table_builder_create(&to, f, &b);
    st_read_flags rf = {1, 0};
    st_iter *it = rc ? NULL : st_table_iter(t, &rf);
    st_buf_clear(&ts->smallest); /* rescan from the start; keep the buffers (freed by caller) */
    st_buf_clear(&ts->largest);
    ts->smallest_seq = ts->largest_seq = ts->entries = ts->deletions = 0;
    for (st_iter_seek_to_first(it); !rc && it && st_iter_valid(it); st_iter_next(it)) {
        rc = scan_note(ts, st_iter_key(it));
        rc = rc ? rc : st_table_builder_add(b, st_iter_key(it), st_iter_value(it));
    }
    st_iter_destroy(it);
    if (!rc && ts->entries > 0) {
        rc = st_table_builder_finish(b);
        rc = rc ? rc : st_wfile_sync(f);
    }
    if (f) {
        int crc = st_wfile_close(f);
        rc = rc ? rc : crc;
    }
    if (rc || ts->entries == 0) {
        st_env_remove_file(r->env, fname);
    }
    st_table_builder_destroy(b);
    st_free(fname);
    return rc;
}

static int keep_table(repair *r, uint64_t number, uint64_t size, table_scan *ts)
{
    st_file_meta *m = st_file_meta_create(number, size, st_buf_slice(&ts->smallest),
                                          st_buf_slice(&ts->largest));
    if (!m) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    m->smallest_seq = ts->smallest_seq;
    m->largest_seq = ts->largest_seq;
    m->num_entries = ts->entries;
    m->num_deletions = ts->deletions;
    int rc = st_version_edit_add_file(&r->edit, 0, m);
    st_file_meta_unref(m);
    if (ts->largest_seq > r->max_seq) {
        r->max_seq = ts->largest_seq;
    }
    return rc;
}

/* Full scan of one table; returns 0 (clean), 1 (damaged after some entries), or an error. */
static int scan_table(st_table *t, table_scan *ts)
{
    st_read_flags rf = {1, 0};
    st_iter *it = st_table_iter(t, &rf);
    if (!it) {
        return STRATA_E_NOMEM;
    }
    int rc = 0;
    for (st_iter_seek_to_first(it); !rc && st_iter_valid(it); st_iter_next(it)) {
        rc = scan_note(ts, st_iter_key(it));
    }
    rc = rc ? rc : st_iter_status(it);
    st_iter_destroy(it);
    return rc == STRATA_E_NOMEM ? rc : rc ? 1 : 0;
}

static void set_aside(repair *r, const char *path)
{
    size_t n = strlen(path) + 9;
    char *to = st_malloc(n);
    if (to) {
        snprintf(to, n, "%s.corrupt", path);
        st_env_rename_file(r->env, path, to);
        st_free(to);
    }
}

static int repair_table(repair *r, uint64_t number)
{
    char *path = st_filename(r->dbname, ST_FILE_TABLE, number);
    uint64_t size = 0;
    st_rfile *f = NULL;
    st_table *t = NULL;
    table_scan ts;
    memset(&ts, 0, sizeof(ts));
    st_table_read_options ro = {r->ucmp, NULL, NULL, path, 0, 0, NULL, 0};
    int rc = path ? st_env_file_size(r->env, path, &size) : STRATA_E_NOMEM;
    rc = rc ? rc : st_env_new_random(r->env, path, &f);
    if (!rc && (rc = st_table_open(&ro, f, size, &t)) != 0) {
        st_rfile_close(f);
    }
    int scan = rc ? 1 : scan_table(t, &ts);
    if (scan == 0 && ts.entries > 0) {
        rc = keep_table(r, number, size, &ts);
        r->kept++;
    } else if (scan == 1) {
        uint64_t fresh = r->next_number++;
        int salvage = t ? salvage_table(r, t, fresh, &ts) : 0;
        if (!salvage && ts.entries > 0) {
            char *fn = st_filename(r->dbname, ST_FILE_TABLE, fresh);
            rc = fn ? st_env_file_size(r->env, fn, &size) : STRATA_E_NOMEM;
            rc = rc ? rc : keep_table(r, fresh, size, &ts);
            st_free(fn);
            r->salvaged++;
        } else {
            r->lost++;
            rc = 0;
        }
        set_aside(r, path);
    } else {
        rc = scan; /* out of memory, or an empty table: nothing to keep */
    }
    st_table_close(t);
    st_buf_free(&ts.smallest);
    st_buf_free(&ts.largest);
    st_free(path);
    return rc < 0 ? rc : 0;
}

/* The old MANIFEST's log number, if it can still be read (0 otherwise). */
static uint64_t readable_log_number(repair *r)
{
    st_vset_options vo = {.env = r->env, .dbname = r->dbname, .ucmp = r->ucmp, .num_levels = 7,
                          .max_bytes_for_level_base = 1 << 20, .level_multiplier = 10,
                          .target_file_size = 1 << 20, .l0_compaction_trigger = 4};
    st_vset *vs = NULL;
    uint64_t log = 0;
    if (st_vset_create(&vo, NULL, &vs) == 0) {
        if (st_vset_recover(vs) == 0) {
            log = st_vset_log_number(vs);
        }
        st_vset_destroy(vs);
    }
    return log;
}

static int write_manifest(repair *r)
{
    uint64_t number = r->next_number++;
    st_version_edit_set_log_number(&r->edit, r->min_log);
    st_version_edit_set_prev_log_number(&r->edit, 0);
    st_version_edit_set_next_file(&r->edit, r->next_number);
    st_version_edit_set_last_seq(&r->edit, r->max_seq);
    st_buf rec = ST_BUF_INIT;
    char *fname = st_filename(r->dbname, ST_FILE_MANIFEST, number);
    st_wfile *f = NULL;
    st_log_writer *w = NULL;
    int rc = fname ? st_version_edit_encode(&r->edit, &rec) : STRATA_E_NOMEM;
    rc = rc ? rc : st_env_new_writable(r->env, fname, &f);
    rc = rc ? rc : st_log_writer_create(f, 0, &w); /* closes f on failure */
    rc = rc ? rc : st_log_writer_add(w, st_buf_slice(&rec));
    rc = rc ? rc : st_log_writer_sync(w);
    int crc = st_log_writer_close(w);
    rc = rc ? rc : crc;
    rc = rc ? rc : st_env_sync_dir(r->env, r->dbname);
    rc = rc ? rc : st_set_current_file(r->env, r->dbname, number);
    st_buf_free(&rec);
    st_free(fname);
    return rc;
}

/* Lists tables and the largest file number; scans and records the tables. */
static int rebuild_tables(repair *r)
{
    char **names = NULL;
    int n = 0;
    int rc = st_env_list_dir(r->env, r->dbname, &names, &n);
    if (rc) {
        return rc;
    }
    for (int i = 0; i < n; i++) {
        int type;
        uint64_t number;
        if (st_parse_filename(names[i], &type, &number) && number >= r->next_number) {
            r->next_number = number + 1;
        }
    }
    for (int i = 0; !rc && i < n; i++) {
        int type;
        uint64_t number;
        if (st_parse_filename(names[i], &type, &number) && type == ST_FILE_TABLE) {
            rc = repair_table(r, number);
        }
    }
    st_env_free_names(names, n);
    return rc;
}

int st_db_repair(const struct strata_options *opt, const char *path)
{
    repair r;
    memset(&r, 0, sizeof(r));
    r.env = opt->env ? opt->env : st_env_posix();
    r.dbname = path;
    r.ucmp = opt->comparator ? opt->comparator : st_comparator_bytewise();
    r.opt = opt;
    r.next_number = 2;
    st_version_edit_init(&r.edit);
    char *lockname = st_filename(path, ST_FILE_LOCK, 0);
    st_filelock *lock = NULL;
    int rc = lockname ? st_env_lock_file(r.env, lockname, &lock) : STRATA_E_NOMEM;
    if (rc == STRATA_E_BUSY) {
        rc = st_err(STRATA_E_BUSY, "%s: cannot repair an open database", path);
    }
    if (!rc) {
        r.min_log = readable_log_number(&r);
        char *wal = st_filename(path, ST_FILE_LOG, r.min_log);
        if (!wal || !st_env_exists(r.env, wal)) {
            r.min_log = 0; /* its WAL is gone: nothing to guard, and open requires it to exist */
        }
        st_free(wal);
        rc = st_version_edit_set_comparator(&r.edit, st_comparator_name(r.ucmp));
    }
    rc = rc ? rc : rebuild_tables(&r);
    rc = rc ? rc : write_manifest(&r);
    if (lock) {
        st_env_unlock_file(r.env, lock);
    }
    st_free(lockname);
    st_version_edit_clear(&r.edit);
    if (rc) {
        return rc;
    }
    /* A normal open replays the WALs (skipping damaged records) and records the result. */
    struct strata_options o = *opt;
    o.create_if_missing = 0;
    o.error_if_exists = 0;
    o.skip_corrupt_wal_records = 1;
    strata_db *db = NULL;
    rc = st_db_open(&o, path, &db);
    if (!rc) {
        rc = st_db_close(db);
    }
    return rc;
}
