/* tests/integration/test_service_pools.c - tern-service with real Redis and MariaDB:
 * the data routes, heroes CRUD with its cache, readiness, and what users see when a
 * backend dies, freezes or comes back (503/504 quickly, recovery without restart). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends.h"
#include "service.h"

static backend redis, maria;
static svc s;

static void start_with(const char *timeout_ms)
{
    cr_assert_eq(backend_redis_start(&redis), 0, "redis-server did not start");
    cr_assert_eq(backend_mariadb_start(&maria), 0, "mariadbd did not start");
    static char r_env[300], m_env[300], t_env[64];
    snprintf(r_env, sizeof r_env, "TERN_REDIS_URL=%s", redis.url);
    snprintf(m_env, sizeof m_env, "TERN_MYSQL_URL=%s", maria.url);
    snprintf(t_env, sizeof t_env, "TERN_REQUEST_TIMEOUT_MS=%s", timeout_ms);
    const char *env[] = {r_env, m_env, t_env, "TERN_MYSQL_POOL_MAX=10",
                         "TERN_MYSQL_ACQUIRE_TIMEOUT_MS=2000", "TERN_REDIS_TIMEOUT_MS=1000",
                         "TERN_ACCESS_LOG=off", NULL};
    cr_assert_eq(svc_start(&s, NULL, NULL, env, "/healthz"), 0);
}

static void start(void)
{
    start_with("3000");
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 15), 0, "tern-service did not exit 0");
    backend_stop(&redis);
    backend_stop(&maria);
}

TestSuite(service_pools, .init = start, .fini = stop, .timeout = 120);

static http_resp get(const char *path)
{
    http_resp r;
    http_request(&s, "GET", path, NULL, NULL, 10, &r);
    return r;
}

/* Polls path until it answers want (or limit_s passes); returns the seconds it took. */
static double until_status(const char *path, long want, double limit_s)
{
    double t0 = svc_now();
    while (svc_now() - t0 < limit_s) {
        http_resp r = get(path);
        long st = r.status;
        http_resp_free(&r);
        if (st == want)
            return svc_now() - t0;
        usleep(100000);
    }
    return -1;
}

