/* server/asan.h - TERN_ASAN is defined when AddressSanitizer instruments this build
 * (gcc says so with __SANITIZE_ADDRESS__, clang through __has_feature). */
#ifndef TERN_ASAN_H
#define TERN_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define TERN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TERN_ASAN 1
#endif
#endif

#endif
