/* pool/mysql_batch.c - one statement on the pool without holding a connection
 * (tern_sql_pool_query, and so tern_sql_row/rows/run): concurrent callers of the same
 * statement share a connection, their executions pipelined (mysql_pipe.c).
 *
 * The first caller opens a batch and waits for a connection like any acquirer; callers
 * of the same SQL that come meanwhile join the batch instead of queueing for their own
 * connection. When the connection comes the batch closes, and all its executions go
 * out in one write. While connections are free nobody waits and every batch holds one
 * statement (acquire, query, release as before); under load, when every connection is
 * busy, a batch fills while it waits, and N round trips become one. Each execution is
 * still its own autocommitted statement with its own result or error.
 *
 * The batch lives in heap memory shared by its members (each holds a reference): a
 * member whose request is cancelled or times out leaves its slot, and the leader skips
 * or frees what was meant for it. When the leader itself gives up before it has a
 * connection (its request's deadline or cancellation), the others start over on their
 * own; once the batch is sent, the leader's cancellation (its client gone) waits while
 * another member still waits for its answer, so it cannot cost them their statements
 * (deadlines and the statement timeout still end the pass); when the connection fails
 * mid-batch, statements not answered fail as a lost connection would fail them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "mysql_pipe.h"
#include "mysql_pool.h"
#include "scheduler.h"

/* Most statements in one batch: a full batch stops taking members (the next caller
 * opens a new one), which bounds one write and one member's wait behind the others. */
#define BATCH_MAX 64

/* Wake codes of a member. */
#define WOKEN_DONE 1  /* the slot holds the outcome */
#define WOKEN_RETRY 2 /* the leader gave up before it sent anything: run alone */

typedef struct batch_slot {
    const tern_sql_arg *args; /* the member's: it waits, so they stay valid */
    json_t *rows;
    tern_sql_result res;
    int rc;
    char *msg; /* the error message (malloc'd) when rc < 0 */
    tern_waiter w;
    bool done; /* the outcome is in */
    bool gone; /* the member stopped waiting: its outcome is dropped */
} batch_slot;

typedef struct sql_batch {
    struct sql_batch *next; /* the pool's open batches */
    tern_sql_pool *pool;
    const char *sql; /* the leader's text: the leader outlives the open batch */
    size_t nargs;
    size_t n;
    int refs;
    bool open;
    tern_task *leader; /* while the batch is in flight: the task that runs it */
    batch_slot slots[BATCH_MAX];
} sql_batch;

static void batch_close(sql_batch *b)
{
    if (!b->open)
        return;
    b->open = false;
    for (sql_batch **pp = &b->pool->batches; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            break;
        }
}

static void slot_clear(batch_slot *s)
{
    json_decref(s->rows);
    s->rows = NULL;
    free(s->msg);
    s->msg = NULL;
}

static void batch_unref(sql_batch *b)
{
    if (--b->refs > 0)
        return;
    batch_close(b);
    for (size_t i = 0; i < b->n; i++)
        slot_clear(&b->slots[i]);
    free(b);
}

static sql_batch *find_open(tern_sql_pool *p, const char *sql, size_t nargs)
{
    for (sql_batch *b = p->batches; b; b = b->next)
        if (b->nargs == nargs && b->n < BATCH_MAX && strcmp(b->sql, sql) == 0)
            return b;
    return NULL;
}

/* Hands slot i's outcome to its member (or drops it when the member is gone). */
static void deliver(sql_batch *b, size_t i, int code)
{
    batch_slot *s = &b->slots[i];
    s->done = true;
    if (s->gone)
        slot_clear(s);
    else if (i > 0)
        tern__wake(s->w, code);
}

/* The member's own outcome, out of its slot. */
static int take(batch_slot *s, json_t **rows, tern_sql_result *res)
{
    if (rows) {
        *rows = s->rows;
        s->rows = NULL;
    }
    if (res)
        *res = s->res;
    if (s->rc < 0)
        tern_set_errmsg("%s", s->msg ? s->msg : "mysql: the statement failed");
    return s->rc;
}

/* Whether a member other than the leader still waits for its outcome. */
static bool others_wait(void *arg)
{
    const sql_batch *b = arg;
    for (size_t i = 1; i < b->n; i++)
        if (!b->slots[i].gone && !b->slots[i].done)
            return true;
    return false;
}

