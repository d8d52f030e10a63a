/* test_env_fault.c — the fault-injecting env, over both the mem env and the POSIX env as base:
 * power-loss semantics (synced data kept, unsynced data dropped, entry operations undone unless
 * their directory was synced, dead handles), a randomized test against a snapshot model of the
 * durable state, power loss racing writer threads, and failure injection (nth, sticky, path
 * filter, codes, every op kind) with its counters. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env_fault.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/compiler.h"
#include "util/status.h"

enum { BASE_MEM, BASE_POSIX };
static const int base_mem = BASE_MEM, base_posix = BASE_POSIX;

struct fx {
    int kind;
    st_env *base;
    st_env *fe;
    char root[400];
    char *tmp;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (!fx) {
        return -1;
    }
    fx->kind = *(const int *)*state;
    if (fx->kind == BASE_MEM) {
        fx->base = st_env_mem_create();
        snprintf(fx->root, sizeof(fx->root), "/db");
    } else {
        fx->base = st_env_posix();
        fx->tmp = tu_mkdtemp("env_fault");
        snprintf(fx->root, sizeof(fx->root), "%s/db", fx->tmp ? fx->tmp : "");
    }
    if (!fx->base || st_env_create_dir(fx->base, fx->root) != 0) {
        return -1;
    }
    fx->fe = st_env_fault_create(fx->base);
    *state = fx;
    return fx->fe ? 0 : -1;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    st_env_fault_destroy(fx->fe);
    if (fx->kind == BASE_MEM) {
        fx->base->ops->destroy(fx->base);
    }
    tu_free_path(fx->tmp);
    free(fx);
    return 0;
}

static const char *P(const struct fx *fx, const char *name)
{
    static char bufs[8][600];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", fx->root, name);
    return b;
}

/* Creates path with content s, syncing the file if sync. */
static void put(st_env *env, const char *path, const char *s, int sync)
{
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(env, path, &w));
    tu_assert_ok(st_wfile_append(w, s, strlen(s)));
    if (sync) {
        tu_assert_ok(st_wfile_sync(w));
    }
    tu_assert_ok(st_wfile_close(w));
}

static void assert_content(st_env *env, const char *path, const char *want)
{
    char *data = NULL;
    size_t len = 0;
    tu_assert_ok(st_env_read_file(env, path, 1u << 26, &data, &len));
    tu_assert_bytes_equal(data, len, want, strlen(want));
    st_free(data);
}

static void assert_absent(st_env *env, const char *path)
{
    assert_int_equal(st_env_exists(env, path), 0);
}

static void crash(struct fx *fx)
{
    tu_assert_ok(st_env_fault_power_loss(fx->fe));
    st_env_fault_reset(fx->fe);
}

/* Number of entries of dir in env, and whether any is a retained (hidden) file. */
static int count_entries(st_env *env, const char *dir, int *hidden)
{
    char **names = NULL;
    int n = 0;
    tu_assert_ok(st_env_list_dir(env, dir, &names, &n));
    *hidden = 0;
    for (int i = 0; i < n; i++) {
        *hidden |= strncmp(names[i], ".strata-fault-", 14) == 0;
    }
    st_env_free_names(names, n);
    return n;
}

static void assert_no_hidden(struct fx *fx)
{
    int hidden = 0;
    count_entries(fx->base, fx->root, &hidden);
    assert_int_equal(hidden, 0);
}

/* ---- Power loss ------------------------------------------------------------------------------ */

static void test_synced_kept_unsynced_dropped(void **state)
{
    struct fx *fx = *state;
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(fx->fe, P(fx, "f"), &w));
    tu_assert_ok(st_wfile_append(w, "abc", 3));
    tu_assert_ok(st_wfile_sync(w));
    tu_assert_ok(st_wfile_append(w, "def", 3));
    tu_assert_ok(st_wfile_flush(w));
    tu_assert_ok(st_wfile_close(w));
    put(fx->fe, P(fx, "never"), "xyz", 0);
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    assert_content(fx->fe, P(fx, "f"), "abcdef");
    crash(fx);
    assert_content(fx->fe, P(fx, "f"), "abc");
    assert_content(fx->fe, P(fx, "never"), ""); /* never synced: empty, but its entry is durable */
    crash(fx); /* a second power loss changes nothing */
    assert_content(fx->fe, P(fx, "f"), "abc");
}

