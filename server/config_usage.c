/* server/config_usage.c - the --help text: for every key of the table its flag, value
 * word, environment name, default, help line and allowed range, so the help can never
 * drift from what the readers accept. */
#include "config_impl.h"

#include <string.h>

/* ---------------------------------------------------------------------------------
 * --help
 * ------------------------------------------------------------------------------ */

static void metavar(const setting *s, char *buf, size_t n)
{
    static const char *const by_kind[] = {
        [KIND_INT] = "N",       [KIND_SIZE] = "SIZE", [KIND_MS] = "MS",
        [KIND_STRING] = "TEXT", [KIND_BOOL] = "BOOL", [KIND_ENUM] = "",
    };

    if (s->kind == KIND_ENUM)
        cfg_enum_words(s, "|", buf, n);
    else
        snprintf(buf, n, "%s", s->metavar ? s->metavar : by_kind[s->kind]);
}

/* "; 1..65535", "; 1k..1m", "; true or false", or "". */
static void range_note(const setting *s, char *buf, size_t n)
{
    char lo[32], hi[32];

    if (s->kind == KIND_BOOL) {
        snprintf(buf, n, "; true or false");
        return;
    }
    if (s->kind != KIND_INT && s->kind != KIND_SIZE && s->kind != KIND_MS) {
        snprintf(buf, n, "%s", "");
        return;
    }
    cfg_format_number(s, s->min, lo, sizeof lo);
    cfg_format_number(s, s->max, hi, sizeof hi);
    snprintf(buf, n, "; %s..%s%s%s", lo, hi, s->kind == KIND_MS ? " ms" : "",
             s->auto_cpus ? " or auto" : "");
}

static void usage_setting(FILE *f, const setting *s)
{
    char head[NAME_MAX_LEN + 64], mv[64], env[NAME_MAX_LEN], range[96];

    metavar(s, mv, sizeof mv);
    snprintf(head, sizeof head, "--%s %s", s->key, mv);
    cfg_env_name(s->key, env, sizeof env);
    range_note(s, range, sizeof range);
    fprintf(f, "  %-34s env %-30s default %s\n", head, env, *s->def ? s->def : "\"\"");
    fprintf(f, "        %s%s\n", s->help, range);
}

void tern_config_usage(FILE *f, const char *prog)
{
    const char *slash = prog ? strrchr(prog, '/') : NULL;

    prog = slash ? slash + 1 : prog ? prog : "tern";
    fprintf(f,
            "usage: %s [--config FILE] [--KEY VALUE | --KEY=VALUE]...\n"
            "\n"
            "Settings come from built-in defaults, then a YAML file (--config FILE, else\n"
            "$TERN_CONFIG, else " DEFAULT_CONFIG_FILE " when it exists), then TERN_*\n"
            "environment variables, then flags; each overrides the ones before.\n"
            "Sizes take k, m or g (KiB, MiB, GiB); durations are milliseconds or take\n"
            "ms, s, m or h. Flags may use - for _ (--server-name).\n"
            "\n"
            "  %-34s %s\n"
            "  %-34s %s\n"
            "\n",
            prog, "-h, --help", "print this help and exit", "--config FILE",
            "YAML settings file (env TERN_CONFIG)");
    for (size_t i = 0; i < CFG_N_SETTINGS; i++)
        usage_setting(f, &cfg_settings[i]);
}
