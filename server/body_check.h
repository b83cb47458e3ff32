/* server/body_check.h - declared JSON bodies validated the way FastAPI validates a
 * pydantic 2 model: which content types are parsed, json_invalid with Python's decoder
 * message, then every field error at once with its nested loc. Independent of h2o, so
 * tests and fuzzers drive it with plain bytes (internal). */
#ifndef TERN_BODY_CHECK_H
#define TERN_BODY_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "tern/schema.h"

/** A model compiled at route registration: patterns, defaults, nested models. */
typedef struct tern_body_schema tern_body_schema;

/** Checks and compiles a model (and the models it nests, recursion allowed): names,
 *  types, constraints that fit their type, patterns that compile, defaults that parse
 *  and pass their own field. 0, or -EINVAL/-ENOMEM with tern_errmsg() naming the field. */
int tern_body_schema_new(const tern_model *m, tern_body_schema **out);

/** Frees a compiled model (NULL is fine). */
void tern_body_schema_free(tern_body_schema *s);

/** The model's declaration. */
const tern_model *tern_body_schema_model(const tern_body_schema *s);

/** Limits for one body. */
typedef struct tern_body_limits {
    size_t max_depth;   /**< nesting of arrays and objects */
    size_t max_items;   /**< values plus object keys */
} tern_body_limits;

/** The outcome of tern_body_check. */
typedef enum {
    TERN_BODY_OK = 0,        /**< *out holds the validated body (NULL: absent and optional) */
    TERN_BODY_INVALID,       /**< entries were appended to errors (422) */
    TERN_BODY_JSON_INVALID,  /**< the one json_invalid entry was appended; FastAPI reports it
                                  alone, without the parameter errors */
    TERN_BODY_TOO_DEEP,      /**< nesting beyond limits.json_depth (413) */
    TERN_BODY_TOO_MANY,      /**< values beyond limits.json_items (413) */
    TERN_BODY_NOMEM,         /**< out of memory (503) */
} tern_body_status;

/** Validates a request body. content_type is the header's value (NULL or empty: parsed as
 *  JSON, as FastAPI does); only application/json and application/<x>+json are
 *  parsed, other bodies fail as FastAPI's do (model_attributes_type at ["body"]). An
 *  empty body, or JSON null, is absent: "missing" unless optional. On success *out
 *  gets a new reference: the declared fields only, coerced (5.0 -> 5, "5" -> 5), with
 *  defaults filled in. */
tern_body_status tern_body_check(const tern_body_schema *s, bool optional,
                                 const char *content_type, const char *body, size_t len,
                                 const tern_body_limits *limits, json_t *errors, json_t **out);

/** Validates an already parsed value (NULL: absent) against the model; errors get loc
 *  ["body", ...]. Returns the validated body (new reference) or NULL (errors appended,
 *  or absent and optional: *nerr tells). */
json_t *tern_body_validate(const tern_body_schema *s, bool optional, json_t *value,
                           json_t *errors, size_t *nerr);

/** The detail of a 413 for status (TOO_DEEP or TOO_MANY), naming the limit. */
const char *tern_body_limit_detail(tern_body_status status, const tern_body_limits *limits,
                                   char *buf, size_t n);

#endif
