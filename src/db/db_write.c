/* db_write.c — the write path: group commit, the write controller and memtable switches.
 *
 * Writers queue under mu.  The writer at the front becomes the leader: it makes room (possibly
 * stalling or switching the memtable), merges the batches of the writers behind it into one group
 * (bounded size; a sync writer never joins a non-sync group, so no writer gets an fsync it did not
 * pay for and none is acknowledged durable without one), assigns sequence numbers, then — without
 * mu — appends one WAL record, fsyncs it at most once (a sync group first makes earlier WALs
 * durable, see below), and inserts the group into the memtable.  It then publishes the new
 * visible sequence, wakes the members with their status and hands leadership to the next queued
 * writer.  WAL failures are sticky (st_db_set_bg_error).
 *
 * Ordering across WAL files (the prefix property: after a power cut the surviving writes form a
 * prefix of the acknowledged ones).  A memtable switch does not sync the old WAL nor the directory
 * (that fsync used to stall the writer at every switch).  Instead:
 *  - every WAL opens with a marker record (docs/FORMAT.md "WAL marker"): a batch header with count
 *    0 whose sequence P is 1 + the last sequence appended to any earlier WAL (wal_logged_seq;
 *    disable_wal writes do not advance it).  If the kernel wrote back a newer WAL but not an older
 *    WAL's tail, recovery sees a marker P beyond where the older WALs end and replays nothing from
 *    that WAL on (db_recover.c), so what survives is still a prefix;
 *  - the switched-out writers stay open in wal_old (leader only) with wal_dir_dirty set.  A sync
 *    write first syncs every one of them (oldest first), then the directory, then appends and syncs
 *    its own group, so an acknowledged sync write never depends on an unsynced earlier WAL;
 *  - an old writer whose memtable is flushed and installed (its number is below the version set's
 *    log number: a durable MANIFEST edit says its data is in a table) is closed unsynced, pruned by
 *    the leader at the next switch or sync write; close syncs whatever is left.
 * Column families share the WAL.  A family's flush makes batches durable in its table whose other
 * families' parts may sit in switched-out WALs not yet synced, so with several families a flush
 * syncs those WALs before its MANIFEST edit (st_db_sync_closed_wals); a sync write meanwhile
 * waits for that sync rather than acknowledge ahead of it.
 * The WAL the MANIFEST names as log number must exist after a power cut: at open its directory
 * entry is synced before the edit; after a switch, the flush that moves the log number to it
 * syncs the directory when it creates its table, after this WAL was created.
 *
 * Per-key protection (protection_bytes_per_key > 0; util/prot.h).  Every writer arrives with one
 * checksum per operation: from the batch itself when it is protected (strata_batch_protect, or
 * strata_put/delete, which protect from their arguments on), else computed from its bytes in
 * st_db_write before it queues.  The leader carries them into the group and (a) verifies the
 * assembled WAL record against them before the group gets sequence numbers (mu is dropped for the
 * hashing; the leader keeps its role): a mismatch fails the whole group with nothing written and
 * no sequence used, and is not sticky.  (b) The memtable recomputes each entry's checksum from its
 * arena copy, checks it against the writer's (plus the sequence) and keeps it; a mismatch there
 * comes after the WAL append, so it becomes the sticky background error like any failure of that
 * stage (the WAL holds the intact record: reopening recovers it). */
#include <string.h>

#include "db/db_impl.h"
#include "db/db_txn.h"
#include "db/filename.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/coding.h"
#include "util/prot.h"

#define ST_GROUP_MAX_BYTES (1u << 20)
#define ST_GROUP_SMALL_BYTES (128u << 10)
#define ST_STALL_WAIT_MICROS 100000
#define ST_VERIFY_UNDER_MU_BYTES 4096

