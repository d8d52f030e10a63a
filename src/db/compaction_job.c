/* compaction_job.c — writing tables: level-0 tables from memtables (flush, recovery) and
 * compaction outputs.
 *
 * Dropping rule (snapshot-aware): with the live snapshot sequences sorted ascending, an entry's
 * "stripe" is the index of the first snapshot that can see it (number of snapshots if none).  A
 * version is dropped when a newer version of the same user key lies in the same stripe (every
 * reader that could see it sees the newer one instead).  A deletion is dropped when it lies in
 * stripe 0 (no snapshot predates it) and no level below the output can hold the key.
 *
 * Output files are cut at target_file_size or when grandparent overlap grows too large, but
 * only between user keys, so one user key never spans two files of a level.
 *
 * Durability: every table is synced, and its directory synced, before a MANIFEST edit names it.
 *
 * Per-key protection (protection_bytes_per_key > 0): a flush reads the memtable through its
 * protected iterator, which checks each entry's stored checksum as it reaches it, and every table
 * builder checks its data blocks against checksums of the entries as they were fed in, before
 * sealing them ("flush", "compaction").  Compaction inputs found in the block cache are checked by
 * the cached blocks' own checksums.  A mismatch fails the job and becomes the sticky background
 * error, so corrupted bytes in memory never reach a table. */
#include <string.h>

#include "db/compaction_iter.h"
#include "db/db_impl.h"
#include "db/merge_op.h"
#include "db/filename.h"
#include "table/table_builder.h"
#include "util/alloc.h"
#include "util/ikey.h"

void st_db_table_options(const strata_cf *cf, int level, uint64_t number, st_table_options *to)
{
    memset(to, 0, sizeof(*to));
    to->ucmp = cf->ucmp;
    to->filter = cf->filter;
    to->block_size = cf->opts.block_size;
    to->restart_interval = cf->opts.block_restart_interval;
    to->compression = st_options_compression_for_level(&cf->opts, level);
    to->zstd_level = cf->opts.zstd_level;
    to->checksum = cf->opts.checksum;
    to->creation_time = st_env_now_micros(cf->db->env) / 1000000;
    to->integ = cf->db->integ;
    to->file_number = number;
}

/* An output table being written. */
typedef struct out_table {
    uint64_t number;
    char *fname;
    st_wfile *file;
    st_table_builder *builder;
    st_buf smallest, largest;
    const st_comparator *ucmp; /* the family's */
} out_table;

/* stage names the job in protection errors ("flush" or "compaction"). */
static int out_open(strata_db *db, strata_cf *cf, int level, uint64_t number, const char *stage,
                    out_table *o)
{
    memset(o, 0, sizeof(*o));
    o->number = number;
    o->ucmp = cf->ucmp;
    o->fname = st_filename(db->dbname, ST_FILE_TABLE, number);
    if (!o->fname) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    int rc = st_env_new_writable(db->env, o->fname, &o->file);
    if (rc) {
        return rc;
    }
    st_table_options to;
    st_db_table_options(cf, level, number, &to);
    rc = st_table_builder_create(&to, o->file, &o->builder);
    if (!rc && db->opts.protection_bytes_per_key) {
        st_table_builder_set_protection(o->builder, stage);
    }
    return rc;
}

static int out_add(out_table *o, st_slice key, st_slice value)
{
    if (st_table_builder_num_entries(o->builder) == 0 &&
        st_table_builder_num_range_dels(o->builder) == 0 &&
        st_buf_assign(&o->smallest, key.data, key.size)) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    if (st_buf_assign(&o->largest, key.data, key.size)) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    return st_table_builder_add(o->builder, key, value);
}

/* Widens the table's bounds to key (an internal key) from below or above. */
static int out_widen(const strata_db *db, out_table *o, st_slice key, int above)
{
    int have = st_table_builder_num_entries(o->builder) + st_table_builder_num_range_dels(o->builder);
    st_buf *b = above ? &o->largest : &o->smallest;
    (void)db;
    int c = have ? st_ikey_cmp(o->ucmp, key, st_buf_slice(b)) : 0;
    if ((!have || (above ? c > 0 : c < 0)) && st_buf_assign(b, key.data, key.size)) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    return 0;
}

