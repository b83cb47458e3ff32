/* server/param_check.c - validates declared path/query/header/cookie parameters the way
 * FastAPI (pydantic 2) does: the same accepted spellings for int, float and bool, the
 * same first-failing constraint, the same error entries, every error of a request at
 * once. Declarations are checked and their regexes compiled once, at registration. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "param_check.h"
#include "scalar_check.h"
#include "tern/error.h"
#include "validation_error.h"

/* Copies received text into the arena, NUL-terminated, with ill-formed UTF-8 replaced
 * by U+FFFD as Starlette's decoding does: lengths, patterns, the handler and the JSON
 * error entry then all see the text FastAPI would (and jansson refuses invalid UTF-8).
 * The copy also keeps the value alive for the handler whatever the source's storage. */
static char *text_copy(tern_arena *a, const char *s, size_t len, size_t *out_len)
{
    bool valid;
    size_t n = tern__utf8_fixed_len(s, len, &valid);
    char *d = tern_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    if (valid) {
        memcpy(d, s, len);
    } else {
        const unsigned char *u = (const unsigned char *)s;
        size_t o = 0;
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t k = tern__utf8_next(u + i, len - i, &cp);
            if (cp == UTF8_BAD)
                memcpy(d + o, "\xEF\xBF\xBD", 3), o += 3;
            else
                memcpy(d + o, s + i, k), o += k;
            i += k;
        }
    }
    d[n] = '\0';
    *out_len = n;
    return d;
}

/* Parses and checks well-formed UTF-8 text t[0..len) for declaration i into *v. */
static bool check_value(const tern_param_set *set, size_t i, const char *t, size_t len,
                        tern_param_value *v, tern_vfail *e)
{
    const tern_param *d = &set->decls[i];
    tern_rules r = TERN_RULES_OF(d, &set->regexes[i]);
    if (d->many) /* a list's lengths bound its number of items, not each item */
        r.has_min_length = r.has_max_length = false;
    switch (d->type) {
    case TERN_T_STR:
        if (!tern__check_str(&r, t, len, e))
            return false;
        /* Checked last, so pydantic's own errors come first as in FastAPI. A decoded %00
         * would cut the C string a handler reads ("a%00b" read as "a", a classic way past
         * a suffix check): the handler would not see what the client sent, so refuse it. */
        if (memchr(t, '\0', len))
            return tern__fail(e, "value_error",
                              json_pack("{ss}", "error", "NUL characters are not allowed"));
        return true;
    case TERN_T_INT:
        if (!tern__parse_int(t, len, &v->i))
            return tern__fail(e, "int_parsing", NULL);
        return tern__check_int_bounds(&r, v->i, e);
    case TERN_T_FLOAT:
        if (!tern__parse_float(t, len, &v->f))
            return tern__fail(e, "float_parsing", NULL);
        return tern__check_float_bounds(&r, v->f, e);
    case TERN_T_BOOL:
        return tern__parse_bool(t, len, &v->b) ? true : tern__fail(e, "bool_parsing", NULL);
    case TERN_T_ENUM:
        return tern__check_enum(d->enum_values, t, len, e);
    }
    return tern__fail(e, "missing", NULL); /* unreachable: init rejects other types */
}

/* The name the source is asked for and errors report: FastAPI's header alias turns '_'
 * into '-' ("x_token" is header x-token, loc ["header","x-token"]). Other locations use
 * the name as declared. Short names convert into buf, long ones into the arena. */
static const char *wire_name(const tern_param *d, char *buf, size_t n, tern_arena *a)
{
    if (d->in != TERN_IN_HEADER || !strchr(d->name, '_'))
        return d->name;
    size_t len = strlen(d->name);
    char *s = len < n ? memcpy(buf, d->name, len + 1) : tern_arena_strndup(a, d->name, len);
    if (!s)
        return d->name;
    for (char *p = s; *p; p++)
        if (*p == '_')
            *p = '-';
    return s;
}

static void add_error(json_t *errors, json_t *entry)
{
    if (errors && entry)
        json_array_append_new(errors, entry);
    else
        json_decref(entry);
}

