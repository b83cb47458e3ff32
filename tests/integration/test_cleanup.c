/* tests/integration/test_cleanup.c - deferred cleanups run when a request ends, on
 * every path: success, handler error, HTTPException-style error, deadline, client
 * gone, and tasks the handler left running. Runs tests/support/test_app.c. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service.h"

static svc s;

static void start(void)
{
    const char *args[] = {"--access_log", "off", "--request_timeout_ms", "300", NULL};
    cr_assert_eq(svc_start(&s, getenv("TERN_TEST_APP_BIN"), args, NULL, NULL), 0);
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

TestSuite(cleanup, .init = start, .fini = stop, .timeout = 60);

static long stat_of(const char *key)
{
    http_resp r;
    cr_assert_eq(http_get(&s, "/stats", &r), 0);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j);
    long v = (long)json_integer_value(json_object_get(j, key));
    json_decref(j);
    http_resp_free(&r);
    return v;
}

static void expect_status(const char *path, long status)
{
    http_resp r;
    cr_assert_eq(http_get(&s, path, &r), 0);
    cr_expect_eq(r.status, status, "%s: %ld", path, r.status);
    http_resp_free(&r);
}

/* Cleanups may run just after the answer (they wait for the handler's tasks). */
static void expect_cleanups(long want)
{
    for (int i = 0; i < 100 && stat_of("cleanups") != want; i++)
        usleep(20000);
    cr_expect_eq(stat_of("cleanups"), want, "cleanups %ld, want %ld", stat_of("cleanups"), want);
}

Test(cleanup, every_path_runs_the_deferred_cleanups)
{
    expect_status("/defer?how=ok", 200);
    expect_status("/defer?how=error", 500);
    expect_status("/defer?how=raise", 418);
    expect_status("/defer?how=sleep", 504); /* the 300 ms deadline */
    expect_status("/defer?how=bogus", 422); /* rejected before the handler: nothing to clean */
    expect_cleanups(4);
    cr_expect_eq(stat_of("started"), 4);
}

Test(cleanup, client_gone_still_runs_cleanups)
{
    http_resp r;
    /* the client gives up after 100 ms, long before the 300 ms deadline */
    cr_expect_neq(http_request(&s, "GET", "/defer?how=sleep", NULL, NULL, 0.1, &r), 0);
    http_resp_free(&r);
    expect_cleanups(1);
}

Test(cleanup, tasks_left_running_are_cancelled_then_cleanups_run)
{
    http_resp r;
    cr_assert_eq(http_get(&s, "/orphan", &r), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_lt(r.total_s, 1.0, "the answer waited for the orphan task");
    http_resp_free(&r);
    expect_cleanups(1); /* the 5 s child was cancelled, so this comes quickly */
}

Test(cleanup, wait_with_timeout_reports_pending)
{
    http_resp r;
    cr_assert_eq(http_get(&s, "/wait", &r), 0);
    cr_expect_str_eq(r.body, "{\"done\":0,\"pending_first\":true}");
    http_resp_free(&r);
}

Test(cleanup, bad_configuration_stops_startup_with_exit_2)
{
    svc bad;
    const char *env[] = {"TERN_REQUEST_TIMEOUT_MS=soon", NULL};
    cr_expect_neq(svc_start(&bad, getenv("TERN_TEST_APP_BIN"), NULL, env, NULL), 0);
    cr_expect_eq(bad.exit_status, 2);
    const char *args[] = {"--no-such-flag", NULL};
    cr_expect_neq(svc_start(&bad, getenv("TERN_TEST_APP_BIN"), args, NULL, NULL), 0);
    cr_expect_eq(bad.exit_status, 2);
}
