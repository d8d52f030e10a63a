/* salvage.c — copies everything that can still be read from a damaged DB into a new DB
 * (strata_salvage).  The damaged DB is only read: no file in it is created, written, renamed or
 * locked (so it works on read-only media; the caller must not have it open).
 *
 * Sources: when the old MANIFEST can be read, its live tables and the WALs at or after its log
 * number (a table it lists that is missing is reported lost, and fenced with the key and sequence
 * range the MANIFEST gives); otherwise every table and every WAL in the directory.  Tables are
 * read block by block (table/table_scan.h), WALs record by record skipping damaged ones; WAL
 * entries are sorted in a memtable.  One pass: a k-way merge (db/merge_iter.h) over the table
 * scans and the WAL memtable yields every version of every key, newest first per key; the first
 * version no fence covers (db/damage.h) decides the key — a value is written to the new DB, a
 * deletion writes nothing — and the older versions are skipped.
 *
 * Why one pass is enough for the fences: a fence of table T lies between two positions of T's
 * scan, and it is recorded when the scan steps over it.  When the merge yields entry e, T's scan
 * stands at an entry >= e, so every damaged range of T below that point is already fenced; a
 * range above it has a lower bound >= e, and nothing lost above e's position can be newer than e
 * under the same user key (internal order puts newer versions first).  So each entry is checked
 * against every fence that could cover it.
 *
 * Memory: one block and the index per table, the merge heap, and the WAL entries (as large as the
 * WALs, normally a few write buffers).  Each table holds a file descriptor during the merge.
 * Writes go to the new DB in batches without its WAL; a final flush makes them durable. */
#include <inttypes.h>
#include <string.h>

#include "db/damage.h"
#include "db/db_impl.h"
#include "db/filename.h"
#include "db/merge_iter.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/range_del.h"

#define BATCH_BYTES ((size_t)4 << 20)
#define BATCH_OPS 4096

typedef struct source {
    uint64_t number;
    st_table_scan *scan;
    int fenced; /* damage records already turned into fences */
} source;

typedef struct salvage {
    st_env *env;
    const char *dbname;
    const st_comparator *ucmp;
    const struct strata_options *opt;
    st_old_manifest old;
    st_fences fences;
    st_dreport rep;
    st_dreport notes; /* for the info LOG only */
    source *src;
    int nsrc;
    uint64_t damage_count, damage_synced;
    st_memtable *wal;
    uint64_t wal_entries;
    strata_db *out;
    strata_batch batch;
    uint64_t written, deleted, superseded, fenced, unsupported;
    st_rdel_builder rdel_b; /* every readable range tombstone: the WAL's and the tables' */
    st_rdel_list *rdels;
    uint64_t rdel_lost;     /* tables whose tombstones could not be read */
    st_integrity *integ; /* the damaged DB's keys and encryption rule */
} salvage;

/* ---- sources -------------------------------------------------------------------------------- */

static int is_live(const salvage *s, uint64_t number)
{
    return !s->old.readable || st_old_manifest_file(&s->old, number) != NULL;
}

/* A table the old MANIFEST lists but the directory lacks: lost whole, fenced by its range. */
static int missing_table(salvage *s, const st_file_meta *m)
{
    s->rep.counts.files_checked++;
    s->rep.counts.blocks_unrecoverable++;
    s->rep.counts.entries_lost_estimate += m->num_entries;
    s->rep.counts.bytes_lost += m->file_size;
    st_dreport_line(&s->rep, "%06" PRIu64 ".sst: missing (listed in the MANIFEST, %" PRIu64
                    " bytes, ~%" PRIu64 " entries lost)", m->number, m->file_size,
                    m->num_entries);
    int rc = st_fences_add_range(&s->fences, st_file_smallest(m), st_file_largest(m),
                                 m->largest_seq, m->number, m->file_size);
    if (!rc) {
        s->fences.v[s->fences.n - 1].size = 0;
    }
    return rc;
}

static int open_table(salvage *s, uint64_t number)
{
    source *x = &s->src[s->nsrc];
    uint64_t size;
    int rc = st_damage_scan_open(s->env, s->dbname, s->ucmp, s->integ, number, &s->damage_count, &size,
                                 &x->scan);
    if (rc == STRATA_E_NOTFOUND) { /* gone since the listing */
        const st_file_meta *m = st_old_manifest_file(&s->old, number);
        return m ? missing_table(s, m) : 0;
    }
    if (!rc) {
        x->number = number;
        x->fenced = 0;
        s->nsrc++;
        const st_table_props *p = st_table_scan_props(x->scan);
        st_rdel_list *l = NULL;
        if (p && p->num_range_deletions) {
            if (st_damage_load_range_dels(s->env, s->dbname, s->ucmp, s->integ, number, size,
                                          &l)) {
                s->rdel_lost++;
            }
            rc = st_rdel_builder_add_list(&s->rdel_b, l);
            st_rdel_list_unref(l);
        }
    }
    return rc;
}

