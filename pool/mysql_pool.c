/* pool/mysql_pool.c - the MySQL pool's connections: their states and counters, the
 * waiter queue, opening connections in the background (pool_min kept open, more on
 * demand up to pool_max), handing a free one to the first waiter or the idle list,
 * dropping broken ones, and the pool's own life. Lending is in mysql_lend.c.
 *
 * A lost connection is never reconnected in place: it is closed and a new one opened,
 * which starts with an empty statement cache. While connects fail the pool is "down":
 * acquirers fail at once with TERN_EUNAVAILABLE until the next retry (100 ms doubling
 * to 1 s), when one acquirer's connect probes the server again. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "mysql_pool.h"
#include "mysql_stmt.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000

/* ---- bookkeeping ------------------------------------------------------------------ */

static unsigned *state_counter(tern_sql_pool *p, conn_state s)
{
    switch (s) {
    case CONN_CONNECTING:
        return &p->connecting;
    case CONN_IDLE:
        return &p->idle;
    case CONN_LENT:
        return &p->lent;
    case CONN_RESETTING:
        return &p->resetting;
    default:
        return NULL;
    }
}

void pool_set_state(tern_sql_pool *p, mysql_conn *c, conn_state s)
{
    unsigned *from = state_counter(p, c->state), *to = state_counter(p, s);
    if (from)
        (*from)--;
    if (to)
        (*to)++;
    c->state = s;
}

static unsigned open_count(const tern_sql_pool *p)
{
    return p->idle + p->lent + p->resetting;
}

void pool_idle_unlink(tern_sql_pool *p, mysql_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        p->idle_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void record_freed(void *arg)
{
    tern_sql_pool *p = arg;
    p->records--;
    pool_maybe_free(p);
}

/* Closes c for good. lost: an open connection went away, so its replacement counts as a
 * reconnect. */
void pool_drop(tern_sql_pool *p, mysql_conn *c, bool lost)
{
    if (c->state == CONN_IDLE)
        pool_idle_unlink(p, c);
    pool_set_state(p, c, CONN_CLOSED);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        p->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    if (lost)
        p->lost++;
    conn_close(c, record_freed, p);
    pool_fill(p);
}

/* Another connection broke: the idle ones may be dead too, ping them before lending. */
void pool_suspect_idle(tern_sql_pool *p)
{
    for (mysql_conn *c = p->idle_head; c; c = c->next)
        c->suspect = true;
}

/* ---- waiters ------------------------------------------------------------------------ */

void pool_waiter_unlink(tern_sql_pool *p, acq_waiter *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        p->wq_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->wq_tail = w->prev;
    w->linked = false;
    p->waiting--;
}

void pool_waiter_link(tern_sql_pool *p, acq_waiter *w)
{
    w->next = NULL;
    w->prev = p->wq_tail;
    if (p->wq_tail)
        p->wq_tail->next = w;
    else
        p->wq_head = w;
    p->wq_tail = w;
    w->linked = true;
    p->waiting++;
}

/* Connects failed: fail the waiters that no connection in use or in flight could serve. */
static void fail_waiters(tern_sql_pool *p, bool all)
{
    unsigned keep = all ? 0 : p->lent + p->resetting + p->connecting;
    while (p->wq_head && p->waiting > keep) {
        acq_waiter *w = p->wq_head;
        pool_waiter_unlink(p, w);
        w->fail = TERN_EUNAVAILABLE;
        tern__wake(w->w, 0);
    }
}

/* A clean connection is free: the first waiter gets it, else it goes idle. */
void pool_offer(tern_sql_pool *p, mysql_conn *c)
{
    if (p->closing) {
        pool_drop(p, c, false);
        return;
    }
    c->suspect = false;
    if (p->wq_head) {
        acq_waiter *w = p->wq_head;
        pool_waiter_unlink(p, w);
        pool_set_state(p, c, CONN_LENT);
        w->conn = c;
        tern__wake(w->w, 0);
        return;
    }
    pool_set_state(p, c, CONN_IDLE);
    c->prev = NULL;
    c->next = p->idle_head;
    if (p->idle_head)
        p->idle_head->prev = c;
    p->idle_head = c;
    conn_watch_idle(c);
}

/* The server closed an idle session (killed, timed out, shut down). */
static void on_idle_dead(mysql_conn *c)
{
    tern_sql_pool *p = c->pool;
    p->errors++;
    pool_suspect_idle(p);
    pool_drop(p, c, true);
}

/* ---- opening connections --------------------------------------------------------- */

static void on_retry(uv_timer_t *h)
{
    pool_fill(h->data);
}

static void connect_done(mysql_conn *c, int rc)
{
    tern_sql_pool *p = c->pool;
    uint64_t now = uv_now(p->loop);
    if (rc < 0) {
        p->errors++;
        snprintf(p->last_error, sizeof p->last_error, "%s", tern_errmsg());
        p->down = true;
        p->retry_at = now + p->backoff_ms;
        p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
        pool_drop(p, c, false);
        fail_waiters(p, false);
        return;
    }
    p->down = false;
    p->backoff_ms = BACKOFF_MIN_MS;
    if (p->lost) {
        p->lost--;
        p->reconnects++;
    }
    c->born_ms = c->used_ms = now;
    pool_offer(p, c);
    pool_fill(p);
}

static void start_connect(tern_sql_pool *p)
{
    mysql_conn *c = conn_new(p->loop, p->o.connect_timeout_ms);
    if (!c) {
        p->errors++;
        snprintf(p->last_error, sizeof p->last_error, "%s", tern_errmsg());
        return;
    }
    c->pool = p;
    c->on_dead = on_idle_dead;
    c->state = CONN_CONNECTING;
    p->connecting++;
    p->records++;
    c->all_next = p->all;
    if (p->all)
        p->all->all_prev = c;
    p->all = c;
    conn_connect_bg(c, &p->url, uv_now(p->loop) + (uint64_t)p->o.connect_timeout_ms, connect_done);
}

/* Opens what is missing: pool_min connections, plus one per waiter not yet covered by a
 * connect in flight, within pool_max. While the server is down, one probe at a time. */
void pool_fill(tern_sql_pool *p)
{
    if (p->closing)
        return;
    int have = (int)(open_count(p) + p->connecting);
    int need = p->o.pool_min - have;
    int for_waiters = (int)p->waiting - (int)p->connecting;
    if (for_waiters > need)
        need = for_waiters;
    if (need > p->o.pool_max - have)
        need = p->o.pool_max - have;
    if (need <= 0)
        return;
    uint64_t now = uv_now(p->loop);
    if (p->down) {
        if (now < p->retry_at) {
            uv_timer_start(&p->retry, on_retry, p->retry_at - now, 0);
            return;
        }
        if (p->connecting)
            return;
        need = 1;
    }
    while (need-- > 0)
        start_connect(p);
}

/* ---- the pool's life ------------------------------------------------------------------ */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    /* mysql_init would do it on first use, but not thread-safely: workers start together */
    mysql_library_init(0, NULL, NULL);
}

