/* tests/fuzz/fuzz_body.c - a request body through the server's JSON body check: the
 * json_scan pre-scan with its depth and item limits, jansson, then the model.
 *
 * Input: one selector byte, then the body. The selector picks the model (bits 0-2),
 * the Content-Type header (bits 3-5), whether the route says .body_optional (bit 6)
 * and small limits instead of the server's defaults (bit 7). The models between them
 * use every field type, nesting, arrays of scalars, objects and arrays, nullable,
 * optional and default fields, every constraint, forbid_extra and a recursive model.
 *
 * Checked beyond "no crash, no leak", for each outcome:
 *   OK           no error; the body is an object holding declared fields only, every
 *                required or defaulted one among them; validating it again gives no
 *                error and the same value, and so does sending its serialized text
 *   INVALID      a non-empty list whose entries have type, loc, msg and input (in that
 *                order), loc starting with "body", no json_invalid among them
 *   JSON_INVALID one entry, json_invalid at ["body", offset within the body] with a
 *                non-empty ctx.error; the pre-scan said it is not JSON, or it said yes
 *                and jansson refused one of the few things Python reads but jansson
 *                cannot hold; when the pre-scan says "not JSON", jansson agrees (but
 *                for NUL bytes, which jansson reads as whitespace or the end)
 *   TOO_DEEP/MANY the pre-scan said so and no error entry was added
 * NOMEM never happens here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body_check.h"
#include "json_scan.h"
#include "scalar_check.h"

/* ---- the models ------------------------------------------------------------------- */

static const tern_field address_fields[] = {
    TERN_FIELD_STR("city", TERN_MIN_LENGTH(1)),
    TERN_FIELD_STR("zip", TERN_PATTERN("^[0-9]{5}$")),
    {0},
};
static const tern_model address = {.name = "Address", .fields = address_fields};

