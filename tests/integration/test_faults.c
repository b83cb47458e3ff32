/* tests/integration/test_faults.c - backend faults under load, a few seconds each:
 * Redis frozen (SIGSTOP), Redis slow (CLIENT PAUSE), MariaDB killed and restarted,
 * MariaDB slow (a write lock on world). test_service_pools.c covers a killed Redis and
 * a frozen MariaDB without load; test_*_pool.c the pools themselves. While the fault
 * holds, 16 clients keep asking: every answer is 200, 503 or 504 (no hang, no 500),
 * routes without a backend answer at once, the first 200 comes soon after the backend
 * is back, and the pools end with nothing in use. tests/fault/drill.sh is the long
 * version under wrk. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends.h"
#include "raw.h"
#include "service.h"

static backend redis, maria;
static svc s;

static void start(void)
{
    static const char *const env[] = {
        "TERN_REQUEST_TIMEOUT_MS=2000",
        "TERN_REDIS_TIMEOUT_MS=1000",
        "TERN_MYSQL_ACQUIRE_TIMEOUT_MS=1000",
        "TERN_MYSQL_QUERY_TIMEOUT_MS=1500",
        "TERN_MYSQL_POOL_MAX=8",
        "TERN_ACCESS_LOG=off",
        NULL,
    };
    cr_assert_eq(svc_start_with_backends(&s, &redis, &maria, env), 0,
                 "tern-service with Redis and MariaDB did not start");
}

static void stop(void)
{
    cr_expect(svc_alive(&s), "tern-service died during the fault");
    cr_expect_eq(svc_stop(&s, SIGTERM, 15), 0, "tern-service did not exit 0");
    backend_signal(&redis, SIGCONT);
    backend_signal(&maria, SIGCONT);
    backend_stop(&redis);
    backend_stop(&maria);
}

TestSuite(faults, .init = start, .fini = stop, .timeout = 120);

/* ---- load in the background ----------------------------------------------------- */

typedef struct load {
    const char *path;
    volatile int stop;
    int ok, unavailable, timed_out, other, none;
    pthread_t th;
} load;

static void *load_main(void *arg)
{
    load *l = arg;
    long st[64];
    while (!l->stop) {
        http_parallel(&s, l->path, 64, 16, 10, st);
        for (int i = 0; i < 64; i++) {
            l->ok += st[i] == 200;
            l->unavailable += st[i] == 503;
            l->timed_out += st[i] == 504;
            l->none += st[i] == 0;
            l->other += st[i] != 0 && st[i] != 200 && st[i] != 503 && st[i] != 504;
        }
    }
    return NULL;
}

/* Seconds until path answers 200 (or -1 after limit_s). */
static double until_200(const char *path, double limit_s)
{
    double t0 = svc_now();
    while (svc_now() - t0 < limit_s) {
        http_resp r;
        int ok = http_request(&s, "GET", path, NULL, NULL, 3, &r) == 0 && r.status == 200;
        http_resp_free(&r);
        if (ok)
            return svc_now() - t0;
        usleep(50000);
    }
    return -1;
}

/* True once both pools have nothing lent out and nobody waiting (up to 5 s). */
static bool pools_idle(char *seen, size_t n)
{
    for (int i = 0; i < 50; i++) {
        http_resp r;
        http_request(&s, "GET", "/readyz", NULL, NULL, 2, &r);
        json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
        json_t *pools = json_object_get(j, "pools");
        long busy = 0;
        const char *k;
        json_t *v;
        json_object_foreach(pools, k, v) busy +=
            (long)json_integer_value(json_object_get(v, "in_use")) +
            (long)json_integer_value(json_object_get(v, "waiting"));
        snprintf(seen, n, "%s", r.body ? r.body : "");
        json_decref(j);
        http_resp_free(&r);
        if (pools && busy == 0)
            return true;
        usleep(100000);
    }
    return false;
}

