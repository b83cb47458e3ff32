/* tests/integration/test_mysql_batch.c - tern_sql_pool_query against a private mariadbd:
 * callers that come while every connection is busy share one batch (only its leader
 * queues for a connection) and each gets its own rows; each statement of a batch keeps
 * its own error (duplicate keys) and affected rows; a cancelled member leaves its slot;
 * a leader cancelled before it has a connection sends the others to start over, one
 * cancelled while the batch is in flight costs nobody their statement; with
 * a free connection a call just runs; with the server gone every member fails fast.
 *
 * The pools have one connection, and the test holds it while the callers arrive, so
 * they have to batch. Checks on coroutines record with CHECK (loop_check.h). */
#include <criterion/criterion.h>
#include <time.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "backends.h"
#include "loop_check.h"
#include "scheduler.h"
#include "tern/error.h"
#include "tern/sql.h"
#include "tern/task.h"

#define MEMBERS 20

static backend be;

static void start(void)
{
    cr_assert_eq(backend_mariadb_start(&be), 0, "mariadbd did not start");
}

static void stop(void)
{
    backend_stop(&be);
}

TestSuite(mysql_batch, .init = start, .fini = stop, .timeout = 120);

static tern_sql_pool *pool;

/* One caller: its statement, its argument and what came back. */
typedef struct member {
    const char *sql;
    tern_sql_arg args[2];
    size_t nargs;
    int rc;
    json_t *rows;
    tern_sql_result res;
    char err[256];
} member;

static void *call(void *arg)
{
    member *m = arg;
    m->rc = tern_sql_pool_query(pool, &m->rows, &m->res, m->sql, m->args, m->nargs);
    if (m->rc < 0)
        snprintf(m->err, sizeof m->err, "%s", tern_errmsg());
    return NULL;
}

static tern_sql_pool *open_pool(void)
{
    tern_sql_opts o = {.url = be.url, .pool_max = 1, .acquire_timeout_ms = 10000};
    tern_sql_pool *p = NULL;
    int rc = tern_sql_pool_new(&o, &p);
    CHECK(rc == 0 && p, "tern_sql_pool_new: %d (%s)", rc, tern_errmsg());
    return p;
}

static unsigned waiting(void)
{
    tern_pool_stats st;
    tern_sql_pool_stats(pool, &st);
    return st.waiting;
}

/* Takes the pool's one connection and starts n members, which queue behind it (the
 * first as the batch's leader). false (with a failed CHECK) when it cannot. */
static bool start_behind_held(member *m, tern_task **tasks, size_t n, tern_sql_conn **held)
{
    int rc = tern_sql_acquire(pool, held);
    CHECK(rc == 0, "acquire: %d (%s)", rc, tern_errmsg());
    if (rc < 0)
        return false;
    for (size_t i = 0; i < n; i++)
        CHECK((tasks[i] = tern_spawn(call, &m[i])) != NULL, "spawn %zu", i);
    tern_sleep(100);
    return true;
}

/* Checks that the pool lends nothing and nobody waits, then frees it. */
static void expect_pool_quiet_and_free(void)
{
    tern_pool_stats st;
    tern_sql_pool_stats(pool, &st);
    CHECK(st.in_use == 0 && st.waiting == 0, "after: %u in use, %u waiting", st.in_use,
          st.waiting);
    tern_sql_pool_free(pool);
}

/* Holds the pool's one connection while n members start, checks that only one of them
 * queues for a connection, then lets them run. Returns the held connection's release
 * status via the members. */
static void run_members(member *m, tern_task **tasks, size_t n, void (*meanwhile)(tern_task **))
{
    tern_sql_conn *held;
    if (!start_behind_held(m, tasks, n, &held))
        return;
    CHECK(waiting() == 1, "%u callers queue for a connection (one leader expected)", waiting());
    if (meanwhile)
        meanwhile(tasks);
    tern_sql_release(held);
    for (size_t i = 0; i < n; i++)
        tern_task_join(tasks[i], NULL);
}

/* ---- every member gets its own rows ---- */

static void *own_rows_main(void *arg)
{
    (void)arg;
    if (!(pool = open_pool()))
        return NULL;
    member m[MEMBERS] = {0};
    tern_task *tasks[MEMBERS];
    for (int i = 0; i < MEMBERS; i++)
        m[i] = (member){.sql = "SELECT id, ? AS k FROM world WHERE id = ?",
                        .args = {TERN_I64(i * 7), TERN_I64(i + 1)},
                        .nargs = 2};
    run_members(m, tasks, MEMBERS, NULL);
    for (int i = 0; i < MEMBERS; i++) {
        json_t *row = json_array_get(m[i].rows, 0);
        CHECK(m[i].rc == 0, "member %d: %d (%s)", i, m[i].rc, m[i].err);
        CHECK(json_array_size(m[i].rows) == 1, "member %d: %zu rows", i,
              json_array_size(m[i].rows));
        CHECK(json_integer_value(json_object_get(row, "id")) == i + 1 &&
                  json_integer_value(json_object_get(row, "k")) == i * 7,
              "member %d got another's row", i);
        json_decref(m[i].rows);
    }
    tern_sql_pool_free(pool);
    return NULL;
}