static void test_create_needs_dir_sync(void **state)
{
    struct fx *fx = *state;
    put(fx->fe, P(fx, "lost"), "data", 1);
    put(fx->fe, P(fx, "kept"), "data", 1);
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    put(fx->fe, P(fx, "lost2"), "data", 1);
    tu_assert_ok(st_env_remove_file(fx->fe, P(fx, "lost")));
    put(fx->fe, P(fx, "lost"), "again", 1); /* re-created after a pending removal */
    crash(fx);
    assert_content(fx->fe, P(fx, "kept"), "data");
    assert_content(fx->fe, P(fx, "lost"), "data"); /* the removal is undone, the re-creation too */
    assert_absent(fx->fe, P(fx, "lost2"));
    assert_no_hidden(fx);
}

static void test_rename_reverted(void **state)
{
    struct fx *fx = *state;
    put(fx->fe, P(fx, "a"), "A", 1);
    put(fx->fe, P(fx, "b"), "B", 1);
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    tu_assert_ok(st_env_rename_file(fx->fe, P(fx, "a"), P(fx, "c")));
    tu_assert_ok(st_env_rename_file(fx->fe, P(fx, "c"), P(fx, "b"))); /* replaces b */
    assert_absent(fx->fe, P(fx, "a"));
    assert_content(fx->fe, P(fx, "b"), "A");
    int hidden = 0;
    assert_int_equal(count_entries(fx->fe, fx->root, &hidden), 1); /* only b is visible */
    assert_int_equal(hidden, 0);
    crash(fx);
    assert_content(fx->fe, P(fx, "a"), "A");
    assert_content(fx->fe, P(fx, "b"), "B"); /* the replaced target comes back */
    assert_absent(fx->fe, P(fx, "c"));
    assert_no_hidden(fx);
}

static void test_rename_durable_after_dir_sync(void **state)
{
    struct fx *fx = *state;
    put(fx->fe, P(fx, "CURRENT.tmp"), "MANIFEST-2\n", 1);
    put(fx->fe, P(fx, "CURRENT"), "MANIFEST-1\n", 1);
    tu_assert_ok(st_env_rename_file(fx->fe, P(fx, "CURRENT.tmp"), P(fx, "CURRENT")));
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    assert_no_hidden(fx); /* the replaced CURRENT is gone for good */
    crash(fx);
    assert_content(fx->fe, P(fx, "CURRENT"), "MANIFEST-2\n");
    assert_absent(fx->fe, P(fx, "CURRENT.tmp"));
}

static void test_remove_undone(void **state)
{
    struct fx *fx = *state;
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(fx->fe, P(fx, "x"), &w));
    tu_assert_ok(st_wfile_append(w, "abc", 3));
    tu_assert_ok(st_wfile_sync(w));
    tu_assert_ok(st_wfile_append(w, "def", 3));
    tu_assert_ok(st_wfile_close(w));
    put(fx->fe, P(fx, "y"), "yy", 1);
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    tu_assert_ok(st_env_remove_file(fx->fe, P(fx, "x")));
    tu_assert_ok(st_env_remove_file(fx->fe, P(fx, "y")));
    assert_absent(fx->fe, P(fx, "x"));
    int hidden = 0;
    assert_int_equal(count_entries(fx->fe, fx->root, &hidden), 0);
    assert_int_equal(st_env_remove_file(fx->fe, P(fx, "x")), STRATA_E_NOTFOUND);
    crash(fx);
    assert_content(fx->fe, P(fx, "x"), "abc"); /* back, with its synced contents only */
    assert_content(fx->fe, P(fx, "y"), "yy");
    tu_assert_ok(st_env_remove_file(fx->fe, P(fx, "x")));
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    assert_no_hidden(fx);
    crash(fx);
    assert_absent(fx->fe, P(fx, "x"));
}

/* A file removed while its writer is open keeps receiving (and syncing) data; if the removal is
 * undone, the file comes back with everything synced through that writer. */
static void test_remove_with_open_writer(void **state)
{
    struct fx *fx = *state;
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(fx->fe, P(fx, "log"), &w));
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    tu_assert_ok(st_wfile_append(w, "one", 3));
    tu_assert_ok(st_env_remove_file(fx->fe, P(fx, "log")));
    tu_assert_ok(st_wfile_append(w, "two", 3));
    tu_assert_ok(st_wfile_sync(w));
    tu_assert_ok(st_wfile_append(w, "three", 5));
    crash(fx);
    assert_content(fx->fe, P(fx, "log"), "onetwo");
    assert_int_equal(st_wfile_close(w), STRATA_E_IO);
}

