/*
 * send_db.c: the send stage's bookkeeping in SQLite (see send_db.h).
 *
 * The statements are prepared once per stage and reset per row, because
 * the loop runs them for every message at up to a thousand messages a
 * second.  Set-based passes over sends (recovery) are single UPDATEs.  A
 * fallback's state follows its sends through the state machine's writer
 * (store/fsm_db.h), in the same transaction as the send's own outcome, so
 * the two never disagree; the passes over fallbacks (window expiry,
 * opt-outs) find their rows with the machine's own list of states and step
 * each one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/util.h"
#include "base/timeutil.h"
#include "plan/permission.h"
#include "plan/plan.h"
#include "plan/render.h"
#include "plan/scenario.h"
#include "send/send_db.h"
#include "store/store.h"
#include "base/banned.h"

#define SEND_WAL_PAGES 16384 /* 64 MiB of 4 KiB pages */
#define CAMPAIGN_FILTER "(?9 IS NULL OR f.campaign_id = ?9)"
/* An outcome records its request's departure (?10; NULL: none noted, the
 * row's stays): one UPDATE of the row instead of two when both go to one
 * job, as they do for every reply back before the job starts. */
#define OUTCOME_LEFT " left_at = coalesce(?10, left_at)"

static const char sql_fetch_s[] =
    "SELECT s.id, s.fallback_id, s.kind, s.part, s.n, s.body, f.phone, f.campaign_id,"
    "       f.consented_at, s.tries"
    "  FROM sends s JOIN fallbacks f ON f.id = s.fallback_id"
    " WHERE s.kind = 's' AND s.state = 'queued'"
    "   AND (s.next_try_at IS NULL OR s.next_try_at <= ?1)"
    "   AND (s.run_id IS NULL OR s.run_id <> ?2)"
    "   AND f.consented_at IS NOT NULL AND f.consented_at + ?3 > ?1"
    "   AND (s.part = 1 OR EXISTS (SELECT 1 FROM sends p WHERE p.fallback_id = s.fallback_id"
    "        AND p.kind = 's' AND p.part = s.part - 1 AND p.state = 'sent'))"
    "   AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.phone = f.phone)"
    "   AND " CAMPAIGN_FILTER
    " ORDER BY f.consented_at, s.fallback_id, s.part LIMIT ?4";

static const char sql_fetch_u[] =
    "SELECT s.id, s.fallback_id, s.kind, s.part, s.n, s.body, f.phone, f.campaign_id,"
    "       f.consented_at, s.tries"
    "  FROM sends s JOIN fallbacks f ON f.id = s.fallback_id"
    " WHERE s.kind = 'u' AND s.state = 'queued' AND f.state = 'pending'"
    "   AND (s.next_try_at IS NULL OR s.next_try_at <= ?1)"
    "   AND (s.run_id IS NULL OR s.run_id <> ?2)"
    "   AND f.campaign_id IN (SELECT campaign_id FROM temp.send_ok)"
    "   AND s.id > ?5 AND s.id NOT IN (SELECT id FROM temp.send_skip)"
    "   AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.phone = f.phone)"
    "   AND " CAMPAIGN_FILTER " ORDER BY s.id LIMIT ?4";

/* The utility rows a stop leaves queued: not tried by this run, not set
 * aside (send_skip), in a campaign that may send. */
static const char sql_left_u[] =
    "SELECT COUNT(*) FROM sends s JOIN fallbacks f ON f.id = s.fallback_id"
    " WHERE s.kind = 'u' AND s.state = 'queued' AND f.state = 'pending'"
    "   AND (s.run_id IS NULL OR s.run_id <> ?2)"
    "   AND f.campaign_id IN (SELECT campaign_id FROM temp.send_ok)"
    "   AND s.id NOT IN (SELECT id FROM temp.send_skip)"
    "   AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.phone = f.phone)"
    "   AND " CAMPAIGN_FILTER;

