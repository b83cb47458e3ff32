/* tests/fuzz/fuzz_params.c - query-string parsing, percent-decoding and parameter
 * validation against any request text.
 *
 * Input: up to four lines: a path parameter's raw value, a query string, a header
 * value, a cookie header. They feed a fixed set of declarations that uses every type
 * and constraint (bounds, lengths, a regex, enums, defaults, required). Checked
 * beyond "no crash, no leak": every validated text is valid UTF-8 (jansson accepts
 * it), integer values keep their bounds, and the 422 error list serializes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "param_check.h"
#include "query.h"

static const tern_param decls[] = {
    TERN_PATH_INT("item_id", TERN_GE(1), TERN_LE(1000000)),
    TERN_QUERY_STR("q", TERN_MIN_LENGTH(2), TERN_MAX_LENGTH(50), TERN_PATTERN("^[a-z]+[0-9]*$")),
    TERN_QUERY_INT("limit", TERN_GT(0), TERN_LT(101), TERN_DEFAULT("10")),
    TERN_QUERY_FLOAT("price", TERN_GE(0.5), TERN_LE(1e6)),
    TERN_QUERY_BOOL("flag", TERN_REQUIRED),
    TERN_QUERY_ENUM("order", TERN_ENUM_VALUES("asc", "desc"), TERN_DEFAULT("asc")),
    TERN_QUERY_STR("name"),
    TERN_HEADER_STR("x_token", TERN_MAX_LENGTH(20)),
    TERN_HEADER_INT("x_count", TERN_GE(-5)),
    TERN_COOKIE_STR("session", TERN_MIN_LENGTH(1)),
};
#define NDECLS (sizeof decls / sizeof decls[0])

typedef struct input {
    const char *path, *header, *cookie;
    size_t path_len, header_len;
    tern_query query;
    tern_arena *arena;
} input;

/* The cookie lookup of a request: "a=1; session=x". */
static const char *cookie_get(const input *in, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *p = in->cookie; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';'), *eq = strchr(p, '=');
        if (!end)
            end = p + strlen(p);
        if (eq && eq < end && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
            *len = (size_t)(end - eq - 1);
            return tern_arena_strndup(in->arena, eq + 1, *len);
        }
        p = end;
    }
    return NULL;
}

static const char *source_get(void *ctx, tern_param_in where, const char *name, size_t *len)
{
    input *in = ctx;
    switch (where) {
    case TERN_IN_PATH:
        *len = in->path_len;
        return in->path;
    case TERN_IN_QUERY:
        return tern_query_get(&in->query, name, len);
    case TERN_IN_HEADER:
        if (strcasecmp(name, "x-token") == 0 || strcasecmp(name, "x-count") == 0) {
            *len = in->header_len;
            return in->header;
        }
        return NULL;
    case TERN_IN_COOKIE:
        return cookie_get(in, name, len);
    }
    return NULL;
}

/* Splits off the next line of [*p, end); NULL when the input ran out. */
static const char *take_line(const char **p, const char *end, size_t *len)
{
    if (*p >= end)
        return NULL;
    const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    *len = nl ? (size_t)(nl - s) : (size_t)(end - s);
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tern_param_set set;
    static int ready;
    if (!ready) {
        if (tern_param_set_init(&set, decls, NDECLS) != 0)
            abort();
        ready = 1;
    }

    tern_arena arena;
    tern_arena_init(&arena, NULL, 0);
    input in = {.arena = &arena};
    const char *p = (const char *)data, *end = p + size;
    size_t qlen = 0, clen = 0;

    /* Each piece goes through an exact-size arena copy, as a request's would, so an
     * over-read shows. */
    const char *s = take_line(&p, end, &in.path_len);
    if (s)
        in.path = tern_percent_decode(&arena, s, in.path_len, false, &in.path_len);
    if ((s = take_line(&p, end, &qlen)) && tern_query_parse(&arena, s, qlen, 64, &in.query) != 0)
        abort();
    if ((s = take_line(&p, end, &in.header_len)))
        in.header = tern_arena_strndup(&arena, s, in.header_len);
    if ((s = take_line(&p, end, &clen)))
        in.cookie = tern_arena_strndup(&arena, s, clen);

    tern_param_value values[NDECLS];
    json_t *errors = json_array();
    tern_param_source src = {.get = source_get, .ctx = &in};
    size_t nerr = tern_params_check(&set, &src, &arena, values, errors);
    if (nerr != json_array_size(errors))
        abort();
    if (nerr == 0) {
        for (size_t i = 0; i < NDECLS; i++) {
            if (!values[i].present)
                continue;
            json_t *str = json_stringn(values[i].text, values[i].len);
            if (!str) /* not UTF-8 */
                abort();
            json_decref(str);
        }
        if (values[0].i < 1 || values[0].i > 1000000 || values[2].i <= 0 || values[2].i >= 101)
            abort();
    }
    char *dump = json_dumps(errors, JSON_COMPACT);
    if (!dump)
        abort();
    free(dump);
    json_decref(errors);
    tern_arena_reset(&arena);
    return 0;
}
