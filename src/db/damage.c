/* damage.c — report, fences, old-MANIFEST view and damaged-WAL reader shared by repair and
 * salvage (damage.h).  Detail lines name files and byte offsets, never keys or values (the info
 * LOG holds no user data). */
#include "db/damage.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/filename.h"
#include "db/version_set.h"
#include "db/write_batch.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"

/* ---- report ---------------------------------------------------------------------------------- */

void st_dreport_init(st_dreport *r)
{
    memset(r, 0, sizeof(*r));
    st_buf_init(&r->text);
}

void st_dreport_line(st_dreport *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (st_buf_append(&r->text, line, len) || st_buf_append(&r->text, "\n", 1)) {
        r->nomem = 1;
    }
}

void st_dreport_log(const st_dreport *r, st_logger *log, const char *prefix)
{
    const char *p = r->text.data, *end = p ? p + r->text.len : NULL;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        st_log(log, "%s%.*s", prefix, (int)n, p);
        p += n + 1;
    }
}

void st_dreport_finish(st_dreport *r, strata_integrity_report *out)
{
    if (out) {
        *out = r->counts;
        out->detail = st_buf_append(&r->text, "", 1) ? NULL : st_buf_release(&r->text, NULL);
        if (!out->detail) {
            out->detail = st_strdup(""); /* NULL only when even that fails */
        }
    }
    st_buf_free(&r->text);
}

/* ---- fences ---------------------------------------------------------------------------------- */

void st_fences_init(st_fences *f, const st_comparator *ucmp)
{
    memset(f, 0, sizeof(*f));
    f->ucmp = ucmp;
}

void st_fences_free(st_fences *f)
{
    for (int i = 0; i < f->n; i++) {
        st_buf_free(&f->v[i].lo);
        st_buf_free(&f->v[i].hi);
    }
    st_free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}

static st_fence *fence_new(st_fences *f)
{
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 8;
        st_fence *v = st_realloc(f->v, (size_t)cap * sizeof(*v));
        if (!v) {
            return NULL;
        }
        f->v = v;
        f->cap = cap;
    }
    st_fence *e = &f->v[f->n++];
    memset(e, 0, sizeof(*e));
    st_buf_init(&e->lo);
    st_buf_init(&e->hi);
    return e;
}

int st_fences_add_damage(st_fences *f, const st_table_damage *d, uint64_t max_seq, uint64_t file)
{
    st_fence *e = fence_new(f);
    if (!e || st_buf_assign(&e->lo, d->lo.data, d->lo.len) ||
        st_buf_assign(&e->hi, d->hi.data, d->hi.len)) {
        return st_err(STRATA_E_NOMEM, "out of memory recording a damaged range");
    }
    e->has_lo = d->has_lo;
    e->has_hi = d->has_hi;
    e->lo_incl = d->lo_incl;
    e->hi_incl = d->hi_incl;
    e->max_seq = max_seq;
    e->file = file;
    e->offset = d->offset;
    e->size = d->size;
    return 0;
}

int st_fences_add_range(st_fences *f, st_slice smallest, st_slice largest, uint64_t max_seq,
                        uint64_t file, uint64_t size)
{
    st_fence *e = fence_new(f);
    if (!e || st_buf_assign(&e->lo, smallest.data, smallest.size) ||
        st_buf_assign(&e->hi, largest.data, largest.size)) {
        return st_err(STRATA_E_NOMEM, "out of memory recording a damaged range");
    }
    e->has_lo = e->has_hi = e->lo_incl = e->hi_incl = 1;
    e->max_seq = max_seq;
    e->file = file;
    e->size = size;
    return 0;
}

/* Could a lost entry (ukey, t) inside e, with seq(t) > seq, exist?  For ukey, the trailers t of
 * internal keys inside e's bounds form one interval [tmin, tmax] (internal order sorts trailers
 * descending, so the lower key bound caps t from above and the upper bound from below). */
