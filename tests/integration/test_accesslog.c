/* tests/integration/test_accesslog.c - one access log line per request on stdout, in
 * the configured format, flushed promptly; none with access_log off. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "service.h"

/* Returns the first log line containing needle (static buffer), waiting up to 2 s. */
static const char *find_line(const svc *s, const char *needle)
{
    static char line[1024];
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(s->log_path, "r");
        while (f && fgets(line, sizeof line, f))
            if (strstr(line, needle)) {
                fclose(f);
                return line;
            }
        if (f)
            fclose(f);
        usleep(20000);
    }
    return NULL;
}

Test(accesslog, plain_lines_name_method_path_status_bytes_duration, .timeout = 30)
{
    svc s;
    const char *args[] = {"--access_log", "plain", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
    http_resp r;
    cr_assert_eq(http_get(&s, "/items/7?q=x", &r), 0);
    http_resp_free(&r);
    const char *line = find_line(&s, "GET /items/7 ");
    cr_assert_not_null(line, "no access log line for GET /items/7");
    /* {"item_id":7,"q":"x"} is 21 bytes */
    cr_expect(strstr(line, " 200 21 ") != NULL, "line: %s", line);
    cr_expect(strstr(line, "ms") != NULL, "no duration: %s", line);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(accesslog, json_lines_parse, .timeout = 30)
{
    svc s;
    const char *env[] = {"TERN_ACCESS_LOG=json", NULL};
    cr_assert_eq(svc_start(&s, NULL, NULL, env, NULL), 0);
    http_resp r;
    cr_assert_eq(http_get(&s, "/nope", &r), 0);
    http_resp_free(&r);
    const char *line = find_line(&s, "\"path\":\"/nope\"");
    cr_assert_not_null(line, "no JSON access log line for /nope");
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    cr_assert_not_null(j, "not JSON: %s (%s)", line, err.text);
    cr_expect_str_eq(json_string_value(json_object_get(j, "method")), "GET");
    cr_expect_eq(json_integer_value(json_object_get(j, "status")), 404);
    cr_expect_eq(json_integer_value(json_object_get(j, "bytes")), 22);
    cr_expect(json_is_number(json_object_get(j, "duration_ms")));
    json_decref(j);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}

Test(accesslog, off_writes_nothing, .timeout = 30)
{
    svc s;
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
    http_resp r;
    cr_assert_eq(http_get(&s, "/json", &r), 0);
    http_resp_free(&r);
    usleep(400000); /* two flush periods */
    FILE *f = fopen(s.log_path, "r");
    char line[512];
    int hits = 0;
    while (f && fgets(line, sizeof line, f))
        hits += strstr(line, "/json") != NULL;
    if (f)
        fclose(f);
    cr_expect_eq(hits, 0, "access_log off still logged /json");
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
}
