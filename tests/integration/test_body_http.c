/* tests/integration/test_body_http.c - declared JSON bodies over real HTTP: which
 * content types are parsed, parameter and body errors in one 422, json_invalid alone,
 * the JSON depth and value limits (413), defaults, an optional body, list query
 * parameters, a custom validation handler, and the service's /items routes. Runs
 * tests/support/test_app.c (and tern-service for /items). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

static svc s;

static void start(void)
{
    const char *args[] = {"--access_log", "off", "--limits.json_depth", "4",
                          "--limits.json_items", "50", NULL};
    cr_assert_eq(svc_start(&s, getenv("TERN_TEST_APP_BIN"), args, NULL, NULL), 0);
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

TestSuite(body_http, .init = start, .fini = stop, .timeout = 60);

static const char *const json_ct[] = {"Content-Type: application/json", NULL};

/* Sends body with the given headers; checks status and the whole response body. */
static void expect_on(const svc *sv, const char *method, const char *path, const char *const *hdrs,
                      const char *body, long status, const char *want)
{
    http_resp r;
    cr_assert_eq(http_request(sv, method, path, body, hdrs, 10, &r), 0, "%s %s: no answer", method,
                 path);
    cr_expect_eq(r.status, status, "%s %s: %ld %s", method, path, r.status, r.body);
    cr_expect_str_eq(r.body, want, "%s %s", method, path);
    char ct[128];
    cr_expect_str_eq(http_header(&r, "content-type", ct, sizeof ct) ? ct : "(none)",
                     "application/json");
    http_resp_free(&r);
}

static void expect(const char *method, const char *path, const char *const *hdrs,
                   const char *body, long status, const char *want)
{
    expect_on(&s, method, path, hdrs, body, status, want);
}

#define MAT "Input should be a valid dictionary or object to extract fields from"

Test(body_http, valid_body_with_defaults_filled)
{
    expect("POST", "/body/items", json_ct, "{\"price\":\"2.5\",\"name\":\"Foo\",\"junk\":1}", 200,
           "{\"name\":\"Foo\",\"price\":2.5,\"quantity\":1,\"tags\":[]}");
    expect("POST", "/body/items", json_ct,
           "{\"name\":\"A\",\"price\":1,\"quantity\":\"3\",\"tags\":[\"x\"],\"address\":"
           "{\"city\":\"Oslo\",\"zip\":\"01234\"}}",
           200,
           "{\"name\":\"A\",\"price\":1.0,\"quantity\":3,\"tags\":[\"x\"],\"address\":{\"city\":"
           "\"Oslo\",\"zip\":\"01234\"}}");
}

Test(body_http, content_type_rules)
{
    const char *body = "{\"name\":\"Foo\",\"price\":1}";
    const char *ok = "{\"name\":\"Foo\",\"price\":1.0,\"quantity\":1,\"tags\":[]}";
    const char *const charset[] = {"Content-Type: application/json; charset=UTF-8", NULL};
    const char *const plus[] = {"Content-Type: application/problem+json", NULL};
    const char *const none[] = {"Content-Type:", NULL}; /* curl then sends no such header */
    const char *const text[] = {"Content-Type: text/plain", NULL};
    const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    expect("POST", "/body/items", charset, body, 200, ok);
    expect("POST", "/body/items", plus, body, 200, ok);
    expect("POST", "/body/items", none, body, 200, ok);
    expect("POST", "/body/items", text, body, 422,
           "{\"detail\":[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"" MAT
           "\",\"input\":\"{\\\"name\\\":\\\"Foo\\\",\\\"price\\\":1}\"}]}");
    expect("POST", "/body/items", form, "a=1", 422,
           "{\"detail\":[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"" MAT
           "\",\"input\":\"a=1\"}]}");
    expect("POST", "/body/items", json_ct, NULL, 422,
           "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\"],\"msg\":\"Field required\","
           "\"input\":null}]}");
}

