/* server/app.c - the app: config, route registration (with parameter declarations
 * merged from the path pattern), h2o set-up, TLS, workers, and the signal-driven
 * graceful shutdown. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tern/tern.h"
#include "app_impl.h"
#include "docs.h"
#include "error_pages.h"
#include "log.h"
#include "middleware.h"
#include "request.h"
#include "resolve.h"
#include "static_files.h"
#include "worker.h"

#define MAX_PATH_PARAMS TERN_ROUTER_MAX_CAPTURES

const char *tern_version(void)
{
    return "0.1.0";
}

static tern_app *app_alloc(void)
{
    tern_app *app = calloc(1, sizeof(*app));
    if (!app || !(app->router = tern_router_new())) {
        fprintf(stderr, "tern: out of memory\n");
        exit(2);
    }
    return app;
}

tern_app *tern_app_new(int argc, char **argv)
{
    tern_app *app = app_alloc();
    char err[512];
    int rc = tern_config_load(&app->cfg, argc, argv, err, sizeof err);
    if (rc == 1)
        exit(0);
    if (rc < 0) {
        fprintf(stderr, "tern: %s\n", err);
        exit(2);
    }
    tern_log_set_level(app->cfg.log_level);
    return app;
}

tern_app *tern_app_new_with_config(const tern_config *cfg)
{
    tern_app *app = app_alloc();
    if (tern_config_copy(&app->cfg, cfg) < 0) {
        fprintf(stderr, "tern: out of memory\n");
        exit(2);
    }
    tern_log_set_level(app->cfg.log_level);
    return app;
}

const tern_config *tern_app_config(const tern_app *app)
{
    return &app->cfg;
}

/* ---- routes ----------------------------------------------------------------------- */

typedef struct path_param {
    char name[64];
    tern_param_type type;
} path_param;

/* The `{name}` / `{name:type}` segments of a pattern (the router has validated it). */
static size_t pattern_params(const char *pattern, path_param *out, size_t max)
{
    size_t n = 0;
    for (const char *p = strchr(pattern, '{'); p && n < max; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        if (!end)
            break;
        const char *colon = memchr(p, ':', (size_t)(end - p));
        size_t nl = (size_t)((colon ? colon : end) - p - 1);
        if (nl >= sizeof out[n].name)
            nl = sizeof out[n].name - 1;
        memcpy(out[n].name, p + 1, nl);
        out[n].name[nl] = '\0';
        out[n].type = TERN_T_STR;
        if (colon) {
            size_t tl = (size_t)(end - colon - 1);
            if (tl == 3 && !memcmp(colon + 1, "int", 3))
                out[n].type = TERN_T_INT;
            else if (tl == 5 && !memcmp(colon + 1, "float", 5))
                out[n].type = TERN_T_FLOAT;
        }
        n++;
    }
    return n;
}

static void route_fail(tern_app *app, tern_method m, const char *path, const char *why)
{
    if (app->route_error)
        return; /* the first failure is the one to fix */
    char buf[512];
    snprintf(buf, sizeof buf, "route %s %s: %s", tern_method_name(m) ? tern_method_name(m) : "?",
             path ? path : "(null)", why);
    app->route_error = strdup(buf);
}

void tern_on_validation_error(tern_app *app, tern_validation_handler fn)
{
    app->on_validation_error = fn;
}

void tern_on_worker_stop(tern_app *app, void (*fn)(void))
{
    size_t max = sizeof app->worker_stop_hooks / sizeof app->worker_stop_hooks[0];
    if (app->nworker_stop_hooks == max) {
        route_fail(app, TERN_GET, "(stop hook)", "more than 8 worker stop hooks");
        return;
    }
    app->worker_stop_hooks[app->nworker_stop_hooks++] = fn;
}

void tern_on_worker_start(tern_app *app, void (*fn)(void))
{
    size_t max = sizeof app->worker_start_hooks / sizeof app->worker_start_hooks[0];
    if (app->nworker_start_hooks == max) {
        route_fail(app, TERN_GET, "(startup hook)", "more than 8 worker start hooks");
        return;
    }
    app->worker_start_hooks[app->nworker_start_hooks++] = fn;
}

/* Declared parameters plus a str/int/float declaration for every path segment that
 * has none, checked against the pattern. On failure, why says what is wrong. */
