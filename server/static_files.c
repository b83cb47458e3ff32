/* server/static_files.c - tern_static: h2o's own file handler on a path of its own,
 * which brings ETag, Last-Modified/If-Modified-Since, Range and MIME types. Paths
 * arrive normalised by h2o (percent-decoding and "." / ".." segments resolved before
 * matching), so a request cannot climb out of the directory. Directory listings and
 * index files are off (a directory answers 404); whatever the file handler declines
 * (a missing file) gets tern's 404 JSON from a handler placed after it. The files are
 * read on the loop thread, as h2o does: fine for assets, not for huge trees on slow disks. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tern/error.h"
#include "cors.h"
#include "error_pages.h"
#include "middleware.h"
#include "response.h"
#include "static_files.h"

int tern_static(tern_app *app, const char *prefix, const char *dir)
{
    tern_mw *mw = tern__mw(app);
    if (!mw)
        return TERN_ENOMEM;
    char real[PATH_MAX];
    struct stat sb;
    const char *why = NULL;
    size_t plen = prefix ? strlen(prefix) : 0;
    if (!prefix || prefix[0] != '/' || plen < 2 || prefix[plen - 1] == '/' || strchr(prefix, '{'))
        why = "the prefix must look like \"/static\" (no trailing slash, no parameters)";
    else if (!dir || !realpath(dir, real) || stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode))
        why = "the directory does not exist";
    if (why) {
        if (!mw->error) {
            size_t n = strlen(why) + (prefix ? strlen(prefix) : 6) + (dir ? strlen(dir) : 6) + 32;
            if ((mw->error = malloc(n)))
                snprintf(mw->error, n, "static %s -> %s: %s", prefix ? prefix : "(null)",
                         dir ? dir : "(null)", why);
        }
        return -EINVAL;
    }
    tern_static_mount *m = realloc(mw->statics, (mw->nstatics + 1) * sizeof(*m));
    if (!m)
        return TERN_ENOMEM;
    mw->statics = m;
    m = &mw->statics[mw->nstatics];
    m->prefix = strdup(prefix);
    m->dir = strdup(real);
    if (!m->prefix || !m->dir) {
        free(m->prefix);
        free(m->dir);
        return TERN_ENOMEM;
    }
    mw->nstatics++;
    return 0;
}

static int not_found(h2o_handler_t *self, h2o_req_t *hreq)
{
    (void)self;
    tern__send_detail(hreq, 404, "Not Found");
    return 0;
}

/* A directory is not a resource here (as with Starlette's StaticFiles): 404, where h2o
 * would say 403 "directory listing is off". A path ending in '/' can only be one. */
static int directory_not_found(h2o_handler_t *self, h2o_req_t *hreq)
{
    h2o_iovec_t p = hreq->path_normalized;
    return p.len && p.base[p.len - 1] == '/' ? not_found(self, hreq) : -1;
}

void tern__static_register(tern_app *app)
{
    static const char *no_index[] = {NULL};
    tern_mw *mw = app->mw;
    for (size_t i = 0; mw && i < mw->nstatics; i++) {
        h2o_pathconf_t *pc = h2o_config_register_path(app->hostconf, mw->statics[i].prefix, 0);
        h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = directory_not_found;
        h2o_file_register(pc, mw->statics[i].dir, no_index, NULL, 0);
        h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = not_found;
        tern__install_error_filter(pc, app->cfg.body_limit);
        tern__cors_install(&mw->cors, pc);
    }
}
