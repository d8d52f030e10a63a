/* env_posix.c — the st_env over the POSIX file system (Linux).
 *
 * Writable files buffer appends in a 64 KiB user-space buffer (appends at least that large go
 * straight to write(2)); flush loops over write(2) through EINTR and short writes; sync is flush +
 * fdatasync.  Random-access reads use pread (no shared file offset, so concurrent readers need no
 * lock), or for tables (new_mapped) a read-only mapping of the whole file; sequential reads use
 * read.  Logs (new_log_writable: the WAL) are written through a shared writable mapping instead,
 * so an append is a memcpy and needs no flush (see "Mapped log files").  Every descriptor is
 * opened with O_CLOEXEC so a fork+exec by the application never inherits strata's files or
 * locks.
 *
 * Locks: an open-file-description lock (F_OFD_SETLK) excludes other processes, and also other
 * descriptors in this process; a process-wide registry keyed by (device, inode) additionally makes
 * a second lock attempt in this process fail with STRATA_E_BUSY without touching the kernel, and
 * names the holder in the message.  The durability model is in env.h. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "env/env.h"
#include "util/alloc.h"
#include "util/mutex.h"
#include "util/status.h"

#define WBUF_SIZE (64 * 1024)

/* ---- Writable files ------------------------------------------------------------------------- */

struct posix_wfile {
    st_wfile base;
    int fd;
    char *path;
    char *buf; /* WBUF_SIZE bytes */
    size_t buf_len;
    uint64_t size; /* bytes appended, buffered or not */
};

/* Writes all n bytes, retrying on EINTR and short writes; *done counts the bytes written. */
static int write_all(int fd, const char *path, const char *p, size_t n, size_t *done)
{
    *done = 0;
    while (*done < n) {
        ssize_t w = write(fd, p + *done, n - *done);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return st_err_errno(errno, "write %s", path);
        }
        *done += (size_t)w;
    }
    return 0;
}

static int wfile_flush_buf(struct posix_wfile *f)
{
    size_t done = 0;
    int rc = write_all(f->fd, f->path, f->buf, f->buf_len, &done);
    /* Keep exactly the unwritten tail, so a retry neither loses nor duplicates bytes. */
    if (done > 0 && done < f->buf_len) {
        memmove(f->buf, f->buf + done, f->buf_len - done);
    }
    f->buf_len -= done;
    return rc;
}

static int wfile_append(st_wfile *base, const void *data, size_t n)
{
    struct posix_wfile *f = (struct posix_wfile *)base;
    if (n == 0) {
        return 0; /* data may be NULL */
    }
    if (n <= WBUF_SIZE - f->buf_len) {
        memcpy(f->buf + f->buf_len, data, n);
        f->buf_len += n;
        f->size += n;
        return 0;
    }
    int rc = wfile_flush_buf(f);
    if (rc) {
        return rc;
    }
    if (n < WBUF_SIZE) {
        memcpy(f->buf, data, n);
        f->buf_len = n;
        f->size += n;
        return 0;
    }
    size_t done = 0;
    rc = write_all(f->fd, f->path, data, n, &done);
    f->size += done;
    return rc;
}

static int wfile_flush(st_wfile *base)
{
    return wfile_flush_buf((struct posix_wfile *)base);
}

static int wfile_sync(st_wfile *base)
{
    struct posix_wfile *f = (struct posix_wfile *)base;
    int rc = wfile_flush_buf(f);
    if (rc) {
        return rc;
    }
    if (fdatasync(f->fd) != 0) {
        return st_err_errno(errno, "fdatasync %s", f->path);
    }
    return 0;
}

static int wfile_close(st_wfile *base)
{
    struct posix_wfile *f = (struct posix_wfile *)base;
    int rc = wfile_flush_buf(f);
    if (close(f->fd) != 0 && rc == 0) {
        rc = st_err_errno(errno, "close %s", f->path);
    }
    st_free(f->buf);
    st_free(f->path);
    st_free(f);
    return rc;
}

static uint64_t wfile_size(const st_wfile *base)
{
    return ((const struct posix_wfile *)base)->size;
}

static const struct st_wfile_ops wfile_ops = {wfile_append, wfile_flush, wfile_sync, wfile_close,
                                              wfile_size};

/* ---- Mapped log files ----------------------------------------------------------------------- */

