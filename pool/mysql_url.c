/* pool/mysql_url.c - mysql://user:password@IP:port/db parsing for the MySQL pool.
 *
 * Host names are refused rather than resolved: getaddrinfo blocks, and a pool may be
 * created on a worker's loop. "localhost" is the one name taken (as 127.0.0.1, so
 * the connector uses TCP and not its default Unix socket). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "mysql_url.h"
#include "hex.h"

/* A percent-decoded copy of s[0..n); NULL with *bad set on a broken escape or a NUL
 * (which would silently cut a C string short). */
static char *decode(const char *s, size_t n, bool *bad)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[k++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? tern_hex_digit(s[i + 1]) : -1;
        int lo = i + 2 < n ? tern_hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            *bad = true;
            return NULL;
        }
        out[k++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[k] = '\0';
    return out;
}

static int fail(mysql_url *u, const char *msg)
{
    mysql_url_free(u);
    tern_set_errmsg("mysql url: %s (expected mysql://user:password@IP:port/db)", msg);
    return -EINVAL;
}

static int parse_port(const char *s, size_t n, unsigned *port)
{
    if (n == 0 || n > 5)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

/* The host part: [v6], v4, or localhost. Returns an owned string or NULL (errmsg set). */
static char *parse_host(const char *s, size_t n, const char **port_at, mysql_url *u, int *rc)
{
    const char *end = s + n;
    const char *h = s, *hend;
    if (n > 0 && *s == '[') {
        hend = memchr(s, ']', n);
        if (!hend) {
            *rc = fail(u, "unclosed [ in the host");
            return NULL;
        }
        h = s + 1;
        *port_at = hend + 1 < end ? hend + 1 : NULL;
        if (*port_at && **port_at != ':') {
            *rc = fail(u, "junk after ]");
            return NULL;
        }
    } else {
        hend = memchr(s, ':', n);
        *port_at = hend;
        if (!hend)
            hend = end;
    }
    size_t hn = (size_t)(hend - h);
    if (hn == 0 || hn >= 64) {
        *rc = fail(u, hn ? "host too long" : "no host");
        return NULL;
    }
    char buf[64];
    memcpy(buf, h, hn);
    buf[hn] = '\0';
    unsigned char addr[sizeof(struct in6_addr)];
    if (strcmp(buf, "localhost") == 0)
        strcpy(buf, "127.0.0.1");
    else if (inet_pton(AF_INET, buf, addr) != 1 && inet_pton(AF_INET6, buf, addr) != 1) {
        mysql_url_free(u);
        tern_set_errmsg("mysql url: host \"%.63s\" is not an IP address (a name lookup would "
                        "block the event loop: resolve it first, e.g. 127.0.0.1)",
                        buf);
        *rc = -EINVAL;
        return NULL;
    }
    char *out = strdup(buf);
    if (!out) {
        mysql_url_free(u);
        *rc = -ENOMEM;
    }
    return out;
}

int mysql_url_parse(const char *url, mysql_url *out)
{
    memset(out, 0, sizeof(*out));
    out->port = 3306;
    if (!url)
        return fail(out, "no URL");
    const char *p;
    if (strncmp(url, "mysql://", 8) == 0)
        p = url + 8;
    else if (strncmp(url, "mariadb://", 10) == 0)
        p = url + 10;
    else
        return fail(out, "scheme is not mysql://");
    if (strchr(p, '?') || strchr(p, '#'))
        return fail(out, "options (?...) are not supported");
    const char *slash = strchr(p, '/');
    const char *aend = slash ? slash : p + strlen(p);
    /* userinfo ends at the last '@' of the authority: a raw '@' in a password works */
    const char *at = NULL;
    for (const char *q = p; q < aend; q++)
        if (*q == '@')
            at = q;
    bool bad = false;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon ? colon : at;
        out->user = decode(p, (size_t)(uend - p), &bad);
        if (out->user && colon)
            out->password = decode(colon + 1, (size_t)(at - colon - 1), &bad);
        if (bad)
            return fail(out, "bad %-escape in the user or password");
        if (!out->user || (colon && !out->password)) {
            mysql_url_free(out);
            return -ENOMEM;
        }
        p = at + 1;
    } else {
        out->user = strdup("");
        if (!out->user)
            return -ENOMEM;
    }
    int rc = 0;
    const char *port_at = NULL;
    out->host = parse_host(p, (size_t)(aend - p), &port_at, out, &rc);
    if (!out->host)
        return rc;
    if (port_at && parse_port(port_at + 1, (size_t)(aend - port_at - 1), &out->port) < 0)
        return fail(out, "port is not a number in 1..65535");
    if (slash && slash[1]) {
        if (strchr(slash + 1, '/'))
            return fail(out, "the path must be a single database name");
        out->db = decode(slash + 1, strlen(slash + 1), &bad);
        if (bad)
            return fail(out, "bad %-escape in the database name");
        if (!out->db) {
            mysql_url_free(out);
            return -ENOMEM;
        }
    }
    return 0;
}

void mysql_url_free(mysql_url *u)
{
    free(u->user);
    free(u->password);
    free(u->host);
    free(u->db);
    memset(u, 0, sizeof(*u));
    u->port = 3306;
}
