/* log_reader.c — reads records back from a record log (wal/log_format.h; byte layout and the
 * torn-tail rule in docs/FORMAT.md "Record log").
 *
 * The file is read one 32 KiB block at a time; fragments never cross blocks, so each block is
 * parsed on its own.  A fragment is *bad* when its header is truncated, its type is zero or
 * unknown, its length runs past the end of the block or of the file, or its checksum fails.
 * A checksum-valid fragment that breaks the FIRST/MIDDLE/LAST sequence is *out of sequence*.
 *
 * Torn tail vs corruption.  On a bad fragment at offset X the reader searches the rest of the
 * file for any valid fragment, trying every byte position from X + 1 on where a fragment could
 * start (a block tail shorter than a header cannot hold one).  Nothing found: the tail is torn
 * and reads as end of log.  Something found: corruption at X (or, with skip_corrupt, the bytes up
 * to the found fragment are dropped and counted, and reading resumes there).  One exception: a
 * fragment whose well-formed header claims more bytes than the file holds is what an interrupted
 * append leaves, so its length is trusted and it is a torn tail; searching inside its partial
 * payload could mistake user data that happens to contain log bytes for a following fragment.
 * Likewise for a fragment that fails its checksum while its payload ends in a zero byte and only
 * zeros follow it in the block: an append into zero-filled preallocated space (a memory-mapped
 * WAL) interrupted mid-copy.  Its length is trusted too, and the search resumes after it.
 * An out-of-sequence fragment is itself valid data after damage, so it is always corruption (or
 * dropped).  A record still missing its LAST fragment at end of file is a torn tail.
 *
 * Cost bounds on hostile input: fragment lengths are 16-bit and checked against the block before
 * use; records are assembled from verified bytes only, so memory grows with the file, never with
 * a length field; resync searches spend at most SCAN_BUDGET checksummed bytes per block.
 *
 * Every error is sticky: after one, each later read returns the same code and message. */
#include "wal/log_reader.h"
#include "wal/log_seal.h"

#include <inttypes.h>
#include <string.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"
#include "wal/log_format.h"

/* Checksummed bytes the resync searches may spend in one block, all searches together: about 3x
 * what a block of random garbage needs on average, while a crafted block cannot cost more than a
 * few milliseconds (without it, up to ~500 MB of checksumming per block). */
#define SCAN_BUDGET ((size_t)4 << 20)

struct st_log_reader {
    st_sfile *file;
    char *fname;
    int skip_corrupt;
    char *scratch;      /* ST_LOG_BLOCK_SIZE bytes */
    const char *block;  /* current block: in scratch or in memory owned by the file */
    size_t block_len;   /* < ST_LOG_BLOCK_SIZE only for the last block */
    size_t pos;         /* next unparsed byte of the block */
    uint64_t block_off; /* file offset of block[0] */
    int at_eof;         /* the current block is the last one */
    size_t budget;      /* checksummed bytes the resync search may still spend in this block */
    int done;           /* end of log returned */
    int torn;
    uint64_t dropped;
    st_buf rec;       /* a record being assembled from FIRST/MIDDLE/LAST fragments */
    int in_record;    /* rec holds a FIRST (and MIDDLEs) waiting for its LAST */
    uint64_t rec_off; /* file offset of that record's FIRST fragment */
    int err;          /* sticky error code and its message */
    char errmsg[ST_ERRMSG_MAX];
    st_integrity *integ; /* NULL: records are returned as stored */
    uint64_t number;
    int kind;
    int seen_first;      /* the first record (maybe an encryption header) was read */
    st_log_seal *seal;   /* the log is encrypted */
    st_buf plain;        /* the decrypted record returned last */
    int raw;             /* st_log_reader_set_raw: records exactly as stored */
};

enum frag_kind { FRAG_OK, FRAG_BAD, FRAG_EOF };

typedef struct frag {
    int type;
    const char *data;
    size_t len;
    uint64_t off;    /* file offset of the header */
    const char *why; /* FRAG_BAD: what is wrong */
    size_t resume;   /* FRAG_BAD: block position where the resync search starts */
} frag;

