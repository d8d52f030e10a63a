/* table_props.c — encode/decode of the properties block (table_props.h; names and encodings in
 * docs/FORMAT.md "Properties block").  The block is ordinary block contents with bytewise-ordered
 * names, so it is read with the same validated block iterator as every other block. */
#include "table/table_props.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "strata.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/status.h"

enum { PROP_U64, PROP_STR };

typedef struct prop_desc {
    const char *name;
    size_t off;
    int kind;
    size_t cap; /* PROP_STR: size of the char array */
} prop_desc;

#define U64(n, f) {n, offsetof(st_table_props, f), PROP_U64, 0}
#define STR(n, f) {n, offsetof(st_table_props, f), PROP_STR, sizeof(((st_table_props *)0)->f)}

/* Sorted by name (bytewise): the block's order. */
static const prop_desc props[] = {
    U64("strata.checksum", checksum),
    STR("strata.comparator", comparator_name),
    U64("strata.compression", compression),
    U64("strata.creation_time", creation_time),
    U64("strata.data_size", data_size),
    U64("strata.ecc", ecc),
    U64("strata.ecc_data_shards", ecc_data_shards),
    U64("strata.ecc_parity_shards", ecc_parity_shards),
    U64("strata.encrypted", encrypted),
    STR("strata.filter_name", filter_name),
    U64("strata.filter_size", filter_size),
    U64("strata.format_version", format_version),
    U64("strata.index_size", index_size),
    U64("strata.key_id", key_id),
    U64("strata.largest_seq", largest_seq),
    U64("strata.num_data_blocks", num_data_blocks),
    U64("strata.num_deletions", num_deletions),
    U64("strata.num_entries", num_entries),
    U64("strata.num_range_deletions", num_range_deletions),
    U64("strata.raw_key_size", raw_key_size),
    U64("strata.raw_value_size", raw_value_size),
    U64("strata.smallest_seq", smallest_seq),
};

static int add_prop(st_block_builder *bb, const st_table_props *p, const prop_desc *d)
{
    const char *field = (const char *)p + d->off;
    if (d->kind == PROP_STR) {
        return st_block_builder_add(bb, st_slice_cstr(d->name),
                                    st_slice_make(field, strnlen(field, d->cap)));
    }
    uint64_t v;
    memcpy(&v, field, sizeof(v));
    char tmp[10];
    char *end = st_encode_varint64(tmp, v);
    return st_block_builder_add(bb, st_slice_cstr(d->name), st_slice_make(tmp, (size_t)(end - tmp)));
}

int st_table_props_encode(const st_table_props *p, st_buf *out)
{
    st_block_builder bb;
    st_block_builder_init(&bb, 1);
    int rc = 0;
    for (size_t i = 0; !rc && i < ST_ARRAY_LEN(props); i++) {
        rc = add_prop(&bb, p, &props[i]);
    }
    st_slice contents;
    if (!rc) {
        rc = st_block_builder_finish(&bb, &contents);
    }
    if (!rc) {
        rc = st_buf_append(out, contents.data, contents.size);
    }
    st_block_builder_free(&bb);
    return rc;
}

static const prop_desc *find_prop(st_slice name)
{
    for (size_t i = 0; i < ST_ARRAY_LEN(props); i++) {
        if (st_slice_eq(name, st_slice_cstr(props[i].name))) {
            return &props[i];
        }
    }
    return NULL;
}

static int set_prop(st_table_props *p, const prop_desc *d, st_slice v, const char *fname,
                    uint64_t offset)
{
    char *field = (char *)p + d->off;
    if (d->kind == PROP_STR) {
        size_t n = v.size < d->cap - 1 ? v.size : d->cap - 1;
        memcpy(field, v.data, n);
        field[n] = '\0';
        return 0;
    }
    uint64_t x;
    if (!st_get_varint64(&v, &x) || v.size != 0) {
        return st_err(STRATA_E_CORRUPTION, "%s: corrupted properties block at offset %" PRIu64
                      ": bad value for %s", fname, offset, d->name);
    }
    memcpy(field, &x, sizeof(x));
    return 0;
}

int st_table_props_decode(st_slice contents, const char *fname, uint64_t offset,
                          st_table_props *p)
{
    memset(p, 0, sizeof(*p));
    st_block b;
    int rc = st_block_init(&b, contents, NULL, fname, offset);
    if (rc) {
        return rc;
    }
    st_block_iter it;
    st_block_iter_init(&it, &b, NULL);
    for (st_block_iter_seek_to_first(&it); !rc && st_block_iter_valid(&it);
         st_block_iter_next(&it)) {
        const prop_desc *d = find_prop(it.key);
        rc = d ? set_prop(p, d, it.value, fname, offset) : 0;
    }
    if (!rc) {
        rc = it.status;
    }
    st_block_iter_release(&it);
    return rc;
}
