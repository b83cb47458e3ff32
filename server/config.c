/* server/config.c - tern's settings: built-in defaults, then a YAML file, then TERN_*
 * environment variables, then command-line flags, each layer overriding the one before.
 *
 * This file holds the public API (tern_config_defaults/set/free/copy), the loader that
 * applies a value and remembers where it came from, the environment and flag readers,
 * and tern_config_load, which runs the layers in order. The other pieces, sharing
 * config_impl.h: config_table.c (the keys), config_value.c (parsing and formatting
 * values), config_yaml.c (the YAML file) and config_usage.c (--help).
 *
 * Errors are one line, "config: KEY (WHERE): PROBLEM", so an operator sees which key was
 * wrong and which of the four layers set it. */
#include "config_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Room for the "why" part of an error (what was expected and what came instead). */
#define WHY_LEN 256
/* Room for the "where" part: "env NAME", "flag --name" or a file path and line. */
#define WHERE_LEN 512

/* ---------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------ */

/* Writes a one-line message into err (when there is room) and returns -1, so callers
 * can `return cfg_fail(...)`. */
int cfg_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---------------------------------------------------------------------------------
 * Defaults, set, free
 * ------------------------------------------------------------------------------ */

void tern_config_defaults(tern_config *c)
{
    char why[WHY_LEN];
    value v;

    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < CFG_N_SETTINGS; i++) {
        /* A default that does not parse is a bug in the table above; stop loudly so the
         * first test run finds it. */
        if (cfg_parse_value(&cfg_settings[i], cfg_settings[i].def, &v, why, sizeof why) != 0) {
            fprintf(stderr, "tern: bad built-in default for %s: %s\n", cfg_settings[i].key, why);
            abort();
        }
        /* Out of memory leaves the string NULL; tern_config_load reports it. */
        (void)cfg_store_value(c, &cfg_settings[i], &v);
    }
}

int tern_config_set(tern_config *c, const char *key, const char *value_text, char *err,
                    size_t errlen)
{
    const setting *s = cfg_find_setting(key);
    char why[WHY_LEN], hint[NAME_MAX_LEN + 32];
    value v;

    if (!s) {
        cfg_suggestion(key, "", hint, sizeof hint);
        return cfg_fail(err, errlen, "config: %s: unknown key%s", key, hint);
    }
    if (cfg_parse_value(s, value_text, &v, why, sizeof why) != 0)
        return cfg_fail(err, errlen, "config: %s: %s", key, why);
    if (cfg_store_value(c, s, &v) != 0)
        return cfg_fail(err, errlen, "config: %s: out of memory", key);
    return 0;
}

void tern_config_free(tern_config *c)
{
    /* Pointers are cleared so a second free, or a free after a failed load (which
     * already freed), is harmless. */
    for (size_t i = 0; i < CFG_N_SETTINGS; i++) {
        if (cfg_settings[i].kind == KIND_STRING) {
            char **field = (char **)((char *)c + cfg_settings[i].offset);
            free(*field);
            *field = NULL;
        }
    }
    free(c->config_path);
    c->config_path = NULL;
}