void st_db_set_bg_error(strata_db *db, int code, const char *msg)
{
    st_mutex_assert_held(&db->mu);
    if (db->bg_error == 0 && code != 0) {
        db->bg_error = code;
        snprintf(db->bg_errmsg, sizeof(db->bg_errmsg), "background error (sticky until reopen): %s",
                 msg ? msg : "");
        atomic_fetch_add(&db->stats.bg_errors, 1);
        /* The info LOG never holds keys: a protection error is logged without its key. */
        size_t n = st_prot_redacted_len(db->bg_errmsg);
        st_log(db->log, "%.*s%s", (int)n, db->bg_errmsg, db->bg_errmsg[n] ? " (key omitted)" : "");
        st_cond_broadcast(&db->bg_cv);
    }
}

/* Appends the marker record that opens every WAL: a batch header (count 0) whose sequence is
 * next_seq, 1 + the last sequence logged to an earlier WAL. */
static int add_marker(st_log_writer *w, uint64_t next_seq)
{
    char rec[ST_BATCH_HEADER];
    st_encode_fixed64(rec, next_seq);
    st_encode_fixed32(rec + 8, 0);
    return st_log_writer_add(w, st_slice_make(rec, sizeof(rec)));
}

/* Closes (unsynced) the switched-out writers whose memtables are flushed and installed.  Cheap: a
 * close without sync.  REQUIRES mu, leader (or closing). */
static void prune_old_wals(strata_db *db) ST_REQUIRES(db->mu)
{
    if (db->nwal_old == 0) {
        return;
    }
    uint64_t live = st_db_min_log_needed(db);
    int keep = 0;
    for (int i = 0; i < db->nwal_old; i++) {
        if (db->wal_old_number[i] < live) {
            (void)st_log_writer_close(db->wal_old[i]); /* its data is in a durable table */
        } else {
            db->wal_old[keep] = db->wal_old[i];
            db->wal_old_number[keep] = db->wal_old_number[i];
            keep++;
        }
    }
    db->nwal_old = keep;
}

/* Creates WAL number (fname) with its marker; syncs the directory when with_dir_sync. No mu. */
static int create_wal(strata_db *db, uint64_t number, const char *fname, uint64_t marker,
                      int with_dir_sync, st_log_writer **out)
{
    st_wfile *f = NULL;
    int rc = db->opts.mmap_wal_writes ? st_env_new_log_writable(db->env, fname, &f)
                                      : st_env_new_writable(db->env, fname, &f);
    if (!rc) {
        rc = st_log_writer_create(f, 0, out); /* closes f on failure */
    }
    if (!rc) {
        rc = st_log_writer_protect(*out, db->integ, number, ST_CRYPT_FILE_WAL);
    }
    if (!rc) {
        rc = add_marker(*out, marker);
    }
    if (!rc && with_dir_sync) {
        rc = st_env_sync_dir(db->env, db->dbname);
    }
    return rc;
}

int st_db_new_wal(strata_db *db)
{
    prune_old_wals(db);
    uint64_t number = st_vset_new_file_number(db->vs);
    char *fname = st_filename(db->dbname, ST_FILE_LOG, number);
    if (!fname) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    st_log_writer *old = db->wal, *w = NULL;
    /* The list has room for every unflushed memtable's WAL; if it ever were full, syncing the old
     * WAL here (the former behaviour) is always safe. */
    int sync_old = old && db->nwal_old == (int)(sizeof(db->wal_old) / sizeof(db->wal_old[0]));
    uint64_t marker = db->wal_logged_seq + 1;
    st_mutex_unlock(&db->mu);
    int rc = sync_old ? st_log_writer_sync(old) : 0;
    rc = rc ? rc : create_wal(db, number, fname, marker, old == NULL, &w);
    st_mutex_lock(&db->mu);
    if (rc) {
        (void)st_log_writer_close(w);
        st_env_remove_file(db->env, fname);
        st_free(fname);
        return rc;
    }
    st_free(fname);
    if (old && !sync_old) {
        db->wal_old[db->nwal_old] = old;
        db->wal_old_number[db->nwal_old] = db->wal_number;
        db->nwal_old++;
    } else if (old) {
        (void)st_log_writer_close(old);
    }
    db->wal = w;
    db->wal_number = number;
    db->wal_dir_dirty = old != NULL; /* at open (no old WAL) create_wal synced the directory */
    return 0;
}

