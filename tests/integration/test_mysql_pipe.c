/* tests/integration/test_mysql_pipe.c - tern_sql_query_each, the pipelined executions of
 * one prepared statement, against a private mariadbd with the TechEmpower schema: world
 * rows by id the same as one query at a time, every column type (with NULLs, negative
 * and out-of-int64 integers, long TIME, BIT, invalid UTF-8, text past 64 KiB) the same
 * as tern_sql_query, parameters of every type (an empty and a 100 KB string among
 * them), sets failing on a duplicate key while the others succeed, UPDATEs' affected
 * rows, 500 sets and answers of megabytes, values of 16 MiB and more both ways, argument
 * and SQL errors, a table altered between two calls (a column added, a column's type
 * changed), the statement prepared once per connection, CALL's extra result sets, an
 * error in the middle of a result, a frozen server (timeout, then recovery), a server
 * killed before and during a call, pipelined UPDATEs inside a transaction rolled back
 * and committed, and four tasks pipelining at once on their own connections (as the
 * stripes of /queries do).
 *
 * Every test runs inside tern_loop_run: coroutines record the first failed CHECK and
 * run() asserts on it once the loop has returned (Criterion's asserts must not cross a
 * coroutine switch). Most comparisons are against tern_sql_query run one set at a time
 * on the same connection, and the values that matter are also checked literally, so a
 * mistake shared by both paths still shows. Timing bounds are wide on purpose (shared
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

TestSuite(mysql_pipe, .init = start, .fini = stop, .timeout = 180);

/* Runs SQL as root through the server's socket (the test user may not create tables). */
static int root_sql(const char *sql)
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
static void create_for_user(const char *sql, const char *table)
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

/* A pool and one connection from it; false (with a failed CHECK) when either fails. */
static bool open_conn(tern_sql_opts o, tern_sql_pool **p, tern_sql_conn **c)
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
static const char *dump(const json_t *j)
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

static void free_results(json_t **results, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(results[i]);
        results[i] = NULL;
    }
}

/* Every results[i] must json_equal what tern_sql_query gives for set i on c. The
 * number of sets that differ (or could not be compared). */
static int differs_from_one_by_one(tern_sql_conn *c, json_t **results, const char *sql,
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
static int64_t session_status(tern_sql_conn *c, const char *name)
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
static int64_t world_number(tern_sql_conn *c, int64_t id)
{
    json_t *row = NULL;
    int rc = tern_sql_query_row(c, &row, "SELECT randomNumber FROM world WHERE id = ?",
                                TERN_SQL_ARGS(TERN_I64(id)));
    int64_t n = rc == 1 ? json_integer_value(json_object_get(row, "randomNumber")) : -1;
    json_decref(row);
    return n;
}

/* Acquires, runs SELECT 1 and releases; the statement's code. */
static int one_query(tern_sql_pool *p)
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
static int64_t until_ok(tern_sql_pool *p, int ms)
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
static int pipelined_world(tern_sql_pool *p, int n)
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

/* ---- 1. the same rows as one query at a time ---- */

static void *world_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){0}, &p, &c))
        return NULL;
    enum { N = 50 };
    unsigned seed = (unsigned)time(NULL);
    tern_sql_arg args[N + 2];
    int64_t ids[N + 2];
    for (int i = 0; i < N; i++)
        ids[i] = 1 + (int64_t)(rand_r(&seed) % 10000);
    ids[N] = 0;         /* no such row: an empty array, not a failure */
    ids[N + 1] = 10001; /* the same past the end */
    for (int i = 0; i < N + 2; i++)
        args[i] = TERN_I64(ids[i]);
    json_t *results[N + 2];
    const char *sql = "SELECT id, randomNumber FROM world WHERE id = ?";
    int rc = tern_sql_query_each(c, results, NULL, sql, args, 1, N + 2);
    CHECK(rc == 0, "query_each: %d (%s)", rc, tern_errmsg());
    for (int i = 0; rc == 0 && i < N; i++) {
        json_t *row = json_array_get(results[i], 0);
        CHECK(json_array_size(results[i]) == 1 &&
                  json_integer_value(json_object_get(row, "id")) == ids[i] &&
                  json_object_size(row) == 2,
              "set %d (id %lld): %s", i, (long long)ids[i], dump(results[i]));
        int64_t rn = json_integer_value(json_object_get(row, "randomNumber"));
        CHECK(rn >= 1 && rn <= 10000, "set %d: randomNumber %lld", i, (long long)rn);
    }
    CHECK(rc == 0 && json_is_array(results[N]) && json_array_size(results[N]) == 0 &&
              json_is_array(results[N + 1]) && json_array_size(results[N + 1]) == 0,
          "missing rows: %s, %s", dump(results[N]), dump(results[N + 1]));
    if (rc == 0)
        differs_from_one_by_one(c, results, sql, args, 1, N + 2);
    free_results(results, N + 2);
    /* the connection goes on, pipelined or not */
    rc = tern_sql_query_each(c, results, NULL, sql, args, 1, 3);
    CHECK(rc == 0 &&
              json_integer_value(json_object_get(json_array_get(results[2], 0), "id")) == ids[2],
          "second call: %d (%s)", rc, tern_errmsg());
    free_results(results, 3);
    tern_sql_release(c);
    tern_pool_stats st = stats(p);
    CHECK(st.in_use == 0 && st.errors == 0 && st.reconnects == 0, "stats: %u in use, %llu errors",
          st.in_use, (unsigned long long)st.errors);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, world_rows_match_one_by_one)
{
    run(world_main);
}

/* Several tasks pipelining at once on their own connections, as /queries' stripes do. */
static int stripe_ok;

static void *stripe(void *arg)
{
    tern_sql_pool *p = arg;
    tern_sql_conn *c;
    int rc = tern_sql_acquire(p, &c);
    CHECK(rc == 0, "acquire: %d (%s)", rc, tern_errmsg());
    if (rc < 0)
        return NULL;
    for (int round = 0; round < 20; round++) {
        tern_sql_arg args[25];
        json_t *results[25];
        int64_t first = 1 + (int64_t)(wall_ms() * 7 + (uint64_t)round * 31) % 9000;
        for (int i = 0; i < 25; i++)
            args[i] = TERN_I64(first + i);
        rc = tern_sql_query_each(c, results, NULL,
                                 "SELECT id, randomNumber FROM world WHERE id = ?", args, 1, 25);
        CHECK(rc == 0, "round %d: %d (%s)", round, rc, tern_errmsg());
        int good = 0;
        for (int i = 0; rc == 0 && i < 25; i++)
            good += json_array_size(results[i]) == 1 &&
                    json_integer_value(json_object_get(json_array_get(results[i], 0), "id")) ==
                        first + i;
        CHECK(good == 25, "round %d: %d of 25 rows right", round, good);
        free_results(results, 25);
        if (good < 25)
            break;
        tern_sleep(0); /* let the other stripes interleave */
    }
    if (rc == 0)
        stripe_ok++;
    tern_sql_release(c);
    return NULL;
}

static void *stripes_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p = open_pool((tern_sql_opts){.pool_max = 4, .acquire_timeout_ms = 5000});
    if (!p)
        return NULL;
    tern_task *tasks[4];
    for (int i = 0; i < 4; i++)
        tasks[i] = tern_spawn(stripe, p);
    CHECK(tern_gather(tasks, 4, NULL) == 0, "gather failed");
    CHECK(stripe_ok == 4, "%d of 4 stripes succeeded", stripe_ok);
    tern_pool_stats st = stats(p);
    CHECK(st.connections >= 2 && st.in_use == 0 && st.errors == 0 && st.reconnects == 0,
          "stats: %u connections, %llu errors", st.connections, (unsigned long long)st.errors);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, concurrent_stripes_on_their_own_connections)
{
    run(stripes_main);
}

/* ---- 2. column types ---- */

static const char types_schema[] =
    "CREATE TABLE ptypes (id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT,"
    " mi MEDIUMINT, i INT, bu BIGINT UNSIGNED, bi BIGINT, f FLOAT, d DOUBLE,"
    " m DECIMAL(20,6), dt DATE, dtt DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL, tm TIME(6),"
    " y YEAR, b BIT(10), c CHAR(10), v VARCHAR(100), vb VARBINARY(100), tx MEDIUMTEXT,"
    " bl BLOB, j JSON, e ENUM('a','b','c')) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
    "INSERT INTO ptypes VALUES"
    " (1, 127, 255, 32767, 8388607, 2147483647, 9223372036854775808,"
    " 9223372036854775807, 0.1, 2.5, 0.5, '2024-02-29', '2024-02-29 13:14:15.123456',"
    " '2024-02-29 12:00:00', '100:00:00.5', 2155, b'0000000001', 'abc',"
    " 'h\xc3\xa9llo \xf0\x9f\x98\x80', 'plain', REPEAT('\xc3\xa9', 40000), x'00FF00',"
    " '{\"a\": [1, 2]}', 'a'),"
    " (2, -128, 0, -32768, -8388608, -2147483648, 18446744073709551615,"
    " -9223372036854775808, -2.5, -1e300, -12345678901234.123456, '1000-01-01',"
    " '9999-12-31 23:59:59.999999', '2000-01-01 00:00:00', '-838:59:59', 1901,"
    " b'1111111111', '\xc3\xa9', '', x'FF41C3', REPEAT('x', 70001), '', '[]', 'c'),"
    " (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
    " (4, -1, 128, -1, -1, -1, 0, -1, 1e30, 1e-300, 0, '2000-02-29',"
    " '2000-02-29 00:00:00', NULL, '-00:00:01.000001', 2000, b'0', ' ', 'x',"
    " 'y', '', NULL, 'null', 'b'),"
    " (5, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL,"
    " '2000-01-01 00:00:00.000001', NULL, '00:00:00', 0, b'1000000000', NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL);\n";

