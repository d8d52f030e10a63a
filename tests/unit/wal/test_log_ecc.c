/* test_log_ecc.c — parity-protected record logs (wal/log_parity.h, the parity flag of
 * wal/log_seal.h, healing in wal/log_reader.c), written and read over the in-memory env.
 *
 * Properties: the header and record layout match docs/FORMAT.md; every single-bit flip in the
 * payload area of a small log heals (XOR and RS, encrypted and not), as do sampled flips in the
 * fragments of a multi-block record and two flips in different fragments of one record (RS);
 * damage beyond the parity gives exactly what the reader reports for the same bytes without
 * healing (torn tail or corruption, same offsets and messages, same bytes dropped), counted as
 * unrecoverable unless it is a torn tail; a log cut at any byte reads as a clean prefix, exactly
 * as without parity; a record whose fragments are intact but whose inner CRC fails heals or is
 * corruption; a parity-only log is refused where encryption is required; allocation failures.
 *
 * "Without healing" is a reference log: the same file with the header record's payload zeroed
 * (and its fragment checksum fixed), so the reader sees no header, applies no parity, and returns
 * the stored records as they are; every later byte is identical. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/integrity.h"
#include "env/env.h"
#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/random.h"
#include "util/status.h"
#include "wal/log_format.h"
#include "wal/log_parity.h"
#include "wal/log_reader.h"
#include "wal/log_seal.h"
#include "wal/log_writer.h"

#define BLOCK ST_LOG_BLOCK_SIZE
#define HDR ST_LOG_HEADER_SIZE
#define MAXR 32
#define NUMBER 7
#define KIND ST_CRYPT_FILE_WAL
#define PATH "/t/000007.log"

static st_env *g_env;

static int setup(void **state)
{
    (void)state;
    g_env = st_env_mem_create();
    assert_non_null(g_env);
    tu_assert_ok(st_env_create_dir(g_env, "/t"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    g_env->ops->destroy(g_env);
    g_env = NULL;
    return 0;
}

/* ---- integrity settings: parity kind, shards, encryption ---- */

typedef struct cfg {
    int kind, k, m, encrypt;
} cfg;

static const cfg g_cfgs[] = {
    {ST_ECC_XOR, 8, 1, 0}, {ST_ECC_RS, 8, 2, 0}, {ST_ECC_XOR, 4, 1, 1}, {ST_ECC_RS, 4, 3, 1}};
#define NCFG (sizeof(g_cfgs) / sizeof(g_cfgs[0]))

static int key_get(void *state, uint32_t id, unsigned char *key)
{
    (void)state;
    memset(key, 0x40 + (int)id, 32);
    return 0;
}

static int key_current(void *state, uint32_t *id)
{
    (void)state;
    *id = 3;
    return 0;
}

static st_integrity *integ_new(const cfg *c)
{
    st_integrity *in = calloc(1, sizeof(*in));
    assert_non_null(in);
    in->ecc.kind = c->kind;
    in->ecc.k = c->k;
    in->ecc.m = c->m;
    memset(in->db_id, 0x5a, ST_DB_ID_LEN);
    atomic_init(&in->healed, 0);
    atomic_init(&in->unrecoverable, 0);
    if (c->encrypt) {
        tu_assert_ok(st_key_provider_create(NULL, key_get, key_current, NULL, &in->kp));
        in->encrypt = 1; /* as IDENTITY says for a DB created encrypted */
        in->require_encrypted = 1;
        in->encrypted_since = 0;
    }
    return in;
}

static void integ_free(st_integrity *in)
{
    st_key_provider_unref(in->kp);
    free(in);
}

static uint64_t healed(st_integrity *in)
{
    return atomic_load(&in->healed);
}

static uint64_t unrecoverable(st_integrity *in)
{
    return atomic_load(&in->unrecoverable);
}

static void counters_reset(st_integrity *in)
{
    atomic_store(&in->healed, 0);
    atomic_store(&in->unrecoverable, 0);
}

/* ---- writing ---- */

static void fill_record(char *buf, size_t i, size_t size)
{
    for (size_t j = 0; j < size; j++) {
        buf[j] = (char)((i * 131 + j * 7 + (j >> 8)) & 0xff);
    }
    if (size >= 4) {
        memcpy(buf, &i, 4);
    }
}

static char g_rec[4 * BLOCK];

typedef struct log_img {
    char *data;
    size_t len;
    uint64_t hdr_end; /* end of the header record (0: none) */
    int n;
    size_t size[MAXR];
    uint64_t off[MAXR], end[MAXR]; /* first fragment header, end of the last fragment */
} log_img;

static uint64_t header_offset(uint64_t size)
{
    uint64_t room = BLOCK - size % BLOCK;
    return room < HDR ? size + room : size;
}

static void write_log(log_img *g, st_integrity *in, const size_t *sizes, int n)
{
    memset(g, 0, sizeof(*g));
    st_wfile *f;
    st_log_writer *w;
    tu_assert_ok(st_env_new_writable(g_env, PATH, &f));
    tu_assert_ok(st_log_writer_create(f, 0, &w));
    tu_assert_ok(st_log_writer_protect(w, in, NUMBER, KIND));
    g->hdr_end = st_log_writer_size(w);
    assert_true(n <= MAXR);
    for (int i = 0; i < n; i++) {
        g->size[i] = sizes[i];
        g->off[i] = header_offset(st_log_writer_size(w));
        fill_record(g_rec, (size_t)i, sizes[i]);
        tu_assert_ok(st_log_writer_add(w, st_slice_make(g_rec, sizes[i])));
        g->end[i] = st_log_writer_size(w);
    }
    g->n = n;
    tu_assert_ok(st_log_writer_sync(w));
    tu_assert_ok(st_log_writer_close(w));
    tu_assert_ok(st_env_read_file(g_env, PATH, SIZE_MAX, &g->data, &g->len));
    assert_int_equal(g->len, g->end[n - 1]);
}

