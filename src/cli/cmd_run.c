/*
 * cmd_run.c: `suf run`, the whole pipeline, as the scheduler runs it.
 *
 * Stages, in order (consents first: the customer's window is closing):
 *   import     new files from the configured inbox folders
 *   reconcile  webhook events into deliveries, consents, opt-outs
 *   session    send the session messages consents queued
 *   plan       decide new fallbacks
 *   utility    send utility messages; about once a minute it imports new
 *              events and reconciles, and the sender then sends any newly
 *              queued session message before the next utility batch
 *   events     import events and reconcile again
 *   report     the workbooks
 *   retention  personal data older than retention_days purged (store/purge.h)
 *
 * Each stage logs one summary line with its counts and duration.  A stage
 * that fails on its input (a bad file, a refused template) is reported and
 * the run goes on with the next; a failing database or disk, or a signal,
 * stops it, with everything already done committed.
 *
 * --dry-run works on a snapshot of the database (the SQLite backup API, in a
 * temporary file), so every stage runs for real, sends go to the outbox, and
 * the store is exactly as it was; the report stage is skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "cli/cli.h"
#include "import/import.h"
#include "plan/plan.h"
#include "reconcile/reconcile.h"
#include "report/report_data.h"
#include "report/report.h"
#include "send/send.h"
#include "store/purge.h"
#include "store/store.h"
#include "base/banned.h"

enum stage_id {
    ST_IMPORT,
    ST_RECONCILE,
    ST_SESSION,
    ST_PLAN,
    ST_UTILITY,
    ST_EVENTS,
    ST_REPORT,
    ST_RETENTION
};

static const char *const stage_names[] = {"import",  "reconcile", "session", "plan",
                                          "utility", "events",    "report",  "retention"};
#define NSTAGES (sizeof(stage_names) / sizeof(stage_names[0]))

/* The inbox folders, in the order their contents depend on each other. */
static int import_inbox(struct suf_run *run, bool events_only, struct suf_err *err)
{
    const struct {
        const char *kind;
        const char *dir;
    } inboxes[] = {
        {"templates", run->cfg->inbox_templates}, {"campaigns", run->cfg->inbox_campaigns},
        {"rates", run->cfg->inbox_rates},         {"deliveries", run->cfg->inbox_deliveries},
        {"events", run->cfg->inbox_events},
    };
    int worst = SUF_OK;

    for (size_t i = 0; i < sizeof(inboxes) / sizeof(inboxes[0]); i++) {
        struct suf_import_opts opts = {NULL, NULL};
        struct suf_err ferr = SUF_ERR_INIT;
        int rc;

        if (events_only && strcmp(inboxes[i].kind, "events"))
            continue;
        if (!inboxes[i].dir || !*inboxes[i].dir)
            continue;
        if (access(inboxes[i].dir, F_OK) != 0 && errno == ENOENT) {
            suf_debug("inbox_%s '%s' does not exist yet", inboxes[i].kind, inboxes[i].dir);
            continue;
        }
        rc = suf_cli_import_one(run, inboxes[i].kind, inboxes[i].dir, &opts, &ferr);
        if (rc == SUF_ERR_DB || rc == SUF_ERR_IO || rc == SUF_ERR_INTERRUPTED) {
            *err = ferr;
            return rc;
        }
        if (rc) {
            suf_error("%s", ferr.msg);
            if (!worst) {
                worst = rc;
                *err = ferr;
            }
        }
    }
    return worst;
}

/* Between two utility batches: new events, reconciled, so the sender sends
 * new session messages first. */
static int between_batches(struct suf_run *run, void *ctx, struct suf_err *err)
{
    int rc;

    (void)ctx;
    suf_debug("utility: checking for new consents");
    rc = import_inbox(run, true, err);
    if (rc == SUF_ERR_DB || rc == SUF_ERR_IO || rc == SUF_ERR_INTERRUPTED)
        return rc;
    return suf_reconcile(run, err);
}

