/* version_edit.h — a change to the set of live tables, as logged in the MANIFEST
 * (docs/FORMAT.md "MANIFEST").  Decoding validates every length and field: hostile input yields
 * STRATA_E_CORRUPTION, never an overrun or an unbounded allocation. */
#ifndef STRATA_DB_VERSION_EDIT_H
#define STRATA_DB_VERSION_EDIT_H

#include <stdatomic.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/slice.h"

#define ST_MAX_LEVELS 12

/* A live table.  Refcounted by the versions that contain it (plain int, guarded by the DB mutex). */
typedef struct st_file_meta {
    int refs;
    int being_compacted; /* guarded by the DB mutex */
    /* Point reads this file may waste (probed without holding the key while another file had to
     * be probed too) before it is compacted; decremented by readers without the mutex. */
    atomic_int allowed_seeks;
    uint64_t number;
    uint64_t file_size;
    char *smallest;      /* internal key, owned */
    size_t smallest_len;
    char *largest;       /* internal key, owned */
    size_t largest_len;
    uint64_t smallest_seq;
    uint64_t largest_seq;
    uint64_t num_entries;
    uint64_t num_deletions;
    uint64_t num_range_dels; /* range tombstones in the table's range-deletion block */
} st_file_meta;

static inline st_slice st_file_smallest(const st_file_meta *f)
{
    return st_slice_make(f->smallest, f->smallest_len);
}
static inline st_slice st_file_largest(const st_file_meta *f)
{
    return st_slice_make(f->largest, f->largest_len);
}

/* Allocates a file_meta with refs = 1 and copies of the keys. NULL when out of memory. */
st_file_meta *st_file_meta_create(uint64_t number, uint64_t file_size, st_slice smallest,
                                  st_slice largest);
void st_file_meta_ref(st_file_meta *f);
void st_file_meta_unref(st_file_meta *f);

typedef struct st_edit_file {
    int level;
    st_file_meta *meta; /* the edit holds one reference */
} st_edit_file;

typedef struct st_edit_deleted {
    int level;
    uint64_t number;
} st_edit_deleted;

typedef struct st_edit_pointer {
    int level;
    char *key; /* internal key, owned */
    size_t key_len;
} st_edit_pointer;

typedef struct st_version_edit {
    /* Column family the edit applies to (0: default; tag absent).  cf_add names a family created
     * by this edit, cf_drop drops it; max_cf_id (0: not set) is the largest id ever handed out. */
    uint32_t cf_id;
    char *cf_add;
    int cf_drop;
    uint32_t max_cf_id;
    /* WALs below it hold nothing any family needs (0: not set; only DBs that have had more
     * than one family record it). */
    uint64_t min_log_keep;
    char *comparator; /* owned; NULL if not set */
    char *merge_operator; /* owned; NULL if not set: the merge operator's name */
    int has_log_number, has_prev_log_number, has_next_file, has_last_seq;
    uint64_t log_number, prev_log_number, next_file_number, last_seq;
    st_edit_file *new_files;
    int n_new, cap_new;
    st_edit_deleted *deleted;
    int n_deleted, cap_deleted;
    st_edit_pointer *pointers; /* compaction round-robin pointers */
    int n_pointers, cap_pointers;
} st_version_edit;

void st_version_edit_init(st_version_edit *e);
/* Frees everything the edit owns and re-initializes it. */
void st_version_edit_clear(st_version_edit *e);
int st_version_edit_set_comparator(st_version_edit *e, const char *name);
int st_version_edit_set_cf_add(st_version_edit *e, const char *name);
int st_version_edit_set_merge_operator(st_version_edit *e, const char *name);
void st_version_edit_set_log_number(st_version_edit *e, uint64_t n);
void st_version_edit_set_prev_log_number(st_version_edit *e, uint64_t n);
void st_version_edit_set_next_file(st_version_edit *e, uint64_t n);
void st_version_edit_set_last_seq(st_version_edit *e, uint64_t s);
/* Adds a reference to meta. */
int st_version_edit_add_file(st_version_edit *e, int level, st_file_meta *meta);
int st_version_edit_delete_file(st_version_edit *e, int level, uint64_t number);
int st_version_edit_set_pointer(st_version_edit *e, int level, st_slice ikey);

int st_version_edit_encode(const st_version_edit *e, st_buf *out);
/* Decodes into e (which must be freshly initialized or cleared). */
int st_version_edit_decode(st_version_edit *e, st_slice in);
/* One-line-per-field description for `strata manifest dump`. Appends to out. */
int st_version_edit_debug_string(const st_version_edit *e, st_buf *out);

#endif
