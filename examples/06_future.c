/* examples/06_future.c - a future that another task sets after a delay; awaiting it.
 *
 * Teaches: a future is a one-shot box. Whoever awaits it sleeps until someone sets its
 * result; tasks are built on the same idea (a task's result is a future set on return).
 *
 *     async def set_after(fut):
 *         await asyncio.sleep(1); fut.set_result("666")
 *     fut = loop.create_future()
 *     loop.create_task(set_after(fut))
 *     print(await fut)
 */
#include <stdio.h>
#include <tern/tern.h>

static void *set_after(void *arg)
{
    tern_future *fut = arg;
    tern_sleep(1000);
    printf("setter: setting the result\n");
    tern_future_set(fut, (void *)"666"); /* wakes every waiter */
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    tern_future *fut = tern_future_new(); /* lives until the loop run ends */
    tern_task *t = tern_spawn(set_after, fut);
    if (!t)
        return (void *)1;
    printf("main: awaiting the future\n");
    void *data;
    int rc = tern_await(fut, -1, &data); /* -1: no timeout of our own */
    if (rc < 0)
        return (void *)1;
    printf("main: got %s\n", (const char *)data);
    tern_task_join(t, NULL);
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
