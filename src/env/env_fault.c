/* env_fault.c — a fault-injecting env over any base env (tests only): simulated power loss and
 * failure injection, as specified in env_fault.h.
 *
 * Power-loss model (what st_env_fault_power_loss leaves behind):
 *  - File data.  Every file written through this env has a record holding its synced length: the
 *    size the writer had reached at its last successful sync.  Power loss cuts the file back to
 *    that length (a file never synced becomes empty).  new_writable on an existing file truncates
 *    it at once and durably (the old contents never come back); the file's synced length is 0.
 *    Files this env never wrote (they existed before, or were written by someone else) are
 *    assumed fully durable.  st_env_fault_writeback (simulated kernel writeback of chosen files)
 *    raises a record's synced length to the base file's current size.
 *  - Directory entries.  Every creation (new_writable of a missing file), rename and removal is
 *    appended to an operation log and stays "pending" until sync_dir on its directory (both
 *    directories for a rename across directories).  Power loss undoes the pending operations,
 *    newest first: a created file is removed, a rename is reverted (and a file it replaced comes
 *    back), a removed file comes back.  Because within one directory sync_dir commits every
 *    pending operation, the pending operations of a directory are always the newest ones there,
 *    so undoing in reverse order reproduces the directory as of its last sync.
 *  - Retention.  A removed or replaced file must be restorable until its directory is synced, so
 *    it is not deleted: it is renamed to a hidden name ".strata-fault-<pid>-<n>" in the same
 *    directory, which list_dir never shows.  Committing the operation (sync_dir) deletes it for
 *    real; so does remove_dir (which first commits the directory's pending operations) and
 *    destroying the fault env.  Open handles keep working on the hidden file, as on POSIX.
 *  - Not modelled: creation and removal of directories (durable at once), lock files (created
 *    by lock_file without a log entry), and the metadata of files that are only read.
 *  - Handles.  Power loss closes the base handle behind every open handle (flushing buffered
 *    bytes before the files are cut, so nothing written before the cut lands after it) and
 *    releases every lock, as a dying process would.  The handles stay dead for good: every call
 *    fails with STRATA_E_IO; closing them just frees them.  Until st_env_fault_reset, every env
 *    call fails with STRATA_E_IO too (the machine is off).
 *
 * Concurrency: every call holds the "gate" rwlock shared; power loss holds it exclusive, so it
 * never runs concurrently with a base call.  mu guards records, the operation log and the handle
 * list, and is held across base namespace calls so the log order matches the base's order.
 * imu guards only failure injection and counters.  Lock order: gate, mu, imu. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "env/env_fault.h"
#include "util/alloc.h"
#include "util/mutex.h"
#include "util/status.h"

#define HIDDEN_PREFIX ".strata-fault-"
#define NUM_OPS 7
#define CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* A file written through this env: its durable length. */
struct frec {
    int refs;   /* the env's list while linked, plus every open writer */
    int linked; /* in fault_env.recs */
    char *path; /* current normalized base path, possibly a hidden name */
    uint64_t synced;
    struct frec *next;
};

enum { OP_CREATE, OP_RENAME, OP_REMOVE };

/* A directory entry operation not yet made durable by sync_dir. */
struct dirop {
    int kind;
    char *path;    /* CREATE, REMOVE: the name; RENAME: the destination */
    char *from;    /* RENAME: the source */
    char *hidden;  /* REMOVE: where the removed file waits; RENAME: the replaced target, or NULL */
    char *dir[2];  /* the directories whose sync commits it (dir[1] NULL if only one) */
    int pending[2];
};

enum { H_WFILE, H_RFILE, H_SFILE, H_LOCK };

struct fault_env;

/* Common part of every handle this env hands out. */
struct fhandle {
    int kind;
    int dead; /* written under the exclusive gate, read under the shared gate */
    char *path;
    struct fault_env *env;
    struct fhandle *prev, *next; /* open handles */
};

struct fault_env {
    st_env base;
    st_env *under;
    pthread_rwlock_t gate;
    int down; /* after power loss, until reset; written under the exclusive gate */
    st_mutex mu; /* guards recs, ops, nops, capops, handles */
    struct frec *recs;
    struct dirop **ops; /* oldest first */
    size_t nops, capops;
    struct fhandle *handles;
    st_mutex imu; /* guards the rest */
    int armed;
    int fail_ops, sticky, code;
    char *substr;
    long nth, seen;
    long counts[NUM_OPS];
    long injected;
};

struct fault_wfile {
    st_wfile base;
    struct fhandle h;
    st_wfile *f;
    struct frec *rec;
    uint64_t size;
};

struct fault_rfile {
    st_rfile base;
    struct fhandle h;
    st_rfile *f;
};

struct fault_sfile {
    st_sfile base;
    struct fhandle h;
    st_sfile *f;
};

struct fault_lock {
    struct fhandle h;
    st_filelock *l;
};

/* ---- Gate, failure injection ----------------------------------------------------------------- */

/* Enters a call that needs the machine up. */
static int gate_enter(struct fault_env *fe, const char *what, const char *path)
{
    pthread_rwlock_rdlock(&fe->gate);
    if (fe->down) {
        pthread_rwlock_unlock(&fe->gate);
        return st_err(STRATA_E_IO, "%s %s: power lost (fault env, not reset)", what, path);
    }
    return 0;
}

