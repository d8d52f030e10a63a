/* manifest.c — the MANIFEST: recovery (CURRENT → MANIFEST → replayed edits) and
 * st_vset_log_and_apply (edit → new version, appended and synced, then installed).
 *
 * A MANIFEST is a record log (wal/log_writer.h) whose records are encoded version edits.  Every
 * MANIFEST this code writes starts with a snapshot record (comparator, compaction pointers, every
 * live file) so it is self-contained; the edit that caused the switch follows.  A new MANIFEST is
 * started on the first log_and_apply after open and whenever the current one has grown past
 * max_manifest_size; it is synced before CURRENT is switched to it (st_set_current_file), so a
 * crash at any point leaves CURRENT naming a complete MANIFEST.  If the switch fails the new file
 * is removed (unless CURRENT already names it) and the old MANIFEST stays in use.
 *
 * Concurrency: log_and_apply is called with the DB mutex held.  It waits for the `writing` flag,
 * reads the counters and builds the new version under the mutex, releases it for the I/O, and
 * installs the version after relocking — so readers and writers are never blocked by an fsync,
 * and edits reach the MANIFEST in the order their versions are installed.
 * Format: docs/FORMAT.md "MANIFEST" and "CURRENT". */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db/filename.h"
#include "db/version_internal.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/status.h"
#include "wal/log_reader.h"

#define CURRENT_MAX_SIZE 4096

/* ---- CURRENT ------------------------------------------------------------------------------- */

/* Parses CURRENT's contents: "MANIFEST-<number>\n" exactly. */
static int parse_current(const char *data, size_t len, uint64_t *number)
{
    char name[64];
    int type;
    if (len < 2 || len > sizeof(name) || data[len - 1] != '\n' ||
        memchr(data, '\0', len - 1) || memchr(data, '\n', len - 1)) {
        return 0;
    }
    memcpy(name, data, len - 1);
    name[len - 1] = '\0';
    return st_parse_filename(name, &type, number) && type == ST_FILE_MANIFEST;
}

/* Reads CURRENT: NOTFOUND if absent, CORRUPTION if it does not name a MANIFEST. */
static int read_current_at(st_env *env, const char *dbname, uint64_t *number)
{
    char *fname = st_filename(dbname, ST_FILE_CURRENT, 0);
    char *data = NULL;
    size_t len = 0;
    if (!fname) {
        return st_err(STRATA_E_NOMEM, "reading CURRENT: out of memory");
    }
    int rc = st_env_read_file(env, fname, CURRENT_MAX_SIZE, &data, &len);
    if (rc == STRATA_E_NOTFOUND) {
        st_err(rc, "%s does not exist", fname);
    } else if (rc == STRATA_E_CORRUPTION || (!rc && !parse_current(data, len, number))) {
        rc = st_err(STRATA_E_CORRUPTION, "%s: CURRENT file is malformed", fname);
    }
    st_free(data);
    st_free(fname);
    return rc;
}

static int read_current(st_vset *vs, uint64_t *number)
{
    return read_current_at(vs->env, vs->dbname, number);
}

/* ---- Recovery ------------------------------------------------------------------------------ */

/* Per registered family: its builder and log number. */
typedef struct fam_recovery {
    st_vset *vs;
    st_vbuilder *builder;
    int has_log;
    uint64_t log_number;
} fam_recovery;

typedef struct recovery {
    st_vset *vs;
    const char *fname;
    uint64_t number;
    fam_recovery *fams; /* parallel to vs->sh->fams */
    int nfams;
    uint32_t max_cf_id;
    uint64_t min_log_keep;
    int has_prev_log, has_next, has_last;
    uint64_t prev_log_number, next_file, last_seq;
} recovery;

static int check_comparator(const st_vset *vs, const st_version_edit *e)
{
    const char *want = st_comparator_name(vs->ucmp);
    if (e->comparator && strcmp(e->comparator, want) != 0) {
        return st_err(STRATA_E_INVALID, "comparator mismatch: db uses %s, options give %s "
                      "(column family %s)", e->comparator, want, vs->cf_name);
    }
    return 0;
}

static fam_recovery *find_family(recovery *r, uint32_t id)
{
    for (int i = 0; i < r->nfams; i++) {
        if (r->fams[i].vs->cf_id == id) {
            return &r->fams[i];
        }
    }
    return NULL;
}

