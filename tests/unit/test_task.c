/* tests/unit/test_task.c - the asyncio toolbox of tern/task.h as a user sees it:
 * tern_loop_run (asyncio.run), spawn and join, concurrency of sleeps, turn-taking,
 * tern_wait with and without a timeout, tern_gather, cancellation, calls outside a
 * coroutine, orphan tasks, 10,000 tasks on reused stacks, the coroutine cap, and the
 * deadlock report of tern_loop_run.
 *
 * Criterion's asserts unwind with longjmp, which must not cross a coroutine switch:
 * coroutines only record what they see in globals, and the test asserts on the main
 * stack after tern_loop_run returns. Criterion runs each test in its own process, so
 * the globals start at zero. Timing bounds are wide on purpose: the suite runs on
 * shared 2-core machines next to other test binaries. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tern/error.h"
#include "tern/task.h"
#include "scheduler.h"

/* Wall-clock milliseconds: what the user waits, independent of the loop's cached clock. */
static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Runs main_fn under tern_loop_run and fails the test on an error. */
static void *run(tern_task_fn main_fn, void *arg)
{
    void *result = (void *)0xdead;
    int rc = tern_loop_run(main_fn, arg, &result);
    cr_assert_eq(rc, 0, "tern_loop_run: %d (%s)", rc, tern_errmsg());
    return result;
}

/* A task that sleeps arg milliseconds and returns arg: its result says who it was. */
static void *sleeper(void *arg)
{
    int rc = tern_sleep((uint64_t)(uintptr_t)arg);
    return rc == 0 ? arg : (void *)(intptr_t)rc;
}

/* ---- tern_loop_run ---- */

static bool main_ran_in_coroutine;

static void *return_42(void *arg)
{
    main_ran_in_coroutine = tern_sched_current() != NULL && tern__current() != NULL;
    return (char *)arg + 42;
}

Test(task, loop_run_returns_main_result)
{
    void *result = NULL;
    int rc = tern_loop_run(return_42, (void *)0x1000, &result);
    cr_assert_eq(rc, 0, "%s", tern_errmsg());
    cr_assert_eq(result, (void *)(0x1000 + 42));
    cr_assert(main_ran_in_coroutine, "main_fn must run as a coroutine on a scheduler");
    /* The scheduler is gone afterwards: the thread is back to plain C. */
    cr_assert_null(tern_sched_current());
    cr_assert_eq(tern_now_ms(), 0);
    /* result may be NULL when the caller does not care. */
    cr_assert_eq(tern_loop_run(return_42, NULL, NULL), 0);
}

static int nested_rc;

static void *nested_loop_run(void *arg)
{
    (void)arg;
    nested_rc = tern_loop_run(return_42, NULL, NULL);
    return NULL;
}

Test(task, loop_run_twice_in_a_row_and_nested_is_refused)
{
    /* Sequential runs on one thread each get a fresh loop and scheduler. */
    cr_assert_eq(run(return_42, (void *)1), (void *)43);
    cr_assert_eq(run(return_42, (void *)2), (void *)44);
    /* A loop inside a loop would block the outer one: refused with -EBUSY. */
    run(nested_loop_run, NULL);
    cr_assert_eq(nested_rc, -EBUSY);
}

/* ---- concurrency of sleeps ---- */

static void *results2[2];
static int join_rc2[2];
static uint64_t loop_clock_spent;

static void *two_sleepers(void *arg)
{
    (void)arg;
    uint64_t t0 = tern_now_ms();
    tern_task *a = tern_spawn(sleeper, (void *)200);
    tern_task *b = tern_spawn(sleeper, (void *)200);
    if (!a || !b)
        return NULL;
    join_rc2[0] = tern_task_join(a, &results2[0]);
    join_rc2[1] = tern_task_join(b, &results2[1]);
    loop_clock_spent = tern_now_ms() - t0;
    return (void *)1;
}

Test(task, two_200ms_sleeps_overlap)
{
    uint64_t t0 = wall_ms();
    cr_assert_eq(run(two_sleepers, NULL), (void *)1, "spawn failed: %s", tern_errmsg());
    uint64_t spent = wall_ms() - t0;
    cr_assert_eq(join_rc2[0], 0);
    cr_assert_eq(join_rc2[1], 0);
    cr_assert_eq(results2[0], (void *)200);
    cr_assert_eq(results2[1], (void *)200);
    /* Serial sleeps would take 400 ms. */
    cr_assert_geq(spent, 190, "two 200 ms sleeps ended after %llu ms", (unsigned long long)spent);
    cr_assert_lt(spent, 350, "two concurrent 200 ms sleeps took %llu ms: not concurrent",
                 (unsigned long long)spent);
    /* tern_now_ms follows the loop's clock. */
    cr_assert_geq(loop_clock_spent, 190);
}

