/* tests/integration/test_redis_pool.c - the Redis pool against a private redis-server:
 * commands and reply types, binary-safe arguments, the JSON views, 200 concurrent
 * callers on four pipelined connections, AUTH and SELECT, per-command timeouts (a
 * server stalled by a busy script, a connection blocked by BLPOP), cancellation,
 * connection refused, a killed and restarted server, a frozen and thawed server, the
 * pool closing under a waiting command, and URL validation.
 *
 * Every test runs inside tern_loop_run. Criterion's asserts unwind with longjmp, which
 * must not cross a coroutine switch: coroutines record the first failed CHECK and the
 * test asserts on it after the loop returns. Timing bounds are wide on purpose (shared
 * 2-core machines); they still tell "failed at once" from "waited for a timeout". */
#include <criterion/criterion.h>

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends.h"
#include "loop_check.h"
#include "service.h"
#include "tern/error.h"
#include "tern/redis.h"
#include "tern/task.h"

static backend be;

static void start(void)
{
    cr_assert_eq(backend_redis_start(&be), 0, "redis-server did not start");
}

static void stop(void)
{
    backend_stop(&be);
}

TestSuite(redis_pool, .init = start, .fini = stop, .timeout = 90);

static tern_redis_pool *open_pool(const char *url, int size, int64_t timeout_ms)
{
    tern_redis_opts o = {
        .url = url, .pool_size = size, .timeout_ms = timeout_ms, .connect_timeout_ms = 500};
    tern_redis_pool *p = NULL;
    int rc = tern_redis_pool_new(&o, &p);
    CHECK(rc == 0 && p, "tern_redis_pool_new(%s): %d (%s)", url, rc, tern_errmsg());
    return p;
}

static bool wait_ready(tern_redis_pool *p, int ms)
{
    for (int waited = 0; !tern_redis_pool_ready(p) && waited < ms; waited += 20)
        tern_sleep(20);
    return tern_redis_pool_ready(p);
}

/* Retries a SET until it succeeds or ms pass; returns the wall time it took, or -1. */
static int64_t until_ok(tern_redis_pool *p, int ms)
{
    uint64_t t0 = wall_ms();
    while (wall_ms() - t0 < (uint64_t)ms) {
        tern_redis_reply *r;
        if (tern_redis_cmd(p, &r, "SET probe %s", "back") == 0 && r->type == TERN_REDIS_STATUS)
            return (int64_t)(wall_ms() - t0);
        tern_sleep(50);
    }
    return -1;
}

static bool is_str(const tern_redis_reply *r, int type, const char *s)
{
    return r && r->type == type && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

/* ---- commands and replies ---- */

static void *set_get_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(be.url, 4, 2000);
    if (!p)
        return NULL;
    tern_redis_reply *r = NULL;
    /* issued right away: the fresh connections queue it behind their handshake */
    int rc = tern_redis_cmd(p, &r, "SET %s %s", "greeting", "hello world");
    CHECK(rc == 0, "SET: %d (%s)", rc, tern_errmsg());
    CHECK(is_str(r, TERN_REDIS_STATUS, "OK"), "SET reply type %d", r ? r->type : -1);
    rc = tern_redis_cmd(p, &r, "GET greeting");
    CHECK(rc == 0 && is_str(r, TERN_REDIS_STRING, "hello world"), "GET: %d", rc);
    CHECK(r && r->str[r->len] == '\0', "string not NUL-terminated");
    CHECK(wait_ready(p, 3000), "never ready");
    for (int i = 0; i < 100; i++) { /* every slot finishes its handshake */
        tern_pool_stats st;
        tern_redis_pool_stats(p, &st);
        if (st.connections == 4)
            break;
        tern_sleep(20);
    }
    tern_pool_stats st;
    tern_redis_pool_stats(p, &st);
    CHECK(st.connections == 4 && st.idle == 4 && st.in_use == 0 && st.waiting == 0,
          "stats: connections %u idle %u in_use %u", st.connections, st.idle, st.in_use);
    CHECK(st.errors == 0 && st.timeouts == 0 && st.reconnects == 0, "counters %llu %llu %llu",
          (unsigned long long)st.errors, (unsigned long long)st.timeouts,
          (unsigned long long)st.reconnects);
    tern_redis_pool_free(p);
    return NULL;
}

Test(redis_pool, set_and_get)
{
    run(set_get_main);
}

