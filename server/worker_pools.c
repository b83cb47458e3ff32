/* server/worker_pools.c - per-worker pools from the config, and the handler-facing
 * calls that use "this worker's pool" (tern_redis, tern_sql_rows, ...). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tern/error.h"
#include "tern/app.h"
#include "worker_pools.h"

/* The pools of the worker running on this thread: handlers reach them without
 * passing anything around, and a worker never touches another worker's pools. */
static __thread tern_worker_pools *current;

int tern__worker_pools_open(tern_worker_pools *p, const tern_config *cfg)
{
    memset(p, 0, sizeof(*p));
    int rc;
    if (cfg->redis_url && *cfg->redis_url) {
        tern_redis_opts o = {
            .url = cfg->redis_url,
            .pool_size = cfg->redis_pool_size,
            .timeout_ms = (int64_t)cfg->redis_timeout_ms,
            .connect_timeout_ms = (int64_t)cfg->redis_connect_timeout_ms,
        };
        if ((rc = tern_redis_pool_new(&o, &p->redis)) < 0)
            return rc;
    }
    if (cfg->mysql_url && *cfg->mysql_url) {
        tern_sql_opts o = {
            .url = cfg->mysql_url,
            .pool_min = cfg->mysql_pool_min,
            .pool_max = cfg->mysql_pool_max,
            .acquire_timeout_ms = (int64_t)cfg->mysql_acquire_timeout_ms,
            .query_timeout_ms = (int64_t)cfg->mysql_query_timeout_ms,
            .connect_timeout_ms = (int64_t)cfg->mysql_connect_timeout_ms,
            .idle_ping_ms = (int64_t)cfg->mysql_idle_ping_ms,
            .recycle_s = cfg->mysql_pool_recycle_s,
        };
        if ((rc = tern_sql_pool_new(&o, &p->sql)) < 0) {
            tern__worker_pools_close(p);
            return rc;
        }
    }
    if ((rc = tern_http_client_new(&p->http)) < 0) {
        tern__worker_pools_close(p);
        return rc;
    }
    current = p;
    return 0;
}

void tern__worker_pools_close(tern_worker_pools *p)
{
    if (p->redis)
        tern_redis_pool_free(p->redis);
    if (p->sql)
        tern_sql_pool_free(p->sql);
    if (p->http)
        tern_http_client_free(p->http);
    memset(p, 0, sizeof(*p));
    if (current == p)
        current = NULL;
}

bool tern_ready(char *detail, size_t n)
{
    size_t o = 0;
    detail[0] = '\0';
    if (current && current->redis && !tern_redis_pool_ready(current->redis))
        o += (size_t)snprintf(detail + o, n - o, "redis is down");
    if (current && current->sql && !tern_sql_pool_ready(current->sql) && o < n)
        o += (size_t)snprintf(detail + o, n - o, "%smysql is down", o ? "; " : "");
    return o == 0;
}

/* ---- the worker's defaults, for handlers ----------------------------------------- */

tern_redis_pool *tern_redis_default(void)
{
    return current ? current->redis : NULL;
}

tern_sql_pool *tern_sql_default(void)
{
    return current ? current->sql : NULL;
}

tern_http_client *tern_http_default(void)
{
    return current ? current->http : NULL;
}

int tern_redis(tern_redis_reply **reply, const char *fmt, ...)
{
    tern_redis_pool *p = tern_redis_default();
    if (!p) {
        tern_set_errmsg("no Redis pool: set redis.url (TERN_REDIS_URL)");
        return TERN_EUNAVAILABLE;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = tern_redis_vcmd(p, reply, fmt, ap);
    va_end(ap);
    return rc;
}

/* The worker's pool, or why there is none. */
static tern_sql_pool *sql_pool(void)
{
    tern_sql_pool *p = tern_sql_default();
    if (!p)
        tern_set_errmsg("no MySQL pool: set mysql.url (TERN_MYSQL_URL)");
    return p;
}

int tern_sql_rows(json_t **rows, const char *sql, const tern_sql_arg *args, size_t nargs)
{
    tern_sql_pool *p = sql_pool();
    if (!p) {
        if (rows)
            *rows = NULL;
        return TERN_EUNAVAILABLE;
    }
    if (!rows) {
        tern_set_errmsg("tern_sql_rows: rows is required");
        return -EINVAL;
    }
    return tern_sql_pool_query(p, rows, NULL, sql, args, nargs);
}

int tern_sql_row(json_t **row, const char *sql, const tern_sql_arg *args, size_t nargs)
{
    if (row)
        *row = NULL;
    tern_sql_pool *p = sql_pool();
    if (!p)
        return TERN_EUNAVAILABLE;
    if (!row) {
        tern_set_errmsg("tern_sql_row: row is required");
        return -EINVAL;
    }
    json_t *rows;
    int rc = tern_sql_pool_query(p, &rows, NULL, sql, args, nargs);
    if (rc < 0)
        return rc;
    json_t *first = json_array_get(rows, 0);
    if (first)
        *row = json_incref(first);
    json_decref(rows);
    return first ? 1 : 0;
}

int tern_sql_run(tern_sql_result *res, const char *sql, const tern_sql_arg *args, size_t nargs)
{
    tern_sql_pool *p = sql_pool();
    if (!p)
        return TERN_EUNAVAILABLE;
    json_t *rows = NULL;
    int rc = tern_sql_pool_query(p, &rows, res, sql, args, nargs);
    json_decref(rows);
    return rc;
}
