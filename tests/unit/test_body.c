/* tests/unit/test_body.c - declared JSON bodies against FastAPI on pydantic 2: for each
 * error type, the whole 422 body FastAPI returns for the same model and input, written
 * out in full; lax coercions, defaults, content types, limits and bad declarations. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body_check.h"
#include "tern/error.h"
#include "validation_error.h"

/* class Address(BaseModel): street: str; zip: str = Field(pattern="^[0-9]{5}$") */
static const tern_field address_fields[] = {
    TERN_FIELD_STR("street"),
    TERN_FIELD_STR("zip", TERN_PATTERN("^[0-9]{5}$")),
    {0},
};
static const tern_model address = {"Address", address_fields, NULL, false};

/* class Item(BaseModel):
 *     name: str = Field(min_length=1, max_length=10)
 *     price: float
 *     quantity: int = Field(1, ge=0, le=100)
 *     rank: int = Field(None, gt=0, lt=10)      (absent stays absent here)
 *     active: bool = True
 *     size: Size = Size.m                        (class Size(str, Enum): s, m, l)
 *     tags: List[Annotated[str, Field(max_length=3)]] = Field([], max_length=3)
 *     address: Address | None                    (may be absent)
 *     note: str | None = None */
static const tern_field item_fields[] = {
    TERN_FIELD_STR("name", TERN_MIN_LENGTH(1), TERN_MAX_LENGTH(10)),
    TERN_FIELD_FLOAT("price"),
    TERN_FIELD_INT("quantity", TERN_GE(0), TERN_LE(100), TERN_DEFAULT_JSON("1")),
    TERN_FIELD_INT("rank", TERN_GT(0), TERN_LT(10), TERN_OPTIONAL),
    TERN_FIELD_BOOL("active", TERN_DEFAULT_JSON("true")),
    TERN_FIELD_ENUM("size", TERN_ENUM_VALUES("s", "m", "l"), TERN_DEFAULT_JSON("\"m\"")),
    TERN_FIELD_ARRAY("tags", TERN_ITEMS(TERN_FIELD_STR(NULL, TERN_MAX_LENGTH(3))),
                     TERN_MAX_LENGTH(3), TERN_DEFAULT_JSON("[]")),
    TERN_FIELD_OBJECT("address", &address, TERN_OPTIONAL),
    TERN_FIELD_STR("note", TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
    {0},
};
static const tern_model item = {"Item", item_fields, NULL, false};

/* class Strict(BaseModel, extra="forbid"): a: int; ids: List[int] = Field(min_length=2) */
static const tern_field strict_fields[] = {
    TERN_FIELD_INT("a"),
    TERN_FIELD_ARRAY("ids", TERN_ITEMS(TERN_FIELD_INT(NULL)), TERN_MIN_LENGTH(2),
                     TERN_DEFAULT_JSON("[0,0]")),
    {0},
};
static const tern_model strict = {"Strict", strict_fields, NULL, true};

static char out[16384];

/* Runs the model on body (sent with content type ctype; NULL: no header) and returns
 * what the client would get: the 422 body, or the validated body the handler reads
 * ("absent" when there is none), or "413: <detail>". */
static const char *run_opt(const tern_model *m, bool optional, const char *ctype,
                           const char *body)
{
    tern_body_schema *s = NULL;
    cr_assert_eq(tern_body_schema_new(m, &s), 0, "%s", tern_errmsg());
    json_t *errors = json_array(), *val = NULL;
    tern_body_limits lim = {8, 200};
    tern_body_status st = tern_body_check(s, optional, ctype, body, strlen(body), &lim, errors, &val);
    char *text = NULL, buf[128];
    if (st == TERN_BODY_OK) {
        cr_assert_eq(json_array_size(errors), 0);
        text = val ? json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("absent");
        json_decref(errors);
    } else if (st == TERN_BODY_TOO_DEEP || st == TERN_BODY_TOO_MANY) {
        snprintf(buf, sizeof buf, "413: %s", tern_body_limit_detail(st, &lim, buf + 64, 64));
        text = strdup(buf);
        json_decref(errors);
    } else {
        cr_assert_null(val);
        cr_assert(st == TERN_BODY_INVALID || st == TERN_BODY_JSON_INVALID, "status %d", st);
        json_t *b = tern_verr_body(errors);
        text = json_dumps(b, JSON_COMPACT);
        json_decref(b);
    }
    json_decref(val);
    tern_body_schema_free(s);
    snprintf(out, sizeof out, "%s", text ? text : "(null)");
    free(text);
    return out;
}

static const char *run(const tern_model *m, const char *body)
{
    return run_opt(m, false, "application/json", body);
}

#define ERR1(type, loc, msg, input) "{\"detail\":[{\"type\":\"" type "\",\"loc\":" loc ",\"msg\":\"" msg "\",\"input\":" input "}]}"
#define ERR1C(type, loc, msg, input, ctx) "{\"detail\":[{\"type\":\"" type "\",\"loc\":" loc ",\"msg\":\"" msg "\",\"input\":" input ",\"ctx\":" ctx "}]}"

Test(body, valid_body_is_coerced_and_defaults_filled)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"Foo\",\"price\":\"2.5\",\"quantity\":5.0,"
                                "\"tags\":[\"a\"],\"extra\":1}"),
                     "{\"name\":\"Foo\",\"price\":2.5,\"quantity\":5,\"active\":true,\"size\":\"m\","
                     "\"tags\":[\"a\"],\"note\":null}");
    cr_assert_str_eq(run(&item, "{\"price\":3,\"name\":\"B\",\"address\":{\"street\":\"Main\","
                                "\"zip\":\"12345\"},\"note\":\"hi\",\"rank\":\"9\"}"),
                     "{\"name\":\"B\",\"price\":3.0,\"quantity\":1,\"rank\":9,\"active\":true,"
                     "\"size\":\"m\",\"tags\":[],\"address\":{\"street\":\"Main\",\"zip\":\"12345\"},"
                     "\"note\":\"hi\"}");
}

