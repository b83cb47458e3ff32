/* server/http.c - h2o's on_req: header limit, routing (404/405), parameter validation
 * (422), then the handler on its own coroutine; the response when it returns; the
 * cleanups when its scope ends. Runs on the worker's loop stack only. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "log.h"
#include "request.h"
#include "response.h"
#include "validation_error.h"
#include "worker.h"

static tern_worker *worker_of(h2o_req_t *hreq)
{
    return (tern_worker *)((char *)hreq->conn->ctx - offsetof(tern_worker, ctx));
}

/* ---- the guard on h2o's request pool ------------------------------------------- */

static void on_guard_dispose(void *p)
{
    tern_req_guard *g = p;
    tern_worker *w = g->worker;
    w->unwritten--;
    if (g->req) {
        /* h2o freed the request before we answered: the client is gone. Only record
         * it; the handler sees TERN_ECANCELED at its next wait. */
        tern_req *req = g->req;
        g->req = NULL;
        req->h2o = NULL;
        req->gone = true;
        tern_scope_cancel(&req->scope);
    }
    tern_worker_check_drained(w);
}

static tern_req_guard *guard_new(tern_worker *w, h2o_req_t *hreq, tern_req *req)
{
    tern_req_guard *g = h2o_mem_alloc_shared(&hreq->pool, sizeof(*g), on_guard_dispose);
    g->req = req;
    g->worker = w;
    w->unwritten++;
    return g;
}

/* ---- immediate answers (no coroutine) --------------------------------------------- */

static void log_access(tern_worker *w, h2o_req_t *hreq, size_t path_len, int status, size_t bytes,
                       uint64_t start_ns)
{
    if (w->alog.format == TERN_ACCESS_LOG_OFF)
        return;
    tern_alog_write(&w->alog, hreq->method.base, hreq->method.len, hreq->path.base, path_len,
                    status, bytes, (uv_hrtime() - start_ns) / 1000);
}

static int answer_now(tern_worker *w, h2o_req_t *hreq, size_t path_len, int status, json_t *body,
                      uint64_t start_ns)
{
    guard_new(w, hreq, NULL);
    size_t n = tern__send_json(hreq, status, body);
    json_decref(body);
    w->served++;
    log_access(w, hreq, path_len, status, n, start_ns);
    return 0;
}

static int answer_detail(tern_worker *w, h2o_req_t *hreq, size_t path_len, int status,
                         const char *detail, uint64_t start_ns)
{
    return answer_now(w, hreq, path_len, status, tern__detail(detail), start_ns);
}

static void add_allow(h2o_req_t *hreq, unsigned allowed)
{
    char buf[128];
    size_t n = 0;
    for (int m = 0; m < TERN_METHOD_COUNT; m++) {
        if (!(allowed & (1u << m)))
            continue;
        const char *name = tern_method_name((tern_method)m);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "", name);
    }
    h2o_iovec_t v = h2o_strdup(&hreq->pool, buf, n);
    h2o_add_header(&hreq->pool, &hreq->res.headers, H2O_TOKEN_ALLOW, NULL, v.base, v.len);
}

/* The request line, the headers and their separators: what a client made us hold. */
static size_t header_bytes(const h2o_req_t *hreq)
{
    size_t n = hreq->method.len + hreq->path.len + 12;
    for (size_t i = 0; i < hreq->headers.size; i++)
        n += hreq->headers.entries[i].name->len + hreq->headers.entries[i].value.len + 4;
    return n;
}

/* ---- request objects: pooled per worker ------------------------------------------- */

static tern_req *req_get(tern_worker *w)
{
    tern_req *req = w->free_reqs;
    if (req)
        w->free_reqs = req->pool_next;
    else if (!(req = malloc(sizeof(*req))))
        return NULL;
    /* everything before the inline arena buffer is per-request state */
    memset(req, 0, offsetof(tern_req, arena_inline));
    tern_arena_init(&req->arena, req->arena_inline, sizeof req->arena_inline);
    req->worker = w;
    req->live_next = w->live;
    if (w->live)
        w->live->live_prev = req;
    w->live = req;
    w->live_reqs++;
    return req;
}