/* ---- turn-taking ---- */

static int trace[32];
static int ntrace;
static int sleep0_rc;

static void *appender_sleep0(void *arg)
{
    for (int i = 0; i < 3; i++) {
        trace[ntrace++] = (int)(intptr_t)arg;
        int rc = tern_sleep(0); /* yields: asyncio.sleep(0) */
        if (rc)
            sleep0_rc = rc;
    }
    return NULL;
}

static void *three_appenders(void *arg)
{
    (void)arg;
    tern_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = tern_spawn(appender_sleep0, (void *)(intptr_t)(i + 1));
    tern_gather(t, 3, NULL);
    return NULL;
}

Test(task, sleep_zero_yields_round_robin)
{
    run(three_appenders, NULL);
    int want[] = {1, 2, 3, 1, 2, 3, 1, 2, 3};
    cr_assert_eq(ntrace, 9);
    cr_assert_eq(sleep0_rc, 0);
    for (int i = 0; i < 9; i++)
        cr_assert_eq(trace[i], want[i], "trace[%d] = %d, want %d: tasks did not take turns", i,
                     trace[i], want[i]);
}

/* Ping-pong through futures: A appends 1 and hands the turn to B by setting B's
 * future, then awaits its own; B does the mirror image. */
static tern_future *turn_a[3], *turn_b[3];

static void *ping(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        trace[ntrace++] = 1;
        tern_future_set(turn_b[i], NULL);
        tern_await(turn_a[i], -1, NULL);
    }
    return NULL;
}

static void *pong(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        tern_await(turn_b[i], -1, NULL);
        trace[ntrace++] = 2;
        tern_future_set(turn_a[i], NULL);
    }
    return NULL;
}

static void *ping_pong(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        turn_a[i] = tern_future_new();
        turn_b[i] = tern_future_new();
    }
    /* B is spawned first so it runs first: it must block on its future, not race. */
    tern_task *t[2] = {tern_spawn(pong, NULL), tern_spawn(ping, NULL)};
    tern_gather(t, 2, NULL);
    return NULL;
}

Test(task, futures_hand_turns_back_and_forth)
{
    run(ping_pong, NULL);
    int want[] = {1, 2, 1, 2, 1, 2};
    cr_assert_eq(ntrace, 6);
    cr_assert_arr_eq(trace, want, sizeof want);
}

static bool child_ran;
static bool child_ran_before_yield, child_done_before_yield;

static void *set_child_ran(void *arg)
{
    (void)arg;
    child_ran = true;
    return NULL;
}

static void *spawn_then_yield(void *arg)
{
    (void)arg;
    tern_task *t = tern_spawn(set_child_ran, NULL);
    child_ran_before_yield = child_ran;
    child_done_before_yield = tern_task_done(t);
    tern_sleep(0);
    return NULL;
}

Test(task, spawned_task_starts_when_the_caller_yields)
{
    run(spawn_then_yield, NULL);
    cr_assert(!child_ran_before_yield, "tern_spawn must not run the task synchronously");
    cr_assert(!child_done_before_yield);
    cr_assert(child_ran);
}

/* ---- tern_wait ---- */

static int wait_rc, join_rc;
static bool wait_done[2];
static bool slow_done_after_wait;
static void *slow_result_after_wait = (void *)1, *slow_result;
static uint64_t wait_returned_at, slow_joined_at, wait_t0;

static void *wait_with_timeout(void *arg)
{
    (void)arg;
    wait_t0 = wall_ms();
    tern_task *t[2] = {tern_spawn(sleeper, (void *)50), tern_spawn(sleeper, (void *)500)};
    wait_rc = tern_wait(t, 2, 200, wait_done);
    wait_returned_at = wall_ms() - wait_t0;
    slow_done_after_wait = tern_task_done(t[1]);
    slow_result_after_wait = tern_task_result(t[1]);
    /* The pending task goes on: it finishes at its own time. */
    join_rc = tern_task_join(t[1], &slow_result);
    slow_joined_at = wall_ms() - wait_t0;
    return NULL;
}

