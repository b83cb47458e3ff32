/* tests/fuzz/fuzz_router.c - the router against any patterns and any paths.
 *
 * Input: lines. Lines before the first empty line are routes to add, "M pattern" with
 * M a method digit (0-7); the lines after it are paths, each matched with every
 * method. When the input has no empty line, the whole input is matched as one path
 * against a fixed table of routes shaped like the example service's.
 *
 * Checked beyond "no crash, no leak": a match returns a route that was added, with
 * captures that lie inside the path; 405 names at least one allowed method. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

#define MAX_ROUTES 64

static const char *const fixed[] = {
    "/", "/json", "/plaintext", "/items/{item_id}", "/items/{item_id:int}/tags/{tag}",
    "/heroes", "/heroes/{hero_id}", "/files/{rest:path}", "/a/{x}/b", "/a/{x}/{y:float}",
    "/a/static/b", "/{p}/{q}/{r}", "/db/sleep",
};

static int tokens[MAX_ROUTES];

static void check_match(const char *path, size_t len, int rc, const tern_route_match *m,
                        void *const *added, size_t nadded)
{
    if (rc == 0) {
        size_t i;
        for (i = 0; i < nadded && added[i] != m->route; i++)
            ;
        if (i == nadded || !m->pattern || m->ncaptures > TERN_ROUTER_MAX_CAPTURES)
            abort();
        for (size_t c = 0; c < m->ncaptures; c++) {
            const tern_capture *cap = &m->captures[c];
            if (!cap->name || cap->value < path || cap->value + cap->len > path + len)
                abort();
        }
    } else if (rc == -ENOTSUP) {
        if (!m->allowed)
            abort();
    } else if (rc != -ENOENT) {
        abort();
    }
}

static void match_all_methods(const tern_router *r, const char *path, size_t len,
                              void *const *added, size_t nadded)
{
    for (int m = 0; m < TERN_METHOD_COUNT; m++) {
        tern_route_match out;
        memset(&out, 0, sizeof out);
        int rc = tern_router_match(r, (tern_method)m, path, len, &out);
        check_match(path, len, rc, &out, added, nadded);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A NUL-terminated copy: patterns are C strings; paths are given with a length
     * and must not be read past it (ASan sees the exact-size heap copy). */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    tern_router *r = tern_router_new();
    void *added[MAX_ROUTES];
    size_t nadded = 0;
    char *sep = strstr(text, "\n\n");

    if (!sep) {
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            for (int m = 0; m <= TERN_DELETE; m++)
                tern_router_add(r, (tern_method)m, fixed[i], &tokens[i]);
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            added[nadded++] = &tokens[i];
        char *path = malloc(size ? size : 1);
        memcpy(path, data, size);
        match_all_methods(r, path, size, added, nadded);
        free(path);
    } else {
        *sep = '\0';
        char *line = text, *next;
        for (; line && nadded < MAX_ROUTES; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            if (line[0] < '0' || line[0] > '7' || !line[1])
                continue;
            if (tern_router_add(r, (tern_method)(line[0] - '0'), line + 2, &tokens[nadded]) == 0)
                added[nadded] = &tokens[nadded], nadded++;
        }
        for (line = sep + 2; line; line = next) {
            next = strchr(line, '\n');
            size_t len = next ? (size_t)(next - line) : strlen(line);
            char *path = malloc(len ? len : 1);
            memcpy(path, line, len);
            match_all_methods(r, path, len, added, nadded);
            free(path);
            if (next)
                next++;
        }
        if (tern_router_count(r) != nadded)
            abort();
    }
    tern_router_free(r);
    free(text);
    return 0;
}
