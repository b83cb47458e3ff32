/* tests/integration/test_http_client.c - the outbound HTTP client (tern_http_fetch)
 * inside tern_loop_run, against small HTTP/1.1 servers on loopback in this process's
 * own threads (a fast one and one that waits 2 s before answering; both count the
 * connections they accept), a port nobody listens on, and tern-service over TLS for
 * HTTP/2.
 *
 * Criterion's asserts unwind with longjmp, which must not cross a coroutine switch:
 * coroutines record what they see in globals and the test asserts after
 * tern_loop_run returns. Each test runs in its own process. Timing bounds are wide:
 * the suite runs on shared 2-core machines. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tern/error.h"
#include "tern/http_client.h"
#include "tern/task.h"
#include "pool/http.h"
#include "asan.h"
#include "scheduler.h"
#include "service.h"

#ifdef TERN_ASAN
#include <sanitizer/lsan_interface.h>
#endif

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- a tiny threaded HTTP/1.1 server ----------------------------------------------
 *
 * Keep-alive, one thread per connection. Routes:
 *   /echo          "method=M x-test=V content-type=T\n" followed by the request body
 *   /missing       404 "no such thing"
 *   /big/N         N bytes of 'x' with a Content-Length
 *   /chunked/N     N bytes of 'x', chunked (no length known up front)
 *   anything else  200 application/json {"path":"..."}
 * Every answer waits delay_ms first. */

#define MAX_CONNS 128

typedef struct tsrv {
    int fd;
    int port;
    unsigned delay_ms;
    atomic_int accepts;
    atomic_int requests;
    atomic_bool stop;
    pthread_t acceptor;
    pthread_mutex_t lock;
    int conn_fd[MAX_CONNS]; /* -1 once its thread closed it */
    pthread_t conn_thread[MAX_CONNS];
    int nconns;
} tsrv;

typedef struct conn_arg {
    tsrv *s;
    int slot;
} conn_arg;

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* The value of header name in the head block (case-insensitive), "" when absent. */
static void header_value(const char *head, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            h += nl + 1;
            while (*h == ' ')
                h++;
            size_t len = strcspn(h, "\r\n");
            snprintf(out, n, "%.*s", (int)len, h);
            return;
        }
    }
}

static bool send_xs(int fd, size_t n)
{
    static char xs[16384];
    if (!xs[0])
        memset(xs, 'x', sizeof xs);
    while (n) {
        size_t k = n < sizeof xs ? n : sizeof xs;
        if (!send_all(fd, xs, k))
            return false;
        n -= k;
    }
    return true;
}

