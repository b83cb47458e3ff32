/* server/router.c - the segment tree behind tern_router_match: patterns in, per-method
 * route pointers and path captures out.
 *
 * A path is split on '/' after its leading slash, so "/" is one empty segment, "/items"
 * is {"items"} and "/items/" is {"items", ""}: the empty last segment is an ordinary
 * static key, which makes a trailing slash significant without any special case.
 *
 * Every node has three kinds of child: static children in an open-addressing hash
 * table keyed by the segment text, at most one `{param}` child and at most one
 * `{name:path}` catch-all child (always a leaf). Matching tries them in that order per
 * segment and backtracks when a branch dead-ends. Each branch consumes exactly one
 * segment (the catch-all consumes the rest and stops), so every node sits at a fixed
 * depth and sees a fixed segment: a match visits each node at most once. The usual
 * cost is one hash lookup per segment; the worst case is the size of the tree, never
 * exponential.
 *
 * Catch-all semantics follow Starlette's `path` convertor, whose regex is `.*`: the
 * value is everything after the slash that precedes it, slashes included, and may be
 * empty. `/files/{p:path}` matches "/files/" (p = "") and "/files/a/b", not "/files".
 * A `{param}` never matches an empty segment (Starlette's `[^/]+`).
 *
 * Parameter types do not take part in matching; they are kept per route, so GET
 * `/items/{id:int}` and DELETE `/items/{id}` share a node and still report their own
 * capture types. Names are per position and must agree across routes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "tern/error.h"

/* Errors quote the pattern; long ones are cut so the reason still fits in the
 * 256-byte message buffer. */
#define PAT_QUOTE_MAX 96
/* The first static-children table; the tree is mostly narrow, wide nodes grow. */
#define TABLE_MIN_CAP 4

static const char *const method_names[TERN_METHOD_COUNT] = {
    [TERN_GET] = "GET",         [TERN_HEAD] = "HEAD",       [TERN_POST] = "POST",
    [TERN_PUT] = "PUT",         [TERN_PATCH] = "PATCH",     [TERN_DELETE] = "DELETE",
    [TERN_OPTIONS] = "OPTIONS", [TERN_TRACE] = "TRACE",
};

/* One added method + pattern. Records are never moved (the tree points at them) and
 * are listed in insertion order for tern_router_each. */
typedef struct route_rec {
    tern_method method;
    char *pattern;
    void *route;
    size_t ncaps;
    /* Names point at the param nodes' labels; types are this route's own. */
    const char *cap_names[TERN_ROUTER_MAX_CAPTURES];
    tern_param_type cap_types[TERN_ROUTER_MAX_CAPTURES];
} route_rec;

typedef struct node node;
struct node {
    /* Static nodes: the segment text (key in the parent's table). Param and catch-all
     * nodes: the parameter name. */
    char *label;
    size_t label_len;
    uint64_t hash;
    /* Pattern that created a param node, quoted when another route disagrees on the
     * name; owned by a route_rec. */
    const char *origin;

    node **slots; /* open addressing, linear probing, capacity a power of two */
    size_t cap, used;
    node *param;
    node *rest;

    route_rec *methods[TERN_METHOD_COUNT];
    unsigned mask; /* bit per method present, HEAD whenever GET: the 405 answer */
};

struct tern_router {
    node root;
    route_rec **recs;
    size_t nrecs, caprecs;
};

/* --- small helpers -------------------------------------------------------------------- */

/* FNV-1a: short keys, no allocation, good spread for path words. Only routes insert
 * keys, so a client cannot grow a probe cluster; it can only look one up. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static bool method_valid(tern_method m)
{
    return (unsigned)m < TERN_METHOD_COUNT;
}

const char *tern_method_name(tern_method m)
{
    return method_valid(m) ? method_names[m] : NULL;
}

int tern_method_parse(const char *s, size_t len)
{
    if (!s)
        return -1;
    for (int i = 0; i < TERN_METHOD_COUNT; i++) {
        /* Exact and case-sensitive: HTTP method names are case-sensitive tokens. */
        if (strlen(method_names[i]) == len && memcmp(method_names[i], s, len) == 0)
            return i;
    }
    return -1;
}

/* --- static-children hash table ------------------------------------------------------- */

