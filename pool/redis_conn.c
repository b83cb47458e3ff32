/* pool/redis_conn.c - the life of one Redis connection slot: connect by IP, the
 * handshake (AUTH, SELECT, or a PING when neither is needed), reconnects with jittered
 * exponential backoff, the connect timeout, and the watchdog that replaces a
 * connection that stays silent after a command timed out.
 *
 * A slot counts as up only once the server has answered its handshake: a server that
 * accepts TCP but is frozen (SIGSTOP, a stuck box behind a proxy) is not up.
 *
 * The hiredis 0.14 traps this file is built around:
 *  - a failed connect calls our connect callback and then frees the context itself
 *    (and the disconnect callback never fires for it): there we only let go of it;
 *  - redisAsyncFree runs every pending reply callback with a NULL reply, at once when
 *    called outside a hiredis callback, right after the callback returns when inside;
 *    it then calls the disconnect callback if the context had connected;
 *  - so before freeing a context ourselves we clear c->ac: the NULL replies then read
 *    why from c->err, and our disconnect callback sees a context it no longer owns.
 * Reconnects only ever start from the slot's timer, never from inside a hiredis
 * callback, so a slot never holds a new context while the old one is being torn down. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis_impl.h"
#include "redis_uv.h"

#define BACKOFF_MIN_MS 50u
#define BACKOFF_MAX_MS 2000u

static void on_timer(uv_timer_t *h);
static void conn_connect(tern__redis_conn *c);

/* hiredis' messages are strerror()s and sentences ("Connection refused"); ours read
 * "redis 127.0.0.1:6379: connection refused". */
static void lower_copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src && *src ? src : "unknown error");
    if (isupper((unsigned char)dst[0]) && islower((unsigned char)dst[1]))
        dst[0] = (char)tolower((unsigned char)dst[0]);
}

/* Why hiredis dropped an established context (its own error, if it has one). */
static void lost_reason(const redisAsyncContext *ac, char *buf, size_t n)
{
    if (ac->c.err) {
        char why[TERN__REDIS_ERRLEN - 24];
        lower_copy(why, sizeof why, ac->c.errstr);
        snprintf(buf, n, "connection lost: %.100s", why);
    } else {
        snprintf(buf, n, "connection closed");
    }
}

static uint64_t next_random(tern_redis_pool *p)
{
    /* xorshift64: jitter only needs to keep the workers' retries apart */
    uint64_t x = p->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return p->rng = x;
}

static void schedule_retry(tern__redis_conn *c)
{
    tern_redis_pool *p = c->pool;
    if (p->closing)
        return;
    unsigned shift = c->attempts < 8 ? c->attempts : 8;
    uint64_t delay = (uint64_t)BACKOFF_MIN_MS << shift;
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    /* full delay at most, half at least: a fleet of workers spreads out */
    delay = delay / 2 + next_random(p) % (delay / 2 + 1);
    c->attempts++;
    uv_timer_start(&c->timer, on_timer, delay, 0);
}

/* Takes c down: records why, lets go of its context (freeing it when free_ac; when
 * hiredis is already freeing it, it must not be freed again) and plans a retry. */
