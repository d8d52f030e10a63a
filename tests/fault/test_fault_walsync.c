/* test_fault_walsync.c — ordering across WAL files without a sync at each memtable switch.
 *
 * A memtable switch no longer syncs the old WAL; every WAL starts with a marker record naming the
 * sequence the earlier WALs must reach, recovery stops at a WAL whose marker shows an earlier
 * WAL's tail missing, and a sync write first syncs the earlier WALs (src/db/db_write.c,
 * db_recover.c, docs/FORMAT.md "WAL marker").  These tests run the DB on the fault env over an
 * in-memory env and use st_env_fault_writeback to model the kernel writing back one file's pages
 * but not another's, plus st_env_sync_dir on the fault env to model the file system committing a
 * directory entry on its own.
 *
 * To keep a switched-out memtable's WAL needed at the power cut (otherwise its flush puts the
 * writes in a synced table and the test proves nothing), the DB's env is a "hold" env over the
 * fault env that parks table creation while held; after the cut the held flush fails against the
 * dead fault env, which is harmless.  The property checked everywhere is the write contract:
 * surviving writes are a prefix of the acknowledged ones, and sync writes survive. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_log.h"
#include "db/filename.h"
#include "db/write_batch.h"
#include "engine_util.h"
#include "fault_util.h"
#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "wal/log_writer.h"

/* ---- hold env: the fault env, with table creation parked while held -------------------------- */

struct hold_env {
    st_env base;
    st_env *under;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int held;
};

static st_env *under(st_env *env)
{
    return ((struct hold_env *)env)->under;
}

static int h_new_writable(st_env *env, const char *path, st_wfile **out)
{
    struct hold_env *h = (struct hold_env *)env;
    if (strstr(path, ".sst")) {
        pthread_mutex_lock(&h->mu);
        while (h->held) {
            pthread_cond_wait(&h->cv, &h->mu);
        }
        pthread_mutex_unlock(&h->mu);
    }
    return st_env_new_writable(h->under, path, out);
}

static int h_new_random(st_env *env, const char *path, st_rfile **out)
{
    return st_env_new_random(under(env), path, out);
}

static int h_new_sequential(st_env *env, const char *path, st_sfile **out)
{
    return st_env_new_sequential(under(env), path, out);
}

static int h_exists(st_env *env, const char *path)
{
    return st_env_exists(under(env), path);
}

static int h_list_dir(st_env *env, const char *dir, char ***names, int *n)
{
    return st_env_list_dir(under(env), dir, names, n);
}

static int h_remove_file(st_env *env, const char *path)
{
    return st_env_remove_file(under(env), path);
}

static int h_rename_file(st_env *env, const char *from, const char *to)
{
    return st_env_rename_file(under(env), from, to);
}

static int h_create_dir(st_env *env, const char *dir)
{
    return st_env_create_dir(under(env), dir);
}

static int h_remove_dir(st_env *env, const char *dir)
{
    return st_env_remove_dir(under(env), dir);
}

static int h_file_size(st_env *env, const char *path, uint64_t *size)
{
    return st_env_file_size(under(env), path, size);
}

static int h_sync_dir(st_env *env, const char *dir)
{
    return st_env_sync_dir(under(env), dir);
}

static int h_lock_file(st_env *env, const char *path, st_filelock **lock)
{
    return st_env_lock_file(under(env), path, lock);
}

static int h_unlock_file(st_env *env, st_filelock *lock)
{
    return st_env_unlock_file(under(env), lock);
}

static uint64_t h_now_micros(st_env *env)
{
    return st_env_now_micros(under(env));
}

static void h_sleep_micros(st_env *env, uint64_t micros)
{
    st_env_sleep_micros(under(env), micros);
}

static int h_thread_start(st_env *env, void (*fn)(void *arg), void *arg, st_thread **t)
{
    return st_env_thread_start(under(env), fn, arg, t);
}

static void h_thread_join(st_env *env, st_thread *t)
{
    st_env_thread_join(under(env), t);
}

