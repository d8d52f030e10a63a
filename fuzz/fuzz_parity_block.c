/* fuzz_parity_block.c — libFuzzer target for reading one table block with parity
 * (st_read_block_ctx: checksum, healing from the parity region, decryption, decompression).
 * Input:
 *
 *     ecc ‖ k ‖ m ‖ flags ‖ fixed16 size ‖ file bytes                          (flags bit 2 set)
 *     ecc ‖ k ‖ m ‖ flags ‖ nops ‖ nops × (target, pos lo, pos hi, xor) ‖ raw  (bit 2 clear)
 *
 * ecc bit 0: RS (else XOR); k = 1 + k % 32, m = 1 + m % 8.  flags: bit 0 encrypted (table
 * FZ_TABLE_NUMBER's key, fuzz_crypt.h), bit 1 XXH3 checksums (else CRC-32C), bit 2 stored mode,
 * bit 3 try compression (snappy).  The block is at offset 0 of a file in a private in-memory env;
 * its parity region follows it and the file ends there.
 *
 * Stored mode: arbitrary file bytes, the block's size from the input.  The read must succeed or
 * fail cleanly; an encrypted block that reads back must be what the encoder makes of the
 * contents returned, up to damage the parity can undo (at most m shards differ).
 * Encode mode: the raw contents are sealed with parity, the ops damage the block (target bit 0
 * clear) or its parity region (set), and the block is read back.  Checks:
 *   - a read that succeeds returns the raw contents when the table is encrypted (GCM), or when
 *     its checksum is XXH3 and no op touched the checksum bytes (a CRC-32C table, being linear,
 *     promises nothing against crafted damage), and healed is set exactly when the damaged block
 *     failed its checksum;
 *   - damage the parity must undo is undone: the parity region's CRC array intact, and either one
 *     bit flipped in all, or 2..m damaged shards in all of which at least 2 are data shards (one
 *     multi-bit data shard alone can look like a single bit to a CRC, which the heal
 *     cross-checks against the parity only when the parity is intact, so it is left out);
 *   - failures are CORRUPTION, AUTH or NOTSUP naming the file. */
#include <string.h>

#include "codec/codec.h"
#include "codec/ecc.h"
#include "env/env.h"
#include "fuzz_common.h"
#include "fuzz_crypt.h"
#include "table/format.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/crc32c.h"

#define FNAME "/000007.sst"
#define MAX_OPS 32

static st_env *g_env;
static st_integrity g_integ;

typedef struct setup {
    st_ecc ecc;
    int encrypted, checksum, compress;
} setup;

/* body ‖ trailer ‖ parity of raw sealed at offset 0 as a data block, into out; *blen is the
 * block's size (body ‖ trailer). */
static void encode(const setup *s, st_slice raw, st_buf *out, size_t *blen)
{
    st_codec *c;
    int type = s->compress && st_compression_supported(STRATA_COMPRESSION_SNAPPY)
                   ? STRATA_COMPRESSION_SNAPPY
                   : STRATA_COMPRESSION_NONE;
    FZ_CHECK(st_codec_create(type, 0, s->checksum, &c) == 0);
    FZ_CHECK(st_codec_set_transforms(c, s->encrypted ? fz_table_crypt() : NULL, &s->ecc) == 0);
    st_buf scratch = ST_BUF_INIT;
    st_codec_out e;
    FZ_CHECK(st_codec_encode(c, raw, type != STRATA_COMPRESSION_NONE, &scratch, &e) == 0);
    FZ_CHECK(st_codec_seal(c, &e, 0, ST_BLOCK_DATA) == 0);
    st_buf_clear(out);
    FZ_CHECK(st_buf_append(out, e.body.data, e.body.size) == 0);
    FZ_CHECK(st_buf_append(out, e.trailer, e.trailer_len) == 0);
    *blen = out->len;
    FZ_CHECK(st_buf_append(out, e.parity.data, e.parity.size) == 0);
    st_buf_free(&scratch);
    st_codec_destroy(c);
}

/* Reads the block of blen bytes at offset 0 of a file holding file; on success *raw holds a copy
 * of its contents and *healed says whether it was rebuilt. */
