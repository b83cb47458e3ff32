/* tests/integration/test_hostile_params.c - abuse of paths and query strings: %00,
 * malformed and overlong escapes, invalid UTF-8 (escaped and raw), double encoding,
 * traversal, repeated and thousands of parameters, very long paths and queries. Each
 * gets a clear answer (a JSON 4xx, or what FastAPI would answer), and a normal request
 * right after is served by the same server. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raw.h"
#include "service.h"

static svc s;

static void start(void)
{
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
}

static void stop(void)
{
    cr_expect(svc_alive(&s), "the server died during the test");
    cr_expect_eq(svc_stop(&s, SIGTERM, 15), 0);
}

TestSuite(hostile_params, .init = start, .fini = stop, .timeout = 60);

#define FFFD "\xEF\xBF\xBD" /* U+FFFD, as Starlette's errors="replace" decoding gives */
#define INT_PARSING(where, name, input)                                                            \
    "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"" where "\",\"" name "\"],"                 \
    "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","           \
    "\"input\":\"" input "\"}]}"

static void expect_answer(const char *path, long status, const char *body)
{
    http_resp r;
    cr_assert_eq(http_request(&s, "GET", path, NULL, NULL, 5, &r), 0, "%.60s: no answer (%d)", path,
                 r.curl_code);
    cr_expect_eq(r.status, status, "%.60s: %ld %.200s", path, r.status, r.body);
    cr_expect_str_eq(r.body, body, "%.60s: %.300s", path, r.body);
    char ct[64];
    cr_expect_str_eq(http_header(&r, "content-type", ct, sizeof ct), "application/json", "%.60s",
                     path);
    http_resp_free(&r);
    cr_expect(svc_serves(&s, "/json"), "after %.60s", path);
}

Test(hostile_params, nul_bytes)
{
    expect_answer("/items/5?q=a%00b", 422,
                  "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"q\"],"
                  "\"msg\":\"Value error, NUL characters are not allowed\",\"input\":\"a\\u0000b\","
                  "\"ctx\":{\"error\":\"NUL characters are not allowed\"}}]}");
    expect_answer("/items/5?q=x.jpg%00.php", 422,
                  "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"q\"],"
                  "\"msg\":\"Value error, NUL characters are not allowed\","
                  "\"input\":\"x.jpg\\u0000.php\","
                  "\"ctx\":{\"error\":\"NUL characters are not allowed\"}}]}");
    expect_answer("/items/%00", 422, INT_PARSING("path", "item_id", "\\u0000"));
    expect_answer("/items/5%00", 422, INT_PARSING("path", "item_id", "5\\u0000"));
}

Test(hostile_params, malformed_and_double_escapes)
{
    /* Malformed escapes stay as they are (Python's unquote); one decoding only. */
    expect_answer("/items/5?q=%zz", 200, "{\"item_id\":5,\"q\":\"%zz\"}");
    expect_answer("/items/5?q=%", 200, "{\"item_id\":5,\"q\":\"%\"}");
    expect_answer("/items/5?q=%%%", 200, "{\"item_id\":5,\"q\":\"%%%\"}");
    expect_answer("/items/5?q=%u0041", 200, "{\"item_id\":5,\"q\":\"%u0041\"}");
    expect_answer("/items/5?q=%252e%252e%252f", 200, "{\"item_id\":5,\"q\":\"%2e%2e%2f\"}");
    expect_answer("/items/%2535", 422, INT_PARSING("path", "item_id", "%35"));
    expect_answer("/items/5?q=a+b%20c", 200, "{\"item_id\":5,\"q\":\"a b c\"}");
}

Test(hostile_params, invalid_and_overlong_utf8)
{
    expect_answer("/items/5?q=%ff%fe", 200, "{\"item_id\":5,\"q\":\"" FFFD FFFD "\"}");
    expect_answer("/items/5?q=%c0%af", 200, "{\"item_id\":5,\"q\":\"" FFFD FFFD "\"}"); /* '/' */
    expect_answer("/items/5?q=%c0%80", 200, "{\"item_id\":5,\"q\":\"" FFFD FFFD "\"}"); /* NUL */
    expect_answer("/items/5?q=%e0%80%af", 200, "{\"item_id\":5,\"q\":\"" FFFD FFFD FFFD "\"}");
    expect_answer("/items/5?q=%ed%a0%80", 200, "{\"item_id\":5,\"q\":\"" FFFD FFFD FFFD "\"}");
    expect_answer("/items/5?q=%e2%82", 200, "{\"item_id\":5,\"q\":\"" FFFD "\"}");
    expect_answer("/items/%ff", 422, INT_PARSING("path", "item_id", FFFD));
}