static char *dup_bytes(const char *p, size_t n)
{
    char *b = malloc(n ? n : 1);
    assert_non_null(b);
    memcpy(b, p, n);
    return b;
}

/* The reference image: the header record's payload zeroed, its checksum fixed. */
static char *reference_of(const log_img *g)
{
    char *b = dup_bytes(g->data, g->len);
    size_t n = st_decode_fixed16(b + 4);
    assert_int_equal(HDR + n, g->hdr_end);
    memset(b + HDR, 0, n);
    char *typed = calloc(1, n + 1);
    assert_non_null(typed);
    typed[0] = ST_LOG_FULL;
    st_encode_fixed32(b, st_crc32c_mask(st_crc32c(typed, n + 1)));
    free(typed);
    return b;
}

/* ---- reading ---- */

typedef struct outcome {
    int n;
    uint64_t off[MAXR];
    int rc; /* the last read's result: 0 at the end, or an error */
    char msg[400];
    uint64_t dropped;
    int torn;
    int bogus; /* a returned record that was never written (parity reader only) */
} outcome;

/* Reads data[0, len) with in's keys (reference: without; the zeroed header record at offset 0
 * is not counted). */
static void read_log(const char *data, size_t len, st_integrity *in, int skip, const log_img *g,
                     int reference, outcome *o)
{
    memset(o, 0, sizeof(*o));
    tu_assert_ok(st_env_write_file(g_env, "/t/r.log", st_slice_make(data, len), 0));
    st_sfile *f;
    st_log_reader *rd;
    tu_assert_ok(st_env_new_sequential(g_env, "/t/r.log", &f));
    tu_assert_ok(st_log_reader_create(f, "r.log", skip, &rd));
    if (!reference) {
        st_log_reader_set_integrity(rd, in, NUMBER, KIND);
    }
    st_slice rec;
    uint64_t off;
    int rc;
    while ((rc = st_log_reader_read(rd, &rec, &off)) == 1) {
        if (reference && off == 0) {
            continue;
        }
        assert_true(o->n < MAXR);
        o->off[o->n++] = off;
        if (reference) {
            continue;
        }
        int i = 0;
        while (i < g->n && g->off[i] != off) {
            i++;
        }
        if (i == g->n || rec.size != g->size[i]) {
            o->bogus = 1;
            continue;
        }
        fill_record(g_rec, (size_t)i, g->size[i]);
        o->bogus |= memcmp(rec.data, g_rec, rec.size) != 0;
    }
    o->rc = rc;
    if (rc) {
        snprintf(o->msg, sizeof(o->msg), "%s", st_errmsg());
    }
    o->dropped = st_log_reader_dropped(rd);
    o->torn = st_log_reader_torn_tail(rd);
    st_log_reader_close(rd);
}

static void print_outcome(const char *what, const outcome *o)
{
    print_error("%s: %d records (", what, o->n);
    for (int i = 0; i < o->n; i++) {
        print_error("%s%llu", i ? " " : "", (unsigned long long)o->off[i]);
    }
    print_error("), rc %d \"%s\", dropped %llu, torn %d, bogus %d\n", o->rc, o->msg,
                (unsigned long long)o->dropped, o->torn, o->bogus);
}

static void expect_same(const outcome *a, const outcome *b, const char *ctx)
{
    int same = a->n == b->n && a->rc == b->rc && strcmp(a->msg, b->msg) == 0 &&
               a->dropped == b->dropped && a->torn == b->torn;
    for (int i = 0; same && i < a->n; i++) {
        same = a->off[i] == b->off[i];
    }
    if (!same || a->bogus) {
        print_error("%s\n", ctx);
        print_outcome("parity   ", a);
        print_outcome("reference", b);
        fail();
    }
}

/* The whole log came back, intact and cleanly terminated. */
static void expect_all(const outcome *o, const log_img *g, const char *ctx)
{
    int ok = o->n == g->n && o->rc == 0 && !o->torn && !o->dropped && !o->bogus;
    for (int i = 0; ok && i < g->n; i++) {
        ok = o->off[i] == g->off[i];
    }
    if (!ok) {
        print_error("%s\n", ctx);
        print_outcome("got", o);
        fail();
    }
}

/* Byte ranges holding fragment payloads (everything but the 7-byte headers and block tails). */
typedef struct ranges {
    int n;
    uint64_t from[64], to[64];
} ranges;

static void payload_ranges(const log_img *g, ranges *rg)
{
    rg->n = 0;
    uint64_t p = 0;
    while (p < g->len) {
        if (BLOCK - p % BLOCK < HDR) {
            p += BLOCK - p % BLOCK;
            continue;
        }
        size_t len = st_decode_fixed16(g->data + p + 4);
        assert_true(rg->n < 64);
        rg->from[rg->n] = p + HDR;
        rg->to[rg->n++] = p + HDR + len;
        p += HDR + len;
    }
}

/* ---- layout ---- */

