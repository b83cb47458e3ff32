/* tests/integration/test_disconnect.c - a client that goes away mid-request is
 * noticed: its handler's wait is cancelled at once (the access log shows 499 long
 * before the handler's 3 s sleep would end), over HTTP/1.1 and HTTP/2. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "service.h"

static svc s;

static void start(void)
{
    const char *args[] = {"--access_log", "plain", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

TestSuite(disconnect, .init = start, .fini = stop, .timeout = 60);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until the service's access log has a line containing needle; returns the
 * seconds waited, or -1 after limit_s. */
static double wait_for_log(const char *needle, double limit_s)
{
    double t0 = now_s();
    while (now_s() - t0 < limit_s) {
        FILE *f = fopen(s.log_path, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f))
            if (strstr(line, needle)) {
                fclose(f);
                return now_s() - t0;
            }
        if (f)
            fclose(f);
        usleep(20000);
    }
    return -1;
}

Test(disconnect, http1_client_closing_cancels_the_handler)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    const char req[] = "GET /sleep?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)sizeof req - 1);
    usleep(300000);
    close(fd);
    double waited = wait_for_log("/sleep 499", 2.5);
    cr_expect_geq(waited, 0, "the handler was not cancelled (no 499 in the access log)");
    cr_expect_lt(waited, 1.5, "cancelled only after %.2f s", waited);
    /* the worker is fine afterwards */
    http_resp r;
    cr_assert_eq(http_get(&s, "/json", &r), 0);
    cr_expect_eq(r.status, 200);
    http_resp_free(&r);
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

Test(disconnect, http2_stream_abandoned_cancels_the_handler)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "%s/sleep?ms=3000", s.base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 300L);
    cr_expect_eq(curl_easy_perform(c), CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup(c); /* closes the connection: h2o frees the stream's request */
    double waited = wait_for_log("/sleep 499", 2.5);
    cr_expect_geq(waited, 0, "the handler was not cancelled (no 499 in the access log)");
    cr_expect_lt(waited, 1.5, "cancelled only after %.2f s", waited);
}