static void *hash_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(be.url, 2, 2000);
    if (!p)
        return NULL;
    tern_redis_reply *r;
    int rc = tern_redis_cmd(p, &r, "HSET car key1 1 key2 2 key3 3");
    CHECK(rc == 0 && r->type == TERN_REDIS_INTEGER && r->integer == 3, "HSET: %d", rc);
    rc = tern_redis_cmd(p, &r, "HGETALL car");
    CHECK(rc == 0 && r->type == TERN_REDIS_ARRAY && r->elements == 6, "HGETALL: %d", rc);
    if (rc == 0) {
        json_t *o = tern_redis_reply_object(r);
        char *s = o ? json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        CHECK(s && strcmp(s, "{\"key1\":\"1\",\"key2\":\"2\",\"key3\":\"3\"}") == 0,
              "HGETALL as object: %s", s ? s : "NULL");
        free(s);
        json_decref(o);
        json_t *a = tern_redis_reply_json(r); /* pairs are not guessed into an object */
        CHECK(json_is_array(a) && json_array_size(a) == 6, "HGETALL as JSON is no 6-array");
        json_decref(a);
    }
    rc = tern_redis_cmd(p, &r, "HGET car key2");
    CHECK(rc == 0 && tern_redis_reply_object(r) == NULL, "a string is not an object");
    tern_redis_pool_free(p);
    return NULL;
}

Test(redis_pool, hgetall_as_json_object)
{
    run(hash_main);
}

static void *binary_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(be.url, 2, 2000);
    if (!p)
        return NULL;
    static const char value[] = "a\0b\r\n\0\xff";
    const size_t vlen = sizeof value - 1;
    const char *set[] = {"SET", "bin\0key", value};
    const size_t set_lens[] = {3, 7, vlen};
    tern_redis_reply *r;
    int rc = tern_redis_argv(p, &r, 3, set, set_lens);
    CHECK(rc == 0 && is_str(r, TERN_REDIS_STATUS, "OK"), "argv SET: %d (%s)", rc, tern_errmsg());
    const char *get[] = {"GET", "bin\0key"};
    const size_t get_lens[] = {3, 7};
    rc = tern_redis_argv(p, &r, 2, get, get_lens);
    CHECK(rc == 0 && r->type == TERN_REDIS_STRING && r->len == vlen &&
              memcmp(r->str, value, vlen) == 0,
          "argv GET lost bytes: %d len %zu", rc, r ? r->len : 0);
    rc = tern_redis_cmd(p, &r, "GET %b", "bin\0key", (size_t)7); /* %b: binary in fmt */
    CHECK(rc == 0 && r->len == vlen && memcmp(r->str, value, vlen) == 0, "%%b GET: %d", rc);
    if (rc == 0) { /* not UTF-8: JSON gets U+FFFD for the bad byte, keeps the NULs */
        json_t *j = tern_redis_reply_json(r);
        CHECK(json_is_string(j) && json_string_length(j) == vlen - 1 + 3 &&
                  memcmp(json_string_value(j) + vlen - 1, "\xEF\xBF\xBD", 3) == 0,
              "binary string as JSON");
        json_decref(j);
    }
    const char *argv_nolens[] = {"ECHO", "plain"};
    rc = tern_redis_argv(p, &r, 2, argv_nolens, NULL);
    CHECK(rc == 0 && is_str(r, TERN_REDIS_STRING, "plain"), "argv without lens: %d", rc);
    tern_redis_pool_free(p);
    return NULL;
}

Test(redis_pool, binary_safe_arguments)
{
    run(binary_main);
}

