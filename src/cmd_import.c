/*
 * cmd_import.c: `suf import`.
 *
 * NEEDSWORK: not built yet; the command reports that plainly instead of
 * pretending to work.
 */
#include "suf/cli.h"

int cmd_import(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    (void)run;
    (void)argc;
    (void)argv;
    return suf_err_set(err, SUF_ERR_UNAVAILABLE, "'import' is not available in this build yet");
}