Test(hostile_params, raw_invalid_utf8_bytes)
{
    const char req[] = "GET /items/5?q=\xff\xfe\xc0\xaf HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_resp r;
    cr_assert_eq(raw_exchange(&s, req, sizeof req - 1, 3, &r), 0);
    cr_expect_eq(r.status, 200, "%.80s", r.data);
    cr_expect(r.body && !strcmp(r.body, "{\"item_id\":5,\"q\":\"" FFFD FFFD FFFD FFFD "\"}"), "%s",
              r.body);
    raw_resp_free(&r);
    cr_expect(svc_serves(&s, "/json"));
}

Test(hostile_params, traversal)
{
    expect_answer("/items/..%2f..%2fetc%2fpasswd", 422,
                  INT_PARSING("path", "item_id", "../../etc/passwd"));
    expect_answer("/../../etc/passwd", 404, "{\"detail\":\"Not Found\"}");
    expect_answer("/items/5/../../json", 404, "{\"detail\":\"Not Found\"}");
}

Test(hostile_params, repeated_and_empty_parameters)
{
    expect_answer("/items/5?q=a&q=b", 200, "{\"item_id\":5,\"q\":\"b\"}"); /* FastAPI: last */
    expect_answer("/items/5?=&&&=x&q", 200, "{\"item_id\":5,\"q\":\"\"}");
    expect_answer("/heroes?offset=-1", 422,
                  "{\"detail\":[{\"type\":\"greater_than_equal\",\"loc\":[\"query\",\"offset\"],"
                  "\"msg\":\"Input should be greater than or equal to 0\",\"input\":\"-1\","
                  "\"ctx\":{\"ge\":0}}]}");
    expect_answer("/heroes?limit=99999999999999999999999", 422,
                  INT_PARSING("query", "limit", "99999999999999999999999"));
    expect_answer("/heroes?limit=1&limit=0x10", 422, INT_PARSING("query", "limit", "0x10"));
}

static char *many_params(int junk, const char *tail)
{
    char *p = malloc((size_t)junk * 4 + 64);
    cr_assert_not_null(p);
    size_t n = (size_t)sprintf(p, "/items/5?");
    for (int i = 0; i < junk; i++)
        n += (size_t)sprintf(p + n, "a=1&");
    sprintf(p + n, "%s", tail);
    return p;
}

/* Parameter pollution: up to 256 pairs are read; beyond that the request is refused
 * rather than a parameter past the limit being silently ignored. */
Test(hostile_params, thousands_of_parameters)
{
    char *p = many_params(255, "q=x");
    expect_answer(p, 200, "{\"item_id\":5,\"q\":\"x\"}");
    free(p);
    p = many_params(255, "q=x&&&&&&");
    expect_answer(p, 200, "{\"item_id\":5,\"q\":\"x\"}"); /* empty pieces are no pairs */
    free(p);
    p = many_params(256, "q=x");
    expect_answer(p, 400, "{\"detail\":\"Too many query parameters (limit 256)\"}");
    free(p);
    p = many_params(3500, "q=x"); /* 14 KB: under the header limit */
    expect_answer(p, 400, "{\"detail\":\"Too many query parameters (limit 256)\"}");
    free(p);
}

Test(hostile_params, very_long_paths_and_queries)
{
    size_t n = 20000;
    char *p = malloc(n + 32);
    cr_assert_not_null(p);
    strcpy(p, "/items/5?q=");
    memset(p + 11, 'q', n);
    p[11 + n] = '\0';
    expect_answer(p, 431, "{\"detail\":\"Request Header Fields Too Large\"}");
    strcpy(p, "/items/");
    memset(p + 7, '9', n);
    p[7 + n] = '\0';
    expect_answer(p, 431, "{\"detail\":\"Request Header Fields Too Large\"}");
    memset(p + 7, '9', 4000); /* under the limit: a number too large to parse */
    p[7 + 4000] = '\0';
    http_resp r;
    cr_assert_eq(http_get(&s, p, &r), 0);
    cr_expect_eq(r.status, 422);
    cr_expect(strstr(r.body, "\"type\":\"int_parsing\"") != NULL, "%.100s", r.body);
    http_resp_free(&r);
    free(p);
    cr_expect(svc_serves(&s, "/json"));
}
