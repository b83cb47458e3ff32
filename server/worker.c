/* server/worker.c - a worker thread: its loop, h2o context, listener, connection
 * limit, and the graceful stop (stop accepting, finish in-flight requests, close idle
 * connections, dispose everything). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "tern/error.h"
#include "background.h"
#include "log.h"
#include "disconnect.h"
#include "h2_deadline.h"
#include "request.h"
#include "response.h"
#include "stack_guard.h"
#include "worker.h"

/* An accepted client connection; h2o owns the socket, we keep the list so that the
 * end of a drain can shut idle keep-alive connections down. */
typedef struct client_conn {
    uv_tcp_t tcp;
    tern_worker *w;
    struct client_conn *next, *prev;
} client_conn;

static const char refusal[] = "HTTP/1.1 503 Service Unavailable\r\n"
                              "content-type: application/json\r\n"
                              "content-length: 44\r\n"
                              "connection: close\r\n\r\n"
                              "{\"detail\":\"Too many connections, try again\"}";

int tern_worker_listen(tern_worker *w)
{
    const tern_config *cfg = &w->app->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, cfg->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->port);
        len = sizeof(*in6);
    } else {
        tern_set_errmsg("host: '%s' is not an IP address (tern does not resolve names at start-up)",
                        cfg->host);
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        tern_set_errmsg("socket: %s", strerror(errno));
        return -errno;
    }
    int on = 1;
    /* One socket per worker on the same port: the kernel spreads connections evenly,
     * which a shared (dup'ed) socket would not. libuv 1.44 has no flag for it. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, cfg->backlog) < 0) {
        int err = errno;
        close(fd);
        tern_set_errmsg("cannot listen on %s:%d: %s", cfg->host, cfg->port, strerror(err));
        return -err;
    }
    w->listen_fd = fd;
    return 0;
}

static void final_close(tern_worker *w);

static void on_conn_close(uv_handle_t *h)
{
    client_conn *c = (client_conn *)h;
    tern_worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    w->connections--;
    tern_worker_check_drained(w);
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void on_accept(uv_stream_t *listener, int status)
{
    tern_worker *w = listener->data;
    if (status < 0)
        return;
    client_conn *c = malloc(sizeof(*c));
    if (!c)
        return;
    uv_tcp_init(&w->loop, &c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, free_handle);
        return;
    }
    if (w->connections >= (unsigned)w->app->cfg.max_connections) {
        /* a clear refusal beats a silent reset: the client learns why */
        uv_buf_t b = uv_buf_init((char *)refusal, sizeof refusal - 1);
        uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        uv_close((uv_handle_t *)&c->tcp, free_handle);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->w = w;
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->connections++;
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_close);
    h2o_accept(&w->accept_ctx, sock);
}

/* ---- graceful stop -------------------------------------------------------------- */

static void close_idle_connections(tern_worker *w)
{
    /* Every request is answered and written; what remains are idle keep-alive (or
     * half-read) connections. Shutting the socket down lets h2o see EOF and close
     * them itself, so its own bookkeeping stays right. */
    for (client_conn *c = w->conns; c; c = c->next) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RDWR);
    }
}

static void finish_drain(tern_worker *w)
{
    if (w->drain_done)
        return;
    w->drain_done = true;
    uv_timer_stop(&w->drain_timer);
    close_idle_connections(w);
}

void tern_worker_check_drained(tern_worker *w)
{
    if (!w->stopping)
        return;
    if (!w->drain_done && w->live_reqs == 0 && w->unwritten == 0 && w->bg_tasks == 0)
        finish_drain(w);
    /* the loop may stop once no request, task or connection is left */
    if (w->drain_done && !w->closed && w->live_reqs == 0 && w->connections == 0 &&
        w->bg.live == 0 && w->bg_tasks == 0)
        final_close(w);
}

static void on_drain_timeout(uv_timer_t *t)
{
    tern_worker *w = t->data;
    tern_log_warn("worker %d: drain timeout, cancelling %u request(s) still running", w->id,
                  w->live_reqs);
    /* handlers see TERN_ECANCELED at their next wait; their clients get 503 */
    for (tern_req *req = w->live; req; req = req->live_next) {
        req->shutting_down = true;
        tern_scope_cancel(&req->scope);
    }
    tern__background_cancel_all(w);
    finish_drain(w);
    tern_worker_check_drained(w);
}

static void on_stop(uv_async_t *a)
{
    tern_worker *w = a->data;
    if (w->stopping)
        return;
    w->stopping = true;
    uv_close((uv_handle_t *)&w->listener, NULL);
    h2o_context_request_shutdown(&w->ctx);
    tern_scope_cancel(&w->bg); /* start hooks still waiting give up */
    uv_timer_start(&w->drain_timer, on_drain_timeout, w->app->cfg.drain_timeout_ms, 0);
    tern_worker_check_drained(w);
}

static void final_close(tern_worker *w)
{
    w->closed = true;
    uv_close((uv_handle_t *)&w->stop_async, NULL);
    uv_close((uv_handle_t *)&w->drain_timer, NULL);
    uv_close((uv_handle_t *)&w->disconnect_timer, NULL);
    tern__metrics_worker_stop(&w->metrics);
    tern_alog_close(&w->alog);
    /* the remaining handles (h2o's timers, the scheduler's) close when the thread
     * disposes of the context after uv_run returns */
    uv_stop(&w->loop);
}

