/* server/response.h - putting responses on the wire through h2o (internal). Every
 * body sent here lives in h2o's request pool, so h2o needs no copy. */
#ifndef TERN_RESPONSE_H
#define TERN_RESPONSE_H

#include <h2o.h>
#include <jansson.h>

/** The reason phrase of a status ("Not Found"); "Unknown" for unlisted codes. */
const char *tern__reason(int status);

/** Sends status with body (already in req->pool or static) and content type. */
void tern__send(h2o_req_t *req, int status, const char *ctype, size_t ctype_len, const char *body,
                size_t len);

/** True when tern itself started req's response (h2o's own error pages are not). */
int tern__sent_by_tern(const h2o_req_t *req);

/** Serializes j into req->pool and sends it as application/json. Returns the body size. */
size_t tern__send_json(h2o_req_t *req, int status, const json_t *j);

/** Sends {"detail": detail} with status. Returns the body size. */
size_t tern__send_detail(h2o_req_t *req, int status, const char *detail);

/** Frees this thread's serialization scratch (a worker thread calls it on exit). */
void tern__response_thread_cleanup(void);

/** The JSON body of {"detail": detail} (new reference). */
json_t *tern__detail(const char *detail);

#endif