static void h_destroy(st_env *env)
{
    struct hold_env *h = (struct hold_env *)env;
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

/* Designated: optional ops added to st_env_ops later stay NULL (their documented default). */
static const struct st_env_ops hold_ops = {
    .new_writable = h_new_writable,
    .new_random = h_new_random,
    .new_sequential = h_new_sequential,
    .exists = h_exists,
    .list_dir = h_list_dir,
    .remove_file = h_remove_file,
    .rename_file = h_rename_file,
    .create_dir = h_create_dir,
    .remove_dir = h_remove_dir,
    .file_size = h_file_size,
    .sync_dir = h_sync_dir,
    .lock_file = h_lock_file,
    .unlock_file = h_unlock_file,
    .now_micros = h_now_micros,
    .sleep_micros = h_sleep_micros,
    .thread_start = h_thread_start,
    .thread_join = h_thread_join,
    .destroy = h_destroy,
};

static st_env *hold_create(st_env *base)
{
    struct hold_env *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->base.ops = &hold_ops;
    h->under = base;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    return &h->base;
}

static void hold_set(st_env *env, int held)
{
    struct hold_env *h = (struct hold_env *)env;
    pthread_mutex_lock(&h->mu);
    h->held = held;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* ---- fixture --------------------------------------------------------------------------------- */

struct ws {
    struct fu_env e;
    st_env *hold;
    strata_db *db;
    strata_write_options *wo[3]; /* plain, sync, disable_wal */
};

enum { W_PLAIN, W_SYNC, W_NOWAL };

static void ws_init(struct ws *w)
{
    memset(w, 0, sizeof(*w));
    fu_env_init(&w->e, 0);
    w->hold = hold_create(w->e.fault);
    strata_options_set_env(w->e.opt, w->hold);
    /* Room for many unflushed memtables, so a held flush never stalls the writer for good. */
    tu_assert_ok(strata_options_set_max_write_buffers(w->e.opt, 40));
    for (int i = 0; i < 3; i++) {
        w->wo[i] = strata_write_options_create();
        assert_non_null(w->wo[i]);
    }
    strata_write_options_set_sync(w->wo[W_SYNC], 1);
    strata_write_options_set_disable_wal(w->wo[W_NOWAL], 1);
}

static void ws_open(struct ws *w, const char *what)
{
    w->db = fu_open(&w->e, what);
}

static void ws_close(struct ws *w)
{
    hold_set(w->hold, 0);
    tu_assert_ok(strata_close(w->db));
    w->db = NULL;
}

/* Power loss with a held flush released only afterwards (it then fails on the dead env). */
static void ws_cut(struct ws *w)
{
    tu_assert_ok(st_env_fault_power_loss(w->e.fault));
    hold_set(w->hold, 0);
    if (w->db) {
        (void)strata_close(w->db);
        w->db = NULL;
    }
    st_env_fault_clear(w->e.fault);
    st_env_fault_reset(w->e.fault);
}

static void ws_fini(struct ws *w)
{
    if (w->db) {
        ws_close(w);
    }
    for (int i = 0; i < 3; i++) {
        strata_write_options_destroy(w->wo[i]);
    }
    fu_env_fini(&w->e); /* the options still name the hold env, but nothing uses it now */
    h_destroy(w->hold);
}

static void ws_put(struct ws *w, const char *key, const char *val, int how)
{
    tu_assert_ok(strata_put(w->db, w->wo[how], key, strlen(key), val, strlen(val)));
}

/* Switches the memtable with its flush parked: the old WAL stays needed. */
static void ws_switch(struct ws *w)
{
    hold_set(w->hold, 1);
    tu_assert_ok(strata_flush(w->db, 0));
}

/* 1 if key is visible in the (open) DB. */
static int ws_has(struct ws *w, const char *key)
{
    void *v = NULL;
    size_t vlen = 0;
    int rc = strata_get(w->db, NULL, key, strlen(key), &v, &vlen);
    strata_free(v);
    if (rc != 0 && rc != STRATA_E_NOTFOUND) {
        tu_assert_ok(rc);
    }
    return rc == 0;
}

static uint64_t ws_last_seq(struct ws *w)
{
    uint64_t seq = 0;
    tu_assert_ok(strata_property_int(w->db, "strata.last-sequence", &seq));
    return seq;
}

/* Numbers of the WAL files in the DB directory, ascending; returns how many (at most max). */
static int ws_wals(struct ws *w, uint64_t *out, int max)
{
    char **names = NULL;
    int n = 0, count = 0;
    tu_assert_ok(st_env_list_dir(w->e.fault, w->e.path, &names, &n));
    for (int i = 0; i < n; i++) {
        int type;
        uint64_t number;
        if (st_parse_filename(names[i], &type, &number) && type == ST_FILE_LOG && count < max) {
            int j = count++;
            for (; j > 0 && out[j - 1] > number; j--) {
                out[j] = out[j - 1];
            }
            out[j] = number;
        }
    }
    st_env_free_names(names, n);
    return count;
}

static uint64_t ws_newest_wal(struct ws *w)
{
    uint64_t wals[64];
    int n = ws_wals(w, wals, 64);
    assert_true(n > 0);
    return wals[n - 1];
}

/* Simulated kernel writeback of one WAL's pages. */
static void ws_writeback_wal(struct ws *w, uint64_t number)
{
    char *name = st_filename(w->e.path, ST_FILE_LOG, number);
    assert_non_null(name);
    st_env_fault_writeback(w->e.fault, name);
    st_free(name);
}

/* ---- the env addition itself ----------------------------------------------------------------- */

static void expect_file(st_env *env, const char *path, const char *want)
{
    if (!want) {
        assert_false(st_env_exists(env, path));
        return;
    }
    char *data = NULL;
    size_t len = 0;
    tu_assert_ok(st_env_read_file(env, path, 1 << 20, &data, &len));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    st_free(data);
}

/* Writeback makes matching files' data durable, nothing else, and no directory entry. */
static void test_fault_writeback_model(void **state)
{
    (void)state;
    struct fu_env e;
    fu_env_init(&e, 0);
    tu_assert_ok(st_env_create_dir(e.fault, "/d"));
    st_wfile *a = NULL, *b = NULL, *c = NULL;
    tu_assert_ok(st_env_new_writable(e.fault, "/d/a.log", &a));
    tu_assert_ok(st_env_new_writable(e.fault, "/d/b.log", &b));
    tu_assert_ok(st_env_sync_dir(e.fault, "/d")); /* a and b exist durably */
    tu_assert_ok(st_env_new_writable(e.fault, "/d/c.log", &c)); /* c's entry is not durable */
    tu_assert_ok(st_wfile_append(a, "aaaa", 4));
    tu_assert_ok(st_wfile_append(b, "bbbb", 4));
    tu_assert_ok(st_wfile_append(c, "cccc", 4));
    tu_assert_ok(st_wfile_flush(a));
    tu_assert_ok(st_wfile_flush(b));
    tu_assert_ok(st_wfile_flush(c));
    st_env_fault_writeback(e.fault, "a.log");
    st_env_fault_writeback(e.fault, "c.log");
    tu_assert_ok(st_wfile_append(a, "AA", 2)); /* after the writeback: not durable */
    tu_assert_ok(st_wfile_flush(a));
    tu_assert_ok(st_env_fault_power_loss(e.fault));
    (void)st_wfile_close(a);
    (void)st_wfile_close(b);
    (void)st_wfile_close(c);
    st_env_fault_reset(e.fault);
    expect_file(e.fault, "/d/a.log", "aaaa");
    expect_file(e.fault, "/d/b.log", ""); /* never synced, not written back */
    expect_file(e.fault, "/d/c.log", NULL);
    st_env_fault_writeback(e.fault, NULL); /* nothing unsynced left: a no-op */
    expect_file(e.fault, "/d/a.log", "aaaa");
    fu_env_fini(&e);
}

/* ---- directed cases -------------------------------------------------------------------------- */

/* The newer WAL is written back, the older one's tail is not: B must not survive without A. */
static void test_prefix_across_switch(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "prefix");
    ws_put(&w, "A", "1", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "B", "2", W_PLAIN);
    /* The file system commits the directory (the new WAL's entry) and writes back the new WAL. */
    tu_assert_ok(st_env_sync_dir(w.e.fault, w.e.path));
    ws_writeback_wal(&w, ws_newest_wal(&w));
    ws_cut(&w);
    ws_open(&w, "prefix: reopen");
    int a = ws_has(&w, "A"), b = ws_has(&w, "B");
    if (b) {
        assert_true(a); /* the contract */
    }
    assert_int_equal(a, 0); /* never synced, never written back */
    assert_int_equal(b, 0); /* dropped by the marker check */
    ws_fini(&w);
}

/* Both WALs written back: both writes survive (no false loss detection). */
static void test_writeback_all_keeps_both(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "writeback all");
    ws_put(&w, "A", "1", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "B", "2", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "C", "3", W_PLAIN);
    tu_assert_ok(st_env_sync_dir(w.e.fault, w.e.path));
    st_env_fault_writeback(w.e.fault, ".log");
    ws_cut(&w);
    ws_open(&w, "writeback all: reopen");
    assert_true(ws_has(&w, "A"));
    assert_true(ws_has(&w, "B"));
    assert_true(ws_has(&w, "C"));
    ws_fini(&w);
}

