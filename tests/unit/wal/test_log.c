/* test_log.c — the record log (wal/log_writer.h, wal/log_reader.h): round trips over block
 * boundaries, appending to an existing log, torn tails of every kind, corruption in the middle
 * (strict and skip_corrupt), hostile headers, allocation and I/O failure, random bit flips.
 *
 * Most tests use in-test files over a byte array, so they can count appends and flushes and
 * damage chosen bytes; one test goes through the real POSIX and in-memory envs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/random.h"
#include "util/status.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

#define BLOCK ST_LOG_BLOCK_SIZE
#define HDR ST_LOG_HEADER_SIZE
#define S_LIT(s) st_slice_make((s), sizeof(s) - 1)

/* ---- in-test files ---- */

typedef struct store {
    char *data;
    size_t len, cap;
    int appends, flushes, syncs, closes;
    int fail_appends; /* append fails with STRATA_E_IO when set */
} store;

typedef struct mem_wfile {
    st_wfile base;
    store *s;
} mem_wfile;

static int mw_append(st_wfile *f, const void *data, size_t n)
{
    store *s = ((mem_wfile *)f)->s;
    if (s->fail_appends) {
        return STRATA_E_IO;
    }
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->data = realloc(s->data, s->cap);
    }
    memcpy(s->data + s->len, data, n);
    s->len += n;
    s->appends++;
    return 0;
}

static int mw_flush(st_wfile *f)
{
    ((mem_wfile *)f)->s->flushes++;
    return 0;
}

static int mw_sync(st_wfile *f)
{
    ((mem_wfile *)f)->s->syncs++;
    return 0;
}

static int mw_close(st_wfile *f)
{
    ((mem_wfile *)f)->s->closes++;
    free(f);
    return 0;
}

static uint64_t mw_size(const st_wfile *f)
{
    return ((const mem_wfile *)f)->s->len;
}

static const struct st_wfile_ops mw_ops = {mw_append, mw_flush, mw_sync, mw_close, mw_size};

static st_wfile *open_w(store *s)
{
    mem_wfile *f = malloc(sizeof(*f));
    assert_non_null(f);
    f->base.ops = &mw_ops;
    f->s = s;
    return &f->base;
}

typedef struct mem_sfile {
    st_sfile base;
    const char *data;
    size_t len, pos;
    int zero_copy; /* return pointers into data instead of copying into scratch */
    int *closes;
    int fail_read_at; /* the nth read fails (0 = never) */
    int reads;
} mem_sfile;

static int ms_read(st_sfile *f, size_t n, char *scratch, st_slice *result)
{
    mem_sfile *m = (mem_sfile *)f;
    if (++m->reads == m->fail_read_at) {
        return STRATA_E_IO;
    }
    size_t k = m->len - m->pos < n ? m->len - m->pos : n;
    if (m->zero_copy) {
        *result = st_slice_make(m->data + m->pos, k);
    } else {
        memcpy(scratch, m->data + m->pos, k);
        *result = st_slice_make(scratch, k);
    }
    m->pos += k;
    return 0;
}

static int ms_skip(st_sfile *f, uint64_t n)
{
    mem_sfile *m = (mem_sfile *)f;
    m->pos = m->len - m->pos < n ? m->len : m->pos + (size_t)n;
    return 0;
}

static int g_sfile_closes;

static void ms_close(st_sfile *f)
{
    (*((mem_sfile *)f)->closes)++;
    free(f);
}

static const struct st_sfile_ops ms_ops = {ms_read, ms_skip, ms_close};

static st_sfile *open_s(const char *data, size_t len, int zero_copy)
{
    mem_sfile *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->base.ops = &ms_ops;
    f->data = data;
    f->len = len;
    f->zero_copy = zero_copy;
    f->closes = &g_sfile_closes;
    return &f->base;
}

/* ---- written records: record i is deterministic bytes of a chosen size ---- */

typedef struct recs {
    size_t n;
    size_t *size;
    uint64_t *off; /* where the writer placed the record's first header */
} recs;

static void fill_record(char *buf, size_t i, size_t size)
{
    for (size_t j = 0; j < size; j++) {
        buf[j] = (char)((i * 131 + j * 7 + (j >> 8)) & 0xff);
    }
    if (size >= 4) {
        memcpy(buf, &i, 4); /* distinct records differ in their first bytes */
    }
}

static char g_rec_buf[4 * BLOCK + 100];

/* Offset of the next record's header when the log currently holds `size` bytes. */
static uint64_t header_offset(uint64_t size)
{
    uint64_t room = BLOCK - size % BLOCK;
    return room < HDR ? size + room : size;
}

