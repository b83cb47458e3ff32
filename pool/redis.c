/* pool/redis.c - the Redis pool's public calls: create and free the pool, run a
 * command and wait for its reply, readiness and counters.
 *
 * A command is formatted once, sent on the next connection that is up (round robin,
 * pipelined: any number in flight per connection) and awaited with the pool's
 * timeout; the scheduler adds the request deadline and cancellation. Its state lives
 * in a heap record, not on the coroutine's stack: when the caller stops waiting
 * (timeout, deadline, cancel) it marks the record abandoned and the reply callback,
 * which hiredis still makes later, frees it. Callbacks copy the reply into the
 * caller's scope memory and tern__wake it; they never resume a coroutine.
 *
 * With no connection up a command fails at once (TERN_EUNAVAILABLE, with the last
 * connection error as tern_errmsg), so no request waits on a dead server. The one
 * exception is a connection on its first attempt with no failure yet (a pool just
 * created): commands queue behind its handshake, bounded by the connect timeout.
 *
 * Commands that would break a shared, pipelined connection are refused with -EINVAL:
 * the subscribe family and MONITOR (hiredis would call the reply callback again and
 * again), SELECT, HELLO, RESET, QUIT, CLIENT REPLY, and transactions (MULTI, EXEC,
 * DISCARD, WATCH, UNWATCH: other callers' commands would land inside them; use EVAL). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tern/error.h"
#include "redis_impl.h"

#define DEFAULT_POOL_SIZE 4
#define MAX_POOL_SIZE 1024
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_CONNECT_TIMEOUT_MS 1000

/* One command from send to reply; see the file comment for who frees it. */
typedef struct redis_cmd {
    tern_waiter waiter;
    tern__redis_conn *conn;
    tern_arena *arena; /* the caller's scope memory, for the reply copy */
    tern_redis_reply *reply;
    int code;       /* 0 or why it failed, once finished */
    bool finished;  /* the callback came (reply or NULL) */
    bool abandoned; /* the caller stopped waiting: the callback frees us */
    char err[TERN__REDIS_ERRLEN];
} redis_cmd;

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_cmd *cmd = priv;
    tern__redis_conn *c = cmd->conn;
    tern_redis_pool *p = c->pool;
    redisReply *r = reply;
    c->inflight--;
    p->inflight--;
    if (r)
        c->progress_at = uv_now(p->loop);
    if (cmd->abandoned) {
        c->abandoned--;
        free(cmd);
        return;
    }
    cmd->finished = true;
    if (!r) { /* the context is being freed: lost, replaced, or the pool is closing */
        cmd->code = p->closing ? TERN_ECANCELED : TERN_EUNAVAILABLE;
        if (!p->closing)
            p->errors++;
        tern__redis_conn_why(c, ac, cmd->err, sizeof cmd->err);
    } else if (!(cmd->reply = tern__redis_reply_copy(cmd->arena, r))) {
        cmd->code = TERN_ENOMEM;
        snprintf(cmd->err, sizeof cmd->err, "%s: out of memory for the reply", p->where);
    }
    tern__wake(cmd->waiter, 0); /* only queues the task: we are inside hiredis */
}

/* Round robin over the connections that are up, preferring those with no abandoned
 * command (one may be stuck behind a slow reply); else a fresh connection still on its
 * first attempt; else none. */
static tern__redis_conn *pick(tern_redis_pool *p)
{
    int suspect = -1, fresh = -1;
    for (unsigned i = 0; i < p->size; i++) {
        unsigned k = (p->next + i) % p->size;
        tern__redis_conn *c = &p->conns[k];
        if (c->state == TERN__REDIS_UP && !c->abandoned) {
            p->next = k + 1;
            return c;
        }
        if (c->state == TERN__REDIS_UP && suspect < 0)
            suspect = (int)k;
        if (c->state == TERN__REDIS_CONNECTING && !c->failed && fresh < 0)
            fresh = (int)k;
    }
    int k = suspect >= 0 ? suspect : fresh;
    if (k < 0)
        return NULL;
    p->next = (unsigned)k + 1;
    return &p->conns[k];
}

/* Reads the next "$len\r\nbytes\r\n" bulk string of a formatted command. */
static bool next_arg(const char *s, size_t len, size_t *pos, const char **arg, size_t *alen)
{
    size_t i = *pos, n = 0;
    if (i >= len || s[i++] != '$')
        return false;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        n = n * 10 + (size_t)(s[i++] - '0');
    if (i + 2 + n + 2 > len || s[i] != '\r')
        return false;
    *arg = s + i + 2;
    *alen = n;
    *pos = i + 2 + n + 2;
    return true;
}

static bool is(const char *arg, size_t len, const char *word)
{
    return len == strlen(word) && strncasecmp(arg, word, len) == 0;
}

