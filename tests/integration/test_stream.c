/* tests/integration/test_stream.c - streamed answers and Server-Sent Events: chunked
 * framing on HTTP/1.1, HTTP/2, exact SSE bodies and line splitting, the request deadline
 * cutting a stream off unless the handler opts out, back-pressure on a large body, and a
 * client leaving mid-stream (the handler sees TERN_ECANCELED, its cleanups run). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expect.h"
#include "service.h"

static svc s;

static void start_service(void)
{
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, "/healthz"), 0);
}

static void start_mw_app(void)
{
    const char *args[] = {"--access_log", "off", "--request_timeout_ms", "300", NULL};
    cr_assert_eq(svc_start(&s, getenv("TERN_MW_APP_BIN"), args, NULL, NULL), 0);
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

/* Sends a raw request and reads until the server closes (or 5 s). */
static size_t raw_exchange(const char *request, char *out, size_t cap)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t n = 0;
    ssize_t k;
    while (n < cap - 1 && (k = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(fd);
    return n;
}

TestSuite(stream_service, .init = start_service, .fini = stop, .timeout = 60);

Test(stream_service, chunks_arrive_in_http1_chunked_framing)
{
    http_resp r;
    expect_get(&s, "/stream?n=5", NULL, 200, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n", &r);
    expect_header(&r, "Transfer-Encoding", "chunked");
    expect_header(&r, "Content-Type", "text/plain; charset=utf-8");
    expect_header(&r, "Content-Length", NULL);
    http_resp_free(&r);
    char buf[4096];
    raw_exchange("GET /stream?n=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", buf,
                 sizeof buf);
    const char *body = strstr(buf, "\r\n\r\n");
    cr_assert_not_null(body, "%s", buf);
    cr_expect_str_eq(body + 4, "8\r\nchunk 0\n\r\n8\r\nchunk 1\n\r\n0\r\n\r\n");
}

Test(stream_service, head_sends_the_headers_only)
{
    char buf[4096];
    raw_exchange("HEAD /stream?n=3 HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /stream?n=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                 buf, sizeof buf);
    const char *end = strstr(buf, "\r\n\r\n");
    cr_assert_not_null(end, "%s", buf);
    cr_expect_eq(strncmp(end + 4, "HTTP/1.1 200 OK\r\n", 17), 0, "HEAD sent a body: %s", buf);
    cr_expect_null(strstr(buf, "chunk 2"), "%s", buf);
    const char *second = strstr(end + 4, "\r\n\r\n");
    cr_assert_not_null(second, "%s", buf);
    cr_expect_str_eq(second + 4, "8\r\nchunk 0\n\r\n0\r\n\r\n");
}

Test(stream_service, server_sent_events)
{
    http_resp r;
    expect_get(&s, "/sse?n=3&ms=10", NULL, 200,
               "event: tick\ndata: {\"tick\":0}\n\n"
               "event: tick\ndata: {\"tick\":1}\n\n"
               "event: tick\ndata: {\"tick\":2}\n\n",
               &r);
    expect_header(&r, "Content-Type", "text/event-stream");
    expect_header(&r, "Cache-Control", "no-cache");
    http_resp_free(&r);
}

/* Stops the transfer once three events arrived. */
static size_t until_third_event(char *p, size_t size, size_t n, void *ud)
{
    strncat(ud, p, size * n < 1023 - strlen(ud) ? size * n : 1023 - strlen(ud));
    return strstr(ud, "data: 2\n") ? 0 : size * n;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    strncat(ud, p, size * n < 1023 - strlen(ud) ? size * n : 1023 - strlen(ud));
    return size * n;
}

Test(stream_service, http2_streams_too)
{
    char url[128], body[1024] = "";
    snprintf(url, sizeof url, "%s/stream?n=3", s.base);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    long status = 0, version = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version);
    curl_easy_cleanup(c);
    cr_expect_eq(status, 200);
    cr_expect_eq(version, (long)CURL_HTTP_VERSION_2_0);
    cr_expect_str_eq(body, "chunk 0\nchunk 1\nchunk 2\n");
}

TestSuite(stream_edges, .init = start_mw_app, .fini = stop, .timeout = 60);

Test(stream_edges, sse_splits_data_lines_and_refuses_line_breaks_in_names)
{
    expect_get(&s, "/sse/lines", NULL, 200,
               "event: multi\ndata: a\ndata: b\ndata: c\ndata: d\n\ndata: \n\n", NULL);
}

Test(stream_edges, the_deadline_cuts_a_stream_that_did_not_opt_out)
{
    http_resp r;
    int rc = http_request(&s, "GET", "/stream/deadline", NULL, NULL, 10, &r);
    cr_expect_neq(rc, 0, "a cut-off stream must not look complete");
    cr_expect_eq(r.status, 200);
    cr_expect_gt(r.len, 0);
    cr_expect_lt(r.len, 40, "20 chunks of 50 ms cannot fit in a 300 ms deadline (%zu bytes)",
                 r.len);
    http_resp_free(&r);
}

Test(stream_edges, a_stream_that_opted_out_outlives_the_deadline)
{
    http_resp r;
    expect_get(&s, "/stream/long", NULL, 201, "y\ny\ny\ny\ny\ny\ny\ny\ny\ny\n", &r);
    expect_header(&r, "X-Stream", "long");
    expect_header(&r, "X-Seen-Status", "201"); /* after functions run when the stream begins */
    cr_expect_gt(r.total_s, 0.3);
    http_resp_free(&r);
    cr_expect_eq(stat_of(&s, "late_writes"), 0, "a write after tern_stream_end did not fail");
}

Test(stream_edges, a_large_body_goes_out_chunk_by_chunk)
{
    http_resp r;
    expect_get(&s, "/stream/big", NULL, 200, NULL, &r);
    cr_expect_eq(r.len, 64u * 64 * 1024);
    cr_expect_eq(r.body[0], 'z');
    cr_expect_eq(r.body[r.len - 1], 'z');
    http_resp_free(&r);
}

Test(stream_edges, a_client_leaving_mid_stream_cancels_the_handler)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    const char *req = "GET /sse/forever HTTP/1.1\r\nHost: t\r\n\r\n";
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char buf[512];
    size_t n = 0;
    while (n < sizeof buf - 1 && !strstr(buf, "data: 2\n")) { /* three events arrived */
        ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
        cr_assert_gt(k, 0);
        n += (size_t)k;
        buf[n] = '\0';
    }
    cr_expect_not_null(strstr(buf, "content-type: text/event-stream"), "%s", buf);
    close(fd);
    for (int i = 0; i < 150 && stat_of(&s, "stream_cleanups") < 1; i++)
        usleep(20000);
    cr_expect_eq(stat_of(&s, "stream_cancelled"), 1);
    cr_expect_eq(stat_of(&s, "stream_cleanups"), 1);
}

Test(stream_edges, an_http2_client_leaving_mid_stream_cancels_the_handler)
{
    char url[128], body[1024] = "";
    snprintf(url, sizeof url, "%s/sse/forever", s.base);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, until_third_event);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    cr_expect_eq(curl_easy_perform(c), CURLE_WRITE_ERROR);
    curl_easy_cleanup(c);
    cr_expect_eq(strncmp(body, "data: 0\n\ndata: 1\n\ndata: 2\n", 24), 0, "%s", body);
    for (int i = 0; i < 150 && stat_of(&s, "stream_cleanups") < 1; i++)
        usleep(20000);
    cr_expect_eq(stat_of(&s, "stream_cancelled"), 1);
    cr_expect_eq(stat_of(&s, "stream_cleanups"), 1);
}
