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

#include "env/env.h"
#include "util/buf.h"
#include "util/slice.h"

#define ST_TABLE_MAGIC UINT64_C(0x3154415441525453) /* "STRATAT1" as stored */
#define ST_TABLE_FORMAT_VERSION 2 /* 2: block checksums bind the block's offset */
#define ST_FOOTER_LEN 64
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
/* 1 if h names at least a trailer's worth of bytes inside the blocks of a file_size-byte table
 * (before its footer), else 0. */
int st_handle_valid(st_block_handle h, uint64_t file_size, int checksum);

typedef struct st_footer {
    st_block_handle metaindex;
    st_block_handle index;
    int checksum; /* STRATA_CHECKSUM_* for every block of the table */
    uint32_t format_version;
} st_footer;

void st_footer_encode(const st_footer *f, char out[ST_FOOTER_LEN]);
/* Decodes and validates the footer of a file_size-byte table (in = its last ST_FOOTER_LEN
 * bytes): handles must lie inside the file before the footer.  Errors: CORRUPTION naming fname. */
int st_footer_decode(const char *in, uint64_t file_size, const char *fname, st_footer *f);

/* A decoded block.  data points into heap (which the owner frees with st_free) or, for blocks
 * that live elsewhere, heap is NULL. */
typedef struct st_block_contents {
    st_slice data;
    char *heap;
} st_block_contents;

/* Reads the block at h from file and decodes it (codec.h), verifying its checksum if verify.
 * Blocks stored uncompressed are used in place in the read buffer.  With align64 the contents
 * start on a 64-byte boundary (used for the cache-line-blocked filter; such blocks are stored
 * uncompressed).  Errors: CORRUPTION (short read, checksum, decoding), NOTSUP, IO, NOMEM — all
 * naming fname and the offset. */
int st_read_block(st_rfile *file, int checksum, st_block_handle h, int verify, int align64,
                  const char *fname, st_block_contents *out);

#endif