/* Refuses what would break a shared pipelined connection (see the file comment). */
static int refuse(const char *cmd, size_t len)
{
    static const char *const refused[] = {
        "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
        "MONITOR",   "SELECT",     "HELLO",      "RESET",       "QUIT",         "MULTI",
        "EXEC",      "DISCARD",    "WATCH",      "UNWATCH",
    };
    const char *name, *sub;
    size_t pos = 0, nlen, slen;
    while (pos < len && cmd[pos] != '\n')
        pos++;
    pos++;
    if (len < 4 || cmd[0] != '*' || cmd[1] == '0' || !next_arg(cmd, len, &pos, &name, &nlen)) {
        tern_set_errmsg("redis: empty command");
        return -EINVAL;
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (is(name, nlen, refused[i])) {
            tern_set_errmsg("redis: %s is not available on a shared pipelined connection",
                            refused[i]);
            return -EINVAL;
        }
    }
    if (is(name, nlen, "CLIENT") && next_arg(cmd, len, &pos, &sub, &slen) &&
        is(sub, slen, "REPLY")) {
        tern_set_errmsg("redis: CLIENT REPLY is not available on a shared pipelined connection");
        return -EINVAL;
    }
    return 0;
}

/* What every command call checks first: a coroutine, the pool's own thread, and a
 * wait that could still succeed (not cancelled, deadline not passed). */
static int check_call(const tern_redis_pool *p)
{
    if (!tern__current()) {
        tern_set_errmsg("redis: commands must run in a coroutine (a handler or a task)");
        return -EINVAL;
    }
    if (!p || p->sched != tern_sched_current()) {
        tern_set_errmsg("redis: the pool belongs to another thread");
        return -EINVAL;
    }
    int rc = tern__wait_check();
    if (rc < 0)
        tern_set_errmsg("%s: %s before the command was sent", p->where,
                        rc == TERN_ECANCELED ? "cancelled" : "request deadline passed");
    return rc;
}

/* Sends the formatted command buf (freed here) and waits for its reply. */
static int issue(tern_redis_pool *p, tern_redis_reply **reply, char *buf, int len)
{
    int rc = refuse(buf, (size_t)len);
    tern__redis_conn *c = rc < 0 ? NULL : pick(p);
    redis_cmd *cmd = c ? calloc(1, sizeof(*cmd)) : NULL;
    if (cmd) {
        cmd->conn = c;
        cmd->arena = tern__current()->scope->arena;
        cmd->waiter = tern__waiter();
        /* hiredis copies buf into its output buffer; the callback cannot run yet */
        if (redisAsyncFormattedCommand(c->ac, on_reply, cmd, buf, (size_t)len) != REDIS_OK) {
            free(cmd);
            cmd = NULL;
        }
    }
    redisFreeCommand(buf);
    if (rc < 0)
        return rc;
    if (!cmd) {
        p->errors++;
        if (!c)
            tern_set_errmsg("%s", p->last_err[0] ? p->last_err : "redis: no connection is up");
        else
            tern_set_errmsg("%s: cannot queue the command (out of memory?)", p->where);
        return TERN_EUNAVAILABLE;
    }
    if (c->inflight++ == 0)
        c->progress_at = uv_now(p->loop); /* the pipe was idle: silence counts from now */
    p->inflight++;
    int64_t timeout_ms = p->timeout_ms;
    char where[sizeof p->where];
    memcpy(where, p->where, sizeof where);

    rc = tern__wait(timeout_ms);

    if (rc == 0) { /* on_reply woke us; p may be gone if it was a NULL reply */
        rc = cmd->code;
        if (rc == 0 && reply)
            *reply = cmd->reply;
        else if (rc < 0)
            tern_set_errmsg("%s", cmd->err);
        free(cmd);
        return rc;
    }
    /* The wait ended first. Without a callback yet, the pool and c are alive (freeing
     * the pool runs every callback); the reply will come and free the record. */
    if (cmd->finished) {
        free(cmd);
    } else {
        cmd->abandoned = true;
        c->abandoned++;
        if (rc != TERN_ECANCELED)
            p->timeouts++;
        tern__redis_conn_abandoned(c);
    }
    if (rc == TERN__EWAITTIME) {
        tern_set_errmsg("%s: no reply within %lld ms", where, (long long)timeout_ms);
        return TERN_ETIMEDOUT;
    }
    tern_set_errmsg("%s: %s while waiting for the reply", where,
                    rc == TERN_ECANCELED ? "cancelled" : "request deadline passed");
    return rc;
}

int tern_redis_vcmd(tern_redis_pool *p, tern_redis_reply **reply, const char *fmt, va_list ap)
{
    if (reply)
        *reply = NULL;
    int rc = check_call(p);
    if (rc < 0)
        return rc;
    char *buf = NULL;
    int len = redisvFormatCommand(&buf, fmt, ap);
    if (len < 0) { /* hiredis: -1 out of memory, -2 bad format */
        tern_set_errmsg("redis: %s", len == -1 ? "out of memory" : "bad command format");
        return len == -1 ? TERN_ENOMEM : -EINVAL;
    }
    return issue(p, reply, buf, len);
}