static void test_preexisting_files_durable(void **state)
{
    struct fx *fx = *state;
    tu_assert_ok(st_env_write_file(fx->base, P(fx, "old"), st_slice_cstr("old data"), 0));
    tu_assert_ok(st_env_write_file(fx->base, P(fx, "trunc"), st_slice_cstr("old data"), 0));
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(fx->fe, P(fx, "trunc"), &w)); /* truncation is durable */
    tu_assert_ok(st_wfile_append(w, "new", 3));
    tu_assert_ok(st_wfile_close(w));
    crash(fx);
    assert_content(fx->fe, P(fx, "old"), "old data");
    assert_content(fx->fe, P(fx, "trunc"), "");
}

/* Bytes still buffered in a base writer must not land after the cut. */
static void test_buffered_bytes_do_not_reappear(void **state)
{
    struct fx *fx = *state;
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(fx->fe, P(fx, "buf"), &w));
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    tu_assert_ok(st_wfile_append(w, "abc", 3));
    tu_assert_ok(st_wfile_sync(w));
    tu_assert_ok(st_wfile_append(w, "0123456789", 10));
    crash(fx);
    assert_int_equal(st_wfile_append(w, "x", 1), STRATA_E_IO);
    assert_int_equal(st_wfile_size(w), 13);
    assert_int_equal(st_wfile_close(w), STRATA_E_IO);
    assert_content(fx->fe, P(fx, "buf"), "abc");
    assert_content(fx->base, P(fx, "buf"), "abc");
}

static void test_dead_handles_and_down_env(void **state)
{
    struct fx *fx = *state;
    put(fx->fe, P(fx, "r"), "read me", 1);
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    st_wfile *w = NULL;
    st_rfile *r = NULL;
    st_sfile *s = NULL;
    st_filelock *l = NULL, *l2 = NULL;
    char scratch[16];
    st_slice got;
    tu_assert_ok(st_env_new_writable(fx->fe, P(fx, "w"), &w));
    tu_assert_ok(st_env_new_random(fx->fe, P(fx, "r"), &r));
    tu_assert_ok(st_env_new_sequential(fx->fe, P(fx, "r"), &s));
    tu_assert_ok(st_env_lock_file(fx->fe, P(fx, "LOCK"), &l));
    tu_assert_ok(st_env_fault_power_loss(fx->fe));
    assert_int_equal(st_wfile_append(w, "x", 1), STRATA_E_IO);
    assert_non_null(strstr(st_errmsg(), "power loss"));
    assert_int_equal(st_wfile_flush(w), STRATA_E_IO);
    assert_int_equal(st_wfile_sync(w), STRATA_E_IO);
    assert_int_equal(st_rfile_read(r, 0, 4, scratch, &got), STRATA_E_IO);
    assert_int_equal(st_sfile_read(s, 4, scratch, &got), STRATA_E_IO);
    assert_int_equal(st_sfile_skip(s, 1), STRATA_E_IO);
    /* The machine is off: every env call fails until reset. */
    st_wfile *w2 = NULL;
    char **names = NULL;
    int n = 0;
    uint64_t size;
    assert_int_equal(st_env_new_writable(fx->fe, P(fx, "z"), &w2), STRATA_E_IO);
    st_rfile *r2 = NULL;
    assert_int_equal(st_env_new_random(fx->fe, P(fx, "r"), &r2), STRATA_E_IO);
    assert_int_equal(st_env_list_dir(fx->fe, fx->root, &names, &n), STRATA_E_IO);
    assert_int_equal(st_env_file_size(fx->fe, P(fx, "r"), &size), STRATA_E_IO);
    assert_int_equal(st_env_exists(fx->fe, P(fx, "r")), 0);
    assert_int_equal(st_env_sync_dir(fx->fe, fx->root), STRATA_E_IO);
    assert_int_equal(st_env_lock_file(fx->fe, P(fx, "LOCK"), &l2), STRATA_E_IO);
    st_env_fault_reset(fx->fe);
    /* Old handles stay dead; new ones work; the lock died with the "process". */
    assert_int_equal(st_wfile_append(w, "x", 1), STRATA_E_IO);
    tu_assert_ok(st_env_new_random(fx->fe, P(fx, "r"), &r2));
    tu_assert_ok(st_rfile_read(r2, 0, 4, scratch, &got));
    tu_assert_bytes_equal(got.data, got.size, "read", 4);
    st_rfile_close(r2);
    st_rfile_close(r);
    tu_assert_ok(st_env_lock_file(fx->fe, P(fx, "LOCK"), &l2));
    assert_int_equal(st_wfile_close(w), STRATA_E_IO);
    st_sfile_close(s);
    tu_assert_ok(st_env_unlock_file(fx->fe, l)); /* already released: just freed */
    tu_assert_ok(st_env_unlock_file(fx->fe, l2));
    assert_absent(fx->fe, P(fx, "w")); /* created, never dir-synced */
}

