/* server/errmsg.c - the per-thread "why did that fail" message behind tern_errmsg(). */
#include <stdarg.h>
#include <stdio.h>

#include "tern/error.h"

/* Per thread, because every worker is a thread and failures are reported on the
 * thread that saw them; 256 bytes keeps one line readable. */
static __thread char errmsg_buf[256];

const char *tern_errmsg(void)
{
    return errmsg_buf;
}

void tern_set_errmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg_buf, sizeof errmsg_buf, fmt, ap);
    va_end(ap);
}