static void take_scalars(recovery *r, fam_recovery *f, const st_version_edit *e)
{
    if (e->has_log_number && f) {
        f->has_log = 1;
        f->log_number = e->log_number;
    }
    if (e->max_cf_id > r->max_cf_id) {
        r->max_cf_id = e->max_cf_id;
    }
    if (e->min_log_keep > r->min_log_keep) {
        r->min_log_keep = e->min_log_keep;
    }
    if (e->cf_id > r->max_cf_id) {
        r->max_cf_id = e->cf_id;
    }
    if (e->has_prev_log_number) {
        r->has_prev_log = 1;
        r->prev_log_number = e->prev_log_number;
    }
    if (e->has_next_file) {
        r->has_next = 1;
        r->next_file = e->next_file_number;
    }
    if (e->has_last_seq) {
        r->has_last = 1;
        r->last_seq = e->last_seq;
    }
}

/* Applies a decoded edit to its family f (NULL: a family that is not open, i.e. dropped). */
static int apply_family_edit(fam_recovery *f, const st_version_edit *e)
{
    if (!f || e->cf_drop) {
        return 0;
    }
    int rc = check_comparator(f->vs, e);
    if (!rc && e->merge_operator) {
        snprintf(f->vs->merge_name, sizeof(f->vs->merge_name), "%s", e->merge_operator);
    }
    if (!rc) {
        rc = st_vbuilder_apply(f->builder, e);
    }
    if (!rc) {
        rc = st_vset_apply_pointers(f->vs, e);
    }
    return rc;
}

/* Decodes and applies one MANIFEST record. */
static int replay_record(recovery *r, st_slice rec, uint64_t offset)
{
    st_version_edit e;
    st_version_edit_init(&e);
    int rc = st_version_edit_decode(&e, rec);
    fam_recovery *f = rc ? NULL : find_family(r, e.cf_id);
    if (!rc) {
        rc = apply_family_edit(f, &e);
    }
    if (!rc) {
        take_scalars(r, f, &e);
    } else if (rc != STRATA_E_NOMEM) {
        st_err_context(rc, "%s: record at offset %" PRIu64, r->fname, offset);
    }
    st_version_edit_clear(&e);
    return rc;
}

/* Calls fn for every record of MANIFEST number (fname). */
static int read_manifest(st_env *env, st_integrity *integ, const char *fname, uint64_t number,
                         void *ctx, int (*fn)(void *ctx, st_slice rec, uint64_t offset))
{
    st_sfile *file = NULL;
    st_log_reader *reader = NULL;
    int rc = st_env_new_sequential(env, fname, &file);
    if (rc == STRATA_E_NOTFOUND) {
        return st_err(STRATA_E_CORRUPTION, "CURRENT names %s, which does not exist", fname);
    }
    if (!rc) {
        rc = st_log_reader_create(file, fname, 0, &reader); /* owns file, also on error */
    }
    if (!rc) {
        st_log_reader_set_integrity(reader, integ, number, ST_CRYPT_FILE_MANIFEST);
    }
    while (!rc) {
        st_slice rec;
        uint64_t offset = 0;
        int got = st_log_reader_read(reader, &rec, &offset);
        if (got <= 0) {
            rc = got; /* 0: end of log (a torn last record is dropped by the reader) */
            break;
        }
        rc = fn(ctx, rec, offset);
    }
    st_log_reader_close(reader);
    return rc;
}

static int replay_one(void *ctx, st_slice rec, uint64_t offset)
{
    return replay_record(ctx, rec, offset);
}

static int replay_log(recovery *r)
{
    return read_manifest(r->vs->env, r->vs->integ, r->fname, r->number, r, replay_one);
}

static int check_required(const recovery *r)
{
    const char *missing = !r->fams[0].has_log ? "log number"
                          : !r->has_next ? "next file number"
                          : !r->has_last ? "last sequence number"
                                         : NULL;
    if (missing) {
        return st_err(STRATA_E_CORRUPTION, "%s: no %s entry", r->fname, missing);
    }
    return 0;
}

