/* pool/mysql_stmt.c - prepared statements on one connection: cached per connection by
 * SQL text (most recently used first, at most STMT_CACHE_MAX), parameters bound from
 * tern_sql_arg, rows read as they arrive, and server-side cursors.
 *
 * Plain statements read their rows unbuffered: mysql_stmt_fetch pulls each row off the
 * socket and yields while the next one is in flight, so a result is never copied twice.
 * Cursors execute with CURSOR_TYPE_READ_ONLY: the server keeps the result and sends
 * CURSOR_PREFETCH rows per COM_STMT_FETCH, so a slow consumer holds no socket buffers,
 * other statements may run on the connection meanwhile, and closing early is one
 * COM_STMT_RESET instead of reading the rest. A new connection starts with an empty
 * cache, so statements are prepared again after every reconnect. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "mysql_row.h"
#include "mysql_stmt.h"

#define STMT_CACHE_MAX 64
#define CURSOR_PREFETCH 256
#define ARGS_ON_STACK 16

struct stmt_entry {
    stmt_entry *next;
    uint64_t hash;
    size_t len;
    char *sql;
    MYSQL_STMT *stmt;
    unsigned nparams;
    bool busy; /* reserved by an open cursor: a second user prepares its own */
    bool dead; /* its connection broke: freed with the connection, never used */
    row_buf rows;
};

static int cont_prepare(conn_op *op, int ev)
{
    return mysql_stmt_prepare_cont(&op->iret, op->stmt, ev);
}

static int cont_execute(conn_op *op, int ev)
{
    return mysql_stmt_execute_cont(&op->iret, op->stmt, ev);
}

static int cont_fetch(conn_op *op, int ev)
{
    return mysql_stmt_fetch_cont(&op->iret, op->stmt, ev);
}

static int cont_next_result(conn_op *op, int ev)
{
    return mysql_stmt_next_result_cont(&op->iret, op->stmt, ev);
}

static int cont_reset(conn_op *op, int ev)
{
    return mysql_stmt_reset_cont(&op->bret, op->stmt, ev);
}

static int cont_close(conn_op *op, int ev)
{
    return mysql_stmt_close_cont(&op->bret, op->stmt, ev);
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

static void entry_free(stmt_entry *e)
{
    row_free(&e->rows);
    free(e->sql);
    free(e);
}

/* Gets rid of an unlinked entry. On a live connection COM_STMT_CLOSE frees the server's
 * copy (the close call frees the handle whatever happens); on a broken one the handle
 * waits, detached, until the connection closes. */
static void entry_dispose(mysql_conn *c, stmt_entry *e)
{
    if (!e->stmt) {
        entry_free(e);
        return;
    }
    if (c->broken) {
        e->dead = true;
        e->next = c->stmts;
        c->stmts = e;
        return;
    }
    row_unbind(&e->rows);
    conn_op op = {.cont = cont_close, .stmt = e->stmt};
    conn_run(c, &op, mysql_stmt_close_start(&op.bret, e->stmt));
    entry_free(e);
}

static void unlink_entry(mysql_conn *c, stmt_entry *e)
{
    for (stmt_entry **pp = &c->stmts; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            if (!e->dead)
                c->nstmts--;
            return;
        }
}

/* Frees room for one more statement: the least recently used one nobody holds. */
static void evict(mysql_conn *c)
{
    stmt_entry *victim = NULL;
    for (stmt_entry *e = c->stmts; e; e = e->next)
        if (!e->busy && !e->dead)
            victim = e;
    if (victim) {
        unlink_entry(c, victim);
        entry_dispose(c, victim);
    }
}

/* The cached statement for sql, prepared now if needed. */
static int cache_get(mysql_conn *c, const char *sql, stmt_entry **out)
{
    size_t len = strlen(sql);
    uint64_t h = fnv1a(sql, len);
    for (stmt_entry **pp = &c->stmts; *pp; pp = &(*pp)->next) {
        stmt_entry *e = *pp;
        if (e->busy || e->dead || e->hash != h || e->len != len || memcmp(e->sql, sql, len))
            continue;
        *pp = e->next; /* move to the front */
        e->next = c->stmts;
        c->stmts = e;
        *out = e;
        return 0;
    }
    if (c->nstmts >= STMT_CACHE_MAX)
        evict(c);
    stmt_entry *e = calloc(1, sizeof(*e));
    if (e)
        e->sql = malloc(len + 1);
    if (e && e->sql)
        e->stmt = mysql_stmt_init(c->m);
    if (!e || !e->sql || !e->stmt) {
        if (e)
            entry_free(e);
        tern_set_errmsg("mysql: out of memory for a statement");
        return TERN_ENOMEM;
    }
    memcpy(e->sql, sql, len + 1);
    e->len = len;
    e->hash = h;
    conn_op op = {.cont = cont_prepare, .stmt = e->stmt};
    int rc = conn_run(c, &op, mysql_stmt_prepare_start(&op.iret, e->stmt, sql, len));
    if (rc == 0 && op.iret)
        rc = conn_error(c, e->stmt, "prepare");
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", tern_errmsg()); /* the close may overwrite it */
        entry_dispose(c, e);
        tern_set_errmsg("%s", msg);
        return rc;
    }
    e->nparams = (unsigned)mysql_stmt_param_count(e->stmt);
    e->next = c->stmts;
    c->stmts = e;
    c->nstmts++;
    *out = e;
    return 0;
}

