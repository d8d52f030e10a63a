/* ecc.c — XOR and Reed-Solomon parity over a byte region, per-shard CRC-32C, healing (ecc.h).
 *
 * Both kinds are one systematic code over GF(2^8): a (k+m) × k generator whose top k rows are
 * the identity and whose parity rows are a Cauchy matrix (RS) or a row of ones (XOR, where
 * multiplying by 1 makes ISA-L's dot product a plain XOR).  So encoding and rebuilding share one
 * path: rebuild = invert the k × k submatrix of k trusted rows, then run the rows of lost data
 * shards through ec_encode_data.
 *
 * Padding is never materialised in the region: a data shard is a pointer to its stored bytes
 * plus a length.  Because s = ceil(n / k), the padding of all shards together is under k ≤ 32
 * bytes, so it all lies in the last TAIL columns; those columns are coded from a zero-padded
 * copy on the stack, the rest straight from the region.  (Coding the few padded columns in a
 * separate short call would hit ISA-L's byte-at-a-time path for lengths under one vector and
 * double the cost of a 4 KiB block.)  Encoding therefore allocates nothing once the
 * (kind, k, m) tables are cached; healing allocates m·s bytes plus tables.
 * Byte layout: docs/FORMAT.md "Parity". */
#include "codec/ecc.h"

#include <assert.h>
#include <isa-l/erasure_code.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

#define MAXK ST_ECC_MAX_DATA_SHARDS
#define MAXM ST_ECC_MAX_PARITY_SHARDS
#define MAXN (MAXK + MAXM)
#define CRC32C_POLY 0x82f63b78u     /* reflected Castagnoli polynomial */
#define COL_CHUNK ((size_t)1 << 30) /* ISA-L takes int lengths */
#define TAIL 64 /* > MAXK, and ISA-L's shortest vector length (64 bytes with AVX-512) */

/* Padding bytes for CRCs (a shard's padding is under MAXK bytes). */
static const unsigned char zeros[MAXK];

/* The shape of one region under one code. */
typedef struct geom {
    int kind, k, m;
    size_t n, s;
} geom;

int st_ecc_check(const st_ecc *e)
{
    if (!e) {
        return st_err(STRATA_E_INVALID, "ecc: no parameters");
    }
    if (e->kind == ST_ECC_NONE) {
        return 0;
    }
    if (e->kind != ST_ECC_XOR && e->kind != ST_ECC_RS) {
        return st_err(STRATA_E_INVALID, "ecc: unknown kind %d", e->kind);
    }
    if (e->k < 1 || e->k > MAXK) {
        return st_err(STRATA_E_INVALID, "ecc: data shards %d not in 1..%d", e->k, MAXK);
    }
    if (e->kind == ST_ECC_RS && (e->m < 1 || e->m > MAXM)) {
        return st_err(STRATA_E_INVALID, "ecc: parity shards %d not in 1..%d", e->m, MAXM);
    }
    return 0;
}

static void geom_init(geom *g, const st_ecc *e, size_t n)
{
    g->kind = e->kind;
    g->k = e->k;
    g->m = e->kind == ST_ECC_XOR ? 1 : e->m;
    g->n = n;
    g->s = n / (size_t)e->k + (n % (size_t)e->k != 0);
    if (g->s == 0) {
        g->s = 1;
    }
}

/* Stored (unpadded) bytes of data shard i. */
static size_t shard_len(const geom *g, int i)
{
    size_t off = (size_t)i * g->s;
    return off >= g->n ? 0 : (g->n - off < g->s ? g->n - off : g->s);
}

/* Pointer to data shard i, NULL when it is all padding (data may be NULL for n = 0). */
static unsigned char *shard_ptr(const geom *g, const void *data, int i)
{
    return shard_len(g, i) ? (unsigned char *)data + (size_t)i * g->s : NULL;
}

size_t st_ecc_parity_len(const st_ecc *e, size_t n)
{
    if (!e || e->kind == ST_ECC_NONE || st_ecc_check(e) != 0) {
        return 0;
    }
    geom g;
    geom_init(&g, e, n);
    size_t tail = 4 * (size_t)(g.k + g.m) + 4;
    if (g.s > (SIZE_MAX - tail) / (size_t)g.m) {
        return SIZE_MAX; /* no buffer can hold it; callers' allocations fail */
    }
    return (size_t)g.m * g.s + tail;
}

