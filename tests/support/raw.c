/* tests/support/raw.c - see raw.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "raw.h"

size_t raw_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, p + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    return off;
}

/* True once data holds a header block and the Content-Length it announces. */
static int whole_response(const char *data, size_t len)
{
    const char *end = strstr(data, "\r\n\r\n");
    if (!end)
        return 0;
    const char *cl = strcasestr(data, "\r\ncontent-length:");
    if (!cl || cl > end)
        return 0;
    size_t want = strtoul(cl + 17, NULL, 10);
    return len >= (size_t)(end + 4 - data) + want;
}

void raw_read(int fd, double timeout_s, raw_resp *r)
{
    memset(r, 0, sizeof *r);
    size_t cap = 4096;
    r->data = malloc(cap);
    r->data[0] = '\0';
    double until = svc_now() + timeout_s;
    for (;;) {
        double left = until - svc_now();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        if (r->len + 2048 > cap)
            r->data = realloc(r->data, cap *= 2);
        ssize_t n = recv(fd, r->data + r->len, cap - r->len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r->closed = 1;
            break;
        }
        r->len += (size_t)n;
        r->data[r->len] = '\0';
        /* one whole answer is enough, unless it says the connection closes: then wait
         * for the close, which is part of what the test checks */
        if (whole_response(r->data, r->len) && !strcasestr(r->data, "\r\nconnection: close\r\n"))
            break;
    }
    if (r->len >= 12 && strncmp(r->data, "HTTP/1.", 7) == 0)
        r->status = atoi(r->data + 9);
    char *end = strstr(r->data, "\r\n\r\n");
    r->body = end ? end + 4 : NULL;
}

int raw_exchange(const svc *s, const void *req, size_t len, double timeout_s, raw_resp *r)
{
    int fd = svc_dial(s);
    if (fd < 0) {
        memset(r, 0, sizeof *r);
        return -1;
    }
    raw_write_all(fd, req, len);
    raw_read(fd, timeout_s, r);
    close(fd);
    return 0;
}

void raw_resp_free(raw_resp *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
}

long svc_rss_kb(const svc *s)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)s->pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

int svc_alive(const svc *s)
{
    /* /proc rather than waitpid: reaping here would hide the exit status from svc_stop */
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)s->pid);
    FILE *f = s->pid > 0 ? fopen(path, "r") : NULL;
    if (!f)
        return 0;
    int alive = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    const char *state = alive ? strrchr(line, ')') : NULL;
    return state && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
}

long raise_nofile(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if ((long)rl.rlim_cur < want) {
        rl.rlim_cur =
            rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max > want ? (rlim_t)want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long)rl.rlim_cur;
}

int svc_serves(const svc *s, const char *path)
{
    http_resp r;
    int ok = http_request(s, "GET", path, NULL, NULL, 1.0, &r) == 0 && r.status == 200;
    http_resp_free(&r);
    return ok;
}