static node *table_find(const node *n, const char *seg, size_t len)
{
    if (!n->cap)
        return NULL;
    uint64_t h = hash_bytes(seg, len);
    size_t mask = n->cap - 1;
    /* The table is never full (load <= 3/4), so the probe always meets an empty slot. */
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        node *c = n->slots[i];
        if (!c)
            return NULL;
        if (c->hash == h && c->label_len == len && memcmp(c->label, seg, len) == 0)
            return c;
    }
}

static void table_place(node **slots, size_t cap, node *c)
{
    size_t mask = cap - 1;
    size_t i = (size_t)c->hash & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = c;
}

/* Inserts c (not present yet), growing first so the load stays at most 3/4. */
static int table_insert(node *n, node *c)
{
    if ((n->used + 1) * 4 > n->cap * 3) {
        size_t ncap = n->cap ? n->cap * 2 : TABLE_MIN_CAP;
        node **ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -ENOMEM;
        for (size_t i = 0; i < n->cap; i++) {
            if (n->slots[i])
                table_place(ns, ncap, n->slots[i]);
        }
        free(n->slots);
        n->slots = ns;
        n->cap = ncap;
    }
    table_place(n->slots, n->cap, c);
    n->used++;
    return 0;
}

static node *node_new(const char *label, size_t len)
{
    node *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->label = dup_bytes(label, len);
    if (!c->label) {
        free(c);
        return NULL;
    }
    c->label_len = len;
    c->hash = hash_bytes(label, len);
    return c;
}

/* Frees n's children and n's own storage, not n itself (the root is embedded). The
 * recursion depth is the deepest pattern's segment count. */
static void node_clear(node *n)
{
    for (size_t i = 0; i < n->cap; i++) {
        if (n->slots[i]) {
            node_clear(n->slots[i]);
            free(n->slots[i]);
        }
    }
    free(n->slots);
    if (n->param) {
        node_clear(n->param);
        free(n->param);
    }
    if (n->rest) {
        node_clear(n->rest);
        free(n->rest);
    }
    free(n->label);
}

/* --- pattern parsing ------------------------------------------------------------------ */

typedef enum { SEG_STATIC, SEG_PARAM, SEG_REST } seg_kind;

/* One pattern segment; text/name point into the caller's pattern string. */
typedef struct seg {
    seg_kind kind;
    const char *text; /* static text, or the parameter name */
    size_t len;
    tern_param_type type;
} seg;

