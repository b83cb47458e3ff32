/* server/param_check.c - validates declared path/query/header/cookie parameters the way
 * FastAPI (pydantic 2) does: the same accepted spellings for int, float and bool, the
 * same first-failing constraint, the same error entries, every error of a request at
 * once. Declarations are checked and their regexes compiled once, at registration. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "param_check.h"
#include "tern/error.h"
#include "validation_error.h"

/* Marks an ill-formed UTF-8 sequence in utf8_next (no code point is this large). */
#define UTF8_BAD UINT32_MAX

/* ---- locale ------------------------------------------------------------------------ */

/* Parsing must not depend on the process locale: an application that calls
 * setlocale(LC_ALL, "") in a comma-decimal locale would otherwise reject "2.5". And
 * regexes should see characters, not bytes, as pydantic's do: glibc's regcomp and
 * regexec read LC_CTYPE of the calling thread, so we switch the thread to C.UTF-8 for
 * the duration of the call (uselocale is a thread-local pointer swap). */
static locale_t text_locale;

/* Made before main, so no thread races to make it (and no pthread_once: with the
 * project's -Iserver, <pthread.h> would pick up server/scheduler.h for <sched.h>). */
__attribute__((constructor)) static void text_locale_init(void)
{
    text_locale = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
    if (!text_locale)
        text_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Freed at exit so leak checkers see a clean process. */
__attribute__((destructor)) static void text_locale_free(void)
{
    if (text_locale)
        freelocale(text_locale);
    text_locale = (locale_t)0;
}

static locale_t get_text_locale(void)
{
    return text_locale;
}

/* ---- UTF-8 -------------------------------------------------------------------------- */

/* Decodes one code point of s[0..n) (n >= 1), returning the bytes it used. An ill-formed
 * sequence gives UTF8_BAD and covers its maximal subpart, the unit that Python's
 * errors="replace" turns into one U+FFFD. Follows the Unicode well-formedness table: no
 * overlongs, no surrogates, nothing past U+10FFFF. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t need;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1, v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2, v = c & 0x0F;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3, v = c & 0x07;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else {
        *cp = UTF8_BAD;
        return 1;
    }
    size_t i = 1;
    for (; i <= need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *cp = UTF8_BAD;
            return i;
        }
        v = (v << 6) | (s[i] & 0x3F);
        lo = 0x80, hi = 0xBF;
    }
    *cp = v;
    return i;
}

/* The length s[0..len) takes once every ill-formed subpart becomes U+FFFD (3 bytes);
 * *valid says whether it was well-formed already. */
static size_t utf8_fixed_len(const char *s, size_t len, bool *valid)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t out = 0;
    *valid = true;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_next(u + i, len - i, &cp);
        if (cp == UTF8_BAD) {
            *valid = false;
            out += 3;
        } else {
            out += k;
        }
        i += k;
    }
    return out;
}

/* Copies received text into the arena, NUL-terminated, with ill-formed UTF-8 replaced
 * by U+FFFD as Starlette's decoding does: lengths, patterns, the handler and the JSON
 * error entry then all see the text FastAPI would (and jansson refuses invalid UTF-8).
 * The copy also keeps the value alive for the handler whatever the source's storage. */
static char *text_copy(tern_arena *a, const char *s, size_t len, size_t *out_len)
{
    bool valid;
    size_t n = utf8_fixed_len(s, len, &valid);
    char *d = tern_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    if (valid) {
        memcpy(d, s, len);
    } else {
        const unsigned char *u = (const unsigned char *)s;
        size_t o = 0;
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t k = utf8_next(u + i, len - i, &cp);
            if (cp == UTF8_BAD)
                memcpy(d + o, "\xEF\xBF\xBD", 3), o += 3;
            else
                memcpy(d + o, s + i, k), o += k;
            i += k;
        }
    }
    d[n] = '\0';
    *out_len = n;
    return d;
}

/* Characters (code points) in well-formed UTF-8: every byte that does not continue a
 * sequence starts one. This is Python's len(), which pydantic's bounds use. */