static void write_records(store *s, uint64_t initial, recs *r, const size_t *sizes, size_t n)
{
    st_log_writer *w;
    tu_assert_ok(st_log_writer_create(open_w(s), initial, &w));
    size_t base = r->n;
    r->n += n;
    r->size = realloc(r->size, r->n * sizeof(*r->size));
    r->off = realloc(r->off, r->n * sizeof(*r->off));
    for (size_t i = 0; i < n; i++) {
        size_t id = base + i;
        r->size[id] = sizes[i];
        r->off[id] = header_offset(st_log_writer_size(w));
        fill_record(g_rec_buf, id, sizes[i]);
        tu_assert_ok(st_log_writer_add(w, st_slice_make(g_rec_buf, sizes[i])));
        assert_int_equal(st_log_writer_size(w), s->len);
    }
    tu_assert_ok(st_log_writer_sync(w));
    tu_assert_ok(st_log_writer_close(w));
}

static void recs_free(recs *r)
{
    free(r->size);
    free(r->off);
    memset(r, 0, sizeof(*r));
}

static int record_matches(const recs *r, size_t i, st_slice got)
{
    fill_record(g_rec_buf, i, r->size[i]);
    return got.size == r->size[i] && memcmp(got.data, g_rec_buf, got.size) == 0;
}

static st_log_reader *open_reader(const char *data, size_t len, int skip, int zero_copy)
{
    st_log_reader *rd;
    tu_assert_ok(st_log_reader_create(open_s(data, len, zero_copy), "test.log", skip, &rd));
    return rd;
}

/* Reads records [0, upto) in order and returns the reader positioned after them. */
static void expect_records(st_log_reader *rd, const recs *r, size_t from, size_t upto)
{
    for (size_t i = from; i < upto; i++) {
        st_slice rec;
        uint64_t off;
        int rc = st_log_reader_read(rd, &rec, &off);
        if (rc != 1) {
            print_error("record %zu: read returned %d: %s\n", i, rc, st_errmsg());
        }
        assert_int_equal(rc, 1);
        assert_true(record_matches(r, i, rec));
        assert_int_equal(off, r->off[i]);
    }
}

static void expect_eof(st_log_reader *rd, int torn)
{
    st_slice rec;
    uint64_t off;
    assert_int_equal(st_log_reader_read(rd, &rec, &off), 0);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), 0); /* stays at the end */
    assert_int_equal(st_log_reader_torn_tail(rd), torn);
}

/* Reads the whole log and checks it holds exactly r's records, cleanly terminated. */
static void expect_all(const store *s, const recs *r, int zero_copy)
{
    st_log_reader *rd = open_reader(s->data, s->len, 0, zero_copy);
    expect_records(rd, r, 0, r->n);
    expect_eof(rd, 0);
    assert_int_equal(st_log_reader_dropped(rd), 0);
    st_log_reader_close(rd);
}

/* ---- round trips ---- */

static void test_roundtrip_random(void **state)
{
    (void)state;
    st_random rnd;
    st_random_seed(&rnd, tu_seed(501));
    enum { N = 1500 };
    size_t sizes[N];
    const size_t special[] = {
        0, 1, BLOCK - HDR, BLOCK - HDR - 1, BLOCK - HDR + 1, BLOCK, 2 * BLOCK, 3 * BLOCK + 17,
        0, 0, HDR,         BLOCK - 2 * HDR};
    for (size_t i = 0; i < N; i++) {
        sizes[i] = st_random_one_in(&rnd, 8) ? special[st_random_uniform(&rnd, 12)]
                                             : st_random_skewed(&rnd, 16);
    }
    store s = {0};
    recs r = {0};
    write_records(&s, 0, &r, sizes, N);
    assert_true(s.len > 10 * BLOCK);
    expect_all(&s, &r, 0);
    expect_all(&s, &r, 1);
    recs_free(&r);
    free(s.data);
}

/* One append and one flush per record that fits in the current block; one append per fragment
 * otherwise. */
static void test_append_counts(void **state)
{
    (void)state;
    store s = {0};
    st_log_writer *w;
    tu_assert_ok(st_log_writer_create(open_w(&s), 0, &w));
    char buf[3 * BLOCK];
    memset(buf, 'x', sizeof(buf));
    for (int i = 0; i < 10; i++) {
        tu_assert_ok(st_log_writer_add(w, st_slice_make(buf, 100)));
    }
    assert_int_equal(s.appends, 10);
    assert_int_equal(s.flushes, 10);
    tu_assert_ok(st_log_writer_add(w, st_slice_make(buf, 0)));
    assert_int_equal(s.appends, 11);
    /* 2 * BLOCK bytes starting mid-block: three fragments. */
    tu_assert_ok(st_log_writer_add(w, st_slice_make(buf, 2 * BLOCK)));
    assert_int_equal(s.appends, 14);
    assert_int_equal(s.flushes, 12);
    /* Leave 3 bytes in the block: the next record pads and still costs one append. */
    size_t room = BLOCK - s.len % BLOCK;
    tu_assert_ok(st_log_writer_add(w, st_slice_make(buf, room - HDR - 3)));
    assert_int_equal(BLOCK - s.len % BLOCK, 3);
    tu_assert_ok(st_log_writer_add(w, st_slice_make(buf, 10)));
    assert_int_equal(s.appends, 16);
    assert_int_equal(s.len % BLOCK, HDR + 10);
    assert_memory_equal(s.data + s.len - HDR - 10 - 3, "\0\0\0", 3); /* zero padding */
    tu_assert_ok(st_log_writer_sync(w));
    assert_int_equal(s.syncs, 1);
    tu_assert_ok(st_log_writer_close(w));
    assert_int_equal(s.closes, 1);
    free(s.data);
}

