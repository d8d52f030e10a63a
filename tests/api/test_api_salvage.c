/* test_api_salvage.c — strata_salvage and strata_repair_report on damaged DBs: one flipped bit in a
 * 20,000-key table costs exactly the keys of its block; several damaged blocks; a damaged index
 * block; a damaged WAL record; a deletion lost in a damaged block never lets the older value come
 * back; argument and report handling; every allocation of a salvage, and of a repair, failed in
 * turn.
 *
 * The tests damage files through the file system and check results through the public API.  To
 * know exactly which keys a damaged block held, they read the table's index and blocks with the
 * engine's format readers (table/format.h, table/block.h) before damaging it. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Before cmocka (test_util.h), whose skip() macro clashes with the env vtable's member. */
#include "env/env.h"
#include "strata.h"
#include "table/block.h"
#include "table/format.h"
#include "util/alloc.h"
#include "util/ikey.h"

#include "test_util.h"

#define NKEYS 20000

/* ---- helpers ------------------------------------------------------------------------------- */

static strata_options *opts_from(const char *text)
{
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_from_string(o, text));
    return o;
}

static void key_of(int i, char *k, size_t cap)
{
    snprintf(k, cap, "key%06d", i);
}

static void value_of(int i, const char *tag, char *v, size_t cap)
{
    snprintf(v, cap, "%s-value-%06d-padding-padding-padding", tag, i);
}

static void put_range(strata_db *db, int from, int to, const char *tag)
{
    char k[32], v[96];
    for (int i = from; i < to; i++) {
        key_of(i, k, sizeof(k));
        value_of(i, tag, v, sizeof(v));
        tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, strlen(v)));
    }
}

/* 0 with the value of key i in out, or the strata code. */
static int get_value(strata_db *db, int i, char *out, size_t cap)
{
    char k[32];
    key_of(i, k, sizeof(k));
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get(db, NULL, k, strlen(k), &v, &vl);
    if (rc == 0) {
        snprintf(out, cap, "%.*s", (int)vl, (const char *)v);
        strata_free(v);
    }
    return rc;
}

/* The path and number of the table in dir with the largest number (the newest). */
static uint64_t newest_table(const char *dir, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    uint64_t best = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".sst") == 0) {
            uint64_t num = strtoull(e->d_name, NULL, 10);
            if (num > best) {
                best = num;
                snprintf(path, cap, "%s/%s", dir, e->d_name);
            }
        }
    }
    closedir(d);
    assert_true(best > 0);
    return best;
}

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int count = 0;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        count += n > sl && strcmp(e->d_name + n - sl, suffix) == 0;
    }
    closedir(d);
    return count;
}

/* One data block of a table: where it is and which keys ("key%06d", by index) it holds. */
typedef struct tblock {
    uint64_t offset, size;
    int first, last, n; /* key indices; n entries */
} tblock;

typedef struct tlayout {
    tblock blocks[2048];
    int nblocks;
    st_block_handle index;
} tlayout;

static int key_index(st_slice ikey)
{
    st_slice uk = st_ikey_user(ikey);
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%.*s", (int)uk.size, uk.data);
    return atoi(tmp + 3);
}

