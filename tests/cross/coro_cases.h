/* tests/cross/coro_cases.h - the coroutine core's checks, shared by two harnesses:
 * tests/unit/test_coro.c (Criterion) and tests/cross/coro_portable.c (plain C, also
 * cross-built for aarch64 and run under qemu-user by run_aarch64.sh). Covers switch
 * order, generators, stack reuse, register and floating-point state across switches,
 * caps, deep recursion and the guard page.
 *
 * Before including this file the harness defines
 *
 *   CORO_CHECK(cond, fmt, ...)   when cond is false, records the failure with a
 *                                printf-style message and leaves the running case
 *                                (a return from it, or Criterion's longjmp).
 *
 * Each case is a `static void coro_case_*(void)`. The harness sets `pool` (64 KiB
 * stacks, 16 cached, no live cap) before the cases run and checks afterwards that they
 * gave every stack back.
 *
 * CORO_CHECK appears only in the case functions themselves, never in a coroutine body
 * or a helper: Criterion's asserts unwind with longjmp, which must stay on the main
 * stack, and the portable harness's return must leave the case itself. A case frees
 * what it made before its checks, so that one failing case leaves nothing behind for
 * the next. */
#ifndef TERN_TESTS_CORO_CASES_H
#define TERN_TESTS_CORO_CASES_H

#ifndef CORO_CHECK
#error "define CORO_CHECK(cond, fmt, ...) before including coro_cases.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tern/error.h"
#include "asan.h"
#include "coro.h"

/* ---- register helpers, in assembly so the compiler cannot hide what is tested ----
 *
 * test_regs_resume(co, in, out, resume): loads every callee-saved register from in[],
 * calls resume(co), stores the registers to out[]. test_regs_yield(in, out, yield):
 * the same around yield(), from inside a coroutine. A switch that loses any of them
 * shows in out[]. */
/* clang-format off */
#if defined(__x86_64__)
#define NREGS 6 /* rbx rbp r12 r13 r14 r15 */
#define X64_SAVE    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n" \
                    "  pushq %r15\n"
#define X64_RESTORE "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n"       \
                    "  popq %rbp\n"
#define X64_LOAD(R) "  movq 0(" R "), %rbx\n  movq 8(" R "), %rbp\n  movq 16(" R "), %r12\n"  \
                    "  movq 24(" R "), %r13\n  movq 32(" R "), %r14\n  movq 40(" R "), %r15\n"
#define X64_STORE   "  movq %rbx, 0(%rax)\n  movq %rbp, 8(%rax)\n  movq %r12, 16(%rax)\n"     \
                    "  movq %r13, 24(%rax)\n  movq %r14, 32(%rax)\n  movq %r15, 40(%rax)\n"
/* Six saves and the pushed out[] pointer leave rsp 16-byte aligned for the call. */
__asm__(".text\n"
        ".globl test_regs_resume\n"
        ".hidden test_regs_resume\n"
        ".type test_regs_resume, @function\n"
        "test_regs_resume:\n"
        X64_SAVE "  pushq %rdx\n" X64_LOAD("%rsi")
        "  call *%rcx\n"
        "  popq %rax\n" X64_STORE X64_RESTORE
        "  ret\n"
        ".size test_regs_resume, . - test_regs_resume\n"
        ".globl test_regs_yield\n"
        ".hidden test_regs_yield\n"
        ".type test_regs_yield, @function\n"
        "test_regs_yield:\n"
        X64_SAVE "  pushq %rsi\n" X64_LOAD("%rdi")
        "  call *%rdx\n"
        "  popq %rax\n" X64_STORE X64_RESTORE
        "  ret\n"
        ".size test_regs_yield, . - test_regs_yield\n");
#elif defined(__aarch64__)
#define NREGS 19 /* x19-x29, then d8-d15 as bit patterns */
#define A64_SAVE    "  stp x29, x30, [sp, #-176]!\n  stp x19, x20, [sp, #16]\n"               \
                    "  stp x21, x22, [sp, #32]\n  stp x23, x24, [sp, #48]\n"                  \
                    "  stp x25, x26, [sp, #64]\n  stp x27, x28, [sp, #80]\n"                  \
                    "  stp d8, d9, [sp, #96]\n  stp d10, d11, [sp, #112]\n"                   \
                    "  stp d12, d13, [sp, #128]\n  stp d14, d15, [sp, #144]\n"
