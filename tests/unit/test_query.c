/* tests/unit/test_query.c - percent-decoding and query-string parsing against what
 * Python's parse_qsl(keep_blank_values=True) gives Starlette, then whole requests: a raw
 * query string through parsing and parameter validation to the 422 body FastAPI sends. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include "arena.h"
#include "param_check.h"
#include "query.h"
#include "validation_error.h"
#include "tern/error.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static tern_arena arena;
static unsigned char first_chunk[512]; /* small, so bigger tests spill into malloc'd chunks */

static void setup(void)
{
    tern_arena_init(&arena, first_chunk, sizeof first_chunk);
}

static void teardown(void)
{
    tern_arena_reset(&arena);
}

TestSuite(decode, .init = setup, .fini = teardown);
TestSuite(query, .init = setup, .fini = teardown);
TestSuite(request, .init = setup, .fini = teardown);

/* ---- tern_percent_decode ---------------------------------------------------------------- */

static void expect_decode(const char *in, bool plus, const char *want, size_t want_len)
{
    size_t n = 12345;
    char *d = tern_percent_decode(&arena, in, strlen(in), plus, &n);
    cr_assert_not_null(d);
    cr_assert_eq(n, want_len, "'%s': length %zu, want %zu", in, n, want_len);
    cr_assert(memcmp(d, want, want_len) == 0, "'%s' -> '%s', want '%s'", in, d, want);
    cr_assert_eq(d[n], '\0', "'%s': not terminated", in);
}

#define DECODE(in, plus, want) expect_decode((in), (plus), (want), sizeof(want) - 1)

Test(decode, escapes)
{
    DECODE("a%20b", true, "a b");
    DECODE("%41%62%63", true, "Abc");
    DECODE("%4a%4A", true, "JJ");
    DECODE("%C3%A9t%C3%A9", true, "\xC3\xA9t\xC3\xA9");
    DECODE("", true, "");
    DECODE("plain", false, "plain");
}

Test(decode, plus_and_2B)
{
    DECODE("a+b", true, "a b");
    DECODE("a+b", false, "a+b");
    DECODE("a%2Bb", true, "a+b");
    DECODE("a%2bb", false, "a+b");
    DECODE("%2B+", true, "+ ");
}

/* Python's unquote keeps a '%' that no two hex digits follow, and goes on after it. */
Test(decode, malformed_escapes_stay)
{
    DECODE("%zz", true, "%zz");
    DECODE("100%", true, "100%");
    DECODE("%", true, "%");
    DECODE("%4", true, "%4");
    DECODE("a%4g", true, "a%4g");
    DECODE("%g4", true, "%g4");
    DECODE("%%41", true, "%A");
    DECODE("%%", true, "%%");
    DECODE("%+41", true, "% 41");
    DECODE("%2", false, "%2");
}

Test(decode, nul_and_high_bytes)
{
    DECODE("a%00b", true, "a\0b");
    DECODE("%FF%fe", true, "\xFF\xFE");
}

Test(decode, length_is_respected)
{
    size_t n;
    char *d = tern_percent_decode(&arena, "ab%41cd", 4, true, &n); /* "ab%4" */
    cr_assert_str_eq(d, "ab%4");
    cr_assert_eq(n, 4);
    d = tern_percent_decode(&arena, NULL, 0, true, NULL);
    cr_assert_str_eq(d, "");
}

/* ---- tern_query_parse ------------------------------------------------------------------------ */

static tern_query parse(const char *qs, size_t max)
{
    tern_query q;
    int rc = tern_query_parse(&arena, qs, qs ? strlen(qs) : 0, max, &q);
    cr_assert_eq(rc, 0);
    return q;
}

static void expect_pair(const tern_query *q, size_t i, const char *name, const char *value)
{
    cr_assert(i < q->n, "pair %zu of %zu", i, q->n);
    cr_assert_str_eq(q->pairs[i].name, name);
    cr_assert_eq(q->pairs[i].name_len, strlen(name));
    cr_assert_str_eq(q->pairs[i].value, value);
    cr_assert_eq(q->pairs[i].value_len, strlen(value));
}

