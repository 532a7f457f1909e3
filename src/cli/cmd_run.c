/*
 * cmd_run.c: `suf run`, the whole pipeline, as the scheduler runs it.
 *
 * Stages, in order (consents first: the customer's window is closing):
 *   catalog    the template catalog from the API, into inbox_templates
 *              (only when waba_id is set; meta_templates.h)
 *   import     new files from the configured inbox folders
 *   reconcile  webhook events into deliveries, consents, opt-outs
 *   session    send the session messages consents queued
 *   plan       decide new fallbacks
 *   utility    send utility messages; about once a minute it imports new
 *              events and reconciles, and the sender then sends any newly
 *              queued session message before the next utility batch
 *   events     import events and reconcile again
 *   billing    what Meta billed over the last billing_days days, from the
 *              API into inbox_billing (only when billing_days and waba_id
 *              are set: each fetch costs API calls; meta_billing.h)
 *   report     the workbooks
 *   retention  personal data older than retention_days purged (store/purge.h)
 *
 * Each stage logs one summary line with its counts and duration, and the
 * run ends with a few lines (run_summary): this run's funnel and cost, what
 * needs attention, the workbooks written.  A stage
 * that fails on its input (a bad file, a refused template) is reported and
 * the run goes on with the next; a failing database or disk, or a signal,
 * stops it, with everything already done committed.
 *
 * --dry-run works on a snapshot of the database (the SQLite backup API, in a
 * temporary file), so every stage runs for real, sends go to the outbox, and
 * the store is exactly as it was; the report stage is skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/amount.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "cli/cli.h"
#include "import/import.h"
#include "meta/meta_billing.h"
#include "meta/meta_templates.h"
#include "plan/plan.h"
#include "reconcile/reconcile.h"
#include "report/report_data.h"
#include "report/report.h"
#include "report/report_data.h"
#include "send/send.h"
#include "store/purge.h"
#include "store/store.h"
#include "base/banned.h"

enum stage_id {
    ST_CATALOG,
    ST_IMPORT,
    ST_RECONCILE,
    ST_SESSION,
    ST_PLAN,
    ST_UTILITY,
    ST_EVENTS,
    ST_BILLING,
    ST_REPORT,
    ST_RETENTION
};

static const char *const stage_names[] = {"catalog", "import",  "reconcile", "session",
                                          "plan",    "utility", "events",    "billing",
                                          "report",  "retention"};
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
        {"billing", run->cfg->inbox_billing},     {"events", run->cfg->inbox_events},
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

/* The last billing_days UTC days, today's part included. */
static int billing_stage(struct suf_run *run, struct suf_err *err)
{
    int64_t now = suf_run_now(run), days = run->cfg->billing_days;

    if (run->dry_run) {
        suf_info("billing: skipped in a dry run (nothing is fetched)");
        return SUF_OK;
    }
    return suf_meta_billing_run(run, (now / 86400 - days) * 86400, now, err);
}

