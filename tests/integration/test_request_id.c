/* tests/integration/test_request_id.c - X-Request-ID: a sane incoming id is echoed,
 * anything else is replaced by a fresh one, every answer carries it (also those given
 * without a coroutine), and the access and error logs name it. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "service.h"

static svc s;

static void start(void)
{
    const char *env[] = {"TERN_ACCESS_LOG=plain", NULL};
    cr_assert_eq(svc_start(&s, NULL, NULL, env, NULL), 0);
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

TestSuite(request_id, .init = start, .fini = stop, .timeout = 30);

/* Sends method path with an optional X-Request-ID; returns the status and copies the
 * response's id into id (empty when absent). */
static long call(const svc *sv, const char *method, const char *path, const char *sent, char *id,
                 size_t n)
{
    char hdr[256];
    const char *headers[] = {hdr, NULL};
    if (sent)
        snprintf(hdr, sizeof hdr, "X-Request-ID: %s", sent);
    http_resp r;
    cr_assert_eq(http_request(sv, method, path, NULL, sent ? headers : NULL, 10, &r), 0);
    long st = r.status;
    if (!http_header(&r, "x-request-id", id, n))
        id[0] = '\0';
    http_resp_free(&r);
    return st;
}

static bool is_made_id(const char *id)
{
    return strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16;
}

Test(request_id, made_when_absent_and_unique)
{
    char a[80], b[80];
    cr_expect_eq(call(&s, "GET", "/json", NULL, a, sizeof a), 200);
    cr_expect_eq(call(&s, "GET", "/json", NULL, b, sizeof b), 200);
    cr_expect(is_made_id(a), "'%s'", a);
    cr_expect(is_made_id(b), "'%s'", b);
    cr_expect_str_neq(a, b);
}

Test(request_id, sane_incoming_id_is_echoed)
{
    char id[80];
    cr_expect_eq(call(&s, "GET", "/json", "req-42_A.b", id, sizeof id), 200);
    cr_expect_str_eq(id, "req-42_A.b");
    char longest[65];
    memset(longest, 'x', 64);
    longest[64] = '\0';
    cr_expect_eq(call(&s, "GET", "/json", longest, id, sizeof id), 200);
    cr_expect_str_eq(id, longest);
}

Test(request_id, unsafe_incoming_id_is_replaced)
{
    char id[100], too_long[66];
    memset(too_long, 'x', 65);
    too_long[65] = '\0';
    const char *bad[] = {too_long, "a b", "<script>", "id;rm", "\"q\"", "%41"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(call(&s, "GET", "/json", bad[i], id, sizeof id), 200);
        cr_expect(is_made_id(id), "'%s' came back as '%s'", bad[i], id);
    }
}

Test(request_id, every_answer_carries_it)
{
    char id[80];
    cr_expect_eq(call(&s, "GET", "/nope", "r404", id, sizeof id), 404);
    cr_expect_str_eq(id, "r404");
    cr_expect_eq(call(&s, "DELETE", "/json", "r405", id, sizeof id), 405);
    cr_expect_str_eq(id, "r405");
    cr_expect_eq(call(&s, "GET", "/items/x", "r422", id, sizeof id), 422);
    cr_expect_str_eq(id, "r422");
    cr_expect_eq(call(&s, "GET", "/sleep?ms=-1", "r422b", id, sizeof id), 422);
    cr_expect_str_eq(id, "r422b");
    /* over limits.header_bytes (16k): refused before routing, still named */
    static char big[17100];
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'b', 17000);
    const char *headers[] = {"X-Request-ID: r431", big, NULL};
    http_resp r;
    cr_assert_eq(http_request(&s, "GET", "/json", NULL, headers, 10, &r), 0);
    cr_expect_eq(r.status, 431);
    cr_expect_str_eq(http_header(&r, "x-request-id", id, sizeof id), "r431");
    http_resp_free(&r);
}

Test(request_id, access_log_names_it)
{
    char id[80];
    cr_expect_eq(call(&s, "GET", "/items/9", "trace-me-1", id, sizeof id), 200);
    char line[1024];
    bool found = false;
    for (int i = 0; i < 100 && !found; i++) {
        FILE *f = fopen(s.log_path, "r");
        while (f && fgets(line, sizeof line, f))
            if (strstr(line, "GET /items/9 ")) {
                found = true;
                break;
            }
        if (f)
            fclose(f);
        if (!found)
            usleep(20000);
    }
    cr_assert(found, "no access log line");
    cr_expect(strstr(line, "ms trace-me-1\n") != NULL, "%s", line);
}

