/* tern/config.h - settings: defaults < config/tern.yaml < TERN_* environment <
 * command-line flags. Every key has an environment name: TERN_ + the key path
 * upper-cased with '.' as '_' (limits.body_bytes -> TERN_LIMITS_BODY_BYTES). */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Access log formats. */
typedef enum { TERN_ACCESS_LOG_OFF = 0, TERN_ACCESS_LOG_PLAIN, TERN_ACCESS_LOG_JSON } tern_access_log;

/** Error log levels, most severe first. */
typedef enum { TERN_LOG_ERROR = 0, TERN_LOG_WARN, TERN_LOG_INFO, TERN_LOG_DEBUG } tern_log_level;

/** Every setting of a tern service (see config/tern.yaml for the meaning of each). */
typedef struct tern_config {
    char *host;                  /**< host: listen address (IP literal) */
    int port;                    /**< port: listen port */
    int workers;                 /**< workers: threads, each with its own event loop */
    int backlog;                 /**< backlog: listen(2) backlog */
    char *server_name;           /**< server_name: value of the Server header */
    char *tls_cert;              /**< tls.cert: PEM certificate chain; with tls.key turns on TLS + HTTP/2 */
    char *tls_key;               /**< tls.key: PEM private key */
    size_t body_limit;           /**< limits.body_bytes: largest request body (413 beyond) */
    size_t header_limit;         /**< limits.header_bytes: largest request header block (431 beyond) */
    int json_depth;              /**< limits.json_depth: deepest nesting in a JSON body (413 beyond) */
    int json_items;              /**< limits.json_items: most values plus keys in a JSON body (413 beyond) */
    int max_connections;         /**< limits.connections: open connections per worker */
    uint64_t header_timeout_ms;  /**< limits.header_timeout_ms: time to receive a whole request / idle keep-alive */
    uint64_t request_timeout_ms; /**< request_timeout_ms: per-request deadline (504 beyond) */
    uint64_t drain_timeout_ms;   /**< drain_timeout_ms: how long shutdown waits for in-flight requests */
    size_t stack_size;           /**< coroutine.stack_bytes: usable stack per coroutine */
    int max_coroutines;          /**< coroutine.max: live coroutines per worker (503 beyond) */
    tern_access_log access_log;  /**< access_log: plain | json | off */
    tern_log_level log_level;    /**< log_level: error | warn | info | debug */
    char *redis_url;             /**< redis.url: redis://[:password@]IP:port/db; "" = no Redis */
    int redis_pool_size;         /**< redis.pool_size: connections per worker */
    uint64_t redis_timeout_ms;   /**< redis.timeout_ms: per command */
    uint64_t redis_connect_timeout_ms; /**< redis.connect_timeout_ms: per connect attempt */
    char *mysql_url;             /**< mysql.url: mysql://user:password@IP:port/db; "" = no MySQL */
    int mysql_pool_min;          /**< mysql.pool_min: connections kept open per worker */
    int mysql_pool_max;          /**< mysql.pool_max: most connections per worker */
    uint64_t mysql_acquire_timeout_ms; /**< mysql.acquire_timeout_ms: wait for a free connection (503 beyond) */
    uint64_t mysql_query_timeout_ms;   /**< mysql.query_timeout_ms: per statement */
    uint64_t mysql_connect_timeout_ms; /**< mysql.connect_timeout_ms: per connect attempt */
    uint64_t mysql_idle_ping_ms; /**< mysql.idle_ping_ms: ping connections idle longer than this */
    int mysql_pool_recycle_s;    /**< mysql.pool_recycle_s: close connections older than this (0: never) */
    char *crawl_urls;            /**< crawl.urls: comma-separated URLs GET /crawl fetches */
    bool metrics_enabled;        /**< metrics.enabled: serve Prometheus metrics */
    char *metrics_path;          /**< metrics.path: path of the metrics endpoint */
    char *cors_allow_origins;    /**< cors.allow_origins: comma list of origins allowed cross-origin ("*": any); empty: CORS off */
    char *cors_allow_methods;    /**< cors.allow_methods: comma list of methods a preflight may ask for ("*": any) */
    char *cors_allow_headers;    /**< cors.allow_headers: comma list of request headers a preflight may ask for ("*": any) */
    bool cors_allow_credentials; /**< cors.allow_credentials: allow cookies/authorization cross-origin */
    char *cors_expose_headers;   /**< cors.expose_headers: comma list of response headers scripts may read */
    int cors_max_age;            /**< cors.max_age: seconds a browser may cache a preflight answer */
    bool docs_enabled;           /**< docs.enabled: serve the OpenAPI document, /docs and /redoc */
    char *docs_title;            /**< docs.title: info.title of the OpenAPI document */
    char *docs_version;          /**< docs.version: info.version of the OpenAPI document */
    char *docs_openapi_url;      /**< docs.openapi_url: path of the OpenAPI document */
    char *docs_assets_dir;       /**< docs.assets_dir: local Swagger UI / ReDoc files ("" = CDN) */
    char *config_path;           /**< the YAML file that was read (NULL: none) */
} tern_config;

/** Fills c with the defaults. */
void tern_config_defaults(tern_config *c);

/** Loads defaults, then the YAML file (--config FILE, else $TERN_CONFIG, else
 *  config/tern.yaml when it exists), then TERN_* variables, then flags.
 *  Returns 0; 1 when --help was printed (exit 0); -1 with a one-line message in err
 *  naming the key on a bad value or unknown key (exit 2). */
int tern_config_load(tern_config *c, int argc, char **argv, char *err, size_t errlen);

/** Sets one key from its text form, as the YAML, env and flag paths do. 0 or -1 with err. */
int tern_config_set(tern_config *c, const char *key, const char *value, char *err, size_t errlen);

/** Writes the --help text (every key, its flag, env name and default) to f. */
void tern_config_usage(FILE *f, const char *prog);

/** Makes dst a deep copy of src (its own strings). 0 or -ENOMEM (dst then empty). */
int tern_config_copy(tern_config *dst, const tern_config *src);

/** Frees the strings c owns. */
void tern_config_free(tern_config *c);

#endif
