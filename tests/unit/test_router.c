/* tests/unit/test_router.c - the router: pattern checks, match priority and
 * backtracking, 404/405 answers, captures, and that match cost does not grow with
 * the number of routes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "router.h"
#include "tern/error.h"

/* Distinct route pointers; the router only stores and returns them. */
static int h[16];
#define H(i) ((void *)&h[(i)])
#define BIT(m) (1u << (m))

static tern_router *rt;

static void setup(void)
{
    rt = tern_router_new();
    cr_assert_not_null(rt);
}

static void teardown(void)
{
    tern_router_free(rt);
    rt = NULL;
}

TestSuite(router, .init = setup, .fini = teardown);

static void add_ok(tern_method m, const char *pattern, void *route)
{
    int rc = tern_router_add(rt, m, pattern, route);
    cr_assert_eq(rc, 0, "add %s %s: %d (%s)", tern_method_name(m), pattern, rc, tern_errmsg());
}

static int match(tern_method m, const char *path, tern_route_match *o)
{
    return tern_router_match(rt, m, path, strlen(path), o);
}

/* Asserts path matches route for m, with pattern pat. */
static void expect(tern_method m, const char *path, void *route, const char *pat)
{
    tern_route_match o;
    int rc = match(m, path, &o);
    cr_assert_eq(rc, 0, "%s %s: rc %d", tern_method_name(m), path, rc);
    cr_assert_eq(o.route, route, "%s %s: wrong route", tern_method_name(m), path);
    cr_assert_str_eq(o.pattern, pat, "%s %s", tern_method_name(m), path);
}

static void expect_404(tern_method m, const char *path)
{
    tern_route_match o;
    int rc = match(m, path, &o);
    cr_assert_eq(rc, -ENOENT, "%s %s: rc %d, want -ENOENT", tern_method_name(m), path, rc);
    cr_assert_null(o.route);
    cr_assert_eq(o.allowed, 0u, "%s %s: allowed %#x on 404", tern_method_name(m), path,
                 o.allowed);
}

static void expect_capture(const tern_route_match *o, size_t i, const char *name,
                           tern_param_type type, const char *value)
{
    cr_assert_gt(o->ncaptures, i);
    cr_assert_str_eq(o->captures[i].name, name);
    cr_assert_eq(o->captures[i].type, type, "capture %s: type %d", name, o->captures[i].type);
    cr_assert_eq(o->captures[i].len, strlen(value), "capture %s: len %zu, want \"%s\"", name,
                 o->captures[i].len, value);
    cr_assert_eq(memcmp(o->captures[i].value, value, o->captures[i].len), 0,
                 "capture %s: \"%.*s\", want \"%s\"", name, (int)o->captures[i].len,
                 o->captures[i].value, value);
}

/* --- methods ------------------------------------------------------------------------- */

Test(router, method_names_round_trip)
{
    static const char *names[] = {"GET",    "HEAD",    "POST",  "PUT",
                                  "PATCH", "DELETE", "OPTIONS", "TRACE"};
    cr_assert_eq(sizeof names / sizeof names[0], (size_t)TERN_METHOD_COUNT);
    for (int i = 0; i < TERN_METHOD_COUNT; i++) {
        cr_assert_str_eq(tern_method_name((tern_method)i), names[i]);
        cr_assert_eq(tern_method_parse(names[i], strlen(names[i])), i, "%s", names[i]);
    }
    cr_assert_null(tern_method_name(TERN_METHOD_COUNT));
    cr_assert_null(tern_method_name((tern_method)-1));
}

Test(router, method_parse_is_exact)
{
    cr_assert_eq(tern_method_parse("get", 3), -1);
    cr_assert_eq(tern_method_parse("Get", 3), -1);
    cr_assert_eq(tern_method_parse("GETS", 4), -1);
    cr_assert_eq(tern_method_parse("GE", 2), -1);
    cr_assert_eq(tern_method_parse("", 0), -1);
    cr_assert_eq(tern_method_parse(NULL, 0), -1);
    cr_assert_eq(tern_method_parse("CONNECT", 7), -1);
    /* Length-bounded: the request line goes on after the method. */
    cr_assert_eq(tern_method_parse("POST /x HTTP/1.1", 4), TERN_POST);
    cr_assert_eq(tern_method_parse("DELETEX", 6), TERN_DELETE);
}

/* --- static routes ------------------------------------------------------------------- */

