/* tests/integration/test_tls.c - TLS with a configured certificate turns on HTTP/2
 * through ALPN; HTTP/1.1 over TLS still works. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service.h"

static char dir[] = "/tmp/tern-tls-XXXXXX";
static char cert[128], key[128];

static void make_cert(void)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
             "-subj /CN=localhost >/dev/null 2>&1",
             key, cert);
    cr_assert_eq(system(cmd), 0, "openssl could not make a test certificate");
}

static long get_version(const svc *s, long want, long *code)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/json", s->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, want);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L); /* self-signed for the test */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    long version = -1;
    *code = 0;
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
        curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version);
    }
    fclose(sink);
    curl_easy_cleanup(c);
    return version;
}

Test(tls, http2_through_alpn_and_http1_over_tls, .timeout = 60)
{
    make_cert();
    char ccert[160], ckey[160];
    snprintf(ccert, sizeof ccert, "TERN_TLS_CERT=%s", cert);
    snprintf(ckey, sizeof ckey, "TERN_TLS_KEY=%s", key);
    const char *env[] = {ccert, ckey, NULL};
    const char *args[] = {"--access_log", "off", NULL};
    svc s;
    cr_assert_eq(svc_start(&s, NULL, args, env, NULL), 0);
    long code = 0;
    long v = get_version(&s, (long)CURL_HTTP_VERSION_2TLS, &code);
    cr_expect_eq(code, 200);
    cr_expect_eq(v, (long)CURL_HTTP_VERSION_2_0, "ALPN chose HTTP version %ld", v);
    v = get_version(&s, (long)CURL_HTTP_VERSION_1_1, &code);
    cr_expect_eq(code, 200);
    cr_expect_eq(v, (long)CURL_HTTP_VERSION_1_1);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

Test(tls, unreadable_certificate_stops_startup_with_exit_2, .timeout = 30)
{
    const char *env[] = {"TERN_TLS_CERT=/nonexistent/cert.pem", "TERN_TLS_KEY=/nonexistent/key.pem",
                         NULL};
    svc s;
    cr_expect_neq(svc_start(&s, NULL, NULL, env, NULL), 0, "started with a missing certificate");
    cr_expect_eq(s.exit_status, 2, "exit status %d, want 2", s.exit_status);
}

/* What a user types: curl --http2 negotiates h2 through ALPN and gets the same answer,
 * with the request id echoed in an HTTP/2 (lower-case) header. */
Test(tls, curl_cli_http2_answers_with_request_id, .timeout = 60)
{
    char tmpl[] = "/tmp/tern-tls2-XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    char cmd[1024], out[1024] = "";
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/k.pem -out %s/c.pem -days 1 "
             "-subj /CN=localhost >/dev/null 2>&1",
             tmpl, tmpl);
    cr_assert_eq(system(cmd), 0);
    char ccert[160], ckey[160];
    snprintf(ccert, sizeof ccert, "TERN_TLS_CERT=%s/c.pem", tmpl);
    snprintf(ckey, sizeof ckey, "TERN_TLS_KEY=%s/k.pem", tmpl);
    const char *env[] = {ccert, ckey, "TERN_ACCESS_LOG=off", NULL};
    svc s;
    cr_assert_eq(svc_start(&s, NULL, NULL, env, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "curl -sS -k --http2 -D - -H 'X-Request-ID: h2-check' -w '|%%{http_version}' "
             "https://127.0.0.1:%d/json",
             s.port);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    cr_expect_eq(pclose(p), 0, "curl failed: %s", out);
    cr_expect(strncmp(out, "HTTP/2 200", 10) == 0, "%s", out);
    cr_expect(strstr(out, "\r\nx-request-id: h2-check\r\n") != NULL, "%s", out);
    /* the whole body after the headers, then what curl says it spoke */
    const char *tail = "\r\n\r\n{\"message\":\"Hello, World!\"}|2";
    cr_expect(n >= strlen(tail) && strcmp(out + n - strlen(tail), tail) == 0, "%s", out);
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    cr_expect_eq(system(cmd), 0);
}
