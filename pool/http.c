/* pool/http.c - the outbound HTTP client: libcurl's multi interface driven by the
 * calling thread's libuv loop, awaited from coroutines.
 *
 * One client is one curl multi handle, so one connection cache per worker thread:
 * keep-alive connections are reused and HTTP/2 streams share a connection. libcurl
 * says which sockets to watch (CURLMOPT_SOCKETFUNCTION: one uv_poll_t per socket) and
 * when to call it back (CURLMOPT_TIMERFUNCTION: one uv_timer_t); the loop hands those
 * events to curl_multi_socket_action, and finished transfers come out of
 * curl_multi_info_read.
 *
 * A fetch adds an easy handle to the multi and waits on the caller's coroutine. The
 * curl callbacks run on the loop's stack and only copy bytes or tern__wake the waiter
 * (the runtime's rule: library callbacks never switch stacks). The fetch record lives
 * on the waiting coroutine's stack, which is safe because whatever ends the wait (the
 * transfer finished, its timeout, the request deadline, a cancel, the client freed),
 * the easy handle has left the multi before tern_http_fetch returns, and only an easy
 * handle inside the multi can call back. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tern/error.h"
#include "tern/http_client.h"
#include "tern/tern.h"
#include "pool/http.h"
#include "scheduler.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_MAX_BODY (8u * 1024 * 1024)
/* HTTP/1.1 needs a connection per concurrent request; past this many to one host the
 * extra requests queue inside libcurl (their timeouts still run) instead of flooding
 * the backend. HTTP/2 carries them all as streams of one connection anyway. */
#define MAX_HOST_CONNECTIONS 32
/* Idle connections kept for reuse, over all hosts. */
#define MAX_IDLE_CONNECTIONS 64
/* Finished easy handles kept for the next fetch: curl_easy_init allocates a lot. */
#define SPARE_EASY 16
/* URLs in error messages are cut to this many bytes (tern_errmsg holds 256). */
#define URL_IN_MSG 150

typedef struct fetch fetch;

/** A socket libcurl asked us to watch. */
typedef struct sock_ctx {
    uv_poll_t poll;
    tern_http_client *client;
    curl_socket_t fd;
    struct sock_ctx *next, *prev; /* the client's list of watched sockets */
} sock_ctx;

struct tern_http_client {
    tern_sched *sched;
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer; /* libcurl's one timeout */
    sock_ctx *socks;  /* watched sockets */
    unsigned nsocks;
    fetch *inflight; /* fetches whose easy handle is in the multi */
    CURL *spare[SPARE_EASY];
    unsigned nspare;
    unsigned open_handles; /* uv handles not closed yet; the last close frees us */
    bool closing;
    char *ca_file;
};