static bool respond(int fd, const char *method, const char *path, const char *head,
                    const char *body, size_t body_len)
{
    char hdr[512], out[2048];
    if (strcmp(path, "/echo") == 0) {
        char xt[128], ct[128];
        header_value(head, "X-Test", xt, sizeof xt);
        header_value(head, "Content-Type", ct, sizeof ct);
        int n = snprintf(out, sizeof out, "method=%s x-test=%s content-type=%s\n%.*s", method, xt,
                         ct, (int)body_len, body);
        int h = snprintf(
            hdr, sizeof hdr,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n);
        return send_all(fd, hdr, (size_t)h) && send_all(fd, out, (size_t)n);
    }
    if (strcmp(path, "/missing") == 0) {
        const char *msg = "no such thing";
        int h = snprintf(hdr, sizeof hdr,
                         "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         strlen(msg));
        return send_all(fd, hdr, (size_t)h) && send_all(fd, msg, strlen(msg));
    }
    if (strncmp(path, "/big/", 5) == 0) {
        size_t n = strtoul(path + 5, NULL, 10);
        int h = snprintf(hdr, sizeof hdr,
                         "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         n);
        return send_all(fd, hdr, (size_t)h) && send_xs(fd, n);
    }
    if (strncmp(path, "/chunked/", 9) == 0) {
        size_t n = strtoul(path + 9, NULL, 10);
        int h = snprintf(hdr, sizeof hdr,
                         "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n");
        if (!send_all(fd, hdr, (size_t)h))
            return false;
        while (n) {
            size_t k = n < 1000 ? n : 1000;
            h = snprintf(hdr, sizeof hdr, "%zx\r\n", k);
            if (!send_all(fd, hdr, (size_t)h) || !send_xs(fd, k) || !send_all(fd, "\r\n", 2))
                return false;
            n -= k;
        }
        return send_all(fd, "0\r\n\r\n", 5);
    }
    int n = snprintf(out, sizeof out, "{\"path\":\"%s\"}", path);
    int h = snprintf(
        hdr, sizeof hdr,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", n);
    return send_all(fd, hdr, (size_t)h) && send_all(fd, out, (size_t)n);
}

static void *serve_conn(void *arg)
{
    conn_arg *ca = arg;
    tsrv *s = ca->s;
    int slot = ca->slot;
    free(ca);
    pthread_mutex_lock(&s->lock);
    int fd = s->conn_fd[slot];
    pthread_mutex_unlock(&s->lock);
    char buf[1 << 16];
    size_t have = 0;
    for (;;) {
        char *end;
        while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
            if (have >= sizeof buf - 1)
                goto out;
            ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
            if (n <= 0)
                goto out;
            have += (size_t)n;
        }
        size_t head_len = (size_t)(end + 4 - buf);
        char head[4096];
        snprintf(head, sizeof head, "%.*s", (int)head_len, buf);
        char method[16] = "", path[512] = "", clen[32];
        if (sscanf(head, "%15s %511s", method, path) != 2)
            goto out;
        header_value(head, "Content-Length", clen, sizeof clen);
        size_t body_len = strtoul(clen, NULL, 10);
        if (head_len + body_len > sizeof buf - 1)
            goto out;
        while (have < head_len + body_len) {
            ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
            if (n <= 0)
                goto out;
            have += (size_t)n;
        }
        atomic_fetch_add(&s->requests, 1);
        for (unsigned waited = 0; waited < s->delay_ms && !atomic_load(&s->stop); waited += 10)
            usleep(10000);
        if (!respond(fd, method, path, head, buf + head_len, body_len))
            goto out;
        size_t used = head_len + body_len;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
out:
    pthread_mutex_lock(&s->lock);
    close(fd);
    s->conn_fd[slot] = -1;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void *accept_loop(void *arg)
{
    tsrv *s = arg;
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR && !atomic_load(&s->stop))
                continue;
            return NULL; /* shutdown() by tsrv_stop */
        }
        atomic_fetch_add(&s->accepts, 1);
        pthread_mutex_lock(&s->lock);
        if (s->nconns == MAX_CONNS) {
            pthread_mutex_unlock(&s->lock);
            close(fd);
            continue;
        }
        int slot = s->nconns++;
        s->conn_fd[slot] = fd;
        conn_arg *ca = malloc(sizeof(*ca));
        ca->s = s;
        ca->slot = slot;
        pthread_create(&s->conn_thread[slot], NULL, serve_conn, ca);
        pthread_mutex_unlock(&s->lock);
    }
}

static void tsrv_start(tsrv *s, unsigned delay_ms)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->delay_ms = delay_ms;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(s->fd, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(s->fd, 128), 0);
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->acceptor, NULL, accept_loop, s), 0);
}

static void tsrv_stop(tsrv *s)
{
    atomic_store(&s->stop, true);
    shutdown(s->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(s->acceptor, NULL);
    close(s->fd);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->nconns; i++)
        if (s->conn_fd[i] >= 0)
            shutdown(s->conn_fd[i], SHUT_RDWR); /* wakes recv() */
    int n = s->nconns;
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < n; i++)
        pthread_join(s->conn_thread[i], NULL);
    pthread_mutex_destroy(&s->lock);
}

/* Closes every connection the server holds (as a server's idle timeout would). */
static void tsrv_drop_conns(tsrv *s)
{
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->nconns; i++)
        if (s->conn_fd[i] >= 0)
            shutdown(s->conn_fd[i], SHUT_RDWR);
    pthread_mutex_unlock(&s->lock);
    usleep(100 * 1000); /* let the FIN reach the client's socket */
}

static tsrv fast, slow;

static void url_of(char *buf, size_t n, const tsrv *s, const char *path)
{
    snprintf(buf, n, "http://127.0.0.1:%d%s", s->port, path);
}

/* ---- fetch jobs run as tasks ------------------------------------------------------ */

static tern_http_client *client;

typedef struct job {
    char url[160];
    tern_http_opts opts;
    int rc;
    long status;
    int version;
    size_t body_len;
    bool body_all_x; /* every byte is 'x' (the /big and /chunked routes) */
    char body[256];
    char ctype[64];
    char err[256];
    uint64_t ms;
} job;