static void test_layout(void **state)
{
    (void)state;
    cfg c = {ST_ECC_RS, 8, 2, 0};
    st_integrity *in = integ_new(&c);
    log_img g;
    const size_t sizes[] = {0, 5, 300};
    write_log(&g, in, sizes, 3);
    /* The header: one FULL fragment at offset 0, the 72 fields protected by RS(4, 2). */
    size_t hlen = st_log_seal_protected_header_len();
    assert_int_equal(hlen, ST_LOG_SEAL_HEADER_LEN + 4 + 2 * 19 + 4 * 6 + 4);
    assert_int_equal(g.hdr_end, HDR + hlen);
    assert_int_equal(st_decode_fixed16(g.data + 4), hlen);
    assert_int_equal(g.data[6], ST_LOG_FULL);
    const char *h = g.data + HDR;
    assert_memory_equal(h, "STRATALH", 8);
    assert_int_equal(st_decode_fixed32(h + 8), 1);
    assert_int_equal(h[12], KIND);
    assert_int_equal(h[13], 2); /* parity, not encrypted */
    assert_int_equal(st_decode_fixed32(h + 16), 0);
    for (int i = 20; i < 52; i++) {
        assert_int_equal(h[i], 0); /* no salt */
    }
    assert_memory_equal(h + 52, in->db_id, ST_DB_ID_LEN);
    assert_int_equal(h[68], ST_ECC_RS);
    assert_int_equal(h[69], 8);
    assert_int_equal(h[70], 2);
    assert_int_equal(h[71], 0);
    assert_int_equal(st_decode_fixed32(h + 72), st_crc32c(h, 72));
    char par[256];
    tu_assert_ok(st_ecc_encode(&st_log_header_ecc, h, 76, par));
    assert_memory_equal(h + 76, par, hlen - 76);
    /* A record: inner ‖ fixed32 CRC-32C(inner) ‖ parity of both, in one FULL fragment. */
    const char *p = g.data + g.off[2];
    size_t stored = st_log_parity_stored_len(&in->ecc, 300);
    assert_int_equal(stored, 300 + 4 + 2 * 38 + 4 * 10 + 4);
    assert_int_equal(st_decode_fixed16(p + 4), stored);
    fill_record(g_rec, 2, 300);
    assert_memory_equal(p + HDR, g_rec, 300);
    assert_int_equal(st_decode_fixed32(p + HDR + 300), st_crc32c(g_rec, 300));
    char *want = malloc(stored);
    assert_non_null(want);
    tu_assert_ok(st_ecc_encode(&in->ecc, p + HDR, 304, want));
    assert_memory_equal(p + HDR + 304, want, stored - 304);
    free(want);
    /* An empty record still has a CRC and a parity region (s = 1). */
    assert_int_equal(g.end[0] - g.off[0], HDR + st_log_parity_stored_len(&in->ecc, 0));
    /* No ecc and no encryption: no header at all. */
    free(g.data);
    in->ecc.kind = ST_ECC_NONE;
    write_log(&g, in, sizes, 3);
    assert_int_equal(g.hdr_end, 0);
    assert_int_equal(g.len, 3 * HDR + 5 + 300);
    free(g.data);
    /* Encrypted and parity: flags 3, key id and salt present. */
    cfg ce = {ST_ECC_XOR, 4, 1, 1};
    st_integrity *ie = integ_new(&ce);
    write_log(&g, ie, sizes, 3);
    h = g.data + HDR;
    assert_int_equal(h[13], 3);
    assert_int_equal(st_decode_fixed32(h + 16), 3);
    assert_int_equal(h[68], ST_ECC_XOR);
    assert_int_equal(h[70], 1);
    size_t sealed = 300 + ST_LOG_SEAL_OVERHEAD;
    assert_int_equal(g.end[2] - g.off[2], HDR + st_log_parity_stored_len(&ie->ecc, sealed));
    free(g.data);
    integ_free(ie);
    integ_free(in);
}

/* The inner length is recovered from every stored length, and no other length is accepted. */
static void test_inner_length(void **state)
{
    (void)state;
    const st_ecc codes[] = {{ST_ECC_XOR, 1, 1},
                            {ST_ECC_XOR, 8, 1},
                            {ST_ECC_RS, 8, 2},
                            {ST_ECC_RS, 32, 8},
                            {ST_ECC_RS, 3, 7}};
    for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++) {
        size_t next = 0; /* the smallest stored length not yet seen */
        for (size_t n = 0; n < 3000; n++) {
            size_t len = st_log_parity_stored_len(&codes[c], n), got;
            for (size_t l = next; l < len; l++) {
                assert_int_equal(st_log_parity_inner_len(&codes[c], l, &got), STRATA_E_CORRUPTION);
            }
            tu_assert_ok(st_log_parity_inner_len(&codes[c], len, &got));
            assert_int_equal(got, n);
            next = len + 1;
        }
    }
}

/* ---- healing ---- */

/* Every single-bit flip in the payload area of a small log heals, counted once. */
static void test_every_bit_flip_heals(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 5, 37, 200, 513, 12};
    for (size_t c = 0; c < NCFG; c++) {
        st_integrity *in = integ_new(&g_cfgs[c]);
        log_img g;
        write_log(&g, in, sizes, 7);
        ranges rg;
        payload_ranges(&g, &rg);
        assert_int_equal(rg.n, 8);
        outcome o;
        read_log(g.data, g.len, in, 0, &g, 0, &o);
        expect_all(&o, &g, "undamaged");
        assert_int_equal(healed(in), 0);
        char *b = dup_bytes(g.data, g.len);
        for (int r = 0; r < rg.n; r++) {
            for (uint64_t p = rg.from[r]; p < rg.to[r]; p++) {
                for (int bit = 0; bit < 8; bit++) {
                    b[p] ^= (char)(1 << bit);
                    counters_reset(in);
                    read_log(b, g.len, in, bit & 1, &g, 0, &o);
                    char ctx[128];
                    snprintf(ctx, sizeof(ctx), "cfg %zu: bit %d of byte %llu", c, bit,
                             (unsigned long long)p);
                    expect_all(&o, &g, ctx);
                    if (healed(in) != 1 || unrecoverable(in) != 0) {
                        print_error("%s: healed %llu unrecoverable %llu\n", ctx,
                                    (unsigned long long)healed(in),
                                    (unsigned long long)unrecoverable(in));
                        fail();
                    }
                    b[p] ^= (char)(1 << bit);
                }
            }
        }
        free(b);
        free(g.data);
        integ_free(in);
    }
}

