/*
 * cmd_purge.c: `suf purge --before DATE [--vacuum]`: the options, then
 * suf_purge (store/purge.h) removes the personal data older than DATE, and
 * with --vacuum the database file is rewritten so no freed page keeps it.
 * `suf run` does the same each night when retention_days is set
 * (cmd_run.c).
 */
#include <stdbool.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "store/purge.h"
#include "base/banned.h"

int cmd_purge(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    struct suf_purge_counts counts;
    const char *before = NULL, *why = NULL;
    bool vacuum = false;
    int64_t cutoff;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--before")) {
            if (i + 1 >= argc)
                return suf_err_set(err, SUF_ERR_USAGE, "option '--before' needs a date");
            before = argv[++i];
        } else if (!strncmp(argv[i], "--before=", 9)) {
            before = argv[i] + 9;
        } else if (!strcmp(argv[i], "--vacuum")) {
            vacuum = true;
        } else {
            return suf_err_set(err, SUF_ERR_USAGE,
                               "purge: unexpected argument '%s'; see 'suf purge --help'",
                               argv[i]);
        }
    }
    if (!before)
        return suf_err_set(err, SUF_ERR_USAGE,
                           "purge: --before DATE is required; see 'suf purge --help'");
    if (suf_time_parse(before, &cutoff, &why))
        return suf_err_set(err, SUF_ERR_USAGE, "purge: --before '%s': %s", before, why);
    if ((rc = suf_purge(run, cutoff, &counts, err)))
        return rc;
    return vacuum ? suf_purge_vacuum(run, err) : SUF_OK;
}