static void types_setup(void)
{
    create_for_user(types_schema, "ptypes");
}

/* What rows 1, 2, 4 and 5 must read (tx of rows 1 and 2 is checked apart: it is long).
 * Between them the binary dates and times come in each of their lengths. */
static const char *const types_want[] = {
    "{\"id\": 1, \"ti\": 127, \"tu\": 255, \"si\": 32767, \"mi\": 8388607, \"i\": 2147483647,"
    " \"bu\": \"9223372036854775808\", \"bi\": 9223372036854775807, \"f\": 0.1, \"d\": 2.5,"
    " \"m\": \"0.500000\", \"dt\": \"2024-02-29\", \"dtt\": \"2024-02-29T13:14:15.123456\","
    " \"ts\": \"2024-02-29T12:00:00\", \"tm\": \"100:00:00.500000\", \"y\": 2155, \"b\": 1,"
    " \"c\": \"abc\", \"v\": \"h\\u00e9llo \\ud83d\\ude00\", \"vb\": \"plain\","
    " \"bl\": \"\\u0000\\ufffd\\u0000\", \"j\": \"{\\\"a\\\": [1, 2]}\", \"e\": \"a\"}",
    "{\"id\": 2, \"ti\": -128, \"tu\": 0, \"si\": -32768, \"mi\": -8388608, \"i\": -2147483648,"
    " \"bu\": \"18446744073709551615\", \"bi\": -9223372036854775808, \"f\": -2.5, \"d\": -1e300,"
    " \"m\": \"-12345678901234.123456\", \"dt\": \"1000-01-01\","
    " \"dtt\": \"9999-12-31T23:59:59.999999\", \"ts\": \"2000-01-01T00:00:00\","
    " \"tm\": \"-838:59:59\", \"y\": 1901, \"b\": 1023, \"c\": \"\\u00e9\", \"v\": \"\","
    " \"vb\": \"\\ufffdA\\ufffd\", \"bl\": \"\", \"j\": \"[]\", \"e\": \"c\"}",
    NULL,
    "{\"id\": 4, \"ti\": -1, \"tu\": 128, \"si\": -1, \"mi\": -1, \"i\": -1, \"bu\": 0, \"bi\": -1,"
    " \"f\": 1e30, \"d\": 1e-300, \"m\": \"0.000000\", \"dt\": \"2000-02-29\","
    " \"dtt\": \"2000-02-29T00:00:00\", \"ts\": null, \"tm\": \"-00:00:01.000001\", \"y\": 2000,"
    " \"b\": 0, \"c\": \"\", \"v\": \"x\", \"vb\": \"y\", \"tx\": \"\", \"bl\": null,"
    " \"j\": \"null\", \"e\": \"b\"}",
    "{\"id\": 5, \"ti\": 0, \"tu\": null, \"si\": null, \"mi\": null, \"i\": null, \"bu\": null,"
    " \"bi\": null, \"f\": 0.0, \"d\": 0.0, \"m\": null, \"dt\": null,"
    " \"dtt\": \"2000-01-01T00:00:00.000001\", \"ts\": null, \"tm\": \"00:00:00\", \"y\": 0,"
    " \"b\": 512, \"c\": null, \"v\": null, \"vb\": null, \"tx\": null, \"bl\": null, \"j\": null,"
    " \"e\": null}",
};

static char *repeat(const char *s, size_t times)
{
    size_t n = strlen(s);
    char *out = malloc(n * times + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < times; i++)
        memcpy(out + i * n, s, n);
    out[n * times] = '\0';
    return out;
}

static void *types_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){0}, &p, &c))
        return NULL;
    const char *sql = "SELECT * FROM ptypes WHERE id = ?";
    tern_sql_arg args[] = {TERN_I64(1), TERN_I64(2), TERN_I64(3),
                           TERN_I64(4), TERN_I64(5), TERN_I64(2)};
    enum { N = sizeof args / sizeof args[0] };
    json_t *results[N];
    int rc = tern_sql_query_each(c, results, NULL, sql, args, 1, N);
    CHECK(rc == 0, "query_each: %d (%s)", rc, tern_errmsg());
    if (rc == 0) {
        char *tx1 = repeat("\xc3\xa9", 40000), *tx2 = repeat("x", 70001);
        for (int i = 0; i < 5; i++) {
            json_t *row = json_array_get(results[i], 0);
            CHECK(json_array_size(results[i]) == 1 && json_object_size(row) == 24,
                  "row %d: %zu rows, %zu columns", i + 1, json_array_size(results[i]),
                  json_object_size(row));
            json_t *want;
            if (types_want[i]) {
                json_error_t err;
                want = json_loads(types_want[i], JSON_ALLOW_NUL, &err);
                CHECK(want, "expected row %d: %s", i + 1, err.text);
                if (want && i < 2)
                    json_object_set_new(want, "tx", json_string(i == 0 ? tx1 : tx2));
            } else {
                /* every column NULL but the key */
                want = json_object();
                const char *key;
                json_t *v;
                json_object_foreach(row, key, v) json_object_set_new(want, key, json_null());
                json_object_set_new(want, "id", json_integer(3));
                CHECK(json_object_size(want) == 24, "row 3 has %zu columns",
                      json_object_size(want));
            }
            CHECK(want && row && json_equal(row, want), "row %d: %s", i + 1, dump(row));
            if (want && row && !json_equal(row, want)) {
                const char *key;
                json_t *v;
                json_object_foreach(want, key, v) CHECK(
                    json_equal(json_object_get(row, key), v), "row %d, column %s: %s, want %s",
                    i + 1, key, dump(json_object_get(row, key)), dump(v));
            }
            json_decref(want);
        }
        free(tx1);
        free(tx2);
        CHECK(json_equal(results[1], results[5]), "the same row twice differs");
        differs_from_one_by_one(c, results, sql, args, 1, N);
    }
    free_results(results, N);

    /* several rows per set */
    const char *many = "SELECT * FROM ptypes WHERE id >= ? ORDER BY id";
    tern_sql_arg from[] = {TERN_I64(1), TERN_I64(3), TERN_I64(6)};
    rc = tern_sql_query_each(c, results, NULL, many, from, 1, 3);
    CHECK(rc == 0 && json_array_size(results[0]) == 5 && json_array_size(results[1]) == 3 &&
              json_array_size(results[2]) == 0,
          "id >= ?: %d (%s), %zu/%zu/%zu rows", rc, tern_errmsg(), json_array_size(results[0]),
          json_array_size(results[1]), json_array_size(results[2]));
    if (rc == 0)
        differs_from_one_by_one(c, results, many, from, 1, 3);
    free_results(results, 3);

    /* types that come from expressions rather than columns (a b'' literal is a binary
     * string, not a BIT column); the second set is all NULLs */
    const char *expr = "SELECT ? AS id, NULL AS n, CAST(? AS UNSIGNED) AS u, -? AS neg,"
                       " CAST(? AS TIME) AS t, CAST(? AS DATE) AS d, 1.5 AS dec15,"
                       " CAST(? AS DOUBLE) AS dbl, CAST(? AS BINARY) AS bin, b'101' AS bits";
    tern_sql_arg eargs[] = {
        TERN_I64(1),
        TERN_TEXT("18446744073709551615"),
        TERN_I64(INT64_MAX),
        TERN_TEXT("-50:00:00"),
        TERN_TEXT("2024-02-29"),
        TERN_TEXT("0.1"),
        TERN_TEXT("\xff"),
        TERN_SQLNULL,
        TERN_SQLNULL,
        TERN_SQLNULL,
        TERN_SQLNULL,
        TERN_SQLNULL,
        TERN_SQLNULL,
        TERN_SQLNULL,
    };
    rc = tern_sql_query_each(c, results, NULL, expr, eargs, 7, 2);
    CHECK(rc == 0, "expressions: %d (%s)", rc, tern_errmsg());
    if (rc == 0) {
        json_t *want = json_loads(
            "{\"id\": 1, \"n\": null, \"u\": \"18446744073709551615\", \"neg\": "
            "-9223372036854775807,"
            " \"t\": \"-50:00:00\", \"d\": \"2024-02-29\", \"dec15\": \"1.5\", \"dbl\": 0.1,"
            " \"bin\": \"\\ufffd\", \"bits\": \"\\u0005\"}",
            0, NULL);
        json_t *row = json_array_get(results[0], 0);
        CHECK(want && json_equal(row, want), "expressions: %s", dump(row));
        json_decref(want);
        differs_from_one_by_one(c, results, expr, eargs, 7, 2);
    }
    free_results(results, 2);
    tern_sql_release(c);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, every_column_type_matches_one_by_one, .init = types_setup)
{
    run(types_main);
}

/* ---- 3. parameters of every type ---- */

