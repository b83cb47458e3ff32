/* server/h2_deadline.h - limits.header_timeout_ms for HTTP/2 requests.
 *
 * h2o 2.2.5's HTTP/1.1 req_timeout runs from a request's first byte to its last body
 * byte, but its http2.idle_timeout only runs while a connection has no open stream: a
 * client that opens a stream and then sends its headers (CONTINUATION frames) or its
 * body a byte at a time holds the connection and the stream forever. The worker's
 * periodic check closes that gap. */
#ifndef TERN_H2_DEADLINE_H
#define TERN_H2_DEADLINE_H

#include <stdint.h>
#include <h2o.h>

/** Shuts down every HTTP/2 connection of ctx with a stream that has been receiving its
 *  request (headers or body) for longer than timeout_ms; returns how many. */
unsigned tern__h2_cut_slow_requests(h2o_context_t *ctx, uint64_t timeout_ms);

#endif