#define A64_RESTORE "  ldp x19, x20, [sp, #16]\n  ldp x21, x22, [sp, #32]\n"                  \
                    "  ldp x23, x24, [sp, #48]\n  ldp x25, x26, [sp, #64]\n"                  \
                    "  ldp x27, x28, [sp, #80]\n  ldp d8, d9, [sp, #96]\n"                    \
                    "  ldp d10, d11, [sp, #112]\n  ldp d12, d13, [sp, #128]\n"                \
                    "  ldp d14, d15, [sp, #144]\n  ldp x29, x30, [sp], #176\n"
#define A64_LOAD(R) "  ldp x19, x20, [" R ", #0]\n  ldp x21, x22, [" R ", #16]\n"             \
                    "  ldp x23, x24, [" R ", #32]\n  ldp x25, x26, [" R ", #48]\n"            \
                    "  ldp x27, x28, [" R ", #64]\n  ldr x29, [" R ", #80]\n"                 \
                    "  ldp d8, d9, [" R ", #88]\n  ldp d10, d11, [" R ", #104]\n"             \
                    "  ldp d12, d13, [" R ", #120]\n  ldp d14, d15, [" R ", #136]\n"
#define A64_STORE(R) "  stp x19, x20, [" R ", #0]\n  stp x21, x22, [" R ", #16]\n"            \
                     "  stp x23, x24, [" R ", #32]\n  stp x25, x26, [" R ", #48]\n"           \
                     "  stp x27, x28, [" R ", #64]\n  str x29, [" R ", #80]\n"                \
                     "  stp d8, d9, [" R ", #88]\n  stp d10, d11, [" R ", #104]\n"            \
                     "  stp d12, d13, [" R ", #120]\n  stp d14, d15, [" R ", #136]\n"
/* The out[] pointer waits in the frame's spare slot at sp + 160. */
__asm__(".text\n"
        ".globl test_regs_resume\n"
        ".hidden test_regs_resume\n"
        ".type test_regs_resume, %function\n"
        "test_regs_resume:\n"
        A64_SAVE "  str x2, [sp, #160]\n" A64_LOAD("x1")
        "  blr x3\n"
        "  ldr x2, [sp, #160]\n" A64_STORE("x2") A64_RESTORE
        "  ret\n"
        ".size test_regs_resume, . - test_regs_resume\n"
        ".globl test_regs_yield\n"
        ".hidden test_regs_yield\n"
        ".type test_regs_yield, %function\n"
        "test_regs_yield:\n"
        A64_SAVE "  str x1, [sp, #160]\n" A64_LOAD("x0")
        "  blr x2\n"
        "  ldr x1, [sp, #160]\n" A64_STORE("x1") A64_RESTORE
        "  ret\n"
        ".size test_regs_yield, . - test_regs_yield\n");
#else
#error "tern has no context switch for this architecture"
#endif
/* clang-format on */
/* The switch functions come in as arguments: a symbol named only inside top-level asm
 * is invisible to link-time optimisation, which may then rename or drop it. */
void test_regs_resume(tern_coro *co, const uint64_t *in, uint64_t *out,
                      void (*resume)(tern_coro *));
void test_regs_yield(const uint64_t *in, uint64_t *out, void (*yield)(void));

static tern_stack_pool *pool; /* 64 KiB stacks, 16 cached, no live cap; set by the harness */

/* Frees a coroutine that finished or never started. One stuck half-way (a broken
 * switch) cannot be freed; it stays allocated, and the harness's check that every
 * stack came back reports it as well. */
static void release(tern_coro *co)
{
    if (co && (co->state == TERN_CORO_DONE || co->state == TERN_CORO_READY))
        tern_coro_free(co);
}

static void nothing(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
}

/* ---- ordering ---- */

static int trace[16], ntrace;

static void ping(tern_coro *co, void *arg)
{
    int base = *(int *)arg;
    (void)co;
    trace[ntrace++] = base;
    tern_coro_yield();
    trace[ntrace++] = base + 1;
}

