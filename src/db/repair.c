/* repair.c — rebuilds a DB whose MANIFEST or CURRENT is lost or damaged, from the tables and WALs
 * that survive (strata_repair, strata_repair_report).
 *
 * 1. Every table is scanned block by block (table/table_scan.h): a damaged block is skipped and
 *    recorded, and the blocks after it are still read.  Each damaged range becomes a fence
 *    (db/damage.h): the entries it lost are unknown, any of them may have been a deletion.
 * 2. A table that is intact and overlaps no fence is kept as it is.  Any other table is rewritten
 *    to a new table holding its readable entries minus those a fence covers (entries that a
 *    deletion lost in a damaged range could have shadowed — in this table or any other).  The
 *    original is renamed NNNNNN.sst.corrupt when it was damaged, NNNNNN.sst.replaced when only
 *    the fences changed it (kept for inspection, never deleted by strata).
 * 3. WALs: when the old MANIFEST is still readable only WALs at or after its log number are
 *    considered (older ones were flushed, and perhaps their keys deleted and compacted away
 *    since); otherwise every WAL.  Without fences they are replayed by the normal open (with
 *    skip_corrupt_wal_records), after a read-only pass that reports their damaged records.  With
 *    fences, repair replays them itself, dropping what a fence covers, into one level-0 table, and
 *    points the MANIFEST at a new empty WAL so open replays none of them again.
 * 4. A new MANIFEST lists every kept table in level 0 (overlap is allowed there; compaction sorts
 *    it out) with the largest sequence and file number seen, CURRENT is pointed at it, and the DB
 *    is opened and closed once, which replays the WALs and writes the report to the info LOG. */
#include <inttypes.h>
#include <string.h>

#include "db/damage.h"
#include "db/db_impl.h"
#include "db/filename.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/range_del.h"
#include "wal/log_writer.h"

/* Key and sequence ranges of the entries of one table. */
typedef struct tstats {
    st_buf smallest, largest;
    uint64_t smallest_seq, largest_seq, entries, deletions;
    uint64_t range_dels; /* range tombstones written to (or kept in) the table */
} tstats;

typedef struct rtable {
    uint64_t number, size;
    int damaged;
    tstats st;
    st_rdel_list *rdels; /* the table's range tombstones, NULL: none (or unreadable) */
} rtable;

typedef struct repair {
    st_env *env;
    const char *dbname;
    const st_comparator *ucmp;
    const struct strata_options *opt;
    st_integrity *integ;   /* keys, the encryption rule and parity for what repair writes */
    uint64_t next_number;
    uint64_t max_seq;
    uint64_t min_log;      /* WALs before this were flushed (from the old MANIFEST), else 0 */
    uint64_t log_number;   /* for the new MANIFEST */
    st_old_manifest old;
    st_version_edit edit;
    st_fences fences;
    st_dreport rep;        /* the report: damaged ranges */
    st_dreport actions;    /* for the info LOG: what was done with each file */
    rtable *tables;
    int ntables;
} repair;

static int stats_note(tstats *ts, st_slice key)
{
    st_slice ukey;
    uint64_t seq;
    int type;
    if (st_ikey_parse(key, &ukey, &seq, &type)) {
        return STRATA_E_CORRUPTION;
    }
    if (type == ST_TYPE_RANGE_DEL) {
        return 0; /* a range-deletion block scanned as data (see build_table): not an entry */
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
    ts->deletions += st_type_is_deletion(type);
    return 0;
}

/* Widens ts over the range tombstones of l: from (start, newest seq) to the sentinel (end, max
 * seq), as compaction bounds its tables. */
static int stats_note_rdels(const st_comparator *ucmp, tstats *ts, const st_rdel_list *l)
{
    st_buf k = ST_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < st_rdel_list_count(l); i++) {
        const uint64_t *seqs = st_rdel_list_seqs(l, i);
        size_t n = st_rdel_list_nseqs(l, i);
        for (int side = 0; !rc && side < 2; side++) {
            st_buf_clear(&k);
            rc = side ? st_ikey_append(&k, st_rdel_list_end(l, i), ST_MAX_SEQ, ST_TYPE_RANGE_DEL)
                      : st_ikey_append(&k, st_rdel_list_start(l, i), seqs[0], ST_TYPE_RANGE_DEL);
            st_buf *b = side ? &ts->largest : &ts->smallest;
            int empty = ts->entries == 0 && ts->range_dels == 0;
            int c = empty ? 0 : st_ikey_cmp(ucmp, st_buf_slice(&k), st_buf_slice(b));
            if (!rc && (empty || (side ? c > 0 : c < 0)) && st_buf_assign(b, k.data, k.len)) {
                rc = STRATA_E_NOMEM;
            }
        }
        uint64_t lo = seqs[n - 1], hi = seqs[0];
        int empty = ts->entries == 0 && ts->range_dels == 0;
        ts->smallest_seq = empty || lo < ts->smallest_seq ? lo : ts->smallest_seq;
        ts->largest_seq = hi > ts->largest_seq ? hi : ts->largest_seq;
        ts->range_dels += n;
    }
    st_buf_free(&k);
    return rc ? st_err(rc, "out of memory") : 0;
}

