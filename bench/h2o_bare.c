/*
 * h2o_bare.c - the ceiling of tern's stack: a bare libh2o (2.2.5, libuv
 * build) hello-world server with no framework on top.
 *
 *   GET /json       -> {"message":"Hello, World!"}   application/json
 *   GET /plaintext  -> Hello, World!                 text/plain
 *   HEAD on those   -> the same headers, no body
 *   anything else   -> 404 (405 for other methods on a known path)
 *
 * Every response carries Server, Date (added by h2o) and Content-Length;
 * HTTP/1.1 keep-alive and pipelining are h2o's own. No access log.
 *
 * Threads: one control thread (the main one) that only waits for
 * SIGINT/SIGTERM, plus N workers, each with its own uv loop, h2o context,
 * accept context and listening socket. With N > 1 the listeners share the
 * port through SO_REUSEPORT, so the kernel spreads connections evenly.
 *
 * Shutdown: the control thread wakes every worker (uv_async); a worker
 * closes its listener, asks h2o to shut down, waits for its connections to
 * drain (at most GRACE_MS), then disposes of its context and closes its
 * loop. Connections still open after the grace period (idle keep-alive
 * clients) are abandoned and the process exits anyway, with status 0.
 *
 * Build:
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Werror bench/h2o_bare.c \
 *       $(pkg-config --cflags --libs libh2o libuv openssl) -o /tmp/h2o-bare
 * Run:
 *   /tmp/h2o-bare [--host 127.0.0.1] [--port 8081] [--workers 1]
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "h2o.h"

#define SERVER_NAME "h2o-bare"
#define LISTEN_BACKLOG 4096
#define MAX_WORKERS 256
#define GRACE_MS 2000     /* how long a worker waits for connections to drain */
#define DRAIN_POLL_MS 20  /* how often it checks */

static const char JSON_BODY[] = "{\"message\":\"Hello, World!\"}";
static const char TEXT_BODY[] = "Hello, World!";

typedef struct worker {
    int index;
    uv_thread_t thread;
    uv_loop_t loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    uv_async_t stop_async;
    uv_timer_t drain_timer;
    uint64_t drain_started;
    int forced;           /* connections were still open after GRACE_MS */
    int ready;            /* 1: listening, -1: failed (set before ready_sem) */
} worker_t;

static struct {
    const char *host;
    int port;
    int workers;
    struct sockaddr_storage addr;
    socklen_t addr_len;
} opts = {"127.0.0.1", 8081, 1, {0}, 0};

static h2o_globalconf_t config;
static worker_t *workers;
static uv_sem_t ready_sem;

/* ---------------------------------------------------------------- requests */

static int is_path(h2o_req_t *req, const char *path, size_t len)
{
    return h2o_memis(req->path_normalized.base, req->path_normalized.len, path, len);
}

static void respond(h2o_req_t *req, const char *type, size_t type_len, const char *body, size_t body_len)
{
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, type_len);
    /* h2o_send_inline does not set the length: without it HTTP/1.1 is chunked */
    req->res.content_length = body_len;
    h2o_send_inline(req, body, body_len);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    int known = is_path(req, H2O_STRLIT("/json")) || is_path(req, H2O_STRLIT("/plaintext"));

    if (!known) {
        h2o_send_error_404(req, "Not Found", "not found\n", 0);
        return 0;
    }
    /* HEAD: h2o sends the headers of the GET response and drops the body */
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD"));
        h2o_send_error_405(req, "Method Not Allowed", "method not allowed\n", H2O_SEND_ERROR_KEEP_HEADERS);
        return 0;
    }
    if (is_path(req, H2O_STRLIT("/json")))
        respond(req, H2O_STRLIT("application/json"), JSON_BODY, sizeof(JSON_BODY) - 1);
    else
        respond(req, H2O_STRLIT("text/plain"), TEXT_BODY, sizeof(TEXT_BODY) - 1);
    return 0;
}

/* -------------------------------------------------------------- listening */

static void on_accept(uv_stream_t *listener, int status)
{
    worker_t *w = listener->data;
    uv_tcp_t *conn;

    if (status != 0)
        return;
    conn = h2o_mem_alloc(sizeof(*conn));
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    uv_tcp_nodelay(conn, 1);
    /* h2o owns the handle (and its ->data) from here on; it frees it on close */
    h2o_accept(&w->accept_ctx, h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free));
}

/* A listening socket of our own, so that SO_REUSEPORT can be set before bind
 * (libuv 1.44 has no flag for it), then handed to libuv. */