/* The slowest of five GET / while the fault holds. */
static double slowest_root(void)
{
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        http_resp r;
        cr_expect_eq(http_request(&s, "GET", "/", NULL, NULL, 5, &r), 0);
        cr_expect_eq(r.status, 200);
        if (r.total_s > worst)
            worst = r.total_s;
        http_resp_free(&r);
        usleep(100000);
    }
    return worst;
}

typedef void (*fault_fn)(void);

static void drill(const char *name, const char *path, fault_fn inject, fault_fn restore,
                  int hold_ms)
{
    cr_assert_geq(until_200(path, 10), 0, "%s never answered 200 before the fault", path);
    load l = {.path = path};
    pthread_create(&l.th, NULL, load_main, &l);
    usleep(500000);
    inject();
    double t_fault = svc_now();
    double root = slowest_root();
    double left = hold_ms / 1000.0 - (svc_now() - t_fault);
    if (left > 0)
        usleep((useconds_t)(left * 1e6));
    restore();
    double recovery = until_200(path, 20);
    usleep(500000);
    l.stop = 1;
    pthread_join(l.th, NULL);
    char seen[1024];
    bool idle = pools_idle(seen, sizeof seen);
    fprintf(stderr,
            "%s: %d x 200, %d x 503, %d x 504, %d other, %d unanswered; GET / at most %.3f s "
            "during the fault; first 200 %.2f s after the backend was back; pools idle: %s\n",
            name, l.ok, l.unavailable, l.timed_out, l.other, l.none, root, recovery,
            idle ? "yes" : seen);
    cr_expect_gt(l.ok, 0);
    cr_expect_gt(l.unavailable + l.timed_out, 0, "the fault was never seen");
    cr_expect_eq(l.other, 0, "answers other than 200/503/504");
    cr_expect_eq(l.none, 0, "%d requests got no answer within 10 s", l.none);
    cr_expect_lt(root, 0.5, "GET / took %.3f s during the fault", root);
    cr_expect_geq(recovery, 0, "%s did not recover", path);
    cr_expect_lt(recovery, 5.0);
    cr_expect(idle, "pools still busy: %s", seen);
}

/* ---- the faults ------------------------------------------------------------------- */

static void redis_stop(void)
{
    backend_signal(&redis, SIGSTOP);
}

static void redis_cont(void)
{
    backend_signal(&redis, SIGCONT);
}

Test(faults, redis_frozen_under_load)
{
    drill("redis frozen", "/red", redis_stop, redis_cont, 3000);
}

static void redis_pause(void)
{
    char cmd[128];
    /* every command waits up to 1.5 s, twice: slower than the 1 s command timeout */
    snprintf(cmd, sizeof cmd,
             "(redis-cli -p %d CLIENT PAUSE 1500 ALL; sleep 1.6; "
             "redis-cli -p %d CLIENT PAUSE 1500 ALL) >/dev/null 2>&1 &",
             redis.port, redis.port);
    cr_assert_eq(system(cmd), 0);
}

static void nothing(void) {}

Test(faults, redis_slow_under_load)
{
    drill("redis slow", "/red", redis_pause, nothing, 3200);
}

static void maria_kill(void)
{
    backend_kill(&maria);
}

static void maria_restart(void)
{
    cr_assert_eq(backend_restart(&maria), 0, "mariadbd did not restart");
}

Test(faults, mariadb_killed_and_restarted_under_load)
{
    drill("mariadb killed", "/db", maria_kill, maria_restart, 2000);
}

static void maria_lock(void)
{
    char cmd[512];
    /* a write lock on world for 3 s: every /db read waits behind it */
    snprintf(cmd, sizeof cmd,
             "mariadb --no-defaults -uroot --socket=%s/mysql.sock hello_world -e "
             "'LOCK TABLES world WRITE; SELECT SLEEP(3); UNLOCK TABLES' >/dev/null 2>&1 &",
             maria.dir);
    cr_assert_eq(system(cmd), 0);
}

Test(faults, mariadb_slow_under_load)
{
    drill("mariadb slow", "/db", maria_lock, nothing, 3200);
}
