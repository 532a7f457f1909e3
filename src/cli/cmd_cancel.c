/*
 * cmd_cancel.c: `suf cancel --campaign ID [--dry-run]`: the operator stops
 * a campaign's spend on demand.
 *
 * Every fallback of the campaign that still has a message to send ends
 * `cancelled` through the state machine (SUF_EV_CANCEL; its held and queued
 * sends are cancelled with it), and the campaign is recorded in
 * campaign_cancels, so that plan starts no new fallback for it.  What has
 * already gone out stays as it is: its replies are still reconciled and
 * costed.  With --dry-run it only counts what it would stop.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/fsm_db.h"
#include "base/banned.h"

#define CANCEL_DETAIL "cancelled by the operator"

/* The fallbacks a cancellation can stop, by the machine's own list. */
static const char sql_ids[] = "SELECT id FROM fallbacks WHERE campaign_id = ?1"
                              " AND state IN " SUF_FSM_DB_STATES;

/* Whether the store knows campaign `id` (attempts, settings or fallbacks). */
static int campaign_known(struct suf_run *run, const char *id, bool *known, struct suf_err *err)
{
    int64_t n = 0;
    int rc = suf_store_scalar(run->store,
                              "SELECT EXISTS (SELECT 1 FROM attempts WHERE campaign_id = ?1)"
                              " OR EXISTS (SELECT 1 FROM campaigns WHERE campaign_id = ?1)"
                              " OR EXISTS (SELECT 1 FROM fallbacks WHERE campaign_id = ?1)",
                              id, &n, err);

    *known = n != 0;
    return rc;
}

/* Counts the fallbacks `ids` finds, for a dry run. */
static int count_ids(struct suf_run *run, sqlite3_stmt *ids, int64_t *n, struct suf_err *err)
{
    int step;

    *n = 0;
    while ((step = sqlite3_step(ids)) == SQLITE_ROW)
        (*n)++;
    sqlite3_reset(ids);
    return step == SQLITE_DONE ? SUF_OK : suf_store_fail(run->store, err, "fallbacks");
}

/* Records the cancellation and stops the fallbacks, in one transaction. */
static int cancel_all(struct suf_run *run, sqlite3_stmt *ids, int64_t *n, struct suf_err *err)
{
    const struct suf_fsm_params p = {run->cfg->consent_wait_hours * 3600,
                                     run->cfg->window_margin_minutes * 60};
    struct suf_fsm_event ev = {SUF_EV_CANCEL, suf_run_now(run), false, 0, SUF_FB_REASON_CANCELLED,
                               CANCEL_DETAIL};
    struct suf_fsm_db w;
    sqlite3_stmt *rec = NULL;
    int rc;

    if ((rc = suf_fsm_db_open(&w, run->store, &p, err)))
        return rc;
    rec = suf_store_prepare(run->store,
                            "INSERT OR IGNORE INTO campaign_cancels (campaign_id, at, run_id)"
                            " VALUES (?1, ?2, ?3)",
                            err);
    if (!rec || (rc = suf_store_begin(run->store, err)))
        goto out;
    suf_bind_text(rec, 1, run->campaign);
    sqlite3_bind_int64(rec, 2, ev.at);
    sqlite3_bind_int64(rec, 3, run->id);
    if (sqlite3_step(rec) != SQLITE_DONE)
        rc = suf_store_fail(run->store, err, "campaign_cancels");
    if (!rc)
        rc = suf_fsm_db_step_all(&w, ids, &ev, n, err);
    if (!rc)
        rc = suf_store_commit(run->store, err);
    if (rc)
        suf_store_rollback(run->store);
out:
    if (!rec && !rc)
        rc = SUF_ERR_DB;
    sqlite3_finalize(rec);
    suf_fsm_db_close(&w);
    return rc;
}

int cmd_cancel(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    sqlite3_stmt *ids;
    bool known;
    int64_t n = 0;
    int rc;

    if ((rc = suf_cli_common_opts(run, &argc, argv, NULL, err)))
        return rc;
    if (argc > 1)
        return suf_err_set(err, SUF_ERR_USAGE,
                           "cancel: unexpected argument '%s'; see 'suf cancel --help'", argv[1]);
    if (!run->campaign)
        return suf_err_set(err, SUF_ERR_USAGE,
                           "cancel: --campaign ID is required; see 'suf cancel --help'");
    if ((rc = campaign_known(run, run->campaign, &known, err)))
        return rc;
    if (!known)
        return suf_err_set(err, SUF_ERR_NOTFOUND, "no campaign '%s'", run->campaign);
    if (!(ids = suf_fsm_db_prepare(run->store, sql_ids, SUF_EV_CANCEL, err)))
        return SUF_ERR_DB;
    suf_bind_text(ids, 1, run->campaign);
    rc = run->dry_run ? count_ids(run, ids, &n, err) : cancel_all(run, ids, &n, err);
    sqlite3_finalize(ids);
    if (rc)
        return rc;
    suf_run_count(run, run->dry_run ? "cancel.would_cancel" : "cancel.cancelled", n);
    printf("%s %lld fallback%s of campaign '%s'%s\n", run->dry_run ? "would cancel" : "cancelled",
           (long long)n, n == 1 ? "" : "s", run->campaign,
           run->dry_run ? " (dry run: nothing changed)" : "");
    return SUF_OK;
}