/* An append-only log written through a shared mapping: append is a memcpy into the page cache,
 * which other processes see at once and a process crash (even kill -9) cannot lose, so a log
 * record needs no system call to be handed to the OS.  The file grows in LOG_WINDOW steps: each
 * window is first reserved with posix_fallocate, so running out of space is an error from append
 * and never a SIGBUS on a store into a hole, then mapped.  Only the current window is mapped.
 * Until close the file is longer than what was appended (a zero-filled reserved tail of less
 * than a window); close truncates it to the appended size, a crash leaves it (the log reader
 * reads zeros as a torn tail, docs/FORMAT.md "Record log").
 *
 * sync is fdatasync alone: Linux tracks pages dirtied through a shared mapping (write faults mark
 * them dirty; writeback write-protects them again), and fsync/fdatasync write them out.  See the
 * comment at the top of mm/msync.c: "MS_ASYNC ... doesn't do anything, since dirty pages are
 * properly tracked. The application may now run fsync() to write out the dirty pages"; msync
 * (MS_SYNC) itself is implemented as vfs_fsync_range on the mapped file.
 *
 * Trade-off (as for mapped table reads): an I/O error on a page fault, or another process
 * truncating the file, raises SIGBUS instead of returning STRATA_E_IO. */
#define LOG_WINDOW ((size_t)1 << 20) /* a multiple of every page size */
/* Appends (per window) at least this long go through pwrite instead of the mapping: measured on
 * fillbatch (120 KB records), write faults on ~30 fresh pages per record cost more than one
 * pwrite, while small records are far cheaper as a memcpy than as a system call. */
#define LOG_PWRITE_MIN ((size_t)8 << 10)

struct mapped_log {
    st_wfile base;
    int fd;
    char *path;
    char *map;        /* the window at file offset win_off, or NULL before the first append */
    uint64_t win_off; /* a multiple of LOG_WINDOW */
    uint64_t size;    /* bytes appended: win_off <= size <= win_off + LOG_WINDOW once mapped */
};

/* Reserves and maps the window that starts at f->size (the current one is full). */
static int log_next_window(struct mapped_log *f)
{
    uint64_t off = f->map ? f->win_off + LOG_WINDOW : 0;
    assert(off == f->size);
    int err;
    while ((err = posix_fallocate(f->fd, (off_t)off, (off_t)LOG_WINDOW)) == EINTR) {
    }
    if (err) { /* returns the error number; errno is not set */
        return st_err_errno(err, "reserve %zu bytes at offset %llu of %s", LOG_WINDOW,
                            (unsigned long long)off, f->path);
    }
    void *map = mmap(NULL, LOG_WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, (off_t)off);
    if (map == MAP_FAILED) {
        return st_err_errno(errno, "mmap %s at offset %llu", f->path, (unsigned long long)off);
    }
    if (f->map) {
        munmap(f->map, LOG_WINDOW);
    }
    f->map = map;
    f->win_off = off;
    return 0;
}

/* Copies n bytes to the file at f->size (inside the reserved window) with pwrite: for a large
 * append one system call is cheaper than a write fault per page of the mapping.  The page cache
 * is shared, so the mapping and readers see the bytes at once, and a crash cannot lose them. */
static int log_pwrite(struct mapped_log *f, const char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(f->fd, p + done, n - done, (off_t)(f->size + done));
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return st_err_errno(w < 0 ? errno : EIO, "pwrite %s at offset %llu", f->path,
                                (unsigned long long)(f->size + done));
        }
        done += (size_t)w;
    }
    return 0;
}

static int log_append(st_wfile *base, const void *data, size_t n)
{
    struct mapped_log *f = (struct mapped_log *)base;
    const char *p = data;
    while (n > 0) {
        if (!f->map || f->size == f->win_off + LOG_WINDOW) {
            int rc = log_next_window(f);
            if (rc) {
                return rc;
            }
        }
        size_t at = (size_t)(f->size - f->win_off);
        size_t k = ST_MIN(n, LOG_WINDOW - at);
        if (k >= LOG_PWRITE_MIN) {
            int rc = log_pwrite(f, p, k);
            if (rc) {
                return rc;
            }
        } else {
            memcpy(f->map + at, p, k);
        }
        f->size += k;
        p += k;
        n -= k;
    }
    return 0;
}

static int log_flush(st_wfile *base)
{
    (void)base; /* every append is already in the page cache */
    return 0;
}

