/* table_builder.c — writes a table (table_builder.h; layout in docs/FORMAT.md "Table").
 *
 * Order in the file: data blocks, filter block, properties block, metaindex block, index block,
 * footer.  A data block is cut once its estimated size reaches block_size; its index entry is
 * added only when the next key is known, so the separator can be shortened to lie between the
 * block's last key and the next block's first key (st_ikey_shorten), and the last block's with
 * st_ikey_successor.  The index block is encoded before the properties block so the properties
 * record its exact stored size.  The first error is sticky: later calls return it.
 *
 * Per-key protection (st_table_builder_set_protection): each entry's checksum is taken from the
 * key and value as they are fed in, and a data block is decoded and checked against them after it
 * is finished and before it is compressed and checksummed, so a bit that flips in the builder's
 * buffers is an error rather than a table whose block checksum vouches for wrong data. */
#include "table/table_builder.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "codec/codec.h"
#include "strata.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "table/format.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/prot.h"
#include "util/status.h"

#define DEFAULT_BLOCK_SIZE 4096
#define DEFAULT_RESTART_INTERVAL 16
#define MAX_BLOCK_SIZE ((size_t)1 << 30)

struct st_table_builder {
    st_table_options o;
    st_wfile *file;
    st_codec *codec;
    st_buf scratch;            /* compressed block bodies */
    st_block_builder data;
    st_block_builder index;
    st_block_builder rdel;     /* range tombstones, in internal-key order */
    st_buf rdel_last;          /* the last tombstone key added (order check) */
    st_filter_builder *filter; /* NULL: no filter */
    st_buf last_key;
    st_block_handle pending;   /* last data block written, awaiting its index entry */
    int pending_index;
    uint64_t offset;
    st_table_props props;
    st_crypt_file *crypt;      /* NULL: plaintext */
    st_footer footer;          /* version, encryption and parity fields */
    int status;
    int finished;
    const char *prot_where; /* per-key protection on: names the stage in errors; NULL: off */
    st_buf prot_pi;         /* ... checksums (uint64_t) of the entries of the current block */
};

static int check_options(st_table_options *o)
{
    if (!o->ucmp) {
        return st_err(STRATA_E_INVALID, "table builder needs a comparator");
    }
    if (o->block_size == 0) {
        o->block_size = DEFAULT_BLOCK_SIZE;
    }
    if (o->restart_interval == 0) {
        o->restart_interval = DEFAULT_RESTART_INTERVAL;
    }
    if (o->block_size > MAX_BLOCK_SIZE || o->restart_interval < 0) {
        return st_err(STRATA_E_INVALID, "bad table options: block_size %zu, restart_interval "
                      "%d", o->block_size, o->restart_interval);
    }
    return 0;
}

static void init_props(st_table_builder *b)
{
    st_table_props *p = &b->props;
    p->format_version = (uint64_t)b->footer.format_version;
    p->compression = (uint64_t)b->o.compression;
    p->checksum = (uint64_t)b->o.checksum;
    p->creation_time = b->o.creation_time;
    if (b->o.filter) {
        snprintf(p->filter_name, sizeof(p->filter_name), "%s", st_filter_name(b->o.filter));
    }
    snprintf(p->comparator_name, sizeof(p->comparator_name), "%s",
             st_comparator_name(b->o.ucmp));
}

/* A new random salt and the current key for an encrypted table. */
static int setup_crypt(st_table_builder *b)
{
    st_integrity *in = b->o.integ;
    st_footer *f = &b->footer;
    int rc = st_key_provider_current(in->kp, &f->key_id);
    rc = rc ? rc : st_crypt_random(f->salt, sizeof(f->salt));
    if (!rc) {
        memcpy(f->db_id, in->db_id, ST_DB_ID_LEN);
        rc = st_crypt_file_create(in->kp, f->key_id, in->db_id, b->o.file_number,
                                  ST_CRYPT_FILE_TABLE, f->salt, &b->crypt);
    }
    if (!rc) {
        rc = st_crypt_file_exclusive(b->crypt); /* the builder is single-threaded */
    }
    f->encrypted = rc == 0;
    return rc;
}

/* Encryption and parity from the integrity settings: a table using either is format 3. */
static int setup_transforms(st_table_builder *b)
{
    st_integrity *in = b->o.integ;
    st_footer *f = &b->footer;
    f->format_version = ST_TABLE_FORMAT_VERSION;
    f->ecc.kind = ST_ECC_NONE;
    if (!in) {
        return 0;
    }
    int rc = in->encrypt ? setup_crypt(b) : 0;
    if (!rc && in->ecc.kind != ST_ECC_NONE) {
        f->ecc = in->ecc;
    }
    if (!rc && (f->encrypted || f->ecc.kind != ST_ECC_NONE)) {
        f->format_version = ST_TABLE_FORMAT_VERSION_X;
        rc = st_codec_set_transforms(b->codec, b->crypt, &f->ecc);
    }
    return rc;
}

