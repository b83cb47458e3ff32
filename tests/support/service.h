/* tests/support/service.h - start tern-service (or another server binary) on a free
 * loopback port for a test, talk to it with libcurl, stop it by pid. */
#ifndef TERN_TEST_SERVICE_H
#define TERN_TEST_SERVICE_H

#include <stddef.h>
#include <sys/types.h>

/** A server started by a test. */
typedef struct svc {
    pid_t pid;
    int port;
    char base[64];       /**< "http://127.0.0.1:PORT" */
    char log_path[256];  /**< its stdout+stderr */
    int tls;             /**< started with TERN_TLS_CERT: talk https, trust any certificate */
    int exit_status;     /**< when it exited during start-up: its exit code (else -1) */
} svc;

/** A response read by http_request. */
typedef struct http_resp {
    long status;
    char *body;          /**< NUL-terminated */
    size_t len;
    char *headers;       /**< raw header block, NUL-terminated */
    double total_s;      /**< time for the whole request */
    int curl_code;       /**< CURLE_OK when a response arrived */
} http_resp;

/** A TCP port on 127.0.0.1 that was free a moment ago. */
int svc_free_port(void);

/** Starts bin (NULL: $TERN_SERVICE_BIN) with --host 127.0.0.1 --port P plus args
 *  (NULL-terminated) and extra env "K=V" entries; waits up to 10 s until GET / (or
 *  ready_path) answers. 0, or -1 (the log is printed). */
int svc_start(svc *s, const char *bin, const char *const *args, const char *const *env,
              const char *ready_path);

/** svc_start on a given port (0: a free one), for tests whose config names the port. */
int svc_start_port(svc *s, int port, const char *bin, const char *const *args,
                   const char *const *env, const char *ready_path);

/** Sends sig and waits up to timeout_s for exit; returns the exit status, 128+signal
 *  when killed by one, or -1 on timeout (then it SIGKILLs). */
int svc_stop(svc *s, int sig, double timeout_s);

/** A TCP connection to the server (5 s receive timeout), for raw-bytes tests; -1 on failure. */
int svc_dial(const svc *s);

/** GET (or method) base+path with optional body; timeout_s bounds it. 0 on a response. */
int http_request(const svc *s, const char *method, const char *path, const char *body,
                 const char *const *headers, double timeout_s, http_resp *r);

/** GET shorthand. */
int http_get(const svc *s, const char *path, http_resp *r);

/** Sends n GETs of path, at most `concurrent` at once, each on its own connection;
 *  stores each status in statuses (0: no response) and returns how many were 200. */
int http_parallel(const svc *s, const char *path, int n, int concurrent, double timeout_s,
                  long *statuses);

/** Seconds on a monotonic clock. */
double svc_now(void);

/** The value of header name in r (case-insensitive), copied into buf; NULL if absent. */
const char *http_header(const http_resp *r, const char *name, char *buf, size_t n);

/** Frees a response's buffers. */
void http_resp_free(http_resp *r);

#endif