/* Sets the counters from the replayed MANIFEST and marks every number it mentions used. */
static void adopt_counters(st_vset *vs, const recovery *r, uint64_t manifest_number)
{
    st_vshared *sh = vs->sh;
    st_vset_mark_file_number_used(vs, r->next_file ? r->next_file - 1 : 0);
    vs_store(&sh->manifest_number, manifest_number);
    vs_store(&sh->prev_log_number, r->has_prev_log ? r->prev_log_number : 0);
    vs_store(&sh->last_seq, r->last_seq);
    if (r->max_cf_id > sh->max_cf_id) {
        sh->max_cf_id = r->max_cf_id;
    }
    vs_store(&sh->min_log_keep, r->min_log_keep);
    sh->min_log_wanted = r->min_log_keep;
    st_vset_mark_file_number_used(vs, manifest_number);
    st_vset_mark_file_number_used(vs, r->prev_log_number);
    for (int f = 0; f < r->nfams; f++) {
        st_vset *fv = r->fams[f].vs;
        vs_store(&fv->log_number, r->fams[f].has_log ? r->fams[f].log_number : 0);
        st_vset_mark_file_number_used(vs, r->fams[f].log_number);
        const st_version *v = fv->current;
        for (int level = 0; level < v->num_levels; level++) {
            for (int i = 0; i < v->nfiles[level]; i++) {
                st_vset_mark_file_number_used(vs, v->files[level][i]->number);
            }
        }
    }
}

/* Builds and installs every family's recovered version. */
static int install_recovered(recovery *r)
{
    for (int f = 0; f < r->nfams; f++) {
        st_vset *fv = r->fams[f].vs;
        if (fv->want_merge && fv->merge_name[0] && strcmp(fv->want_merge, fv->merge_name)) {
            return st_err(STRATA_E_INVALID, "merge operator mismatch: db uses %s, options give %s "
                          "(column family %s)", fv->merge_name, fv->want_merge, fv->cf_name);
        }
    }
    for (int f = 0; f < r->nfams; f++) {
        st_vset *fv = r->fams[f].vs;
        st_version *v = st_version_alloc(fv);
        int rc = v ? st_vbuilder_save(r->fams[f].builder, v)
                   : st_err(STRATA_E_NOMEM, "recovery: out of memory");
        if (rc) {
            st_version_free(v);
            return rc;
        }
        st_version_finalize(v);
        st_vset_install(fv, v);
    }
    return 0;
}

static int start_families(recovery *r)
{
    st_vshared *sh = r->vs->sh;
    assert(sh->nfams > 0 && sh->fams[0] == r->vs);
    r->fams = st_calloc((size_t)sh->nfams, sizeof(*r->fams));
    if (!r->fams) {
        return st_err(STRATA_E_NOMEM, "recovery: out of memory");
    }
    r->nfams = sh->nfams;
    for (int f = 0; f < r->nfams; f++) {
        r->fams[f].vs = sh->fams[f];
        int rc = st_vbuilder_create(sh->fams[f], sh->fams[f]->current, &r->fams[f].builder);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

int st_vset_recover(st_vset *vs)
{
    uint64_t number = 0;
    recovery r = {.vs = vs};
    char *fname = NULL;
    assert(!vs->sh->manifest);
    int rc = read_current(vs, &number);
    if (rc) {
        return rc;
    }
    fname = st_filename(vs->dbname, ST_FILE_MANIFEST, number);
    rc = fname ? start_families(&r) : st_err(STRATA_E_NOMEM, "recovery: out of memory");
    r.fname = fname;
    r.number = number;
    if (!rc) {
        rc = replay_log(&r);
    }
    if (!rc) {
        rc = check_required(&r);
    }
    if (!rc) {
        rc = install_recovered(&r);
    }
    if (!rc) {
        adopt_counters(vs, &r, number);
        st_log(vs->info_log, "recovered %s: next file %" PRIu64 ", last seq %" PRIu64
               ", log %" PRIu64 ", %d column families", fname, r.next_file, r.last_seq,
               r.fams[0].log_number, r.nfams);
    } else if (rc != STRATA_E_NOMEM && fname && !strstr(st_errmsg(), fname)) {
        st_err_context(rc, "%s", fname);
    }
    for (int f = 0; f < r.nfams; f++) {
        st_vbuilder_destroy(r.fams[f].builder);
    }
    st_free(r.fams);
    st_free(fname);
    return rc;
}

/* ---- Listing families ---------------------------------------------------------------------- */

typedef struct fam_list {
    uint32_t *ids;
    char **names;
    int n, cap;
} fam_list;

static int list_add(fam_list *l, uint32_t id, const char *name)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        uint32_t *ids = st_realloc(l->ids, (size_t)cap * sizeof(*ids));
        if (ids) {
            l->ids = ids;
        }
        char **names = ids ? st_realloc(l->names, (size_t)cap * sizeof(*names)) : NULL;
        if (!names) {
            return st_err(STRATA_E_NOMEM, "listing column families: out of memory");
        }
        l->names = names;
        l->cap = cap;
    }
    if (!(l->names[l->n] = st_strdup(name))) {
        return st_err(STRATA_E_NOMEM, "listing column families: out of memory");
    }
    l->ids[l->n++] = id;
    return 0;
}

