/* pool/mysql_pool.h - the pool and lease records shared by the pool's files: its
 * connections (mysql_pool.c), lending (mysql_lend.c) and the statement API
 * (mysql_sql.c). Internal to the MySQL pool. */
#ifndef TERN_POOL_MYSQL_POOL_H
#define TERN_POOL_MYSQL_POOL_H

#include "tern/sql.h"
#include "mysql_conn.h"

/** An acquirer waiting on the pool's queue; lives on its stack. */
typedef struct acq_waiter {
    struct acq_waiter *next, *prev;
    tern_waiter w;
    mysql_conn *conn; /**< handed over by a release or a connect */
    int fail;         /**< set when the pool gives up on this waiter */
    bool linked;
} acq_waiter;

/** The pool: one per thread (worker or loop run), used only from that thread. */
struct tern_sql_pool {
    tern_sched *sched;
    uv_loop_t *loop;
    tern_sql_opts o; /**< with defaults applied; o.url is not kept */
    mysql_url url;
    mysql_conn *idle_head; /**< most recently released first: few connections stay warm */
    mysql_conn *all;       /**< every connection not yet closing */
    unsigned connecting, idle, lent, resetting;
    unsigned records;              /**< connection records not yet freed (incl. closing) */
    acq_waiter *wq_head, *wq_tail; /**< acquirers waiting, first come first served */
    unsigned waiting;              /**< waiters on the queue */
    unsigned in_acquire;           /**< tasks inside tern_sql_acquire's wait (hold the pool) */
    unsigned lost;                 /**< connections closed and not yet replaced */
    uint64_t timeouts, errors, reconnects;
    bool down;         /**< the last connect failed */
    uint64_t retry_at; /**< no new connect before this (loop ms) while down */
    uint64_t backoff_ms;
    char last_error[200]; /**< why the last connect failed */
    uv_timer_t retry;     /**< reopens pool_min connections after a failure */
    bool closing;         /**< tern_sql_pool_free was called */
    bool freeing;         /**< the retry timer is closing; the record goes next */
    struct sql_batch *batches; /**< batches still taking statements (mysql_batch.c) */
};

/** A lent connection: the caller's handle, in the memory of the scope that acquired it. */
struct tern_sql_conn {
    mysql_conn *c; /**< NULL once released */
    tern_sql_pool *p;
    tern_scope *scope;
    tern_scope_cleanup node; /**< gives the connection back when the scope ends */
};

/** Called after every operation on a lent connection: counts the outcome, reacts to a
 *  lost connection, and returns the connection if it was released meanwhile. */
/** The connection of l, reserved for one operation (busy, under the pool's query
 *  timeout); NULL with *rc and tern_errmsg when it cannot run (mysql_sql.c). */
mysql_conn *sql_op_begin(tern_sql_conn *l, const char *what, int *rc);
int pool_op_end(tern_sql_pool *p, mysql_conn *c, int rc);

/* Shared by mysql_pool.c (connections) and mysql_lend.c (lending). */

/** Moves c to state s, keeping the pool's counters right. */
void pool_set_state(tern_sql_pool *p, mysql_conn *c, conn_state s);
/** Takes c off the idle list. */
void pool_idle_unlink(tern_sql_pool *p, mysql_conn *c);
/** Closes c for good; lost: an open connection went away (its replacement is a
 *  reconnect). Opens replacements as needed. */
void pool_drop(tern_sql_pool *p, mysql_conn *c, bool lost);
/** Marks idle connections for a ping before lending (another one broke). */
void pool_suspect_idle(tern_sql_pool *p);
/** Queues w last. */
void pool_waiter_link(tern_sql_pool *p, acq_waiter *w);
/** Takes w off the queue (no-op if the pool already did). */
void pool_waiter_unlink(tern_sql_pool *p, acq_waiter *w);
/** A clean free connection: the first waiter gets it, else it goes idle. */
void pool_offer(tern_sql_pool *p, mysql_conn *c);
/** Opens what is missing (pool_min, plus one per uncovered waiter, within pool_max). */
void pool_fill(tern_sql_pool *p);
/** Frees a closing pool once nothing refers to it. */
void pool_maybe_free(tern_sql_pool *p);

#endif
