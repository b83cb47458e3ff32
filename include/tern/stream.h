/* tern/stream.h - streaming responses and Server-Sent Events.
 *
 * A handler starts a stream, writes chunks (HTTP/1.1 chunked encoding, HTTP/2 DATA
 * frames) and ends it; each write waits until the previous chunk was handed to the
 * socket, so a slow reader slows the handler instead of filling memory. When the
 * client goes away the next write fails with TERN_ECANCELED; the handler returns and
 * its cleanups run. The request deadline still applies to every write unless the
 * handler calls tern_stream_no_deadline (long-lived event streams). A handler that
 * returns without tern_stream_end ends the stream; one that failed (deadline, NULL)
 * cuts it off so the client sees it incomplete. */
#ifndef TERN_STREAM_H
#define TERN_STREAM_H

#include <stddef.h>

#include "route.h"

/** Sends the status line and headers (those set with tern_set_header too) and starts
 *  a body of unknown length. 0, -EALREADY when started, TERN_ECANCELED when the
 *  client is gone. */
int tern_stream_begin(tern_req *req, int status, const char *content_type);

/** Sends len bytes (copied); waits until the previous chunk went out. 0,
 *  TERN_ECANCELED (client gone), TERN_ETIMEDOUT (deadline) or -EINVAL (no stream). */
int tern_stream_write(tern_req *req, const void *data, size_t len);

/** Ends the body. 0 or an error as for tern_stream_write. The handler then returns
 *  TERN_RAW (any value is ignored once a stream began). */
int tern_stream_end(tern_req *req);

/** Lifts the request deadline for the rest of this request, so a long stream is not cut
 *  at request_timeout_ms; it then ends when the handler ends it, the client leaves, or
 *  shutdown's drain_timeout_ms passes. */
void tern_stream_no_deadline(tern_req *req);

/** Sends one Server-Sent Event: "event: NAME" when event is not NULL, then data split
 *  into "data:" lines at CR, LF or CRLF, then a blank line. Starts the stream first if
 *  needed (200, text/event-stream, Cache-Control: no-cache). Errors as tern_stream_write. */
int tern_sse_send(tern_req *req, const char *event, const char *data);

#endif
