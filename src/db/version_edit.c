/* version_edit.c — file metadata and the MANIFEST record that changes the live table set.
 *
 * An encoded edit is a sequence of fields, each a varint32 tag followed by the tag's payload (tag
 * values and payloads: docs/FORMAT.md "MANIFEST").  Fields may appear in any order; scalar fields
 * seen twice keep the last value.  Decoding checks every length against the remaining input, every
 * level against ST_MAX_LEVELS, every key for a valid internal-key trailer and every count against
 * ST_EDIT_MAX_ITEMS, so hostile input costs at most memory proportional to its own size. */
#include "db/version_edit.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/status.h"

enum edit_tag {
    TAG_COMPARATOR = 1,
    TAG_LOG_NUMBER = 2,
    TAG_PREV_LOG_NUMBER = 3,
    TAG_NEXT_FILE = 4,
    TAG_LAST_SEQ = 5,
    TAG_COMPACT_POINTER = 6,
    TAG_DELETED_FILE = 7,
    TAG_NEW_FILE = 8,
    TAG_NEW_FILE_RDEL = 9, /* TAG_NEW_FILE's payload then varint64 range tombstones */
    TAG_MERGE_OPERATOR = 10,
    TAG_CF_ID = 11,  /* varint32: the family the edit applies to (absent: 0, default) */
    TAG_CF_ADD = 12, /* length-prefixed name: the edit creates that family */
    TAG_CF_DROP = 13, /* no payload: the edit drops the family */
    TAG_MAX_CF_ID = 14, /* varint32: the largest family id ever handed out */
    TAG_MIN_LOG_KEEP = 15 /* varint64: WALs below it hold nothing any family needs */
};

/* Upper bounds that keep a hostile MANIFEST from asking for absurd allocations. */
#define ST_EDIT_MAX_ITEMS (1 << 24)
#define ST_EDIT_MAX_NAME 1024

/* ---- File metadata --------------------------------------------------------------------------- */

/* An owned copy of s (never a zero-byte allocation). */
static char *dup_bytes(st_slice s)
{
    char *p = st_malloc(s.size ? s.size : 1);
    if (p && s.size) {
        memcpy(p, s.data, s.size);
    }
    return p;
}

st_file_meta *st_file_meta_create(uint64_t number, uint64_t file_size, st_slice smallest,
                                  st_slice largest)
{
    st_file_meta *f = st_calloc(1, sizeof(*f));
    if (!f) {
        return NULL;
    }
    f->smallest = dup_bytes(smallest);
    f->largest = dup_bytes(largest);
    if (!f->smallest || !f->largest) {
        st_free(f->smallest);
        st_free(f->largest);
        st_free(f);
        return NULL;
    }
    f->refs = 1;
    f->number = number;
    f->file_size = file_size;
    /* One wasted probe costs about as much as compacting 16 KiB (LevelDB's estimate). */
    uint64_t seeks = file_size / 16384;
    atomic_init(&f->allowed_seeks, seeks < 100 ? 100 : seeks > INT32_MAX ? INT32_MAX : (int)seeks);
    f->smallest_len = smallest.size;
    f->largest_len = largest.size;
    return f;
}

void st_file_meta_ref(st_file_meta *f)
{
    f->refs++;
}

void st_file_meta_unref(st_file_meta *f)
{
    if (!f) {
        return;
    }
    assert(f->refs > 0);
    if (--f->refs == 0) {
        st_free(f->smallest);
        st_free(f->largest);
        st_free(f);
    }
}

/* ---- Building edits -------------------------------------------------------------------------- */

void st_version_edit_init(st_version_edit *e)
{
    memset(e, 0, sizeof(*e));
}

void st_version_edit_clear(st_version_edit *e)
{
    st_free(e->comparator);
    st_free(e->cf_add);
    st_free(e->merge_operator);
    for (int i = 0; i < e->n_new; i++) {
        st_file_meta_unref(e->new_files[i].meta);
    }
    st_free(e->new_files);
    st_free(e->deleted);
    for (int i = 0; i < e->n_pointers; i++) {
        st_free(e->pointers[i].key);
    }
    st_free(e->pointers);
    st_version_edit_init(e);
}

