/* block.c — block contents reader and iterator (block.h).
 *
 * Invariants after st_block_init: num_restarts >= 1, restart[0] == 0, restart offsets strictly
 * increase and are all < restarts (restart[0] may equal it for an empty block).  Entries are
 * decoded lazily; each decode checks its three varints and both lengths against the end of the
 * entries, and that the shared prefix exists in the previous key.
 *
 * Protected blocks: entry i's checksum is at prot + 4 * num_restarts + i * prot_bytes; the
 * iterator knows i by counting entries from the start of the restart interval it entered
 * (first-entry indexes are stored per interval), so checking costs one hash and no search. */
#include "table/block.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/ikey.h"
#include "util/prot.h"
#include "util/status.h"

static int bad_block(const st_block *b, const char *what, uint64_t at)
{
    return st_err(STRATA_E_CORRUPTION, "%s: corrupted block at offset %" PRIu64 ": %s (block "
                  "offset %" PRIu64 ")", b->fname ? b->fname : "?", b->offset, what, at);
}

static inline uint32_t restart_at(const st_block *b, uint32_t i)
{
    return st_decode_fixed32(b->data + b->restarts + 4 * (size_t)i);
}

static int check_restarts(const st_block *b)
{
    uint32_t prev = restart_at(b, 0);
    if (prev != 0) {
        return bad_block(b, "first restart point is not 0", b->restarts);
    }
    for (uint32_t i = 1; i < b->num_restarts; i++) {
        uint32_t r = restart_at(b, i);
        if (r <= prev || r >= b->restarts) {
            return bad_block(b, "restart offsets out of order or out of range",
                             b->restarts + 4 * (uint64_t)i);
        }
        prev = r;
    }
    return 0;
}

int st_block_init(st_block *b, st_slice contents, char *heap, const char *fname,
                  uint64_t offset)
{
    b->prot = NULL;
    b->prot_entries = 0;
    b->prot_bytes = 0;
    b->data = contents.data;
    b->heap = heap;
    b->fname = fname;
    b->offset = offset;
    b->size = b->restarts = b->num_restarts = 0;
    if (contents.size < 8 || contents.size > UINT32_MAX) {
        st_block_free(b);
        return bad_block(b, "bad block size", contents.size);
    }
    b->size = (uint32_t)contents.size;
    uint32_t n = st_decode_fixed32(contents.data + contents.size - 4);
    if (n == 0 || n > (b->size - 4) / 4) {
        st_block_free(b);
        return bad_block(b, "bad restart count", b->size - 4);
    }
    b->num_restarts = n;
    b->restarts = b->size - 4 - 4 * n;
    int rc = check_restarts(b);
    if (rc) {
        st_block_free(b);
    }
    return rc;
}

void st_block_free(st_block *b)
{
    st_free(b->heap);
    b->heap = NULL;
    st_free(b->prot);
    b->prot = NULL;
    b->data = NULL;
    b->size = b->restarts = 0; /* every iterator on it now sees nothing */
}

/* ---- per-key protection -------------------------------------------------------------------- */

static inline uint32_t prot_first(const st_block *b, uint32_t restart)
{
    uint32_t v;
    memcpy(&v, b->prot + 4 * (size_t)restart, sizeof(v));
    return v;
}

/* ---- iterator ------------------------------------------------------------------------------ */

static int cmp_keys(const st_block_iter *it, st_slice a, st_slice b)
{
    return it->ucmp ? st_ikey_cmp(it->ucmp, a, b) : st_slice_cmp(a, b);
}

static void set_invalid(st_block_iter *it)
{
    it->cur = it->next = it->b->restarts;
    it->key = it->value = st_slice_make("", 0);
}

static void fail(st_block_iter *it, const char *what, uint64_t at)
{
    if (!it->status) {
        it->status = bad_block(it->b, what, at);
    }
    set_invalid(it);
}

