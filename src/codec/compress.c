/* compress.c — the compression codecs behind compress.h.  Library state: one zstd compression
 * context per compressor (so a table builder reuses it for every block) and one zstd
 * decompression context per thread (created on first use, freed at thread exit), because
 * creating a context costs far more than decompressing a 4 KiB block.
 *
 * Hostile input: the raw length is read and bounded (ST_COMPRESS_MAX_RAW, and the codec's maximum
 * expansion ratio times the body length) before the output buffer is allocated; the decoders used
 * (snappy_uncompress, LZ4_decompress_safe, ZSTD_decompressDCtx) never write past the buffer we
 * give them, and the decoded length must equal the declared one. */
#include "codec/compress.h"

#include <pthread.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/status.h"

#ifdef STRATA_HAVE_SNAPPY
#include <snappy-c.h>
#endif
#ifdef STRATA_HAVE_LZ4
#include <lz4.h>
#endif
#ifdef STRATA_HAVE_ZSTD
#include <zstd.h>
#endif

struct st_compressor {
    int type;
    int level;
#ifdef STRATA_HAVE_ZSTD
    ZSTD_CCtx *cctx;
#endif
};

int st_compression_supported(int type)
{
    switch (type) {
    case STRATA_COMPRESSION_NONE: return 1;
#ifdef STRATA_HAVE_SNAPPY
    case STRATA_COMPRESSION_SNAPPY: return 1;
#endif
#ifdef STRATA_HAVE_LZ4
    case STRATA_COMPRESSION_LZ4: return 1;
#endif
#ifdef STRATA_HAVE_ZSTD
    case STRATA_COMPRESSION_ZSTD: return 1;
#endif
    default: return 0;
    }
}

const char *st_compression_name(int type)
{
    switch (type) {
    case STRATA_COMPRESSION_NONE: return "none";
    case STRATA_COMPRESSION_SNAPPY: return "snappy";
    case STRATA_COMPRESSION_LZ4: return "lz4";
    case STRATA_COMPRESSION_ZSTD: return "zstd";
    default: return "unknown";
    }
}

int st_compression_check(int type)
{
    if (type < STRATA_COMPRESSION_NONE || type > STRATA_COMPRESSION_ZSTD) {
        return st_err(STRATA_E_INVALID, "unknown compression type %d", type);
    }
    if (!st_compression_supported(type)) {
        return st_err(STRATA_E_NOTSUP, "%s compression is not supported by this build "
                      "(compiled without the %s library)", st_compression_name(type),
                      st_compression_name(type));
    }
    return 0;
}

int st_compressor_create(int type, int level, st_compressor **out)
{
    int rc = st_compression_check(type);
    if (rc) {
        return rc;
    }
    st_compressor *c = st_calloc(1, sizeof(*c));
    if (!c) {
        return STRATA_E_NOMEM;
    }
    c->type = type;
    c->level = level;
#ifdef STRATA_HAVE_ZSTD
    if (type == STRATA_COMPRESSION_ZSTD && !(c->cctx = ZSTD_createCCtx())) {
        st_free(c);
        return STRATA_E_NOMEM;
    }
#endif
    *out = c;
    return 0;
}

void st_compressor_destroy(st_compressor *c)
{
    if (!c) {
        return;
    }
#ifdef STRATA_HAVE_ZSTD
    ZSTD_freeCCtx(c->cctx);
#endif
    st_free(c);
}

int st_compressor_type(const st_compressor *c)
{
    return c->type;
}

/* ---- compression ------------------------------------------------------------------------ */

#ifdef STRATA_HAVE_SNAPPY
static int snappy_comp(st_slice raw, st_buf *out)
{
    size_t n = snappy_max_compressed_length(raw.size);
    if (st_buf_reserve(out, n)) {
        return STRATA_E_NOMEM;
    }
    if (snappy_compress(raw.data, raw.size, out->data, &n) != SNAPPY_OK) {
        return 0;
    }
    out->len = n;
    return 1;
}
#endif