int st_table_builder_create(const st_table_options *opts, st_wfile *file, st_table_builder **out)
{
    st_table_builder *b = st_calloc(1, sizeof(*b));
    if (!b) {
        return STRATA_E_NOMEM;
    }
    b->o = *opts;
    b->file = file;
    st_buf_init(&b->scratch);
    st_buf_init(&b->last_key);
    int rc = check_options(&b->o);
    st_block_builder_init(&b->data, b->o.restart_interval > 0 ? b->o.restart_interval : 1);
    st_block_builder_init(&b->index, 1);
    st_block_builder_init(&b->rdel, 1);
    if (!rc) {
        rc = st_codec_create(b->o.compression, b->o.zstd_level, b->o.checksum, &b->codec);
    }
    if (!rc && b->o.filter && !(b->filter = st_filter_builder_create(b->o.filter))) {
        rc = STRATA_E_NOMEM;
    }
    if (!rc) {
        rc = setup_transforms(b);
    }
    if (rc) {
        st_table_builder_destroy(b);
        return rc;
    }
    init_props(b);
    b->props.encrypted = (uint64_t)b->footer.encrypted;
    b->props.key_id = b->footer.key_id;
    b->props.ecc = (uint64_t)b->footer.ecc.kind;
    b->props.ecc_data_shards = (uint64_t)b->footer.ecc.k;
    b->props.ecc_parity_shards = (uint64_t)b->footer.ecc.m;
    *out = b;
    return 0;
}

void st_table_builder_destroy(st_table_builder *b)
{
    if (!b) {
        return;
    }
    st_codec_destroy(b->codec);
    st_crypt_file_destroy(b->crypt);
    st_buf_free(&b->scratch);
    st_block_builder_free(&b->data);
    st_block_builder_free(&b->index);
    st_block_builder_free(&b->rdel);
    st_buf_free(&b->rdel_last);
    st_filter_builder_destroy(b->filter);
    st_buf_free(&b->last_key);
    st_buf_free(&b->prot_pi);
    st_free(b);
}

void st_table_builder_set_protection(st_table_builder *b, const char *where)
{
    b->prot_where = where;
}

uint64_t st_table_builder_num_entries(const st_table_builder *b)
{
    return b->props.num_entries;
}

uint64_t st_table_builder_file_size(const st_table_builder *b)
{
    return b->offset;
}

const st_table_props *st_table_builder_props(const st_table_builder *b)
{
    return &b->props;
}

static int fail(st_table_builder *b, int rc)
{
    if (rc && !b->status) {
        b->status = rc;
    }
    return rc;
}

static int append(st_table_builder *b, const void *p, size_t n)
{
    int rc = st_wfile_append(b->file, p, n);
    if (!rc) {
        b->offset += n;
    }
    return rc;
}

/* Seals an encoded block of kind at the current offset and writes body ‖ trailer ‖ parity;
 * returns its handle (the parity is not part of it). */
static int write_encoded(st_table_builder *b, st_codec_out *e, int kind, st_block_handle *h)
{
    int rc = st_codec_seal(b->codec, e, b->offset, kind);
    if (rc) {
        return rc;
    }
    h->offset = b->offset;
    h->size = e->body.size + e->trailer_len;
    rc = append(b, e->body.data, e->body.size);
    rc = rc ? rc : append(b, e->trailer, e->trailer_len);
    return rc || !e->parity.size ? rc : append(b, e->parity.data, e->parity.size);
}

static int write_block(st_table_builder *b, st_slice raw, int try_compress, int kind,
                       st_block_handle *h)
{
    st_codec_out e;
    int rc = st_codec_encode(b->codec, raw, try_compress, &b->scratch, &e);
    return rc ? rc : write_encoded(b, &e, kind, h);
}

/* Index entry for the pending block; next is the following block's first key, or NULL at the
 * end of the table. */
static int add_index_entry(st_table_builder *b, const st_slice *next)
{
    int rc = next ? st_ikey_shorten(b->o.ucmp, &b->last_key, *next)
                  : st_ikey_successor(b->o.ucmp, &b->last_key);
    char hv[ST_HANDLE_MAX_LEN];
    char *end = st_handle_encode(hv, b->pending);
    if (!rc) {
        rc = st_block_builder_add(&b->index, st_buf_slice(&b->last_key),
                                  st_slice_make(hv, (size_t)(end - hv)));
    }
    if (!rc) {
        b->pending_index = 0;
    }
    return rc;
}

