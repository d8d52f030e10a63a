/* table_scan.c — block-wise scan of a possibly damaged table (table_scan.h; layout in
 * docs/FORMAT.md "Table").
 *
 * Open reads what it can of the metadata: the footer (checksum kind, metaindex and index
 * handles), the metaindex (properties and filter handles: together with the properties'
 * data_size they give where the data region ends) and the index.  Each is verified; a failure
 * only narrows what the scan knows.  Then every data block is read independently:
 *
 *  - index mode (index verified): block i is read through its handle; its keys must lie in
 *    (separator i-1, separator i].  A bad block becomes a damage record with exactly those
 *    bounds, which are trustworthy because the index verified.
 *  - chain mode: blocks are found by position (table_scan.h).  The search for a block's length
 *    at a known start keeps a running checksum (CRC-32C register or XXH3 streaming state) over the
 *    candidate body and, at each position whose two bytes could be a trailer's type and flags,
 *    extends a copy of it by those bytes and the fixed64 offset (the covered bytes, docs/FORMAT.md
 *    "Block trailer", format version 2): one pass over the bytes whatever the number of
 *    candidates.  When the search cannot meet the filter block, a candidate stored uncompressed
 *    must also end in a plausible restart array, which rules out most positions cheaply.  A found
 *    block is confirmed with st_codec_verify and read normally.
 *    When the footer is unreadable too, the checksum kind is detected on the block at offset 0,
 *    and the first verified block that is not a data block (filter, properties, metaindex or
 *    index: they follow the data) ends the data region.
 *
 * The scan holds one data block, the index and a read window (chain mode) in memory. */
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include "table/table_scan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "codec/codec.h"
#include "strata.h"
#include "table/block.h"
#include "table/format.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/ikey.h"
#include "util/status.h"

#define DEFAULT_BUDGET ((uint64_t)512 << 20)
#define MAX_SEARCH_LEN ((uint64_t)64 << 20) /* longest block a forward search looks for */
#define MIN_FORWARD_LEN ((uint64_t)4 << 20)
#define MIN_RESYNC_LEN ((uint64_t)64 << 10)
#define WINDOW_MIN ((size_t)1 << 20)

enum { MODE_INDEX, MODE_CHAIN, MODE_DONE };

typedef struct hint {
    uint64_t offset, size;
} hint;

struct st_table_scan {
    const st_comparator *ucmp;
    char *fname;
    st_rfile *file;
    uint64_t file_size;
    uint64_t budget;
    uint64_t *damage_count;
    st_integrity *integ;
    uint64_t number;
    st_crypt_file *crypt; /* a format-3 encrypted table's key */
    st_block_rctx rctx;   /* how blocks are read (checksum kind, key, parity) */
    uint64_t blocks_end;  /* where the footer (and its mirror) begin */
    int checksum;
    int footer_ok;
    int meta_known; /* where the data region ends is known (else: at the first non-data block) */
    int mode;
    int indexed;
    uint64_t data_end;
    int props_ok;
    st_table_props props;
    /* index mode */
    st_block index;
    int index_loaded;
    st_block_iter ix;
    int ix_started;
    st_buf prev_sep;
    int have_prev_sep;
    uint64_t prev_end;
    /* chain mode */
    uint64_t pos;
    uint64_t max_good_len;
    hint *hints;
    size_t nhints;
    char *win;
    size_t win_cap, win_len;
    uint64_t win_off;
    uint64_t io_cut_end; /* a read error cut the region short: it ended here */
    /* the current block */
    st_block blk;
    int blk_loaded;
    st_block_iter bi;
    int advance;
    st_buf last_key;
    int have_last;
    /* results */
    st_table_damage meta[4]; /* footer, metaindex, a meta block, index */
    int nmeta;
    st_table_damage *dmg;
    int ndmg, dmg_cap;
    int open_hi; /* chain mode: damage from here on still waits for its upper bound */
    uint64_t entries, blocks, good_bytes;
    int status;
    int finished;
};

/* ---- damage records ------------------------------------------------------------------------- */

/* The reason in the current error message: what follows "offset N: ", else what follows the
 * file name, else all of it. */
static void reason(const st_table_scan *s, char *out, size_t cap, const char *fallback)
{
    const char *msg = st_errmsg();
    const char *p = msg ? strstr(msg, "offset ") : NULL;
    size_t fl = strlen(s->fname);
    if (p) {
        p += 7;
        while (*p >= '0' && *p <= '9') {
            p++;
        }
        p = p[0] == ':' && p[1] == ' ' ? p + 2 : NULL;
    }
    if (!p && msg && strncmp(msg, s->fname, fl) == 0 && msg[fl] == ':' && msg[fl + 1] == ' ') {
        p = msg + fl + 2;
    }
    snprintf(out, cap, "%s", p && *p ? p : msg && *msg ? msg : fallback);
}

/* Records damaged metadata (the current error message says why). */
static void add_meta_damage(st_table_scan *s, const char *block, uint64_t offset, uint64_t size)
{
    if (s->nmeta < (int)(sizeof(s->meta) / sizeof(s->meta[0]))) {
        st_table_damage *d = &s->meta[s->nmeta++];
        char why[64]; /* with the block's name it fits d->what */
        reason(s, why, sizeof(why), "unreadable");
        d->offset = offset;
        d->size = size;
        snprintf(d->what, sizeof(d->what), "%s: %s", block, why);
    }
}

