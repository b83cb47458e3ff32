/* examples/11_mysql.c - the MySQL demo on one, then two servers at once.
 *
 * Teaches: a MySQL pool made by hand; a query yields until the rows arrive, so two tasks
 * querying two servers overlap. The tutorial reads mysql.user; a user without rights there
 * (like the benchmark user) falls back to the world table of the hello_world database.
 *
 *     pool = await aiomysql.create_pool(host, port, user, password, db)
 *     async with pool.acquire() as conn:
 *         async with conn.cursor() as cur:
 *             await cur.execute("SELECT Host, User FROM mysql.user")
 *             print(await cur.fetchall())
 *
 * Usage: 11_mysql MYSQL_URL1 [MYSQL_URL2] (mysql://user:pass@127.0.0.1:3306/db). */
#include <stdio.h>
#include <stdlib.h>
#include <tern/tern.h>

typedef struct job {
    const char *url;
    const char *source; /* which query answered */
    char *rows;         /* JSON (malloc'd), NULL on failure */
} job;

static void *execute(void *arg)
{
    job *j = arg;
    j->source = "no connection";
    tern_sql_opts o = {.url = j->url, .pool_max = 1};
    tern_sql_pool *p;
    if (tern_sql_pool_new(&o, &p) < 0)
        return NULL;
    tern_sql_conn *c;
    json_t *rows = NULL;
    int rc = tern_sql_acquire(p, &c);
    if (rc == 0) {
        j->source = "mysql.user";
        rc = tern_sql_query(c, &rows, "SELECT Host, User FROM mysql.user ORDER BY User", NULL, 0);
        if (rc < 0) { /* no rights on mysql.user: the tutorial's fallback */
            j->source = "world";
            rc = tern_sql_query(c, &rows, "SELECT id FROM world WHERE id <= ? ORDER BY id",
                                TERN_SQL_ARGS(TERN_I64(3)));
        }
        tern_sql_release(c);
    }
    if (rc == 0) {
        j->rows = json_dumps(rows, JSON_COMPACT);
        json_decref(rows);
    } else {
        fprintf(stderr, "%s: %d %s\n", j->url, rc, tern_errmsg());
    }
    tern_sql_pool_free(p);
    return NULL;
}

static void *main_task(void *arg)
{
    char **urls = arg;
    job one = {.url = urls[0]};
    execute(&one);
    printf("one server (%s): %s\n", one.source, one.rows ? one.rows : "(failed)");

    job two[2] = {{.url = urls[0]}, {.url = urls[1] ? urls[1] : urls[0]}};
    tern_task *t[2] = {tern_spawn(execute, &two[0]), tern_spawn(execute, &two[1])};
    if (!t[0] || !t[1])
        return (void *)1;
    tern_gather(t, 2, NULL);
    for (int i = 0; i < 2; i++)
        printf("server %d (%s): %s\n", i + 1, two[i].source,
               two[i].rows ? two[i].rows : "(failed)");
    bool ok = one.rows && two[0].rows && two[1].rows;
    free(one.rows);
    free(two[0].rows);
    free(two[1].rows);
    return ok ? NULL : (void *)1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s mysql://user:pass@127.0.0.1:3306/db [mysql://...]\n", argv[0]);
        return 2;
    }
    void *err = NULL;
    int rc = tern_loop_run(main_task, argv + 1, &err);
    if (rc < 0 || err) {
        fprintf(stderr, "failed: %d %s\n", rc, tern_errmsg());
        return 1;
    }
    return 0;
}
