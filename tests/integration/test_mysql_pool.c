/* tests/integration/test_mysql_pool.c - the MySQL pool against a private mariadbd with
 * the TechEmpower schema: a world row by id, one statement at a time per connection, 20
 * concurrent callers over four connections, column types to JSON, affected rows and
 * insert ids, transactions (rollback, commit, release inside one), a cursor streaming
 * all 10,000 world rows, acquire and statement timeouts, a killed and restarted server,
 * a frozen and thawed server, a session killed server-side, recycling, the statement
 * cache, connections returned when a scope ends, freeing the pool under its users, SQL
 * injection through a parameter, URL validation, and the scheduler's scope cleanups the
 * pool relies on.
 *
 * Every test runs inside tern_loop_run. Criterion's asserts unwind with longjmp, which
 * must not cross a coroutine switch: coroutines record the first failed CHECK and the
 * test asserts on it after the loop returns. Timing bounds are wide on purpose (shared
 * 2-core machines); they still tell "failed at once" from "waited for a timeout". */
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

static void start(void)
{
    cr_assert_eq(backend_mariadb_start(&be), 0, "mariadbd did not start");
}

static void stop(void)
{
    backend_stop(&be);
}

TestSuite(mysql_pool, .init = start, .fini = stop, .timeout = 120);

/* Runs SQL as root through the server's socket (the test user may not create tables). */
static int root_sql(const char *sql)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mariadb --no-defaults -uroot --socket=%s/mysql.sock hello_world",
             be.dir);
    FILE *f = popen(cmd, "w");
    if (!f)
        return -1;
    fputs(sql, f);
    return pclose(f) == 0 ? 0 : -1;
}

static tern_sql_pool *open_pool(tern_sql_opts o)
{
    if (!o.url)
        o.url = be.url;
    tern_sql_pool *p = NULL;
    int rc = tern_sql_pool_new(&o, &p);
    CHECK(rc == 0 && p, "tern_sql_pool_new: %d (%s)", rc, tern_errmsg());
    return p;
}

static tern_pool_stats stats(tern_sql_pool *p)
{
    tern_pool_stats st;
    tern_sql_pool_stats(p, &st);
    return st;
}

/* Acquires and runs one statement; returns its code (rows, if asked, to *out). */
static int one_query(tern_sql_pool *p, const char *sql, json_t **out)
{
    tern_sql_conn *c;
    int rc = tern_sql_acquire(p, &c);
    if (rc < 0)
        return rc;
    json_t *rows = NULL;
    rc = tern_sql_query(c, &rows, sql, NULL, 0);
    tern_sql_release(c);
    if (out)
        *out = rows;
    else
        json_decref(rows);
    return rc;
}

/* Retries SELECT 1 until it succeeds or ms pass; the time it took, or -1. */
static int64_t until_ok(tern_sql_pool *p, int ms)
{
    uint64_t t0 = wall_ms();
    while (wall_ms() - t0 < (uint64_t)ms) {
        if (one_query(p, "SELECT 1 AS one", NULL) == 0)
            return (int64_t)(wall_ms() - t0);
        tern_sleep(100);
    }
    return -1;
}

static int64_t count_where(tern_sql_conn *c, const char *sql, const char *arg)
{
    json_t *row = NULL;
    int rc = tern_sql_query_row(c, &row, sql, TERN_SQL_ARGS(TERN_TEXT(arg)));
    int64_t n = rc == 1 ? json_integer_value(json_object_get(row, "n")) : -1;
    json_decref(row);
    return n;
}

/* ---- rows ---- */

static void *world_row_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){0});
    if (!p)
        return NULL;
    tern_sql_conn *c;
    int rc = tern_sql_acquire(p, &c);
    CHECK(rc == 0, "acquire: %d (%s)", rc, tern_errmsg());
    if (rc == 0) {
        json_t *row = NULL;
        rc = tern_sql_query_row(c, &row, "SELECT id, randomNumber FROM world WHERE id = ?",
                                TERN_SQL_ARGS(TERN_I64(42)));
        CHECK(rc == 1, "query_row: %d (%s)", rc, tern_errmsg());
        CHECK(json_is_object(row) && json_object_size(row) == 2, "not a 2-key object");
        json_t *id = json_object_get(row, "id"), *rn = json_object_get(row, "randomNumber");
        CHECK(json_is_integer(id) && json_integer_value(id) == 42, "id is not 42");
        CHECK(json_is_integer(rn) && json_integer_value(rn) >= 1 && json_integer_value(rn) <= 10000,
              "randomNumber out of range");
        json_decref(row);
        rc = tern_sql_query_row(c, &row, "SELECT id FROM world WHERE id = ?",
                                TERN_SQL_ARGS(TERN_I64(10001)));
        CHECK(rc == 0 && row == NULL, "missing row: %d", rc);
        json_t *rows = NULL;
        rc = tern_sql_query(c, &rows, "SELECT id, message FROM fortune ORDER BY id", NULL, 0);
        CHECK(rc == 0 && json_array_size(rows) == 12, "fortunes: %d, %zu rows", rc,
              json_array_size(rows));
        const char *m = json_string_value(json_object_get(json_array_get(rows, 0), "message"));
        CHECK(m && strcmp(m, "fortune: No such file or directory") == 0, "fortune 1: %s",
              m ? m : "(null)");
        json_decref(rows);
        rc = tern_sql_query(c, &rows, "SELEKT nonsense", NULL, 0);
        CHECK(rc < 0 && strstr(tern_errmsg(), "1064"), "syntax error: %d (%s)", rc, tern_errmsg());
        rc = tern_sql_query_row(c, &row, "SELECT ? AS x", TERN_SQL_ARGS(TERN_I64(1), TERN_I64(2)));
        CHECK(rc == -EINVAL, "argument count mismatch: %d", rc);
        rc = tern_sql_query_row(c, &row, "SELECT 7 AS x", NULL, 0);
        CHECK(rc == 1, "connection unusable after errors: %d (%s)", rc, tern_errmsg());
        json_decref(row);
        tern_sql_release(c);
        rc = tern_sql_query_row(c, &row, "SELECT 1", NULL, 0);
        CHECK(rc == -EINVAL, "use after release: %d", rc);
    }
    tern_pool_stats st = stats(p);
    CHECK(st.connections >= 1 && st.in_use == 0, "stats: %u open, %u in use", st.connections,
          st.in_use);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, world_row_by_id)
{
    run(world_row_main);
}