int st_log_reader_create(st_sfile *file, const char *fname, int skip_corrupt, st_log_reader **out)
{
    *out = NULL;
    if (!file) {
        return st_err(STRATA_E_INVALID, "log reader: NULL file");
    }
    st_log_reader *r = st_calloc(1, sizeof(*r));
    char *name = st_strdup(fname ? fname : "(log)");
    char *scratch = st_malloc(ST_LOG_BLOCK_SIZE);
    if (!r || !name || !scratch) {
        st_free(r);
        st_free(name);
        st_free(scratch);
        st_sfile_close(file); /* ownership was transferred to us */
        return st_err(STRATA_E_NOMEM, "log reader: out of memory");
    }
    r->file = file;
    r->fname = name;
    r->skip_corrupt = skip_corrupt;
    r->scratch = scratch;
    r->block = scratch;
    st_buf_init(&r->rec);
    *out = r;
    return 0;
}

static int sticky(st_log_reader *r, int rc)
{
    r->err = rc;
    strncpy(r->errmsg, st_errmsg(), sizeof(r->errmsg) - 1);
    r->errmsg[sizeof(r->errmsg) - 1] = '\0';
    return rc;
}

static int corrupt(st_log_reader *r, uint64_t off, const char *why)
{
    st_err(STRATA_E_CORRUPTION, "%s: corrupt record log at offset %llu: %s", r->fname,
           (unsigned long long)off, why);
    return sticky(r, STRATA_E_CORRUPTION);
}

static int read_block(st_log_reader *r)
{
    st_slice got;
    int rc = st_sfile_read(r->file, ST_LOG_BLOCK_SIZE, r->scratch, &got);
    if (rc) {
        return st_err_context(rc, "%s: reading offset %llu", r->fname,
                              (unsigned long long)(r->block_off + r->block_len));
    }
    r->block_off += r->block_len;
    r->block = got.data;
    r->block_len = got.size;
    r->pos = 0;
    r->at_eof = got.size < ST_LOG_BLOCK_SIZE;
    r->budget = SCAN_BUDGET;
    return 0;
}

static int crc_ok(const char *h, size_t len)
{
    uint32_t want = st_crc32c_unmask(st_decode_fixed32(h));
    return st_crc32c(h + 6, len + 1) == want; /* type byte, then the payload right after it */
}

/* 1 if the current block holds only zero bytes from position p on. */
static int zeros_after(const st_log_reader *r, size_t p)
{
    for (size_t q = p; q < r->block_len; q++) {
        if (r->block[q] != 0) {
            return 0;
        }
    }
    return 1;
}

/* Checks the fragment at block position p.  Returns NULL when it is valid, else what is wrong;
 * *trust_len is set for the interrupted-append signature (see the file comment). */
static const char *check_fragment(const st_log_reader *r, size_t p, size_t *len, int *type,
                                  int *trust_len)
{
    const char *h = r->block + p;
    *len = st_decode_fixed16(h + 4);
    *type = (unsigned char)h[6];
    *trust_len = 0;
    if (*type == ST_LOG_ZERO || *type > ST_LOG_LAST) {
        return *type == ST_LOG_ZERO ? "zero fragment type" : "unknown fragment type";
    }
    if (p + ST_LOG_HEADER_SIZE + *len > ST_LOG_BLOCK_SIZE) {
        return "fragment length runs past the end of the block";
    }
    if (p + ST_LOG_HEADER_SIZE + *len > r->block_len) {
        *trust_len = 1; /* the signature of an interrupted append */
        return "fragment runs past the end of the file";
    }
    if (crc_ok(h, *len)) {
        return NULL;
    }
    *trust_len = zeros_after(r, p + ST_LOG_HEADER_SIZE + *len) &&
                 (*len == 0 || h[ST_LOG_HEADER_SIZE + *len - 1] == 0);
    return "fragment checksum mismatch";
}

/* The next fragment in file order, loading blocks as needed.  Returns a frag_kind or a negative
 * I/O error. */