int tern_config_copy(tern_config *dst, const tern_config *src)
{
    *dst = *src;
    bool ok = true;
    for (size_t i = 0; i < CFG_N_SETTINGS; i++) {
        if (cfg_settings[i].kind == KIND_STRING) {
            char **field = (char **)((char *)dst + cfg_settings[i].offset);
            if (*field && !(*field = strdup(*field)))
                ok = false;
        }
    }
    if (dst->config_path && !(dst->config_path = strdup(dst->config_path)))
        ok = false;
    if (!ok) {
        tern_config_free(dst);
        return -ENOMEM;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Loading: where each value came from, and applying one
 * ------------------------------------------------------------------------------ */

/* "env TERN_PORT", "config/tern.yaml line 3", "flag --port". */
static void describe(const origin *o, const char *key, char *buf, size_t n)
{
    char env[NAME_MAX_LEN];

    switch (o->src) {
    case FROM_FILE:
        snprintf(buf, n, "%s line %lu", o->name, o->line);
        break;
    case FROM_ENV:
        cfg_env_name(key, env, sizeof env);
        snprintf(buf, n, "env %s", env);
        break;
    case FROM_FLAG:
        snprintf(buf, n, "flag %.*s", (int)o->namelen, o->name);
        break;
    case FROM_DEFAULT:
        snprintf(buf, n, "default");
        break;
    }
}

int cfg_apply(loader *ld, const setting *s, const char *text, const origin *o)
{
    char why[WHY_LEN], where[WHERE_LEN];
    value v;

    if (cfg_parse_value(s, text, &v, why, sizeof why) != 0) {
        describe(o, s->key, where, sizeof where);
        return cfg_fail(ld->err, ld->errlen, "config: %s (%s): %s", s->key, where, why);
    }
    if (cfg_store_value(ld->c, s, &v) != 0)
        return cfg_fail(ld->err, ld->errlen, "config: %s: out of memory", s->key);
    ld->from[s - cfg_settings] = *o;
    return 0;
}

/* An error about a key at a place, without a value to parse. */
int cfg_fail_at(loader *ld, const char *key, const origin *o, const char *fmt, ...)
{
    char where[WHERE_LEN], what[WHY_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    describe(o, key, where, sizeof where);
    return cfg_fail(ld->err, ld->errlen, "config: %s (%s): %s", key, where, what);
}

/* ---------------------------------------------------------------------------------
 * The environment
 * ------------------------------------------------------------------------------ */

static int read_env(loader *ld)
{
    char name[NAME_MAX_LEN];
    const origin o = {.src = FROM_ENV};

    /* Only the names of known keys are looked at: other TERN_* variables may belong to
     * the application or its scripts. */
    for (size_t i = 0; i < CFG_N_SETTINGS; i++) {
        const char *text;
        cfg_env_name(cfg_settings[i].key, name, sizeof name);
        if ((text = getenv(name)) && cfg_apply(ld, &cfg_settings[i], text, &o) != 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Flags
 * ------------------------------------------------------------------------------ */

typedef enum { FLAG_HELP, FLAG_CONFIG, FLAG_SETTING } flag_kind;

typedef struct flag {
    flag_kind kind;
    const setting *s;  /* FLAG_SETTING */
    const char *value; /* FLAG_CONFIG, FLAG_SETTING */
    origin from;
} flag;

/* Matches a flag name (without "--") against a name, taking '-' for '_' so both
 * --server-name and --server_name work. */
static bool flag_is(const char *name, size_t len, const char *want)
{
    size_t i;

    for (i = 0; i < len && want[i]; i++)
        if (name[i] != want[i] && !(name[i] == '-' && want[i] == '_'))
            return false;
    return i == len && want[i] == '\0';
}

static const setting *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < CFG_N_SETTINGS; i++)
        if (flag_is(name, len, cfg_settings[i].key))
            return &cfg_settings[i];
    return NULL;
}

static int unknown_flag(loader *ld, const char *arg, size_t len)
{
    char key[NAME_MAX_LEN], hint[NAME_MAX_LEN + 32];
    size_t n = len < sizeof key - 1 ? len : sizeof key - 1;

    /* The suggestion works on the key spelling; a dashed flag becomes underscored. */
    for (size_t i = 0; i < n; i++)
        key[i] = arg[2 + i] == '-' ? '_' : arg[2 + i];
    key[n] = '\0';
    cfg_suggestion(key, "--", hint, sizeof hint);
    return cfg_fail(ld->err, ld->errlen, "config: unknown flag %.*s%s (see --help)", (int)len + 2,
                    arg, hint);
}

/* The value of the flag at argv[*i]: after "=", else the next argument, which must not
 * itself be a flag (so "--port --host x" reports the missing port). Advances *i. */
static int flag_value(loader *ld, int argc, char **argv, int *i, size_t len, const char **out)
{
    const char *arg = argv[*i], *eq = arg[2 + len] == '=' ? arg + 2 + len + 1 : NULL;

    if (eq) {
        *out = eq;
        return 0;
    }
    if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
        *out = argv[++*i];
        return 0;
    }
    return cfg_fail(ld->err, ld->errlen, "config: flag %s needs a value (%s VALUE or %s=VALUE)",
                    arg, arg, arg);
}

/* Reads the flag at argv[*i], and its value, advancing *i past what it used. */
static int read_flag(loader *ld, int argc, char **argv, int *i, flag *f)
{
    const char *arg = argv[*i], *name = arg + 2;
    size_t len;

    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        f->kind = FLAG_HELP;
        return 0;
    }
    if (arg[0] == '-' && arg[1] != '-' && arg[1] != '\0')
        return cfg_fail(ld->err, ld->errlen, "config: unknown flag %s (see --help)", arg);
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return cfg_fail(ld->err, ld->errlen,
                        "config: unexpected argument \"%s\"; settings are flags like --port=8080 "
                        "(see --help)",
                        arg);
    len = strcspn(name, "=");
    f->from = (origin){.src = FROM_FLAG, .name = arg, .namelen = len + 2};
    if (flag_is(name, len, "help"))
        return cfg_fail(ld->err, ld->errlen, "config: flag --help takes no value");
    if (flag_is(name, len, "config"))
        f->kind = FLAG_CONFIG;
    else if ((f->s = find_flag(name, len)))
        f->kind = FLAG_SETTING;
    else
        return unknown_flag(ld, arg, len);
    return flag_value(ld, argc, argv, i, len, &f->value);
}

typedef struct flag_scan {
    bool help;
    const char *config; /* last --config given, or NULL */
} flag_scan;

/* First pass over the flags: finds --help and --config (needed before the file is
 * read) and reports malformed or unknown flags. --help wins over any such error, so
 * help is always reachable. Returns 1 for help, else 0 or -1. */
static int scan_flags(loader *ld, int argc, char **argv, flag_scan *scan)
{
    char later[WHY_LEN], *err = ld->err;
    size_t errlen = ld->errlen;
    int rc = 0;
    flag f;

    for (int i = 1; i < argc; i++) {
        if (read_flag(ld, argc, argv, &i, &f) != 0) {
            /* Keep the first error; later ones go to scratch while we look for --help. */
            rc = -1;
            ld->err = later;
            ld->errlen = sizeof later;
            continue;
        }
        if (f.kind == FLAG_HELP)
            scan->help = true;
        else if (f.kind == FLAG_CONFIG)
            scan->config = f.value;
    }
    ld->err = err;
    ld->errlen = errlen;
    if (scan->help && err && errlen)
        err[0] = '\0';
    return scan->help ? 1 : rc;
}

/* Second pass: the settings, in order, so a repeated flag's last value wins. */
static int apply_flags(loader *ld, int argc, char **argv)
{
    flag f;

    for (int i = 1; i < argc; i++) {
        if (read_flag(ld, argc, argv, &i, &f) != 0)
            return -1; /* not reached: scan_flags saw the same arguments */
        if (f.kind == FLAG_SETTING && cfg_apply(ld, f.s, f.value, &f.from) != 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Whole-config checks and tern_config_load
 * ------------------------------------------------------------------------------ */

/* TLS needs both files; one without the other is a half-finished edit, and serving
 * plain HTTP instead would hide it. */
static int check_tls(loader *ld)
{
    const setting *cert = cfg_find_setting("tls.cert"), *key = cfg_find_setting("tls.key");
    bool has_cert = ld->c->tls_cert[0] != '\0', has_key = ld->c->tls_key[0] != '\0';
    const setting *set = has_cert ? cert : key, *unset = has_cert ? key : cert;
    char where[WHERE_LEN];

    if (has_cert == has_key)
        return 0;
    describe(&ld->from[set - cfg_settings], set->key, where, sizeof where);
    return cfg_fail(ld->err, ld->errlen,
                    "config: %s (%s) is set but %s is not; set both or neither", set->key, where,
                    unset->key);
}

static bool strings_present(const tern_config *c)
{
    for (size_t i = 0; i < CFG_N_SETTINGS; i++)
        if (cfg_settings[i].kind == KIND_STRING &&
            !*(char *const *)((const char *)c + cfg_settings[i].offset))
            return false;
    return true;
}

/* Which file to read and who named it ("--config", "$TERN_CONFIG", or NULL for the
 * default, which may be absent). An empty $TERN_CONFIG counts as unset, as compose
 * files pass unset variables through as empty. */
static const char *choose_file(const flag_scan *scan, const char **named)
{
    const char *env = getenv("TERN_CONFIG");

    if (scan->config) {
        *named = "--config";
        return scan->config;
    }
    if (env && *env) {
        *named = "$TERN_CONFIG";
        return env;
    }
    *named = NULL;
    return DEFAULT_CONFIG_FILE;
}

/* On any return but 0 the strings are freed again (and NULL), so a caller that exits
 * without tern_config_free leaks nothing, and one that calls it is still fine. */
int tern_config_load(tern_config *c, int argc, char **argv, char *err, size_t errlen)
{
    loader ld = {.c = c, .err = err, .errlen = errlen};
    flag_scan scan = {0};
    const char *named, *path;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    tern_config_defaults(c);
    rc = scan_flags(&ld, argc, argv, &scan);
    if (rc == 1)
        tern_config_usage(stdout, argc > 0 && argv[0] ? argv[0] : "tern");
    if (rc == 0 && !strings_present(c))
        rc = cfg_fail(err, errlen, "config: out of memory");
    if (rc == 0 && scan.config && !*scan.config)
        rc = cfg_fail(err, errlen, "config: flag --config needs a file name");
    path = choose_file(&scan, &named);
    if (rc == 0)
        rc = cfg_read_config_file(&ld, path, named);
    if (rc == 0)
        rc = read_env(&ld);
    if (rc == 0)
        rc = apply_flags(&ld, argc, argv);
    if (rc == 0)
        rc = check_tls(&ld);
    if (rc != 0)
        tern_config_free(c);
    return rc;
}