static void *types_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(be.url, 2, 2000);
    if (!p)
        return NULL;
    tern_redis_reply *r;
    int rc = tern_redis_cmd(p, &r, "INCR hits");
    CHECK(rc == 0 && r->type == TERN_REDIS_INTEGER && r->integer == 1, "INCR: %d", rc);
    rc = tern_redis_cmd(p, &r, "INCRBY hits %d", 41);
    CHECK(rc == 0 && r->type == TERN_REDIS_INTEGER && r->integer == 42, "INCRBY: %d", rc);
    json_t *j = rc == 0 ? tern_redis_reply_json(r) : NULL;
    CHECK(json_is_integer(j) && json_integer_value(j) == 42, "integer as JSON");
    json_decref(j);

    rc = tern_redis_cmd(p, &r, "GET no-such-key");
    CHECK(rc == 0 && r->type == TERN_REDIS_NIL, "GET missing: %d type %d", rc, r ? r->type : -1);
    j = rc == 0 ? tern_redis_reply_json(r) : NULL;
    CHECK(json_is_null(j), "nil as JSON");
    json_decref(j);

    tern_redis_cmd(p, &r, "SET word abc");
    rc = tern_redis_cmd(p, &r, "INCR word"); /* an ERROR reply is a reply: rc 0 */
    CHECK(rc == 0 && r->type == TERN_REDIS_ERROR && strstr(r->str, "not an integer"),
          "error reply: %d type %d", rc, r ? r->type : -1);
    j = rc == 0 ? tern_redis_reply_json(r) : NULL;
    CHECK(j && json_is_string(json_object_get(j, "error")), "error as JSON");
    json_decref(j);

    rc = tern_redis_cmd(p, &r, "RPUSH list a b");
    rc = tern_redis_cmd(p, &r, "LRANGE list 0 -1");
    CHECK(rc == 0 && r->type == TERN_REDIS_ARRAY && r->elements == 2 &&
              is_str(r->element[1], TERN_REDIS_STRING, "b"),
          "LRANGE: %d", rc);
    rc = tern_redis_cmd(p, &r, "LRANGE nothing 0 -1");
    CHECK(rc == 0 && r->type == TERN_REDIS_ARRAY && r->elements == 0, "empty array: %d", rc);

    /* refused before anything is sent: they would break a shared connection */
    rc = tern_redis_cmd(p, &r, "SUBSCRIBE news");
    CHECK(rc == -EINVAL && r == NULL && strstr(tern_errmsg(), "SUBSCRIBE"), "SUBSCRIBE: %d", rc);
    rc = tern_redis_cmd(p, &r, "select 1");
    CHECK(rc == -EINVAL, "SELECT: %d", rc);
    rc = tern_redis_cmd(p, &r, "MULTI");
    CHECK(rc == -EINVAL, "MULTI: %d", rc);
    rc = tern_redis_cmd(p, &r, "CLIENT REPLY OFF");
    CHECK(rc == -EINVAL, "CLIENT REPLY: %d", rc);
    rc = tern_redis_argv(p, &r, 0, NULL, NULL);
    CHECK(rc == -EINVAL, "empty argv: %d", rc);
    rc = tern_redis_cmd(p, &r, "CLIENT GETNAME"); /* other CLIENT subcommands pass */
    CHECK(rc == 0 && r->type == TERN_REDIS_NIL, "CLIENT GETNAME: %d", rc);
    tern_redis_pool_free(p);
    return NULL;
}

Test(redis_pool, integers_nil_errors_and_refused_commands)
{
    run(types_main);
}

/* ---- 200 callers, 4 connections ---- */

#define CALLERS 200
static tern_redis_pool *shared;
static unsigned max_in_use;

static void *caller(void *arg)
{
    long i = (long)(intptr_t)arg;
    tern_pool_stats st;
    tern_redis_pool_stats(shared, &st);
    if (st.in_use > max_in_use)
        max_in_use = st.in_use;
    char key[32], val[32];
    snprintf(key, sizeof key, "key:%ld", i);
    snprintf(val, sizeof val, "value-%ld", i);
    tern_redis_reply *r;
    int rc = tern_redis_cmd(shared, &r, "SET %s %s", key, val);
    CHECK(rc == 0, "caller %ld SET: %d (%s)", i, rc, tern_errmsg());
    rc = tern_redis_cmd(shared, &r, "GET %s", key);
    CHECK(rc == 0 && is_str(r, TERN_REDIS_STRING, val), "caller %ld read another's value", i);
    rc = tern_redis_cmd(shared, &r, "INCR callers");
    CHECK(rc == 0 && r->type == TERN_REDIS_INTEGER, "caller %ld INCR: %d", i, rc);
    return (void *)(intptr_t)(rc == 0);
}

static void *concurrent_main(void *arg)
{
    (void)arg;
    shared = open_pool(be.url, 4, 5000);
    if (!shared)
        return NULL;
    CHECK(wait_ready(shared, 3000), "never ready");
    tern_task *tasks[CALLERS];
    for (long i = 0; i < CALLERS; i++) {
        tasks[i] = tern_spawn(caller, (void *)(intptr_t)i);
        CHECK(tasks[i], "spawn %ld: %s", i, tern_errmsg());
        if (!tasks[i])
            return NULL;
    }
    void *results[CALLERS];
    uint64_t t0 = wall_ms();
    int rc = tern_gather(tasks, CALLERS, results);
    uint64_t spent = wall_ms() - t0;
    CHECK(rc == 0, "gather: %d", rc);
    int ok = 0;
    for (int i = 0; i < CALLERS; i++)
        ok += results[i] != NULL;
    CHECK(ok == CALLERS, "%d of %d callers succeeded", ok, CALLERS);
    CHECK(spent < 5000, "600 pipelined commands took %llu ms", (unsigned long long)spent);
    tern_redis_reply *r;
    rc = tern_redis_cmd(shared, &r, "GET callers");
    CHECK(rc == 0 && is_str(r, TERN_REDIS_STRING, "200"), "INCR total: %s", r ? r->str : "-");
    /* callers ran one after another while the first replies were still on the wire:
     * more commands were in flight than there are connections */
    CHECK(max_in_use > 4, "at most %u commands in flight", max_in_use);
    tern_pool_stats st;
    tern_redis_pool_stats(shared, &st);
    CHECK(st.in_use == 0 && st.errors == 0 && st.connections == 4, "stats after: %u %llu %u",
          st.in_use, (unsigned long long)st.errors, st.connections);
    tern_redis_pool_free(shared);
    return NULL;
}

