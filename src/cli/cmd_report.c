/*
 * cmd_report.c: `suf report [--campaign ID] [--out DIR] [--csv]`: the
 * options, then suf_report_write_opts (report.h) does the work.  --csv adds
 * the CSV tables to this run, whatever [report] csv_export says.
 */
#include <string.h>

#include "cli/cli.h"
#include "report/report.h"
#include "base/banned.h"

int cmd_report(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    struct suf_report_opts opts = {NULL, run->cfg->csv_export};
    int rc;

    if ((rc = suf_cli_common_opts(run, &argc, argv, NULL, err)))
        return rc;
    /* It would be taken and ignored: a dry run of report is no run at all. */
    if (run->dry_run)
        return suf_err_set(err, SUF_ERR_USAGE, "report: --dry-run is not an option of report");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out")) {
            if (i + 1 >= argc)
                return suf_err_set(err, SUF_ERR_USAGE, "option '--out' needs a value");
            opts.out_dir = argv[++i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            opts.out_dir = argv[i] + 6;
        } else if (!strcmp(argv[i], "--csv")) {
            opts.csv = true;
        } else {
            return suf_err_set(err, SUF_ERR_USAGE,
                               "report: unexpected '%s'; usage: suf report [--campaign ID] "
                               "[--out DIR] [--csv]",
                               argv[i]);
        }
    }
    if (opts.out_dir && !*opts.out_dir)
        return suf_err_set(err, SUF_ERR_USAGE, "--out needs a folder");
    return suf_report_write_opts(run, &opts, err);
}