static json_t *get_json(const char *path, long want)
{
    http_resp r = get(path);
    cr_expect_eq(r.status, want, "%s: %ld %s", path, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    http_resp_free(&r);
    return j;
}

Test(service_pools, data_routes_answer)
{
    cr_expect_geq(until_status("/readyz", 200, 10), 0, "never ready");
    json_t *j = get_json("/red", 200);
    char *car = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    cr_expect_str_eq(car, "{\"key1\":\"1\",\"key2\":\"2\",\"key3\":\"3\"}");
    free(car);
    json_decref(j);
    j = get_json("/db", 200);
    cr_expect(json_is_integer(json_object_get(j, "id")));
    cr_expect(json_is_integer(json_object_get(j, "randomNumber")));
    json_decref(j);
    j = get_json("/mysql", 200);
    cr_expect_eq(json_array_size(json_object_get(j, "result")), 5);
    json_decref(j);
    j = get_json("/healthz", 200);
    cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
}

Test(service_pools, six_hundred_db_requests_three_hundred_at_once)
{
    cr_expect_geq(until_status("/readyz", 200, 10), 0);
    long st[600];
    int ok = http_parallel(&s, "/db", 600, 300, 30, st);
    int bad = 0;
    for (int i = 0; i < 600; i++)
        if (st[i] != 200 && bad++ < 3)
            fprintf(stderr, "request %d: status %ld\n", i, st[i]);
    cr_expect_eq(ok, 600, "%d of 600 /db answered 200 (pool_max 10)", ok);
}

Test(service_pools, heroes_crud_with_cache)
{
    cr_expect_geq(until_status("/readyz", 200, 10), 0);
    http_resp r;
    const char *json_hdr[] = {"Content-Type: application/json", NULL};
    cr_assert_eq(http_request(&s, "POST", "/heroes", "{\"name\":\"Deadpond\",\"secret_name\":\"Dive Wilson\"}",
                              json_hdr, 10, &r), 0);
    cr_expect_eq(r.status, 200, "%s", r.body);
    json_t *hero = json_loads(r.body, 0, NULL);
    http_resp_free(&r);
    cr_assert_not_null(hero);
    long long id = json_integer_value(json_object_get(hero, "id"));
    cr_expect_gt(id, 0);
    cr_expect(json_is_null(json_object_get(hero, "age")));
    json_decref(hero);

    char path[64];
    snprintf(path, sizeof path, "/heroes/%lld", id);
    json_t *a = get_json(path, 200), *b = get_json(path, 200); /* the second from the cache */
    cr_expect(json_equal(a, b));
    json_decref(a);
    json_decref(b);

    cr_assert_eq(http_request(&s, "PATCH", path, "{\"age\":30}", json_hdr, 10, &r), 0);
    cr_expect_eq(r.status, 200);
    http_resp_free(&r);
    json_t *c = get_json(path, 200); /* the update dropped the cached copy */
    cr_expect_eq(json_integer_value(json_object_get(c, "age")), 30);
    json_decref(c);

    json_t *list = get_json("/heroes?offset=0&limit=100", 200);
    cr_expect_geq(json_array_size(list), 1);
    json_decref(list);

    cr_assert_eq(http_request(&s, "DELETE", path, NULL, NULL, 10, &r), 0);
    cr_expect_str_eq(r.body, "{\"ok\":true}");
    http_resp_free(&r);
    cr_assert_eq(http_request(&s, "DELETE", path, NULL, NULL, 10, &r), 0);
    cr_expect_eq(r.status, 404);
    cr_expect_str_eq(r.body, "{\"detail\":\"Hero not found\"}");
    http_resp_free(&r);
    http_resp g = get(path);
    cr_expect_eq(g.status, 404, "a deleted hero still served (stale cache?)");
    http_resp_free(&g);
}

Test(service_pools, hero_validation_errors_are_fastapi_422)
{
    http_resp r;
    const char *json_hdr[] = {"Content-Type: application/json", NULL};
    cr_assert_eq(http_request(&s, "POST", "/heroes", "{\"name\":\"Foo\"}", json_hdr, 10, &r), 0);
    cr_expect_eq(r.status, 422);
    cr_expect_str_eq(r.body, "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"secret_name\"],"
                             "\"msg\":\"Field required\",\"input\":{\"name\":\"Foo\"}}]}");
    http_resp_free(&r);
    cr_assert_eq(http_request(&s, "POST", "/heroes",
                              "{\"name\":\"A\",\"secret_name\":\"B\",\"age\":\"old\"}", json_hdr, 10,
                              &r),
                 0);
    cr_expect_eq(r.status, 422);
    cr_expect_str_eq(r.body, "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"age\"],"
                             "\"msg\":\"Input should be a valid integer, unable to parse string as "
                             "an integer\",\"input\":\"old\"}]}");
    http_resp_free(&r);
    http_resp l = get("/heroes?limit=1000");
    cr_expect_eq(l.status, 422);
    cr_expect_str_eq(l.body, "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"limit\"],"
                             "\"msg\":\"Input should be less than or equal to 100\",\"input\":"
                             "\"1000\",\"ctx\":{\"le\":100}}]}");
    http_resp_free(&l);
    cr_assert_eq(http_request(&s, "POST", "/heroes", "{\"name\":", json_hdr, 10, &r), 0);
    cr_expect_eq(r.status, 422);
    cr_expect_str_eq(r.body, "{\"detail\":[{\"type\":\"json_invalid\",\"loc\":[\"body\",8],\"msg\":"
                             "\"JSON decode error\",\"input\":{},\"ctx\":{\"error\":\"Expecting "
                             "value\"}}]}");
    http_resp_free(&r);
    /* a hero keeps its name: null is refused before the database sees it */
    cr_assert_eq(http_request(&s, "PATCH", "/heroes/1", "{\"name\":null,\"age\":-1}", json_hdr, 10,
                              &r), 0);
    cr_expect_eq(r.status, 422);
    cr_expect_str_eq(r.body, "{\"detail\":[{\"type\":\"string_type\",\"loc\":[\"body\",\"name\"],"
                             "\"msg\":\"Input should be a valid string\",\"input\":null},{\"type\":"
                             "\"greater_than_equal\",\"loc\":[\"body\",\"age\"],\"msg\":\"Input "
                             "should be greater than or equal to 0\",\"input\":-1,\"ctx\":{\"ge\":0}}]}");
    http_resp_free(&r);
}

Test(service_pools, redis_killed_then_restarted)
{
    cr_expect_geq(until_status("/red", 200, 10), 0);
    backend_kill(&redis);
    double t = until_status("/red", 503, 5);
    cr_expect_geq(t, 0, "/red did not answer 503 within 5 s of Redis dying");
    http_resp d = get("/db");
    cr_expect_eq(d.status, 200, "/db must not care about Redis");
    http_resp_free(&d);
    http_resp rz = get("/readyz");
    cr_expect_eq(rz.status, 503);
    cr_expect(strstr(rz.body, "redis") != NULL, "%s", rz.body);
    http_resp_free(&rz);
    cr_assert_eq(backend_restart(&redis), 0);
    t = until_status("/red", 200, 10);
    cr_expect_geq(t, 0, "/red did not recover after Redis came back");
    fprintf(stderr, "redis recovery: /red 200 again %.2f s after the restart\n", t);
    cr_expect_geq(until_status("/readyz", 200, 5), 0);
}

Test(service_pools, mariadb_frozen_then_thawed)
{
    cr_expect_geq(until_status("/db", 200, 10), 0);
    backend_signal(&maria, SIGSTOP);
    http_resp r;
    cr_assert_eq(http_request(&s, "GET", "/db", NULL, NULL, 10, &r), 0);
    cr_expect(r.status == 503 || r.status == 504, "/db answered %ld while MariaDB was frozen",
              r.status);
    cr_expect_lt(r.total_s, 4.0, "took %.2f s (deadline 3 s)", r.total_s);
    http_resp_free(&r);
    http_resp root = get("/");
    cr_expect_eq(root.status, 200);
    cr_expect_lt(root.total_s, 0.5, "/ slowed down by a frozen database");
    http_resp_free(&root);
    backend_signal(&maria, SIGCONT);
    double t = until_status("/db", 200, 15);
    cr_expect_geq(t, 0, "/db did not recover after MariaDB thawed");
    fprintf(stderr, "mariadb recovery: /db 200 again %.2f s after SIGCONT\n", t);
}

/* 10,000 requests mixing successes, deadline timeouts and clients that give up: the
 * pools end with nothing in use (and the ASan run finds no leak). */
Test(service_pools_mixed, ten_thousand_mixed_requests_leave_nothing_in_use, .timeout = 300)
{
    start_with("250");
    cr_expect_geq(until_status("/readyz", 200, 10), 0);
    const struct {
        const char *path;
        int n;
        double client_timeout;
    } mix[] = {
        {"/db", 4000, 10},          /* successes */
        {"/red", 3000, 10},         /* successes */
        {"/db/sleep?ms=1000", 1000, 10}, /* the 250 ms deadline: 504 */
        {"/sleep?ms=2000", 1000, 10},    /* deadline on a plain sleep */
        {"/db/sleep?ms=400", 1000, 0.1}, /* the client leaves after 100 ms */
    };
    long *st = calloc(4000, sizeof(long));
    for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++) {
        int ok = http_parallel(&s, mix[i].path, mix[i].n, 100, mix[i].client_timeout, st);
        int want504 = 0, got504 = 0;
        if (strstr(mix[i].path, "sleep") && mix[i].client_timeout > 1) {
            want504 = mix[i].n;
            for (int k = 0; k < mix[i].n; k++)
                got504 += st[k] == 504;
        }
        fprintf(stderr, "%-20s %5d requests: %d x 200, %d x 504\n", mix[i].path, mix[i].n, ok,
                got504);
        if (!want504 && mix[i].client_timeout > 1)
            cr_expect_eq(ok, mix[i].n, "%s: %d of %d ok", mix[i].path, ok, mix[i].n);
        if (want504)
            cr_expect_eq(got504, want504, "%s: %d of %d got 504", mix[i].path, got504, want504);
    }
    free(st);
    usleep(1500000); /* abandoned SLEEP()s finish or get killed; connections come back */
    json_t *j = get_json("/readyz", 200);
    json_t *pools = json_object_get(j, "pools");
    char *seen = json_dumps(pools, JSON_COMPACT);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(pools, "mysql"), "in_use")), 0,
                 "mysql connections still lent out: %s", seen);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(pools, "redis"), "in_use")), 0,
                 "redis commands still in flight: %s", seen);
    free(seen);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(pools, "mysql"), "waiting")), 0);
    json_decref(j);
    stop();
}

