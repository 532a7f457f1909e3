/*
 * cmd_report.c: `suf report [--campaign ID] [--out DIR]`: the options, then
 * suf_report_write (report.h) does the work.
 */
#include <string.h>

#include "cli/cli.h"
#include "report/report.h"
#include "base/banned.h"

int cmd_report(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    const char *out = NULL;
    int rc;

    if ((rc = suf_cli_common_opts(run, &argc, argv, NULL, err)))
        return rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out")) {
            if (i + 1 >= argc)
                return suf_err_set(err, SUF_ERR_USAGE, "option '--out' needs a value");
            out = argv[++i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            out = argv[i] + 6;
        } else {
            return suf_err_set(err, SUF_ERR_USAGE,
                               "report: unexpected '%s'; usage: suf report [--campaign ID] "
                               "[--out DIR]",
                               argv[i]);
        }
    }
    if (out && !*out)
        return suf_err_set(err, SUF_ERR_USAGE, "--out needs a folder");
    return suf_report_write(run, out, err);
}
