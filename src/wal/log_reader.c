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
 * Parity (a header with the parity flag, log_seal.h).  Each record carries a CRC and a parity
 * region (log_parity.h).  A complete record whose CRC fails is healed from its parity.  A FULL
 * fragment that fails its fragment checksum while its header is plausible (type and length fit
 * the block and the file) is healed as a protected record before the rules above run; only if
 * that fails do they run, unchanged.  A damaged FIRST/MIDDLE/LAST whose header is plausible and
 * sits where the writer would have put it (FIRST ending at its block's end, MIDDLE filling a
 * block, LAST at a block's start) starts a *tentative* record: later fragments are taken without
 * their checksums deciding anything, every block read from then on is kept, and the record is
 * healed when its LAST arrives.  If it does not heal, or the sequence breaks (a FULL or FIRST,
 * an implausible bad fragment, end of file), the reader rewinds to the first damaged fragment
 * and replays the kept blocks through the plain rules, so the outcome (record, torn tail,
 * corruption, bytes dropped) is exactly what a reader without healing reports; healing stays off
 * for the replayed blocks.  Heals and damage beyond parity that is not a torn tail are counted
 * through st_integrity_report_log.  Fragment headers (checksum, length, type) have no parity.
 *
 * Every error is sticky: after one, each later read returns the same code and message. */
#include "wal/log_reader.h"
#include "wal/log_seal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"
#include "wal/log_format.h"
#include "wal/log_parity.h"

/* Checksummed bytes the resync searches may spend in one block, all searches together: about 3x
 * what a block of random garbage needs on average, while a crafted block cannot cost more than a
 * few milliseconds (without it, up to ~500 MB of checksumming per block). */
#define SCAN_BUDGET ((size_t)4 << 20)
/* Fragment payload bytes (plus HEAL_COST each) that FULL-fragment heals may try in one block.
 * Every fragment of a block damaged at once needs under 330 KiB (4681 empty fragments at most);
 * without a bound a crafted block read with skip_corrupt could make the reader heal overlapping
 * 32 KiB fragments thousands of times. */
#define HEAL_BUDGET ((size_t)512 << 10)
#define HEAL_COST 64

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
    size_t heal_budget; /* payload bytes FULL-fragment heals may still try in this block */
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
    int seen_first;      /* the first record (maybe a header) was read */
    st_log_seal *seal;   /* the log is encrypted */
    st_buf plain;        /* the decrypted record returned last */
    int raw;             /* st_log_reader_set_raw: records exactly as stored */
    st_ecc ecc;          /* the log's parity (from its header); kind NONE: none */
    st_buf fix;          /* a healed record or header, borrowed by the record returned */
    int tent;            /* rec is a tentative record (see the file comment) */
    struct {             /* the reader just before the tentative record's first bad fragment */
        size_t pos, block_len, budget;
        uint64_t block_off, rec_off, bad_off;
        int at_eof, in_record;
    } snap;
    st_buf kept;          /* copies of the blocks read since snap, its block first */
    size_t replay_at;     /* replay: next byte of kept to serve as a block (0: not replaying) */
    uint64_t plain_until; /* fragments before this offset are read without healing */
    uint64_t heal_failed; /* offset of the last bad fragment whose heal failed (+1; 0: none) */
};

enum frag_kind { FRAG_OK, FRAG_BAD, FRAG_EOF };

typedef struct frag {
    int type;
    const char *data;
    size_t len;
    uint64_t off;    /* file offset of the header */
    const char *why; /* FRAG_BAD: what is wrong */
    size_t resume;   /* FRAG_BAD: block position where the resync search starts */
    int sum_only;    /* FRAG_BAD: only the checksum fails (type 1..4, length fits) */
} frag;

static const char checksum_mismatch[] = "fragment checksum mismatch";

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

/* The next block: from the kept copies while replaying, else from the file (kept too while a
 * tentative record is open). */