static const struct {
    size_t offset;
    const char *sql;
} stmts[] = {
    {offsetof(struct send_db, fetch_s), sql_fetch_s},
    {offsetof(struct send_db, fetch_u), sql_fetch_u},
    {offsetof(struct send_db, left_u), sql_left_u},
    {offsetof(struct send_db, skip), "INSERT OR IGNORE INTO temp.send_skip (id) VALUES (?1)"},
    /* ?4: the bytes built at this claim (a row plan queued without them),
     * stored with the mark; NULL keeps the stored ones */
    {offsetof(struct send_db, mark),
     "UPDATE sends SET state = 'in_flight', tries = tries + 1, in_flight_at = ?2,"
     " left_at = NULL, run_id = ?3, updated_at = ?2, body = coalesce(?4, body)"
     " WHERE id = ?1 AND state = 'queued'"},
    {offsetof(struct send_db, unmark),
     "UPDATE sends SET state = 'queued', tries = tries - 1, updated_at = ?2"
     " WHERE id = ?1 AND state = 'in_flight'"},
    {offsetof(struct send_db, departed),
     "UPDATE sends SET left_at = ?2 WHERE id = ?1 AND state = 'in_flight'"},
    {offsetof(struct send_db, sent),
     "UPDATE sends SET state = 'sent', wamid = ?2, http_status = ?3, sent_at = ?4,"
     " updated_at = ?4, next_try_at = NULL, api_code = NULL, api_error = NULL,"
     OUTCOME_LEFT " WHERE id = ?1 AND state = 'in_flight'"},
    {offsetof(struct send_db, failed),
     "UPDATE sends SET state = 'failed', http_status = ?2, api_code = ?3, api_error = ?4,"
     " updated_at = ?5, next_try_at = NULL," OUTCOME_LEFT
     " WHERE id = ?1 AND state = 'in_flight'"},
    {offsetof(struct send_db, retry),
     "UPDATE sends SET state = 'queued', http_status = ?2, api_code = ?3, api_error = ?4,"
     " updated_at = ?5, next_try_at = ?6," OUTCOME_LEFT
     " WHERE id = ?1 AND state = 'in_flight'"},
    {offsetof(struct send_db, last_part),
     "SELECT MAX(part) FROM sends WHERE fallback_id = ?1 AND kind = 's'"},
    {offsetof(struct send_db, opt_ins),
     "INSERT OR IGNORE INTO optouts (phone, at, source, campaign_id)"
     " VALUES (?1, ?2, 'error_131050', ?3)"},
    {offsetof(struct send_db, opt_phone),
     "SELECT id FROM fallbacks WHERE phone = ?1 AND state IN " SUF_FSM_DB_STATES},
};

#define NSTMTS (sizeof(stmts) / sizeof(stmts[0]))

static sqlite3_stmt **slot(struct send_db *db, size_t i)
{
    return (sqlite3_stmt **)((char *)db + stmts[i].offset);
}

static int64_t now(const struct send_db *db)
{
    return suf_run_now(db->run);
}

/* Sets a pragma to a value of ours (PRAGMAs take no bound parameters);
 * *old gets the previous value when `old` is not NULL. */
static int pragma_set(struct send_db *db, const char *name, int64_t value, int64_t *old,
                      struct suf_err *err)
{
    char sql[80];

    snprintf(sql, sizeof(sql), "PRAGMA %s", name);
    if (old && suf_store_scalar(db->st, sql, NULL, old, err))
        return SUF_ERR_DB;
    snprintf(sql, sizeof(sql), "PRAGMA %s = %lld", name, (long long)value);
    return suf_store_exec(db->st, sql, err);
}

/*
 * For the stage's duration (restored at close): WAL checkpoints at most
 * every SEND_WAL_PAGES pages instead of SQLite's 1000, for when the writer
 * runs without its checkpointer (send_writer.c), which otherwise takes the
 * checkpoints off the committing connection altogether.  A checkpoint
 * copies the WAL into the database and waits for the disk twice; a send
 * rewrites each row twice (in_flight, then its outcome), so rarer
 * checkpoints also copy each page fewer times.  Durability is unchanged: a
 * commit is in the WAL either way.  (A larger page cache was measured too:
 * it cost more CPU than it saved.)
 */
static int tune(struct send_db *db, struct suf_err *err)
{
    if (pragma_set(db, "wal_autocheckpoint", SEND_WAL_PAGES, &db->saved_ckpt, err))
        return SUF_ERR_DB;
    db->tuned = true;
    return SUF_OK;
}

int suf_send_db_open(struct send_db *db, struct suf_run *run, struct suf_err *err)
{
    const struct suf_config *cfg = run->cfg;
    const struct suf_fsm_params params = {cfg->consent_wait_hours * 3600,
                                          cfg->window_margin_minutes * 60};

    memset(db, 0, sizeof(*db));
    db->run = run;
    db->st = run->store;
    db->dry = run->dry_run;
    db->margin_s = 86400 - cfg->window_margin_minutes * 60;
    if (suf_store_exec(db->st, "CREATE TEMP TABLE IF NOT EXISTS send_ok"
                               " (campaign_id TEXT PRIMARY KEY)", err) ||
        suf_store_exec(db->st, "CREATE TEMP TABLE IF NOT EXISTS send_skip"
                               " (id INTEGER PRIMARY KEY)", err) ||
        suf_store_exec(db->st, "CREATE TEMP TABLE IF NOT EXISTS send_departed"
                               " (id INTEGER, tries INTEGER, PRIMARY KEY (id, tries))",
                       err) ||
        suf_store_exec(db->st, "DELETE FROM temp.send_skip", err))
        return SUF_ERR_DB;
    if (tune(db, err))
        return SUF_ERR_DB;
    if (db->dry && suf_store_begin(db->st, err))
        return SUF_ERR_DB;
    for (size_t i = 0; i < NSTMTS; i++) {
        /* only opt_phone names states: those an opt-out can move */
        *slot(db, i) = suf_fsm_db_prepare(db->st, stmts[i].sql, SUF_EV_OPT_OUT, err);
        if (!*slot(db, i)) {
            suf_send_db_close(db);
            return SUF_ERR_DB;
        }
    }
    if (suf_render_open(db->st, &db->render, err) ||
        suf_fsm_db_open(&db->fsm, db->st, &params, err)) {
        suf_send_db_close(db);
        return SUF_ERR_DB;
    }
    return SUF_OK;
}

