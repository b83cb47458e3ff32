/* server/http.c - h2o's on_req: header limit, routing (404/405), parameter validation
 * (422), then the handler on its own coroutine; the response when it returns; the
 * cleanups when its scope ends. Runs on the worker's loop stack only. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "background.h"
#include "log.h"
#include "middleware.h"
#include "request.h"
#include "response.h"
#include "stream.h"
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

/* What an answer given without a coroutine knows about its request. */
typedef struct early {
    tern_worker *w;
    h2o_req_t *hreq;
    size_t path_len;
    uint64_t start_ns;
    int method;                  /* a tern_method; TERN_METHOD_COUNT when unknown */
    const tern_route_rec *route; /* NULL before (or without) a match */
    char id[TERN_REQ_ID_MAX + 1];
} early;

static void log_access(const early *e, int status, size_t bytes)
{
    tern__metrics_end(&e->w->metrics, e->route, e->method, status, e->start_ns, 0);
    if (e->w->alog.format == TERN_ACCESS_LOG_OFF)
        return;
    tern_alog_write(&e->w->alog, e->hreq->method.base, e->hreq->method.len, e->hreq->path.base,
                    e->path_len, status, bytes, (uv_hrtime() - e->start_ns) / 1000, e->id);
}

static int answer_hooked(const early *e, int status, json_t *body);

static int answer_now(const early *e, int status, json_t *body)
{
    if (tern__mw_wants_answers(e->w->app))
        return answer_hooked(e, status, body);
    guard_new(e->w, e->hreq, NULL);
    size_t n = tern__send_json(e->hreq, status, body);
    json_decref(body);
    e->w->served++;
    log_access(e, status, n);
    return 0;
}

static int answer_detail(const early *e, int status, const char *detail)
{
    return answer_now(e, status, tern__detail(detail));
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
    /* everything before the captures is per-request state (the captures are written
     * before they are read, and clearing them was a third of this memset) */
    memset(req, 0, offsetof(tern_req, captures));
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
    json_decref(req->body_json);
    json_decref(req->lists);
    tern_arena_reset(&req->arena);
    req->pool_next = w->free_reqs;
    w->free_reqs = req;
    w->live_reqs--;
    tern_worker_check_drained(w);
}

/* An immediate answer while status handlers or after functions exist: they see a request
 * object as for a handler's answer (method, path, headers; no route, no parameters). */
static int answer_hooked(const early *e, int status, json_t *body)
{
    tern_worker *w = e->w;
    h2o_req_t *hreq = e->hreq;
    size_t path_len = e->path_len;
    guard_new(w, hreq, NULL);
    tern_req *req = req_get(w);
    if (req) {
        req->h2o = hreq;
        req->method = (tern_method)e->method; /* parsed once, in tern__on_req */
        req->start_ns = e->start_ns;
        memcpy(req->id, e->id, sizeof req->id);
        req->path = tern_arena_strndup(&req->arena, hreq->path.base, path_len);
        req->path_len = path_len;
        req->query = "";
        if (req->path) {
            json_t *hooked = tern__mw_finish(req, status, body);
            if (hooked) {
                json_decref(body);
                body = hooked;
            }
            tern__req_apply_headers(req, hreq);
        }
        req->h2o = NULL;
    }
    size_t n = tern__send_json(hreq, status, body);
    json_decref(body);
    if (req)
        req_put(req);
    w->served++;
    log_access(e, status, n);
    return 0;
}