static int build_params(tern_route_rec *r, const tern_param *decl, char *why, size_t whylen)
{
    path_param pp[MAX_PATH_PARAMS];
    size_t npp = pattern_params(r->pattern, pp, MAX_PATH_PARAMS);
    size_t ndecl = 0;
    while (decl && decl[ndecl].name)
        ndecl++;
    tern_param *all = calloc(ndecl + npp + 1, sizeof(*all));
    if (!all) {
        snprintf(why, whylen, "out of memory");
        return TERN_ENOMEM;
    }
    size_t n = 0;
    int rc = -EINVAL;
    for (size_t i = 0; i < ndecl; i++) {
        size_t k = 0;
        while (decl[i].in == TERN_IN_PATH && k < npp && strcmp(pp[k].name, decl[i].name) != 0)
            k++;
        if (decl[i].in == TERN_IN_PATH && k == npp) {
            snprintf(why, whylen, "path parameter '%.64s' is declared but not in the path",
                     decl[i].name);
            goto out;
        }
        all[n++] = decl[i];
    }
    for (size_t k = 0; k < npp; k++) {
        size_t i = 0;
        while (i < ndecl && !(decl[i].in == TERN_IN_PATH && !strcmp(decl[i].name, pp[k].name)))
            i++;
        if (i < ndecl) {
            if (pp[k].type != TERN_T_STR && decl[i].type != pp[k].type) {
                snprintf(why, whylen, "path parameter '%.64s': inline type differs from its declaration",
                         pp[k].name);
                goto out;
            }
            continue;
        }
        char *name = strdup(pp[k].name); /* freed with the route */
        if (!name)
            goto out;
        r->owned_names[r->nowned++] = name;
        all[n++] = (tern_param){.name = name, .in = TERN_IN_PATH, .type = pp[k].type, .required = true};
    }
    rc = tern_param_set_init(&r->params, all, n);
    if (rc < 0)
        snprintf(why, whylen, "%s", tern_errmsg());
out:
    free(all);
    return rc;
}

static void route_free(tern_route_rec *r)
{
    tern_body_schema_free(r->body);
    tern_param_set_free(&r->params);
    for (size_t i = 0; i < r->nowned; i++)
        free(r->owned_names[i]);
    free(r->pattern);
    free(r);
}

int tern_route(tern_app *app, tern_method m, const char *path, tern_handler fn,
               const tern_route_opts *opts)
{
    if (!path || !fn || (unsigned)m >= TERN_METHOD_COUNT) {
        route_fail(app, m, path, "needs a method, a path and a handler");
        return -EINVAL;
    }
    tern_route_rec *r = calloc(1, sizeof(*r));
    if (!r || !(r->pattern = strdup(path))) {
        free(r);
        route_fail(app, m, path, "out of memory");
        return TERN_ENOMEM;
    }
    r->method = m;
    r->fn = fn;
    if (opts)
        r->opts = *opts;
    r->status_code = r->opts.status_code ? r->opts.status_code : 200;
    char why[256];
    /* the router validates the pattern's syntax first; parameters are built after */
    int rc = tern_router_add(app->router, m, r->pattern, r);
    if (rc < 0) {
        route_fail(app, m, path, tern_errmsg());
        free(r->pattern);
        free(r);
        return rc;
    }
    if (app->nroutes == app->cap_routes) {
        size_t cap = app->cap_routes ? app->cap_routes * 2 : 16;
        tern_route_rec **routes = realloc(app->routes, cap * sizeof(*routes));
        if (!routes) {
            route_fail(app, m, path, "out of memory");
            return TERN_ENOMEM; /* r stays in the router; start-up refuses anyway */
        }
        app->routes = routes;
        app->cap_routes = cap;
    }
    r->index = app->nroutes;
    app->routes[app->nroutes++] = r; /* the router points at r: the app owns and frees it */
    rc = build_params(r, r->opts.params, why, sizeof why);
    if (rc < 0)
        route_fail(app, m, path, why);
    else if (r->opts.body && (rc = tern_body_schema_new(r->opts.body, &r->body)) < 0)
        route_fail(app, m, path, tern_errmsg());
    return rc;
}

/* ---- running ------------------------------------------------------------------------ */

static int setup_tls(tern_app *app)
{
    const tern_config *cfg = &app->cfg;
    if (!cfg->tls_cert || !*cfg->tls_cert)
        return 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return -ENOMEM;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        fprintf(stderr, "tern: config: tls.cert: cannot load '%s'\n", cfg->tls_cert);
        SSL_CTX_free(ctx);
        return -EINVAL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "tern: config: tls.key: cannot load '%s' or it does not match tls.cert\n",
                cfg->tls_key);
        SSL_CTX_free(ctx);
        return -EINVAL;
    }
    /* ALPN: h2 first, then http/1.1 */
    h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    app->ssl_ctx = ctx;
    return 0;
}