/* A received text as the JSON value of its declared type (already validated). */
static json_t *typed_json(const tern_param *d, const tern_param_value *v)
{
    switch (d->type) {
    case TERN_T_INT:
        return json_integer((json_int_t)v->i);
    case TERN_T_FLOAT:
        return json_real(v->f);
    case TERN_T_BOOL:
        return json_boolean(v->b);
    default:
        return json_stringn(v->text, v->len);
    }
}

static json_t *list_len_ctx(const char *key, size_t bound, size_t actual)
{
    return json_pack("{sssIsI}", "field_type", "List", key, (json_int_t)bound, "actual_length",
                     (json_int_t)actual);
}

/* A repeated query parameter (List[X]): every repeat validated as an item, errors at
 * ["query", name, index], like pydantic's list: past max_length it stops with too_long
 * alone, and min_length is checked once every item passed. */
static size_t check_list(const tern_param_set *set, size_t i, const tern_param_source *src,
                         tern_arena *a, tern_param_value *v, json_t *errors)
{
    const tern_param *d = &set->decls[i];
    json_t *raw_items = json_array(), *item_errors = json_array();
    v->list = json_array();
    size_t n = 0, nerr = 0, len;
    const char *raw;
    while ((raw = src->get_nth(src->ctx, d->in, d->name, n, &len)) != NULL) {
        const char *t = text_copy(a, raw, len, &len);
        tern_param_value item = {.present = true, .text = t ? t : raw, .len = len};
        tern_vfail e = {NULL, NULL};
        json_t *input = json_stringn(item.text, item.len);
        json_array_append(raw_items, input);
        if (check_value(set, i, item.text, item.len, &item, &e)) {
            json_array_append_new(v->list, typed_json(d, &item));
            json_decref(input);
        } else {
            json_t *loc = json_pack("[ssI]", "query", d->name, (json_int_t)n);
            add_error(item_errors, tern_verr_make(e.type, loc, input ? input : json_null(), e.ctx));
            nerr++;
        }
        n++;
    }
    json_t *fail = NULL;
    if (d->has_max_length && n > d->max_length)
        fail = tern_verr_make("too_long", tern_verr_loc(d->in, d->name), json_incref(raw_items),
                              list_len_ctx("max_length", d->max_length, n));
    else if (!nerr && n && d->has_min_length && n < d->min_length)
        fail = tern_verr_make("too_short", tern_verr_loc(d->in, d->name), json_incref(raw_items),
                              list_len_ctx("min_length", d->min_length, n));
    else if (n == 0 && d->required)
        fail = tern_verr_make("missing", tern_verr_loc(d->in, d->name), json_null(), NULL);
    if (fail) {
        add_error(errors, fail);
        nerr = 1;
    } else if (errors && nerr) {
        json_array_extend(errors, item_errors);
    }
    json_decref(item_errors);
    json_decref(raw_items);
    v->present = n > 0 && !nerr;
    if (!v->present) {
        json_decref(v->list);
        v->list = NULL;
    }
    return nerr;
}

/* Validates declaration i into *v; returns the number of errors it added (0 or 1). */
static size_t check_param(const tern_param_set *set, size_t i, const tern_param_source *src,
                          tern_arena *a, tern_param_value *v, json_t *errors)
{
    const tern_param *d = &set->decls[i];
    char namebuf[128];
    const char *name = wire_name(d, namebuf, sizeof namebuf, a);
    size_t raw_len = 0;
    const char *raw = src && src->get ? src->get(src->ctx, d->in, name, &raw_len) : NULL;
    tern_vfail e = {NULL, NULL};
    memset(v, 0, sizeof *v);
    if (d->many && src && src->get_nth)
        return check_list(set, i, src, a, v, errors);
    if (!raw && d->default_value) {
        /* Checked at init, so this only fills the typed value. */
        v->present = true;
        v->text = d->default_value;
        v->len = strlen(d->default_value);
        check_value(set, i, v->text, v->len, v, &e);
        json_decref(e.ctx);
        return 0;
    }
    if (!raw) {
        if (!d->required && d->in != TERN_IN_PATH)
            return 0;
        add_error(errors, tern_verr_make("missing", tern_verr_loc(d->in, name), json_null(), NULL));
        return 1;
    }
    size_t len = raw_len;
    const char *t = text_copy(a, raw, raw_len, &len);
    if (!t) { /* out of arena memory: the source's text is the best we have */
        t = raw;
        len = raw_len;
    }
    v->present = true;
    v->text = t;
    v->len = len;
    if (check_value(set, i, t, len, v, &e))
        return 0;
    json_t *input = json_stringn(t, len);
    add_error(errors, tern_verr_make(e.type, tern_verr_loc(d->in, name),
                                     input ? input : json_null(), e.ctx));
    return 1;
}

