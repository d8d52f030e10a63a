/* workloads.c — the db_bench workloads (see workloads.h) and the threads that run them.
 *
 * Operation counts follow db_bench: every thread performs the whole count (num for writes and
 * deletes, num/1000 for fillsync, reads for reads), keys are drawn uniformly from [0, num) with
 * replacement by a per-thread PRNG seeded from (--seed, workload position, thread index), so every
 * engine sees the same key sequence.  Latency of an operation is the time since the previous one of
 * the same thread finished (one clock read per operation); for fillbatch and multireadrandom each
 * batch contributes one sample, its time divided by its entries.  Threads wait at a start gate so
 * they begin together.  Workloads that need an optional engine operation (engine.h) are skipped
 * for engines without it, and under --cf > 1 those that iterate and every one on engines without
 * column families (bench_workload_skip).  The txn workloads run on a transaction DB of their own
 * (run_txn) and check afterwards that the counters they increment add up to their commits. */
#include "workloads.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sysstat.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/mutex.h"
#include "util/random.h"
#include "util/status.h"

typedef struct bench_thread bench_thread;
typedef int (*wl_fn)(bench_thread *t);

/* The optional engine operations a workload uses. */
enum { NEEDS_DELETE_RANGE = 1, NEEDS_MERGE = 2, NEEDS_MULTI_GET = 4, NEEDS_TXN = 8 };
/* txn workloads: the transaction kind of wl_def.txn. */
enum { TXN_NONE = 0, TXN_PESSIMISTIC = 1, TXN_OPTIMISTIC = 2 };

/* deleterange: the share (percent) of range deletes and of seeks, and keys per range delete. */
#define DELETERANGE_PERCENT 1
#define DELETERANGE_SEEK_PERCENT 30
#define DELETERANGE_SPAN 100
/* multireadrandom: keys per multi-get. */
#define MULTIGET_BATCH 32
/* txn workloads: conflicts in a row after which one transaction gives up (the run fails). */
#define TXN_MAX_RETRIES 10000

struct wl_def {
    const char *name;
    wl_fn fn;
    int fresh_db;  /* starts from an empty DB */
    int bg_writer; /* one extra unmeasured writer thread runs alongside */
    int reference; /* measures the machine, not the engine */
    int needs;     /* NEEDS_* */
    int iterates;  /* walks the key space with iterators (one family each: skipped with --cf>1) */
    int txn;       /* TXN_*: runs on a transaction DB of its own */
};

/* Releases all threads at once; abort tells them to return without working.  open and abort are
 * guarded by mu (clang 14 cannot check member-to-member guarded_by in C, so it is not annotated).
 */
typedef struct start_gate {
    st_mutex mu;
    st_cond cv;
    int open;
    int abort;
} start_gate;

struct bench_thread {
    const bench_ctx *ctx;
    const struct wl_def *def;
    start_gate *gate;
    atomic_int *stop; /* set when the measured threads are done (background writer) */
    pthread_t tid;
    int tno; /* thread number within the workload */
    int started;
    st_random rnd;
    bench_valgen gen;
    uint64_t ops, found, bytes, user_bytes, retries;
    uint64_t start_ns, end_ns, last_ns;
    int rc;
    char err[BENCH_ERR_MAX];
    bench_hist hist;
};

static inline void op_done(bench_thread *t, uint64_t bytes)
{
    uint64_t now = bench_now_ns();
    bench_hist_add(&t->hist, now - t->last_ns);
    t->last_ns = now;
    t->ops++;
    t->bytes += bytes;
}

/* n operations done as one batch: one latency sample of the batch's time / n. */
static inline void batch_done(bench_thread *t, uint64_t n, uint64_t bytes)
{
    uint64_t now = bench_now_ns();
    bench_hist_add(&t->hist, (now - t->last_ns) / n);
    t->last_ns = now;
    t->ops += n;
    t->bytes += bytes;
}

static uint64_t num_keys(const bench_thread *t)
{
    return (uint64_t)t->ctx->cfg->num;
}

static uint64_t num_reads(const bench_thread *t)
{
    const bench_config *cfg = t->ctx->cfg;
    return (uint64_t)(cfg->reads < 0 ? cfg->num : cfg->reads);
}