/* Enters a call on a handle that must still be alive. */
static int handle_enter(struct fhandle *h, const char *what)
{
    pthread_rwlock_rdlock(&h->env->gate);
    if (h->dead) {
        pthread_rwlock_unlock(&h->env->gate);
        return st_err(STRATA_E_IO, "%s %s: handle died in a power loss (fault env)", what,
                      h->path);
    }
    return 0;
}

static void gate_exit(struct fault_env *fe)
{
    pthread_rwlock_unlock(&fe->gate);
}

static const char *op_name(int op)
{
    switch (op) {
    case ST_FAULT_WRITE: return "write";
    case ST_FAULT_SYNC: return "sync";
    case ST_FAULT_SYNC_DIR: return "sync_dir";
    case ST_FAULT_RENAME: return "rename";
    case ST_FAULT_CREATE: return "create";
    case ST_FAULT_READ: return "read";
    default: return "remove";
    }
}

static int path_matches(const char *substr, const char *p1, const char *p2)
{
    return !substr || (p1 && strstr(p1, substr)) || (p2 && strstr(p2, substr));
}

/* Counts one call of kind op on p1 (and p2) and returns the injected code if it must fail. */
static int inject(struct fault_env *fe, int op, const char *p1, const char *p2)
{
    int rc = 0;
    st_mutex_lock(&fe->imu);
    fe->counts[__builtin_ctz((unsigned)op)]++;
    if (fe->armed && (fe->fail_ops & op) && path_matches(fe->substr, p1, p2)) {
        long idx = fe->seen++;
        if (idx == fe->nth || (fe->sticky && idx > fe->nth)) {
            fe->injected++;
            rc = fe->code;
        }
    }
    st_mutex_unlock(&fe->imu);
    if (rc) {
        return st_err(rc, "%s %s: injected fault (%s)", op_name(op), p1, strata_strerror(rc));
    }
    return 0;
}

/* ---- Records --------------------------------------------------------------------------------- */

static struct frec *rec_find(struct fault_env *fe, const char *path) ST_REQUIRES(fe->mu)
{
    for (struct frec *r = fe->recs; r; r = r->next) {
        if (strcmp(r->path, path) == 0) {
            return r;
        }
    }
    return NULL;
}

static void rec_unref(struct frec *r)
{
    if (r && --r->refs == 0) {
        st_free(r->path);
        st_free(r);
    }
}

static void rec_unlink(struct fault_env *fe, struct frec *r) ST_REQUIRES(fe->mu)
{
    for (struct frec **pp = &fe->recs; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            r->linked = 0;
            rec_unref(r);
            return;
        }
    }
}

static void rec_drop(struct fault_env *fe, const char *path) ST_REQUIRES(fe->mu)
{
    struct frec *r = rec_find(fe, path);
    if (r) {
        rec_unlink(fe, r);
    }
}

/* The record for path moves to newp (owned; freed if there is no record). */
static void rec_move(struct fault_env *fe, const char *path, char *newp) ST_REQUIRES(fe->mu)
{
    struct frec *r = rec_find(fe, path);
    if (!r) {
        st_free(newp);
        return;
    }
    st_free(r->path);
    r->path = newp;
}

/* Same, copying newp; on allocation failure the record is dropped (the file then counts as
 * durable) and STRATA_E_NOMEM returned. */
static int rec_move_copy(struct fault_env *fe, const char *path, const char *newp)
    ST_REQUIRES(fe->mu)
{
    char *p = st_strdup(newp);
    if (!p) {
        rec_drop(fe, path);
        return st_err(STRATA_E_NOMEM, "fault env: out of memory restoring %s", newp);
    }
    rec_move(fe, path, p);
    return 0;
}

/* ---- Operation log --------------------------------------------------------------------------- */

static void dirop_free(struct dirop *op)
{
    if (op) {
        st_free(op->path);
        st_free(op->from);
        st_free(op->hidden);
        st_free(op->dir[0]);
        st_free(op->dir[1]);
        st_free(op);
    }
}

/* A new pending operation (strings copied); NULL when out of memory. */
static struct dirop *dirop_new(int kind, const char *path, const char *from, const char *hidden)
{
    struct dirop *op = st_calloc(1, sizeof(*op));
    if (!op) {
        return NULL;
    }
    op->kind = kind;
    op->path = st_strdup(path);
    op->from = from ? st_strdup(from) : NULL;
    op->hidden = hidden ? st_strdup(hidden) : NULL;
    op->dir[0] = st_path_dirname(path);
    op->dir[1] = from ? st_path_dirname(from) : NULL;
    if (!op->path || (from && (!op->from || !op->dir[1])) || (hidden && !op->hidden) ||
        !op->dir[0]) {
        dirop_free(op);
        return NULL;
    }
    if (op->dir[1] && strcmp(op->dir[0], op->dir[1]) == 0) {
        st_free(op->dir[1]);
        op->dir[1] = NULL;
    }
    op->pending[0] = 1;
    op->pending[1] = op->dir[1] != NULL;
    return op;
}

/* Makes room for one more operation, so the push after a base call cannot fail. */
static int ops_reserve(struct fault_env *fe) ST_REQUIRES(fe->mu)
{
    if (fe->nops < fe->capops) {
        return 0;
    }
    size_t ncap = fe->capops ? fe->capops * 2 : 16;
    struct dirop **p = st_realloc(fe->ops, ncap * sizeof(*p));
    if (!p) {
        return st_err(STRATA_E_NOMEM, "fault env: out of memory growing the operation log");
    }
    fe->ops = p;
    fe->capops = ncap;
    return 0;
}