Test(mysql_batch, members_share_one_connection_and_get_their_own_rows)
{
    run(own_rows_main);
}

/* ---- each statement keeps its own error ---- */

static void *own_errors_main(void *arg)
{
    (void)arg;
    if (!(pool = open_pool()))
        return NULL;
    member m[10] = {0};
    tern_task *tasks[10];
    for (int i = 0; i < 10; i++)
        m[i] = (member){.sql = "INSERT INTO fortune (id, message) VALUES (?, ?)",
                        .args = {TERN_I64(1000 + i % 5), TERN_TEXT("batch")},
                        .nargs = 2};
    run_members(m, tasks, 10, NULL);
    for (int i = 0; i < 10; i++) {
        if (i < 5) {
            CHECK(m[i].rc == 0 && m[i].res.affected_rows == 1 &&
                      m[i].res.insert_id == (uint64_t)(1000 + i),
                  "insert %d: rc %d, %llu rows, id %llu (%s)", i, m[i].rc,
                  (unsigned long long)m[i].res.affected_rows,
                  (unsigned long long)m[i].res.insert_id, m[i].err);
        } else {
            CHECK(m[i].rc == -EEXIST && strstr(m[i].err, "Duplicate"),
                  "duplicate %d: rc %d (%s)", i, m[i].rc, m[i].err);
            CHECK(m[i].rows == NULL, "a failed member got rows");
        }
        json_decref(m[i].rows);
    }
    json_t *rows = NULL;
    int rc = tern_sql_pool_query(pool, &rows, NULL,
                                 "SELECT COUNT(*) AS n FROM fortune WHERE id >= ?",
                                 TERN_SQL_ARGS(TERN_I64(1000)));
    CHECK(rc == 0 && json_integer_value(json_object_get(json_array_get(rows, 0), "n")) == 5,
          "after the batch: rc %d, %s rows stored", rc,
          rows ? json_dumps(rows, JSON_COMPACT) : "no");
    json_decref(rows);
    tern_sql_pool_free(pool);
    return NULL;
}

Test(mysql_batch, each_statement_keeps_its_own_error_and_result)
{
    run(own_errors_main);
}

/* ---- cancelled members ---- */

static void cancel_leader_and_one(tern_task **tasks)
{
    tern_task_cancel(tasks[0]); /* the first caller leads: it waits for the connection */
    tern_task_cancel(tasks[5]);
}

static void *cancelled_main(void *arg)
{
    (void)arg;
    if (!(pool = open_pool()))
        return NULL;
    member m[10] = {0};
    tern_task *tasks[10];
    for (int i = 0; i < 10; i++)
        m[i] = (member){.sql = "SELECT ? AS k", .args = {TERN_I64(i)}, .nargs = 1};
    run_members(m, tasks, 10, cancel_leader_and_one);
    for (int i = 0; i < 10; i++) {
        if (i == 0 || i == 5) {
            CHECK(m[i].rc == TERN_ECANCELED && !m[i].rows, "cancelled %d: rc %d", i, m[i].rc);
            continue;
        }
        CHECK(m[i].rc == 0 &&
                  json_integer_value(json_object_get(json_array_get(m[i].rows, 0), "k")) == i,
              "member %d after the leader left: rc %d (%s)", i, m[i].rc, m[i].err);
        json_decref(m[i].rows);
    }
    expect_pool_quiet_and_free();
    return NULL;
}

Test(mysql_batch, cancelled_members_leave_and_the_others_start_over)
{
    run(cancelled_main);
}

/* ---- the leader cancelled while the batch is in flight ---- */

enum { SLEEPERS = 5 };

/* Opens the pool and starts SLEEPERS members of sql (one argument, i) behind its held
 * connection, then lets the leader take it and send them all. */
static bool start_sleepers(member *m, tern_task **tasks, const char *sql)
{
    if (!(pool = open_pool()))
        return false;
    for (int i = 0; i < SLEEPERS; i++)
        m[i] = (member){.sql = sql, .args = {TERN_I64(i)}, .nargs = 1};
    tern_sql_conn *held;
    if (!start_behind_held(m, tasks, SLEEPERS, &held))
        return false;
    tern_sql_release(held);
    return true;
}