static void coro_case_ping_pong(void)
{
    int a = 1, b = 3;
    ntrace = 0;
    tern_coro *ca = tern_coro_new(pool, ping, &a);
    tern_coro *cb = tern_coro_new(pool, ping, &b);
    CORO_CHECK(ca && cb, "tern_coro_new: %s", tern_errmsg());
    bool ready = ca->state == TERN_CORO_READY && cb->state == TERN_CORO_READY;
    tern_coro_resume(ca);
    tern_coro_resume(cb);
    bool suspended = ca->state == TERN_CORO_SUSPENDED && cb->state == TERN_CORO_SUSPENDED;
    tern_coro_resume(ca);
    tern_coro_resume(cb);
    bool done = ca->state == TERN_CORO_DONE && cb->state == TERN_CORO_DONE;
    release(ca);
    release(cb);
    CORO_CHECK(ready, "not ready before the first resume");
    CORO_CHECK(suspended, "not suspended after the first yield");
    CORO_CHECK(done, "not done after returning");
    CORO_CHECK(ntrace == 4 && trace[0] == 1 && trace[1] == 3 && trace[2] == 2 && trace[3] == 4,
               "order %d,%d,%d,%d (%d entries), want 1,3,2,4", trace[0], trace[1], trace[2],
               trace[3], ntrace);
}

static tern_coro *seen_current;
static void *seen_udata;

static void note_current(tern_coro *co, void *arg)
{
    (void)arg;
    seen_current = tern_coro_current();
    seen_udata = co->udata;
}

static void coro_case_current_and_udata(void)
{
    CORO_CHECK(tern_coro_current() == NULL, "current is set on the main stack");
    tern_coro *co = tern_coro_new(pool, note_current, NULL);
    CORO_CHECK(co, "tern_coro_new: %s", tern_errmsg());
    co->udata = (void *)0x5eed;
    tern_coro_resume(co);
    tern_coro *after = tern_coro_current();
    bool was_current = seen_current == co;
    void *current = seen_current, *self = co;
    release(co);
    CORO_CHECK(was_current, "tern_coro_current() inside was %p, want %p", current, self);
    CORO_CHECK(seen_udata == (void *)0x5eed, "udata inside was %p, want 0x5eed", seen_udata);
    CORO_CHECK(after == NULL, "current still set after the coroutine returned");
}

/* ---- generator ---- */

struct gen {
    long value;
    int count;
};

static void fib_gen(tern_coro *co, void *arg)
{
    struct gen *g = arg;
    long a = 0, b = 1;
    (void)co;
    for (int i = 0; i < g->count; i++) {
        g->value = a;
        tern_coro_yield();
        long t = a + b;
        a = b;
        b = t;
    }
}

static void coro_case_generator(void)
{
    static const long want[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89};
    struct gen g = {.value = -1, .count = 12};
    tern_coro *co = tern_coro_new(pool, fib_gen, &g);
    CORO_CHECK(co, "tern_coro_new: %s", tern_errmsg());
    long got[16];
    int n = 0;
    for (;;) {
        tern_coro_resume(co);
        if (co->state == TERN_CORO_DONE || n == 16)
            break;
        got[n++] = g.value;
    }
    release(co);
    CORO_CHECK(n == 12, "%d values, want 12", n);
    for (int i = 0; i < 12; i++)
        CORO_CHECK(got[i] == want[i], "value %d: %ld, want %ld", i, got[i], want[i]);
}

/* ---- many coroutines, stack reuse ---- */

#define MANY 10000

static void count_twice(tern_coro *co, void *arg)
{
    int *hits = arg;
    if (tern_coro_current() == co)
        (*hits)++;
    tern_coro_yield();
    (*hits)++;
}