static int fence_covers(const st_fences *f, const st_fence *e, st_slice ukey, uint64_t seq)
{
    uint64_t tmin = 0, tmax = UINT64_MAX;
    if (e->has_lo) {
        st_slice lo = st_buf_slice(&e->lo);
        int c = st_ucmp(f->ucmp, ukey, st_ikey_user(lo));
        if (c < 0) {
            return 0;
        }
        if (c == 0) {
            uint64_t lt = st_ikey_trailer(lo);
            if (!e->lo_incl && lt == 0) {
                return 0;
            }
            tmax = e->lo_incl ? lt : lt - 1;
        }
    }
    if (e->has_hi) {
        st_slice hi = st_buf_slice(&e->hi);
        int c = st_ucmp(f->ucmp, ukey, st_ikey_user(hi));
        if (c > 0) {
            return 0;
        }
        if (c == 0) {
            uint64_t ht = st_ikey_trailer(hi);
            if (!e->hi_incl && ht == UINT64_MAX) {
                return 0;
            }
            tmin = e->hi_incl ? ht : ht + 1;
        }
    }
    if (seq >= e->max_seq) {
        return 0; /* nothing lost here is newer */
    }
    uint64_t smax = (e->max_seq << 8) | 0xff;
    uint64_t need = (seq + 1) << 8; /* seq < max_seq <= ST_MAX_SEQ: no overflow */
    tmax = tmax < smax ? tmax : smax;
    return (tmin > need ? tmin : need) <= tmax;
}

int st_fences_find(const st_fences *f, st_slice ukey, uint64_t seq)
{
    for (int i = 0; i < f->n; i++) {
        if (fence_covers(f, &f->v[i], ukey, seq)) {
            return i;
        }
    }
    return -1;
}

int st_fences_overlap(const st_fences *f, st_slice smallest, st_slice largest, uint64_t min_seq)
{
    st_slice su = st_ikey_user(smallest), lu = st_ikey_user(largest);
    for (int i = 0; i < f->n; i++) {
        const st_fence *e = &f->v[i];
        if (e->max_seq <= min_seq ||
            (e->has_lo && st_ucmp(f->ucmp, st_ikey_user(st_buf_slice(&e->lo)), lu) > 0) ||
            (e->has_hi && st_ucmp(f->ucmp, st_ikey_user(st_buf_slice(&e->hi)), su) < 0)) {
            continue;
        }
        return 1;
    }
    return 0;
}

void st_fences_report(const st_fences *f, st_dreport *r)
{
    for (int i = 0; i < f->n; i++) {
        const st_fence *e = &f->v[i];
        if (e->dropped == 0) {
            continue;
        }
        st_dreport_line(r, "%06" PRIu64 ".sst: offsets %" PRIu64 "..%" PRIu64 ": %" PRIu64
                        " entries dropped whose keys lie in this damaged range (a deletion lost "
                        "there may have covered them)", e->file, e->offset,
                        e->offset + (e->size ? e->size - 1 : 0), e->dropped);
    }
}

/* ---- the old MANIFEST ------------------------------------------------------------------------ */

static int collect_live(st_version *v, st_old_manifest *out)
{
    int total = 0;
    for (int l = 0; l < v->num_levels; l++) {
        total += v->nfiles[l];
    }
    out->files = st_calloc((size_t)total + 1, sizeof(*out->files));
    if (!out->files) {
        return st_err(STRATA_E_NOMEM, "out of memory reading the MANIFEST");
    }
    for (int l = 0; l < v->num_levels; l++) {
        for (int i = 0; i < v->nfiles[l]; i++) {
            st_file_meta_ref(v->files[l][i]);
            out->files[out->nfiles++] = v->files[l][i];
        }
    }
    return 0;
}

/* Repair and salvage rebuild one keyspace: a DB whose MANIFEST names other column families would
 * have their tables folded into the default one, so it is refused (NOTSUP) rather than mixed. */
