/* test_crash_loop.c — kill -9 crash loop: a child process writes random batches to a DB on the
 * POSIX env, the parent SIGKILLs it at a random moment, reopens the DB and checks what survived.
 * Many cycles run on one DB, so each recovery starts from a DB that was itself recovered.
 *
 * The child is this binary re-executed (fork + exec of /proc/self/exe with "--crash-child"), so it
 * starts with no inherited threads or locks.  It opens the DB with tiny buffers (64 KiB write
 * buffer and table files, L0 trigger 2, 256 KiB level base) so flushes, compactions and MANIFEST
 * edits happen all the time, and now and then asks for a flush or a compaction of a random range.
 * The kill lands after a random sleep of 1..200 ms (half uniform, half log-uniform, so many kills
 * fall inside the child's own open/recovery too).
 *
 * Batches.  Batch ids are unique over the whole run; the contents of batch b are a pure function
 * of (seed, b): 1..15 (sometimes up to 80) puts, deletes and range deletes of keys "k%05d" (NKEYS
 * keys) and merges (uint64add) into counters "c%03d" (NCOUNTERS keys), applied in order, and
 * always last a put of the marker key "~marker"; one batch in four starts with a range delete and
 * a merge, so a torn batch would show as a range half applied or a counter off by an operand.
 * A merge of batch b adds an operand that is a function of (b, position).  A put of key i by
 * batch b stores
 *     "%05d.%012ld." (i, b)  +  filler (a function of b, i)  +  "." + 16 hex digits
 * where the hex digits are a 64-bit FNV-1a checksum of everything before them.  The marker's value
 * is encoded the same way with key index NKEYS.
 * Transactions: the child opens the DB with strata_txn_db_open, and every even batch without a
 * range delete is written through a transaction instead of strata_write (pessimistic, or
 * optimistic when id % 4 == 2) with the same operations in the same order, on both families
 * (R5); its commit is one WAL record too, so the rules below say that committed transactions
 * spanning families are all or nothing.
 *
 * Side file (one per cycle).  Before writing batch b the child appends the 16-byte record
 * ('A', b); after the write is acknowledged it appends ('K', b) — two little-endian uint64 — and in
 * sync mode fdatasyncs the side file, so a 'K' record implies the batch was acknowledged after a
 * sync write.  write(2) data survives SIGKILL (the page cache is the process's survivor), so the
 * parent knows exactly the last batch attempted (A) and the last acknowledged (K).  A torn last
 * record is ignored.
 *
 * The rule checked after every kill.  Let S be the verified state after the previous cycle (the
 * state after batch base_id; empty DB at first), and let this cycle's child write batches
 * start, start+1, ..., attempted (start > every id used before).  The reopened DB must:
 *   R0  open without error and scan without error (forward, backward, and a get of every key);
 *   R1  hold only well-formed entries: keys "k%05d" (< NKEYS) or the marker, every value decodes,
 *       its checksum matches and its key index equals the key (else: garbage value); counters
 *       "c%03d" (< NCOUNTERS) with 8-byte values;
 *   R2  have a marker naming batch k with k == base_id or start <= k <= attempted (else: the
 *       previous recovery was lost, or writes from nowhere);
 *   R3  equal exactly S followed by batches start..k applied in order, range deletes and merges
 *       included (else: a torn batch — some but not all of a batch's keys carry its id, a range
 *       half deleted, a counter missing an operand or holding one twice — or a lost or reordered
 *       update);
 *   R4  in sync mode (mode 1), k >= the last acknowledged batch of the side file: every
 *       acknowledged sync batch is present, or superseded by a later batch as R3 implies.
 * Without sync (mode 2) R1..R3 say the state is a prefix of the attempted batches; acknowledged
 * batches lost are only counted (the WAL writer hands each record to write(2), so after a process
 * kill — no power loss — the count is expected to be 0, and it is printed).
 *   R5  (column families) the family "mirror", which every batch also writes — the same
 *       operations, in the same batch — holds exactly what the default family holds: a batch
 *       spanning families is all or nothing after a kill too, and a family flushed alone
 *       (the child flushes one family at a time now and then) is neither replayed twice nor
 *       short of writes.
 * The verified state becomes S for the next cycle.
 *
 * Cycle counts: CYCLES_SYNC / CYCLES_NOSYNC times tu_scale() ($STRATA_TEST_SCALE), or exactly
 * $STRATA_CRASH_CYCLES per mode.  The seed is tu_seed() ($STRATA_TEST_SEED). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine_util.h"
#include "model_ref.h"
#include "strata.h"
#include "test_util.h"

#define NKEYS 2000
#define NCOUNTERS 64
#define MARKER "~marker"
#define MIRROR "mirror" /* the family every batch also writes (R5) */
#define CYCLES_SYNC 120
#define CYCLES_NOSYNC 140
#define VAL_MAX 6000
#define HDR_LEN 19 /* "%05d.%012ld." */
#define SUM_LEN 17 /* "." + 16 hex digits */
#define CHILD_ARG "--crash-child"