/* Binds args as the statement's parameters; pb and lens must outlive the execute. */
static int bind_params(stmt_entry *e, const tern_sql_arg *args, size_t nargs, MYSQL_BIND *pb,
                       unsigned long *lens)
{
    if (nargs != e->nparams) {
        tern_set_errmsg("mysql: the statement has %u placeholder(s) but %zu argument(s) came",
                        e->nparams, nargs);
        return -EINVAL;
    }
    if (nargs == 0)
        return 0;
    memset(pb, 0, nargs * sizeof(*pb));
    for (size_t i = 0; i < nargs; i++) {
        const tern_sql_arg *a = &args[i];
        MYSQL_BIND *b = &pb[i];
        switch (a->type) {
        case TERN_SQL_NULL:
            b->buffer_type = MYSQL_TYPE_NULL;
            break;
        case TERN_SQL_INT:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = (void *)&a->i; /* the connector only reads parameter buffers */
            break;
        case TERN_SQL_DOUBLE:
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = (void *)&a->d;
            break;
        case TERN_SQL_TEXT:
        case TERN_SQL_BYTES:
            b->buffer_type = a->type == TERN_SQL_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
            b->buffer = a->p ? (void *)a->p : (void *)"";
            lens[i] = a->p ? (unsigned long)a->len : 0;
            b->buffer_length = lens[i];
            b->length = &lens[i];
            break;
        default:
            tern_set_errmsg("mysql: argument %zu has no valid type", i + 1);
            return -EINVAL;
        }
    }
    if (mysql_stmt_bind_param(e->stmt, pb)) {
        tern_set_errmsg("mysql: cannot bind the arguments: %s", mysql_stmt_error(e->stmt));
        return -EIO;
    }
    return 0;
}

static int execute(mysql_conn *c, stmt_entry *e, bool cursor)
{
    unsigned long type = cursor ? CURSOR_TYPE_READ_ONLY : CURSOR_TYPE_NO_CURSOR;
    mysql_stmt_attr_set(e->stmt, STMT_ATTR_CURSOR_TYPE, &type);
    if (cursor) {
        unsigned long rows = CURSOR_PREFETCH;
        mysql_stmt_attr_set(e->stmt, STMT_ATTR_PREFETCH_ROWS, &rows);
    }
    conn_op op = {.cont = cont_execute, .stmt = e->stmt};
    int rc = conn_run(c, &op, mysql_stmt_execute_start(&op.iret, e->stmt));
    if (rc == 0 && op.iret)
        rc = conn_error(c, e->stmt, "execute");
    return rc;
}