static int open_tables(salvage *s, const uint64_t *tables, int ntables)
{
    s->src = st_calloc((size_t)(ntables + s->old.nfiles) + 1, sizeof(*s->src));
    if (!s->src) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    int rc = 0, ignored = 0;
    for (int i = 0; !rc && i < ntables; i++) {
        if (is_live(s, tables[i])) {
            rc = open_table(s, tables[i]);
        } else {
            ignored++;
        }
    }
    for (int i = 0; !rc && i < s->old.nfiles; i++) { /* live but not in the directory */
        int present = 0;
        for (int j = 0; j < ntables && !present; j++) {
            present = tables[j] == s->old.files[i]->number;
        }
        rc = present ? 0 : missing_table(s, s->old.files[i]);
    }
    if (ignored) {
        st_dreport_line(&s->notes, "%d table(s) not in the MANIFEST ignored (obsolete or "
                        "unfinished)", ignored);
    }
    return rc;
}

static int read_wals(salvage *s, const uint64_t *logs, int nlogs)
{
    st_wal_replay w = {s->ucmp, NULL, NULL, 0, 0, 0, 0};
    int rc = st_memtable_create(s->ucmp, &w.mem);
    for (int i = 0; !rc && i < nlogs; i++) {
        if (!s->old.readable || logs[i] >= s->old.log_number) {
            rc = st_damage_read_wal(s->env, s->dbname, s->integ, logs[i], &w, &s->rep);
        }
    }
    s->wal = w.mem;
    s->wal_entries = w.kept;
    return rc;
}

/* ---- the merge ------------------------------------------------------------------------------ */

/* Turns damage the scans found since the last call into fences. */
static int sync_fences(salvage *s)
{
    if (s->damage_synced == s->damage_count) {
        return 0;
    }
    int rc = 0;
    for (int i = 0; !rc && i < s->nsrc; i++) {
        source *x = &s->src[i];
        int n = st_table_scan_num_damage(x->scan);
        if (n > x->fenced) {
            rc = st_damage_fence_table(x->scan, x->fenced, x->number, &s->old, &s->fences);
            x->fenced = n;
        }
    }
    s->damage_synced = s->damage_count;
    return rc;
}

static int flush_batch(salvage *s)
{
    if (strata_batch_count(&s->batch) == 0) {
        return 0;
    }
    struct strata_write_options wo = {0, 1}; /* no WAL: the final flush makes it durable */
    int rc = st_db_write(s->out, &wo, &s->batch);
    strata_batch_clear(&s->batch);
    return rc;
}

/* The first version of a key that no fence covers decides it: a value (TTL values keep their
 * expiry) unless a range tombstone newer than it covers the key. */
static int decide(salvage *s, st_slice ukey, uint64_t seq, int type, st_slice value)
{
    if (st_type_is_deletion(type) ||
        (s->rdels && st_rdel_list_covering(s->rdels, ukey, ST_MAX_SEQ, NULL) > seq)) {
        s->deleted++;
        return 0;
    }
    int rc;
    if (type == ST_TYPE_VALUE_TTL && value.size >= ST_TTL_PREFIX) {
        uint64_t expire = st_decode_fixed64(value.data);
        st_slice_remove_prefix(&value, ST_TTL_PREFIX);
        rc = st_batch_put_expiring(&s->batch, ukey, value, expire);
    } else if (type == ST_TYPE_VALUE) {
        rc = strata_batch_put(&s->batch, ukey.data, ukey.size, value.data, value.size);
    } else {
        s->unsupported++; /* merge operands (no operator runs here) and blob references */
        return 0;
    }
    s->written++;
    if (!rc && (strata_batch_count(&s->batch) >= BATCH_OPS ||
                strata_batch_size(&s->batch) >= BATCH_BYTES)) {
        rc = flush_batch(s);
    }
    return rc;
}