/* ---- batch contents (shared by child and parent) --------------------------------------------- */

enum { OP_PUT, OP_DEL, OP_RANGE, OP_MERGE };

struct op {
    int kind;
    int key;       /* key index; OP_MERGE: counter index */
    int end;       /* OP_RANGE: one past the last key index deleted */
    uint32_t flen; /* filler length */
};

struct batch {
    long id;
    int nops;
    struct op ops[81];
};

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    }
    return h;
}

static void gen_batch(uint64_t seed, long id, struct batch *b)
{
    eu_rng r;
    eu_rng_seed(&r, seed * 0x9e3779b97f4a7c15ULL + (uint64_t)id);
    b->id = id;
    b->nops = 1 + (int)eu_uniform(&r, eu_one_in(&r, 8) ? 80 : 15);
    int mixed = eu_one_in(&r, 4);
    for (int i = 0; i < b->nops; i++) {
        struct op *o = &b->ops[i];
        int x = (int)eu_uniform(&r, 24);
        o->kind = (mixed && i == 0)   ? OP_RANGE
                  : (mixed && i == 1) ? OP_MERGE
                  : x < 4             ? OP_DEL
                  : x < 5             ? OP_RANGE
                  : x < 9             ? OP_MERGE
                                      : OP_PUT;
        o->key = (int)eu_uniform(&r, o->kind == OP_MERGE ? NCOUNTERS : NKEYS);
        o->end = o->key + 1 + (int)eu_uniform(&r, eu_one_in(&r, 16) ? 200 : 12);
        o->flen =
            (uint32_t)(eu_one_in(&r, 10) ? eu_uniform(&r, VAL_MAX - 64) : eu_uniform(&r, 200));
    }
}

/* The operand the merge at position pos of batch id adds. */
static uint64_t merge_operand(long id, int pos)
{
    return (uint64_t)id * 1000 + (uint64_t)pos + 1;
}

static void le64_put(char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (char)(v >> (8 * i));
    }
}

static uint64_t le64_get(const char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | (unsigned char)p[i];
    }
    return v;
}

static int counter_name(char *buf, int c)
{
    return snprintf(buf, 16, "c%03d", c);
}

/* Key index NKEYS (or more: a range end may pass it) names the marker, so a range that ends
 * there deletes every key from its begin on (the end is exclusive: never the marker). */
static int key_name(char *buf, int key)
{
    if (key >= NKEYS) {
        memcpy(buf, MARKER, sizeof(MARKER));
        return (int)strlen(MARKER);
    }
    return snprintf(buf, 16, "k%05d", key);
}

/* Encodes the value of key in batch id into buf (VAL_MAX bytes); returns its length. */
static size_t make_value(char *buf, long id, int key, uint32_t flen)
{
    snprintf(buf, HDR_LEN + 1, "%05d.%012ld.", key, id);
    uint64_t x = (uint64_t)id * 0x2545f4914f6cdd1dULL + (uint64_t)key;
    for (size_t i = 0; i < flen; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[HDR_LEN + i] = (char)('a' + (x >> 59));
    }
    size_t n = HDR_LEN + flen;
    snprintf(buf + n, SUM_LEN + 1, ".%016" PRIx64, fnv1a(buf, n));
    return n + SUM_LEN;
}

