/* server/router.h - a segment tree from path patterns to per-method routes.
 *
 * Patterns: "/", "/items", "/items/{item_id}", "/items/{id:int}", "/files/{rest:path}".
 * A node's static children sit in a hash table, so a match costs one lookup per path
 * segment whatever the number of routes. Priority at each segment: static, then a
 * `{param}`, then a `{name:path}` catch-all, with backtracking when a branch dead-ends.
 * Parameter types do not take part in matching (FastAPI also matches first and
 * answers 422 for a bad value). Not thread-safe for adds; matching is read-only. */
#ifndef TERN_ROUTER_H
#define TERN_ROUTER_H

#include <stddef.h>
#include <stdbool.h>

#include "tern/route.h"

/** Most `{param}` captures one route may have. */
#define TERN_ROUTER_MAX_CAPTURES 16

/** One captured path parameter: a slice of the matched path, not decoded. */
typedef struct tern_capture {
    const char *name;        /**< parameter name from the pattern (owned by the router) */
    tern_param_type type;    /**< inline type from `{name:int}`; TERN_T_STR when none; path catch-alls are TERN_T_STR */
    const char *value;       /**< points into the matched path */
    size_t len;              /**< length of value */
} tern_capture;

/** The outcome of a match. */
typedef struct tern_route_match {
    void *route;             /**< the route given to tern_router_add; NULL on 404/405 */
    const char *pattern;     /**< the pattern that matched (owned by the router) */
    unsigned allowed;        /**< on 405: bit (1u << method) for each method the path has */
    size_t ncaptures;        /**< captures filled */
    tern_capture captures[TERN_ROUTER_MAX_CAPTURES]; /**< in pattern order */
    unsigned steps;          /**< tree nodes visited: a cost measure for tests */
} tern_route_match;

/** A router. */
typedef struct tern_router tern_router;

/** Creates an empty router. */
tern_router *tern_router_new(void);

/** Frees the router (not the route pointers it was given). */
void tern_router_free(tern_router *r);

/** Adds pattern for method m. 0; -EINVAL for a malformed pattern (unbalanced braces,
 *  empty or bad name, unknown type, catch-all not last, too many captures, two
 *  different names for a parameter at the same place); -EEXIST when the method and
 *  pattern are already there. tern_errmsg() says which. */
int tern_router_add(tern_router *r, tern_method m, const char *pattern, void *route);

/** Matches a path (no query string) for method m. HEAD falls back to GET. Returns 0
 *  with out->route set; -ENOENT (404); or -ENOTSUP (405) with
 *  out->allowed set (HEAD counted whenever GET is). A trailing slash is significant. */
int tern_router_match(const tern_router *r, tern_method m, const char *path, size_t len,
                      tern_route_match *out);

/** Number of routes (method + pattern pairs) added. */
size_t tern_router_count(const tern_router *r);

/** Calls fn for every route, in the order added (for the OpenAPI document). */
void tern_router_each(const tern_router *r,
                      void (*fn)(void *ctx, tern_method m, const char *pattern, void *route),
                      void *ctx);

/** Parses a method name ("GET"); -1 when unknown. */
int tern_method_parse(const char *s, size_t len);

#endif
