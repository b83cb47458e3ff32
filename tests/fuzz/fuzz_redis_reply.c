/* tests/fuzz/fuzz_redis_reply.c - Redis replies to JSON: any RESP bytes go through
 * hiredis's own reader (as they would off the socket), then tern's deep copy and
 * both JSON views. Checked beyond "no crash, no leak": every view serializes (so
 * every string in it is valid UTF-8, whatever bytes the reply held).
 *
 * hiredis 0.14 allocates a multi-bulk reply's element array as soon as it reads the
 * count ("*1111111111\r\n" asks calloc for 8 GB; later hiredis has a maxelements
 * limit). That is the library's, on replies from the configured Redis server, so
 * inputs announcing arrays of 100,000 elements or more are skipped. */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdbool.h>
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

/* True when some "*N" in the input has N >= 100000 (six digits or more). */
static bool huge_array(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (data[i] != '*')
            continue;
        size_t j = i + 1, digits = 0;
        if (j < size && (data[j] == '-' || data[j] == '+'))
            j++;
        while (j < size && data[j] == '0')
            j++;
        for (; j < size && data[j] >= '0' && data[j] <= '9'; j++)
            digits++;
        if (digits >= 6)
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (huge_array(data, size))
        return 0;
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
