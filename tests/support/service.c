/* tests/support/service.c - see service.h. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "service.h"

int svc_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

double svc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_log(const svc *s)
{
    FILE *f = fopen(s->log_path, "r");
    if (!f)
        return;
    char line[512];
    fprintf(stderr, "---- %s ----\n", s->log_path);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

int svc_start(svc *s, const char *bin, const char *const *args, const char *const *env,
              const char *ready_path)
{
    return svc_start_port(s, 0, bin, args, env, ready_path);
}

int svc_start_port(svc *s, int port, const char *bin, const char *const *args,
                   const char *const *env, const char *ready_path)
{
    memset(s, 0, sizeof(*s));
    if (!bin)
        bin = getenv("TERN_SERVICE_BIN");
    if (!bin) {
        fprintf(stderr, "TERN_SERVICE_BIN is not set\n");
        return -1;
    }
    s->port = port > 0 ? port : svc_free_port();
    s->exit_status = -1;
    for (int i = 0; env && env[i]; i++)
        if (strncmp(env[i], "TERN_TLS_CERT=", 14) == 0)
            s->tls = 1;
    snprintf(s->base, sizeof s->base, "%s://127.0.0.1:%d", s->tls ? "https" : "http", s->port);
    snprintf(s->log_path, sizeof s->log_path, "/tmp/tern-test-%d-%d.log", (int)getpid(), s->port);
    char port_arg[16];
    snprintf(port_arg, sizeof port_arg, "%d", s->port);
    const char *argv[64] = {bin, "--host", "127.0.0.1", "--port", port_arg};
    int argc = 5;
    for (int i = 0; args && args[i] && argc < 62; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        /* a test that dies (crash, Criterion's timeout) takes its servers with it,
         * instead of leaving them running on the machine */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (int i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    double until = svc_now() + 10;
    while (svc_now() < until) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            s->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            fprintf(stderr, "server exited during start-up (status %d)\n", s->exit_status);
            print_log(s);
            return -1;
        }
        http_resp r;
        if (http_request(s, "GET", ready_path ? ready_path : "/", NULL, NULL, 1.0, &r) == 0) {
            http_resp_free(&r);
            return 0;
        }
        http_resp_free(&r);
        usleep(20000);
    }
    print_log(s);
    svc_stop(s, SIGKILL, 2);
    return -1;
}

int svc_stop(svc *s, int sig, double timeout_s)
{
    if (!s->pid)
        return -1;
    kill(s->pid, sig);
    double until = svc_now() + timeout_s;
    int st = 0;
    while (svc_now() < until) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            if (code != 0)
                print_log(s); /* a sanitizer report or crash explains the status */
            return code;
        }
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    print_log(s);
    return -1;
}

int svc_dial(const svc *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    buf *b = ud;
    size_t k = size * nmemb;
    char *p = realloc(b->p, b->n + k + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, ptr, k);
    b->n += k;
    p[b->n] = '\0';
    b->p = p;
    return k;
}

int http_request(const svc *s, const char *method, const char *path, const char *body,
                 const char *const *headers, double timeout_s, http_resp *r)
{
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char *url = NULL; /* any length: hostile-client tests send very long ones */
    if (asprintf(&url, "%s%s", s->base, path) < 0) {
        curl_easy_cleanup(c);
        return -1;
    }
    buf b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (s->tls) { /* the tests' certificates are self-signed */
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    r->curl_code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->total_s);
    r->body = b.p ? b.p : strdup("");
    r->len = b.n;
    r->headers = h.p ? h.p : strdup("");
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(url);
    return r->curl_code == CURLE_OK ? 0 : -1;
}

int http_get(const svc *s, const char *path, http_resp *r)
{
    return http_request(s, "GET", path, NULL, NULL, 10.0, r);
}

const char *http_header(const http_resp *r, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            eol = p + strlen(p);
        if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(eol - v);
            if (vl >= n)
                vl = n - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return out;
        }
        p = *eol ? eol + 2 : eol;
    }
    return NULL;
}

void http_resp_free(http_resp *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

int http_parallel(const svc *s, const char *path, int n, int concurrent, double timeout_s,
                  long *statuses)
{
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)concurrent);
    CURL **e = calloc((size_t)n, sizeof(*e));
    char url[1024];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    for (int i = 0; i < n; i++) {
        e[i] = curl_easy_init();
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e[i], CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
        curl_easy_setopt(e[i], CURLOPT_NOSIGNAL, 1L);
        if (s->tls) {
            curl_easy_setopt(e[i], CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(e[i], CURLOPT_SSL_VERIFYHOST, 0L);
        }
        curl_easy_setopt(e[i], CURLOPT_PRIVATE, (void *)(intptr_t)i);
        curl_multi_add_handle(m, e[i]);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        long code = 0;
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &code);
        if (statuses)
            statuses[i] = code;
        ok += code == 200;
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    free(e);
    curl_multi_cleanup(m);
    return ok;
}
