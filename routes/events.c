/* routes/events.c - streamed answers: GET /stream sends counted chunks as they are
 * made, GET /sse ticks Server-Sent Events, each waiting without blocking the loop. */
#include <stdio.h>

#include "routes.h"

static json_t *stream_handler(tern_req *req)
{
    int64_t n = tern_param_int(req, "n");
    int rc = tern_stream_begin(req, 200, "text/plain; charset=utf-8");
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        char line[32];
        int len = snprintf(line, sizeof line, "chunk %lld\n", (long long)i);
        rc = tern_stream_write(req, line, (size_t)len);
        if (rc == 0)
            rc = tern_sleep(10);
    }
    if (rc == 0)
        rc = tern_stream_end(req);
    return rc == 0 ? TERN_RAW : NULL; /* NULL cuts an unfinished stream off */
}

static json_t *sse_handler(tern_req *req)
{
    int64_t n = tern_param_int(req, "n"), every = tern_param_int(req, "ms");
    tern_stream_no_deadline(req); /* a ticker may outlive request_timeout_ms */
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        char data[64];
        snprintf(data, sizeof data, "{\"tick\":%lld}", (long long)i);
        rc = tern_sse_send(req, "tick", data);
        if (rc == 0 && i + 1 < n)
            rc = tern_sleep((uint64_t)every);
    }
    if (rc == 0)
        rc = tern_stream_end(req);
    return rc == 0 ? TERN_RAW : NULL;
}

static const tern_param stream_params[] = {
    TERN_QUERY_INT("n", TERN_DEFAULT("5"), TERN_GE(0), TERN_LE(10000)),
    {0},
};

static const tern_param sse_params[] = {
    TERN_QUERY_INT("n", TERN_DEFAULT("5"), TERN_GE(1), TERN_LE(100000)),
    TERN_QUERY_INT("ms", TERN_DEFAULT("1000"), TERN_GE(0), TERN_LE(60000)),
    {0},
};

void routes_events(tern_app *app)
{
    tern_get(app, "/stream", stream_handler, .params = stream_params,
             .summary = "n chunks, streamed as they are made");
    tern_get(app, "/sse", sse_handler, .params = sse_params,
             .summary = "n Server-Sent Events, one every ms milliseconds");
}
