/* tests/integration/test_mysql_pipe_limits.c - tern_sql_query_each at its limits and
 * when things fail: 500 sets and answers of megabytes, values of 16 MiB and more both
 * ways, argument and SQL errors, a table altered between two calls (a column added, a
 * column's type changed), the statement prepared once per connection, CALL's extra
 * result sets, a frozen server (timeout, then recovery), a server killed before and
 * during a call, and pipelined UPDATEs inside a transaction rolled back and committed.
 * test_mysql_pipe.c has the equivalence with one-by-one queries, types and parameters.
 *
 * Every test runs inside tern_loop_run: coroutines record the first failed CHECK and
 * run() asserts on it once the loop has returned (Criterion's asserts must not cross a
 * coroutine switch). Most comparisons are against tern_sql_query run one set at a time
 * on the same connection, and the values that matter are also checked literally, so a
 * mistake shared by both paths still shows. Timing bounds are wide on purpose (shared
 * 2-core machines); they still tell "failed at once" from "waited for a timeout". */

#include "mysql_pipe_helpers.h"

TestSuite(mysql_pipe_limits, .init = start, .fini = stop, .timeout = 180);

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

Test(mysql_pipe_limits, many_sets_and_big_answers, .init = big_setup)
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

Test(mysql_pipe_limits, values_of_16_mib_and_more, .init = huge_setup)
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

Test(mysql_pipe_limits, empty_calls_and_errors)
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

Test(mysql_pipe_limits, table_altered_between_calls, .init = alter_setup)
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

Test(mysql_pipe_limits, table_altered_seen_first_one_by_one, .init = alter_setup)
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

Test(mysql_pipe_limits, statement_prepared_once)
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

Test(mysql_pipe_limits, call_with_several_result_sets, .init = call_setup)
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

Test(mysql_pipe_limits, frozen_server_times_out_and_pool_recovers)
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

Test(mysql_pipe_limits, killed_server_is_unavailable)
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

Test(mysql_pipe_limits, pipelined_updates_roll_back)
{
    run(tx_main);
}