static int64_t or_default(int64_t v, int64_t def)
{
    return v == 0 ? def : v;
}

int tern_sql_pool_new(const tern_sql_opts *opts, tern_sql_pool **out)
{
    *out = NULL;
    tern_sched *s = tern_sched_current();
    if (!s) {
        tern_set_errmsg("tern_sql_pool_new: this thread has no scheduler loop");
        return -EINVAL;
    }
    /* 0 takes the default where 0 means nothing; pool_min 0 keeps none open, recycle_s 0
     * never recycles and idle_ping_ms 0 pings every time (< 0: never), as in the config. */
    tern_sql_opts o = *opts;
    o.pool_max = (int)or_default(o.pool_max, 10);
    o.acquire_timeout_ms = or_default(o.acquire_timeout_ms, 1000);
    o.query_timeout_ms = or_default(o.query_timeout_ms, 5000);
    o.connect_timeout_ms = or_default(o.connect_timeout_ms, 2000);
    if (o.pool_min < 0 || o.pool_max < 1 || o.pool_min > o.pool_max || o.acquire_timeout_ms < 0 ||
        o.connect_timeout_ms < 0) {
        tern_set_errmsg("mysql pool: need 0 <= pool_min <= pool_max, pool_max >= 1, "
                        "timeouts >= 0 (got min %d, max %d)",
                        o.pool_min, o.pool_max);
        return -EINVAL;
    }
    pthread_once(&lib_once, lib_init);
    tern_sql_pool *p = calloc(1, sizeof(*p));
    if (!p) {
        tern_set_errmsg("mysql pool: out of memory");
        return TERN_ENOMEM;
    }
    int rc = mysql_url_parse(opts->url, &p->url);
    if (rc < 0) {
        free(p);
        return rc;
    }
    o.url = NULL;
    p->o = o;
    p->sched = s;
    p->loop = tern_sched_loop(s);
    p->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(p->loop, &p->retry);
    p->retry.data = p;
    uv_unref((uv_handle_t *)&p->retry); /* retries never keep a finished loop alive */
    pool_fill(p);
    *out = p;
    return 0;
}

static void free_pool(uv_handle_t *h)
{
    tern_sql_pool *p = h->data;
    mysql_url_free(&p->url);
    free(p);
}

void pool_maybe_free(tern_sql_pool *p)
{
    if (p->closing && !p->freeing && p->records == 0 && p->in_acquire == 0) {
        p->freeing = true;
        uv_close((uv_handle_t *)&p->retry, free_pool);
    }
}

void tern_sql_pool_free(tern_sql_pool *p)
{
    if (!p || p->closing)
        return;
    p->closing = true;
    uv_timer_stop(&p->retry);
    fail_waiters(p, true);
    /* Lent connections close when their holders release them. */
    mysql_conn *c = p->all;
    while (c) {
        mysql_conn *next = c->all_next;
        if (c->state != CONN_LENT)
            pool_drop(p, c, false);
        c = next;
    }
    pool_maybe_free(p);
}

bool tern_sql_pool_ready(const tern_sql_pool *p)
{
    return !p->closing && (open_count(p) > 0 || !p->down);
}

void tern_sql_pool_stats(const tern_sql_pool *p, tern_pool_stats *out)
{
    out->connections = open_count(p);
    out->in_use = p->lent + p->resetting;
    out->idle = p->idle;
    out->waiting = p->waiting;
    out->timeouts = p->timeouts;
    out->errors = p->errors;
    out->reconnects = p->reconnects;
}
