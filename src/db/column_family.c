/* column_family.c — column families: creating the family objects at open, creating and dropping
 * families while open, finding them, and the WAL bound they put on deletion.
 *
 * Each family has its own options, comparator, filter, table cache, version set (sharing the
 * default family's counters and MANIFEST), memtables and super-version.  All share the WAL: a
 * batch's operations name their family (write_batch.h), so a batch spanning families is one WAL
 * record.  A family's MANIFEST log number says which WALs can still hold its unflushed writes.
 *
 * Creating and dropping run alone at the front of the write queue (st_db_run_exclusive), so the
 * group-commit leader, which reads the families without mu, never sees them change mid-write;
 * each writes one MANIFEST edit (add with the name, or drop) through the family's version set.  A dropped family's object stays
 * until close (its handle stays valid; calls through it fail); its files go when the last reader
 * of its versions finishes. */
#include <string.h>

#include "db/db_impl.h"
#include "db/merge_op.h"
#include "util/alloc.h"
#include "util/comparator.h"

#define CF_NAME_MAX 255

static int name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    return len > 0 && len <= CF_NAME_MAX;
}

static int setup_filter(strata_cf *cf)
{
    if (cf->opts.filter_policy_set) {
        cf->filter = cf->opts.filter_policy;
    } else if (cf->opts.bloom_bits_per_key > 0) {
        cf->own_filter = strata_filter_policy_create_bloom(cf->opts.bloom_bits_per_key);
        if (!cf->own_filter) {
            return st_err(STRATA_E_NOMEM, "out of memory creating the bloom filter policy");
        }
        cf->filter = cf->own_filter;
    }
    return 0;
}

static int create_tables(strata_db *db, strata_cf *cf)
{
    st_table_read_options topts = {cf->ucmp,  cf->filter,          db->block_cache,
                                   NULL,      cf->opts.paranoid_checks, cf->opts.mmap_reads,
                                   db->integ, 0};
    int table_slots = db->opts.max_open_files - 10;
    int rc = st_table_cache_create(db->env, db->dbname, &topts, table_slots < 16 ? 16 : table_slots,
                                   &cf->tc);
    if (rc) {
        return rc;
    }
    st_table_cache_set_protection(cf->tc, db->opts.protection_bytes_per_key);
    st_vset_options vo = {
        .env = db->env,
        .dbname = db->dbname,
        .ucmp = cf->ucmp,
        .info_log = db->log,
        .num_levels = cf->opts.num_levels,
        .max_bytes_for_level_base = cf->opts.max_bytes_for_level_base,
        .level_multiplier = cf->opts.level_multiplier,
        .dynamic_level_bytes = cf->opts.dynamic_level_bytes,
        .target_file_size = cf->opts.target_file_size,
        .l0_compaction_trigger = cf->opts.l0_compaction_trigger,
        .max_manifest_size = 0,
        .integ = db->integ,
        .merge_operator = cf->opts.merge_operator ? cf->opts.merge_operator->name : NULL,
        .cf_id = cf->id,
        .cf_name = cf->name,
        .owner = cf,
    };
    return st_vset_create(&vo, cf->tc, cf->id ? db->dflt->vs : NULL, &cf->vs);
}

static void cf_free(strata_cf *cf)
{
    if (!cf) {
        return;
    }
    if (cf->vs) {
        st_vset_destroy(cf->vs);
    }
    if (cf->tc) {
        st_table_cache_destroy(cf->tc);
    }
    strata_filter_policy_destroy(cf->own_filter);
    st_merge_op_unref(cf->opts.merge_operator);
    st_compaction_filter_unref(cf->opts.compaction_filter);
    st_free(cf->name);
    st_free(cf);
}

