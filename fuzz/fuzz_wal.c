/* fuzz_wal.c — libFuzzer target for the record-log reader (wal/log_reader.h).  Input: one flags
 * byte (bit 0: skip_corrupt; bit 1: raw, the framing alone, st_log_reader_set_raw) followed by the
 * log file's bytes, stored in a private in-memory env.
 * Checks: every read returns a record, end of log, CORRUPTION, or AUTH (a header that says the
 * log is encrypted: the target has no keys); record offsets lie inside the file and increase; the
 * number of records is bounded by the file size (each fragment has a 7-byte header); dropped
 * bytes never exceed the file size.  A header with the parity flag makes the reader heal
 * (wal/log_parity.h): the seeds include such logs, intact and damaged. */
#include "env/env.h"
#include "fuzz_common.h"
#include "wal/log_reader.h"

static st_env *g_env;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (!g_env) {
        g_env = st_env_mem_create();
        FZ_CHECK(g_env != NULL);
    }
    int skip = data[0] & 1;
    uint64_t fsize = size - 1;
    FZ_CHECK(st_env_write_file(g_env, "/000001.log", st_slice_make(data + 1, fsize), 0) == 0);
    st_sfile *f = NULL;
    FZ_CHECK(st_env_new_sequential(g_env, "/000001.log", &f) == 0);
    st_log_reader *r = NULL;
    FZ_CHECK(st_log_reader_create(f, "/000001.log", skip, &r) == 0);
    if (data[0] & 2) {
        st_log_reader_set_raw(r); /* the framing alone: no header handling, no healing */
    }
    uint64_t records = 0, last_off = 0;
    for (;;) {
        st_slice rec;
        uint64_t off = 0;
        int rc = st_log_reader_read(r, &rec, &off);
        if (rc <= 0) {
            FZ_CHECK(rc == 0 || rc == STRATA_E_CORRUPTION || rc == STRATA_E_AUTH);
            break;
        }
        FZ_CHECK(rc == 1);
        FZ_CHECK(off < fsize && rec.size <= fsize);
        FZ_CHECK(records == 0 || off > last_off);
        last_off = off;
        FZ_CHECK(++records <= fsize / 7 + 1);
    }
    FZ_CHECK(st_log_reader_dropped(r) <= fsize);
    st_log_reader_close(r);
    return 0;
}
