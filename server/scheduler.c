/* server/scheduler.c - ready queue, wait/wake, timeouts, deadlines and scopes on one
 * thread's libuv loop. See scheduler.h for the rules. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "scheduler.h"

#define DEFAULT_STACK_SIZE (64 * 1024)
#define DEFAULT_MAX_COROUTINES 10000
/* Free stacks kept mapped: enough to absorb a burst without mmap/munmap churn, few
 * enough that an idle worker gives memory back. */
#define CACHED_STACKS 256
/* How often stacks kept beyond CACHED_STACKS for a peak of load go back (ms). */
#define TRIM_EVERY_MS 10000

struct tern_sched {
    uv_loop_t *loop;
    uv_idle_t idle;   /* active only while tasks are queued: keeps poll from blocking */
    uv_check_t check; /* resumes tasks woken by I/O callbacks right after poll */
    uv_timer_t trim;  /* gives surplus coroutine stacks back now and then */
    tern_stack_pool *stacks;
    tern_task *ready_head, *ready_tail;
    tern_task *free_tasks;
    bool idle_active;
    bool draining;
    tern_sched_stats stats;
};

static __thread tern_sched *cur_sched;

static void on_idle(uv_idle_t *h);
static __thread tern_task *cur_task;

tern_sched *tern_sched_current(void)
{
    return cur_sched;
}

uv_loop_t *tern_sched_loop(tern_sched *s)
{
    return s->loop;
}

tern_stack_pool *tern_sched_stacks(tern_sched *s)
{
    return s->stacks;
}

void tern_sched_get_stats(const tern_sched *s, tern_sched_stats *out)
{
    *out = s->stats;
}

tern_task *tern__current(void)
{
    return cur_task;
}

static void enqueue(tern_sched *s, tern_task *t)
{
    t->queued = true;
    t->ready_next = NULL;
    if (s->ready_tail)
        s->ready_tail->ready_next = t;
    else
        s->ready_head = t;
    s->ready_tail = t;
    if (!s->idle_active) {
        s->idle_active = true;
        uv_idle_start(&s->idle, on_idle);
    }
}

static tern_task *dequeue(tern_sched *s)
{
    tern_task *t = s->ready_head;
    if (t) {
        s->ready_head = t->ready_next;
        if (!s->ready_head)
            s->ready_tail = NULL;
        t->queued = false;
    }
    return t;
}

static void scope_end(tern_scope *sc)
{
    tern_sched *s = sc->sched;
    /* Task handles are valid until their scope ends: recycle them now. */
    tern_task *t = sc->tasks;
    while (t) {
        tern_task *next = t->scope_next;
        t->scope = NULL;
        t->pool_next = s->free_tasks;
        s->free_tasks = t;
        s->stats.pooled_tasks++;
        t = next;
    }
    sc->tasks = NULL;
    /* Cleanups first: on_end may free the memory (arena, request) they point into. */
    while (sc->cleanups) {
        tern_scope_cleanup *n = sc->cleanups;
        void (*fn)(void *) = n->fn;
        tern_scope_undefer(sc, n);
        fn(n->arg);
    }
    if (sc->on_end)
        sc->on_end(sc);
}

static void task_finished(tern_sched *s, tern_task *t)
{
    t->done = true;
    if (t->timer_armed) {
        uv_timer_stop(&t->timer);
        t->timer_armed = false;
    }
    tern_coro_free(t->co);
    t->co = NULL;
    s->stats.live_tasks--;
    tern__waitq_wake_all(&t->joiners, 0);
    if (t->on_done)
        t->on_done(t);
    tern_scope *sc = t->scope;
    if (--sc->live == 0)
        scope_end(sc);
}

void tern__sched_drain(tern_sched *s)
{
    if (s->draining)
        return;
    s->draining = true;
    tern_task *t;
    while ((t = dequeue(s))) {
        cur_task = t;
        s->stats.resumes++;
        tern_coro_resume(t->co);
        cur_task = NULL;
        if (t->co->state == TERN_CORO_DONE)
            task_finished(s, t);
    }
    if (s->idle_active) {
        s->idle_active = false;
        uv_idle_stop(&s->idle);
    }
    s->draining = false;
}

static void on_idle(uv_idle_t *h)
{
    tern__sched_drain(h->data);
}

static void on_check(uv_check_t *h)
{
    tern__sched_drain(h->data);
}

static void on_trim(uv_timer_t *h)
{
    tern_sched *s = h->data;
    tern_stack_pool_trim(s->stacks);
}