Test(router, static_routes)
{
    add_ok(TERN_GET, "/", H(0));
    add_ok(TERN_GET, "/items", H(1));
    add_ok(TERN_GET, "/items/list", H(2));
    add_ok(TERN_GET, "/a/b/c", H(3));
    cr_assert_eq(tern_router_count(rt), 4u);

    expect(TERN_GET, "/", H(0), "/");
    expect(TERN_GET, "/items", H(1), "/items");
    expect(TERN_GET, "/items/list", H(2), "/items/list");
    expect(TERN_GET, "/a/b/c", H(3), "/a/b/c");

    tern_route_match o;
    cr_assert_eq(match(TERN_GET, "/a/b/c", &o), 0);
    cr_assert_eq(o.ncaptures, 0u);
    cr_assert_eq(o.steps, 4u, "root + a + b + c, got %u", o.steps);

    expect_404(TERN_GET, "/item");
    expect_404(TERN_GET, "/itemsx");
    expect_404(TERN_GET, "/items/lis");
    expect_404(TERN_GET, "/items/list/more");
    expect_404(TERN_GET, "/a/b");   /* an inner node without routes */
    expect_404(TERN_GET, "/ITEMS"); /* case-sensitive */
}

Test(router, path_must_start_with_slash)
{
    add_ok(TERN_GET, "/", H(0));
    add_ok(TERN_GET, "/x", H(1));
    tern_route_match o;
    cr_assert_eq(tern_router_match(rt, TERN_GET, "", 0, &o), -ENOENT);
    cr_assert_eq(tern_router_match(rt, TERN_GET, "/x", 0, &o), -ENOENT);
    expect_404(TERN_GET, "x");
    expect_404(TERN_GET, "*");
}

/* --- parameters ---------------------------------------------------------------------- */

Test(router, param_capture_slices_input)
{
    add_ok(TERN_GET, "/items/{item_id}", H(0));
    const char *path = "/items/abc-42";
    tern_route_match o;
    cr_assert_eq(match(TERN_GET, path, &o), 0);
    cr_assert_eq(o.route, H(0));
    cr_assert_str_eq(o.pattern, "/items/{item_id}");
    cr_assert_eq(o.ncaptures, 1u);
    expect_capture(&o, 0, "item_id", TERN_T_STR, "abc-42");
    /* Not copied and not decoded: a slice of the caller's buffer. */
    cr_assert_eq(o.captures[0].value, path + 7);

    add_ok(TERN_GET, "/enc/{s}", H(1));
    cr_assert_eq(match(TERN_GET, "/enc/a%20b", &o), 0);
    expect_capture(&o, 0, "s", TERN_T_STR, "a%20b");
}

Test(router, inline_types_and_pattern_order)
{
    add_ok(TERN_GET, "/u/{uid:int}/posts/{pid}/v/{ver:float}/t/{tag:str}", H(0));
    tern_route_match o;
    cr_assert_eq(match(TERN_GET, "/u/7/posts/p9/v/1.5/t/x", &o), 0);
    cr_assert_eq(o.route, H(0));
    cr_assert_eq(o.ncaptures, 4u);
    expect_capture(&o, 0, "uid", TERN_T_INT, "7");
    expect_capture(&o, 1, "pid", TERN_T_STR, "p9");
    expect_capture(&o, 2, "ver", TERN_T_FLOAT, "1.5");
    expect_capture(&o, 3, "tag", TERN_T_STR, "x");

    /* Types do not take part in matching (422 comes later, from validation). */
    cr_assert_eq(match(TERN_GET, "/u/abc/posts/p9/v/x/t/y", &o), 0);
    expect_capture(&o, 0, "uid", TERN_T_INT, "abc");
}

Test(router, types_are_per_route_at_a_shared_node)
{
    add_ok(TERN_GET, "/items/{id:int}", H(0));
    add_ok(TERN_DELETE, "/items/{id}", H(1));
    tern_route_match o;
    cr_assert_eq(match(TERN_GET, "/items/5", &o), 0);
    cr_assert_eq(o.route, H(0));
    cr_assert_str_eq(o.pattern, "/items/{id:int}");
    expect_capture(&o, 0, "id", TERN_T_INT, "5");
    cr_assert_eq(match(TERN_DELETE, "/items/5", &o), 0);
    cr_assert_eq(o.route, H(1));
    cr_assert_str_eq(o.pattern, "/items/{id}");
    expect_capture(&o, 0, "id", TERN_T_STR, "5");
}

Test(router, empty_param_value_does_not_match)
{
    add_ok(TERN_GET, "/items/{id}", H(0));
    add_ok(TERN_GET, "/a/{x}/b", H(1));
    expect_404(TERN_GET, "/items/");
    expect_404(TERN_GET, "/items");
    expect_404(TERN_GET, "/a//b");
    expect(TERN_GET, "/a/1/b", H(1), "/a/{x}/b");
}

