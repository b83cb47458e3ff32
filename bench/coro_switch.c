/* bench/coro_switch.c - times one resume+yield pair of tern's coroutine switch and, for
 * comparison, one pair of ucontext's swapcontext calls (which also make two
 * sigprocmask system calls each way). Prints the median of several runs. Time is the
 * thread's CPU time (user + system), so a busy machine that preempts the benchmark
 * does not inflate it; cache and predictor sharing still can.
 *
 *   coro-switch-bench [tern_pairs [swapcontext_pairs [runs]]]
 *   defaults: 10000000 pairs, 1000000 pairs, 7 runs */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

#include "tern/error.h"
#include "coro.h"

#define MAX_RUNS 101

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- tern ---- */

static volatile int tern_stop;

static void tern_spin(tern_coro *co, void *arg)
{
    (void)co;
    (void)arg;
    while (!tern_stop)
        tern_coro_yield();
}

static double time_tern(tern_coro *co, long pairs)
{
    double t0 = now_ns();
    for (long i = 0; i < pairs; i++)
        tern_coro_resume(co);
    return (now_ns() - t0) / (double)pairs;
}

/* ---- ucontext ---- */

static ucontext_t uc_main, uc_co;
static volatile int uc_stop;

static void uc_spin(void)
{
    while (!uc_stop)
        swapcontext(&uc_co, &uc_main);
}

static double time_ucontext(long pairs)
{
    double t0 = now_ns();
    for (long i = 0; i < pairs; i++)
        swapcontext(&uc_main, &uc_co);
    return (now_ns() - t0) / (double)pairs;
}

/* getcontext returns twice: kept in a function of its own, away from main's locals. */
__attribute__((noinline)) static void uc_prepare(void)
{
    static char uc_stack[64 * 1024];
    getcontext(&uc_co);
    uc_co.uc_stack.ss_sp = uc_stack;
    uc_co.uc_stack.ss_size = sizeof uc_stack;
    uc_co.uc_link = &uc_main;
    makecontext(&uc_co, uc_spin, 0);
}

static long arg_or(int argc, char **argv, int i, long def)
{
    if (argc <= i)
        return def;
    long v = strtol(argv[i], NULL, 10);
    return v > 0 ? v : def;
}

int main(int argc, char **argv)
{
    long tern_pairs = arg_or(argc, argv, 1, 10000000);
    long uc_pairs = arg_or(argc, argv, 2, 1000000);
    int runs = (int)arg_or(argc, argv, 3, 7);
    if (runs > MAX_RUNS)
        runs = MAX_RUNS;
    double samples[MAX_RUNS];

    tern_stack_pool *pool = tern_stack_pool_new(64 * 1024, 1, 1);
    tern_coro *co = pool ? tern_coro_new(pool, tern_spin, NULL) : NULL;
    if (!co) {
        fprintf(stderr, "coro-switch-bench: %s\n", tern_errmsg());
        return 1;
    }
    time_tern(co, tern_pairs / 10 + 1); /* warm up caches and branch predictors */
    for (int r = 0; r < runs; r++)
        samples[r] = time_tern(co, tern_pairs);
    double tern_ns = median(samples, runs);
    tern_stop = 1;
    tern_coro_resume(co); /* lets the body return, so the coroutine can be freed */
    tern_coro_free(co);
    tern_stack_pool_free(pool);

    uc_prepare();
    time_ucontext(uc_pairs / 10 + 1);
    for (int r = 0; r < runs; r++)
        samples[r] = time_ucontext(uc_pairs);
    double uc_ns = median(samples, runs);
    uc_stop = 1;
    swapcontext(&uc_main, &uc_co); /* uc_spin returns to uc_main through uc_link */

    printf("tern resume+yield:   %8.1f ns per pair (median of %d runs x %ld pairs)\n", tern_ns,
           runs, tern_pairs);
    printf("swapcontext pair:    %8.1f ns per pair (median of %d runs x %ld pairs)\n", uc_ns, runs,
           uc_pairs);
    printf("swapcontext / tern:  %8.1fx\n", uc_ns / tern_ns);
    return 0;
}
