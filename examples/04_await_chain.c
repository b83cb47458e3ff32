/* examples/04_await_chain.c - a coroutine awaiting another that returns a value, twice.
 *
 * Teaches: `await others()` in C is just a call. others() waits inside (its coroutine
 * yields to the loop), then returns its value like any function. Two awaits in a row run
 * one after the other: about 2 x 1 s here.
 *
 *     async def others():
 *         print("start"); await asyncio.sleep(1); print("end"); return "return value"
 *     async def func():
 *         r1 = await others(); print("IO request ended, result:", r1)
 *         r2 = await others(); print("IO request ended, result:", r2)
 */
#include <stdio.h>
#include <tern/tern.h>

static const char *others(void)
{
    printf("start\n");
    tern_sleep(1000); /* no await keyword: the call itself yields */
    printf("end\n");
    return "return value";
}

static void *func(void *arg)
{
    (void)arg;
    printf("executing the coroutine's code\n");
    const char *r1 = others();
    printf("IO request ended, result: %s\n", r1);
    const char *r2 = others();
    printf("IO request ended, result: %s\n", r2);
    return NULL;
}

int main(void)
{
    int rc = tern_loop_run(func, NULL, NULL);
    if (rc < 0) {
        fprintf(stderr, "failed: %d %s\n", rc, tern_errmsg());
        return 1;
    }
    return 0;
}