/* Decodes the entry header at off: lengths and where the key bytes start.  0 if malformed. */
static int decode_header(const st_block *b, uint32_t off, uint32_t *shared, uint32_t *unshared,
                         uint32_t *vlen, const char **keyp)
{
    const char *p = b->data + off, *limit = b->data + b->restarts;
    if (limit - p >= 3 && ((p[0] | p[1] | p[2]) & 0x80) == 0) {
        *shared = (unsigned char)p[0]; /* fast path: three one-byte varints */
        *unshared = (unsigned char)p[1];
        *vlen = (unsigned char)p[2];
        p += 3;
    } else if (!(p = st_decode_varint32(p, limit, shared)) ||
               !(p = st_decode_varint32(p, limit, unshared)) ||
               !(p = st_decode_varint32(p, limit, vlen))) {
        return 0;
    }
    *keyp = p;
    return (size_t)(limit - p) >= (uint64_t)*unshared + *vlen;
}

/* Makes room for n key bytes in the key buffer; a current key living in the old buffer is moved
 * along (its bytes are the prefix the next key shares).  Returns the buffer or NULL when out of
 * memory. */
static char *key_room(st_block_iter *it, size_t n)
{
    if (n <= ST_BLOCK_KEY_INLINE && !it->kheap) {
        return it->kinline;
    }
    if (n <= it->kheap_cap) {
        return it->kheap;
    }
    size_t cap = n < 256 ? 256 : n + n / 2;
    char *p = st_malloc(cap);
    if (!p) {
        return NULL;
    }
    /* the shared prefix may sit in the old buffer: carry it over */
    if (it->key.size && (it->key.data == it->kinline || it->key.data == it->kheap)) {
        memcpy(p, it->key.data, it->key.size);
        it->key.data = p;
    }
    st_free(it->kheap);
    it->kheap = p;
    it->kheap_cap = cap;
    return p;
}

/* Builds the key of an entry with shared/unshared bytes whose new bytes are at src. */
static int build_key(st_block_iter *it, uint32_t shared, uint32_t unshared, const char *src)
{
    if (shared == 0) {
        it->key = st_slice_make(src, unshared); /* a full key: use it in place */
        return 0;
    }
    size_t n = (size_t)shared + unshared;
    char *kb = key_room(it, n);
    if (!kb) {
        it->status = st_err(STRATA_E_NOMEM, "%s: no memory for a key", it->b->fname);
        return -1;
    }
    if (it->key.data != kb) {
        memcpy(kb, it->key.data, shared); /* previous key lives in the block */
    }
    memcpy(kb + shared, src, unshared);
    it->key = st_slice_make(kb, n);
    return 0;
}

/* Decodes the entry at it->next and makes it current. */
static void parse_next(st_block_iter *it)
{
    const st_block *b = it->b;
    uint32_t off = it->next, shared, unshared, vlen;
    const char *kp;
    if (off >= b->restarts) {
        set_invalid(it);
        return;
    }
    if (!decode_header(b, off, &shared, &unshared, &vlen, &kp)) {
        fail(it, "entry overruns the block", off);
        return;
    }
    if (shared > it->key.size) {
        fail(it, "shared key prefix longer than the previous key", off);
        return;
    }
    if (build_key(it, shared, unshared, kp)) {
        set_invalid(it);
        return;
    }
    if (it->ucmp && it->key.size < ST_IKEY_TRAILER) {
        fail(it, "internal key shorter than 8 bytes", off);
        return;
    }
    it->cur = off;
    it->idx = it->next_idx++;
    it->value = st_slice_make(kp + unshared, vlen);
    it->next = (uint32_t)(kp + unshared + vlen - b->data);
    while (it->restart_idx + 1 < b->num_restarts && restart_at(b, it->restart_idx + 1) <= off) {
        it->restart_idx++;
    }
}

