/* server/resolve.c - see resolve.h. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "resolve.h"

/* Finds the host inside scheme://[user[:pass]@]host[:port][/path]: start and length. */
static int host_span(const char *url, size_t *start, size_t *len)
{
    const char *p = strstr(url, "://");
    if (!p)
        return -1;
    p += 3;
    const char *end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q; /* the last '@': passwords may contain '@' */
    if (at)
        p = at + 1;
    if (*p == '[') { /* IPv6 literal: nothing to resolve */
        *start = (size_t)(p - url);
        *len = 0;
        return 0;
    }
    const char *colon = memchr(p, ':', (size_t)(end - p));
    *start = (size_t)(p - url);
    *len = (size_t)((colon ? colon : end) - p);
    return 0;
}

static int lookup(const char *host, int family, char *out, size_t n)
{
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -1;
    int rc = -1;
    if (res->ai_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, out, (socklen_t)n);
        rc = 0;
    } else if (res->ai_family == AF_INET6 && n > 2) {
        out[0] = '[';
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, out + 1,
                  (socklen_t)(n - 2));
        strcat(out, "]");
        rc = 0;
    }
    freeaddrinfo(res);
    return rc;
}

int tern__resolve_url(char **url, const char *key, char *err, size_t errlen)
{
    if (!*url || !**url)
        return 0;
    size_t start, len;
    if (host_span(*url, &start, &len) < 0 || len == 0)
        return 0; /* malformed URLs are the pool's to reject, with its own message */
    char host[256];
    if (len >= sizeof host) {
        snprintf(err, errlen, "config: %s: host name too long", key);
        return -1;
    }
    memcpy(host, *url + start, len);
    host[len] = '\0';
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) == 1)
        return 0;
    char ip[INET6_ADDRSTRLEN + 2];
    if (lookup(host, AF_INET, ip, sizeof ip) < 0 && lookup(host, AF_UNSPEC, ip, sizeof ip) < 0) {
        snprintf(err, errlen, "config: %s: cannot resolve host \"%s\"", key, host);
        return -1;
    }
    size_t total = strlen(*url) - len + strlen(ip) + 1;
    char *out = malloc(total);
    if (!out) {
        snprintf(err, errlen, "config: %s: out of memory", key);
        return -1;
    }
    snprintf(out, total, "%.*s%s%s", (int)start, *url, ip, *url + start + len);
    free(*url);
    *url = out;
    return 0;
}