/* Decodes a value: 0 and the key index and batch id when it is well formed, else -1. */
static int parse_value(const char *v, size_t n, int *key, long *id)
{
    char tmp[HDR_LEN + SUM_LEN + 1];
    if (n < HDR_LEN + SUM_LEN || v[5] != '.' || v[HDR_LEN - 1] != '.' || v[n - SUM_LEN] != '.') {
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%016" PRIx64, fnv1a(v, n - SUM_LEN));
    if (memcmp(tmp, v + n - SUM_LEN + 1, 16) != 0) {
        return -1;
    }
    memcpy(tmp, v, HDR_LEN);
    tmp[HDR_LEN] = '\0';
    char *end;
    *key = (int)strtol(tmp, &end, 10);
    *id = strtol(tmp + 6, &end, 10);
    return 0;
}

/* Seeds with this bit set run with encryption and Reed-Solomon parity on. */
#define INTEGRITY_SEED_BIT (UINT64_C(1) << 40)

static int crash_key(void *state, uint32_t id, unsigned char *key)
{
    (void)state;
    memset(key, 0x5a, 32);
    key[0] = (unsigned char)id;
    return id == 1 ? 0 : -1;
}

static int crash_current_key(void *state, uint32_t *id)
{
    (void)state;
    *id = 1;
    return 0;
}

/* The merge operator of every DB this process opens; never destroyed (it must outlive them). */
static strata_merge_operator *crash_merge_operator(void)
{
    static strata_merge_operator *mo;
    if (!mo) {
        mo = strata_merge_operator_uint64_add();
    }
    return mo;
}

static strata_options *crash_options(uint64_t seed)
{
    strata_options *o = strata_options_create();
    static const int comps[] = {STRATA_COMPRESSION_NONE, STRATA_COMPRESSION_SNAPPY,
                                STRATA_COMPRESSION_LZ4, STRATA_COMPRESSION_ZSTD};
    assert_non_null(o);
    tu_assert_ok(strata_options_set_create_if_missing(o, 1));
    tu_assert_ok(strata_options_set_write_buffer_size(o, 64 * 1024));
    tu_assert_ok(strata_options_set_target_file_size(o, 64 * 1024));
    tu_assert_ok(strata_options_set_max_bytes_for_level_base(o, 256 * 1024));
    tu_assert_ok(strata_options_set_level0_compaction_trigger(o, 2));
    tu_assert_ok(strata_options_set_block_size(o, 1024));
    assert_non_null(crash_merge_operator());
    tu_assert_ok(strata_options_set_merge_operator(o, crash_merge_operator()));
    /* A compression type that is compiled out is rejected; fall back to none then. */
    if (strata_options_set_compression(o, comps[seed % 4]) != 0) {
        tu_assert_ok(strata_options_set_compression(o, STRATA_COMPRESSION_NONE));
    }
    if (seed & INTEGRITY_SEED_BIT) {
        strata_key_provider *kp =
            strata_key_provider_create(NULL, crash_key, crash_current_key, NULL);
        assert_non_null(kp);
        tu_assert_ok(strata_options_set_key_provider(o, kp));
        strata_key_provider_destroy(kp);
        tu_assert_ok(strata_options_from_string(o, "encryption=aes-256-gcm;ecc=rs"));
    }
    return o;
}

/* ---- the child ---------------------------------------------------------------------------------
 */

static void child_die(const char *what, int rc)
{
    fprintf(stderr, "crash child: %s failed: %d (%s): %s\n", what, rc, strata_strerror(rc),
            strata_errmsg());
    _exit(3);
}

static void side_append(int fd, uint64_t tag, long id, int sync)
{
    unsigned char rec[16];
    for (int i = 0; i < 8; i++) {
        rec[i] = (unsigned char)(tag >> (8 * i));
        rec[8 + i] = (unsigned char)((uint64_t)id >> (8 * i));
    }
    if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || (sync && fdatasync(fd) != 0)) {
        fprintf(stderr, "crash child: side file: %s\n", strerror(errno));
        _exit(4);
    }
}