/* Positions before the first entry of restart interval i (parse_next then reads it). */
static void to_restart(st_block_iter *it, uint32_t i)
{
    it->key = st_slice_make("", 0);
    it->restart_idx = i;
    it->next = restart_at(it->b, i);
    if (it->b->prot) {
        /* The checksums live apart from the entries: fetch this interval's while it is scanned. */
        it->next_idx = prot_first(it->b, i);
        __builtin_prefetch(it->b->prot + 4 * (size_t)it->b->num_restarts +
                           (size_t)it->next_idx * (size_t)it->b->prot_bytes);
    } else {
        it->next_idx = 0;
    }
}

/* Checks the current entry of a protected block against its stored checksum. */
static void check_prot(st_block_iter *it)
{
    const st_block *b = it->b;
    if (!st_block_iter_valid(it)) {
        return;
    }
    int n = b->prot_bytes;
    const char *stored = b->prot + 4 * (size_t)b->num_restarts + (size_t)it->idx * (size_t)n;
    if (it->idx < b->prot_entries && it->key.size >= ST_IKEY_TRAILER &&
        st_prot_match(st_prot_ikv(it->key, it->value), st_prot_load(stored, n), n)) {
        return;
    }
    char where[64 + ST_ERRMSG_MAX / 4];
    snprintf(where, sizeof(where), "%.*s, block at offset %" PRIu64, ST_ERRMSG_MAX / 4,
             b->fname ? b->fname : "?", b->offset);
    st_slice ukey = it->key.size >= ST_IKEY_TRAILER ? st_ikey_user(it->key) : it->key;
    if (!it->status) {
        it->status = st_prot_error("block cache", where, ukey);
    }
    set_invalid(it);
}

/* Called at the end of every positioning: unprotected blocks pay one predictable branch. */
static inline void after_move(st_block_iter *it)
{
    if (ST_UNLIKELY(it->b->prot != NULL)) {
        check_prot(it);
    }
}

void st_block_iter_seek_to_first(st_block_iter *it)
{
    if (it->status) {
        return;
    }
    to_restart(it, 0);
    parse_next(it);
    after_move(it);
}

void st_block_iter_seek_to_last(st_block_iter *it)
{
    if (it->status) {
        return;
    }
    to_restart(it, it->b->num_restarts - 1);
    parse_next(it);
    while (st_block_iter_valid(it) && it->next < it->b->restarts) {
        parse_next(it);
    }
    after_move(it);
}

void st_block_iter_next(st_block_iter *it)
{
    parse_next(it);
    after_move(it);
}

/* Remembers the current entry (offset and full key) as entry n of the interval being scanned;
 * 0 when it cannot (too many entries, out of memory): the scan then just goes on uncached. */
static int remember(st_block_iter *it, int n)
{
    size_t start = n ? it->pc_kend[n - 1] : 0, end = start + it->key.size;
    if (n >= ST_BLOCK_PREV_MAX || end > UINT32_MAX) {
        return 0;
    }
    if (end > it->pc_cap) {
        size_t cap = end < 1024 ? 1024 : end * 2;
        char *p = st_realloc(it->pc_keys, cap);
        if (!p) {
            return 0;
        }
        it->pc_keys = p;
        it->pc_cap = cap;
    }
    if (it->key.size) { /* empty keys (bytewise blocks) may leave pc_keys unallocated */
        memcpy(it->pc_keys + start, it->key.data, it->key.size);
    }
    it->pc_off[n] = it->cur;
    it->pc_kend[n] = (uint32_t)end;
    return 1;
}

/* Makes remembered entry i of interval r current (its header was validated when scanned). */
static void restore(st_block_iter *it, uint32_t r, int i)
{
    uint32_t shared, unshared, vlen;
    const char *kp;
    uint32_t off = it->pc_off[i];
    if (!decode_header(it->b, off, &shared, &unshared, &vlen, &kp)) {
        fail(it, "entry overruns the block", off);
        return;
    }
    uint32_t kstart = i ? it->pc_kend[i - 1] : 0;
    it->cur = off;
    it->idx = it->b->prot ? prot_first(it->b, r) + (uint32_t)i : 0;
    it->next_idx = it->idx + 1;
    it->key = it->pc_keys ? st_slice_make(it->pc_keys + kstart, it->pc_kend[i] - kstart)
                          : st_slice_make("", 0);
    it->value = st_slice_make(kp + unshared, vlen);
    it->next = (uint32_t)(kp + unshared + vlen - it->b->data);
    it->restart_idx = r;
}

