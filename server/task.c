/* server/task.c - asyncio's task toolbox on tern's scheduler: spawn, join, wait with a
 * timeout, gather, sleep, and the loop runner (asyncio.run). */
#include <assert.h>
#include <stdlib.h>

#include "tern/error.h"
#include "scheduler.h"

/* tern_wait keeps this many wait nodes on the coroutine's stack; more go to malloc,
 * so a wait on thousands of tasks cannot overflow a 64 KiB stack. */
#define WAIT_NODES_ON_STACK 16

static tern_task *require_task(const char *what)
{
    tern_task *cur = tern__current();
    if (!cur)
        tern_set_errmsg("%s called outside a coroutine", what);
    return cur;
}

tern_task *tern_spawn(tern_task_fn fn, void *arg)
{
    tern_task *cur = require_task("tern_spawn");
    if (!cur)
        return NULL;
    return tern__spawn_in(cur->scope, fn, arg);
}

bool tern_task_done(const tern_task *t)
{
    return t->done;
}

void *tern_task_result(const tern_task *t)
{
    return t->done ? t->result : NULL;
}

int tern_task_join(tern_task *t, void **result)
{
    if (!t->done) {
        if (!require_task("tern_task_join"))
            return -EINVAL;
        tern_waitnode node;
        tern__waitq_add(&t->joiners, &node, tern__waiter());
        int rc = tern__wait(-1);
        tern__waitq_remove(&t->joiners, &node);
        if (rc < 0)
            return rc;
    }
    if (result)
        *result = t->result;
    return 0;
}

static size_t count_done(tern_task *const *tasks, size_t n, bool *done)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (done)
            done[i] = tasks[i]->done;
        k += tasks[i]->done;
    }
    return k;
}

int tern_wait(tern_task *const *tasks, size_t n, int64_t timeout_ms, bool *done)
{
    size_t k = count_done(tasks, n, done);
    if (k == n)
        return (int)k;
    if (!require_task("tern_wait"))
        return -EINVAL;
    tern_waitnode local[WAIT_NODES_ON_STACK];
    tern_waitnode *nodes = n <= WAIT_NODES_ON_STACK ? local : malloc(n * sizeof(*nodes));
    if (!nodes)
        return TERN_ENOMEM;
    uint64_t start = tern_now_ms();
    int rc = 0;
    while (k < n) {
        int64_t left = -1;
        if (timeout_ms >= 0) {
            uint64_t spent = tern_now_ms() - start;
            left = spent >= (uint64_t)timeout_ms ? 0 : timeout_ms - (int64_t)spent;
        }
        /* One wait answers to whichever pending task finishes first. */
        tern_waiter w = tern__waiter();
        for (size_t i = 0; i < n; i++) {
            nodes[i].task = NULL;
            if (!tasks[i]->done)
                tern__waitq_add(&tasks[i]->joiners, &nodes[i], w);
        }
        rc = tern__wait(left);
        for (size_t i = 0; i < n; i++)
            tern__waitq_remove(&tasks[i]->joiners, &nodes[i]);
        k = count_done(tasks, n, done);
        if (rc == TERN__EWAITTIME) {
            rc = 0;
            break;
        }
        if (rc < 0)
            break;
    }
    if (nodes != local)
        free(nodes);
    return rc < 0 ? rc : (int)k;
}

int tern_gather(tern_task *const *tasks, size_t n, void **results)
{
    for (size_t i = 0; i < n; i++) {
        int rc = tern_task_join(tasks[i], results ? &results[i] : NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int tern_sleep(uint64_t ms)
{
    if (!require_task("tern_sleep"))
        return -EINVAL;
    tern__waiter();
    int rc = tern__wait((int64_t)ms);
    return rc == TERN__EWAITTIME ? 0 : rc;
}

uint64_t tern_now_ms(void)
{
    tern_sched *s = tern_sched_current();
    return s ? uv_now(tern_sched_loop(s)) : 0;
}

/* ---- tern_loop_run: asyncio.run ------------------------------------------------ */

typedef struct loop_run {
    tern_scope scope;
    tern_arena arena;
    bool main_done;
    void *main_result;
    bool ended;
} loop_run;

static void on_main_done(tern_task *t)
{
    loop_run *lr = t->udata;
    lr->main_done = true;
    lr->main_result = t->result;
}

static void on_scope_end(tern_scope *sc)
{
    loop_run *lr = sc->udata;
    lr->ended = true;
}

static void close_leftover(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int tern_loop_run(tern_task_fn main_fn, void *arg, void **result)
{
    if (tern_sched_current()) {
        tern_set_errmsg("tern_loop_run: this thread already runs a loop");
        return -EBUSY;
    }
    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    if (rc < 0) {
        tern_set_errmsg("uv_loop_init: %s", uv_strerror(rc));
        return rc;
    }
    tern_sched *s = tern_sched_new(&loop, 0, 0);
    if (!s) {
        uv_loop_close(&loop);
        return TERN_ENOMEM;
    }
    loop_run lr = {0};
    tern_arena_init(&lr.arena, NULL, 0);
    tern_scope_init(&lr.scope, s, &lr.arena, 0);
    lr.scope.udata = &lr;
    lr.scope.on_end = on_scope_end;
    tern_task *main_task = tern__spawn_in(&lr.scope, main_fn, arg);
    rc = 0;
    if (!main_task) {
        rc = TERN_ENOMEM;
    } else {
        main_task->udata = &lr;
        main_task->on_done = on_main_done;
        uv_run(&loop, UV_RUN_DEFAULT);
        /* The loop ran dry with tasks still waiting (on a future nobody sets): cancel
         * them so they unwind and release what they hold, and report the deadlock. */
        bool stuck = !lr.main_done; /* tasks main left behind are cancelled, not an error */
        for (int round = 0; !lr.ended && round < 100; round++) {
            tern_scope_cancel(&lr.scope);
            tern__sched_drain(s);
            uv_run(&loop, UV_RUN_DEFAULT);
        }
        if (stuck || !lr.main_done)
            rc = -EDEADLK;
    }
    assert(lr.ended || !main_task);
    tern_sched_free(s);
    tern_arena_reset(&lr.arena);
    /* handles the tasks left open would point into this stack frame: close them */
    uv_walk(&loop, close_leftover, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (rc == -EDEADLK)
        tern_set_errmsg("tern_loop_run: the main task never finished (waiting on nothing)");
    if (result)
        *result = rc == 0 ? lr.main_result : NULL;
    return rc;
}
