/* tests/integration/test_hostile_bytes.c - bytes no HTTP client would send: random
 * noise, broken request lines and headers, header blocks far over the limit (over
 * HTTP/1.1 and HTTP/2), and h2c connections (prior-knowledge preface) followed by
 * garbage or invalid frames. Each gets a clear refusal (a 4xx, or a GOAWAY with the
 * error code RFC 9113 names) and a closed connection, never a hang or a crash; a normal
 * request right after is served. */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "raw.h"
#include "service.h"

static svc s;

static void start(void)
{
    const char *args[] = {
        "--access_log", "off", "--limits.header_timeout_ms", "1000", "--limits.body_bytes",
        "4k",           NULL};
    cr_assert_eq(svc_start(&s, NULL, args, NULL, NULL), 0);
}

static void stop(void)
{
    cr_expect(svc_alive(&s), "the server died during the test");
    cr_expect_eq(svc_stop(&s, SIGTERM, 15), 0);
}

TestSuite(hostile_bytes, .init = start, .fini = stop, .timeout = 90);

/* A small deterministic generator: a failure reproduces with the same bytes. */
static uint32_t rng_state = 0x7e27u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* ---- HTTP/1.1 ------------------------------------------------------------------- */

/* 300 connections at once, each sending 1 to 4,096 random bytes (a third of them after
 * a valid request line): every one ends within the header timeout, with a 400 or a
 * plain close, and nobody gets a 5xx. */
Test(hostile_bytes, random_bytes_on_300_connections)
{
    enum { N = 300 };
    int fds[N], ended = 0, answered_400 = 0, other = 0;
    char *buf = malloc(4096 + 64);
    cr_assert_not_null(buf);
    long rss0 = svc_rss_kb(&s);
    for (int i = 0; i < N; i++) {
        fds[i] = svc_dial(&s);
        cr_assert_geq(fds[i], 0);
        size_t off = 0, n = 1 + rng() % 4096;
        if (i % 3 == 0)
            off = (size_t)sprintf(buf, "GET /json HTTP/1.1\r\n");
        for (size_t k = 0; k < n; k++)
            buf[off + k] = (char)rng();
        raw_write_all(fds[i], buf, off + n);
    }
    double t0 = svc_now();
    for (int i = 0; i < N; i++) {
        raw_resp r;
        raw_read(fds[i], 3.0 - (svc_now() - t0), &r);
        if (r.status == 0 || r.status == 400) {
            char b[64];
            /* a 400 is followed by the close; no answer at all means h2o just hung up */
            if (r.closed || recv(fds[i], b, sizeof b, 0) <= 0)
                ended++;
            answered_400 += r.status == 400;
        } else {
            other++;
            cr_expect(r.status < 500, "connection %d: %.80s", i, r.data);
        }
        raw_resp_free(&r);
        close(fds[i]);
    }
    fprintf(stderr,
            "random bytes: %d connections, %d answered 400, %d closed within %.2f s, "
            "%d other answers (all < 500); RSS %ld -> %ld KiB\n",
            N, answered_400, ended, svc_now() - t0, other, rss0, svc_rss_kb(&s));
    cr_expect_eq(ended + other, N, "%d connections still open after the header timeout",
                 N - ended - other);
    free(buf);
    cr_expect(svc_serves(&s, "/json"));
}

/* What h2o's parser refuses before any route runs. h2o 2.2.5 answers these itself with
 * a fixed text/plain "400 Bad Request" and closes: its raw write passes no filter, so
 * they cannot be JSON. What the parser does accept reaches tern's router (JSON 4xx). */