void st_block_iter_prev(st_block_iter *it)
{
    uint32_t orig = it->cur;
    while (restart_at(it->b, it->restart_idx) >= orig) {
        if (it->restart_idx == 0) {
            set_invalid(it); /* was the first entry */
            return;
        }
        it->restart_idx--;
    }
    uint32_t r = it->restart_idx;
    if (it->pc_restart == r && orig <= it->pc_limit) {
        for (int i = it->pc_n - 1; i >= 0; i--) {
            if (it->pc_off[i] < orig) {
                restore(it, r, i);
                after_move(it);
                return;
            }
        }
    }
    /* Scan the interval up to orig, remembering its entries for the steps that follow. */
    it->pc_restart = UINT32_MAX;
    int n = 0, caching = 1;
    to_restart(it, r);
    do {
        parse_next(it);
        if (caching && st_block_iter_valid(it)) {
            caching = remember(it, n);
            n += caching;
        }
    } while (st_block_iter_valid(it) && it->next < orig);
    if (caching && st_block_iter_valid(it)) {
        it->pc_restart = r;
        it->pc_limit = orig;
        it->pc_n = n;
    }
    after_move(it);
}

/* The full key stored at restart point i, in place; 0 if malformed. */
static int restart_key(st_block_iter *it, uint32_t i, st_slice *key)
{
    uint32_t off = restart_at(it->b, i), shared, unshared, vlen;
    const char *kp;
    if (!decode_header(it->b, off, &shared, &unshared, &vlen, &kp) || shared != 0 ||
        (it->ucmp && unshared < ST_IKEY_TRAILER)) {
        fail(it, "bad entry at a restart point", off);
        return 0;
    }
    *key = st_slice_make(kp, unshared);
    return 1;
}

void st_block_iter_seek(st_block_iter *it, st_slice target)
{
    if (it->status) {
        return;
    }
    if (it->b->prot) {
        __builtin_prefetch(it->b->prot); /* first-entry indexes, needed after the search */
    }
    /* last restart point whose key is < target (or 0) */
    uint32_t lo = 0, hi = it->b->num_restarts - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        st_slice k;
        if (!restart_key(it, mid, &k)) {
            return;
        }
        if (cmp_keys(it, k, target) < 0) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    to_restart(it, lo);
    do {
        parse_next(it);
    } while (st_block_iter_valid(it) && cmp_keys(it, it->key, target) < 0);
    after_move(it);
}

void st_block_iter_init(st_block_iter *it, const st_block *b, const st_comparator *ucmp)
{
    it->ucmp = ucmp;
    it->kheap = NULL;
    it->kheap_cap = 0;
    it->pc_keys = NULL;
    it->pc_cap = 0;
    it->base.ops = NULL;
    it->base.cleanups = NULL;
    st_block_iter_reset(it, b);
}

void st_block_iter_reset(st_block_iter *it, const st_block *b)
{
    it->b = b;
    it->status = 0;
    it->restart_idx = 0;
    it->idx = it->next_idx = 0;
    it->pc_restart = UINT32_MAX; /* the remembered entries belong to the old block */
    set_invalid(it);
}

void st_block_iter_release(st_block_iter *it)
{
    st_free(it->kheap);
    it->kheap = NULL;
    it->kheap_cap = 0;
    st_free(it->pc_keys);
    it->pc_keys = NULL;
    it->pc_cap = 0;
}

/* ---- computing and checking per-key protection --------------------------------------------- */