/* The range tombstones of table number (NULL: none, or unreadable, which the report says). */
static st_rdel_list *load_range_dels(repair *r, uint64_t number, uint64_t size)
{
    st_rdel_list *l = NULL;
    if (st_damage_load_range_dels(r->env, r->dbname, r->ucmp, r->integ, number, size, &l)) {
        st_dreport_line(&r->actions, "%06" PRIu64 ".sst: its range tombstones could not be "
                        "read; keys they deleted may reappear", number);
    }
    return l;
}

static void stats_free(tstats *ts)
{
    st_buf_free(&ts->smallest);
    st_buf_free(&ts->largest);
}

static int keep_table(repair *r, uint64_t number, uint64_t size, const tstats *ts)
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
    m->num_range_dels = ts->range_dels;
    int rc = st_version_edit_add_file(&r->edit, 0, m);
    st_file_meta_unref(m);
    if (ts->largest_seq > r->max_seq) {
        r->max_seq = ts->largest_seq;
    }
    r->rep.counts.entries_recovered += ts->entries;
    return rc;
}

static void set_aside(repair *r, uint64_t number, const char *suffix)
{
    char *path = st_filename(r->dbname, ST_FILE_TABLE, number);
    size_t n = path ? strlen(path) + strlen(suffix) + 1 : 0;
    char *to = path ? st_malloc(n) : NULL;
    if (to) {
        snprintf(to, n, "%s%s", path, suffix);
        st_env_rename_file(r->env, path, to);
    }
    st_free(to);
    st_free(path);
}

/* ---- pass 1: scan every table --------------------------------------------------------------- */

static int scan_one(repair *r, rtable *t)
{
    st_table_scan *s = NULL;
    int rc = st_damage_scan_open(r->env, r->dbname, r->ucmp, r->integ, t->number, NULL, &t->size, &s);
    if (rc) {
        return rc;
    }
    st_slice k, v;
    while ((rc = st_table_scan_next(s, &k, &v)) == 1) {
        rc = stats_note(&t->st, k);
        if (rc) {
            break;
        }
    }
    const st_table_props *p = st_table_scan_props(s);
    if (!rc && p && p->num_range_deletions) {
        t->rdels = load_range_dels(r, t->number, t->size);
        rc = t->rdels ? stats_note_rdels(r->ucmp, &t->st, t->rdels) : 0;
    }
    if (!rc) {
        t->damaged = st_table_scan_num_damage(s) > 0 || st_table_scan_num_meta_damage(s) > 0;
        rc = st_damage_fence_table(s, 0, t->number, &r->old, &r->fences);
        st_damage_report_table(s, t->number, &r->old, &r->rep);
    }
    st_table_scan_close(s);
    return rc;
}

static int scan_tables(repair *r, const uint64_t *numbers, int n)
{
    r->tables = st_calloc((size_t)n + 1, sizeof(*r->tables));
    if (!r->tables) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) {
        rtable *t = &r->tables[r->ntables++];
        t->number = numbers[i];
        st_buf_init(&t->st.smallest);
        st_buf_init(&t->st.largest);
        rc = scan_one(r, t);
        if (rc == STRATA_E_NOTFOUND) {
            r->ntables--; /* vanished since the listing */
            stats_free(&t->st);
            rc = 0;
        }
    }
    return rc;
}

/* ---- pass 2: keep or rewrite ---------------------------------------------------------------- */

