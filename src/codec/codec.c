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
    *out = c;
    return 0;
}

void st_codec_destroy(st_codec *c)
{
    if (c) {
        st_compressor_destroy(c->comp);
        st_free(c);
    }
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
    out->trailer[1] = 0; /* no further transforms in this build */
    out->trailer_len = st_codec_trailer_len(c->checksum);
    out->checksum = c->checksum;
    return 0;
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

void st_codec_seal(st_codec_out *out, uint64_t offset)
{
    block_checksum(out->checksum, out->body, out->trailer, offset, out->trailer + 2);
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

static const char *flag_name(unsigned flags)
{
    if (flags & ST_BLOCK_FLAG_ENCRYPTED) {
        return "encryption";
    }
    if (flags & ST_BLOCK_FLAG_PARITY) {
        return "parity";
    }
    return "unknown";
}

static int check_flags(unsigned flags, const char *fname, uint64_t offset)
{
    unsigned unknown = flags & ~ST_BLOCK_FLAGS_SUPPORTED;
    if (!unknown) {
        return 0;
    }
    return st_err(STRATA_E_NOTSUP, "%s: block at offset %" PRIu64 " uses transform %s (flags "
                  "0x%02x) not supported by this build", fname, offset, flag_name(unknown),
                  unknown);
}

int st_codec_decode(int checksum, st_slice stored, int verify, const char *fname,
                    uint64_t offset, st_slice *raw, char **heap)
{
    size_t tlen = st_codec_trailer_len(checksum);
    if (!tlen) {
        return st_err(STRATA_E_INVALID, "%s: unknown checksum kind %d", fname, checksum);
    }
    if (stored.size < tlen) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64
                      ": %zu bytes is too short for a block", fname, offset, stored.size);
    }
    if (verify && !st_codec_verify(checksum, stored, offset)) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64
                      ": checksum mismatch", fname, offset);
    }
    size_t blen = stored.size - tlen;
    int type = (unsigned char)stored.data[blen];
    int rc = check_flags((unsigned char)stored.data[blen + 1], fname, offset);
    if (rc) {
        return rc;
    }
    if (type == STRATA_COMPRESSION_NONE) {
        *raw = st_slice_make(stored.data, blen);
        *heap = NULL;
        return 0;
    }
    size_t n;
    rc = st_decompress(type, st_slice_make(stored.data, blen), heap, &n);
    if (rc == STRATA_E_CORRUPTION) {
        return st_err_context(rc, "%s: corrupted block at offset %" PRIu64, fname, offset);
    }
    if (rc == STRATA_E_NOTSUP) {
        return st_err_context(rc, "%s: offset %" PRIu64, fname, offset);
    }
    if (rc == 0) {
        *raw = st_slice_make(*heap, n);
    }
    return rc;
}