static int copy_entries(salvage *s, st_iter *m)
{
    st_buf cur = ST_BUF_INIT;
    int have_cur = 0, rc = 0;
    for (st_iter_seek_to_first(m); !rc && st_iter_valid(m); st_iter_next(m)) {
        st_slice ukey;
        uint64_t seq;
        int type;
        rc = sync_fences(s);
        if (rc || st_ikey_parse(st_iter_key(m), &ukey, &seq, &type)) {
            continue; /* every key was checked by its reader: not reached */
        }
        if (have_cur && st_ucmp(s->ucmp, ukey, st_buf_slice(&cur)) == 0) {
            s->superseded++;
            s->rep.counts.entries_recovered++;
            continue;
        }
        int f = st_fences_find(&s->fences, ukey, seq);
        if (f >= 0) {
            s->fences.v[f].dropped++;
            s->fenced++;
            continue;
        }
        s->rep.counts.entries_recovered++;
        have_cur = 1;
        rc = st_buf_assign(&cur, ukey.data, ukey.size) ? STRATA_E_NOMEM : 0;
        rc = rc ? rc : decide(s, ukey, seq, type, st_iter_value(m));
    }
    rc = rc ? rc : st_iter_status(m);
    rc = rc ? rc : flush_batch(s);
    st_buf_free(&cur);
    return rc;
}

static int merge_all(salvage *s)
{
    st_rdel_list *wal_rdels = NULL;
    int rr = s->wal ? st_memtable_range_dels_all(s->wal, &wal_rdels) : 0;
    rr = rr ? rr : st_rdel_builder_add_list(&s->rdel_b, wal_rdels);
    st_rdel_list_unref(wal_rdels);
    rr = rr ? rr : st_rdel_builder_finish(&s->rdel_b, s->ucmp, &s->rdels);
    if (rr) {
        return rr;
    }
    st_iter **children = st_calloc((size_t)s->nsrc + 1, sizeof(*children));
    int n = 0, rc = children ? 0 : STRATA_E_NOMEM;
    if (!rc && s->wal_entries) {
        rc = (children[n++] = st_memtable_iter(s->wal)) ? 0 : STRATA_E_NOMEM;
    }
    for (int i = 0; !rc && i < s->nsrc; i++) {
        rc = (children[n++] = st_table_scan_iter(s->src[i].scan)) ? 0 : STRATA_E_NOMEM;
    }
    st_iter *m = NULL;
    if (!rc) {
        m = st_merge_iter_create(s->ucmp, children, n); /* owns the children, also on failure */
        rc = m ? 0 : STRATA_E_NOMEM;
    } else {
        for (int i = 0; i < n; i++) {
            st_iter_destroy(children[i]);
        }
    }
    st_free(children);
    rc = rc ? rc : copy_entries(s, m);
    st_iter_destroy(m);
    return rc == STRATA_E_NOMEM ? st_err(rc, "out of memory salvaging %s", s->dbname) : rc;
}

/* ---- driver --------------------------------------------------------------------------------- */

static void report_all(salvage *s)
{
    for (int i = 0; i < s->nsrc; i++) {
        st_damage_report_table(s->src[i].scan, s->src[i].number, &s->old, &s->rep);
    }
    st_fences_report(&s->fences, &s->rep);
    st_dreport_line(&s->notes, "%" PRIu64 " keys written, %" PRIu64 " deleted keys left out, %"
                    PRIu64 " older versions superseded, %" PRIu64 " entries dropped by fences",
                    s->written, s->deleted, s->superseded, s->fenced);
    if (s->unsupported) {
        st_dreport_line(&s->notes, "%" PRIu64 " entries of unsupported types left out",
                        s->unsupported);
    }
    if (s->rdel_lost) {
        st_dreport_line(&s->rep, "%" PRIu64 " table(s) had range tombstones that could not be "
                        "read: keys they deleted may reappear", s->rdel_lost);
    }
}

static int same_dir(const char *a, const char *b)
{
    char *x = st_path_normalize(a), *y = st_path_normalize(b);
    int same = x && y && strcmp(x, y) == 0;
    st_free(x);
    st_free(y);
    return same;
}

/* Removes what a failed create left at fresh, keeping the error message. */
static void remove_new(salvage *s, const char *fresh, int rc)
{
    char msg[ST_ERRMSG_MAX];
    snprintf(msg, sizeof(msg), "%s", st_errmsg());
    st_db_destroy(s->opt, fresh);
    st_err_set(rc, msg);
}

/* The new DB: created here, refused if one exists (EXISTS).  Checked before the open so that a
 * failed open can only have left files of our own making, which are removed. */