int tern_redis_cmd(tern_redis_pool *p, tern_redis_reply **reply, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tern_redis_vcmd(p, reply, fmt, ap);
    va_end(ap);
    return rc;
}

int tern_redis_argv(tern_redis_pool *p, tern_redis_reply **reply, int argc, const char *const *argv,
                    const size_t *lens)
{
    if (reply)
        *reply = NULL;
    int rc = check_call(p);
    if (rc < 0)
        return rc;
    if (argc <= 0 || !argv) {
        tern_set_errmsg("redis: empty command");
        return -EINVAL;
    }
    char *buf = NULL;
    int len = redisFormatCommandArgv(&buf, argc, (const char **)argv, lens);
    if (len < 0) {
        tern_set_errmsg("redis: out of memory");
        return TERN_ENOMEM;
    }
    return issue(p, reply, buf, len);
}

/* 0 means the default; a negative value is a mistake worth stopping for. */
static int setting(int64_t v, int64_t def, const char *name, int64_t *out)
{
    if (v < 0) {
        tern_set_errmsg("redis: %s must not be negative", name);
        return -EINVAL;
    }
    *out = v ? v : def;
    return 0;
}

/* hiredis 0.14 writes with write(2): a write to a connection the server just reset
 * raises SIGPIPE, whose default action kills the process. tern_run ignores it; a pool
 * under tern_loop_run needs the same, unless the program chose its own handler. */
static void ignore_sigpipe(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

int tern_redis_pool_new(const tern_redis_opts *opts, tern_redis_pool **out)
{
    if (out)
        *out = NULL;
    if (!opts || !out) {
        tern_set_errmsg("tern_redis_pool_new: opts and out are required");
        return -EINVAL;
    }
    tern_sched *s = tern_sched_current();
    if (!s) {
        tern_set_errmsg("tern_redis_pool_new: no scheduler on this thread (use a worker or "
                        "tern_loop_run)");
        return -EINVAL;
    }
    tern__redis_url url;
    int rc = tern__redis_url_parse(opts->url, &url);
    if (rc < 0)
        return rc;
    int64_t size, timeout, connect_timeout;
    if (setting(opts->pool_size, DEFAULT_POOL_SIZE, "pool_size", &size) < 0 ||
        setting(opts->timeout_ms, DEFAULT_TIMEOUT_MS, "timeout_ms", &timeout) < 0 ||
        setting(opts->connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS, "connect_timeout_ms",
                &connect_timeout) < 0)
        return -EINVAL;
    if (size > MAX_POOL_SIZE) {
        tern_set_errmsg("redis: pool_size must be at most %d", MAX_POOL_SIZE);
        return -EINVAL;
    }
    tern_redis_pool *p = calloc(1, sizeof(*p) + (size_t)size * sizeof(p->conns[0]));
    if (!p) {
        tern_set_errmsg("redis: out of memory for the pool");
        return TERN_ENOMEM;
    }
    ignore_sigpipe();
    p->sched = s;
    p->loop = tern_sched_loop(s);
    p->url = url;
    p->timeout_ms = timeout;
    p->connect_timeout_ms = connect_timeout;
    p->size = (unsigned)size;
    p->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)p) | 1;
    bool v6 = strchr(url.host, ':') != NULL;
    snprintf(p->where, sizeof p->where, v6 ? "redis [%s]:%d" : "redis %s:%d", url.host, url.port);
    for (unsigned i = 0; i < p->size; i++)
        tern__redis_conn_init(p, &p->conns[i]);
    *out = p;
    return 0;
}

void tern_redis_pool_free(tern_redis_pool *p)
{
    if (!p || p->closing)
        return;
    /* Pending commands fail with TERN_ECANCELED (their NULL replies run inside
     * conn_close); the pool itself is freed when its last timer has closed. */
    p->closing = true;
    for (unsigned i = 0; i < p->size; i++)
        tern__redis_conn_close(&p->conns[i]);
}

bool tern_redis_pool_ready(const tern_redis_pool *p)
{
    for (unsigned i = 0; p && !p->closing && i < p->size; i++)
        if (p->conns[i].state == TERN__REDIS_UP)
            return true;
    return false;
}

void tern_redis_pool_stats(const tern_redis_pool *p, tern_pool_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!p)
        return;
    for (unsigned i = 0; i < p->size; i++) {
        const tern__redis_conn *c = &p->conns[i];
        if (c->state == TERN__REDIS_UP) {
            out->connections++;
            if (!c->inflight)
                out->idle++;
        }
    }
    out->in_use = p->inflight; /* commands in flight: a connection serves many at once */
    out->waiting = 0;          /* commands never queue for a connection */
    out->timeouts = p->timeouts;
    out->errors = p->errors;
    out->reconnects = p->reconnects;
}
