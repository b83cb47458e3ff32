/* examples/01_take_turns.c - two functions take turns on one thread (the greenlet example).
 *
 * Teaches: a coroutine is a function that can pause in the middle and resume later, on the
 * same thread. greenlet pauses with an explicit gr.switch(); in tern a task pauses whenever
 * it waits, so "switch to the other one" is: wake it (set its future), then wait for our own.
 *
 *     def func1(): print(1); gr2.switch(); print(2); gr2.switch()
 *     def func2(): print(3); gr1.switch(); print(4)
 *
 * Output: 1, 3, 2, 4 - one line each. */
#include <stdio.h>
#include <tern/tern.h>

/* One "greenlet": the future it sleeps on until someone switches to it. */
typedef struct green {
    tern_future *wake;
} green;

static green gr1, gr2;

/* Pause self and resume to. Futures are one-shot, so self gets a fresh one before waking
 * the other side (which may run and switch back before we reach tern_await). */
static void switch_to(green *self, green *to)
{
    self->wake = tern_future_new();
    tern_future_set(to->wake, NULL);
    tern_await(self->wake, -1, NULL);
}

static void *func1(void *arg)
{
    (void)arg;
    tern_await(gr1.wake, -1, NULL); /* wait for the first switch, as a new greenlet does */
    printf("1\n");
    switch_to(&gr1, &gr2);
    printf("2\n");
    /* greenlet's last gr2.switch() never comes back here: wake func2 and finish. */
    tern_future_set(gr2.wake, NULL);
    return NULL;
}

static void *func2(void *arg)
{
    (void)arg;
    tern_await(gr2.wake, -1, NULL);
    printf("3\n");
    switch_to(&gr2, &gr1);
    printf("4\n");
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    gr1.wake = tern_future_new();
    gr2.wake = tern_future_new();
    tern_task *t[2] = {tern_spawn(func1, NULL), tern_spawn(func2, NULL)};
    if (!t[0] || !t[1])
        return (void *)"no coroutine free";
    tern_future_set(gr1.wake, NULL); /* gr1.switch(): start with func1 */
    tern_gather(t, 2, NULL);         /* both run on this thread, one at a time */
    return NULL;
}

int main(void)
{
    void *err = NULL;
    int rc = tern_loop_run(main_task, NULL, &err); /* asyncio.run(main()) */
    if (rc < 0 || err) {
        fprintf(stderr, "failed: %d %s\n", rc, err ? (const char *)err : tern_errmsg());
        return 1;
    }
    return 0;
}