/* Checks the header bytes exactly: masked CRC-32C over type then payload, length, type. */
static void test_header_layout(void **state)
{
    (void)state;
    store s = {0};
    st_log_writer *w;
    tu_assert_ok(st_log_writer_create(open_w(&s), 0, &w));
    tu_assert_ok(st_log_writer_add(w, S_LIT("hello")));
    tu_assert_ok(st_log_writer_close(w));
    assert_int_equal(s.len, HDR + 5);
    char typed[6] = {ST_LOG_FULL, 'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(st_decode_fixed32(s.data), st_crc32c_mask(st_crc32c(typed, 6)));
    assert_int_equal(st_decode_fixed16(s.data + 4), 5);
    assert_int_equal(s.data[6], ST_LOG_FULL);
    assert_memory_equal(s.data + HDR, "hello", 5);
    free(s.data);
}

/* Fills the block to every tail size 0..HDR+1 and checks the following records read back. */
static void test_block_tails(void **state)
{
    (void)state;
    for (size_t tail = 0; tail <= HDR + 1; tail++) {
        for (size_t next = 0; next < 3; next++) {
            store s = {0};
            recs r = {0};
            size_t sizes[] = {BLOCK - HDR - tail, next * 5, 3, BLOCK - HDR};
            write_records(&s, 0, &r, sizes, 4);
            assert_int_equal(r.off[1], tail < HDR ? BLOCK : BLOCK - tail);
            expect_all(&s, &r, 0);
            recs_free(&r);
            free(s.data);
        }
    }
}

/* Appending to an existing log through initial_size keeps the block structure. */
static void test_reopen_append(void **state)
{
    (void)state;
    st_random rnd;
    st_random_seed(&rnd, tu_seed(502));
    for (int round = 0; round < 20; round++) {
        store s = {0};
        recs r = {0};
        size_t first[3], second[4];
        for (int i = 0; i < 3; i++) {
            first[i] = st_random_skewed(&rnd, 16);
        }
        if (round == 0) { /* end the first session with a 1..6-byte block tail */
            first[2] = BLOCK - (HDR + first[0]) - (HDR + first[1]) - HDR - 4;
            if (first[0] + first[1] + 3 * HDR + 4 > BLOCK) {
                first[0] = first[1] = 10;
                first[2] = BLOCK - 20 - 3 * HDR - 4;
            }
        }
        for (int i = 0; i < 4; i++) {
            second[i] = st_random_skewed(&rnd, 17);
        }
        write_records(&s, 0, &r, first, 3);
        write_records(&s, s.len, &r, second, 4);
        expect_all(&s, &r, round & 1);
        recs_free(&r);
        free(s.data);
    }
}

/* ---- torn tails ---- */

/* A log of n records; the last one spans several blocks when big_last is set. */
static void build_log(store *s, recs *r, int big_last)
{
    size_t sizes[] = {100, 5000, 0, 20000, 31000, 77, big_last ? 2 * BLOCK + 300 : 900};
    write_records(s, 0, r, sizes, 7);
}

static void expect_prefix_then(const char *data, size_t len, const recs *r, size_t good, int torn)
{
    for (int zc = 0; zc < 2; zc++) {
        st_log_reader *rd = open_reader(data, len, 0, zc);
        expect_records(rd, r, 0, good);
        expect_eof(rd, torn);
        st_log_reader_close(rd);
    }
}

/* Cutting the file anywhere inside the last record: the earlier records, then a torn tail. */
static void test_torn_truncation(void **state)
{
    (void)state;
    for (int big = 0; big < 2; big++) {
        store s = {0};
        recs r = {0};
        build_log(&s, &r, big);
        size_t last = r.n - 1;
        uint64_t prev_end = r.off[last - 1] + HDR + r.size[last - 1];
        for (size_t cut = prev_end + 1; cut < s.len; cut += 97) {
            expect_prefix_then(s.data, cut, &r, last, 1);
        }
        for (size_t b = BLOCK; b < s.len; b += BLOCK) { /* around block boundaries */
            for (size_t d = b - 1; d <= b + HDR && d < s.len; d++) {
                if (d > prev_end) {
                    expect_prefix_then(s.data, d, &r, last, 1);
                }
            }
        }
        expect_prefix_then(s.data, r.off[last] + HDR, &r, last, 1); /* header, no payload */
        /* Exactly at a record boundary: clean. */
        expect_prefix_then(s.data, prev_end, &r, last, 0);
        expect_prefix_then(s.data, s.len, &r, r.n, 0);
        /* Header cut short: 1..6 bytes of the last header. */
        for (size_t k = 1; k < HDR; k++) {
            expect_prefix_then(s.data, r.off[last] + k, &r, last, 1);
        }
        recs_free(&r);
        free(s.data);
    }
}

/* Zero-filled space after the log (preallocation, or a size extended without data). */
static void test_torn_zero_fill(void **state)
{
    (void)state;
    store s = {0};
    recs r = {0};
    build_log(&s, &r, 1);
    size_t sizes_to_add[] = {1, HDR, 1000, BLOCK, 3 * BLOCK + 5};
    for (size_t i = 0; i < 5; i++) {
        size_t len = s.len + sizes_to_add[i];
        char *buf = calloc(1, len);
        assert_non_null(buf);
        memcpy(buf, s.data, s.len);
        expect_prefix_then(buf, len, &r, r.n, 1);
        /* The last record's payload never reached the disk: header intact, zeros after. */
        size_t last = r.n - 1;
        memset(buf + r.off[last] + HDR, 0, s.len - r.off[last] - HDR);
        expect_prefix_then(buf, len, &r, last, 1);
        /* Zeros over the whole last record (header included). */
        memset(buf + r.off[last], 0, s.len - r.off[last]);
        expect_prefix_then(buf, len, &r, last, 1);
        free(buf);
    }
    recs_free(&r);
    free(s.data);
}

/* An append into zero-filled preallocated space (a mapped WAL) killed mid-copy: the last
 * fragment's header and part of its payload are there, zeros follow.  Even when the written part
 * of the payload holds bytes that form a valid fragment (user data that looks like log data),
 * it is a torn tail — but damage followed by more log data is still corruption. */
static size_t put_fragment(char *p, int type, const char *payload, size_t n);

static void test_torn_mid_copy_in_zero_space(void **state)
{
    (void)state;
    enum { PAY = 3000, SPACE = 4 * BLOCK };
    char *buf = calloc(1, SPACE);
    assert_non_null(buf);
    size_t n = put_fragment(buf, ST_LOG_FULL, "first", 5);
    char payload[PAY];
    memset(payload, 'x', sizeof(payload));
    put_fragment(payload + 100, ST_LOG_FULL, "inner", 5); /* a log fragment inside user data */
    size_t torn_at = n;
    n += put_fragment(buf + n, ST_LOG_FULL, payload, PAY);
    memset(buf + torn_at + HDR + 1000, 0, PAY - 1000); /* only 1000 payload bytes were copied */
    for (int zc = 0; zc < 2; zc++) {
        st_log_reader *rd = open_reader(buf, SPACE, 0, zc);
        st_slice rec;
        uint64_t off;
        assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
        tu_assert_bytes_equal(rec.data, rec.size, "first", 5);
        expect_eof(rd, 1);
        st_log_reader_close(rd);
    }
    /* The same damage with a valid fragment after it (in the next block): corruption. */
    put_fragment(buf + BLOCK, ST_LOG_FULL, "later", 5);
    st_log_reader *rd = open_reader(buf, SPACE, 0, 0);
    st_slice rec;
    uint64_t off;
    assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_CORRUPTION);
    st_log_reader_close(rd);
    free(buf);
}

