/* examples/test_examples.c - runs every example as a subprocess and checks its output,
 * including the timing claims (concurrent waits take about as long as one).
 *
 * meson gives each example binary's path as $EXAMPLE_<name> and runs one Criterion test
 * per example (--filter examples/ex<name>). Examples that need Redis or MariaDB get
 * private servers from tests/support/backends.h; the crawler and the blocking fetch talk
 * to a tern-service started with tests/support/service.h. Timing bounds leave room for
 * a loaded machine but still tell "concurrent" from "one after the other". */
#include <criterion/criterion.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends.h"
#include "service.h"

TestSuite(examples, .timeout = 150);

/* What one run of an example printed (stdout and stderr together) and how long it took. */
typedef struct run_out {
    char text[64 * 1024];
    int exit_code; /* -1 when killed by a signal or not started */
    double secs;
} run_out;

static run_out out;

/* Runs $EXAMPLE_<name> with args (NULL-terminated, may be NULL); kills it after 60 s. */
static void run_example(const char *name, const char *const *args)
{
    char var[128];
    snprintf(var, sizeof var, "EXAMPLE_%s", name);
    const char *bin = getenv(var);
    cr_assert(bin, "$%s is not set (run through meson test)", var);
    const char *argv[16] = {bin};
    for (int i = 0; args && args[i] && i < 14; i++)
        argv[i + 1] = args[i];

    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    memset(&out, 0, sizeof out);
    out.exit_code = -1;
    double t0 = svc_now();
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork");
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, 1000) == 0) {
            if (svc_now() - t0 > 60) {
                kill(pid, SIGKILL);
                break;
            }
            continue;
        }
        ssize_t n = read(fds[0], out.text + len, sizeof out.text - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    out.secs = svc_now() - t0;
    out.text[len] = '\0';
    if (WIFEXITED(status))
        out.exit_code = WEXITSTATUS(status);
    cr_log_info("%s took %.2f s, exit %d, output:\n%s", name, out.secs, out.exit_code, out.text);
}

static void expect_ok(void)
{
    cr_expect_eq(out.exit_code, 0, "exit code %d; output:\n%s", out.exit_code, out.text);
}

/* The lines must appear in this order (other lines may come between them). */
static void expect_lines_in_order(const char *const *lines)
{
    const char *at = out.text;
    for (int i = 0; lines[i]; i++) {
        char want[512];
        snprintf(want, sizeof want, "%s\n", lines[i]);
        const char *hit = at;
        /* a whole line: at the start of the output or right after a newline */
        while ((hit = strstr(hit, want)) && hit != out.text && hit[-1] != '\n')
            hit++;
        cr_assert(hit, "line %d \"%s\" missing or out of order in:\n%s", i, lines[i], out.text);
        at = hit + strlen(want);
    }
}

static void expect_exact(const char *text)
{
    cr_expect_str_eq(out.text, text, "output:\n%s\nwanted:\n%s", out.text, text);
}

Test(examples, ex01_take_turns)
{
    run_example("01_take_turns", NULL);
    expect_ok();
    expect_exact("1\n3\n2\n4\n");
}

Test(examples, ex02_generator)
{
    run_example("02_generator", NULL);
    expect_ok();
    expect_exact("1\n3\n4\n2\n");
}

Test(examples, ex03_concurrent_downloads)
{
    run_example("03_concurrent_downloads", NULL);
    expect_ok();
    expect_lines_in_order((const char *const[]){"start download 1", "start download 2",
                                                "done download 1", "done download 2", NULL});
    /* both 2 s downloads overlap: about 2 s in all, not 4 */
    cr_expect(out.secs >= 1.9 && out.secs < 3.0, "took %.2f s", out.secs);
    cr_expect(strstr(out.text, "both downloads finished in 2.0 s\n") ||
                  strstr(out.text, "both downloads finished in 2.1 s\n"),
              "reported time:\n%s", out.text);
}

Test(examples, ex04_await_chain)
{
    run_example("04_await_chain", NULL);
    expect_ok();
    expect_exact("executing the coroutine's code\n"
                 "start\nend\nIO request ended, result: return value\n"
                 "start\nend\nIO request ended, result: return value\n");
    /* awaits in a row run one after the other: 2 x 1 s */
    cr_expect(out.secs >= 1.9 && out.secs < 3.0, "took %.2f s", out.secs);
}

Test(examples, ex05_tasks_wait)
{
    run_example("05_tasks_wait", NULL);
    expect_ok();
    expect_lines_in_order((const char *const[]){
        "main: start", "main: tasks created", "task1: start", "task2: start", "task1: end",
        "task2: end", "main: results: return value, return value", "fast: start",
        "slow: start", "fast: end", "wait: 1 done", "  fast: done", "  slow: pending",
        "slow: cancelled", NULL});
    cr_expect(!strstr(out.text, "slow: end"), "the slow task finished:\n%s", out.text);
    /* 0.5 s for the pair (concurrent, not 1 s) + the 1 s wait timeout; not the slow 5 s */
    cr_expect(out.secs >= 1.4 && out.secs < 2.5, "took %.2f s", out.secs);
}

