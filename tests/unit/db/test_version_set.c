/* test_version_set.c — versions, the MANIFEST and compaction picking, on st_env_mem with real
 * tables where data is read (fake file metadata where only sizes and ranges matter):
 *  - log_and_apply + recover round trip (files, counters, compaction pointers), MANIFEST
 *    rollover, a torn MANIFEST tail, mid-log corruption, CURRENT missing / malformed / naming a
 *    missing MANIFEST, missing required fields, comparator mismatch, too many levels;
 *  - the version builder: overlapping L1 files and duplicate file numbers rejected (from an edit
 *    and from a MANIFEST), L0 newest-first order;
 *  - a failed MANIFEST switch (rename of CURRENT fails) removes the new file and keeps the old;
 *    a failed append makes the next edit start a fresh MANIFEST; out-of-memory at every
 *    allocation of log_and_apply and of recover; concurrent log_and_apply;
 *  - reads: get across L0 and levels with shadowing, deletions, snapshots and a user key split
 *    between two L1 files; iterators over a version; approximate offsets; live files;
 *  - picking: L0 trigger, size scores with round-robin pointers, clean cuts, trivial moves,
 *    being_compacted exclusion, running-range conflicts, manual compact_range (busy, empty, last
 *    level), is_base_level_for_key, should_stop_before, dynamic level targets for several shapes,
 *    pending compaction bytes. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "db/merge_iter.h"
#include "db/version_set.h"
#include "env/env_fault.h"
#include "table_fixture.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

#define DB "/db"

typedef struct fx {
    st_env *env;
    st_table_cache *tc;
    st_vset *vs;
    st_mutex mu;
    st_vset_options o;
} fx;

static st_vset_options default_opts(st_env *env)
{
    st_vset_options o;
    memset(&o, 0, sizeof(o));
    o.env = env;
    o.dbname = DB;
    o.ucmp = st_comparator_bytewise();
    o.num_levels = 4;
    o.max_bytes_for_level_base = 1000;
    o.level_multiplier = 10;
    o.dynamic_level_bytes = 0;
    o.target_file_size = 100;
    o.l0_compaction_trigger = 4;
    return o;
}

/* Opens a version set (not recovered) over env. */
static void fx_open(fx *f, st_env *env, const st_vset_options *o)
{
    memset(f, 0, sizeof(*f));
    f->env = env;
    f->o = *o;
    f->o.env = env;
    st_mutex_init(&f->mu);
    st_table_read_options topts = {f->o.ucmp, NULL, NULL, NULL, 0, 0, NULL, 0};
    tu_assert_ok(st_table_cache_create(env, DB, &topts, 100, &f->tc));
    tu_assert_ok(st_vset_create(&f->o, f->tc, NULL, &f->vs));
}

static void fx_close(fx *f)
{
    st_vset_destroy(f->vs);
    st_table_cache_destroy(f->tc);
    st_mutex_destroy(&f->mu);
    f->vs = NULL;
}

static int fx_apply(fx *f, st_version_edit *e)
{
    st_mutex_lock(&f->mu);
    int rc = st_vset_log_and_apply(f->vs, e, &f->mu);
    st_mutex_unlock(&f->mu);
    return rc;
}

/* A fresh DB: empty env, directory, first MANIFEST. */
static void fx_new_db(fx *f, const st_vset_options *o)
{
    st_env *env = st_env_mem_create();
    tu_assert_ok(st_env_create_dir(env, DB));
    fx_open(f, env, o);
    assert_int_equal(st_vset_recover(f->vs), STRATA_E_NOTFOUND);
    st_version_edit e;
    st_version_edit_init(&e);
    tu_assert_ok(fx_apply(f, &e));
    st_version_edit_clear(&e);
}

static void fx_free(fx *f)
{
    st_env *env = f->env;
    fx_close(f);
    env->ops->destroy(env);
}

/* Closes and reopens the version set over the same env, recovering. */
static int fx_reopen(fx *f)
{
    st_env *env = f->env;
    st_vset_options o = f->o;
    fx_close(f);
    fx_open(f, env, &o);
    return st_vset_recover(f->vs);
}

/* Adds meta (reference taken by the edit) at level. */
static int add_file(fx *f, int level, st_file_meta *meta)
{
    st_version_edit e;
    st_version_edit_init(&e);
    tu_assert_ok(st_version_edit_add_file(&e, level, meta));
    st_file_meta_unref(meta);
    int rc = fx_apply(f, &e);
    st_version_edit_clear(&e);
    return rc;
}

static void add_fake(fx *f, int level, uint64_t number, uint64_t size, const char *lo,
                     const char *hi)
{
    tu_assert_ok(add_file(f, level, tf_fake(number, size, lo, number * 10 + 1, hi, number * 10)));
}

/* "L0: 5 4 | L1: 6 7 | ..." of the current version, with key ranges. */
static void describe(fx *f, char *out, size_t cap)
{
    st_mutex_lock(&f->mu);
    st_version *v = st_vset_current(f->vs);
    size_t len = 0;
    out[0] = '\0';
    for (int level = 0; level < v->num_levels; level++) {
        len += (size_t)snprintf(out + len, cap - len, "L%d:", level);
        for (int i = 0; i < v->nfiles[level]; i++) {
            const st_file_meta *m = v->files[level][i];
            len += (size_t)snprintf(out + len, cap - len, " %llu[%.*s..%.*s]%llu",
                                    (unsigned long long)m->number, (int)m->smallest_len - 8,
                                    m->smallest, (int)m->largest_len - 8, m->largest,
                                    (unsigned long long)m->file_size);
        }
        len += (size_t)snprintf(out + len, cap - len, " | ");
    }
    st_version_unref(v);
    st_mutex_unlock(&f->mu);
}

static int nfiles(fx *f, int level)
{
    st_mutex_lock(&f->mu);
    st_version *v = st_vset_current(f->vs);
    int n = v->nfiles[level];
    st_version_unref(v);
    st_mutex_unlock(&f->mu);
    return n;
}

static st_buf ikey_of(const char *ukey, uint64_t seq, int type)
{
    st_buf b = ST_BUF_INIT;
    st_ikey_append(&b, st_slice_cstr(ukey), seq, type);
    return b;
}

/* Collects the debug strings of every edit in MANIFEST-number. */
static void dump_manifest(st_env *env, uint64_t number, st_buf *out)
{
    char *fname = st_filename(DB, ST_FILE_MANIFEST, number);
    st_sfile *sf;
    tu_assert_ok(st_env_new_sequential(env, fname, &sf));
    st_log_reader *r;
    tu_assert_ok(st_log_reader_create(sf, fname, 0, &r));
    st_slice rec;
    uint64_t off;
    int got;
    while ((got = st_log_reader_read(r, &rec, &off)) > 0) {
        st_version_edit e;
        st_version_edit_init(&e);
        tu_assert_ok(st_version_edit_decode(&e, rec));
        tu_assert_ok(st_version_edit_debug_string(&e, out));
        st_buf_append(out, "--\n", 3);
        st_version_edit_clear(&e);
    }
    assert_int_equal(got, 0);
    st_buf_put_u8(out, 0);
    st_log_reader_close(r);
    st_free(fname);
}