static int log_sync(st_wfile *base)
{
    struct mapped_log *f = (struct mapped_log *)base;
    if (fdatasync(f->fd) != 0) {
        return st_err_errno(errno, "fdatasync %s", f->path);
    }
    return 0;
}

/* Unmaps, drops the reserved tail and closes; frees f. */
static int log_close(st_wfile *base)
{
    struct mapped_log *f = (struct mapped_log *)base;
    int rc = 0;
    if (f->map) {
        munmap(f->map, LOG_WINDOW);
        int r;
        while ((r = ftruncate(f->fd, (off_t)f->size)) != 0 && errno == EINTR) {
        }
        if (r != 0) {
            rc = st_err_errno(errno, "truncate %s to %llu bytes", f->path,
                              (unsigned long long)f->size);
        }
    }
    if (close(f->fd) != 0 && rc == 0) {
        rc = st_err_errno(errno, "close %s", f->path);
    }
    st_free(f->path);
    st_free(f);
    return rc;
}

static uint64_t log_size(const st_wfile *base)
{
    return ((const struct mapped_log *)base)->size;
}

static const struct st_wfile_ops log_ops = {log_append, log_flush, log_sync, log_close, log_size};

/* ---- Random-access and sequential files ----------------------------------------------------- */

struct posix_rfile {
    st_rfile base;
    int fd;
    char *path;
};