static void do_fetch(job *j)
{
    uint64_t t0 = wall_ms();
    tern_http_response r;
    j->rc = tern_http_fetch(client, j->url, &j->opts, &r);
    j->ms = wall_ms() - t0;
    if (j->rc == 0) {
        j->status = r.status;
        j->version = r.http_version;
        j->body_len = r.body_len;
        snprintf(j->body, sizeof j->body, "%s", r.body);
        snprintf(j->ctype, sizeof j->ctype, "%s", r.content_type ? r.content_type : "(none)");
        j->body_all_x = r.body[r.body_len] == '\0';
        for (size_t i = 0; i < r.body_len; i++)
            if (r.body[i] != 'x')
                j->body_all_x = false;
    } else {
        snprintf(j->err, sizeof j->err, "%s", tern_errmsg());
    }
}

static void *fetch_task(void *arg)
{
    do_fetch(arg);
    return NULL;
}

static int new_client_rc = 1;

static bool open_client(void)
{
    new_client_rc = tern_http_client_new(&client);
    return new_client_rc == 0;
}

/* Runs main_fn in a loop run. Under ASan the client must have freed everything by then
 * (sockets' poll records, easy handles, libcurl's global state): a leak fails the test
 * here, where LeakSanitizer's report at exit would only reach the log. Expects, not
 * asserts: a failure must not skip the test's cleanup (a started tern-service). */
static void run(tern_task_fn main_fn)
{
    int rc = tern_loop_run(main_fn, NULL, NULL);
    cr_expect_eq(rc, 0, "tern_loop_run: %d (%s)", rc, tern_errmsg());
    cr_expect_eq(new_client_rc, 0, "tern_http_client_new: %d", new_client_rc);
#ifdef TERN_ASAN
    cr_expect_eq(__lsan_do_recoverable_leak_check(), 0, "leaks after the loop run (see above)");
#endif
}

#define expect_ok(j, want_status)                                                                  \
    do {                                                                                           \
        cr_expect_eq((j)->rc, 0, "%s: rc %d (%s)", (j)->url, (j)->rc, (j)->err);                   \
        cr_expect_eq((j)->status, (want_status), "%s: status %ld", (j)->url, (j)->status);         \
    } while (0)

/* ---- concurrency: five fetches from five tasks overlap ---------------------------- */

static job conc[5];
static uint64_t conc_total;

static void *main_concurrent(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    tern_task *t[5];
    uint64_t t0 = wall_ms();
    for (int i = 0; i < 5; i++)
        t[i] = tern_spawn(fetch_task, &conc[i]);
    tern_gather(t, 5, NULL);
    conc_total = wall_ms() - t0;
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, five_concurrent_fetches_take_as_long_as_the_slowest, .timeout = 60)
{
    tsrv_start(&fast, 0);
    tsrv_start(&slow, 2000);
    const char *paths[5] = {"/s1", "/s2", "/s3", "/f1", "/f2"};
    for (int i = 0; i < 5; i++)
        url_of(conc[i].url, sizeof conc[i].url, i < 3 ? &slow : &fast, paths[i]);
    run(main_concurrent);
    tsrv_stop(&fast);
    tsrv_stop(&slow);
    for (int i = 0; i < 5; i++) {
        expect_ok(&conc[i], 200);
        char want[64];
        snprintf(want, sizeof want, "{\"path\":\"%s\"}", paths[i]);
        cr_expect_str_eq(conc[i].body, want);
        cr_expect_str_eq(conc[i].ctype, "application/json");
        cr_expect_eq(conc[i].version, 1);
    }
    /* three 2 s answers in sequence would take 6 s */
    cr_expect_geq(conc_total, 1900, "total %llu ms", (unsigned long long)conc_total);
    cr_expect_lt(conc_total, 4500, "total %llu ms: the fetches did not overlap",
                 (unsigned long long)conc_total);
    for (int i = 3; i < 5; i++)
        cr_expect_lt(conc[i].ms, 1500, "fast fetch %d waited %llu ms for the slow ones", i,
                     (unsigned long long)conc[i].ms);
    cr_expect_eq(atomic_load(&slow.accepts), 3, "slow server accepted %d connections",
                 atomic_load(&slow.accepts));
}

/* ---- request bodies, methods and headers ------------------------------------------ */

static job post_json, put_raw, del, bad_header, bad_method, bad_scheme;
static const char *json_headers[] = {"X-Test: abc", "Content-Type: application/json", NULL};
static const char *evil_headers[] = {"X-Test: a\r\nX-Injected: 1", NULL};

