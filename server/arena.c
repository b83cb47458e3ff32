/* server/arena.c - bump allocation for request-scoped memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_ALIGN 16
/* Later chunks grow to at least this, so a request that allocates a lot makes few
 * malloc calls, while a typical request stays inside its embedded first chunk. */
#define ARENA_MIN_CHUNK 8192

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void tern_arena_init(tern_arena *a, void *buf, size_t buflen)
{
    a->head = a->first = NULL;
    if (buf && buflen > sizeof(tern_arena_chunk) + ARENA_ALIGN) {
        uintptr_t p = ((uintptr_t)buf + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
        tern_arena_chunk *c = (tern_arena_chunk *)p;
        size_t lost = p - (uintptr_t)buf;
        c->next = NULL;
        c->size = buflen - lost - sizeof(*c);
        c->used = 0;
        a->head = a->first = c;
    }
}

void *tern_arena_alloc(tern_arena *a, size_t n)
{
    /* sizes near SIZE_MAX would wrap in the rounding or in header + size below */
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t need = align_up(n ? n : 1);
    tern_arena_chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = need > ARENA_MIN_CHUNK ? need : ARENA_MIN_CHUNK;
        if (c && c->size * 2 > size && c->size * 2 <= 1u << 20)
            size = c->size * 2;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    return p;
}

char *tern_arena_strndup(tern_arena *a, const char *s, size_t len)
{
    char *d = tern_arena_alloc(a, len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

void tern_arena_reset(tern_arena *a)
{
    tern_arena_chunk *c = a->head;
    while (c && c != a->first) {
        tern_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = a->first;
    if (a->first) {
        a->first->used = 0;
        a->first->next = NULL;
    }
}