static int write_keys(bench_thread *t, int random, int sync, uint64_t n)
{
    const bench_ctx *c = t->ctx;
    char key[BENCH_MAX_KEY_SIZE + 1];
    size_t ks = (size_t)c->cfg->key_size;
    size_t vs = (size_t)c->cfg->value_size;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = random ? st_random_uniform(&t->rnd, num_keys(t)) : i;
        bench_key_format(key, (int)ks, k);
        int rc = c->eng->put(c->db, key, ks, bench_valgen_next(&t->gen, vs), vs, sync);
        if (rc != 0) {
            return rc;
        }
        t->user_bytes += ks + vs;
        op_done(t, ks + vs);
    }
    return 0;
}

static int wl_fillseq(bench_thread *t)
{
    return write_keys(t, 0, 0, num_keys(t));
}

static int wl_fillrandom(bench_thread *t)
{
    return write_keys(t, 1, 0, num_keys(t));
}

static int wl_fillsync(bench_thread *t)
{
    uint64_t n = num_keys(t) / 1000;
    return write_keys(t, 1, 1, n > 0 ? n : 1);
}

/* Adds keys [first, first + n) to b. */
static int fill_batch(bench_thread *t, bench_batch *b, uint64_t first, uint64_t n)
{
    const bench_ctx *c = t->ctx;
    char key[BENCH_MAX_KEY_SIZE + 1];
    size_t ks = (size_t)c->cfg->key_size;
    size_t vs = (size_t)c->cfg->value_size;
    c->eng->batch_clear(b);
    for (uint64_t k = first; k < first + n; k++) {
        bench_key_format(key, (int)ks, k);
        int rc = c->eng->batch_put(b, key, ks, bench_valgen_next(&t->gen, vs), vs);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int wl_fillbatch(bench_thread *t)
{
    const bench_ctx *c = t->ctx;
    uint64_t per = (uint64_t)c->cfg->batch_size;
    uint64_t entry = (uint64_t)c->cfg->key_size + (uint64_t)c->cfg->value_size;
    bench_batch *b = NULL;
    int rc = c->eng->batch_create(c->db, &b);
    for (uint64_t i = 0; rc == 0 && i < num_keys(t); i += per) {
        uint64_t n = ST_MIN(per, num_keys(t) - i);
        rc = fill_batch(t, b, i, n);
        rc = rc ? rc : c->eng->batch_write(c->db, b, 0);
        if (rc == 0) {
            batch_done(t, n, n * entry);
            t->user_bytes += n * entry;
        }
    }
    c->eng->batch_destroy(b);
    return rc;
}

static int wl_deleterandom(bench_thread *t)
{
    const bench_ctx *c = t->ctx;
    char key[BENCH_MAX_KEY_SIZE + 1];
    size_t ks = (size_t)c->cfg->key_size;
    for (uint64_t i = 0; i < num_keys(t); i++) {
        bench_key_format(key, (int)ks, st_random_uniform(&t->rnd, num_keys(t)));
        int rc = c->eng->del(c->db, key, ks, 0);
        if (rc != 0) {
            return rc;
        }
        t->user_bytes += ks;
        op_done(t, ks);
    }
    return 0;
}

/* One measured get; *vlen is the value's size when found (the return is then 0). */
static int get_one(bench_thread *t, const char *key, size_t klen, size_t *vlen)
{
    const bench_ctx *c = t->ctx;
    *vlen = 0;
    int rc = c->eng->get(c->db, key, klen, vlen);
    if (rc != 0 && rc != STRATA_E_NOTFOUND) {
        return rc;
    }
    t->found += rc == 0;
    op_done(t, rc == 0 ? klen + *vlen : 0);
    return rc;
}

/* Point reads of keys drawn from [0, range); missing appends '.' so no key matches. */
static int read_keys(bench_thread *t, uint64_t range, int missing)
{
    const bench_ctx *c = t->ctx;
    char key[BENCH_MAX_KEY_SIZE + 1];
    size_t ks = (size_t)c->cfg->key_size;
    size_t klen = ks + (missing ? 1 : 0);
    key[ks] = '.';
    for (uint64_t i = 0; i < num_reads(t); i++) {
        bench_key_format(key, (int)ks, st_random_uniform(&t->rnd, range));
        size_t vlen;
        int rc = get_one(t, key, klen, &vlen);
        if (rc != 0 && rc != STRATA_E_NOTFOUND) {
            return rc;
        }
    }
    return 0;
}

static int wl_readrandom(bench_thread *t)
{
    return read_keys(t, num_keys(t), 0);
}

static int wl_readmissing(bench_thread *t)
{
    return read_keys(t, num_keys(t), 1);
}

static int wl_readhot(bench_thread *t)
{
    return read_keys(t, (num_keys(t) + 99) / 100, 0);
}

/* Key + value bytes of the iterator's current entry. */
static uint64_t entry_bytes(const bench_engine *e, bench_iter *it)
{
    size_t kl = 0;
    size_t vl = 0;
    e->iter_key(it, &kl);
    e->iter_value(it, &vl);
    return kl + vl;
}

static int scan(bench_thread *t, int reverse)
{
    const bench_engine *e = t->ctx->eng;
    bench_iter *it = NULL;
    int rc = e->iter_create(t->ctx->db, &it);
    if (rc != 0) {
        return rc;
    }
    if (reverse) {
        e->iter_seek_last(it);
    } else {
        e->iter_seek_first(it);
    }
    for (uint64_t i = 0; i < num_reads(t) && e->iter_valid(it); i++) {
        t->found++;
        op_done(t, entry_bytes(e, it));
        if (reverse) {
            e->iter_prev(it);
        } else {
            e->iter_next(it);
        }
    }
    rc = e->iter_status(it);
    e->iter_destroy(it);
    return rc;
}

static int wl_readseq(bench_thread *t)
{
    return scan(t, 0);
}

static int wl_readreverse(bench_thread *t)
{
    return scan(t, 1);
}

/* One seek plus up to seek_nexts next() calls; found when the seek lands on the key itself.
 * Returns the bytes of the entries visited. */
static uint64_t seek_nexts(bench_thread *t, bench_iter *it, const char *key, size_t ks)
{
    const bench_engine *e = t->ctx->eng;
    uint64_t bytes = 0;
    e->iter_seek(it, key, ks);
    if (e->iter_valid(it)) {
        size_t kl = 0;
        const char *k = e->iter_key(it, &kl);
        t->found += kl == ks && memcmp(k, key, ks) == 0;
        bytes += entry_bytes(e, it);
    }
    for (int j = 0; j < t->ctx->cfg->seek_nexts && e->iter_valid(it); j++) {
        e->iter_next(it);
        if (e->iter_valid(it)) {
            bytes += entry_bytes(e, it);
        }
    }
    return bytes;
}

static void seek_one(bench_thread *t, bench_iter *it, const char *key, size_t ks)
{
    op_done(t, seek_nexts(t, it, key, ks));
}

/* One iterator per thread, created before the loop, so the figure is the cost of the seek. */
static int wl_seekrandom(bench_thread *t)
{
    const bench_engine *e = t->ctx->eng;
    char key[BENCH_MAX_KEY_SIZE + 1];
    int ks = t->ctx->cfg->key_size;
    bench_iter *it = NULL;
    int rc = e->iter_create(t->ctx->db, &it);
    if (rc != 0) {
        return rc;
    }
    for (uint64_t i = 0; i < num_reads(t); i++) {
        bench_key_format(key, ks, st_random_uniform(&t->rnd, num_keys(t)));
        seek_one(t, it, key, (size_t)ks);
    }
    rc = e->iter_status(it);
    e->iter_destroy(it);
    return rc;
}

/* A seek (with nexts) on an iterator of its own, created and destroyed within the operation so that
 * it sees every write made before it (deleterange). */
static int seek_fresh(bench_thread *t, const char *key, size_t ks)
{
    const bench_engine *e = t->ctx->eng;
    bench_iter *it = NULL;
    int rc = e->iter_create(t->ctx->db, &it);
    if (rc != 0) {
        return rc;
    }
    uint64_t bytes = seek_nexts(t, it, key, ks);
    rc = e->iter_status(it);
    e->iter_destroy(it);
    op_done(t, bytes);
    return rc;
}

/* One range delete of DELETERANGE_SPAN keys from key k.  Past the last key (num - 1) the end is
 * that key followed by '.', so the range still ends inside the key space. */
static int delete_span(bench_thread *t, const char *begin, uint64_t k)
{
    const bench_ctx *c = t->ctx;
    char end[BENCH_MAX_KEY_SIZE + 1];
    size_t ks = (size_t)c->cfg->key_size;
    size_t elen = ks;
    if (k + DELETERANGE_SPAN < num_keys(t)) {
        bench_key_format(end, (int)ks, k + DELETERANGE_SPAN);
    } else {
        bench_key_format(end, (int)ks, num_keys(t) - 1);
        end[elen++] = '.';
    }
    int rc = c->eng->delete_range(c->db, begin, ks, end, elen);
    if (rc == 0) {
        t->user_bytes += ks + elen;
        op_done(t, ks + elen);
    }
    return rc;
}

/* Range deletes among reads on the existing DB: reads operations, each by a uniform draw a range
 * delete of DELETERANGE_SPAN keys from a random key (DELETERANGE_PERCENT), a seek to a random key
 * with --seek_nexts nexts on a fresh iterator (DELETERANGE_SEEK_PERCENT), or a get of a random key
 * (the rest).  The reads pay for the range tombstones the deletes leave behind. */
static int wl_deleterange(bench_thread *t)
{
    char key[BENCH_MAX_KEY_SIZE + 1];
    size_t ks = (size_t)t->ctx->cfg->key_size;
    for (uint64_t i = 0; i < num_reads(t); i++) {
        uint64_t k = st_random_uniform(&t->rnd, num_keys(t));
        uint64_t dice = st_random_uniform(&t->rnd, 100);
        size_t vlen;
        int rc;
        bench_key_format(key, (int)ks, k);
        if (dice < DELETERANGE_PERCENT) {
            rc = delete_span(t, key, k);
        } else if (dice < DELETERANGE_PERCENT + DELETERANGE_SEEK_PERCENT) {
            rc = seek_fresh(t, key, ks);
        } else {
            rc = get_one(t, key, ks, &vlen);
            rc = rc == STRATA_E_NOTFOUND ? 0 : rc;
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* num merges of the 8-byte counter 1 on random keys, then reads gets of random keys, all of a key
 * space of their own (each key followed by 'm', so the counters never meet the fills' values,
 * which the uint64 add operator would refuse).  Every found value must be an 8-byte counter. */
static int wl_mergerandom(bench_thread *t)
{
    const bench_ctx *c = t->ctx;
    char key[BENCH_MAX_KEY_SIZE + 1];
    char one[8];
    size_t ks = (size_t)c->cfg->key_size;
    size_t klen = ks + 1;
    key[ks] = 'm';
    st_encode_fixed64(one, 1);
    for (uint64_t i = 0; i < num_keys(t); i++) {
        bench_key_format(key, (int)ks, st_random_uniform(&t->rnd, num_keys(t)));
        int rc = c->eng->merge(c->db, key, klen, one, sizeof(one));
        if (rc != 0) {
            return rc;
        }
        t->user_bytes += klen + sizeof(one);
        op_done(t, klen + sizeof(one));
    }
    for (uint64_t i = 0; i < num_reads(t); i++) {
        bench_key_format(key, (int)ks, st_random_uniform(&t->rnd, num_keys(t)));
        size_t vlen;
        int rc = get_one(t, key, klen, &vlen);
        if (rc == 0 && vlen != sizeof(one)) {
            return st_err(STRATA_E_CORRUPTION, "%s: merged counter %.*s has %zu bytes, not 8",
                          c->eng->name, (int)klen, key, vlen);
        }
        if (rc != 0 && rc != STRATA_E_NOTFOUND) {
            return rc;
        }
    }
    return 0;
}

/* reads gets of random keys in [0, num) through the engine's multi-get, MULTIGET_BATCH keys per
 * call; each key counts as one operation, as in readrandom. */
static int wl_multireadrandom(bench_thread *t)
{
    const bench_ctx *c = t->ctx;
    size_t ks = (size_t)c->cfg->key_size;
    char *buf = st_malloc(MULTIGET_BATCH * ks);
    const char *keys[MULTIGET_BATCH];
    size_t klens[MULTIGET_BATCH];
    size_t vlens[MULTIGET_BATCH];
    int found[MULTIGET_BATCH];
    int rc = buf != NULL ? 0 : st_err(STRATA_E_NOMEM, "multireadrandom: out of memory");
    for (uint64_t i = 0; rc == 0 && i < num_reads(t); i += MULTIGET_BATCH) {
        size_t n = (size_t)ST_MIN((uint64_t)MULTIGET_BATCH, num_reads(t) - i);
        for (size_t j = 0; j < n; j++) {
            keys[j] = buf + j * ks;
            klens[j] = ks;
            bench_key_format(buf + j * ks, (int)ks, st_random_uniform(&t->rnd, num_keys(t)));
        }
        rc = c->eng->multi_get(c->db, n, keys, klens, vlens, found);
        uint64_t bytes = 0;
        for (size_t j = 0; rc == 0 && j < n; j++) {
            t->found += found[j] != 0;
            bytes += found[j] ? ks + vlens[j] : 0;
        }
        if (rc == 0) {
            batch_done(t, n, bytes);
        }
    }
    st_free(buf);
    return rc;
}

/* One read-modify-write transaction on key: get_for_update, put the counter in the value's first
 * 8 bytes (little-endian; absent: 0) plus one, followed by value bytes up to value_size, commit.
 * *found tells whether the key existed.  BUSY (conflict, lock timeout) is returned as is. */
static int txn_rmw(bench_thread *t, const char *key, size_t ks, char *val, size_t vs, int *found)
{
    const bench_ctx *c = t->ctx;
    const bench_engine *e = c->eng;
    char cur[8];
    size_t vlen = 0;
    bench_txn *x = NULL;
    int rc = e->txn_begin(c->txn, &x);
    rc = rc ? rc : e->txn_get_for_update(c->txn, x, key, ks, cur, sizeof(cur), &vlen);
    *found = rc == 0;
    if (rc == 0 && vlen < sizeof(cur)) {
        rc = st_err(STRATA_E_CORRUPTION, "%s: transaction counter %.*s has %zu bytes", e->name,
                    (int)ks, key, vlen);
    }
    rc = rc == STRATA_E_NOTFOUND ? 0 : rc;
    if (rc == 0) {
        st_encode_fixed64(val, (*found ? st_decode_fixed64(cur) : 0) + 1);
        memcpy(val + 8, bench_valgen_next(&t->gen, vs - 8), vs - 8);
        rc = e->txn_put(c->txn, x, key, ks, val, vs);
    }
    rc = rc ? rc : e->txn_commit(x);
    e->txn_destroy(x);
    return rc;
}

/* num read-modify-write transactions on random keys of [0, num) of the transaction DB, each
 * retried until it commits (a retry is counted, not measured as an operation). */
static int wl_txn(bench_thread *t)
{
    const bench_ctx *c = t->ctx;
    char key[BENCH_MAX_KEY_SIZE + 1];
    size_t ks = (size_t)c->cfg->key_size;
    size_t vs = ST_MAX((size_t)c->cfg->value_size, (size_t)8);
    char *val = st_malloc(vs);
    int rc = val != NULL ? 0 : st_err(STRATA_E_NOMEM, "txn: out of memory");
    for (uint64_t i = 0; rc == 0 && i < num_keys(t); i++) {
        bench_key_format(key, (int)ks, st_random_uniform(&t->rnd, num_keys(t)));
        int found = 0;
        uint64_t tries = 0;
        while ((rc = txn_rmw(t, key, ks, val, vs, &found)) == STRATA_E_BUSY &&
               ++tries < TXN_MAX_RETRIES) {
            t->retries++;
        }
        if (rc == 0) {
            t->found += found;
            t->user_bytes += ks + vs;
            op_done(t, ks + vs);
        }
    }
    st_free(val);
    return rc;
}

/* After a txn workload: the counters of all keys must add up to the transactions committed (a
 * lost update or a commit applied twice shows here).  One read-only transaction per key. */
static int txn_check(const bench_ctx *c, uint64_t committed)
{
    const bench_engine *e = c->eng;
    char key[BENCH_MAX_KEY_SIZE + 1];
    char cur[8];
    uint64_t sum = 0;
    int rc = 0;
    for (int64_t k = 0; rc == 0 && k < c->cfg->num; k++) {
        bench_txn *x = NULL;
        size_t vlen = 0;
        bench_key_format(key, c->cfg->key_size, (uint64_t)k);
        rc = e->txn_begin(c->txn, &x);
        rc = rc ? rc
                : e->txn_get_for_update(c->txn, x, key, (size_t)c->cfg->key_size, cur, sizeof(cur),
                                        &vlen);
        sum += rc == 0 && vlen >= sizeof(cur) ? st_decode_fixed64(cur) : 0;
        rc = rc == STRATA_E_NOTFOUND ? 0 : rc;
        e->txn_destroy(x);
    }
    if (rc == 0 && sum != committed) {
        rc = st_err(STRATA_E_CORRUPTION,
                    "%s: the counters add up to %llu after %llu committed transactions", e->name,
                    (unsigned long long)sum, (unsigned long long)committed);
    }
    return rc;
}

/* Not an engine workload: the machine's ceiling for fillsync.  Appends key_size + value_size bytes
 * to a growing file next to the DB (<db>/<engine>.sync<thread>) and fdatasyncs it, num/1000 times,
 * as a WAL with one writer per sync would; the file is removed afterwards. */
static int wl_fdatasync(bench_thread *t)
{
    char name[4200];
    snprintf(name, sizeof(name), "%s.sync%d", t->ctx->path, t->tno);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return st_err_errno(errno, "open %s", name);
    }
    size_t len = (size_t)t->ctx->cfg->key_size + (size_t)t->ctx->cfg->value_size;
    uint64_t n = num_keys(t) / 1000;
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && i < (n > 0 ? n : 1); i++) {
        if (write(fd, bench_valgen_next(&t->gen, len), len) != (ssize_t)len || fdatasync(fd) != 0) {
            rc = st_err_errno(errno, "write+fdatasync %s", name);
        }
        op_done(t, len);
    }
    close(fd);
    unlink(name);
    return rc;
}

/* The unmeasured writer of readwhilewriting: random puts until the readers are done. */
static int background_writer(bench_thread *t)
{
    const bench_ctx *c = t->ctx;
    char key[BENCH_MAX_KEY_SIZE + 1];
    size_t ks = (size_t)c->cfg->key_size;
    size_t vs = (size_t)c->cfg->value_size;
    while (!atomic_load_explicit(t->stop, memory_order_relaxed)) {
        bench_key_format(key, (int)ks, st_random_uniform(&t->rnd, num_keys(t)));
        int rc = c->eng->put(c->db, key, ks, bench_valgen_next(&t->gen, vs), vs, 0);
        if (rc != 0) {
            return rc;
        }
        t->user_bytes += ks + vs;
    }
    return 0;
}

static const struct wl_def workloads[] = {
    {"fillseq", wl_fillseq, 1, 0, 0, 0, 0, 0},
    {"fillrandom", wl_fillrandom, 1, 0, 0, 0, 0, 0},
    {"overwrite", wl_fillrandom, 0, 0, 0, 0, 0, 0},
    {"fillsync", wl_fillsync, 1, 0, 0, 0, 0, 0},
    {"fillbatch", wl_fillbatch, 1, 0, 0, 0, 0, 0},
    {"readrandom", wl_readrandom, 0, 0, 0, 0, 0, 0},
    {"readmissing", wl_readmissing, 0, 0, 0, 0, 0, 0},
    {"readhot", wl_readhot, 0, 0, 0, 0, 0, 0},
    {"readseq", wl_readseq, 0, 0, 0, 0, 1, 0},
    {"readreverse", wl_readreverse, 0, 0, 0, 0, 1, 0},
    {"seekrandom", wl_seekrandom, 0, 0, 0, 0, 1, 0},
    {"deleterandom", wl_deleterandom, 0, 0, 0, 0, 0, 0},
    {"readwhilewriting", wl_readrandom, 0, 1, 0, 0, 0, 0},
    {"fdatasync", wl_fdatasync, 0, 0, 1, 0, 0, 0},
    /* Not in the default list: they need operations not every engine has. */
    {"deleterange", wl_deleterange, 0, 0, 0, NEEDS_DELETE_RANGE, 1, 0},
    {"mergerandom", wl_mergerandom, 0, 0, 0, NEEDS_MERGE, 0, 0},
    {"multireadrandom", wl_multireadrandom, 0, 0, 0, NEEDS_MULTI_GET, 0, 0},
    {"txnpessimistic", wl_txn, 0, 0, 0, NEEDS_TXN, 0, TXN_PESSIMISTIC},
    {"txnoptimistic", wl_txn, 0, 0, 0, NEEDS_TXN, 0, TXN_OPTIMISTIC},
};

static const struct wl_def *find_def(const char *name)
{
    for (size_t i = 0; i < ST_ARRAY_LEN(workloads); i++) {
        if (strcmp(workloads[i].name, name) == 0) {
            return &workloads[i];
        }
    }
    return NULL;
}

int bench_workload_known(const char *name)
{
    return find_def(name) != NULL;
}

int bench_workload_fresh_db(const char *name)
{
    const struct wl_def *d = find_def(name);
    return d != NULL && d->fresh_db;
}

int bench_workload_reference(const char *name)
{
    const struct wl_def *d = find_def(name);
    return d != NULL && d->reference;
}

int bench_workload_supported(const bench_engine *eng, const char *name)
{
    const struct wl_def *d = find_def(name);
    int needs = d != NULL ? d->needs : 0;
    return !((needs & NEEDS_DELETE_RANGE) && eng->delete_range == NULL) &&
           !((needs & NEEDS_MERGE) && eng->merge == NULL) &&
           !((needs & NEEDS_MULTI_GET) && eng->multi_get == NULL) &&
           !((needs & NEEDS_TXN) && eng->txn_open == NULL);
}

int bench_workload_skip(const bench_engine *eng, const bench_config *cfg, const char *name)
{
    const struct wl_def *d = find_def(name);
    if (!bench_workload_supported(eng, name)) {
        return BENCH_SKIP_UNSUPPORTED;
    }
    if (cfg->cf > 1 && !eng->column_families) {
        return BENCH_SKIP_NO_CF;
    }
    return cfg->cf > 1 && d != NULL && d->iterates ? BENCH_SKIP_CF_ITER : 0;
}

const char *const *bench_workload_names(void)
{
    static const char *names[ST_ARRAY_LEN(workloads) + 1];
    for (size_t i = 0; i < ST_ARRAY_LEN(workloads); i++) {
        names[i] = workloads[i].name;
    }
    return names;
}

/* Waits at the gate; returns 1 when the run was aborted before it started. */
static int gate_wait(start_gate *g)
{
    st_mutex_lock(&g->mu);
    while (!g->open) {
        st_cond_wait(&g->cv, &g->mu);
    }
    int abort = g->abort;
    st_mutex_unlock(&g->mu);
    return abort;
}

static void gate_release(start_gate *g, int abort)
{
    st_mutex_lock(&g->mu);
    g->open = 1;
    g->abort = abort;
    st_cond_broadcast(&g->cv);
    st_mutex_unlock(&g->mu);
}

static void *thread_main(void *arg)
{
    bench_thread *t = arg;
    if (gate_wait(t->gate)) {
        return NULL;
    }
    t->start_ns = t->last_ns = bench_now_ns();
    t->rc = t->stop != NULL ? background_writer(t) : t->def->fn(t);
    t->end_ns = bench_now_ns();
    if (t->rc != 0) {
        snprintf(t->err, sizeof(t->err), "%s", st_errmsg());
    }
    return NULL;
}

/* Distinct per workload name, position in the list and thread, so that a readrandom never replays
 * the key sequence of the fill before it (not even across invocations with --use_existing_db). */
static uint64_t seed_for(uint64_t base, const char *name, int index, int tno)
{
    uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */
    for (const char *p = name; *p != '\0'; p++) {
        h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
    }
    return base ^ h ^ ((uint64_t)(index + 1) << 40) ^ ((uint64_t)tno << 20);
}

static void thread_init(bench_thread *t, const bench_ctx *ctx, const struct wl_def *def, int index,
                        int tno)
{
    t->ctx = ctx;
    t->def = def;
    t->tno = tno;
    bench_hist_clear(&t->hist);
    st_random_seed(&t->rnd, seed_for(ctx->cfg->seed, def->name, index, tno));
    bench_valgen_init(&t->gen, ctx->pool);
}

/* Sums the measured threads (the first n) and the writes of all of them into res. */
static void collect(const bench_thread *ts, int n, int total, bench_wl_result *res)
{
    uint64_t first = 0;
    uint64_t last = 0;
    for (int i = 0; i < n; i++) {
        const bench_thread *t = &ts[i];
        first = (i == 0 || t->start_ns < first) ? t->start_ns : first;
        last = t->end_ns > last ? t->end_ns : last;
        res->ops += t->ops;
        res->found += t->found;
        res->retries += t->retries;
        res->bytes += t->bytes;
        res->thread_seconds += (double)(t->end_ns - t->start_ns) / 1e9;
        bench_hist_merge(&res->hist, &t->hist);
    }
    for (int i = 0; i < total; i++) {
        res->user_bytes_written += ts[i].user_bytes;
    }
    res->wall_seconds = (double)(last - first) / 1e9;
}

/* The first thread error (its message is re-raised on the calling thread), else 0. */
static int first_error(const bench_thread *ts, int total)
{
    for (int i = 0; i < total; i++) {
        if (ts[i].rc != 0) {
            return st_err_set(ts[i].rc, ts[i].err);
        }
    }
    return 0;
}

/* Starts total threads (the last one the background writer when def->bg_writer), waits for the
 * measured ones, then stops and joins the writer. */
static int run_threads(const bench_ctx *ctx, const struct wl_def *def, int index, bench_thread *ts,
                       int total, start_gate *gate, atomic_int *stop)
{
    int n = ctx->cfg->threads;
    int rc = 0;
    for (int i = 0; i < total && rc == 0; i++) {
        thread_init(&ts[i], ctx, def, index, i);
        ts[i].gate = gate;
        ts[i].stop = i >= n ? stop : NULL;
        if (pthread_create(&ts[i].tid, NULL, thread_main, &ts[i]) != 0) {
            rc = st_err(STRATA_E_NOMEM, "%s: cannot start thread %d", def->name, i);
        } else {
            ts[i].started = 1;
        }
    }
    gate_release(gate, rc != 0);
    for (int i = 0; i < total; i++) {
        if (i == n) {
            atomic_store_explicit(stop, 1, memory_order_relaxed);
        }
        if (ts[i].started) {
            pthread_join(ts[i].tid, NULL);
        }
    }
    return rc;
}

static int run_def(const bench_ctx *ctx, const struct wl_def *def, int index, bench_wl_result *res);

/* A txn workload: on a fresh transaction DB of its own, <path>.<workload>, then checked. */
static int run_txn(const bench_ctx *ctx, const struct wl_def *def, int index, bench_wl_result *res)
{
    char path[4200];
    bench_ctx c = *ctx;
    snprintf(path, sizeof(path), "%s.%s", ctx->path, def->name);
    int rc = bench_rmtree(path);
    rc = rc ? rc : ctx->eng->txn_open(ctx->cfg, path, def->txn == TXN_OPTIMISTIC, &c.txn);
    if (rc != 0) {
        return rc;
    }
    rc = run_def(&c, def, index, res);
    rc = rc ? rc : txn_check(&c, res->ops);
    int rc2 = ctx->eng->txn_close(c.txn);
    rc = rc ? rc : rc2;
    rc2 = bench_rmtree(path);
    return rc ? rc : rc2;
}

int bench_workload_run(const bench_ctx *ctx, const char *name, int index, bench_wl_result *res)
{
    const struct wl_def *def = find_def(name);
    if (def == NULL) {
        return st_err(STRATA_E_INVALID, "unknown workload '%s'", name);
    }
    return def->txn != TXN_NONE ? run_txn(ctx, def, index, res) : run_def(ctx, def, index, res);
}

static int run_def(const bench_ctx *ctx, const struct wl_def *def, int index, bench_wl_result *res)
{
    const char *name = def->name;
    int total = ctx->cfg->threads + (def->bg_writer ? 1 : 0);
    bench_thread *ts = st_calloc((size_t)total, sizeof(*ts));
    if (ts == NULL) {
        return st_err(STRATA_E_NOMEM, "%s: out of memory", name);
    }
    start_gate gate = {.open = 0, .abort = 0};
    st_mutex_init(&gate.mu);
    st_cond_init(&gate.cv);
    atomic_int stop = 0;
    int rc = run_threads(ctx, def, index, ts, total, &gate, &stop);
    rc = rc ? rc : first_error(ts, total);
    if (rc == 0) {
        collect(ts, ctx->cfg->threads, total, res);
    }
    st_cond_destroy(&gate.cv);
    st_mutex_destroy(&gate.mu);
    st_free(ts);
    return rc;
}