static void *main_methods(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    do_fetch(&post_json);
    do_fetch(&put_raw);
    do_fetch(&del);
    do_fetch(&bad_header);
    do_fetch(&bad_method);
    do_fetch(&bad_scheme);
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, post_sends_body_and_headers, .timeout = 60)
{
    tsrv_start(&fast, 0);
    url_of(post_json.url, sizeof post_json.url, &fast, "/echo");
    post_json.opts = (tern_http_opts){
        .method = "POST", .body = "{\"a\":1}", .body_len = 7, .headers = json_headers};
    url_of(put_raw.url, sizeof put_raw.url, &fast, "/echo");
    put_raw.opts = (tern_http_opts){.method = "PUT", .body = "raw bytes\0ignored", .body_len = 9};
    url_of(del.url, sizeof del.url, &fast, "/echo");
    del.opts = (tern_http_opts){.method = "DELETE"};
    url_of(bad_header.url, sizeof bad_header.url, &fast, "/echo");
    bad_header.opts = (tern_http_opts){.headers = evil_headers};
    url_of(bad_method.url, sizeof bad_method.url, &fast, "/echo");
    bad_method.opts = (tern_http_opts){.method = "GET / HTTP/1.1\r\nX:"};
    snprintf(bad_scheme.url, sizeof bad_scheme.url, "file:///etc/passwd");
    run(main_methods);
    tsrv_stop(&fast);

    expect_ok(&post_json, 200);
    cr_expect_str_eq(post_json.body,
                     "method=POST x-test=abc content-type=application/json\n{\"a\":1}");
    cr_expect_str_eq(post_json.ctype, "text/plain");
    /* no Content-Type given: none sent (not libcurl's form default) */
    expect_ok(&put_raw, 200);
    cr_expect_str_eq(put_raw.body, "method=PUT x-test= content-type=\nraw bytes");
    expect_ok(&del, 200);
    cr_expect_str_eq(del.body, "method=DELETE x-test= content-type=\n");
    cr_expect_eq(bad_header.rc, -EINVAL, "a header with CR LF: rc %d", bad_header.rc);
    cr_expect_eq(bad_method.rc, -EINVAL, "a method with spaces: rc %d", bad_method.rc);
    cr_expect_eq(bad_scheme.rc, -EINVAL, "file:// URL: rc %d (%s)", bad_scheme.rc, bad_scheme.err);
    cr_expect_eq(atomic_load(&fast.requests), 3, "the server saw %d requests",
                 atomic_load(&fast.requests));
}

/* ---- timeouts, the deadline, cancellation ------------------------------------------ */

static job slow_job, after_job;

static void *main_timeout(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    do_fetch(&slow_job);
    do_fetch(&after_job); /* the client still works */
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, timeout_ends_the_fetch, .timeout = 60)
{
    tsrv_start(&slow, 2000);
    tsrv_start(&fast, 0);
    url_of(slow_job.url, sizeof slow_job.url, &slow, "/slow");
    slow_job.opts.timeout_ms = 300;
    url_of(after_job.url, sizeof after_job.url, &fast, "/after");
    run(main_timeout);
    tsrv_stop(&slow);
    tsrv_stop(&fast);
    cr_expect_eq(slow_job.rc, TERN_ETIMEDOUT, "rc %d (%s)", slow_job.rc, slow_job.err);
    cr_expect_geq(slow_job.ms, 280, "gave up after %llu ms", (unsigned long long)slow_job.ms);
    /* well before the fetch's own 10 s timeout, with room for a loaded machine */
    cr_expect_lt(slow_job.ms, 3000, "gave up after %llu ms", (unsigned long long)slow_job.ms);
    cr_expect(strstr(slow_job.err, slow_job.url) != NULL, "message: %s", slow_job.err);
    expect_ok(&after_job, 200);
}

