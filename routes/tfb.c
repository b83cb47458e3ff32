/* routes/tfb.c - TechEmpower's multiple-query, fortunes, updates and cached-query
 * tests (/json, /plaintext live in hello.c and /db in mysql_demo.c), on the schema of
 * db/tfb_create.sql, per the rules in ../shared/tfb/README.md.
 *
 * /queries and /updates read their N rows with N SELECTs, spread over the pool's idle
 * connections (a few spawned tasks, each on its own connection) when there are some, on
 * the request's one connection when the pool is busy. /updates then writes the N new
 * values with one UPDATE statement (batching writes is allowed, reads not). */
#include <errno.h>
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

/* {"id":..,"randomNumber":..}; json_pack would parse its format string for every row,
 * which costs more than building the object. */
static json_t *world_json(int32_t id, int32_t random_number)
{
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "id", json_integer(id));
    json_object_set_new_nocheck(o, "randomNumber", json_integer(random_number));
    return o;
}

/* One task's share: rows first, first + step, ... of the request's N, read on conn (its
 * own connection when NULL: acquired here, released as soon as its share is read). */
typedef struct stripe {
    world *rows;
    int first, step, n;
    tern_sql_arg *args; /* room for the share's arguments and results (request arena) */
    json_t **results;
    tern_sql_conn *conn;
    int rc;
} stripe;

static void *run_stripe(void *arg)
{
    stripe *st = arg;
    tern_sql_conn *c = st->conn;
    if (!c && (st->rc = tern_sql_acquire(tern_sql_default(), &c)) < 0)
        return NULL;
    /* the share's SELECTs pipelined: one write out, the answers read back in order */
    int n = (st->n - st->first + st->step - 1) / st->step;
    tern_sql_arg *args = st->args;
    json_t **results = st->results;
    for (int k = 0; k < n; k++)
        args[k] = TERN_I64(st->rows[st->first + k * st->step].id);
    st->rc = tern_sql_query_each(c, results, NULL, select_world, args, 1, (size_t)n);
    for (int k = 0; k < n; k++) {
        json_t *row = json_array_get(results[k], 0);
        if (!row && st->rc == 0)
            st->rc = TERN_EUNAVAILABLE; /* every id 1..10000 exists */
        if (row)
            st->rows[st->first + k * st->step].random_number =
                (int32_t)json_integer_value(json_object_get(row, "randomNumber"));
        json_decref(results[k]);
    }
    /* give a borrowed connection back now, not at the end of the request: others wait */
    if (!st->conn)
        tern_sql_release(c);
    return NULL;
}

/* How many connections one request spreads its reads over: as many as are idle right
 * now (up to MAX_STRIPES and n), else 1. Under load every connection is busy and the
 * requests themselves keep the pool full; splitting a request then only adds acquires,
 * queueing and task switches, and at worst acquire timeouts. */
static int stripe_count(int n)
{
    tern_pool_stats ps;
    tern_sql_pool_stats(tern_sql_default(), &ps);
    int k = ps.waiting ? 0 : (int)ps.idle + 1; /* + 1: the connection this request holds */
    if (k > MAX_STRIPES)
        k = MAX_STRIPES;
    if (k > n)
        k = n;
    return k < 1 ? 1 : k;
}

/* Reads every row of rows[0..n) with its own SELECT, spread over stripes: the first on
 * c, the others on spawned tasks with connections of their own. 0 or an error code. */
static int read_rows(tern_req *req, tern_sql_conn *c, world *rows, int n)
{
    int nstripes = stripe_count(n);
    /* in the request's arena, not on this stack: if the gather ends early (deadline),
     * the tasks still write their results until the request's end cancels them */
    stripe *st = tern_alloc(req, (size_t)nstripes * sizeof *st);
    tern_task *tasks[MAX_STRIPES];
    size_t per = (size_t)(n / nstripes + 1); /* the most rows one stripe reads */
    tern_sql_arg *args = tern_alloc(req, per * (size_t)nstripes * sizeof *args);
    json_t **results = tern_alloc(req, per * (size_t)nstripes * sizeof *results);
    if (!st || !args || !results)
        return TERN_ENOMEM;
    for (int k = 0; k < nstripes; k++)
        st[k] = (stripe){.rows = rows, .first = k, .step = nstripes, .n = n,
                         .args = args + (size_t)k * per, .results = results + (size_t)k * per};
    st[0].conn = c;
    int spawned = 0;
    for (int k = 1; k < nstripes; k++) {
        if (!(tasks[spawned] = tern_spawn(run_stripe, &st[k])))
            break; /* coroutines ran out: the rest run here, after stripe 0 */
        spawned++;
    }
    run_stripe(&st[0]);
    for (int k = 1 + spawned; k < nstripes; k++)
        run_stripe(&st[k]);
    if (spawned) {
        int rc = tern_gather(tasks, (size_t)spawned, NULL);
        if (rc < 0)
            return rc;
    }
    for (int k = 0; k < nstripes; k++)
        if (st[k].rc < 0)
            return st[k].rc;
    return 0;
}