/* A transaction for batch b (see the file comment), or NULL to write it as a plain batch. */
static strata_txn *child_txn(strata_db *db, strata_write_options *wo, const struct batch *b)
{
    if (b->id % 2) {
        return NULL;
    }
    for (int i = 0; i < b->nops; i++) {
        if (b->ops[i].kind == OP_RANGE) {
            return NULL; /* transactions have no range delete */
        }
    }
    strata_txn *txn = b->id % 4 == 2 ? strata_optimistic_txn_begin(db, wo, NULL)
                                     : strata_txn_begin(db, wo, NULL);
    if (!txn) {
        child_die("transaction begin", STRATA_E_NOMEM);
    }
    return txn;
}

/* Adds one generated operation for family cf to the transaction txn, or (txn NULL) the batch. */
static int add_op(strata_batch *wb, strata_txn *txn, strata_cf *cf, const struct op *o, long id,
                  int pos, char *vbuf)
{
    char k[16], e[16], operand[8];
    int kl = key_name(k, o->key);
    switch (o->kind) {
    case OP_DEL:
        return txn ? strata_txn_delete_cf(txn, cf, k, (size_t)kl)
                   : strata_batch_delete_cf(wb, cf, k, (size_t)kl);
    case OP_RANGE: /* never in a transaction (child_txn) */
        return strata_batch_delete_range_cf(wb, cf, k, (size_t)kl, e,
                                            (size_t)key_name(e, o->end));
    case OP_MERGE:
        le64_put(operand, merge_operand(id, pos));
        kl = counter_name(k, o->key);
        return txn ? strata_txn_merge_cf(txn, cf, k, (size_t)kl, operand, 8)
                   : strata_batch_merge_cf(wb, cf, k, (size_t)kl, operand, 8);
    default: {
        size_t vl = make_value(vbuf, id, o->key, o->flen);
        return txn ? strata_txn_put_cf(txn, cf, k, (size_t)kl, vbuf, vl)
                   : strata_batch_put_cf(wb, cf, k, (size_t)kl, vbuf, vl);
    }
    }
}

static void child_write(strata_db *db, strata_cf *mirror, strata_write_options *wo,
                        uint64_t seed, long id, char *vbuf)
{
    struct batch b;
    gen_batch(seed, id, &b);
    strata_txn *txn = child_txn(db, wo, &b);
    strata_batch *wb = strata_batch_create();
    for (int i = 0; wb && i < b.nops; i++) {
        int rc = add_op(wb, txn, strata_cf_default(db), &b.ops[i], id, i, vbuf);
        rc = rc ? rc : add_op(wb, txn, mirror, &b.ops[i], id, i, vbuf);
        if (rc != 0) {
            child_die("batch op", rc);
        }
    }
    size_t ml = wb ? make_value(vbuf, id, NKEYS, (uint32_t)(id % 7)) : 0;
    if (!wb || (txn ? strata_txn_put(txn, MARKER, strlen(MARKER), vbuf, ml) ||
                          strata_txn_put_cf(txn, mirror, MARKER, strlen(MARKER), vbuf, ml)
                    : strata_batch_put(wb, MARKER, strlen(MARKER), vbuf, ml) ||
                          strata_batch_put_cf(wb, mirror, MARKER, strlen(MARKER), vbuf, ml))) {
        child_die("batch", STRATA_E_NOMEM);
    }
    int rc = txn ? strata_txn_commit(txn) : strata_write(db, wo, wb);
    strata_txn_destroy(txn);
    strata_batch_destroy(wb);
    if (rc != 0) {
        child_die("strata_write", rc);
    }
}

/* Occasional explicit background work, so kills also land inside requested flushes and
 * compactions of arbitrary ranges. */
static void child_maintenance(strata_db *db, strata_cf *mirror, eu_rng *r)
{
    int rc = 0;
    if (eu_one_in(r, 40)) {
        rc = strata_flush(db, (int)eu_uniform(r, 2));
    } else if (eu_one_in(r, 40)) { /* one family alone: their log numbers part */
        rc = strata_flush_cf(db, eu_one_in(r, 2) ? mirror : strata_cf_default(db),
                             (int)eu_uniform(r, 2));
    } else if (eu_one_in(r, 150)) {
        char a[16], z[16];
        int lo = (int)eu_uniform(r, NKEYS);
        int al = key_name(a, lo);
        int zl = key_name(z, lo + (int)eu_uniform(r, (uint64_t)(NKEYS - lo)));
        rc = strata_compact_range(db, a, (size_t)al, z, (size_t)zl);
    }
    if (rc != 0) {
        child_die("maintenance", rc);
    }
}