Test(redis_pool, two_hundred_callers_on_four_connections)
{
    run(concurrent_main);
}

/* ---- AUTH and SELECT ---- */

static int redis_cli(const char *args, char *out, size_t n)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "redis-cli --no-auth-warning -p %d %s 2>&1", be.port, args);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t len = fread(out, 1, n - 1, f);
    out[len] = '\0';
    while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    return pclose(f) == 0 ? 0 : -1;
}

static char url_auth[300], url_user[300], url_wrong[300], url_noauth[300];

static void *auth_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(url_auth, 2, 2000);
    if (!p)
        return NULL;
    tern_redis_reply *r;
    int rc = tern_redis_cmd(p, &r, "SET where %s", "db3");
    CHECK(rc == 0 && is_str(r, TERN_REDIS_STATUS, "OK"), "SET with AUTH: %d (%s) %s", rc,
          tern_errmsg(), r ? r->str : "");
    CHECK(wait_ready(p, 3000), "password pool never ready");
    tern_redis_pool_free(p);

    p = open_pool(url_user, 1, 2000); /* ACL form: AUTH default secret */
    rc = p ? tern_redis_cmd(p, &r, "GET where") : -1;
    CHECK(rc == 0 && is_str(r, TERN_REDIS_STRING, "db3"), "user:password pool: %d", rc);
    tern_redis_pool_free(p);

    /* a wrong password or none: the handshake is refused, commands fail, never ready */
    const char *bad[] = {url_wrong, url_noauth};
    const char *want[] = {"WRONGPASS", "NOAUTH"};
    for (int i = 0; i < 2; i++) {
        p = open_pool(bad[i], 1, 2000);
        if (!p)
            continue;
        rc = tern_redis_cmd(p, &r, "GET where");
        CHECK(rc == TERN_EUNAVAILABLE && strstr(tern_errmsg(), want[i]), "%s: rc %d (%s)", want[i],
              rc, tern_errmsg());
        tern_sleep(200);
        CHECK(!tern_redis_pool_ready(p), "ready with a bad password");
        tern_pool_stats st;
        tern_redis_pool_stats(p, &st);
        CHECK(st.errors >= 1 && st.connections == 0, "errors %llu", (unsigned long long)st.errors);
        tern_redis_pool_free(p);
    }
    return NULL;
}

Test(redis_pool, auth_and_select_on_every_connection)
{
    char out[256];
    cr_assert_eq(redis_cli("CONFIG SET requirepass 's3cret:@x'", out, sizeof out), 0, "%s", out);
    snprintf(url_auth, sizeof url_auth, "redis://:s3cret%%3A%%40x@127.0.0.1:%d/3", be.port);
    snprintf(url_user, sizeof url_user, "redis://default:s3cret:@x@127.0.0.1:%d/3", be.port);
    snprintf(url_wrong, sizeof url_wrong, "redis://:nope@127.0.0.1:%d/3", be.port);
    snprintf(url_noauth, sizeof url_noauth, "redis://127.0.0.1:%d", be.port);
    run(auth_main);
    cr_assert_eq(redis_cli("-a 's3cret:@x' -n 3 GET where", out, sizeof out), 0, "%s", out);
    cr_expect_str_eq(out, "db3", "the key did not land in database 3");
    cr_assert_eq(redis_cli("-a 's3cret:@x' -n 0 EXISTS where", out, sizeof out), 0, "%s", out);
    cr_expect_str_eq(out, "0", "the key landed in database 0 too");
}

/* ---- timeouts and cancellation ---- */

/* Keeps the whole server busy for about 1 s (DEBUG SLEEP is off by default in Redis 7). */
static const char *const stall_script =
    "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] "
    "while true do local n = redis.call('TIME') "
    "if n[1] * 1000000 + n[2] - s >= 1000000 then break end end return 1";

