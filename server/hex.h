/* server/hex.h - the value of one hexadecimal digit (percent-decoding in queries and
 * in backend URLs). */
#ifndef TERN_HEX_H
#define TERN_HEX_H

/** The value of hex digit c (0-15), or -1. */
static inline int tern_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
