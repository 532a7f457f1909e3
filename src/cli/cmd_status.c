/*
 * cmd_status.c: `suf status`: what the store holds, per campaign (with the
 * phones no prefix of the market map matches, counted as the report counts
 * them), and the last runs.  It only reads (no lock, no `runs` row), so an operator can run
 * it while the nightly job works.
 */
#include <stdio.h>
#include <string.h>

#include "base/phone.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "report/report.h"
#include "store/store.h"
#include "base/banned.h"

/* Prints "  label: k1 n1, k2 n2" from a two-column (text, count) query bound
 * to the campaign id; prints nothing when there are no rows. */
static int print_pairs(struct suf_run *run, const char *label, const char *sql,
                       const char *campaign, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(run->store, sql, err);
    int rc, n = 0;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, campaign);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        printf("%s%s %lld", n++ ? ", " : label, k ? k : "(none)",
               (long long)sqlite3_column_int64(s, 1));
    }
    if (n)
        printf("\n");
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(run->store, err, "status");
}

/* "  phones with no market: N": the campaign's phones that no prefix of the
 * market map matches, which its workbook prices as "Other" or not at all. */
static int print_no_market(struct suf_run *run, const char *id, struct suf_err *err)
{
    char example[SUF_PHONE_MAX + 8];
    int64_t n = 0;
    int rc = suf_report_no_market(run, id, &n, example, sizeof(example), err);

    if (rc)
        return rc;
    printf("  phones with no market: %lld%s%s%s\n", (long long)n, n ? " (e.g. " : "",
           n ? example : "", n ? ")" : "");
    return SUF_OK;
}

static int print_campaign(struct suf_run *run, const char *id, const char *name,
                          struct suf_err *err)
{
    int64_t attempts = 0, recipients = 0, planned = 0;
    int rc;

    if ((rc = suf_store_scalar(run->store, "SELECT count(*) FROM attempts WHERE campaign_id = ?1",
                               id, &attempts, err)) ||
        (rc = suf_store_scalar(run->store,
                               "SELECT count(*) FROM (SELECT DISTINCT phone FROM attempts "
                               "WHERE campaign_id = ?1)",
                               id, &recipients, err)) ||
        (rc = suf_store_scalar(run->store, "SELECT count(*) FROM recipients WHERE campaign_id = ?1",
                               id, &planned, err)))
        return rc;
    printf("campaign %s%s%s%s\n", id, name && *name ? " (" : "", name ? name : "",
           name && *name ? ")" : "");
    printf("  attempts %lld, recipients %lld, planned %lld\n", (long long)attempts,
           (long long)recipients, (long long)planned);
    if ((rc = print_pairs(run, "  attempt statuses: ",
                          "SELECT status, count(*) FROM attempts WHERE campaign_id = ?1 "
                          "GROUP BY status ORDER BY status",
                          id, err)) ||
        (rc = print_pairs(run, "  outcomes: ",
                          "SELECT CASE WHEN outcome = 'excluded' THEN 'excluded:' || reason "
                          "ELSE outcome END AS o, count(*) FROM recipients WHERE campaign_id = ?1 "
                          "GROUP BY o ORDER BY o",
                          id, err)) ||
        (rc = print_pairs(run, "  fallbacks: ",
                          "SELECT state, count(*) FROM fallbacks WHERE campaign_id = ?1 "
                          "GROUP BY state ORDER BY state",
                          id, err)))
        return rc;
    return print_no_market(run, id, err);
}

static int print_runs(struct suf_run *run, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(run->store,
                                        "SELECT id, command, args, started_at, ended_at, as_of, "
                                        "status, exit_code, counts, message FROM runs "
                                        "ORDER BY id DESC LIMIT 10",
                                        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    printf("last runs (newest first):\n");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char started[32], asof[32];
        const char *msg = (const char *)sqlite3_column_text(s, 9);
        const char *counts = (const char *)sqlite3_column_text(s, 8);
        int64_t secs = sqlite3_column_type(s, 4) == SQLITE_NULL
                           ? -1
                           : sqlite3_column_int64(s, 4) - sqlite3_column_int64(s, 3);

        suf_time_format(sqlite3_column_int64(s, 3), started, sizeof(started));
        suf_time_format(sqlite3_column_int64(s, 5), asof, sizeof(asof));
        printf("  #%lld %s  %-11s exit %-3s %s  (as of %s, %llds)  %s\n",
               (long long)sqlite3_column_int64(s, 0), started,
               (const char *)sqlite3_column_text(s, 6),
               sqlite3_column_type(s, 7) == SQLITE_NULL ? "-"
                                                        : (const char *)sqlite3_column_text(s, 7),
               (const char *)sqlite3_column_text(s, 2), asof, (long long)secs,
               counts ? counts : "");
        if (msg)
            printf("      %s\n", msg);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(run->store, err, "status");
}

int cmd_status(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    bool runs = false;
    int rc, n = 0;
    int64_t rejects = 0;
    sqlite3_stmt *s;

    if ((rc = suf_cli_common_opts(run, &argc, argv, NULL, err)))
        return rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs"))
            runs = true;
        else
            return suf_err_set(err, SUF_ERR_USAGE, "status: unexpected argument '%s'", argv[i]);
    }
    s = suf_store_prepare(run->store,
                          "SELECT c.id, (SELECT name FROM campaigns WHERE campaign_id = c.id), "
                          "  (SELECT campaign_name FROM attempts WHERE campaign_id = c.id "
                          "   AND campaign_name IS NOT NULL LIMIT 1) "
                          "FROM (SELECT DISTINCT campaign_id AS id FROM attempts "
                          "      UNION SELECT campaign_id FROM campaigns) c "
                          "WHERE ?1 IS NULL OR c.id = ?1 ORDER BY c.id",
                          err);
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, run->campaign);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 1);
        if (!name)
            name = (const char *)sqlite3_column_text(s, 2);
        if ((rc = print_campaign(run, (const char *)sqlite3_column_text(s, 0), name, err))) {
            sqlite3_finalize(s);
            return rc;
        }
        n++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return suf_store_fail(run->store, err, "status");
    if (run->campaign && !n)
        return suf_err_set(err, SUF_ERR_NOTFOUND, "no campaign '%s'", run->campaign);
    if (!n)
        printf("no campaigns yet: import a delivery export with 'suf import deliveries FILE'\n");
    if ((rc = suf_store_scalar(run->store, "SELECT count(*) FROM rejects", NULL, &rejects, err)))
        return rc;
    printf("rejected rows: %lld\n", (long long)rejects);
    if ((rc = print_pairs(run, "  by reason: ",
                          "SELECT reason, count(*) FROM rejects WHERE ?1 IS NULL OR 1 "
                          "GROUP BY reason ORDER BY count(*) DESC LIMIT 10",
                          NULL, err)))
        return rc;
    if (runs)
        return print_runs(run, err);
    return SUF_OK;
}