/* Adds the tombstones of l that overlap [lo, hi) (NULL: unbounded), clipped to it, keeping per
 * fragment only the seqs keep() accepts, and widens the table's bounds over them: smallest
 * (start, newest seq, RANGE_DEL), largest the sentinel (end, max seq, RANGE_DEL), which sorts
 * before every entry of end itself, so a table cut at end does not overlap the next one. */
typedef int (*keep_seqs_fn)(void *arg, st_slice start, st_slice end, const uint64_t *seqs,
                            size_t n, uint64_t *kept);

static int out_add_range_dels(strata_db *db, out_table *o, const st_rdel_list *l,
                              const st_slice *lo, const st_slice *hi, keep_seqs_fn keep,
                              void *arg)
{
    const st_comparator *ucmp = o->ucmp;
    size_t n = st_rdel_list_count(l);
    uint64_t *kept = NULL;
    st_buf k = ST_BUF_INIT;
    int rc = 0;
    for (size_t i = lo ? st_rdel_list_lower_bound(l, *lo) : 0; !rc && i < n; i++) {
        st_slice s = st_rdel_list_start(l, i), e = st_rdel_list_end(l, i);
        if (hi && st_ucmp(ucmp, s, *hi) >= 0) {
            break;
        }
        if (lo && st_ucmp(ucmp, s, *lo) < 0) {
            s = *lo;
        }
        if (hi && st_ucmp(ucmp, e, *hi) > 0) {
            e = *hi;
        }
        if (st_ucmp(ucmp, s, e) >= 0) {
            continue;
        }
        size_t ns = st_rdel_list_nseqs(l, i);
        uint64_t *p = st_realloc(kept, sizeof(uint64_t) * (ns ? ns : 1));
        if (!p) {
            rc = st_err(STRATA_E_NOMEM, "out of memory");
            break;
        }
        kept = p;
        size_t nk = keep ? (size_t)keep(arg, s, e, st_rdel_list_seqs(l, i), ns, kept) : ns;
        if (!keep) {
            memcpy(kept, st_rdel_list_seqs(l, i), sizeof(uint64_t) * ns);
        }
        if (nk == 0) {
            continue;
        }
        st_buf_clear(&k);
        rc = st_ikey_append(&k, s, kept[0], ST_TYPE_RANGE_DEL) ? STRATA_E_NOMEM : 0;
        rc = rc ? rc : out_widen(db, o, st_buf_slice(&k), 0);
        st_buf_clear(&k);
        rc = rc ? rc : st_ikey_append(&k, e, ST_MAX_SEQ, ST_TYPE_RANGE_DEL) ? STRATA_E_NOMEM : 0;
        rc = rc ? rc : out_widen(db, o, st_buf_slice(&k), 1);
        for (size_t j = 0; !rc && j < nk; j++) {
            rc = st_table_builder_add_range_del(o->builder, s, e, kept[j]);
        }
    }
    st_free(kept);
    st_buf_free(&k);
    return rc == STRATA_E_NOMEM && !st_errmsg()[0] ? st_err(rc, "out of memory") : rc;
}

/* Finishes, syncs and closes the table; *meta is NULL for an empty table (file removed). */
static int out_finish(strata_db *db, out_table *o, st_file_meta **meta)
{
    *meta = NULL;
    int empty = st_table_builder_num_entries(o->builder) == 0 &&
                st_table_builder_num_range_dels(o->builder) == 0;
    int rc = empty ? 0 : st_table_builder_finish(o->builder);
    if (!rc && !empty) {
        rc = st_wfile_sync(o->file);
    }
    int crc = st_wfile_close(o->file);
    o->file = NULL;
    rc = rc ? rc : crc;
    if (!rc && !empty) {
        const st_table_props *p = st_table_builder_props(o->builder);
        *meta = st_file_meta_create(o->number, st_table_builder_file_size(o->builder),
                                    st_buf_slice(&o->smallest), st_buf_slice(&o->largest));
        if (!*meta) {
            rc = st_err(STRATA_E_NOMEM, "out of memory");
        } else {
            (*meta)->smallest_seq = p->smallest_seq;
            (*meta)->largest_seq = p->largest_seq;
            (*meta)->num_entries = p->num_entries;
            (*meta)->num_deletions = p->num_deletions;
            (*meta)->num_range_dels = p->num_range_deletions;
        }
    }
    if (rc || empty) {
        st_env_remove_file(db->env, o->fname);
    }
    return rc;
}

