/* server/app_impl.h - the app object and its route records (internal). */
#ifndef TERN_APP_IMPL_H
#define TERN_APP_IMPL_H

#include <h2o.h>

#include "tern/app.h"
#include "body_check.h"
#include "param_check.h"
#include "router.h"

/** A registered route: what the router hands back on a match. */
typedef struct tern_route_rec {
    tern_method method;
    char *pattern;             /**< as declared, also the route label in logs */
    tern_handler fn;
    tern_route_opts opts;      /**< copy (strings still the caller's: static declarations) */
    tern_param_set params;     /**< declared + inline-typed path parameters, compiled */
    int status_code;           /**< success status (200 unless declared) */
    tern_body_schema *body;    /**< compiled opts.body (NULL: no declared body) */
    char *owned_names[TERN_ROUTER_MAX_CAPTURES]; /**< names of undeclared path parameters */
    size_t nowned;
    size_t index;              /**< position in app->routes (its metrics row) */
} tern_route_rec;

typedef struct tern_worker tern_worker;

/** The application. Read-only once the workers run. */
struct tern_app {
    tern_config cfg;
    tern_router *router;
    tern_route_rec **routes;
    size_t nroutes, cap_routes;
    char *route_error;         /**< first route registration failure (start-up refuses) */
    h2o_globalconf_t h2o;      /**< shared by every worker's h2o context */
    h2o_hostconf_t *hostconf;
    SSL_CTX *ssl_ctx;          /**< TLS + HTTP/2 when a cert and key are configured */
    tern_worker *workers;
    int nworkers;
    void (*worker_start_hooks[8])(void); /**< tern_on_worker_start, in order */
    size_t nworker_start_hooks;
    void (*worker_stop_hooks[8])(void); /**< tern_on_worker_stop, run in reverse order */
    size_t nworker_stop_hooks;
    tern_validation_handler on_validation_error; /**< custom 422 answer (NULL: FastAPI's) */
    volatile int start_failed;  /**< a worker could not open its pools: exit 2 */
    struct tern_mw *mw;         /**< middleware, hooks, CORS, static files (server/middleware.h) */
    struct tern_docs *docs;     /**< the OpenAPI document and docs pages (docs.enabled) */
};

#endif
