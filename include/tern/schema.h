/* tern/schema.h - declared JSON bodies and responses (FastAPI's pydantic models).
 *
 * One declaration drives the body's validation before the handler runs (422 in
 * FastAPI's shape, every error at once), the validated JSON the handler reads, and
 * the request/response schemas of the OpenAPI document.
 *
 *   static const tern_field hero_create_fields[] = {
 *       TERN_FIELD_STR("name", TERN_MIN_LENGTH(1), TERN_MAX_LENGTH(100)),
 *       TERN_FIELD_STR("secret_name"),
 *       TERN_FIELD_INT("age", TERN_GE(0), TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
 *       TERN_FIELD_ARRAY("tags", TERN_ITEMS(TERN_FIELD_STR(NULL)), TERN_DEFAULT_JSON("[]")),
 *       {0},
 *   };
 *   static const tern_model hero_create = {"HeroCreate", hero_create_fields};
 *   tern_post(app, "/heroes", create_hero, .body = &hero_create, .status_code = 201);
 *
 * Constraint macros (TERN_GE, TERN_MAX_LENGTH, TERN_PATTERN, TERN_ENUM_VALUES,
 * TERN_DESCRIPTION) are the ones of params.h: fields share their member names. */
#ifndef TERN_SCHEMA_H
#define TERN_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "params.h"

/** The JSON type a body field must have. */
typedef enum {
    TERN_F_STR = 1,   /**< JSON string (pydantic str: no coercion from numbers) */
    TERN_F_INT,       /**< integer; lax like pydantic: 5.0, "5" and true are accepted */
    TERN_F_FLOAT,     /**< any JSON number; numeric strings and true/false too */
    TERN_F_BOOL,      /**< true/false; also 0/1 and "yes"/"no"/"on"/"off"/"1"/"0"... */
    TERN_F_ENUM,      /**< a string among enum_values */
    TERN_F_OBJECT,    /**< a nested model */
    TERN_F_ARRAY,     /**< a list of items */
    TERN_F_ANY,       /**< any JSON value, not checked */
} tern_field_type;

struct tern_model;

/** One field of a model (or an array's item). Arrays of fields end with {0}. */
typedef struct tern_field {
    const char *name;              /**< key in the object (NULL for an array item) */
    tern_field_type type;          /**< what the value must be */
    const struct tern_model *model; /**< TERN_F_OBJECT: the nested model */
    const struct tern_field *items; /**< TERN_F_ARRAY: the item declaration */
    bool optional;                 /**< may be absent (implied by default_json) */
    bool nullable;                 /**< null accepted (Optional[X]); documented as anyOf X|null */
    const char *default_json;      /**< JSON text filled in when absent ("0", "\"x\"", "null", "[]") */
    bool has_ge, has_gt, has_le, has_lt; /**< which numeric bounds are set */
    double ge, gt, le, lt;               /**< numeric bounds */
    bool has_min_length, has_max_length; /**< which length bounds are set */
    size_t min_length, max_length;       /**< characters for strings, items for arrays */
    const char *pattern;           /**< POSIX extended regex a string must match (searched) */
    const char *const *enum_values; /**< NULL-terminated values for TERN_F_ENUM */
    const char *description;       /**< for the OpenAPI document */
    const char *example_json;      /**< JSON text example for the OpenAPI document */
} tern_field;

/** A model: a named JSON object with declared fields (a pydantic BaseModel). */
typedef struct tern_model {
    const char *name;              /**< component name in the OpenAPI document ("HeroCreate") */
    const tern_field *fields;      /**< ended by {0} */
    const char *description;       /**< for the OpenAPI document */
    bool forbid_extra;             /**< unknown keys give extra_forbidden (default: ignored) */
} tern_model;

/** A documented response of a route (besides the automatic 422). Arrays end with {0}. */
typedef struct tern_response_decl {
    int status;                    /**< HTTP status */
    const char *description;       /**< "Successful Response", "Hero not found", ... */
    const tern_model *model;       /**< body schema (NULL: none or {"detail": ...}) */
    bool is_list;                  /**< the body is an array of model */
    const char *content_type;      /**< default application/json */
} tern_response_decl;

/** Field modifiers. */
#define TERN_OPTIONAL .optional = true
#define TERN_NULLABLE .nullable = true
#define TERN_DEFAULT_JSON(text) .optional = true, .default_json = (text)
#define TERN_EXAMPLE_JSON(text) .example_json = (text)
/** An array's item declaration, e.g. TERN_ITEMS(TERN_FIELD_INT(NULL, TERN_GE(0))). */
#define TERN_ITEMS(...) .items = &(const tern_field)__VA_ARGS__

#define TERN__FIELD(nm, ty, ...) {.name = (nm), .type = (ty), __VA_ARGS__}
/** Field declarations; extra arguments are constraints and modifiers. */
#define TERN_FIELD_STR(n, ...) TERN__FIELD(n, TERN_F_STR, __VA_ARGS__)
#define TERN_FIELD_INT(n, ...) TERN__FIELD(n, TERN_F_INT, __VA_ARGS__)
#define TERN_FIELD_FLOAT(n, ...) TERN__FIELD(n, TERN_F_FLOAT, __VA_ARGS__)
#define TERN_FIELD_BOOL(n, ...) TERN__FIELD(n, TERN_F_BOOL, __VA_ARGS__)
#define TERN_FIELD_ENUM(n, ...) TERN__FIELD(n, TERN_F_ENUM, __VA_ARGS__)
#define TERN_FIELD_OBJECT(n, m, ...) TERN__FIELD(n, TERN_F_OBJECT, .model = (m), __VA_ARGS__)
#define TERN_FIELD_ARRAY(n, ...) TERN__FIELD(n, TERN_F_ARRAY, __VA_ARGS__)
#define TERN_FIELD_ANY(n, ...) TERN__FIELD(n, TERN_F_ANY, __VA_ARGS__)

#endif
