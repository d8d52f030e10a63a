/* make_corpus.c — writes the committed seed corpora under fuzz/corpus/<target>/ (run by hand
 * after a format change: `make_corpus <repo>/fuzz/corpus`).  Each seed is a small valid input
 * built with the engine's own writers (block builder via tables, table builder, log writer,
 * version edit and batch encoders, the options printer, parity over block-like bytes, the codec
 * and sealed logs under the fixed keys of fuzz_crypt.h) plus a few hand-made edge cases, so the
 * fuzzers start from inputs that reach deep into each parser.  Output is deterministic, except
 * for the stored encrypted logs (their salt is random; every version is equally valid). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/codec.h"
#include "codec/ecc.h"
#include "db/version_edit.h"
#include "db/write_batch.h"
#include "env/env.h"
#include "strata.h"
#include "table/block_builder.h"
#include "table/filter.h"
#include "table/table_builder.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/comparator.h"
#include "util/ikey.h"
#include "wal/log_writer.h"

#include "fuzz_crypt.h"

static const char *g_root;

static void die(const char *what)
{
    fprintf(stderr, "make_corpus: %s failed: %s\n", what, strata_errmsg());
    exit(1);
}

static void save(const char *target, const char *name, const void *pre, size_t prelen,
                 const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", g_root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", g_root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(pre, 1, prelen, f) != prelen || fwrite(data, 1, len, f) != len ||
        fclose(f) != 0) {
        die(path);
    }
}

static void ikey(st_buf *b, int i, uint64_t seq, int type)
{
    char k[32];
    snprintf(k, sizeof(k), "key%08d", i);
    st_buf_clear(b);
    if (st_ikey_append(b, st_slice_cstr(k), seq, type)) {
        die("ikey");
    }
}

static void read_back(st_env *env, const char *path, char **data, size_t *len)
{
    if (st_env_read_file(env, path, 1 << 24, data, len)) {
        die("read_file");
    }
}

static void make_table(st_env *env, const char *name, int n, int compression, int checksum,
                       int bloom, int rdels)
{
    strata_filter_policy *fp = bloom ? strata_filter_policy_create_bloom(10) : NULL;
    st_table_options o = {.ucmp = st_comparator_bytewise(), .filter = fp, .block_size = 256,
                          .restart_interval = 4, .compression = compression, .zstd_level = 3,
                          .checksum = checksum, .creation_time = 1};
    st_wfile *wf;
    st_table_builder *tb;
    if (st_env_new_writable(env, "/t", &wf) || st_table_builder_create(&o, wf, &tb)) {
        die("table builder");
    }
    st_buf k;
    st_buf_init(&k);
    for (int i = 0; i < n; i++) {
        char v[64];
        int vl = snprintf(v, sizeof(v), "value-%d-%.*s", i, i % 20, "abcdefghijklmnopqrstuvwxyz");
        ikey(&k, i, (uint64_t)(100 + i), i % 7 == 3 ? ST_TYPE_DELETION : ST_TYPE_VALUE);
        if (st_table_builder_add(tb, st_buf_slice(&k), st_slice_make(v, i % 7 == 3 ? 0 : (size_t)vl))) {
            die("table add");
        }
    }
    /* Range tombstones, fragmented as compaction writes them: [k3, k9) at 90 and 80, [k9, kz) at
     * 70, one empty-looking but valid fragment. */
    static const struct {
        const char *s, *e;
        uint64_t seq;
    } rd[] = {{"k3", "k9", 90}, {"k3", "k9", 80}, {"k9", "kz", 70}};
    for (int i = 0; i < (rdels ? 3 : 0); i++) {
        if (st_table_builder_add_range_del(tb, st_slice_cstr(rd[i].s), st_slice_cstr(rd[i].e),
                                           rd[i].seq)) {
            die("table range del");
        }
    }
    if (st_table_builder_finish(tb) || st_wfile_close(wf)) {
        die("table finish");
    }
    st_table_builder_destroy(tb);
    st_buf_free(&k);
    char *data;
    size_t len;
    read_back(env, "/t", &data, &len);
    /* flags byte 0: plain open; the block seed is a table's first data block's raw region. */
    save("table", name, "\0", 1, data, len);
    st_free(data);
    strata_filter_policy_destroy(fp);
}