/** One fetch, on the waiting coroutine's stack. */
struct fetch {
    tern_http_client *client; /* NULL once tern_http_client_free let go of us */
    CURL *easy;               /* NULL once the client freed it */
    tern_waiter waiter;
    fetch *next, *prev; /* client->inflight */
    CURLcode result;
    bool done;    /* curl finished it; it left the multi */
    bool too_big; /* the body passed max_body */
    bool nomem;   /* growing the body buffer failed */
    char *body;   /* malloc'd while it arrives, copied to the arena at the end */
    size_t len, cap, max;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- libcurl's global state ------------------------------------------------------ */

/* curl_global_init/cleanup count their calls, so each client holds one reference and
 * the last free releases everything (no leak reports under ASan). libcurl >= 7.84 makes
 * them thread-safe where it can (CURL_VERSION_THREADSAFE); the lock covers builds
 * without that, at least among tern's own workers. */
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;

static int global_ref(void)
{
    pthread_mutex_lock(&global_lock);
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_unlock(&global_lock);
    if (rc != CURLE_OK) {
        tern_set_errmsg("curl_global_init: %s", curl_easy_strerror(rc));
        return TERN_ENOMEM;
    }
    return 0;
}

static void global_unref(void)
{
    pthread_mutex_lock(&global_lock);
    curl_global_cleanup();
    pthread_mutex_unlock(&global_lock);
}

/* ---- lists ---------------------------------------------------------------------- */

static void inflight_add(tern_http_client *c, fetch *f)
{
    f->prev = NULL;
    f->next = c->inflight;
    if (c->inflight)
        c->inflight->prev = f;
    c->inflight = f;
}

static void inflight_remove(tern_http_client *c, fetch *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        c->inflight = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->next = f->prev = NULL;
}

/* ---- sockets and the timer (libcurl -> libuv) ----------------------------------- */

static void collect_done(tern_http_client *c);

static void maybe_free_client(tern_http_client *c)
{
    if (c->closing && c->open_handles == 0)
        free(c);
}

static void on_sock_closed(uv_handle_t *h)
{
    sock_ctx *sc = h->data;
    tern_http_client *c = sc->client;
    free(sc);
    c->open_handles--;
    maybe_free_client(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    tern_http_client *c = h->data;
    c->open_handles--;
    maybe_free_client(c);
}

/* Stops watching a socket. The uv_poll_t must be closed (not just stopped) before its
 * memory goes, and libcurl may hand us the same descriptor number again before the
 * close callback runs: that one gets a fresh sock_ctx, since this one is already off
 * the list and unassigned. */
static void sock_close(sock_ctx *sc)
{
    tern_http_client *c = sc->client;
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        c->socks = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    c->nsocks--;
    uv_close((uv_handle_t *)&sc->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_ctx *sc = h->data;
    tern_http_client *c = sc->client;
    curl_socket_t fd = sc->fd;
    int flags = 0;
    /* libuv reports POLLERR as a status (and stops the handle); libcurl then finds the
     * error itself (a refused connect, a reset) and ends or retries the transfer. */
    if (status < 0)
        flags |= CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    /* this may REMOVE (and close) sc: use only the copies from here on */
    curl_multi_socket_action(c->multi, fd, flags, &running);
    collect_done(c);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    tern_http_client *c = userp;
    sock_ctx *sc = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sc) {
            curl_multi_assign(c->multi, fd, NULL);
            sock_close(sc);
        }
        return 0;
    }
    if (!sc) {
        /* On failure we return 0 anyway: -1 would mark the whole multi handle dead. The
         * transfer then cannot progress and ends at its timeout, which is bounded. */
        sc = calloc(1, sizeof(*sc));
        if (!sc)
            return 0;
        int rc = uv_poll_init_socket(c->loop, &sc->poll, fd);
        if (rc < 0) {
            free(sc);
            return 0;
        }
        sc->poll.data = sc;
        sc->client = c;
        sc->fd = fd;
        sc->next = c->socks;
        if (c->socks)
            c->socks->prev = sc;
        c->socks = sc;
        c->nsocks++;
        c->open_handles++;
        /* Only waiting fetches keep the loop alive, through their own wait timers (every
         * fetch waits with a timeout); sockets and the timer never do, so a loop run
         * can end while idle keep-alive connections stay open. */
        uv_unref((uv_handle_t *)&sc->poll);
        curl_multi_assign(c->multi, fd, sc);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    if (events)
        uv_poll_start(&sc->poll, events, on_poll);
    else
        uv_poll_stop(&sc->poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    tern_http_client *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(c);
}

/* libcurl may call this from inside curl_multi_add_handle on a coroutine: it only arms
 * the timer, and the work happens in on_timer, on the loop's own stack. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    tern_http_client *c = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* Hands finished transfers back to their fetches. Their easy handles leave the multi
 * here, on the loop's stack, so the connection goes back to the cache at once. */
static void collect_done(tern_http_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode result = m->data.result; /* m is invalid once the handle leaves */
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        fetch *f = (fetch *)priv;
        curl_multi_remove_handle(c->multi, easy);
        inflight_remove(c, f);
        f->result = result;
        f->done = true;
        tern__wake(f->waiter, 0);
    }
}

/* ---- the client ----------------------------------------------------------------- */

int tern_http_client_new(tern_http_client **out)
{
    *out = NULL;
    tern_sched *s = tern_sched_current();
    if (!s) {
        tern_set_errmsg("tern_http_client_new: this thread runs no tern loop");
        return -EINVAL;
    }
    tern_http_client *c = calloc(1, sizeof(*c));
    if (!c) {
        tern_set_errmsg("out of memory for an HTTP client");
        return TERN_ENOMEM;
    }
    int rc = global_ref();
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->multi = curl_multi_init();
    if (!c->multi) {
        global_unref();
        free(c);
        tern_set_errmsg("curl_multi_init failed (out of memory)");
        return TERN_ENOMEM;
    }
    c->sched = s;
    c->loop = tern_sched_loop(s);
    uv_timer_init(c->loop, &c->timer);
    c->timer.data = c;
    uv_unref((uv_handle_t *)&c->timer); /* see on_curl_socket: waits keep the loop alive */
    c->open_handles = 1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)MAX_HOST_CONNECTIONS);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)MAX_IDLE_CONNECTIONS);
    *out = c;
    return 0;
}

