/* tests/unit/test_future.c - one-shot futures (tern/task.h): set from another task and
 * awaited, many awaiters, set before await, double set, await timeouts, a cancelled
 * awaiter among others, and a future set from a plain libuv timer callback.
 *
 * Criterion's asserts unwind with longjmp, which must not cross a coroutine switch:
 * coroutines record what they see in globals and the test asserts after
 * tern_loop_run returns. Each test runs in its own process, so globals start at zero.
 * Timing bounds are wide: the suite runs on shared 2-core machines. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "tern/error.h"
#include "tern/task.h"
#include "scheduler.h"

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void run(tern_task_fn main_fn)
{
    int rc = tern_loop_run(main_fn, NULL, NULL);
    cr_assert_eq(rc, 0, "tern_loop_run: %d (%s)", rc, tern_errmsg());
}

/* ---- set from another task ---- */

static int await_rc = 1;
static void *awaited;
static uint64_t await_spent;
static bool done_before, done_after;

static void *set_after_100ms(void *arg)
{
    tern_sleep(100);
    tern_future_set(arg, (void *)0xf00d);
    return NULL;
}

static void *await_delayed_set(void *arg)
{
    (void)arg;
    tern_future *f = tern_future_new();
    if (!f)
        return NULL;
    done_before = tern_future_done(f);
    tern_spawn(set_after_100ms, f);
    uint64_t t0 = wall_ms();
    await_rc = tern_await(f, -1, &awaited);
    await_spent = wall_ms() - t0;
    done_after = tern_future_done(f);
    return NULL;
}

Test(future, set_by_another_task_wakes_the_awaiter)
{
    run(await_delayed_set);
    cr_assert_eq(await_rc, 0, "tern_await returned %d", await_rc);
    cr_assert_eq(awaited, (void *)0xf00d);
    cr_assert(!done_before);
    cr_assert(done_after);
    cr_assert_geq(await_spent, 90, "woke after %llu ms, before the set",
                  (unsigned long long)await_spent);
    cr_assert_lt(await_spent, 300, "woke %llu ms after a set at 100 ms",
                 (unsigned long long)await_spent);
}

/* ---- several awaiters ---- */

enum { AWAITERS = 5 };
static tern_future *shared;
static int awaiter_rc[AWAITERS] = {1, 1, 1, 1, 1};
static void *awaiter_value[AWAITERS];
static uint64_t awaiter_woke_at[AWAITERS], set_at;
static int gather_rc = 1;

static void *awaiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    awaiter_rc[i] = tern_await(shared, -1, &awaiter_value[i]);
    awaiter_woke_at[i] = wall_ms();
    return (void *)(intptr_t)(i + 1);
}

static void *many_awaiters(void *arg)
{
    (void)arg;
    shared = tern_future_new();
    tern_task *t[AWAITERS];
    for (int i = 0; i < AWAITERS; i++)
        t[i] = tern_spawn(awaiter, (void *)(intptr_t)i);
    tern_sleep(50); /* every awaiter is blocked by now */
    set_at = wall_ms();
    tern_future_set(shared, (void *)0xcafe);
    gather_rc = tern_gather(t, AWAITERS, NULL);
    return NULL;
}

Test(future, every_awaiter_is_woken)
{
    run(many_awaiters);
    cr_assert_eq(gather_rc, 0);
    for (int i = 0; i < AWAITERS; i++) {
        cr_assert_eq(awaiter_rc[i], 0, "awaiter %d got %d", i, awaiter_rc[i]);
        cr_assert_eq(awaiter_value[i], (void *)0xcafe, "awaiter %d got the wrong value", i);
        cr_assert_geq(awaiter_woke_at[i], set_at, "awaiter %d woke before the set", i);
        cr_assert_lt(awaiter_woke_at[i] - set_at, 100, "awaiter %d woke late", i);
    }
}

/* ---- set before await ---- */

static bool witness_ran;
static bool witness_ran_during_await;
static int early_rc = 1;
static void *early_value;

static void *witness(void *arg)
{
    (void)arg;
    witness_ran = true;
    return NULL;
}