/* Records damage [offset, offset + size).  lo (may be NULL) is the exclusive lower bound. */
static int add_damage(st_table_scan *s, uint64_t offset, uint64_t size, const char *what,
                      const st_buf *lo)
{
    if (s->ndmg == s->dmg_cap) {
        int cap = s->dmg_cap ? 2 * s->dmg_cap : 8;
        st_table_damage *d = st_realloc(s->dmg, (size_t)cap * sizeof(*d));
        if (!d) {
            return st_err(STRATA_E_NOMEM, "%s: out of memory recording damage", s->fname);
        }
        s->dmg = d;
        s->dmg_cap = cap;
    }
    st_table_damage *d = &s->dmg[s->ndmg];
    memset(d, 0, sizeof(*d));
    st_buf_init(&d->lo);
    st_buf_init(&d->hi);
    s->ndmg++;
    d->offset = offset;
    d->size = size;
    snprintf(d->what, sizeof(d->what), "%s", what);
    if (lo) {
        d->has_lo = 1;
        if (st_buf_assign(&d->lo, lo->data, lo->len)) {
            return st_err(STRATA_E_NOMEM, "%s: out of memory recording damage", s->fname);
        }
    }
    s->blocks++;
    if (s->damage_count) {
        (*s->damage_count)++;
    }
    return 0;
}

/* Chain mode: the first good key after damage is its exclusive upper bound. */
static int close_open_damage(st_table_scan *s, st_slice first)
{
    for (; s->open_hi < s->ndmg; s->open_hi++) {
        st_table_damage *d = &s->dmg[s->open_hi];
        d->has_hi = 1;
        if (st_buf_assign(&d->hi, first.data, first.size)) {
            return st_err(STRATA_E_NOMEM, "%s: out of memory recording damage", s->fname);
        }
    }
    return 0;
}

/* Estimates: with the properties, the table's missing entries (num_entries minus what was read)
 * spread over the damaged ranges by size; otherwise the density of the good blocks. */
static void finish_estimates(st_table_scan *s)
{
    uint64_t total = 0;
    for (int i = 0; i < s->ndmg; i++) {
        total += s->dmg[i].size;
    }
    if (total == 0) {
        return;
    }
    double per_byte = 0;
    if (s->props_ok && s->props.num_entries >= s->entries) {
        per_byte = (double)(s->props.num_entries - s->entries) / (double)total;
    } else if (s->good_bytes) {
        per_byte = (double)s->entries / (double)s->good_bytes;
    }
    for (int i = 0; i < s->ndmg; i++) {
        uint64_t est = (uint64_t)((double)s->dmg[i].size * per_byte + 0.5);
        s->dmg[i].entries_est = est == 0 && per_byte > 0 && s->dmg[i].size ? 1 : est;
    }
}

/* ---- blocks --------------------------------------------------------------------------------- */

static void drop_block(st_table_scan *s)
{
    if (s->blk_loaded) {
        st_block_iter_release(&s->bi);
        st_block_free(&s->blk);
        s->blk_loaded = 0;
    }
}

/* Reads and decodes the block at h into b.  Corruption is returned as 1 with *why set; NOTSUP,
 * AUTH, IO and NOMEM are errors (the table cannot be read by this build, or the system failed). */
/* Reads one block of kind through the table's context (decryption, healing). */
static int read_ctx(st_table_scan *s, st_block_handle h, int kind, st_block_contents *c)
{
    s->rctx.codec.checksum = s->checksum; /* detected late when the footer is unreadable */
    return st_read_block_ctx(s->file, &s->rctx, h, kind, 1, 0, c);
}

/* The stored bytes a block of n bytes takes, its parity region included. */
static uint64_t stored_span(const st_table_scan *s, uint64_t n)
{
    return n + (s->rctx.ecc.kind != ST_ECC_NONE ? st_ecc_parity_len(&s->rctx.ecc, (size_t)n) : 0);
}

static int read_block(st_table_scan *s, st_block_handle h, st_block *b, char *why, size_t cap)
{
    st_block_contents c;
    int rc = read_ctx(s, h, ST_BLOCK_DATA, &c);
    if (!rc) {
        rc = st_block_init(b, c.data, c.heap, s->fname, h.offset);
    }
    if (rc == STRATA_E_CORRUPTION || rc == STRATA_E_IO) { /* a bad sector is damage too */
        reason(s, why, cap, rc == STRATA_E_IO ? "I/O error" : "corrupted block");
        return 1;
    }
    return rc;
}

/* Checks a decoded block as data: internal keys, strictly increasing, above the last good key
 * and inside (lo, hi] when given.  0 if good, else 1 with *why set. */
static int check_data(st_table_scan *s, const st_block *b, const st_buf *lo, st_slice hi,
                      int has_hi, char *why, size_t cap)
{
    st_block_iter it;
    st_block_iter_init(&it, b, s->ucmp);
    const st_buf *prev = s->have_last ? &s->last_key : NULL;
    st_buf mine = ST_BUF_INIT;
    int bad = 0, n = 0;
    for (st_block_iter_seek_to_first(&it); !bad && st_block_iter_valid(&it);
         st_block_iter_next(&it), n++) {
        st_slice uk;
        uint64_t seq;
        int type;
        if (st_ikey_parse(it.key, &uk, &seq, &type)) {
            snprintf(why, cap, "entry %d is not an internal key", n);
            bad = 1;
        } else if (prev && st_ikey_cmp(s->ucmp, st_buf_slice(prev), it.key) >= 0) {
            snprintf(why, cap, "keys out of order at entry %d", n);
            bad = 1;
        } else if ((lo && st_ikey_cmp(s->ucmp, it.key, st_buf_slice(lo)) <= 0) ||
                   (has_hi && st_ikey_cmp(s->ucmp, it.key, hi) > 0)) {
            snprintf(why, cap, "entry %d lies outside the range its index entry gives", n);
            bad = 1;
        } else if (st_buf_assign(&mine, it.key.data, it.key.size)) {
            bad = st_err(STRATA_E_NOMEM, "%s: out of memory", s->fname);
        }
        prev = &mine;
    }
    if (!bad && it.status) {
        reason(s, why, cap, "undecodable entry");
        bad = it.status == STRATA_E_CORRUPTION ? 1 : it.status;
    }
    if (!bad && n == 0) {
        snprintf(why, cap, "empty data block");
        bad = 1;
    }
    st_block_iter_release(&it);
    st_buf_free(&mine);
    return bad;
}