/* What a sync write must make durable before its own group: the switched-out WALs (oldest first)
 * and the directory. */
typedef struct earlier_wals {
    st_log_writer *old[ST_MAX_IMM + 1];
    int nold;
    int sync_dir;
} earlier_wals;

/* Takes the earlier WALs not yet durable out of the DB (the caller syncs and closes them).
 * REQUIRES mu; the leader, a flush (st_db_sync_closed_wals, which sync writes wait for) or
 * closing. */
static void take_earlier_wals(strata_db *db, earlier_wals *e) ST_REQUIRES(db->mu)
{
    prune_old_wals(db);
    e->nold = db->nwal_old;
    memcpy(e->old, db->wal_old, sizeof(e->old[0]) * (size_t)e->nold);
    e->sync_dir = db->wal_dir_dirty;
    db->nwal_old = 0;
    db->wal_dir_dirty = 0;
}

/* Syncs and closes the taken WALs, oldest first, then syncs the directory.  After a failure the
 * rest are closed unsynced (the caller makes the error sticky).  Called without mu, except at
 * close. */
static int sync_earlier_wals(strata_db *db, earlier_wals *e)
{
    int rc = 0;
    for (int i = 0; i < e->nold; i++) {
        if (!rc) {
            rc = st_log_writer_sync(e->old[i]);
            atomic_fetch_add(&db->stats.wal_syncs, 1);
        }
        (void)st_log_writer_close(e->old[i]); /* after a good sync a close error loses nothing */
    }
    if (!rc && e->sync_dir) {
        rc = st_env_sync_dir(db->env, db->dbname);
    }
    e->nold = 0;
    return rc;
}

int st_db_sync_closed_wals(strata_db *db)
{
    earlier_wals e;
    take_earlier_wals(db, &e);
    if (e.nold == 0 && !e.sync_dir) {
        return 0;
    }
    db->syncing_old_wals++; /* a sync write waits for these before it may be acknowledged */
    st_mutex_unlock(&db->mu);
    int rc = sync_earlier_wals(db, &e);
    st_mutex_lock(&db->mu);
    db->syncing_old_wals--;
    st_cond_broadcast(&db->bg_cv);
    return rc;
}

int st_db_wal_close_all(strata_db *db)
{
    earlier_wals e;
    take_earlier_wals(db, &e);
    int rc = sync_earlier_wals(db, &e);
    if (db->wal) {
        int src = st_log_writer_sync(db->wal);
        rc = rc ? rc : src;
        (void)st_log_writer_close(db->wal);
        db->wal = NULL;
    }
    return rc;
}

int st_db_new_memtable(strata_cf *cf, st_memtable **out)
{
    int rc = st_memtable_create_sized(cf->ucmp, cf->opts.write_buffer_size, out);
    int prot = cf->db->opts.protection_bytes_per_key;
    if (!rc && prot) {
        st_memtable_set_protection(*out, prot);
    }
    return rc;
}

/* Moves cf's mem to its immutable queue and starts a new memtable and WAL.  Every family whose
 * memtable is empty now has nothing in the older WALs.  REQUIRES mu, leader. */
static int switch_memtable(strata_db *db, strata_cf *cf) ST_REQUIRES(db->mu)
{
    st_memtable *fresh = NULL;
    int rc = st_db_new_memtable(cf, &fresh);
    if (rc) {
        return st_err(rc, "out of memory creating a memtable");
    }
    rc = st_db_new_wal(db);
    if (rc) {
        st_memtable_unref(fresh);
        return rc;
    }
    cf->imm[cf->nimm] = cf->mem;
    cf->imm_log[cf->nimm] = cf->mem_log;
    cf->nimm++;
    cf->imm_added++;
    cf->mem = fresh;
    for (int f = 0; f < db->ncfs; f++) {
        strata_cf *o = db->cfs[f];
        if (!o->dropped && st_memtable_num_entries(o->mem) == 0) {
            o->mem_log = db->wal_number;
        }
    }
    rc = st_db_sv_install(db, cf);
    st_db_bg_schedule(db);
    return rc;
}