/* Prepares (or reuses), binds and executes; a statement the server no longer knows
 * (1243 unknown handler, 1615 must re-prepare) is prepared again once. */
static int start(mysql_conn *c, const char *sql, const tern_sql_arg *args, size_t nargs,
                 bool cursor, stmt_entry **out)
{
    MYSQL_BIND pb_local[ARGS_ON_STACK];
    unsigned long lens_local[ARGS_ON_STACK];
    MYSQL_BIND *pb = pb_local;
    unsigned long *lens = lens_local;
    if (nargs > ARGS_ON_STACK) {
        pb = malloc(nargs * sizeof(*pb));
        lens = malloc(nargs * sizeof(*lens));
        if (!pb || !lens) {
            free(pb);
            free(lens);
            tern_set_errmsg("mysql: out of memory for %zu arguments", nargs);
            return TERN_ENOMEM;
        }
    }
    int rc;
    for (int attempt = 0;; attempt++) {
        stmt_entry *e = NULL;
        bool stale = false;
        rc = cache_get(c, sql, &e);
        if (rc == 0)
            rc = bind_params(e, args, nargs, pb, lens);
        if (rc == 0) {
            rc = execute(c, e, cursor);
            unsigned err = rc < 0 ? mysql_stmt_errno(e->stmt) : 0;
            /* 1243: unknown handler; 1615: must be prepared again; 2057: the columns
             * changed (the table was altered): the connector refuses the result */
            stale = err == 1243 || err == 1615 || err == 2057;
        }
        if (stale && attempt == 0 && !c->broken) {
            unlink_entry(c, e);
            entry_dispose(c, e);
            continue;
        }
        if (rc == 0)
            rc = row_bind(&e->rows, e->stmt);
        if (rc == 0)
            *out = e;
        break;
    }
    if (pb != pb_local) {
        free(pb);
        free(lens);
    }
    return rc;
}

/* One row: 1 fetched, 0 no more, < 0 error. */
static int fetch(mysql_conn *c, stmt_entry *e)
{
    conn_op op = {.cont = cont_fetch, .stmt = e->stmt};
    int rc = conn_run(c, &op, mysql_stmt_fetch_start(&op.iret, e->stmt));
    if (rc < 0)
        return rc;
    if (op.iret == MYSQL_NO_DATA)
        return 0;
    if (op.iret == 1)
        return conn_error(c, e->stmt, "fetch");
    return 1; /* 0 or MYSQL_DATA_TRUNCATED: row_json reads cut values in full */
}

/* Reads off further result sets (a CALL ends with one more). */
static int drain_results(mysql_conn *c, stmt_entry *e)
{
    while (mysql_stmt_more_results(e->stmt)) {
        conn_op op = {.cont = cont_next_result, .stmt = e->stmt};
        int rc = conn_run(c, &op, mysql_stmt_next_result_start(&op.iret, e->stmt));
        if (rc < 0)
            return rc;
        if (op.iret > 0)
            return conn_error(c, e->stmt, "next result");
        if (op.iret < 0)
            break;
        if (mysql_stmt_field_count(e->stmt) == 0)
            continue;
        if ((rc = row_bind(&e->rows, e->stmt)) < 0)
            return rc;
        while ((rc = fetch(c, e)) > 0)
            ;
        if (rc < 0)
            return rc;
    }
    return 0;
}