static void out_free(strata_db *db, out_table *o)
{
    if (o->file) {
        st_wfile_close(o->file);
        st_env_remove_file(db->env, o->fname);
    }
    st_table_builder_destroy(o->builder);
    st_free(o->fname);
    st_buf_free(&o->smallest);
    st_buf_free(&o->largest);
    memset(o, 0, sizeof(*o));
}

/* st_cpass.emit for a flush: straight into its table. */
static int flush_emit(void *arg, st_slice key, st_slice value)
{
    return out_add(arg, key, value);
}

/* A flush keeps what any reader can still see: entries its own range tombstones cover in their
 * stripe, versions shadowed in their stripe, puts cancelled by single deletes and operands merged
 * onto a base of their stripe go (st_cpass; nothing counts as the bottom, so deletions stay).  A
 * snapshot taken while the flush runs sees every entry of the frozen memtable, so it loses
 * nothing to a list taken before. */
int st_db_write_level0_table(strata_db *db, strata_cf *cf, st_memtable *m, uint64_t number,
                             const uint64_t *snaps, int nsnaps, st_file_meta **meta)
{
    *meta = NULL;
    st_iter *it = st_memtable_iter(m);
    if (!it) {
        return st_err(STRATA_E_NOMEM, "out of memory flushing a memtable");
    }
    st_rdel_list *rdels = NULL;
    out_table o;
    st_cpass pass;
    st_cpass_init(&pass);
    int rc = st_memtable_range_dels_all(m, &rdels);
    rc = rc ? rc : out_open(db, cf, 0, number, "flush", &o);
    pass.ucmp = cf->ucmp;
    pass.snaps = snaps;
    pass.nsnaps = nsnaps;
    pass.rdels = rdels;
    pass.mo = cf->opts.merge_operator;
    pass.level = 0;
    pass.now = st_env_unix_micros(db->env);
    pass.emit = flush_emit;
    pass.emit_arg = &o;
    for (st_iter_seek_to_first(it); !rc && st_iter_valid(it); st_iter_next(it)) {
        rc = st_cpass_add(&pass, st_iter_key(it), st_iter_value(it));
    }
    rc = rc ? rc : st_iter_status(it);
    rc = rc ? rc : st_cpass_finish_key(&pass);
    st_iter_destroy(it);
    if (!rc && rdels) {
        rc = out_add_range_dels(db, &o, rdels, NULL, NULL, NULL, NULL);
    }
    st_rdel_list_unref(rdels);
    st_cpass_free(&pass);
    if (!rc) {
        rc = out_finish(db, &o, meta);
    }
    out_free(db, &o);
    if (!rc && *meta) {
        rc = st_env_sync_dir(db->env, db->dbname);
        if (rc) {
            st_file_meta_unref(*meta);
            *meta = NULL;
        }
    }
    return rc;
}

/* ---- compaction ----------------------------------------------------------------------------- */

typedef struct compaction_state {
    strata_db *db;
    strata_cf *cf;
    st_compaction *c;
    uint64_t *snaps;
    int nsnaps;
    out_table out;
    int have_out;
    st_file_meta **outputs;
    int noutputs;
    uint64_t bytes_written;
    st_cpass pass;       /* what survives, key by key */
    st_rdel_list *rdels; /* every input table's range tombstones (NULL: none) */
    st_buf lo;           /* where the open output's key range starts (empty: unbounded) */
    int has_lo;
    int stop_requested;
} compaction_state;

static int new_output(compaction_state *cs)
{
    strata_db *db = cs->db;
    st_mutex_lock(&db->mu);
    uint64_t number = st_vset_new_file_number(db->vs);
    int rc = st_db_pending_add(db, number);
    st_mutex_unlock(&db->mu);
    if (rc) {
        return rc;
    }
    rc = out_open(db, cs->cf, cs->c->output_level, number, "compaction", &cs->out);
    cs->have_out = 1;
    return rc;
}

/* 1 if seq is one of the n ascending snapshot sequences. */
static int seq_in(const uint64_t *snaps, int n, uint64_t seq)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (snaps[mid] < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && snaps[lo] == seq;
}

/* Tombstones of one fragment to keep: the newest of each snapshot stripe, without stripe 0's
 * when no level below the output overlaps the fragment (nothing older for it to hide). */