static void setup_h2o(tern_app *app)
{
    const tern_config *cfg = &app->cfg;
    h2o_config_init(&app->h2o);
    app->h2o.server_name = h2o_iovec_init(cfg->server_name, strlen(cfg->server_name));
    app->h2o.max_request_entity_size = cfg->body_limit;
    app->h2o.http1.req_timeout = cfg->header_timeout_ms;
    app->h2o.http2.idle_timeout = cfg->header_timeout_ms;
    app->h2o.handshake_timeout = cfg->header_timeout_ms;
    app->hostconf = h2o_config_register_host(&app->h2o, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    tern__static_register(app); /* before "/": h2o takes the first matching prefix */
    h2o_pathconf_t *root = h2o_config_register_path(app->hostconf, "/", 0);
    tern_h2o_handler *h = (tern_h2o_handler *)h2o_create_handler(root, sizeof(*h));
    h->super.on_req = tern__on_req;
    h->app = app;
    tern__install_error_filter(root, cfg->body_limit);
    if (app->mw)
        tern__cors_install(&app->mw->cors, root);
    /* h2o answers early errors (413, broken framing) on the host's fallback path */
    tern__install_error_filter(&app->hostconf->fallback_path, cfg->body_limit);
}

static void app_free(tern_app *app)
{
    for (size_t i = 0; i < app->nroutes; i++)
        route_free(app->routes[i]);
    free(app->routes);
    for (int i = 0; app->workers && i < app->cfg.workers; i++)
        tern__metrics_worker_free(&app->workers[i].metrics);
    tern_router_free(app->router);
    if (app->h2o.hosts)
        h2o_config_dispose(&app->h2o);
    if (app->ssl_ctx)
        SSL_CTX_free(app->ssl_ctx);
    free(app->workers);
    free(app->route_error);
    tern__mw_free(app);
    tern__docs_free(app->docs);
    tern_config_free(&app->cfg);
    free(app);
}

void tern_app_free(tern_app *app)
{
    app_free(app);
}

/* Every connection is a file descriptor: a default soft limit of 1024 would refuse
 * clients long before limits.connections does. The hard limit is ours to take. */
static void raise_open_files(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            tern_log_warn("cannot raise the open-file limit: %s", strerror(errno));
    }
}

/* A worker's heap grows and shrinks with every loop iteration (a few hundred requests'
 * pools and buffers at once). glibc gives the top of a thread's heap back as soon as
 * 128 KiB are free, so each iteration paid an madvise and then page faults to take the
 * memory again: half the CPU of a bare libh2o server at 128 connections. Freed memory
 * is kept up to 32 MiB per heap unless the user set glibc's own trim threshold. */
static void keep_freed_memory(void)
{
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (getenv("MALLOC_TRIM_THRESHOLD_") || (tunables && strstr(tunables, "trim_threshold")))
        return;
    mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
}

/* Starts every worker; on failure stops those already running. */
static int start_workers(tern_app *app)
{
    keep_freed_memory();
    app->nworkers = app->cfg.workers;
    app->workers = calloc((size_t)app->nworkers, sizeof(*app->workers));
    if (!app->workers)
        return TERN_ENOMEM;
    for (int i = 0; i < app->nworkers; i++) {
        tern_worker *w = &app->workers[i];
        w->id = i;
        w->app = app;
        w->listen_fd = -1;
        int rc = tern_worker_listen(w);
        if (rc == 0)
            rc = tern_worker_start(w);
        if (rc < 0) {
            fprintf(stderr, "tern: %s\n", tern_errmsg());
            for (int k = 0; k < i; k++)
                tern_worker_stop(&app->workers[k]);
            for (int k = 0; k < i; k++)
                tern_worker_join(&app->workers[k]);
            app->nworkers = 0;
            return rc;
        }
    }
    return 0;
}

int tern_run(tern_app *app)
{
    tern__metrics_route(app); /* after the app's routes: a clash names the app's route */
    tern_log_set_context(tern__req_id_current);
    if (app->route_error) {
        fprintf(stderr, "tern: %s\n", app->route_error);
        app_free(app);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Workers inherit a mask with SIGTERM/SIGINT blocked; only this thread takes them,
     * in sigwait, so no handler ever runs on a worker's coroutine stack. */
    sigset_t stop_sigs, old;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, &old);

    char err[600];
    /* the document is rendered here, once every route is declared and before any
     * worker reads the router */
    if (tern__mw_prepare(app, err, sizeof err) < 0 || tern__docs_setup(app, err, sizeof err) < 0 ||
        tern__resolve_url(&app->cfg.redis_url, "redis.url", err, sizeof err) < 0 ||
        tern__resolve_url(&app->cfg.mysql_url, "mysql.url", err, sizeof err) < 0) {
        fprintf(stderr, "tern: %s\n", err);
        app_free(app);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return 2;
    }
    raise_open_files();
    setup_h2o(app);
    int rc = setup_tls(app);
    if (rc == 0 && tern__mw_startup(app, err, sizeof err) < 0) {
        fprintf(stderr, "tern: %s\n", err);
        rc = -ECANCELED;
    }
    if (rc == 0)
        rc = start_workers(app);
    if (rc < 0) {
        app_free(app);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return 2;
    }
    tern_log_info("tern %s listening on %s://%s:%d with %d worker(s)", tern_version(),
                  app->ssl_ctx ? "https" : "http", app->cfg.host, app->cfg.port, app->nworkers);

    int sig = 0;
    sigwait(&stop_sigs, &sig); /* a worker that fails to start raises SIGTERM too */
    tern_log_info("received %s: draining (up to %llu ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                  (unsigned long long)app->cfg.drain_timeout_ms);
    for (int i = 0; i < app->nworkers; i++)
        tern_worker_stop(&app->workers[i]);
    for (int i = 0; i < app->nworkers; i++)
        tern_worker_join(&app->workers[i]);
    uint64_t served = 0;
    for (int i = 0; i < app->nworkers; i++)
        served += app->workers[i].served;
    tern_log_info("stopped after %llu response(s)", (unsigned long long)served);
    tern__mw_shutdown(app);
    int code = app->start_failed ? 2 : 0;
    app_free(app);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return code;
}