/* Waits up to 2 s for a line of sv's log containing needle; copies it into line. */
static bool log_line(const svc *sv, const char *needle, char *line, size_t n)
{
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(sv->log_path, "r");
        while (f && fgets(line, (int)n, f))
            if (strstr(line, needle)) {
                fclose(f);
                return true;
            }
        if (f)
            fclose(f);
        usleep(20000);
    }
    return false;
}

Test(request_id_other, json_access_log_and_error_log_name_it, .timeout = 30)
{
    svc t;
    const char *env[] = {"TERN_ACCESS_LOG=json", NULL};
    cr_assert_eq(svc_start(&t, getenv("TERN_TEST_APP_BIN"), NULL, env, NULL), 0);
    char id[80], line[1024];
    cr_expect_eq(call(&t, "GET", "/defer?how=error", "boom-7", id, sizeof id), 500);
    cr_expect_str_eq(id, "boom-7");
    cr_assert(log_line(&t, "\"request_id\":\"boom-7\"", line, sizeof line), "no JSON access line");
    json_t *j = json_loads(line, 0, NULL);
    cr_assert_not_null(j, "%s", line);
    cr_expect_eq(json_integer_value(json_object_get(j, "status")), 500);
    json_decref(j);
    cr_assert(log_line(&t, "handler returned NULL", line, sizeof line), "no error line");
    cr_expect(strstr(line, "tern[error] request_id=boom-7 GET /defer") != NULL, "%s", line);
    cr_expect_eq(svc_stop(&t, SIGTERM, 10), 0);
}

Test(request_id_other, handler_reads_the_same_id, .timeout = 30)
{
    svc t;
    const char *env[] = {"TERN_ACCESS_LOG=off", NULL};
    cr_assert_eq(svc_start(&t, getenv("TERN_TEST_APP_BIN"), NULL, env, NULL), 0);
    http_resp r;
    cr_assert_eq(http_get(&t, "/reqid", &r), 0);
    char id[80], want[128];
    cr_assert_not_null(http_header(&r, "x-request-id", id, sizeof id));
    cr_expect(is_made_id(id), "'%s'", id);
    snprintf(want, sizeof want, "{\"request_id\":\"%s\"}", id);
    cr_expect_str_eq(r.body, want);
    http_resp_free(&r);
    const char *headers[] = {"X-Request-ID: from-client", NULL};
    cr_assert_eq(http_request(&t, "GET", "/reqid", NULL, headers, 10, &r), 0);
    cr_expect_str_eq(r.body, "{\"request_id\":\"from-client\"}");
    http_resp_free(&r);
    cr_expect_eq(svc_stop(&t, SIGTERM, 10), 0);
}

Test(request_id_other, body_too_large_413_from_h2o_carries_it, .timeout = 30)
{
    svc t;
    const char *args[] = {"--limits.body_bytes", "1k", "--access_log", "off", NULL};
    cr_assert_eq(svc_start(&t, NULL, args, NULL, NULL), 0);
    static char body[4096];
    memset(body, 'a', sizeof body - 1);
    const char *headers[] = {"X-Request-ID: big-1", "Content-Type: application/json", NULL};
    http_resp r;
    cr_assert_eq(http_request(&t, "POST", "/heroes", body, headers, 10, &r), 0);
    cr_expect_eq(r.status, 413);
    char id[80];
    cr_expect_str_eq(http_header(&r, "x-request-id", id, sizeof id), "big-1");
    http_resp_free(&r);
    cr_assert_eq(http_get(&t, "/metrics", &r), 0);
    cr_expect(strstr(r.body, "tern_http_requests_total{method=\"POST\",route=\"unmatched\",status=\"413\"} 1\n"),
              "%s", r.body);
    http_resp_free(&r);
    cr_expect_eq(svc_stop(&t, SIGTERM, 10), 0);
}

Test(request_id_other, busy_503_without_coroutine_carries_it, .timeout = 30)
{
    svc t;
    const char *args[] = {"--coroutine.max", "1", NULL};
    cr_assert_eq(svc_start(&t, NULL, args, NULL, "/healthz"), 0);
    int fd = svc_dial(&t);
    cr_assert_geq(fd, 0);
    static const char req[] = "GET /sleep?ms=800 HTTP/1.1\r\nHost: t\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)sizeof req - 1);
    usleep(200000);
    char id[80];
    cr_expect_eq(call(&t, "GET", "/json", "busy-1", id, sizeof id), 503);
    cr_expect_str_eq(id, "busy-1");
    close(fd);
    cr_expect_eq(svc_stop(&t, SIGTERM, 10), 0);
}
