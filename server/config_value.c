/* server/config_value.c - a setting's text turned into a value and stored in its field:
 * whole numbers, sizes with units ("16k"), durations with units ("10s"), "auto" worker
 * counts, bools, enum words and checked strings. A value that does not parse gets a
 * "why" (what was expected, what came instead) for the caller to put in its one-line
 * error; numbers are formatted back the way a user would write them, for those errors
 * and for --help. */
#include "config_impl.h"

#include <ctype.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------
 * Value parsing: text -> value, with a "why" on failure
 * ------------------------------------------------------------------------------ */

/* Quotes a user's value for an error message: control bytes escaped so the message
 * stays one line, long values cut so the key stays visible. */
const char *cfg_quote(const char *text, char *buf, size_t n)
{
    enum { SHOWN = 48 };
    size_t o = 0, i;

    buf[o++] = '"';
    for (i = 0; text[i] && i < SHOWN && o + 8 < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(buf + o, n - o, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    if (text[i] && o + 5 < n)
        o += (size_t)snprintf(buf + o, n - o, "...");
    snprintf(buf + o, n - o, "\"");
    return buf;
}

/* Copies text without surrounding blanks, so "8080 " from an env file still parses.
 * False when it does not fit: no number, word or size is that long. */
static bool trimmed(const char *text, char *buf, size_t n)
{
    size_t len;

    while (isspace((unsigned char)*text))
        text++;
    len = strlen(text);
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    if (len >= n)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return true;
}

/** A unit suffix and what it multiplies by; "" is the bare number. */
typedef struct unit {
    const char *suffix;
    int64_t scale;
} unit;

static const unit size_units[] = {
    {"", 1},     {"b", 1},     {"k", KIB}, {"kb", KIB}, {"kib", KIB}, {"m", MIB},
    {"mb", MIB}, {"mib", MIB}, {"g", GIB}, {"gb", GIB}, {"gib", GIB}, {0},
};

static const unit ms_units[] = {
    {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {0},
};

/* Reads decimal digits only: a sign, blank or "0x" is not a digit, so "-1" cannot wrap
 * to a huge unsigned value and "010" is ten, not eight. */
static bool read_digits(const char **p, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;

    if (!isdigit((unsigned char)*s))
        return false;
    for (; isdigit((unsigned char)*s); s++) {
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return true;
}

/* A number followed by one of units' suffixes (case-insensitive, blanks allowed
 * between): "16k", "16 KiB", "10s". */
static bool read_scaled(const char *text, const unit *units, int64_t *out)
{
    const char *p = text;
    int64_t n;

    if (!read_digits(&p, &n))
        return false;
    while (*p == ' ')
        p++;
    for (const unit *u = units; u->suffix; u++) {
        if (strcasecmp(p, u->suffix) != 0)
            continue;
        if (n > INT64_MAX / u->scale)
            return false;
        *out = n * u->scale;
        return true;
    }
    return false;
}

static int cpu_count(void)
{
    cpu_set_t set;
    long n;

    /* The affinity mask, not the machine's CPU count: a container pinned to two CPUs
     * should run two workers. */
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < INT32_MAX ? (int)n : 1;
}

/* "16k" for 16384: the range and default shown in help and errors read like input. */
static void format_size(int64_t v, char *buf, size_t n)
{
    if (v && v % GIB == 0)
        snprintf(buf, n, "%" PRId64 "g", v / GIB);
    else if (v && v % MIB == 0)
        snprintf(buf, n, "%" PRId64 "m", v / MIB);
    else if (v && v % KIB == 0)
        snprintf(buf, n, "%" PRId64 "k", v / KIB);
    else
        snprintf(buf, n, "%" PRId64, v);
}

/* "10s" for 10000: the second example in a duration error. */
static void format_ms(int64_t v, char *buf, size_t n)
{
    if (v && v % (3600 * 1000) == 0)
        snprintf(buf, n, "%" PRId64 "h", v / (3600 * 1000));
    else if (v && v % (60 * 1000) == 0)
        snprintf(buf, n, "%" PRId64 "m", v / (60 * 1000));
    else if (v && v % 1000 == 0)
        snprintf(buf, n, "%" PRId64 "s", v / 1000);
    else
        snprintf(buf, n, "%" PRId64 "ms", v);
}

/* One bound of a numeric setting, written as a user would write it. */
void cfg_format_number(const setting *s, int64_t v, char *buf, size_t n)
{
    if (s->kind == KIND_SIZE)
        format_size(v, buf, n);
    else
        snprintf(buf, n, "%" PRId64, v);
}

/* Reads a default as a number for use in messages; defaults always parse. */
static int64_t default_number(const setting *s)
{
    int64_t v = 0;
    if (!read_scaled(s->def, s->kind == KIND_SIZE ? size_units : ms_units, &v))
        v = 0;
    return v;
}

/* What a numeric setting accepts, e.g. "a size like 1048576 or 1m". */
static void expected_number(const setting *s, char *buf, size_t n)
{
    char alt[32];
    int64_t def = default_number(s);

    switch (s->kind) {
    case KIND_SIZE:
        format_size(def, alt, sizeof alt);
        snprintf(buf, n, "a size like %" PRId64 " or %s", def, alt);
        break;
    case KIND_MS:
        format_ms(def, alt, sizeof alt);
        snprintf(buf, n, "milliseconds like %" PRId64 " or %s", def, alt);
        break;
    default:
        snprintf(buf, n, "a whole number like %s%s", s->def, s->auto_cpus ? ", or auto" : "");
        break;
    }
}

/* The number in text (already trimmed into buf), without the range check. */
static bool read_number(const setting *s, const char *buf, int64_t *out)
{
    const char *p = buf;
    bool negative = *p == '-';

    if (s->auto_cpus && strcasecmp(buf, "auto") == 0) {
        int cpus = cpu_count();
        *out = cpus < s->min ? s->min : cpus > s->max ? s->max : cpus;
        return true;
    }
    if (s->kind != KIND_INT)
        return read_scaled(buf, s->kind == KIND_SIZE ? size_units : ms_units, out);
    p += negative; /* only ints take a sign: "-1" is no size or duration */
    if (!read_digits(&p, out) || *p != '\0')
        return false;
    *out = negative ? -*out : *out;
    return true;
}

static int parse_number(const setting *s, const char *text, value *v, char *why, size_t n)
{
    static const char *const noun[] = {
        [KIND_INT] = "a number",
        [KIND_SIZE] = "a size",
        [KIND_MS] = "milliseconds",
    };
    char buf[64], shown[80], what[96], lo[32], hi[32];

    if (!trimmed(text, buf, sizeof buf) || !read_number(s, buf, &v->i)) {
        expected_number(s, what, sizeof what);
        snprintf(why, n, "expected %s, got %s", what, cfg_quote(text, shown, sizeof shown));
        return -1;
    }
    if (v->i < s->min || v->i > s->max) {
        cfg_format_number(s, s->min, lo, sizeof lo);
        cfg_format_number(s, s->max, hi, sizeof hi);
        snprintf(why, n, "expected %s from %s to %s, got %s", noun[s->kind], lo, hi,
                 cfg_quote(text, shown, sizeof shown));
        return -1;
    }
    return 0;
}

/* Not in tern/config.h: no setting is a bool yet, and the unit tests reach the parser
 * through this name so the kind stays tested until one is. */
int tern_config__parse_bool(const char *text, bool *out);

int tern_config__parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    char buf[16];

    if (!trimmed(text, buf, sizeof buf))
        return -1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(buf, yes[i]) == 0 || strcasecmp(buf, no[i]) == 0) {
            *out = strcasecmp(buf, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

static int parse_bool(const char *text, value *v, char *why, size_t n)
{
    char shown[80];

    if (tern_config__parse_bool(text, &v->b) == 0)
        return 0;
    snprintf(why, n, "expected true or false (or yes/no, on/off, 1/0), got %s",
             cfg_quote(text, shown, sizeof shown));
    return -1;
}

/* "plain, json, off" (or "plain|json|off" with sep "|"). */
void cfg_enum_words(const setting *s, const char *sep, char *buf, size_t n)
{
    size_t o = 0;

    buf[0] = '\0';
    for (const enum_name *e = s->names; e->name && o < n; e++)
        o += (size_t)snprintf(buf + o, n - o, "%s%s", e == s->names ? "" : sep, e->name);
}

static int parse_enum(const setting *s, const char *text, value *v, char *why, size_t n)
{
    char buf[32], words[96], shown[80];

    if (trimmed(text, buf, sizeof buf)) {
        for (const enum_name *e = s->names; e->name; e++) {
            if (strcasecmp(buf, e->name) == 0) {
                v->e = e->value;
                return 0;
            }
        }
    }
    cfg_enum_words(s, ", ", words, sizeof words);
    snprintf(why, n, "expected one of %s, got %s", words, cfg_quote(text, shown, sizeof shown));
    return -1;
}

static int parse_string(const setting *s, const char *text, value *v, char *why, size_t n)
{
    char shown[80];
    const char *expected = s->check ? s->check(text) : NULL;

    if (expected) {
        snprintf(why, n, "expected %s, got %s", expected, cfg_quote(text, shown, sizeof shown));
        return -1;
    }
    v->str = text;
    return 0;
}

int cfg_parse_value(const setting *s, const char *text, value *v, char *why, size_t n)
{
    switch (s->kind) {
    case KIND_INT:
    case KIND_SIZE:
    case KIND_MS:
        return parse_number(s, text, v, why, n);
    case KIND_BOOL:
        return parse_bool(text, v, why, n);
    case KIND_ENUM:
        return parse_enum(s, text, v, why, n);
    case KIND_STRING:
        return parse_string(s, text, v, why, n);
    }
    return -1;
}

/* Writes a parsed value into its field. -1 only when a string copy finds no memory;
 * the field is then left as it was. */
int cfg_store_value(tern_config *c, const setting *s, const value *v)
{
    void *field = (char *)c + s->offset;
    char *copy;
    size_t z;
    int i;
    uint64_t u;

    switch (s->kind) {
    case KIND_INT:
        i = (int)v->i;
        memcpy(field, &i, sizeof i);
        break;
    case KIND_SIZE:
        z = (size_t)v->i;
        memcpy(field, &z, sizeof z);
        break;
    case KIND_MS:
        u = (uint64_t)v->i;
        memcpy(field, &u, sizeof u);
        break;
    case KIND_BOOL:
        memcpy(field, &v->b, sizeof v->b);
        break;
    case KIND_ENUM:
        memcpy(field, &v->e, sizeof v->e);
        break;
    case KIND_STRING:
        if (!(copy = strdup(v->str)))
            return -1;
        free(*(char **)field);
        *(char **)field = copy;
        break;
    }
    return 0;
}
