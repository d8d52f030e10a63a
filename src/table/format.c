/* format.c — block handles, footer, and block reads (format.h; docs/FORMAT.md "Table"). */
#include "table/format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codec/codec.h"
#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

/* Footer field offsets. */
enum {
    FOOT_HANDLES = 0,   /* two handles, zero-padded to 40 bytes */
    FOOT_CHECKSUM = 40, /* checksum kind, 1 byte */
    FOOT_RESERVED = 41, /* 7 zero bytes */
    FOOT_VERSION = 48,  /* fixed32 */
    FOOT_CRC = 52,      /* fixed32 masked CRC-32C of bytes [0, 52) */
    FOOT_MAGIC = 56     /* fixed64 */
};

char *st_handle_encode(char *p, st_block_handle h)
{
    p = st_encode_varint64(p, h.offset);
    return st_encode_varint64(p, h.size);
}

int st_handle_append(st_buf *b, st_block_handle h)
{
    char tmp[ST_HANDLE_MAX_LEN];
    char *end = st_handle_encode(tmp, h);
    return st_buf_append(b, tmp, (size_t)(end - tmp));
}

int st_handle_decode(st_slice *in, st_block_handle *h)
{
    st_slice save = *in;
    if (st_get_varint64(in, &h->offset) && st_get_varint64(in, &h->size)) {
        return 1;
    }
    *in = save;
    return 0;
}

static void footer2_encode(const st_footer *f, char *out)
{
    memset(out, 0, ST_FOOTER_LEN);
    char *p = st_handle_encode(out + FOOT_HANDLES, f->metaindex);
    st_handle_encode(p, f->index);
    out[FOOT_CHECKSUM] = (char)f->checksum;
    st_encode_fixed32(out + FOOT_VERSION, f->format_version);
    st_encode_fixed32(out + FOOT_CRC, st_crc32c_mask(st_crc32c(out, FOOT_CRC)));
    st_encode_fixed64(out + FOOT_MAGIC, ST_TABLE_MAGIC);
}

/* off: where the footer copy being decoded starts, so the message says where it was found. */
static int bad_footer(const char *fname, uint64_t off, const char *what)
{
    return st_err(STRATA_E_CORRUPTION, "%s: corrupted table footer at offset %" PRIu64 ": %s",
                  fname, off, what);
}

int st_handle_within(st_block_handle h, uint64_t blocks_end, int checksum)
{
    return h.size >= st_codec_trailer_len(checksum) && h.offset <= blocks_end &&
           h.size <= blocks_end - h.offset;
}

int st_handle_valid(st_block_handle h, uint64_t file_size, int checksum)
{
    return file_size >= ST_FOOTER_LEN && st_handle_within(h, file_size - ST_FOOTER_LEN, checksum);
}

static int decode_fields(const char *in, uint64_t file_size, const char *fname, st_footer *f)
{
    uint64_t off = file_size - ST_FOOTER_LEN;
    for (int i = FOOT_RESERVED; i < FOOT_VERSION; i++) {
        if (in[i]) {
            return bad_footer(fname, off, "reserved bytes are not zero");
        }
    }
    f->checksum = (unsigned char)in[FOOT_CHECKSUM];
    if (!st_codec_trailer_len(f->checksum)) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted table footer at offset %" PRIu64 ": "
                      "unknown checksum kind %d", fname, off, f->checksum);
    }
    st_slice hs = st_slice_make(in + FOOT_HANDLES, FOOT_CHECKSUM - FOOT_HANDLES);
    if (!st_handle_decode(&hs, &f->metaindex) || !st_handle_decode(&hs, &f->index)) {
        return bad_footer(fname, off, "malformed block handle");
    }
    if (!st_handle_valid(f->metaindex, file_size, f->checksum) ||
        !st_handle_valid(f->index, file_size, f->checksum)) {
        return bad_footer(fname, off, "block handle outside the file");
    }
    return 0;
}