static void ops_push(struct fault_env *fe, struct dirop *op) ST_REQUIRES(fe->mu)
{
    fe->ops[fe->nops++] = op;
}

/* Deletes what a committed operation retained. */
static void dirop_commit(struct fault_env *fe, struct dirop *op) ST_REQUIRES(fe->mu)
{
    if (op->hidden) {
        (void)st_env_remove_file(fe->under, op->hidden);
        rec_drop(fe, op->hidden);
    }
    dirop_free(op);
}

/* dir has been synced: its pending operations become durable. */
static void commit_dir(struct fault_env *fe, const char *dir) ST_REQUIRES(fe->mu)
{
    size_t keep = 0;
    for (size_t i = 0; i < fe->nops; i++) {
        struct dirop *op = fe->ops[i];
        for (int k = 0; k < 2; k++) {
            if (op->dir[k] && strcmp(op->dir[k], dir) == 0) {
                op->pending[k] = 0;
            }
        }
        if (op->pending[0] || op->pending[1]) {
            fe->ops[keep++] = op;
        } else {
            dirop_commit(fe, op);
        }
    }
    fe->nops = keep;
}

/* Undoes one pending operation in the base env. */
static int dirop_undo(struct fault_env *fe, const struct dirop *op) ST_REQUIRES(fe->mu)
{
    int rc = 0, rc2 = 0;
    st_env *b = fe->under;
    switch (op->kind) {
    case OP_CREATE:
        rc = st_env_remove_file(b, op->path);
        rec_drop(fe, op->path);
        break;
    case OP_REMOVE:
        if ((rc = st_env_rename_file(b, op->hidden, op->path)) == 0) {
            rc = rec_move_copy(fe, op->hidden, op->path);
        }
        break;
    default: /* OP_RENAME */
        if ((rc = st_env_rename_file(b, op->path, op->from)) == 0) {
            rc = rec_move_copy(fe, op->path, op->from);
        }
        if (op->hidden && (rc2 = st_env_rename_file(b, op->hidden, op->path)) == 0) {
            rc2 = rec_move_copy(fe, op->hidden, op->path);
        }
        break;
    }
    return rc ? rc : rc2;
}

/* ---- Helpers for namespace calls ------------------------------------------------------------- */

enum { KIND_ABSENT, KIND_FILE, KIND_DIR };

/* What path is in the base env (KIND_*), or an error code. */
static int base_kind(struct fault_env *fe, const char *path)
{
    if (!st_env_exists(fe->under, path)) {
        return KIND_ABSENT;
    }
    char **names = NULL;
    int n = 0;
    int rc = st_env_list_dir(fe->under, path, &names, &n);
    st_env_free_names(names, n);
    if (rc == STRATA_E_NOMEM) {
        return rc;
    }
    return rc == 0 ? KIND_DIR : KIND_FILE; /* listing a file fails with ENOTDIR */
}

/* A fresh hidden name in the directory of path. Owned; NULL when out of memory. */
static char *hidden_name(const char *path)
{
    static atomic_ulong seq;
    unsigned long n = atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed);
    char *dir = st_path_dirname(path);
    if (!dir) {
        return NULL;
    }
    size_t len = strlen(dir) + sizeof(HIDDEN_PREFIX) + 48;
    char *h = st_malloc(len);
    if (h) {
        snprintf(h, len, "%s%s" HIDDEN_PREFIX "%ld-%lu", strcmp(dir, ".") == 0 ? "" : dir,
                 strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0 ? "" : "/", (long)getpid(), n);
    }
    st_free(dir);
    return h;
}

static int nomem(const char *what, const char *path)
{
    return st_err(STRATA_E_NOMEM, "%s %s: out of memory (fault env)", what, path);
}

static void handle_link(struct fault_env *fe, struct fhandle *h, int kind, char *path)
    ST_REQUIRES(fe->mu)
{
    h->kind = kind;
    h->path = path;
    h->env = fe;
    h->prev = NULL;
    h->next = fe->handles;
    if (fe->handles) {
        fe->handles->prev = h;
    }
    fe->handles = h;
}

static void handle_unlink(struct fault_env *fe, struct fhandle *h) ST_REQUIRES(fe->mu)
{
    if (h->prev) {
        h->prev->next = h->next;
    } else {
        fe->handles = h->next;
    }
    if (h->next) {
        h->next->prev = h->prev;
    }
    h->prev = h->next = NULL;
}

/* ---- Writable files -------------------------------------------------------------------------- */

static int fw_append(st_wfile *base, const void *data, size_t n)
{
    struct fault_wfile *w = (struct fault_wfile *)base;
    int rc = handle_enter(&w->h, "append");
    if (rc) {
        return rc;
    }
    if ((rc = inject(w->h.env, ST_FAULT_WRITE, w->h.path, NULL)) == 0) {
        rc = st_wfile_append(w->f, data, n);
        w->size = st_wfile_size(w->f);
    }
    gate_exit(w->h.env);
    return rc;
}

static int fw_flush(st_wfile *base)
{
    struct fault_wfile *w = (struct fault_wfile *)base;
    int rc = handle_enter(&w->h, "flush");
    if (rc) {
        return rc;
    }
    if ((rc = inject(w->h.env, ST_FAULT_WRITE, w->h.path, NULL)) == 0) {
        rc = st_wfile_flush(w->f);
    }
    gate_exit(w->h.env);
    return rc;
}