/* Makes b the current block, positioned at its first entry. */
static void use_block(st_table_scan *s, const st_block *b, uint64_t stored_size)
{
    s->blk = *b;
    s->blk_loaded = 1;
    st_block_iter_init(&s->bi, &s->blk, s->ucmp);
    st_block_iter_seek_to_first(&s->bi);
    s->advance = 0;
    s->blocks++;
    s->good_bytes += stored_size;
}

/* ---- index mode ----------------------------------------------------------------------------- */

static int index_damage(st_table_scan *s, st_block_handle h, const char *why, st_slice sep,
                        int has_sep)
{
    int rc = add_damage(s, h.offset, h.size, why, s->have_prev_sep ? &s->prev_sep : NULL);
    if (!rc && has_sep) {
        st_table_damage *d = &s->dmg[s->ndmg - 1];
        d->has_hi = d->hi_incl = 1;
        if (st_buf_assign(&d->hi, sep.data, sep.size)) {
            rc = st_err(STRATA_E_NOMEM, "%s: out of memory", s->fname);
        }
    }
    return rc;
}

/* One index entry: 1 if its block became current, 0 if it was damaged, or an error. */
static int index_entry(st_table_scan *s, st_slice sep, st_slice hv)
{
    st_block_handle h = {s->prev_end, 0};
    char why[96];
    int rc, good = 0;
    if (s->have_prev_sep && st_ikey_cmp(s->ucmp, st_buf_slice(&s->prev_sep), sep) >= 0) {
        if (!st_handle_decode(&hv, &h)) {
            h = (st_block_handle){s->prev_end, 0};
        }
        return index_damage(s, h, "index keys out of order", sep, 0);
    }
    if (!st_handle_decode(&hv, &h) || !st_handle_within(h, s->blocks_end, s->checksum)) {
        h = (st_block_handle){s->prev_end, 0};
        rc = index_damage(s, h, "bad block handle in the index", sep, 1);
    } else {
        st_block b;
        rc = read_block(s, h, &b, why, sizeof(why));
        if (rc == 0) {
            rc = check_data(s, &b, s->have_prev_sep ? &s->prev_sep : NULL, sep, 1, why,
                            sizeof(why));
            if (rc == 0) {
                use_block(s, &b, h.size);
                good = 1;
            } else {
                st_block_free(&b);
            }
        }
        if (rc == 1) {
            rc = index_damage(s, h, why, sep, 1);
        }
        s->prev_end = h.offset + h.size;
    }
    if (rc == 0) {
        s->have_prev_sep = 1;
        if (st_buf_assign(&s->prev_sep, sep.data, sep.size)) {
            return st_err(STRATA_E_NOMEM, "%s: out of memory", s->fname);
        }
    }
    return rc < 0 ? rc : good;
}

static int next_indexed(st_table_scan *s)
{
    for (;;) {
        if (!s->ix_started) {
            st_block_iter_seek_to_first(&s->ix);
            s->ix_started = 1;
        } else {
            st_block_iter_next(&s->ix);
        }
        if (!st_block_iter_valid(&s->ix)) {
            if (s->ix.status == STRATA_E_CORRUPTION && s->prev_end < s->data_end) {
                /* A verified index that does not decode: nothing bounds the rest. */
                int rc = add_damage(s, s->prev_end, s->data_end - s->prev_end,
                                    "index entries undecodable",
                                    s->have_prev_sep ? &s->prev_sep : NULL);
                if (rc) {
                    return rc;
                }
            } else if (s->ix.status) {
                return s->ix.status;
            }
            s->mode = MODE_DONE;
            return 0;
        }
        int rc = index_entry(s, s->ix.key, s->ix.value);
        if (rc) {
            return rc;
        }
    }
}

/* ---- chain mode ----------------------------------------------------------------------------- */

/* Makes [off, off + n) readable from the window (fewer bytes at the end of the region).
 * Returns the bytes available from off, or an error (negative). */
static int64_t window(st_table_scan *s, uint64_t off, uint64_t n, const char **p)
{
    uint64_t end = s->data_end;
    if (off >= end) {
        return 0;
    }
    n = n < end - off ? n : end - off;
    if (off < s->win_off || off + n > s->win_off + s->win_len) {
        uint64_t want = n > WINDOW_MIN ? n : WINDOW_MIN;
        want = want < end - off ? want : end - off;
        if (want > s->win_cap) {
            char *w = st_realloc(s->win, (size_t)want);
            if (!w) {
                return st_err(STRATA_E_NOMEM, "%s: out of memory for a read window", s->fname);
            }
            s->win = w;
            s->win_cap = (size_t)want;
        }
        st_slice got;
        int rc = st_rfile_read(s->file, off, (size_t)want, s->win, &got);
        if (rc == STRATA_E_IO) { /* unreadable from here: the rest of the region is lost */
            s->io_cut_end = s->io_cut_end ? s->io_cut_end : s->data_end;
            s->data_end = off;
            return 0;
        }
        if (rc) {
            return st_err_context(rc, "%s: reading offset %" PRIu64, s->fname, off);
        }
        if (got.data != s->win) {
            memcpy(s->win, got.data, got.size);
        }
        s->win_off = off;
        s->win_len = got.size;
        if (got.size < n) {
            n = got.size;
        }
    }
    *p = s->win + (off - s->win_off);
    return (int64_t)n;
}