static size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* Rust's char::is_whitespace (Unicode White_Space): what pydantic's str.trim() strips. */
static bool is_space_cp(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Narrows s[0..*len) to its trimmed middle (the text is well-formed UTF-8). */
static void trim(const char **s, size_t *len)
{
    const unsigned char *u = (const unsigned char *)*s;
    size_t b = 0, e = *len;
    while (b < e) {
        uint32_t cp;
        size_t k = utf8_next(u + b, e - b, &cp);
        if (cp == UTF8_BAD || !is_space_cp(cp))
            break;
        b += k;
    }
    while (e > b) {
        size_t start = e - 1;
        while (start > b && (u[start] & 0xC0) == 0x80)
            start--;
        uint32_t cp;
        utf8_next(u + start, e - start, &cp);
        if (cp == UTF8_BAD || !is_space_cp(cp))
            break;
        e = start;
    }
    *s += b;
    *len = e - b;
}

/* ---- scalar parsing ----------------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits with single underscores between them (Python's int() grammar, which pydantic
 * follows), accumulated into *acc; sets *overflow past UINT64_MAX. Returns the index
 * after the run, or 0 when s[i] does not start one. */
static size_t scan_int_digits(const char *s, size_t len, size_t i, uint64_t *acc, bool *overflow)
{
    if (i >= len || !is_digit(s[i]))
        return 0;
    for (; i < len; i++) {
        if (s[i] == '_') {
            if (i + 1 >= len || !is_digit(s[i + 1]))
                return 0;
            continue;
        }
        if (!is_digit(s[i]))
            break;
        unsigned d = (unsigned)(s[i] - '0');
        if (*acc > (UINT64_MAX - d) / 10)
            *overflow = true;
        else
            *acc = *acc * 10 + d;
    }
    return i;
}

/* pydantic-core's str_as_int, limited to int64: surrounding whitespace, one optional
 * sign, digits (leading zeros and Python's single underscores allowed), and an optional
 * fraction made only of zeros ("5.0" is 5; "5.5", "5." and "1e3" are not integers). */
static bool parse_int(const char *s, size_t len, int64_t *out)
{
    trim(&s, &len);
    size_t i = 0;
    bool neg = false, overflow = false;
    uint64_t acc = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    i = scan_int_digits(s, len, i, &acc, &overflow);
    if (i == 0)
        return false;
    if (i < len) {
        if (s[i] != '.' || i + 1 == len)
            return false;
        for (i++; i < len; i++)
            if (s[i] != '0')
                return false;
    }
    if (overflow || acc > (uint64_t)INT64_MAX + neg)
        return false;
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return true;
}

/* s[0..len) equals word, ASCII case-insensitively. */
static bool word_eq(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* Rust's f64::from_str grammar, which pydantic's float parsing uses: an optional sign,
 * then inf / infinity / nan (any case) or digits with an optional point and exponent.
 * No hex, no "nan(...)", no spaces: stricter than strtod, which only converts after. */
static bool float_syntax(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    if (word_eq(s + i, len - i, "inf") || word_eq(s + i, len - i, "infinity") ||
        word_eq(s + i, len - i, "nan"))
        return true;
    for (; i < len && is_digit(s[i]); i++)
        digits++;
    if (i < len && s[i] == '.')
        for (i++; i < len && is_digit(s[i]); i++)
            digits++;
    if (digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        for (; i < len && is_digit(s[i]); i++)
            exp_digits++;
        if (exp_digits == 0)
            return false;
    }
    return i == len;
}

/* Converts text that passed float_syntax; what follows it in s must not extend a number
 * (it is whitespace or the end), so strtod stops exactly where the syntax did. */
static double to_double(const char *s)
{
    locale_t loc = get_text_locale();
    return loc ? strtod_l(s, NULL, loc) : strtod(s, NULL);
}

/* pydantic's fallback: with single underscores that neither start nor end the text,
 * drop them and parse again, untrimmed (so " 1_0" fails where pydantic's fails). */
static bool parse_float_underscores(const char *s, size_t len, double *out)
{
    if (len == 0 || !memchr(s, '_', len) || s[0] == '_' || s[len - 1] == '_' ||
        memmem(s, len, "__", 2))
        return false;
    char *t = malloc(len + 1);
    if (!t)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] != '_')
            t[n++] = s[i];
    t[n] = '\0';
    bool ok = float_syntax(t, n);
    if (ok)
        *out = to_double(t);
    free(t);
    return ok;
}

