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

#include "db/db_impl.h"
#include "db/filename.h"
#include "table/table_builder.h"
#include "util/alloc.h"
#include "util/ikey.h"

void st_db_table_options(const strata_db *db, int level, uint64_t number, st_table_options *to)
{
    memset(to, 0, sizeof(*to));
    to->ucmp = db->ucmp;
    to->filter = db->filter;
    to->block_size = db->opts.block_size;
    to->restart_interval = db->opts.block_restart_interval;
    to->compression = st_options_compression_for_level(&db->opts, level);
    to->zstd_level = db->opts.zstd_level;
    to->checksum = db->opts.checksum;
    to->creation_time = st_env_now_micros(db->env) / 1000000;
    to->integ = db->integ;
    to->file_number = number;
}

/* An output table being written. */
typedef struct out_table {
    uint64_t number;
    char *fname;
    st_wfile *file;
    st_table_builder *builder;
    st_buf smallest, largest;
} out_table;

/* stage names the job in protection errors ("flush" or "compaction"). */
static int out_open(strata_db *db, int level, uint64_t number, const char *stage, out_table *o)
{
    memset(o, 0, sizeof(*o));
    o->number = number;
    o->fname = st_filename(db->dbname, ST_FILE_TABLE, number);
    if (!o->fname) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    int rc = st_env_new_writable(db->env, o->fname, &o->file);
    if (rc) {
        return rc;
    }
    st_table_options to;
    st_db_table_options(db, level, number, &to);
    rc = st_table_builder_create(&to, o->file, &o->builder);
    if (!rc && db->opts.protection_bytes_per_key) {
        st_table_builder_set_protection(o->builder, stage);
    }
    return rc;
}

static int out_add(out_table *o, st_slice key, st_slice value)
{
    if (st_table_builder_num_entries(o->builder) == 0 &&
        st_buf_assign(&o->smallest, key.data, key.size)) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    if (st_buf_assign(&o->largest, key.data, key.size)) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    return st_table_builder_add(o->builder, key, value);
}

