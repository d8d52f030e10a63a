/* env.c — helpers built only on the st_env vtable (whole-file read/write, path manipulation) and
 * the public strata_env_* entry points.  Nothing here touches the OS directly, so every helper
 * works unchanged over the POSIX, in-memory and fault-injecting envs.  The durability model these
 * helpers rely on is described in env.h and docs/ARCHITECTURE.md ("Platform layer"). */
#include "env/env.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/status.h"

void st_env_free_names(char **names, int n)
{
    if (!names) {
        return;
    }
    for (int i = 0; i < n; i++) {
        st_free(names[i]);
    }
    st_free(names);
}

int st_env_write_file(st_env *env, const char *path, st_slice data, int sync)
{
    st_wfile *f = NULL;
    int rc = st_env_new_writable(env, path, &f);
    if (rc) {
        return rc;
    }
    rc = st_wfile_append(f, data.data, data.size);
    if (rc == 0 && sync) {
        rc = st_wfile_sync(f);
    }
    int crc = st_wfile_close(f);
    if (rc == 0) {
        rc = crc;
    }
    if (rc) {
        /* Do not leave a partial file behind; the original error stays the reported one. */
        char saved[ST_ERRMSG_MAX];
        snprintf(saved, sizeof(saved), "%s", st_errmsg());
        (void)st_env_remove_file(env, path);
        st_err_set(rc, saved);
    }
    return rc;
}

/* Grows *buf (capacity *cap, holding len bytes) so one more byte fits, never past limit + 1
 * (the extra byte is the terminating NUL). */
static int grow(char **buf, size_t *cap, size_t len, size_t limit, const char *path)
{
    size_t want = len < 4096 ? 4096 : len * 2;
    if (want > limit || want < len) {
        want = limit;
    }
    char *p = st_realloc(*buf, want + 1);
    if (!p) {
        return st_err(STRATA_E_NOMEM, "read %s: out of memory growing to %zu bytes", path, want);
    }
    *buf = p;
    *cap = want;
    return 0;
}

/* Reads the rest of f into *buf (capacity *cap, *len bytes already held), failing with
 * STRATA_E_CORRUPTION once more than max_size bytes turn up. */
static int read_all(st_sfile *f, const char *path, size_t max_size, char **buf, size_t *cap,
                    size_t *len)
{
    for (;;) {
        st_slice r;
        int rc;
        if (*len == *cap) {
            /* Probe one byte before growing, so a file that is exactly *cap long (the common
             * case: the size was known up front) costs no reallocation. */
            char probe;
            rc = st_sfile_read(f, 1, &probe, &r);
            if (rc || r.size == 0) {
                return rc;
            }
            if (*len >= max_size) {
                return st_err(STRATA_E_CORRUPTION, "read %s: file larger than %zu bytes", path,
                              max_size);
            }
            if ((rc = grow(buf, cap, *len, max_size, path)) != 0) {
                return rc;
            }
            (*buf)[(*len)++] = r.data[0];
            continue;
        }
        rc = st_sfile_read(f, *cap - *len, *buf + *len, &r);
        if (rc) {
            return rc;
        }
        if (r.size == 0) {
            return 0;
        }
        if (r.data != *buf + *len) {
            memmove(*buf + *len, r.data, r.size);
        }
        *len += r.size;
    }
}

int st_env_read_file(st_env *env, const char *path, size_t max_size, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (max_size > SIZE_MAX - 1) {
        max_size = SIZE_MAX - 1; /* room for the terminating NUL */
    }
    uint64_t size = 0;
    int rc = st_env_file_size(env, path, &size);
    if (rc) {
        return rc;
    }
    if (size > max_size) {
        return st_err(STRATA_E_CORRUPTION, "read %s: file is %llu bytes, limit %zu", path,
                      (unsigned long long)size, max_size);
    }
    st_sfile *f = NULL;
    if ((rc = st_env_new_sequential(env, path, &f)) != 0) {
        return rc;
    }
    size_t cap = (size_t)size, n = 0;
    char *buf = st_malloc(cap + 1);
    if (!buf) {
        rc = st_err(STRATA_E_NOMEM, "read %s: out of memory for %zu bytes", path, cap);
        goto out;
    }
    rc = read_all(f, path, max_size, &buf, &cap, &n);
out:
    st_sfile_close(f);
    if (rc) {
        st_free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

char *st_path_dirname(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') { /* trailing slashes belong to the last component */
        n--;
    }
    while (n > 0 && path[n - 1] != '/') {
        n--;
    }
    if (n == 0) {
        return st_strdup(".");
    }
    while (n > 1 && path[n - 1] == '/') {
        n--;
    }
    char *d = st_malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

char *st_path_normalize(const char *path)
{
    size_t n = strlen(path);
    char *out = st_malloc(n + 2);
    if (!out) {
        return NULL;
    }
    size_t o = 0;
    const char *p = path;
    if (*p == '/') {
        out[o++] = '/';
    }
    while (*p) {
        while (*p == '/') {
            p++;
        }
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (o > 0 && out[o - 1] != '/') {
                out[o++] = '/';
            }
            memcpy(out + o, p, len);
            o += len;
        }
        p += len;
    }
    if (o == 0) {
        out[o++] = '.';
    }
    out[o] = '\0';
    return out;
}

STRATA_EXPORT strata_env *strata_env_default(void)
{
    return st_env_posix();
}

STRATA_EXPORT strata_env *strata_env_create_mem(void)
{
    return st_env_mem_create();
}

uint64_t st_env_unix_micros(st_env *env)
{
    if (env && env->clock) {
        return env->clock(env->clock_state);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A private copy of the POSIX env: the same operations, its own clock, freed by destroy. */
typedef struct owned_posix {
    st_env base;
    struct st_env_ops ops;
} owned_posix;

static void owned_posix_destroy(st_env *env)
{
    st_free(env);
}

STRATA_EXPORT strata_env *strata_env_create_posix(void)
{
    owned_posix *e = st_calloc(1, sizeof(*e));
    if (!e) {
        return NULL;
    }
    e->ops = *st_env_posix()->ops;
    e->ops.destroy = owned_posix_destroy;
    e->base.ops = &e->ops;
    return &e->base;
}

STRATA_EXPORT int strata_env_set_clock(strata_env *env, uint64_t (*now_unix_micros)(void *state),
                                       void *state)
{
    if (!env || env == st_env_posix()) {
        return st_err(STRATA_E_INVALID, "strata_env_set_clock: %s",
                      env ? "the default env is shared; use strata_env_create_posix"
                          : "NULL env");
    }
    env->clock = now_unix_micros;
    env->clock_state = state;
    return 0;
}

STRATA_EXPORT void strata_env_destroy(strata_env *env)
{
    if (env && env->ops->destroy) {
        env->ops->destroy(env);
    }
}
