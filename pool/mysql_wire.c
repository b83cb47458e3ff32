/* pool/mysql_wire.c - the parts of MariaDB's client/server protocol that the pipelined
 * path (mysql_pipe.c) reads and writes itself, with no state: packet framing, integers,
 * COM_STMT_EXECUTE requests, column definitions and binary result rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_row.h"
#include "mysql_wire.h"

#define COM_STMT_EXECUTE_CMD 0x17

uint64_t wire_le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static unsigned char *put_le(unsigned char *w, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        *w++ = (unsigned char)v;
    return w;
}

bool wire_lenenc(const unsigned char **b, const unsigned char *end, uint64_t *v)
{
    if (*b >= end)
        return false;
    unsigned c = **b;
    int n = c < 0xFB ? 0 : c == 0xFC ? 2 : c == 0xFD ? 3 : c == 0xFE ? 8 : -1;
    if (n < 0 || end - *b < 1 + n)
        return false;
    *v = n ? wire_le(*b + 1, n) : c;
    *b += 1 + n;
    return true;
}

static size_t lenenc_size(uint64_t v)
{
    return v < 0xFB ? 1 : v < 0x10000 ? 3 : v < 0x1000000 ? 4 : 9;
}

static unsigned char *put_lenenc(unsigned char *w, uint64_t v)
{
    if (v < 0xFB)
        return put_le(w, v, 1);
    int n = v < 0x10000 ? 2 : v < 0x1000000 ? 3 : 8;
    *w++ = n == 2 ? 0xFC : n == 3 ? 0xFD : 0xFE;
    return put_le(w, v, n);
}

size_t wire_execute_size(const tern_sql_arg *a, size_t nargs)
{
    size_t n = 10;
    if (nargs)
        n += (nargs + 7) / 8 + 1 + 2 * nargs;
    for (size_t i = 0; i < nargs; i++) {
        if (a[i].type == TERN_SQL_INT || a[i].type == TERN_SQL_DOUBLE)
            n += 8;
        else if (a[i].type == TERN_SQL_TEXT || a[i].type == TERN_SQL_BYTES)
            n += lenenc_size(a[i].p ? a[i].len : 0) + (a[i].p ? a[i].len : 0);
    }
    return n;
}

unsigned char *wire_put_execute(unsigned char *w, unsigned long stmt_id, const tern_sql_arg *a,
                                  size_t nargs, size_t payload)
{
    w = put_le(w, payload, 3);
    *w++ = 0; /* sequence number: each command starts at 0 */
    *w++ = COM_STMT_EXECUTE_CMD;
    w = put_le(w, stmt_id, 4);
    *w++ = 0;             /* CURSOR_TYPE_NO_CURSOR */
    w = put_le(w, 1, 4); /* iteration count */
    if (!nargs)
        return w;
    unsigned char *nulls = w;
    memset(nulls, 0, (nargs + 7) / 8);
    w += (nargs + 7) / 8;
    *w++ = 1; /* the types follow */
    for (size_t i = 0; i < nargs; i++) {
        unsigned char t;
        switch (a[i].type) {
        case TERN_SQL_INT:
            t = MYSQL_TYPE_LONGLONG;
            break;
        case TERN_SQL_DOUBLE:
            t = MYSQL_TYPE_DOUBLE;
            break;
        case TERN_SQL_TEXT:
            t = MYSQL_TYPE_STRING;
            break;
        case TERN_SQL_BYTES:
            t = MYSQL_TYPE_BLOB;
            break;
        default:
            t = MYSQL_TYPE_NULL;
            nulls[i / 8] |= (unsigned char)(1u << (i % 8));
        }
        *w++ = t;
        *w++ = 0; /* signed */
    }
    for (size_t i = 0; i < nargs; i++) {
        if (a[i].type == TERN_SQL_INT) {
            w = put_le(w, (uint64_t)a[i].i, 8);
        } else if (a[i].type == TERN_SQL_DOUBLE) {
            uint64_t bits;
            memcpy(&bits, &a[i].d, 8);
            w = put_le(w, bits, 8);
        } else if (a[i].type == TERN_SQL_TEXT || a[i].type == TERN_SQL_BYTES) {
            size_t len = a[i].p ? a[i].len : 0;
            w = put_lenenc(w, len);
            if (len)
                memcpy(w, a[i].p, len);
            w += len;
        }
    }
    return w;
}

bool wire_whole_payload(const unsigned char *h, size_t avail, size_t *len, size_t *used)
{
    size_t off = 0, total = 0;
    for (;;) {
        if (avail - off < 4)
            return false;
        size_t piece = (size_t)wire_le(h + off, 3);
        if (avail - off - 4 < piece)
            return false;
        total += piece;
        off += 4 + piece;
        if (piece < WIRE_PACKET_MAX)
            break;
    }
    *len = total;
    *used = off;
    return true;
}

