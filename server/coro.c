/* server/coro.c - asymmetric coroutines on pooled stacks: creation with a hand-built
 * first frame, resume/yield through tern__ctx_switch, AddressSanitizer fiber
 * annotations on every switch. Depends on libc only. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "coro.h"

#include "asan.h"

#ifdef TERN_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "tern's context switch exists for x86-64 and aarch64 only"
#endif

/* Hidden twins of the assembly symbols: no PLT or GOT hop inside a shared libtern. */
__attribute__((visibility("hidden"))) void tern__ctx_switch_local(void **save_sp, void *new_sp);
__attribute__((visibility("hidden"))) void tern__coro_trampoline(void);

/* Everything a switch needs on this thread, in one place. initial-exec: one
 * %fs/tpidr_el0-relative access instead of a __tls_get_addr call in libtern.so. */
struct coro_tls {
    tern_coro *current; /* running coroutine, NULL on the main stack */
    void *main_sp;      /* the main stack's sp, saved while a coroutine runs */
#ifdef TERN_ASAN
    void *main_fake;         /* main stack's fake-stack handle while a coroutine runs */
    const void *main_bottom; /* main stack bounds, as ASan reported them at switch-in */
    size_t main_size;
#endif
};
static __thread struct coro_tls tls __attribute__((tls_model("initial-exec")));

#ifdef TERN_ASAN
/* Where a coroutine's stack ends for ASan: the struct sits above this. */
static inline size_t coro_stack_used_size(const tern_coro *co)
{
    return (size_t)((const char *)co - (const char *)co->stack->lo);
}
#endif

/* First code run on a fresh stack (called by tern__coro_trampoline). Runs the body,
 * then switches back to the resumer for good: there is nothing to return to. */
__attribute__((noreturn)) static void coro_main(tern_coro *co)
{
#ifdef TERN_ASAN
    __sanitizer_finish_switch_fiber(NULL, &tls.main_bottom, &tls.main_size);
#endif
    co->fn(co, co->arg);
    co->state = TERN_CORO_DONE;
#ifdef TERN_ASAN
    /* NULL: this fiber is gone, ASan may drop its fake stack. */
    __sanitizer_start_switch_fiber(NULL, tls.main_bottom, tls.main_size);
#endif
    tern__ctx_switch_local(&co->sp, tls.main_sp);
    abort(); /* a done coroutine is never resumed (asserted in tern_coro_resume) */
}

tern_coro *tern_coro_new(tern_stack_pool *pool, tern_coro_fn fn, void *arg)
{
    tern_stack *s = tern_stack_get(pool);
    if (!s)
        return NULL; /* errno and tern_errmsg() set by the pool */

    /* The struct at the top of the region, on its own cache line; the stack grows
     * down from just below it. */
    uintptr_t top = (uintptr_t)s->lo + s->size;
    tern_coro *co = (tern_coro *)((top - sizeof(tern_coro)) & ~(uintptr_t)63);
    co->stack = s;
    co->pool = pool;
    co->fn = fn;
    co->arg = arg;
    co->state = TERN_CORO_READY;
    co->udata = NULL;
    co->asan_fake_stack = NULL;

    /* The frame tern__ctx_switch restores on the first resume (layouts in the .S
     * files). Its "return" lands in the trampoline with sp == co, 16-byte aligned. */
#if defined(__x86_64__)
    uint64_t *f = (uint64_t *)co - 8;
    uint32_t mxcsr;
    uint16_t fpucw;
    /* A new coroutine starts with its creator's floating-point controls, as a new
     * thread does. */
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fpucw));
    f[0] = (uint64_t)mxcsr | (uint64_t)fpucw << 32;
    f[1] = 0;                              /* r15 */
    f[2] = 0;                              /* r14 */
    f[3] = (uint64_t)(uintptr_t)coro_main; /* r13: the C entry */
    f[4] = (uint64_t)(uintptr_t)co;        /* r12: its argument */
    f[5] = 0;                              /* rbx */
    f[6] = 0;                              /* rbp: ends frame-pointer walks */
    f[7] = (uint64_t)(uintptr_t)tern__coro_trampoline;
#else
    uint64_t *f = (uint64_t *)co - 20;
    /* x21-x28 and d8-d15 start at 0; x29 = 0 ends frame-pointer walks. */
    for (int i = 0; i < 20; i++)
        f[i] = 0;
    f[0] = (uint64_t)(uintptr_t)co;                     /* x19: the entry's argument */
    f[1] = (uint64_t)(uintptr_t)coro_main;              /* x20: the C entry */
    f[11] = (uint64_t)(uintptr_t)tern__coro_trampoline; /* x30 */
#endif
    co->sp = f;
    return co;
}

void tern_coro_resume(tern_coro *co)
{
    assert(tls.current == NULL && "tern_coro_resume is for the thread's main stack only");
    assert(co->state == TERN_CORO_READY || co->state == TERN_CORO_SUSPENDED);
    co->state = TERN_CORO_RUNNING;
    tls.current = co;
#ifdef TERN_ASAN
    __sanitizer_start_switch_fiber(&tls.main_fake, co->stack->lo, coro_stack_used_size(co));
#endif
    tern__ctx_switch_local(&tls.main_sp, co->sp);
#ifdef TERN_ASAN
    __sanitizer_finish_switch_fiber(tls.main_fake, NULL, NULL);
#endif
    tls.current = NULL;
}

void tern_coro_yield(void)
{
    tern_coro *co = tls.current;
    assert(co && "tern_coro_yield outside a coroutine");
    co->state = TERN_CORO_SUSPENDED;
#ifdef TERN_ASAN
    __sanitizer_start_switch_fiber(&co->asan_fake_stack, tls.main_bottom, tls.main_size);
#endif
    tern__ctx_switch_local(&co->sp, tls.main_sp);
#ifdef TERN_ASAN
    __sanitizer_finish_switch_fiber(co->asan_fake_stack, &tls.main_bottom, &tls.main_size);
#endif
}

tern_coro *tern_coro_current(void)
{
    return tls.current;
}

void tern_coro_free(tern_coro *co)
{
    if (!co)
        return;
    assert((co->state == TERN_CORO_DONE || co->state == TERN_CORO_READY) &&
           "only a finished or never-started coroutine can be freed");
    /* co lives on the stack being returned: read what we need first. */
    tern_stack_pool *pool = co->pool;
    tern_stack *s = co->stack;
    tern_stack_put(pool, s);
}

bool tern_coro_guard_hit(const tern_coro *co, const void *addr)
{
    /* getpagesize() reads a value the loader stored: fine inside a signal handler. */
    uintptr_t lo = (uintptr_t)co->stack->lo;
    uintptr_t a = (uintptr_t)addr;
    return a < lo && a >= lo - (uintptr_t)getpagesize();
}
