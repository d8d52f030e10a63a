/* codec.c — block encode/decode: compression choice, trailer, checksum (codec.h). */
#include "codec/codec.h"
#include "util/coding.h"

#include <string.h>

#include <inttypes.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/status.h"

struct st_codec {
    st_compressor *comp;
    int checksum;
    const st_crypt_file *crypt; /* NULL: plaintext */
    st_ecc ecc;                 /* kind NONE: no parity */
    st_buf cipher;              /* the encrypted body of the block being sealed */
    st_buf whole;               /* body ‖ trailer contiguous, for the parity encoder */
    st_buf parity;              /* the parity region of the block being sealed */
};

int st_codec_create(int compression, int zstd_level, int checksum, st_codec **out)
{
    if (!st_checksum_len(checksum)) {
        return st_err(STRATA_E_INVALID, "unknown checksum kind %d", checksum);
    }
    st_codec *c = st_calloc(1, sizeof(*c));
    if (!c) {
        return STRATA_E_NOMEM;
    }
    int rc = st_compressor_create(compression, zstd_level, &c->comp);
    if (rc) {
        st_free(c);
        return rc;
    }
    c->checksum = checksum;
    st_buf_init(&c->cipher);
    st_buf_init(&c->whole);
    st_buf_init(&c->parity);
    *out = c;
    return 0;
}

void st_codec_destroy(st_codec *c)
{
    if (c) {
        st_compressor_destroy(c->comp);
        st_buf_free(&c->cipher);
        st_buf_free(&c->whole);
        st_buf_free(&c->parity);
        st_free(c);
    }
}

int st_codec_set_transforms(st_codec *c, const st_crypt_file *crypt, const st_ecc *ecc)
{
    st_ecc none = {ST_ECC_NONE, 0, 0};
    int rc = ecc ? st_ecc_check(ecc) : 0;
    if (rc) {
        return rc;
    }
    c->crypt = crypt;
    c->ecc = ecc ? *ecc : none;
    return 0;
}

static unsigned codec_flags(const st_codec *c)
{
    return (c->crypt ? ST_BLOCK_FLAG_ENCRYPTED : 0u) |
           (c->ecc.kind != ST_ECC_NONE ? ST_BLOCK_FLAG_PARITY : 0u);
}

/* Keep the compressed form only if it is at most 7/8 of the raw size. */
static int worth_it(size_t raw, size_t compressed)
{
    return compressed <= raw - raw / 8;
}

int st_codec_encode(st_codec *c, st_slice raw, int try_compress, st_buf *scratch,
                    st_codec_out *out)
{
    out->body = raw;
    out->type = STRATA_COMPRESSION_NONE;
    if (try_compress && st_compressor_type(c->comp) != STRATA_COMPRESSION_NONE) {
        int rc = st_compress(c->comp, raw, scratch);
        if (rc < 0) {
            return rc;
        }
        if (rc == 1 && worth_it(raw.size, scratch->len)) {
            out->body = st_buf_slice(scratch);
            out->type = st_compressor_type(c->comp);
        }
    }
    out->trailer[0] = (unsigned char)out->type;
    out->trailer[1] = (unsigned char)codec_flags(c);
    out->trailer_len = st_codec_trailer_len(c->checksum);
    out->checksum = c->checksum;
    out->parity = st_slice_make("", 0);
    return 0;
}

size_t st_codec_stored_len(const st_codec *c, const st_codec_out *out)
{
    return out->body.size + (c->crypt ? ST_CRYPT_TAG_LEN : 0) + out->trailer_len;
}

/* The checksum covers body ‖ type ‖ flags ‖ fixed64(offset): the offset is not stored, the
 * reader supplies it from the block handle, so a block moved to another position (swapped
 * blocks of equal size) fails verification instead of being read as valid. */
static void block_checksum(int checksum, st_slice covered_head, const unsigned char typeflags[2],
                           uint64_t offset, unsigned char *out)
{
    unsigned char tail[10];
    tail[0] = typeflags[0];
    tail[1] = typeflags[1];
    st_encode_fixed64((char *)tail + 2, offset);
    st_checksum_compute2(checksum, covered_head, st_slice_make(tail, sizeof(tail)), out);
}

/* The GCM additional data of a table block (docs/FORMAT.md "Encryption"):
 * "STB1" ‖ db id (16) ‖ fixed64 file number ‖ fixed64 offset ‖ kind ‖ type ‖ flags ‖ checksum kind
 * ‖ fixed32 key id. */
