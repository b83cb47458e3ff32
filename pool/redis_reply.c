/* pool/redis_reply.c - replies out of hiredis: the deep copy into the caller's scope
 * memory (hiredis frees its reply as soon as our callback returns), and the two JSON
 * views. Redis strings are bytes; JSON strings are UTF-8, so bytes that are not valid
 * UTF-8 become U+FFFD rather than failing the whole conversion. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "redis_impl.h"

tern_redis_reply *tern__redis_reply_copy(tern_arena *a, const redisReply *r)
{
    tern_redis_reply *out = tern_arena_alloc(a, sizeof(*out));
    if (!out)
        return NULL;
    memset(out, 0, sizeof(*out));
    out->type = r->type;
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        out->str = tern_arena_strndup(a, r->str ? r->str : "", r->str ? r->len : 0);
        out->len = r->str ? r->len : 0;
        if (!out->str)
            return NULL;
        break;
    case REDIS_REPLY_INTEGER:
        out->integer = r->integer;
        break;
    case REDIS_REPLY_ARRAY:
        if (!r->elements)
            break;
        out->element = tern_arena_alloc(a, r->elements * sizeof(*out->element));
        if (!out->element)
            return NULL;
        for (size_t i = 0; i < r->elements; i++)
            if (!(out->element[i] = tern__redis_reply_copy(a, r->element[i])))
                return NULL;
        out->elements = r->elements;
        break;
    default: /* NIL */
        break;
    }
    return out;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* s as valid UTF-8: s itself when it is (*copy NULL), else a malloc'd copy with
 * U+FFFD for every byte that starts no valid sequence. NULL when out of memory. */
static const char *utf8_clean(const char *s, size_t len, size_t *out_len, char **copy)
{
    const unsigned char *u = (const unsigned char *)s;
    *copy = NULL;
    *out_len = len;
    size_t i = 0, k;
    while (i < len && (k = utf8_seq(u + i, len - i)))
        i += k;
    if (i == len)
        return s;
    char *d = malloc(len * 3 + 1); /* each bad byte grows to 3 */
    if (!d)
        return NULL;
    memcpy(d, s, i);
    size_t n = i;
    while (i < len) {
        k = utf8_seq(u + i, len - i);
        if (k) {
            memcpy(d + n, s + i, k);
            n += k;
            i += k;
        } else {
            memcpy(d + n, "\xEF\xBF\xBD", 3);
            n += 3;
            i++;
        }
    }
    *copy = d;
    *out_len = n;
    return d;
}

static json_t *json_text(const char *s, size_t len)
{
    char *copy;
    size_t n;
    const char *t = utf8_clean(s, len, &n, &copy);
    json_t *j = t ? json_stringn_nocheck(t, n) : NULL;
    free(copy);
    return j;
}

json_t *tern_redis_reply_json(const tern_redis_reply *r)
{
    if (!r)
        return NULL;
    switch (r->type) {
    case TERN_REDIS_STRING:
    case TERN_REDIS_STATUS:
        return json_text(r->str, r->len);
    case TERN_REDIS_INTEGER:
        return json_integer(r->integer);
    case TERN_REDIS_ERROR: {
        json_t *o = json_object();
        if (o && json_object_set_new(o, "error", json_text(r->str, r->len)) < 0) {
            json_decref(o);
            return NULL;
        }
        return o;
    }
    case TERN_REDIS_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < r->elements; i++) {
            if (json_array_append_new(a, tern_redis_reply_json(r->element[i])) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    default:
        return json_null();
    }
}

json_t *tern_redis_reply_object(const tern_redis_reply *r)
{
    if (!r || r->type != TERN_REDIS_ARRAY || r->elements % 2)
        return NULL;
    for (size_t i = 0; i < r->elements; i += 2) {
        int t = r->element[i]->type;
        if (t != TERN_REDIS_STRING && t != TERN_REDIS_STATUS)
            return NULL; /* field names are strings: this is some other array */
    }
    json_t *o = json_object();
    for (size_t i = 0; o && i < r->elements; i += 2) {
        const tern_redis_reply *k = r->element[i];
        char *copy;
        size_t n;
        const char *key = utf8_clean(k->str, k->len, &n, &copy);
        json_t *v = tern_redis_reply_json(r->element[i + 1]);
        int rc = key && v ? json_object_setn_new_nocheck(o, key, n, v) : -1;
        free(copy);
        if (rc < 0) {
            if (!key) /* set_new took v even on failure, but was not called */
                json_decref(v);
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