/* Reads the footer, the index and every data block of the (intact) table at path in env. */
static void read_layout_env(st_env *env, const char *path, tlayout *l)
{
    st_rfile *f = NULL;
    uint64_t size = 0;
    tu_assert_ok(st_env_file_size(env, path, &size));
    tu_assert_ok(st_env_new_random(env, path, &f));
    char foot[ST_FOOTER_LEN];
    st_slice got;
    tu_assert_ok(st_rfile_read(f, size - ST_FOOTER_LEN, ST_FOOTER_LEN, foot, &got));
    st_footer ft;
    tu_assert_ok(st_footer_decode(got.data, size, path, &ft));
    l->index = ft.index;
    st_block_contents c;
    st_block ix;
    tu_assert_ok(st_read_block(f, ft.checksum, ft.index, 1, 0, path, &c));
    tu_assert_ok(st_block_init(&ix, c.data, c.heap, path, ft.index.offset));
    st_block_iter it;
    st_block_iter_init(&it, &ix, NULL);
    l->nblocks = 0;
    for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it)) {
        st_slice v = it.value;
        st_block_handle h;
        assert_true(st_handle_decode(&v, &h));
        assert_true(l->nblocks < 2048);
        tblock *b = &l->blocks[l->nblocks++];
        b->offset = h.offset;
        b->size = h.size;
        st_block_contents dc;
        st_block db;
        tu_assert_ok(st_read_block(f, ft.checksum, h, 1, 0, path, &dc));
        tu_assert_ok(st_block_init(&db, dc.data, dc.heap, path, h.offset));
        st_block_iter bi;
        st_block_iter_init(&bi, &db, NULL);
        b->n = 0;
        for (st_block_iter_seek_to_first(&bi); st_block_iter_valid(&bi);
             st_block_iter_next(&bi)) {
            int k = key_index(bi.key);
            b->first = b->n == 0 ? k : b->first;
            b->last = k;
            b->n++;
        }
        st_block_iter_release(&bi);
        st_block_free(&db);
    }
    st_block_iter_release(&it);
    st_block_free(&ix);
    st_rfile_close(f);
}

static void read_layout(const char *path, tlayout *l)
{
    read_layout_env(st_env_posix(), path, l);
}

/* Flips one bit of the file at offset. */
static void flip_bit(const char *path, uint64_t offset)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)offset, SEEK_SET), 0);
    int c = fgetc(f);
    assert_true(c != EOF);
    assert_int_equal(fseek(f, (long)offset, SEEK_SET), 0);
    fputc(c ^ 0x10, f);
    fclose(f);
}

/* Overwrites n bytes at offset with a pattern that is no block. */
static void scribble(const char *path, uint64_t offset, size_t n)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)offset, SEEK_SET), 0);
    for (size_t i = 0; i < n; i++) {
        fputc((int)(0xa5 ^ (i * 7)), f);
    }
    fclose(f);
}

/* A DB of NKEYS keys compacted into one table (default options, as a new user has them). */
static char *make_one_table_db(const char *tag, char *table, size_t cap, uint64_t *number)
{
    char *dir = tu_mkdtemp(tag);
    strata_options *o = opts_from("create_if_missing=1");
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    put_range(db, 0, NKEYS, "a");
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    tu_assert_ok(strata_close(db));
    strata_options_destroy(o);
    *number = newest_table(dir, table, cap);
    return dir;
}

/* Opens dir and checks every key: present with its value unless lost[i]; returns how many are
 * present.  A key marked lost must be absent. */
static int check_keys(const char *dir, const char *tag, const char *lost, int nkeys)
{
    strata_db *db = NULL;
    tu_assert_ok(strata_open(NULL, dir, &db));
    char v[128], want[128];
    int present = 0;
    for (int i = 0; i < nkeys; i++) {
        int rc = get_value(db, i, v, sizeof(v));
        if (lost[i]) {
            if (rc != STRATA_E_NOTFOUND) {
                print_error("key %d of a damaged block is present (%d)\n", i, rc);
            }
            assert_int_equal(rc, STRATA_E_NOTFOUND);
            continue;
        }
        if (rc != 0) {
            print_error("key %d outside the damaged blocks is missing (%d)\n", i, rc);
        }
        tu_assert_ok(rc);
        value_of(i, tag, want, sizeof(want));
        assert_string_equal(v, want);
        present++;
    }
    tu_assert_ok(strata_close(db));
    return present;
}

static void mark_lost(char *lost, const tblock *b)
{
    for (int i = b->first; i <= b->last; i++) {
        lost[i] = 1;
    }
}

/* The report names the table and the block's byte range, and estimates within 2x. */
static void check_report_names(const strata_integrity_report *r, uint64_t number,
                               const tblock *b)
{
    char want[128];
    snprintf(want, sizeof(want), "%06" PRIu64 ".sst: offsets %" PRIu64 "..%" PRIu64 ":", number,
             b->offset, b->offset + b->size - 1);
    assert_non_null(r->detail);
    if (!strstr(r->detail, want)) {
        print_error("report lacks \"%s\":\n%s", want, r->detail);
        fail();
    }
}