/* Only the old WAL written back: A survives, B (never durable) does not; nothing is skipped. */
static void test_writeback_old_only(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "writeback old");
    ws_put(&w, "A", "1", W_PLAIN);
    uint64_t old = ws_newest_wal(&w);
    ws_switch(&w);
    ws_put(&w, "B", "2", W_PLAIN);
    tu_assert_ok(st_env_sync_dir(w.e.fault, w.e.path));
    ws_writeback_wal(&w, old);
    ws_cut(&w);
    ws_open(&w, "writeback old: reopen");
    assert_true(ws_has(&w, "A"));
    assert_false(ws_has(&w, "B"));
    ws_fini(&w);
}

/* A sync write after a switch makes the old WAL (and the new WAL's directory entry) durable. */
static void test_sync_after_switch(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "sync after switch");
    ws_put(&w, "A", "1", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "B", "2", W_SYNC);
    ws_cut(&w);
    ws_open(&w, "sync after switch: reopen");
    assert_true(ws_has(&w, "A"));
    assert_true(ws_has(&w, "B"));
    ws_fini(&w);
}

/* Several switches, then one sync write: every earlier WAL is synced first. */
static void test_sync_after_many_switches(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "many switches");
    char key[16];
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ws_put(&w, key, "v", W_PLAIN);
        ws_switch(&w);
    }
    ws_put(&w, "last", "v", W_SYNC);
    ws_cut(&w);
    ws_open(&w, "many switches: reopen");
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_true(ws_has(&w, key));
    }
    assert_true(ws_has(&w, "last"));
    ws_fini(&w);
}