static int fw_sync(st_wfile *base)
{
    struct fault_wfile *w = (struct fault_wfile *)base;
    struct fault_env *fe = w->h.env;
    int rc = handle_enter(&w->h, "sync");
    if (rc) {
        return rc;
    }
    if ((rc = inject(fe, ST_FAULT_SYNC, w->h.path, NULL)) == 0 &&
        (rc = st_wfile_sync(w->f)) == 0) {
        st_mutex_lock(&fe->mu);
        w->rec->synced = st_wfile_size(w->f);
        st_mutex_unlock(&fe->mu);
    }
    gate_exit(fe);
    return rc;
}

static int fw_close(st_wfile *base)
{
    struct fault_wfile *w = (struct fault_wfile *)base;
    struct fault_env *fe = w->h.env;
    int rc = handle_enter(&w->h, "close");
    if (rc == 0) {
        rc = st_wfile_close(w->f);
        st_mutex_lock(&fe->mu);
        handle_unlink(fe, &w->h);
        rec_unref(w->rec);
        st_mutex_unlock(&fe->mu);
        gate_exit(fe);
    }
    st_free(w->h.path);
    st_free(w);
    return rc;
}

static uint64_t fw_size(const st_wfile *base)
{
    return ((const struct fault_wfile *)base)->size;
}

static const struct st_wfile_ops fw_ops = {fw_append, fw_flush, fw_sync, fw_close, fw_size};

/* Base part of new_writable, under mu: opens the base file and does the bookkeeping.  rec and op
 * are preallocated candidates; whatever is used is taken (set to NULL). */
static int open_writable(struct fault_env *fe, struct fault_wfile *w, struct frec **rec,
                         struct dirop **op) ST_REQUIRES(fe->mu)
{
    int existed = st_env_exists(fe->under, w->h.path);
    int rc = ops_reserve(fe);
    if (rc || (rc = st_env_new_writable(fe->under, w->h.path, &w->f)) != 0) {
        return rc;
    }
    struct frec *r = rec_find(fe, w->h.path);
    if (!r) {
        r = *rec;
        *rec = NULL;
        r->next = fe->recs;
        fe->recs = r;
    }
    r->synced = 0; /* truncation is durable at once: see the model at the top */
    r->refs++;
    w->rec = r;
    if (!existed) {
        ops_push(fe, *op);
        *op = NULL;
    }
    handle_link(fe, &w->h, H_WFILE, w->h.path);
    return 0;
}

static int new_writable(st_env *env, const char *path, st_wfile **out)
{
    struct fault_env *fe = (struct fault_env *)env;
    *out = NULL;
    int rc = gate_enter(fe, "open", path);
    if (rc) {
        return rc;
    }
    struct fault_wfile *w = st_calloc(1, sizeof(*w));
    struct frec *rec = st_calloc(1, sizeof(*rec));
    char *np = st_path_normalize(path);
    struct dirop *op = np ? dirop_new(OP_CREATE, np, NULL, NULL) : NULL;
    if (rec) {
        rec->refs = rec->linked = 1;
        rec->path = np ? st_strdup(np) : NULL;
    }
    if (!w || !op || !rec || !rec->path) {
        rc = nomem("open", path);
        goto out;
    }
    w->h.path = np;
    if ((rc = inject(fe, ST_FAULT_CREATE, np, NULL)) != 0) {
        goto out;
    }
    st_mutex_lock(&fe->mu);
    rc = open_writable(fe, w, &rec, &op);
    st_mutex_unlock(&fe->mu);
out:
    gate_exit(fe);
    dirop_free(op);
    rec_unref(rec);
    if (rc) {
        st_free(np);
        st_free(w);
        return rc;
    }
    w->base.ops = &fw_ops;
    *out = &w->base;
    return 0;
}

/* ---- Readable files -------------------------------------------------------------------------- */

static int fr_read(st_rfile *base, uint64_t offset, size_t n, char *scratch, st_slice *result)
{
    struct fault_rfile *r = (struct fault_rfile *)base;
    *result = st_slice_make(scratch, 0);
    int rc = handle_enter(&r->h, "read");
    if (rc) {
        return rc;
    }
    if ((rc = inject(r->h.env, ST_FAULT_READ, r->h.path, NULL)) == 0) {
        rc = st_rfile_read(r->f, offset, n, scratch, result);
    }
    gate_exit(r->h.env);
    return rc;
}

/* Frees a read handle of any kind; closes its base handle if it is still alive. */
static void reader_close(struct fhandle *h, void (*close_base)(struct fhandle *h))
{
    struct fault_env *fe = h->env;
    pthread_rwlock_rdlock(&fe->gate);
    if (!h->dead) {
        close_base(h);
        st_mutex_lock(&fe->mu);
        handle_unlink(fe, h);
        st_mutex_unlock(&fe->mu);
    }
    gate_exit(fe);
    st_free(h->path);
}

static void fr_close_base(struct fhandle *h)
{
    st_rfile_close(CONTAINER(h, struct fault_rfile, h)->f);
}

static void fr_close(st_rfile *base)
{
    struct fault_rfile *r = (struct fault_rfile *)base;
    reader_close(&r->h, fr_close_base);
    st_free(r);
}

static const struct st_rfile_ops fr_ops = {fr_read, fr_close, 0};