static int refuse_families(st_env *env, const char *dbname, st_integrity *integ)
{
    uint32_t *ids = NULL;
    char **names = NULL;
    int n = 0;
    if (st_vset_list_families(env, dbname, integ, &ids, &names, &n)) {
        return 0; /* unreadable MANIFEST: the caller's recovery reports it */
    }
    for (int i = 0; i < n; i++) {
        st_free(names[i]);
    }
    st_free(names);
    st_free(ids);
    return n > 1 ? st_err(STRATA_E_NOTSUP, "%s has %d column families; repair and salvage "
                          "handle only a DB with the default one", dbname, n)
                 : 0;
}

int st_old_manifest_load(st_env *env, const char *dbname, const st_comparator *ucmp,
                         st_integrity *integ, st_old_manifest *out)
{
    memset(out, 0, sizeof(*out));
    st_vset_options vo = {.env = env, .dbname = dbname, .ucmp = ucmp, .num_levels = ST_MAX_LEVELS,
                          .max_bytes_for_level_base = 1 << 20, .level_multiplier = 10,
                          .target_file_size = 1 << 20, .l0_compaction_trigger = 4,
                          .integ = integ};
    st_vset *vs = NULL;
    int rc = st_vset_create(&vo, NULL, NULL, &vs);
    if (rc) {
        return rc;
    }
    rc = refuse_families(env, dbname, integ);
    rc = rc ? rc : st_vset_recover(vs);
    if (rc == 0) {
        st_version *v = st_vset_current(vs);
        rc = collect_live(v, out);
        st_version_unref(v);
        out->readable = rc == 0;
        out->log_number = st_vset_log_number(vs);
    } else if (rc != STRATA_E_NOMEM && rc != STRATA_E_INVALID && rc != STRATA_E_NOTSUP) {
        rc = 0; /* missing or damaged: repair and salvage work without it */
    }
    st_vset_destroy(vs);
    return rc;
}

const st_file_meta *st_old_manifest_file(const st_old_manifest *m, uint64_t number)
{
    for (int i = 0; m && i < m->nfiles; i++) {
        if (m->files[i]->number == number) {
            return m->files[i];
        }
    }
    return NULL;
}

void st_old_manifest_free(st_old_manifest *m)
{
    for (int i = 0; i < m->nfiles; i++) {
        st_file_meta_unref(m->files[i]);
    }
    st_free(m->files);
    memset(m, 0, sizeof(*m));
}

/* ---- tables ---------------------------------------------------------------------------------- */

int st_damage_scan_open(st_env *env, const char *dbname, const st_comparator *ucmp,
                        st_integrity *integ, uint64_t number, uint64_t *damage_count, uint64_t *size,
                        st_table_scan **out)
{
    char *path = st_filename(dbname, ST_FILE_TABLE, number);
    st_rfile *f = NULL;
    int rc = path ? st_env_file_size(env, path, size) : STRATA_E_NOMEM;
    rc = rc ? rc : st_env_new_random(env, path, &f); /* pread, not a mapping: no SIGBUS */
    if (!rc) {
        st_table_scan_options so = {ucmp, path, 0, damage_count, integ, number};
        rc = st_table_scan_open(&so, f, *size, out); /* owns f */
    }
    st_free(path);
    return rc == STRATA_E_NOMEM ? st_err(rc, "out of memory opening table %06" PRIu64, number)
                                : rc;
}

int st_damage_load_range_dels(st_env *env, const char *dbname, const st_comparator *ucmp,
                              st_integrity *integ, uint64_t number, uint64_t size,
                              st_rdel_list **out)
{
    *out = NULL;
    char *path = st_filename(dbname, ST_FILE_TABLE, number);
    st_rfile *f = NULL;
    st_table *t = NULL;
    st_table_read_options to = {ucmp, NULL, NULL, path, 0, 0, integ, number};
    int rc = path ? st_env_new_random(env, path, &f) : STRATA_E_NOMEM;
    if (!rc) {
        rc = st_table_open(&to, f, size, &t);
        if (rc) {
            st_rfile_close(f);
        }
    }
    if (!rc) {
        *out = (st_rdel_list *)st_table_range_dels(t);
        if (*out) {
            st_rdel_list_ref(*out);
        }
        st_table_close(t);
    }
    st_free(path);
    return rc;
}