static int keep_tombstones(void *arg, st_slice start, st_slice end, const uint64_t *seqs, size_t n,
                           uint64_t *kept)
{
    compaction_state *cs = arg;
    size_t nk = 0;
    int last = -1;
    for (size_t i = 0; i < n; i++) { /* newest first */
        int stripe = st_cpass_stripe(&cs->pass, seqs[i]);
        if (stripe != last) {
            kept[nk++] = seqs[i];
            last = stripe;
        }
    }
    if (nk && last == 0) {
        const st_version *v = cs->c->input_version;
        int below = 0;
        for (int level = cs->c->output_level + 1; !below && level < v->num_levels; level++) {
            below = st_version_overlaps((st_version *)v, level, start, end);
        }
        nk -= !below;
    }
    return (int)nk;
}

/* Finishes the open output, first adding the tombstones of [lo, hi) (hi NULL: unbounded). */
static int finish_output(compaction_state *cs, const st_slice *hi)
{
    st_file_meta *meta = NULL;
    int rc = 0;
    if (cs->rdels) {
        st_slice lo = st_buf_slice(&cs->lo);
        rc = out_add_range_dels(cs->db, &cs->out, cs->rdels, cs->has_lo ? &lo : NULL, hi,
                                keep_tombstones, cs);
    }
    if (hi) {
        rc = rc ? rc : st_buf_assign(&cs->lo, hi->data, hi->size) ? STRATA_E_NOMEM : 0;
        cs->has_lo = 1;
    }
    rc = rc ? rc : out_finish(cs->db, &cs->out, &meta);
    out_free(cs->db, &cs->out);
    cs->have_out = 0;
    if (rc || !meta) {
        return rc;
    }
    st_file_meta **p = st_realloc(cs->outputs, sizeof(*p) * (size_t)(cs->noutputs + 1));
    if (!p) {
        st_file_meta_unref(meta);
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    cs->outputs = p;
    cs->outputs[cs->noutputs++] = meta;
    cs->bytes_written += meta->file_size;
    return 0;
}

/* st_cpass.emit: into the open output, opening one first if none is. */
static int emit_entry(void *arg, st_slice key, st_slice value)
{
    compaction_state *cs = arg;
    int rc = 0;
    if (!cs->have_out) {
        rc = new_output(cs);
        cs->stop_requested = 0;
    }
    return rc ? rc : out_add(&cs->out, key, value);
}

static int is_base_for_key(void *arg, st_slice ukey)
{
    compaction_state *cs = arg;
    return st_compaction_is_base_level_for_key(cs->c, ukey);
}

static int process_entry(compaction_state *cs, st_slice key, st_slice value)
{
    if (key.size < ST_IKEY_TRAILER) {
        return st_err(STRATA_E_CORRUPTION, "compaction input holds a corrupted internal key");
    }
    if (st_compaction_should_stop_before(cs->c, key)) {
        cs->stop_requested = 1;
    }
    st_slice ukey = st_ikey_user(key);
    int rc = 0;
    if (st_cpass_is_new_key(&cs->pass, ukey)) {
        /* Output files are cut between user keys only, after the previous key is complete. */
        rc = st_cpass_finish_key(&cs->pass);
        if (!rc && cs->have_out &&
            (cs->stop_requested ||
             st_table_builder_file_size(cs->out.builder) >= cs->c->max_output_file_size)) {
            rc = finish_output(cs, &ukey);
            cs->stop_requested = 0;
        }
    }
    return rc ? rc : st_cpass_add(&cs->pass, key, value);
}

/* Every input table's range tombstones, fragmented together. */
static int collect_range_dels(compaction_state *cs)
{
    st_rdel_builder b;
    st_rdel_builder_init(&b);
    int rc = 0;
    for (int w = 0; w < 2 && !rc; w++) {
        for (int i = 0; i < cs->c->ninputs[w] && !rc; i++) {
            const st_file_meta *f = cs->c->inputs[w][i];
            if (!f->num_range_dels) {
                continue;
            }
            st_table *t;
            st_pin pin;
            rc = st_table_cache_find(cs->cf->tc, f->number, f->file_size, &t, &pin);
            if (!rc) {
                rc = st_rdel_builder_add_list(&b, st_table_range_dels(t));
                st_pin_release(&pin);
            }
        }
    }
    rc = rc ? rc : st_rdel_builder_finish(&b, cs->cf->ucmp, &cs->rdels);
    st_rdel_builder_free(&b);
    return rc;
}

static void setup_pass(compaction_state *cs)
{
    strata_db *db = cs->db;
    st_cpass *p = &cs->pass;
    st_cpass_init(p);
    p->ucmp = cs->cf->ucmp;
    p->snaps = cs->snaps;
    p->nsnaps = cs->nsnaps;
    p->rdels = cs->rdels;
    p->mo = cs->cf->opts.merge_operator;
    p->filter = cs->cf->opts.compaction_filter;
    p->level = cs->c->output_level;
    p->now = st_env_unix_micros(db->env);
    p->is_base = is_base_for_key;
    p->base_arg = cs;
    p->emit = emit_entry;
    p->emit_arg = cs;
}

/* Adds the input file names to the current error message (corruption found while merging). */
static void name_inputs(const st_compaction *c)
{
    char names[256] = "";
    size_t len = 0;
    for (int w = 0; w < 2; w++) {
        for (int i = 0; i < c->ninputs[w] && len + 16 < sizeof(names); i++) {
            len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%06llu.sst",
                                    len ? " " : "", (unsigned long long)c->inputs[w][i]->number);
        }
    }
    st_err_context(STRATA_E_CORRUPTION, "compacting L%d+L%d (inputs %s)", c->level,
                   c->output_level, names);
}

