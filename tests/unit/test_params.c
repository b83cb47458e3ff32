/* tests/unit/test_params.c - declared parameters against FastAPI: every accepted and
 * rejected spelling of int, float and bool, string lengths in characters, patterns,
 * enums, defaults, missing values, header names, several errors at once, bad
 * declarations, and pydantic's message templates. Expected bodies are what FastAPI
 * (pydantic 2) returns for the same declaration and input, written out in full. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "param_check.h"
#include "tern/error.h"
#include "validation_error.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a fake source: a small table of received values --------------------------------- */

typedef struct kv {
    tern_param_in in;
    const char *name;
    const char *value;
    size_t len; /* 0: strlen(value); set it for values holding NULs */
} kv;

typedef struct fake {
    const kv *kv;
    size_t n;
    char asked[16][64]; /* "<in>:<name>" of each lookup, to see what names were used */
    size_t nasked;
} fake;

/* Header names match in any case, as a real source's would; nothing else is folded, so
 * a test fails if param_check forgot to turn x_token into x-token. */
static const char *fake_get(void *ctx, tern_param_in in, const char *name, size_t *len)
{
    fake *f = ctx;
    if (f->nasked < N(f->asked))
        snprintf(f->asked[f->nasked++], sizeof f->asked[0], "%s:%s", tern_param_in_name(in), name);
    for (size_t i = 0; i < f->n; i++) {
        const kv *e = &f->kv[i];
        bool hit = e->in == in && (in == TERN_IN_HEADER ? strcasecmp(e->name, name) == 0
                                                        : strcmp(e->name, name) == 0);
        if (hit) {
            *len = e->len ? e->len : strlen(e->value);
            return e->value;
        }
    }
    return NULL;
}

/* ---- running a declaration ----------------------------------------------------------- */

static tern_arena arena;
static tern_param_value vals[16];
static fake last;
static char body[8192];

static void setup(void)
{
    tern_arena_init(&arena, NULL, 0);
    /* Stale values from an earlier request: the check must overwrite every field. */
    for (size_t i = 0; i < N(vals); i++)
        vals[i] = (tern_param_value){true, "stale", 5, 99, 99.0, true, NULL};
}

static void teardown(void)
{
    tern_arena_reset(&arena);
}

TestSuite(params, .init = setup, .fini = teardown);
TestSuite(decl);
TestSuite(verr);

/* Validates the table against decls; returns the dumped 422 body, or "" when valid. */
static const char *run(const tern_param *decls, size_t n, const kv *table, size_t ntable)
{
    tern_param_set set;
    int rc = tern_param_set_init(&set, decls, n);
    cr_assert_eq(rc, 0, "init: %d %s", rc, tern_errmsg());
    memset(&last, 0, sizeof last);
    last.kv = table;
    last.n = ntable;
    tern_param_source src = {fake_get, &last, NULL};
    json_t *errors = json_array();
    size_t nerr = tern_params_check(&set, &src, &arena, vals, errors);
    cr_assert_eq(nerr, json_array_size(errors), "returned %zu, listed %zu", nerr,
                 json_array_size(errors));
    body[0] = '\0';
    json_t *b = tern_verr_body(errors);
    if (nerr) {
        char *s = json_dumps(b, JSON_COMPACT);
        cr_assert_not_null(s);
        snprintf(body, sizeof body, "%s", s);
        free(s);
    }
    json_decref(b);
    tern_param_set_free(&set);
    return body;
}

/* One parameter, one received value (NULL: absent). */
static const char *run1(tern_param decl, const char *value)
{
    tern_param decls[] = {decl};
    kv table[] = {{decl.in, decl.name, value, 0}};
    return run(decls, 1, table, value ? 1 : 0);
}

#define EXPECT_BODY(got, want) cr_assert_str_eq((got), (want))
#define EXPECT_VALID(got) cr_assert_str_eq((got), "", "unexpected errors: %s", (got))

/* ---- the examples of fastapi-errors.md ----------------------------------------------- */

Test(params, path_int_parsing)
{
    EXPECT_BODY(run1((tern_param)TERN_PATH_INT("item_id"), "foo"),
                "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],"
                "\"msg\":\"Input should be a valid integer, unable to parse string as an "
                "integer\",\"input\":\"foo\"}]}");
}

Test(params, query_less_than_equal)
{
    EXPECT_BODY(run1((tern_param)TERN_QUERY_INT("limit", TERN_LE(100)), "1000"),
                "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"limit\"],"
                "\"msg\":\"Input should be less than or equal to 100\",\"input\":\"1000\","
                "\"ctx\":{\"le\":100}}]}");
    cr_assert(vals[0].present);
}

/* ---- numeric bounds ------------------------------------------------------------------ */

Test(params, int_greater_than_equal)
{
    EXPECT_BODY(run1((tern_param)TERN_PATH_INT("item_id", TERN_GE(1)), "0"),
                "{\"detail\":[{\"type\":\"greater_than_equal\",\"loc\":[\"path\",\"item_id\"],"
                "\"msg\":\"Input should be greater than or equal to 1\",\"input\":\"0\","
                "\"ctx\":{\"ge\":1}}]}");
    EXPECT_VALID(run1((tern_param)TERN_PATH_INT("item_id", TERN_GE(1)), "1"));
    cr_assert_eq(vals[0].i, 1);
}

Test(params, int_greater_than_and_less_than)
{
    tern_param d = TERN_PATH_INT("item_id", TERN_GT(0), TERN_LT(1000));
    EXPECT_BODY(run1(d, "0"),
                "{\"detail\":[{\"type\":\"greater_than\",\"loc\":[\"path\",\"item_id\"],"
                "\"msg\":\"Input should be greater than 0\",\"input\":\"0\",\"ctx\":{\"gt\":0}}]}");
    EXPECT_BODY(run1(d, "1000"),
                "{\"detail\":[{\"type\":\"less_than\",\"loc\":[\"path\",\"item_id\"],"
                "\"msg\":\"Input should be less than 1000\",\"input\":\"1000\","
                "\"ctx\":{\"lt\":1000}}]}");
    EXPECT_VALID(run1(d, "999"));
    cr_assert_eq(vals[0].i, 999);
}

