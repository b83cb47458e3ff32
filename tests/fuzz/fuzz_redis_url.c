/* tests/fuzz/fuzz_redis_url.c - redis.url parsing against any text. A URL that
 * parses names an IP literal, a TCP port and a database index >= 0. */
#include "fuzz_url_check.h"
#include "pool/redis_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_cstr(data, size);
    if (!url)
        return 0;
    tern__redis_url u;
    if (tern__redis_url_parse(url, &u) == 0) {
        fuzz_check_endpoint(u.host, u.port);
        if (u.db < 0)
            abort();
    }
    free(url);
    return 0;
}