/* --- catch-all ----------------------------------------------------------------------- */

Test(router, catch_all_takes_the_rest)
{
    add_ok(TERN_GET, "/files/{p:path}", H(0));
    tern_route_match o;
    const char *path = "/files/a/b/c.txt";
    cr_assert_eq(match(TERN_GET, path, &o), 0);
    cr_assert_eq(o.route, H(0));
    cr_assert_eq(o.ncaptures, 1u);
    expect_capture(&o, 0, "p", TERN_T_STR, "a/b/c.txt");
    cr_assert_eq(o.captures[0].value, path + 7);
    cr_assert_eq(o.steps, 3u, "root, files, {p:path}: got %u", o.steps);

    /* Starlette's path convertor is `.*`: empty after the slash matches... */
    cr_assert_eq(match(TERN_GET, "/files/", &o), 0);
    expect_capture(&o, 0, "p", TERN_T_STR, "");
    /* ...but the slash before it is part of the pattern. */
    expect_404(TERN_GET, "/files");
    /* Slashes inside the rest are kept literally, empty segments too. */
    cr_assert_eq(match(TERN_GET, "/files//x/", &o), 0);
    expect_capture(&o, 0, "p", TERN_T_STR, "/x/");
}

Test(router, catch_all_after_params)
{
    add_ok(TERN_GET, "/u/{uid:int}/f/{rest:path}", H(0));
    tern_route_match o;
    cr_assert_eq(match(TERN_GET, "/u/3/f/x/y", &o), 0);
    cr_assert_eq(o.ncaptures, 2u);
    expect_capture(&o, 0, "uid", TERN_T_INT, "3");
    expect_capture(&o, 1, "rest", TERN_T_STR, "x/y");
}

Test(router, root_catch_all)
{
    add_ok(TERN_GET, "/{p:path}", H(0));
    tern_route_match o;
    cr_assert_eq(match(TERN_GET, "/", &o), 0);
    expect_capture(&o, 0, "p", TERN_T_STR, "");
    add_ok(TERN_GET, "/", H(1));
    expect(TERN_GET, "/", H(1), "/");
    cr_assert_eq(match(TERN_GET, "/x/y", &o), 0);
    cr_assert_eq(o.route, H(0));
    expect_capture(&o, 0, "p", TERN_T_STR, "x/y");
}

/* --- priority and backtracking ------------------------------------------------------- */

Test(router, static_then_param_then_catch_all)
{
    add_ok(TERN_GET, "/users/{p:path}", H(2));
    add_ok(TERN_GET, "/users/{id}", H(1));
    add_ok(TERN_GET, "/users/me", H(0));
    /* Added in reverse priority order: order of addition must not matter. */
    expect(TERN_GET, "/users/me", H(0), "/users/me");
    expect(TERN_GET, "/users/42", H(1), "/users/{id}");
    expect(TERN_GET, "/users/42/x", H(2), "/users/{p:path}");
    expect(TERN_GET, "/users/me/x", H(2), "/users/{p:path}");
    expect(TERN_GET, "/users/", H(2), "/users/{p:path}");
}

Test(router, backtracks_from_static_dead_end)
{
    add_ok(TERN_GET, "/a/b/c", H(0));
    add_ok(TERN_GET, "/a/{x}/d", H(1));
    tern_route_match o;
    cr_assert_eq(match(TERN_GET, "/a/b/c", &o), 0);
    cr_assert_eq(o.route, H(0));
    cr_assert_eq(o.ncaptures, 0u);
    cr_assert_eq(o.steps, 4u);

    cr_assert_eq(match(TERN_GET, "/a/b/d", &o), 0);
    cr_assert_eq(o.route, H(1));
    cr_assert_eq(o.ncaptures, 1u);
    expect_capture(&o, 0, "x", TERN_T_STR, "b");
    /* root, a, b (dead end), {x}, d */
    cr_assert_eq(o.steps, 5u, "steps %u", o.steps);

    expect_404(TERN_GET, "/a/b/e");
    expect_404(TERN_GET, "/a/b");
}

