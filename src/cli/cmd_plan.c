/*
 * cmd_plan.c: `suf plan [--campaign ID]` and
 * `suf plan --explain PHONE --campaign ID` and
 * `suf plan --explain --campaign ID --list [--csv]`.
 *
 * The first runs the plan stage (plan.h); the others only read (cli.c opens
 * the store read-only, with no lock and no `runs` row, when --explain is
 * given), and print why one recipient, or every recipient of a campaign,
 * has the outcome it has.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "plan/plan.h"
#include "base/banned.h"

int cmd_plan(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    const char *explain = NULL;
    int rc, explaining = 0, list = 0, csv = 0;

    rc = suf_cli_common_opts(run, &argc, argv, NULL, err);
    if (rc)
        return rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--explain")) {
            explaining = 1;
            if (i + 1 < argc && argv[i + 1][0] != '-')
                explain = argv[++i];
        } else if (!strncmp(argv[i], "--explain=", 10)) {
            explaining = 1;
            explain = argv[i] + 10;
        } else if (!strcmp(argv[i], "--list")) {
            list = 1;
        } else if (!strcmp(argv[i], "--csv")) {
            csv = 1;
        } else {
            return suf_err_set(err, SUF_ERR_USAGE, "plan: unexpected argument '%s'; see "
                                                   "'suf plan --help'",
                               argv[i]);
        }
    }
    if (run->dry_run)
        return suf_err_set(err, SUF_ERR_USAGE, "plan: --dry-run is not an option of plan");
    if ((list || csv) && !explaining)
        return suf_err_set(err, SUF_ERR_USAGE, "plan: --list and --csv go with --explain");
    if (!explaining)
        return suf_plan_run(run, err);
    if (!run->campaign)
        return suf_err_set(err, SUF_ERR_USAGE, "plan: --explain needs --campaign ID");
    if (csv && !list)
        return suf_err_set(err, SUF_ERR_USAGE, "plan: --csv goes with --list");
    if (list == !!explain)
        return suf_err_set(err, SUF_ERR_USAGE,
                           "plan: --explain needs either a PHONE or --list, not both");
    if (list)
        rc = suf_plan_explain_list(run, run->campaign, csv, stdout, err);
    else
        rc = suf_plan_explain(run, run->campaign, explain, stdout, err);
    fflush(stdout);
    return rc;
}