static void make_blocks(void)
{
    st_buf k;
    st_buf_init(&k);
    for (int mode = 0; mode < 2; mode++) {
        for (int interval = 1; interval <= 16; interval *= 4) {
            st_block_builder bb;
            st_block_builder_init(&bb, interval);
            for (int i = 0; i < 40; i++) {
                char kk[32];
                snprintf(kk, sizeof(kk), "key%08d", i * 3);
                if (mode) {
                    ikey(&k, i * 3, 7, ST_TYPE_VALUE);
                } else {
                    st_buf_clear(&k);
                    st_buf_append(&k, kk, strlen(kk));
                }
                if (st_block_builder_add(&bb, st_buf_slice(&k), st_slice_cstr(kk))) {
                    die("block add");
                }
            }
            st_slice contents;
            if (st_block_builder_finish(&bb, &contents)) {
                die("block finish");
            }
            char name[32];
            snprintf(name, sizeof(name), "block-m%d-r%d", mode, interval);
            uint8_t m = (uint8_t)mode;
            save("block", name, &m, 1, contents.data, contents.size);
            st_block_builder_free(&bb);
        }
    }
    static const uint8_t empty[] = {0, 0, 0, 0, 0, 1, 0, 0, 0};
    save("block", "empty", "", 0, empty, sizeof(empty));
    st_buf_free(&k);
}

static void make_wal(st_env *env)
{
    static const size_t sizes[][4] = {{0, 10, 100, 1000}, {40000, 5, 32760, 1}};
    for (int s = 0; s < 2; s++) {
        st_wfile *wf;
        st_log_writer *w;
        if (st_env_new_writable(env, "/w", &wf) || st_log_writer_create(wf, 0, &w)) {
            die("log writer");
        }
        for (int i = 0; i < 4; i++) {
            char *rec = st_calloc(1, sizes[s][i] + 1);
            memset(rec, 'a' + i, sizes[s][i]);
            if (st_log_writer_add(w, st_slice_make(rec, sizes[s][i]))) {
                die("log add");
            }
            st_free(rec);
        }
        st_log_writer_close(w);
        char *data;
        size_t len;
        read_back(env, "/w", &data, &len);
        /* the long seed is trimmed to keep the corpus small: its tail is a torn record */
        size_t keep = len > 40000 ? 40000 : len;
        save("wal", s ? "wal-fragmented" : "wal-small", "\0", 1, data, keep);
        save("wal", s ? "wal-fragmented-skip" : "wal-small-skip", "\1", 1, data,
             keep > 2000 ? 2000 : keep);
        st_free(data);
    }
}

/* Logs with parity (a protected header, then protected records), intact and with one flipped
 * bit in a record (healed by the reader), one of them with a record over two blocks. */
static void make_parity_wals(st_env *env)
{
    static const size_t sizes[][3] = {{0, 30, 700}, {35000, 3, 90}};
    st_integrity in;
    memset(&in, 0, sizeof(in));
    in.ecc.kind = ST_ECC_RS;
    in.ecc.k = 4;
    in.ecc.m = 2;
    for (int s = 0; s < 2; s++) {
        st_wfile *wf;
        st_log_writer *w;
        if (st_env_new_writable(env, "/w", &wf) || st_log_writer_create(wf, 0, &w) ||
            st_log_writer_protect(w, &in, 1, ST_CRYPT_FILE_WAL)) {
            die("parity log writer");
        }
        for (int i = 0; i < 3; i++) {
            char *rec = st_calloc(1, sizes[s][i] + 1);
            memset(rec, 'k' + i, sizes[s][i]);
            if (st_log_writer_add(w, st_slice_make(rec, sizes[s][i]))) {
                die("parity log add");
            }
            st_free(rec);
        }
        st_log_writer_close(w);
        char *data;
        size_t len;
        read_back(env, "/w", &data, &len);
        save("wal", s ? "wal-parity-fragmented" : "wal-parity", "\0", 1, data, len);
        if (!s) {
            save("wal", "wal-parity-raw", "\2", 1, data, len);
        }
        data[len - 20] ^= 0x10; /* inside the last record's parity region */
        data[len / 2] ^= 0x04;
        save("wal", s ? "wal-parity-fragmented-flipped" : "wal-parity-flipped-skip",
             s ? "\0" : "\1", 1, data, len);
        st_free(data);
    }
}

