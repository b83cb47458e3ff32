/* server/template.c - the template engine behind tern/template.h.
 *
 * Compiling turns the source into a flat list of operations (text runs, variables,
 * sections that know where they end), so rendering is a loop over that list with a
 * small stack of JSON contexts: no parsing, no allocation but the output buffer. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/template.h"
#include "int_text.h"

/* Sections nest at most this deep; the render stack holds one context per level. */
#define MAX_DEPTH 32

typedef enum { OP_TEXT, OP_VAR, OP_RAW, OP_SECTION, OP_INVERTED } op_kind;

typedef struct op {
    op_kind kind;
    uint32_t off, len; /* OP_TEXT: the run in t->src; others: the name in t->names */
    uint32_t nseg;     /* name segments ("a.b" is 2); 0 for "." */
    uint32_t end;      /* sections: the index of the first op after the section */
} op;

struct tern_template {
    char *src;   /* a copy of the source: text runs point into it */
    char *names; /* every name, split at '.' into NUL-terminated segments */
    op *ops;
    size_t nops;
};

/* ---- output buffer ---------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    bool oom;
} buf;

static bool reserve(buf *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096; /* a typical page in one go */
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void put(buf *b, const char *s, size_t n)
{
    if (n && reserve(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

/* The entity for a byte that HTML text or attributes must not carry raw, or NULL. */
static const char *entity(unsigned char c, size_t *n)
{
    switch (c) {
    case '&': *n = 5; return "&amp;";
    case '<': *n = 4; return "&lt;";
    case '>': *n = 4; return "&gt;";
    case '"': *n = 6; return "&quot;";
    case '\'': *n = 5; return "&#39;"; /* &apos; is not HTML 4; the numeric form is everywhere */
    default: return NULL;
    }
}

size_t tern_html_escape(char *out, const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        size_t en;
        const char *e = entity((unsigned char)s[i], &en);
        if (e) {
            memcpy(out + w, e, en);
            w += en;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    return w;
}

/* Escapes in runs: most text has nothing to escape, so copy stretches at once. */
static void put_escaped(buf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        size_t en;
        const char *e = entity((unsigned char)s[i], &en);
        if (!e)
            continue;
        put(b, s + start, i - start);
        put(b, e, en);
        start = i + 1;
    }
    put(b, s + start, n - start);
}

/* ---- compiling ---------------------------------------------------------------------- */

static int line_of(const char *src, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos; i++)
        line += src[i] == '\n';
    return line;
}

static void fail(char *err, size_t errlen, const char *src, size_t pos, const char *what,
                 const char *name, size_t nlen)
{
    if (!err || !errlen)
        return;
    if (name)
        snprintf(err, errlen, "line %d: %s '%.*s'", line_of(src, pos), what, (int)nlen, name);
    else
        snprintf(err, errlen, "line %d: %s", line_of(src, pos), what);
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* Checks a name and stores its segments; false when it is not a valid name. */
static bool add_name(tern_template *t, size_t *names_len, const char *s, size_t n, op *o)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]))
            return false;
    o->off = (uint32_t)*names_len;
    o->len = (uint32_t)n;
    if (n == 1 && s[0] == '.') {
        o->nseg = 0;
        return true;
    }
    /* "a..b", ".a" and "a." have empty segments: not names */
    if (s[0] == '.' || s[n - 1] == '.' || memmem(s, n, "..", 2))
        return false;
    char *d = t->names + *names_len;
    o->nseg = 1;
    for (size_t i = 0; i < n; i++) {
        d[i] = s[i] == '.' ? '\0' : s[i];
        o->nseg += s[i] == '.';
    }
    d[n] = '\0';
    *names_len += n + 1;
    return true;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\r' || **s == '\n')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r' ||
                  (*s)[*n - 1] == '\n'))
        (*n)--;
}

/* Mustache's standalone rule: a section, closing or comment tag alone on its line
 * leaves no trace, so templates can put them on lines of their own without blank lines
 * in the output. Trims the indentation before the tag from the text op just emitted
 * and returns where parsing goes on (after the line's newline). */
