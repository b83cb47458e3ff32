/* server/openapi.c - the OpenAPI 3.1 document of an app, from its route declarations,
 * shaped as FastAPI emits it for the equivalent Python: operationId from the handler's
 * name, path and method; summary from the handler's name; parameters path, query,
 * header, cookie; a `422` answer wherever something is validated; models under
 * components.schemas. Built once before the workers start; see docs.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "tern/openapi.h"
#include "app_impl.h"
#include "docs.h"
#include "openapi_schema.h"

#define VALIDATION_REF "#/components/schemas/HTTPValidationError"

typedef struct doc_ctx {
    json_t *paths;
    tern_oa_models models;
    bool any_validation;   /* some operation answers 422: the error schemas are needed */
    bool failed;
    char err[300];
} doc_ctx;

/* "/items/{item_id:int}" -> "/items/{item_id}" (FastAPI's path_format) */
static char *path_format(const char *pattern)
{
    char *out = malloc(strlen(pattern) + 1), *o = out;
    if (!out)
        return NULL;
    bool in_braces = false;
    for (const char *p = pattern; *p; p++) {
        if (*p == '{' || *p == '}') {
            in_braces = *p == '{';
        } else if (*p == ':' && in_braces) {
            const char *close = strchr(p, '}');
            if (close) {
                p = close - 1; /* skip the type; the '}' comes next */
                continue;
            }
        }
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

/* FastAPI's generate_unique_id: name + path with every non-word character as '_',
 * then '_' + the method in lower case: read_item_items__item_id__get. */
static char *unique_id(const char *name, const char *path, tern_method m)
{
    const char *method = tern_method_name(m);
    size_t n = strlen(name) + strlen(path) + strlen(method) + 2;
    char *id = malloc(n);
    if (!id)
        return NULL;
    int len = snprintf(id, n, "%s%s_", name, path);
    for (int i = 0; i < len - 1; i++) {
        unsigned char c = (unsigned char)id[i];
        /* bytes of UTF-8 letters stay, as Python's \W keeps letters */
        if (!(c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '_'))
            id[i] = '_';
    }
    for (const char *c = method; *c; c++)
        id[len++] = (char)(*c - 'A' + 'a');
    id[len] = '\0';
    return id;
}

static const char *reason_phrase(int status)
{
    static const struct {
        int status;
        const char *text;
    } phrases[] = {
        {200, "OK"}, {201, "Created"}, {202, "Accepted"}, {204, "No Content"},
        {301, "Moved Permanently"}, {302, "Found"}, {304, "Not Modified"},
        {307, "Temporary Redirect"}, {400, "Bad Request"}, {401, "Unauthorized"},
        {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
        {409, "Conflict"}, {410, "Gone"}, {413, "Request Entity Too Large"},
        {415, "Unsupported Media Type"}, {422, "Unprocessable Entity"},
        {429, "Too Many Requests"}, {500, "Internal Server Error"}, {502, "Bad Gateway"},
        {503, "Service Unavailable"}, {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
        if (phrases[i].status == status)
            return phrases[i].text;
    return "Additional Response";
}

/* ---- operation parts ---------------------------------------------------------------- */

static json_t *parameters(const tern_route_rec *r)
{
    static const tern_param_in order[] = {TERN_IN_PATH, TERN_IN_QUERY, TERN_IN_HEADER,
                                          TERN_IN_COOKIE};
    static const char *const in_names[] = {NULL, "path", "query", "header", "cookie"};
    json_t *list = json_array();
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        for (size_t i = 0; i < r->params.n; i++) {
            const tern_param *p = &r->params.decls[i];
            if (p->in != order[k])
                continue;
            char alias[128];
            json_t *o = json_pack("{s:s,s:s,s:b,s:o}", "name",
                                  tern__oa_param_name(p, alias, sizeof alias), "in",
                                  in_names[p->in], "required", p->required || p->in == TERN_IN_PATH,
                                  "schema", tern__oa_param_schema(p));
            if (p->description)
                json_object_set_new(o, "description", json_string(p->description));
            json_array_append_new(list, o);
        }
    }
    return list;
}

/* A model's schema, or an array of it titled like FastAPI's response field
 * ("Response_" + the field's id, title-cased). NULL when the model is refused. */
static json_t *model_schema_ref(doc_ctx *d, const tern_model *m, bool is_list, const char *field)
{
    json_t *ref = tern__oa_model_ref(&d->models, m);
    if (!ref || !is_list)
        return ref;
    json_t *s = json_pack("{s:s,s:o}", "type", "array", "items", ref);
    char *title = tern__oa_title(field);
    json_object_set_new(s, "title", json_string(title ? title : field));
    free(title);
    return s;
}

/* The success status, each declared response, then 422 when something is validated. */
static json_t *responses(doc_ctx *d, const tern_route_rec *r, const char *uid, bool validated)
{
    json_t *out = json_object();
    char key[16], field[300];
    int status = r->status_code;
    json_t *ok = json_pack("{s:s}", "description", "Successful Response");
    /* no body for 1xx, 204 and 304 (FastAPI's is_body_allowed_for_status_code) */
    if (status >= 200 && status != 204 && status != 304) {
        json_t *schema = json_object();
        if (r->opts.response_model) {
            json_decref(schema);
            snprintf(field, sizeof field, "Response_%s", uid);
            schema = model_schema_ref(d, r->opts.response_model, r->opts.response_is_list, field);
            if (!schema)
                goto fail;
        }
        const char *media = r->opts.response_media_type;
        if (media && strcmp(media, "application/json") != 0 && !r->opts.response_model) {
            json_decref(schema); /* FastAPI's PlainTextResponse, HTMLResponse, ... */
            schema = json_pack("{s:s}", "type", "string");
        }
        json_object_set_new(ok, "content",
                            json_pack("{s:{s:o}}", media ? media : "application/json", "schema", schema));
    }
    snprintf(key, sizeof key, "%d", status);
    json_object_set_new(out, key, ok);

    for (const tern_response_decl *rd = r->opts.responses; rd && rd->status; rd++) {
        snprintf(key, sizeof key, "%d", rd->status);
        json_t *resp = json_object_get(out, key); /* a declared success status merges */
        if (!resp) {
            resp = json_object();
            json_object_set_new(out, key, resp);
        }
        json_object_set_new(resp, "description",
                            json_string(rd->description ? rd->description : reason_phrase(rd->status)));
        if (rd->model) {
            snprintf(field, sizeof field, "Response_%d_%s", rd->status, uid);
            json_t *schema = model_schema_ref(d, rd->model, rd->is_list, field);
            if (!schema)
                goto fail;
            json_object_set_new(resp, "content",
                                json_pack("{s:{s:o}}", rd->content_type ? rd->content_type : "application/json",
                                          "schema", schema));
        }
    }
    if (validated && !json_object_get(out, "422") && !json_object_get(out, "4XX") &&
        !json_object_get(out, "default")) {
        json_object_set_new(out, "422",
                            json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", "Validation Error",
                                      "content", "application/json", "schema", "$ref", VALIDATION_REF));
        d->any_validation = true;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *request_body(doc_ctx *d, const tern_route_rec *r)
{
    json_t *schema = tern__oa_model_ref(&d->models, r->opts.body);
    if (!schema)
        return NULL;
    if (r->opts.body_optional) /* `body: M | None = None`: not required, null allowed */
        return json_pack("{s:{s:{s:{s:[o,{s:s}]}}}}", "content", "application/json", "schema",
                         "anyOf", schema, "type", "null");
    return json_pack("{s:{s:{s:o}},s:b}", "content", "application/json", "schema", schema,
                     "required", 1);
}

static json_t *operation(doc_ctx *d, const tern_route_rec *r, const char *path)
{
    const tern_route_opts *o = &r->opts;
    const char *name = o->handler_name && *o->handler_name ? o->handler_name : "endpoint";
    char *uid = unique_id(name, path, r->method);
    if (!uid)
        return NULL;
    json_t *op = json_object();
    if (o->tags && o->tags[0]) {
        json_t *tags = json_array();
        for (const char *const *t = o->tags; *t; t++)
            json_array_append_new(tags, json_string(*t));
        json_object_set_new(op, "tags", tags);
    }
    char *summary = o->summary ? NULL : tern__oa_title(name);
    json_object_set_new(op, "summary", json_string(o->summary ? o->summary : summary ? summary : name));
    free(summary);
    if (o->description)
        json_object_set_new(op, "description", json_string(o->description));
    json_object_set_new(op, "operationId", json_string(o->operation_id ? o->operation_id : uid));
    if (o->deprecated)
        json_object_set_new(op, "deprecated", json_true());
    json_t *params = parameters(r);
    bool validated = json_array_size(params) > 0 || o->body;
    if (json_array_size(params))
        json_object_set(op, "parameters", params);
    json_decref(params);
    if (o->body) {
        json_t *body = request_body(d, r);
        if (!body)
            goto fail;
        json_object_set_new(op, "requestBody", body);
    }
    json_t *res = responses(d, r, uid, validated);
    if (!res)
        goto fail;
    json_object_set_new(op, "responses", res);
    free(uid);
    return op;
fail:
    snprintf(d->err, sizeof d->err, "openapi: route %s %s: %s", tern_method_name(r->method),
             r->pattern, d->models.err);
    free(uid);
    json_decref(op);
    return NULL;
}

static void add_route(void *ctx, tern_method m, const char *pattern, void *route)
{
    doc_ctx *d = ctx;
    const tern_route_rec *r = route;
    (void)m;
    (void)pattern;
    if (d->failed || r->opts.include_in_schema_off)
        return;
    char *path = path_format(r->pattern);
    json_t *op = path ? operation(d, r, path) : NULL;
    if (!op) {
        if (!d->err[0])
            snprintf(d->err, sizeof d->err, "openapi: out of memory");
        d->failed = true;
        free(path);
        return;
    }
    json_t *item = json_object_get(d->paths, path);
    if (!item) {
        item = json_object();
        json_object_set_new(d->paths, path, item);
    }
    char method[16];
    snprintf(method, sizeof method, "%s", tern_method_name(r->method));
    for (char *c = method; *c; c++)
        *c = (char)(*c - 'A' + 'a');
    json_object_set_new(item, method, op);
    free(path);
}

json_t *tern__openapi_build(const tern_app *app, char *err, size_t errlen)
{
    doc_ctx d = {.paths = json_object()};
    tern_router_each(app->router, add_route, &d);
    if (d.failed) {
        snprintf(err, errlen, "%s", d.err);
        json_decref(d.paths);
        tern__oa_models_free(&d.models);
        return NULL;
    }
    json_t *doc = json_pack("{s:s,s:{s:s,s:s},s:o}", "openapi", "3.1.0", "info", "title",
                            app->cfg.docs_title ? app->cfg.docs_title : "tern", "version",
                            app->cfg.docs_version ? app->cfg.docs_version : "0.1.0", "paths", d.paths);
    if (d.models.n || d.any_validation)
        json_object_set_new(doc, "components",
                            json_pack("{s:o}", "schemas",
                                      tern__oa_components(&d.models, d.any_validation)));
    tern__oa_models_free(&d.models);
    return doc;
}

json_t *tern_openapi(const tern_app *app)
{
    char err[300];
    json_t *doc = tern__openapi_build(app, err, sizeof err);
    if (!doc)
        tern_set_errmsg("%s", err);
    return doc;
}
