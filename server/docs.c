/* server/docs.c - GET /openapi.json, /docs (Swagger UI), /redoc (ReDoc) and
 * /docs/oauth2-redirect, like FastAPI's. Everything is rendered once, before the
 * workers start, and served from the app's memory without a copy; the routes go
 * through the router like any other (HEAD and 405 behave) and stay out of the
 * document. With docs.assets_dir the pages load their scripts from /docs/assets/...,
 * read from that folder at start-up, so the pages work with no network. */
#include "docs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/openapi.h"
#include "app_impl.h"
#include "request.h"
#include "worker.h"

#define SWAGGER_CDN "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"
#define REDOC_CDN "https://cdn.jsdelivr.net/npm/redoc@2/bundles"
#define ASSETS_URL "/docs/assets"
#define MAX_ASSET_BYTES (64u << 20)

typedef struct blob {
    char *data;
    size_t len;
} blob;

/* Files of docs.assets_dir; the last one is optional (Swagger UI's OAuth2 page). */
static const struct {
    const char *name;
    const char *ctype;
    bool required;
} asset_files[] = {
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8", true},
    {"swagger-ui.css", "text/css; charset=utf-8", true},
    {"redoc.standalone.js", "text/javascript; charset=utf-8", true},
    {"oauth2-redirect.html", "text/html; charset=utf-8", false},
};
#define N_ASSETS (sizeof asset_files / sizeof asset_files[0])
#define OAUTH2_ASSET (N_ASSETS - 1)

struct tern_docs {
    blob openapi, swagger, redoc;
    blob assets[N_ASSETS]; /* data NULL: not loaded */
};

static tern_docs *docs_of(tern_req *req)
{
    return req->worker->app->docs;
}

/* The handler's answer is the app's own bytes: no copy per request. */
static json_t *send_static(tern_req *req, const char *ctype, const blob *b)
{
    req->raw_ctype = ctype;
    req->raw_body = b->data;
    req->raw_len = b->len;
    req->raw_static = true;
    return TERN_RAW;
}

static json_t *serve_openapi(tern_req *req)
{
    return send_static(req, "application/json", &docs_of(req)->openapi);
}

static json_t *serve_swagger(tern_req *req)
{
    return send_static(req, "text/html; charset=utf-8", &docs_of(req)->swagger);
}

static json_t *serve_redoc(tern_req *req)
{
    return send_static(req, "text/html; charset=utf-8", &docs_of(req)->redoc);
}

static json_t *serve_oauth2_redirect(tern_req *req)
{
    return send_static(req, asset_files[OAUTH2_ASSET].ctype, &docs_of(req)->assets[OAUTH2_ASSET]);
}

static json_t *serve_asset(tern_req *req)
{
    const char *name = tern_path_str(req, "name");
    for (size_t i = 0; name && i < N_ASSETS; i++) {
        if (strcmp(name, asset_files[i].name) != 0 || !docs_of(req)->assets[i].data)
            continue;
        tern_set_header(req, "cache-control", "public, max-age=3600");
        return send_static(req, asset_files[i].ctype, &docs_of(req)->assets[i]);
    }
    return tern_error(req, 404, "Not Found");
}

/* ---- rendering --------------------------------------------------------------------- */

static int blob_printf(blob *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int blob_printf(blob *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(b->data = malloc((size_t)n + 1)))
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len = (size_t)n;
    return 0;
}