static int child_main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s " CHILD_ARG " DB SIDE SYNC SEED START\n", argv[0]);
        return 2;
    }
    int sync = atoi(argv[4]);
    uint64_t seed = strtoull(argv[5], NULL, 10);
    long id = strtol(argv[6], NULL, 10);
    int fd = open(argv[3], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "crash child: %s: %s\n", argv[3], strerror(errno));
        return 4;
    }
    strata_options *o = crash_options(seed);
    strata_db *db = NULL;
    strata_cf *mirror = NULL;
    const char *fams[] = {MIRROR};
    int rc = strata_txn_db_open_cf(o, NULL, argv[2], 1, fams, NULL, &mirror, &db);
    if (rc != 0) {
        child_die("strata_txn_db_open", rc);
    }
    strata_write_options *wo = strata_write_options_create();
    strata_write_options_set_sync(wo, sync);
    char *vbuf = malloc(VAL_MAX);
    eu_rng r;
    eu_rng_seed(&r, seed ^ (uint64_t)id);
    for (;; id++) { /* until SIGKILL */
        side_append(fd, 'A', id, 0);
        child_write(db, mirror, wo, seed, id, vbuf);
        side_append(fd, 'K', id, sync);
        child_maintenance(db, mirror, &r);
    }
}

/* ---- the parent --------------------------------------------------------------------------------
 */

struct loop {
    int sync;
    uint64_t seed;
    char *dir;
    char dbpath[512];
    char side[512];
    mr_map *state; /* verified state S */
    long base_id;  /* batch that S ends with (-1: none) */
    long next_id;  /* first id of the next cycle */
    eu_rng r;
    /* statistics */
    long cycles, empty_cycles, batches_recovered, acked_lost, max_attempted_gap;
    long orphan_tables, extra_manifests, other_files;
};

/* Files of the DB directory by kind, to tell what the kill interrupted. */
struct dir_count {
    long sst, manifest, other;
};

static struct dir_count count_files(const char *path)
{
    struct dir_count n = {0, 0, 0};
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        if (e->d_name[0] == '.') {
            continue;
        }
        if (dot && strcmp(dot, ".sst") == 0) {
            n.sst++;
        } else if (strncmp(e->d_name, "MANIFEST-", 9) == 0) {
            n.manifest++;
        } else if (!(dot && strcmp(dot, ".log") == 0) && strcmp(e->d_name, "CURRENT") != 0 &&
                   strcmp(e->d_name, "LOCK") != 0 && strncmp(e->d_name, "LOG", 3) != 0 &&
                   strncmp(e->d_name, "OPTIONS-", 8) != 0 && strcmp(e->d_name, "IDENTITY") != 0) {
            n.other++;
        }
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static long sleep_kill_ms(eu_rng *r)
{
    if (eu_one_in(r, 2)) {
        return 1 + (long)eu_uniform(r, 200);
    }
    double u = (double)eu_uniform(r, 1000000) / 1000000.0;
    return (long)exp(u * log(200.0));
}

static pid_t spawn_child(struct loop *l, long start)
{
    char sync[8], seed[32], st[32];
    snprintf(sync, sizeof(sync), "%d", l->sync);
    snprintf(seed, sizeof(seed), "%" PRIu64, l->seed);
    snprintf(st, sizeof(st), "%ld", start);
    unlink(l->side);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *args[] = {(char *)"crash_test_crash_loop",
                        (char *)CHILD_ARG,
                        l->dbpath,
                        l->side,
                        sync,
                        seed,
                        st,
                        NULL};
        execv("/proc/self/exe", args);
        _exit(5);
    }
    return pid;
}

/* Last attempted and last acknowledged ids of the side file (-1: none). */
static void read_side(const char *path, long *attempted, long *acked)
{
    *attempted = *acked = -1;
    FILE *f = fopen(path, "rb");
    if (!f) {
        return;
    }
    unsigned char rec[16];
    while (fread(rec, 1, sizeof(rec), f) == sizeof(rec)) {
        uint64_t tag = 0, id = 0;
        for (int i = 7; i >= 0; i--) {
            tag = (tag << 8) | rec[i];
            id = (id << 8) | rec[8 + i];
        }
        long *dst = tag == 'A' ? attempted : acked;
        if ((long)id > *dst) {
            *dst = (long)id;
        }
    }
    fclose(f);
}