void tern_http_client_free(tern_http_client *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    /* Pending fetches fail: their easy handles leave the multi now (the callbacks still
     * work, so their sockets are closed the normal way) and their coroutines wake. */
    while (c->inflight) {
        fetch *f = c->inflight;
        curl_multi_remove_handle(c->multi, f->easy);
        inflight_remove(c, f);
        curl_easy_cleanup(f->easy);
        f->easy = NULL;
        f->client = NULL;
        tern__wake(f->waiter, TERN_ECANCELED);
    }
    for (unsigned i = 0; i < c->nspare; i++)
        curl_easy_cleanup(c->spare[i]);
    c->nspare = 0;
    /* Stop watching before libcurl closes the cached connections, so no poll handle
     * ever outlives its descriptor; then libcurl must not call back into us. */
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, NULL);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, NULL);
    while (c->socks)
        sock_close(c->socks);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    global_unref();
    free(c->ca_file);
    c->ca_file = NULL;
    /* c itself goes in the last close callback */
}

int tern__http_client_set_ca_file(tern_http_client *c, const char *path)
{
    char *copy = NULL;
    if (path && !(copy = strdup(path))) {
        tern_set_errmsg("out of memory");
        return TERN_ENOMEM;
    }
    free(c->ca_file);
    c->ca_file = copy;
    return 0;
}

unsigned tern__http_client_watched(const tern_http_client *c)
{
    return c->nsocks;
}

/* ---- one fetch ------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    fetch *f = userp;
    size_t len = size * n;
    if (len > f->max - f->len) {
        f->too_big = true;
        return 0; /* not len: libcurl aborts the transfer with CURLE_WRITE_ERROR */
    }
    size_t need = f->len + len + 1; /* <= max + 1, and max <= SIZE_MAX / 2 */
    if (need > f->cap) {
        size_t want = f->cap;
        if (!want) {
            /* a declared length (libcurl already held it against max_body) sizes the
             * buffer once */
            curl_off_t declared = -1;
            curl_easy_getinfo(f->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared);
            want = declared > 0 && (curl_off_t)f->max >= declared ? (size_t)declared + 1 : 4096;
        }
        while (want < need)
            want = want > (f->max + 1) / 2 ? f->max + 1 : want * 2;
        if (want > f->max + 1)
            want = f->max + 1;
        char *grown = realloc(f->body, want);
        if (!grown) {
            f->nomem = true;
            return 0;
        }
        f->body = grown;
        f->cap = want;
    }
    memcpy(f->body + f->len, data, len);
    f->len += len;
    return len;
}

/* The URL for messages: without user:password@ and not too long. */
static const char *url_for_msg(const char *url, char *buf, size_t n)
{
    const char *rest = url;
    const char *scheme_end = strstr(url, "://");
    size_t head = 0;
    if (scheme_end) {
        const char *host = scheme_end + 3;
        const char *at = NULL;
        for (const char *p = host; *p && *p != '/' && *p != '?' && *p != '#'; p++)
            if (*p == '@')
                at = p;
        if (at) {
            head = (size_t)(host - url);
            rest = at + 1;
        }
    }
    if (head)
        snprintf(buf, n, "%.*s***@%.*s", (int)head, url, URL_IN_MSG, rest);
    else
        snprintf(buf, n, "%.*s", URL_IN_MSG, url);
    return buf;
}

static bool has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return true;
    return false;
}

/* A method is an HTTP token; anything else would let a caller inject into the request. */
static bool valid_method(const char *m)
{
    if (!*m)
        return false;
    for (const char *p = m; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

/* Sets up the easy handle for one request. 0, -EINVAL (bad method or header) or -ENOMEM. */
static int setup(fetch *f, const char *url, const char *method, const tern_http_opts *o,
                 long curl_timeout_ms, const char *ca_file, struct curl_slist **hdrs)
{
    CURL *e = f->easy;
    if (!valid_method(method)) {
        tern_set_errmsg("tern_http_fetch: the method is not an HTTP token");
        return -EINVAL;
    }
    for (size_t i = 0; o->headers && o->headers[i]; i++) {
        if (strpbrk(o->headers[i], "\r\n") || !strchr(o->headers[i], ':')) {
            tern_set_errmsg("tern_http_fetch: header %zu is not one \"Name: value\" line", i);
            return -EINVAL;
        }
        struct curl_slist *l = curl_slist_append(*hdrs, o->headers[i]);
        if (!l)
            return TERN_ENOMEM;
        *hdrs = l;
    }
    bool sends_body = o->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                      strcmp(method, "PATCH") == 0;
    if (sends_body) {
        /* libcurl would label the body as a form and hold bodies over 1 MiB for a
         * "100 Continue" that many servers never send; the caller says what it sends. */
        static const char *const suppress[] = {"Content-Type:", "Expect:"};
        for (size_t i = 0; i < 2; i++) {
            if (i == 0 && has_header(o->headers, "Content-Type"))
                continue;
            struct curl_slist *l = curl_slist_append(*hdrs, suppress[i]);
            if (!l)
                return TERN_ENOMEM;
            *hdrs = l;
        }
    }

    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)f);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for DNS timeouts in a worker */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"); /* never file://, ftp:// ... */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (strncasecmp(url, "https://", 8) == 0) {
        /* While a new TLS connection to the host still negotiates, wait for it and
         * multiplex over it rather than opening more. Not for plain http: there the
         * answer (HTTP/1.1) is known only when the first response arrives. */
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, curl_timeout_ms);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    char ua[64];
    snprintf(ua, sizeof ua, "tern/%s", tern_version());
    curl_easy_setopt(e, CURLOPT_USERAGENT, ua); /* libcurl copies string options */
    if (*hdrs)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);

    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (sends_body) {
        /* not copied: the caller's body outlives the transfer, which ends before we
         * return, one way or another */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(o->body ? o->body_len : 0));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body ? o->body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    return 0;
}