void suf_send_db_close(struct send_db *db)
{
    if (!db->st)
        return;
    for (size_t i = 0; i < NSTMTS; i++) {
        sqlite3_finalize(*slot(db, i));
        *slot(db, i) = NULL;
    }
    suf_render_free(db->render);
    db->render = NULL;
    suf_fsm_db_close(&db->fsm);
    /* a dry run leaves no trace; otherwise nothing is open unless a write
     * failed */
    suf_store_rollback(db->st);
    if (db->tuned) {
        struct suf_err ignored = SUF_ERR_INIT;

        pragma_set(db, "wal_autocheckpoint", db->saved_ckpt, NULL, &ignored);
    }
    db->st = NULL;
}

int suf_send_db_begin(struct send_db *db, struct suf_err *err)
{
    return db->dry ? SUF_OK : suf_store_begin(db->st, err);
}

int suf_send_db_commit(struct send_db *db, struct suf_err *err)
{
    if (db->dry)
        return SUF_OK;
    if (suf_store_commit(db->st, err)) {
        suf_store_rollback(db->st);
        return SUF_ERR_DB;
    }
    return SUF_OK;
}

/* Steps a reset statement to completion; returns the rows it changed or -1. */
static int step_done(struct send_db *db, sqlite3_stmt *s, struct suf_err *err, const char *what)
{
    int rc = sqlite3_step(s);
    int changed = sqlite3_changes(db->st->db);

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) {
        suf_store_fail(db->st, err, what);
        return -1;
    }
    return changed;
}

static void bind_campaign(struct send_db *db, sqlite3_stmt *s)
{
    suf_bind_text(s, 9, db->run->campaign);
}

/* Runs one static UPDATE with ?1 = now, ?2 = margin, ?9 = campaign. */
static int exec_pass(struct send_db *db, const char *sql, int64_t *changed, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(db->st, sql, err);
    int n;

    if (!s)
        return SUF_ERR_DB;
    sqlite3_bind_int64(s, 1, now(db));
    if (sqlite3_bind_parameter_count(s) >= 2)
        sqlite3_bind_int64(s, 2, db->margin_s);
    if (sqlite3_bind_parameter_count(s) >= 9)
        bind_campaign(db, s);
    n = step_done(db, s, err, "sends");
    sqlite3_finalize(s);
    if (n < 0)
        return SUF_ERR_DB;
    if (changed)
        *changed = n;
    return SUF_OK;
}

/*
 * We hold the writer lock: any in_flight row belongs to a dead run.  Its
 * request provably never left when no departure of its current try was
 * recorded: none in the store (left_at, which each in_flight mark clears),
 * and none in the departure log of its run (temp.send_departed, read by
 * suf_send_departures_load; `log_run` -1 when there is no log to trust).
 * Such a row goes back to 'queued', its try undone; every other may have
 * reached the API and becomes 'unknown', for its webhook to resolve.
 */
static const char sql_requeue[] =
    "UPDATE sends SET state = 'queued', tries = tries - 1, updated_at = ?1"
    " WHERE state = 'in_flight' AND left_at IS NULL AND run_id = ?2"
    "   AND NOT EXISTS (SELECT 1 FROM temp.send_departed d"
    "                   WHERE d.id = sends.id AND d.tries = sends.tries)";

int suf_send_db_recover(struct send_db *db, int64_t *n, int64_t *requeued,
                        struct suf_err *err)
{
    static const char *const sql[] = {
        "UPDATE sends SET state = 'unknown', updated_at = ?1 WHERE state = 'in_flight'",
    };
    sqlite3_stmt *s;
    int64_t log_run;
    int changed;

    *requeued = 0;
    if (suf_send_departures_load(db, &log_run, err))
        return err->status;
    if (suf_send_db_begin(db, err))
        return SUF_ERR_DB;
    if (log_run >= 0) {
        if (!(s = suf_store_prepare(db->st, sql_requeue, err)))
            goto fail;
        sqlite3_bind_int64(s, 1, now(db));
        sqlite3_bind_int64(s, 2, log_run);
        changed = step_done(db, s, err, "sends");
        sqlite3_finalize(s);
        if (changed < 0)
            goto fail;
        *requeued = changed;
    }
    if (exec_pass(db, sql[0], n, err))
        goto fail;
    return suf_send_db_commit(db, err);
fail:
    if (!db->dry)
        suf_store_rollback(db->st);
    return SUF_ERR_DB;
}

/* Steps `kind` at now on every fallback the query `sql` finds (its
 * SUF_FSM_DB_STATES replaced by the states `kind` can move; ?9 = the
 * campaign), in one transaction; *n gets the fallbacks moved. */
static int step_pass(struct send_db *db, const char *sql, enum suf_fsm_kind kind, int64_t *n,
                     struct suf_err *err)
{
    struct suf_fsm_event ev = {kind, now(db), false, 0, SUF_FB_REASON_NONE, NULL};
    sqlite3_stmt *s = suf_fsm_db_prepare(db->st, sql, kind, err);
    int rc;

