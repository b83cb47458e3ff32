/* server/metrics.c - Prometheus metrics: per-worker request counters and duration
 * histograms written by their worker alone, gauges each worker copies from its pools
 * and scheduler once a second, and the handler that renders them all as the text
 * exposition format 0.0.4. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "metrics.h"
#include "request.h"
#include "stack_pool.h"
#include "worker.h"

/* Gauges may lag by this much; the worker serving /metrics refreshes its own first. */
#define REFRESH_MS 1000

/* Upper bounds in microseconds: from a cached answer to a request near its deadline. */
static const uint64_t bucket_us[TERN_METRICS_NBUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000,
};
static const char *const bucket_le[TERN_METRICS_NBUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
    "1", "2.5", "5", "10",
};

static const char *const pool_names[2] = {"mysql", "redis"};

/* One writer per counter: a relaxed load and store is enough for readers on other
 * threads to see whole values, and costs what a plain increment costs. */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define BUMP(x, d) STORE(x, LOAD(x) + (d))

int tern__metrics_worker_init(tern_metrics_worker *m, const tern_app *app)
{
    memset(m, 0, sizeof(*m));
    m->nrows = app->nroutes + TERN_METHOD_COUNT + 1;
    /* calloc: the untouched rows of rarely used statuses stay zero pages */
    m->rows = calloc(m->nrows, sizeof(*m->rows));
    return m->rows ? 0 : TERN_ENOMEM;
}

static void refresh(tern_worker *w)
{
    tern_metrics_gauges *g = &w->metrics.g;
    tern_sched_stats ss;
    tern_sched_get_stats(w->sched, &ss);
    tern_stack_pool *sp = tern_sched_stacks(w->sched);
    STORE(g->coroutines, ss.live_tasks);
    STORE(g->spawned, ss.spawned);
    STORE(g->stacks_live, tern_stack_pool_live(sp));
    STORE(g->stacks_cached, tern_stack_pool_cached(sp));
    STORE(g->connections, w->connections);
    tern_pool_stats st[2] = {{0}, {0}};
    if (w->pools.sql)
        tern_sql_pool_stats(w->pools.sql, &st[0]);
    if (w->pools.redis)
        tern_redis_pool_stats(w->pools.redis, &st[1]);
    for (int i = 0; i < 2; i++) {
        STORE(g->has_pool[i], i == 0 ? w->pools.sql != NULL : w->pools.redis != NULL);
        STORE(g->pool[i].connections, st[i].connections);
        STORE(g->pool[i].in_use, st[i].in_use);
        STORE(g->pool[i].idle, st[i].idle);
        STORE(g->pool[i].waiting, st[i].waiting);
        STORE(g->pool[i].timeouts, st[i].timeouts);
        STORE(g->pool[i].errors, st[i].errors);
        STORE(g->pool[i].reconnects, st[i].reconnects);
    }
}

static void on_refresh(uv_timer_t *t)
{
    refresh(t->data);
}

void tern__metrics_worker_start(tern_worker *w)
{
    uv_timer_init(&w->loop, &w->metrics.refresh);
    w->metrics.refresh.data = w;
    refresh(w);
    uv_timer_start(&w->metrics.refresh, on_refresh, REFRESH_MS, REFRESH_MS);
    uv_unref((uv_handle_t *)&w->metrics.refresh); /* it alone keeps no loop alive */
}

void tern__metrics_worker_stop(tern_metrics_worker *m)
{
    uv_close((uv_handle_t *)&m->refresh, NULL);
}

void tern__metrics_worker_free(tern_metrics_worker *m)
{
    free(m->rows);
    m->rows = NULL;
}

void tern__metrics_begin(tern_metrics_worker *m)
{
    BUMP(m->in_flight, 1);
}

void tern__metrics_end(tern_metrics_worker *m, const tern_route_rec *route, int method, int status,
                       uint64_t start_ns, int in_flight)
{
    if (!m->rows)
        return;
    if (in_flight)
        BUMP(m->in_flight, (uint64_t)-1);
    BUMP(m->served, 1);
    size_t row = route ? route->index : m->nrows - TERN_METHOD_COUNT - 1 + (size_t)method;
    tern_metrics_row *r = &m->rows[row];
    if (status < TERN_METRICS_STATUS_MIN)
        status = TERN_METRICS_STATUS_MIN;
    if (status >= TERN_METRICS_STATUS_MIN + TERN_METRICS_NSTATUS)
        status = TERN_METRICS_STATUS_MIN + TERN_METRICS_NSTATUS - 1;
    BUMP(r->status[status - TERN_METRICS_STATUS_MIN], 1);
    uint64_t us = (uv_hrtime() - start_ns) / 1000;
    size_t b = 0;
    while (b < TERN_METRICS_NBUCKETS && us > bucket_us[b])
        b++;
    BUMP(r->bucket[b], 1);
    BUMP(r->sum_us, us);
}