/* Waits for background progress, counting the stall. REQUIRES mu. */
static void stall_wait(strata_db *db) ST_REQUIRES(db->mu)
{
    uint64_t start = st_env_now_micros(db->env);
    st_db_bg_schedule(db);
    st_cond_timedwait_micros(&db->bg_cv, &db->mu, ST_STALL_WAIT_MICROS);
    atomic_fetch_add(&db->stats.stall_micros, st_env_now_micros(db->env) - start);
}

/* Rate-limits a write of bytes while in the slowdown zone. REQUIRES mu. */
static void slowdown(strata_db *db, size_t bytes) ST_REQUIRES(db->mu)
{
    db->delay_credit_micros += (uint64_t)((double)bytes * 1e6 / (double)db->opts.delayed_write_rate);
    atomic_fetch_add(&db->stats.slowdowns, 1);
    if (db->delay_credit_micros < 1000) {
        return;
    }
    uint64_t delay = db->delay_credit_micros;
    db->delay_credit_micros = 0;
    st_mutex_unlock(&db->mu);
    st_env_sleep_micros(db->env, delay);
    st_mutex_lock(&db->mu);
    atomic_fetch_add(&db->stats.stall_micros, delay);
}

static int bg_error_status(strata_db *db) ST_REQUIRES(db->mu)
{
    return st_err_set(db->bg_error, db->bg_errmsg);
}

/* The write controller's view of one family: its level-0 files and pending compaction bytes
 * against its slowdown (*slow) and stop (return 1) limits.  REQUIRES mu. */
static int family_limits(const strata_db *db, const strata_cf *cf, int *slow)
{
    const st_version *v = cf->sv->version;
    int l0 = v->nfiles[0];
    uint64_t pending = st_vset_pending_compaction_bytes(cf->vs);
    int soft = db->opts.soft_pending_bytes && pending >= db->opts.soft_pending_bytes;
    int hard = db->opts.hard_pending_bytes && pending >= db->opts.hard_pending_bytes;
    *slow = l0 >= cf->opts.l0_slowdown_trigger || soft;
    return l0 >= cf->opts.l0_stop_trigger || hard;
}

static int any_slowdown(const strata_db *db) ST_REQUIRES(db->mu)
{
    for (int f = 0; f < db->ncfs; f++) {
        int slow = 0;
        if (!db->cfs[f]->dropped) {
            family_limits(db, db->cfs[f], &slow);
        }
        if (slow) {
            return 1;
        }
    }
    return 0;
}

/* The family whose memtable must be switched: full, or (force) asked to flush and not empty
 * (the default one also when rotate_wal asks for a new WAL); NULL if none. */
static strata_cf *family_to_switch(strata_db *db, int force, const strata_cf *force_cf)
    ST_REQUIRES(db->mu)
{
    for (int f = 0; f < db->ncfs; f++) {
        strata_cf *cf = db->cfs[f];
        if (cf->dropped) {
            continue;
        }
        int forced = force && (!force_cf || force_cf == cf) &&
                     (st_memtable_num_entries(cf->mem) > 0 || (cf == db->dflt && db->rotate_wal));
        if (forced || st_memtable_memory_usage(cf->mem) > cf->opts.write_buffer_size) {
            return cf;
        }
    }
    return NULL;
}

/* Ensures every memtable can take a write of bytes (force: switch force_cf's — every family's
 * when NULL — even if not full, when not empty).  The write controller is DB-wide: a family
 * past its limits slows or stops every write, as a shared WAL must.  REQUIRES mu, leader. */
static int make_room(strata_db *db, int force, const strata_cf *force_cf, size_t bytes)
    ST_REQUIRES(db->mu)
{
    int allow_delay = !force;
    for (;;) {
        if (db->bg_error) {
            return bg_error_status(db);
        }
        if (atomic_load(&db->shutting_down)) {
            return st_err(STRATA_E_CLOSED, "%s: database is closing", db->dbname);
        }
        if (allow_delay && any_slowdown(db)) {
            slowdown(db, bytes);
            allow_delay = 0;
            continue;
        }
        strata_cf *cf = family_to_switch(db, force, force_cf);
        int slow = 0;
        if (!cf) {
            return 0;
        } else if (cf->nimm >= cf->opts.max_write_buffers - 1) {
            atomic_fetch_add(&db->stats.stops, 1);
            stall_wait(db); /* all write buffers full: wait for a flush */
        } else if (family_limits(db, cf, &slow)) {
            atomic_fetch_add(&db->stats.stops, 1);
            stall_wait(db); /* too much pending compaction: wait */
        } else {
            int rc = switch_memtable(db, cf);
            if (rc) {
                return rc;
            }
            if (cf == db->dflt) {
                db->rotate_wal = 0;
            }
        }
    }
}