/* Statistics of the pass; a single delete misused (debug builds) is logged. */
static void note_pass(compaction_state *cs)
{
    const st_cpass *p = &cs->pass;
    atomic_fetch_add(&cs->db->stats.single_delete_misuse, p->single_delete_misuse);
#ifndef NDEBUG
    if (p->single_delete_misuse) {
        st_log(cs->db->log, "compaction L%d+L%d: %llu single delete(s) met another deletion, a "
               "merge or a second single delete of the same key (contract broken)", cs->c->level,
               cs->c->output_level, (unsigned long long)p->single_delete_misuse);
    }
#endif
}

/* Merges the inputs into output tables, without mu. */
static int do_compaction_work(compaction_state *cs)
{
    int rc = collect_range_dels(cs);
    if (rc) {
        return rc;
    }
    setup_pass(cs);
    st_iter *it = st_compaction_input_iter(cs->c, cs->cf->tc);
    if (!it) {
        return st_err(STRATA_E_NOMEM, "out of memory starting a compaction");
    }
    for (st_iter_seek_to_first(it); st_iter_valid(it); st_iter_next(it)) {
        if (atomic_load_explicit(&cs->db->shutting_down, memory_order_relaxed)) {
            rc = st_err(STRATA_E_CLOSED, "compaction stopped: database is closing");
            break;
        }
        rc = process_entry(cs, st_iter_key(it), st_iter_value(it));
        if (rc) {
            break;
        }
    }
    if (!rc) {
        rc = st_iter_status(it);
    }
    st_iter_destroy(it);
    rc = rc ? rc : st_cpass_finish_key(&cs->pass);
    if (rc == STRATA_E_CORRUPTION) {
        name_inputs(cs->c);
    }
    if (!rc && !cs->have_out && cs->rdels) {
        rc = new_output(cs); /* tombstones only: they still need a table (unless all dropped) */
    }
    if (!rc && cs->have_out) {
        rc = finish_output(cs, NULL);
    }
    note_pass(cs);
    if (!rc && cs->noutputs > 0) {
        rc = st_env_sync_dir(cs->db->env, cs->db->dbname);
    }
    return rc;
}

/* 1 if a snapshot created while the compaction ran can see a version its filter changed: the
 * filter decided with the snapshot list of the start, and a new snapshot at or above a filtered
 * version must go on seeing that version as it was. */
static int filter_raced_snapshot(strata_db *db, const compaction_state *cs) ST_REQUIRES(db->mu)
{
    uint64_t min = cs->pass.filtered_min_seq;
    if (min == UINT64_MAX) {
        return 0;
    }
    for (const struct strata_snapshot *s = db->snapshots.next; s != &db->snapshots; s = s->next) {
        if (s->seq >= min && !seq_in(cs->snaps, cs->nsnaps, s->seq)) {
            return 1;
        }
    }
    return 0;
}

