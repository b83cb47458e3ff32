/* pool/mysql_conn.c - one MariaDB connection on the loop: the _start/_cont driver
 * (awaited from a coroutine, or stepped from loop callbacks in the background), its
 * socket watcher and timer, aborting a call that ran out of time, and closing.
 *
 * The socket watcher polls a dup() of the connector's socket. The connector closes its
 * socket by itself when a call fails (end_server), and libuv stops and closes a poll
 * handle by fd *number* (epoll_ctl DEL): had we watched the connector's own number, a
 * later stop could hit whatever socket reused that number on this loop. Our dup's
 * number stays ours until our close callback closes it. */
#include <errno.h>
#include <errmsg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tern/error.h"
#include "mysql_conn.h"
#include "mysql_stmt.h"

/* A poll handle with the descriptor it owns. */
typedef struct conn_poll {
    uv_poll_t h;
    int fd;    /* our dup of the connector's socket */
    ino_t ino; /* the socket it refers to (a new socket may reuse the number) */
} conn_poll;

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *h);

mysql_conn *conn_new(uv_loop_t *loop, int64_t connect_timeout_ms)
{
    mysql_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        tern_set_errmsg("mysql: out of memory for a connection");
        return NULL;
    }
    c->m = mysql_init(NULL);
    if (!c->m) {
        free(c);
        tern_set_errmsg("mysql: mysql_init failed (out of memory)");
        return NULL;
    }
    /* NONBLOCK must come before anything else touches the handle: without it the
     * _start calls crash. */
    if (mysql_options(c->m, MYSQL_OPT_NONBLOCK, 0) != 0) {
        mysql_close(c->m);
        free(c);
        tern_set_errmsg("mysql: cannot enable the non-blocking API");
        return NULL;
    }
    /* The connector's own connect timeout (whole seconds) also bounds the handshake
     * reads; our deadline (milliseconds) is the one callers see. */
    unsigned secs = connect_timeout_ms > 0 ? (unsigned)((connect_timeout_ms + 999) / 1000) : 0;
    if (secs)
        mysql_options(c->m, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
    my_bool off = 0;
    mysql_options(c->m, MYSQL_OPT_RECONNECT, &off); /* the pool replaces lost connections */
    unsigned no_infile = 0;
    mysql_options(c->m, MYSQL_OPT_LOCAL_INFILE, &no_infile); /* never read client files */
    mysql_options(c->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    c->loop = loop;
    c->poll_fd = -1;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    return c;
}

/* ---- socket watcher ---------------------------------------------------------- */

static void free_poll(uv_handle_t *h)
{
    conn_poll *p = (conn_poll *)h;
    close(p->fd);
    free(p);
}

static void retire_poll(mysql_conn *c)
{
    if (!c->poll)
        return;
    uv_close((uv_handle_t *)c->poll, free_poll);
    c->poll = NULL;
    c->poll_fd = -1;
}

/* Makes c->poll watch the connector's current socket: re-read on every wait, because a
 * (re)connect creates a new one. -1 when there is no socket. */
static int ensure_poll(mysql_conn *c)
{
    int fd = (int)mysql_get_socket(c->m);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return -1;
    conn_poll *cur = (conn_poll *)c->poll;
    if (cur && c->poll_fd == fd && cur->ino == st.st_ino)
        return 0;
    retire_poll(c);
    conn_poll *p = malloc(sizeof(*p));
    if (!p)
        return -1;
    p->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    p->ino = st.st_ino;
    if (p->fd < 0 || uv_poll_init_socket(c->loop, &p->h, p->fd) < 0) {
        if (p->fd >= 0)
            close(p->fd);
        free(p);
        return -1;
    }
    p->h.data = c;
    c->poll = &p->h;
    c->poll_fd = fd;
    return 0;
}

/* Stops waiting altogether: before an abort, a close, or lending an idle connection. */
static void disarm(mysql_conn *c)
{
    c->armed = false;
    /* libuv's stop always costs an epoll_ctl, active or not */
    if (c->poll && uv_is_active((uv_handle_t *)c->poll))
        uv_poll_stop(c->poll);
    c->poll_events = 0;
    uv_timer_stop(&c->timer);
}

/* Waits for the events the connector asked for (st) and, whichever is sooner, for its
 * own timeout or our deadline. The watcher stays on between steps when the next one
 * wants the same events (a query's answer, then the next query's): restarting it would
 * cost two epoll_ctl calls per round trip. */
static void arm(mysql_conn *c, int st)
{
    c->want = st;
    c->revents = 0;
    c->expired = false;
    c->armed = true;
    int ev = 0;
    if (st & MYSQL_WAIT_READ)
        ev |= UV_READABLE;
    if (st & MYSQL_WAIT_WRITE)
        ev |= UV_WRITABLE;
    if (st & MYSQL_WAIT_EXCEPT)
        ev |= UV_PRIORITIZED;
    uint64_t now = uv_now(c->loop);
    uint64_t due = UINT64_MAX;
    bool watching = c->poll && c->poll_events == ev && uv_is_active((uv_handle_t *)c->poll);
    if (watching) {
        uv_ref((uv_handle_t *)c->poll);
    } else if (ev) {
        if (ensure_poll(c) == 0) {
            uv_ref((uv_handle_t *)c->poll);
            uv_poll_start(c->poll, ev, on_poll);
            c->poll_events = ev;
        } else {
            /* No socket to watch: let the connector look for itself at once. */
            c->revents = st & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);
            due = now;
        }
    }
    if (st & MYSQL_WAIT_TIMEOUT) {
        c->lib_due = now + mysql_get_timeout_value_ms(c->m);
        if (c->lib_due < due)
            due = c->lib_due;
    }
    if (c->deadline && c->deadline < due)
        due = c->deadline;
    if (due != UINT64_MAX)
        uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

static void bg_step(mysql_conn *c);

/* A step is over: the coroutine resumes from the ready queue (library callbacks never
 * switch stacks); a background operation continues right here. */
static void fire(mysql_conn *c)
{
    c->armed = false;
    uv_timer_stop(&c->timer);
    if (c->poll)
        uv_unref((uv_handle_t *)c->poll); /* only a waiting step holds the loop */
    if (c->bg_done)
        bg_step(c);
    else
        tern__wake(c->waiter, 0);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    mysql_conn *c = h->data;
    if (c->state == CONN_IDLE) {
        /* idle watch: the server closed or killed the session */
        disarm(c);
        if (c->on_dead)
            c->on_dead(c);
        return;
    }
    if (!c->armed) {
        /* the watcher left on after the last step, and something arrived that nobody
         * waits for (level-triggered: it would fire again and again) */
        disarm(c);
        return;
    }
    if (status < 0) {
        /* let the connector find the error itself */
        c->revents |= MYSQL_WAIT_READ | MYSQL_WAIT_WRITE;
    } else {
        if (events & UV_READABLE)
            c->revents |= MYSQL_WAIT_READ;
        if (events & UV_WRITABLE)
            c->revents |= MYSQL_WAIT_WRITE;
        if (events & UV_PRIORITIZED)
            c->revents |= MYSQL_WAIT_EXCEPT;
    }
    fire(c);
}

static void on_timer(uv_timer_t *h)
{
    mysql_conn *c = h->data;
    if (!c->armed)
        return;
    uint64_t now = uv_now(c->loop);
    if (c->deadline && now >= c->deadline)
        c->expired = true;
    if ((c->want & MYSQL_WAIT_TIMEOUT) && now >= c->lib_due)
        c->revents |= MYSQL_WAIT_TIMEOUT;
    fire(c);
}

/* ---- aborting a call ---------------------------------------------------------- */

/* Makes every later read and write on the connector's socket fail at once: the number
 * now names a socket whose peer is gone (our dup keeps the real one until closed). */
static void poison(mysql_conn *c)
{
    int fd = (int)mysql_get_socket(c->m);
    if (fd < 0)
        return;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
        close(sv[1]);
        if (dup3(sv[0], fd, O_CLOEXEC) < 0)
            shutdown(fd, SHUT_RDWR);
        close(sv[0]);
    } else {
        shutdown(fd, SHUT_RDWR);
    }
}