static void *main_deadline(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    tern_scope *sc = tern__current()->scope;
    sc->deadline = tern_now_ms() + 400; /* as a request's deadline would be */
    do_fetch(&slow_job);
    sc->deadline = 0;
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, request_deadline_bounds_the_fetch, .timeout = 60)
{
    tsrv_start(&slow, 2000);
    url_of(slow_job.url, sizeof slow_job.url, &slow, "/slow");
    slow_job.opts.timeout_ms = 10000;
    run(main_deadline);
    tsrv_stop(&slow);
    cr_expect_eq(slow_job.rc, TERN_ETIMEDOUT, "rc %d (%s)", slow_job.rc, slow_job.err);
    cr_expect_geq(slow_job.ms, 380, "gave up after %llu ms", (unsigned long long)slow_job.ms);
    /* well before the fetch's own 10 s timeout, with room for a loaded machine */
    cr_expect_lt(slow_job.ms, 3000, "gave up after %llu ms", (unsigned long long)slow_job.ms);
    cr_expect(strstr(slow_job.err, "deadline") != NULL, "message: %s", slow_job.err);
}

static void *main_cancel(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    tern_task *t = tern_spawn(fetch_task, &slow_job);
    tern_sleep(200);
    tern_task_cancel(t);
    tern_task_join(t, NULL);
    do_fetch(&after_job);
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, cancelled_task_abandons_the_fetch, .timeout = 60)
{
    tsrv_start(&slow, 2000);
    tsrv_start(&fast, 0);
    url_of(slow_job.url, sizeof slow_job.url, &slow, "/slow");
    url_of(after_job.url, sizeof after_job.url, &fast, "/after");
    run(main_cancel);
    tsrv_stop(&slow);
    tsrv_stop(&fast);
    cr_expect_eq(slow_job.rc, TERN_ECANCELED, "rc %d (%s)", slow_job.rc, slow_job.err);
    cr_expect_lt(slow_job.ms, 1000, "cancel took %llu ms", (unsigned long long)slow_job.ms);
    expect_ok(&after_job, 200);
}

/* ---- failures that are not timeouts ----------------------------------------------- */

static job refused;

static void *main_refused(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    do_fetch(&refused);
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, refused_connection_is_unavailable_at_once, .timeout = 60)
{
    int port = svc_free_port();
    cr_assert_gt(port, 0);
    snprintf(refused.url, sizeof refused.url, "http://127.0.0.1:%d/nobody", port);
    run(main_refused);
    cr_expect_eq(refused.rc, TERN_EUNAVAILABLE, "rc %d (%s)", refused.rc, refused.err);
    cr_expect_lt(refused.ms, 2000, "took %llu ms", (unsigned long long)refused.ms);
    cr_expect(strstr(refused.err, refused.url) != NULL, "message names the URL: %s", refused.err);
    cr_expect(strcasestr(refused.err, "connect") != NULL, "message names the cause: %s",
              refused.err);
}

static job missing, named;

static void *main_missing(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    do_fetch(&missing);
    do_fetch(&named);
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, not_found_is_a_response, .timeout = 60)
{
    tsrv_start(&fast, 0);
    url_of(missing.url, sizeof missing.url, &fast, "/missing");
    snprintf(named.url, sizeof named.url, "http://localhost:%d/named", fast.port);
    run(main_missing);
    tsrv_stop(&fast);
    expect_ok(&missing, 404);
    cr_expect_str_eq(missing.body, "no such thing");
    cr_expect_str_eq(missing.ctype, "text/plain");
    expect_ok(&named, 200); /* a host name, not an address */
    cr_expect_str_eq(named.body, "{\"path\":\"/named\"}");
}

/* ---- body size limit -------------------------------------------------------------- */

static job over_declared, over_chunked, at_limit, large_default, unlimited, after_limit;

static void *main_limits(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    do_fetch(&over_declared);
    do_fetch(&over_chunked);
    do_fetch(&at_limit);
    do_fetch(&large_default);
    do_fetch(&unlimited);
    do_fetch(&after_limit);
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, body_over_max_body_is_emsgsize, .timeout = 60)
{
    tsrv_start(&fast, 0);
    url_of(over_declared.url, sizeof over_declared.url, &fast, "/big/2000");
    over_declared.opts.max_body = 1000;
    url_of(over_chunked.url, sizeof over_chunked.url, &fast, "/chunked/5000");
    over_chunked.opts.max_body = 1000;
    url_of(at_limit.url, sizeof at_limit.url, &fast, "/chunked/1000");
    at_limit.opts.max_body = 1000;
    url_of(large_default.url, sizeof large_default.url, &fast, "/big/3000000");
    url_of(unlimited.url, sizeof unlimited.url, &fast, "/chunked/100000");
    unlimited.opts.max_body = SIZE_MAX;
    url_of(after_limit.url, sizeof after_limit.url, &fast, "/after");
    run(main_limits);
    tsrv_stop(&fast);
    cr_expect_eq(over_declared.rc, -EMSGSIZE, "declared length: rc %d (%s)", over_declared.rc,
                 over_declared.err);
    cr_expect_eq(over_chunked.rc, -EMSGSIZE, "chunked: rc %d (%s)", over_chunked.rc,
                 over_chunked.err);
    cr_expect(strstr(over_chunked.err, "1000") != NULL, "message: %s", over_chunked.err);
    expect_ok(&at_limit, 200);
    cr_expect_eq(at_limit.body_len, 1000);
    cr_expect(at_limit.body_all_x);
    expect_ok(&large_default, 200);
    cr_expect_eq(large_default.body_len, 3000000);
    cr_expect(large_default.body_all_x, "3 MB body arrived intact and NUL-terminated");
    expect_ok(&unlimited, 200);
    cr_expect_eq(unlimited.body_len, 100000);
    cr_expect(unlimited.body_all_x);
    expect_ok(&after_limit, 200);
}

