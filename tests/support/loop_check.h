/* tests/support/loop_check.h - a harness for tests that run inside tern_loop_run.
 * Criterion's asserts cannot run on a coroutine (they longjmp out of it), so checks
 * on the coroutine record the first failure with CHECK, and run() asserts on it once
 * the loop has ended. Include once per test file, after <criterion/criterion.h>. */
#ifndef TERN_TEST_LOOP_CHECK_H
#define TERN_TEST_LOOP_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "tern/error.h"
#include "tern/task.h"

/** The first failed CHECK of the current run, with its line ("" when none). */
static char failure[1024];

/** Records the first failed check (with its line) for run() to assert on. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond) && !failure[0]) {                                                              \
            int n_ = snprintf(failure, sizeof failure, "line %d: ", __LINE__);                     \
            snprintf(failure + n_, sizeof failure - (size_t)n_, __VA_ARGS__);                      \
        }                                                                                          \
    } while (0)

/** Milliseconds on a monotonic clock. */
static inline uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/** Runs fn as the main task of a fresh loop and asserts it ran cleanly. */
static inline void run(tern_task_fn fn)
{
    failure[0] = '\0';
    int rc = tern_loop_run(fn, NULL, NULL);
    cr_assert_eq(rc, 0, "tern_loop_run: %d (%s)", rc, tern_errmsg());
    cr_assert(!failure[0], "%s", failure);
}

#endif
