/* memtable.c — the in-memory write buffer: a skip list of encoded entries in an arena.
 *
 * Entry encoding (in memory only, never written to disk), stored inline after the node's tower:
 *
 *     varint32  ikey_len            internal key length = user key length + 8
 *     bytes     ikey[ikey_len]      user key ‖ fixed64 trailer (seq << 8) | type  (util/ikey.h)
 *     varint32  value_len
 *     bytes     value[value_len]
 *     bytes     prot[N]             per-key protection, N = protection bytes (absent when off):
 *                                   the low N bytes of st_prot_ikv(ikey, value), little-endian
 *
 * Entries are ordered by internal key (user key ascending by the user comparator, then trailer
 * descending).  Searches compare against a decoded probe (user key + trailer) so neither a lookup
 * nor an insert has to re-encode or re-decode its target per comparison; with the bytewise
 * comparator the user-key comparison is an inline memcmp.
 *
 * Protection costs nothing when off: no stored bytes, and iterators get a vtable without checks;
 * a point lookup pays one predictable branch.  When on, an insert hashes the arena copy once
 * (verifying it against the batch's checksum and storing it in one go), a lookup hashes the entry
 * it lands on, an iterator each entry it is positioned on.
 *
 * Concurrency: one writer at a time (caller-serialized); readers are lock-free through the skip
 * list.  Counters are relaxed atomics (statistics: they order nothing).  The reference count is
 * atomic; the last unref frees the arena and the struct. */
#include "mem/memtable.h"

#include <assert.h>
#include <stdatomic.h>
#include <string.h>

#include "mem/skiplist.h"
#include "strata.h"
#include "util/alloc.h"
#include "util/arena.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/ikey.h"
#include "util/mutex.h"
#include "util/range_del.h"
#include "util/prot.h"
#include "util/status.h"

#define RDEL_CHUNK 4096 /* tombstones per chunk */
#define RDEL_DIR 4096   /* chunks: 16M tombstones per memtable at most */
#define RDEL_SMALL 256  /* the small tier is folded into the big one beyond this */

struct st_memtable {
    atomic_int refs;
    const st_comparator *ucmp;
    st_arena arena;
    st_skiplist list;
    atomic_uint_fast64_t num_entries;
    atomic_uint_fast64_t num_deletes;
    atomic_uint_fast64_t first_seq;
    atomic_uint_fast64_t last_seq;
    int prot_bytes; /* per-key protection bytes after each value; 0: off */
    /* Range tombstones: their own skip list (same entry encoding: start ‖ trailer, value end),
     * and a fragmented list built from it on demand, cached until another tombstone arrives.
     * num_rdels is stored (release) after the insert, so a reader that loads it (acquire) sees at
     * least that many tombstones in rdels. */
    st_skiplist rdels;
    atomic_uint_fast64_t num_rdels;
    /* The same tombstones in insertion order (entry pointers into the arena): a directory of
     * fixed chunks that never move, so readers index it while the writer appends. */
    const char **rdel_dir[RDEL_DIR];
    /* The fragmented view, in two tiers so a new tombstone does not cost a full re-fragmenting:
     * big covers the first big_n tombstones (rebuilt rarely), small the ones after it. */
    st_mutex frag_mu;
    st_rdel_list *big, *small; /* (frag_mu) NULL: none */
    uint64_t big_n, small_n;   /* (frag_mu) tombstones each was built from */
};

/* A search target in decoded form: what st_skiplist's entry_key callback compares against. */
typedef struct probe {
    const char *ukey;
    size_t ulen;
    uint64_t trailer;
} probe;

/* Entries were encoded by us, so the varint is well formed (at most 5 bytes) and needs no
 * bounds checks; the common one-byte case costs a load and a compare. */
static inline const char *decode_len(const char *p, uint32_t *len)
{
    uint32_t b = (unsigned char)*p++;
    uint32_t v = b & 0x7f;
    for (int shift = 7; ST_UNLIKELY(b & 0x80); shift += 7) {
        b = (unsigned char)*p++;
        v |= (b & 0x7f) << shift;
    }
    *len = v;
    return p;
}

static inline int trailer_cmp(uint64_t a, uint64_t b)
{
    return a > b ? -1 : a < b; /* descending: newer first */
}

static inline int bytewise_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    return st_bytes_cmp(a, alen, b, blen);
}