static bool name_start(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Records why pattern p is malformed, naming the 1-based segment (0: the whole
 * pattern); always -EINVAL. */
static int bad_pattern(const char *p, const char *why, size_t segno)
{
    size_t n = strlen(p);
    int shown = (int)(n > PAT_QUOTE_MAX ? PAT_QUOTE_MAX : n);
    const char *cut = n > PAT_QUOTE_MAX ? "..." : "";
    if (segno)
        tern_set_errmsg("route pattern \"%.*s%s\": %s (segment %zu)", shown, p, cut, why, segno);
    else
        tern_set_errmsg("route pattern \"%.*s%s\": %s", shown, p, cut, why);
    return -EINVAL;
}

/* Parses `{...}` (the braces already known to be the first and last bytes). */
static int parse_param(const char *pat, const char *s, size_t len, size_t segno, seg *out)
{
    const char *in = s + 1;
    size_t inlen = len - 2;
    const char *colon = memchr(in, ':', inlen);
    size_t nlen = colon ? (size_t)(colon - in) : inlen;

    if (memchr(in, '{', inlen) || memchr(in, '}', inlen))
        return bad_pattern(pat, "a segment holds at most one {param} and nothing else", segno);
    if (nlen == 0)
        return bad_pattern(pat, "empty parameter name", segno);
    if (!name_start(in[0]))
        return bad_pattern(pat, "parameter name must start with a letter or '_'", segno);
    for (size_t i = 1; i < nlen; i++) {
        if (!name_char(in[i]))
            return bad_pattern(pat, "parameter name may hold only letters, digits and '_'",
                               segno);
    }
    out->kind = SEG_PARAM;
    out->text = in;
    out->len = nlen;
    out->type = TERN_T_STR;
    if (!colon)
        return 0;

    const char *ty = colon + 1;
    size_t tlen = inlen - nlen - 1;
    if (tlen == 3 && memcmp(ty, "int", 3) == 0)
        out->type = TERN_T_INT;
    else if (tlen == 5 && memcmp(ty, "float", 5) == 0)
        out->type = TERN_T_FLOAT;
    else if (tlen == 3 && memcmp(ty, "str", 3) == 0)
        out->type = TERN_T_STR;
    else if (tlen == 4 && memcmp(ty, "path", 4) == 0)
        out->kind = SEG_REST; /* type stays TERN_T_STR, as router.h documents */
    else
        return bad_pattern(pat, "unknown parameter type (want int, float, str or path)", segno);
    return 0;
}

/* Splits and checks a whole pattern before the tree is touched, so a rejected
 * pattern leaves the router as it was. *out is malloc'd; *nseg its length. */
static int parse_pattern(const char *pat, seg **out, size_t *nseg)
{
    if (!pat) {
        tern_set_errmsg("route pattern is NULL");
        return -EINVAL;
    }
    if (pat[0] != '/')
        return bad_pattern(pat, "must start with '/'", 0);

    size_t max = 1;
    for (const char *c = pat + 1; *c; c++)
        max += *c == '/';
    seg *segs = calloc(max, sizeof *segs);
    if (!segs) {
        tern_set_errmsg("route pattern: out of memory");
        return -ENOMEM;
    }

    size_t n = 0, ncaps = 0;
    const char *s = pat + 1;
    int rc = 0;
    for (;;) {
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t)(slash - s) : strlen(s);
        size_t segno = n + 1;
        seg *g = &segs[n];

        if (n > 0 && segs[n - 1].kind == SEG_REST) {
            rc = bad_pattern(pat, "a {name:path} catch-all must be the last segment", n);
            break;
        }
        if (len == 0 && slash) {
            /* Only the last segment may be empty: that is the trailing slash. */
            rc = bad_pattern(pat, "empty segment ('//')", segno);
            break;
        }
        if (len > 0 && (s[0] == '{' || s[len - 1] == '}')) {
            if (len < 2 || s[0] != '{' || s[len - 1] != '}') {
                rc = bad_pattern(pat, "unbalanced braces: a {param} must be the whole segment",
                                 segno);
                break;
            }
            rc = parse_param(pat, s, len, segno, g);
            if (rc)
                break;
            for (size_t i = 0; i < n; i++) {
                if (segs[i].kind != SEG_STATIC && segs[i].len == g->len &&
                    memcmp(segs[i].text, g->text, g->len) == 0) {
                    rc = bad_pattern(pat, "parameter name used twice", segno);
                    break;
                }
            }
            if (rc)
                break;
            if (++ncaps > TERN_ROUTER_MAX_CAPTURES) {
                rc = bad_pattern(pat, "more than 16 parameters", segno);
                break;
            }
        } else {
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c == '{' || c == '}') {
                    rc = bad_pattern(pat, "a segment is either all static or exactly one {param}",
                                     segno);
                    break;
                }
                /* A request path never holds these raw, so such a route could not match. */
                if (c <= ' ' || c == 0x7f || c == '?' || c == '#') {
                    rc = bad_pattern(pat, "space, control, '?' or '#' in a static segment",
                                     segno);
                    break;
                }
            }
            if (rc)
                break;
            g->kind = SEG_STATIC;
            g->text = s;
            g->len = len;
        }
        n++;
        if (!slash)
            break;
        s = slash + 1;
    }
    if (rc) {
        free(segs);
        return rc;
    }
    *out = segs;
    *nseg = n;
    return 0;
}

/* --- adding --------------------------------------------------------------------------- */

/* Walks the existing tree along segs without changing it: a param or catch-all name
 * that disagrees with the one already at that position is -EINVAL; the node the
 * pattern ends on, if it exists, goes to *end. */
static int check_tree(const tern_router *r, const char *pat, const seg *segs, size_t nseg,
                      const node **end)
{
    const node *n = &r->root;
    *end = NULL;
    for (size_t i = 0; i < nseg && n; i++) {
        const seg *g = &segs[i];
        const node *c;
        if (g->kind == SEG_STATIC) {
            c = table_find(n, g->text, g->len);
        } else {
            c = g->kind == SEG_PARAM ? n->param : n->rest;
            if (c && (c->label_len != g->len || memcmp(c->label, g->text, g->len) != 0)) {
                tern_set_errmsg("route pattern \"%.*s\": parameter {%.*s} is named {%s} at the "
                                "same position in \"%.*s\"; one name per position",
                                PAT_QUOTE_MAX, pat, (int)g->len, g->text, c->label,
                                PAT_QUOTE_MAX, c->origin);
                return -EINVAL;
            }
        }
        n = c;
    }
    *end = n;
    return 0;
}

