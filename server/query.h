/* server/query.h - percent-decoding and query-string parsing into a request's arena. */
#ifndef TERN_QUERY_H
#define TERN_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/** One decoded name=value pair (both NUL-terminated, in the arena). */
typedef struct tern_qpair {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} tern_qpair;

/** A parsed query string. */
typedef struct tern_query {
    tern_qpair *pairs;
    size_t n;
} tern_query;

/** Decodes %XX escapes (and '+' as space when plus_as_space) of s[0..len) into a new
 *  NUL-terminated arena string; *out_len gets its length (may be NULL). Malformed
 *  escapes stay as they are, like Python's unquote. NULL only when out of memory. */
char *tern_percent_decode(tern_arena *a, const char *s, size_t len, bool plus_as_space,
                          size_t *out_len);

/** Query pairs a request may carry (more: 400), so parameter pollution can neither make
 *  us parse forever nor push a real parameter past what we read. */
#define TERN_QUERY_MAX_PAIRS 256
#define TERN_STRINGIFY_(x) #x
/** A macro's value as a string literal. */
#define TERN_STRINGIFY(x) TERN_STRINGIFY_(x)

/** The number of non-empty '&'-separated pieces in qs[0..len), counting no further
 *  than limit + 1. */
size_t tern_query_count_pairs(const char *qs, size_t len, size_t limit);

/** Splits "a=1&b=x%20y&c" on '&' (and ';' not), decodes names and values ('+' is a
 *  space), keeps empty values ("c" -> ""), skips empty pieces. At most max_pairs are
 *  kept (the rest ignored). 0, or -ENOMEM. */
int tern_query_parse(tern_arena *a, const char *qs, size_t len, size_t max_pairs, tern_query *out);

/** The value of the last pair named name (FastAPI takes the last), or NULL. */
const char *tern_query_get(const tern_query *q, const char *name, size_t *len);

/** The value of the index-th pair named name (0: the first), or NULL. */
const char *tern_query_nth(const tern_query *q, const char *name, size_t index, size_t *len);

/** How many pairs are named name. */
size_t tern_query_count(const tern_query *q, const char *name);

#endif