static void test_remove_dir_with_retained_files(void **state)
{
    struct fx *fx = *state;
    tu_assert_ok(st_env_create_dir(fx->fe, P(fx, "sub")));
    put(fx->fe, P(fx, "sub/f"), "f", 1);
    tu_assert_ok(st_env_sync_dir(fx->fe, P(fx, "sub")));
    tu_assert_ok(st_env_remove_file(fx->fe, P(fx, "sub/f")));
    tu_assert_ok(st_env_remove_dir(fx->fe, P(fx, "sub")));
    assert_absent(fx->fe, P(fx, "sub"));
    tu_assert_ok(st_env_create_dir(fx->fe, P(fx, "sub2")));
    put(fx->fe, P(fx, "sub2/g"), "g", 1);
    assert_int_not_equal(st_env_remove_dir(fx->fe, P(fx, "sub2")), 0); /* really not empty */
    crash(fx);
    assert_absent(fx->fe, P(fx, "sub/f"));
    assert_absent(fx->fe, P(fx, "sub2/g"));
}

static void test_rename_across_dirs(void **state)
{
    struct fx *fx = *state;
    tu_assert_ok(st_env_create_dir(fx->fe, P(fx, "d1")));
    tu_assert_ok(st_env_create_dir(fx->fe, P(fx, "d2")));
    put(fx->fe, P(fx, "d1/a"), "A", 1);
    tu_assert_ok(st_env_sync_dir(fx->fe, P(fx, "d1")));
    tu_assert_ok(st_env_rename_file(fx->fe, P(fx, "d1/a"), P(fx, "d2/b")));
    tu_assert_ok(st_env_sync_dir(fx->fe, P(fx, "d2"))); /* only one side synced */
    crash(fx);
    assert_content(fx->fe, P(fx, "d1/a"), "A");
    assert_absent(fx->fe, P(fx, "d2/b"));
    tu_assert_ok(st_env_rename_file(fx->fe, P(fx, "d1/a"), P(fx, "d2/b")));
    tu_assert_ok(st_env_sync_dir(fx->fe, P(fx, "d2")));
    tu_assert_ok(st_env_sync_dir(fx->fe, P(fx, "d1/"))); /* spelled differently */
    crash(fx);
    assert_absent(fx->fe, P(fx, "d1/a"));
    assert_content(fx->fe, P(fx, "d2/b"), "A");
}

/* ---- Randomized test against a snapshot model ---------------------------------------------- */

#define NNAMES 5
#define NWRITERS 3

struct minode {
    char *data;
    size_t len, cap, synced;
};

struct model {
    struct minode *ino;
    int nino, capino;
    int cur[NNAMES];     /* name -> inode (-1: absent) now */
    int durable[NNAMES]; /* name -> inode as of the last sync_dir */
    st_wfile *w[NWRITERS];
    int wino[NWRITERS];
};

static int model_new_inode(struct model *m)
{
    if (m->nino == m->capino) {
        m->capino = m->capino ? m->capino * 2 : 16;
        m->ino = realloc(m->ino, (size_t)m->capino * sizeof(*m->ino));
        assert_non_null(m->ino);
    }
    memset(&m->ino[m->nino], 0, sizeof(m->ino[0]));
    return m->nino++;
}