static int next_fragment(st_log_reader *r, frag *f)
{
    while (r->block_len - r->pos < ST_LOG_HEADER_SIZE) {
        if (r->at_eof) {
            if (r->pos == r->block_len) {
                return FRAG_EOF;
            }
            f->off = r->block_off + r->pos;
            f->why = "truncated fragment header";
            f->resume = r->block_len;
            return FRAG_BAD;
        }
        int rc = read_block(r); /* a full block's short tail is zero padding */
        if (rc) {
            return rc;
        }
    }
    int trust_len;
    f->off = r->block_off + r->pos;
    f->why = check_fragment(r, r->pos, &f->len, &f->type, &trust_len);
    if (f->why) {
        f->resume = trust_len ? r->pos + ST_LOG_HEADER_SIZE + f->len : r->pos + 1;
        return FRAG_BAD;
    }
    f->data = r->block + r->pos + ST_LOG_HEADER_SIZE;
    r->pos += ST_LOG_HEADER_SIZE + f->len;
    return FRAG_OK;
}

/* Tries every position from `from` on in the current block; leaves r->pos at the first valid
 * fragment and returns 1, or returns 0. */
static int scan_block(st_log_reader *r, size_t from)
{
    for (size_t q = from; q + ST_LOG_HEADER_SIZE <= r->block_len; q++) {
        const char *h = r->block + q;
        int type = (unsigned char)h[6];
        size_t len = st_decode_fixed16(h + 4);
        if (type == ST_LOG_ZERO || type > ST_LOG_LAST ||
            q + ST_LOG_HEADER_SIZE + len > r->block_len || len > r->budget) {
            continue; /* cheap rejections first: most positions fail here */
        }
        r->budget -= len;
        if (crc_ok(h, len)) {
            r->pos = q;
            return 1;
        }
    }
    return 0;
}

/* Searches for a valid fragment at or after block position from, reading on through the file.
 * Returns 1 (r->pos at the fragment), 0 when there is none, or a negative I/O error. */
static int resync(st_log_reader *r, size_t from)
{
    for (;;) {
        if (scan_block(r, from)) {
            return 1;
        }
        if (r->at_eof) {
            r->pos = r->block_len;
            return 0;
        }
        int rc = read_block(r);
        if (rc) {
            return rc;
        }
        from = 0;
    }
}

/* A bad fragment f; drop_from is where the damaged data begins (an unfinished record's start).
 * Returns 1 to keep reading (skip mode), 0 for a torn tail (end of log), or an error. */
static int handle_bad(st_log_reader *r, const frag *f, uint64_t drop_from)
{
    int found = resync(r, f->resume);
    if (found < 0) {
        return sticky(r, found);
    }
    if (!found) {
        r->torn = 1;
        r->done = 1;
        return 0;
    }
    if (!r->skip_corrupt) {
        return corrupt(r, f->off, f->why);
    }
    r->dropped += r->block_off + r->pos - drop_from;
    return 1;
}

/* A valid fragment arrived at f->off while the record started at rec_off was unfinished.
 * Returns 0 (dropped, keep going) or the corruption error. */
static int unfinished(st_log_reader *r, uint64_t rec_off, const frag *f)
{
    if (!r->skip_corrupt) {
        st_err(STRATA_E_CORRUPTION,
               "%s: corrupt record log at offset %llu: record has no last fragment (a new "
               "record starts at offset %llu)",
               r->fname, (unsigned long long)rec_off, (unsigned long long)f->off);
        return sticky(r, STRATA_E_CORRUPTION);
    }
    r->dropped += f->off - rec_off;
    return 0;
}

static int orphan(st_log_reader *r, const frag *f)
{
    if (!r->skip_corrupt) {
        return corrupt(r, f->off, "middle or last fragment without a first fragment");
    }
    r->dropped += ST_LOG_HEADER_SIZE + f->len;
    return 0;
}

static int append(st_log_reader *r, const frag *f)
{
    if (st_buf_append(&r->rec, f->data, f->len)) {
        st_err(STRATA_E_NOMEM, "%s: out of memory assembling the record at offset %llu", r->fname,
               (unsigned long long)f->off);
        return sticky(r, STRATA_E_NOMEM);
    }
    return 0;
}

/* Feeds a checksum-valid fragment to the record being assembled.  Returns 1 when *record is
 * complete, 0 to read on, or an error. */
