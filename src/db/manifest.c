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
static int read_current(st_vset *vs, uint64_t *number)
{
    char *fname = st_filename(vs->dbname, ST_FILE_CURRENT, 0);
    char *data = NULL;
    size_t len = 0;
    if (!fname) {
        return st_err(STRATA_E_NOMEM, "reading CURRENT: out of memory");
    }
    int rc = st_env_read_file(vs->env, fname, CURRENT_MAX_SIZE, &data, &len);
    if (rc == STRATA_E_NOTFOUND) {
        st_err(rc, "%s does not exist", fname);
    } else if (rc == STRATA_E_CORRUPTION || (!rc && !parse_current(data, len, number))) {
        rc = st_err(STRATA_E_CORRUPTION, "%s: CURRENT file is malformed", fname);
    }
    st_free(data);
    st_free(fname);
    return rc;
}

/* ---- Recovery ------------------------------------------------------------------------------ */

typedef struct recovery {
    st_vset *vs;
    const char *fname;
    uint64_t number;
    st_vbuilder *builder;
    int has_log, has_prev_log, has_next, has_last;
    uint64_t log_number, prev_log_number, next_file, last_seq;
} recovery;

static int check_comparator(const recovery *r, const st_version_edit *e)
{
    const char *want = st_comparator_name(r->vs->ucmp);
    if (e->comparator && strcmp(e->comparator, want) != 0) {
        return st_err(STRATA_E_INVALID, "comparator mismatch: db uses %s, options give %s",
                      e->comparator, want);
    }
    return 0;
}