Test(query, pairs_in_order)
{
    tern_query q = parse("a=1&b=x%20y&c", 100);
    cr_assert_eq(q.n, 3);
    expect_pair(&q, 0, "a", "1");
    expect_pair(&q, 1, "b", "x y");
    expect_pair(&q, 2, "c", "");
}

Test(query, empty_pieces_are_skipped)
{
    tern_query q = parse("&&a=1&&b=&", 100);
    cr_assert_eq(q.n, 2);
    expect_pair(&q, 0, "a", "1");
    expect_pair(&q, 1, "b", "");
    cr_assert_eq(parse("&&&", 100).n, 0);
    cr_assert_eq(parse("", 100).n, 0);
    cr_assert_eq(parse(NULL, 100).n, 0);
}

/* parse_qsl keeps pieces with an empty name ("=x"), splits at the first '=' only, and
 * since Python 3.10 does not split on ';'. */
Test(query, odd_pieces)
{
    tern_query q = parse("=x&=&a=b=c&k=1;j=2", 100);
    cr_assert_eq(q.n, 4);
    expect_pair(&q, 0, "", "x");
    expect_pair(&q, 1, "", "");
    expect_pair(&q, 2, "a", "b=c");
    expect_pair(&q, 3, "k", "1;j=2");
}

Test(query, names_and_values_are_decoded)
{
    tern_query q = parse("first+name=Ada+L%2B&%71=%zz&x%3Dy=1&p=%", 100);
    cr_assert_eq(q.n, 4);
    expect_pair(&q, 0, "first name", "Ada L+");
    expect_pair(&q, 1, "q", "%zz");
    expect_pair(&q, 2, "x=y", "1"); /* %3D is data, not a separator */
    expect_pair(&q, 3, "p", "%");
}

Test(query, last_repeated_value_wins)
{
    tern_query q = parse("limit=5&q=a&limit=1000", 100);
    size_t len = 0;
    cr_assert_str_eq(tern_query_get(&q, "limit", &len), "1000");
    cr_assert_eq(len, 4);
    cr_assert_eq(tern_query_count(&q, "limit"), 2);
    cr_assert_eq(tern_query_count(&q, "q"), 1);
    cr_assert_eq(tern_query_count(&q, "nope"), 0);
    cr_assert_null(tern_query_get(&q, "nope", &len));
    cr_assert_str_eq(tern_query_get(&q, "q", NULL), "a");
}

Test(query, decoded_nul_in_name)
{
    tern_query q = parse("a%00b=1&a=2", 100);
    cr_assert_eq(q.n, 2);
    cr_assert_eq(q.pairs[0].name_len, 3);
    cr_assert_str_eq(tern_query_get(&q, "a", NULL), "2");
    cr_assert_eq(tern_query_count(&q, "a"), 1);
}

Test(query, max_pairs)
{
    tern_query q = parse("a=1&b=2&c=3&a=4", 2);
    cr_assert_eq(q.n, 2);
    expect_pair(&q, 1, "b", "2");
    cr_assert_str_eq(tern_query_get(&q, "a", NULL), "1"); /* the later a=4 was dropped */
    cr_assert_eq(parse("a=1", 0).n, 0);
    /* empty pieces do not use up the budget */
    q = parse("&&&&a=1&&&&b=2", 2);
    cr_assert_eq(q.n, 2);
}

Test(query, many_pairs_spill_out_of_the_first_chunk)
{
    char qs[8192];
    size_t o = 0;
    for (int i = 0; i < 500; i++)
        o += (size_t)snprintf(qs + o, sizeof qs - o, "%sk%d=v%d", i ? "&" : "", i, i);
    tern_query q = parse(qs, 1000);
    cr_assert_eq(q.n, 500);
    cr_assert_str_eq(tern_query_get(&q, "k0", NULL), "v0");
    cr_assert_str_eq(tern_query_get(&q, "k499", NULL), "v499");
    cr_assert_str_eq(q.pairs[250].name, "k250");
}