/* Cost charged to the budget per candidate trailer position, on top of one pass over the bytes:
 * keeps runs of candidates (zeros) from costing more than the budget says.  An XXH3 candidate
 * copies the hash state (about 600 bytes) and finalizes it. */
#define CRC_CANDIDATE_COST 32
#define XXH_CANDIDATE_COST 1024

/* What every block but the filter ends with once uncompressed: a restart count n >= 1 that fits,
 * a first restart offset of 0, and a last one inside the entries (docs/FORMAT.md "Block
 * contents").  Only for bodies stored uncompressed (type 0). */
static int plausible_restarts(const char *p, size_t b)
{
    if (b < 8) {
        return 0;
    }
    uint32_t n = st_decode_fixed32(p + b - 4);
    if (n == 0 || n > (b - 4) / 4) {
        return 0;
    }
    size_t array = b - 4 - 4 * (size_t)n;
    return st_decode_fixed32(p + array) == 0 && (n == 1 || st_decode_fixed32(p + b - 8) < array);
}

/* Running checksum of a candidate body; match() extends a copy by type ‖ flags ‖ fixed64(start)
 * (the covered bytes, docs/FORMAT.md "Block trailer") and compares it with the stored one. */
typedef struct running {
    int kind;
    uint32_t crc;
    XXH3_state_t xxh;
    size_t done;
} running;

static void running_init(running *r, int kind)
{
    r->kind = kind;
    r->crc = 0;
    r->done = 0;
    if (kind == STRATA_CHECKSUM_XXH3) {
        XXH3_INITSTATE(&r->xxh);
        XXH3_128bits_reset(&r->xxh);
    }
}

static int running_match(running *r, const char *p, size_t b, uint64_t start)
{
    char tail[10];
    tail[0] = p[b];
    tail[1] = p[b + 1];
    st_encode_fixed64(tail + 2, start);
    if (r->kind == STRATA_CHECKSUM_CRC32C) {
        r->crc = st_crc32c_extend(r->crc, p + r->done, b - r->done);
        r->done = b;
        return st_crc32c_mask(st_crc32c_extend(r->crc, tail, sizeof(tail))) ==
               st_decode_fixed32(p + b + 2);
    }
    XXH3_128bits_update(&r->xxh, p + r->done, b - r->done);
    r->done = b;
    XXH3_state_t copy;
    XXH3_copyState(&copy, &r->xxh);
    XXH3_128bits_update(&copy, tail, sizeof(tail));
    XXH128_hash_t h = XXH3_128bits_digest(&copy);
    return h.low64 == st_decode_fixed64(p + b + 2) && h.high64 == st_decode_fixed64(p + b + 10);
}

/* Looks for a block starting at start with a stored length of at most max bytes whose checksum
 * verifies: one pass over the bytes, checking each position whose two bytes could be a trailer's
 * compression type and transform flags.  strict also requires, of a body stored uncompressed,
 * the restart array every block but the filter has (used whenever no filter can be in the way).
 * 1 with *len set, 0 if none, -1 if the budget ran out, or an error. */
static int search_at(st_table_scan *s, uint64_t start, uint64_t max, int strict, uint64_t *len)
{
    const char *p;
    if (s->budget == 0) {
        return -1;
    }
    int64_t avail = window(s, start, max, &p);
    if (avail < 0) {
        return (int)avail;
    }
    size_t tlen = st_codec_trailer_len(s->checksum);
    size_t n = (size_t)avail;
    uint64_t extra = 0, cost = s->checksum == STRATA_CHECKSUM_CRC32C ? CRC_CANDIDATE_COST
                                                                     : XXH_CANDIDATE_COST;
    running run;
    running_init(&run, s->checksum);
    for (size_t b = 0; b + tlen <= n; b++) {
        unsigned type = (unsigned char)p[b], flags = (unsigned char)p[b + 1];
        if (type > 3 || flags > 3) {
            continue; /* cannot be a compression type and transform flags */
        }
        if (strict && type == STRATA_COMPRESSION_NONE && !plausible_restarts(p, b)) {
            continue;
        }
        extra += cost;
        if (extra + b > s->budget) {
            s->budget = 0;
            return -1;
        }
        if (running_match(&run, p, b, start) &&
            st_codec_verify(s->checksum, st_slice_make(p, b + tlen), start)) {
            s->budget -= extra + b;
            *len = b + tlen;
            return 1;
        }
    }
    if (extra + n > s->budget) {
        s->budget = 0;
        return -1;
    }
    s->budget -= extra + n;
    return 0;
}

/* The longest block worth searching for: a few times the largest block seen or announced. */
static uint64_t typical_len(const st_table_scan *s)
{
    uint64_t typical = s->max_good_len;
    if (s->props_ok && s->props.num_data_blocks) {
        uint64_t avg = s->props.data_size / s->props.num_data_blocks;
        typical = avg > typical ? avg : typical;
    }
    for (size_t i = 0; i < s->nhints; i++) {
        typical = s->hints[i].size > typical ? s->hints[i].size : typical;
    }
    return typical;
}