static int list_record(void *ctx, st_slice rec, uint64_t offset)
{
    (void)offset;
    fam_list *l = ctx;
    st_version_edit e;
    st_version_edit_init(&e);
    int rc = st_version_edit_decode(&e, rec);
    if (!rc && e.cf_add) {
        rc = list_add(l, e.cf_id, e.cf_add);
    } else if (!rc && e.cf_drop) {
        for (int i = 1; i < l->n; i++) {
            if (l->ids[i] == e.cf_id) {
                st_free(l->names[i]);
                memmove(&l->names[i], &l->names[i + 1], sizeof(char *) * (size_t)(l->n - i - 1));
                memmove(&l->ids[i], &l->ids[i + 1], sizeof(uint32_t) * (size_t)(l->n - i - 1));
                l->n--;
                break;
            }
        }
    }
    st_version_edit_clear(&e);
    return rc;
}

int st_vset_list_families(st_env *env, const char *dbname, st_integrity *integ, uint32_t **ids,
                          char ***names, int *n)
{
    uint64_t number = 0;
    fam_list l = {0};
    int rc = read_current_at(env, dbname, &number);
    char *fname = rc ? NULL : st_filename(dbname, ST_FILE_MANIFEST, number);
    if (!rc && !fname) {
        rc = st_err(STRATA_E_NOMEM, "listing column families: out of memory");
    }
    rc = rc ? rc : list_add(&l, 0, "default");
    rc = rc ? rc : read_manifest(env, integ, fname, number, &l, list_record);
    st_free(fname);
    if (rc) {
        for (int i = 0; i < l.n; i++) {
            st_free(l.names[i]);
        }
        st_free(l.names);
        st_free(l.ids);
        return rc;
    }
    *ids = l.ids;
    *names = l.names;
    *n = l.n;
    return 0;
}

/* ---- Writing ------------------------------------------------------------------------------- */

/* Everything one log_and_apply prepares under the mutex and then writes without it. */
typedef struct manifest_job {
    st_version *v;        /* the version to install */
    int switch_manifest;  /* start a new MANIFEST */
    uint64_t new_number;  /* its number */
    st_buf snapshot;      /* its first records, one per family (when switching) */
    st_buf record;        /* the encoded edit */
    st_log_writer *new_w; /* the new MANIFEST once written */
} manifest_job;

/* One family's record of a new MANIFEST's snapshot: the whole state of its current version. */
static int encode_family_snapshot(st_vset *vs, st_version_edit *s)
{
    const st_version *v = vs->current;
    int rc = st_version_edit_set_comparator(s, st_comparator_name(vs->ucmp));
    s->cf_id = vs->cf_id;
    st_version_edit_set_log_number(s, vs_load(&vs->log_number));
    if (vs->cf_id == 0) {
        s->max_cf_id = vs->sh->max_cf_id;
        s->min_log_keep = vs_load(&vs->sh->min_log_keep);
    } else if (!rc) {
        rc = st_version_edit_set_cf_add(s, vs->cf_name);
    }
    if (!rc && vs->merge_name[0]) {
        rc = st_version_edit_set_merge_operator(s, vs->merge_name);
    }
    for (int level = 0; level < vs->num_levels && !rc; level++) {
        if (vs->pointers[level].len > 0) {
            rc = st_version_edit_set_pointer(s, level, st_buf_slice(&vs->pointers[level]));
        }
        for (int i = 0; i < v->nfiles[level] && !rc; i++) {
            rc = st_version_edit_add_file(s, level, v->files[level][i]);
        }
    }
    return rc;
}

/* The first records of a new MANIFEST, one per live family (default first), each as a
 * fixed32-length-prefixed record in out. */
static int encode_snapshot(st_vset *vs, st_buf *out)
{
    int rc = 0;
    for (int f = 0; f < vs->sh->nfams && !rc; f++) {
        st_version_edit s;
        st_version_edit_init(&s);
        st_buf rec = ST_BUF_INIT;
        rc = encode_family_snapshot(vs->sh->fams[f], &s);
        rc = rc ? rc : st_version_edit_encode(&s, &rec);
        if (!rc && (st_buf_put_fixed32(out, (uint32_t)rec.len) ||
                    st_buf_append(out, rec.data, rec.len))) {
            rc = st_err(STRATA_E_NOMEM, "MANIFEST snapshot: out of memory");
        }
        st_buf_free(&rec);
        st_version_edit_clear(&s);
    }
    return rc;
}

