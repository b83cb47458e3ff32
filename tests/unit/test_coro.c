/* tests/unit/test_coro.c - the coroutine core and its stack pool: switch order,
 * generators, stack reuse, register and floating-point state across switches, caps,
 * deep recursion and the guard page. tests/cross/coro_portable.c runs the same core
 * checks without Criterion (and under qemu for aarch64). */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tern/error.h"
#include "coro.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

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
#endif
/* clang-format on */
/* The switch functions come in as arguments: a symbol named only inside top-level asm
 * is invisible to link-time optimisation, which may then rename or drop it. */
void test_regs_resume(tern_coro *co, const uint64_t *in, uint64_t *out,
                      void (*resume)(tern_coro *));
void test_regs_yield(const uint64_t *in, uint64_t *out, void (*yield)(void));

static tern_stack_pool *pool;

static void setup(void)
{
    pool = tern_stack_pool_new(64 * 1024, 16, 0);
    cr_assert_not_null(pool);
}

static void teardown(void)
{
    cr_assert_eq(tern_stack_pool_live(pool), 0, "a test leaked a stack");
    tern_stack_pool_free(pool);
}

TestSuite(coro, .init = setup, .fini = teardown);

/* ---- ordering ---- */

static int trace[16];
static int ntrace;

static void ping(tern_coro *co, void *arg)
{
    int base = *(int *)arg;
    (void)co;
    trace[ntrace++] = base;
    tern_coro_yield();
    trace[ntrace++] = base + 1;
}

Test(coro, ping_pong_interleaves)
{
    int a = 1, b = 3;
    tern_coro *ca = tern_coro_new(pool, ping, &a);
    tern_coro *cb = tern_coro_new(pool, ping, &b);
    cr_assert(ca && cb);
    cr_assert_eq(ca->state, TERN_CORO_READY);
    tern_coro_resume(ca);
    tern_coro_resume(cb);
    cr_assert_eq(ca->state, TERN_CORO_SUSPENDED);
    cr_assert_eq(cb->state, TERN_CORO_SUSPENDED);
    tern_coro_resume(ca);
    tern_coro_resume(cb);
    cr_assert_eq(ca->state, TERN_CORO_DONE);
    cr_assert_eq(cb->state, TERN_CORO_DONE);
    int want[] = {1, 3, 2, 4};
    cr_assert_eq(ntrace, 4);
    cr_assert_arr_eq(trace, want, sizeof want);
    tern_coro_free(ca);
    tern_coro_free(cb);
}

static tern_coro *seen_current;
static void *seen_udata;

/* Criterion's asserts unwind with longjmp: keep them on the main stack. */
static void note_current(tern_coro *co, void *arg)
{
    (void)arg;
    seen_current = tern_coro_current();
    seen_udata = co->udata;
}