/* Writes the entries of it that no fence covers (all, without fences) to table number. */
static int build_table(repair *r, st_iter *it, const st_rdel_list *rdels, uint64_t number,
                       const st_fences *fences, tstats *ts, uint64_t *dropped, uint64_t *size)
{
    char *fname = st_filename(r->dbname, ST_FILE_TABLE, number);
    st_wfile *f = NULL;
    st_table_builder *b = NULL;
    st_table_options to = {r->ucmp,   NULL, r->opt->block_size, r->opt->block_restart_interval,
                           STRATA_COMPRESSION_NONE, 0, r->opt->checksum, 0, r->integ, number};
    int rc = fname ? st_env_new_writable(r->env, fname, &f) : STRATA_E_NOMEM;
    rc = rc ? rc : st_table_builder_create(&to, f, &b);
    for (st_iter_seek_to_first(it); !rc && st_iter_valid(it); st_iter_next(it)) {
        st_slice key = st_iter_key(it), ukey;
        uint64_t seq;
        int type;
        if (st_ikey_parse(key, &ukey, &seq, &type) || type == ST_TYPE_RANGE_DEL) {
            /* The first cannot happen (the scan checked every key); the second only when a
             * damaged table's scan took its range-deletion block for data: never a point entry. */
            continue;
        }
        int i = fences ? st_fences_find(fences, ukey, seq) : -1;
        if (i >= 0) {
            r->fences.v[i].dropped++;
            (*dropped)++;
            continue;
        }
        rc = stats_note(ts, key);
        rc = rc ? rc : st_table_builder_add(b, key, st_iter_value(it));
    }
    rc = rc ? rc : st_iter_status(it);
    for (size_t i = 0; !rc && i < st_rdel_list_count(rdels); i++) {
        for (size_t j = 0; !rc && j < st_rdel_list_nseqs(rdels, i); j++) {
            rc = st_table_builder_add_range_del(b, st_rdel_list_start(rdels, i),
                                                st_rdel_list_end(rdels, i),
                                                st_rdel_list_seqs(rdels, i)[j]);
        }
    }
    rc = rc || !rdels ? rc : stats_note_rdels(r->ucmp, ts, rdels);
    if (!rc && ts->entries + ts->range_dels > 0) {
        rc = st_table_builder_finish(b);
        rc = rc ? rc : st_wfile_sync(f);
        *size = st_table_builder_file_size(b);
    }
    if (f) {
        int crc = st_wfile_close(f);
        rc = rc ? rc : crc;
    }
    if (fname && (rc || ts->entries + ts->range_dels == 0)) {
        st_env_remove_file(r->env, fname);
    }
    st_table_builder_destroy(b);
    st_free(fname);
    return rc;
}

static int rewrite_table(repair *r, rtable *t)
{
    st_table_scan *s = NULL;
    uint64_t size = 0, fresh = r->next_number++, dropped = 0;
    tstats ts = {ST_BUF_INIT, ST_BUF_INIT, 0, 0, 0, 0, 0};
    int rc = st_damage_scan_open(r->env, r->dbname, r->ucmp, r->integ, t->number, NULL, &size, &s);
    st_iter *it = rc ? NULL : st_table_scan_iter(s);
    if (!rc && !it) {
        rc = st_err(STRATA_E_NOMEM, "out of memory");
    }
    rc = rc ? rc : build_table(r, it, t->rdels, fresh, &r->fences, &ts, &dropped, &size);
    st_iter_destroy(it);
    st_table_scan_close(s);
    if (!rc && !t->damaged && dropped == 0) { /* the fences took nothing: keep the original */
        char *fn = st_filename(r->dbname, ST_FILE_TABLE, fresh);
        if (fn) {
            st_env_remove_file(r->env, fn);
        }
        st_free(fn);
        rc = keep_table(r, t->number, t->size, &t->st);
    } else if (!rc) {
        rc = ts.entries + ts.range_dels > 0 ? keep_table(r, fresh, size, &ts) : 0;
        set_aside(r, t->number, t->damaged ? ".corrupt" : ".replaced");
        const char *suffix = t->damaged ? ".corrupt" : ".replaced";
        if (ts.entries) {
            st_dreport_line(&r->actions, "%06" PRIu64 ".sst: %" PRIu64 " entries kept in %06"
                            PRIu64 ".sst, %" PRIu64 " dropped by fences; original renamed "
                            "%06" PRIu64 ".sst%s", t->number, ts.entries, fresh, dropped,
                            t->number, suffix);
        } else {
            st_dreport_line(&r->actions, "%06" PRIu64 ".sst: nothing kept (%" PRIu64 " dropped "
                            "by fences); renamed %06" PRIu64 ".sst%s", t->number, dropped,
                            t->number, suffix);
        }
    }
    stats_free(&ts);
    return rc;
}

