/* server/resolve.h - host names in backend URLs become IP addresses once, at start-up,
 * on the main thread: the pools connect by IP so nothing on a worker's loop ever waits
 * on a DNS lookup (hiredis' and Connector/C's lookups block). */
#ifndef TERN_RESOLVE_H
#define TERN_RESOLVE_H

#include <stddef.h>

/** Rewrites *url (malloc'd; replaced in place) so its host is an IP literal: an IPv4
 *  address when the name has one, else IPv6 in brackets. URLs whose host is already an
 *  IP, and empty URLs, are left alone. 0, or -1 with a one-line message in err. */
int tern__resolve_url(char **url, const char *key, char *err, size_t errlen);

#endif
