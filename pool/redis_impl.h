/* pool/redis_impl.h - the Redis pool's insides, shared by redis.c (the public calls
 * and the command path), redis_conn.c (connections: connect, handshake, backoff,
 * watchdog) and redis_reply.c (replies copied out of hiredis, and as JSON).
 *
 * Ownership: the pool and its connection slots live until the pool is freed and its
 * timers have closed. A slot holds at most one hiredis context at a time; every
 * callback hiredis makes for a context runs before that context is gone, and all of
 * them (NULL replies included) run on the loop's main stack, so they only record and
 * tern__wake, never resume a coroutine. */
#ifndef TERN_POOL_REDIS_IMPL_H
#define TERN_POOL_REDIS_IMPL_H

#include <hiredis/async.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "tern/redis.h"
#include "arena.h"
#include "redis_url.h"
#include "scheduler.h"

/** Room for one "redis IP:port: what went wrong" line. */
#define TERN__REDIS_ERRLEN 200

/** Where a connection slot is in its life. */
typedef enum {
    TERN__REDIS_DOWN,       /**< no context; the timer counts down to the next attempt */
    TERN__REDIS_CONNECTING, /**< TCP connect or handshake (AUTH/SELECT/PING) under way */
    TERN__REDIS_UP,         /**< handshake answered: commands go here */
} tern__redis_state;

typedef struct tern__redis_conn tern__redis_conn;

/** One connection slot of the pool. */
struct tern__redis_conn {
    tern_redis_pool *pool;
    redisAsyncContext *ac; /**< NULL while down; cleared before we free it ourselves */
    uv_timer_t timer;      /**< DOWN: backoff, CONNECTING: connect timeout, UP: watchdog */
    tern__redis_state state;
    unsigned handshake_left;      /**< handshake replies still due */
    unsigned attempts;            /**< failures in a row: the backoff exponent */
    unsigned inflight;            /**< commands sent on this context, reply not yet in */
    unsigned abandoned;           /**< of those, commands whose caller stopped waiting */
    uint64_t progress_at;         /**< loop time of the last reply, or when the pipe got busy */
    bool ever_up;                 /**< a later UP counts as a reconnect */
    bool failed;                  /**< last attempt or connection failed: fail fast, don't queue */
    char err[TERN__REDIS_ERRLEN]; /**< why it failed (for the callers' tern_errmsg) */
};

/** The pool (see tern/redis.h). */
struct tern_redis_pool {
    tern_sched *sched; /**< the owning thread's scheduler */
    uv_loop_t *loop;
    tern__redis_url url;
    char where[INET6_ADDRSTRLEN + 16]; /**< "redis IP:port", the prefix of our messages */
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    unsigned size;        /**< connection slots */
    unsigned next;        /**< round-robin cursor */
    unsigned open_timers; /**< slot timers not yet closed: the last close frees us */
    unsigned inflight;    /**< commands awaiting a reply, on every connection */
    bool closing;         /**< tern_redis_pool_free ran: NULL replies mean cancelled */
    uint64_t rng;         /**< backoff jitter */
    uint64_t timeouts, errors, reconnects;
    char last_err[TERN__REDIS_ERRLEN]; /**< the most recent connection failure */
    tern__redis_conn conns[];
};

/** Initialises slot c of p and starts its first connect (no callback runs inside). */
void tern__redis_conn_init(tern_redis_pool *p, tern__redis_conn *c);

/** Frees c's context (its pending callbacks run now, with NULL replies) and closes
 *  its timer; the pool is freed when the last timer has closed. For pool_free. */
void tern__redis_conn_close(tern__redis_conn *c);

/** A caller gave up on a command sent on c: watch c, and replace it if it stays
 *  silent past the timeout (a stuck server or a blocked pipeline). */
void tern__redis_conn_abandoned(tern__redis_conn *c);

/** Why commands on context ac of c failed, into buf: c's recorded failure once c let
 *  go of ac, else ac's own error (hiredis runs the NULL replies before telling us). */
void tern__redis_conn_why(const tern__redis_conn *c, const redisAsyncContext *ac, char *buf,
                          size_t n);

/** A deep copy of r in arena a (strings NUL-terminated); NULL when out of memory. */
tern_redis_reply *tern__redis_reply_copy(tern_arena *a, const redisReply *r);

#endif