static const char params_schema[] =
    "CREATE TABLE pparams (id INT AUTO_INCREMENT PRIMARY KEY, i BIGINT, d DOUBLE,"
    " t MEDIUMTEXT, b MEDIUMBLOB) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n";

static void params_setup(void)
{
    create_for_user(params_schema, "pparams");
}

static void *params_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){0}, &p, &c))
        return NULL;
    enum { BIG = 100 * 1024 };
    char *big = malloc(BIG + 1);
    if (!big) {
        CHECK(0, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)('a' + i % 26);
    big[BIG] = '\0';
    const char *big_text = big, *empty = "", *utf8 = "\xc3\xa9t\xc3\xa9 \xe2\x82\xac";
    static const unsigned char bytes[] = {0, 1, 0xff, 'x', 0, 0x80};
    /* one execution per row of this table: a type per column, or NULL */
    tern_sql_arg rows[][4] = {
        {TERN_I64(0), TERN_F64(0.0), TERN_TEXT(empty), TERN_BYTES(bytes, sizeof bytes)},
        {TERN_I64(INT64_MIN), TERN_F64(-1e-300), TERN_TEXT(big_text), TERN_BYTES(bytes, 0)},
        {TERN_I64(INT64_MAX), TERN_F64(0.1), TERN_TEXT(utf8), TERN_BYTES(big, BIG)},
        {TERN_SQLNULL, TERN_SQLNULL, TERN_SQLNULL, TERN_SQLNULL},
        {TERN_I64(-1), TERN_F64(1e300), TERN_TEXT("x'y\"z\\"), TERN_SQLNULL},
    };
    enum { NROWS = sizeof rows / sizeof rows[0] };
    tern_sql_result res[NROWS];
    json_t *results[NROWS];
    memset(res, 0xAB, sizeof res);
    int rc =
        tern_sql_query_each(c, results, res, "INSERT INTO pparams (i, d, t, b) VALUES (?, ?, ?, ?)",
                            &rows[0][0], 4, NROWS);
    CHECK(rc == 0, "insert: %d (%s)", rc, tern_errmsg());
    for (int k = 0; rc == 0 && k < NROWS; k++)
        CHECK(res[k].affected_rows == 1 && res[k].insert_id == (uint64_t)k + 1 &&
                  json_is_array(results[k]) && json_array_size(results[k]) == 0,
              "insert %d: %llu rows, id %llu, %s", k, (unsigned long long)res[k].affected_rows,
              (unsigned long long)res[k].insert_id, dump(results[k]));
    free_results(results, NROWS);
    /* what was stored, read back one by one through the connector */
    json_t *stored = NULL;
    rc = tern_sql_query(c, &stored,
                        "SELECT id, i, d, t, LENGTH(t) AS tlen, HEX(b) AS hb, LENGTH(b) AS blen,"
                        " b IS NULL AS bnull FROM pparams ORDER BY id",
                        NULL, 0);
    CHECK(rc == 0 && json_array_size(stored) == NROWS, "read back: %d (%s)", rc, tern_errmsg());
    if (rc == 0 && json_array_size(stored) == NROWS) {
        json_t *r0 = json_array_get(stored, 0), *r1 = json_array_get(stored, 1),
               *r2 = json_array_get(stored, 2), *r3 = json_array_get(stored, 3),
               *r4 = json_array_get(stored, 4);
        CHECK(json_integer_value(json_object_get(r0, "i")) == 0 &&
                  json_real_value(json_object_get(r0, "d")) == 0.0 &&
                  strcmp(json_string_value(json_object_get(r0, "t")) ?: "?", "") == 0 &&
                  strcmp(json_string_value(json_object_get(r0, "hb")) ?: "", "0001FF780080") == 0,
              "row 1: %s", dump(r0));
        CHECK(json_integer_value(json_object_get(r1, "i")) == INT64_MIN &&
                  json_real_value(json_object_get(r1, "d")) == -1e-300 &&
                  json_integer_value(json_object_get(r1, "tlen")) == BIG &&
                  strcmp(json_string_value(json_object_get(r1, "t")) ?: "", big) == 0 &&
                  strcmp(json_string_value(json_object_get(r1, "hb")) ?: "?", "") == 0 &&
                  json_integer_value(json_object_get(r1, "bnull")) == 0,
              "row 2: i %s, d %s, %lld chars", dump(json_object_get(r1, "i")),
              dump(json_object_get(r1, "d")),
              (long long)json_integer_value(json_object_get(r1, "tlen")));
        CHECK(json_integer_value(json_object_get(r2, "i")) == INT64_MAX &&
                  json_real_value(json_object_get(r2, "d")) == 0.1 &&
                  strcmp(json_string_value(json_object_get(r2, "t")) ?: "", utf8) == 0 &&
                  json_integer_value(json_object_get(r2, "blen")) == BIG,
              "row 3: %s", dump(r2));
        CHECK(json_is_null(json_object_get(r3, "i")) && json_is_null(json_object_get(r3, "d")) &&
                  json_is_null(json_object_get(r3, "t")) &&
                  json_integer_value(json_object_get(r3, "bnull")) == 1,
              "row 4 (NULLs): %s", dump(r3));
        CHECK(json_integer_value(json_object_get(r4, "i")) == -1 &&
                  json_real_value(json_object_get(r4, "d")) == 1e300 &&
                  strcmp(json_string_value(json_object_get(r4, "t")) ?: "", "x'y\"z\\") == 0,
              "row 5: %s", dump(r4));
    }
    json_decref(stored);

    /* the same values echoed by SELECT, pipelined and one by one */
    const char *echo = "SELECT ? AS i, ? AS d, ? AS t, ? AS b, ? IS NULL AS tnull";
    tern_sql_arg echo_args[NROWS][5];
    for (int k = 0; k < NROWS; k++) {
        memcpy(echo_args[k], rows[k], sizeof rows[k]);
        echo_args[k][4] = rows[k][2];
    }
    rc = tern_sql_query_each(c, results, NULL, echo, &echo_args[0][0], 5, NROWS);
    CHECK(rc == 0, "echo: %d (%s)", rc, tern_errmsg());
    if (rc == 0) {
        json_t *e1 = json_array_get(results[1], 0), *e3 = json_array_get(results[3], 0);
        CHECK(json_integer_value(json_object_get(e1, "i")) == INT64_MIN &&
                  strlen(json_string_value(json_object_get(e1, "t")) ?: "") == BIG,
              "echo 2: i %s", dump(json_object_get(e1, "i")));
        CHECK(json_is_null(json_object_get(e3, "i")) && json_is_null(json_object_get(e3, "t")) &&
                  json_integer_value(json_object_get(e3, "tnull")) == 1,
              "echo 4: %s", dump(e3));
        differs_from_one_by_one(c, results, echo, &echo_args[0][0], 5, NROWS);
    }
    free_results(results, NROWS);

    /* a statement's parameter types change between calls, through both paths: each
     * execution must carry its own types */
    const char *typed = "SELECT ? AS v";
    tern_sql_arg as_text[] = {TERN_TEXT("12"), TERN_TEXT("x")};
    tern_sql_arg as_num[] = {TERN_I64(12), TERN_F64(2.5)};
    for (int round = 0; round < 2; round++) {
        rc = tern_sql_query_each(c, results, NULL, typed, as_text, 1, 2);
        const char *v0 = json_string_value(json_object_get(json_array_get(results[0], 0), "v"));
        CHECK(rc == 0 && v0 && strcmp(v0, "12") == 0, "text after numbers: %s", dump(results[0]));
        free_results(results, 2);
        json_t *one = NULL;
        rc = tern_sql_query_row(c, &one, typed, TERN_SQL_ARGS(TERN_I64(12)));
        CHECK(rc == 1 && json_integer_value(json_object_get(one, "v")) == 12 &&
                  json_is_integer(json_object_get(one, "v")),
              "one by one after pipelined text: %s", dump(one));
        json_decref(one);
        rc = tern_sql_query_each(c, results, NULL, typed, as_num, 1, 2);
        CHECK(rc == 0 && json_is_integer(json_object_get(json_array_get(results[0], 0), "v")) &&
                  json_real_value(json_object_get(json_array_get(results[1], 0), "v")) == 2.5,
              "numbers after text: %s, %s", dump(results[0]), dump(results[1]));
        free_results(results, 2);
        rc = tern_sql_query_row(c, &one, typed, TERN_SQL_ARGS(TERN_TEXT("y")));
        CHECK(rc == 1 && strcmp(json_string_value(json_object_get(one, "v")) ?: "", "y") == 0,
              "one by one after pipelined numbers: %s", dump(one));
        json_decref(one);
    }
    free(big);
    tern_sql_release(c);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, parameters_of_every_type, .init = params_setup)
{
    run(params_main);
}

/* ---- 4. per-set errors ---- */

static const char uniq_schema[] =
    "CREATE TABLE puniq (id INT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(20) NOT NULL UNIQUE)"
    " ENGINE=InnoDB;\n";

static void uniq_setup(void)
{
    create_for_user(uniq_schema, "puniq");
}