Test(router, backtracking_pops_captures)
{
    /* The {y} branch captures, dead-ends, and the match is found through the
     * catch-all at the same position: the stale {y} must not remain. */
    add_ok(TERN_GET, "/a/{x}/{y}/z", H(0));
    add_ok(TERN_GET, "/a/{x}/{r:path}", H(1));
    add_ok(TERN_GET, "/b/{x}/k/w", H(2));
    tern_route_match o;
    cr_assert_eq(match(TERN_GET, "/a/1/2/w", &o), 0);
    cr_assert_eq(o.route, H(1));
    cr_assert_eq(o.ncaptures, 2u, "ncaptures %zu", o.ncaptures);
    expect_capture(&o, 0, "x", TERN_T_STR, "1");
    expect_capture(&o, 1, "r", TERN_T_STR, "2/w");
    cr_assert_eq(match(TERN_GET, "/a/1/2/z", &o), 0);
    cr_assert_eq(o.route, H(0));
    cr_assert_eq(o.ncaptures, 2u);
    expect_capture(&o, 1, "y", TERN_T_STR, "2");

    /* A catch-all that has the path but not the method gives way to one further up:
     * its capture must go too. */
    add_ok(TERN_POST, "/c/{x}/{r:path}", H(3));
    add_ok(TERN_GET, "/c/{p:path}", H(4));
    cr_assert_eq(match(TERN_GET, "/c/1/2", &o), 0);
    cr_assert_eq(o.route, H(4));
    cr_assert_eq(o.ncaptures, 1u, "ncaptures %zu", o.ncaptures);
    expect_capture(&o, 0, "p", TERN_T_STR, "1/2");

    /* A static branch after a capture: only the capture on the way. */
    cr_assert_eq(match(TERN_GET, "/b/1/k/w", &o), 0);
    cr_assert_eq(o.route, H(2));
    cr_assert_eq(o.ncaptures, 1u);
    expect_capture(&o, 0, "x", TERN_T_STR, "1");
}

Test(router, backtracks_to_catch_all_several_levels_up)
{
    add_ok(TERN_GET, "/a/b/c/d", H(0));
    add_ok(TERN_GET, "/a/{rest:path}", H(1));
    tern_route_match o;
    cr_assert_eq(match(TERN_GET, "/a/b/c/x", &o), 0);
    cr_assert_eq(o.route, H(1));
    cr_assert_eq(o.ncaptures, 1u);
    expect_capture(&o, 0, "rest", TERN_T_STR, "b/c/x");
    expect(TERN_GET, "/a/b/c/d", H(0), "/a/b/c/d");
}

Test(router, backtracks_on_method)
{
    /* The static node has the path but not the method; the param route has it. */
    add_ok(TERN_GET, "/a/b", H(0));
    add_ok(TERN_POST, "/a/{x}", H(1));
    expect(TERN_GET, "/a/b", H(0), "/a/b");
    expect(TERN_POST, "/a/b", H(1), "/a/{x}");
    expect(TERN_POST, "/a/c", H(1), "/a/{x}");
}

/* --- 404 / 405 ----------------------------------------------------------------------- */

Test(router, not_found_vs_method_not_allowed)
{
    add_ok(TERN_GET, "/items", H(0));
    add_ok(TERN_POST, "/items", H(1));
    add_ok(TERN_DELETE, "/only-delete", H(2));

    tern_route_match o;
    cr_assert_eq(match(TERN_PUT, "/items", &o), -ENOTSUP);
    cr_assert_null(o.route);
    cr_assert_eq(o.allowed, BIT(TERN_GET) | BIT(TERN_HEAD) | BIT(TERN_POST), "allowed %#x",
                 o.allowed);

    /* No GET there, so no HEAD either. */
    cr_assert_eq(match(TERN_HEAD, "/only-delete", &o), -ENOTSUP);
    cr_assert_eq(o.allowed, BIT(TERN_DELETE), "allowed %#x", o.allowed);

    expect_404(TERN_GET, "/nothing");
    expect_404(TERN_PUT, "/nothing");
    expect_404(TERN_GET, "/items/x");

    /* An unknown method value is never routed but the path still exists. */
    cr_assert_eq(tern_router_match(rt, (tern_method)99, "/items", 6, &o), -ENOTSUP);
    cr_assert_eq(o.allowed, BIT(TERN_GET) | BIT(TERN_HEAD) | BIT(TERN_POST));
}

Test(router, allowed_covers_every_route_the_path_reaches)
{
    /* PUT /a/b reaches both nodes; GET and POST would each succeed for it. */
    add_ok(TERN_GET, "/a/b", H(0));
    add_ok(TERN_POST, "/a/{x}", H(1));
    add_ok(TERN_PATCH, "/a/{p:path}", H(2));
    tern_route_match o;
    cr_assert_eq(match(TERN_PUT, "/a/b", &o), -ENOTSUP);
    cr_assert_eq(o.allowed,
                 BIT(TERN_GET) | BIT(TERN_HEAD) | BIT(TERN_POST) | BIT(TERN_PATCH),
                 "allowed %#x", o.allowed);
    cr_assert_eq(match(TERN_PUT, "/a/z", &o), -ENOTSUP);
    cr_assert_eq(o.allowed, BIT(TERN_POST) | BIT(TERN_PATCH), "allowed %#x", o.allowed);
    cr_assert_eq(match(TERN_PUT, "/a/z/y", &o), -ENOTSUP);
    cr_assert_eq(o.allowed, BIT(TERN_PATCH), "allowed %#x", o.allowed);
}

