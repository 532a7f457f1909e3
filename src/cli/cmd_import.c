/*
 * cmd_import.c: `suf import KIND FILE|DIR...`.
 *
 * The table below maps each kind to its importer.  Every kind but events goes
 * through suf_import_path (hash, skip if seen, one transaction per file,
 * rejects); events logs are read incrementally by their own entry point.
 * `templates --from-api` fetches the catalog (meta_templates.h), which
 * keeps each page in inbox_templates and imports it the same way;
 * `billing --from-api --since DATE [--until DATE]` fetches what Meta billed
 * (meta_billing.h) into inbox_billing and the billing import.
 */
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "import/billing.h"
#include "import/events.h"
#include "import/import.h"
#include "import/rates.h"
#include "import/templates.h"
#include "meta/meta_billing.h"
#include "meta/meta_templates.h"
#include "base/banned.h"

struct kind {
    const char *name;
    suf_import_fn fn;
};

static const struct kind kinds[] = {
    {"deliveries", suf_import_deliveries},
    {"campaigns", suf_import_campaigns},
    {"rates", suf_import_rates},
    {"markets", suf_import_markets},
    {"templates", suf_import_templates},
    {"billing", suf_import_billing},
    {NULL, NULL},
};

static const struct kind *find_kind(const char *name)
{
    for (const struct kind *k = kinds; k->name; k++)
        if (!strcmp(k->name, name))
            return k;
    return NULL;
}

/* Events logs: read incrementally from their remembered offsets (events.h),
 * not skipped by hash. */
static int import_events(struct suf_run *run, int npaths, char **paths, struct suf_err *err)
{
    int worst = SUF_OK;

    for (int i = 0; i < npaths; i++) {
        struct suf_err ferr = SUF_ERR_INIT;
        int rc = suf_import_events_path(run, paths[i], &ferr);

        if (rc == SUF_ERR_DB || rc == SUF_ERR_IO || rc == SUF_ERR_INTERRUPTED) {
            *err = ferr;
            return rc;
        }
        if (rc && !worst) {
            worst = rc;
            *err = ferr;
        } else if (rc) {
            suf_error("%s", ferr.msg);
        }
    }
    return worst;
}

/* `import billing --from-api --since DATE [--until DATE]`: argv[2..] are
 * the options, --from-api among them. */
static int billing_from_api(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    const char *since = NULL, *until = NULL;
    int64_t from, to;
    int rc;

    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--from-api"))
            continue;
        if (strcmp(argv[i], "--since") && strcmp(argv[i], "--until"))
            return suf_err_set(err, SUF_ERR_USAGE,
                               "import billing --from-api: unexpected argument '%s' (it takes "
                               "--since DATE and --until DATE only)",
                               argv[i]);
        if (i + 1 >= argc)
            return suf_err_set(err, SUF_ERR_USAGE, "option '%s' needs a value", argv[i]);
        if (!strcmp(argv[i], "--since"))
            since = argv[++i];
        else
            until = argv[++i];
    }
    if (!since)
        return suf_err_set(err, SUF_ERR_USAGE,
                           "import billing --from-api needs --since DATE (YYYY-MM-DD, UTC)");
    if ((rc = suf_meta_billing_span(run, since, until, &from, &to, err)))
        return rc;
    return suf_meta_billing_run(run, from, to, err);
}

int cmd_import(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    struct suf_import_opts opts = {NULL, NULL};
    const struct kind *k;
    char **paths;
    int npaths = 0, worst = SUF_OK;

    if (argc < 3)
        return suf_err_set(err, SUF_ERR_USAGE,
                           "usage: suf import deliveries|templates|events|campaigns|rates|billing"
                           " FILE|DIR... | templates --from-api"
                           " | billing --from-api --since DATE [--until DATE]");
    if (!strcmp(argv[1], "events"))
        return import_events(run, argc - 2, argv + 2, err);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--from-api"))
            continue;
        if (!strcmp(argv[1], "billing"))
            return billing_from_api(run, argc, argv, err);
        if (strcmp(argv[1], "templates"))
            return suf_err_set(err, SUF_ERR_USAGE,
                               "import %s: --from-api is for templates and billing only", argv[1]);
        if (argc > 3)
            return suf_err_set(err, SUF_ERR_USAGE,
                               "import templates --from-api takes no FILE, DIR or other option");
        return suf_meta_templates_run(run, err);
    }
    k = find_kind(argv[1]);
    if (!k)
        return suf_err_set(err, SUF_ERR_USAGE, "unknown input kind '%s'", argv[1]);
    paths = argv + 2;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--effective") || !strcmp(argv[i], "--currency")) {
            if (i + 1 >= argc)
                return suf_err_set(err, SUF_ERR_USAGE, "option '%s' needs a value", argv[i]);
            if (!strcmp(argv[i], "--effective"))
                opts.effective = argv[++i];
            else
                opts.currency = argv[++i];
        } else {
            paths[npaths++] = argv[i];
        }
    }
    if (!npaths)
        return suf_err_set(err, SUF_ERR_USAGE, "import %s: no FILE or DIR given", k->name);
    for (int i = 0; i < npaths; i++) {
        struct suf_err ferr = SUF_ERR_INIT;
        int rc = suf_import_path(run, k->name, k->fn, paths[i], &opts, &ferr);

        if (rc == SUF_ERR_DB || rc == SUF_ERR_IO) {
            *err = ferr;
            return rc;
        }
        if (rc && !worst) {
            worst = rc;
            *err = ferr;
        } else if (rc) {
            suf_error("%s", ferr.msg);
        }
    }
    return worst;
}

int suf_cli_import_one(struct suf_run *run, const char *kind, const char *path,
                       const struct suf_import_opts *opts, struct suf_err *err)
{
    const struct kind *k;

    if (!strcmp(kind, "events"))
        return suf_import_events_path(run, path, err);
    k = find_kind(kind);
    if (!k)
        return suf_err_set(err, SUF_ERR_INTERNAL, "unknown input kind '%s'", kind);
    return suf_import_path(run, k->name, k->fn, path, opts, err);
}
