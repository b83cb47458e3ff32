/* tests/integration/test_hostile_slow.c - clients that take their time: 1,000 sending
 * their headers a byte at a time (cut off by limits.header_timeout_ms while everyone
 * else is served at once), bodies that trickle in (cut off the same way; over the
 * size limit: 413 as soon as it is exceeded), 5,000 idle keep-alive connections
 * (memory stays bounded, new clients are served), and the connection limit at its
 * edge. h2o 2.2.5's http1.req_timeout is one timer from the start of a request to its
 * last body byte, never pushed back by a byte arriving: that is the header timeout. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "raw.h"
#include "service.h"

#define SLOW_CLIENTS 1000
#define IDLE_CLIENTS 5000

static svc s;

static void start_with(const char *header_timeout_ms, const char *connections)
{
    cr_assert_geq(raise_nofile(IDLE_CLIENTS + 1024), IDLE_CLIENTS + 1024,
                  "this test needs %d open files", IDLE_CLIENTS + 1024);
    const char *args[] = {"--access_log",
                          "off",
                          "--limits.body_bytes",
                          "1k",
                          "--limits.header_timeout_ms",
                          header_timeout_ms,
                          "--limits.connections",
                          connections,
                          NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
}

static void start(void)
{
    start_with("1000", "10000");
}

static void stop(void)
{
    cr_expect(svc_alive(&s), "the server died during the test");
    cr_expect_eq(svc_stop(&s, SIGTERM, 15), 0);
}

TestSuite(hostile_slow, .init = start, .fini = stop, .timeout = 90);

/* ---- headers a byte at a time --------------------------------------------------- */

static const char slow_request[] = "GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   "X-Slowly: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";

Test(hostile_slow, thousand_byte_at_a_time_clients_are_cut_off_others_served)
{
    int *fds = calloc(SLOW_CLIENTS, sizeof(int));
    double *closed_at = calloc(SLOW_CLIENTS, sizeof(double));
    struct pollfd *p = calloc(SLOW_CLIENTS, sizeof(*p));
    long rss0 = svc_rss_kb(&s);
    double t0 = svc_now();
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        fds[i] = svc_dial(&s);
        cr_assert_geq(fds[i], 0, "slow client %d could not connect", i);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    double connected = svc_now() - t0;
    /* One byte per client every 50 ms: the request line alone takes longer than the
     * 1 s timeout, so none of them can finish. */
    size_t sent = 0, open_left = SLOW_CLIENTS, got_bytes = 0;
    double worst = 0;
    int probes = 0, probes_ok = 0;
    double next_probe = svc_now();
    while (open_left && svc_now() - t0 < 4.0 && sent < sizeof slow_request - 1) {
        for (int i = 0; i < SLOW_CLIENTS; i++)
            if (!closed_at[i])
                send(fds[i], slow_request + sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        sent++;
        if (svc_now() >= next_probe && svc_now() - t0 < connected + 0.8) {
            http_resp r;
            int rc = http_request(&s, "GET", "/json", NULL, NULL, 5, &r);
            probes++;
            if (rc == 0 && r.status == 200 && !strcmp(r.body, "{\"message\":\"Hello, World!\"}"))
                probes_ok++;
            if (r.total_s > worst)
                worst = r.total_s;
            http_resp_free(&r);
            next_probe = svc_now() + 0.1;
        }
        double round_end = svc_now() + 0.05;
        while (svc_now() < round_end) {
            for (int i = 0; i < SLOW_CLIENTS; i++)
                p[i] = (struct pollfd){.fd = closed_at[i] ? -1 : fds[i], .events = POLLIN};
            if (poll(p, SLOW_CLIENTS, (int)((round_end - svc_now()) * 1000) + 1) <= 0)
                continue;
            for (int i = 0; i < SLOW_CLIENTS; i++) {
                if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                char b[512];
                ssize_t n = recv(fds[i], b, sizeof b, 0);
                if (n > 0) {
                    got_bytes += (size_t)n; /* an answer to half a request would be a bug */
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    closed_at[i] = svc_now() - t0;
                    open_left--;
                }
            }
        }
    }
    double first = 1e9, last = 0;
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        if (closed_at[i] && closed_at[i] < first)
            first = closed_at[i];
        if (closed_at[i] > last)
            last = closed_at[i];
        close(fds[i]);
    }
    fprintf(stderr,
            "slowloris: %d clients connected in %.2f s, %zu still open after %.1f s; cut off "
            "between %.2f and %.2f s; %d/%d probes ok, slowest %.3f s; RSS %ld -> %ld KiB\n",
            SLOW_CLIENTS, connected, open_left, svc_now() - t0, first, last, probes_ok, probes,
            worst, rss0, svc_rss_kb(&s));
    cr_expect_eq(open_left, 0, "%zu slow clients were never cut off", open_left);
    cr_expect_geq(first, 0.9, "a slow client was cut off after %.2f s, before the 1 s timeout",
                  first);
    cr_expect_eq(got_bytes, 0, "a half-sent request got %zu bytes of answer", got_bytes);
    cr_expect_geq(probes, 3);
    cr_expect_eq(probes_ok, probes, "%d of %d normal requests failed", probes - probes_ok, probes);
    cr_expect_lt(worst, 0.5, "a normal request took %.3f s next to the slow clients", worst);
    cr_expect(svc_serves(&s, "/json"));
    free(fds);
    free(closed_at);
    free(p);
}

