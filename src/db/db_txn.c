/* db_txn.c — the engine side of transactions (db/db_txn.h): checked writes for optimistic
 * commits and the newest sequence number of a key for conflict detection.
 *
 * Why the leader may drop the mutex while a check runs: only the group-commit leader appends to
 * the WAL, inserts into memtables or assigns sequence numbers, and it keeps that role until it
 * hands it on in finish_group.  So while the check runs nothing can be written, and every write
 * acknowledged before it is visible (the previous leader published visible_seq before handing
 * on).  Memtable switches happen only through the leader too; flushes and compactions go on, but
 * they never change what a read returns (they keep the newest entry of every key above the
 * oldest snapshot), which is all st_db_key_changed_since looks at. */
#include "db/db_txn.h"

#include "util/ikey.h"
#include "util/status.h"

int st_db_write_check_run(strata_db *db, const st_write_check *c)
{
    st_mutex_assert_held(&db->mu);
    st_mutex_unlock(&db->mu);
    int rc = c->check(c->arg);
    st_mutex_lock(&db->mu);
    return rc;
}

int st_db_write_checked(strata_db *db, const struct strata_write_options *wo, strata_batch *batch,
                        const st_write_check *c)
{
    if (st_batch_count(batch) == 0) {
        return c->check(c->arg);
    }
    return st_db_write_ex(db, wo, batch, c);
}

uint64_t st_db_visible_seq(strata_db *db)
{
    /* Pairs with the leader's release store: a later read sees every write up to it. */
    return atomic_load_explicit(&db->visible_seq, memory_order_acquire);
}

/* ---- newest sequence of a key --------------------------------------------------------------- */

/* Sources are searched newest first; for one user key every entry and covering tombstone of a
 * newer source is newer than those of an older one (flushes and compactions move a key's
 * versions down together), so the search stops at the first source holding an entry. */
typedef struct latest {
    st_slice ukey;
    uint64_t read_seq;
    uint64_t best;
    int done;
} latest;

static void latest_tombstones(void *ctx, const st_rdel_list *l)
{
    latest *lt = ctx;
    uint64_t c = st_rdel_list_covering(l, lt->ukey, lt->read_seq, NULL);
    if (c > lt->best) {
        lt->best = c;
    }
}

static int latest_entry(void *ctx, int type, uint64_t seq, st_slice value, st_pin *pin)
{
    (void)type;
    (void)value;
    (void)pin; /* released by the table reader */
    latest *lt = ctx;
    if (seq > lt->best) {
        lt->best = seq;
    }
    lt->done = 1;
    return 0;
}

static int latest_mem_entry(void *ctx, int type, uint64_t seq, st_slice value)
{
    return latest_entry(ctx, type, seq, value, NULL);
}

static int latest_in_memtable(latest *lt, st_memtable *m)
{
    if (st_memtable_num_range_dels(m)) {
        st_rdel_list *l[ST_MEMTABLE_RDEL_LISTS];
        int n = 0;
        int rc = st_memtable_range_dels(m, l, &n);
        if (rc) {
            return rc;
        }
        for (int i = 0; i < n; i++) {
            latest_tombstones(lt, l[i]);
            st_rdel_list_unref(l[i]);
        }
    }
    int rc = st_memtable_get_each(m, lt->ukey, lt->read_seq, latest_mem_entry, lt);
    return rc < 0 ? rc : 0;
}

static int latest_in_tables(latest *lt, st_version *v)
{
    st_buf key = ST_BUF_INIT;
    int rc = st_ikey_append(&key, lt->ukey, lt->read_seq, ST_TYPE_FOR_SEEK);
    if (!rc) {
        st_read_flags rf = {1, 1};
        st_get_sink sink = {latest_tombstones, latest_entry, lt};
        rc = st_version_get_each(v, &rf, st_buf_slice(&key), &sink);
    }
    st_buf_free(&key);
    return rc < 0 ? rc : 0;
}

/* The smallest sequence in sv's memtables (UINT64_MAX when all are empty): every entry of the
 * tables is older, since memtables are switched and flushed in sequence order. */
static uint64_t memtables_floor(const st_superversion *sv)
{
    uint64_t floor = st_memtable_first_seq(sv->mem);
    for (int i = 0; i < sv->nimm; i++) {
        uint64_t f = st_memtable_first_seq(sv->imm[i]);
        floor = f < floor ? f : floor;
    }
    return floor;
}

int st_db_key_changed_since(strata_db *db, strata_cf *cf, st_slice key, uint64_t since,
                            uint64_t *seq)
{
    latest lt = {key, 0, 0, 0};
    st_superversion *sv = st_db_sv_acquire(db, cf ? cf : db->dflt, NULL, &lt.read_seq);
    if (!sv) {
        return STRATA_E_INVALID; /* dropped: message set */
    }
    int rc = latest_in_memtable(&lt, sv->mem);
    for (int i = 0; !rc && !lt.done && i < sv->nimm; i++) {
        rc = latest_in_memtable(&lt, sv->imm[i]);
    }
    uint64_t floor = memtables_floor(sv);
    int tables_older = floor != UINT64_MAX && floor <= since + 1;
    if (!rc && !lt.done && !tables_older) {
        rc = latest_in_tables(&lt, sv->version);
    }
    st_db_sv_release(db, sv, 0);
    *seq = rc ? 0 : lt.best;
    return rc;
}

