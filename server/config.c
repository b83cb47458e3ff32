/* server/config.c - tern's settings: built-in defaults, then a YAML file, then TERN_*
 * environment variables, then command-line flags, each layer overriding the one before.
 *
 * Every setting is one row of `settings` below: its key path, kind, the tern_config field
 * it fills, its default, its allowed range and a line of help. The default is written as
 * text and parsed like any other value, so the table is the only place it lives. The YAML
 * reader, the environment reader, the flag reader, --help and tern_config_set all walk
 * that table: adding a key is one row here plus one field in tern/config.h.
 *
 * Errors are one line, "config: KEY (WHERE): PROBLEM", so an operator sees which key was
 * wrong and which of the four layers set it. */
#include "tern/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#define KIB ((int64_t)1 << 10)
#define MIB ((int64_t)1 << 20)
#define GIB ((int64_t)1 << 30)

/* The file read when neither --config nor $TERN_CONFIG names one; relative to the
 * working directory, where a service started from its checkout or image finds it. */
#define DEFAULT_CONFIG_FILE "config/tern.yaml"

/* Longest key path or environment name; longer input is never a known key. */
#define NAME_MAX_LEN 96
/* Room for the "why" part of an error (what was expected and what came instead). */
#define WHY_LEN 256
/* Room for the "where" part: "env NAME", "flag --name" or a file path and line. */
#define WHERE_LEN 512

/* ---------------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------------ */

typedef enum { KIND_INT, KIND_SIZE, KIND_MS, KIND_STRING, KIND_BOOL, KIND_ENUM } kind;

/** One accepted word of an enum setting and the value it stands for. */
typedef struct enum_name {
    const char *name;
    int value;
} enum_name;

typedef struct setting {
    const char *key; /* path as written in YAML: "limits.body_bytes" */
    kind kind;
    size_t offset;          /* of its field in tern_config; the row macros check the type */
    const char *def;        /* default, in the text form a user would write */
    int64_t min, max;       /* numbers: allowed range, inclusive */
    bool auto_cpus;         /* KIND_INT: "auto" means one per CPU (clamped to the range) */
    const enum_name *names; /* KIND_ENUM: accepted words, {0}-terminated */
    const char *(*check)(const char *); /* KIND_STRING: NULL when fine, else what is expected */
    bool list;                          /* KIND_STRING: a comma list; YAML may give a sequence */
    const char *metavar;                /* word after the flag in --help; NULL: one by kind */
    const char *help;                   /* one line for --help */
} setting;

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

static const setting settings[] = {
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
    {"mysql.query_timeout_ms", MS(mysql_query_timeout_ms), .def = "5000", .min = 1,
     .max = 3600000, .help = "per MySQL statement (also bounded by the request deadline)"},
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
     .metavar = "LIST",
     .help = "methods a CORS preflight may ask for, comma-separated (* = any)"},
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

#define N_SETTINGS (sizeof settings / sizeof settings[0])

/* ---------------------------------------------------------------------------------
 * Small text helpers
 * ------------------------------------------------------------------------------ */

/* Writes a one-line message into err (when there is room) and returns -1, so callers
 * can `return fail(...)`. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Quotes a user's value for an error message: control bytes escaped so the message
 * stays one line, long values cut so the key stays visible. */
