/* tests/integration/test_tfb.c - an independent checker of tern-service's seven
 * TechEmpower test types, written from the rules in ../shared/tfb/README.md (what
 * TFB's verifier checks), against a private MariaDB loaded with the official data:
 * Server and Date headers, Content-Length or chunked, the exact Content-Type per type,
 * status 200, exact JSON shapes and key case, the parameter clamping cases, the
 * fortunes page, and updates that really reach the database. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "backends.h"
#include "service.h"

static backend maria;
static svc s;

static void start(void)
{
    cr_assert_eq(backend_mariadb_start(&maria), 0, "mariadbd did not start");
    static char m_env[300];
    snprintf(m_env, sizeof m_env, "TERN_MYSQL_URL=%s", maria.url);
    const char *env[] = {m_env, "TERN_MYSQL_POOL_MAX=10", "TERN_ACCESS_LOG=off",
                         "TERN_REQUEST_TIMEOUT_MS=10000", NULL};
    cr_assert_eq(svc_start(&s, NULL, NULL, env, "/healthz"), 0);
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 15), 0, "tern-service did not exit 0");
    backend_stop(&maria);
}

TestSuite(tfb, .init = start, .fini = stop, .timeout = 120);

/* ---- the rules for every test type -------------------------------------------------- */

#define CT_JSON "^application/json(; ?charset=(UTF|utf)-8)?$"
#define CT_TEXT "^text/plain(; ?charset=(UTF|utf)-8)?$"
#define CT_HTML "^text/html; ?charset=(UTF|utf)-8$"

static bool matches(const char *re, const char *s)
{
    regex_t rx;
    cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

/* Parses an HTTP Date in the verifier's format; false when it does not parse. */
static bool parse_date(const char *v, time_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return false;
    *out = timegm(&tm);
    return true;
}

/* GETs path and checks what every test type must have; returns the response. */
static http_resp fetch(const char *path, const char *ctype_re)
{
    http_resp r;
    cr_assert_eq(http_request(&s, "GET", path, NULL, NULL, 30, &r), 0, "%s: no response", path);
    cr_expect_eq(r.status, 200, "%s: status %ld, body %.200s", path, r.status, r.body);
    char v[256];
    cr_expect_not_null(http_header(&r, "Server", v, sizeof v), "%s: no Server header", path);
    const char *date = http_header(&r, "Date", v, sizeof v);
    time_t t;
    cr_expect(date && parse_date(date, &t), "%s: Date missing or unparsable: %s", path,
              date ? date : "(none)");
    if (date)
        cr_expect(llabs((long long)(t - time(NULL))) <= 2, "%s: Date %s is not now", path, v);
    const char *te = http_header(&r, "Transfer-Encoding", v, sizeof v);
    bool chunked = te && strcasestr(te, "chunked");
    cr_expect(chunked || http_header(&r, "Content-Length", v, sizeof v),
              "%s: neither Content-Length nor chunked", path);
    if (!chunked && http_header(&r, "Content-Length", v, sizeof v))
        cr_expect_eq((size_t)atol(v), r.len, "%s: Content-Length %s, body %zu bytes", path, v,
                     r.len);
    const char *ct = http_header(&r, "Content-Type", v, sizeof v);
    cr_expect(ct && matches(ctype_re, ct), "%s: Content-Type %s", path, ct ? ct : "(none)");
    cr_expect_null(http_header(&r, "Content-Encoding", v, sizeof v), "%s: compressed", path);
    return r;
}

static json_t *fetch_json(const char *path)
{
    http_resp r = fetch(path, CT_JSON);
    json_error_t err;
    json_t *j = json_loads(r.body, JSON_DECODE_ANY, &err);
    cr_expect_not_null(j, "%s: not JSON (%s): %.200s", path, err.text, r.body);
    http_resp_free(&r);
    return j;
}

/* A World object: exactly the keys id and randomNumber (case matters), integers, in range. */
static bool check_world(const char *path, const json_t *o)
{
    bool ok = json_is_object(o) && json_object_size(o) == 2;
    const json_t *id = json_object_get(o, "id"), *rn = json_object_get(o, "randomNumber");
    ok = ok && json_is_integer(id) && json_is_integer(rn);
    ok = ok && json_integer_value(id) >= 1 && json_integer_value(id) <= 10000;
    ok = ok && json_integer_value(rn) >= 1 && json_integer_value(rn) <= 10000;
    char *text = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
    cr_expect(ok, "%s: not a World object: %s", path, text ? text : "(null)");
    free(text);
    return ok;
}

/* A JSON array of exactly want World objects (an array even for 1). */
static json_t *check_worlds(const char *path, size_t want)
{
    json_t *a = fetch_json(path);
    cr_expect(json_is_array(a), "%s: not an array", path);
    cr_expect_eq(json_array_size(a), want, "%s: %zu items, want %zu", path, json_array_size(a),
                 want);
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o) {
        if (!check_world(path, o))
            break;
    }
    return a;
}

