/* tests/integration/test_docs.c - GET /openapi.json, /docs, /redoc and the local
 * assets as a client sees them from tern-service: statuses, content types, bodies,
 * HEAD and 405, turning docs off, and a bad docs.assets_dir stopping start-up. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service.h"

#define NOT_FOUND "{\"detail\":\"Not Found\"}"
#define NOT_ALLOWED "{\"detail\":\"Method Not Allowed\"}"

static void get_ok(const svc *s, const char *path, const char *ctype, http_resp *r)
{
    char buf[128];
    cr_assert_eq(http_get(s, path, r), 0, "GET %s: no answer", path);
    cr_assert_eq(r->status, 200, "GET %s: %ld %s", path, r->status, r->body);
    cr_assert_str_eq(http_header(r, "content-type", buf, sizeof buf), ctype, "GET %s", path);
}

static void expect_status(const svc *s, const char *method, const char *path, long status,
                          const char *body)
{
    http_resp r;
    cr_assert_eq(http_request(s, method, path, NULL, NULL, 5, &r), 0);
    cr_expect_eq(r.status, status, "%s %s: %ld", method, path, r.status);
    if (body)
        cr_expect_str_eq(r.body, body, "%s %s", method, path);
    http_resp_free(&r);
}

Test(docs, openapi_json_describes_the_service, .timeout = 30)
{
    svc s;
    cr_assert_eq(svc_start(&s, NULL, NULL, NULL, NULL), 0);
    http_resp r;
    get_ok(&s, "/openapi.json", "application/json", &r);
    json_error_t e;
    json_t *doc = json_loads(r.body, 0, &e);
    cr_assert_not_null(doc, "not JSON: %s", e.text);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *paths = json_object_get(doc, "paths");
    json_t *op = json_object_get(json_object_get(paths, "/items/{item_id}"), "get");
    cr_assert_not_null(op, "GET /items/{item_id} is not documented");
    cr_expect_str_eq(json_string_value(json_object_get(op, "operationId")),
                     "read_item_items__item_id__get");
    cr_expect_not_null(json_object_get(json_object_get(op, "responses"), "422"));
    /* the docs routes stay out of the document */
    cr_expect_null(json_object_get(paths, "/openapi.json"));
    cr_expect_null(json_object_get(paths, "/docs"));
    cr_expect_null(json_object_get(paths, "/redoc"));
    json_decref(doc);
    http_resp_free(&r);
    /* a route like any other: HEAD answers, other methods get 405 */
    expect_status(&s, "HEAD", "/openapi.json", 200, "");
    expect_status(&s, "POST", "/openapi.json", 405, NOT_ALLOWED);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(docs, pages_load_swagger_ui_and_redoc_from_the_cdn, .timeout = 30)
{
    svc s;
    const char *args[] = {"--docs.title", "Hero <API>", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
    http_resp r;
    get_ok(&s, "/docs", "text/html; charset=utf-8", &r);
    cr_expect_not_null(strstr(r.body, "<title>Hero &lt;API&gt; - Swagger UI</title>"), "%s", r.body);
    cr_expect_not_null(strstr(r.body, "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"),
                       "%s", r.body);
    cr_expect_not_null(strstr(r.body, "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"));
    cr_expect_not_null(strstr(r.body, "url: '/openapi.json'"), "%s", r.body);
    http_resp_free(&r);
    get_ok(&s, "/redoc", "text/html; charset=utf-8", &r);
    cr_expect_not_null(strstr(r.body, "<title>Hero &lt;API&gt; - ReDoc</title>"), "%s", r.body);
    cr_expect_not_null(strstr(r.body, "<redoc spec-url=\"/openapi.json\"></redoc>"), "%s", r.body);
    cr_expect_not_null(strstr(r.body, "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"));
    http_resp_free(&r);
    expect_status(&s, "HEAD", "/docs", 200, "");
    expect_status(&s, "DELETE", "/redoc", 405, NOT_ALLOWED);
    /* no local assets: nothing to serve there */
    expect_status(&s, "GET", "/docs/assets/swagger-ui.css", 404, NOT_FOUND);
    expect_status(&s, "GET", "/docs/oauth2-redirect", 404, NOT_FOUND);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(docs, openapi_url_moves_the_document, .timeout = 30)
{
    svc s;
    const char *env[] = {"TERN_DOCS_OPENAPI_URL=/api/v1/openapi.json", NULL};
    cr_assert_eq(svc_start(&s, NULL, NULL, env, NULL), 0);
    http_resp r;
    get_ok(&s, "/api/v1/openapi.json", "application/json", &r);
    cr_expect_eq(strncmp(r.body, "{\"openapi\":\"3.1.0\",", 19), 0, "%.40s", r.body);
    http_resp_free(&r);
    get_ok(&s, "/docs", "text/html; charset=utf-8", &r);
    cr_expect_not_null(strstr(r.body, "url: '/api/v1/openapi.json'"), "%s", r.body);
    http_resp_free(&r);
    expect_status(&s, "GET", "/openapi.json", 404, NOT_FOUND);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(docs, docs_off_answers_404_everywhere, .timeout = 30)
{
    svc s;
    const char *args[] = {"--docs.enabled", "false", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
    expect_status(&s, "GET", "/openapi.json", 404, NOT_FOUND);
    expect_status(&s, "GET", "/docs", 404, NOT_FOUND);
    expect_status(&s, "GET", "/redoc", 404, NOT_FOUND);
    expect_status(&s, "GET", "/items/3", 200, "{\"item_id\":3,\"q\":null}");
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

/* ---- docs.assets_dir ---------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = {"swagger-ui-bundle.js", "swagger-ui.css",
                                        "redoc.standalone.js", "oauth2-redirect.html"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

Test(docs, local_assets_are_served_from_memory, .timeout = 30)
{
    char dir[] = "/tmp/tern-docs-assets-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    write_file(dir, "swagger-ui-bundle.js", "window.SwaggerUIBundle = function () {};\n");
    write_file(dir, "swagger-ui.css", "body { color: #123; }\n");
    write_file(dir, "redoc.standalone.js", "/* redoc */\n");
    write_file(dir, "oauth2-redirect.html", "<p>redirect</p>\n");
    svc s;
    const char *args[] = {"--docs.assets_dir", dir, NULL};
    int rc = svc_start(&s, NULL, args, NULL, NULL);
    /* read at start-up: the folder may go away */
    remove_dir(dir);
    cr_assert_eq(rc, 0);

    http_resp r;
    get_ok(&s, "/docs", "text/html; charset=utf-8", &r);
    cr_expect_not_null(strstr(r.body, "<script src=\"/docs/assets/swagger-ui-bundle.js\"></script>"),
                       "%s", r.body);
    cr_expect_not_null(strstr(r.body, "href=\"/docs/assets/swagger-ui.css\""), "%s", r.body);
    cr_expect_null(strstr(r.body, "https://"), "a local page reaches out: %s", r.body);
    http_resp_free(&r);
    get_ok(&s, "/redoc", "text/html; charset=utf-8", &r);
    cr_expect_not_null(strstr(r.body, "<script src=\"/docs/assets/redoc.standalone.js\"></script>"));
    cr_expect_null(strstr(r.body, "https://"), "a local page reaches out: %s", r.body);
    http_resp_free(&r);

    char buf[128];
    get_ok(&s, "/docs/assets/swagger-ui.css", "text/css; charset=utf-8", &r);
    cr_expect_str_eq(r.body, "body { color: #123; }\n");
    cr_expect_str_eq(http_header(&r, "cache-control", buf, sizeof buf), "public, max-age=3600");
    http_resp_free(&r);
    get_ok(&s, "/docs/assets/swagger-ui-bundle.js", "text/javascript; charset=utf-8", &r);
    cr_expect_str_eq(r.body, "window.SwaggerUIBundle = function () {};\n");
    http_resp_free(&r);
    get_ok(&s, "/docs/oauth2-redirect", "text/html; charset=utf-8", &r);
    cr_expect_str_eq(r.body, "<p>redirect</p>\n");
    http_resp_free(&r);
    expect_status(&s, "GET", "/docs/assets/secret.txt", 404, NOT_FOUND);
    expect_status(&s, "GET", "/docs/assets/..%2fswagger-ui.css", 404, NOT_FOUND);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(docs, a_missing_asset_stops_start_up_with_one_line, .timeout = 30)
{
    char dir[] = "/tmp/tern-docs-assets-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    write_file(dir, "swagger-ui-bundle.js", "x");
    write_file(dir, "swagger-ui.css", "x");
    svc s;
    const char *args[] = {"--docs.assets_dir", dir, NULL};
    int rc = svc_start(&s, NULL, args, NULL, NULL);
    remove_dir(dir);
    cr_assert_eq(rc, -1, "started without redoc.standalone.js");
    cr_expect_eq(s.exit_status, 2);
    FILE *f = fopen(s.log_path, "r");
    cr_assert_not_null(f);
    char line[1024] = "", want[600];
    cr_assert_not_null(fgets(line, sizeof line, f));
    fclose(f);
    snprintf(want, sizeof want,
             "tern: config: docs.assets_dir: cannot read %s/redoc.standalone.js: No such file or directory\n",
             dir);
    cr_expect_str_eq(line, want);
}
