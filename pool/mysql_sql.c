/* pool/mysql_sql.c - the statement API on a lent connection (tern/sql.h): query, row,
 * exec, transactions and cursors. Each call checks its handle, runs one operation at a
 * time under the pool's query timeout (and the scope's deadline), and reports the
 * outcome to the pool. A connection that timed out or was cancelled mid-statement has
 * been cut off (its state on the wire is unknown): later calls on it fail with
 * TERN_EUNAVAILABLE and the pool replaces it when it is released. */
#include <errno.h>
#include <stdint.h>

#include "tern/error.h"
#include "mysql_pool.h"
#include "mysql_pipe.h"
#include "mysql_stmt.h"

struct tern_sql_cursor {
    tern_sql_conn *lease;
    mysql_conn *c; /* the connection it streams from */
    stmt_entry *e; /* NULL once closed */
};

mysql_conn *sql_op_begin(tern_sql_conn *l, const char *what, int *rc)
{
    if (!l || !l->c) {
        tern_set_errmsg("mysql %s: the connection was released", what);
        *rc = -EINVAL;
        return NULL;
    }
    mysql_conn *c = l->c;
    if (!tern__current() || tern_sched_current() != c->pool->sched) {
        tern_set_errmsg("mysql %s: call it from a coroutine of the pool's thread", what);
        *rc = -EINVAL;
        return NULL;
    }
    if (c->busy) {
        tern_set_errmsg("mysql %s: another operation is running on this connection", what);
        *rc = -EBUSY;
        return NULL;
    }
    if (c->broken) {
        tern_set_errmsg("mysql %s: the connection was lost; release it and acquire another", what);
        *rc = TERN_EUNAVAILABLE;
        return NULL;
    }
    int early = tern__wait_check();
    if (early < 0) {
        *rc = early;
        return NULL;
    }
    c->busy = true;
    int64_t timeout = c->pool->o.query_timeout_ms;
    c->deadline = timeout > 0 ? uv_now(c->loop) + (uint64_t)timeout : 0;
    return c;
}

int tern_sql_query(tern_sql_conn *l, json_t **rows, const char *sql, const tern_sql_arg *args,
                   size_t nargs)
{
    if (rows)
        *rows = NULL;
    if (!rows || !sql) {
        tern_set_errmsg("tern_sql_query: rows and sql are required");
        return -EINVAL;
    }
    int rc;
    mysql_conn *c = sql_op_begin(l, "query", &rc);
    if (!c)
        return rc;
    rc = stmt_run(c, sql, args, nargs, rows, SIZE_MAX, NULL);
    return pool_op_end(c->pool, c, rc);
}

int tern_sql_query_row(tern_sql_conn *l, json_t **row, const char *sql, const tern_sql_arg *args,
                       size_t nargs)
{
    if (row)
        *row = NULL;
    if (!row || !sql) {
        tern_set_errmsg("tern_sql_query_row: row and sql are required");
        return -EINVAL;
    }
    int rc;
    mysql_conn *c = sql_op_begin(l, "query", &rc);
    if (!c)
        return rc;
    json_t *arr = NULL;
    rc = pool_op_end(c->pool, c, stmt_run(c, sql, args, nargs, &arr, 1, NULL));
    if (rc < 0)
        return rc;
    json_t *first = json_array_get(arr, 0);
    if (first)
        *row = json_incref(first);
    json_decref(arr);
    return first ? 1 : 0;
}

int tern_sql_query_each(tern_sql_conn *l, json_t **results, tern_sql_result *res, const char *sql,
                        const tern_sql_arg *args, size_t nargs, size_t nsets)
{
    if (!results || !sql || (nargs && nsets && !args)) {
        tern_set_errmsg("tern_sql_query_each: results, sql and args are required");
        return -EINVAL;
    }
    for (size_t i = 0; i < nsets; i++)
        results[i] = NULL;
    int rc;
    mysql_conn *c = sql_op_begin(l, "query", &rc);
    if (!c)
        return rc;
    return pool_op_end(c->pool, c, pipe_run(c, sql, args, nargs, nsets, results, res, NULL, NULL));
}

