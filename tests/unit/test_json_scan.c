/* tests/unit/test_json_scan.c - the pre-scan of JSON bodies against Python's json
 * module: every expected message and character offset below is what
 * json.loads(body_bytes) raised for the same bytes (CPython 3.11, C scanner), so
 * FastAPI's json_invalid entries match. Also the depth and value-count limits. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

typedef struct jcase {
    const char *text;
    const char *msg; /* "OK" when Python parses it */
    size_t pos;
} jcase;

static const jcase python_cases[] = {
    {"", "Expecting value", 0},
    {"   ", "Expecting value", 3},
    {"{", "Expecting property name enclosed in double quotes", 1},
    {"{\"a\"", "Expecting ':' delimiter", 4},
    {"{\"a\":", "Expecting value", 5},
    {"{\"a\":1,}", "Expecting property name enclosed in double quotes", 7},
    {"[1,]", "Expecting value", 3},
    {"[1 2]", "Expecting ',' delimiter", 3},
    {"\"abc", "Unterminated string starting at", 0},
    {"{\"a\":1} x", "Extra data", 8},
    {"tru", "Expecting value", 0},
    {"nul", "Expecting value", 0},
    {"falsey", "Extra data", 5},
    {"\"a\\qb\"", "Invalid \\escape", 2},
    {"\"\\u12\"", "Invalid \\uXXXX escape", 2},
    {"\"ab\\u12zz\"", "Invalid \\uXXXX escape", 4},
    {"\"a\x01\"", "Invalid control character at", 2},
    {"01", "Extra data", 1},
    {"[01]", "Expecting ',' delimiter", 2},
    {"1.", "Extra data", 1},
    {"1.5e", "Extra data", 3},
    {"-", "Expecting value", 0},
    {"-x", "Expecting value", 0},
    {"{1:2}", "Expecting property name enclosed in double quotes", 1},
    {"{\"a\" 1}", "Expecting ':' delimiter", 5},
    {"[", "Expecting value", 1},
    {"\"\\", "Unterminated string starting at", 0},
    {"[1,2", "Expecting ',' delimiter", 4},
    {"{\"a\":1", "Expecting ',' delimiter", 6},
    {"{\"\xc3\xa9\xc3\xa9\":x}", "Expecting value", 6}, /* characters, not bytes */
    {"[\"\xe2\x82\xac\", }", "Expecting value", 6},
    {"{\"a\":[1,{\"b\":tru}]}", "Expecting value", 13},
    {"\"\\ud800\\u12x4\"", "Invalid \\uXXXX escape", 8},
    {"[1e5, -0.5E-3, 0]", "OK", 0},
    {"{\"k\": \"v\"}  \n", "OK", 0},
    {"{} {}", "Extra data", 3},
    {"\xef\xbb\xbf{}", "OK", 0},
    {"[\"\\ud83d\\ude00\"]", "OK", 0},
    {"\"\\u1234", "Invalid \\uXXXX escape", 2},
    {"nan", "Expecting value", 0},
    {"\"a\\\"b\"", "OK", 0},
};

Test(json_scan, messages_and_offsets_match_python)
{
    for (size_t i = 0; i < sizeof python_cases / sizeof python_cases[0]; i++) {
        const jcase *c = &python_cases[i];
        tern_jscan r;
        tern_jscan_status st = tern_json_scan(c->text, strlen(c->text), 64, 1000, &r);
        if (strcmp(c->msg, "OK") == 0) {
            cr_expect_eq(st, TERN_JSCAN_OK, "case %zu '%s': %s at %zu", i, c->text,
                         r.msg ? r.msg : "-", r.pos);
            continue;
        }
        cr_expect_eq(st, TERN_JSCAN_SYNTAX, "case %zu '%s' passed", i, c->text);
        cr_expect_str_eq(r.msg ? r.msg : "(none)", c->msg, "case %zu '%s'", i, c->text);
        cr_expect_eq(r.pos, c->pos, "case %zu '%s': at %zu, Python says %zu", i, c->text, r.pos,
                     c->pos);
    }
}

/* The checked-in corpus: hex bytes, Python's message, Python's offset per line. */
static FILE *open_corpus(void)
{
    char path[4096];
    const char *root = getenv("TERN_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/tests/unit/data/json/python_cases.tsv", root ? root : ".");
    return fopen(path, "r");
}

Test(json_scan, random_bodies_match_python)
{
    FILE *f = open_corpus();
    cr_assert_not_null(f, "tests/unit/data/json/python_cases.tsv not found (TERN_SOURCE_ROOT?)");
    char line[4096], body[2048];
    int n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char *msg = strchr(line, '\t'), *pos = msg ? strchr(msg + 1, '\t') : NULL;
        cr_assert_not_null(pos, "malformed corpus line %d", n);
        *msg++ = '\0';
        *pos++ = '\0';
        size_t len = strlen(line) / 2;
        for (size_t i = 0; i < len; i++) {
            unsigned v;
            sscanf(line + 2 * i, "%2x", &v);
            body[i] = (char)v;
        }
        tern_jscan r;
        bool ok = tern_json_scan(body, len, 1000, 100000, &r) == TERN_JSCAN_OK;
        const char *got = ok ? "OK" : r.msg;
        size_t at = ok ? 0 : r.pos;
        if (strcmp(got, msg) != 0 || at != strtoul(pos, NULL, 10))
            cr_expect(bad++ > 5, "'%.*s': Python %s at %s, tern %s at %zu", (int)len, body, msg,
                      pos, got, at);
        n++;
    }
    fclose(f);
    cr_assert_eq(bad, 0, "%d of %d bodies differ from Python", bad, n);
    cr_assert_gt(n, 500);
}

