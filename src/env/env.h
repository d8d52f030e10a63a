/* env.h — the platform vtable: every file, directory, lock, clock and thread operation strata
 * performs goes through a st_env, so tests can substitute an in-memory file system or inject
 * faults.  struct strata_env (public handle) is defined here.
 *
 * Error convention: every call returns 0 or a STRATA_E_* code and sets the thread-local message
 * naming the path and the OS error (st_err_errno): ENOENT maps to STRATA_E_NOTFOUND, ENOSPC and
 * EDQUOT to STRATA_E_NOSPC, EEXIST to EXISTS, EINVAL to INVALID, ENOMEM to NOMEM, EWOULDBLOCK to
 * BUSY, everything else to STRATA_E_IO.
 *
 * Durability model (what a power cut keeps): file data up to the last successful sync of that
 * file; a directory entry (creation, rename, removal) only after sync_dir on its directory. */
#ifndef STRATA_ENV_ENV_H
#define STRATA_ENV_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "strata.h"
#include "util/slice.h"

typedef struct strata_env st_env;
typedef struct st_wfile st_wfile;
typedef struct st_rfile st_rfile;
typedef struct st_sfile st_sfile;
typedef struct st_filelock st_filelock;
typedef struct st_thread st_thread;

/* A file being written sequentially.  append buffers in user space; flush hands buffered bytes to
 * the OS; sync makes everything appended durable (flush + fdatasync); close flushes, closes and
 * frees the object (even when it returns an error). */
struct st_wfile_ops {
    int (*append)(st_wfile *f, const void *data, size_t n);
    int (*flush)(st_wfile *f);
    int (*sync)(st_wfile *f);
    int (*close)(st_wfile *f);
    uint64_t (*size)(const st_wfile *f); /* bytes appended so far */
};
struct st_wfile {
    const struct st_wfile_ops *ops;
};

/* A file read at arbitrary offsets, safe for concurrent reads from many threads.  read returns in
 * *result up to n bytes at offset (fewer only at end of file); *result may point into scratch or
 * into memory owned by the file (in-memory env), valid until close.  A zero_copy file (a memory
 * mapping) never touches scratch — callers may pass NULL — and always returns its own memory. */
struct st_rfile_ops {
    int (*read)(st_rfile *f, uint64_t offset, size_t n, char *scratch, st_slice *result);
    void (*close)(st_rfile *f);
    int zero_copy;
};
struct st_rfile {
    const struct st_rfile_ops *ops;
};

/* A file read front to back (logs, MANIFEST).  One thread at a time. */
struct st_sfile_ops {
    int (*read)(st_sfile *f, size_t n, char *scratch, st_slice *result); /* short only at EOF */
    int (*skip)(st_sfile *f, uint64_t n);
    void (*close)(st_sfile *f);
};
struct st_sfile {
    const struct st_sfile_ops *ops;
};

struct st_env_ops {
    /* Creates or truncates path for writing. */
    int (*new_writable)(st_env *env, const char *path, st_wfile **out);
    int (*new_random)(st_env *env, const char *path, st_rfile **out);
    int (*new_sequential)(st_env *env, const char *path, st_sfile **out);
    /* 1 if path exists, 0 if not (never an error code). */
    int (*exists)(st_env *env, const char *path);
    /* Names (not paths) of the entries of dir, excluding "." and "..".  *names is an array of n
     * strings; free with st_env_free_names. */
    int (*list_dir)(st_env *env, const char *dir, char ***names, int *n);
    int (*remove_file)(st_env *env, const char *path);
    /* Atomically replaces to with from. */
    int (*rename_file)(st_env *env, const char *from, const char *to);
    /* Creates dir; an existing directory is success. */
    int (*create_dir)(st_env *env, const char *dir);
    int (*remove_dir)(st_env *env, const char *dir);
    int (*file_size)(st_env *env, const char *path, uint64_t *size);
    /* Makes creations, renames and removals of entries in dir durable. */
    int (*sync_dir)(st_env *env, const char *dir);
    /* Exclusive advisory lock on path (created if missing), held until unlock_file.  A lock held by
     * this or any other process fails with STRATA_E_BUSY. */
    int (*lock_file)(st_env *env, const char *path, st_filelock **lock);
    int (*unlock_file)(st_env *env, st_filelock *lock);
    uint64_t (*now_micros)(st_env *env); /* monotonic */
    void (*sleep_micros)(st_env *env, uint64_t micros);
    /* Starts fn(arg) on a new thread; join with thread_join, which frees *thread. */
    int (*thread_start)(st_env *env, void (*fn)(void *arg), void *arg, st_thread **thread);
    void (*thread_join)(st_env *env, st_thread *thread);
    /* Frees the env (NULL for the static default env). */
    void (*destroy)(st_env *env);
    /* Optional (NULL: st_env_new_mapped uses new_random): a zero_copy rfile over a read-only
     * memory mapping of an immutable file (tables).  May return a plain rfile instead (e.g. for
     * an empty file).  Trade-off: an I/O error or an outside truncation of a mapped file raises
     * SIGBUS instead of returning STRATA_E_IO. */
    int (*new_mapped)(st_env *env, const char *path, st_rfile **out);
    /* Optional (NULL: st_env_new_log_writable uses new_writable): a writable file for an
     * append-only log whose appends are visible to other processes and survive a process crash
     * as soon as append returns (no flush needed; flush may be a no-op).  sync still decides what
     * survives a power cut.  The file may be longer than size() until close (e.g. a zero-filled
     * reserved tail, which a crash leaves in place: log readers must read zeros as end of log).
     * (Addition: the WAL, so a non-sync write costs no system call.) */
    int (*new_log_writable)(st_env *env, const char *path, st_wfile **out);
    /* Optional (NULL: nothing): lowers the CPU priority of the calling thread, for background
     * flushes and compactions, so that foreground reads and writes win a contended CPU.  Never
     * fails (a refusal by the OS is ignored). */
    void (*lower_thread_priority)(st_env *env);
};