static size_t standalone(tern_template *t, size_t tpos, size_t after, size_t len)
{
    const char *s = t->src;
    size_t ls = tpos, le = after;
    while (ls > 0 && (s[ls - 1] == ' ' || s[ls - 1] == '\t'))
        ls--;
    while (le < len && (s[le] == ' ' || s[le] == '\t' || s[le] == '\r'))
        le++;
    if ((ls > 0 && s[ls - 1] != '\n') || (le < len && s[le] != '\n'))
        return after;
    op *prev = t->nops ? &t->ops[t->nops - 1] : NULL;
    if (tpos > ls && prev && prev->kind == OP_TEXT && prev->off + prev->len == tpos) {
        prev->len -= (uint32_t)(tpos - ls);
        if (!prev->len)
            t->nops--;
    }
    return le < len ? le + 1 : le;
}

tern_template *tern_template_compile(const char *src, size_t len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (len > UINT32_MAX / 2) {
        fail(err, errlen, "", 0, "template too large", NULL, 0);
        return NULL;
    }
    tern_template *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    /* every op needs at least two source bytes ("{{" or text), so len + 1 bounds them */
    t->src = malloc(len + 1);
    t->names = malloc(len + 1);
    t->ops = malloc((len / 2 + 1) * sizeof *t->ops);
    if (!t->src || !t->names || !t->ops)
        goto oom;
    memcpy(t->src, src, len);
    t->src[len] = '\0';
    const char *s = t->src;

    size_t open[MAX_DEPTH], open_pos[MAX_DEPTH], depth = 0, names_len = 0, pos = 0;
    while (pos < len) {
        const char *tag = memmem(s + pos, len - pos, "{{", 2);
        size_t tpos = tag ? (size_t)(tag - s) : len;
        if (tpos > pos)
            t->ops[t->nops++] = (op){.kind = OP_TEXT, .off = (uint32_t)pos,
                                     .len = (uint32_t)(tpos - pos)};
        if (!tag)
            break;
        bool triple = tpos + 2 < len && s[tpos + 2] == '{';
        const char *close_str = triple ? "}}}" : "}}";
        size_t body = tpos + (triple ? 3 : 2), clen = triple ? 3 : 2;
        const char *close = memmem(s + body, len - body, close_str, clen);
        if (!close) {
            fail(err, errlen, s, tpos, triple ? "unclosed tag '{{{'" : "unclosed tag '{{'",
                 NULL, 0);
            goto bad;
        }
        const char *in = s + body;
        size_t n = (size_t)(close - in);
        pos = (size_t)(close - s) + clen;
        trim(&in, &n);
        char sigil = triple ? '{' : (n ? in[0] : '\0');
        if (!triple && (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!' ||
                        sigil == '&')) {
            in++;
            n--;
            trim(&in, &n);
        } else if (!triple) {
            sigil = '\0';
        }
        if (sigil && sigil != '&' && sigil != '{')
            pos = standalone(t, tpos, pos, len);
        if (sigil == '!')
            continue;
        op o = {0};
        if (!add_name(t, &names_len, in, n, &o)) {
            fail(err, errlen, s, tpos, n ? "bad name in tag" : "empty tag", n ? in : NULL, n);
            goto bad;
        }
        switch (sigil) {
        case '#':
        case '^':
            if (depth == MAX_DEPTH) {
                fail(err, errlen, s, tpos, "sections nested too deep at", in, n);
                goto bad;
            }
            o.kind = sigil == '#' ? OP_SECTION : OP_INVERTED;
            open_pos[depth] = tpos;
            open[depth++] = t->nops;
            t->ops[t->nops++] = o;
            break;
        case '/': {
            if (!depth) {
                fail(err, errlen, s, tpos, "closing tag without a section:", in, n);
                goto bad;
            }
            op *sec = &t->ops[open[depth - 1]];
            /* compare with the section's name as written (segments joined by '.') */
            bool same = sec->len == n;
            for (size_t i = 0; same && sec->nseg && i < n; i++) {
                char c = t->names[sec->off + i];
                same = (c ? c : '.') == in[i];
            }
            if (!same) {
                char what[96];
                snprintf(what, sizeof what, "section opened on line %d closed by",
                         line_of(s, open_pos[depth - 1]));
                fail(err, errlen, s, tpos, what, in, n);
                goto bad;
            }
            sec->end = (uint32_t)t->nops;
            depth--;
            names_len = o.off; /* the closing name is not kept */
            break;
        }
        default:
            o.kind = sigil ? OP_RAW : OP_VAR;
            t->ops[t->nops++] = o;
        }
    }
    if (depth) {
        fail(err, errlen, s, open_pos[depth - 1], "section never closed:",
             s + open_pos[depth - 1], (size_t)(strstr(s + open_pos[depth - 1], "}}") + 2 -
                                               (s + open_pos[depth - 1])));
        goto bad;
    }
    return t;
oom:
    fail(err, errlen, "", 0, "out of memory", NULL, 0);
bad:
    tern_template_free(t);
    return NULL;
}

