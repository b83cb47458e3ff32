/* server/scheduler.h - the per-thread scheduler: tasks (coroutines with a scheduler
 * record), the ready queue drained from the libuv loop, the wait/wake protocol with
 * timeouts, deadlines and cancellation, and scopes (a request, or a loop run).
 *
 * Library callbacks never switch stacks: they call tern__wake(), which only queues
 * the task; the loop's prepare and check phases resume queued tasks from the
 * thread's main stack. A wake carries the generation of the wait it answers, so a
 * late callback for a wait that already ended (timeout, cancel) does nothing. */
#ifndef TERN_SCHEDULER_H
#define TERN_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "tern/task.h"
#include "arena.h"
#include "coro.h"

/** A wait's own timeout ran out (not the scope's deadline). Internal code. */
#define TERN__EWAITTIME (-ETIME)

typedef struct tern_sched tern_sched;
typedef struct tern_scope tern_scope;

/** A cleanup run when its scope ends (newest first, before on_end, on the main stack).
 *  The caller allocates the node and keeps it alive until it runs or is removed. */
typedef struct tern_scope_cleanup {
    struct tern_scope_cleanup *next, *prev;
    void (*fn)(void *arg); /**< NULL once run or removed */
    void *arg;
} tern_scope_cleanup;

/** A node on a wait list (task joiners, future waiters): lives on the waiting
 *  task's stack for the duration of its wait. */
typedef struct tern_waitnode {
    struct tern_waitnode *next, *prev;
    tern_task *task;
    uint32_t gen;
} tern_waitnode;

/** A doubly linked list of waiters, woken in arrival order (as asyncio does). */
typedef struct tern_waitq {
    tern_waitnode *head, *tail;
} tern_waitq;

/** Who to wake, and for which wait: copy it into an I/O record before yielding. */
typedef struct tern_waiter {
    tern_task *task;
    uint32_t gen;
} tern_waiter;

/** The scheduler record of a coroutine. Pooled per scheduler; valid until its scope ends. */
struct tern_task {
    tern_coro *co;
    tern_sched *sched;
    tern_scope *scope;
    tern_task_fn fn;
    void *arg;
    void *result;
    void (*on_done)(tern_task *t); /**< run on the main stack when fn returns (may be NULL) */
    void *udata;                   /**< owner's pointer (the request for a handler task) */
    uint32_t gen;                  /**< generation of the current/last wait */
    int wake_code;                 /**< result delivered by tern__wake */
    bool waiting;                  /**< suspended in tern__wait */
    bool woken;                    /**< a wake for gen arrived */
    bool queued;                   /**< on the ready queue */
    bool done;                     /**< fn returned */
    bool cancelled;                /**< tern_task_cancel was called */
    bool (*shield)(void *);        /**< set: cancellation waits while shield(shield_arg) */
    void *shield_arg;              /**< what shield is asked about */
    bool timer_armed;              /**< timer runs for the current wait */
    unsigned char timer_kind;      /**< what the timer stands for: own timeout or deadline */
    tern_task *ready_next;         /**< ready queue link */
    tern_task *scope_next;         /**< scope's list of tasks */
    tern_task *pool_next;          /**< scheduler's free list */
    tern_waitq joiners;            /**< tasks waiting for this one */
    uv_timer_t timer;              /**< wait timeout / deadline; initialised once */
};

/** A scope: a request or a loop run. Its tasks share a deadline, cancellation and
 *  memory; it ends when its last task and last blocking job finish. */
struct tern_scope {
    tern_sched *sched;
    tern_arena *arena;        /**< memory for futures and the scope's allocations */
    uint64_t deadline;        /**< absolute loop time in ms, 0: none */
    bool timed_out;           /**< a wait failed because the deadline passed */
    bool cancelled;           /**< every wait fails with TERN_ECANCELED (client gone) */
    unsigned live;            /**< tasks not done + blocking jobs still running */
    tern_task *tasks;         /**< every task of the scope (freed at its end) */
    void (*on_end)(tern_scope *s); /**< called on the main stack when live drops to 0 */
    void *udata;              /**< owner's pointer */
    bool is_request;          /**< udata is the tern_req this scope serves */
    /** Cleanups run when the scope ends, newest first (tern_scope_defer). */
    tern_scope_cleanup *cleanups;
};

/** Per-thread scheduler counters (for metrics and tests). */
typedef struct tern_sched_stats {
    uint64_t spawned;        /**< tasks ever started */
    uint64_t resumes;        /**< coroutine resumes */
    unsigned live_tasks;     /**< tasks not yet done */
    unsigned pooled_tasks;   /**< task records waiting for reuse */
} tern_sched_stats;

