/*
 * cmd_reconcile.c: `suf reconcile [--campaign ID]`: turns imported webhook
 * events into fallback states (reconcile.h does the work).
 */
#include "cli/cli.h"
#include "reconcile/reconcile.h"
#include "base/banned.h"

int cmd_reconcile(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    int rc = suf_cli_common_opts(run, &argc, argv, NULL, err);

    if (rc)
        return rc;
    if (argc > 1)
        return suf_err_set(err, SUF_ERR_USAGE, "reconcile: unexpected argument '%s'", argv[1]);
    if (run->dry_run)
        return suf_err_set(err, SUF_ERR_USAGE, "reconcile: --dry-run is not supported");
    return suf_reconcile(run, err);
}