/* 0: the README's Item, every scalar type with its constraints */
static const tern_field item_fields[] = {
    TERN_FIELD_STR("name", TERN_MIN_LENGTH(1), TERN_MAX_LENGTH(10)),
    TERN_FIELD_FLOAT("price", TERN_GT(0), TERN_LE(1e6)),
    TERN_FIELD_INT("quantity", TERN_GE(0), TERN_LT(1000), TERN_DEFAULT_JSON("1")),
    TERN_FIELD_ENUM("size", TERN_ENUM_VALUES("s", "m", "l"), TERN_DEFAULT_JSON("\"m\"")),
    TERN_FIELD_BOOL("active", TERN_DEFAULT_JSON("true")),
    TERN_FIELD_ARRAY("tags", TERN_ITEMS(TERN_FIELD_STR(NULL, TERN_MAX_LENGTH(3))),
                     TERN_MAX_LENGTH(4), TERN_DEFAULT_JSON("[]")),
    TERN_FIELD_OBJECT("address", &address, TERN_OPTIONAL),
    TERN_FIELD_STR("note", TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
    TERN_FIELD_ANY("meta", TERN_OPTIONAL),
    {0},
};
static const tern_model item = {.name = "Item", .fields = item_fields};

/* 1: forbid_extra, bounds at the edges of int64 and of doubles, list lengths */
static const tern_field strict_fields[] = {
    TERN_FIELD_INT("big", TERN_GE(-9223372036854775808.0), TERN_LT(9223372036854775807.0)),
    TERN_FIELD_INT("small", TERN_GT(-3), TERN_LE(3), TERN_NULLABLE),
    TERN_FIELD_FLOAT("ratio", TERN_GE(-1.5), TERN_LT(1.5), TERN_DEFAULT_JSON("0.5")),
    TERN_FIELD_ARRAY("ids", TERN_ITEMS(TERN_FIELD_INT(NULL, TERN_GE(0))), TERN_MIN_LENGTH(2),
                     TERN_MAX_LENGTH(5), TERN_DEFAULT_JSON("[0,0]")),
    TERN_FIELD_STR("code", TERN_PATTERN("^(ab|cd)+x?$"), TERN_MIN_LENGTH(2), TERN_OPTIONAL),
    {0},
};
static const tern_model strict = {.name = "Strict", .fields = strict_fields, .forbid_extra = true};

/* 2: a recursive tree, with a nullable back reference */
static const tern_model node;
static const tern_field node_fields[] = {
    TERN_FIELD_INT("value"),
    TERN_FIELD_ARRAY("children", TERN_ITEMS(TERN_FIELD_OBJECT(NULL, &node)), TERN_DEFAULT_JSON("[]")),
    TERN_FIELD_OBJECT("parent", &node, TERN_NULLABLE, TERN_OPTIONAL),
    {0},
};
static const tern_model node = {.name = "Node", .fields = node_fields};

/* 3: arrays of arrays, of objects, of enums, of nullable items, of anything */
static const tern_field lists_fields[] = {
    TERN_FIELD_ARRAY("matrix", TERN_ITEMS(TERN_FIELD_ARRAY(NULL, TERN_ITEMS(TERN_FIELD_FLOAT(NULL)),
                                                           TERN_MIN_LENGTH(1)))),
    TERN_FIELD_ARRAY("places", TERN_ITEMS(TERN_FIELD_OBJECT(NULL, &address)), TERN_OPTIONAL),
    TERN_FIELD_ARRAY("sizes", TERN_ITEMS(TERN_FIELD_ENUM(NULL, TERN_ENUM_VALUES("s", "m", "l"))),
                     TERN_DEFAULT_JSON("[\"s\"]")),
    TERN_FIELD_ARRAY("flags", TERN_ITEMS(TERN_FIELD_BOOL(NULL, TERN_NULLABLE)), TERN_NULLABLE,
                     TERN_OPTIONAL),
    TERN_FIELD_ARRAY("anything", TERN_OPTIONAL),
    TERN_FIELD_ARRAY("counts", TERN_ITEMS(TERN_FIELD_INT(NULL, TERN_GT(-1), TERN_LT(256))),
                     TERN_MAX_LENGTH(8), TERN_OPTIONAL),
    {0},
};
static const tern_model lists = {.name = "Lists", .fields = lists_fields};

/* 4: every field may be absent or null */
static const tern_field loose_fields[] = {
    TERN_FIELD_STR("s", TERN_NULLABLE, TERN_OPTIONAL, TERN_MIN_LENGTH(2), TERN_MAX_LENGTH(5)),
    TERN_FIELD_INT("i", TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
    TERN_FIELD_FLOAT("f", TERN_NULLABLE, TERN_DEFAULT_JSON("2.5"), TERN_GE(0)),
    TERN_FIELD_BOOL("b", TERN_NULLABLE, TERN_OPTIONAL),
    TERN_FIELD_ENUM("e", TERN_ENUM_VALUES("x", "\xc3\xa9t\xc3\xa9"), TERN_NULLABLE, TERN_OPTIONAL),
    TERN_FIELD_OBJECT("o", &address, TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
    TERN_FIELD_ANY("a", TERN_DEFAULT_JSON("{\"k\":[1,2.5,\"v\",null]}")),
    {0},
};
static const tern_model loose = {.name = "Loose", .fields = loose_fields};

/* 5: no fields and no extras: only {} passes */
static const tern_field empty_fields[] = {{0}};
static const tern_model empty = {.name = "Empty", .fields = empty_fields, .forbid_extra = true};

/* 6: a model nesting others, forbidding extras at the top only */
static const tern_field order_fields[] = {
    TERN_FIELD_OBJECT("item", &item),
    TERN_FIELD_ARRAY("lines", TERN_ITEMS(TERN_FIELD_OBJECT(NULL, &strict)), TERN_MAX_LENGTH(3),
                     TERN_DEFAULT_JSON("[]")),
    TERN_FIELD_OBJECT("tree", &node, TERN_OPTIONAL),
    {0},
};
static const tern_model order = {.name = "Order", .fields = order_fields, .forbid_extra = true};

/* slot 7 repeats the recursive model: it has the most paths to explore */
static const tern_model *const models[8] = {&item, &strict, &node, &lists,
                                            &loose, &empty, &order, &node};

static const char *const content_types[8] = {
    NULL, "", "application/json", "application/vnd.api+json; charset=utf-8",
    " Application/JSON ;x=1", "text/plain", "application/+json", "application/json5",
};

/* ---- the checks --------------------------------------------------------------------- */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz-body: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool is_json_ctype(const char *ct)
{
    return ct == NULL || ct == content_types[1] || ct == content_types[2] ||
           ct == content_types[3] || ct == content_types[4];
}

/* One entry: type, loc, msg, input in that order (then ctx), loc ["body", key or index...]. */
static void check_entry(const json_t *e)
{
    static const char *const keys[] = {"type", "loc", "msg", "input"};
    CHECK(json_is_object(e));
    void *it = json_object_iter((json_t *)e);
    for (size_t k = 0; k < 4; k++, it = json_object_iter_next((json_t *)e, it))
        CHECK(it && strcmp(json_object_iter_key(it), keys[k]) == 0);
    CHECK(!it || (strcmp(json_object_iter_key(it), "ctx") == 0 &&
                  json_is_object(json_object_iter_value(it)) &&
                  !json_object_iter_next((json_t *)e, it)));
    CHECK(json_string_length(json_object_get(e, "type")) > 0);
    CHECK(json_string_length(json_object_get(e, "msg")) > 0);
    const json_t *loc = json_object_get(e, "loc");
    CHECK(json_is_array(loc) && json_array_size(loc) >= 1);
    CHECK(json_is_string(json_array_get(loc, 0)) &&
          strcmp(json_string_value(json_array_get(loc, 0)), "body") == 0);
    for (size_t i = 1; i < json_array_size(loc); i++)
        CHECK(json_is_string(json_array_get(loc, i)) || json_is_integer(json_array_get(loc, i)));
}

/* Declared fields only, every required or defaulted one present. */
static void check_fields(const tern_model *m, const json_t *out)
{
    CHECK(json_is_object(out));
    size_t declared = 0;
    for (const tern_field *f = m->fields; f->name; f++) {
        json_t *v = json_object_get(out, f->name);
        if (!f->optional || f->default_json)
            CHECK(v != NULL);
        declared += v != NULL;
    }
    CHECK(declared == json_object_size(out));
}

/* The validated body passes again, unchanged: as a value and as text. */
static void check_revalidates(const tern_body_schema *s, const json_t *out)
{
    json_t *errors = json_array();
    size_t nerr = 0;
    json_t *again = tern_body_validate(s, false, (json_t *)out, errors, &nerr);
    CHECK(nerr == 0 && json_array_size(errors) == 0 && again && json_equal(again, (json_t *)out));
    json_decref(again);

    /* defaults can add a level (a Node's "children": []), so no limit here */
    char *text = json_dumps(out, JSON_COMPACT);
    CHECK(text);
    tern_body_limits lim = {TERN_JSON_DEPTH_MAX, SIZE_MAX};
    tern_body_status st = tern_body_check(s, false, "application/json", text, strlen(text), &lim,
                                          errors, &again);
    CHECK(st == TERN_BODY_OK && json_array_size(errors) == 0 && json_equal(again, (json_t *)out));
    json_decref(again);
    free(text);
    json_decref(errors);
}

/* json_invalid alone, at an offset inside the body, with the decoder's reason; the
 * pre-scan and jansson agree on what is not JSON. */
static void check_json_invalid(const json_t *errors, const tern_jscan *scan, const char *body,
                               size_t len)
{
    CHECK(json_array_size(errors) == 1);
    const json_t *e = json_array_get(errors, 0);
    check_entry(e);
    CHECK(strcmp(json_string_value(json_object_get(e, "type")), "json_invalid") == 0);
    const json_t *loc = json_object_get(e, "loc");
    CHECK(json_array_size(loc) == 2 && json_is_integer(json_array_get(loc, 1)));
    json_int_t pos = json_integer_value(json_array_get(loc, 1));
    CHECK(pos >= 0 && (size_t)pos <= len);
    CHECK(json_string_length(json_object_get(json_object_get(e, "ctx"), "error")) > 0);

    json_error_t jerr;
    json_t *v = json_loadb(body + scan->skip, len - scan->skip, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                           &jerr);
    /* whichever refused it, jansson does too; except that jansson takes a NUL byte
     * between tokens for whitespace or the end ("9\0", "[1\0]"), where Python does not */
    CHECK(v == NULL || memchr(body, '\0', len) != NULL);
    json_decref(v);
    if (scan->status == TERN_JSCAN_OK) {
        /* Python reads it; jansson cannot hold it: a huge number, a lone surrogate, a
         * NUL in a key */
        enum json_error_code code = json_error_code(&jerr);
        CHECK(code == json_error_numeric_overflow || code == json_error_null_byte_in_key ||
              strstr(jerr.text, "invalid Unicode") != NULL);
    }
}

/* ---- the target --------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tern_body_schema *schemas[8];
    if (size == 0)
        return 0;
    unsigned sel = data[0];
    size_t mi = sel & 7;
    if (!schemas[mi] && tern_body_schema_new(models[mi], &schemas[mi]) != 0)
        abort();
    const tern_body_schema *s = schemas[mi];
    const char *ctype = content_types[(sel >> 3) & 7];
    bool optional = (sel >> 6) & 1;
    tern_body_limits lim = (sel >> 7) ? (tern_body_limits){4, 40} : (tern_body_limits){64, 100000};

    /* an exact-size copy, as h2o's entity is not NUL-terminated, so an over-read shows */
    size_t len = size - 1;
    char *body = malloc(len ? len : 1);
    CHECK(body);
    memcpy(body, data + 1, len);

    json_t *errors = json_array(), *out = NULL;
    tern_body_status st = tern_body_check(s, optional, ctype, body, len, &lim, errors, &out);
    bool parsed = len > 0 && is_json_ctype(ctype);
    tern_jscan scan = {0};
    if (parsed)
        tern_json_scan(body, len, lim.max_depth, lim.max_items, &scan);

    switch (st) {
    case TERN_BODY_OK:
        CHECK(json_array_size(errors) == 0);
        CHECK(!parsed || scan.status == TERN_JSCAN_OK);
        if (out) {
            check_fields(tern_body_schema_model(s), out);
            check_revalidates(s, out);
        } else {
            CHECK(optional); /* absent: an empty body or null */
        }
        break;
    case TERN_BODY_INVALID:
        CHECK(!out && json_array_size(errors) > 0);
        CHECK(!parsed || scan.status == TERN_JSCAN_OK);
        for (size_t i = 0; i < json_array_size(errors); i++) {
            check_entry(json_array_get(errors, i));
            CHECK(strcmp(json_string_value(json_object_get(json_array_get(errors, i), "type")),
                         "json_invalid") != 0);
        }
        if (len > 0 && !is_json_ctype(ctype)) /* not JSON: the one error at ["body"] */
            CHECK(json_array_size(errors) == 1 &&
                  json_array_size(json_object_get(json_array_get(errors, 0), "loc")) == 1);
        break;
    case TERN_BODY_JSON_INVALID:
        CHECK(!out && parsed);
        CHECK(scan.status == TERN_JSCAN_SYNTAX || scan.status == TERN_JSCAN_OK);
        check_json_invalid(errors, &scan, body, len);
        break;
    case TERN_BODY_TOO_DEEP:
    case TERN_BODY_TOO_MANY:
        CHECK(!out && parsed && json_array_size(errors) == 0);
        CHECK(scan.status == (st == TERN_BODY_TOO_DEEP ? TERN_JSCAN_DEPTH : TERN_JSCAN_ITEMS));
        char buf[96];
        CHECK(strlen(tern_body_limit_detail(st, &lim, buf, sizeof buf)) > 0);
        break;
    case TERN_BODY_NOMEM:
        CHECK(!"out of memory");
    }

    char *dump = json_dumps(errors, JSON_COMPACT);
    CHECK(dump);
    free(dump);
    json_decref(out);
    json_decref(errors);
    free(body);
    return 0;
}