Test(hostile_bytes, malformed_request_lines_and_headers_are_refused)
{
    static const struct {
        const char *req;
        size_t len;
        int want; /* 400: h2o's plain refusal; 0: closed without a word; else tern's JSON */
    } bad[] = {
#define R(s, w) {s, sizeof s - 1, w}
        R("GET\r\n\r\n", 400),
        R("GET / HTTP/9.9\r\n\r\n", 400),
        R("GET / HTTP/1.1 extra\r\n\r\n", 400),
        R("\x00\x01\x02\x03 / HTTP/1.1\r\n\r\n", 400),
        R("GET /\x01json HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        R("GET / HTTP/1.1\r\nHost x\r\n\r\n", 400),
        R("GET / HTTP/1.1\r\n: no-name\r\n\r\n", 400),
        R("GET / HTTP/1.1\r\nHo\x01st: x\r\n\r\n", 400),
        R("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400),
        R("GET / HTTP/1.1\nHost: x\n\x01\n\n", 400),
        R(" /json HTTP/1.1\r\n\r\n", 405),          /* an empty method: no route has it */
        R("GET  HTTP/1.1\r\nHost: x\r\n\r\n", 404), /* the version taken for a path */
        R("HTTP/1.1 200 OK\r\n\r\n", 0),            /* a response sent as a request */
#undef R
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_resp r;
        cr_assert_eq(raw_exchange(&s, bad[i].req, bad[i].len, 3, &r), 0);
        cr_expect_eq(r.status, bad[i].want, "case %zu: %.80s", i, r.data);
        if (bad[i].want == 400) {
            cr_expect(r.body && !strcmp(r.body, "Bad Request"), "case %zu: %s", i, r.data);
            cr_expect(r.closed, "case %zu: still open after the refusal", i);
        } else if (bad[i].want) {
            cr_expect(strcasestr(r.data, "content-type: application/json") != NULL, "case %zu", i);
        } else {
            cr_expect(r.closed && r.len == 0, "case %zu: %s", i, r.data);
        }
        raw_resp_free(&r);
    }
    cr_expect(svc_serves(&s, "/json"));
}

Test(hostile_bytes, broken_framing_gets_400_json)
{
    static const char *const bad[] = {
        "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
        "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_resp r;
        cr_assert_eq(raw_exchange(&s, bad[i], strlen(bad[i]), 3, &r), 0);
        cr_expect_eq(r.status, 400, "case %zu: %.80s", i, r.data);
        cr_expect(r.body && !strcmp(r.body, "{\"detail\":\"Bad Request\"}"), "case %zu: %s", i,
                  r.data);
        cr_expect(strcasestr(r.data, "content-type: application/json") != NULL, "case %zu", i);
        raw_resp_free(&r);
    }
    cr_expect(svc_serves(&s, "/json"));
}

static char *big_header_request(size_t value_len, size_t count)
{
    size_t cap = 64 + count * (value_len + 32);
    char *req = malloc(cap);
    cr_assert_not_null(req);
    size_t n = (size_t)sprintf(req, "GET /json HTTP/1.1\r\nHost: x\r\n");
    for (size_t k = 0; k < count; k++) {
        n += (size_t)sprintf(req + n, "X-Big-%zu: ", k);
        memset(req + n, 'h', value_len);
        n += value_len;
        n += (size_t)sprintf(req + n, "\r\n");
    }
    n += (size_t)sprintf(req + n, "\r\n");
    return req;
}

/* One 200 KB header: tern's header limit (16 KiB by default) answers 431 in JSON and the
 * connection stays usable. */
Test(hostile_bytes, one_200k_header_is_431_json_and_the_connection_lives)
{
    char *req = big_header_request(200 * 1024, 1);
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    raw_write_all(fd, req, strlen(req));
    raw_resp r;
    raw_read(fd, 3, &r);
    cr_expect_eq(r.status, 431, "%.80s", r.data);
    cr_expect(r.body && !strcmp(r.body, "{\"detail\":\"Request Header Fields Too Large\"}"), "%s",
              r.body);
    raw_resp_free(&r);
    raw_write_all(fd, "GET /json HTTP/1.1\r\nHost: x\r\n\r\n", 31);
    raw_read(fd, 3, &r);
    cr_expect_eq(r.status, 200, "the next request on the connection: %.80s", r.data);
    raw_resp_free(&r);
    close(fd);
    free(req);
}

/* 200 headers of 1 KB (h2o parses at most 100) and a 500 KB one (over h2o's 400 KiB
 * request buffer): h2o refuses both itself, with its plain 400 and a close. */
Test(hostile_bytes, too_many_headers_or_a_500k_block_get_400_and_a_close)
{
    char *many = big_header_request(1000, 200);
    char *huge = big_header_request(500 * 1024, 1);
    const char *reqs[] = {many, huge};
    for (int i = 0; i < 2; i++) {
        raw_resp r;
        cr_assert_eq(raw_exchange(&s, reqs[i], strlen(reqs[i]), 3, &r), 0);
        cr_expect_eq(r.status, 400, "case %d: %.80s", i, r.data);
        cr_expect(r.closed, "case %d: the connection stays open", i);
        raw_resp_free(&r);
    }
    free(many);
    free(huge);
    cr_expect(svc_serves(&s, "/json"));
}

/* ---- h2c with prior knowledge ------------------------------------------------------ */

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

typedef struct wire {
    unsigned char *p;
    size_t n, cap;
} wire;

static void put(wire *w, const void *b, size_t n)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2;
        w->p = realloc(w->p, w->cap);
    }
    memcpy(w->p + w->n, b, n);
    w->n += n;
}

