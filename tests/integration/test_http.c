/* tests/integration/test_http.c - tern-service over real HTTP: the example routes,
 * FastAPI's error bodies, HEAD, headers, HTTP/1.1 pipelining and h2c. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "service.h"

static svc s;

static void start(void)
{
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0, "tern-service did not start");
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0, "tern-service did not exit 0 on SIGTERM");
}

TestSuite(http, .init = start, .fini = stop, .timeout = 60);

static void expect(const char *method, const char *path, long status, const char *body)
{
    http_resp r;
    cr_assert_eq(http_request(&s, method, path, NULL, NULL, 10, &r), 0, "%s %s: no response",
                 method, path);
    cr_expect_eq(r.status, status, "%s %s: status %ld, want %ld", method, path, r.status, status);
    if (body)
        cr_expect_str_eq(r.body, body, "%s %s: body", method, path);
    http_resp_free(&r);
}

Test(http, hello_routes)
{
    expect("GET", "/", 200, "{\"message\":\"Hello World\"}");
    expect("GET", "/json", 200, "{\"message\":\"Hello, World!\"}");
    expect("GET", "/plaintext", 200, "Hello, World!");
}

Test(http, items_like_fastapi_first_tutorial)
{
    expect("GET", "/items/5?q=somequery", 200, "{\"item_id\":5,\"q\":\"somequery\"}");
    expect("GET", "/items/5", 200, "{\"item_id\":5,\"q\":null}");
    expect("GET", "/items/-3", 200, "{\"item_id\":-3,\"q\":null}");
    expect("GET", "/items/5?q=a%20b+c", 200, "{\"item_id\":5,\"q\":\"a b c\"}");
}

Test(http, path_type_error_is_fastapi_422)
{
    expect("GET", "/items/foo", 422,
           "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],"
           "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
           "\"input\":\"foo\"}]}");
}

Test(http, query_errors_are_fastapi_422)
{
    expect("GET", "/sleep", 422,
           "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"query\",\"ms\"],\"msg\":\"Field required\","
           "\"input\":null}]}");
    expect("GET", "/sleep?ms=-1", 422,
           "{\"detail\":[{\"type\":\"greater_than_equal\",\"loc\":[\"query\",\"ms\"],"
           "\"msg\":\"Input should be greater than or equal to 0\",\"input\":\"-1\","
           "\"ctx\":{\"ge\":0}}]}");
}

Test(http, not_found_and_method_not_allowed)
{
    expect("GET", "/nope", 404, "{\"detail\":\"Not Found\"}");
    expect("GET", "/items/5/extra", 404, "{\"detail\":\"Not Found\"}");
    http_resp r;
    cr_assert_eq(http_request(&s, "POST", "/json", "{}", NULL, 10, &r), 0);
    cr_expect_eq(r.status, 405);
    cr_expect_str_eq(r.body, "{\"detail\":\"Method Not Allowed\"}");
    char allow[64];
    cr_assert_not_null(http_header(&r, "allow", allow, sizeof allow));
    cr_expect_str_eq(allow, "GET, HEAD");
    http_resp_free(&r);
    /* a method tern does not know at all: still 405 with what the path offers */
    cr_assert_eq(http_request(&s, "FOO", "/json", NULL, NULL, 10, &r), 0);
    cr_expect_eq(r.status, 405);
    cr_expect_str_eq(http_header(&r, "allow", allow, sizeof allow), "GET, HEAD");
    http_resp_free(&r);
    expect("FOO", "/nope", 404, "{\"detail\":\"Not Found\"}");
}

Test(http, every_response_has_server_date_and_length)
{
    const char *paths[] = {"/", "/plaintext", "/nope", "/items/x"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        http_resp r;
        cr_assert_eq(http_get(&s, paths[i], &r), 0);
        char v[128];
        cr_expect_not_null(http_header(&r, "server", v, sizeof v), "%s: no Server", paths[i]);
        cr_expect_not_null(http_header(&r, "date", v, sizeof v), "%s: no Date", paths[i]);
        cr_expect(strstr(v, " GMT") != NULL, "%s: Date not in HTTP format: %s", paths[i], v);
        cr_expect_not_null(http_header(&r, "content-length", v, sizeof v), "%s: no length",
                           paths[i]);
        cr_expect_not_null(http_header(&r, "content-type", v, sizeof v), "%s: no type", paths[i]);
        http_resp_free(&r);
    }
    http_resp r;
    char ct[64];
    cr_assert_eq(http_get(&s, "/json", &r), 0);
    cr_expect_str_eq(http_header(&r, "content-type", ct, sizeof ct), "application/json");
    http_resp_free(&r);
    cr_assert_eq(http_get(&s, "/plaintext", &r), 0);
    cr_expect_str_eq(http_header(&r, "content-type", ct, sizeof ct), "text/plain");
    http_resp_free(&r);
}

Test(http, head_is_answered_from_get_without_body)
{
    http_resp r;
    cr_assert_eq(http_request(&s, "HEAD", "/json", NULL, NULL, 10, &r), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.len, 0);
    char v[32];
    cr_expect_str_eq(http_header(&r, "content-length", v, sizeof v), "27");
    http_resp_free(&r);
}

Test(http, sixteen_pipelined_requests_get_sixteen_responses)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    char req[16 * 64], *p = req;
    for (int i = 0; i < 16; i++)
        p += sprintf(p, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(write(fd, req, (size_t)(p - req)), p - req);
    char buf[65536];
    size_t got = 0;
    int responses = 0;
    while (responses < 16 && got < sizeof buf - 1) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        responses = 0;
        for (char *q = buf; (q = strstr(q, "Hello, World!")); q++)
            responses++;
    }
    close(fd);
    cr_expect_eq(responses, 16, "got %d of 16 pipelined responses", responses);
}

/* curl never reads a HEAD answer's body, so look at the bytes: the next pipelined
 * answer must follow the HEAD answer's headers at once. */
Test(http, head_answer_carries_no_body_on_the_wire)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    static const char req[] = "HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)sizeof req - 1);
    char buf[8192];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    cr_expect_null(strstr(buf, "Hello, World!\"}"), "HEAD sent the body:\n%s", buf);
    const char *end = strstr(buf, "\r\n\r\n");
    cr_assert_not_null(end);
    cr_expect_eq(strncmp(end + 4, "HTTP/1.1 200", 12), 0, "after HEAD's headers: %.40s", end + 4);
    cr_expect_not_null(strstr(buf, "Content-Length: 27"));
}

Test(http, h2c_prior_knowledge)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "%s/json", s.base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    long code = 0, version = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version);
    cr_expect_eq(code, 200);
    cr_expect_eq(version, (long)CURL_HTTP_VERSION_2_0, "answered over HTTP version %ld", version);
    fclose(sink);
    curl_easy_cleanup(c);
}

Test(http, percent_encoded_path_parameter_is_decoded)
{
    /* a str path parameter would be decoded; an int one validates the decoded text */
    expect("GET", "/items/%35", 200, "{\"item_id\":5,\"q\":null}");
}