int st_footer_decode(const char *in, uint64_t file_size, const char *fname, st_footer *f)
{
    if (file_size < ST_FOOTER_LEN) {
        return st_err(STRATA_E_CORRUPTION, "%s: not a strata table (%" PRIu64 " bytes is "
                      "shorter than a footer)", fname, file_size);
    }
    uint64_t off = file_size - ST_FOOTER_LEN;
    if (st_decode_fixed64(in + FOOT_MAGIC) != ST_TABLE_MAGIC) {
        return st_err(STRATA_E_CORRUPTION, "%s: not a strata table (bad magic number in the "
                      "footer at offset %" PRIu64 ")", fname, off);
    }
    f->format_version = st_decode_fixed32(in + FOOT_VERSION);
    if (f->format_version != ST_TABLE_FORMAT_VERSION) {
        return st_err(STRATA_E_CORRUPTION, "%s: unsupported table format version %" PRIu32
                      " (footer at offset %" PRIu64 ")", fname, f->format_version, off);
    }
    uint32_t crc = st_crc32c_unmask(st_decode_fixed32(in + FOOT_CRC));
    if (crc != st_crc32c(in, FOOT_CRC)) {
        return bad_footer(fname, off, "checksum mismatch");
    }
    return decode_fields(in, file_size, fname, f);
}


/* ---- version 3 footer ---------------------------------------------------------------------------- */

enum {
    F3_FLAGS = 41,     /* bit 0 encrypted, bit 1 parity */
    F3_ECC_KIND = 42,
    F3_ECC_K = 43,
    F3_ECC_M = 44,     /* 45..47 zero */
    F3_KEY_ID = 48,    /* fixed32 */
    F3_DB_ID = 52,     /* 16 bytes */
    F3_SALT = 68,      /* 32 bytes; 100..111 zero */
    F3_VERSION = 112,
    F3_CRC = 116,      /* masked CRC-32C of [0, 116) */
    F3_MAGIC = 120
};
#define F3_FLAG_ENCRYPTED 0x01
#define F3_FLAG_PARITY 0x02

size_t st_footer_tail_len(const st_footer *f)
{
    if (f->format_version != ST_TABLE_FORMAT_VERSION_X) {
        return ST_FOOTER_LEN;
    }
    return f->ecc.kind != ST_ECC_NONE ? 2 * ST_FOOTER3_LEN : ST_FOOTER3_LEN;
}

static void footer3_encode(const st_footer *f, char *out)
{
    memset(out, 0, ST_FOOTER3_LEN);
    char *p = st_handle_encode(out + FOOT_HANDLES, f->metaindex);
    st_handle_encode(p, f->index);
    out[FOOT_CHECKSUM] = (char)f->checksum;
    out[F3_FLAGS] = (char)((f->encrypted ? F3_FLAG_ENCRYPTED : 0) |
                           (f->ecc.kind != ST_ECC_NONE ? F3_FLAG_PARITY : 0));
    out[F3_ECC_KIND] = (char)f->ecc.kind;
    out[F3_ECC_K] = (char)f->ecc.k;
    out[F3_ECC_M] = (char)f->ecc.m;
    if (f->encrypted) {
        st_encode_fixed32(out + F3_KEY_ID, f->key_id);
        memcpy(out + F3_DB_ID, f->db_id, ST_DB_ID_LEN);
        memcpy(out + F3_SALT, f->salt, ST_CRYPT_SALT_LEN);
    }
    st_encode_fixed32(out + F3_VERSION, ST_TABLE_FORMAT_VERSION_X);
    st_encode_fixed32(out + F3_CRC, st_crc32c_mask(st_crc32c(out, F3_CRC)));
    st_encode_fixed64(out + F3_MAGIC, ST_TABLE_MAGIC);
}

void st_footer_encode(const st_footer *f, char *out)
{
    if (f->format_version != ST_TABLE_FORMAT_VERSION_X) {
        footer2_encode(f, out);
        return;
    }
    size_t tail = st_footer_tail_len(f);
    footer3_encode(f, out + tail - ST_FOOTER3_LEN);
    if (tail > ST_FOOTER3_LEN) {
        memcpy(out, out + ST_FOOTER3_LEN, ST_FOOTER3_LEN); /* the mirror */
    }
}

static int zero_range(const char *p, int from, int to)
{
    for (int i = from; i < to; i++) {
        if (p[i]) {
            return 0;
        }
    }
    return 1;
}