/* A record over four blocks (FIRST, MIDDLE, MIDDLE, LAST): sampled single-bit flips in each
 * fragment heal; with RS two flips in different fragments heal too. */
static void test_multiblock_flips_heal(void **state)
{
    (void)state;
    const size_t sizes[] = {100, 3 * BLOCK + 5000, 40, BLOCK - 3 * HDR, 9};
    int stride = (int)(409 / tu_scale());
    if (stride < 1) {
        stride = 1;
    }
    for (size_t c = 0; c < NCFG; c++) {
        st_integrity *in = integ_new(&g_cfgs[c]);
        log_img g;
        write_log(&g, in, sizes, 5);
        ranges rg;
        payload_ranges(&g, &rg);
        char *b = dup_bytes(g.data, g.len);
        outcome o;
        int flips = 0;
        for (int r = 0; r < rg.n; r++) {
            for (uint64_t p = rg.from[r]; p < rg.to[r]; p += (uint64_t)stride) {
                int bit = (int)(p % 8);
                b[p] ^= (char)(1 << bit);
                counters_reset(in);
                read_log(b, g.len, in, flips & 1, &g, 0, &o);
                char ctx[128];
                snprintf(ctx, sizeof(ctx), "cfg %zu: bit %d of byte %llu", c, bit,
                         (unsigned long long)p);
                expect_all(&o, &g, ctx);
                assert_int_equal(healed(in), 1);
                b[p] ^= (char)(1 << bit);
                flips++;
            }
        }
        assert_true(flips > 100);
        /* Two flips in different data shards: in the FIRST and in the LAST fragment of record 1
         * (whose first bytes are still inner record for every configuration but RS(4, 3)). */
        b[g.off[1] + HDR + 10] ^= 0x04;
        b[(g.end[1] / BLOCK) * BLOCK + HDR + 100] ^= 0x80;
        for (int skip = 0; skip < 2; skip++) {
            counters_reset(in);
            read_log(b, g.len, in, skip, &g, 0, &o);
            if (g_cfgs[c].kind == ST_ECC_RS) {
                expect_all(&o, &g, "two flips, RS");
                assert_int_equal(healed(in), 1);
            } else { /* beyond XOR: as without healing */
                assert_int_equal(healed(in), 0);
                outcome ref;
                char *rb = reference_of(&g);
                memcpy(rb + g.hdr_end, b + g.hdr_end, g.len - g.hdr_end);
                read_log(rb, g.len, in, skip, &g, 1, &ref);
                expect_same(&o, &ref, "two flips, XOR");
                assert_int_equal(o.rc, skip ? 0 : STRATA_E_CORRUPTION);
                assert_int_equal(unrecoverable(in), 1);
                free(rb);
            }
        }
        free(b);
        free(g.data);
        integ_free(in);
    }
}

/* A record whose fragments are intact but whose inner CRC fails (damage before the fragment
 * checksums were computed, or a collision): healed, or corruption that skip mode drops. */
static void test_inner_crc_mismatch(void **state)
{
    (void)state;
    cfg c = {ST_ECC_RS, 8, 2, 0};
    st_integrity *in = integ_new(&c);
    log_img g;
    const size_t sizes[] = {50, 400, 60};
    write_log(&g, in, sizes, 3);
    for (int beyond = 0; beyond < 2; beyond++) {
        char *b = dup_bytes(g.data, g.len);
        char *frag = b + g.off[1];
        size_t len = st_decode_fixed16(frag + 4);
        if (beyond) {
            memset(frag + HDR, 0x33, len); /* inner, crc and parity */
        } else {
            frag[HDR + 123] ^= 0x20;
        }
        char *typed = malloc(len + 1);
        assert_non_null(typed);
        typed[0] = ST_LOG_FULL;
        memcpy(typed + 1, frag + HDR, len);
        st_encode_fixed32(frag, st_crc32c_mask(st_crc32c(typed, len + 1)));
        free(typed);
        for (int skip = 0; skip < 2; skip++) {
            counters_reset(in);
            outcome o;
            read_log(b, g.len, in, skip, &g, 0, &o);
            if (!beyond) {
                expect_all(&o, &g, "inner crc, healable");
                assert_int_equal(healed(in), 1);
                continue;
            }
            assert_int_equal(unrecoverable(in), 1);
            assert_false(o.bogus);
            if (skip) {
                assert_int_equal(o.rc, 0);
                assert_int_equal(o.n, 2);
                assert_int_equal(o.off[1], g.off[2]);
                assert_int_equal(o.dropped, g.end[1] - g.off[1]);
            } else {
                assert_int_equal(o.rc, STRATA_E_CORRUPTION);
                assert_int_equal(o.n, 1);
                char want[64];
                snprintf(want, sizeof(want), "offset %llu", (unsigned long long)g.off[1]);
                assert_non_null(strstr(o.msg, want));
                assert_non_null(strstr(o.msg, "beyond repair by parity"));
            }
        }
        free(b);
    }
    free(g.data);
    integ_free(in);
}

