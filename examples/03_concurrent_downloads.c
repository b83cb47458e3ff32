/* examples/03_concurrent_downloads.c - two "downloads" (2 s sleeps) run concurrently.
 *
 * Teaches: while one task waits, the loop runs the other. Two tasks that each wait 2 s
 * finish together after about 2 s, not 4, on a single thread.
 *
 *     async def download(n):
 *         print("start", n); await asyncio.sleep(2); print("done", n)
 *     await asyncio.gather(download(1), download(2))
 *
 * Output: start 1, start 2, done 1, done 2, then the elapsed time (about 2.0 s). */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <tern/tern.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *download(void *arg)
{
    int n = (int)(intptr_t)arg;
    printf("start download %d\n", n);
    tern_sleep(2000); /* stands for network I/O: the coroutine yields, the loop moves on */
    printf("done download %d\n", n);
    return arg;
}

static void *main_task(void *arg)
{
    (void)arg;
    double t0 = now_s();
    tern_task *t[2] = {tern_spawn(download, (void *)1), tern_spawn(download, (void *)2)};
    if (!t[0] || !t[1])
        return (void *)1;
    void *results[2];
    if (tern_gather(t, 2, results) < 0) /* asyncio.gather: both results, in order */
        return (void *)1;
    printf("both downloads finished in %.1f s\n", now_s() - t0);
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