/* Ends a suspended call early. A TIMEOUT event makes each of the connector's waits fail,
 * so the call unwinds through its own error path and frees what it allocated; the
 * connection is lost either way. Returns the last status (0: the call is over). */
static int abort_op(mysql_conn *c, conn_op *op, int st)
{
    c->broken = true;
    for (int i = 0; st && i < 8; i++)
        st = op->cont(op, MYSQL_WAIT_TIMEOUT);
    if (st) {
        poison(c);
        for (int i = 0; st && i < 8; i++)
            st = op->cont(op, MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_TIMEOUT);
    }
    return st;
}

/* ---- driving calls -------------------------------------------------------------- */

int conn_run(mysql_conn *c, conn_op *op, int st)
{
    while (st) {
        arm(c, st);
        c->waiter = tern__waiter();
        int rc = tern__wait(-1);
        if (rc == 0 && c->expired)
            rc = TERN_ETIMEDOUT;
        if (rc < 0) {
            disarm(c);
            abort_op(c, op, st);
            if (rc == TERN_ETIMEDOUT)
                tern_set_errmsg("mysql: the statement timed out (connection dropped)");
            else if (rc == TERN_ECANCELED)
                tern_set_errmsg("mysql: cancelled (connection dropped)");
            return rc;
        }
        st = op->cont(op, c->revents);
    }
    return 0;
}

