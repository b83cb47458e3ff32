/* tests/unit/test_json_out.c - JSON text as FastAPI (Python's json.dumps with compact
 * separators, ensure_ascii=False) writes it. Expected strings are Python's output. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json_out.h"

static void expect_double(double v, const char *want)
{
    char buf[40];
    size_t n = tern_json_format_double(v, buf);
    cr_expect_str_eq(buf, want, "repr(%.17g)", v);
    cr_expect_eq(n, strlen(want));
}

Test(json_out, floats_print_like_python_repr)
{
    expect_double(0.1, "0.1");
    expect_double(1.0, "1.0");
    expect_double(-2.5, "-2.5");
    expect_double(100.0, "100.0");
    expect_double(0.0, "0.0");
    expect_double(-0.0, "-0.0");
    expect_double(1e16, "1e+16");
    expect_double(1e15, "1000000000000000.0");
    expect_double(123456789.125, "123456789.125");
    expect_double(0.0001, "0.0001");
    expect_double(0.00001, "1e-05");
    expect_double(1.5e-7, "1.5e-07");
    expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_double(5e-324, "5e-324");
    expect_double(0.30000000000000004, "0.30000000000000004");
    expect_double(2.0 / 3.0, "0.6666666666666666");
}

static void expect_dump(json_t *j, const char *want)
{
    tern_buf b = {0};
    cr_assert_eq(tern_json_dump(&b, j), 0);
    cr_expect_eq(b.len, strlen(want));
    cr_expect(b.len == strlen(want) && memcmp(b.p, want, b.len) == 0, "got %.*s, want %s",
              (int)b.len, b.p, want);
    tern_buf_free(&b);
    json_decref(j);
}

Test(json_out, compact_with_insertion_order)
{
    expect_dump(json_pack("{s:i,s:s,s:n,s:b,s:[i,f,s]}", "id", 5, "name", "x", "q", "ok", 1,
                          "list", 1, 0.5, "a"),
                "{\"id\":5,\"name\":\"x\",\"q\":null,\"ok\":true,\"list\":[1,0.5,\"a\"]}");
    expect_dump(json_object(), "{}");
    expect_dump(json_array(), "[]");
    expect_dump(json_integer(-9223372036854775807LL - 1), "-9223372036854775808");
}

Test(json_out, strings_escape_what_json_needs_and_keep_utf8)
{
    expect_dump(json_string("a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
    expect_dump(json_string("フレームワーク ü"), "\"フレームワーク ü\"");
    expect_dump(json_string("<script>&'"), "\"<script>&'\"");
    expect_dump(json_stringn("a\0b", 3), "\"a\\u0000b\"");
}

/* Python's escaping of one byte, the slow obvious way: the reference below. */
static size_t ref_escape(unsigned char c, char *o)
{
    switch (c) {
    case '"': return (size_t)sprintf(o, "\\\"");
    case '\\': return (size_t)sprintf(o, "\\\\");
    case '\n': return (size_t)sprintf(o, "\\n");
    case '\r': return (size_t)sprintf(o, "\\r");
    case '\t': return (size_t)sprintf(o, "\\t");
    case '\b': return (size_t)sprintf(o, "\\b");
    case '\f': return (size_t)sprintf(o, "\\f");
    default:
        if (c < 0x20)
            return (size_t)sprintf(o, "\\u%04x", c);
        *o = (char)c;
        return 1;
    }
}

/* The writer scans 8 bytes at a time: every byte value, at every offset of strings of
 * every length up to three words and a tail, must come out as the byte-wise reference. */
Test(json_out, every_byte_at_every_offset_escapes_like_the_reference)
{
    char in[40], want[40 * 6 + 3];
    for (size_t len = 1; len <= sizeof in; len++) {
        for (size_t at = 0; at < len; at++) {
            for (int c = 0; c < 256; c++) {
                for (size_t i = 0; i < len; i++)
                    in[i] = (char)(i == at ? c : 'a' + (char)(i % 26));
                size_t o = 0;
                want[o++] = '"';
                for (size_t i = 0; i < len; i++)
                    o += ref_escape((unsigned char)in[i], want + o);
                want[o++] = '"';
                want[o] = '\0';
                json_t *j = json_stringn_nocheck(in, len);
                tern_buf b = {0};
                int rc = tern_json_dump(&b, j);
                json_decref(j);
                cr_assert_eq(rc, 0);
                cr_assert(b.len == o && memcmp(b.p, want, o) == 0,
                          "len %zu, byte 0x%02x at %zu: %.*s, want %s", len, c, at, (int)b.len,
                          b.p, want);
                tern_buf_free(&b);
            }
        }
    }
}

Test(json_out, nan_and_infinity_are_refused)
{
    tern_buf b = {0};
    json_t *j = json_pack("{s:f}", "x", 1.0);
    /* jansson itself refuses to store NaN; an infinity from arithmetic gets the same */
    json_real_set(json_object_get(j, "x"), INFINITY);
    if (!isfinite(json_real_value(json_object_get(j, "x")))) {
        cr_expect_eq(tern_json_dump(&b, j), -EINVAL);
        cr_expect_eq(b.len, 0, "a failed dump leaves the buffer as it was");
    }
    json_decref(j);
    tern_buf_free(&b);
}

Test(json_out, nesting_limit)
{
    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < 600; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    tern_buf b = {0};
    cr_expect_eq(tern_json_dump(&b, root), -EINVAL);
    json_decref(root);
    tern_buf_free(&b);
}
