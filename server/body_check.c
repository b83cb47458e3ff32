/* server/body_check.c - a declared JSON body checked as FastAPI checks a pydantic 2 model.
 *
 * FastAPI decodes the body with json.loads and validates the result in pydantic's
 * Python lax mode with from_attributes on, so that is what is mirrored here:
 *   int    5, 5.0, "5", " 5 ", true (1); 5.5 int_from_float, "abc" int_parsing,
 *          null/[]/{} int_type
 *   float  numbers, numeric strings, true/false; "abc" float_parsing, null float_type;
 *          "inf"/"nan"/"1e999" finite_number (pydantic takes them, JSON cannot hold them)
 *   bool   true/false, 0/1 (also 0.0/1.0), "yes"/"no"/"on"/"off"/"t"/"f"/"1"/"0"...;
 *          other ints and strings bool_parsing, 0.5/null/[] bool_type
 *   str    strings only (string_type for 5)
 *   object a JSON object, else model_attributes_type; list: an array, else list_type
 * Errors come out in pydantic's order: fields in declaration order, then extra keys
 * (forbid_extra) in input order; a list's items in order, and a list that grows past
 * max_length reports too_long alone, as pydantic stops there. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "body_check.h"
#include "json_scan.h"
#include "scalar_check.h"
#include "tern/error.h"
#include "validation_error.h"

typedef struct cmodel cmodel;

/* A field with what validation needs prepared: its rules and regex, its parsed default,
 * the model it nests or its item declaration. */
typedef struct cfield {
    const tern_field *decl;
    tern_rules rules;
    regex_t re;
    bool has_re;
    json_t *def;
    cmodel *model;
    struct cfield *item;
} cfield;

struct cmodel {
    const tern_model *decl;
    cfield *fields;
    size_t n;
};

struct tern_body_schema {
    cmodel **models; /* every model reached, each compiled once (so recursion terminates) */
    size_t nmodels, cap;
    cmodel *root;
};

/* ---- validation --------------------------------------------------------------------- */

/* Where validation is: the loc of the value at hand and where errors go. */
typedef struct vctx {
    json_t *loc;     /* ["body", ...], grown and shrunk as validation descends */
    json_t *errors;  /* NULL: only count */
    size_t nerr;
} vctx;

static void add_error(vctx *v, const char *type, json_t *input, json_t *ctx)
{
    v->nerr++;
    json_t *e = tern_verr_make(type, json_copy(v->loc), input ? input : json_null(), ctx);
    if (v->errors && e)
        json_array_append_new(v->errors, e);
    else
        json_decref(e);
}

static void add_fail(vctx *v, const json_t *input, tern_vfail *f)
{
    add_error(v, f->type, json_incref((json_t *)input), f->ctx);
}

static void loc_push_key(vctx *v, const char *key)
{
    json_array_append_new(v->loc, json_string(key));
}

static void loc_push_index(vctx *v, size_t i)
{
    json_array_append_new(v->loc, json_integer((json_int_t)i));
}

static void loc_pop(vctx *v)
{
    json_array_remove(v->loc, json_array_size(v->loc) - 1);
}

static json_t *validate_value(vctx *v, const cfield *f, json_t *in);

/* pydantic's float_as_int: integral and inside int64, or the matching error. */
static bool float_to_int(double d, int64_t *out, tern_vfail *e)
{
    if (!isfinite(d))
        return tern__fail(e, "finite_number", NULL);
    if (d != floor(d))
        return tern__fail(e, "int_from_float", NULL);
    if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0))
        return tern__fail(e, "int_parsing_size", NULL);
    *out = (int64_t)d;
    return true;
}

static json_t *validate_int(vctx *v, const cfield *f, json_t *in)
{
    tern_vfail e = {NULL, NULL};
    int64_t i = 0;
    bool ok;
    if (json_is_integer(in)) {
        i = json_integer_value(in);
        ok = true;
    } else if (json_is_string(in)) {
        ok = tern__parse_int(json_string_value(in), json_string_length(in), &i) ||
             tern__fail(&e, "int_parsing", NULL);
    } else if (json_is_real(in)) {
        ok = float_to_int(json_real_value(in), &i, &e);
    } else if (json_is_boolean(in)) { /* bool is an int subclass in Python */
        i = json_is_true(in);
        ok = true;
    } else {
        ok = tern__fail(&e, "int_type", NULL);
    }
    if (ok && tern__check_int_bounds(&f->rules, i, &e))
        return json_integer((json_int_t)i);
    add_fail(v, in, &e);
    return NULL;
}

