/* server/background.c - FastAPI's BackgroundTasks. A task queued during a request
 * starts once its answer was handed to h2o. Each runs in a scope of its own, with its
 * own arena and no deadline, so what it borrows (pool connections, futures) goes back
 * when it ends, not when some later request does. The worker counts them: a drain
 * waits for them, and cancels them when drain_timeout_ms passes. */
#include <stdint.h>
#include <stdlib.h>

#include "tern/error.h"
#include "background.h"
#include "log.h"
#include "middleware.h"
#include "request.h"
#include "worker.h"

struct tern_bg_item {
    tern_bg_item *next;
    void (*fn)(void *arg);
    void *arg;
};

/* A running background task: its scope and memory, on the worker's list. */
typedef struct bg_run {
    tern_scope scope;
    tern_arena arena;
    void (*fn)(void *arg);
    void *arg;
    tern_worker *w;
    struct bg_run *next, *prev;
} bg_run;

int tern_background(tern_req *req, void (*fn)(void *arg), void *arg)
{
    tern_req_mw *m = tern__req_mw(req);
    tern_bg_item *it = tern_arena_alloc(&req->arena, sizeof(*it));
    if (!m || !it || !fn)
        return fn ? TERN_ENOMEM : -EINVAL;
    it->next = NULL;
    it->fn = fn;
    it->arg = arg;
    if (m->bg_tail)
        m->bg_tail->next = it;
    else
        m->bg_head = it;
    m->bg_tail = it;
    return 0;
}

static void *run_bg(void *arg)
{
    bg_run *r = arg;
    r->fn(r->arg);
    return NULL;
}

static void on_bg_end(tern_scope *sc)
{
    bg_run *r = sc->udata;
    tern_worker *w = r->w;
    if (r->prev)
        r->prev->next = r->next;
    else
        w->bg_runs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    w->bg_tasks--;
    tern_arena_reset(&r->arena);
    free(r);
    tern_worker_check_drained(w);
}

void tern__background_start(tern_req *req)
{
    if (!req->mw)
        return;
    tern_worker *w = req->worker;
    for (tern_bg_item *it = req->mw->bg_head; it; it = it->next) {
        bg_run *r = calloc(1, sizeof(*r));
        if (!r) {
            tern_log_error("background task dropped: out of memory");
            continue;
        }
        tern_arena_init(&r->arena, NULL, 0);
        tern_scope_init(&r->scope, w->sched, &r->arena, 0);
        r->scope.udata = r;
        r->scope.on_end = on_bg_end;
        r->fn = it->fn;
        r->arg = it->arg;
        r->w = w;
        if (!tern__spawn_in(&r->scope, run_bg, r)) {
            tern_log_error("background task dropped: %s", tern_errmsg());
            free(r);
            continue;
        }
        if (w->drain_done) /* queued by a request the drain timeout cancelled: give up too */
            tern_scope_cancel(&r->scope);
        r->next = w->bg_runs;
        if (w->bg_runs)
            w->bg_runs->prev = r;
        w->bg_runs = r;
        w->bg_tasks++;
    }
    req->mw->bg_head = req->mw->bg_tail = NULL;
}

void tern__background_cancel_all(tern_worker *w)
{
    for (bg_run *r = w->bg_runs; r; r = r->next)
        tern_scope_cancel(&r->scope);
}
