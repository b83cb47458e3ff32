/* pool/mysql_pipe.c - pipelined executions of one prepared statement.
 *
 * N executions one after another cost N round trips: N sends, N reads, and on the
 * server N wake-ups of the session's thread, which is most of what a point select costs
 * it. Here every execution's COM_STMT_EXECUTE goes out in one write and the answers are
 * read back in order as they arrive. The server still runs each one as its own
 * statement, with its own result or error, exactly as if they came one by one (MariaDB
 * reads the next command off the socket when it has answered the last one).
 *
 * Connector/C has no pipelining, so this file speaks the binary protocol itself (the
 * packets are mysql_wire.c's) on the connector's socket, between two of its own calls:
 * mysql_stmt.c prepares and caches the statement, this file writes its executions and
 * reads their answers to the last byte, so the connector finds the connection as it left it. Its next call on
 * the statement binds the parameters again, which makes it resend their types. Not on
 * TLS connections (the bytes would have to go through the connector's TLS session) and
 * not for a request packet of 16 MiB or more: those run one by one through the
 * connector. An answer that long comes in pieces of 16 MiB, joined before parsing.
 *
 * The answers: an error packet; an OK packet (no result set); or a column count (with
 * MariaDB's metadata cache, a flag byte saying whether column definitions follow: they
 * do not while the statement's columns are the ones the prepare reported), the column
 * definitions, an EOF packet, binary rows, and an EOF packet whose status says whether
 * another result set follows (a CALL). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tern/error.h"
#include "mysql_pipe.h"
#include "mysql_wire.h"
#include "mysql_row.h"
#include "mysql_stmt.h"

#define DEPRECATE_EOF (1UL << 24) /* CLIENT_DEPRECATE_EOF: Connector/C 3.3 lacks the name */
#define MORE_RESULTS 0x0008       /* SERVER_MORE_RESULTS_EXIST in an EOF/OK status */
#define READ_ROOM 16384
#define ERRMSG_MAX 320

enum { AT_HEAD, AT_COLDEF, AT_COLEOF, AT_ROWS, AT_DONE };

typedef struct pipe_op {
    conn_op op; /* first: conn_run hands &op to pipe_cont */
    mysql_conn *c;
    int fd;
    bool deprecate_eof;
    MYSQL_STMT *stmt;
    /* what goes out */
    unsigned char *out;
    size_t out_len, out_sent;
    /* what came in and is not parsed yet: in[pos .. len) */
    unsigned char *in;
    size_t in_len, in_cap, pos;
    /* the answer being read */
    const size_t *which; /* set indexes in the order sent */
    size_t count, k;     /* how many sets went out; which one answers now */
    int at;
    bool collect; /* rows belong to the answer (its first result set) */
    unsigned ncols, defs_left;
    wire_col *cols;       /* the current result set's columns: prep_cols or sent_cols */
    wire_col *prep_cols;  /* the prepared statement's columns (names are the connector's) */
    wire_col *sent_cols;  /* definitions the server sent (names allocated here) */
    unsigned nsent;
    bool columns_changed; /* the server sent definitions: the connector's copy is stale */
    int attempt;          /* 1: the rerun of sets whose statement had to be prepared again */
    int io_rc;            /* the connection failed: every answer not read is lost */
    int lowat;            /* the socket's SO_RCVLOWAT now (1: the kernel's default) */
    /* per set */
    json_t **results;
    tern_sql_result *res;
    int *codes;       /* 0, or the set's error code */
    char **msgs;      /* (optional) each failed set's error message */
    unsigned *errnos; /* the server's error number for a failed set */
    size_t first_failed;
    char first_msg[ERRMSG_MAX];
} pipe_op;

/* ---- the requests ---------------------------------------------------------------- */

/* Every execution in one buffer; false when one would not fit in a single packet (or
 * an argument has no valid type), which the caller runs one by one instead. */