static int cmp_hint(const void *a, const void *b)
{
    const hint *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Handles decoded from the unverified index: candidates only, each checked by its block's own
 * checksum before use. */
static void load_hints(st_table_scan *s, st_block_handle ih)
{
    st_block_contents c;
    st_block b;
    /* A format-3 index is authenticated or healed as it is read: no unverified view of it. */
    int rc = s->rctx.codec.crypt || s->rctx.ecc.kind != ST_ECC_NONE
                 ? read_ctx(s, ih, ST_BLOCK_INDEX, &c)
                 : st_read_block(s->file, s->checksum, ih, 0, 0, s->fname, &c);
    if (rc || st_block_init(&b, c.data, c.heap, s->fname, ih.offset)) {
        return;
    }
    st_block_iter it;
    st_block_iter_init(&it, &b, NULL);
    size_t cap = 0;
    for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it)) {
        st_block_handle h;
        st_slice v = it.value;
        if (!st_handle_decode(&v, &h) || !st_handle_within(h, s->blocks_end, s->checksum) ||
            h.offset + h.size > s->data_end) {
            continue;
        }
        if (s->nhints == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            hint *nh = st_realloc(s->hints, ncap * sizeof(*nh));
            if (!nh) {
                break;
            }
            s->hints = nh;
            cap = ncap;
        }
        s->hints[s->nhints++] = (hint){h.offset, h.size};
    }
    st_block_iter_release(&it);
    st_block_free(&b);
    if (s->nhints) {
        qsort(s->hints, s->nhints, sizeof(*s->hints), cmp_hint);
    }
}

/* First hint at or after off (index into hints; nhints if none). */
static size_t hint_from(const st_table_scan *s, uint64_t off)
{
    size_t lo = 0, hi = s->nhints;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->hints[mid].offset < off) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static int hint_verifies(st_table_scan *s, const hint *h)
{
    const char *p;
    int64_t n = window(s, h->offset, h->size, &p);
    return n == (int64_t)h->size &&
           st_codec_verify(s->checksum, st_slice_make(p, (size_t)h->size), h->offset);
}

/* The block starting at pos: 1 with *len, 0 if there is none, or an error. */
static int block_at(st_table_scan *s, uint64_t pos, uint64_t *len)
{
    for (size_t i = hint_from(s, pos); i < s->nhints && s->hints[i].offset == pos; i++) {
        if (hint_verifies(s, &s->hints[i])) {
            *len = s->hints[i].size;
            return 1;
        }
    }
    uint64_t max = 8 * typical_len(s);
    max = max < MIN_FORWARD_LEN ? MIN_FORWARD_LEN : max > MAX_SEARCH_LEN ? MAX_SEARCH_LEN : max;
    /* Encrypted bodies have no visible restart array to check candidates against. */
    int rc = search_at(s, pos, max, s->meta_known && !s->rctx.codec.crypt, len);
    return rc == -1 ? 0 : rc;
}

/* After damage at pos: where the next block starts (data_end if none is found). */
static int resync(st_table_scan *s, uint64_t pos, uint64_t *next)
{
    uint64_t limit = s->data_end;
    for (size_t i = hint_from(s, pos + 1); i < s->nhints; i++) {
        if (hint_verifies(s, &s->hints[i])) {
            limit = s->hints[i].offset;
            break;
        }
    }
    uint64_t typical = typical_len(s);
    uint64_t max = 2 * typical + 4096 > MIN_RESYNC_LEN ? 2 * typical + 4096 : MIN_RESYNC_LEN;
    for (uint64_t at = pos + 1; at < limit; at++) {
        uint64_t len;
        int rc = search_at(s, at, max < limit - at ? max : limit - at, 1, &len);
        if (rc == 1) {
            *next = at;
            return 0;
        }
        if (rc == -1) {
            break; /* budget spent: report everything up to the next known block as lost */
        }
        if (rc < 0) {
            return rc;
        }
    }
    *next = limit;
    return 0;
}

/* A verified block in a table whose metadata boundary is unknown: does it end the data? */
static void note_metadata(st_table_scan *s, st_block_handle h)
{
    st_block_contents c;
    if (!s->props_ok && read_ctx(s, h, ST_BLOCK_PROPS, &c) == 0) {
        st_table_props p;
        if (st_table_props_decode(c.data, s->fname, h.offset, &p) == 0 && p.num_data_blocks) {
            s->props = p;
            s->props_ok = 1;
        }
        st_free(c.heap);
    }
}

/* Footer-less chain mode found the properties: damage past the data region was the filter
 * block (which has no restart array to be found by), not data. */
static void trim_to_data(st_table_scan *s)
{
    uint64_t end = s->props_ok && s->props.data_size ? s->props.data_size : UINT64_MAX;
    while (s->ndmg > 0 && s->dmg[s->ndmg - 1].offset >= end) {
        st_table_damage *d = &s->dmg[--s->ndmg];
        st_buf_free(&d->lo);
        st_buf_free(&d->hi);
        s->blocks--;
    }
    if (s->ndmg > 0 && s->dmg[s->ndmg - 1].offset + s->dmg[s->ndmg - 1].size > end) {
        s->dmg[s->ndmg - 1].size = end - s->dmg[s->ndmg - 1].offset;
    }
    s->open_hi = s->open_hi < s->ndmg ? s->open_hi : s->ndmg;
}

/* Chain mode, the verified block at [pos, pos + len): 1 if it became current, 0 if not. */
static int chain_block(st_table_scan *s, uint64_t len)
{
    st_block_handle h = {s->pos, len};
    st_block b;
    char why[96];
    int rc = read_block(s, h, &b, why, sizeof(why));
    if (rc == 0) {
        rc = check_data(s, &b, NULL, st_slice_make("", 0), 0, why, sizeof(why));
        if (rc == 0) {
            st_block_iter it;
            st_block_iter_init(&it, &b, s->ucmp);
            st_block_iter_seek_to_first(&it);
            rc = close_open_damage(s, it.key);
            st_block_iter_release(&it);
            if (rc) {
                st_block_free(&b);
                return rc;
            }
            use_block(s, &b, len);
            s->max_good_len = len > s->max_good_len ? len : s->max_good_len;
            s->pos += stored_span(s, len);
            return 1;
        }
        st_block_free(&b);
    }
    if (rc < 0) {
        return rc;
    }
    if (!s->meta_known) { /* metadata follows the data blocks: the data ends here */
        note_metadata(s, h);
        s->data_end = s->pos;
        trim_to_data(s);
        return 0;
    }
    rc = add_damage(s, s->pos, len, why, s->have_last ? &s->last_key : NULL);
    s->pos += stored_span(s, len);
    return rc;
}