int tern_sql_exec(tern_sql_conn *l, tern_sql_result *res, const char *sql, const tern_sql_arg *args,
                  size_t nargs)
{
    if (!sql) {
        tern_set_errmsg("tern_sql_exec: sql is required");
        return -EINVAL;
    }
    int rc;
    mysql_conn *c = sql_op_begin(l, "exec", &rc);
    if (!c)
        return rc;
    tern_sql_result local;
    rc = stmt_run(c, sql, args, nargs, NULL, 0, res ? res : &local);
    return pool_op_end(c->pool, c, rc);
}

int tern_sql_begin(tern_sql_conn *l)
{
    int rc;
    mysql_conn *c = sql_op_begin(l, "begin", &rc);
    if (!c)
        return rc;
    rc = conn_simple_query(c, "START TRANSACTION");
    if (rc == 0)
        c->in_tx = true;
    return pool_op_end(c->pool, c, rc);
}

static int end_tx(tern_sql_conn *l, bool rollback)
{
    int rc;
    mysql_conn *c = sql_op_begin(l, rollback ? "rollback" : "commit", &rc);
    if (!c)
        return rc;
    rc = conn_end_tx(c, rollback);
    if (rc == 0)
        c->in_tx = false;
    return pool_op_end(c->pool, c, rc);
}

int tern_sql_commit(tern_sql_conn *l)
{
    return end_tx(l, false);
}

int tern_sql_rollback(tern_sql_conn *l)
{
    return end_tx(l, true);
}

/* ---- cursors ------------------------------------------------------------------------ */

int tern_sql_cursor_open(tern_sql_conn *l, tern_sql_cursor **out, const char *sql,
                         const tern_sql_arg *args, size_t nargs)
{
    *out = NULL;
    if (!sql) {
        tern_set_errmsg("tern_sql_cursor_open: sql is required");
        return -EINVAL;
    }
    int rc;
    mysql_conn *c = sql_op_begin(l, "cursor", &rc);
    if (!c)
        return rc;
    /* allocated first: failing after the server opened the cursor would need a close */
    tern_sql_cursor *cur = tern_arena_alloc(l->scope->arena, sizeof(*cur));
    if (!cur) {
        tern_set_errmsg("mysql cursor: out of memory");
        return pool_op_end(c->pool, c, TERN_ENOMEM);
    }
    stmt_entry *e = NULL;
    rc = pool_op_end(c->pool, c, stmt_cursor_open(c, sql, args, nargs, &e));
    if (rc < 0)
        return rc;
    cur->lease = l;
    cur->c = c;
    cur->e = e;
    *out = cur;
    return 0;
}

/* True while the cursor's statement still streams on the lease's connection. */
static bool cursor_live(const tern_sql_cursor *cur)
{
    /* l->c goes NULL at release and is never set again, so cur->c is checked only
     * while the connection cannot have been freed */
    return cur->e && cur->lease->c == cur->c && cur->c->cursor == cur->e;
}

int tern_sql_cursor_next(tern_sql_cursor *cur, json_t **row)
{
    *row = NULL;
    if (!cur || !cursor_live(cur)) {
        tern_set_errmsg("mysql cursor: closed (or its connection was released)");
        return -EINVAL;
    }
    int rc;
    mysql_conn *c = sql_op_begin(cur->lease, "cursor", &rc);
    if (!c)
        return rc;
    return pool_op_end(c->pool, c, stmt_cursor_next(c, cur->e, row));
}

void tern_sql_cursor_close(tern_sql_cursor *cur)
{
    if (!cur || !cursor_live(cur)) {
        if (cur)
            cur->e = NULL;
        return;
    }
    stmt_entry *e = cur->e;
    cur->e = NULL;
    int rc;
    /* Off a coroutine (or mid-operation) the release closes it in the background. */
    mysql_conn *c = tern__current() ? sql_op_begin(cur->lease, "cursor close", &rc) : NULL;
    if (!c)
        return;
    pool_op_end(c->pool, c, stmt_cursor_close(c, e));
}
