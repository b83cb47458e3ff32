/* server/int_text.h - decimal text of a 64-bit integer, for the JSON writer and the
 * template engine. By hand because snprintf's format machinery costs more than the rest
 * of a small JSON object (two integers per TechEmpower row). */
#ifndef TERN_INT_TEXT_H
#define TERN_INT_TEXT_H

#include <stddef.h>
#include <stdint.h>

/** Longest text: "-9223372036854775808". */
#define TERN_INT_TEXT_MAX 20

/** Writes x in decimal ending at end (exclusive) and returns where the text starts. */
static inline char *tern_int_text(int64_t x, char *end)
{
    uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
    char *p = end;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (x < 0)
        *--p = '-';
    return p;
}

#endif