static int flush_data(st_table_builder *b)
{
    if (st_block_builder_empty(&b->data)) {
        return 0;
    }
    st_slice raw;
    int rc = st_block_builder_finish(&b->data, &raw);
    if (!rc && b->prot_where) {
        rc = st_block_check_entries(raw, b->o.ucmp, (const uint64_t *)(const void *)b->prot_pi.data,
                                    b->prot_pi.len / sizeof(uint64_t), b->prot_where);
    }
    if (!rc) {
        rc = write_block(b, raw, 1, ST_BLOCK_DATA, &b->pending);
    }
    if (!rc) {
        st_block_builder_reset(&b->data);
        st_buf_clear(&b->prot_pi);
        b->pending_index = 1;
        b->props.num_data_blocks++;
        b->props.data_size += b->pending.size;
    }
    return rc;
}

static void count_entry(st_table_props *p, st_slice ikey, size_t vlen)
{
    uint64_t trailer = st_ikey_trailer(ikey), seq = trailer >> 8;
    if (p->num_entries == 0 || seq < p->smallest_seq) {
        p->smallest_seq = seq;
    }
    if (seq > p->largest_seq) {
        p->largest_seq = seq;
    }
    p->num_deletions += st_type_is_deletion((int)(trailer & 0xff));
    p->num_entries++;
    p->raw_key_size += ikey.size;
    p->raw_value_size += vlen;
}

int st_table_builder_add(st_table_builder *b, st_slice ikey, st_slice value)
{
    if (b->status) {
        return b->status;
    }
    assert(!b->finished);
    if (ikey.size < ST_IKEY_TRAILER) {
        return st_err(STRATA_E_INVALID, "table key of %zu bytes is not an internal key",
                      ikey.size);
    }
    /* Keys can come from disk (compaction of a damaged table whose blocks pass their checksums
     * in the wrong order): a checked error, never an assert or an out-of-order table. */
    if (b->props.num_entries > 0 && st_ikey_cmp(b->o.ucmp, st_buf_slice(&b->last_key), ikey) >= 0) {
        return st_err(STRATA_E_CORRUPTION,
                      "keys out of order while writing a table (an input table is corrupted)");
    }
    int rc = b->pending_index ? add_index_entry(b, &ikey) : 0;
    if (!rc && b->prot_where) {
        uint64_t pi = st_prot_ikv(ikey, value);
        rc = st_buf_append(&b->prot_pi, &pi, sizeof(pi));
    }
    if (!rc && b->filter) {
        rc = st_filter_builder_add(b->filter, st_ikey_user(ikey));
    }
    if (!rc) {
        rc = st_buf_assign(&b->last_key, ikey.data, ikey.size);
    }
    if (!rc) {
        rc = st_block_builder_add(&b->data, ikey, value);
    }
    if (rc) {
        return fail(b, rc);
    }
    count_entry(&b->props, ikey, value.size);
    if (st_block_builder_estimate(&b->data) >= b->o.block_size) {
        rc = fail(b, flush_data(b));
    }
    return rc;
}

int st_table_builder_add_range_del(st_table_builder *b, st_slice start, st_slice end,
                                   uint64_t seq)
{
    if (b->status) {
        return b->status;
    }
    st_buf key = ST_BUF_INIT;
    int rc = st_ikey_append(&key, start, seq, ST_TYPE_RANGE_DEL);
    if (!rc && b->props.num_range_deletions > 0 &&
        st_ikey_cmp(b->o.ucmp, st_buf_slice(&b->rdel_last), st_buf_slice(&key)) >= 0) {
        rc = st_err(STRATA_E_CORRUPTION, "range tombstones out of order while writing a table");
    }
    rc = rc ? rc : st_buf_assign(&b->rdel_last, key.data, key.len);
    rc = rc ? rc : st_block_builder_add(&b->rdel, st_buf_slice(&key), end);
    st_buf_free(&key);
    if (rc) {
        return fail(b, rc);
    }
    st_table_props *p = &b->props;
    if ((p->num_entries == 0 && p->num_range_deletions == 0) || seq < p->smallest_seq) {
        p->smallest_seq = seq;
    }
    if (seq > p->largest_seq) {
        p->largest_seq = seq;
    }
    p->num_range_deletions++;
    return 0;
}

uint64_t st_table_builder_num_range_dels(const st_table_builder *b)
{
    return b->props.num_range_deletions;
}

static int write_range_dels(st_table_builder *b, st_block_handle *h)
{
    st_slice raw;
    int rc = st_block_builder_finish(&b->rdel, &raw);
    return rc ? rc : write_block(b, raw, 1, ST_BLOCK_RANGE_DEL, h);
}