static int open_new(salvage *s, const char *fresh)
{
    char *cur = st_filename(fresh, ST_FILE_CURRENT, 0);
    if (!cur) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    int exists = st_env_exists(s->env, cur);
    st_free(cur);
    if (exists) {
        return st_err(STRATA_E_EXISTS, "%s: database exists (salvage writes a new one)", fresh);
    }
    struct strata_options o = *s->opt;
    o.create_if_missing = 1;
    o.error_if_exists = 1;
    int rc = st_db_open(&o, fresh, &s->out);
    if (rc && rc != STRATA_E_EXISTS) {
        remove_new(s, fresh, rc);
    }
    return rc;
}

static int run(salvage *s, const char *fresh)
{
    uint64_t *tables = NULL, *logs = NULL, max_number = 0;
    int ntables = 0, nlogs = 0;
    int rc = st_damage_list(s->env, s->dbname, &tables, &ntables, &logs, &nlogs, &max_number);
    if (rc == STRATA_E_NOTFOUND) {
        rc = st_err(rc, "%s: no such database directory", s->dbname);
    }
    rc = rc ? rc : st_old_manifest_load(s->env, s->dbname, s->ucmp, s->integ, &s->old);
    if (!rc && max_number == 0) {
        rc = st_err(STRATA_E_NOTFOUND, "%s: no table, WAL or MANIFEST to salvage", s->dbname);
    }
    rc = rc ? rc : open_new(s, fresh);
    rc = rc ? rc : open_tables(s, tables, ntables);
    rc = rc ? rc : read_wals(s, logs, nlogs);
    rc = rc ? rc : merge_all(s);
    if (!rc) {
        report_all(s);
        rc = st_db_flush(s->out, NULL, 1);
    }
    st_free(tables);
    st_free(logs);
    return rc;
}

/* Logs the report into the new DB's info LOG and closes it; removes it after a failure.
 * Returns rc, or the close's error. */
static int finish_out(salvage *s, const char *fresh, int rc)
{
    if (!s->out) {
        return rc;
    }
    if (!rc) {
        const strata_integrity_report *c = &s->rep.counts;
        st_log(s->out->log, "salvaged from %s: %" PRIu64 " files checked, %" PRIu64 " entries "
               "recovered, %" PRIu64 " damaged ranges (~%" PRIu64 " entries, %" PRIu64 " bytes "
               "lost)", s->dbname, c->files_checked, c->entries_recovered,
               c->blocks_unrecoverable, c->entries_lost_estimate, c->bytes_lost);
        st_dreport_log(&s->rep, s->out->log, "salvage: ");
        st_dreport_log(&s->notes, s->out->log, "salvage: ");
    }
    int crc = st_db_close(s->out);
    s->out = NULL;
    rc = rc ? rc : crc;
    if (rc) { /* a half-written copy would look complete: remove it */
        remove_new(s, fresh, rc);
    }
    return rc;
}

int st_db_salvage(const struct strata_options *opt, const char *damaged, const char *fresh,
                  strata_integrity_report *report)
{
    salvage s;
    memset(&s, 0, sizeof(s));
    s.env = opt->env ? opt->env : st_env_posix();
    s.dbname = damaged;
    s.ucmp = opt->comparator ? opt->comparator : st_comparator_bytewise();
    s.opt = opt;
    st_fences_init(&s.fences, s.ucmp);
    st_dreport_init(&s.rep);
    st_dreport_init(&s.notes);
    st_rdel_builder_init(&s.rdel_b);
    int rc = st_batch_init(&s.batch) ? st_err(STRATA_E_NOMEM, "out of memory") : 0;
    if (!rc && same_dir(damaged, fresh)) {
        rc = st_err(STRATA_E_INVALID, "strata_salvage: the new DB must be another directory "
                    "than %s", damaged);
    }
    rc = rc ? rc : st_integrity_load(s.env, damaged, opt, &s.integ);
    rc = rc ? rc : run(&s, fresh);
    rc = finish_out(&s, fresh, rc);
    char msg[ST_ERRMSG_MAX];
    snprintf(msg, sizeof(msg), "%s", rc ? st_errmsg() : "");
    for (int i = 0; i < s.nsrc; i++) {
        st_table_scan_close(s.src[i].scan);
    }
    st_free(s.src);
    if (s.wal) {
        st_memtable_unref(s.wal);
    }
    st_batch_free(&s.batch);
    st_rdel_builder_free(&s.rdel_b);
    st_rdel_list_unref(s.rdels);
    st_fences_free(&s.fences);
    st_old_manifest_free(&s.old);
    st_integrity_free(s.integ);
    st_dreport_finish(&s.notes, NULL);
    st_dreport_finish(&s.rep, report);
    return rc ? st_err_set(rc, msg) : 0;
}
