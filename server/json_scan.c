/* server/json_scan.c - a single pass over a request body before any JSON is built.
 *
 * Why not just ask jansson: FastAPI answers a broken body with json_invalid carrying
 * Python's own decoder message and the character offset it stopped at ("Expecting ','
 * delimiter" at 12). jansson's messages and byte positions differ, so this scanner
 * walks the text the way CPython's _json scanner does and reports what it would. The
 * same pass counts nesting and values, so a hostile body is refused before jansson
 * allocates a node for it.
 *
 * Python's rules followed here: whitespace is space, tab, CR, LF; numbers match
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? and whatever follows a shorter match
 * is left for the next token ("01" is "Extra data" at 1); strings refuse raw control
 * characters; escapes are checked as Python does, including where it reports them.
 * Differences, kept on purpose: NaN, Infinity and -Infinity (Python extensions, which
 * jansson cannot hold) give "Expecting value"; ill-formed UTF-8 gives json_invalid with
 * "Invalid UTF-8" where FastAPI would answer 400. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "json_scan.h"
#include "scalar_check.h"

typedef struct scan {
    const unsigned char *s;
    size_t len;
    size_t items, max_items;
    tern_jscan *out;
} scan;

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const scan *sc, size_t i)
{
    while (i < sc->len && is_ws(sc->s[i]))
        i++;
    return i;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Characters before byte offset b (the text is well-formed UTF-8 by now). */
static size_t char_pos(const scan *sc, size_t b)
{
    return tern__utf8_count((const char *)sc->s, b);
}

static tern_jscan_status fail_at(scan *sc, const char *msg, size_t byte_pos)
{
    sc->out->status = TERN_JSCAN_SYNTAX;
    sc->out->msg = msg;
    sc->out->pos = char_pos(sc, byte_pos);
    return TERN_JSCAN_SYNTAX;
}

static bool count_item(scan *sc)
{
    if (++sc->items <= sc->max_items)
        return true;
    sc->out->status = TERN_JSCAN_ITEMS;
    return false;
}

/* The value of 4 hex digits at s[i..i+4), or -1 (the caller checked they exist). */
static long hex4(const unsigned char *s, size_t i)
{
    long v = 0;
    for (size_t k = i; k < i + 4; k++) {
        if (!is_hex(s[k]))
            return -1;
        v = v * 16 + (is_digit(s[k]) ? s[k] - '0' : (s[k] | 0x20) - 'a' + 10);
    }
    return v;
}

/* A string whose opening quote is at q; *end gets the offset after its closing quote.
 * Positions of errors are CPython's scanstring_unicode's. */
static tern_jscan_status scan_string(scan *sc, size_t q, size_t *end)
{
    const unsigned char *s = sc->s;
    size_t i = q + 1;
    for (;;) {
        while (i < sc->len && s[i] != '"' && s[i] != '\\') {
            if (s[i] <= 0x1f)
                return fail_at(sc, "Invalid control character at", i);
            i++;
        }
        if (i >= sc->len || (s[i] == '\\' && i + 1 >= sc->len))
            return fail_at(sc, "Unterminated string starting at", q);
        if (s[i] == '"') {
            *end = i + 1;
            return TERN_JSCAN_OK;
        }
        unsigned char c = s[i + 1];
        if (c != 'u') {
            /* c == 0 first: strchr would find the list's own terminator */
            if (c == '\0' || !strchr("\"\\/bfnrt", c))
                return fail_at(sc, "Invalid \\escape", i);
            i += 2;
            continue;
        }
        size_t h = i + 2; /* first hex digit */
        if (h + 4 >= sc->len)
            return fail_at(sc, "Invalid \\uXXXX escape", h - 1);
        long cp = hex4(s, h);
        if (cp < 0)
            return fail_at(sc, "Invalid \\uXXXX escape", h - 1);
        i = h + 4;
        /* A high surrogate swallows a following \uXXXX; a bad digit there is reported
         * at its 'u'. When the second is not a low surrogate it is scanned again. */
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < sc->len && s[i] == '\\' && s[i + 1] == 'u') {
            long lo = hex4(s, i + 2);
            if (lo < 0)
                return fail_at(sc, "Invalid \\uXXXX escape", i + 1);
            if (lo >= 0xDC00 && lo <= 0xDFFF)
                i += 6;
        }
    }
}

/* A number at i (s[i] is '-' or a digit); 0 when none matches (Python's StopIteration). */
static size_t scan_number(const scan *sc, size_t i)
{
    const unsigned char *s = sc->s;
    size_t start = i;
    if (s[i] == '-' && ++i >= sc->len)
        return 0;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < sc->len && is_digit(s[i]))
            i++;
    else
        return 0;
    if (i + 1 < sc->len && s[i] == '.' && is_digit(s[i + 1]))
        for (i += 2; i < sc->len && is_digit(s[i]);)
            i++;
    if (i + 1 < sc->len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = i++;
        if (i < sc->len && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t digits = i;
        while (i < sc->len && is_digit(s[i]))
            i++;
        if (i == digits)
            i = e; /* "1e" is the number 1 followed by something else */
    }
    return i - start;
}