static void make_edits(void)
{
    st_version_edit e;
    st_version_edit_init(&e);
    st_buf out, a, b;
    st_buf_init(&out);
    st_buf_init(&a);
    st_buf_init(&b);
    if (st_version_edit_set_comparator(&e, "strata.bytewise")) {
        die("edit");
    }
    st_version_edit_set_log_number(&e, 5);
    st_version_edit_set_next_file(&e, 9);
    st_version_edit_set_last_seq(&e, 1234);
    if (st_version_edit_encode(&e, &out)) {
        die("edit encode");
    }
    save("version_edit", "edit-header", "", 0, out.data, out.len);
    st_version_edit_clear(&e);
    st_buf_clear(&out);
    ikey(&a, 1, 10, ST_TYPE_VALUE);
    ikey(&b, 99, 20, ST_TYPE_DELETION);
    st_file_meta *m = st_file_meta_create(7, 4096, st_buf_slice(&a), st_buf_slice(&b));
    if (!m || st_version_edit_add_file(&e, 1, m) || st_version_edit_delete_file(&e, 0, 3) ||
        st_version_edit_set_pointer(&e, 2, st_buf_slice(&b))) {
        die("edit files");
    }
    st_file_meta_unref(m);
    st_version_edit_set_prev_log_number(&e, 4);
    if (st_version_edit_encode(&e, &out)) {
        die("edit encode");
    }
    save("version_edit", "edit-files", "", 0, out.data, out.len);
    st_version_edit_clear(&e);
    st_buf_free(&out);
    st_buf_free(&a);
    st_buf_free(&b);
}

static void make_batches(void)
{
    strata_batch *b = strata_batch_create();
    save("batch", "batch-empty", "", 0, b->rep.data, b->rep.len);
    strata_batch_put(b, "k1", 2, "v1", 2);
    strata_batch_delete(b, "k2", 2);
    strata_batch_put(b, "", 0, "", 0);
    st_batch_set_seq(b, 77);
    save("batch", "batch-mixed", "", 0, b->rep.data, b->rep.len);
    strata_batch_clear(b);
    strata_batch_delete_range(b, "a", 1, "m", 1);
    strata_batch_merge(b, "c", 1, "\1\0\0\0\0\0\0\0", 8);
    strata_batch_single_delete(b, "d", 1);
    st_batch_put_expiring(b, st_slice_cstr("e"), st_slice_cstr("v"), 123456789);
    st_batch_set_seq(b, 90);
    save("batch", "batch-new-ops", "", 0, b->rep.data, b->rep.len);
    strata_batch_destroy(b);
}

static void make_options(void)
{
    strata_options *o = strata_options_create();
    char *s = strata_options_to_string(o);
    save("options", "defaults", "", 0, s, strlen(s));
    strata_free(s);
    static const char *const seeds[] = {
        "write_buffer_size=64MB;compression=zstd;bloom_bits_per_key=10",
        " paranoid_checks = true ; block_size=4K;max_bytes_for_level_multiplier=8.5",
        "num_levels=3;level0_compaction_trigger=2;level0_slowdown_trigger=3;level0_stop_trigger=4",
        "bogus=1",
    };
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "seed%zu", i);
        save("options", name, "", 0, seeds[i], strlen(seeds[i]));
    }
    static const int per_level[] = {STRATA_COMPRESSION_NONE, STRATA_COMPRESSION_NONE,
                                    STRATA_COMPRESSION_ZSTD};
    if (strata_options_set_compression_per_level(o, per_level, 3) == 0) {
        s = strata_options_to_string(o);
        save("options", "per-level", "", 0, s, strlen(s));
        strata_free(s);
    }
    strata_options_destroy(o);
}

