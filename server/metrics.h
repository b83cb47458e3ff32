/* server/metrics.h - Prometheus metrics (internal). Each worker owns its counters and
 * is their only writer; the /metrics handler, on any worker, reads every worker's with
 * relaxed atomic loads and sums them. No lock and no shared cache line on the hot path. */
#ifndef TERN_METRICS_H
#define TERN_METRICS_H

#include <stdint.h>
#include <uv.h>

#include "tern/pool.h"

struct tern_app;
struct tern_route_rec;
struct tern_worker;

/** Histogram bucket bounds of tern_http_request_duration_seconds (plus +Inf). */
#define TERN_METRICS_NBUCKETS 14
/** Statuses counted one by one: 100..599. */
#define TERN_METRICS_STATUS_MIN 100
#define TERN_METRICS_NSTATUS 500

/** One route's (or one unmatched method's) counters. */
typedef struct tern_metrics_row {
    uint64_t status[TERN_METRICS_NSTATUS];     /**< responses by status - 100 */
    uint64_t bucket[TERN_METRICS_NBUCKETS + 1]; /**< durations per bucket (not cumulative) */
    uint64_t sum_us;                           /**< sum of durations in microseconds */
} tern_metrics_row;

/** What the worker last copied from its pools and scheduler (refreshed each second). */
typedef struct tern_metrics_gauges {
    uint64_t coroutines, spawned, stacks_live, stacks_cached, connections;
    uint64_t has_pool[2];
    tern_pool_stats pool[2];                   /**< [0] mysql, [1] redis */
} tern_metrics_gauges;

/** A worker's metrics. Written by the worker's thread only. */
typedef struct tern_metrics_worker {
    tern_metrics_row *rows;  /**< one per route, then one per method for unmatched paths */
    size_t nrows;
    uint64_t in_flight;      /**< handlers running */
    uint64_t served;         /**< responses, every status */
    tern_metrics_gauges g;
    uv_timer_t refresh;      /**< copies the gauges each second */
} tern_metrics_worker;

/** Allocates the rows for the app's routes (all registered by now). 0 or -ENOMEM. */
int tern__metrics_worker_init(tern_metrics_worker *m, const struct tern_app *app);

/** Starts the gauge refresh on the worker's loop, its pools open (worker thread). */
void tern__metrics_worker_start(struct tern_worker *w);

/** Closes the refresh timer (the loop must run once more). */
void tern__metrics_worker_stop(tern_metrics_worker *m);

/** Frees the rows once no thread reads them (after every worker was joined). */
void tern__metrics_worker_free(tern_metrics_worker *m);

/** A handler coroutine started. */
void tern__metrics_begin(tern_metrics_worker *m);

/** A response was sent (or dropped: 499). route NULL: unmatched, counted under method
 *  (a tern_method, or TERN_METHOD_COUNT for any other). in_flight: it had begun. */
void tern__metrics_end(tern_metrics_worker *m, const struct tern_route_rec *route, int method,
                       int status, uint64_t start_ns, int in_flight);

/** Registers GET metrics.path on the app when metrics.enabled. 0 or a negative code. */
int tern__metrics_route(struct tern_app *app);

#endif