static void *stall_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(be.url, 4, 200);
    if (!p)
        return NULL;
    CHECK(wait_ready(p, 3000), "never ready");
    tern_redis_reply *r = NULL;
    uint64_t t0 = wall_ms();
    int rc = tern_redis_cmd(p, &r, "EVAL %s 0", stall_script);
    uint64_t spent = wall_ms() - t0;
    CHECK(rc == TERN_ETIMEDOUT && r == NULL, "stalled command: %d (%s)", rc, tern_errmsg());
    CHECK(strstr(tern_errmsg(), "no reply within 200 ms"), "errmsg: %s", tern_errmsg());
    CHECK(spent >= 150 && spent < 800, "timed out after %llu ms, want ~200",
          (unsigned long long)spent);
    tern_pool_stats st;
    tern_redis_pool_stats(p, &st);
    CHECK(st.timeouts == 1, "timeouts %llu", (unsigned long long)st.timeouts);
    /* the server answers again once the script ends (~1 s); the abandoned reply
     * arrives then and frees its record (ASan watches that) */
    int64_t back = until_ok(p, 5000);
    CHECK(back >= 0, "pool never worked again after the stall: %s", tern_errmsg());
    rc = tern_redis_cmd(p, &r, "GET probe");
    CHECK(rc == 0 && is_str(r, TERN_REDIS_STRING, "back"), "GET after the stall: %d", rc);
    tern_redis_pool_free(p);
    return NULL;
}

Test(redis_pool, stalled_server_times_out_then_recovers)
{
    run(stall_main);
}

static tern_redis_pool *blocked_pool;
static int blocked_rc = 1;
static uint64_t blocked_spent;

static void *blpop_task(void *arg)
{
    (void)arg;
    tern_redis_reply *r;
    uint64_t t0 = wall_ms();
    blocked_rc = tern_redis_cmd(blocked_pool, &r, "BLPOP nothing-here 2");
    blocked_spent = wall_ms() - t0;
    return NULL;
}

static void *blocked_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = blocked_pool = open_pool(be.url, 2, 300);
    if (!p)
        return NULL;
    CHECK(wait_ready(p, 3000), "never ready");
    for (int i = 0; i < 50; i++) { /* both connections up, so round robin has a choice */
        tern_pool_stats st;
        tern_redis_pool_stats(p, &st);
        if (st.connections == 2)
            break;
        tern_sleep(20);
    }

    /* one connection blocked by BLPOP times out; the other keeps serving meanwhile */
    tern_redis_reply *r;
    uint64_t t0 = wall_ms();
    int rc = tern_redis_cmd(p, &r, "BLPOP nothing-here 2");
    uint64_t spent = wall_ms() - t0;
    CHECK(rc == TERN_ETIMEDOUT && spent >= 250 && spent < 900, "BLPOP: %d after %llu ms", rc,
          (unsigned long long)spent);
    for (int i = 0; i < 10; i++) {
        t0 = wall_ms();
        rc = tern_redis_cmd(p, &r, "PING");
        CHECK(rc == 0 && is_str(r, TERN_REDIS_STATUS, "PONG"),
              "PING %d beside a blocked one: %d (%s)", i, rc, tern_errmsg());
        CHECK(wall_ms() - t0 < 250, "PING %d took %llu ms", i,
              (unsigned long long)(wall_ms() - t0));
    }
    /* the silent connection is replaced (~2 timeouts after the send), not waited for */
    tern_pool_stats st = {0};
    for (int i = 0; i < 150 && st.reconnects == 0; i++) {
        tern_sleep(20);
        tern_redis_pool_stats(p, &st);
    }
    CHECK(st.reconnects >= 1 && st.timeouts == 1, "reconnects %llu timeouts %llu",
          (unsigned long long)st.reconnects, (unsigned long long)st.timeouts);
    CHECK(until_ok(p, 3000) >= 0, "pool broken after the replacement");

    /* a cancelled wait returns at once; the late reply (or the close) frees its record */
    tern_task *t = tern_spawn(blpop_task, NULL);
    tern_sleep(50);
    tern_task_cancel(t);
    tern_task_join(t, NULL);
    CHECK(blocked_rc == TERN_ECANCELED && blocked_spent < 250, "cancelled BLPOP: %d after %llu ms",
          blocked_rc, (unsigned long long)blocked_spent);

    CHECK(until_ok(p, 3000) >= 0, "pool broken after the cancel");
    tern_redis_pool_stats(p, &st);
    CHECK(st.timeouts == 1, "a cancel counted as a timeout");
    tern_redis_pool_free(p); /* the cancelled BLPOP's record goes with its connection */
    return NULL;
}

