/* tests/integration/test_background.c - background tasks run after the answer and may
 * wait; shutdown waits for them, and cancels them at drain_timeout_ms. App-wide startup
 * and shutdown hooks run once, in order, and a failing startup hook stops start-up with
 * exit code 2 and one clear line. Runs tests/support/mw_app.c. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends.h"
#include "expect.h"
#include "service.h"

static svc s;

static void start_with(const char *drain_ms, const char *const *env)
{
    const char *args[] = {"--access_log", "off", "--drain_timeout_ms", drain_ms, NULL};
    cr_assert_eq(svc_start(&s, getenv("TERN_MW_APP_BIN"), args, env, NULL), 0);
}

/* The server's whole log (stdout and stderr). */
static char *read_log(void)
{
    static char buf[16384];
    FILE *f = fopen(s.log_path, "r");
    cr_assert_not_null(f, "%s", s.log_path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Where needle starts in the log, failing the test when it is absent. */
static const char *in_log(const char *log, const char *needle)
{
    const char *p = strstr(log, needle);
    cr_expect_not_null(p, "log lacks \"%s\":\n%s", needle, log);
    return p;
}

Test(background, the_answer_comes_first_then_the_task_runs, .timeout = 30)
{
    start_with("5000", NULL);
    http_resp r;
    expect_get(&s, "/bg?ms=400", NULL, 200, "{\"bg_done\":0}", &r);
    cr_expect_lt(r.total_s, 0.35, "the answer waited for the task (%.3f s)", r.total_s);
    http_resp_free(&r);
    cr_expect_eq(stat_of(&s, "bg_done"), 0, "the task ran before its 400 ms wait");
    for (int i = 0; i < 150 && stat_of(&s, "bg_done") < 1; i++)
        usleep(20000);
    cr_expect_eq(stat_of(&s, "bg_done"), 1);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(background, a_task_awaits_the_redis_pool_after_the_answer, .timeout = 60)
{
    backend redis;
    cr_assert_eq(backend_redis_start(&redis), 0);
    const char *args[] = {"--access_log", "off", "--redis.url", redis.url, NULL};
    cr_assert_eq(svc_start(&s, getenv("TERN_MW_APP_BIN"), args, NULL, NULL), 0);
    expect_get(&s, "/bg/redis", NULL, 200, "{\"queued\":true}", NULL);
    expect_get(&s, "/redis/counter", NULL, 200, "{\"value\":null}", NULL);
    bool counted = false;
    for (int i = 0; i < 100 && !counted; i++) {
        http_resp r;
        expect_get(&s, "/redis/counter", NULL, 200, NULL, &r);
        counted = !strcmp(r.body, "{\"value\":\"1\"}");
        http_resp_free(&r);
        if (!counted)
            usleep(20000);
    }
    cr_expect(counted, "the background task's INCR never showed");
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
    backend_stop(&redis);
}

Test(background, shutdown_waits_for_running_tasks, .timeout = 30)
{
    start_with("5000", NULL);
    expect_get(&s, "/bg?ms=500", NULL, 200, "{\"bg_done\":0}", NULL);
    double t0 = svc_now();
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
    cr_expect_gt(svc_now() - t0, 0.3, "exited before the task finished");
    const char *log = read_log();
    const char *done = in_log(log, "background task done");
    const char *hook = in_log(log, "shutdown hook ran: bg_done=1");
    if (done && hook)
        cr_expect_lt(done, hook, "the shutdown hook ran before the task ended");
}

Test(background, the_drain_timeout_cancels_tasks_still_running, .timeout = 30)
{
    start_with("300", NULL);
    expect_get(&s, "/bg?ms=20000", NULL, 200, "{\"bg_done\":0}", NULL);
    double t0 = svc_now();
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
    cr_expect_lt(svc_now() - t0, 5.0);
    const char *log = read_log();
    in_log(log, "background task cancelled");
    in_log(log, "shutdown hook ran: bg_done=0");
}

Test(app_hooks, startup_runs_before_serving_and_shutdown_after, .timeout = 30)
{
    start_with("5000", NULL);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
    const char *log = read_log();
    const char *up = in_log(log, "startup hook ran");
    const char *listening = in_log(log, "listening on");
    const char *stopped = in_log(log, "stopped after");
    const char *down = in_log(log, "shutdown hook ran");
    if (up && listening && stopped && down) {
        cr_expect_lt(up, listening);
        cr_expect_lt(stopped, down);
        cr_expect_null(strstr(up + 1, "startup hook ran"), "ran twice");
    }
}

Test(app_hooks, a_failing_startup_hook_stops_start_up_with_exit_2, .timeout = 30)
{
    const char *args[] = {"--access_log", "off", "--workers", "2", NULL};
    const char *env[] = {"MW_APP_FAIL_STARTUP=1", NULL};
    cr_assert_neq(svc_start(&s, getenv("TERN_MW_APP_BIN"), args, env, NULL), 0);
    cr_expect_eq(s.exit_status, 2);
    const char *log = read_log();
    in_log(log, "tern: startup hook 1 of 1 failed (returned 3)\n");
    cr_expect_null(strstr(log, "listening on"), "%s", log);
    cr_expect_null(strstr(log, "shutdown hook ran"), "%s", log);
}