static const char *quote(const char *text, char *buf, size_t n)
{
    enum { SHOWN = 48 };
    size_t o = 0, i;

    buf[o++] = '"';
    for (i = 0; text[i] && i < SHOWN && o + 8 < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(buf + o, n - o, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    if (text[i] && o + 5 < n)
        o += (size_t)snprintf(buf + o, n - o, "...");
    snprintf(buf + o, n - o, "\"");
    return buf;
}

/* "limits.body_bytes" -> "TERN_LIMITS_BODY_BYTES". */
static void env_name(const char *key, char *buf, size_t n)
{
    size_t o = (size_t)snprintf(buf, n, "TERN_");
    for (; *key && o + 1 < n; key++)
        buf[o++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
    buf[o] = '\0';
}

/* Copies text without surrounding blanks, so "8080 " from an env file still parses.
 * False when it does not fit: no number, word or size is that long. */
static bool trimmed(const char *text, char *buf, size_t n)
{
    size_t len;

    while (isspace((unsigned char)*text))
        text++;
    len = strlen(text);
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    if (len >= n)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return true;
}

/* ---------------------------------------------------------------------------------
 * Value parsing: text -> value, with a "why" on failure
 * ------------------------------------------------------------------------------ */

typedef union value {
    int64_t i; /* KIND_INT, KIND_SIZE, KIND_MS (all ranges fit) */
    bool b;
    int e;
    const char *str; /* borrowed; copied when stored */
} value;

/** A unit suffix and what it multiplies by; "" is the bare number. */
typedef struct unit {
    const char *suffix;
    int64_t scale;
} unit;

static const unit size_units[] = {
    {"", 1},     {"b", 1},     {"k", KIB}, {"kb", KIB}, {"kib", KIB}, {"m", MIB},
    {"mb", MIB}, {"mib", MIB}, {"g", GIB}, {"gb", GIB}, {"gib", GIB}, {0},
};

static const unit ms_units[] = {
    {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {0},
};

/* Reads decimal digits only: a sign, blank or "0x" is not a digit, so "-1" cannot wrap
 * to a huge unsigned value and "010" is ten, not eight. */
static bool read_digits(const char **p, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;

    if (!isdigit((unsigned char)*s))
        return false;
    for (; isdigit((unsigned char)*s); s++) {
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return true;
}

/* A number followed by one of units' suffixes (case-insensitive, blanks allowed
 * between): "16k", "16 KiB", "10s". */
static bool read_scaled(const char *text, const unit *units, int64_t *out)
{
    const char *p = text;
    int64_t n;

    if (!read_digits(&p, &n))
        return false;
    while (*p == ' ')
        p++;
    for (const unit *u = units; u->suffix; u++) {
        if (strcasecmp(p, u->suffix) != 0)
            continue;
        if (n > INT64_MAX / u->scale)
            return false;
        *out = n * u->scale;
        return true;
    }
    return false;
}

static int cpu_count(void)
{
    cpu_set_t set;
    long n;

    /* The affinity mask, not the machine's CPU count: a container pinned to two CPUs
     * should run two workers. */
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < INT32_MAX ? (int)n : 1;
}

/* "16k" for 16384: the range and default shown in help and errors read like input. */
static void format_size(int64_t v, char *buf, size_t n)
{
    if (v && v % GIB == 0)
        snprintf(buf, n, "%" PRId64 "g", v / GIB);
    else if (v && v % MIB == 0)
        snprintf(buf, n, "%" PRId64 "m", v / MIB);
    else if (v && v % KIB == 0)
        snprintf(buf, n, "%" PRId64 "k", v / KIB);
    else
        snprintf(buf, n, "%" PRId64, v);
}

/* "10s" for 10000: the second example in a duration error. */
static void format_ms(int64_t v, char *buf, size_t n)
{
    if (v && v % (3600 * 1000) == 0)
        snprintf(buf, n, "%" PRId64 "h", v / (3600 * 1000));
    else if (v && v % (60 * 1000) == 0)
        snprintf(buf, n, "%" PRId64 "m", v / (60 * 1000));
    else if (v && v % 1000 == 0)
        snprintf(buf, n, "%" PRId64 "s", v / 1000);
    else
        snprintf(buf, n, "%" PRId64 "ms", v);
}

/* One bound of a numeric setting, written as a user would write it. */
static void format_number(const setting *s, int64_t v, char *buf, size_t n)
{
    if (s->kind == KIND_SIZE)
        format_size(v, buf, n);
    else
        snprintf(buf, n, "%" PRId64, v);
}

/* Reads a default as a number for use in messages; defaults always parse. */
static int64_t default_number(const setting *s)
{
    int64_t v = 0;
    if (!read_scaled(s->def, s->kind == KIND_SIZE ? size_units : ms_units, &v))
        v = 0;
    return v;
}

/* What a numeric setting accepts, e.g. "a size like 1048576 or 1m". */
static void expected_number(const setting *s, char *buf, size_t n)
{
    char alt[32];
    int64_t def = default_number(s);

    switch (s->kind) {
    case KIND_SIZE:
        format_size(def, alt, sizeof alt);
        snprintf(buf, n, "a size like %" PRId64 " or %s", def, alt);
        break;
    case KIND_MS:
        format_ms(def, alt, sizeof alt);
        snprintf(buf, n, "milliseconds like %" PRId64 " or %s", def, alt);
        break;
    default:
        snprintf(buf, n, "a whole number like %s%s", s->def, s->auto_cpus ? ", or auto" : "");
        break;
    }
}

/* The number in text (already trimmed into buf), without the range check. */
static bool read_number(const setting *s, const char *buf, int64_t *out)
{
    const char *p = buf;
    bool negative = *p == '-';

    if (s->auto_cpus && strcasecmp(buf, "auto") == 0) {
        int cpus = cpu_count();
        *out = cpus < s->min ? s->min : cpus > s->max ? s->max : cpus;
        return true;
    }
    if (s->kind != KIND_INT)
        return read_scaled(buf, s->kind == KIND_SIZE ? size_units : ms_units, out);
    p += negative; /* only ints take a sign: "-1" is no size or duration */
    if (!read_digits(&p, out) || *p != '\0')
        return false;
    *out = negative ? -*out : *out;
    return true;
}

static int parse_number(const setting *s, const char *text, value *v, char *why, size_t n)
{
    static const char *const noun[] = {
        [KIND_INT] = "a number",
        [KIND_SIZE] = "a size",
        [KIND_MS] = "milliseconds",
    };
    char buf[64], shown[80], what[96], lo[32], hi[32];

    if (!trimmed(text, buf, sizeof buf) || !read_number(s, buf, &v->i)) {
        expected_number(s, what, sizeof what);
        snprintf(why, n, "expected %s, got %s", what, quote(text, shown, sizeof shown));
        return -1;
    }
    if (v->i < s->min || v->i > s->max) {
        format_number(s, s->min, lo, sizeof lo);
        format_number(s, s->max, hi, sizeof hi);
        snprintf(why, n, "expected %s from %s to %s, got %s", noun[s->kind], lo, hi,
                 quote(text, shown, sizeof shown));
        return -1;
    }
    return 0;
}

/* Not in tern/config.h: no setting is a bool yet, and the unit tests reach the parser
 * through this name so the kind stays tested until one is. */
int tern_config__parse_bool(const char *text, bool *out);

int tern_config__parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    char buf[16];

    if (!trimmed(text, buf, sizeof buf))
        return -1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(buf, yes[i]) == 0 || strcasecmp(buf, no[i]) == 0) {
            *out = strcasecmp(buf, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

static int parse_bool(const char *text, value *v, char *why, size_t n)
{
    char shown[80];

    if (tern_config__parse_bool(text, &v->b) == 0)
        return 0;
    snprintf(why, n, "expected true or false (or yes/no, on/off, 1/0), got %s",
             quote(text, shown, sizeof shown));
    return -1;
}

/* "plain, json, off" (or "plain|json|off" with sep "|"). */
static void enum_words(const setting *s, const char *sep, char *buf, size_t n)
{
    size_t o = 0;

    buf[0] = '\0';
    for (const enum_name *e = s->names; e->name && o < n; e++)
        o += (size_t)snprintf(buf + o, n - o, "%s%s", e == s->names ? "" : sep, e->name);
}

static int parse_enum(const setting *s, const char *text, value *v, char *why, size_t n)
{
    char buf[32], words[96], shown[80];

    if (trimmed(text, buf, sizeof buf)) {
        for (const enum_name *e = s->names; e->name; e++) {
            if (strcasecmp(buf, e->name) == 0) {
                v->e = e->value;
                return 0;
            }
        }
    }
    enum_words(s, ", ", words, sizeof words);
    snprintf(why, n, "expected one of %s, got %s", words, quote(text, shown, sizeof shown));
    return -1;
}

static int parse_string(const setting *s, const char *text, value *v, char *why, size_t n)
{
    char shown[80];
    const char *expected = s->check ? s->check(text) : NULL;

    if (expected) {
        snprintf(why, n, "expected %s, got %s", expected, quote(text, shown, sizeof shown));
        return -1;
    }
    v->str = text;
    return 0;
}

static int parse_value(const setting *s, const char *text, value *v, char *why, size_t n)
{
    switch (s->kind) {
    case KIND_INT:
    case KIND_SIZE:
    case KIND_MS:
        return parse_number(s, text, v, why, n);
    case KIND_BOOL:
        return parse_bool(text, v, why, n);
    case KIND_ENUM:
        return parse_enum(s, text, v, why, n);
    case KIND_STRING:
        return parse_string(s, text, v, why, n);
    }
    return -1;
}

/* Writes a parsed value into its field. -1 only when a string copy finds no memory;
 * the field is then left as it was. */
static int store_value(tern_config *c, const setting *s, const value *v)
{
    void *field = (char *)c + s->offset;
    char *copy;
    size_t z;
    int i;
    uint64_t u;

    switch (s->kind) {
    case KIND_INT:
        i = (int)v->i;
        memcpy(field, &i, sizeof i);
        break;
    case KIND_SIZE:
        z = (size_t)v->i;
        memcpy(field, &z, sizeof z);
        break;
    case KIND_MS:
        u = (uint64_t)v->i;
        memcpy(field, &u, sizeof u);
        break;
    case KIND_BOOL:
        memcpy(field, &v->b, sizeof v->b);
        break;
    case KIND_ENUM:
        memcpy(field, &v->e, sizeof v->e);
        break;
    case KIND_STRING:
        if (!(copy = strdup(v->str)))
            return -1;
        free(*(char **)field);
        *(char **)field = copy;
        break;
    }
    return 0;
}

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

static const setting *find_setting(const char *key)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].key, key) == 0)
            return &settings[i];
    return NULL;
}

/* True when path names a group of keys ("limits", "tls"), which YAML writes as a
 * nested mapping. */
static bool is_group(const char *path)
{
    size_t len = strlen(path);

    for (size_t i = 0; i < N_SETTINGS; i++)
        if (len && strncmp(settings[i].key, path, len) == 0 && settings[i].key[len] == '.')
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

    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp(last_part(settings[i].key), last_part(key)) == 0)
            return settings[i].key;
    for (size_t i = 0; i < N_SETTINGS && len >= 3; i++)
        if (strncmp(settings[i].key, key, len) == 0)
            return settings[i].key;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        size_t d = distance(key, settings[i].key);
        if (d < best_d) {
            best_d = d;
            best = settings[i].key;
        }
    }
    return best;
}