/* ---- bodies that trickle in ------------------------------------------------------- */

Test(hostile_slow, trickling_body_is_cut_off_by_the_timeout)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    const char head[] = "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n";
    raw_write_all(fd, head, sizeof head - 1);
    double t0 = svc_now();
    int closed = 0;
    for (int i = 0; i < 40 && !closed; i++) {
        if (raw_write_all(fd, "x", 1) != 1)
            closed = 1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0) {
            char b[256];
            closed = recv(fd, b, sizeof b, 0) <= 0;
            cr_expect(closed, "an answer to a half-sent body: %.60s", b);
        }
    }
    double took = svc_now() - t0;
    close(fd);
    cr_expect(closed, "a body trickling in for 4 s was never cut off");
    cr_expect(took > 0.8 && took < 2.5, "cut off after %.2f s (timeout 1 s)", took);
    cr_expect(svc_serves(&s, "/json"));
}

Test(hostile_slow, trickling_chunked_body_over_the_limit_is_413_at_once)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    const char head[] = "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    raw_write_all(fd, head, sizeof head - 1);
    char chunk[100 + 16];
    int n = snprintf(chunk, sizeof chunk, "%x\r\n", 100);
    memset(chunk + n, 'c', 100);
    memcpy(chunk + n + 100, "\r\n", 2);
    double t0 = svc_now();
    raw_resp r = {0};
    for (int i = 0; i < 30; i++) { /* 100 bytes every 20 ms: the 1 KiB limit after ~0.2 s */
        if (raw_write_all(fd, chunk, (size_t)n + 102) != (size_t)n + 102)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0)
            break;
    }
    raw_read(fd, 3, &r);
    close(fd);
    cr_expect_eq(r.status, 413, "got: %.80s", r.data);
    cr_expect(r.body &&
                  !strcmp(r.body, "{\"detail\":\"Request body too large (limit 1024 bytes)\"}"),
              "body: %s", r.body);
    cr_expect_lt(svc_now() - t0, 0.9, "413 came only after %.2f s", svc_now() - t0);
    raw_resp_free(&r);
    cr_expect(svc_serves(&s, "/json"));
}

Test(hostile_slow, announced_body_over_the_limit_is_413_before_it_is_sent)
{
    const char head[] = "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n";
    raw_resp r;
    cr_assert_eq(raw_exchange(&s, head, sizeof head - 1, 3, &r), 0);
    cr_expect_eq(r.status, 413, "got: %.80s", r.data);
    cr_expect(r.body &&
                  !strcmp(r.body, "{\"detail\":\"Request body too large (limit 1024 bytes)\"}"),
              "body: %s", r.body);
    raw_resp_free(&r);
}