/* A frame header announcing len bytes, then payload (which may be shorter: lying about
 * the length is one of the attacks). */
static void frame(wire *w, uint32_t len, uint8_t type, uint8_t flags, uint32_t stream,
                  const void *payload, size_t plen)
{
    unsigned char h[9] = {(unsigned char)(len >> 16),
                          (unsigned char)(len >> 8),
                          (unsigned char)len,
                          type,
                          flags,
                          (unsigned char)(stream >> 24),
                          (unsigned char)(stream >> 16),
                          (unsigned char)(stream >> 8),
                          (unsigned char)stream};
    put(w, h, 9);
    if (plen)
        put(w, payload, plen);
}

static void setting(wire *w, uint16_t id, uint32_t value)
{
    unsigned char p[6] = {(unsigned char)(id >> 8),     (unsigned char)id,
                          (unsigned char)(value >> 24), (unsigned char)(value >> 16),
                          (unsigned char)(value >> 8),  (unsigned char)value};
    frame(w, 6, 4, 0, 0, p, 6);
}

enum {
    F_DATA = 0,
    F_HEADERS = 1,
    F_PRIORITY = 2,
    F_RST = 3,
    F_SETTINGS = 4,
    F_PING = 6,
    F_GOAWAY = 7,
    F_WINDOW = 8,
    F_CONT = 9
};
enum { END_STREAM = 1, END_HEADERS = 4 };
enum { PROTOCOL_ERROR = 1, FLOW_CONTROL_ERROR = 3, FRAME_SIZE_ERROR = 6, COMPRESSION_ERROR = 9 };

/* The server's frames: the GOAWAY error code (-1 if none came) and the DATA payload of
 * stream 1 (for the answer to a valid request). */
