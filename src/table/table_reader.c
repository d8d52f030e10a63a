/* table_reader.c — opening and reading tables (table_reader.h; layout in docs/FORMAT.md
 * "Table").
 *
 * Open reads the footer, the metaindex (to find the properties and filter blocks), the
 * properties, the filter (only when its name matches the configured policy; kept 64-byte aligned
 * so a probe touches one cache line) and the index; all are checksum-verified and the index and
 * filter stay in memory for the table's life.  Data blocks are fetched per use: from the block
 * cache under a fixed 16-byte key (cache id ‖ block offset, both fixed64), or read from the file
 * into one buffer that, when the block is stored uncompressed, directly becomes the block after
 * verification.  A block read for a caller that does not fill the cache is owned by a pin and
 * freed when the pin is released.  Blocks put into the cache are always checksum-verified, so a
 * cached block is trustworthy whatever the reader that loaded it asked for.  With per-key
 * protection (st_table_set_protection) a block also gets its per-entry checksums right after that
 * verification, before it is inserted, and is charged for them.
 *
 * st_table_get allocates nothing on the heap unless it has to read a block (or a key in the
 * block outgrows the iterator's inline buffer): the filter is consulted first, then the index
 * and data block are searched with iterators on the stack. */
#include "table/table_reader.h"

#include <inttypes.h>
#include <string.h>

#include "codec/codec.h"
#include "strata.h"
#include "table/block.h"
#include "table/format.h"
#include "table/two_level_iter.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/range_del.h"
#include "util/status.h"

#define CACHE_KEY_LEN 16

struct st_table {
    const st_comparator *ucmp;
    const st_filter_policy *filter; /* NULL: no usable filter */
    st_cache *cache;
    char *fname;
    st_rfile *file;
    uint64_t file_size;
    uint64_t blocks_end; /* where the footer (and its mirror) begin */
    int checksum;
    st_crypt_file *crypt; /* NULL: plaintext */
    st_block_rctx rctx;   /* how blocks are read */
    st_block_handle meta_h, index_h, props_h, filter_h, rdel_h; /* metadata, for scrubbing */
    int has_props, has_filter_block, has_rdel;
    st_rdel_list *rdels; /* the range-deletion block, fragmented (NULL: none) */
    uint64_t cache_id;
    st_block index;
    st_block_contents filter_data;
    st_table_props props;
    int prot_bytes; /* per-key protection of cached data blocks; 0: off */
};

static const st_read_flags default_flags = {1, 1};

/* ---- open ---------------------------------------------------------------------------------- */

/* The table's file key, or the reason it cannot be read: an encrypted table needs keys, and a
 * table the DB says must be encrypted must be (no downgrade). */
static int setup_crypt(st_table *t, const st_footer *f, const st_table_read_options *opts)
{
    st_integrity *in = opts->integ;
    if (!f->encrypted) {
        if (st_integrity_must_encrypt(in, opts->file_number)) {
            return st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64 ": the "
                          "table is not encrypted but the database requires it (downgrade "
                          "refused)", t->fname, t->file_size);
        }
        return 0;
    }
    if (!in || !in->kp) {
        return st_err(STRATA_E_AUTH, "%s: the table is encrypted (key id %" PRIu32 ") but no key "
                      "provider was given", t->fname, f->key_id);
    }
    int rc = st_crypt_file_create(in->kp, f->key_id, in->db_id, opts->file_number,
                                  ST_CRYPT_FILE_TABLE, f->salt, &t->crypt);
    return rc ? st_err_context(rc, "%s", t->fname) : 0;
}

static int read_footer(st_table *t, const st_table_read_options *opts, st_footer *f)
{
    int healed = 0;
    int rc = st_footer_read(t->file, t->file_size, t->fname, f, &healed);
    if (!rc && healed) {
        st_integrity_report(opts->integ, opts->file_number, t->file_size, 1);
    }
    if (!rc) {
        t->checksum = f->checksum;
        t->blocks_end = t->file_size - st_footer_tail_len(f);
        rc = setup_crypt(t, f, opts);
    }
    if (!rc) {
        t->rctx.codec.checksum = f->checksum;
        t->rctx.codec.crypt = t->crypt;
        t->rctx.codec.parity = f->ecc.kind != ST_ECC_NONE;
        t->rctx.codec.fname = t->fname;
        t->rctx.ecc = f->ecc;
        t->rctx.blocks_end = t->blocks_end;
        t->rctx.integ = opts->integ;
        t->rctx.file_number = opts->file_number;
    }
    return rc;
}

