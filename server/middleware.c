/* server/middleware.c - route groups with before/after functions, dependencies and
 * their values, status handlers, and app start-up/shutdown hooks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "app_impl.h"
#include "log.h"
#include "middleware.h"
#include "request.h"
#include "worker.h"

struct tern_dep_value {
    tern_dep_value *next;
    const char *name;
    void *value;
};

tern_mw *tern__mw(tern_app *app)
{
    if (!app->mw)
        app->mw = calloc(1, sizeof(*app->mw));
    return app->mw;
}

tern_req_mw *tern__req_mw(tern_req *req)
{
    if (!req->mw && (req->mw = tern_arena_alloc(&req->arena, sizeof(*req->mw))))
        memset(req->mw, 0, sizeof(*req->mw));
    return req->mw;
}

static int mw_fail(tern_app *app, const char *what, const char *why)
{
    tern_mw *mw = tern__mw(app);
    if (mw && !mw->error) {
        char buf[300];
        snprintf(buf, sizeof buf, "%s: %s", what, why);
        mw->error = strdup(buf);
    }
    return -EINVAL;
}

/* ---- groups, middleware, dependencies ------------------------------------------- */

int tern_group_add(tern_app *app, const char *prefix, const tern_group_opts *opts)
{
    if (!prefix || prefix[0] != '/' || !opts)
        return mw_fail(app, "group", "a prefix starting with '/' and options are needed");
    tern_mw *mw = tern__mw(app);
    if (!mw)
        return TERN_ENOMEM;
    tern_mw_group *g = realloc(mw->groups, (mw->ngroups + 1) * sizeof(*g));
    if (!g)
        return mw_fail(app, prefix, "out of memory");
    mw->groups = g;
    g = &mw->groups[mw->ngroups];
    size_t len = strlen(prefix);
    while (len && prefix[len - 1] == '/') /* "/admin/" and "/admin" are one group; "/" is all */
        len--;
    if (!(g->prefix = strndup(prefix, len)))
        return mw_fail(app, prefix, "out of memory");
    g->prefix_len = len;
    g->opts = *opts;
    mw->ngroups++;
    if (opts->after)
        mw->has_after = true;
    return 0;
}

int tern_middleware(tern_app *app, tern_before_fn before, tern_after_fn after)
{
    return tern_group(app, "/", .before = before, .after = after);
}

int tern_depends(tern_app *app, const tern_dependency *deps)
{
    return tern_group(app, "/", .depends = deps);
}

/* "/admin" covers "/admin" and "/admin/...", never "/administrator". */
static bool covers(const tern_mw_group *g, const char *path, size_t len)
{
    return len >= g->prefix_len && !memcmp(path, g->prefix, g->prefix_len) &&
           (len == g->prefix_len || path[g->prefix_len] == '/');
}

static json_t *run_deps(tern_req *req, const tern_dependency *d)
{
    for (; d && d->fn; d++) {
        json_t *res = d->fn(req);
        if (res)
            return res;
    }
    return NULL;
}

json_t *tern__mw_before(tern_req *req)
{
    tern_mw *mw = req->worker->app->mw;
    json_t *res = NULL;
    if (mw) {
        for (size_t i = 0; i < mw->ngroups && !res; i++) {
            const tern_mw_group *g = &mw->groups[i];
            if (g->opts.before && covers(g, req->path, req->path_len))
                res = g->opts.before(req);
        }
        /* dependencies after every before function: a before may short-circuit cheaply
         * (a CORS-like check, a rate limit) before any dependency touches a pool */
        for (size_t i = 0; i < mw->ngroups && !res; i++) {
            const tern_mw_group *g = &mw->groups[i];
            if (g->opts.depends && covers(g, req->path, req->path_len))
                res = run_deps(req, g->opts.depends);
        }
    }
    if (!res)
        res = run_deps(req, req->route->opts.depends);
    return res;
}

uint64_t tern_req_elapsed_us(const tern_req *req)
{
    return (uv_hrtime() - req->start_ns) / 1000;
}

int tern_dep_set(tern_req *req, const char *name, void *value)
{
    tern_req_mw *m = tern__req_mw(req);
    tern_dep_value *v = tern_arena_alloc(&req->arena, sizeof(*v));
    char *n = name ? tern_arena_strndup(&req->arena, name, strlen(name)) : NULL;
    if (!m || !v || !n)
        return TERN_ENOMEM;
    v->name = n;
    v->value = value;
    v->next = m->values;
    m->values = v;
    return 0;
}

