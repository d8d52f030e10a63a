/* version_set.c — the version set object: creation, the file and sequence counters, the list of
 * live versions and summaries over the current one.  Recovery and the MANIFEST writer live in
 * manifest.c, compaction picking in compaction_pick.c, per-version queries in version.c.
 *
 * The vset starts with an empty current version and no open MANIFEST; st_vset_recover replays
 * one, and the first st_vset_log_and_apply writes a fresh one. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db/version_internal.h"
#include "util/alloc.h"
#include "util/status.h"

static int check_options(const st_vset_options *o)
{
    if (o->num_levels < 2 || o->num_levels > ST_MAX_LEVELS) {
        return st_err(STRATA_E_INVALID, "num_levels must be 2..%d, not %d", ST_MAX_LEVELS,
                      o->num_levels);
    }
    if (o->level_multiplier < 1.0 || o->max_bytes_for_level_base == 0) {
        return st_err(STRATA_E_INVALID, "level sizing: base %" PRIu64 ", multiplier %g",
                      o->max_bytes_for_level_base, o->level_multiplier);
    }
    if (!o->env || !o->dbname || !o->ucmp) {
        return st_err(STRATA_E_INVALID, "version set: env, dbname and comparator are required");
    }
    return 0;
}

static void copy_options(st_vset *vs, const st_vset_options *o, st_table_cache *tc)
{
    vs->env = o->env;
    vs->ucmp = o->ucmp;
    vs->info_log = o->info_log;
    vs->integ = o->integ;
    vs->want_merge = o->merge_operator;
    vs->tc = tc;
    vs->num_levels = o->num_levels;
    vs->max_bytes_for_level_base = o->max_bytes_for_level_base;
    vs->level_multiplier = o->level_multiplier;
    vs->dynamic_level_bytes = o->dynamic_level_bytes;
    vs->target_file_size = o->target_file_size ? o->target_file_size : 64ull << 20;
    vs->l0_compaction_trigger = o->l0_compaction_trigger > 0 ? o->l0_compaction_trigger : 4;
    vs->cf_id = o->cf_id;
    vs->owner = o->owner;
}

static st_vshared *shared_create(const st_vset_options *o)
{
    st_vshared *sh = st_calloc(1, sizeof(*sh));
    if (!sh) {
        return NULL;
    }
    sh->max_manifest_size = o->max_manifest_size ? o->max_manifest_size : 64ull << 20;
    atomic_init(&sh->next_file_number, 1);
    atomic_init(&sh->manifest_number, 0);
    atomic_init(&sh->last_seq, 0);
    atomic_init(&sh->prev_log_number, 0);
    atomic_init(&sh->min_log_keep, 0);
    st_cond_init(&sh->write_cv);
    return sh;
}

static void shared_free(st_vshared *sh)
{
    assert(!sh->writing);
    st_log_writer_close(sh->manifest);
    st_cond_destroy(&sh->write_cv);
    st_free(sh->fams);
    st_free(sh);
}

static void shared_unref(st_vshared *sh)
{
    if (sh && --sh->refs == 0) {
        shared_free(sh);
    }
}

int st_vset_create(const st_vset_options *opts, st_table_cache *tc, st_vset *share_with,
                   st_vset **out)
{
    *out = NULL;
    int rc = check_options(opts);
    if (rc) {
        return rc;
    }
    st_vset *vs = st_calloc(1, sizeof(*vs));
    st_version *v = NULL;
    if (vs) {
        copy_options(vs, opts, tc); /* before the first version, which reads num_levels */
        vs->sh = share_with ? share_with->sh : shared_create(opts);
    }
    if (!vs || !vs->sh || !(vs->dbname = st_strdup(opts->dbname)) ||
        !(vs->cf_name = st_strdup(opts->cf_name ? opts->cf_name : "default")) ||
        !(v = st_version_alloc(vs)) || (!share_with && st_vset_register(vs))) {
        if (vs) {
            st_free(vs->dbname);
            st_free(vs->cf_name);
            if (vs->sh && !share_with) {
                shared_free(vs->sh); /* not yet referenced */
            }
        }
        st_version_free(v);
        st_free(vs);
        return st_err(STRATA_E_NOMEM, "version set: out of memory");
    }
    vs->sh->refs++;
    if (!share_with) {
        vs->sh->dflt = vs;
    }
    atomic_init(&vs->seek_file, 0);
    atomic_init(&vs->seek_wakeup, 0);
    atomic_init(&vs->seek_level, 0);
    for (int i = 0; i < ST_REWRITE_SLOTS; i++) {
        atomic_init(&vs->rewrite[i], 0);
    }
    atomic_init(&vs->log_number, 0);
    vs->versions.prev = vs->versions.next = &vs->versions;
    st_version_finalize(v);
    st_vset_install(vs, v);
    *out = vs;
    return 0;
}