/* Fields of a version-3 footer (at file offset off) whose magic, version and checksum already
 * matched. */
static int footer3_fields(const char *in, uint64_t off, const char *fname, st_footer *f)
{
    unsigned flags = (unsigned char)in[F3_FLAGS];
    f->format_version = ST_TABLE_FORMAT_VERSION_X;
    f->checksum = (unsigned char)in[FOOT_CHECKSUM];
    f->encrypted = (flags & F3_FLAG_ENCRYPTED) != 0;
    f->ecc.kind = (unsigned char)in[F3_ECC_KIND];
    f->ecc.k = (unsigned char)in[F3_ECC_K];
    f->ecc.m = (unsigned char)in[F3_ECC_M];
    f->key_id = st_decode_fixed32(in + F3_KEY_ID);
    memcpy(f->db_id, in + F3_DB_ID, ST_DB_ID_LEN);
    memcpy(f->salt, in + F3_SALT, ST_CRYPT_SALT_LEN);
    if ((flags & ~3u) || !zero_range(in, 45, 48) || !zero_range(in, 100, 112)) {
        return bad_footer(fname, off, "reserved bits are not zero");
    }
    if (!st_codec_trailer_len(f->checksum)) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted table footer at offset %" PRIu64 ": "
                      "unknown checksum kind %d", fname, off, f->checksum);
    }
    if (!(flags & F3_FLAG_PARITY) != (f->ecc.kind == ST_ECC_NONE) ||
        (f->ecc.kind != ST_ECC_NONE && st_ecc_check(&f->ecc))) {
        return bad_footer(fname, off, "bad parity parameters");
    }
    st_slice hs = st_slice_make(in + FOOT_HANDLES, FOOT_CHECKSUM - FOOT_HANDLES);
    if (!st_handle_decode(&hs, &f->metaindex) || !st_handle_decode(&hs, &f->index)) {
        return bad_footer(fname, off, "malformed block handle");
    }
    return 0;
}

/* 1 if the 128 bytes at in are a version-3 footer whose checksum matches. */
static int footer3_intact(const char *in)
{
    return st_decode_fixed64(in + F3_MAGIC) == ST_TABLE_MAGIC &&
           st_decode_fixed32(in + F3_VERSION) == ST_TABLE_FORMAT_VERSION_X &&
           st_crc32c_unmask(st_decode_fixed32(in + F3_CRC)) == st_crc32c(in, F3_CRC);
}

static int handles_fit(const st_footer *f, uint64_t file_size, const char *fname)
{
    uint64_t tail = st_footer_tail_len(f);
    if (file_size < tail || !st_handle_within(f->metaindex, file_size - tail, f->checksum) ||
        !st_handle_within(f->index, file_size - tail, f->checksum)) {
        return bad_footer(fname, file_size - ST_FOOTER3_LEN, "block handle outside the file");
    }
    return 0;
}

/* The primary footer is damaged: use the mirror if it is an intact version-3 footer of a table
 * with parity.  Returns 0 and fills f, else non-zero (the caller reports the primary's error). */
static int try_mirror(const char *buf, size_t got, uint64_t file_size, const char *fname,
                      st_footer *f)
{
    if (got < 2 * ST_FOOTER3_LEN) {
        return -1;
    }
    const char *m = buf + got - 2 * ST_FOOTER3_LEN;
    if (!footer3_intact(m) || !((unsigned char)m[F3_FLAGS] & F3_FLAG_PARITY)) {
        return -1;
    }
    st_footer tmp;
    if (footer3_fields(m, file_size - 2 * ST_FOOTER3_LEN, fname, &tmp) ||
        handles_fit(&tmp, file_size, fname)) {
        return -1;
    }
    *f = tmp;
    return 0;
}

