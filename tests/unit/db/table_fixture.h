/* table_fixture.h — builds real tables (st_table_builder) for the db unit tests and returns
 * their file metadata, as a flush would.  Header-only (static inline) because each test file is
 * its own executable. */
#ifndef STRATA_TESTS_UNIT_DB_TABLE_FIXTURE_H
#define STRATA_TESTS_UNIT_DB_TABLE_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/filename.h"
#include "db/version_edit.h"
#include "table/table_builder.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/ikey.h"

typedef struct tf_entry {
    const char *ukey;
    uint64_t seq;
    int type;
    const char *value;
} tf_entry;

typedef struct tf_built {
    st_buf ikey;
    const char *value;
} tf_built;

static inline int tf_cmp(const void *a, const void *b)
{
    const tf_built *x = a, *y = b;
    return st_ikey_cmp(st_comparator_bytewise(), st_buf_slice(&x->ikey), st_buf_slice(&y->ikey));
}

/* Writes <db>/<number>.sst holding entries (any order; sorted here) with the bytewise order and
 * returns its metadata (refs = 1, owned by the caller). */
static inline st_file_meta *tf_build(st_env *env, const char *db, uint64_t number,
                                     const tf_entry *e, int n)
{
    tf_built *b = calloc((size_t)n, sizeof(*b));
    for (int i = 0; i < n; i++) {
        st_ikey_append(&b[i].ikey, st_slice_cstr(e[i].ukey), e[i].seq, e[i].type);
        b[i].value = e[i].value ? e[i].value : "";
    }
    qsort(b, (size_t)n, sizeof(*b), tf_cmp);
    st_table_options o;
    memset(&o, 0, sizeof(o));
    o.ucmp = st_comparator_bytewise();
    o.block_size = 256;
    o.restart_interval = 4;
    o.compression = STRATA_COMPRESSION_NONE;
    o.checksum = STRATA_CHECKSUM_CRC32C;
    char *fname = st_filename(db, ST_FILE_TABLE, number);
    st_wfile *wf;
    tu_assert_ok(st_env_new_writable(env, fname, &wf));
    st_table_builder *tb;
    tu_assert_ok(st_table_builder_create(&o, wf, &tb));
    uint64_t smin = UINT64_MAX, smax = 0, dels = 0;
    for (int i = 0; i < n; i++) {
        tu_assert_ok(st_table_builder_add(tb, st_buf_slice(&b[i].ikey), st_slice_cstr(b[i].value)));
        uint64_t seq = st_ikey_trailer(st_buf_slice(&b[i].ikey)) >> 8;
        smin = seq < smin ? seq : smin;
        smax = seq > smax ? seq : smax;
        dels += (st_ikey_trailer(st_buf_slice(&b[i].ikey)) & 0xff) == ST_TYPE_DELETION;
    }
    tu_assert_ok(st_table_builder_finish(tb));
    uint64_t size = st_table_builder_file_size(tb);
    st_table_builder_destroy(tb);
    tu_assert_ok(st_wfile_sync(wf));
    tu_assert_ok(st_wfile_close(wf));
    st_file_meta *f = st_file_meta_create(number, size, st_buf_slice(&b[0].ikey),
                                          st_buf_slice(&b[n - 1].ikey));
    f->smallest_seq = smin;
    f->largest_seq = smax;
    f->num_entries = (uint64_t)n;
    f->num_deletions = dels;
    for (int i = 0; i < n; i++) {
        st_buf_free(&b[i].ikey);
    }
    free(b);
    st_free(fname);
    return f;
}

/* A file_meta for a table that is never opened (picking and sizing tests): user keys lo..hi at
 * sequence seq, size bytes. */
static inline st_file_meta *tf_fake(uint64_t number, uint64_t size, const char *lo, uint64_t lo_seq,
                                    const char *hi, uint64_t hi_seq)
{
    st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
    st_ikey_append(&a, st_slice_cstr(lo), lo_seq, ST_TYPE_VALUE);
    st_ikey_append(&b, st_slice_cstr(hi), hi_seq, ST_TYPE_VALUE);
    st_file_meta *f = st_file_meta_create(number, size, st_buf_slice(&a), st_buf_slice(&b));
    f->smallest_seq = lo_seq < hi_seq ? lo_seq : hi_seq;
    f->largest_seq = lo_seq < hi_seq ? hi_seq : lo_seq;
    st_buf_free(&a);
    st_buf_free(&b);
    return f;
}

#endif