Test(task, wait_timeout_reports_the_done_ones)
{
    run(wait_with_timeout, NULL);
    cr_assert_eq(wait_rc, 1, "tern_wait returned %d, want 1 done", wait_rc);
    cr_assert(wait_done[0], "the 50 ms task should be done");
    cr_assert(!wait_done[1], "the 500 ms task should be pending");
    cr_assert_geq(wait_returned_at, 180, "tern_wait returned after %llu ms, before its timeout",
                  (unsigned long long)wait_returned_at);
    cr_assert_lt(wait_returned_at, 350, "tern_wait returned after %llu ms, want ~200",
                 (unsigned long long)wait_returned_at);
    cr_assert(!slow_done_after_wait);
    cr_assert_null(slow_result_after_wait, "a pending task has no result yet");
    cr_assert_eq(join_rc, 0);
    cr_assert_eq(slow_result, (void *)500, "the pending task was not left running");
    cr_assert_geq(slow_joined_at, 480);
    cr_assert_lt(slow_joined_at, 700);
}

static int wait_all_rc, wait_null_rc;
static bool wait_all_done[3];
static uint64_t wait_all_spent;

static void *wait_for_all(void *arg)
{
    (void)arg;
    uint64_t t0 = wall_ms();
    tern_task *t[3] = {tern_spawn(sleeper, (void *)150), tern_spawn(sleeper, (void *)50),
                       tern_spawn(sleeper, (void *)100)};
    wait_all_rc = tern_wait(t, 3, -1, wait_all_done);
    wait_all_spent = wall_ms() - t0;
    /* Everything is done now: done may be NULL, and the call returns at once. */
    wait_null_rc = tern_wait(t, 3, -1, NULL);
    return NULL;
}

Test(task, wait_without_timeout_waits_for_all)
{
    run(wait_for_all, NULL);
    cr_assert_eq(wait_all_rc, 3);
    for (int i = 0; i < 3; i++)
        cr_assert(wait_all_done[i], "task %d not done", i);
    cr_assert_geq(wait_all_spent, 140, "returned after %llu ms, before the slowest task",
                  (unsigned long long)wait_all_spent);
    cr_assert_lt(wait_all_spent, 300);
    cr_assert_eq(wait_null_rc, 3);
}

enum { MANY = 40 };
static int wait_many_rc, wait_poll_rc;
static uint64_t wait_poll_spent;

static void *wait_for_many(void *arg)
{
    (void)arg;
    tern_task *t[MANY];
    for (int i = 0; i < MANY; i++)
        t[i] = tern_spawn(sleeper, (void *)(uintptr_t)(10 + i * 2));
    /* timeout 0 polls: nothing has even started yet. */
    uint64_t t0 = wall_ms();
    wait_poll_rc = tern_wait(t, MANY, 0, NULL);
    wait_poll_spent = wall_ms() - t0;
    /* More tasks than tern_wait keeps nodes for on the stack: the malloc path. */
    wait_many_rc = tern_wait(t, MANY, -1, NULL);
    return NULL;
}

Test(task, wait_on_many_tasks_and_zero_timeout)
{
    run(wait_for_many, NULL);
    cr_assert_eq(wait_poll_rc, 0, "no task can be done before it ran");
    cr_assert_lt(wait_poll_spent, 50, "a zero timeout must not wait");
    cr_assert_eq(wait_many_rc, MANY);
}

/* ---- tern_gather ---- */

static int gather_rc;
static void *gathered[5];
static int finish_order[5];
static int nfinished;

static void *numbered(void *arg)
{
    int i = (int)(intptr_t)arg;
    /* Later tasks sleep less: they finish first. */
    tern_sleep((uint64_t)(5 - i) * 30);
    finish_order[nfinished++] = i;
    return (void *)(intptr_t)(i * 10 + 1);
}

static void *gather_five(void *arg)
{
    (void)arg;
    tern_task *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = tern_spawn(numbered, (void *)(intptr_t)i);
    gather_rc = tern_gather(t, 5, gathered);
    return NULL;
}

Test(task, gather_returns_results_in_spawn_order)
{
    run(gather_five, NULL);
    cr_assert_eq(gather_rc, 0);
    cr_assert_eq(nfinished, 5);
    cr_assert_eq(finish_order[0], 4, "the shortest sleeper should finish first");
    for (int i = 0; i < 5; i++)
        cr_assert_eq(gathered[i], (void *)(intptr_t)(i * 10 + 1), "results[%d] out of order", i);
}

