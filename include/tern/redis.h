/* tern/redis.h - an async Redis client pool (hiredis) on the worker's loop: calls look
 * synchronous and yield the coroutine until the reply arrives. */
#ifndef TERN_REDIS_H
#define TERN_REDIS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "pool.h"

/** Reply types (hiredis' numbering). */
enum {
    TERN_REDIS_STRING = 1,
    TERN_REDIS_ARRAY = 2,
    TERN_REDIS_INTEGER = 3,
    TERN_REDIS_NIL = 4,
    TERN_REDIS_STATUS = 5,
    TERN_REDIS_ERROR = 6,
};

/** A reply, copied out of hiredis into the caller's scope (request) memory. */
typedef struct tern_redis_reply {
    int type;                            /**< TERN_REDIS_* */
    long long integer;                   /**< INTEGER */
    const char *str;                     /**< STRING, STATUS, ERROR (NUL-terminated) */
    size_t len;                          /**< length of str */
    size_t elements;                     /**< ARRAY */
    struct tern_redis_reply **element;   /**< ARRAY items */
} tern_redis_reply;

/** Pool settings. */
typedef struct tern_redis_opts {
    const char *url;             /**< redis://[:password@]host:port[/db] (tern_run resolves names at start-up; pools made by hand need an IP) */
    int pool_size;               /**< connections, commands are pipelined on them (default 4) */
    int64_t timeout_ms;          /**< per command, also bounded by the deadline (default 2000) */
    int64_t connect_timeout_ms;  /**< per connect attempt (default 1000) */
} tern_redis_opts;

/** A pool of connections owned by one thread (a worker, or a tern_loop_run). */
typedef struct tern_redis_pool tern_redis_pool;

/** Creates a pool on the calling thread's scheduler loop; connections open in the
 *  background and reopen with backoff when lost. 0, or -EINVAL (bad URL, tern_errmsg
 *  says why) / -ENOMEM. */
int tern_redis_pool_new(const tern_redis_opts *opts, tern_redis_pool **out);

/** Closes the pool: pending commands fail with TERN_ECANCELED; memory is freed once
 *  the loop has closed the handles. Call on the pool's thread. */
void tern_redis_pool_free(tern_redis_pool *p);

/** Runs a printf-style command (hiredis format: %s, %b, %d...) and waits for the reply.
 *  0 and *reply (an ERROR reply is still 0); TERN_EUNAVAILABLE when no connection is
 *  up; TERN_ETIMEDOUT; TERN_ECANCELED. */
int tern_redis_cmd(tern_redis_pool *p, tern_redis_reply **reply, const char *fmt, ...);

/** tern_redis_cmd with a va_list. */
int tern_redis_vcmd(tern_redis_pool *p, tern_redis_reply **reply, const char *fmt, va_list ap);

/** Binary-safe form: argc arguments with their lengths (lens NULL: strlen). */
int tern_redis_argv(tern_redis_pool *p, tern_redis_reply **reply, int argc, const char *const *argv,
                    const size_t *lens);

/** The reply as JSON: string/status -> string, integer -> integer, nil -> null, array ->
 *  array; a flat array of field/value pairs is not guessed into an object (see
 *  tern_redis_reply_object). ERROR -> {"error": msg}. New reference. */
json_t *tern_redis_reply_json(const tern_redis_reply *r);

/** An even-length array reply (HGETALL) as a JSON object; NULL if not such an array. */
json_t *tern_redis_reply_object(const tern_redis_reply *r);

/** True when at least one connection is up. */
bool tern_redis_pool_ready(const tern_redis_pool *p);

/** The pool's gauges and counters. */
void tern_redis_pool_stats(const tern_redis_pool *p, tern_pool_stats *out);

/* ---- from a handler: the worker's pool, configured by redis.* ---------------------- */

/** The running worker's Redis pool; NULL when redis.url is empty or off a worker. */
tern_redis_pool *tern_redis_default(void);

/** tern_redis_cmd on the worker's pool: tern_redis(&reply, "HGETALL %s", "car").
 *  TERN_EUNAVAILABLE when no pool is configured. */
int tern_redis(tern_redis_reply **reply, const char *fmt, ...);

#endif