static void *dup_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 1}, &p, &c))
        return NULL;
    const char *keys[] = {"a", "b", "a", "c", "b", "d"};
    enum { N = sizeof keys / sizeof keys[0] };
    const bool fails[N] = {false, false, true, false, true, false};
    tern_sql_arg args[N];
    for (int i = 0; i < N; i++)
        args[i] = TERN_TEXT(keys[i]);
    json_t *results[N];
    tern_sql_result res[N];
    memset(res, 0, sizeof res);
    int rc = tern_sql_query_each(c, results, res, "INSERT INTO puniq (k) VALUES (?)", args, 1, N);
    CHECK(rc == -EEXIST, "duplicates: %d (%s)", rc, tern_errmsg());
    CHECK(strstr(tern_errmsg(), "1062") && strstr(tern_errmsg(), "'a'"),
          "the message is not the first failed set's: %s", tern_errmsg());
    uint64_t last_id = 0;
    for (int i = 0; i < N; i++) {
        if (fails[i]) {
            CHECK(results[i] == NULL, "set %d (duplicate) has a result: %s", i, dump(results[i]));
            continue;
        }
        CHECK(json_is_array(results[i]) && json_array_size(results[i]) == 0, "set %d: %s", i,
              dump(results[i]));
        CHECK(res[i].affected_rows == 1 && res[i].insert_id > last_id, "set %d: %llu rows, id %llu",
              i, (unsigned long long)res[i].affected_rows, (unsigned long long)res[i].insert_id);
        last_id = res[i].insert_id;
    }
    free_results(results, N);
    /* the stored keys, with the ids the sets reported */
    json_t *rows = NULL;
    rc = tern_sql_query(c, &rows, "SELECT id, k FROM puniq ORDER BY id", NULL, 0);
    CHECK(rc == 0 && json_array_size(rows) == 4, "after: %d (%s), %s", rc, tern_errmsg(),
          dump(rows));
    const char *kept[] = {"a", "b", "c", "d"};
    const int set_of[] = {0, 1, 3, 5};
    for (size_t i = 0; rc == 0 && i < 4 && i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);
        CHECK(strcmp(json_string_value(json_object_get(r, "k")) ?: "", kept[i]) == 0 &&
                  (uint64_t)json_integer_value(json_object_get(r, "id")) ==
                      res[set_of[i]].insert_id,
              "row %zu: %s", i, dump(r));
    }
    json_decref(rows);
    /* every set failing, then the same statement succeeding */
    rc = tern_sql_query_each(c, results, NULL, "INSERT INTO puniq (k) VALUES (?)", args, 1, 2);
    CHECK(rc == -EEXIST && !results[0] && !results[1], "all duplicates: %d", rc);
    free_results(results, 2);
    tern_sql_arg fresh[] = {TERN_TEXT("e"), TERN_TEXT("f")};
    rc = tern_sql_query_each(c, results, res, "INSERT INTO puniq (k) VALUES (?)", fresh, 1, 2);
    CHECK(rc == 0 && results[0] && results[1] && res[1].insert_id == res[0].insert_id + 1,
          "after the failures: %d (%s)", rc, tern_errmsg());
    free_results(results, 2);
    /* a NOT NULL violation is an error of its own kind, in the middle of the sets */
    tern_sql_arg with_null[] = {TERN_TEXT("g"), TERN_SQLNULL, TERN_TEXT("h")};
    rc = tern_sql_query_each(c, results, NULL, "INSERT INTO puniq (k) VALUES (?)", with_null, 1, 3);
    CHECK(rc < 0 && rc != -EEXIST && strstr(tern_errmsg(), "1048"), "NULL key: %d (%s)", rc,
          tern_errmsg());
    CHECK(results[0] && !results[1] && results[2], "NULL key: %s %s %s", dump(results[0]),
          dump(results[1]), dump(results[2]));
    free_results(results, 3);
    /* the connection is still in step */
    json_t *row = NULL;
    rc = tern_sql_query_row(c, &row, "SELECT COUNT(*) AS n FROM puniq", NULL, 0);
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "n")) == 8, "count: %d, %s", rc,
          dump(row));
    json_decref(row);
    tern_sql_release(c);
    tern_pool_stats st = stats(p);
    CHECK(st.connections == 1 && st.reconnects == 0, "the connection was replaced (%u, %llu)",
          st.connections, (unsigned long long)st.reconnects);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, duplicate_sets_fail_alone, .init = uniq_setup)
{
    run(dup_main);
}

/* An error after some rows of a set's result went out: that set fails, the next sets
 * still read right. */
static void *mid_result_error_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 1}, &p, &c))
        return NULL;
    /* the subquery returns two rows (an error) only for ids above the parameter */
    const char *sql = "SELECT id, (SELECT 1 UNION SELECT 2 FROM DUAL WHERE world.id > ?) AS x"
                      " FROM world WHERE id <= 3 ORDER BY id";
    tern_sql_arg args[] = {TERN_I64(10), TERN_I64(2), TERN_I64(10), TERN_I64(0), TERN_I64(10)};
    json_t *results[5];
    int rc = tern_sql_query_each(c, results, NULL, sql, args, 1, 5);
    CHECK(rc < 0 && strstr(tern_errmsg(), "1242"), "subquery error: %d (%s)", rc, tern_errmsg());
    CHECK(!results[1] && !results[3], "failed sets have rows: %s, %s", dump(results[1]),
          dump(results[3]));
    for (int i = 0; i < 5; i += 2)
        CHECK(json_array_size(results[i]) == 3 &&
                  json_integer_value(json_object_get(json_array_get(results[i], 2), "id")) == 3,
              "set %d: %s", i, dump(results[i]));
    free_results(results, 5);
    json_t *row = NULL;
    rc = tern_sql_query_row(c, &row, "SELECT 7 AS x", NULL, 0);
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "x")) == 7, "after: %d (%s)", rc,
          tern_errmsg());
    json_decref(row);
    tern_sql_release(c);
    CHECK(stats(p).reconnects == 0, "the connection was replaced");
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, error_in_the_middle_of_a_result)
{
    run(mid_result_error_main);
}

/* ---- 5. no result set ---- */

static void *update_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 1}, &p, &c))
        return NULL;
    const char *one = "UPDATE world SET randomNumber = ? WHERE id = ?";
    tern_sql_arg args[][2] = {
        {TERN_I64(11111), TERN_I64(1)}, /* changed: 1 */
        {TERN_I64(11111), TERN_I64(1)}, /* the same value again: 0 */
        {TERN_I64(22222), TERN_I64(2)}, /* 1 */
        {TERN_I64(5), TERN_I64(10001)}, /* no such row: 0 */
        {TERN_I64(33333), TERN_I64(3)}, /* 1 */
        {TERN_I64(44444), TERN_I64(1)}, /* 1, over the first */
    };
    const uint64_t want[] = {1, 0, 1, 0, 1, 1};
    enum { N = sizeof args / sizeof args[0] };
    json_t *results[N];
    tern_sql_result res[N];
    memset(res, 0xAB, sizeof res);
    int rc = tern_sql_query_each(c, results, res, one, &args[0][0], 2, N);
    CHECK(rc == 0, "updates: %d (%s)", rc, tern_errmsg());
    for (int i = 0; rc == 0 && i < N; i++)
        CHECK(res[i].affected_rows == want[i] && res[i].insert_id == 0 &&
                  json_is_array(results[i]) && json_array_size(results[i]) == 0,
              "set %d: %llu rows (want %llu), id %llu, %s", i,
              (unsigned long long)res[i].affected_rows, (unsigned long long)want[i],
              (unsigned long long)res[i].insert_id, dump(results[i]));
    free_results(results, N);
    CHECK(world_number(c, 1) == 44444 && world_number(c, 2) == 22222 && world_number(c, 3) == 33333,
          "stored: %lld %lld %lld", (long long)world_number(c, 1), (long long)world_number(c, 2),
          (long long)world_number(c, 3));
    /* several rows per set; res may be NULL */
    const char *range = "UPDATE world SET randomNumber = ? WHERE id BETWEEN ? AND ?";
    tern_sql_arg ranges[][3] = {
        {TERN_I64(7), TERN_I64(10), TERN_I64(14)},
        {TERN_I64(8), TERN_I64(20), TERN_I64(20)},
        {TERN_I64(9), TERN_I64(9999), TERN_I64(20000)},
    };
    rc = tern_sql_query_each(c, results, res, range, &ranges[0][0], 3, 3);
    CHECK(rc == 0 && res[0].affected_rows == 5 && res[1].affected_rows == 1 &&
              res[2].affected_rows == 2,
          "ranges: %d, %llu %llu %llu", rc, (unsigned long long)res[0].affected_rows,
          (unsigned long long)res[1].affected_rows, (unsigned long long)res[2].affected_rows);
    free_results(results, 3);
    rc = tern_sql_query_each(c, results, NULL, range, &ranges[0][0], 3, 3);
    CHECK(rc == 0 && results[0] && results[1] && results[2], "without res: %d (%s)", rc,
          tern_errmsg());
    free_results(results, 3);
    CHECK(world_number(c, 14) == 7 && world_number(c, 20) == 8 && world_number(c, 10000) == 9,
          "stored: %lld %lld %lld", (long long)world_number(c, 14), (long long)world_number(c, 20),
          (long long)world_number(c, 10000));
    tern_sql_release(c);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, updates_report_affected_rows)
{
    run(update_main);
}