/* A group's per-key checksums (prot NULL: protection off). */
typedef struct group_prot {
    const uint64_t *prot;
    size_t n;
} group_prot;

/* Appends a member's batch (and its checksums) to the group. */
static int group_append(strata_batch *group, const st_writer *w)
{
    return w->prot ? st_batch_append_protected(group, w->batch, w->prot)
                   : st_batch_append(group, w->batch);
}

/* A checked member joining the group: against the batches of the members before it (their
 * writes come first), then against the DB (mu dropped around it, as for the leader's own check).
 * A failure leaves it out of the group with its own status.  REQUIRES mu, leader. */
static int check_member(strata_db *db, st_writer *first, st_writer *w) ST_REQUIRES(db->mu)
{
    int rc = 0;
    for (st_writer *m = first; m != w && !rc; m = m->next) {
        if (!m->excluded) {
            rc = w->check->conflicts(w->check->arg, m->batch);
        }
    }
    rc = rc ? rc : st_db_write_check_run(db, w->check);
    if (rc) {
        w->excluded = 1;
        w->status = rc;
        snprintf(w->errmsg, sizeof(w->errmsg), "%s", st_errmsg());
    }
    return rc;
}

/* Merges queued batches behind the leader into one group.  Returns the batch to write, sets
 * *last to the last member and *gp to the group's checksums.  REQUIRES mu, leader. */
static strata_batch *build_group(strata_db *db, st_writer **last, group_prot *gp)
    ST_REQUIRES(db->mu)
{
    st_writer *first = db->writers_head;
    strata_batch *result = first->batch;
    size_t size = result->rep.len;
    size_t max = size <= ST_GROUP_SMALL_BYTES ? size + ST_GROUP_SMALL_BYTES : ST_GROUP_MAX_BYTES;
    *last = first;
    *gp = (group_prot){first->prot, first->nprot};
    for (st_writer *w = first->next; w; w = w->next) {
        if (!w->batch || (w->check && !w->check->conflicts) || (w->sync && !first->sync) ||
            w->disable_wal != first->disable_wal) { /* such a checked writer leads its group */
            break;
        }
        size += w->batch->rep.len - ST_BATCH_HEADER;
        if (size > max) {
            break;
        }
        if (w->check && check_member(db, first, w)) {
            *last = w; /* left out, failed alone */
            continue;
        }
        if (result == first->batch) {
            result = &db->group_batch;
            strata_batch_clear(result);
            result->protect = first->prot != NULL;
            if (group_append(result, first)) {
                return first->batch; /* out of memory: write the leader's batch alone */
            }
        }
        if (group_append(result, w)) {
            break;
        }
        *last = w;
    }
    if (result != first->batch && result->protect) {
        *gp = (group_prot){st_batch_prot(result), result->prot.len / sizeof(uint64_t)};
    }
    return result;
}

static void call_test_hook(strata_db *db, int point, strata_batch *group)
{
    if (ST_UNLIKELY(db->test_write_hook != NULL)) {
        db->test_write_hook(db->test_write_hook_arg, point, group);
    }
}

/* The memtable of family id for the leader (families change only under the leader's role, so
 * reading them without mu is safe); NULL for a family dropped since the batch was checked. */
static st_memtable *family_memtable(void *ctx, uint32_t id)
{
    strata_cf *cf = st_db_cf_by_id(ctx, id);
    return cf ? cf->mem : NULL;
}

