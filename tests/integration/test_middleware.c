/* tests/integration/test_middleware.c - dependencies (app-wide, group, route; waiting,
 * refusing, handing values on), global and group middleware, status handlers on the
 * router's and handlers' answers (tests/support/mw_app.c), and the API-key and bearer
 * dependencies of tern-service's routes/secure.c. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "service.h"

static svc s;

static void start_mw_app(void)
{
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, getenv("TERN_MW_APP_BIN"), args, NULL, NULL), 0);
}

static void start_service(void)
{
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, "/healthz"), 0);
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

TestSuite(middleware, .init = start_mw_app, .fini = stop, .timeout = 60);

Test(middleware, dependencies_wait_and_hand_values_to_the_handler_in_order)
{
    /* the app-wide dependency sleeps then sets "trace"; the route's sees it */
    expect_get(&s, "/deps", NULL, 200, "{\"trace\":\"app-dep\",\"second\":\"saw app-dep\"}", NULL);
}

Test(middleware, a_refusing_dependency_answers_and_the_handler_never_runs)
{
    http_resp r;
    expect_get(&s, "/deps/refuse", NULL, 401, "{\"detail\":\"Not authenticated\"}", &r);
    expect_header(&r, "WWW-Authenticate", "Bearer");
    http_resp_free(&r);
    cr_expect_eq(stat_of(&s, "guarded_runs"), 0);
}

Test(middleware, after_functions_see_the_final_status_on_every_answer)
{
    http_resp r;
    expect_get(&s, "/stats", NULL, 200,
               "{\"bg_done\":0,\"bg_cancelled\":0,\"stream_cancelled\":0,"
               "\"stream_cleanups\":0,\"guarded_runs\":0,\"late_writes\":0}",
               &r);
    expect_header(&r, "X-Seen-Status", "200");
    char t[64];
    cr_assert_not_null(http_header(&r, "X-Process-Time", t, sizeof t));
    double secs = strtod(t, NULL);
    cr_expect(secs > 0 && secs < 5, "X-Process-Time %s", t);
    cr_expect_eq(strlen(t), strlen("0.000000"), "X-Process-Time %s", t);
    expect_header(&r, "X-Group", NULL);
    http_resp_free(&r);
    /* the router's own 405 (no handler ran) */
    cr_assert_eq(http_request(&s, "POST", "/stats", "", NULL, 10, &r), 0);
    cr_expect_eq(r.status, 405);
    expect_header(&r, "X-Seen-Status", "405");
    expect_header(&r, "Allow", "GET, HEAD");
    http_resp_free(&r);
}

Test(middleware, a_before_function_short_circuits_with_its_answer)
{
    const char *h[] = {"X-Block: 1", NULL};
    http_resp r;
    expect_get(&s, "/deps/refuse", h, 403, "{\"detail\":\"Blocked by middleware\"}", &r);
    expect_header(&r, "X-Seen-Status", "403");
    http_resp_free(&r);
    cr_expect_eq(stat_of(&s, "guarded_runs"), 0);
}

Test(middleware, a_group_covers_its_prefix_and_nothing_else)
{
    http_resp r;
    expect_get(&s, "/admin/panel", NULL, 401, "{\"detail\":\"Admin header missing\"}", &r);
    expect_header(&r, "X-Group", "admin");
    http_resp_free(&r);
    const char *h[] = {"X-Admin: yes", NULL};
    expect_get(&s, "/admin/panel", h, 200, "{\"panel\":true}", &r);
    expect_header(&r, "X-Group", "admin");
    expect_header(&r, "X-Seen-Status", "200");
    http_resp_free(&r);
    expect_get(&s, "/administrator", NULL, 200, "{\"not_admin\":true}", &r);
    expect_header(&r, "X-Group", NULL);
    http_resp_free(&r);
}