/* ---- whole requests: query string to 422 body ------------------------------------------------ */

/* The source a request would build: query parameters from the parsed query string. */
static const char *query_get(void *ctx, tern_param_in in, const char *name, size_t *len)
{
    return in == TERN_IN_QUERY ? tern_query_get(ctx, name, len) : NULL;
}

static tern_param_value vals[8];
static char body[4096];

/* GET ?qs against decls: the dumped 422 body, or "" when the request is valid. */
static const char *request(const tern_param *decls, size_t n, const char *qs)
{
    tern_param_set set;
    cr_assert_eq(tern_param_set_init(&set, decls, n), 0);
    tern_query q = parse(qs, 100);
    tern_param_source src = {query_get, &q, NULL};
    json_t *errors = json_array();
    size_t nerr = tern_params_check(&set, &src, &arena, vals, errors);
    json_t *b = tern_verr_body(errors);
    body[0] = '\0';
    if (nerr) {
        char *s = json_dumps(b, JSON_COMPACT);
        snprintf(body, sizeof body, "%s", s);
        free(s);
    }
    json_decref(b);
    tern_param_set_free(&set);
    return body;
}

Test(request, heroes_limit)
{
    tern_param decls[] = {TERN_QUERY_INT("offset", TERN_DEFAULT("0")),
                          TERN_QUERY_INT("limit", TERN_LE(100), TERN_DEFAULT("100"))};
    cr_assert_str_eq(request(decls, N(decls), "limit=1000"),
                     "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"limit\"],"
                     "\"msg\":\"Input should be less than or equal to 100\",\"input\":\"1000\","
                     "\"ctx\":{\"le\":100}}]}");
    cr_assert_str_eq(request(decls, N(decls), "offset=20&limit=5"), "");
    cr_assert_eq(vals[0].i, 20);
    cr_assert_eq(vals[1].i, 5);
    cr_assert_str_eq(request(decls, N(decls), ""), "");
    cr_assert_eq(vals[1].i, 100);
}

Test(request, repeated_name_last_wins)
{
    tern_param decls[] = {TERN_QUERY_INT("limit", TERN_LE(100))};
    cr_assert_str_eq(request(decls, 1, "limit=1000&limit=5"), "");
    cr_assert_eq(vals[0].i, 5);
    cr_assert_str_eq(request(decls, 1, "limit=5&limit=1000"),
                     "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"limit\"],"
                     "\"msg\":\"Input should be less than or equal to 100\",\"input\":\"1000\","
                     "\"ctx\":{\"le\":100}}]}");
}

Test(request, malformed_escape_reaches_the_handler_as_written)
{
    tern_param decls[] = {TERN_QUERY_STR("q", TERN_MAX_LENGTH(2))};
    cr_assert_str_eq(request(decls, 1, "q=%zz"),
                     "{\"detail\":[{\"type\":\"string_too_long\",\"loc\":[\"query\",\"q\"],"
                     "\"msg\":\"String should have at most 2 characters\",\"input\":\"%zz\","
                     "\"ctx\":{\"max_length\":2}}]}");
    cr_assert_str_eq(request(decls, 1, "q=5%"), "");
    cr_assert_str_eq(vals[0].text, "5%");
}

Test(request, plus_is_space_2B_is_plus)
{
    tern_param decls[] = {TERN_QUERY_STR("q")};
    cr_assert_str_eq(request(decls, 1, "q=a+b%2Bc"), "");
    cr_assert_str_eq(vals[0].text, "a b+c");
    tern_param num[] = {TERN_QUERY_INT("n")};
    cr_assert_str_eq(request(num, 1, "n=%2B5"), ""); /* "+5" */
    cr_assert_eq(vals[0].i, 5);
    cr_assert_str_eq(request(num, 1, "n=+5"), ""); /* " 5": a space, trimmed */
    cr_assert_eq(vals[0].i, 5);
}

