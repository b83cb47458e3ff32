/* server/param_check.h - validation of declared path/query/header/cookie parameters
 * into typed values, with one FastAPI-shaped error entry per failure. Independent of
 * h2o: raw text comes through a source callback, so tests and fuzzers drive it alone. */
#ifndef TERN_PARAM_CHECK_H
#define TERN_PARAM_CHECK_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "tern/params.h"
#include "arena.h"

/** A parameter after validation. */
typedef struct tern_param_value {
    bool present;      /**< given, or defaulted */
    const char *text;  /**< its text, NULL when absent: an arena copy of what was received,
                            ill-formed UTF-8 replaced by U+FFFD as Starlette does (so always
                            valid UTF-8), or the declaration's default */
    size_t len;        /**< length of text */
    int64_t i;         /**< TERN_T_INT value */
    double f;          /**< TERN_T_FLOAT value */
    bool b;            /**< TERN_T_BOOL value */
    json_t *list;      /**< many: the typed items (a new reference the caller releases);
                            NULL when absent or invalid */
} tern_param_value;

/** Where the raw text of parameters comes from. get returns the text (percent-decoded
 *  already) and its length, or NULL when the parameter is absent. For TERN_IN_HEADER,
 *  name is FastAPI's header alias, '_' already turned into '-' ("x_token" is asked for as
 *  "x-token"): match it against header names case-insensitively. Other locations get
 *  the declared name. */
typedef struct tern_param_source {
    const char *(*get)(void *ctx, tern_param_in in, const char *name, size_t *len);
    void *ctx;
    /** The index-th repeat of name, in order (NULL past the last), for list parameters;
     *  NULL: a list holds only the value get returns. Last, so {get, ctx} stays valid. */
    const char *(*get_nth)(void *ctx, tern_param_in in, const char *name, size_t index,
                           size_t *len);
} tern_param_source;

/** Declarations checked and compiled once, at route registration. */
typedef struct tern_param_set {
    tern_param *decls;   /**< copy of the declarations (names and strings still point at the caller's) */
    regex_t *regexes;    /**< compiled patterns, one per declaration (valid where decls[i].pattern) */
    size_t n;            /**< number of declarations */
} tern_param_set;

/** Checks and compiles n declarations: a name and location and type each, bounds that
 *  fit the type (numbers for int/float, lengths for strings), regexes that compile,
 *  enum values for enums, no duplicate (in, name), defaults that pass their own
 *  validation. 0, or -EINVAL with tern_errmsg() naming the parameter. */
int tern_param_set_init(tern_param_set *set, const tern_param *decls, size_t n);

/** Frees what tern_param_set_init allocated. */
void tern_param_set_free(tern_param_set *set);

/** Validates every declaration, filling values[i] for decls[i]; appends a FastAPI error
 *  entry to errors (a JSON array; NULL: only count) for each failure, all at once, in
 *  FastAPI's order: path, query, header, then cookie parameters, each group in
 *  declaration order. Returns the number of errors (0: values are ready). Decoded text
 *  lives in arena a. */
size_t tern_params_check(const tern_param_set *set, const tern_param_source *src, tern_arena *a,
                         tern_param_value *values, json_t *errors);

/** Index of the declaration named name (any location), or -1. */
int tern_param_set_find(const tern_param_set *set, const char *name);

#endif
