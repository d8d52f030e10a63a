/* format.c — block handles, footer, and block reads (format.h; docs/FORMAT.md "Table"). */
#include "table/format.h"

#include <inttypes.h>
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

void st_footer_encode(const st_footer *f, char out[ST_FOOTER_LEN])
{
    memset(out, 0, ST_FOOTER_LEN);
    char *p = st_handle_encode(out + FOOT_HANDLES, f->metaindex);
    st_handle_encode(p, f->index);
    out[FOOT_CHECKSUM] = (char)f->checksum;
    st_encode_fixed32(out + FOOT_VERSION, f->format_version);
    st_encode_fixed32(out + FOOT_CRC, st_crc32c_mask(st_crc32c(out, FOOT_CRC)));
    st_encode_fixed64(out + FOOT_MAGIC, ST_TABLE_MAGIC);
}

static int bad_footer(const char *fname, const char *what)
{
    return st_err(STRATA_E_CORRUPTION, "%s: corrupted table footer: %s", fname, what);
}

int st_handle_valid(st_block_handle h, uint64_t file_size, int checksum)
{
    if (file_size < ST_FOOTER_LEN) {
        return 0;
    }
    uint64_t limit = file_size - ST_FOOTER_LEN;
    return h.size >= st_codec_trailer_len(checksum) && h.offset <= limit &&
           h.size <= limit - h.offset;
}

static int decode_fields(const char *in, uint64_t file_size, const char *fname, st_footer *f)
{
    for (int i = FOOT_RESERVED; i < FOOT_VERSION; i++) {
        if (in[i]) {
            return bad_footer(fname, "reserved bytes are not zero");
        }
    }
    f->checksum = (unsigned char)in[FOOT_CHECKSUM];
    if (!st_codec_trailer_len(f->checksum)) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted table footer: unknown checksum kind "
                      "%d", fname, f->checksum);
    }
    st_slice hs = st_slice_make(in + FOOT_HANDLES, FOOT_CHECKSUM - FOOT_HANDLES);
    if (!st_handle_decode(&hs, &f->metaindex) || !st_handle_decode(&hs, &f->index)) {
        return bad_footer(fname, "malformed block handle");
    }
    if (!st_handle_valid(f->metaindex, file_size, f->checksum) ||
        !st_handle_valid(f->index, file_size, f->checksum)) {
        return bad_footer(fname, "block handle outside the file");
    }
    return 0;
}

int st_footer_decode(const char *in, uint64_t file_size, const char *fname, st_footer *f)
{
    if (file_size < ST_FOOTER_LEN) {
        return st_err(STRATA_E_CORRUPTION, "%s: not a strata table (%" PRIu64 " bytes is "
                      "shorter than a footer)", fname, file_size);
    }
    if (st_decode_fixed64(in + FOOT_MAGIC) != ST_TABLE_MAGIC) {
        return st_err(STRATA_E_CORRUPTION, "%s: not a strata table (bad magic number)", fname);
    }
    f->format_version = st_decode_fixed32(in + FOOT_VERSION);
    if (f->format_version != ST_TABLE_FORMAT_VERSION) {
        return st_err(STRATA_E_CORRUPTION, "%s: unsupported table format version %" PRIu32,
                      fname, f->format_version);
    }
    uint32_t crc = st_crc32c_unmask(st_decode_fixed32(in + FOOT_CRC));
    if (crc != st_crc32c(in, FOOT_CRC)) {
        return bad_footer(fname, "checksum mismatch");
    }
    return decode_fields(in, file_size, fname, f);
}

/* Reads the h.size bytes at h.offset (into scratch, or a view of a zero-copy file's memory);
 * fewer bytes (the file ends early) is corruption. */
static int read_whole(st_rfile *file, st_block_handle h, char *scratch, const char *fname,
                      st_slice *got)
{
    int rc = st_rfile_read(file, h.offset, (size_t)h.size, scratch, got);
    if (rc) {
        return st_err_context(rc, "%s: reading block at offset %" PRIu64, fname, h.offset);
    }
    if (got->size != h.size) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64 ": "
                      "truncated read (%zu of %" PRIu64 " bytes)", fname, h.offset, got->size,
                      h.size);
    }
    return 0;
}

/* Reads exactly h.size bytes at h.offset into buf. */
static int read_exact(st_rfile *file, st_block_handle h, char *buf, const char *fname)
{
    st_slice got;
    int rc = read_whole(file, h, buf, fname, &got);
    if (rc) {
        return rc;
    }
    if (got.data != buf) {
        memcpy(buf, got.data, got.size); /* the file's own memory (in-memory env) */
    }
    return 0;
}

/* Copies raw into a new buffer (64-byte aligned if align64) owned by out. */
static int own_copy(st_slice raw, int align64, const char *fname, uint64_t offset,
                    st_block_contents *out)
{
    char *mem = st_malloc(raw.size + (align64 ? 63 : 0));
    if (!mem) {
        return st_err(STRATA_E_NOMEM, "%s: no memory for block at offset %" PRIu64, fname,
                      offset);
    }
    char *buf = align64 ? (char *)(((uintptr_t)mem + 63) & ~(uintptr_t)63) : mem;
    memcpy(buf, raw.data, raw.size);
    out->data = st_slice_make(buf, raw.size);
    out->heap = mem;
    return 0;
}

/* Zero-copy file (a mapping): verify and decompress straight from the file's memory; only a
 * block stored uncompressed is copied (cached blocks may outlive the mapping). */
static int read_block_mapped(st_rfile *file, int checksum, st_block_handle h, int verify,
                             int align64, const char *fname, st_block_contents *out)
{
    st_slice stored;
    int rc = read_whole(file, h, NULL, fname, &stored);
    if (rc) {
        return rc;
    }
    char *heap = NULL;
    rc = st_codec_decode(checksum, stored, verify, fname, h.offset, &out->data, &heap);
    if (rc) {
        return rc;
    }
    if (heap) {
        out->heap = heap;
        return 0;
    }
    return own_copy(out->data, align64, fname, h.offset, out);
}

int st_read_block(st_rfile *file, int checksum, st_block_handle h, int verify, int align64,
                  const char *fname, st_block_contents *out)
{
    if (h.size > SIZE_MAX - 64) {
        return st_err(STRATA_E_CORRUPTION, "%s: block at offset %" PRIu64 " is too large",
                      fname, h.offset);
    }
    out->heap = NULL;
    if (file->ops->zero_copy) {
        return read_block_mapped(file, checksum, h, verify, align64, fname, out);
    }
    char *mem = st_malloc((size_t)h.size + (align64 ? 63 : 0));
    if (!mem) {
        return st_err(STRATA_E_NOMEM, "%s: no memory for block at offset %" PRIu64, fname,
                      h.offset);
    }
    char *buf = align64 ? (char *)(((uintptr_t)mem + 63) & ~(uintptr_t)63) : mem;
    char *heap = NULL;
    int rc = read_exact(file, h, buf, fname);
    if (!rc) {
        rc = st_codec_decode(checksum, st_slice_make(buf, (size_t)h.size), verify, fname,
                             h.offset, &out->data, &heap);
    }
    if (rc || heap) {
        st_free(mem); /* on success the contents were decompressed into heap */
        mem = heap;
    }
    out->heap = mem;
    return rc;
}