/* ---- one operation at a time ---- */

static int sleeper_rc = 1;

static void *sleep_on(void *arg)
{
    json_t *rows = NULL;
    sleeper_rc = tern_sql_query(arg, &rows, "SELECT SLEEP(0.3) AS s", NULL, 0);
    json_decref(rows);
    return NULL;
}

static void *one_at_a_time_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_max = 1});
    tern_sql_conn *c;
    if (!p || tern_sql_acquire(p, &c) < 0) {
        CHECK(0, "no connection: %s", tern_errmsg());
        return NULL;
    }
    tern_task *t = tern_spawn(sleep_on, c);
    tern_sleep(50);
    json_t *rows = NULL;
    int rc = tern_sql_query(c, &rows, "SELECT 1 AS one", NULL, 0);
    CHECK(rc == -EBUSY, "second statement on a busy connection: %d", rc);
    /* released by another task mid-statement: it goes back once the statement ends */
    tern_sql_release(c);
    CHECK(stats(p).in_use == 1, "returned while still busy");
    tern_task_join(t, NULL);
    CHECK(sleeper_rc == 0, "the running statement failed: %d (%s)", sleeper_rc, tern_errmsg());
    CHECK(stats(p).in_use == 0 && stats(p).idle == 1, "not returned after the statement");
    CHECK(one_query(p, "SELECT 1 AS one", NULL) == 0, "pool: %s", tern_errmsg());
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, one_operation_at_a_time)
{
    run(one_at_a_time_main);
}

/* ---- 20 callers over four connections ---- */

static unsigned peak_connections, peak_waiting;
static int concurrent_ok;

static void *one_caller(void *arg)
{
    tern_sql_pool *p = arg;
    tern_sql_conn *c;
    int rc = tern_sql_acquire(p, &c);
    CHECK(rc == 0, "acquire: %d (%s)", rc, tern_errmsg());
    if (rc < 0)
        return NULL;
    tern_pool_stats st = stats(p);
    if (st.connections > peak_connections)
        peak_connections = st.connections;
    if (st.waiting > peak_waiting)
        peak_waiting = st.waiting;
    json_t *row = NULL;
    int64_t id = 1 + (int64_t)(wall_ms() % 10000);
    /* the sleep keeps each connection busy long enough for the others to queue */
    rc = tern_sql_query_row(c, &row, "SELECT id, SLEEP(0.05) AS s FROM world WHERE id = ?",
                            TERN_SQL_ARGS(TERN_I64(id)));
    CHECK(rc == 1, "query: %d (%s)", rc, tern_errmsg());
    if (rc == 1 && json_integer_value(json_object_get(row, "id")) == id)
        concurrent_ok++;
    json_decref(row);
    tern_sql_release(c);
    return NULL;
}

static void *concurrent_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p =
        open_pool((tern_sql_opts){.pool_min = 1, .pool_max = 4, .acquire_timeout_ms = 10000});
    if (!p)
        return NULL;
    tern_task *tasks[20];
    for (int i = 0; i < 20; i++)
        tasks[i] = tern_spawn(one_caller, p);
    CHECK(tern_gather(tasks, 20, NULL) == 0, "gather failed");
    tern_pool_stats st = stats(p);
    CHECK(concurrent_ok == 20, "%d of 20 queries succeeded", concurrent_ok);
    CHECK(peak_connections <= 4 && st.connections <= 4, "%u connections (max 4)", peak_connections);
    CHECK(peak_connections >= 2, "only %u connection(s) used", peak_connections);
    CHECK(peak_waiting >= 1, "nobody ever waited");
    CHECK(st.in_use == 0 && st.waiting == 0 && st.timeouts == 0, "stats after: %u %u %llu",
          st.in_use, st.waiting, (unsigned long long)st.timeouts);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, twenty_callers_over_four_connections)
{
    run(concurrent_main);
}

/* ---- types ---- */

static const char types_schema[] =
    "CREATE TABLE types_test (id INT AUTO_INCREMENT PRIMARY KEY, i INT, b BIGINT, "
    "u BIGINT UNSIGNED, d DOUBLE, f FLOAT, m DECIMAL(10,2), v VARCHAR(50), t TEXT, bl BLOB, "
    "dt DATE, ts DATETIME, tm DATETIME(6), n INT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
    "GRANT ALL ON hello_world.types_test TO 'benchmarkdbuser'@'%';\n"
    "GRANT ALL ON hello_world.types_test TO 'benchmarkdbuser'@'localhost';\n"
    "GRANT ALL ON hello_world.types_test TO 'benchmarkdbuser'@'127.0.0.1';\n";

/* Runs after the suite's start(): Criterion calls both. */
static void types_setup(void)
{
    cr_assert_eq(root_sql(types_schema), 0, "could not create types_test");
}

