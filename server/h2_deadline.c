/* server/h2_deadline.c - see h2_deadline.h. h2o's public view of an HTTP/2 stream is
 * its h2o_req_t, which HTTP/2's foreach_request (globalconf->http2.callbacks) hands
 * over for every stream, also those whose request is still arriving: one not yet
 * processed (processed_at unset) whose headers are unparsed (no method yet) or whose
 * body has begun but not ended. A request complete but queued behind h2o's
 * per-connection concurrency limit has its headers and, if it has a body, its entity:
 * it is left alone. (An empty body ended by a zero-length DATA frame may leave the
 * entity unset; such a request would have to wait in that queue for the whole
 * timeout to be cut.) */
#include <sys/socket.h>
#include <sys/time.h>

#include "h2_deadline.h"

typedef struct sweep {
    struct timeval now;
    uint64_t timeout_ms;
    unsigned cut;
} sweep;

static uint64_t ms_between(const struct timeval *from, const struct timeval *to)
{
    int64_t us = (int64_t)(to->tv_sec - from->tv_sec) * 1000000 + (to->tv_usec - from->tv_usec);
    return us > 0 ? (uint64_t)us / 1000 : 0;
}

static int still_arriving(const h2o_req_t *req)
{
    if (req->processed_at.at.tv_sec != 0 || req->timestamps.request_begin_at.tv_sec == 0)
        return 0;
    return req->input.method.base == NULL ||
           (req->timestamps.request_body_begin_at.tv_sec != 0 && req->entity.base == NULL);
}

static int check_one(h2o_req_t *req, void *arg)
{
    sweep *sw = arg;
    if (!still_arriving(req) ||
        ms_between(&req->timestamps.request_begin_at, &sw->now) <= sw->timeout_ms)
        return 0;
    h2o_socket_t *sock =
        req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
    int fd = sock ? h2o_socket_get_fd(sock) : -1;
    if (fd >= 0) {
        /* as HTTP/1.1's timeout does, the connection goes. Shutting the socket down
         * (rather than freeing anything from inside h2o's iteration) lets h2o see the
         * end of the stream and clean up its own records. */
        shutdown(fd, SHUT_RDWR);
        sw->cut++;
    }
    return 0;
}

unsigned tern__h2_cut_slow_requests(h2o_context_t *ctx, uint64_t timeout_ms)
{
    sweep sw = {.timeout_ms = timeout_ms};
    gettimeofday(&sw.now, NULL);
    if (ctx->globalconf->http2.callbacks.foreach_request)
        ctx->globalconf->http2.callbacks.foreach_request(ctx, check_one, &sw);
    return sw.cut;
}
