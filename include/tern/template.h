/* tern/template.h - a small logic-less HTML template engine (a Mustache subset) for
 * server-side pages: compile a template once at start-up, render it many times from a
 * JSON context.
 *
 * Tags:
 *   {{name}}       the value, HTML-escaped (& < > " ' become entities)
 *   {{{name}}}     the value unescaped (also {{& name}})
 *   {{#name}}..{{/name}}  a section: once per element of an array, once with an object
 *                  pushed as the context, once for other truthy values; skipped for
 *                  false, null, a missing name, an empty array or an empty string
 *   {{^name}}..{{/name}}  an inverted section: rendered only when the section would not be
 *   {{! text}}     a comment
 * Names are looked up from the innermost context outwards; `.` is the current context
 * and `a.b` walks into objects. Strings render as they are, integers in decimal, reals
 * with %.17g, booleans as true/false; null, missing names, arrays and objects render
 * as nothing. */
#ifndef TERN_TEMPLATE_H
#define TERN_TEMPLATE_H

#include <stddef.h>
#include <jansson.h>

/** A compiled template: immutable, so one may be rendered by many threads at once. */
typedef struct tern_template tern_template;

/** Compiles src (len bytes; the text is copied). NULL on a parse error, with
 *  "line N: what is wrong" written to err (err may be NULL), or when memory runs out. */
tern_template *tern_template_compile(const char *src, size_t len, char *err, size_t errlen);

/** Frees a compiled template (NULL is fine). */
void tern_template_free(tern_template *t);

/** Renders t with ctx (any JSON value; usually an object). Returns a malloc'd,
 *  NUL-terminated string that the caller frees, with its length in *len (len may be
 *  NULL); NULL when memory runs out. */
char *tern_template_render(const tern_template *t, const json_t *ctx, size_t *len);

/** Appends s (n bytes) to out HTML-escaped; for callers that build markup by hand.
 *  out must hold 6 * n + 1 bytes. Returns the bytes written (out is NUL-terminated). */
size_t tern_html_escape(char *out, const char *s, size_t n);

#endif