/* pydantic-core's str_as_float: the trimmed text as a Rust float, else the underscore
 * form. Overflow gives inf, as in Rust and Python. */
static bool parse_float(const char *s, size_t len, double *out)
{
    const char *t = s;
    size_t tl = len;
    trim(&t, &tl);
    if (float_syntax(t, tl)) {
        *out = to_double(t);
        return true;
    }
    return parse_float_underscores(s, len, out);
}

/* pydantic-core's str_as_bool: exact words, ASCII case-insensitive, no trimming. */
static bool parse_bool(const char *s, size_t len, bool *out)
{
    static const char *const no[] = {"0", "f", "n", "no", "off", "false"};
    static const char *const yes[] = {"1", "t", "y", "on", "yes", "true"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (word_eq(s, len, no[i]) || word_eq(s, len, yes[i])) {
            *out = word_eq(s, len, yes[i]);
            return true;
        }
    }
    return false;
}

/* ---- errors ------------------------------------------------------------------------- */

/* A failed check: pydantic's error type and its ctx (a new reference, or NULL). */
typedef struct verr {
    const char *type;
    json_t *ctx;
} verr;

static bool fail(verr *e, const char *type, json_t *ctx)
{
    e->type = type;
    e->ctx = ctx;
    return false;
}

static json_t *number_ctx(const char *key, double bound)
{
    return json_pack("{so}", key, tern_verr_number(bound));
}

static json_t *length_ctx(const char *key, size_t n)
{
    return json_pack("{sI}", key, (json_int_t)n);
}

/* Python's repr() of a str, into out (NULL: only measure); returns its length. Quotes
 * like Python: single, unless the text holds a ' and no ". Escapes backslash, the quote,
 * \t \n \r, and as \xNN the controls and the non-printable Latin-1 characters. */
static size_t py_repr(char *out, const char *s)
{
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    size_t n = 0;
#define EMIT(c) (out ? (void)(out[n] = (char)(c)) : (void)0, n++)
    EMIT(q);
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_next(u + i, len - i, &cp);
        const char *esc = cp == '\\'   ? "\\\\"
                          : cp == '\t' ? "\\t"
                          : cp == '\n' ? "\\n"
                          : cp == '\r' ? "\\r"
                                       : NULL;
        char hex[8];
        if (!esc && (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD)) {
            snprintf(hex, sizeof hex, "\\x%02x", (unsigned)cp);
            esc = hex;
        }
        if (cp == (uint32_t)q) {
            EMIT('\\');
            EMIT(q);
        } else if (esc) {
            for (const char *p = esc; *p; p++)
                EMIT(*p);
        } else {
            for (size_t j = 0; j < k; j++)
                EMIT(s[i + j]);
        }
        i += k;
    }
    EMIT(q);
#undef EMIT
    return n;
}

/* pydantic's "expected" for an enum: "'a'", "'a' or 'b'", "'a', 'b' or 'c'". */
static json_t *enum_ctx(const char *const *vals)
{
    size_t count = 0, size = 1;
    for (; vals[count]; count++)
        size += py_repr(NULL, vals[count]) + 4; /* ", " or " or " */
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        memcpy(buf + n, sep, strlen(sep));
        n += strlen(sep);
        n += py_repr(buf + n, vals[i]);
    }
    buf[n] = '\0';
    json_t *ctx = json_pack("{ss}", "expected", buf);
    free(buf);
    return ctx;
}

/* ---- checks ------------------------------------------------------------------------- */

/* Compares an int64 with a double exactly (a cast of either side could round). */
static int cmp_i64_double(int64_t v, double b)
{
    if (b >= 9223372036854775808.0)
        return -1;
    if (b < -9223372036854775808.0)
        return 1;
    double fl = floor(b);
    int64_t fi = (int64_t)fl;
    if (v != fi)
        return v < fi ? -1 : 1;
    return b > fl ? -1 : 0;
}

