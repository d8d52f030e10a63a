/* random.c — xoshiro256** PRNG, seeded through splitmix64 so that any 64-bit seed (even 0) gives
 * a well-mixed non-zero state.  Deterministic: the same seed yields the same sequence on every
 * platform, which randomized tests rely on for reproduction. */
#include "util/random.h"

#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void st_random_seed(st_random *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&seed);
    }
}

uint64_t st_random_next(st_random *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Unbiased: rejects the top partial range of 2^64 so every residue is equally likely. */
uint64_t st_random_uniform(st_random *r, uint64_t n)
{
    if (n <= 1) {
        return 0;
    }
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* values >= limit would bias low residues */
    uint64_t x;
    do {
        x = st_random_next(r);
    } while (x >= limit);
    return x % n;
}

int st_random_one_in(st_random *r, uint64_t n)
{
    return st_random_uniform(r, n) == 0;
}

uint64_t st_random_skewed(st_random *r, int max_log)
{
    if (max_log <= 0) {
        return 0;
    }
    if (max_log > 64) {
        max_log = 64;
    }
    int base = (int)st_random_uniform(r, (uint64_t)max_log + 1);
    if (base == 64) {
        return st_random_next(r);
    }
    return st_random_uniform(r, UINT64_C(1) << base);
}

void st_random_bytes(st_random *r, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n >= 8) {
        uint64_t v = st_random_next(r);
        memcpy(p, &v, 8);
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t v = st_random_next(r);
        memcpy(p, &v, n);
    }
}