/* Decodes the primary footer from the last bytes of buf (got of them, the file's tail). */
static int footer_primary(const char *buf, size_t got, uint64_t file_size, const char *fname,
                          st_footer *f)
{
    const char *last = buf + got - ST_FOOTER_LEN;
    uint32_t version = st_decode_fixed32(last + FOOT_VERSION);
    if (st_decode_fixed64(last + FOOT_MAGIC) != ST_TABLE_MAGIC ||
        version != ST_TABLE_FORMAT_VERSION_X) {
        return st_footer_decode(last, file_size, fname, f); /* version 2, or the error */
    }
    if (got < ST_FOOTER3_LEN) {
        return st_err(STRATA_E_CORRUPTION, "%s: not a strata table (%" PRIu64 " bytes is "
                      "shorter than a footer)", fname, file_size);
    }
    const char *in = buf + got - ST_FOOTER3_LEN;
    uint64_t off = file_size - ST_FOOTER3_LEN;
    if (!footer3_intact(in)) {
        return bad_footer(fname, off, "checksum mismatch");
    }
    int rc = footer3_fields(in, off, fname, f);
    return rc ? rc : handles_fit(f, file_size, fname);
}

int st_footer_read(st_rfile *file, uint64_t file_size, const char *fname, st_footer *f,
                   int *healed)
{
    char buf[ST_FOOTER_TAIL_MAX] = {0};
    size_t want = file_size < ST_FOOTER_TAIL_MAX ? (size_t)file_size : ST_FOOTER_TAIL_MAX;
    st_slice got = st_slice_make(buf, 0);
    *healed = 0;
    memset(f, 0, sizeof(*f));
    if (file_size < ST_FOOTER_LEN) {
        return st_err(STRATA_E_CORRUPTION, "%s: not a strata table (%" PRIu64 " bytes is "
                      "shorter than a footer)", fname, file_size);
    }
    int rc = st_rfile_read(file, file_size - want, want, buf, &got);
    if (rc) {
        return st_err_context(rc, "%s: reading the table footer", fname);
    }
    if (got.size != want) {
        return st_err(STRATA_E_CORRUPTION, "%s: truncated table footer (%zu of %zu bytes at "
                      "offset %" PRIu64 ")", fname, got.size, want, file_size - want);
    }
    if (got.data != buf) {
        memcpy(buf, got.data, want);
    }
    rc = footer_primary(buf, want, file_size, fname, f);
    if (rc == STRATA_E_CORRUPTION) {
        char msg[ST_ERRMSG_MAX];
        snprintf(msg, sizeof(msg), "%s", st_errmsg());
        if (try_mirror(buf, want, file_size, fname, f) == 0) {
            *healed = 1;
            return 0;
        }
        return st_err_set(rc, msg);
    }
    return rc;
}

/* ---- block reads ------------------------------------------------------------------------------- */

/* Reads the h.size bytes at h.offset (into scratch, or a view of a zero-copy file's memory);
 * fewer bytes (the file ends early) is corruption. */
static int read_whole(st_rfile *file, uint64_t offset, size_t size, char *scratch,
                      const char *fname, st_slice *got)
{
    int rc = st_rfile_read(file, offset, size, scratch, got);
    if (rc) {
        return st_err_context(rc, "%s: reading block at offset %" PRIu64, fname, offset);
    }
    if (got->size != size) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64 ": "
                      "truncated read (%zu of %zu bytes)", fname, offset, got->size, size);
    }
    return 0;
}

static int no_memory(const char *fname, uint64_t offset)
{
    return st_err(STRATA_E_NOMEM, "%s: no memory for block at offset %" PRIu64, fname, offset);
}

/* The stored block: a view of a zero-copy file's memory (*mem NULL) or read into a new buffer
 * (*mem, the allocation). */
static int read_stored(st_rfile *file, st_block_handle h, int align64, const char *fname,
                       char **mem, st_slice *stored)
{
    *mem = NULL;
    if (file->ops->zero_copy) {
        return read_whole(file, h.offset, (size_t)h.size, NULL, fname, stored);
    }
    char *buf;
    *mem = st_malloc_align((size_t)h.size, align64, &buf);
    if (!*mem) {
        return no_memory(fname, h.offset);
    }
    st_slice got;
    int rc = read_whole(file, h.offset, (size_t)h.size, buf, fname, &got);
    if (!rc && got.data != buf) {
        memcpy(buf, got.data, got.size); /* the file's own memory (in-memory env) */
    }
    *stored = st_slice_make(buf, (size_t)h.size);
    return rc;
}

struct heal_check {
    int checksum;
    uint64_t offset;
};

