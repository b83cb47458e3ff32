/* tests/fuzz/fuzz_redis_reply.c - Redis replies to JSON: any RESP bytes go through
 * hiredis's own reader (as they would off the socket), then tern's deep copy and
 * both JSON views. Checked beyond "no crash, no leak": every view serializes (so
 * every string in it is valid UTF-8, whatever bytes the reply held). */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "pool/redis_impl.h"

static void check_json(json_t *j)
{
    if (!j)
        return; /* a view that does not apply (an object of a non-array) */
    char *dump = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!dump)
        abort();
    free(dump);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *rd = redisReaderCreate();
    if (!rd)
        return 0;
    if (redisReaderFeed(rd, (const char *)data, size) == REDIS_OK) {
        void *reply = NULL;
        /* Every complete reply in the input, as a pipelined connection sees them. */
        while (redisReaderGetReply(rd, &reply) == REDIS_OK && reply) {
            tern_arena a;
            tern_arena_init(&a, NULL, 0);
            tern_redis_reply *copy = tern__redis_reply_copy(&a, reply);
            if (!copy)
                abort();
            check_json(tern_redis_reply_json(copy));
            check_json(tern_redis_reply_object(copy));
            tern_arena_reset(&a);
            freeReplyObject(reply);
            reply = NULL;
        }
    }
    redisReaderFree(rd);
    return 0;
}