static bool build_requests(pipe_op *p, unsigned long stmt_id, const tern_sql_arg *args,
                           size_t nargs)
{
    size_t total = 0;
    for (size_t k = 0; k < p->count; k++) {
        const tern_sql_arg *a = args + p->which[k] * nargs;
        for (size_t i = 0; i < nargs; i++)
            if (a[i].type != TERN_SQL_NULL && a[i].type != TERN_SQL_INT &&
                a[i].type != TERN_SQL_DOUBLE && a[i].type != TERN_SQL_TEXT &&
                a[i].type != TERN_SQL_BYTES)
                return false;
        size_t n = wire_execute_size(a, nargs);
        if (n >= WIRE_PACKET_MAX)
            return false;
        total += 4 + n;
    }
    if (!(p->out = malloc(total)))
        return false;
    unsigned char *w = p->out;
    for (size_t k = 0; k < p->count; k++) {
        const tern_sql_arg *a = args + p->which[k] * nargs;
        w = wire_put_execute(w, stmt_id, a, nargs, wire_execute_size(a, nargs));
    }
    p->out_len = (size_t)(w - p->out);
    return true;
}

/* ---- the answers ------------------------------------------------------------------ */

static bool is_stale(unsigned e)
{
    return e == 1243 || e == 1615; /* unknown statement handler; must be prepared again */
}

static void set_failed(pipe_op *p, int code)
{
    size_t set = p->which[p->k];
    p->codes[set] = code;
    json_decref(p->results[set]);
    p->results[set] = NULL;
    if (p->msgs) {
        free(p->msgs[set]);
        p->msgs[set] = strdup(tern_errmsg());
    }
    if (p->attempt == 0 && is_stale(p->errnos[set]))
        return; /* run again: not the error to report (yet) */
    if (set < p->first_failed) {
        p->first_failed = set;
        snprintf(p->first_msg, sizeof p->first_msg, "%s", tern_errmsg());
    }
}

/* The connection is unusable from here on: the answers not read are lost with it. */
static void fail_all(pipe_op *p, int code, const char *why)
{
    p->c->broken = true;
    tern_set_errmsg("mysql pipelined query: %s", why);
    p->io_rc = code;
    for (; p->k < p->count; p->k++)
        set_failed(p, code);
    p->at = AT_DONE;
}

static void next_answer(pipe_op *p)
{
    p->collect = true;
    p->at = ++p->k < p->count ? AT_HEAD : AT_DONE;
}

static void on_error_packet(pipe_op *p, const unsigned char *b, size_t len)
{
    unsigned e = len >= 3 ? (unsigned)wire_le(b + 1, 2) : 0;
    char state[6] = "HY000";
    const unsigned char *msg = b + 3, *end = b + len;
    if (end - msg >= 6 && msg[0] == '#') {
        memcpy(state, msg + 1, 5);
        msg += 6;
    }
    char text[256];
    int n = (int)(end > msg ? end - msg : 0);
    snprintf(text, sizeof text, "%.*s", n, (const char *)msg);
    p->errnos[p->which[p->k]] = e;
    set_failed(p, conn_error_of(p->c, e, state, text, "query"));
    next_answer(p);
}

/* An EOF packet, or with DEPRECATE_EOF the OK packet that ends rows: its status. */
static unsigned end_status(pipe_op *p, const unsigned char *b, size_t len)
{
    if (!p->deprecate_eof || len < 7)
        return len >= 5 ? (unsigned)wire_le(b + 3, 2) : 0;
    const unsigned char *r = b + 1, *end = b + len;
    uint64_t skip;
    if (!wire_lenenc(&r, end, &skip) || !wire_lenenc(&r, end, &skip) || end - r < 2)
        return 0;
    return (unsigned)wire_le(r, 2);
}

static void on_ok_packet(pipe_op *p, const unsigned char *b, size_t len)
{
    const unsigned char *r = b + 1, *end = b + len;
    uint64_t affected = 0, insert_id = 0;
    unsigned status = 0;
    if (wire_lenenc(&r, end, &affected) && wire_lenenc(&r, end, &insert_id) && end - r >= 2)
        status = (unsigned)wire_le(r, 2);
    size_t set = p->which[p->k];
    if (p->collect) {
        if (p->res)
            p->res[set] = (tern_sql_result){.affected_rows = affected, .insert_id = insert_id};
        if (!p->results[set] && !(p->results[set] = json_array()))
            return fail_all(p, TERN_ENOMEM, "out of memory for rows");
    }
    if (status & MORE_RESULTS)
        p->collect = false;
    else
        next_answer(p);
}