static int run_stage(struct suf_run *run, enum stage_id id, struct suf_err *err)
{
    int rc;

    switch (id) {
    case ST_CATALOG:
        if (run->dry_run) {
            suf_info("catalog: skipped in a dry run (nothing is fetched)");
            return SUF_OK;
        }
        return suf_meta_templates_run(run, err);
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
    case ST_BILLING:
        return billing_stage(run, err);
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
                             "--skip: unknown stage '%s' (stages: catalog, import, reconcile, "
                             "session, plan, utility, events, billing, report, retention)",
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

/*
 * The end-of-run summary.  The funnel and the cost of this run are the
 * difference of the store's totals before and after the stages, so that
 * events of an earlier night reconciled now count here, whatever their
 * timestamps; the cost is the report's model (report_data.h) in both
 * views, so no pricing rule is repeated.
 */
enum { F_PLANNED, F_UTILITY_SENT, F_DELIVERED, F_CONSENTED, F_SESSION_SENT, F_CONVERTED, NF };

static const char *const funnel_names[NF] = {"fallbacks planned", "utility sent",
                                             "delivered",         "consented",
                                             "session sent",      "converted"};

/* The light run comes every 10 minutes (schedules/): a consented
 * fallback whose window ends sooner may close before anything sends. */
#define NEXT_LIGHT_RUN_S 600

struct run_totals {
    int64_t funnel[NF];
    int64_t policy, meta, unpriced;
};

/* Adds one fallback's cost, as the report costs it, to the totals. */
static int add_cost(void *user, const struct rep_fallback *fb, struct suf_err *err)
{
    struct run_totals *t = user;

    (void)err;
    t->policy += fb->utility.policy + fb->session.policy;
    t->meta += fb->utility.meta + fb->session.meta;
    return SUF_OK;
}

static int run_totals(struct suf_run *run, struct run_totals *t, struct suf_err *err)
{
    static const char fsql[] =
        "SELECT count(*), sum(coalesce(utility_sent_at, 0) > 0), "
        "sum(coalesce(utility_delivered_at, 0) > 0), sum(coalesce(consented_at, 0) > 0), "
        "sum(coalesce(session_sent_at, 0) > 0), sum(coalesce(converted_at, 0) > 0) "
        "FROM fallbacks WHERE ?1 IS NULL OR campaign_id = ?1";
    sqlite3_stmt *s = suf_store_prepare(run->store, fsql, err);
    struct rep_ctx ctx;
    int rc;

    memset(t, 0, sizeof(*t));
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, run->campaign);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW)
        for (int i = 0; i < NF; i++)
            t->funnel[i] = sqlite3_column_int64(s, i);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return suf_store_fail(run->store, err, "fallbacks");
    if ((rc = rep_ctx_init(&ctx, run, err))) {
        rep_ctx_release(&ctx);
        return rc;
    }
    s = suf_store_prepare(run->store,
                          "SELECT DISTINCT campaign_id FROM fallbacks "
                          "WHERE ?1 IS NULL OR campaign_id = ?1 ORDER BY campaign_id",
                          err);
    if (!s) {
        rep_ctx_release(&ctx);
        return SUF_ERR_DB;
    }
    suf_bind_text(s, 1, run->campaign);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct rep_campaign c;
        int crc;

        rep_campaign_init(&c, &ctx, (const char *)sqlite3_column_text(s, 0));
        crc = rep_scan_campaign(&ctx, &c, err);
        if (!crc)
            crc = rep_scan_fallbacks(&ctx, &c, add_cost, t, err);
        t->unpriced += c.charges_unpriced;
        rep_campaign_release(&c);
        if (crc) {
            sqlite3_finalize(s);
            rep_ctx_release(&ctx);
            return crc;
        }
    }
    sqlite3_finalize(s);
    rep_ctx_release(&ctx);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(run->store, err, "fallbacks");
}

/* The workbooks under `dir` (and its campaign folders, `depth` levels)
 * written since `since`. */
static int64_t workbooks_written(const char *dir, time_t since, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int64_t n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        char *path;
        struct stat sb;
        size_t len = strlen(e->d_name);

        if (e->d_name[0] == '.')
            continue;
        path = suf_xasprintf("%s/%s", dir, e->d_name);
        if (!lstat(path, &sb)) {
            if (S_ISDIR(sb.st_mode) && depth > 0) {
                n += workbooks_written(path, since, depth - 1);
            } else if (S_ISREG(sb.st_mode) && len > 5 &&
                       !strcmp(e->d_name + len - 5, ".xlsx") && sb.st_mtime >= since) {
                n++;
            }
        }
        free(path);
    }
    closedir(d);
    return n;
}

/* Campaigns whose failed recipients got no fallback because it is not
 * enabled for them (no setting, and [plan] fallback off), in one line that
 * names the first ten: that default would otherwise stop them without a
 * word.  Adds one to *n when there are any. */
static int not_enabled(struct suf_run *run, int *n, struct suf_err *err)
{
    static const char sql[] =
        "SELECT campaign_id, count(*) FROM recipients WHERE reason = ?2 "
        "AND (?1 IS NULL OR campaign_id = ?1) GROUP BY campaign_id ORDER BY campaign_id";
    sqlite3_stmt *s = suf_store_prepare(run->store, sql, err);
    struct suf_buf ids = SUF_BUF_INIT;
    long long campaigns = 0, recipients = 0;
    int rc;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, run->campaign);
    suf_bind_text(s, 2, suf_plan_reason_name(SUF_REASON_FALLBACK_NOT_ENABLED));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (campaigns++ < 10)
            suf_buf_addf(&ids, "%s'%s'", campaigns > 1 ? ", " : "",
                         (const char *)sqlite3_column_text(s, 0));
        recipients += sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE && campaigns) {
        suf_info("summary: attention: %lld failed recipients of %lld campaigns get no fallback: "
                 "it is not enabled for %s%s (set fallback to on in their campaign settings, "
                 "or [plan] fallback = on)",
                 recipients, campaigns, suf_buf_str(&ids), campaigns > 10 ? ", ..." : "");
        (*n)++;
    }
    suf_buf_release(&ids);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(run->store, err, "recipients");
}

