/* codec.h — the block transform pipeline (DESIGN.md §5).  Every block stored in a table is
 *
 *     body ‖ type (1 byte) ‖ flags (1 byte) ‖ checksum (4 or 16 bytes) [‖ parity region]
 *
 * built in this order: compress (the block contents, kept compressed only if that saved at
 * least 12.5%; type says how) → encrypt (flag ENCRYPTED: body = AES-256-GCM ciphertext ‖ 16-byte
 * tag, nonce = the block's file offset under the table's own file key, additional data binding
 * the DB id, file number, offset, block kind, type, flags, checksum kind and key id) → checksum
 * (kind per table, see checksum.h; covers body ‖ type ‖ flags as stored, followed by the block's
 * file offset as a fixed64 that is not stored but supplied by the reader from the block handle, so
 * a block read from the wrong place fails) → parity (flag PARITY: a parity region, ecc.h, over
 * body ‖ trailer follows the block; the block handle's size does not include it).
 * Reading reverses the order; a block whose checksum fails is healed from its parity first
 * (table/format.c).  Byte layouts: docs/FORMAT.md "Block trailer", "Encryption", "Parity". */
#ifndef STRATA_CODEC_CODEC_H
#define STRATA_CODEC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "codec/checksum.h"
#include "codec/compress.h"
#include "codec/crypt.h"
#include "codec/ecc.h"
#include "util/buf.h"
#include "util/slice.h"

/* Transform flag bits (trailer byte 1). */
#define ST_BLOCK_FLAG_ENCRYPTED 0x01u /* AES-256-GCM, applied after compression */
#define ST_BLOCK_FLAG_PARITY 0x02u    /* a parity region follows the block */
/* Bits this build can decode. */
#define ST_BLOCK_FLAGS_SUPPORTED 0x03u

/* Block kinds: bound into the encryption additional data, so a block cannot be read as another
 * kind (an index handle pointed at a data block fails authentication). */
enum {
    ST_BLOCK_DATA = 1,
    ST_BLOCK_INDEX = 2,
    ST_BLOCK_FILTER = 3,
    ST_BLOCK_PROPS = 4,
    ST_BLOCK_META = 5,
    ST_BLOCK_RANGE_DEL = 6,
};

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

/* Encrypt every block with crypt (borrowed; NULL = plaintext) and store parity per ecc (kind
 * NONE = none).  0 or INVALID (bad ecc parameters). */
int st_codec_set_transforms(st_codec *c, const st_crypt_file *crypt, const st_ecc *ecc);

/* An encoded block: write body, then trailer, then parity (empty without parity). */
typedef struct st_codec_out {
    st_slice body;                      /* raw itself (stored uncompressed) or inside scratch */
    unsigned char trailer[ST_CODEC_TRAILER_MAX];
    size_t trailer_len;
    int type;                           /* compression type used for this block */
    int checksum;                       /* kind, for st_codec_seal */
    st_slice parity;                    /* inside the codec's own buffer, after st_codec_seal */
} st_codec_out;

/* Encodes raw.  With try_compress = 0 the block is stored raw (for incompressible blocks such as
 * filters).  out->body borrows raw or scratch (both must stay unchanged until written).  The
 * checksum is left to st_codec_seal, once the block's file offset is known.
 * Returns 0 or STRATA_E_NOMEM. */
int st_codec_encode(st_codec *c, st_slice raw, int try_compress, st_buf *scratch,
                    st_codec_out *out);
/* Bytes the block will occupy as stored (body after encryption ‖ trailer), parity excluded:
 * known before sealing, so a table can record a block's size before writing it. */
size_t st_codec_stored_len(const st_codec *c, const st_codec_out *out);
/* Finishes a block written at file offset as kind: encrypts the body (it then lives in the
 * codec's buffer), computes the checksum and the parity.  out's slices stay valid until the next
 * seal on c.  0, INVALID (libcrypto failure) or NOMEM. */
int st_codec_seal(st_codec *c, st_codec_out *out, uint64_t offset, int kind);

/* How the blocks of one table are read back. */
typedef struct st_codec_rctx {
    int checksum;               /* STRATA_CHECKSUM_* */
    const st_crypt_file *crypt; /* the table's file key; NULL when the table is not encrypted */
    int parity;                 /* 1 when the table stores parity after its blocks */
    const char *fname;          /* labels error messages */
} st_codec_rctx;

/* Decodes one stored block (body ‖ trailer) of kind at offset: verifies its checksum if verify,
 * checks its flags against ctx (an encrypted block in a table without a key, or a plaintext block
 * in an encrypted table, is STRATA_E_AUTH), decrypts and decompresses.  On success *raw is the
 * block contents and *heap is NULL when raw points into stored (plaintext stored uncompressed),
 * else the st_malloc'd buffer holding raw (64-byte aligned if align64 and not decompressed),
 * owned by the caller.  Errors: CORRUPTION, AUTH (with file and offset), NOTSUP, INVALID, NOMEM. */
int st_codec_decode_block(const st_codec_rctx *ctx, st_slice stored, int verify, uint64_t offset,
                          int kind, int align64, st_slice *raw, char **heap);

/* st_codec_decode_block for a plaintext table block of unknown kind (tools and tests): an
 * encrypted block is STRATA_E_AUTH ("encrypted: no key").  fname and offset label errors.
 * Errors: CORRUPTION (short block, checksum mismatch, undecodable body), NOTSUP (unknown flag
 * bits or compression this build lacks), INVALID (unknown checksum kind), AUTH, NOMEM. */
int st_codec_decode(int checksum, st_slice stored, int verify, const char *fname,
                    uint64_t offset, st_slice *raw, char **heap);

/* 1 if the stored block's checksum matches for a block at file offset, 0 if not (or the block is
 * too short). */
int st_codec_verify(int checksum, st_slice stored, uint64_t offset);

#endif
