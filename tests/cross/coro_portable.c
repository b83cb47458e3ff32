/* tests/cross/coro_portable.c - the coroutine core's checks as a plain C program (no
 * Criterion), so they run on any architecture tern supports, under qemu-user too
 * (see run_aarch64.sh). Prints one line per check, then "N passed, M failed"; exits
 * 0 only when every check passed. tests/unit/test_coro.c holds the Criterion twin. */
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
#include "coro.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* ---- a minimal harness ---- */

static int passed, failed;
static char why[256]; /* first failure of the running check */

/* Records a failure (the first one wins) and returns from the check. */
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(why, sizeof why, __VA_ARGS__);                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void run(const char *name, void (*check)(void))
{
    why[0] = 0;
    check();
    if (why[0]) {
        failed++;
        printf("FAIL %s: %s\n", name, why);
    } else {
        passed++;
        printf("ok   %s\n", name);
    }
    fflush(stdout);
}

/* ---- register helpers (as in test_coro.c): load every callee-saved register from
 * in[], call the resume or yield passed in, store the registers to out[] ---- */
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

static tern_stack_pool *pool; /* 64 KiB stacks, 16 cached, no live cap */

/* ---- bodies ---- */

static int trace[16], ntrace;

static void ping(tern_coro *co, void *arg)
{
    int base = *(int *)arg;
    (void)co;
    trace[ntrace++] = base;
    tern_coro_yield();
    trace[ntrace++] = base + 1;
}

static void nothing(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
}

static tern_coro *seen_current;

static void note_current(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
    seen_current = tern_coro_current();
}

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

static void count_twice(tern_coro *co, void *arg)
{
    int *hits = arg;
    if (tern_coro_current() == co)
        (*hits)++;
    tern_coro_yield();
    (*hits)++;
}

/* ---- checks ---- */

static void check_ping_pong(void)
{
    int a = 1, b = 3;
    ntrace = 0;
    tern_coro *ca = tern_coro_new(pool, ping, &a);
    tern_coro *cb = tern_coro_new(pool, ping, &b);
    EXPECT(ca && cb, "tern_coro_new: %s", tern_errmsg());
    tern_coro_resume(ca);
    tern_coro_resume(cb);
    bool suspended = ca->state == TERN_CORO_SUSPENDED && cb->state == TERN_CORO_SUSPENDED;
    tern_coro_resume(ca);
    tern_coro_resume(cb);
    bool done = ca->state == TERN_CORO_DONE && cb->state == TERN_CORO_DONE;
    tern_coro_free(ca);
    tern_coro_free(cb);
    EXPECT(suspended, "not suspended after the first yield");
    EXPECT(done, "not done after returning");
    EXPECT(ntrace == 4 && trace[0] == 1 && trace[1] == 3 && trace[2] == 2 && trace[3] == 4,
           "order %d,%d,%d,%d (%d entries), want 1,3,2,4", trace[0], trace[1], trace[2], trace[3],
           ntrace);
}

static void check_current(void)
{
    EXPECT(tern_coro_current() == NULL, "current is set on the main stack");
    tern_coro *co = tern_coro_new(pool, note_current, NULL);
    EXPECT(co, "tern_coro_new: %s", tern_errmsg());
    tern_coro_resume(co);
    tern_coro_free(co);
    EXPECT(seen_current == co, "tern_coro_current() inside was %p, want %p", (void *)seen_current,
           (void *)co);
    EXPECT(tern_coro_current() == NULL, "current still set after the coroutine returned");
}

static void check_generator(void)
{
    static const long want[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89};
    struct gen g = {.value = -1, .count = 12};
    tern_coro *co = tern_coro_new(pool, fib_gen, &g);
    EXPECT(co, "tern_coro_new: %s", tern_errmsg());
    int n = 0;
    bool right = true;
    for (;;) {
        tern_coro_resume(co);
        if (co->state == TERN_CORO_DONE || n >= 16)
            break;
        right = right && n < 12 && g.value == want[n];
        n++;
    }
    tern_coro_free(co);
    EXPECT(n == 12, "%d values, want 12", n);
    EXPECT(right, "wrong values");
}

#define MANY 10000

