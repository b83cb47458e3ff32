/* tests/unit/test_config.c - settings: the built-in defaults, the YAML file, TERN_*
 * environment and flags in that order of precedence, each kind's parsing, the one-line
 * errors, --help, and that the shipped config/tern.yaml and config/example.env say
 * exactly the defaults.
 *
 * Every test runs in its own process (Criterion's default) in a fresh empty working
 * directory with no TERN_* variables set, so setenv/chdir cannot leak between tests and
 * no stray config/tern.yaml is picked up by accident. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tern/config.h"

/* Not in tern/config.h: the bool parser, reached directly because no key is a bool yet. */
int tern_config__parse_bool(const char *text, bool *out);

extern char **environ;

/* The keys the configuration must offer, written out here rather than taken from the
 * implementation, so a key dropped from its table fails the tests that walk this list. */
static const struct {
    const char *key, *env;
} keys[] = {
    {"host", "TERN_HOST"},
    {"port", "TERN_PORT"},
    {"workers", "TERN_WORKERS"},
    {"backlog", "TERN_BACKLOG"},
    {"server_name", "TERN_SERVER_NAME"},
    {"tls.cert", "TERN_TLS_CERT"},
    {"tls.key", "TERN_TLS_KEY"},
    {"limits.body_bytes", "TERN_LIMITS_BODY_BYTES"},
    {"limits.header_bytes", "TERN_LIMITS_HEADER_BYTES"},
    {"limits.json_depth", "TERN_LIMITS_JSON_DEPTH"},
    {"limits.json_items", "TERN_LIMITS_JSON_ITEMS"},
    {"limits.connections", "TERN_LIMITS_CONNECTIONS"},
    {"limits.header_timeout_ms", "TERN_LIMITS_HEADER_TIMEOUT_MS"},
    {"request_timeout_ms", "TERN_REQUEST_TIMEOUT_MS"},
    {"drain_timeout_ms", "TERN_DRAIN_TIMEOUT_MS"},
    {"coroutine.stack_bytes", "TERN_COROUTINE_STACK_BYTES"},
    {"coroutine.max", "TERN_COROUTINE_MAX"},
    {"access_log", "TERN_ACCESS_LOG"},
    {"log_level", "TERN_LOG_LEVEL"},
    {"redis.url", "TERN_REDIS_URL"},
    {"redis.pool_size", "TERN_REDIS_POOL_SIZE"},
    {"redis.timeout_ms", "TERN_REDIS_TIMEOUT_MS"},
    {"redis.connect_timeout_ms", "TERN_REDIS_CONNECT_TIMEOUT_MS"},
    {"mysql.url", "TERN_MYSQL_URL"},
    {"mysql.pool_min", "TERN_MYSQL_POOL_MIN"},
    {"mysql.pool_max", "TERN_MYSQL_POOL_MAX"},
    {"mysql.acquire_timeout_ms", "TERN_MYSQL_ACQUIRE_TIMEOUT_MS"},
    {"mysql.query_timeout_ms", "TERN_MYSQL_QUERY_TIMEOUT_MS"},
    {"mysql.connect_timeout_ms", "TERN_MYSQL_CONNECT_TIMEOUT_MS"},
    {"mysql.idle_ping_ms", "TERN_MYSQL_IDLE_PING_MS"},
    {"mysql.pool_recycle_s", "TERN_MYSQL_POOL_RECYCLE_S"},
    {"crawl.urls", "TERN_CRAWL_URLS"},
    {"cors.allow_origins", "TERN_CORS_ALLOW_ORIGINS"},
    {"cors.allow_methods", "TERN_CORS_ALLOW_METHODS"},
    {"cors.allow_headers", "TERN_CORS_ALLOW_HEADERS"},
    {"cors.allow_credentials", "TERN_CORS_ALLOW_CREDENTIALS"},
    {"cors.expose_headers", "TERN_CORS_EXPOSE_HEADERS"},
    {"cors.max_age", "TERN_CORS_MAX_AGE"},
    {"docs.enabled", "TERN_DOCS_ENABLED"},
    {"docs.title", "TERN_DOCS_TITLE"},
    {"docs.version", "TERN_DOCS_VERSION"},
    {"docs.openapi_url", "TERN_DOCS_OPENAPI_URL"},
    {"docs.assets_dir", "TERN_DOCS_ASSETS_DIR"},
};
#define N_KEYS (sizeof keys / sizeof keys[0])

static char root[PATH_MAX];    /* the source tree (holds config/ and tests/) */
static char workdir[PATH_MAX]; /* this test's scratch working directory */
static char err[512];
static tern_config cfg;

/* ---------------------------------------------------------------------------------
 * Fixture: source root, clean environment, scratch directory
 * ------------------------------------------------------------------------------ */

/* $TERN_SOURCE_ROOT, else derived from this file's path: meson names sources relative
 * to the build directory (where tests run) or absolutely, and the plain gcc build names
 * them relative to the source root; all three resolve from the starting directory. */
static void find_root(void)
{
    static const char suffix[] = "tests/unit/test_config.c";
    const char *env = getenv("TERN_SOURCE_ROOT"), *file = __FILE__;
    char prefix[PATH_MAX] = ".";
    size_t len = strlen(file), slen = strlen(suffix);

    root[0] = '\0';
    if (env && *env)
        snprintf(prefix, sizeof prefix, "%s", env);
    else if (len > slen && strcmp(file + len - slen, suffix) == 0)
        snprintf(prefix, sizeof prefix, "%.*s", (int)(len - slen), file);
    if (!realpath(prefix, root))
        root[0] = '\0';
}