static void *types_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){0});
    tern_sql_conn *c;
    if (!p || tern_sql_acquire(p, &c) < 0) {
        CHECK(0, "no connection: %s", tern_errmsg());
        return NULL;
    }
    static char long_buf[2001];
    memset(long_buf, 'x', 2000);
    const char *long_text = long_buf; /* a pointer: TERN_TEXT tests it for NULL */
    const char *no_text = NULL;
    static const char blob[] = {'b', 'l', 0, 'b'};
    tern_sql_result res = {0};
    int rc = tern_sql_exec(c, &res,
                           "INSERT INTO types_test (i, b, u, d, f, m, v, t, bl, dt, ts, tm, n) "
                           "VALUES (?, ?, 18446744073709551615, ?, 0.1, ?, ?, ?, ?, ?, ?, "
                           "'2024-02-29 13:14:15.123456', ?)",
                           TERN_SQL_ARGS(TERN_I64(-7), TERN_I64(9007199254740993LL), TERN_F64(2.5),
                                         TERN_TEXT("12345.67"), TERN_TEXT("h\xc3\xa9llo"),
                                         TERN_TEXT(long_text), TERN_BYTES(blob, sizeof blob),
                                         TERN_TEXT("2024-02-29"), TERN_TEXT("2024-02-29 13:14:15"),
                                         TERN_SQLNULL));
    CHECK(rc == 0 && res.affected_rows == 1 && res.insert_id >= 1, "insert: %d (%s)", rc,
          tern_errmsg());
    json_t *row = NULL;
    rc = tern_sql_query_row(c, &row,
                            "SELECT i, b, u, d, f, m, v, bl, dt, ts, tm, n, NULL AS z "
                            "FROM types_test WHERE id = ?",
                            TERN_SQL_ARGS(TERN_I64((int64_t)res.insert_id)));
    CHECK(rc == 1, "select: %d (%s)", rc, tern_errmsg());
    json_t *want = json_loads(
        "{\"i\": -7, \"b\": 9007199254740993, \"u\": \"18446744073709551615\", \"d\": 2.5,"
        " \"f\": 0.1, \"m\": \"12345.67\", \"v\": \"h\\u00e9llo\", \"bl\": \"bl\\u0000b\","
        " \"dt\": \"2024-02-29\", \"ts\": \"2024-02-29T13:14:15\","
        " \"tm\": \"2024-02-29T13:14:15.123456\", \"n\": null, \"z\": null}",
        JSON_ALLOW_NUL, NULL);
    char *got = row ? json_dumps(row, JSON_SORT_KEYS) : NULL;
    CHECK(want && row && json_equal(row, want), "row: %s", got ? got : "(none)");
    free(got);
    json_decref(want);
    json_decref(row);
    /* a value longer than the column buffer comes back whole */
    rc = tern_sql_query_row(c, &row, "SELECT t FROM types_test WHERE id = ?",
                            TERN_SQL_ARGS(TERN_I64((int64_t)res.insert_id)));
    const char *t = json_string_value(json_object_get(row, "t"));
    CHECK(rc == 1 && t && strcmp(t, long_text) == 0, "long text: %zu chars", t ? strlen(t) : 0);
    json_decref(row);
    /* parameters come back with their own types */
    rc = tern_sql_query_row(c, &row, "SELECT ? + 0 AS i, ? AS s, ? IS NULL AS isnull",
                            TERN_SQL_ARGS(TERN_I64(-42), TERN_TEXT("x'y\"z"), TERN_TEXT(no_text)));
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "i")) == -42 &&
              strcmp(json_string_value(json_object_get(row, "s")) ?: "", "x'y\"z") == 0 &&
              json_integer_value(json_object_get(row, "isnull")) == 1,
          "parameter echo: %d", rc);
    json_decref(row);
    tern_sql_release(c);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, types_to_json, .init = types_setup)
{
    run(types_main);
}

/* ---- exec ---- */

static void *exec_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){0});
    tern_sql_conn *c;
    if (!p || tern_sql_acquire(p, &c) < 0) {
        CHECK(0, "no connection: %s", tern_errmsg());
        return NULL;
    }
    tern_sql_result res = {99, 99};
    int rc = tern_sql_exec(c, &res, "UPDATE world SET randomNumber = ? WHERE id <= ?",
                           TERN_SQL_ARGS(TERN_I64(77777), TERN_I64(3)));
    CHECK(rc == 0 && res.affected_rows == 3 && res.insert_id == 0, "update: %d, %llu rows", rc,
          (unsigned long long)res.affected_rows);
    rc = tern_sql_exec(c, &res, "UPDATE world SET randomNumber = ? WHERE id = ?",
                       TERN_SQL_ARGS(TERN_I64(77777), TERN_I64(1)));
    CHECK(rc == 0 && res.affected_rows == 0, "unchanged row counted: %llu",
          (unsigned long long)res.affected_rows);
    rc = tern_sql_exec(c, &res, "INSERT INTO fortune (message) VALUES (?)",
                       TERN_SQL_ARGS(TERN_TEXT("a new fortune")));
    CHECK(rc == 0 && res.affected_rows == 1 && res.insert_id == 13, "insert: %d, id %llu", rc,
          (unsigned long long)res.insert_id);
    rc = tern_sql_exec(c, NULL, "DELETE FROM fortune WHERE id = ?", TERN_SQL_ARGS(TERN_I64(13)));
    CHECK(rc == 0, "delete: %d (%s)", rc, tern_errmsg());
    rc = tern_sql_exec(c, &res, "INSERT INTO fortune (id, message) VALUES (?, ?)",
                       TERN_SQL_ARGS(TERN_I64(1), TERN_TEXT("duplicate")));
    CHECK(rc == -EEXIST, "duplicate key: %d (%s)", rc, tern_errmsg());
    tern_sql_release(c);
    tern_pool_stats st = stats(p);
    CHECK(st.errors >= 1, "failed statement not counted");
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, exec_affected_rows_and_insert_id)
{
    run(exec_main);
}

/* ---- transactions ---- */

