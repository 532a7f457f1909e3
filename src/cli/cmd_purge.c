/*
 * cmd_purge.c: `suf purge --before DATE [--vacuum]`: the options, then
 * suf_purge (store/purge.h) removes the personal data older than DATE, and
 * with --vacuum the database file is rewritten so no freed page keeps it.
 * `suf run` does the same each night when retention_days is set
 * (cmd_run.c).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "base/util.h"
#include "cli/cli.h"
#include "money/money_builtin.h"
#include "store/purge.h"
#include "base/banned.h"

int suf_cli_purge(struct suf_run *run, int64_t cutoff, struct suf_purge_counts *counts,
                  struct suf_err *err)
{
    /* The store knows only an imported map; a store priced by suf's own
     * map must keep its prefixes too, or a purge would change its costs. */
    const char **prefixes = suf_xcalloc(suf_money_builtin_map_rows + 1, sizeof(*prefixes));
    struct suf_purge_map map = {prefixes, suf_money_builtin_map_rows};
    int rc;

    for (size_t i = 0; i < suf_money_builtin_map_rows; i++)
        prefixes[i] = suf_money_builtin_map[i].prefix;
    rc = suf_purge(run, cutoff, &map, counts, err);
    free(prefixes);
    return rc;
}

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
    if ((rc = suf_cli_purge(run, cutoff, &counts, err)))
        return rc;
    return vacuum ? suf_purge_vacuum(run, err) : SUF_OK;
}