Test(body_http, params_then_body_errors_in_one_422)
{
    expect("PUT", "/body/items/0?q=x", json_ct, "{\"price\":-1,\"tags\":[\"a\",2]}", 422,
           "{\"detail\":["
           "{\"type\":\"greater_than_equal\",\"loc\":[\"path\",\"item_id\"],\"msg\":\"Input should "
           "be greater than or equal to 1\",\"input\":\"0\",\"ctx\":{\"ge\":1}},"
           "{\"type\":\"int_parsing\",\"loc\":[\"query\",\"q\"],\"msg\":\"Input should be a valid "
           "integer, unable to parse string as an integer\",\"input\":\"x\"},"
           "{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"Field required\","
           "\"input\":{\"price\":-1,\"tags\":[\"a\",2]}},"
           "{\"type\":\"greater_than\",\"loc\":[\"body\",\"price\"],\"msg\":\"Input should be "
           "greater than 0\",\"input\":-1,\"ctx\":{\"gt\":0}},"
           "{\"type\":\"string_type\",\"loc\":[\"body\",\"tags\",1],\"msg\":\"Input should be a "
           "valid string\",\"input\":2}]}");
    expect("PUT", "/body/items/7?q=3", json_ct, "{\"name\":\"n\",\"price\":2}", 200,
           "{\"item_id\":7,\"item\":{\"name\":\"n\",\"price\":2.0,\"quantity\":1,\"tags\":[]}}");
}

/* FastAPI raises json_invalid before looking at parameters: it comes alone. */
Test(body_http, json_invalid_comes_alone)
{
    expect("PUT", "/body/items/0?q=x", json_ct, "{\"name\":\"a\",}", 422,
           "{\"detail\":[{\"type\":\"json_invalid\",\"loc\":[\"body\",12],\"msg\":\"JSON decode "
           "error\",\"input\":{},\"ctx\":{\"error\":\"Expecting property name enclosed in double "
           "quotes\"}}]}");
    expect("POST", "/body/items", json_ct, "{\"name\":\"\xc3\xa9\xff\"}", 422,
           "{\"detail\":[{\"type\":\"json_invalid\",\"loc\":[\"body\",10],\"msg\":\"JSON decode "
           "error\",\"input\":{},\"ctx\":{\"error\":\"Invalid UTF-8\"}}]}");
}

Test(body_http, nested_loc)
{
    expect("POST", "/body/items", json_ct,
           "{\"name\":\"a\",\"price\":1,\"address\":{\"city\":7,\"zip\":\"x\"}}", 422,
           "{\"detail\":[{\"type\":\"string_type\",\"loc\":[\"body\",\"address\",\"city\"],\"msg\":"
           "\"Input should be a valid string\",\"input\":7},{\"type\":\"string_pattern_mismatch\","
           "\"loc\":[\"body\",\"address\",\"zip\"],\"msg\":\"String should match pattern "
           "'^[0-9]{5}$'\",\"input\":\"x\",\"ctx\":{\"pattern\":\"^[0-9]{5}$\"}}]}");
}

Test(body_http, json_limits_give_413)
{
    expect("POST", "/body/items", json_ct, "{\"tags\":[[[[1]]]]}", 413,
           "{\"detail\":\"JSON body nested deeper than 4 levels\"}");
    expect("POST", "/body/items", json_ct, "{\"tags\":[[[1]]],\"name\":\"a\",\"price\":1}", 422,
           "{\"detail\":[{\"type\":\"string_type\",\"loc\":[\"body\",\"tags\",0],\"msg\":\"Input "
           "should be a valid string\",\"input\":[[1]]}]}");
    char big[400] = "[";
    for (int i = 0; i < 60; i++)
        strcat(big, i ? ",1" : "1");
    strcat(big, "]");
    expect("POST", "/body/items", json_ct, big, 413,
           "{\"detail\":\"JSON body has more than 50 values\"}");
    /* the server keeps serving */
    expect("POST", "/body/items", json_ct, "{\"name\":\"a\",\"price\":1}", 200,
           "{\"name\":\"a\",\"price\":1.0,\"quantity\":1,\"tags\":[]}");
}