/* The result of a transfer libcurl finished: the response, or an error code with a
 * message naming the request and libcurl's reason. */
static int finish(fetch *f, const char *method, const char *url, tern_http_response *resp)
{
    char ubuf[URL_IN_MSG + 16];
    CURLcode r = f->result;
    if (r != CURLE_OK) {
        int rc;
        if (r == CURLE_FILESIZE_EXCEEDED || (r == CURLE_WRITE_ERROR && f->too_big)) {
            tern_set_errmsg("%s %s: response body over the %zu-byte limit", method,
                            url_for_msg(url, ubuf, sizeof ubuf), f->max);
            return -EMSGSIZE;
        }
        switch (r) {
        case CURLE_OPERATION_TIMEDOUT:
            rc = TERN_ETIMEDOUT;
            break;
        case CURLE_OUT_OF_MEMORY:
            rc = TERN_ENOMEM;
            break;
        case CURLE_WRITE_ERROR:
            rc = f->nomem ? TERN_ENOMEM : TERN_EUNAVAILABLE;
            break;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_BAD_FUNCTION_ARGUMENT:
            rc = -EINVAL;
            break;
        default: /* refused, DNS, TLS, reset, a broken reply: the service is unavailable */
            rc = TERN_EUNAVAILABLE;
            break;
        }
        /* libcurl's own words (its error buffer says more than curl_easy_strerror), and
         * the system's (its buffer says "Couldn't connect", errno says "refused") */
        long os_errno = 0;
        if (r == CURLE_COULDNT_CONNECT || r == CURLE_SEND_ERROR || r == CURLE_RECV_ERROR)
            curl_easy_getinfo(f->easy, CURLINFO_OS_ERRNO, &os_errno);
        char os[80] = "";
        if (os_errno)
            snprintf(os, sizeof os, " (%s)", strerror((int)os_errno));
        tern_set_errmsg("%s %s: %s%s", method, url_for_msg(url, ubuf, sizeof ubuf),
                        f->errbuf[0] ? f->errbuf : curl_easy_strerror(r), os);
        return rc;
    }

    tern_arena *arena = tern__current()->scope->arena;
    char *body = tern_arena_alloc(arena, f->len + 1);
    if (!body) {
        tern_set_errmsg("out of memory for a %zu-byte response body", f->len);
        return TERN_ENOMEM;
    }
    if (f->len)
        memcpy(body, f->body, f->len);
    body[f->len] = '\0';
    const char *ct = NULL;
    char *ctype = NULL;
    curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &ctype);
    if (ctype && !(ct = tern_arena_strndup(arena, ctype, strlen(ctype)))) {
        tern_set_errmsg("out of memory for a response header");
        return TERN_ENOMEM;
    }
    long status = 0, version = 0;
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(f->easy, CURLINFO_HTTP_VERSION, &version);
    resp->status = status;
    resp->body = body;
    resp->body_len = f->len;
    resp->content_type = ct;
    resp->http_version = version == CURL_HTTP_VERSION_2_0 ? 2 : 1; /* HTTP/3 is never asked for */
    return 0;
}

