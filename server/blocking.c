/* server/blocking.c - run a blocking function on libuv's thread pool and await it
 * (loop.run_in_executor). The job record outlives an abandoned wait: the scope stays
 * alive until the function returns, so memory it uses is never freed under it. */
#include <stdlib.h>

#include "tern/error.h"
#include "scheduler.h"

typedef struct blocking_job {
    uv_work_t work;
    void *(*fn)(void *arg);
    void *arg;
    void *result;
    tern_waiter waiter;
    tern_scope *scope;
    bool abandoned; /* the waiting task gave up (deadline, cancel): we free the job */
    bool finished;  /* fn returned; the job is the waiter's to free */
} blocking_job;

static void on_work(uv_work_t *w)
{
    blocking_job *job = w->data;
    job->result = job->fn(job->arg);
}

static void on_after_work(uv_work_t *w, int status)
{
    blocking_job *job = w->data;
    tern_scope *scope = job->scope;
    job->finished = true;
    if (job->abandoned)
        free(job);
    else
        tern__wake(job->waiter, status < 0 ? status : 0);
    tern_scope_release(scope);
}

int tern_run_blocking(void *(*fn)(void *arg), void *arg, void **result)
{
    tern_task *cur = tern__current();
    if (!cur) {
        tern_set_errmsg("tern_run_blocking called outside a coroutine");
        return -EINVAL;
    }
    /* a call whose wait would fail at once must not start fn at all */
    int early = tern__wait_check();
    if (early < 0)
        return early;
    blocking_job *job = calloc(1, sizeof(*job));
    if (!job)
        return TERN_ENOMEM;
    job->work.data = job;
    job->fn = fn;
    job->arg = arg;
    job->scope = cur->scope;
    job->waiter = tern__waiter();
    int rc = uv_queue_work(tern_sched_loop(cur->sched), &job->work, on_work, on_after_work);
    if (rc < 0) {
        free(job);
        tern_set_errmsg("uv_queue_work: %s", uv_strerror(rc));
        return rc;
    }
    tern_scope_hold(job->scope);
    rc = tern__wait(-1);
    if (rc < 0) {
        /* The wait ended first (deadline, cancel). If fn already returned, its wake
         * lost the race and the job is ours; else on_after_work frees it later. */
        if (job->finished)
            free(job);
        else
            job->abandoned = true;
        return rc;
    }
    if (result)
        *result = job->result;
    free(job);
    return 0;
}