/* ---- damage beyond the parity: the rules without healing, unchanged ---- */

/* Applies damage to the parity log and its reference, reads both (strict and skip) and, when
 * nothing healed, demands the same outcome; returns the parity reader's heal count (strict). */
static uint64_t compare_damage(const log_img *g, st_integrity *in, const char *damaged, size_t len,
                               const char *ctx)
{
    char *ref = reference_of(g);
    char *b = malloc(len ? len : 1);
    assert_non_null(b);
    memcpy(b, damaged, len);
    if (len > g->hdr_end) {
        memcpy(ref + g->hdr_end, damaged + g->hdr_end, len - g->hdr_end);
    }
    uint64_t heals = 0;
    for (int skip = 0; skip < 2; skip++) {
        outcome o, r;
        counters_reset(in);
        read_log(b, len, in, skip, g, 0, &o);
        read_log(ref, len, in, skip, g, 1, &r);
        if (o.bogus) {
            print_error("%s: skip %d\n", ctx, skip);
            print_outcome("parity", &o);
            fail();
        }
        if (healed(in) == 0) {
            expect_same(&o, &r, ctx);
            /* Unrecoverable damage is counted unless it reads as a torn tail. */
            if (unrecoverable(in) && o.torn && !o.dropped && o.rc == 0) {
                print_error("%s: torn tail counted as unrecoverable\n", ctx);
                fail();
            }
        } else if (!skip) {
            assert_true(o.rc == 0 || o.rc == STRATA_E_CORRUPTION);
        }
        heals = skip ? heals : healed(in);
    }
    free(b);
    free(ref);
    return heals;
}

static void test_beyond_parity(void **state)
{
    (void)state;
    const size_t sizes[] = {100, 2000, 3 * BLOCK + 100, 300, 30000, 70, 5000};
    for (size_t c = 0; c < NCFG; c++) {
        st_integrity *in = integ_new(&g_cfgs[c]);
        log_img g;
        write_log(&g, in, sizes, 7);
        /* Record 1's whole payload overwritten (FULL, mid-log): corruption at its offset. */
        char *b = dup_bytes(g.data, g.len);
        memset(b + g.off[1] + HDR, 0x5c, g.end[1] - g.off[1] - HDR);
        assert_int_equal(compare_damage(&g, in, b, g.len, "record 1 wiped"), 0);
        outcome o;
        counters_reset(in);
        read_log(b, g.len, in, 0, &g, 0, &o);
        assert_int_equal(o.rc, STRATA_E_CORRUPTION);
        assert_int_equal(unrecoverable(in), 1);
        counters_reset(in);
        read_log(b, g.len, in, 1, &g, 0, &o);
        assert_int_equal(o.n, g.n - 1);
        assert_int_equal(o.dropped, g.end[1] - g.off[1]);
        assert_int_equal(unrecoverable(in), 1);
        free(b);
        /* The last record wiped: a torn tail, not counted. */
        b = dup_bytes(g.data, g.len);
        memset(b + g.off[6] + HDR + 10, 0, g.end[6] - g.off[6] - HDR - 10);
        assert_int_equal(compare_damage(&g, in, b, g.len, "last record wiped"), 0);
        counters_reset(in);
        read_log(b, g.len, in, 0, &g, 0, &o);
        assert_int_equal(o.n, g.n - 1);
        assert_true(o.torn);
        assert_int_equal(unrecoverable(in), 0);
        free(b);
        /* Every MIDDLE of record 2 randomised: corruption at the first (tentative, replayed). */
        st_random rnd;
        st_random_seed(&rnd, tu_seed(700 + c));
        b = dup_bytes(g.data, g.len);
        uint64_t mid = (g.off[2] / BLOCK + 1) * BLOCK;
        for (uint64_t m = mid; m + BLOCK < g.end[2]; m += BLOCK) {
            st_random_bytes(&rnd, b + m + HDR, BLOCK - HDR);
        }
        assert_int_equal(compare_damage(&g, in, b, g.len, "middle blocks"), 0);
        counters_reset(in);
        read_log(b, g.len, in, 0, &g, 0, &o);
        char want[64];
        snprintf(want, sizeof(want), "offset %llu", (unsigned long long)mid);
        assert_non_null(strstr(o.msg, want));
        assert_int_equal(unrecoverable(in), 1);
        /* ... and a healable flip in a later record is still healed in skip mode. */
        b[g.off[4] + HDR + 777] ^= 0x02;
        counters_reset(in);
        read_log(b, g.len, in, 1, &g, 0, &o);
        assert_int_equal(o.n, g.n - 1);
        assert_int_equal(healed(in), 1);
        assert_int_equal(unrecoverable(in), 1);
        free(b);
        /* FIRST and LAST both wiped beyond reach, and the record at the end of the log. */
        b = dup_bytes(g.data, g.len);
        memset(b + g.off[2] + HDR, 0, BLOCK - g.off[2] % BLOCK - HDR);
        memset(b + (g.end[2] / BLOCK) * BLOCK + HDR, 0x11,
               g.end[2] - (g.end[2] / BLOCK) * BLOCK - HDR);
        assert_int_equal(compare_damage(&g, in, b, g.len, "first+last"), 0);
        assert_int_equal(compare_damage(&g, in, b, g.end[2], "first+last at the end"), 0);
        free(b);
        /* Fragment headers have no parity: a flip in a length or type byte reads as without
         * healing; one in the checksum leaves an intact payload, which its record CRC accepts. */
        ranges rg;
        payload_ranges(&g, &rg);
        b = dup_bytes(g.data, g.len);
        for (int r = 1; r < rg.n; r++) {
            for (uint64_t p = rg.from[r] - HDR; p < rg.from[r]; p++) {
                for (int bit = 0; bit < 8; bit += 3) {
                    b[p] ^= (char)(1 << bit);
                    char ctx[96];
                    snprintf(ctx, sizeof(ctx), "cfg %zu: header bit %d at %llu", c, bit,
                             (unsigned long long)p);
                    if (p < rg.from[r] - 3) {
                        counters_reset(in);
                        read_log(b, g.len, in, bit & 1, &g, 0, &o);
                        expect_all(&o, &g, ctx);
                        assert_int_equal(healed(in), 1);
                    } else {
                        assert_int_equal(compare_damage(&g, in, b, g.len, ctx), 0);
                    }
                    b[p] ^= (char)(1 << bit);
                }
            }
        }
        free(b);
        free(g.data);
        integ_free(in);
    }
}