static int send_stage(struct suf_run *run, int what, struct suf_err *err)
{
    struct suf_send_opts o;

    suf_send_opts_init(&o);
    o.what = what;
    if (what & SUF_SEND_UTILITY) {
        o.between = between_batches;
        o.between_ctx = NULL;
    }
    return suf_send_run(run, &o, err);
}

/* Last, once the report has counted everything: what is older than
 * retention_days loses its personal data.  The purge is store-wide, so a
 * single-campaign rerun leaves it to the full runs. */
static int retention_stage(struct suf_run *run, struct suf_err *err)
{
    struct suf_purge_counts counts;
    int64_t days = run->cfg->retention_days;

    if (!days) {
        suf_debug("retention: off (retention_days = 0)");
        return SUF_OK;
    }
    if (days < SUF_PURGE_MIN_RETENTION_DAYS)
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "retention_days %lld is less than %d (0 keeps everything)",
                           (long long)days, SUF_PURGE_MIN_RETENTION_DAYS);
    if (run->campaign) {
        suf_info("retention: skipped in a single-campaign run");
        return SUF_OK;
    }
    return suf_cli_purge(run, suf_run_now(run) - days * 86400, &counts, err);
}

static int run_stage(struct suf_run *run, enum stage_id id, struct suf_err *err)
{
    int rc;

    switch (id) {
    case ST_IMPORT:
        return import_inbox(run, false, err);
    case ST_RECONCILE:
        return suf_reconcile(run, err);
    case ST_SESSION:
        return send_stage(run, SUF_SEND_SESSION, err);
    case ST_PLAN:
        return suf_plan_run(run, err);
    case ST_UTILITY:
        /* Sessions included: those queued by the between-batch reconcile
         * go before the next utility batch. */
        return send_stage(run, SUF_SEND_ALL, err);
    case ST_EVENTS:
        rc = import_inbox(run, true, err);
        if (rc == SUF_ERR_DB || rc == SUF_ERR_IO || rc == SUF_ERR_INTERRUPTED)
            return rc;
        {
            struct suf_err rerr = SUF_ERR_INIT;
            int rc2 = suf_reconcile(run, &rerr);
            if (rc2) {
                *err = rerr;
                return rc2;
            }
        }
        return rc;
    case ST_REPORT:
        if (run->dry_run) {
            suf_info("report: skipped in a dry run (workbooks are not written)");
            return SUF_OK;
        }
        return suf_report_write(run, NULL, err);
    case ST_RETENTION:
        return retention_stage(run, err);
    }
    return suf_err_set(err, SUF_ERR_INTERNAL, "unknown stage %d", (int)id);
}

/* Logs "stage plan: 0.42 s; plan.fallback 12, ..." with the counts that
 * changed during the stage. */
static void log_summary(struct suf_run *run, enum stage_id id, json_t *before, int64_t ms,
                        int rc)
{
    struct suf_buf b = SUF_BUF_INIT;
    const char *key;
    json_t *v;

    suf_buf_addf(&b, "stage %s: %s in %lld.%02lld s", stage_names[id], rc ? "failed" : "done",
                 (long long)(ms / 1000), (long long)(ms % 1000 / 10));
    if (run->counts) {
        int n = 0;
        json_object_foreach(run->counts, key, v)
        {
            json_t *old = json_object_get(before, key);
            int64_t delta = json_integer_value(v) - (old ? json_integer_value(old) : 0);
            if (!delta)
                continue;
            suf_buf_addf(&b, "%s %s %lld", n++ ? "," : ";", key, (long long)delta);
        }
        if (!n)
            suf_buf_addstr(&b, "; nothing to do");
    }
    suf_info("%s", suf_buf_str(&b));
    suf_buf_release(&b);
}

static int parse_skip(const char *list, bool skip[NSTAGES], struct suf_err *err)
{
    char *copy = suf_xstrdup(list), *save = NULL, *tok;
    int rc = SUF_OK;

    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < NSTAGES; i++)
            if (!strcmp(stage_names[i], suf_trim(tok)))
                break;
        if (i == NSTAGES) {
            rc = suf_err_set(err, SUF_ERR_USAGE,
                             "--skip: unknown stage '%s' (stages: import, reconcile, session, "
                             "plan, utility, events, report, retention)",
                             tok);
            break;
        }
        skip[i] = true;
    }
    free(copy);
    return rc;
}

