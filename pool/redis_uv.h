/* pool/redis_uv.h - drives a hiredis async context from a libuv loop.
 *
 * Our own adapter rather than hiredis' adapters/libuv.h: that one returns from its
 * poll callback when libuv reports an error, and libuv reports a refused or reset
 * connect exactly that way (POLLERR -> status UV_EBADF, poll stopped), so hiredis
 * never learns that the connect failed and the context hangs forever. */
#ifndef TERN_POOL_REDIS_UV_H
#define TERN_POOL_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/** Attaches ac (connecting, no event hooks yet) to loop. The poll handle does not
 *  keep the loop alive by itself: a caller waiting on a reply has its own timer.
 *  0, or a negative libuv error (then ac is untouched and still the caller's). */
int tern__redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