/* A family object with its options (o: per-family fields; the DB-wide ones come from db). */
static int cf_new(strata_db *db, uint32_t id, const char *name, const struct strata_options *o,
                  strata_cf **out)
{
    *out = NULL;
    int rc = st_options_validate(o);
    if (rc) {
        return rc;
    }
    strata_cf *cf = st_calloc(1, sizeof(*cf));
    if (!cf || !(cf->name = st_strdup(name))) {
        st_free(cf);
        return st_err(STRATA_E_NOMEM, "out of memory creating column family %s", name);
    }
    cf->db = db;
    cf->id = id;
    cf->opts = *o;
    st_db_sanitize_options(&cf->opts);
    cf->opts.block_cache = NULL; /* the DB's cache serves every family */
    if (cf->opts.merge_operator) {
        st_merge_op_ref(cf->opts.merge_operator);
    }
    if (cf->opts.compaction_filter) {
        st_compaction_filter_ref(cf->opts.compaction_filter);
    }
    cf->ucmp = o->comparator ? o->comparator : st_comparator_bytewise();
    rc = setup_filter(cf);
    rc = rc ? rc : create_tables(db, cf);
    if (rc) {
        cf_free(cf);
        return rc;
    }
    *out = cf;
    return 0;
}

/* The array never moves (allocated once, ST_MAX_CFS slots), so threads without mu may walk the
 * families up to st_db_cf_count (the slot is written before the count is published). */
static int cfs_push(strata_db *db, strata_cf *cf)
{
    if (!db->cfs && !(db->cfs = st_calloc(ST_MAX_CFS, sizeof(*db->cfs)))) {
        return st_err(STRATA_E_NOMEM, "column families: out of memory");
    }
    if (db->ncfs == ST_MAX_CFS) {
        return st_err(STRATA_E_INVALID, "a DB holds at most %d column families (dropped ones "
                      "count until it is reopened)", ST_MAX_CFS);
    }
    db->cfs[db->ncfs] = cf;
    atomic_store_explicit(&db->ncfs_pub, db->ncfs + 1, memory_order_release);
    db->ncfs++;
    return 0;
}

int st_db_cf_count(strata_db *db)
{
    return atomic_load_explicit(&db->ncfs_pub, memory_order_acquire);
}

static const struct strata_options *opts_for(const strata_db *db, const char *name, size_t n,
                                             const char *const *names,
                                             const struct strata_options *const *cf_opts)
{
    for (size_t i = 0; i < n; i++) {
        if (names[i] && strcmp(names[i], name) == 0) {
            return cf_opts && cf_opts[i] ? cf_opts[i] : &db->opts;
        }
    }
    return &db->opts;
}

