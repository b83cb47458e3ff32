/* tests/integration/test_cors.c - CORS as configured by cors.*: simple requests from
 * allowed, refused and no origins; preflights allowed and refused for origin, method and
 * headers; wildcard origins with and without credentials (never "*" with credentials);
 * max-age; CORS off by default. Runs tern-service with flags or environment. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>

#include "expect.h"
#include "service.h"

static svc s;

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

/* Two listed origins, by flags. */
static void start_listed(void)
{
    const char *args[] = {"--access_log",
                          "off",
                          "--cors.allow_origins",
                          "https://a.example, https://b.example",
                          "--cors.allow_methods",
                          "get,POST",
                          "--cors.allow_headers",
                          "X-Token",
                          "--cors.expose_headers",
                          "X-Total, X-Page",
                          "--cors.max_age",
                          "300",
                          NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, "/healthz"), 0);
}

/* Any origin, from the environment. */
static void start_any(void)
{
    const char *args[] = {"--access_log", "off", NULL};
    const char *env[] = {"TERN_CORS_ALLOW_ORIGINS=*", "TERN_CORS_ALLOW_METHODS=*",
                         "TERN_CORS_ALLOW_HEADERS=*", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, env, "/healthz"), 0);
}

/* Any origin with credentials: the origin must be echoed. */
static void start_any_credentials(void)
{
    const char *args[] = {
        "--access_log", "off", "--cors.allow_origins", "*", "--cors.allow_credentials",
        "true",         NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, "/healthz"), 0);
}

static void start_off(void)
{
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, "/healthz"), 0);
}

static const char hello[] = "{\"message\":\"Hello World\"}";

static void expect_no_cors(const http_resp *r)
{
    expect_header(r, "Access-Control-Allow-Origin", NULL);
    expect_header(r, "Access-Control-Allow-Credentials", NULL);
    expect_header(r, "Access-Control-Expose-Headers", NULL);
    expect_header(r, "Access-Control-Allow-Methods", NULL);
    expect_header(r, "Vary", NULL);
}

TestSuite(cors_listed, .init = start_listed, .fini = stop, .timeout = 60);

Test(cors_listed, simple_request_from_an_allowed_origin)
{
    const char *h[] = {"Origin: https://b.example", NULL};
    http_resp r;
    expect_get(&s, "/", h, 200, hello, &r);
    expect_header(&r, "Access-Control-Allow-Origin", "https://b.example");
    expect_header(&r, "Vary", "Origin");
    expect_header(&r, "Access-Control-Expose-Headers", "X-Total, X-Page");
    expect_header(&r, "Access-Control-Allow-Credentials", NULL);
    http_resp_free(&r);
    /* errors are cross-origin readable too */
    expect_get(&s, "/nowhere", h, 404, "{\"detail\":\"Not Found\"}", &r);
    expect_header(&r, "Access-Control-Allow-Origin", "https://b.example");
    http_resp_free(&r);
}

Test(cors_listed, a_refused_origin_and_no_origin_get_no_cors_headers)
{
    const char *evil[] = {"Origin: https://evil.example", NULL};
    http_resp r;
    expect_get(&s, "/", evil, 200, hello, &r);
    expect_no_cors(&r);
    http_resp_free(&r);
    const char *prefix[] = {"Origin: https://a.example.evil", NULL};
    expect_get(&s, "/", prefix, 200, hello, &r);
    expect_no_cors(&r);
    http_resp_free(&r);
    expect_get(&s, "/", NULL, 200, hello, &r);
    expect_no_cors(&r);
    http_resp_free(&r);
}

Test(cors_listed, preflight_allowed)
{
    const char *h[] = {"Origin: https://a.example", "Access-Control-Request-Method: POST",
                       "Access-Control-Request-Headers: x-token, Content-Type", NULL};
    http_resp r;
    expect_answer(&s, "OPTIONS", "/items/1", h, 200, "OK", &r);
    expect_header(&r, "Access-Control-Allow-Origin", "https://a.example");
    expect_header(&r, "Vary", "Origin");
    expect_header(&r, "Access-Control-Allow-Methods", "GET, POST");
    expect_header(&r, "Access-Control-Allow-Headers",
                  "accept, accept-language, content-language, content-type, x-token");
    expect_header(&r, "Access-Control-Max-Age", "300");
    expect_header(&r, "Access-Control-Allow-Credentials", NULL);
    http_resp_free(&r);
}