/* FastAPI's tutorial: size: float = Query(gt=0, lt=10.5). */
Test(params, float_bounds)
{
    tern_param d = TERN_QUERY_FLOAT("size", TERN_GT(0), TERN_LT(10.5));
    EXPECT_BODY(run1(d, "10.5"),
                "{\"detail\":[{\"type\":\"less_than\",\"loc\":[\"query\",\"size\"],"
                "\"msg\":\"Input should be less than 10.5\",\"input\":\"10.5\","
                "\"ctx\":{\"lt\":10.5}}]}");
    EXPECT_BODY(run1(d, "-0.5"),
                "{\"detail\":[{\"type\":\"greater_than\",\"loc\":[\"query\",\"size\"],"
                "\"msg\":\"Input should be greater than 0\",\"input\":\"-0.5\","
                "\"ctx\":{\"gt\":0}}]}");
    EXPECT_VALID(run1(d, "10.25"));
    cr_assert_eq(vals[0].f, 10.25);
}

/* pydantic checks le, lt, ge, gt in that order and NaN fails every one of them. */
Test(params, float_nan_fails_first_bound)
{
    tern_param d = TERN_QUERY_FLOAT("x", TERN_GE(2.5), TERN_LE(7.5));
    EXPECT_BODY(run1(d, "nan"),
                "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"x\"],"
                "\"msg\":\"Input should be less than or equal to 7.5\",\"input\":\"nan\","
                "\"ctx\":{\"le\":7.5}}]}");
    EXPECT_BODY(run1(d, "-inf"),
                "{\"detail\":[{\"type\":\"greater_than_equal\",\"loc\":[\"query\",\"x\"],"
                "\"msg\":\"Input should be greater than or equal to 2.5\",\"input\":\"-inf\","
                "\"ctx\":{\"ge\":2.5}}]}");
}

Test(params, int_bound_not_integral)
{
    tern_param d = TERN_QUERY_INT("n", TERN_LE(2.5));
    EXPECT_VALID(run1(d, "2"));
    EXPECT_BODY(run1(d, "3"),
                "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"n\"],"
                "\"msg\":\"Input should be less than or equal to 2.5\",\"input\":\"3\","
                "\"ctx\":{\"le\":2.5}}]}");
}

/* An int64 near 2^63 compared with a double bound must not round. */
Test(params, int_bound_exact_near_limits)
{
    tern_param d = TERN_QUERY_INT("n", TERN_LT(9223372036854775807.0));
    EXPECT_VALID(run1(d, "9223372036854775807")); /* bound is 2^63 as a double */
    tern_param g = TERN_QUERY_INT("n", TERN_GE(-9007199254740992.0));
    EXPECT_VALID(run1(g, "-9007199254740992"));
    cr_assert_neq(run1(g, "-9007199254740993")[0], '\0');
}

/* ---- int ----------------------------------------------------------------------------- */

Test(params, int_accepted_spellings)
{
    static const struct {
        const char *text;
        int64_t want;
    } cases[] = {
        {"5", 5},
        {" 5 ", 5},
        {"\t7\n", 7},
        {"+5", 5},
        {"-5", -5},
        {"007", 7},
        {"-007", -7},
        {"-0", 0},
        {"5.0", 5},
        {"5.000", 5},
        {"-12.0", -12},
        {"1_000", 1000},
        {"1_000.0", 1000},
        {"0_0", 0},
        {"\u00A042\u3000", 42}, /* no-break and ideographic spaces are trimmed */
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
    };
    for (size_t i = 0; i < N(cases); i++) {
        const char *got = run1((tern_param)TERN_QUERY_INT("n"), cases[i].text);
        cr_assert_str_eq(got, "", "'%s': %s", cases[i].text, got);
        cr_assert(vals[0].present);
        cr_assert_eq(vals[0].i, cases[i].want, "'%s' -> %lld", cases[i].text, (long long)vals[0].i);
        cr_assert_str_eq(vals[0].text, cases[i].text);
    }
}

