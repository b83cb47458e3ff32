/* tests/integration/test_stack_overflow.c - a handler that overflows its coroutine
 * stack is named in the log (route and coroutine.stack_bytes) and the process stops
 * with the fault's own status; a fault that is not an overflow keeps the default crash
 * with no such line. Runs tests/support/test_app.c (GET /deep?depth=N, GET /segv).
 *
 * Under AddressSanitizer, ASan's handler follows tern's line with its own report and
 * exits non-zero instead of dying by SIGSEGV; the tests accept that there. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asan.h"
#include "service.h"

TestSuite(stack_overflow, .timeout = 60);

static void start(svc *s, const char *stack_bytes)
{
    const char *args[] = {"--access_log", "off", "--workers", "2", "--coroutine.stack_bytes",
                          stack_bytes, NULL};
    cr_assert_eq(svc_start(s, getenv("TERN_TEST_APP_BIN"), args, NULL, "/stats"), 0);
}

/* Waits up to 10 s for the server to die by itself; its raw wait status. The log is
 * not printed: under ASan it holds the intended crash report. */
static int wait_dead(svc *s)
{
    int st = 0;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return st;
        }
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    cr_assert_fail("the server did not stop after the fault");
    return st;
}

static char *read_log(const svc *s)
{
    FILE *f = fopen(s->log_path, "r");
    cr_assert_not_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void expect_fault_status(int st)
{
#ifdef TERN_ASAN
    cr_expect(WIFEXITED(st) ? WEXITSTATUS(st) != 0 : WIFSIGNALED(st), "status %#x", st);
#else
    cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %#x, want death by SIGSEGV", st);
#endif
}

Test(stack_overflow, names_the_route_and_the_setting)
{
    svc s;
    start(&s, "32k");
    http_resp r;
    /* A shallow call works: the route itself is fine. */
    cr_assert_eq(http_get(&s, "/deep?depth=5", &r), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "{\"depth\":5}");
    http_resp_free(&r);

    /* 1 KiB a level: far past 32 KiB (and past ASan's 4x larger stacks). */
    int rc = http_request(&s, "GET", "/deep?depth=100000", NULL, NULL, 10, &r);
    cr_expect(rc != 0 || r.curl_code != 0, "got an answer (%ld) from an overflowing handler",
              r.status);
    if (rc == 0)
        http_resp_free(&r);
    expect_fault_status(wait_dead(&s));

    const char *log = read_log(&s);
    const char *want = "tern: stack overflow in route GET /deep: its coroutine stack "
                       "(coroutine.stack_bytes = 32768) is too small; raise "
                       "coroutine.stack_bytes (TERN_COROUTINE_STACK_BYTES, "
                       "--coroutine.stack_bytes) or move large buffers off the stack. "
                       "The process stops.\n";
    const char *at = strstr(log, want);
    cr_expect_not_null(at, "no overflow line in the log:\n%s", log);
    if (at)
        cr_expect_null(strstr(at + 1, "tern: stack overflow"), "reported twice:\n%s", log);
}

Test(stack_overflow, other_faults_keep_the_default_crash)
{
    svc s;
    start(&s, "64k");
    http_resp r;
    int rc = http_get(&s, "/segv", &r);
    if (rc == 0)
        http_resp_free(&r);
    expect_fault_status(wait_dead(&s));
    const char *log = read_log(&s);
    cr_expect_null(strstr(log, "stack overflow"), "a NULL write reported as an overflow:\n%s",
                   log);
#ifdef TERN_ASAN
    cr_expect_not_null(strstr(log, "SEGV on unknown address"), "ASan's own report is missing:\n%s",
                       log);
#endif
}