    *n = 0;
    if (!s)
        return SUF_ERR_DB;
    bind_campaign(db, s);
    rc = suf_send_db_begin(db, err);
    if (!rc && (rc = suf_fsm_db_step_all(&db->fsm, s, &ev, n, err)) && !db->dry)
        suf_store_rollback(db->st);
    sqlite3_finalize(s);
    if (rc)
        return rc;
    return suf_send_db_commit(db, err);
}

/* The fallbacks with a session part waiting, whose window the machine may
 * close: found from the queued parts, which are few. */
int suf_send_db_expire(struct send_db *db, int64_t *n, struct suf_err *err)
{
    return step_pass(db,
                     "SELECT DISTINCT s.fallback_id FROM sends s"
                     " JOIN fallbacks f ON f.id = s.fallback_id"
                     " WHERE s.state = 'queued' AND s.kind = 's'"
                     "   AND f.state IN " SUF_FSM_DB_STATES " AND " CAMPAIGN_FILTER,
                     SUF_EV_TICK, n, err);
}

int suf_send_db_optouts(struct send_db *db, int64_t *n, struct suf_err *err)
{
    /* EXISTS (SELECT 1 FROM optouts) is constant: with no opt-outs SQLite
     * skips the scans of every pending row altogether */
    return step_pass(db,
                     "SELECT f.id FROM fallbacks f"
                     " WHERE EXISTS (SELECT 1 FROM optouts)"
                     "   AND f.state IN " SUF_FSM_DB_STATES
                     "   AND f.phone IN (SELECT phone FROM optouts)"
                     "   AND " CAMPAIGN_FILTER
                     "   AND EXISTS (SELECT 1 FROM sends s WHERE s.fallback_id = f.id"
                     "               AND s.state IN ('queued', 'held'))",
                     SUF_EV_OPT_OUT, n, err);
}

/* The body of `old` with new callback data (suf_callback_set), whose text
 * is also copied into `cbuf`; NULL when the stored body is not a JSON
 * object.  The caller frees the result. */
static char *with_callback(const char *old, int64_t fb, char kind, int n, char *cbuf,
                           size_t cbsize)
{
    json_t *body = json_loads(old, 0, NULL);
    char *out;

    if (!json_is_object(body)) {
        json_decref(body);
        return NULL;
    }
    suf_callback_set(body, fb, kind, n);
    suf_strlcpy(cbuf, json_string_value(json_object_get(body, "biz_opaque_callback_data")),
                cbsize);
    out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return out;
}

static int insert_resend(struct send_db *db, sqlite3_stmt *ins, sqlite3_stmt *maxn, int64_t id,
                         int64_t fb, const char *kind, int part, const char *body,
                         struct suf_err *err)
{
    int n;
    char cb[64], *nb;

    sqlite3_bind_int64(maxn, 1, fb);
    suf_bind_text(maxn, 2, kind);
    n = sqlite3_step(maxn) == SQLITE_ROW ? sqlite3_column_int(maxn, 0) + 1 : 1;
    sqlite3_reset(maxn);
    nb = with_callback(body, fb, kind[0], n, cb, sizeof(cb));
    if (!nb) {
        suf_warn("send %lld: its stored body is not a JSON object; not re-sent", (long long)id);
        return SUF_OK;
    }
    sqlite3_bind_int64(ins, 1, fb);
    suf_bind_text(ins, 2, kind);
    sqlite3_bind_int(ins, 3, part);
    sqlite3_bind_int(ins, 4, n);
    suf_bind_text(ins, 5, cb);
    suf_bind_text(ins, 6, nb);
    sqlite3_bind_int64(ins, 7, now(db));
    sqlite3_bind_int64(ins, 8, id);
    free(nb);
    return step_done(db, ins, err, "sends") < 0 ? SUF_ERR_DB : SUF_OK;
}

