/* server/access_log.c - buffered access log lines (plain or JSON). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"

#define ALOG_CAP (64 * 1024)
#define ALOG_FLUSH_AT (48 * 1024)
/* Lines reach the terminal or the log collector within this many ms. */
#define ALOG_FLUSH_MS 200
/* Keeps one flush's lines together when several workers share stdout. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_flush_timer(uv_timer_t *t)
{
    tern_alog_flush(t->data);
}

int tern_alog_init(tern_access_log_buf *b, uv_loop_t *loop, tern_access_log format, int fd)
{
    memset(b, 0, sizeof(*b));
    b->format = format;
    b->fd = fd;
    uv_timer_init(loop, &b->flush_timer);
    b->flush_timer.data = b;
    if (format == TERN_ACCESS_LOG_OFF)
        return 0;
    b->buf = malloc(ALOG_CAP);
    if (!b->buf)
        return -ENOMEM;
    b->cap = ALOG_CAP;
    uv_timer_start(&b->flush_timer, on_flush_timer, ALOG_FLUSH_MS, ALOG_FLUSH_MS);
    uv_unref((uv_handle_t *)&b->flush_timer); /* a log timer alone keeps no loop alive */
    return 0;
}

void tern_alog_flush(tern_access_log_buf *b)
{
    if (!b->len)
        return;
    pthread_mutex_lock(&write_lock);
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(b->fd, b->buf + off, b->len - off);
        if (n <= 0)
            break; /* a closed or broken stdout must not stop the server */
        off += (size_t)n;
    }
    pthread_mutex_unlock(&write_lock);
    b->len = 0;
}

/* Copies s into a JSON string body, escaping what JSON requires. */
static size_t json_escape(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

void tern_alog_write(tern_access_log_buf *b, const char *method, size_t method_len,
                     const char *path, size_t path_len, int status, size_t bytes, uint64_t dur_us,
                     const char *id)
{
    if (b->format == TERN_ACCESS_LOG_OFF || !b->buf)
        return;
    if (b->cap - b->len < 2048 + path_len)
        tern_alog_flush(b);
    if (path_len > 1024)
        path_len = 1024; /* an absurd path must not blow the buffer */
    char ts[32];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof ts - tl, ".%03ldZ", now.tv_nsec / 1000000);
    char *o = b->buf + b->len;
    size_t cap = b->cap - b->len;
    int n;
    if (b->format == TERN_ACCESS_LOG_JSON) {
        char epath[1024 * 6 + 8];
        size_t ep = json_escape(epath, sizeof epath, path, path_len);
        n = snprintf(o, cap,
                     "{\"time\":\"%s\",\"method\":\"%.*s\",\"path\":\"%.*s\",\"status\":%d,"
                     "\"bytes\":%zu,\"duration_ms\":%.3f,\"request_id\":\"%s\"}\n",
                     ts, (int)method_len, method, (int)ep, epath, status, bytes,
                     (double)dur_us / 1000.0, id); /* ids never need escaping */
    } else {
        n = snprintf(o, cap, "%s %.*s %.*s %d %zu %.3fms %s\n", ts, (int)method_len, method,
                     (int)path_len, path, status, bytes, (double)dur_us / 1000.0, id);
    }
    if (n > 0 && (size_t)n < cap)
        b->len += (size_t)n;
    if (b->len >= ALOG_FLUSH_AT)
        tern_alog_flush(b);
}

void tern_alog_close(tern_access_log_buf *b)
{
    tern_alog_flush(b);
    uv_close((uv_handle_t *)&b->flush_timer, NULL);
    free(b->buf);
    b->buf = NULL;
}