uint64_t st_damage_max_seq(const st_table_scan *s, const st_old_manifest *m, uint64_t number)
{
    const st_table_props *p = st_table_scan_props(s);
    const st_file_meta *meta = st_old_manifest_file(m, number);
    if (p && p->format_version) {
        return p->largest_seq;
    }
    return meta ? meta->largest_seq : ST_MAX_SEQ;
}

int st_damage_fence_table(const st_table_scan *s, int from, uint64_t number,
                          const st_old_manifest *m, st_fences *f)
{
    uint64_t max_seq = st_damage_max_seq(s, m, number);
    const st_file_meta *meta = st_old_manifest_file(m, number);
    int rc = 0;
    for (int i = from; !rc && i < st_table_scan_num_damage(s); i++) {
        const st_table_damage *d = st_table_scan_damage(s, i);
        if (d->has_lo || d->has_hi) {
            rc = st_fences_add_damage(f, d, max_seq, number);
        } else if (meta) {
            rc = st_fences_add_range(f, st_file_smallest(meta), st_file_largest(meta), max_seq,
                                     number, d->size);
            if (!rc) {
                f->v[f->n - 1].offset = d->offset;
            }
        }
    }
    return rc;
}

void st_damage_report_table(const st_table_scan *s, uint64_t number, const st_old_manifest *m,
                            st_dreport *r)
{
    r->counts.files_checked++;
    r->counts.blocks_checked += st_table_scan_blocks(s);
    for (int i = 0; i < st_table_scan_num_meta_damage(s); i++) {
        const st_table_damage *d = st_table_scan_meta_damage(s, i);
        r->counts.blocks_unrecoverable++;
        st_dreport_line(r, "%06" PRIu64 ".sst: offsets %" PRIu64 "..%" PRIu64 ": %s (the table "
                        "was read without it)", number, d->offset,
                        d->offset + (d->size ? d->size - 1 : 0), d->what);
    }
    for (int i = 0; i < st_table_scan_num_damage(s); i++) {
        const st_table_damage *d = st_table_scan_damage(s, i);
        r->counts.blocks_unrecoverable++;
        r->counts.entries_lost_estimate += d->entries_est;
        r->counts.bytes_lost += d->size;
        if (d->size) {
            st_dreport_line(r, "%06" PRIu64 ".sst: offsets %" PRIu64 "..%" PRIu64 ": %s (~%"
                            PRIu64 " entries lost)", number, d->offset, d->offset + d->size - 1,
                            d->what, d->entries_est);
        } else {
            st_dreport_line(r, "%06" PRIu64 ".sst: offset %" PRIu64 ": %s (~%" PRIu64
                            " entries lost)", number, d->offset, d->what, d->entries_est);
        }
        if (!d->has_lo && !d->has_hi && !st_old_manifest_file(m, number)) {
            st_dreport_line(r, "%06" PRIu64 ".sst: no key of it could be read and no MANIFEST "
                            "lists it: its key range is unknown, so a deletion it held cannot be "
                            "enforced (older values of such keys may reappear)", number);
        }
    }
}

/* ---- WALs ------------------------------------------------------------------------------------ */

typedef struct wal_state {
    st_wal_replay *w;
    st_iter *dup;      /* over w->mem, to find (key, seq) already added */
    st_buf lookup;
    uint64_t seq;      /* of the next operation */
    uint64_t entries0; /* w->entries when this WAL started */
} wal_state;

static int already_added(wal_state *ws, st_slice ukey, uint64_t seq)
{
    st_buf_clear(&ws->lookup);
    if (st_ikey_append(&ws->lookup, ukey, seq, ST_TYPE_FOR_SEEK)) {
        return STRATA_E_NOMEM;
    }
    st_iter_seek(ws->dup, st_buf_slice(&ws->lookup));
    if (!st_iter_valid(ws->dup)) {
        return 0;
    }
    st_slice k = st_iter_key(ws->dup);
    return st_ucmp(ws->w->ucmp, st_ikey_user(k), ukey) == 0 &&
           (st_ikey_trailer(k) >> 8) == seq;
}