/* Family ids and names recorded in the DB (just "default" for a DB without a MANIFEST yet). */
static int recorded_families(strata_db *db, uint32_t **ids, char ***names, int *n)
{
    int rc = st_vset_list_families(db->env, db->dbname, db->integ, ids, names, n);
    if (rc != STRATA_E_NOTFOUND) {
        return rc;
    }
    *ids = st_calloc(1, sizeof(**ids));
    *names = st_calloc(1, sizeof(**names));
    if (!*ids || !*names || !((*names)[0] = st_strdup("default"))) {
        st_free(*ids);
        st_free(*names);
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    *n = 1;
    return 0;
}

int st_db_cf_open_all(strata_db *db, size_t n, const char *const *names,
                      const struct strata_options *const *cf_opts)
{
    uint32_t *ids = NULL;
    char **fams = NULL;
    int nf = 0;
    int rc = recorded_families(db, &ids, &fams, &nf);
    for (int i = 0; i < nf && !rc; i++) {
        strata_cf *cf = NULL;
        rc = cf_new(db, ids[i], fams[i], opts_for(db, fams[i], n, names, cf_opts), &cf);
        rc = rc ? rc : cfs_push(db, cf);
        if (rc) {
            cf_free(cf);
        } else if (ids[i] == 0) {
            db->dflt = cf;
        } else {
            rc = st_vset_register(cf->vs);
        }
    }
    for (int i = 0; i < nf; i++) {
        st_free(fams[i]);
    }
    st_free(fams);
    st_free(ids);
    if (!rc) {
        db->ucmp = db->dflt->ucmp;
        db->filter = db->dflt->filter;
        db->tc = db->dflt->tc;
        db->vs = db->dflt->vs;
    }
    return rc;
}

/* A new family's memtable and super-version, its log being the current WAL.  REQUIRES mu. */
static int start_memtable(strata_db *db, strata_cf *cf) ST_REQUIRES(db->mu)
{
    int rc = st_db_new_memtable(cf, &cf->mem);
    cf->mem_log = db->wal_number;
    return rc ? rc : st_db_sv_install(db, cf);
}

/* Records a new family in the MANIFEST and makes it live.  REQUIRES mu. */
static int add_family(strata_db *db, strata_cf *cf) ST_REQUIRES(db->mu)
{
    st_version_edit edit;
    st_version_edit_init(&edit);
    int rc = st_version_edit_set_cf_add(&edit, cf->name);
    rc = rc ? rc : st_version_edit_set_comparator(&edit, st_comparator_name(cf->ucmp));
    if (!rc) {
        edit.max_cf_id = cf->id;
        st_version_edit_set_log_number(&edit, db->wal_number);
        rc = st_vset_log_and_apply(cf->vs, &edit, &db->mu);
    }
    st_version_edit_clear(&edit);
    rc = rc ? rc : st_vset_register(cf->vs);
    rc = rc ? rc : cfs_push(db, cf);
    return rc ? rc : start_memtable(db, cf);
}

static int create_locked(strata_db *db, const char *name, const struct strata_options *opts,
                         strata_cf **out) ST_REQUIRES(db->mu)
{
    if (st_db_cf_find(db, name)) {
        return st_err(STRATA_E_EXISTS, "column family %s already exists", name);
    }
    if (db->bg_error) {
        return st_err_set(db->bg_error, db->bg_errmsg);
    }
    strata_cf *cf = NULL;
    int rc = cf_new(db, st_vset_next_cf_id(db->vs), name, opts ? opts : &db->opts, &cf);
    rc = rc ? rc : add_family(db, cf);
    if (rc && cf && (db->ncfs == 0 || db->cfs[db->ncfs - 1] != cf)) {
        cf_free(cf); /* not recorded (a recorded one stays listed, to be freed at close) */
    } else if (!rc) {
        *out = cf;
    }
    return rc;
}

typedef struct create_args {
    const char *name;
    const struct strata_options *opts;
    strata_cf **out;
} create_args;

static int create_exclusive(strata_db *db, void *arg) ST_REQUIRES(db->mu)
{
    create_args *a = arg;
    return create_locked(db, a->name, a->opts, a->out);
}

int st_db_cf_create(strata_db *db, const char *name, const struct strata_options *opts,
                    strata_cf **out)
{
    *out = NULL;
    if (!name_ok(name)) {
        return st_err(STRATA_E_INVALID, "column family name must be 1..%d bytes", CF_NAME_MAX);
    }
    create_args a = {name, opts, out};
    return st_db_run_exclusive(db, create_exclusive, &a);
}

int st_db_cf_bind(strata_db *db, size_t n, const char *const *names,
                  const struct strata_options *const *cf_opts, strata_cf **handles)
{
    for (size_t i = 0; i < n; i++) {
        if (!name_ok(names[i])) {
            return st_err(STRATA_E_INVALID, "column family name must be 1..%d bytes",
                          CF_NAME_MAX);
        }
        handles[i] = st_db_cf_find(db, names[i]);
        if (handles[i]) {
            continue;
        }
        if (!db->opts.create_if_missing) {
            return st_err(STRATA_E_NOTFOUND, "column family %s does not exist "
                          "(create_if_missing is off)", names[i]);
        }
        int rc = create_locked(db, names[i], cf_opts && cf_opts[i] ? cf_opts[i] : &db->opts,
                               &handles[i]);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/* Releases what a dropped family holds in memory; its versions die with their readers. */
static void release_dropped(strata_db *db, strata_cf *cf) ST_REQUIRES(db->mu)
{
    cf->dropped = 1;
    st_vset_drop(cf->vs);
    if (cf->sv) {
        st_db_sv_release(db, cf->sv, 1);
        cf->sv = NULL;
    }
    if (cf->mem) {
        st_memtable_unref(cf->mem);
        cf->mem = NULL;
    }
    for (int i = 0; i < cf->nimm; i++) {
        st_memtable_unref(cf->imm[i]);
    }
    cf->nimm = 0;
}

static int drop_exclusive(strata_db *db, void *arg);

int st_db_cf_drop(strata_db *db, strata_cf *cf)
{
    int rc = st_db_cf_check(db, cf, "strata_cf_drop");
    if (rc) {
        return rc;
    }
    if (cf == db->dflt) {
        return st_err(STRATA_E_INVALID, "strata_cf_drop: the default column family cannot be "
                      "dropped");
    }
    return st_db_run_exclusive(db, drop_exclusive, cf);
}

static int drop_exclusive(strata_db *db, void *arg) ST_REQUIRES(db->mu)
{
    strata_cf *cf = arg;
    int rc;
    while (db->flush_running) { /* a flush may be writing this family's memtable */
        st_cond_wait(&db->bg_cv, &db->mu);
    }
    if (cf->dropped) {
        rc = st_err(STRATA_E_INVALID, "column family %s was already dropped", cf->name);
    } else {
        /* Marked first: the MANIFEST write releases mu, and no flush or compaction may start on
         * the family meanwhile (undone if the write fails). */
        cf->dropped = 1;
        st_vset_want_min_log(db->vs, st_db_min_log_needed_with(db, cf, UINT64_MAX));
        st_version_edit edit;
        st_version_edit_init(&edit);
        edit.cf_drop = 1;
        rc = st_vset_log_and_apply(cf->vs, &edit, &db->mu);
        st_version_edit_clear(&edit);
        cf->dropped = rc == 0;
    }
    if (!rc) {
        release_dropped(db, cf);
        st_log(db->log, "dropped column family %s", cf->name);
        st_db_delete_obsolete(db);
    }
    return rc;
}

strata_cf *st_db_cf_find(strata_db *db, const char *name)
{
    for (int i = 0; i < db->ncfs; i++) {
        if (!db->cfs[i]->dropped && strcmp(db->cfs[i]->name, name) == 0) {
            return db->cfs[i];
        }
    }
    return NULL;
}

strata_cf *st_db_cf_by_id(strata_db *db, uint32_t id)
{
    if (id == 0) {
        return db->dflt;
    }
    for (int i = 1; i < db->ncfs; i++) {
        if (db->cfs[i]->id == id && !db->cfs[i]->dropped) {
            return db->cfs[i];
        }
    }
    return NULL;
}

void st_db_cf_free_all(strata_db *db)
{
    /* Non-default families first: the default's version set owns the shared MANIFEST state. */
    for (int i = db->ncfs - 1; i >= 0; i--) {
        cf_free(db->cfs[i]);
    }
    st_free(db->cfs);
    db->cfs = NULL;
    db->ncfs = 0;
    atomic_store(&db->ncfs_pub, 0);
    db->dflt = NULL;
}

int st_db_cf_check(strata_db *db, const strata_cf *cf, const char *fn)
{
    if (!cf || cf->db != db) {
        return st_err(STRATA_E_INVALID, "%s: %s column family handle", fn,
                      cf ? "another DB's" : "NULL");
    }
    if (cf->dropped) {
        return st_err(STRATA_E_INVALID, "%s: column family %s was dropped", fn, cf->name);
    }
    return 0;
}

uint64_t st_db_min_log_needed(strata_db *db)
{
    return st_db_min_log_needed_with(db, NULL, 0);
}

uint64_t st_db_min_log_needed_with(strata_db *db, const strata_cf *changed, uint64_t log)
{
    uint64_t min = UINT64_MAX, max_recorded = 0;
    for (int i = 0; i < db->ncfs; i++) {
        strata_cf *cf = db->cfs[i];
        if (cf->dropped || (cf == changed && log == UINT64_MAX)) {
            continue;
        }
        uint64_t rec = cf == changed ? log : st_vset_log_number(cf->vs);
        max_recorded = rec > max_recorded ? rec : max_recorded;
        if ((cf->nimm > 0 || (cf->mem && st_memtable_num_entries(cf->mem) > 0)) && rec < min) {
            min = rec;
        }
    }
    /* A family without unflushed writes needs no WAL; the newest recorded log number must stay
     * (open checks that it exists). */
    return min < max_recorded ? min : max_recorded;
}

int st_db_cf_list(const struct strata_options *opt, const char *path, char ***names, size_t *n)
{
    st_integrity *integ = NULL;
    st_env *env = opt && opt->env ? opt->env : st_env_posix();
    uint32_t *ids = NULL;
    int count = 0;
    int rc = st_integrity_load(env, path, opt, &integ);
    rc = rc ? rc : st_vset_list_families(env, path, integ, &ids, names, &count);
    st_integrity_free(integ);
    st_free(ids);
    *n = rc ? 0 : (size_t)count;
    return rc;
}
