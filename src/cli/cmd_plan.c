/*
 * cmd_plan.c: `suf plan [--campaign ID]` and
 * `suf plan --explain PHONE --campaign ID`.
 *
 * The first runs the plan stage (plan.h); the second only reads, and prints
 * why one recipient has the outcome it has, and what it was or will be sent.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "plan/plan.h"
#include "base/banned.h"

int cmd_plan(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    const char *explain = NULL;
    int rc;

    rc = suf_cli_common_opts(run, &argc, argv, NULL, err);
    if (rc)
        return rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--explain") && i + 1 < argc) {
            explain = argv[++i];
        } else if (!strncmp(argv[i], "--explain=", 10)) {
            explain = argv[i] + 10;
        } else {
            return suf_err_set(err, SUF_ERR_USAGE, "plan: unexpected argument '%s'; see "
                                                   "'suf plan --help'",
                               argv[i]);
        }
    }
    if (run->dry_run)
        return suf_err_set(err, SUF_ERR_USAGE, "plan: --dry-run is not an option of plan");
    if (!explain)
        return suf_plan_run(run, err);
    if (!run->campaign)
        return suf_err_set(err, SUF_ERR_USAGE, "plan: --explain needs --campaign ID");
    rc = suf_plan_explain(run, run->campaign, explain, stdout, err);
    fflush(stdout);
    return rc;
}