static int bytewise_entry_key(void *ctx, const char *entry, const void *key)
{
    (void)ctx;
    const probe *k = key;
    uint32_t n;
    const char *p = decode_len(entry, &n);
    int r = bytewise_cmp(p, n - ST_IKEY_TRAILER, k->ukey, k->ulen);
    return r ? r : trailer_cmp(st_decode_fixed64(p + n - ST_IKEY_TRAILER), k->trailer);
}

static int user_entry_key(void *ctx, const char *entry, const void *key)
{
    const st_comparator *c = ctx;
    const probe *k = key;
    uint32_t n;
    const char *p = decode_len(entry, &n);
    int r = c->compare(c->state, p, n - ST_IKEY_TRAILER, k->ukey, k->ulen);
    return r ? r : trailer_cmp(st_decode_fixed64(p + n - ST_IKEY_TRAILER), k->trailer);
}

/* Splits an entry into its internal key and value; returns where the protection bytes are. */
static inline const char *decode_entry(const char *entry, st_slice *ikey, st_slice *value)
{
    uint32_t n, vlen;
    const char *p = decode_len(entry, &n);
    *ikey = st_slice_make(p, n);
    const char *v = decode_len(p + n, &vlen);
    *value = st_slice_make(v, vlen);
    return v + vlen;
}

/* Checks a stored entry against its protection bytes.  0 or STRATA_E_CORRUPTION naming the key.
 * REQUIRES m->prot_bytes.  A corrupted length prefix is caught only if it stays inside the arena
 * (the entry's size is not stored separately). */
static int check_entry(const st_memtable *m, const char *entry)
{
    st_slice ikey, value;
    const char *stored = decode_entry(entry, &ikey, &value);
    if (ikey.size < ST_IKEY_TRAILER) {
        return st_prot_error("memtable", "internal key too short", st_slice_make("", 0));
    }
    if (st_prot_match(st_prot_ikv(ikey, value), st_prot_load(stored, m->prot_bytes),
                      m->prot_bytes)) {
        return 0;
    }
    return st_prot_error("memtable", NULL, st_ikey_user(ikey));
}

static probe probe_of_entry(const char *entry)
{
    uint32_t n;
    const char *p = decode_len(entry, &n);
    probe k = {p, n - ST_IKEY_TRAILER, st_decode_fixed64(p + n - ST_IKEY_TRAILER)};
    return k;
}

static int bytewise_entries(void *ctx, const char *a, const char *b)
{
    probe k = probe_of_entry(b);
    return bytewise_entry_key(ctx, a, &k);
}

static int user_entries(void *ctx, const char *a, const char *b)
{
    probe k = probe_of_entry(b);
    return user_entry_key(ctx, a, &k);
}

int st_memtable_create(const st_comparator *ucmp, st_memtable **out)
{
    return st_memtable_create_sized(ucmp, 0, out);
}

/* Arena blocks of 1/8 of the write buffer (4 KiB .. 4 MiB): few mallocs for big buffers, and a
 * small buffer is not "full" after its first allocation. */
static size_t arena_block_for(size_t write_buffer_size)
{
    if (write_buffer_size == 0) {
        return 0; /* the arena default */
    }
    size_t b = write_buffer_size / 8;
    return b < 4096 ? 4096 : b > ((size_t)4 << 20) ? ((size_t)4 << 20) : b;
}

int st_memtable_create_sized(const st_comparator *ucmp, size_t write_buffer_size,
                             st_memtable **out)
{
    *out = NULL;
    st_memtable *m = st_calloc(1, sizeof(*m));
    if (!m) {
        return st_err(STRATA_E_NOMEM, "memtable: out of memory");
    }
    atomic_init(&m->refs, 1);
    m->ucmp = ucmp;
    atomic_init(&m->num_entries, 0);
    atomic_init(&m->num_deletes, 0);
    atomic_init(&m->first_seq, UINT64_MAX);
    atomic_init(&m->last_seq, 0);
    atomic_init(&m->num_rdels, 0);
    st_mutex_init(&m->frag_mu);
    st_arena_init(&m->arena, arena_block_for(write_buffer_size));
    st_skiplist_cmp cmp = {bytewise_entries, bytewise_entry_key, NULL};
    if (!ucmp->bytewise) {
        cmp = (st_skiplist_cmp){user_entries, user_entry_key, (void *)ucmp};
    }
    if (st_skiplist_init(&m->list, &m->arena, &cmp) ||
        st_skiplist_init(&m->rdels, &m->arena, &cmp)) {
        st_mutex_destroy(&m->frag_mu);
        st_arena_destroy(&m->arena);
        st_free(m);
        return st_err(STRATA_E_NOMEM, "memtable: out of memory");
    }
    *out = m;
    return 0;
}

