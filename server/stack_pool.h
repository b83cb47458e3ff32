/* server/stack_pool.h - coroutine stacks: mmap'd regions with a PROT_NONE guard page
 * below, kept in a LIFO free list (the most recently used stack is the warmest). One
 * pool per worker thread; not thread-safe. No libuv. */
#ifndef TERN_STACK_POOL_H
#define TERN_STACK_POOL_H

#include <stddef.h>

/** A stack: [lo, lo + size) is usable; the guard page sits just below lo. */
typedef struct tern_stack {
    void *lo;                 /**< lowest usable address */
    size_t size;              /**< usable bytes (page multiple) */
    struct tern_stack *next;  /**< free-list link (owned by the pool) */
    unsigned valgrind_id;     /**< Valgrind stack registration id (0 without Valgrind) */
} tern_stack;

/** A per-worker pool of stacks. */
typedef struct tern_stack_pool tern_stack_pool;

/** Creates a pool handing out stacks of at least usable_size bytes (rounded up to
 *  pages; enlarged 4x under AddressSanitizer, whose frames are bigger), keeping at
 *  most max_cached free stacks mapped (or as many as were live at once since the last
 *  tern_stack_pool_trim, when more) and at most max_live stacks in use (0: no cap). */
tern_stack_pool *tern_stack_pool_new(size_t usable_size, size_t max_cached, size_t max_live);

/** Unmaps every cached stack and frees the pool; stacks still in use are a bug (asserted). */
void tern_stack_pool_free(tern_stack_pool *p);

/** Takes a stack (a cached one first). NULL with errno ENOMEM (mmap failed) or
 *  EAGAIN (max_live reached). */
tern_stack *tern_stack_get(tern_stack_pool *p);

/** Returns a stack to the pool (cached, or unmapped beyond max_cached). */
void tern_stack_put(tern_stack_pool *p, tern_stack *s);

/** Gives back the free stacks kept beyond max_cached because more were live at once
 *  lately (the cache follows the peak between two trims), and starts a new period. */
void tern_stack_pool_trim(tern_stack_pool *p);

/** Stacks currently handed out. */
size_t tern_stack_pool_live(const tern_stack_pool *p);
/** Stacks mapped and waiting in the free list. */
size_t tern_stack_pool_cached(const tern_stack_pool *p);
/** Usable bytes per stack. */
size_t tern_stack_pool_stack_size(const tern_stack_pool *p);

#endif