/* Finds or creates the child for g under n. */
static node *child_for(node *n, const seg *g, const char *origin)
{
    node *c;
    if (g->kind == SEG_STATIC) {
        c = table_find(n, g->text, g->len);
        if (c)
            return c;
        c = node_new(g->text, g->len);
        if (c && table_insert(n, c) != 0) {
            node_clear(c);
            free(c);
            return NULL;
        }
        return c;
    }
    node **slot = g->kind == SEG_PARAM ? &n->param : &n->rest;
    if (!*slot) {
        *slot = node_new(g->text, g->len);
        if (*slot)
            (*slot)->origin = origin;
    }
    return *slot;
}

static route_rec *rec_new(tern_method m, const char *pattern, void *route)
{
    route_rec *rec = calloc(1, sizeof *rec);
    if (!rec)
        return NULL;
    rec->pattern = strdup(pattern);
    if (!rec->pattern) {
        free(rec);
        return NULL;
    }
    rec->method = m;
    rec->route = route;
    return rec;
}

static void rec_free(route_rec *rec)
{
    if (rec) {
        free(rec->pattern);
        free(rec);
    }
}

/* Makes the record and the nodes for an already-checked pattern. */
static int insert_route(tern_router *r, tern_method m, const char *pattern, void *route,
                        const seg *segs, size_t nseg)
{
    if (r->nrecs == r->caprecs) {
        size_t ncap = r->caprecs ? r->caprecs * 2 : 16;
        route_rec **nr = realloc(r->recs, ncap * sizeof *nr);
        if (!nr)
            return -ENOMEM;
        r->recs = nr;
        r->caprecs = ncap;
    }
    route_rec *rec = rec_new(m, pattern, route);
    if (!rec)
        return -ENOMEM;

    /* Nodes made before a later allocation fails stay in the tree. They hold no
     * methods, so matching only passes through them; no route is half-added. */
    node *n = &r->root;
    for (size_t i = 0; i < nseg; i++) {
        n = child_for(n, &segs[i], rec->pattern);
        if (!n) {
            rec_free(rec);
            return -ENOMEM;
        }
        if (segs[i].kind != SEG_STATIC) {
            rec->cap_names[rec->ncaps] = n->label;
            rec->cap_types[rec->ncaps] = segs[i].type;
            rec->ncaps++;
        }
    }
    n->methods[m] = rec;
    n->mask |= 1u << m;
    if (m == TERN_GET)
        n->mask |= 1u << TERN_HEAD;
    r->recs[r->nrecs++] = rec;
    return 0;
}

int tern_router_add(tern_router *r, tern_method m, const char *pattern, void *route)
{
    if (!r) {
        tern_set_errmsg("tern_router_add: no router");
        return -EINVAL;
    }
    if (!method_valid(m)) {
        tern_set_errmsg("route pattern \"%.*s\": unknown method %d", PAT_QUOTE_MAX,
                        pattern ? pattern : "(null)", (int)m);
        return -EINVAL;
    }

    seg *segs;
    size_t nseg;
    int rc = parse_pattern(pattern, &segs, &nseg);
    if (rc)
        return rc;

    const node *end;
    rc = check_tree(r, pattern, segs, nseg, &end);
    if (rc == 0 && end && end->methods[m]) {
        /* Types do not take part in matching, so "/a/{x:int}" repeats "/a/{x}". */
        tern_set_errmsg("route %s \"%.*s\": already defined as %s \"%.*s\"", method_names[m],
                        PAT_QUOTE_MAX, pattern, method_names[m], PAT_QUOTE_MAX,
                        end->methods[m]->pattern);
        rc = -EEXIST;
    }
    if (rc == 0) {
        rc = insert_route(r, m, pattern, route, segs, nseg);
        if (rc)
            tern_set_errmsg("route %s \"%.*s\": out of memory", method_names[m], PAT_QUOTE_MAX,
                            pattern);
    }
    free(segs);
    return rc;
}

/* --- matching ------------------------------------------------------------------------- */

