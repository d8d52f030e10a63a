/* fuzz_encrypted_log.c — libFuzzer target for encrypted record logs (WAL and MANIFEST): a log
 * whose first record is a seal header, read through st_log_reader with
 * st_log_reader_set_integrity (log_seal.h), under the keys of fuzz_crypt.h with encryption
 * required.  Input:
 *
 *     flags ‖ log file bytes                                                   (flags bit 2 set)
 *     flags ‖ nrec ‖ nrec × (len ‖ payload) ‖ nedit ‖ nedit × (op, a, b)
 *           ‖ nbyte ‖ nbyte × (pos lo, pos hi, xor)                            (bit 2 clear)
 *
 * flags: bit 0 skip_corrupt, bit 1 MANIFEST (else WAL), bit 2 stored mode.
 * Encode mode: records 0..nrec-1 are sealed (their plaintext wrapped with their index,
 * fuzz_crypt.h) after a seal header; the edits act on that sequence of stored records (op % 4:
 * drop a, swap a and b, duplicate a, cut the sequence at a), the file is written with fresh
 * fragment CRCs, then the byte ops damage it.
 * Checks, both modes: every read is a record, the end, or CORRUPTION/AUTH naming the file; every
 * record returned is authentic (unwraps with a valid CRC) — never a forgery; without skip_corrupt
 * the records returned are exactly 0, 1, 2, … in order (nothing dropped, moved or replayed
 * silently); with it, their indices strictly increase.  Encode mode without edits or damage
 * returns all nrec records and then the end. */
#include <string.h>

#include "env/env.h"
#include "fuzz_common.h"
#include "fuzz_crypt.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "wal/log_reader.h"
#include "wal/log_seal.h"
#include "wal/log_writer.h"

#define FNAME "/000009.log"
#define MAX_RECS 48
#define MAX_EDITS 8

static st_env *g_env;
static st_integrity g_integ;

typedef struct seq {
    st_buf rec[MAX_RECS + MAX_EDITS + 1]; /* stored records: [0] is the header */
    int n;
} seq;

/* Reads the log in g_env with integrity; checks every result.  Returns the records read. */
static int read_log(int skip, int kind)
{
    st_sfile *f;
    FZ_CHECK(st_env_new_sequential(g_env, FNAME, &f) == 0);
    st_log_reader *r;
    FZ_CHECK(st_log_reader_create(f, FNAME, skip, &r) == 0);
    st_log_reader_set_integrity(r, &g_integ, FZ_LOG_NUMBER, kind);
    int n = 0;
    int64_t last = -1;
    for (;;) {
        st_slice rec;
        uint64_t off;
        int rc = st_log_reader_read(r, &rec, &off);
        if (rc <= 0) {
            FZ_CHECK(rc == 0 || rc == STRATA_E_CORRUPTION || rc == STRATA_E_AUTH);
            FZ_CHECK(rc == 0 || strstr(strata_errmsg(), FNAME) != NULL);
            break;
        }
        uint32_t index;
        FZ_CHECK(fz_unwrap_record(rec, &index)); /* authentic */
        FZ_CHECK(skip ? (int64_t)index > last : (int64_t)index == last + 1);
        last = index;
        n++;
        FZ_CHECK(n <= 1 << 20);
    }
    st_log_reader_close(r);
    return n;
}

static void write_file(const seq *s, const uint8_t *ops, int nops)
{
    st_wfile *wf;
    st_log_writer *w;
    FZ_CHECK(st_env_new_writable(g_env, FNAME, &wf) == 0);
    FZ_CHECK(st_log_writer_create(wf, 0, &w) == 0);
    for (int i = 0; i < s->n; i++) {
        FZ_CHECK(st_log_writer_add(w, st_buf_slice(&s->rec[i])) == 0);
    }
    FZ_CHECK(st_log_writer_close(w) == 0);
    if (nops == 0) {
        return;
    }
    char *data;
    size_t len;
    FZ_CHECK(st_env_read_file(g_env, FNAME, 1 << 24, &data, &len) == 0);
    for (int i = 0; i < nops && len > 0; i++) {
        size_t pos = ((size_t)ops[3 * i] | (size_t)ops[3 * i + 1] << 8) % len;
        data[pos] ^= (char)(ops[3 * i + 2] ? ops[3 * i + 2] : 1);
    }
    FZ_CHECK(st_env_write_file(g_env, FNAME, st_slice_make(data, len), 0) == 0);
    st_free(data);
}