/* ---- connection reuse ------------------------------------------------------------- */

static job first, second;
static unsigned watched_idle = 99;

static void *main_reuse(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    do_fetch(&first);
    do_fetch(&second);
    watched_idle = tern__http_client_watched(client);
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, sequential_fetches_reuse_one_connection, .timeout = 60)
{
    tsrv_start(&fast, 0);
    url_of(first.url, sizeof first.url, &fast, "/one");
    url_of(second.url, sizeof second.url, &fast, "/two");
    run(main_reuse);
    tsrv_stop(&fast);
    expect_ok(&first, 200);
    expect_ok(&second, 200);
    cr_expect_eq(atomic_load(&fast.requests), 2);
    cr_expect_eq(atomic_load(&fast.accepts), 1, "%d connections for two sequential fetches",
                 atomic_load(&fast.accepts));
    /* the idle keep-alive connection is not watched, so it cannot keep a loop alive */
    cr_expect_eq(watched_idle, 0, "%u sockets watched while idle", watched_idle);
}

static job before_drop, after_drop;

static void *main_stale(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    do_fetch(&before_drop);
    tsrv_drop_conns(&fast); /* blocks the loop briefly: fine, nothing else runs */
    do_fetch(&after_drop);
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, connection_closed_while_idle_is_replaced, .timeout = 60)
{
    tsrv_start(&fast, 0);
    url_of(before_drop.url, sizeof before_drop.url, &fast, "/before");
    url_of(after_drop.url, sizeof after_drop.url, &fast, "/after");
    run(main_stale);
    tsrv_stop(&fast);
    expect_ok(&before_drop, 200);
    expect_ok(&after_drop, 200);
    cr_expect_eq(atomic_load(&fast.accepts), 2);
}

#define MANY 100
static job many[MANY];
static uint64_t many_total;

static void *main_many(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    tern_task *t[MANY];
    uint64_t t0 = wall_ms();
    for (int i = 0; i < MANY; i++)
        t[i] = tern_spawn(fetch_task, &many[i]);
    tern_gather(t, MANY, NULL);
    many_total = wall_ms() - t0;
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, many_concurrent_fetches_share_a_bounded_set_of_connections, .timeout = 60)
{
    tsrv_start(&slow, 300);
    for (int i = 0; i < MANY; i++) {
        char path[32];
        snprintf(path, sizeof path, "/m%d", i);
        url_of(many[i].url, sizeof many[i].url, &slow, path);
    }
    run(main_many);
    tsrv_stop(&slow);
    int ok = 0;
    for (int i = 0; i < MANY; i++)
        ok += many[i].rc == 0 && many[i].status == 200;
    cr_expect_eq(ok, MANY, "%d of %d fetches succeeded (first error: %s)", ok, MANY, many[0].err);
    int accepts = atomic_load(&slow.accepts);
    /* HTTP/1.1 to one host: at most 32 connections, the rest queue for a free one;
     * 100 requests of 300 ms each over 32 connections take 4 rounds */
    cr_expect_leq(accepts, 32, "%d connections to one host", accepts);
    cr_expect_geq(accepts, 16, "only %d connections: requests did not overlap", accepts);
    cr_expect_lt(many_total, 6000, "%llu ms", (unsigned long long)many_total);
}

/* ---- freeing the client with a fetch in flight ------------------------------------ */

static void *main_free_pending(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    tern_task *t = tern_spawn(fetch_task, &slow_job);
    tern_sleep(150);
    tern_http_client_free(client);
    tern_task_join(t, NULL);
    return NULL;
}

