/* tests/integration/test_shutdown.c - SIGTERM drains: requests in flight finish with
 * 200, new connections are refused, the process exits 0. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "service.h"

typedef struct job {
    const svc *s;
    const char *path;
    long status;
} job;

static void *do_get(void *arg)
{
    job *j = arg;
    http_resp r;
    http_request(j->s, "GET", j->path, NULL, NULL, 20, &r);
    j->status = r.status;
    http_resp_free(&r);
    return NULL;
}

Test(shutdown, sigterm_drains_requests_in_flight, .timeout = 60)
{
    svc s;
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
    enum { N = 20 };
    pthread_t th[N];
    job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (job){&s, "/sleep?ms=1500", 0};
        pthread_create(&th[i], NULL, do_get, &jobs[i]);
    }
    usleep(400000); /* all 20 are sleeping in the server now */
    pid_t pid = s.pid;
    kill(pid, SIGTERM);
    usleep(200000);
    /* the listener is closed: a new request is refused */
    http_resp r;
    int rc = http_request(&s, "GET", "/", NULL, NULL, 2, &r);
    cr_expect_neq(rc, 0, "a new connection was accepted while draining");
    http_resp_free(&r);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += jobs[i].status == 200;
    cr_expect_eq(ok, N, "%d of %d in-flight requests answered 200", ok, N);
    cr_expect_eq(svc_stop(&s, 0, 10), 0, "did not exit 0 after draining");
}

Test(shutdown, drain_timeout_bounds_the_wait, .timeout = 60)
{
    svc s;
    const char *args[] = {"--access_log", "off", "--drain_timeout_ms", "500", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
    job j = {&s, "/sleep?ms=5000", 0};
    pthread_t th;
    pthread_create(&th, NULL, do_get, &j);
    usleep(300000);
    kill(s.pid, SIGTERM);
    int st = svc_stop(&s, 0, 3);
    cr_expect_eq(st, 0, "exit status %d: the drain timeout did not end the wait", st);
    pthread_join(th, NULL);
    cr_expect_neq(j.status, 200, "a 5 s sleep cannot have finished");
}