/* The verifier's cases for queries-style routes: 2, 0, foo, 501, empty; and a few more. */
static void check_clamping(const char *route, const char *param)
{
    static const struct {
        const char *value; /* NULL: no parameter at all */
        size_t want;
    } cases[] = {{"2", 2}, {"0", 1}, {"foo", 1}, {"501", 500}, {"", 1}, {NULL, 1},
                 {"-1", 1}, {"1", 1}, {"500", 500}, {"3.5", 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        if (cases[i].value)
            snprintf(path, sizeof path, "%s?%s=%s", route, param, cases[i].value);
        else
            snprintf(path, sizeof path, "%s", route);
        json_decref(check_worlds(path, cases[i].want));
    }
    /* 20 rows: random ids, so nearly all distinct */
    char path[128];
    snprintf(path, sizeof path, "%s?%s=20", route, param);
    json_t *a = check_worlds(path, 20);
    int distinct = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        bool seen = false;
        json_int_t id = json_integer_value(json_object_get(json_array_get(a, i), "id"));
        for (size_t k = 0; k < i && !seen; k++)
            seen = json_integer_value(json_object_get(json_array_get(a, k), "id")) == id;
        distinct += !seen;
    }
    cr_expect_geq(distinct, 15, "%s: only %d distinct ids of 20", path, distinct);
    json_decref(a);
}

/* ---- the seven test types ------------------------------------------------------------ */

Test(tfb, json_and_a_date_that_moves)
{
    http_resp r = fetch("/json", CT_JSON);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_expect(json_is_object(j) && json_object_size(j) == 1, "/json: %s", r.body);
    cr_expect_str_eq(json_string_value(json_object_get(j, "message")) ?: "", "Hello, World!");
    json_decref(j);
    char d1[64] = "", d2[64] = "";
    http_header(&r, "Date", d1, sizeof d1);
    http_resp_free(&r);
    /* the verifier asks twice 3 s apart; 1.1 s is enough to cross a second boundary */
    usleep(1100000);
    r = fetch("/json", CT_JSON);
    http_header(&r, "Date", d2, sizeof d2);
    http_resp_free(&r);
    cr_expect_str_neq(d1, d2, "Date did not change in 1.1 s: %s", d1);
}

Test(tfb, plaintext)
{
    http_resp r = fetch("/plaintext", CT_TEXT);
    cr_expect_eq(r.len, 13);
    cr_expect_str_eq(r.body, "Hello, World!");
    http_resp_free(&r);
}

Test(tfb, db_is_one_random_world_object)
{
    json_int_t first = 0;
    bool varied = false;
    for (int i = 0; i < 10; i++) {
        json_t *o = fetch_json("/db");
        cr_expect(json_is_object(o), "/db must be an object, not an array");
        check_world("/db", o);
        json_int_t id = json_integer_value(json_object_get(o, "id"));
        varied = varied || (i && id != first);
        first = i ? first : id;
        json_decref(o);
    }
    cr_expect(varied, "/db returned the same id 10 times: not random");
}

Test(tfb, queries_shape_and_clamping)
{
    check_clamping("/queries", "queries");
}

Test(tfb, cached_queries_shape_and_clamping)
{
    check_clamping("/cached-queries", "count");
}