static int next_block(st_log_reader *r, st_slice *got)
{
    if (r->replay_at) {
        if (r->replay_at < r->kept.len) {
            size_t n = ST_MIN(r->kept.len - r->replay_at, (size_t)ST_LOG_BLOCK_SIZE);
            *got = st_slice_make(r->kept.data + r->replay_at, n);
            r->replay_at += n;
            return 0;
        }
        r->replay_at = 0; /* replayed; the current block is about to be replaced */
        st_buf_clear(&r->kept);
    }
    int rc = st_sfile_read(r->file, ST_LOG_BLOCK_SIZE, r->scratch, got);
    if (rc) {
        return st_err_context(rc, "%s: reading offset %llu", r->fname,
                              (unsigned long long)(r->block_off + r->block_len));
    }
    if (r->tent && st_buf_append(&r->kept, got->data, got->size)) {
        return st_err(STRATA_E_NOMEM, "%s: out of memory keeping the block at offset %llu",
                      r->fname, (unsigned long long)(r->block_off + r->block_len));
    }
    return 0;
}

static int read_block(st_log_reader *r)
{
    st_slice got;
    int rc = next_block(r, &got);
    if (rc) {
        return rc;
    }
    r->block_off += r->block_len;
    r->block = got.data;
    r->block_len = got.size;
    r->pos = 0;
    r->at_eof = got.size < ST_LOG_BLOCK_SIZE;
    r->budget = SCAN_BUDGET;
    r->heal_budget = HEAL_BUDGET;
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
    return checksum_mismatch;
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
        f->sum_only = f->why == checksum_mismatch;
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

/* ---- healing bad fragments ---- */

/* The parity a bad fragment at f may be healed with, or NULL: the log's, once its header was
 * read; before that, the header's own code for a fragment of a protected header's length.
 * Never for the fragments of a tentative record that failed (they were tried already), nor in
 * raw mode (records exactly as stored). */
static const st_ecc *fragment_ecc(const st_log_reader *r, const frag *f)
{
    if (r->raw || f->off < r->plain_until || !f->sum_only) {
        return NULL; /* only a plausible header: type 1..4, length fits block and file */
    }
    if (r->seen_first) {
        return r->ecc.kind != ST_ECC_NONE ? &r->ecc : NULL;
    }
    return f->type == ST_LOG_FULL && f->len == st_log_seal_protected_header_len()
               ? &st_log_header_ecc
               : NULL;
}

static void report(st_log_reader *r, uint64_t off, int healed)
{
    st_integrity_report_log(r->integ, r->number, r->kind, off, healed);
}

/* Heals the bad FULL fragment f (at r->pos) as a protected record into r->fix.  Returns 1
 * (f->data set, r->pos past it), 0 when it does not heal, or NOMEM. */
static int heal_full(st_log_reader *r, const st_ecc *e, frag *f)
{
    const char *p = r->block + r->pos + ST_LOG_HEADER_SIZE;
    size_t n;
    if (f->len + HEAL_COST > r->heal_budget) {
        r->heal_failed = f->off + 1; /* not tried: treated as beyond repair */
        return 0;
    }
    r->heal_budget -= f->len + HEAL_COST;
    if (st_buf_assign(&r->fix, p, f->len)) {
        return st_err(STRATA_E_NOMEM, "%s: out of memory healing the record at offset %llu",
                      r->fname, (unsigned long long)f->off);
    }
    int rc = st_log_parity_heal(e, r->fix.data, f->len, &n);
    if (rc == STRATA_E_CORRUPTION) {
        r->heal_failed = f->off + 1;
        return 0;
    }
    if (rc) {
        return rc;
    }
    report(r, f->off, 1);
    f->data = r->fix.data;
    r->pos += ST_LOG_HEADER_SIZE + f->len;
    return 1;
}

/* 1 if a bad fragment f of a log with parity sits where the writer puts that type inside a
 * multi-fragment record (in_record: a record is being assembled). */
static int fits_record(const st_log_reader *r, const frag *f, int in_record)
{
    switch (f->type) {
    case ST_LOG_FIRST:
        return !in_record && r->pos + ST_LOG_HEADER_SIZE + f->len == ST_LOG_BLOCK_SIZE;
    case ST_LOG_MIDDLE:
        return in_record && r->pos == 0 && f->len == ST_LOG_BLOCK_SIZE - ST_LOG_HEADER_SIZE;
    case ST_LOG_LAST:
        return in_record && r->pos == 0;
    default:
        return 0;
    }
}

/* Opens a tentative record at the bad fragment f (at r->pos): remembers the reader's state and
 * keeps a copy of the current block.  During a replay that block is the last kept one (healing
 * is off before the point the failed record was given up, which lies in the last block read):
 * it stays, alone, and reading goes on from the file. */
static int tent_start(st_log_reader *r, const frag *f)
{
    if (r->replay_at) {
        assert(r->replay_at == r->kept.len &&
               r->block == r->kept.data + r->kept.len - r->block_len);
        memmove(r->kept.data, r->block, r->block_len);
        r->kept.len = r->block_len;
        r->block = r->kept.data;
        r->replay_at = 0;
    } else {
        st_buf_clear(&r->kept);
        if (st_buf_append(&r->kept, r->block, r->block_len)) {
            return st_err(STRATA_E_NOMEM, "%s: out of memory keeping the block at offset %llu",
                          r->fname, (unsigned long long)r->block_off);
        }
    }
    r->snap.pos = r->pos;
    r->snap.block_len = r->block_len;
    r->snap.budget = r->budget;
    r->snap.block_off = r->block_off;
    r->snap.at_eof = r->at_eof;
    r->snap.in_record = r->in_record;
    r->snap.rec_off = r->rec_off;
    r->snap.bad_off = f->off;
    r->tent = 1;
    return 0;
}

/* The tentative record cannot be healed: rewinds to its first bad fragment and replays the kept
 * blocks, without healing up to where the tentative record was given up.  Returns 0 (read on). */
static int tent_fail(st_log_reader *r)
{
    r->tent = 0;
    r->heal_failed = r->snap.bad_off + 1;
    r->plain_until = r->block_off + r->pos;
    r->block = r->kept.data;
    r->block_len = r->snap.block_len;
    r->replay_at = r->snap.block_len;
    r->pos = r->snap.pos;
    r->budget = r->snap.budget;
    r->block_off = r->snap.block_off;
    r->at_eof = r->snap.at_eof;
    r->in_record = r->snap.in_record;
    r->rec_off = r->snap.rec_off;
    st_buf_clear(&r->rec);
    return 0;
}

/* A fragment (good, or bad and plausible) of the tentative record; f->data set.  Heals the record
 * at its LAST: returns 1 with *record, else 0 to read on (after a failed heal: replaying), or an
 * error. */
static int tent_take(st_log_reader *r, const frag *f, st_slice *record, uint64_t *offset)
{
    if (f->type == ST_LOG_FIRST) {
        r->in_record = 1;
        r->rec_off = f->off;
    }
    int rc = append(r, f);
    if (rc || f->type != ST_LOG_LAST) {
        return rc;
    }
    size_t n;
    rc = st_log_parity_heal(&r->ecc, r->rec.data, r->rec.len, &n);
    if (rc == STRATA_E_CORRUPTION) {
        return tent_fail(r);
    }
    if (rc) {
        return sticky(r, rc);
    }
    report(r, r->rec_off, 1);
    r->tent = 0;
    r->in_record = 0;
    st_buf_clear(&r->kept);
    *record = st_buf_slice(&r->rec);
    *offset = r->rec_off;
    return 1;
}

/* Payload of the bad fragment f at r->pos, which is taken as it is: steps past it. */
static void take_bad(st_log_reader *r, frag *f)
{
    f->data = r->block + r->pos + ST_LOG_HEADER_SIZE;
    r->pos += ST_LOG_HEADER_SIZE + f->len;
}

/* A bad fragment f.  Returns 1 when *record is complete (healed), 0 to read on (or at the end
 * of the log: r->done), or an error. */
static int bad_fragment(st_log_reader *r, frag *f, st_slice *record, uint64_t *offset)
{
    const st_ecc *e = fragment_ecc(r, f);
    if (r->tent) {
        if (e && f->type != ST_LOG_FIRST && fits_record(r, f, 1)) {
            take_bad(r, f);
            return tent_take(r, f, record, offset);
        }
        return tent_fail(r);
    }
    int rc = 0;
    if (e && f->type == ST_LOG_FULL) {
        rc = heal_full(r, e, f);
        if (rc) {
            return rc < 0 ? sticky(r, rc) : take_fragment(r, f, record, offset);
        }
    } else if (e && (!r->replay_at || r->replay_at == r->kept.len) &&
               fits_record(r, f, r->in_record)) { /* not replaying, or in the last kept block */
        if ((rc = tent_start(r, f)) != 0) {
            return sticky(r, rc);
        }
        take_bad(r, f);
        return tent_take(r, f, record, offset);
    }
    rc = handle_bad(r, f, r->in_record ? r->rec_off : f->off);
    if (r->heal_failed == f->off + 1 && !r->done && (rc == 1 || rc == STRATA_E_CORRUPTION)) {
        report(r, f->off, 0); /* beyond parity, and not a torn tail */
    }
    if (rc <= 0) {
        return rc;
    }
    r->in_record = 0;
    st_buf_clear(&r->rec);
    return 0;
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
            if (r->tent) {
                tent_fail(r);
                continue;
            }
            r->torn |= r->in_record; /* a record never finished: the append was torn */
            r->done = 1;
        } else if (rc == FRAG_BAD) {
            if ((rc = bad_fragment(r, &f, record, offset)) != 0) {
                return rc;
            }
        } else if (r->tent) {
            int go_on = f.type == ST_LOG_MIDDLE || f.type == ST_LOG_LAST;
            rc = go_on ? tent_take(r, &f, record, offset) : tent_fail(r);
            if (rc) {
                return rc;
            }
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

/* The first record: a header sets up decryption and parity (and is not returned); a log that
 * must be encrypted and has none is refused.  Returns 1 if record was consumed. */
static int first_record(st_log_reader *r, st_slice record, uint64_t offset)
{
    r->seen_first = 1;
    st_buf fix = ST_BUF_INIT;
    st_slice header;
    int healed;
    int rc = st_log_seal_find_header(record, &fix, &header, &healed);
    if (rc == 1) {
        if (healed) {
            report(r, offset, 1);
        }
        rc = st_log_seal_open(r->integ, r->number, r->kind, header, r->fname, &r->seal, &r->ecc);
        /* IDENTITY is made encrypted before the first sealed log is written, so a sealed log in
         * a DB whose IDENTITY says "not encrypted" means IDENTITY was replaced by one a key-less
         * attacker can write, to get plaintext files accepted.  (A sealer implies in and keys.) */
        if (!rc && r->seal && !r->integ->require_encrypted) {
            rc = st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64 ": the "
                        "log is encrypted but IDENTITY says the database is not (IDENTITY "
                        "replaced; downgrade refused)", r->fname, offset);
        }
        rc = rc ? rc : 1;
    } else if (rc == STRATA_E_CORRUPTION) {
        char why[ST_ERRMSG_MAX];
        snprintf(why, sizeof(why), "%s", st_errmsg());
        report(r, offset, 0);
        rc = corrupt(r, offset, why);
    } else if (rc == 0 && st_integrity_must_encrypt(r->integ, r->number)) {
        rc = st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64
                    ": unencrypted log in an encrypted database (downgrade refused)",
                    r->fname, offset);
    }
    st_buf_free(&fix);
    return rc < 0 ? sticky(r, rc) : rc;
}

