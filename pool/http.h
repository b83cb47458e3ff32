/* pool/http.h - internals of the outbound HTTP client (pool/http.c) that tests and the
 * runtime may use; applications use tern/http_client.h. */
#ifndef TERN_POOL_HTTP_H
#define TERN_POOL_HTTP_H

#include "tern/http_client.h"

/** Trusts the certificates in the PEM file path (instead of the system bundle) for
 *  https fetches started afterwards; NULL restores the system bundle. Lets tests talk
 *  to a server with a self-signed certificate. 0 or -ENOMEM. */
int tern__http_client_set_ca_file(tern_http_client *c, const char *path);

/** How many sockets the client's loop watches right now (tests: an idle keep-alive
 *  connection is not watched, so it cannot keep a loop alive). */
unsigned tern__http_client_watched(const tern_http_client *c);

#endif