static int fs_read(st_sfile *base, size_t n, char *scratch, st_slice *result)
{
    struct fault_sfile *s = (struct fault_sfile *)base;
    *result = st_slice_make(scratch, 0);
    int rc = handle_enter(&s->h, "read");
    if (rc) {
        return rc;
    }
    if ((rc = inject(s->h.env, ST_FAULT_READ, s->h.path, NULL)) == 0) {
        rc = st_sfile_read(s->f, n, scratch, result);
    }
    gate_exit(s->h.env);
    return rc;
}

static int fs_skip(st_sfile *base, uint64_t n)
{
    struct fault_sfile *s = (struct fault_sfile *)base;
    int rc = handle_enter(&s->h, "skip");
    if (rc) {
        return rc;
    }
    rc = st_sfile_skip(s->f, n);
    gate_exit(s->h.env);
    return rc;
}

static void fs_close_base(struct fhandle *h)
{
    st_sfile_close(CONTAINER(h, struct fault_sfile, h)->f);
}

static void fs_close(st_sfile *base)
{
    struct fault_sfile *s = (struct fault_sfile *)base;
    reader_close(&s->h, fs_close_base);
    st_free(s);
}

static const struct st_sfile_ops fs_ops = {fs_read, fs_skip, fs_close};

/* Opens a reader of the given kind on the base env into *h's container. */
static int open_reader(struct fault_env *fe, const char *path, int kind, struct fhandle *h)
{
    int rc = gate_enter(fe, "open", path);
    if (rc) {
        return rc;
    }
    char *np = st_path_normalize(path);
    if (!np) {
        rc = nomem("open", path);
    } else if ((rc = inject(fe, ST_FAULT_READ, np, NULL)) == 0) {
        st_mutex_lock(&fe->mu);
        rc = kind == H_RFILE
                 ? st_env_new_random(fe->under, np, &CONTAINER(h, struct fault_rfile, h)->f)
                 : st_env_new_sequential(fe->under, np, &CONTAINER(h, struct fault_sfile, h)->f);
        if (rc == 0) {
            handle_link(fe, h, kind, np);
        }
        st_mutex_unlock(&fe->mu);
    }
    gate_exit(fe);
    if (rc) {
        st_free(np);
    }
    return rc;
}

static int new_random(st_env *env, const char *path, st_rfile **out)
{
    *out = NULL;
    struct fault_rfile *r = st_calloc(1, sizeof(*r));
    if (!r) {
        return nomem("open", path);
    }
    int rc = open_reader((struct fault_env *)env, path, H_RFILE, &r->h);
    if (rc) {
        st_free(r);
        return rc;
    }
    r->base.ops = &fr_ops;
    *out = &r->base;
    return 0;
}

static int new_sequential(st_env *env, const char *path, st_sfile **out)
{
    *out = NULL;
    struct fault_sfile *s = st_calloc(1, sizeof(*s));
    if (!s) {
        return nomem("open", path);
    }
    int rc = open_reader((struct fault_env *)env, path, H_SFILE, &s->h);
    if (rc) {
        st_free(s);
        return rc;
    }
    s->base.ops = &fs_ops;
    *out = &s->base;
    return 0;
}

/* ---- Namespace calls ------------------------------------------------------------------------- */

/* Runs fn(fe, normalized path, arg) inside the gate with mu held. */
typedef int (*ns_fn)(struct fault_env *fe, const char *np, void *arg);

static int with_ns(struct fault_env *fe, const char *what, const char *path, ns_fn fn, void *arg)
{
    int rc = gate_enter(fe, what, path);
    if (rc) {
        return rc;
    }
    char *np = st_path_normalize(path);
    if (!np) {
        rc = nomem(what, path);
    } else {
        st_mutex_lock(&fe->mu);
        rc = fn(fe, np, arg);
        st_mutex_unlock(&fe->mu);
    }
    st_free(np);
    gate_exit(fe);
    return rc;
}

static int ns_exists(struct fault_env *fe, const char *np, void *arg) ST_REQUIRES(fe->mu)
{
    (void)arg;
    return st_env_exists(fe->under, np);
}

static int exists(st_env *env, const char *path)
{
    return with_ns((struct fault_env *)env, "exists", path, ns_exists, NULL) > 0;
}

/* Removes hidden names from a listing, in place. */
static void filter_hidden(char **names, int *n)
{
    int keep = 0;
    for (int i = 0; i < *n; i++) {
        if (strncmp(names[i], HIDDEN_PREFIX, sizeof(HIDDEN_PREFIX) - 1) == 0) {
            st_free(names[i]);
        } else {
            names[keep++] = names[i];
        }
    }
    *n = keep;
}

struct list_args {
    char ***names;
    int *n;
};

static int ns_list(struct fault_env *fe, const char *np, void *arg) ST_REQUIRES(fe->mu)
{
    struct list_args *a = arg;
    int rc = st_env_list_dir(fe->under, np, a->names, a->n);
    if (rc == 0) {
        filter_hidden(*a->names, a->n);
    }
    return rc;
}

static int list_dir(st_env *env, const char *dir, char ***names, int *n)
{
    struct list_args a = {names, n};
    *names = NULL;
    *n = 0;
    return with_ns((struct fault_env *)env, "list", dir, ns_list, &a);
}