static void on_disconnect_timer(uv_timer_t *t)
{
    tern_worker *w = t->data;
    if (w->live)
        tern__check_disconnects(w);
    tern__h2_cut_slow_requests(&w->ctx, w->app->cfg.header_timeout_ms);
}

static void on_bg_end(tern_scope *sc)
{
    tern_worker_check_drained(sc->udata);
}

static void *run_start_hook(void *arg)
{
    void (*fn)(void) = (void (*)(void))(uintptr_t)arg;
    fn();
    return NULL;
}

/* Opens the worker's pools and starts its start hooks; false when the config makes
 * that impossible (the process then stops with exit code 2). */
static bool start_pools(tern_worker *w)
{
    tern_app *app = w->app;
    tern_arena_init(&w->bg_arena, NULL, 0);
    tern_scope_init(&w->bg, w->sched, &w->bg_arena, 0);
    w->bg.udata = w;
    w->bg.on_end = on_bg_end;
    if (tern__worker_pools_open(&w->pools, &app->cfg) < 0) {
        tern_log_error("worker %d: %s", w->id, tern_errmsg());
        return false;
    }
    for (size_t i = 0; i < app->nworker_start_hooks; i++)
        if (!tern__spawn_in(&w->bg, run_start_hook, (void *)(uintptr_t)app->worker_start_hooks[i]))
            tern_log_error("worker %d: cannot start a start hook: %s", w->id, tern_errmsg());
    return true;
}

/* ---- the thread ----------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    tern_worker *w = arg;
    tern_app *app = w->app;
    /* the scheduler belongs to this thread (thread-local current task and loop) */
    w->sched = tern_sched_new(&w->loop, app->cfg.stack_size, (unsigned)app->cfg.max_coroutines);
    if (!w->sched) {
        tern_log_error("worker %d: %s", w->id, tern_errmsg());
        abort();
    }
    /* A handler that overflows its coroutine stack is named in the log before the
     * process stops (stack_guard.c says why it stops). */
    if (tern__stack_guard_install(app->cfg.stack_size) < 0)
        tern_log_warn("worker %d: %s", w->id, tern_errmsg());
    if (!start_pools(w)) {
        app->start_failed = 1;
        kill(getpid(), SIGTERM); /* the main thread stops everything */
    }
    tern__metrics_worker_start(w);
    h2o_context_init(&w->ctx, &w->loop, &app->h2o);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = app->h2o.hosts;
    w->accept_ctx.ssl_ctx = app->ssl_ctx;

    uv_run(&w->loop, UV_RUN_DEFAULT);

    /* Drained: no request, no connection. Free what the loop still holds. */
    /* h2o_context_request_shutdown armed HTTP/2's one-second GOAWAY re-send timer;
     * with no connection left it has nothing to do, and dispose asserts it is gone. */
    if (h2o_timeout_is_linked(&w->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&w->ctx.http2._graceful_shutdown_timeout);
    h2o_context_dispose(&w->ctx);
    tern__worker_pools_close(&w->pools);
    uv_run(&w->loop, UV_RUN_DEFAULT); /* the pools' handles finish closing */
    for (size_t i = app->nworker_stop_hooks; i-- > 0;)
        app->worker_stop_hooks[i]();
    tern_sched_free(w->sched);
    tern_arena_reset(&w->bg_arena);
    w->sched = NULL;
    tern__req_pool_free(w);
    tern__response_thread_cleanup();
    tern__stack_guard_thread_done();
    uv_run(&w->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&w->loop);
    if (rc != 0)
        tern_log_warn("worker %d: loop closed with handles open (%s)", w->id, uv_strerror(rc));
    return NULL;
}

/* Loop, scheduler and handles are set up on the main thread before the thread
 * starts, so a failure is reported before the service claims to be up. */
int tern_worker_start(tern_worker *w)
{
    const tern_config *cfg = &w->app->cfg;
    int rc = uv_loop_init(&w->loop);
    if (rc < 0) {
        tern_set_errmsg("uv_loop_init: %s", uv_strerror(rc));
        return rc;
    }
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;
    rc = uv_tcp_open(&w->listener, w->listen_fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&w->listener, cfg->backlog, on_accept);
    if (rc < 0) {
        tern_set_errmsg("listen: %s", uv_strerror(rc));
        return rc;
    }
    uv_async_init(&w->loop, &w->stop_async, on_stop);
    w->stop_async.data = w;
    uv_timer_init(&w->loop, &w->drain_timer);
    w->drain_timer.data = w;
    uv_timer_init(&w->loop, &w->disconnect_timer);
    w->disconnect_timer.data = w;
    uv_timer_start(&w->disconnect_timer, on_disconnect_timer, TERN_DISCONNECT_CHECK_MS,
                   TERN_DISCONNECT_CHECK_MS);
    uv_unref((uv_handle_t *)&w->disconnect_timer);
    if (tern_alog_init(&w->alog, &w->loop, cfg->access_log, STDOUT_FILENO) < 0 ||
        tern__metrics_worker_init(&w->metrics, w->app) < 0) {
        tern_set_errmsg("out of memory for the access log or the metrics");
        return TERN_ENOMEM;
    }
    tern__req_id_gen_init(&w->req_ids);
    rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc != 0) {
        tern_set_errmsg("pthread_create: %s", strerror(rc));
        return -rc;
    }
    return 0;
}

void tern_worker_stop(tern_worker *w)
{
    uv_async_send(&w->stop_async);
}

void tern_worker_join(tern_worker *w)
{
    pthread_join(w->thread, NULL);
}
