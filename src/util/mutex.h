/* mutex.h — pthread mutex/condvar wrappers annotated for clang's -Wthread-safety.  Lock and
 * unlock never fail on a correctly used mutex; errors there are invariant violations (abort). */
#ifndef STRATA_UTIL_MUTEX_H
#define STRATA_UTIL_MUTEX_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/compiler.h"

typedef struct ST_CAPABILITY("mutex") st_mutex {
    pthread_mutex_t m;
#ifndef NDEBUG
    pthread_t owner;
    int held;
#endif
} st_mutex;

typedef struct st_cond {
    pthread_cond_t c;
} st_cond;

void st_mutex_init(st_mutex *mu);
void st_mutex_destroy(st_mutex *mu);
void st_mutex_lock(st_mutex *mu) ST_ACQUIRE(mu);
void st_mutex_unlock(st_mutex *mu) ST_RELEASE(mu);
/* Asserts (debug builds) that the calling thread holds mu. */
void st_mutex_assert_held(st_mutex *mu);

void st_cond_init(st_cond *cv);
void st_cond_destroy(st_cond *cv);
void st_cond_wait(st_cond *cv, st_mutex *mu) ST_REQUIRES(mu);
/* Returns 1 if woken, 0 on timeout. */
int st_cond_timedwait_micros(st_cond *cv, st_mutex *mu, uint64_t micros) ST_REQUIRES(mu);
void st_cond_signal(st_cond *cv);
void st_cond_broadcast(st_cond *cv);

#endif
