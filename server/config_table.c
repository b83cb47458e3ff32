/* server/config_table.c - the keys tern knows: one row per setting (key path, kind, the
 * tern_config field it fills, default, allowed range, a line of help), the checks some
 * string settings make, looking a key up and "did you mean" for one that is not there.
 *
 * The default is written as text and parsed like any other value, so the table is the
 * only place it lives. The YAML reader, the environment reader, the flag reader, --help
 * and tern_config_set all walk this table: adding a key is one row here, one field in
 * tern/config.h and CFG_N_SETTINGS in config_impl.h one higher (the build stops until
 * the count matches). */
#include "config_impl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------------ */

/* Field offsets with a compile-time type check: a row whose kind does not match its
 * field's type fails to build instead of scribbling over a neighbour. _Generic does not
 * evaluate its operand, so the null pointer is never dereferenced. */
#define TYPED_OFFSET(m, type) _Generic(((tern_config *)0)->m, type : offsetof(tern_config, m))
/* Enum fields differ in type but are all written as an int; an enum field that is not
 * int-sized makes a negative array size and stops the build. */
#define INT_SIZED(m) (0 * sizeof(char[sizeof(((tern_config *)0)->m) == sizeof(int) ? 1 : -1]))

#define INT(m) .kind = KIND_INT, .offset = TYPED_OFFSET(m, int)
#define SIZE(m) .kind = KIND_SIZE, .offset = TYPED_OFFSET(m, size_t)
#define MS(m) .kind = KIND_MS, .offset = TYPED_OFFSET(m, uint64_t)
#define STRING(m) .kind = KIND_STRING, .offset = TYPED_OFFSET(m, char *)
#define BOOL(m) .kind = KIND_BOOL, .offset = TYPED_OFFSET(m, bool)
#define ENUM(m, n)                                                                                 \
    .kind = KIND_ENUM, .offset = offsetof(tern_config, m) + INT_SIZED(m), .names = (n)

static const char *check_ip(const char *text);
static const char *check_header_value(const char *text);
static const char *check_url_path(const char *text);

static const enum_name access_log_names[] = {
    {"plain", TERN_ACCESS_LOG_PLAIN},
    {"json", TERN_ACCESS_LOG_JSON},
    {"off", TERN_ACCESS_LOG_OFF},
    {0},
};

static const enum_name log_level_names[] = {
    {"error", TERN_LOG_ERROR},
    {"warn", TERN_LOG_WARN},
    {"info", TERN_LOG_INFO},
    {"debug", TERN_LOG_DEBUG},
    {0},
};

