/* server/stream.h - how a request's end finishes its stream (internal). */
#ifndef TERN_STREAM_INTERNAL_H
#define TERN_STREAM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

struct tern_req;

/** True when the handler started a streamed answer. */
bool tern__stream_started(const struct tern_req *req);

/** Ends req's stream when the handler did not (cut off when failed), hands h2o the
 *  request for good, and returns the status to log (499 when the client left) and the
 *  bytes sent. Main stack, when the handler returned. */
int tern__stream_finish(struct tern_req *req, bool failed, size_t *bytes);

#endif