/* pydantic checks bounds in the order le, lt, ge, gt and reports only the first. */
static bool check_int_bounds(const tern_param *d, int64_t v, verr *e)
{
    if (d->has_le && cmp_i64_double(v, d->le) > 0)
        return fail(e, "less_than_equal", number_ctx("le", d->le));
    if (d->has_lt && cmp_i64_double(v, d->lt) >= 0)
        return fail(e, "less_than", number_ctx("lt", d->lt));
    if (d->has_ge && cmp_i64_double(v, d->ge) < 0)
        return fail(e, "greater_than_equal", number_ctx("ge", d->ge));
    if (d->has_gt && cmp_i64_double(v, d->gt) <= 0)
        return fail(e, "greater_than", number_ctx("gt", d->gt));
    return true;
}

/* Written as "not within" so that NaN fails every bound, as in pydantic. */
static bool check_float_bounds(const tern_param *d, double f, verr *e)
{
    if (d->has_le && !(f <= d->le))
        return fail(e, "less_than_equal", number_ctx("le", d->le));
    if (d->has_lt && !(f < d->lt))
        return fail(e, "less_than", number_ctx("lt", d->lt));
    if (d->has_ge && !(f >= d->ge))
        return fail(e, "greater_than_equal", number_ctx("ge", d->ge));
    if (d->has_gt && !(f > d->gt))
        return fail(e, "greater_than", number_ctx("gt", d->gt));
    return true;
}

/* Searches (not anchors) like pydantic; REG_STARTEND bounds the match by len, so an
 * embedded NUL (from %00) does not end the text early. */
static bool regex_search(const regex_t *re, const char *t, size_t len)
{
    locale_t loc = get_text_locale();
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    int rc;
#ifdef REG_STARTEND
    regmatch_t m[1] = {{.rm_so = 0, .rm_eo = (regoff_t)len}};
    rc = regexec(re, t, 1, m, REG_STARTEND);
#else
    (void)len;
    rc = regexec(re, t, 0, NULL, 0);
#endif
    if (loc)
        uselocale(old);
    return rc == 0;
}

/* pydantic's string constraints, in its order: min_length, max_length, pattern. */
static bool check_str(const tern_param *d, const regex_t *re, const char *t, size_t len, verr *e)
{
    size_t chars = utf8_count(t, len);
    if (d->has_min_length && chars < d->min_length)
        return fail(e, "string_too_short", length_ctx("min_length", d->min_length));
    if (d->has_max_length && chars > d->max_length)
        return fail(e, "string_too_long", length_ctx("max_length", d->max_length));
    if (d->pattern && !regex_search(re, t, len))
        return fail(e, "string_pattern_mismatch", json_pack("{ss}", "pattern", d->pattern));
    /* Checked last, so pydantic's own errors come first as in FastAPI. A decoded %00
     * would cut the C string a handler reads ("a%00b" read as "a", a classic way past
     * a suffix check): the handler would not see what the client sent, so refuse it. */
    if (memchr(t, '\0', len))
        return fail(e, "value_error", json_pack("{ss}", "error", "NUL characters are not allowed"));
    return true;
}

static bool check_enum(const tern_param *d, const char *t, size_t len, verr *e)
{
    for (const char *const *v = d->enum_values; *v; v++)
        if (strlen(*v) == len && memcmp(*v, t, len) == 0)
            return true;
    return fail(e, "enum", enum_ctx(d->enum_values));
}

/* Parses and checks well-formed UTF-8 text t[0..len) for declaration i into *v. */
static bool check_value(const tern_param_set *set, size_t i, const char *t, size_t len,
                        tern_param_value *v, verr *e)
{
    const tern_param *d = &set->decls[i];
    switch (d->type) {
    case TERN_T_STR:
        return check_str(d, &set->regexes[i], t, len, e);
    case TERN_T_INT:
        if (!parse_int(t, len, &v->i))
            return fail(e, "int_parsing", NULL);
        return check_int_bounds(d, v->i, e);
    case TERN_T_FLOAT:
        if (!parse_float(t, len, &v->f))
            return fail(e, "float_parsing", NULL);
        return check_float_bounds(d, v->f, e);
    case TERN_T_BOOL:
        return parse_bool(t, len, &v->b) ? true : fail(e, "bool_parsing", NULL);
    case TERN_T_ENUM:
        return check_enum(d, t, len, e);
    }
    return fail(e, "missing", NULL); /* unreachable: init rejects other types */
}