/* The columns of the prepared statement, as the connector read them at the prepare. */
static bool use_prepared_columns(pipe_op *p, unsigned ncols)
{
    if (mysql_stmt_field_count(p->stmt) != ncols || !p->stmt->fields)
        return false;
    if (!p->prep_cols) {
        if (!(p->prep_cols = malloc(ncols * sizeof *p->prep_cols)))
            return false;
        for (unsigned i = 0; i < ncols; i++) {
            const MYSQL_FIELD *f = &p->stmt->fields[i];
            p->prep_cols[i] = (wire_col){.name = f->name,
                                    .type = (unsigned char)f->type,
                                    .kind = row_kind(f),
                                    .is_unsigned = (f->flags & UNSIGNED_FLAG) != 0};
        }
    }
    p->cols = p->prep_cols;
    return true;
}

static void free_sent_cols(pipe_op *p)
{
    for (unsigned i = 0; i < p->nsent; i++)
        free((char *)p->sent_cols[i].name);
    free(p->sent_cols);
    p->sent_cols = NULL;
    p->nsent = 0;
}

static void on_result_head(pipe_op *p, const unsigned char *b, size_t len)
{
    const unsigned char *r = b, *end = b + len;
    uint64_t ncols;
    if (!wire_lenenc(&r, end, &ncols) || ncols == 0 || ncols > 4096)
        return fail_all(p, -EIO, "malformed column count");
    bool defs_follow = r < end ? *r != 0 : true; /* the metadata cache's flag */
    p->ncols = (unsigned)ncols;
    if (defs_follow) {
        free_sent_cols(p);
        p->sent_cols = calloc(ncols, sizeof *p->sent_cols);
        p->nsent = p->sent_cols ? p->ncols : 0;
        p->defs_left = p->ncols;
        p->columns_changed = true;
        if (!p->sent_cols)
            return fail_all(p, TERN_ENOMEM, "out of memory for columns");
        p->at = AT_COLDEF;
    } else {
        /* "the columns the server sent last": definitions an earlier answer of this pass
         * sent (the server caches them from then on), else the prepare's */
        if (p->sent_cols && p->nsent == p->ncols)
            p->cols = p->sent_cols;
        else if (!use_prepared_columns(p, p->ncols))
            return fail_all(p, -EIO, "the server's columns differ from the prepared ones");
        p->at = p->deprecate_eof ? AT_ROWS : AT_COLEOF;
    }
    size_t set = p->which[p->k];
    if (p->collect && !p->results[set] && !(p->results[set] = json_array()))
        return fail_all(p, TERN_ENOMEM, "out of memory for rows");
}

static void on_coldef(pipe_op *p, const unsigned char *b, size_t len)
{
    unsigned i = p->ncols - p->defs_left;
    if (!wire_coldef(b, len, &p->sent_cols[i]))
        return fail_all(p, -EIO, "malformed column definition (or out of memory)");
    if (--p->defs_left == 0) {
        p->cols = p->sent_cols;
        p->at = p->deprecate_eof ? AT_ROWS : AT_COLEOF;
    }
}

static void on_row_packet(pipe_op *p, const unsigned char *b, size_t len)
{
    if (!p->collect)
        return;
    size_t set = p->which[p->k];
    json_t *row = wire_row(p->cols, p->ncols, b, len);
    if (!row || json_array_append_new(p->results[set], row) < 0)
        fail_all(p, -EIO, "a row could not be read (malformed, or out of memory)");
}

