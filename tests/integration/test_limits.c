/* tests/integration/test_limits.c - limits with clear JSON errors: body size (413,
 * also chunked), header block (431), connections per worker (503 refusal), the
 * request deadline (504). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "service.h"

static svc s;

static void start(void)
{
    const char *args[] = {"--access_log", "off", "--limits.body_bytes", "1k",
                          "--limits.header_bytes", "2k", "--limits.connections", "8",
                          "--request_timeout_ms", "300", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

TestSuite(limits, .init = start, .fini = stop, .timeout = 60);

static int dial(void)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0, "cannot connect");
    return fd;
}

/* Sends raw bytes on a new connection and returns what came back (malloc'd). */
static char *raw_exchange(const char *req, size_t len)
{
    int fd = dial();
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, req + off, len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    char *buf = calloc(1, 8192);
    size_t got = 0;
    ssize_t n;
    while (got < 8191 && (n = read(fd, buf + got, 8191 - got)) > 0) {
        got += (size_t)n;
        if (strstr(buf, "\r\n\r\n") && strchr(strstr(buf, "\r\n\r\n"), '}'))
            break;
    }
    close(fd);
    return buf;
}

Test(limits, body_over_limit_is_413_json)
{
    char *body = malloc(4096);
    memset(body, 'x', 4095);
    body[4095] = '\0';
    http_resp r;
    cr_assert_eq(http_request(&s, "POST", "/json", body, NULL, 10, &r), 0);
    cr_expect_eq(r.status, 413);
    cr_expect_str_eq(r.body, "{\"detail\":\"Request body too large (limit 1024 bytes)\"}");
    char ct[64];
    cr_expect_str_eq(http_header(&r, "content-type", ct, sizeof ct), "application/json");
    http_resp_free(&r);
    free(body);
}

Test(limits, chunked_body_over_limit_is_413_json)
{
    char req[8192];
    char chunk[1500];
    memset(chunk, 'y', sizeof chunk);
    int n = snprintf(req, sizeof req,
                     "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n",
                     (unsigned)sizeof chunk);
    memcpy(req + n, chunk, sizeof chunk);
    n += (int)sizeof chunk;
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n0\r\n\r\n");
    char *resp = raw_exchange(req, (size_t)n);
    cr_expect(strncmp(resp, "HTTP/1.1 413", 12) == 0, "got: %.60s", resp);
    cr_expect(strstr(resp, "{\"detail\":\"Request body too large") != NULL, "got: %s", resp);
    free(resp);
}

Test(limits, headers_over_limit_are_431_json)
{
    char big[3000];
    memset(big, 'h', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char hdr[3100];
    snprintf(hdr, sizeof hdr, "X-Big: %s", big);
    const char *headers[] = {hdr, NULL};
    http_resp r;
    cr_assert_eq(http_request(&s, "GET", "/json", NULL, headers, 10, &r), 0);
    cr_expect_eq(r.status, 431);
    cr_expect_str_eq(r.body, "{\"detail\":\"Request Header Fields Too Large\"}");
    http_resp_free(&r);
}

Test(limits, connections_beyond_the_limit_get_a_clear_refusal)
{
    int fds[8];
    for (int i = 0; i < 8; i++) {
        fds[i] = dial();
        /* an answered request proves the worker accepted this connection */
        const char req[] = "GET /json HTTP/1.1\r\nHost: x\r\n\r\n";
        cr_assert_eq(write(fds[i], req, sizeof req - 1), (ssize_t)sizeof req - 1);
        char buf[512];
        cr_assert_gt(read(fds[i], buf, sizeof buf), 0, "connection %d was not served", i);
    }
    char *resp = raw_exchange("GET /json HTTP/1.1\r\nHost: x\r\n\r\n", 32);
    cr_expect(strncmp(resp, "HTTP/1.1 503", 12) == 0, "got: %.60s", resp);
    cr_expect(strstr(resp, "Too many connections") != NULL);
    free(resp);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    usleep(100000);
    http_resp r;
    cr_assert_eq(http_get(&s, "/json", &r), 0);
    cr_expect_eq(r.status, 200, "served again once connections closed");
    http_resp_free(&r);
}

Test(limits, deadline_gives_504_json)
{
    http_resp r;
    cr_assert_eq(http_get(&s, "/sleep?ms=2000", &r), 0);
    cr_expect_eq(r.status, 504);
    cr_expect_str_eq(r.body, "{\"detail\":\"Request timed out\"}");
    cr_expect_lt(r.total_s, 1.0, "the 300 ms deadline took %.3f s", r.total_s);
    http_resp_free(&r);
}