Test(router, head_falls_back_to_get)
{
    add_ok(TERN_GET, "/g", H(0));
    add_ok(TERN_GET, "/both", H(1));
    add_ok(TERN_HEAD, "/both", H(2));

    expect(TERN_HEAD, "/g", H(0), "/g");
    expect(TERN_HEAD, "/both", H(2), "/both");
    expect(TERN_GET, "/both", H(1), "/both");

    tern_route_match o;
    cr_assert_eq(match(TERN_POST, "/g", &o), -ENOTSUP);
    cr_assert_eq(o.allowed, BIT(TERN_GET) | BIT(TERN_HEAD));
    cr_assert_eq(match(TERN_POST, "/both", &o), -ENOTSUP);
    cr_assert_eq(o.allowed, BIT(TERN_GET) | BIT(TERN_HEAD));

    /* HEAD alone does not answer GET. */
    add_ok(TERN_HEAD, "/h", H(3));
    cr_assert_eq(match(TERN_GET, "/h", &o), -ENOTSUP);
    cr_assert_eq(o.allowed, BIT(TERN_HEAD));
}

/* --- slashes ------------------------------------------------------------------------- */

Test(router, trailing_slash_is_significant)
{
    add_ok(TERN_GET, "/items", H(0));
    add_ok(TERN_GET, "/items/", H(1));
    add_ok(TERN_GET, "/only", H(2));
    add_ok(TERN_GET, "/slashed/", H(3));
    cr_assert_eq(tern_router_count(rt), 4u);
    expect(TERN_GET, "/items", H(0), "/items");
    expect(TERN_GET, "/items/", H(1), "/items/");
    expect_404(TERN_GET, "/only/");
    expect_404(TERN_GET, "/slashed");
    expect(TERN_GET, "/slashed/", H(3), "/slashed/");
    expect_404(TERN_GET, "/items//");
}

Test(router, empty_segments_are_literal)
{
    add_ok(TERN_GET, "/a/b", H(0));
    add_ok(TERN_GET, "/", H(1));
    expect_404(TERN_GET, "/a//b");
    expect_404(TERN_GET, "//a/b");
    expect_404(TERN_GET, "//");
    expect_404(TERN_GET, "/a/b/");
}

/* --- the buffer ---------------------------------------------------------------------- */

Test(router, len_excludes_query_string)
{
    add_ok(TERN_GET, "/items/{id}", H(0));
    add_ok(TERN_GET, "/items", H(1));
    add_ok(TERN_GET, "/f/{p:path}", H(2));
    const char *buf = "/items/42?q=1";
    tern_route_match o;
    cr_assert_eq(tern_router_match(rt, TERN_GET, buf, 9, &o), 0);
    cr_assert_eq(o.route, H(0));
    expect_capture(&o, 0, "id", TERN_T_STR, "42");

    cr_assert_eq(tern_router_match(rt, TERN_GET, "/items?q=1", 6, &o), 0);
    cr_assert_eq(o.route, H(1));

    cr_assert_eq(tern_router_match(rt, TERN_GET, "/f/a/b?x=/y", 6, &o), 0);
    cr_assert_eq(o.route, H(2));
    expect_capture(&o, 0, "p", TERN_T_STR, "a/b");
}

Test(router, never_reads_past_len)
{
    /* The path ends exactly at a page the process may not read: any byte read after
     * len faults. */
    long pg = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    cr_assert_neq(map, MAP_FAILED);
    cr_assert_eq(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);

    add_ok(TERN_GET, "/items/{id}", H(0));
    add_ok(TERN_GET, "/items/{id}/x", H(1));
    add_ok(TERN_GET, "/items/", H(2));
    add_ok(TERN_GET, "/s/{p:path}", H(3));
    add_ok(TERN_GET, "/abc", H(4));
    static const struct {
        const char *path;
        int rc;
    } cases[] = {
        {"/items/42", 0}, {"/items/42/x", 0}, {"/items/", 0},    {"/s/a/b", 0},
        {"/s/", 0},       {"/abc", 0},        {"/ab", -ENOENT},  {"/items/42/", -ENOENT},
        {"/", -ENOENT},   {"/items", -ENOENT}, {"/abcd", -ENOENT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].path);
        char *p = map + pg - n;
        memcpy(p, cases[i].path, n);
        tern_route_match o;
        cr_assert_eq(tern_router_match(rt, TERN_GET, p, n, &o), cases[i].rc, "%s",
                     cases[i].path);
    }
    munmap(map, (size_t)pg * 2);
}