/* Appends the group to the WAL and memtable without mu. */
static int write_group(strata_db *db, strata_batch *group, const group_prot *gp, int sync,
                       int disable_wal)
{
    int rc = 0;
    if (!disable_wal) {
        rc = st_log_writer_add(db->wal, st_slice_make(group->rep.data, group->rep.len));
        atomic_fetch_add(&db->stats.wal_bytes_written, group->rep.len);
        if (!rc && sync) {
            rc = st_log_writer_sync(db->wal);
            atomic_fetch_add(&db->stats.wal_syncs, 1);
        }
    }
    call_test_hook(db, ST_DB_WRITE_WAL_DONE, group);
    if (!rc && group->has_cf) {
        rc = st_batch_insert_routed(group, gp->prot, gp->n, family_memtable, db);
    } else if (!rc) {
        st_memtable *mem = db->dflt->mem;
        rc = gp->prot ? st_batch_insert_protected(group, gp->prot, gp->n, mem)
                      : st_batch_insert_into(group, mem);
    }
    return rc;
}

/* (a): checks the assembled group against its writers' checksums.  A large group is hashed
 * without mu (the caller stays leader, so nothing it relies on changes meanwhile); a small one
 * under it, since hashing a few hundred bytes costs less than releasing and retaking the mutex.
 * REQUIRES mu, leader. */
static int verify_group(strata_db *db, strata_batch *group, const group_prot *gp)
    ST_REQUIRES(db->mu)
{
    if (group->rep.len <= ST_VERIFY_UNDER_MU_BYTES) {
        return st_batch_verify(group, gp->prot, gp->n, "write batch");
    }
    st_mutex_unlock(&db->mu);
    int rc = st_batch_verify(group, gp->prot, gp->n, "write batch");
    st_mutex_lock(&db->mu);
    return rc;
}

/* Leader work for a non-empty write. REQUIRES mu, leader. */
static int lead_write(strata_db *db, st_writer *self, st_writer **last) ST_REQUIRES(db->mu)
{
    if (self->check) {
        int rc = st_db_write_check_run(db, self->check);
        if (rc) {
            return rc; /* *last is still self: only this writer fails */
        }
    }
    group_prot gp;
    strata_batch *group = build_group(db, last, &gp);
    call_test_hook(db, ST_DB_WRITE_GROUP_BUILT, group);
    if (gp.prot) {
        int rc = verify_group(db, group, &gp);
        if (rc) {
            return rc; /* nothing written, no sequence used: the DB stays writable */
        }
    }
    int sync = 0;
    uint64_t members = 0;
    for (st_writer *w = self;; w = w->next) {
        sync |= w->sync;
        members++;
        if (w == *last) {
            break;
        }
    }
    uint32_t count = st_batch_count(group);
    st_batch_set_seq(group, db->last_seq + 1);
    db->last_seq += count;
    uint64_t last_seq = db->last_seq;
    if (!self->disable_wal) {
        db->wal_logged_seq = last_seq;
    }
    earlier_wals earlier = {.nold = 0};
    if (sync && !self->disable_wal) {
        while (db->syncing_old_wals) { /* a flush is making older WALs durable: let it finish */
            st_cond_wait(&db->bg_cv, &db->mu);
        }
        take_earlier_wals(db, &earlier); /* the prefix property before acknowledging durability */
    }
    st_mutex_unlock(&db->mu);
    int rc = sync_earlier_wals(db, &earlier);
    if (!rc) {
        rc = write_group(db, group, &gp, sync, self->disable_wal);
    }
    st_mutex_lock(&db->mu);
    if (rc) {
        /* The WAL and memtable may now disagree with acknowledged state: stop accepting writes. */
        st_db_set_bg_error(db, rc, st_errmsg());
        return rc;
    }
    st_vset_set_last_sequence(db->vs, last_seq);
    /* Pairs with the acquire load in st_db_sv_acquire: readers that see last_seq see the inserts. */
    atomic_store_explicit(&db->visible_seq, last_seq, memory_order_release);
    atomic_fetch_add(&db->stats.user_bytes_written, group->rep.len - ST_BATCH_HEADER);
    atomic_fetch_add(&db->stats.write_groups, 1);
    atomic_fetch_add(&db->stats.writes_grouped, members);
    return 0;
}