static int ns_remove(struct fault_env *fe, const char *np, void *arg) ST_REQUIRES(fe->mu)
{
    (void)arg;
    int rc = inject(fe, ST_FAULT_REMOVE, np, NULL);
    int kind = rc ? rc : base_kind(fe, np);
    if (kind != KIND_FILE) {
        return kind < 0 ? kind : st_env_remove_file(fe->under, np); /* the base names the error */
    }
    char *hidden = hidden_name(np);
    char *hcopy = hidden ? st_strdup(hidden) : NULL;
    struct dirop *op = hidden ? dirop_new(OP_REMOVE, np, NULL, hidden) : NULL;
    if (!op || !hcopy || (rc = ops_reserve(fe)) != 0 ||
        (rc = st_env_rename_file(fe->under, np, hidden)) != 0) {
        rc = rc ? rc : nomem("unlink", np);
        goto out;
    }
    rec_move(fe, np, hcopy);
    hcopy = NULL;
    ops_push(fe, op);
    op = NULL;
out:
    st_free(hidden);
    st_free(hcopy);
    dirop_free(op);
    return rc;
}

static int remove_file(st_env *env, const char *path)
{
    return with_ns((struct fault_env *)env, "unlink", path, ns_remove, NULL);
}

/* Strings a rename needs, allocated before anything changes. */
struct rename_plan {
    char *hidden;  /* where the replaced target goes, or NULL */
    char *hcopy;   /* its record's new path */
    char *tcopy;   /* the moved file's record's new path */
    struct dirop *op;
};

static void plan_free(struct rename_plan *p)
{
    st_free(p->hidden);
    st_free(p->hcopy);
    st_free(p->tcopy);
    dirop_free(p->op);
}

static int plan_rename(struct fault_env *fe, const char *from, const char *to,
                       struct rename_plan *p) ST_REQUIRES(fe->mu)
{
    memset(p, 0, sizeof(*p));
    int kind = base_kind(fe, to);
    if (kind < 0) {
        return kind;
    }
    if (kind == KIND_FILE) {
        if (!(p->hidden = hidden_name(to)) || !(p->hcopy = st_strdup(p->hidden))) {
            return nomem("rename", from);
        }
    }
    p->tcopy = st_strdup(to);
    p->op = dirop_new(OP_RENAME, to, from, p->hidden);
    if (!p->tcopy || !p->op) {
        return nomem("rename", from);
    }
    return ops_reserve(fe);
}

/* Renames from over to, keeping a replaced target under p->hidden. */
static int apply_rename(struct fault_env *fe, const char *from, const char *to,
                        struct rename_plan *p) ST_REQUIRES(fe->mu)
{
    int rc;
    if (p->hidden && (rc = st_env_rename_file(fe->under, to, p->hidden)) != 0) {
        return rc;
    }
    if ((rc = st_env_rename_file(fe->under, from, to)) != 0) {
        if (p->hidden) {
            (void)st_env_rename_file(fe->under, p->hidden, to);
        }
        return rc;
    }
    if (p->hidden) {
        rec_move(fe, to, p->hcopy);
        p->hcopy = NULL;
    }
    rec_move(fe, from, p->tcopy);
    p->tcopy = NULL;
    ops_push(fe, p->op);
    p->op = NULL;
    return 0;
}

static int ns_rename(struct fault_env *fe, const char *from, void *arg) ST_REQUIRES(fe->mu)
{
    char *to = st_path_normalize(arg);
    if (!to) {
        return nomem("rename", from);
    }
    int rc = inject(fe, ST_FAULT_RENAME, from, to);
    if (rc == 0 && (strcmp(from, to) == 0 || !st_env_exists(fe->under, from))) {
        rc = st_env_rename_file(fe->under, from, to); /* a no-op, or the base's error */
    } else if (rc == 0) {
        struct rename_plan p;
        if ((rc = plan_rename(fe, from, to, &p)) == 0) {
            rc = apply_rename(fe, from, to, &p);
        }
        plan_free(&p);
    }
    st_free(to);
    return rc;
}

static int rename_file(st_env *env, const char *from, const char *to)
{
    return with_ns((struct fault_env *)env, "rename", from, ns_rename, (void *)to);
}

static int ns_mkdir(struct fault_env *fe, const char *np, void *arg) ST_REQUIRES(fe->mu)
{
    (void)arg;
    return st_env_create_dir(fe->under, np);
}

static int create_dir(st_env *env, const char *dir)
{
    return with_ns((struct fault_env *)env, "mkdir", dir, ns_mkdir, NULL);
}

static int ns_rmdir(struct fault_env *fe, const char *np, void *arg) ST_REQUIRES(fe->mu)
{
    (void)arg;
    char **names = NULL;
    int n = 0;
    if (st_env_list_dir(fe->under, np, &names, &n) == 0) {
        filter_hidden(names, &n);
        st_env_free_names(names, n);
        if (n == 0) {
            commit_dir(fe, np); /* only retained files remain: they go with the directory */
        }
    }
    return st_env_remove_dir(fe->under, np);
}

static int remove_dir(st_env *env, const char *dir)
{
    return with_ns((struct fault_env *)env, "rmdir", dir, ns_rmdir, NULL);
}

static int ns_size(struct fault_env *fe, const char *np, void *arg) ST_REQUIRES(fe->mu)
{
    return st_env_file_size(fe->under, np, arg);
}

static int file_size(st_env *env, const char *path, uint64_t *size)
{
    *size = 0;
    return with_ns((struct fault_env *)env, "stat", path, ns_size, size);
}