static void make_api_ops(void)
{
    /* op bytes: see fuzz_api_ops.c */
    static const uint8_t s0[] = {0, 1, 3, 'a', 'b', 'c', 0, 2, 2, 'x', 'y', 4, 1, 4, 2, 5, 6,
                                 9, 4, 1, 3, 1, 4, 1, 10, 4, 2, 5, 7, 1, 12, 60};
    static const uint8_t s1[] = {8, 5, 1, 1, 3, 'p', 'q', 'r', 2, 0, 3, 1, 0, 4, 1, 1, 'z',
                                 5, 1, 7, 0, 9, 14, 9, 1, 11, 5, 6, 13, 9, 4, 9, 10, 6};
    save("api_ops", "ops0", "", 0, s0, sizeof(s0));
    save("api_ops", "ops1", "", 0, s1, sizeof(s1));
    /* merges, a TTL put, a range delete, clock steps, multi-gets, a single delete, a prefix
     * delete and a batch of the new operations, with a flush, a compaction and a reopen */
    static const uint8_t s2[] = {17, 5, 7,  17, 5,  9,  4,  5,  19,   6,  3,   'a', 'b', 'c',
                                 2,  16, 0, 10, 20, 3,  21, 4,  5,    6,  0,   1,   18,  6,
                                 9,  17, 5, 1,  11, 21, 2,  5,  6,    22, 0x11, 23, 4,  3,
                                 2,  1,  4, 10, 3,  1,  5,  3,  'x',  'y', 'z', 3,   5,   6,
                                 20, 5,  10, 5, 21, 3,  5,  6,  7};
    save("api_ops", "ops2", "", 0, s2, sizeof(s2));
}

/* One fuzz_ecc input (layout in fuzz_ecc.c): parameters, n bytes of block-like text, optional
 * parity bytes, damage ops. */
static void save_ecc(const char *name, uint8_t kind, uint8_t k, uint8_t m, uint8_t mode, size_t n,
                     const uint8_t *tail, size_t tail_len)
{
    static uint8_t buf[8192];
    size_t len = 0;
    uint8_t hdr[6] = {kind, k, m, mode, (uint8_t)(n & 0xff), (uint8_t)(n >> 8)};
    memcpy(buf, hdr, sizeof(hdr));
    len += sizeof(hdr);
    for (size_t i = 0; i < n; i++) {
        buf[len++] = (uint8_t)("key00000042value-abcdefgh"[i % 25] + (i / 25) % 7);
    }
    if (tail_len) {
        memcpy(buf + len, tail, tail_len);
    }
    save("ecc", name, "", 0, buf, len + tail_len);
}

static void make_ecc(void)
{
    /* ops: {target | position bits 16.. << 1, position low, position high, xor} */
    static const uint8_t bit[] = {0, 0x34, 0x02, 0x08};
    static const uint8_t shard[] = {0, 0x10, 0x01, 0xff, 0, 0x11, 0x01, 0x5a, 0, 0x40, 0x01, 0x33,
                                    0, 0x90, 0x01, 0x81};
    static const uint8_t mixed[] = {0, 0x05, 0, 0x01, 1, 0x07, 0, 0x80, 1, 0xf0, 0, 0x10,
                                    0, 0x20, 0, 0x44, 0, 0x2b, 0, 0x02};
    static const uint8_t crcs[] = {1, 0x10, 0, 0x01, 0, 0x03, 0, 0x40};
    uint8_t garbage[256];
    for (size_t i = 0; i < sizeof(garbage); i++) {
        garbage[i] = (uint8_t)(i * 37 + 11);
    }
    /* kind byte: bit 0 picks RS over XOR; k and m bytes are k - 1 and m - 1 */
    save_ecc("rs8-2-bit", 1, 7, 1, 0, 4096, bit, sizeof(bit));
    save_ecc("xor4-shard", 0, 3, 0, 0, 1000, shard, sizeof(shard));
    save_ecc("rs16-4-mixed", 1, 15, 3, 0, 300, mixed, sizeof(mixed));
    save_ecc("rs3-1-crcs", 1, 2, 0, 0, 100, crcs, sizeof(crcs));
    save_ecc("rs32-8-garbage-parity", 1, 31, 7, 1, 60, garbage, sizeof(garbage));
    save_ecc("xor32-tiny", 0, 31, 0, 0, 7, bit, sizeof(bit));
    save_ecc("empty", 1, 0, 0, 0, 0, NULL, 0);
    save_ecc("raw-params", 0x80 | 34, 40, 9, 0, 16, bit, sizeof(bit)); /* RS 40+9: refused */
}