void tern_template_free(tern_template *t)
{
    if (!t)
        return;
    free(t->src);
    free(t->names);
    free(t->ops);
    free(t);
}

/* ---- rendering ---------------------------------------------------------------------- */

/* Looks a name up from the innermost context outwards, then walks its later segments. */
static const json_t *lookup(const tern_template *t, const op *o, const json_t *const *stack,
                            size_t top)
{
    if (o->nseg == 0)
        return stack[top];
    const char *seg = t->names + o->off;
    const json_t *v = NULL;
    for (size_t i = top + 1; i-- > 0;) {
        if (json_is_object(stack[i]) && (v = json_object_get(stack[i], seg)))
            break;
    }
    for (uint32_t k = 1; v && k < o->nseg; k++) {
        seg += strlen(seg) + 1;
        v = json_is_object(v) ? json_object_get(v, seg) : NULL;
    }
    return v;
}

static bool truthy(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_NULL:
    case JSON_FALSE: return false;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_STRING: return json_string_length(v) > 0;
    default: return true;
    }
}

static void put_value(buf *b, const json_t *v, bool escape)
{
    char num[32];
    int n;
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        if (escape)
            put_escaped(b, json_string_value(v), json_string_length(v));
        else
            put(b, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER: {
        char *end = num + sizeof num, *p = tern_int_text(json_integer_value(v), end);
        put(b, p, (size_t)(end - p));
        return;
    }
    case JSON_REAL:
        n = snprintf(num, sizeof num, "%.17g", json_real_value(v));
        put(b, num, (size_t)n);
        return;
    case JSON_TRUE: put(b, "true", 4); return;
    case JSON_FALSE: put(b, "false", 5); return;
    default: return; /* null, missing, arrays and objects render as nothing */
    }
}

static void render(const tern_template *t, size_t from, size_t to, const json_t **stack,
                   size_t top, buf *b)
{
    for (size_t i = from; i < to && !b->oom; i++) {
        const op *o = &t->ops[i];
        switch (o->kind) {
        case OP_TEXT: put(b, t->src + o->off, o->len); break;
        case OP_VAR:
        case OP_RAW: put_value(b, lookup(t, o, stack, top), o->kind == OP_VAR); break;
        case OP_INVERTED:
            if (!truthy(lookup(t, o, stack, top)))
                render(t, i + 1, o->end, stack, top, b);
            i = o->end - 1;
            break;
        case OP_SECTION: {
            const json_t *v = lookup(t, o, stack, top);
            if (json_is_array(v)) {
                /* top + 1 <= MAX_DEPTH: compile bounds nesting, stack has MAX_DEPTH + 1 */
                for (size_t k = 0; k < json_array_size(v); k++) {
                    stack[top + 1] = json_array_get(v, k);
                    render(t, i + 1, o->end, stack, top + 1, b);
                }
            } else if (json_is_object(v)) {
                stack[top + 1] = v;
                render(t, i + 1, o->end, stack, top + 1, b);
            } else if (truthy(v)) {
                render(t, i + 1, o->end, stack, top, b);
            }
            i = o->end - 1;
            break;
        }
        }
    }
}

char *tern_template_render(const tern_template *t, const json_t *ctx, size_t *len)
{
    const json_t *stack[MAX_DEPTH + 1];
    buf b = {0};
    stack[0] = ctx;
    if (!reserve(&b, 0))
        return NULL;
    render(t, 0, t->nops, stack, 0, &b);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = '\0';
    if (len)
        *len = b.len;
    return b.p;
}
