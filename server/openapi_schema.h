/* server/openapi_schema.h - declarations (parameters, model fields, models) as JSON
 * Schema, shaped the way FastAPI's pydantic emits them, for the OpenAPI document. */
#ifndef TERN_OPENAPI_SCHEMA_H
#define TERN_OPENAPI_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "tern/params.h"
#include "tern/schema.h"

/** The models a document references, gathered while its operations are built. */
typedef struct tern_oa_models {
    const tern_model **v;
    size_t n, cap;
    char err[256];   /**< why the last call failed */
} tern_oa_models;

/** pydantic's title for a name: "item_id" -> "Item Id" (Python's str.title, '_' as ' '). */
char *tern__oa_title(const char *name);

/** The name a parameter has in the document: header names as FastAPI's alias
 *  ("x_token" -> "x-token", written into buf), others as declared. */
const char *tern__oa_param_name(const tern_param *p, char *buf, size_t n);

/** The schema of a declared parameter (type, bounds, default, title, ...). NULL on ENOMEM. */
json_t *tern__oa_param_schema(const tern_param *p);

/** {"$ref": "#/components/schemas/NAME"} for m, remembering m and the models it nests.
 *  NULL when another model already has that name, or m has none (models->err says). */
json_t *tern__oa_model_ref(tern_oa_models *models, const tern_model *m);

/** components.schemas: every remembered model's schema, sorted by name, plus
 *  ValidationError and HTTPValidationError when with_validation_error. */
json_t *tern__oa_components(const tern_oa_models *models, int with_validation_error);

/** Frees the list (not the models). */
void tern__oa_models_free(tern_oa_models *models);

#endif
