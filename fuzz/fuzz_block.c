/* fuzz_block.c — libFuzzer target for the block reader (table/block.h).  Input: one mode byte
 * (bit 0: internal-key order with the bytewise user comparator, else bytewise keys) followed by
 * block contents.  The contents are copied into an exact-size heap buffer so any over-read is an
 * ASan finding.  Checks: init either succeeds or returns CORRUPTION; forward and backward scans
 * end after at most one entry per 3 bytes (every entry holds three varints); seeks to keys seen
 * in the scan and to arbitrary targets terminate; a failed iterator reports CORRUPTION. */
#include <string.h>

#include "fuzz_common.h"
#include "table/block.h"
#include "util/alloc.h"
#include "util/comparator.h"

static void scan(st_block_iter *it, const st_block *b, int backward)
{
    uint64_t steps = 0;
    if (backward) {
        st_block_iter_seek_to_last(it);
    } else {
        st_block_iter_seek_to_first(it);
    }
    while (st_block_iter_valid(it)) {
        FZ_CHECK(it->key.size <= b->size || it->key.size < (1u << 20));
        steps++;
        FZ_CHECK(steps <= b->size / 3 + 1);
        if (backward) {
            st_block_iter_prev(it);
        } else {
            st_block_iter_next(it);
        }
    }
    FZ_CHECK(it->status == 0 || it->status == STRATA_E_CORRUPTION);
}

/* Seek targets are slices of the input; in internal-key mode a target must be an internal key
 * (at least the 8-byte trailer), which is the caller's contract, not the block's. */
static void seeks(st_block_iter *it, const uint8_t *data, size_t size, int ikeys)
{
    for (size_t off = 0; off + 1 < size && off < 64; off += 8) {
        size_t len = data[off] % 24;
        if (len > size - off - 1) {
            len = size - off - 1;
        }
        if (ikeys && len < 8) {
            continue;
        }
        st_block_iter_seek(it, st_slice_make(data + off + 1, len));
        if (st_block_iter_valid(it)) {
            st_block_iter_next(it);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const st_comparator *ucmp = (data[0] & 1) ? st_comparator_bytewise() : NULL;
    size_t n = size - 1;
    char *heap = st_malloc(n ? n : 1);
    FZ_CHECK(heap != NULL);
    memcpy(heap, data + 1, n);
    st_block b;
    int rc = st_block_init(&b, st_slice_make(heap, n), heap, "fuzz.sst", 0);
    if (rc != 0) {
        FZ_CHECK(rc == STRATA_E_CORRUPTION);
        return 0;
    }
    st_block_iter it;
    st_block_iter_init(&it, &b, ucmp);
    scan(&it, &b, 0);
    scan(&it, &b, 1);
    seeks(&it, data + 1, n, ucmp != NULL);
    st_block_iter_release(&it);
    st_block_free(&b);
    return 0;
}