Test(body, missing_field_input_is_the_enclosing_object)
{
    cr_assert_str_eq(run(&item, "{\"price\":1}"),
                     ERR1("missing", "[\"body\",\"name\"]", "Field required", "{\"price\":1}"));
    cr_assert_str_eq(
        run(&item, "{\"name\":\"a\",\"price\":1,\"address\":{}}"),
        "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"address\",\"street\"],\"msg\":"
        "\"Field required\",\"input\":{}},{\"type\":\"missing\",\"loc\":[\"body\",\"address\","
        "\"zip\"],\"msg\":\"Field required\",\"input\":{}}]}");
}

Test(body, missing_body)
{
    const char *want = ERR1("missing", "[\"body\"]", "Field required", "null");
    cr_assert_str_eq(run(&item, ""), want);
    cr_assert_str_eq(run(&item, "null"), want, "JSON null is no body for FastAPI");
    cr_assert_str_eq(run_opt(&item, true, "application/json", ""), "absent");
    cr_assert_str_eq(run_opt(&item, true, "application/json", "null"), "absent");
}

Test(body, json_invalid)
{
    cr_assert_str_eq(run(&item, "{\"name\":"),
                     ERR1C("json_invalid", "[\"body\",8]", "JSON decode error", "{}",
                           "{\"error\":\"Expecting value\"}"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\" \"price\":1}"),
                     ERR1C("json_invalid", "[\"body\",12]", "JSON decode error", "{}",
                           "{\"error\":\"Expecting ',' delimiter\"}"));
    cr_assert_str_eq(run(&item, "{name:1}"),
                     ERR1C("json_invalid", "[\"body\",1]", "JSON decode error", "{}",
                           "{\"error\":\"Expecting property name enclosed in double quotes\"}"));
    cr_assert_str_eq(run(&item, "{\"name\" 1}"),
                     ERR1C("json_invalid", "[\"body\",8]", "JSON decode error", "{}",
                           "{\"error\":\"Expecting ':' delimiter\"}"));
    cr_assert_str_eq(run(&item, "{\"name\":\"abc}"),
                     ERR1C("json_invalid", "[\"body\",8]", "JSON decode error", "{}",
                           "{\"error\":\"Unterminated string starting at\"}"));
    cr_assert_str_eq(run(&item, "{} []"),
                     ERR1C("json_invalid", "[\"body\",3]", "JSON decode error", "{}",
                           "{\"error\":\"Extra data\"}"));
    cr_assert_str_eq(run(&item, "{\"name\":\"\xff\"}"),
                     ERR1C("json_invalid", "[\"body\",9]", "JSON decode error", "{}",
                           "{\"error\":\"Invalid UTF-8\"}"));
}

