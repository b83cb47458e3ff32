/* server/config_impl.h - what the pieces of the settings code share (internal; not
 * installed, not part of tern/config.h): the key table's row type, a parsed value, the
 * loader that records where each value came from, and the functions one piece calls in
 * another. The pieces: config_table.c (the keys), config_value.c (text <-> values),
 * config_yaml.c (the file), config_usage.c (--help) and config.c (the API, environment,
 * flags and tern_config_load). */
#ifndef TERN_CONFIG_IMPL_H
#define TERN_CONFIG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/config.h"

/* libtern exports every symbol that has default visibility; these are private to the
 * settings code, and names this plain would clash with (or be interposed by) an
 * application's own. Hidden, they stay what they were as statics in one file. */
#pragma GCC visibility push(hidden)

/** Binary size units: table ranges and value parsing both count in them. */
#define KIB ((int64_t)1 << 10)
/** One mebibyte. */
#define MIB ((int64_t)1 << 20)
/** One gibibyte. */
#define GIB ((int64_t)1 << 30)

/** The file read when neither --config nor $TERN_CONFIG names one; relative to the
 *  working directory, where a service started from its checkout or image finds it. */
#define DEFAULT_CONFIG_FILE "config/tern.yaml"

/** Longest key path or environment name; longer input is never a known key. */
#define NAME_MAX_LEN 96

/** Rows in cfg_settings. A fixed count because the loader and the YAML reader size
 *  per-key arrays with it in other files; config_table.c stops the build when the
 *  table and this number disagree. */
#define CFG_N_SETTINGS 45

/** How a setting's text is read and which C type its field has. */
typedef enum { KIND_INT, KIND_SIZE, KIND_MS, KIND_STRING, KIND_BOOL, KIND_ENUM } kind;

/** One accepted word of an enum setting and the value it stands for. */
typedef struct enum_name {
    const char *name;
    int value;
} enum_name;

/** One row of the key table: everything the readers, --help and tern_config_set need. */
typedef struct setting {
    const char *key; /* path as written in YAML: "limits.body_bytes" */
    kind kind;
    size_t offset;          /* of its field in tern_config; the row macros check the type */
    const char *def;        /* default, in the text form a user would write */
    int64_t min, max;       /* numbers: allowed range, inclusive */
    bool auto_cpus;         /* KIND_INT: "auto" means one per CPU (clamped to the range) */
    const enum_name *names; /* KIND_ENUM: accepted words, {0}-terminated */
    const char *(*check)(const char *); /* KIND_STRING: NULL when fine, else what is expected */
    bool list;                          /* KIND_STRING: a comma list; YAML may give a sequence */
    const char *metavar;                /* word after the flag in --help; NULL: one by kind */
    const char *help;                   /* one line for --help */
} setting;

/** A parsed value, before it is stored into its field. */
typedef union value {
    int64_t i; /* KIND_INT, KIND_SIZE, KIND_MS (all ranges fit) */
    bool b;
    int e;
    const char *str; /* borrowed; copied when stored */
} value;

/** Which layer set a value. */
typedef enum { FROM_DEFAULT, FROM_FILE, FROM_ENV, FROM_FLAG } source;

/** Where a value came from, for the "(WHERE)" part of an error. */
typedef struct origin {
    source src;
    const char *name;   /* FROM_FILE: the path; FROM_FLAG: the argument as typed */
    size_t namelen;     /* FROM_FLAG: length of the flag name (up to any "=") */
    unsigned long line; /* FROM_FILE: 1-based */
} origin;

/** One tern_config_load in progress: the config, where errors go, and each key's origin. */
typedef struct loader {
    tern_config *c;
    char *err;
    size_t errlen;
    origin from[CFG_N_SETTINGS]; /* where each setting's current value came from */
} loader;

/* config_table.c: the keys */

/** Every key tern knows, CFG_N_SETTINGS rows. Unsized here so that config_table.c can
 *  check the count against the rows it really has. */
extern const setting cfg_settings[];

/** The row for a key path, or NULL. */
const setting *cfg_find_setting(const char *key);

/** True when path names a group of keys ("limits", "tls"), written as a nested mapping. */
bool cfg_is_group(const char *path);

/** "; did you mean PREFIXKEY?" for a mistyped key, or "". */
void cfg_suggestion(const char *key, const char *prefix, char *buf, size_t n);

/** A key's environment name: "limits.body_bytes" -> "TERN_LIMITS_BODY_BYTES". */
void cfg_env_name(const char *key, char *buf, size_t n);

/* config_value.c: text <-> values */

/** A user's value quoted for a one-line error message (escaped, cut when long). */
const char *cfg_quote(const char *text, char *buf, size_t n);

/** Parses text as s's kind into v; -1 with what was expected in why. */
int cfg_parse_value(const setting *s, const char *text, value *v, char *why, size_t n);

/** Writes a parsed value into its field of c; -1 only when a string copy finds no memory. */
int cfg_store_value(tern_config *c, const setting *s, const value *v);

/** One bound of a numeric setting, written as a user would write it ("16k"). */
void cfg_format_number(const setting *s, int64_t v, char *buf, size_t n);

/** An enum setting's words joined with sep: "plain, json, off". */
void cfg_enum_words(const setting *s, const char *sep, char *buf, size_t n);

/* config.c: the loader */

/** Writes a one-line message into err (when there is room) and returns -1. */
int cfg_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Parses and stores one value from origin o; -1 with "config: KEY (WHERE): ..." in ld. */
int cfg_apply(loader *ld, const setting *s, const char *text, const origin *o);

/** An error about a key at a place, without a value to parse; returns -1. */
int cfg_fail_at(loader *ld, const char *key, const origin *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* config_yaml.c: the file */

/** Reads the YAML file at path into ld; `named` is who asked for it (NULL: the default,
 *  which may be absent). */
int cfg_read_config_file(loader *ld, const char *path, const char *named);

#pragma GCC visibility pop

#endif