/* The name the source is asked for and errors report: FastAPI's header alias turns '_'
 * into '-' ("x_token" is header x-token, loc ["header","x-token"]). Other locations use
 * the name as declared. Short names convert into buf, long ones into the arena. */
static const char *wire_name(const tern_param *d, char *buf, size_t n, tern_arena *a)
{
    if (d->in != TERN_IN_HEADER || !strchr(d->name, '_'))
        return d->name;
    size_t len = strlen(d->name);
    char *s = len < n ? memcpy(buf, d->name, len + 1) : tern_arena_strndup(a, d->name, len);
    if (!s)
        return d->name;
    for (char *p = s; *p; p++)
        if (*p == '_')
            *p = '-';
    return s;
}

static void add_error(json_t *errors, json_t *entry)
{
    if (errors && entry)
        json_array_append_new(errors, entry);
    else
        json_decref(entry);
}

/* Validates declaration i into *v; returns the number of errors it added (0 or 1). */
static size_t check_param(const tern_param_set *set, size_t i, const tern_param_source *src,
                          tern_arena *a, tern_param_value *v, json_t *errors)
{
    const tern_param *d = &set->decls[i];
    char namebuf[128];
    const char *name = wire_name(d, namebuf, sizeof namebuf, a);
    size_t raw_len = 0;
    const char *raw = src && src->get ? src->get(src->ctx, d->in, name, &raw_len) : NULL;
    verr e = {NULL, NULL};
    memset(v, 0, sizeof *v);
    if (!raw && d->default_value) {
        /* Checked at init, so this only fills the typed value. */
        v->present = true;
        v->text = d->default_value;
        v->len = strlen(d->default_value);
        check_value(set, i, v->text, v->len, v, &e);
        json_decref(e.ctx);
        return 0;
    }
    if (!raw) {
        if (!d->required && d->in != TERN_IN_PATH)
            return 0;
        add_error(errors, tern_verr_make("missing", tern_verr_loc(d->in, name), json_null(), NULL));
        return 1;
    }
    size_t len = raw_len;
    const char *t = text_copy(a, raw, raw_len, &len);
    if (!t) { /* out of arena memory: the source's text is the best we have */
        t = raw;
        len = raw_len;
    }
    v->present = true;
    v->text = t;
    v->len = len;
    if (check_value(set, i, t, len, v, &e))
        return 0;
    json_t *input = json_stringn(t, len);
    add_error(errors, tern_verr_make(e.type, tern_verr_loc(d->in, name),
                                     input ? input : json_null(), e.ctx));
    return 1;
}

size_t tern_params_check(const tern_param_set *set, const tern_param_source *src, tern_arena *a,
                         tern_param_value *values, json_t *errors)
{
    /* FastAPI validates path, then query, header and cookie parameters, each group in
     * declaration order, and concatenates the errors in that order. */
    static const tern_param_in order[] = {TERN_IN_PATH, TERN_IN_QUERY, TERN_IN_HEADER,
                                          TERN_IN_COOKIE};
    size_t nerr = 0;
    if (!set)
        return 0;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (size_t i = 0; i < set->n; i++)
            if (set->decls[i].in == order[k])
                nerr += check_param(set, i, src, a, &values[i], errors);
    return nerr;
}