int st_block_protect(st_block *b, const st_comparator *ucmp, int n)
{
    st_buf buf = ST_BUF_INIT;
    size_t first_len = 4 * (size_t)b->num_restarts;
    /* Sized for entries of ~32 bytes or more (a 4 KiB block of 100-byte values needs one pass). */
    if (st_buf_reserve(&buf, first_len + (size_t)n * (b->restarts / 32 + 1))) {
        return st_err(STRATA_E_NOMEM, "%s: no memory to protect a block", b->fname);
    }
    memset(buf.data, 0, first_len);
    buf.len = first_len;
    st_block_iter it;
    st_block_iter_init(&it, b, ucmp);
    uint32_t count = 0, restart = UINT32_MAX;
    int rc = 0;
    for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it)) {
        if (it.restart_idx != restart) {
            restart = it.restart_idx;
            memcpy(buf.data + 4 * (size_t)restart, &count, sizeof(count));
        }
        if (buf.len + (size_t)n > buf.cap && st_buf_reserve(&buf, (size_t)n)) {
            rc = st_err(STRATA_E_NOMEM, "%s: no memory to protect a block", b->fname);
            break;
        }
        st_prot_store(buf.data + buf.len, st_prot_ikv(it.key, it.value), n);
        buf.len += (size_t)n;
        count++;
    }
    rc = rc ? rc : it.status;
    st_block_iter_release(&it);
    if (rc) {
        st_buf_free(&buf);
        return rc;
    }
    b->prot = buf.data;
    b->prot_entries = count;
    b->prot_bytes = n;
    return 0;
}

int st_block_check_entries(st_slice contents, const st_comparator *ucmp, const uint64_t *pi,
                           size_t n, const char *where)
{
    st_block b;
    int rc = st_block_init(&b, contents, NULL, where, 0);
    if (rc) {
        return st_err_context(rc, "per-key protection check in %s", where);
    }
    st_block_iter it;
    st_block_iter_init(&it, &b, ucmp);
    size_t i = 0;
    for (st_block_iter_seek_to_first(&it); !rc && st_block_iter_valid(&it);
         st_block_iter_next(&it), i++) {
        if (i >= n || st_prot_ikv(it.key, it.value) != pi[i]) {
            rc = st_prot_error(where, i >= n ? "more entries than checksums" : NULL,
                               st_ikey_user(it.key));
        }
    }
    if (!rc && it.status) {
        rc = st_err_context(it.status, "per-key protection check in %s", where);
    }
    if (!rc && i != n) {
        rc = st_err(STRATA_E_CORRUPTION,
                    "per-key protection mismatch in %s: the block holds %zu "
                    "entries but %zu were added",
                    where, i, n);
    }
    st_block_iter_release(&it);
    return rc;
}

/* ---- st_iter adapter ----------------------------------------------------------------------- */

static int v_valid(const st_iter *i) { return st_block_iter_valid((const st_block_iter *)i); }
static void v_first(st_iter *i) { st_block_iter_seek_to_first((st_block_iter *)i); }
static void v_last(st_iter *i) { st_block_iter_seek_to_last((st_block_iter *)i); }
static void v_seek(st_iter *i, st_slice t) { st_block_iter_seek((st_block_iter *)i, t); }
static void v_next(st_iter *i) { st_block_iter_next((st_block_iter *)i); }
static void v_prev(st_iter *i) { st_block_iter_prev((st_block_iter *)i); }
static st_slice v_key(const st_iter *i) { return ((const st_block_iter *)i)->key; }
static st_slice v_value(const st_iter *i) { return ((const st_block_iter *)i)->value; }
static int v_status(const st_iter *i) { return ((const st_block_iter *)i)->status; }

static void v_destroy(st_iter *i)
{
    st_block_iter_release((st_block_iter *)i);
    st_free(i);
}

static const struct st_iter_ops block_iter_ops = {v_valid, v_first, v_last, v_seek,   v_next,
                                                  v_prev,  v_key,   v_value, v_status, v_destroy};

st_iter *st_block_iter_new(const st_block *b, const st_comparator *ucmp)
{
    st_block_iter *it = st_malloc(sizeof(*it));
    if (!it) {
        return NULL;
    }
    st_block_iter_init(it, b, ucmp);
    st_iter_init(&it->base, &block_iter_ops);
    return &it->base;
}