/* 1 when k is a counter key "c%03d" below NCOUNTERS. */
static int is_counter(const char *k, size_t kl)
{
    if (kl != 4 || k[0] != 'c') {
        return 0;
    }
    int c = 0;
    for (int i = 1; i < 4; i++) {
        if (k[i] < '0' || k[i] > '9') {
            return 0;
        }
        c = c * 10 + (k[i] - '0');
    }
    return c < NCOUNTERS;
}

/* R1: every entry well formed.  Returns the marker's batch id (-1: no marker). */
static long check_entries(const mr_map *got, int cycle)
{
    long marker = -1;
    for (size_t i = 0; i < mr_count(got); i++) {
        const char *k, *v;
        size_t kl, vl;
        mr_entry(got, i, &k, &kl, &v, &vl);
        if (is_counter(k, kl)) {
            if (vl != 8) {
                print_error("cycle %d: counter with a %zu-byte value\n", cycle, vl);
                eu_print_bytes("key", k, kl);
                fail();
            }
            continue;
        }
        char want[16];
        int key = -1;
        long id = -1;
        int bad = parse_value(v, vl, &key, &id) != 0 || key < 0 || key > NKEYS;
        if (!bad) {
            int wl = key_name(want, key);
            bad = (size_t)wl != kl || memcmp(want, k, kl) != 0;
        }
        if (bad) {
            print_error("cycle %d: garbage entry (bad checksum, format or key) at entry %zu\n",
                        cycle, i);
            eu_print_bytes("key", k, kl);
            eu_print_bytes("value", v, vl < 80 ? vl : 80);
            fail();
        }
        if (key == NKEYS) {
            marker = id;
        }
    }
    return marker;
}

/* S followed by batches [from, k] of the run. */
static mr_map *replay(const struct loop *l, long from, long k)
{
    mr_map *m = mr_clone(l->state);
    char key[16];
    char *vbuf = malloc(VAL_MAX);
    assert_non_null(vbuf);
    char end[16], sum[8];
    for (long id = from; id <= k; id++) {
        struct batch b;
        gen_batch(l->seed, id, &b);
        b.ops[b.nops++] = (struct op){OP_PUT, NKEYS, 0, (uint32_t)(id % 7)};
        for (int i = 0; i < b.nops; i++) {
            const struct op *o = &b.ops[i];
            int kl = key_name(key, o->key);
            const char *old;
            size_t oldl;
            switch (o->kind) {
                case OP_DEL:
                    mr_del(m, key, (size_t)kl);
                    break;
                case OP_RANGE:
                    mr_del_range(m, key, (size_t)kl, end, (size_t)key_name(end, o->end));
                    break;
                case OP_MERGE:
                    kl = counter_name(key, o->key);
                    le64_put(sum, (mr_get(m, key, (size_t)kl, &old, &oldl) ? le64_get(old) : 0) +
                                      merge_operand(id, i));
                    mr_put(m, key, (size_t)kl, sum, 8);
                    break;
                default:
                    mr_put(m, key, (size_t)kl, vbuf, make_value(vbuf, id, o->key, o->flen));
                    break;
            }
        }
    }
    free(vbuf);
    return m;
}

static long id_of(const char *v, size_t vl)
{
    int key;
    long id;
    return parse_value(v, vl, &key, &id) == 0 ? id : -1;
}

