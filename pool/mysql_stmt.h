/* pool/mysql_stmt.h - server-side prepared statements on one connection: a cache keyed by
 * SQL text, parameter binding, rows to JSON, and server-side cursors. Internal to the
 * MySQL pool; every call but stmt_cache_drop runs in a coroutine holding the connection. */
#ifndef TERN_POOL_MYSQL_STMT_H
#define TERN_POOL_MYSQL_STMT_H

#include <jansson.h>

#include "tern/sql.h"
#include "mysql_conn.h"

/** Runs sql with args. rows (may be NULL): a JSON array of at most max_rows row objects
 *  (every row is read off the wire all the same); res (may be NULL): affected rows and
 *  insert id. 0, or < 0 with tern_errmsg. */
int stmt_run(mysql_conn *c, const char *sql, const tern_sql_arg *args, size_t nargs, json_t **rows,
             size_t max_rows, tern_sql_result *res);

/** Executes sql through a read-only server-side cursor; rows then come in batches as
 *  stmt_cursor_next asks for them. *out stays reserved until the cursor closes. */
int stmt_cursor_open(mysql_conn *c, const char *sql, const tern_sql_arg *args, size_t nargs,
                     stmt_entry **out);

/** The next row of the cursor: 1 with *row, 0 at the end, < 0 on error. */
int stmt_cursor_next(mysql_conn *c, stmt_entry *e, json_t **row);

/** Closes the server-side cursor (COM_STMT_RESET) from a coroutine. */
int stmt_cursor_close(mysql_conn *c, stmt_entry *e);

/** Closes it in the background (a connection released with a cursor open). */
void stmt_cursor_close_bg(mysql_conn *c, uint64_t deadline, void (*done)(mysql_conn *c, int rc));

/** The cached statement for sql, prepared now if needed, for a caller that speaks the
 *  wire protocol itself (mysql_pipe.c): the connector's handle and its placeholder count.
 *  0, or < 0 with tern_errmsg. */
int stmt_lookup(mysql_conn *c, const char *sql, stmt_entry **e, MYSQL_STMT **stmt,
                unsigned *nparams);

/** Drops a cached statement: the server no longer knows it, or its result's columns
 *  changed where the connector did not see it (the next use prepares it again). */
void stmt_forget(mysql_conn *c, stmt_entry *e);

/** Frees every cached statement of c once its MYSQL handle is closed (no I/O). */
void stmt_cache_drop(mysql_conn *c);

#endif
