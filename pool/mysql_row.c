/* pool/mysql_row.c - prepared-statement result rows to JSON.
 *
 * Each column is bound to a buffer of the C type its SQL type maps to, so the binary
 * protocol's values arrive without a text round trip: integers become JSON integers
 * (an unsigned BIGINT above INT64_MAX a decimal string), FLOAT and DOUBLE reals, DECIMAL
 * a string (exact), dates and times ISO 8601 strings, everything else a string (bytes
 * that are not UTF-8 get U+FFFD, as Python's decode(errors="replace") does). Text
 * longer than its buffer is fetched in full with mysql_stmt_fetch_column, and the
 * buffer grows for the next execution. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "mysql_row.h"

/* Buffer bounds for text columns: large enough for typical short strings in one go,
 * small enough that a wide VARCHAR or a BLOB costs nothing until a long value shows up. */
#define TEXT_MIN 64
#define TEXT_START 512
#define TEXT_KEEP (64 * 1024)

int row_kind(const MYSQL_FIELD *f)
{
    switch (f->type) {
    case MYSQL_TYPE_NULL:
        return K_NULL;
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        return K_INT;
    case MYSQL_TYPE_FLOAT:
        return K_FLOAT;
    case MYSQL_TYPE_DOUBLE:
        return K_DOUBLE;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
        return K_DECIMAL;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
        return K_DATE;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2:
        return K_DATETIME;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2:
        return K_TIME;
    case MYSQL_TYPE_BIT:
        return K_BIT;
    default:
        return K_TEXT;
    }
}

static int grow(row_buf *rb, unsigned n)
{
    if (n <= rb->cap)
        return 0;
    row_col *cols = realloc(rb->cols, n * sizeof(*cols));
    if (!cols)
        return TERN_ENOMEM;
    rb->cols = cols;
    MYSQL_BIND *binds = realloc(rb->binds, n * sizeof(*binds));
    if (!binds)
        return TERN_ENOMEM;
    rb->binds = binds;
    memset(rb->cols + rb->cap, 0, (n - rb->cap) * sizeof(*cols));
    rb->cap = n;
    return 0;
}

/* A text buffer of at least want bytes (kept across executions up to TEXT_KEEP). */
static int text_buffer(row_col *col, unsigned long want)
{
    if (want < TEXT_MIN)
        want = TEXT_MIN;
    if (col->buf && col->cap >= want)
        return 0;
    char *b = realloc(col->buf, want);
    if (!b)
        return TERN_ENOMEM;
    col->buf = b;
    col->cap = want;
    return 0;
}

int row_bind(row_buf *rb, MYSQL_STMT *stmt)
{
    row_unbind(rb);
    unsigned n = mysql_stmt_field_count(stmt);
    if (n == 0)
        return 0;
    if (grow(rb, n) < 0)
        goto oom;
    rb->meta = mysql_stmt_result_metadata(stmt);
    if (!rb->meta) {
        tern_set_errmsg("mysql: no result metadata: %s", mysql_stmt_error(stmt));
        return -EIO;
    }
    MYSQL_FIELD *f = mysql_fetch_fields(rb->meta);
    memset(rb->binds, 0, n * sizeof(*rb->binds));
    for (unsigned i = 0; i < n; i++) {
        row_col *col = &rb->cols[i];
        MYSQL_BIND *b = &rb->binds[i];
        col->kind = row_kind(&f[i]);
        col->is_unsigned = (f[i].flags & UNSIGNED_FLAG) != 0;
        b->is_null = &col->is_null;
        b->error = &col->error;
        b->length = &col->length;
        switch (col->kind) {
        case K_NULL:
            b->buffer_type = MYSQL_TYPE_NULL;
            break;
        case K_INT:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &col->num.i;
            b->is_unsigned = col->is_unsigned;
            break;
        case K_FLOAT:
            b->buffer_type = MYSQL_TYPE_FLOAT;
            b->buffer = &col->num.f;
            break;
        case K_DOUBLE:
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &col->num.d;
            break;
        case K_DATE:
        case K_DATETIME:
        case K_TIME:
            b->buffer_type = col->kind == K_DATE       ? MYSQL_TYPE_DATE
                             : col->kind == K_DATETIME ? MYSQL_TYPE_DATETIME
                                                       : MYSQL_TYPE_TIME;
            b->buffer = &col->num.t;
            break;
        default: {
            unsigned long want = col->kind == K_DECIMAL ? 80 : f[i].length + 1;
            if (want > TEXT_START)
                want = TEXT_START;
            if (col->length > want && col->length <= TEXT_KEEP)
                want = col->length; /* the last long value tells what to expect */
            if (text_buffer(col, want) < 0)
                goto oom;
            b->buffer_type = col->kind == K_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
            b->buffer = col->buf;
            b->buffer_length = col->cap;
        }
        }
    }
    rb->ncols = n;
    if (mysql_stmt_bind_result(stmt, rb->binds)) {
        tern_set_errmsg("mysql: cannot bind the result: %s", mysql_stmt_error(stmt));
        row_unbind(rb);
        return -EIO;
    }
    return 0;
oom:
    row_unbind(rb);
    tern_set_errmsg("mysql: out of memory for a result");
    return TERN_ENOMEM;
}