size_t tern_params_check(const tern_param_set *set, const tern_param_source *src, tern_arena *a,
                         tern_param_value *values, json_t *errors)
{
    /* FastAPI validates path, then query, header and cookie parameters, each group in
     * declaration order, and concatenates the errors in that order. */
    static const tern_param_in order[] = {TERN_IN_PATH, TERN_IN_QUERY, TERN_IN_HEADER,
                                          TERN_IN_COOKIE};
    size_t nerr = 0;
    if (!set)
        return 0;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (size_t i = 0; i < set->n; i++)
            if (set->decls[i].in == order[k])
                nerr += check_param(set, i, src, a, &values[i], errors);
    return nerr;
}

int tern_param_set_find(const tern_param_set *set, const char *name)
{
    for (size_t i = 0; set && name && i < set->n; i++)
        if (strcmp(set->decls[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- declarations ------------------------------------------------------------------- */

/* Sets tern_errmsg and returns -EINVAL, so each check is one line. */
__attribute__((format(printf, 1, 2))) static int bad_decl(const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tern_set_errmsg("%s", msg);
    return -EINVAL;
}

static bool is_number_type(tern_param_type t)
{
    return t == TERN_T_INT || t == TERN_T_FLOAT;
}

static bool has_numeric_bound(const tern_param *d)
{
    return d->has_ge || d->has_gt || d->has_le || d->has_lt;
}

/* A name, a known location and a known type. */
static int check_decl_kind(const tern_param *d, size_t i)
{
    if (!d->name || !d->name[0])
        return bad_decl("parameter #%zu has no name", i);
    if (!tern__texts_valid(d->name, d->pattern, d->enum_values))
        return bad_decl("parameter #%zu: name, pattern or enum value is not valid UTF-8", i);
    if (d->in < TERN_IN_PATH || d->in > TERN_IN_COOKIE)
        return bad_decl("parameter '%s': unknown location %d", d->name, (int)d->in);
    if (d->type < TERN_T_STR || d->type > TERN_T_ENUM)
        return bad_decl("parameter '%s': unknown type %d", d->name, (int)d->type);
    return 0;
}

/* Constraints that fit the type and that some value can meet. */
static int check_decl_constraints(const tern_param *d)
{
    const char *nm = d->name;
    if ((d->has_min_length || d->has_max_length) && d->type != TERN_T_STR && !d->many)
        return bad_decl("parameter '%s': min_length/max_length apply to strings and lists only",
                        nm);
    if (d->many && d->in != TERN_IN_QUERY)
        return bad_decl("parameter '%s': only query parameters can be lists", nm);
    if (has_numeric_bound(d) && !is_number_type(d->type))
        return bad_decl("parameter '%s': ge/gt/le/lt apply to int and float only", nm);
    if (d->pattern && d->type != TERN_T_STR)
        return bad_decl("parameter '%s': pattern applies to strings only", nm);
    if (d->enum_values && d->type != TERN_T_ENUM)
        return bad_decl("parameter '%s': enum_values apply to enums only", nm);
    if (d->type == TERN_T_ENUM && (!d->enum_values || !d->enum_values[0]))
        return bad_decl("parameter '%s': enum without values", nm);
    tern_rules r = TERN_RULES_OF(d, NULL);
    if (!tern__bounds_finite(&r))
        return bad_decl("parameter '%s': a bound is not a finite number", nm);
    if (tern__bounds_empty(&r))
        return bad_decl("parameter '%s': no value satisfies its bounds", nm);
    if (d->has_min_length && d->has_max_length && d->min_length > d->max_length)
        return bad_decl("parameter '%s': min_length %zu > max_length %zu", nm, d->min_length,
                        d->max_length);
    if (d->pattern && tern__uses_perl_class(d->pattern))
        return bad_decl("parameter '%s': pattern '%s' uses \\d, which POSIX regexes read as "
                        "'d'; write [0-9]",
                        nm, d->pattern);
    return 0;
}

/* FastAPI refuses a default on a path parameter; required with a default contradicts. */
static int check_decl_default(const tern_param *d)
{
    if (d->in == TERN_IN_PATH && d->default_value)
        return bad_decl("parameter '%s': a path parameter cannot have a default", d->name);
    if (d->many && d->default_value)
        return bad_decl("parameter '%s': a list parameter cannot have a default", d->name);
    if (d->required && d->default_value)
        return bad_decl("parameter '%s': required, yet has a default", d->name);
    return 0;
}

/* Shape checks of one declaration, before anything is compiled. */
static int check_decl_shape(const tern_param *d, size_t i)
{
    int rc = check_decl_kind(d, i);
    if (rc == 0)
        rc = check_decl_constraints(d);
    if (rc == 0)
        rc = check_decl_default(d);
    return rc;
}

static int compile_pattern(const tern_param *d, regex_t *re)
{
    char why[128];
    if (tern__regex_compile(d->pattern, re, why, sizeof why) == 0)
        return 0;
    return bad_decl("parameter '%s': bad pattern '%s': %s", d->name, d->pattern, why);
}

/* Header names compare as HTTP does (any case), with FastAPI's '_' for '-'. */
static int header_fold(char c)
{
    return c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static bool same_param(const tern_param *a, const tern_param *b)
{
    if (a->in != b->in)
        return false;
    if (a->in != TERN_IN_HEADER)
        return strcmp(a->name, b->name) == 0;
    const char *p = a->name, *q = b->name;
    for (; *p && *q; p++, q++)
        if (header_fold(*p) != header_fold(*q))
            return false;
    return *p == *q;
}

/* The default must pass the declaration's own checks: a default the handler could never
 * receive from a client is a bug to catch at start-up. */
static int check_default(const tern_param_set *set, size_t i)
{
    const tern_param *d = &set->decls[i];
    size_t len = strlen(d->default_value);
    if (!tern__utf8_valid(d->default_value))
        return bad_decl("parameter '%s': default is not valid UTF-8", d->name);
    tern_param_value v;
    tern_vfail e = {NULL, NULL};
    if (check_value(set, i, d->default_value, len, &v, &e))
        return 0;
    json_t *entry = tern_verr_make(e.type, json_array(), json_null(), e.ctx);
    const char *msg = json_string_value(json_object_get(entry, "msg"));
    bad_decl("parameter '%s': default '%s' is invalid: %s", d->name, d->default_value,
             msg ? msg : e.type);
    json_decref(entry);
    return -EINVAL;
}

int tern_param_set_init(tern_param_set *set, const tern_param *decls, size_t n)
{
    if (!set)
        return bad_decl("no parameter set");
    memset(set, 0, sizeof *set);
    if (n == 0)
        return 0;
    if (!decls)
        return bad_decl("%zu parameters but no declarations", n);
    set->decls = malloc(n * sizeof *set->decls);
    set->regexes = calloc(n, sizeof *set->regexes);
    if (!set->decls || !set->regexes) {
        tern_param_set_free(set);
        tern_set_errmsg("out of memory for %zu parameter declarations", n);
        return -ENOMEM;
    }
    memcpy(set->decls, decls, n * sizeof *decls);
    for (size_t i = 0; i < n; i++) {
        const tern_param *d = &set->decls[i];
        int rc = check_decl_shape(d, i);
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (same_param(&set->decls[j], d))
                rc = bad_decl("parameter '%s': declared twice in %s", d->name,
                              tern_param_in_name(d->in));
        if (rc == 0 && d->pattern)
            rc = compile_pattern(d, &set->regexes[i]);
        if (rc == 0)
            set->n = i + 1; /* from here on, tern_param_set_free owns regexes[i] */
        if (rc == 0 && d->default_value)
            rc = check_default(set, i);
        if (rc != 0) {
            tern_param_set_free(set);
            return rc;
        }
    }
    return 0;
}

void tern_param_set_free(tern_param_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; set->regexes && i < set->n; i++)
        if (set->decls[i].pattern)
            regfree(&set->regexes[i]);
    free(set->decls);
    free(set->regexes);
    memset(set, 0, sizeof *set);
}