/* Things Python's json reads but jansson cannot hold are still refused cleanly. */
Test(body, json_invalid_from_jansson)
{
    const char *r = run(&item, "{\"quantity\":123456789012345678901234567890}");
    cr_assert(strstr(r, "\"type\":\"json_invalid\",\"loc\":[\"body\",12]") != NULL, "%s", r);
    r = run(&item, "{\"name\":\"\\ud800\"}");
    cr_assert(strstr(r, "\"type\":\"json_invalid\"") != NULL, "%s", r);
}

Test(body, model_attributes_type)
{
    cr_assert_str_eq(run(&item, "[1]"),
                     ERR1("model_attributes_type", "[\"body\"]",
                          "Input should be a valid dictionary or object to extract fields from", "[1]"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"address\":\"x\"}"),
                     ERR1("model_attributes_type", "[\"body\",\"address\"]",
                          "Input should be a valid dictionary or object to extract fields from",
                          "\"x\""));
}

Test(body, string_type)
{
    cr_assert_str_eq(run(&item, "{\"name\":5,\"price\":1}"),
                     ERR1("string_type", "[\"body\",\"name\"]", "Input should be a valid string", "5"));
    cr_assert_str_eq(run(&item, "{\"name\":null,\"price\":1}"),
                     ERR1("string_type", "[\"body\",\"name\"]", "Input should be a valid string",
                          "null"));
}

Test(body, int_errors)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"quantity\":\"abc\"}"),
                     ERR1("int_parsing", "[\"body\",\"quantity\"]",
                          "Input should be a valid integer, unable to parse string as an integer",
                          "\"abc\""));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"quantity\":5.5}"),
                     ERR1("int_from_float", "[\"body\",\"quantity\"]",
                          "Input should be a valid integer, got a number with a fractional part",
                          "5.5"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"quantity\":null}"),
                     ERR1("int_type", "[\"body\",\"quantity\"]", "Input should be a valid integer",
                          "null"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"quantity\":[]}"),
                     ERR1("int_type", "[\"body\",\"quantity\"]", "Input should be a valid integer",
                          "[]"));
}

/* Python's bool is an int: pydantic's lax int takes True as 1 (and float takes 1.0). */
Test(body, lax_coercions)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":true,\"quantity\":true,\"active\":\"yes\"}"),
                     "{\"name\":\"a\",\"price\":1.0,\"quantity\":1,\"active\":true,\"size\":\"m\","
                     "\"tags\":[],\"note\":null}");
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":\" 7 \",\"quantity\":\" 7 \",\"active\":0}"),
                     "{\"name\":\"a\",\"price\":7.0,\"quantity\":7,\"active\":false,\"size\":\"m\","
                     "\"tags\":[],\"note\":null}");
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"quantity\":\"5.0\",\"active\":1.0}"),
                     "{\"name\":\"a\",\"price\":1.0,\"quantity\":5,\"active\":true,\"size\":\"m\","
                     "\"tags\":[],\"note\":null}");
}

Test(body, float_errors)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":\"x\"}"),
                     ERR1("float_parsing", "[\"body\",\"price\"]",
                          "Input should be a valid number, unable to parse string as a number",
                          "\"x\""));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":{}}"),
                     ERR1("float_type", "[\"body\",\"price\"]", "Input should be a valid number", "{}"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":\"-inf\"}"),
                     ERR1("finite_number", "[\"body\",\"price\"]", "Input should be a finite number",
                          "\"-inf\""));
    /* Python reads 1e999 as inf; jansson refuses it where the number starts */
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1e999}"),
                     ERR1C("json_invalid", "[\"body\",20]", "JSON decode error", "{}",
                           "{\"error\":\"real number overflow near '1e999'\"}"));
}

Test(body, bool_errors)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"active\":\"maybe\"}"),
                     ERR1("bool_parsing", "[\"body\",\"active\"]",
                          "Input should be a valid boolean, unable to interpret input", "\"maybe\""));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"active\":2}"),
                     ERR1("bool_parsing", "[\"body\",\"active\"]",
                          "Input should be a valid boolean, unable to interpret input", "2"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"active\":0.5}"),
                     ERR1("bool_type", "[\"body\",\"active\"]", "Input should be a valid boolean",
                          "0.5"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"active\":null}"),
                     ERR1("bool_type", "[\"body\",\"active\"]", "Input should be a valid boolean",
                          "null"));
}

