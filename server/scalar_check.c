/* server/scalar_check.c - the scalar rules shared by parameter and body validation:
 * pydantic 2's lax parsing of text into int, float and bool, UTF-8 helpers, string
 * lengths in characters, POSIX patterns searched in a fixed locale, numeric bounds and
 * enums, each failure reported as pydantic's error type and ctx. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scalar_check.h"
#include "validation_error.h"

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

locale_t tern__text_locale(void)
{
    return text_locale;
}

/* ---- UTF-8 -------------------------------------------------------------------------- */

/* Decodes one code point of s[0..n) (n >= 1), returning the bytes it used. An ill-formed
 * sequence gives UTF8_BAD and covers its maximal subpart, the unit that Python's
 * errors="replace" turns into one U+FFFD. Follows the Unicode well-formedness table: no
 * overlongs, no surrogates, nothing past U+10FFFF. */
size_t tern__utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
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
size_t tern__utf8_fixed_len(const char *s, size_t len, bool *valid)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t out = 0;
    *valid = true;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = tern__utf8_next(u + i, len - i, &cp);
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

/* Characters (code points) in well-formed UTF-8: every byte that does not continue a
 * sequence starts one. This is Python's len(), which pydantic's bounds use. */
size_t tern__utf8_count(const char *s, size_t len)
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
        size_t k = tern__utf8_next(u + b, e - b, &cp);
        if (cp == UTF8_BAD || !is_space_cp(cp))
            break;
        b += k;
    }
    while (e > b) {
        size_t start = e - 1;
        while (start > b && (u[start] & 0xC0) == 0x80)
            start--;
        uint32_t cp;
        tern__utf8_next(u + start, e - start, &cp);
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
bool tern__parse_int(const char *s, size_t len, int64_t *out)
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
    locale_t loc = tern__text_locale();
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
bool tern__parse_float(const char *s, size_t len, double *out)
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
bool tern__parse_bool(const char *s, size_t len, bool *out)
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

bool tern__fail(tern_vfail *e, const char *type, json_t *ctx)
{
    e->type = type;
    e->ctx = ctx;
    return false;
}

json_t *tern__number_ctx(const char *key, double bound)
{
    return json_pack("{so}", key, tern_verr_number(bound));
}

json_t *tern__length_ctx(const char *key, size_t n)
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
        size_t k = tern__utf8_next(u + i, len - i, &cp);
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
json_t *tern__enum_ctx(const char *const *vals)
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
bool tern__check_int_bounds(const tern_rules *d, int64_t v, tern_vfail *e)
{
    if (d->has_le && cmp_i64_double(v, d->le) > 0)
        return tern__fail(e, "less_than_equal", tern__number_ctx("le", d->le));
    if (d->has_lt && cmp_i64_double(v, d->lt) >= 0)
        return tern__fail(e, "less_than", tern__number_ctx("lt", d->lt));
    if (d->has_ge && cmp_i64_double(v, d->ge) < 0)
        return tern__fail(e, "greater_than_equal", tern__number_ctx("ge", d->ge));
    if (d->has_gt && cmp_i64_double(v, d->gt) <= 0)
        return tern__fail(e, "greater_than", tern__number_ctx("gt", d->gt));
    return true;
}

/* Written as "not within" so that NaN fails every bound, as in pydantic. */
bool tern__check_float_bounds(const tern_rules *d, double f, tern_vfail *e)
{
    if (d->has_le && !(f <= d->le))
        return tern__fail(e, "less_than_equal", tern__number_ctx("le", d->le));
    if (d->has_lt && !(f < d->lt))
        return tern__fail(e, "less_than", tern__number_ctx("lt", d->lt));
    if (d->has_ge && !(f >= d->ge))
        return tern__fail(e, "greater_than_equal", tern__number_ctx("ge", d->ge));
    if (d->has_gt && !(f > d->gt))
        return tern__fail(e, "greater_than", tern__number_ctx("gt", d->gt));
    return true;
}

/* Searches (not anchors) like pydantic; REG_STARTEND bounds the match by len, so an
 * embedded NUL (from %00) does not end the text early. */
bool tern__regex_search(const regex_t *re, const char *t, size_t len)
{
    locale_t loc = tern__text_locale();
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
bool tern__check_str(const tern_rules *d, const char *t, size_t len, tern_vfail *e)
{
    size_t chars = tern__utf8_count(t, len);
    if (d->has_min_length && chars < d->min_length)
        return tern__fail(e, "string_too_short", tern__length_ctx("min_length", d->min_length));
    if (d->has_max_length && chars > d->max_length)
        return tern__fail(e, "string_too_long", tern__length_ctx("max_length", d->max_length));
    if (d->pattern && !tern__regex_search(d->re, t, len))
        return tern__fail(e, "string_pattern_mismatch", json_pack("{ss}", "pattern", d->pattern));
    return true;
}

bool tern__check_enum(const char *const *values, const char *t, size_t len, tern_vfail *e)
{
    for (const char *const *v = values; *v; v++)
        if (strlen(*v) == len && memcmp(*v, t, len) == 0)
            return true;
    return tern__fail(e, "enum", tern__enum_ctx(values));
}


/* Perl classes POSIX EREs lack: glibc reads "\d" as a plain 'd', so "^\d+$" would
 * quietly accept "ddd". Backslashes inside brackets are literal in POSIX. */
bool tern__uses_perl_class(const char *re)
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

bool tern__utf8_valid(const char *s)
{
    bool valid;
    tern__utf8_fixed_len(s, strlen(s), &valid);
    return valid;
}

int tern__regex_compile(const char *pattern, regex_t *re, char *why, size_t n)
{
    locale_t loc = tern__text_locale();
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0 && why)
        regerror(rc, re, why, n);
    if (loc)
        uselocale(old);
    return rc == 0 ? 0 : -1;
}

/* Bounds no number satisfies (ge 10 with le 5) are declaration mistakes. */
bool tern__bounds_empty(const tern_rules *d)
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

bool tern__bounds_finite(const tern_rules *d)
{
    return (!d->has_ge || isfinite(d->ge)) && (!d->has_gt || isfinite(d->gt)) &&
           (!d->has_le || isfinite(d->le)) && (!d->has_lt || isfinite(d->lt));
}
/* Names, patterns and enum values end up in JSON error entries, which must be UTF-8. */
bool tern__texts_valid(const char *name, const char *pattern, const char *const *enum_values)
{
    if ((name && !tern__utf8_valid(name)) || (pattern && !tern__utf8_valid(pattern)))
        return false;
    for (const char *const *v = enum_values; v && *v; v++)
        if (!tern__utf8_valid(*v))
            return false;
    return true;
}

