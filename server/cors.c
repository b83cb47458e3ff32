/* server/cors.c - CORS per the Fetch standard, following Starlette's CORSMiddleware
 * where the standard leaves room (same defaults, same preflight checks, its 400 for a
 * refused preflight), with two deliberate differences: a credentialed answer never
 * says `Access-Control-Allow-Origin: *` (the origin is echoed with `Vary: Origin`, as
 * browsers reject `*` with credentials), and an origin that is not allowed gets no
 * CORS header at all, nor does a refused preflight (its 400 is for people, not pages). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cors.h"

/* Request headers a page may always send (Starlette's SAFELISTED_HEADERS). */
static const char *const safelisted[] = {"accept", "accept-language", "content-language",
                                         "content-type"};
/* What "*" in allow_methods stands for (Starlette's ALL_METHODS). */
static const char *const all_methods[] = {"DELETE", "GET",  "HEAD", "OPTIONS",
                                          "PATCH",  "POST", "PUT"};

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

static bool listed(char *const *l, const char *s, size_t len)
{
    for (size_t i = 0; l && l[i]; i++)
        if (strlen(l[i]) == len && !memcmp(l[i], s, len))
            return true;
    return false;
}

/* Appends a copy of s[0..len) to *l (NULL-terminated), skipping duplicates. */
static int push(char ***l, size_t *n, const char *s, size_t len)
{
    if (listed(*l, s, len))
        return 0;
    char **g = realloc(*l, (*n + 2) * sizeof(*g));
    if (!g)
        return -ENOMEM;
    *l = g;
    if (!(g[*n] = strndup(s, len)))
        return -ENOMEM;
    g[++*n] = NULL;
    return 0;
}

/* Splits a comma list, trimming blanks; sets *star when an item is "*"; case: 1 upper,
 * -1 lower, 0 as written. */