static int wal_op(void *ctx, int type, st_slice key, st_slice value)
{
    wal_state *ws = ctx;
    st_wal_replay *w = ws->w;
    uint64_t seq = ws->seq++;
    w->entries++;
    w->max_seq = seq > w->max_seq ? seq : w->max_seq;
    if (!w->mem) {
        return 0;
    }
    int i = w->fences ? st_fences_find(w->fences, key, seq) : -1;
    if (i >= 0) {
        w->fences->v[i].dropped++;
        w->dropped++;
        return 0;
    }
    int dup = already_added(ws, key, seq);
    if (dup < 0) {
        return dup;
    }
    if (!dup) {
        int rc = st_memtable_add(w->mem, seq, type, key, value);
        if (rc) {
            return rc;
        }
        w->kept++;
    }
    return 0;
}

/* A stretch of damaged log between two good records. */
typedef struct wal_gap {
    int open;
    uint64_t from, to, bytes;
} wal_gap;

static void wal_gap_report(st_dreport *r, uint64_t number, const wal_gap *g, uint64_t lost,
                           int exact)
{
    r->counts.blocks_unrecoverable++;
    r->counts.bytes_lost += g->bytes;
    r->counts.entries_lost_estimate += lost;
    st_dreport_line(r, "%06" PRIu64 ".log: offsets %" PRIu64 "..%" PRIu64 ": damaged records "
                    "skipped (%" PRIu64 " bytes, %s%" PRIu64 " entries lost)", number, g->from,
                    g->to > g->from ? g->to - 1 : g->from, g->bytes, exact ? "" : "~", lost);
}

static void wal_gap_add(wal_gap *g, uint64_t from, uint64_t to, uint64_t bytes)
{
    if (!g->open) {
        g->open = 1;
        g->from = from;
        g->bytes = 0;
    }
    g->to = to > g->to ? to : g->to;
    g->bytes += bytes;
}

typedef struct wal_pos {
    uint64_t end;       /* about where the last good record ended */
    uint64_t last_seq;  /* its last sequence number (0: none yet) */
    uint64_t good_bytes;
} wal_pos;

/* Entries in bytes of log at the density of this WAL's good records so far. */
static uint64_t wal_density(const wal_state *ws, const wal_pos *p, uint64_t bytes)
{
    uint64_t n = ws->w->entries - ws->entries0;
    return p->good_bytes ? (uint64_t)((double)bytes * (double)n / (double)p->good_bytes + 0.5)
                         : 0;
}

/* One record read at off: decodes and applies it, or notes it as damaged. */
static int wal_record(wal_state *ws, strata_batch *b, st_slice rec, uint64_t off, wal_gap *g,
                      wal_pos *p, uint64_t number, st_dreport *r)
{
    if (st_batch_set_contents(b, rec)) {
        wal_gap_add(g, off, off + ST_LOG_HEADER_SIZE + rec.size, rec.size);
        return 0;
    }
    uint64_t seq = st_batch_seq(b);
    uint32_t count = st_batch_count(b);
    if (g->open) { /* sequence numbers are consecutive across records: the gap says how many */
        int exact = p->last_seq && seq > p->last_seq;
        uint64_t lost = exact ? seq - p->last_seq - 1 : wal_density(ws, p, g->bytes);
        wal_gap_report(r, number, g, lost, exact);
        g->open = 0;
    }
    ws->seq = seq;
    int rc = count ? st_batch_for_each(b, ws, wal_op) : 0;
    if (rc == STRATA_E_CORRUPTION) {
        rc = 0; /* checked by set_contents: not reached */
    }
    p->last_seq = count ? seq + count - 1 : (seq ? seq - 1 : 0);
    p->end = off + ST_LOG_HEADER_SIZE + rec.size;
    p->good_bytes += rec.size;
    return rc;
}

static int wal_open(st_env *env, const char *dbname, st_integrity *integ, uint64_t number,
                    st_log_reader **lr)
{
    char *fname = st_filename(dbname, ST_FILE_LOG, number);
    st_sfile *f = NULL;
    int rc = fname ? st_env_new_sequential(env, fname, &f) : STRATA_E_NOMEM;
    rc = rc ? rc : st_log_reader_create(f, fname, 1, lr); /* closes f on failure */
    if (!rc) {
        st_log_reader_set_integrity(*lr, integ, number, ST_CRYPT_FILE_WAL);
    }
    st_free(fname);
    return rc;
}