static int bad_meta_handle(const st_table *t, const char *what)
{
    return st_err(STRATA_E_CORRUPTION, "%s: corrupted metaindex: bad %s block handle", t->fname,
                  what);
}

/* Decodes a metaindex value into a checked handle. */
static int meta_handle(const st_table *t, st_slice v, const char *what, st_block_handle *h)
{
    if (!st_handle_decode(&v, h) || !st_handle_within(*h, t->blocks_end, t->checksum)) {
        return bad_meta_handle(t, what);
    }
    return 0;
}

/* Finds the properties, (matching) filter and range-deletion handles; *has_* and t->has_rdel say
 * whether they exist. */
static int scan_metaindex(st_table *t, const st_block *meta, st_block_handle *props,
                          int *has_props, st_block_handle *filter, int *has_filter)
{
    const char *want = t->filter ? st_filter_name(t->filter) : NULL; /* "filter.<want>" */
    st_block_iter it;
    st_block_iter_init(&it, meta, NULL);
    int rc = 0;
    for (st_block_iter_seek_to_first(&it); !rc && st_block_iter_valid(&it);
         st_block_iter_next(&it)) {
        if (st_slice_eq(it.key, st_slice_cstr("strata.properties"))) {
            rc = meta_handle(t, it.value, "properties", props);
            *has_props = 1;
        } else if (st_slice_eq(it.key, st_slice_cstr("strata.range_del"))) {
            rc = meta_handle(t, it.value, "range deletion", &t->rdel_h);
            t->has_rdel = 1;
        } else if (want && it.key.size == 7 + strlen(want) &&
                   memcmp(it.key.data, "filter.", 7) == 0 &&
                   memcmp(it.key.data + 7, want, it.key.size - 7) == 0) {
            rc = meta_handle(t, it.value, "filter", filter);
            *has_filter = 1;
        }
    }
    rc = rc ? rc : it.status;
    st_block_iter_release(&it);
    return rc;
}

/* Reads the properties; a table written with a compression this build lacks is refused here,
 * at open, rather than at its first data block. */
static int read_props(st_table *t, st_block_handle h)
{
    st_block_contents c;
    int rc = st_read_block_ctx(t->file, &t->rctx, h, ST_BLOCK_PROPS, 1, 0, &c);
    if (!rc) {
        rc = st_table_props_decode(c.data, t->fname, h.offset, &t->props);
        st_free(c.heap);
    }
    int comp = t->props.compression > 255 ? 255 : (int)t->props.compression;
    if (!rc && !st_compression_supported(comp)) {
        rc = st_err(STRATA_E_NOTSUP, "%s: table uses %s compression (type %d), which this build "
                    "does not support", t->fname, st_compression_name(comp), comp);
    }
    return rc;
}

/* Loads the range-deletion block: entries (start, seq, RANGE_DEL) -> end, re-fragmented, so a
 * damaged or hostile block can never yield an unsorted list. */
static int read_range_dels(st_table *t)
{
    st_block_contents c;
    st_block b;
    int rc = st_read_block_ctx(t->file, &t->rctx, t->rdel_h, ST_BLOCK_RANGE_DEL, 1, 0, &c);
    if (rc || (rc = st_block_init(&b, c.data, c.heap, t->fname, t->rdel_h.offset))) {
        return rc;
    }
    st_rdel_builder rb;
    st_rdel_builder_init(&rb);
    st_block_iter it;
    st_block_iter_init(&it, &b, t->ucmp);
    for (st_block_iter_seek_to_first(&it); !rc && st_block_iter_valid(&it);
         st_block_iter_next(&it)) {
        st_slice ukey;
        uint64_t seq;
        int type;
        if (st_ikey_parse(it.key, &ukey, &seq, &type) || type != ST_TYPE_RANGE_DEL) {
            rc = st_err(STRATA_E_CORRUPTION, "%s: corrupted range-deletion block at offset %"
                        PRIu64 ": bad entry", t->fname, t->rdel_h.offset);
        } else {
            rc = st_rdel_builder_add(&rb, ukey, it.value, seq);
        }
    }
    rc = rc ? rc : it.status;
    st_block_iter_release(&it);
    rc = rc ? rc : st_rdel_builder_finish(&rb, t->ucmp, &t->rdels);
    st_rdel_builder_free(&rb);
    st_block_free(&b);
    return rc;
}