#define BLOCK_AAD_LEN (4 + ST_DB_ID_LEN + 8 + 8 + 4 + 4)

static void block_aad(const st_crypt_file *f, uint64_t offset, int kind, unsigned type,
                      unsigned flags, int checksum, unsigned char *aad)
{
    memcpy(aad, "STB1", 4);
    memcpy(aad + 4, st_crypt_file_db_id(f), ST_DB_ID_LEN);
    char *p = (char *)aad + 4 + ST_DB_ID_LEN;
    st_encode_fixed64(p, st_crypt_file_number(f));
    st_encode_fixed64(p + 8, offset);
    p[16] = (char)kind;
    p[17] = (char)type;
    p[18] = (char)flags;
    p[19] = (char)checksum;
    st_encode_fixed32(p + 20, st_crypt_file_key_id(f));
}

static int encrypt_body(st_codec *c, st_codec_out *out, uint64_t offset, int kind)
{
    unsigned char aad[BLOCK_AAD_LEN];
    size_t n = out->body.size;
    st_buf_clear(&c->cipher);
    if (st_buf_reserve(&c->cipher, n + ST_CRYPT_TAG_LEN)) {
        return STRATA_E_NOMEM;
    }
    block_aad(c->crypt, offset, kind, out->trailer[0], out->trailer[1], out->checksum, aad);
    int rc = st_crypt_seal(c->crypt, offset, aad, sizeof(aad), out->body.data, n, c->cipher.data,
                           (unsigned char *)c->cipher.data + n);
    if (rc == 0) {
        c->cipher.len = n + ST_CRYPT_TAG_LEN;
        out->body = st_buf_slice(&c->cipher);
    }
    return rc;
}

static int compute_parity(st_codec *c, st_codec_out *out)
{
    size_t n = out->body.size + out->trailer_len;
    size_t plen = st_ecc_parity_len(&c->ecc, n);
    st_buf_clear(&c->whole);
    st_buf_clear(&c->parity);
    if (st_buf_append(&c->whole, out->body.data, out->body.size) ||
        st_buf_append(&c->whole, out->trailer, out->trailer_len) || st_buf_reserve(&c->parity, plen)) {
        return STRATA_E_NOMEM;
    }
    int rc = st_ecc_encode(&c->ecc, c->whole.data, n, c->parity.data);
    if (rc == 0) {
        c->parity.len = plen;
        out->parity = st_buf_slice(&c->parity);
    }
    return rc;
}

int st_codec_seal(st_codec *c, st_codec_out *out, uint64_t offset, int kind)
{
    int rc = c->crypt ? encrypt_body(c, out, offset, kind) : 0;
    if (rc) {
        return rc;
    }
    block_checksum(out->checksum, out->body, out->trailer, offset, out->trailer + 2);
    return c->ecc.kind != ST_ECC_NONE ? compute_parity(c, out) : 0;
}

int st_codec_verify(int checksum, st_slice stored, uint64_t offset)
{
    size_t tlen = st_codec_trailer_len(checksum);
    if (!tlen || stored.size < tlen) {
        return 0;
    }
    size_t blen = stored.size - tlen;
    unsigned char actual[ST_CHECKSUM_MAX_LEN];
    block_checksum(checksum, st_slice_make(stored.data, blen),
                   (const unsigned char *)stored.data + blen, offset, actual);
    return memcmp(actual, stored.data + blen + 2, tlen - 2) == 0;
}

static int bad_flags(unsigned flags, const char *fname, uint64_t offset)
{
    return st_err(STRATA_E_NOTSUP, "%s: block at offset %" PRIu64 " uses unknown transform "
                  "flags 0x%02x not supported by this build", fname, offset, flags);
}

/* The block's flags against what its table says it holds. */
static int check_flags(const st_codec_rctx *ctx, unsigned flags, uint64_t offset)
{
    if (flags & ~ST_BLOCK_FLAGS_SUPPORTED) {
        return bad_flags(flags & ~ST_BLOCK_FLAGS_SUPPORTED, ctx->fname, offset);
    }
    if ((flags & ST_BLOCK_FLAG_ENCRYPTED) && !ctx->crypt) {
        return st_err(STRATA_E_AUTH, "%s: block at offset %" PRIu64 " is encrypted but no key "
                      "was given for it", ctx->fname, offset);
    }
    if (!(flags & ST_BLOCK_FLAG_ENCRYPTED) && ctx->crypt) {
        return st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64 ": "
                      "unencrypted block in an encrypted table (downgrade refused)", ctx->fname,
                      offset);
    }
    if (ctx->parity >= 0 && !(flags & ST_BLOCK_FLAG_PARITY) != !ctx->parity) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64 ": parity "
                      "flag disagrees with the table footer", ctx->fname, offset);
    }
    return 0;
}