static int next_chained(st_table_scan *s)
{
    while (s->pos < s->data_end) {
        uint64_t len = 0, next = 0;
        int rc = block_at(s, s->pos, &len);
        if (rc == 1) {
            rc = chain_block(s, len);
            if (rc) {
                return rc < 0 ? rc : 1;
            }
            continue;
        }
        if (rc < 0 || (rc = resync(s, s->pos, &next)) != 0) {
            return rc;
        }
        next = next < s->data_end ? next : s->data_end;
        if (next > s->pos) {
            rc = add_damage(s, s->pos, next - s->pos, "no verifiable block here",
                            s->have_last ? &s->last_key : NULL);
            if (rc) {
                return rc;
            }
        }
        s->pos = next > s->pos ? next : s->data_end;
    }
    if (s->io_cut_end > s->data_end) {
        int rc = add_damage(s, s->data_end, s->io_cut_end - s->data_end, "I/O error",
                            s->have_last ? &s->last_key : NULL);
        s->io_cut_end = 0;
        if (rc) {
            return rc;
        }
    }
    s->mode = MODE_DONE;
    return 0;
}

/* ---- open ----------------------------------------------------------------------------------- */

/* Footer field offsets (docs/FORMAT.md "Footer"). */
enum { FOOT_VERSION = 48, FOOT_CRC = 52, FOOT_MAGIC = 56 };

/* 1 (with the error set) if the footer is intact but of a format version this scan does not
 * know: its blocks may be laid out or transformed differently, so searching them as version 2
 * blocks could misreport a healthy table as damaged.  A version 2 footer whose version field
 * alone is damaged still checksums with the field put back: it is put back (and reported). */
static int newer_format(st_table_scan *s, char *in)
{
    uint32_t version = st_decode_fixed32(in + FOOT_VERSION);
    if (st_decode_fixed64(in + FOOT_MAGIC) != ST_TABLE_MAGIC ||
        version == ST_TABLE_FORMAT_VERSION) {
        return 0;
    }
    char fixed[FOOT_CRC];
    memcpy(fixed, in, sizeof(fixed));
    st_encode_fixed32(fixed + FOOT_VERSION, ST_TABLE_FORMAT_VERSION);
    if (st_crc32c_unmask(st_decode_fixed32(in + FOOT_CRC)) == st_crc32c(fixed, sizeof(fixed))) {
        st_err(STRATA_E_CORRUPTION, "%s: format version field reads %" PRIu32, s->fname,
               version);
        add_meta_damage(s, "footer", s->file_size - ST_FOOTER_LEN, ST_FOOTER_LEN);
        memcpy(in, fixed, sizeof(fixed));
        return 0;
    }
    st_err(STRATA_E_NOTSUP, "%s: table format version %" PRIu32 " cannot be salvaged by this "
           "build (it reads version %d)", s->fname, version, ST_TABLE_FORMAT_VERSION);
    return 1;
}

/* A format-3 table's context: its key (refused without one, or when it must be encrypted and is
 * not) and parity. */
static int setup_v3(st_table_scan *s, const st_footer *f)
{
    if (f->encrypted) {
        if (!s->integ || !s->integ->kp) {
            return st_err(STRATA_E_AUTH, "%s: the table is encrypted (key id %" PRIu32 ") but no "
                          "key provider was given", s->fname, f->key_id);
        }
        int rc = st_crypt_file_create(s->integ->kp, f->key_id, s->integ->db_id, s->number,
                                      ST_CRYPT_FILE_TABLE, f->salt, &s->crypt);
        if (rc) {
            return st_err_context(rc, "%s", s->fname);
        }
    }
    s->rctx.codec.crypt = s->crypt;
    s->rctx.codec.parity = f->ecc.kind != ST_ECC_NONE;
    s->rctx.ecc = f->ecc;
    s->blocks_end = s->file_size - st_footer_tail_len(f);
    s->rctx.blocks_end = s->blocks_end;
    return 0;
}

/* 1 if the file ends in an intact-looking format-3 footer (magic and version). */
static int looks_v3(st_table_scan *s)
{
    char tail[16];
    st_slice got;
    if (s->file_size < ST_FOOTER3_LEN ||
        st_rfile_read(s->file, s->file_size - 16, 16, tail, &got) || got.size != 16) {
        return 0;
    }
    return st_decode_fixed64(got.data + 8) == ST_TABLE_MAGIC &&
           st_decode_fixed32(got.data) == ST_TABLE_FORMAT_VERSION_X;
}