/* A multi-block record whose LAST fragment never made it: FIRST (+ MIDDLE) at EOF. */
static void test_torn_missing_last(void **state)
{
    (void)state;
    store s = {0};
    recs r = {0};
    size_t sizes[] = {10, 3 * BLOCK};
    write_records(&s, 0, &r, sizes, 2);
    for (size_t blocks = 1; blocks <= 3; blocks++) {
        expect_prefix_then(s.data, blocks * BLOCK, &r, 1, 1);
    }
    recs_free(&r);
    free(s.data);
}

/* Random bytes after the log read as a torn tail (no valid fragment hides in them). */
static void test_torn_garbage(void **state)
{
    (void)state;
    st_random rnd;
    st_random_seed(&rnd, tu_seed(503));
    store s = {0};
    recs r = {0};
    build_log(&s, &r, 0);
    size_t extra = 2 * BLOCK + 1234;
    char *buf = malloc(s.len + extra);
    assert_non_null(buf);
    memcpy(buf, s.data, s.len);
    st_random_bytes(&rnd, buf + s.len, extra);
    expect_prefix_then(buf, s.len + extra, &r, r.n, 1);
    free(buf);
    recs_free(&r);
    free(s.data);
}

/* The last fragment's length field points past its block: torn if nothing valid follows. */
static void test_torn_length_past_block(void **state)
{
    (void)state;
    store s = {0};
    recs r = {0};
    build_log(&s, &r, 0);
    size_t last = r.n - 1;
    st_encode_fixed16(s.data + r.off[last] + 4, 0xffff);
    expect_prefix_then(s.data, s.len, &r, last, 1);
    recs_free(&r);
    free(s.data);
}

/* ---- corruption in the middle ---- */

static void expect_corruption_at(const char *data, size_t len, const recs *r, size_t good,
                                 uint64_t off)
{
    st_log_reader *rd = open_reader(data, len, 0, 0);
    expect_records(rd, r, 0, good);
    st_slice rec;
    uint64_t o;
    assert_int_equal(st_log_reader_read(rd, &rec, &o), STRATA_E_CORRUPTION);
    char want[64];
    snprintf(want, sizeof(want), "offset %llu", (unsigned long long)off);
    if (!strstr(st_errmsg(), want) || !strstr(st_errmsg(), "test.log")) {
        print_error("message \"%s\" lacks \"test.log\" or \"%s\"\n", st_errmsg(), want);
        fail();
    }
    st_err_clear();
    assert_int_equal(st_log_reader_read(rd, &rec, &o), STRATA_E_CORRUPTION); /* sticky */
    assert_non_null(strstr(st_errmsg(), want));
    st_log_reader_close(rd);
}