tern_sched *tern_sched_new(uv_loop_t *loop, size_t stack_size, unsigned max_coroutines)
{
    if (cur_sched) {
        tern_set_errmsg("this thread already has a scheduler");
        return NULL;
    }
    tern_sched *s = calloc(1, sizeof(*s));
    if (!s) {
        tern_set_errmsg("out of memory for the scheduler");
        return NULL;
    }
    s->loop = loop;
    s->stacks = tern_stack_pool_new(stack_size ? stack_size : DEFAULT_STACK_SIZE, CACHED_STACKS,
                                    max_coroutines ? max_coroutines : DEFAULT_MAX_COROUTINES);
    if (!s->stacks) {
        free(s);
        tern_set_errmsg("cannot create the coroutine stack pool");
        return NULL;
    }
    uv_idle_init(loop, &s->idle);
    s->idle.data = s;
    uv_check_init(loop, &s->check);
    s->check.data = s;
    uv_check_start(&s->check, on_check);
    /* The check handle must not keep a finished loop alive; queued work keeps it
     * alive through the idle handle instead. */
    uv_unref((uv_handle_t *)&s->check);
    uv_timer_init(loop, &s->trim);
    s->trim.data = s;
    uv_timer_start(&s->trim, on_trim, TRIM_EVERY_MS, TRIM_EVERY_MS);
    uv_unref((uv_handle_t *)&s->trim);
    cur_sched = s;
    return s;
}

static void free_task_record(uv_handle_t *h)
{
    free(h->data);
}

void tern_sched_free(tern_sched *s)
{
    if (!s)
        return;
    assert(s->stats.live_tasks == 0);
    uv_close((uv_handle_t *)&s->idle, NULL);
    uv_close((uv_handle_t *)&s->check, NULL);
    uv_close((uv_handle_t *)&s->trim, NULL);
    tern_task *t = s->free_tasks;
    while (t) {
        tern_task *next = t->pool_next;
        t->timer.data = t;
        uv_close((uv_handle_t *)&t->timer, free_task_record);
        t = next;
    }
    s->free_tasks = NULL;
    uv_run(s->loop, UV_RUN_NOWAIT); /* close callbacks */
    tern_stack_pool_free(s->stacks);
    if (cur_sched == s)
        cur_sched = NULL;
    free(s);
}

void tern_scope_init(tern_scope *sc, tern_sched *s, tern_arena *arena, uint64_t deadline)
{
    memset(sc, 0, sizeof(*sc));
    sc->sched = s;
    sc->arena = arena;
    sc->deadline = deadline;
}

static void on_timer(uv_timer_t *h);

