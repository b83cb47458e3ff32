/* tern/openapi.h - the OpenAPI 3.1 document generated from route declarations (what
 * GET /openapi.json serves, as FastAPI's app.openapi()). */
#ifndef TERN_OPENAPI_H
#define TERN_OPENAPI_H

#include <jansson.h>

#include "route.h"

/** The app's OpenAPI document as it stands (a new reference), or NULL when a
 *  declaration cannot be documented (tern_errmsg() says which: two models with one name). */
json_t *tern_openapi(const tern_app *app);

#endif