/* Host names in the URLs are resolved once at start-up (the pools connect by IP). */
Test(service_names, host_names_resolve_at_startup, .timeout = 60)
{
    backend rb;
    cr_assert_eq(backend_redis_start(&rb), 0);
    char env_url[128];
    snprintf(env_url, sizeof env_url, "TERN_REDIS_URL=redis://localhost:%d/0", rb.port);
    const char *env[] = {env_url, "TERN_ACCESS_LOG=off", NULL};
    svc one;
    cr_assert_eq(svc_start(&one, NULL, NULL, env, "/healthz"), 0);
    http_resp r;
    double t0 = svc_now();
    while (svc_now() - t0 < 5) {
        cr_assert_eq(http_request(&one, "GET", "/red", NULL, NULL, 5, &r), 0);
        if (r.status == 200)
            break;
        http_resp_free(&r);
        usleep(100000);
    }
    cr_expect_eq(r.status, 200, "/red through redis://localhost: %ld %s", r.status, r.body);
    http_resp_free(&r);
    cr_expect_eq(svc_stop(&one, SIGTERM, 10), 0);
    backend_stop(&rb);

    const char *bad[] = {"TERN_MYSQL_URL=mysql://u:p@no-such-host.invalid:3306/db", NULL};
    svc two;
    cr_expect_neq(svc_start(&two, NULL, NULL, bad, "/healthz"), 0);
    cr_expect_eq(two.exit_status, 2, "an unresolvable host must stop start-up with exit 2");
}

