/* server/coro.h - coroutines: a stack and a saved register context, nothing more.
 * Asymmetric: only the thread's main stack (the scheduler) resumes a coroutine, and
 * a coroutine yields back to it. No libuv here; the scheduler (scheduler.h) builds on it.
 * Switches are annotated for AddressSanitizer and stacks registered with Valgrind. */
#ifndef TERN_CORO_H
#define TERN_CORO_H

#include <stdbool.h>
#include <stddef.h>

#include "stack_pool.h"

typedef struct tern_coro tern_coro;

/** A coroutine's body. When it returns, the coroutine is done. */
typedef void (*tern_coro_fn)(tern_coro *co, void *arg);

/** Coroutine states as seen from outside. */
typedef enum { TERN_CORO_READY = 0, TERN_CORO_RUNNING, TERN_CORO_SUSPENDED, TERN_CORO_DONE } tern_coro_state;

/** A coroutine. The struct lives at the top of its own stack region. */
struct tern_coro {
    void *sp;                 /**< saved stack pointer while not running */
    tern_stack *stack;        /**< the stack it runs on */
    tern_stack_pool *pool;    /**< where the stack goes back to */
    tern_coro_fn fn;          /**< body */
    void *arg;                /**< body's argument */
    tern_coro_state state;    /**< see tern_coro_state */
    void *udata;              /**< owner's pointer (the scheduler's task record) */
    void *asan_fake_stack;    /**< AddressSanitizer fake-stack handle across switches */
};

/** Creates a coroutine on a stack from pool; it starts at the first resume. NULL with
 *  errno ENOMEM or EAGAIN when the pool cannot give a stack. */
tern_coro *tern_coro_new(tern_stack_pool *pool, tern_coro_fn fn, void *arg);

/** Runs co until it yields or returns. Only from the thread's main stack. */
void tern_coro_resume(tern_coro *co);

/** Suspends the running coroutine and returns to its resumer. Only from a coroutine. */
void tern_coro_yield(void);

/** The coroutine running on this thread, NULL on the main stack. */
tern_coro *tern_coro_current(void);

/** Frees a coroutine that is done or was never resumed; its stack returns to the pool. */
void tern_coro_free(tern_coro *co);

/** True when the address lies in the guard page of co's stack (for the SIGSEGV report). */
bool tern_coro_guard_hit(const tern_coro *co, const void *addr);

/** The x86-64/aarch64 switch: saves callee-saved registers on the current stack,
 *  stores sp in *save_sp, loads new_sp and restores from there. In coro_switch_*.S. */
void tern__ctx_switch(void **save_sp, void *new_sp);

#endif
