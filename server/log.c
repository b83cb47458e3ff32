/* server/log.c - leveled error log lines on stderr, one write(2) each so lines from
 * several workers never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static volatile tern_log_level max_level = TERN_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Set once at start-up, before any worker runs. */
static const char *(*context_fn)(void);

void tern_log_set_context(const char *(*fn)(void))
{
    context_fn = fn;
}

void tern_log_set_level(tern_log_level level)
{
    max_level = level;
}

void tern_log(tern_log_level level, const char *fmt, ...)
{
    if (level > max_level)
        return;
    char line[1024];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, "tern[%s] ", level_names[level]);
    /* a line written while serving a request names it, so it can be found next to
     * the request's access-log line */
    const char *id = context_fn ? context_fn() : NULL;
    if (id)
        n += (size_t)snprintf(line + n, sizeof line - n, "request_id=%s ", id);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    n = k < 0 ? n : n + (size_t)k;
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t wr = write(STDERR_FILENO, line, n);
    (void)wr; /* nowhere left to report a failing stderr */
}