static void coro_case_ten_thousand(void)
{
    tern_stack_pool *p = tern_stack_pool_new(16 * 1024, 64, 0);
    CORO_CHECK(p, "tern_stack_pool_new: %s", tern_errmsg());
    static tern_coro *cos[MANY];
    int hits = 0, created = 0;
    for (int i = 0; i < MANY; i++) {
        if (!(cos[i] = tern_coro_new(p, count_twice, &hits)))
            break;
        created++;
    }
    const char *why_not = created < MANY ? tern_errmsg() : "";
    size_t live = tern_stack_pool_live(p);
    for (int i = 0; i < created; i++)
        tern_coro_resume(cos[i]);
    int hits_first = hits;
    int not_done = 0;
    for (int i = created - 1; i >= 0; i--) {
        tern_coro_resume(cos[i]);
        not_done += cos[i]->state != TERN_CORO_DONE;
    }
    int hits_second = hits;
    for (int i = 0; i < created; i++)
        release(cos[i]);
    size_t live_after = tern_stack_pool_live(p), cached = tern_stack_pool_cached(p);
    /* the cache follows the peak (all MANY were live at once) until a trim */
    tern_stack_pool_trim(p);
    size_t cached_trimmed = tern_stack_pool_cached(p);

    /* Run them one at a time: with LIFO reuse a single, warm stack serves them all. */
    tern_coro *first = tern_coro_new(p, count_twice, &hits);
    bool got_first = first != NULL;
    uintptr_t first_stack = first ? (uintptr_t)first->stack : 0;
    int other_stack = 0;
    if (first) {
        tern_coro_resume(first);
        tern_coro_resume(first);
        release(first);
        for (int i = 0; i < MANY; i++) {
            tern_coro *co = tern_coro_new(p, count_twice, &hits);
            if (!co) {
                other_stack++;
                continue;
            }
            other_stack += (uintptr_t)co->stack != first_stack;
            tern_coro_resume(co);
            tern_coro_resume(co);
            release(co);
        }
    }
    size_t live_end = tern_stack_pool_live(p);
    tern_stack_pool_free(p);

    CORO_CHECK(created == MANY, "only %d created: %s", created, why_not);
    CORO_CHECK(live == MANY, "live %zu, want %d", live, MANY);
    CORO_CHECK(hits_first == MANY, "%d saw themselves as current, want %d", hits_first, MANY);
    CORO_CHECK(not_done == 0, "%d not done after the second resume", not_done);
    CORO_CHECK(hits_second == 2 * MANY, "%d hits after two passes, want %d", hits_second, 2 * MANY);
    CORO_CHECK(live_after == 0, "live %zu after freeing them all", live_after);
    CORO_CHECK(cached == MANY, "cached %zu, want the peak %d", cached, MANY);
    CORO_CHECK(cached_trimmed == 64, "cached %zu after a trim, want max_cached 64",
               cached_trimmed);
    CORO_CHECK(got_first, "tern_coro_new after freeing them all: %s", tern_errmsg());
    CORO_CHECK(other_stack == 0, "%d of %d did not reuse the last stack", other_stack, MANY);
    CORO_CHECK(hits == 4 * MANY + 2, "%d hits in the end, want %d", hits, 4 * MANY + 2);
    CORO_CHECK(live_end == 0, "live %zu after the one-at-a-time runs", live_end);
}

static void coro_case_lifo(void)
{
    tern_coro *x = tern_coro_new(pool, nothing, NULL);
    tern_coro *y = tern_coro_new(pool, nothing, NULL);
    CORO_CHECK(x && y, "tern_coro_new: %s", tern_errmsg());
    uintptr_t sx = (uintptr_t)x->stack, sy = (uintptr_t)y->stack;
    tern_coro_free(x); /* never resumed: allowed */
    tern_coro_resume(y);
    release(y);
    tern_coro *a = tern_coro_new(pool, nothing, NULL);
    tern_coro *b = tern_coro_new(pool, nothing, NULL);
    uintptr_t sa = a ? (uintptr_t)a->stack : 0, sb = b ? (uintptr_t)b->stack : 0;
    release(a);
    release(b);
    CORO_CHECK(sx != sy, "two live coroutines share a stack");
    CORO_CHECK(sa == sy, "the last stack returned did not come back first");
    CORO_CHECK(sb == sx, "the stack returned before it did not come back second");
}

