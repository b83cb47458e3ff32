/* server/openapi_schema.c - declarations as JSON Schema, in pydantic 2's shapes:
 *
 *   TERN_QUERY_INT("limit", TERN_GE(1), TERN_DEFAULT("100"))
 *     -> {"type": "integer", "minimum": 1, "default": 100, "title": "Limit"}
 *   TERN_QUERY_STR("q", TERN_MAX_LENGTH(50))      (absent stays absent: str | None = None)
 *     -> {"anyOf": [{"type": "string", "maxLength": 50}, {"type": "null"}], "title": "Q"}
 *
 * Parameters and body fields share their constraint members (params.h and schema.h),
 * so both go through one `constraints` view. */
#include "openapi_schema.h"

#include <ctype.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REF_PREFIX "#/components/schemas/"

typedef struct constraints {
    bool has_ge, has_gt, has_le, has_lt;
    double ge, gt, le, lt;
    bool has_min_length, has_max_length;
    size_t min_length, max_length;
    const char *pattern;
    const char *const *enum_values;
} constraints;

/* tern_param and tern_field name these members alike */
#define CONSTRAINTS_OF(d)                                                                          \
    (constraints){(d)->has_ge,         (d)->has_gt,         (d)->has_le,     (d)->has_lt,          \
                  (d)->ge,             (d)->gt,             (d)->le,         (d)->lt,              \
                  (d)->has_min_length, (d)->has_max_length, (d)->min_length, (d)->max_length,      \
                  (d)->pattern,        (d)->enum_values}

char *tern__oa_title(const char *name)
{
    while (*name == '_' || *name == ' ')
        name++;
    size_t n = strlen(name);
    while (n && (name[n - 1] == '_' || name[n - 1] == ' '))
        n--;
    char *t = malloc(n + 1);
    if (!t)
        return NULL;
    /* Python's str.title(): a letter after a non-letter is upper-cased, others lowered */
    bool prev_alpha = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (isalpha(c))
            t[i] = (char)(prev_alpha ? tolower(c) : toupper(c));
        else
            t[i] = c == '_' ? ' ' : (char)c;
        prev_alpha = isalpha(c) != 0;
    }
    t[n] = '\0';
    return t;
}

static void set_title(json_t *s, const char *name)
{
    char *t = tern__oa_title(name);
    if (t)
        json_object_set_new(s, "title", json_string(t));
    free(t);
}