/* disable_wal writes leave sequence gaps in the WALs: no false "lost tail". */
static void test_disable_wal_gaps(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "disable_wal");
    ws_put(&w, "A", "1", W_PLAIN);
    ws_put(&w, "X", "x", W_NOWAL);
    ws_switch(&w);
    ws_put(&w, "Y", "y", W_NOWAL);
    ws_put(&w, "B", "2", W_SYNC);
    ws_cut(&w);
    ws_open(&w, "disable_wal: reopen");
    assert_true(ws_has(&w, "A"));
    assert_true(ws_has(&w, "B"));
    ws_close(&w);
    /* Same with a memtable holding only disable_wal writes switched out between the two: its WAL
     * has nothing but its marker. */
    ws_open(&w, "disable_wal 2");
    ws_put(&w, "C", "3", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "Z", "z", W_NOWAL);
    ws_switch(&w);
    ws_put(&w, "D", "4", W_SYNC);
    ws_cut(&w);
    ws_open(&w, "disable_wal 2: reopen");
    assert_true(ws_has(&w, "C"));
    assert_true(ws_has(&w, "D"));
    ws_fini(&w);
}

/* After a detected loss the skipped WAL is never replayed later, and the DB works normally. */
static void test_skipped_wal_stays_skipped(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "skip");
    ws_put(&w, "A", "1", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "B", "2", W_PLAIN);
    uint64_t skipped = ws_newest_wal(&w);
    tu_assert_ok(st_env_sync_dir(w.e.fault, w.e.path));
    ws_writeback_wal(&w, skipped);
    ws_cut(&w);
    ws_open(&w, "skip: first reopen");
    assert_false(ws_has(&w, "B"));
    /* A cut right after recovery: the skipped WAL's removal was not durable, so it comes back,
     * but the MANIFEST's log number is past it. */
    ws_cut(&w);
    ws_open(&w, "skip: reopen after a second cut");
    assert_false(ws_has(&w, "A"));
    assert_false(ws_has(&w, "B"));
    ws_put(&w, "C", "3", W_PLAIN);
    ws_close(&w);
    for (int i = 0; i < 2; i++) {
        ws_open(&w, "skip: clean reopen");
        assert_false(ws_has(&w, "A"));
        assert_false(ws_has(&w, "B"));
        assert_true(ws_has(&w, "C"));
        uint64_t wals[64];
        int n = ws_wals(&w, wals, 64);
        for (int k = 0; k < n; k++) {
            assert_true(wals[k] > skipped); /* deleted as obsolete */
        }
        ws_close(&w);
    }
    ws_fini(&w);
}