static int ns_syncdir(struct fault_env *fe, const char *np, void *arg) ST_REQUIRES(fe->mu)
{
    (void)arg;
    int rc = inject(fe, ST_FAULT_SYNC_DIR, np, NULL);
    if (rc == 0 && (rc = st_env_sync_dir(fe->under, np)) == 0) {
        commit_dir(fe, np);
    }
    return rc;
}

static int sync_dir(st_env *env, const char *dir)
{
    return with_ns((struct fault_env *)env, "sync_dir", dir, ns_syncdir, NULL);
}

/* ---- Locks ----------------------------------------------------------------------------------- */

static int ns_lock(struct fault_env *fe, const char *np, void *arg) ST_REQUIRES(fe->mu)
{
    struct fault_lock *l = arg;
    char *p = st_strdup(np);
    if (!p) {
        return nomem("lock", np);
    }
    int rc = st_env_lock_file(fe->under, np, &l->l);
    if (rc) {
        st_free(p);
        return rc;
    }
    handle_link(fe, &l->h, H_LOCK, p);
    return 0;
}

static int lock_file(st_env *env, const char *path, st_filelock **out)
{
    *out = NULL;
    struct fault_lock *l = st_calloc(1, sizeof(*l));
    if (!l) {
        return nomem("lock", path);
    }
    int rc = with_ns((struct fault_env *)env, "lock", path, ns_lock, l);
    if (rc) {
        st_free(l);
        return rc;
    }
    *out = (st_filelock *)l;
    return 0;
}

static int unlock_file(st_env *env, st_filelock *lock)
{
    struct fault_env *fe = (struct fault_env *)env;
    struct fault_lock *l = (struct fault_lock *)lock;
    if (!l) {
        return 0;
    }
    int rc = 0;
    pthread_rwlock_rdlock(&fe->gate);
    if (!l->h.dead) { /* a lock that died in a power loss was released then */
        rc = st_env_unlock_file(fe->under, l->l);
        st_mutex_lock(&fe->mu);
        handle_unlink(fe, &l->h);
        st_mutex_unlock(&fe->mu);
    }
    gate_exit(fe);
    st_free(l->h.path);
    st_free(l);
    return rc;
}

/* ---- Clock and threads: the base's ----------------------------------------------------------- */

static uint64_t now_micros(st_env *env)
{
    return st_env_now_micros(((struct fault_env *)env)->under);
}

static void sleep_micros(st_env *env, uint64_t micros)
{
    st_env_sleep_micros(((struct fault_env *)env)->under, micros);
}

static int thread_start(st_env *env, void (*fn)(void *arg), void *arg, st_thread **t)
{
    return st_env_thread_start(((struct fault_env *)env)->under, fn, arg, t);
}

static void thread_join(st_env *env, st_thread *t)
{
    st_env_thread_join(((struct fault_env *)env)->under, t);
}

/* ---- Power loss ------------------------------------------------------------------------------ */

/* Closes the base object behind h and marks it dead.  REQUIRES: the exclusive gate. */
static void handle_kill(struct fault_env *fe, struct fhandle *h) ST_REQUIRES(fe->mu)
{
    if (h->kind == H_WFILE) {
        struct fault_wfile *w = CONTAINER(h, struct fault_wfile, h);
        (void)st_wfile_close(w->f); /* buffered bytes land now, before the files are cut */
        rec_unref(w->rec);
        w->f = NULL;
        w->rec = NULL;
    } else if (h->kind == H_RFILE) {
        st_rfile_close(CONTAINER(h, struct fault_rfile, h)->f);
    } else if (h->kind == H_SFILE) {
        st_sfile_close(CONTAINER(h, struct fault_sfile, h)->f);
    } else {
        (void)st_env_unlock_file(fe->under, CONTAINER(h, struct fault_lock, h)->l);
    }
    h->dead = 1;
}

/* Rewrites path in the base env to its first len bytes. */
static int cut_file(st_env *b, const char *path, uint64_t len)
{
    uint64_t size = 0;
    if (st_env_file_size(b, path, &size) != 0 || size <= len) {
        return 0; /* gone (nothing to cut) or nothing unsynced */
    }
    char *data = st_malloc(len ? (size_t)len : 1);
    st_sfile *in = NULL;
    st_wfile *out = NULL;
    st_slice got = st_slice_make(data, 0);
    int rc = data ? st_env_new_sequential(b, path, &in) : nomem("cut", path);
    if (rc == 0 && (rc = st_sfile_read(in, (size_t)len, data, &got)) == 0 && got.size != len) {
        rc = st_err(STRATA_E_IO, "fault env: %s shrank to %zu bytes, below its synced %llu",
                    path, got.size, (unsigned long long)len);
    }
    if (rc == 0 && (rc = st_env_new_writable(b, path, &out)) == 0) {
        rc = st_wfile_append(out, got.data, got.size);
        int crc = st_wfile_close(out);
        rc = rc ? rc : crc;
    }
    st_sfile_close(in);
    st_free(data);
    return rc;
}

static int lose_power(struct fault_env *fe) ST_REQUIRES(fe->mu)
{
    int rc = 0, r;
    while (fe->handles) {
        struct fhandle *h = fe->handles;
        handle_unlink(fe, h);
        handle_kill(fe, h);
    }
    for (size_t i = fe->nops; i-- > 0;) {
        if ((r = dirop_undo(fe, fe->ops[i])) != 0 && rc == 0) {
            rc = r;
        }
        dirop_free(fe->ops[i]);
    }
    fe->nops = 0;
    while (fe->recs) {
        struct frec *rec = fe->recs;
        if ((r = cut_file(fe->under, rec->path, rec->synced)) != 0 && rc == 0) {
            rc = r;
        }
        rec_unlink(fe, rec); /* every surviving file is now exactly its durable self */
    }
    return rc;
}