Test(body, string_lengths)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"\",\"price\":1}"),
                     ERR1C("string_too_short", "[\"body\",\"name\"]",
                           "String should have at least 1 character", "\"\"", "{\"min_length\":1}"));
    cr_assert_str_eq(run(&item, "{\"name\":\"abcdefghijk\",\"price\":1}"),
                     ERR1C("string_too_long", "[\"body\",\"name\"]",
                           "String should have at most 10 characters", "\"abcdefghijk\"",
                           "{\"max_length\":10}"));
    /* characters, not bytes: ten é pass */
    const char *ten = "{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                      "\xc3\xa9\xc3\xa9\",\"price\":1}";
    cr_assert(strncmp(run(&item, ten), "{\"name\"", 7) == 0, "%s", out);
}

Test(body, string_pattern_mismatch_nested)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"address\":{\"street\":\"s\",\"zip\":\"1234\"}}"),
                     ERR1C("string_pattern_mismatch", "[\"body\",\"address\",\"zip\"]",
                           "String should match pattern '^[0-9]{5}$'", "\"1234\"",
                           "{\"pattern\":\"^[0-9]{5}$\"}"));
}

Test(body, numeric_bounds)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"quantity\":101}"),
                     ERR1C("less_than_equal", "[\"body\",\"quantity\"]",
                           "Input should be less than or equal to 100", "101", "{\"le\":100}"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"quantity\":\"-1\"}"),
                     ERR1C("greater_than_equal", "[\"body\",\"quantity\"]",
                           "Input should be greater than or equal to 0", "\"-1\"", "{\"ge\":0}"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"rank\":0}"),
                     ERR1C("greater_than", "[\"body\",\"rank\"]", "Input should be greater than 0",
                           "0", "{\"gt\":0}"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"rank\":10.0}"),
                     ERR1C("less_than", "[\"body\",\"rank\"]", "Input should be less than 10",
                           "10.0", "{\"lt\":10}"));
}

Test(body, enum)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"size\":\"xl\"}"),
                     ERR1C("enum", "[\"body\",\"size\"]", "Input should be 's', 'm' or 'l'", "\"xl\"",
                           "{\"expected\":\"'s', 'm' or 'l'\"}"));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"size\":1}"),
                     ERR1C("enum", "[\"body\",\"size\"]", "Input should be 's', 'm' or 'l'", "1",
                           "{\"expected\":\"'s', 'm' or 'l'\"}"));
}

Test(body, list_type)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"tags\":\"a\"}"),
                     ERR1("list_type", "[\"body\",\"tags\"]", "Input should be a valid list", "\"a\""));
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"tags\":{\"0\":\"a\"}}"),
                     ERR1("list_type", "[\"body\",\"tags\"]", "Input should be a valid list",
                          "{\"0\":\"a\"}"));
}

Test(body, list_items_have_their_index_in_loc)
{
    cr_assert_str_eq(
        run(&item, "{\"name\":\"a\",\"price\":1,\"tags\":[\"a\",5,\"toolong\"]}"),
        "{\"detail\":[{\"type\":\"string_type\",\"loc\":[\"body\",\"tags\",1],\"msg\":\"Input "
        "should be a valid string\",\"input\":5},{\"type\":\"string_too_long\",\"loc\":[\"body\","
        "\"tags\",2],\"msg\":\"String should have at most 3 characters\",\"input\":\"toolong\","
        "\"ctx\":{\"max_length\":3}}]}");
}

Test(body, too_long_and_too_short)
{
    cr_assert_str_eq(run(&item, "{\"name\":\"a\",\"price\":1,\"tags\":[\"toolong\",\"b\",\"c\",\"d\"]}"),
                     ERR1C("too_long", "[\"body\",\"tags\"]",
                           "List should have at most 3 items after validation, not 4",
                           "[\"toolong\",\"b\",\"c\",\"d\"]",
                           "{\"field_type\":\"List\",\"max_length\":3,\"actual_length\":4}"));
    cr_assert_str_eq(run(&strict, "{\"a\":1,\"ids\":[1]}"),
                     ERR1C("too_short", "[\"body\",\"ids\"]",
                           "List should have at least 2 items after validation, not 1", "[1]",
                           "{\"field_type\":\"List\",\"min_length\":2,\"actual_length\":1}"));
}