/* The reader sleeps until the answers still missing can have come (a receive low-water
 * mark): answers of the shortest kind, 11-byte OK packets, must still wake it. A mark one
 * byte too high would wait for bytes that never come, and time out. */
static void *shortest_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.query_timeout_ms = 3000}, &p, &c))
        return NULL;
    enum { N = 200 };
    tern_sql_arg args[N];
    json_t *results[N];
    tern_sql_result res[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            args[i] = TERN_I64(i);
        int rc = tern_sql_query_each(c, results, res, "DO ?", args, 1, N);
        CHECK(rc == 0, "round %d: %d (%s)", round, rc, tern_errmsg());
        int bad = 0;
        for (int i = 0; rc == 0 && i < N; i++)
            bad += !results[i] || json_array_size(results[i]) != 0 || res[i].affected_rows != 0;
        CHECK(bad == 0, "round %d: %d answers wrong", round, bad);
        if (rc == 0)
            free_results(results, N);
        /* the connector reads the same socket next, one short answer at a time */
        json_t *one = NULL;
        rc = tern_sql_query(c, &one, "DO 1", NULL, 0);
        CHECK(rc == 0, "round %d: the connector after the pass: %d (%s)", round, rc, tern_errmsg());
        json_decref(one);
    }
    tern_sql_release(c);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, shortest_answers_still_wake_the_reader)
{
    run(shortest_main);
}

/* ---- 6. many sets, big answers ---- */

static const char big_schema[] =
    "CREATE TABLE pbig (id INT PRIMARY KEY, body MEDIUMTEXT) ENGINE=InnoDB;\n"
    /* 40 rows of 100,000 bytes each, each its own: 'A'.. with its id in front */
    "INSERT INTO pbig SELECT seq, CONCAT(LPAD(seq, 5, '0'), REPEAT(CHAR(64 + seq % 26), 99995))"
    " FROM seq_1_to_40;\n";

static void big_setup(void)
{
    create_for_user(big_schema, "pbig");
}

static void *many_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.query_timeout_ms = 30000}, &p, &c))
        return NULL;
    enum { N = 500 };
    tern_sql_arg *args = calloc(N, sizeof *args);
    json_t **results = calloc(N, sizeof *results);
    if (!args || !results) {
        CHECK(0, "out of memory");
        return NULL;
    }
    for (int i = 0; i < N; i++)
        args[i] = TERN_I64(i + 1);
    int rc = tern_sql_query_each(c, results, NULL,
                                 "SELECT id, randomNumber FROM world WHERE id = ?", args, 1, N);
    CHECK(rc == 0, "500 sets: %d (%s)", rc, tern_errmsg());
    json_t *all = NULL;
    int rc2 =
        tern_sql_query(c, &all, "SELECT id, randomNumber FROM world WHERE id <= ? ORDER BY id",
                       TERN_SQL_ARGS(TERN_I64(N)));
    CHECK(rc2 == 0 && json_array_size(all) == N, "one query: %d", rc2);
    int bad = 0;
    for (int i = 0; rc == 0 && rc2 == 0 && i < N; i++) {
        bool ok = json_array_size(results[i]) == 1 &&
                  json_equal(json_array_get(results[i], 0), json_array_get(all, (size_t)i));
        if (!ok && !bad)
            CHECK(0, "set %d: %s, want %s", i, dump(results[i]),
                  dump(json_array_get(all, (size_t)i)));
        bad += !ok;
    }
    CHECK(bad == 0, "%d of 500 sets wrong", bad);
    json_decref(all);
    free_results(results, N);

    /* 40 rows of 100,000 bytes, twice over: 8 MB of answers to one write */
    enum { NB = 80 };
    for (int i = 0; i < NB; i++)
        args[i] = TERN_I64(1 + i % 40);
    rc = tern_sql_query_each(c, results, NULL, "SELECT id, body FROM pbig WHERE id = ?", args, 1,
                             NB);
    CHECK(rc == 0, "big answers: %d (%s)", rc, tern_errmsg());
    for (int i = 0; rc == 0 && i < NB; i++) {
        int id = 1 + i % 40;
        json_t *row = json_array_get(results[i], 0);
        const char *body = json_string_value(json_object_get(row, "body"));
        char head[8];
        snprintf(head, sizeof head, "%05d", id);
        char fill = (char)(64 + id % 26);
        bool ok = json_array_size(results[i]) == 1 &&
                  json_integer_value(json_object_get(row, "id")) == id && body &&
                  strlen(body) == 100000 && memcmp(body, head, 5) == 0 && body[5] == fill &&
                  body[99999] == fill;
        size_t same = 0;
        while (ok && body[5 + same] == fill)
            same++;
        CHECK(ok && same == 99995, "set %d (id %d): %zu bytes, %zu fill", i, id,
              body ? strlen(body) : 0, same);
    }
    if (rc == 0)
        differs_from_one_by_one(c, results, "SELECT id, body FROM pbig WHERE id = ?", args, 1, 3);
    free_results(results, NB);
    /* every row of the table in each of 10 sets: one answer of 4 MB per set */
    for (int i = 0; i < 10; i++)
        args[i] = TERN_I64(i);
    rc = tern_sql_query_each(c, results, NULL, "SELECT id, body FROM pbig WHERE id > ? ORDER BY id",
                             args, 1, 10);
    CHECK(rc == 0, "4 MB answers: %d (%s)", rc, tern_errmsg());
    for (int i = 0; rc == 0 && i < 10; i++) {
        json_t *last = json_array_get(results[i], json_array_size(results[i]) - 1);
        CHECK(json_array_size(results[i]) == (size_t)(40 - i) &&
                  json_integer_value(json_object_get(last, "id")) == 40 &&
                  strlen(json_string_value(json_object_get(last, "body")) ?: "") == 100000,
              "set %d: %zu rows", i, json_array_size(results[i]));
    }
    free_results(results, 10);
    /* requests bigger than a socket buffer: 300 sets of a 20 KB parameter (6 MB out) */
    enum { NR = 300, PLEN = 20000 };
    char *param = malloc(PLEN + 1);
    if (param) {
        memset(param, 'q', PLEN);
        param[PLEN] = '\0';
        const char *text = param;
        for (int i = 0; i < NR; i++)
            args[i] = TERN_TEXT(text);
        rc = tern_sql_query_each(c, results, NULL, "SELECT LENGTH(?) AS n", args, 1, NR);
        CHECK(rc == 0, "6 MB of requests: %d (%s)", rc, tern_errmsg());
        for (int i = 0; rc == 0 && i < NR; i++)
            CHECK(json_integer_value(json_object_get(json_array_get(results[i], 0), "n")) == PLEN,
                  "set %d: %s", i, dump(results[i]));
        free_results(results, NR);
        free(param);
    }
    json_t *row = NULL;
    rc = tern_sql_query_row(c, &row, "SELECT COUNT(*) AS n FROM pbig", NULL, 0);
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "n")) == 40, "after: %d (%s)", rc,
          tern_errmsg());
    json_decref(row);
    free(args);
    free(results);
    tern_sql_release(c);
    CHECK(stats(p).reconnects == 0 && stats(p).errors == 0, "stats: %llu reconnects, %llu errors",
          (unsigned long long)stats(p).reconnects, (unsigned long long)stats(p).errors);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, many_sets_and_big_answers, .init = big_setup)
{
    run(many_main);
}

/* Values of 16 MiB or more: an answer comes in several packets (joined), a request
 * that long runs one by one through the connector. */
static void huge_setup(void)
{
    /* for the sessions opened from now on */
    cr_assert_eq(root_sql("SET GLOBAL max_allowed_packet = 67108864;\n"), 0,
                 "could not raise max_allowed_packet");
}

static void *huge_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 1, .query_timeout_ms = 60000}, &p, &c))
        return NULL;
    /* a binary row of n bytes is 6 bytes longer: 16777209 fills one packet exactly (an
     * empty one follows), 16777210 spills one byte into a second */
    const int64_t lens[] = {16777209, 10, 17000000, 16777210, 0};
    enum { N = sizeof lens / sizeof lens[0] };
    tern_sql_arg args[N][2];
    for (int i = 0; i < N; i++)
        args[i][0] = args[i][1] = TERN_I64(lens[i]);
    json_t *results[N];
    int rc = tern_sql_query_each(c, results, NULL, "SELECT REPEAT('x', ?) AS v, ? AS n",
                                 &args[0][0], 2, N);
    CHECK(rc == 0, "long answers: %d (%s)", rc, tern_errmsg());
    for (int i = 0; rc == 0 && i < N; i++) {
        json_t *row = json_array_get(results[i], 0);
        const char *v = json_string_value(json_object_get(row, "v"));
        size_t n = v ? strlen(v) : 0;
        CHECK(v && n == (size_t)lens[i] && strspn(v, "x") == n &&
                  json_integer_value(json_object_get(row, "n")) == lens[i],
              "set %d: %zu bytes of %lld, n %s", i, n, (long long)lens[i],
              dump(json_object_get(row, "n")));
    }
    free_results(results, N);
    /* a 17 MB parameter among small ones */
    char *big = malloc(17000001);
    if (big) {
        memset(big, 'y', 17000000);
        big[17000000] = '\0';
        const char *text = big;
        tern_sql_arg targs[] = {TERN_TEXT("abc"), TERN_TEXT(text), TERN_TEXT("")};
        rc = tern_sql_query_each(c, results, NULL, "SELECT LENGTH(?) AS n", targs, 1, 3);
        CHECK(rc == 0, "a long request: %d (%s)", rc, tern_errmsg());
        const int64_t want[] = {3, 17000000, 0};
        for (int i = 0; rc == 0 && i < 3; i++)
            CHECK(json_integer_value(json_object_get(json_array_get(results[i], 0), "n")) ==
                      want[i],
                  "set %d: %s", i, dump(results[i]));
        free_results(results, 3);
        free(big);
    }
    json_t *row = NULL;
    rc = tern_sql_query_row(c, &row, "SELECT 5 AS x", NULL, 0);
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "x")) == 5, "after: %d (%s)", rc,
          tern_errmsg());
    json_decref(row);
    tern_sql_arg ids[] = {TERN_I64(1), TERN_I64(2)};
    rc = tern_sql_query_each(c, results, NULL, "SELECT id FROM world WHERE id = ?", ids, 1, 2);
    CHECK(rc == 0 && json_integer_value(json_object_get(json_array_get(results[1], 0), "id")) == 2,
          "pipelined after: %d (%s)", rc, tern_errmsg());
    free_results(results, 2);
    tern_sql_release(c);
    CHECK(stats(p).reconnects == 0 && stats(p).errors == 0, "stats: %llu reconnects, %llu errors",
          (unsigned long long)stats(p).reconnects, (unsigned long long)stats(p).errors);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, values_of_16_mib_and_more, .init = huge_setup)
{
    run(huge_main);
}