static void *tx_main(void *arg)
{
    (void)arg;
    /* one connection: the check after a release runs on the very session that held the
     * transaction, which would see its own uncommitted row */
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_max = 1});
    tern_sql_conn *c;
    if (!p || tern_sql_acquire(p, &c) < 0) {
        CHECK(0, "no connection: %s", tern_errmsg());
        return NULL;
    }
    const char *ins = "INSERT INTO fortune (message) VALUES (?)";
    const char *cnt = "SELECT COUNT(*) AS n FROM fortune WHERE message = ?";
    CHECK(tern_sql_begin(c) == 0, "begin: %s", tern_errmsg());
    CHECK(tern_sql_exec(c, NULL, ins, TERN_SQL_ARGS(TERN_TEXT("tx-rollback"))) == 0, "insert");
    CHECK(count_where(c, cnt, "tx-rollback") == 1, "own insert not visible");
    CHECK(tern_sql_rollback(c) == 0, "rollback: %s", tern_errmsg());
    CHECK(count_where(c, cnt, "tx-rollback") == 0, "rolled back row still there");

    CHECK(tern_sql_begin(c) == 0, "begin: %s", tern_errmsg());
    CHECK(tern_sql_exec(c, NULL, ins, TERN_SQL_ARGS(TERN_TEXT("tx-commit"))) == 0, "insert");
    CHECK(tern_sql_commit(c) == 0, "commit: %s", tern_errmsg());
    CHECK(count_where(c, cnt, "tx-commit") == 1, "committed row missing");

    CHECK(tern_sql_begin(c) == 0, "begin: %s", tern_errmsg());
    CHECK(tern_sql_exec(c, NULL, ins, TERN_SQL_ARGS(TERN_TEXT("tx-released"))) == 0, "insert");
    tern_sql_release(c);
    CHECK(tern_sql_acquire(p, &c) == 0, "acquire after release: %s", tern_errmsg());
    CHECK(count_where(c, cnt, "tx-released") == 0, "release did not roll back");
    CHECK(count_where(c, cnt, "tx-commit") == 1, "committed row lost");
    /* a transaction opened by a plain statement is caught too */
    CHECK(tern_sql_exec(c, NULL, "START TRANSACTION", NULL, 0) == 0, "START TRANSACTION: %s",
          tern_errmsg());
    CHECK(tern_sql_exec(c, NULL, ins, TERN_SQL_ARGS(TERN_TEXT("tx-plain"))) == 0, "insert");
    tern_sql_release(c);
    CHECK(tern_sql_acquire(p, &c) == 0, "acquire: %s", tern_errmsg());
    CHECK(count_where(c, cnt, "tx-plain") == 0, "plain START TRANSACTION not rolled back");
    tern_sql_release(c);
    tern_pool_stats st = stats(p);
    CHECK(st.connections == 1 && st.reconnects == 0, "the connection was replaced (%u, %llu)",
          st.connections, (unsigned long long)st.reconnects);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, transactions)
{
    run(tx_main);
}

/* ---- cursors ---- */

static bool streaming;
static unsigned ticks;

static void *ticker(void *arg)
{
    (void)arg;
    while (streaming) {
        ticks++;
        tern_sleep(0); /* one turn of the loop */
    }
    return NULL;
}

static void *cursor_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){0});
    tern_sql_conn *c;
    if (!p || tern_sql_acquire(p, &c) < 0) {
        CHECK(0, "no connection: %s", tern_errmsg());
        return NULL;
    }
    streaming = true;
    tern_task *tick = tern_spawn(ticker, NULL);
    tern_sql_cursor *cur = NULL;
    int rc = tern_sql_cursor_open(c, &cur,
                                  "SELECT id, randomNumber FROM world WHERE id > ? "
                                  "ORDER BY id",
                                  TERN_SQL_ARGS(TERN_I64(0)));
    CHECK(rc == 0, "cursor open: %d (%s)", rc, tern_errmsg());
    int64_t n = 0, last = 0;
    bool in_order = true, side_query_ok = false;
    json_t *row;
    while (cur && (rc = tern_sql_cursor_next(cur, &row)) == 1) {
        int64_t id = json_integer_value(json_object_get(row, "id"));
        in_order &= id == last + 1;
        last = id;
        n++;
        json_decref(row);
        if (n == 5000) {
            /* the rows wait on the server: the connection runs other statements */
            json_t *one = NULL;
            side_query_ok =
                tern_sql_query_row(c, &one, "SELECT COUNT(*) AS n FROM fortune", NULL, 0) == 1 &&
                json_integer_value(json_object_get(one, "n")) == 12;
            json_decref(one);
        }
    }
    streaming = false;
    tern_task_join(tick, NULL);
    CHECK(rc == 0, "cursor next: %d (%s)", rc, tern_errmsg());
    CHECK(n == 10000 && in_order, "%lld rows, in order: %d", (long long)n, in_order);
    CHECK(side_query_ok, "statement beside the open cursor failed: %s", tern_errmsg());
    CHECK(ticks >= 20, "the loop ran only %u other turns while rows streamed", ticks);
    /* the rows came in batches, one COM_STMT_FETCH each, not in one result */
    int64_t fetches = count_where(c,
                                  "SELECT CAST(VARIABLE_VALUE AS SIGNED) AS n FROM "
                                  "information_schema.SESSION_STATUS WHERE VARIABLE_NAME = ?",
                                  "COM_STMT_FETCH");
    CHECK(fetches >= 10000 / 256, "%lld COM_STMT_FETCH for 10,000 rows", (long long)fetches);
    tern_sql_cursor_close(cur);
    CHECK(tern_sql_cursor_next(cur, &row) == -EINVAL, "next after close");

    /* closed early: the rest never crosses the wire, the connection goes on */
    rc = tern_sql_cursor_open(c, &cur, "SELECT id FROM world ORDER BY id", NULL, 0);
    for (int i = 0; rc == 0 && i < 10; i++) {
        CHECK(tern_sql_cursor_next(cur, &row) == 1, "early row %d", i);
        json_decref(row);
    }
    tern_sql_cursor_close(cur);
    json_t *one = NULL;
    rc = tern_sql_query_row(c, &one, "SELECT id FROM world WHERE id = ?",
                            TERN_SQL_ARGS(TERN_I64(10000)));
    CHECK(rc == 1, "query after an early close: %d (%s)", rc, tern_errmsg());
    json_decref(one);

    /* left open at release: the pool closes it in the background */
    rc = tern_sql_cursor_open(c, &cur, "SELECT id FROM world ORDER BY id", NULL, 0);
    CHECK(rc == 0 && tern_sql_cursor_next(cur, &row) == 1, "third cursor");
    json_decref(row);
    tern_sql_release(c);
    CHECK(tern_sql_cursor_next(cur, &row) == -EINVAL, "cursor outlived its connection");
    tern_sql_cursor_close(cur);
    for (int i = 0; i < 100 && stats(p).in_use; i++)
        tern_sleep(10);
    tern_pool_stats st = stats(p);
    CHECK(st.in_use == 0 && st.idle == 1 && st.errors == 0,
          "after release: %u in use, "
          "%u idle, %llu errors",
          st.in_use, st.idle, (unsigned long long)st.errors);
    CHECK(one_query(p, "SELECT 1 AS one", NULL) == 0, "pool unusable: %s", tern_errmsg());
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, cursor_streams_all_world_rows)
{
    run(cursor_main);
}

/* ---- timeouts ---- */