/* The campaigns whose fallbacks are blocked or cancelled, and why (the
 * words the send stage or `suf cancel` stored); *n counts the lines. */
static int held(struct suf_run *run, int *n, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        run->store,
        "SELECT campaign_id, state, max(reason_detail), count(*) FROM fallbacks"
        " WHERE reason IS NOT NULL AND (?1 IS NULL OR campaign_id = ?1)"
        " GROUP BY 1, 2, reason ORDER BY 1, 2",
        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, run->campaign);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(s, 2);

        suf_info("summary: attention: campaign '%s': %lld fallbacks %s: %s",
                 (const char *)sqlite3_column_text(s, 0), (long long)sqlite3_column_int64(s, 3),
                 (const char *)sqlite3_column_text(s, 1), detail ? detail : "no reason given");
        (*n)++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(run->store, err, "fallbacks");
}

/* Sends still queued after the run, per campaign, and why when its
 * settings stop it (off, not enabled, expired); campaigns not enabled;
 * blocked and cancelled fallbacks and why (their queued sends are counted
 * there, not as still queued); sends left unknown; consented
 * fallbacks whose window ends before the next light run. */
static int attention(struct suf_run *run, const struct run_totals *t, struct suf_err *err)
{
    static const char csql[] =
        "SELECT f.campaign_id, count(*), sum(coalesce(s.next_try_at, 0) > ?2) FROM sends s "
        "JOIN fallbacks f ON f.id = s.fallback_id "
        "WHERE s.state = 'queued' AND f.state <> 'blocked' "
        "AND (?1 IS NULL OR f.campaign_id = ?1) "
        "GROUP BY f.campaign_id ORDER BY f.campaign_id";
    static const char usql[] =
        "SELECT count(*) FROM sends s JOIN fallbacks f ON f.id = s.fallback_id "
        "WHERE s.state = 'unknown' AND (?1 IS NULL OR f.campaign_id = ?1)";
    char wsql[320];
    sqlite3_stmt *s = suf_store_prepare(run->store, csql, err);
    int64_t unknown = 0, closing = 0, now = suf_run_now(run);
    int rc, n = 0;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, run->campaign);
    sqlite3_bind_int64(s, 2, now);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        long long queued = sqlite3_column_int64(s, 1), later = sqlite3_column_int64(s, 2);
        struct suf_plan_policy p;
        char why[192];

        if (suf_plan_policy_load(run, id, now, &p, err)) {
            sqlite3_finalize(s);
            return SUF_ERR_DB;
        }
        suf_info("summary: attention: campaign '%s': %lld sends still queued (%lld waiting "
                 "for a retry)%s%s",
                 id, queued, later, suf_plan_policy_stopped(&p, why, sizeof(why)) ? ": " : "",
                 why);
        n++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return suf_store_fail(run->store, err, "sends");
    if ((rc = not_enabled(run, &n, err)) || (rc = held(run, &n, err)))
        return rc;
    snprintf(wsql, sizeof(wsql),
             "SELECT count(*) FROM fallbacks WHERE state = 'consented' "
             "AND consented_at + %lld < %lld AND (?1 IS NULL OR campaign_id = ?1)",
             (long long)(24 * 3600 - run->cfg->window_margin_minutes * 60),
             (long long)(now + NEXT_LIGHT_RUN_S));
    if ((rc = suf_store_scalar(run->store, usql, run->campaign, &unknown, err)) ||
        (rc = suf_store_scalar(run->store, wsql, run->campaign, &closing, err)))
        return rc;
    if (unknown)
        suf_info("summary: attention: %lld sends left unknown (a run stopped mid-request): "
                 "their status webhooks settle them",
                 (long long)unknown);
    if (closing)
        suf_info("summary: attention: %lld consents whose window ends before the next light "
                 "run",
                 (long long)closing);
    if (t->unpriced)
        suf_info("summary: attention: %lld charges without a price: import the rate card",
                 (long long)t->unpriced);
    if (!n && !unknown && !closing && !t->unpriced)
        suf_info("summary: attention: nothing");
    return SUF_OK;
}

