/* log_writer.c — appends records to a record log (wal/log_format.h; byte layout in
 * docs/FORMAT.md "Record log").
 *
 * A record is cut into fragments that never cross a 32 KiB block boundary; a block tail too short
 * for a header (< 7 bytes) is filled with zeros and the next fragment starts the next block.
 * Each fragment (with any padding before it) is assembled in a scratch buffer owned by the writer
 * and handed to the file in ONE append: a record that fits in the current block costs one append
 * and one flush.  The price is one copy of the payload (at most one block); WAL records are
 * mostly small batches, for which a copy costs less than a second call into the file.
 *
 * A protected log (st_log_writer_protect) starts with a header record; each later record is
 * encrypted and/or framed with a CRC and parity (log_seal.h, log_parity.h) in one buffer owned by
 * the writer before it is cut into fragments.
 *
 * Invariants: block_off == (bytes in the file) mod ST_LOG_BLOCK_SIZE.  After a failed append or
 * flush the file's contents are unknown, so the writer becomes unusable: every later add or sync
 * returns the first error (sticky). */
#include "wal/log_writer.h"
#include "wal/log_seal.h"

#include <assert.h>
#include <string.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/crc32c.h"
#include "util/status.h"
#include "wal/log_format.h"
#include "wal/log_parity.h"

struct st_log_writer {
    st_wfile *file;
    uint64_t size;                      /* bytes in the file, including what existed at create */
    size_t block_off;                   /* offset inside the current block */
    int err;                            /* sticky: first append/flush/sync failure */
    uint32_t type_crc[ST_LOG_LAST + 1]; /* CRC-32C of the type byte alone, per type */
    char *scratch;                      /* padding + header + payload of one fragment */
    st_log_seal *seal;                  /* NULL: records are not encrypted */
    st_ecc ecc;                         /* kind NONE: records carry no parity */
    st_buf sealed;                      /* the stored form of the record being added */
};

#define SCRATCH_SIZE (ST_LOG_HEADER_SIZE - 1 + ST_LOG_BLOCK_SIZE)

int st_log_writer_create(st_wfile *file, uint64_t initial_size, st_log_writer **out)
{
    *out = NULL;
    if (!file) {
        return st_err(STRATA_E_INVALID, "log writer: NULL file");
    }
    st_log_writer *w = st_calloc(1, sizeof(*w));
    char *scratch = st_malloc(SCRATCH_SIZE);
    if (!w || !scratch) {
        st_free(w);
        st_free(scratch);
        st_wfile_close(file); /* ownership was transferred to us */
        return st_err(STRATA_E_NOMEM, "log writer: out of memory");
    }
    w->file = file;
    w->size = initial_size;
    w->block_off = (size_t)(initial_size % ST_LOG_BLOCK_SIZE);
    w->scratch = scratch;
    for (int t = 0; t <= ST_LOG_LAST; t++) {
        char b = (char)t;
        w->type_crc[t] = st_crc32c(&b, 1);
    }
    *out = w;
    return 0;
}

static int fail(st_log_writer *w, int rc)
{
    w->err = rc;
    return rc;
}

static int sticky_error(const st_log_writer *w)
{
    return st_err(w->err, "log writer: unusable after an earlier write error (%s)",
                  strata_strerror(w->err));
}

/* Writes one fragment of n payload bytes, preceded by pad zero bytes. */
static int emit(st_log_writer *w, size_t pad, int type, const char *payload, size_t n)
{
    char *p = w->scratch;
    memset(p, 0, pad);
    p += pad;
    uint32_t crc = st_crc32c_extend(w->type_crc[type], payload, n);
    st_encode_fixed32(p, st_crc32c_mask(crc));
    st_encode_fixed16(p + 4, (uint16_t)n);
    p[6] = (char)type;
    if (n) {
        memcpy(p + ST_LOG_HEADER_SIZE, payload, n);
    }
    size_t total = pad + ST_LOG_HEADER_SIZE + n;
    int rc = st_wfile_append(w->file, w->scratch, total);
    if (rc) {
        return fail(w, rc);
    }
    w->size += total;
    w->block_off = (w->block_off + total) % ST_LOG_BLOCK_SIZE;
    return 0;
}

static int fragment_type(int first, int last)
{
    if (first) {
        return last ? ST_LOG_FULL : ST_LOG_FIRST;
    }
    return last ? ST_LOG_LAST : ST_LOG_MIDDLE;
}

static int add_raw(st_log_writer *w, st_slice record)
{
    if (w->err) {
        return sticky_error(w);
    }
    const char *p = record.data;
    size_t left = record.size;
    int first = 1;
    do {
        size_t room = ST_LOG_BLOCK_SIZE - w->block_off;
        size_t pad = 0;
        if (room < ST_LOG_HEADER_SIZE) {
            pad = room; /* zero-fill the tail; the fragment starts the next block */
            room = ST_LOG_BLOCK_SIZE;
        }
        size_t n = ST_MIN(left, room - ST_LOG_HEADER_SIZE);
        int rc = emit(w, pad, fragment_type(first, n == left), p, n);
        if (rc) {
            return rc;
        }
        p += n;
        left -= n;
        first = 0;
    } while (left > 0);
    int rc = st_wfile_flush(w->file);
    return rc ? fail(w, rc) : 0;
}

int st_log_writer_add(st_log_writer *w, st_slice record)
{
    if ((!w->seal && w->ecc.kind == ST_ECC_NONE) || w->err) {
        return add_raw(w, record);
    }
    int rc = 0;
    if (w->seal) {
        rc = st_log_seal_record(w->seal, record, &w->sealed);
    } else if (st_buf_assign(&w->sealed, record.data, record.size)) {
        rc = st_err(STRATA_E_NOMEM, "out of memory adding parity to a log record");
    }
    if (!rc && w->ecc.kind != ST_ECC_NONE) {
        rc = st_log_parity_append(&w->ecc, &w->sealed);
    }
    return rc ? fail(w, rc) : add_raw(w, st_buf_slice(&w->sealed));
}

int st_log_writer_protect(st_log_writer *w, st_integrity *in, uint64_t number, int kind)
{
    assert(w->size == 0 && !w->seal && w->ecc.kind == ST_ECC_NONE); /* a new, bare log */
    st_buf header = ST_BUF_INIT;
    st_ecc ecc;
    int rc = st_log_seal_create(in, number, kind, &header, &w->seal, &ecc);
    rc = rc || header.len == 0 ? rc : add_raw(w, st_buf_slice(&header));
    if (!rc) {
        w->ecc = ecc; /* from here on: the header is written */
    }
    st_buf_free(&header);
    return rc;
}

int st_log_writer_sync(st_log_writer *w)
{
    if (w->err) {
        return sticky_error(w);
    }
    int rc = st_wfile_sync(w->file);
    return rc ? fail(w, rc) : 0;
}

uint64_t st_log_writer_size(const st_log_writer *w)
{
    return w->size;
}

int st_log_writer_close(st_log_writer *w)
{
    if (!w) {
        return 0;
    }
    int rc = st_wfile_close(w->file);
    st_log_seal_destroy(w->seal);
    st_buf_free(&w->sealed);
    st_free(w->scratch);
    st_free(w);
    return rc;
}
