/* datagen.c — the compressible value pool (see datagen.h).  Each 100-byte chunk is
 * max(1, 100 * ratio) random printable bytes repeated until the chunk is full: a compressor that
 * finds repeats (snappy, lz4, zstd) shrinks it to about ratio of its size, and the random prefix
 * keeps entropy coders from doing much better. */
#include "datagen.h"

#include "strata.h"
#include "util/alloc.h"
#include "util/random.h"
#include "util/status.h"

static void fill_chunk(char *dst, size_t len, double ratio, st_random *rnd)
{
    size_t raw = (size_t)((double)len * ratio);
    if (raw < 1) {
        raw = 1;
    }
    if (raw > len) {
        raw = len;
    }
    for (size_t i = 0; i < raw; i++) {
        dst[i] = (char)(' ' + st_random_uniform(rnd, 95));
    }
    for (size_t i = raw; i < len; i++) {
        dst[i] = dst[i - raw];
    }
}

int bench_valpool_init(bench_valpool *p, double ratio, size_t min_len, uint64_t seed)
{
    size_t len = (size_t)1 << 20;
    if (min_len > len) {
        len = min_len;
    }
    len += BENCH_VALPOOL_CHUNK - len % BENCH_VALPOOL_CHUNK;
    p->data = st_malloc(len);
    if (p->data == NULL) {
        return st_err(STRATA_E_NOMEM, "value pool: out of memory (%zu bytes)", len);
    }
    p->len = len;
    st_random rnd;
    st_random_seed(&rnd, seed);
    for (size_t off = 0; off < len; off += BENCH_VALPOOL_CHUNK) {
        fill_chunk(p->data + off, BENCH_VALPOOL_CHUNK, ratio, &rnd);
    }
    return 0;
}

void bench_valpool_free(bench_valpool *p)
{
    st_free(p->data);
    p->data = NULL;
    p->len = 0;
}

int bench_key_digits(uint64_t n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}
