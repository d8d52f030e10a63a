/* fuzz_encrypted_block.c — libFuzzer target for decoding encrypted table blocks
 * (st_codec_decode_block with table FZ_TABLE_NUMBER's file key, fuzz_crypt.h).  Input:
 *
 *     flags ‖ fixed32 offset ‖ stored block                                   (bit 6 clear)
 *     flags ‖ fixed32 offset ‖ compression ‖ nops ‖ nops × (fixed16 pos, xor) ‖ raw contents
 *                                                                             (bit 6 set)
 *
 * flags: bit 0 XXH3 checksums (else CRC-32C), bit 1 verify the checksum, bits 2-4 block kind
 * (1 + value % 5), bit 5 64-byte aligned contents, bit 6 encode mode, bit 7 (encode mode) decode
 * at another offset or as another kind than sealed.
 *
 * Stored mode: arbitrary bytes as read from a table.  A decode may succeed only for a block the
 * encoder made under this key: the harness re-encodes what came out (same offset, kind,
 * compression) and must get the input's body ‖ type ‖ flags back, and its checksum when it was
 * verified.  Anything else would be a forgery.
 * Encode mode: the raw contents are compressed, encrypted and sealed, then damaged by the ops.
 * The decode must succeed, with the raw contents back, exactly when no op changed the body, type
 * or flags (nor, with verify, the checksum) and the block is read at its own offset as its own
 * kind.
 * Always: failures are CORRUPTION, AUTH or NOTSUP (unknown flag bits), name the file and leave
 * nothing allocated; aligned contents start on a 64-byte boundary; no over-read (the stored block
 * is an exact-size heap copy). */
#include <string.h>

#include "codec/codec.h"
#include "fuzz_common.h"
#include "fuzz_crypt.h"
#include "util/alloc.h"
#include "util/buf.h"

#define FNAME "000007.sst"
#define MAX_OPS 16

static st_codec *g_codec[4][2]; /* per compression type and checksum kind */

static st_codec *codec_for(int type, int checksum)
{
    st_codec **c = &g_codec[type][checksum];
    if (!*c) {
        FZ_CHECK(st_codec_create(type, 3, checksum, c) == 0);
        FZ_CHECK(st_codec_set_transforms(*c, fz_table_crypt(), NULL) == 0);
    }
    return *c;
}

/* The stored form (body ‖ trailer) of raw sealed at off as kind, into out. */
static void encode(int type, int checksum, st_slice raw, uint64_t off, int kind, st_buf *out)
{
    st_codec *c = codec_for(type, checksum);
    st_buf scratch = ST_BUF_INIT;
    st_codec_out e;
    FZ_CHECK(st_codec_encode(c, raw, type != STRATA_COMPRESSION_NONE, &scratch, &e) == 0);
    FZ_CHECK(st_codec_seal(c, &e, off, kind) == 0);
    st_buf_clear(out);
    FZ_CHECK(st_buf_append(out, e.body.data, e.body.size) == 0);
    FZ_CHECK(st_buf_append(out, e.trailer, e.trailer_len) == 0);
    st_buf_free(&scratch);
}

typedef struct args {
    int checksum, verify, kind, align64;
    uint64_t off;
} args;

/* Decodes stored (copied to an exact-size buffer) at off as kind; on success *raw is an owned
 * copy of the contents. */
static int decode(const args *a, st_slice stored, uint64_t off, int kind, st_buf *raw)
{
    char *copy = st_malloc(stored.size ? stored.size : 1);
    FZ_CHECK(copy != NULL);
    memcpy(copy, stored.data, stored.size);
    st_codec_rctx ctx = {a->checksum, fz_table_crypt(), 0, FNAME};
    st_slice out;
    char *heap = (char *)1;
    int rc = st_codec_decode_block(&ctx, st_slice_make(copy, stored.size), a->verify, off, kind,
                                   a->align64, &out, &heap);
    if (rc == 0) {
        size_t tlen = st_codec_trailer_len(a->checksum);
        if (a->align64 && stored.data[stored.size - tlen] == STRATA_COMPRESSION_NONE) {
            FZ_CHECK(((uintptr_t)out.data & 63) == 0);
        }
        st_buf_clear(raw);
        FZ_CHECK(st_buf_append(raw, out.data, out.size) == 0);
    } else {
        FZ_CHECK(rc == STRATA_E_CORRUPTION || rc == STRATA_E_AUTH || rc == STRATA_E_NOTSUP);
        FZ_CHECK(strstr(strata_errmsg(), FNAME) != NULL);
        FZ_CHECK(heap == NULL);
    }
    st_free(heap);
    st_free(copy);
    return rc;
}