static int take_fragment(st_log_reader *r, const frag *f, st_slice *record, uint64_t *offset)
{
    int starts = f->type == ST_LOG_FULL || f->type == ST_LOG_FIRST;
    int rc;
    if (starts && r->in_record) {
        if ((rc = unfinished(r, r->rec_off, f)) != 0) {
            return rc;
        }
        r->in_record = 0;
        st_buf_clear(&r->rec);
    }
    if (!starts && !r->in_record) {
        return orphan(r, f);
    }
    if (f->type == ST_LOG_FULL) {
        *record = st_slice_make(f->data, f->len); /* zero-copy: borrows the block */
        *offset = f->off;
        return 1;
    }
    if (f->type == ST_LOG_FIRST) {
        r->in_record = 1;
        r->rec_off = f->off;
    }
    if ((rc = append(r, f)) != 0) {
        return rc;
    }
    if (f->type != ST_LOG_LAST) {
        return 0;
    }
    r->in_record = 0;
    *record = st_buf_slice(&r->rec);
    *offset = r->rec_off;
    return 1;
}

static int read_raw(st_log_reader *r, st_slice *record, uint64_t *offset)
{
    if (r->err) {
        return st_err_set(r->err, r->errmsg);
    }
    st_buf_clear(&r->rec); /* the previous call's record is no longer borrowed */
    while (!r->done) {
        frag f = {0}; /* zeroed: keeps -O3 flow analysis from guessing */
        int rc = next_fragment(r, &f);
        if (rc < 0) {
            return sticky(r, rc);
        }
        if (rc == FRAG_EOF) {
            r->torn |= r->in_record; /* a record never finished: the append was torn */
            r->done = 1;
        } else if (rc == FRAG_BAD) {
            rc = handle_bad(r, &f, r->in_record ? r->rec_off : f.off);
            if (rc <= 0) {
                return rc;
            }
            r->in_record = 0;
            st_buf_clear(&r->rec);
        } else if ((rc = take_fragment(r, &f, record, offset)) != 0) {
            return rc;
        }
    }
    return 0;
}

void st_log_reader_set_raw(st_log_reader *r)
{
    r->raw = 1;
}

void st_log_reader_set_integrity(st_log_reader *r, st_integrity *in, uint64_t number, int kind)
{
    r->integ = in;
    r->number = number;
    r->kind = kind;
}

/* The first record: an encryption header sets up decryption (and is not returned); a log that
 * must be encrypted and has none is refused.  Returns 1 if record was consumed. */
static int first_record(st_log_reader *r, st_slice record, uint64_t offset)
{
    r->seen_first = 1;
    if (st_log_seal_is_header(record)) {
        int rc = st_log_seal_open(r->integ, r->number, r->kind, record, r->fname, &r->seal);
        /* IDENTITY is made encrypted before the first sealed log is written, so a sealed log in
         * a DB whose IDENTITY says "not encrypted" means IDENTITY was replaced by one a key-less
         * attacker can write, to get plaintext files accepted. */
        if (!rc && !r->integ->require_encrypted) {
            rc = st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64 ": the "
                        "log is encrypted but IDENTITY says the database is not (IDENTITY "
                        "replaced; downgrade refused)", r->fname, offset);
        }
        return rc ? sticky(r, rc) : 1;
    }
    if (st_integrity_must_encrypt(r->integ, r->number)) {
        return sticky(r, st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64
                                ": unencrypted log in an encrypted database (downgrade refused)",
                                r->fname, offset));
    }
    return 0;
}

int st_log_reader_read(st_log_reader *r, st_slice *record, uint64_t *offset)
{
    for (;;) {
        int rc = read_raw(r, record, offset);
        if (rc <= 0 || r->raw) {
            return rc;
        }
        if (!r->seen_first && (rc = first_record(r, *record, *offset)) != 0) {
            if (rc < 0) {
                return rc;
            }
            continue;
        }
        if (!r->seal) {
            return 1;
        }
        rc = st_log_seal_unseal(r->seal, *record, !r->skip_corrupt, r->fname, *offset, &r->plain);
        if (rc) {
            return sticky(r, rc);
        }
        *record = st_buf_slice(&r->plain);
        return 1;
    }
}

uint64_t st_log_reader_dropped(const st_log_reader *r)
{
    return r->dropped;
}

int st_log_reader_torn_tail(const st_log_reader *r)
{
    return r->torn;
}

void st_log_reader_close(st_log_reader *r)
{
    if (!r) {
        return;
    }
    st_sfile_close(r->file);
    st_log_seal_destroy(r->seal);
    st_buf_free(&r->plain);
    st_buf_free(&r->rec);
    st_free(r->scratch);
    st_free(r->fname);
    st_free(r);
}