int st_damage_read_wal(st_env *env, const char *dbname, st_integrity *integ, uint64_t number,
                       st_wal_replay *w,
                       st_dreport *r)
{
    st_log_reader *lr = NULL;
    strata_batch b;
    wal_state ws = {w, NULL, ST_BUF_INIT, 0, w->entries};
    wal_gap g = {0, 0, 0, 0};
    wal_pos p = {0, 0, 0};
    uint64_t dropped = 0, records = 0;
    int rc = st_batch_init(&b);
    rc = rc ? rc : wal_open(env, dbname, integ, number, &lr);
    if (!rc && w->mem && !(ws.dup = st_memtable_iter(w->mem))) {
        rc = st_err(STRATA_E_NOMEM, "out of memory reading a WAL");
    }
    st_slice rec;
    uint64_t off;
    int got;
    while (!rc && (got = st_log_reader_read(lr, &rec, &off)) != 0) {
        if (got < 0) {
            rc = got;
            break;
        }
        records++;
        uint64_t d = st_log_reader_dropped(lr);
        if (d > dropped) {
            wal_gap_add(&g, p.end, off, d - dropped);
            dropped = d;
        }
        rc = wal_record(&ws, &b, rec, off, &g, &p, number, r);
    }
    if (!rc && lr && st_log_reader_dropped(lr) > dropped) {
        uint64_t d = st_log_reader_dropped(lr);
        wal_gap_add(&g, p.end, p.end + (d - dropped), d - dropped);
    }
    if (!rc && g.open) { /* nothing after it: estimate from the good records' density */
        wal_gap_report(r, number, &g, wal_density(&ws, &p, g.bytes), 0);
    }
    r->counts.files_checked++;
    r->counts.blocks_checked += records;
    st_iter_destroy(ws.dup);
    st_buf_free(&ws.lookup);
    st_log_reader_close(lr);
    st_batch_free(&b);
    return rc == STRATA_E_NOMEM ? st_err(rc, "out of memory reading WAL %06" PRIu64, number) : rc;
}

/* ---- listing --------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int st_damage_list(st_env *env, const char *dbname, uint64_t **tables, int *ntables,
                   uint64_t **logs, int *nlogs, uint64_t *max_number)
{
    char **names = NULL;
    int n = 0;
    int rc = st_env_list_dir(env, dbname, &names, &n);
    if (rc) {
        return rc;
    }
    uint64_t *t = st_calloc((size_t)n + 1, sizeof(uint64_t));
    uint64_t *l = st_calloc((size_t)n + 1, sizeof(uint64_t));
    int nt = 0, nl = 0;
    *max_number = 0;
    if (!t || !l) {
        rc = st_err(STRATA_E_NOMEM, "out of memory listing %s", dbname);
    }
    for (int i = 0; !rc && i < n; i++) {
        int type;
        uint64_t number;
        if (!st_parse_filename(names[i], &type, &number)) {
            continue;
        }
        *max_number = number > *max_number ? number : *max_number;
        if (type == ST_FILE_TABLE) {
            t[nt++] = number;
        } else if (type == ST_FILE_LOG) {
            l[nl++] = number;
        }
    }
    st_env_free_names(names, n);
    if (nt) {
        qsort(t, (size_t)nt, sizeof(uint64_t), cmp_u64);
    }
    if (nl) {
        qsort(l, (size_t)nl, sizeof(uint64_t), cmp_u64);
    }
    if (rc || !tables) {
        st_free(t);
        t = NULL;
    }
    if (rc || !logs) {
        st_free(l);
        l = NULL;
    }
    if (tables) {
        *tables = t;
        *ntables = rc ? 0 : nt;
    }
    if (logs) {
        *logs = l;
        *nlogs = rc ? 0 : nl;
    }
    return rc;
}