static void coro_case_sizes(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    tern_stack_pool *p = tern_stack_pool_new(1000, 0, 0);
    CORO_CHECK(p, "tern_stack_pool_new: %s", tern_errmsg());
    size_t sz = tern_stack_pool_stack_size(p);
    tern_coro *co = tern_coro_new(p, nothing, NULL);
    bool made = co != NULL;
    char *lo = co ? co->stack->lo : NULL, *hi = co ? lo + co->stack->size : NULL;
    bool same_size = co && co->stack->size == sz;
    bool inside = co && (char *)co > lo && (char *)(co + 1) <= hi;
    bool at_top = co && hi - (char *)co < 256;
    if (co)
        lo[0] = 1; /* the whole usable range is writable */
    release(co);
    tern_stack_pool_free(p);
    CORO_CHECK(made, "tern_coro_new: %s", tern_errmsg());
    CORO_CHECK(sz % page == 0, "size %zu is not a page multiple", sz);
#ifdef TERN_ASAN
    CORO_CHECK(sz >= 4000, "size %zu, want 4x under ASan", sz);
#else
    CORO_CHECK(sz >= 1000, "size %zu is below the 1000 asked for", sz);
    CORO_CHECK(sz == page, "1000 bytes gave %zu, want one page", sz);
#endif
    CORO_CHECK(same_size, "the stack's size differs from the pool's");
    CORO_CHECK(inside, "the struct does not sit inside its stack");
    CORO_CHECK(at_top, "the struct is not at the top of its stack");
}

/* ---- caps ---- */

static void coro_case_max_live(void)
{
    tern_stack_pool *p = tern_stack_pool_new(16 * 1024, 0, 3);
    CORO_CHECK(p, "tern_stack_pool_new: %s", tern_errmsg());
    tern_coro *c[3];
    int made = 0;
    for (int i = 0; i < 3; i++)
        made += (c[i] = tern_coro_new(p, nothing, NULL)) != NULL;
    errno = 0;
    tern_set_errmsg("%s", "");
    tern_coro *over = tern_coro_new(p, nothing, NULL);
    int err = errno;
    bool msg = tern_errmsg()[0] != 0;
    release(c[1]);
    tern_coro *again = tern_coro_new(p, nothing, NULL);
    bool reused = again != NULL;
    release(again);
    release(c[0]);
    release(c[2]);
    release(over); /* only when the cap failed: keep the pool's books straight */
    size_t live = tern_stack_pool_live(p);
    tern_stack_pool_free(p);
    CORO_CHECK(made == 3, "only %d of 3 under the cap", made);
    CORO_CHECK(!over, "a fourth coroutine over a cap of 3");
    CORO_CHECK(err == EAGAIN, "errno %d over the cap, want EAGAIN", err);
    CORO_CHECK(msg, "no tern_errmsg() for the cap");
    CORO_CHECK(reused, "a freed slot was not usable again");
    CORO_CHECK(live == 0, "live %zu after freeing them all", live);
}

/* ---- register and floating-point state ---- */

static uint64_t co_in[NREGS], co_out[NREGS];

static void regs_body(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
    test_regs_yield(co_in, co_out, tern_coro_yield);
}

static void coro_case_registers(void)
{
    uint64_t main_in[NREGS], out1[NREGS], out2[NREGS];
    for (int i = 0; i < NREGS; i++) {
        main_in[i] = 0x1111111111111111ull * (uint64_t)(i % 15 + 1) ^ 0x0123456789abcdefull;
        co_in[i] = ~main_in[i];
    }
    memset(out1, 0, sizeof out1);
    memset(out2, 0, sizeof out2);
    memset(co_out, 0, sizeof co_out);
    tern_coro *co = tern_coro_new(pool, regs_body, NULL);
    CORO_CHECK(co, "tern_coro_new: %s", tern_errmsg());
    /* Runs until the body's yield, then until it returns. */
    test_regs_resume(co, main_in, out1, tern_coro_resume);
    test_regs_resume(co, main_in, out2, tern_coro_resume);
    bool done = co->state == TERN_CORO_DONE;
    release(co);
    for (int i = 0; i < NREGS; i++) {
        CORO_CHECK(out1[i] == main_in[i], "main's register %d lost at a yield", i);
        CORO_CHECK(co_out[i] == co_in[i], "the coroutine's register %d lost at a resume", i);
        CORO_CHECK(out2[i] == main_in[i], "main's register %d lost at the end", i);
    }
    CORO_CHECK(done, "not done after the second resume");
}

