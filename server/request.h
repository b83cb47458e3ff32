/* server/request.h - a request's life: from h2o's on_req through validation, the
 * handler's coroutine and the response, to the deferred cleanups (internal). */
#ifndef TERN_REQUEST_H
#define TERN_REQUEST_H

#include <h2o.h>

#include "tern/req.h"
#include "app_impl.h"
#include "query.h"
#include "request_id.h"
#include "scheduler.h"

/** Bytes of arena memory embedded in each pooled request: most requests need no malloc. */
#define TERN_REQ_ARENA_INLINE 4096

typedef struct tern_defer_rec {
    struct tern_defer_rec *next;
    void (*fn)(void *arg);
    void *arg;
} tern_defer_rec;

typedef struct tern_header_rec {
    struct tern_header_rec *next;
    const char *name, *value;
    size_t name_len, value_len;
} tern_header_rec;

/** Watches h2o's request pool: its dispose runs when h2o frees the request (the
 *  response was written, or the client went away). It only records that. */
typedef struct tern_req_guard {
    tern_req *req;            /**< NULL once disarmed */
    tern_worker *worker;
} tern_req_guard;

struct tern_req {
    h2o_req_t *h2o;           /**< NULL once the client is gone or the response was handed to h2o */
    tern_req_guard *guard;
    tern_worker *worker;
    const tern_route_rec *route;
    tern_method method;
    bool gone;                /**< the client went away before the response (h2o freed it) */
    bool peer_closed;         /**< an HTTP/1 client closed its socket; h2o does not know yet */
    tern_scope scope;
    tern_arena arena;
    const char *path;         /**< arena copy, no query */
    const char *query;        /**< arena copy without '?', "" when none */
    size_t path_len, query_len;
    size_t ncaptures;         /**< captures[0..ncaptures) are this request's */
    tern_param_value *values; /**< one per route->params.decls */
    tern_query qparsed;
    bool qparsed_ok;
    const char *body;         /**< arena copy, made on first tern_body() */
    size_t body_len;
    bool body_copied;
    json_t *body_json;        /**< the validated body (tern_body_json); released in req_put */
    json_t *lists;            /**< {name: array} of repeated query parameters; released in req_put */
    /* response */
    int status;
    tern_header_rec *headers;
    const char *raw_ctype;
    const void *raw_body;
    size_t raw_len;
    bool raw_static;          /**< raw_body outlives the request (the app's): sent without a copy */
    tern_defer_rec *defers;
    uint64_t start_ns;
    char id[TERN_REQ_ID_MAX + 1];    /**< X-Request-ID: the client's, or one we made */
    tern_req *pool_next;
    tern_req *live_next, *live_prev; /**< the worker's list of requests in flight */
    bool shutting_down;              /**< cancelled by the end of a drain: answer 503 */
    struct tern_req_mw *mw;          /**< dependency values, background tasks, stream */
    /* not cleared per request (req_get clears what comes before): only the first
     * ncaptures are ever read */
    tern_capture captures[TERN_ROUTER_MAX_CAPTURES];
    _Alignas(16) unsigned char arena_inline[TERN_REQ_ARENA_INLINE];
};

/** h2o's on_req for every path: routes, validates, starts the handler's coroutine. */
int tern__on_req(h2o_handler_t *self, h2o_req_t *req);

/** Validates the route's declared parameters into req->values; appends FastAPI error
 *  entries to errors. Returns the number of errors ((size_t)-1: out of memory). */
size_t tern__req_check_params(tern_req *req, json_t *errors);

/** Validates the route's declared body into req->body_json; appends FastAPI error
 *  entries to errors (for json_invalid, only that one: FastAPI reports it alone). */
tern_body_status tern__req_check_body(tern_req *req, json_t *errors);
/** Adds the headers set with tern_set_header to h2o's response (copied into its pool). */
void tern__req_apply_headers(tern_req *req, h2o_req_t *hreq);

/** Frees the worker's pooled request objects (at worker shutdown). */
void tern__req_pool_free(tern_worker *w);

#endif
