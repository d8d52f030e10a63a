/* sysstat.h — process and file-system measurements for strata-bench, engine-agnostic: disk bytes
 * written (/proc/self/io write_bytes: bytes this process caused to be sent to the block layer,
 * all threads included), peak RSS (VmHWM), space on disk (du: allocated blocks), and directory
 * helpers.  Not thread-safe (bench_dir_usage walks with nftw). */
#ifndef STRATA_BENCH_SYSSTAT_H
#define STRATA_BENCH_SYSSTAT_H

#include <stdint.h>

/* write_bytes of /proc/self/io, or -1 when the kernel does not provide it. */
int64_t bench_proc_write_bytes(void);
/* Peak resident set size in bytes (VmHWM, else getrusage's ru_maxrss). */
int64_t bench_peak_rss(void);
/* Resets the peak RSS mark to the current RSS (Linux clear_refs "5"); silently no-op elsewhere. */
void bench_reset_peak_rss(void);
/* Bytes allocated on disk under path (like du -s), or -1 on error. */
int64_t bench_dir_usage(const char *path);
/* rm -rf path; 0 when done or path does not exist, STRATA_E_IO otherwise. */
int bench_rmtree(const char *path);
/* mkdir -p path; 0 or STRATA_E_IO. */
int bench_mkdirs(const char *path);

#endif