Test(cors_listed, preflight_refused_for_method_header_or_origin)
{
    const char *method[] = {"Origin: https://a.example", "Access-Control-Request-Method: DELETE",
                            NULL};
    http_resp r;
    expect_answer(&s, "OPTIONS", "/", method, 400, "{\"detail\":\"Disallowed CORS method\"}", &r);
    expect_no_cors(&r);
    http_resp_free(&r);
    const char *header[] = {"Origin: https://a.example", "Access-Control-Request-Method: GET",
                            "Access-Control-Request-Headers: X-Token, X-Other", NULL};
    expect_answer(&s, "OPTIONS", "/", header, 400, "{\"detail\":\"Disallowed CORS headers\"}",
                  NULL);
    const char *all[] = {"Origin: https://evil.example", "Access-Control-Request-Method: PUT",
                         "Access-Control-Request-Headers: X-Other", NULL};
    expect_answer(&s, "OPTIONS", "/", all, 400,
                  "{\"detail\":\"Disallowed CORS origin, method, headers\"}", NULL);
}

Test(cors_listed, options_without_a_requested_method_is_routed_as_usual)
{
    const char *h[] = {"Origin: https://a.example", NULL};
    http_resp r;
    expect_answer(&s, "OPTIONS", "/", h, 405, "{\"detail\":\"Method Not Allowed\"}", &r);
    expect_header(&r, "Access-Control-Allow-Origin", "https://a.example");
    http_resp_free(&r);
}

TestSuite(cors_any, .init = start_any, .fini = stop, .timeout = 60);

Test(cors_any, wildcard_without_credentials_says_star)
{
    const char *h[] = {"Origin: https://anything.example", NULL};
    http_resp r;
    expect_get(&s, "/", h, 200, hello, &r);
    expect_header(&r, "Access-Control-Allow-Origin", "*");
    expect_header(&r, "Vary", NULL);
    http_resp_free(&r);
    const char *pre[] = {"Origin: https://anything.example", "Access-Control-Request-Method: PATCH",
                         "Access-Control-Request-Headers: X-Custom-One", NULL};
    expect_answer(&s, "OPTIONS", "/", pre, 200, "OK", &r);
    expect_header(&r, "Access-Control-Allow-Origin", "*");
    expect_header(&r, "Access-Control-Allow-Methods",
                  "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
    expect_header(&r, "Access-Control-Allow-Headers", "X-Custom-One"); /* "*" echoes the request */
    expect_header(&r, "Access-Control-Max-Age", "600");
    http_resp_free(&r);
}

TestSuite(cors_credentials, .init = start_any_credentials, .fini = stop, .timeout = 60);

Test(cors_credentials, never_star_with_credentials)
{
    const char *h[] = {"Origin: https://app.example", "Cookie: s=1", NULL};
    http_resp r;
    expect_get(&s, "/", h, 200, hello, &r);
    expect_header(&r, "Access-Control-Allow-Origin", "https://app.example");
    expect_header(&r, "Access-Control-Allow-Credentials", "true");
    expect_header(&r, "Vary", "Origin");
    http_resp_free(&r);
    const char *pre[] = {"Origin: https://app.example", "Access-Control-Request-Method: GET", NULL};
    expect_answer(&s, "OPTIONS", "/", pre, 200, "OK", &r);
    expect_header(&r, "Access-Control-Allow-Origin", "https://app.example");
    expect_header(&r, "Access-Control-Allow-Credentials", "true");
    expect_header(&r, "Access-Control-Allow-Methods", "GET");
    http_resp_free(&r);
}

TestSuite(cors_off, .init = start_off, .fini = stop, .timeout = 60);

Test(cors_off, no_cors_headers_and_preflights_are_routed)
{
    const char *h[] = {"Origin: https://a.example", NULL};
    http_resp r;
    expect_get(&s, "/", h, 200, hello, &r);
    expect_no_cors(&r);
    http_resp_free(&r);
    const char *pre[] = {"Origin: https://a.example", "Access-Control-Request-Method: GET", NULL};
    expect_answer(&s, "OPTIONS", "/", pre, 405, "{\"detail\":\"Method Not Allowed\"}", &r);
    expect_no_cors(&r);
    http_resp_free(&r);
}