/* Runs the batch's live statements on c and fills their slots. */
static void run_batch(sql_batch *b, tern_sql_conn *l)
{
    size_t idx[BATCH_MAX], k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (!b->slots[i].gone)
            idx[k++] = i;
    size_t nargs = b->nargs, count = k;
    tern_sql_arg *args = nargs ? malloc(count * nargs * sizeof *args) : NULL;
    json_t *results[BATCH_MAX];
    tern_sql_result res[BATCH_MAX];
    int codes[BATCH_MAX];
    char *msgs[BATCH_MAX];
    int rc = 0;
    if (nargs && !args) {
        tern_set_errmsg("mysql: out of memory for a batch");
        rc = TERN_ENOMEM;
    }
    mysql_conn *c = rc == 0 ? sql_op_begin(l, "query", &rc) : NULL;
    if (c) {
        for (k = 0; nargs && k < count; k++) /* no arguments: no array to copy into */
            memcpy(args + k * nargs, b->slots[idx[k]].args, nargs * sizeof *args);
        memset(res, 0, count * sizeof *res);
        /* The other members' statements are in flight too: the leader's request being
         * cancelled (its client gone) must not drop the connection under them while
         * any of them still waits. Deadlines and the statement timeout still apply. */
        b->leader = tern__current();
        tern__shield_begin(others_wait, b);
        int prc = pipe_run(c, b->sql, args, nargs, count, results, res, codes, msgs);
        tern__shield_end();
        b->leader = NULL;
        pool_op_end(c->pool, c, prc);
    }
    for (k = 0; k < count; k++) {
        batch_slot *s = &b->slots[idx[k]];
        if (!c) {
            s->rc = rc;
            s->msg = strdup(tern_errmsg());
            continue;
        }
        s->rows = results[k];
        s->res = res[k];
        s->rc = codes[k];
        /* (a leader's cancellation ends the pass only once no other member waits: the
         * shield in the pass above; its code then reaches only slots already gone) */
        s->msg = msgs[k];
    }
    free(args);
}

static int lead(tern_sql_pool *p, json_t **rows, tern_sql_result *res, const char *sql,
                const tern_sql_arg *args, size_t nargs)
{
    /* Not cleared as a whole: a slot is set when its member joins (slots[0..n) are all
     * that is ever read), and clearing 64 of them for the one or few a batch holds was
     * most of /db's allocation cost. */
    sql_batch *b = malloc(sizeof *b);
    if (!b) {
        tern_set_errmsg("mysql: out of memory for a batch");
        return TERN_ENOMEM;
    }
    b->next = p->batches;
    b->pool = p;
    b->sql = sql;
    b->nargs = nargs;
    b->n = 1;
    b->refs = 1;
    b->open = true;
    b->leader = NULL;
    b->slots[0] = (batch_slot){.args = args};
    p->batches = b;
    tern_sql_conn *l;
    int rc = tern_sql_acquire(p, &l);
    batch_close(b);
    if (rc < 0) {
        /* Its own deadline or cancellation is the leader's alone: the others start
         * over. Anything else (the pool is down, exhausted) they would meet too. */
        bool own = rc == TERN_ETIMEDOUT || rc == TERN_ECANCELED;
        for (size_t i = 1; i < b->n; i++) {
            b->slots[i].rc = rc;
            b->slots[i].msg = own ? NULL : strdup(tern_errmsg());
            deliver(b, i, own ? WOKEN_RETRY : WOKEN_DONE);
        }
        batch_unref(b);
        return rc;
    }
    run_batch(b, l);
    tern_sql_release(l);
    for (size_t i = 1; i < b->n; i++)
        deliver(b, i, WOKEN_DONE);
    rc = take(&b->slots[0], rows, res);
    batch_unref(b);
    return rc;
}

/* Joins b; 1 when the leader gave up before sending (start over), else the outcome. */
static int follow(sql_batch *b, json_t **rows, tern_sql_result *res, const tern_sql_arg *args)
{
    batch_slot *s = &b->slots[b->n++];
    *s = (batch_slot){.args = args, .w = tern__waiter()};
    b->refs++;
    if (b->n == BATCH_MAX)
        batch_close(b); /* full: the next caller opens a new one */
    int code = tern__wait(-1);
    if (!s->done) {
        /* our own deadline or cancellation: the slot stays with the batch */
        s->gone = true;
        s->args = NULL;
        tern__shield_check(b->leader); /* a cancelled leader may have run on for us */
        batch_unref(b);
        return code < 0 ? code : TERN_ECANCELED;
    }
    int rc = code == WOKEN_RETRY ? 1 : take(s, rows, res);
    batch_unref(b);
    return rc;
}

int tern_sql_pool_query(tern_sql_pool *p, json_t **rows, tern_sql_result *res, const char *sql,
                        const tern_sql_arg *args, size_t nargs)
{
    if (rows)
        *rows = NULL;
    if (!p || !sql || (nargs && !args)) {
        tern_set_errmsg("tern_sql_pool_query: a pool, sql and args are required");
        return -EINVAL;
    }
    if (!tern__current() || tern_sched_current() != p->sched) {
        tern_set_errmsg("tern_sql_pool_query: call it from a coroutine of the pool's thread");
        return -EINVAL;
    }
    for (;;) {
        int early = tern__wait_check();
        if (early < 0)
            return early;
        sql_batch *b = find_open(p, sql, nargs);
        if (!b)
            return lead(p, rows, res, sql, args, nargs);
        int rc = follow(b, rows, res, args);
        if (rc != 1)
            return rc;
    }
}