__attribute__((format(printf, 3, 4))) static void conn_down(tern__redis_conn *c, bool free_ac,
                                                            const char *fmt, ...)
{
    tern_redis_pool *p = c->pool;
    char why[TERN__REDIS_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    bool was_failed = c->failed;
    snprintf(c->err, sizeof c->err, "%s: %.130s", p->where, why);
    memcpy(p->last_err, c->err, sizeof c->err);
    c->failed = true;
    p->errors++;
    if (!was_failed)
        tern_log_warn("%s; reconnecting in the background", c->err);
    redisAsyncContext *ac = c->ac;
    c->ac = NULL;
    c->state = TERN__REDIS_DOWN;
    c->handshake_left = 0;
    uv_timer_stop(&c->timer);
    if (ac && free_ac)
        redisAsyncFree(ac);
    schedule_retry(c);
}

static void conn_up(tern__redis_conn *c)
{
    tern_redis_pool *p = c->pool;
    if (c->failed)
        tern_log_info("%s: connection restored", p->where);
    if (c->ever_up)
        p->reconnects++;
    c->ever_up = true;
    c->state = TERN__REDIS_UP;
    c->failed = false;
    c->err[0] = '\0';
    c->attempts = 0;
    c->progress_at = uv_now(p->loop);
    uv_timer_stop(&c->timer);
    if (c->abandoned) /* callers gave up while we connected: their replies still come */
        tern__redis_conn_abandoned(c);
}

static void on_handshake(redisAsyncContext *ac, void *reply, void *priv)
{
    tern__redis_conn *c = priv;
    redisReply *r = reply;
    if (!r || c->ac != ac)
        return; /* the context is going: whoever dropped it recorded why */
    if (r->type == REDIS_REPLY_ERROR) {
        /* inside a reply callback: hiredis frees the context once we return */
        conn_down(c, true, "handshake refused: %.*s", (int)r->len, r->str);
        return;
    }
    if (--c->handshake_left == 0)
        conn_up(c);
}

/* AUTH and SELECT go first on every connection; hiredis sends them as soon as the
 * TCP connect completes, ahead of anything queued later. */
static int send_handshake(tern__redis_conn *c, redisAsyncContext *ac)
{
    const tern__redis_url *u = &c->pool->url;
    unsigned n = 0;
    if (u->password[0]) {
        const char *with_user[] = {"AUTH", u->user, u->password};
        const char *plain[] = {"AUTH", u->password};
        int rc = u->user[0] ? redisAsyncCommandArgv(ac, on_handshake, c, 3, with_user, NULL)
                            : redisAsyncCommandArgv(ac, on_handshake, c, 2, plain, NULL);
        if (rc != REDIS_OK)
            return -1;
        n++;
    }
    if (u->db) {
        if (redisAsyncCommand(ac, on_handshake, c, "SELECT %d", u->db) != REDIS_OK)
            return -1;
        n++;
    }
    if (!n) { /* nothing to set up: still prove the server answers before using it */
        if (redisAsyncCommand(ac, on_handshake, c, "PING") != REDIS_OK)
            return -1;
        n++;
    }
    c->handshake_left = n;
    return 0;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    tern__redis_conn *c = ac->data;
    if (c->ac != ac || status == REDIS_OK)
        return; /* up means the handshake answered, not just TCP */
    /* hiredis frees ac as soon as we return (its pending callbacks get NULL replies
     * and read c->err): only let go of it here. */
    char why[TERN__REDIS_ERRLEN];
    lower_copy(why, sizeof why, ac->c.errstr);
    conn_down(c, false, "%s", why);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    tern__redis_conn *c = ac->data;
    if (c->ac != ac)
        return; /* we freed it ourselves and have already recorded why */
    char why[TERN__REDIS_ERRLEN];
    lost_reason(ac, why, sizeof why);
    conn_down(c, false, "%s", why); /* hiredis frees ac after we return */
}

static void conn_connect(tern__redis_conn *c)
{
    tern_redis_pool *p = c->pool;
    redisAsyncContext *ac = redisAsyncConnect(p->url.host, p->url.port);
    if (!ac) {
        conn_down(c, false, "out of memory for a connection");
        return;
    }
    if (ac->c.err) { /* failed before any callback could be set: still ours to free */
        char why[TERN__REDIS_ERRLEN];
        lower_copy(why, sizeof why, ac->c.errstr);
        redisAsyncFree(ac);
        conn_down(c, false, "%s", why);
        return;
    }
    int rc = tern__redis_uv_attach(ac, p->loop);
    if (rc < 0) {
        redisAsyncFree(ac);
        conn_down(c, false, "cannot watch the socket: %s", uv_strerror(rc));
        return;
    }
    ac->data = c;
    c->ac = ac;
    c->state = TERN__REDIS_CONNECTING;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (send_handshake(c, ac) < 0) {
        conn_down(c, true, "cannot queue the handshake (out of memory)");
        return;
    }
    uv_timer_start(&c->timer, on_timer, (uint64_t)p->connect_timeout_ms, 0);
}

/* Up: the watchdog. A caller timed out on this connection; replies come in order, so
 * while its reply is missing nothing behind it can arrive either. */
static void watchdog(tern__redis_conn *c)
{
    tern_redis_pool *p = c->pool;
    if (!c->abandoned || !c->inflight)
        return;
    uint64_t quiet = uv_now(p->loop) - c->progress_at;
    if (quiet >= (uint64_t)p->timeout_ms)
        conn_down(c, true, "no reply for %llu ms, connection replaced", (unsigned long long)quiet);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)p->timeout_ms - quiet, 0);
}

static void on_timer(uv_timer_t *h)
{
    tern__redis_conn *c = h->data;
    if (c->pool->closing)
        return;
    switch (c->state) {
    case TERN__REDIS_DOWN:
        conn_connect(c);
        break;
    case TERN__REDIS_CONNECTING:
        conn_down(c, true, "no answer within %lld ms (connect timeout)",
                  (long long)c->pool->connect_timeout_ms);
        break;
    case TERN__REDIS_UP:
        watchdog(c);
        break;
    }
}

void tern__redis_conn_abandoned(tern__redis_conn *c)
{
    /* while connecting, the connect timeout already bounds the wait */
    if (c->state == TERN__REDIS_UP && !uv_is_active((uv_handle_t *)&c->timer))
        uv_timer_start(&c->timer, on_timer, (uint64_t)c->pool->timeout_ms, 0);
}

void tern__redis_conn_why(const tern__redis_conn *c, const redisAsyncContext *ac, char *buf,
                          size_t n)
{
    if (c->ac != ac && c->err[0]) {
        snprintf(buf, n, "%s", c->err);
    } else {
        char why[TERN__REDIS_ERRLEN - 24];
        lost_reason(ac, why, sizeof why);
        snprintf(buf, n, "%s: %.130s", c->pool->where, why);
    }
}

void tern__redis_conn_init(tern_redis_pool *p, tern__redis_conn *c)
{
    c->pool = p;
    uv_timer_init(p->loop, &c->timer);
    /* background work must not keep a finished loop alive: a caller waiting on a
     * reply keeps it alive through its own wait timer */
    uv_unref((uv_handle_t *)&c->timer);
    c->timer.data = c;
    p->open_timers++;
    conn_connect(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    tern__redis_conn *c = h->data;
    tern_redis_pool *p = c->pool;
    if (--p->open_timers == 0)
        free(p);
}

void tern__redis_conn_close(tern__redis_conn *c)
{
    snprintf(c->err, sizeof c->err, "%s: pool closed", c->pool->where);
    redisAsyncContext *ac = c->ac;
    c->ac = NULL;
    c->state = TERN__REDIS_DOWN;
    if (ac)
        redisAsyncFree(ac); /* outside any hiredis callback: the NULL replies run now */
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}
