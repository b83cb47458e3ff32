/* server/query.c - percent-decoding and query-string splitting, byte for byte what
 * Starlette gets from Python's urllib.parse.parse_qsl(qs, keep_blank_values=True):
 * '&' separates, '+' is a space, %XX is a byte, a malformed escape stays as written,
 * empty pieces are skipped and a piece without '=' has an empty value. */
#include <errno.h>
#include <string.h>

#include "query.h"
#include "hex.h"

/* Decodes s[0..len) into d (room for len bytes); returns the decoded length. Like
 * Python's unquote, a '%' not followed by two hex digits is copied as it is, and
 * scanning resumes right after it ("%%41" is "%A"). */
static size_t decode_into(char *d, const char *s, size_t len, bool plus_as_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len) {
            int hi = tern_hex_digit(s[i + 1]), lo = tern_hex_digit(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                d[o++] = (char)(hi << 4 | lo);
                i += 2;
                continue;
            }
        }
        d[o++] = plus_as_space && s[i] == '+' ? ' ' : s[i];
    }
    return o;
}

char *tern_percent_decode(tern_arena *a, const char *s, size_t len, bool plus_as_space,
                          size_t *out_len)
{
    /* Decoding never lengthens the text, so len + 1 bytes always suffice. */
    char *d = tern_arena_alloc(a, len + 1);
    if (!d)
        return NULL;
    size_t n = len ? decode_into(d, s, len, plus_as_space) : 0;
    d[n] = '\0';
    if (out_len)
        *out_len = n;
    return d;
}

/* Decodes the piece s[0..len) ("name=value", or "name") into *p. */
static int parse_pair(tern_arena *a, const char *s, size_t len, tern_qpair *p)
{
    const char *eq = memchr(s, '=', len);
    size_t name_len = eq ? (size_t)(eq - s) : len;
    const char *v = eq ? eq + 1 : s + len;
    size_t v_len = eq ? len - name_len - 1 : 0;
    p->name = tern_percent_decode(a, s, name_len, true, &p->name_len);
    p->value = tern_percent_decode(a, v, v_len, true, &p->value_len);
    return p->name && p->value ? 0 : -ENOMEM;
}

/* An upper bound on the pairs in qs: one more than its '&'s, capped at max_pairs. */
static size_t count_pieces(const char *qs, size_t len, size_t max_pairs)
{
    size_t n = 1;
    for (const char *p = qs; (p = memchr(p, '&', len - (size_t)(p - qs))) != NULL; p++)
        n++;
    return n < max_pairs ? n : max_pairs;
}

size_t tern_query_count_pairs(const char *qs, size_t len, size_t limit)
{
    size_t n = 0;
    const char *end = qs + len;
    for (const char *p = qs; p < end && n <= limit;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *piece_end = amp ? amp : end;
        n += piece_end > p;
        p = piece_end + 1;
    }
    return n;
}

int tern_query_parse(tern_arena *a, const char *qs, size_t len, size_t max_pairs, tern_query *out)
{
    out->pairs = NULL;
    out->n = 0;
    if (!qs || len == 0 || max_pairs == 0)
        return 0;
    size_t cap = count_pieces(qs, len, max_pairs);
    out->pairs = tern_arena_alloc(a, cap * sizeof *out->pairs);
    if (!out->pairs)
        return -ENOMEM;
    const char *end = qs + len;
    for (const char *p = qs; p < end && out->n < cap;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *piece_end = amp ? amp : end;
        if (piece_end > p) { /* "a=1&&b=2": the empty piece is no pair */
            if (parse_pair(a, p, (size_t)(piece_end - p), &out->pairs[out->n]) < 0)
                return -ENOMEM;
            out->n++;
        }
        p = piece_end + 1;
    }
    return 0;
}

/* Whether pair p is named name (decoded names may hold a NUL, from %00). */
static bool pair_named(const tern_qpair *p, const char *name, size_t name_len)
{
    return p->name_len == name_len && memcmp(p->name, name, name_len) == 0;
}

const char *tern_query_nth(const tern_query *q, const char *name, size_t index, size_t *len)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < q->n; i++) {
        if (pair_named(&q->pairs[i], name, nl) && index-- == 0) {
            if (len)
                *len = q->pairs[i].value_len;
            return q->pairs[i].value;
        }
    }
    return NULL;
}

const char *tern_query_get(const tern_query *q, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (size_t i = q->n; i-- > 0;) {
        if (pair_named(&q->pairs[i], name, nl)) {
            if (len)
                *len = q->pairs[i].value_len;
            return q->pairs[i].value;
        }
    }
    return NULL;
}

size_t tern_query_count(const tern_query *q, const char *name)
{
    size_t nl = strlen(name), n = 0;
    for (size_t i = 0; i < q->n; i++)
        n += pair_named(&q->pairs[i], name, nl);
    return n;
}