Test(params, int_rejected_spellings)
{
    /* text, and the same as it appears in JSON */
    static const char *const cases[][2] = {
        {"foo", "foo"},
        {"", ""},
        {" ", " "},
        {"5.5", "5.5"},
        {"5.", "5."},
        {".0", ".0"},
        {"5.0_0", "5.0_0"},
        {"1e3", "1e3"},
        {"0x10", "0x10"},
        {"1__0", "1__0"},
        {"_1", "_1"},
        {"1_", "1_"},
        {"+-1", "+-1"},
        {"--1", "--1"},
        {"- 1", "- 1"},
        {"5 5", "5 5"},
        {"1,000", "1,000"},
        {"inf", "inf"},
        {"\xD9\xA1", "\xD9\xA1"}, /* ARABIC-INDIC DIGIT ONE: Rust's parser wants ASCII */
        {"9223372036854775808", "9223372036854775808"},
        {"-9223372036854775809", "-9223372036854775809"},
        {"99999999999999999999999", "99999999999999999999999"},
        {"\t", "\\t"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char want[512];
        snprintf(want, sizeof want,
                 "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"n\"],"
                 "\"msg\":\"Input should be a valid integer, unable to parse string as an "
                 "integer\",\"input\":\"%s\"}]}",
                 cases[i][1]);
        EXPECT_BODY(run1((tern_param)TERN_QUERY_INT("n"), cases[i][0]), want);
    }
}

/* ---- float --------------------------------------------------------------------------- */

Test(params, float_accepted_spellings)
{
    static const struct {
        const char *text;
        double want;
    } cases[] = {
        {"1.5", 1.5},
        {" 2.5 ", 2.5},
        {"-3", -3},
        {"+.5", 0.5},
        {"5.", 5},
        {"00.25", 0.25},
        {"1e3", 1000},
        {"1E-2", 0.01},
        {"1.e2", 100},
        {"0", 0},
        {"1_000.5", 1000.5},
        {"inf", INFINITY},
        {"-Infinity", -INFINITY},
        {"INF", INFINITY},
        {"+inf", INFINITY},
        {"1e400", INFINITY},
        {"\u00A01.5", 1.5},
    };
    for (size_t i = 0; i < N(cases); i++) {
        const char *got = run1((tern_param)TERN_QUERY_FLOAT("x"), cases[i].text);
        cr_assert_str_eq(got, "", "'%s': %s", cases[i].text, got);
        cr_assert_eq(vals[0].f, cases[i].want, "'%s' -> %g", cases[i].text, vals[0].f);
    }
    static const char *const nans[] = {"nan", "NaN", "-nan", " NAN "};
    for (size_t i = 0; i < N(nans); i++) {
        EXPECT_VALID(run1((tern_param)TERN_QUERY_FLOAT("x"), nans[i]));
        cr_assert(isnan(vals[0].f), "'%s'", nans[i]);
    }
}

Test(params, float_rejected_spellings)
{
    /* " 1_0": pydantic drops underscores only from the untrimmed text, then fails */
    static const char *const cases[] = {
        "",        "abc",       ".",    "e5",   "1e", "1e+", "0x1p3", "nan(1)", "1.5.5",
        "infinit", "infinityy", " 1_0", "1__0", "_1", "1,5", "- 1",   "++1",    "1 e3",
    };
    for (size_t i = 0; i < N(cases); i++) {
        char want[512];
        snprintf(want, sizeof want,
                 "{\"detail\":[{\"type\":\"float_parsing\",\"loc\":[\"query\",\"x\"],"
                 "\"msg\":\"Input should be a valid number, unable to parse string as a "
                 "number\",\"input\":\"%s\"}]}",
                 cases[i]);
        EXPECT_BODY(run1((tern_param)TERN_QUERY_FLOAT("x"), cases[i]), want);
    }
}

/* ---- bool ---------------------------------------------------------------------------- */

Test(params, bool_spellings)
{
    static const char *const yes[] = {"true", "True", "TRUE", "t",  "T",  "yes", "YeS",
                                      "y",    "Y",    "on",   "ON", "oN", "1"};
    static const char *const no[] = {"false", "False", "FALSE", "f",   "F",   "no",
                                     "NO",    "n",     "N",     "off", "Off", "0"};
    for (size_t i = 0; i < N(yes); i++) {
        EXPECT_VALID(run1((tern_param)TERN_QUERY_BOOL("flag"), yes[i]));
        cr_assert(vals[0].present && vals[0].b, "'%s'", yes[i]);
    }
    for (size_t i = 0; i < N(no); i++) {
        EXPECT_VALID(run1((tern_param)TERN_QUERY_BOOL("flag"), no[i]));
        cr_assert(vals[0].present && !vals[0].b, "'%s'", no[i]);
    }
}

Test(params, bool_rejected)
{
    static const char *const cases[] = {"",  "2",  "truee", " true", "true ", "tru", "ye",
                                        "o", "-1", "00",    "0.0",   "nope",  "ja",  "nein"};
    for (size_t i = 0; i < N(cases); i++) {
        char want[512];
        snprintf(want, sizeof want,
                 "{\"detail\":[{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"flag\"],"
                 "\"msg\":\"Input should be a valid boolean, unable to interpret input\","
                 "\"input\":\"%s\"}]}",
                 cases[i]);
        EXPECT_BODY(run1((tern_param)TERN_QUERY_BOOL("flag"), cases[i]), want);
    }
}

/* ---- strings ------------------------------------------------------------------------- */

Test(params, string_length_counts_characters)
{
    tern_param d = TERN_QUERY_STR("q", TERN_MAX_LENGTH(5));
    EXPECT_VALID(run1(d, "h\xC3\xA9llo")); /* 5 characters, 6 bytes */
    cr_assert_eq(vals[0].len, 6);
    EXPECT_BODY(run1(d, "h\xC3\xA9llo!"),
                "{\"detail\":[{\"type\":\"string_too_long\",\"loc\":[\"query\",\"q\"],"
                "\"msg\":\"String should have at most 5 characters\",\"input\":\"h\xC3\xA9llo!\","
                "\"ctx\":{\"max_length\":5}}]}");
    tern_param e = TERN_QUERY_STR("q", TERN_MAX_LENGTH(2));
    EXPECT_VALID(run1(e, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80")); /* two emoji, 8 bytes */
}

Test(params, string_too_short_singular)
{
    EXPECT_BODY(run1((tern_param)TERN_QUERY_STR("q", TERN_MIN_LENGTH(1)), ""),
                "{\"detail\":[{\"type\":\"string_too_short\",\"loc\":[\"query\",\"q\"],"
                "\"msg\":\"String should have at least 1 character\",\"input\":\"\","
                "\"ctx\":{\"min_length\":1}}]}");
    EXPECT_BODY(run1((tern_param)TERN_QUERY_STR("q", TERN_MAX_LENGTH(1)), "ab"),
                "{\"detail\":[{\"type\":\"string_too_long\",\"loc\":[\"query\",\"q\"],"
                "\"msg\":\"String should have at most 1 character\",\"input\":\"ab\","
                "\"ctx\":{\"max_length\":1}}]}");
    EXPECT_BODY(
        run1((tern_param)TERN_QUERY_STR("q", TERN_MIN_LENGTH(3)), "\xC3\xA9\xC3\xA9"),
        "{\"detail\":[{\"type\":\"string_too_short\",\"loc\":[\"query\",\"q\"],"
        "\"msg\":\"String should have at least 3 characters\",\"input\":\"\xC3\xA9\xC3\xA9\","
        "\"ctx\":{\"min_length\":3}}]}");
}

/* Starlette decodes with errors="replace": each ill-formed piece is one U+FFFD. */
Test(params, string_invalid_utf8_becomes_replacement)
{
    tern_param d = TERN_QUERY_STR("q", TERN_MAX_LENGTH(1));
    EXPECT_BODY(run1(d, "\xFF\xFE"),
                "{\"detail\":[{\"type\":\"string_too_long\",\"loc\":[\"query\",\"q\"],"
                "\"msg\":\"String should have at most 1 character\","
                "\"input\":\"\xEF\xBF\xBD\xEF\xBF\xBD\",\"ctx\":{\"max_length\":1}}]}");
    EXPECT_VALID(run1(d, "\xE2\x82")); /* a truncated sequence: one replacement */
    cr_assert_str_eq(vals[0].text, "\xEF\xBF\xBD");
    cr_assert_eq(vals[0].len, 3);
    EXPECT_VALID(run1((tern_param)TERN_QUERY_STR("q", TERN_MAX_LENGTH(3)), "\xED\xA0\x80"));
    cr_assert_str_eq(vals[0].text, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* a surrogate */
}

Test(params, string_with_nul)
{
    tern_param decls[] = {TERN_QUERY_STR("q", TERN_MAX_LENGTH(2))};
    kv table[] = {{TERN_IN_QUERY, "q", "a\0b", 3}};
    EXPECT_BODY(run(decls, 1, table, 1),
                "{\"detail\":[{\"type\":\"string_too_long\",\"loc\":[\"query\",\"q\"],"
                "\"msg\":\"String should have at most 2 characters\",\"input\":\"a\\u0000b\","
                "\"ctx\":{\"max_length\":2}}]}");
    /* the pattern sees past the NUL; the value then fails: a handler reading a C string
     * would see only "a" */
    tern_param p[] = {TERN_QUERY_STR("q", TERN_PATTERN("b$"))};
    EXPECT_BODY(run(p, 1, table, 1),
                "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"q\"],"
                "\"msg\":\"Value error, NUL characters are not allowed\",\"input\":\"a\\u0000b\","
                "\"ctx\":{\"error\":\"NUL characters are not allowed\"}}]}");
}

/* FastAPI's tutorial: Query(min_length=3, max_length=50, pattern="^fixedquery$"). */
Test(params, pattern_mismatch)
{
    tern_param d =
        TERN_QUERY_STR("q", TERN_MIN_LENGTH(3), TERN_MAX_LENGTH(50), TERN_PATTERN("^fixedquery$"));
    EXPECT_BODY(
        run1(d, "nonregexquery"),
        "{\"detail\":[{\"type\":\"string_pattern_mismatch\",\"loc\":[\"query\",\"q\"],"
        "\"msg\":\"String should match pattern '^fixedquery$'\",\"input\":\"nonregexquery\","
        "\"ctx\":{\"pattern\":\"^fixedquery$\"}}]}");
    EXPECT_VALID(run1(d, "fixedquery"));
    /* lengths come before the pattern */
    EXPECT_BODY(run1(d, "fq"),
                "{\"detail\":[{\"type\":\"string_too_short\",\"loc\":[\"query\",\"q\"],"
                "\"msg\":\"String should have at least 3 characters\",\"input\":\"fq\","
                "\"ctx\":{\"min_length\":3}}]}");
}

Test(params, pattern_is_searched_not_anchored)
{
    tern_param d = TERN_QUERY_STR("q", TERN_PATTERN("b+"));
    EXPECT_VALID(run1(d, "abbc"));
    cr_assert_neq(run1(d, "ac")[0], '\0');
}

Test(params, pattern_sees_characters)
{
    tern_param d = TERN_QUERY_STR("q", TERN_PATTERN("^.{3}$"));
    EXPECT_VALID(run1(d, "h\xC3\xA9\xC3\xA9")); /* 3 characters, 5 bytes */
    cr_assert_neq(run1(d, "abcd")[0], '\0');
    tern_param c = TERN_QUERY_STR("q", TERN_PATTERN("^[0-9]+$"));
    EXPECT_VALID(run1(c, "0123"));
    cr_assert_neq(run1(c, "12a")[0], '\0');
}

/* ---- enums --------------------------------------------------------------------------- */

/* FastAPI's tutorial: model_name: ModelName (alexnet, resnet, lenet) in the path. */
Test(params, enum_three_values)
{
    tern_param d = {.name = "model_name",
                    .in = TERN_IN_PATH,
                    .type = TERN_T_ENUM,
                    .required = true,
                    TERN_ENUM_VALUES("alexnet", "resnet", "lenet")};
    EXPECT_BODY(run1(d, "foo"),
                "{\"detail\":[{\"type\":\"enum\",\"loc\":[\"path\",\"model_name\"],"
                "\"msg\":\"Input should be 'alexnet', 'resnet' or 'lenet'\",\"input\":\"foo\","
                "\"ctx\":{\"expected\":\"'alexnet', 'resnet' or 'lenet'\"}}]}");
    EXPECT_VALID(run1(d, "resnet"));
    cr_assert_str_eq(vals[0].text, "resnet");
    cr_assert_neq(run1(d, "ResNet")[0], '\0'); /* exact match, as pydantic's */
}

Test(params, enum_two_and_one_values)
{
    EXPECT_BODY(run1((tern_param)TERN_QUERY_ENUM("m", TERN_ENUM_VALUES("x", "y")), "z"),
                "{\"detail\":[{\"type\":\"enum\",\"loc\":[\"query\",\"m\"],"
                "\"msg\":\"Input should be 'x' or 'y'\",\"input\":\"z\","
                "\"ctx\":{\"expected\":\"'x' or 'y'\"}}]}");
    EXPECT_BODY(run1((tern_param)TERN_QUERY_ENUM("m", TERN_ENUM_VALUES("only")), ""),
                "{\"detail\":[{\"type\":\"enum\",\"loc\":[\"query\",\"m\"],"
                "\"msg\":\"Input should be 'only'\",\"input\":\"\","
                "\"ctx\":{\"expected\":\"'only'\"}}]}");
}

/* Values are shown with Python's repr: double quotes around a value holding a '. */
Test(params, enum_values_repr)
{
    tern_param d = TERN_QUERY_ENUM("m", TERN_ENUM_VALUES("it's", "a\\b", "tab\there"));
    EXPECT_BODY(run1(d, "no"),
                "{\"detail\":[{\"type\":\"enum\",\"loc\":[\"query\",\"m\"],"
                "\"msg\":\"Input should be \\\"it's\\\", 'a\\\\\\\\b' or 'tab\\\\there'\","
                "\"input\":\"no\","
                "\"ctx\":{\"expected\":\"\\\"it's\\\", 'a\\\\\\\\b' or 'tab\\\\there'\"}}]}");
}

/* ---- missing, defaults, absent ------------------------------------------------------- */

Test(params, missing_required)
{
    tern_param decls[] = {
        TERN_QUERY_STR("q", TERN_REQUIRED),
        TERN_HEADER_STR("x_token", TERN_REQUIRED),
        TERN_COOKIE_STR("session", TERN_REQUIRED),
        TERN_PATH_INT("item_id"),
    };
    EXPECT_BODY(run(decls, N(decls), NULL, 0),
                "{\"detail\":["
                "{\"type\":\"missing\",\"loc\":[\"path\",\"item_id\"],\"msg\":\"Field required\","
                "\"input\":null},"
                "{\"type\":\"missing\",\"loc\":[\"query\",\"q\"],\"msg\":\"Field required\","
                "\"input\":null},"
                "{\"type\":\"missing\",\"loc\":[\"header\",\"x-token\"],\"msg\":\"Field required\","
                "\"input\":null},"
                "{\"type\":\"missing\",\"loc\":[\"cookie\",\"session\"],\"msg\":\"Field required\","
                "\"input\":null}]}");
    for (size_t i = 0; i < N(decls); i++)
        cr_assert(!vals[i].present);
}

Test(params, absent_optional_is_not_present)
{
    tern_param decls[] = {TERN_QUERY_STR("q"), TERN_QUERY_INT("n"), TERN_HEADER_STR("x_trace")};
    EXPECT_VALID(run(decls, N(decls), NULL, 0));
    for (size_t i = 0; i < N(decls); i++) {
        cr_assert(!vals[i].present);
        cr_assert_null(vals[i].text);
        cr_assert_eq(vals[i].len, 0);
        cr_assert_eq(vals[i].i, 0);
        cr_assert_eq(vals[i].f, 0);
        cr_assert(!vals[i].b);
    }
}

Test(params, defaults_fill_absent_values)
{
    tern_param decls[] = {
        TERN_QUERY_INT("limit", TERN_LE(100), TERN_DEFAULT("10")),
        TERN_QUERY_FLOAT("ratio", TERN_DEFAULT("0.5")),
        TERN_QUERY_BOOL("flag", TERN_DEFAULT("yes")),
        TERN_QUERY_STR("q", TERN_DEFAULT("none")),
        TERN_QUERY_ENUM("m", TERN_ENUM_VALUES("a", "b"), TERN_DEFAULT("b")),
        TERN_HEADER_INT("x_count", TERN_DEFAULT("-3")),
    };
    EXPECT_VALID(run(decls, N(decls), NULL, 0));
    for (size_t i = 0; i < N(decls); i++) {
        cr_assert(vals[i].present, "%zu", i);
        cr_assert_str_eq(vals[i].text, decls[i].default_value);
        cr_assert_eq(vals[i].len, strlen(decls[i].default_value));
    }
    cr_assert_eq(vals[0].i, 10);
    cr_assert_eq(vals[1].f, 0.5);
    cr_assert(vals[2].b);
    cr_assert_eq(vals[5].i, -3);
}

Test(params, given_value_beats_default)
{
    tern_param decls[] = {TERN_QUERY_INT("limit", TERN_LE(100), TERN_DEFAULT("10"))};
    kv table[] = {{TERN_IN_QUERY, "limit", "42", 0}};
    EXPECT_VALID(run(decls, 1, table, 1));
    cr_assert_eq(vals[0].i, 42);
    kv bad[] = {{TERN_IN_QUERY, "limit", "", 0}}; /* present but empty is not absent */
    EXPECT_BODY(run(decls, 1, bad, 1),
                "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"limit\"],"
                "\"msg\":\"Input should be a valid integer, unable to parse string as an "
                "integer\",\"input\":\"\"}]}");
}

/* ---- header names -------------------------------------------------------------------- */

Test(params, header_underscores_become_hyphens)
{
    tern_param decls[] = {TERN_HEADER_STR("x_token", TERN_REQUIRED), TERN_QUERY_STR("x_q"),
                          TERN_COOKIE_STR("my_cookie")};
    kv table[] = {{TERN_IN_HEADER, "X-Token", "secret", 0},
                  {TERN_IN_QUERY, "x_q", "v", 0},
                  {TERN_IN_COOKIE, "my_cookie", "c", 0}};
    EXPECT_VALID(run(decls, N(decls), table, N(table)));
    cr_assert_str_eq(vals[0].text, "secret");
    cr_assert_str_eq(vals[1].text, "v");
    cr_assert_str_eq(vals[2].text, "c");
    cr_assert_eq(last.nasked, 3);
    cr_assert_str_eq(last.asked[0], "query:x_q");
    cr_assert_str_eq(last.asked[1], "header:x-token");
    cr_assert_str_eq(last.asked[2], "cookie:my_cookie");
}

Test(params, header_error_uses_alias)
{
    tern_param decls[] = {TERN_HEADER_INT("x_rate_limit", TERN_GE(1))};
    kv table[] = {{TERN_IN_HEADER, "x-rate-limit", "0", 0}};
    EXPECT_BODY(run(decls, 1, table, 1),
                "{\"detail\":[{\"type\":\"greater_than_equal\","
                "\"loc\":[\"header\",\"x-rate-limit\"],"
                "\"msg\":\"Input should be greater than or equal to 1\",\"input\":\"0\","
                "\"ctx\":{\"ge\":1}}]}");
}

/* A long name takes the arena path of the conversion. */
Test(params, header_long_name)
{
    char name[300], wire[300];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    name[10] = '_';
    memcpy(wire, name, sizeof name);
    wire[10] = '-';
    tern_param decls[] = {TERN_HEADER_STR(name)};
    kv table[] = {{TERN_IN_HEADER, wire, "ok", 0}};
    EXPECT_VALID(run(decls, 1, table, 1));
    cr_assert(vals[0].present);
    cr_assert_str_eq(vals[0].text, "ok");
}

/* ---- several errors at once ---------------------------------------------------------- */

/* FastAPI reports path errors, then query, header and cookie ones, each group in the
 * order of declaration, whatever order the declarations come in. */
Test(params, all_errors_in_fastapi_order)
{
    tern_param decls[] = {
        TERN_QUERY_INT("limit", TERN_LE(100)),     TERN_COOKIE_STR("session", TERN_REQUIRED),
        TERN_QUERY_STR("q", TERN_MAX_LENGTH(3)),   TERN_PATH_INT("item_id", TERN_GE(1)),
        TERN_HEADER_STR("x_token", TERN_REQUIRED), TERN_QUERY_BOOL("flag"),
        TERN_QUERY_FLOAT("ok", TERN_GE(0)),
    };
    kv table[] = {
        {TERN_IN_PATH, "item_id", "abc", 0}, {TERN_IN_QUERY, "limit", "1000", 0},
        {TERN_IN_QUERY, "q", "toolong", 0},  {TERN_IN_QUERY, "flag", "maybe", 0},
        {TERN_IN_QUERY, "ok", "1.5", 0},
    };
    EXPECT_BODY(
        run(decls, N(decls), table, N(table)),
        "{\"detail\":["
        "{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],\"msg\":\"Input should be a "
        "valid integer, unable to parse string as an integer\",\"input\":\"abc\"},"
        "{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"limit\"],\"msg\":\"Input should be "
        "less than or equal to 100\",\"input\":\"1000\",\"ctx\":{\"le\":100}},"
        "{\"type\":\"string_too_long\",\"loc\":[\"query\",\"q\"],\"msg\":\"String should have at "
        "most 3 characters\",\"input\":\"toolong\",\"ctx\":{\"max_length\":3}},"
        "{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"flag\"],\"msg\":\"Input should be a "
        "valid boolean, unable to interpret input\",\"input\":\"maybe\"},"
        "{\"type\":\"missing\",\"loc\":[\"header\",\"x-token\"],\"msg\":\"Field required\","
        "\"input\":null},"
        "{\"type\":\"missing\",\"loc\":[\"cookie\",\"session\"],\"msg\":\"Field required\","
        "\"input\":null}]}");
    cr_assert(vals[6].present);
    cr_assert_eq(vals[6].f, 1.5);
}

Test(params, errors_may_be_null)
{
    tern_param_set set;
    tern_param decls[] = {TERN_QUERY_INT("a"), TERN_QUERY_INT("b", TERN_REQUIRED)};
    cr_assert_eq(tern_param_set_init(&set, decls, 2), 0);
    kv table[] = {{TERN_IN_QUERY, "a", "x", 0}};
    fake f = {.kv = table, .n = 1};
    tern_param_source src = {fake_get, &f, NULL};
    cr_assert_eq(tern_params_check(&set, &src, &arena, vals, NULL), 2);
    tern_param_set_free(&set);
}

Test(params, empty_set)
{
    tern_param_set set;
    cr_assert_eq(tern_param_set_init(&set, NULL, 0), 0);
    json_t *errors = json_array();
    cr_assert_eq(tern_params_check(&set, NULL, &arena, vals, errors), 0);
    cr_assert_eq(json_array_size(errors), 0);
    json_decref(errors);
    tern_param_set_free(&set);
}

Test(params, find)
{
    tern_param_set set;
    tern_param decls[] = {TERN_PATH_INT("id"), TERN_QUERY_STR("q"), TERN_HEADER_STR("x_token")};
    cr_assert_eq(tern_param_set_init(&set, decls, N(decls)), 0);
    cr_assert_eq(tern_param_set_find(&set, "id"), 0);
    cr_assert_eq(tern_param_set_find(&set, "q"), 1);
    cr_assert_eq(tern_param_set_find(&set, "x_token"), 2);
    cr_assert_eq(tern_param_set_find(&set, "nope"), -1);
    tern_param_set_free(&set);
    cr_assert_eq(set.n, 0);
    cr_assert_null(set.decls);
}

/* ---- bad declarations ---------------------------------------------------------------- */

/* init must fail with -EINVAL, name the parameter and leave nothing allocated. */
static void expect_bad(const tern_param *decls, size_t n, const char *want1, const char *want2)
{
    tern_param_set set;
    tern_set_errmsg("%s", "");
    int rc = tern_param_set_init(&set, decls, n);
    cr_assert_eq(rc, -EINVAL, "rc %d for '%s'", rc, want1);
    cr_assert_not_null(strstr(tern_errmsg(), want1), "'%s' lacks '%s'", tern_errmsg(), want1);
    if (want2)
        cr_assert_not_null(strstr(tern_errmsg(), want2), "'%s' lacks '%s'", tern_errmsg(), want2);
    cr_assert_eq(set.n, 0);
    cr_assert_null(set.decls);
    cr_assert_null(set.regexes);
}

#define BAD(want1, want2, ...)                                                                     \
    do {                                                                                           \
        tern_param d_[] = {__VA_ARGS__};                                                           \
        expect_bad(d_, N(d_), want1, want2);                                                       \
    } while (0)

Test(decl, missing_name)
{
    BAD("#1", "no name", TERN_QUERY_INT("ok"), {.in = TERN_IN_QUERY, .type = TERN_T_INT});
    BAD("#0", "no name", TERN_QUERY_INT(""));
}

Test(decl, bad_location_and_type)
{
    BAD("'where'", "location", TERN__PARAM("where", (tern_param_in)9, TERN_T_INT));
    BAD("'what'", "type", TERN__PARAM("what", TERN_IN_QUERY, (tern_param_type)42));
}

Test(decl, constraints_that_do_not_fit_the_type)
{
    BAD("'limit'", "min_length", TERN_QUERY_INT("limit", TERN_MAX_LENGTH(3)));
    BAD("'ratio'", "min_length", TERN_QUERY_FLOAT("ratio", TERN_MIN_LENGTH(1)));
    BAD("'q'", "ge/gt/le/lt", TERN_QUERY_STR("q", TERN_GE(1)));
    BAD("'flag'", "ge/gt/le/lt", TERN_QUERY_BOOL("flag", TERN_LE(1)));
    BAD("'n'", "pattern", TERN_QUERY_INT("n", TERN_PATTERN("^1")));
    BAD("'q'", "enum_values", TERN_QUERY_STR("q", TERN_ENUM_VALUES("a")));
}

Test(decl, bounds_that_nothing_satisfies)
{
    BAD("'n'", "bounds", TERN_QUERY_INT("n", TERN_GE(10), TERN_LE(5)));
    BAD("'n'", "bounds", TERN_QUERY_INT("n", TERN_GT(5), TERN_LT(5)));
    BAD("'x'", "finite", TERN_QUERY_FLOAT("x", TERN_LE(NAN)));
    BAD("'q'", "min_length", TERN_QUERY_STR("q", TERN_MIN_LENGTH(5), TERN_MAX_LENGTH(4)));
    /* equal bounds are satisfiable */
    tern_param_set set;
    tern_param ok[] = {TERN_QUERY_INT("n", TERN_GE(5), TERN_LE(5))};
    cr_assert_eq(tern_param_set_init(&set, ok, 1), 0, "%s", tern_errmsg());
    tern_param_set_free(&set);
}

Test(decl, enum_without_values)
{
    BAD("'m'", "without values", TERN_QUERY_ENUM("m"));
    BAD("'m'", "without values", TERN_QUERY_ENUM("m", .enum_values = (const char *const[]){NULL}));
}

Test(decl, regex_that_does_not_compile)
{
    BAD("'q'", "bad pattern '(a'", TERN_QUERY_STR("q", TERN_PATTERN("(a")));
    BAD("'q'", "bad pattern", TERN_QUERY_STR("q", TERN_PATTERN("a{2,1}")));
    BAD("'q'", "[0-9]", TERN_QUERY_STR("q", TERN_PATTERN("^\\d+$")));
    /* inside brackets a backslash is an ordinary character in POSIX */
    tern_param_set set;
    tern_param ok[] = {TERN_QUERY_STR("q", TERN_PATTERN("^[\\d]+$"))};
    cr_assert_eq(tern_param_set_init(&set, ok, 1), 0, "%s", tern_errmsg());
    tern_param_set_free(&set);
}

Test(decl, duplicates)
{
    BAD("'q'", "twice", TERN_QUERY_STR("q"), TERN_QUERY_INT("n"), TERN_QUERY_INT("q"));
    BAD("'X-Token'", "twice", TERN_HEADER_STR("x_token"), TERN_HEADER_STR("X-Token"));
    /* the same name in different places is fine, as in FastAPI */
    tern_param_set set;
    tern_param ok[] = {TERN_PATH_INT("id"), TERN_QUERY_INT("id"), TERN_COOKIE_STR("id")};
    cr_assert_eq(tern_param_set_init(&set, ok, N(ok)), 0, "%s", tern_errmsg());
    tern_param_set_free(&set);
}

Test(decl, default_that_fails_its_own_validation)
{
    BAD("'limit'", "Input should be less than or equal to 100",
        TERN_QUERY_INT("limit", TERN_LE(100), TERN_DEFAULT("1000")));
    BAD("'limit'", "unable to parse string as an integer",
        TERN_QUERY_INT("limit", TERN_DEFAULT("ten")));
    BAD("'m'", "Input should be 'a' or 'b'",
        TERN_QUERY_ENUM("m", TERN_ENUM_VALUES("a", "b"), TERN_DEFAULT("c")));
    BAD("'q'", "at most 2 characters",
        TERN_QUERY_STR("q", TERN_MAX_LENGTH(2), TERN_DEFAULT("abc")));
    BAD("'q'", "match pattern", TERN_QUERY_STR("q", TERN_PATTERN("^a"), TERN_DEFAULT("b")));
    BAD("'flag'", "boolean", TERN_QUERY_BOOL("flag", TERN_DEFAULT("maybe")));
    BAD("'q'", "UTF-8", TERN_QUERY_STR("q", TERN_DEFAULT("\xFF")));
}

Test(decl, contradictions)
{
    BAD("'id'", "path", TERN_PATH_INT("id", TERN_DEFAULT("1")));
    BAD("'q'", "required", TERN_QUERY_STR("q", TERN_REQUIRED, TERN_DEFAULT("x")));
}

/* A failure after a regex compiled must free it (valgrind and ASan watch this). */
Test(decl, failure_after_compiled_regex)
{
    BAD("'n'", "twice", TERN_QUERY_STR("a", TERN_PATTERN("^a")),
        TERN_QUERY_STR("b", TERN_PATTERN("^b"), TERN_DEFAULT("b")), TERN_QUERY_INT("n"),
        TERN_QUERY_INT("n"));
}

/* ---- message templates --------------------------------------------------------------- */

static char *dump(json_t *j)
{
    cr_assert_not_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

static void expect_entry(json_t *entry, const char *want)
{
    char *s = dump(entry);
    cr_assert_str_eq(s, want);
    free(s);
}

/* As expect_entry, but reals dump with 16 digits, so a ctx of 0.1 reads "0.1" as in
 * FastAPI rather than jansson's default 17-digit "0.10000000000000001". */
static void expect_entry16(json_t *entry, const char *want)
{
    cr_assert_not_null(entry);
    char *s = json_dumps(entry, JSON_COMPACT | JSON_REAL_PRECISION(16));
    json_decref(entry);
    cr_assert_str_eq(s, want);
    free(s);
}

/* Every type of fastapi-errors.md, with its ctx, as FastAPI writes it. */
Test(verr, templates)
{
    static const struct {
        const char *type, *ctx, *msg;
    } cases[] = {
        {"missing", NULL, "Field required"},
        {"int_type", NULL, "Input should be a valid integer"},
        {"int_parsing", NULL,
         "Input should be a valid integer, unable to parse string as an integer"},
        {"int_from_float", NULL,
         "Input should be a valid integer, got a number with a fractional part"},
        {"float_type", NULL, "Input should be a valid number"},
        {"float_parsing", NULL,
         "Input should be a valid number, unable to parse string as a number"},
        {"bool_type", NULL, "Input should be a valid boolean"},
        {"bool_parsing", NULL, "Input should be a valid boolean, unable to interpret input"},
        {"string_type", NULL, "Input should be a valid string"},
        {"string_too_short", "{\"min_length\":2}", "String should have at least 2 characters"},
        {"string_too_short", "{\"min_length\":1}", "String should have at least 1 character"},
        {"string_too_long", "{\"max_length\":50}", "String should have at most 50 characters"},
        {"string_too_long", "{\"max_length\":1}", "String should have at most 1 character"},
        {"string_pattern_mismatch", "{\"pattern\":\"^a\"}", "String should match pattern '^a'"},
        {"greater_than", "{\"gt\":0}", "Input should be greater than 0"},
        {"greater_than", "{\"gt\":0.1}", "Input should be greater than 0.1"},
        {"greater_than_equal", "{\"ge\":1}", "Input should be greater than or equal to 1"},
        {"less_than", "{\"lt\":10.5}", "Input should be less than 10.5"},
        {"less_than_equal", "{\"le\":100}", "Input should be less than or equal to 100"},
        {"multiple_of", "{\"multiple_of\":3}", "Input should be a multiple of 3"},
        {"multiple_of", "{\"multiple_of\":0.25}", "Input should be a multiple of 0.25"},
        {"enum", "{\"expected\":\"'a', 'b' or 'c'\"}", "Input should be 'a', 'b' or 'c'"},
        {"list_type", NULL, "Input should be a valid list"},
        {"dict_type", NULL, "Input should be a valid dictionary"},
        {"model_attributes_type", NULL,
         "Input should be a valid dictionary or object to extract fields from"},
        {"too_short", "{\"field_type\":\"List\",\"min_length\":1,\"actual_length\":0}",
         "List should have at least 1 item after validation, not 0"},
        {"too_short", "{\"field_type\":\"List\",\"min_length\":2,\"actual_length\":1}",
         "List should have at least 2 items after validation, not 1"},
        {"too_long", "{\"field_type\":\"List\",\"max_length\":3,\"actual_length\":5}",
         "List should have at most 3 items after validation, not 5"},
        {"too_long", "{\"field_type\":\"List\",\"max_length\":1,\"actual_length\":2}",
         "List should have at most 1 item after validation, not 2"},
        {"extra_forbidden", NULL, "Extra inputs are not permitted"},
        {"json_invalid", "{\"error\":\"Expecting value\"}", "JSON decode error"},
        {"value_error", "{\"error\":\"bad thing\"}", "Value error, bad thing"},
        {"literal_error", "{\"expected\":\"'x'\"}", "Input should be 'x'"},
        {"finite_number", NULL, "Input should be a finite number"},
        {"string_unicode", NULL,
         "Input should be a valid string, unable to parse raw data as a unicode string"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        json_t *ctx = cases[i].ctx ? json_loads(cases[i].ctx, 0, NULL) : NULL;
        cr_assert(!cases[i].ctx || ctx);
        json_t *e =
            tern_verr_make(cases[i].type, tern_verr_loc(TERN_IN_QUERY, "v"), json_string("x"), ctx);
        char want[1024];
        snprintf(want, sizeof want,
                 "{\"type\":\"%s\",\"loc\":[\"query\",\"v\"],\"msg\":\"%s\",\"input\":\"x\"%s%s}",
                 cases[i].type, cases[i].msg, cases[i].ctx ? ",\"ctx\":" : "",
                 cases[i].ctx ? cases[i].ctx : "");
        expect_entry16(e, want);
    }
}

Test(verr, fastapi_examples)
{
    json_t *missing = tern_verr_make("missing", json_pack("[ss]", "body", "secret_name"),
                                     json_pack("{ss}", "name", "Foo"), NULL);
    expect_entry(missing, "{\"type\":\"missing\",\"loc\":[\"body\",\"secret_name\"],"
                          "\"msg\":\"Field required\",\"input\":{\"name\":\"Foo\"}}");
    json_t *bad = tern_verr_make("json_invalid", json_pack("[si]", "body", 10), json_object(),
                                 json_pack("{ss}", "error", "Expecting value"));
    expect_entry(bad, "{\"type\":\"json_invalid\",\"loc\":[\"body\",10],\"msg\":\"JSON decode "
                      "error\",\"input\":{},\"ctx\":{\"error\":\"Expecting value\"}}");
    json_t *nested =
        tern_verr_make("string_type", json_pack("[ssi]", "body", "tags", 2), json_integer(7), NULL);
    expect_entry(nested, "{\"type\":\"string_type\",\"loc\":[\"body\",\"tags\",2],"
                         "\"msg\":\"Input should be a valid string\",\"input\":7}");
}

Test(verr, entry_as_given)
{
    json_t *e = tern_verr_entry("value_error", tern_verr_loc(TERN_IN_COOKIE, "c"), "Custom",
                                json_null(), json_pack("{ss}", "error", "x"));
    expect_entry(e, "{\"type\":\"value_error\",\"loc\":[\"cookie\",\"c\"],\"msg\":\"Custom\","
                    "\"input\":null,\"ctx\":{\"error\":\"x\"}}");
    expect_entry(tern_verr_body(json_array()), "{\"detail\":[]}");
}

/* Unknown types and missing ctx values give NULL, and still release what they took. */
Test(verr, make_refuses)
{
    cr_assert_null(tern_verr_make("no_such_type", json_array(), json_null(), NULL));
    cr_assert_null(tern_verr_make("greater_than", json_array(), json_null(), NULL));
    cr_assert_null(
        tern_verr_make("greater_than", json_array(), json_null(), json_pack("{ss}", "le", "1")));
    cr_assert_null(
        tern_verr_make("too_short", json_array(), json_null(), json_pack("{si}", "min_length", 1)));
}

Test(verr, location_names)
{
    cr_assert_str_eq(tern_param_in_name(TERN_IN_PATH), "path");
    cr_assert_str_eq(tern_param_in_name(TERN_IN_QUERY), "query");
    cr_assert_str_eq(tern_param_in_name(TERN_IN_HEADER), "header");
    cr_assert_str_eq(tern_param_in_name(TERN_IN_COOKIE), "cookie");
    cr_assert_str_eq(tern_param_in_name((tern_param_in)0), "body");
}

Test(verr, number_format)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {100, "100"},
        {-3, "-3"},
        {0, "0"},
        {-0.0, "0"},
        {2.5, "2.5"},
        {0.1, "0.1"},
        {-0.25, "-0.25"},
        {123.456, "123.456"},
        {1.0 / 3, "0.3333333333333333"},
        {1e-7, "0.0000001"},
        {1.5e-5, "0.000015"},
        {1e16, "10000000000000000"},
        {1e21, "1000000000000000000000"},
        {12345678.9, "12345678.9"},
        {0.30000000000000004, "0.30000000000000004"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char buf[64];
        tern_verr_format_number(cases[i].v, buf, sizeof buf);
        cr_assert_str_eq(buf, cases[i].want, "%.17g", cases[i].v);
    }
    char small[4];
    tern_verr_format_number(123456.5, small, sizeof small);
    cr_assert_str_eq(small, "123"); /* truncated, still terminated */
}

Test(verr, number_json)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {100, "100"}, {-1, "-1"}, {2.5, "2.5"}, {1e15, "1000000000000000"}, {-0.0, "0"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char *s = dump(tern_verr_number(cases[i].v));
        cr_assert_str_eq(s, cases[i].want);
        free(s);
    }
    json_t *big = tern_verr_number(1e19); /* beyond int64: stays a real */
    cr_assert(json_is_real(big));
    json_decref(big);
}
