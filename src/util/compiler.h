/* compiler.h — portability macros: branch hints, attributes, cache-line size, thread-safety
 * annotations for clang's -Wthread-safety. */
#ifndef STRATA_UTIL_COMPILER_H
#define STRATA_UTIL_COMPILER_H

#define ST_LIKELY(x) __builtin_expect(!!(x), 1)
#define ST_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ST_UNUSED __attribute__((unused))
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ST_CACHELINE 64
#define ST_ALIGNED_CACHELINE __attribute__((aligned(ST_CACHELINE)))
#define ST_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ST_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ST_MAX(a, b) ((a) > (b) ? (a) : (b))
#define ST_ALWAYS_INLINE inline __attribute__((always_inline))

#if defined(__clang__)
#define ST_TSA(x) __attribute__((x))
#else
#define ST_TSA(x)
#endif
#define ST_CAPABILITY(x) ST_TSA(capability(x))
#define ST_GUARDED_BY(x) ST_TSA(guarded_by(x))
#define ST_REQUIRES(...) ST_TSA(requires_capability(__VA_ARGS__))
#define ST_ACQUIRE(...) ST_TSA(acquire_capability(__VA_ARGS__))
#define ST_RELEASE(...) ST_TSA(release_capability(__VA_ARGS__))
#define ST_EXCLUDES(...) ST_TSA(locks_excluded(__VA_ARGS__))
#define ST_NO_TSA ST_TSA(no_thread_safety_analysis)

#endif