static void model_append(struct minode *ino, const char *p, size_t n)
{
    if (ino->len + n > ino->cap) {
        ino->cap = (ino->len + n) * 2;
        ino->data = realloc(ino->data, ino->cap);
        assert_non_null(ino->data);
    }
    memcpy(ino->data + ino->len, p, n);
    ino->len += n;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *mname(const struct fx *fx, int i)
{
    static char names[NNAMES][8] = {"n0", "n1", "n2", "n3", "n4"};
    return P(fx, names[i]);
}

static void model_open(struct fx *fx, struct model *m, uint64_t r)
{
    int name = (int)(r % NNAMES), slot = (int)((r >> 8) % NWRITERS);
    int ino = m->cur[name];
    for (int k = 0; k < NWRITERS; k++) { /* one writer per inode keeps offsets simple */
        if (m->w[k] && (k == slot || (ino >= 0 && m->wino[k] == ino))) {
            tu_assert_ok(st_wfile_close(m->w[k]));
            m->w[k] = NULL;
        }
    }
    tu_assert_ok(st_env_new_writable(fx->fe, mname(fx, name), &m->w[slot]));
    if (ino < 0) {
        ino = m->cur[name] = model_new_inode(m);
    }
    m->ino[ino].len = m->ino[ino].synced = 0; /* truncation is durable at once */
    m->wino[slot] = ino;
}

static void model_write(struct fx *fx, struct model *m, uint64_t r)
{
    int slot = (int)(r % NWRITERS);
    if (!m->w[slot]) {
        return;
    }
    struct minode *ino = &m->ino[m->wino[slot]];
    switch ((r >> 8) % 4) {
    case 0: {
        tu_assert_ok(st_wfile_sync(m->w[slot]));
        ino->synced = ino->len;
        break;
    }
    case 1:
        tu_assert_ok(st_wfile_close(m->w[slot]));
        m->w[slot] = NULL;
        break;
    default: {
        static char buf[70000];
        size_t n = (r >> 16) % 16 == 0 ? sizeof(buf) : (size_t)((r >> 20) % 200) + 1;
        for (size_t i = 0; i < n; i++) {
            buf[i] = (char)('a' + (r + i) % 26);
        }
        tu_assert_ok(st_wfile_append(m->w[slot], buf, n));
        model_append(ino, buf, n);
        break;
    }
    }
    (void)fx;
}

static void model_namespace(struct fx *fx, struct model *m, uint64_t r)
{
    int a = (int)(r % NNAMES), b = (int)((r >> 8) % NNAMES);
    switch ((r >> 16) % 3) {
    case 0: {
        int rc = st_env_rename_file(fx->fe, mname(fx, a), mname(fx, b));
        assert_int_equal(rc, m->cur[a] < 0 ? STRATA_E_NOTFOUND : 0);
        if (m->cur[a] >= 0 && a != b) {
            m->cur[b] = m->cur[a];
            m->cur[a] = -1;
        }
        break;
    }
    case 1: {
        int rc = st_env_remove_file(fx->fe, mname(fx, a));
        assert_int_equal(rc, m->cur[a] < 0 ? STRATA_E_NOTFOUND : 0);
        m->cur[a] = -1;
        break;
    }
    default:
        tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
        memcpy(m->durable, m->cur, sizeof(m->cur));
        break;
    }
}

/* Power loss: the durable names with their inodes cut to the synced length. */
static void model_crash(struct fx *fx, struct model *m)
{
    crash(fx);
    int hidden = 0, want = 0;
    for (int i = 0; i < NNAMES; i++) {
        if (m->durable[i] < 0) {
            assert_absent(fx->fe, mname(fx, i));
            continue;
        }
        struct minode *ino = &m->ino[m->durable[i]];
        ino->len = ino->synced;
        char *data = NULL;
        size_t len = 0;
        tu_assert_ok(st_env_read_file(fx->fe, mname(fx, i), 1u << 26, &data, &len));
        tu_assert_bytes_equal(data, len, ino->data, ino->len);
        st_free(data);
        want++;
    }
    assert_int_equal(count_entries(fx->base, fx->root, &hidden), want);
    assert_int_equal(hidden, 0);
    for (int k = 0; k < NWRITERS; k++) {
        if (m->w[k]) {
            assert_int_equal(st_wfile_close(m->w[k]), STRATA_E_IO);
            m->w[k] = NULL;
        }
    }
    memcpy(m->cur, m->durable, sizeof(m->cur));
}

static void test_random_against_model(void **state)
{
    struct fx *fx = *state;
    struct model m;
    memset(&m, 0, sizeof(m));
    for (int i = 0; i < NNAMES; i++) {
        m.cur[i] = m.durable[i] = -1;
    }
    uint64_t s = tu_seed(0xfa017) * 2654435761u + (uint64_t)fx->kind + 1;
    int steps = (int)((fx->kind == BASE_MEM ? 1500 : 500) * tu_scale()); /* fsyncs are slow */
    for (int i = 0; i < steps; i++) {
        uint64_t r = xorshift(&s);
        uint64_t pick = r % 100;
        r >>= 8;
        if (pick < 15) {
            model_open(fx, &m, r);
        } else if (pick < 62) {
            model_write(fx, &m, r);
        } else if (pick < 97) {
            model_namespace(fx, &m, r);
        } else {
            model_crash(fx, &m);
        }
    }
    model_crash(fx, &m);
    for (int i = 0; i < m.nino; i++) {
        free(m.ino[i].data);
    }
    free(m.ino);
}

/* ---- Power loss racing writer threads -------------------------------------------------------- */

struct racer {
    st_env *env;
    const char *path;
    atomic_ullong synced; /* a lower bound of the file's synced length */
};

static void racer_main(void *arg)
{
    struct racer *r = arg;
    st_wfile *w = NULL;
    char rec[100];
    if (st_env_new_writable(r->env, r->path, &w) != 0) {
        return;
    }
    for (int i = 0;; i++) {
        memset(rec, 'a' + i % 26, sizeof(rec));
        if (st_wfile_append(w, rec, sizeof(rec)) != 0) {
            break;
        }
        if (i % 5 == 4) {
            if (st_wfile_sync(w) != 0) {
                break;
            }
            atomic_store(&r->synced, (unsigned long long)(i + 1) * sizeof(rec));
        }
    }
    (void)st_wfile_close(w);
}

static void test_power_loss_races_writers(void **state)
{
    struct fx *fx = *state;
    struct racer rs[3];
    st_thread *t[3];
    char paths[3][600];
    for (int i = 0; i < 3; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/race%d", fx->root, i);
        put(fx->fe, paths[i], "", 0);
        rs[i].env = fx->fe;
        rs[i].path = paths[i];
        atomic_init(&rs[i].synced, 0);
    }
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    for (int i = 0; i < 3; i++) {
        tu_assert_ok(st_env_thread_start(fx->fe, racer_main, &rs[i], &t[i]));
    }
    st_env_sleep_micros(fx->fe, 20000);
    tu_assert_ok(st_env_fault_power_loss(fx->fe));
    for (int i = 0; i < 3; i++) {
        st_env_thread_join(fx->fe, t[i]);
    }
    st_env_fault_reset(fx->fe);
    for (int i = 0; i < 3; i++) {
        char *data = NULL;
        size_t len = 0;
        tu_assert_ok(st_env_read_file(fx->fe, paths[i], 1u << 28, &data, &len));
        assert_true(len >= atomic_load(&rs[i].synced));
        assert_int_equal(len % 500, 0); /* synced every 5 records of 100 bytes */
        for (size_t k = 0; k < len; k++) {
            if (data[k] != 'a' + (char)((k / 100) % 26)) {
                print_error("%s: bad byte at %zu\n", paths[i], k);
                fail();
            }
        }
        st_free(data);
    }
}

/* ---- Failure injection ----------------------------------------------------------------------- */

static void test_inject_nth(void **state)
{
    struct fx *fx = *state;
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(fx->fe, P(fx, "f"), &w));
    st_env_fault_fail(fx->fe, ST_FAULT_WRITE, NULL, 2, 0, STRATA_E_IO);
    tu_assert_ok(st_wfile_append(w, "a", 1));
    tu_assert_ok(st_wfile_flush(w));
    assert_int_equal(st_wfile_append(w, "b", 1), STRATA_E_IO);
    assert_non_null(strstr(st_errmsg(), "injected"));
    assert_non_null(strstr(st_errmsg(), P(fx, "f")));
    tu_assert_ok(st_wfile_append(w, "c", 1));
    assert_int_equal(st_env_fault_injected(fx->fe), 1);
    tu_assert_ok(st_wfile_close(w));
    assert_content(fx->fe, P(fx, "f"), "ac"); /* a failed append writes nothing */
}

