/* server/json_out.h - JSON text exactly as FastAPI writes it (json.dumps with
 * separators (",", ":"), ensure_ascii=False): compact, UTF-8 kept, and floats in
 * Python's repr (0.1, not jansson's 0.10000000000000001). One pass into a buffer. */
#ifndef TERN_JSON_OUT_H
#define TERN_JSON_OUT_H

#include <stddef.h>
#include <jansson.h>

/** A growable output buffer. */
typedef struct tern_buf {
    char *p;
    size_t len, cap;
} tern_buf;

/** Appends the JSON text of j to b. 0; -ENOMEM; -EINVAL for NaN or infinity (which
 *  JSON cannot carry: FastAPI fails those too) or nesting deeper than 512. */
int tern_json_dump(tern_buf *b, const json_t *j);

/** Writes v as Python's repr(float) would ("0.1", "1.0", "1e+16", "-0.0"); returns
 *  the length. out needs 32 bytes. */
size_t tern_json_format_double(double v, char *out);

/** Frees the buffer's memory. */
void tern_buf_free(tern_buf *b);

#endif
