/* block_builder.c — prefix-compressed block contents (block_builder.h).
 * Entry: varint32 shared ‖ varint32 unshared ‖ varint32 value_len ‖ key[shared..] ‖ value. */
#include "table/block_builder.h"

#include <assert.h>

#include "strata.h"
#include "util/coding.h"

void st_block_builder_init(st_block_builder *b, int restart_interval)
{
    assert(restart_interval >= 1);
    st_buf_init(&b->buf);
    st_buf_init(&b->restarts);
    st_buf_init(&b->last_key);
    b->restart_interval = restart_interval;
    st_block_builder_reset(b);
}

void st_block_builder_free(st_block_builder *b)
{
    st_buf_free(&b->buf);
    st_buf_free(&b->restarts);
    st_buf_free(&b->last_key);
}

void st_block_builder_reset(st_block_builder *b)
{
    st_buf_clear(&b->buf);
    st_buf_clear(&b->restarts);
    st_buf_clear(&b->last_key);
    b->counter = 0;
    b->num_entries = 0;
    b->finished = 0;
}

size_t st_block_builder_estimate(const st_block_builder *b)
{
    return b->buf.len + (b->restarts.len ? b->restarts.len : 4) + 4;
}

static size_t common_prefix(st_slice a, st_slice b)
{
    size_t n = a.size < b.size ? a.size : b.size, i = 0;
    while (i < n && a.data[i] == b.data[i]) {
        i++;
    }
    return i;
}

int st_block_builder_add(st_block_builder *b, st_slice key, st_slice value)
{
    assert(!b->finished);
    size_t shared = 0, old_len = b->buf.len, old_restarts = b->restarts.len;
    if (b->counter >= b->restart_interval || b->num_entries == 0) {
        b->counter = 0;
        if (st_buf_put_fixed32(&b->restarts, (uint32_t)b->buf.len)) {
            return STRATA_E_NOMEM;
        }
    } else {
        shared = common_prefix(st_buf_slice(&b->last_key), key);
    }
    size_t unshared = key.size - shared;
    char hdr[15], *p = hdr;
    p = st_encode_varint32(p, (uint32_t)shared);
    p = st_encode_varint32(p, (uint32_t)unshared);
    p = st_encode_varint32(p, (uint32_t)value.size);
    if (st_buf_reserve(&b->buf, (size_t)(p - hdr) + unshared + value.size) ||
        st_buf_assign(&b->last_key, key.data, key.size)) {
        b->buf.len = old_len;
        b->restarts.len = old_restarts;
        return STRATA_E_NOMEM;
    }
    st_buf_append(&b->buf, hdr, (size_t)(p - hdr)); /* cannot fail: reserved */
    st_buf_append(&b->buf, key.data + shared, unshared);
    st_buf_append(&b->buf, value.data, value.size);
    b->counter++;
    b->num_entries++;
    return 0;
}

int st_block_builder_finish(st_block_builder *b, st_slice *contents)
{
    assert(!b->finished);
    size_t old_len = b->buf.len;
    if (b->num_entries == 0 && st_buf_put_fixed32(&b->restarts, 0)) {
        return STRATA_E_NOMEM; /* an empty block still has one restart point, at 0 */
    }
    uint32_t n = (uint32_t)(b->restarts.len / 4);
    if (st_buf_append(&b->buf, b->restarts.data, b->restarts.len) ||
        st_buf_put_fixed32(&b->buf, n)) {
        b->buf.len = old_len;
        if (b->num_entries == 0) {
            b->restarts.len = 0;
        }
        return STRATA_E_NOMEM;
    }
    b->finished = 1;
    *contents = st_buf_slice(&b->buf);
    return 0;
}