Test(middleware, status_handlers_replace_router_and_handler_answers)
{
    http_resp r;
    expect_get(&s, "/nowhere?x=1", NULL, 404,
               "{\"error\":\"not_found\",\"path\":\"/nowhere\",\"original\":\"Not Found\"}", &r);
    expect_header(&r, "X-Seen-Status", "404");
    expect_header(&r, "Content-Type", "application/json");
    http_resp_free(&r);
    expect_get(
        &s, "/missing-item", NULL, 404,
        "{\"error\":\"not_found\",\"path\":\"/missing-item\",\"original\":\"Item not found\"}",
        NULL);
    expect_get(&s, "/boom", NULL, 500, "{\"error\":\"internal\",\"status\":500}", NULL);
    /* statuses without a handler keep tern's body */
    expect_get(
        &s, "/bg?ms=x", NULL, 422,
        "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"ms\"],\"msg\":\"Input should "
        "be a valid integer, unable to parse string as an integer\",\"input\":\"x\"}]}",
        NULL);
}

static void start_bare(void)
{
    const char *args[] = {"--access_log", "off", NULL};
    const char *env[] = {"MW_APP_BARE=1", NULL};
    cr_assert_eq(svc_start(&s, getenv("TERN_MW_APP_BIN"), args, env, NULL), 0);
}

TestSuite(bare, .init = start_bare, .fini = stop, .timeout = 60);

Test(bare, route_dependencies_run_without_any_middleware)
{
    expect_get(&s, "/deps/refuse", NULL, 401, "{\"detail\":\"Not authenticated\"}", NULL);
    cr_expect_eq(stat_of(&s, "guarded_runs"), 0);
}

/* ---- routes/secure.c in tern-service --------------------------------------------- */

TestSuite(secure, .init = start_service, .fini = stop, .timeout = 60);

Test(secure, api_key_header)
{
    http_resp r;
    expect_get(&s, "/secure/key", NULL, 401, "{\"detail\":\"Not authenticated\"}", &r);
    expect_header(&r, "WWW-Authenticate", "APIKey");
    http_resp_free(&r);
    const char *bad[] = {"X-API-Key: nope", NULL};
    expect_get(&s, "/secure/key", bad, 403, "{\"detail\":\"Invalid API key\"}", NULL);
    const char *good[] = {"X-API-Key: demo-key", NULL};
    expect_get(&s, "/secure/key", good, 200, "{\"message\":\"API key accepted\"}", NULL);
}

Test(secure, bearer_token_names_the_user)
{
    http_resp r;
    expect_get(&s, "/secure/me", NULL, 401, "{\"detail\":\"Not authenticated\"}", &r);
    expect_header(&r, "WWW-Authenticate", "Bearer");
    http_resp_free(&r);
    const char *basic[] = {"Authorization: Basic YTpi", NULL};
    expect_get(&s, "/secure/me", basic, 401, "{\"detail\":\"Not authenticated\"}", NULL);
    const char *bad[] = {"Authorization: Bearer forged", NULL};
    expect_get(&s, "/secure/me", bad, 401, "{\"detail\":\"Invalid token\"}", &r);
    expect_header(&r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    http_resp_free(&r);
    const char *alice[] = {"Authorization: bearer alice-token", NULL};
    expect_get(&s, "/secure/me", alice, 200, "{\"user\":\"alice\",\"admin\":false}", NULL);
}

Test(secure, the_admin_group_needs_an_admin_token)
{
    expect_get(&s, "/secure/admin/stats", NULL, 401, "{\"detail\":\"Not authenticated\"}", NULL);
    const char *alice[] = {"Authorization: Bearer alice-token", NULL};
    expect_get(&s, "/secure/admin/stats", alice, 403, "{\"detail\":\"Admins only\"}", NULL);
    const char *root[] = {"Authorization: Bearer root-token", NULL};
    expect_get(&s, "/secure/admin/stats", root, 200, "{\"area\":\"admin\",\"user\":\"root\"}",
               NULL);
    /* the group's dependency guards unknown paths under it only through the router's 404 */
    expect_get(&s, "/secure/admin/nothing", root, 404, "{\"detail\":\"Not Found\"}", NULL);
}
