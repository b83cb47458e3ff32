/* tern/pool.h - what every connection pool reports (for /readyz and /metrics). */
#ifndef TERN_POOL_H
#define TERN_POOL_H

#include <stdint.h>

/** A pool's gauges and counters. */
typedef struct tern_pool_stats {
    unsigned connections;  /**< open connections (in use + idle) */
    unsigned in_use;       /**< connections lent out (MySQL) or commands in flight (Redis) */
    unsigned idle;         /**< open connections nobody uses */
    unsigned waiting;      /**< callers waiting to acquire */
    uint64_t timeouts;     /**< acquires or commands that timed out */
    uint64_t errors;       /**< failed connects, broken connections, failed commands */
    uint64_t reconnects;   /**< connections (re)opened after the first */
} tern_pool_stats;

#endif