/* skip_corrupt: every record except those in skip[] comes back, in order. */
static void expect_skipped(const char *data, size_t len, const recs *r, const size_t *skip,
                           size_t nskip, uint64_t dropped)
{
    st_log_reader *rd = open_reader(data, len, 1, 1);
    for (size_t i = 0, k = 0; i < r->n; i++) {
        if (k < nskip && skip[k] == i) {
            k++;
            continue;
        }
        expect_records(rd, r, i, i + 1);
    }
    expect_eof(rd, 0);
    assert_int_equal(st_log_reader_dropped(rd), dropped);
    st_log_reader_close(rd);
}

static char *copy_of(const store *s)
{
    char *b = malloc(s->len);
    assert_non_null(b);
    memcpy(b, s->data, s->len);
    return b;
}

static void test_corrupt_payload(void **state)
{
    (void)state;
    store s = {0};
    recs r = {0};
    build_log(&s, &r, 1);
    /* Record 1 (5000 bytes, a FULL fragment mid-block): flip a payload byte. */
    char *b = copy_of(&s);
    b[r.off[1] + HDR + 2500] ^= 0x10;
    expect_corruption_at(b, s.len, &r, 1, r.off[1]);
    size_t skip[] = {1};
    expect_skipped(b, s.len, &r, skip, 1, HDR + r.size[1]);
    free(b);
    /* The stored checksum itself. */
    b = copy_of(&s);
    b[r.off[5]] ^= 0x01;
    expect_corruption_at(b, s.len, &r, 5, r.off[5]);
    size_t skip5[] = {5};
    expect_skipped(b, s.len, &r, skip5, 1, HDR + r.size[5]);
    free(b);
    recs_free(&r);
    free(s.data);
}

static void test_corrupt_header_fields(void **state)
{
    (void)state;
    store s = {0};
    recs r = {0};
    build_log(&s, &r, 1);
    const unsigned char types[] = {0, 5, 0xff, ST_LOG_MIDDLE, ST_LOG_LAST};
    for (size_t t = 0; t < sizeof(types); t++) {
        char *b = copy_of(&s);
        b[r.off[1] + 6] = (char)types[t]; /* record 1's type byte */
        expect_corruption_at(b, s.len, &r, 1, r.off[1]);
        free(b);
    }
    /* Length fields: shorter, longer within the block, past the block. */
    const uint16_t lens[] = {1, 4999, 5001, 20000, 0xffff};
    for (size_t l = 0; l < 5; l++) {
        char *b = copy_of(&s);
        st_encode_fixed16(b + r.off[1] + 4, lens[l]);
        expect_corruption_at(b, s.len, &r, 1, r.off[1]);
        free(b);
    }
    recs_free(&r);
    free(s.data);
}

/* Damage in the last block with valid fragments after it in the same block is corruption, even
 * when the damaged length field hides where the next fragment starts. */
static void test_corrupt_in_last_block(void **state)
{
    (void)state;
    store s = {0};
    recs r = {0};
    size_t sizes[] = {100, 200, 300, 400};
    write_records(&s, 0, &r, sizes, 4);
    /* Past the block; covering every later fragment up to exactly the end of the file; short. */
    const uint16_t lens[] = {0xffff, (uint16_t)(s.len - r.off[1] - HDR), 150, 0};
    for (size_t l = 0; l < 4; l++) {
        char *b = copy_of(&s);
        st_encode_fixed16(b + r.off[1] + 4, lens[l]);
        expect_corruption_at(b, s.len, &r, 1, r.off[1]);
        free(b);
    }
    /* A length past the end of the file (but inside the block) looks exactly like an
     * interrupted append, so it reads as a torn tail: the documented limit of the rule. */
    char *t = copy_of(&s);
    st_encode_fixed16(t + r.off[1] + 4, (uint16_t)(s.len - r.off[1]));
    expect_prefix_then(t, s.len, &r, 1, 1);
    free(t);
    char *b = copy_of(&s);
    b[r.off[1] + 6] = 0; /* zero type with valid fragments after it */
    expect_corruption_at(b, s.len, &r, 1, r.off[1]);
    free(b);
    recs_free(&r);
    free(s.data);
}

/* A multi-block record with a damaged MIDDLE fragment: the whole record goes, and the orphaned
 * LAST fragment is dropped with it in skip mode. */
