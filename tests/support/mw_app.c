/* tests/support/mw_app.c - a service for the middleware tests: global and group
 * middleware, app-wide and route dependencies that wait, status handlers, background
 * tasks, app hooks, streams and a static mount (MW_APP_STATIC_DIR). GET /stats reports
 * what the hooks, tasks and streams counted. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tern/tern.h>

static atomic_long bg_done, bg_cancelled, stream_cancelled, stream_cleanups, guarded_runs,
    late_writes;

static json_t *stats(tern_req *req)
{
    (void)req;
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "bg_done", (json_int_t)atomic_load(&bg_done),
                     "bg_cancelled", (json_int_t)atomic_load(&bg_cancelled), "stream_cancelled",
                     (json_int_t)atomic_load(&stream_cancelled), "stream_cleanups",
                     (json_int_t)atomic_load(&stream_cleanups), "guarded_runs",
                     (json_int_t)atomic_load(&guarded_runs), "late_writes",
                     (json_int_t)atomic_load(&late_writes));
}

/* ---- middleware -------------------------------------------------------------------- */

static json_t *block_before(tern_req *req)
{
    if (tern_header(req, "X-Block"))
        return tern_error(req, 403, "Blocked by middleware");
    return NULL;
}

static void timing_after(tern_req *req, int status)
{
    char v[32];
    snprintf(v, sizeof v, "%d", status);
    tern_set_header(req, "X-Seen-Status", v);
    snprintf(v, sizeof v, "%.6f", (double)tern_req_elapsed_us(req) / 1e6);
    tern_set_header(req, "X-Process-Time", v);
}

static json_t *admin_before(tern_req *req)
{
    const char *a = tern_header(req, "X-Admin");
    if (!a || strcmp(a, "yes") != 0)
        return tern_error(req, 401, "Admin header missing");
    return NULL;
}

static void admin_after(tern_req *req, int status)
{
    (void)status;
    tern_set_header(req, "X-Group", "admin");
}

static json_t *panel(tern_req *req)
{
    (void)req;
    return json_pack("{s:b}", "panel", 1);
}

static json_t *not_admin(tern_req *req)
{
    (void)req;
    return json_pack("{s:b}", "not_admin", 1);
}

/* ---- dependencies ---------------------------------------------------------------- */

/* App-wide: waits on the loop (as a Redis lookup would), then hands a value on. */
static json_t *trace_dep(tern_req *req)
{
    int rc = tern_sleep(2);
    if (rc < 0)
        return tern_error_from_code(req, rc);
    tern_dep_set(req, "trace", "app-dep");
    return NULL;
}

static json_t *second_dep(tern_req *req)
{
    const char *t = tern_dep_get(req, "trace");
    tern_dep_set(req, "second", t ? "saw app-dep" : "ran first");
    return NULL;
}

static json_t *refuse_dep(tern_req *req)
{
    tern_set_header(req, "WWW-Authenticate", "Bearer");
    return tern_error(req, 401, "Not authenticated");
}

static json_t *deps_handler(tern_req *req)
{
    return json_pack("{s:s?,s:s?}", "trace", (char *)tern_dep_get(req, "trace"), "second",
                     (char *)tern_dep_get(req, "second"));
}

static json_t *guarded(tern_req *req)
{
    (void)req;
    atomic_fetch_add(&guarded_runs, 1);
    return json_pack("{s:b}", "ran", 1);
}

static const tern_dependency app_deps[] = {{"trace", trace_dep}, {0}};
static const tern_dependency route_deps[] = {{"second", second_dep}, {0}};
static const tern_dependency refuse_deps[] = {{"refuse", refuse_dep}, {0}};

/* ---- status handlers ------------------------------------------------------------- */

static json_t *on_404(tern_req *req, int status, const json_t *body)
{
    (void)status;
    return json_pack("{s:s,s:s,s:O?}", "error", "not_found", "path", tern_req_path(req), "original",
                     body ? json_object_get(body, "detail") : NULL);
}

static json_t *on_500(tern_req *req, int status, const json_t *body)
{
    (void)req;
    (void)body;
    return json_pack("{s:s,s:i}", "error", "internal", "status", status);
}

static json_t *missing_item(tern_req *req)
{
    return tern_error(req, 404, "Item not found");
}

static json_t *boom(tern_req *req)
{
    (void)req;
    return NULL;
}

/* ---- background tasks ------------------------------------------------------------ */

static void bg_task(void *arg)
{
    uint64_t ms = (uint64_t)(uintptr_t)arg;
    if (tern_sleep(ms) < 0) {
        atomic_fetch_add(&bg_cancelled, 1);
        fprintf(stderr, "background task cancelled\n");
        return;
    }
    atomic_fetch_add(&bg_done, 1);
    fprintf(stderr, "background task done\n");
}

static json_t *bg_route(tern_req *req)
{
    int64_t ms = tern_param_int(req, "ms");
    tern_background(req, bg_task, (void *)(uintptr_t)ms);
    return json_pack("{s:I}", "bg_done", (json_int_t)atomic_load(&bg_done));
}

/* Waits, then counts in Redis: a background task borrows the worker's pool. The key is
 * a static string from the route's enum. */
static void bg_redis_task(void *arg)
{
    tern_redis_reply *r;
    int rc = tern_sleep(100);
    if (rc == 0)
        rc = tern_redis(&r, "INCR %s", (const char *)arg);
    if (rc < 0)
        fprintf(stderr, "background redis task failed: %d\n", rc);
}

static json_t *bg_redis_route(tern_req *req)
{
    tern_background(req, bg_redis_task, (void *)"mw:bg:counter");
    return json_pack("{s:b}", "queued", 1);
}