static bool literal_at(const scan *sc, size_t i, const char *word)
{
    size_t n = strlen(word);
    return i + n <= sc->len && memcmp(sc->s + i, word, n) == 0;
}

/* A scalar at i; *end gets the offset after it. */
static tern_jscan_status scan_scalar(scan *sc, size_t i, size_t *end)
{
    const unsigned char c = sc->s[i];
    size_t n = 0;
    if (c == '"')
        return scan_string(sc, i, end);
    if (c == 'n' && literal_at(sc, i, "null"))
        n = 4;
    else if (c == 't' && literal_at(sc, i, "true"))
        n = 4;
    else if (c == 'f' && literal_at(sc, i, "false"))
        n = 5;
    else if (c == '-' || is_digit(c))
        n = scan_number(sc, i);
    if (n == 0)
        return fail_at(sc, "Expecting value", i);
    *end = i + n;
    return TERN_JSCAN_OK;
}

/* The body of the scan: an explicit stack of open containers ('{' or '['), so a deep
 * body costs no C stack. */
static tern_jscan_status scan_all(scan *sc, size_t i, size_t max_depth)
{
    unsigned char stack[TERN_JSON_DEPTH_MAX];
    size_t depth = 0;
    const unsigned char *s = sc->s;

value: /* a value is expected at i */
    if (i >= sc->len)
        return fail_at(sc, "Expecting value", i);
    if (!count_item(sc))
        return TERN_JSCAN_ITEMS;
    if (s[i] == '{' || s[i] == '[') {
        if (depth >= max_depth) {
            sc->out->status = TERN_JSCAN_DEPTH;
            return TERN_JSCAN_DEPTH;
        }
        unsigned char open = s[i];
        stack[depth++] = open;
        i = skip_ws(sc, i + 1);
        if (i < sc->len && s[i] == (open == '{' ? '}' : ']')) {
            depth--;
            i++;
            goto after_value;
        }
        if (open == '{')
            goto key;
        goto value;
    }
    if (scan_scalar(sc, i, &i) != TERN_JSCAN_OK)
        return TERN_JSCAN_SYNTAX;

after_value: /* a value ended at i */
    if (depth == 0) {
        i = skip_ws(sc, i);
        return i == sc->len ? TERN_JSCAN_OK : fail_at(sc, "Extra data", i);
    }
    i = skip_ws(sc, i);
    if (i < sc->len && s[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
        depth--;
        i++;
        goto after_value;
    }
    if (i >= sc->len || s[i] != ',')
        return fail_at(sc, "Expecting ',' delimiter", i);
    i = skip_ws(sc, i + 1);
    if (stack[depth - 1] == '[')
        goto value;

key: /* an object key is expected at i */
    if (i >= sc->len || s[i] != '"')
        return fail_at(sc, "Expecting property name enclosed in double quotes", i);
    if (!count_item(sc))
        return TERN_JSCAN_ITEMS;
    if (scan_string(sc, i, &i) != TERN_JSCAN_OK)
        return TERN_JSCAN_SYNTAX;
    i = skip_ws(sc, i);
    if (i >= sc->len || s[i] != ':')
        return fail_at(sc, "Expecting ':' delimiter", i);
    i = skip_ws(sc, i + 1);
    goto value;
}

/* The offset of the first ill-formed UTF-8 byte, or len. */
static size_t utf8_bad_at(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = tern__utf8_next(s + i, len - i, &cp);
        if (cp == UTF8_BAD)
            return i;
        i += k;
    }
    return len;
}

tern_jscan_status tern_json_scan(const char *text, size_t len, size_t max_depth, size_t max_items,
                                 tern_jscan *out)
{
    memset(out, 0, sizeof *out);
    /* json.loads(bytes) decodes first, dropping a UTF-8 BOM: offsets count from after it. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        out->skip = 3;
    scan sc = {(const unsigned char *)text + out->skip, len - out->skip, 0, max_items, out};
    size_t bad = utf8_bad_at(sc.s, sc.len);
    if (bad < sc.len) {
        sc.len = bad; /* count characters over the well-formed prefix only */
        return fail_at(&sc, "Invalid UTF-8", bad);
    }
    if (max_depth > TERN_JSON_DEPTH_MAX)
        max_depth = TERN_JSON_DEPTH_MAX;
    return scan_all(&sc, skip_ws(&sc, 0), max_depth);
}