/* Strips the CRC and parity off a complete record of a log with parity, healing it if its CRC
 * fails.  Returns 1 (*record is the inner record), 0 when the record was dropped (skip mode), or
 * an error. */
static int unwrap(st_log_reader *r, st_slice *record, uint64_t offset)
{
    size_t n;
    if (st_log_parity_intact(&r->ecc, record->data, record->size, &n)) {
        record->size = n;
        return 1;
    }
    int rc = 0;
    if (record->data != r->fix.data && st_buf_assign(&r->fix, record->data, record->size)) {
        rc = st_err(STRATA_E_NOMEM, "%s: out of memory healing the record at offset %" PRIu64,
                    r->fname, offset);
    }
    rc = rc ? rc : st_log_parity_heal(&r->ecc, r->fix.data, record->size, &n);
    if (rc == 0) {
        report(r, offset, 1);
        *record = st_slice_make(r->fix.data, n);
        return 1;
    }
    if (rc != STRATA_E_CORRUPTION) {
        return sticky(r, rc);
    }
    report(r, offset, 0);
    if (!r->skip_corrupt) {
        return corrupt(r, offset, "record checksum mismatch beyond repair by parity");
    }
    r->dropped += r->block_off + r->pos - offset;
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
        if (r->ecc.kind != ST_ECC_NONE && (rc = unwrap(r, record, *offset)) <= 0) {
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
    st_buf_free(&r->fix);
    st_buf_free(&r->kept);
    st_buf_free(&r->rec);
    st_free(r->scratch);
    st_free(r->fname);
    st_free(r);
}