struct strata_env {
    const struct st_env_ops *ops;
    /* Wall clock override (strata_env_set_clock), NULL: the real clock.  Set before the env is
     * shared; the callback itself may return moving values. */
    uint64_t (*clock)(void *state);
    void *clock_state;
};

/* Microseconds since the Unix epoch by env's wall clock (TTL expiry). */
uint64_t st_env_unix_micros(st_env *env);

st_env *st_env_posix(void);
/* A private in-memory file system (env_mem.c).  It never loses data by itself; wrap it in the
 * fault env (env_fault.h) to simulate power loss. */
st_env *st_env_mem_create(void);

void st_env_free_names(char **names, int n);

/* Convenience wrappers. */
static inline int st_env_new_writable(st_env *e, const char *p, st_wfile **o) { return e->ops->new_writable(e, p, o); }
static inline int st_env_new_random(st_env *e, const char *p, st_rfile **o) { return e->ops->new_random(e, p, o); }
static inline int st_env_new_mapped(st_env *e, const char *p, st_rfile **o) { return e->ops->new_mapped ? e->ops->new_mapped(e, p, o) : e->ops->new_random(e, p, o); }
static inline int st_env_new_log_writable(st_env *e, const char *p, st_wfile **o) { return e->ops->new_log_writable ? e->ops->new_log_writable(e, p, o) : e->ops->new_writable(e, p, o); }
static inline void st_env_lower_thread_priority(st_env *e) { if (e->ops->lower_thread_priority) e->ops->lower_thread_priority(e); }
static inline int st_env_new_sequential(st_env *e, const char *p, st_sfile **o) { return e->ops->new_sequential(e, p, o); }
static inline int st_env_exists(st_env *e, const char *p) { return e->ops->exists(e, p); }
static inline int st_env_list_dir(st_env *e, const char *d, char ***n, int *c) { return e->ops->list_dir(e, d, n, c); }
static inline int st_env_remove_file(st_env *e, const char *p) { return e->ops->remove_file(e, p); }
static inline int st_env_rename_file(st_env *e, const char *f, const char *t) { return e->ops->rename_file(e, f, t); }
static inline int st_env_create_dir(st_env *e, const char *d) { return e->ops->create_dir(e, d); }
static inline int st_env_remove_dir(st_env *e, const char *d) { return e->ops->remove_dir(e, d); }
static inline int st_env_file_size(st_env *e, const char *p, uint64_t *s) { return e->ops->file_size(e, p, s); }
static inline int st_env_sync_dir(st_env *e, const char *d) { return e->ops->sync_dir(e, d); }
static inline int st_env_lock_file(st_env *e, const char *p, st_filelock **l) { return e->ops->lock_file(e, p, l); }
static inline int st_env_unlock_file(st_env *e, st_filelock *l) { return e->ops->unlock_file(e, l); }
static inline uint64_t st_env_now_micros(st_env *e) { return e->ops->now_micros(e); }
static inline void st_env_sleep_micros(st_env *e, uint64_t us) { e->ops->sleep_micros(e, us); }
static inline int st_env_thread_start(st_env *e, void (*fn)(void *), void *a, st_thread **t) { return e->ops->thread_start(e, fn, a, t); }
static inline void st_env_thread_join(st_env *e, st_thread *t) { e->ops->thread_join(e, t); }

static inline int st_wfile_append(st_wfile *f, const void *d, size_t n) { return f->ops->append(f, d, n); }
static inline int st_wfile_flush(st_wfile *f) { return f->ops->flush(f); }
static inline int st_wfile_sync(st_wfile *f) { return f->ops->sync(f); }
static inline int st_wfile_close(st_wfile *f) { return f->ops->close(f); }
static inline uint64_t st_wfile_size(const st_wfile *f) { return f->ops->size(f); }
static inline int st_rfile_read(st_rfile *f, uint64_t off, size_t n, char *scratch, st_slice *r) { return f->ops->read(f, off, n, scratch, r); }
static inline void st_rfile_close(st_rfile *f) { if (f) f->ops->close(f); }
static inline int st_sfile_read(st_sfile *f, size_t n, char *scratch, st_slice *r) { return f->ops->read(f, n, scratch, r); }
static inline int st_sfile_skip(st_sfile *f, uint64_t n) { return f->ops->skip(f, n); }
static inline void st_sfile_close(st_sfile *f) { if (f) f->ops->close(f); }

/* Helpers built on the vtable (env.c). */
/* Writes data to path (truncating), optionally syncing the file. */
int st_env_write_file(st_env *env, const char *path, st_slice data, int sync);
/* Reads the whole file, at most max_size bytes (STRATA_E_CORRUPTION if larger). Owned: *data
 * (st_free); it is followed by a NUL byte not counted in *len.  Never allocates more than the
 * file's real size (+1) and max_size (+1). */
int st_env_read_file(st_env *env, const char *path, size_t max_size, char **data, size_t *len);
/* The directory part of path ("." if none). Owned (st_free). NULL when out of memory. */
char *st_path_dirname(const char *path);
/* path with repeated '/' collapsed, "." components and trailing '/' removed ("" becomes ".");
 * ".." is kept as is.  Owned (st_free).  NULL when out of memory.  (Addition: used by the
 * in-memory and fault envs to compare paths.) */
char *st_path_normalize(const char *path);

#endif
