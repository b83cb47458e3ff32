/* tests/integration/mysql_pipe_helpers.h - what the two tern_sql_query_each test files
 * share: the private mariadbd, tables made as root, pools and connections on it, and
 * small checks. Included once per test program (static inline: each uses a part). */
#ifndef TERN_TEST_MYSQL_PIPE_HELPERS_H
#define TERN_TEST_MYSQL_PIPE_HELPERS_H

#include <criterion/criterion.h>

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends.h"
#include "loop_check.h"
#include "scheduler.h"
#include "tern/error.h"
#include "tern/sql.h"
#include "tern/task.h"

static backend be;

static inline void start(void)
{
    cr_assert_eq(backend_mariadb_start(&be), 0, "mariadbd did not start");
}

static inline void stop(void)
{
    backend_stop(&be);
}

/* Runs SQL as root through the server's socket (the test user may not create tables). */
static inline int root_sql(const char *sql)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "mariadb --no-defaults --default-character-set=utf8mb4 -uroot "
             "--socket=%s/mysql.sock hello_world",
             be.dir);
    FILE *f = popen(cmd, "w");
    if (!f)
        return -1;
    fputs(sql, f);
    return pclose(f) == 0 ? 0 : -1;
}

/* Runs sql as root (a table's creation), then grants the test user everything on table
 * (the user exists under three hosts); a Criterion assert, for a test's .init. */
static inline void create_for_user(const char *sql, const char *table)
{
    cr_assert_eq(root_sql(sql), 0, "could not create %s", table);
    char grants[512];
    int n = 0;
    const char *hosts[] = {"%", "localhost", "127.0.0.1"};
    for (int i = 0; i < 3; i++)
        n += snprintf(grants + n, sizeof grants - (size_t)n,
                      "GRANT ALL ON hello_world.%s TO 'benchmarkdbuser'@'%s';\n", table, hosts[i]);
    cr_assert_eq(root_sql(grants), 0, "could not grant %s", table);
}

static inline tern_sql_pool *open_pool(tern_sql_opts o)
{
    if (!o.url)
        o.url = be.url;
    tern_sql_pool *p = NULL;
    int rc = tern_sql_pool_new(&o, &p);
    CHECK(rc == 0 && p, "tern_sql_pool_new: %d (%s)", rc, tern_errmsg());
    return p;
}

static inline tern_pool_stats stats(tern_sql_pool *p)
{
    tern_pool_stats st;
    tern_sql_pool_stats(p, &st);
    return st;
}

/* A pool and one connection from it; false (with a failed CHECK) when either fails. */
static inline bool open_conn(tern_sql_opts o, tern_sql_pool **p, tern_sql_conn **c)
{
    *p = open_pool(o);
    if (!*p)
        return false;
    int rc = tern_sql_acquire(*p, c);
    CHECK(rc == 0, "acquire: %d (%s)", rc, tern_errmsg());
    if (rc < 0) {
        tern_sql_pool_free(*p);
        *p = NULL;
        return false;
    }
    return true;
}

/* Short printable JSON for failure messages (a static buffer: one use per message). */
static inline const char *dump(const json_t *j)
{
    static char out[2][400];
    static int which;
    char *buf = out[which++ & 1];
    if (!j)
        return "(NULL)";
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    snprintf(buf, sizeof out[0], "%s", s ? s : "(unprintable)");
    if (s && strlen(s) >= sizeof out[0])
        snprintf(buf + sizeof out[0] - 6, 6, "[...]");
    free(s);
    return buf;
}

static inline void free_results(json_t **results, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(results[i]);
        results[i] = NULL;
    }
}

/* Every results[i] must json_equal what tern_sql_query gives for set i on c. The
 * number of sets that differ (or could not be compared). */
static inline int differs_from_one_by_one(tern_sql_conn *c, json_t **results, const char *sql,
                                          const tern_sql_arg *args, size_t nargs, size_t nsets)
{
    int bad = 0;
    for (size_t i = 0; i < nsets; i++) {
        json_t *rows = NULL;
        int rc = tern_sql_query(c, &rows, sql, args + i * nargs, nargs);
        CHECK(rc == 0, "set %zu one by one: %d (%s)", i, rc, tern_errmsg());
        bool same = rc == 0 && results[i] && json_equal(results[i], rows);
        CHECK(same, "set %zu: pipelined %s, one by one %s", i, dump(results[i]), dump(rows));
        bad += !same;
        json_decref(rows);
    }
    return bad;
}

/* A session status counter (COM_STMT_PREPARE, ...) of c's session. */
static inline int64_t session_status(tern_sql_conn *c, const char *name)
{
    json_t *row = NULL;
    int rc = tern_sql_query_row(c, &row,
                                "SELECT CAST(VARIABLE_VALUE AS SIGNED) AS n "
                                "FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = ?",
                                TERN_SQL_ARGS(TERN_TEXT(name)));
    int64_t n = rc == 1 ? json_integer_value(json_object_get(row, "n")) : -1;
    json_decref(row);
    return n;
}

/* The randomNumber of world row id, or -1. */
static inline int64_t world_number(tern_sql_conn *c, int64_t id)
{
    json_t *row = NULL;
    int rc = tern_sql_query_row(c, &row, "SELECT randomNumber FROM world WHERE id = ?",
                                TERN_SQL_ARGS(TERN_I64(id)));
    int64_t n = rc == 1 ? json_integer_value(json_object_get(row, "randomNumber")) : -1;
    json_decref(row);
    return n;
}

/* Acquires, runs SELECT 1 and releases; the statement's code. */
static inline int one_query(tern_sql_pool *p)
{
    tern_sql_conn *c;
    int rc = tern_sql_acquire(p, &c);
    if (rc < 0)
        return rc;
    json_t *rows = NULL;
    rc = tern_sql_query(c, &rows, "SELECT 1 AS one", NULL, 0);
    if (rc == 0 && json_integer_value(json_object_get(json_array_get(rows, 0), "one")) != 1)
        rc = -EIO;
    json_decref(rows);
    tern_sql_release(c);
    return rc;
}

/* Retries SELECT 1 until it succeeds or ms pass; the time it took, or -1. */
static inline int64_t until_ok(tern_sql_pool *p, int ms)
{
    uint64_t t0 = wall_ms();
    while (wall_ms() - t0 < (uint64_t)ms) {
        if (one_query(p) == 0)
            return (int64_t)(wall_ms() - t0);
        tern_sleep(100);
    }
    return -1;
}

/* Acquires a connection and pipelines a world select over ids; 0 when every set came
 * back with its own row. */
static inline int pipelined_world(tern_sql_pool *p, int n)
{
    tern_sql_conn *c;
    int rc = tern_sql_acquire(p, &c);
    if (rc < 0)
        return rc;
    tern_sql_arg args[64];
    json_t *results[64];
    for (int i = 0; i < n && i < 64; i++)
        args[i] = TERN_I64(100 + i);
    rc = tern_sql_query_each(c, results, NULL, "SELECT id, randomNumber FROM world WHERE id = ?",
                             args, 1, (size_t)n);
    for (int i = 0; rc == 0 && i < n; i++)
        if (json_integer_value(json_object_get(json_array_get(results[i], 0), "id")) != 100 + i)
            rc = -EIO;
    free_results(results, (size_t)n);
    tern_sql_release(c);
    return rc;
}

#endif