/* Gives the easy handle back: kept for the next fetch while the client lives. */
static void easy_release(tern_http_client *c, CURL *easy)
{
    if (c && !c->closing && c->nspare < SPARE_EASY) {
        curl_easy_reset(easy);
        c->spare[c->nspare++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

int tern_http_fetch(tern_http_client *c, const char *url, const tern_http_opts *opts,
                    tern_http_response *resp)
{
    static const tern_http_opts no_opts;
    tern_task *cur = tern__current();
    if (!cur) {
        tern_set_errmsg("tern_http_fetch called outside a coroutine");
        return -EINVAL;
    }
    if (!c || !url || !resp) {
        tern_set_errmsg("tern_http_fetch: client, url and resp are required");
        return -EINVAL;
    }
    if (c->closing || c->sched != cur->sched) {
        tern_set_errmsg("tern_http_fetch: the client is freed or belongs to another thread");
        return -EINVAL;
    }
    memset(resp, 0, sizeof(*resp));
    const tern_http_opts *o = opts ? opts : &no_opts;
    const char *method = o->method ? o->method : "GET";
    int64_t timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    char ubuf[URL_IN_MSG + 16];

    /* a fetch whose wait would fail at once must not send anything */
    int rc = tern__wait_check();
    if (rc < 0) {
        tern_set_errmsg("%s %s: %s before it was sent", method, url_for_msg(url, ubuf, sizeof ubuf),
                        rc == TERN_ETIMEDOUT ? "the request deadline passed" : "cancelled");
        return rc;
    }
    /* libcurl gets the same bound, cut to what is left of the deadline, so it ends the
     * transfer itself if it ever outlived our wait */
    long curl_timeout_ms = (long)timeout_ms;
    uint64_t deadline = cur->scope->deadline;
    uint64_t now = uv_now(c->loop);
    if (deadline && deadline - now < (uint64_t)curl_timeout_ms)
        curl_timeout_ms = (long)(deadline - now);

    fetch f = {.client = c, .max = o->max_body ? o->max_body : DEFAULT_MAX_BODY};
    if (f.max > SIZE_MAX / 2) /* "no limit": keep the arithmetic and curl_off_t in range */
        f.max = SIZE_MAX / 2;
    f.easy = c->nspare ? c->spare[--c->nspare] : curl_easy_init();
    if (!f.easy) {
        tern_set_errmsg("curl_easy_init failed (out of memory)");
        return TERN_ENOMEM;
    }
    struct curl_slist *hdrs = NULL;
    rc = setup(&f, url, method, o, curl_timeout_ms, c->ca_file, &hdrs);
    if (rc < 0) {
        if (rc == TERN_ENOMEM)
            tern_set_errmsg("out of memory for request headers");
        curl_slist_free_all(hdrs);
        easy_release(c, f.easy);
        return rc;
    }
    f.waiter = tern__waiter();
    CURLMcode mc = curl_multi_add_handle(c->multi, f.easy);
    if (mc != CURLM_OK) {
        tern_set_errmsg("%s %s: curl_multi_add_handle: %s", method,
                        url_for_msg(url, ubuf, sizeof ubuf), curl_multi_strerror(mc));
        curl_slist_free_all(hdrs);
        easy_release(c, f.easy);
        return mc == CURLM_OUT_OF_MEMORY ? TERN_ENOMEM : TERN_EUNAVAILABLE;
    }
    inflight_add(c, &f);

    int wrc = tern__wait(timeout_ms);

    if (!f.done && f.client) {
        /* The wait ended first (timeout, deadline, cancel). Take the transfer out now:
         * nothing calls back for it afterwards, and an HTTP/1.1 connection in the middle
         * of a response is closed rather than reused. */
        curl_multi_remove_handle(c->multi, f.easy);
        inflight_remove(c, &f);
    }
    if (wrc == 0 && f.done) {
        rc = finish(&f, method, url, resp);
    } else {
        /* the wait's error wins even when the response raced in: the caller's time is up */
        const char *why;
        if (!f.client) {
            why = "the HTTP client was freed";
            rc = TERN_ECANCELED;
        } else if (wrc == TERN__EWAITTIME) {
            why = "no complete response in time";
            rc = TERN_ETIMEDOUT;
        } else if (wrc == TERN_ETIMEDOUT) {
            why = "the request deadline passed";
            rc = TERN_ETIMEDOUT;
        } else {
            why = "cancelled";
            rc = wrc < 0 ? wrc : TERN_ECANCELED;
        }
        if (f.client && wrc == TERN__EWAITTIME)
            tern_set_errmsg("%s %s: %s (timeout %lld ms)", method,
                            url_for_msg(url, ubuf, sizeof ubuf), why, (long long)timeout_ms);
        else
            tern_set_errmsg("%s %s: %s", method, url_for_msg(url, ubuf, sizeof ubuf), why);
    }
    curl_slist_free_all(hdrs);
    free(f.body);
    if (f.easy)
        easy_release(f.client, f.easy);
    return rc;
}