/* Bounds on an integer are integers in pydantic's output (ge=1 -> 1, not 1.0). */
static json_t *number(double v, bool integer)
{
    if (integer && v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static const char *type_name(tern_field_type t)
{
    switch (t) {
    case TERN_F_STR:
    case TERN_F_ENUM:
        return "string";
    case TERN_F_INT:
        return "integer";
    case TERN_F_FLOAT:
        return "number";
    case TERN_F_BOOL:
        return "boolean";
    case TERN_F_OBJECT:
        return "object";
    case TERN_F_ARRAY:
        return "array";
    default:
        return NULL;
    }
}

/* The type and its constraints, without title, default or null. */
static json_t *base_schema(tern_field_type t, const constraints *c)
{
    json_t *s = json_object();
    const char *tn = type_name(t);
    if (tn)
        json_object_set_new(s, "type", json_string(tn));
    if (t == TERN_F_INT || t == TERN_F_FLOAT) {
        bool integer = t == TERN_F_INT;
        if (c->has_le)
            json_object_set_new(s, "maximum", number(c->le, integer));
        if (c->has_lt)
            json_object_set_new(s, "exclusiveMaximum", number(c->lt, integer));
        if (c->has_ge)
            json_object_set_new(s, "minimum", number(c->ge, integer));
        if (c->has_gt)
            json_object_set_new(s, "exclusiveMinimum", number(c->gt, integer));
    }
    bool list = t == TERN_F_ARRAY;
    if (c->has_min_length)
        json_object_set_new(s, list ? "minItems" : "minLength", json_integer((json_int_t)c->min_length));
    if (c->has_max_length)
        json_object_set_new(s, list ? "maxItems" : "maxLength", json_integer((json_int_t)c->max_length));
    if (c->pattern && t == TERN_F_STR)
        json_object_set_new(s, "pattern", json_string(c->pattern));
    if (c->enum_values && t == TERN_F_ENUM) {
        json_t *e = json_array();
        for (const char *const *v = c->enum_values; *v; v++)
            json_array_append_new(e, json_string(*v));
        json_object_set_new(s, "enum", e);
    }
    return s;
}

/* X | None: {"anyOf": [X, {"type": "null"}]} (steals inner). */
static json_t *or_null(json_t *inner)
{
    return json_pack("{s:[o,{s:s}]}", "anyOf", inner, "type", "null");
}

/* ---- parameters --------------------------------------------------------------------- */

static tern_field_type param_kind(tern_param_type t)
{
    switch (t) {
    case TERN_T_INT:
        return TERN_F_INT;
    case TERN_T_FLOAT:
        return TERN_F_FLOAT;
    case TERN_T_BOOL:
        return TERN_F_BOOL;
    case TERN_T_ENUM:
        return TERN_F_ENUM;
    default:
        return TERN_F_STR;
    }
}

/* A parameter's text (a default or an example) as the JSON value it parses into. The
 * declaration was validated at registration, so defaults parse; examples may not, and
 * then stay text. */
static json_t *param_value(tern_param_type t, const char *text)
{
    char *end;
    if (t == TERN_T_INT) {
        long long v = strtoll(text, &end, 10);
        if (*text && !*end)
            return json_integer(v);
    } else if (t == TERN_T_FLOAT) {
        double v = strtod(text, &end);
        if (*text && !*end && isfinite(v))
            return json_real(v);
    } else if (t == TERN_T_BOOL) {
        static const char *const yes[] = {"true", "1", "yes", "on", "t", "y", NULL};
        static const char *const no[] = {"false", "0", "no", "off", "f", "n", NULL};
        for (int i = 0; yes[i]; i++) {
            if (!strcasecmp(text, yes[i]))
                return json_true();
            if (!strcasecmp(text, no[i]))
                return json_false();
        }
    }
    return json_string(text);
}

const char *tern__oa_param_name(const tern_param *p, char *buf, size_t n)
{
    if (p->in != TERN_IN_HEADER)
        return p->name;
    /* FastAPI's header alias: x_token is the header x-token */
    snprintf(buf, n, "%s", p->name);
    for (char *c = buf; *c; c++)
        if (*c == '_')
            *c = '-';
    return buf;
}

json_t *tern__oa_param_schema(const tern_param *p)
{
    char alias[128];
    constraints c = CONSTRAINTS_OF(p);
    json_t *s = base_schema(param_kind(p->type), &c);
    if (p->many) /* List[X]: the constraints are the items' */
        s = json_pack("{s:s,s:o}", "type", "array", "items", s);
    if (!p->required && !p->default_value && p->in != TERN_IN_PATH)
        s = or_null(s); /* absent stays absent: X | None = None */
    if (p->default_value) {
        json_t *d = param_value(p->type, p->default_value);
        json_object_set_new(s, "default", p->many ? json_pack("[o]", d) : d);
    }
    set_title(s, tern__oa_param_name(p, alias, sizeof alias)); /* pydantic titles the alias */
    if (p->description)
        json_object_set_new(s, "description", json_string(p->description));
    if (p->example)
        json_object_set_new(s, "examples", json_pack("[o]", param_value(p->type, p->example)));
    return s;
}

/* ---- models -------------------------------------------------------------------------- */

static int remember(tern_oa_models *models, const tern_model *m);

static bool str_same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool enums_same(const char *const *a, const char *const *b)
{
    for (; a && b && *a && *b; a++, b++)
        if (strcmp(*a, *b) != 0)
            return false;
    return a == b || (a && b && !*a && !*b);
}

/* Same declaration, wherever it lives: a model defined in a header that two files
 * include is one schema. Nested models compare by name (each is checked on its own). */
static bool field_same(const tern_field *a, const tern_field *b)
{
    if (a == b)
        return true;
    if (!a || !b)
        return false;
    return str_same(a->name, b->name) && a->type == b->type &&
           (a->model == b->model || (a->model && b->model && str_same(a->model->name, b->model->name))) &&
           field_same(a->items, b->items) && a->optional == b->optional &&
           a->nullable == b->nullable && str_same(a->default_json, b->default_json) &&
           a->has_ge == b->has_ge && a->has_gt == b->has_gt && a->has_le == b->has_le &&
           a->has_lt == b->has_lt && (!a->has_ge || a->ge == b->ge) &&
           (!a->has_gt || a->gt == b->gt) && (!a->has_le || a->le == b->le) &&
           (!a->has_lt || a->lt == b->lt) && a->has_min_length == b->has_min_length &&
           a->has_max_length == b->has_max_length &&
           (!a->has_min_length || a->min_length == b->min_length) &&
           (!a->has_max_length || a->max_length == b->max_length) &&
           str_same(a->pattern, b->pattern) && enums_same(a->enum_values, b->enum_values) &&
           str_same(a->description, b->description) && str_same(a->example_json, b->example_json);
}

static bool model_same(const tern_model *a, const tern_model *b)
{
    if (!str_same(a->description, b->description) || a->forbid_extra != b->forbid_extra)
        return false;
    const tern_field *fa = a->fields, *fb = b->fields;
    for (; fa && fb && fa->name && fb->name; fa++, fb++)
        if (!field_same(fa, fb))
            return false;
    return (!fa || !fa->name) && (!fb || !fb->name);
}

static int remember_field(tern_oa_models *models, const tern_field *f)
{
    if (f->type == TERN_F_OBJECT)
        return f->model ? remember(models, f->model) : 0;
    if (f->type == TERN_F_ARRAY && f->items)
        return remember_field(models, f->items);
    return 0;
}

static int remember(tern_oa_models *models, const tern_model *m)
{
    if (!m->name || !*m->name) {
        snprintf(models->err, sizeof models->err, "a model has no name (it names its schema)");
        return -1;
    }
    if (!strcmp(m->name, "ValidationError") || !strcmp(m->name, "HTTPValidationError")) {
        snprintf(models->err, sizeof models->err, "model name '%s' is FastAPI's, taken", m->name);
        return -1;
    }
    for (size_t i = 0; i < models->n; i++) {
        if (models->v[i] == m)
            return 0; /* seen: also ends the walk of a model that nests itself */
        if (!strcmp(models->v[i]->name, m->name) && model_same(models->v[i], m))
            return 0;
        if (!strcmp(models->v[i]->name, m->name)) {
            snprintf(models->err, sizeof models->err,
                     "two different models are named '%.64s' (schema names must be unique)", m->name);
            return -1;
        }
    }
    if (models->n == models->cap) {
        size_t cap = models->cap ? models->cap * 2 : 8;
        const tern_model **v = realloc(models->v, cap * sizeof(*v));
        if (!v) {
            snprintf(models->err, sizeof models->err, "out of memory");
            return -1;
        }
        models->v = v;
        models->cap = cap;
    }
    models->v[models->n++] = m;
    for (const tern_field *f = m->fields; f && f->name; f++)
        if (remember_field(models, f) < 0)
            return -1;
    return 0;
}

json_t *tern__oa_model_ref(tern_oa_models *models, const tern_model *m)
{
    if (remember(models, m) < 0)
        return NULL;
    char ref[256];
    snprintf(ref, sizeof ref, REF_PREFIX "%s", m->name);
    return json_pack("{s:s}", "$ref", ref);
}

static json_t *json_text(const char *text)
{
    return json_loads(text, JSON_DECODE_ANY, NULL);
}

/* A field's schema; the models it refers to were remembered with its model. */
static json_t *field_schema(const tern_field *f)
{
    constraints c = CONSTRAINTS_OF(f);
    json_t *s;
    if (f->type == TERN_F_OBJECT && f->model) {
        char ref[256];
        snprintf(ref, sizeof ref, REF_PREFIX "%s", f->model->name);
        s = json_pack("{s:s}", "$ref", ref);
    } else if (f->type == TERN_F_ARRAY) {
        json_t *list = base_schema(TERN_F_ARRAY, &c);
        s = json_pack("{s:o}", "items", f->items ? field_schema(f->items) : json_object());
        json_object_update(s, list);
        json_decref(list);
    } else {
        s = base_schema(f->type, &c);
    }
    if (f->nullable && f->type != TERN_F_ANY)
        s = or_null(s);
    /* pydantic titles every field but a reference to a model (nullable or not) */
    if (f->name && f->type != TERN_F_OBJECT)
        set_title(s, f->name);
    if (f->description)
        json_object_set_new(s, "description", json_string(f->description));
    /* FastAPI's schemas leave out a null default (`x: T | None = None`) */
    json_t *v = f->default_json ? json_text(f->default_json) : NULL;
    if (v && !json_is_null(v))
        json_object_set_new(s, "default", v);
    else
        json_decref(v);
    if (f->example_json && (v = json_text(f->example_json)))
        json_object_set_new(s, "examples", json_pack("[o]", v));
    return s;
}

static json_t *model_schema(const tern_model *m)
{
    json_t *props = json_object(), *required = json_array();
    for (const tern_field *f = m->fields; f && f->name; f++) {
        json_object_set_new(props, f->name, field_schema(f));
        if (!f->optional && !f->default_json)
            json_array_append_new(required, json_string(f->name));
    }
    json_t *s = json_pack("{s:o,s:s}", "properties", props, "type", "object");
    if (json_array_size(required))
        json_object_set(s, "required", required);
    json_decref(required);
    if (m->forbid_extra)
        json_object_set_new(s, "additionalProperties", json_false());
    json_object_set_new(s, "title", json_string(m->name));
    if (m->description)
        json_object_set_new(s, "description", json_string(m->description));
    return s;
}

/* FastAPI's two error schemas, as its current release emits them. */
static json_t *validation_error_schema(void)
{
    return json_pack(
        "{s:{s:{s:{s:[{s:s},{s:s}]},s:s,s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s},s:{s:s,s:s}},"
        "s:s,s:[s,s,s],s:s}",
        "properties", "loc", "items", "anyOf", "type", "string", "type", "integer", "type", "array",
        "title", "Location", "msg", "type", "string", "title", "Message", "type", "type", "string",
        "title", "Error Type", "input", "title", "Input", "ctx", "type", "object", "title",
        "Context", "type", "object", "required", "loc", "msg", "type", "title", "ValidationError");
}

static json_t *http_validation_error_schema(void)
{
    return json_pack("{s:{s:{s:{s:s},s:s,s:s}},s:s,s:s}", "properties", "detail", "items", "$ref",
                     REF_PREFIX "ValidationError", "type", "array", "title", "Detail", "type",
                     "object", "title", "HTTPValidationError");
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const tern_model *const *)a)->name, (*(const tern_model *const *)b)->name);
}