static void *await_already_set(void *arg)
{
    (void)arg;
    tern_future *f = tern_future_new();
    tern_future_set(f, (void *)0x5e7);
    /* The witness runs as soon as main yields: if the await suspended at all, the
     * witness will have run by the time it returns. */
    tern_spawn(witness, NULL);
    early_rc = tern_await(f, -1, &early_value);
    witness_ran_during_await = witness_ran;
    return NULL;
}

Test(future, await_of_a_set_future_returns_without_yielding)
{
    run(await_already_set);
    cr_assert_eq(early_rc, 0);
    cr_assert_eq(early_value, (void *)0x5e7);
    cr_assert(!witness_ran_during_await, "tern_await suspended on a future that was set");
    cr_assert(witness_ran);
}

/* ---- second set ---- */

static int set_rc[2] = {1, 1};
static void *value_after_two_sets;

static void *set_twice(void *arg)
{
    (void)arg;
    tern_future *f = tern_future_new();
    set_rc[0] = tern_future_set(f, (void *)1);
    set_rc[1] = tern_future_set(f, (void *)2);
    tern_await(f, 0, &value_after_two_sets);
    return NULL;
}

Test(future, second_set_is_refused_and_keeps_the_first_value)
{
    run(set_twice);
    cr_assert_eq(set_rc[0], 0);
    cr_assert_eq(set_rc[1], -EALREADY);
    cr_assert_eq(value_after_two_sets, (void *)1, "a refused set must not change the value");
}

/* ---- timeouts ---- */

static int timeout_rc = 1, zero_timeout_rc = 1, later_set_rc = 1, later_await_rc = 1;
static uint64_t timeout_spent, zero_timeout_spent;
static void *untouched = (void *)0x1234;
static void *later_value;

static void *await_with_timeouts(void *arg)
{
    (void)arg;
    tern_future *f = tern_future_new();
    uint64_t t0 = wall_ms();
    timeout_rc = tern_await(f, 100, &untouched);
    timeout_spent = wall_ms() - t0;
    t0 = wall_ms();
    zero_timeout_rc = tern_await(f, 0, &untouched);
    zero_timeout_spent = wall_ms() - t0;
    /* The timed-out waits left the future's waiter list: setting it now must not
     * touch their (long gone) wait nodes, and a new await sees the value. */
    later_set_rc = tern_future_set(f, (void *)0xabc);
    later_await_rc = tern_await(f, 100, &later_value);
    return NULL;
}

Test(future, await_timeout_returns_etimedout)
{
    run(await_with_timeouts);
    cr_assert_eq(timeout_rc, TERN_ETIMEDOUT, "tern_await returned %d", timeout_rc);
    cr_assert_geq(timeout_spent, 90, "timed out after %llu ms", (unsigned long long)timeout_spent);
    cr_assert_lt(timeout_spent, 300, "timed out after %llu ms", (unsigned long long)timeout_spent);
    cr_assert_eq(zero_timeout_rc, TERN_ETIMEDOUT);
    cr_assert_lt(zero_timeout_spent, 50);
    cr_assert_eq(untouched, (void *)0x1234, "a failed await must not store a value");
    cr_assert_eq(later_set_rc, 0);
    cr_assert_eq(later_await_rc, 0);
    cr_assert_eq(later_value, (void *)0xabc);
}

static int slow_set_await_rc = 1;
static void *slow_set_value;

static void *set_after_50ms(void *arg)
{
    tern_sleep(50);
    tern_future_set(arg, (void *)0x50);
    return NULL;
}

static void *await_within_timeout(void *arg)
{
    (void)arg;
    tern_future *f = tern_future_new();
    tern_spawn(set_after_50ms, f);
    slow_set_await_rc = tern_await(f, 1000, &slow_set_value);
    return NULL;
}

Test(future, set_within_the_timeout_wins)
{
    uint64_t t0 = wall_ms();
    run(await_within_timeout);
    cr_assert_eq(slow_set_await_rc, 0);
    cr_assert_eq(slow_set_value, (void *)0x50);
    /* The armed 1 s timeout must not keep the loop alive after the await ended. */
    cr_assert_lt(wall_ms() - t0, 500, "the await's stale timer kept tern_loop_run waiting");
}