static void on_packet(pipe_op *p, const unsigned char *b, size_t len)
{
    unsigned first = len ? b[0] : 0x100;
    switch (p->at) {
    case AT_HEAD:
        if (first == 0xFF)
            on_error_packet(p, b, len);
        else if (first == 0x00)
            on_ok_packet(p, b, len);
        else if (first == 0xFB || first == 0x100)
            fail_all(p, -EIO, "unexpected answer (LOCAL INFILE is off)");
        else
            on_result_head(p, b, len);
        break;
    case AT_COLDEF:
        on_coldef(p, b, len);
        break;
    case AT_COLEOF:
        if (first != 0xFE)
            return fail_all(p, -EIO, "no EOF after the columns");
        p->at = AT_ROWS;
        break;
    case AT_ROWS:
        if (first == 0x00) {
            on_row_packet(p, b, len);
        } else if (first == 0xFF) {
            on_error_packet(p, b, len);
        } else if (first == 0xFE) {
            if (end_status(p, b, len) & MORE_RESULTS) {
                p->collect = false;
                p->at = AT_HEAD;
            } else {
                next_answer(p);
            }
        } else {
            fail_all(p, -EIO, "malformed row");
        }
        break;
    default:
        fail_all(p, -EIO, "an answer came that nothing asked for");
    }
}

/* Consumes every complete packet in the input. The pieces of a long payload are joined
 * in place, over the headers between them. */
static void parse(pipe_op *p)
{
    while (p->at != AT_DONE && p->in_len - p->pos >= 4) {
        unsigned char *h = p->in + p->pos;
        size_t len, used;
        if (!wire_whole_payload(h, p->in_len - p->pos, &len, &used))
            break;
        for (size_t r = 4 + WIRE_PACKET_MAX, w = r; r < used;) {
            size_t piece = (size_t)wire_le(h + r, 3);
            memmove(h + w, h + r + 4, piece);
            w += piece;
            r += 4 + piece;
        }
        p->pos += used;
        on_packet(p, h + 4, len);
    }
}

/* Room for the next read: unparsed bytes move to the front, the buffer grows to hold
 * the packet that is coming in whole. */
static bool make_room(pipe_op *p)
{
    if (p->pos) {
        memmove(p->in, p->in + p->pos, p->in_len - p->pos);
        p->in_len -= p->pos;
        p->pos = 0;
    }
    size_t want = p->in_len + READ_ROOM;
    if (p->in_len >= 4)
        want += (size_t)wire_le(p->in, 3);
    if (want <= p->in_cap)
        return true;
    unsigned char *in = realloc(p->in, want);
    if (!in)
        return false;
    p->in = in;
    p->in_cap = want;
    return true;
}

/* ---- driving the socket (conn_run's continuation) --------------------------------- */

