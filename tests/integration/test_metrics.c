/* tests/integration/test_metrics.c - GET /metrics as Prometheus scrapes it: promtool
 * accepts the text, request counters and histograms add up to the requests sent (two
 * workers summed), pool and coroutine series are there, and the config can move or
 * turn off the endpoint. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends.h"
#include "service.h"

/* Sum of the values of every series whose line starts with prefix (a metric name and
 * the start of its labels: `tern_http_requests_total{method="GET",route="/db",`). */
static double sum_series(const char *text, const char *prefix)
{
    double sum = 0;
    size_t pl = strlen(prefix);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, prefix, pl) != 0)
            continue;
        const char *sp = strchr(l, ' ');
        const char *nl = strchr(l, '\n');
        if (sp && (!nl || sp < nl))
            sum += strtod(sp + 1, NULL);
    }
    return sum;
}

/* Scrapes path and returns its body (caller frees), asserting a 200 in the right type. */
static char *scrape(const svc *s, const char *path)
{
    http_resp r;
    cr_assert_eq(http_get(s, path, &r), 0);
    cr_assert_eq(r.status, 200, "%s: %ld %s", path, r.status, r.body);
    char ct[128];
    cr_expect_str_eq(http_header(&r, "content-type", ct, sizeof ct),
                     "text/plain; version=0.0.4; charset=utf-8");
    char *body = strdup(r.body);
    http_resp_free(&r);
    return body;
}