Test(body, extra_forbidden_after_field_errors)
{
    cr_assert_str_eq(run(&strict, "{\"zzz\":2,\"a\":\"x\",\"yyy\":null}"),
                     "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"a\"],\"msg\":\"Input "
                     "should be a valid integer, unable to parse string as an integer\",\"input\":"
                     "\"x\"},{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"zzz\"],\"msg\":\"Extra "
                     "inputs are not permitted\",\"input\":2},{\"type\":\"extra_forbidden\",\"loc\":"
                     "[\"body\",\"yyy\"],\"msg\":\"Extra inputs are not permitted\",\"input\":null}]}");
    cr_assert_str_eq(run(&strict, "{\"a\":3}"), "{\"a\":3,\"ids\":[0,0]}");
}

Test(body, every_error_at_once)
{
    const char *r = run(&item, "{\"name\":5,\"quantity\":500,\"size\":\"x\",\"tags\":[1]}");
    json_t *j = json_loads(r, 0, NULL);
    cr_assert_not_null(j, "%s", r);
    json_t *d = json_object_get(j, "detail");
    cr_assert_eq(json_array_size(d), 5, "%s", r);
    const char *types[] = {"string_type", "missing", "less_than_equal", "enum", "string_type"};
    for (size_t i = 0; i < 5; i++)
        cr_expect_str_eq(json_string_value(json_object_get(json_array_get(d, i), "type")), types[i]);
    json_decref(j);
}

Test(body, content_types)
{
    const char *body = "{\"a\":1}";
    const char *ok = "{\"a\":1,\"ids\":[0,0]}";
    cr_assert_str_eq(run_opt(&strict, false, NULL, body), ok, "no Content-Type: parsed as JSON");
    cr_assert_str_eq(run_opt(&strict, false, "", body), ok, "an empty one too");
    cr_assert_str_eq(run_opt(&strict, false, "application/json; charset=utf-8", body), ok);
    cr_assert_str_eq(run_opt(&strict, false, "Application/JSON", body), ok);
    cr_assert_str_eq(run_opt(&strict, false, "application/vnd.api+json", body), ok);
    cr_assert_str_eq(run_opt(&strict, false, "text/plain", body),
                     ERR1("model_attributes_type", "[\"body\"]",
                          "Input should be a valid dictionary or object to extract fields from",
                          "\"{\\\"a\\\":1}\""));
    cr_assert_str_eq(run_opt(&strict, false, "application/jsonx", "{bad"),
                     ERR1("model_attributes_type", "[\"body\"]",
                          "Input should be a valid dictionary or object to extract fields from",
                          "\"{bad\""));
    cr_assert_str_eq(run_opt(&strict, true, "text/plain", ""), "absent");
}

Test(body, limits)
{
    cr_assert_str_eq(run(&item, "[[[[[[[[[]]]]]]]]]"), "413: JSON body nested deeper than 8 levels");
    char big[1200] = "[";
    for (int i = 0; i < 250; i++)
        strcat(big, i ? ",1" : "1");
    strcat(big, "]");
    cr_assert_str_eq(run(&item, big), "413: JSON body has more than 200 values");
}

/* class Node(BaseModel): name: str; children: List["Node"] = [] */
static const tern_model node;
static const tern_field node_fields[] = {
    TERN_FIELD_STR("name"),
    TERN_FIELD_ARRAY("children", TERN_ITEMS(TERN_FIELD_OBJECT(NULL, &node)), TERN_DEFAULT_JSON("[]")),
    {0},
};
static const tern_model node = {"Node", node_fields, NULL, false};

Test(body, recursive_model)
{
    cr_assert_str_eq(run(&node, "{\"name\":\"a\",\"children\":[{\"name\":\"b\"}]}"),
                     "{\"name\":\"a\",\"children\":[{\"name\":\"b\",\"children\":[]}]}");
    cr_assert_str_eq(run(&node, "{\"name\":\"a\",\"children\":[{\"children\":[{\"name\":1}]}]}"),
                     "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"children\",0,\"name\"],"
                     "\"msg\":\"Field required\",\"input\":{\"children\":[{\"name\":1}]}},{\"type\":"
                     "\"string_type\",\"loc\":[\"body\",\"children\",0,\"children\",0,\"name\"],"
                     "\"msg\":\"Input should be a valid string\",\"input\":1}]}");
}

static int compile_err(const tern_field *fields)
{
    tern_model m = {"Bad", fields, NULL, false};
    tern_body_schema *s = NULL;
    int rc = tern_body_schema_new(&m, &s);
    tern_body_schema_free(s);
    return rc;
}

