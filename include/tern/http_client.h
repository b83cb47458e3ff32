/* tern/http_client.h - an awaitable outbound HTTP client (libcurl's multi interface
 * driven by the worker's loop): connection reuse per thread, HTTP/2 when offered. */
#ifndef TERN_HTTP_CLIENT_H
#define TERN_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/** A fetched response; body and headers live in the caller's scope memory. */
typedef struct tern_http_response {
    long status;          /**< HTTP status (0 when none arrived) */
    const char *body;     /**< NUL-terminated */
    size_t body_len;
    const char *content_type; /**< NULL when absent */
    int http_version;     /**< 1 or 2 */
} tern_http_response;

/** Request options. */
typedef struct tern_http_opts {
    const char *method;       /**< default "GET" */
    const char *body;         /**< request body (NULL: none) */
    size_t body_len;
    const char *const *headers; /**< NULL-terminated "Name: value" lines */
    int64_t timeout_ms;       /**< whole transfer, also bounded by the deadline (default 10000) */
    size_t max_body;          /**< larger bodies fail with -EMSGSIZE (default 8 MiB) */
} tern_http_opts;

/** A per-thread client (its connection cache and multi handle). */
typedef struct tern_http_client tern_http_client;

/** Creates a client on the calling thread's scheduler loop. 0 or -ENOMEM. */
int tern_http_client_new(tern_http_client **out);

/** Frees the client once the loop has closed its handles (pending fetches fail). */
void tern_http_client_free(tern_http_client *c);

/** Fetches url (http or https) and waits for the whole response. 0 with *resp for any
 *  HTTP status; TERN_ETIMEDOUT; TERN_ECANCELED; TERN_EUNAVAILABLE (connect refused,
 *  DNS, TLS, reset: tern_errmsg says which); -EMSGSIZE. opts may be NULL. */
int tern_http_fetch(tern_http_client *c, const char *url, const tern_http_opts *opts,
                    tern_http_response *resp);

/** The running worker's client (NULL off a worker). */
tern_http_client *tern_http_default(void);

#endif