static int read_footer(st_table_scan *s, st_footer *f)
{
    if (looks_v3(s) || s->file_size >= 2 * ST_FOOTER3_LEN) {
        int healed = 0;
        int rc = looks_v3(s) ? st_footer_read(s->file, s->file_size, s->fname, f, &healed) : -1;
        if (rc == -1) { /* maybe a damaged format-3 footer whose mirror survives */
            rc = st_footer_read(s->file, s->file_size, s->fname, f, &healed);
            rc = rc == 0 && f->format_version == ST_TABLE_FORMAT_VERSION_X ? 0 : -1;
        }
        if (rc == 0) {
            return f->format_version == ST_TABLE_FORMAT_VERSION_X ? setup_v3(s, f) : 0;
        }
        if (rc != -1) {
            return rc;
        }
    }
    char buf[ST_FOOTER_LEN] = {0};
    st_slice got = st_slice_make(buf, 0);
    if (s->file_size < ST_FOOTER_LEN) {
        return st_err(STRATA_E_CORRUPTION, "%s: %" PRIu64 " bytes is shorter than a footer",
                      s->fname, s->file_size);
    }
    int rc = st_rfile_read(s->file, s->file_size - ST_FOOTER_LEN, ST_FOOTER_LEN, buf, &got);
    if (rc) {
        return st_err_context(rc, "%s: reading the table footer", s->fname);
    }
    if (got.size != ST_FOOTER_LEN) {
        return st_err(STRATA_E_CORRUPTION, "%s: truncated table footer", s->fname);
    }
    if (got.data != buf) {
        memcpy(buf, got.data, ST_FOOTER_LEN); /* the file's own memory: fixed in a copy */
    }
    return newer_format(s, buf) ? STRATA_E_NOTSUP
                                : st_footer_decode(buf, s->file_size, s->fname, f);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Metaindex and properties: where the data region ends, and the table's counts. */
static void read_meta(st_table_scan *s, const st_footer *f)
{
    st_block_contents c;
    st_block meta;
    s->data_end = min_u64(f->metaindex.offset, f->index.offset);
    if (read_ctx(s, f->metaindex, ST_BLOCK_META, &c) ||
        st_block_init(&meta, c.data, c.heap, s->fname, f->metaindex.offset)) {
        add_meta_damage(s, "metaindex block", f->metaindex.offset, f->metaindex.size);
        return;
    }
    s->meta_known = 1;
    st_block_iter it;
    st_block_iter_init(&it, &meta, NULL);
    for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it)) {
        st_block_handle h;
        st_slice v = it.value;
        if (!st_handle_decode(&v, &h) || !st_handle_within(h, s->blocks_end, s->checksum)) {
            continue;
        }
        s->data_end = min_u64(s->data_end, h.offset);
        int is_props = st_slice_eq(it.key, st_slice_cstr("strata.properties"));
        int rc = read_ctx(s, h, is_props ? ST_BLOCK_PROPS : ST_BLOCK_FILTER, &c);
        if (!rc && is_props) {
            rc = st_table_props_decode(c.data, s->fname, h.offset, &s->props);
            s->props_ok = rc == 0;
        }
        if (!rc) {
            st_free(c.heap);
        } else { /* the reader verifies the filter at open too */
            add_meta_damage(s, is_props ? "properties block" : "filter block", h.offset,
                            h.size);
        }
    }
    s->meta_known = it.status == 0;
    st_block_iter_release(&it);
    st_block_free(&meta);
    if (s->props_ok && s->props.data_size) {
        s->data_end = min_u64(s->data_end, s->props.data_size);
    }
}

/* No usable footer: detect the checksum kind on the block at offset 0. */
static int detect_checksum(st_table_scan *s)
{
    static const int kinds[] = {STRATA_CHECKSUM_CRC32C, STRATA_CHECKSUM_XXH3};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        uint64_t len;
        s->checksum = kinds[i];
        int rc = search_at(s, 0, MIN_FORWARD_LEN, 0, &len);
        if (rc == 1) {
            return 0;
        }
        if (rc < -1) {
            return rc;
        }
    }
    s->checksum = STRATA_CHECKSUM_CRC32C;
    return 0;
}

static int scan_setup(st_table_scan *s)
{
    st_footer f;
    int rc = read_footer(s, &f);
    if (rc && rc != STRATA_E_CORRUPTION && rc != STRATA_E_IO) {
        return rc;
    }
    if (rc) { /* no footer: chain mode over the whole file, checksum kind detected */
        uint64_t at = s->file_size > ST_FOOTER_LEN ? s->file_size - ST_FOOTER_LEN : 0;
        add_meta_damage(s, "footer", at, s->file_size - at);
        s->mode = MODE_CHAIN;
        s->data_end = s->file_size;
        return detect_checksum(s);
    }
    s->footer_ok = 1;
    s->checksum = f.checksum;
    read_meta(s, &f);
    st_block_contents c;
    rc = read_ctx(s, f.index, ST_BLOCK_INDEX, &c);
    if (!rc && !(rc = st_block_init(&s->index, c.data, c.heap, s->fname, f.index.offset))) {
        s->index_loaded = 1;
        s->indexed = 1;
        s->mode = MODE_INDEX;
        st_block_iter_init(&s->ix, &s->index, s->ucmp);
        return 0;
    }
    if (rc != STRATA_E_CORRUPTION && rc != STRATA_E_IO) {
        return rc;
    }
    add_meta_damage(s, "index block", f.index.offset, f.index.size);
    s->mode = MODE_CHAIN;
    load_hints(s, f.index);
    return 0;
}

