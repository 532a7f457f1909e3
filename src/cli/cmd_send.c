/*
 * cmd_send.c: `suf send [--campaign ID] [--dry-run] [--limit N]`.
 *
 * Parses the command's options and hands over to the send stage (send.h):
 * queued session parts first, then utility permission templates, through
 * the Cloud API, or into an outbox file with --dry-run.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "send/send.h"
#include "base/banned.h"

int cmd_send(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    struct suf_send_opts o;
    long long limit = -1;
    int rc;

    rc = suf_cli_common_opts(run, &argc, argv, &limit, err);
    if (rc)
        return rc;
    if (argc > 1)
        return suf_err_set(err, SUF_ERR_USAGE, "send: unexpected argument '%s'; see 'suf send --help'",
                           argv[1]);
    suf_send_opts_init(&o);
    o.limit = limit;
    return suf_send_run(run, &o, err);
}