static void test_corrupt_multiblock(void **state)
{
    (void)state;
    store s = {0};
    recs r = {0};
    size_t sizes[] = {10, 3 * BLOCK, 50, 60};
    write_records(&s, 0, &r, sizes, 4);
    char *b = copy_of(&s);
    b[BLOCK + HDR + 100] ^= 0x40; /* block 1 holds the MIDDLE fragment of record 1 */
    expect_corruption_at(b, s.len, &r, 1, BLOCK);
    size_t skip[] = {1};
    expect_skipped(b, s.len, &r, skip, 1, r.off[2] - r.off[1]);
    free(b);
    /* The FIRST fragment damaged: MIDDLE/LAST become orphans. */
    b = copy_of(&s);
    b[r.off[1] + HDR + 3] ^= 0x01;
    expect_corruption_at(b, s.len, &r, 1, r.off[1]);
    expect_skipped(b, s.len, &r, skip, 1, r.off[2] - r.off[1]);
    free(b);
    recs_free(&r);
    free(s.data);
}

/* A whole damaged block in the middle of the log: corruption at its start; skip mode loses just
 * the records that had bytes in it. */
static void test_corrupt_whole_block(void **state)
{
    (void)state;
    st_random rnd;
    st_random_seed(&rnd, tu_seed(504));
    store s = {0};
    recs r = {0};
    size_t sizes[60];
    for (int i = 0; i < 60; i++) {
        sizes[i] = 3000;
    }
    write_records(&s, 0, &r, sizes, 60);
    assert_true(s.len > 4 * BLOCK);
    char *b = copy_of(&s);
    st_random_bytes(&rnd, b + BLOCK, BLOCK);
    /* Records touching block 1 are lost: the one straddling into it (its tail is damaged). */
    size_t first_lost = 0, nlost = 0, skip[60];
    uint64_t lost_from = 0, resume = 0;
    for (size_t i = 0; i < r.n; i++) {
        uint64_t end =
            r.off[i] + r.size[i] + HDR * (1 + (r.off[i] % BLOCK + HDR + r.size[i] > BLOCK));
        if (end > BLOCK && r.off[i] < 2 * BLOCK) {
            if (!nlost) {
                first_lost = i;
                lost_from = r.off[i];
            }
            skip[nlost++] = i;
            resume = r.off[i + 1];
        }
    }
    assert_true(nlost > 0);
    uint64_t bad_at = r.off[first_lost] < BLOCK ? BLOCK : r.off[first_lost];
    expect_corruption_at(b, s.len, &r, first_lost, bad_at);
    expect_skipped(b, s.len, &r, skip, nlost, resume - lost_from);
    free(b);
    recs_free(&r);
    free(s.data);
}

/* ---- hostile input ---- */

/* Writes one fragment at p (valid checksum) and returns the bytes used. */
static size_t put_fragment(char *p, int type, const char *payload, size_t n)
{
    char *typed = malloc(n + 1);
    assert_non_null(typed);
    typed[0] = (char)type;
    memcpy(typed + 1, payload, n);
    st_encode_fixed32(p, st_crc32c_mask(st_crc32c(typed, n + 1)));
    st_encode_fixed16(p + 4, (uint16_t)n);
    p[6] = (char)type;
    memcpy(p + HDR, payload, n);
    free(typed);
    return HDR + n;
}

static void test_hostile_headers(void **state)
{
    (void)state;
    char buf[3 * BLOCK];
    st_slice rec;
    uint64_t off;
    /* A header claiming 65535 bytes in a 20-byte file. */
    memset(buf, 0, sizeof(buf));
    st_encode_fixed32(buf, 0x12345678);
    st_encode_fixed16(buf + 4, 0xffff);
    buf[6] = ST_LOG_FULL;
    st_log_reader *rd = open_reader(buf, 20, 0, 0);
    expect_eof(rd, 1);
    st_log_reader_close(rd);
    /* Same header with valid fragments in the next block: corruption at offset 0. */
    put_fragment(buf + BLOCK, ST_LOG_FULL, "ok", 2);
    rd = open_reader(buf, BLOCK + HDR + 2, 0, 0);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "offset 0"));
    st_log_reader_close(rd);
    rd = open_reader(buf, BLOCK + HDR + 2, 1, 0);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
    tu_assert_bytes_equal(rec.data, rec.size, "ok", 2);
    assert_int_equal(off, BLOCK);
    assert_int_equal(st_log_reader_dropped(rd), BLOCK);
    expect_eof(rd, 0);
    st_log_reader_close(rd);
    /* An orphan LAST, then FIRST followed by FULL (record without its end), in one block. */
    size_t n = put_fragment(buf, ST_LOG_LAST, "aa", 2);
    n += put_fragment(buf + n, ST_LOG_FIRST, "bb", 2);
    size_t full_at = n;
    n += put_fragment(buf + n, ST_LOG_FULL, "cc", 2);
    rd = open_reader(buf, n, 0, 0);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "offset 0"));
    st_log_reader_close(rd);
    rd = open_reader(buf, n, 1, 0);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
    tu_assert_bytes_equal(rec.data, rec.size, "cc", 2);
    assert_int_equal(off, full_at);
    assert_int_equal(st_log_reader_dropped(rd), full_at);
    expect_eof(rd, 0);
    st_log_reader_close(rd);
    /* FIRST then FULL in strict mode: the unfinished record is the corruption. */
    n = put_fragment(buf, ST_LOG_FIRST, "bb", 2);
    n += put_fragment(buf + n, ST_LOG_FULL, "cc", 2);
    rd = open_reader(buf, n, 0, 0);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "offset 0"));
    assert_non_null(strstr(st_errmsg(), "no last fragment"));
    st_log_reader_close(rd);
    /* Every header in a file of 0xff bytes is hostile; nothing valid anywhere: torn tail. */
    memset(buf, 0xff, sizeof(buf));
    rd = open_reader(buf, sizeof(buf), 0, 1);
    expect_eof(rd, 1);
    st_log_reader_close(rd);
    /* An empty file is a clean, empty log. */
    rd = open_reader(buf, 0, 0, 0);
    expect_eof(rd, 0);
    st_log_reader_close(rd);
}

