/* env_mem.c — a private in-memory file system behind the st_env vtable (tests, ephemeral DBs).
 *
 * The namespace is one sorted array of entries (normalized path → inode, or → NULL for a
 * directory), guarded by the env mutex together with every inode's bytes.  Inodes are refcounted:
 * the namespace holds one reference and every open handle another, so a reader keeps a removed or
 * replaced file's contents alive until it closes, as on POSIX.  Reads copy into the caller's
 * scratch under the mutex, so no pointer into an inode ever escapes (inode memory may move when a
 * writer appends).
 *
 * Differences from POSIX, all deliberate: create_dir creates missing ancestors (so a DB path like
 * "/tmp/x/db" works without building the tree first); "." and "/" always exist; renaming a
 * directory is not supported; writes are visible to readers at once (flush and sync are no-ops —
 * this env never loses data; wrap it in env_fault.c to simulate power loss).  Errors use the
 * errno a POSIX file system would give, so messages and codes match env_posix.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "env/env.h"
#include "util/alloc.h"
#include "util/compiler.h"
#include "util/mutex.h"
#include "util/status.h"

struct inode {
    int refs;
    char *data;
    size_t len, cap;
};

struct entry {
    char *path;         /* normalized */
    struct inode *ino;  /* NULL: a directory */
};

struct mem_lock {
    char *path;
    struct mem_lock *next;
};

struct mem_env {
    st_env base;
    st_mutex mu;        /* guards everything below and every inode */
    struct entry *ents; /* sorted by path (strcmp) */
    size_t n, cap;
    struct mem_lock *locks;
};

/* ---- Namespace helpers (REQUIRES: env->mu held) ---------------------------------------------- */

static int is_root(const char *p)
{
    return strcmp(p, ".") == 0 || strcmp(p, "/") == 0;
}