static json_t *redis_get(tern_req *req)
{
    tern_redis_reply *r;
    int rc = tern_redis(&r, "GET %s", "mw:bg:counter");
    if (rc < 0)
        return tern_error_from_code(req, rc);
    return json_pack("{s:o}", "value", tern_redis_reply_json(r));
}

static const tern_param bg_params[] = {TERN_QUERY_INT("ms", TERN_DEFAULT("0"), TERN_GE(0)), {0}};

/* ---- streams --------------------------------------------------------------------- */

static void count_stream_cleanup(void *arg)
{
    (void)arg;
    atomic_fetch_add(&stream_cleanups, 1);
}

/* Ticks until the client leaves; no deadline. */
static json_t *sse_forever(tern_req *req)
{
    tern_defer(req, count_stream_cleanup, NULL);
    tern_stream_no_deadline(req);
    int rc = 0;
    for (int i = 0; rc == 0; i++) {
        char data[32];
        snprintf(data, sizeof data, "%d", i);
        rc = tern_sse_send(req, NULL, data);
        if (rc == 0)
            rc = tern_sleep(20);
    }
    if (rc == TERN_ECANCELED)
        atomic_fetch_add(&stream_cancelled, 1);
    return NULL;
}

/* Streams past the deadline without opting out: cut off. */
static json_t *stream_deadline(tern_req *req)
{
    int rc = tern_stream_begin(req, 200, "text/plain");
    for (int i = 0; rc == 0 && i < 20; i++) {
        rc = tern_stream_write(req, "x\n", 2);
        if (rc == 0)
            rc = tern_sleep(50);
    }
    return rc == 0 && tern_stream_end(req) == 0 ? TERN_RAW : NULL;
}

/* Same pace, opted out of the deadline: completes. */
static json_t *stream_long(tern_req *req)
{
    tern_stream_no_deadline(req);
    tern_set_header(req, "X-Stream", "long");
    int rc = tern_stream_begin(req, 201, "text/plain");
    for (int i = 0; rc == 0 && i < 10; i++) {
        rc = tern_stream_write(req, "y\n", 2);
        if (rc == 0)
            rc = tern_sleep(50);
    }
    if (rc == 0)
        rc = tern_stream_end(req);
    if (rc == 0 && tern_stream_write(req, "late", 4) != -EINVAL) /* the stream is over */
        atomic_fetch_add(&late_writes, 1);
    return rc == 0 ? TERN_RAW : NULL;
}

static json_t *sse_lines(tern_req *req)
{
    int rc = tern_sse_send(req, "multi", "a\nb\r\nc\rd");
    if (rc == 0)
        rc = tern_sse_send(req, NULL, "");
    if (rc == 0)
        rc = tern_sse_send(req, "bad\nname", "x") == -EINVAL ? 0 : -1;
    /* returning without tern_stream_end ends the stream normally */
    return rc == 0 ? TERN_RAW : NULL;
}

/* A big body in many writes: each waits for the previous one to go out. */
static json_t *stream_big(tern_req *req)
{
    static char block[64 * 1024];
    memset(block, 'z', sizeof block);
    tern_stream_no_deadline(req); /* the suite's 300 ms deadline is for other routes */
    int rc = tern_stream_begin(req, 200, "application/octet-stream");
    for (int i = 0; rc == 0 && i < 64; i++)
        rc = tern_stream_write(req, block, sizeof block);
    return rc == 0 && tern_stream_end(req) == 0 ? TERN_RAW : NULL;
}

/* ---- app hooks ------------------------------------------------------------------- */

static int on_startup(void)
{
    fprintf(stderr, "startup hook ran\n");
    return getenv("MW_APP_FAIL_STARTUP") ? 3 : 0;
}

static void on_shutdown(void)
{
    fprintf(stderr, "shutdown hook ran: bg_done=%ld\n", atomic_load(&bg_done));
}

int main(int argc, char **argv)
{
    tern_app *app = tern_app_new(argc, argv);
    if (getenv("MW_APP_BARE")) { /* route dependencies with no middleware at all */
        tern_get(app, "/", stats);
        tern_get(app, "/stats", stats);
        tern_get(app, "/deps/refuse", guarded, .depends = refuse_deps);
        return tern_run(app);
    }
    tern_middleware(app, block_before, timing_after);
    tern_group(app, "/admin", .before = admin_before, .after = admin_after);
    tern_depends(app, app_deps);
    tern_on_status(app, 404, on_404);
    tern_on_status(app, 500, on_500);
    tern_on_startup(app, on_startup);
    tern_on_shutdown(app, on_shutdown);
    if (getenv("MW_APP_STATIC_DIR"))
        tern_static(app, "/static", getenv("MW_APP_STATIC_DIR"));

    tern_get(app, "/", stats);
    tern_get(app, "/stats", stats);
    tern_get(app, "/admin/panel", panel);
    tern_get(app, "/administrator", not_admin);
    tern_get(app, "/deps", deps_handler, .depends = route_deps);
    tern_get(app, "/deps/refuse", guarded, .depends = refuse_deps);
    tern_get(app, "/missing-item", missing_item);
    tern_get(app, "/boom", boom);
    tern_get(app, "/bg", bg_route, .params = bg_params);
    tern_get(app, "/bg/redis", bg_redis_route);
    tern_get(app, "/redis/counter", redis_get);
    tern_get(app, "/sse/forever", sse_forever);
    tern_get(app, "/sse/lines", sse_lines);
    tern_get(app, "/stream/deadline", stream_deadline);
    tern_get(app, "/stream/long", stream_long);
    tern_get(app, "/stream/big", stream_big);
    return tern_run(app);
}