/* "?flag" has an empty value, which is not a boolean; "?&&" leaves q missing. */
Test(request, no_equals_and_empty_pieces)
{
    tern_param decls[] = {TERN_QUERY_BOOL("flag"), TERN_QUERY_STR("q", TERN_REQUIRED)};
    cr_assert_str_eq(request(decls, N(decls), "flag&&q="),
                     "{\"detail\":[{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"flag\"],"
                     "\"msg\":\"Input should be a valid boolean, unable to interpret input\","
                     "\"input\":\"\"}]}");
    cr_assert(vals[1].present);
    cr_assert_str_eq(vals[1].text, "");
    cr_assert_str_eq(request(decls, N(decls), "&&"),
                     "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"query\",\"q\"],"
                     "\"msg\":\"Field required\",\"input\":null}]}");
}

/* %FF is not UTF-8: Starlette's unquote makes it U+FFFD, one character. */
Test(request, invalid_utf8_escape)
{
    tern_param decls[] = {TERN_QUERY_STR("q", TERN_MIN_LENGTH(2))};
    cr_assert_str_eq(request(decls, 1, "q=%FF"),
                     "{\"detail\":[{\"type\":\"string_too_short\",\"loc\":[\"query\",\"q\"],"
                     "\"msg\":\"String should have at least 2 characters\","
                     "\"input\":\"\xEF\xBF\xBD\",\"ctx\":{\"min_length\":2}}]}");
    cr_assert_str_eq(request(decls, 1, "q=%C3%A9%C3%A9"), "");
    cr_assert_str_eq(vals[0].text, "\xC3\xA9\xC3\xA9");
}

Test(request, several_errors)
{
    tern_param decls[] = {
        TERN_QUERY_INT("page", TERN_GE(1)),
        TERN_QUERY_FLOAT("price", TERN_GT(0)),
        TERN_QUERY_BOOL("active"),
        TERN_QUERY_STR("sort", TERN_PATTERN("^(asc|desc)$")),
        TERN_QUERY_STR("token", TERN_REQUIRED),
    };
    cr_assert_str_eq(
        request(decls, N(decls), "page=0&price=abc&active=perhaps&sort=up"),
        "{\"detail\":["
        "{\"type\":\"greater_than_equal\",\"loc\":[\"query\",\"page\"],\"msg\":\"Input should "
        "be greater than or equal to 1\",\"input\":\"0\",\"ctx\":{\"ge\":1}},"
        "{\"type\":\"float_parsing\",\"loc\":[\"query\",\"price\"],\"msg\":\"Input should be a "
        "valid number, unable to parse string as a number\",\"input\":\"abc\"},"
        "{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"active\"],\"msg\":\"Input should be a "
        "valid boolean, unable to interpret input\",\"input\":\"perhaps\"},"
        "{\"type\":\"string_pattern_mismatch\",\"loc\":[\"query\",\"sort\"],\"msg\":\"String "
        "should match pattern '^(asc|desc)$'\",\"input\":\"up\",\"ctx\":{\"pattern\":"
        "\"^(asc|desc)$\"}},"
        "{\"type\":\"missing\",\"loc\":[\"query\",\"token\"],\"msg\":\"Field required\","
        "\"input\":null}]}");
}

/* ---- list parameters (List[X] = Query()): every repeat is an item ----------------------- */

static const char *query_nth(void *ctx, tern_param_in in, const char *name, size_t i, size_t *len)
{
    return in == TERN_IN_QUERY ? tern_query_nth(ctx, name, i, len) : NULL;
}

static char list_out[1024];

/* GET ?qs against one list declaration: the 422 body, or the typed list ("absent"). */
static const char *request_list(const tern_param *decl, const char *qs)
{
    tern_param_set set;
    cr_assert_eq(tern_param_set_init(&set, decl, 1), 0, "%s", tern_errmsg());
    tern_query q = parse(qs, 100);
    tern_param_source src = {query_get, &q, query_nth};
    json_t *errors = json_array();
    size_t nerr = tern_params_check(&set, &src, &arena, vals, errors);
    json_t *b = tern_verr_body(errors);
    char *s = nerr ? json_dumps(b, JSON_COMPACT)
                   : vals[0].list ? json_dumps(vals[0].list, JSON_COMPACT) : strdup("absent");
    cr_assert(!nerr || !vals[0].list, "no list when it failed");
    snprintf(list_out, sizeof list_out, "%s", s);
    free(s);
    json_decref(vals[0].list);
    json_decref(b);
    tern_param_set_free(&set);
    return list_out;
}