/* The (k+m) × k generator matrix, row-major. */
static void gen_matrix(const geom *g, unsigned char *a)
{
    unsigned k = (unsigned)g->k;
    if (g->kind == ST_ECC_RS) {
        gf_gen_cauchy1_matrix(a, g->k + g->m, g->k);
        return;
    }
    memset(a, 0, k * k);
    for (unsigned i = 0; i < k; i++) {
        a[i * k + i] = 1;
    }
    memset(a + k * k, 1, k);
}

/* Encoding tables per (kind, k, m), built on first use and kept for the life of the process
 * (at most 8 KiB each; a store uses one or two shapes).  Building them (generator matrix, then
 * ec_init_tables) takes ~0.1 µs for RS 8+2, half again the ~0.2 µs encode of a 4 KiB block.
 * A slot is published with a release CAS and read with an acquire load, so a thread that sees
 * the pointer also sees the table bytes written before it; a thread that loses the race frees
 * its own copy. */
static _Atomic(unsigned char *) enc_cache[2][MAXK + 1][MAXM + 1];

static int enc_tables(const geom *g, unsigned char **out)
{
    _Atomic(unsigned char *) *slot = &enc_cache[g->kind - 1][g->k][g->m];
    unsigned char *t = atomic_load_explicit(slot, memory_order_acquire);
    if (!t) {
        unsigned char a[MAXN * MAXK];
        gen_matrix(g, a);
        t = st_malloc(32 * (size_t)g->k * (size_t)g->m);
        if (!t) {
            return st_err(STRATA_E_NOMEM, "ecc: no memory for encoding tables");
        }
        ec_init_tables(g->k, g->m, a + g->k * g->k, t);
        unsigned char *prev = NULL;
        if (!atomic_compare_exchange_strong_explicit(slot, &prev, t, memory_order_acq_rel,
                                                     memory_order_acquire)) {
            st_free(t);
            t = prev;
        }
    }
    *out = t;
    return 0;
}

/* Runs ISA-L tables of `rows` output rows over k sources of s columns, source i being
 * src[i][0, len[i]) followed by zeros; writes s bytes to each out[j].  When any source is padded,
 * or s < TAIL, the last min(s, TAIL) columns (all the padding, see the file comment) are coded
 * from zero-padded TAIL-wide copies.  REQUIRES: len[i] == s or len[i] > s - TAIL for every i. */
static void run_code(int k, int rows, unsigned char *tbls, unsigned char **src, size_t *len,
                     size_t s, unsigned char **out)
{
    unsigned char *in[MAXK], *o[MAXM];
    unsigned char tail[MAXK][TAIL], tail_out[MAXM][TAIL];
    int padded = 0;
    for (int i = 0; i < k; i++) {
        padded |= len[i] < s;
    }
    /* ISA-L codes fewer than 64 columns byte by byte (several times slower): the last columns,
     * and a whole shard shorter than that (small WAL records), go through full-width stack
     * copies, zero-padded; zero columns code to zeros and are not copied out. */
    size_t body = !padded && s >= TAIL ? s : (s > TAIL ? s - TAIL : 0);
    for (size_t c0 = 0; c0 < body;) {
        size_t c = body - c0 < COL_CHUNK ? body - c0 : COL_CHUNK;
        for (int i = 0; i < k; i++) {
            in[i] = src[i] + c0;
        }
        for (int j = 0; j < rows; j++) {
            o[j] = out[j] + c0;
        }
        ec_encode_data((int)c, k, rows, tbls, in, o);
        c0 += c;
    }
    if (body == s) {
        return;
    }
    size_t rest = s - body;
    for (int i = 0; i < k; i++) {
        size_t have = len[i] < s ? (len[i] > body ? len[i] - body : 0) : rest;
        if (have) {
            memcpy(tail[i], src[i] + body, have);
        }
        memset(tail[i] + have, 0, TAIL - have);
        in[i] = tail[i];
    }
    for (int j = 0; j < rows; j++) {
        o[j] = tail_out[j];
    }
    ec_encode_data(TAIL, k, rows, tbls, in, o);
    for (int j = 0; j < rows; j++) {
        memcpy(out[j] + body, tail_out[j], rest);
    }
}