/* GET /crawl fetches the configured URLs concurrently: a fast one, a slow one and a
 * refused one, in about the time of the slowest. */
Test(service_names, crawl_fetches_configured_urls_concurrently, .timeout = 60)
{
    int port = svc_free_port();
    char urls[300];
    snprintf(urls, sizeof urls,
             "TERN_CRAWL_URLS=http://127.0.0.1:%d/json,http://127.0.0.1:%d/sleep?ms=800,"
             "http://127.0.0.1:1/refused",
             port, port);
    const char *env[] = {urls, "TERN_ACCESS_LOG=off", NULL};
    svc c;
    cr_assert_eq(svc_start_port(&c, port, NULL, NULL, env, "/healthz"), 0);
    http_resp r;
    cr_assert_eq(http_request(&c, "GET", "/crawl", NULL, NULL, 10, &r), 0);
    cr_expect_eq(r.status, 200, "%s", r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert(json_is_array(j), "%s", r.body);
    cr_expect_eq(json_array_size(j), 3);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(j, 0), "status")), 200);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(j, 0), "bytes")), 27);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(j, 1), "status")), 200);
    cr_expect(json_is_null(json_object_get(json_array_get(j, 2), "status")));
    cr_expect(strstr(json_string_value(json_object_get(json_array_get(j, 2), "error")),
                     "refused") != NULL);
    cr_expect_lt(r.total_s, 1.6, "took %.2f s: the fetches were not concurrent", r.total_s);
    cr_expect_geq(r.total_s, 0.75);
    json_decref(j);
    http_resp_free(&r);
    cr_expect_eq(svc_stop(&c, SIGTERM, 10), 0);
}