static void *hold_one(void *arg)
{
    tern_sql_pool *p = arg;
    tern_sql_conn *c;
    CHECK(tern_sql_acquire(p, &c) == 0, "holder: %s", tern_errmsg());
    tern_sleep(1500);
    tern_sql_release(c);
    return NULL;
}

static void *acquire_timeout_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_max = 1, .acquire_timeout_ms = 300});
    if (!p)
        return NULL;
    tern_task *holder = tern_spawn(hold_one, p);
    tern_sleep(200); /* the holder connects and takes the only connection */
    tern_sql_conn *c;
    uint64_t t0 = wall_ms();
    int rc = tern_sql_acquire(p, &c);
    uint64_t spent = wall_ms() - t0;
    CHECK(rc == TERN_EUNAVAILABLE, "acquire: %d (%s)", rc, tern_errmsg());
    CHECK(spent >= 250 && spent < 1200, "gave up after %llu ms (timeout 300)",
          (unsigned long long)spent);
    tern_pool_stats st = stats(p);
    CHECK(st.timeouts == 1 && st.connections == 1 && st.in_use == 1, "stats: %llu, %u, %u",
          (unsigned long long)st.timeouts, st.connections, st.in_use);
    tern_task_join(holder, NULL);
    rc = tern_sql_acquire(p, &c);
    CHECK(rc == 0, "acquire after the release: %d (%s)", rc, tern_errmsg());
    if (rc == 0)
        tern_sql_release(c);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, acquire_times_out)
{
    run(acquire_timeout_main);
}

static void *query_timeout_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_max = 2, .query_timeout_ms = 300});
    tern_sql_conn *c;
    if (!p || tern_sql_acquire(p, &c) < 0) {
        CHECK(0, "no connection: %s", tern_errmsg());
        return NULL;
    }
    json_t *rows = NULL;
    uint64_t t0 = wall_ms();
    int rc = tern_sql_query(c, &rows, "SELECT SLEEP(3) AS s", NULL, 0);
    uint64_t spent = wall_ms() - t0;
    CHECK(rc == TERN_ETIMEDOUT, "SLEEP(3): %d (%s)", rc, tern_errmsg());
    CHECK(spent >= 250 && spent < 1500, "timed out after %llu ms (timeout 300)",
          (unsigned long long)spent);
    CHECK(rows == NULL, "rows from a failed query");
    rc = tern_sql_query(c, &rows, "SELECT 1 AS one", NULL, 0);
    CHECK(rc == TERN_EUNAVAILABLE, "the cut-off connection still answered: %d", rc);
    tern_sql_release(c);
    t0 = wall_ms();
    rc = one_query(p, "SELECT 1 AS one", &rows);
    CHECK(rc == 0 && json_integer_value(json_object_get(json_array_get(rows, 0), "one")) == 1,
          "pool after a timeout: %d (%s)", rc, tern_errmsg());
    CHECK(wall_ms() - t0 < 1500, "recovery took %llu ms", (unsigned long long)(wall_ms() - t0));
    json_decref(rows);
    tern_pool_stats st = stats(p);
    CHECK(st.timeouts == 1 && st.in_use == 0, "stats: %llu timeouts, %u in use",
          (unsigned long long)st.timeouts, st.in_use);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, query_times_out_and_pool_recovers)
{
    run(query_timeout_main);
}

/* ---- server failures ---- */

static void *kill_restart_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p =
        open_pool((tern_sql_opts){.pool_min = 2, .pool_max = 4, .connect_timeout_ms = 1000});
    if (!p)
        return NULL;
    CHECK(until_ok(p, 5000) >= 0, "no first answer: %s", tern_errmsg());
    tern_run_blocking(backend_kill_blocking, &be, NULL);
    for (int i = 0; i < 5; i++) {
        uint64_t t0 = wall_ms();
        int rc = one_query(p, "SELECT 1 AS one", NULL);
        uint64_t spent = wall_ms() - t0;
        CHECK(rc == TERN_EUNAVAILABLE, "query %d with the server dead: %d (%s)", i, rc,
              tern_errmsg());
        CHECK(spent < 800, "query %d took %llu ms to fail", i, (unsigned long long)spent);
        tern_sleep(50);
    }
    CHECK(!tern_sql_pool_ready(p), "ready with the server dead");
    void *started = NULL;
    tern_run_blocking(backend_restart_blocking, &be, &started);
    CHECK(started, "backend_restart failed");
    int64_t took = until_ok(p, 15000);
    CHECK(took >= 0, "never recovered: %s", tern_errmsg());
    CHECK(tern_sql_pool_ready(p), "not ready after recovery");
    tern_pool_stats st = stats(p);
    CHECK(st.reconnects > 0 && st.errors > 0, "stats: %llu reconnects, %llu errors",
          (unsigned long long)st.reconnects, (unsigned long long)st.errors);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, server_killed_and_restarted)
{
    run(kill_restart_main);
}

/* True once every thread of the server is stopped: kill() returns before they are. */
static bool server_stopped(void)
{
    for (int i = 0; i < 200; i++) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)be.pid);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        const char *close_paren = strrchr(buf, ')');
        if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'T')
            return true;
        tern_sleep(10);
    }
    return false;
}

static void *freeze_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_min = 1,
                                                 .pool_max = 2,
                                                 .query_timeout_ms = 300,
                                                 .connect_timeout_ms = 500,
                                                 .acquire_timeout_ms = 800});
    if (!p)
        return NULL;
    CHECK(until_ok(p, 5000) >= 0, "no first answer: %s", tern_errmsg());
    backend_signal(&be, SIGSTOP);
    CHECK(server_stopped(), "the server did not stop");
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = wall_ms();
        int rc = one_query(p, "SELECT 1 AS one", NULL);
        uint64_t spent = wall_ms() - t0;
        CHECK(rc == TERN_ETIMEDOUT || rc == TERN_EUNAVAILABLE,
              "query %d with the server frozen: %d (%s)", i, rc, tern_errmsg());
        CHECK(spent < 2500, "query %d took %llu ms", i, (unsigned long long)spent);
    }
    tern_pool_stats st = stats(p);
    CHECK(st.timeouts >= 1, "no timeout counted");
    /* a pool freed while its connects hang on the frozen server */
    tern_sql_pool *q = open_pool((tern_sql_opts){.pool_min = 2, .connect_timeout_ms = 5000});
    tern_sleep(100);
    CHECK(q && stats(q).connections == 0, "connected to a frozen server");
    tern_sql_pool_free(q);
    backend_signal(&be, SIGCONT);
    int64_t took = until_ok(p, 10000);
    CHECK(took >= 0, "never recovered after SIGCONT: %s", tern_errmsg());
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, server_frozen_and_thawed)
{
    run(freeze_main);
}

