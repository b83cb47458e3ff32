/* server/error_pages.c - h2o (2.2.5) answers some errors itself, before any handler runs:
 * 413 when a body exceeds max_request_entity_size, 400 for broken chunked encoding or
 * content-length. It sends them as text/plain through its own inline generator. This
 * output filter recognises those (text/plain, 4xx/5xx, not sent by tern) and replaces
 * body and content type with tern's JSON detail. */
#include <stdio.h>
#include <string.h>

#include "error_pages.h"
#include "json_out.h"
#include "response.h"
#include "router.h"
#include "worker.h"

typedef struct error_filter {
    h2o_filter_t super;
    size_t body_limit;
} error_filter;

typedef struct json_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
} json_ostream;

static void on_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t cnt,
                    h2o_send_state_t state)
{
    (void)bufs;
    (void)cnt;
    json_ostream *os = (json_ostream *)self;
    /* h2o's body arrives in one final send; ours replaces it */
    if (h2o_send_state_is_in_progress(state)) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    h2o_ostream_send_next(self, req, &os->body, 1, state);
}

static int is_h2o_text_error(h2o_req_t *req)
{
    if (req->res.status < 400)
        return 0;
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->res.headers.entries[i].value;
    return v.len >= 10 && memcmp(v.base, "text/plain", 10) == 0 && req->_generator != NULL &&
           req->_generator->proceed == NULL && req->_generator->stop == NULL &&
           !tern__sent_by_tern(req);
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    error_filter *f = (error_filter *)self;
    if (is_h2o_text_error(req)) {
        char detail[96];
        if (req->res.status == 413)
            snprintf(detail, sizeof detail, "Request body too large (limit %zu bytes)",
                     f->body_limit);
        else
            snprintf(detail, sizeof detail, "%s", tern__reason(req->res.status));
        json_t *o = tern__detail(detail);
        tern_buf out = {0};
        tern_json_dump(&out, o);
        json_decref(o);
        size_t n = out.len;
        char *buf = h2o_mem_alloc_pool(&req->pool, n);
        memcpy(buf, out.p, n);
        tern_buf_free(&out);
        ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
        req->res.headers.entries[i].value = h2o_iovec_init(H2O_STRLIT("application/json"));
        req->res.content_length = n;
        /* never seen by on_req: name and count it here, like every other answer */
        tern_worker *w = (tern_worker *)((char *)req->conn->ctx - offsetof(tern_worker, ctx));
        char id[TERN_REQ_ID_MAX + 1];
        tern__req_id_assign(&w->req_ids, req, id);
        int m = tern_method_parse(req->method.base, req->method.len);
        tern__metrics_end(&w->metrics, NULL, m < 0 ? TERN_METHOD_COUNT : m, req->res.status,
                          uv_hrtime(), 0);
        json_ostream *os = (json_ostream *)h2o_add_ostream(req, sizeof(*os), slot);
        os->super.do_send = on_send;
        os->body = h2o_iovec_init(buf, n);
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void tern__install_error_filter(h2o_pathconf_t *pathconf, size_t body_limit)
{
    error_filter *f = (error_filter *)h2o_create_filter(pathconf, sizeof(*f));
    f->super.on_setup_ostream = on_setup_ostream;
    f->body_limit = body_limit;
}