/* The page the rules expect, whitespace between tags removed. */
static const char expected_fortunes[] =
    "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th>"
    "<th>message</th></tr><tr><td>11</td><td>&lt;script&gt;alert(&quot;This should not be "
    "displayed in a browser alert box.&quot;);&lt;/script&gt;</td></tr><tr><td>4</td><td>A bad "
    "random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1</td></tr><tr><td>5</td><td>A "
    "computer program does what you tell it to do, not what you want it to do.</td></tr><tr>"
    "<td>2</td><td>A computer scientist is someone who fixes things that aren&apos;t broken."
    "</td></tr><tr><td>8</td><td>A list is only as strong as its weakest link. \u2014 Donald "
    "Knuth</td></tr><tr><td>0</td><td>Additional fortune added at request time.</td></tr><tr>"
    "<td>3</td><td>After enough decimal places, nobody gives a damn.</td></tr><tr><td>7</td>"
    "<td>Any program that runs right is obsolete.</td></tr><tr><td>10</td><td>Computers make "
    "very fast, very accurate mistakes.</td></tr><tr><td>6</td><td>Emacs is a nice operating "
    "system, but I prefer UNIX. \u2014 Tom Christaensen</td></tr><tr><td>9</td><td>Feature: A "
    "bug with seniority.</td></tr><tr><td>1</td><td>fortune: No such file or directory</td>"
    "</tr><tr><td>12</td><td>\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1"
    "\u30de\u30fc\u30af</td></tr></table></body></html>";

/* What the verifier normalises: whitespace-only text between tags, and the entity
 * spellings it accepts as equal. Returns a new string (free it). */
static char *normalise(const char *html)
{
    static const char *const same[][2] = {
        {"&#39;", "&apos;"}, {"&#x27;", "&apos;"}, {"&#34;", "&quot;"},
        {"&#x22;", "&quot;"}, {"&#60;", "&lt;"}, {"&#62;", "&gt;"},
    };
    char *out = malloc(2 * strlen(html) + 1), *w = out;
    cr_assert_not_null(out);
    const char *p = html;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    while (*p) {
        if (*p == '>') {
            const char *q = p + 1;
            while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')
                q++;
            if (*q == '<' || !*q) {
                *w++ = '>';
                p = q;
                continue;
            }
        }
        bool replaced = false;
        for (size_t i = 0; *p == '&' && !replaced && i < sizeof same / sizeof same[0]; i++) {
            size_t n = strlen(same[i][0]);
            if (strncmp(p, same[i][0], n) == 0) {
                w = stpcpy(w, same[i][1]);
                p += n;
                replaced = true;
            }
        }
        if (!replaced)
            *w++ = *p++;
    }
    *w = '\0';
    return out;
}

Test(tfb, fortunes_page)
{
    for (int round = 0; round < 2; round++) { /* the runtime fortune must not pile up */
        http_resp r = fetch("/fortunes", CT_HTML);
        cr_expect_null(strstr(r.body, "<script"), "the <script> fortune is not escaped");
        cr_expect_not_null(strstr(r.body, "Additional fortune added at request time."));
        const char *a = strstr(r.body, "&lt;script"), *b = strstr(r.body, "A bad random"),
                   *c = strstr(r.body, "fortune: No such"),
                   *d = strstr(r.body, "\u30d5\u30ec\u30fc\u30e0");
        cr_expect(a && b && c && d && a < b && b < c && c < d, "fortunes not sorted by message");
        char *page = normalise(r.body);
        cr_expect_null(strstr(page, "&#"), "numeric references beyond the accepted ones");
        cr_expect_str_eq(page, expected_fortunes);
        free(page);
        http_resp_free(&r);
    }
}

/* ---- updates reach the database ------------------------------------------------------ */

/* The whole world table read as root through the backend's socket: rn[id]. */
static void snapshot(int *rn)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "mariadb --no-defaults -uroot --socket=%s/mysql.sock -N -B hello_world "
             "-e 'SELECT id, randomNumber FROM world'",
             maria.dir);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    memset(rn, 0, 10001 * sizeof *rn);
    int id, v, rows = 0;
    while (fscanf(p, "%d %d", &id, &v) == 2)
        if (id >= 1 && id <= 10000) {
            rn[id] = v;
            rows++;
        }
    cr_expect_eq(pclose(p), 0, "mariadb client failed");
    cr_assert_eq(rows, 10000, "read %d world rows", rows);
}

