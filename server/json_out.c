/* server/json_out.c - compact JSON output matching Python's json.dumps. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int_text.h"
#include "json_out.h"

#define MAX_DEPTH 512

static int reserve(tern_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int put(tern_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) < 0)
        return -ENOMEM;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

/* Bytes a JSON string cannot hold as they are: control characters, '"' and '\\'. */
static bool must_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether any of the 8 bytes in w may need escaping, a word at a time (the classic
 * "has a zero byte" / "has a byte below n" tests). A byte of 0x80 or more never counts;
 * a false alarm only sends that word through the byte-wise path. */
static bool word_may_escape(uint64_t w)
{
    uint64_t quote = w ^ (ONES * '"'), bslash = w ^ (ONES * '\\');
    uint64_t hits = ((w - ONES * 0x20) & ~w) | ((quote - ONES) & ~quote) |
                    ((bslash - ONES) & ~bslash);
    return (hits & HIGHS) != 0;
}

/* Where the first byte at or after i that must be escaped is (n when none is). */
static size_t plain_run_end(const char *s, size_t i, size_t n)
{
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (word_may_escape(w))
            break;
    }
    while (i < n && !must_escape((unsigned char)s[i]))
        i++;
    return i;
}

static int put_string(tern_buf *b, const char *s, size_t n)
{
    /* worst case every byte becomes \u00XX */
    if (n > (SIZE_MAX - 2) / 6 || reserve(b, n * 6 + 2) < 0)
        return -ENOMEM;
    char *o = b->p + b->len;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        /* runs of plain bytes (nearly every string is one run) go out in one copy */
        size_t run = plain_run_end(s, i, n);
        memcpy(o, s + i, run - i);
        o += run - i;
        if (run == n)
            break;
        unsigned char c = (unsigned char)s[run];
        i = run + 1;
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default: {
            static const char hex[] = "0123456789abcdef";
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return 0;
}

size_t tern_json_format_double(double v, char *out)
{
    if (v == 0)
        return (size_t)sprintf(out, signbit(v) ? "-0.0" : "0.0");
    /* the fewest significant digits that read back as the same double */
    char sci[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    char digits[20];
    size_t nd = 0;
    const char *p = sci;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    char *o = out;
    if (neg)
        *o++ = '-';
    if (exp >= -4 && exp < 16) { /* Python's repr switches to exponents outside this */
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++)
                *o++ = (size_t)i < nd ? digits[i] : '0';
            *o++ = '.';
            if ((size_t)exp + 1 < nd)
                for (size_t i = (size_t)exp + 1; i < nd; i++)
                    *o++ = digits[i];
            else
                *o++ = '0';
        } else {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -exp - 1; i++)
                *o++ = '0';
            for (size_t i = 0; i < nd; i++)
                *o++ = digits[i];
        }
    } else {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            for (size_t i = 1; i < nd; i++)
                *o++ = digits[i];
        }
        o += sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    *o = '\0';
    return (size_t)(o - out);
}

static int dump(tern_buf *b, const json_t *j, int depth)
{
    if (depth > MAX_DEPTH)
        return -EINVAL;
    char num[40];
    switch (json_typeof(j)) {
    case JSON_NULL:
        return put(b, "null", 4);
    case JSON_TRUE:
        return put(b, "true", 4);
    case JSON_FALSE:
        return put(b, "false", 5);
    case JSON_INTEGER: {
        char *end = num + sizeof num, *p = tern_int_text(json_integer_value(j), end);
        return put(b, p, (size_t)(end - p));
    }
    case JSON_REAL: {
        double v = json_real_value(j);
        if (!isfinite(v))
            return -EINVAL;
        return put(b, num, tern_json_format_double(v, num));
    }
    case JSON_STRING:
        return put_string(b, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        int rc = put(b, "[", 1);
        for (size_t i = 0; rc == 0 && i < json_array_size(j); i++) {
            if (i)
                rc = put(b, ",", 1);
            if (rc == 0)
                rc = dump(b, json_array_get(j, i), depth + 1);
        }
        return rc ? rc : put(b, "]", 1);
    }
    case JSON_OBJECT: {
        int rc = put(b, "{", 1);
        const char *key;
        json_t *v;
        bool first = true;
        /* jansson keeps insertion order: fields come out in the order they were set */
        json_object_foreach((json_t *)j, key, v) {
            if (rc == 0 && !first)
                rc = put(b, ",", 1);
            first = false;
            if (rc == 0)
                rc = put_string(b, key, strlen(key));
            if (rc == 0)
                rc = put(b, ":", 1);
            if (rc == 0)
                rc = dump(b, v, depth + 1);
        }
        return rc ? rc : put(b, "}", 1);
    }
    }
    return -EINVAL;
}

int tern_json_dump(tern_buf *b, const json_t *j)
{
    size_t mark = b->len;
    int rc = dump(b, j, 0);
    if (rc < 0)
        b->len = mark;
    return rc;
}

void tern_buf_free(tern_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
