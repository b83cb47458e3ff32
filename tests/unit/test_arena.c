/* tests/unit/test_arena.c - the request arena (server/arena.c): 16-byte alignment in
 * the embedded chunk and in malloc'd ones, many allocations spanning chunks without
 * overlap, large and zero-sized requests, size overflow, strndup, and reset (extra
 * chunks freed, the embedded chunk reused).
 *
 * Leaks only show under a checker: run this file under Valgrind too,
 *   valgrind --leak-check=full --error-exitcode=1 --trace-children=yes build/tests/test_arena
 * (--trace-children because Criterion runs every test in a child process). */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ALIGNED16(p) ((((uintptr_t)(p)) & 15u) == 0)

/* Where the embedded chunk's data starts for a given buffer: the header sits at the
 * buffer rounded up to 16, the data right after it. Lets a test tell "served from the
 * caller's buffer" from "served by malloc" without trusting the arena's own fields. */
static int in_buffer(const void *p, size_t n, const unsigned char *buf, size_t buflen)
{
    const unsigned char *q = p;
    return q >= buf && q + n <= buf + buflen;
}

/* Counts the chunks an arena holds, newest first down to (and including) the first. */
static size_t chunk_count(const tern_arena *a)
{
    size_t n = 0;
    for (const tern_arena_chunk *c = a->head; c; c = c->next)
        n++;
    return n;
}

/* ---- alignment ---- */

Test(arena, every_allocation_is_16_byte_aligned)
{
    /* Odd sizes would misalign a naive bump pointer after the first allocation. */
    _Alignas(16) unsigned char buf[2048];
    tern_arena a;
    tern_arena_init(&a, buf, sizeof buf);
    for (size_t n = 1; n <= 300; n++) {
        void *p = tern_arena_alloc(&a, n);
        cr_assert_not_null(p, "allocation of %zu bytes failed", n);
        cr_assert(ALIGNED16(p), "allocation of %zu bytes at %p is not 16-byte aligned", n, p);
        memset(p, 0xab, n);
    }
    /* 300 allocations of up to 300 bytes cannot fit 2 KiB: later ones came from malloc'd
     * chunks, which must be aligned just the same. */
    cr_assert_gt(chunk_count(&a), 1);
    tern_arena_reset(&a);
}

Test(arena, misaligned_caller_buffer_is_rounded_up)
{
    /* A buffer at an odd address (a char array inside a struct, say) still yields
     * aligned memory, all of it inside the buffer. */
    _Alignas(16) unsigned char storage[1024 + 16];
    unsigned char *buf = storage + 3;
    size_t buflen = 1024;
    tern_arena a;
    tern_arena_init(&a, buf, buflen);
    cr_assert_not_null(a.first, "a 1 KiB buffer should become the embedded chunk");
    for (int i = 0; i < 8; i++) {
        void *p = tern_arena_alloc(&a, 24);
        cr_assert(ALIGNED16(p));
        cr_assert(in_buffer(p, 24, buf, buflen), "allocation %d at %p left the buffer", i, p);
    }
    tern_arena_reset(&a);
}

Test(arena, small_allocations_stay_in_the_caller_buffer)
{
    /* The point of the embedded chunk: a small request never calls malloc. */
    _Alignas(16) unsigned char buf[4096];
    tern_arena a;
    tern_arena_init(&a, buf, sizeof buf);
    for (int i = 0; i < 32; i++) {
        void *p = tern_arena_alloc(&a, 64);
        cr_assert(in_buffer(p, 64, buf, sizeof buf), "allocation %d went to malloc", i);
    }
    cr_assert_eq(chunk_count(&a), 1);
    cr_assert_eq(a.head, a.first);
    tern_arena_reset(&a);
}

Test(arena, buffer_too_small_for_a_header_is_ignored)
{
    unsigned char buf[16];
    tern_arena a;
    tern_arena_init(&a, buf, sizeof buf);
    cr_assert_null(a.first);
    cr_assert_null(a.head);
    void *p = tern_arena_alloc(&a, 10);
    cr_assert_not_null(p);
    cr_assert(!in_buffer(p, 10, buf, sizeof buf), "a 16-byte buffer cannot hold a chunk");
    cr_assert(ALIGNED16(p));
    tern_arena_reset(&a);
    cr_assert_null(a.head);
}