Test(tfb, updates_shape_clamping_and_writes)
{
    check_clamping("/updates", "queries");

    /* the verifier's count: after a 501 request, more than 475 rows must differ */
    static int before[10001], after[10001];
    snapshot(before);
    json_t *a = check_worlds("/updates?queries=501", 500);
    snapshot(after);
    int changed = 0;
    for (int id = 1; id <= 10000; id++)
        changed += before[id] != after[id];
    cr_expect_gt(changed, 475, "only %d rows changed after /updates?queries=501", changed);

    /* and the response carries the values written: each id seen once has its value */
    int agree = 0, once = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *o = json_array_get(a, i);
        json_int_t id = json_integer_value(json_object_get(o, "id"));
        int seen = 0;
        for (size_t k = 0; k < json_array_size(a); k++)
            seen += json_integer_value(json_object_get(json_array_get(a, k), "id")) == id;
        if (seen != 1)
            continue; /* a repeated id: which write landed last is up to the tasks */
        once++;
        agree += after[id] == json_integer_value(json_object_get(o, "randomNumber"));
    }
    cr_expect_eq(agree, once, "%d of %d returned values are in the database", agree, once);
    json_decref(a);
}

/* ---- every query reaches the database as its own statement --------------------------- */

/* A global status counter of the backend, read as root through its socket. The
 * verifier reads MySQL's Innodb_rows_read/_updated; MariaDB 10.11 counts the same rows
 * as Rows_read and Handler_update. */
static long long db_status(const char *name)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "mariadb --no-defaults -uroot --socket=%s/mysql.sock -N -B "
             "-e \"SHOW GLOBAL STATUS LIKE '%s'\"",
             maria.dir, name);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char key[128];
    long long v = -1;
    cr_expect_eq(fscanf(p, "%127s %lld", key, &v), 2, "no status %s", name);
    pclose(p);
    return v;
}

/* The verifier's rule: at least want (1.5% allowance), at most 5% above it. */
static void expect_count(const char *what, const char *path, long long got, long long want)
{
    cr_expect(got >= want - want * 15 / 1000 && got <= want + want / 20,
              "%s: %s moved by %lld, want %lld", path, what, got, want);
}

/* Sends n requests of path, 16 at a time, all 200; then checks the statement counters. */
static void count_queries(const char *path, int n, long long selects, long long updates,
                          long long rows_read_min)
{
    long long sel0 = db_status("Com_select"), upd0 = db_status("Com_update");
    long long read0 = db_status("Rows_read");
    long statuses[64];
    cr_assert_leq(n, 64);
    cr_expect_eq(http_parallel(&s, path, n, 16, 30, statuses), n, "%s: not all 200", path);
    expect_count("Com_select", path, db_status("Com_select") - sel0, selects);
    expect_count("Com_update", path, db_status("Com_update") - upd0, updates);
    long long read = db_status("Rows_read") - read0;
    cr_expect_geq(read, rows_read_min, "%s: %lld rows read, want >= %lld", path, read,
                  rows_read_min);
}

Test(tfb, each_query_is_its_own_statement)
{
    count_queries("/db", 64, 64, 0, 64);
    count_queries("/queries?queries=20", 32, 640, 0, 640);
    count_queries("/fortunes", 32, 32, 0, 32 * 12);
    /* 20 SELECTs each, then the 20 new values in one UPDATE statement (allowed) */
    long long upd_rows0 = db_status("Handler_update");
    count_queries("/updates?queries=20", 32, 640, 32, 640);
    long long updated = db_status("Handler_update") - upd_rows0;
    cr_expect_geq(updated, 640 * 95 / 100, "/updates: %lld rows updated, want 640", updated);
    /* cached-queries must not query */
    count_queries("/cached-queries?count=20", 32, 0, 0, 0);
}

/* HTTP/1.1 pipelining (16 /plaintext requests per write) is checked in test_http.c. */
