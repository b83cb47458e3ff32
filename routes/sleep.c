/* routes/sleep.c - GET /sleep?ms=N: the point of coroutines. The handler awaits a
 * timer; the worker's loop serves everyone else meanwhile. */
#include "routes.h"

static json_t *sleep_handler(tern_req *req)
{
    int64_t ms = tern_param_int(req, "ms");
    int rc = tern_sleep((uint64_t)ms);
    if (rc < 0)
        return tern_error_from_code(req, rc); /* 504 when the request deadline passed */
    return json_pack("{s:I}", "slept_ms", (json_int_t)ms);
}

static const tern_param sleep_params[] = {
    TERN_QUERY_INT("ms", TERN_REQUIRED, TERN_GE(0), TERN_LE(3600000),
                   TERN_DESCRIPTION("milliseconds to sleep")),
    {0},
};

static const tern_field slept_fields[] = {
    TERN_FIELD_INT("slept_ms", TERN_GE(0)),
    {0},
};
static const tern_model slept = {.name = "Slept", .fields = slept_fields};
static const char *const demo_tags[] = {"tutorial", NULL};

void routes_sleep(tern_app *app)
{
    tern_get(app, "/sleep", sleep_handler, .params = sleep_params,
             .summary = "Sleep without blocking the loop", .tags = demo_tags,
             .response_model = &slept);
}