/* Worst case for the resync search: every position looks like a long FULL fragment. */
static void test_hostile_scan_cost(void **state)
{
    (void)state;
    size_t len = 16 * BLOCK;
    char *buf = malloc(len);
    assert_non_null(buf);
    /* At every even position: type FULL, length 0x3f01 (16129), so about 8000 candidates per
     * block would each need a 16 KiB checksum without the scan budget. */
    for (size_t i = 0; i < len; i++) {
        buf[i] = (char)(i % 2 ? 0x3f : ST_LOG_FULL);
    }
    for (int skip = 0; skip < 2; skip++) {
        st_log_reader *rd = open_reader(buf, len, skip, 0);
        expect_eof(rd, 1); /* finishes quickly thanks to the per-block scan budget */
        st_log_reader_close(rd);
    }
    free(buf);
}

/* ---- failures ---- */

static void test_alloc_failures(void **state)
{
    (void)state;
    for (long k = 0; k < 2; k++) {
        store s = {0};
        st_log_writer *w = (st_log_writer *)&s;
        st_alloc_fail_after(k, 0);
        assert_int_equal(st_log_writer_create(open_w(&s), 0, &w), STRATA_E_NOMEM);
        st_alloc_fail_after(-1, 0);
        assert_null(w);
        assert_int_equal(s.closes, 1); /* ownership was taken: the file is closed */
    }
    for (long k = 0; k < 3; k++) {
        st_log_reader *rd = (st_log_reader *)&k;
        int before = g_sfile_closes;
        st_alloc_fail_after(k, 0);
        assert_int_equal(st_log_reader_create(open_s("", 0, 0), "x", 0, &rd), STRATA_E_NOMEM);
        st_alloc_fail_after(-1, 0);
        assert_null(rd);
        assert_int_equal(g_sfile_closes, before + 1);
    }
    /* Assembling a multi-fragment record fails: the error is returned and sticks. */
    store s = {0};
    recs r = {0};
    size_t sizes[] = {2 * BLOCK};
    write_records(&s, 0, &r, sizes, 1);
    st_log_reader *rd = open_reader(s.data, s.len, 0, 0);
    st_slice rec;
    uint64_t off;
    st_alloc_fail_after(0, 1);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_NOMEM);
    st_alloc_fail_after(-1, 0);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_NOMEM);
    st_log_reader_close(rd);
    recs_free(&r);
    free(s.data);
}

static void test_io_failures(void **state)
{
    (void)state;
    store s = {0};
    st_log_writer *w;
    tu_assert_ok(st_log_writer_create(open_w(&s), 0, &w));
    tu_assert_ok(st_log_writer_add(w, S_LIT("one")));
    s.fail_appends = 1;
    assert_int_equal(st_log_writer_add(w, S_LIT("two")), STRATA_E_IO);
    s.fail_appends = 0;
    assert_int_equal(st_log_writer_add(w, S_LIT("three")), STRATA_E_IO); /* sticky */
    assert_int_equal(st_log_writer_sync(w), STRATA_E_IO);
    tu_assert_ok(st_log_writer_close(w));
    assert_int_equal(st_log_writer_create(NULL, 0, &w), STRATA_E_INVALID);
    tu_assert_ok(st_log_writer_close(NULL));

    mem_sfile *f = (mem_sfile *)open_s(s.data, s.len, 0);
    f->fail_read_at = 1;
    st_log_reader *rd;
    tu_assert_ok(st_log_reader_create(&f->base, "io.log", 0, &rd));
    st_slice rec;
    uint64_t off;
    assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_IO);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_IO);
    st_log_reader_close(rd);
    st_log_reader_close(NULL);
    assert_int_equal(st_log_reader_create(NULL, "x", 0, &rd), STRATA_E_INVALID);

    /* A read failing while searching past a damaged block, and while loading the next block. */
    char *b = calloc(1, 3 * BLOCK);
    assert_non_null(b);
    b[6] = 9; /* bad type at offset 0: the search reads on into block 1 */
    put_fragment(b + BLOCK, ST_LOG_FIRST, "x", 1);
    for (int at = 2; at <= 3; at++) {
        f = (mem_sfile *)open_s(b, 3 * BLOCK, 0);
        f->fail_read_at = at;
        tu_assert_ok(st_log_reader_create(&f->base, "io.log", at == 3, &rd));
        assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_IO);
        assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_IO);
        st_log_reader_close(rd);
    }
    free(b);
    free(s.data);
}

