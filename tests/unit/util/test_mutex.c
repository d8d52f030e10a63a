/* test_mutex.c — mutex and condition-variable wrappers: mutual exclusion, held assertions,
 * timed waits that time out and that are woken, and broadcast. */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "test_util.h"
#include "util/mutex.h"

static uint64_t now_micros(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

struct shared {
    st_mutex mu;
    st_cond cv;
    long counter;
    int ready;
    int waiting;
};

static void *incr(void *arg)
{
    struct shared *s = arg;
    for (int i = 0; i < 20000; i++) {
        st_mutex_lock(&s->mu);
        st_mutex_assert_held(&s->mu);
        s->counter++;
        st_mutex_unlock(&s->mu);
    }
    return NULL;
}

static void test_exclusion(void **state)
{
    (void)state;
    struct shared s = {.counter = 0};
    st_mutex_init(&s.mu);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, incr, &s), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    st_mutex_lock(&s.mu);
    assert_int_equal(s.counter, 80000);
    st_mutex_unlock(&s.mu);
    st_mutex_destroy(&s.mu);
}

static void test_timedwait_timeout(void **state)
{
    (void)state;
    st_mutex mu;
    st_cond cv;
    st_mutex_init(&mu);
    st_cond_init(&cv);
    st_mutex_lock(&mu);
    uint64_t t0 = now_micros();
    int woken = st_cond_timedwait_micros(&cv, &mu, 20000);
    uint64_t elapsed = now_micros() - t0;
    st_mutex_assert_held(&mu); /* reacquired after the wait */
    st_mutex_unlock(&mu);
    assert_int_equal(woken, 0);
    assert_true(elapsed >= 20000);
    assert_true(elapsed < 2000000);
    /* A zero timeout returns at once. */
    st_mutex_lock(&mu);
    assert_int_equal(st_cond_timedwait_micros(&cv, &mu, 0), 0);
    st_mutex_unlock(&mu);
    st_cond_destroy(&cv);
    st_mutex_destroy(&mu);
}

static void *signaller(void *arg)
{
    struct shared *s = arg;
    st_mutex_lock(&s->mu);
    s->ready = 1;
    st_cond_signal(&s->cv);
    st_mutex_unlock(&s->mu);
    return NULL;
}

static void test_timedwait_woken(void **state)
{
    (void)state;
    struct shared s = {.ready = 0};
    st_mutex_init(&s.mu);
    st_cond_init(&s.cv);
    pthread_t t;
    st_mutex_lock(&s.mu);
    assert_int_equal(pthread_create(&t, NULL, signaller, &s), 0);
    uint64_t t0 = now_micros();
    int woken = 0;
    while (!s.ready) {
        woken = st_cond_timedwait_micros(&s.cv, &s.mu, 10 * 1000000); /* 10 s: never reached */
    }
    st_mutex_unlock(&s.mu);
    pthread_join(t, NULL);
    assert_int_equal(woken, 1);
    assert_true(now_micros() - t0 < 5000000);
    st_cond_destroy(&s.cv);
    st_mutex_destroy(&s.mu);
}

static void *waiter(void *arg)
{
    struct shared *s = arg;
    st_mutex_lock(&s->mu);
    s->waiting++;
    st_cond_broadcast(&s->cv); /* tell the main thread */
    while (!s->ready) {
        st_cond_wait(&s->cv, &s->mu);
    }
    s->counter++;
    st_mutex_unlock(&s->mu);
    return NULL;
}

static void test_broadcast(void **state)
{
    (void)state;
    struct shared s = {.counter = 0};
    st_mutex_init(&s.mu);
    st_cond_init(&s.cv);
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, waiter, &s), 0);
    }
    st_mutex_lock(&s.mu);
    while (s.waiting < 3) {
        st_cond_wait(&s.cv, &s.mu);
    }
    s.ready = 1;
    st_cond_broadcast(&s.cv);
    st_mutex_unlock(&s.mu);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(s.counter, 3);
    st_cond_destroy(&s.cv);
    st_mutex_destroy(&s.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_timedwait_timeout),
        cmocka_unit_test(test_timedwait_woken),
        cmocka_unit_test(test_broadcast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
