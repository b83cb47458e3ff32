/* pool/redis_url.c - redis://[[user]:password@]IP[:port][/db] into host, port, db and
 * credentials. Strict on purpose: a typo in a URL should stop start-up with one clear
 * line, not turn into a pool that retries a wrong address forever. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "tern/error.h"
#include "redis_url.h"
#include "hex.h"

#define SCHEME "redis://"
#define DEFAULT_PORT 6379

static int fail(const char *why)
{
    tern_set_errmsg("bad redis url: %s", why);
    return -EINVAL;
}

/* Copies s[0..len) into out with %XX escapes decoded (a password may hold '@' or
 * ':'). False when it does not fit, an escape is malformed or decodes to NUL. */
static bool decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return false;
            int hi = tern_hex_digit(s[i + 1]), lo = tern_hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return false;
            c = hi * 16 + lo;
            i += 2;
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return true;
}

/* A decimal number in [lo, hi] made of digits only (no sign, no spaces). */
static bool number(const char *s, size_t len, long lo, long hi, int *out)
{
    if (len == 0 || len > 10)
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static int parse_userinfo(const char *s, size_t len, tern__redis_url *out)
{
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return fail("credentials must be :password@ or user:password@");
    size_t ulen = (size_t)(colon - s);
    if (!decode(s, ulen, out->user, sizeof out->user))
        return fail("user name too long or badly %-escaped");
    if (!decode(colon + 1, len - ulen - 1, out->password, sizeof out->password))
        return fail("password too long or badly %-escaped");
    if (!out->password[0])
        return fail("empty password");
    return 0;
}

static int parse_hostport(const char *s, size_t len, tern__redis_url *out)
{
    const char *host = s, *port = NULL;
    size_t hlen = len;
    if (len && s[0] == '[') { /* [IPv6]:port */
        const char *close = memchr(s, ']', len);
        if (!close)
            return fail("missing ']' after an IPv6 address");
        host = s + 1;
        hlen = (size_t)(close - host);
        const char *rest = close + 1;
        if (rest < s + len) {
            if (*rest != ':')
                return fail("expected ':port' after ']'");
            port = rest + 1;
        }
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon) {
            hlen = (size_t)(colon - s);
            port = colon + 1;
        }
    }
    if (hlen == 0)
        return fail("missing host");
    if (hlen >= sizeof out->host)
        return fail("host must be an IP address (a name lookup would block the loop)");
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    unsigned char addr[sizeof(struct in6_addr)];
    bool v6 = host != s;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, out->host, addr) != 1)
        return fail(v6 ? "bad IPv6 address"
                       : "host must be an IP address (a name lookup would block the loop)");
    out->port = DEFAULT_PORT;
    if (port && !number(port, (size_t)(s + len - port), 1, 65535, &out->port))
        return fail("port must be a number from 1 to 65535");
    return 0;
}

int tern__redis_url_parse(const char *url, tern__redis_url *out)
{
    memset(out, 0, sizeof(*out));
    if (!url || !*url)
        return fail("empty");
    if (strncasecmp(url, SCHEME, strlen(SCHEME)) != 0)
        return fail(strncasecmp(url, "rediss://", 9) == 0 ? "TLS (rediss://) is not supported"
                                                          : "must start with redis://");
    const char *auth = url + strlen(SCHEME);
    if (strpbrk(auth, "?#"))
        return fail("query and fragment are not supported");
    const char *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    /* The last '@' ends the credentials: an unescaped '@' in a password still works. */
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@')
            at = p;
    if (at) {
        int rc = parse_userinfo(auth, (size_t)(at - auth), out);
        if (rc < 0)
            return rc;
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    int rc = parse_hostport(auth, alen, out);
    if (rc < 0)
        return rc;
    if (slash && slash[1] && !number(slash + 1, strlen(slash + 1), 0, INT_MAX, &out->db))
        return fail("database must be a number (redis://IP:port/DB)");
    return 0;
}