/* Random bursts anywhere after the header: whatever does not heal reads as without parity. */
static void test_random_bursts(void **state)
{
    (void)state;
    st_random rnd;
    st_random_seed(&rnd, tu_seed(701));
    const size_t sizes[] = {10, 2 * BLOCK + 77, 500, 0, 12000, 31000, 800, BLOCK, 64, 3};
    int rounds = (int)(120 * tu_scale());
    for (size_t c = 0; c < NCFG; c++) {
        st_integrity *in = integ_new(&g_cfgs[c]);
        log_img g;
        write_log(&g, in, sizes, 10);
        int healed_rounds = 0, plain_rounds = 0;
        for (int i = 0; i < rounds; i++) {
            char *b = dup_bytes(g.data, g.len);
            int bursts = 1 + (int)st_random_uniform(&rnd, 3);
            for (int k = 0; k < bursts; k++) {
                size_t at = g.hdr_end + st_random_uniform(&rnd, (uint32_t)(g.len - g.hdr_end));
                size_t span = st_random_one_in(&rnd, 3)   ? 1 + st_random_uniform(&rnd, 16)
                              : st_random_one_in(&rnd, 2) ? 100 + st_random_uniform(&rnd, 4000)
                                                          : BLOCK;
                span = span > g.len - at ? g.len - at : span;
                int fill = (int)st_random_uniform(&rnd, 3);
                if (fill == 2) {
                    st_random_bytes(&rnd, b + at, span);
                } else {
                    memset(b + at, fill ? 0xff : 0, span);
                }
            }
            size_t len = st_random_one_in(&rnd, 4)
                             ? g.hdr_end + st_random_uniform(&rnd, (uint32_t)(g.len - g.hdr_end))
                             : g.len;
            char ctx[64];
            snprintf(ctx, sizeof(ctx), "cfg %zu round %d", c, i);
            if (compare_damage(&g, in, b, len, ctx)) {
                healed_rounds++;
            } else {
                plain_rounds++;
            }
            free(b);
        }
        assert_true(plain_rounds > 0);
        assert_true(healed_rounds > 0);
        free(g.data);
        integ_free(in);
    }
}

/* ---- torn tails ---- */

/* Cut at every byte: the records that were complete, then a torn tail exactly as without
 * parity; and with zeros after the cut (preallocated space) a clean prefix too. */
static void test_cut_everywhere(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 30, 250, 9, 700};
    const size_t big[] = {40, BLOCK + 3000, 20};
    for (size_t c = 0; c < NCFG; c++) {
        st_integrity *in = integ_new(&g_cfgs[c]);
        for (int which = 0; which < 2; which++) {
            log_img g;
            write_log(&g, in, which ? big : sizes, which ? 3 : 5);
            char *ref = reference_of(&g);
            char *zeroed = calloc(1, g.len + BLOCK);
            assert_non_null(zeroed);
            /* Small log: every byte.  Big one: a stride, and every byte near block boundaries
             * and record ends. */
            size_t step = which ? (size_t)(211 / tu_scale()) + 1 : 1;
            for (size_t cut = 0; cut <= g.len; cut++) {
                int near = 0;
                for (int i = 0; i < g.n; i++) {
                    near |= cut + 8 >= g.end[i] && cut <= g.end[i] + 8;
                }
                near |= cut % BLOCK < 9 || cut % BLOCK > BLOCK - 9 || cut < g.hdr_end + 8;
                if (!near && cut % step != 0 && cut != g.len) {
                    continue;
                }
                outcome o, r;
                int complete = 0;
                while (complete < g.n && g.end[complete] <= cut) {
                    complete++;
                }
                counters_reset(in);
                read_log(g.data, cut, in, (int)(cut & 1), &g, 0, &o);
                char ctx[64];
                snprintf(ctx, sizeof(ctx), "cfg %zu: cut at %zu", c, cut);
                if (cut >= g.hdr_end) {
                    read_log(ref, cut, in, (int)(cut & 1), &g, 1, &r);
                    expect_same(&o, &r, ctx);
                }
                int boundary =
                    cut == 0 || cut == g.hdr_end || (complete && g.end[complete - 1] == cut);
                if (o.n != complete || o.rc != 0 || o.torn != !boundary || o.bogus || healed(in) ||
                    unrecoverable(in)) {
                    print_error("%s\n", ctx);
                    print_outcome("got", &o);
                    fail();
                }
                /* Zeros after the cut: at most the record being written comes back too. */
                memcpy(zeroed, g.data, cut);
                memset(zeroed + cut, 0, g.len + BLOCK - cut);
                read_log(zeroed, g.len + BLOCK, in, 0, &g, 0, &o);
                if (o.n < complete || o.n > complete + 1 || o.rc != 0 || o.bogus ||
                    unrecoverable(in)) {
                    print_error("%s, zero-filled\n", ctx);
                    print_outcome("got", &o);
                    fail();
                }
                for (int i = 0; i < o.n; i++) {
                    assert_int_equal(o.off[i], g.off[i]);
                }
            }
            free(zeroed);
            free(ref);
            free(g.data);
        }
        integ_free(in);
    }
}

