/* pool/mysql_lend.c - lending MySQL connections: acquire (first come first served,
 * acquire_timeout_ms, failing fast while the server is down), vetting an idle connection
 * before it goes out (recycle_s, idle_ping_ms, a ping when another connection broke),
 * binding it to the caller's scope so it comes back whatever path the caller takes, and
 * taking it back: a connection released inside a transaction or with a cursor open is
 * cleaned up in the background (rollback, COM_STMT_RESET) before anyone else gets it;
 * a broken one is dropped. */
#include <stdlib.h>

#include "tern/error.h"
#include "mysql_pool.h"
#include "mysql_stmt.h"

/* A background rollback or cursor close of a released connection gets this long. */
#define RESET_TIMEOUT_MS 5000

static void lease_cleanup(void *arg)
{
    tern_sql_release(arg);
}

static bool too_old(const tern_sql_pool *p, const mysql_conn *c, uint64_t now)
{
    return p->o.recycle_s > 0 && now - c->born_ms >= (uint64_t)p->o.recycle_s * 1000;
}

/* Checks an idle connection before lending it (it is LENT during the check).
 * 0: good; 1: dropped, try another; < 0: the caller's wait failed. */
static int vet(tern_sql_pool *p, mysql_conn *c, uint64_t deadline)
{
    uint64_t now = uv_now(p->loop);
    if (too_old(p, c, now)) {
        pool_drop(p, c, true);
        return 1;
    }
    bool stale = p->o.idle_ping_ms >= 0 && now - c->used_ms >= (uint64_t)p->o.idle_ping_ms;
    if (!c->suspect && !stale)
        return 0;
    uint64_t ping_by = now + (uint64_t)p->o.connect_timeout_ms;
    c->deadline = deadline < ping_by ? deadline : ping_by;
    c->busy = true;
    int rc = conn_ping(c);
    c->busy = false;
    if (rc == 0) {
        c->suspect = false;
        return 0;
    }
    p->errors++;
    pool_suspect_idle(p);
    pool_drop(p, c, true);
    return rc == TERN_ECANCELED ? rc : 1;
}

static int lend(tern_sql_pool *p, mysql_conn *c, tern_scope *sc, tern_sql_conn **out)
{
    tern_sql_conn *l = tern_arena_alloc(sc->arena, sizeof(*l));
    if (!l) {
        pool_offer(p, c);
        tern_set_errmsg("mysql: out of memory for a connection handle");
        return TERN_ENOMEM;
    }
    l->c = c;
    l->p = p;
    l->scope = sc;
    c->lease = l;
    tern_scope_defer(sc, &l->node, lease_cleanup, l);
    *out = l;
    return 0;
}

static int unavailable(tern_sql_pool *p)
{
    tern_set_errmsg("mysql: database unavailable (%s)",
                    p->last_error[0] ? p->last_error : "no connection");
    return TERN_EUNAVAILABLE;
}

int tern_sql_acquire(tern_sql_pool *p, tern_sql_conn **out)
{
    *out = NULL;
    tern_task *t = tern__current();
    if (!t || tern_sched_current() != p->sched) {
        tern_set_errmsg("tern_sql_acquire: call it from a coroutine of the pool's thread");
        return -EINVAL;
    }
    if (p->closing) {
        tern_set_errmsg("mysql: the pool is closing");
        return TERN_EUNAVAILABLE;
    }
    uint64_t deadline = uv_now(p->loop) + (uint64_t)p->o.acquire_timeout_ms;
    for (;;) {
        int rc = tern__wait_check();
        if (rc < 0)
            return rc;
        mysql_conn *c = p->wq_head ? NULL : p->idle_head;
        if (c) {
            pool_idle_unlink(p, c);
            pool_set_state(p, c, CONN_LENT);
            rc = vet(p, c, deadline);
            if (rc == 0)
                return lend(p, c, t->scope, out);
            if (rc < 0)
                return rc;
            continue;
        }
        uint64_t now = uv_now(p->loop);
        if (p->down && now < p->retry_at && p->connecting == 0)
            return unavailable(p); /* fail fast: the server refused moments ago */
        if (now >= deadline)
            break;
        acq_waiter w = {.w = tern__waiter()};
        pool_waiter_link(p, &w);
        p->in_acquire++;
        pool_fill(p);
        rc = tern__wait((int64_t)(deadline - now));
        pool_waiter_unlink(p, &w);
        p->in_acquire--;
        if (p->closing && !w.conn) {
            pool_maybe_free(p);
            tern_set_errmsg("mysql: the pool is closing");
            return TERN_EUNAVAILABLE;
        }
        if (w.conn) {
            if (rc < 0 && rc != TERN__EWAITTIME) {
                pool_offer(p, w.conn); /* our wait failed first: pass it on */
                return rc;
            }
            return lend(p, w.conn, t->scope, out);
        }
        if (w.fail)
            return unavailable(p);
        if (rc == TERN__EWAITTIME)
            break;
        if (rc < 0)
            return rc;
    }
    p->timeouts++;
    tern_set_errmsg("mysql: no connection free within %lld ms (pool_max %d)",
                    (long long)p->o.acquire_timeout_ms, p->o.pool_max);
    return TERN_EUNAVAILABLE;
}

static void reset_step(mysql_conn *c, int rc);

/* A released connection: clean it up if needed, then offer it. */
static void take_back(tern_sql_pool *p, mysql_conn *c)
{
    c->used_ms = uv_now(p->loop);
    if (c->broken) {
        pool_suspect_idle(p);
        pool_drop(p, c, true);
        return;
    }
    if (p->closing || too_old(p, c, c->used_ms)) {
        pool_drop(p, c, !p->closing);
        return;
    }
    /* The server's flag also catches a START TRANSACTION sent as a plain statement. */
    c->in_tx = c->in_tx || (c->m->server_status & SERVER_STATUS_IN_TRANS);
    pool_set_state(p, c, CONN_RESETTING);
    reset_step(c, 0);
}

/* Background clean-up of a released connection, one step per call: close an open
 * cursor, roll back an open transaction, then offer it. */
static void reset_step(mysql_conn *c, int rc)
{
    tern_sql_pool *p = c->pool;
    uint64_t deadline = uv_now(p->loop) + RESET_TIMEOUT_MS;
    if (rc < 0 || c->broken || p->closing) {
        if (rc < 0)
            p->errors++;
        pool_drop(p, c, rc < 0 || c->broken);
        return;
    }
    if (c->cursor) {
        stmt_cursor_close_bg(c, deadline, reset_step);
        return;
    }
    if (c->in_tx) {
        c->in_tx = false;
        conn_rollback_bg(c, deadline, reset_step);
        return;
    }
    pool_offer(p, c);
}

void tern_sql_release(tern_sql_conn *l)
{
    if (!l || !l->c)
        return;
    mysql_conn *c = l->c;
    tern_scope_undefer(l->scope, &l->node);
    l->c = NULL;
    c->lease = NULL;
    if (c->busy)
        return; /* released from another task mid-operation: pool_op_end takes it back */
    take_back(l->p, c);
}

int pool_op_end(tern_sql_pool *p, mysql_conn *c, int rc)
{
    c->busy = false;
    if (rc == TERN_ETIMEDOUT)
        p->timeouts++;
    else if (rc < 0 && rc != TERN_ECANCELED)
        p->errors++;
    if (c->broken)
        pool_suspect_idle(p);
    if (!c->lease)
        take_back(p, c);
    return rc;
}
