/* server/scalar_check.h - scalar rules shared by parameter and body validation: pydantic
 * 2's lax text parsing, UTF-8 helpers, and constraint checks that report pydantic's
 * error type and ctx (internal). */
#ifndef TERN_SCALAR_CHECK_H
#define TERN_SCALAR_CHECK_H

#include <locale.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/** Marks an ill-formed UTF-8 sequence in tern__utf8_next (no code point is this large). */
#define UTF8_BAD UINT32_MAX

/** A failed check: pydantic's error type and its ctx (a new reference, or NULL). */
typedef struct tern_vfail {
    const char *type;
    json_t *ctx;
} tern_vfail;

/** The constraints of one value, taken from a tern_param or a tern_field. */
typedef struct tern_rules {
    bool has_ge, has_gt, has_le, has_lt;
    double ge, gt, le, lt;
    bool has_min_length, has_max_length;
    size_t min_length, max_length;
    const char *pattern;   /**< source text, for the error's ctx */
    const regex_t *re;     /**< compiled pattern (valid when pattern is set) */
} tern_rules;

/** The rules of a declaration d (a tern_param or tern_field: they share member names). */
#define TERN_RULES_OF(d, regex)                                                                    \
    ((tern_rules){.has_ge = (d)->has_ge, .has_gt = (d)->has_gt, .has_le = (d)->has_le,             \
                  .has_lt = (d)->has_lt, .ge = (d)->ge, .gt = (d)->gt, .le = (d)->le,              \
                  .lt = (d)->lt, .has_min_length = (d)->has_min_length,                            \
                  .has_max_length = (d)->has_max_length, .min_length = (d)->min_length,            \
                  .max_length = (d)->max_length, .pattern = (d)->pattern, .re = (regex)})

/** C.UTF-8 (or C): the locale number parsing and regexes run in, whatever the process's. */
locale_t tern__text_locale(void);

/** Decodes one code point of s[0..n) (n >= 1); returns the bytes used; UTF8_BAD for an
 *  ill-formed sequence, covering its maximal subpart. */
size_t tern__utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/** Length once each ill-formed subpart becomes U+FFFD; *valid: it was well-formed. */
size_t tern__utf8_fixed_len(const char *s, size_t len, bool *valid);
/** Code points in well-formed UTF-8 (Python's len()). */
size_t tern__utf8_count(const char *s, size_t len);
/** s is well-formed UTF-8. */
bool tern__utf8_valid(const char *s);

/** pydantic's str_as_int (int64 range). */
bool tern__parse_int(const char *s, size_t len, int64_t *out);
/** pydantic's str_as_float. */
bool tern__parse_float(const char *s, size_t len, double *out);
/** pydantic's str_as_bool. */
bool tern__parse_bool(const char *s, size_t len, bool *out);

/** Records type and ctx (stolen) in e; returns false, so a check can `return tern__fail(...)`. */
bool tern__fail(tern_vfail *e, const char *type, json_t *ctx);
/** {key: bound} with the bound as pydantic prints it. */
json_t *tern__number_ctx(const char *key, double bound);
/** {key: n}. */
json_t *tern__length_ctx(const char *key, size_t n);
/** {"expected": "'a', 'b' or 'c'"} for enum values. */
json_t *tern__enum_ctx(const char *const *vals);

/** Bounds in pydantic's order (le, lt, ge, gt), exact for int64 against double bounds. */
bool tern__check_int_bounds(const tern_rules *d, int64_t v, tern_vfail *e);
/** Bounds in pydantic's order; NaN fails every bound. */
bool tern__check_float_bounds(const tern_rules *d, double f, tern_vfail *e);
/** min_length, max_length (characters), then pattern. */
bool tern__check_str(const tern_rules *d, const char *t, size_t len, tern_vfail *e);
/** t is one of the NULL-terminated values. */
bool tern__check_enum(const char *const *values, const char *t, size_t len, tern_vfail *e);

/** Searches re in t[0..len) (not anchored, NULs allowed). */
bool tern__regex_search(const regex_t *re, const char *t, size_t len);
/** Compiles a POSIX extended pattern; -1 with regerror's text in why. */
int tern__regex_compile(const char *pattern, regex_t *re, char *why, size_t n);
/** The pattern uses \d or \D, which POSIX regexes read as a plain letter. */
bool tern__uses_perl_class(const char *re);

/** No number satisfies the bounds (ge 10 with le 5): a declaration mistake. */
bool tern__bounds_empty(const tern_rules *d);
/** Every bound set is a finite number. */
bool tern__bounds_finite(const tern_rules *d);
/** Name, pattern and enum values (any may be NULL) are valid UTF-8: they end up in JSON. */
bool tern__texts_valid(const char *name, const char *pattern, const char *const *enum_values);

#endif