#ifdef STRATA_HAVE_LZ4
static int lz4_comp(st_slice raw, st_buf *out)
{
    int bound = LZ4_compressBound((int)raw.size);
    if (bound <= 0 || st_buf_reserve(out, (size_t)bound + 5)) {
        return bound <= 0 ? 0 : STRATA_E_NOMEM;
    }
    char *p = st_encode_varint32(out->data, (uint32_t)raw.size);
    size_t hdr = (size_t)(p - out->data);
    int n = LZ4_compress_default(raw.data, p, (int)raw.size, bound);
    if (n <= 0) {
        return 0;
    }
    out->len = hdr + (size_t)n;
    return 1;
}
#endif

#ifdef STRATA_HAVE_ZSTD
static int zstd_comp(st_compressor *c, st_slice raw, st_buf *out)
{
    size_t bound = ZSTD_compressBound(raw.size);
    if (st_buf_reserve(out, bound + 5)) {
        return STRATA_E_NOMEM;
    }
    char *p = st_encode_varint32(out->data, (uint32_t)raw.size);
    size_t hdr = (size_t)(p - out->data);
    size_t n = ZSTD_compressCCtx(c->cctx, p, bound, raw.data, raw.size, c->level);
    if (ZSTD_isError(n)) {
        return 0;
    }
    out->len = hdr + n;
    return 1;
}
#endif

int st_compress(st_compressor *c, st_slice raw, st_buf *out)
{
    st_buf_clear(out);
    if (raw.size > ST_COMPRESS_MAX_RAW) {
        return 0;
    }
    switch (c->type) {
#ifdef STRATA_HAVE_SNAPPY
    case STRATA_COMPRESSION_SNAPPY: return snappy_comp(raw, out);
#endif
#ifdef STRATA_HAVE_LZ4
    case STRATA_COMPRESSION_LZ4: return lz4_comp(raw, out);
#endif
#ifdef STRATA_HAVE_ZSTD
    case STRATA_COMPRESSION_ZSTD: return zstd_comp(c, raw, out);
#endif
    default: return 0;
    }
}

/* ---- decompression ---------------------------------------------------------------------- */

/* Checks a declared raw length against the cap and the codec's maximum expansion: a body of n
 * bytes can never decode to more than about n * ratio bytes, so a larger claim is corruption and
 * is refused before any allocation. */
ST_UNUSED static int check_raw_len(int type, size_t raw_len, size_t body_len, size_t ratio)
{
    if (raw_len > ST_COMPRESS_MAX_RAW) {
        return st_err(STRATA_E_CORRUPTION, "%s block declares %zu raw bytes (limit %zu)",
                      st_compression_name(type), raw_len, ST_COMPRESS_MAX_RAW);
    }
    if (raw_len > 64 && (raw_len - 64) / ratio > body_len) {
        return st_err(STRATA_E_CORRUPTION, "%s block declares %zu raw bytes from %zu stored",
                      st_compression_name(type), raw_len, body_len);
    }
    return 0;
}

/* Reads the varint32 raw-length prefix used by the LZ4 and zstd framing. */
ST_UNUSED static int get_prefix(int type, st_slice *body, size_t ratio, size_t *raw_len)
{
    uint32_t n;
    if (!st_get_varint32(body, &n)) {
        return st_err(STRATA_E_CORRUPTION, "%s block has a malformed length prefix",
                      st_compression_name(type));
    }
    *raw_len = n;
    return check_raw_len(type, n, body->size, ratio);
}

ST_UNUSED static int decoded_badly(int type)
{
    return st_err(STRATA_E_CORRUPTION, "%s block does not decompress",
                  st_compression_name(type));
}

#ifdef STRATA_HAVE_SNAPPY
static int snappy_decomp(st_slice body, char **out, size_t *out_len)
{
    size_t raw_len, n;
    if (snappy_uncompressed_length(body.data, body.size, &raw_len) != SNAPPY_OK) {
        return decoded_badly(STRATA_COMPRESSION_SNAPPY);
    }
    int rc = check_raw_len(STRATA_COMPRESSION_SNAPPY, raw_len, body.size, 32);
    if (rc) {
        return rc;
    }
    char *buf = st_malloc(raw_len);
    if (!buf) {
        return STRATA_E_NOMEM;
    }
    n = raw_len;
    if (snappy_uncompress(body.data, body.size, buf, &n) != SNAPPY_OK || n != raw_len) {
        st_free(buf);
        return decoded_badly(STRATA_COMPRESSION_SNAPPY);
    }
    *out = buf;
    *out_len = raw_len;
    return 0;
}
#endif