/* Runs `promtool check metrics` on text; returns its exit status and output. */
static int promtool_check(const char *text, char *out, size_t n)
{
    char path[] = "/tmp/tern-metrics-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t got = fread(out, 1, n - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void get_n(const svc *s, const char *path, int n, long want)
{
    long *st = calloc((size_t)n, sizeof(*st));
    /* one connection each: with SO_REUSEPORT the kernel spreads them over the workers */
    http_parallel(s, path, n, 8, 10, st);
    for (int i = 0; i < n; i++)
        cr_expect_eq(st[i], want, "%s #%d: %ld", path, i, st[i]);
    free(st);
}

Test(metrics, counters_add_up_over_two_workers_with_both_pools, .timeout = 120)
{
    backend redis, maria;
    cr_assert_eq(backend_redis_start(&redis), 0, "redis-server did not start");
    cr_assert_eq(backend_mariadb_start(&maria), 0, "mariadbd did not start");
    char r_env[300], m_env[300];
    snprintf(r_env, sizeof r_env, "TERN_REDIS_URL=%s", redis.url);
    snprintf(m_env, sizeof m_env, "TERN_MYSQL_URL=%s", maria.url);
    const char *env[] = {r_env, m_env, "TERN_WORKERS=2", "TERN_ACCESS_LOG=off", NULL};
    svc s;
    cr_assert_eq(svc_start(&s, NULL, NULL, env, "/healthz"), 0);

    usleep(1200000); /* start-up (heroes' CREATE TABLE is denied) is in the gauges */
    char *before = scrape(&s, "/metrics");
    get_n(&s, "/db", 40, 200);
    get_n(&s, "/red", 30, 200);
    get_n(&s, "/json", 10, 200);
    get_n(&s, "/nope", 5, 404);
    get_n(&s, "/items/x", 3, 422);
    usleep(1200000); /* the pool gauges are copied once a second */
    char *after = scrape(&s, "/metrics");

    char out[4096];
    cr_expect_eq(promtool_check(after, out, sizeof out), 0, "promtool: %s", out);

#define DELTA(prefix) (sum_series(after, prefix) - sum_series(before, prefix))
    cr_expect_eq(DELTA("tern_http_requests_total{method=\"GET\",route=\"/db\",status=\"200\"}"), 40);
    cr_expect_eq(DELTA("tern_http_requests_total{method=\"GET\",route=\"/red\",status=\"200\"}"), 30);
    cr_expect_eq(DELTA("tern_http_requests_total{method=\"GET\",route=\"/json\",status=\"200\"}"), 10);
    cr_expect_eq(DELTA("tern_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"), 5);
    cr_expect_eq(DELTA("tern_http_requests_total{method=\"GET\",route=\"/items/{item_id}\",status=\"422\"}"), 3);
    /* every response is counted once: 88 sent plus the first scrape */
    cr_expect_eq(DELTA("tern_http_requests_total{"), 89);
    cr_expect_eq(DELTA("tern_worker_requests_total{"), 89);
    cr_expect_eq(DELTA("tern_http_request_duration_seconds_count{method=\"GET\",route=\"/db\"}"), 40);
    cr_expect_eq(sum_series(after, "tern_http_request_duration_seconds_bucket{method=\"GET\",route=\"/db\",le=\"+Inf\"}"),
                 sum_series(after, "tern_http_request_duration_seconds_count{method=\"GET\",route=\"/db\"}"));
    cr_expect_gt(DELTA("tern_http_request_duration_seconds_sum{method=\"GET\",route=\"/db\"}"), 0);
#undef DELTA

    /* two loops, both of which served some of the 88 connections */
    cr_expect_eq(sum_series(after, "tern_workers "), 2);
    cr_expect_gt(sum_series(after, "tern_worker_requests_total{worker=\"0\"}"), 0);
    cr_expect_gt(sum_series(after, "tern_worker_requests_total{worker=\"1\"}"), 0);
    cr_expect_eq(sum_series(after, "tern_http_requests_in_flight "), 1, "only the scrape runs");
    cr_expect_gt(sum_series(after, "tern_coroutines_spawned_total{worker=\"1\"}"), 0);
    cr_expect_geq(sum_series(after, "tern_coroutine_stacks_cached{"), 1);

    /* both pools, on both workers: open connections, none stuck, no failures */
    cr_expect(strstr(after, "tern_pool_in_use{pool=\"mysql\",worker=\"0\"} 0\n"), "%s", after);
    cr_expect(strstr(after, "tern_pool_in_use{pool=\"redis\",worker=\"1\"} 0\n"), "%s", after);
    cr_expect_geq(sum_series(after, "tern_pool_connections{pool=\"mysql\",worker=\"0\"}"), 1);
    cr_expect_geq(sum_series(after, "tern_pool_connections{pool=\"redis\",worker=\"1\"}"), 1);
    cr_expect_eq(sum_series(after, "tern_pool_errors_total{"),
                 sum_series(before, "tern_pool_errors_total{"), "%s", after);
    cr_expect_eq(sum_series(after, "tern_pool_timeouts_total{"), 0);
    cr_expect_eq(sum_series(after, "tern_pool_waiting{"), 0);
    cr_expect(strstr(after, "tern_pool_reconnects_total{pool=\"redis\",worker=\"0\"} 0\n"), "%s", after);

    free(before);
    free(after);
    cr_expect_eq(svc_stop(&s, SIGTERM, 15), 0);
    backend_stop(&redis);
    backend_stop(&maria);
}

Test(metrics, in_flight_and_histogram_buckets, .timeout = 60)
{
    svc s;
    const char *env[] = {"TERN_ACCESS_LOG=off", NULL};
    cr_assert_eq(svc_start(&s, NULL, NULL, env, NULL), 0);
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    static const char req[] = "GET /sleep?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)sizeof req - 1);
    usleep(200000);
    char *during = scrape(&s, "/metrics");
    cr_expect_eq(sum_series(during, "tern_http_requests_in_flight "), 2, "the sleeper and the scrape");
    char buf[1024];
    cr_expect_gt(read(fd, buf, sizeof buf), 0, "the sleeper never answered");
    close(fd);
    char *after = scrape(&s, "/metrics");
    cr_expect_eq(sum_series(after, "tern_http_requests_in_flight "), 1);
    /* 1.5 s lies in (1, 2.5]: cumulative buckets step from 0 to 1 there */
#define BUCKET(le) sum_series(after, "tern_http_request_duration_seconds_bucket{method=\"GET\",route=\"/sleep\",le=\"" le "\"}")
    cr_expect_eq(BUCKET("1"), 0);
    cr_expect_eq(BUCKET("2.5"), 1);
    cr_expect_eq(BUCKET("+Inf"), 1);
#undef BUCKET
    double sum = sum_series(after, "tern_http_request_duration_seconds_sum{method=\"GET\",route=\"/sleep\"}");
    /* the sleep's timer counts from the loop's cached clock, which can be a little
     * older than the request's start: allow 1.45 */
    cr_expect(sum >= 1.45 && sum < 2.5, "sum %f", sum);
    free(during);
    free(after);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(metrics, unmatched_requests_are_labelled_by_method, .timeout = 30)
{
    svc s;
    cr_assert_eq(svc_start(&s, NULL, NULL, NULL, NULL), 0);
    http_resp r;
    cr_assert_eq(http_request(&s, "BREW", "/coffee", NULL, NULL, 5, &r), 0);
    http_resp_free(&r);
    cr_assert_eq(http_request(&s, "DELETE", "/json", NULL, NULL, 5, &r), 0);
    cr_expect_eq(r.status, 405);
    http_resp_free(&r);
    char *text = scrape(&s, "/metrics");
    /* any method outside the known ones is "other": clients cannot grow the label set */
    cr_expect(strstr(text, "tern_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1\n"),
              "%s", text);
    cr_expect(strstr(text, "tern_http_requests_total{method=\"DELETE\",route=\"unmatched\",status=\"405\"} 1\n"),
              "%s", text);
    cr_expect(!strstr(text, "BREW"));
    free(text);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(metrics, path_and_switch_come_from_config, .timeout = 30)
{
    svc s;
    const char *args[] = {"--metrics.path", "/internal/metrics", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
    char *text = scrape(&s, "/internal/metrics");
    cr_expect(strstr(text, "# TYPE tern_http_requests_total counter\n"), "%s", text);
    free(text);
    http_resp r;
    cr_assert_eq(http_get(&s, "/metrics", &r), 0);
    cr_expect_eq(r.status, 404);
    http_resp_free(&r);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);

    const char *env[] = {"TERN_METRICS_ENABLED=false", NULL};
    cr_assert_eq(svc_start(&s, NULL, NULL, env, NULL), 0);
    cr_assert_eq(http_get(&s, "/metrics", &r), 0);
    cr_expect_eq(r.status, 404);
    cr_expect_str_eq(r.body, "{\"detail\":\"Not Found\"}");
    http_resp_free(&r);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(metrics, bad_path_stops_start_up, .timeout = 30)
{
    svc s;
    const char *args[] = {"--metrics.path", "metrics", NULL};
    cr_expect_neq(svc_start(&s, NULL, args, NULL, NULL), 0);
    cr_expect_eq(s.exit_status, 2);
    FILE *f = fopen(s.log_path, "r");
    char line[512] = "";
    cr_assert_not_null(f);
    cr_expect_not_null(fgets(line, sizeof line, f));
    fclose(f);
    cr_expect(strstr(line, "metrics.path") != NULL, "%s", line);
}