/* A NUL byte after a backslash is no escape (Python: "Invalid \\escape" at the
 * backslash); it once passed the scan and reached jansson, whose message came out. */
Test(json_scan, backslash_nul_is_an_invalid_escape)
{
    tern_jscan r;
    cr_assert_eq(tern_json_scan("\"a\\\0b\"", 6, 64, 100, &r), TERN_JSCAN_SYNTAX);
    cr_assert_str_eq(r.msg, "Invalid \\escape");
    cr_assert_eq(r.pos, 2);
    cr_assert_eq(tern_json_scan("{\"k\\\0\":1}", 9, 64, 100, &r), TERN_JSCAN_SYNTAX);
    cr_assert_str_eq(r.msg, "Invalid \\escape");
    cr_assert_eq(r.pos, 3);
}

/* Python accepts NaN and Infinity; jansson cannot represent them, so tern refuses them
 * where the value starts (a documented difference). */
Test(json_scan, nan_and_infinity_are_refused)
{
    tern_jscan r;
    cr_assert_eq(tern_json_scan("[NaN]", 5, 64, 100, &r), TERN_JSCAN_SYNTAX);
    cr_assert_str_eq(r.msg, "Expecting value");
    cr_assert_eq(r.pos, 1);
    cr_assert_eq(tern_json_scan("{\"a\":-Infinity}", 15, 64, 100, &r), TERN_JSCAN_SYNTAX);
    cr_assert_eq(r.pos, 5);
}

Test(json_scan, invalid_utf8_is_reported_at_its_character)
{
    tern_jscan r;
    const char *t = "{\"\xc3\xa9\":\"a\xff\"}"; /* é is one character */
    cr_assert_eq(tern_json_scan(t, strlen(t), 64, 100, &r), TERN_JSCAN_SYNTAX);
    cr_assert_str_eq(r.msg, "Invalid UTF-8");
    cr_assert_eq(r.pos, 7);
    const char *overlong = "\"\xc0\xaf\"";
    cr_assert_eq(tern_json_scan(overlong, strlen(overlong), 64, 100, &r), TERN_JSCAN_SYNTAX);
    cr_assert_eq(r.pos, 1);
}

Test(json_scan, bom_is_skipped_like_python)
{
    tern_jscan r;
    const char *t = "\xef\xbb\xbf[1,]";
    cr_assert_eq(tern_json_scan(t, strlen(t), 64, 100, &r), TERN_JSCAN_SYNTAX);
    cr_assert_eq(r.skip, 3);
    cr_assert_eq(r.pos, 3, "offset counts from after the BOM, as Python's decoded text");
}

Test(json_scan, depth_limit)
{
    char buf[300];
    tern_jscan r;
    /* 64 nested arrays pass a limit of 64; 65 do not */
    memset(buf, '[', 64);
    memset(buf + 64, ']', 64);
    cr_assert_eq(tern_json_scan(buf, 128, 64, 1000, &r), TERN_JSCAN_OK);
    memset(buf, '[', 65);
    memset(buf + 65, ']', 65);
    cr_assert_eq(tern_json_scan(buf, 130, 64, 1000, &r), TERN_JSCAN_DEPTH);
    /* objects count too, and the limit applies even to a truncated body */
    const char *objs = "{\"a\":{\"a\":{\"a\":{";
    cr_assert_eq(tern_json_scan(objs, strlen(objs), 3, 1000, &r), TERN_JSCAN_DEPTH);
    cr_assert_eq(tern_json_scan(objs, strlen(objs), 4, 1000, &r), TERN_JSCAN_SYNTAX);
}

Test(json_scan, depth_beyond_the_compiled_maximum_is_capped)
{
    static char buf[2 * (TERN_JSON_DEPTH_MAX + 1)];
    memset(buf, '[', TERN_JSON_DEPTH_MAX + 1);
    memset(buf + TERN_JSON_DEPTH_MAX + 1, ']', TERN_JSON_DEPTH_MAX + 1);
    tern_jscan r;
    cr_assert_eq(tern_json_scan(buf, sizeof buf, (size_t)-1, (size_t)-1, &r), TERN_JSCAN_DEPTH);
}

Test(json_scan, item_limit_counts_values_and_keys)
{
    tern_jscan r;
    /* the array, three numbers: 4 values */
    cr_assert_eq(tern_json_scan("[1,2,3]", 7, 64, 4, &r), TERN_JSCAN_OK);
    cr_assert_eq(tern_json_scan("[1,2,3]", 7, 64, 3, &r), TERN_JSCAN_ITEMS);
    /* the object, a key, a value: 3 */
    cr_assert_eq(tern_json_scan("{\"a\":1}", 7, 64, 3, &r), TERN_JSCAN_OK);
    cr_assert_eq(tern_json_scan("{\"a\":1}", 7, 64, 2, &r), TERN_JSCAN_ITEMS);
}
