/* server/docs.h - the OpenAPI document and the docs pages of an app (internal). */
#ifndef TERN_DOCS_H
#define TERN_DOCS_H

#include <jansson.h>
#include <stddef.h>

#include "tern/app.h"

/** What the docs routes serve: rendered once at start-up. */
typedef struct tern_docs tern_docs;

/** When docs.enabled: reads docs.assets_dir, renders the pages, registers the docs
 *  routes and renders the OpenAPI document. 0, or a negative code with one line in err. */
int tern__docs_setup(tern_app *app, char *err, size_t errlen);

/** Frees what tern__docs_setup made (NULL is fine). */
void tern__docs_free(tern_docs *d);

/** The OpenAPI document of the app's routes (those not marked include_in_schema_off).
 *  NULL with one line in err when a declaration cannot be documented. */
json_t *tern__openapi_build(const tern_app *app, char *err, size_t errlen);

#endif