/* --- rejected patterns --------------------------------------------------------------- */

Test(router, malformed_patterns_are_einval)
{
    static const struct {
        const char *pattern;
        const char *why; /* a word the message must contain */
    } bad[] = {
        {"", "start with '/'"},
        {"items", "start with '/'"},
        {"/items/{", "unbalanced"},
        {"/items/{id", "unbalanced"},
        {"/items/id}", "unbalanced"},
        {"/items/}", "unbalanced"},
        {"/items/{}", "empty parameter name"},
        {"/items/{:int}", "empty parameter name"},
        {"/items/{1id}", "start with a letter"},
        {"/items/{id-x}", "letters, digits"},
        {"/items/{i d}", "letters, digits"},
        {"/items/{id:}", "unknown parameter type"},
        {"/items/{id:bool}", "unknown parameter type"},
        {"/items/{id:INT}", "unknown parameter type"},
        {"/items/{id:int:x}", "unknown parameter type"},
        {"/items/x{id}", "unbalanced"},
        {"/items/{id}x", "unbalanced"},
        {"/items/a{id}b", "all static"},
        {"/items/{a}{b}", "at most one"},
        {"/items/{{id}}", "at most one"},
        {"/f/{p:path}/x", "last segment"},
        {"/f/{p:path}/", "last segment"},
        {"/{p:path}/{q:path}", "last segment"},
        {"/a//b", "empty segment"},
        {"//", "empty segment"},
        {"/a/{id}/b/{id}", "used twice"},
        {"/a/{id}/{id:path}", "used twice"},
        {"/a b", "static segment"},
        {"/a?x=1", "static segment"},
        {"/a#frag", "static segment"},
        {"/a\tb", "static segment"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tern_set_errmsg("%s", "");
        int rc = tern_router_add(rt, TERN_GET, bad[i].pattern, H(0));
        cr_assert_eq(rc, -EINVAL, "\"%s\": rc %d", bad[i].pattern, rc);
        const char *msg = tern_errmsg();
        char quoted[128];
        snprintf(quoted, sizeof quoted, "\"%s\"", bad[i].pattern);
        cr_assert_not_null(strstr(msg, quoted), "\"%s\": message \"%s\" lacks the pattern",
                           bad[i].pattern, msg);
        cr_assert_not_null(strstr(msg, bad[i].why), "\"%s\": message \"%s\" lacks \"%s\"",
                           bad[i].pattern, msg, bad[i].why);
    }
    cr_assert_eq(tern_router_count(rt), 0u);
    /* Nothing half-added either. */
    expect_404(TERN_GET, "/items/5");
    expect_404(TERN_GET, "/a/b");
}

Test(router, null_pattern_and_bad_method)
{
    cr_assert_eq(tern_router_add(rt, TERN_GET, NULL, H(0)), -EINVAL);
    cr_assert_not_null(strstr(tern_errmsg(), "NULL"), "%s", tern_errmsg());
    cr_assert_eq(tern_router_add(rt, TERN_METHOD_COUNT, "/x", H(0)), -EINVAL);
    cr_assert_not_null(strstr(tern_errmsg(), "\"/x\""), "%s", tern_errmsg());
    cr_assert_eq(tern_router_add(rt, (tern_method)-1, "/x", H(0)), -EINVAL);
    cr_assert_eq(tern_router_count(rt), 0u);
}

Test(router, capture_limit)
{
    char pat[256] = "", path[256] = "";
    for (int i = 0; i < TERN_ROUTER_MAX_CAPTURES; i++) {
        snprintf(pat + strlen(pat), sizeof pat - strlen(pat), "/{p%d}", i);
        snprintf(path + strlen(path), sizeof path - strlen(path), "/v%d", i);
    }
    add_ok(TERN_GET, pat, H(0));
    tern_route_match o;
    cr_assert_eq(match(TERN_GET, path, &o), 0);
    cr_assert_eq(o.ncaptures, (size_t)TERN_ROUTER_MAX_CAPTURES);
    expect_capture(&o, 15, "p15", TERN_T_STR, "v15");

    strcat(pat, "/{p16}");
    cr_assert_eq(tern_router_add(rt, TERN_POST, pat, H(1)), -EINVAL);
    cr_assert_not_null(strstr(tern_errmsg(), "more than 16"), "%s", tern_errmsg());
    /* Long patterns are quoted cut short, still naming the start. */
    cr_assert_not_null(strstr(tern_errmsg(), "\"/{p0}/{p1}/"), "%s", tern_errmsg());
    cr_assert_eq(tern_router_count(rt), 1u);
}

Test(router, duplicate_is_eexist)
{
    add_ok(TERN_GET, "/items/{id}", H(0));
    cr_assert_eq(tern_router_add(rt, TERN_GET, "/items/{id}", H(1)), -EEXIST);
    cr_assert_not_null(strstr(tern_errmsg(), "/items/{id}"), "%s", tern_errmsg());
    /* A type does not make a different route: matching ignores it. */
    cr_assert_eq(tern_router_add(rt, TERN_GET, "/items/{id:int}", H(1)), -EEXIST);
    cr_assert_not_null(strstr(tern_errmsg(), "\"/items/{id:int}\""), "%s", tern_errmsg());
    cr_assert_not_null(strstr(tern_errmsg(), "\"/items/{id}\""), "%s", tern_errmsg());
    /* Another method on the same pattern is fine. */
    add_ok(TERN_PUT, "/items/{id:int}", H(2));
    add_ok(TERN_GET, "/", H(3));
    cr_assert_eq(tern_router_add(rt, TERN_GET, "/", H(4)), -EEXIST);
    cr_assert_eq(tern_router_count(rt), 3u);
    /* The first one stays. */
    expect(TERN_GET, "/items/1", H(0), "/items/{id}");
    expect(TERN_GET, "/", H(3), "/");
}

Test(router, conflicting_param_names)
{
    add_ok(TERN_GET, "/items/{id}", H(0));
    int rc = tern_router_add(rt, TERN_GET, "/items/{item_id}/x", H(1));
    cr_assert_eq(rc, -EINVAL);
    const char *msg = tern_errmsg();
    cr_assert_not_null(strstr(msg, "\"/items/{item_id}/x\""), "%s", msg);
    cr_assert_not_null(strstr(msg, "{id}"), "%s", msg);
    cr_assert_not_null(strstr(msg, "\"/items/{id}\""), "%s", msg);
    cr_assert_eq(tern_router_count(rt), 1u);
    expect_404(TERN_GET, "/items/5/x");

    /* Same name, another type and depth: fine. */
    add_ok(TERN_GET, "/items/{id:int}/x", H(2));
    expect(TERN_GET, "/items/5/x", H(2), "/items/{id:int}/x");

    /* Catch-alls follow the same rule. */
    add_ok(TERN_GET, "/f/{p:path}", H(3));
    cr_assert_eq(tern_router_add(rt, TERN_POST, "/f/{rest:path}", H(4)), -EINVAL);
    cr_assert_not_null(strstr(tern_errmsg(), "{p}"), "%s", tern_errmsg());
    /* A param and a catch-all at one position are different children: allowed. */
    add_ok(TERN_GET, "/f/{name}", H(5));
    cr_assert_eq(tern_router_count(rt), 4u);
}

/* --- listing ------------------------------------------------------------------------- */

typedef struct seen {
    size_t n;
    tern_method m[8];
    const char *pattern[8];
    void *route[8];
} seen;

static void collect(void *ctx, tern_method m, const char *pattern, void *route)
{
    seen *s = ctx;
    cr_assert_lt(s->n, 8u);
    s->m[s->n] = m;
    s->pattern[s->n] = pattern;
    s->route[s->n] = route;
    s->n++;
}

Test(router, each_in_insertion_order)
{
    add_ok(TERN_POST, "/z", H(0));
    add_ok(TERN_GET, "/a/{id}", H(1));
    add_ok(TERN_GET, "/z", H(2));
    add_ok(TERN_DELETE, "/m/{p:path}", H(3));
    cr_assert_eq(tern_router_add(rt, TERN_GET, "/z", H(4)), -EEXIST);
    cr_assert_eq(tern_router_add(rt, TERN_GET, "/bad{", H(4)), -EINVAL);

    seen s = {0};
    tern_router_each(rt, collect, &s);
    cr_assert_eq(s.n, 4u);
    cr_assert_eq(tern_router_count(rt), 4u);
    static const tern_method wm[] = {TERN_POST, TERN_GET, TERN_GET, TERN_DELETE};
    static const char *wp[] = {"/z", "/a/{id}", "/z", "/m/{p:path}"};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(s.m[i], wm[i], "entry %zu", i);
        cr_assert_str_eq(s.pattern[i], wp[i], "entry %zu", i);
        cr_assert_eq(s.route[i], H(i), "entry %zu", i);
    }
}