json_t *tern__oa_components(const tern_oa_models *models, int with_validation_error)
{
    const tern_model **sorted = malloc((models->n + 1) * sizeof(*sorted));
    if (!sorted)
        return NULL;
    if (models->n)
        memcpy(sorted, models->v, models->n * sizeof(*sorted));
    qsort(sorted, models->n, sizeof(*sorted), by_name);
    /* FastAPI sorts every schema name, its two error schemas included */
    json_t *out = json_object();
    bool http_done = !with_validation_error, ve_done = !with_validation_error;
    for (size_t i = 0; i <= models->n; i++) {
        const char *name = i < models->n ? sorted[i]->name : NULL;
        if (!http_done && (!name || strcmp(name, "HTTPValidationError") > 0)) {
            json_object_set_new(out, "HTTPValidationError", http_validation_error_schema());
            http_done = true;
        }
        if (!ve_done && (!name || strcmp(name, "ValidationError") > 0)) {
            json_object_set_new(out, "ValidationError", validation_error_schema());
            ve_done = true;
        }
        if (name)
            json_object_set_new(out, name, model_schema(sorted[i]));
    }
    free(sorted);
    return out;
}

void tern__oa_models_free(tern_oa_models *models)
{
    free(models->v);
    models->v = NULL;
    models->n = models->cap = 0;
}