/* ---- cancellation ---- */

static int cancelled_sleep_rc = 1;
static uint64_t cancelled_sleep_spent;
static int cancel_join_rc = 1;
static void *cancel_join_result;

static void *long_sleeper(void *arg)
{
    (void)arg;
    uint64_t t0 = wall_ms();
    cancelled_sleep_rc = tern_sleep(5000);
    cancelled_sleep_spent = wall_ms() - t0;
    return (void *)7;
}

static void *cancel_sleeper(void *arg)
{
    (void)arg;
    tern_task *t = tern_spawn(long_sleeper, NULL);
    tern_sleep(50);
    tern_task_cancel(t);
    cancel_join_rc = tern_task_join(t, &cancel_join_result);
    tern_task_cancel(t); /* cancelling a finished task is a no-op */
    return NULL;
}

Test(task, cancel_ends_a_sleep_with_ecanceled)
{
    uint64_t t0 = wall_ms();
    run(cancel_sleeper, NULL);
    uint64_t spent = wall_ms() - t0;
    cr_assert_eq(cancelled_sleep_rc, TERN_ECANCELED, "tern_sleep returned %d",
                 cancelled_sleep_rc);
    cr_assert_lt(cancelled_sleep_spent, 300, "the cancelled 5 s sleep lasted %llu ms",
                 (unsigned long long)cancelled_sleep_spent);
    cr_assert_lt(spent, 500);
    /* The joiner was not cancelled: it gets the task's normal result. */
    cr_assert_eq(cancel_join_rc, 0);
    cr_assert_eq(cancel_join_result, (void *)7);
}

/* A shielded wait runs to its own end through a cancellation; the next wait after the
 * shield fails at once. */
static int shielded_rc[2] = {1, 1};
static uint64_t shielded_spent;

static bool keep_shield(void *arg)
{
    (void)arg;
    return true;
}

static void *shielded_sleeper(void *arg)
{
    (void)arg;
    uint64_t t0 = wall_ms();
    tern__shield_begin(keep_shield, NULL);
    shielded_rc[0] = tern_sleep(200);
    tern__shield_end();
    shielded_spent = wall_ms() - t0;
    shielded_rc[1] = tern_sleep(5000);
    return NULL;
}

static void *cancel_shielded(void *arg)
{
    (void)arg;
    tern_task *t = tern_spawn(shielded_sleeper, NULL);
    tern_sleep(50);
    tern_task_cancel(t);
    tern_task_join(t, NULL);
    return NULL;
}

Test(task, a_shielded_wait_outlasts_cancellation_and_the_next_wait_sees_it)
{
    uint64_t t0 = wall_ms();
    run(cancel_shielded, NULL);
    cr_assert_eq(shielded_rc[0], 0, "the shielded sleep returned %d", shielded_rc[0]);
    cr_assert_geq(shielded_spent, 190, "the shielded sleep lasted only %llu ms",
                  (unsigned long long)shielded_spent);
    cr_assert_eq(shielded_rc[1], TERN_ECANCELED, "the sleep after the shield returned %d",
                 shielded_rc[1]);
    cr_assert_lt(wall_ms() - t0, 2000);
}

static int early_cancel_rc[2] = {1, 1};
static uint64_t early_cancel_spent;

static void *sleeps_twice(void *arg)
{
    (void)arg;
    uint64_t t0 = wall_ms();
    early_cancel_rc[0] = tern_sleep(1000);
    early_cancel_rc[1] = tern_sleep(1000);
    early_cancel_spent = wall_ms() - t0;
    return NULL;
}

static void *cancel_before_start(void *arg)
{
    (void)arg;
    tern_task *t = tern_spawn(sleeps_twice, NULL);
    tern_task_cancel(t); /* before it ever ran */
    tern_task_join(t, NULL);
    return NULL;
}

Test(task, cancel_before_start_fails_every_wait_at_once)
{
    run(cancel_before_start, NULL);
    cr_assert_eq(early_cancel_rc[0], TERN_ECANCELED);
    cr_assert_eq(early_cancel_rc[1], TERN_ECANCELED, "cancellation must stick");
    cr_assert_lt(early_cancel_spent, 100);
}

/* ---- outside a coroutine ---- */