static json_t *validate_float(vctx *v, const cfield *f, json_t *in)
{
    tern_vfail e = {NULL, NULL};
    double d = 0;
    bool ok = true;
    if (json_is_number(in))
        d = json_number_value(in);
    else if (json_is_string(in))
        ok = tern__parse_float(json_string_value(in), json_string_length(in), &d) ||
             tern__fail(&e, "float_parsing", NULL);
    else if (json_is_boolean(in))
        d = json_is_true(in);
    else
        ok = tern__fail(&e, "float_type", NULL);
    /* "inf", "nan" and "1e999" parse, but JSON cannot carry them to the handler */
    if (ok && !isfinite(d))
        ok = tern__fail(&e, "finite_number", NULL);
    if (ok && tern__check_float_bounds(&f->rules, d, &e))
        return json_real(d);
    add_fail(v, in, &e);
    return NULL;
}

/* pydantic's lax_bool: strings by word, 0/1 as ints (or integral floats), the rest no. */
static json_t *validate_bool(vctx *v, json_t *in)
{
    tern_vfail e = {NULL, NULL}, not_int;
    bool b = false, ok;
    int64_t i = 0;
    bool is_int = json_is_integer(in) ||
                  (json_is_real(in) && float_to_int(json_real_value(in), &i, &not_int));
    if (json_is_boolean(in)) {
        b = json_is_true(in);
        ok = true;
    } else if (json_is_string(in)) {
        ok = tern__parse_bool(json_string_value(in), json_string_length(in), &b) ||
             tern__fail(&e, "bool_parsing", NULL);
    } else if (is_int) {
        if (json_is_integer(in))
            i = json_integer_value(in);
        b = i == 1;
        ok = i == 0 || i == 1 || tern__fail(&e, "bool_parsing", NULL);
    } else {
        ok = tern__fail(&e, "bool_type", NULL); /* 0.5, null, [], {} */
    }
    if (ok)
        return json_boolean(b);
    add_fail(v, in, &e);
    return NULL;
}

static json_t *validate_str(vctx *v, const cfield *f, json_t *in)
{
    tern_vfail e = {NULL, NULL};
    if (!json_is_string(in))
        tern__fail(&e, "string_type", NULL);
    else if (tern__check_str(&f->rules, json_string_value(in), json_string_length(in), &e))
        return json_incref(in);
    add_fail(v, in, &e);
    return NULL;
}

static json_t *validate_enum(vctx *v, const cfield *f, json_t *in)
{
    tern_vfail e = {NULL, NULL};
    if (json_is_string(in) &&
        tern__check_enum(f->decl->enum_values, json_string_value(in), json_string_length(in), &e))
        return json_incref(in);
    if (!e.type)
        tern__fail(&e, "enum", tern__enum_ctx(f->decl->enum_values));
    add_fail(v, in, &e);
    return NULL;
}

static json_t *list_length_error(vctx *v, json_t *in, const char *type, const char *key,
                                 size_t bound)
{
    json_t *ctx = json_pack("{sssIsI}", "field_type", "List", key, (json_int_t)bound,
                            "actual_length", (json_int_t)json_array_size(in));
    add_error(v, type, json_incref(in), ctx);
    return NULL;
}

/* pydantic validates items in order; once more than max_length items were seen it
 * stops with too_long alone (item errors so far are dropped); min_length is checked
 * only when every item passed. */
static json_t *validate_list(vctx *v, const cfield *f, json_t *in)
{
    const tern_field *d = f->decl;
    if (!json_is_array(in)) {
        add_error(v, "list_type", json_incref(in), NULL);
        return NULL;
    }
    size_t n = json_array_size(in);
    json_t *out = json_array();
    vctx items = {v->loc, json_array(), 0};
    for (size_t i = 0; i < n && out; i++) {
        if (d->has_max_length && i + 1 > d->max_length) {
            json_decref(items.errors);
            json_decref(out);
            return list_length_error(v, in, "too_long", "max_length", d->max_length);
        }
        json_t *item = json_array_get(in, i);
        loc_push_index(&items, i);
        json_t *ok = f->item ? validate_value(&items, f->item, item) : json_incref(item);
        loc_pop(&items);
        if (ok)
            json_array_append_new(out, ok);
    }
    if (items.nerr) {
        v->nerr += items.nerr;
        if (v->errors)
            json_array_extend(v->errors, items.errors);
        json_decref(items.errors);
        json_decref(out);
        return NULL;
    }
    json_decref(items.errors);
    if (d->has_min_length && n < d->min_length) {
        json_decref(out);
        return list_length_error(v, in, "too_short", "min_length", d->min_length);
    }
    return out;
}

