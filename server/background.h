/* server/background.h - background tasks queued by a request, run after its answer,
 * each on its own coroutine and scope, counted by the worker so a drain waits for them
 * (internal). */
#ifndef TERN_BACKGROUND_H
#define TERN_BACKGROUND_H

struct tern_req;
struct tern_worker;

/** Starts the tasks req queued with tern_background (main stack, after its answer). */
void tern__background_start(struct tern_req *req);

/** Cancels every running background task of the worker (end of a drain). */
void tern__background_cancel_all(struct tern_worker *w);

#endif
