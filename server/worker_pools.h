/* server/worker_pools.h - each worker's own Redis pool, MySQL pool and HTTP client,
 * opened from the config on the worker's thread and closed when it stops (internal). */
#ifndef TERN_WORKER_POOLS_H
#define TERN_WORKER_POOLS_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/config.h"
#include "tern/http_client.h"
#include "tern/redis.h"
#include "tern/sql.h"

/** A worker's pools; a member is NULL when its URL is not configured. */
typedef struct tern_worker_pools {
    tern_redis_pool *redis;
    tern_sql_pool *sql;
    tern_http_client *http;
} tern_worker_pools;

/** Opens the configured pools on the calling (worker) thread and makes them this
 *  thread's defaults. 0, or a negative code with tern_errmsg naming the bad setting. */
int tern__worker_pools_open(tern_worker_pools *p, const tern_config *cfg);

/** Closes them (handles finish closing as the loop runs on) and clears the defaults. */
void tern__worker_pools_close(tern_worker_pools *p);


#endif