static int create_listener(worker_t *w)
{
    int fd, on = 1, r;

    fd = socket(opts.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "h2o-bare: socket: %s\n", strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        /* only when sharing the port between our own workers: a lone
         * listener must fail loudly if the port is taken, not share it */
        (opts.workers > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)) {
        fprintf(stderr, "h2o-bare: setsockopt: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&opts.addr, opts.addr_len) != 0) {
        fprintf(stderr, "h2o-bare: bind %s:%d: %s\n", opts.host, opts.port, strerror(errno));
        close(fd);
        return -1;
    }
    if ((r = uv_tcp_open(&w->listener, fd)) != 0) {
        fprintf(stderr, "h2o-bare: uv_tcp_open: %s\n", uv_strerror(r));
        close(fd);
        return -1;
    }
    /* from here the fd belongs to the handle: on_stop's uv_close closes it */
    if ((r = uv_listen((uv_stream_t *)&w->listener, LISTEN_BACKLOG, on_accept)) != 0) {
        fprintf(stderr, "h2o-bare: listen %s:%d: %s\n", opts.host, opts.port, uv_strerror(r));
        return -1;
    }
    return 0;
}

/* --------------------------------------------------------------- shutdown */

static int no_connections(worker_t *w)
{
    return h2o_linklist_is_empty(&w->ctx.http1._conns) && h2o_linklist_is_empty(&w->ctx.http2._conns);
}

/* h2o_context_dispose asserts that every timeout list of the context is empty */
static int no_timeouts(worker_t *w)
{
    h2o_timeout_t *all[] = {&w->ctx.zero_timeout,      &w->ctx.one_sec_timeout,   &w->ctx.hundred_ms_timeout,
                            &w->ctx.handshake_timeout, &w->ctx.http1.req_timeout, &w->ctx.http2.idle_timeout,
                            &w->ctx.http2.graceful_shutdown_timeout, &w->ctx.proxy.io_timeout};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (!h2o_linklist_is_empty(&all[i]->_entries))
            return 0;
    return 1;
}

static void on_drain_tick(uv_timer_t *t)
{
    worker_t *w = t->data;

    if (no_connections(w)) {
        /* h2o_context_request_shutdown armed HTTP/2's GOAWAY re-send (1 s):
         * with no connection left it has nothing to do */
        if (h2o_timeout_is_linked(&w->ctx.http2._graceful_shutdown_timeout))
            h2o_timeout_unlink(&w->ctx.http2._graceful_shutdown_timeout);
    }
    if (no_connections(w) && no_timeouts(w)) {
        uv_close((uv_handle_t *)&w->drain_timer, NULL);
        uv_close((uv_handle_t *)&w->stop_async, NULL);
        uv_stop(&w->loop); /* h2o's own handles are disposed of after uv_run */
        return;
    }
    if (uv_now(&w->loop) - w->drain_started >= GRACE_MS) {
        w->forced = 1;
        uv_stop(&w->loop);
    }
}

static void on_stop(uv_async_t *a)
{
    worker_t *w = a->data;

    if (w->ctx.shutdown_requested)
        return;
    uv_close((uv_handle_t *)&w->listener, NULL);
    h2o_context_request_shutdown(&w->ctx);
    w->drain_started = uv_now(&w->loop);
    uv_timer_init(&w->loop, &w->drain_timer);
    w->drain_timer.data = w;
    uv_timer_start(&w->drain_timer, on_drain_tick, 0, DRAIN_POLL_MS);
}

/* ---------------------------------------------------------------- workers */

static void run_worker(void *arg)
{
    worker_t *w = arg;

    uv_loop_init(&w->loop);
    h2o_context_init(&w->ctx, &w->loop, &config);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = config.hosts;
    uv_async_init(&w->loop, &w->stop_async, on_stop);
    w->stop_async.data = w;
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;

    /* on failure: report it, then wait for the stop request like the others */
    w->ready = create_listener(w) == 0 ? 1 : -1;
    uv_sem_post(&ready_sem);

    /* serves until on_drain_tick stops the loop */
    uv_run(&w->loop, UV_RUN_DEFAULT);

    if (w->forced)
        return; /* connections remain; the process exits without disposing */
    uv_run(&w->loop, UV_RUN_NOWAIT); /* finish our closes */
    h2o_context_dispose(&w->ctx);
    uv_run(&w->loop, UV_RUN_DEFAULT); /* let h2o's handles finish closing */
    if (uv_loop_close(&w->loop) != 0)
        fprintf(stderr, "h2o-bare: worker %d: loop still busy at exit\n", w->index);
}

/* ---------------------------------------------------------------- control */

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    for (int i = 0; i < opts.workers; i++)
        uv_async_send(&workers[i].stop_async);
    uv_close((uv_handle_t *)s, NULL);
    uv_close((uv_handle_t *)s->data, NULL); /* the other signal handle */
}