/* CRC-32C of a shard of s bytes: p[0, len) then zeros. */
static uint32_t shard_crc(const unsigned char *p, size_t len, size_t s)
{
    uint32_t crc = st_crc32c(p, len);
    for (size_t pad = s - len; pad > 0;) {
        size_t c = pad < sizeof(zeros) ? pad : sizeof(zeros);
        crc = st_crc32c_extend(crc, zeros, c);
        pad -= c;
    }
    return crc;
}

int st_ecc_encode(const st_ecc *e, const void *data, size_t n, void *parity)
{
    int rc = st_ecc_check(e);
    if (rc != 0 || e->kind == ST_ECC_NONE) {
        return rc ? rc : st_err(STRATA_E_INVALID, "ecc: encode with kind none");
    }
    geom g;
    geom_init(&g, e, n);
    unsigned char *tbls = NULL;
    if ((rc = enc_tables(&g, &tbls)) != 0) {
        return rc;
    }
    unsigned char *src[MAXK], *out[MAXM];
    size_t len[MAXK];
    for (int i = 0; i < g.k; i++) {
        src[i] = shard_ptr(&g, data, i);
        len[i] = shard_len(&g, i);
    }
    unsigned char *p = parity;
    for (int j = 0; j < g.m; j++) {
        out[j] = p + (size_t)j * g.s;
    }
    run_code(g.k, g.m, tbls, src, len, g.s, out);
    char *crcs = (char *)p + (size_t)g.m * g.s;
    for (int i = 0; i < g.k; i++) {
        st_encode_fixed32(crcs + 4 * i, shard_crc(src[i], len[i], g.s));
    }
    for (int j = 0; j < g.m; j++) {
        st_encode_fixed32(crcs + 4 * (g.k + j), st_crc32c(out[j], g.s));
    }
    st_encode_fixed32(crcs + 4 * (g.k + g.m), st_crc32c(crcs, 4 * (size_t)(g.k + g.m)));
    return 0;
}

int st_ecc_parity_ok(const st_ecc *e, const void *data, size_t n, const void *parity)
{
    int rc = st_ecc_check(e);
    if (rc != 0 || e->kind == ST_ECC_NONE) {
        return rc ? rc : 1; /* nothing stored, nothing to differ */
    }
    size_t len = st_ecc_parity_len(e, n);
    unsigned char *want = st_malloc(len);
    if (!want) {
        return st_err(STRATA_E_NOMEM, "ecc: no memory to scrub %zu parity bytes", len);
    }
    rc = st_ecc_encode(e, data, n, want);
    if (rc == 0) {
        rc = memcmp(want, parity, len) == 0;
    }
    st_free(want);
    return rc;
}

/* ---- healing ------------------------------------------------------------------------------- */

typedef struct healer {
    geom g;
    unsigned char *data;
    const unsigned char *par; /* parity shards */
    const char *crcs;         /* stored crc array */
    st_ecc_check_fn check;
    void *arg;
    int crcs_ok;             /* the crc array's own CRC verifies */
    unsigned char bad[MAXN]; /* shard's CRC differs from its stored entry */
    int nbad, nbad_data;
    int have_gen;
    unsigned char gen[MAXN * MAXK]; /* built on the first rebuild: ~k·m field inversions */
    unsigned char *work;            /* m·s bytes: rebuilt shards */
    unsigned char *tbls;            /* 32·k·m bytes: decode tables */
} healer;

static void classify(healer *h)
{
    const geom *g = &h->g;
    size_t alen = 4 * (size_t)(g->k + g->m);
    h->crcs_ok = st_crc32c(h->crcs, alen) == st_decode_fixed32(h->crcs + alen);
    h->nbad = h->nbad_data = 0;
    for (int r = 0; r < g->k + g->m; r++) {
        if (r < g->k && shard_len(g, r) == 0) {
            h->bad[r] = 0; /* all padding: known zeros, whatever its entry says */
            continue;
        }
        uint32_t crc = r < g->k ? shard_crc(shard_ptr(g, h->data, r), shard_len(g, r), g->s)
                                : st_crc32c(h->par + (size_t)(r - g->k) * g->s, g->s);
        h->bad[r] = crc != st_decode_fixed32(h->crcs + 4 * r);
        h->nbad += h->bad[r];
        h->nbad_data += r < g->k && h->bad[r];
    }
}

/* One zero bit fed to the CRC register: the error term times x. */
static uint32_t crc_xstep(uint32_t v)
{
    return (v >> 1) ^ (CRC32C_POLY & (0u - (v & 1u)));
}