/* Random ids for an update, all different: one UPDATE then changes n rows, and the
 * response's values are the ones stored. n <= MAX_QUERIES, so a linear check is cheap
 * next to the round trips. */
static void distinct_ids(world *rows, int n)
{
    for (int i = 0; i < n; i++) {
        bool again;
        do {
            rows[i].id = random_number();
            again = false;
            for (int k = 0; k < i && !again; k++)
                again = rows[k].id == rows[i].id;
        } while (again);
    }
}

static int by_id(const void *a, const void *b)
{
    return ((const world *)a)->id - ((const world *)b)->id;
}

/* Writes every row's new value with one statement (the rules allow batching the
 * writes, not the reads), each row its own value:
 *   UPDATE world SET randomNumber = CASE id WHEN ? THEN ? ... END WHERE id IN (?, ...)
 * One statement and one commit instead of n: the database does a fraction of the
 * work. The text depends only on n, so each n is prepared once per connection. Ids go
 * in ascending order, the order InnoDB locks them in, so concurrent requests queue on
 * a row instead of deadlocking. */
static int write_rows(tern_req *req, tern_sql_conn *c, world *rows, int n)
{
    static const char head[] = "UPDATE world SET randomNumber = CASE id";
    static const char when[] = " WHEN ? THEN ?";
    static const char mid[] = " END WHERE id IN (?";
    size_t len = sizeof head + (size_t)n * (sizeof when - 1) + sizeof mid + (size_t)n * 2 + 2;
    char *sql = tern_alloc(req, len), *w = sql;
    tern_sql_arg *args = tern_alloc(req, 3 * (size_t)n * sizeof *args);
    qsort(rows, (size_t)n, sizeof *rows, by_id);
    w = stpcpy(w, head);
    for (int i = 0; i < n; i++) {
        w = stpcpy(w, when);
        args[2 * i] = TERN_I64(rows[i].id);
        args[2 * i + 1] = TERN_I64(rows[i].random_number);
        args[2 * n + i] = TERN_I64(rows[i].id);
    }
    w = stpcpy(w, mid);
    for (int i = 1; i < n; i++)
        w = stpcpy(w, ",?");
    stpcpy(w, ")");
    int rc = tern_sql_exec(c, NULL, sql, args, 3 * (size_t)n);
    if (rc == -EDEADLK) /* cannot happen with sorted ids; one retry should it anyway */
        rc = tern_sql_exec(c, NULL, sql, args, 3 * (size_t)n);
    return rc;
}

static json_t *world_rows(tern_req *req, bool update)
{
    int n = query_count(req, "queries");
    if (!tern_sql_default())
        return tern_error(req, 503, "MySQL is not configured");
    world *rows = tern_alloc(req, (size_t)n * sizeof *rows);
    if (update)
        distinct_ids(rows, n);
    else
        for (int i = 0; i < n; i++)
            rows[i] = (world){.id = random_number()};

    tern_sql_conn *c;
    int rc = tern_sql_acquire(tern_sql_default(), &c);
    if (rc == 0)
        rc = read_rows(req, c, rows, n);
    if (rc == 0 && update) {
        /* read first, then give each row its new value: the rules ask for both */
        for (int i = 0; i < n; i++)
            rows[i].random_number = random_number();
        rc = write_rows(req, c, rows, n);
    }
    if (rc < 0)
        return tern_error_from_code(req, rc);
    tern_sql_release(c);

    json_t *out = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(out, world_json(rows[i].id, rows[i].random_number));
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

/* A row and its message, so that sorting compares strings, not hash lookups. */
typedef struct fortune {
    json_t *row;
    const char *message;
} fortune;

static int by_message(const void *a, const void *b)
{
    return strcmp(((const fortune *)a)->message, ((const fortune *)b)->message);
}

static json_t *fortunes(tern_req *req)
{
    json_t *rows;
    int rc = tern_sql_rows(&rows, "SELECT id, message FROM fortune", NULL, 0);
    if (rc < 0)
        return tern_error_from_code(req, rc);
    json_t *extra = json_object();
    json_object_set_new_nocheck(extra, "id", json_integer(0));
    json_object_set_new_nocheck(extra, "message",
                                json_string("Additional fortune added at request time."));
    json_array_append_new(rows, extra);
    /* sort by message in code-point order (strcmp on UTF-8), as the rules ask */
    size_t n = json_array_size(rows);
    fortune *v = tern_alloc(req, n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i].row = json_array_get(rows, i);
        if (!json_is_string(json_object_get(v[i].row, "message")))
            json_object_set_new(v[i].row, "message", json_string("")); /* NULL message */
        v[i].message = json_string_value(json_object_get(v[i].row, "message"));
    }
    qsort(v, n, sizeof *v, by_message);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(sorted, v[i].row);
    json_decref(rows);
    json_t *ctx = json_object();
    json_object_set_new_nocheck(ctx, "fortunes", sorted);
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
        json_array_append_new(out, world_json(id, rn));
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
