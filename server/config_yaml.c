/* server/config_yaml.c - the settings file: YAML read with libyaml's event parser, so
 * every error can name the file and line. Nested mappings spell key paths ("limits:" then
 * "body_bytes:" is limits.body_bytes); unknown keys, repeated keys, lists where one value
 * belongs and more than one document are errors, not silently ignored. Each value goes
 * through the loader (cfg_apply) like the environment's and the flags'. */
#include "config_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <yaml.h>

/* ---------------------------------------------------------------------------------
 * The YAML file
 * ------------------------------------------------------------------------------ */

typedef struct yaml_reader {
    loader *ld;
    const char *path;
    yaml_parser_t parser;
    yaml_event_t event;                    /* the current event; deleted before the next */
    unsigned long line_of[CFG_N_SETTINGS]; /* where each key was set in this file, 0 = not */
} yaml_reader;

static unsigned long event_line(const yaml_reader *r)
{
    return (unsigned long)r->event.start_mark.line + 1;
}

static int next_event(yaml_reader *r)
{
    const yaml_parser_t *p = &r->parser;

    yaml_event_delete(&r->event);
    memset(&r->event, 0, sizeof r->event);
    if (yaml_parser_parse(&r->parser, &r->event))
        return 0;
    return cfg_fail(r->ld->err, r->ld->errlen, "config: %s line %lu: not valid YAML: %s%s%s",
                    r->path, (unsigned long)p->problem_mark.line + 1,
                    p->problem ? p->problem : "unknown error", p->context ? " " : "",
                    p->context ? p->context : "");
}

/* An empty, "~" or "null" plain scalar: YAML's way of writing nothing. */
static bool is_null_scalar(const yaml_event_t *e)
{
    const char *v = (const char *)e->data.scalar.value;

    return e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (v[0] == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0);
}

/* What a non-scalar value event is, for "expected ..., got a list". */
static const char *event_what(const yaml_event_t *e)
{
    switch (e->type) {
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_ALIAS_EVENT:
        return "an alias (*name), which tern does not follow";
    default:
        return "something else";
    }
}

static int read_mapping(yaml_reader *r, const char *prefix);

/* A list under a text key (`allow_origins: [a, b]`): its items joined with commas, the
 * form the environment and flags use for the same key. */