void st_memtable_set_protection(st_memtable *m, int n)
{
    assert(st_memtable_num_entries(m) == 0 && n >= 0 && n <= 8);
    m->prot_bytes = n;
}

/* Relaxed: taking a reference requires already holding one, so no ordering is needed. */
void st_memtable_ref(st_memtable *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

/* acq_rel: the release half orders this holder's reads before the count drops; the acquire half,
 * on the last unref, makes every other holder's released accesses happen before the free. */
void st_memtable_unref(st_memtable *m)
{
    if (!m) {
        return;
    }
    int old = atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel);
    assert(old > 0);
    if (old == 1) {
        st_rdel_list_unref(m->big);
        st_rdel_list_unref(m->small);
        st_mutex_destroy(&m->frag_mu);
        st_arena_destroy(&m->arena);
        st_free(m);
    }
}

static char *encode_entry(char *p, st_slice ikey_user, uint64_t trailer, st_slice value)
{
    p = st_encode_varint32(p, (uint32_t)(ikey_user.size + ST_IKEY_TRAILER));
    memcpy(p, ikey_user.data, ikey_user.size);
    p += ikey_user.size;
    st_encode_fixed64(p, trailer);
    p += ST_IKEY_TRAILER;
    p = st_encode_varint32(p, (uint32_t)value.size);
    if (value.size) {
        memcpy(p, value.data, value.size);
    }
    return p + value.size;
}

static void count_entry(st_memtable *m, uint64_t seq, int type)
{
    /* Relaxed (except num_rdels): statistics, written by the single writer, read by anyone. */
    atomic_fetch_add_explicit(&m->num_entries, 1, memory_order_relaxed);
    if (st_type_is_deletion(type) || type == ST_TYPE_RANGE_DEL) {
        atomic_fetch_add_explicit(&m->num_deletes, 1, memory_order_relaxed);
    }
    if (type == ST_TYPE_RANGE_DEL) {
        /* Pairs with the acquire in st_memtable_range_dels: the tombstone is linked first. */
        atomic_fetch_add_explicit(&m->num_rdels, 1, memory_order_release);
    }
    if (seq < atomic_load_explicit(&m->first_seq, memory_order_relaxed)) {
        atomic_store_explicit(&m->first_seq, seq, memory_order_relaxed);
    }
    if (seq > atomic_load_explicit(&m->last_seq, memory_order_relaxed)) {
        atomic_store_explicit(&m->last_seq, seq, memory_order_relaxed);
    }
}

/* Computes the checksum of the entry as it now sits in the arena and stores it at end; with
 * expect (a checksum without sequence, taken before the copy), first checks it matches. */
static int protect_entry(const st_memtable *m, const char *entry, char *end, uint64_t seq,
                         st_slice user_key, const uint64_t *expect)
{
    st_slice ikey, value;
    decode_entry(entry, &ikey, &value);
    uint64_t pi = st_prot_ikv(ikey, value);
    if (expect && pi != st_prot_with_seq(*expect, seq)) {
        return st_prot_error("memtable insert", NULL, user_key);
    }
    st_prot_store(end, pi, m->prot_bytes);
    return 0;
}

/* Makes sure the next tombstone has a slot in the directory (chunks come from the arena). */
static int reserve_rdel_slot(st_memtable *m)
{
    uint64_t i = atomic_load_explicit(&m->num_rdels, memory_order_relaxed);
    if (i / RDEL_CHUNK >= RDEL_DIR) {
        return STRATA_E_NOMEM;
    }
    if (!m->rdel_dir[i / RDEL_CHUNK]) {
        const char **chunk = (const char **)(void *)st_arena_alloc_aligned(
            &m->arena, sizeof(char *) * RDEL_CHUNK);
        if (!chunk) {
            return STRATA_E_NOMEM;
        }
        m->rdel_dir[i / RDEL_CHUNK] = chunk;
    }
    return 0;
}

