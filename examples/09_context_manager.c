/* examples/09_context_manager.c - an async context manager: acquire, use, release on every path.
 *
 * Teaches: `async with pool.acquire() as conn:` guarantees the connection goes back even
 * when the block fails. C has no `with`, so the shape is a helper that acquires, runs the
 * block and releases whatever the block returned. (Inside a request you can also let the
 * request do it: tern_defer(req, fn, arg) runs fn when the request ends, on every path,
 * and a connection from tern_sql_acquire returns to its pool then by itself.)
 *
 *     async with pool.acquire() as conn:          # __aenter__
 *         async with conn.cursor() as cur:
 *             await cur.execute("SELECT 666")     # may raise
 *                                                 # __aexit__: always released
 *
 * Usage: 09_context_manager MYSQL_URL. Runs one block that succeeds and one that fails,
 * printing how many connections are lent out inside and after each. */
#include <stdio.h>
#include <tern/tern.h>

typedef int (*block_fn)(tern_sql_conn *c);

static unsigned in_use(tern_sql_pool *p)
{
    tern_pool_stats st;
    tern_sql_pool_stats(p, &st);
    return st.in_use;
}

/* async with: acquire (aenter), run the block, release (aexit) on success and error alike. */
static int with_connection(tern_sql_pool *p, const char *name, block_fn block)
{
    tern_sql_conn *c;
    int rc = tern_sql_acquire(p, &c);
    if (rc < 0)
        return rc; /* nothing acquired, nothing to release */
    printf("%s: enter, connections in use: %u\n", name, in_use(p));
    rc = block(c);
    tern_sql_release(c); /* the one exit every path goes through */
    printf("%s: exit (%s), connections in use: %u\n", name, rc < 0 ? "error" : "ok", in_use(p));
    return rc;
}

static int good_block(tern_sql_conn *c)
{
    json_t *row;
    int rc = tern_sql_query_row(c, &row, "SELECT 666 AS result", NULL, 0);
    if (rc == 1) {
        printf("result: %lld\n", (long long)json_integer_value(json_object_get(row, "result")));
        json_decref(row);
    }
    return rc < 0 ? rc : 0;
}

static int bad_block(tern_sql_conn *c)
{
    json_t *row;
    int rc = tern_sql_query_row(c, &row, "SELECT nope FROM no_such_table", NULL, 0);
    if (rc < 0) /* the "exception": report it and let with_connection clean up */
        printf("block failed as expected\n");
    else
        json_decref(row);
    return rc < 0 ? rc : 0;
}

static void *main_task(void *arg)
{
    tern_sql_opts o = {.url = arg};
    tern_sql_pool *p;
    if (tern_sql_pool_new(&o, &p) < 0)
        return (void *)1;
    int rc1 = with_connection(p, "good", good_block);
    int rc2 = with_connection(p, "bad", bad_block);
    printf("after both blocks, connections in use: %u\n", in_use(p));
    tern_sql_pool_free(p);
    return rc1 == 0 && rc2 < 0 ? NULL : (void *)1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s mysql://user:pass@127.0.0.1:3306/db\n", argv[0]);
        return 2;
    }
    void *err = NULL;
    int rc = tern_loop_run(main_task, argv[1], &err);
    if (rc < 0 || err) {
        fprintf(stderr, "failed: %d %s\n", rc, tern_errmsg());
        return 1;
    }
    return 0;
}