Test(examples, ex06_future)
{
    run_example("06_future", NULL);
    expect_ok();
    expect_exact("main: awaiting the future\nsetter: setting the result\nmain: got 666\n");
    cr_expect(out.secs >= 0.95 && out.secs < 2.0, "took %.2f s", out.secs);
}

/* How many times 07 says its loop ticked while the blocking call ran (-1: no such line). */
static int ticks_reported(void)
{
    const char *p = strstr(out.text, "the loop ticked ");
    return p ? atoi(p + strlen("the loop ticked ")) : -1;
}

Test(examples, ex07_blocking)
{
    run_example("07_blocking", NULL);
    expect_ok();
    expect_lines_in_order((const char *const[]){"blocking call returned: slept 1 s", NULL});
    /* a 1 s blocking sleep with a 100 ms ticker: ~9 ticks if the loop kept going, 0 if
     * the sleep had blocked it */
    int ticks = ticks_reported();
    cr_expect(ticks >= 6 && ticks <= 11, "ticks %d:\n%s", ticks, out.text);
    cr_expect(out.secs >= 0.95 && out.secs < 2.0, "took %.2f s", out.secs);

    /* the libcurl easy variant: a blocking fetch of a slow local URL */
    svc s;
    cr_assert_eq(svc_start(&s, NULL, NULL, NULL, NULL), 0, "tern-service did not start");
    char url[128];
    snprintf(url, sizeof url, "%s/sleep?ms=1000", s.base);
    run_example("07_blocking", (const char *const[]){url, NULL});
    svc_stop(&s, SIGTERM, 10);
    expect_ok();
    expect_lines_in_order((const char *const[]){"blocking fetch: status 200, 17 bytes", NULL});
    ticks = ticks_reported();
    cr_expect(ticks >= 6 && ticks <= 11, "ticks %d:\n%s", ticks, out.text);
}

/* "reader: 1 2 ... 99" */
static void expect_reader(void)
{
    char want[512] = "reader:";
    for (int i = 1; i <= 99; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), " %d", i);
    expect_lines_in_order((const char *const[]){want, "reader sum: 4950", NULL});
}

Test(examples, ex08_async_iter)
{
    run_example("08_async_iter", NULL);
    expect_ok();
    expect_reader();
    cr_expect(!strstr(out.text, "cursor"), "cursor without a URL:\n%s", out.text);

    backend db;
    cr_assert_eq(backend_mariadb_start(&db), 0, "mariadbd did not start");
    run_example("08_async_iter", (const char *const[]){db.url, NULL});
    backend_stop(&db);
    expect_ok();
    expect_reader();
    expect_lines_in_order(
        (const char *const[]){"cursor: 1 2 3 4 5 6 7 8 9 10", "cursor rows: 10", NULL});
}

Test(examples, ex09_context_manager)
{
    run_example("09_context_manager", NULL);
    cr_expect_eq(out.exit_code, 2, "no URL: usage and exit 2, got %d", out.exit_code);

    backend db;
    cr_assert_eq(backend_mariadb_start(&db), 0, "mariadbd did not start");
    run_example("09_context_manager", (const char *const[]){db.url, NULL});
    backend_stop(&db);
    expect_ok();
    /* released on the success path and on the error path */
    expect_lines_in_order((const char *const[]){
        "good: enter, connections in use: 1", "result: 666",
        "good: exit (ok), connections in use: 0", "bad: enter, connections in use: 1",
        "block failed as expected", "bad: exit (error), connections in use: 0",
        "after both blocks, connections in use: 0", NULL});
}

Test(examples, ex10_redis)
{
    backend r1, r2;
    cr_assert_eq(backend_redis_start(&r1), 0, "redis-server 1 did not start");
    if (backend_redis_start(&r2) != 0) {
        backend_stop(&r1);
        cr_assert_fail("redis-server 2 did not start");
    }
    run_example("10_redis", (const char *const[]){r1.url, r2.url, NULL});
    backend_stop(&r1);
    backend_stop(&r2);
    expect_ok();
    expect_exact("one server: {\"key1\":\"1\",\"key2\":\"2\",\"key3\":\"3\"}\n"
                 "server 1: {\"key1\":\"1\",\"key2\":\"2\",\"key3\":\"3\"}\n"
                 "server 2: {\"key1\":\"1\",\"key2\":\"2\",\"key3\":\"3\"}\n");

    /* and it fails (exit 1) when a server is down: r2 is stopped now */
    run_example("10_redis", (const char *const[]){r2.url, NULL});
    cr_expect_eq(out.exit_code, 1, "against a stopped server: exit %d", out.exit_code);
}