static void check_ten_thousand(void)
{
    tern_stack_pool *p = tern_stack_pool_new(16 * 1024, 64, 0);
    static tern_coro *cos[MANY];
    int hits = 0, created = 0;
    for (int i = 0; i < MANY; i++) {
        if (!(cos[i] = tern_coro_new(p, count_twice, &hits)))
            break;
        created++;
    }
    size_t live = tern_stack_pool_live(p);
    for (int i = 0; i < created; i++)
        tern_coro_resume(cos[i]);
    int after_first = hits;
    for (int i = created - 1; i >= 0; i--)
        tern_coro_resume(cos[i]);
    bool all_done = true;
    for (int i = 0; i < created; i++) {
        all_done = all_done && cos[i]->state == TERN_CORO_DONE;
        tern_coro_free(cos[i]);
    }
    size_t live_after = tern_stack_pool_live(p), cached = tern_stack_pool_cached(p);

    /* One at a time: LIFO reuse gives every one of them the same, warm stack. */
    tern_coro *first = tern_coro_new(p, count_twice, &hits);
    uintptr_t first_stack = first ? (uintptr_t)first->stack : 0;
    int other_stack = 0;
    if (first) {
        tern_coro_resume(first);
        tern_coro_resume(first);
        tern_coro_free(first);
        for (int i = 0; i < MANY; i++) {
            tern_coro *co = tern_coro_new(p, count_twice, &hits);
            if (!co) {
                other_stack++;
                continue;
            }
            other_stack += (uintptr_t)co->stack != first_stack;
            tern_coro_resume(co);
            tern_coro_resume(co);
            tern_coro_free(co);
        }
    }
    size_t live_end = tern_stack_pool_live(p);
    tern_stack_pool_free(p);

    EXPECT(created == MANY, "only %d created: %s", created, tern_errmsg());
    EXPECT(live == MANY, "live %zu, want %d", live, MANY);
    EXPECT(after_first == MANY, "%d saw themselves as current", after_first);
    EXPECT(all_done && hits == 2 * MANY + 2 + 2 * MANY, "not all ran to the end (%d hits)", hits);
    EXPECT(live_after == 0 && live_end == 0, "live %zu / %zu after freeing", live_after, live_end);
    EXPECT(cached == 64, "cached %zu, want max_cached 64", cached);
    EXPECT(first && other_stack == 0, "%d of %d did not reuse the last stack", other_stack, MANY);
}

static void check_lifo(void)
{
    tern_coro *x = tern_coro_new(pool, nothing, NULL);
    tern_coro *y = tern_coro_new(pool, nothing, NULL);
    EXPECT(x && y, "tern_coro_new: %s", tern_errmsg());
    uintptr_t sx = (uintptr_t)x->stack, sy = (uintptr_t)y->stack;
    tern_coro_free(x);
    tern_coro_resume(y);
    tern_coro_free(y);
    tern_coro *a = tern_coro_new(pool, nothing, NULL);
    tern_coro *b = tern_coro_new(pool, nothing, NULL);
    uintptr_t sa = a ? (uintptr_t)a->stack : 0, sb = b ? (uintptr_t)b->stack : 0;
    tern_coro_free(a);
    tern_coro_free(b);
    EXPECT(sx != sy, "two live coroutines share a stack");
    EXPECT(sa == sy && sb == sx, "free list is not last-in, first-out");
}

static void check_sizes(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    tern_stack_pool *p = tern_stack_pool_new(1000, 0, 0);
    size_t sz = tern_stack_pool_stack_size(p);
    tern_coro *co = tern_coro_new(p, nothing, NULL);
    char *lo = co ? co->stack->lo : NULL, *hi = co ? lo + co->stack->size : NULL;
    bool inside = co && (char *)co > lo && (char *)(co + 1) <= hi && hi - (char *)co < 256;
    bool same_size = co && co->stack->size == sz;
    if (co)
        lo[0] = 1; /* the whole usable range is writable */
    tern_coro_free(co);
    tern_stack_pool_free(p);
    EXPECT(sz % page == 0, "size %zu is not a page multiple", sz);
#ifdef TEST_ASAN
    EXPECT(sz >= 4000, "size %zu, want 4x under ASan", sz);
#else
    EXPECT(sz == page, "1000 bytes gave %zu, want one page", sz);
#endif
    EXPECT(inside, "the struct is not at the top of its stack");
    EXPECT(same_size, "the stack's size differs from the pool's");
}

