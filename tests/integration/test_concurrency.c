/* tests/integration/test_concurrency.c - the whole point of coroutines: one worker
 * holds hundreds of sleeping requests at once. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "service.h"

/* Runs n requests for path at once, each on its own connection; returns how many
 * answered 200 and the wall time. */
static int run_parallel(const svc *s, const char *path, int n, double *elapsed)
{
    double t0 = svc_now();
    int ok = http_parallel(s, path, n, n, 20, NULL);
    *elapsed = svc_now() - t0;
    return ok;
}

Test(concurrency, four_hundred_sleeps_on_one_worker_take_one_sleep, .timeout = 60)
{
    svc s;
    const char *args[] = {"--workers", "1", "--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
    double elapsed = 0;
    int ok = run_parallel(&s, "/sleep?ms=1000", 400, &elapsed);
    fprintf(stderr, "400 x /sleep?ms=1000 on one worker: %d ok in %.3f s\n", ok, elapsed);
    cr_expect_eq(ok, 400, "only %d of 400 answered 200", ok);
    /* one after another would take 400 s, two at a time 200 s: 3 s proves they overlap
     * and leaves room for a loaded CI machine (speed itself is bench/'s job) */
    cr_expect_lt(elapsed, 3.0, "took %.3f s: requests were not concurrent", elapsed);
    cr_expect_geq(elapsed, 0.99, "took %.3f s: shorter than the sleep", elapsed);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(concurrency, two_workers_serve_on_one_port, .timeout = 60)
{
    svc s;
    const char *args[] = {"--workers", "2", "--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
    double elapsed = 0;
    int ok = run_parallel(&s, "/sleep?ms=300", 100, &elapsed);
    cr_expect_eq(ok, 100);
    cr_expect_lt(elapsed, 3.0, "took %.3f s: 100 x 300 ms did not overlap", elapsed); /* serial: 30 s */
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}
