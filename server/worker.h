/* server/worker.h - a worker: one thread with its own libuv loop, h2o context,
 * scheduler, listener (SO_REUSEPORT) and request pool. Nothing is shared between
 * workers but the read-only app. */
#ifndef TERN_WORKER_H
#define TERN_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <h2o.h>

#include "app_impl.h"
#include "access_log.h"
#include "metrics.h"
#include "request_id.h"
#include "scheduler.h"
#include "worker_pools.h"

struct tern_req;

/** Per-worker handler record: h2o hands it to on_req. */
typedef struct tern_h2o_handler {
    h2o_handler_t super;
    tern_app *app;
} tern_h2o_handler;

struct tern_worker {
    int id;
    tern_app *app;
    pthread_t thread;
    int listen_fd;                 /**< bound and listening, opened into the loop by the thread */
    uv_loop_t loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    uv_async_t stop_async;         /**< the main thread asks for a graceful stop */
    uv_timer_t drain_timer;        /**< bounds the drain */
    uv_timer_t disconnect_timer;   /**< looks for HTTP/1 clients gone mid-request */
    tern_sched *sched;
    tern_access_log_buf alog;
    unsigned connections;          /**< open client connections */
    unsigned live_reqs;            /**< request objects in use (handler or cleanups running) */
    unsigned unwritten;            /**< responses handed to h2o and not yet finished by it */
    uint64_t served;               /**< responses sent */
    struct tern_req *free_reqs;    /**< pooled request objects */
    struct tern_req *live;         /**< requests in flight (to cancel them when a drain times out) */
    struct client_conn *conns;     /**< open connections (to close them at the end of a drain) */
    bool stopping;
    bool drain_done;
    bool closed;
    tern_worker_pools pools;       /**< this worker's Redis, MySQL and HTTP clients */
    tern_scope bg;                 /**< scope of the worker's own tasks (start hooks) */
    unsigned bg_tasks;             /**< background tasks running (tern_background) */
    struct bg_run *bg_runs;        /**< their records, to cancel them when a drain times out */
    tern_arena bg_arena;
    tern_metrics_worker metrics;   /**< written by this worker only; /metrics reads every worker's */
    tern_req_id_gen req_ids;       /**< makes X-Request-ID for requests that bring none */
};

/** Opens the worker's listening socket on the configured host/port (SO_REUSEPORT).
 *  0, or a negative code with tern_errmsg (port busy, bad address). Main thread. */
int tern_worker_listen(tern_worker *w);

/** Starts the worker's thread. 0 or a negative code. */
int tern_worker_start(tern_worker *w);

/** Asks the worker to stop: stop accepting, drain, close (thread-safe). */
void tern_worker_stop(tern_worker *w);

/** Waits for the worker's thread to end. */
void tern_worker_join(tern_worker *w);

/** Called when a request object is released or a response is finished by h2o: the
 *  drain may be complete now. */
void tern_worker_check_drained(tern_worker *w);

#endif