/* ---- 7. edge calls and errors ---- */

static void *edges_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 1}, &p, &c))
        return NULL;
    json_t *sentinel = json_string("untouched");
    json_t *results[4];
    tern_sql_result res[4];
    int64_t before = session_status(c, "COM_STMT_EXECUTE");
    /* no sets: nothing runs */
    tern_sql_arg none[] = {TERN_I64(0)};
    int rc = tern_sql_query_each(c, results, res, "SELECT ? AS x", none, 1, 0);
    CHECK(rc == 0, "no sets: %d (%s)", rc, tern_errmsg());
    rc = tern_sql_query_each(c, results, NULL, "SELEKT nonsense", NULL, 0, 0);
    CHECK(rc == 0, "no sets of bad SQL: %d (%s)", rc, tern_errmsg());
    CHECK(session_status(c, "COM_STMT_EXECUTE") == before + 1, "executions with no sets: %lld",
          (long long)(session_status(c, "COM_STMT_EXECUTE") - before));

    /* the wrong number of arguments */
    for (int i = 0; i < 4; i++)
        results[i] = sentinel;
    tern_sql_arg two[] = {TERN_I64(1), TERN_I64(2), TERN_I64(3), TERN_I64(4)};
    tern_set_errmsg("%s", "");
    rc = tern_sql_query_each(c, results, NULL, "SELECT ? AS x", two, 2, 2);
    CHECK(rc == -EINVAL, "2 arguments for 1 placeholder: %d", rc);
    CHECK(strstr(tern_errmsg(), "placeholder"), "message: %s", tern_errmsg());
    CHECK(!results[0] && !results[1], "results of a refused call: %p %p", (void *)results[0],
          (void *)results[1]);
    rc = tern_sql_query_each(c, results, NULL, "SELECT ? AS x, ? AS y", two, 1, 4);
    CHECK(rc == -EINVAL && strstr(tern_errmsg(), "placeholder"), "1 argument for 2: %d (%s)", rc,
          tern_errmsg());
    for (int i = 0; i < 4; i++)
        CHECK(!results[i], "result %d of a refused call", i);
    /* required pointers */
    rc = tern_sql_query_each(c, NULL, NULL, "SELECT 1", NULL, 0, 1);
    CHECK(rc == -EINVAL, "no results array: %d", rc);
    rc = tern_sql_query_each(c, results, NULL, NULL, NULL, 0, 1);
    CHECK(rc == -EINVAL, "no SQL: %d", rc);
    rc = tern_sql_query_each(c, results, NULL, "SELECT ? AS x", NULL, 1, 1);
    CHECK(rc == -EINVAL, "no arguments: %d", rc);
    /* an argument of no valid type: that set fails, the other runs */
    tern_sql_arg bogus[] = {TERN_I64(1), {.type = (tern_sql_type)99}};
    rc = tern_sql_query_each(c, results, NULL, "SELECT ? AS x", bogus, 1, 2);
    CHECK(rc == -EINVAL && results[1] == NULL &&
              json_integer_value(json_object_get(json_array_get(results[0], 0), "x")) == 1,
          "an invalid argument type: %d, %s, %s", rc, dump(results[0]), dump(results[1]));
    free_results(results, 2);
    json_t *row = NULL;
    rc = tern_sql_query_row(c, &row, "SELECT 7 AS x", NULL, 0);
    CHECK(rc == 1, "after an invalid type: %d (%s)", rc, tern_errmsg());
    json_decref(row);

    /* SQL the server refuses */
    for (int i = 0; i < 4; i++)
        results[i] = sentinel;
    rc = tern_sql_query_each(c, results, NULL, "SELEKT ? AS x", two, 1, 4);
    CHECK(rc < 0 && rc != -EINVAL && strstr(tern_errmsg(), "1064"), "bad SQL: %d (%s)", rc,
          tern_errmsg());
    for (int i = 0; i < 4; i++)
        CHECK(!results[i], "result %d of bad SQL", i);
    rc = tern_sql_query_each(c, results, NULL, "SELECT x FROM no_such_table WHERE id = ?", two, 1,
                             3);
    /* (the test user has no rights on tables it was not granted: 1142 rather than 1146) */
    CHECK(rc < 0 && (strstr(tern_errmsg(), "1146") || strstr(tern_errmsg(), "1142")),
          "missing table: %d (%s)", rc, tern_errmsg());
    for (int i = 0; i < 3; i++)
        CHECK(!results[i], "result %d of a missing table", i);
    /* a run-time error in every set */
    rc = tern_sql_query_each(c, results, NULL,
                             "SELECT id FROM world WHERE id = (SELECT id FROM world WHERE id < ?)",
                             two + 2, 1, 2);
    CHECK(rc < 0 && strstr(tern_errmsg(), "1242") && !results[0] && !results[1],
          "every set failing: %d (%s)", rc, tern_errmsg());
    free_results(results, 2);
    rc = tern_sql_query_row(c, &row, "SELECT 8 AS x", NULL, 0);
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "x")) == 8, "after errors: %d (%s)",
          rc, tern_errmsg());
    json_decref(row);
    rc = tern_sql_query_each(c, results, NULL, "SELECT ? AS x", two, 1, 2);
    CHECK(rc == 0 && json_integer_value(json_object_get(json_array_get(results[1], 0), "x")) == 2,
          "pipelined after errors: %d (%s)", rc, tern_errmsg());
    free_results(results, 2);
    /* released: refused */
    tern_sql_release(c);
    rc = tern_sql_query_each(c, results, NULL, "SELECT ? AS x", two, 1, 2);
    CHECK(rc == -EINVAL && !results[0] && !results[1], "after release: %d", rc);
    tern_pool_stats st = stats(p);
    CHECK(st.reconnects == 0 && st.connections == 1, "the connection was replaced: %llu",
          (unsigned long long)st.reconnects);
    json_decref(sentinel);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, empty_calls_and_errors)
{
    run(edges_main);
}

/* ---- 8. the table changes between calls ---- */

static const char alter_schema[] =
    "CREATE TABLE palter (id INT PRIMARY KEY, a INT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
    "INSERT INTO palter VALUES (1, 10), (2, 20), (3, 30);\n";

static void alter_setup(void)
{
    create_for_user(alter_schema, "palter");
}

/* Pipelines SELECT * over ids 1..3 (each twice) and checks each row against want(id),
 * then against one by one. */
static void select_all_check(tern_sql_conn *c, const char *stage, const char *want_fmt)
{
    const char *sql = "SELECT * FROM palter WHERE id = ?";
    tern_sql_arg args[] = {TERN_I64(1), TERN_I64(2), TERN_I64(3),
                           TERN_I64(1), TERN_I64(2), TERN_I64(3)};
    json_t *results[6];
    int rc = tern_sql_query_each(c, results, NULL, sql, args, 1, 6);
    CHECK(rc == 0, "%s: %d (%s)", stage, rc, tern_errmsg());
    for (int i = 0; rc == 0 && i < 6; i++) {
        int id = 1 + i % 3;
        char text[256];
        snprintf(text, sizeof text, want_fmt, id, id * 10);
        json_t *want = json_loads(text, 0, NULL);
        json_t *row = json_array_get(results[i], 0);
        CHECK(want && json_array_size(results[i]) == 1 && json_equal(row, want),
              "%s, set %d: %s, want %s", stage, i, dump(results[i]), text);
        json_decref(want);
    }
    if (rc == 0)
        differs_from_one_by_one(c, results, sql, args, 1, 6);
    free_results(results, 6);
    json_t *row = NULL;
    rc = tern_sql_query_row(c, &row, "SELECT COUNT(*) AS n FROM palter", NULL, 0);
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "n")) == 3,
          "%s, then a query: %d (%s)", stage, rc, tern_errmsg());
    json_decref(row);
}

