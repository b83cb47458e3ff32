/* routes/redis_demo.c - the asyncio tutorial's Redis demo as a handler:
 * HSET car key1 1 key2 2 key3 3, then HGETALL car. */
#include "routes.h"

static json_t *red(tern_req *req)
{
    tern_redis_reply *r;
    int rc = tern_redis(&r, "HSET car key1 %d key2 %d key3 %d", 1, 2, 3);
    if (rc == 0)
        rc = tern_redis(&r, "HGETALL car");
    if (rc < 0)
        return tern_error_from_code(req, rc); /* 503 while Redis is away, 504 at the deadline */
    json_t *obj = tern_redis_reply_object(r);
    return obj ? obj : tern_error(req, 502, "unexpected reply from Redis");
}

void routes_redis_demo(tern_app *app)
{
    static const char *const tags[] = {"tutorial", NULL};
    tern_get(app, "/red", red, .summary = "The tutorial's Redis demo (HSET + HGETALL car)",
             .tags = tags);
}