/* ---- MANIFEST round trips -------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    uint64_t m1 = st_vset_manifest_number(f.vs);
    assert_true(m1 > 0);
    assert_true(st_env_exists(f.env, DB "/CURRENT"));
    st_mutex_lock(&f.mu);
    st_vset_set_last_sequence(f.vs, 100);
    st_mutex_unlock(&f.mu);

    st_version_edit e;
    st_version_edit_init(&e);
    st_version_edit_set_log_number(&e, 3);
    tu_assert_ok(st_version_edit_add_file(&e, 0, tf_fake(5, 50, "a", 51, "z", 50)));
    tu_assert_ok(st_version_edit_add_file(&e, 1, tf_fake(6, 60, "a", 61, "c", 60)));
    tu_assert_ok(st_version_edit_add_file(&e, 1, tf_fake(7, 70, "d", 71, "f", 70)));
    tu_assert_ok(st_version_edit_add_file(&e, 3, tf_fake(8, 80, "b", 81, "x", 80)));
    for (int i = 0; i < e.n_new; i++) {
        st_file_meta_unref(e.new_files[i].meta); /* tf_fake's reference; the edit keeps one */
    }
    tu_assert_ok(fx_apply(&f, &e));
    st_version_edit_clear(&e);
    st_version_edit_init(&e);
    tu_assert_ok(st_version_edit_delete_file(&e, 1, 6));
    st_file_meta *m9 = tf_fake(9, 90, "g", 91, "h", 90);
    m9->num_entries = 1234;
    m9->num_deletions = 5;
    tu_assert_ok(st_version_edit_add_file(&e, 2, m9));
    st_file_meta_unref(m9);
    st_buf p = ikey_of("pointer", 7, ST_TYPE_VALUE);
    tu_assert_ok(st_version_edit_set_pointer(&e, 2, st_buf_slice(&p)));
    tu_assert_ok(fx_apply(&f, &e));
    st_version_edit_clear(&e);
    assert_int_equal(st_vset_manifest_number(f.vs), m1); /* appended, no switch */
    assert_true(st_vset_next_file_number(f.vs) >= 10);   /* added numbers are marked used */

    char before[1024], after[1024];
    describe(&f, before, sizeof(before));
    uint64_t next_before = st_vset_next_file_number(f.vs);
    tu_assert_ok(fx_reopen(&f));
    describe(&f, after, sizeof(after));
    assert_string_equal(before, after);
    assert_true(st_vset_last_sequence(f.vs) == 100);
    assert_true(st_vset_log_number(f.vs) == 3);
    assert_true(st_vset_next_file_number(f.vs) >= next_before);
    assert_true(st_vset_manifest_number(f.vs) == m1);
    st_mutex_lock(&f.mu);
    st_version *v = st_vset_current(f.vs);
    assert_true(v->files[2][0]->num_entries == 1234);
    assert_true(v->files[2][0]->num_deletions == 5);
    assert_true(v->files[2][0]->smallest_seq == 90 && v->files[2][0]->largest_seq == 91);
    st_version_unref(v);
    st_mutex_unlock(&f.mu);

    /* The first edit after recovery starts a new MANIFEST whose snapshot holds everything,
     * including the compaction pointer. */
    st_version_edit_init(&e);
    tu_assert_ok(fx_apply(&f, &e));
    st_version_edit_clear(&e);
    uint64_t m2 = st_vset_manifest_number(f.vs);
    assert_true(m2 > m1);
    st_buf dump = ST_BUF_INIT;
    dump_manifest(f.env, m2, &dump);
    assert_non_null(strstr(dump.data, "comparator: leveldb.BytewiseComparator"));
    assert_non_null(strstr(dump.data, "compact_pointer: L2 pointer@7:1"));
    assert_non_null(strstr(dump.data, "add_file: L2 #9"));
    assert_non_null(strstr(dump.data, "add_file: L0 #5"));
    assert_null(strstr(dump.data, "#6 "));
    st_buf_free(&dump);
    tu_assert_ok(fx_reopen(&f));
    describe(&f, after, sizeof(after));
    assert_string_equal(before, after);
    assert_true(st_vset_manifest_number(f.vs) == m2);
    st_buf_free(&p);
    fx_free(&f);
}

static void test_rollover(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    o.max_manifest_size = 400;
    fx f;
    fx_new_db(&f, &o);
    uint64_t first = st_vset_manifest_number(f.vs);
    int switches = 0;
    for (int i = 0; i < 40; i++) {
        uint64_t before = st_vset_manifest_number(f.vs);
        char lo[8];
        snprintf(lo, sizeof(lo), "k%02d", i);
        add_fake(&f, 0, (uint64_t)(100 + i), 10, lo, lo);
        switches += st_vset_manifest_number(f.vs) != before;
    }
    assert_true(switches >= 2);
    assert_true(st_vset_manifest_number(f.vs) > first);
    char before[4096], after[4096];
    describe(&f, before, sizeof(before));
    tu_assert_ok(fx_reopen(&f));
    describe(&f, after, sizeof(after));
    assert_string_equal(before, after);
    assert_int_equal(nfiles(&f, 0), 40);
    fx_free(&f);
}

/* Rewrites path keeping only its first len bytes (or appending extra). */
static void rewrite(st_env *env, const char *path, long delta, const char *extra, size_t elen)
{
    char *data;
    size_t len;
    tu_assert_ok(st_env_read_file(env, path, 1 << 20, &data, &len));
    st_buf b = ST_BUF_INIT;
    st_buf_append(&b, data, (size_t)((long)len + (delta < 0 ? delta : 0)));
    if (extra) {
        st_buf_append(&b, extra, elen);
    }
    tu_assert_ok(st_env_write_file(env, path, st_buf_slice(&b), 1));
    st_buf_free(&b);
    st_free(data);
}

static void test_torn_tail(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 100, "a", "b");
    add_fake(&f, 1, 11, 100, "c", "d");
    char two[1024], three[1024], got[1024];
    describe(&f, two, sizeof(two));
    add_fake(&f, 1, 12, 100, "e", "f");
    describe(&f, three, sizeof(three));
    char *mf = st_filename(DB, ST_FILE_MANIFEST, st_vset_manifest_number(f.vs));
    fx_close(&f);

    /* Zero padding after the last record (preallocation) is not data. */
    char zeros[100] = {0};
    rewrite(f.env, mf, 0, zeros, sizeof(zeros));
    fx_open(&f, f.env, &o);
    tu_assert_ok(st_vset_recover(f.vs));
    describe(&f, got, sizeof(got));
    assert_string_equal(got, three);
    fx_close(&f);

    /* Cut into the last record: it is dropped, the rest recovers. */
    rewrite(f.env, mf, -100 - 5, NULL, 0);
    fx_open(&f, f.env, &o);
    tu_assert_ok(st_vset_recover(f.vs));
    describe(&f, got, sizeof(got));
    assert_string_equal(got, two);
    fx_close(&f);

    /* Damage in the first record, with valid records after it: corruption, naming the file. */
    char *data;
    size_t len;
    tu_assert_ok(st_env_read_file(f.env, mf, 1 << 20, &data, &len));
    data[10] ^= 0x40;
    tu_assert_ok(st_env_write_file(f.env, mf, st_slice_make(data, len), 1));
    st_free(data);
    fx_open(&f, f.env, &o);
    assert_int_equal(st_vset_recover(f.vs), STRATA_E_CORRUPTION);
    assert_non_null(strstr(tu_errmsg(), "MANIFEST-"));
    st_free(mf);
    fx_free(&f);
}

static void expect_recover(fx *f, const char *current, size_t len, int code, const char *msg)
{
    tu_assert_ok(st_env_write_file(f->env, DB "/CURRENT", st_slice_make(current, len), 1));
    st_vset_options o = f->o;
    fx_close(f);
    fx_open(f, f->env, &o);
    int rc = st_vset_recover(f->vs);
    if (rc != code || !strstr(tu_errmsg(), msg)) {
        print_error("CURRENT \"%.*s\": got %d (%s), want %d with \"%s\"\n", (int)len, current, rc,
                    tu_errmsg(), code, msg);
        fail();
    }
}

static void test_current_errors(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    char good[64];
    int glen = snprintf(good, sizeof(good), "MANIFEST-%06llu\n",
                        (unsigned long long)st_vset_manifest_number(f.vs));
    expect_recover(&f, good, (size_t)glen, 0, "");
    expect_recover(&f, "MANIFEST-000099\n", 16, STRATA_E_CORRUPTION, "does not exist");
    expect_recover(&f, good, (size_t)glen - 1, STRATA_E_CORRUPTION, "CURRENT file is malformed");
    expect_recover(&f, "", 0, STRATA_E_CORRUPTION, "CURRENT file is malformed");
    expect_recover(&f, "\n", 1, STRATA_E_CORRUPTION, "CURRENT file is malformed");
    expect_recover(&f, "garbage\n", 8, STRATA_E_CORRUPTION, "CURRENT file is malformed");
    expect_recover(&f, "000001.log\n", 11, STRATA_E_CORRUPTION, "CURRENT file is malformed");
    expect_recover(&f, "MANIFEST-1\nMANIFEST-2\n", 22, STRATA_E_CORRUPTION, "malformed");
    expect_recover(&f, "MANIFEST-1\0\n", 12, STRATA_E_CORRUPTION, "malformed");
    char big[8192];
    memset(big, 'M', sizeof(big));
    expect_recover(&f, big, sizeof(big), STRATA_E_CORRUPTION, "malformed");
    tu_assert_ok(st_env_remove_file(f.env, DB "/CURRENT"));
    fx_close(&f);
    fx_open(&f, f.env, &o);
    assert_int_equal(st_vset_recover(f.vs), STRATA_E_NOTFOUND);
    fx_free(&f);
}