void *tern_dep_get(tern_req *req, const char *name)
{
    if (!req->mw || !name)
        return NULL;
    for (tern_dep_value *v = req->mw->values; v; v = v->next)
        if (!strcmp(v->name, name))
            return v->value;
    return NULL;
}

/* ---- status handlers and after functions ---------------------------------------- */

int tern_on_status(tern_app *app, int status, tern_status_fn fn)
{
    if (status < 100 || status > 599 || !fn)
        return mw_fail(app, "status handler", "needs a status 100-599 and a function");
    tern_mw *mw = tern__mw(app);
    if (!mw)
        return TERN_ENOMEM;
    for (size_t i = 0; i < mw->nstatuses; i++)
        if (mw->statuses[i].status == status) {
            mw->statuses[i].fn = fn; /* the last registration wins, as in FastAPI */
            return 0;
        }
    tern_mw_status *s = realloc(mw->statuses, (mw->nstatuses + 1) * sizeof(*s));
    if (!s)
        return mw_fail(app, "status handler", "out of memory");
    mw->statuses = s;
    s[mw->nstatuses++] = (tern_mw_status){status, fn};
    return 0;
}

bool tern__mw_wants_answers(const tern_app *app)
{
    return app->mw && (app->mw->has_after || app->mw->nstatuses);
}

json_t *tern__mw_finish(tern_req *req, int status, const json_t *body)
{
    tern_mw *mw = req->worker->app->mw;
    if (!mw)
        return NULL;
    json_t *replaced = NULL;
    for (size_t i = 0; i < mw->nstatuses; i++)
        if (mw->statuses[i].status == status) {
            replaced = mw->statuses[i].fn(req, status, body);
            break;
        }
    for (size_t i = mw->ngroups; i-- > 0;) {
        const tern_mw_group *g = &mw->groups[i];
        if (g->opts.after && covers(g, req->path, req->path_len))
            g->opts.after(req, status);
    }
    return replaced;
}

/* ---- app hooks ------------------------------------------------------------------- */

void tern_on_startup(tern_app *app, int (*fn)(void))
{
    tern_mw *mw = tern__mw(app);
    if (!mw || !fn || mw->nstartup == TERN_MW_MAX_HOOKS) {
        mw_fail(app, "startup hook", "needs a function; at most 8 startup hooks");
        return;
    }
    mw->startup[mw->nstartup++] = fn;
}

void tern_on_shutdown(tern_app *app, void (*fn)(void))
{
    tern_mw *mw = tern__mw(app);
    if (!mw || !fn || mw->nshutdown == TERN_MW_MAX_HOOKS) {
        mw_fail(app, "shutdown hook", "needs a function; at most 8 shutdown hooks");
        return;
    }
    mw->shutdown[mw->nshutdown++] = fn;
}

int tern__mw_prepare(tern_app *app, char *err, size_t errlen)
{
    if (app->mw && app->mw->error) {
        snprintf(err, errlen, "%s", app->mw->error);
        return -1;
    }
    if (!app->cfg.cors_allow_origins || !*app->cfg.cors_allow_origins)
        return 0;
    tern_mw *mw = tern__mw(app);
    if (!mw || tern__cors_compile(&mw->cors, &app->cfg) < 0) {
        snprintf(err, errlen, "out of memory for the CORS settings");
        return -1;
    }
    return 0;
}

int tern__mw_startup(tern_app *app, char *err, size_t errlen)
{
    tern_mw *mw = app->mw;
    for (size_t i = 0; mw && i < mw->nstartup; i++) {
        tern_set_errmsg("%s", "");
        int rc = mw->startup[i]();
        if (rc != 0) {
            snprintf(err, errlen, "startup hook %zu of %zu failed (returned %d)%s%s", i + 1,
                     mw->nstartup, rc, tern_errmsg()[0] ? ": " : "", tern_errmsg());
            return -1;
        }
    }
    return 0;
}

void tern__mw_shutdown(tern_app *app)
{
    tern_mw *mw = app->mw;
    for (size_t i = mw ? mw->nshutdown : 0; i-- > 0;)
        mw->shutdown[i]();
}

void tern__mw_free(tern_app *app)
{
    tern_mw *mw = app->mw;
    if (!mw)
        return;
    for (size_t i = 0; i < mw->ngroups; i++)
        free(mw->groups[i].prefix);
    free(mw->groups);
    free(mw->statuses);
    for (size_t i = 0; i < mw->nstatics; i++) {
        free(mw->statics[i].prefix);
        free(mw->statics[i].dir);
    }
    free(mw->statics);
    free(mw->error);
    tern__cors_free(&mw->cors);
    free(mw);
    app->mw = NULL;
}
