/* tests/integration/test_mysql_pipe.c - tern_sql_query_each, the pipelined executions of
 * one prepared statement, against a private mariadbd with the TechEmpower schema: world
 * rows by id the same as one query at a time, every column type (with NULLs, negative
 * and out-of-int64 integers, long TIME, BIT, invalid UTF-8, text past 64 KiB) the same
 * as tern_sql_query, parameters of every type (an empty and a 100 KB string among
 * them), sets failing on a duplicate key while the others succeed, an error in the
 * middle of a result, UPDATEs' affected rows, the shortest answers (11-byte OK packets)
 * still waking the reader, and four tasks pipelining at once on their own connections
 * (as the stripes of /queries do). test_mysql_pipe_limits.c has sizes, schema changes
 * and failures.
 *
 * Every test runs inside tern_loop_run: coroutines record the first failed CHECK and
 * run() asserts on it once the loop has returned (Criterion's asserts must not cross a
 * coroutine switch). Most comparisons are against tern_sql_query run one set at a time
 * on the same connection, and the values that matter are also checked literally, so a
 * mistake shared by both paths still shows. Timing bounds are wide on purpose (shared
 * 2-core machines); they still tell "failed at once" from "waited for a timeout". */

#include "mysql_pipe_helpers.h"

TestSuite(mysql_pipe, .init = start, .fini = stop, .timeout = 180);

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