/* ---- rendering ------------------------------------------------------------------- */

typedef struct out {
    char *p;
    size_t len, cap;
    bool failed;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = o->failed ? 0 : vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (o->failed || n < 0)
            return;
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n + 1) * 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->failed = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
}

static void header(out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it: backslash, quote and newline escaped. */
static const char *label(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    for (; *s && o + 3 < n; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') {
            buf[o++] = '\\';
            buf[o++] = *s == '\n' ? 'n' : *s;
        } else {
            buf[o++] = *s;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* The method and route labels of row i. */
static void row_labels(const tern_app *app, size_t i, const char **method, const char **route)
{
    if (i < app->nroutes) {
        *method = tern_method_name(app->routes[i]->method);
        *route = app->routes[i]->pattern;
        return;
    }
    size_t m = i - app->nroutes;
    *method = m < TERN_METHOD_COUNT ? tern_method_name((tern_method)m) : "other";
    *route = "unmatched";
}

static void render_requests(out *o, const tern_app *app, size_t nrows)
{
    char lbuf[512];
    header(o, "tern_http_requests_total", "counter",
           "HTTP responses by method, declared route pattern and status, summed over workers.");
    for (size_t i = 0; i < nrows; i++) {
        const char *method, *route;
        row_labels(app, i, &method, &route);
        for (int s = 0; s < TERN_METRICS_NSTATUS; s++) {
            uint64_t n = 0;
            for (int k = 0; k < app->nworkers; k++)
                n += LOAD(app->workers[k].metrics.rows[i].status[s]);
            if (n)
                put(o, "tern_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                    method, label(route, lbuf, sizeof lbuf), s + TERN_METRICS_STATUS_MIN,
                    (unsigned long long)n);
        }
    }
}

static void render_durations(out *o, const tern_app *app, size_t nrows)
{
    char lbuf[512];
    header(o, "tern_http_request_duration_seconds", "histogram",
           "Time from the request's arrival to its response, by method and route.");
    for (size_t i = 0; i < nrows; i++) {
        uint64_t b[TERN_METRICS_NBUCKETS + 1] = {0}, sum_us = 0, count = 0;
        for (int k = 0; k < app->nworkers; k++) {
            const tern_metrics_row *r = &app->workers[k].metrics.rows[i];
            for (int j = 0; j <= TERN_METRICS_NBUCKETS; j++)
                b[j] += LOAD(r->bucket[j]);
            sum_us += LOAD(r->sum_us);
        }
        for (int j = 0; j <= TERN_METRICS_NBUCKETS; j++)
            count += b[j]; /* from the buckets read: +Inf and _count always agree */
        if (!count)
            continue;
        const char *method, *route;
        row_labels(app, i, &method, &route);
        label(route, lbuf, sizeof lbuf);
        uint64_t cum = 0;
        for (int j = 0; j < TERN_METRICS_NBUCKETS; j++) {
            cum += b[j];
            put(o, "tern_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%s\"} %llu\n",
                method, lbuf, bucket_le[j], (unsigned long long)cum);
        }
        put(o, "tern_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n"
               "tern_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
               "tern_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
            method, lbuf, (unsigned long long)count, method, lbuf, (double)sum_us / 1e6, method,
            lbuf, (unsigned long long)count);
    }
}

/* One series per worker, read by field offset so each gauge is written once. */
static void render_worker_gauge(out *o, const tern_app *app, const char *name, const char *type,
                                const char *help, size_t off)
{
    header(o, name, type, help);
    for (int k = 0; k < app->nworkers; k++) {
        const uint64_t *v = (const uint64_t *)((const char *)&app->workers[k].metrics + off);
        put(o, "%s{worker=\"%d\"} %llu\n", name, k, (unsigned long long)LOAD(*v));
    }
}

#define POOL_FIELD(f) offsetof(tern_pool_stats, f), sizeof(((tern_pool_stats *)0)->f)

static void render_pool(out *o, const tern_app *app, const char *name, const char *type,
                        const char *help, size_t off, size_t size)
{
    header(o, name, type, help);
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < app->nworkers; k++) {
            const tern_metrics_gauges *g = &app->workers[k].metrics.g;
            if (!LOAD(g->has_pool[p]))
                continue;
            const char *f = (const char *)&g->pool[p] + off;
            unsigned long long v = size == sizeof(uint64_t) ? LOAD(*(const uint64_t *)f)
                                                            : LOAD(*(const unsigned *)f);
            put(o, "%s{pool=\"%s\",worker=\"%d\"} %llu\n", name, pool_names[p], k, v);
        }
}

static void render_gauges(out *o, const tern_app *app)
{
    uint64_t in_flight = 0;
    for (int k = 0; k < app->nworkers; k++)
        in_flight += LOAD(app->workers[k].metrics.in_flight);
    header(o, "tern_http_requests_in_flight", "gauge",
           "Requests whose handler is running, summed over workers.");
    put(o, "tern_http_requests_in_flight %llu\n", (unsigned long long)in_flight);
    header(o, "tern_workers", "gauge", "Worker threads, each with its own event loop.");
    put(o, "tern_workers %d\n", app->nworkers);
#define WM(f) offsetof(tern_metrics_worker, f)
    render_worker_gauge(o, app, "tern_worker_requests_total", "counter",
                        "HTTP responses sent by each worker.", WM(served));
    render_worker_gauge(o, app, "tern_worker_connections", "gauge",
                        "Open client connections of each worker.", WM(g.connections));
    render_worker_gauge(o, app, "tern_coroutines", "gauge",
                        "Live coroutines (handlers and their tasks) of each worker.",
                        WM(g.coroutines));
    render_worker_gauge(o, app, "tern_coroutines_spawned_total", "counter",
                        "Coroutines ever started by each worker.", WM(g.spawned));
    render_worker_gauge(o, app, "tern_coroutine_stacks_in_use", "gauge",
                        "Coroutine stacks handed out, per worker.", WM(g.stacks_live));
    render_worker_gauge(o, app, "tern_coroutine_stacks_cached", "gauge",
                        "Coroutine stacks mapped and kept for reuse, per worker.",
                        WM(g.stacks_cached));
#undef WM
    render_pool(o, app, "tern_pool_connections", "gauge", "Open connections of a pool.",
                POOL_FIELD(connections));
    render_pool(o, app, "tern_pool_in_use", "gauge",
                "Connections lent out (mysql) or commands in flight (redis).", POOL_FIELD(in_use));
    render_pool(o, app, "tern_pool_idle", "gauge", "Open connections nobody uses.",
                POOL_FIELD(idle));
    render_pool(o, app, "tern_pool_waiting", "gauge", "Callers waiting to acquire.",
                POOL_FIELD(waiting));
    render_pool(o, app, "tern_pool_timeouts_total", "counter",
                "Acquires or commands that timed out.", POOL_FIELD(timeouts));
    render_pool(o, app, "tern_pool_errors_total", "counter",
                "Failed connects, broken connections and failed commands.", POOL_FIELD(errors));
    render_pool(o, app, "tern_pool_reconnects_total", "counter",
                "Connections reopened after the first.", POOL_FIELD(reconnects));
}

static json_t *metrics_handler(tern_req *req)
{
    tern_worker *w = req->worker;
    const tern_app *app = w->app;
    refresh(w);
    out o = {0};
    size_t nrows = w->metrics.nrows;
    render_requests(&o, app, nrows);
    render_durations(&o, app, nrows);
    render_gauges(&o, app);
    if (o.failed) {
        free(o.p);
        return tern_error(req, 503, "Server out of memory");
    }
    json_t *res = tern_respond(req, "text/plain; version=0.0.4; charset=utf-8", o.p, o.len);
    free(o.p);
    return res;
}

int tern__metrics_route(tern_app *app)
{
    if (!app->cfg.metrics_enabled)
        return 0;
    return tern_route(app, TERN_GET, app->cfg.metrics_path, metrics_handler,
                      &(const tern_route_opts){
                          .summary = "Prometheus metrics (text format 0.0.4)",
                          .include_in_schema_off = true,
                      });
}