int st_table_scan_open(const st_table_scan_options *opts, st_rfile *file, uint64_t file_size,
                       st_table_scan **out)
{
    *out = NULL;
    st_table_scan *s = st_calloc(1, sizeof(*s));
    if (!s || !(s->fname = st_strdup(opts->fname ? opts->fname : "(table)"))) {
        st_free(s);
        st_rfile_close(file);
        return st_err(STRATA_E_NOMEM, "no memory to scan a table");
    }
    s->ucmp = opts->ucmp ? opts->ucmp : st_comparator_bytewise();
    s->file = file;
    s->file_size = file_size;
    s->budget = opts->search_budget ? opts->search_budget : DEFAULT_BUDGET;
    s->damage_count = opts->damage_count;
    s->integ = opts->integ;
    s->number = opts->file_number;
    s->blocks_end = file_size >= ST_FOOTER_LEN ? file_size - ST_FOOTER_LEN : 0;
    s->rctx.codec.fname = s->fname;
    s->rctx.codec.parity = -1; /* format 2: no parity; the flag is not checked */
    s->rctx.ecc.kind = ST_ECC_NONE;
    s->rctx.blocks_end = s->blocks_end;
    s->rctx.integ = opts->integ;
    s->rctx.file_number = opts->file_number;
    st_buf_init(&s->prev_sep);
    st_buf_init(&s->last_key);
    int rc = scan_setup(s);
    if (rc) {
        st_table_scan_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void st_table_scan_close(st_table_scan *s)
{
    if (!s) {
        return;
    }
    drop_block(s);
    if (s->index_loaded) {
        st_block_iter_release(&s->ix);
        st_block_free(&s->index);
    }
    for (int i = 0; i < s->ndmg; i++) {
        st_buf_free(&s->dmg[i].lo);
        st_buf_free(&s->dmg[i].hi);
    }
    st_free(s->dmg);
    st_free(s->hints);
    st_free(s->win);
    st_buf_free(&s->prev_sep);
    st_buf_free(&s->last_key);
    st_rfile_close(s->file);
    st_crypt_file_destroy(s->crypt);
    st_free(s->fname);
    st_free(s);
}

/* ---- iteration ------------------------------------------------------------------------------ */

int st_table_scan_next(st_table_scan *s, st_slice *key, st_slice *value)
{
    while (!s->status) {
        if (s->blk_loaded) {
            if (s->advance) {
                st_block_iter_next(&s->bi);
            }
            if (st_block_iter_valid(&s->bi)) {
                if (st_buf_assign(&s->last_key, s->bi.key.data, s->bi.key.size)) {
                    s->status = st_err(STRATA_E_NOMEM, "%s: out of memory", s->fname);
                    break;
                }
                s->have_last = 1;
                s->advance = 1;
                s->entries++;
                *key = s->bi.key;
                *value = s->bi.value;
                return 1;
            }
            drop_block(s); /* checked in full before use: no error can show up here */
        }
        int rc = s->mode == MODE_INDEX ? next_indexed(s)
                 : s->mode == MODE_CHAIN ? next_chained(s) : 0;
        if (rc < 0) {
            s->status = rc;
        } else if (rc == 0 && s->mode == MODE_DONE) {
            if (!s->finished) {
                finish_estimates(s);
                s->finished = 1;
            }
            return 0;
        }
    }
    return s->status;
}

int st_table_scan_num_damage(const st_table_scan *s)
{
    return s->ndmg;
}

const st_table_damage *st_table_scan_damage(const st_table_scan *s, int i)
{
    return &s->dmg[i];
}

int st_table_scan_num_meta_damage(const st_table_scan *s)
{
    return s->nmeta;
}

const st_table_damage *st_table_scan_meta_damage(const st_table_scan *s, int i)
{
    return &s->meta[i];
}

const st_table_props *st_table_scan_props(const st_table_scan *s)
{
    return s->props_ok ? &s->props : NULL;
}

uint64_t st_table_scan_entries(const st_table_scan *s)
{
    return s->entries;
}

uint64_t st_table_scan_blocks(const st_table_scan *s)
{
    return s->blocks;
}

int st_table_scan_indexed(const st_table_scan *s)
{
    return s->indexed;
}

/* ---- iterator adapter ----------------------------------------------------------------------- */

typedef struct scan_iter {
    st_iter base;
    st_table_scan *s;
    int valid, status, started;
    st_slice key, value;
} scan_iter;

static void si_step(scan_iter *it)
{
    int rc = it->status ? it->status : st_table_scan_next(it->s, &it->key, &it->value);
    it->valid = rc == 1;
    it->status = rc < 0 ? rc : 0;
}

static void si_unsupported(scan_iter *it)
{
    it->valid = 0;
    it->status = st_err(STRATA_E_NOTSUP, "a table scan only moves forward from the start");
}

static int si_valid(const st_iter *it)
{
    return ((const scan_iter *)it)->valid;
}

static void si_seek_to_first(st_iter *base)
{
    scan_iter *it = (scan_iter *)base;
    if (it->started) {
        si_unsupported(it);
        return;
    }
    it->started = 1;
    si_step(it);
}

static void si_seek_to_last(st_iter *base)
{
    si_unsupported((scan_iter *)base);
}

static void si_seek(st_iter *base, st_slice target)
{
    (void)target;
    si_unsupported((scan_iter *)base);
}

static void si_next(st_iter *base)
{
    si_step((scan_iter *)base);
}

static st_slice si_key(const st_iter *it)
{
    return ((const scan_iter *)it)->key;
}

static st_slice si_value(const st_iter *it)
{
    return ((const scan_iter *)it)->value;
}

static int si_status(const st_iter *it)
{
    return ((const scan_iter *)it)->status;
}

static void si_destroy(st_iter *it)
{
    st_free(it);
}

static const struct st_iter_ops scan_iter_ops = {si_valid, si_seek_to_first, si_seek_to_last,
                                                 si_seek,  si_next,          si_seek_to_last,
                                                 si_key,   si_value,         si_status,
                                                 si_destroy};

st_iter *st_table_scan_iter(st_table_scan *s)
{
    scan_iter *it = st_calloc(1, sizeof(*it));
    if (it) {
        st_iter_init(&it->base, &scan_iter_ops);
        it->s = s;
    }
    return it ? &it->base : NULL;
}
