/* tern/params.h - declared parameters: one declaration drives validation before the
 * handler runs, FastAPI's 422 errors, and (later) the OpenAPI document.
 *
 *   static const tern_param read_item_params[] = {
 *       TERN_PATH_INT("item_id", TERN_GE(1)),
 *       TERN_QUERY_STR("q", TERN_MAX_LENGTH(50)),
 *       TERN_QUERY_INT("limit", TERN_LE(100), TERN_DEFAULT("100")),
 *       {0},
 *   };
 */
#ifndef TERN_PARAMS_H
#define TERN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Where a parameter comes from (FastAPI's Path, Query, Header, Cookie). */
typedef enum {
    TERN_IN_PATH = 1,
    TERN_IN_QUERY,
    TERN_IN_HEADER,
    TERN_IN_COOKIE,
} tern_param_in;

/** The type a parameter's text is parsed into. */
typedef enum {
    TERN_T_STR = 1,
    TERN_T_INT,
    TERN_T_FLOAT,
    TERN_T_BOOL,
    TERN_T_ENUM,
} tern_param_type;

/** One declared parameter. Arrays of them end with {0}. Fill with the macros below. */
typedef struct tern_param {
    const char *name;      /**< name in the path/query; header names match case-insensitively, '_' as '-' */
    tern_param_in in;      /**< where it comes from */
    tern_param_type type;  /**< what it parses into */
    bool required;         /**< missing gives 422 "missing" (path parameters are always required) */
    const char *default_value; /**< text parsed like input when absent (NULL: absent stays absent) */
    bool has_ge, has_gt, has_le, has_lt; /**< which numeric bounds are set */
    double ge, gt, le, lt;               /**< numeric bounds (int and float) */
    bool has_min_length, has_max_length; /**< which length bounds are set */
    size_t min_length, max_length;       /**< string length bounds, in characters */
    const char *pattern;   /**< POSIX extended regex the string must match (searched, like pydantic) */
    const char *const *enum_values; /**< NULL-terminated allowed values for TERN_T_ENUM */
    const char *description; /**< for the OpenAPI document */
    const char *example;     /**< for the OpenAPI document */
    bool many;               /**< query only: every repeat is kept, read as a list (List[X]) */
} tern_param;

/** Constraint helpers, used inside the declaration macros. */
#define TERN_GE(v) .has_ge = true, .ge = (v)
#define TERN_GT(v) .has_gt = true, .gt = (v)
#define TERN_LE(v) .has_le = true, .le = (v)
#define TERN_LT(v) .has_lt = true, .lt = (v)
#define TERN_MIN_LENGTH(v) .has_min_length = true, .min_length = (v)
#define TERN_MAX_LENGTH(v) .has_max_length = true, .max_length = (v)
#define TERN_PATTERN(re) .pattern = (re)
#define TERN_DEFAULT(text) .default_value = (text)
#define TERN_REQUIRED .required = true
#define TERN_DESCRIPTION(text) .description = (text)
#define TERN_MANY .many = true
#define TERN_ENUM_VALUES(...) .enum_values = (const char *const[]){__VA_ARGS__, NULL}

#define TERN__PARAM(nm, where, ty, ...) {.name = (nm), .in = (where), .type = (ty), __VA_ARGS__}

/** A path parameter `{name}` of the given type (always required). */
#define TERN_PATH_INT(n, ...) TERN__PARAM(n, TERN_IN_PATH, TERN_T_INT, .required = true, __VA_ARGS__)
#define TERN_PATH_FLOAT(n, ...) TERN__PARAM(n, TERN_IN_PATH, TERN_T_FLOAT, .required = true, __VA_ARGS__)
#define TERN_PATH_STR(n, ...) TERN__PARAM(n, TERN_IN_PATH, TERN_T_STR, .required = true, __VA_ARGS__)
#define TERN_PATH_BOOL(n, ...) TERN__PARAM(n, TERN_IN_PATH, TERN_T_BOOL, .required = true, __VA_ARGS__)
/** A query parameter; optional unless TERN_REQUIRED is given. */
#define TERN_QUERY_INT(n, ...) TERN__PARAM(n, TERN_IN_QUERY, TERN_T_INT, __VA_ARGS__)
#define TERN_QUERY_FLOAT(n, ...) TERN__PARAM(n, TERN_IN_QUERY, TERN_T_FLOAT, __VA_ARGS__)
#define TERN_QUERY_STR(n, ...) TERN__PARAM(n, TERN_IN_QUERY, TERN_T_STR, __VA_ARGS__)
#define TERN_QUERY_BOOL(n, ...) TERN__PARAM(n, TERN_IN_QUERY, TERN_T_BOOL, __VA_ARGS__)
#define TERN_QUERY_ENUM(n, ...) TERN__PARAM(n, TERN_IN_QUERY, TERN_T_ENUM, __VA_ARGS__)
/** A query parameter read as a list: every repeat (?tag=a&tag=b) is an item, checked on
 *  its own (errors at ["query", name, index]); min/max_length bound the number of items.
 *  Read with tern_param_list(). */
#define TERN_QUERY_INT_LIST(n, ...) TERN_QUERY_INT(n, .many = true, __VA_ARGS__)
#define TERN_QUERY_FLOAT_LIST(n, ...) TERN_QUERY_FLOAT(n, .many = true, __VA_ARGS__)
#define TERN_QUERY_STR_LIST(n, ...) TERN_QUERY_STR(n, .many = true, __VA_ARGS__)
#define TERN_QUERY_BOOL_LIST(n, ...) TERN_QUERY_BOOL(n, .many = true, __VA_ARGS__)
#define TERN_QUERY_ENUM_LIST(n, ...) TERN_QUERY_ENUM(n, .many = true, __VA_ARGS__)
/** A header parameter (name like "x_token" matches header X-Token). */
#define TERN_HEADER_STR(n, ...) TERN__PARAM(n, TERN_IN_HEADER, TERN_T_STR, __VA_ARGS__)
#define TERN_HEADER_INT(n, ...) TERN__PARAM(n, TERN_IN_HEADER, TERN_T_INT, __VA_ARGS__)
/** A cookie parameter. */
#define TERN_COOKIE_STR(n, ...) TERN__PARAM(n, TERN_IN_COOKIE, TERN_T_STR, __VA_ARGS__)

#endif
