/* routes/tfb.c - TechEmpower's multiple-query, fortunes, updates and cached-query
 * tests (/json, /plaintext live in hello.c and /db in mysql_demo.c), on the schema of
 * db/tfb_create.sql, per the rules in ../shared/tfb/README.md.
 *
 * /queries and /updates run their N statements concurrently: a few spawned tasks,
 * each on its own pooled connection, share the N rows between them. One task per row
 * would let one request pin hundreds of coroutines at queries=500 while the pool's
 * connections are the real limit, so the task count follows the pool size instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "fortunes_html.h" /* routes/templates/fortunes.html as a C string (embed.py) */

#define WORLD_ROWS 10000
#define MAX_QUERIES 500
/* Most connections one request spreads its queries over; the pool's size bounds it too. */
#define MAX_STRIPES 8

static const char select_world[] = "SELECT id, randomNumber FROM world WHERE id = ?";
static const char update_world[] = "UPDATE world SET randomNumber = ? WHERE id = ?";

/* A random number 1..10000; rand_r with a per-thread seed keeps workers apart. */
static int32_t random_number(void)
{
    static __thread unsigned seed;
    if (!seed)
        seed = (unsigned)(uintptr_t)&seed ^ (unsigned)tern_now_ms();
    return 1 + rand_r(&seed) % WORLD_ROWS;
}

/* The TFB count rule: missing, empty, not an integer or below 1 means 1; above 500, 500. */
static int query_count(tern_req *req, const char *name)
{
    const char *s = tern_query_str(req, name);
    if (!s || !*s)
        return 1;
    char *end;
    long n = strtol(s, &end, 10);
    if (*end || n < 1)
        return 1;
    return n > MAX_QUERIES ? MAX_QUERIES : (int)n;
}

/* ---- /queries and /updates ---------------------------------------------------------- */

typedef struct world {
    int32_t id, random_number;
} world;

/* One task's share: rows first, first + step, ... of the request's N. */
typedef struct stripe {
    world *rows;
    int first, step, n;
    bool update;
    int rc;
} stripe;

static void *run_stripe(void *arg)
{
    stripe *st = arg;
    tern_sql_conn *c;
    st->rc = tern_sql_acquire(tern_sql_default(), &c);
    if (st->rc < 0)
        return NULL;
    for (int i = st->first; i < st->n; i += st->step) {
        world *w = &st->rows[i];
        json_t *row;
        int rc = tern_sql_query_row(c, &row, select_world, TERN_SQL_ARGS(TERN_I64(w->id)));
        if (rc <= 0) {
            st->rc = rc < 0 ? rc : TERN_EUNAVAILABLE; /* every id 1..10000 exists */
            break;
        }
        w->random_number = (int32_t)json_integer_value(json_object_get(row, "randomNumber"));
        json_decref(row);
        if (!st->update)
            continue;
        /* read, then write the row with its own new value, each its own statement */
        w->random_number = random_number();
        rc = tern_sql_exec(c, NULL, update_world,
                           TERN_SQL_ARGS(TERN_I64(w->random_number), TERN_I64(w->id)));
        if (rc < 0) {
            st->rc = rc;
            break;
        }
    }
    /* give the connection back now, not at the end of the request: others wait for it */
    tern_sql_release(c);
    return NULL;
}

static json_t *world_rows(tern_req *req, bool update)
{
    int n = query_count(req, "queries");
    if (!tern_sql_default())
        return tern_error(req, 503, "MySQL is not configured");
    world *rows = tern_alloc(req, (size_t)n * sizeof *rows);
    for (int i = 0; i < n; i++)
        rows[i] = (world){.id = random_number()};

    int pool_max = tern_req_config(req)->mysql_pool_max;
    int nstripes = n < MAX_STRIPES ? n : MAX_STRIPES;
    if (nstripes > pool_max)
        nstripes = pool_max > 0 ? pool_max : 1;
    /* in the request's arena, not on this stack: if the gather ends early (deadline),
     * the tasks still write their results until the request's end cancels them */
    stripe *st = tern_alloc(req, MAX_STRIPES * sizeof *st);
    tern_task *tasks[MAX_STRIPES];
    for (int k = 0; k < nstripes; k++)
        st[k] = (stripe){.rows = rows, .first = k, .step = nstripes, .n = n, .update = update};
    int spawned = 0;
    while (nstripes > 1 && spawned < nstripes && (tasks[spawned] = tern_spawn(run_stripe,
                                                                              &st[spawned])))
        spawned++;
    /* stripes no task took (the only one, or coroutines ran out) run on this coroutine,
     * still overlapping with the tasks that did start */
    for (int k = spawned; k < nstripes; k++)
        run_stripe(&st[k]);
    if (spawned) {
        int rc = tern_gather(tasks, (size_t)spawned, NULL);
        if (rc < 0)
            return tern_error_from_code(req, rc);
    }
    for (int k = 0; k < nstripes; k++)
        if (st[k].rc < 0)
            return tern_error_from_code(req, st[k].rc);

    json_t *out = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(out, json_pack("{s:i,s:i}", "id", rows[i].id, "randomNumber",
                                             rows[i].random_number));
    return out;
}