void st_vset_destroy(st_vset *vs)
{
    if (!vs) {
        return;
    }
    assert(vs->nrunning == 0);
    if (vs->current) {
        st_version_unref(vs->current);
    }
    assert(vs->versions.next == &vs->versions); /* every other version was released */
    for (int level = 0; level < ST_MAX_LEVELS; level++) {
        st_buf_free(&vs->pointers[level]);
    }
    st_vshared *sh = vs->sh;
    for (int i = 0; i < sh->nfams; i++) {
        if (sh->fams[i] == vs) {
            sh->fams[i] = sh->fams[--sh->nfams];
            break;
        }
    }
    shared_unref(sh);
    st_free(vs->running);
    st_free(vs->dbname);
    st_free(vs->cf_name);
    st_free(vs);
}

void *st_vset_owner(const st_vset *vs)
{
    return vs->owner;
}

uint32_t st_vset_cf_id(const st_vset *vs)
{
    return vs->cf_id;
}

int st_vset_register(st_vset *vs)
{
    st_vshared *sh = vs->sh;
    if (sh->nfams == sh->cap_fams) {
        int cap = sh->cap_fams ? 2 * sh->cap_fams : 4;
        st_vset **p = st_realloc(sh->fams, (size_t)cap * sizeof(*p));
        if (!p) {
            return st_err(STRATA_E_NOMEM, "column families: out of memory");
        }
        sh->fams = p;
        sh->cap_fams = cap;
    }
    sh->fams[sh->nfams++] = vs;
    if (vs->cf_id > sh->max_cf_id) {
        sh->max_cf_id = vs->cf_id;
    }
    return 0;
}

void st_vset_drop(st_vset *vs)
{
    st_vshared *sh = vs->sh;
    for (int i = 0; i < sh->nfams; i++) {
        if (sh->fams[i] == vs) {
            memmove(&sh->fams[i], &sh->fams[i + 1], sizeof(sh->fams[0]) * (size_t)(sh->nfams - i - 1));
            sh->nfams--;
            break;
        }
    }
    vs->dropped = 1;
    if (vs->current) {
        st_version_unref(vs->current);
        vs->current = NULL;
    }
}

void st_vset_want_min_log(st_vset *vs, uint64_t log)
{
    st_vshared *sh = vs->sh;
    if (log > sh->min_log_wanted) {
        sh->min_log_wanted = log;
    }
}

uint64_t st_vset_min_log_to_keep(const st_vset *vs)
{
    const st_vshared *sh = vs->sh;
    if (sh->max_cf_id == 0) { /* never had families: the default one's log number says it */
        return vs_load(&sh->dflt->log_number);
    }
    return vs_load((_Atomic uint64_t *)&sh->min_log_keep);
}

uint32_t st_vset_next_cf_id(st_vset *vs)
{
    return ++vs->sh->max_cf_id; /* reserved: a failed create never reuses it either */
}

/* ---- Counters ------------------------------------------------------------------------------ */

/* Returns a new reference to the current version; release it with st_version_unref. */
st_version *st_vset_current(st_vset *vs)
{
    st_version_ref(vs->current);
    return vs->current;
}

uint64_t st_vset_new_file_number(st_vset *vs)
{
    uint64_t n = vs_load(&vs->sh->next_file_number);
    vs_store(&vs->sh->next_file_number, n + 1);
    return n;
}

void st_vset_mark_file_number_used(st_vset *vs, uint64_t n)
{
    if (vs_load(&vs->sh->next_file_number) <= n) {
        vs_store(&vs->sh->next_file_number, n + 1);
    }
}