int suf_send_db_resend_unknown(struct send_db *db, int64_t *n, struct suf_err *err)
{
    sqlite3_stmt *sel = NULL, *ins = NULL, *maxn = NULL;
    int rc = SUF_ERR_DB, step;

    *n = 0;
    sel = suf_store_prepare(
        db->st,
        "SELECT s.id, s.fallback_id, s.kind, s.part, s.body FROM sends s"
        "  JOIN fallbacks f ON f.id = s.fallback_id"
        " WHERE s.state = 'unknown' AND s.in_flight_at <= ?1"
        "   AND NOT EXISTS (SELECT 1 FROM sends r WHERE r.resend_of = s.id)"
        "   AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.phone = f.phone)"
        "   AND ((s.kind = 'u' AND f.state = 'pending') OR (s.kind = 's' AND f.state = 'consented'))"
        "   AND " CAMPAIGN_FILTER " ORDER BY s.id",
        err);
    ins = suf_store_prepare(db->st,
                            "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state,"
                            " queued_at, updated_at, resend_of)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?7, ?8)",
                            err);
    maxn = suf_store_prepare(db->st,
                             "SELECT MAX(n) FROM sends WHERE fallback_id = ?1 AND kind = ?2", err);
    if (!sel || !ins || !maxn || suf_send_db_begin(db, err))
        goto out;
    sqlite3_bind_int64(sel, 1, now(db) - db->run->cfg->unknown_resend_after_hours * 3600);
    bind_campaign(db, sel);
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        if (insert_resend(db, ins, maxn, sqlite3_column_int64(sel, 0),
                          sqlite3_column_int64(sel, 1), (const char *)sqlite3_column_text(sel, 2),
                          sqlite3_column_int(sel, 3), (const char *)sqlite3_column_text(sel, 4),
                          err))
            break;
        (*n)++;
    }
    if (step != SQLITE_DONE) {
        if (step != SQLITE_ROW)
            suf_store_fail(db->st, err, "sends");
        if (!db->dry)
            suf_store_rollback(db->st);
        goto out;
    }
    sqlite3_reset(sel);
    rc = suf_send_db_commit(db, err);
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    sqlite3_finalize(maxn);
    return rc;
}

/*
 * Whether campaign `campaign` may start fallbacks now, by the rules plan
 * decided with (its settings over the config, as suf_plan_policy_load
 * reads them) and its permission template; the reason and its words
 * (into `why`) when it may not.
 */
static int campaign_refusal(struct send_db *db, const char *campaign, const char *tname,
                            const char *tlang, const char *json, const struct suf_template_live *live,
                            enum suf_fb_reason *reason, char *why, size_t size,
                            struct suf_err *err)
{
    const struct suf_config *cfg = db->run->cfg;
    struct suf_plan_policy p;
    char t[40], buf[400];
    const char *refusal;

    *reason = SUF_FB_REASON_NONE;
    if (suf_plan_policy_load(db->run, campaign, now(db), &p, err))
        return SUF_ERR_DB;
    if (!p.fallback) {
        *reason = SUF_FB_REASON_CAMPAIGN_OFF;
        snprintf(why, size, "fallback is switched off for the campaign");
    } else if (p.has_valid_until && now(db) > p.valid_until) {
        *reason = SUF_FB_REASON_CAMPAIGN_EXPIRED;
        snprintf(why, size, "the campaign ended at %s (valid_until)",
                 suf_time_format(p.valid_until, t, sizeof(t)));
    } else if ((refusal = suf_permission_refusal(json, live, cfg->utility_no_button, buf,
                                           sizeof(buf)))) {
        *reason = SUF_FB_REASON_TEMPLATE_UNUSABLE;
        snprintf(why, size, "permission template '%s' (%s) %s", tname, tlang, refusal);
    } else if (p.has_valid_until && now(db) + cfg->consent_wait_hours * 3600 > p.valid_until) {
        *reason = SUF_FB_REASON_WINDOW_TOO_SHORT;
        snprintf(why, size, "a consent window of %lld h started now would close after "
                 "valid_until %s", (long long)cfg->consent_wait_hours,
                 suf_time_format(p.valid_until, t, sizeof(t)));
    }
    return SUF_OK;
}

/* Blocks (reason != NONE) or unblocks the fallbacks of `campaign` that the
 * machine can move so; *moved gets how many it moved. */
static int block_campaign(struct send_db *db, sqlite3_stmt *block, sqlite3_stmt *unblock,
                          const char *campaign, enum suf_fb_reason reason, const char *why,
                          int64_t *moved, struct suf_err *err)
{
    struct suf_fsm_event ev = {reason ? SUF_EV_BLOCK : SUF_EV_UNBLOCK, now(db), false, 0,
                               reason, why};
    sqlite3_stmt *s = reason ? block : unblock;

    suf_bind_text(s, 1, campaign);
    return suf_fsm_db_step_all(&db->fsm, s, &ev, moved, err);
}

/*
 * Every campaign with queued utility messages: one that may not start
 * fallbacks now has its pending ones blocked, with the reason (a fallback
 * whose utility message may have left, in_flight or unknown, stays as it
 * is: its webhook decides); one that may has its blocked ones pending
 * again, and goes into temp.send_ok, whose campaigns the utility fetch
 * takes.
 */