static int rfile_read(st_rfile *base, uint64_t offset, size_t n, char *scratch, st_slice *result)
{
    struct posix_rfile *f = (struct posix_rfile *)base;
    size_t got = 0;
    *result = st_slice_make(scratch, 0);
    while (got < n) {
        ssize_t r = pread(f->fd, scratch + got, n - got, (off_t)(offset + got));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return st_err_errno(errno, "pread %s at offset %llu", f->path,
                                (unsigned long long)(offset + got));
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    *result = st_slice_make(scratch, got);
    return 0;
}

static void rfile_close(st_rfile *base)
{
    struct posix_rfile *f = (struct posix_rfile *)base;
    close(f->fd);
    st_free(f->path);
    st_free(f);
}

static const struct st_rfile_ops rfile_ops = {rfile_read, rfile_close, 0};

struct posix_sfile {
    st_sfile base;
    int fd;
    char *path;
};

static int sfile_read(st_sfile *base, size_t n, char *scratch, st_slice *result)
{
    struct posix_sfile *f = (struct posix_sfile *)base;
    size_t got = 0;
    *result = st_slice_make(scratch, 0);
    while (got < n) {
        ssize_t r = read(f->fd, scratch + got, n - got);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return st_err_errno(errno, "read %s", f->path);
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    *result = st_slice_make(scratch, got);
    return 0;
}

static int sfile_skip(st_sfile *base, uint64_t n)
{
    struct posix_sfile *f = (struct posix_sfile *)base;
    if (n > (uint64_t)INT64_MAX) {
        return st_err(STRATA_E_INVALID, "skip %s: %llu bytes is too far", f->path,
                      (unsigned long long)n);
    }
    if (lseek(f->fd, (off_t)n, SEEK_CUR) < 0) {
        return st_err_errno(errno, "lseek %s", f->path);
    }
    return 0;
}

static void sfile_close(st_sfile *base)
{
    struct posix_sfile *f = (struct posix_sfile *)base;
    close(f->fd);
    st_free(f->path);
    st_free(f);
}

static const struct st_sfile_ops sfile_ops = {sfile_read, sfile_skip, sfile_close};

/* ---- Opening files -------------------------------------------------------------------------- */

/* Opens path with flags, retrying on EINTR. Returns the fd or a negative STRATA_E_* code. */
static int open_fd(const char *path, int flags)
{
    int fd;
    do {
        fd = open(path, flags | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return st_err_errno(errno, "open %s", path);
    }
    return fd;
}

static int new_writable(st_env *env, const char *path, st_wfile **out)
{
    (void)env;
    *out = NULL;
    struct posix_wfile *f = st_calloc(1, sizeof(*f));
    char *buf = st_malloc(WBUF_SIZE);
    char *p = st_strdup(path);
    int rc = 0;
    if (!f || !buf || !p) {
        rc = st_err(STRATA_E_NOMEM, "open %s: out of memory", path);
        goto out;
    }
    int fd = open_fd(path, O_WRONLY | O_CREAT | O_TRUNC);
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    f->base.ops = &wfile_ops;
    f->fd = fd;
    f->path = p;
    f->buf = buf;
    *out = &f->base;
    return 0;
out:
    st_free(f);
    st_free(buf);
    st_free(p);
    return rc;
}

static int new_log_writable(st_env *env, const char *path, st_wfile **out)
{
    (void)env;
    *out = NULL;
    struct mapped_log *f = st_calloc(1, sizeof(*f));
    char *p = st_strdup(path);
    int fd = -1;
    if (!f || !p) {
        fd = st_err(STRATA_E_NOMEM, "open %s: out of memory", path);
    } else {
        fd = open_fd(path, O_RDWR | O_CREAT | O_TRUNC); /* a shared writable mapping needs O_RDWR */
    }
    if (fd < 0) {
        st_free(f);
        st_free(p);
        return fd;
    }
    f->base.ops = &log_ops;
    f->fd = fd;
    f->path = p;
    *out = &f->base;
    return 0;
}

/* Opens path read-only and returns its fd and a copy of the path. */
static int open_reader(const char *path, int *fd, char **pcopy)
{
    *pcopy = st_strdup(path);
    if (!*pcopy) {
        return st_err(STRATA_E_NOMEM, "open %s: out of memory", path);
    }
    *fd = open_fd(path, O_RDONLY);
    if (*fd < 0) {
        int rc = *fd;
        st_free(*pcopy);
        *pcopy = NULL;
        return rc;
    }
    return 0;
}

static int new_random(st_env *env, const char *path, st_rfile **out)
{
    (void)env;
    *out = NULL;
    struct posix_rfile *f = st_calloc(1, sizeof(*f));
    if (!f) {
        return st_err(STRATA_E_NOMEM, "open %s: out of memory", path);
    }
    int rc = open_reader(path, &f->fd, &f->path);
    if (rc) {
        st_free(f);
        return rc;
    }
    f->base.ops = &rfile_ops;
    *out = &f->base;
    return 0;
}

/* A read-only mapping of a whole immutable file: reads are pointers into it (no syscall, no
 * copy).  The descriptor is closed once mapped; the mapping keeps the file alive. */
struct mapped_rfile {
    st_rfile base;
    const char *map;
    size_t size;
};

static int mapped_read(st_rfile *base, uint64_t offset, size_t n, char *scratch, st_slice *result)
{
    (void)scratch;
    const struct mapped_rfile *f = (const struct mapped_rfile *)base;
    size_t got = offset >= f->size ? 0 : ST_MIN(n, f->size - (size_t)offset);
    *result = st_slice_make(got ? f->map + offset : f->map, got);
    return 0;
}

static void mapped_close(st_rfile *base)
{
    struct mapped_rfile *f = (struct mapped_rfile *)base;
    munmap((void *)f->map, f->size);
    st_free(f);
}

static const struct st_rfile_ops mapped_ops = {mapped_read, mapped_close, 1};

static int new_mapped(st_env *env, const char *path, st_rfile **out)
{
    *out = NULL;
    int fd = -1;
    char *pcopy = NULL;
    int rc = open_reader(path, &fd, &pcopy);
    if (rc) {
        return rc;
    }
    st_free(pcopy);
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd); /* empty or unmappable: a plain reader reports what there is */
        return new_random(env, path, out);
    }
    struct mapped_rfile *f = st_calloc(1, sizeof(*f));
    void *map = f ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) {
        st_free(f);
        return new_random(env, path, out); /* e.g. address space exhausted */
    }
    f->base.ops = &mapped_ops;
    f->map = map;
    f->size = (size_t)st.st_size;
    *out = &f->base;
    return 0;
}

static int new_sequential(st_env *env, const char *path, st_sfile **out)
{
    (void)env;
    *out = NULL;
    struct posix_sfile *f = st_calloc(1, sizeof(*f));
    if (!f) {
        return st_err(STRATA_E_NOMEM, "open %s: out of memory", path);
    }
    int rc = open_reader(path, &f->fd, &f->path);
    if (rc) {
        st_free(f);
        return rc;
    }
    f->base.ops = &sfile_ops;
    *out = &f->base;
    return 0;
}

/* ---- Namespace operations ------------------------------------------------------------------- */