static int goaway_code(const raw_resp *r, char *data1, size_t n)
{
    int code = -1;
    size_t d = 0;
    for (size_t off = 0; off + 9 <= r->len;) {
        const unsigned char *h = (const unsigned char *)r->data + off;
        size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
        uint32_t sid = ((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) &
                       0x7fffffffu;
        if (off + 9 + len > r->len)
            break;
        if (h[3] == F_GOAWAY && len >= 8 && code < 0)
            code = h[13] << 24 | h[14] << 16 | h[15] << 8 | h[16];
        if (h[3] == F_DATA && sid == 1 && data1)
            for (size_t k = 0; k < len && d + 1 < n; k++)
                data1[d++] = (char)h[9 + k];
        off += 9 + len;
    }
    if (data1)
        data1[d] = '\0';
    return code;
}

static raw_resp h2_exchange(const wire *w)
{
    raw_resp r;
    cr_assert_eq(raw_exchange(&s, w->p, w->n, 3, &r), 0);
    return r;
}

static const unsigned char get_json_headers[] = {0x82, 0x86, 0x44, 5,    '/', 'j',
                                                 's',  'o',  'n',  0x41, 1,   'x'};

/* One request (an HPACK block of indexed and literal fields) on a new h2c connection;
 * the DATA of its stream into data. */
static void h2_get(const unsigned char *headers, size_t n, char *data, size_t dn)
{
    wire w = {0};
    put(&w, preface, 24);
    frame(&w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(&w, (uint32_t)n, F_HEADERS, END_HEADERS | END_STREAM, 1, headers, n);
    raw_resp r = h2_exchange(&w);
    goaway_code(&r, data, dn);
    raw_resp_free(&r);
    free(w.p);
}

Test(hostile_bytes, h2c_invalid_frames_get_goaway_with_the_right_code)
{
    unsigned char zero4[4] = {0}, junk[64], bad_hpack[] = {0xff, 0xff, 0xff, 0xff, 0xff},
                  self_dep[5] = {0, 0, 0, 1, 16}, max_inc[4] = {0x7f, 0xff, 0xff, 0xff};
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)rng();
    struct {
        const char *name;
        int want;
        wire w;
    } c[14];
    memset(c, 0, sizeof c);
    int n = 0;
#define CASE(nm, code) (c[n].name = nm, c[n].want = code, put(&c[n].w, preface, 24), &c[n++].w)
    wire *w = CASE("garbage after the preface", FRAME_SIZE_ERROR);
    put(w, junk, sizeof junk);
    w = CASE("SETTINGS of 5 bytes", FRAME_SIZE_ERROR);
    frame(w, 5, F_SETTINGS, 0, 0, junk, 5);
    w = CASE("SETTINGS initial window 2^31", FLOW_CONTROL_ERROR);
    setting(w, 4, 0x80000000u);
    w = CASE("SETTINGS enable push 2", PROTOCOL_ERROR);
    setting(w, 2, 2);
    w = CASE("SETTINGS max frame size 100", PROTOCOL_ERROR);
    setting(w, 5, 100);
    w = CASE("SETTINGS on stream 1", PROTOCOL_ERROR);
    frame(w, 0, F_SETTINGS, 0, 1, NULL, 0);
    w = CASE("a 1 MiB frame", FRAME_SIZE_ERROR);
    frame(w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(w, 1 << 20, F_HEADERS, END_HEADERS, 1, junk, sizeof junk);
    w = CASE("HEADERS on stream 0", PROTOCOL_ERROR);
    frame(w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(w, sizeof get_json_headers, F_HEADERS, END_HEADERS | END_STREAM, 0, get_json_headers,
          sizeof get_json_headers);
    w = CASE("undecodable HPACK", COMPRESSION_ERROR);
    frame(w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(w, sizeof bad_hpack, F_HEADERS, END_HEADERS | END_STREAM, 1, bad_hpack, sizeof bad_hpack);
    w = CASE("CONTINUATION without HEADERS", PROTOCOL_ERROR);
    frame(w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(w, 1, F_CONT, END_HEADERS, 1, get_json_headers, 1);
    w = CASE("DATA on an idle stream", PROTOCOL_ERROR);
    frame(w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(w, 3, F_DATA, END_STREAM, 1, "abc", 3);
    w = CASE("WINDOW_UPDATE of 0", PROTOCOL_ERROR);
    frame(w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(w, 4, F_WINDOW, 0, 0, zero4, 4);
    w = CASE("window over 2^31-1", FLOW_CONTROL_ERROR);
    frame(w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(w, 4, F_WINDOW, 0, 0, max_inc, 4);
    frame(w, 4, F_WINDOW, 0, 0, max_inc, 4);
    w = CASE("stream depending on itself", PROTOCOL_ERROR);
    frame(w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(w, 5, F_PRIORITY, 0, 1, self_dep, 5);
#undef CASE
    for (int i = 0; i < n; i++) {
        raw_resp r = h2_exchange(&c[i].w);
        int code = goaway_code(&r, NULL, 0);
        cr_expect_eq(code, c[i].want, "%s: GOAWAY code %d, want %d", c[i].name, code, c[i].want);
        cr_expect(r.closed, "%s: the connection stays open", c[i].name);
        raw_resp_free(&r);
        free(c[i].w.p);
    }
    cr_expect(svc_serves(&s, "/json"));
}

/* HPACK integer with an n-bit prefix (RFC 7541 5.1). */
static void hpack_int(wire *w, unsigned char first, int bits, size_t v)
{
    size_t max = (1u << bits) - 1;
    if (v < max) {
        unsigned char b = (unsigned char)(first | v);
        put(w, &b, 1);
        return;
    }
    unsigned char b = (unsigned char)(first | max);
    put(w, &b, 1);
    for (v -= max; v >= 128; v >>= 7) {
        b = (unsigned char)(v % 128 + 128);
        put(w, &b, 1);
    }
    b = (unsigned char)v;
    put(w, &b, 1);
}

/* The same 200 KB header over h2c, split into HEADERS + CONTINUATION frames: 431 JSON on
 * the stream, and the connection goes on serving. */
Test(hostile_bytes, h2c_200k_header_is_431_json)
{
    wire block = {0};
    put(&block, get_json_headers, sizeof get_json_headers);
    size_t big = 200 * 1024;
    unsigned char lit = 0x00; /* literal, not indexed, new name */
    put(&block, &lit, 1);
    hpack_int(&block, 0, 7, 5);
    put(&block, "x-big", 5);
    hpack_int(&block, 0, 7, big);
    char *v = malloc(big);
    memset(v, 'h', big);
    put(&block, v, big);
    free(v);
    wire w = {0};
    put(&w, preface, 24);
    frame(&w, 0, F_SETTINGS, 0, 0, NULL, 0);
    for (size_t off = 0; off < block.n; off += 16384) {
        size_t len = block.n - off < 16384 ? block.n - off : 16384;
        int last = off + len == block.n;
        frame(&w, (uint32_t)len, off ? F_CONT : F_HEADERS,
              (uint8_t)((last ? END_HEADERS : 0) | (off ? 0 : END_STREAM)), 1, block.p + off, len);
    }
    raw_resp r = h2_exchange(&w);
    char data[256];
    int code = goaway_code(&r, data, sizeof data);
    cr_expect_str_eq(data, "{\"detail\":\"Request Header Fields Too Large\"}");
    cr_expect(code <= 0, "GOAWAY code %d after the answer", code);
    raw_resp_free(&r);
    free(block.p);
    free(w.p);
    cr_expect(svc_serves(&s, "/json"));
}

Test(hostile_bytes, h2c_valid_request_still_served)
{
    char data[256];
    h2_get(get_json_headers, sizeof get_json_headers, data, sizeof data);
    cr_expect_str_eq(data, "{\"message\":\"Hello, World!\"}");
}

/* ---- HTTP/2 requests that never finish arriving ------------------------------------ */

/* Sends w, then one more frame from more[] every 200 ms; returns the seconds until the
 * server closed the connection (or -1 if it never did within 4 s). */
static double h2_trickle(const wire *w, const wire *more, size_t nmore)
{
    int fd = svc_dial(&s);
    cr_assert_geq(fd, 0);
    raw_write_all(fd, w->p, w->n);
    double t0 = svc_now();
    size_t i = 0;
    while (svc_now() - t0 < 4.0) {
        if (i < nmore && raw_write_all(fd, more[i].p, more[i].n) != more[i].n)
            break;
        i++;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) > 0) {
            char b[4096];
            if (recv(fd, b, sizeof b, 0) <= 0)
                break; /* SETTINGS and its ACK arrive first: keep reading */
        }
    }
    double took = svc_now() - t0;
    close(fd);
    return took < 4.0 ? took : -1;
}

/* h2o's http2.idle_timeout stops while a stream is open: without tern's own check a
 * client sending its headers a CONTINUATION at a time, or its body a DATA byte at a
 * time, held the connection for ever. Now both are cut like HTTP/1.1 (1 s here). */
Test(hostile_bytes, h2c_trickling_headers_or_body_are_cut_off)
{
    wire w = {0}, more[20];
    memset(more, 0, sizeof more);
    put(&w, preface, 24);
    frame(&w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(&w, 1, F_HEADERS, 0, 1, get_json_headers, 1); /* no END_HEADERS */
    for (int i = 0; i < 20; i++)
        frame(&more[i], 1, F_CONT, 0, 1, get_json_headers + 1 + i % 8, 1);
    double headers = h2_trickle(&w, more, 20);
    for (int i = 0; i < 20; i++)
        free(more[i].p);
    free(w.p);

    static const unsigned char post_json[] = {0x83, 0x86, 0x44, 5,    '/', 'j',
                                              's',  'o',  'n',  0x41, 1,   'x'};
    memset(&w, 0, sizeof w);
    memset(more, 0, sizeof more);
    put(&w, preface, 24);
    frame(&w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(&w, sizeof post_json, F_HEADERS, END_HEADERS, 1, post_json, sizeof post_json);
    for (int i = 0; i < 20; i++)
        frame(&more[i], 1, F_DATA, 0, 1, "x", 1);
    double body = h2_trickle(&w, more, 20);
    for (int i = 0; i < 20; i++)
        free(more[i].p);
    free(w.p);

    fprintf(stderr, "h2c trickle: headers cut after %.2f s, body after %.2f s (timeout 1 s)\n",
            headers, body);
    cr_expect(headers > 0.9 && headers < 2.0, "headers trickling: cut after %.2f s", headers);
    cr_expect(body > 0.9 && body < 2.0, "body trickling: cut after %.2f s", body);
    cr_expect(svc_serves(&s, "/json"));
}

/* A handler that runs past the header timeout is not a slow client: its answer comes. */
Test(hostile_bytes, h2c_slow_handler_is_not_cut_off)
{
    static const unsigned char sleep_1500[] = {0x82, 0x86, 0x44, 14,  '/',  's', 'l',
                                               'e',  'e',  'p',  '?', 'm',  's', '=',
                                               '1',  '5',  '0',  '0', 0x41, 1,   'x'};
    char data[256];
    h2_get(sleep_1500, sizeof sleep_1500, data, sizeof data);
    cr_expect_str_eq(data, "{\"slept_ms\":1500}");
}

/* The RST_STREAM error code the server sent for stream 1 (-1 if none). */
static int rst_code(const raw_resp *r)
{
    for (size_t off = 0; off + 9 <= r->len;) {
        const unsigned char *h = (const unsigned char *)r->data + off;
        size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
        if (off + 9 + len > r->len)
            break;
        if (h[3] == F_RST && h[8] == 1 && len == 4)
            return h[9] << 24 | h[10] << 16 | h[11] << 8 | h[12];
        off += 9 + len;
    }
    return -1;
}

/* Over HTTP/2, h2o 2.2.5 refuses a body over limits.body_bytes itself, with a reset of
 * the stream (REFUSED_STREAM) rather than a 413: its HTTP/2 layer has no error page.
 * The connection and the server go on. */
Test(hostile_bytes, h2c_body_over_the_limit_resets_the_stream)
{
    static const unsigned char post_json[] = {0x83, 0x86, 0x44, 5,    '/', 'j',
                                              's',  'o',  'n',  0x41, 1,   'x'};
    char *body = malloc(8192);
    cr_assert_not_null(body);
    memset(body, 'b', 8192);
    wire w = {0};
    put(&w, preface, 24);
    frame(&w, 0, F_SETTINGS, 0, 0, NULL, 0);
    frame(&w, sizeof post_json, F_HEADERS, END_HEADERS, 1, post_json, sizeof post_json);
    frame(&w, 8192, F_DATA, END_STREAM, 1, body, 8192);
    raw_resp r = h2_exchange(&w);
    cr_expect_eq(rst_code(&r), 7, "RST_STREAM code %d, want REFUSED_STREAM (7)", rst_code(&r));
    cr_expect_leq(goaway_code(&r, NULL, 0), 0, "the connection was torn down");
    raw_resp_free(&r);
    free(w.p);
    free(body);
    cr_expect(svc_serves(&s, "/json"));
}