Test(request, list_items_are_typed_in_order)
{
    tern_param d = TERN_QUERY_INT_LIST("tag");
    cr_assert_str_eq(request_list(&d, "tag=3&x=1&tag=%2B1&tag=2"), "[3,1,2]");
    cr_assert_str_eq(request_list(&d, ""), "absent");
    tern_param b = TERN_QUERY_BOOL_LIST("on");
    cr_assert_str_eq(request_list(&b, "on=yes&on=0"), "[true,false]");
    tern_param s = TERN_QUERY_STR_LIST("q", TERN_MAX_LENGTH(5));
    cr_assert_str_eq(request_list(&s, "q=a+b&q=c"), "[\"a b\",\"c\"]");
}

Test(request, list_item_errors_carry_their_index)
{
    tern_param d = TERN_QUERY_INT_LIST("tag", TERN_LE(10));
    cr_assert_str_eq(request_list(&d, "tag=1&tag=x&tag=11"),
                     "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"tag\",1],\"msg\":"
                     "\"Input should be a valid integer, unable to parse string as an integer\","
                     "\"input\":\"x\"},{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"tag\",2],"
                     "\"msg\":\"Input should be less than or equal to 10\",\"input\":\"11\","
                     "\"ctx\":{\"le\":10}}]}");
}

Test(request, list_lengths_bound_the_items)
{
    tern_param d = TERN_QUERY_STR_LIST("q", TERN_MIN_LENGTH(2), TERN_MAX_LENGTH(3));
    cr_assert_str_eq(request_list(&d, "q=a&q=bb&q=c&q=d"),
                     "{\"detail\":[{\"type\":\"too_long\",\"loc\":[\"query\",\"q\"],\"msg\":\"List "
                     "should have at most 3 items after validation, not 4\",\"input\":[\"a\",\"bb\","
                     "\"c\",\"d\"],\"ctx\":{\"field_type\":\"List\",\"max_length\":3,"
                     "\"actual_length\":4}}]}");
    cr_assert_str_eq(request_list(&d, "q=a"),
                     "{\"detail\":[{\"type\":\"too_short\",\"loc\":[\"query\",\"q\"],\"msg\":\"List "
                     "should have at least 2 items after validation, not 1\",\"input\":[\"a\"],"
                     "\"ctx\":{\"field_type\":\"List\",\"min_length\":2,\"actual_length\":1}}]}");
    cr_assert_str_eq(request_list(&d, "q=abcdef&q=b"), "[\"abcdef\",\"b\"]",
                     "lengths count items, not characters");
}

Test(request, required_list)
{
    tern_param d = TERN_QUERY_INT_LIST("id", TERN_REQUIRED);
    cr_assert_str_eq(request_list(&d, "x=1"),
                     "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"query\",\"id\"],\"msg\":\"Field "
                     "required\",\"input\":null}]}");
}

Test(request, bad_list_declarations)
{
    tern_param_set set;
    tern_param path = {.name = "id", .in = TERN_IN_PATH, .type = TERN_T_INT, .required = true,
                       .many = true};
    cr_assert_eq(tern_param_set_init(&set, &path, 1), -EINVAL);
    cr_assert(strstr(tern_errmsg(), "only query parameters can be lists") != NULL);
    tern_param def = TERN_QUERY_INT_LIST("id", TERN_DEFAULT("1"));
    cr_assert_eq(tern_param_set_init(&set, &def, 1), -EINVAL);
    cr_assert(strstr(tern_errmsg(), "cannot have a default") != NULL);
}
