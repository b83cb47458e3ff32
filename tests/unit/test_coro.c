/* tests/unit/test_coro.c - the coroutine core and its stack pool: switch order,
 * generators, stack reuse, register and floating-point state across switches, caps,
 * deep recursion and the guard page. The checks live in tests/cross/coro_cases.h,
 * shared with tests/cross/coro_portable.c (no Criterion, and under qemu for aarch64);
 * this file is their Criterion harness. */
#include <criterion/criterion.h>

/* A failed check aborts the test with Criterion's assert (a longjmp: the cases call it
 * only on the main stack, never inside a coroutine). */
#define CORO_CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include "../cross/coro_cases.h"

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