static tern_task *task_alloc(tern_sched *s)
{
    tern_task *t = s->free_tasks;
    if (t) {
        s->free_tasks = t->pool_next;
        s->stats.pooled_tasks--;
        uint32_t gen = t->gen; /* generations keep counting across reuse: stale wakes miss */
        uv_timer_t timer = t->timer;
        memset(t, 0, sizeof(*t));
        t->timer = timer;
        t->gen = gen + 1;
        return t;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    uv_timer_init(s->loop, &t->timer);
    return t;
}

static void task_entry(tern_coro *co, void *arg)
{
    (void)co;
    tern_task *t = arg;
    t->result = t->fn(t->arg);
}

tern_task *tern__spawn_in(tern_scope *sc, tern_task_fn fn, void *arg)
{
    tern_sched *s = sc->sched;
    tern_task *t = task_alloc(s);
    if (!t) {
        tern_set_errmsg("out of memory for a task");
        return NULL;
    }
    t->co = tern_coro_new(s->stacks, task_entry, t);
    if (!t->co) {
        t->pool_next = s->free_tasks;
        s->free_tasks = t;
        s->stats.pooled_tasks++;
        tern_set_errmsg("no coroutine available (coroutine.max reached or out of memory)");
        return NULL;
    }
    t->timer.data = t;
    t->co->udata = t;
    t->sched = s;
    t->scope = sc;
    t->fn = fn;
    t->arg = arg;
    t->scope_next = sc->tasks;
    sc->tasks = t;
    sc->live++;
    s->stats.spawned++;
    s->stats.live_tasks++;
    enqueue(s, t);
    return t;
}

tern_waiter tern__waiter(void)
{
    tern_task *t = cur_task;
    assert(t && "tern__waiter outside a task");
    t->gen++;
    t->woken = false;
    return (tern_waiter){t, t->gen};
}

void tern__wake(tern_waiter w, int code)
{
    tern_task *t = w.task;
    if (!t || t->gen != w.gen || t->woken || t->done)
        return;
    t->woken = true;
    t->wake_code = code;
    if (t->waiting && !t->queued)
        enqueue(t->sched, t);
}

/* Which limit the armed timer stands for: the wait's own timeout or the deadline. */
#define TIMER_OWN 1
#define TIMER_DEADLINE 2

static void on_timer(uv_timer_t *h)
{
    tern_task *t = h->data;
    t->timer_armed = false;
    if (!t->waiting)
        return;
    bool deadline = t->timer_kind == TIMER_DEADLINE;
    if (deadline)
        t->scope->timed_out = true;
    tern__wake((tern_waiter){t, t->gen}, deadline ? TERN_ETIMEDOUT : TERN__EWAITTIME);
}

/* One timer per task covers both limits of a wait: whichever comes first. */
static void arm_timer(tern_task *t, int64_t timeout_ms, uint64_t now)
{
    uint64_t deadline = t->scope->deadline;
    uint64_t due = UINT64_MAX;
    unsigned char kind = 0;
    if (timeout_ms >= 0) {
        due = now + (uint64_t)timeout_ms;
        kind = TIMER_OWN;
    }
    if (deadline && deadline <= due) {
        due = deadline;
        kind = TIMER_DEADLINE;
    }
    if (!kind)
        return;
    t->timer_kind = kind;
    t->timer_armed = true;
    t->timer.data = t;
    uv_timer_start(&t->timer, on_timer, due - now, 0);
}

/* Whether a cancellation of t waits for now (tern__shield_begin). */
static bool shielded(const tern_task *t)
{
    return t->shield && t->shield(t->shield_arg);
}

int tern__wait_check(void)
{
    tern_task *t = cur_task;
    if (!t)
        return 0;
    tern_scope *sc = t->scope;
    if ((t->cancelled || sc->cancelled) && !shielded(t))
        return TERN_ECANCELED;
    if (sc->deadline && uv_now(t->sched->loop) >= sc->deadline) {
        sc->timed_out = true;
        return TERN_ETIMEDOUT;
    }
    return 0;
}

int tern__wait(int64_t timeout_ms)
{
    tern_task *t = cur_task;
    assert(t && "tern__wait outside a task");
    if (!t->woken) {
        int early = tern__wait_check();
        if (early < 0) {
            t->gen++;
            return early;
        }
        arm_timer(t, timeout_ms, uv_now(t->sched->loop));
        t->waiting = true;
        tern_coro_yield();
        t->waiting = false;
        if (t->timer_armed) {
            uv_timer_stop(&t->timer);
            t->timer_armed = false;
        }
    }
    int code = t->wake_code;
    t->woken = false;
    t->gen++; /* the wait is over: any late wake for it is stale */
    return code;
}

void tern_scope_cancel(tern_scope *sc)
{
    sc->cancelled = true;
    tern_scope_cancel_tasks(sc);
}

void tern_scope_cancel_tasks(tern_scope *sc)
{
    for (tern_task *t = sc->tasks; t; t = t->scope_next)
        if (!t->done)
            tern_task_cancel(t);
}

void tern_task_cancel(tern_task *t)
{
    if (t->done)
        return;
    t->cancelled = true;
    if (t->waiting && !shielded(t))
        tern__wake((tern_waiter){t, t->gen}, TERN_ECANCELED);
}

void tern__shield_begin(bool (*keep)(void *), void *arg)
{
    if (!cur_task)
        return;
    assert(!cur_task->shield && "tern__shield_begin does not nest");
    cur_task->shield = keep;
    cur_task->shield_arg = arg;
}

void tern__shield_end(void)
{
    if (cur_task)
        cur_task->shield = NULL;
}

void tern__shield_check(tern_task *t)
{
    if (t && !t->done && t->waiting && (t->cancelled || t->scope->cancelled) && !shielded(t))
        tern__wake((tern_waiter){t, t->gen}, TERN_ECANCELED);
}

void tern_scope_defer(tern_scope *sc, tern_scope_cleanup *node, void (*fn)(void *), void *arg)
{
    node->fn = fn;
    node->arg = arg;
    node->prev = NULL;
    node->next = sc->cleanups;
    if (sc->cleanups)
        sc->cleanups->prev = node;
    sc->cleanups = node;
}

void tern_scope_undefer(tern_scope *sc, tern_scope_cleanup *node)
{
    if (!node->fn)
        return;
    if (node->prev)
        node->prev->next = node->next;
    else
        sc->cleanups = node->next;
    if (node->next)
        node->next->prev = node->prev;
    node->next = node->prev = NULL;
    node->fn = NULL;
}

void tern_scope_hold(tern_scope *sc)
{
    sc->live++;
}

void tern_scope_release(tern_scope *sc)
{
    assert(sc->live > 0);
    if (--sc->live == 0)
        scope_end(sc);
}

void tern__waitq_add(tern_waitq *q, tern_waitnode *n, tern_waiter w)
{
    n->task = w.task;
    n->gen = w.gen;
    n->next = NULL;
    n->prev = q->tail;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
}

void tern__waitq_remove(tern_waitq *q, tern_waitnode *n)
{
    if (!n->task)
        return; /* already unlinked by wake_all */
    if (n->prev)
        n->prev->next = n->next;
    else if (q->head == n)
        q->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else if (q->tail == n)
        q->tail = n->prev;
    n->next = n->prev = NULL;
    n->task = NULL;
}

void tern__waitq_wake_all(tern_waitq *q, int code)
{
    tern_waitnode *n = q->head;
    q->head = q->tail = NULL;
    while (n) {
        tern_waitnode *next = n->next;
        tern_waiter w = {n->task, n->gen};
        n->next = n->prev = NULL;
        n->task = NULL;
        tern__wake(w, code);
        n = next;
    }
}
