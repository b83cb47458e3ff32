/* tern/error.h - error codes and the per-thread error message. */
#ifndef TERN_ERROR_H
#define TERN_ERROR_H

#include <errno.h>

/* Calls that can fail return a negative errno-style code (or NULL) and say why
 * through tern_errmsg(), like libuv. These are the codes awaits return. */

/** The request deadline or a wait's own timeout passed. */
#define TERN_ETIMEDOUT (-ETIMEDOUT)
/** The client went away or the task was cancelled; stop and return. */
#define TERN_ECANCELED (-ECANCELED)
/** Out of memory, coroutines or stacks. */
#define TERN_ENOMEM (-ENOMEM)
/** A backing service (pool) cannot serve now; handlers answer 503. */
#define TERN_EUNAVAILABLE (-EAGAIN)

/** The message of the last failure on this thread ("" when none). */
const char *tern_errmsg(void);

/** Sets this thread's error message (printf-style); for libraries built on tern. */
void tern_set_errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