Test(redis_pool, blocked_connection_is_replaced_and_cancel_returns_at_once)
{
    run(blocked_main);
}

/* ---- the server goes away ---- */

static char closed_url[128];

static void *refused_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(closed_url, 2, 2000);
    if (!p)
        return NULL;
    tern_redis_reply *r = NULL;
    uint64_t t0 = wall_ms();
    int rc = tern_redis_cmd(p, &r, "GET x");
    uint64_t spent = wall_ms() - t0;
    CHECK(rc == TERN_EUNAVAILABLE && r == NULL, "refused: %d (%s)", rc, tern_errmsg());
    CHECK(strstr(tern_errmsg(), "redis 127.0.0.1:") && strstr(tern_errmsg(), "connection refused"),
          "errmsg: %s", tern_errmsg());
    CHECK(spent < 300, "took %llu ms to fail", (unsigned long long)spent);
    CHECK(!tern_redis_pool_ready(p), "ready without a server");
    tern_sleep(100);
    for (int i = 0; i < 5; i++) { /* now known down: fail without touching the network */
        t0 = wall_ms();
        rc = tern_redis_cmd(p, &r, "GET x");
        CHECK(rc == TERN_EUNAVAILABLE && wall_ms() - t0 < 50, "fail fast %d: %d", i, rc);
        CHECK(strstr(tern_errmsg(), "connection refused"), "errmsg: %s", tern_errmsg());
    }
    tern_pool_stats st;
    tern_redis_pool_stats(p, &st);
    CHECK(st.connections == 0 && st.errors >= 2, "connections %u errors %llu", st.connections,
          (unsigned long long)st.errors);
    tern_redis_pool_free(p);
    return NULL;
}

Test(redis_pool, connection_refused_fails_at_once)
{
    snprintf(closed_url, sizeof closed_url, "redis://127.0.0.1:%d/0", svc_free_port());
    run(refused_main);
}

static void *kill_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(be.url, 4, 2000);
    if (!p)
        return NULL;
    CHECK(wait_ready(p, 3000), "never ready");
    CHECK(until_ok(p, 1000) >= 0, "first SET");
    tern_run_blocking(backend_kill_blocking, &be, NULL);

    int unavailable = 0;
    for (int i = 0; i < 8; i++) {
        tern_redis_reply *r;
        uint64_t t0 = wall_ms();
        int rc = tern_redis_cmd(p, &r, "GET probe");
        uint64_t spent = wall_ms() - t0;
        CHECK(rc == TERN_EUNAVAILABLE, "after kill %d: %d (%s)", i, rc, tern_errmsg());
        CHECK(spent < 300, "after kill %d: took %llu ms", i, (unsigned long long)spent);
        unavailable += rc == TERN_EUNAVAILABLE;
        tern_sleep(20);
    }
    CHECK(unavailable == 8, "only %d of 8 commands failed fast", unavailable);
    CHECK(!tern_redis_pool_ready(p), "ready with the server dead");
    void *started = NULL;
    tern_run_blocking(backend_restart_blocking, &be, &started);
    CHECK(started, "backend_restart failed");
    int64_t back = until_ok(p, 10000);
    CHECK(back >= 0 && back < 8000, "back after %lld ms (%s)", (long long)back, tern_errmsg());
    tern_pool_stats st;
    tern_redis_pool_stats(p, &st);
    CHECK(st.reconnects > 0 && st.errors > 0, "reconnects %llu errors %llu",
          (unsigned long long)st.reconnects, (unsigned long long)st.errors);
    tern_redis_pool_free(p);
    return NULL;
}

Test(redis_pool, killed_server_fails_fast_and_restart_recovers)
{
    run(kill_main);
}

static void *freeze_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(be.url, 2, 300);
    if (!p)
        return NULL;
    CHECK(wait_ready(p, 3000), "never ready");
    CHECK(backend_signal(&be, SIGSTOP) == 0, "SIGSTOP");
    tern_redis_reply *r;
    uint64_t t0 = wall_ms();
    int rc = tern_redis_cmd(p, &r, "GET probe");
    uint64_t spent = wall_ms() - t0;
    CHECK(rc == TERN_ETIMEDOUT && spent >= 250 && spent < 1000, "frozen: %d after %llu ms", rc,
          (unsigned long long)spent);
    /* later commands time out, or fail at once once the connections were replaced and
     * the new ones cannot finish their handshake; none waits longer than the timeout */
    for (int i = 0; i < 6; i++) {
        t0 = wall_ms();
        rc = tern_redis_cmd(p, &r, "GET probe");
        spent = wall_ms() - t0;
        CHECK(rc == TERN_ETIMEDOUT || rc == TERN_EUNAVAILABLE, "frozen %d: %d", i, rc);
        CHECK(spent < 1000, "frozen %d: waited %llu ms", i, (unsigned long long)spent);
    }
    CHECK(backend_signal(&be, SIGCONT) == 0, "SIGCONT");
    int64_t back = until_ok(p, 10000);
    CHECK(back >= 0 && back < 8000, "back after %lld ms (%s)", (long long)back, tern_errmsg());
    tern_pool_stats st;
    tern_redis_pool_stats(p, &st);
    CHECK(st.timeouts >= 1, "timeouts %llu", (unsigned long long)st.timeouts);
    tern_redis_pool_free(p);
    return NULL;
}

