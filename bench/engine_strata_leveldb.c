/* engine_strata_leveldb.c — loads strata's LevelDB drop-in (libstrata_leveldb) for the
 * strata-leveldb engine, whose adapter is engine_leveldb.c's, driven through a bench_ldb_api table.
 *
 * Real LevelDB and the shim export the same leveldb_* symbols, so strata-bench cannot link both.
 * The shim is opened with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND): LOCAL keeps its symbols
 * out of the global scope, DEEPBIND makes the shim (and libstrata beneath it) resolve their own
 * references in themselves before the executable, which holds real LevelDB.  The path is the build
 * tree's library (STRATA_BENCH_LEVELDB_SHIM, set by CMake), or $STRATA_LEVELDB_LIB when set.
 * Every function of LDB_API_FUNCS is resolved with dlsym; a missing one makes the engine
 * unavailable, as does a failed dlopen, with the reason kept for the message.
 *
 * AddressSanitizer refuses RTLD_DEEPBIND: under it the shim is opened without DEEPBIND when real
 * LevelDB is not linked in (nothing to clash with), and is reported unavailable otherwise.
 *
 * The library is loaded once, on first use (engine selection, before any run is forked), and
 * never closed.  Not thread-safe: strata-bench selects engines before starting any thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEEPBIND */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ldb_api.h"
#include "util/status.h"

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_UNDER_ASAN 1
#endif
#endif

static bench_ldb_api api;
static int state;         /* 0 not tried, 1 loaded, -1 unavailable */
static char reason[512]; /* why it is unavailable */

static const char *shim_path(void)
{
    const char *env = getenv("STRATA_LEVELDB_LIB");
    return env != NULL && env[0] != '\0' ? env : STRATA_BENCH_LEVELDB_SHIM;
}

static int dlopen_flags(void)
{
#ifdef BENCH_UNDER_ASAN
#ifdef STRATA_BENCH_HAVE_LEVELDB
    return -1;
#else
    return RTLD_NOW | RTLD_LOCAL;
#endif
#else
    return RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
#endif
}

/* Resolves every slot of api from handle; 0, or -1 with reason naming the first missing one. */
static int resolve(void *handle, const char *path)
{
    for (const bench_ldb_api_sym *s = bench_ldb_api_syms; s->name != NULL; s++) {
        void *f = dlsym(handle, s->name);
        if (f == NULL) {
            snprintf(reason, sizeof(reason), "%s has no %s", path, s->name);
            return -1;
        }
        /* POSIX guarantees a data pointer from dlsym converts to a function pointer; memcpy
         * avoids ISO C's warning about the cast. */
        memcpy((char *)&api + s->offset, &f, sizeof(f));
    }
    return 0;
}

static void load(void)
{
    const char *path = shim_path();
    int flags = dlopen_flags();
    state = -1;
    if (flags < 0) {
        snprintf(reason, sizeof(reason),
                 "AddressSanitizer refuses RTLD_DEEPBIND, which keeps %s apart from the LevelDB "
                 "linked into this strata-bench (build without sanitizers, or with "
                 "-DSTRATA_BENCH_WITH_LEVELDB=OFF)",
                 path);
        return;
    }
    void *handle = dlopen(path, flags);
    if (handle == NULL) {
        const char *e = dlerror();
        snprintf(reason, sizeof(reason), "cannot load %s (set STRATA_LEVELDB_LIB): %s", path,
                 e != NULL ? e : "dlopen failed");
        return;
    }
    if (resolve(handle, path) != 0) {
        dlclose(handle);
        return;
    }
    state = 1;
}

const char *bench_strata_leveldb_unavailable(void)
{
    if (state == 0) {
        load();
    }
    return state > 0 ? NULL : reason;
}

int bench_strata_leveldb_api(const bench_ldb_api **out)
{
    const char *why = bench_strata_leveldb_unavailable();
    if (why != NULL) {
        return st_err(STRATA_E_NOTSUP, "strata-leveldb is unavailable: %s", why);
    }
    *out = &api;
    return 0;
}