/* The server ends an idle session: the pool notices, replaces it, prepares again. */
static void *killed_session_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_min = 1, .pool_max = 1});
    json_t *rows = NULL;
    if (!p || one_query(p, "SELECT CONNECTION_ID() AS id", &rows) < 0) {
        CHECK(0, "no first answer: %s", tern_errmsg());
        return NULL;
    }
    int64_t id = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
    json_decref(rows);
    char sql[64];
    snprintf(sql, sizeof sql, "KILL %lld;\n", (long long)id);
    CHECK(root_sql(sql) == 0, "KILL failed");
    for (int i = 0; i < 100 && stats(p).reconnects == 0; i++)
        tern_sleep(20);
    tern_pool_stats st = stats(p);
    CHECK(st.reconnects == 1 && st.errors >= 1, "killed session not replaced: %llu, %llu",
          (unsigned long long)st.reconnects, (unsigned long long)st.errors);
    int rc = one_query(p, "SELECT CONNECTION_ID() AS id", &rows);
    CHECK(rc == 0, "same statement on the new session: %d (%s)", rc, tern_errmsg());
    int64_t id2 = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
    CHECK(id2 != id && id2 > 0, "still session %lld", (long long)id2);
    json_decref(rows);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, killed_session_is_replaced)
{
    run(killed_session_main);
}

static void *recycle_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_max = 1, .recycle_s = 1, .idle_ping_ms = 1});
    json_t *rows = NULL;
    if (!p || one_query(p, "SELECT CONNECTION_ID() AS id", &rows) < 0) {
        CHECK(0, "no first answer: %s", tern_errmsg());
        return NULL;
    }
    int64_t id = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
    json_decref(rows);
    tern_sleep(20); /* idle past idle_ping_ms: pinged, same session */
    CHECK(one_query(p, "SELECT CONNECTION_ID() AS id", &rows) == 0, "%s", tern_errmsg());
    CHECK(json_integer_value(json_object_get(json_array_get(rows, 0), "id")) == id,
          "a healthy pinged connection was replaced");
    json_decref(rows);
    tern_sleep(1100);
    CHECK(one_query(p, "SELECT CONNECTION_ID() AS id", &rows) == 0, "%s", tern_errmsg());
    CHECK(json_integer_value(json_object_get(json_array_get(rows, 0), "id")) != id,
          "not recycled after recycle_s");
    json_decref(rows);
    CHECK(stats(p).reconnects == 1, "recycling not counted");
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, recycles_old_connections)
{
    run(recycle_main);
}

static void *cache_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_max = 1});
    tern_sql_conn *c;
    if (!p || tern_sql_acquire(p, &c) < 0) {
        CHECK(0, "no connection: %s", tern_errmsg());
        return NULL;
    }
    const char *status = "SELECT CAST(VARIABLE_VALUE AS SIGNED) AS n "
                         "FROM information_schema.SESSION_STATUS "
                         "WHERE VARIABLE_NAME = ?";
    int64_t before = count_where(c, status, "COM_STMT_PREPARE");
    for (int i = 1; i <= 50; i++) {
        json_t *row = NULL;
        int rc = tern_sql_query_row(c, &row, "SELECT randomNumber FROM world WHERE id = ?",
                                    TERN_SQL_ARGS(TERN_I64(i)));
        CHECK(rc == 1, "query %d: %d", i, rc);
        json_decref(row);
    }
    int64_t after = count_where(c, status, "COM_STMT_PREPARE");
    CHECK(before >= 1 && after == before + 1, "prepares: %lld before, %lld after 50 runs",
          (long long)before, (long long)after);
    tern_sql_release(c);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, statements_prepared_once_per_connection)
{
    run(cache_main);
}

/* ---- scopes ---- */

static bool child_ended;
static tern_sql_pool *scope_pool;

static void on_child_end(tern_scope *sc)
{
    (void)sc;
    child_ended = true;
}

/* Acquires two connections (one inside a transaction) and never releases them. */
static void *careless_child(void *arg)
{
    (void)arg;
    tern_sql_conn *a, *b;
    CHECK(tern_sql_acquire(scope_pool, &a) == 0, "child acquire: %s", tern_errmsg());
    CHECK(tern_sql_acquire(scope_pool, &b) == 0, "child acquire: %s", tern_errmsg());
    CHECK(tern_sql_begin(b) == 0, "begin: %s", tern_errmsg());
    CHECK(tern_sql_exec(b, NULL, "INSERT INTO fortune (message) VALUES ('scope-leak')", NULL, 0) ==
              0,
          "insert: %s", tern_errmsg());
    CHECK(stats(scope_pool).in_use == 2, "child holds %u", stats(scope_pool).in_use);
    return NULL;
}

/* Waits in a statement past its scope's deadline. */
static void *slow_child(void *arg)
{
    int *rc = arg;
    tern_sql_conn *c;
    *rc = tern_sql_acquire(scope_pool, &c);
    if (*rc == 0) {
        json_t *rows = NULL;
        *rc = tern_sql_query(c, &rows, "SELECT SLEEP(2) AS s", NULL, 0);
    }
    return NULL;
}

static void run_child(tern_task_fn fn, void *arg, uint64_t deadline)
{
    tern_scope sc;
    tern_arena arena;
    tern_arena_init(&arena, NULL, 0);
    tern_scope_init(&sc, tern_sched_current(), &arena, deadline);
    sc.on_end = on_child_end;
    child_ended = false;
    CHECK(tern__spawn_in(&sc, fn, arg) != NULL, "spawn in a child scope");
    for (int i = 0; i < 500 && !child_ended; i++)
        tern_sleep(10);
    CHECK(child_ended, "the child scope never ended");
    tern_arena_reset(&arena);
}