/* Writes MANIFEST-000050 holding the given encoded edits and points CURRENT at it. */
static void write_manifest(st_env *env, st_version_edit *edits, int n)
{
    st_wfile *wf;
    tu_assert_ok(st_env_new_writable(env, DB "/MANIFEST-000050", &wf));
    st_log_writer *w;
    tu_assert_ok(st_log_writer_create(wf, 0, &w));
    for (int i = 0; i < n; i++) {
        st_buf b = ST_BUF_INIT;
        tu_assert_ok(st_version_edit_encode(&edits[i], &b));
        tu_assert_ok(st_log_writer_add(w, st_buf_slice(&b)));
        st_buf_free(&b);
    }
    tu_assert_ok(st_log_writer_sync(w));
    tu_assert_ok(st_log_writer_close(w));
    tu_assert_ok(st_set_current_file(env, DB, 50));
}

static int recover_crafted(st_version_edit *edits, int n, const st_vset_options *o)
{
    st_env *env = st_env_mem_create();
    tu_assert_ok(st_env_create_dir(env, DB));
    write_manifest(env, edits, n);
    fx f;
    fx_open(&f, env, o);
    int rc = st_vset_recover(f.vs);
    fx_free(&f);
    for (int i = 0; i < n; i++) {
        st_version_edit_clear(&edits[i]);
    }
    return rc;
}

static void base_edit(st_version_edit *e, int with_log, int with_next, int with_seq)
{
    st_version_edit_init(e);
    st_version_edit_set_comparator(e, st_comparator_name(st_comparator_bytewise()));
    if (with_log) {
        st_version_edit_set_log_number(e, 4);
    }
    if (with_next) {
        st_version_edit_set_next_file(e, 60);
    }
    if (with_seq) {
        st_version_edit_set_last_seq(e, 9);
    }
}

static void add_to_edit(st_version_edit *e, int level, st_file_meta *m)
{
    tu_assert_ok(st_version_edit_add_file(e, level, m));
    st_file_meta_unref(m);
}

static void test_crafted_manifests(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    st_version_edit e[2];
    base_edit(&e[0], 1, 1, 1);
    assert_int_equal(recover_crafted(e, 1, &o), 0);
    base_edit(&e[0], 0, 1, 1);
    assert_int_equal(recover_crafted(e, 1, &o), STRATA_E_CORRUPTION);
    assert_non_null(strstr(tu_errmsg(), "no log number"));
    base_edit(&e[0], 1, 0, 1);
    assert_int_equal(recover_crafted(e, 1, &o), STRATA_E_CORRUPTION);
    assert_non_null(strstr(tu_errmsg(), "no next file number"));
    base_edit(&e[0], 1, 1, 0);
    assert_int_equal(recover_crafted(e, 1, &o), STRATA_E_CORRUPTION);
    assert_non_null(strstr(tu_errmsg(), "no last sequence"));
    /* Fields may come from different records. */
    base_edit(&e[0], 1, 0, 0);
    base_edit(&e[1], 0, 1, 1);
    assert_int_equal(recover_crafted(e, 2, &o), 0);
    /* Overlapping files in L1. */
    base_edit(&e[0], 1, 1, 1);
    add_to_edit(&e[0], 1, tf_fake(10, 1, "a", 1, "m", 1));
    add_to_edit(&e[0], 1, tf_fake(11, 1, "k", 1, "z", 1));
    assert_int_equal(recover_crafted(e, 1, &o), STRATA_E_CORRUPTION);
    assert_non_null(strstr(tu_errmsg(), "overlap"));
    assert_non_null(strstr(tu_errmsg(), "MANIFEST-000050"));
    /* The same file in two levels. */
    base_edit(&e[0], 1, 1, 1);
    add_to_edit(&e[0], 1, tf_fake(10, 1, "a", 1, "b", 1));
    add_to_edit(&e[0], 2, tf_fake(10, 1, "a", 1, "b", 1));
    assert_int_equal(recover_crafted(e, 1, &o), STRATA_E_CORRUPTION);
    assert_non_null(strstr(tu_errmsg(), "listed twice"));
    /* A file whose smallest key is larger than its largest. */
    base_edit(&e[0], 1, 1, 1);
    add_to_edit(&e[0], 2, tf_fake(10, 1, "z", 1, "a", 1));
    assert_int_equal(recover_crafted(e, 1, &o), STRATA_E_CORRUPTION);
    /* A level past num_levels: the options do not fit this DB. */
    base_edit(&e[0], 1, 1, 1);
    add_to_edit(&e[0], 6, tf_fake(10, 1, "a", 1, "b", 1));
    assert_int_equal(recover_crafted(e, 1, &o), STRATA_E_INVALID);
    /* Comparator mismatch. */
    base_edit(&e[0], 1, 1, 1);
    st_version_edit_set_comparator(&e[0], "other.Comparator");
    assert_int_equal(recover_crafted(e, 1, &o), STRATA_E_INVALID);
    assert_non_null(strstr(tu_errmsg(), "comparator mismatch: db uses other.Comparator, options "
                                        "give leveldb.BytewiseComparator"));
    /* A record that is not an edit. */
    base_edit(&e[0], 1, 1, 1);
    add_to_edit(&e[0], 2, tf_fake(10, 1, "a", 1, "b", 1));
    st_env *env = st_env_mem_create();
    tu_assert_ok(st_env_create_dir(env, DB));
    write_manifest(env, e, 1);
    st_version_edit_clear(&e[0]);
    st_wfile *wf; /* replace it with one record that is not an edit (tag 99) */
    tu_assert_ok(st_env_new_writable(env, DB "/MANIFEST-000050", &wf));
    st_log_writer *w;
    tu_assert_ok(st_log_writer_create(wf, 0, &w));
    tu_assert_ok(st_log_writer_add(w, st_slice_make("\x63garbage", 8)));
    tu_assert_ok(st_log_writer_close(w));
    fx f;
    fx_open(&f, env, &o);
    assert_int_equal(st_vset_recover(f.vs), STRATA_E_CORRUPTION);
    assert_non_null(strstr(tu_errmsg(), "MANIFEST-000050: record at offset 0"));
    fx_free(&f);
}

static int rev_compare(void *state, const char *a, size_t alen, const char *b, size_t blen)
{
    (void)state;
    return -st_slice_cmp(st_slice_make(a, alen), st_slice_make(b, blen));
}
static const char *rev_name(void *state)
{
    (void)state;
    return "test.Reverse";
}

static void test_comparator_mismatch(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 100, "a", "b");
    st_env *env = f.env;
    fx_close(&f);
    static const st_comparator rev = {rev_compare, rev_name, NULL, NULL, 0};
    o.ucmp = &rev;
    fx_open(&f, env, &o);
    assert_int_equal(st_vset_recover(f.vs), STRATA_E_INVALID);
    assert_non_null(strstr(tu_errmsg(), "comparator mismatch: db uses "
                                        "leveldb.BytewiseComparator, options give test.Reverse"));
    fx_free(&f);
}

/* ---- The builder through log_and_apply ------------------------------------------------------- */

static void test_edit_rejected(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 100, "a", "m");
    char before[1024], after[1024];
    describe(&f, before, sizeof(before));
    assert_int_equal(add_file(&f, 1, tf_fake(11, 100, "k", 5, "z", 5)), STRATA_E_CORRUPTION);
    assert_non_null(strstr(tu_errmsg(), "overlap"));
    describe(&f, after, sizeof(after));
    assert_string_equal(before, after);
    /* A neighbour sharing only the boundary user key, with older entries, is fine. */
    tu_assert_ok(add_file(&f, 1, tf_fake(12, 100, "m", 50, "p", 50)));
    /* Adding an existing file again elsewhere (a move that forgot its delete). */
    assert_int_equal(add_file(&f, 2, tf_fake(10, 100, "a", 1, "m", 1)), STRATA_E_CORRUPTION);
    /* A proper move. */
    st_version_edit e;
    st_version_edit_init(&e);
    st_version_edit_delete_file(&e, 1, 10);
    add_to_edit(&e, 2, tf_fake(10, 100, "a", 1, "m", 1));
    tu_assert_ok(fx_apply(&f, &e));
    st_version_edit_clear(&e);
    assert_int_equal(nfiles(&f, 1), 1);
    assert_int_equal(nfiles(&f, 2), 1);
    describe(&f, before, sizeof(before));
    tu_assert_ok(fx_reopen(&f));
    describe(&f, after, sizeof(after));
    assert_string_equal(before, after);
    fx_free(&f);
}