static int place_tables(repair *r)
{
    int rc = 0;
    for (int i = 0; !rc && i < r->ntables; i++) {
        rtable *t = &r->tables[i];
        int fenced = t->st.entries > 0 &&
                     st_fences_overlap(&r->fences, st_buf_slice(&t->st.smallest),
                                       st_buf_slice(&t->st.largest), t->st.smallest_seq);
        if (t->damaged || fenced) {
            rc = rewrite_table(r, t);
        } else if (t->st.entries + t->st.range_dels > 0) {
            rc = keep_table(r, t->number, t->size, &t->st);
        }
    }
    return rc;
}

/* ---- WALs ----------------------------------------------------------------------------------- */

/* An empty WAL for the new MANIFEST's log number: open replays it (nothing) and no older one. */
static int empty_wal(repair *r, uint64_t number)
{
    char *fname = st_filename(r->dbname, ST_FILE_LOG, number);
    int rc = fname ? st_env_write_file(r->env, fname, st_slice_make("", 0), 1) : STRATA_E_NOMEM;
    st_free(fname);
    return rc;
}

/* Replays the WALs here, through the fences, into one level-0 table. */
static int replay_fenced(repair *r, const uint64_t *logs, int n)
{
    st_wal_replay w = {r->ucmp, NULL, &r->fences, 0, 0, 0, 0};
    int rc = st_memtable_create(r->ucmp, &w.mem);
    for (int i = 0; !rc && i < n; i++) {
        rc = st_damage_read_wal(r->env, r->dbname, r->integ, logs[i], &w, &r->rep);
    }
    st_iter *it = rc ? NULL : st_memtable_iter(w.mem);
    if (!rc && !it) {
        rc = st_err(STRATA_E_NOMEM, "out of memory");
    }
    st_rdel_list *wal_rdels = NULL;
    if (!rc) {
        rc = st_memtable_range_dels_all(w.mem, &wal_rdels);
    }
    if (!rc && (w.kept > 0 || wal_rdels)) {
        tstats ts = {ST_BUF_INIT, ST_BUF_INIT, 0, 0, 0, 0, 0};
        uint64_t number = r->next_number++, size = 0, dropped = 0;
        rc = build_table(r, it, wal_rdels, number, NULL, &ts, &dropped, &size);
        rc = rc ? rc : keep_table(r, number, size, &ts);
        st_dreport_line(&r->actions, "%d WAL(s): %" PRIu64 " entries written to %06" PRIu64
                        ".sst, %" PRIu64 " dropped by fences", n, w.kept, number, w.dropped);
        stats_free(&ts);
    }
    st_rdel_list_unref(wal_rdels);
    st_iter_destroy(it);
    if (w.mem) {
        st_memtable_unref(w.mem);
    }
    if (!rc) {
        r->max_seq = w.max_seq > r->max_seq ? w.max_seq : r->max_seq;
        r->log_number = r->next_number++;
        rc = empty_wal(r, r->log_number);
    }
    return rc;
}

/* Without fences: the open replays the WALs; this pass only reports their damage. */
static int check_wals(repair *r, const uint64_t *logs, int n)
{
    st_wal_replay w = {r->ucmp, NULL, NULL, 0, 0, 0, 0};
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) {
        rc = st_damage_read_wal(r->env, r->dbname, r->integ, logs[i], &w, &r->rep);
    }
    r->rep.counts.entries_recovered += w.entries;
    r->log_number = r->min_log;
    return rc;
}

static int handle_wals(repair *r, const uint64_t *logs, int n)
{
    int from = 0;
    while (from < n && logs[from] < r->min_log) {
        from++;
    }
    return r->fences.n ? replay_fenced(r, logs + from, n - from)
                       : check_wals(r, logs + from, n - from);
}

/* ---- MANIFEST ------------------------------------------------------------------------------- */