void row_unbind(row_buf *rb)
{
    if (rb->meta)
        mysql_free_result(rb->meta);
    rb->meta = NULL;
    rb->ncols = 0;
}

void row_free(row_buf *rb)
{
    row_unbind(rb);
    for (unsigned i = 0; i < rb->cap; i++)
        free(rb->cols[i].buf);
    free(rb->cols);
    free(rb->binds);
    memset(rb, 0, sizeof(*rb));
}

/* ---- values ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (0: invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp, min;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

json_t *row_text_json(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    char *out = malloc(n * 3 + 1); /* worst case: every byte becomes U+FFFD */
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len((const unsigned char *)s + i, n - i);
        if (len) {
            memcpy(out + k, s + i, len);
            k += len;
            i += len;
        } else {
            memcpy(out + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i++;
        }
    }
    j = json_stringn(out, k);
    free(out);
    return j;
}

/* The shortest decimal that reads back as the same float, as a double: 0.1f gives 0.1,
 * not 0.10000000149011612. */
double row_float_value(float f)
{
    char s[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, (double)f);
        if (strtof(s, NULL) == f)
            break;
    }
    return strtod(s, NULL);
}

json_t *row_time_json(int kind, const MYSQL_TIME *t)
{
    char s[48];
    if (kind != K_TIME && t->year == 0 && t->month == 0 && t->day == 0)
        return json_null(); /* a zero date names no day (Python drivers give None too) */
    int n;
    if (kind == K_DATE)
        n = snprintf(s, sizeof s, "%04u-%02u-%02u", t->year, t->month, t->day);
    else if (kind == K_DATETIME)
        n = snprintf(s, sizeof s, "%04u-%02u-%02uT%02u:%02u:%02u", t->year, t->month, t->day,
                     t->hour, t->minute, t->second);
    else
        n = snprintf(s, sizeof s, "%s%02u:%02u:%02u", t->neg ? "-" : "", t->day * 24 + t->hour,
                     t->minute, t->second);
    if (kind != K_DATE && t->second_part && n > 0 && (size_t)n < sizeof s)
        snprintf(s + n, sizeof s - (size_t)n, ".%06lu", (unsigned long)t->second_part);
    return json_string(s);
}

json_t *row_int_json(long long v, bool is_unsigned)
{
    if (is_unsigned && (unsigned long long)v > (unsigned long long)INT64_MAX) {
        char s[24];
        snprintf(s, sizeof s, "%llu", (unsigned long long)v);
        return json_string(s);
    }
    return json_integer(v);
}

json_t *row_bit_json(const char *s, size_t n)
{
    long long x = 0;
    for (size_t k = 0; k < n && k < 8; k++)
        x = x << 8 | (unsigned char)s[k];
    return json_integer(x);
}

static json_t *col_json(row_buf *rb, MYSQL_STMT *stmt, unsigned i)
{
    row_col *col = &rb->cols[i];
    if (col->is_null || col->kind == K_NULL)
        return json_null();
    switch (col->kind) {
    case K_INT:
        return row_int_json(col->num.i, col->is_unsigned);
    case K_FLOAT:
        return json_real(row_float_value(col->num.f));
    case K_DOUBLE:
        return json_real(col->num.d);
    case K_DATE:
    case K_DATETIME:
    case K_TIME:
        return row_time_json(col->kind, &col->num.t);
    default:
        break;
    }
    const char *data = col->buf;
    char *whole = NULL;
    if (col->length > col->cap) {
        /* cut short by the buffer: the row still holds the whole value */
        whole = malloc(col->length);
        if (!whole)
            return NULL;
        unsigned long got = 0;
        MYSQL_BIND b = {.buffer_type = rb->binds[i].buffer_type,
                        .buffer = whole,
                        .buffer_length = col->length,
                        .length = &got};
        if (mysql_stmt_fetch_column(stmt, &b, i, 0)) {
            free(whole);
            return NULL;
        }
        data = whole;
    }
    json_t *v = col->kind == K_BIT ? row_bit_json(data, col->length)
                                   : row_text_json(data, col->length);
    free(whole);
    return v;
}

json_t *row_json(row_buf *rb, MYSQL_STMT *stmt)
{
    json_t *obj = json_object();
    if (!obj)
        goto oom;
    MYSQL_FIELD *f = mysql_fetch_fields(rb->meta);
    for (unsigned i = 0; i < rb->ncols; i++) {
        json_t *v = col_json(rb, stmt, i);
        if (!v || json_object_set_new(obj, f[i].name, v) < 0) {
            json_decref(obj);
            goto oom;
        }
    }
    return obj;
oom:
    tern_set_errmsg("mysql: out of memory for a row");
    return NULL;
}