static int install_compaction(strata_db *db, compaction_state *cs) ST_REQUIRES(db->mu)
{
    if (filter_raced_snapshot(db, cs)) {
        /* Dropped, not failed: the outputs become obsolete files and the inputs stay; the next
         * pick sees the new snapshot and leaves those versions unfiltered. */
        st_log(db->log, "compaction L%d+L%d discarded: a snapshot taken during it can see "
               "versions its compaction filter changed", cs->c->level, cs->c->output_level);
        return 0;
    }
    /* From here until readers get the new version (st_db_sv_install), a new snapshot would
     * read the old values through the old super-version and the filtered ones after: snapshot
     * creation waits for the switch (db->filter_installing; the MANIFEST write releases mu). */
    db->filter_installing = cs->pass.filtered_min_seq != UINT64_MAX;
    st_version_edit edit;
    st_version_edit_init(&edit);
    int rc = st_compaction_add_input_deletions(cs->c, &edit);
    for (int i = 0; !rc && i < cs->noutputs; i++) {
        rc = st_version_edit_add_file(&edit, cs->c->output_level, cs->outputs[i]);
    }
    if (!rc) {
        rc = st_vset_log_and_apply(cs->cf->vs, &edit, &db->mu);
    }
    st_version_edit_clear(&edit);
    return rc;
}

static int trivial_move(strata_db *db, st_compaction *c) ST_REQUIRES(db->mu)
{
    st_version_edit edit;
    st_version_edit_init(&edit);
    st_file_meta *f = c->inputs[0][0];
    int rc = st_version_edit_delete_file(&edit, c->level, f->number);
    if (!rc) {
        rc = st_version_edit_add_file(&edit, c->output_level, f);
    }
    if (!rc) {
        rc = st_vset_log_and_apply(c->input_version->vset, &edit, &db->mu);
    }
    st_version_edit_clear(&edit);
    if (!rc) {
        atomic_fetch_add(&db->stats.trivial_moves, 1);
        st_log(db->log, "moved table %llu from L%d to L%d", (unsigned long long)f->number,
               c->level, c->output_level);
    }
    return rc;
}

static uint64_t input_bytes(const st_compaction *c)
{
    uint64_t b = 0;
    for (int w = 0; w < 2; w++) {
        for (int i = 0; i < c->ninputs[w]; i++) {
            b += c->inputs[w][i]->file_size;
        }
    }
    return b;
}

static void record_stats(strata_db *db, const compaction_state *cs, uint64_t micros)
{
    int lvl = cs->c->output_level;
    uint64_t in = input_bytes(cs->c);
    atomic_fetch_add(&db->stats.compactions, 1);
    atomic_fetch_add(&db->stats.compaction_bytes_read, in);
    atomic_fetch_add(&db->stats.compaction_bytes_written, cs->bytes_written);
    atomic_fetch_add(&db->stats.level_bytes_read[lvl], in);
    atomic_fetch_add(&db->stats.level_bytes_written[lvl], cs->bytes_written);
    atomic_fetch_add(&db->stats.level_compactions[lvl], 1);
    atomic_fetch_add(&db->stats.level_micros[lvl], micros);
    st_log(db->log, "compacted L%d (%d files) + L%d (%d files) -> %d files, %llu -> %llu bytes",
           cs->c->level, cs->c->ninputs[0], lvl, cs->c->ninputs[1], cs->noutputs,
           (unsigned long long)in, (unsigned long long)cs->bytes_written);
}

static void cleanup_state(strata_db *db, compaction_state *cs) ST_REQUIRES(db->mu)
{
    for (int i = 0; i < cs->noutputs; i++) {
        st_db_pending_remove(db, cs->outputs[i]->number);
        st_file_meta_unref(cs->outputs[i]);
    }
    if (cs->have_out) {
        st_db_pending_remove(db, cs->out.number);
        out_free(db, &cs->out);
    }
    st_free(cs->outputs);
    st_free(cs->snaps);
    st_cpass_free(&cs->pass);
    st_rdel_list_unref(cs->rdels);
    st_buf_free(&cs->lo);
}

/* Readers now see the new version (or the install failed): snapshots may be taken again. */
static void end_filter_install(strata_db *db) ST_REQUIRES(db->mu)
{
    if (db->filter_installing) {
        db->filter_installing = 0;
        st_cond_broadcast(&db->bg_cv);
    }
}