Test(redis_pool, frozen_server_times_out_and_thawed_recovers)
{
    run(freeze_main);
}

/* ---- closing the pool ---- */

static int closed_rc = 1;
static uint64_t closed_spent;
static char closed_msg[256];

static void *waiter_task(void *arg)
{
    tern_redis_pool *p = arg;
    tern_redis_reply *r;
    uint64_t t0 = wall_ms();
    closed_rc = tern_redis_cmd(p, &r, "BLPOP nothing-here 3");
    closed_spent = wall_ms() - t0;
    snprintf(closed_msg, sizeof closed_msg, "%s", tern_errmsg());
    return NULL;
}

static void *free_main(void *arg)
{
    (void)arg;
    tern_redis_pool *p = open_pool(be.url, 2, 5000);
    if (!p)
        return NULL;
    CHECK(wait_ready(p, 3000), "never ready");
    tern_task *t = tern_spawn(waiter_task, p);
    tern_sleep(100);
    tern_redis_pool_free(p); /* the waiter gets TERN_ECANCELED; memory goes with the handles */
    tern_task_join(t, NULL);
    CHECK(closed_rc == TERN_ECANCELED && closed_spent < 500, "waiter: %d after %llu ms (%s)",
          closed_rc, (unsigned long long)closed_spent, closed_msg);
    CHECK(strstr(closed_msg, "pool closed"), "errmsg: %s", closed_msg);

    /* a pool freed before its first connect completes is fine too */
    p = open_pool(be.url, 3, 1000);
    tern_redis_pool_free(p);
    return NULL;
}

Test(redis_pool, free_cancels_pending_commands)
{
    run(free_main);
}

/* ---- no server needed ---- */

TestSuite(redis_pool_offline, .timeout = 30);

static void *urls_main(void *arg)
{
    (void)arg;
    static const char *const bad[] = {
        "",
        "http://127.0.0.1:6379",
        "redis://localhost:6379",
        "redis://127.0.0.1:0",
        "redis://127.0.0.1:70000",
        "redis://127.0.0.1:6379/x",
        "redis://127.0.0.1:6379/-1",
        "redis://secret@127.0.0.1",
        "redis://[::1",
        "redis://127.0.0.1:6379?db=1",
        "rediss://127.0.0.1",
        "redis://:@127.0.0.1",
        "redis://:%zz@127.0.0.1",
        "redis://:6379",
        "redis://127.0.0.1:",
        "redis://999.0.0.1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tern_redis_opts o = {.url = bad[i]};
        tern_redis_pool *p = (tern_redis_pool *)&o;
        tern_set_errmsg("%s", "");
        int rc = tern_redis_pool_new(&o, &p);
        CHECK(rc == -EINVAL && p == NULL, "%s: accepted (%d)", bad[i], rc);
        CHECK(strlen(tern_errmsg()) > 10 && strstr(tern_errmsg(), "redis"), "%s: errmsg '%s'",
              bad[i], tern_errmsg());
    }
    tern_redis_opts o = {.url = "redis://:topsecret@127.0.0.1:1:2"};
    tern_redis_pool *p;
    CHECK(tern_redis_pool_new(&o, &p) == -EINVAL && !strstr(tern_errmsg(), "topsecret"),
          "a bad URL's message shows the password: %s", tern_errmsg());
    o = (tern_redis_opts){.url = "redis://127.0.0.1:6379", .pool_size = -1};
    CHECK(tern_redis_pool_new(&o, &p) == -EINVAL, "negative pool_size accepted");
    o = (tern_redis_opts){.url = "redis://127.0.0.1:6379", .timeout_ms = -5};
    CHECK(tern_redis_pool_new(&o, &p) == -EINVAL, "negative timeout accepted");

    static const char *const good[] = {
        "redis://127.0.0.1",
        "redis://127.0.0.1:1/",
        "redis://[::1]:1/2",
        "redis://:p%40ss@127.0.0.1:1/0",
        "redis://user:pa:ss@127.0.0.1:1/15",
        "REDIS://127.0.0.1:1",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        o = (tern_redis_opts){.url = good[i], .pool_size = 1};
        p = NULL;
        int rc = tern_redis_pool_new(&o, &p);
        CHECK(rc == 0 && p, "%s: rejected (%d: %s)", good[i], rc, tern_errmsg());
        tern_redis_pool_free(p);
    }
    return NULL;
}