const setting cfg_settings[] = {
    {"host", STRING(host), .def = "0.0.0.0", .check = check_ip, .metavar = "ADDR",
     .help = "listen address, an IP literal (:: listens on IPv6 and IPv4)"},
    {"port", INT(port), .def = "8080", .min = 1, .max = 65535, .help = "listen port"},
    {"workers", INT(workers), .def = "1", .min = 1, .max = 256, .auto_cpus = true,
     .help = "worker threads, each with its own event loop; auto = one per CPU"},
    {"backlog", INT(backlog), .def = "4096", .min = 1, .max = 65535,
     .help = "listen(2) backlog: connections waiting to be accepted"},
    {"server_name", STRING(server_name), .def = "tern", .check = check_header_value,
     .help = "value of the Server response header"},
    {"tls.cert", STRING(tls_cert), .def = "", .metavar = "FILE",
     .help = "PEM certificate chain; with tls.key turns on TLS and HTTP/2"},
    {"tls.key", STRING(tls_key), .def = "", .metavar = "FILE",
     .help = "PEM private key; set together with tls.cert, or neither"},
    {"limits.body_bytes", SIZE(body_limit), .def = "1m", .min = 0, .max = GIB,
     .help = "largest request body (413 beyond)"},
    {"limits.header_bytes", SIZE(header_limit), .def = "16k", .min = KIB, .max = MIB,
     .help = "largest request header block (431 beyond)"},
    {"limits.json_depth", INT(json_depth), .def = "64", .min = 1, .max = 1024,
     .help = "deepest nesting of arrays/objects in a JSON body (413 beyond)"},
    {"limits.json_items", INT(json_items), .def = "100000", .min = 1, .max = 100000000,
     .help = "most values plus keys in a JSON body (413 beyond)"},
    {"limits.connections", INT(max_connections), .def = "10000", .min = 1, .max = 1000000,
     .help = "open connections per worker"},
    {"limits.header_timeout_ms", MS(header_timeout_ms), .def = "10000", .min = 1, .max = 3600000,
     .help = "time to receive a whole request (HTTP/1.1 and HTTP/2); also keep-alive idle time"},
    {"request_timeout_ms", MS(request_timeout_ms), .def = "10000", .min = 1, .max = 3600000,
     .help = "per-request deadline (504 beyond)"},
    {"drain_timeout_ms", MS(drain_timeout_ms), .def = "25000", .min = 0, .max = 3600000,
     .help = "how long shutdown waits for in-flight requests"},
    {"coroutine.stack_bytes", SIZE(stack_size), .def = "64k", .min = 16 * KIB, .max = 16 * MIB,
     .help = "usable stack per coroutine"},
    {"coroutine.max", INT(max_coroutines), .def = "10000", .min = 1, .max = 1000000,
     .help = "live coroutines per worker (503 beyond)"},
    {"access_log", ENUM(access_log, access_log_names), .def = "plain", .help = "access log format"},
    {"log_level", ENUM(log_level, log_level_names), .def = "info",
     .help = "least severe error-log messages that are written"},
    {"redis.url", STRING(redis_url), .def = "", .metavar = "URL",
     .help = "redis://[:password@]IP:port/db; empty: no Redis pool"},
    {"redis.pool_size", INT(redis_pool_size), .def = "4", .min = 1, .max = 1024,
     .help = "Redis connections per worker (commands are pipelined on them)"},
    {"redis.timeout_ms", MS(redis_timeout_ms), .def = "2000", .min = 1, .max = 3600000,
     .help = "per Redis command (also bounded by the request deadline)"},
    {"redis.connect_timeout_ms", MS(redis_connect_timeout_ms), .def = "1000", .min = 1,
     .max = 3600000, .help = "per Redis connect attempt"},
    {"mysql.url", STRING(mysql_url), .def = "", .metavar = "URL",
     .help = "mysql://user:password@IP:port/db; empty: no MySQL pool"},
    {"mysql.pool_min", INT(mysql_pool_min), .def = "1", .min = 0, .max = 10000,
     .help = "MySQL connections kept open per worker"},
    {"mysql.pool_max", INT(mysql_pool_max), .def = "10", .min = 1, .max = 10000,
     .help = "most MySQL connections per worker"},
    {"mysql.acquire_timeout_ms", MS(mysql_acquire_timeout_ms), .def = "1000", .min = 1,
     .max = 3600000, .help = "wait for a free MySQL connection (503 beyond)"},
    {"mysql.query_timeout_ms", MS(mysql_query_timeout_ms), .def = "5000", .min = 1, .max = 3600000,
     .help = "per MySQL statement (also bounded by the request deadline)"},
    {"mysql.connect_timeout_ms", MS(mysql_connect_timeout_ms), .def = "2000", .min = 1,
     .max = 3600000, .help = "per MySQL connect attempt"},
    {"mysql.idle_ping_ms", MS(mysql_idle_ping_ms), .def = "30000", .min = 0, .max = 86400000,
     .help = "ping a MySQL connection idle longer than this before lending it"},
    {"mysql.pool_recycle_s", INT(mysql_pool_recycle_s), .def = "3600", .min = 0, .max = 604800,
     .help = "close MySQL connections older than this many seconds (0: never)"},
    {"crawl.urls", STRING(crawl_urls), .def = "", .metavar = "URLS",
     .help = "comma-separated URLs that GET /crawl fetches concurrently"},
    {"metrics.enabled", BOOL(metrics_enabled), .def = "true",
     .help = "serve Prometheus metrics at metrics.path"},
    {"metrics.path", STRING(metrics_path), .def = "/metrics", .check = check_url_path,
     .metavar = "PATH", .help = "path of the Prometheus metrics endpoint"},
    {"cors.allow_origins", .list = true, STRING(cors_allow_origins), .def = "", .metavar = "LIST",
     .help = "origins allowed cross-origin, comma-separated (* = any); empty: CORS off"},
    {"cors.allow_methods", .list = true, STRING(cors_allow_methods), .def = "GET",
     .metavar = "LIST", .help = "methods a CORS preflight may ask for, comma-separated (* = any)"},
    {"cors.allow_headers", .list = true, STRING(cors_allow_headers), .def = "", .metavar = "LIST",
     .help = "request headers a CORS preflight may ask for, comma-separated (* = any)"},
    {"cors.allow_credentials", BOOL(cors_allow_credentials), .def = "false",
     .help = "allow cookies and Authorization cross-origin (the origin is echoed, never *)"},
    {"cors.expose_headers", .list = true, STRING(cors_expose_headers), .def = "", .metavar = "LIST",
     .help = "response headers cross-origin scripts may read, comma-separated"},
    {"cors.max_age", INT(cors_max_age), .def = "600", .min = 0, .max = 86400,
     .help = "seconds a browser may cache a CORS preflight answer"},
    {"docs.enabled", BOOL(docs_enabled), .def = "true",
     .help = "serve the OpenAPI document, /docs and /redoc (false: all three answer 404)"},
    {"docs.title", STRING(docs_title), .def = "tern", .help = "info.title of the OpenAPI document"},
    {"docs.version", STRING(docs_version), .def = "0.1.0",
     .help = "info.version of the OpenAPI document (the API's version)"},
    {"docs.openapi_url", STRING(docs_openapi_url), .def = "/openapi.json", .check = check_url_path,
     .metavar = "PATH", .help = "where the OpenAPI document is served"},
    {"docs.assets_dir", STRING(docs_assets_dir), .def = "", .metavar = "DIR",
     .help = "folder with swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js served "
             "under /docs/assets (empty: the pages load them from the jsDelivr CDN)"},
};