/* "; did you mean port?" or "". */
static void suggestion(const char *key, const char *prefix, char *buf, size_t n)
{
    const char *s = suggest(key);
    if (s)
        snprintf(buf, n, "; did you mean %s%s?", prefix, s);
    else
        snprintf(buf, n, "%s", "");
}

/* ---------------------------------------------------------------------------------
 * Defaults, set, free
 * ------------------------------------------------------------------------------ */

void tern_config_defaults(tern_config *c)
{
    char why[WHY_LEN];
    value v;

    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        /* A default that does not parse is a bug in the table above; stop loudly so the
         * first test run finds it. */
        if (parse_value(&settings[i], settings[i].def, &v, why, sizeof why) != 0) {
            fprintf(stderr, "tern: bad built-in default for %s: %s\n", settings[i].key, why);
            abort();
        }
        /* Out of memory leaves the string NULL; tern_config_load reports it. */
        (void)store_value(c, &settings[i], &v);
    }
}

int tern_config_set(tern_config *c, const char *key, const char *value_text, char *err,
                    size_t errlen)
{
    const setting *s = find_setting(key);
    char why[WHY_LEN], hint[NAME_MAX_LEN + 32];
    value v;

    if (!s) {
        suggestion(key, "", hint, sizeof hint);
        return fail(err, errlen, "config: %s: unknown key%s", key, hint);
    }
    if (parse_value(s, value_text, &v, why, sizeof why) != 0)
        return fail(err, errlen, "config: %s: %s", key, why);
    if (store_value(c, s, &v) != 0)
        return fail(err, errlen, "config: %s: out of memory", key);
    return 0;
}