Test(router, empty_router)
{
    tern_route_match o;
    cr_assert_eq(tern_router_count(rt), 0u);
    expect_404(TERN_GET, "/");
    cr_assert_eq(match(TERN_GET, "/", &o), -ENOENT);
    cr_assert_eq(o.steps, 1u);
    seen s = {0};
    tern_router_each(rt, collect, &s);
    cr_assert_eq(s.n, 0u);
    tern_router_free(NULL);
}

/* --- scale --------------------------------------------------------------------------- */

#define MANY 1000
static int item_h[MANY], detail_h[MANY], static_h[MANY];

/* n routes of each shape: GET /r{i}/items/{id}, GET /r{i}/items/{id}/detail and
 * POST /s{i}/a/b/c (all static). */
static void add_many(tern_router *r, int n)
{
    char pat[64];
    for (int i = 0; i < n; i++) {
        snprintf(pat, sizeof pat, "/r%d/items/{id}", i);
        cr_assert_eq(tern_router_add(r, TERN_GET, pat, &item_h[i]), 0, "%s", tern_errmsg());
        snprintf(pat, sizeof pat, "/r%d/items/{id}/detail", i);
        cr_assert_eq(tern_router_add(r, TERN_GET, pat, &detail_h[i]), 0, "%s", tern_errmsg());
        snprintf(pat, sizeof pat, "/s%d/a/b/c", i);
        cr_assert_eq(tern_router_add(r, TERN_POST, pat, &static_h[i]), 0, "%s", tern_errmsg());
    }
}

