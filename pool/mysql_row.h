/* pool/mysql_row.h - result rows of a prepared statement as JSON: binds a buffer per
 * column chosen by the column's type, and turns each fetched row into an object keyed by
 * column name. Internal to the MySQL pool. */
#ifndef TERN_POOL_MYSQL_ROW_H
#define TERN_POOL_MYSQL_ROW_H

#include <stdbool.h>
#include <jansson.h>
#include <mysql.h>

/** How a column's value becomes JSON (row_kind). */
enum { K_NULL, K_INT, K_FLOAT, K_DOUBLE, K_DECIMAL, K_DATE, K_DATETIME, K_TIME, K_BIT, K_TEXT };

/** One result column's buffer. */
typedef struct row_col {
    int kind; /**< how the value becomes JSON (mysql_row.c) */
    bool is_unsigned;
    union {
        long long i;
        double d;
        float f;
        MYSQL_TIME t;
    } num;
    char *buf; /**< text and binary values (and DECIMAL, BIT) */
    unsigned long cap;
    unsigned long length; /**< the value's full length */
    my_bool is_null;
    my_bool error; /**< set by the connector when buf was too small */
} row_col;

/** The result columns of a statement; buffers are kept across executions. */
typedef struct row_buf {
    unsigned ncols, cap;
    row_col *cols;
    MYSQL_BIND *binds;
    MYSQL_RES *meta; /**< this execution's metadata (column names) */
} row_buf;

/** Binds buffers for stmt's current result set (call after each execute). 0, or -ENOMEM /
 *  -EIO with tern_errmsg. */
int row_bind(row_buf *rb, MYSQL_STMT *stmt);

/** The row just fetched as a JSON object; values cut short by their buffer are read in
 *  full. NULL (tern_errmsg) when out of memory. */
json_t *row_json(row_buf *rb, MYSQL_STMT *stmt);

/** Drops this execution's metadata; the buffers stay for the next one. */
void row_unbind(row_buf *rb);

/** The K_* kind of a result column, from its SQL type. */
int row_kind(const MYSQL_FIELD *f);
/** An integer column's value (an unsigned one above INT64_MAX as a decimal string). */
json_t *row_int_json(long long v, bool is_unsigned);
/** The shortest decimal that reads back as the same float (0.1f gives 0.1). */
double row_float_value(float f);
/** A K_DATE, K_DATETIME or K_TIME value as ISO 8601 (a zero date as null). */
json_t *row_time_json(int kind, const MYSQL_TIME *t);
/** Text as a JSON string; bytes that are not UTF-8 become U+FFFD. */
json_t *row_text_json(const char *s, size_t n);
/** A BIT value (big-endian bytes) as an integer. */
json_t *row_bit_json(const char *s, size_t n);
/** Frees the buffers. */
void row_free(row_buf *rb);

#endif