bool wire_coldef(const unsigned char *b, size_t len, wire_col *col)
{
    const unsigned char *r = b, *end = b + len;
    uint64_t n;
    for (int i = 0; i < 6; i++) {
        if (!wire_lenenc(&r, end, &n) || (uint64_t)(end - r) < n)
            return false;
        if (i == 4 && !(col->name = strndup((const char *)r, n)))
            return false;
        r += n;
    }
    /* The fixed fields end the packet: 0x0C, charset, length, type, flags, decimals and
     * two filler bytes. Whatever lies between (MariaDB's extended type information,
     * when negotiated) is skipped without having to know whether it is there. */
    if (end - r < 13 || end[-13] != 0x0C)
        return false;
    r = end - 13;
    col->type = r[1 + 2 + 4];
    unsigned flags = (unsigned)wire_le(r + 1 + 2 + 4 + 1, 2);
    MYSQL_FIELD f = {.type = (enum enum_field_types)col->type, .flags = flags};
    col->kind = row_kind(&f);
    col->is_unsigned = (flags & UNSIGNED_FLAG) != 0;
    return true;
}

json_t *wire_row(const wire_col *cols, unsigned ncols, const unsigned char *b, size_t len)
{
    size_t nb = (ncols + 9) / 8;
    if (len < 1 + nb)
        return NULL;
    const unsigned char *nulls = b + 1, *r = b + 1 + nb, *end = b + len;
    json_t *obj = json_object();
    for (unsigned i = 0; obj && i < ncols; i++) {
        const wire_col *col = &cols[i];
        unsigned bit = i + 2;
        json_t *v = NULL;
        if ((nulls[bit / 8] >> (bit % 8) & 1) || col->kind == K_NULL) {
            v = json_null();
        } else if (col->kind == K_INT) {
            int w = col->type == MYSQL_TYPE_TINY                                  ? 1
                    : col->type == MYSQL_TYPE_SHORT || col->type == MYSQL_TYPE_YEAR ? 2
                    : col->type == MYSQL_TYPE_LONGLONG                              ? 8
                                                                                    : 4;
            if (end - r >= w) {
                uint64_t u = wire_le(r, w);
                long long x = (long long)u;
                if (!col->is_unsigned && w < 8 && (u >> (8 * w - 1) & 1))
                    x = (long long)(u | ~((UINT64_C(1) << (8 * w)) - 1)); /* sign-extend */
                v = row_int_json(x, col->is_unsigned);
                r += w;
            }
        } else if (col->kind == K_FLOAT || col->kind == K_DOUBLE) {
            int w = col->kind == K_FLOAT ? 4 : 8;
            if (end - r >= w) {
                uint64_t u = wire_le(r, w);
                if (w == 4) {
                    uint32_t u32 = (uint32_t)u;
                    float f;
                    memcpy(&f, &u32, 4);
                    v = json_real(row_float_value(f));
                } else {
                    double d;
                    memcpy(&d, &u, 8);
                    v = json_real(d);
                }
                r += w;
            }
        } else if (col->kind == K_DATE || col->kind == K_DATETIME || col->kind == K_TIME) {
            unsigned n = end > r ? *r : 0;
            if (end - r >= 1 + (long)n) {
                const unsigned char *t = r + 1;
                MYSQL_TIME tm = {0};
                if (col->kind == K_TIME && n >= 8) {
                    tm.neg = t[0];
                    tm.day = (unsigned)wire_le(t + 1, 4);
                    tm.hour = t[5], tm.minute = t[6], tm.second = t[7];
                    if (n >= 12)
                        tm.second_part = (unsigned long)wire_le(t + 8, 4);
                } else if (col->kind != K_TIME && n >= 4) {
                    tm.year = (unsigned)wire_le(t, 2);
                    tm.month = t[2], tm.day = t[3];
                    if (n >= 7)
                        tm.hour = t[4], tm.minute = t[5], tm.second = t[6];
                    if (n >= 11)
                        tm.second_part = (unsigned long)wire_le(t + 7, 4);
                }
                v = row_time_json(col->kind, &tm);
                r += 1 + n;
            }
        } else {
            uint64_t n;
            if (wire_lenenc(&r, end, &n) && (uint64_t)(end - r) >= n) {
                v = col->kind == K_BIT ? row_bit_json((const char *)r, n)
                                       : row_text_json((const char *)r, n);
                r += n;
            }
        }
        if (!v || json_object_set_new(obj, col->name, v) < 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}