/* ---- 5,000 idle keep-alive connections --------------------------------------------- */

static void start_long_timeout(void)
{
    start_with("30000", "10000");
}

Test(hostile_idle, five_thousand_idle_keepalive_connections, .init = start_long_timeout,
     .fini = stop, .timeout = 120)
{
    int *fds = calloc(IDLE_CLIENTS, sizeof(int));
    long rss0 = svc_rss_kb(&s);
    const char req[] = "GET /json HTTP/1.1\r\nHost: x\r\n\r\n";
    int answered = 0;
    /* in batches, so the listen backlog never overflows */
    for (int base = 0; base < IDLE_CLIENTS; base += 500) {
        for (int i = base; i < base + 500; i++) {
            fds[i] = svc_dial(&s);
            cr_assert_geq(fds[i], 0, "connection %d failed", i);
            raw_write_all(fds[i], req, sizeof req - 1);
        }
        for (int i = base; i < base + 500; i++) {
            raw_resp r;
            raw_read(fds[i], 5, &r);
            answered += r.status == 200 && !r.closed;
            raw_resp_free(&r);
        }
    }
    long rss1 = svc_rss_kb(&s);
    double t0 = svc_now();
    int serves = svc_serves(&s, "/json");
    double took = svc_now() - t0;
    for (int i = 0; i < IDLE_CLIENTS; i++)
        close(fds[i]);
    usleep(500000);
    long rss2 = svc_rss_kb(&s);
    fprintf(stderr,
            "idle keep-alive: %d connections answered and held; RSS %ld KiB before, %ld KiB "
            "with them open (+%ld KiB, %.1f KiB each), %ld KiB after they closed; a new "
            "client served in %.3f s\n",
            answered, rss0, rss1, rss1 - rss0, (double)(rss1 - rss0) / IDLE_CLIENTS, rss2, took);
    cr_expect_eq(answered, IDLE_CLIENTS);
    cr_expect(serves, "a new client was not served next to %d idle connections", IDLE_CLIENTS);
    cr_expect_lt(took, 1.0);
    cr_expect_lt(rss1 - rss0, 100 * 1024, "5,000 idle connections cost %ld KiB", rss1 - rss0);
    free(fds);
}

/* ---- the connection limit at its edge -------------------------------------------- */

static void start_small_limit(void)
{
    start_with("10000", "50");
}

static int served_on(int fd)
{
    const char req[] = "GET /json HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_write_all(fd, req, sizeof req - 1);
    raw_resp r;
    raw_read(fd, 3, &r);
    int ok = r.status == 200;
    raw_resp_free(&r);
    return ok;
}

static void expect_refused(void)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    raw_write_all(fd, "GET /json HTTP/1.1\r\nHost: x\r\n\r\n", 31);
    raw_resp r;
    raw_read(fd, 3, &r);
    cr_expect_eq(r.status, 503, "got: %.80s", r.data);
    cr_expect(r.body && !strcmp(r.body, "{\"detail\":\"Too many connections, try again\"}"),
              "body: %s", r.body);
    cr_expect(strcasestr(r.data, "\r\nconnection: close\r\n") != NULL, "%s", r.data);
    raw_resp_free(&r);
    char b[64];
    cr_expect_leq(recv(fd, b, sizeof b, 0), 0, "a refused connection must be closed");
    close(fd);
}

Test(hostile_limit, fifty_served_fifty_first_refused_one_freed_one_more_served,
     .init = start_small_limit, .fini = stop, .timeout = 60)
{
    int fds[51];
    for (int i = 0; i < 50; i++) {
        fds[i] = svc_dial(&s);
        cr_assert_geq(fds[i], 0);
        cr_assert(served_on(fds[i]), "connection %d of 50 was not served", i + 1);
    }
    expect_refused();
    close(fds[0]);
    usleep(200000); /* the server sees the close */
    fds[0] = svc_dial(&s);
    cr_assert_geq(fds[0], 0);
    cr_expect(served_on(fds[0]), "the place freed by one close was not given to a new client");
    expect_refused();
    for (int i = 0; i < 50; i++)
        close(fds[i]);
}