static bool declared(const cmodel *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->fields[i].decl->name, key) == 0)
            return true;
    return false;
}

/* A model's fields in declaration order, then extra keys; the output holds declared
 * fields only (pydantic drops ignored extras), defaults included. */
static json_t *validate_model(vctx *v, const cmodel *m, json_t *in)
{
    if (!json_is_object(in)) {
        add_error(v, "model_attributes_type", json_incref(in), NULL);
        return NULL;
    }
    size_t before = v->nerr;
    json_t *out = json_object();
    for (size_t i = 0; i < m->n && out; i++) {
        const cfield *f = &m->fields[i];
        const char *name = f->decl->name;
        json_t *val = json_object_get(in, name);
        loc_push_key(v, name);
        if (val) {
            json_t *ok = validate_value(v, f, val);
            if (ok)
                json_object_set_new(out, name, ok);
        } else if (f->def) {
            json_object_set_new(out, name, json_deep_copy(f->def));
        } else if (!f->decl->optional) {
            add_error(v, "missing", json_incref(in), NULL); /* input: the whole object */
        }
        loc_pop(v);
    }
    if (m->decl->forbid_extra) {
        const char *key;
        json_t *val;
        json_object_foreach(in, key, val) {
            if (declared(m, key))
                continue;
            loc_push_key(v, key);
            add_error(v, "extra_forbidden", json_incref(val), NULL);
            loc_pop(v);
        }
    }
    if (v->nerr != before || !out) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* null is accepted for nullable fields and Any; for the rest it fails the type check. */
static json_t *validate_value(vctx *v, const cfield *f, json_t *in)
{
    if (json_is_null(in) && (f->decl->nullable || f->decl->type == TERN_F_ANY))
        return json_null();
    switch (f->decl->type) {
    case TERN_F_STR:
        return validate_str(v, f, in);
    case TERN_F_INT:
        return validate_int(v, f, in);
    case TERN_F_FLOAT:
        return validate_float(v, f, in);
    case TERN_F_BOOL:
        return validate_bool(v, in);
    case TERN_F_ENUM:
        return validate_enum(v, f, in);
    case TERN_F_OBJECT:
        return validate_model(v, f->model, in);
    case TERN_F_ARRAY:
        return validate_list(v, f, in);
    case TERN_F_ANY:
        return json_incref(in);
    }
    return NULL; /* unreachable: the schema was checked */
}

json_t *tern_body_validate(const tern_body_schema *s, bool optional, json_t *value,
                           json_t *errors, size_t *nerr)
{
    vctx v = {json_pack("[s]", "body"), errors, 0};
    json_t *out = NULL;
    if (!value || json_is_null(value)) {
        /* FastAPI treats an empty body and a JSON null alike: absent */
        if (!optional)
            add_error(&v, "missing", json_null(), NULL);
    } else {
        out = validate_model(&v, s->root, value);
    }
    json_decref(v.loc);
    if (nerr)
        *nerr = v.nerr;
    return out;
}

/* ---- the body as received ------------------------------------------------------------ */

/* Skips optional whitespace (email.message's parser tolerates it around tokens). */
static const char *skip_sp(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* FastAPI's test: the maintype is "application" and the subtype "json" or "...+json",
 * case-insensitively, parameters (charset) ignored. */
static bool is_json_type(const char *ct)
{
    const char *p = skip_sp(ct);
    if (strncasecmp(p, "application/", 12) != 0)
        return false;
    p += 12;
    size_t n = strcspn(p, "; \t");
    if (n == 0)
        return false;
    bool ok = (n == 4 && strncasecmp(p, "json", 4) == 0) ||
              (n > 5 && strncasecmp(p + n - 5, "+json", 5) == 0);
    p = skip_sp(p + n);
    return ok && (*p == '\0' || *p == ';');
}

/* The body as a JSON string for an error's input: FastAPI hands pydantic the raw bytes,
 * which its encoder turns back into text. Ill-formed UTF-8 is replaced, as jansson
 * needs valid text. */
static json_t *bytes_input(const char *body, size_t len)
{
    json_t *s = json_stringn(body, len);
    if (s)
        return s;
    char *fixed = malloc(len * 3 + 1);
    if (!fixed)
        return json_null();
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = tern__utf8_next((const unsigned char *)body + i, len - i, &cp);
        if (cp == UTF8_BAD)
            memcpy(fixed + o, "\xEF\xBF\xBD", 3), o += 3;
        else
            memcpy(fixed + o, body + i, k), o += k;
        i += k;
    }
    s = json_stringn(fixed, o);
    free(fixed);
    return s ? s : json_null();
}

static tern_body_status json_invalid(json_t *errors, size_t pos, const char *msg)
{
    json_t *loc = json_pack("[sI]", "body", (json_int_t)pos);
    json_t *e = tern_verr_make("json_invalid", loc, json_object(), json_pack("{ss}", "error", msg));
    if (!e)
        return TERN_BODY_NOMEM;
    json_array_append_new(errors, e);
    return TERN_BODY_JSON_INVALID;
}

/* Parses text the scan passed. jansson refuses a few things Python accepts (integers
 * beyond int64, lone surrogate escapes): those are reported with jansson's reason, at
 * the start of the number or where jansson stopped. */
static json_t *parse(const char *text, size_t len, json_t *errors, tern_body_status *st)
{
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v) {
        size_t at = (size_t)jerr.position < len ? (size_t)jerr.position : len;
        while (json_error_code(&jerr) == json_error_numeric_overflow && at > 0 &&
               text[at - 1] && strchr("0123456789-+.eE", text[at - 1]))
            at--; /* jansson reports the end of a token; Python the start */
        *st = json_invalid(errors, tern__utf8_count(text, at), jerr.text);
    }
    return v;
}