int suf_send_db_gate(struct send_db *db, int64_t *blocked, struct suf_err *err)
{
    const struct suf_config *cfg = db->run->cfg;
    sqlite3_stmt *s, *ok, *block, *unblock;
    int64_t n_blocked = 0, n_unblocked = 0, moved;
    int step, rc = SUF_ERR_DB;

    *blocked = 0;
    if (suf_store_exec(db->st, "DELETE FROM temp.send_ok", err))
        return SUF_ERR_DB;
    s = suf_store_prepare(
        db->st,
        "SELECT g.campaign_id, g.tname, g.tlang, t.json, t.live_status, t.live_category,"
        " t.live_reason, t.live_at FROM"
        " (SELECT DISTINCT f.campaign_id,"
        "   COALESCE(NULLIF(c.utility_template, ''), ?1) AS tname,"
        "   COALESCE(NULLIF(c.utility_language, ''), ?2) AS tlang"
        "   FROM sends s JOIN fallbacks f ON f.id = s.fallback_id"
        "   LEFT JOIN campaigns c ON c.campaign_id = f.campaign_id"
        "  WHERE s.kind = 'u' AND s.state = 'queued' AND " CAMPAIGN_FILTER ") g"
        " LEFT JOIN templates t ON t.name = g.tname AND t.language = g.tlang"
        " ORDER BY g.campaign_id",
        err);
    ok = suf_store_prepare(db->st, "INSERT OR IGNORE INTO temp.send_ok VALUES (?1)", err);
    block = suf_fsm_db_prepare(db->st,
                               "SELECT f.id FROM fallbacks f WHERE f.campaign_id = ?1"
                               " AND f.state IN " SUF_FSM_DB_STATES
                               " AND NOT EXISTS (SELECT 1 FROM sends s WHERE"
                               " s.fallback_id = f.id AND s.state IN ('in_flight', 'unknown'))",
                               SUF_EV_BLOCK, err);
    unblock = suf_fsm_db_prepare(db->st,
                                 "SELECT id FROM fallbacks WHERE campaign_id = ?1"
                                 " AND state IN " SUF_FSM_DB_STATES,
                                 SUF_EV_UNBLOCK, err);
    if (!s || !ok || !block || !unblock || suf_send_db_begin(db, err))
        goto out;
    suf_bind_text(s, 1, cfg->utility_template);
    suf_bind_text(s, 2, cfg->utility_language);
    bind_campaign(db, s);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        char why[600];
        const char *campaign = (const char *)sqlite3_column_text(s, 0);
        const struct suf_template_live live = {(const char *)sqlite3_column_text(s, 4),
                                        (const char *)sqlite3_column_text(s, 5),
                                        (const char *)sqlite3_column_text(s, 6),
                                        sqlite3_column_int64(s, 7)};
        enum suf_fb_reason reason;

        if (campaign_refusal(db, campaign, (const char *)sqlite3_column_text(s, 1),
                             (const char *)sqlite3_column_text(s, 2),
                             (const char *)sqlite3_column_text(s, 3), &live, &reason, why,
                             sizeof(why), err) ||
            block_campaign(db, block, unblock, campaign, reason, why, &moved, err))
            goto fail;
        if (reason) {
            suf_warn("campaign '%s': %s; no utility message sent for it (%lld fallbacks "
                     "blocked now)",
                     campaign, why, (long long)moved);
            (*blocked)++;
            n_blocked += moved;
            continue;
        }
        n_unblocked += moved;
        if (moved)
            suf_info("campaign '%s': %lld blocked fallbacks are pending again", campaign,
                     (long long)moved);
        suf_bind_text(ok, 1, campaign);
        if (step_done(db, ok, err, "send_ok") < 0)
            goto fail;
    }
    if (step != SQLITE_DONE) {
        suf_store_fail(db->st, err, "templates");
        goto fail;
    }
    sqlite3_reset(s);
    suf_run_count(db->run, "send.fallbacks_blocked", n_blocked);
    suf_run_count(db->run, "send.fallbacks_unblocked", n_unblocked);
    rc = suf_send_db_commit(db, err);
    goto out;
fail:
    sqlite3_reset(s);
    if (!db->dry)
        suf_store_rollback(db->st);
out:
    sqlite3_finalize(s);
    sqlite3_finalize(ok);
    sqlite3_finalize(block);
    sqlite3_finalize(unblock);
    return rc;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);

    return suf_xstrdup(v ? v : "");
}

/*
 * A utility row plan queued without its bytes: builds them from the
 * fallback's frozen inputs (render.h), to be stored by its in_flight mark.
 * A row whose message cannot be built is set aside for the rest of the
 * stage and said so (*ok false); it stays queued.  Runs in a job, maybe on
 * the writer's thread: the sending thread counts the refusal.
 */
static int build_body(struct send_db *db, struct send_item *it, bool *ok, struct suf_err *err)
{
    struct suf_err berr = SUF_ERR_INIT;
    int rc = suf_render_utility(db->render, it->fallback_id, it->n, &it->body, &berr);

    *ok = rc == SUF_OK;
    if (rc == SUF_ERR_DB) {
        *err = berr;
        return rc;
    }
    if (rc) {
        suf_error("send %lld: its utility message cannot be built: %s; not sent",
                  (long long)it->id, berr.msg);
        return suf_send_db_skip(db, it, err);
    }
    it->len = strlen(it->body);
    it->bytes = SEND_BYTES_BUILT;
    return SUF_OK;
}

