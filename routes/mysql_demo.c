/* routes/mysql_demo.c - the asyncio tutorial's MySQL demo and TechEmpower's single
 * query: rows of the world table through the worker's pool. */
#include <stdlib.h>

#include "routes.h"

static json_t *mysql_demo(tern_req *req)
{
    json_t *rows;
    int rc = tern_sql_rows(&rows, "SELECT id, randomNumber FROM world WHERE id <= ? ORDER BY id",
                           TERN_SQL_ARGS(TERN_I64(5)));
    if (rc < 0)
        return tern_error_from_code(req, rc);
    return json_pack("{s:o}", "result", rows);
}

/* A random id 1..10000 per request; rand_r with a per-thread seed keeps workers apart. */
static int64_t random_id(void)
{
    static __thread unsigned seed;
    if (!seed)
        seed = (unsigned)(uintptr_t)&seed ^ (unsigned)tern_now_ms();
    return 1 + rand_r(&seed) % 10000;
}

static json_t *db(tern_req *req)
{
    json_t *row;
    int rc = tern_sql_row(&row, "SELECT id, randomNumber FROM world WHERE id = ?",
                          TERN_SQL_ARGS(TERN_I64(random_id())));
    if (rc < 0)
        return tern_error_from_code(req, rc);
    if (rc == 0)
        return tern_error(req, 404, "World row not found");
    return row;
}

/* Holds a connection for ms in the database (SELECT SLEEP): for timeout and fault drills. */
static json_t *db_sleep(tern_req *req)
{
    json_t *row;
    int64_t ms = tern_param_int(req, "ms");
    int rc = tern_sql_row(&row, "SELECT SLEEP(?) AS slept", TERN_SQL_ARGS(TERN_F64(ms / 1000.0)));
    if (rc < 0)
        return tern_error_from_code(req, rc);
    json_decref(row);
    return json_pack("{s:I}", "slept_ms", (json_int_t)ms);
}

static const tern_param db_sleep_params[] = {
    TERN_QUERY_INT("ms", TERN_REQUIRED, TERN_GE(0), TERN_LE(60000)),
    {0},
};

void routes_mysql_demo(tern_app *app)
{
    static const char *const tutorial[] = {"tutorial", NULL}, *const tfb[] = {"techempower", NULL};
    tern_get(app, "/db/sleep", db_sleep, .params = db_sleep_params,
             .summary = "Hold a database connection for ms (SELECT SLEEP)", .tags = tutorial);
    tern_get(app, "/mysql", mysql_demo, .summary = "The tutorial's MySQL demo", .tags = tutorial);
    tern_get(app, "/db", db, .summary = "TechEmpower single query", .tags = tfb);
}
