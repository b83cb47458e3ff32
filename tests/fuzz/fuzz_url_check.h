/* tests/fuzz/fuzz_url_check.h - what a parsed Redis or MySQL URL must hold whatever
 * the text was: an IP literal the drivers can connect to without a lookup. */
#ifndef TERN_FUZZ_URL_CHECK_H
#define TERN_FUZZ_URL_CHECK_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A NUL-terminated copy of the fuzz input (URLs are C strings in the config). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/* Aborts unless host is an IPv4 or IPv6 literal and port a TCP port. */
static inline void fuzz_check_endpoint(const char *host, long port)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
        abort();
    if (port < 1 || port > 65535)
        abort();
}

#endif