/* Whether the first parity shard whose CRC still matches agrees with the data as it now is (1
 * when every parity shard fails its CRC: nothing to confirm with; 0 on NOMEM).  Confirms a
 * step (1) repair: an error that differs from one flipped bit by a multiple of the CRC-32C
 * polynomial has that bit's syndrome, and a caller's CRC-32C check (a table block's checksum)
 * is blind to the difference, so the flipped bit alone would make a wrong region "verify". */
static int parity_confirms(healer *h)
{
    const geom *g = &h->g;
    int p = 0;
    while (p < g->m && h->bad[g->k + p]) {
        p++;
    }
    unsigned char *tbls;
    if (p == g->m) {
        return 1;
    }
    if (enc_tables(g, &tbls) != 0) {
        return 0;
    }
    unsigned char *src[MAXK], *out[1] = {h->work};
    size_t len[MAXK];
    for (int i = 0; i < g->k; i++) {
        src[i] = shard_ptr(g, h->data, i);
        len[i] = shard_len(g, i);
    }
    run_code(g->k, 1, tbls + 32 * (size_t)g->k * (size_t)p, src, len, g->s, out);
    return memcmp(h->work, h->par + (size_t)p * g->s, g->s) == 0;
}

/* Step (1): CRC-32C is linear, so crc(damaged) ^ crc(original) depends only on the error
 * pattern.  A single flipped bit d bits before the end of the padded shard contributes
 * x^d · (the contribution of the last bit), which is CRC32C_POLY in the reflected register;
 * walking d upward one shift at a time finds the bit in O(8·s) without re-running a CRC.
 * Positions in the padding are skipped (that bit is not stored).  The repair must pass check
 * and agree with an intact parity shard (parity_confirms); else step (2) rebuilds the shard.
 * Returns 1 if healed. */
static int try_bit(healer *h, int i)
{
    const geom *g = &h->g;
    size_t len = shard_len(g, i);
    unsigned char *p = shard_ptr(g, h->data, i);
    if (len == 0) {
        return 0;
    }
    uint32_t syn = shard_crc(p, len, g->s) ^ st_decode_fixed32(h->crcs + 4 * i);
    uint32_t v = CRC32C_POLY;
    for (size_t d = 8 * (g->s - len); d > 0; d--) {
        v = crc_xstep(v);
    }
    for (size_t t = 8 * len; syn != 0 && t-- > 0; v = crc_xstep(v)) {
        if (v != syn) {
            continue;
        }
        /* t counts bits in CRC order: byte t/8, least significant bit first. */
        p[t / 8] ^= (unsigned char)(1u << (t % 8));
        if (h->check(h->arg, h->data, g->n) && parity_confirms(h)) {
            return 1;
        }
        p[t / 8] ^= (unsigned char)(1u << (t % 8));
        return 0; /* the syndrome names one bit; a second match would be a 2^31-bit shard */
    }
    return 0;
}

/* Exchanges the stored bytes of the lost data shards with their rebuilt copies in work. */
static void swap_lost(healer *h, const int *lost, int nl)
{
    for (int j = 0; j < nl; j++) {
        unsigned char *d = shard_ptr(&h->g, h->data, lost[j]);
        unsigned char *w = h->work + (size_t)j * h->g.s;
        for (size_t b = 0, len = shard_len(&h->g, lost[j]); b < len; b++) {
            unsigned char t = d[b];
            d[b] = w[b];
            w[b] = t;
        }
    }
}

/* Picks k trusted rows (data shards first) not marked in erase and rebuilds the erased data
 * shards from them (erase never marks an all-padding data shard: those are known zeros).
 * Returns 1 if the rebuilt region passes check, else 0 with the region as before. */
