/* tests/support/test_app.c - a service with routes that exercise the runtime's edges
 * for the integration tests: deferred cleanups on every path, spawned tasks left
 * running, handlers that fail, a handler that overflows its stack, one that crashes.
 * GET /stats reports what the cleanups counted. */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <tern/tern.h>

#include "test_app_body.h"

/* Counters touched only by cleanups; atomics because workers are threads. */
static atomic_long cleanups, started;

static void count_cleanup(void *arg)
{
    (void)arg;
    atomic_fetch_add(&cleanups, 1);
}

/* Registers a cleanup, then ends the way ?how= says. */
static json_t *defer_route(tern_req *req)
{
    atomic_fetch_add(&started, 1);
    tern_defer(req, count_cleanup, NULL);
    const char *how = tern_param_str(req, "how");
    if (!strcmp(how, "error"))
        return NULL; /* 500 */
    if (!strcmp(how, "raise"))
        return tern_error(req, 418, "I'm a teapot");
    if (!strcmp(how, "sleep")) { /* the deadline, or the client leaving, ends it */
        int rc = tern_sleep(5000);
        if (rc < 0)
            return tern_error_from_code(req, rc);
    }
    return json_pack("{s:s}", "how", how);
}

static void *sleepy_child(void *arg)
{
    (void)arg;
    tern_sleep(5000); /* cancelled when the request answers */
    return NULL;
}

/* Spawns a task that would outlive the request; the request's end cancels it. */
static json_t *orphan_route(tern_req *req)
{
    atomic_fetch_add(&started, 1);
    tern_defer(req, count_cleanup, NULL);
    tern_spawn(sleepy_child, NULL);
    return json_pack("{s:b}", "spawned", 1);
}

static json_t *stats(tern_req *req)
{
    (void)req;
    return json_pack("{s:I,s:I}", "started", (json_int_t)atomic_load(&started), "cleanups",
                     (json_int_t)atomic_load(&cleanups));
}

static json_t *gather_route(tern_req *req)
{
    (void)req;
    tern_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = tern_spawn(sleepy_child, NULL);
    bool done[3];
    int n = tern_wait(t, 3, 50, done); /* times out: 0 done, 3 pending */
    return json_pack("{s:i,s:b}", "done", n, "pending_first", !done[0]);
}

/* What a handler sees of its request id. */
static json_t *reqid_route(tern_req *req)
{
    return json_pack("{s:s}", "request_id", tern_req_id(req));
}

/* Recursion that keeps 1 KiB per level on the coroutine stack: a few levels are fine,
 * thousands overflow it into the guard page (the stack overflow report's test). */
__attribute__((noinline)) static long recurse(long depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = (char)(depth >> 8);
    long below = depth > 1 ? recurse(depth - 1) : 0;
    return below + frame[0] + frame[sizeof frame - 1] - (char)depth - (char)(depth >> 8) + 1;
}

static json_t *deep_route(tern_req *req)
{
    long depth = (long)tern_param_int(req, "depth");
    return json_pack("{s:I}", "depth", (json_int_t)recurse(depth));
}

/* A fault that is not a stack overflow: the default crash, with no overflow report. A
 * write to a PROT_NONE page rather than through NULL, which UBSan would catch first. */
static json_t *segv_route(tern_req *req)
{
    (void)req;
    volatile int *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((void *)page != MAP_FAILED)
        *page = 1;
    return NULL;
}

static const tern_param deep_params[] = {
    TERN_QUERY_INT("depth", TERN_GE(1), TERN_DEFAULT("10")),
    {0},
};

static const tern_param defer_params[] = {
    TERN_QUERY_ENUM("how", TERN_REQUIRED, TERN_ENUM_VALUES("ok", "error", "raise", "sleep")),
    {0},
};

int main(int argc, char **argv)
{
    tern_app *app = tern_app_new(argc, argv);
    tern_get(app, "/", stats);
    tern_get(app, "/stats", stats);
    tern_get(app, "/defer", defer_route, .params = defer_params);
    tern_get(app, "/orphan", orphan_route);
    tern_get(app, "/wait", gather_route);
    tern_get(app, "/reqid", reqid_route);
    test_app_body_routes(app);
    tern_get(app, "/deep", deep_route, .params = deep_params);
    tern_get(app, "/segv", segv_route);
    return tern_run(app);
}