static void read_answers(pipe_op *p)
{
    for (;;) {
        if (!make_room(p))
            return fail_all(p, TERN_ENOMEM, "out of memory for answers");
        size_t room = p->in_cap - p->in_len;
        ssize_t n = recv(p->fd, p->in + p->in_len, room, MSG_DONTWAIT);
        if (n > 0) {
            p->in_len += (size_t)n;
            parse(p);
            if (p->at == AT_DONE || (size_t)n < room)
                return; /* a short read drained the socket: wait for the next event */
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        return fail_all(p, TERN_EUNAVAILABLE, n == 0 ? "the server closed the connection"
                                                      : "the connection failed");
    }
}

/* The fewest bytes every answer not read yet still needs: an OK packet (11 bytes) is
 * the shortest whole answer; the one under way needs at least one more byte. */
#define MIN_ANSWER 11
#define MAX_LOWAT 16384

/* Sets the socket's receive low-water mark (no system call when it stays). */
static void set_lowat(pipe_op *p, int v)
{
    if (v == p->lowat)
        return;
    if (setsockopt(p->fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v) == 0)
        p->lowat = v;
}

/* Wake up only when the answers still missing can have come, not for each one: the
 * server sends every answer on its own, and a wake-up per answer costs more than its
 * parsing. The mark is a lower bound of what must still come, so it can never wait for
 * bytes that will not be sent; an error or the server closing wakes the reader anyway. */
static void wait_for_more(pipe_op *p)
{
    size_t left = p->count - p->k; /* answers not whole yet, the current one included */
    size_t need = left ? (left - 1) * MIN_ANSWER + 1 : 1;
    size_t have = p->in_len - p->pos;
    need = need > have ? need - have : 1;
    set_lowat(p, need > MAX_LOWAT ? MAX_LOWAT : (int)need);
}

static int pipe_cont(conn_op *op, int events)
{
    pipe_op *p = (pipe_op *)op;
    if (events & MYSQL_WAIT_TIMEOUT) {
        /* conn_run aborts: the connection is dropped and its error reported there */
        p->c->broken = true;
        p->at = AT_DONE;
        return 0;
    }
    while (p->out_sent < p->out_len) {
        ssize_t n = send(p->fd, p->out + p->out_sent, p->out_len - p->out_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p->out_sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        fail_all(p, TERN_EUNAVAILABLE, "the connection failed");
        return 0;
    }
    if (events & MYSQL_WAIT_READ)
        read_answers(p);
    if (p->at == AT_DONE)
        return 0;
    wait_for_more(p);
    /* reading while the rest goes out: the server stops reading once its answers fill
     * the socket, so waiting only to write could wait forever */
    return MYSQL_WAIT_READ | (p->out_sent < p->out_len ? MYSQL_WAIT_WRITE : 0);
}

/* Every set not answered yet failed with rc (tern_errmsg says why). rc. */
static int fail_rest(pipe_op *p, int rc)
{
    char msg[ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", tern_errmsg());
    for (; p->k < p->count; p->k++)
        set_failed(p, rc);
    tern_set_errmsg("%s", msg);
    return rc;
}

/* One pipelined pass over the sets in which[0..count). -E2BIG when it cannot be
 * pipelined (the caller runs those sets one by one). */
static int pipe_once(pipe_op *p, const char *sql, const tern_sql_arg *args, size_t nargs,
                     stmt_entry **entry)
{
    MYSQL_STMT *stmt;
    unsigned nparams;
    int rc = stmt_lookup(p->c, sql, entry, &stmt, &nparams);
    if (rc == 0 && nparams != nargs) {
        tern_set_errmsg("mysql: the statement has %u placeholder(s) but %zu argument(s) came",
                        nparams, nargs);
        rc = -EINVAL;
    }
    if (rc < 0) /* nothing went out: every set fails with the prepare's error */
        return fail_rest(p, rc);
    p->stmt = stmt;
    if (!build_requests(p, stmt->stmt_id, args, nargs))
        return -E2BIG;
    p->op = (conn_op){.cont = pipe_cont};
    int st = pipe_cont(&p->op, 0);
    rc = st ? conn_run(p->c, &p->op, st) : 0;
    set_lowat(p, 1); /* the connector reads this socket next */
    if (rc == 0)
        rc = p->io_rc;
    if (rc == 0 && p->pos < p->in_len) {
        /* bytes after the last answer: whatever they are, the connector would take
         * them for the answer to its next command */
        p->c->broken = true;
        tern_set_errmsg("mysql pipelined query: the server sent more than was asked");
    }
    if (rc < 0 && p->k < p->count)
        fail_rest(p, rc);
    return rc;
}

/* The largest read buffer a connection keeps for its next pass: a pass's answers of
 * more go to a buffer of their own. Keeping it saves a malloc + free of 16 KiB per pass
 * (on /db about one per three requests, and glibc consolidated its fast bins for each). */
#define KEEP_IN_MAX (64 * 1024)

static void pipe_reset(pipe_op *p)
{
    free(p->out);
    if (p->in && !p->c->pipe_in && p->in_cap <= KEEP_IN_MAX) {
        p->c->pipe_in = p->in;
        p->c->pipe_in_cap = p->in_cap;
    } else {
        free(p->in);
    }
    free(p->prep_cols);
    free_sent_cols(p);
    p->out = p->in = NULL;
    p->cols = p->prep_cols = NULL;
    p->out_len = p->out_sent = p->in_len = p->in_cap = p->pos = 0;
    p->k = 0;
    p->at = AT_HEAD;
    p->collect = true;
    p->io_rc = 0;
}

/* The sets in which[0..count) one by one through the connector (TLS, huge values). */
static void run_each(pipe_op *p, const char *sql, const tern_sql_arg *args, size_t nargs)
{
    for (size_t k = 0; k < p->count; k++) {
        size_t set = p->which[k];
        tern_sql_result r = {0};
        json_t *rows = NULL;
        p->k = k;
        int rc = p->c->broken ? TERN_EUNAVAILABLE
                              : stmt_run(p->c, sql, args + set * nargs, nargs, &rows, SIZE_MAX, &r);
        if (rc < 0) {
            if (p->c->broken && rc != TERN_ETIMEDOUT && rc != TERN_ECANCELED)
                tern_set_errmsg("mysql: the connection was lost");
            set_failed(p, rc);
            continue;
        }
        p->results[set] = rows;
        if (p->res)
            p->res[set] = r;
    }
}

int pipe_run(mysql_conn *c, const char *sql, const tern_sql_arg *args, size_t nargs,
             size_t nsets, json_t **results, tern_sql_result *res, int *codes, char **msgs)
{
    for (size_t i = 0; i < nsets; i++) {
        results[i] = NULL;
        if (msgs)
            msgs[i] = NULL;
    }
    if (nsets == 0)
        return 0;
    pipe_op p = {.c = c,
                 .fd = (int)mysql_get_socket(c->m),
                 .deprecate_eof = (c->m->client_flag & c->m->server_capabilities & DEPRECATE_EOF) != 0,
                 .results = results,
                 .res = res,
                 .msgs = msgs,
                 .first_failed = SIZE_MAX,
                 .lowat = 1,
                 .at = AT_HEAD,
                 .collect = true};
    size_t *which = malloc(nsets * sizeof *which);
    p.codes = calloc(nsets, sizeof *p.codes);
    p.errnos = calloc(nsets, sizeof *p.errnos);
    if (!which || !p.codes || !p.errnos) {
        free(which);
        free(p.codes);
        free(p.errnos);
        tern_set_errmsg("mysql: out of memory for %zu statements", nsets);
        return TERN_ENOMEM;
    }
    for (size_t i = 0; i < nsets; i++)
        which[i] = i;
    p.which = which;
    p.in = c->pipe_in; /* the connection's kept buffer (make_room grows it as needed) */
    p.in_cap = c->pipe_in_cap;
    c->pipe_in = NULL;
    c->pipe_in_cap = 0;
    p.count = nsets;
    bool tls = mysql_get_ssl_cipher(c->m) != NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        stmt_entry *e = NULL;
        int rc = tls ? -E2BIG : pipe_once(&p, sql, args, nargs, &e);
        if (rc == -E2BIG) {
            pipe_reset(&p);
            run_each(&p, sql, args, nargs);
            break;
        }
        /* the server forgot the statement (1243) or its tables changed (1615): prepare
         * it again once and rerun just those sets, as the one-by-one path does */
        size_t stale = 0;
        for (size_t k = 0; k < p.count; k++)
            if (is_stale(p.errnos[p.which[k]]))
                which[stale++] = p.which[k];
        bool changed = p.columns_changed;
        pipe_reset(&p);
        if (e && !c->broken && (stale || changed))
            stmt_forget(c, e); /* prepared again on its next use */
        if (!stale || c->broken || attempt == 1)
            break;
        for (size_t k = 0; k < stale; k++)
            p.codes[which[k]] = 0;
        p.count = stale;
        p.attempt = 1;
    }
    pipe_reset(&p);
    int rc = 0;
    for (size_t i = 0; i < nsets && rc == 0; i++)
        rc = p.codes[i];
    if (codes)
        memcpy(codes, p.codes, nsets * sizeof *codes);
    if (rc < 0 && p.first_failed != SIZE_MAX)
        tern_set_errmsg("%s", p.first_msg);
    else if (rc < 0)
        tern_set_errmsg("mysql query: the server no longer knows the prepared statement");
    free(which);
    free(p.codes);
    free(p.errnos);
    return rc;
}