static json_t *queries(tern_req *req)
{
    return world_rows(req, false);
}

static json_t *updates(tern_req *req)
{
    return world_rows(req, true);
}

/* ---- /fortunes ---------------------------------------------------------------------- */

/* Compiled once at start-up (it never changes); templates are immutable, so every
 * worker renders the same one. */
static tern_template *fortunes_tpl;

static int by_message(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "message")),
                  json_string_value(json_object_get(y, "message")));
}

static json_t *fortunes(tern_req *req)
{
    json_t *rows;
    int rc = tern_sql_rows(&rows, "SELECT id, message FROM fortune", NULL, 0);
    if (rc < 0)
        return tern_error_from_code(req, rc);
    json_array_append_new(rows, json_pack("{s:i,s:s}", "id", 0, "message",
                                          "Additional fortune added at request time."));
    /* sort by message in code-point order (strcmp on UTF-8), as the rules ask */
    size_t n = json_array_size(rows);
    json_t **v = tern_alloc(req, n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i] = json_array_get(rows, i);
        if (!json_is_string(json_object_get(v[i], "message")))
            json_object_set_new(v[i], "message", json_string("")); /* NULL message */
    }
    qsort(v, n, sizeof *v, by_message);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(sorted, v[i]);
    json_decref(rows);
    json_t *ctx = json_pack("{s:o}", "fortunes", sorted);
    size_t len;
    char *html = tern_template_render(fortunes_tpl, ctx, &len);
    json_decref(ctx);
    if (!html)
        return tern_error(req, 500, "Out of memory");
    tern_respond(req, "text/html; charset=utf-8", html, len);
    free(html);
    return TERN_RAW;
}

/* ---- /cached-queries ---------------------------------------------------------------- */

/* A per-worker read-through cache of world rows with CLOCK eviction (a second-chance
 * approximation of LRU). Each worker owns its cache, so no locks: the rows are the
 * same for every worker and the table is small (10,000 rows, ~200 KB). It is primed
 * with one SELECT of the whole table when the worker starts, so requests never wait
 * for MySQL; a miss (e.g. MySQL was down at start-up) reads the row through from
 * MySQL and stores it. In-process beats Redis here: a lookup is a few memory reads,
 * a Redis MGET is a round trip to another process on the same two cores. */
#define CACHE_CAP 16384
#define CACHE_BUCKETS 16384 /* a power of two */

typedef struct cache_entry {
    int32_t id, random_number;
    int32_t next; /* the next entry in the bucket's chain, -1 at the end */
    bool used, ref;
} cache_entry;

typedef struct world_cache {
    cache_entry *e;
    int32_t *bucket;
    int32_t nused, hand;
    uint64_t hits, misses;
} world_cache;

static __thread world_cache cache;

static bool cache_init(void)
{
    if (cache.e)
        return true;
    cache.e = calloc(CACHE_CAP, sizeof *cache.e);
    cache.bucket = malloc(CACHE_BUCKETS * sizeof *cache.bucket);
    if (!cache.e || !cache.bucket) {
        free(cache.e);
        free(cache.bucket);
        cache.e = NULL;
        cache.bucket = NULL;
        return false;
    }
    memset(cache.bucket, 0xff, CACHE_BUCKETS * sizeof *cache.bucket); /* all -1 */
    return true;
}

static uint32_t cache_hash(int32_t id)
{
    return ((uint32_t)id * 2654435761u) & (CACHE_BUCKETS - 1);
}

static cache_entry *cache_find(int32_t id)
{
    for (int32_t i = cache.bucket[cache_hash(id)]; i >= 0; i = cache.e[i].next)
        if (cache.e[i].id == id)
            return &cache.e[i];
    return NULL;
}