/** Creates this thread's scheduler on loop. stack_size and max_coroutines as in the
 *  config (0: defaults). The thread must not have one already. NULL on failure. */
tern_sched *tern_sched_new(uv_loop_t *loop, size_t stack_size, unsigned max_coroutines);

/** Closes the scheduler's handles and timers (call with no live task), runs the loop
 *  until they are closed, frees it. The loop itself stays the caller's. */
void tern_sched_free(tern_sched *s);

/** This thread's scheduler, NULL when none. */
tern_sched *tern_sched_current(void);

/** The scheduler's loop. */
uv_loop_t *tern_sched_loop(tern_sched *s);

/** The scheduler's stack pool (for gauges). */
tern_stack_pool *tern_sched_stacks(tern_sched *s);

/** Counters of this scheduler. */
void tern_sched_get_stats(const tern_sched *s, tern_sched_stats *out);

/** Starts a scope with memory from arena (not owned) and an absolute deadline (0: none). */
void tern_scope_init(tern_scope *sc, tern_sched *s, tern_arena *arena, uint64_t deadline);

/** Cancels the scope: every task's current and next waits fail with TERN_ECANCELED. */
void tern_scope_cancel(tern_scope *sc);

/** Cancels the tasks of the scope that are still running (not the scope itself). */
void tern_scope_cancel_tasks(tern_scope *sc);

/** Registers fn(arg) to run when sc ends, whatever path its tasks took (resources
 *  lent to the scope, such as pool connections, go back this way). */
void tern_scope_defer(tern_scope *sc, tern_scope_cleanup *node, void (*fn)(void *), void *arg);
/** Removes a cleanup that has not run (its resource was released early); no-op if it ran. */
void tern_scope_undefer(tern_scope *sc, tern_scope_cleanup *node);

/** Counts a piece of outside work (a blocking job) as keeping the scope alive. */
void tern_scope_hold(tern_scope *sc);
/** Ends a hold; the scope may end now (on_end runs). Main stack only. */
void tern_scope_release(tern_scope *sc);

/** Starts fn(arg) as a task of scope sc; it runs at the next drain. NULL with
 *  tern_errmsg when no coroutine/stack is free. Works from the main stack too. */
tern_task *tern__spawn_in(tern_scope *sc, tern_task_fn fn, void *arg);

/** The running task, NULL on the main stack. */
tern_task *tern__current(void);

/** Starts a new wait of the current task and says who to wake. */
tern_waiter tern__waiter(void);

/** Suspends the current task until tern__wake for its waiter, the timeout
 *  (timeout_ms >= 0: returns TERN__EWAITTIME), the scope's deadline (TERN_ETIMEDOUT)
 *  or cancellation (TERN_ECANCELED). Fails at once when the deadline has passed or
 *  the task/scope is cancelled. Returns the wake code. Call tern__waiter() first. */
int tern__wait(int64_t timeout_ms);

/** What a wait by the current task would fail with right now: TERN_ECANCELED,
 *  TERN_ETIMEDOUT (the deadline passed; marks the scope timed out), or 0. Lets an
 *  operation refuse to start work it could never wait for. */
int tern__wait_check(void);

/** Until tern__shield_end, a cancellation of the current task does not end its waits
 *  for as long as keep(arg) says so (the deadline still does): for work whose
 *  interruption would hurt others, like a batch of other requests' statements in
 *  flight. The cancellation counts at the first wait after the shield, or at once when
 *  keep turns false and tern__shield_check is called. Does not nest; no-op outside a
 *  task. */
void tern__shield_begin(bool (*keep)(void *), void *arg);

/** Ends the current task's shield. */
void tern__shield_end(void);

/** Call when t's keep function may have turned false: a cancelled, shielded t that is
 *  waiting is then woken with TERN_ECANCELED. */
void tern__shield_check(tern_task *t);

/** Wakes w.task with code if it is still in the wait w.gen (else nothing). Safe from
 *  any callback on the scheduler's thread; never switches stacks. */
void tern__wake(tern_waiter w, int code);

/** Appends the current task to q for its current wait (node on the caller's stack). */
void tern__waitq_add(tern_waitq *q, tern_waitnode *n, tern_waiter w);
/** Removes n from q (no-op if already removed). */
void tern__waitq_remove(tern_waitq *q, tern_waitnode *n);
/** Wakes and unlinks every waiter on q with code. */
void tern__waitq_wake_all(tern_waitq *q, int code);

/** Resumes every ready task until the queue is empty (main stack only). */
void tern__sched_drain(tern_sched *s);

#endif
