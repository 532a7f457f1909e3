/*
 * cli_args.c: the options that several commands share (see cli.h).
 *
 * It lives apart from the dispatcher in cli.c so that the commands, which
 * the dispatcher's table names, do not call back into it: cli.c -> cmd_*.c
 * -> cli_args.c, with no circle.
 */
#include <string.h>

#include "base/util.h"
#include "cli/cli.h"
#include "base/banned.h"

int suf_cli_common_opts(struct suf_run *run, int *argc, char **argv, long long *limit,
                        struct suf_err *err)
{
    int out = 1;

    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--campaign") || !strcmp(a, "--limit")) {
            if (i + 1 >= *argc)
                return suf_err_set(err, SUF_ERR_USAGE, "option '%s' needs a value", a);
            if (!strcmp(a, "--campaign")) {
                run->campaign = argv[++i];
            } else {
                int64_t v;
                if (!limit || suf_parse_i64(argv[i + 1], &v) || v < 0)
                    return suf_err_set(err, SUF_ERR_USAGE, "--limit takes a whole number, not '%s'",
                                       argv[i + 1]);
                *limit = v;
                i++;
            }
        } else if (!strncmp(a, "--campaign=", 11)) {
            run->campaign = a + 11;
        } else if (!strcmp(a, "--dry-run")) {
            run->dry_run = true;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return SUF_OK;
}