static void test_l0_order(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    /* largest_seq decides; equal seqs fall back to the file number. */
    tu_assert_ok(add_file(&f, 0, tf_fake(20, 1, "a", 5, "b", 40)));
    tu_assert_ok(add_file(&f, 0, tf_fake(21, 1, "a", 5, "b", 10)));
    tu_assert_ok(add_file(&f, 0, tf_fake(22, 1, "a", 5, "b", 70)));
    tu_assert_ok(add_file(&f, 0, tf_fake(23, 1, "a", 5, "b", 40)));
    st_mutex_lock(&f.mu);
    st_version *v = st_vset_current(f.vs);
    const uint64_t want[] = {22, 23, 20, 21};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(v->files[0][i]->number, want[i]);
    }
    st_version_unref(v);
    st_mutex_unlock(&f.mu);
    fx_free(&f);
}

/* ---- Failure handling ------------------------------------------------------------------------ */

static int count_manifests(st_env *env)
{
    char **names;
    int n, cnt = 0;
    tu_assert_ok(st_env_list_dir(env, DB, &names, &n));
    for (int i = 0; i < n; i++) {
        cnt += strncmp(names[i], "MANIFEST-", 9) == 0;
    }
    st_env_free_names(names, n);
    return cnt;
}

static void test_switch_failure(void **state)
{
    (void)state;
    st_env *mem = st_env_mem_create();
    st_env *env = st_env_fault_create(mem);
    tu_assert_ok(st_env_create_dir(env, DB));
    st_vset_options o = default_opts(env);
    fx f;
    fx_open(&f, env, &o);
    assert_int_equal(st_vset_recover(f.vs), STRATA_E_NOTFOUND);
    add_fake(&f, 1, 10, 100, "a", "b");
    tu_assert_ok(fx_reopen(&f));
    uint64_t m1 = st_vset_manifest_number(f.vs);
    assert_int_equal(count_manifests(env), 1);

    /* The switch to a new MANIFEST fails at the rename of CURRENT. */
    st_env_fault_fail(env, ST_FAULT_RENAME, "CURRENT", 0, 0, STRATA_E_IO);
    assert_int_equal(add_file(&f, 1, tf_fake(11, 100, "c", 1, "d", 1)), STRATA_E_IO);
    st_env_fault_clear(env);
    assert_int_equal(count_manifests(env), 1); /* the new one was removed */
    assert_true(st_vset_manifest_number(f.vs) == m1);
    assert_int_equal(nfiles(&f, 1), 1);
    /* The fsync of the new MANIFEST fails. */
    st_env_fault_fail(env, ST_FAULT_SYNC, "MANIFEST", 0, 0, STRATA_E_IO);
    assert_int_equal(add_file(&f, 1, tf_fake(11, 100, "c", 1, "d", 1)), STRATA_E_IO);
    st_env_fault_clear(env);
    assert_int_equal(count_manifests(env), 1);
    /* The next attempt succeeds. */
    tu_assert_ok(add_file(&f, 1, tf_fake(11, 100, "c", 1, "d", 1)));
    uint64_t m2 = st_vset_manifest_number(f.vs);
    assert_true(m2 > m1);

    /* An append to the open MANIFEST fails: not installed, and the next edit starts afresh. */
    st_env_fault_fail(env, ST_FAULT_SYNC, "MANIFEST", 0, 0, STRATA_E_IO);
    assert_int_equal(add_file(&f, 1, tf_fake(12, 100, "e", 1, "f", 1)), STRATA_E_IO);
    st_env_fault_clear(env);
    assert_int_equal(nfiles(&f, 1), 2);
    tu_assert_ok(add_file(&f, 2, tf_fake(13, 100, "e", 1, "f", 1)));
    assert_true(st_vset_manifest_number(f.vs) > m2);
    char before[1024], after[1024];
    describe(&f, before, sizeof(before));
    assert_null(strstr(before, " 12["));
    tu_assert_ok(fx_reopen(&f));
    describe(&f, after, sizeof(after));
    assert_string_equal(before, after);
    fx_close(&f);
    st_env_fault_destroy(env);
    mem->ops->destroy(mem);
}

static void test_log_and_apply_oom(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 100, "a", "b");
    tu_assert_ok(fx_reopen(&f)); /* so the next edit also writes a new MANIFEST */
    int done = 0;
    for (long n = 0; n < 400 && !done; n++) {
        st_version_edit e;
        st_version_edit_init(&e);
        add_to_edit(&e, 1, tf_fake(11, 100, "c", 1, "d", 1));
        st_alloc_fail_after(n, 0);
        int rc = fx_apply(&f, &e);
        st_alloc_fail_after(-1, 0);
        st_version_edit_clear(&e);
        if (rc != 0 && rc != STRATA_E_NOMEM) {
            print_error("attempt %ld: %d %s\n", n, rc, tu_errmsg());
            fail();
        }
        assert_int_equal(nfiles(&f, 1), rc == 0 ? 2 : 1);
        done = rc == 0;
    }
    assert_true(done);
    char before[1024], after[1024];
    describe(&f, before, sizeof(before));
    tu_assert_ok(fx_reopen(&f));
    describe(&f, after, sizeof(after));
    assert_string_equal(before, after);
    /* Recovery under out-of-memory: clean failure or the same state. */
    done = 0;
    for (long n = 0; n < 400 && !done; n++) {
        st_env *env = f.env;
        fx_close(&f);
        fx_open(&f, env, &o);
        st_alloc_fail_after(n, 0);
        int rc = st_vset_recover(f.vs);
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        if (rc == 0) {
            describe(&f, after, sizeof(after));
            assert_string_equal(before, after);
            done = 1;
        }
    }
    assert_true(done);
    fx_free(&f);
}

typedef struct thread_arg {
    fx *f;
    int count;
} thread_arg;

static void *apply_thread(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < a->count; i++) {
        st_mutex_lock(&a->f->mu);
        uint64_t number = st_vset_new_file_number(a->f->vs);
        st_version_edit e;
        st_version_edit_init(&e);
        st_file_meta *m = tf_fake(number, 10, "a", number, "z", number);
        st_version_edit_add_file(&e, 0, m);
        st_file_meta_unref(m);
        int rc = st_vset_log_and_apply(a->f->vs, &e, &a->f->mu);
        st_version_edit_clear(&e); /* file refs are guarded by the mutex */
        st_mutex_unlock(&a->f->mu);
        if (rc) {
            return p;
        }
    }
    return NULL;
}

