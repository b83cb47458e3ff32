/* server/validation_error.h - FastAPI's (pydantic 2's) validation error entries: exact
 * type names, message templates, key order (type, loc, msg, input, ctx). Shared by
 * parameter and body validation. */
#ifndef TERN_VALIDATION_ERROR_H
#define TERN_VALIDATION_ERROR_H

#include <jansson.h>

#include "tern/params.h"

/** "path", "query", "header", "cookie" (and "body" for 0). */
const char *tern_param_in_name(tern_param_in in);

/** ["<in>", "<name>"]: a new loc array for a parameter. */
json_t *tern_verr_loc(tern_param_in in, const char *name);

/** One error entry; steals loc, input and ctx (ctx may be NULL: no "ctx" key).
 *  msg is used as given. */
json_t *tern_verr_entry(const char *type, json_t *loc, const char *msg, json_t *input, json_t *ctx);

/** An entry whose message comes from pydantic's template for type, filled from ctx
 *  ("greater_than_equal" with ctx {"ge":1} -> "Input should be greater than or equal
 *  to 1"). Steals loc, input and ctx. NULL for an unknown type or when ctx lacks a value
 *  the template needs (too_short/too_long need field_type, min/max_length and
 *  actual_length, as in pydantic's ctx). */
json_t *tern_verr_make(const char *type, json_t *loc, json_t *input, json_t *ctx);

/** A JSON number for a bound as pydantic prints it: an integer when integral. */
json_t *tern_verr_number(double v);

/** Formats v as pydantic writes a bound into a message (Rust's Display for f64):
 *  shortest round-trip digits, never an exponent, integral as "100" ("2.5", "0.1",
 *  "0.0000001"). Python's repr agrees for 1e-4 <= |v| < 1e16. */
void tern_verr_format_number(double v, char *buf, size_t n);

/** {"detail": errors} (steals errors). */
json_t *tern_verr_body(json_t *errors);

#endif
