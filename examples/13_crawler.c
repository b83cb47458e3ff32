/* examples/13_crawler.c - the crawler: fetch several URLs concurrently, report their sizes.
 *
 * Teaches: the payoff of the whole tutorial. One task per URL, all fetching at once
 * through tern's HTTP client (libcurl's multi interface on the loop), gathered at the end:
 * the total time is about that of the slowest fetch, not the sum.
 *
 *     async def fetch(session, url):
 *         async with session.get(url) as resp: return len(await resp.read())
 *     sizes = await asyncio.gather(*(fetch(session, u) for u in urls))
 *
 * Usage: 13_crawler URL... Prints one line per URL, in the order given, then the time. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <tern/tern.h>

typedef struct job {
    tern_http_client *client;
    const char *url;
    tern_http_response resp;
    int rc;
} job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *fetch(void *arg)
{
    job *j = arg;
    tern_http_opts o = {.timeout_ms = 10000};
    j->rc = tern_http_fetch(j->client, j->url, &o, &j->resp); /* yields until the body is in */
    return NULL;
}

typedef struct crawl {
    int n;
    char **urls;
} crawl;

static void *main_task(void *arg)
{
    crawl *cr = arg;
    tern_http_client *client;
    if (tern_http_client_new(&client) < 0)
        return (void *)1;
    job *jobs = calloc((size_t)cr->n, sizeof *jobs);
    tern_task **tasks = calloc((size_t)cr->n, sizeof *tasks);
    bool ok = jobs && tasks;
    double t0 = now_s();
    for (int i = 0; ok && i < cr->n; i++) {
        jobs[i] = (job){.client = client, .url = cr->urls[i]};
        tasks[i] = tern_spawn(fetch, &jobs[i]);
        ok = tasks[i] != NULL;
    }
    if (ok)
        ok = tern_gather(tasks, (size_t)cr->n, NULL) == 0;
    double took = now_s() - t0;
    for (int i = 0; ok && i < cr->n; i++) {
        if (jobs[i].rc == 0)
            printf("%s: status %ld, %zu bytes\n", jobs[i].url, jobs[i].resp.status,
                   jobs[i].resp.body_len);
        else
            printf("%s: failed (%d)\n", jobs[i].url, jobs[i].rc);
        ok = ok && jobs[i].rc == 0;
    }
    if (ok)
        printf("fetched %d URLs in %.1f s\n", cr->n, took);
    free(jobs);
    free(tasks);
    tern_http_client_free(client);
    return ok ? NULL : (void *)1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL...\n", argv[0]);
        return 2;
    }
    crawl cr = {.n = argc - 1, .urls = argv + 1};
    void *err = NULL;
    int rc = tern_loop_run(main_task, &cr, &err);
    if (rc < 0 || err) {
        fprintf(stderr, "failed: %d %s\n", rc, tern_errmsg());
        return 1;
    }
    return 0;
}