int suf_send_db_fetch(struct send_db *db, char kind, int max, struct send_item ***items,
                      size_t *n, size_t *alloc, struct suf_err *err)
{
    sqlite3_stmt *s = kind == 's' ? db->fetch_s : db->fetch_u;
    int step;

    sqlite3_bind_int64(s, 1, now(db));
    sqlite3_bind_int64(s, 2, db->run->id);
    sqlite3_bind_int64(s, 3, db->margin_s);
    sqlite3_bind_int(s, 4, max);
    if (kind == 'u')
        sqlite3_bind_int64(s, 5, db->u_after);
    bind_campaign(db, s);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct send_item *it = suf_xcalloc(1, sizeof(*it));

        it->id = sqlite3_column_int64(s, 0);
        it->fallback_id = sqlite3_column_int64(s, 1);
        it->kind = kind;
        it->part = sqlite3_column_int(s, 3);
        it->n = sqlite3_column_int(s, 4);
        it->len = (size_t)sqlite3_column_bytes(s, 5);
        if (it->len)
            it->body = suf_xstrndup((const char *)sqlite3_column_text(s, 5), it->len);
        it->phone = col_dup(s, 6);
        it->campaign = col_dup(s, 7);
        it->consented_at = sqlite3_column_int64(s, 8);
        it->tries = sqlite3_column_int(s, 9);
        it->res.retry_after_ms = -1;
        if (kind == 'u')
            db->u_after = it->id; /* rows come in id order */
        if (!it->body && kind == 'u') {
            it->bytes = SEND_BYTES_TO_BUILD; /* its mark builds them */
        } else if (!it->body) {
            suf_error("send %lld: session part without a body; not sent", (long long)it->id);
            suf_send_item_free(it);
            continue;
        }
        if (*n == *alloc) {
            *alloc = *alloc ? 2 * *alloc : 64;
            *items = suf_xrealloc(*items, *alloc * sizeof(**items));
        }
        (*items)[(*n)++] = it;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (step != SQLITE_DONE)
        return suf_store_fail(db->st, err, "sends");
    return SUF_OK;
}

int suf_send_db_mark(struct send_db *db, struct send_item *it, bool *marked,
                     struct suf_err *err)
{
    int n;

    *marked = false;
    if (it->bytes == SEND_BYTES_TO_BUILD) {
        bool ok = false;
        int rc = build_body(db, it, &ok, err);

        if (rc)
            return rc;
        if (!ok) {
            it->bytes = SEND_BYTES_UNBUILDABLE;
            return SUF_OK;
        }
    }
    sqlite3_bind_int64(db->mark, 1, it->id);
    sqlite3_bind_int64(db->mark, 2, now(db));
    sqlite3_bind_int64(db->mark, 3, db->run->id);
    if (it->bytes == SEND_BYTES_BUILT)
        sqlite3_bind_text(db->mark, 4, it->body, (int)it->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(db->mark, 4);
    n = step_done(db, db->mark, err, "sends");
    if (n < 0)
        return SUF_ERR_DB;
    *marked = n == 1;
    if (*marked) {
        it->tries++; /* as the row now says: the departure log names tries */
        it->bytes = SEND_BYTES_STORED; /* its bytes are the row's now */
    }
    return SUF_OK;
}

int suf_send_db_skip(struct send_db *db, const struct send_item *it, struct suf_err *err)
{
    sqlite3_bind_int64(db->skip, 1, it->id);
    return step_done(db, db->skip, err, "send_skip") < 0 ? SUF_ERR_DB : SUF_OK;
}

int suf_send_db_count_left(struct send_db *db, int64_t *n, struct suf_err *err)
{
    sqlite3_stmt *s = db->left_u;
    int step;

    sqlite3_bind_int64(s, 2, db->run->id);
    bind_campaign(db, s);
    step = sqlite3_step(s);
    *n = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return step == SQLITE_ROW ? SUF_OK : suf_store_fail(db->st, err, "sends");
}

int suf_send_db_unmark(struct send_db *db, struct send_item *it, struct suf_err *err)
{
    sqlite3_bind_int64(db->unmark, 1, it->id);
    sqlite3_bind_int64(db->unmark, 2, now(db));
    return step_done(db, db->unmark, err, "sends") < 0 ? SUF_ERR_DB : SUF_OK;
}

static void bind_error(sqlite3_stmt *s, const struct send_item *it, int64_t t)
{
    suf_bind_int64_or_null(s, 2, it->res.http_status, it->res.http_status == 0);
    suf_bind_int64_or_null(s, 3, it->res.api_code, it->res.api_code == 0);
    suf_bind_text(s, 4, it->res.api_error[0] ? it->res.api_error : NULL);
    sqlite3_bind_int64(s, 5, t);
}

/* Feeds fallback `fb` one event of this send, at t. */
static int fallback_step(struct send_db *db, int64_t fb, enum suf_fsm_kind kind, int64_t t,
                         int64_t code, struct suf_err *err)
{
    struct suf_fsm_event ev = {kind, t, false, code, SUF_FB_REASON_NONE, NULL};

    return suf_fsm_db_step(&db->fsm, fb, &ev, NULL, NULL, err);
}

/* A session part is the fallback's session_sent only when it is its last. */
static int fallback_after_sent(struct send_db *db, struct send_item *it, int64_t t,
                               struct suf_err *err)
{
    sqlite3_stmt *s = db->last_part;
    int step, last;