/* A CORS preflight is answered before routing, as Starlette's middleware does. */
static int answer_preflight(const early *e)
{
    tern_worker *w = e->w;
    h2o_req_t *hreq = e->hreq;
    const char *detail = NULL;
    int status = tern__cors_preflight(&w->app->mw->cors, hreq, &detail);
    if (status == 0)
        return -1;
    if (status != 200)
        return answer_detail(e, status, detail);
    guard_new(w, hreq, NULL);
    tern__send(hreq, 200, H2O_STRLIT("text/plain; charset=utf-8"), "OK", 2);
    w->served++;
    log_access(e, 200, 2);
    return 0;
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

void tern__req_apply_headers(tern_req *req, h2o_req_t *hreq)
{
    for (tern_header_rec *h = req->headers; h; h = h->next) {
        /* h2o keeps pointers: copy into its pool, which outlives our arena */
        h2o_iovec_t n = h2o_strdup(&hreq->pool, h->name, h->name_len);
        h2o_iovec_t v = h2o_strdup(&hreq->pool, h->value, h->value_len);
        h2o_add_header_by_str(&hreq->pool, &hreq->res.headers, n.base, n.len, 1, NULL, v.base,
                              v.len);
    }
}

/* Parameters or body failed: 422 with every entry (or the app's own answer), 413 for a
 * body beyond the JSON limits, 503 when memory ran out. Releases req and errors. */
static int answer_invalid(tern_req *req, json_t *errors, tern_body_status bst, const early *e)
{
    tern_worker *w = req->worker;
    h2o_req_t *hreq = req->h2o;
    const tern_config *cfg = &w->app->cfg;
    int status = 422;
    json_t *body;
    char detail[96];
    if (bst == TERN_BODY_NOMEM) {
        status = 503;
        body = tern__detail("Server out of memory");
    } else if (bst == TERN_BODY_TOO_DEEP || bst == TERN_BODY_TOO_MANY) {
        tern_body_limits lim = {(size_t)cfg->json_depth, (size_t)cfg->json_items};
        status = 413;
        body = tern__detail(tern_body_limit_detail(bst, &lim, detail, sizeof detail));
    } else if (w->app->on_validation_error) {
        body = w->app->on_validation_error(req, errors);
        status = req->status ? req->status : 422;
        tern__req_apply_headers(req, hreq);
        if (body == TERN_RAW) { /* no raw answers here: the handler had no coroutine */
            status = 500;
            body = tern__detail("Internal Server Error");
        }
    } else {
        body = tern_verr_body(json_incref(errors));
    }
    json_decref(errors);
    req_put(req);
    if (!body) {
        status = 500;
        body = tern__detail("Internal Server Error");
    }
    return answer_now(e, status, body);
}

static void log_req(tern_req *req, int status, size_t bytes)
{
    tern__metrics_end(&req->worker->metrics, req->route, req->method, status, req->start_ns, 1);
    tern_access_log_buf *alog = &req->worker->alog;
    if (alog->format == TERN_ACCESS_LOG_OFF)
        return;
    const char *m = tern_method_name(req->method);
    tern_alog_write(alog, m, strlen(m), req->path, req->path_len, status, bytes,
                    (uv_hrtime() - req->start_ns) / 1000, req->id);
}

static void respond(tern_req *req, json_t *res)
{
    if (tern__stream_started(req)) {
        size_t bytes;
        bool failed = !res || req->scope.timed_out || req->shutting_down;
        int st = tern__stream_finish(req, failed, &bytes);
        req->worker->served++;
        log_req(req, st, bytes);
        return;
    }
    h2o_req_t *hreq = req->h2o;
    if (!hreq) {
        log_req(req, 499, 0); /* client gone: the answer has nowhere to go */
        return;
    }
    req->h2o = NULL;
    req->guard->req = NULL; /* disarm before h2o_send, which may free the pool at once */
    int status = req->status ? req->status : req->route->status_code;
    json_t *owned = NULL; /* an error body made here, or a status handler's */
    if (req->peer_closed) {
        status = 499; /* nginx's "client closed request": nobody reads this answer */
        res = owned = tern__detail("Client Closed Request");
    } else if (req->shutting_down) {
        status = 503;
        res = owned = tern__detail("Server shutting down");
    } else if (req->scope.timed_out) {
        status = 504;
        res = owned = tern__detail("Request timed out");
    } else if (!res) {
        status = 500;
        tern_log_error("request_id=%s %s %s: handler returned NULL (%s)", req->id,
                       tern_method_name(req->method), req->route->pattern, tern_errmsg());
        res = owned = tern__detail("Internal Server Error");
    }
    if (owned)
        req->headers = NULL; /* the handler's headers belonged to the answer it did not give */
    json_t *hooked = tern__mw_finish(req, status, res == TERN_RAW ? NULL : res);
    if (hooked) {
        json_decref(owned);
        res = owned = hooked;
    }
    tern__req_apply_headers(req, hreq);
    size_t n;
    if (res == TERN_RAW) {
        char *body = (char *)req->raw_body; /* static: lives as long as the app */
        if (!req->raw_static) {
            body = h2o_mem_alloc_pool(&hreq->pool, req->raw_len ? req->raw_len : 1);
            memcpy(body, req->raw_body, req->raw_len);
        }
        tern__send(hreq, status, req->raw_ctype, strlen(req->raw_ctype), body, req->raw_len);
        n = req->raw_len;
    } else {
        n = tern__send_json(hreq, status, res);
    }
    json_decref(owned);
    req->worker->served++;
    log_req(req, status, n);
}

static void *run_handler(void *arg)
{
    tern_req *req = arg;
    json_t *answer = tern__mw_before(req);
    return answer ? answer : req->route->fn(req);
}

static void on_handler_done(tern_task *t)
{
    tern_req *req = t->udata;
    json_t *res = t->result;
    respond(req, res);
    if (res && res != TERN_RAW)
        json_decref(res);
    tern__background_start(req);
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
    early e = {.w = worker_of(hreq), .hreq = hreq, .start_ns = uv_hrtime()};
    tern_worker *w = e.w;
    size_t path_len = e.path_len = hreq->query_at == SIZE_MAX ? hreq->path.len : hreq->query_at;
    tern__req_id_assign(&w->req_ids, hreq, e.id);
    int method = tern_method_parse(hreq->method.base, hreq->method.len);
    e.method = method < 0 ? TERN_METHOD_COUNT : method;

    if (header_bytes(hreq) > app->cfg.header_limit)
        return answer_detail(&e, 431, "Request Header Fields Too Large");

    if (app->mw && app->mw->cors.enabled && answer_preflight(&e) == 0)
        return 0;

    tern_route_match m;
    /* an unknown method matches no route but still learns which methods the path has */
    int rc = tern_router_match(app->router, (tern_method)e.method, hreq->path.base, path_len, &m);
    if (rc == -ENOENT)
        return answer_detail(&e, 404, "Not Found");
    if (rc == -ENOTSUP) {
        add_allow(hreq, m.allowed);
        return answer_detail(&e, 405, "Method Not Allowed");
    }
    e.route = m.route;

    tern_req *req = req_get(w);
    if (!req)
        return answer_detail(&e, 503, "Server out of memory");
    req->h2o = hreq;
    req->route = m.route;
    req->method = (tern_method)method;
    req->start_ns = e.start_ns;
    memcpy(req->id, e.id, sizeof req->id);
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
        return answer_detail(&e, 503, "Server out of memory");
    }
    if (tern_query_count_pairs(req->query, req->query_len, TERN_QUERY_MAX_PAIRS) >
        TERN_QUERY_MAX_PAIRS) {
        req_put(req); /* beyond the pairs we read, a parameter would be silently ignored */
        return answer_detail(&e, 400,
                             "Too many query parameters (limit " TERN_STRINGIFY(
                                 TERN_QUERY_MAX_PAIRS) ")");
    }

    /* most routes declare nothing to check: no error list to allocate and free for them */
    if (req->route->params.n || req->route->body) {
        json_t *errors = json_array();
        size_t nerr = tern__req_check_params(req, errors);
        tern_body_status bst =
            nerr == (size_t)-1 ? TERN_BODY_NOMEM : tern__req_check_body(req, errors);
        if (nerr || bst != TERN_BODY_OK)
            return answer_invalid(req, errors, bst, &e);
        json_decref(errors);
    }

    uint64_t deadline = uv_now(&w->loop) + app->cfg.request_timeout_ms;
    tern_scope_init(&req->scope, w->sched, &req->arena, deadline);
    req->scope.udata = req;
    req->scope.is_request = true;
    req->scope.on_end = on_scope_end;
    tern_task *t = tern__spawn_in(&req->scope, run_handler, req);
    if (!t) {
        req_put(req);
        return answer_detail(&e, 503, "Server busy: no coroutine available");
    }
    t->udata = req;
    t->on_done = on_handler_done;
    req->guard = guard_new(w, hreq, req);
    tern__metrics_begin(&w->metrics);
    return 0;
}
