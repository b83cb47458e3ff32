/* server/request_id.h - every request's id: a sane incoming X-Request-ID is kept (so
 * one id follows a call through proxies and services), else one is made; it is echoed
 * in the response, written in the access log and in error-log lines (internal). */
#ifndef TERN_REQUEST_ID_H
#define TERN_REQUEST_ID_H

#include <stddef.h>
#include <stdint.h>
#include <h2o.h>

/** Longest id kept from a client (and room for a made one). */
#define TERN_REQ_ID_MAX 64

/** A worker's id maker: a random base and a counter, no syscall per request. */
typedef struct tern_req_id_gen {
    uint64_t base, seq;
} tern_req_id_gen;

/** Seeds g from the kernel's random source (once per worker). */
void tern__req_id_gen_init(tern_req_id_gen *g);

/** True when id (len bytes) is 1..64 of [A-Za-z0-9._-]. */
int tern__req_id_valid(const char *id, size_t len);

/** Picks hreq's id (its X-Request-ID if valid, else a new 16-hex-digit one), adds it to
 *  the response headers and copies it NUL-terminated into out. Returns its length. */
size_t tern__req_id_assign(tern_req_id_gen *g, h2o_req_t *hreq, char out[TERN_REQ_ID_MAX + 1]);

/** The id of the request the calling coroutine serves, NULL elsewhere (for log lines). */
const char *tern__req_id_current(void);

#endif