Test(body_http, optional_body)
{
    expect("POST", "/body/optional", json_ct, NULL, 200, "{\"body\":null}");
    expect("POST", "/body/optional", json_ct, "null", 200, "{\"body\":null}");
    expect("POST", "/body/optional", json_ct, "{\"name\":\"a\",\"price\":1}", 200,
           "{\"body\":{\"name\":\"a\",\"price\":1.0,\"quantity\":1,\"tags\":[]}}");
    expect("POST", "/body/optional", json_ct, "[]", 422,
           "{\"detail\":[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"" MAT
           "\",\"input\":[]}]}");
}

Test(body_http, list_query_parameters)
{
    expect("GET", "/body/lists?tag=3&tag=1&q=ab", NULL, NULL, 200, "{\"tag\":[3,1],\"q\":[\"ab\"]}");
    expect("GET", "/body/lists", NULL, NULL, 200, "{\"tag\":null,\"q\":null}");
    expect("GET", "/body/lists?tag=1&tag=x", NULL, NULL, 422,
           "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"tag\",1],\"msg\":\"Input "
           "should be a valid integer, unable to parse string as an integer\",\"input\":\"x\"}]}");
    expect("GET", "/body/lists?q=a&q=b&q=c", NULL, NULL, 422,
           "{\"detail\":[{\"type\":\"too_long\",\"loc\":[\"query\",\"q\"],\"msg\":\"List should "
           "have at most 2 items after validation, not 3\",\"input\":[\"a\",\"b\",\"c\"],\"ctx\":"
           "{\"field_type\":\"List\",\"max_length\":2,\"actual_length\":3}}]}");
}

Test(body_http, custom_validation_handler)
{
    svc c;
    const char *args[] = {"--access_log", "off", NULL};
    const char *env[] = {"TERN_TEST_CUSTOM_422=1", NULL};
    cr_assert_eq(svc_start(&c, getenv("TERN_TEST_APP_BIN"), args, env, NULL), 0);
    http_resp r;
    cr_assert_eq(http_request(&c, "PUT", "/body/items/0", "{}", json_ct, 10, &r), 0);
    cr_expect_eq(r.status, 400);
    cr_expect_str_eq(r.body, "{\"errors\":3,\"first\":\"greater_than_equal\"}");
    char v[64];
    cr_expect_str_eq(http_header(&r, "x-validation", v, sizeof v) ? v : "(none)", "custom");
    http_resp_free(&r);
    expect_on(&c, "GET", "/body/lists?tag=z", NULL, NULL, 400,
              "{\"errors\":1,\"first\":\"int_parsing\"}");
    expect_on(&c, "POST", "/body/items", json_ct, "{\"name\":\"a\",\"price\":1}", 200,
              "{\"name\":\"a\",\"price\":1.0,\"quantity\":1,\"tags\":[]}");
    cr_expect_eq(svc_stop(&c, SIGTERM, 10), 0);
}

/* The example service's item routes, as FastAPI's body tutorial. */
Test(body_http, service_items)
{
    svc t;
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&t, NULL, args, NULL, NULL), 0);
    expect_on(&t, "POST", "/items", json_ct, "{\"name\":\"Foo\",\"price\":10.5,\"tax\":2.5}", 200,
              "{\"name\":\"Foo\",\"description\":null,\"price\":10.5,\"tax\":2.5,"
              "\"price_with_tax\":13.0}");
    expect_on(&t, "PUT", "/items/5?q=hi", json_ct, "{\"name\":\"Foo\",\"price\":\"3\"}", 200,
              "{\"item_id\":5,\"name\":\"Foo\",\"description\":null,\"price\":3.0,\"tax\":null,"
              "\"q\":\"hi\"}");
    expect_on(&t, "POST", "/items", json_ct, "{\"price\":0}", 422,
              "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"Field "
              "required\",\"input\":{\"price\":0}},{\"type\":\"greater_than\",\"loc\":[\"body\","
              "\"price\"],\"msg\":\"Input should be greater than 0\",\"input\":0,\"ctx\":{\"gt\":0}}]}");
    cr_expect_eq(svc_stop(&t, SIGTERM, 10), 0);
}