Test(router, thousand_routes_each_match_their_own)
{
    add_many(rt, MANY);
    cr_assert_eq(tern_router_count(rt), 3u * MANY);
    char path[64], id[16];
    tern_route_match o;
    for (int i = 0; i < MANY; i++) {
        snprintf(id, sizeof id, "%d", i * 7 + 3);
        snprintf(path, sizeof path, "/r%d/items/%s", i, id);
        cr_assert_eq(match(TERN_GET, path, &o), 0, "%s", path);
        cr_assert_eq(o.route, &item_h[i], "%s", path);
        expect_capture(&o, 0, "id", TERN_T_STR, id);

        snprintf(path, sizeof path, "/r%d/items/%s/detail", i, id);
        cr_assert_eq(match(TERN_GET, path, &o), 0, "%s", path);
        cr_assert_eq(o.route, &detail_h[i], "%s", path);
        expect_capture(&o, 0, "id", TERN_T_STR, id);

        snprintf(path, sizeof path, "/s%d/a/b/c", i);
        cr_assert_eq(match(TERN_POST, path, &o), 0, "%s", path);
        cr_assert_eq(o.route, &static_h[i], "%s", path);
        cr_assert_eq(match(TERN_GET, path, &o), -ENOTSUP, "%s", path);
        cr_assert_eq(o.allowed, BIT(TERN_POST));
    }
    expect_404(TERN_GET, "/r1000/items/1");
    expect_404(TERN_GET, "/s1000/a/b/c");
    expect_404(TERN_GET, "/r1/items/1/details");
}

Test(router, cost_does_not_grow_with_route_count)
{
    /* 10 routes against 3,000: the same paths visit the same number of nodes. */
    tern_router *small = tern_router_new();
    cr_assert_not_null(small);
    char pat[64];
    for (int i = 0; i < 5; i++) {
        snprintf(pat, sizeof pat, "/r%d/items/{id}/detail", i);
        cr_assert_eq(tern_router_add(small, TERN_GET, pat, &detail_h[i]), 0);
        snprintf(pat, sizeof pat, "/s%d/a/b/c", i);
        cr_assert_eq(tern_router_add(small, TERN_POST, pat, &static_h[i]), 0);
    }
    cr_assert_eq(tern_router_count(small), 10u);
    add_many(rt, MANY);

    static const struct {
        tern_method m;
        const char *path;
        unsigned steps;
    } probes[] = {
        {TERN_GET, "/r4/items/42/detail", 5}, /* root, r4, items, {id}, detail */
        {TERN_POST, "/s3/a/b/c", 5},
        {TERN_GET, "/r4/items/42/nope", 4},   /* 404 after the same walk */
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        const char *p = probes[i].path;
        tern_route_match a, b;
        int ra = tern_router_match(small, probes[i].m, p, strlen(p), &a);
        int rb = tern_router_match(rt, probes[i].m, p, strlen(p), &b);
        cr_assert_eq(ra, rb, "%s", p);
        cr_assert_eq(a.route, b.route, "%s", p);
        cr_assert_eq(a.steps, probes[i].steps, "%s: %u steps with 10 routes", p, a.steps);
        cr_assert_eq(b.steps, a.steps, "%s: %u steps with 3000 routes, %u with 10", p, b.steps,
                     a.steps);
    }
    tern_router_free(small);
}