/* ---- random bit flips: never crash, never return a record that was not written ---- */

static void flip_round(const store *s, const recs *r, st_random *rnd, int skip)
{
    char *b = copy_of(s);
    int flips = 1 + (int)st_random_uniform(rnd, 8);
    for (int i = 0; i < flips; i++) {
        size_t at = st_random_uniform(rnd, s->len);
        b[at] ^= (char)(1u << st_random_uniform(rnd, 8));
    }
    size_t len = st_random_one_in(rnd, 4) ? st_random_uniform(rnd, s->len + 1) : s->len;
    st_log_reader *rd = open_reader(b, len, skip, (int)st_random_uniform(rnd, 2));
    size_t next = 0; /* returned records must be written records, in order */
    st_slice rec;
    uint64_t off;
    int rc;
    while ((rc = st_log_reader_read(rd, &rec, &off)) == 1) {
        while (next < r->n && !record_matches(r, next, rec)) {
            assert_true(skip); /* strict mode may not skip anything */
            next++;
        }
        if (next == r->n) {
            print_error("returned a record (%zu bytes at %llu) that was never written\n", rec.size,
                        (unsigned long long)off);
            fail();
        }
        next++;
    }
    assert_true(rc == 0 || (rc == STRATA_E_CORRUPTION && !skip));
    st_log_reader_close(rd);
    free(b);
}

static void test_random_bit_flips(void **state)
{
    (void)state;
    st_random rnd;
    st_random_seed(&rnd, tu_seed(505));
    store s = {0};
    recs r = {0};
    size_t sizes[120];
    for (int i = 0; i < 120; i++) {
        sizes[i] = st_random_one_in(&rnd, 10) ? BLOCK + st_random_uniform(&rnd, BLOCK)
                                              : st_random_skewed(&rnd, 12);
    }
    write_records(&s, 0, &r, sizes, 120);
    int rounds = (int)(300 * tu_scale());
    for (int i = 0; i < rounds; i++) {
        flip_round(&s, &r, &rnd, i & 1);
    }
    recs_free(&r);
    free(s.data);
}

/* ---- through real envs ---- */

static void env_roundtrip(st_env *env, const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/000001.log", dir);
    st_wfile *wf;
    tu_assert_ok(st_env_new_writable(env, path, &wf));
    st_log_writer *w;
    tu_assert_ok(st_log_writer_create(wf, 0, &w));
    static char big[2 * BLOCK + 11];
    memset(big, 'b', sizeof(big));
    tu_assert_ok(st_log_writer_add(w, S_LIT("first")));
    tu_assert_ok(st_log_writer_add(w, st_slice_make(big, sizeof(big))));
    tu_assert_ok(st_log_writer_add(w, S_LIT("")));
    tu_assert_ok(st_log_writer_sync(w));
    uint64_t size = st_log_writer_size(w);
    tu_assert_ok(st_log_writer_close(w));
    uint64_t fsize;
    tu_assert_ok(st_env_file_size(env, path, &fsize));
    assert_int_equal(fsize, size);

    st_sfile *sf;
    tu_assert_ok(st_env_new_sequential(env, path, &sf));
    st_log_reader *rd;
    tu_assert_ok(st_log_reader_create(sf, path, 0, &rd));
    st_slice rec;
    uint64_t off;
    assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
    tu_assert_bytes_equal(rec.data, rec.size, "first", 5);
    assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
    tu_assert_bytes_equal(rec.data, rec.size, big, sizeof(big));
    assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
    assert_int_equal(rec.size, 0);
    expect_eof(rd, 0);
    st_log_reader_close(rd);
}

static void test_real_envs(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("log");
    assert_non_null(dir);
    env_roundtrip(st_env_posix(), dir);
    tu_free_path(dir);
    st_env *mem = st_env_mem_create();
    assert_non_null(mem);
    tu_assert_ok(st_env_create_dir(mem, "/db"));
    env_roundtrip(mem, "/db");
    mem->ops->destroy(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_append_counts),
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_block_tails),
        cmocka_unit_test(test_reopen_append),
        cmocka_unit_test(test_torn_truncation),
        cmocka_unit_test(test_torn_zero_fill),
        cmocka_unit_test(test_torn_mid_copy_in_zero_space),
        cmocka_unit_test(test_torn_missing_last),
        cmocka_unit_test(test_torn_garbage),
        cmocka_unit_test(test_torn_length_past_block),
        cmocka_unit_test(test_corrupt_payload),
        cmocka_unit_test(test_corrupt_header_fields),
        cmocka_unit_test(test_corrupt_in_last_block),
        cmocka_unit_test(test_corrupt_multiblock),
        cmocka_unit_test(test_corrupt_whole_block),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_hostile_scan_cost),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_io_failures),
        cmocka_unit_test(test_random_bit_flips),
        cmocka_unit_test(test_real_envs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
