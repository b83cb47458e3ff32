/* tern/req.h - what a handler reads from its request and how it answers.
 *
 * Everything returned here is owned by the request (its arena) and stays valid
 * until the request ends, even if the client disconnects meanwhile. */
#ifndef TERN_REQ_H
#define TERN_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "config.h"
#include "route.h"

/** Returned by a handler that answered with tern_respond()/tern_text()/tern_html(). */
#define TERN_RAW ((json_t *)&tern__raw_marker)
/** Storage behind TERN_RAW; never touch it. */
extern const int tern__raw_marker;

/** The request the current coroutine serves (NULL outside a request). */
tern_req *tern_current_req(void);

/** The settings of the app serving the request. */
const tern_config *tern_req_config(const tern_req *req);

/** The request method. */
tern_method tern_req_method(const tern_req *req);
/** The request path without the query string, as received. */
const char *tern_req_path(const tern_req *req);
/** The raw query string without '?' ("" when none). */
const char *tern_req_query(const tern_req *req);
/** The request's id (its sane X-Request-ID, else a generated one), also echoed in the response. */
const char *tern_req_id(const tern_req *req);

/** A declared int parameter's validated value (its default, or 0, when absent). */
int64_t tern_param_int(tern_req *req, const char *name);
/** A declared float parameter's validated value (its default, or 0, when absent). */
double tern_param_float(tern_req *req, const char *name);
/** A declared bool parameter's validated value (its default, or false, when absent). */
bool tern_param_bool(tern_req *req, const char *name);
/** A declared string/enum parameter's value; NULL when absent with no default. */
const char *tern_param_str(tern_req *req, const char *name);
/** A declared list parameter's items (TERN_QUERY_*_LIST: every repeat of ?tag=a&tag=b),
 *  typed (ints, floats, booleans or strings); borrowed: owned by the request. NULL when
 *  none was given. */
json_t *tern_param_list(tern_req *req, const char *name);
/** True when the declared parameter was given or has a default. */
bool tern_param_present(tern_req *req, const char *name);

/** A path parameter as int (declared or inline-typed). */
#define tern_path_int(req, name) tern_param_int((req), (name))
/** A path parameter as float. */
#define tern_path_float(req, name) tern_param_float((req), (name))
/** A path parameter as text (percent-decoded). */
const char *tern_path_str(tern_req *req, const char *name);
/** A query parameter's text, declared or not (percent-decoded; the last of repeats, as FastAPI); NULL when absent. */
const char *tern_query_str(tern_req *req, const char *name);
/** A declared int query parameter. */
#define tern_query_int(req, name) tern_param_int((req), (name))

/** A request header's value (case-insensitive name; NULL when absent). */
const char *tern_header(tern_req *req, const char *name);
/** The request body (NUL-terminated; *len gets its size). "" when none. */
const char *tern_body(tern_req *req, size_t *len);

/** The declared JSON body (route option .body), validated, coerced and with defaults
 *  filled in; borrowed: owned by the request. NULL when the route declares no body, or
 *  declares it optional and none came. */
json_t *tern_body_json(tern_req *req);

/** Memory from the request's arena, 16-byte aligned, freed when the request ends. */
void *tern_alloc(tern_req *req, size_t n);
/** A copy of s in the request's arena. */
char *tern_strdup(tern_req *req, const char *s);
/** printf into the request's arena. */
char *tern_sprintf(tern_req *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Runs fn(arg) when the request ends, on every path (success, error, timeout, client
 *  gone), newest first, on the loop (never yield inside). 0, or TERN_ENOMEM. */
int tern_defer(tern_req *req, void (*fn)(void *arg), void *arg);

/** Sets the response status (default: the route's status_code, else 200). */
void tern_set_status(tern_req *req, int status);
/** Adds a response header (copied). 0, or -EINVAL for a bad name or value. */
int tern_set_header(tern_req *req, const char *name, const char *value);

/** Sets status and returns {"detail": detail} (FastAPI's HTTPException). */
json_t *tern_error(tern_req *req, int status, const char *detail);
/** Sets status and returns {"detail": detail} with any JSON detail (reference stolen). */
json_t *tern_error_json(tern_req *req, int status, json_t *detail);
/** Answers with the given bytes and content type (copied); returns TERN_RAW. */
json_t *tern_respond(tern_req *req, const char *content_type, const void *data, size_t len);
/** Answers text/plain; charset=utf-8; returns TERN_RAW. */
json_t *tern_text(tern_req *req, const char *text);
/** Answers text/html; charset=utf-8; returns TERN_RAW. */
json_t *tern_html(tern_req *req, const char *html);

/** One FastAPI validation error entry: {"type", "loc", "msg", "input", "ctx"?} with
 *  pydantic's message for type ("missing", "int_type", "string_too_long", ...).
 *  Steals loc, input and ctx (ctx may be NULL). NULL for an unknown type. */
json_t *tern_validation_entry(const char *type, json_t *loc, json_t *input, json_t *ctx);

/** Sets 422 and returns {"detail": errors} (steals errors), like FastAPI's
 *  RequestValidationError. */
json_t *tern_validation_error(tern_req *req, json_t *errors);

/** Maps an await's error code to the answer users expect: 504 for the deadline,
 *  503 for an unavailable backend, 500 otherwise; returns the error body. */
json_t *tern_error_from_code(tern_req *req, int code);

#endif
