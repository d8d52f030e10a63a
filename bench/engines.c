/* engines.c — the engines compiled into this strata-bench (CMake defines STRATA_BENCH_HAVE_* for
 * each one it found), strata first so it heads every table.  An engine that depends on a library
 * loaded at run time (strata-leveldb) is listed only when that library loaded. */
#include <stdio.h>
#include <string.h>

#include "engine.h"

static const bench_engine *const compiled_engines[] = {
#ifdef STRATA_BENCH_HAVE_STRATA
    &bench_engine_strata,
#endif
#ifdef STRATA_BENCH_HAVE_STRATA_LEVELDB
    &bench_engine_strata_leveldb,
#endif
#ifdef STRATA_BENCH_HAVE_LEVELDB
    &bench_engine_leveldb,
#endif
#ifdef STRATA_BENCH_HAVE_ROCKSDB
    &bench_engine_rocksdb,
#endif
    NULL,
};

#define NCOMPILED (sizeof(compiled_engines) / sizeof(compiled_engines[0]))

const bench_engine *const *bench_engines_all(void)
{
    static const bench_engine *usable[NCOMPILED];
    static int built;
    if (!built) {
        size_t n = 0;
        for (const bench_engine *const *e = compiled_engines; *e != NULL; e++) {
            if ((*e)->unavailable == NULL || (*e)->unavailable() == NULL) {
                usable[n++] = *e;
            }
        }
        usable[n] = NULL;
        built = 1;
    }
    return usable;
}

const char *bench_engine_unavailable(const char *name)
{
    for (const bench_engine *const *e = compiled_engines; *e != NULL; e++) {
        if (strcmp((*e)->name, name) == 0) {
            return (*e)->unavailable != NULL ? (*e)->unavailable() : NULL;
        }
    }
    return NULL;
}

const bench_engine *bench_engine_find(const char *name)
{
    for (const bench_engine *const *e = bench_engines_all(); *e != NULL; e++) {
        if (strcmp((*e)->name, name) == 0) {
            return *e;
        }
    }
    return NULL;
}

void bench_cf_names_init(bench_cf_names *n, int count)
{
    for (int i = 0; i < count && i < BENCH_MAX_CF; i++) {
        if (i == 0) {
            snprintf(n->buf[i], sizeof(n->buf[i]), "default");
        } else {
            snprintf(n->buf[i], sizeof(n->buf[i]), "cf%d", i);
        }
        n->names[i] = n->buf[i];
    }
}
