/* server/validation_error.c - builds FastAPI's validation error entries: pydantic-core's
 * type names and message templates, filled from ctx the way pydantic renders them, with
 * the keys in FastAPI's order (type, loc, msg, input, ctx). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validation_error.h"

/* One error type. plural_key names the ctx number whose value picks "character" or
 * "characters" for {expected_plural}, as pydantic-core's plural_s() does. */
typedef struct verr_template {
    const char *type;
    const char *msg;
    const char *plural_key;
} verr_template;

/* pydantic-core's Python-mode templates (FastAPI validates bodies in Python mode, after
 * json.loads), except json_invalid, which FastAPI raises itself with a fixed message. */
static const verr_template templates[] = {
    {"missing", "Field required", NULL},
    {"extra_forbidden", "Extra inputs are not permitted", NULL},
    {"json_invalid", "JSON decode error", NULL},
    {"none_required", "Input should be None", NULL},
    {"int_type", "Input should be a valid integer", NULL},
    {"int_parsing", "Input should be a valid integer, unable to parse string as an integer", NULL},
    {"int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size", NULL},
    {"int_from_float", "Input should be a valid integer, got a number with a fractional part",
     NULL},
    {"float_type", "Input should be a valid number", NULL},
    {"float_parsing", "Input should be a valid number, unable to parse string as a number", NULL},
    {"finite_number", "Input should be a finite number", NULL},
    {"bool_type", "Input should be a valid boolean", NULL},
    {"bool_parsing", "Input should be a valid boolean, unable to interpret input", NULL},
    {"string_type", "Input should be a valid string", NULL},
    {"string_unicode",
     "Input should be a valid string, unable to parse raw data as a unicode string", NULL},
    {"string_too_short", "String should have at least {min_length} character{expected_plural}",
     "min_length"},
    {"string_too_long", "String should have at most {max_length} character{expected_plural}",
     "max_length"},
    {"string_pattern_mismatch", "String should match pattern '{pattern}'", NULL},
    {"greater_than", "Input should be greater than {gt}", NULL},
    {"greater_than_equal", "Input should be greater than or equal to {ge}", NULL},
    {"less_than", "Input should be less than {lt}", NULL},
    {"less_than_equal", "Input should be less than or equal to {le}", NULL},
    {"multiple_of", "Input should be a multiple of {multiple_of}", NULL},
    {"enum", "Input should be {expected}", NULL},
    {"literal_error", "Input should be {expected}", NULL},
    {"list_type", "Input should be a valid list", NULL},
    {"tuple_type", "Input should be a valid tuple", NULL},
    {"set_type", "Input should be a valid set", NULL},
    {"dict_type", "Input should be a valid dictionary", NULL},
    {"model_type", "Input should be a valid dictionary or instance of {class_name}", NULL},
    {"model_attributes_type", "Input should be a valid dictionary or object to extract fields from",
     NULL},
    {"too_short",
     "{field_type} should have at least {min_length} item{expected_plural} after validation, "
     "not {actual_length}",
     "min_length"},
    {"too_long",
     "{field_type} should have at most {max_length} item{expected_plural} after validation, "
     "not {actual_length}",
     "max_length"},
    {"value_error", "Value error, {error}", NULL},
    {"assertion_error", "Assertion failed, {error}", NULL},
};

const char *tern_param_in_name(tern_param_in in)
{
    switch (in) {
    case TERN_IN_PATH:
        return "path";
    case TERN_IN_QUERY:
        return "query";
    case TERN_IN_HEADER:
        return "header";
    case TERN_IN_COOKIE:
        return "cookie";
    }
    return "body";
}

json_t *tern_verr_loc(tern_param_in in, const char *name)
{
    return json_pack("[ss]", tern_param_in_name(in), name ? name : "");
}

json_t *tern_verr_entry(const char *type, json_t *loc, const char *msg, json_t *input, json_t *ctx)
{
    json_t *e = json_object();
    if (!e || !type || !loc || !msg || !input) {
        json_decref(e);
        json_decref(loc);
        json_decref(input);
        json_decref(ctx);
        return NULL;
    }
    /* Insertion order is dump order in jansson >= 2.8, and FastAPI's clients (and our
     * tests) compare bodies byte for byte, so the order below is part of the format. */
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "loc", loc);
    json_object_set_new(e, "msg", json_string(msg));
    json_object_set_new(e, "input", input);
    if (ctx)
        json_object_set_new(e, "ctx", ctx);
    return e;
}

/* ---- numbers ---------------------------------------------------------------------- */

/* The shortest "%.*e" rendering of v that reads back as v: the digits Python's repr and
 * Rust's Display both start from. Fills digits (no dot, no trailing zeros) and the
 * decimal exponent of the first digit. */
static void shortest_digits(double v, char *digits, size_t n, int *exp10)
{
    char buf[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* buf is "d[.ddd]e[+-]xx" for a positive finite v. */
    size_t k = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++) /* digits only: the radix character follows the locale */
        if (*p >= '0' && *p <= '9' && k + 1 < n)
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    *exp10 = *p == 'e' ? atoi(p + 1) : 0;
}