Test(body, bad_declarations_are_refused_with_a_reason)
{
    tern_field bad_re[] = {TERN_FIELD_STR("a", TERN_PATTERN("(")), {0}};
    cr_assert_eq(compile_err(bad_re), -EINVAL);
    cr_assert(strstr(tern_errmsg(), "body model 'Bad', field 'a'") != NULL, "%s", tern_errmsg());
    tern_field bad_def[] = {TERN_FIELD_INT("a", TERN_LE(5), TERN_DEFAULT_JSON("9")), {0}};
    cr_assert_eq(compile_err(bad_def), -EINVAL);
    cr_assert(strstr(tern_errmsg(), "default_json fails") != NULL, "%s", tern_errmsg());
    tern_field not_json[] = {TERN_FIELD_INT("a", TERN_DEFAULT_JSON("nine")), {0}};
    cr_assert_eq(compile_err(not_json), -EINVAL);
    tern_field dup[] = {TERN_FIELD_INT("a"), TERN_FIELD_STR("a"), {0}};
    cr_assert_eq(compile_err(dup), -EINVAL);
    cr_assert(strstr(tern_errmsg(), "declared twice") != NULL, "%s", tern_errmsg());
    tern_field ge_str[] = {TERN_FIELD_STR("a", TERN_GE(1)), {0}};
    cr_assert_eq(compile_err(ge_str), -EINVAL);
    tern_field no_model[] = {TERN_FIELD_OBJECT("a", NULL), {0}};
    cr_assert_eq(compile_err(no_model), -EINVAL);
    tern_field perl[] = {TERN_FIELD_STR("a", TERN_PATTERN("^\\d+$")), {0}};
    cr_assert_eq(compile_err(perl), -EINVAL);
    tern_field empty_enum[] = {TERN_FIELD_ENUM("a"), {0}};
    cr_assert_eq(compile_err(empty_enum), -EINVAL);
    tern_field fine[] = {TERN_FIELD_INT("a", TERN_NULLABLE, TERN_DEFAULT_JSON("null")), {0}};
    cr_assert_eq(compile_err(fine), 0, "%s", tern_errmsg());
}

/* Mutated bodies: whatever the bytes, the outcome is a validated object or well-formed
 * error entries (run under the sanitizers, also no leak and no overflow). */
Test(body, mutated_bodies_give_well_formed_answers)
{
    static const char seed[] = "{\"name\":\"Foo\",\"price\":\"2.5\",\"tags\":[\"a\",\"b\"],"
                               "\"address\":{\"city\":\"x\",\"zip\":\"12345\"},\"note\":null}";
    static const char alphabet[] = "{}[]\",:\\u0123456789.eE-+ tfnaxz\xc3\xa9\xff\x01";
    tern_body_schema *s = NULL;
    cr_assert_eq(tern_body_schema_new(&item, &s), 0);
    tern_body_limits lim = {16, 1000};
    unsigned seedv = 12345;
    char buf[sizeof seed + 16];
    for (int round = 0; round < 3000; round++) {
        size_t len = sizeof seed - 1;
        memcpy(buf, seed, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seedv = seedv * 1103515245u + 12345u;
            size_t at = (seedv >> 8) % len;
            seedv = seedv * 1103515245u + 12345u;
            char c = alphabet[(seedv >> 8) % (sizeof alphabet - 1)];
            if (round % 3 == 0 && len > 1) /* cut */
                len = at + 1;
            else
                buf[at] = c;
        }
        json_t *errors = json_array(), *val = NULL;
        tern_body_status st = tern_body_check(s, false, "application/json", buf, len, &lim, errors, &val);
        if (st == TERN_BODY_OK) {
            cr_assert(json_is_object(val), "round %d", round);
            cr_assert_eq(json_array_size(errors), 0);
        } else {
            cr_assert(st == TERN_BODY_INVALID || st == TERN_BODY_JSON_INVALID, "round %d: %d", round, st);
            cr_assert_null(val);
            cr_assert_gt(json_array_size(errors), 0, "round %d", round);
            size_t i;
            json_t *e;
            json_array_foreach(errors, i, e) {
                cr_assert(json_is_string(json_object_get(e, "type")));
                cr_assert(json_is_array(json_object_get(e, "loc")));
                cr_assert(json_is_string(json_object_get(e, "msg")));
                cr_assert_not_null(json_object_get(e, "input"));
            }
            char *dump = json_dumps(errors, JSON_COMPACT);
            cr_assert_not_null(dump, "round %d: the entries must serialize", round);
            free(dump);
        }
        json_decref(errors);
        json_decref(val);
    }
    tern_body_schema_free(s);
}