/* State of one match; lives on the caller's stack, captures go straight into out. */
typedef struct walk {
    const char *end;
    tern_method method;
    unsigned steps;
    unsigned allowed;       /* union of masks of every node the whole path reaches */
    const route_rec *hit;
    tern_route_match *out;  /* out->captures[0..ncaps) is the current branch's stack */
    size_t ncaps;
} walk;

static const route_rec *pick(const node *n, tern_method m)
{
    if (!method_valid(m))
        return NULL;
    const route_rec *rec = n->methods[m];
    if (!rec && m == TERN_HEAD)
        rec = n->methods[TERN_GET];
    return rec;
}

/* The path ended at n. Every node reached this way adds its methods to the 405
 * answer: with backtracking, each of them would succeed for this very path. */
static bool at_end(walk *w, const node *n)
{
    const route_rec *rec = pick(n, w->method);
    if (rec) {
        w->hit = rec;
        return true;
    }
    w->allowed |= n->mask;
    return false;
}

static bool walk_from(walk *w, const node *n, const char *p);

/* Enters child c for a segment ending at slash (NULL when it was the last one). */
static bool enter(walk *w, const node *c, const char *slash)
{
    w->steps++;
    return slash ? walk_from(w, c, slash + 1) : at_end(w, c);
}

static void push_cap(walk *w, const char *p, size_t len)
{
    /* Depth of captures is bounded by the pattern check (at most 16 per route, and
     * every node lies on some route's path). */
    w->out->captures[w->ncaps].value = p;
    w->out->captures[w->ncaps].len = len;
    w->ncaps++;
}

/* p is the start of a segment under n (p may equal end: an empty last segment). */
static bool walk_from(walk *w, const node *n, const char *p)
{
    size_t left = (size_t)(w->end - p);
    const char *slash = left ? memchr(p, '/', left) : NULL;
    size_t len = slash ? (size_t)(slash - p) : left;
    const node *c;

    c = table_find(n, p, len);
    if (c && enter(w, c, slash))
        return true;
    if (n->param && len > 0) {
        push_cap(w, p, len);
        if (enter(w, n->param, slash))
            return true;
        w->ncaps--;
    }
    if (n->rest) {
        w->steps++;
        push_cap(w, p, left);
        if (at_end(w, n->rest))
            return true;
        w->ncaps--;
    }
    return false;
}

int tern_router_match(const tern_router *r, tern_method m, const char *path, size_t len,
                      tern_route_match *out)
{
    out->route = NULL;
    out->pattern = NULL;
    out->allowed = 0;
    out->ncaptures = 0;
    out->steps = 0;
    if (!r || !path || len == 0 || path[0] != '/')
        return -ENOENT;

    walk w = {.end = path + len, .method = m, .steps = 1, .out = out};
    bool found = walk_from(&w, &r->root, path + 1);
    out->steps = w.steps;
    if (!found) {
        out->allowed = w.allowed;
        return w.allowed ? -ENOTSUP : -ENOENT;
    }

    const route_rec *rec = w.hit;
    out->route = rec->route;
    out->pattern = rec->pattern;
    out->ncaptures = w.ncaps;
    for (size_t i = 0; i < w.ncaps; i++) {
        out->captures[i].name = rec->cap_names[i];
        out->captures[i].type = rec->cap_types[i];
    }
    return 0;
}

/* --- lifetime and listing ------------------------------------------------------------- */

tern_router *tern_router_new(void)
{
    tern_router *r = calloc(1, sizeof *r);
    if (!r)
        tern_set_errmsg("tern_router_new: out of memory");
    return r;
}

void tern_router_free(tern_router *r)
{
    if (!r)
        return;
    node_clear(&r->root);
    for (size_t i = 0; i < r->nrecs; i++)
        rec_free(r->recs[i]);
    free(r->recs);
    free(r);
}

size_t tern_router_count(const tern_router *r)
{
    return r ? r->nrecs : 0;
}

void tern_router_each(const tern_router *r,
                      void (*fn)(void *ctx, tern_method m, const char *pattern, void *route),
                      void *ctx)
{
    if (!r || !fn)
        return;
    for (size_t i = 0; i < r->nrecs; i++)
        fn(ctx, r->recs[i]->method, r->recs[i]->pattern, r->recs[i]->route);
}
