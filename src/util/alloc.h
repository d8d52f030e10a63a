/* alloc.h — the single allocation wrapper.  Every heap allocation in strata goes through these so
 * tests can fail the Nth allocation (out-of-memory loop).  Never redefines malloc. */
#ifndef STRATA_UTIL_ALLOC_H
#define STRATA_UTIL_ALLOC_H

#include <stddef.h>

void *st_malloc(size_t n);
void *st_calloc(size_t count, size_t size);
void *st_realloc(void *p, size_t n);
void st_free(void *p);
char *st_strdup(const char *s);
void *st_memdup(const void *p, size_t n);
/* n usable bytes (+1 spare) whose start *p is 64-byte aligned when align64 (cache-line-blocked
 * filters): returns the allocation, which st_free releases; NULL when out of memory. */
char *st_malloc_align(size_t n, int align64, char **p);

/* Test hooks.  st_alloc_fail_after(n): the allocation n calls from now (0 = the next one) and, if
 * sticky, every one after it fails; n < 0 disables injection.  Counts are process-wide (atomic). */
void st_alloc_fail_after(long n, int sticky);
/* Number of allocations attempted since process start. */
long st_alloc_count(void);
/* Number of injected failures so far. */
long st_alloc_failures(void);

#endif
