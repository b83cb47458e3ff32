/* tests/cross/coro_portable.c - the coroutine core's checks as a plain C program (no
 * Criterion), so they run on any architecture tern supports, under qemu-user too
 * (see run_aarch64.sh). Prints one line per check, then "N passed, M failed"; exits
 * 0 only when every check passed. The checks live in coro_cases.h, shared with the
 * Criterion harness tests/unit/test_coro.c; this file is their plain C harness. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/* ---- a minimal harness ---- */

static int passed, failed;
static bool failing;  /* the running check failed */
static char why[256]; /* and why */

/* Keeps the start of a failure's message (through vsnprintf: cutting it short is
 * meant, and gcc's -Wformat-truncation would object to snprintf). */
__attribute__((format(printf, 1, 2))) static void record_failure(const char *fmt, ...)
{
    va_list ap;
    failing = true;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
}

/* Records a failure and returns from the check, so the first failure is the one shown. */
#define CORO_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            record_failure(__VA_ARGS__);                                                           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#include "coro_cases.h"

static void run(const char *name, void (*check)(void))
{
    failing = false;
    why[0] = 0;
    check();
    if (failing) {
        failed++;
        printf("FAIL %s: %s\n", name, why);
    } else {
        passed++;
        printf("ok   %s\n", name);
    }
    fflush(stdout);
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
    run("ping_pong_interleaves", coro_case_ping_pong);
    run("current_is_the_running_coroutine", coro_case_current_and_udata);
    run("generator_yields_values", coro_case_generator);
    run("ten_thousand_created_run_freed", coro_case_ten_thousand);
    run("free_list_is_lifo", coro_case_lifo);
    run("stack_size_rounded_and_struct_on_top", coro_case_sizes);
    run("max_live_cap_gives_eagain", coro_case_max_live);
    run("callee_saved_registers_survive_switches", coro_case_registers);
    run("doubles_survive_a_yield", coro_case_doubles);
#if defined(__x86_64__)
    run("fp_control_state_does_not_leak", coro_case_fp_control);
#endif
    run("deep_legal_recursion_uses_the_whole_stack", coro_case_deep_recursion);
    run("stack_overflow_hits_the_guard_page", coro_case_overflow_dies);
    run("guard_hit_identifies_the_fault", coro_case_overflow_in_guard);
    run("guard_hit_bounds", coro_case_guard_bounds);
    if (tern_stack_pool_live(pool) != 0) {
        failed++;
        printf("FAIL stacks_all_returned: %zu still live\n", tern_stack_pool_live(pool));
    }
    tern_stack_pool_free(pool);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