static void check_estimate(const strata_integrity_report *r, uint64_t truth)
{
    print_message("entries lost: estimate %" PRIu64 ", truth %" PRIu64 "\n",
                  r->entries_lost_estimate, truth);
    assert_true(r->entries_lost_estimate * 2 >= truth);
    assert_true(r->entries_lost_estimate <= truth * 2);
}

static char *subdir(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ---- one flipped bit ------------------------------------------------------------------------ */

static tblock *damage_middle_block(const char *table, tlayout *l)
{
    read_layout(table, l);
    assert_true(l->nblocks > 10);
    tblock *b = &l->blocks[l->nblocks / 2];
    flip_bit(table, b->offset + b->size / 3);
    return b;
}

static void test_bit_flip_repair(void **state)
{
    (void)state;
    char table[1024];
    uint64_t number;
    char *dir = make_one_table_db("salvage-bit-repair", table, sizeof(table), &number);
    static tlayout l;
    tblock *b = damage_middle_block(table, &l);
    strata_integrity_report r;
    tu_assert_ok(strata_repair_report(NULL, dir, &r));
    print_message("repair report:\n%s", r.detail);
    assert_int_equal(r.blocks_unrecoverable, 1);
    check_report_names(&r, number, b);
    check_estimate(&r, (uint64_t)b->n);
    assert_int_equal(r.entries_recovered, NKEYS - b->n);
    assert_true(r.bytes_lost == b->size);
    strata_integrity_report_free(&r);
    char *lost = calloc(NKEYS, 1);
    mark_lost(lost, b);
    int kept = check_keys(dir, "a", lost, NKEYS);
    print_message("repair kept %d of %d keys (block of %d lost)\n", kept, NKEYS, b->n);
    assert_int_equal(kept, NKEYS - b->n);
    assert_true(kept * 100 >= NKEYS * 99);
    assert_int_equal(count_files(dir, ".corrupt"), 1);
    /* The repaired DB is clean: a second repair finds nothing. */
    tu_assert_ok(strata_repair_report(NULL, dir, &r));
    assert_int_equal(r.blocks_unrecoverable, 0);
    assert_string_equal(r.detail, "");
    strata_integrity_report_free(&r);
    free(lost);
    tu_free_path(dir);
}

static void test_bit_flip_salvage(void **state)
{
    (void)state;
    char table[1024];
    uint64_t number;
    char *dir = make_one_table_db("salvage-bit", table, sizeof(table), &number);
    static tlayout l;
    tblock *b = damage_middle_block(table, &l);
    struct stat before;
    assert_int_equal(stat(table, &before), 0);
    char *out = subdir(dir, "salvaged");
    strata_integrity_report r;
    tu_assert_ok(strata_salvage_report(NULL, dir, out, &r));
    print_message("salvage report:\n%s", r.detail);
    assert_int_equal(r.blocks_unrecoverable, 1);
    check_report_names(&r, number, b);
    check_estimate(&r, (uint64_t)b->n);
    assert_int_equal(r.entries_recovered, NKEYS - b->n);
    strata_integrity_report_free(&r);
    char *lost = calloc(NKEYS, 1);
    mark_lost(lost, b);
    int kept = check_keys(out, "a", lost, NKEYS);
    print_message("salvage kept %d of %d keys (block of %d lost)\n", kept, NKEYS, b->n);
    assert_true(kept * 100 >= NKEYS * 99);
    /* The damaged DB was only read. */
    struct stat after;
    assert_int_equal(stat(table, &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    assert_int_equal(count_files(dir, ".corrupt"), 0);
    free(lost);
    free(out);
    tu_free_path(dir);
}

/* ---- several damaged blocks; a damaged index ------------------------------------------------- */

static void test_several_blocks(void **state)
{
    (void)state;
    char table[1024];
    uint64_t number;
    char *dir = make_one_table_db("salvage-several", table, sizeof(table), &number);
    static tlayout l;
    read_layout(table, &l);
    char *lost = calloc(NKEYS, 1);
    int truth = 0, picks[] = {0, 7, 8, l.nblocks / 2, l.nblocks - 1};
    for (size_t i = 0; i < sizeof(picks) / sizeof(picks[0]); i++) {
        tblock *b = &l.blocks[picks[i]];
        flip_bit(table, b->offset + b->size / 2);
        mark_lost(lost, b);
        truth += b->n;
    }
    char *out = subdir(dir, "salvaged");
    strata_integrity_report r;
    tu_assert_ok(strata_salvage_report(NULL, dir, out, &r));
    assert_int_equal(r.blocks_unrecoverable, 5);
    for (size_t i = 0; i < sizeof(picks) / sizeof(picks[0]); i++) {
        check_report_names(&r, number, &l.blocks[picks[i]]);
    }
    check_estimate(&r, (uint64_t)truth);
    strata_integrity_report_free(&r);
    int kept = check_keys(out, "a", lost, NKEYS);
    print_message("salvage kept %d of %d keys (%d in 5 damaged blocks)\n", kept, NKEYS, truth);
    assert_int_equal(kept, NKEYS - truth);
    tu_assert_ok(strata_repair_report(NULL, dir, &r));
    assert_int_equal(r.blocks_unrecoverable, 5);
    strata_integrity_report_free(&r);
    assert_int_equal(check_keys(dir, "a", lost, NKEYS), NKEYS - truth);
    free(lost);
    free(out);
    tu_free_path(dir);
}

/* A flipped bit in the index: every data block is still found (through the index's handles,
 * each verified by its own block's checksum). */
static void test_damaged_index_bit(void **state)
{
    (void)state;
    char table[1024];
    uint64_t number;
    char *dir = make_one_table_db("salvage-index-bit", table, sizeof(table), &number);
    static tlayout l;
    read_layout(table, &l);
    flip_bit(table, l.index.offset + l.index.size / 2);
    char *out = subdir(dir, "salvaged");
    strata_integrity_report r;
    tu_assert_ok(strata_salvage_report(NULL, dir, out, &r));
    print_message("salvage report:\n%s", r.detail);
    assert_int_equal(r.blocks_unrecoverable, 1); /* the index; no entry lost */
    assert_int_equal(r.entries_lost_estimate, 0);
    assert_int_equal(r.entries_recovered, NKEYS);
    assert_non_null(strstr(r.detail, "index block"));
    strata_integrity_report_free(&r);
    char *lost = calloc(NKEYS, 1);
    assert_int_equal(check_keys(out, "a", lost, NKEYS), NKEYS);
    tu_assert_ok(strata_repair_report(NULL, dir, &r));
    assert_int_equal(r.entries_lost_estimate, 0);
    assert_int_equal(r.entries_recovered, NKEYS);
    strata_integrity_report_free(&r);
    assert_int_equal(check_keys(dir, "a", lost, NKEYS), NKEYS);
    free(lost);
    free(out);
    tu_free_path(dir);
}

/* The index overwritten with garbage (no usable handle) and a data block damaged as well: the
 * blocks are found by searching the data region for verifying block trailers, and the damaged
 * block is stepped over by a bounded search for the next block. */
static void test_damaged_index_and_block(void **state)
{
    (void)state;
    char table[1024];
    uint64_t number;
    char *dir = make_one_table_db("salvage-index-garbage", table, sizeof(table), &number);
    static tlayout l;
    read_layout(table, &l);
    scribble(table, l.index.offset, (size_t)l.index.size);
    tblock *b = &l.blocks[l.nblocks / 3];
    flip_bit(table, b->offset + 10);
    char *out = subdir(dir, "salvaged");
    strata_integrity_report r;
    tu_assert_ok(strata_salvage_report(NULL, dir, out, &r));
    print_message("salvage report:\n%s", r.detail);
    assert_int_equal(r.blocks_unrecoverable, 2); /* the index and the data block */
    check_report_names(&r, number, b);
    check_estimate(&r, (uint64_t)b->n);
    strata_integrity_report_free(&r);
    /* Without the index the lost block's keys are bounded only by its neighbours' keys, so the
     * first key after it may be dropped too (a newer version of it could have been lost). */
    char *lost = calloc(NKEYS, 1);
    mark_lost(lost, b);
    strata_db *db = NULL;
    tu_assert_ok(strata_open(NULL, out, &db));
    char v[128];
    int kept = 0;
    for (int i = 0; i < NKEYS; i++) {
        int rc = get_value(db, i, v, sizeof(v));
        if (lost[i] || i == b->last + 1) {
            assert_true(rc == STRATA_E_NOTFOUND || (!lost[i] && rc == 0));
        } else {
            tu_assert_ok(rc);
        }
        kept += rc == 0;
    }
    tu_assert_ok(strata_close(db));
    print_message("salvage kept %d of %d keys (block of %d lost, index unreadable)\n", kept,
                  NKEYS, b->n);
    assert_true(kept >= NKEYS - b->n - 1);
    free(lost);
    free(out);
    tu_free_path(dir);
}

/* ---- a damaged WAL record ------------------------------------------------------------------- */

static void test_damaged_wal_record(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("salvage-wal");
    strata_options *o = opts_from("create_if_missing=1;mmap_wal_writes=0");
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    put_range(db, 0, 1000, "w"); /* one record each, only in the WAL */
    tu_assert_ok(strata_close(db));
    DIR *d = opendir(dir);
    struct dirent *e;
    char wal[1024] = "";
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".log") == 0) {
            snprintf(wal, sizeof(wal), "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    assert_true(wal[0] != '\0');
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    flip_bit(wal, (uint64_t)st.st_size / 2);
    char *out = subdir(dir, "salvaged");
    strata_integrity_report r;
    tu_assert_ok(strata_salvage_report(o, dir, out, &r));
    print_message("salvage report:\n%s", r.detail);
    assert_int_equal(r.blocks_unrecoverable, 1);
    assert_int_equal(r.entries_lost_estimate, 1); /* exact: from the sequence numbers around */
    assert_non_null(strstr(r.detail, ".log: offsets "));
    strata_integrity_report_free(&r);
    strata_db *sdb = NULL;
    tu_assert_ok(strata_open(NULL, out, &sdb));
    char v[128];
    int kept = 0;
    for (int i = 0; i < 1000; i++) {
        kept += get_value(sdb, i, v, sizeof(v)) == 0;
    }
    tu_assert_ok(strata_close(sdb));
    print_message("salvage kept %d of 1000 WAL keys\n", kept);
    assert_int_equal(kept, 999);
    tu_assert_ok(strata_repair_report(o, dir, &r));
    assert_int_equal(r.blocks_unrecoverable, 1);
    assert_int_equal(r.entries_lost_estimate, 1);
    strata_integrity_report_free(&r);
    tu_assert_ok(strata_open(NULL, dir, &db));
    kept = 0;
    for (int i = 0; i < 1000; i++) {
        kept += get_value(db, i, v, sizeof(v)) == 0;
    }
    tu_assert_ok(strata_close(db));
    assert_int_equal(kept, 999);
    strata_options_destroy(o);
    free(out);
    tu_free_path(dir);
}

/* ---- a deletion lost in a damaged block ------------------------------------------------------ */

#define NDEL_FROM 800
#define NDEL_TO 900

/* Table A holds key 0..1999 = "old"; the newer table B holds "new" values for 700..799 and
 * 900..999 and deletions of 800..899; the WAL then sets key 850 = "again" and adds 2000..2004.
 * The block of B holding key 850's deletion is damaged.  Returns the DB directory; *b is that
 * block (key indices). */
static char *make_tombstone_db(tblock *b)
{
    char *dir = tu_mkdtemp("salvage-tomb");
    strata_options *o = opts_from("create_if_missing=1;block_size=512;compression=none;"
                                  "write_buffer_size=1MB");
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    put_range(db, 0, 2000, "old");
    tu_assert_ok(strata_flush(db, 1));
    put_range(db, 700, NDEL_FROM, "new");
    char k[32];
    for (int i = NDEL_FROM; i < NDEL_TO; i++) {
        key_of(i, k, sizeof(k));
        tu_assert_ok(strata_delete(db, NULL, k, strlen(k)));
    }
    put_range(db, NDEL_TO, 1000, "new");
    tu_assert_ok(strata_flush(db, 1));
    /* Only in the WAL, newer than anything the damaged block can have held: they stay. */
    put_range(db, 850, 851, "again");
    put_range(db, 2000, 2005, "wal");
    tu_assert_ok(strata_close(db));
    strata_options_destroy(o);
    assert_int_equal(count_files(dir, ".sst"), 2);
    char table[1024];
    newest_table(dir, table, sizeof(table));
    static tlayout l;
    read_layout(table, &l);
    int found = 0;
    for (int i = 0; i < l.nblocks && !found; i++) {
        if (l.blocks[i].first <= 850 && l.blocks[i].last >= 850) {
            *b = l.blocks[i];
            found = 1;
        }
    }
    assert_true(found);
    /* The deletions span several blocks: this one lies strictly inside them. */
    assert_true(b->first > NDEL_FROM && b->last < NDEL_TO - 1);
    flip_bit(table, b->offset + b->size / 2);
    return dir;
}

/* Every key whose deletion was lost stays deleted; keys around it, and keys written after it,
 * keep their newest value. */
static void check_no_resurrection(const char *dir, const tblock *b)
{
    strata_db *db = NULL;
    tu_assert_ok(strata_open(NULL, dir, &db));
    char v[128], want[128];
    for (int i = 0; i < 2005; i++) {
        int rc = get_value(db, i, v, sizeof(v));
        if (i == 850 || i >= 2000) { /* written after the lost deletion: kept */
            tu_assert_ok(rc);
            value_of(i, i == 850 ? "again" : "wal", want, sizeof(want));
            assert_string_equal(v, want);
            continue;
        }
        if (i >= NDEL_FROM && i < NDEL_TO) {
            if (rc != STRATA_E_NOTFOUND) {
                print_error("deleted key %d came back as \"%s\" (lost block %d..%d)\n", i, v,
                            b->first, b->last);
            }
            assert_int_equal(rc, STRATA_E_NOTFOUND);
            continue;
        }
        tu_assert_ok(rc);
        value_of(i, i >= 700 && i < 1000 ? "new" : "old", want, sizeof(want));
        assert_string_equal(v, want);
    }
    tu_assert_ok(strata_close(db));
}

static void test_lost_deletion_salvage(void **state)
{
    (void)state;
    tblock b;
    char *dir = make_tombstone_db(&b);
    char *out = subdir(dir, "salvaged");
    strata_integrity_report r;
    tu_assert_ok(strata_salvage_report(NULL, dir, out, &r));
    print_message("salvage report:\n%s", r.detail);
    assert_int_equal(r.blocks_unrecoverable, 1);
    assert_non_null(strstr(r.detail, "entries dropped"));
    strata_integrity_report_free(&r);
    check_no_resurrection(out, &b);
    free(out);
    tu_free_path(dir);
}

static void test_lost_deletion_repair(void **state)
{
    (void)state;
    tblock b;
    char *dir = make_tombstone_db(&b);
    strata_integrity_report r;
    tu_assert_ok(strata_repair_report(NULL, dir, &r));
    print_message("repair report:\n%s", r.detail);
    assert_int_equal(r.blocks_unrecoverable, 1);
    assert_non_null(strstr(r.detail, "entries dropped"));
    strata_integrity_report_free(&r);
    check_no_resurrection(dir, &b);
    assert_int_equal(count_files(dir, ".corrupt"), 1);
    assert_int_equal(count_files(dir, ".replaced"), 1); /* the older table, fenced */
    tu_free_path(dir);
}

/* ---- arguments and reports ------------------------------------------------------------------ */

static void test_salvage_clean_and_errors(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("salvage-args");
    char *src = subdir(dir, "src"), *dst = subdir(dir, "dst"), *none = subdir(dir, "none");
    strata_options *o = opts_from("create_if_missing=1");
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, src, &db));
    put_range(db, 0, 500, "c");
    tu_assert_ok(strata_flush(db, 1));
    put_range(db, 500, 600, "c");
    tu_assert_ok(strata_close(db));
    strata_integrity_report r;
    tu_assert_ok(strata_salvage_report(NULL, src, dst, &r));
    assert_string_equal(r.detail, "");
    assert_int_equal(r.blocks_unrecoverable, 0);
    assert_int_equal(r.entries_recovered, 600);
    strata_integrity_report_free(&r);
    char *lost = calloc(600, 1);
    assert_int_equal(check_keys(dst, "c", lost, 600), 600);
    /* Into an existing DB: EXISTS, and the DB is left alone. */
    assert_int_equal(strata_salvage_report(NULL, src, dst, &r), STRATA_E_EXISTS);
    strata_integrity_report_free(&r);
    assert_int_equal(check_keys(dst, "c", lost, 600), 600);
    assert_int_equal(strata_salvage(NULL, src, src), STRATA_E_INVALID);
    assert_int_equal(strata_salvage(NULL, none, dst), STRATA_E_NOTFOUND);
    assert_int_equal(access(none, F_OK), -1);
    /* NULL and empty arguments. */
    assert_int_equal(strata_salvage_report(NULL, NULL, dst, &r), STRATA_E_INVALID);
    assert_null(r.detail);
    assert_int_equal(strata_salvage(NULL, src, NULL), STRATA_E_INVALID);
    assert_int_equal(strata_salvage(o, "", dst), STRATA_E_INVALID);
    assert_int_equal(strata_repair_report(NULL, NULL, &r), STRATA_E_INVALID);
    assert_int_equal(strata_repair_report(o, "", NULL), STRATA_E_INVALID);
    strata_integrity_report_free(&r);
    /* Freeing is safe on NULL, on a zeroed report and twice. */
    strata_integrity_report_free(NULL);
    strata_integrity_report zero;
    memset(&zero, 0, sizeof(zero));
    strata_integrity_report_free(&zero);
    strata_integrity_report_free(&zero);
    assert_null(zero.detail);
    strata_options_destroy(o);
    free(lost);
    free(src);
    free(dst);
    free(none);
    tu_free_path(dir);
}

/* The out-of-memory loops run in an in-memory env (no fsync per attempt): a small DB of one
 * table with a damaged block plus a few WAL entries, at /oom/src. */
static strata_env *oom_db(tlayout *l)
{
    strata_env *env = strata_env_create_mem();
    strata_options *o = opts_from("create_if_missing=1;block_size=256;compression=none");
    tu_assert_ok(strata_options_set_env(o, env));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, "/oom/src", &db));
    put_range(db, 0, 300, "m");
    tu_assert_ok(strata_flush(db, 1));
    put_range(db, 300, 320, "m");
    tu_assert_ok(strata_close(db));
    strata_options_destroy(o);
    char **names = NULL, table[64] = "";
    int n = 0;
    tu_assert_ok(st_env_list_dir(env, "/oom/src", &names, &n));
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (len > 4 && strcmp(names[i] + len - 4, ".sst") == 0) {
            snprintf(table, sizeof(table), "/oom/src/%s", names[i]);
        }
    }
    st_env_free_names(names, n);
    assert_true(table[0] != '\0');
    read_layout_env(env, table, l);
    char *data = NULL;
    size_t size = 0;
    tu_assert_ok(st_env_read_file(env, table, 1 << 24, &data, &size));
    data[l->blocks[3].offset + 7] ^= 0x10;
    tu_assert_ok(st_env_write_file(env, table, st_slice_make(data, size), 0));
    st_free(data);
    return env;
}