/* ---- the encrypted targets (keys: fuzz_crypt.h) ---- */

static void corpus_text(uint8_t *buf, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++) {
        buf[i] = (uint8_t)("key00000042value-abcdefgh"[(i + (size_t)seed) % 25] + (i / 25) % 7);
    }
}

/* One encrypted block, sealed at off as kind, as body ‖ trailer (‖ parity with ecc) into out. */
static void seal_block(int type, int checksum, const st_ecc *ecc, int encrypted, uint64_t off,
                       int kind, const uint8_t *raw, size_t n, st_buf *out, size_t *blen)
{
    st_codec *c;
    if (st_codec_create(type, 3, checksum, &c) ||
        st_codec_set_transforms(c, encrypted ? fz_table_crypt() : NULL, ecc)) {
        die("codec");
    }
    st_buf scratch = ST_BUF_INIT;
    st_codec_out e;
    if (st_codec_encode(c, st_slice_make(raw, n), type != STRATA_COMPRESSION_NONE, &scratch, &e) ||
        st_codec_seal(c, &e, off, kind)) {
        die("seal");
    }
    st_buf_clear(out);
    st_buf_append(out, e.body.data, e.body.size);
    st_buf_append(out, e.trailer, e.trailer_len);
    *blen = out->len;
    st_buf_append(out, e.parity.data, e.parity.size);
    st_buf_free(&scratch);
    st_codec_destroy(c);
}

static void make_encrypted_block(void)
{
    /* flags: bit 0 XXH3, bit 1 verify, bits 2-4 kind - 1, bit 5 align64, bit 6 encode mode */
    static const struct {
        const char *name;
        uint8_t flags;
        int type;
        uint32_t off;
        size_t n;
    } seeds[] = {
        {"stored-data-crc", 0x02, STRATA_COMPRESSION_NONE, 4096, 300},
        {"stored-index-xxh3", 0x07, STRATA_COMPRESSION_NONE, 123456, 90},
        {"stored-filter-aligned", 0x2a, STRATA_COMPRESSION_NONE, 77, 640},
        {"stored-data-noverify", 0x00, STRATA_COMPRESSION_NONE, 0, 17},
#ifdef STRATA_HAVE_SNAPPY
        {"stored-snappy", 0x02, STRATA_COMPRESSION_SNAPPY, 8192, 500},
#endif
#ifdef STRATA_HAVE_ZSTD
        {"stored-zstd-xxh3", 0x03, STRATA_COMPRESSION_ZSTD, 65536, 800},
#endif
    };
    uint8_t raw[1024], buf[4096];
    st_buf out = ST_BUF_INIT;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        corpus_text(raw, seeds[i].n, (int)i);
        size_t blen;
        int checksum = seeds[i].flags & 1 ? STRATA_CHECKSUM_XXH3 : STRATA_CHECKSUM_CRC32C;
        seal_block(seeds[i].type, checksum, NULL, 1, seeds[i].off, 1 + ((seeds[i].flags >> 2) & 7),
                   raw, seeds[i].n, &out, &blen);
        uint8_t hdr[5] = {seeds[i].flags, (uint8_t)seeds[i].off, (uint8_t)(seeds[i].off >> 8),
                          (uint8_t)(seeds[i].off >> 16), (uint8_t)(seeds[i].off >> 24)};
        save("encrypted_block", seeds[i].name, hdr, sizeof(hdr), out.data, out.len);
    }
    /* encode mode: compression, ops {pos lo, pos hi, xor}, raw */
    static const uint8_t enc_clean[] = {0x42, 0, 16, 0, 0, 0, 0};
    static const uint8_t enc_tag[] = {0x42, 0, 16, 0, 0, 1, 0, 2, 5, 'a', 'b', 'c'};
    static const uint8_t enc_else[] = {0xc6, 1, 0, 0, 0, 2, 0, 'x', 'y', 'z', 'z', 'y'};
    corpus_text(raw, 200, 3);
    memcpy(buf, enc_clean, sizeof(enc_clean));
    save("encrypted_block", "encode-clean", buf, sizeof(enc_clean), raw, 200);
    save("encrypted_block", "encode-damaged", enc_tag, sizeof(enc_tag), raw, 100);
    save("encrypted_block", "encode-elsewhere", enc_else, sizeof(enc_else), raw, 60);
    st_buf_free(&out);
}