static int add_entry(st_memtable *m, uint64_t seq, int type, st_slice user_key, st_slice value,
                     const uint64_t *expect)
{
    if (user_key.size > UINT32_MAX - ST_IKEY_TRAILER || value.size > UINT32_MAX) {
        return st_err(STRATA_E_INVALID, "memtable: key (%zu bytes) or value (%zu bytes) too large",
                      user_key.size, value.size);
    }
    size_t klen = user_key.size + ST_IKEY_TRAILER;
    size_t need = (size_t)st_varint_length(klen) + klen + (size_t)st_varint_length(value.size) +
                  value.size + (size_t)m->prot_bytes;
    if (type == ST_TYPE_RANGE_DEL && reserve_rdel_slot(m)) {
        return st_err(STRATA_E_NOMEM, "memtable: out of memory adding a range deletion");
    }
    char *entry = st_skiplist_alloc(type == ST_TYPE_RANGE_DEL ? &m->rdels : &m->list, need);
    if (!entry) {
        return st_err(STRATA_E_NOMEM, "memtable: out of memory adding a %zu-byte entry", need);
    }
    uint64_t trailer = st_pack_trailer(seq, type);
    char *end = encode_entry(entry, user_key, trailer, value);
    if (m->prot_bytes) {
        /* On a mismatch the node is simply never linked (the arena reclaims it with the rest). */
        int rc = protect_entry(m, entry, end, seq, user_key, expect);
        if (rc) {
            return rc;
        }
        end += m->prot_bytes;
    }
    assert((size_t)(end - entry) == need);
    (void)end;
    probe k = {user_key.data, user_key.size, trailer};
    st_skiplist_insert(type == ST_TYPE_RANGE_DEL ? &m->rdels : &m->list, entry, &k);
    if (type == ST_TYPE_RANGE_DEL) {
        uint64_t i = atomic_load_explicit(&m->num_rdels, memory_order_relaxed);
        m->rdel_dir[i / RDEL_CHUNK][i % RDEL_CHUNK] = entry; /* published by count_entry */
    }
    count_entry(m, seq, type);
    return 0;
}

int st_memtable_add(st_memtable *m, uint64_t seq, int type, st_slice user_key, st_slice value)
{
    return add_entry(m, seq, type, user_key, value, NULL);
}

int st_memtable_add_protected(st_memtable *m, uint64_t seq, int type, st_slice user_key,
                              st_slice value, uint64_t pi)
{
    return add_entry(m, seq, type, user_key, value, &pi);
}

int st_memtable_get(st_memtable *m, st_slice user_key, uint64_t seq, int *type, st_slice *value)
{
    probe k = {user_key.data, user_key.size, st_pack_trailer(seq, ST_TYPE_FOR_SEEK)};
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &m->list);
    st_skiplist_iter_seek(&it, &k);
    if (!st_skiplist_iter_valid(&it)) {
        return 0;
    }
    const char *entry = st_skiplist_iter_entry(&it);
    /* Checked whether or not its key matches: a flipped key byte is caught when it lands here. */
    if (ST_UNLIKELY(m->prot_bytes) && check_entry(m, entry)) {
        return STRATA_E_CORRUPTION;
    }
    uint32_t n, vlen;
    const char *p = decode_len(entry, &n);
    st_slice found = st_slice_make(p, n - ST_IKEY_TRAILER);
    if (m->ucmp->bytewise ? !st_slice_eq(found, user_key) : st_ucmp(m->ucmp, found, user_key)) {
        return 0;
    }
    *type = (int)(st_decode_fixed64(p + n - ST_IKEY_TRAILER) & 0xff);
    const char *v = decode_len(p + n, &vlen);
    *value = st_slice_make(v, vlen);
    return 1;
}

int st_memtable_get_each(st_memtable *m, st_slice user_key, uint64_t seq,
                         int (*fn)(void *ctx, int type, uint64_t seq, st_slice value), void *ctx)
{
    probe k = {user_key.data, user_key.size, st_pack_trailer(seq, ST_TYPE_FOR_SEEK)};
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &m->list);
    int seen = 0;
    for (st_skiplist_iter_seek(&it, &k); st_skiplist_iter_valid(&it);
         st_skiplist_iter_next(&it)) {
        const char *entry = st_skiplist_iter_entry(&it);
        if (ST_UNLIKELY(m->prot_bytes) && check_entry(m, entry)) {
            return STRATA_E_CORRUPTION;
        }
        st_slice ikey, value;
        decode_entry(entry, &ikey, &value);
        if (st_ucmp(m->ucmp, st_ikey_user(ikey), user_key) != 0) {
            break;
        }
        uint64_t t = st_ikey_trailer(ikey);
        seen = 1;
        int rc = fn(ctx, (int)(t & 0xff), t >> 8, value);
        if (rc <= 0) {
            return rc < 0 ? rc : 1;
        }
    }
    return seen;
}

