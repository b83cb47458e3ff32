/* server/request.c - what a handler reads from its request: parameters, query,
 * headers, body, arena memory and deferred cleanups. Everything handed out is an
 * arena copy, so it stays valid even after h2o has freed a disconnected request. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tern/error.h"
#include "request.h"
#include "worker.h"
#include "scheduler.h"

tern_req *tern_current_req(void)
{
    tern_task *t = tern__current();
    if (!t || !t->scope)
        return NULL;
    return t->scope->is_request ? t->scope->udata : NULL;
}

const tern_config *tern_req_config(const tern_req *req)
{
    return &req->worker->app->cfg;
}

tern_method tern_req_method(const tern_req *req)
{
    return req->method;
}

const char *tern_req_path(const tern_req *req)
{
    return req->path;
}

const char *tern_req_query(const tern_req *req)
{
    return req->query;
}

static const tern_param_value *find_value(tern_req *req, const char *name)
{
    if (!req->route)
        return NULL;
    int i = tern_param_set_find(&req->route->params, name);
    return i < 0 ? NULL : &req->values[i];
}

int64_t tern_param_int(tern_req *req, const char *name)
{
    const tern_param_value *v = find_value(req, name);
    return v && v->present ? v->i : 0;
}

double tern_param_float(tern_req *req, const char *name)
{
    const tern_param_value *v = find_value(req, name);
    return v && v->present ? v->f : 0.0;
}

bool tern_param_bool(tern_req *req, const char *name)
{
    const tern_param_value *v = find_value(req, name);
    return v && v->present && v->b;
}

const char *tern_param_str(tern_req *req, const char *name)
{
    const tern_param_value *v = find_value(req, name);
    return v && v->present ? v->text : NULL;
}

bool tern_param_present(tern_req *req, const char *name)
{
    const tern_param_value *v = find_value(req, name);
    return v && v->present;
}

const char *tern_path_str(tern_req *req, const char *name)
{
    return tern_param_str(req, name);
}

static bool parse_query(tern_req *req)
{
    if (!req->qparsed_ok) {
        if (tern_query_parse(&req->arena, req->query, req->query_len, TERN_QUERY_MAX_PAIRS,
                             &req->qparsed) < 0)
            return false;
        req->qparsed_ok = true;
    }
    return true;
}

const char *tern_query_str(tern_req *req, const char *name)
{
    if (!parse_query(req))
        return NULL;
    return tern_query_get(&req->qparsed, name, NULL);
}

const char *tern_header(tern_req *req, const char *name)
{
    if (!req->h2o || !name)
        return NULL;
    size_t nl = strlen(name);
    const h2o_headers_t *hs = &req->h2o->headers;
    for (size_t i = 0; i < hs->size; i++) {
        const h2o_header_t *h = &hs->entries[i];
        if (h->name->len == nl && strncasecmp(h->name->base, name, nl) == 0)
            return tern_arena_strndup(&req->arena, h->value.base, h->value.len);
    }
    return NULL;
}

const char *tern_body(tern_req *req, size_t *len)
{
    if (!req->body_copied) {
        req->body_copied = true;
        if (req->h2o && req->h2o->entity.base) {
            req->body = tern_arena_strndup(&req->arena, req->h2o->entity.base, req->h2o->entity.len);
            req->body_len = req->body ? req->h2o->entity.len : 0;
        }
    }
    if (len)
        *len = req->body ? req->body_len : 0;
    return req->body ? req->body : "";
}

json_t *tern_body_json(tern_req *req)
{
    return req->body_json;
}

tern_body_status tern__req_check_body(tern_req *req, json_t *errors)
{
    const tern_route_rec *r = req->route;
    if (!r->body || !req->h2o)
        return TERN_BODY_OK;
    const tern_config *cfg = &req->worker->app->cfg;
    tern_body_limits lim = {(size_t)cfg->json_depth, (size_t)cfg->json_items};
    /* h2o keeps the entity for the request's life: no copy needed to validate it */
    const h2o_iovec_t *e = &req->h2o->entity;
    tern_body_status st = tern_body_check(r->body, r->opts.body_optional,
                                          tern_header(req, "content-type"), e->base ? e->base : "",
                                          e->base ? e->len : 0, &lim, errors, &req->body_json);
    if (st == TERN_BODY_JSON_INVALID)
        while (json_array_size(errors) > 1)
            json_array_remove(errors, 0);
    return st;
}

void *tern_alloc(tern_req *req, size_t n)
{
    return tern_arena_alloc(&req->arena, n);
}

char *tern_strdup(tern_req *req, const char *s)
{
    return s ? tern_arena_strndup(&req->arena, s, strlen(s)) : NULL;
}

char *tern_sprintf(tern_req *req, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = tern_arena_alloc(&req->arena, (size_t)n + 1);
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

int tern_defer(tern_req *req, void (*fn)(void *arg), void *arg)
{
    tern_defer_rec *d = tern_arena_alloc(&req->arena, sizeof(*d));
    if (!d)
        return TERN_ENOMEM;
    d->fn = fn;
    d->arg = arg;
    d->next = req->defers;
    req->defers = d;
    return 0;
}

/* ---- where declared parameters find their raw text -------------------------------- */

static const char *find_cookie(tern_req *req, const char *name, size_t *len)
{
    const char *hdr = tern_header(req, "cookie");
    size_t nl = strlen(name);
    const char *p = hdr;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *eq = strchr(p, '=');
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        if (eq && eq < end && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
            *len = (size_t)(end - eq - 1);
            return tern_arena_strndup(&req->arena, eq + 1, *len);
        }
        p = end;
    }
    return NULL;
}

static const char *param_text(void *ctx, tern_param_in in, const char *name, size_t *len)
{
    tern_req *req = ctx;
    switch (in) {
    case TERN_IN_PATH:
        for (size_t i = 0; i < req->ncaptures; i++)
            if (strcmp(req->captures[i].name, name) == 0) {
                *len = req->captures[i].len;
                return req->captures[i].value;
            }
        return NULL;
    case TERN_IN_QUERY:
        return parse_query(req) ? tern_query_get(&req->qparsed, name, len) : NULL;
    case TERN_IN_HEADER: {
        const char *v = tern_header(req, name);
        if (v)
            *len = strlen(v);
        return v;
    }
    case TERN_IN_COOKIE:
        return find_cookie(req, name, len);
    }
    return NULL;
}

static const char *param_nth(void *ctx, tern_param_in in, const char *name, size_t index,
                             size_t *len)
{
    tern_req *req = ctx;
    if (in != TERN_IN_QUERY || !parse_query(req))
        return NULL;
    return tern_query_nth(&req->qparsed, name, index, len);
}

size_t tern__req_check_params(tern_req *req, json_t *errors)
{
    const tern_param_set *set = &req->route->params;
    if (!set->n)
        return 0;
    req->values = tern_arena_alloc(&req->arena, set->n * sizeof(*req->values));
    if (!req->values)
        return (size_t)-1;
    tern_param_source src = {param_text, req, param_nth};
    size_t nerr = tern_params_check(set, &src, &req->arena, req->values, errors);
    /* lists move into one object the request releases; values keep borrowed pointers */
    for (size_t i = 0; i < set->n; i++) {
        json_t *list = req->values[i].list;
        if (!list)
            continue;
        if (!req->lists)
            req->lists = json_object();
        json_object_set_new(req->lists, set->decls[i].name, list);
    }
    return nerr;
}

json_t *tern_param_list(tern_req *req, const char *name)
{
    return name ? json_object_get(req->lists, name) : NULL;
}
