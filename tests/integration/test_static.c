/* tests/integration/test_static.c - tern_static: files with their MIME type, ETag and
 * Last-Modified, conditional and range requests, 404 JSON for missing files, no directory
 * listing, and no way out of the directory (.. and %2e%2e, raw and through curl). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expect.h"
#include "service.h"

static svc s;
static char root[256], pub[300];

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* root/secret.txt stays outside; root/public is mounted at /static. */
static void start(void)
{
    snprintf(root, sizeof root, "/tmp/tern-static-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    snprintf(pub, sizeof pub, "%s/public", root);
    cr_assert_eq(mkdir(pub, 0700), 0);
    char sub[320];
    snprintf(sub, sizeof sub, "%s/sub", pub);
    cr_assert_eq(mkdir(sub, 0700), 0);
    put(root, "secret.txt", "top secret\n");
    put(pub, "hello.txt", "hello, static world\n");
    put(pub, "app.js", "console.log(1);\n");
    put(sub, "data.json", "{\"a\":1}\n");
    put(sub, "index.html", "<p>index</p>\n");
    char env[400];
    snprintf(env, sizeof env, "MW_APP_STATIC_DIR=%s", pub);
    const char *envs[] = {env, NULL};
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_eq(svc_start(&s, getenv("TERN_MW_APP_BIN"), args, envs, NULL), 0);
}

static void stop(void)
{
    cr_expect_eq(svc_stop(&s, SIGTERM, 10), 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(static_files, .init = start, .fini = stop, .timeout = 60);

Test(static_files, files_with_type_etag_and_last_modified)
{
    http_resp r;
    expect_get(&s, "/static/hello.txt", NULL, 200, "hello, static world\n", &r);
    expect_header(&r, "Content-Type", "text/plain");
    expect_header(&r, "Content-Length", "20");
    char etag[128], lm[128];
    cr_assert_not_null(http_header(&r, "ETag", etag, sizeof etag));
    cr_assert_not_null(http_header(&r, "Last-Modified", lm, sizeof lm));
    http_resp_free(&r);
    expect_get(&s, "/static/sub/data.json", NULL, 200, "{\"a\":1}\n", &r);
    expect_header(&r, "Content-Type", "application/json");
    http_resp_free(&r);
    expect_get(&s, "/static/app.js", NULL, 200, "console.log(1);\n", &r);
    expect_header(&r, "Content-Type", "application/javascript");
    http_resp_free(&r);

    char inm[160], ims[160];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *h1[] = {inm, NULL};
    expect_get(&s, "/static/hello.txt", h1, 304, "", NULL);
    snprintf(ims, sizeof ims, "If-Modified-Since: %s", lm);
    const char *h2[] = {ims, NULL};
    expect_get(&s, "/static/hello.txt", h2, 304, "", NULL);
}

Test(static_files, byte_ranges)
{
    const char *h[] = {"Range: bytes=7-12", NULL};
    http_resp r;
    expect_get(&s, "/static/hello.txt", h, 206, "static", &r);
    expect_header(&r, "Content-Range", "bytes 7-12/20");
    http_resp_free(&r);
}

Test(static_files, missing_files_and_directories_answer_404_json)
{
    expect_get(&s, "/static/nope.txt", NULL, 404, "{\"detail\":\"Not Found\"}", NULL);
    expect_get(&s, "/static/sub/nope/deeper", NULL, 404, "{\"detail\":\"Not Found\"}", NULL);
    /* no listing, and index.html is not served for the directory either */
    http_resp r;
    expect_get(&s, "/static/sub/", NULL, 404, "{\"detail\":\"Not Found\"}", &r);
    expect_header(&r, "Content-Type", "application/json");
    http_resp_free(&r);
    /* the app's routes still answer outside the mount */
    expect_get(&s, "/stats", NULL, 200, NULL, NULL);
}

Test(static_files, no_way_out_of_the_directory)
{
    static const char *const paths[] = {
        "/static/../secret.txt",
        "/static/sub/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/sub/%2e%2e/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/sub/..%2f..%2fsecret.txt",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        http_resp r;
        cr_assert_eq(http_get(&s, paths[i], &r), 0, "%s", paths[i]); /* sent as is */
        cr_expect_null(strstr(r.body, "top secret"), "%s leaked the file", paths[i]);
        cr_expect_eq(r.status, 404, "%s: %ld %s", paths[i], r.status, r.body);
        http_resp_free(&r);
    }
    /* and on the raw socket, where no client library tidies the path */
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    const char *req =
        "GET /static/../../secret.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char buf[2048];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    close(fd);
    cr_expect_null(strstr(buf, "top secret"), "%s", buf);
}

Test(static_files, only_get_and_head)
{
    http_resp r;
    cr_assert_eq(http_request(&s, "HEAD", "/static/hello.txt", NULL, NULL, 5, &r), 0);
    cr_expect_eq(r.status, 200);
    expect_header(&r, "Content-Length", "20");
    http_resp_free(&r);
    expect_answer(&s, "DELETE", "/static/hello.txt", NULL, 405,
                  "{\"detail\":\"Method Not Allowed\"}", NULL);
}

Test(static_setup, a_missing_directory_stops_start_up_with_exit_2, .timeout = 30)
{
    svc bad;
    const char *env[] = {"MW_APP_STATIC_DIR=/nonexistent/tern-static", NULL};
    const char *args[] = {"--access_log", "off", NULL};
    cr_assert_neq(svc_start(&bad, getenv("TERN_MW_APP_BIN"), args, env, NULL), 0);
    cr_expect_eq(bad.exit_status, 2);
    FILE *f = fopen(bad.log_path, "r");
    cr_assert_not_null(f);
    char line[512] = "";
    cr_expect_not_null(fgets(line, sizeof line, f));
    fclose(f);
    cr_expect_str_eq(line,
                     "tern: static /static -> /nonexistent/tern-static: the directory does not "
                     "exist\n");
}
