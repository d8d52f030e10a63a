/* strata_demo.c — loads N keys (default 1,000,000) into a fresh DB, reads every one back
 * (random order) and scans them, printing throughput.  Usage: strata_demo DIR [N] */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strata.h"

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void report(const char *what, long n, double secs, double bytes)
{
    printf("%-10s %9ld ops in %6.2f s: %10.0f ops/s, %7.1f MB/s, %6.2f us/op\n", what, n, secs,
           (double)n / secs, bytes / secs / 1048576.0, secs * 1e6 / (double)n);
}

static int check(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "strata_demo: %s failed: %s (%s)\n", what, strata_strerror(rc),
                strata_errmsg());
        exit(1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [NUM_KEYS]\n", argv[0]);
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    strata_destroy(NULL, argv[1]);
    strata_options *opt = strata_options_create();
    strata_options_set_create_if_missing(opt, 1);
    strata_db *db = NULL;
    check(strata_open(opt, argv[1], &db), "open");
    strata_options_destroy(opt);

    char key[32], val[100];
    memset(val, 'v', sizeof(val));
    double t = now_sec();
    for (long i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "%016ld", i);
        memcpy(val, key, 16);
        check(strata_put(db, NULL, key, (size_t)kl, val, sizeof(val)), "put");
    }
    report("load", n, now_sec() - t, (double)n * (16 + sizeof(val)));

    uint64_t seed = 88172645463325252ull;
    t = now_sec();
    for (long i = 0; i < n; i++) {
        long k = (long)(next_rand(&seed) % (uint64_t)n);
        int kl = snprintf(key, sizeof(key), "%016ld", k);
        void *v = NULL;
        size_t vl = 0;
        check(strata_get(db, NULL, key, (size_t)kl, &v, &vl), "get");
        if (vl != sizeof(val) || memcmp(v, key, 16) != 0) {
            fprintf(stderr, "strata_demo: wrong value for key %s\n", key);
            return 1;
        }
        strata_free(v);
    }
    report("readrandom", n, now_sec() - t, (double)n * (16 + sizeof(val)));

    strata_iter *it = NULL;
    check(strata_iter_create(db, NULL, &it), "iterator");
    long seen = 0;
    t = now_sec();
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        seen++;
    }
    check(strata_iter_status(it), "scan");
    report("readseq", seen, now_sec() - t, (double)seen * (16 + sizeof(val)));
    strata_iter_destroy(it);
    if (seen != n) {
        fprintf(stderr, "strata_demo: scan saw %ld keys, expected %ld\n", seen, n);
        return 1;
    }
    char *stats = NULL;
    if (strata_property(db, "strata.levelstats", &stats) == 0) {
        printf("%s", stats);
        strata_free(stats);
    }
    check(strata_close(db), "close");
    return 0;
}
