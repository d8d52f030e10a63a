/* datagen.h — what strata-bench writes: db_bench-style keys (the key number in decimal, zero-padded
 * to key_size bytes, so that key order is numeric order) and values drawn from a compressible pool
 * (db_bench's generator: chunks of random printable bytes, each chunk a random prefix repeated so
 * the chunk compresses to about compression_ratio of its size).
 *
 * The pool is built once and shared read-only by every thread; each thread walks it with its own
 * bench_valgen cursor. */
#ifndef STRATA_BENCH_DATAGEN_H
#define STRATA_BENCH_DATAGEN_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_VALPOOL_CHUNK 100

typedef struct bench_valpool {
    char *data;
    size_t len;
} bench_valpool;

typedef struct bench_valgen {
    const bench_valpool *pool;
    size_t pos;
} bench_valgen;

/* Builds a pool of at least max(1 MiB, min_len) bytes.  ratio in (0, 1].  STRATA_E_NOMEM. */
int bench_valpool_init(bench_valpool *p, double ratio, size_t min_len, uint64_t seed);
void bench_valpool_free(bench_valpool *p);

static inline void bench_valgen_init(bench_valgen *g, const bench_valpool *pool)
{
    g->pool = pool;
    g->pos = 0;
}

/* The next len bytes of the pool (wrapping to the start); len <= pool->len.  Borrowed from the
 * pool. */
static inline const char *bench_valgen_next(bench_valgen *g, size_t len)
{
    if (g->pos + len > g->pool->len) {
        g->pos = 0;
    }
    const char *v = g->pool->data + g->pos;
    g->pos += len;
    return v;
}

/* Writes k in decimal, zero-padded on the left, into exactly key_size bytes of buf (no NUL).
 * Digits beyond key_size are dropped: callers check bench_key_digits first. */
static inline void bench_key_format(char *buf, int key_size, uint64_t k)
{
    for (int i = key_size - 1; i >= 0; i--) {
        buf[i] = (char)('0' + k % 10);
        k /= 10;
    }
}

/* Decimal digits of n (1 for 0). */
int bench_key_digits(uint64_t n);

#endif
