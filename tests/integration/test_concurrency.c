/* tests/integration/test_concurrency.c - the whole point of coroutines: one worker
 * holds hundreds of sleeping requests at once. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "service.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

/* Runs n requests for path at once, each on its own connection; returns how many
 * answered 200 and the wall time. */
static int run_parallel(const svc *s, const char *path, int n, double *elapsed)
{
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n);
    CURL **e = calloc((size_t)n, sizeof(*e));
    char url[128];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    for (int i = 0; i < n; i++) {
        e[i] = curl_easy_init();
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e[i], CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(e[i], CURLOPT_FRESH_CONNECT, 1L);
        curl_multi_add_handle(m, e[i]);
    }
    double t0 = now_s();
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    *elapsed = now_s() - t0;
    int ok = 0;
    for (int i = 0; i < n; i++) {
        long code = 0;
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &code);
        ok += code == 200;
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    free(e);
    curl_multi_cleanup(m);
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
    cr_expect_lt(elapsed, 1.5, "took %.3f s: requests were not concurrent", elapsed);
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
    cr_expect_lt(elapsed, 1.5);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}