static void clear_tern_env(void)
{
    /* Collected first: unsetenv while walking environ would skip entries. */
    char names[64][128];
    size_t n = 0;

    for (char **e = environ; *e && n < 64; e++) {
        size_t len = strcspn(*e, "=");
        if (strncmp(*e, "TERN_", 5) == 0 && len < sizeof names[0])
            snprintf(names[n++], sizeof names[0], "%.*s", (int)len, *e);
    }
    for (size_t i = 0; i < n; i++)
        unsetenv(names[i]);
}

static void setup(void)
{
    find_root();
    clear_tern_env();
    snprintf(workdir, sizeof workdir, "/tmp/tern_config_test.XXXXXX");
    cr_assert_not_null(mkdtemp(workdir), "mkdtemp: %s", strerror(errno));
    cr_assert_eq(chdir(workdir), 0, "chdir: %s", strerror(errno));
    memset(&cfg, 0, sizeof cfg);
    err[0] = '\0';
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    tern_config_free(&cfg);
    if (chdir("/") == 0)
        nftw(workdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------ */

/* Writes text to path under the scratch directory, creating config/ when named. */
static void write_file(const char *path, const char *text)
{
    FILE *f;

    if (strncmp(path, "config/", 7) == 0)
        mkdir("config", 0755);
    f = fopen(path, "w");
    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static const char *source_path(const char *rel)
{
    static char path[PATH_MAX * 2];

    cr_assert(root[0], "source root not found; set TERN_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return path;
}

/* Loads with argv = {"tern", args..., NULL}. */
static int load(char **args)
{
    char *argv[32] = {"tern"};
    int argc = 1;

    while (args && *args && argc < 31)
        argv[argc++] = *args++;
    argv[argc] = NULL;
    return tern_config_load(&cfg, argc, argv, err, sizeof err);
}

#define ARGS(...) ((char *[]){__VA_ARGS__, NULL})

static int load_yaml(const char *text)
{
    write_file("t.yaml", text);
    return load(ARGS("--config", "t.yaml"));
}

/* Errors are one line starting "config: ", with no newline (the caller adds it). */
static void assert_error_line(void)
{
    cr_assert(strncmp(err, "config: ", 8) == 0, "error should start with 'config: ': %s", err);
    cr_assert_null(strchr(err, '\n'), "error should be one line: %s", err);
}

static void assert_error_has(const char *part)
{
    assert_error_line();
    cr_assert_not_null(strstr(err, part), "expected \"%s\" in: %s", part, err);
}

static void assert_load_fails(int rc, const char *part)
{
    cr_assert_eq(rc, -1, "load should fail (rc %d)", rc);
    assert_error_has(part);
}

static void assert_defaults(const tern_config *c)
{
    cr_assert_str_eq(c->host, "0.0.0.0");
    cr_assert_eq(c->port, 8080);
    cr_assert_eq(c->workers, 1);
    cr_assert_eq(c->backlog, 4096);
    cr_assert_str_eq(c->server_name, "tern");
    cr_assert_str_eq(c->tls_cert, "");
    cr_assert_str_eq(c->tls_key, "");
    cr_assert_eq(c->body_limit, 1024 * 1024);
    cr_assert_eq(c->header_limit, 16 * 1024);
    cr_assert_eq(c->max_connections, 10000);
    cr_assert_eq(c->header_timeout_ms, 10000);
    cr_assert_eq(c->request_timeout_ms, 10000);
    cr_assert_eq(c->drain_timeout_ms, 25000);
    cr_assert_eq(c->stack_size, 65536);
    cr_assert_eq(c->max_coroutines, 10000);
    cr_assert_eq(c->access_log, TERN_ACCESS_LOG_PLAIN);
    cr_assert_eq(c->log_level, TERN_LOG_INFO);
}

/* Sets key through tern_config_set on a defaults config; returns its rc. */
static int set(const char *key, const char *value)
{
    tern_config_free(&cfg);
    tern_config_defaults(&cfg);
    err[0] = '\0';
    return tern_config_set(&cfg, key, value, err, sizeof err);
}

static void assert_set_fails(const char *key, const char *value, const char *part)
{
    cr_assert_eq(set(key, value), -1, "%s=\"%s\" should be rejected", key, value);
    assert_error_has(key);
    assert_error_has(part);
}

/* The process's CPU affinity, counted independently of the code under test. */
static int affinity_cpus(void)
{
    cpu_set_t set;

    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0, "%s", strerror(errno));
    return CPU_COUNT(&set);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t cap = 0;
    ssize_t got;

    cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
    got = getdelim(&text, &cap, '\0', f);
    fclose(f);
    cr_assert_geq(got, 0, "read %s", path);
    return text;
}

/* ---------------------------------------------------------------------------------
 * Defaults
 * ------------------------------------------------------------------------------ */

Test(config, defaults_fill_every_field)
{
    memset(&cfg, 0xa5, sizeof cfg); /* defaults must not depend on what was there */
    tern_config_defaults(&cfg);
    assert_defaults(&cfg);
    cr_assert_null(cfg.config_path);
}

Test(config, default_strings_are_owned_copies)
{
    tern_config other;

    tern_config_defaults(&cfg);
    tern_config_defaults(&other);
    /* Distinct heap copies: freeing one config must not touch the other. */
    cr_assert_neq(cfg.host, other.host);
    cr_assert_neq(cfg.tls_cert, other.tls_cert);
    tern_config_free(&other);
    cr_assert_null(other.host);
    cr_assert_null(other.server_name);
    tern_config_free(&other); /* a second free is harmless */
    cr_assert_str_eq(cfg.host, "0.0.0.0");
}

Test(config, load_with_no_sources_gives_defaults)
{
    cr_assert_eq(load(NULL), 0, "%s", err);
    assert_defaults(&cfg);
    cr_assert_null(cfg.config_path, "no file should be recorded when none exists");
    cr_assert_str_eq(err, "");
}

/* ---------------------------------------------------------------------------------
 * The YAML file
 * ------------------------------------------------------------------------------ */

Test(config, file_sets_every_key)
{
    const char *path = source_path("tests/unit/data/config/full.yaml");

    cr_assert_eq(load(ARGS("--config", (char *)path)), 0, "%s", err);
    cr_assert_str_eq(cfg.host, "::1");
    cr_assert_eq(cfg.port, 9090);
    cr_assert_eq(cfg.workers, 3);
    cr_assert_eq(cfg.backlog, 128);
    cr_assert_str_eq(cfg.server_name, "tern-test");
    cr_assert_str_eq(cfg.tls_cert, "/etc/tern/cert.pem");
    cr_assert_str_eq(cfg.tls_key, "/etc/tern/key.pem");
    cr_assert_eq(cfg.body_limit, 2 * 1024 * 1024);
    cr_assert_eq(cfg.header_limit, 32 * 1024);
    cr_assert_eq(cfg.max_connections, 500);
    cr_assert_eq(cfg.header_timeout_ms, 5000);
    cr_assert_eq(cfg.request_timeout_ms, 1500);
    cr_assert_eq(cfg.drain_timeout_ms, 0);
    cr_assert_eq(cfg.stack_size, 128 * 1024);
    cr_assert_eq(cfg.max_coroutines, 2000);
    cr_assert_eq(cfg.access_log, TERN_ACCESS_LOG_JSON);
    cr_assert_eq(cfg.log_level, TERN_LOG_DEBUG);
    cr_assert_str_eq(cfg.config_path, path);
}

Test(config, config_flag_with_equals)
{
    write_file("a.yaml", "port: 9001\n");
    cr_assert_eq(load(ARGS("--config=a.yaml")), 0, "%s", err);
    cr_assert_eq(cfg.port, 9001);
    cr_assert_str_eq(cfg.config_path, "a.yaml");
}

Test(config, tern_config_env_names_the_file)
{
    write_file("a.yaml", "port: 9002\n");
    setenv("TERN_CONFIG", "a.yaml", 1);
    cr_assert_eq(load(NULL), 0, "%s", err);
    cr_assert_eq(cfg.port, 9002);
    cr_assert_str_eq(cfg.config_path, "a.yaml");
}

Test(config, config_flag_beats_tern_config_env)
{
    write_file("a.yaml", "port: 9002\n");
    write_file("b.yaml", "port: 9003\n");
    setenv("TERN_CONFIG", "a.yaml", 1);
    cr_assert_eq(load(ARGS("--config", "b.yaml")), 0, "%s", err);
    cr_assert_eq(cfg.port, 9003);
}

Test(config, default_file_in_working_directory_is_read)
{
    write_file("config/tern.yaml", "port: 9004\n");
    cr_assert_eq(load(NULL), 0, "%s", err);
    cr_assert_eq(cfg.port, 9004);
    cr_assert_str_eq(cfg.config_path, "config/tern.yaml");
}

Test(config, empty_tern_config_env_means_the_default_file)
{
    write_file("config/tern.yaml", "port: 9005\n");
    setenv("TERN_CONFIG", "", 1);
    cr_assert_eq(load(NULL), 0, "%s", err);
    cr_assert_eq(cfg.port, 9005);
}

Test(config, missing_named_file_is_an_error)
{
    assert_load_fails(load(ARGS("--config", "nope.yaml")), "nope.yaml");
    assert_error_has("--config");
    assert_error_has("No such file");
    cr_assert_null(cfg.host, "a failed load frees what it allocated");
}

Test(config, missing_file_from_env_is_an_error)
{
    setenv("TERN_CONFIG", "gone.yaml", 1);
    assert_load_fails(load(NULL), "gone.yaml");
    assert_error_has("TERN_CONFIG");
}

Test(config, empty_config_flag_is_an_error)
{
    assert_load_fails(load(ARGS("--config=")), "--config");
}

Test(config, directory_as_file_is_an_error)
{
    mkdir("adir", 0755);
    assert_load_fails(load(ARGS("--config", "adir")), "adir");
}

Test(config, empty_and_comment_only_files_are_fine)
{
    cr_assert_eq(load_yaml(""), 0, "%s", err);
    assert_defaults(&cfg);
    tern_config_free(&cfg);
    cr_assert_eq(load_yaml("# nothing here\n\n"), 0, "%s", err);
    assert_defaults(&cfg);
    cr_assert_str_eq(cfg.config_path, "t.yaml");
}

Test(config, unknown_nested_key_names_key_file_and_line)
{
    const char *path = source_path("tests/unit/data/config/unknown_key.yaml");
    char where[PATH_MAX * 2 + 16];

    assert_load_fails(load(ARGS("--config", (char *)path)), "limits.body_byte ");
    snprintf(where, sizeof where, "(%s line 5)", path);
    assert_error_has(where);
    assert_error_has("unknown key");
    assert_error_has("did you mean limits.body_bytes?");
}

Test(config, unknown_top_level_key)
{
    assert_load_fails(load_yaml("port: 1\n\nprot: 2\n"),
                      "config: prot (t.yaml line 3): unknown key");
    assert_error_has("did you mean port?");
}

Test(config, leaf_key_outside_its_group_suggests_the_group)
{
    assert_load_fails(load_yaml("body_bytes: 2m\n"), "body_bytes (t.yaml line 1)");
    assert_error_has("did you mean limits.body_bytes?");
}

Test(config, bad_value_names_key_file_and_line)
{
    assert_load_fails(load_yaml("port: 8080\n\nlimits:\n  header_bytes: lots\n"), "");
    cr_assert_str_eq(err, "config: limits.header_bytes (t.yaml line 4): "
                          "expected a size like 16384 or 16k, got \"lots\"");
}

Test(config, list_keys_take_a_yaml_sequence_or_a_comma_list)
{
    cr_assert_eq(load_yaml("cors:\n  allow_origins: [https://a.example, \"https://b.example\"]\n"
                           "  allow_methods:\n    - GET\n    - POST\n  max_age: 60\n"),
                 0, "%s", err);
    cr_assert_str_eq(cfg.cors_allow_origins, "https://a.example,https://b.example");
    cr_assert_str_eq(cfg.cors_allow_methods, "GET,POST");
    cr_assert_eq(cfg.cors_max_age, 60);
    tern_config_free(&cfg);
    cr_assert_eq(load_yaml("cors:\n  allow_headers: []\n"), 0, "%s", err);
    cr_assert_str_eq(cfg.cors_allow_headers, "");
    tern_config_free(&cfg);
    setenv("TERN_CORS_ALLOW_ORIGINS", "*", 1);
    cr_assert_eq(load_yaml("cors:\n  allow_origins: [https://a.example]\n"), 0, "%s", err);
    cr_assert_str_eq(cfg.cors_allow_origins, "*", "env beats file");
    tern_config_free(&cfg);
    assert_load_fails(load_yaml("cors:\n  allow_origins: [[a]]\n"), "cors.allow_origins");
    assert_error_has("list of values");
    tern_config_free(&cfg);
    assert_load_fails(load_yaml("cors:\n  expose_headers: [\"a,b\"]\n"), "cors.expose_headers");
    assert_error_has("comma");
}

Test(config, sequence_where_a_value_belongs)
{
    assert_load_fails(load_yaml("port: 1\nworkers: [1, 2]\n"), "workers (t.yaml line 2)");
    assert_error_has("got a list");
    tern_config_free(&cfg);
    assert_load_fails(load_yaml("tls:\n  cert:\n    - a\n    - b\n"), "tls.cert (t.yaml line 3)");
    assert_error_has("got a list");
}

Test(config, mapping_where_a_value_belongs)
{
    assert_load_fails(load_yaml("port:\n  number: 1\n"), "port (t.yaml line 2)");
    assert_error_has("got a mapping");
}

Test(config, group_given_a_value)
{
    assert_load_fails(load_yaml("limits: 5\n"), "limits (t.yaml line 1)");
    assert_error_has("got \"5\"");
    tern_config_free(&cfg);
    assert_load_fails(load_yaml("tls: [a]\n"), "tls (t.yaml line 1)");
}

Test(config, empty_group_is_fine)
{
    cr_assert_eq(load_yaml("tls:\n  # cert: a.pem\nport: 9006\n"), 0, "%s", err);
    cr_assert_eq(cfg.port, 9006);
    cr_assert_str_eq(cfg.tls_cert, "");
}

Test(config, null_values_are_empty_strings)
{
    cr_assert_eq(load_yaml("tls:\n  cert:\n  key: ~\nserver_name: \"\"\n"), 0, "%s", err);
    cr_assert_str_eq(cfg.tls_cert, "");
    cr_assert_str_eq(cfg.tls_key, "");
    cr_assert_str_eq(cfg.server_name, "");
}

Test(config, dotted_keys_work_at_the_top_level)
{
    cr_assert_eq(load_yaml("limits.body_bytes: 3m\ncoroutine.max: 7\n"), 0, "%s", err);
    cr_assert_eq(cfg.body_limit, 3 * 1024 * 1024);
    cr_assert_eq(cfg.max_coroutines, 7);
}

Test(config, duplicate_key_is_an_error)
{
    assert_load_fails(load_yaml("port: 1\nlimits:\n  connections: 5\nport: 2\n"),
                      "port (t.yaml line 4)");
    assert_error_has("first on line 1");
}

Test(config, yaml_syntax_error_names_file_and_line)
{
    const char *path = source_path("tests/unit/data/config/broken.yaml");
    char where[PATH_MAX * 2 + 16];

    assert_load_fails(load(ARGS("--config", (char *)path)), "not valid YAML");
    snprintf(where, sizeof where, "config: %s line 3", path);
    assert_error_has(where);
}

Test(config, top_level_must_be_a_mapping)
{
    assert_load_fails(load_yaml("- port\n- 8080\n"), "t.yaml line 1");
    assert_error_has("mapping");
    tern_config_free(&cfg);
    assert_load_fails(load_yaml("8080\n"), "t.yaml line 1");
}

Test(config, one_document_only)
{
    assert_load_fails(load_yaml("port: 1\n---\nport: 2\n"), "t.yaml line 2");
    assert_error_has("one YAML document");
}

Test(config, aliases_are_refused)
{
    assert_load_fails(load_yaml("port: &p 1\nbacklog: *p\n"), "backlog (t.yaml line 2)");
    assert_error_has("alias");
}

Test(config, complex_keys_are_refused)
{
    assert_load_fails(load_yaml("? [a, b]\n: 1\n"), "t.yaml line 1");
    assert_error_has("key name");
}

Test(config, shipped_yaml_equals_the_defaults)
{
    const char *path = source_path("config/tern.yaml");
    tern_config builtin;

    cr_assert_eq(load(ARGS("--config", (char *)path)), 0, "%s", err);
    cr_assert_str_eq(cfg.config_path, path);
    assert_defaults(&cfg);
    /* And field for field equal to what the code builds in, not only to this test. */
    tern_config_defaults(&builtin);
    cr_assert_str_eq(cfg.host, builtin.host);
    cr_assert_str_eq(cfg.server_name, builtin.server_name);
    cr_assert_str_eq(cfg.tls_cert, builtin.tls_cert);
    cr_assert_str_eq(cfg.tls_key, builtin.tls_key);
    cr_assert_eq(cfg.port, builtin.port);
    cr_assert_eq(cfg.body_limit, builtin.body_limit);
    cr_assert_eq(cfg.stack_size, builtin.stack_size);
    cr_assert_eq(cfg.drain_timeout_ms, builtin.drain_timeout_ms);
    tern_config_free(&builtin);
}

Test(config, shipped_yaml_lists_every_key)
{
    char *text = read_text(source_path("config/tern.yaml"));

    /* Each key's last part starts a line (after indentation), each group appears as
     * "group:" at the start of a line. */
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *dot = strrchr(keys[i].key, '.');
        char leaf[64], group[64];
        snprintf(leaf, sizeof leaf, "%s: ", dot ? dot + 1 : keys[i].key);
        cr_assert_not_null(strstr(text, leaf), "config/tern.yaml lacks %s", keys[i].key);
        if (dot) {
            snprintf(group, sizeof group, "\n%.*s:\n", (int)(dot - keys[i].key), keys[i].key);
            cr_assert_not_null(strstr(text, group), "config/tern.yaml lacks group of %s",
                               keys[i].key);
        }
    }
    free(text);
}

/* Reads an env file the way docker's --env-file does: NAME=value lines, '#' comments. */
static void apply_env_file(const char *path, bool *seen)
{
    FILE *f = fopen(path, "r");
    char line[512];

    cr_assert_not_null(f, "open %s", path);
    while (fgets(line, sizeof line, f)) {
        char *eq = strchr(line, '=');
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        cr_assert_not_null(eq, "not NAME=value: %s", line);
        *eq = '\0';
        cr_assert_eq(strncmp(line, "TERN_", 5), 0, "not a TERN_ name: %s", line);
        setenv(line, eq + 1, 1);
        for (size_t i = 0; i < N_KEYS; i++)
            if (strcmp(line, keys[i].env) == 0)
                seen[i] = true;
    }
    fclose(f);
}

Test(config, example_env_sets_every_key_to_its_default)
{
    bool seen[N_KEYS] = {0};

    apply_env_file(source_path("config/example.env"), seen);
    for (size_t i = 0; i < N_KEYS; i++)
        cr_assert(seen[i], "config/example.env lacks %s", keys[i].env);
    cr_assert_eq(load(NULL), 0, "%s", err);
    assert_defaults(&cfg);
}

/* ---------------------------------------------------------------------------------
 * Environment
 * ------------------------------------------------------------------------------ */

Test(config, env_overrides_the_file)
{
    write_file("config/tern.yaml", "port: 9000\nlimits:\n  body_bytes: 2m\n");
    setenv("TERN_PORT", "9001", 1);
    cr_assert_eq(load(NULL), 0, "%s", err);
    cr_assert_eq(cfg.port, 9001, "env beats file");
    cr_assert_eq(cfg.body_limit, 2 * 1024 * 1024, "file beats default");
}

Test(config, env_names_for_nested_keys)
{
    setenv("TERN_LIMITS_BODY_BYTES", "4m", 1);
    setenv("TERN_REQUEST_TIMEOUT_MS", "2500", 1);
    setenv("TERN_ACCESS_LOG", "off", 1);
    setenv("TERN_COROUTINE_STACK_BYTES", "256k", 1);
    setenv("TERN_SERVER_NAME", "edge", 1);
    cr_assert_eq(load(NULL), 0, "%s", err);
    cr_assert_eq(cfg.body_limit, 4 * 1024 * 1024);
    cr_assert_eq(cfg.request_timeout_ms, 2500);
    cr_assert_eq(cfg.access_log, TERN_ACCESS_LOG_OFF);
    cr_assert_eq(cfg.stack_size, 256 * 1024);
    cr_assert_str_eq(cfg.server_name, "edge");
}

Test(config, env_bad_value_message)
{
    setenv("TERN_LIMITS_BODY_BYTES", "abc", 1);
    cr_assert_eq(load(NULL), -1);
    cr_assert_str_eq(err, "config: limits.body_bytes (env TERN_LIMITS_BODY_BYTES): "
                          "expected a size like 1048576 or 1m, got \"abc\"");
}

Test(config, unknown_tern_variables_are_ignored)
{
    setenv("TERN_NOT_A_KEY", "whatever", 1);
    setenv("TERN_port", "1", 1); /* names are upper-case; this is not TERN_PORT */
    cr_assert_eq(load(NULL), 0, "%s", err);
    assert_defaults(&cfg);
}

/* ---------------------------------------------------------------------------------
 * Flags
 * ------------------------------------------------------------------------------ */

Test(config, flag_overrides_env)
{
    setenv("TERN_PORT", "9001", 1);
    cr_assert_eq(load(ARGS("--port", "9002")), 0, "%s", err);
    cr_assert_eq(cfg.port, 9002);
}

Test(config, four_layers_in_order)
{
    write_file("config/tern.yaml", "port: 1001\nbacklog: 11\nworkers: 2\n");
    setenv("TERN_BACKLOG", "12", 1);
    setenv("TERN_WORKERS", "3", 1);
    cr_assert_eq(load(ARGS("--workers=4")), 0, "%s", err);
    cr_assert_eq(cfg.max_connections, 10000, "default");
    cr_assert_eq(cfg.port, 1001, "file over default");
    cr_assert_eq(cfg.backlog, 12, "env over file");
    cr_assert_eq(cfg.workers, 4, "flag over env");
}

Test(config, flag_forms)
{
    cr_assert_eq(load(ARGS("--port=7000", "--host", "::", "--limits.body_bytes", "2m",
                           "--limits.header_bytes=8k", "--server-name", "dash",
                           "--coroutine.stack-bytes=32k", "--log_level", "warn")),
                 0, "%s", err);
    cr_assert_eq(cfg.port, 7000);
    cr_assert_str_eq(cfg.host, "::");
    cr_assert_eq(cfg.body_limit, 2 * 1024 * 1024);
    cr_assert_eq(cfg.header_limit, 8 * 1024);
    cr_assert_str_eq(cfg.server_name, "dash");
    cr_assert_eq(cfg.stack_size, 32 * 1024);
    cr_assert_eq(cfg.log_level, TERN_LOG_WARN);
}

Test(config, repeated_flag_last_wins)
{
    cr_assert_eq(load(ARGS("--port", "1", "--port=2")), 0, "%s", err);
    cr_assert_eq(cfg.port, 2);
}

Test(config, flag_value_may_contain_equals)
{
    cr_assert_eq(load(ARGS("--server_name=a=b")), 0, "%s", err);
    cr_assert_str_eq(cfg.server_name, "a=b");
}

Test(config, unknown_flag_is_an_error)
{
    assert_load_fails(load(ARGS("--bogus", "1")), "unknown flag --bogus");
    cr_assert_null(cfg.host);
}

Test(config, unknown_flag_suggests)
{
    assert_load_fails(load(ARGS("--prot=80")), "unknown flag --prot");
    assert_error_has("did you mean --port?");
    tern_config_free(&cfg);
    assert_load_fails(load(ARGS("--limits.body", "1")), "did you mean --limits.body_bytes?");
}

Test(config, single_dash_and_positional_arguments_are_errors)
{
    assert_load_fails(load(ARGS("-p", "80")), "unknown flag -p");
    tern_config_free(&cfg);
    assert_load_fails(load(ARGS("serve")), "unexpected argument \"serve\"");
}

Test(config, flag_without_value)
{
    assert_load_fails(load(ARGS("--port")), "--port needs a value");
    tern_config_free(&cfg);
    /* The next argument is another flag, not the port. */
    assert_load_fails(load(ARGS("--port", "--host", "::")), "--port needs a value");
}

Test(config, bad_flag_value_names_key_and_flag)
{
    assert_load_fails(load(ARGS("--port", "http")), "config: port (flag --port): expected");
    assert_error_has("got \"http\"");
}

Test(config, help_prints_usage_and_returns_1)
{
    char text[8192];
    size_t got;

    cr_redirect_stdout();
    cr_assert_eq(load(ARGS("--help")), 1);
    cr_assert_null(cfg.host, "nothing is left to free after --help");
    fflush(stdout);
    got = fread(text, 1, sizeof text - 1, cr_get_redirected_stdout());
    text[got] = '\0';
    cr_assert_not_null(strstr(text, "usage: tern "), "%s", text);
    cr_assert_not_null(strstr(text, "TERN_LIMITS_BODY_BYTES"), "%s", text);
    cr_assert_not_null(strstr(text, "--request_timeout_ms MS"), "%s", text);
}

Test(config, short_help_and_help_beats_errors)
{
    cr_redirect_stdout();
    cr_assert_eq(load(ARGS("-h")), 1);
    cr_assert_eq(load(ARGS("--bogus", "--help")), 1, "help is reachable past a bad flag");
    cr_assert_str_eq(err, "", "no error is reported with help");
    /* A broken config file is not read before help is shown. */
    cr_assert_eq(load(ARGS("--config", "missing.yaml", "--help")), 1);
}

Test(config, help_takes_no_value)
{
    assert_load_fails(load(ARGS("--help=yes")), "--help takes no value");
}

Test(config, usage_lists_every_key_flag_env_and_default)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    tern_config_usage(f, "/usr/bin/tern-service");
    fclose(f);
    cr_assert_not_null(strstr(text, "usage: tern-service "), "%s", text);
    cr_assert_not_null(strstr(text, "--config FILE"));
    cr_assert_not_null(strstr(text, "--help"));
    for (size_t i = 0; i < N_KEYS; i++) {
        char flag[64], env[64];
        snprintf(flag, sizeof flag, "--%s ", keys[i].key);
        snprintf(env, sizeof env, "env %s ", keys[i].env);
        cr_assert_not_null(strstr(text, flag), "usage lacks %s", flag);
        cr_assert_not_null(strstr(text, env), "usage lacks %s", env);
    }
    cr_assert_not_null(strstr(text, "default 1m\n"));
    cr_assert_not_null(strstr(text, "default 8080\n"));
    cr_assert_not_null(strstr(text, "plain|json|off"));
    cr_assert_not_null(strstr(text, "largest request body"));
    free(text);
}

/* ---------------------------------------------------------------------------------
 * TLS and workers
 * ------------------------------------------------------------------------------ */

Test(config, tls_cert_without_key)
{
    write_file("config/tern.yaml", "tls:\n  cert: /c.pem\n");
    assert_load_fails(load(NULL), "tls.cert (config/tern.yaml line 2) is set but tls.key");
    assert_error_has("both or neither");
}

Test(config, tls_key_without_cert)
{
    setenv("TERN_TLS_KEY", "/k.pem", 1);
    assert_load_fails(load(NULL), "tls.key (env TERN_TLS_KEY) is set but tls.cert is not");
}

Test(config, tls_both_from_different_layers)
{
    setenv("TERN_TLS_KEY", "/k.pem", 1);
    cr_assert_eq(load(ARGS("--tls.cert", "/c.pem")), 0, "%s", err);
    cr_assert_str_eq(cfg.tls_cert, "/c.pem");
    cr_assert_str_eq(cfg.tls_key, "/k.pem");
}

Test(config, tls_cleared_by_a_later_layer)
{
    write_file("config/tern.yaml", "tls:\n  cert: /c.pem\n  key: /k.pem\n");
    setenv("TERN_TLS_CERT", "", 1);
    assert_load_fails(load(NULL), "tls.key (config/tern.yaml line 3) is set but tls.cert");
}

Test(config, workers_auto_is_the_cpu_count)
{
    int cpus = affinity_cpus();

    cr_assert_eq(load_yaml("workers: auto\n"), 0, "%s", err);
    cr_assert_eq(cfg.workers, cpus > 256 ? 256 : cpus);
    cr_assert_eq(set("workers", "AUTO"), 0, "%s", err);
    cr_assert_eq(cfg.workers, cpus > 256 ? 256 : cpus);
}

Test(config, workers_auto_follows_cpu_affinity)
{
    cpu_set_t one;

    CPU_ZERO(&one);
    CPU_SET(0, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0, "%s", strerror(errno));
    setenv("TERN_WORKERS", "auto", 1);
    cr_assert_eq(load(NULL), 0, "%s", err);
    cr_assert_eq(cfg.workers, 1, "a process pinned to one CPU gets one worker");
}

Test(config, auto_is_only_for_workers)
{
    assert_set_fails("port", "auto", "got \"auto\"");
}

/* ---------------------------------------------------------------------------------
 * Values of each kind, through tern_config_set
 * ------------------------------------------------------------------------------ */

Test(config, int_values)
{
    cr_assert_eq(set("port", "1"), 0, "%s", err);
    cr_assert_eq(cfg.port, 1);
    cr_assert_eq(set("port", "65535"), 0, "%s", err);
    cr_assert_eq(cfg.port, 65535);
    cr_assert_eq(set("port", " 080 "), 0, "%s", err);
    cr_assert_eq(cfg.port, 80, "blanks trimmed, leading zero is decimal");
    cr_assert_eq(set("coroutine.max", "1000000"), 0, "%s", err);
    cr_assert_eq(cfg.max_coroutines, 1000000);
}

Test(config, bad_int_values)
{
    static const char *const bad[] = {"", "abc", "1.5", "0x10", "12abc", "+5", "1 2", "--1"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_set_fails("backlog", bad[i], "expected a whole number like 4096");
    assert_set_fails("port", "0", "expected a number from 1 to 65535, got \"0\"");
    assert_set_fails("port", "65536", "from 1 to 65535");
    assert_set_fails("port", "-1", "from 1 to 65535");
    assert_set_fails("port", "99999999999999999999", "expected a whole number");
    assert_set_fails("workers", "257", "from 1 to 256");
    assert_set_fails("limits.connections", "1000001", "from 1 to 1000000");
}

Test(config, size_values)
{
    static const struct {
        const char *text;
        size_t bytes;
    } good[] = {
        {"1048576", 1048576}, {"0", 0},          {"1k", 1024},      {"1K", 1024},
        {"1kb", 1024},        {"1KiB", 1024},    {"1kib", 1024},    {"2m", 2 << 20},
        {"2M", 2 << 20},      {"2MB", 2 << 20},  {"2MiB", 2 << 20}, {"1g", 1u << 30},
        {"1GiB", 1u << 30},   {"16 KiB", 16384}, {"100b", 100},     {" 3m ", 3 << 20},
    };

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cr_assert_eq(set("limits.body_bytes", good[i].text), 0, "%s: %s", good[i].text, err);
        cr_assert_eq(cfg.body_limit, good[i].bytes, "%s gave %zu", good[i].text, cfg.body_limit);
    }
}

Test(config, bad_size_values)
{
    static const char *const bad[] = {"abc", "",      "1.5m", "-1",   "1t",          "1kk",
                                      "m",   "1 m b", "1mi",  "0x10", "99999999999g"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_set_fails("limits.body_bytes", bad[i], "expected a size like 1048576 or 1m");
    assert_set_fails("limits.body_bytes", "2g", "expected a size from 0 to 1g, got \"2g\"");
    assert_set_fails("limits.header_bytes", "2m", "from 1k to 1m");
    assert_set_fails("limits.header_bytes", "1023", "from 1k to 1m");
    assert_set_fails("coroutine.stack_bytes", "8k", "from 16k to 16m");
    assert_set_fails("coroutine.stack_bytes", "17m", "from 16k to 16m");
}

Test(config, size_bounds_are_inclusive)
{
    cr_assert_eq(set("limits.header_bytes", "1k"), 0, "%s", err);
    cr_assert_eq(cfg.header_limit, 1024);
    cr_assert_eq(set("limits.header_bytes", "1m"), 0, "%s", err);
    cr_assert_eq(cfg.header_limit, 1 << 20);
    cr_assert_eq(set("coroutine.stack_bytes", "16m"), 0, "%s", err);
    cr_assert_eq(cfg.stack_size, 16 << 20);
}

Test(config, duration_values)
{
    static const struct {
        const char *text;
        uint64_t ms;
    } good[] = {
        {"250", 250},   {"250ms", 250},  {"10s", 10000}, {"10S", 10000},
        {"2m", 120000}, {"1h", 3600000}, {"1 s", 1000},
    };

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cr_assert_eq(set("request_timeout_ms", good[i].text), 0, "%s: %s", good[i].text, err);
        cr_assert_eq(cfg.request_timeout_ms, good[i].ms, "%s", good[i].text);
    }
    cr_assert_eq(set("drain_timeout_ms", "0"), 0, "%s", err);
    cr_assert_eq(cfg.drain_timeout_ms, 0);
    cr_assert_eq(set("limits.header_timeout_ms", "30s"), 0, "%s", err);
    cr_assert_eq(cfg.header_timeout_ms, 30000);
}

Test(config, bad_duration_values)
{
    static const char *const bad[] = {"10x", "-5", "1.5s", "s", "", "10 sec"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_set_fails("request_timeout_ms", bad[i], "expected milliseconds like 10000 or 10s");
    assert_set_fails("request_timeout_ms", "0", "from 1 to 3600000");
    assert_set_fails("request_timeout_ms", "2h", "from 1 to 3600000");
    assert_set_fails("drain_timeout_ms", "x", "like 25000 or 25s");
}

Test(config, bool_values)
{
    static const char *const yes[] = {"true", "TRUE", "yes", "Yes", "on", "ON", "1", " true "};
    static const char *const no[] = {"false", "False", "no", "NO", "off", "Off", "0"};
    static const char *const bad[] = {"", "2", "y", "n", "truee", "enabled", "-1"};
    bool b;

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        b = false;
        cr_assert_eq(tern_config__parse_bool(yes[i], &b), 0, "%s", yes[i]);
        cr_assert(b, "%s should be true", yes[i]);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        b = true;
        cr_assert_eq(tern_config__parse_bool(no[i], &b), 0, "%s", no[i]);
        cr_assert_not(b, "%s should be false", no[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(tern_config__parse_bool(bad[i], &b), -1, "\"%s\" should be rejected", bad[i]);
}

Test(config, enum_values)
{
    cr_assert_eq(set("access_log", "json"), 0, "%s", err);
    cr_assert_eq(cfg.access_log, TERN_ACCESS_LOG_JSON);
    cr_assert_eq(set("access_log", "off"), 0, "%s", err);
    cr_assert_eq(cfg.access_log, TERN_ACCESS_LOG_OFF);
    cr_assert_eq(set("access_log", "Plain"), 0, "%s", err);
    cr_assert_eq(cfg.access_log, TERN_ACCESS_LOG_PLAIN);
    cr_assert_eq(set("log_level", "error"), 0, "%s", err);
    cr_assert_eq(cfg.log_level, TERN_LOG_ERROR);
    cr_assert_eq(set("log_level", "warn"), 0, "%s", err);
    cr_assert_eq(cfg.log_level, TERN_LOG_WARN);
    cr_assert_eq(set("log_level", "DEBUG"), 0, "%s", err);
    cr_assert_eq(cfg.log_level, TERN_LOG_DEBUG);
}

Test(config, bad_enum_values)
{
    assert_set_fails("access_log", "xml", "expected one of plain, json, off, got \"xml\"");
    assert_set_fails("log_level", "verbose", "expected one of error, warn, info, debug");
    assert_set_fails("log_level", "", "got \"\"");
}

Test(config, string_values)
{
    cr_assert_eq(set("host", "127.0.0.1"), 0, "%s", err);
    cr_assert_str_eq(cfg.host, "127.0.0.1");
    cr_assert_eq(set("host", "::1"), 0, "%s", err);
    cr_assert_str_eq(cfg.host, "::1");
    cr_assert_eq(set("tls.cert", "/etc/ssl/with space.pem"), 0, "%s", err);
    cr_assert_str_eq(cfg.tls_cert, "/etc/ssl/with space.pem");
    cr_assert_eq(set("server_name", "tern/0.1 (linux)"), 0, "%s", err);
    cr_assert_str_eq(cfg.server_name, "tern/0.1 (linux)");
}

Test(config, bad_string_values)
{
    assert_set_fails("host", "localhost", "expected an IP address");
    assert_set_fails("host", "", "expected an IP address");
    assert_set_fails("host", "1.2.3.4.5", "got \"1.2.3.4.5\"");
    /* A CR/LF in the Server header would split the response; the message escapes it. */
    assert_set_fails("server_name", "a\r\nX-Evil: 1", "got \"a\\x0d\\x0aX-Evil: 1\"");
}

Test(config, set_replaces_a_string_and_keeps_value_on_error)
{
    tern_config_defaults(&cfg);
    cr_assert_eq(tern_config_set(&cfg, "server_name", "one", err, sizeof err), 0, "%s", err);
    cr_assert_eq(tern_config_set(&cfg, "server_name", "two", err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(cfg.server_name, "two");
    cr_assert_eq(tern_config_set(&cfg, "port", "9", err, sizeof err), 0, "%s", err);
    cr_assert_eq(tern_config_set(&cfg, "port", "nine", err, sizeof err), -1);
    cr_assert_eq(cfg.port, 9, "a rejected value leaves the field alone");
    cr_assert_eq(tern_config_set(&cfg, "host", "nowhere", err, sizeof err), -1);
    cr_assert_str_eq(cfg.host, "0.0.0.0");
}

Test(config, set_unknown_key)
{
    cr_assert_eq(set("limits.bodybytes", "1"), -1);
    cr_assert_str_eq(err, "config: limits.bodybytes: unknown key; did you mean limits.body_bytes?");
    cr_assert_eq(set("zzzzzzzz", "1"), -1);
    cr_assert_str_eq(err, "config: zzzzzzzz: unknown key");
    cr_assert_eq(set("limits", "1"), -1, "a group is not a key");
}

Test(config, long_values_are_cut_in_messages)
{
    char value[300];

    memset(value, 'x', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    assert_set_fails("port", value, "...\"");
    cr_assert_lt(strlen(err), 200, "message stays readable: %zu bytes", strlen(err));
}

Test(config, small_error_buffers_are_safe)
{
    char tiny[12];

    tern_config_defaults(&cfg);
    cr_assert_eq(tern_config_set(&cfg, "port", "x", tiny, sizeof tiny), -1);
    cr_assert_eq(strlen(tiny), sizeof tiny - 1, "truncated and terminated");
    cr_assert_eq(tern_config_set(&cfg, "port", "x", NULL, 0), -1);
    tern_config_free(&cfg);
    cr_assert_eq(tern_config_load(&cfg, 2, (char *[]){"tern", "--bogus", NULL}, NULL, 0), -1);
}