static void usage(FILE *out)
{
    fprintf(out, "usage: h2o-bare [--host ADDR] [--port N] [--workers N]\n"
                 "  --host ADDR   address to listen on (default 127.0.0.1)\n"
                 "  --port N      TCP port (default 8081)\n"
                 "  --workers N   threads, each with its own loop and SO_REUSEPORT listener (default 1)\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) { /* every option takes a value, except --help */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--host") == 0 && v != NULL) {
            opts.host = v;
        } else if (strcmp(a, "--port") == 0 && v != NULL) {
            if (parse_int(v, 1, 65535, &opts.port) != 0) {
                fprintf(stderr, "h2o-bare: bad --port: %s\n", v);
                return -1;
            }
        } else if (strcmp(a, "--workers") == 0 && v != NULL) {
            if (parse_int(v, 1, MAX_WORKERS, &opts.workers) != 0) {
                fprintf(stderr, "h2o-bare: bad --workers: %s (1..%d)\n", v, MAX_WORKERS);
                return -1;
            }
        } else {
            usage(stderr);
            return -1;
        }
    }

    memset(&opts.addr, 0, sizeof(opts.addr));
    if (uv_ip4_addr(opts.host, opts.port, (struct sockaddr_in *)&opts.addr) == 0) {
        opts.addr_len = sizeof(struct sockaddr_in);
    } else if (uv_ip6_addr(opts.host, opts.port, (struct sockaddr_in6 *)&opts.addr) == 0) {
        opts.addr_len = sizeof(struct sockaddr_in6);
    } else {
        fprintf(stderr, "h2o-bare: --host must be a numeric IPv4 or IPv6 address: %s\n", opts.host);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uv_loop_t *control = uv_default_loop();
    uv_signal_t sigint, sigterm;
    h2o_hostconf_t *hostconf;
    h2o_handler_t *handler;
    int failed = 0;

    if (parse_args(argc, argv) != 0)
        return 2;

    signal(SIGPIPE, SIG_IGN);
    /* the same heap policy as tern (server/app.c, keep_freed_memory): without it glibc
     * gives each worker heap's top back to the kernel every loop iteration */
    if (!getenv("MALLOC_TRIM_THRESHOLD_"))
        mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);

    h2o_config_init(&config);
    /* h2o emits "Server: <server_name>" on every response (default "h2o/2.2.5") */
    config.server_name = h2o_iovec_init(H2O_STRLIT(SERVER_NAME));
    config.max_request_entity_size = 64 * 1024;
    hostconf = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    handler = h2o_create_handler(h2o_config_register_path(hostconf, "/", 0), sizeof(*handler));
    handler->on_req = on_req;
    /* no h2o_access_log_register: access log off */

    /* signal handles first, so that a signal during start-up is not lost */
    uv_signal_init(control, &sigint);
    uv_signal_init(control, &sigterm);
    sigint.data = &sigterm;
    sigterm.data = &sigint;
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);

    workers = calloc((size_t)opts.workers, sizeof(*workers));
    if (workers == NULL || uv_sem_init(&ready_sem, 0) != 0) {
        fprintf(stderr, "h2o-bare: out of memory\n");
        return 1;
    }
    for (int i = 0; i < opts.workers; i++) {
        workers[i].index = i;
        if (uv_thread_create(&workers[i].thread, run_worker, &workers[i]) != 0) {
            fprintf(stderr, "h2o-bare: cannot start worker %d\n", i);
            return 1; /* nothing to clean up worth the code: die */
        }
    }
    for (int i = 0; i < opts.workers; i++)
        uv_sem_wait(&ready_sem);
    for (int i = 0; i < opts.workers; i++)
        failed |= workers[i].ready < 0;

    if (failed) {
        for (int i = 0; i < opts.workers; i++)
            uv_async_send(&workers[i].stop_async);
        uv_close((uv_handle_t *)&sigint, NULL);
        uv_close((uv_handle_t *)&sigterm, NULL);
    } else {
        fprintf(stderr, "h2o-bare: listening on %s:%d with %d worker%s\n", opts.host, opts.port, opts.workers,
                opts.workers == 1 ? "" : "s");
    }

    uv_run(control, UV_RUN_DEFAULT); /* until SIGINT/SIGTERM (or a failed start) */

    int forced = 0;
    for (int i = 0; i < opts.workers; i++) {
        uv_thread_join(&workers[i].thread);
        forced += workers[i].forced;
    }
    if (forced != 0) {
        fprintf(stderr, "h2o-bare: %d worker%s still had connections after %d ms; exiting anyway\n", forced,
                forced == 1 ? "" : "s", GRACE_MS);
        return failed ? 1 : 0;
    }
    uv_loop_close(control);
    uv_sem_destroy(&ready_sem);
    free(workers);
    h2o_config_dispose(&config);
    return failed ? 1 : 0;
}
