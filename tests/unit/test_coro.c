/* tests/unit/test_coro.c - the coroutine core and its stack pool: switch order,
 * generators, stack reuse, register and floating-point state across switches, caps,
 * deep recursion, the guard page and the overflow report's rule. The checks live in tests/cross/coro_cases.h,
 * shared with tests/cross/coro_portable.c (no Criterion, and under qemu for aarch64);
 * this file is their Criterion harness. */
#include <criterion/criterion.h>

/* A failed check aborts the test with Criterion's assert (a longjmp: the cases call it
 * only on the main stack, never inside a coroutine). */
#define CORO_CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include "../cross/coro_cases.h"
#include "stack_guard.h"

static void setup(void)
{
    pool = tern_stack_pool_new(64 * 1024, 16, 0);
    cr_assert_not_null(pool, "tern_stack_pool_new: %s", tern_errmsg());
}

static void teardown(void)
{
    cr_assert_eq(tern_stack_pool_live(pool), 0, "a test leaked a stack");
    tern_stack_pool_free(pool);
}

TestSuite(coro, .init = setup, .fini = teardown);

/* clang-format off */
Test(coro, ping_pong_interleaves) { coro_case_ping_pong(); }
Test(coro, current_and_udata) { coro_case_current_and_udata(); }
Test(coro, generator_yields_values) { coro_case_generator(); }
Test(coro, ten_thousand_created_run_freed) { coro_case_ten_thousand(); }
Test(coro, free_list_is_lifo) { coro_case_lifo(); }
Test(coro, stack_size_rounded_and_struct_on_top) { coro_case_sizes(); }
Test(coro, max_live_cap_gives_eagain) { coro_case_max_live(); }
Test(coro, callee_saved_registers_survive_switches) { coro_case_registers(); }
Test(coro, doubles_survive_a_yield) { coro_case_doubles(); }
#if defined(__x86_64__)
Test(coro, fp_control_state_does_not_leak) { coro_case_fp_control(); }
#endif
Test(coro, deep_legal_recursion_uses_the_whole_stack) { coro_case_deep_recursion(); }
Test(coro, stack_overflow_hits_the_guard_page) { coro_case_overflow_dies(); }
Test(coro, guard_hit_identifies_the_fault) { coro_case_overflow_in_guard(); }
Test(coro, guard_hit_bounds) { coro_case_guard_bounds(); }
/* clang-format on */

/* The rule the SIGSEGV handler uses to call a fault a coroutine stack overflow
 * (server/stack_guard.c). Only the address arithmetic: the real fault is
 * tests/integration/test_stack_overflow.c. */
Test(coro, overflow_rule_of_the_fault_handler)
{
    tern_coro *co = tern_coro_new(pool, nothing, NULL);
    cr_assert_not_null(co);
    char *lo = co->stack->lo;
    uintptr_t page = (uintptr_t)getpagesize(), inside = (uintptr_t)lo + 4096;

    /* Into the guard page, whatever the stack pointer says. */
    cr_expect(tern__stack_guard_overflowed(co, lo - 1, inside));
    cr_expect(tern__stack_guard_overflowed(co, lo - page, (uintptr_t)lo - 8));
    /* One big frame jumped past the guard page: sp and the address both below it. */
    cr_expect(tern__stack_guard_overflowed(co, lo - page - 100, (uintptr_t)lo - page - 128));
    cr_expect(tern__stack_guard_overflowed(co, lo - TERN_STACK_GUARD_REACH,
                                           (uintptr_t)lo - TERN_STACK_GUARD_REACH));
    /* sp still on the stack: a bad pointer below it is not an overflow. */
    cr_expect_not(tern__stack_guard_overflowed(co, lo - page - 100, inside));
    /* sp below, but the fault far away (NULL) or on the stack itself. */
    cr_expect_not(tern__stack_guard_overflowed(co, NULL, (uintptr_t)lo - 64));
    cr_expect_not(tern__stack_guard_overflowed(co, lo + 8, (uintptr_t)lo - 64));
    /* Further than any frame could reach: someone else's memory. */
    cr_expect_not(tern__stack_guard_overflowed(co, lo - TERN_STACK_GUARD_REACH - page,
                                               (uintptr_t)lo - TERN_STACK_GUARD_REACH - page));
    tern_coro_free(co);
}

/* The report names the route and the setting, and fits its buffer. */
Test(coro, overflow_report_text)
{
    char line[512];
    size_t n = tern__stack_guard_message(line, sizeof line, "POST", "/items/{id}", 65536);
    cr_expect_str_eq(line, "tern: stack overflow in route POST /items/{id}: its coroutine stack "
                           "(coroutine.stack_bytes = 65536) is too small; raise "
                           "coroutine.stack_bytes (TERN_COROUTINE_STACK_BYTES, "
                           "--coroutine.stack_bytes) or move large buffers off the stack. "
                           "The process stops.\n");
    cr_expect_eq(n, strlen(line));
    n = tern__stack_guard_message(line, sizeof line, NULL, NULL, 0);
    cr_expect_str_eq(line, "tern: stack overflow in a coroutine that serves no request (a start "
                           "hook or task): its coroutine stack (coroutine.stack_bytes = 0) is "
                           "too small; raise coroutine.stack_bytes (TERN_COROUTINE_STACK_BYTES, "
                           "--coroutine.stack_bytes) or move large buffers off the stack. The "
                           "process stops.\n");
    char small[16];
    n = tern__stack_guard_message(small, sizeof small, "GET", "/", 1);
    cr_expect_eq(n, sizeof small - 1);
    cr_expect_str_eq(small, "tern: stack ove");
}
