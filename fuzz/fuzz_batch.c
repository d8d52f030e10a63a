/* fuzz_batch.c — libFuzzer target for the write-batch encoding (db/write_batch.h), which is
 * also the WAL record payload.  The input is one record.  Checks: set_contents returns 0 or
 * CORRUPTION; for an accepted record for_each visits exactly st_batch_count operations, each of a
 * type a log may hold (put, delete, merge, range delete, single delete, TTL put with its 8-byte
 * expiry) whose key and value lie inside the record; rebuilding the batch through the public API
 * from those operations yields a batch with the same operations (compared through a canonical
 * dump, since the input may use non-minimal varints). */
#include <string.h>

#include "db/write_batch.h"
#include "fuzz_common.h"
#include "util/coding.h"
#include "util/ikey.h"

typedef struct visit {
    st_slice rec;
    uint32_t n;
    strata_batch *copy; /* NULL on the second pass */
    st_buf dump;
} visit;

static int inside(st_slice rec, st_slice s)
{
    return s.size == 0 || (s.data >= rec.data && s.data + s.size <= rec.data + rec.size);
}

static int on_op(void *ctx, int type, st_slice key, st_slice value)
{
    visit *v = ctx;
    v->n++;
    int deletion = st_type_is_deletion(type);
    FZ_CHECK(deletion || type == ST_TYPE_VALUE || type == ST_TYPE_MERGE ||
             type == ST_TYPE_RANGE_DEL || type == ST_TYPE_VALUE_TTL);
    FZ_CHECK(type != ST_TYPE_VALUE_TTL || value.size >= ST_TTL_PREFIX);
    FZ_CHECK(inside(v->rec, key) && inside(v->rec, value));
    FZ_CHECK(st_buf_put_u8(&v->dump, (uint8_t)type) == 0);
    FZ_CHECK(st_buf_put_lenprefixed(&v->dump, key) == 0);
    FZ_CHECK(st_buf_put_lenprefixed(&v->dump, deletion ? st_slice_make("", 0) : value) == 0);
    if (!v->copy) {
        return 0;
    }
    switch (type) {
    case ST_TYPE_VALUE:
        FZ_CHECK(strata_batch_put(v->copy, key.data, key.size, value.data, value.size) == 0);
        break;
    case ST_TYPE_MERGE:
        FZ_CHECK(strata_batch_merge(v->copy, key.data, key.size, value.data, value.size) == 0);
        break;
    case ST_TYPE_RANGE_DEL:
        FZ_CHECK(strata_batch_delete_range(v->copy, key.data, key.size, value.data, value.size) ==
                 0);
        break;
    case ST_TYPE_VALUE_TTL: {
        st_slice user = value;
        st_slice_remove_prefix(&user, ST_TTL_PREFIX);
        FZ_CHECK(st_batch_put_expiring(v->copy, key, user, st_decode_fixed64(value.data)) == 0);
        break;
    }
    case ST_TYPE_SINGLE_DELETION:
        FZ_CHECK(strata_batch_single_delete(v->copy, key.data, key.size) == 0);
        break;
    default:
        FZ_CHECK(strata_batch_delete(v->copy, key.data, key.size) == 0);
        break;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strata_batch b;
    FZ_CHECK(st_batch_init(&b) == 0);
    int rc = st_batch_set_contents(&b, st_slice_make(data, size));
    if (rc != 0) {
        FZ_CHECK(rc == STRATA_E_CORRUPTION);
        st_batch_free(&b);
        return 0;
    }
    visit v = {.rec = st_buf_slice(&b.rep), .n = 0, .copy = strata_batch_create()};
    FZ_CHECK(v.copy != NULL);
    st_buf_init(&v.dump);
    FZ_CHECK(st_batch_for_each(&b, &v, on_op) == 0);
    FZ_CHECK(v.n == st_batch_count(&b));
    visit w = {.rec = st_buf_slice(&v.copy->rep), .n = 0, .copy = NULL};
    st_buf_init(&w.dump);
    FZ_CHECK(st_batch_for_each(v.copy, &w, on_op) == 0);
    FZ_CHECK(w.n == v.n);
    FZ_CHECK(st_slice_eq(st_buf_slice(&v.dump), st_buf_slice(&w.dump)));
    st_buf_free(&v.dump);
    st_buf_free(&w.dump);
    strata_batch_destroy(v.copy);
    st_batch_free(&b);
    return 0;
}