uint64_t st_memtable_num_range_dels(const st_memtable *m)
{
    return atomic_load_explicit(&m->num_rdels, memory_order_acquire);
}

uint64_t st_memtable_last_seq(const st_memtable *m)
{
    return atomic_load_explicit(&m->last_seq, memory_order_relaxed);
}

/* Fragments tombstones [from, to) of the insertion-order directory into a new list.  Lock-free
 * against the writer: slots below the published count are written and never change. */
static int build_frag(st_memtable *m, uint64_t from, uint64_t to, st_rdel_list **out)
{
    st_rdel_builder b;
    st_rdel_builder_init(&b);
    int rc = 0;
    for (uint64_t i = from; !rc && i < to; i++) {
        const char *entry = m->rdel_dir[i / RDEL_CHUNK][i % RDEL_CHUNK];
        if (ST_UNLIKELY(m->prot_bytes) && check_entry(m, entry)) {
            rc = STRATA_E_CORRUPTION;
            break;
        }
        st_slice ikey, value;
        decode_entry(entry, &ikey, &value);
        rc = st_rdel_builder_add(&b, st_ikey_user(ikey), value, st_ikey_trailer(ikey) >> 8);
    }
    rc = rc ? rc : st_rdel_builder_finish(&b, m->ucmp, out);
    st_rdel_builder_free(&b);
    return rc;
}

/* Brings the two tiers up to want tombstones.  REQUIRES frag_mu. */
static int refresh_frag(st_memtable *m, uint64_t want)
{
    st_rdel_list *l = NULL;
    int rc;
    if (want - m->big_n <= RDEL_SMALL) {
        rc = build_frag(m, m->big_n, want, &l);
        if (!rc) {
            st_rdel_list_unref(m->small);
            m->small = l;
            m->small_n = want;
        }
        return rc;
    }
    rc = build_frag(m, 0, want, &l);
    if (!rc) {
        st_rdel_list_unref(m->big);
        st_rdel_list_unref(m->small);
        m->big = l;
        m->small = NULL;
        m->big_n = m->small_n = want;
    }
    return rc;
}

int st_memtable_range_dels_all(st_memtable *m, st_rdel_list **out)
{
    *out = NULL;
    uint64_t n = st_memtable_num_range_dels(m);
    return n ? build_frag(m, 0, n, out) : 0;
}

int st_memtable_range_dels(st_memtable *m, st_rdel_list **out, int *n)
{
    *n = 0;
    uint64_t want = st_memtable_num_range_dels(m);
    if (want == 0) {
        return 0;
    }
    st_mutex_lock(&m->frag_mu);
    int rc = m->small_n < want ? refresh_frag(m, want) : 0;
    st_rdel_list *tiers[2] = {m->big, m->small};
    for (int i = 0; !rc && i < 2; i++) {
        if (tiers[i]) {
            st_rdel_list_ref(tiers[i]);
            out[(*n)++] = tiers[i];
        }
    }
    st_mutex_unlock(&m->frag_mu);
    return rc;
}

size_t st_memtable_memory_usage(const st_memtable *m)
{
    return st_arena_memory_usage(&m->arena);
}

uint64_t st_memtable_num_entries(const st_memtable *m)
{
    return atomic_load_explicit(&m->num_entries, memory_order_relaxed);
}

uint64_t st_memtable_num_deletes(const st_memtable *m)
{
    return atomic_load_explicit(&m->num_deletes, memory_order_relaxed);
}

uint64_t st_memtable_first_seq(const st_memtable *m)
{
    return atomic_load_explicit(&m->first_seq, memory_order_relaxed);
}

int st_memtable_test_find_value(st_memtable *m, st_slice user_key, char **value, size_t *vlen)
{
    probe k = {user_key.data, user_key.size, st_pack_trailer(ST_MAX_SEQ, ST_TYPE_FOR_SEEK)};
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &m->list);
    st_skiplist_iter_seek(&it, &k);
    if (!st_skiplist_iter_valid(&it)) {
        return 0;
    }
    st_slice ikey, v;
    decode_entry(st_skiplist_iter_entry(&it), &ikey, &v);
    if (st_ucmp(m->ucmp, st_ikey_user(ikey), user_key) != 0) {
        return 0;
    }
    *value = (char *)v.data; /* arena memory: writable, the skip list only hands out const */
    *vlen = v.size;
    return 1;
}

/* ---- iterator: yields internal keys and values; holds a memtable reference ---- */