/* Completes edit's counters from the vset (never recording a next-file or last-sequence value
 * lower than one already handed out). */
static void fill_counters(st_vset *vs, st_version_edit *e)
{
    e->cf_id = vs->cf_id;
    if (!e->has_log_number) {
        st_version_edit_set_log_number(e, vs_load(&vs->log_number));
    }
    if (!e->has_prev_log_number) {
        st_version_edit_set_prev_log_number(e, vs_load(&vs->sh->prev_log_number));
    }
    st_vshared *sh = vs->sh;
    if ((sh->max_cf_id > 0 || e->cf_add) && sh->min_log_wanted > vs_load(&sh->min_log_keep)) {
        e->min_log_keep = sh->min_log_wanted;
    }
    uint64_t next = vs_load(&vs->sh->next_file_number), last = vs_load(&vs->sh->last_seq);
    if (!e->has_next_file || e->next_file_number < next) {
        st_version_edit_set_next_file(e, next);
    }
    if (!e->has_last_seq || e->last_seq < last) {
        st_version_edit_set_last_seq(e, last);
    }
}

/* Builds current + edit into job->v (finalized). */
static int build_version(st_vset *vs, const st_version_edit *e, manifest_job *job)
{
    st_vbuilder *b = NULL;
    int rc = st_vbuilder_create(vs, vs->current, &b);
    if (!rc) {
        rc = st_vbuilder_apply(b, e);
    }
    if (!rc) {
        job->v = st_version_alloc(vs);
        rc = job->v ? st_vbuilder_save(b, job->v)
                    : st_err(STRATA_E_NOMEM, "log_and_apply: out of memory");
    }
    if (!rc) {
        st_version_finalize(job->v);
    }
    st_vbuilder_destroy(b);
    return rc;
}

/* Under the mutex: counters, the new version and the encoded records. */
static int prepare(st_vset *vs, st_version_edit *e, manifest_job *job)
{
    st_vshared *sh = vs->sh;
    if (vs->dropped || (!vs->current && !e->cf_add)) {
        return st_err(STRATA_E_INVALID, "column family %s was dropped", vs->cf_name);
    }
    job->switch_manifest = !sh->manifest || sh->force_new_manifest ||
                           st_log_writer_size(sh->manifest) >= sh->max_manifest_size;
    sh->force_new_manifest = 0;
    if (job->switch_manifest) {
        job->new_number = st_vset_new_file_number(vs);
    }
    for (int i = 0; i < e->n_new; i++) {
        st_vset_mark_file_number_used(vs, e->new_files[i].meta->number); /* never reissued */
    }
    fill_counters(vs, e);
    int rc = 0;
    if (vs->want_merge && strcmp(vs->want_merge, vs->merge_name) != 0) {
        rc = st_version_edit_set_merge_operator(e, vs->want_merge); /* first use: record it */
    }
    rc = rc ? rc : build_version(vs, e, job);
    if (!rc && job->switch_manifest) {
        rc = encode_snapshot(vs, &job->snapshot);
    }
    if (!rc) {
        rc = st_version_edit_encode(e, &job->record);
    }
    return rc;
}

/* 0 only if CURRENT certainly does not name MANIFEST-number (a failed st_set_current_file may
 * have renamed anyway; when CURRENT cannot be read, keeping an orphan beats deleting the live
 * MANIFEST). */
static int current_may_name(st_vset *vs, uint64_t number)
{
    uint64_t cur = 0;
    return read_current(vs, &cur) != 0 || cur == number;
}

/* Writes a new MANIFEST (snapshot, edit), syncs it and points CURRENT at it.  On failure the new
 * file is removed unless CURRENT already names it. */