static void make_parity_block(void)
{
    /* encode mode: ecc (bit 0 RS), k - 1, m - 1, flags (bit 0 encrypted, bit 1 XXH3, bit 3
     * snappy), nops, ops {target | pos bits 16.. << 1, pos lo, pos hi, xor}, raw */
    static const uint8_t bit[] = {1, 7, 1, 0x01, 1, 0, 0x20, 0, 0x10};
    static const uint8_t shards[] = {1, 7, 1, 0x03, 3, 0, 0x05, 0, 0xff, 0, 0x50, 0, 0x0f,
                                     1, 0x02, 0, 0x80};
    static const uint8_t xor_[] = {0, 3, 0, 0x08, 2, 0, 0x07, 0, 0x01, 0, 0x08, 0, 0x01};
    static const uint8_t beyond[] = {1, 3, 0, 0x01, 2, 0, 0x01, 0, 0x33, 0, 0x90, 0, 0x44};
    uint8_t raw[2048];
    corpus_text(raw, sizeof(raw), 5);
    save("parity_block", "rs8-2-enc-bit", bit, sizeof(bit), raw, 1500);
    save("parity_block", "rs8-2-enc-xxh3-shards", shards, sizeof(shards), raw, 2000);
    save("parity_block", "xor4-plain-snappy", xor_, sizeof(xor_), raw, 700);
    save("parity_block", "rs4-1-beyond", beyond, sizeof(beyond), raw, 400);
    /* stored mode (flags bit 2): fixed16 block size, then block ‖ parity */
    st_ecc e = {ST_ECC_RS, 8, 2};
    st_buf out = ST_BUF_INIT;
    size_t blen;
    seal_block(STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, &e, 1, 0, ST_BLOCK_DATA, raw,
               900, &out, &blen);
    uint8_t hdr[6] = {1, 7, 1, 0x05, (uint8_t)blen, (uint8_t)(blen >> 8)};
    save("parity_block", "stored-rs8-2-enc", hdr, sizeof(hdr), out.data, out.len);
    out.data[blen / 3] ^= 0x40; /* one flipped bit: heals */
    save("parity_block", "stored-rs8-2-enc-flip", hdr, sizeof(hdr), out.data, out.len);
    st_ecc x = {ST_ECC_XOR, 4, 1};
    seal_block(STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_XXH3, &x, 0, 0, ST_BLOCK_DATA, raw, 333,
               &out, &blen);
    uint8_t hdr2[6] = {0, 3, 0, 0x06, (uint8_t)blen, (uint8_t)(blen >> 8)};
    save("parity_block", "stored-xor4-plain-xxh3", hdr2, sizeof(hdr2), out.data, out.len);
    st_buf_free(&out);
}

/* A sealed log of nrec wrapped records (payloads from corpus_text) as fuzz_encrypted_log's
 * stored mode reads it.  The salt is random: these seeds differ between runs, all valid. */