static int split(const char *text, char ***out, size_t *n, bool *star, int case_)
{
    const char *p = text ? text : "";
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end == start)
            continue;
        if (end - start == 1 && *start == '*') {
            if (star)
                *star = true;
            continue;
        }
        char item[256];
        size_t len = (size_t)(end - start) < sizeof item ? (size_t)(end - start) : sizeof item - 1;
        for (size_t i = 0; i < len; i++)
            item[i] = (char)(case_ > 0   ? toupper((unsigned char)start[i])
                             : case_ < 0 ? tolower((unsigned char)start[i])
                                         : start[i]);
        if (push(out, n, item, len) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a, b, c" from a NULL-terminated list; NULL when empty. */
static char *join(char *const *l, bool *oom)
{
    size_t len = 0, n = 0;
    for (; l && l[n]; n++)
        len += strlen(l[n]) + 2;
    if (!n)
        return NULL;
    char *s = malloc(len + 1), *w = s;
    if (!s) {
        *oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        w += sprintf(w, "%s%s", i ? ", " : "", l[i]);
    return s;
}

int tern__cors_compile(tern_cors *c, const tern_config *cfg)
{
    memset(c, 0, sizeof(*c));
    size_t no = 0, nm = 0, nh = 0, ne = 0;
    bool any_method = false, oom = false;
    char **expose = NULL;
    if (split(cfg->cors_allow_origins, &c->origins, &no, &c->any_origin, 0) < 0 ||
        split(cfg->cors_allow_methods, &c->methods, &nm, &any_method, 1) < 0 ||
        split(cfg->cors_allow_headers, &c->headers, &nh, &c->any_header, -1) < 0 ||
        split(cfg->cors_expose_headers, &expose, &ne, NULL, 0) < 0)
        goto fail;
    for (size_t i = 0; any_method && i < sizeof all_methods / sizeof *all_methods; i++)
        if (push(&c->methods, &nm, all_methods[i], strlen(all_methods[i])) < 0)
            goto fail;
    for (size_t i = 0; i < sizeof safelisted / sizeof *safelisted; i++)
        if (push(&c->headers, &nh, safelisted[i], strlen(safelisted[i])) < 0)
            goto fail;
    if (nh)
        qsort(c->headers, nh, sizeof(char *), cmp_str); /* Starlette sends them sorted */
    c->enabled = c->any_origin || no > 0;
    c->credentials = cfg->cors_allow_credentials;
    c->allow_methods_value = join(c->methods, &oom);
    c->allow_headers_value = c->any_header ? NULL : join(c->headers, &oom);
    c->expose_value = join(expose, &oom);
    snprintf(c->max_age, sizeof c->max_age, "%d", cfg->cors_max_age);
    free_list(expose);
    if (oom) {
        tern__cors_free(c);
        return -ENOMEM;
    }
    return 0;
fail:
    free_list(expose);
    tern__cors_free(c);
    return -ENOMEM;
}

void tern__cors_free(tern_cors *c)
{
    free_list(c->origins);
    free_list(c->methods);
    free_list(c->headers);
    free(c->allow_methods_value);
    free(c->allow_headers_value);
    free(c->expose_value);
    memset(c, 0, sizeof(*c));
}

static bool origin_allowed(const tern_cors *c, h2o_iovec_t origin)
{
    return c->any_origin || listed(c->origins, origin.base, origin.len);
}

/* h2o 2.2.5 has no tokens for Origin or the Access-Control-Request-* headers. */
static h2o_iovec_t req_header(h2o_req_t *hreq, const char *name, size_t len)
{
    ssize_t i = h2o_find_header_by_str(&hreq->headers, name, len, -1);
    return i < 0 ? h2o_iovec_init(NULL, 0) : hreq->headers.entries[i].value;
}

static void add(h2o_req_t *hreq, const char *name, const char *value, size_t len)
{
    h2o_add_header_by_str(&hreq->pool, &hreq->res.headers, name, strlen(name), 0, NULL, value, len);
}

/* The allowed origin as the answer states it: "*" only when no credentials travel;
 * otherwise echoed, and caches must then key on Origin. */
static void add_allow_origin(const tern_cors *c, h2o_req_t *hreq, h2o_iovec_t origin)
{
    if (c->any_origin && !c->credentials) {
        add(hreq, "access-control-allow-origin", H2O_STRLIT("*"));
        return;
    }
    h2o_iovec_t v = h2o_strdup(&hreq->pool, origin.base, origin.len);
    add(hreq, "access-control-allow-origin", v.base, v.len);
    h2o_add_header(&hreq->pool, &hreq->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Origin"));
}

/* Every header the preflight asks for ("x-a, X-B") must be allowed. */
static bool headers_allowed(const tern_cors *c, h2o_iovec_t asked)
{
    const char *p = asked.base, *end = asked.base + asked.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *s = p;
        while (p < end && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == s)
            continue;
        char low[128];
        size_t len = (size_t)(e - s);
        if (len >= sizeof low)
            return false;
        for (size_t i = 0; i < len; i++)
            low[i] = (char)tolower((unsigned char)s[i]);
        if (!listed(c->headers, low, len))
            return false;
    }
    return true;
}

/* OPTIONS with Origin and Access-Control-Request-Method; any other OPTIONS request is
 * routed like any other request. */
static bool is_preflight(h2o_req_t *hreq)
{
    return h2o_memis(hreq->method.base, hreq->method.len, H2O_STRLIT("OPTIONS")) &&
           req_header(hreq, H2O_STRLIT("origin")).base &&
           req_header(hreq, H2O_STRLIT("access-control-request-method")).base;
}

int tern__cors_preflight(const tern_cors *c, h2o_req_t *hreq, const char **detail)
{
    if (!c->enabled || !is_preflight(hreq))
        return 0;
    h2o_iovec_t origin = req_header(hreq, H2O_STRLIT("origin"));
    h2o_iovec_t method = req_header(hreq, H2O_STRLIT("access-control-request-method"));
    h2o_iovec_t asked = req_header(hreq, H2O_STRLIT("access-control-request-headers"));
    bool ok_origin = origin_allowed(c, origin);
    bool ok_method = listed(c->methods, method.base, method.len);
    bool ok_headers = c->any_header || !asked.base || headers_allowed(c, asked);
    if (!ok_origin || !ok_method || !ok_headers) {
        /* Starlette's wording, listing every reason */
        static const char *const why[8] = {
            NULL,
            "Disallowed CORS origin",
            "Disallowed CORS method",
            "Disallowed CORS origin, method",
            "Disallowed CORS headers",
            "Disallowed CORS origin, headers",
            "Disallowed CORS method, headers",
            "Disallowed CORS origin, method, headers",
        };
        *detail = why[(ok_origin ? 0 : 1) | (ok_method ? 0 : 2) | (ok_headers ? 0 : 4)];
        return 400;
    }
    add_allow_origin(c, hreq, origin);
    add(hreq, "access-control-allow-methods", c->allow_methods_value,
        strlen(c->allow_methods_value));
    add(hreq, "access-control-max-age", c->max_age, strlen(c->max_age));
    if (c->credentials)
        add(hreq, "access-control-allow-credentials", H2O_STRLIT("true"));
    if (c->any_header && asked.base) {
        h2o_iovec_t v = h2o_strdup(&hreq->pool, asked.base, asked.len);
        add(hreq, "access-control-allow-headers", v.base, v.len);
    } else if (c->allow_headers_value) {
        add(hreq, "access-control-allow-headers", c->allow_headers_value,
            strlen(c->allow_headers_value));
    }
    return 200;
}

/* ---- the response filter ---------------------------------------------------------- */

typedef struct cors_filter {
    h2o_filter_t super;
    const tern_cors *cors;
} cors_filter;

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *hreq, h2o_ostream_t **slot)
{
    const tern_cors *c = ((cors_filter *)self)->cors;
    h2o_iovec_t origin = req_header(hreq, H2O_STRLIT("origin"));
    /* a preflight answer carries its own headers (a refused one none), and so does a
     * refused origin */
    if (c->enabled && origin.base && origin_allowed(c, origin) && !is_preflight(hreq)) {
        add_allow_origin(c, hreq, origin);
        if (c->credentials)
            add(hreq, "access-control-allow-credentials", H2O_STRLIT("true"));
        if (c->expose_value)
            add(hreq, "access-control-expose-headers", c->expose_value, strlen(c->expose_value));
    }
    h2o_setup_next_ostream(hreq, slot);
}

void tern__cors_install(const tern_cors *c, h2o_pathconf_t *pathconf)
{
    if (!c->enabled)
        return;
    cors_filter *f = (cors_filter *)h2o_create_filter(pathconf, sizeof(*f));
    f->super.on_setup_ostream = on_setup_ostream;
    f->cors = c;
}
