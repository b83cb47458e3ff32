/* examples/07_blocking.c - a blocking call on the thread pool while the loop keeps serving.
 *
 * Teaches: never block the loop thread (a plain sleep() or a blocking HTTP library would
 * freeze every coroutine of the worker). tern_run_blocking hands the function to libuv's
 * thread pool and yields until it returns, like loop.run_in_executor; meanwhile a ticker
 * task shows that the loop is still running.
 *
 *     def blocking(): time.sleep(1)                    # or requests.get(url)
 *     await loop.run_in_executor(None, blocking)
 *
 * Usage: 07_blocking [URL]. Without URL the blocking call is a 1 s nanosleep; with one it is
 * a libcurl easy (blocking) fetch of URL. Prints how often the loop ticked meanwhile. */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <tern/tern.h>

static bool blocking_done;
static int ticks;

/* Runs on a pool thread: it may block, but must not call tern functions that wait. */
static void *blocking_sleep(void *arg)
{
    (void)arg;
    struct timespec ts = {.tv_sec = 1};
    nanosleep(&ts, NULL);
    return (void *)"slept 1 s";
}

static size_t count_bytes(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    *(size_t *)arg += size * n;
    return size * n;
}

typedef struct fetch {
    const char *url;
    size_t bytes;
    long status;
    CURLcode rc;
} fetch;

static void *blocking_fetch(void *arg)
{
    fetch *f = arg;
    CURL *h = curl_easy_init();
    if (!h) {
        f->rc = CURLE_FAILED_INIT;
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_URL, f->url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &f->bytes);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* we are on a thread: no SIGALRM games */
    f->rc = curl_easy_perform(h); /* blocks this pool thread, not the loop */
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
    curl_easy_cleanup(h);
    return NULL;
}

static void *ticker(void *arg)
{
    (void)arg;
    while (!blocking_done) {
        if (tern_sleep(100) < 0)
            break;
        if (!blocking_done)
            ticks++;
    }
    return NULL;
}

static void *main_task(void *arg)
{
    const char *url = arg;
    tern_task *t = tern_spawn(ticker, NULL);
    if (!t)
        return (void *)1;
    int rc;
    if (url) {
        fetch f = {.url = url};
        rc = tern_run_blocking(blocking_fetch, &f, NULL);
        if (rc == 0 && f.rc == CURLE_OK)
            printf("blocking fetch: status %ld, %zu bytes\n", f.status, f.bytes);
        else
            printf("blocking fetch failed: %s\n", curl_easy_strerror(f.rc));
    } else {
        void *msg = NULL;
        rc = tern_run_blocking(blocking_sleep, NULL, &msg);
        printf("blocking call returned: %s\n", msg ? (const char *)msg : "?");
    }
    blocking_done = true;
    tern_task_join(t, NULL);
    printf("the loop ticked %d times meanwhile\n", ticks);
    return rc < 0 ? (void *)1 : NULL;
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread uses libcurl */
    void *err = NULL;
    int rc = tern_loop_run(main_task, argc > 1 ? argv[1] : NULL, &err);
    curl_global_cleanup();
    if (rc < 0 || err) {
        fprintf(stderr, "failed: %d %s\n", rc, tern_errmsg());
        return 1;
    }
    return 0;
}