tern_body_status tern_body_check(const tern_body_schema *s, bool optional,
                                 const char *content_type, const char *body, size_t len,
                                 const tern_body_limits *limits, json_t *errors, json_t **out)
{
    *out = NULL;
    json_t *value = NULL;
    tern_body_status st = TERN_BODY_OK;
    /* FastAPI parses JSON when the header is absent or empty, too */
    if (len > 0 && (!content_type || !*content_type || is_json_type(content_type))) {
        tern_jscan scan;
        switch (tern_json_scan(body, len, limits->max_depth, limits->max_items, &scan)) {
        case TERN_JSCAN_OK:
            break;
        case TERN_JSCAN_SYNTAX:
            return json_invalid(errors, scan.pos, scan.msg);
        case TERN_JSCAN_DEPTH:
            return TERN_BODY_TOO_DEEP;
        case TERN_JSCAN_ITEMS:
            return TERN_BODY_TOO_MANY;
        }
        if (!(value = parse(body + scan.skip, len - scan.skip, errors, &st)))
            return st;
    } else if (len > 0) {
        value = bytes_input(body, len); /* not JSON: a string fails the model as bytes do */
    }
    size_t nerr = 0;
    *out = tern_body_validate(s, optional, value, errors, &nerr);
    bool lost = !*out && value && !json_is_null(value); /* no errors, no result: out of memory */
    json_decref(value);
    if (nerr)
        return TERN_BODY_INVALID;
    return lost ? TERN_BODY_NOMEM : TERN_BODY_OK;
}

const char *tern_body_limit_detail(tern_body_status status, const tern_body_limits *limits,
                                   char *buf, size_t n)
{
    if (status == TERN_BODY_TOO_DEEP)
        snprintf(buf, n, "JSON body nested deeper than %zu levels", limits->max_depth);
    else
        snprintf(buf, n, "JSON body has more than %zu values", limits->max_items);
    return buf;
}

/* ---- declarations --------------------------------------------------------------------- */

const tern_model *tern_body_schema_model(const tern_body_schema *s)
{
    return s ? s->root->decl : NULL;
}

static int field_fail(const tern_model *m, const tern_field *f, const char *why)
{
    tern_set_errmsg("body model '%s', field '%s': %s", m->name ? m->name : "?",
                    f->name ? f->name : "(item)", why);
    return -EINVAL;
}

static bool is_number(tern_field_type t)
{
    return t == TERN_F_INT || t == TERN_F_FLOAT;
}

