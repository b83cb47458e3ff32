/* tests/support/raw.h - raw bytes on a socket for hostile-client tests: send exactly
 * what a misbehaving client would, read back whatever the server says, and look at
 * the server process (alive, RSS) afterwards. */
#ifndef TERN_TEST_RAW_H
#define TERN_TEST_RAW_H

#include <stddef.h>

#include "service.h"

/** What came back on a raw connection. */
typedef struct raw_resp {
    char *data; /**< NUL-terminated (may hold other NULs: use len) */
    size_t len;
    int status;       /**< from "HTTP/1.x NNN", 0 when no HTTP status line came */
    int closed;       /**< the server closed (EOF or reset) before our timeout */
    const char *body; /**< after the header block, or NULL */
} raw_resp;

/** Writes all of buf (a reset while writing is not an error: the server may answer
 *  and close before reading everything). Returns the bytes written. */
size_t raw_write_all(int fd, const void *buf, size_t len);

/** Reads on fd until the server closes, timeout_s passes, or one whole HTTP/1.1
 *  response (by Content-Length) has arrived. */
void raw_read(int fd, double timeout_s, raw_resp *r);

/** Dials the server, sends len bytes of req, and reads the answer (raw_read). 0, or
 *  -1 when the connection could not be made. */
int raw_exchange(const svc *s, const void *req, size_t len, double timeout_s, raw_resp *r);

/** Frees a raw response. */
void raw_resp_free(raw_resp *r);

/** The server's resident set size in KiB (/proc/PID/status), -1 if unknown. */
long svc_rss_kb(const svc *s);

/** True while the server process exists and has not exited. */
int svc_alive(const svc *s);

/** Raises this process's open-file soft limit to at least want (up to the hard
 *  limit); returns the limit now in force. */
long raise_nofile(long want);

/** GET path answers 200 within a second: the server is alive and serving. */
int svc_serves(const svc *s, const char *path);

#endif