static int write_filter(st_table_builder *b, st_block_handle *h)
{
    st_buf f = ST_BUF_INIT;
    int rc = st_filter_builder_finish(b->filter, &f);
    if (!rc) {
        rc = write_block(b, st_buf_slice(&f), 0, ST_BLOCK_FILTER, h); /* bits do not compress */
    }
    if (!rc) {
        b->props.filter_size = h->size;
    }
    st_buf_free(&f);
    return rc;
}

static int write_props(st_table_builder *b, st_block_handle *h)
{
    st_buf p = ST_BUF_INIT;
    int rc = st_table_props_encode(&b->props, &p);
    if (!rc) {
        rc = write_block(b, st_buf_slice(&p), 1, ST_BLOCK_PROPS, h);
    }
    st_buf_free(&p);
    return rc;
}

/* Adds name -> encoded handle to a metaindex block. */
static int meta_entry(st_block_builder *mb, const char *prefix, const char *name,
                      st_block_handle h)
{
    st_buf key = ST_BUF_INIT, hv = ST_BUF_INIT;
    int rc = st_buf_append(&key, prefix, strlen(prefix));
    if (!rc) {
        rc = st_buf_append(&key, name, strlen(name));
    }
    if (!rc) {
        rc = st_handle_append(&hv, h);
    }
    if (!rc) {
        rc = st_block_builder_add(mb, st_buf_slice(&key), st_buf_slice(&hv));
    }
    st_buf_free(&key);
    st_buf_free(&hv);
    return rc;
}

static int write_metaindex(st_table_builder *b, const st_block_handle *filter,
                           st_block_handle props, const st_block_handle *rdel,
                           st_block_handle *h)
{
    st_block_builder mb;
    st_block_builder_init(&mb, 1);
    st_slice raw;
    int rc = 0;
    if (filter) { /* "filter.<name>" sorts before "strata.properties" */
        rc = meta_entry(&mb, "filter.", st_filter_name(b->o.filter), *filter);
    }
    if (!rc) {
        rc = meta_entry(&mb, "strata.", "properties", props);
    }
    if (!rc && rdel) { /* "strata.range_del" sorts after "strata.properties" */
        rc = meta_entry(&mb, "strata.", "range_del", *rdel);
    }
    if (!rc) {
        rc = st_block_builder_finish(&mb, &raw);
    }
    if (!rc) {
        rc = write_block(b, raw, 1, ST_BLOCK_META, h);
    }
    st_block_builder_free(&mb);
    return rc;
}

static int write_footer(st_table_builder *b, st_block_handle meta, st_block_handle index)
{
    st_footer *f = &b->footer;
    f->metaindex = meta;
    f->index = index;
    f->checksum = b->o.checksum;
    char buf[ST_FOOTER_TAIL_MAX];
    st_footer_encode(f, buf);
    return append(b, buf, st_footer_tail_len(f));
}

/* Everything after the data and filter blocks.  The index is encoded first (into its own
 * scratch buffer) so the properties can record its stored size. */
static int write_tail(st_table_builder *b, const st_block_handle *filter)
{
    st_slice raw;
    st_buf iscratch = ST_BUF_INIT;
    st_codec_out ie;
    st_block_handle props, meta, index, rdel;
    int has_rdel = b->props.num_range_deletions > 0;
    int rc = b->pending_index ? add_index_entry(b, NULL) : 0;
    if (!rc && has_rdel) {
        rc = write_range_dels(b, &rdel);
    }
    if (!rc) {
        rc = st_block_builder_finish(&b->index, &raw);
    }
    if (!rc) {
        rc = st_codec_encode(b->codec, raw, 1, &iscratch, &ie);
    }
    if (!rc) {
        b->props.index_size = st_codec_stored_len(b->codec, &ie);
        rc = write_props(b, &props);
    }
    if (!rc) {
        rc = write_metaindex(b, filter, props, has_rdel ? &rdel : NULL, &meta);
    }
    if (!rc) {
        rc = write_encoded(b, &ie, ST_BLOCK_INDEX, &index);
    }
    if (!rc) {
        rc = write_footer(b, meta, index);
    }
    st_buf_free(&iscratch);
    return rc;
}

int st_table_builder_finish(st_table_builder *b)
{
    if (b->status) {
        return b->status;
    }
    assert(!b->finished);
    b->finished = 1;
    st_block_handle fh;
    int rc = flush_data(b);
    if (!rc && b->filter) {
        rc = write_filter(b, &fh);
    }
    if (!rc) {
        rc = write_tail(b, b->filter ? &fh : NULL);
    }
    return fail(b, rc);
}