static void test_inject_sticky_sync(void **state)
{
    struct fx *fx = *state;
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(fx->fe, P(fx, "f"), &w));
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    st_env_fault_fail(fx->fe, ST_FAULT_SYNC, NULL, 1, 1, STRATA_E_IO);
    tu_assert_ok(st_wfile_append(w, "abc", 3));
    tu_assert_ok(st_wfile_sync(w));
    tu_assert_ok(st_wfile_append(w, "def", 3));
    assert_int_equal(st_wfile_sync(w), STRATA_E_IO);
    assert_int_equal(st_wfile_sync(w), STRATA_E_IO);
    assert_int_equal(st_env_fault_injected(fx->fe), 2);
    st_env_fault_clear(fx->fe);
    tu_assert_ok(st_wfile_close(w));
    crash(fx);
    assert_content(fx->fe, P(fx, "f"), "abc"); /* the failed sync made nothing durable */
}

static void test_inject_path_filter_nospc(void **state)
{
    struct fx *fx = *state;
    st_wfile *w = NULL;
    st_env_fault_fail(fx->fe, ST_FAULT_CREATE | ST_FAULT_WRITE, "MANIFEST", 0, 1,
                      STRATA_E_NOSPC);
    put(fx->fe, P(fx, "000001.log"), "log", 0);
    assert_int_equal(st_env_new_writable(fx->fe, P(fx, "MANIFEST-000002"), &w), STRATA_E_NOSPC);
    assert_null(w);
    assert_absent(fx->fe, P(fx, "MANIFEST-000002"));
    assert_int_equal(st_env_write_file(fx->fe, P(fx, "MANIFEST-000003"), st_slice_cstr("x"), 0),
                     STRATA_E_NOSPC);
    st_env_fault_clear(fx->fe);
    put(fx->fe, P(fx, "MANIFEST-000002"), "m", 0);
    assert_int_equal(st_env_fault_injected(fx->fe), 2);
}