/* Appends c to buf[*k] while there is room (one byte is kept for the NUL). */
static void put(char *buf, size_t n, size_t *k, char c)
{
    if (*k + 1 < n)
        buf[(*k)++] = c;
}

/* pydantic renders a bound into its message with Rust's Display for f64: the shortest
 * round-trip digits written out in full, never in exponent form, no ".0" when integral
 * ("2.5", "0.1", "100", "0.0000001"). For the usual bounds this is also Python's repr. */
void tern_verr_format_number(double v, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    if (isnan(v) || isinf(v)) {
        snprintf(buf, n, "%s", isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
        return;
    }
    if (v == 0) { /* -0.0 too: its JSON twin (tern_verr_number) is the integer 0 */
        snprintf(buf, n, "0");
        return;
    }
    char digits[24];
    int e;
    shortest_digits(fabs(v), digits, sizeof digits, &e);
    int nd = (int)strlen(digits);
    size_t k = 0;
    if (v < 0)
        put(buf, n, &k, '-');
    if (e < 0) {
        put(buf, n, &k, '0');
        put(buf, n, &k, '.');
        for (int i = 0; i < -e - 1; i++)
            put(buf, n, &k, '0');
        for (int i = 0; i < nd; i++)
            put(buf, n, &k, digits[i]);
    } else {
        for (int i = 0; i <= e || i < nd; i++) {
            if (i == e + 1)
                put(buf, n, &k, '.');
            put(buf, n, &k, i < nd ? digits[i] : '0');
        }
    }
    buf[k] = '\0';
}

json_t *tern_verr_number(double v)
{
    /* 2^63 is exact in a double; integral values below it convert to int64 exactly. */
    if (isfinite(v) && v == floor(v) && fabs(v) < 9223372036854775808.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

json_t *tern_verr_body(json_t *errors)
{
    if (!errors)
        return NULL;
    json_t *body = json_object();
    if (!body) {
        json_decref(errors);
        return NULL;
    }
    json_object_set_new(body, "detail", errors);
    return body;
}

/* ---- message rendering ------------------------------------------------------------ */

/* A growable message; on allocation failure it keeps ok=false and stops growing. */
typedef struct strbuf {
    char *p;
    size_t len, cap;
    int ok;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n)
{
    if (!b->ok)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->ok = 0;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(strbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Appends a ctx value as pydantic's to_string_render does: strings as they are,
 * integers in decimal, reals through Display, null as Python's None. */
static int sb_add_value(strbuf *b, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        sb_add(b, json_string_value(v), json_string_length(v));
        return 0;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        sb_adds(b, num);
        return 0;
    case JSON_REAL:
        tern_verr_format_number(json_real_value(v), num, sizeof num);
        sb_adds(b, num);
        return 0;
    case JSON_NULL:
        sb_adds(b, "None");
        return 0;
    default:
        return -1;
    }
}

/* "" when the count in ctx[key] is 1, "s" otherwise (pydantic's plural_s). */
static const char *plural_suffix(const json_t *ctx, const char *key)
{
    const json_t *v = key ? json_object_get(ctx, key) : NULL;
    return json_is_number(v) && json_number_value(v) == 1 ? "" : "s";
}

/* Fills tmpl's {placeholders} from ctx. -1 when a placeholder has no usable value:
 * pydantic refuses such errors too, and a message with "{ge}" in it helps nobody. */
static int render(strbuf *b, const verr_template *t, const json_t *ctx)
{
    const char *s = t->msg;
    while (*s) {
        const char *open = strchr(s, '{');
        if (!open) {
            sb_adds(b, s);
            break;
        }
        sb_add(b, s, (size_t)(open - s));
        const char *close = strchr(open, '}');
        if (!close)
            return -1;
        char key[32];
        size_t kl = (size_t)(close - open - 1);
        if (kl >= sizeof key)
            return -1;
        memcpy(key, open + 1, kl);
        key[kl] = '\0';
        if (strcmp(key, "expected_plural") == 0) {
            sb_adds(b, plural_suffix(ctx, t->plural_key));
        } else {
            const json_t *v = json_object_get(ctx, key);
            if (!v || sb_add_value(b, v) < 0)
                return -1;
        }
        s = close + 1;
    }
    return b->ok ? 0 : -1;
}

static const verr_template *find_template(const char *type)
{
    for (size_t i = 0; type && i < sizeof templates / sizeof templates[0]; i++)
        if (strcmp(templates[i].type, type) == 0)
            return &templates[i];
    return NULL;
}

json_t *tern_verr_make(const char *type, json_t *loc, json_t *input, json_t *ctx)
{
    const verr_template *t = find_template(type);
    strbuf b = {NULL, 0, 0, 1};
    if (!t || render(&b, t, ctx) < 0) {
        free(b.p);
        json_decref(loc);
        json_decref(input);
        json_decref(ctx);
        return NULL;
    }
    json_t *e = tern_verr_entry(t->type, loc, b.p ? b.p : "", input, ctx);
    free(b.p);
    return e;
}
