/* codec.h — the block transform pipeline.  Every block stored in a table is
 *
 *     body ‖ type (1 byte) ‖ flags (1 byte) ‖ checksum (4 or 16 bytes)
 *
 * where body is the block contents, compressed if that saved at least 12.5% (type says how), and
 * the checksum (kind per table, see checksum.h) covers body ‖ type ‖ flags exactly as stored,
 * followed by the block's file offset as a fixed64 (not stored: supplied by the reader from the
 * block handle, so a block read from the wrong place fails its checksum).
 * flags is a bit field of further transforms (DESIGN.md §5): encryption and parity bits are
 * defined so files that use them are recognised, but this build implements neither, so a block
 * with any flag set is refused with STRATA_E_NOTSUP rather than misread.
 * Byte layout: docs/FORMAT.md "Block trailer". */
#ifndef STRATA_CODEC_CODEC_H
#define STRATA_CODEC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "codec/checksum.h"
#include "codec/compress.h"
#include "util/buf.h"
#include "util/slice.h"

/* Transform flag bits (trailer byte 1). */
#define ST_BLOCK_FLAG_ENCRYPTED 0x01u /* AES-256-GCM, applied after compression (reserved) */
#define ST_BLOCK_FLAG_PARITY 0x02u    /* parity shards stored for the block (reserved) */
/* Bits this build can decode. */
#define ST_BLOCK_FLAGS_SUPPORTED 0x00u

#define ST_CODEC_TRAILER_MAX (2 + ST_CHECKSUM_MAX_LEN)

/* Trailer length for checksum kind, 0 if the kind is unknown. */
static inline size_t st_codec_trailer_len(int checksum)
{
    size_t n = st_checksum_len(checksum);
    return n ? 2 + n : 0;
}

typedef struct st_codec st_codec;

/* An encoder for one table's settings.  Errors: INVALID (unknown compression or checksum kind),
 * NOTSUP (compression compiled out), NOMEM. */
int st_codec_create(int compression, int zstd_level, int checksum, st_codec **out);
void st_codec_destroy(st_codec *c);

/* An encoded block: write body, then trailer. */
typedef struct st_codec_out {
    st_slice body;                      /* raw itself (stored uncompressed) or inside scratch */
    unsigned char trailer[ST_CODEC_TRAILER_MAX];
    size_t trailer_len;
    int type;                           /* compression type used for this block */
    int checksum;                       /* kind, for st_codec_seal */
} st_codec_out;

/* Encodes raw.  With try_compress = 0 the block is stored raw (for incompressible blocks such as
 * filters).  out->body borrows raw or scratch (both must stay unchanged until written).  The
 * checksum is left to st_codec_seal, once the block's file offset is known.
 * Returns 0 or STRATA_E_NOMEM. */
int st_codec_encode(st_codec *c, st_slice raw, int try_compress, st_buf *scratch,
                    st_codec_out *out);
/* Computes the trailer's checksum for a block written at file offset. */
void st_codec_seal(st_codec_out *out, uint64_t offset);

/* Verifies (if verify) and decodes one stored block (body ‖ trailer).  On success *raw is the
 * block contents and *heap is NULL when the body was stored uncompressed — raw then points into
 * stored, no copy made — or else a new st_malloc'd buffer holding raw, owned by the caller.
 * fname and offset only label error messages ("<fname>: corrupted block at offset N: ...").
 * Errors: CORRUPTION (short block, checksum mismatch, undecodable body), NOTSUP (unknown flag
 * bits or compression this build lacks), INVALID (unknown checksum kind), NOMEM. */
int st_codec_decode(int checksum, st_slice stored, int verify, const char *fname,
                    uint64_t offset, st_slice *raw, char **heap);

/* 1 if the stored block's checksum matches for a block at file offset, 0 if not (or the block is
 * too short). */
int st_codec_verify(int checksum, st_slice stored, uint64_t offset);

#endif
