/* server/disconnect.h - noticing HTTP/1 clients that went away mid-request.
 *
 * h2o 2.2.5 stops reading an HTTP/1 socket while a request is processed, so a client
 * that closes its connection is only noticed when the response is written. For
 * HTTP/2, a reset stream frees the request at once and the pool guard sees it. This
 * closes the HTTP/1 gap: a per-worker timer peeks at the sockets of requests in flight
 * and cancels the ones whose peer has closed, so their handlers stop waiting and give
 * back what they hold. */
#ifndef TERN_DISCONNECT_H
#define TERN_DISCONNECT_H

struct tern_worker;

/** How often the worker looks (ms), and how old a request must be to be looked at. */
#define TERN_DISCONNECT_CHECK_MS 200

/** Peeks at every HTTP/1 request in flight; cancels those whose client has closed. */
void tern__check_disconnects(struct tern_worker *w);

#endif
