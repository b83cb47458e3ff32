/* tests/integration/test_hostile_sql.c - SQL injection through every parameter of the
 * example service's database routes (/db, /queries, /updates, /cached-queries,
 * /fortunes, /mysql, /db/sleep, /heroes and /heroes/{hero_id} with their query
 * parameters and JSON bodies, /items/{item_id}). Every answer is a clean 4xx or the
 * normal one, none waits on an injected SLEEP, and the world, fortune and hero tables
 * (rows and contents, checked over SQL as root), the schema and the users are unchanged
 * afterwards. Strings sent in a hero's body are stored byte for byte, as data. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends.h"
#include "raw.h"
#include "service.h"

static backend redis, maria;
static svc s;

static void start(void)
{
    static const char *const env[] = {
        "TERN_ACCESS_LOG=off",
        "TERN_REQUEST_TIMEOUT_MS=10000",
        NULL,
    };
    cr_assert_eq(svc_start_with_backends(&s, &redis, &maria, env), 0,
                 "tern-service with Redis and MariaDB did not start");
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 15), 0, "tern-service did not exit 0");
    backend_stop(&redis);
    backend_stop(&maria);
}

TestSuite(hostile_sql, .init = start, .fini = stop, .timeout = 180);

/* Runs one query as root over the server's socket; the first line of its output
 * (malloc'd), or NULL. The SQL goes through a file: no shell quoting to get wrong. */
static char *root_sql(const char *sql)
{
    char file[] = "/tmp/tern-hostile-sql-XXXXXX";
    int fd = mkstemp(file);
    if (fd < 0)
        return NULL;
    FILE *w = fdopen(fd, "w");
    fprintf(w, "%s;\n", sql);
    fclose(w);
    char cmd[800];
    snprintf(cmd, sizeof cmd,
             "mariadb --no-defaults -uroot --socket=%s/mysql.sock -N -B hello_world < %s",
             maria.dir, file);
    FILE *f = popen(cmd, "r");
    char line[4096] = "";
    char *got = f ? fgets(line, sizeof line, f) : NULL;
    int rc = f ? pclose(f) : -1;
    unlink(file);
    if (!got || rc != 0)
        return NULL;
    line[strcspn(line, "\n")] = '\0';
    return strdup(line);
}

/* Row counts and checksums of every row's contents, the tables of the schema, the users. */
static const char snapshot_sql[] =
    "SELECT CONCAT_WS(' ', "
    "(SELECT CONCAT(COUNT(*), ':', SUM(CRC32(CONCAT_WS('|', id, randomNumber)))) FROM world), "
    "(SELECT CONCAT(COUNT(*), ':', SUM(CRC32(CONCAT_WS('|', id, message)))) FROM fortune), "
    "(SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, name, secret_name, "
    "IFNULL(age, 'null')))), 0)) FROM hero), "
    "(SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables "
    "WHERE table_schema = 'hello_world'), "
    "(SELECT GROUP_CONCAT(CONCAT(user, '@', host) ORDER BY user, host) FROM mysql.user))";

/* /updates changes randomNumbers by design: only the rows, their ids and range stay. */
static const char world_shape_sql[] =
    "SELECT CONCAT_WS(' ', COUNT(*), SUM(id), MIN(randomNumber) >= 1, MAX(randomNumber) <= 10000) "
    "FROM world";

static const char *const payloads[] = {
    "1 OR 1=1",
    "1' OR '1'='1",
    "1; DROP TABLE world; --",
    "1); DELETE FROM fortune; --",
    "0 UNION SELECT id, message FROM fortune",
    "1 AND SLEEP(3)",
    "1' AND SLEEP(3) AND '1'='1",
    "'; UPDATE hero SET name='pwned'; --",
    "\\' OR 1=1 #",
    "1/**/OR/**/1=1",
    "-1 OR 1=1 LIMIT 1 OFFSET 1",
    "1; SHUTDOWN",
    "1'; GRANT ALL ON *.* TO 'benchmarkdbuser'@'%'; --",
    "CHAR(49)",
    "%27 OR 1=1",
    "\xbf' OR 1=1 -- ", /* a lone GBK lead byte before the quote */
};
#define NPAYLOADS (sizeof payloads / sizeof payloads[0])

