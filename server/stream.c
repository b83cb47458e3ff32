/* server/stream.c - streamed answers and Server-Sent Events on an h2o generator.
 *
 * h2o allows one send in flight per response: after h2o_send it calls the generator's
 * proceed when it is done with the buffers. A write therefore waits (yields) until the
 * previous chunk's proceed; proceed and stop only record and wake the writer through
 * the scheduler, never switching stacks inside h2o. The stream record lives in h2o's
 * request pool, exactly as long as h2o may call it; tern touches it only while the
 * request's guard says h2o still holds the request (req->h2o). One chunk buffer is
 * reused for the whole stream, so a long event stream does not grow the pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/error.h"
#include "tern/stream.h"
#include "middleware.h"
#include "request.h"
#include "response.h"
#include "scheduler.h"
#include "stream.h"
#include "worker.h"

struct tern_stream {
    h2o_generator_t gen; /* first: h2o hands it back to proceed/stop */
    tern_waiter waiter;  /* the write waiting for proceed */
    bool attached;       /* the request still waits on this stream */
    bool inflight;       /* a send was made and its proceed has not come */
    bool stopped;        /* h2o gave up on the response (client gone) */
    bool has_pending;    /* the last send could not be made yet: proceed makes it */
    h2o_send_state_t pending;
    char *buf; /* the chunk in flight (malloc'd, reused) */
    size_t cap;
};

static void on_proceed(h2o_generator_t *g, h2o_req_t *hreq)
{
    tern_stream *st = (tern_stream *)g;
    st->inflight = false;
    if (st->has_pending) { /* the request ended while a chunk was in flight */
        st->has_pending = false;
        h2o_send(hreq, NULL, 0, st->pending);
        return;
    }
    if (st->attached)
        tern__wake(st->waiter, 0);
}

static void on_stop(h2o_generator_t *g, h2o_req_t *hreq)
{
    (void)hreq;
    tern_stream *st = (tern_stream *)g;
    st->stopped = true;
    st->inflight = false;
    if (st->attached)
        tern__wake(st->waiter, TERN_ECANCELED);
}

static void on_stream_dispose(void *p)
{
    free(((tern_stream *)p)->buf);
}

bool tern__stream_started(const tern_req *req)
{
    return req->mw && req->mw->stream;
}

/* Whether req can still send: the client is there and h2o holds the request. */
static int usable(tern_req *req)
{
    if (!req->mw || !req->mw->stream || req->mw->stream_ended)
        return -EINVAL; /* never begun, or ended (h2o may have freed the stream) */
    if (!req->h2o || req->peer_closed || req->mw->stream->stopped)
        return TERN_ECANCELED;
    return 0;
}

/* Waits until the previous chunk went out. */
static int wait_sent(tern_req *req)
{
    int rc = tern__wait_check(); /* the deadline and cancellation hold even with no wait */
    if (rc < 0)
        return rc;
    while ((rc = usable(req)) == 0 && req->mw->stream->inflight) {
        req->mw->stream->waiter = tern__waiter();
        rc = tern__wait(-1);
        if (rc < 0)
            return usable(req) < 0 ? usable(req) : rc;
    }
    return rc;
}

static void detach(tern_req *req, h2o_send_state_t state);

int tern_stream_begin(tern_req *req, int status, const char *content_type)
{
    tern_req_mw *m = tern__req_mw(req);
    if (!m)
        return TERN_ENOMEM;
    if (m->stream)
        return -EALREADY;
    if (!req->h2o || req->peer_closed)
        return TERN_ECANCELED;
    if (status < 200 || status > 599 || !content_type)
        return -EINVAL;
    h2o_req_t *hreq = req->h2o;
    tern_stream *st = h2o_mem_alloc_shared(&hreq->pool, sizeof(*st), on_stream_dispose);
    memset(st, 0, sizeof(*st));
    st->gen.proceed = on_proceed;
    st->gen.stop = on_stop;
    st->attached = true;
    m->stream = st;
    m->stream_status = status;
    json_t *ignored = tern__mw_finish(req, status, NULL); /* after functions add headers */
    json_decref(ignored);
    tern__req_apply_headers(req, hreq);
    hreq->res.status = status;
    hreq->res.reason = tern__reason(status);
    h2o_add_header(&hreq->pool, &hreq->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   h2o_strdup(&hreq->pool, content_type, SIZE_MAX).base, strlen(content_type));
    hreq->res.content_length = SIZE_MAX; /* chunked on HTTP/1.1 */
    h2o_start_response(hreq, &st->gen);
    if (req->method == TERN_HEAD) { /* h2o would send the body: the handler's writes do nothing */
        m->stream_head = true;
        detach(req, H2O_SEND_STATE_FINAL);
    }
    return 0;
}