/* The loader and the YAML reader size their per-key arrays with CFG_N_SETTINGS, in files
 * that cannot see how many rows this table has. */
_Static_assert(sizeof cfg_settings / sizeof cfg_settings[0] == CFG_N_SETTINGS,
               "CFG_N_SETTINGS in config_impl.h must equal the number of rows in cfg_settings");

/* "limits.body_bytes" -> "TERN_LIMITS_BODY_BYTES". */
void cfg_env_name(const char *key, char *buf, size_t n)
{
    size_t o = (size_t)snprintf(buf, n, "TERN_");
    for (; *key && o + 1 < n; key++)
        buf[o++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
    buf[o] = '\0';
}

/* ---------------------------------------------------------------------------------
 * Checks of string settings
 * ------------------------------------------------------------------------------ */

static const char *check_ip(const char *text)
{
    unsigned char addr[sizeof(struct in6_addr)];

    /* Literal addresses only: a name lookup would block, and which address a name
     * resolves to is better decided by the operator than by start-up order. */
    if (inet_pton(AF_INET, text, addr) == 1 || inet_pton(AF_INET6, text, addr) == 1)
        return NULL;
    return "an IP address like 0.0.0.0, 127.0.0.1 or ::";
}

static const char *check_header_value(const char *text)
{
    /* It goes into every response's headers: a CR or LF would split the response. */
    for (; *text; text++)
        if ((unsigned char)*text < 0x20 || *text == 0x7f)
            return "text without control characters";
    return NULL;
}

static const char *check_url_path(const char *text)
{
    /* It becomes a route (absolute, no query, no `{param}`) that the docs pages also
     * quote in HTML and JavaScript as it is. */
    if (text[0] != '/')
        return "an absolute URL path such as /metrics";
    for (; *text; text++)
        if ((unsigned char)*text <= 0x20 || *text == 0x7f || strchr("?#{}\"'<>\\", *text))
            return "an absolute URL path such as /metrics";
    return NULL;
}

/* ---------------------------------------------------------------------------------
 * Key lookup and "did you mean"
 * ------------------------------------------------------------------------------ */

const setting *cfg_find_setting(const char *key)
{
    for (size_t i = 0; i < CFG_N_SETTINGS; i++)
        if (strcmp(cfg_settings[i].key, key) == 0)
            return &cfg_settings[i];
    return NULL;
}

/* True when path names a group of keys ("limits", "tls"), which YAML writes as a
 * nested mapping. */
bool cfg_is_group(const char *path)
{
    size_t len = strlen(path);

    for (size_t i = 0; i < CFG_N_SETTINGS; i++)
        if (len && strncmp(cfg_settings[i].key, path, len) == 0 && cfg_settings[i].key[len] == '.')
            return true;
    return false;
}

/* Edit distance, for suggesting the key a typo meant. */
static size_t distance(const char *a, const char *b)
{
    size_t row[NAME_MAX_LEN + 1], la = strlen(a), lb = strlen(b);

    if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *last_part(const char *key)
{
    const char *dot = strrchr(key, '.');
    return dot ? dot + 1 : key;
}

/* The known key a mistyped one most likely meant, or NULL. A matching last part wins
 * ("body_bytes" written outside "limits:"), then a key the text begins ("limits.body"),
 * then the nearest key within two edits. */
static const char *suggest(const char *key)
{
    const char *best = NULL;
    size_t best_d = 3, len = strlen(key);

    for (size_t i = 0; i < CFG_N_SETTINGS; i++)
        if (strcmp(last_part(cfg_settings[i].key), last_part(key)) == 0)
            return cfg_settings[i].key;
    for (size_t i = 0; i < CFG_N_SETTINGS && len >= 3; i++)
        if (strncmp(cfg_settings[i].key, key, len) == 0)
            return cfg_settings[i].key;
    for (size_t i = 0; i < CFG_N_SETTINGS; i++) {
        size_t d = distance(key, cfg_settings[i].key);
        if (d < best_d) {
            best_d = d;
            best = cfg_settings[i].key;
        }
    }
    return best;
}

/* "; did you mean port?" or "". */
void cfg_suggestion(const char *key, const char *prefix, char *buf, size_t n)
{
    const char *s = suggest(key);
    if (s)
        snprintf(buf, n, "; did you mean %s%s?", prefix, s);
    else
        snprintf(buf, n, "%s", "");
}