Test(coro, current_and_udata)
{
    cr_assert_null(tern_coro_current());
    tern_coro *co = tern_coro_new(pool, note_current, NULL);
    co->udata = (void *)0x5eed;
    tern_coro_resume(co);
    cr_assert_eq(seen_current, co);
    cr_assert_eq(seen_udata, (void *)0x5eed);
    cr_assert_null(tern_coro_current());
    tern_coro_free(co);
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

Test(coro, generator_yields_values)
{
    struct gen g = {.value = -1, .count = 12};
    tern_coro *co = tern_coro_new(pool, fib_gen, &g);
    long got[16];
    int n = 0;
    for (;;) {
        tern_coro_resume(co);
        if (co->state == TERN_CORO_DONE)
            break;
        cr_assert_lt(n, 16);
        got[n++] = g.value;
    }
    long want[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89};
    cr_assert_eq(n, 12);
    cr_assert_arr_eq(got, want, sizeof want);
    tern_coro_free(co);
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

Test(coro, ten_thousand_created_run_freed)
{
    tern_stack_pool *p = tern_stack_pool_new(16 * 1024, 64, 0);
    static tern_coro *cos[MANY];
    int hits = 0;
    for (int i = 0; i < MANY; i++) {
        cos[i] = tern_coro_new(p, count_twice, &hits);
        cr_assert_not_null(cos[i], "coroutine %d: %s", i, tern_errmsg());
    }
    cr_assert_eq(tern_stack_pool_live(p), MANY);
    for (int i = 0; i < MANY; i++)
        tern_coro_resume(cos[i]);
    cr_assert_eq(hits, MANY);
    for (int i = MANY - 1; i >= 0; i--) {
        tern_coro_resume(cos[i]);
        cr_assert_eq(cos[i]->state, TERN_CORO_DONE);
    }
    cr_assert_eq(hits, 2 * MANY);
    for (int i = 0; i < MANY; i++)
        tern_coro_free(cos[i]);
    cr_assert_eq(tern_stack_pool_live(p), 0);
    cr_assert_eq(tern_stack_pool_cached(p), 64, "max_cached caps the free list");

    /* Run them one at a time: with LIFO reuse a single stack serves them all. */
    tern_coro *first = tern_coro_new(p, count_twice, &hits);
    uintptr_t first_stack = (uintptr_t)first->stack;
    tern_coro_resume(first);
    tern_coro_resume(first);
    tern_coro_free(first);
    for (int i = 0; i < MANY; i++) {
        tern_coro *co = tern_coro_new(p, count_twice, &hits);
        cr_assert_eq((uintptr_t)co->stack, first_stack, "iteration %d got another stack", i);
        tern_coro_resume(co);
        tern_coro_resume(co);
        tern_coro_free(co);
    }
    cr_assert_eq(tern_stack_pool_live(p), 0);
    tern_stack_pool_free(p);
}

static void nothing(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
}

Test(coro, free_list_is_lifo)
{
    tern_coro *x = tern_coro_new(pool, nothing, NULL);
    tern_coro *y = tern_coro_new(pool, nothing, NULL);
    uintptr_t sx = (uintptr_t)x->stack, sy = (uintptr_t)y->stack;
    cr_assert_neq(sx, sy);
    tern_coro_free(x); /* never resumed: allowed */
    tern_coro_resume(y);
    tern_coro_free(y);
    tern_coro *a = tern_coro_new(pool, nothing, NULL);
    tern_coro *b = tern_coro_new(pool, nothing, NULL);
    cr_assert_eq((uintptr_t)a->stack, sy, "the last stack returned comes back first");
    cr_assert_eq((uintptr_t)b->stack, sx);
    tern_coro_free(a);
    tern_coro_free(b);
}

Test(coro, stack_size_rounded_and_struct_on_top)
{
    long page = sysconf(_SC_PAGESIZE);
    tern_stack_pool *p = tern_stack_pool_new(1000, 0, 0);
    size_t sz = tern_stack_pool_stack_size(p);
#ifdef TEST_ASAN
    cr_assert_geq(sz, 4000u);
#else
    cr_assert_geq(sz, 1000u);
    cr_assert_eq(sz, (size_t)page, "1000 bytes round up to one page");
#endif
    cr_assert_eq(sz % (size_t)page, 0);
    tern_coro *co = tern_coro_new(p, nothing, NULL);
    cr_assert_eq(co->stack->size, sz);
    char *lo = co->stack->lo, *hi = lo + co->stack->size;
    cr_assert((char *)co > lo && (char *)(co + 1) <= hi, "the struct sits inside the region");
    cr_assert_lt((size_t)(hi - (char *)co), 256u, "... at its top");
    lo[0] = 1; /* the whole usable range is writable */
    tern_coro_free(co);
    tern_stack_pool_free(p);
}

/* ---- caps ---- */

Test(coro, max_live_cap_gives_eagain)
{
    tern_stack_pool *p = tern_stack_pool_new(16 * 1024, 0, 3);
    tern_coro *c[3];
    for (int i = 0; i < 3; i++)
        cr_assert_not_null(c[i] = tern_coro_new(p, nothing, NULL));
    errno = 0;
    tern_set_errmsg("%s", "");
    cr_assert_null(tern_coro_new(p, nothing, NULL));
    cr_assert_eq(errno, EAGAIN);
    cr_assert_str_not_empty(tern_errmsg());
    tern_coro_free(c[1]);
    tern_coro *again = tern_coro_new(p, nothing, NULL);
    cr_assert_not_null(again, "a freed slot can be used again");
    tern_coro_free(again);
    tern_coro_free(c[0]);
    tern_coro_free(c[2]);
    cr_assert_eq(tern_stack_pool_live(p), 0);
    tern_stack_pool_free(p);
}

/* ---- register and floating-point state ---- */

static uint64_t co_in[NREGS], co_out[NREGS];

static void regs_body(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
    test_regs_yield(co_in, co_out, tern_coro_yield);
}

Test(coro, callee_saved_registers_survive_switches)
{
    uint64_t main_in[NREGS], main_out[NREGS];
    for (int i = 0; i < NREGS; i++) {
        main_in[i] = 0x1111111111111111ull * (uint64_t)(i % 15 + 1) ^ 0x0123456789abcdefull;
        co_in[i] = ~main_in[i];
    }
    memset(main_out, 0, sizeof main_out);
    memset(co_out, 0, sizeof co_out);
    tern_coro *co = tern_coro_new(pool, regs_body, NULL);
    /* Runs until the body's yield, then until it returns. */
    test_regs_resume(co, main_in, main_out, tern_coro_resume);
    cr_assert_arr_eq(main_out, main_in, sizeof main_in, "main's registers after a yield");
    test_regs_resume(co, main_in, main_out, tern_coro_resume);
    cr_assert_arr_eq(co_out, co_in, sizeof co_in, "the coroutine's registers after resume");
    cr_assert_arr_eq(main_out, main_in, sizeof main_in, "main's registers after the end");
    cr_assert_eq(co->state, TERN_CORO_DONE);
    tern_coro_free(co);
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

Test(coro, doubles_survive_a_yield)
{
    double got[8], want[8];
    volatile double seed = 1.0, sink = 0;
    double a = seed / 3.0, b = seed * 2.5, c = seed / 7.0, d = seed * 1e-3;
    want[0] = a, want[1] = b, want[2] = c, want[3] = d;
    want[4] = a * b + c, want[5] = d - a, want[6] = b * b * c, want[7] = want[4] / want[5];
    tern_coro *co = tern_coro_new(pool, fp_body, got);
    tern_coro *noise = tern_coro_new(pool, fp_noise, (void *)&sink);
    tern_coro_resume(co);
    tern_coro_resume(noise);
    tern_coro_resume(co);
    tern_coro_resume(noise);
    volatile double n = 123.456;
    double noise_want = n * 3 * (n * 5) + n * 7 * (n * 11) + n * 13 * (n * 17) + n * 19 * (n * 23);
    cr_assert_eq(sink, noise_want, "the other coroutine's doubles: %a != %a", sink, noise_want);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(got[i], want[i], "double %d: %a != %a", i, got[i], want[i]);
    tern_coro_free(co);
    tern_coro_free(noise);
}

#if defined(__x86_64__)
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

static unsigned rc_seen[4];

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

Test(coro, fp_control_state_does_not_leak)
{
    unsigned mxcsr0 = __builtin_ia32_stmxcsr(), cw0 = x87_cw();
    cr_assert_eq(mxcsr0 & MXCSR_RC_MASK, 0, "test expects round-to-nearest to start with");
    tern_coro *co = tern_coro_new(pool, round_up_body, NULL);
    tern_coro_resume(co);
    cr_assert_eq(__builtin_ia32_stmxcsr(), mxcsr0, "MXCSR leaked out of the coroutine");
    cr_assert_eq(x87_cw(), cw0, "x87 control word leaked out of the coroutine");
    tern_coro_resume(co);
    cr_assert_eq(rc_seen[0], MXCSR_RC_UP, "the coroutine lost its MXCSR rounding mode");
    cr_assert_eq(rc_seen[1], X87_RC_UP, "the coroutine lost its x87 rounding mode");
    cr_assert_eq(__builtin_ia32_stmxcsr(), mxcsr0);
    tern_coro_free(co);
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
#ifdef TEST_ASAN
    stack_floor = (uintptr_t)co->stack->lo + 8192;
#else
    stack_floor = (uintptr_t)co->stack->lo + 2048;
#endif
    deep_result = recurse_until(stack_floor, 1);
}

Test(coro, deep_legal_recursion_uses_the_whole_stack)
{
    tern_coro *co = tern_coro_new(pool, deep_body, NULL);
    tern_coro_resume(co);
    cr_assert_eq(co->state, TERN_CORO_DONE);
    cr_assert_leq(deepest, stack_floor, "stopped %zu bytes above the floor",
                  (size_t)(deepest - stack_floor));
    /* Frames take at most a few hundred bytes of the real stack (200 for buf plus
     * linkage, more with ASan's redzones), so reaching the floor takes hundreds. */
    size_t min_frames = (tern_stack_pool_stack_size(pool) - 8192) / 1024;
    cr_assert_gt(deep_result, (long)min_frames, "only %ld frames deep", deep_result);
    tern_coro_free(co);
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

/* Forks a child that overflows a coroutine's stack. With a handler, the child reports
 * through its exit code whether the fault was in the guard page. The child's stderr
 * goes to errbuf. */
static int run_overflow_child(bool with_handler, char *errbuf, size_t errlen)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        tern_stack_pool *p = tern_stack_pool_new(64 * 1024, 0, 0);
        overflowing = coro_over_sentinel(p);
        if (!overflowing)
            _exit(5);
        if (with_handler) {
            static char altstack[64 * 1024];
            stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
            sigaltstack(&ss, NULL);
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = guard_handler;
            sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
            sigaction(SIGSEGV, &sa, NULL);
        } else {
#ifndef TEST_ASAN /* under ASan its own handler must see the fault */
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
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

Test(coro, stack_overflow_hits_the_guard_page)
{
    static char err[1 << 16];
    int status = run_overflow_child(false, err, sizeof err);
#ifdef TEST_ASAN
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0,
              "child should exit non-zero through ASan, status %#x", status);
    cr_assert_not_null(strstr(err, "stack-overflow"), "no ASan stack-overflow report:\n%s", err);
#else
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
              "child should die by SIGSEGV, status %#x", status);
#endif
}

Test(coro, guard_hit_identifies_the_fault)
{
    static char err[1 << 16];
    int status = run_overflow_child(true, err, sizeof err);
    cr_assert(WIFEXITED(status), "child status %#x\n%s", status, err);
    cr_assert_eq(WEXITSTATUS(status), 42, "fault address not in the guard page (%d)\n%s",
                 WEXITSTATUS(status), err);
}

Test(coro, guard_hit_bounds)
{
    tern_coro *co = tern_coro_new(pool, nothing, NULL);
    char *lo = co->stack->lo;
    long page = sysconf(_SC_PAGESIZE);
    cr_assert(tern_coro_guard_hit(co, lo - 1));
    cr_assert(tern_coro_guard_hit(co, lo - page));
    cr_assert_not(tern_coro_guard_hit(co, lo));
    cr_assert_not(tern_coro_guard_hit(co, lo - page - 1));
    cr_assert_not(tern_coro_guard_hit(co, (char *)co));
    tern_coro_free(co);
}
