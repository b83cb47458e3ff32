/* examples/10_redis.c - the Redis demo (HSET / HGETALL car) on one, then two servers at once.
 *
 * Teaches: a pool made by hand inside tern_loop_run; commands look synchronous but yield
 * until the reply arrives, so two tasks talking to two servers overlap.
 *
 *     redis = await aioredis.create_redis_pool(url)
 *     await redis.hmset_dict("car", key1=1, key2=2, key3=3)
 *     print(await redis.hgetall("car", encoding="utf-8"))
 *     await asyncio.gather(execute(url1), execute(url2))
 *
 * Usage: 10_redis REDIS_URL1 [REDIS_URL2] (URLs like redis://127.0.0.1:6379/0; an IP, not a
 * name). With one URL the concurrent part uses it twice. */
#include <stdio.h>
#include <stdlib.h>
#include <tern/tern.h>

typedef struct job {
    const char *url;
    char *car; /* HGETALL car as JSON (malloc'd), NULL on failure */
} job;

static void *execute(void *arg)
{
    job *j = arg;
    tern_redis_opts o = {.url = j->url, .pool_size = 1};
    tern_redis_pool *p;
    if (tern_redis_pool_new(&o, &p) < 0)
        return NULL;
    tern_redis_reply *r; /* replies live until the loop run ends */
    int rc = tern_redis_cmd(p, &r, "HSET car key1 %d key2 %d key3 %d", 1, 2, 3);
    if (rc == 0)
        rc = tern_redis_cmd(p, &r, "HGETALL car");
    if (rc == 0) {
        json_t *obj = tern_redis_reply_object(r); /* field/value pairs -> {"key1":"1",...} */
        if (obj) {
            j->car = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(obj);
        }
    } else {
        fprintf(stderr, "%s: %d %s\n", j->url, rc, tern_errmsg());
    }
    tern_redis_pool_free(p);
    return NULL;
}

static void *main_task(void *arg)
{
    char **urls = arg;
    /* one server: just call it */
    job one = {.url = urls[0]};
    execute(&one);
    printf("one server: %s\n", one.car ? one.car : "(failed)");

    /* two servers concurrently: one task each, gathered */
    job two[2] = {{.url = urls[0]}, {.url = urls[1] ? urls[1] : urls[0]}};
    tern_task *t[2] = {tern_spawn(execute, &two[0]), tern_spawn(execute, &two[1])};
    if (!t[0] || !t[1])
        return (void *)1;
    tern_gather(t, 2, NULL);
    for (int i = 0; i < 2; i++)
        printf("server %d: %s\n", i + 1, two[i].car ? two[i].car : "(failed)");
    bool ok = one.car && two[0].car && two[1].car;
    free(one.car);
    free(two[0].car);
    free(two[1].car);
    return ok ? NULL : (void *)1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s redis://127.0.0.1:6379/0 [redis://...]\n", argv[0]);
        return 2;
    }
    void *err = NULL;
    int rc = tern_loop_run(main_task, argv + 1, &err); /* argv is NULL-terminated */
    if (rc < 0 || err) {
        fprintf(stderr, "failed: %d %s\n", rc, tern_errmsg());
        return 1;
    }
    return 0;
}