static int set_name(char **field, const char *name)
{
    char *copy = st_strdup(name);
    if (!copy) {
        return st_err(STRATA_E_NOMEM, "version edit: out of memory");
    }
    st_free(*field);
    *field = copy;
    return 0;
}

int st_version_edit_set_comparator(st_version_edit *e, const char *name)
{
    return set_name(&e->comparator, name);
}

int st_version_edit_set_cf_add(st_version_edit *e, const char *name)
{
    return set_name(&e->cf_add, name);
}

int st_version_edit_set_merge_operator(st_version_edit *e, const char *name)
{
    return set_name(&e->merge_operator, name);
}

void st_version_edit_set_log_number(st_version_edit *e, uint64_t n)
{
    e->has_log_number = 1;
    e->log_number = n;
}

void st_version_edit_set_prev_log_number(st_version_edit *e, uint64_t n)
{
    e->has_prev_log_number = 1;
    e->prev_log_number = n;
}

void st_version_edit_set_next_file(st_version_edit *e, uint64_t n)
{
    e->has_next_file = 1;
    e->next_file_number = n;
}

void st_version_edit_set_last_seq(st_version_edit *e, uint64_t s)
{
    e->has_last_seq = 1;
    e->last_seq = s;
}

/* Makes room for one more element of size elem in *arr (count n, capacity *cap). */
static int grow(void **arr, int n, int *cap, size_t elem)
{
    if (n < *cap) {
        return 0;
    }
    if (n >= ST_EDIT_MAX_ITEMS) {
        return st_err(STRATA_E_INVALID, "version edit: more than %d entries", ST_EDIT_MAX_ITEMS);
    }
    int ncap = *cap ? *cap * 2 : 4;
    void *p = st_realloc(*arr, (size_t)ncap * elem);
    if (!p) {
        return st_err(STRATA_E_NOMEM, "version edit: out of memory");
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

int st_version_edit_add_file(st_version_edit *e, int level, st_file_meta *meta)
{
    int rc = grow((void **)&e->new_files, e->n_new, &e->cap_new, sizeof(*e->new_files));
    if (rc) {
        return rc;
    }
    st_file_meta_ref(meta);
    e->new_files[e->n_new].level = level;
    e->new_files[e->n_new].meta = meta;
    e->n_new++;
    return 0;
}

int st_version_edit_delete_file(st_version_edit *e, int level, uint64_t number)
{
    int rc = grow((void **)&e->deleted, e->n_deleted, &e->cap_deleted, sizeof(*e->deleted));
    if (rc) {
        return rc;
    }
    e->deleted[e->n_deleted].level = level;
    e->deleted[e->n_deleted].number = number;
    e->n_deleted++;
    return 0;
}

int st_version_edit_set_pointer(st_version_edit *e, int level, st_slice ikey)
{
    int rc = grow((void **)&e->pointers, e->n_pointers, &e->cap_pointers, sizeof(*e->pointers));
    if (rc) {
        return rc;
    }
    char *key = dup_bytes(ikey);
    if (!key) {
        return st_err(STRATA_E_NOMEM, "version edit: out of memory");
    }
    e->pointers[e->n_pointers].level = level;
    e->pointers[e->n_pointers].key = key;
    e->pointers[e->n_pointers].key_len = ikey.size;
    e->n_pointers++;
    return 0;
}

/* ---- Encoding -------------------------------------------------------------------------------- */

static int put_tagged_u64(st_buf *out, int tag, uint64_t v)
{
    if (st_buf_put_varint32(out, (uint32_t)tag) || st_buf_put_varint64(out, v)) {
        return STRATA_E_NOMEM;
    }
    return 0;
}

static int encode_family(const st_version_edit *e, st_buf *out)
{
    int rc = 0;
    if (e->cf_id) {
        rc = st_buf_put_varint32(out, TAG_CF_ID) || st_buf_put_varint32(out, e->cf_id);
    }
    if (!rc && e->cf_add) {
        rc = st_buf_put_varint32(out, TAG_CF_ADD) ||
             st_buf_put_lenprefixed(out, st_slice_cstr(e->cf_add));
    }
    if (!rc && e->cf_drop) {
        rc = st_buf_put_varint32(out, TAG_CF_DROP);
    }
    if (!rc && e->max_cf_id) {
        rc = st_buf_put_varint32(out, TAG_MAX_CF_ID) || st_buf_put_varint32(out, e->max_cf_id);
    }
    if (!rc && e->min_log_keep) {
        rc = put_tagged_u64(out, TAG_MIN_LOG_KEEP, e->min_log_keep);
    }
    return rc;
}

static int encode_scalars(const st_version_edit *e, st_buf *out)
{
    int rc = encode_family(e, out);
    if (e->comparator) {
        rc = st_buf_put_varint32(out, TAG_COMPARATOR) ||
             st_buf_put_lenprefixed(out, st_slice_cstr(e->comparator));
    }
    if (!rc && e->merge_operator) {
        rc = st_buf_put_varint32(out, TAG_MERGE_OPERATOR) ||
             st_buf_put_lenprefixed(out, st_slice_cstr(e->merge_operator));
    }
    if (!rc && e->has_log_number) {
        rc = put_tagged_u64(out, TAG_LOG_NUMBER, e->log_number);
    }
    if (!rc && e->has_prev_log_number) {
        rc = put_tagged_u64(out, TAG_PREV_LOG_NUMBER, e->prev_log_number);
    }
    if (!rc && e->has_next_file) {
        rc = put_tagged_u64(out, TAG_NEXT_FILE, e->next_file_number);
    }
    if (!rc && e->has_last_seq) {
        rc = put_tagged_u64(out, TAG_LAST_SEQ, e->last_seq);
    }
    return rc ? STRATA_E_NOMEM : 0;
}

static int encode_new_file(const st_edit_file *nf, st_buf *out)
{
    const st_file_meta *f = nf->meta;
    int tag = f->num_range_dels ? TAG_NEW_FILE_RDEL : TAG_NEW_FILE;
    if (st_buf_put_varint32(out, (uint32_t)tag) || st_buf_put_varint32(out, (uint32_t)nf->level) ||
        st_buf_put_varint64(out, f->number) || st_buf_put_varint64(out, f->file_size) ||
        st_buf_put_lenprefixed(out, st_file_smallest(f)) ||
        st_buf_put_lenprefixed(out, st_file_largest(f)) ||
        st_buf_put_varint64(out, f->smallest_seq) || st_buf_put_varint64(out, f->largest_seq) ||
        st_buf_put_varint64(out, f->num_entries) || st_buf_put_varint64(out, f->num_deletions) ||
        (f->num_range_dels && st_buf_put_varint64(out, f->num_range_dels))) {
        return STRATA_E_NOMEM;
    }
    return 0;
}

static int encode_lists(const st_version_edit *e, st_buf *out)
{
    for (int i = 0; i < e->n_pointers; i++) {
        const st_edit_pointer *p = &e->pointers[i];
        if (st_buf_put_varint32(out, TAG_COMPACT_POINTER) ||
            st_buf_put_varint32(out, (uint32_t)p->level) ||
            st_buf_put_lenprefixed(out, st_slice_make(p->key, p->key_len))) {
            return STRATA_E_NOMEM;
        }
    }
    for (int i = 0; i < e->n_deleted; i++) {
        if (st_buf_put_varint32(out, TAG_DELETED_FILE) ||
            st_buf_put_varint32(out, (uint32_t)e->deleted[i].level) ||
            st_buf_put_varint64(out, e->deleted[i].number)) {
            return STRATA_E_NOMEM;
        }
    }
    for (int i = 0; i < e->n_new; i++) {
        if (encode_new_file(&e->new_files[i], out)) {
            return STRATA_E_NOMEM;
        }
    }
    return 0;
}

int st_version_edit_encode(const st_version_edit *e, st_buf *out)
{
    size_t old = out->len;
    int rc = encode_scalars(e, out);
    if (!rc) {
        rc = encode_lists(e, out);
    }
    if (rc) {
        out->len = old;
        return st_err(rc, "encoding version edit: out of memory");
    }
    return 0;
}

/* ---- Decoding -------------------------------------------------------------------------------- */

typedef struct decoder {
    st_slice in;
    size_t total;    /* length of the whole encoding, for offsets in messages */
    size_t field_at; /* offset of the field being decoded */
} decoder;

static int bad(const decoder *d, const char *what)
{
    return st_err(STRATA_E_CORRUPTION, "version edit: %s (field at byte %zu of %zu)", what,
                  d->field_at, d->total);
}

static int get_level(decoder *d, int *level)
{
    uint32_t v;
    if (!st_get_varint32(&d->in, &v)) {
        return bad(d, "truncated level");
    }
    if (v >= ST_MAX_LEVELS) {
        return bad(d, "level out of range");
    }
    *level = (int)v;
    return 0;
}

static int get_u64(decoder *d, uint64_t *v, const char *what)
{
    return st_get_varint64(&d->in, v) ? 0 : bad(d, what);
}

/* An internal key: at least the 8-byte trailer, with a known type. */
static int get_ikey(decoder *d, st_slice *key, const char *what)
{
    st_slice u;
    uint64_t seq;
    int type;
    if (!st_get_lenprefixed(&d->in, key)) {
        return bad(d, what);
    }
    if (st_ikey_parse(*key, &u, &seq, &type)) {
        return bad(d, "malformed internal key");
    }
    return 0;
}

static int decode_name(decoder *d, char **field, const char *what)
{
    st_slice name;
    if (!st_get_lenprefixed(&d->in, &name)) {
        return bad(d, what);
    }
    if (name.size > ST_EDIT_MAX_NAME || memchr(name.data, '\0', name.size)) {
        return bad(d, what);
    }
    char *copy = st_malloc(name.size + 1);
    if (!copy) {
        return st_err(STRATA_E_NOMEM, "decoding version edit: out of memory");
    }
    memcpy(copy, name.data, name.size);
    copy[name.size] = '\0';
    st_free(*field);
    *field = copy;
    return 0;
}

static int decode_pointer(decoder *d, st_version_edit *e)
{
    int level;
    st_slice key;
    int rc = get_level(d, &level);
    if (!rc) {
        rc = get_ikey(d, &key, "truncated compaction pointer");
    }
    if (!rc) {
        rc = st_version_edit_set_pointer(e, level, key);
    }
    return rc == STRATA_E_INVALID ? bad(d, "too many compaction pointers") : rc;
}

static int decode_deleted(decoder *d, st_version_edit *e)
{
    int level;
    uint64_t number;
    int rc = get_level(d, &level);
    if (!rc) {
        rc = get_u64(d, &number, "truncated deleted file number");
    }
    if (!rc) {
        rc = st_version_edit_delete_file(e, level, number);
    }
    return rc == STRATA_E_INVALID ? bad(d, "too many deleted files") : rc;
}

static int decode_file_stats(decoder *d, st_file_meta *f)
{
    int rc = get_u64(d, &f->smallest_seq, "truncated smallest seq");
    if (!rc) {
        rc = get_u64(d, &f->largest_seq, "truncated largest seq");
    }
    if (!rc) {
        rc = get_u64(d, &f->num_entries, "truncated entry count");
    }
    if (!rc) {
        rc = get_u64(d, &f->num_deletions, "truncated deletion count");
    }
    if (!rc && (f->smallest_seq > f->largest_seq || f->largest_seq > ST_MAX_SEQ)) {
        rc = bad(d, "invalid sequence range");
    }
    return rc;
}

static int decode_new_file(decoder *d, st_version_edit *e, int with_rdel)
{
    int level;
    uint64_t number, size;
    st_slice smallest, largest;
    int rc = get_level(d, &level);
    if (!rc) {
        rc = get_u64(d, &number, "truncated file number");
    }
    if (!rc) {
        rc = get_u64(d, &size, "truncated file size");
    }
    if (!rc) {
        rc = get_ikey(d, &smallest, "truncated smallest key");
    }
    if (!rc) {
        rc = get_ikey(d, &largest, "truncated largest key");
    }
    if (rc) {
        return rc;
    }
    st_file_meta *f = st_file_meta_create(number, size, smallest, largest);
    if (!f) {
        return st_err(STRATA_E_NOMEM, "decoding version edit: out of memory");
    }
    rc = decode_file_stats(d, f);
    if (!rc && with_rdel) {
        rc = get_u64(d, &f->num_range_dels, "truncated range tombstone count");
    }
    if (!rc) {
        rc = st_version_edit_add_file(e, level, f);
    }
    st_file_meta_unref(f); /* the edit holds its own reference on success */
    return rc == STRATA_E_INVALID ? bad(d, "too many new files") : rc;
}

static int decode_u64_field(decoder *d, uint32_t tag, st_version_edit *e)
{
    uint64_t v;
    int rc = get_u64(d, &v, "truncated number");
    if (rc) {
        return rc;
    }
    switch (tag) {
    case TAG_LOG_NUMBER: st_version_edit_set_log_number(e, v); break;
    case TAG_PREV_LOG_NUMBER: st_version_edit_set_prev_log_number(e, v); break;
    case TAG_NEXT_FILE: st_version_edit_set_next_file(e, v); break;
    default:
        if (v > ST_MAX_SEQ) {
            return bad(d, "last sequence out of range");
        }
        st_version_edit_set_last_seq(e, v);
        break;
    }
    return 0;
}

static int decode_field(decoder *d, st_version_edit *e)
{
    uint32_t tag;
    d->field_at = d->total - d->in.size;
    if (!st_get_varint32(&d->in, &tag)) {
        return bad(d, "truncated tag");
    }
    switch (tag) {
    case TAG_CF_ID:
    case TAG_MAX_CF_ID: {
        uint32_t v;
        if (!st_get_varint32(&d->in, &v) || (tag == TAG_CF_ID && v == 0)) {
            return bad(d, "bad column family id");
        }
        *(tag == TAG_CF_ID ? &e->cf_id : &e->max_cf_id) = v;
        return 0;
    }
    case TAG_CF_ADD:
        return e->cf_add ? bad(d, "two column family names")
                         : decode_name(d, &e->cf_add, "bad column family name");
    case TAG_CF_DROP: e->cf_drop = 1; return 0;
    case TAG_MIN_LOG_KEEP:
        return get_u64(d, &e->min_log_keep, "truncated minimum log number");
    case TAG_COMPARATOR: return decode_name(d, &e->comparator, "bad comparator name");
    case TAG_MERGE_OPERATOR: return decode_name(d, &e->merge_operator, "bad merge operator name");
    case TAG_LOG_NUMBER:
    case TAG_PREV_LOG_NUMBER:
    case TAG_NEXT_FILE:
    case TAG_LAST_SEQ: return decode_u64_field(d, tag, e);
    case TAG_COMPACT_POINTER: return decode_pointer(d, e);
    case TAG_DELETED_FILE: return decode_deleted(d, e);
    case TAG_NEW_FILE: return decode_new_file(d, e, 0);
    case TAG_NEW_FILE_RDEL: return decode_new_file(d, e, 1);
    default: return bad(d, "unknown tag");
    }
}

int st_version_edit_decode(st_version_edit *e, st_slice in)
{
    decoder d = {in, in.size, 0};
    while (d.in.size > 0) {
        int rc = decode_field(&d, e);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/* ---- Debug output ---------------------------------------------------------------------------- */

/* user key escaped (printable ASCII kept, other bytes as \xHH), then "@seq:type". */
static int append_ikey(st_buf *out, st_slice ikey)
{
    char tmp[48];
    st_slice u = ikey.size >= ST_IKEY_TRAILER ? st_ikey_user(ikey) : ikey;
    for (size_t i = 0; i < u.size; i++) {
        unsigned char c = (unsigned char)u.data[i];
        int n = (c >= 0x20 && c < 0x7f && c != '\\') ? snprintf(tmp, sizeof(tmp), "%c", c)
                                                    : snprintf(tmp, sizeof(tmp), "\\x%02x", c);
        if (st_buf_append(out, tmp, (size_t)n)) {
            return STRATA_E_NOMEM;
        }
    }
    if (ikey.size >= ST_IKEY_TRAILER) {
        uint64_t t = st_ikey_trailer(ikey);
        int n = snprintf(tmp, sizeof(tmp), "@%" PRIu64 ":%d", t >> 8, (int)(t & 0xff));
        return st_buf_append(out, tmp, (size_t)n);
    }
    return 0;
}

static int appendf(st_buf *out, const char *fmt, ...) ST_PRINTF(2, 3);

static int appendf(st_buf *out, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return STRATA_E_INVALID;
    }
    return st_buf_append(out, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static int debug_scalars(const st_version_edit *e, st_buf *out)
{
    int rc = 0;
    if (e->comparator) {
        rc = appendf(out, "comparator: %.200s\n", e->comparator);
    }
    if (!rc && e->merge_operator) {
        rc = appendf(out, "merge_operator: %.200s\n", e->merge_operator);
    }
    if (!rc && e->cf_id) {
        rc = appendf(out, "column_family: %u\n", e->cf_id);
    }
    if (!rc && e->cf_add) {
        rc = appendf(out, "add_column_family: %.200s\n", e->cf_add);
    }
    if (!rc && e->cf_drop) {
        rc = appendf(out, "drop_column_family\n");
    }
    if (!rc && e->max_cf_id) {
        rc = appendf(out, "max_column_family: %u\n", e->max_cf_id);
    }
    if (!rc && e->min_log_keep) {
        rc = appendf(out, "min_log_to_keep: %" PRIu64 "\n", e->min_log_keep);
    }
    if (!rc && e->has_log_number) {
        rc = appendf(out, "log_number: %" PRIu64 "\n", e->log_number);
    }
    if (!rc && e->has_prev_log_number) {
        rc = appendf(out, "prev_log_number: %" PRIu64 "\n", e->prev_log_number);
    }
    if (!rc && e->has_next_file) {
        rc = appendf(out, "next_file: %" PRIu64 "\n", e->next_file_number);
    }
    if (!rc && e->has_last_seq) {
        rc = appendf(out, "last_seq: %" PRIu64 "\n", e->last_seq);
    }
    return rc;
}

static int debug_file(const st_edit_file *nf, st_buf *out)
{
    const st_file_meta *f = nf->meta;
    int rc = appendf(out, "add_file: L%d #%" PRIu64 " size=%" PRIu64 " [", nf->level, f->number,
                     f->file_size);
    rc = rc || append_ikey(out, st_file_smallest(f)) || appendf(out, " .. ") ||
         append_ikey(out, st_file_largest(f));
    rc = rc || appendf(out, "] seq=[%" PRIu64 ",%" PRIu64 "] entries=%" PRIu64
                            " deletions=%" PRIu64 "\n",
                       f->smallest_seq, f->largest_seq, f->num_entries, f->num_deletions);
    return rc ? STRATA_E_NOMEM : 0;
}

int st_version_edit_debug_string(const st_version_edit *e, st_buf *out)
{
    int rc = debug_scalars(e, out);
    for (int i = 0; !rc && i < e->n_pointers; i++) {
        const st_edit_pointer *p = &e->pointers[i];
        rc = appendf(out, "compact_pointer: L%d ", p->level) ||
             append_ikey(out, st_slice_make(p->key, p->key_len)) || appendf(out, "\n");
    }
    for (int i = 0; !rc && i < e->n_deleted; i++) {
        rc = appendf(out, "delete_file: L%d #%" PRIu64 "\n", e->deleted[i].level,
                     e->deleted[i].number);
    }
    for (int i = 0; !rc && i < e->n_new; i++) {
        rc = debug_file(&e->new_files[i], out);
    }
    return rc ? st_err(STRATA_E_NOMEM, "version edit debug string: out of memory") : 0;
}