/* R3 failed: prints every key whose recovered batch id differs from the expected one. */
static void report_torn(const mr_map *got, const mr_map *want, long k)
{
    int shown = 0;
    char key[16];
    for (int i = 0; i <= NKEYS && shown < 20; i++) {
        int kl = key_name(key, i);
        const char *gv, *wv;
        size_t gl, wl;
        long g = mr_get(got, key, (size_t)kl, &gv, &gl) ? id_of(gv, gl) : -2;
        long w = mr_get(want, key, (size_t)kl, &wv, &wl) ? id_of(wv, wl) : -2;
        if (g != w || (g >= 0 && mr_compare(gv, gl, wv, wl) != 0)) {
            print_error("  %s: recovered from batch %ld, expected from batch %ld (-2: absent)\n",
                        key, g, w);
            shown++;
        }
    }
    for (int c = 0; c < NCOUNTERS && shown < 30; c++) {
        int kl = counter_name(key, c);
        const char *gv, *wv;
        size_t gl, wl;
        int g = mr_get(got, key, (size_t)kl, &gv, &gl);
        int w = mr_get(want, key, (size_t)kl, &wv, &wl);
        if (g != w || (g && mr_compare(gv, gl, wv, wl) != 0)) {
            print_error("  %s: recovered %s%llu, expected %s%llu\n", key, g ? "" : "absent ",
                        g && gl == 8 ? (unsigned long long)le64_get(gv) : 0ULL, w ? "" : "absent ",
                        w ? (unsigned long long)le64_get(wv) : 0ULL);
            shown++;
        }
    }
    print_error(
        "  (%d keys shown; a key holding an older batch than expected is a lost update or "
        "part of a torn batch, one newer than batch %ld a write from nowhere; a counter off by "
        "operands id*1000+pos+1 names the batches whose merges were lost or doubled)\n",
        shown, k);
}

/* R5: the mirror family holds what the default one holds. */
static void check_mirror(strata_db *db, strata_cf *mirror, const mr_map *got, int cycle)
{
    mr_map *m = NULL;
    int rc = eu_cf_to_map(db, NULL, mirror, &m);
    if (rc != 0) {
        print_error("cycle %d: scan of the mirror family failed: %s\n", cycle, strata_errmsg());
        fail();
    }
    if (!mr_equal(m, got)) {
        print_error("cycle %d: the mirror family differs from the default one (%zu vs %zu "
                    "keys): a batch spanning families was torn\n", cycle, mr_count(m),
                    mr_count(got));
        fail();
    }
    mr_destroy(m);
}

static void verify_cycle(struct loop *l, int cycle, long start, long attempted, long acked)
{
    strata_options *o = crash_options(l->seed);
    strata_db *db = NULL;
    strata_cf *mirror = NULL;
    const char *fams[] = {MIRROR};
    int rc = strata_open_cf(o, l->dbpath, 1, fams, NULL, &mirror, &db);
    if (rc != 0) {
        print_error("cycle %d: reopen after kill failed: %d (%s): %s\n", cycle, rc,
                    strata_strerror(rc), strata_errmsg());
        fail();
    }
    mr_map *got = NULL;
    rc = eu_db_to_map(db, NULL, &got);
    if (rc != 0) {
        print_error("cycle %d: scan after recovery failed: %d (%s): %s\n", cycle, rc,
                    strata_strerror(rc), strata_errmsg());
        fail();
    }
    long k = check_entries(got, cycle);
    if (!(k == l->base_id || (k >= start && k <= attempted))) {
        print_error(
            "cycle %d: marker names batch %ld; allowed: %ld (previous recovery) or "
            "[%ld, %ld] (this cycle's attempts)\n",
            cycle, k, l->base_id, start, attempted);
        fail();
    }
    if (l->sync && k < acked) {
        print_error("cycle %d: acknowledged sync batch %ld lost: recovered only up to %ld\n", cycle,
                    acked, k);
        fail();
    }
    mr_map *want = replay(l, start, k == l->base_id ? start - 1 : k); /* nothing new: S */
    if (!mr_equal(got, want)) {
        print_error(
            "cycle %d: recovered state is not S + batches [%ld, %ld] (torn batch or lost "
            "update); attempted %ld, acked %ld\n",
            cycle, start, k, attempted, acked);
        report_torn(got, want, k);
        fail();
    }
    char what[64];
    snprintf(what, sizeof(what), "cycle %d after recovery", cycle);
    eu_check_db_equals(db, NULL, want, what);
    check_mirror(db, mirror, got, cycle);
    tu_assert_ok(strata_close(db));
    strata_options_destroy(o);
    mr_destroy(got);
    mr_destroy(l->state);
    l->state = want;
    l->acked_lost += acked > k ? acked - k : 0;
    l->empty_cycles += k == l->base_id;
    l->batches_recovered += k == l->base_id ? 0 : k - start + 1;
    if (attempted - k > l->max_attempted_gap) {
        l->max_attempted_gap = attempted - k;
    }
    l->base_id = k;
}