/* The constraints fit the type, and some value can meet them. */
static int check_field_decl(const tern_model *m, const tern_field *d, const tern_rules *r)
{
    if (d->type < TERN_F_STR || d->type > TERN_F_ANY)
        return field_fail(m, d, "unknown type");
    if (!tern__texts_valid(d->name, d->pattern, d->enum_values))
        return field_fail(m, d, "name, pattern or enum value is not valid UTF-8");
    if ((d->has_ge || d->has_gt || d->has_le || d->has_lt) && !is_number(d->type))
        return field_fail(m, d, "ge/gt/le/lt apply to int and float only");
    if ((d->has_min_length || d->has_max_length) && d->type != TERN_F_STR &&
        d->type != TERN_F_ARRAY)
        return field_fail(m, d, "min_length/max_length apply to strings and arrays only");
    if (d->pattern && d->type != TERN_F_STR)
        return field_fail(m, d, "pattern applies to strings only");
    if (d->type == TERN_F_ENUM && (!d->enum_values || !d->enum_values[0]))
        return field_fail(m, d, "enum without values");
    if (d->enum_values && d->type != TERN_F_ENUM)
        return field_fail(m, d, "enum_values apply to enums only");
    if (d->type == TERN_F_OBJECT && (!d->model || !d->model->fields))
        return field_fail(m, d, "object without a model");
    if (d->items && d->type != TERN_F_ARRAY)
        return field_fail(m, d, "items apply to arrays only");
    if (!tern__bounds_finite(r) || tern__bounds_empty(r))
        return field_fail(m, d, "no value satisfies its bounds");
    if (d->has_min_length && d->has_max_length && d->min_length > d->max_length)
        return field_fail(m, d, "min_length > max_length");
    if (d->pattern && tern__uses_perl_class(d->pattern))
        return field_fail(m, d, "pattern uses \\d, which POSIX regexes read as 'd'; write [0-9]");
    return 0;
}

static int compile_model(tern_body_schema *s, const tern_model *m, cmodel **out);

static int compile_field(tern_body_schema *s, const tern_model *m, const tern_field *d,
                         cfield *f)
{
    f->decl = d;
    f->rules = TERN_RULES_OF(d, &f->re);
    int rc = check_field_decl(m, d, &f->rules);
    if (rc < 0)
        return rc;
    char why[128];
    if (d->pattern) {
        if (tern__regex_compile(d->pattern, &f->re, why, sizeof why) < 0)
            return field_fail(m, d, why);
        f->has_re = true;
    }
    if (d->type == TERN_F_OBJECT && (rc = compile_model(s, d->model, &f->model)) < 0)
        return rc;
    if (d->items) {
        if (!(f->item = calloc(1, sizeof *f->item)))
            return -ENOMEM;
        if ((rc = compile_field(s, m, d->items, f->item)) < 0)
            return rc;
    }
    if (d->default_json) {
        if (!(f->def = json_loads(d->default_json, JSON_DECODE_ANY, NULL)))
            return field_fail(m, d, "default_json is not JSON");
        /* a default the field itself would refuse is a declaration mistake */
        vctx v = {json_array(), NULL, 0};
        json_t *ok = validate_value(&v, f, f->def);
        json_decref(v.loc);
        json_decref(ok);
        if (v.nerr)
            return field_fail(m, d, "default_json fails the field's own validation");
    }
    return 0;
}

static void free_field(cfield *f)
{
    if (f->has_re)
        regfree(&f->re);
    json_decref(f->def);
    if (f->item) {
        free_field(f->item);
        free(f->item);
    }
}

static int compile_model(tern_body_schema *s, const tern_model *m, cmodel **out)
{
    for (size_t i = 0; i < s->nmodels; i++)
        if (s->models[i]->decl == m) {
            *out = s->models[i];
            return 0;
        }
    if (!m->fields) {
        tern_set_errmsg("body model '%s' has no field list", m->name ? m->name : "?");
        return -EINVAL;
    }
    if (s->nmodels == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        cmodel **models = realloc(s->models, cap * sizeof *models);
        if (!models)
            return -ENOMEM;
        s->models = models;
        s->cap = cap;
    }
    cmodel *cm = calloc(1, sizeof *cm);
    size_t n = 0;
    while (m->fields[n].name)
        n++;
    if (!cm || !(cm->fields = calloc(n + 1, sizeof *cm->fields))) {
        free(cm);
        return -ENOMEM;
    }
    cm->decl = m;
    s->models[s->nmodels++] = cm; /* registered first: a model may contain itself */
    *out = cm;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->fields[j].name, m->fields[i].name) == 0)
                return field_fail(m, &m->fields[i], "declared twice");
        cm->n = i + 1; /* from here on, freeing covers fields[i] */
        int rc = compile_field(s, m, &m->fields[i], &cm->fields[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int tern_body_schema_new(const tern_model *m, tern_body_schema **out)
{
    *out = NULL;
    if (!m) {
        tern_set_errmsg("no body model");
        return -EINVAL;
    }
    tern_body_schema *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    int rc = compile_model(s, m, &s->root);
    if (rc < 0) {
        if (rc == -ENOMEM)
            tern_set_errmsg("out of memory compiling body model '%s'", m->name ? m->name : "?");
        tern_body_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tern_body_schema_free(tern_body_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nmodels; i++) {
        for (size_t k = 0; k < s->models[i]->n; k++)
            free_field(&s->models[i]->fields[k]);
        free(s->models[i]->fields);
        free(s->models[i]);
    }
    free(s->models);
    free(s);
}