static void edit(seq *s, uint8_t op, uint8_t a8, uint8_t b8)
{
    int a = a8 % s->n, b = b8 % s->n;
    st_buf tmp;
    switch (op % 4) {
        case 0: /* drop a */
            st_buf_free(&s->rec[a]);
            memmove(&s->rec[a], &s->rec[a + 1], sizeof(st_buf) * (size_t)(s->n - a - 1));
            s->n--;
            break;
        case 1: /* swap a and b */
            tmp = s->rec[a];
            s->rec[a] = s->rec[b];
            s->rec[b] = tmp;
            break;
        case 2: /* duplicate a */
            if (s->n < MAX_RECS + MAX_EDITS + 1) {
                memmove(&s->rec[a + 1], &s->rec[a], sizeof(st_buf) * (size_t)(s->n - a));
                st_buf_init(&s->rec[a + 1]);
                FZ_CHECK(st_buf_append(&s->rec[a + 1], s->rec[a].data, s->rec[a].len) == 0);
                s->n++;
            }
            break;
        default: /* cut at a */
            for (int i = a; i < s->n; i++) {
                st_buf_free(&s->rec[i]);
            }
            s->n = a;
            break;
    }
}

static void encode_mode(int skip, int kind, fz_cursor *c)
{
    seq s;
    memset(&s, 0, sizeof(s));
    st_log_seal *seal;
    st_ecc ecc; /* none: g_integ has no parity */
    FZ_CHECK(st_log_seal_create(&g_integ, FZ_LOG_NUMBER, kind, &s.rec[0], &seal, &ecc) == 0);
    FZ_CHECK(seal != NULL && ecc.kind == ST_ECC_NONE);
    int nrec = 1 + fz_u8(c) % MAX_RECS;
    st_buf plain = ST_BUF_INIT;
    for (int i = 0; i < nrec; i++) {
        const uint8_t *p;
        size_t len = fz_bytes(c, 200, &p);
        st_buf_clear(&plain);
        FZ_CHECK(fz_wrap_record(&plain, (uint32_t)i, p, len) == 0);
        FZ_CHECK(st_log_seal_record(seal, st_buf_slice(&plain), &s.rec[i + 1]) == 0);
    }
    s.n = nrec + 1;
    int nedit = fz_u8(c) % (MAX_EDITS + 1);
    for (int i = 0; i < nedit && s.n > 0; i++) {
        uint8_t op = fz_u8(c), a = fz_u8(c), b = fz_u8(c);
        edit(&s, op, a, b);
    }
    int nops = fz_u8(c) % 17;
    uint8_t ops[3 * 16];
    for (int i = 0; i < 3 * nops; i++) {
        ops[i] = fz_u8(c);
    }
    write_file(&s, ops, nops);
    int got = read_log(skip, kind);
    if (nedit == 0 && nops == 0) {
        FZ_CHECK(got == nrec);
    }
    for (int i = 0; i < s.n; i++) {
        st_buf_free(&s.rec[i]);
    }
    st_buf_free(&plain);
    st_log_seal_destroy(seal);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (!g_env) {
        g_env = st_env_mem_create();
        fz_integrity_init(&g_integ);
        FZ_CHECK(g_env != NULL && g_integ.kp != NULL);
    }
    fz_cursor c = {data, size};
    uint8_t flags = fz_u8(&c);
    int skip = flags & 1;
    int kind = (flags & 2) ? ST_CRYPT_FILE_MANIFEST : ST_CRYPT_FILE_WAL;
    if (flags & 4) {
        FZ_CHECK(st_env_write_file(g_env, FNAME, st_slice_make(c.p, c.n), 0) == 0);
        read_log(skip, kind);
    } else {
        encode_mode(skip, kind, &c);
    }
    return 0;
}