/* ---- a cancelled awaiter among others ---- */

static int mixed_rc[3] = {1, 1, 1};
static void *mixed_value[3];

static void *mixed_awaiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    mixed_rc[i] = tern_await(shared, -1, &mixed_value[i]);
    return NULL;
}

static void *cancel_middle_awaiter(void *arg)
{
    (void)arg;
    shared = tern_future_new();
    tern_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = tern_spawn(mixed_awaiter, (void *)(intptr_t)i);
    tern_sleep(20);
    /* Unlinks a node from the middle of the waiter list. */
    tern_task_cancel(t[1]);
    tern_sleep(20);
    tern_future_set(shared, (void *)0x77);
    tern_gather(t, 3, NULL);
    return NULL;
}

Test(future, cancelled_awaiter_leaves_the_others_waiting)
{
    run(cancel_middle_awaiter);
    cr_assert_eq(mixed_rc[1], TERN_ECANCELED);
    cr_assert_null(mixed_value[1]);
    cr_assert_eq(mixed_rc[0], 0);
    cr_assert_eq(mixed_rc[2], 0);
    cr_assert_eq(mixed_value[0], (void *)0x77);
    cr_assert_eq(mixed_value[2], (void *)0x77);
}

/* ---- set from a libuv callback ---- */

/* The timer and its close callback outlive any one wait: they live in a struct the
 * coroutine awaits until libuv is done with the handle. */
struct timer_ctx {
    uv_timer_t timer;
    tern_future *fired;
    tern_future *closed;
    int set_rc;
    bool callback_on_main_stack;
};

static void on_fire(uv_timer_t *h)
{
    struct timer_ctx *c = h->data;
    /* Library callbacks run on the thread's main stack, not in a task. */
    c->callback_on_main_stack = tern__current() == NULL;
    c->set_rc = tern_future_set(c->fired, (void *)0x71);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct timer_ctx *c = h->data;
    tern_future_set(c->closed, NULL);
}

static struct timer_ctx tctx = {.set_rc = 1};
static int uv_await_rc = 1, uv_init_rc = 1, uv_closed_rc = 1;
static void *uv_value;
static uint64_t uv_spent;

static void *await_uv_timer(void *arg)
{
    (void)arg;
    uv_loop_t *loop = tern_sched_loop(tern_sched_current());
    tctx.fired = tern_future_new();
    tctx.closed = tern_future_new();
    uv_init_rc = uv_timer_init(loop, &tctx.timer);
    if (uv_init_rc)
        return NULL;
    tctx.timer.data = &tctx;
    uint64_t t0 = wall_ms();
    uv_timer_start(&tctx.timer, on_fire, 80, 0);
    uv_await_rc = tern_await(tctx.fired, -1, &uv_value);
    uv_spent = wall_ms() - t0;
    /* libuv owns the handle until its close callback: wait for it before returning. */
    uv_close((uv_handle_t *)&tctx.timer, on_timer_closed);
    uv_closed_rc = tern_await(tctx.closed, 1000, NULL);
    return NULL;
}

Test(future, set_from_a_libuv_timer_callback)
{
    run(await_uv_timer);
    cr_assert_eq(uv_init_rc, 0);
    cr_assert_eq(tctx.set_rc, 0);
    cr_assert(tctx.callback_on_main_stack);
    cr_assert_eq(uv_await_rc, 0);
    cr_assert_eq(uv_value, (void *)0x71);
    cr_assert_geq(uv_spent, 70);
    cr_assert_lt(uv_spent, 300);
    cr_assert_eq(uv_closed_rc, 0, "the close callback never came");
}

/* ---- outside a coroutine ---- */

Test(future, new_outside_a_coroutine_fails_with_a_message)
{
    tern_set_errmsg("%s", "");
    cr_assert_null(tern_future_new());
    cr_assert(strstr(tern_errmsg(), "outside a coroutine"), "errmsg: '%s'", tern_errmsg());
}