/* Copies the files of directory from into directory to, in env. */
static void copy_dir_env(st_env *env, const char *from, const char *to)
{
    char **names = NULL;
    int n = 0;
    tu_assert_ok(st_env_create_dir(env, to));
    tu_assert_ok(st_env_list_dir(env, from, &names, &n));
    for (int i = 0; i < n; i++) {
        char a[256], b[256], *data = NULL;
        size_t size = 0;
        snprintf(a, sizeof(a), "%s/%s", from, names[i]);
        snprintf(b, sizeof(b), "%s/%s", to, names[i]);
        tu_assert_ok(st_env_read_file(env, a, 1 << 24, &data, &size));
        tu_assert_ok(st_env_write_file(env, b, st_slice_make(data, size), 0));
        st_free(data);
    }
    st_env_free_names(names, n);
}

/* Opens path in env and counts the keys 0..319 present. */
static int count_oom_keys(strata_env *env, const char *path, int *rc)
{
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_set_env(o, env));
    strata_db *db = NULL;
    int kept = 0;
    *rc = strata_open(o, path, &db);
    if (*rc == 0) {
        char v[128];
        for (int i = 0; i < 320; i++) {
            kept += get_value(db, i, v, sizeof(v)) == 0;
        }
        tu_assert_ok(strata_close(db));
    }
    strata_options_destroy(o);
    return kept;
}

