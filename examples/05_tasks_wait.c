/* examples/05_tasks_wait.c - tasks: create two and await both; then wait with a timeout.
 *
 * Teaches: tern_spawn is asyncio.create_task (the task starts at our next wait),
 * tern_task_join is `await task`, and tern_wait is asyncio.wait(tasks, timeout): it
 * returns after the timeout telling which tasks are done; the others keep running until
 * we cancel them (or the loop run waits for them).
 *
 *     t1 = asyncio.create_task(func(1)); t2 = asyncio.create_task(func(2))
 *     print(await t1, await t2)
 *     done, pending = await asyncio.wait([fast, slow], timeout=1)
 */
#include <stdint.h>
#include <stdio.h>
#include <tern/tern.h>

typedef struct job {
    const char *name;
    uint64_t ms;
} job;

static void *func(void *arg)
{
    job *j = arg;
    printf("%s: start\n", j->name);
    if (tern_sleep(j->ms) < 0) { /* TERN_ECANCELED when cancelled while sleeping */
        printf("%s: cancelled\n", j->name);
        return NULL;
    }
    printf("%s: end\n", j->name);
    return (void *)"return value";
}

static void *main_task(void *arg)
{
    (void)arg;
    printf("main: start\n");
    job a = {"task1", 500}, b = {"task2", 500};
    tern_task *t1 = tern_spawn(func, &a), *t2 = tern_spawn(func, &b);
    if (!t1 || !t2)
        return (void *)1;
    printf("main: tasks created\n"); /* they have not run yet: we have not waited */
    void *r1, *r2;
    tern_task_join(t1, &r1);
    tern_task_join(t2, &r2);
    printf("main: results: %s, %s\n", (const char *)r1, (const char *)r2);

    /* asyncio.wait with a timeout: the fast task ends in time, the slow one does not. */
    job fast = {"fast", 200}, slow = {"slow", 5000};
    tern_task *ts[2] = {tern_spawn(func, &fast), tern_spawn(func, &slow)};
    if (!ts[0] || !ts[1])
        return (void *)1;
    bool done[2];
    int n = tern_wait(ts, 2, 1000, done);
    printf("wait: %d done\n", n);
    for (int i = 0; i < 2; i++)
        printf("  %s: %s\n", i == 0 ? fast.name : slow.name, done[i] ? "done" : "pending");
    for (int i = 0; i < 2; i++)
        if (!done[i]) {
            tern_task_cancel(ts[i]); /* pending tasks go on unless cancelled */
            tern_task_join(ts[i], NULL);
        }
    return NULL;
}

int main(void)
{
    void *err = NULL;
    int rc = tern_loop_run(main_task, NULL, &err);
    if (rc < 0 || err) {
        fprintf(stderr, "failed: %d %s\n", rc, tern_errmsg());
        return 1;
    }
    return 0;
}
