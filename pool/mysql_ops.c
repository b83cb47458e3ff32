/* pool/mysql_ops.c - the connection-level calls of one MariaDB connection: connect and
 * rollback in the background, ping, a parameterless statement, commit and rollback from
 * a coroutine, and what the connector's error codes mean to tern (TERN_EUNAVAILABLE when
 * the session is gone, and the connection is then marked broken). */
#include <errno.h>
#include <errmsg.h>
#include <string.h>

#include "tern/error.h"
#include "mysql_conn.h"

static int cont_connect(conn_op *op, int ev)
{
    return mysql_real_connect_cont(&op->mret, op->m, ev);
}

static int cont_ping(conn_op *op, int ev)
{
    return mysql_ping_cont(&op->iret, op->m, ev);
}

static int cont_query(conn_op *op, int ev)
{
    return mysql_real_query_cont(&op->iret, op->m, ev);
}

static int cont_commit(conn_op *op, int ev)
{
    return mysql_commit_cont(&op->bret, op->m, ev);
}

static int cont_rollback(conn_op *op, int ev)
{
    return mysql_rollback_cont(&op->bret, op->m, ev);
}

static void connect_finished(mysql_conn *c, int rc)
{
    if (rc == 0 && !c->bgop.mret)
        rc = conn_error(c, NULL, "connect");
    else if (rc < 0)
        tern_set_errmsg("mysql connect: no answer within the connect timeout");
    c->then(c, rc);
}

void conn_connect_bg(mysql_conn *c, const mysql_url *u, uint64_t deadline,
                     void (*done)(mysql_conn *c, int rc))
{
    c->then = done;
    c->bgop = (conn_op){.cont = cont_connect, .m = c->m};
    int st = mysql_real_connect_start(&c->bgop.mret, c->m, u->host, u->user, u->password, u->db,
                                      u->port, NULL, 0);
    conn_bg(c, st, deadline, connect_finished);
}

static void rollback_finished(mysql_conn *c, int rc)
{
    if (rc == 0 && c->bgop.bret)
        rc = conn_error(c, NULL, "rollback");
    c->then(c, rc);
}

void conn_rollback_bg(mysql_conn *c, uint64_t deadline, void (*done)(mysql_conn *c, int rc))
{
    c->then = done;
    c->bgop = (conn_op){.cont = cont_rollback, .m = c->m};
    int st = mysql_rollback_start(&c->bgop.bret, c->m);
    conn_bg(c, st, deadline, rollback_finished);
}

int conn_ping(mysql_conn *c)
{
    conn_op op = {.cont = cont_ping, .m = c->m};
    int rc = conn_run(c, &op, mysql_ping_start(&op.iret, c->m));
    if (rc == 0 && op.iret)
        rc = conn_error(c, NULL, "ping");
    return rc;
}

int conn_simple_query(mysql_conn *c, const char *sql)
{
    conn_op op = {.cont = cont_query, .m = c->m};
    int rc = conn_run(c, &op, mysql_real_query_start(&op.iret, c->m, sql, strlen(sql)));
    if (rc == 0 && op.iret)
        rc = conn_error(c, NULL, sql);
    return rc;
}

int conn_end_tx(mysql_conn *c, bool rollback)
{
    conn_op op = {.m = c->m};
    int st;
    if (rollback) {
        op.cont = cont_rollback;
        st = mysql_rollback_start(&op.bret, c->m);
    } else {
        op.cont = cont_commit;
        st = mysql_commit_start(&op.bret, c->m);
    }
    int rc = conn_run(c, &op, st);
    if (rc == 0 && op.bret)
        rc = conn_error(c, NULL, rollback ? "rollback" : "commit");
    return rc;
}

/* ---- errors ------------------------------------------------------------------------ */

/* Errors after which the session is gone: the server is down, unreachable, refused us,
 * or ended the session. */
static bool is_lost(unsigned e)
{
    switch (e) {
    case CR_SOCKET_CREATE_ERROR:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_IPSOCK_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_SERVER_HANDSHAKE_ERR:
    case CR_SSL_CONNECTION_ERROR:
    case CR_MALFORMED_PACKET:
    case 1040: /* ER_CON_COUNT_ERROR: too many connections */
    case 1044: /* ER_DBACCESS_DENIED_ERROR (at connect) */
    case 1045: /* ER_ACCESS_DENIED_ERROR */
    case 1049: /* ER_BAD_DB_ERROR (at connect) */
    case 1053: /* ER_SERVER_SHUTDOWN */
    case 1152: /* ER_ABORTING_CONNECTION */
    case 1927: /* ER_CONNECTION_KILLED */
    case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */
        return true;
    default:
        return e >= CER_MIN_ERROR; /* MariaDB's own client errors are network errors */
    }
}

int conn_error(mysql_conn *c, MYSQL_STMT *stmt, const char *what)
{
    unsigned e = stmt ? mysql_stmt_errno(stmt) : mysql_errno(c->m);
    const char *state = stmt ? mysql_stmt_sqlstate(stmt) : mysql_sqlstate(c->m);
    const char *msg = stmt ? mysql_stmt_error(stmt) : mysql_error(c->m);
    if (e == 0) {
        /* a statement error may have been recorded on the connection */
        e = mysql_errno(c->m);
        state = mysql_sqlstate(c->m);
        msg = mysql_error(c->m);
    }
    return conn_error_of(c, e, state, msg, what);
}

int conn_error_of(mysql_conn *c, unsigned e, const char *state, const char *msg, const char *what)
{
    tern_set_errmsg("mysql %.40s: %u (%s): %s", what, e, state, msg);
    if (is_lost(e)) {
        c->broken = true;
        return TERN_EUNAVAILABLE;
    }
    switch (e) {
    case CR_OUT_OF_MEMORY:
        c->broken = true;
        return TERN_ENOMEM;
    case CR_UNKNOWN_ERROR:
    case CR_COMMANDS_OUT_OF_SYNC:
        c->broken = true; /* the protocol state is unknown: never reuse */
        return -EIO;
    case 1062: /* ER_DUP_ENTRY */
    case 1586: /* ER_DUP_ENTRY_WITH_KEY_NAME */
        return -EEXIST;
    case 1213: /* ER_LOCK_DEADLOCK */
        return -EDEADLK;
    case 1205: /* ER_LOCK_WAIT_TIMEOUT */
    case 1969: /* ER_STATEMENT_TIMEOUT */
        return TERN_ETIMEDOUT;
    default:
        return -EIO;
    }
}
