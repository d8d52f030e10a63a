/* random.h — small fast deterministic PRNG (xoshiro256** seeded by splitmix64).  Not
 * thread-safe: one per thread or guarded by the caller. */
#ifndef STRATA_UTIL_RANDOM_H
#define STRATA_UTIL_RANDOM_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_random {
    uint64_t s[4];
} st_random;

void st_random_seed(st_random *r, uint64_t seed);
uint64_t st_random_next(st_random *r);
/* Uniform in [0, n); n > 0. */
uint64_t st_random_uniform(st_random *r, uint64_t n);
/* 1 with probability 1/n. */
int st_random_one_in(st_random *r, uint64_t n);
/* Skewed: picks base uniformly in [0, max_log] and returns uniform in [0, 2^base). */
uint64_t st_random_skewed(st_random *r, int max_log);
/* Fills buf with n random bytes. */
void st_random_bytes(st_random *r, void *buf, size_t n);

#endif