static int read_list(yaml_reader *r, const setting *s, unsigned long key_line)
{
    size_t i = (size_t)(s - cfg_settings);
    origin o = {.src = FROM_FILE, .name = r->path, .line = event_line(r)};
    char joined[2048];
    size_t n = 0;

    joined[0] = '\0';
    for (;;) {
        if (next_event(r) != 0)
            return -1;
        if (r->event.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (r->event.type != YAML_SCALAR_EVENT)
            return cfg_fail_at(r->ld, s->key, &o, "expected a list of values, got %s in it",
                               event_what(&r->event));
        const char *item = (const char *)r->event.data.scalar.value;
        if (strchr(item, ',') || strlen(item) != r->event.data.scalar.length)
            return cfg_fail_at(r->ld, s->key, &o, "a list item contains a comma or a NUL byte");
        int w = snprintf(joined + n, sizeof joined - n, "%s%s", n ? "," : "", item);
        if (w < 0 || (size_t)w >= sizeof joined - n)
            return cfg_fail_at(r->ld, s->key, &o, "the list is longer than %zu bytes",
                               sizeof joined);
        n += (size_t)w;
    }
    if (r->line_of[i]) {
        o.line = key_line;
        return cfg_fail_at(r->ld, s->key, &o, "set twice in this file (first on line %lu)",
                           r->line_of[i]);
    }
    r->line_of[i] = key_line;
    return cfg_apply(r->ld, s, joined, &o);
}

/* The value of a known key, the current event. */
static int read_leaf(yaml_reader *r, const setting *s, unsigned long key_line)
{
    size_t i = (size_t)(s - cfg_settings);
    origin o = {.src = FROM_FILE, .name = r->path, .line = event_line(r)};
    const char *text;

    if (r->event.type == YAML_SEQUENCE_START_EVENT && s->list)
        return read_list(r, s, key_line);
    if (r->event.type != YAML_SCALAR_EVENT)
        return cfg_fail_at(r->ld, s->key, &o, "expected a single value, got %s",
                           event_what(&r->event));
    text = (const char *)r->event.data.scalar.value;
    if (strlen(text) != r->event.data.scalar.length)
        return cfg_fail_at(r->ld, s->key, &o, "the value contains a NUL byte");
    if (r->line_of[i]) {
        o.line = key_line;
        return cfg_fail_at(r->ld, s->key, &o, "set twice in this file (first on line %lu)",
                           r->line_of[i]);
    }
    r->line_of[i] = key_line;
    /* A bare `cert:` means the empty string, not the word "null". */
    return cfg_apply(r->ld, s, is_null_scalar(&r->event) ? "" : text, &o);
}

/* The value of a group key ("limits:"), the current event: its keys, or nothing. */
static int read_group(yaml_reader *r, const char *path)
{
    char shown[80];
    origin o = {.src = FROM_FILE, .name = r->path, .line = event_line(r)};

    if (r->event.type == YAML_MAPPING_START_EVENT)
        return read_mapping(r, path);
    /* Every key of a group commented out leaves `limits:` with no value: fine. */
    if (r->event.type == YAML_SCALAR_EVENT && is_null_scalar(&r->event))
        return 0;
    if (r->event.type == YAML_SCALAR_EVENT)
        return cfg_fail_at(
            r->ld, path, &o, "expected its keys indented below it, got %s",
            cfg_quote((const char *)r->event.data.scalar.value, shown, sizeof shown));
    return cfg_fail_at(r->ld, path, &o, "expected its keys indented below it, got %s",
                       event_what(&r->event));
}

/* One key and its value; the key is the current event. */
static int read_entry(yaml_reader *r, const char *prefix)
{
    char path[NAME_MAX_LEN + 2], hint[NAME_MAX_LEN + 32];
    unsigned long line = event_line(r);
    origin o = {.src = FROM_FILE, .name = r->path, .line = line};
    const char *key;
    const setting *s;

    if (r->event.type != YAML_SCALAR_EVENT)
        return cfg_fail(r->ld->err, r->ld->errlen,
                        "config: %s line %lu: expected a key name, got %s", r->path, line,
                        event_what(&r->event));
    key = (const char *)r->event.data.scalar.value;
    if (strlen(key) != r->event.data.scalar.length) /* "port\0junk" must not be "port" */
        return cfg_fail(r->ld->err, r->ld->errlen, "config: %s line %lu: a key contains a NUL byte",
                        r->path, line);
    snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
    s = cfg_find_setting(path);
    if (!s && !cfg_is_group(path)) {
        cfg_suggestion(path, "", hint, sizeof hint);
        return cfg_fail_at(r->ld, path, &o, "unknown key%s", hint);
    }
    if (next_event(r) != 0)
        return -1;
    return s ? read_leaf(r, s, line) : read_group(r, path);
}

/* Keys until the end of the mapping whose start was the current event. Recursion
 * happens only for known groups, so its depth is bounded by the key table. */
static int read_mapping(yaml_reader *r, const char *prefix)
{
    for (;;) {
        if (next_event(r) != 0)
            return -1;
        if (r->event.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (read_entry(r, prefix) != 0)
            return -1;
    }
}

/* The document's top: a mapping of keys, or nothing at all. */
static int read_document(yaml_reader *r)
{
    if (next_event(r) != 0)
        return -1;
    if (r->event.type == YAML_MAPPING_START_EVENT) {
        if (read_mapping(r, "") != 0)
            return -1;
    } else if (!(r->event.type == YAML_SCALAR_EVENT && is_null_scalar(&r->event))) {
        return cfg_fail(r->ld->err, r->ld->errlen,
                        "config: %s line %lu: expected a mapping of keys like \"port: 8080\"",
                        r->path, event_line(r));
    }
    return next_event(r); /* the document's end */
}

/* The whole stream: empty (a file of comments), or exactly one document. */
static int read_stream(yaml_reader *r)
{
    if (next_event(r) != 0 || next_event(r) != 0) /* stream start, then what follows */
        return -1;
    if (r->event.type == YAML_STREAM_END_EVENT)
        return 0;
    if (read_document(r) != 0 || next_event(r) != 0)
        return -1;
    if (r->event.type != YAML_STREAM_END_EVENT)
        return cfg_fail(r->ld->err, r->ld->errlen,
                        "config: %s line %lu: expected one YAML document, found another", r->path,
                        event_line(r));
    return 0;
}

static int read_yaml(loader *ld, FILE *f, const char *path)
{
    yaml_reader *r = calloc(1, sizeof *r);
    int rc;

    if (!r)
        return cfg_fail(ld->err, ld->errlen, "config: %s: out of memory", path);
    r->ld = ld;
    r->path = path;
    if (!yaml_parser_initialize(&r->parser)) {
        free(r);
        return cfg_fail(ld->err, ld->errlen, "config: %s: out of memory", path);
    }
    yaml_parser_set_input_file(&r->parser, f);
    rc = read_stream(r);
    yaml_event_delete(&r->event);
    yaml_parser_delete(&r->parser);
    free(r);
    return rc;
}

/* Opens the file; `named` says whether someone asked for it (then it must exist) and
 * how, for the message. Returns 0 with *f NULL when the default file is absent. */
static int open_config(loader *ld, const char *path, const char *named, FILE **f)
{
    struct stat st;

    *f = fopen(path, "r");
    if (!*f && errno == ENOENT && !named)
        return 0;
    if (!*f)
        return cfg_fail(ld->err, ld->errlen, "config: cannot open config file %s%s%s: %s", path,
                        named ? " from " : "", named ? named : "", strerror(errno));
    if (fstat(fileno(*f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(*f);
        *f = NULL;
        return cfg_fail(ld->err, ld->errlen, "config: cannot read config file %s%s%s: %s", path,
                        named ? " from " : "", named ? named : "", strerror(EISDIR));
    }
    return 0;
}

int cfg_read_config_file(loader *ld, const char *path, const char *named)
{
    FILE *f;
    int rc;

    if (open_config(ld, path, named, &f) != 0)
        return -1;
    if (!f)
        return 0;
    /* Recorded first: origins of the values read point at this copy, which lives as
     * long as the config. */
    if (!(ld->c->config_path = strdup(path))) {
        fclose(f);
        return cfg_fail(ld->err, ld->errlen, "config: %s: out of memory", path);
    }
    rc = read_yaml(ld, f, ld->c->config_path);
    fclose(f);
    return rc;
}