/* What each stage did: ok, failed, skipped or not reached (stage_rc: -1
 * for a stage that did not run). */
static void stages_line(const bool skip[], const int stage_rc[])
{
    struct suf_buf b = SUF_BUF_INIT;

    for (size_t i = 0; i < NSTAGES; i++)
        suf_buf_addf(&b, "%s%s %s", i ? ", " : "", stage_names[i],
                     skip[i]              ? "skipped"
                     : stage_rc[i] < 0    ? "not reached"
                     : stage_rc[i] == 0   ? "ok"
                                          : "failed");
    suf_info("summary: stages: %s", suf_buf_str(&b));
    suf_buf_release(&b);
}

static int run_summary(struct suf_run *run, const struct run_totals *before, time_t started,
                       struct suf_err *err)
{
    struct run_totals after;
    struct suf_buf b = SUF_BUF_INIT;
    char pol[40], meta[40];
    int64_t books;
    int rc;

    if ((rc = run_totals(run, &after, err)))
        return rc;
    for (int i = 0; i < NF; i++)
        suf_buf_addf(&b, "%s%s %lld", i ? ", " : "", funnel_names[i],
                     (long long)(after.funnel[i] - before->funnel[i]));
    suf_info("summary: this run: %s", suf_buf_str(&b));
    suf_buf_release(&b);
    suf_info("summary: this run's cost: %s %s (policy), %s %s (Meta)",
             suf_amount_format(after.policy - before->policy, pol, sizeof(pol)),
             run->cfg->currency, suf_amount_format(after.meta - before->meta, meta, sizeof(meta)),
             run->cfg->currency);
    if ((rc = attention(run, &after, err)))
        return rc;
    books = run->dry_run ? 0 : workbooks_written(run->cfg->reports_dir, started, 1);
    if (books)
        suf_info("summary: workbooks: %lld written in %s", (long long)books,
                 run->cfg->reports_dir);
    else
        suf_info("summary: workbooks: none written");
    return SUF_OK;
}

int cmd_run(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    bool skip[NSTAGES] = {false};
    struct suf_store snap = SUF_STORE_INIT, *real = run->store;
    int rc, worst = SUF_OK;
    struct suf_err first = SUF_ERR_INIT;
    struct run_totals totals;
    time_t started = time(NULL);
    int stage_rc[NSTAGES];

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
    if (!*run->cfg->waba_id) { /* the summary then says "catalog skipped" */
        skip[ST_CATALOG] = true;
        suf_info("catalog: no waba_id in the config; the catalog comes from inbox_templates");
    }
    if (!run->cfg->billing_days || !*run->cfg->waba_id) {
        skip[ST_BILLING] = true; /* finance fetches it on demand */
        if (run->cfg->billing_days)
            suf_warn("billing: billing_days is set, but no waba_id: what Meta billed is not "
                     "fetched");
    }
    if (run->dry_run) {
        if ((rc = snapshot(run, &snap, err)))
            return rc;
        run->store = &snap;
        suf_info("dry run: working on a snapshot; nothing is sent or changed");
    }
    for (size_t i = 0; i < NSTAGES; i++)
        stage_rc[i] = -1;
    if ((rc = run_totals(run, &totals, err))) {
        if (run->dry_run) {
            suf_store_close(&snap);
            run->store = real;
        }
        return rc;
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
        stage_rc[i] = rc;
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
    if (!suf_run_stopping(run) && worst != SUF_ERR_DB && worst != SUF_ERR_IO) {
        struct suf_err serr = SUF_ERR_INIT;
        stages_line(skip, stage_rc);
        if (run_summary(run, &totals, started, &serr))
            suf_warn("summary: %s", serr.msg);
    }
    if (run->dry_run) {
        suf_store_close(&snap);
        run->store = real;
    }
    if (worst)
        *err = first;
    return worst;
}
