/* log_format.h — the record log shared by the WAL and the MANIFEST (docs/FORMAT.md "Record log").
 * The file is a sequence of 32 KiB blocks.  A record is stored as one or more fragments, each with a
 * 7-byte header: masked CRC-32C (4 bytes, over type byte and payload), payload length (2 bytes),
 * fragment type (1 byte).  A block tail shorter than a header is zero-filled. */
#ifndef STRATA_WAL_LOG_FORMAT_H
#define STRATA_WAL_LOG_FORMAT_H

enum st_log_frag {
    ST_LOG_ZERO = 0, /* preallocated or zero-filled space */
    ST_LOG_FULL = 1,
    ST_LOG_FIRST = 2,
    ST_LOG_MIDDLE = 3,
    ST_LOG_LAST = 4
};

#define ST_LOG_BLOCK_SIZE 32768
#define ST_LOG_HEADER_SIZE 7

#endif