static void take_scalars(recovery *r, const st_version_edit *e)
{
    if (e->has_log_number) {
        r->has_log = 1;
        r->log_number = e->log_number;
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

/* Decodes and applies one MANIFEST record. */
static int replay_record(recovery *r, st_slice rec, uint64_t offset)
{
    st_version_edit e;
    st_version_edit_init(&e);
    int rc = st_version_edit_decode(&e, rec);
    if (!rc) {
        rc = check_comparator(r, &e);
    }
    if (!rc && e.merge_operator) {
        snprintf(r->vs->merge_name, sizeof(r->vs->merge_name), "%s", e.merge_operator);
    }
    if (!rc) {
        rc = st_vbuilder_apply(r->builder, &e);
    }
    if (!rc) {
        rc = st_vset_apply_pointers(r->vs, &e);
    }
    if (!rc) {
        take_scalars(r, &e);
    } else if (rc != STRATA_E_NOMEM) {
        st_err_context(rc, "%s: record at offset %" PRIu64, r->fname, offset);
    }
    st_version_edit_clear(&e);
    return rc;
}

static int replay_log(recovery *r)
{
    st_sfile *file = NULL;
    st_log_reader *reader = NULL;
    int rc = st_env_new_sequential(r->vs->env, r->fname, &file);
    if (rc == STRATA_E_NOTFOUND) {
        return st_err(STRATA_E_CORRUPTION, "CURRENT names %s, which does not exist", r->fname);
    }
    if (!rc) {
        rc = st_log_reader_create(file, r->fname, 0, &reader); /* owns file, also on error */
    }
    if (!rc) {
        st_log_reader_set_integrity(reader, r->vs->integ, r->number, ST_CRYPT_FILE_MANIFEST);
    }
    while (!rc) {
        st_slice rec;
        uint64_t offset = 0;
        int got = st_log_reader_read(reader, &rec, &offset);
        if (got <= 0) {
            rc = got; /* 0: end of log (a torn last record is dropped by the reader) */
            break;
        }
        rc = replay_record(r, rec, offset);
    }
    st_log_reader_close(reader);
    return rc;
}

static int check_required(const recovery *r)
{
    const char *missing = !r->has_log    ? "log number"
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
    st_vset_mark_file_number_used(vs, r->next_file ? r->next_file - 1 : 0);
    vs_store(&vs->manifest_number, manifest_number);
    vs_store(&vs->log_number, r->log_number);
    vs_store(&vs->prev_log_number, r->has_prev_log ? r->prev_log_number : 0);
    vs_store(&vs->last_seq, r->last_seq);
    st_vset_mark_file_number_used(vs, manifest_number);
    st_vset_mark_file_number_used(vs, r->log_number);
    st_vset_mark_file_number_used(vs, r->prev_log_number);
    const st_version *v = vs->current;
    for (int level = 0; level < v->num_levels; level++) {
        for (int i = 0; i < v->nfiles[level]; i++) {
            st_vset_mark_file_number_used(vs, v->files[level][i]->number);
        }
    }
}

int st_vset_recover(st_vset *vs)
{
    uint64_t number = 0;
    recovery r = {.vs = vs};
    st_version *v = NULL;
    char *fname = NULL;
    assert(!vs->manifest);
    int rc = read_current(vs, &number);
    if (rc) {
        return rc;
    }
    fname = st_filename(vs->dbname, ST_FILE_MANIFEST, number);
    rc = fname ? st_vbuilder_create(vs, vs->current, &r.builder)
               : st_err(STRATA_E_NOMEM, "recovery: out of memory");
    r.fname = fname;
    r.number = number;
    if (!rc) {
        rc = replay_log(&r);
    }
    if (!rc) {
        rc = check_required(&r);
    }
    if (!rc && vs->want_merge && vs->merge_name[0] && strcmp(vs->want_merge, vs->merge_name)) {
        rc = st_err(STRATA_E_INVALID, "merge operator mismatch: db uses %s, options give %s",
                    vs->merge_name, vs->want_merge);
    }
    if (!rc) {
        v = st_version_alloc(vs);
        rc = v ? st_vbuilder_save(r.builder, v) : st_err(STRATA_E_NOMEM, "recovery: out of memory");
    }
    if (!rc) {
        st_version_finalize(v);
        st_vset_install(vs, v);
        v = NULL;
        adopt_counters(vs, &r, number);
        st_log(vs->info_log, "recovered %s: next file %" PRIu64 ", last seq %" PRIu64
               ", log %" PRIu64, fname, r.next_file, r.last_seq, r.log_number);
    } else if (rc != STRATA_E_NOMEM && fname && !strstr(st_errmsg(), fname)) {
        st_err_context(rc, "%s", fname);
    }
    st_version_free(v);
    st_vbuilder_destroy(r.builder);
    st_free(fname);
    return rc;
}

/* ---- Writing ------------------------------------------------------------------------------- */

/* Everything one log_and_apply prepares under the mutex and then writes without it. */
typedef struct manifest_job {
    st_version *v;        /* the version to install */
    int switch_manifest;  /* start a new MANIFEST */
    uint64_t new_number;  /* its number */
    st_buf snapshot;      /* its first record (when switching) */
    st_buf record;        /* the encoded edit */
    st_log_writer *new_w; /* the new MANIFEST once written */
} manifest_job;

/* The first record of a new MANIFEST: the whole state of the current version. */
static int encode_snapshot(st_vset *vs, st_buf *out)
{
    st_version_edit s;
    st_version_edit_init(&s);
    const st_version *v = vs->current;
    int rc = st_version_edit_set_comparator(&s, st_comparator_name(vs->ucmp));
    if (!rc && vs->merge_name[0]) {
        rc = st_version_edit_set_merge_operator(&s, vs->merge_name);
    }
    for (int level = 0; level < vs->num_levels && !rc; level++) {
        if (vs->pointers[level].len > 0) {
            rc = st_version_edit_set_pointer(&s, level, st_buf_slice(&vs->pointers[level]));
        }
        for (int i = 0; i < v->nfiles[level] && !rc; i++) {
            rc = st_version_edit_add_file(&s, level, v->files[level][i]);
        }
    }
    if (!rc) {
        rc = st_version_edit_encode(&s, out);
    }
    st_version_edit_clear(&s);
    return rc;
}

/* Completes edit's counters from the vset (never recording a next-file or last-sequence value
 * lower than one already handed out). */
static void fill_counters(st_vset *vs, st_version_edit *e)
{
    if (!e->has_log_number) {
        st_version_edit_set_log_number(e, vs_load(&vs->log_number));
    }
    if (!e->has_prev_log_number) {
        st_version_edit_set_prev_log_number(e, vs_load(&vs->prev_log_number));
    }
    uint64_t next = vs_load(&vs->next_file_number), last = vs_load(&vs->last_seq);
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
    job->switch_manifest = !vs->manifest || vs->force_new_manifest ||
                           st_log_writer_size(vs->manifest) >= vs->max_manifest_size;
    vs->force_new_manifest = 0;
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
    if (!rc) {
        rc = st_log_writer_add(job->new_w, st_buf_slice(&job->snapshot));
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
            st_log_writer_close(vs->manifest);
            vs->manifest = job->new_w;
            job->new_w = NULL;
            vs_store(&vs->manifest_number, job->new_number);
        }
        return rc;
    }
    rc = st_log_writer_add(vs->manifest, st_buf_slice(&job->record));
    if (!rc) {
        rc = st_log_writer_sync(vs->manifest);
    }
    if (rc) {
        st_log_writer_close(vs->manifest);
        vs->manifest = NULL;
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
    vs_store(&vs->prev_log_number, e->prev_log_number);
    st_vset_install(vs, job->v);
    job->v = NULL;
}

void st_vset_force_new_manifest(st_vset *vs)
{
    vs->force_new_manifest = 1;
}

int st_vset_log_and_apply(st_vset *vs, st_version_edit *edit, st_mutex *mu)
{
    st_mutex_assert_held(mu);
    while (vs->writing) {
        st_cond_wait(&vs->write_cv, mu);
    }
    vs->writing = 1;
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
    vs->writing = 0;
    st_cond_broadcast(&vs->write_cv);
    return rc;
}