/* Decrypts body (ciphertext ‖ tag) into a new buffer *heap; *plain is the plaintext. */
static int decrypt_body(const st_codec_rctx *ctx, st_slice body, const unsigned char *typeflags,
                        uint64_t offset, int kind, int align64, st_slice *plain, char **heap)
{
    if (body.size < ST_CRYPT_TAG_LEN) {
        return st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64 ": block "
                      "too short for its tag", ctx->fname, offset);
    }
    size_t n = body.size - ST_CRYPT_TAG_LEN;
    unsigned char aad[BLOCK_AAD_LEN];
    block_aad(ctx->crypt, offset, kind, typeflags[0], typeflags[1], ctx->checksum, aad);
    char *out;
    char *mem = st_malloc_align(n, align64, &out);
    if (!mem) {
        return st_err(STRATA_E_NOMEM, "%s: no memory for block at offset %" PRIu64, ctx->fname,
                      offset);
    }
    int rc = st_crypt_open(ctx->crypt, offset, aad, sizeof(aad), body.data, n,
                           (const unsigned char *)body.data + n, out);
    if (rc == STRATA_E_AUTH) {
        rc = st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64 ": wrong key "
                    "or tampered data", ctx->fname, offset);
    }
    if (rc) {
        st_free(mem);
        return rc;
    }
    *plain = st_slice_make(out, n);
    *heap = mem;
    return 0;
}

static int decompress_body(const st_codec_rctx *ctx, int type, st_slice body, uint64_t offset,
                           st_slice *raw, char **heap)
{
    size_t n;
    int rc = st_decompress(type, body, heap, &n);
    if (rc == STRATA_E_CORRUPTION) {
        return st_err_context(rc, "%s: corrupted block at offset %" PRIu64, ctx->fname, offset);
    }
    if (rc == STRATA_E_NOTSUP) {
        return st_err_context(rc, "%s: offset %" PRIu64, ctx->fname, offset);
    }
    if (rc == 0) {
        *raw = st_slice_make(*heap, n);
    }
    return rc;
}

int st_codec_decode_block(const st_codec_rctx *ctx, st_slice stored, int verify, uint64_t offset,
                          int kind, int align64, st_slice *raw, char **heap)
{
    size_t tlen = st_codec_trailer_len(ctx->checksum);
    *heap = NULL;
    if (!tlen) {
        return st_err(STRATA_E_INVALID, "%s: unknown checksum kind %d", ctx->fname, ctx->checksum);
    }
    if (stored.size < tlen) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64
                      ": %zu bytes is too short for a block", ctx->fname, offset, stored.size);
    }
    if (verify && !st_codec_verify(ctx->checksum, stored, offset)) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64
                      ": checksum mismatch", ctx->fname, offset);
    }
    size_t blen = stored.size - tlen;
    const unsigned char *tf = (const unsigned char *)stored.data + blen;
    int rc = check_flags(ctx, tf[1], offset);
    if (rc) {
        return rc;
    }
    st_slice body = st_slice_make(stored.data, blen);
    char *plain_heap = NULL;
    if (tf[1] & ST_BLOCK_FLAG_ENCRYPTED) {
        rc = decrypt_body(ctx, body, tf, offset, kind, align64 && tf[0] == 0, &body, &plain_heap);
        if (rc) {
            return rc;
        }
    }
    if (tf[0] == STRATA_COMPRESSION_NONE) {
        *raw = body;
        *heap = plain_heap;
        return 0;
    }
    rc = decompress_body(ctx, tf[0], body, offset, raw, heap);
    st_free(plain_heap);
    return rc;
}

int st_codec_decode(int checksum, st_slice stored, int verify, const char *fname,
                    uint64_t offset, st_slice *raw, char **heap)
{
    st_codec_rctx ctx = {checksum, NULL, -1, fname};
    return st_codec_decode_block(&ctx, stored, verify, offset, 0, 0, raw, heap);
}
