/* tests/fuzz/fuzz_config.c - the config loader against any YAML file and any flags.
 *
 * Input: the YAML file's bytes, optionally followed by a line "#flags" and then one
 * command-line argument per line. The file reaches tern_config_load through a memfd
 * named with --config, the way a service reads it. Checked beyond "no crash, no
 * leak": a refusal is one non-empty line (it goes to a log as it is), and an
 * accepted config survives a deep copy. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tern/config.h"

#define MAX_ARGS 16

static const char *const flags_mark = "\n#flags\n";

/* Flags that would leave the input: --help prints, --config names another file. */
static int flag_allowed(const char *arg)
{
    return strcmp(arg, "-h") != 0 && strncmp(arg, "--help", 6) != 0 &&
           strncmp(arg, "--config", 8) != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char fd_path[64];
    if (fd < 0) {
        if ((fd = memfd_create("tern-fuzz-config", 0)) < 0)
            abort();
        snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
    }

    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t yaml_len = size;
    char *args[MAX_ARGS + 3] = {"tern-fuzz", "--config", fd_path};
    int argc = 3;
    char *mark = memmem(text, size, flags_mark, strlen(flags_mark));
    if (mark) {
        yaml_len = (size_t)(mark - text);
        *mark = '\0';
        for (char *line = mark + strlen(flags_mark), *next; line && argc < MAX_ARGS + 3;
             line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            if (flag_allowed(line))
                args[argc++] = line;
        }
    }

    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, yaml_len, 0) != (ssize_t)yaml_len)
        abort();

    tern_config c, copy;
    char err[512];
    memset(err, 'x', sizeof err);
    if (tern_config_load(&c, argc, args, err, sizeof err) == 0) {
        if (tern_config_copy(&copy, &c) != 0)
            abort();
        tern_config_free(&copy);
        tern_config_free(&c);
    } else if (!err[0] || strchr(err, '\n') || !memchr(err, '\0', sizeof err)) {
        abort();
    }
    free(text);
    return 0;
}