Test(examples, ex11_mysql)
{
    backend m1, m2;
    cr_assert_eq(backend_mariadb_start(&m1), 0, "mariadbd 1 did not start");
    if (backend_mariadb_start(&m2) != 0) {
        backend_stop(&m1);
        cr_assert_fail("mariadbd 2 did not start");
    }
    run_example("11_mysql", (const char *const[]){m1.url, m2.url, NULL});
    backend_stop(&m1);
    backend_stop(&m2);
    expect_ok();
    /* benchmarkdbuser may not read mysql.user; then the world fallback answers */
    const char *prefixes[] = {"one server (", "server 1 (", "server 2 (", NULL};
    for (int i = 0; prefixes[i]; i++) {
        const char *line = strstr(out.text, prefixes[i]);
        cr_assert(line, "no \"%s\" line:\n%s", prefixes[i], out.text);
        const char *end = strchr(line, '\n');
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)(end ? end - line : (long)strlen(line)), line);
        bool world = strstr(buf, "(world): [{\"id\":1},{\"id\":2},{\"id\":3}]") != NULL;
        bool user = strstr(buf, "(mysql.user): [{") && strstr(buf, "\"User\":");
        cr_expect(world || user, "unexpected line: %s", buf);
    }
}

Test(examples, ex12_fastapi)
{
    backend r;
    cr_assert_eq(backend_redis_start(&r), 0, "redis-server did not start");
    char env[300];
    snprintf(env, sizeof env, "TERN_REDIS_URL=%s", r.url);
    svc s;
    const char *bin = getenv("EXAMPLE_12_fastapi");
    cr_assert(bin);
    if (svc_start(&s, bin, NULL, (const char *const[]){env, "TERN_WORKERS=2", NULL}, "/") != 0) {
        backend_stop(&r);
        cr_assert_fail("12_fastapi did not start");
    }
    http_resp a = {0}, b = {0}, c = {0};
    int rc_a = http_get(&s, "/", &a);
    int rc_b = http_get(&s, "/red", &b);
    int rc_c = http_get(&s, "/nope", &c);
    int stopped = svc_stop(&s, SIGTERM, 10);
    backend_stop(&r);
    cr_expect(rc_a == 0 && a.status == 200, "GET /: rc %d status %ld", rc_a, a.status);
    cr_expect_str_eq(a.body ? a.body : "", "{\"message\":\"Hello World\"}");
    cr_expect(rc_b == 0 && b.status == 200, "GET /red: rc %d status %ld", rc_b, b.status);
    cr_expect_str_eq(b.body ? b.body : "", "{\"key1\":\"1\",\"key2\":\"2\",\"key3\":\"3\"}");
    cr_expect(rc_c == 0 && c.status == 404, "GET /nope: status %ld", c.status);
    cr_expect_eq(stopped, 0, "clean shutdown on SIGTERM: %d", stopped);
    http_resp_free(&a);
    http_resp_free(&b);
    http_resp_free(&c);
}

Test(examples, ex13_crawler)
{
    svc s;
    cr_assert_eq(svc_start(&s, NULL, NULL, NULL, NULL), 0, "tern-service did not start");
    char u1[128], u2[128], u3[128], u4[128];
    snprintf(u1, sizeof u1, "%s/sleep?ms=1000", s.base);
    snprintf(u2, sizeof u2, "%s/json", s.base);
    snprintf(u3, sizeof u3, "%s/sleep?ms=1000", s.base);
    snprintf(u4, sizeof u4, "%s/plaintext", s.base);
    run_example("13_crawler", (const char *const[]){u1, u2, u3, u4, NULL});
    svc_stop(&s, SIGTERM, 10);
    expect_ok();
    char l1[256], l2[256], l3[256], l4[256];
    snprintf(l1, sizeof l1, "%s: status 200, 17 bytes", u1); /* {"slept_ms":1000} */
    snprintf(l2, sizeof l2, "%s: status 200, 27 bytes", u2); /* {"message":"Hello, World!"} */
    snprintf(l3, sizeof l3, "%s: status 200, 17 bytes", u3);
    snprintf(l4, sizeof l4, "%s: status 200, 13 bytes", u4); /* Hello, World! */
    expect_lines_in_order((const char *const[]){l1, l2, l3, l4, NULL});
    /* two 1 s fetches overlap: about 1 s in all, not 2 */
    cr_expect(out.secs >= 0.95 && out.secs < 1.8, "took %.2f s", out.secs);

    /* a refused connection is reported, and the exit code says so */
    int port = svc_free_port();
    snprintf(u1, sizeof u1, "http://127.0.0.1:%d/", port);
    run_example("13_crawler", (const char *const[]){u1, NULL});
    cr_expect_eq(out.exit_code, 1, "refused URL: exit %d", out.exit_code);
}