void tern_config_free(tern_config *c)
{
    /* Pointers are cleared so a second free, or a free after a failed load (which
     * already freed), is harmless. */
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (settings[i].kind == KIND_STRING) {
            char **field = (char **)((char *)c + settings[i].offset);
            free(*field);
            *field = NULL;
        }
    }
    free(c->config_path);
    c->config_path = NULL;
}

int tern_config_copy(tern_config *dst, const tern_config *src)
{
    *dst = *src;
    bool ok = true;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (settings[i].kind == KIND_STRING) {
            char **field = (char **)((char *)dst + settings[i].offset);
            if (*field && !(*field = strdup(*field)))
                ok = false;
        }
    }
    if (dst->config_path && !(dst->config_path = strdup(dst->config_path)))
        ok = false;
    if (!ok) {
        tern_config_free(dst);
        return -ENOMEM;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Loading: where each value came from, and applying one
 * ------------------------------------------------------------------------------ */

typedef enum { FROM_DEFAULT, FROM_FILE, FROM_ENV, FROM_FLAG } source;

typedef struct origin {
    source src;
    const char *name;   /* FROM_FILE: the path; FROM_FLAG: the argument as typed */
    size_t namelen;     /* FROM_FLAG: length of the flag name (up to any "=") */
    unsigned long line; /* FROM_FILE: 1-based */
} origin;

typedef struct loader {
    tern_config *c;
    char *err;
    size_t errlen;
    origin from[N_SETTINGS]; /* where each setting's current value came from */
} loader;

/* "env TERN_PORT", "config/tern.yaml line 3", "flag --port". */
static void describe(const origin *o, const char *key, char *buf, size_t n)
{
    char env[NAME_MAX_LEN];

    switch (o->src) {
    case FROM_FILE:
        snprintf(buf, n, "%s line %lu", o->name, o->line);
        break;
    case FROM_ENV:
        env_name(key, env, sizeof env);
        snprintf(buf, n, "env %s", env);
        break;
    case FROM_FLAG:
        snprintf(buf, n, "flag %.*s", (int)o->namelen, o->name);
        break;
    case FROM_DEFAULT:
        snprintf(buf, n, "default");
        break;
    }
}

static int apply(loader *ld, const setting *s, const char *text, const origin *o)
{
    char why[WHY_LEN], where[WHERE_LEN];
    value v;

    if (parse_value(s, text, &v, why, sizeof why) != 0) {
        describe(o, s->key, where, sizeof where);
        return fail(ld->err, ld->errlen, "config: %s (%s): %s", s->key, where, why);
    }
    if (store_value(ld->c, s, &v) != 0)
        return fail(ld->err, ld->errlen, "config: %s: out of memory", s->key);
    ld->from[s - settings] = *o;
    return 0;
}

/* An error about a key at a place, without a value to parse. */
static int fail_at(loader *ld, const char *key, const origin *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(loader *ld, const char *key, const origin *o, const char *fmt, ...)
{
    char where[WHERE_LEN], what[WHY_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    describe(o, key, where, sizeof where);
    return fail(ld->err, ld->errlen, "config: %s (%s): %s", key, where, what);
}

/* ---------------------------------------------------------------------------------
 * The YAML file
 * ------------------------------------------------------------------------------ */

typedef struct yaml_reader {
    loader *ld;
    const char *path;
    yaml_parser_t parser;
    yaml_event_t event;                /* the current event; deleted before the next */
    unsigned long line_of[N_SETTINGS]; /* where each key was set in this file, 0 = not */
} yaml_reader;

static unsigned long event_line(const yaml_reader *r)
{
    return (unsigned long)r->event.start_mark.line + 1;
}

static int next_event(yaml_reader *r)
{
    const yaml_parser_t *p = &r->parser;

    yaml_event_delete(&r->event);
    memset(&r->event, 0, sizeof r->event);
    if (yaml_parser_parse(&r->parser, &r->event))
        return 0;
    return fail(r->ld->err, r->ld->errlen, "config: %s line %lu: not valid YAML: %s%s%s", r->path,
                (unsigned long)p->problem_mark.line + 1, p->problem ? p->problem : "unknown error",
                p->context ? " " : "", p->context ? p->context : "");
}

/* An empty, "~" or "null" plain scalar: YAML's way of writing nothing. */
static bool is_null_scalar(const yaml_event_t *e)
{
    const char *v = (const char *)e->data.scalar.value;

    return e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (v[0] == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0);
}

/* What a non-scalar value event is, for "expected ..., got a list". */
static const char *event_what(const yaml_event_t *e)
{
    switch (e->type) {
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_ALIAS_EVENT:
        return "an alias (*name), which tern does not follow";
    default:
        return "something else";
    }
}

static int read_mapping(yaml_reader *r, const char *prefix);

/* A list under a text key (`allow_origins: [a, b]`): its items joined with commas, the
 * form the environment and flags use for the same key. */
static int read_list(yaml_reader *r, const setting *s, unsigned long key_line)
{
    size_t i = (size_t)(s - settings);
    origin o = {.src = FROM_FILE, .name = r->path, .line = event_line(r)};
    char joined[2048];
    size_t n = 0;

    joined[0] = '\0';
    for (;;) {
        if (next_event(r) != 0)
            return -1;
        if (r->event.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (r->event.type != YAML_SCALAR_EVENT)
            return fail_at(r->ld, s->key, &o, "expected a list of values, got %s in it",
                           event_what(&r->event));
        const char *item = (const char *)r->event.data.scalar.value;
        if (strchr(item, ',') || strlen(item) != r->event.data.scalar.length)
            return fail_at(r->ld, s->key, &o, "a list item contains a comma or a NUL byte");
        int w = snprintf(joined + n, sizeof joined - n, "%s%s", n ? "," : "", item);
        if (w < 0 || (size_t)w >= sizeof joined - n)
            return fail_at(r->ld, s->key, &o, "the list is longer than %zu bytes", sizeof joined);
        n += (size_t)w;
    }
    if (r->line_of[i]) {
        o.line = key_line;
        return fail_at(r->ld, s->key, &o, "set twice in this file (first on line %lu)",
                       r->line_of[i]);
    }
    r->line_of[i] = key_line;
    return apply(r->ld, s, joined, &o);
}

/* The value of a known key, the current event. */
static int read_leaf(yaml_reader *r, const setting *s, unsigned long key_line)
{
    size_t i = (size_t)(s - settings);
    origin o = {.src = FROM_FILE, .name = r->path, .line = event_line(r)};
    const char *text;

    if (r->event.type == YAML_SEQUENCE_START_EVENT && s->list)
        return read_list(r, s, key_line);
    if (r->event.type != YAML_SCALAR_EVENT)
        return fail_at(r->ld, s->key, &o, "expected a single value, got %s", event_what(&r->event));
    text = (const char *)r->event.data.scalar.value;
    if (strlen(text) != r->event.data.scalar.length)
        return fail_at(r->ld, s->key, &o, "the value contains a NUL byte");
    if (r->line_of[i]) {
        o.line = key_line;
        return fail_at(r->ld, s->key, &o, "set twice in this file (first on line %lu)",
                       r->line_of[i]);
    }
    r->line_of[i] = key_line;
    /* A bare `cert:` means the empty string, not the word "null". */
    return apply(r->ld, s, is_null_scalar(&r->event) ? "" : text, &o);
}

/* The value of a group key ("limits:"), the current event: its keys, or nothing. */
static int read_group(yaml_reader *r, const char *path)
{
    char shown[80];
    origin o = {.src = FROM_FILE, .name = r->path, .line = event_line(r)};

    if (r->event.type == YAML_MAPPING_START_EVENT)
        return read_mapping(r, path);
    /* Every key of a group commented out leaves `limits:` with no value: fine. */
    if (r->event.type == YAML_SCALAR_EVENT && is_null_scalar(&r->event))
        return 0;
    if (r->event.type == YAML_SCALAR_EVENT)
        return fail_at(r->ld, path, &o, "expected its keys indented below it, got %s",
                       quote((const char *)r->event.data.scalar.value, shown, sizeof shown));
    return fail_at(r->ld, path, &o, "expected its keys indented below it, got %s",
                   event_what(&r->event));
}

/* One key and its value; the key is the current event. */
static int read_entry(yaml_reader *r, const char *prefix)
{
    char path[NAME_MAX_LEN + 2], hint[NAME_MAX_LEN + 32];
    unsigned long line = event_line(r);
    origin o = {.src = FROM_FILE, .name = r->path, .line = line};
    const char *key;
    const setting *s;

    if (r->event.type != YAML_SCALAR_EVENT)
        return fail(r->ld->err, r->ld->errlen, "config: %s line %lu: expected a key name, got %s",
                    r->path, line, event_what(&r->event));
    key = (const char *)r->event.data.scalar.value;
    if (strlen(key) != r->event.data.scalar.length) /* "port\0junk" must not be "port" */
        return fail(r->ld->err, r->ld->errlen, "config: %s line %lu: a key contains a NUL byte",
                    r->path, line);
    snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
    s = find_setting(path);
    if (!s && !is_group(path)) {
        suggestion(path, "", hint, sizeof hint);
        return fail_at(r->ld, path, &o, "unknown key%s", hint);
    }
    if (next_event(r) != 0)
        return -1;
    return s ? read_leaf(r, s, line) : read_group(r, path);
}

/* Keys until the end of the mapping whose start was the current event. Recursion
 * happens only for known groups, so its depth is bounded by the key table. */
static int read_mapping(yaml_reader *r, const char *prefix)
{
    for (;;) {
        if (next_event(r) != 0)
            return -1;
        if (r->event.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (read_entry(r, prefix) != 0)
            return -1;
    }
}

/* The document's top: a mapping of keys, or nothing at all. */
static int read_document(yaml_reader *r)
{
    if (next_event(r) != 0)
        return -1;
    if (r->event.type == YAML_MAPPING_START_EVENT) {
        if (read_mapping(r, "") != 0)
            return -1;
    } else if (!(r->event.type == YAML_SCALAR_EVENT && is_null_scalar(&r->event))) {
        return fail(r->ld->err, r->ld->errlen,
                    "config: %s line %lu: expected a mapping of keys like \"port: 8080\"", r->path,
                    event_line(r));
    }
    return next_event(r); /* the document's end */
}

/* The whole stream: empty (a file of comments), or exactly one document. */
static int read_stream(yaml_reader *r)
{
    if (next_event(r) != 0 || next_event(r) != 0) /* stream start, then what follows */
        return -1;
    if (r->event.type == YAML_STREAM_END_EVENT)
        return 0;
    if (read_document(r) != 0 || next_event(r) != 0)
        return -1;
    if (r->event.type != YAML_STREAM_END_EVENT)
        return fail(r->ld->err, r->ld->errlen,
                    "config: %s line %lu: expected one YAML document, found another", r->path,
                    event_line(r));
    return 0;
}

static int read_yaml(loader *ld, FILE *f, const char *path)
{
    yaml_reader *r = calloc(1, sizeof *r);
    int rc;

    if (!r)
        return fail(ld->err, ld->errlen, "config: %s: out of memory", path);
    r->ld = ld;
    r->path = path;
    if (!yaml_parser_initialize(&r->parser)) {
        free(r);
        return fail(ld->err, ld->errlen, "config: %s: out of memory", path);
    }
    yaml_parser_set_input_file(&r->parser, f);
    rc = read_stream(r);
    yaml_event_delete(&r->event);
    yaml_parser_delete(&r->parser);
    free(r);
    return rc;
}

/* Opens the file; `named` says whether someone asked for it (then it must exist) and
 * how, for the message. Returns 0 with *f NULL when the default file is absent. */
static int open_config(loader *ld, const char *path, const char *named, FILE **f)
{
    struct stat st;

    *f = fopen(path, "r");
    if (!*f && errno == ENOENT && !named)
        return 0;
    if (!*f)
        return fail(ld->err, ld->errlen, "config: cannot open config file %s%s%s: %s", path,
                    named ? " from " : "", named ? named : "", strerror(errno));
    if (fstat(fileno(*f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(*f);
        *f = NULL;
        return fail(ld->err, ld->errlen, "config: cannot read config file %s%s%s: %s", path,
                    named ? " from " : "", named ? named : "", strerror(EISDIR));
    }
    return 0;
}

static int read_config_file(loader *ld, const char *path, const char *named)
{
    FILE *f;
    int rc;

    if (open_config(ld, path, named, &f) != 0)
        return -1;
    if (!f)
        return 0;
    /* Recorded first: origins of the values read point at this copy, which lives as
     * long as the config. */
    if (!(ld->c->config_path = strdup(path))) {
        fclose(f);
        return fail(ld->err, ld->errlen, "config: %s: out of memory", path);
    }
    rc = read_yaml(ld, f, ld->c->config_path);
    fclose(f);
    return rc;
}

/* ---------------------------------------------------------------------------------
 * The environment
 * ------------------------------------------------------------------------------ */

static int read_env(loader *ld)
{
    char name[NAME_MAX_LEN];
    const origin o = {.src = FROM_ENV};

    /* Only the names of known keys are looked at: other TERN_* variables may belong to
     * the application or its scripts. */
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *text;
        env_name(settings[i].key, name, sizeof name);
        if ((text = getenv(name)) && apply(ld, &settings[i], text, &o) != 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Flags
 * ------------------------------------------------------------------------------ */

typedef enum { FLAG_HELP, FLAG_CONFIG, FLAG_SETTING } flag_kind;

typedef struct flag {
    flag_kind kind;
    const setting *s;  /* FLAG_SETTING */
    const char *value; /* FLAG_CONFIG, FLAG_SETTING */
    origin from;
} flag;

/* Matches a flag name (without "--") against a name, taking '-' for '_' so both
 * --server-name and --server_name work. */
static bool flag_is(const char *name, size_t len, const char *want)
{
    size_t i;

    for (i = 0; i < len && want[i]; i++)
        if (name[i] != want[i] && !(name[i] == '-' && want[i] == '_'))
            return false;
    return i == len && want[i] == '\0';
}

static const setting *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (flag_is(name, len, settings[i].key))
            return &settings[i];
    return NULL;
}

static int unknown_flag(loader *ld, const char *arg, size_t len)
{
    char key[NAME_MAX_LEN], hint[NAME_MAX_LEN + 32];
    size_t n = len < sizeof key - 1 ? len : sizeof key - 1;

    /* The suggestion works on the key spelling; a dashed flag becomes underscored. */
    for (size_t i = 0; i < n; i++)
        key[i] = arg[2 + i] == '-' ? '_' : arg[2 + i];
    key[n] = '\0';
    suggestion(key, "--", hint, sizeof hint);
    return fail(ld->err, ld->errlen, "config: unknown flag %.*s%s (see --help)", (int)len + 2, arg,
                hint);
}

/* The value of the flag at argv[*i]: after "=", else the next argument, which must not
 * itself be a flag (so "--port --host x" reports the missing port). Advances *i. */
static int flag_value(loader *ld, int argc, char **argv, int *i, size_t len, const char **out)
{
    const char *arg = argv[*i], *eq = arg[2 + len] == '=' ? arg + 2 + len + 1 : NULL;

    if (eq) {
        *out = eq;
        return 0;
    }
    if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
        *out = argv[++*i];
        return 0;
    }
    return fail(ld->err, ld->errlen, "config: flag %s needs a value (%s VALUE or %s=VALUE)", arg,
                arg, arg);
}

/* Reads the flag at argv[*i], and its value, advancing *i past what it used. */
static int read_flag(loader *ld, int argc, char **argv, int *i, flag *f)
{
    const char *arg = argv[*i], *name = arg + 2;
    size_t len;

    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        f->kind = FLAG_HELP;
        return 0;
    }
    if (arg[0] == '-' && arg[1] != '-' && arg[1] != '\0')
        return fail(ld->err, ld->errlen, "config: unknown flag %s (see --help)", arg);
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return fail(ld->err, ld->errlen,
                    "config: unexpected argument \"%s\"; settings are flags like --port=8080 "
                    "(see --help)",
                    arg);
    len = strcspn(name, "=");
    f->from = (origin){.src = FROM_FLAG, .name = arg, .namelen = len + 2};
    if (flag_is(name, len, "help"))
        return fail(ld->err, ld->errlen, "config: flag --help takes no value");
    if (flag_is(name, len, "config"))
        f->kind = FLAG_CONFIG;
    else if ((f->s = find_flag(name, len)))
        f->kind = FLAG_SETTING;
    else
        return unknown_flag(ld, arg, len);
    return flag_value(ld, argc, argv, i, len, &f->value);
}

typedef struct flag_scan {
    bool help;
    const char *config; /* last --config given, or NULL */
} flag_scan;

/* First pass over the flags: finds --help and --config (needed before the file is
 * read) and reports malformed or unknown flags. --help wins over any such error, so
 * help is always reachable. Returns 1 for help, else 0 or -1. */
static int scan_flags(loader *ld, int argc, char **argv, flag_scan *scan)
{
    char later[WHY_LEN], *err = ld->err;
    size_t errlen = ld->errlen;
    int rc = 0;
    flag f;

    for (int i = 1; i < argc; i++) {
        if (read_flag(ld, argc, argv, &i, &f) != 0) {
            /* Keep the first error; later ones go to scratch while we look for --help. */
            rc = -1;
            ld->err = later;
            ld->errlen = sizeof later;
            continue;
        }
        if (f.kind == FLAG_HELP)
            scan->help = true;
        else if (f.kind == FLAG_CONFIG)
            scan->config = f.value;
    }
    ld->err = err;
    ld->errlen = errlen;
    if (scan->help && err && errlen)
        err[0] = '\0';
    return scan->help ? 1 : rc;
}

/* Second pass: the settings, in order, so a repeated flag's last value wins. */
static int apply_flags(loader *ld, int argc, char **argv)
{
    flag f;

    for (int i = 1; i < argc; i++) {
        if (read_flag(ld, argc, argv, &i, &f) != 0)
            return -1; /* not reached: scan_flags saw the same arguments */
        if (f.kind == FLAG_SETTING && apply(ld, f.s, f.value, &f.from) != 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Whole-config checks and tern_config_load
 * ------------------------------------------------------------------------------ */

/* TLS needs both files; one without the other is a half-finished edit, and serving
 * plain HTTP instead would hide it. */
static int check_tls(loader *ld)
{
    const setting *cert = find_setting("tls.cert"), *key = find_setting("tls.key");
    bool has_cert = ld->c->tls_cert[0] != '\0', has_key = ld->c->tls_key[0] != '\0';
    const setting *set = has_cert ? cert : key, *unset = has_cert ? key : cert;
    char where[WHERE_LEN];

    if (has_cert == has_key)
        return 0;
    describe(&ld->from[set - settings], set->key, where, sizeof where);
    return fail(ld->err, ld->errlen, "config: %s (%s) is set but %s is not; set both or neither",
                set->key, where, unset->key);
}

static bool strings_present(const tern_config *c)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].kind == KIND_STRING &&
            !*(char *const *)((const char *)c + settings[i].offset))
            return false;
    return true;
}

/* Which file to read and who named it ("--config", "$TERN_CONFIG", or NULL for the
 * default, which may be absent). An empty $TERN_CONFIG counts as unset, as compose
 * files pass unset variables through as empty. */
static const char *choose_file(const flag_scan *scan, const char **named)
{
    const char *env = getenv("TERN_CONFIG");

    if (scan->config) {
        *named = "--config";
        return scan->config;
    }
    if (env && *env) {
        *named = "$TERN_CONFIG";
        return env;
    }
    *named = NULL;
    return DEFAULT_CONFIG_FILE;
}

/* On any return but 0 the strings are freed again (and NULL), so a caller that exits
 * without tern_config_free leaks nothing, and one that calls it is still fine. */
int tern_config_load(tern_config *c, int argc, char **argv, char *err, size_t errlen)
{
    loader ld = {.c = c, .err = err, .errlen = errlen};
    flag_scan scan = {0};
    const char *named, *path;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    tern_config_defaults(c);
    rc = scan_flags(&ld, argc, argv, &scan);
    if (rc == 1)
        tern_config_usage(stdout, argc > 0 && argv[0] ? argv[0] : "tern");
    if (rc == 0 && !strings_present(c))
        rc = fail(err, errlen, "config: out of memory");
    if (rc == 0 && scan.config && !*scan.config)
        rc = fail(err, errlen, "config: flag --config needs a file name");
    path = choose_file(&scan, &named);
    if (rc == 0)
        rc = read_config_file(&ld, path, named);
    if (rc == 0)
        rc = read_env(&ld);
    if (rc == 0)
        rc = apply_flags(&ld, argc, argv);
    if (rc == 0)
        rc = check_tls(&ld);
    if (rc != 0)
        tern_config_free(c);
    return rc;
}

/* ---------------------------------------------------------------------------------
 * --help
 * ------------------------------------------------------------------------------ */

static void metavar(const setting *s, char *buf, size_t n)
{
    static const char *const by_kind[] = {
        [KIND_INT] = "N",       [KIND_SIZE] = "SIZE", [KIND_MS] = "MS",
        [KIND_STRING] = "TEXT", [KIND_BOOL] = "BOOL", [KIND_ENUM] = "",
    };

    if (s->kind == KIND_ENUM)
        enum_words(s, "|", buf, n);
    else
        snprintf(buf, n, "%s", s->metavar ? s->metavar : by_kind[s->kind]);
}

/* "; 1..65535", "; 1k..1m", "; true or false", or "". */
static void range_note(const setting *s, char *buf, size_t n)
{
    char lo[32], hi[32];

    if (s->kind == KIND_BOOL) {
        snprintf(buf, n, "; true or false");
        return;
    }
    if (s->kind != KIND_INT && s->kind != KIND_SIZE && s->kind != KIND_MS) {
        snprintf(buf, n, "%s", "");
        return;
    }
    format_number(s, s->min, lo, sizeof lo);
    format_number(s, s->max, hi, sizeof hi);
    snprintf(buf, n, "; %s..%s%s%s", lo, hi, s->kind == KIND_MS ? " ms" : "",
             s->auto_cpus ? " or auto" : "");
}

static void usage_setting(FILE *f, const setting *s)
{
    char head[NAME_MAX_LEN + 64], mv[64], env[NAME_MAX_LEN], range[96];

    metavar(s, mv, sizeof mv);
    snprintf(head, sizeof head, "--%s %s", s->key, mv);
    env_name(s->key, env, sizeof env);
    range_note(s, range, sizeof range);
    fprintf(f, "  %-34s env %-30s default %s\n", head, env, *s->def ? s->def : "\"\"");
    fprintf(f, "        %s%s\n", s->help, range);
}

void tern_config_usage(FILE *f, const char *prog)
{
    const char *slash = prog ? strrchr(prog, '/') : NULL;

    prog = slash ? slash + 1 : prog ? prog : "tern";
    fprintf(f,
            "usage: %s [--config FILE] [--KEY VALUE | --KEY=VALUE]...\n"
            "\n"
            "Settings come from built-in defaults, then a YAML file (--config FILE, else\n"
            "$TERN_CONFIG, else " DEFAULT_CONFIG_FILE " when it exists), then TERN_*\n"
            "environment variables, then flags; each overrides the ones before.\n"
            "Sizes take k, m or g (KiB, MiB, GiB); durations are milliseconds or take\n"
            "ms, s, m or h. Flags may use - for _ (--server-name).\n"
            "\n"
            "  %-34s %s\n"
            "  %-34s %s\n"
            "\n",
            prog, "-h, --help", "print this help and exit", "--config FILE",
            "YAML settings file (env TERN_CONFIG)");
    for (size_t i = 0; i < N_SETTINGS; i++)
        usage_setting(f, &settings[i]);
}