int stmt_run(mysql_conn *c, const char *sql, const tern_sql_arg *args, size_t nargs, json_t **rows,
             size_t max_rows, tern_sql_result *res)
{
    stmt_entry *e;
    int rc = start(c, sql, args, nargs, false, &e);
    if (rc < 0)
        return rc;
    json_t *arr = rows ? json_array() : NULL;
    if (rows && !arr) {
        c->broken = true; /* the rows are still on the wire */
        tern_set_errmsg("mysql: out of memory for rows");
        return TERN_ENOMEM;
    }
    uint64_t affected = mysql_stmt_affected_rows(e->stmt);
    uint64_t insert_id = mysql_stmt_insert_id(e->stmt);
    size_t n = 0;
    if (e->rows.ncols) {
        while ((rc = fetch(c, e)) > 0) {
            if (!arr || n >= max_rows)
                continue;
            json_t *row = row_json(&e->rows, e->stmt);
            if (!row || json_array_append_new(arr, row) < 0) {
                c->broken = true; /* stop reading: the connection is dropped instead */
                rc = TERN_ENOMEM;
                break;
            }
            n++;
        }
    }
    if (rc == 0)
        rc = drain_results(c, e);
    row_unbind(&e->rows);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    if (res) {
        res->affected_rows = affected;
        res->insert_id = insert_id;
    }
    if (rows)
        *rows = arr;
    return 0;
}

int stmt_cursor_open(mysql_conn *c, const char *sql, const tern_sql_arg *args, size_t nargs,
                     stmt_entry **out)
{
    if (c->cursor) {
        tern_set_errmsg("mysql: a cursor is already open on this connection");
        return -EBUSY;
    }
    stmt_entry *e;
    int rc = start(c, sql, args, nargs, true, &e);
    if (rc < 0)
        return rc;
    e->busy = true;
    c->cursor = e;
    *out = e;
    return 0;
}

int stmt_cursor_next(mysql_conn *c, stmt_entry *e, json_t **row)
{
    if (!e->rows.ncols)
        return 0;
    int rc = fetch(c, e);
    if (rc <= 0)
        return rc;
    *row = row_json(&e->rows, e->stmt);
    return *row ? 1 : TERN_ENOMEM;
}

static stmt_entry *cursor_detach(mysql_conn *c)
{
    stmt_entry *e = c->cursor;
    c->cursor = NULL;
    e->busy = false;
    row_unbind(&e->rows);
    return e;
}

int stmt_cursor_close(mysql_conn *c, stmt_entry *e)
{
    if (c->cursor != e)
        return 0;
    cursor_detach(c);
    if (c->broken)
        return 0;
    conn_op op = {.cont = cont_reset, .stmt = e->stmt};
    int rc = conn_run(c, &op, mysql_stmt_reset_start(&op.bret, e->stmt));
    if (rc == 0 && op.bret)
        rc = conn_error(c, e->stmt, "cursor close");
    return rc;
}

static void reset_finished(mysql_conn *c, int rc)
{
    if (rc == 0 && c->bgop.bret)
        rc = conn_error(c, c->bgop.stmt, "cursor close");
    c->then(c, rc);
}

void stmt_cursor_close_bg(mysql_conn *c, uint64_t deadline, void (*done)(mysql_conn *c, int rc))
{
    stmt_entry *e = cursor_detach(c);
    c->then = done;
    c->bgop = (conn_op){.cont = cont_reset, .stmt = e->stmt};
    conn_bg(c, mysql_stmt_reset_start(&c->bgop.bret, e->stmt), deadline, reset_finished);
}

void stmt_cache_drop(mysql_conn *c)
{
    stmt_entry *e = c->stmts;
    while (e) {
        stmt_entry *next = e->next;
        row_unbind(&e->rows);
        if (e->stmt)
            mysql_stmt_close(e->stmt); /* detached by mysql_close: frees locally */
        entry_free(e);
        e = next;
    }
    c->stmts = NULL;
    c->nstmts = 0;
    c->cursor = NULL;
}

int stmt_lookup(mysql_conn *c, const char *sql, stmt_entry **e, MYSQL_STMT **stmt,
                unsigned *nparams)
{
    int rc = cache_get(c, sql, e);
    if (rc < 0)
        return rc;
    *stmt = (*e)->stmt;
    *nparams = (*e)->nparams;
    return 0;
}

void stmt_forget(mysql_conn *c, stmt_entry *e)
{
    unlink_entry(c, e);
    entry_dispose(c, e);
}
