/* fuzz_version_edit.c — libFuzzer target for MANIFEST records (db/version_edit.h).  The input
 * is one encoded version edit.  Checks: decode returns 0 or CORRUPTION; a decoded edit's debug
 * string renders; re-encoding a decoded edit and decoding that again yields the same encoding
 * (encode is a function of the decoded fields, so a second round trip must be stable). */
#include <string.h>

#include "db/version_edit.h"
#include "fuzz_common.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_version_edit e, e2;
    st_version_edit_init(&e);
    st_version_edit_init(&e2);
    st_buf enc, enc2, dbg;
    st_buf_init(&enc);
    st_buf_init(&enc2);
    st_buf_init(&dbg);
    int rc = st_version_edit_decode(&e, st_slice_make(data, size));
    if (rc != 0) {
        FZ_CHECK(rc == STRATA_E_CORRUPTION);
        goto out;
    }
    FZ_CHECK(st_version_edit_debug_string(&e, &dbg) == 0);
    FZ_CHECK(st_version_edit_encode(&e, &enc) == 0);
    FZ_CHECK(st_version_edit_decode(&e2, st_buf_slice(&enc)) == 0);
    FZ_CHECK(st_version_edit_encode(&e2, &enc2) == 0);
    FZ_CHECK(st_slice_eq(st_buf_slice(&enc), st_buf_slice(&enc2)));
out:
    st_version_edit_clear(&e);
    st_version_edit_clear(&e2);
    st_buf_free(&enc);
    st_buf_free(&enc2);
    st_buf_free(&dbg);
    return 0;
}
