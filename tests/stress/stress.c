/* stress.c — strata-stress: command line, failure reporting and the top-level run (see stress.h
 * for the model, docs/TESTING.md for usage).
 *
 * Every run is determined by its flags: the seed picks the options (stress_model.c) and each
 * thread's operation sequence.  With --threads=1 a seed replays the same operations; with more
 * threads the interleaving differs from run to run, so a failure prints the full command line to
 * rerun under the same options and sequences. */
#include "stress.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double stress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_repro(FILE *out, const struct stress_flags *f)
{
    fprintf(out,
            "reproduce: strata-stress --seed=%" PRIu64
            " --threads=%d --ops=%ld --duration=%g "
            "--keys=%u --reopen_every=%ld --verify_every=%ld --env=%s --db=%s",
            f->seed, f->threads, f->ops, f->duration, f->keys, f->reopen_every, f->verify_every,
            f->mem_env ? "mem" : "posix", f->db);
    if (f->options) {
        fprintf(out, " '--options=%s'", f->options);
    }
    fprintf(out, "\n");
}

void stress_fail(const struct stress_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAILURE: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nseed: %" PRIu64 "\n", c->f.seed);
    print_repro(stderr, &c->f);
    fflush(stdout);
    fflush(stderr);
    _exit(1); /* other threads may be inside the DB: no atexit handlers, no close */
}

static void usage(const char *why)
{
    fprintf(stderr,
            "%s\nusage: strata-stress [--seed=N] [--threads=N] [--ops=N per thread] "
            "[--duration=SECONDS] [--keys=N] [--reopen_every=N] [--verify_every=N] "
            "[--env=posix|mem] [--db=PATH] [--options=STRING] [--verbose]\n",
            why);
    exit(2);
}

static int flag(const char *arg, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || arg[n] != '=') {
        return 0;
    }
    *val = arg + n + 1;
    return 1;
}

static long num(const char *s, const char *name)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "bad value for --%s: '%s'", name, s);
        usage(msg);
    }
    return (long)v;
}

static void parse_one(struct stress_flags *f, const char *a)
{
    const char *v;
    if (flag(a, "--seed", &v)) {
        f->seed = strtoull(v, NULL, 10);
    } else if (flag(a, "--threads", &v)) {
        f->threads = (int)num(v, "threads");
    } else if (flag(a, "--ops", &v)) {
        f->ops = num(v, "ops");
    } else if (flag(a, "--duration", &v)) {
        f->duration = strtod(v, NULL);
    } else if (flag(a, "--keys", &v)) {
        f->keys = (uint32_t)num(v, "keys");
    } else if (flag(a, "--reopen_every", &v)) {
        f->reopen_every = num(v, "reopen_every");
    } else if (flag(a, "--verify_every", &v)) {
        f->verify_every = num(v, "verify_every");
    } else if (flag(a, "--env", &v) && (!strcmp(v, "mem") || !strcmp(v, "posix"))) {
        f->mem_env = !strcmp(v, "mem");
    } else if (flag(a, "--db", &v)) {
        f->db = v;
    } else if (flag(a, "--options", &v)) {
        f->options = v;
    } else if (!strcmp(a, "--verbose")) {
        f->verbose = 1;
    } else {
        char msg[256];
        snprintf(msg, sizeof(msg), "unknown argument '%s'", a);
        usage(msg);
    }
}

static void parse_flags(struct stress_flags *f, int argc, char **argv)
{
    static char dbbuf[256];
    const char *env_seed = getenv("STRATA_TEST_SEED");
    memset(f, 0, sizeof(*f));
    f->seed = env_seed && *env_seed ? strtoull(env_seed, NULL, 10)
                                    : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    f->threads = 4;
    f->ops = 100000;
    f->keys = 10000;
    f->verify_every = 50000;
    for (int i = 1; i < argc; i++) {
        parse_one(f, argv[i]);
    }
    if (f->threads < 1 || f->threads > 256 || f->keys < 1) {
        usage("--threads must be in [1, 256] and --keys at least 1");
    }
    if (!f->db) {
        snprintf(dbbuf, sizeof(dbbuf), "/tmp/strata-stress-%ld", (long)getpid());
        f->db = dbbuf;
    }
}