Test(task, calls_outside_a_coroutine_fail_with_a_message)
{
    tern_set_errmsg("%s", "");
    cr_assert_null(tern_spawn(sleeper, NULL));
    cr_assert(strstr(tern_errmsg(), "outside a coroutine"), "errmsg: '%s'", tern_errmsg());
    cr_assert(strstr(tern_errmsg(), "tern_spawn"), "errmsg: '%s'", tern_errmsg());
    cr_assert_eq(tern_sleep(10), -EINVAL);
    cr_assert_eq(tern_wait(NULL, 0, -1, NULL), 0, "waiting on nothing is done at once");
    cr_assert_eq(tern_gather(NULL, 0, NULL), 0);
}

/* ---- tasks left running when main returns ---- */

static bool orphan_finished[3];
static uint64_t loop_t0;
static uint64_t orphan_finished_at[3];

static void *orphan(void *arg)
{
    int i = (int)(intptr_t)arg;
    tern_sleep(100 + (uint64_t)i * 50);
    orphan_finished[i] = true;
    orphan_finished_at[i] = wall_ms() - loop_t0;
    return NULL;
}

static void *spawn_orphans(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        tern_spawn(orphan, (void *)(intptr_t)i);
    return (void *)0x0123; /* returns without joining them */
}

Test(task, unjoined_tasks_finish_before_loop_run_returns)
{
    loop_t0 = wall_ms();
    cr_assert_eq(run(spawn_orphans, NULL), (void *)0x0123);
    uint64_t spent = wall_ms() - loop_t0;
    for (int i = 0; i < 3; i++)
        cr_assert(orphan_finished[i], "orphan %d was dropped", i);
    cr_assert_geq(spent, 190, "tern_loop_run returned before its tasks finished");
    cr_assert_geq(orphan_finished_at[2], 190, "orphans were cut short");
    cr_assert_lt(spent, 500);
}

/* ---- 10,000 tasks, stack reuse, the coroutine cap ---- */

enum { WAVES = 10, PER_WAVE = 1000 };
static int ran_ok;
static size_t peak_live_stacks, end_live_stacks, end_cached_stacks, end_peak_cached;
static long rss_after_wave[WAVES];

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *sleep_1ms(void *arg)
{
    (void)arg;
    if (tern_sleep(1) == 0)
        ran_ok++;
    return NULL;
}

static void *ten_thousand(void *arg)
{
    (void)arg;
    static tern_task *t[PER_WAVE];
    tern_stack_pool *pool = tern_sched_stacks(tern_sched_current());
    for (int w = 0; w < WAVES; w++) {
        for (int i = 0; i < PER_WAVE; i++) {
            t[i] = tern_spawn(sleep_1ms, NULL);
            if (!t[i])
                return (void *)(intptr_t)(w * PER_WAVE + i + 1);
        }
        size_t live = tern_stack_pool_live(pool);
        if (live > peak_live_stacks)
            peak_live_stacks = live;
        tern_gather(t, PER_WAVE, NULL);
        rss_after_wave[w] = rss_kib();
    }
    end_live_stacks = tern_stack_pool_live(pool);
    end_peak_cached = tern_stack_pool_cached(pool);
    tern_stack_pool_trim(pool); /* what the scheduler's timer does every 10 s */
    end_cached_stacks = tern_stack_pool_cached(pool);
    return NULL;
}

Test(task, ten_thousand_tasks_reuse_stacks)
{
    uint64_t t0 = wall_ms();
    void *failed_at = run(ten_thousand, NULL);
    cr_assert_null(failed_at, "spawn #%ld failed: %s", (long)(intptr_t)failed_at, tern_errmsg());
    cr_assert_eq(ran_ok, WAVES * PER_WAVE);
    /* Stacks of finished tasks go back to the pool: never more than one wave plus
     * main in use, and at the end only main's. */
    cr_assert_leq(peak_live_stacks, PER_WAVE + 1);
    cr_assert_eq(end_live_stacks, 1, "%zu stacks still in use after every task finished",
                 end_live_stacks);
    /* the cache follows the peak of a wave until a trim gives the surplus back */
    cr_assert_leq(end_peak_cached, PER_WAVE + 1, "the pool keeps %zu free stacks mapped",
                  end_peak_cached);
    cr_assert_leq(end_cached_stacks, 256, "after a trim the pool keeps %zu free stacks mapped",
                  end_cached_stacks);
    /* Memory stays flat from wave to wave: later waves run on recycled stacks. Task
     * records (a few hundred bytes each) are kept until the run ends, hence the slack. */
    if (rss_after_wave[1] > 0 && rss_after_wave[WAVES - 1] > 0) {
        long growth = rss_after_wave[WAVES - 1] - rss_after_wave[1];
        cr_assert_lt(growth, 16 * 1024, "RSS grew by %ld KiB over %d waves", growth, WAVES - 2);
    }
    cr_assert_lt(wall_ms() - t0, 20000);
}