    if (it->kind == 'u')
        return fallback_step(db, it->fallback_id, SUF_EV_UTILITY_SENT, t, 0, err);
    sqlite3_bind_int64(s, 1, it->fallback_id);
    step = sqlite3_step(s);
    last = step == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_reset(s);
    if (step != SQLITE_ROW)
        return suf_store_fail(db->st, err, "sends");
    if (it->part < last)
        return SUF_OK;
    return fallback_step(db, it->fallback_id, SUF_EV_SESSION_SENT, t, 0, err);
}

/* Error 131050: the phone is opted out, this fallback with the code, and
 * every other of the phone, in any campaign, that the machine can end. */
static int opt_out(struct send_db *db, struct send_item *it, int64_t t, struct suf_err *err)
{
    struct suf_fsm_event ev = {SUF_EV_OPT_OUT, t, false, 0, SUF_FB_REASON_NONE, NULL};
    int64_t moved;

    suf_bind_text(db->opt_ins, 1, it->phone);
    sqlite3_bind_int64(db->opt_ins, 2, t);
    suf_bind_text(db->opt_ins, 3, it->campaign);
    if (step_done(db, db->opt_ins, err, "optouts") < 0)
        return SUF_ERR_DB;
    if (fallback_step(db, it->fallback_id, SUF_EV_OPT_OUT, t, it->res.api_code, err))
        return SUF_ERR_DB;
    suf_bind_text(db->opt_phone, 1, it->phone);
    return suf_fsm_db_step_all(&db->fsm, db->opt_phone, &ev, &moved, err);
}

static int fallback_after_failed(struct send_db *db, struct send_item *it, int64_t t,
                                 struct suf_err *err)
{
    if (it->res.api_code == 131050)
        return opt_out(db, it, t, err);
    return fallback_step(db, it->fallback_id,
                         it->kind == 'u' ? SUF_EV_UTILITY_FAILED : SUF_EV_SESSION_FAILED, t,
                         it->res.api_code, err);
}

/* The departure an outcome records: that of its try, when it left. */
static void bind_left(sqlite3_stmt *s, const struct send_item *it)
{
    suf_bind_int64_or_null(s, 10, it->left_at, it->left_at == 0);
}

int suf_send_db_outcome(struct send_db *db, struct send_item *it, struct suf_err *err)
{
    int64_t t = now(db);
    sqlite3_stmt *s;

    switch (it->verdict) {
    case SUF_API_SENT:
        s = db->sent;
        bind_left(s, it);
        sqlite3_bind_int64(s, 1, it->id);
        suf_bind_text(s, 2, it->res.wamid);
        sqlite3_bind_int(s, 3, it->res.http_status);
        sqlite3_bind_int64(s, 4, t);
        if (step_done(db, s, err, "sends") < 0)
            return SUF_ERR_DB;
        return fallback_after_sent(db, it, t, err);
    case SUF_API_PERMANENT:
        s = db->failed;
        bind_left(s, it);
        sqlite3_bind_int64(s, 1, it->id);
        bind_error(s, it, t);
        if (step_done(db, s, err, "sends") < 0)
            return SUF_ERR_DB;
        return fallback_after_failed(db, it, t, err);
    case SUF_API_RETRY:
    default:
        s = db->retry;
        bind_left(s, it);
        sqlite3_bind_int64(s, 1, it->id);
        bind_error(s, it, t);
        sqlite3_bind_int64(s, 6, t + (it->delay_ms + 999) / 1000);
        return step_done(db, s, err, "sends") < 0 ? SUF_ERR_DB : SUF_OK;
    }
}

void suf_send_db_job(struct send_db *db, struct send_job *job)
{
    struct suf_err *err = &job->err;

    suf_err_clear(err);
    job->rc = SUF_ERR_DB;
    if (suf_send_db_begin(db, err))
        return;
    /* departures first: an outcome in this job moves its row on */
    for (size_t i = 0; i < job->ndeparted; i++) {
        sqlite3_bind_int64(db->departed, 1, job->departed[i].id);
        sqlite3_bind_int64(db->departed, 2, job->departed[i].at);
        if (step_done(db, db->departed, err, "sends") < 0)
            goto fail;
    }
    for (size_t i = 0; i < job->noutcomes; i++) {
        job->judge(job->judge_ctx, job->outcomes[i]);
        if (suf_send_db_outcome(db, job->outcomes[i], err))
            goto fail;
    }
    for (size_t i = 0; i < job->nmarks; i++)
        if (suf_send_db_mark(db, job->marks[i], &job->marks[i]->marked, err))
            goto fail;
    if (suf_send_db_commit(db, err))
        return; /* rolled back */
    job->rc = SUF_OK;
    return;
fail:
    if (!db->dry)
        suf_store_rollback(db->st);
}

bool suf_send_db_window_open(const struct send_db *db, const struct send_item *it)
{
    return it->kind != 's' || (it->consented_at > 0 && it->consented_at + db->margin_s > now(db));
}

void suf_send_item_free(struct send_item *it)
{
    if (!it)
        return;
    free(it->body);
    free(it->reply);
    free(it->location);
    free(it->phone);
    free(it->campaign);
    free(it);
}
