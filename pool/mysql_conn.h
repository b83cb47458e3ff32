/* pool/mysql_conn.h - one MariaDB connection driven by Connector/C's non-blocking
 * (_start/_cont) API on the thread's libuv loop. An operation either awaits inside a
 * coroutine (conn_run) or runs in the background from loop callbacks (conn_bg: connect,
 * and the clean-up a released connection needs). The driver is mysql_conn.c; the
 * connection-level calls and error mapping are mysql_ops.c. Internal to the pool. */
#ifndef TERN_POOL_MYSQL_CONN_H
#define TERN_POOL_MYSQL_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <mysql.h>
#include <uv.h>

#include "scheduler.h"
#include "mysql_url.h"

typedef struct mysql_conn mysql_conn;
typedef struct stmt_entry stmt_entry;
struct tern_sql_pool;
struct tern_sql_conn;

/** One non-blocking call in flight: how to continue it and where its result lands. */
typedef struct conn_op {
    int (*cont)(struct conn_op *op, int events); /**< calls the matching mysql_*_cont */
    MYSQL *m;
    MYSQL_STMT *stmt;
    MYSQL *mret;  /**< mysql_real_connect's result */
    int iret;     /**< int results (ping, query, prepare, execute, fetch) */
    my_bool bret; /**< my_bool results (commit, rollback, stmt reset/close) */
} conn_op;

/** Where a connection is in its life. */
typedef enum {
    CONN_CONNECTING, /**< background connect */
    CONN_IDLE,       /**< in the pool's idle list */
    CONN_LENT,       /**< a caller holds it */
    CONN_RESETTING,  /**< released: rolling back or closing a cursor in the background */
    CONN_CLOSED,     /**< handles closing; freed by their close callbacks */
} conn_state;

/** A connection. The pool owns the bookkeeping fields; this file the I/O ones. */
struct mysql_conn {
    MYSQL *m;
    uv_loop_t *loop;
    uv_poll_t *poll;    /**< watcher of the current socket (NULL until there is one) */
    int poll_fd;        /**< the socket poll watches: re-read before (re)starting it */
    int poll_events;    /**< UV_* events poll watches now (0: stopped) */
    bool armed;         /**< a step waits for poll or timer */
    uv_timer_t timer;   /**< the connector's TIMEOUT wait and our own deadline */
    tern_waiter waiter; /**< the task awaiting the current step (conn_run) */
    int want;           /**< MYSQL_WAIT_* of the current step */
    int revents;        /**< MYSQL_WAIT_* that happened */
    uint64_t deadline;  /**< loop ms at which the current operation fails (0: none) */
    uint64_t lib_due;   /**< loop ms at which the connector's own timeout fires */
    bool expired;       /**< deadline passed during the current step */
    bool busy;          /**< an operation is running (one at a time) */
    bool broken;        /**< lost or aborted: never lend it again */
    conn_op bgop;       /**< the background operation */
    void (*bg_done)(mysql_conn *c, int rc); /**< its completion (NULL: none running) */
    bool bg_finished;                       /**< the background call completed without waiting */
    void (*then)(mysql_conn *c, int rc);    /**< caller's completion of connect/rollback */
    void (*freed)(void *arg);               /**< run once the record is freed */
    void *freed_arg;
    void (*on_dead)(mysql_conn *c); /**< idle socket became readable/closed */

    /* pool bookkeeping */
    struct tern_sql_pool *pool;
    mysql_conn *next, *prev;         /**< idle list */
    mysql_conn *all_next, *all_prev; /**< every live connection of the pool */
    conn_state state;
    uint64_t born_ms, used_ms;   /**< connect time, last release */
    bool in_tx;                  /**< tern_sql_begin without commit/rollback */
    bool suspect;                /**< ping before lending (another connection broke) */
    struct tern_sql_conn *lease; /**< the holder's handle while lent */
    stmt_entry *stmts;           /**< prepared statements, most recently used first */
    unsigned char *pipe_in;      /**< mysql_pipe.c's read buffer, kept between passes */
    size_t pipe_in_cap;          /**< its size */
    unsigned nstmts;
    stmt_entry *cursor; /**< the statement an open cursor streams from */
};

/* The driver (mysql_conn.c). */

/** A new unconnected connection on loop with the pool's settings (MYSQL_OPT_NONBLOCK,
 *  utf8mb4, no reconnect, no LOCAL INFILE). NULL with tern_errmsg. */
mysql_conn *conn_new(uv_loop_t *loop, int64_t connect_timeout_ms);

/** Continues c->bgop (whose _start returned st) in the background; done(c, rc) runs
 *  from a loop callback (never inside this call): 0 when the call completed (its result
 *  is in c->bgop), TERN_ETIMEDOUT when deadline passed (the call was aborted). */
void conn_bg(mysql_conn *c, int st, uint64_t deadline, void (*done)(mysql_conn *c, int rc));

/** Drives op (whose _start returned st) to completion from the current coroutine,
 *  yielding while the socket is not ready. 0 when the call completed (its own result is
 *  in op); TERN_ETIMEDOUT (c->deadline or the scope's deadline) or TERN_ECANCELED, after
 *  which the call has been aborted and c is broken. */
int conn_run(mysql_conn *c, conn_op *op, int st);

/* Connection-level calls (mysql_ops.c). */

/** Starts connecting in the background; done(c, rc) as for conn_bg: 0 when connected,
 *  < 0 with tern_errmsg set. */
void conn_connect_bg(mysql_conn *c, const mysql_url *u, uint64_t deadline,
                     void (*done)(mysql_conn *c, int rc));

/** Maps the connector's error on c (or on stmt when not NULL) to a tern code and sets
 *  tern_errmsg ("mysql <what>: <errno> (<sqlstate>): <message>"); marks c broken when
 *  the error leaves the connection unusable. */
int conn_error(mysql_conn *c, MYSQL_STMT *stmt, const char *what);
/** The same for an error the server sent (errno e, SQLSTATE state, message msg) that
 *  the connector never saw: the pipelined path reads its own answers. */
int conn_error_of(mysql_conn *c, unsigned e, const char *state, const char *msg, const char *what);

/** Pings from the current coroutine. 0 or < 0 (c broken). */
int conn_ping(mysql_conn *c);
/** Runs a statement without parameters or rows (START TRANSACTION) from a coroutine. */
int conn_simple_query(mysql_conn *c, const char *sql);
/** Commits (rollback = false) or rolls back from a coroutine. */
int conn_end_tx(mysql_conn *c, bool rollback);
/** Starts a background rollback; done as for conn_connect_bg. */
void conn_rollback_bg(mysql_conn *c, uint64_t deadline, void (*done)(mysql_conn *c, int rc));

/* The idle watch and the end (mysql_conn.c). */

/** Watches an idle connection's socket: the server never speaks first, so anything
 *  readable means it closed or killed the session; c->on_dead then runs (on_poll tells
 *  by c->state). The watch does not keep the loop alive, and the watcher is the one a
 *  query's answer uses: lending the connection changes nothing on the socket. */
void conn_watch_idle(mysql_conn *c);

/** Closes the connection (aborting a background operation), frees its statements, and
 *  frees c once libuv has closed its handles; freed(arg) runs then. */
void conn_close(mysql_conn *c, void (*freed)(void *arg), void *arg);

#endif