static void test_inject_each_kind(void **state)
{
    struct fx *fx = *state;
    put(fx->fe, P(fx, "a"), "data", 1);
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));
    st_env_fault_fail(fx->fe, ST_FAULT_RENAME, NULL, 0, 0, STRATA_E_IO);
    assert_int_equal(st_env_rename_file(fx->fe, P(fx, "a"), P(fx, "b")), STRATA_E_IO);
    assert_content(fx->fe, P(fx, "a"), "data");
    assert_absent(fx->fe, P(fx, "b"));
    st_env_fault_fail(fx->fe, ST_FAULT_REMOVE, NULL, 0, 0, STRATA_E_IO);
    assert_int_equal(st_env_remove_file(fx->fe, P(fx, "a")), STRATA_E_IO);
    assert_content(fx->fe, P(fx, "a"), "data");
    st_env_fault_fail(fx->fe, ST_FAULT_SYNC_DIR, NULL, 0, 0, STRATA_E_IO);
    tu_assert_ok(st_env_rename_file(fx->fe, P(fx, "a"), P(fx, "b")));
    assert_int_equal(st_env_sync_dir(fx->fe, fx->root), STRATA_E_IO);
    st_rfile *r = NULL;
    st_sfile *s = NULL;
    char scratch[8];
    st_slice got;
    st_env_fault_fail(fx->fe, ST_FAULT_READ, NULL, 0, 0, STRATA_E_IO);
    assert_int_equal(st_env_new_random(fx->fe, P(fx, "b"), &r), STRATA_E_IO);
    assert_null(r);
    st_env_fault_fail(fx->fe, ST_FAULT_READ, NULL, 1, 0, STRATA_E_CORRUPTION);
    tu_assert_ok(st_env_new_random(fx->fe, P(fx, "b"), &r));
    assert_int_equal(st_rfile_read(r, 0, 4, scratch, &got), STRATA_E_CORRUPTION);
    st_env_fault_fail(fx->fe, ST_FAULT_READ, NULL, 1, 0, STRATA_E_IO);
    tu_assert_ok(st_env_new_sequential(fx->fe, P(fx, "b"), &s));
    assert_int_equal(st_sfile_read(s, 4, scratch, &got), STRATA_E_IO);
    assert_int_equal(got.size, 0);
    tu_assert_ok(st_sfile_read(s, 4, scratch, &got));
    st_rfile_close(r);
    st_sfile_close(s);
    assert_int_equal(st_env_fault_injected(fx->fe), 6);
    crash(fx); /* the failed sync_dir made nothing durable: the rename is undone */
    assert_content(fx->fe, P(fx, "a"), "data");
    assert_absent(fx->fe, P(fx, "b"));
}