static void check_max_live(void)
{
    tern_stack_pool *p = tern_stack_pool_new(16 * 1024, 0, 3);
    tern_coro *c[3];
    int made = 0;
    for (int i = 0; i < 3; i++)
        made += (c[i] = tern_coro_new(p, nothing, NULL)) != NULL;
    errno = 0;
    tern_set_errmsg("%s", "");
    tern_coro *over = tern_coro_new(p, nothing, NULL);
    int err = errno;
    bool msg = tern_errmsg()[0] != 0;
    tern_coro_free(c[1]);
    tern_coro *again = tern_coro_new(p, nothing, NULL);
    bool reused = again != NULL;
    tern_coro_free(again);
    tern_coro_free(c[0]);
    tern_coro_free(c[2]);
    if (over) /* only when the cap failed: keep the pool's books straight */
        tern_coro_free(over);
    size_t live = tern_stack_pool_live(p);
    tern_stack_pool_free(p);
    EXPECT(made == 3, "only %d of 3 under the cap", made);
    EXPECT(!over && err == EAGAIN, "over the cap: %p, errno %d (want NULL, EAGAIN)", (void *)over,
           err);
    EXPECT(msg, "no tern_errmsg() for the cap");
    EXPECT(reused && live == 0, "a freed slot was not usable again");
}

static uint64_t co_in[NREGS], co_out[NREGS];

static void regs_body(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
    test_regs_yield(co_in, co_out, tern_coro_yield);
}

static void check_registers(void)
{
    uint64_t main_in[NREGS], out1[NREGS], out2[NREGS];
    for (int i = 0; i < NREGS; i++) {
        main_in[i] = 0x1111111111111111ull * (uint64_t)(i % 15 + 1) ^ 0x0123456789abcdefull;
        co_in[i] = ~main_in[i];
    }
    memset(co_out, 0, sizeof co_out);
    tern_coro *co = tern_coro_new(pool, regs_body, NULL);
    EXPECT(co, "tern_coro_new: %s", tern_errmsg());
    test_regs_resume(co, main_in, out1, tern_coro_resume);
    test_regs_resume(co, main_in, out2, tern_coro_resume);
    tern_coro_free(co);
    for (int i = 0; i < NREGS; i++) {
        EXPECT(out1[i] == main_in[i], "main's register %d lost at a yield", i);
        EXPECT(co_out[i] == co_in[i], "the coroutine's register %d lost at a resume", i);
        EXPECT(out2[i] == main_in[i], "main's register %d lost at the end", i);
    }
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

static void check_doubles(void)
{
    double got[8], want[8];
    volatile double seed = 1.0, sink = 0;
    double a = seed / 3.0, b = seed * 2.5, c = seed / 7.0, d = seed * 1e-3;
    want[0] = a, want[1] = b, want[2] = c, want[3] = d;
    want[4] = a * b + c, want[5] = d - a, want[6] = b * b * c, want[7] = want[4] / want[5];
    tern_coro *co = tern_coro_new(pool, fp_body, got);
    tern_coro *noise = tern_coro_new(pool, fp_noise, (void *)&sink);
    EXPECT(co && noise, "tern_coro_new: %s", tern_errmsg());
    tern_coro_resume(co);
    tern_coro_resume(noise);
    tern_coro_resume(co);
    tern_coro_resume(noise);
    tern_coro_free(co);
    tern_coro_free(noise);
    for (int i = 0; i < 8; i++)
        EXPECT(got[i] == want[i], "double %d: %a, want %a", i, got[i], want[i]);
    volatile double n = 123.456;
    double noise_want = n * 3 * (n * 5) + n * 7 * (n * 11) + n * 13 * (n * 17) + n * 19 * (n * 23);
    EXPECT(sink == noise_want, "the other coroutine's doubles: %a, want %a", sink, noise_want);
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

static void check_fp_control(void)
{
    unsigned mxcsr0 = __builtin_ia32_stmxcsr(), cw0 = x87_cw();
    tern_coro *co = tern_coro_new(pool, round_up_body, NULL);
    EXPECT(co, "tern_coro_new: %s", tern_errmsg());
    tern_coro_resume(co);
    unsigned mxcsr1 = __builtin_ia32_stmxcsr(), cw1 = x87_cw();
    tern_coro_resume(co);
    tern_coro_free(co);
    EXPECT(mxcsr1 == mxcsr0, "MXCSR leaked: %#x, was %#x", mxcsr1, mxcsr0);
    EXPECT(cw1 == cw0, "x87 control word leaked: %#x, was %#x", cw1, cw0);
    EXPECT(rc_seen[0] == MXCSR_RC_UP, "the coroutine lost its MXCSR rounding mode");
    EXPECT(rc_seen[1] == X87_RC_UP, "the coroutine lost its x87 rounding mode");
}
#endif

static volatile int keep_recursing = 1;
static uintptr_t stack_floor, deepest;

/* Returns the depth reached, or -1 when a frame's bytes changed while deeper frames
 * ran. */
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
#ifdef TEST_ASAN
    stack_floor = (uintptr_t)co->stack->lo + 8192;
#else
    stack_floor = (uintptr_t)co->stack->lo + 2048;
#endif
    deep_result = recurse_until(stack_floor, 1);
}

static void check_deep_recursion(void)
{
    tern_coro *co = tern_coro_new(pool, deep_body, NULL);
    EXPECT(co, "tern_coro_new: %s", tern_errmsg());
    tern_coro_resume(co);
    bool done = co->state == TERN_CORO_DONE;
    tern_coro_free(co);
    size_t size = tern_stack_pool_stack_size(pool);
    EXPECT(done, "not done");
    EXPECT(deepest <= stack_floor, "stopped %zu bytes above the floor",
           (size_t)(deepest - stack_floor));
    EXPECT(deep_result > (long)((size - 8192) / 1024), "%ld frames deep for a %zu-byte stack",
           deep_result, size);
}

static uintptr_t beyond_stack;

/* No bound of its own: stops only far below the stack, which a guard page prevents. */
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
 * wait status, -1 when fork or pipe failed. */
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
        overflowing = coro_over_sentinel(p);
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
#ifndef TEST_ASAN /* under ASan its own handler must see the fault */
            signal(SIGSEGV, SIG_DFL);
#endif
        }
        tern_coro_resume(overflowing);
        _exit(0); /* only without a guard page */
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