static int exists(st_env *env, const char *path)
{
    (void)env;
    return access(path, F_OK) == 0;
}

/* Appends a copy of name to the growing array *names (count *n, capacity *cap). */
static int push_name(char ***names, int *n, int *cap, const char *name, const char *dir)
{
    if (*n == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        char **p = st_realloc(*names, (size_t)ncap * sizeof(*p));
        if (!p) {
            return st_err(STRATA_E_NOMEM, "list %s: out of memory", dir);
        }
        *names = p;
        *cap = ncap;
    }
    if (!((*names)[*n] = st_strdup(name))) {
        return st_err(STRATA_E_NOMEM, "list %s: out of memory", dir);
    }
    (*n)++;
    return 0;
}

static int list_dir(st_env *env, const char *dir, char ***names, int *n)
{
    (void)env;
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        return st_err_errno(errno, "opendir %s", dir);
    }
    int rc = 0, cap = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) {
                rc = st_err_errno(errno, "readdir %s", dir);
            }
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if ((rc = push_name(names, n, &cap, e->d_name, dir)) != 0) {
            break;
        }
    }
    closedir(d);
    if (rc) {
        st_env_free_names(*names, *n);
        *names = NULL;
        *n = 0;
    }
    return rc;
}

static int remove_file(st_env *env, const char *path)
{
    (void)env;
    if (unlink(path) != 0) {
        return st_err_errno(errno, "unlink %s", path);
    }
    return 0;
}

static int rename_file(st_env *env, const char *from, const char *to)
{
    (void)env;
    if (rename(from, to) != 0) {
        return st_err_errno(errno, "rename %s to %s", from, to);
    }
    return 0;
}

static int create_dir(st_env *env, const char *dir)
{
    (void)env;
    if (mkdir(dir, 0755) == 0) {
        return 0;
    }
    int err = errno;
    struct stat st;
    if (err == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        return 0;
    }
    return st_err_errno(err, "mkdir %s", dir);
}

static int remove_dir(st_env *env, const char *dir)
{
    (void)env;
    if (rmdir(dir) != 0) {
        return st_err_errno(errno, "rmdir %s", dir);
    }
    return 0;
}