static int try_rebuild(healer *h, const unsigned char *erase)
{
    const geom *g = &h->g;
    int k = g->k, surv[MAXK], lost[MAXM], ns = 0, nl = 0;
    for (int r = 0; r < k + g->m; r++) {
        if (erase[r]) {
            if (r < k && nl < g->m) {
                lost[nl++] = r;
            }
        } else if (ns < k) {
            surv[ns++] = r;
        }
    }
    if (ns < k || nl == 0) {
        return 0;
    }
    unsigned char b[MAXK * MAXK], inv[MAXK * MAXK], dec[MAXM * MAXK];
    if (!h->have_gen) {
        gen_matrix(g, h->gen);
        h->have_gen = 1;
    }
    for (int i = 0; i < k; i++) {
        memcpy(b + i * k, h->gen + surv[i] * k, (size_t)k);
    }
    if (gf_invert_matrix(b, inv, k) != 0) {
        return 0; /* cannot happen for these generators: any k rows are independent */
    }
    for (int j = 0; j < nl; j++) {
        memcpy(dec + j * k, inv + lost[j] * k, (size_t)k);
    }
    ec_init_tables(k, nl, dec, h->tbls);
    unsigned char *src[MAXK], *out[MAXM];
    size_t len[MAXK];
    for (int i = 0; i < k; i++) {
        int r = surv[i];
        src[i] =
            r < k ? shard_ptr(g, h->data, r) : (unsigned char *)h->par + (size_t)(r - k) * g->s;
        len[i] = r < k ? shard_len(g, r) : g->s;
    }
    for (int j = 0; j < nl; j++) {
        out[j] = h->work + (size_t)j * g->s;
    }
    run_code(k, nl, h->tbls, src, len, g->s, out);
    swap_lost(h, lost, nl);
    if (h->check(h->arg, h->data, g->n)) {
        return 1;
    }
    swap_lost(h, lost, nl);
    return 0;
}

/* Step (3), the crc array being untrustworthy: each data shard alone is rebuilt from the other
 * data shards and one parity shard — the first whose CRC still matches its entry, else 0. */
static int try_each_alone(healer *h)
{
    const geom *g = &h->g;
    int p = 0;
    while (p < g->m && h->bad[g->k + p]) {
        p++;
    }
    if (p == g->m) {
        p = 0;
    }
    unsigned char erase[MAXN];
    for (int i = 0; i < g->k && shard_len(g, i) > 0; i++) {
        memset(erase, 0, sizeof(erase));
        memset(erase + g->k, 1, (size_t)g->m);
        erase[g->k + p] = 0;
        erase[i] = 1;
        if (try_rebuild(h, erase)) {
            return 1;
        }
    }
    return 0;
}

static int run_heal(healer *h, int *how)
{
    const geom *g = &h->g;
    classify(h);
    if (h->nbad_data == 1) {
        int i = 0;
        while (!h->bad[i]) {
            i++;
        }
        if (try_bit(h, i)) {
            *how = ST_ECC_HEALED_BIT;
            return 0;
        }
    }
    if (h->nbad_data >= 1 && h->nbad <= g->m && try_rebuild(h, h->bad)) {
        *how = ST_ECC_HEALED_SHARDS;
        return 0;
    }
    if (!h->crcs_ok && try_each_alone(h)) {
        *how = ST_ECC_HEALED_SHARDS;
        return 0;
    }
    return st_err(STRATA_E_CORRUPTION,
                  "parity cannot heal the region: %d of %d data and %d of %d parity shards fail "
                  "their CRC%s",
                  h->nbad_data, g->k, h->nbad - h->nbad_data, g->m,
                  h->crcs_ok ? "" : ", CRC array damaged");
}

int st_ecc_heal(const st_ecc *e, void *data, size_t n, const void *parity, st_ecc_check_fn check,
                void *arg, int *how)
{
    int rc = st_ecc_check(e);
    if (rc != 0) {
        return rc;
    }
    if (!check) {
        return st_err(STRATA_E_INVALID, "ecc: heal without a check function");
    }
    if (e->kind == ST_ECC_NONE) {
        return st_err(STRATA_E_CORRUPTION, "no parity to heal the region from");
    }
    healer h = {.data = data, .par = parity, .check = check, .arg = arg};
    geom_init(&h.g, e, n);
    size_t tlen = 32 * (size_t)h.g.k * (size_t)h.g.m;
    if (h.g.s > (SIZE_MAX - tlen) / (size_t)h.g.m) {
        return st_err(STRATA_E_NOMEM, "ecc: a %zu-byte region is too large to heal", n);
    }
    h.crcs = (const char *)parity + (size_t)h.g.m * h.g.s;
    h.work = st_malloc((size_t)h.g.m * h.g.s + tlen);
    if (!h.work) {
        return st_err(STRATA_E_NOMEM, "ecc: no memory to heal a %zu-byte region", n);
    }
    h.tbls = h.work + (size_t)h.g.m * h.g.s;
    int healed_how = 0;
    rc = run_heal(&h, &healed_how);
    if (rc == 0 && how) {
        *how = healed_how;
    }
    st_free(h.work);
    return rc;
}