static void *in_flight_main(void *arg)
{
    (void)arg;
    enum { N = SLEEPERS };
    member m[N] = {0};
    tern_task *tasks[N];
    /* five statements of 0.15 s each, one after another */
    if (!start_sleepers(m, tasks, "SELECT ? AS k, SLEEP(0.15) AS s"))
        return NULL;
    tern_sleep(200); /* the second statement is running */
    tern_task_cancel(tasks[0]);
    for (int i = 0; i < N; i++)
        tern_task_join(tasks[i], NULL);
    for (int i = 0; i < N; i++) {
        /* the leader's own statement was answered too: its request sees the
         * cancellation at its next wait */
        CHECK(m[i].rc == 0 &&
                  json_integer_value(json_object_get(json_array_get(m[i].rows, 0), "k")) == i,
              "member %d: rc %d (%s)", i, m[i].rc, m[i].err);
        json_decref(m[i].rows);
    }
    tern_pool_stats st;
    tern_sql_pool_stats(pool, &st);
    CHECK(st.in_use == 0 && st.waiting == 0 && st.idle == 1,
          "after: %u in use, %u waiting, %u idle (the connection must survive)", st.in_use,
          st.waiting, st.idle);
    tern_sql_pool_free(pool);
    return NULL;
}

Test(mysql_batch, leader_cancelled_in_flight_costs_nobody_their_statement)
{
    run(in_flight_main);
}

/* ... but once nobody else waits, the cancelled leader stops at once. */
static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *all_gone_main(void *arg)
{
    (void)arg;
    enum { N = SLEEPERS };
    member m[N] = {0};
    tern_task *tasks[N];
    if (!start_sleepers(m, tasks, "SELECT ? AS k, SLEEP(0.3) AS s")) /* 1.5 s in all */
        return NULL;
    tern_sleep(100);
    uint64_t t0 = now_ms();
    tern_task_cancel(tasks[0]); /* the leader runs on for the others... */
    tern_sleep(100);
    for (int i = 1; i < N; i++) /* ...until they are gone too */
        tern_task_cancel(tasks[i]);
    for (int i = 0; i < N; i++)
        tern_task_join(tasks[i], NULL);
    uint64_t spent = now_ms() - t0;
    for (int i = 0; i < N; i++) {
        CHECK(m[i].rc == TERN_ECANCELED && !m[i].rows, "member %d: rc %d", i, m[i].rc);
        json_decref(m[i].rows);
    }
    CHECK(spent < 700, "the leader ran on for %llu ms after everyone left",
          (unsigned long long)spent);
    expect_pool_quiet_and_free();
    return NULL;
}

Test(mysql_batch, cancelled_leader_stops_once_nobody_else_waits)
{
    run(all_gone_main);
}

/* ---- alone, and with the server gone ---- */

static void *alone_main(void *arg)
{
    (void)arg;
    if (!(pool = open_pool()))
        return NULL;
    json_t *rows = NULL;
    tern_sql_result res = {0};
    int rc = tern_sql_pool_query(pool, &rows, &res,
                                 "UPDATE world SET randomNumber = ? WHERE id = ?",
                                 TERN_SQL_ARGS(TERN_I64(4321), TERN_I64(77)));
    CHECK(rc == 0 && res.affected_rows <= 1 && json_array_size(rows) == 0,
          "update: rc %d (%s)", rc, tern_errmsg());
    json_decref(rows);
    rows = NULL;
    rc = tern_sql_pool_query(pool, &rows, NULL, "SELECT randomNumber FROM world WHERE id = ?",
                             TERN_SQL_ARGS(TERN_I64(77)));
    CHECK(rc == 0 &&
              json_integer_value(json_object_get(json_array_get(rows, 0), "randomNumber")) == 4321,
          "read back: rc %d", rc);
    json_decref(rows);
    rc = tern_sql_pool_query(pool, &rows, NULL, "SELEC nonsense", NULL, 0);
    CHECK(rc < 0 && rows == NULL && strstr(tern_errmsg(), "1064"), "bad SQL: rc %d (%s)", rc,
          tern_errmsg());
    rc = tern_sql_pool_query(pool, &rows, NULL, "SELECT ? AS k", NULL, 1);
    CHECK(rc == -EINVAL, "missing args: rc %d", rc);

    /* the server goes away: every member fails, none hangs */
    backend_kill(&be);
    member m[5] = {0};
    tern_task *tasks[5];
    uint64_t t0 = wall_ms();
    for (int i = 0; i < 5; i++) {
        m[i] = (member){.sql = "SELECT ? AS k", .args = {TERN_I64(i)}, .nargs = 1};
        tasks[i] = tern_spawn(call, &m[i]);
    }
    for (int i = 0; i < 5; i++)
        tern_task_join(tasks[i], NULL);
    for (int i = 0; i < 5; i++)
        CHECK(m[i].rc < 0 && !m[i].rows, "member %d with the server gone: rc %d", i, m[i].rc);
    CHECK(wall_ms() - t0 < 15000, "took %llu ms", (unsigned long long)(wall_ms() - t0));
    tern_sql_pool_free(pool);
    return NULL;
}

Test(mysql_batch, alone_it_just_runs_and_a_dead_server_fails_everyone)
{
    run(alone_main);
}