typedef struct mem_iter {
    st_iter base;
    st_skiplist_iter pos;
    st_memtable *m;
    int status; /* protected iterators: STRATA_E_CORRUPTION once an entry failed its check */
} mem_iter;

static int mi_valid(const st_iter *it)
{
    return st_skiplist_iter_valid(&((const mem_iter *)it)->pos);
}

static void mi_seek_to_first(st_iter *it)
{
    st_skiplist_iter_seek_to_first(&((mem_iter *)it)->pos);
}

static void mi_seek_to_last(st_iter *it)
{
    st_skiplist_iter_seek_to_last(&((mem_iter *)it)->pos);
}

/* A target too short to be an internal key is taken as a bare user key (newest version first). */
static void mi_seek(st_iter *it, st_slice target)
{
    probe k = {target.data, target.size, st_pack_trailer(ST_MAX_SEQ, ST_TYPE_FOR_SEEK)};
    if (target.size >= ST_IKEY_TRAILER) {
        k.ulen = target.size - ST_IKEY_TRAILER;
        k.trailer = st_ikey_trailer(target);
    }
    st_skiplist_iter_seek(&((mem_iter *)it)->pos, &k);
}

static void mi_next(st_iter *it)
{
    st_skiplist_iter_next(&((mem_iter *)it)->pos);
}

static void mi_prev(st_iter *it)
{
    st_skiplist_iter_prev(&((mem_iter *)it)->pos);
}

static st_slice mi_key(const st_iter *it)
{
    uint32_t n;
    const char *p = decode_len(st_skiplist_iter_entry(&((const mem_iter *)it)->pos), &n);
    return st_slice_make(p, n);
}

static st_slice mi_value(const st_iter *it)
{
    uint32_t n, vlen;
    const char *p = decode_len(st_skiplist_iter_entry(&((const mem_iter *)it)->pos), &n);
    const char *v = decode_len(p + n, &vlen);
    return st_slice_make(v, vlen);
}

static int mi_status(const st_iter *it)
{
    return ((const mem_iter *)it)->status;
}

static void mi_destroy(st_iter *it)
{
    mem_iter *mi = (mem_iter *)it;
    st_memtable_unref(mi->m);
    st_free(mi);
}

static const struct st_iter_ops mem_iter_ops = {
    mi_valid, mi_seek_to_first, mi_seek_to_last, mi_seek,   mi_next,
    mi_prev,  mi_key,           mi_value,        mi_status, mi_destroy,
};

/* Protected memtables: every positioning checks the entry it lands on; a failure leaves the
 * iterator invalid with status CORRUPTION, and later positionings do nothing. */
static void check_pos(mem_iter *mi)
{
    if (st_skiplist_iter_valid(&mi->pos) && check_entry(mi->m, st_skiplist_iter_entry(&mi->pos))) {
        mi->status = STRATA_E_CORRUPTION;
        mi->pos.node = NULL;
    }
}

#define PROTECTED_MOVE(name, plain, ...) \
    static void name(__VA_ARGS__)        \
    {                                    \
        mem_iter *mi = (mem_iter *)it;   \
        if (!mi->status) {               \
            plain;                       \
            check_pos(mi);               \
        }                                \
    }
PROTECTED_MOVE(pmi_seek_to_first, mi_seek_to_first(it), st_iter *it)
PROTECTED_MOVE(pmi_seek_to_last, mi_seek_to_last(it), st_iter *it)
PROTECTED_MOVE(pmi_seek, mi_seek(it, target), st_iter *it, st_slice target)
PROTECTED_MOVE(pmi_next, mi_next(it), st_iter *it)
PROTECTED_MOVE(pmi_prev, mi_prev(it), st_iter *it)
#undef PROTECTED_MOVE

static const struct st_iter_ops protected_iter_ops = {
    mi_valid, pmi_seek_to_first, pmi_seek_to_last, pmi_seek,   pmi_next, pmi_prev,
    mi_key,   mi_value,          mi_status,        mi_destroy,
};

st_iter *st_memtable_iter(st_memtable *m)
{
    mem_iter *mi = st_malloc(sizeof(*mi));
    if (!mi) {
        st_err(STRATA_E_NOMEM, "memtable: out of memory creating an iterator");
        return NULL;
    }
    st_iter_init(&mi->base, m->prot_bytes ? &protected_iter_ops : &mem_iter_ops);
    st_skiplist_iter_init(&mi->pos, &m->list);
    mi->status = 0;
    st_memtable_ref(m);
    mi->m = m;
    return &mi->base;
}