static void bg_finish(mysql_conn *c, int rc)
{
    void (*done)(mysql_conn *, int) = c->bg_done;
    c->bg_done = NULL;
    done(c, rc);
}

static void bg_step(mysql_conn *c)
{
    if (c->bg_finished) {
        c->bg_finished = false;
        bg_finish(c, 0);
        return;
    }
    if (c->expired) {
        disarm(c);
        abort_op(c, &c->bgop, c->want);
        tern_set_errmsg("mysql: timed out");
        bg_finish(c, TERN_ETIMEDOUT);
        return;
    }
    int st = c->bgop.cont(&c->bgop, c->revents);
    if (st)
        arm(c, st);
    else
        bg_finish(c, 0);
}

void conn_bg(mysql_conn *c, int st, uint64_t deadline, void (*done)(mysql_conn *c, int rc))
{
    c->bg_done = done;
    c->deadline = deadline;
    if (st) {
        arm(c, st);
        return;
    }
    /* Completed at once: report from the loop all the same, so callers never see their
     * completion run inside their own call. */
    c->bg_finished = true;
    c->want = 0;
    c->armed = true;
    uv_timer_start(&c->timer, on_timer, 0, 0);
}

/* ---- idle watch and close -------------------------------------------------------- */

void conn_watch_idle(mysql_conn *c)
{
    c->armed = false;
    uv_timer_stop(&c->timer);
    /* The same watcher as for a query's answer: it just stays on. */
    bool watching =
        c->poll && c->poll_events == UV_READABLE && uv_is_active((uv_handle_t *)c->poll);
    if (!watching) {
        if (ensure_poll(c) < 0)
            return;
        uv_poll_start(c->poll, UV_READABLE, on_poll);
        c->poll_events = UV_READABLE;
    }
    uv_unref((uv_handle_t *)c->poll); /* an idle pool must not keep the loop running */
}

static int cont_close(conn_op *op, int ev)
{
    return mysql_close_cont(op->m, ev);
}

static void free_conn(uv_handle_t *h)
{
    mysql_conn *c = h->data;
    void (*freed)(void *) = c->freed;
    void *arg = c->freed_arg;
    free(c->pipe_in);
    free(c);
    if (freed)
        freed(arg);
}

void conn_close(mysql_conn *c, void (*freed)(void *arg), void *arg)
{
    c->state = CONN_CLOSED;
    c->freed = freed;
    c->freed_arg = arg;
    disarm(c);
    int left = 0;
    if (c->bg_done) {
        if (!c->bg_finished)
            left = abort_op(c, &c->bgop, c->want);
        c->bg_done = NULL;
        c->bg_finished = false;
    }
    if (left) {
        /* The connector is still inside a call (it ignored the abort): the plain close
         * frees its context without resuming it. */
        mysql_close(c->m);
    } else {
        /* COM_QUIT is one small write; should it have to wait, the server is not
         * listening and an aborted close is as good. */
        conn_op op = {.cont = cont_close, .m = c->m};
        int st = mysql_close_start(c->m);
        if (st)
            abort_op(c, &op, st);
    }
    c->m = NULL;
    stmt_cache_drop(c); /* after the close: the statements are detached, no I/O */
    retire_poll(c);
    uv_close((uv_handle_t *)&c->timer, free_conn);
}
