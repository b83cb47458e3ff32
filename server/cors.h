/* server/cors.h - CORS (the Fetch standard's cross-origin protocol), compiled from the
 * cors.* settings: preflight answers before routing, and an h2o filter that adds the
 * response headers to every answer (handlers, errors, streams, static files). */
#ifndef TERN_CORS_H
#define TERN_CORS_H

#include <stdbool.h>
#include <h2o.h>

#include "tern/config.h"

/** The cors.* settings, split and normalised once at start-up; read-only afterwards. */
typedef struct tern_cors {
    bool enabled;                /**< cors.allow_origins is not empty */
    bool any_origin, any_header; /**< "*" was listed */
    char **origins;              /**< exact origins (NULL-terminated) */
    char **methods;              /**< upper-case methods (NULL-terminated) */
    char **headers;              /**< lower-case allowed request headers, safelisted included */
    bool credentials;
    char *allow_methods_value; /**< "GET, POST" for Access-Control-Allow-Methods */
    char *allow_headers_value; /**< for Access-Control-Allow-Headers (NULL with "*") */
    char *expose_value;        /**< for Access-Control-Expose-Headers (NULL: none) */
    char max_age[16];
} tern_cors;

/** Compiles cfg's cors.* keys into c. 0 or -ENOMEM. */
int tern__cors_compile(tern_cors *c, const tern_config *cfg);

/** Frees what tern__cors_compile allocated. */
void tern__cors_free(tern_cors *c);

/** When hreq is a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method),
 *  adds the answer's headers and returns its status: 200, or 400 with *detail naming what
 *  was refused. 0 for any other request. */
int tern__cors_preflight(const tern_cors *c, h2o_req_t *hreq, const char **detail);

/** Adds the CORS response filter to a path's configuration. */
void tern__cors_install(const tern_cors *c, h2o_pathconf_t *pathconf);

#endif