static void fp_body(tern_coro *co, void *arg)
{
    double *out = arg;
    volatile double seed = 1.0;
    (void)co;
    double a = seed / 3.0, b = seed * 2.5, c = seed / 7.0, d = seed * 1e-3;
    double e = a * b + c, f = d - a, g = b * b * c, h = e / f;
    tern_coro_yield();
    out[0] = a, out[1] = b, out[2] = c, out[3] = d;
    out[4] = e, out[5] = f, out[6] = g, out[7] = h;
}

/* Keeps its own doubles live across a yield (in d8-d15 on aarch64), so a switch that
 * loses floating-point registers hands fp_body the wrong ones. */
static void fp_noise(tern_coro *co, void *arg)
{
    volatile double *sink = arg;
    volatile double seed = 123.456;
    (void)co;
    double p = seed * 3, q = seed * 5, r = seed * 7, s = seed * 11;
    double t = seed * 13, u = seed * 17, v = seed * 19, w = seed * 23;
    tern_coro_yield();
    *sink = p * q + r * s + t * u + v * w;
}

static void coro_case_doubles(void)
{
    double got[8], want[8];
    volatile double seed = 1.0, sink = 0;
    double a = seed / 3.0, b = seed * 2.5, c = seed / 7.0, d = seed * 1e-3;
    want[0] = a, want[1] = b, want[2] = c, want[3] = d;
    want[4] = a * b + c, want[5] = d - a, want[6] = b * b * c, want[7] = want[4] / want[5];
    memset(got, 0, sizeof got);
    tern_coro *co = tern_coro_new(pool, fp_body, got);
    tern_coro *noise = tern_coro_new(pool, fp_noise, (void *)&sink);
    CORO_CHECK(co && noise, "tern_coro_new: %s", tern_errmsg());
    tern_coro_resume(co);
    tern_coro_resume(noise);
    tern_coro_resume(co);
    tern_coro_resume(noise);
    release(co);
    release(noise);
    for (int i = 0; i < 8; i++)
        CORO_CHECK(got[i] == want[i], "double %d: %a, want %a", i, got[i], want[i]);
    volatile double n = 123.456;
    double noise_want = n * 3 * (n * 5) + n * 7 * (n * 11) + n * 13 * (n * 17) + n * 19 * (n * 23);
    CORO_CHECK(sink == noise_want, "the other coroutine's doubles: %a, want %a", sink, noise_want);
}

#if defined(__x86_64__)
/* x86-64 only: the ABI makes MXCSR and x87 control bits callee-saved and tern's
 * switch keeps them per coroutine. (aarch64's FPCR is not switched.) */
#define MXCSR_RC_MASK 0x6000u
#define MXCSR_RC_UP 0x4000u
#define X87_RC_MASK 0x0c00u
#define X87_RC_UP 0x0800u

static unsigned x87_cw(void)
{
    uint16_t cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return cw;
}

static void set_x87_cw(unsigned v)
{
    uint16_t cw = (uint16_t)v;
    __asm__ volatile("fldcw %0" : : "m"(cw));
}

static unsigned rc_seen[2];

/* Sets "round up" in both units, yields, and reports what it finds when resumed. */
static void round_up_body(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
    __builtin_ia32_ldmxcsr((__builtin_ia32_stmxcsr() & ~MXCSR_RC_MASK) | MXCSR_RC_UP);
    set_x87_cw((x87_cw() & ~X87_RC_MASK) | X87_RC_UP);
    tern_coro_yield();
    rc_seen[0] = __builtin_ia32_stmxcsr() & MXCSR_RC_MASK;
    rc_seen[1] = x87_cw() & X87_RC_MASK;
}