static void req_put(tern_req *req)
{
    tern_worker *w = req->worker;
    if (req->live_prev)
        req->live_prev->live_next = req->live_next;
    else
        w->live = req->live_next;
    if (req->live_next)
        req->live_next->live_prev = req->live_prev;
    tern_arena_reset(&req->arena);
    req->pool_next = w->free_reqs;
    w->free_reqs = req;
    w->live_reqs--;
    tern_worker_check_drained(w);
}

void tern__req_pool_free(tern_worker *w)
{
    while (w->free_reqs) {
        tern_req *next = w->free_reqs->pool_next;
        free(w->free_reqs);
        w->free_reqs = next;
    }
}

/* ---- the response --------------------------------------------------------------- */

static void apply_headers(tern_req *req, h2o_req_t *hreq)
{
    for (tern_header_rec *h = req->headers; h; h = h->next) {
        /* h2o keeps pointers: copy into its pool, which outlives our arena */
        h2o_iovec_t n = h2o_strdup(&hreq->pool, h->name, h->name_len);
        h2o_iovec_t v = h2o_strdup(&hreq->pool, h->value, h->value_len);
        h2o_add_header_by_str(&hreq->pool, &hreq->res.headers, n.base, n.len, 1, NULL, v.base,
                              v.len);
    }
}

static void log_req(tern_req *req, int status, size_t bytes)
{
    tern_access_log_buf *alog = &req->worker->alog;
    if (alog->format == TERN_ACCESS_LOG_OFF)
        return;
    const char *m = tern_method_name(req->method);
    tern_alog_write(alog, m, strlen(m), req->path, req->path_len, status, bytes,
                    (uv_hrtime() - req->start_ns) / 1000);
}

static void respond(tern_req *req, json_t *res)
{
    h2o_req_t *hreq = req->h2o;
    if (!hreq) {
        log_req(req, 499, 0); /* client gone: the answer has nowhere to go */
        return;
    }
    req->h2o = NULL;
    req->guard->req = NULL; /* disarm before h2o_send, which may free the pool at once */
    int status = req->status ? req->status : req->route->status_code;
    size_t n;
    if (req->peer_closed) {
        status = 499; /* nginx's "client closed request": nobody reads this answer */
        n = tern__send_detail(hreq, status, "Client Closed Request");
    } else if (req->shutting_down) {
        status = 503;
        n = tern__send_detail(hreq, status, "Server shutting down");
    } else if (req->scope.timed_out) {
        status = 504;
        n = tern__send_detail(hreq, status, "Request timed out");
    } else if (!res) {
        status = 500;
        tern_log_error("%s %s: handler returned NULL (%s)", tern_method_name(req->method),
                       req->route->pattern, tern_errmsg());
        n = tern__send_detail(hreq, status, "Internal Server Error");
    } else {
        apply_headers(req, hreq);
        if (res == TERN_RAW) {
            char *body = h2o_mem_alloc_pool(&hreq->pool, req->raw_len ? req->raw_len : 1);
            memcpy(body, req->raw_body, req->raw_len);
            tern__send(hreq, status, req->raw_ctype, strlen(req->raw_ctype), body, req->raw_len);
            n = req->raw_len;
        } else {
            n = tern__send_json(hreq, status, res);
        }
    }
    req->worker->served++;
    log_req(req, status, n);
}

static void *run_handler(void *arg)
{
    tern_req *req = arg;
    return req->route->fn(req);
}

static void on_handler_done(tern_task *t)
{
    tern_req *req = t->udata;
    json_t *res = t->result;
    respond(req, res);
    if (res && res != TERN_RAW)
        json_decref(res);
    /* the request is answered: tasks it spawned and left running are cancelled, and
     * the scope ends (cleanups run) when the last of them returns */
    tern_scope_cancel_tasks(&req->scope);
}

static void on_scope_end(tern_scope *sc)
{
    tern_req *req = sc->udata;
    while (req->defers) {
        tern_defer_rec *d = req->defers;
        req->defers = d->next;
        d->fn(d->arg);
    }
    req_put(req);
}