/* ---- header ---- */

/* A parity-only log where encryption is required is a downgrade; a malformed header is
 * corruption; a header damaged beyond its own parity is corruption at offset 0. */
static void test_header_checks(void **state)
{
    (void)state;
    cfg c = {ST_ECC_RS, 8, 2, 0};
    st_integrity *in = integ_new(&c);
    log_img g;
    const size_t sizes[] = {10, 20};
    write_log(&g, in, sizes, 2);
    outcome o;
    in->require_encrypted = 1;
    read_log(g.data, g.len, in, 0, &g, 0, &o);
    assert_int_equal(o.rc, STRATA_E_AUTH);
    assert_non_null(strstr(o.msg, "downgrade"));
    in->require_encrypted = 0;
    /* A reader not told the log's number and kind still reads a parity-only log (tools). */
    {
        tu_assert_ok(st_env_write_file(g_env, "/t/r.log", st_slice_make(g.data, g.len), 0));
        st_sfile *f;
        st_log_reader *rd;
        tu_assert_ok(st_env_new_sequential(g_env, "/t/r.log", &f));
        tu_assert_ok(st_log_reader_create(f, "r.log", 0, &rd));
        st_slice rec;
        uint64_t off;
        for (int i = 0; i < 2; i++) {
            assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
            assert_int_equal(off, g.off[i]);
            fill_record(g_rec, (size_t)i, sizes[i]);
            tu_assert_bytes_equal(rec.data, rec.size, g_rec, sizes[i]);
        }
        assert_int_equal(st_log_reader_read(rd, &rec, &off), 0);
        st_log_reader_close(rd);
    }
    /* Raw mode: the header and the stored (framed) records come back, and nothing heals. */
    for (int damaged = 0; damaged < 2; damaged++) {
        char *b = dup_bytes(g.data, g.len);
        b[g.off[0] + HDR + 2] ^= (char)damaged;
        tu_assert_ok(st_env_write_file(g_env, "/t/r.log", st_slice_make(b, g.len), 0));
        st_sfile *f;
        st_log_reader *rd;
        tu_assert_ok(st_env_new_sequential(g_env, "/t/r.log", &f));
        tu_assert_ok(st_log_reader_create(f, "r.log", 0, &rd));
        st_log_reader_set_integrity(rd, in, NUMBER, KIND);
        st_log_reader_set_raw(rd);
        counters_reset(in);
        st_slice rec;
        uint64_t off;
        assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
        assert_int_equal(rec.size, st_log_seal_protected_header_len());
        if (damaged) {
            assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_CORRUPTION);
            assert_int_equal(healed(in), 0);
        } else {
            for (int i = 0; i < 2; i++) {
                assert_int_equal(st_log_reader_read(rd, &rec, &off), 1);
                assert_int_equal(rec.size, st_log_parity_stored_len(&in->ecc, sizes[i]));
            }
            assert_int_equal(st_log_reader_read(rd, &rec, &off), 0);
        }
        st_log_reader_close(rd);
        free(b);
    }
    /* Unknown flags, a bad ecc kind, a WAL header read as a MANIFEST: malformed. */
    for (int t = 0; t < 3; t++) {
        char *b = dup_bytes(g.data, g.len);
        char *h = b + HDR;
        if (t == 0) {
            h[13] |= 4;
        } else if (t == 1) {
            h[68] = 9;
        }
        st_encode_fixed32(h + 72, st_crc32c(h, 72)); /* keep the header's own CRC valid */
        size_t hl = st_log_seal_protected_header_len();
        tu_assert_ok(st_ecc_encode(&st_log_header_ecc, h, 76, h + 76));
        char *typed = malloc(hl + 1);
        assert_non_null(typed);
        typed[0] = ST_LOG_FULL;
        memcpy(typed + 1, h, hl);
        st_encode_fixed32(b, st_crc32c_mask(st_crc32c(typed, hl + 1)));
        free(typed);
        tu_assert_ok(st_env_write_file(g_env, "/t/r.log", st_slice_make(b, g.len), 0));
        st_sfile *f;
        st_log_reader *rd;
        tu_assert_ok(st_env_new_sequential(g_env, "/t/r.log", &f));
        tu_assert_ok(st_log_reader_create(f, "r.log", 0, &rd));
        st_log_reader_set_integrity(rd, in, NUMBER, t == 2 ? ST_CRYPT_FILE_MANIFEST : KIND);
        st_slice rec;
        uint64_t off;
        assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_CORRUPTION);
        assert_non_null(strstr(st_errmsg(), "malformed log header"));
        st_log_reader_close(rd);
        free(b);
    }
    /* The parity flag in an unprotected (72-byte) header: its length and flag disagree. */
    {
        st_wfile *wf;
        st_log_writer *w;
        tu_assert_ok(st_env_new_writable(g_env, "/t/r.log", &wf));
        tu_assert_ok(st_log_writer_create(wf, 0, &w));
        tu_assert_ok(st_log_writer_add(w, st_slice_make(g.data + HDR, ST_LOG_SEAL_HEADER_LEN)));
        tu_assert_ok(st_log_writer_add(w, st_slice_make("abc", 3)));
        tu_assert_ok(st_log_writer_close(w));
        st_sfile *f;
        st_log_reader *rd;
        tu_assert_ok(st_env_new_sequential(g_env, "/t/r.log", &f));
        tu_assert_ok(st_log_reader_create(f, "r.log", 1, &rd));
        st_slice rec;
        uint64_t off;
        assert_int_equal(st_log_reader_read(rd, &rec, &off), STRATA_E_CORRUPTION);
        assert_non_null(strstr(st_errmsg(), "disagree"));
        assert_non_null(strstr(st_errmsg(), "offset 0"));
        st_log_reader_close(rd);
    }
    /* The header's fields wiped: beyond its parity, valid records follow: corruption at 0. */
    char *b = dup_bytes(g.data, g.len);
    memset(b + HDR, 0, 80);
    counters_reset(in);
    read_log(b, g.len, in, 0, &g, 0, &o);
    assert_int_equal(o.rc, STRATA_E_CORRUPTION);
    assert_non_null(strstr(o.msg, "offset 0"));
    assert_int_equal(unrecoverable(in), 1);
    free(b);
    free(g.data);
    integ_free(in);
}