static int read_meta(st_table *t, st_block_handle mh)
{
    st_block_contents c;
    st_block meta;
    st_block_handle ph, fh;
    int has_props = 0, has_filter = 0;
    int rc = st_read_block_ctx(t->file, &t->rctx, mh, ST_BLOCK_META, 1, 0, &c);
    if (!rc && !(rc = st_block_init(&meta, c.data, c.heap, t->fname, mh.offset))) {
        rc = scan_metaindex(t, &meta, &ph, &has_props, &fh, &has_filter);
        st_block_free(&meta);
    }
    if (!rc && has_props) {
        rc = read_props(t, ph);
        t->props_h = ph;
        t->has_props = 1;
    }
    if (!rc && has_filter) {
        t->filter_h = fh;
        t->has_filter_block = 1;
    }
    if (!rc && has_filter) {
        rc = st_read_block_ctx(t->file, &t->rctx, fh, ST_BLOCK_FILTER, 1, 1, &t->filter_data);
    }
    if (!has_filter) {
        t->filter = NULL; /* no filter of this policy: every lookup reads the data */
    }
    if (!rc && t->has_rdel) {
        rc = read_range_dels(t);
    }
    return rc;
}

static int read_index(st_table *t, st_block_handle h)
{
    st_block_contents c;
    int rc = st_read_block_ctx(t->file, &t->rctx, h, ST_BLOCK_INDEX, 1, 0, &c);
    return rc ? rc : st_block_init(&t->index, c.data, c.heap, t->fname, h.offset);
}

int st_table_open(const st_table_read_options *opts, st_rfile *file, uint64_t file_size,
                  st_table **out)
{
    st_table *t = st_calloc(1, sizeof(*t));
    if (!t || !(t->fname = st_strdup(opts->fname ? opts->fname : "(table)"))) {
        st_free(t);
        return st_err(STRATA_E_NOMEM, "no memory to open a table");
    }
    t->ucmp = opts->ucmp ? opts->ucmp : st_comparator_bytewise();
    t->filter = opts->filter;
    t->cache = opts->block_cache;
    t->file = file;
    t->file_size = file_size;
    st_footer f;
    int rc = read_footer(t, opts, &f);
    if (!rc) {
        t->meta_h = f.metaindex;
        t->index_h = f.index;
        rc = read_meta(t, f.metaindex);
    }
    if (!rc) {
        rc = read_index(t, f.index);
    }
    if (!rc && t->cache) {
        t->cache_id = st_cache_new_id(t->cache);
    }
    if (!rc && opts->paranoid) {
        rc = st_table_verify(t);
    }
    if (rc) {
        t->file = NULL; /* the caller keeps the file */
        st_table_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

void st_table_close(st_table *t)
{
    if (!t) {
        return;
    }
    st_block_free(&t->index);
    st_rdel_list_unref(t->rdels);
    st_free(t->filter_data.heap);
    st_crypt_file_destroy(t->crypt);
    st_rfile_close(t->file);
    st_free(t->fname);
    st_free(t);
}

/* ---- data blocks --------------------------------------------------------------------------- */

static void release_cached(void *cache, void *handle)
{
    st_cache_release(cache, handle);
}

static void free_block(void *block, void *unused)
{
    (void)unused;
    st_block_free(block);
    st_free(block);
}

static void cache_deleter(st_slice key, void *value)
{
    (void)key;
    free_block(value, NULL);
}

static int decode_data_handle(const st_table *t, st_slice v, st_block_handle *h)
{
    if (!st_handle_decode(&v, h) || !st_handle_within(*h, t->blocks_end, t->checksum)) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted index block at offset %" PRIu64
                      ": bad data block handle", t->fname, t->index.offset);
    }
    return 0;
}

