/* server/log.h - the error log: leveled lines on stderr (not the hot path). */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include "tern/config.h"

/** Sets the most verbose level that is written (process-wide). */
void tern_log_set_level(tern_log_level level);

/** Sets what names the current request in each line (it returns NULL outside one). */
void tern_log_set_context(const char *(*fn)(void));

/** Writes one line "2026-11-22T10:00:00Z tern[level] [request_id=ID] message" to stderr if level passes. */
void tern_log(tern_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tern_log_error(...) tern_log(TERN_LOG_ERROR, __VA_ARGS__)
#define tern_log_warn(...) tern_log(TERN_LOG_WARN, __VA_ARGS__)
#define tern_log_info(...) tern_log(TERN_LOG_INFO, __VA_ARGS__)
#define tern_log_debug(...) tern_log(TERN_LOG_DEBUG, __VA_ARGS__)

#endif
