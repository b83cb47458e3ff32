/* pool/mysql_pipe.h - pipelined executions of one prepared statement on a lent
 * connection (tern_sql_query_each). Internal to the MySQL pool. */
#ifndef TERN_POOL_MYSQL_PIPE_H
#define TERN_POOL_MYSQL_PIPE_H

#include <jansson.h>

#include "tern/sql.h"
#include "mysql_conn.h"

/** Runs sql once per argument set (set i is args[i * nargs .. i * nargs + nargs)), every
 *  execution sent before the first answer is read. results[i]: set i's rows as a JSON
 *  array (its first result set), NULL when set i failed; res (may be NULL): each set's
 *  affected rows and insert id. 0 when every set succeeded, else the code of the first
 *  set that failed, with its tern_errmsg. codes (may be NULL): each set's code (0 or
 *  < 0); msgs (may be NULL): each failed set's message (malloc'd; NULL for the others).
 *  Runs from a coroutine holding c. */
int pipe_run(mysql_conn *c, const char *sql, const tern_sql_arg *args, size_t nargs,
             size_t nsets, json_t **results, tern_sql_result *res, int *codes, char **msgs);

#endif