/* Finishes, syncs and closes the table; *meta is NULL for an empty table (file removed). */
static int out_finish(strata_db *db, out_table *o, st_file_meta **meta)
{
    *meta = NULL;
    int empty = st_table_builder_num_entries(o->builder) == 0;
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

int st_db_write_level0_table(strata_db *db, st_iter *it, uint64_t number, st_file_meta **meta)
{
    out_table o;
    int rc = out_open(db, 0, number, "flush", &o);
    for (st_iter_seek_to_first(it); !rc && st_iter_valid(it); st_iter_next(it)) {
        rc = out_add(&o, st_iter_key(it), st_iter_value(it));
    }
    rc = rc ? rc : st_iter_status(it);
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
    st_compaction *c;
    uint64_t *snaps;
    int nsnaps;
    out_table out;
    int have_out;
    st_file_meta **outputs;
    int noutputs;
    uint64_t bytes_written;
    /* per-user-key state */
    st_buf cur_key;
    int has_cur;
    int last_stripe;
    int stop_requested;
} compaction_state;

static int stripe_of(const compaction_state *cs, uint64_t seq)
{
    int lo = 0, hi = cs->nsnaps;
    while (lo < hi) { /* first snapshot >= seq */
        int mid = (lo + hi) / 2;
        if (cs->snaps[mid] < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

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
    rc = out_open(db, cs->c->output_level, number, "compaction", &cs->out);
    cs->have_out = 1;
    return rc;
}

static int finish_output(compaction_state *cs)
{
    st_file_meta *meta = NULL;
    int rc = out_finish(cs->db, &cs->out, &meta);
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

/* Decides whether the current entry is dropped (*drop) and whether it starts a new user key
 * (*new_key); maintains the per-key state.  Returns 0 or an error. */
static int classify(compaction_state *cs, st_slice ukey, uint64_t seq, int type, int *drop,
                    int *new_key)
{
    *new_key = !cs->has_cur || st_ucmp(cs->db->ucmp, ukey, st_buf_slice(&cs->cur_key)) != 0;
    if (*new_key) {
        if (st_buf_assign(&cs->cur_key, ukey.data, ukey.size)) {
            return st_err(STRATA_E_NOMEM, "out of memory");
        }
        cs->has_cur = 1;
        cs->last_stripe = -1;
    }
    int stripe = stripe_of(cs, seq);
    *drop = stripe == cs->last_stripe ||
            (type == ST_TYPE_DELETION && stripe == 0 &&
             st_compaction_is_base_level_for_key(cs->c, ukey));
    cs->last_stripe = stripe;
    return 0;
}

static int process_entry(compaction_state *cs, st_slice key, st_slice value)
{
    st_slice ukey;
    uint64_t seq;
    int type, drop = 0, new_key = 0;
    if (st_ikey_parse(key, &ukey, &seq, &type)) {
        return st_err(STRATA_E_CORRUPTION, "compaction input holds a corrupted internal key");
    }
    if (st_compaction_should_stop_before(cs->c, key)) {
        cs->stop_requested = 1;
    }
    int rc = classify(cs, ukey, seq, type, &drop, &new_key);
    if (!rc && cs->have_out && new_key &&
        (cs->stop_requested ||
         st_table_builder_file_size(cs->out.builder) >= cs->c->max_output_file_size)) {
        rc = finish_output(cs);
        cs->stop_requested = 0;
    }
    if (rc || drop) {
        return rc;
    }
    if (!cs->have_out) {
        rc = new_output(cs);
        cs->stop_requested = 0;
    }
    return rc ? rc : out_add(&cs->out, key, value);
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

/* Merges the inputs into output tables, without mu. */
static int do_compaction_work(compaction_state *cs)
{
    st_iter *it = st_compaction_input_iter(cs->c, cs->db->tc);
    if (!it) {
        return st_err(STRATA_E_NOMEM, "out of memory starting a compaction");
    }
    int rc = 0;
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
    if (rc == STRATA_E_CORRUPTION) {
        name_inputs(cs->c);
    }
    if (!rc && cs->have_out) {
        rc = finish_output(cs);
    }
    if (!rc && cs->noutputs > 0) {
        rc = st_env_sync_dir(cs->db->env, cs->db->dbname);
    }
    return rc;
}

static int install_compaction(strata_db *db, compaction_state *cs) ST_REQUIRES(db->mu)
{
    st_version_edit edit;
    st_version_edit_init(&edit);
    int rc = st_compaction_add_input_deletions(cs->c, &edit);
    for (int i = 0; !rc && i < cs->noutputs; i++) {
        rc = st_version_edit_add_file(&edit, cs->c->output_level, cs->outputs[i]);
    }
    if (!rc) {
        rc = st_vset_log_and_apply(db->vs, &edit, &db->mu);
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
        rc = st_vset_log_and_apply(db->vs, &edit, &db->mu);
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
    st_buf_free(&cs->cur_key);
}

int st_db_run_compaction(strata_db *db, st_compaction *c)
{
    int rc;
    if (!c->manual && st_compaction_is_trivial_move(c)) {
        rc = trivial_move(db, c);
    } else {
        compaction_state cs;
        memset(&cs, 0, sizeof(cs));
        cs.db = db;
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
    if (rc == STRATA_E_CLOSED) {
        return rc;
    }
    if (rc) {
        st_db_set_bg_error(db, rc, st_errmsg());
        return rc;
    }
    rc = st_db_sv_install(db);
    st_db_delete_obsolete(db);
    st_db_bg_schedule(db);
    return rc;
}

/* Compacts level's files overlapping the range into the next level until none remain. */
static int compact_level_range(strata_db *db, int level, const st_slice *begin, const st_slice *end)
    ST_REQUIRES(db->mu)
{
    for (;;) {
        if (db->bg_error) {
            return st_err_set(db->bg_error, db->bg_errmsg);
        }
        int busy = 0;
        st_compaction *c = st_vset_compact_range(db->vs, level, begin, end, &busy);
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
static int max_level_with_data(strata_db *db, const st_slice *ubegin, const st_slice *uend)
    ST_REQUIRES(db->mu)
{
    st_version *v = st_vset_current(db->vs);
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

int st_db_compact_range(strata_db *db, const st_slice *begin, const st_slice *end)
{
    int rc = st_db_flush(db, 1);
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
    int max = max_level_with_data(db, begin, end);
    for (int level = 0; !rc && level <= max && level < db->opts.num_levels; level++) {
        rc = compact_level_range(db, level, begin ? &bs : NULL, end ? &es : NULL);
    }
    st_mutex_unlock(&db->mu);
    st_buf_free(&b);
    st_buf_free(&e);
    return rc;
}
