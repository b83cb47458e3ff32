/* server/request_id.c - picking, echoing and exposing request ids. */
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "request.h"
#include "request_id.h"

static const char header_name[] = "x-request-id"; /* lower case: HTTP/2 wants it so */

void tern__req_id_gen_init(tern_req_id_gen *g)
{
    g->seq = 0;
    if (getrandom(&g->base, sizeof g->base, GRND_NONBLOCK) != (ssize_t)sizeof g->base) {
        /* no entropy yet (early boot): ids stay unique within the process anyway */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        g->base = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid() ^
                  (uint64_t)(uintptr_t)g;
    }
}

int tern__req_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > TERN_REQ_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* splitmix64's finalizer: a bijection, so base + counter never repeats within a
 * worker, and ids from workers and replicas with different bases look unrelated. */
static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The header's name, shared by every response (h2o reads it, never frees it). */
static h2o_iovec_t header_iov = {(char *)header_name, sizeof header_name - 1};

size_t tern__req_id_assign(tern_req_id_gen *g, h2o_req_t *hreq, char out[TERN_REQ_ID_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t len;
    ssize_t i = h2o_find_header_by_str(&hreq->headers, header_name, sizeof header_name - 1, -1);
    if (i >= 0 && tern__req_id_valid(hreq->headers.entries[i].value.base,
                                     hreq->headers.entries[i].value.len)) {
        len = hreq->headers.entries[i].value.len;
        memcpy(out, hreq->headers.entries[i].value.base, len);
    } else {
        uint64_t v = mix(g->base + ++g->seq);
        for (len = 0; len < 16; len++, v >>= 4)
            out[len] = hex[v & 15];
    }
    out[len] = '\0';
    /* appended directly: h2o_add_header_by_str would allocate a copy of the name for
     * every response; the value lives in the request's pool (sent after this returns) */
    char *v = h2o_mem_alloc_pool(&hreq->pool, len);
    memcpy(v, out, len);
    h2o_vector_reserve(&hreq->pool, &hreq->res.headers, hreq->res.headers.size + 1);
    hreq->res.headers.entries[hreq->res.headers.size++] =
        (h2o_header_t){.name = &header_iov, .orig_name = NULL, .value = h2o_iovec_init(v, len)};
    return len;
}

const char *tern_req_id(const tern_req *req)
{
    return req->id;
}

const char *tern__req_id_current(void)
{
    tern_req *req = tern_current_req();
    return req ? req->id : NULL;
}
