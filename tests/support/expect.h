/* tests/support/expect.h - Criterion checks on whole answers, shared by the middleware,
 * CORS, stream, static-file and background tests: status and exact body, one header's
 * exact value (or its absence), a counter from a test app's GET /stats. */
#ifndef TERN_TEST_EXPECT_H
#define TERN_TEST_EXPECT_H

#include <criterion/criterion.h>
#include <jansson.h>

#include "service.h"

/** Sends method path with headers; checks status and the whole body (NULL: any body).
 *  Keeps the answer in *out when out is not NULL (free it with http_resp_free). */
static inline void expect_answer(const svc *s, const char *method, const char *path,
                                 const char *const *headers, long status, const char *body,
                                 http_resp *out)
{
    http_resp r;
    int rc = http_request(s, method, path, NULL, headers, 10, &r);
    cr_assert(rc == 0 || r.status, "%s %s: no answer (curl %d)", method, path, r.curl_code);
    cr_expect_eq(r.status, status, "%s %s: status %ld, want %ld", method, path, r.status, status);
    if (body)
        cr_expect_str_eq(r.body, body, "%s %s", method, path);
    if (out)
        *out = r;
    else
        http_resp_free(&r);
}

/** GET shorthand for expect_answer. */
static inline void expect_get(const svc *s, const char *path, const char *const *headers,
                              long status, const char *body, http_resp *out)
{
    expect_answer(s, "GET", path, headers, status, body, out);
}

/** Checks that header name is want exactly (NULL: the header is absent). */
static inline void expect_header(const http_resp *r, const char *name, const char *want)
{
    char buf[512];
    const char *v = http_header(r, name, buf, sizeof buf);
    if (!want) {
        cr_expect_null(v, "%s should be absent, is '%s'", name, v ? v : "");
        return;
    }
    cr_expect_not_null(v, "%s missing", name);
    if (v)
        cr_expect_str_eq(v, want, "%s", name);
}

/** A counter from the app's GET /stats. */
static inline long stat_of(const svc *s, const char *key)
{
    http_resp r;
    cr_assert_eq(http_get(s, "/stats", &r), 0);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j, "/stats: %s", r.body);
    long v = (long)json_integer_value(json_object_get(j, key));
    json_decref(j);
    http_resp_free(&r);
    return v;
}

#endif
