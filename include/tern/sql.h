/* tern/sql.h - an async MySQL/MariaDB pool (Connector/C's non-blocking API) on the
 * worker's loop. Parameterised statements only: values travel as bound parameters of
 * server-side prepared statements, cached per connection, never spliced into SQL. */
#ifndef TERN_SQL_H
#define TERN_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <jansson.h>

#include "pool.h"

/** Bound parameter types. */
typedef enum {
    TERN_SQL_NULL = 1,
    TERN_SQL_INT,
    TERN_SQL_DOUBLE,
    TERN_SQL_TEXT,
    TERN_SQL_BYTES,
} tern_sql_type;

/** One bound parameter; build it with the macros below. */
typedef struct tern_sql_arg {
    tern_sql_type type;
    int64_t i;
    double d;
    const void *p;
    size_t len;
} tern_sql_arg;

/** An integer parameter. */
#define TERN_I64(v) ((tern_sql_arg){.type = TERN_SQL_INT, .i = (int64_t)(v)})
/** A floating-point parameter. */
#define TERN_F64(v) ((tern_sql_arg){.type = TERN_SQL_DOUBLE, .d = (double)(v)})
/** A text parameter (NULL binds SQL NULL). A function, not a macro: arrays and NULL
 *  both work without compiler warnings about always-true addresses. */
static inline tern_sql_arg tern_sql_text(const char *s)
{
    tern_sql_arg a = {.type = s ? TERN_SQL_TEXT : TERN_SQL_NULL, .p = s, .len = s ? strlen(s) : 0};
    return a;
}
/** A text parameter (NULL binds SQL NULL). */
#define TERN_TEXT(s) tern_sql_text(s)
/** A binary parameter. */
#define TERN_BYTES(ptr, n) ((tern_sql_arg){.type = TERN_SQL_BYTES, .p = (ptr), .len = (n)})
/** SQL NULL. */
#define TERN_SQLNULL ((tern_sql_arg){.type = TERN_SQL_NULL})

/** Expands a parameter list into (array, count) for the calls below:
 *  tern_sql_query(c, &rows, "SELECT ... WHERE id = ?", TERN_SQL_ARGS(TERN_I64(id))). */