/* ---- on_req ----------------------------------------------------------------------- */

static int decode_captures(tern_req *req, const tern_route_match *m)
{
    req->ncaptures = m->ncaptures;
    for (size_t i = 0; i < m->ncaptures; i++) {
        req->captures[i] = m->captures[i];
        size_t len;
        char *v = tern_percent_decode(&req->arena, m->captures[i].value, m->captures[i].len,
                                      false, &len);
        if (!v)
            return TERN_ENOMEM;
        req->captures[i].value = v;
        req->captures[i].len = len;
    }
    return 0;
}

int tern__on_req(h2o_handler_t *self, h2o_req_t *hreq)
{
    tern_app *app = ((tern_h2o_handler *)self)->app;
    tern_worker *w = worker_of(hreq);
    uint64_t start_ns = uv_hrtime();
    size_t path_len = hreq->query_at == SIZE_MAX ? hreq->path.len : hreq->query_at;

    if (header_bytes(hreq) > app->cfg.header_limit)
        return answer_detail(w, hreq, path_len, 431, "Request Header Fields Too Large", start_ns);

    int method = tern_method_parse(hreq->method.base, hreq->method.len);
    tern_route_match m;
    /* an unknown method matches no route but still learns which methods the path has */
    int rc = tern_router_match(app->router, method < 0 ? TERN_METHOD_COUNT : (tern_method)method,
                               hreq->path.base, path_len, &m);
    if (rc == -ENOENT)
        return answer_detail(w, hreq, path_len, 404, "Not Found", start_ns);
    if (rc == -ENOTSUP) {
        add_allow(hreq, m.allowed);
        return answer_detail(w, hreq, path_len, 405, "Method Not Allowed", start_ns);
    }

    tern_req *req = req_get(w);
    if (!req)
        return answer_detail(w, hreq, path_len, 503, "Server out of memory", start_ns);
    req->h2o = hreq;
    req->route = m.route;
    req->method = (tern_method)method;
    req->start_ns = start_ns;
    req->path = tern_arena_strndup(&req->arena, hreq->path.base, path_len);
    req->path_len = path_len;
    if (hreq->query_at != SIZE_MAX) {
        req->query_len = hreq->path.len - hreq->query_at - 1;
        req->query = tern_arena_strndup(&req->arena, hreq->path.base + hreq->query_at + 1,
                                        req->query_len);
    } else {
        req->query = "";
    }
    if (!req->path || !req->query || decode_captures(req, &m) < 0) {
        req_put(req);
        return answer_detail(w, hreq, path_len, 503, "Server out of memory", start_ns);
    }
    if (tern_query_count_pairs(req->query, req->query_len, TERN_QUERY_MAX_PAIRS) >
        TERN_QUERY_MAX_PAIRS) {
        req_put(req); /* beyond the pairs we read, a parameter would be silently ignored */
        return answer_detail(w, hreq, path_len, 400,
                             "Too many query parameters (limit " TERN_STRINGIFY(
                                 TERN_QUERY_MAX_PAIRS) ")",
                             start_ns);
    }

    json_t *errors = json_array();
    size_t nerr = tern__req_check_params(req, errors);
    if (nerr) {
        req_put(req);
        if (nerr == (size_t)-1) {
            json_decref(errors);
            return answer_detail(w, hreq, path_len, 503, "Server out of memory", start_ns);
        }
        return answer_now(w, hreq, path_len, 422, tern_verr_body(errors), start_ns);
    }
    json_decref(errors);

    uint64_t deadline = uv_now(&w->loop) + app->cfg.request_timeout_ms;
    tern_scope_init(&req->scope, w->sched, &req->arena, deadline);
    req->scope.udata = req;
    req->scope.is_request = true;
    req->scope.on_end = on_scope_end;
    tern_task *t = tern__spawn_in(&req->scope, run_handler, req);
    if (!t) {
        req_put(req);
        return answer_detail(w, hreq, path_len, 503, "Server busy: no coroutine available",
                             start_ns);
    }
    t->udata = req;
    t->on_done = on_handler_done;
    req->guard = guard_new(w, hreq, req);
    return 0;
}