/* Clean close syncs every WAL: nothing is lost, however many switches were pending. */
static void test_close_syncs_pending(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "close");
    ws_put(&w, "A", "1", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "B", "2", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "C", "3", W_PLAIN);
    ws_close(&w);
    ws_cut(&w);
    ws_open(&w, "close: reopen");
    assert_true(ws_has(&w, "A"));
    assert_true(ws_has(&w, "B"));
    assert_true(ws_has(&w, "C"));
    ws_fini(&w);
}

/* strata_flush(wait) still makes earlier writes durable (in tables) without WAL syncs. */
static void test_flush_wait_durable(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "flush wait");
    ws_put(&w, "A", "1", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "B", "2", W_PLAIN);
    hold_set(w.hold, 0);
    tu_assert_ok(strata_flush(w.db, 1));
    ws_put(&w, "C", "3", W_PLAIN);
    ws_cut(&w);
    ws_open(&w, "flush wait: reopen");
    assert_true(ws_has(&w, "A"));
    assert_true(ws_has(&w, "B"));
    ws_fini(&w);
}

/* A switch performs no file sync and no directory sync. */
static void test_switch_does_not_sync(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "no sync at switch");
    ws_put(&w, "A", "1", W_PLAIN);
    long syncs = st_env_fault_count(w.e.fault, ST_FAULT_SYNC);
    long dirs = st_env_fault_count(w.e.fault, ST_FAULT_SYNC_DIR);
    ws_switch(&w); /* the flush is held: no table sync either */
    ws_put(&w, "B", "2", W_PLAIN);
    assert_int_equal(st_env_fault_count(w.e.fault, ST_FAULT_SYNC), syncs);
    assert_int_equal(st_env_fault_count(w.e.fault, ST_FAULT_SYNC_DIR), dirs);
    ws_put(&w, "C", "3", W_SYNC); /* old WAL, directory, current WAL */
    assert_int_equal(st_env_fault_count(w.e.fault, ST_FAULT_SYNC), syncs + 2);
    assert_int_equal(st_env_fault_count(w.e.fault, ST_FAULT_SYNC_DIR), dirs + 1);
    ws_put(&w, "D", "4", W_SYNC); /* only the current WAL now */
    assert_int_equal(st_env_fault_count(w.e.fault, ST_FAULT_SYNC), syncs + 3);
    assert_int_equal(st_env_fault_count(w.e.fault, ST_FAULT_SYNC_DIR), dirs + 1);
    ws_fini(&w);
}

/* A failing sync of an earlier WAL fails the sync write and is sticky. */
static void test_old_wal_sync_failure_sticky(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "old sync failure");
    ws_put(&w, "A", "1", W_PLAIN);
    uint64_t old = ws_newest_wal(&w);
    ws_switch(&w);
    char *name = st_filename(w.e.path, ST_FILE_LOG, old);
    assert_non_null(name);
    st_env_fault_fail(w.e.fault, ST_FAULT_SYNC, name, 0, 1, STRATA_E_IO);
    st_free(name);
    assert_int_equal(strata_put(w.db, w.wo[W_SYNC], "B", 1, "2", 1), STRATA_E_IO);
    assert_int_not_equal(strata_put(w.db, w.wo[W_PLAIN], "C", 1, "3", 1), 0);
    ws_cut(&w);
    ws_open(&w, "old sync failure: reopen");
    assert_false(ws_has(&w, "C"));
    ws_fini(&w);
}

/* ---- hand-written WALs: old files without a marker, and the marker check itself -------------- */

/* Writes WAL number with the given records: each a batch (seq, count of puts key=val) or, with
 * key NULL, a bare header (seq, count 0: a marker).  Synced, so only the content matters. */
