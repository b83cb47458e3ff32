/* pool/redis_uv.c - the hiredis <-> libuv adapter: one uv_poll_t per context,
 * started with the events hiredis asks for, closed (and freed) when hiredis cleans
 * up. See redis_uv.h for why it is not the packaged adapter. */
#include <stdlib.h>

#include "redis_uv.h"

typedef struct redis_uv {
    uv_poll_t poll;
    redisAsyncContext *ac; /* NULL once hiredis cleaned up: the context is gone or going */
    int events;            /* what hiredis wants watched (UV_READABLE | UV_WRITABLE) */
} redis_uv;

static void on_poll(uv_poll_t *h, int status, int events)
{
    redis_uv *w = h->data;
    /* libuv turns POLLERR into status < 0 with no events and stops the poll. The
     * socket error (a refused connect, a reset) is only learnt by hiredis when it
     * reads or checks the socket, so hand it the events it was waiting for. */
    if (status < 0)
        events = w->events;
    /* Either call may free the context (a failed connect, a lost connection): our
     * cleanup hook then clears w->ac, while w itself lives until its close callback. */
    if (w->ac && (events & UV_READABLE))
        redisAsyncHandleRead(w->ac);
    if (w->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(w->ac);
    if (status < 0 && w->ac && w->events)
        uv_poll_start(&w->poll, w->events, on_poll); /* libuv stopped it for us */
}

static void watch(redis_uv *w, int events)
{
    if (!w->ac || events == w->events)
        return;
    w->events = events;
    if (events)
        uv_poll_start(&w->poll, events, on_poll);
    else
        uv_poll_stop(&w->poll);
}

static void add_read(void *data)
{
    redis_uv *w = data;
    watch(w, w->events | UV_READABLE);
}

static void del_read(void *data)
{
    redis_uv *w = data;
    watch(w, w->events & ~UV_READABLE);
}

static void add_write(void *data)
{
    redis_uv *w = data;
    watch(w, w->events | UV_WRITABLE);
}

static void del_write(void *data)
{
    redis_uv *w = data;
    watch(w, w->events & ~UV_WRITABLE);
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

/* hiredis calls this while freeing the context; it may call it more than once. */
static void cleanup(void *data)
{
    redis_uv *w = data;
    if (!w->ac)
        return;
    w->ac = NULL;
    uv_close((uv_handle_t *)&w->poll, on_closed);
}

int tern__redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    if (ac->ev.data)
        return UV_EEXIST;
    redis_uv *w = calloc(1, sizeof(*w));
    if (!w)
        return UV_ENOMEM;
    int rc = uv_poll_init_socket(loop, &w->poll, ac->c.fd);
    if (rc < 0) {
        free(w);
        return rc;
    }
    uv_unref((uv_handle_t *)&w->poll);
    w->poll.data = w;
    w->ac = ac;
    ac->ev.data = w;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return 0;
}