static void check_overflow_dies(void)
{
    static char err[1 << 16];
    int status = run_overflow_child(false, err, sizeof err);
    EXPECT(status != -1, "fork failed");
#ifdef TEST_ASAN
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) != 0, "child status %#x, want an ASan exit",
           status);
    EXPECT(strstr(err, "stack-overflow"), "no ASan stack-overflow report");
#else
    EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
           "child status %#x, want death by SIGSEGV", status);
#endif
}

static void check_overflow_in_guard(void)
{
    static char err[1 << 16];
    int status = run_overflow_child(true, err, sizeof err);
    EXPECT(status != -1, "fork failed");
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 42,
           "child status %#x: the fault was not reported in the guard page", status);
}

static void check_guard_bounds(void)
{
    tern_coro *co = tern_coro_new(pool, nothing, NULL);
    EXPECT(co, "tern_coro_new: %s", tern_errmsg());
    char *lo = co->stack->lo;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    bool ok = tern_coro_guard_hit(co, lo - 1) && tern_coro_guard_hit(co, lo - page) &&
              !tern_coro_guard_hit(co, lo) && !tern_coro_guard_hit(co, lo - page - 1) &&
              !tern_coro_guard_hit(co, co);
    tern_coro_free(co);
    EXPECT(ok, "tern_coro_guard_hit has the wrong bounds");
}

int main(void)
{
#if defined(__x86_64__)
    printf("# tern coroutine core on x86-64\n");
#else
    printf("# tern coroutine core on aarch64\n");
#endif
    pool = tern_stack_pool_new(64 * 1024, 16, 0);
    if (!pool) {
        printf("FAIL pool: %s\n0 passed, 1 failed\n", tern_errmsg());
        return 1;
    }
    run("ping_pong_interleaves", check_ping_pong);
    run("current_is_the_running_coroutine", check_current);
    run("generator_yields_values", check_generator);
    run("ten_thousand_created_run_freed", check_ten_thousand);
    run("free_list_is_lifo", check_lifo);
    run("stack_size_rounded_and_struct_on_top", check_sizes);
    run("max_live_cap_gives_eagain", check_max_live);
    run("callee_saved_registers_survive_switches", check_registers);
    run("doubles_survive_a_yield", check_doubles);
#if defined(__x86_64__)
    run("fp_control_state_does_not_leak", check_fp_control);
#endif
    run("deep_legal_recursion_uses_the_whole_stack", check_deep_recursion);
    run("stack_overflow_hits_the_guard_page", check_overflow_dies);
    run("guard_hit_identifies_the_fault", check_overflow_in_guard);
    run("guard_hit_bounds", check_guard_bounds);
    if (tern_stack_pool_live(pool) != 0) {
        failed++;
        printf("FAIL stacks_all_returned: %zu still live\n", tern_stack_pool_live(pool));
    }
    tern_stack_pool_free(pool);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
