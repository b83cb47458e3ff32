/* server/disconnect.c - see disconnect.h. */
#include <errno.h>
#include <sys/socket.h>

#include "disconnect.h"
#include "request.h"
#include "worker.h"

/* True when the peer has closed: a peek reads end-of-file (or a reset). Pipelined
 * bytes waiting in the buffer hide a close behind them; the write will find it. */
static bool peer_closed(h2o_req_t *hreq)
{
    if (hreq->version >= 0x200 || !hreq->conn->callbacks->get_socket)
        return false;
    h2o_socket_t *sock = hreq->conn->callbacks->get_socket(hreq->conn);
    if (!sock)
        return false;
    int fd = h2o_socket_get_fd(sock);
    if (fd < 0)
        return false;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
}

void tern__check_disconnects(tern_worker *w)
{
    uint64_t now = uv_hrtime();
    for (tern_req *req = w->live; req; req = req->live_next) {
        if (!req->h2o || req->peer_closed ||
            now - req->start_ns < (uint64_t)TERN_DISCONNECT_CHECK_MS * 1000000u)
            continue;
        if (peer_closed(req->h2o)) {
            /* h2o still owns the request: it is answered (and the write fails) when
             * the handler returns; until then every wait fails with TERN_ECANCELED */
            req->peer_closed = true;
            tern_scope_cancel(&req->scope);
        }
    }
}