static void *alter_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 1}, &p, &c))
        return NULL;
    select_all_check(c, "before", "{\"id\": %d, \"a\": %d}");
    CHECK(root_sql("ALTER TABLE palter ADD COLUMN b VARCHAR(10) NOT NULL DEFAULT 'new';\n") == 0,
          "ADD COLUMN failed");
    select_all_check(c, "column added", "{\"id\": %d, \"a\": %d, \"b\": \"new\"}");
    select_all_check(c, "column added, again", "{\"id\": %d, \"a\": %d, \"b\": \"new\"}");
    /* as many columns as before, of other types: the old ones would misread the rows */
    CHECK(root_sql(
              "UPDATE palter SET b = '0';\n"
              "ALTER TABLE palter MODIFY a VARCHAR(20), MODIFY b BIGINT NOT NULL DEFAULT 7;\n") ==
              0,
          "MODIFY failed");
    select_all_check(c, "types changed", "{\"id\": %d, \"a\": \"%d\", \"b\": 0}");
    select_all_check(c, "types changed, again", "{\"id\": %d, \"a\": \"%d\", \"b\": 0}");
    CHECK(root_sql("ALTER TABLE palter DROP COLUMN b;\n") == 0, "DROP COLUMN failed");
    select_all_check(c, "column dropped", "{\"id\": %d, \"a\": \"%d\"}");
    tern_sql_release(c);
    tern_pool_stats st = stats(p);
    CHECK(st.reconnects == 0 && st.connections == 1, "the connection was replaced: %llu",
          (unsigned long long)st.reconnects);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, table_altered_between_calls, .init = alter_setup)
{
    run(alter_main);
}

/* The same change seen first by tern_sql_query, then pipelined. After ADD COLUMN the
 * connector refuses a cached SELECT *'s result with 2057 (CR_NEW_STMT_METADATA): the
 * one-by-one path prepares it again, as for 1243/1615, and the connection stays in
 * sync (it used to fail every execute, then 2014 on the next statement). */
static void *connector_first_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 1}, &p, &c))
        return NULL;
    select_all_check(c, "before", "{\"id\": %d, \"a\": %d}");
    CHECK(root_sql("ALTER TABLE palter ADD COLUMN c INT NOT NULL DEFAULT 5;\n") == 0,
          "ADD COLUMN failed");
    json_t *row = NULL;
    int rc = tern_sql_query_row(c, &row, "SELECT * FROM palter WHERE id = ?",
                                TERN_SQL_ARGS(TERN_I64(2)));
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "c")) == 5 &&
              json_object_size(row) == 3,
          "one by one after ADD COLUMN: %d (%s), %s", rc, tern_errmsg(), dump(row));
    json_decref(row);
    select_all_check(c, "column added", "{\"id\": %d, \"a\": %d, \"c\": 5}");
    tern_sql_release(c);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, table_altered_seen_first_one_by_one, .init = alter_setup)
{
    run(connector_first_main);
}

/* The statement is prepared once per connection, like tern_sql_query's. */
static void *prepared_once_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 1}, &p, &c))
        return NULL;
    int64_t before = session_status(c, "COM_STMT_PREPARE");
    tern_sql_arg args[10];
    json_t *results[10];
    for (int i = 0; i < 10; i++)
        args[i] = TERN_I64(i + 1);
    for (int round = 0; round < 5; round++) {
        int rc = tern_sql_query_each(
            c, results, NULL, "SELECT id, randomNumber FROM world WHERE id = ?", args, 1, 10);
        CHECK(rc == 0, "round %d: %d (%s)", round, rc, tern_errmsg());
        free_results(results, 10);
        json_t *row = NULL;
        rc = tern_sql_query_row(c, &row, "SELECT id, randomNumber FROM world WHERE id = ?",
                                TERN_SQL_ARGS(TERN_I64(5)));
        CHECK(rc == 1, "one by one, round %d: %d (%s)", round, rc, tern_errmsg());
        json_decref(row);
    }
    int64_t after = session_status(c, "COM_STMT_PREPARE");
    /* the world select once, and the status query once */
    CHECK(before >= 1 && after == before + 1, "prepares: %lld before, %lld after 5 calls",
          (long long)before, (long long)after);
    tern_sql_release(c);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, statement_prepared_once)
{
    run(prepared_once_main);
}

/* CALL answers with its result sets and a final OK: the first result set is the set's.
 * The mariadb client needs another delimiter for a procedure's body. */
static const char call_schema[] =
    "DELIMITER //\n"
    "CREATE PROCEDURE pcall(IN n INT)\n"
    "BEGIN\n"
    "  SELECT id, randomNumber FROM world WHERE id <= n ORDER BY id;\n"
    "  SELECT n AS second;\n"
    "END//\n"
    "CREATE PROCEDURE pnothing(IN n INT) BEGIN DECLARE x INT; SET x = n; END//\n"
    "DELIMITER ;\n"
    "GRANT EXECUTE ON PROCEDURE hello_world.pcall TO 'benchmarkdbuser'@'%';\n"
    "GRANT EXECUTE ON PROCEDURE hello_world.pcall TO 'benchmarkdbuser'@'localhost';\n"
    "GRANT EXECUTE ON PROCEDURE hello_world.pcall TO 'benchmarkdbuser'@'127.0.0.1';\n"
    "GRANT EXECUTE ON PROCEDURE hello_world.pnothing TO 'benchmarkdbuser'@'%';\n"
    "GRANT EXECUTE ON PROCEDURE hello_world.pnothing TO 'benchmarkdbuser'@'localhost';\n"
    "GRANT EXECUTE ON PROCEDURE hello_world.pnothing TO 'benchmarkdbuser'@'127.0.0.1';\n";

static void call_setup(void)
{
    cr_assert_eq(root_sql(call_schema), 0, "could not create the procedures");
}

static void *call_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 1}, &p, &c))
        return NULL;
    tern_sql_arg args[] = {TERN_I64(3), TERN_I64(0), TERN_I64(1), TERN_I64(5)};
    json_t *results[4];
    int rc = tern_sql_query_each(c, results, NULL, "CALL pcall(?)", args, 1, 4);
    CHECK(rc == 0, "CALL: %d (%s)", rc, tern_errmsg());
    const size_t want[] = {3, 0, 1, 5};
    for (int i = 0; rc == 0 && i < 4; i++) {
        json_t *last = json_array_get(results[i], want[i] ? want[i] - 1 : 0);
        CHECK(json_array_size(results[i]) == want[i] &&
                  (!want[i] ||
                   json_integer_value(json_object_get(last, "id")) == (json_int_t)want[i]),
              "set %d: %s", i, dump(results[i]));
    }
    if (rc == 0)
        differs_from_one_by_one(c, results, "CALL pcall(?)", args, 1, 4);
    free_results(results, 4);
    rc = tern_sql_query_each(c, results, NULL, "CALL pnothing(?)", args, 1, 3);
    CHECK(rc == 0 && results[0] && results[1] && results[2], "CALL without rows: %d (%s)", rc,
          tern_errmsg());
    free_results(results, 3);
    json_t *row = NULL;
    rc = tern_sql_query_row(c, &row, "SELECT 9 AS x", NULL, 0);
    CHECK(rc == 1 && json_integer_value(json_object_get(row, "x")) == 9, "after CALLs: %d (%s)", rc,
          tern_errmsg());
    json_decref(row);
    tern_sql_release(c);
    CHECK(stats(p).reconnects == 0, "the connection was replaced");
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, call_with_several_result_sets, .init = call_setup)
{
    run(call_main);
}

/* ---- 9. a frozen server, a killed one ---- */

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
    enum { N = 300 };
    tern_sql_arg *args = calloc(N, sizeof *args);
    json_t **results = calloc(N, sizeof *results);
    char *pad = malloc(20001);
    if (!args || !results || !pad) {
        CHECK(0, "out of memory");
        return NULL;
    }
    memset(pad, 'z', 20000);
    pad[20000] = '\0';
    const char *padding = pad;
    /* small requests (one write), then 6 MB of them (the write itself must wait) */
    for (int round = 0; round < 2; round++) {
        tern_sql_conn *c;
        int rc = tern_sql_acquire(p, &c);
        CHECK(rc == 0, "acquire: %d (%s)", rc, tern_errmsg());
        if (rc < 0)
            break;
        size_t n = round == 0 ? 20 : N;
        const char *sql = round == 0 ? "SELECT id, randomNumber FROM world WHERE id = ?"
                                     : "SELECT LENGTH(?) AS n";
        for (size_t i = 0; i < n; i++)
            args[i] = round == 0 ? TERN_I64(i + 1) : TERN_TEXT(padding);
        /* warm: the statement is prepared before the server stops */
        rc = tern_sql_query_each(c, results, NULL, sql, args, 1, 2);
        CHECK(rc == 0, "warm-up %d: %d (%s)", round, rc, tern_errmsg());
        free_results(results, 2);
        backend_signal(&be, SIGSTOP);
        for (size_t i = 0; i < n; i++)
            results[i] = json_null();
        uint64_t t0 = wall_ms();
        rc = tern_sql_query_each(c, results, NULL, sql, args, 1, n);
        uint64_t spent = wall_ms() - t0;
        CHECK(rc == TERN_ETIMEDOUT, "round %d, server frozen: %d (%s)", round, rc, tern_errmsg());
        CHECK(spent >= 250 && spent < 2500, "round %d timed out after %llu ms (timeout 300)", round,
              (unsigned long long)spent);
        for (size_t i = 0; i < n; i++)
            CHECK(!results[i], "round %d: set %zu has a result", round, i);
        rc = tern_sql_query_each(c, results, NULL, sql, args, 1, 2);
        CHECK(rc == TERN_EUNAVAILABLE, "the cut-off connection answered: %d", rc);
        tern_sql_release(c);
        backend_signal(&be, SIGCONT);
        t0 = wall_ms();
        CHECK(until_ok(p, 10000) >= 0, "never recovered after SIGCONT: %s", tern_errmsg());
        rc = pipelined_world(p, 30);
        CHECK(rc == 0, "pipelined after recovery: %d (%s)", rc, tern_errmsg());
        CHECK(wall_ms() - t0 < 5000, "recovery took %llu ms", (unsigned long long)(wall_ms() - t0));
    }
    tern_pool_stats st = stats(p);
    CHECK(st.timeouts >= 2 && st.in_use == 0, "stats: %llu timeouts, %u in use",
          (unsigned long long)st.timeouts, st.in_use);
    free(args);
    free(results);
    free(pad);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, frozen_server_times_out_and_pool_recovers)
{
    run(freeze_main);
}