static void coro_case_fp_control(void)
{
    unsigned mxcsr0 = __builtin_ia32_stmxcsr(), cw0 = x87_cw();
    CORO_CHECK((mxcsr0 & MXCSR_RC_MASK) == 0, "test expects round-to-nearest to start with");
    tern_coro *co = tern_coro_new(pool, round_up_body, NULL);
    CORO_CHECK(co, "tern_coro_new: %s", tern_errmsg());
    tern_coro_resume(co);
    unsigned mxcsr1 = __builtin_ia32_stmxcsr(), cw1 = x87_cw();
    tern_coro_resume(co);
    unsigned mxcsr2 = __builtin_ia32_stmxcsr(), cw2 = x87_cw();
    release(co);
    CORO_CHECK(mxcsr1 == mxcsr0, "MXCSR leaked out of the coroutine: %#x, was %#x", mxcsr1, mxcsr0);
    CORO_CHECK(cw1 == cw0, "x87 control word leaked out of the coroutine: %#x, was %#x", cw1, cw0);
    CORO_CHECK(rc_seen[0] == MXCSR_RC_UP, "the coroutine lost its MXCSR rounding mode");
    CORO_CHECK(rc_seen[1] == X87_RC_UP, "the coroutine lost its x87 rounding mode");
    CORO_CHECK(mxcsr2 == mxcsr0, "MXCSR leaked at the coroutine's end: %#x, was %#x", mxcsr2,
               mxcsr0);
    CORO_CHECK(cw2 == cw0, "x87 control word leaked at the coroutine's end: %#x, was %#x", cw2,
               cw0);
}
#endif

/* ---- deep recursion and the guard page ---- */

static volatile int keep_recursing = 1;
static uintptr_t stack_floor; /* recurse until this close to the guard */
static uintptr_t deepest;     /* lowest frame address reached */

/* Returns the depth reached, or -1 when a frame's bytes changed while deeper frames
 * ran (a stack that overlaps itself or something else). */
static long recurse_until(uintptr_t floor, long depth)
{
    volatile char buf[200];
    buf[0] = (char)depth;
    buf[199] = (char)~depth;
    /* The frame's address, not buf's: under ASan's stack-use-after-return mode
     * locals live on a "fake stack" in the heap. */
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    if (frame > floor && keep_recursing) {
        long r = recurse_until(floor, depth + 1);
        return (buf[0] == (char)depth && buf[199] == (char)~depth) ? r : -1;
    }
    deepest = frame;
    return depth;
}

static long deep_result;

static void deep_body(tern_coro *co, void *arg)
{
    (void)arg;
    /* Leave 2 KiB (8 KiB under ASan) for the last frames and libc below them. */
#ifdef TERN_ASAN
    stack_floor = (uintptr_t)co->stack->lo + 8192;
#else
    stack_floor = (uintptr_t)co->stack->lo + 2048;
#endif
    deep_result = recurse_until(stack_floor, 1);
}

static void coro_case_deep_recursion(void)
{
    tern_coro *co = tern_coro_new(pool, deep_body, NULL);
    CORO_CHECK(co, "tern_coro_new: %s", tern_errmsg());
    tern_coro_resume(co);
    bool done = co->state == TERN_CORO_DONE;
    release(co);
    /* Frames take at most a few hundred bytes of the real stack (200 for buf plus
     * linkage, more with ASan's redzones), so reaching the floor takes hundreds. */
    size_t size = tern_stack_pool_stack_size(pool), min_frames = (size - 8192) / 1024;
    CORO_CHECK(done, "not done");
    CORO_CHECK(deepest <= stack_floor, "stopped %zu bytes above the floor",
               (size_t)(deepest - stack_floor));
    CORO_CHECK(deep_result > (long)min_frames, "only %ld frames deep for a %zu-byte stack",
               deep_result, size);
}

/* Recursion with no bound of its own. It stops only once it is far below the stack:
 * with a working guard page it never gets there. */
static uintptr_t beyond_stack;

static long recurse_forever(long depth)
{
    volatile char buf[256];
    buf[0] = (char)depth;
    if (keep_recursing && (uintptr_t)__builtin_frame_address(0) > beyond_stack)
        return recurse_forever(depth + 1) + buf[0];
    return 0;
}

static void overflow_body(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
    recurse_forever(0);
}

static tern_coro *overflowing;

/* In the child: a coroutine with fresh writable memory right below its guard page, so
 * that a missing guard lets the recursion run on and return, instead of faulting on
 * whatever happens to lie there. Stacks whose neighbourhood is taken stay allocated,
 * so the next one lands elsewhere. Under Valgrind, which hands out addresses upwards,
 * the space below is never free: then the check runs without the sentinel. */