/* A free slot, or the first entry the clock hand finds not referenced since its last pass. */
static int32_t cache_victim(void)
{
    if (cache.nused < CACHE_CAP)
        return cache.nused++;
    for (;;) {
        int32_t i = cache.hand;
        cache.hand = (cache.hand + 1) % CACHE_CAP;
        if (cache.e[i].ref) {
            cache.e[i].ref = false;
            continue;
        }
        /* unlink it from its chain */
        int32_t *link = &cache.bucket[cache_hash(cache.e[i].id)];
        while (*link != i)
            link = &cache.e[*link].next;
        *link = cache.e[i].next;
        return i;
    }
}

static void cache_put(int32_t id, int32_t random_number)
{
    cache_entry *hit = cache_find(id);
    if (hit) {
        hit->random_number = random_number;
        return;
    }
    int32_t i = cache_victim();
    uint32_t h = cache_hash(id);
    cache.e[i] = (cache_entry){.id = id, .random_number = random_number,
                               .next = cache.bucket[h], .used = true};
    cache.bucket[h] = i;
}

/* The row for id from the cache, or read through from MySQL. 0, or an error code. */
static int cache_get(int32_t id, int32_t *random_number)
{
    cache_entry *hit = cache_find(id);
    if (hit) {
        hit->ref = true;
        cache.hits++;
        *random_number = hit->random_number;
        return 0;
    }
    cache.misses++;
    json_t *row;
    int rc = tern_sql_row(&row, select_world, TERN_SQL_ARGS(TERN_I64(id)));
    if (rc <= 0)
        return rc < 0 ? rc : TERN_EUNAVAILABLE;
    *random_number = (int32_t)json_integer_value(json_object_get(row, "randomNumber"));
    json_decref(row);
    cache_put(id, *random_number);
    return 0;
}

/* Worker stop: the cache goes with its worker. */
static void cache_free(void)
{
    free(cache.e);
    free(cache.bucket);
    memset(&cache, 0, sizeof cache);
}

/* Worker start-up: prime the cache with the whole table in one statement. */
static void cache_prime(void)
{
    if (!cache_init() || !tern_sql_default())
        return;
    json_t *rows;
    int rc = tern_sql_rows(&rows, "SELECT id, randomNumber FROM world", NULL, 0);
    if (rc < 0) {
        fprintf(stderr, "tfb: cannot prime the world cache (%s); reading through instead\n",
                tern_errmsg());
        return;
    }
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        cache_put((int32_t)json_integer_value(json_object_get(row, "id")),
                  (int32_t)json_integer_value(json_object_get(row, "randomNumber")));
    }
    json_decref(rows);
}

static json_t *cached_queries(tern_req *req)
{
    int n = query_count(req, "count");
    if (!cache_init())
        return tern_error(req, 500, "Out of memory");
    json_t *out = json_array();
    for (int i = 0; i < n; i++) {
        int32_t id = random_number(), rn;
        int rc = cache_get(id, &rn);
        if (rc < 0) {
            json_decref(out);
            return tern_error_from_code(req, rc);
        }
        json_array_append_new(out, json_pack("{s:i,s:i}", "id", id, "randomNumber", rn));
    }
    return out;
}

/* ---- registration ------------------------------------------------------------------- */

void routes_tfb(tern_app *app)
{
    char err[256];
    fortunes_tpl = tern_template_compile(fortunes_html, sizeof fortunes_html - 1, err, sizeof err);
    if (!fortunes_tpl) {
        /* a broken template is a build mistake: refuse to start rather than serve 500s */
        fprintf(stderr, "routes/templates/fortunes.html: %s\n", err);
        exit(2);
    }
    tern_on_worker_start(app, cache_prime);
    tern_on_worker_stop(app, cache_free);
    static const char *const tags[] = {"techempower", NULL};
    tern_get(app, "/queries", queries, .summary = "TechEmpower multiple queries", .tags = tags);
    tern_get(app, "/updates", updates, .summary = "TechEmpower database updates", .tags = tags);
    tern_get(app, "/fortunes", fortunes, .summary = "TechEmpower fortunes", .tags = tags,
             .response_media_type = "text/html");
    tern_get(app, "/cached-queries", cached_queries, .summary = "TechEmpower cached queries",
             .tags = tags);
}
