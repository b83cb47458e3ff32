/* tern/route.h - HTTP methods, handlers and route declarations. */
#ifndef TERN_ROUTE_H
#define TERN_ROUTE_H

#include <jansson.h>

#include "params.h"
#include "schema.h"

/** HTTP methods tern routes (HEAD is answered from GET unless declared). */
typedef enum {
    TERN_GET = 0,
    TERN_HEAD,
    TERN_POST,
    TERN_PUT,
    TERN_PATCH,
    TERN_DELETE,
    TERN_OPTIONS,
    TERN_TRACE,
    TERN_METHOD_COUNT,
} tern_method;

/** A request in flight; valid for the handler's whole run. */
typedef struct tern_req tern_req;

/** A service: config, routes and workers. */
typedef struct tern_app tern_app;

/** A dependency run before a handler (defined in middleware.h). */
typedef struct tern_dependency tern_dependency;

/** A handler runs on its own coroutine. It returns a JSON value (sent with the
 *  status set by tern_set_status, 200 by default, and freed by tern), the result of
 *  tern_error(), or TERN_RAW after tern_respond()/tern_text(). NULL means 500. */
typedef json_t *(*tern_handler)(tern_req *req);

/** Route options; give them as designated initializers to tern_get() and friends. */
typedef struct tern_route_opts {
    int _reserved;               /**< keeps `{._reserved = 0, __VA_ARGS__}` valid when empty */
    const tern_param *params;    /**< declared parameters, ended by {0} */
    const char *summary;         /**< one line for the OpenAPI document */
    const char *description;     /**< longer text for the OpenAPI document */
    const char *operation_id;    /**< OpenAPI operationId (default: derived from path and method) */
    const char *const *tags;     /**< NULL-terminated OpenAPI tags */
    int status_code;             /**< success status (default 200) */
    const tern_model *body;      /**< JSON body validated before the handler (tern_body_json) */
    bool body_optional;          /**< an absent body is allowed (FastAPI's `body: M | None = None`) */
    const tern_model *response_model; /**< schema of the success response, for the document */
    bool response_is_list;       /**< the success response is an array of response_model */
    const tern_response_decl *responses; /**< other documented responses, ended by {0} */
    bool deprecated;             /**< marks the operation deprecated in the document */
    bool include_in_schema_off;  /**< true: left out of the OpenAPI document */
    const tern_dependency *depends; /**< run before the handler, ended by {0} (middleware.h) */
    const char *response_media_type; /**< success media type in the document (default application/json) */
    const char *handler_name;    /**< the handler's name, set by tern_get() and friends (default summary, operationId) */
} tern_route_opts;

/** Adds a route. The path has static segments, `{name}` segments (typed by a
 *  declaration, or inline as `{name:int}`, `{name:float}`, `{name:str}`) and an
 *  optional last `{name:path}` that takes the rest of the path. Returns 0, or a
 *  negative code; the app then refuses to start and names the route. */
int tern_route(tern_app *app, tern_method m, const char *path, tern_handler fn,
               const tern_route_opts *opts);

#define TERN__ROUTE(app, m, path, fn, ...)                                                         \
    tern_route((app), (m), (path), (fn),                                                           \
               &(const tern_route_opts){._reserved = 0, .handler_name = #fn, __VA_ARGS__})
/** Declares a GET route: tern_get(app, "/items/{item_id}", fn, .params = p, .summary = "..."). */
#define tern_get(app, path, ...) TERN__ROUTE(app, TERN_GET, path, __VA_ARGS__)
/** Declares a POST route. */
#define tern_post(app, path, ...) TERN__ROUTE(app, TERN_POST, path, __VA_ARGS__)
/** Declares a PUT route. */
#define tern_put(app, path, ...) TERN__ROUTE(app, TERN_PUT, path, __VA_ARGS__)
/** Declares a PATCH route. */
#define tern_patch(app, path, ...) TERN__ROUTE(app, TERN_PATCH, path, __VA_ARGS__)
/** Declares a DELETE route. */
#define tern_delete(app, path, ...) TERN__ROUTE(app, TERN_DELETE, path, __VA_ARGS__)
/** Declares a HEAD route (GET routes answer HEAD already). */
#define tern_head(app, path, ...) TERN__ROUTE(app, TERN_HEAD, path, __VA_ARGS__)
/** Declares an OPTIONS route. */
#define tern_options(app, path, ...) TERN__ROUTE(app, TERN_OPTIONS, path, __VA_ARGS__)

/** The method's name ("GET"), or NULL for an invalid value. */
const char *tern_method_name(tern_method m);

#endif