/* Reads and decodes the data block at h into a new st_block. */
static int read_data_block(st_table *t, st_block_handle h, int verify, st_block **out)
{
    st_block *b = st_malloc(sizeof(*b));
    if (!b) {
        return st_err(STRATA_E_NOMEM, "%s: no memory for a block", t->fname);
    }
    st_block_contents c;
    int rc = st_read_block_ctx(t->file, &t->rctx, h, ST_BLOCK_DATA, verify, 0, &c);
    if (!rc) {
        rc = st_block_init(b, c.data, c.heap, t->fname, h.offset);
    }
    if (rc) {
        st_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

/* The data block at h, pinned: from the cache, or read (and cached if rf->fill_cache). */
static int load_block(st_table *t, const st_read_flags *rf, st_block_handle h,
                      const st_block **out, st_pin *pin)
{
    char key[CACHE_KEY_LEN] = {0};
    st_cache_handle *ch = NULL;
    if (t->cache) {
        st_encode_fixed64(key, t->cache_id);
        st_encode_fixed64(key + 8, h.offset);
        ch = st_cache_lookup(t->cache, st_slice_make(key, CACHE_KEY_LEN));
    }
    if (ch) {
        *out = st_cache_value(ch);
        *pin = (st_pin){release_cached, t->cache, ch};
        return 0;
    }
    int fill = t->cache && rf->fill_cache;
    st_block *b = NULL;
    int rc = read_data_block(t, h, rf->verify_checksums || fill, &b);
    if (!rc && fill && t->prot_bytes) {
        rc = st_block_protect(b, t->ucmp, t->prot_bytes); /* just verified: protect from here */
        if (rc) {
            free_block(b, NULL);
        }
    }
    if (rc) {
        return rc;
    }
    if (fill) {
        ch = st_cache_insert(t->cache, st_slice_make(key, CACHE_KEY_LEN), b,
                             b->size + st_block_prot_size(b), cache_deleter);
    }
    *out = b;
    *pin = ch ? (st_pin){release_cached, t->cache, ch} : (st_pin){free_block, b, NULL};
    return 0;
}

/* ---- point lookup -------------------------------------------------------------------------- */

typedef struct get_ctx {
    st_slice ikey;
    int (*found)(void *ctx, st_slice key, st_slice value, st_pin *pin);
    void *ctx;
} get_ctx;

/* Searches the data block named by index value v.  Returns 1 after calling found, 0 if every
 * key in the block is < ikey, or an error. */
static int get_in_block(st_table *t, const st_read_flags *rf, st_slice v, const get_ctx *g)
{
    st_block_handle h;
    const st_block *b;
    st_pin pin;
    int rc = decode_data_handle(t, v, &h);
    if (rc || (rc = load_block(t, rf, h, &b, &pin))) {
        return rc;
    }
    st_block_iter it;
    st_block_iter_init(&it, b, t->ucmp);
    st_block_iter_seek(&it, g->ikey);
    if (st_block_iter_valid(&it)) {
        rc = g->found(g->ctx, it.key, it.value, &pin);
        rc = rc ? rc : 1;
    } else {
        rc = it.status;
    }
    st_block_iter_release(&it);
    st_pin_release(&pin); /* no-op if found took it */
    return rc;
}

int st_table_get(st_table *t, const st_read_flags *rf, st_slice ikey,
                 int (*found)(void *ctx, st_slice key, st_slice value, st_pin *pin), void *ctx)
{
    if (ikey.size < ST_IKEY_TRAILER) {
        return st_err(STRATA_E_INVALID, "lookup key of %zu bytes is not an internal key",
                      ikey.size);
    }
    if (t->filter && !st_filter_may_match(t->filter, t->filter_data.data, st_ikey_user(ikey))) {
        return 0;
    }
    rf = rf ? rf : &default_flags;
    get_ctx g = {ikey, found, ctx};
    st_block_iter ix;
    st_block_iter_init(&ix, &t->index, t->ucmp);
    st_block_iter_seek(&ix, ikey);
    int rc = 0;
    /* The next block is only needed when ikey falls between a block's last key and its
     * separator; then the first entry >= ikey starts the next block. */
    while (rc == 0 && st_block_iter_valid(&ix)) {
        rc = get_in_block(t, rf, ix.value, &g);
        if (rc == 0) {
            st_block_iter_next(&ix);
        }
    }
    if (rc == 0) {
        rc = ix.status;
    }
    st_block_iter_release(&ix);
    return rc < 0 ? rc : 0;
}

/* ---- iteration ----------------------------------------------------------------------------- */

typedef struct iter_arg {
    st_table *t;
    st_read_flags rf;
} iter_arg;

static int iter_load(void *arg, st_slice v, const st_block **block, st_pin *pin)
{
    iter_arg *a = arg;
    st_block_handle h;
    int rc = decode_data_handle(a->t, v, &h);
    return rc ? rc : load_block(a->t, &a->rf, h, block, pin);
}

static void free_arg(void *a, void *unused)
{
    (void)unused;
    st_free(a);
}

st_iter *st_table_iter(st_table *t, const st_read_flags *rf)
{
    iter_arg *a = st_malloc(sizeof(*a));
    st_iter *index = a ? st_block_iter_new(&t->index, t->ucmp) : NULL;
    st_iter *it = index ? st_two_level_iter_new(index, t->ucmp, iter_load, a) : NULL;
    if (!it || st_iter_add_cleanup(it, free_arg, a, NULL)) {
        st_iter_destroy(it);
        st_free(a);
        return NULL;
    }
    a->t = t;
    a->rf = rf ? *rf : default_flags;
    return it;
}

/* ---- verification ------------------------------------------------------------------------- */

typedef struct verify_state {
    st_buf prev;     /* last key seen */
    st_buf prev_sep; /* separator of the previous block */
    int have_prev, have_sep;
    uint64_t entries;
} verify_state;

static int verify_fail(const st_table *t, uint64_t off, const char *what)
{
    return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64 ": %s",
                  t->fname, off, what);
}

/* Checks one decoded key: order, bounds from the index, and the filter. */
static int verify_key(st_table *t, verify_state *v, st_slice key, st_slice sep, uint64_t off)
{
    if (v->have_prev && st_ikey_cmp(t->ucmp, st_buf_slice(&v->prev), key) >= 0) {
        return verify_fail(t, off, "keys out of order");
    }
    if (st_ikey_cmp(t->ucmp, key, sep) > 0 ||
        (v->have_sep && st_ikey_cmp(t->ucmp, key, st_buf_slice(&v->prev_sep)) <= 0)) {
        return verify_fail(t, off, "key outside the range its index entry gives");
    }
    if (t->filter && !st_filter_may_match(t->filter, t->filter_data.data, st_ikey_user(key))) {
        return verify_fail(t, off, "filter does not match a key of the table");
    }
    v->have_prev = 1;
    v->entries++;
    return st_buf_assign(&v->prev, key.data, key.size);
}

static int verify_block(st_table *t, verify_state *v, st_slice hv, st_slice sep)
{
    st_block_handle h;
    st_block *b = NULL;
    int rc = decode_data_handle(t, hv, &h);
    if (rc || (rc = read_data_block(t, h, 1, &b))) {
        return rc;
    }
    st_block_iter it;
    st_block_iter_init(&it, b, t->ucmp);
    for (st_block_iter_seek_to_first(&it); !rc && st_block_iter_valid(&it);
         st_block_iter_next(&it)) {
        rc = verify_key(t, v, it.key, sep, h.offset);
    }
    rc = rc ? rc : it.status;
    st_block_iter_release(&it);
    free_block(b, NULL);
    return rc;
}

int st_table_verify(st_table *t)
{
    verify_state v = {ST_BUF_INIT, ST_BUF_INIT, 0, 0, 0};
    st_block_iter ix;
    st_block_iter_init(&ix, &t->index, t->ucmp);
    int rc = 0;
    for (st_block_iter_seek_to_first(&ix); !rc && st_block_iter_valid(&ix);
         st_block_iter_next(&ix)) {
        if (v.have_sep && st_ikey_cmp(t->ucmp, st_buf_slice(&v.prev_sep), ix.key) >= 0) {
            rc = verify_fail(t, t->index.offset, "index keys out of order");
            break;
        }
        rc = verify_block(t, &v, ix.value, ix.key);
        if (!rc) {
            rc = st_buf_assign(&v.prev_sep, ix.key.data, ix.key.size);
        }
        v.have_sep = 1;
    }
    rc = rc ? rc : ix.status;
    if (!rc && t->props.format_version && v.entries != t->props.num_entries) {
        rc = st_err(STRATA_E_CORRUPTION, "%s: table holds %" PRIu64 " entries, its properties "
                    "say %" PRIu64, t->fname, v.entries, t->props.num_entries);
    }
    st_block_iter_release(&ix);
    st_buf_free(&v.prev);
    st_buf_free(&v.prev_sep);
    return rc;
}

/* ---- scrub ---------------------------------------------------------------------------------- */

typedef struct scrub_state {
    st_table *t;
    int (*report)(void *arg, uint64_t offset, int status);
    void *arg;
    uint64_t bytes;
} scrub_state;

/* Whether the parity region after h still matches the block (a flipped bit there harms no read,
 * but must be rewritten before the block needs it). */
static int parity_intact(st_table *t, st_block_handle h)
{
    size_t plen = st_ecc_parity_len(&t->rctx.ecc, (size_t)h.size);
    char *mem = st_malloc((size_t)h.size + plen + 1);
    st_slice got;
    int ok = 1;
    if (mem && st_rfile_read(t->file, h.offset, (size_t)h.size + plen, mem, &got) == 0 &&
        got.size == h.size + plen) {
        ok = st_ecc_parity_ok(&t->rctx.ecc, got.data, (size_t)h.size, got.data + h.size) != 0;
    }
    st_free(mem);
    return ok;
}

static int scrub_block(scrub_state *s, st_block_handle h, int kind)
{
    st_table *t = s->t;
    st_block_contents c;
    int rc = st_read_block_ctx(t->file, &t->rctx, h, kind, 1, kind == ST_BLOCK_FILTER, &c);
    int status = rc;
    if (!rc) {
        st_free(c.heap);
        status = c.healed;
        if (!status && t->rctx.ecc.kind != ST_ECC_NONE && !parity_intact(t, h)) {
            status = 1;
            st_integrity_report(t->rctx.integ, t->rctx.file_number, h.offset, 1);
        }
    }
    s->bytes += h.size;
    return s->report(s->arg, h.offset, status);
}

/* Both footer copies of a table with parity must be intact. */
static int scrub_footer(scrub_state *s)
{
    st_table *t = s->t;
    size_t tail = (size_t)(t->file_size - t->blocks_end);
    if (tail < 2 * ST_FOOTER3_LEN) {
        return 0;
    }
    char buf[ST_FOOTER_TAIL_MAX];
    st_slice got;
    int rc = st_rfile_read(t->file, t->blocks_end, tail, buf, &got);
    int status = rc ? rc : (got.size == tail && memcmp(got.data, got.data + ST_FOOTER3_LEN,
                                                       ST_FOOTER3_LEN) == 0) ? 0 : 1;
    if (status == 1) {
        st_integrity_report(t->rctx.integ, t->rctx.file_number, t->blocks_end, 1);
    }
    return s->report(s->arg, t->blocks_end, status);
}

int st_table_scrub(st_table *t, int (*report)(void *arg, uint64_t offset, int status), void *arg,
                   uint64_t *bytes)
{
    scrub_state s = {t, report, arg, 0};
    int rc = scrub_block(&s, t->meta_h, ST_BLOCK_META);
    rc = rc ? rc : scrub_block(&s, t->index_h, ST_BLOCK_INDEX);
    rc = rc || !t->has_props ? rc : scrub_block(&s, t->props_h, ST_BLOCK_PROPS);
    rc = rc || !t->has_filter_block ? rc : scrub_block(&s, t->filter_h, ST_BLOCK_FILTER);
    rc = rc || !t->has_rdel ? rc : scrub_block(&s, t->rdel_h, ST_BLOCK_RANGE_DEL);
    st_block_iter ix;
    st_block_iter_init(&ix, &t->index, t->ucmp);
    for (st_block_iter_seek_to_first(&ix); !rc && st_block_iter_valid(&ix);
         st_block_iter_next(&ix)) {
        st_block_handle h;
        rc = decode_data_handle(t, ix.value, &h);
        rc = rc ? s.report(s.arg, t->index.offset, rc) : scrub_block(&s, h, ST_BLOCK_DATA);
    }
    if (!rc && ix.status) {
        rc = s.report(s.arg, t->index.offset, ix.status);
    }
    st_block_iter_release(&ix);
    rc = rc ? rc : scrub_footer(&s);
    *bytes += s.bytes;
    return rc;
}

/* ---- misc ---------------------------------------------------------------------------------- */

uint64_t st_table_approx_offset(st_table *t, st_slice ikey)
{
    st_block_iter ix;
    st_block_iter_init(&ix, &t->index, t->ucmp);
    st_block_iter_seek(&ix, ikey);
    uint64_t off = t->file_size;
    st_block_handle h;
    if (st_block_iter_valid(&ix) && st_handle_decode(&ix.value, &h)) {
        off = h.offset;
    }
    st_block_iter_release(&ix);
    return off;
}

void st_table_set_protection(st_table *t, int n)
{
    t->prot_bytes = n;
}

const st_table_props *st_table_get_props(const st_table *t)
{
    return &t->props;
}

size_t st_table_memory_usage(const st_table *t)
{
    return sizeof(*t) + strlen(t->fname) + 1 + t->index.size + t->filter_data.data.size +
           st_rdel_list_memory(t->rdels);
}

const st_rdel_list *st_table_range_dels(const st_table *t)
{
    return t->rdels;
}