/* The default coroutine.max is 10,000 and main counts: 9,999 tasks fit at once, the
 * next spawn fails cleanly with a message, and spawning works again once some finish. */
enum { CAP = 10000 };
static int cap_spawned, cap_ran;
static bool cap_failed_cleanly, cap_respawn_ok;
static char cap_errmsg[256];

static void *sleep_50ms(void *arg)
{
    (void)arg;
    if (tern_sleep(50) == 0)
        cap_ran++;
    return NULL;
}

static void *fill_to_the_cap(void *arg)
{
    (void)arg;
    static tern_task *t[CAP];
    int n = 0;
    while (n < CAP && (t[n] = tern_spawn(sleep_50ms, NULL)))
        n++;
    cap_spawned = n;
    cap_failed_cleanly = n < CAP;
    snprintf(cap_errmsg, sizeof cap_errmsg, "%s", tern_errmsg());
    tern_gather(t, (size_t)n, NULL);
    tern_task *again = tern_spawn(sleep_50ms, NULL);
    cap_respawn_ok = again && tern_task_join(again, NULL) == 0;
    return NULL;
}

Test(task, coroutine_cap_refuses_spawn_cleanly, .timeout = 60)
{
    run(fill_to_the_cap, NULL);
    cr_assert_eq(cap_spawned, CAP - 1, "spawned %d tasks next to main", cap_spawned);
    cr_assert(cap_failed_cleanly);
    cr_assert(strstr(cap_errmsg, "coroutine"), "errmsg: '%s'", cap_errmsg);
    /* The CAP - 1 tasks of the fill, plus the one spawned after. */
    cr_assert_eq(cap_ran, CAP, "every task that was spawned must run");
    cr_assert(cap_respawn_ok, "spawn must work again after tasks finished");
}

/* ---- the deadlock report ---- */

static int stuck_await_rc = 1;

static void *await_nothing(void *arg)
{
    (void)arg;
    tern_future *f = tern_future_new();
    stuck_await_rc = tern_await(f, -1, NULL); /* nobody will ever set f */
    return (void *)0xbad;
}

Test(task, loop_run_reports_a_deadlocked_main)
{
    /* The loop runs dry while main still waits: tern_loop_run cancels it so it can
     * unwind, and reports -EDEADLK because main never finished on its own. Guards a
     * regression: main_done checked only after the cancel rounds is always true (the
     * cancelled main HAS finished by then), which turned every deadlock into 0. */
    void *result = NULL;
    uint64_t t0 = wall_ms();
    int rc = tern_loop_run(await_nothing, NULL, &result);
    cr_assert_lt(wall_ms() - t0, 1000, "the deadlock must be detected, not waited out");
    cr_assert_eq(stuck_await_rc, TERN_ECANCELED, "the stuck await returned %d", stuck_await_rc);
    cr_assert_eq(rc, -EDEADLK, "tern_loop_run returned %d for a main stuck on a future", rc);
    cr_assert(strstr(tern_errmsg(), "never finished"), "errmsg: '%s'", tern_errmsg());
}

static int stuck_child_rc = 1;

static void *child_awaits_nothing(void *arg)
{
    (void)arg;
    tern_future *f = tern_future_new();
    stuck_child_rc = tern_await(f, -1, NULL);
    return NULL;
}

static void *main_leaves_a_stuck_child(void *arg)
{
    (void)arg;
    tern_spawn(child_awaits_nothing, NULL);
    return (void *)5;
}

Test(task, stuck_child_is_cancelled_after_main_returns)
{
    /* main itself finished: its result comes back, and the child that could never
     * finish is cancelled rather than hanging tern_loop_run forever. */
    uint64_t t0 = wall_ms();
    cr_assert_eq(run(main_leaves_a_stuck_child, NULL), (void *)5);
    cr_assert_eq(stuck_child_rc, TERN_ECANCELED);
    cr_assert_lt(wall_ms() - t0, 1000);
}