static int heal_check(void *arg, const void *data, size_t n)
{
    const struct heal_check *hc = arg;
    return st_codec_verify(hc->checksum, st_slice_make(data, n), hc->offset);
}

/* The stored block failed its checksum: rebuild it from the parity region after it, in a
 * writable copy (*mem), and re-verify.  Counts the outcome. */
static int heal_block(st_rfile *file, const st_block_rctx *ctx, st_block_handle h, int align64,
                      char **mem, st_slice *stored)
{
    const char *fname = ctx->codec.fname;
    size_t plen = st_ecc_parity_len(&ctx->ecc, (size_t)h.size);
    uint64_t pend = h.offset + h.size;
    if (pend > ctx->blocks_end || plen > ctx->blocks_end - pend) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64 ": checksum "
                      "mismatch, and its parity lies outside the file", fname, h.offset);
    }
    char *pbuf = st_malloc(plen + 1);
    if (!pbuf) {
        return no_memory(fname, h.offset);
    }
    st_slice parity;
    int rc = read_whole(file, pend, plen, pbuf, fname, &parity);
    if (!rc && !*mem) {
        char *copy;
        if ((*mem = st_malloc_align(stored->size, align64, &copy)) == NULL) {
            rc = no_memory(fname, h.offset);
        } else {
            memcpy(copy, stored->data, stored->size);
            *stored = st_slice_make(copy, stored->size);
        }
    }
    if (!rc) {
        struct heal_check hc = {ctx->codec.checksum, h.offset};
        rc = st_ecc_heal(&ctx->ecc, (char *)stored->data, stored->size, parity.data, heal_check,
                         &hc, NULL);
        st_integrity_report(ctx->integ, ctx->file_number, h.offset, rc == 0);
        if (rc == STRATA_E_CORRUPTION) {
            rc = st_err(rc, "%s: corrupted block at offset %" PRIu64 ": checksum mismatch, "
                        "beyond what its parity can heal", fname, h.offset);
        }
    }
    st_free(pbuf);
    return rc;
}

int st_read_block_ctx(st_rfile *file, const st_block_rctx *ctx, st_block_handle h, int kind,
                      int verify, int align64, st_block_contents *out)
{
    const char *fname = ctx->codec.fname;
    out->heap = NULL;
    out->healed = 0;
    if (h.size > SIZE_MAX - 64) {
        return st_err(STRATA_E_CORRUPTION, "%s: block at offset %" PRIu64 " is too large",
                      fname, h.offset);
    }
    char *mem = NULL;
    st_slice stored;
    int rc = read_stored(file, h, align64, fname, &mem, &stored);
    if (!rc && ctx->ecc.kind != ST_ECC_NONE) {
        if (!st_codec_verify(ctx->codec.checksum, stored, h.offset)) {
            rc = heal_block(file, ctx, h, align64, &mem, &stored);
            out->healed = rc == 0;
        }
        verify = 0; /* verified (or healed and re-verified) above */
    }
    char *heap = NULL;
    st_slice raw = st_slice_make("", 0);
    if (!rc) {
        rc = st_codec_decode_block(&ctx->codec, stored, verify, h.offset, kind, align64, &raw,
                                   &heap);
    }
    if (rc || heap) {
        st_free(mem);
        out->data = raw;
        out->heap = heap;
        return rc;
    }
    if (mem) { /* raw lies inside our buffer, at its (aligned) start */
        out->data = raw;
        out->heap = mem;
        return 0;
    }
    char *copy; /* raw lies in the file's mapping: cached blocks may outlive it */
    if ((out->heap = st_malloc_align(raw.size, align64, &copy)) == NULL) {
        return no_memory(fname, h.offset);
    }
    memcpy(copy, raw.data, raw.size);
    out->data = st_slice_make(copy, raw.size);
    return 0;
}

int st_read_block(st_rfile *file, int checksum, st_block_handle h, int verify, int align64,
                  const char *fname, st_block_contents *out)
{
    st_block_rctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.codec.checksum = checksum;
    ctx.codec.fname = fname;
    ctx.codec.parity = -1;
    ctx.ecc.kind = ST_ECC_NONE;
    return st_read_block_ctx(file, &ctx, h, 0, verify, align64, out);
}
