/* examples/12_fastapi.c - the FastAPI example: `/` and `/red` with a Redis pool, as a service.
 *
 * Teaches: a tern service. Each worker thread has its own loop and its own Redis pool
 * (from redis.url / TERN_REDIS_URL); every request runs its handler on a coroutine, so a
 * handler waiting on Redis yields and the worker serves other requests meanwhile.
 *
 *     app = FastAPI()
 *     @app.get("/")
 *     def index(): return {"message": "Hello World"}
 *     @app.get("/red")
 *     async def red():
 *         await REDIS_POOL.hmset_dict("car", key1=1, key2=2, key3=3)
 *         return await REDIS_POOL.hgetall("car", encoding="utf-8")
 *
 * Run: TERN_REDIS_URL=redis://127.0.0.1:6379/0 ./12_fastapi --port 8080
 *      curl localhost:8080/red   ->  {"key1":"1","key2":"2","key3":"3"} */
#include <tern/tern.h>

static json_t *root(tern_req *req)
{
    (void)req;
    return json_pack("{s:s}", "message", "Hello World"); /* tern sends and frees it */
}

static json_t *red(tern_req *req)
{
    tern_redis_reply *r; /* lives in the request's memory */
    int rc = tern_redis(&r, "HSET car key1 %d key2 %d key3 %d", 1, 2, 3);
    if (rc == 0)
        rc = tern_redis(&r, "HGETALL car");
    if (rc < 0)
        return tern_error_from_code(req, rc); /* 503 when Redis is away, 504 at the deadline */
    json_t *car = tern_redis_reply_object(r);
    return car ? car : tern_error(req, 502, "unexpected reply from Redis");
}

int main(int argc, char **argv)
{
    tern_app *app = tern_app_new(argc, argv); /* config file + TERN_* env + flags */
    tern_get(app, "/", root, .summary = "Hello World");
    tern_get(app, "/red", red, .summary = "HSET + HGETALL car");
    return tern_run(app); /* uvicorn.run: until SIGTERM, then drains */
}