Test(redis_pool_offline, bad_urls_are_rejected)
{
    tern_redis_opts o = {.url = "redis://127.0.0.1:6379"};
    tern_redis_pool *p;
    cr_assert_eq(tern_redis_pool_new(&o, &p), -EINVAL, "accepted without a scheduler");
    cr_assert(strstr(tern_errmsg(), "scheduler"), "%s", tern_errmsg());
    run(urls_main);
}

Test(redis_pool_offline, reply_json_views)
{
    tern_redis_reply s1 = {.type = TERN_REDIS_STRING, .str = "name", .len = 4};
    tern_redis_reply v1 = {.type = TERN_REDIS_STRING, .str = "tern", .len = 4};
    tern_redis_reply s2 = {.type = TERN_REDIS_STATUS, .str = "n", .len = 1};
    tern_redis_reply v2 = {.type = TERN_REDIS_INTEGER, .integer = -7};
    tern_redis_reply nil = {.type = TERN_REDIS_NIL};
    tern_redis_reply *inner_items[] = {&v1, &nil};
    tern_redis_reply inner = {.type = TERN_REDIS_ARRAY, .elements = 2, .element = inner_items};
    tern_redis_reply *items[] = {&s1, &v1, &s2, &v2, &s1, &inner};
    tern_redis_reply arr = {.type = TERN_REDIS_ARRAY, .elements = 4, .element = items};

    json_t *o = tern_redis_reply_object(&arr);
    char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    cr_expect_str_eq(s, "{\"n\":-7,\"name\":\"tern\"}");
    free(s);
    json_decref(o);

    arr.elements = 6; /* nested arrays keep their shape; later fields win */
    o = tern_redis_reply_object(&arr);
    s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    cr_expect_str_eq(s, "{\"n\":-7,\"name\":[\"tern\",null]}");
    free(s);
    json_decref(o);

    json_t *a = tern_redis_reply_json(&arr);
    s = json_dumps(a, JSON_COMPACT);
    cr_expect_str_eq(s, "[\"name\",\"tern\",\"n\",-7,\"name\",[\"tern\",null]]");
    free(s);
    json_decref(a);

    arr.elements = 3; /* odd length, or a non-string field name: not an object */
    cr_expect_null(tern_redis_reply_object(&arr));
    tern_redis_reply *num_key[] = {&v2, &v1};
    tern_redis_reply nk = {.type = TERN_REDIS_ARRAY, .elements = 2, .element = num_key};
    cr_expect_null(tern_redis_reply_object(&nk));
    cr_expect_null(tern_redis_reply_object(&v1));
    tern_redis_reply empty = {.type = TERN_REDIS_ARRAY};
    o = tern_redis_reply_object(&empty);
    cr_expect(json_is_object(o) && json_object_size(o) == 0, "empty array: empty object");
    json_decref(o);

    tern_redis_reply err = {.type = TERN_REDIS_ERROR, .str = "ERR nope", .len = 8};
    o = tern_redis_reply_json(&err);
    s = json_dumps(o, JSON_COMPACT);
    cr_expect_str_eq(s, "{\"error\":\"ERR nope\"}");
    free(s);
    json_decref(o);

    tern_redis_reply bad = {.type = TERN_REDIS_STRING, .str = "a\xc3(\xed\xa0\x80z", .len = 7};
    json_t *j = tern_redis_reply_json(&bad);
    cr_expect_str_eq(json_string_value(j), "a\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz",
                     "invalid UTF-8 becomes U+FFFD per bad byte");
    json_decref(j);
    cr_expect_null(tern_redis_reply_json(NULL));
}

Test(redis_pool_offline, commands_need_a_coroutine)
{
    tern_redis_reply *r = (tern_redis_reply *)&r;
    cr_expect_eq(tern_redis_cmd(NULL, &r, "PING"), -EINVAL);
    cr_expect_null(r, "the reply is cleared on failure");
    cr_expect(strstr(tern_errmsg(), "coroutine"), "%s", tern_errmsg());
}