/* Copies the store into a temporary database for a dry run. */
static int snapshot(struct suf_run *run, struct suf_store *snap, struct suf_err *err)
{
    const char *tmp = getenv("TMPDIR");
    char *path = suf_xasprintf("%s/suf-dry-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    sqlite3_backup *b;
    int fd = mkstemp(path), rc;

    if (fd < 0) {
        rc = suf_err_set(err, SUF_ERR_CANTCREAT, "dry run: cannot create a snapshot: %s",
                         strerror(errno));
        free(path);
        return rc;
    }
    close(fd);
    rc = suf_store_open(snap, path, 0, err);
    if (!rc) {
        b = sqlite3_backup_init(snap->db, "main", run->store->db, "main");
        if (!b || sqlite3_backup_step(b, -1) != SQLITE_DONE)
            rc = suf_store_fail(snap, err, "dry run: cannot snapshot the database");
        sqlite3_backup_finish(b);
    }
    unlink(path); /* the open connection keeps it; nothing is left behind */
    free(path);
    return rc;
}

/* A mistyped --campaign stops the run before any stage: otherwise every
 * inbox file is imported and every stage runs, and only the report says
 * the campaign does not exist.  Known means what the report means. */
static int check_campaign(struct suf_run *run, struct suf_err *err)
{
    struct rep_ctx ctx = {.run = run};
    bool known = false;
    int rc;

    if (!run->campaign)
        return SUF_OK;
    if ((rc = rep_campaign_exists(&ctx, run->campaign, &known, err)))
        return rc;
    if (!known)
        return suf_err_set(err, SUF_ERR_NOTFOUND,
                           "campaign '%s' not found; no stage was run", run->campaign);
    return SUF_OK;
}

int cmd_run(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    bool skip[NSTAGES] = {false};
    struct suf_store snap = SUF_STORE_INIT, *real = run->store;
    int rc, worst = SUF_OK;
    struct suf_err first = SUF_ERR_INIT;

    if ((rc = suf_cli_common_opts(run, &argc, argv, NULL, err)))
        return rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--skip") && i + 1 < argc) {
            if ((rc = parse_skip(argv[++i], skip, err)))
                return rc;
        } else if (!strncmp(argv[i], "--skip=", 7)) {
            if ((rc = parse_skip(argv[i] + 7, skip, err)))
                return rc;
        } else if (strcmp(argv[i], "--quiet-if-locked")) {
            return suf_err_set(err, SUF_ERR_USAGE, "run: unexpected argument '%s'", argv[i]);
        }
    }
    if ((rc = check_campaign(run, err)))
        return rc;
    if (run->dry_run) {
        if ((rc = snapshot(run, &snap, err)))
            return rc;
        run->store = &snap;
        suf_info("dry run: working on a snapshot; nothing is sent or changed");
    }
    for (size_t i = 0; i < NSTAGES; i++) {
        json_t *before;
        int64_t t0;
        struct suf_err serr = SUF_ERR_INIT;

        if (skip[i])
            continue;
        if (suf_run_stopping(run))
            break;
        before = run->counts ? json_deep_copy(run->counts) : json_object();
        t0 = suf_monotonic_ms();
        rc = run_stage(run, (enum stage_id)i, &serr);
        log_summary(run, (enum stage_id)i, before, suf_monotonic_ms() - t0, rc);
        json_decref(before);
        if (rc == SUF_ERR_DB || rc == SUF_ERR_IO || rc == SUF_ERR_INTERRUPTED ||
            rc == SUF_ERR_INTERNAL || rc == SUF_ERR_CANTCREAT) {
            worst = rc;
            first = serr;
            break;
        }
        if (rc) {
            suf_error("stage %s: %s", stage_names[i], serr.msg);
            if (!worst) {
                worst = rc;
                first = serr;
            }
        }
    }
    if (run->dry_run) {
        suf_store_close(&snap);
        run->store = real;
    }
    if (worst)
        *err = first;
    return worst;
}