/* Wakes the group's members with rc and hands leadership on. REQUIRES mu. */
static void finish_group(strata_db *db, st_writer *self, st_writer *last, int rc)
    ST_REQUIRES(db->mu)
{
    const char *msg = rc ? st_errmsg() : "";
    for (;;) {
        st_writer *w = db->writers_head;
        db->writers_head = w->next;
        if (w != self) {
            if (!w->excluded) {
                w->status = rc;
                snprintf(w->errmsg, sizeof(w->errmsg), "%s", msg);
            }
            w->done = 1;
            st_cond_signal(&w->cv);
        }
        if (w == last) {
            break;
        }
    }
    if (db->writers_head) {
        st_cond_signal(&db->writers_head->cv);
    } else {
        db->writers_tail = NULL;
    }
}

/* Queues writer w (zeroed, its kind set by the caller) and runs it: as a member of a group,
 * or as the leader.  Inlined: it is the write path. */
static ST_ALWAYS_INLINE int queue_writer(strata_db *db, st_writer *wp, strata_batch *batch,
                                         const uint64_t *prot, size_t nprot, int sync,
                                         int disable_wal)
{
    st_writer *w = wp; /* the caller zeroed it and set its kind */
    w->batch = batch;
    w->prot = prot;
    w->nprot = nprot;
    w->sync = sync;
    w->disable_wal = disable_wal;
    st_cond_init(&w->cv);
    st_mutex_lock(&db->mu);
    if (db->writers_tail) {
        db->writers_tail->next = w;
    } else {
        db->writers_head = w;
    }
    db->writers_tail = w;
    while (!w->done && db->writers_head != w) {
        st_cond_wait(&w->cv, &db->mu);
    }
    int rc;
    if (w->done) {
        rc = w->status ? st_err_set(w->status, w->errmsg) : 0;
    } else {
        st_writer *last = w;
        if (w->excl) {
            rc = w->excl(db, w->excl_arg); /* alone at the front: no write runs meanwhile */
        } else {
            rc = make_room(db, batch == NULL, w->flush_cf, batch ? batch->rep.len : 0);
        }
        if (!rc && batch) {
            rc = lead_write(db, w, &last);
        }
        finish_group(db, w, last, rc);
    }
    st_mutex_unlock(&db->mu);
    st_cond_destroy(&w->cv);
    return rc;
}

static int queue_and_write(strata_db *db, strata_batch *batch, const uint64_t *prot, size_t nprot,
                           int sync, int disable_wal, const st_write_check *check)
{
    st_writer w;
    memset(&w, 0, sizeof(w));
    w.check = check;
    return queue_writer(db, &w, batch, prot, nprot, sync, disable_wal);
}

static int write_resolved(strata_db *db, const struct strata_write_options *wo,
                          strata_batch *batch, const st_write_check *check);

static int check_family(void *ctx, uint32_t id, int type, st_slice key, st_slice value)
{
    (void)type;
    (void)key;
    (void)value;
    if (!st_db_cf_by_id(ctx, id)) {
        return st_err(STRATA_E_INVALID, "write batch names column family %u, which does not "
                      "exist or was dropped", id);
    }
    return 0;
}

/* A batch naming families must name live ones of this DB. */
static int check_families(strata_db *db, const strata_batch *batch)
{
    st_mutex_lock(&db->mu);
    int rc = st_batch_for_each_cf(batch, db, check_family);
    st_mutex_unlock(&db->mu);
    return rc;
}

/* TTL puts get their expiry from the DB's clock as the batch is written; a copy is written so
 * the caller's batch stays reusable (and, protected, is verified before it is copied). */
int st_db_write(strata_db *db, const struct strata_write_options *wo, strata_batch *batch)
{
    return st_db_write_ex(db, wo, batch, NULL);
}