static int read_block(const setup *s, st_slice file, size_t blen, st_buf *raw, int *healed)
{
    FZ_CHECK(st_env_write_file(g_env, FNAME, file, 0) == 0);
    st_rfile *f;
    FZ_CHECK(st_env_new_random(g_env, FNAME, &f) == 0);
    st_block_rctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.codec.checksum = s->checksum;
    ctx.codec.crypt = s->encrypted ? fz_table_crypt() : NULL;
    ctx.codec.parity = 1;
    ctx.codec.fname = FNAME;
    ctx.ecc = s->ecc;
    ctx.blocks_end = file.size;
    ctx.integ = &g_integ;
    ctx.file_number = FZ_TABLE_NUMBER;
    st_block_contents c;
    st_block_handle h = {0, blen};
    int rc = st_read_block_ctx(f, &ctx, h, ST_BLOCK_DATA, 1, 0, &c);
    if (rc == 0) {
        st_buf_clear(raw);
        FZ_CHECK(st_buf_append(raw, c.data.data, c.data.size) == 0);
        *healed = c.healed;
        st_free(c.heap);
    } else {
        FZ_CHECK(rc == STRATA_E_CORRUPTION || rc == STRATA_E_AUTH || rc == STRATA_E_NOTSUP);
        FZ_CHECK(strstr(strata_errmsg(), FNAME) != NULL);
    }
    st_rfile_close(f);
    return rc;
}

/* CRC-32C of p[0, len) followed by zeros up to s bytes (a padded shard, as ecc.c computes it). */
static uint32_t padded_crc(const unsigned char *p, size_t len, size_t s)
{
    static const unsigned char zeros[64];
    uint32_t crc = st_crc32c(p, len);
    for (size_t pad = s - len; pad > 0;) {
        size_t n = pad < sizeof(zeros) ? pad : sizeof(zeros);
        crc = st_crc32c_extend(crc, zeros, n);
        pad -= n;
    }
    return crc;
}

/* How region b (n bytes, parity pb) differs from a (parity pa, plen bytes). */
typedef struct diff {
    int data, parity; /* damaged data and parity shards */
    size_t bits;      /* bits that differ anywhere */
    int crcs;         /* the CRC array (or its own CRC) differs */
    int invisible;    /* a damaged shard whose CRC still matches (the heal cannot see it) */
} diff;

static void diff_shards(const st_ecc *e, const unsigned char *a, const unsigned char *b, size_t n,
                        const unsigned char *pa, const unsigned char *pb, size_t plen, diff *d)
{
    int m = e->kind == ST_ECC_XOR ? 1 : e->m;
    size_t s = n ? (n + (size_t)e->k - 1) / (size_t)e->k : 1;
    memset(d, 0, sizeof(*d));
    for (int i = 0; i < e->k + m; i++) {
        const unsigned char *x = i < e->k ? a + (size_t)i * s : pa + (size_t)(i - e->k) * s;
        const unsigned char *y = i < e->k ? b + (size_t)i * s : pb + (size_t)(i - e->k) * s;
        size_t off = (size_t)i * s;
        size_t len = i >= e->k ? s : off >= n ? 0 : (n - off < s ? n - off : s);
        size_t bits = 0;
        for (size_t j = 0; j < len; j++) {
            bits += (size_t)__builtin_popcount((unsigned)(x[j] ^ y[j]));
        }
        if (bits) {
            d->bits += bits;
            *(i < e->k ? &d->data : &d->parity) += 1;
            d->invisible |= padded_crc(x, len, s) == padded_crc(y, len, s);
        }
    }
    for (size_t j = (size_t)m * s; j < plen; j++) {
        d->bits += (size_t)__builtin_popcount((unsigned)(pa[j] ^ pb[j]));
        d->crcs |= pa[j] != pb[j];
    }
}