/* Stored mode: a successful decode must re-encode to the input. */
static void stored_mode(const args *a, st_slice stored)
{
    st_buf raw = ST_BUF_INIT, again = ST_BUF_INIT;
    if (decode(a, stored, a->off, a->kind, &raw) == 0) {
        size_t tlen = st_codec_trailer_len(a->checksum);
        int type = (unsigned char)stored.data[stored.size - tlen];
        FZ_CHECK(type < 4 && st_compression_supported(type));
        encode(type, a->checksum, st_buf_slice(&raw), a->off, a->kind, &again);
        size_t cmp = a->verify ? stored.size : stored.size - tlen + 2;
        FZ_CHECK(again.len == stored.size && memcmp(again.data, stored.data, cmp) == 0);
    }
    st_buf_free(&raw);
    st_buf_free(&again);
}

/* Encode mode: seal, damage, decode (maybe elsewhere), and compare with the expectation. */
static void encode_mode(const args *a, int mismatch, fz_cursor *c)
{
    int type = fz_u8(c) % 4;
    if (!st_compression_supported(type)) {
        type = STRATA_COMPRESSION_NONE;
    }
    int nops = fz_u8(c) % (MAX_OPS + 1);
    uint8_t ops[MAX_OPS][3];
    for (int i = 0; i < nops; i++) {
        ops[i][0] = fz_u8(c);
        ops[i][1] = fz_u8(c);
        ops[i][2] = fz_u8(c);
    }
    st_slice raw = st_slice_make(c->p, c->n);
    st_buf sealed = ST_BUF_INIT, damaged = ST_BUF_INIT, out = ST_BUF_INIT;
    encode(type, a->checksum, raw, a->off, a->kind, &sealed);
    FZ_CHECK(st_buf_append(&damaged, sealed.data, sealed.len) == 0);
    for (int i = 0; i < nops; i++) {
        size_t pos = ((size_t)ops[i][0] | (size_t)ops[i][1] << 8) % damaged.len;
        damaged.data[pos] ^= (char)(ops[i][2] ? ops[i][2] : 1);
    }
    size_t tlen = st_codec_trailer_len(a->checksum), blen = sealed.len - tlen;
    int btf_same = memcmp(sealed.data, damaged.data, blen + 2) == 0;
    int sum_same = memcmp(sealed.data + blen + 2, damaged.data + blen + 2, tlen - 2) == 0;
    uint64_t off = a->off;
    int kind = a->kind;
    if (mismatch) {
        if (a->off & 1) {
            kind = kind % 5 + 1;
        } else {
            off ^= 16;
        }
    }
    int rc = decode(a, st_buf_slice(&damaged), off, kind, &out);
    int expect_ok = btf_same && (!a->verify || sum_same) && !mismatch;
    FZ_CHECK((rc == 0) == expect_ok);
    if (rc == 0) {
        FZ_CHECK(out.len == raw.size &&
                 (raw.size == 0 || memcmp(out.data, raw.data, raw.size) == 0));
    }
    st_buf_free(&sealed);
    st_buf_free(&damaged);
    st_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_cursor c = {data, size};
    if (size < 5) {
        return 0;
    }
    FZ_CHECK(fz_table_crypt() != NULL);
    uint8_t flags = fz_u8(&c);
    args a = {(flags & 1) ? STRATA_CHECKSUM_XXH3 : STRATA_CHECKSUM_CRC32C, (flags >> 1) & 1,
              1 + ((flags >> 2) & 7) % 5, (flags >> 5) & 1, 0};
    for (int i = 0; i < 4; i++) {
        a.off |= (uint64_t)fz_u8(&c) << (8 * i);
    }
    if (flags & 0x40) {
        encode_mode(&a, (flags >> 7) & 1, &c);
    } else {
        stored_mode(&a, st_slice_make(c.p, c.n));
    }
    return 0;
}