static void *scope_main(void *arg)
{
    (void)arg;
    scope_pool = open_pool((tern_sql_opts){.pool_max = 2, .query_timeout_ms = 10000});
    if (!scope_pool)
        return NULL;
    run_child(careless_child, NULL, 0);
    for (int i = 0; i < 100 && stats(scope_pool).in_use; i++)
        tern_sleep(10); /* the rollback runs in the background */
    tern_pool_stats st = stats(scope_pool);
    CHECK(st.in_use == 0 && st.idle == 2, "after the scope: %u in use, %u idle", st.in_use,
          st.idle);
    tern_sql_conn *c;
    CHECK(tern_sql_acquire(scope_pool, &c) == 0, "acquire: %s", tern_errmsg());
    CHECK(count_where(c, "SELECT COUNT(*) AS n FROM fortune WHERE message = ?", "scope-leak") == 0,
          "the scope's transaction was not rolled back");
    tern_sql_release(c);

    int rc = 1;
    uint64_t t0 = wall_ms();
    run_child(slow_child, &rc, tern_now_ms() + 300);
    CHECK(rc == TERN_ETIMEDOUT, "statement past the deadline: %d (%s)", rc, tern_errmsg());
    CHECK(wall_ms() - t0 < 1500, "the deadline took %llu ms", (unsigned long long)(wall_ms() - t0));
    st = stats(scope_pool);
    CHECK(st.in_use == 0, "%u in use after the deadline", st.in_use);
    CHECK(one_query(scope_pool, "SELECT 1 AS one", NULL) == 0, "pool after the deadline: %s",
          tern_errmsg());
    tern_sql_pool_free(scope_pool);
    return NULL;
}

Test(mysql_pool, scope_end_returns_connections)
{
    run(scope_main);
}

/* ---- freeing the pool under its users ---- */

static int free_waiter_rc = 1;
static bool free_holder_done;

static void *hold_then_release(void *arg)
{
    tern_sql_conn *c = arg;
    tern_sleep(300);
    json_t *rows = NULL;
    int rc = tern_sql_query(c, &rows, "SELECT 1 AS one", NULL, 0);
    CHECK(rc == 0, "a lent connection stopped working when its pool closed: %d", rc);
    json_decref(rows);
    tern_sql_release(c);
    free_holder_done = true;
    return NULL;
}

static void *wait_for_one(void *arg)
{
    tern_sql_conn *c;
    free_waiter_rc = tern_sql_acquire(arg, &c);
    return NULL;
}

static void *free_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_max = 1, .acquire_timeout_ms = 5000});
    tern_sql_conn *c;
    if (!p || tern_sql_acquire(p, &c) < 0) {
        CHECK(0, "no connection: %s", tern_errmsg());
        return NULL;
    }
    tern_task *t[2] = {tern_spawn(hold_then_release, c), tern_spawn(wait_for_one, p)};
    tern_sleep(100);
    CHECK(stats(p).waiting == 1, "%u waiting", stats(p).waiting);
    uint64_t t0 = wall_ms();
    tern_sql_pool_free(p); /* the record lives on until the lent connection comes back */
    tern_gather(t, 2, NULL);
    CHECK(free_waiter_rc == TERN_EUNAVAILABLE, "waiter: %d", free_waiter_rc);
    CHECK(free_holder_done, "holder did not finish");
    CHECK(wall_ms() - t0 < 2000, "took %llu ms", (unsigned long long)(wall_ms() - t0));
    return NULL;
}

Test(mysql_pool, freed_with_a_waiter_and_a_lent_connection)
{
    run(free_main);
}

/* ---- injection ---- */

static void *injection_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){0});
    tern_sql_conn *c;
    if (!p || tern_sql_acquire(p, &c) < 0) {
        CHECK(0, "no connection: %s", tern_errmsg());
        return NULL;
    }
    const char *evil = "1 OR 1=1; DROP TABLE world";
    json_t *rows = NULL;
    int rc = tern_sql_query(c, &rows, "SELECT id FROM world WHERE id = ?",
                            TERN_SQL_ARGS(TERN_TEXT(evil)));
    CHECK(rc == 0 && json_array_size(rows) <= 1, "injection widened the match: %d, %zu rows", rc,
          json_array_size(rows));
    json_decref(rows);
    rc = tern_sql_query(c, &rows, "SELECT id FROM fortune WHERE message = ?",
                        TERN_SQL_ARGS(TERN_TEXT("' OR '1'='1")));
    CHECK(rc == 0 && json_array_size(rows) == 0, "quote injection matched %zu rows",
          json_array_size(rows));
    json_decref(rows);
    rc = tern_sql_exec(c, NULL, "UPDATE fortune SET message = message WHERE message = ?",
                       TERN_SQL_ARGS(TERN_TEXT("x'; DROP TABLE fortune; --")));
    CHECK(rc == 0, "update with a hostile value: %d (%s)", rc, tern_errmsg());
    json_t *row = NULL;
    rc = tern_sql_query_row(c, &row, "SELECT COUNT(*) AS n FROM world", NULL, 0);
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "n")) == 10000, "world damaged");
    json_decref(row);
    rc = tern_sql_query_row(c, &row, "SELECT COUNT(*) AS n FROM fortune", NULL, 0);
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "n")) == 12, "fortune damaged");
    json_decref(row);
    /* several statements in one string are refused outright */
    rc = tern_sql_exec(c, NULL, "SELECT 1; DROP TABLE world", NULL, 0);
    CHECK(rc < 0, "multi-statement text ran");
    tern_sql_release(c);
    CHECK(one_query(p, "SELECT id FROM world WHERE id = 1", NULL) == 0, "world gone");
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, injection_through_a_parameter_has_no_effect)
{
    run(injection_main);
}

static void *bad_password_main(void *arg)
{
    (void)arg;
    char url[300];
    snprintf(url, sizeof url, "mysql://benchmarkdbuser:wrong@127.0.0.1:%d/hello_world", be.port);
    tern_sql_pool *p = open_pool((tern_sql_opts){.url = url});
    if (!p)
        return NULL;
    tern_sql_conn *c;
    uint64_t t0 = wall_ms();
    int rc = tern_sql_acquire(p, &c);
    CHECK(rc == TERN_EUNAVAILABLE, "acquire with a wrong password: %d", rc);
    CHECK(strstr(tern_errmsg(), "1045") && !strstr(tern_errmsg(), "wrong"), "message: %s",
          tern_errmsg());
    CHECK(wall_ms() - t0 < 900, "took %llu ms", (unsigned long long)(wall_ms() - t0));
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pool, wrong_password_fails_fast)
{
    run(bad_password_main);
}