Test(http_client, freeing_the_client_fails_pending_fetches, .timeout = 60)
{
    tsrv_start(&slow, 2000);
    url_of(slow_job.url, sizeof slow_job.url, &slow, "/slow");
    uint64_t t0 = wall_ms();
    run(main_free_pending);
    uint64_t spent = wall_ms() - t0;
    tsrv_stop(&slow);
    cr_expect_eq(slow_job.rc, TERN_ECANCELED, "rc %d (%s)", slow_job.rc, slow_job.err);
    cr_expect(strstr(slow_job.err, "freed") != NULL, "message: %s", slow_job.err);
    cr_expect_lt(spent, 1500, "the loop run took %llu ms", (unsigned long long)spent);
}

/* ---- HTTP/2 over TLS against tern-service ------------------------------------------ */

static char tls_dir[] = "/tmp/tern-httpc-XXXXXX";
static char tls_cert[128], tls_key[128];
static job h2[5], h2_slow, h2_after, untrusted;
static uint64_t h2_total;

static void *main_h2(void *arg)
{
    (void)arg;
    if (!open_client())
        return NULL;
    do_fetch(&untrusted); /* system bundle: the self-signed certificate fails */
    tern__http_client_set_ca_file(client, tls_cert);
    tern_task *t[5];
    uint64_t t0 = wall_ms();
    for (int i = 0; i < 5; i++)
        t[i] = tern_spawn(fetch_task, &h2[i]);
    tern_gather(t, 5, NULL);
    h2_total = wall_ms() - t0;
    do_fetch(&h2_slow);  /* a timed-out stream is reset ... */
    do_fetch(&h2_after); /* ... and the client goes on */
    tern_http_client_free(client);
    return NULL;
}

Test(http_client, http2_over_tls_multiplexes, .timeout = 120)
{
    cr_assert_not_null(mkdtemp(tls_dir));
    snprintf(tls_cert, sizeof tls_cert, "%s/cert.pem", tls_dir);
    snprintf(tls_key, sizeof tls_key, "%s/key.pem", tls_dir);
    char cmd[640];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
             "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
             ">/dev/null 2>&1",
             tls_key, tls_cert);
    cr_assert_eq(system(cmd), 0, "openssl could not make a test certificate");
    char ccert[160], ckey[160];
    snprintf(ccert, sizeof ccert, "TERN_TLS_CERT=%s", tls_cert);
    snprintf(ckey, sizeof ckey, "TERN_TLS_KEY=%s", tls_key);
    const char *env[] = {ccert, ckey, NULL};
    const char *args[] = {"--access_log", "off", NULL};
    svc s;
    cr_assert_eq(svc_start(&s, NULL, args, env, NULL), 0);

    snprintf(untrusted.url, sizeof untrusted.url, "%s/json", s.base);
    for (int i = 0; i < 5; i++)
        snprintf(h2[i].url, sizeof h2[i].url, "%s/sleep?ms=600", s.base);
    snprintf(h2_slow.url, sizeof h2_slow.url, "%s/sleep?ms=3000", s.base);
    h2_slow.opts.timeout_ms = 300;
    snprintf(h2_after.url, sizeof h2_after.url, "%s/json", s.base);
    run(main_h2);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tls_dir);
    cr_expect_eq(system(cmd), 0);

    cr_expect_eq(untrusted.rc, TERN_EUNAVAILABLE, "untrusted certificate: rc %d (%s)", untrusted.rc,
                 untrusted.err);
    cr_expect(strcasestr(untrusted.err, "certificate") != NULL, "message: %s", untrusted.err);
    for (int i = 0; i < 5; i++) {
        expect_ok(&h2[i], 200);
        cr_expect_eq(h2[i].version, 2, "fetch %d spoke HTTP/%d", i, h2[i].version);
        cr_expect_str_eq(h2[i].body, "{\"slept_ms\":600}");
    }
    cr_expect_lt(h2_total, 2500, "five 600 ms answers took %llu ms", (unsigned long long)h2_total);
    cr_expect_eq(h2_slow.rc, TERN_ETIMEDOUT, "rc %d (%s)", h2_slow.rc, h2_slow.err);
    cr_expect_lt(h2_slow.ms, 1500);
    expect_ok(&h2_after, 200);
    cr_expect_eq(h2_after.version, 2);
}