static tern_coro *coro_over_sentinel(tern_stack_pool *p)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), sentinel = 1 << 20;
    for (int i = 0; i < 8; i++) {
        tern_coro *co = tern_coro_new(p, overflow_body, NULL);
        if (!co)
            return NULL;
        char *guard = (char *)co->stack->lo - page;
        /* A plain hint, honoured when the range is free; the result tells. */
        void *m = mmap(guard - sentinel, sentinel, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == guard - sentinel) {
            beyond_stack = (uintptr_t)(guard - sentinel / 2);
            return co;
        }
        if (m != MAP_FAILED)
            munmap(m, sentinel);
    }
    beyond_stack = 0;
    return tern_coro_new(p, overflow_body, NULL);
}

static void guard_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    _exit(tern_coro_guard_hit(overflowing, si->si_addr) ? 42 : 43);
}

/* Forks a child that overflows a coroutine's stack; its stderr goes to errbuf. With
 * a handler, the exit code says whether the fault was in the guard page. Returns the
 * wait status, -1 when pipe, fork or waitpid failed. */
static int run_overflow_child(bool with_handler, char *errbuf, size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        tern_stack_pool *p = tern_stack_pool_new(64 * 1024, 0, 0);
        overflowing = p ? coro_over_sentinel(p) : NULL;
        if (!overflowing)
            _exit(5);
        if (with_handler) {
            static char altstack[64 * 1024];
            stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = guard_handler;
            sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
            if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGSEGV, &sa, NULL) != 0)
                _exit(4);
        } else {
#ifndef TERN_ASAN /* under ASan its own handler must see the fault */
            signal(SIGSEGV, SIG_DFL);
#endif
        }
        tern_coro_resume(overflowing);
        _exit(0); /* not reached unless the guard page is missing */
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < errlen && (r = read(fds[0], errbuf + n, errlen - 1 - n)) > 0)
        n += (size_t)r;
    errbuf[n] = 0;
    close(fds[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return status;
}

static void coro_case_overflow_dies(void)
{
    static char err[1 << 16];
    int status = run_overflow_child(false, err, sizeof err);
    CORO_CHECK(status != -1, "pipe, fork or waitpid failed: %s", strerror(errno));
#ifdef TERN_ASAN
    CORO_CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0,
               "child status %#x, want a non-zero exit through ASan\n%s", status, err);
    CORO_CHECK(strstr(err, "stack-overflow"), "no ASan stack-overflow report:\n%s", err);
#else
    CORO_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
               "child status %#x, want death by SIGSEGV\n%s", status, err);
#endif
}

static void coro_case_overflow_in_guard(void)
{
    static char err[1 << 16];
    int status = run_overflow_child(true, err, sizeof err);
    CORO_CHECK(status != -1, "pipe, fork or waitpid failed: %s", strerror(errno));
    CORO_CHECK(WIFEXITED(status), "child status %#x\n%s", status, err);
    CORO_CHECK(WEXITSTATUS(status) == 42, "fault address not in the guard page (exit %d)\n%s",
               WEXITSTATUS(status), err);
}

static void coro_case_guard_bounds(void)
{
    tern_coro *co = tern_coro_new(pool, nothing, NULL);
    CORO_CHECK(co, "tern_coro_new: %s", tern_errmsg());
    char *lo = co->stack->lo;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    bool just_below = tern_coro_guard_hit(co, lo - 1);
    bool guard_bottom = tern_coro_guard_hit(co, lo - page);
    bool stack_bottom = tern_coro_guard_hit(co, lo);
    bool below_guard = tern_coro_guard_hit(co, lo - page - 1);
    bool the_struct = tern_coro_guard_hit(co, co);
    release(co);
    CORO_CHECK(just_below, "the byte just below the stack is not in the guard page");
    CORO_CHECK(guard_bottom, "the guard page's lowest byte is not in the guard page");
    CORO_CHECK(!stack_bottom, "the stack's lowest byte counts as the guard page");
    CORO_CHECK(!below_guard, "the byte below the guard page counts as the guard page");
    CORO_CHECK(!the_struct, "the coroutine's struct counts as the guard page");
}

#endif