/* ---- many allocations across chunks ---- */

struct piece {
    unsigned char *p;
    size_t n;
    unsigned char fill;
};

Test(arena, many_allocations_span_chunks_without_overlap)
{
    enum { COUNT = 20000 };
    _Alignas(16) unsigned char buf[1024];
    tern_arena a;
    tern_arena_init(&a, buf, sizeof buf);
    struct piece *pieces = malloc(COUNT * sizeof(*pieces));
    cr_assert_not_null(pieces);
    /* Deterministic pseudo-random sizes, 0..511 bytes: many chunk boundaries. */
    uint32_t seed = 12345;
    size_t total = 0;
    for (int i = 0; i < COUNT; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % 512;
        unsigned char *p = tern_arena_alloc(&a, n);
        cr_assert_not_null(p, "allocation %d (%zu bytes) failed", i, n);
        cr_assert(ALIGNED16(p));
        pieces[i] = (struct piece){p, n, (unsigned char)(i * 31 + 7)};
        memset(p, pieces[i].fill, n);
        total += n;
    }
    /* Every piece still holds its own pattern: no two allocations overlapped, and no
     * chunk was moved or freed while the arena grew. */
    for (int i = 0; i < COUNT; i++)
        for (size_t j = 0; j < pieces[i].n; j++)
            cr_assert_eq(pieces[i].p[j], pieces[i].fill, "piece %d byte %zu was overwritten", i,
                         j);
    /* Every piece lies inside one chunk of the arena. */
    for (int i = 0; i < COUNT; i += 97) {
        int found = 0;
        for (tern_arena_chunk *c = a.head; c && !found; c = c->next)
            found = pieces[i].p >= c->data && pieces[i].p + pieces[i].n <= c->data + c->size;
        cr_assert(found, "piece %d is in no chunk", i);
    }
    /* ~5 MB in pieces: growing chunks keep malloc calls few (8 KiB doubling to 1 MiB). */
    size_t chunks = chunk_count(&a);
    cr_assert_gt(chunks, 2, "5 MB cannot fit in %zu chunk(s)", chunks);
    cr_assert_lt(chunks, 32, "%zu chunks for %zu bytes: chunks do not grow", chunks, total);
    free(pieces);
    tern_arena_reset(&a);
}

Test(arena, large_allocations_get_their_own_chunk)
{
    tern_arena a;
    tern_arena_init(&a, NULL, 0);
    /* Bigger than the 8 KiB minimum chunk and than the 1 MiB growth cap. */
    size_t sizes[] = {9000, 3u << 20, 100};
    unsigned char *ps[3];
    for (int i = 0; i < 3; i++) {
        ps[i] = tern_arena_alloc(&a, sizes[i]);
        cr_assert_not_null(ps[i]);
        cr_assert(ALIGNED16(ps[i]));
        memset(ps[i], 'a' + i, sizes[i]);
    }
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ps[i][0], 'a' + i);
        cr_assert_eq(ps[i][sizes[i] - 1], 'a' + i);
    }
    tern_arena_reset(&a);
}

Test(arena, zero_byte_allocations_are_distinct)
{
    /* malloc(0)-style requests still return unique, usable pointers. */
    tern_arena a;
    tern_arena_init(&a, NULL, 0);
    void *p = tern_arena_alloc(&a, 0);
    void *q = tern_arena_alloc(&a, 0);
    cr_assert_not_null(p);
    cr_assert_not_null(q);
    cr_assert_neq(p, q);
    tern_arena_reset(&a);
}

Test(arena, huge_sizes_fail_instead_of_wrapping)
{
    /* A size near SIZE_MAX must give NULL; if the rounding or the chunk header size
     * wraps around, malloc gets a tiny request and the arena hands out a pointer that
     * claims gigabytes. SIZE_MAX - 20 rounds to SIZE_MAX - 15 without wrapping, but
     * header + size wraps to 16 bytes in the malloc call (a heap overflow under ASan). */
    tern_arena a;
    tern_arena_init(&a, NULL, 0);
    cr_assert_null(tern_arena_alloc(&a, SIZE_MAX));
    cr_assert_null(tern_arena_alloc(&a, SIZE_MAX - 8));
    cr_assert_null(tern_arena_alloc(&a, SIZE_MAX - 20),
                   "SIZE_MAX - 20 bytes 'succeeded': header + size wrapped in malloc");
    cr_assert_null(tern_arena_alloc(&a, SIZE_MAX / 2 + 1));
    /* The arena still works after refusing. */
    void *p = tern_arena_alloc(&a, 32);
    cr_assert_not_null(p);
    memset(p, 0, 32);
    tern_arena_reset(&a);
}