static void encode_mode(const setup *s, fz_cursor *c)
{
    int nops = fz_u8(c) % (MAX_OPS + 1);
    uint8_t ops[MAX_OPS][4];
    for (int i = 0; i < nops; i++) {
        for (int j = 0; j < 4; j++) {
            ops[i][j] = fz_u8(c);
        }
    }
    st_slice raw = st_slice_make(c->p, c->n);
    st_buf orig = ST_BUF_INIT, file = ST_BUF_INIT, out = ST_BUF_INIT;
    size_t blen;
    encode(s, raw, &orig, &blen);
    size_t plen = orig.len - blen;
    FZ_CHECK(st_buf_append(&file, orig.data, orig.len) == 0);
    for (int i = 0; i < nops; i++) {
        size_t pos = (size_t)ops[i][1] | (size_t)ops[i][2] << 8 | (size_t)(ops[i][0] >> 1) << 16;
        size_t at = (ops[i][0] & 1) ? blen + pos % plen : pos % blen;
        file.data[at] ^= (char)(ops[i][3] ? ops[i][3] : 1);
    }
    const unsigned char *o = (const unsigned char *)orig.data,
                        *f = (const unsigned char *)file.data;
    diff d;
    diff_shards(&s->ecc, o, f, blen, o + blen, f + blen, plen, &d);
    size_t tlen = st_codec_trailer_len(s->checksum);
    int sum_touched = memcmp(o + blen - tlen + 2, f + blen - tlen + 2, tlen - 2) != 0;
    int damaged_fails = !st_codec_verify(s->checksum, st_slice_make(file.data, blen), 0);
    int m = s->ecc.kind == ST_ECC_XOR ? 1 : s->ecc.m;
    int must_heal =
        !d.crcs && !d.invisible && (d.bits == 1 || (d.data >= 2 && d.data + d.parity <= m));
    int healed = -1;
    int rc = read_block(s, st_buf_slice(&file), blen, &out, &healed);
    int exact = rc == 0 && out.len == raw.size &&
                (raw.size == 0 || memcmp(out.data, raw.data, raw.size) == 0);
    if (rc == 0) {
        FZ_CHECK(healed == damaged_fails);
        if (s->encrypted || (s->checksum == STRATA_CHECKSUM_XXH3 && !sum_touched)) {
            FZ_CHECK(exact);
        }
    }
    if (must_heal) {
        FZ_CHECK(exact);
    }
    st_buf_free(&orig);
    st_buf_free(&file);
    st_buf_free(&out);
}

/* Stored mode: arbitrary bytes.  A decrypted block is authentic, so it is what the encoder
 * makes of the contents returned (stored raw or compressed), and the heal can only have changed
 * up to m data shards of the stored bytes to get there. */
static void stored_mode(const setup *s, fz_cursor *c)
{
    size_t blen = fz_u8(c);
    blen |= (size_t)fz_u8(c) << 8;
    st_slice file = st_slice_make(c->p, c->n);
    if (blen > file.size) {
        blen = file.size;
    }
    st_buf out = ST_BUF_INIT, again = ST_BUF_INIT;
    int healed;
    if (read_block(s, file, blen, &out, &healed) == 0 && s->encrypted) {
        int m = s->ecc.kind == ST_ECC_XOR ? 1 : s->ecc.m, match = 0;
        for (int comp = 0; comp < 2 && !match; comp++) {
            setup s2 = *s;
            s2.compress = comp;
            size_t ablen;
            encode(&s2, st_buf_slice(&out), &again, &ablen);
            if (ablen != blen) {
                continue;
            }
            const unsigned char *a = (const unsigned char *)again.data;
            const unsigned char *f = (const unsigned char *)file.data;
            diff d; /* the data shards only: the parity region may not even be in the file */
            diff_shards(&s->ecc, a, f, blen, a + blen, a + blen, again.len - blen, &d);
            match = d.data <= m;
        }
        FZ_CHECK(match);
    }
    st_buf_free(&out);
    st_buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) {
        return 0;
    }
    if (!g_env) {
        g_env = st_env_mem_create();
        fz_integrity_init(&g_integ);
        FZ_CHECK(g_env != NULL && fz_table_crypt() != NULL);
    }
    fz_cursor c = {data, size};
    uint8_t ecc = fz_u8(&c), k = fz_u8(&c), m = fz_u8(&c), flags = fz_u8(&c);
    setup s = {{(ecc & 1) ? ST_ECC_RS : ST_ECC_XOR, 1 + k % ST_ECC_MAX_DATA_SHARDS,
                1 + m % ST_ECC_MAX_PARITY_SHARDS},
               flags & 1,
               (flags & 2) ? STRATA_CHECKSUM_XXH3 : STRATA_CHECKSUM_CRC32C,
               (flags >> 3) & 1};
    if (s.ecc.kind == ST_ECC_XOR) {
        s.ecc.m = 1;
    }
    if (flags & 4) {
        stored_mode(&s, &c);
    } else {
        encode_mode(&s, &c);
    }
    return 0;
}