/* Percent-encodes everything but unreserved characters. */
static char *enc(const char *p)
{
    char *out = malloc(strlen(p) * 3 + 1), *o = out;
    cr_assert_not_null(out);
    for (const unsigned char *c = (const unsigned char *)p; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~", *c))
            *o++ = (char)*c;
        else
            o += sprintf(o, "%%%02X", *c);
    }
    *o = '\0';
    return out;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* GET path (with %s replaced by the encoded payload); checks the status, that the answer
 * came quickly (no injected SLEEP ran) and returns the body (malloc'd). */
static char *probe(const char *fmt, const char *payload, long want)
{
    char *e = enc(payload);
    char path[2048];
    snprintf(path, sizeof path, fmt, e, e);
    free(e);
    http_resp r;
    cr_assert_eq(http_request(&s, "GET", path, NULL, NULL, 15, &r), 0, "%s: no answer", path);
    cr_expect_eq(r.status, want, "%s: %ld %.200s", path, r.status, r.body);
    cr_expect_lt(r.total_s, 2.0, "%s took %.2f s", path, r.total_s);
    char *body = r.body;
    r.body = NULL;
    http_resp_free(&r);
    return body;
}

static size_t json_array_len_of(const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    size_t n = json_is_array(j) ? json_array_size(j) : (size_t)-1;
    json_decref(j);
    return n;
}

static void probe_reads(const char *p)
{
    free(probe("/db?id=%s", p, 200));
    free(probe("/mysql?id=%s", p, 200));
    char *b = probe("/queries?queries=%s", p, 200); /* not an integer: one row */
    cr_expect_eq(json_array_len_of(b), 1, "/queries?queries=%s: %s", p, b);
    free(b);
    b = probe("/cached-queries?count=%s", p, 200);
    cr_expect_eq(json_array_len_of(b), 1, "/cached-queries?count=%s: %s", p, b);
    free(b);
    b = probe("/fortunes?id=%s", p, 200);
    cr_expect_eq(count_of(b, "<tr><td>"), 13, "/fortunes: %.300s", b);
    cr_expect(strstr(b, "pwned") == NULL);
    free(b);
    free(probe("/db/sleep?ms=%s", p, 422));
    free(probe("/heroes/%s", p, 422));
    free(probe("/heroes?offset=%s&limit=%s", p, 422));
    free(probe("/items/%s?q=%s", p, 422));
}

/* The payload comes back unchanged where a string parameter echoes it. */
static void probe_echo(const char *p)
{
    char *b = probe("/items/1?q=%s", p, 200);
    json_t *j = json_loads(b, 0, NULL);
    const char *q = json_string_value(json_object_get(j, "q"));
    /* invalid UTF-8 is replaced, as in FastAPI; everything else is the payload itself */
    if (!strchr(p, '\xbf'))
        cr_expect(q && !strcmp(q, p), "q came back as '%s' for '%s'", q, p);
    json_decref(j);
    free(b);
}

/* POST a hero whose strings are the payload, read it back over SQL, PATCH, DELETE. */
static void probe_hero_body(const char *p)
{
    if (strchr(p, '\xbf'))
        return; /* not valid JSON text */
    char *body = NULL;
    json_t *j = json_pack("{s:s,s:s,s:i}", "name", p, "secret_name", p, "age", 1);
    body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    http_resp r;
    cr_assert_eq(http_request(&s, "POST", "/heroes", body, hdr, 10, &r), 0);
    free(body);
    cr_assert_eq(r.status, 200, "POST /heroes: %ld %s", r.status, r.body);
    json_t *hero = json_loads(r.body, 0, NULL);
    http_resp_free(&r);
    json_int_t id = json_integer_value(json_object_get(hero, "id"));
    cr_expect_str_eq(json_string_value(json_object_get(hero, "name")), p);
    json_decref(hero);
    /* stored byte for byte: compare as hex, which no quoting can disturb */
    char sql[200], want[512] = "";
    snprintf(sql, sizeof sql,
             "SELECT CONCAT(HEX(name), ' ', HEX(secret_name)) FROM hero WHERE id = %lld",
             (long long)id);
    char *hex = root_sql(sql);
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        sprintf(want + strlen(want), "%02X", *c);
    char both[1100];
    snprintf(both, sizeof both, "%s %s", want, want);
    cr_expect(hex && !strcmp(hex, both), "hero %lld stored as %s, sent %s", (long long)id, hex,
              both);
    free(hex);
    char path[64];
    snprintf(path, sizeof path, "/heroes/%lld", (long long)id);
    j = json_pack("{s:s}", "secret_name", p);
    body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    cr_assert_eq(http_request(&s, "PATCH", path, body, hdr, 10, &r), 0);
    cr_expect_eq(r.status, 200, "PATCH %s: %ld %s", path, r.status, r.body);
    http_resp_free(&r);
    free(body);
    cr_assert_eq(http_request(&s, "DELETE", path, NULL, NULL, 10, &r), 0);
    cr_expect_eq(r.status, 200, "DELETE %s: %ld %s", path, r.status, r.body);
    http_resp_free(&r);
}

Test(hostile_sql, injection_through_every_parameter_changes_nothing)
{
    char *before = root_sql(snapshot_sql);
    cr_assert_not_null(before, "cannot read the tables as root");
    fprintf(stderr, "tables before: %s\n", before);
    for (size_t i = 0; i < NPAYLOADS; i++) {
        probe_reads(payloads[i]);
        probe_echo(payloads[i]);
        probe_hero_body(payloads[i]);
    }
    char *after = root_sql(snapshot_sql);
    cr_expect(after && !strcmp(before, after), "tables changed:\n  before %s\n  after  %s", before,
              after);
    char *shape = root_sql(world_shape_sql);
    for (size_t i = 0; i < NPAYLOADS; i++) {
        char *b = probe("/updates?queries=%s", payloads[i], 200); /* one row, as TFB asks */
        cr_expect_eq(json_array_len_of(b), 1, "/updates?queries=%s: %s", payloads[i], b);
        free(b);
    }
    char *shape_after = root_sql(world_shape_sql);
    cr_expect(shape && shape_after && !strcmp(shape, shape_after) &&
                  !strcmp(shape + strlen(shape) - 3, "1 1"),
              "world after /updates: %s, before %s", shape_after, shape);
    char *final = root_sql(snapshot_sql);
    /* everything but world's randomNumbers: compare from fortune on */
    cr_expect(final && !strcmp(strchr(before, ' '), strchr(final, ' ')),
              "fortune, hero, schema or users changed:\n  before %s\n  after  %s", before, final);
    fprintf(stderr, "tables after: %s\n", final);
    fprintf(stderr,
            "sql injection: %zu payloads through 13 parameters and 2 body fields, "
            "nothing changed\n",
            NPAYLOADS);
    cr_expect(svc_alive(&s));
    free(before);
    free(after);
    free(shape);
    free(shape_after);
    free(final);
}