static int file_size(st_env *env, const char *path, uint64_t *size)
{
    (void)env;
    struct stat st;
    *size = 0;
    if (stat(path, &st) != 0) {
        return st_err_errno(errno, "stat %s", path);
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

static int sync_dir(st_env *env, const char *dir)
{
    (void)env;
    int fd = open_fd(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return fd;
    }
    int rc = 0;
    if (fsync(fd) != 0) {
        rc = st_err_errno(errno, "fsync directory %s", dir);
    }
    close(fd);
    return rc;
}

/* ---- Locks ---------------------------------------------------------------------------------- */

struct posix_lock {
    int fd;
    dev_t dev;
    ino_t ino;
    char *path;
    struct posix_lock *next; /* in the registry */
};

/* Every lock this process holds, so a second attempt fails even where the kernel would allow it
 * (and with a clearer message). */
static st_mutex registry_mu = {.m = PTHREAD_MUTEX_INITIALIZER};
static struct posix_lock *registry ST_GUARDED_BY(registry_mu);

static struct posix_lock *registry_find(dev_t dev, ino_t ino) ST_REQUIRES(registry_mu)
{
    for (struct posix_lock *l = registry; l; l = l->next) {
        if (l->dev == dev && l->ino == ino) {
            return l;
        }
    }
    return NULL;
}

static int ofd_lock(int fd, short type)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file; l_pid must be 0 for OFD */
    int rc;
    do {
        rc = fcntl(fd, F_OFD_SETLK, &fl);
    } while (rc != 0 && errno == EINTR);
    return rc;
}

/* Takes the kernel lock and registers l.  REQUIRES: l->fd open, registry_mu held. */
static int lock_register(struct posix_lock *l) ST_REQUIRES(registry_mu)
{
    struct posix_lock *held = registry_find(l->dev, l->ino);
    if (held) {
        return st_err(STRATA_E_BUSY, "lock %s: already held by this process (as %s)", l->path,
                      held->path);
    }
    if (ofd_lock(l->fd, F_WRLCK) != 0) {
        if (errno == EAGAIN || errno == EACCES) {
            return st_err(STRATA_E_BUSY, "lock %s: held by another process", l->path);
        }
        return st_err_errno(errno, "lock %s", l->path);
    }
    l->next = registry;
    registry = l;
    return 0;
}

/* Opens (creating) l->path and records its identity. */
static int lock_open(struct posix_lock *l)
{
    l->fd = open_fd(l->path, O_RDWR | O_CREAT);
    if (l->fd < 0) {
        return l->fd;
    }
    struct stat st;
    if (fstat(l->fd, &st) != 0) {
        return st_err_errno(errno, "fstat %s", l->path);
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    return 0;
}

static int lock_file(st_env *env, const char *path, st_filelock **out)
{
    (void)env;
    *out = NULL;
    struct posix_lock *l = st_calloc(1, sizeof(*l));
    if (!l || !(l->path = st_strdup(path))) {
        st_free(l);
        return st_err(STRATA_E_NOMEM, "lock %s: out of memory", path);
    }
    int rc = lock_open(l);
    if (rc == 0) {
        st_mutex_lock(&registry_mu);
        rc = lock_register(l);
        st_mutex_unlock(&registry_mu);
    }
    if (rc) {
        if (l->fd >= 0) {
            close(l->fd);
        }
        st_free(l->path);
        st_free(l);
        return rc;
    }
    *out = (st_filelock *)l;
    return 0;
}

static int unlock_file(st_env *env, st_filelock *lock)
{
    (void)env;
    struct posix_lock *l = (struct posix_lock *)lock;
    if (!l) {
        return 0;
    }
    st_mutex_lock(&registry_mu);
    for (struct posix_lock **pp = &registry; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    st_mutex_unlock(&registry_mu);
    int rc = 0;
    if (ofd_lock(l->fd, F_UNLCK) != 0) {
        rc = st_err_errno(errno, "unlock %s", l->path);
    }
    close(l->fd); /* releases the lock in any case */
    st_free(l->path);
    st_free(l);
    return rc;
}

/* ---- Clock and threads ---------------------------------------------------------------------- */

static uint64_t now_micros(st_env *env)
{
    (void)env;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_micros(st_env *env, uint64_t micros)
{
    (void)env;
    struct timespec ts = {(time_t)(micros / 1000000u), (long)(micros % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

struct st_thread {
    pthread_t tid;
    void (*fn)(void *arg);
    void *arg;
};

static void *thread_main(void *p)
{
    struct st_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

static int thread_start(st_env *env, void (*fn)(void *arg), void *arg, st_thread **out)
{
    (void)env;
    *out = NULL;
    struct st_thread *t = st_calloc(1, sizeof(*t));
    if (!t) {
        return st_err(STRATA_E_NOMEM, "thread start: out of memory");
    }
    t->fn = fn;
    t->arg = arg;
    int err = pthread_create(&t->tid, NULL, thread_main, t);
    if (err != 0) {
        st_free(t);
        return st_err(err == EAGAIN ? STRATA_E_NOMEM : STRATA_E_IO, "pthread_create: %s",
                      strerror(err));
    }
    *out = t;
    return 0;
}

static void thread_join(st_env *env, st_thread *t)
{
    (void)env;
    if (t) {
        pthread_join(t->tid, NULL);
        st_free(t);
    }
}

/* Background niceness: 10 steps below the caller's (Linux applies nice values per thread, named
 * by thread id).  A refusal (e.g. a sandbox) leaves the priority as it was. */
#define BACKGROUND_NICE_STEPS 10

static void lower_thread_priority(st_env *env)
{
    (void)env;
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int nice_now = getpriority(PRIO_PROCESS, tid);
    if (nice_now == -1 && errno != 0) {
        return;
    }
    int target = nice_now + BACKGROUND_NICE_STEPS > 19 ? 19 : nice_now + BACKGROUND_NICE_STEPS;
    (void)setpriority(PRIO_PROCESS, tid, target);
}

static const struct st_env_ops posix_ops = {
    new_writable, new_random, new_sequential, exists,      list_dir,     remove_file,
    rename_file,  create_dir, remove_dir,     file_size,   sync_dir,     lock_file,
    unlock_file,  now_micros, sleep_micros,   thread_start, thread_join, NULL,
    new_mapped,   new_log_writable, lower_thread_priority,
};

static st_env posix_env = {.ops = &posix_ops};

st_env *st_env_posix(void)
{
    return &posix_env;
}
