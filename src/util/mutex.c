/* mutex.c — annotated pthread wrappers. */
#include "util/mutex.h"

#include <assert.h>
#include <errno.h>
#include <time.h>

static void check(int rc)
{
    if (rc != 0) {
        abort(); /* misuse of a mutex: an invariant violation, not a recoverable error */
    }
}

void st_mutex_init(st_mutex *mu)
{
    check(pthread_mutex_init(&mu->m, NULL));
#ifndef NDEBUG
    mu->held = 0;
#endif
}

void st_mutex_destroy(st_mutex *mu)
{
    pthread_mutex_destroy(&mu->m);
}

ST_NO_TSA void st_mutex_lock(st_mutex *mu)
{
    check(pthread_mutex_lock(&mu->m));
#ifndef NDEBUG
    mu->owner = pthread_self();
    mu->held = 1;
#endif
}

ST_NO_TSA void st_mutex_unlock(st_mutex *mu)
{
#ifndef NDEBUG
    mu->held = 0;
#endif
    check(pthread_mutex_unlock(&mu->m));
}

void st_mutex_assert_held(st_mutex *mu)
{
#ifndef NDEBUG
    assert(mu->held && pthread_equal(mu->owner, pthread_self()));
#else
    (void)mu;
#endif
}

void st_cond_init(st_cond *cv)
{
    pthread_condattr_t attr;
    check(pthread_condattr_init(&attr));
    check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
    check(pthread_cond_init(&cv->c, &attr));
    pthread_condattr_destroy(&attr);
}

void st_cond_destroy(st_cond *cv)
{
    pthread_cond_destroy(&cv->c);
}

ST_NO_TSA void st_cond_wait(st_cond *cv, st_mutex *mu)
{
#ifndef NDEBUG
    mu->held = 0;
#endif
    check(pthread_cond_wait(&cv->c, &mu->m));
#ifndef NDEBUG
    mu->owner = pthread_self();
    mu->held = 1;
#endif
}

ST_NO_TSA int st_cond_timedwait_micros(st_cond *cv, st_mutex *mu, uint64_t micros)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (micros % 1000000) * 1000;
    ts.tv_sec += (time_t)(micros / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
#ifndef NDEBUG
    mu->held = 0;
#endif
    int rc = pthread_cond_timedwait(&cv->c, &mu->m, &ts);
#ifndef NDEBUG
    mu->owner = pthread_self();
    mu->held = 1;
#endif
    if (rc == ETIMEDOUT) {
        return 0;
    }
    check(rc);
    return 1;
}

void st_cond_signal(st_cond *cv)
{
    pthread_cond_signal(&cv->c);
}

void st_cond_broadcast(st_cond *cv)
{
    pthread_cond_broadcast(&cv->c);
}
