/* server/middleware.h - the app's middleware state (groups, status handlers, hooks,
 * static mounts, CORS) and each request's extra state (dependency values, queued
 * background tasks, its stream), with the calls server/http.c makes (internal). */
#ifndef TERN_SERVER_MIDDLEWARE_H
#define TERN_SERVER_MIDDLEWARE_H

#include <stdbool.h>
#include <h2o.h>

#include "tern/middleware.h"
#include "cors.h"

typedef struct tern_worker tern_worker;

typedef struct tern_mw_group {
    char *prefix; /**< without a trailing '/'; "" for every path */
    size_t prefix_len;
    tern_group_opts opts;
} tern_mw_group;

typedef struct tern_mw_status {
    int status;
    tern_status_fn fn;
} tern_mw_status;

typedef struct tern_static_mount {
    char *prefix;
    char *dir;
} tern_static_mount;

#define TERN_MW_MAX_HOOKS 8

/** Everything this file family adds to an app; created on first use. */
typedef struct tern_mw {
    tern_mw_group *groups;
    size_t ngroups;
    tern_mw_status *statuses;
    size_t nstatuses;
    bool has_after; /**< some group has an after function */
    int (*startup[TERN_MW_MAX_HOOKS])(void);
    size_t nstartup;
    void (*shutdown[TERN_MW_MAX_HOOKS])(void);
    size_t nshutdown;
    tern_static_mount *statics;
    size_t nstatics;
    char *error;    /**< first registration failure: start-up refuses */
    tern_cors cors; /**< compiled from the config by tern__mw_prepare */
} tern_mw;

typedef struct tern_dep_value tern_dep_value;
typedef struct tern_bg_item tern_bg_item;
typedef struct tern_stream tern_stream;

/** A request's middleware state, in its arena; created on first use. */
typedef struct tern_req_mw {
    tern_dep_value *values;
    tern_bg_item *bg_head, *bg_tail;
    tern_stream *stream; /**< in h2o's pool: touch it only while req->h2o is set */
    int stream_status;   /**< the streamed answer's status, for the access log */
    size_t stream_bytes; /**< body bytes handed to h2o */
    bool stream_ended;   /**< the last chunk was sent (tern_stream_end) */
    bool stream_head;    /**< a HEAD request: headers only, writes do nothing */
} tern_req_mw;

/** The app's middleware state, created when missing (NULL only when out of memory). */
tern_mw *tern__mw(tern_app *app);

/** The request's middleware state, created when missing (NULL when out of memory). */
tern_req_mw *tern__req_mw(tern_req *req);

/** Compiles the CORS settings and reports a failed registration. 0, or -1 with a line
 *  in err (exit 2). Main thread, before the workers start. */
int tern__mw_prepare(tern_app *app, char *err, size_t errlen);

/** Runs the startup hooks; -1 with a line in err when one fails. */
int tern__mw_startup(tern_app *app, char *err, size_t errlen);

/** Runs the shutdown hooks, newest first. */
void tern__mw_shutdown(tern_app *app);

/** Frees the app's middleware state. */
void tern__mw_free(tern_app *app);

/** True when answers that never reached a handler need a request object for status
 *  handlers or after functions. */
bool tern__mw_wants_answers(const tern_app *app);

/** The before functions and dependencies of req's route, on its coroutine. NULL to go
 *  on to the handler, else the answer. */
json_t *tern__mw_before(tern_req *req);

/** The status handler and the after functions for an answer about to be sent. Returns
 *  the body to send instead (new reference), or NULL to keep body. */
json_t *tern__mw_finish(tern_req *req, int status, const json_t *body);

#endif
