/* server/json_scan.h - one cheap pass over a JSON body before jansson sees it: UTF-8,
 * nesting depth and value count against the configured limits, and syntax checked the
 * way Python's json module does it, so a broken body is reported with the message and
 * character offset FastAPI's json_invalid error carries (internal). */
#ifndef TERN_JSON_SCAN_H
#define TERN_JSON_SCAN_H

#include <stddef.h>

/** Most nesting levels a limit may allow (the scanner keeps one byte per level). */
#define TERN_JSON_DEPTH_MAX 1024

/** What the scan found. */
typedef enum {
    TERN_JSCAN_OK = 0,   /**< well-formed, within limits */
    TERN_JSCAN_SYNTAX,   /**< not JSON (or not UTF-8): msg and pos say where and why */
    TERN_JSCAN_DEPTH,    /**< arrays/objects nested deeper than max_depth */
    TERN_JSCAN_ITEMS,    /**< more than max_items values and keys */
} tern_jscan_status;

/** The outcome of tern_json_scan. */
typedef struct tern_jscan {
    tern_jscan_status status;
    const char *msg;     /**< Python's JSONDecodeError.msg ("Expecting value", ...) */
    size_t pos;          /**< offset in characters (code points), as Python reports it */
    size_t skip;         /**< bytes of a leading UTF-8 BOM, which Python's json.loads drops */
} tern_jscan;

/** Scans s[0..len). max_depth (<= TERN_JSON_DEPTH_MAX) bounds nesting, max_items the
 *  number of values plus object keys. Returns out->status. */
tern_jscan_status tern_json_scan(const char *s, size_t len, size_t max_depth, size_t max_items,
                                 tern_jscan *out);

#endif
