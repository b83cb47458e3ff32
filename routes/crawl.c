/* routes/crawl.c - the tutorial's crawler: fetch the URLs listed in the config
 * (crawl.urls; never URLs taken from the request) concurrently, one task each, and
 * report status and size. */
#include <stdlib.h>
#include <string.h>

#include "routes.h"

#define MAX_URLS 32

typedef struct fetch_job {
    tern_req *req;
    const char *url;
    tern_http_response resp;
    int rc;
    const char *error; /* tern_errmsg is per thread: keep each task's own */
} fetch_job;

static void *fetch_one(void *arg)
{
    fetch_job *job = arg;
    tern_http_opts opts = {.timeout_ms = 5000};
    job->rc = tern_http_fetch(tern_http_default(), job->url, &opts, &job->resp);
    if (job->rc < 0)
        job->error = tern_strdup(job->req, tern_errmsg());
    return NULL;
}

static json_t *crawl(tern_req *req)
{
    const char *list = tern_req_config(req)->crawl_urls;
    if (!list || !*list)
        return json_array();
    char *copy = tern_strdup(req, list);
    fetch_job *jobs = tern_alloc(req, MAX_URLS * sizeof(*jobs));
    tern_task *tasks[MAX_URLS];
    size_t n = 0;
    for (char *save = NULL, *url = strtok_r(copy, ", ", &save); url && n < MAX_URLS;
         url = strtok_r(NULL, ", ", &save)) {
        jobs[n] = (fetch_job){.req = req, .url = url};
        tasks[n] = tern_spawn(fetch_one, &jobs[n]);
        if (!tasks[n])
            return tern_error(req, 503, "Server busy: no coroutine available");
        n++;
    }
    int rc = tern_gather(tasks, n, NULL);
    if (rc < 0)
        return tern_error_from_code(req, rc);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_pack("{s:s}", "url", jobs[i].url);
        if (jobs[i].rc == 0) {
            json_object_set_new(item, "status", json_integer(jobs[i].resp.status));
            json_object_set_new(item, "bytes", json_integer((json_int_t)jobs[i].resp.body_len));
        } else {
            json_object_set_new(item, "status", json_null());
            json_object_set_new(item, "error", json_string(jobs[i].error ? jobs[i].error : ""));
        }
        json_array_append_new(out, item);
    }
    return out;
}

void routes_crawl(tern_app *app)
{
    static const char *const tags[] = {"tutorial", NULL};
    tern_get(app, "/crawl", crawl, .summary = "Fetch the configured URLs concurrently", .tags = tags);
}
