/* server/arena.h - a bump allocator for one request's memory: chunks are freed
 * together when the request ends. The first chunk is embedded in the owner, so a
 * small request allocates nothing from malloc. Not thread-safe. */
#ifndef TERN_ARENA_H
#define TERN_ARENA_H

#include <stddef.h>

/** One chunk of arena memory; data follows the header. */
typedef struct tern_arena_chunk {
    struct tern_arena_chunk *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
} tern_arena_chunk;

/** An arena. */
typedef struct tern_arena {
    tern_arena_chunk *head;      /**< chunk being filled */
    tern_arena_chunk *first;     /**< the embedded chunk (never freed) */
} tern_arena;

/** Starts an arena whose first chunk is the caller's buffer (NULL, 0: none). */
void tern_arena_init(tern_arena *a, void *buf, size_t buflen);

/** n bytes, 16-byte aligned; NULL when malloc fails. */
void *tern_arena_alloc(tern_arena *a, size_t n);

/** A NUL-terminated copy of s[0..len). */
char *tern_arena_strndup(tern_arena *a, const char *s, size_t len);

/** Frees every chunk but the first and empties the arena for reuse. */
void tern_arena_reset(tern_arena *a);

#endif
