/* routes/health.c - liveness and readiness for load balancers and Kubernetes.
 * /healthz answers while the process runs; /readyz only while the configured pools
 * can serve (503 with what is down otherwise). */
#include "routes.h"

static json_t *healthz(tern_req *req)
{
    (void)req;
    return json_pack("{s:s}", "status", "ok");
}

static json_t *stats_json(const tern_pool_stats *st)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "connections", (json_int_t)st->connections,
                     "in_use", (json_int_t)st->in_use, "idle", (json_int_t)st->idle, "waiting",
                     (json_int_t)st->waiting, "timeouts", (json_int_t)st->timeouts, "errors",
                     (json_int_t)st->errors, "reconnects", (json_int_t)st->reconnects);
}

/* This worker's pools and their counters: operators see what is down and why. */
static json_t *pools_json(void)
{
    json_t *pools = json_object();
    tern_pool_stats st;
    if (tern_redis_default()) {
        tern_redis_pool_stats(tern_redis_default(), &st);
        json_object_set_new(pools, "redis", stats_json(&st));
    }
    if (tern_sql_default()) {
        tern_sql_pool_stats(tern_sql_default(), &st);
        json_object_set_new(pools, "mysql", stats_json(&st));
    }
    return pools;
}

static json_t *readyz(tern_req *req)
{
    char why[256];
    if (!tern_ready(why, sizeof why)) {
        tern_set_status(req, 503);
        return json_pack("{s:s,s:o}", "detail", why, "pools", pools_json());
    }
    return json_pack("{s:s,s:o}", "status", "ready", "pools", pools_json());
}

static const char *const health_tags[] = {"health", NULL};
static const tern_response_decl readyz_responses[] = {
    {.status = 503, .description = "A configured pool cannot serve (detail says which)"},
    {0},
};

void routes_health(tern_app *app)
{
    tern_get(app, "/healthz", healthz, .summary = "Liveness: the process runs", .tags = health_tags);
    tern_get(app, "/readyz", readyz, .summary = "Readiness: the configured pools can serve",
             .tags = health_tags, .responses = readyz_responses);
}