static void test_concurrent_apply(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    o.l0_compaction_trigger = 1000;
    o.max_manifest_size = 2000; /* some switches happen while others wait */
    fx f;
    fx_new_db(&f, &o);
    pthread_t th[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){&f, 25};
        assert_int_equal(pthread_create(&th[i], NULL, apply_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    assert_int_equal(nfiles(&f, 0), 100);
    char before[8192], after[8192];
    describe(&f, before, sizeof(before));
    tu_assert_ok(fx_reopen(&f));
    describe(&f, after, sizeof(after));
    assert_string_equal(before, after);
    fx_free(&f);
}

/* ---- Reads ----------------------------------------------------------------------------------- */

static void release(fx *f, st_compaction *c);

typedef struct found_val {
    char val[64];
} found_val;

static int on_found(void *ctx, st_slice key, st_slice value, st_pin *pin)
{
    (void)key;
    (void)pin;
    found_val *fv = ctx;
    snprintf(fv->val, sizeof(fv->val), "%.*s", (int)value.size, value.data);
    return 0;
}

/* "val" for a value, "DEL" for a deletion, "-" when no table has the key. */
static void expect_get(fx *f, const char *ukey, uint64_t seq, const char *want)
{
    st_buf k = ikey_of(ukey, seq, ST_TYPE_FOR_SEEK);
    st_read_flags rf = {1, 1};
    st_mutex_lock(&f->mu);
    st_version *v = st_vset_current(f->vs);
    st_mutex_unlock(&f->mu);
    found_val fv = {"?"};
    int type = -1;
    int rc = st_version_get(v, &rf, st_buf_slice(&k), &type, on_found, &fv);
    const char *got = rc < 0 ? "ERR" : rc == 0 ? "-" : type == ST_TYPE_DELETION ? "DEL" : fv.val;
    if (strcmp(got, want) != 0) {
        print_error("get(%s@%llu) = %s, want %s\n", ukey, (unsigned long long)seq, got, want);
        fail();
    }
    st_mutex_lock(&f->mu);
    st_version_unref(v);
    st_mutex_unlock(&f->mu);
    st_buf_free(&k);
}

static void build_layers(fx *f)
{
    const tf_entry l2[] = {{"a", 1, ST_TYPE_VALUE, "a1"},
                           {"b", 2, ST_TYPE_VALUE, "b2"},
                           {"c", 3, ST_TYPE_VALUE, "c3"}};
    const tf_entry l1a[] = {{"a", 10, ST_TYPE_VALUE, "a10"}, {"c", 11, ST_TYPE_DELETION, NULL},
                            {"k", 30, ST_TYPE_VALUE, "k30"}};
    const tf_entry l1b[] = {{"k", 20, ST_TYPE_VALUE, "k20"}, {"m", 21, ST_TYPE_VALUE, "m21"}};
    const tf_entry x[] = {{"a", 40, ST_TYPE_VALUE, "a40"}};
    const tf_entry y[] = {{"b", 45, ST_TYPE_DELETION, NULL}, {"n", 46, ST_TYPE_VALUE, "n46"}};
    const tf_entry z[] = {{"a", 50, ST_TYPE_VALUE, "a50"}, {"n", 48, ST_TYPE_VALUE, "n48"}};
    tu_assert_ok(add_file(f, 2, tf_build(f->env, DB, 20, l2, 3)));
    tu_assert_ok(add_file(f, 1, tf_build(f->env, DB, 21, l1a, 3)));
    tu_assert_ok(add_file(f, 1, tf_build(f->env, DB, 22, l1b, 2))); /* shares user key k */
    tu_assert_ok(add_file(f, 0, tf_build(f->env, DB, 23, x, 1)));
    tu_assert_ok(add_file(f, 0, tf_build(f->env, DB, 24, y, 2)));
    tu_assert_ok(add_file(f, 0, tf_build(f->env, DB, 19, z, 2))); /* newest, lowest number */
}

static void test_get_shadowing(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    build_layers(&f);
    expect_get(&f, "a", ST_MAX_SEQ, "a50");
    expect_get(&f, "a", 49, "a40");
    expect_get(&f, "a", 39, "a10");
    expect_get(&f, "a", 9, "a1");
    expect_get(&f, "a", 0, "-");
    expect_get(&f, "b", ST_MAX_SEQ, "DEL");
    expect_get(&f, "b", 44, "b2");
    expect_get(&f, "c", ST_MAX_SEQ, "DEL");
    expect_get(&f, "c", 10, "c3");
    expect_get(&f, "k", ST_MAX_SEQ, "k30");
    expect_get(&f, "k", 25, "k20"); /* in the second L1 file */
    expect_get(&f, "k", 19, "-");
    expect_get(&f, "m", ST_MAX_SEQ, "m21");
    expect_get(&f, "n", ST_MAX_SEQ, "n48");
    expect_get(&f, "n", 47, "n46");
    expect_get(&f, "n", 45, "-");
    expect_get(&f, "d", ST_MAX_SEQ, "-");
    expect_get(&f, "", ST_MAX_SEQ, "-");
    expect_get(&f, "zzz", ST_MAX_SEQ, "-");
    /* A missing table is an error, not "not found". */
    st_table_cache_evict(f.tc, 20);
    tu_assert_ok(st_env_remove_file(f.env, DB "/000020.sst"));
    expect_get(&f, "b", 44, "ERR");
    assert_non_null(strstr(tu_errmsg(), "000020.sst"));
    fx_free(&f);
}

static void test_iterators(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    build_layers(&f);
    /* More L1 files so the level iterator crosses several tables. */
    const tf_entry p[] = {{"p", 50, ST_TYPE_VALUE, "p"}, {"q", 50, ST_TYPE_VALUE, "q"}};
    const tf_entry r[] = {{"r", 50, ST_TYPE_VALUE, "r"}};
    tu_assert_ok(add_file(&f, 1, tf_build(f.env, DB, 25, p, 2)));
    tu_assert_ok(add_file(&f, 1, tf_build(f.env, DB, 26, r, 1)));
    const char *want[] = {"a@50", "a@40", "a@10", "a@1", "b@45", "b@2", "c@11", "c@3", "k@30",
                          "k@20", "m@21", "n@48", "n@46", "p@50", "q@50", "r@50"};
    int nwant = (int)(sizeof(want) / sizeof(want[0]));
    st_read_flags rf = {1, 0};
    st_mutex_lock(&f.mu);
    st_version *v = st_vset_current(f.vs);
    st_mutex_unlock(&f.mu);
    st_iter **list = NULL;
    int n = 0;
    tu_assert_ok(st_version_add_iterators(v, &rf, &list, &n));
    assert_int_equal(n, 3 + 2); /* three L0 files, L1, L2 */
    st_iter *m = st_merge_iter_create(st_comparator_bytewise(), list, n);
    st_free(list);
    char got[32];
    int i = 0;
    for (st_iter_seek_to_first(m); st_iter_valid(m); st_iter_next(m), i++) {
        st_slice k = st_iter_key(m);
        snprintf(got, sizeof(got), "%.*s@%llu", (int)k.size - 8, k.data,
                 (unsigned long long)(st_ikey_trailer(k) >> 8));
        assert_true(i < nwant);
        assert_string_equal(got, want[i]);
    }
    tu_assert_ok(st_iter_status(m));
    assert_int_equal(i, nwant);
    i = nwant - 1;
    for (st_iter_seek_to_last(m); st_iter_valid(m); st_iter_prev(m), i--) {
        st_slice k = st_iter_key(m);
        snprintf(got, sizeof(got), "%.*s@%llu", (int)k.size - 8, k.data,
                 (unsigned long long)(st_ikey_trailer(k) >> 8));
        assert_string_equal(got, want[i]);
    }
    assert_int_equal(i, -1);
    st_buf t = ikey_of("o", ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    st_iter_seek(m, st_buf_slice(&t)); /* lands in the third L1 table */
    assert_true(st_iter_valid(m));
    assert_memory_equal(st_iter_key(m).data, "p", 1);
    st_iter_prev(m); /* back across the table boundary, into L0's n */
    assert_memory_equal(st_iter_key(m).data, "n", 1);
    assert_int_equal(st_ikey_trailer(st_iter_key(m)) >> 8, 46);
    st_buf_free(&t);
    st_iter_destroy(m);

    /* Approximate offsets grow with the key and cover everything at the end. */
    st_buf lo = ikey_of("", ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    st_buf mid = ikey_of("l", ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    st_buf hi = ikey_of("zz", ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    uint64_t total = 0;
    for (int level = 0; level < v->num_levels; level++) {
        total += st_version_level_bytes(v, level);
    }
    uint64_t a = st_version_approx_offset(v, st_buf_slice(&lo));
    uint64_t b = st_version_approx_offset(v, st_buf_slice(&mid));
    uint64_t c = st_version_approx_offset(v, st_buf_slice(&hi));
    assert_true(a <= b && b <= c);
    assert_true(a < total / 2);
    assert_true(c == total);
    st_buf_free(&lo);
    st_buf_free(&mid);
    st_buf_free(&hi);
    st_mutex_lock(&f.mu);
    st_version_unref(v);
    st_mutex_unlock(&f.mu);

    /* The compaction input iterator merges L0 (newest first) with the output level. */
    int busy = 0;
    st_mutex_lock(&f.mu);
    st_compaction *comp = st_vset_compact_range(f.vs, 0, NULL, NULL, &busy);
    st_mutex_unlock(&f.mu);
    assert_int_equal(comp->ninputs[0], 3);
    assert_int_equal(comp->ninputs[1], 2);
    const char *cwant[] = {"a@50", "a@40", "a@10", "b@45", "c@11", "k@30",
                           "k@20", "m@21", "n@48", "n@46"};
    st_iter *ci = st_compaction_input_iter(comp, f.tc);
    i = 0;
    for (st_iter_seek_to_first(ci); st_iter_valid(ci); st_iter_next(ci), i++) {
        st_slice k = st_iter_key(ci);
        snprintf(got, sizeof(got), "%.*s@%llu", (int)k.size - 8, k.data,
                 (unsigned long long)(st_ikey_trailer(k) >> 8));
        assert_true(i < 10);
        assert_string_equal(got, cwant[i]);
    }
    tu_assert_ok(st_iter_status(ci));
    assert_int_equal(i, 10);
    st_iter_destroy(ci);
    release(&f, comp);

    /* A table of a level that cannot be opened ends iteration with its error. */
    st_table_cache_evict(f.tc, 25);
    tu_assert_ok(st_env_remove_file(f.env, DB "/000025.sst"));
    st_mutex_lock(&f.mu);
    v = st_vset_current(f.vs);
    st_mutex_unlock(&f.mu);
    list = NULL;
    n = 0;
    tu_assert_ok(st_version_add_iterators(v, &rf, &list, &n));
    m = st_merge_iter_create(st_comparator_bytewise(), list, n);
    st_free(list);
    i = 0;
    for (st_iter_seek_to_first(m); st_iter_valid(m); st_iter_next(m)) {
        i++;
    }
    assert_int_equal(i, 11); /* everything before p */
    assert_int_equal(st_iter_status(m), STRATA_E_NOTFOUND);
    assert_non_null(strstr(tu_errmsg(), "000025.sst"));
    st_iter_destroy(m);
    st_mutex_lock(&f.mu);
    st_version_unref(v);
    st_mutex_unlock(&f.mu);
    fx_free(&f);
}

static int contains(const uint64_t *nums, int n, uint64_t x)
{
    for (int i = 0; i < n; i++) {
        if (nums[i] == x) {
            return 1;
        }
    }
    return 0;
}

static void test_live_files_and_overlaps(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 100, "a", "c");
    add_fake(&f, 1, 11, 100, "e", "g");
    add_fake(&f, 0, 12, 100, "b", "f");
    add_fake(&f, 0, 13, 100, "f", "h");
    st_mutex_lock(&f.mu);
    st_version *old = st_vset_current(f.vs);
    st_mutex_unlock(&f.mu);
    st_version_edit e;
    st_version_edit_init(&e);
    st_version_edit_delete_file(&e, 1, 10);
    tu_assert_ok(fx_apply(&f, &e));
    st_version_edit_clear(&e);
    st_mutex_lock(&f.mu);
    uint64_t *nums = NULL;
    int n = 0;
    tu_assert_ok(st_vset_live_files(f.vs, &nums, &n));
    assert_true(contains(nums, n, 10)); /* still referenced by old */
    assert_true(contains(nums, n, 13));

    /* Range queries on the old version. */
    st_slice b = st_slice_cstr("d"), en = st_slice_cstr("d");
    st_file_meta **files;
    int cnt;
    tu_assert_ok(st_version_overlapping(old, 1, &b, &en, &files, &cnt));
    assert_int_equal(cnt, 0);
    assert_null(files);
    tu_assert_ok(st_version_overlapping(old, 1, NULL, &en, &files, &cnt));
    assert_int_equal(cnt, 1);
    st_free(files);
    tu_assert_ok(st_version_overlapping(old, 1, NULL, NULL, &files, &cnt));
    assert_int_equal(cnt, 2);
    st_free(files);
    b = st_slice_cstr("a");
    en = st_slice_cstr("b");
    tu_assert_ok(st_version_overlapping(old, 0, &b, &en, &files, &cnt));
    assert_int_equal(cnt, 2); /* [b,f] overlaps, and widening to f pulls in [f,h] */
    st_free(files);
    assert_true(st_version_overlaps(old, 1, st_slice_cstr("c"), st_slice_cstr("d")));
    assert_false(st_version_overlaps(old, 1, st_slice_cstr("d"), st_slice_cstr("d")));
    assert_true(st_version_overlaps(old, 0, st_slice_cstr("h"), st_slice_cstr("z")));
    assert_false(st_version_overlaps(old, 0, st_slice_cstr("i"), st_slice_cstr("z")));
    assert_int_equal(st_version_level_bytes(old, 1), 200);

    st_version_unref(old);
    n = 0;
    tu_assert_ok(st_vset_live_files(f.vs, &nums, &n));
    assert_false(contains(nums, n, 10));
    assert_int_equal(n, 3);
    st_free(nums);
    st_buf s = ST_BUF_INIT;
    tu_assert_ok(st_vset_level_summary(f.vs, &s));
    tu_assert_bytes_equal(s.data, s.len, "files[ 2 1 0 0 ]", 16);
    st_buf_free(&s);
    st_mutex_unlock(&f.mu);
    fx_free(&f);
}

/* ---- Compaction picking ---------------------------------------------------------------------- */

static st_compaction *pick(fx *f)
{
    st_mutex_lock(&f->mu);
    st_compaction *c = st_vset_pick_compaction(f->vs);
    st_mutex_unlock(&f->mu);
    return c;
}

static void release(fx *f, st_compaction *c)
{
    st_mutex_lock(&f->mu);
    st_compaction_release(c);
    st_mutex_unlock(&f->mu);
}

static void expect_inputs(const st_compaction *c, int which, const uint64_t *nums, int n)
{
    assert_int_equal(c->ninputs[which], n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(c->inputs[which][i]->number, nums[i]);
    }
}

static void test_pick_l0(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 5, 10, "c", "d");
    add_fake(&f, 1, 6, 10, "x", "y");
    for (int i = 0; i < 3; i++) {
        add_fake(&f, 0, (uint64_t)(10 + i), 10, "a", "e");
    }
    st_mutex_lock(&f.mu);
    assert_false(st_vset_needs_compaction(f.vs));
    st_mutex_unlock(&f.mu);
    assert_null(pick(&f));
    add_fake(&f, 0, 13, 10, "b", "f");
    st_mutex_lock(&f.mu);
    assert_true(st_vset_needs_compaction(f.vs));
    assert_int_equal(st_vset_pending_compaction_bytes(f.vs), 40);
    st_mutex_unlock(&f.mu);
    st_compaction *c = pick(&f);
    assert_non_null(c);
    assert_int_equal(c->level, 0);
    assert_int_equal(c->output_level, 1);
    const uint64_t l0[] = {13, 12, 11, 10}, l1[] = {5};
    expect_inputs(c, 0, l0, 4);
    expect_inputs(c, 1, l1, 1);
    assert_int_equal(c->inputs[0][0]->being_compacted, 1);
    assert_int_equal(c->inputs[1][0]->being_compacted, 1);
    assert_false(st_compaction_is_trivial_move(c));
    assert_null(pick(&f)); /* L0 is taken; nothing else needs work */
    /* Another L0 file arrives while the compaction runs: still only one L0 compaction. */
    add_fake(&f, 0, 14, 10, "q", "r");
    assert_null(pick(&f));
    int busy = 0;
    st_mutex_lock(&f.mu);
    assert_null(st_vset_compact_range(f.vs, 0, NULL, NULL, &busy));
    st_mutex_unlock(&f.mu);
    assert_int_equal(busy, 1);
    /* The compaction finishes: its edit deletes the inputs, adds the output. */
    st_version_edit e;
    st_version_edit_init(&e);
    tu_assert_ok(st_compaction_add_input_deletions(c, &e));
    assert_int_equal(e.n_deleted, 5);
    assert_int_equal(e.n_pointers, 0); /* L0 keeps no round-robin pointer */
    add_to_edit(&e, 1, tf_fake(15, 40, "a", 1, "f", 1));
    tu_assert_ok(fx_apply(&f, &e));
    st_version_edit_clear(&e);
    release(&f, c);
    assert_int_equal(nfiles(&f, 0), 1);
    assert_int_equal(nfiles(&f, 1), 2);
    fx_free(&f);
}

static void test_pick_l0_dynamic(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    o.dynamic_level_bytes = 1;
    fx f;
    fx_new_db(&f, &o);
    for (int i = 0; i < 4; i++) {
        add_fake(&f, 0, (uint64_t)(10 + i), 10, "a", "e");
    }
    st_compaction *c = pick(&f);
    assert_non_null(c);
    assert_int_equal(c->output_level, 3); /* empty DB: L0 goes straight to the last level */
    assert_int_equal(c->ngrandparents, 0);
    release(&f, c);
    fx_free(&f);
}

static void test_pick_size_round_robin(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 400, "a", "b");
    add_fake(&f, 1, 11, 400, "c", "d");
    add_fake(&f, 1, 12, 400, "e", "f");
    add_fake(&f, 2, 20, 100, "a", "a5");
    add_fake(&f, 2, 21, 100, "b5", "c5");
    st_mutex_lock(&f.mu);
    st_version *v = st_vset_current(f.vs);
    assert_true(v->score[1] > 1.19 && v->score[1] < 1.21);
    assert_true(v->score[3] == 0);
    st_version_unref(v);
    assert_int_equal(st_vset_pending_compaction_bytes(f.vs), 200);
    st_mutex_unlock(&f.mu);
    const uint64_t want0[] = {10, 11, 12, 10};
    for (int round = 0; round < 4; round++) {
        st_compaction *c = pick(&f);
        assert_non_null(c);
        assert_int_equal(c->level, 1);
        assert_int_equal(c->output_level, 2);
        expect_inputs(c, 0, &want0[round], 1);
        if (want0[round] == 10) {
            const uint64_t w1[] = {20};
            expect_inputs(c, 1, w1, 1);
        } else if (want0[round] == 11) {
            const uint64_t w1[] = {21};
            expect_inputs(c, 1, w1, 1);
        } else {
            assert_int_equal(c->ninputs[1], 0);
            assert_true(st_compaction_is_trivial_move(c));
        }
        st_version_edit e;
        st_version_edit_init(&e);
        tu_assert_ok(st_compaction_add_input_deletions(c, &e));
        assert_int_equal(e.n_pointers, 1);
        assert_int_equal(e.pointers[0].level, 1);
        st_version_edit_clear(&e);
        release(&f, c);
    }
    /* The pointer survives a restart through the MANIFEST snapshot and the edits. */
    st_compaction *c = pick(&f); /* picks 11, sets the pointer to d */
    st_version_edit e;
    st_version_edit_init(&e);
    tu_assert_ok(st_compaction_add_input_deletions(c, &e));
    release(&f, c);
    st_version_edit_clear(&e);
    st_version_edit_init(&e);
    st_buf p = ikey_of("d", 1, ST_TYPE_VALUE);
    st_version_edit_set_pointer(&e, 1, st_buf_slice(&p));
    tu_assert_ok(fx_apply(&f, &e));
    st_version_edit_clear(&e);
    st_buf_free(&p);
    tu_assert_ok(fx_reopen(&f));
    c = pick(&f);
    expect_inputs(c, 0, &want0[2], 1); /* after d: 12 */
    release(&f, c);
    fx_free(&f);
}

static void test_highest_score_first(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 1100, "a", "b");   /* score 1.1 */
    add_fake(&f, 2, 20, 30000, "m", "n");  /* score 3 */
    st_compaction *c = pick(&f);
    assert_int_equal(c->level, 2);
    assert_int_equal(c->output_level, 3);
    st_compaction *c2 = pick(&f); /* runs in parallel: different files and ranges */
    assert_non_null(c2);
    assert_int_equal(c2->level, 1);
    assert_null(pick(&f));
    release(&f, c);
    release(&f, c2);
    fx_free(&f);
}

static void test_clean_cut(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    /* F1 ends with k@7, F2 starts with k@5: one user key split across two files. */
    /* (Sizes keep inputs[0] from growing to all three files: 3100 bytes > 25 targets.) */
    tu_assert_ok(add_file(&f, 1, tf_fake(10, 1000, "a", 9, "k", 7)));
    tu_assert_ok(add_file(&f, 1, tf_fake(11, 1000, "k", 5, "p", 1)));
    tu_assert_ok(add_file(&f, 1, tf_fake(12, 1000, "q", 1, "r", 1)));
    tu_assert_ok(add_file(&f, 2, tf_fake(20, 100, "p", 9, "q", 9))); /* bridges 11 and 12 */
    st_compaction *c = pick(&f);
    const uint64_t in0[] = {10, 11}, in1[] = {20};
    expect_inputs(c, 0, in0, 2);
    expect_inputs(c, 1, in1, 1);
    release(&f, c);
    /* Manual compaction of a range inside F1 takes F2 along too. */
    st_buf b = ikey_of("b", ST_MAX_SEQ, ST_TYPE_FOR_SEEK), en = ikey_of("c", 0, ST_TYPE_VALUE);
    st_slice bs = st_buf_slice(&b), es = st_buf_slice(&en);
    int busy = 0;
    st_mutex_lock(&f.mu);
    c = st_vset_compact_range(f.vs, 1, &bs, &es, &busy);
    st_mutex_unlock(&f.mu);
    assert_non_null(c);
    assert_int_equal(c->manual, 1);
    expect_inputs(c, 0, in0, 2);
    expect_inputs(c, 1, in1, 1);
    st_version_edit e;
    st_version_edit_init(&e);
    tu_assert_ok(st_compaction_add_input_deletions(c, &e));
    assert_int_equal(e.n_pointers, 0); /* manual compactions leave the pointer alone */
    st_version_edit_clear(&e);
    release(&f, c);
    st_buf_free(&b);
    st_buf_free(&en);
    fx_free(&f);
}

static void test_being_compacted_and_conflicts(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    /* (Sizes keep inputs[0] from growing over 10 and 11: 2700 bytes > 25 targets.) */
    add_fake(&f, 1, 10, 1300, "a", "b");
    add_fake(&f, 1, 11, 1300, "c", "d");
    add_fake(&f, 1, 12, 1300, "m", "n");
    add_fake(&f, 2, 20, 100, "b", "c"); /* overlaps both 10 and 11 */
    st_compaction *c1 = pick(&f);
    const uint64_t a[] = {10}, x[] = {20}, m[] = {12};
    expect_inputs(c1, 0, a, 1);
    expect_inputs(c1, 1, x, 1);
    st_compaction *c2 = pick(&f); /* 11 needs 20, which is busy: 12 instead */
    assert_non_null(c2);
    expect_inputs(c2, 0, m, 1);
    assert_null(pick(&f));
    int busy = 0;
    st_buf k = ikey_of("c", ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    st_slice ks = st_buf_slice(&k);
    st_mutex_lock(&f.mu);
    assert_null(st_vset_compact_range(f.vs, 1, &ks, &ks, &busy));
    assert_int_equal(busy, 1);
    st_mutex_unlock(&f.mu);
    release(&f, c1);
    release(&f, c2);
    st_buf_free(&k);
    fx_free(&f);

    /* Two compactions into the last level with interleaving ranges but disjoint files: the
     * second must wait, or their outputs would overlap in L3. */
    fx_new_db(&f, &o);
    add_fake(&f, 3, 30, 100, "a", "a2");
    add_fake(&f, 3, 31, 100, "c", "c2");
    add_fake(&f, 2, 20, 20000, "b", "b2"); /* in the gap between 30 and 31; score 2 */
    st_buf lo = ikey_of("a", ST_MAX_SEQ, ST_TYPE_FOR_SEEK), hi = ikey_of("c", 0, ST_TYPE_VALUE);
    st_slice los = st_buf_slice(&lo), his = st_buf_slice(&hi);
    st_mutex_lock(&f.mu);
    c1 = st_vset_compact_range(f.vs, 3, &los, &his, &busy);
    st_mutex_unlock(&f.mu);
    assert_non_null(c1);
    assert_int_equal(c1->output_level, 3);
    assert_int_equal(c1->ninputs[0], 2);
    assert_int_equal(c1->ninputs[1], 0);
    assert_false(st_compaction_is_trivial_move(c1));
    assert_null(pick(&f));
    release(&f, c1);
    c2 = pick(&f);
    assert_non_null(c2);
    assert_int_equal(c2->level, 2);
    assert_true(st_compaction_is_trivial_move(c2));
    release(&f, c2);
    st_buf_free(&lo);
    st_buf_free(&hi);
    fx_free(&f);
}

static void test_compact_range(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 10, "a", "b");
    add_fake(&f, 1, 11, 10, "c", "d");
    add_fake(&f, 2, 20, 10, "b", "b");
    add_fake(&f, 3, 30, 10, "a", "z");
    int busy = 7;
    st_buf x = ikey_of("x", ST_MAX_SEQ, ST_TYPE_FOR_SEEK), y = ikey_of("y", 0, ST_TYPE_VALUE);
    st_slice xs = st_buf_slice(&x), ys = st_buf_slice(&y);
    st_mutex_lock(&f.mu);
    assert_null(st_vset_compact_range(f.vs, 1, &xs, &ys, &busy)); /* nothing there */
    assert_int_equal(busy, 0);
    assert_null(st_vset_compact_range(f.vs, 0, NULL, NULL, &busy)); /* L0 is empty */
    st_compaction *c = st_vset_compact_range(f.vs, 1, NULL, NULL, &busy);
    st_mutex_unlock(&f.mu);
    const uint64_t all1[] = {10, 11}, in1[] = {20}, gp = 30;
    expect_inputs(c, 0, all1, 2);
    expect_inputs(c, 1, in1, 1);
    assert_int_equal(c->ngrandparents, 1);
    assert_int_equal(c->grandparents[0]->number, gp);
    assert_true(c->max_output_file_size == 100);
    release(&f, c);
    /* The last level compacts into itself. */
    st_mutex_lock(&f.mu);
    c = st_vset_compact_range(f.vs, 3, NULL, NULL, &busy);
    st_mutex_unlock(&f.mu);
    assert_int_equal(c->level, 3);
    assert_int_equal(c->output_level, 3);
    assert_int_equal(c->ninputs[1], 0);
    assert_int_equal(c->ngrandparents, 0);
    assert_true(st_compaction_is_base_level_for_key(c, st_slice_cstr("m")));
    release(&f, c);
    st_buf_free(&x);
    st_buf_free(&y);
    fx_free(&f);
}

static void test_trivial_move(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 1100, "a", "b");
    add_fake(&f, 3, 30, 500, "a", "a5");
    st_compaction *c = pick(&f);
    assert_true(st_compaction_is_trivial_move(c)); /* 500 bytes of grandparents <= 1000 */
    release(&f, c);
    add_fake(&f, 3, 31, 600, "a6", "b"); /* now 1100 bytes of grandparent overlap */
    c = pick(&f);
    assert_int_equal(c->ngrandparents, 2);
    assert_false(st_compaction_is_trivial_move(c));
    release(&f, c);
    fx_free(&f);
}

static void test_base_level_and_stop_before(void **state)
{
    (void)state;
    st_vset_options o = default_opts(NULL);
    fx f;
    fx_new_db(&f, &o);
    add_fake(&f, 1, 10, 10, "a", "h");
    add_fake(&f, 2, 20, 10, "a", "a1");
    add_fake(&f, 3, 30, 600, "b", "c");
    add_fake(&f, 3, 31, 600, "d", "e");
    add_fake(&f, 3, 32, 600, "f", "g");
    int busy;
    st_mutex_lock(&f.mu);
    st_compaction *c = st_vset_compact_range(f.vs, 1, NULL, NULL, &busy);
    st_mutex_unlock(&f.mu);
    assert_int_equal(c->ngrandparents, 3);
    assert_true(st_compaction_is_base_level_for_key(c, st_slice_cstr("a")));
    assert_false(st_compaction_is_base_level_for_key(c, st_slice_cstr("b")));
    assert_false(st_compaction_is_base_level_for_key(c, st_slice_cstr("bb")));
    assert_false(st_compaction_is_base_level_for_key(c, st_slice_cstr("c")));
    assert_true(st_compaction_is_base_level_for_key(c, st_slice_cstr("cc")));
    assert_false(st_compaction_is_base_level_for_key(c, st_slice_cstr("e")));
    assert_true(st_compaction_is_base_level_for_key(c, st_slice_cstr("z")));
    const char *keys[] = {"a", "b", "d", "f", "g", "h"};
    const int stop[] = {0, 0, 0, 1, 0, 0};
    for (int i = 0; i < 6; i++) {
        st_buf k = ikey_of(keys[i], 5, ST_TYPE_VALUE);
        assert_int_equal(st_compaction_should_stop_before(c, st_buf_slice(&k)), stop[i]);
        st_buf_free(&k);
    }
    release(&f, c);
    fx_free(&f);
}

/* ---- Level targets --------------------------------------------------------------------------- */

/* One fake file per non-empty level with the given sizes; returns the fixture. */
static void shape(fx *f, int dynamic, const uint64_t sizes[7])
{
    st_vset_options o = default_opts(NULL);
    o.num_levels = 7;
    o.max_bytes_for_level_base = 100;
    o.dynamic_level_bytes = dynamic;
    fx_new_db(f, &o);
    for (int level = 1; level < 7; level++) {
        if (sizes[level]) {
            add_fake(f, level, (uint64_t)(10 + level), sizes[level], "a", "b");
        }
    }
}

static void expect_targets(fx *f, int base, const uint64_t want[7])
{
    st_mutex_lock(&f->mu);
    st_version *v = st_vset_current(f->vs);
    assert_int_equal(v->base_level, base);
    for (int level = 1; level < 7; level++) {
        if (v->level_target[level] != want[level]) {
            print_error("L%d target %llu, want %llu\n", level,
                        (unsigned long long)v->level_target[level],
                        (unsigned long long)want[level]);
            fail();
        }
    }
    st_version_unref(v);
    st_mutex_unlock(&f->mu);
}

static void test_level_targets(void **state)
{
    (void)state;
    fx f;
    const uint64_t empty[7] = {0};
    shape(&f, 1, empty);
    expect_targets(&f, 6, (const uint64_t[7]){0, 0, 0, 0, 0, 0, 100});
    fx_free(&f);

    shape(&f, 1, (const uint64_t[7]){0, 0, 0, 0, 0, 0, 50}); /* smaller than base */
    expect_targets(&f, 6, (const uint64_t[7]){0, 0, 0, 0, 0, 0, 100});
    fx_free(&f);

    shape(&f, 1, (const uint64_t[7]){0, 0, 0, 0, 0, 0, 1000});
    expect_targets(&f, 5, (const uint64_t[7]){0, 0, 0, 0, 0, 100, 1000});
    fx_free(&f);

    shape(&f, 1, (const uint64_t[7]){0, 0, 0, 0, 0, 300, 100000});
    expect_targets(&f, 3, (const uint64_t[7]){0, 0, 0, 100, 1000, 10000, 100000});
    st_mutex_lock(&f.mu);
    st_version *v = st_vset_current(f.vs);
    assert_true(v->score[5] > 0.029 && v->score[5] < 0.031);
    st_version_unref(v);
    st_mutex_unlock(&f.mu);
    /* L0 compacts into the base level, with L4 as grandparents. */
    for (int i = 0; i < 4; i++) {
        add_fake(&f, 0, (uint64_t)(30 + i), 1, "a", "b");
    }
    st_compaction *c = pick(&f);
    assert_int_equal(c->output_level, 3);
    release(&f, c);
    fx_free(&f);

    /* The DB shrank: L2 still holds data above the computed base level 5. */
    shape(&f, 1, (const uint64_t[7]){0, 0, 30, 0, 0, 0, 1000});
    expect_targets(&f, 2, (const uint64_t[7]){0, 0, 100, 100, 100, 100, 1000});
    fx_free(&f);

    /* The largest level is not the last one. */
    shape(&f, 1, (const uint64_t[7]){0, 0, 0, 0, 0, 5000, 20});
    expect_targets(&f, 5, (const uint64_t[7]){0, 0, 0, 0, 0, 500, 5000});
    st_mutex_lock(&f.mu);
    v = st_vset_current(f.vs);
    assert_true(v->score[5] >= 10);
    st_version_unref(v);
    assert_true(st_vset_needs_compaction(f.vs));
    assert_int_equal(st_vset_pending_compaction_bytes(f.vs), 4500);
    st_mutex_unlock(&f.mu);
    fx_free(&f);

    shape(&f, 0, empty);
    expect_targets(&f, 1, (const uint64_t[7]){0, 100, 1000, 10000, 100000, 1000000, 10000000});
    fx_free(&f);
}

static void test_create_errors(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    st_vset_options o = default_opts(env);
    st_vset *vs = NULL;
    o.num_levels = 1;
    assert_int_equal(st_vset_create(&o, NULL, NULL, &vs), STRATA_E_INVALID);
    o.num_levels = ST_MAX_LEVELS + 1;
    assert_int_equal(st_vset_create(&o, NULL, NULL, &vs), STRATA_E_INVALID);
    o.num_levels = 4;
    o.level_multiplier = 0.5;
    assert_int_equal(st_vset_create(&o, NULL, NULL, &vs), STRATA_E_INVALID);
    o = default_opts(env);
    for (long n = 0; n < 20; n++) {
        st_alloc_fail_after(n, 0);
        int rc = st_vset_create(&o, NULL, NULL, &vs);
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        if (rc == 0) {
            st_vset_destroy(vs);
            break;
        }
    }
    st_vset_destroy(NULL);
    env->ops->destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rollover),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_current_errors),
        cmocka_unit_test(test_crafted_manifests),
        cmocka_unit_test(test_comparator_mismatch),
        cmocka_unit_test(test_edit_rejected),
        cmocka_unit_test(test_l0_order),
        cmocka_unit_test(test_switch_failure),
        cmocka_unit_test(test_log_and_apply_oom),
        cmocka_unit_test(test_concurrent_apply),
        cmocka_unit_test(test_get_shadowing),
        cmocka_unit_test(test_iterators),
        cmocka_unit_test(test_live_files_and_overlaps),
        cmocka_unit_test(test_pick_l0),
        cmocka_unit_test(test_pick_l0_dynamic),
        cmocka_unit_test(test_pick_size_round_robin),
        cmocka_unit_test(test_highest_score_first),
        cmocka_unit_test(test_clean_cut),
        cmocka_unit_test(test_being_compacted_and_conflicts),
        cmocka_unit_test(test_compact_range),
        cmocka_unit_test(test_trivial_move),
        cmocka_unit_test(test_base_level_and_stop_before),
        cmocka_unit_test(test_level_targets),
        cmocka_unit_test(test_create_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
