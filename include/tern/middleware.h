/* tern/middleware.h - what runs around handlers: dependencies (FastAPI's Depends),
 * before/after middleware for every request or a route group (a path prefix, like an
 * APIRouter with dependencies), exception handlers per status, background tasks,
 * app-wide startup/shutdown hooks and static files.
 *
 * Order for a request that matched a route and passed validation, on its coroutine:
 * the before functions (global, then groups, in registration order), then the
 * dependencies (app-wide, group, route), then the handler. Any of them may wait
 * (Redis, SQL, sleep) and any may end the request early by returning an answer.
 * Then, on the loop just before the answer is sent (also for the router's own
 * 404/405/422): the status handler of its status, then the after functions (groups,
 * then global, newest first). */
#ifndef TERN_MIDDLEWARE_H
#define TERN_MIDDLEWARE_H

#include <stdint.h>
#include <jansson.h>

#include "route.h"

/** Runs before the handler; returns NULL to go on, or the answer that ends the
 *  request (e.g. tern_error(req, 401, "Not authenticated")). May wait. */
typedef json_t *(*tern_before_fn)(tern_req *req);

/** Runs just before an answer is sent, with its final status; may add headers with
 *  tern_set_header. Runs on the loop: it must not wait. */
typedef void (*tern_after_fn)(tern_req *req, int status);

/** Gives the body of answers with status: receives the body tern would send (NULL
 *  for a non-JSON one, borrowed) and returns the new body (new reference) or NULL to
 *  keep it. Runs on the loop: it must not wait. */
typedef json_t *(*tern_status_fn)(tern_req *req, int status, const json_t *body);

/** A dependency: a before function with a name; lists of them end with {0}. */
struct tern_dependency {
    const char *name;  /**< shown in logs; may be NULL */
    tern_before_fn fn; /**< NULL ends a list */
};

/** Options of a route group; give them as designated initializers to tern_group(). */
typedef struct tern_group_opts {
    int _reserved;         /**< keeps an empty option list valid */
    tern_before_fn before; /**< before every handler under the prefix (may be NULL) */
    tern_after_fn after;   /**< after every answer under the prefix (may be NULL) */
    const tern_dependency
        *depends; /**< dependencies of every route under the prefix, ended by {0} */
} tern_group_opts;

/** Adds middleware to a path prefix ("/admin" covers /admin and /admin/..., not
 *  /administrator; "/" covers everything). 0, or a negative code (start-up then refuses). */
int tern_group_add(tern_app *app, const char *prefix, const tern_group_opts *opts);

/** tern_group(app, "/admin", .before = fn, .after = fn, .depends = deps). */
#define tern_group(app, prefix, ...)                                                               \
    tern_group_add((app), (prefix), &(const tern_group_opts){._reserved = 0, __VA_ARGS__})

/** Global middleware: before and/or after (either may be NULL) for every request. */
int tern_middleware(tern_app *app, tern_before_fn before, tern_after_fn after);

/** App-wide dependencies (ended by {0}), run for every route before its own. */
int tern_depends(tern_app *app, const tern_dependency *deps);

/** Microseconds since the request arrived (for timing middleware such as X-Process-Time). */
uint64_t tern_req_elapsed_us(const tern_req *req);

/** Hands a value from a dependency to the handler (the last set for a name wins). 0,
 *  or TERN_ENOMEM. The name is copied; the value must live as long as the request. */
int tern_dep_set(tern_req *req, const char *name, void *value);

/** The value a dependency set under name, NULL when none. */
void *tern_dep_get(tern_req *req, const char *name);

/** Replaces the body of every answer with this status (100-599), including the
 *  router's 404/405, validation 422s and handler errors. 0 or -EINVAL. */
int tern_on_status(tern_app *app, int status, tern_status_fn fn);

/** Queues fn(arg) to run after the answer is sent, on its own coroutine of the worker
 *  (FastAPI's BackgroundTasks): it may wait on pools, has no deadline, and shutdown waits
 *  for it up to drain_timeout_ms (then its waits fail with TERN_ECANCELED). It runs even
 *  when the client left, so arg must outlive the request (static, or freed by fn).
 *  0, or TERN_ENOMEM. */
int tern_background(tern_req *req, void (*fn)(void *arg), void *arg);

/** Runs fn once on the main thread before the workers start serving (after the pools'
 *  host names are resolved); a nonzero return stops start-up with exit code 2. */
void tern_on_startup(tern_app *app, int (*fn)(void));

/** Runs fn once on the main thread after every worker stopped (newest first). */
void tern_on_shutdown(tern_app *app, void (*fn)(void));

/** Serves the files under dir at URL prefix (GET/HEAD with ETag, Last-Modified, Range,
 *  MIME types; no directory listing, no index files, nothing outside dir). Missing
 *  files answer 404 {"detail":"Not Found"}. 0, or a negative code (start-up refuses). */
int tern_static(tern_app *app, const char *prefix, const char *dir);

#endif
