/* server/stack_guard.c - what a coroutine stack overflow looks like to an operator.
 *
 * A handler that recurses too deeply, or puts a large array on its stack, runs into the
 * PROT_NONE guard page below its coroutine stack (stack_pool.c) and faults. Without
 * this file the process dies with a bare "Segmentation fault". With it, the fault is
 * recognised and one line names the route and coroutine.stack_bytes before the
 * process goes down.
 *
 * Why the process still goes down: the fault stops the handler at an arbitrary
 * instruction, possibly inside malloc (holding its lock), jansson or h2o, with
 * half-updated state that every worker shares (the heap). Jumping out of the signal
 * handler would skip the frames that restore that state, so neither the worker nor
 * the process could be trusted afterwards. The fault therefore continues with the
 * disposition it had before us: by default the kernel kills the process with SIGSEGV
 * (a core dump where enabled, a non-zero status for the supervisor, which restarts
 * it); under AddressSanitizer, ASan's own handler follows with its stack-overflow
 * report. Faults that are not a coroutine overflow go straight to that disposition.
 *
 * The handler runs on an alternate signal stack (per worker thread): the overflowing
 * stack has no room left for it. Everything it does is async-signal-safe: reads of
 * the faulting thread's own records, string copies into a local buffer, write(2). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "tern/error.h"
#include "coro.h"
#include "request.h"
#include "scheduler.h"
#include "stack_guard.h"

/* Room for this handler and, under ASan, the report ASan's handler prints from it. */
#define ALTSTACK_BYTES (256 * 1024)
/* A frame larger than the guard page can jump past it: a stack pointer this far below
 * a coroutine stack still counts as an overflow of that stack. */
#define OVERFLOW_REACH TERN_STACK_GUARD_REACH

static struct sigaction previous[2]; /* SIGSEGV, SIGBUS before ours */
static size_t configured_stack_bytes;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int install_error;

static __thread void *own_altstack; /* the alternate stack this file mapped for the thread */

/* ---- the message ---------------------------------------------------------------- */

typedef struct out {
    char *buf;
    size_t n, len;
} out;

static void put(out *o, const char *s)
{
    while (*s && o->len + 1 < o->n)
        o->buf[o->len++] = *s++;
    o->buf[o->len] = '\0';
}

static void put_size(out *o, size_t v)
{
    char digits[24];
    size_t i = sizeof digits;
    digits[--i] = '\0';
    do
        digits[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i);
    put(o, digits + i);
}

size_t tern__stack_guard_message(char *buf, size_t n, const char *method, const char *pattern,
                                 size_t stack_bytes)
{
    out o = {buf, n, 0};
    if (!n)
        return 0;
    buf[0] = '\0';
    put(&o, "tern: stack overflow in ");
    if (pattern) {
        put(&o, "route ");
        put(&o, method ? method : "?");
        put(&o, " ");
        put(&o, pattern);
    } else {
        put(&o, "a coroutine that serves no request (a start hook or task)");
    }
    put(&o, ": its coroutine stack (coroutine.stack_bytes = ");
    put_size(&o, stack_bytes);
    put(&o, ") is too small; raise coroutine.stack_bytes (TERN_COROUTINE_STACK_BYTES, "
            "--coroutine.stack_bytes) or move large buffers off the stack. The process stops.\n");
    return o.len;
}

/* ---- the handler ----------------------------------------------------------------- */

static uintptr_t context_sp(const void *ctx)
{
    const ucontext_t *uc = ctx;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    return UINTPTR_MAX;
#endif
}

bool tern__stack_guard_overflowed(const tern_coro *co, const void *addr, uintptr_t sp)
{
    uintptr_t lo = (uintptr_t)co->stack->lo, a = (uintptr_t)addr;
    if (tern_coro_guard_hit(co, addr))
        return true;
    return sp < lo && lo - sp <= OVERFLOW_REACH && a < lo && lo - a <= OVERFLOW_REACH;
}

static void report(const tern_coro *co)
{
    const tern_task *t = co->udata;
    const tern_req *req = t && t->scope && t->scope->is_request ? t->scope->udata : NULL;
    const tern_route_rec *route = req ? req->route : NULL;
    char line[512];
    size_t len = tern__stack_guard_message(line, sizeof line,
                                           route ? tern_method_name(route->method) : NULL,
                                           route ? route->pattern : NULL, configured_stack_bytes);
    for (size_t done = 0; done < len;) {
        ssize_t w = write(STDERR_FILENO, line + done, len - done);
        if (w > 0)
            done += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else
            break;
    }
}

/* Hands the signal to the disposition that was there before us. */
static void pass_on(int sig, siginfo_t *si, void *ctx)
{
    const struct sigaction *old = &previous[sig == SIGBUS];
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        old->sa_sigaction(sig, si, ctx);
        return;
    }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* The default: returning re-runs the faulting instruction, which now kills the
     * process with the right signal and a core. A signal sent with kill() would not
     * come back by itself: send it again (it stays blocked until we return). */
    signal(sig, SIG_DFL);
    if (si->si_code <= 0)
        raise(sig);
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    int saved = errno;
    tern_coro *co = tern_coro_current();
    if (co && si->si_code > 0 && tern__stack_guard_overflowed(co, si->si_addr, context_sp(ctx)))
        report(co);
    errno = saved;
    pass_on(sig, si, ctx);
}

/* ---- installation ---------------------------------------------------------------- */

static void install_once(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &previous[0]) != 0 || sigaction(SIGBUS, &sa, &previous[1]) != 0)
        install_error = errno;
}

int tern__stack_guard_install(size_t stack_bytes)
{
    configured_stack_bytes = stack_bytes;
    pthread_once(&once, install_once);
    if (install_error) {
        tern_set_errmsg("cannot install the stack overflow handler: %s", strerror(install_error));
        return -install_error;
    }
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
        return 0; /* the thread has one (AddressSanitizer gives each thread its own) */
    void *mem = mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (mem == MAP_FAILED) {
        tern_set_errmsg("cannot map an alternate signal stack: %s", strerror(errno));
        return TERN_ENOMEM;
    }
    stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_BYTES, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        int e = errno;
        munmap(mem, ALTSTACK_BYTES);
        tern_set_errmsg("sigaltstack: %s", strerror(e));
        return -e;
    }
    own_altstack = mem;
    return 0;
}

void tern__stack_guard_thread_done(void)
{
    if (!own_altstack)
        return;
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    munmap(own_altstack, ALTSTACK_BYTES);
    own_altstack = NULL;
}
