/* skiplist.h — a concurrent skip list of opaque entries stored in an arena (util/arena.h).
 *
 * One writer at a time (the caller serializes writers, e.g. with the DB write lock), any number of
 * lock-free readers.  A node is one arena allocation: its tower of next pointers followed by the
 * entry bytes, so a lookup touches one cache line per visited node.  Entries are never removed or
 * modified once inserted; memory goes away with the arena.
 *
 * Ordering is supplied by the owner as two callbacks over the same order: `entries` compares two
 * stored entries, `entry_key` compares a stored entry with a search key in whatever decoded form
 * the owner likes (so a lookup never has to encode its target into entry form, and an insert can
 * decode the new entry once rather than at every comparison).
 *
 * Memory ordering: a node's entry bytes and its own next pointers are written before the node is
 * linked at level 0 with a release store; readers follow next pointers with acquire loads, so a
 * reader that reaches a node sees it fully built.  The list height is a relaxed atomic: a reader
 * that sees a height larger than anything linked finds NULL at the head's upper levels (they were
 * initialized before the list was shared) and simply descends. */
#ifndef STRATA_MEM_SKIPLIST_H
#define STRATA_MEM_SKIPLIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"

#define ST_SKIPLIST_MAX_HEIGHT 12
#define ST_SKIPLIST_BRANCHING 4 /* a node reaches level i+1 with probability 1/4 */

/* A node address is the address of its level-0 next pointer; the entry follows it. */
typedef struct st_skiplist_node st_skiplist_node;

typedef struct st_skiplist_cmp {
    /* <0, 0, >0 as entry a sorts before, equal to, after entry b. */
    int (*entries)(void *ctx, const char *a, const char *b);
    /* <0, 0, >0 as entry sorts before, equal to, after the search key. */
    int (*entry_key)(void *ctx, const char *entry, const void *key);
    void *ctx;
} st_skiplist_cmp;

typedef struct st_skiplist {
    st_skiplist_cmp cmp;
    st_arena *arena;        /* borrowed; must outlive the list */
    st_skiplist_node *head; /* sentinel with a full-height tower and an empty entry */
    atomic_int height;      /* levels in use, 1..MAX; relaxed (see the file comment) */
    /* Writer-only state. */
    uint64_t rnd;
    st_skiplist_node *pending; /* allocated by st_skiplist_alloc, not yet inserted */
    int pending_height;
    /* Per level, the predecessor a key just after the last inserted one would get (the last
     * inserted node on its own levels).  Lets in-order inserts (fillseq, batches of ascending
     * keys) skip the search from the head. */
    st_skiplist_node *splice[ST_SKIPLIST_MAX_HEIGHT];
} st_skiplist;

/* Initializes an empty list whose nodes come from arena.  Returns 0 or STRATA_E_NOMEM. */
int st_skiplist_init(st_skiplist *s, st_arena *arena, const st_skiplist_cmp *cmp);

/* Allocates a node with room for an entry of size bytes and returns the entry's address, for the
 * caller to fill in and then pass to st_skiplist_insert.  NULL when out of memory (the list is
 * unchanged).  Writer only; allocating again before inserting abandons the earlier node. */
char *st_skiplist_alloc(st_skiplist *s, size_t size);

/* Links the entry returned by the last st_skiplist_alloc.  key is the same entry in entry_key
 * form (used for the comparisons during the search).  REQUIRES: writer serialization; no equal
 * entry is present. */
void st_skiplist_insert(st_skiplist *s, const char *entry, const void *key);

/* A position in a list; a plain value, no resources.  Valid while the arena lives. */
typedef struct st_skiplist_iter {
    const st_skiplist *list;
    st_skiplist_node *node; /* NULL when not positioned on an entry */
} st_skiplist_iter;

void st_skiplist_iter_init(st_skiplist_iter *it, const st_skiplist *s);
const char *st_skiplist_iter_entry(const st_skiplist_iter *it); /* REQUIRES: valid */
void st_skiplist_iter_next(st_skiplist_iter *it);               /* REQUIRES: valid */
void st_skiplist_iter_prev(st_skiplist_iter *it);               /* REQUIRES: valid */
/* First entry >= key (entry_key order). */
void st_skiplist_iter_seek(st_skiplist_iter *it, const void *key);
void st_skiplist_iter_seek_to_first(st_skiplist_iter *it);
void st_skiplist_iter_seek_to_last(st_skiplist_iter *it);

static inline int st_skiplist_iter_valid(const st_skiplist_iter *it)
{
    return it->node != NULL;
}

#endif