static void *kill_soon(void *arg)
{
    (void)arg;
    tern_sleep(400); /* 20 sets of SLEEP(0.05): about 8 answered, 12 not */
    tern_run_blocking(backend_kill_blocking, &be, NULL);
    return NULL;
}

static void *killed_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p =
        open_pool((tern_sql_opts){.pool_min = 1, .pool_max = 4, .connect_timeout_ms = 1000});
    if (!p)
        return NULL;
    CHECK(until_ok(p, 5000) >= 0, "no first answer: %s", tern_errmsg());
    json_t *results[20];
    tern_sql_arg args[20];
    for (int i = 0; i < 20; i++)
        args[i] = TERN_F64(0.05);

    /* killed while the answers come in: what was answered stays, the rest fails */
    tern_sql_conn *c;
    int rc = tern_sql_acquire(p, &c);
    CHECK(rc == 0, "acquire: %d (%s)", rc, tern_errmsg());
    if (rc == 0) {
        tern_task *killer = tern_spawn(kill_soon, NULL);
        uint64_t t0 = wall_ms();
        rc = tern_sql_query_each(c, results, NULL, "SELECT SLEEP(?) AS s", args, 1, 20);
        uint64_t spent = wall_ms() - t0;
        tern_task_join(killer, NULL);
        CHECK(rc == TERN_EUNAVAILABLE, "killed mid-call: %d (%s)", rc, tern_errmsg());
        CHECK(spent < 1000, "the failure took %llu ms (the sets would take 1000)",
              (unsigned long long)spent);
        int answered = 0;
        for (int i = 0; i < 20; i++) {
            if (!results[i])
                continue;
            CHECK(answered == i, "set %d answered after a failed one", i);
            CHECK(json_integer_value(json_object_get(json_array_get(results[i], 0), "s")) == 0,
                  "set %d: %s", i, dump(results[i]));
            answered++;
        }
        CHECK(answered >= 1 && answered < 20, "%d of 20 answered before the kill", answered);
        free_results(results, 20);
        rc = tern_sql_query_each(c, results, NULL, "SELECT SLEEP(?) AS s", args, 1, 2);
        CHECK(rc == TERN_EUNAVAILABLE && !results[0] && !results[1], "lost connection: %d", rc);
        tern_sql_release(c);
    }
    void *started = NULL;
    tern_run_blocking(backend_restart_blocking, &be, &started);
    CHECK(started, "backend_restart failed");
    CHECK(until_ok(p, 15000) >= 0, "never recovered: %s", tern_errmsg());

    /* killed between the acquire and the call */
    rc = tern_sql_acquire(p, &c);
    CHECK(rc == 0, "acquire after the restart: %d (%s)", rc, tern_errmsg());
    if (rc == 0) {
        tern_run_blocking(backend_kill_blocking, &be, NULL);
        uint64_t t0 = wall_ms();
        for (int i = 0; i < 20; i++)
            args[i] = TERN_I64(i + 1);
        rc =
            tern_sql_query_each(c, results, NULL, "SELECT id FROM world WHERE id = ?", args, 1, 20);
        CHECK(rc == TERN_EUNAVAILABLE, "server dead: %d (%s)", rc, tern_errmsg());
        CHECK(wall_ms() - t0 < 800, "took %llu ms to fail", (unsigned long long)(wall_ms() - t0));
        for (int i = 0; i < 20; i++)
            CHECK(!results[i], "set %d has a result from a dead server", i);
        tern_sql_release(c);
    }
    started = NULL;
    tern_run_blocking(backend_restart_blocking, &be, &started);
    CHECK(started, "backend_restart failed");
    CHECK(until_ok(p, 15000) >= 0, "never recovered: %s", tern_errmsg());
    rc = pipelined_world(p, 40);
    CHECK(rc == 0, "pipelined after the restart: %d (%s)", rc, tern_errmsg());
    tern_pool_stats st = stats(p);
    CHECK(st.reconnects > 0 && st.errors > 0 && st.in_use == 0, "stats: %llu reconnects",
          (unsigned long long)st.reconnects);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, killed_server_is_unavailable)
{
    run(killed_main);
}

/* ---- 10. transactions ---- */

static void *tx_main(void *arg)
{
    (void)arg;
    tern_sql_pool *p;
    tern_sql_conn *c;
    if (!open_conn((tern_sql_opts){.pool_max = 2}, &p, &c))
        return NULL;
    enum { N = 10 };
    int64_t before[N];
    tern_sql_arg args[N][2];
    for (int i = 0; i < N; i++) {
        before[i] = world_number(c, i + 1);
        CHECK(before[i] >= 1, "row %d unreadable", i + 1);
        args[i][0] = TERN_I64(20000 + i); /* out of the data's range: surely a change */
        args[i][1] = TERN_I64(i + 1);
    }
    const char *upd = "UPDATE world SET randomNumber = ? WHERE id = ?";
    json_t *results[N];
    tern_sql_result res[N];
    CHECK(tern_sql_begin(c) == 0, "begin: %s", tern_errmsg());
    int rc = tern_sql_query_each(c, results, res, upd, &args[0][0], 2, N);
    CHECK(rc == 0, "updates in the transaction: %d (%s)", rc, tern_errmsg());
    for (int i = 0; rc == 0 && i < N; i++)
        CHECK(res[i].affected_rows == 1, "set %d: %llu rows", i,
              (unsigned long long)res[i].affected_rows);
    free_results(results, N);
    for (int i = 0; i < N; i++)
        CHECK(world_number(c, i + 1) == 20000 + i, "own update %d not visible", i);
    /* another connection does not see them yet */
    tern_sql_conn *other;
    rc = tern_sql_acquire(p, &other);
    CHECK(rc == 0, "second connection: %d (%s)", rc, tern_errmsg());
    if (rc == 0) {
        CHECK(world_number(other, 1) == before[0], "uncommitted update visible elsewhere");
        tern_sql_release(other);
    }
    CHECK(tern_sql_rollback(c) == 0, "rollback: %s", tern_errmsg());
    for (int i = 0; i < N; i++)
        CHECK(world_number(c, i + 1) == before[i], "row %d after the rollback: %lld, was %lld",
              i + 1, (long long)world_number(c, i + 1), (long long)before[i]);

    /* committed, pipelined reads inside the transaction see its writes */
    CHECK(tern_sql_begin(c) == 0, "begin: %s", tern_errmsg());
    rc = tern_sql_query_each(c, results, res, upd, &args[0][0], 2, N);
    CHECK(rc == 0, "second updates: %d (%s)", rc, tern_errmsg());
    free_results(results, N);
    tern_sql_arg ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = TERN_I64(i + 1);
    rc = tern_sql_query_each(c, results, NULL, "SELECT randomNumber FROM world WHERE id = ?", ids,
                             1, N);
    for (int i = 0; rc == 0 && i < N; i++)
        CHECK(json_integer_value(json_object_get(json_array_get(results[i], 0), "randomNumber")) ==
                  20000 + i,
              "pipelined read %d in the transaction: %s", i, dump(results[i]));
    free_results(results, N);
    CHECK(tern_sql_commit(c) == 0, "commit: %s", tern_errmsg());
    tern_sql_release(c);
    rc = tern_sql_acquire(p, &c);
    CHECK(rc == 0, "acquire: %d", rc);
    if (rc == 0) {
        for (int i = 0; i < N; i++)
            CHECK(world_number(c, i + 1) == 20000 + i, "row %d not committed", i + 1);
        tern_sql_release(c);
    }
    tern_pool_stats st = stats(p);
    CHECK(st.reconnects == 0 && st.in_use == 0, "stats: %llu reconnects, %u in use",
          (unsigned long long)st.reconnects, st.in_use);
    tern_sql_pool_free(p);
    return NULL;
}

Test(mysql_pipe, pipelined_updates_roll_back)
{
    run(tx_main);
}