/* ---- URLs (no server) ---- */

TestSuite(mysql_pool_offline, .timeout = 30);

static const char *const bad_urls[] = {
    "",
    "http://u:p@127.0.0.1/db",
    "mysql://u:secretpw@db.example.com/hello_world",
    "mysql://u:secretpw@127.0.0.1:99999/db",
    "mysql://u:secretpw@127.0.0.1:port/db",
    "mysql://u:secretpw@127.0.0.1:/db",
    "mysql://u:secretpw@[::1/db",
    "mysql://u:secretpw@/db",
    "mysql://u:secretpw@127.0.0.1/db/more",
    "mysql://u:secretpw@127.0.0.1/db?ssl=1",
    "mysql://u:%zz@127.0.0.1/db",
    "mysql://u:p%00@127.0.0.1/db",
    NULL,
};

static void *urls_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = NULL;
    for (int i = 0; bad_urls[i]; i++) {
        tern_set_errmsg("%s", "");
        int rc = tern_sql_pool_new(&(tern_sql_opts){.url = bad_urls[i]}, &p);
        CHECK(rc == -EINVAL && p == NULL, "\"%s\": %d", bad_urls[i], rc);
        CHECK(tern_errmsg()[0] && !strstr(tern_errmsg(), "secretpw"), "\"%s\": message \"%s\"",
              bad_urls[i], tern_errmsg());
    }
    int rc = tern_sql_pool_new(&(tern_sql_opts){.url = NULL}, &p);
    CHECK(rc == -EINVAL, "NULL url: %d", rc);
    CHECK(strstr(tern_sql_pool_new(&(tern_sql_opts){.url = "mysql://u@db.local/x"}, &p) == -EINVAL
                     ? tern_errmsg()
                     : "",
                 "not an IP address"),
          "host name message: %s", tern_errmsg());
    rc = tern_sql_pool_new(
        &(tern_sql_opts){.url = "mysql://u@127.0.0.1/x", .pool_min = 3, .pool_max = 2}, &p);
    CHECK(rc == -EINVAL, "min > max accepted");
    static const char *const good[] = {
        "mysql://u:p%40ss@127.0.0.1:1/db",
        "mysql://u@[::1]:1/db",
        "mysql://localhost:1",
        "mariadb://u:p@127.0.0.1:1/",
        NULL,
    };
    for (int i = 0; good[i]; i++) {
        rc = tern_sql_pool_new(&(tern_sql_opts){.url = good[i]}, &p);
        CHECK(rc == 0 && p, "\"%s\": %d (%s)", good[i], rc, tern_errmsg());
        if (p)
            tern_sql_pool_free(p);
        p = NULL;
    }
    /* nothing listens on port 1: refused at once */
    rc = tern_sql_pool_new(&(tern_sql_opts){.url = "mysql://u@127.0.0.1:1/db"}, &p);
    if (rc == 0) {
        tern_sql_conn *c;
        uint64_t t0 = wall_ms();
        rc = tern_sql_acquire(p, &c);
        CHECK(rc == TERN_EUNAVAILABLE && wall_ms() - t0 < 900, "refused: %d after %llu ms", rc,
              (unsigned long long)(wall_ms() - t0));
        CHECK(!tern_sql_pool_ready(p), "ready with nothing listening");
        tern_sql_pool_free(p);
    }
    return NULL;
}

Test(mysql_pool_offline, bad_urls_are_refused)
{
    run(urls_main);
    tern_sql_pool *p = NULL;
    cr_assert_eq(tern_sql_pool_new(&(tern_sql_opts){.url = "mysql://u@127.0.0.1/x"}, &p), -EINVAL,
                 "a pool without a scheduler loop");
}

/* ---- the scheduler's scope cleanups the pool relies on ---- */

static int cleanup_order[4], cleanups_run;
static bool cleanups_before_end;

static void record_cleanup(void *arg)
{
    if (cleanups_run < 4)
        cleanup_order[cleanups_run] = (int)(intptr_t)arg;
    cleanups_run++;
}

static void on_hook_scope_end(tern_scope *sc)
{
    (void)sc;
    cleanups_before_end = cleanups_run == 2;
    child_ended = true;
}

static void *nothing(void *arg)
{
    return arg;
}

static void *hooks_main(void *arg)
{
    (void)arg;
    tern_scope sc;
    tern_arena arena;
    tern_arena_init(&arena, NULL, 0);
    tern_scope_init(&sc, tern_sched_current(), &arena, 0);
    sc.on_end = on_hook_scope_end;
    child_ended = false;
    tern_scope_cleanup a, b, c;
    tern_scope_defer(&sc, &a, record_cleanup, (void *)1);
    tern_scope_defer(&sc, &b, record_cleanup, (void *)2);
    tern_scope_defer(&sc, &c, record_cleanup, (void *)3);
    tern_scope_undefer(&sc, &b);
    tern_scope_undefer(&sc, &b); /* twice: no-op */
    CHECK(tern__spawn_in(&sc, nothing, NULL) != NULL, "spawn");
    for (int i = 0; i < 100 && !child_ended; i++)
        tern_sleep(1);
    CHECK(child_ended, "scope never ended");
    CHECK(cleanups_run == 2 && cleanup_order[0] == 3 && cleanup_order[1] == 1,
          "ran %d cleanups: %d, %d", cleanups_run, cleanup_order[0], cleanup_order[1]);
    CHECK(cleanups_before_end, "on_end ran before the cleanups");
    tern_scope_undefer(&sc, &a); /* after it ran: no-op */
    CHECK(sc.cleanups == NULL, "cleanup list not empty");
    tern_arena_reset(&arena);
    return NULL;
}

Test(mysql_pool_offline, scope_cleanups_run_newest_first_before_on_end)
{
    run(hooks_main);
}
