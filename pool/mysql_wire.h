/* pool/mysql_wire.h - MariaDB protocol pieces without state (framing, integers, execute
 * requests, column definitions, binary rows) for the pipelined path. Internal to the
 * MySQL pool. */
#ifndef TERN_POOL_MYSQL_WIRE_H
#define TERN_POOL_MYSQL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "tern/sql.h"

/** A payload this long continues in the next packet. */
#define WIRE_PACKET_MAX 0xFFFFFFu

/** A result column: from the prepare, or from definitions the server sent. */
typedef struct wire_col {
    const char *name;
    unsigned char type; /**< MYSQL_TYPE_* on the wire */
    int kind;           /**< K_* of mysql_row.h */
    bool is_unsigned;
} wire_col;

/** The n-byte little-endian integer at b. */
uint64_t wire_le(const unsigned char *b, int n);

/** A length-encoded integer at *b (below end): its value, *b moved past it; false when
 *  the bytes are not there or it is a NULL marker. */
bool wire_lenenc(const unsigned char **b, const unsigned char *end, uint64_t *v);

/** The payload size of one COM_STMT_EXECUTE of a statement with these arguments:
 *  command, statement id, flags (no cursor), iteration count, NULL bitmap, "types
 *  follow", each parameter's type, the values. */
size_t wire_execute_size(const tern_sql_arg *a, size_t nargs);

/** Writes that execution's packet (header with sequence 0, then the payload of
 *  wire_execute_size bytes) at w; returns the end. */
unsigned char *wire_put_execute(unsigned char *w, unsigned long stmt_id, const tern_sql_arg *a,
                                size_t nargs, size_t payload);

/** The whole payload starting at h (avail bytes): its length, and in *used the bytes its
 *  packets take (a payload of 16 MiB or more spans several); false while some are
 *  missing. */
bool wire_whole_payload(const unsigned char *h, size_t avail, size_t *len, size_t *used);

/** A column definition packet: its name (malloc'd into col->name), type and flags.
 *  false when malformed or out of memory. */
bool wire_coldef(const unsigned char *b, size_t len, wire_col *col);

/** A binary row packet as a JSON object keyed by the columns' names; NULL when malformed
 *  or out of memory. */
json_t *wire_row(const wire_col *cols, unsigned ncols, const unsigned char *b, size_t len);

#endif
