/* format.h — table framing: block handles, the fixed-size footer, and reading one stored block.
 *
 * A block handle is varint64 offset ‖ varint64 size, where size counts the whole stored block
 * (body and trailer).  The footer is the last ST_FOOTER_LEN bytes of every table: metaindex and
 * index handles (zero-padded to 40 bytes), checksum kind, reserved zeros, format version, a
 * masked CRC-32C of the footer, and the magic number.  Byte layout: docs/FORMAT.md "Table footer".
 * Readers check, in order: length, magic ("not a strata table"), format version ("unsupported
 * table format version N"), footer checksum, then every field. */
#ifndef STRATA_TABLE_FORMAT_H
#define STRATA_TABLE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "codec/integrity.h"
#include "env/env.h"
#include "util/buf.h"
#include "util/slice.h"

#define ST_TABLE_MAGIC UINT64_C(0x3154415441525453) /* "STRATAT1" as stored */
/* 2: block checksums bind the block's offset (plaintext tables without parity).
 * 3: a 128-byte footer that also records encryption (key id, salt) and parity (kind, shards);
 *    with parity the footer is stored twice (a mirror precedes it).  Written only for tables that
 *    use encryption or parity, so plain tables stay readable by version-2 builds. */
#define ST_TABLE_FORMAT_VERSION 2
#define ST_TABLE_FORMAT_VERSION_X 3
#define ST_FOOTER_LEN 64
#define ST_FOOTER3_LEN 128
#define ST_FOOTER_TAIL_MAX (2 * ST_FOOTER3_LEN)
#define ST_HANDLE_MAX_LEN 20 /* two varint64s */

typedef struct st_block_handle {
    uint64_t offset;
    uint64_t size; /* stored bytes: body ‖ trailer */
} st_block_handle;

/* Appends the encoding of h. 0 or STRATA_E_NOMEM. */
int st_handle_append(st_buf *b, st_block_handle h);
/* Writes the encoding of h at p (at most ST_HANDLE_MAX_LEN bytes); returns the end. */
char *st_handle_encode(char *p, st_block_handle h);
/* Decodes a handle from the front of *in, advancing it; 1 on success, 0 if malformed. */
int st_handle_decode(st_slice *in, st_block_handle *h);
/* 1 if h names at least a trailer's worth of bytes inside the blocks of a file_size-byte
 * version-2 table (before its footer), else 0. */
int st_handle_valid(st_block_handle h, uint64_t file_size, int checksum);
/* 1 if h names at least a trailer's worth of bytes that end at or before blocks_end. */
int st_handle_within(st_block_handle h, uint64_t blocks_end, int checksum);

typedef struct st_footer {
    st_block_handle metaindex;
    st_block_handle index;
    int checksum; /* STRATA_CHECKSUM_* for every block of the table */
    uint32_t format_version;
    /* version 3 */
    int encrypted;                          /* blocks are AES-256-GCM encrypted */
    st_ecc ecc;                             /* parity after every block (kind NONE: none) */
    uint32_t key_id;                        /* encrypted: the master key's id */
    unsigned char db_id[ST_DB_ID_LEN];      /* encrypted: the DB's id (informational) */
    unsigned char salt[ST_CRYPT_SALT_LEN];  /* encrypted: the file key's salt */
} st_footer;

/* Bytes the footer (and its mirror) take at the end of the table: 64 for version 2, 128 for
 * version 3, 256 for version 3 with parity. */
size_t st_footer_tail_len(const st_footer *f);
/* Encodes the footer (and mirror) into out, st_footer_tail_len(f) bytes. */
void st_footer_encode(const st_footer *f, char *out);
/* Decodes and validates a version-2 footer (in = the last ST_FOOTER_LEN bytes of a
 * file_size-byte table): handles must lie inside the file before the footer.  Errors:
 * CORRUPTION naming fname (a version-3 footer is refused here: use st_footer_read). */
int st_footer_decode(const char *in, uint64_t file_size, const char *fname, st_footer *f);
/* Reads the footer of either version from the end of file.  A version-3 footer whose copy is
 * damaged is read from its mirror (*healed = 1, else 0).  Errors: CORRUPTION, IO. */
int st_footer_read(st_rfile *file, uint64_t file_size, const char *fname, st_footer *f,
                   int *healed);

/* A decoded block.  data points into heap (which the owner frees with st_free) or, for blocks
 * that live elsewhere, heap is NULL. */
typedef struct st_block_contents {
    st_slice data;
    char *heap;
    int healed; /* st_read_block_ctx: the block was rebuilt from its parity */
} st_block_contents;

/* How one table's blocks are read: the codec context, the parity layout, and where heals are
 * counted. */
typedef struct st_block_rctx {
    st_codec_rctx codec;
    st_ecc ecc;            /* the table's parity (kind NONE: none) */
    uint64_t blocks_end;   /* file offset where the footer(s) start */
    st_integrity *integ;   /* heal and damage counters; may be NULL */
    uint64_t file_number;
} st_block_rctx;

/* Reads the block at h (of kind, codec.h) from file and decodes it, verifying its checksum if
 * verify (always when the table has parity).  A block whose checksum fails is healed from its
 * parity when the table has some: rebuilt, re-verified, counted in ctx->integ and used.  Blocks
 * stored uncompressed and unencrypted are used in place in the read buffer.  With align64 the
 * contents start on a 64-byte boundary (the cache-line-blocked filter, stored uncompressed).
 * Errors: CORRUPTION (short read, checksum, decoding, beyond the parity), AUTH, NOTSUP, IO,
 * NOMEM — all naming the file and the offset. */
int st_read_block_ctx(st_rfile *file, const st_block_rctx *ctx, st_block_handle h, int kind,
                      int verify, int align64, st_block_contents *out);
/* st_read_block_ctx for a plaintext version-2 table without parity (tools, tests). */
int st_read_block(st_rfile *file, int checksum, st_block_handle h, int verify, int align64,
                  const char *fname, st_block_contents *out);

#endif