/* ---- strndup ---- */

Test(arena, strndup_copies_len_bytes_and_terminates)
{
    tern_arena a;
    tern_arena_init(&a, NULL, 0);
    const char *src = "hello, world";
    char *s = tern_arena_strndup(&a, src, 5);
    cr_assert_not_null(s);
    cr_assert_str_eq(s, "hello");
    cr_assert_neq((const char *)s, src, "strndup must copy, not alias");
    /* The source need not be NUL-terminated at len: a slice of a request buffer. */
    char slice[4] = {'a', 'b', 'c', 'd'};
    char *t = tern_arena_strndup(&a, slice, 3);
    cr_assert_str_eq(t, "abc");
    slice[0] = 'z';
    cr_assert_str_eq(t, "abc", "the copy must not follow the source");
    char *e = tern_arena_strndup(&a, "", 0);
    cr_assert_not_null(e);
    cr_assert_str_eq(e, "");
    /* Earlier copies survive later allocations. */
    for (int i = 0; i < 1000; i++)
        tern_arena_strndup(&a, "0123456789abcdef0123456789", 26);
    cr_assert_str_eq(s, "hello");
    cr_assert_str_eq(t, "abc");
    tern_arena_reset(&a);
}

/* ---- reset ---- */

Test(arena, reset_frees_extra_chunks_and_reuses_the_embedded_one)
{
    _Alignas(16) unsigned char buf[512];
    tern_arena a;
    tern_arena_init(&a, buf, sizeof buf);
    void *first_alloc = tern_arena_alloc(&a, 40);
    cr_assert(in_buffer(first_alloc, 40, buf, sizeof buf));
    /* Spill into several malloc'd chunks. */
    for (int i = 0; i < 200; i++)
        memset(tern_arena_alloc(&a, 1000), i, 1000);
    cr_assert_gt(chunk_count(&a), 3);
    tern_arena_reset(&a);
    /* Only the embedded chunk is left, empty: the extra ones went back to malloc
     * (Valgrind's leak check proves they were freed, not just dropped). */
    cr_assert_eq(a.head, a.first);
    cr_assert_eq(chunk_count(&a), 1);
    cr_assert_eq(a.first->used, 0);
    /* The next allocation starts over at the beginning of the caller's buffer. */
    void *again = tern_arena_alloc(&a, 40);
    cr_assert_eq(again, first_alloc, "after reset the embedded chunk is not reused");
    /* And the arena grows again normally after a reset. */
    for (int i = 0; i < 50; i++)
        memset(tern_arena_alloc(&a, 1000), i, 1000);
    cr_assert_gt(chunk_count(&a), 1);
    tern_arena_reset(&a);
    tern_arena_reset(&a); /* resetting an empty arena is harmless */
    cr_assert_eq(a.head, a.first);
}

Test(arena, reset_without_embedded_chunk_frees_everything)
{
    tern_arena a;
    tern_arena_init(&a, NULL, 0);
    for (int i = 0; i < 100; i++)
        memset(tern_arena_alloc(&a, 3000), i, 3000);
    cr_assert_gt(chunk_count(&a), 1);
    tern_arena_reset(&a);
    cr_assert_null(a.head);
    cr_assert_null(a.first);
    cr_assert_not_null(tern_arena_alloc(&a, 8));
    tern_arena_reset(&a);
    cr_assert_null(a.head);
}

Test(arena, reset_many_times_does_not_grow)
{
    /* A worker resets its arena after every request: a thousand request cycles must
     * not accumulate chunks (Valgrind would report them as leaks). */
    _Alignas(16) unsigned char buf[1024];
    tern_arena a;
    tern_arena_init(&a, buf, sizeof buf);
    for (int round = 0; round < 1000; round++) {
        for (int i = 0; i < 20; i++)
            tern_arena_alloc(&a, 100 + (size_t)i * 50);
        tern_arena_reset(&a);
        cr_assert_eq(a.head, a.first);
    }
}