static void make_encrypted_log(st_env *env)
{
    static st_integrity in;
    fz_integrity_init(&in);
    for (int kindsel = 0; kindsel < 2; kindsel++) {
        int kind = kindsel ? ST_CRYPT_FILE_MANIFEST : ST_CRYPT_FILE_WAL;
        st_wfile *wf;
        st_log_writer *w;
        if (st_env_new_writable(env, "/l", &wf) || st_log_writer_create(wf, 0, &w) ||
            st_log_writer_protect(w, &in, FZ_LOG_NUMBER, kind)) {
            die("sealed log");
        }
        st_buf plain = ST_BUF_INIT;
        uint8_t payload[300];
        for (int i = 0; i < 6; i++) {
            size_t n = (size_t)(i * 53 % 300);
            corpus_text(payload, n, i);
            st_buf_clear(&plain);
            if (fz_wrap_record(&plain, (uint32_t)i, payload, n) ||
                st_log_writer_add(w, st_buf_slice(&plain))) {
                die("sealed record");
            }
        }
        st_buf_free(&plain);
        st_log_writer_close(w);
        char *data;
        size_t len;
        read_back(env, "/l", &data, &len);
        uint8_t flags = (uint8_t)(4 | (kindsel << 1));
        save("encrypted_log", kindsel ? "stored-manifest" : "stored-wal", &flags, 1, data, len);
        flags |= 1;
        save("encrypted_log", kindsel ? "stored-manifest-skip" : "stored-wal-skip", &flags, 1,
             data, len);
        st_free(data);
    }
    /* encode mode: flags, nrec - 1, records (len, payload), nedit, edits, nbyte, byte ops */
    static const uint8_t clean[] = {0, 3, 3, 'a', 'b', 'c', 0, 5, 'h', 'e', 'l', 'l', 'o',
                                    1, 'z', 0, 0};
    static const uint8_t swapped[] = {0, 3, 2, 'a', 'b', 1, 'c', 2, 'd', 'e', 1, 'f',
                                      1, 1, 2, 3, 0};
    static const uint8_t dropped[] = {1, 4, 1, 'a', 1, 'b', 1, 'c', 1, 'd', 1, 'e',
                                      1, 0, 2, 0, 0};
    static const uint8_t damaged[] = {2, 2, 4, 'a', 'b', 'c', 'd', 4, 'e', 'f', 'g', 'h',
                                      4, 'i', 'j', 'k', 'l', 0, 1, 30, 0, 0x20};
    save("encrypted_log", "encode-clean", "", 0, clean, sizeof(clean));
    save("encrypted_log", "encode-swapped", "", 0, swapped, sizeof(swapped));
    save("encrypted_log", "encode-dropped-skip", "", 0, dropped, sizeof(dropped));
    save("encrypted_log", "encode-damaged-manifest", "", 0, damaged, sizeof(damaged));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus <corpus-dir>\n");
        return 2;
    }
    g_root = argv[1];
    mkdir(g_root, 0755);
    st_env *env = st_env_mem_create();
    make_table(env, "table-crc-bloom", 60, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, 1, 0);
    make_table(env, "table-xxh3", 30, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_XXH3, 0, 0);
#ifdef STRATA_HAVE_SNAPPY
    make_table(env, "table-snappy", 40, STRATA_COMPRESSION_SNAPPY, STRATA_CHECKSUM_CRC32C, 1, 0);
#endif
#ifdef STRATA_HAVE_ZSTD
    make_table(env, "table-zstd", 40, STRATA_COMPRESSION_ZSTD, STRATA_CHECKSUM_CRC32C, 1, 0);
#endif
    make_table(env, "table-empty", 0, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, 1, 0);
    make_table(env, "table-rangedel", 30, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, 1, 1);
    make_blocks();
    make_wal(env);
    make_parity_wals(env);
    make_edits();
    make_batches();
    make_options();
    make_api_ops();
    make_ecc();
    make_encrypted_block();
    make_parity_block();
    make_encrypted_log(env);
    strata_env_destroy(env);
    return 0;
}