int st_env_fault_power_loss(st_env *env)
{
    struct fault_env *fe = (struct fault_env *)env;
    pthread_rwlock_wrlock(&fe->gate);
    st_mutex_lock(&fe->mu);
    int rc = lose_power(fe);
    fe->down = 1;
    st_mutex_unlock(&fe->mu);
    pthread_rwlock_unlock(&fe->gate);
    return rc;
}

void st_env_fault_reset(st_env *env)
{
    struct fault_env *fe = (struct fault_env *)env;
    pthread_rwlock_wrlock(&fe->gate);
    fe->down = 0;
    pthread_rwlock_unlock(&fe->gate);
}

/* ---- Simulated writeback --------------------------------------------------------------------- */

void st_env_fault_writeback(st_env *env, const char *path_substr)
{
    struct fault_env *fe = (struct fault_env *)env;
    pthread_rwlock_rdlock(&fe->gate);
    if (!fe->down) {
        st_mutex_lock(&fe->mu);
        for (struct frec *r = fe->recs; r; r = r->next) {
            uint64_t size = 0;
            if (path_matches(path_substr, r->path, NULL) &&
                st_env_file_size(fe->under, r->path, &size) == 0 && size > r->synced) {
                r->synced = size; /* what the base holds: handed to the OS, not still buffered */
            }
        }
        st_mutex_unlock(&fe->mu);
    }
    gate_exit(fe);
}

/* ---- Failure injection and counters ---------------------------------------------------------- */

void st_env_fault_fail(st_env *env, int ops, const char *path_substr, long nth, int sticky,
                       int code)
{
    struct fault_env *fe = (struct fault_env *)env;
    char *sub = path_substr ? st_strdup(path_substr) : NULL;
    st_mutex_lock(&fe->imu);
    st_free(fe->substr);
    fe->substr = sub;
    /* Without the copy a filter would widen to every path; arm nothing instead. */
    fe->armed = !(path_substr && !sub);
    fe->fail_ops = ops;
    fe->nth = nth;
    fe->sticky = sticky;
    fe->code = code ? code : STRATA_E_IO;
    fe->seen = 0;
    st_mutex_unlock(&fe->imu);
}

void st_env_fault_clear(st_env *env)
{
    struct fault_env *fe = (struct fault_env *)env;
    st_mutex_lock(&fe->imu);
    fe->armed = 0;
    st_free(fe->substr);
    fe->substr = NULL;
    st_mutex_unlock(&fe->imu);
}

long st_env_fault_count(st_env *env, int op)
{
    struct fault_env *fe = (struct fault_env *)env;
    if (op <= 0 || op > ST_FAULT_ALL || (op & (op - 1)) != 0) {
        return 0;
    }
    st_mutex_lock(&fe->imu);
    long n = fe->counts[__builtin_ctz((unsigned)op)];
    st_mutex_unlock(&fe->imu);
    return n;
}

long st_env_fault_injected(st_env *env)
{
    struct fault_env *fe = (struct fault_env *)env;
    st_mutex_lock(&fe->imu);
    long n = fe->injected;
    st_mutex_unlock(&fe->imu);
    return n;
}

/* ---- Lifetime -------------------------------------------------------------------------------- */

/* REQUIRES: every handle of this env closed.  Pending removals become final (their retained
 * files are deleted); pending creations and renames stay as they are in the base. */
void st_env_fault_destroy(st_env *env)
{
    struct fault_env *fe = (struct fault_env *)env;
    if (!fe) {
        return;
    }
    st_mutex_lock(&fe->mu);
    for (size_t i = 0; i < fe->nops; i++) {
        dirop_commit(fe, fe->ops[i]);
    }
    st_free(fe->ops);
    while (fe->recs) {
        rec_unlink(fe, fe->recs);
    }
    st_mutex_unlock(&fe->mu);
    st_free(fe->substr);
    pthread_rwlock_destroy(&fe->gate);
    st_mutex_destroy(&fe->mu);
    st_mutex_destroy(&fe->imu);
    st_free(fe);
}

static const struct st_env_ops fault_ops = {
    new_writable, new_random, new_sequential, exists,      list_dir,     remove_file,
    rename_file,  create_dir, remove_dir,     file_size,   sync_dir,     lock_file,
    unlock_file,  now_micros, sleep_micros,   thread_start, thread_join, st_env_fault_destroy,
    NULL, /* no mappings: every read goes through fault injection */
    NULL, /* logs use new_writable, so their appends go through fault injection */
    NULL, /* thread priorities are the host's business */
};

st_env *st_env_fault_create(st_env *base)
{
    struct fault_env *fe = st_calloc(1, sizeof(*fe));
    if (!fe) {
        return NULL;
    }
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* Power loss must not starve behind a stream of readers. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int err = pthread_rwlock_init(&fe->gate, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (err != 0) {
        st_free(fe);
        return NULL;
    }
    fe->base.ops = &fault_ops;
    fe->under = base;
    st_mutex_init(&fe->mu);
    st_mutex_init(&fe->imu);
    return &fe->base;
}