/* Every allocation of a salvage failed in turn: an error (the new DB removed) or a complete
 * copy, never a crash or a leak (the ASan build checks leaks at exit). */
static void test_salvage_out_of_memory(void **state)
{
    (void)state;
    static tlayout l;
    strata_env *env = oom_db(&l);
    strata_options *o = opts_from("info_log=false");
    tu_assert_ok(strata_options_set_env(o, env));
    int n, failed_runs = 0, rc;
    for (n = 0; n < 100000; n++) {
        long fails0 = st_alloc_failures();
        strata_integrity_report r;
        st_alloc_fail_after(n, 0);
        int src = strata_salvage_report(o, "/oom/src", "/oom/dst", &r);
        st_alloc_fail_after(-1, 0);
        int injected = st_alloc_failures() != fails0;
        strata_integrity_report_free(&r);
        int kept = count_oom_keys(env, "/oom/dst", &rc);
        if (src == 0) {
            tu_assert_ok(rc);
            assert_int_equal(kept, 320 - l.blocks[3].n);
            tu_assert_ok(strata_destroy(o, "/oom/dst"));
        } else if (rc == 0) {
            print_error("allocation %d failed (%s) but left a DB behind\n", n,
                        strata_strerror(src));
            fail();
        }
        failed_runs += src != 0;
        if (!injected) {
            break;
        }
    }
    print_message("%d allocation points, %d failed cleanly\n", n, failed_runs);
    assert_true(failed_runs > 0);
    strata_options_destroy(o);
    strata_env_destroy(env);
}