static void test_counters(void **state)
{
    struct fx *fx = *state;
    st_wfile *w = NULL;
    st_rfile *r = NULL;
    char scratch[4];
    st_slice got;
    tu_assert_ok(st_env_new_writable(fx->fe, P(fx, "f"), &w)); /* create 1 */
    tu_assert_ok(st_wfile_append(w, "ab", 2));                 /* write 1 */
    tu_assert_ok(st_wfile_flush(w));                           /* write 2 */
    tu_assert_ok(st_wfile_sync(w));                            /* sync 1 */
    tu_assert_ok(st_wfile_close(w));
    tu_assert_ok(st_env_sync_dir(fx->fe, fx->root));                   /* sync_dir 1 */
    tu_assert_ok(st_env_new_random(fx->fe, P(fx, "f"), &r));           /* read 1 */
    tu_assert_ok(st_rfile_read(r, 0, 2, scratch, &got));               /* read 2 */
    st_rfile_close(r);
    tu_assert_ok(st_env_rename_file(fx->fe, P(fx, "f"), P(fx, "g"))); /* rename 1 */
    tu_assert_ok(st_env_remove_file(fx->fe, P(fx, "g")));             /* remove 1 */
    assert_int_equal(st_env_remove_file(fx->fe, P(fx, "g")), STRATA_E_NOTFOUND); /* remove 2 */
    assert_int_equal(st_env_fault_count(fx->fe, ST_FAULT_CREATE), 1);
    assert_int_equal(st_env_fault_count(fx->fe, ST_FAULT_WRITE), 2);
    assert_int_equal(st_env_fault_count(fx->fe, ST_FAULT_SYNC), 1);
    assert_int_equal(st_env_fault_count(fx->fe, ST_FAULT_SYNC_DIR), 1);
    assert_int_equal(st_env_fault_count(fx->fe, ST_FAULT_READ), 2);
    assert_int_equal(st_env_fault_count(fx->fe, ST_FAULT_RENAME), 1);
    assert_int_equal(st_env_fault_count(fx->fe, ST_FAULT_REMOVE), 2);
    assert_int_equal(st_env_fault_count(fx->fe, ST_FAULT_ALL), 0); /* not one kind */
    assert_int_equal(st_env_fault_count(fx->fe, 0), 0);
    assert_int_equal(st_env_fault_injected(fx->fe), 0);
}

/* Allocation failures inside the fault env are reported as NOMEM and leave it consistent. */
static void test_oom(void **state)
{
    struct fx *fx = *state;
    int done = 0;
    for (long i = 0; !done && i < 2000; i++) {
        st_alloc_fail_after(i, 0);
        int rc = st_env_write_file(fx->fe, P(fx, "o"), st_slice_cstr("data"), 0);
        if (rc == 0) {
            rc = st_env_rename_file(fx->fe, P(fx, "o"), P(fx, "o2"));
        }
        if (rc == 0) {
            rc = st_env_remove_file(fx->fe, P(fx, "o2"));
        }
        st_alloc_fail_after(-1, 0);
        if (rc) {
            assert_int_equal(rc, STRATA_E_NOMEM);
        }
        done = rc == 0;
    }
    assert_true(done);
    st_alloc_fail_after(0, 0);
    assert_null(st_env_fault_create(fx->base));
    st_alloc_fail_after(-1, 0);
    crash(fx);
    assert_no_hidden(fx);
}

#define BOTH(f)                                                                                \
    cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&base_mem),           \
        cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&base_posix)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_synced_kept_unsynced_dropped),
        BOTH(test_create_needs_dir_sync),
        BOTH(test_rename_reverted),
        BOTH(test_rename_durable_after_dir_sync),
        BOTH(test_remove_undone),
        BOTH(test_remove_with_open_writer),
        BOTH(test_preexisting_files_durable),
        BOTH(test_buffered_bytes_do_not_reappear),
        BOTH(test_dead_handles_and_down_env),
        BOTH(test_remove_dir_with_retained_files),
        BOTH(test_rename_across_dirs),
        BOTH(test_random_against_model),
        BOTH(test_power_loss_races_writers),
        BOTH(test_inject_nth),
        BOTH(test_inject_sticky_sync),
        BOTH(test_inject_path_filter_nospc),
        BOTH(test_inject_each_kind),
        BOTH(test_counters),
        BOTH(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