static int write_new_manifest(st_vset *vs, manifest_job *job)
{
    st_wfile *f = NULL;
    char *fname = st_filename(vs->dbname, ST_FILE_MANIFEST, job->new_number);
    int rc = fname ? st_env_new_writable(vs->env, fname, &f)
                   : st_err(STRATA_E_NOMEM, "new MANIFEST: out of memory");
    if (!rc) {
        rc = st_log_writer_create(f, 0, &job->new_w); /* owns f, also on error */
    }
    if (!rc) {
        rc = st_log_writer_protect(job->new_w, vs->integ, job->new_number, ST_CRYPT_FILE_MANIFEST);
    }
    st_slice snap = st_buf_slice(&job->snapshot);
    while (!rc && snap.size >= 4) {
        uint32_t len = st_decode_fixed32(snap.data);
        rc = st_log_writer_add(job->new_w, st_slice_make(snap.data + 4, len));
        st_slice_remove_prefix(&snap, 4 + (size_t)len);
    }
    if (!rc) {
        rc = st_log_writer_add(job->new_w, st_buf_slice(&job->record));
    }
    if (!rc) {
        rc = st_log_writer_sync(job->new_w);
    }
    if (!rc) {
        rc = st_set_current_file(vs->env, vs->dbname, job->new_number);
    }
    if (rc && job->new_w) {
        st_log_writer_close(job->new_w);
        job->new_w = NULL;
    }
    if (rc && fname) {
        char saved[ST_ERRMSG_MAX];
        snprintf(saved, sizeof(saved), "%s", st_errmsg());
        if (!current_may_name(vs, job->new_number)) {
            st_env_remove_file(vs->env, fname);
        }
        st_err_set(rc, saved);
    }
    st_free(fname);
    return rc;
}

/* Without the mutex (the writing flag keeps vs->manifest ours).  On success after a switch the
 * old MANIFEST is closed; after a failed append it is closed too, since it may now end in a
 * partial record that nothing may follow — the next log_and_apply starts a fresh MANIFEST. */
static int write_manifest(st_vset *vs, manifest_job *job)
{
    int rc;
    if (job->switch_manifest) {
        rc = write_new_manifest(vs, job);
        if (!rc) {
            st_log_writer_close(vs->sh->manifest);
            vs->sh->manifest = job->new_w;
            job->new_w = NULL;
            vs_store(&vs->sh->manifest_number, job->new_number);
        }
        return rc;
    }
    rc = st_log_writer_add(vs->sh->manifest, st_buf_slice(&job->record));
    if (!rc) {
        rc = st_log_writer_sync(vs->sh->manifest);
    }
    if (rc) {
        st_log_writer_close(vs->sh->manifest);
        vs->sh->manifest = NULL;
    }
    return rc;
}

/* Under the mutex again: install the version and the edit's counters. */
static void install(st_vset *vs, const st_version_edit *e, manifest_job *job)
{
    if (job->switch_manifest) {
        st_log(vs->info_log, "started MANIFEST-%06" PRIu64, job->new_number);
    }
    st_vset_apply_pointers(vs, e); /* pointers are hints: out of memory just keeps the old one */
    if (e->merge_operator) {
        snprintf(vs->merge_name, sizeof(vs->merge_name), "%s", e->merge_operator);
    }
    vs_store(&vs->log_number, e->log_number);
    vs_store(&vs->sh->prev_log_number, e->prev_log_number);
    if (e->max_cf_id > vs->sh->max_cf_id) {
        vs->sh->max_cf_id = e->max_cf_id;
    }
    if (e->min_log_keep > vs_load(&vs->sh->min_log_keep)) {
        vs_store(&vs->sh->min_log_keep, e->min_log_keep);
    }
    st_vset_install(vs, job->v);
    job->v = NULL;
}

void st_vset_force_new_manifest(st_vset *vs)
{
    vs->sh->force_new_manifest = 1;
}

int st_vset_log_and_apply(st_vset *vs, st_version_edit *edit, st_mutex *mu)
{
    st_mutex_assert_held(mu);
    st_vshared *sh = vs->sh;
    while (sh->writing) {
        st_cond_wait(&sh->write_cv, mu);
    }
    sh->writing = 1;
    manifest_job job = {.snapshot = ST_BUF_INIT, .record = ST_BUF_INIT};
    int rc = prepare(vs, edit, &job);
    if (!rc) {
        st_mutex_unlock(mu);
        rc = write_manifest(vs, &job);
        st_mutex_lock(mu);
        if (!rc) {
            install(vs, edit, &job);
        } else {
            st_log(vs->info_log, "MANIFEST write failed: %s", st_errmsg());
        }
    }
    st_version_free(job.v);
    st_buf_free(&job.snapshot);
    st_buf_free(&job.record);
    sh->writing = 0;
    st_cond_broadcast(&sh->write_cv);
    return rc;
}