#ifdef STRATA_HAVE_LZ4
static int lz4_decomp(st_slice body, char **out, size_t *out_len)
{
    size_t raw_len;
    int rc = get_prefix(STRATA_COMPRESSION_LZ4, &body, 256, &raw_len);
    if (rc) {
        return rc;
    }
    char *buf = st_malloc(raw_len);
    if (!buf) {
        return STRATA_E_NOMEM;
    }
    int n = body.size > (size_t)LZ4_MAX_INPUT_SIZE
                ? -1
                : LZ4_decompress_safe(body.data, buf, (int)body.size, (int)raw_len);
    if (n < 0 || (size_t)n != raw_len) {
        st_free(buf);
        return decoded_badly(STRATA_COMPRESSION_LZ4);
    }
    *out = buf;
    *out_len = raw_len;
    return 0;
}
#endif

#ifdef STRATA_HAVE_ZSTD
static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;
static int dctx_key_ok;

static void free_dctx(void *p)
{
    ZSTD_freeDCtx(p);
}

static void make_dctx_key(void)
{
    dctx_key_ok = pthread_key_create(&dctx_key, free_dctx) == 0;
}

/* This thread's decompression context, or NULL when out of memory. */
static ZSTD_DCtx *thread_dctx(void)
{
    pthread_once(&dctx_once, make_dctx_key);
    if (!dctx_key_ok) {
        return NULL;
    }
    ZSTD_DCtx *d = pthread_getspecific(dctx_key);
    if (!d && (d = ZSTD_createDCtx()) != NULL && pthread_setspecific(dctx_key, d) != 0) {
        ZSTD_freeDCtx(d);
        d = NULL;
    }
    return d;
}

static int zstd_decomp(st_slice body, char **out, size_t *out_len)
{
    size_t raw_len;
    int rc = get_prefix(STRATA_COMPRESSION_ZSTD, &body, 65536, &raw_len);
    if (rc) {
        return rc;
    }
    ZSTD_DCtx *d = thread_dctx();
    char *buf = d ? st_malloc(raw_len) : NULL;
    if (!buf) {
        return STRATA_E_NOMEM;
    }
    size_t n = ZSTD_decompressDCtx(d, buf, raw_len, body.data, body.size);
    if (ZSTD_isError(n) || n != raw_len) {
        st_free(buf);
        return decoded_badly(STRATA_COMPRESSION_ZSTD);
    }
    *out = buf;
    *out_len = raw_len;
    return 0;
}
#endif

int st_decompress(int type, st_slice body, char **out, size_t *out_len)
{
    switch (type) {
#ifdef STRATA_HAVE_SNAPPY
    case STRATA_COMPRESSION_SNAPPY: return snappy_decomp(body, out, out_len);
#endif
#ifdef STRATA_HAVE_LZ4
    case STRATA_COMPRESSION_LZ4: return lz4_decomp(body, out, out_len);
#endif
#ifdef STRATA_HAVE_ZSTD
    case STRATA_COMPRESSION_ZSTD: return zstd_decomp(body, out, out_len);
#endif
    default: break;
    }
    (void)body, (void)out, (void)out_len; /* unused when every codec is compiled out */
    if (type >= STRATA_COMPRESSION_SNAPPY && type <= STRATA_COMPRESSION_ZSTD) {
        return st_err(STRATA_E_NOTSUP, "block uses %s compression, which this build does not "
                      "support (compiled without %s)", st_compression_name(type),
                      st_compression_name(type));
    }
    return st_err(STRATA_E_NOTSUP, "block uses compression type %d, not supported by this "
                  "build", type);
}
