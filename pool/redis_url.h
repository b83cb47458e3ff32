/* pool/redis_url.h - parses the Redis pool's URL: redis://[[user]:password@]IP[:port][/db]. */
#ifndef TERN_POOL_REDIS_URL_H
#define TERN_POOL_REDIS_URL_H

#include <netinet/in.h>

/** A parsed Redis URL. */
typedef struct tern__redis_url {
    char host[INET6_ADDRSTRLEN]; /**< an IP literal (IPv6 without brackets) */
    int port;                    /**< 6379 when the URL names none */
    int db;                      /**< 0 when the URL names none */
    char user[128];              /**< ACL user for AUTH, "" for the default user */
    char password[256];          /**< "" for none */
} tern__redis_url;

/** Parses url into out. 0, or -EINVAL with tern_errmsg naming the bad part (never
 *  the password). Host names are refused: resolving them would block the loop. */
int tern__redis_url_parse(const char *url, tern__redis_url *out);

#endif