struct rec_spec {
    uint64_t seq;
    const char *key;
};

static void write_wal(struct ws *w, uint64_t number, const struct rec_spec *recs, int n)
{
    char *name = st_filename(w->e.path, ST_FILE_LOG, number);
    assert_non_null(name);
    st_wfile *f = NULL;
    st_log_writer *lw = NULL;
    tu_assert_ok(st_env_new_writable(w->e.fault, name, &f));
    tu_assert_ok(st_log_writer_create(f, 0, &lw));
    for (int i = 0; i < n; i++) {
        strata_batch *b = strata_batch_create();
        assert_non_null(b);
        if (recs[i].key) {
            tu_assert_ok(strata_batch_put(b, recs[i].key, strlen(recs[i].key), "hv", 2));
        }
        st_batch_set_seq(b, recs[i].seq);
        tu_assert_ok(st_log_writer_add(lw, st_slice_make(b->rep.data, b->rep.len)));
        strata_batch_destroy(b);
    }
    tu_assert_ok(st_log_writer_sync(lw));
    tu_assert_ok(st_log_writer_close(lw));
    tu_assert_ok(st_env_sync_dir(w->e.fault, w->e.path));
    st_free(name);
}

static void test_hand_written_wals(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "hand");
    ws_put(&w, "A", "1", W_SYNC);
    ws_close(&w);
    uint64_t l = ws_newest_wal(&w); /* the MANIFEST's log number: holds a marker and A */
    /* No marker (written before markers existed): replayed without a check. */
    const struct rec_spec old_style[] = {{1000, "h1"}, {1001, "h1b"}};
    write_wal(&w, l + 1, old_style, 2);
    write_wal(&w, l + 2, NULL, 0); /* empty: accepted, no data */
    /* Marker matching where the earlier WALs end; a count-0 record later in a WAL is no marker. */
    const struct rec_spec good[] = {{1002, NULL}, {1002, "h3"}, {9999, NULL}, {1003, "h3b"}};
    write_wal(&w, l + 3, good, 4);
    /* Marker 1005 beyond where the earlier WALs end (1004): an earlier WAL's tail was lost. */
    const struct rec_spec gap[] = {{1005, NULL}, {1005, "h4"}};
    write_wal(&w, l + 4, gap, 2);
    const struct rec_spec after[] = {{1006, NULL}, {1006, "h5"}};
    write_wal(&w, l + 5, after, 2);
    for (int round = 0; round < 2; round++) {
        ws_open(&w, "hand: reopen");
        assert_true(ws_has(&w, "A"));
        assert_true(ws_has(&w, "h1"));
        assert_true(ws_has(&w, "h1b"));
        assert_true(ws_has(&w, "h3"));
        assert_true(ws_has(&w, "h3b"));
        assert_false(ws_has(&w, "h4"));
        assert_false(ws_has(&w, "h5"));
        /* The count-0 records moved nothing: 1003 is h3b, 1004 the previous round's write. */
        assert_int_equal(ws_last_seq(&w), 1003 + (uint64_t)round);
        ws_put(&w, round ? "n2" : "n1", "v", W_PLAIN);
        ws_close(&w);
    }
    ws_open(&w, "hand: final");
    assert_true(ws_has(&w, "n1"));
    assert_true(ws_has(&w, "n2"));
    uint64_t wals[64];
    int n = ws_wals(&w, wals, 64);
    for (int k = 0; k < n; k++) {
        assert_true(wals[k] > l + 5);
    }
    ws_fini(&w);
}

/* A WAL holding only its marker replays nothing and leaves the last sequence alone. */
static void test_marker_moves_no_sequence(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "marker only");
    ws_put(&w, "A", "1", W_PLAIN);
    ws_put(&w, "B", "2", W_PLAIN);
    ws_close(&w);
    for (int i = 0; i < 3; i++) { /* each open's WAL: a marker naming 3, and nothing else */
        ws_open(&w, "marker only: reopen");
        assert_int_equal(ws_last_seq(&w), 2);
        assert_true(ws_has(&w, "B"));
        ws_close(&w);
    }
    ws_fini(&w);
}

/* A first replayed WAL that lost everything (even its marker) and a later WAL that survived:
 * nothing is known about where the first ended, so the later one is dropped. */