/* Every allocation of a repair failed in turn: an error or a repaired DB, never a crash or a
 * leak, and a second repair (with memory) always finishes the job with the same result. */
static void test_repair_out_of_memory(void **state)
{
    (void)state;
    static tlayout l;
    strata_env *env = oom_db(&l);
    strata_options *o = opts_from("info_log=false");
    tu_assert_ok(strata_options_set_env(o, env));
    int n, failed_runs = 0, rc;
    for (n = 0; n < 100000; n++) {
        copy_dir_env(env, "/oom/src", "/oom/work");
        long fails0 = st_alloc_failures();
        st_alloc_fail_after(n, 0);
        int rrc = strata_repair_report(o, "/oom/work", NULL);
        st_alloc_fail_after(-1, 0);
        int injected = st_alloc_failures() != fails0;
        failed_runs += rrc != 0;
        if (rrc != 0) {
            tu_assert_ok(strata_repair_report(o, "/oom/work", NULL));
        }
        int kept = count_oom_keys(env, "/oom/work", &rc);
        tu_assert_ok(rc);
        if (kept != 320 - l.blocks[3].n) {
            print_error("allocation %d failed (rc %d): %d keys after repairing again\n", n, rrc,
                        kept);
            fail();
        }
        tu_assert_ok(strata_destroy(o, "/oom/work"));
        if (!injected) {
            break;
        }
    }
    print_message("%d allocation points, %d failed cleanly\n", n, failed_runs);
    assert_true(failed_runs > 0);
    strata_options_destroy(o);
    strata_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_flip_repair),
        cmocka_unit_test(test_bit_flip_salvage),
        cmocka_unit_test(test_several_blocks),
        cmocka_unit_test(test_damaged_index_bit),
        cmocka_unit_test(test_damaged_index_and_block),
        cmocka_unit_test(test_damaged_wal_record),
        cmocka_unit_test(test_lost_deletion_salvage),
        cmocka_unit_test(test_lost_deletion_repair),
        cmocka_unit_test(test_salvage_clean_and_errors),
        cmocka_unit_test(test_salvage_out_of_memory),
        cmocka_unit_test(test_repair_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