static int write_manifest(repair *r)
{
    uint64_t number = r->next_number++;
    st_version_edit_set_log_number(&r->edit, r->log_number);
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
    if (!rc) {
        rc = st_log_writer_protect(w, r->integ, number, ST_CRYPT_FILE_MANIFEST);
    }
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

/* ---- driver --------------------------------------------------------------------------------- */

/* The old MANIFEST (if readable) and its log number, guarded: when its WAL is gone, nothing is
 * left to guard and open requires it to exist. */
static int read_old_manifest(repair *r)
{
    int rc = st_old_manifest_load(r->env, r->dbname, r->ucmp, r->integ, &r->old);
    if (rc == STRATA_E_INVALID) {
        rc = 0; /* e.g. a comparator name mismatch: rebuild without it, as before */
    }
    r->min_log = r->old.readable ? r->old.log_number : 0;
    char *wal = st_filename(r->dbname, ST_FILE_LOG, r->min_log);
    if (!wal || !st_env_exists(r->env, wal)) {
        r->min_log = 0;
    }
    st_free(wal);
    return rc;
}

static int rebuild(repair *r)
{
    uint64_t *tables = NULL, *logs = NULL, max_number = 0;
    int ntables = 0, nlogs = 0;
    int rc = read_old_manifest(r);
    rc = rc ? rc : st_version_edit_set_comparator(&r->edit, st_comparator_name(r->ucmp));
    rc = rc ? rc : st_damage_list(r->env, r->dbname, &tables, &ntables, &logs, &nlogs,
                                  &max_number);
    if (!rc && max_number >= r->next_number) {
        r->next_number = max_number + 1;
    }
    rc = rc ? rc : scan_tables(r, tables, ntables);
    rc = rc ? rc : place_tables(r);
    rc = rc ? rc : handle_wals(r, logs, nlogs);
    st_fences_report(&r->fences, &r->rep);
    rc = rc ? rc : write_manifest(r);
    st_free(tables);
    st_free(logs);
    return rc;
}

static void repair_free(repair *r)
{
    for (int i = 0; i < r->ntables; i++) {
        stats_free(&r->tables[i].st);
        st_rdel_list_unref(r->tables[i].rdels);
    }
    st_free(r->tables);
    st_fences_free(&r->fences);
    st_old_manifest_free(&r->old);
    st_version_edit_clear(&r->edit);
    st_integrity_free(r->integ);
    st_dreport_finish(&r->actions, NULL);
}

/* A normal open replays the WALs (skipping damaged records) and records the result; the report
 * goes to the info LOG it starts. */
static int reopen(repair *r)
{
    struct strata_options o = *r->opt;
    o.create_if_missing = 0;
    o.error_if_exists = 0;
    o.skip_corrupt_wal_records = 1;
    strata_db *db = NULL;
    int rc = st_db_open(&o, r->dbname, &db);
    if (!rc) {
        const strata_integrity_report *c = &r->rep.counts;
        st_log(db->log, "repair: %" PRIu64 " files checked, %" PRIu64 " entries kept, %" PRIu64
               " damaged ranges (~%" PRIu64 " entries, %" PRIu64 " bytes lost)", c->files_checked,
               c->entries_recovered, c->blocks_unrecoverable, c->entries_lost_estimate,
               c->bytes_lost);
        st_dreport_log(&r->rep, db->log, "repair: ");
        st_dreport_log(&r->actions, db->log, "repair: ");
        rc = st_db_close(db);
    }
    return rc;
}

int st_db_repair(const struct strata_options *opt, const char *path,
                 strata_integrity_report *report)
{
    repair r;
    memset(&r, 0, sizeof(r));
    r.env = opt->env ? opt->env : st_env_posix();
    r.dbname = path;
    r.ucmp = opt->comparator ? opt->comparator : st_comparator_bytewise();
    r.opt = opt;
    r.next_number = 2;
    st_version_edit_init(&r.edit);
    st_fences_init(&r.fences, r.ucmp);
    st_dreport_init(&r.rep);
    st_dreport_init(&r.actions);
    char *lockname = st_filename(path, ST_FILE_LOCK, 0);
    st_filelock *lock = NULL;
    int rc = lockname ? st_env_lock_file(r.env, lockname, &lock) : STRATA_E_NOMEM;
    if (rc == STRATA_E_BUSY) {
        rc = st_err(STRATA_E_BUSY, "%s: cannot repair an open database", path);
    }
    rc = rc ? rc : st_integrity_load(r.env, path, opt, &r.integ);
    rc = rc ? rc : rebuild(&r);
    if (lock) {
        st_env_unlock_file(r.env, lock);
    }
    st_free(lockname);
    rc = rc ? rc : reopen(&r);
    repair_free(&r);
    st_dreport_finish(&r.rep, report);
    return rc;
}