static void test_empty_first_wal_then_marker(void **state)
{
    (void)state;
    struct ws w;
    ws_init(&w);
    ws_open(&w, "empty first");
    ws_close(&w);
    ws_open(&w, "empty first: writes");
    uint64_t first = ws_newest_wal(&w);
    ws_put(&w, "A", "1", W_PLAIN);
    ws_switch(&w);
    ws_put(&w, "B", "2", W_PLAIN);
    assert_true(ws_newest_wal(&w) > first);
    tu_assert_ok(st_env_sync_dir(w.e.fault, w.e.path));
    ws_writeback_wal(&w, ws_newest_wal(&w));
    ws_cut(&w);
    ws_open(&w, "empty first: reopen");
    assert_false(ws_has(&w, "A"));
    assert_false(ws_has(&w, "B"));
    ws_fini(&w);
}

/* ---- randomized: writeback of random WAL subsets, checked against the batch log -------------- */

static void test_random_writeback(void **state)
{
    (void)state;
    int rounds = (int)(16 * tu_scale()) + 2;
    for (int round = 0; round < rounds; round++) {
        struct ws w;
        ws_init(&w);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) * 977 + (uint64_t)round);
        cl_log *log = cl_create_ns("w", 300, 120);
        ws_open(&w, "random");
        int held = (int)eu_uniform(&r, 3) != 0;
        hold_set(w.hold, held);
        /* Some rounds never sync, so the WALs' unsynced tails span several switches. */
        const uint64_t sync_one_in[3] = {0, 40, 10};
        uint64_t sync_rate = sync_one_in[round % 3];
        int steps = 50 + (int)eu_uniform(&r, 200);
        for (int i = 0; i < steps; i++) {
            int sync = sync_rate && eu_one_in(&r, sync_rate);
            tu_assert_ok(cl_write(log, w.db, &r, 1 + (int)eu_uniform(&r, 8), sync));
            if (eu_one_in(&r, 15)) {
                char key[32];
                snprintf(key, sizeof(key), "x%d", i); /* outside the log's namespace */
                ws_put(&w, key, "gap", W_NOWAL);
            }
            if (eu_one_in(&r, 12)) {
                uint64_t imm = 0;
                tu_assert_ok(strata_property_int(w.db, "strata.num-immutable-mem-table", &imm));
                if (imm < 25) {
                    tu_assert_ok(strata_flush(w.db, 0));
                }
            }
        }
        uint64_t wals[64];
        int n = ws_wals(&w, wals, 64);
        for (int k = 0; k < n; k++) {
            if (eu_one_in(&r, 2)) {
                ws_writeback_wal(&w, wals[k]);
            }
        }
        if (eu_one_in(&r, 2)) {
            tu_assert_ok(st_env_sync_dir(w.e.fault, w.e.path));
        }
        ws_cut(&w);
        ws_open(&w, "random: reopen");
        cl_verify(log, w.db, 0, "random writeback");
        ws_cut(&w);
        ws_open(&w, "random: second cut");
        cl_verify(log, w.db, 0, "random writeback, second cut");
        tu_assert_ok(cl_write(log, w.db, &r, 3, 0));
        ws_close(&w);
        ws_open(&w, "random: clean reopen");
        cl_verify(log, w.db, 1, "random writeback, clean reopen");
        cl_destroy(log);
        ws_fini(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_writeback_model),
        cmocka_unit_test(test_prefix_across_switch),
        cmocka_unit_test(test_writeback_all_keeps_both),
        cmocka_unit_test(test_writeback_old_only),
        cmocka_unit_test(test_sync_after_switch),
        cmocka_unit_test(test_sync_after_many_switches),
        cmocka_unit_test(test_disable_wal_gaps),
        cmocka_unit_test(test_skipped_wal_stays_skipped),
        cmocka_unit_test(test_close_syncs_pending),
        cmocka_unit_test(test_flush_wait_durable),
        cmocka_unit_test(test_switch_does_not_sync),
        cmocka_unit_test(test_old_wal_sync_failure_sticky),
        cmocka_unit_test(test_hand_written_wals),
        cmocka_unit_test(test_marker_moves_no_sequence),
        cmocka_unit_test(test_empty_first_wal_then_marker),
        cmocka_unit_test(test_random_writeback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
