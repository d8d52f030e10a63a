/* alloc.c — allocation wrapper with failure injection for out-of-memory tests. */
#include "util/alloc.h"

#include <stdint.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"

static atomic_long alloc_calls;
static atomic_long fail_at = -1; /* absolute call number of the first failure, or -1 */
static atomic_int fail_sticky;
static atomic_long fail_count;

static int should_fail(void)
{
    long n = atomic_fetch_add_explicit(&alloc_calls, 1, memory_order_relaxed);
    long at = atomic_load_explicit(&fail_at, memory_order_relaxed);
    if (ST_LIKELY(at < 0)) {
        return 0;
    }
    if (n == at || (n > at && atomic_load_explicit(&fail_sticky, memory_order_relaxed))) {
        atomic_fetch_add_explicit(&fail_count, 1, memory_order_relaxed);
        return 1;
    }
    return 0;
}

void *st_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *st_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *st_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void st_free(void *p)
{
    free(p);
}

char *st_strdup(const char *s)
{
    return st_memdup(s, strlen(s) + 1);
}

void *st_memdup(const void *p, size_t n)
{
    void *q = st_malloc(n);
    if (q && n) {
        memcpy(q, p, n);
    }
    return q;
}

void st_alloc_fail_after(long n, int sticky)
{
    atomic_store(&fail_sticky, sticky);
    atomic_store(&fail_at, n < 0 ? -1 : atomic_load(&alloc_calls) + n);
}

long st_alloc_count(void)
{
    return atomic_load(&alloc_calls);
}

long st_alloc_failures(void)
{
    return atomic_load(&fail_count);
}

char *st_malloc_align(size_t n, int align64, char **p)
{
    char *mem = st_malloc(n + (align64 ? 63 : 0) + 1);
    if (mem) {
        *p = align64 ? (char *)(((uintptr_t)mem + 63) & ~(uintptr_t)63) : mem;
    }
    return mem;
}