int st_db_run_compaction(strata_db *db, st_compaction *c)
{
    int rc;
    strata_cf *cf = st_vset_owner(c->input_version->vset);
    if (!c->manual && st_compaction_is_trivial_move(c)) {
        rc = trivial_move(db, c);
    } else {
        compaction_state cs;
        memset(&cs, 0, sizeof(cs));
        cs.db = db;
        cs.cf = cf;
        cs.c = c;
        uint64_t start = st_env_now_micros(db->env);
        rc = st_db_snapshot_list(db, &cs.snaps, &cs.nsnaps);
        if (!rc) {
            st_mutex_unlock(&db->mu);
            rc = do_compaction_work(&cs);
            st_mutex_lock(&db->mu);
        }
        if (!rc) {
            rc = install_compaction(db, &cs);
        }
        if (!rc) {
            record_stats(db, &cs, st_env_now_micros(db->env) - start);
        }
        cleanup_state(db, &cs);
    }
    st_compaction_release(c);
    if (rc == STRATA_E_CLOSED || rc) {
        end_filter_install(db);
    }
    if (rc == STRATA_E_CLOSED) {
        return rc;
    }
    if (rc && cf->dropped) {
        return 0; /* the family went while the compaction ran: its outputs are just obsolete */
    }
    if (rc) {
        st_db_set_bg_error(db, rc, st_errmsg());
        return rc;
    }
    rc = st_db_sv_install(db, cf);
    end_filter_install(db);
    st_db_delete_obsolete(db);
    st_db_bg_schedule(db);
    return rc;
}

/* Compacts level's files overlapping the range into the next level until none remain. */
static int compact_level_range(strata_db *db, strata_cf *cf, int level, const st_slice *begin,
                               const st_slice *end) ST_REQUIRES(db->mu)
{
    for (;;) {
        if (db->bg_error) {
            return st_err_set(db->bg_error, db->bg_errmsg);
        }
        int busy = 0;
        if (cf->dropped) {
            return st_err(STRATA_E_INVALID, "column family %s was dropped", cf->name);
        }
        st_compaction *c = st_vset_compact_range(cf->vs, level, begin, end, &busy);
        if (!c && busy) {
            st_db_bg_schedule(db);
            st_cond_timedwait_micros(&db->bg_cv, &db->mu, 100000);
            continue;
        }
        if (!c) {
            return 0;
        }
        int into_itself = c->output_level == level;
        db->manual_compactions++;
        int rc = st_db_run_compaction(db, c);
        db->manual_compactions--;
        st_cond_broadcast(&db->bg_cv);
        if (rc) {
            return rc;
        }
        if (into_itself) {
            return 0; /* last level compacted into itself: done in one pass */
        }
    }
}

/* Deepest level holding data in the user-key range. REQUIRES mu. */
static int max_level_with_data(strata_db *db, strata_cf *cf, const st_slice *ubegin,
                               const st_slice *uend) ST_REQUIRES(db->mu)
{
    (void)db;
    if (cf->dropped) {
        return -1;
    }
    st_version *v = st_vset_current(cf->vs);
    int max = -1;
    for (int level = 0; level < v->num_levels; level++) {
        st_file_meta **files = NULL;
        int n = 0;
        if (st_version_overlapping(v, level, ubegin, uend, &files, &n) == 0 && n > 0) {
            max = level;
        }
        st_free(files);
    }
    st_version_unref(v);
    return max;
}

int st_db_compact_range(strata_db *db, strata_cf *cf, const st_slice *begin, const st_slice *end)
{
    int rc = st_db_flush(db, cf, 1);
    if (rc) {
        return rc;
    }
    st_buf b = ST_BUF_INIT, e = ST_BUF_INIT;
    if ((begin && st_ikey_append(&b, *begin, ST_MAX_SEQ, ST_TYPE_FOR_SEEK)) ||
        (end && st_ikey_append(&e, *end, 0, 0))) {
        st_buf_free(&b);
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    st_slice bs = st_buf_slice(&b), es = st_buf_slice(&e);
    st_mutex_lock(&db->mu);
    /* Push data down level by level, and rewrite the deepest level holding data too (into the
     * next level, or into itself at the last level) so old versions and tombstones go away. */
    int max = max_level_with_data(db, cf, begin, end);
    for (int level = 0; !rc && level <= max && level < cf->opts.num_levels; level++) {
        rc = compact_level_range(db, cf, level, begin ? &bs : NULL, end ? &es : NULL);
    }
    st_mutex_unlock(&db->mu);
    st_buf_free(&b);
    st_buf_free(&e);
    return rc;
}