int st_db_write_ex(strata_db *db, const struct strata_write_options *wo, strata_batch *batch,
                   const st_write_check *check)
{
    if (st_batch_count(batch) == 0) {
        return 0;
    }
    if (batch->has_cf) {
        int rc = check_families(db, batch);
        if (rc) {
            return rc;
        }
    }
    if (!batch->pending_ttl && !(db->opts.default_ttl && st_batch_has_type(batch, ST_TYPE_VALUE))) {
        return write_resolved(db, wo, batch, check);
    }
    const uint64_t *prot = st_batch_prot(batch);
    int rc = prot ? st_batch_verify(batch, prot, batch->prot.len / sizeof(uint64_t), "write batch")
                  : 0;
    strata_batch tmp;
    if (!rc && st_batch_init(&tmp)) {
        return st_err(STRATA_E_NOMEM, "out of memory resolving TTLs");
    }
    if (!rc) {
        rc = st_batch_resolve_ttl(batch, st_env_unix_micros(db->env), db->opts.default_ttl, &tmp);
        rc = rc ? rc : write_resolved(db, wo, &tmp, check);
        st_batch_free(&tmp);
    }
    return rc;
}

static int write_resolved(strata_db *db, const struct strata_write_options *wo,
                          strata_batch *batch, const st_write_check *check)
{
    int sync = wo ? wo->sync : 0;
    int disable_wal = wo ? wo->disable_wal : 0;
    sync = sync && !disable_wal;
    if (!db->opts.protection_bytes_per_key) {
        return queue_and_write(db, batch, NULL, 0, sync, disable_wal, check);
    }
    const uint64_t *prot = st_batch_prot(batch);
    size_t nprot = batch->prot.len / sizeof(uint64_t);
    st_buf own = ST_BUF_INIT;
    if (!prot) {
        /* Handed over unprotected: take the checksums from its bytes now, before queueing (and
         * into the writer: strata_write does not modify the batch). */
        int rc = st_batch_compute_prot(batch, &own);
        if (rc) {
            return rc;
        }
        prot = (const uint64_t *)(const void *)own.data;
        nprot = own.len / sizeof(uint64_t);
    }
    int rc = queue_and_write(db, batch, prot, nprot, sync, disable_wal, check);
    st_buf_free(&own);
    return rc;
}

int st_db_run_exclusive(strata_db *db, int (*fn)(strata_db *db, void *arg), void *arg)
{
    st_writer w;
    memset(&w, 0, sizeof(w));
    w.excl = fn;
    w.excl_arg = arg;
    return queue_writer(db, &w, NULL, NULL, 0, 0, 0);
}

/* 1 while some family flush waits for (cf, or every one) has memtables switched out before the
 * targets were taken and not yet flushed. REQUIRES mu. */
static int flush_pending(strata_db *db, const strata_cf *cf, const uint64_t *targets, int n)
    ST_REQUIRES(db->mu)
{
    for (int f = 0; f < n; f++) { /* families created meanwhile were not asked to flush */
        strata_cf *c = db->cfs[f];
        if ((!cf || c == cf) && !c->dropped && c->imm_flushed < targets[f]) {
            return 1;
        }
    }
    return 0;
}

int st_db_flush(strata_db *db, strata_cf *cf, int wait)
{
    st_writer w;
    memset(&w, 0, sizeof(w));
    w.flush_cf = cf;
    int rc = queue_writer(db, &w, NULL, NULL, 0, 0, 0);
    if (rc || !wait) {
        return rc;
    }
    st_mutex_lock(&db->mu);
    uint64_t *targets = st_calloc((size_t)db->ncfs, sizeof(uint64_t));
    if (!targets) {
        st_mutex_unlock(&db->mu);
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    for (int f = 0; f < db->ncfs; f++) {
        targets[f] = db->cfs[f]->imm_added;
    }
    int n = db->ncfs;
    while (flush_pending(db, cf, targets, n) && !db->bg_error && !atomic_load(&db->shutting_down)) {
        st_db_bg_schedule(db);
        st_cond_timedwait_micros(&db->bg_cv, &db->mu, ST_STALL_WAIT_MICROS);
    }
    st_free(targets);
    rc = db->bg_error ? bg_error_status(db) : 0;
    st_mutex_unlock(&db->mu);
    return rc;
}