/* docs.title goes into HTML text */
static char *html_escape(const char *s)
{
    char *out = malloc(strlen(s) * 6 + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                      : *s == '"' ? "&quot;" : *s == '\'' ? "&#39;" : NULL;
        if (e) {
            strcpy(o, e);
            o += strlen(e);
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* docs.openapi_url is checked by the config (no quotes, brackets or spaces), so it
 * goes into an attribute and a JS string as it is. */
static int render_pages(tern_docs *d, const tern_config *cfg)
{
    bool local = cfg->docs_assets_dir && *cfg->docs_assets_dir;
    char *title = html_escape(cfg->docs_title ? cfg->docs_title : "tern");
    if (!title)
        return -ENOMEM;
    const char *swagger = local ? ASSETS_URL : SWAGGER_CDN, *redoc = local ? ASSETS_URL : REDOC_CDN;
    int rc = blob_printf(
        &d->swagger,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>%s - Swagger UI</title>\n"
        "<link rel=\"stylesheet\" type=\"text/css\" href=\"%s/swagger-ui.css\">\n</head>\n<body>\n"
        "<div id=\"swagger-ui\"></div>\n<script src=\"%s/swagger-ui-bundle.js\"></script>\n"
        "<script>\nwindow.ui = SwaggerUIBundle({\n  url: '%s',\n  dom_id: '#swagger-ui',\n"
        "  layout: 'BaseLayout',\n  deepLinking: true,\n  showExtensions: true,\n"
        "  showCommonExtensions: true,\n"
        "  oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect',\n"
        "  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],\n"
        "});\n</script>\n</body>\n</html>\n",
        title, swagger, swagger, cfg->docs_openapi_url);
    if (rc == 0)
        /* the CDN page also takes ReDoc's fonts from Google, as FastAPI's does; a local
         * page stays off the network */
        rc = blob_printf(
            &d->redoc,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>%s - ReDoc</title>\n%s"
            "<style>\n  body { margin: 0; padding: 0; }\n</style>\n</head>\n<body>\n"
            "<noscript>ReDoc needs JavaScript to show this documentation.</noscript>\n"
            "<redoc spec-url=\"%s\"></redoc>\n<script src=\"%s/redoc.standalone.js\"></script>\n"
            "</body>\n</html>\n",
            title,
            local ? ""
                  : "<link href=\"https://fonts.googleapis.com/css?family=Montserrat:300,400,700|"
                    "Roboto:300,400,700\" rel=\"stylesheet\">\n",
            cfg->docs_openapi_url, redoc);
    free(title);
    return rc;
}

static int read_file(const char *path, blob *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    int rc = 0;
    if (fseek(f, 0, SEEK_END) < 0) {
        rc = -errno;
    } else {
        long n = ftell(f);
        if (n < 0 || (unsigned long)n > MAX_ASSET_BYTES) {
            rc = n < 0 ? -errno : -EFBIG;
        } else if (!(b->data = malloc((size_t)n + 1))) {
            rc = -ENOMEM;
        } else {
            rewind(f);
            b->len = fread(b->data, 1, (size_t)n, f);
            if (b->len != (size_t)n)
                rc = -EIO;
        }
    }
    fclose(f);
    return rc;
}

static int load_assets(tern_docs *d, const char *dir, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_ASSETS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, asset_files[i].name);
        int rc = read_file(path, &d->assets[i]);
        if (rc == -ENOENT && !asset_files[i].required)
            continue;
        if (rc < 0) {
            snprintf(err, errlen, "config: docs.assets_dir: cannot read %s: %s", path, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

/* ---- set-up ------------------------------------------------------------------------ */

static int add_route(tern_app *app, const char *path, tern_handler fn, const char *name)
{
    return tern_route(app, TERN_GET, path, fn,
                      &(tern_route_opts){.include_in_schema_off = true, .handler_name = name});
}

/* On failure *failed is the path that could not be added. */
static int add_routes(tern_app *app, const tern_docs *d, const char **failed)
{
    int rc = add_route(app, *failed = app->cfg.docs_openapi_url, serve_openapi, "openapi");
    if (rc == 0)
        rc = add_route(app, *failed = "/docs", serve_swagger, "swagger_ui_html");
    if (rc == 0)
        rc = add_route(app, *failed = "/redoc", serve_redoc, "redoc_html");
    if (rc == 0 && d->assets[OAUTH2_ASSET].data)
        rc = add_route(app, *failed = "/docs/oauth2-redirect", serve_oauth2_redirect,
                       "swagger_ui_redirect");
    if (rc == 0 && d->assets[0].data)
        rc = add_route(app, *failed = ASSETS_URL "/{name}", serve_asset, "docs_asset");
    return rc;
}

int tern__docs_setup(tern_app *app, char *err, size_t errlen)
{
    const tern_config *cfg = &app->cfg;
    if (!cfg->docs_enabled)
        return 0;
    tern_docs *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    app->docs = d; /* freed with the app whatever happens next */
    if (cfg->docs_assets_dir && *cfg->docs_assets_dir &&
        load_assets(d, cfg->docs_assets_dir, err, errlen) < 0)
        return -EINVAL;
    if (render_pages(d, cfg) < 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    const char *failed;
    int rc = add_routes(app, d, &failed);
    if (rc == -EEXIST) {
        /* a route of the app's own sits there: say which key moves ours */
        snprintf(err, errlen, "docs: GET %s is both a route of the app and a docs route "
                 "(docs.openapi_url moves the document; docs.enabled: false drops the docs routes)",
                 failed);
        return rc;
    }
    if (rc < 0) {
        snprintf(err, errlen, "docs: %s", app->route_error ? app->route_error : "cannot add routes");
        return rc;
    }
    json_t *doc = tern__openapi_build(app, err, errlen);
    if (!doc)
        return -EINVAL;
    d->openapi.data = json_dumps(doc, JSON_COMPACT); /* FastAPI's separators, too */
    json_decref(doc);
    if (!d->openapi.data) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    d->openapi.len = strlen(d->openapi.data);
    return 0;
}

void tern__docs_free(tern_docs *d)
{
    if (!d)
        return;
    free(d->openapi.data);
    free(d->swagger.data);
    free(d->redoc.data);
    for (size_t i = 0; i < N_ASSETS; i++)
        free(d->assets[i].data);
    free(d);
}