/* The entry for path, or NULL; *pos is where it is or would be inserted. */
static struct entry *find(struct mem_env *e, const char *path, size_t *pos) ST_REQUIRES(e->mu)
{
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(e->ents[mid].path, path);
        if (c == 0) {
            *pos = mid;
            return &e->ents[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    return NULL;
}

/* Inserts (path, ino) at pos; takes ownership of path only on success. */
static int insert_at(struct mem_env *e, size_t pos, char *path, struct inode *ino)
    ST_REQUIRES(e->mu)
{
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 32;
        struct entry *p = st_realloc(e->ents, ncap * sizeof(*p));
        if (!p) {
            return st_err(STRATA_E_NOMEM, "mem env: out of memory adding %s", path);
        }
        e->ents = p;
        e->cap = ncap;
    }
    memmove(&e->ents[pos + 1], &e->ents[pos], (e->n - pos) * sizeof(e->ents[0]));
    e->ents[pos].path = path;
    e->ents[pos].ino = ino;
    e->n++;
    return 0;
}

static void erase_at(struct mem_env *e, size_t pos) ST_REQUIRES(e->mu)
{
    st_free(e->ents[pos].path);
    memmove(&e->ents[pos], &e->ents[pos + 1], (e->n - pos - 1) * sizeof(e->ents[0]));
    e->n--;
}

/* 1 if path names an existing directory. */
static int is_dir(struct mem_env *e, const char *path) ST_REQUIRES(e->mu)
{
    size_t pos;
    struct entry *d = find(e, path, &pos);
    return is_root(path) || (d && !d->ino);
}

/* 0 if the directory that would hold path exists, else an ENOENT/ENOTDIR error naming what. */
static int check_parent(struct mem_env *e, const char *path, const char *what, const char *orig)
    ST_REQUIRES(e->mu)
{
    char *dir = st_path_dirname(path);
    if (!dir) {
        return st_err(STRATA_E_NOMEM, "%s %s: out of memory", what, orig);
    }
    size_t pos;
    struct entry *d = find(e, dir, &pos);
    int rc = 0;
    if (!is_root(dir) && !d) {
        rc = st_err_errno(ENOENT, "%s %s", what, orig);
    } else if (d && d->ino) {
        rc = st_err_errno(ENOTDIR, "%s %s", what, orig);
    }
    st_free(dir);
    return rc;
}

/* If child is an entry directly inside dir, returns its name (a suffix of child), else NULL. */
static const char *child_name(const char *dir, const char *child)
{
    const char *name;
    if (strcmp(dir, ".") == 0) {
        name = child[0] == '/' ? NULL : child;
    } else if (strcmp(dir, "/") == 0) {
        name = child[0] == '/' && child[1] ? child + 1 : NULL;
    } else {
        size_t n = strlen(dir);
        name = strncmp(child, dir, n) == 0 && child[n] == '/' ? child + n + 1 : NULL;
    }
    return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 ? name : NULL;
}

static void inode_unref(struct inode *ino)
{
    if (ino && --ino->refs == 0) {
        st_free(ino->data);
        st_free(ino);
    }
}

/* Runs op with the normalized path and the env mutex held: the skeleton of every namespace call. */
typedef int (*locked_op)(struct mem_env *e, const char *npath, const char *orig, void *arg);

static int with_path(st_env *env, const char *path, locked_op op, void *arg)
{
    struct mem_env *e = (struct mem_env *)env;
    char *np = st_path_normalize(path);
    if (!np) {
        return st_err(STRATA_E_NOMEM, "%s: out of memory", path);
    }
    st_mutex_lock(&e->mu);
    int rc = op(e, np, path, arg);
    st_mutex_unlock(&e->mu);
    st_free(np);
    return rc;
}

/* ---- Files ---------------------------------------------------------------------------------- */

struct mem_wfile {
    st_wfile base;
    struct mem_env *env;
    struct inode *ino;
    uint64_t size;
};

static int inode_append(struct inode *ino, const void *data, size_t n)
{
    if (n > ino->cap - ino->len) {
        if (n > SIZE_MAX / 2 - ino->len) {
            return STRATA_E_NOMEM;
        }
        size_t ncap = ino->cap ? ino->cap : 256;
        while (ncap < ino->len + n) {
            ncap *= 2;
        }
        char *p = st_realloc(ino->data, ncap);
        if (!p) {
            return STRATA_E_NOMEM;
        }
        ino->data = p;
        ino->cap = ncap;
    }
    if (n) {
        memcpy(ino->data + ino->len, data, n);
    }
    ino->len += n;
    return 0;
}

static int wfile_append(st_wfile *base, const void *data, size_t n)
{
    struct mem_wfile *f = (struct mem_wfile *)base;
    st_mutex_lock(&f->env->mu);
    int rc = inode_append(f->ino, data, n);
    st_mutex_unlock(&f->env->mu);
    if (rc) {
        return st_err(rc, "mem env: out of memory appending %zu bytes", n);
    }
    f->size += n;
    return 0;
}

static int wfile_noop(st_wfile *base)
{
    (void)base;
    return 0;
}

static int wfile_close(st_wfile *base)
{
    struct mem_wfile *f = (struct mem_wfile *)base;
    st_mutex_lock(&f->env->mu);
    inode_unref(f->ino);
    st_mutex_unlock(&f->env->mu);
    st_free(f);
    return 0;
}

static uint64_t wfile_size(const st_wfile *base)
{
    return ((const struct mem_wfile *)base)->size;
}

static const struct st_wfile_ops wfile_ops = {wfile_append, wfile_noop, wfile_noop, wfile_close,
                                              wfile_size};

struct mem_rfile {
    st_rfile base;
    struct mem_env *env;
    struct inode *ino;
};

/* Copies up to n bytes at offset into scratch. REQUIRES: env->mu held. */
static size_t inode_read(const struct inode *ino, uint64_t offset, size_t n, char *scratch)
{
    if (offset >= ino->len) {
        return 0;
    }
    size_t got = ST_MIN(n, ino->len - (size_t)offset);
    memcpy(scratch, ino->data + offset, got);
    return got;
}

static int rfile_read(st_rfile *base, uint64_t offset, size_t n, char *scratch, st_slice *result)
{
    struct mem_rfile *f = (struct mem_rfile *)base;
    st_mutex_lock(&f->env->mu);
    size_t got = inode_read(f->ino, offset, n, scratch);
    st_mutex_unlock(&f->env->mu);
    *result = st_slice_make(scratch, got);
    return 0;
}

static void rfile_close(st_rfile *base)
{
    struct mem_rfile *f = (struct mem_rfile *)base;
    st_mutex_lock(&f->env->mu);
    inode_unref(f->ino);
    st_mutex_unlock(&f->env->mu);
    st_free(f);
}

static const struct st_rfile_ops rfile_ops = {rfile_read, rfile_close, 0};

struct mem_sfile {
    st_sfile base;
    struct mem_env *env;
    struct inode *ino;
    uint64_t pos;
};

static int sfile_read(st_sfile *base, size_t n, char *scratch, st_slice *result)
{
    struct mem_sfile *f = (struct mem_sfile *)base;
    st_mutex_lock(&f->env->mu);
    size_t got = inode_read(f->ino, f->pos, n, scratch);
    st_mutex_unlock(&f->env->mu);
    f->pos += got;
    *result = st_slice_make(scratch, got);
    return 0;
}

static int sfile_skip(st_sfile *base, uint64_t n)
{
    struct mem_sfile *f = (struct mem_sfile *)base;
    f->pos = n > UINT64_MAX - f->pos ? UINT64_MAX : f->pos + n;
    return 0;
}

static void sfile_close(st_sfile *base)
{
    struct mem_sfile *f = (struct mem_sfile *)base;
    st_mutex_lock(&f->env->mu);
    inode_unref(f->ino);
    st_mutex_unlock(&f->env->mu);
    st_free(f);
}

static const struct st_sfile_ops sfile_ops = {sfile_read, sfile_skip, sfile_close};

/* ---- Opening files -------------------------------------------------------------------------- */

/* Creates an empty file at path (parent must exist) and returns its inode. */
static int create_file(struct mem_env *e, const char *np, const char *orig, struct inode **out)
    ST_REQUIRES(e->mu)
{
    size_t pos;
    int rc = check_parent(e, np, "open", orig);
    if (rc) {
        return rc;
    }
    struct inode *ino = st_calloc(1, sizeof(*ino));
    char *p = st_strdup(np);
    if (!ino || !p) {
        st_free(ino);
        st_free(p);
        return st_err(STRATA_E_NOMEM, "open %s: out of memory", orig);
    }
    ino->refs = 1;
    find(e, np, &pos);
    if ((rc = insert_at(e, pos, p, ino)) != 0) {
        st_free(ino);
        st_free(p);
        return rc;
    }
    *out = ino;
    return 0;
}

/* Opens (creating or truncating) the file at np; returns its inode with a new reference. */
static int open_for_write(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    struct inode **out = arg;
    size_t pos;
    struct entry *ent = find(e, np, &pos);
    if (ent && !ent->ino) {
        return st_err_errno(EISDIR, "open %s", orig);
    }
    if (ent) {
        st_free(ent->ino->data); /* O_TRUNC: same inode, so open readers see the truncation */
        ent->ino->data = NULL;
        ent->ino->len = ent->ino->cap = 0;
        *out = ent->ino;
    } else {
        int rc = create_file(e, np, orig, out);
        if (rc) {
            return rc;
        }
    }
    (*out)->refs++;
    return 0;
}

static int open_for_read(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    struct inode **out = arg;
    size_t pos;
    struct entry *ent = find(e, np, &pos);
    if (!ent) {
        return is_root(np) ? st_err_errno(EISDIR, "open %s", orig)
                           : st_err_errno(ENOENT, "open %s", orig);
    }
    if (!ent->ino) {
        return st_err_errno(EISDIR, "open %s", orig);
    }
    ent->ino->refs++;
    *out = ent->ino;
    return 0;
}

static int new_writable(st_env *env, const char *path, st_wfile **out)
{
    *out = NULL;
    struct mem_wfile *f = st_calloc(1, sizeof(*f));
    if (!f) {
        return st_err(STRATA_E_NOMEM, "open %s: out of memory", path);
    }
    int rc = with_path(env, path, open_for_write, &f->ino);
    if (rc) {
        st_free(f);
        return rc;
    }
    f->base.ops = &wfile_ops;
    f->env = (struct mem_env *)env;
    *out = &f->base;
    return 0;
}

static int new_random(st_env *env, const char *path, st_rfile **out)
{
    *out = NULL;
    struct mem_rfile *f = st_calloc(1, sizeof(*f));
    if (!f) {
        return st_err(STRATA_E_NOMEM, "open %s: out of memory", path);
    }
    int rc = with_path(env, path, open_for_read, &f->ino);
    if (rc) {
        st_free(f);
        return rc;
    }
    f->base.ops = &rfile_ops;
    f->env = (struct mem_env *)env;
    *out = &f->base;
    return 0;
}

static int new_sequential(st_env *env, const char *path, st_sfile **out)
{
    *out = NULL;
    struct mem_sfile *f = st_calloc(1, sizeof(*f));
    if (!f) {
        return st_err(STRATA_E_NOMEM, "open %s: out of memory", path);
    }
    int rc = with_path(env, path, open_for_read, &f->ino);
    if (rc) {
        st_free(f);
        return rc;
    }
    f->base.ops = &sfile_ops;
    f->env = (struct mem_env *)env;
    *out = &f->base;
    return 0;
}

/* ---- Namespace operations ------------------------------------------------------------------- */

static int op_exists(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    (void)orig;
    (void)arg;
    size_t pos;
    return is_root(np) || find(e, np, &pos) != NULL;
}

static int exists(st_env *env, const char *path)
{
    int rc = with_path(env, path, op_exists, NULL);
    return rc > 0; /* out of memory reads as "absent": exists never returns an error code */
}

struct names {
    char **v;
    int n, cap;
};

static int names_push(struct names *ns, const char *name, const char *dir)
{
    if (ns->n == ns->cap) {
        int ncap = ns->cap ? ns->cap * 2 : 16;
        char **p = st_realloc(ns->v, (size_t)ncap * sizeof(*p));
        if (!p) {
            return st_err(STRATA_E_NOMEM, "list %s: out of memory", dir);
        }
        ns->v = p;
        ns->cap = ncap;
    }
    if (!(ns->v[ns->n] = st_strdup(name))) {
        return st_err(STRATA_E_NOMEM, "list %s: out of memory", dir);
    }
    ns->n++;
    return 0;
}

static int op_list(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    struct names *ns = arg;
    size_t pos;
    struct entry *d = find(e, np, &pos);
    if (!d && !is_root(np)) {
        return st_err_errno(ENOENT, "opendir %s", orig);
    }
    if (d && d->ino) {
        return st_err_errno(ENOTDIR, "opendir %s", orig);
    }
    for (size_t i = 0; i < e->n; i++) {
        const char *name = child_name(np, e->ents[i].path);
        int rc = name ? names_push(ns, name, orig) : 0;
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int list_dir(st_env *env, const char *dir, char ***names, int *n)
{
    struct names ns = {NULL, 0, 0};
    int rc = with_path(env, dir, op_list, &ns);
    if (rc) {
        st_env_free_names(ns.v, ns.n);
        ns.v = NULL;
        ns.n = 0;
    }
    *names = ns.v;
    *n = ns.n;
    return rc;
}

static int op_remove(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    (void)arg;
    size_t pos;
    struct entry *ent = find(e, np, &pos);
    if (!ent) {
        return st_err_errno(is_root(np) ? EISDIR : ENOENT, "unlink %s", orig);
    }
    if (!ent->ino) {
        return st_err_errno(EISDIR, "unlink %s", orig);
    }
    inode_unref(ent->ino);
    erase_at(e, pos);
    return 0;
}

static int remove_file(st_env *env, const char *path)
{
    return with_path(env, path, op_remove, NULL);
}

struct rename_args {
    const char *to, *orig_from, *orig_to;
};

/* Points the entry for np at the inode of the entry for from (existing file), creating it. */
static int op_rename(struct mem_env *e, const char *nfrom, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    const struct rename_args *a = arg;
    size_t fpos, tpos;
    struct entry *f = find(e, nfrom, &fpos);
    if (!f) {
        return st_err_errno(ENOENT, "rename %s to %s", orig, a->orig_to);
    }
    if (!f->ino) {
        return st_err(STRATA_E_NOTSUP, "rename %s to %s: the mem env cannot rename directories",
                      orig, a->orig_to);
    }
    int rc = check_parent(e, a->to, "rename", a->orig_to);
    if (rc || strcmp(nfrom, a->to) == 0) {
        return rc;
    }
    struct entry *t = find(e, a->to, &tpos);
    if (t && !t->ino) {
        return st_err_errno(EISDIR, "rename %s to %s", orig, a->orig_to);
    }
    struct inode *ino = f->ino;
    if (t) {
        inode_unref(t->ino);
        t->ino = ino;
    } else {
        char *p = st_strdup(a->to);
        if (!p || (rc = insert_at(e, tpos, p, ino)) != 0) {
            st_free(p);
            return rc ? rc : st_err(STRATA_E_NOMEM, "rename %s: out of memory", orig);
        }
    }
    find(e, nfrom, &fpos); /* the insert may have shifted it */
    erase_at(e, fpos);
    return 0;
}

static int rename_file(st_env *env, const char *from, const char *to)
{
    char *nto = st_path_normalize(to);
    if (!nto) {
        return st_err(STRATA_E_NOMEM, "rename %s: out of memory", from);
    }
    struct rename_args a = {nto, from, to};
    int rc = with_path(env, from, op_rename, &a);
    st_free(nto);
    return rc;
}

/* Adds directory np if missing (its parent must exist). */
static int add_dir(struct mem_env *e, const char *np, const char *orig) ST_REQUIRES(e->mu)
{
    size_t pos;
    struct entry *d = find(e, np, &pos);
    if (is_root(np) || (d && !d->ino)) {
        return 0;
    }
    if (d) {
        return st_err_errno(EEXIST, "mkdir %s", orig);
    }
    char *p = st_strdup(np);
    int rc = p ? insert_at(e, pos, p, NULL) : st_err(STRATA_E_NOMEM, "mkdir %s: out of memory",
                                                     orig);
    if (rc) {
        st_free(p);
    }
    return rc;
}

/* mkdir -p: every ancestor of np, then np itself. */
static int op_mkdir(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    (void)arg;
    char *p = st_strdup(np);
    if (!p) {
        return st_err(STRATA_E_NOMEM, "mkdir %s: out of memory", orig);
    }
    int rc = 0;
    for (char *s = strchr(p + 1, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
        *s = '\0';
        rc = add_dir(e, p, orig);
        *s = '/';
    }
    if (rc == 0) {
        rc = add_dir(e, p, orig);
    }
    st_free(p);
    return rc;
}

static int create_dir(st_env *env, const char *dir)
{
    return with_path(env, dir, op_mkdir, NULL);
}

static int op_rmdir(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    (void)arg;
    size_t pos;
    struct entry *d = find(e, np, &pos);
    if (is_root(np)) {
        return st_err_errno(EBUSY, "rmdir %s", orig);
    }
    if (!d || d->ino) {
        return st_err_errno(d ? ENOTDIR : ENOENT, "rmdir %s", orig);
    }
    for (size_t i = 0; i < e->n; i++) {
        if (child_name(np, e->ents[i].path)) {
            return st_err_errno(ENOTEMPTY, "rmdir %s", orig);
        }
    }
    erase_at(e, pos);
    return 0;
}

static int remove_dir(st_env *env, const char *dir)
{
    return with_path(env, dir, op_rmdir, NULL);
}

static int op_size(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    uint64_t *size = arg;
    size_t pos;
    struct entry *ent = find(e, np, &pos);
    if (!ent && !is_root(np)) {
        return st_err_errno(ENOENT, "stat %s", orig);
    }
    *size = ent && ent->ino ? ent->ino->len : 0;
    return 0;
}

static int file_size(st_env *env, const char *path, uint64_t *size)
{
    *size = 0;
    return with_path(env, path, op_size, size);
}

static int op_syncdir(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    (void)arg;
    return is_dir(e, np) ? 0 : st_err_errno(ENOENT, "open %s", orig);
}

static int sync_dir(st_env *env, const char *dir)
{
    return with_path(env, dir, op_syncdir, NULL);
}

/* ---- Locks ---------------------------------------------------------------------------------- */

static int op_lock(struct mem_env *e, const char *np, const char *orig, void *arg)
    ST_REQUIRES(e->mu)
{
    struct mem_lock *l = arg;
    for (struct mem_lock *h = e->locks; h; h = h->next) {
        if (strcmp(h->path, np) == 0) {
            return st_err(STRATA_E_BUSY, "lock %s: already held", orig);
        }
    }
    size_t pos;
    struct entry *ent = find(e, np, &pos);
    if (!ent) {
        struct inode *ino;
        int rc = create_file(e, np, orig, &ino);
        if (rc) {
            return rc;
        }
    } else if (!ent->ino) {
        return st_err_errno(EISDIR, "open %s", orig);
    }
    if (!(l->path = st_strdup(np))) {
        return st_err(STRATA_E_NOMEM, "lock %s: out of memory", orig);
    }
    l->next = e->locks;
    e->locks = l;
    return 0;
}

static int lock_file(st_env *env, const char *path, st_filelock **out)
{
    *out = NULL;
    struct mem_lock *l = st_calloc(1, sizeof(*l));
    if (!l) {
        return st_err(STRATA_E_NOMEM, "lock %s: out of memory", path);
    }
    int rc = with_path(env, path, op_lock, l);
    if (rc) {
        st_free(l);
        return rc;
    }
    *out = (st_filelock *)l;
    return 0;
}

static int unlock_file(st_env *env, st_filelock *lock)
{
    struct mem_env *e = (struct mem_env *)env;
    struct mem_lock *l = (struct mem_lock *)lock;
    if (!l) {
        return 0;
    }
    st_mutex_lock(&e->mu);
    for (struct mem_lock **pp = &e->locks; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    st_mutex_unlock(&e->mu);
    st_free(l->path);
    st_free(l);
    return 0;
}

/* ---- Clock, threads, lifetime: the host's ---------------------------------------------------- */

static uint64_t now_micros(st_env *env)
{
    (void)env;
    return st_env_now_micros(st_env_posix());
}

static void sleep_micros(st_env *env, uint64_t micros)
{
    (void)env;
    st_env_sleep_micros(st_env_posix(), micros);
}

static int thread_start(st_env *env, void (*fn)(void *arg), void *arg, st_thread **t)
{
    (void)env;
    return st_env_thread_start(st_env_posix(), fn, arg, t);
}

static void thread_join(st_env *env, st_thread *t)
{
    (void)env;
    st_env_thread_join(st_env_posix(), t);
}

/* REQUIRES: no handle of this env is still open. */
static void destroy(st_env *env)
{
    struct mem_env *e = (struct mem_env *)env;
    st_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->n; i++) {
        inode_unref(e->ents[i].ino);
        st_free(e->ents[i].path);
    }
    st_free(e->ents);
    while (e->locks) {
        struct mem_lock *l = e->locks;
        e->locks = l->next;
        st_free(l->path);
        st_free(l);
    }
    st_mutex_unlock(&e->mu);
    st_mutex_destroy(&e->mu);
    st_free(e);
}

static const struct st_env_ops mem_ops = {
    new_writable, new_random, new_sequential, exists,      list_dir,     remove_file,
    rename_file,  create_dir, remove_dir,     file_size,   sync_dir,     lock_file,
    unlock_file,  now_micros, sleep_micros,   thread_start, thread_join, destroy,
    NULL, /* no mappings (file contents may move as files grow) */
    NULL, /* logs use new_writable: every append is visible at once */
    NULL, /* thread priorities are the host's business */
};

st_env *st_env_mem_create(void)
{
    struct mem_env *e = st_calloc(1, sizeof(*e));
    if (!e) {
        return NULL;
    }
    e->base.ops = &mem_ops;
    st_mutex_init(&e->mu);
    return &e->base;
}
