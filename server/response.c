/* server/response.c - the handler-facing response API (status, headers, errors, raw
 * bodies) and the h2o calls that send a response. */
#include <string.h>

#include "tern/error.h"
#include "request.h"
#include "json_out.h"
#include "response.h"
#include "validation_error.h"

const int tern__raw_marker = 0;

/* Per-thread scratch for serializing: one pass into warm memory, then one copy into
 * h2o's pool. A buffer that grew past this is given back after use. */
#define SCRATCH_KEEP (256 * 1024)
static __thread tern_buf scratch;

const char *tern__reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

/* h2o keeps the generator pointer for the response's life; a final send never asks
 * it for more, so one shared, empty generator serves every request. */
static h2o_generator_t inline_generator = {NULL, NULL};

int tern__sent_by_tern(const h2o_req_t *req)
{
    return req->_generator == &inline_generator;
}

void tern__send(h2o_req_t *req, int status, const char *ctype, size_t ctype_len, const char *body,
                size_t len)
{
    req->res.status = status;
    req->res.reason = tern__reason(status);
    if (ctype)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, ctype_len);
    req->res.content_length = len;
    h2o_start_response(req, &inline_generator);
    /* h2o 2.2.5 sends whatever it is given, also for HEAD: the answer to HEAD keeps
     * GET's headers (Content-Length included) and drops the body (RFC 9110 9.3.2) */
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        len = 0;
    h2o_iovec_t buf = h2o_iovec_init(body, len);
    h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

size_t tern__send_json(h2o_req_t *req, int status, const json_t *j)
{
    scratch.len = 0;
    if (tern_json_dump(&scratch, j) < 0) {
        /* NaN, infinity or absurd nesting: not representable, like FastAPI's 500 */
        scratch.len = 0;
        status = 500;
        static const char err[] = "{\"detail\":\"Internal Server Error\"}";
        tern__send(req, status, H2O_STRLIT("application/json"), err, sizeof err - 1);
        return sizeof err - 1;
    }
    size_t n = scratch.len;
    char *body = h2o_mem_alloc_pool(&req->pool, n);
    memcpy(body, scratch.p, n);
    if (scratch.cap > SCRATCH_KEEP)
        tern_buf_free(&scratch);
    tern__send(req, status, H2O_STRLIT("application/json"), body, n);
    return n;
}

void tern__response_thread_cleanup(void)
{
    tern_buf_free(&scratch);
}

json_t *tern__detail(const char *detail)
{
    json_t *o = json_object();
    json_object_set_new(o, "detail", json_string(detail ? detail : ""));
    return o;
}

size_t tern__send_detail(h2o_req_t *req, int status, const char *detail)
{
    json_t *o = tern__detail(detail);
    size_t n = tern__send_json(req, status, o);
    json_decref(o);
    return n;
}

void tern_set_status(tern_req *req, int status)
{
    if (status >= 100 && status <= 599)
        req->status = status;
}

/* RFC 9110 token characters, for header names. */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

int tern_set_header(tern_req *req, const char *name, const char *value)
{
    size_t nl = name ? strlen(name) : 0, vl = value ? strlen(value) : 0;
    if (!nl)
        return -EINVAL;
    for (size_t i = 0; i < nl; i++)
        if (!is_tchar((unsigned char)name[i]))
            return -EINVAL;
    for (size_t i = 0; i < vl; i++) /* no header injection through CR/LF */
        if (value[i] == '\r' || value[i] == '\n')
            return -EINVAL;
    tern_header_rec *h = tern_arena_alloc(&req->arena, sizeof(*h));
    char *n = tern_arena_strndup(&req->arena, name, nl);
    char *v = tern_arena_strndup(&req->arena, value, vl);
    if (!h || !n || !v)
        return TERN_ENOMEM;
    for (size_t i = 0; i < nl; i++) /* h2o wants lower-case names (HTTP/2 requires it) */
        n[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] + 32 : n[i]);
    h->name = n;
    h->name_len = nl;
    h->value = v;
    h->value_len = vl;
    h->next = req->headers;
    req->headers = h;
    return 0;
}

json_t *tern_error_json(tern_req *req, int status, json_t *detail)
{
    tern_set_status(req, status);
    json_t *o = json_object();
    json_object_set_new(o, "detail", detail ? detail : json_null());
    return o;
}

json_t *tern_error(tern_req *req, int status, const char *detail)
{
    tern_set_status(req, status);
    return tern__detail(detail);
}

json_t *tern_respond(tern_req *req, const char *content_type, const void *data, size_t len)
{
    char *copy = tern_arena_alloc(&req->arena, len ? len : 1);
    if (!copy)
        return NULL;
    if (len)
        memcpy(copy, data, len);
    req->raw_ctype = tern_arena_strndup(&req->arena, content_type, strlen(content_type));
    req->raw_body = copy;
    req->raw_len = len;
    return req->raw_ctype ? TERN_RAW : NULL;
}

json_t *tern_text(tern_req *req, const char *text)
{
    return tern_respond(req, "text/plain; charset=utf-8", text, strlen(text));
}

json_t *tern_html(tern_req *req, const char *html)
{
    return tern_respond(req, "text/html; charset=utf-8", html, strlen(html));
}

json_t *tern_error_from_code(tern_req *req, int code)
{
    switch (code) {
    case TERN_ETIMEDOUT:
        return tern_error(req, 504, "Request timed out");
    case TERN_EUNAVAILABLE:
        return tern_error(req, 503, tern_errmsg()[0] ? tern_errmsg() : "Service Unavailable");
    case TERN_ECANCELED:
        return tern_error(req, 499, "Client Closed Request");
    default:
        return tern_error(req, 500, "Internal Server Error");
    }
}

json_t *tern_validation_entry(const char *type, json_t *loc, json_t *input, json_t *ctx)
{
    return tern_verr_make(type, loc, input, ctx);
}

json_t *tern_validation_error(tern_req *req, json_t *errors)
{
    tern_set_status(req, 422);
    return tern_verr_body(errors);
}