int tern_param_set_find(const tern_param_set *set, const char *name)
{
    for (size_t i = 0; set && name && i < set->n; i++)
        if (strcmp(set->decls[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- declarations ------------------------------------------------------------------- */

/* Sets tern_errmsg and returns -EINVAL, so each check is one line. */
__attribute__((format(printf, 1, 2))) static int bad_decl(const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tern_set_errmsg("%s", msg);
    return -EINVAL;
}

static bool is_number_type(tern_param_type t)
{
    return t == TERN_T_INT || t == TERN_T_FLOAT;
}

static bool has_numeric_bound(const tern_param *d)
{
    return d->has_ge || d->has_gt || d->has_le || d->has_lt;
}

/* Bounds no number satisfies (ge 10 with le 5) are declaration mistakes. */
static bool bounds_empty(const tern_param *d)
{
    bool lo = d->has_ge || d->has_gt, hi = d->has_le || d->has_lt;
    if (!lo || !hi)
        return false;
    double l = d->has_ge ? d->ge : d->gt, h = d->has_le ? d->le : d->lt;
    if (d->has_ge && d->has_gt)
        l = d->gt >= d->ge ? d->gt : d->ge;
    if (d->has_le && d->has_lt)
        h = d->lt <= d->le ? d->lt : d->le;
    bool strict = (d->has_gt && l == d->gt) || (d->has_lt && h == d->lt);
    return strict ? l >= h : l > h;
}

static bool bounds_finite(const tern_param *d)
{
    return (!d->has_ge || isfinite(d->ge)) && (!d->has_gt || isfinite(d->gt)) &&
           (!d->has_le || isfinite(d->le)) && (!d->has_lt || isfinite(d->lt));
}

/* Perl classes POSIX EREs lack: glibc reads "\d" as a plain 'd', so "^\d+$" would
 * quietly accept "ddd". Backslashes inside brackets are literal in POSIX. */
static bool uses_perl_class(const char *re)
{
    const char *first = NULL; /* first char inside the open bracket, NULL outside */
    for (const char *p = re; *p; p++) {
        if (first) {
            if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                const char *end = strchr(p + 2, ']');
                if (!end)
                    return false;
                p = end;
            } else if (*p == ']' && p != first) {
                first = NULL;
            }
        } else if (*p == '\\') {
            if (p[1] == 'd' || p[1] == 'D')
                return true;
            if (p[1])
                p++;
        } else if (*p == '[') {
            first = p + 1 + (p[1] == '^');
        }
    }
    return false;
}

static bool utf8_valid(const char *s)
{
    bool valid;
    utf8_fixed_len(s, strlen(s), &valid);
    return valid;
}

/* Names, patterns and enum values end up in JSON error entries, which must be UTF-8. */
static bool texts_valid(const tern_param *d)
{
    if (!utf8_valid(d->name) || (d->pattern && !utf8_valid(d->pattern)))
        return false;
    for (const char *const *v = d->enum_values; v && *v; v++)
        if (!utf8_valid(*v))
            return false;
    return true;
}

/* A name, a known location and a known type. */
static int check_decl_kind(const tern_param *d, size_t i)
{
    if (!d->name || !d->name[0])
        return bad_decl("parameter #%zu has no name", i);
    if (!texts_valid(d))
        return bad_decl("parameter #%zu: name, pattern or enum value is not valid UTF-8", i);
    if (d->in < TERN_IN_PATH || d->in > TERN_IN_COOKIE)
        return bad_decl("parameter '%s': unknown location %d", d->name, (int)d->in);
    if (d->type < TERN_T_STR || d->type > TERN_T_ENUM)
        return bad_decl("parameter '%s': unknown type %d", d->name, (int)d->type);
    return 0;
}

/* Constraints that fit the type and that some value can meet. */
static int check_decl_constraints(const tern_param *d)
{
    const char *nm = d->name;
    if ((d->has_min_length || d->has_max_length) && d->type != TERN_T_STR)
        return bad_decl("parameter '%s': min_length/max_length apply to strings only", nm);
    if (has_numeric_bound(d) && !is_number_type(d->type))
        return bad_decl("parameter '%s': ge/gt/le/lt apply to int and float only", nm);
    if (d->pattern && d->type != TERN_T_STR)
        return bad_decl("parameter '%s': pattern applies to strings only", nm);
    if (d->enum_values && d->type != TERN_T_ENUM)
        return bad_decl("parameter '%s': enum_values apply to enums only", nm);
    if (d->type == TERN_T_ENUM && (!d->enum_values || !d->enum_values[0]))
        return bad_decl("parameter '%s': enum without values", nm);
    if (!bounds_finite(d))
        return bad_decl("parameter '%s': a bound is not a finite number", nm);
    if (bounds_empty(d))
        return bad_decl("parameter '%s': no value satisfies its bounds", nm);
    if (d->has_min_length && d->has_max_length && d->min_length > d->max_length)
        return bad_decl("parameter '%s': min_length %zu > max_length %zu", nm, d->min_length,
                        d->max_length);
    if (d->pattern && uses_perl_class(d->pattern))
        return bad_decl("parameter '%s': pattern '%s' uses \\d, which POSIX regexes read as "
                        "'d'; write [0-9]",
                        nm, d->pattern);
    return 0;
}

/* FastAPI refuses a default on a path parameter; required with a default contradicts. */
static int check_decl_default(const tern_param *d)
{
    if (d->in == TERN_IN_PATH && d->default_value)
        return bad_decl("parameter '%s': a path parameter cannot have a default", d->name);
    if (d->required && d->default_value)
        return bad_decl("parameter '%s': required, yet has a default", d->name);
    return 0;
}

/* Shape checks of one declaration, before anything is compiled. */
static int check_decl_shape(const tern_param *d, size_t i)
{
    int rc = check_decl_kind(d, i);
    if (rc == 0)
        rc = check_decl_constraints(d);
    if (rc == 0)
        rc = check_decl_default(d);
    return rc;
}

static int compile_pattern(const tern_param *d, regex_t *re)
{
    locale_t loc = get_text_locale();
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    int rc = regcomp(re, d->pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[128];
        regerror(rc, re, why, sizeof why);
        bad_decl("parameter '%s': bad pattern '%s': %s", d->name, d->pattern, why);
    }
    if (loc)
        uselocale(old);
    return rc == 0 ? 0 : -EINVAL;
}

/* Header names compare as HTTP does (any case), with FastAPI's '_' for '-'. */
static int header_fold(char c)
{
    return c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static bool same_param(const tern_param *a, const tern_param *b)
{
    if (a->in != b->in)
        return false;
    if (a->in != TERN_IN_HEADER)
        return strcmp(a->name, b->name) == 0;
    const char *p = a->name, *q = b->name;
    for (; *p && *q; p++, q++)
        if (header_fold(*p) != header_fold(*q))
            return false;
    return *p == *q;
}

/* The default must pass the declaration's own checks: a default the handler could never
 * receive from a client is a bug to catch at start-up. */
static int check_default(const tern_param_set *set, size_t i)
{
    const tern_param *d = &set->decls[i];
    size_t len = strlen(d->default_value);
    if (!utf8_valid(d->default_value))
        return bad_decl("parameter '%s': default is not valid UTF-8", d->name);
    tern_param_value v;
    verr e = {NULL, NULL};
    if (check_value(set, i, d->default_value, len, &v, &e))
        return 0;
    json_t *entry = tern_verr_make(e.type, json_array(), json_null(), e.ctx);
    const char *msg = json_string_value(json_object_get(entry, "msg"));
    bad_decl("parameter '%s': default '%s' is invalid: %s", d->name, d->default_value,
             msg ? msg : e.type);
    json_decref(entry);
    return -EINVAL;
}

int tern_param_set_init(tern_param_set *set, const tern_param *decls, size_t n)
{
    if (!set)
        return bad_decl("no parameter set");
    memset(set, 0, sizeof *set);
    if (n == 0)
        return 0;
    if (!decls)
        return bad_decl("%zu parameters but no declarations", n);
    set->decls = malloc(n * sizeof *set->decls);
    set->regexes = calloc(n, sizeof *set->regexes);
    if (!set->decls || !set->regexes) {
        tern_param_set_free(set);
        tern_set_errmsg("out of memory for %zu parameter declarations", n);
        return -ENOMEM;
    }
    memcpy(set->decls, decls, n * sizeof *decls);
    for (size_t i = 0; i < n; i++) {
        const tern_param *d = &set->decls[i];
        int rc = check_decl_shape(d, i);
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (same_param(&set->decls[j], d))
                rc = bad_decl("parameter '%s': declared twice in %s", d->name,
                              tern_param_in_name(d->in));
        if (rc == 0 && d->pattern)
            rc = compile_pattern(d, &set->regexes[i]);
        if (rc == 0)
            set->n = i + 1; /* from here on, tern_param_set_free owns regexes[i] */
        if (rc == 0 && d->default_value)
            rc = check_default(set, i);
        if (rc != 0) {
            tern_param_set_free(set);
            return rc;
        }
    }
    return 0;
}

void tern_param_set_free(tern_param_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; set->regexes && i < set->n; i++)
        if (set->decls[i].pattern)
            regfree(&set->regexes[i]);
    free(set->decls);
    free(set->regexes);
    memset(set, 0, sizeof *set);
}
