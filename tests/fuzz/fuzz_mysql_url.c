/* tests/fuzz/fuzz_mysql_url.c - mysql.url parsing against any text. A URL that
 * parses names an IP literal and a TCP port, and every string it owns is freed. */
#include "fuzz_url_check.h"
#include "pool/mysql_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_cstr(data, size);
    if (!url)
        return 0;
    mysql_url u;
    if (mysql_url_parse(url, &u) == 0) {
        fuzz_check_endpoint(u.host, u.port);
        if (!u.user)
            abort();
        mysql_url_free(&u);
    }
    free(url);
    return 0;
}
