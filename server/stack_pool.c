/* server/stack_pool.c - coroutine stacks: mmap'd regions with a PROT_NONE guard page at
 * the low end, recycled through a LIFO free list, with caps on cached and live stacks.
 * Stacks are registered with Valgrind (when built with it) and come back unpoisoned
 * under AddressSanitizer. Depends on libc only. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tern/error.h"
#include "stack_pool.h"

#include "asan.h"

#ifdef TERN_ASAN
#include <sanitizer/asan_interface.h>
/* Instrumented frames carry redzones and locals may move to the heap-like fake stack:
 * the same code needs several times the stack. */
#define STACK_SCALE 4
#else
#define STACK_SCALE 1
#endif

#ifdef TERN_HAVE_VALGRIND
#include <valgrind/valgrind.h>
#endif

#ifndef MAP_STACK
#define MAP_STACK 0
#endif

/* What a zero usable_size asks for (the documented default coroutine stack). */
#define DEFAULT_USABLE (64 * 1024)

struct tern_stack_pool {
    size_t usable;     /* usable bytes per stack, page multiple */
    size_t page;       /* guard size: one page */
    size_t max_cached; /* 0: no cap */
    size_t peak;       /* most stacks live at once since the last trim */
    size_t max_live;   /* 0: no cap */
    size_t live;
    size_t cached;
    tern_stack *free_list; /* LIFO: the head is the most recently used, warmest stack */
};

tern_stack_pool *tern_stack_pool_new(size_t usable_size, size_t max_cached, size_t max_live)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    if (usable_size == 0)
        usable_size = DEFAULT_USABLE;
    if (usable_size > (SIZE_MAX / 2) / STACK_SCALE) {
        errno = EINVAL;
        tern_set_errmsg("coroutine stack size %zu is too large", usable_size);
        return NULL;
    }
    usable_size *= STACK_SCALE;

    tern_stack_pool *p = calloc(1, sizeof(*p));
    if (!p) {
        errno = ENOMEM;
        tern_set_errmsg("out of memory for the coroutine stack pool");
        return NULL;
    }
    p->page = page;
    p->usable = (usable_size + page - 1) / page * page;
    p->max_cached = max_cached;
    p->max_live = max_live;
    return p;
}

/* Maps guard + usable in one region, then turns the lowest page into the guard. The
 * descriptor is malloc'd so the whole usable range stays the caller's. */
static tern_stack *stack_map(tern_stack_pool *p)
{
    tern_stack *s = malloc(sizeof(*s));
    if (!s) {
        errno = ENOMEM;
        tern_set_errmsg("out of memory for a coroutine stack descriptor");
        return NULL;
    }
    size_t len = p->page + p->usable;
    /* MAP_NORESERVE: only touched pages count against memory; MAP_STACK: the kernel
     * may keep transparent huge pages away from it. */
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        free(s);
        tern_set_errmsg("cannot map a %zu-byte coroutine stack: %s", len, strerror(e));
        errno = ENOMEM;
        return NULL;
    }
    /* Splitting the mapping fails with ENOMEM at vm.max_map_count (two maps per stack). */
    if (mprotect(base, p->page, PROT_NONE) != 0) {
        int e = errno;
        munmap(base, len);
        free(s);
        tern_set_errmsg("cannot protect a coroutine stack's guard page: %s", strerror(e));
        errno = ENOMEM;
        return NULL;
    }
    s->lo = (char *)base + p->page;
    s->size = p->usable;
    s->next = NULL;
#ifdef TERN_HAVE_VALGRIND
    s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + s->size);
#else
    s->valgrind_id = 0;
#endif
    return s;
}

static void stack_unmap(tern_stack_pool *p, tern_stack *s)
{
#ifdef TERN_HAVE_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
    munmap((char *)s->lo - p->page, p->page + s->size);
    free(s);
}

void tern_stack_pool_free(tern_stack_pool *p)
{
    if (!p)
        return;
    assert(p->live == 0 && "coroutine stacks still in use when their pool is freed");
    tern_stack *s = p->free_list;
    while (s) {
        tern_stack *next = s->next;
        stack_unmap(p, s);
        s = next;
    }
    free(p);
}

tern_stack *tern_stack_get(tern_stack_pool *p)
{
    if (p->max_live && p->live >= p->max_live) {
        tern_set_errmsg("coroutine limit reached (%zu live)", p->live);
        errno = EAGAIN;
        return NULL;
    }
    tern_stack *s = p->free_list;
    if (s) {
        p->free_list = s->next;
        p->cached--;
    } else if (!(s = stack_map(p))) {
        return NULL;
    }
    s->next = NULL;
    if (++p->live > p->peak)
        p->peak = p->live;
    return s;
}

void tern_stack_put(tern_stack_pool *p, tern_stack *s)
{
    assert(p->live > 0);
    p->live--;
#ifdef TERN_ASAN
    /* A coroutine that finished never ran the epilogues of its outermost frames, so
     * their redzones are still poisoned; the next coroutine must find clean memory. */
    __asan_unpoison_memory_region(s->lo, s->size);
#endif
    /* Keep as many as were live at once lately: a worker that serves 1,000 connections
     * runs 1,000 coroutines in one loop iteration, and mapping the stacks beyond a fixed
     * cache again every iteration (mmap, mprotect, page faults, munmap) cost more than
     * the requests themselves. tern_stack_pool_trim gives the surplus back later. */
    size_t cap = p->max_cached > p->peak ? p->max_cached : p->peak;
    if (p->max_cached && p->cached >= cap) {
        stack_unmap(p, s);
        return;
    }
    s->next = p->free_list;
    p->free_list = s;
    p->cached++;
}

void tern_stack_pool_trim(tern_stack_pool *p)
{
    size_t keep = p->max_cached > p->live ? p->max_cached : p->live;
    while (p->max_cached && p->cached > keep && p->free_list) {
        tern_stack *s = p->free_list;
        p->free_list = s->next;
        p->cached--;
        stack_unmap(p, s);
    }
    p->peak = p->live;
}

size_t tern_stack_pool_live(const tern_stack_pool *p)
{
    return p->live;
}

size_t tern_stack_pool_cached(const tern_stack_pool *p)
{
    return p->cached;
}

size_t tern_stack_pool_stack_size(const tern_stack_pool *p)
{
    return p->usable;
}