/* ---- hostile input ---- */

/* Blocks of [damaged FULL fragment claiming most of the block][valid empty fragment] pairs, read
 * with skip_corrupt: each damaged fragment is a heal attempt over up to 32 KiB, and the resync
 * lands just after it; the per-block heal budget keeps the read fast. */
static void test_hostile_heal_cost(void **state)
{
    (void)state;
    cfg c = {ST_ECC_RS, 32, 8, 0};
    st_integrity *in = integ_new(&c);
    log_img g;
    const size_t one[] = {1};
    write_log(&g, in, one, 1);
    size_t len = 8 * BLOCK;
    char *b = calloc(1, len);
    assert_non_null(b);
    memcpy(b, g.data, g.hdr_end);
    char type = ST_LOG_FULL;
    uint32_t empty_crc = st_crc32c_mask(st_crc32c(&type, 1));
    for (size_t p = g.hdr_end; p < len;) {
        size_t room = BLOCK - p % BLOCK;
        if (room < 2 * HDR) {
            p += room;
            continue;
        }
        st_encode_fixed32(b + p, 0x12345678);
        st_encode_fixed16(b + p + 4, (uint16_t)(room - HDR - 1));
        b[p + 6] = ST_LOG_FULL;
        memset(b + p + HDR + 7, 0x77, room - 2 * HDR - 1);
        st_encode_fixed32(b + p + HDR, empty_crc);
        st_encode_fixed16(b + p + HDR + 4, 0);
        b[p + HDR + 6] = ST_LOG_FULL;
        p += 2 * HDR;
    }
    outcome o;
    read_log(b, len, in, 1, &g, 0, &o);
    assert_int_equal(o.rc, 0);
    assert_int_equal(o.n, 0);
    assert_int_equal(healed(in), 0);
    assert_true(unrecoverable(in) > 1000);
    free(b);
    free(g.data);
    integ_free(in);
}

/* ---- failures ---- */

/* Each allocation of writing and of reading a damaged log fails in turn: NOMEM or success,
 * never a crash or a leak. */
static void test_alloc_failures(void **state)
{
    (void)state;
    cfg c = {ST_ECC_RS, 8, 2, 1};
    st_integrity *in = integ_new(&c);
    const size_t sizes[] = {10, BLOCK + 100, 30};
    log_img g;
    write_log(&g, in, sizes, 3);
    char *b = dup_bytes(g.data, g.len);
    b[g.off[0] + HDR + 3] ^= 1;                       /* a FULL fragment heal */
    b[(g.off[1] / BLOCK + 1) * BLOCK + HDR + 5] ^= 1; /* a tentative LAST */
    tu_assert_ok(st_env_write_file(g_env, "/t/r.log", st_slice_make(b, g.len), 0));
    for (long k = 0; k < 60; k++) {
        st_sfile *f;
        st_log_reader *rd = NULL;
        tu_assert_ok(st_env_new_sequential(g_env, "/t/r.log", &f));
        st_alloc_fail_after(k, 0);
        int rc = st_log_reader_create(f, "r.log", 0, &rd);
        int n = 0;
        if (!rc) {
            st_log_reader_set_integrity(rd, in, NUMBER, KIND);
            st_slice rec;
            uint64_t off;
            while ((rc = st_log_reader_read(rd, &rec, &off)) == 1) {
                n++;
            }
        }
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        if (rc == 0) {
            assert_int_equal(n, 3);
        }
        st_log_reader_close(rd);
    }
    for (long k = 0; k < 12; k++) {
        st_wfile *f;
        st_log_writer *w = NULL;
        tu_assert_ok(st_env_new_writable(g_env, "/t/w2.log", &f));
        st_alloc_fail_after(k, 0);
        int rc = st_log_writer_create(f, 0, &w);
        rc = rc ? rc : st_log_writer_protect(w, in, NUMBER, KIND);
        rc = rc ? rc : st_log_writer_add(w, st_slice_make(g_rec, 100));
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        st_log_writer_close(w);
    }
    free(b);
    free(g.data);
    integ_free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inner_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_bit_flip_heals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiblock_flips_heal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inner_crc_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_beyond_parity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_bursts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_heal_cost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