uint64_t st_vset_next_file_number(const st_vset *vs)
{
    return vs_load(&vs->sh->next_file_number);
}

uint64_t st_vset_manifest_number(const st_vset *vs)
{
    return vs_load(&vs->sh->manifest_number);
}

uint64_t st_vset_last_sequence(const st_vset *vs)
{
    return vs_load(&vs->sh->last_seq);
}

void st_vset_set_last_sequence(st_vset *vs, uint64_t s)
{
    assert(s >= vs_load(&vs->sh->last_seq));
    vs_store(&vs->sh->last_seq, s);
}

uint64_t st_vset_log_number(const st_vset *vs)
{
    return vs_load(&vs->log_number);
}

uint64_t st_vset_prev_log_number(const st_vset *vs)
{
    return vs_load(&vs->sh->prev_log_number);
}

int st_vset_apply_pointers(st_vset *vs, const st_version_edit *e)
{
    for (int i = 0; i < e->n_pointers; i++) {
        const st_edit_pointer *p = &e->pointers[i];
        if (p->level < 0 || p->level >= vs->num_levels) {
            continue; /* a pointer for a level we no longer have is just a hint */
        }
        if (st_buf_assign(&vs->pointers[p->level], p->key, p->key_len)) {
            return st_err(STRATA_E_NOMEM, "compaction pointer: out of memory");
        }
    }
    return 0;
}

/* ---- Summaries ----------------------------------------------------------------------------- */

int st_vset_live_files(st_vset *vs, uint64_t **numbers, int *n)
{
    int total = *n;
    for (st_version *v = vs->versions.next; v != &vs->versions; v = v->next) {
        for (int level = 0; level < v->num_levels; level++) {
            total += v->nfiles[level];
        }
    }
    uint64_t *p = st_realloc(*numbers, (size_t)(total ? total : 1) * sizeof(*p));
    if (!p) {
        return st_err(STRATA_E_NOMEM, "live files: out of memory");
    }
    *numbers = p;
    for (st_version *v = vs->versions.next; v != &vs->versions; v = v->next) {
        for (int level = 0; level < v->num_levels; level++) {
            for (int i = 0; i < v->nfiles[level]; i++) {
                p[(*n)++] = v->files[level][i]->number;
            }
        }
    }
    return 0;
}

uint64_t st_vset_pending_compaction_bytes(st_vset *vs)
{
    /* computed once per version: writers ask every write */
    return vs->current ? vs->current->pending_bytes : 0;
}

uint64_t st_version_pending_bytes(const st_version *v)
{
    const st_vset *vs = v->vset;
    uint64_t sum = 0;
    if (v->nfiles[0] >= vs->l0_compaction_trigger) {
        sum += st_version_level_bytes(v, 0);
    }
    for (int k = 1; k < v->num_levels - 1; k++) {
        uint64_t b = st_version_level_bytes(v, k);
        if (v->level_target[k] > 0 && b > v->level_target[k]) {
            sum += b - v->level_target[k];
        } else if (v->level_target[k] == 0) {
            sum += b;
        }
    }
    return sum;
}

int st_vset_take_seek_wakeup(st_vset *vs)
{
    return atomic_load_explicit(&vs->seek_wakeup, memory_order_relaxed) &&
           atomic_exchange_explicit(&vs->seek_wakeup, 0, memory_order_relaxed);
}

int st_vset_needs_compaction(st_vset *vs)
{
    const st_version *v = vs->current;
    for (int k = 0; v && k < v->num_levels - 1; k++) {
        if (v->score[k] >= 1) {
            return 1;
        }
    }
    return 0;
}

int st_vset_level_summary(st_vset *vs, st_buf *out)
{
    const st_version *v = vs->current;
    char tmp[24];
    int rc = st_buf_append(out, "files[", 6);
    for (int k = 0; v && k < v->num_levels && !rc; k++) {
        int len = snprintf(tmp, sizeof(tmp), " %d", v->nfiles[k]);
        rc = st_buf_append(out, tmp, (size_t)len);
    }
    if (!rc) {
        rc = st_buf_append(out, " ]", 2);
    }
    return rc ? st_err(STRATA_E_NOMEM, "level summary: out of memory") : 0;
}