#define TERN_SQL_ARGS(...)                                                                         \
    ((const tern_sql_arg[]){{0}, ##__VA_ARGS__} + 1),                                              \
        (sizeof((const tern_sql_arg[]){{0}, ##__VA_ARGS__}) / sizeof(tern_sql_arg) - 1)

/** Pool settings. Zero means the default only where a default is named. */
typedef struct tern_sql_opts {
    const char *url;             /**< mysql://user:password@IP:port/db (localhost = 127.0.0.1) */
    int pool_min;                /**< connections kept open (0: open on demand) */
    int pool_max;                /**< most connections (0: 10) */
    int64_t acquire_timeout_ms;  /**< wait for a free connection (0: 1000; then TERN_EUNAVAILABLE) */
    int64_t query_timeout_ms;    /**< per statement, also bounded by the deadline (0: 5000; < 0: none) */
    int64_t connect_timeout_ms;  /**< per connect attempt (0: 2000) */
    int64_t idle_ping_ms;        /**< ping a connection idle longer than this before lending it
                                      (0: on every acquire; < 0: never) */
    int64_t recycle_s;           /**< close connections older than this (0: never) */
} tern_sql_opts;

/** A pool owned by one thread (a worker, or a tern_loop_run). */
typedef struct tern_sql_pool tern_sql_pool;
/** A connection lent by a pool. */
typedef struct tern_sql_conn tern_sql_conn;
/** A streaming cursor over a result. */
typedef struct tern_sql_cursor tern_sql_cursor;

/** What an INSERT/UPDATE/DELETE did. */
typedef struct tern_sql_result {
    uint64_t affected_rows;
    uint64_t insert_id;
} tern_sql_result;

/** Creates a pool on the calling thread's scheduler loop; pool_min connections open
 *  in the background. 0, or -EINVAL (bad URL; tern_errmsg says why) / -ENOMEM. */
int tern_sql_pool_new(const tern_sql_opts *opts, tern_sql_pool **out);

/** Closes every connection and frees the pool once the loop has closed its handles. */
void tern_sql_pool_free(tern_sql_pool *p);

/** Borrows a connection (waits up to acquire_timeout_ms). It returns to the pool when
 *  the current scope (request) ends, or earlier with tern_sql_release. 0;
 *  TERN_EUNAVAILABLE (database down or pool exhausted past the timeout);
 *  TERN_ETIMEDOUT; TERN_ECANCELED. */
int tern_sql_acquire(tern_sql_pool *p, tern_sql_conn **c);

/** Gives the connection back now (an open transaction is rolled back). */
void tern_sql_release(tern_sql_conn *c);

/** Runs a statement and returns its rows as a JSON array of objects keyed by column
 *  name: integers as integers, NULL as null, DECIMAL as string, floats as numbers,
 *  DATE/DATETIME/TIMESTAMP as ISO 8601 strings, text as strings, binary as strings. */
int tern_sql_query(tern_sql_conn *c, json_t **rows, const char *sql, const tern_sql_arg *args,
                   size_t nargs);

/** The first row as an object. 1 with *row; 0 when there is none; < 0 on error. */
int tern_sql_query_row(tern_sql_conn *c, json_t **row, const char *sql, const tern_sql_arg *args,
                       size_t nargs);

/** Runs sql once per argument set, pipelined: every execution goes out in one write
 *  and the answers come back in order, so N statements cost about one round trip
 *  instead of N. Each execution is still its own statement on the server (autocommit,
 *  or the open transaction's), with its own result or error, as if run one by one.
 *  args holds nsets sets of nargs arguments (set i at args[i * nargs]). results[i]:
 *  set i's rows as a JSON array (like tern_sql_query), NULL when set i failed; the
 *  caller frees each one that is not NULL. res (may be NULL): nsets entries of
 *  affected rows and insert id. 0 when every set succeeded, else the code of the first
 *  set that failed (tern_errmsg says why). */
int tern_sql_query_each(tern_sql_conn *c, json_t **results, tern_sql_result *res, const char *sql,
                        const tern_sql_arg *args, size_t nargs, size_t nsets);

/** Runs a statement that returns no rows. 0 and *res (may be NULL), or < 0. */
int tern_sql_exec(tern_sql_conn *c, tern_sql_result *res, const char *sql,
                  const tern_sql_arg *args, size_t nargs);

/** Transactions on the connection. */
int tern_sql_begin(tern_sql_conn *c);
/** Commits the open transaction. */
int tern_sql_commit(tern_sql_conn *c);
/** Rolls back the open transaction. */
int tern_sql_rollback(tern_sql_conn *c);

/** Opens a cursor that streams rows as they arrive (async for over rows). */
int tern_sql_cursor_open(tern_sql_conn *c, tern_sql_cursor **cur, const char *sql,
                         const tern_sql_arg *args, size_t nargs);
/** The next row: 1 with *row (new reference), 0 at the end, < 0 on error. */
int tern_sql_cursor_next(tern_sql_cursor *cur, json_t **row);
/** Closes the cursor (reading off any rows left). */
void tern_sql_cursor_close(tern_sql_cursor *cur);

/** One statement on the pool without holding a connection. Calls of the same SQL that
 *  come while another waits for a connection join its batch, which goes out pipelined
 *  (as tern_sql_query_each) on that connection when it comes: under load, when every
 *  connection is busy, N round trips become one; while connections are free it is
 *  acquire + query + release. Each statement still runs on its own (autocommitted)
 *  with its own result or error. rows (may be NULL): the rows as a JSON array; res
 *  (may be NULL): affected rows and insert id. 0, or < 0 as tern_sql_query. */
int tern_sql_pool_query(tern_sql_pool *p, json_t **rows, tern_sql_result *res, const char *sql,
                        const tern_sql_arg *args, size_t nargs);

/** True when a connection is open or can be opened (the server answered lately). */
bool tern_sql_pool_ready(const tern_sql_pool *p);

/** The pool's gauges and counters. */
void tern_sql_pool_stats(const tern_sql_pool *p, tern_pool_stats *out);

/* ---- from a handler: the worker's pool, configured by mysql.* ---------------------- */

/** The running worker's MySQL pool; NULL when mysql.url is empty or off a worker. */
tern_sql_pool *tern_sql_default(void);

/** One query on the worker's pool (tern_sql_pool_query: batched with concurrent calls):
 *  tern_sql_rows(&rows, "SELECT ... WHERE id = ?", TERN_SQL_ARGS(TERN_I64(id))). */
int tern_sql_rows(json_t **rows, const char *sql, const tern_sql_arg *args, size_t nargs);

/** The first row (1), none (0) or an error (< 0), on the worker's pool. */
int tern_sql_row(json_t **row, const char *sql, const tern_sql_arg *args, size_t nargs);

/** An INSERT/UPDATE/DELETE on the worker's pool. */
int tern_sql_run(tern_sql_result *res, const char *sql, const tern_sql_arg *args, size_t nargs);

#endif
