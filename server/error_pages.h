/* server/error_pages.h - JSON bodies for the errors h2o answers by itself (413 for a body
 * over limits.body_bytes, 400 for broken framing), so every error a client sees
 * is {"detail": ...} like the rest of tern. */
#ifndef TERN_ERROR_PAGES_H
#define TERN_ERROR_PAGES_H

#include <h2o.h>

/** Installs the rewriting filter on pathconf (call for "/" and the host's fallback path). */
void tern__install_error_filter(h2o_pathconf_t *pathconf, size_t body_limit);

#endif