int tern_stream_write(tern_req *req, const void *data, size_t len)
{
    if (req->mw && req->mw->stream_head)
        return 0;
    int rc = wait_sent(req);
    if (rc < 0)
        return rc;
    if (!len)
        return 0;
    tern_stream *st = req->mw->stream;
    if (len > st->cap) {
        char *b = realloc(st->buf, len);
        if (!b)
            return TERN_ENOMEM;
        st->buf = b;
        st->cap = len;
    }
    memcpy(st->buf, data, len);
    h2o_iovec_t v = h2o_iovec_init(st->buf, len);
    st->inflight = true;
    req->mw->stream_bytes += len;
    h2o_send(req->h2o, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
    return 0;
}

/* Hands h2o the request for good: the last send now, or from proceed when a chunk is
 * still in flight. Nothing of the stream is touched afterwards (h2o may free it). */
static void detach(tern_req *req, h2o_send_state_t state)
{
    h2o_req_t *hreq = req->h2o;
    tern_stream *st = req->mw->stream;
    req->h2o = NULL;
    req->guard->req = NULL; /* disarm before h2o_send, which may free the pool at once */
    req->mw->stream_ended = true;
    st->attached = false;
    if (st->stopped)
        return; /* h2o already ended the response */
    if (st->inflight) {
        st->has_pending = true;
        st->pending = state;
        return;
    }
    h2o_send(hreq, NULL, 0, state);
}

int tern_stream_end(tern_req *req)
{
    if (req->mw && req->mw->stream_head)
        return 0;
    int rc = wait_sent(req);
    if (rc < 0)
        return rc;
    detach(req, H2O_SEND_STATE_FINAL);
    return 0;
}

int tern__stream_finish(tern_req *req, bool failed, size_t *bytes)
{
    tern_req_mw *m = req->mw;
    *bytes = m->stream_bytes;
    if (m->stream_ended)
        return m->stream_status;
    if (!req->h2o)
        return 499; /* the client left: h2o freed the request and the stream with it */
    bool cut = failed || req->peer_closed;
    detach(req, cut ? H2O_SEND_STATE_ERROR : H2O_SEND_STATE_FINAL);
    return req->peer_closed ? 499 : m->stream_status;
}

void tern_stream_no_deadline(tern_req *req)
{
    req->scope.deadline = 0; /* read by every later wait of the request's tasks */
}

/* ---- Server-Sent Events ------------------------------------------------------------- */

static int sse_begin(tern_req *req)
{
    if (req->mw && req->mw->stream)
        return 0;
    int rc = tern_set_header(req, "cache-control", "no-cache");
    if (rc == 0) /* proxies such as nginx would otherwise hold events back */
        rc = tern_set_header(req, "x-accel-buffering", "no");
    return rc < 0 ? rc : tern_stream_begin(req, 200, "text/event-stream");
}

int tern_sse_send(tern_req *req, const char *event, const char *data)
{
    int rc = sse_begin(req);
    if (rc < 0)
        return rc;
    const char *d = data ? data : "";
    size_t dl = strlen(d), el = event ? strlen(event) : 0, lines = 1;
    for (size_t i = 0; i < dl; i++)
        lines += d[i] == '\n' || (d[i] == '\r' && d[i + 1] != '\n');
    if (event && strpbrk(event, "\r\n"))
        return -EINVAL; /* a line break would start a field of its own */
    /* "event: E\n" + "data: L\n" per line + "\n" */
    char *out = malloc(el + 8 + dl + lines * 7 + 2), *w = out; /* not the arena: streams are long */
    if (!out)
        return TERN_ENOMEM;
    if (event)
        w += sprintf(w, "event: %s\n", event);
    const char *p = d, *end = d + dl;
    for (;;) {
        const char *eol = p;
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        memcpy(w, "data: ", 6);
        w += 6;
        memcpy(w, p, (size_t)(eol - p));
        w += eol - p;
        *w++ = '\n';
        if (eol == end)
            break;
        p = eol + (eol[0] == '\r' && eol + 1 < end && eol[1] == '\n' ? 2 : 1);
    }
    *w++ = '\n';
    rc = tern_stream_write(req, out, (size_t)(w - out));
    free(out);
    return rc;
}
