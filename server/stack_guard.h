/* server/stack_guard.h - reports a coroutine stack overflow (a fault in or below a
 * coroutine stack's guard page) with one line naming the route and the setting to
 * raise, then lets the fault take its previous course (internal). */
#ifndef TERN_STACK_GUARD_H
#define TERN_STACK_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coro.h"

/** How far below a coroutine stack a fault and stack pointer still count as its
 *  overflow: one frame larger than the guard page can jump past it. */
#define TERN_STACK_GUARD_REACH (1024 * 1024)

/** Installs the process-wide SIGSEGV/SIGBUS handler (once; earlier handlers, such as
 *  AddressSanitizer's, are chained to) and gives the calling thread an alternate
 *  signal stack unless it has one. stack_bytes is coroutine.stack_bytes as configured,
 *  for the message. 0, or a negative code with tern_errmsg. Per worker thread. */
int tern__stack_guard_install(size_t stack_bytes);

/** Removes and frees the calling thread's alternate signal stack if install made it. */
void tern__stack_guard_thread_done(void);

/** True when a fault at addr with stack pointer sp, while co runs, is co's stack
 *  overflowing: addr is in its guard page, or sp has left the stack downwards (by at
 *  most TERN_STACK_GUARD_REACH) and addr lies below the stack too. */
bool tern__stack_guard_overflowed(const tern_coro *co, const void *addr, uintptr_t sp);

/** Writes the overflow report for route (method + pattern, NULL when the coroutine
 *  serves no request) into buf (always NUL-terminated); returns its length.
 *  Async-signal-safe: the signal handler uses it, tests check its text. */
size_t tern__stack_guard_message(char *buf, size_t n, const char *method, const char *pattern,
                                 size_t stack_bytes);

#endif
