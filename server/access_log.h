/* server/access_log.h - one line per request on stdout, buffered per worker and
 * flushed by a timer or when the buffer fills: never a write(2) per request. */
#ifndef TERN_ACCESS_LOG_H
#define TERN_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tern/config.h"

/** A worker's access log buffer. */
typedef struct tern_access_log_buf {
    tern_access_log format;
    char *buf;
    size_t len, cap;
    uv_timer_t flush_timer;
    int fd;
} tern_access_log_buf;

/** Starts the buffer on loop (format off: every call is a no-op). 0 or -ENOMEM. */
int tern_alog_init(tern_access_log_buf *b, uv_loop_t *loop, tern_access_log format, int fd);

/** Appends one request's line; id is the request id (NUL-terminated, [A-Za-z0-9._-]). */
void tern_alog_write(tern_access_log_buf *b, const char *method, size_t method_len,
                     const char *path, size_t path_len, int status, size_t bytes, uint64_t dur_us,
                     const char *id);

/** Writes out what is buffered. */
void tern_alog_flush(tern_access_log_buf *b);

/** Flushes and closes the timer (the loop must run once more for the close). */
void tern_alog_close(tern_access_log_buf *b);

#endif