static void setup(struct stress_ctx *c)
{
    if (stress_random_options(c->f.seed, &c->opt) != 0) {
        stress_fail(c, "randomized options rejected: %s", strata_errmsg());
    }
    c->mo = strata_merge_operator_uint64_add();
    if (!c->mo || strata_options_set_merge_operator(c->opt, c->mo) != 0) {
        stress_fail(c, "merge operator: %s", strata_errmsg());
    }
    if (c->f.options && strata_options_from_string(c->opt, c->f.options) != 0) {
        stress_fail(c, "--options rejected: %s", strata_errmsg());
    }
    if (c->f.mem_env) {
        c->env = strata_env_create_mem();
        strata_options_set_env(c->opt, c->env);
    }
    int rc = strata_destroy(c->opt, c->f.db);
    if (rc != 0) {
        stress_fail(c, "destroying the old DB at %s: %s: %s", c->f.db, strata_strerror(rc),
                    strata_errmsg());
    }
    c->nlocks = (c->f.keys + STRESS_RANGE - 1) / STRESS_RANGE;
    c->expected = calloc(c->f.keys, sizeof(*c->expected));
    c->locks = calloc(c->nlocks, sizeof(*c->locks));
    c->ncounters = c->f.keys / 16 ? c->f.keys / 16 : 1;
    c->counters = calloc(c->ncounters, sizeof(*c->counters));
    c->cpresent = calloc(c->ncounters, sizeof(*c->cpresent));
    if (!c->expected || !c->locks || !c->counters || !c->cpresent) {
        stress_fail(c, "out of memory for %u keys", c->f.keys);
    }
    for (uint32_t i = 0; i < c->nlocks; i++) {
        pthread_mutex_init(&c->locks[i], NULL);
    }
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->world, &a);
    pthread_rwlockattr_destroy(&a);
}

static void teardown(struct stress_ctx *c)
{
    for (uint32_t i = 0; i < c->nlocks; i++) {
        pthread_mutex_destroy(&c->locks[i]);
    }
    pthread_rwlock_destroy(&c->world);
    free(c->locks);
    free(c->expected);
    free(c->counters);
    free(c->cpresent);
    if (!c->f.verbose || c->f.mem_env) {
        strata_destroy(c->opt, c->f.db);
    }
    strata_options_destroy(c->opt);
    strata_env_destroy(c->env);
    strata_merge_operator_destroy(c->mo);
}

static void print_summary(const struct stress_ctx *c)
{
    uint32_t live = 0;
    for (uint32_t i = 0; i < c->f.keys; i++) {
        live += c->expected[i] & 1;
    }
    printf("strata-stress: PASS seed=%" PRIu64
           " in %.1fs: %ld ops (put %ld, delete %ld, range delete %ld, batch %ld, merge %ld, "
           "counter get/delete %ld, get %ld, multi-get %ld, scan %ld, snapshot %ld, flush %ld, "
           "compact %ld), %ld full verifications, %ld reopens, %u of %u keys live\n",
           c->f.seed, stress_now() - c->t0, c->done, c->n_put, c->n_del, c->n_range, c->n_batch,
           c->n_merge, c->n_counter, c->n_get, c->n_mget, c->n_scan, c->n_snap, c->n_flush,
           c->n_compact, c->n_verify, c->n_reopen, live, c->f.keys);
}

int main(int argc, char **argv)
{
    static struct stress_ctx ctx;
    struct stress_ctx *c = &ctx;
    parse_flags(&c->f, argc, argv);
    setup(c);
    char *ostr = strata_options_to_string(c->opt);
    printf("strata-stress: seed=%" PRIu64
           " threads=%d ops/thread=%ld duration=%gs keys=%u db=%s\n"
           "options: %s\n",
           c->f.seed, c->f.threads, c->f.ops, c->f.duration, c->f.keys, c->f.db, ostr ? ostr : "?");
    print_repro(stdout, &c->f);
    fflush(stdout);
    strata_free(ostr);
    c->t0 = stress_now();
    if (stress_open(c) != 0) {
        stress_fail(c, "open: %s", strata_errmsg());
    }
    stress_run(c);
    stress_verify_all(c, "final check");
    int rc = strata_close(c->db);
    if (rc != 0) {
        stress_fail(c, "close: %s: %s", strata_strerror(rc), strata_errmsg());
    }
    if (stress_open(c) != 0) {
        stress_fail(c, "final reopen: %s", strata_errmsg());
    }
    stress_verify_all(c, "final check after reopen");
    rc = strata_close(c->db);
    if (rc != 0) {
        stress_fail(c, "final close: %s: %s", strata_strerror(rc), strata_errmsg());
    }
    print_summary(c);
    fflush(stdout);
    teardown(c);
    return 0;
}