static void run_cycle(struct loop *l, int cycle)
{
    long start = l->next_id;
    pid_t pid = spawn_child(l, start);
    long ms = sleep_kill_ms(&l->r);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        print_error("cycle %d: the writer exited by itself (status 0x%x) before the kill\n", cycle,
                    status);
        fail();
    }
    long attempted, acked;
    read_side(l->side, &attempted, &acked);
    struct dir_count before = count_files(l->dbpath);
    if (attempted >= l->next_id) {
        l->next_id = attempted + 1;
    }
    verify_cycle(l, cycle, start, attempted, acked);
    /* Tables no version references (an interrupted flush or compaction, or inputs not yet
     * deleted), a second MANIFEST (an interrupted switch) and temporary files are removed or
     * ignored by recovery; count the cycles that left them. */
    struct dir_count after = count_files(l->dbpath);
    l->orphan_tables += before.sst > after.sst;
    l->extra_manifests += before.manifest > 1;
    l->other_files += before.other > 0;
}

static int cycles_for(int deflt)
{
    const char *s = getenv("STRATA_CRASH_CYCLES");
    if (s && *s) {
        return atoi(s);
    }
    int n = (int)(deflt * tu_scale());
    return n < 1 ? 1 : n;
}

static void crash_loop(int sync, int deflt, int integrity)
{
    struct loop l;
    memset(&l, 0, sizeof(l));
    l.sync = sync;
    l.seed = (tu_seed(1) * 2 + (uint64_t)sync) | (integrity ? INTEGRITY_SEED_BIT : 0);
    l.dir = tu_mkdtemp(integrity ? "crash_integrity" : sync ? "crash_sync" : "crash_nosync");
    snprintf(l.dbpath, sizeof(l.dbpath), "%s/db", l.dir);
    snprintf(l.side, sizeof(l.side), "%s/acked", l.dir);
    l.state = mr_create();
    l.base_id = -1;
    eu_rng_seed(&l.r, l.seed * 3 + 1);
    int cycles = cycles_for(deflt);
    print_message("crash loop (%s): STRATA_TEST_SEED=%" PRIu64 " (batch seed %" PRIu64
                  "), %d cycles, DB %s\n",
                  sync ? "sync" : "no sync", tu_seed(1), l.seed, cycles, l.dbpath);
    time_t t0 = time(NULL);
    for (int c = 0; c < cycles; c++) {
        run_cycle(&l, c);
        l.cycles++;
    }
    print_message("crash loop (%s, batch seed %" PRIu64
                  "): %ld cycles in %lds; %ld batches attempted, "
                  "%ld recovered, %ld cycles recovered nothing new, %ld keys live at the end, "
                  "max batches attempted-but-lost in a cycle %ld, acknowledged batches lost %ld; "
                  "kills that left unreferenced tables %ld, two MANIFESTs %ld, temporary (.dbtmp) "
                  "files %ld\n",
                  sync ? "sync" : "no sync", l.seed, l.cycles, (long)(time(NULL) - t0), l.next_id,
                  l.batches_recovered, l.empty_cycles, (long)mr_count(l.state), l.max_attempted_gap,
                  l.acked_lost, l.orphan_tables, l.extra_manifests, l.other_files);
    mr_destroy(l.state);
    tu_free_path(l.dir);
}

static void test_crash_loop_sync(void **state)
{
    (void)state;
    crash_loop(1, CYCLES_SYNC, 0);
}

/* The same with encryption and parity on: acknowledged sync writes survive, recovery applies no
 * half batch, through encrypted WALs and MANIFESTs and parity-protected tables. */
static void test_crash_loop_sync_integrity(void **state)
{
    (void)state;
    crash_loop(1, CYCLES_SYNC / 2, 1);
}

static void test_crash_loop_nosync(void **state)
{
    (void)state;
    crash_loop(0, CYCLES_NOSYNC, 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], CHILD_ARG) == 0) {
        return child_main(argc, argv);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_loop_sync),
        cmocka_unit_test(test_crash_loop_nosync),
        cmocka_unit_test(test_crash_loop_sync_integrity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
