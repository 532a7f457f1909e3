/*
 * cmd_status.c: `suf status`: what the store holds, per campaign, and the
 * last runs.  It only reads (no lock, no `runs` row), so an operator can run
 * it while the nightly job works.
 *
 * The answers are gathered once into a JSON object (documented in
 * README.md, "suf status --json"), then either printed as it is (--json)
 * or as a few lines per campaign, so that the two forms cannot disagree.
 * Per campaign: its settings (off or expired), fallbacks by state, the cost
 * so far in both views (the report's model, report_data.h: no pricing rule
 * is repeated here), charges without a price, the sends queued, deferred or
 * `unknown`, the consents waiting with their deadlines, and the phones with
 * no market (counted as the report counts them).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/amount.h"
#include "base/phone.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "plan/plan.h"
#include "report/report.h"
#include "report/report_data.h"
#include "store/store.h"
#include "base/banned.h"

/* At most this many waiting consents are listed per campaign (the earliest
 * deadlines); the count is always whole. */
#define STATUS_MAX_CONSENTS 10

/* The rows of a two-column (text, count) query bound to the campaign id,
 * as an object {k1: n1, ...}; NULL on error (err says why). */
static json_t *pairs(struct suf_run *run, const char *sql, const char *campaign,
                     struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(run->store, sql, err);
    json_t *o;
    int rc;

    if (!s)
        return NULL;
    o = json_object();
    suf_bind_text(s, 1, campaign);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        json_object_set_new(o, k ? k : "(none)",
                            json_integer(sqlite3_column_int64(s, 1)));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        suf_store_fail(run->store, err, "status");
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *time_json(int64_t t)
{
    char buf[32];

    return json_string(suf_time_format(t, buf, sizeof(buf)));
}

/* The campaign's settings as plan decides with them (plan.h's policy: its
 * row over the config), and whether they stop it: "cancelled" (`suf
 * cancel`), "off", "not_enabled", "expired" or NULL. */
static int settings(struct suf_run *run, const char *id, json_t *c, struct suf_err *err)
{
    struct suf_plan_policy p;
    const char *stopped;
    char why[192], when[32];
    int rc = suf_plan_policy_load(run, id, run->clock.base, &p, err);

    if (rc)
        return rc;
    stopped = suf_plan_policy_stopped(&p, why, sizeof(why));
    if (p.cancelled_at)
        snprintf(why, sizeof(why), "cancelled by the operator at %s",
                 suf_time_format(p.cancelled_at, when, sizeof(when)));
    json_object_set_new(c, "fallback", json_boolean(p.fallback));
    json_object_set_new(c, "valid_until",
                        p.has_valid_until ? time_json(p.valid_until) : json_null());
    json_object_set_new(c, "stopped", stopped ? json_string(stopped) : json_null());
    json_object_set_new(c, "stopped_reason", stopped ? json_string(why) : json_null());
    return SUF_OK;
}

static int no_fallback(void *user, const struct rep_fallback *fb, struct suf_err *err)
{
    (void)user;
    (void)fb;
    (void)err;
    return SUF_OK;
}

static json_t *money_json(int64_t micros)
{
    char buf[40];

    return json_string(suf_amount_format(micros, buf, sizeof(buf)));
}

/* The cost so far, both views, and the charges without a price, from the
 * report's model of the campaign. */
static int costs(struct rep_ctx *ctx, const char *id, json_t *c, struct suf_err *err)
{
    struct rep_campaign rc_;
    int rc;

    rep_campaign_init(&rc_, ctx, id);
    rc = rep_scan_campaign(ctx, &rc_, err);
    if (!rc)
        rc = rep_scan_fallbacks(ctx, &rc_, no_fallback, NULL, err);
    if (!rc) {
        json_object_set_new(
            c, "cost",
            json_pack("{s:s, s:o, s:o}", "currency", ctx->run->cfg->currency, "policy",
                      money_json(rc_.utility.policy + rc_.session.policy), "meta",
                      money_json(rc_.utility.meta + rc_.session.meta)));
        json_object_set_new(c, "charges_unpriced", json_integer(rc_.charges_unpriced));
    }
    rep_campaign_release(&rc_);
    return rc;
}

/* Sends by what the operator has to know: queued (due now), deferred (a
 * retry waits for its time), blocked (its fallback is blocked: it waits
 * for the campaign to be switched back on or its template to be usable),
 * unknown (a run died mid-request). */
static int sends(struct suf_run *run, const char *id, json_t *c, struct suf_err *err)
{
    static const char sql[] =
        "SELECT CASE WHEN s.state = 'queued' AND f.state = 'blocked' THEN 'blocked' "
        "WHEN s.state = 'queued' AND s.next_try_at > ?2 THEN 'deferred' "
        "ELSE s.state END AS st, count(*) FROM sends s JOIN fallbacks f ON f.id = "
        "s.fallback_id "
        "WHERE f.campaign_id = ?1 AND s.state IN ('queued', 'unknown') GROUP BY st";
    sqlite3_stmt *s = suf_store_prepare(run->store, sql, err);
    int64_t n[4] = {0, 0, 0, 0};
    int rc;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, run->clock.base);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *st = (const char *)sqlite3_column_text(s, 0);
        n[!strcmp(st, "queued")     ? 0
          : !strcmp(st, "deferred") ? 1
          : !strcmp(st, "blocked")  ? 3
                                    : 2] += sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return suf_store_fail(run->store, err, "sends");
    json_object_set_new(c, "sends",
                        json_pack("{s:I, s:I, s:I, s:I}", "queued", (json_int_t)n[0],
                                  "deferred", (json_int_t)n[1], "blocked", (json_int_t)n[3],
                                  "unknown", (json_int_t)n[2]));
    return SUF_OK;
}

/* Fallbacks whose utility message was delivered and that wait for a tap:
 * the tap counts until delivery + consent_wait_hours. */
static int consents(struct suf_run *run, const char *id, json_t *c, struct suf_err *err)
{
    static const char sql[] = "SELECT id, utility_delivered_at + ?2 AS d FROM fallbacks "
                              "WHERE campaign_id = ?1 AND state = 'utility_delivered' "
                              "ORDER BY d, id";
    sqlite3_stmt *s = suf_store_prepare(run->store, sql, err);
    json_t *list = json_array();
    int64_t n = 0;
    int rc;

    if (!s) {
        json_decref(list);
        return SUF_ERR_DB;
    }
    suf_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, run->cfg->consent_wait_hours * 3600);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (n++ < STATUS_MAX_CONSENTS)
            json_array_append_new(list, json_pack("{s:I, s:o}", "fallback",
                                                  (json_int_t)sqlite3_column_int64(s, 0),
                                                  "deadline",
                                                  time_json(sqlite3_column_int64(s, 1))));
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return suf_store_fail(run->store, err, "fallbacks");
    }
    json_object_set_new(
        c, "consents_waiting",
        json_pack("{s:I, s:o}", "count", (json_int_t)n, "earliest", list));
    return SUF_OK;
}

static int counts(struct suf_run *run, const char *id, json_t *c, struct suf_err *err)
{
    static const char *const q[][2] = {
        {"attempts", "SELECT count(*) FROM attempts WHERE campaign_id = ?1"},
        {"recipients", "SELECT count(*) FROM (SELECT DISTINCT phone FROM attempts "
                       "WHERE campaign_id = ?1)"},
        {"planned", "SELECT count(*) FROM recipients WHERE campaign_id = ?1"},
    };
    static const char *const p[][2] = {
        {"attempt_statuses",
         "SELECT status, count(*) FROM attempts WHERE campaign_id = ?1 "
         "GROUP BY status ORDER BY status"},
        {"outcomes",
         "SELECT CASE WHEN outcome = 'excluded' THEN 'excluded:' || reason "
         "ELSE outcome END AS o, count(*) FROM recipients WHERE campaign_id = ?1 "
         "GROUP BY o ORDER BY o"},
        {"fallbacks", "SELECT state, count(*) FROM fallbacks WHERE campaign_id = ?1 "
                      "GROUP BY state ORDER BY state"},
    };
    int rc;

    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        int64_t n = 0;
        if ((rc = suf_store_scalar(run->store, q[i][1], id, &n, err)))
            return rc;
        json_object_set_new(c, q[i][0], json_integer(n));
    }
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
        json_t *o = pairs(run, p[i][1], id, err);
        if (!o)
            return SUF_ERR_DB;
        json_object_set_new(c, p[i][0], o);
    }
    return SUF_OK;
}

/* "phones with no market": the campaign's phones that no prefix of the
 * market map matches, which its workbook prices as "Other" or not at all. */
static int no_market(struct suf_run *run, const char *id, json_t *c, struct suf_err *err)
{
    char example[SUF_PHONE_MAX + 8];
    int64_t n = 0;
    int rc = suf_report_no_market(run, id, &n, example, sizeof(example), err);

    if (rc)
        return rc;
    json_object_set_new(c, "no_market", json_integer(n));
    json_object_set_new(c, "no_market_example", n ? json_string(example) : json_null());
    return SUF_OK;
}

/* The fallbacks held back or stopped, by state and reason, with the words
 * the send stage or `suf cancel` gave: [{state, reason, detail, fallbacks}]. */
static int held(struct suf_run *run, const char *id, json_t *c, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        run->store,
        "SELECT state, reason, max(reason_detail), count(*) FROM fallbacks"
        " WHERE campaign_id = ?1 AND reason IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
        err);
    json_t *list = json_array();
    int step;

    if (!s) {
        json_decref(list);
        return SUF_ERR_DB;
    }
    suf_bind_text(s, 1, id);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(s, 2);

        json_array_append_new(
            list, json_pack("{s:s, s:s, s:o, s:I}", "state", sqlite3_column_text(s, 0),
                            "reason", sqlite3_column_text(s, 1), "detail",
                            detail ? json_string(detail) : json_null(), "fallbacks",
                            (json_int_t)sqlite3_column_int64(s, 3)));
    }
    sqlite3_finalize(s);
    json_object_set_new(c, "held", list);
    return step == SQLITE_DONE ? SUF_OK : suf_store_fail(run->store, err, "fallbacks");
}

static json_t *campaign_json(struct suf_run *run, struct rep_ctx *ctx, const char *id,
                             const char *name, struct suf_err *err)
{
    json_t *c =
        json_pack("{s:s, s:o}", "id", id, "name", name ? json_string(name) : json_null());

    if (counts(run, id, c, err) || settings(run, id, c, err) || held(run, id, c, err) ||
        costs(ctx, id, c, err) ||
        sends(run, id, c, err) || consents(run, id, c, err) ||
        no_market(run, id, c, err)) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* Prints "label k1 n1, k2 n2" from an object of counts; nothing when empty. */
static void print_pairs(const char *label, json_t *o)
{
    const char *k;
    json_t *v;
    int n = 0;

    json_object_foreach(o, k, v)
        printf("%s%s %lld", n++ ? ", " : label, k, (long long)json_integer_value(v));
    if (n)
        printf("\n");
}

static long long geti(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void print_campaign(json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    json_t *cost = json_object_get(c, "cost"), *snd = json_object_get(c, "sends");
    json_t *cw = json_object_get(c, "consents_waiting"), *e;
    const char *stopped = json_string_value(json_object_get(c, "stopped_reason"));
    const char *example = json_string_value(json_object_get(c, "no_market_example"));
    size_t i;

    printf("campaign %s%s%s%s\n", json_string_value(json_object_get(c, "id")),
           name && *name ? " (" : "", name ? name : "", name && *name ? ")" : "");
    printf("  attempts %lld, recipients %lld, planned %lld\n", geti(c, "attempts"),
           geti(c, "recipients"), geti(c, "planned"));
    if (stopped)
        printf("  stopped: %s: %s\n", json_string_value(json_object_get(c, "stopped")),
               stopped);
    print_pairs("  attempt statuses: ", json_object_get(c, "attempt_statuses"));
    print_pairs("  outcomes: ", json_object_get(c, "outcomes"));
    print_pairs("  fallbacks: ", json_object_get(c, "fallbacks"));
    json_array_foreach(json_object_get(c, "held"), i, e)
        printf("  %s: %lld fallbacks (%s: %s)\n", json_string_value(json_object_get(e, "state")),
               geti(e, "fallbacks"), json_string_value(json_object_get(e, "reason")),
               json_string_value(json_object_get(e, "detail"))
                   ? json_string_value(json_object_get(e, "detail"))
                   : "");
    printf("  cost so far: %s %s (policy), %s %s (Meta); charges without a price: %lld\n",
           json_string_value(json_object_get(cost, "policy")),
           json_string_value(json_object_get(cost, "currency")),
           json_string_value(json_object_get(cost, "meta")),
           json_string_value(json_object_get(cost, "currency")),
           geti(c, "charges_unpriced"));
    printf("  sends: queued %lld, deferred %lld, blocked %lld, unknown %lld\n",
           geti(snd, "queued"), geti(snd, "deferred"), geti(snd, "blocked"),
           geti(snd, "unknown"));
    printf("  consents waiting: %lld", geti(cw, "count"));
    json_array_foreach(json_object_get(cw, "earliest"), i, e)
        printf("%s#%lld until %s", i ? ", " : " (", geti(e, "fallback"),
               json_string_value(json_object_get(e, "deadline")));
    printf("%s\n", json_array_size(json_object_get(cw, "earliest")) ? ")" : "");
    printf("  phones with no market: %lld%s%s%s\n", geti(c, "no_market"),
           example ? " (e.g. " : "", example ? example : "", example ? ")" : "");
}

/* The counts a runs row shows in the table, by their key in runs.counts. */
static const char *const main_counts[][2] = {
    {"plan.fallback", "fallbacks"}, {"send.sent", "sent"},
    {"send.failed", "failed"},      {"events.new", "events"},
    {"events.rejects", "rejects"},
};

static json_t *runs_json(struct suf_run *run, struct suf_err *err)
{
    sqlite3_stmt *s =
        suf_store_prepare(run->store,
                          "SELECT id, command, args, started_at, ended_at, as_of, "
                          "status, exit_code, counts, message FROM runs "
                          "ORDER BY id DESC LIMIT 10",
                          err);
    json_t *list;
    int rc;

    if (!s)
        return NULL;
    list = json_array();
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *counts = (const char *)sqlite3_column_text(s, 8);
        const char *msg = (const char *)sqlite3_column_text(s, 9);
        json_t *c = counts ? json_loads(counts, 0, NULL) : NULL;
        bool ended = sqlite3_column_type(s, 4) != SQLITE_NULL;

        json_array_append_new(
            list, json_pack("{s:I, s:s, s:s?, s:o, s:o, s:o, s:s?, s:o, s:o, s:s?}", "id",
                            (json_int_t)sqlite3_column_int64(s, 0), "command",
                            (const char *)sqlite3_column_text(s, 1), "args",
                            (const char *)sqlite3_column_text(s, 2), "started",
                            time_json(sqlite3_column_int64(s, 3)), "seconds",
                            ended ? json_integer(sqlite3_column_int64(s, 4) -
                                                 sqlite3_column_int64(s, 3))
                                  : json_null(),
                            "as_of", time_json(sqlite3_column_int64(s, 5)), "status",
                            (const char *)sqlite3_column_text(s, 6), "exit",
                            sqlite3_column_type(s, 7) == SQLITE_NULL
                                ? json_null()
                                : json_integer(sqlite3_column_int64(s, 7)),
                            "counts", c ? c : json_object(), "message", msg));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        suf_store_fail(run->store, err, "status");
        return NULL;
    }
    return list;
}

static void print_runs(json_t *runs)
{
    size_t i;
    json_t *r;

    printf("last runs (newest first):\n");
    printf("  %-5s %-20s %-8s %-10s %-4s %-11s %s\n", "run", "start", "duration",
           "command", "exit", "status", "main counts");
    json_array_foreach(runs, i, r)
    {
        json_t *secs = json_object_get(r, "seconds"), *ex = json_object_get(r, "exit");
        json_t *cs = json_object_get(r, "counts");
        const char *msg = json_string_value(json_object_get(r, "message"));
        char dur[24] = "running", code[8] = "-";
        int n = 0;

        if (json_is_integer(secs))
            snprintf(dur, sizeof(dur), "%llds", (long long)json_integer_value(secs));
        if (json_is_integer(ex))
            snprintf(code, sizeof(code), "%lld", (long long)json_integer_value(ex));
        printf("  #%-4lld %-20s %-8s %-10s %-4s %-11s", geti(r, "id"),
               json_string_value(json_object_get(r, "started")), dur,
               json_string_value(json_object_get(r, "command")), code,
               json_string_value(json_object_get(r, "status")));
        for (size_t k = 0; k < sizeof(main_counts) / sizeof(main_counts[0]); k++) {
            const json_t *v = json_object_get(cs, main_counts[k][0]);
            if (v)
                printf("%s%s %lld", n++ ? ", " : " ", main_counts[k][1],
                       (long long)json_integer_value(v));
        }
        printf("\n");
        if (msg)
            printf("      %s\n", msg);
    }
}

int cmd_status(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    bool runs = false, as_json = false;
    int rc, n = 0;
    int64_t rejects = 0;
    sqlite3_stmt *s;
    struct rep_ctx ctx;
    json_t *out = NULL, *list, *by_reason, *c;
    size_t i;

    if ((rc = suf_cli_common_opts(run, &argc, argv, NULL, err)))
        return rc;
    /* It would be taken and ignored: a dry run of status is no run at all. */
    if (run->dry_run)
        return suf_err_set(err, SUF_ERR_USAGE, "status: --dry-run is not an option of status");
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--runs"))
            runs = true;
        else if (!strcmp(argv[a], "--json"))
            as_json = true;
        else
            return suf_err_set(err, SUF_ERR_USAGE, "status: unexpected argument '%s'",
                               argv[a]);
    }
    if ((rc = rep_ctx_init(&ctx, run, err))) {
        rep_ctx_release(&ctx);
        return rc;
    }
    s = suf_store_prepare(
        run->store,
        "SELECT c.id, (SELECT name FROM campaigns WHERE campaign_id = c.id), "
        "  (SELECT campaign_name FROM attempts WHERE campaign_id = c.id "
        "   AND campaign_name IS NOT NULL LIMIT 1) "
        "FROM (SELECT DISTINCT campaign_id AS id FROM attempts "
        "      UNION SELECT campaign_id FROM campaigns) c "
        "WHERE ?1 IS NULL OR c.id = ?1 ORDER BY c.id",
        err);
    if (!s) {
        rep_ctx_release(&ctx);
        return SUF_ERR_DB;
    }
    out = json_pack("{s:o, s:[]}", "as_of", time_json(run->clock.base), "campaigns");
    list = json_object_get(out, "campaigns");
    suf_bind_text(s, 1, run->campaign);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 1);
        if (!name)
            name = (const char *)sqlite3_column_text(s, 2);
        if (!(c = campaign_json(run, &ctx, (const char *)sqlite3_column_text(s, 0), name,
                                err)))
            break;
        json_array_append_new(list, c);
        n++;
    }
    sqlite3_finalize(s);
    rep_ctx_release(&ctx);
    if (rc == SQLITE_ROW) {
        rc = err->status ? err->status : SUF_ERR_DB;
        goto out;
    }
    if (rc != SQLITE_DONE) {
        rc = suf_store_fail(run->store, err, "status");
        goto out;
    }
    if (run->campaign && !n) {
        rc = suf_err_set(err, SUF_ERR_NOTFOUND, "no campaign '%s'", run->campaign);
        goto out;
    }
    if ((rc = suf_store_scalar(run->store, "SELECT count(*) FROM rejects", NULL, &rejects,
                               err)))
        goto out;
    if (!(by_reason = pairs(run,
                            "SELECT reason, count(*) FROM rejects WHERE ?1 IS NULL OR 1 "
                            "GROUP BY reason ORDER BY count(*) DESC LIMIT 10",
                            NULL, err))) {
        rc = SUF_ERR_DB;
        goto out;
    }
    json_object_set_new(
        out, "rejects",
        json_pack("{s:I, s:o}", "total", (json_int_t)rejects, "by_reason", by_reason));
    if (runs) {
        json_t *r = runs_json(run, err);
        if (!r) {
            rc = SUF_ERR_DB;
            goto out;
        }
        json_object_set_new(out, "runs", r);
    }
    rc = SUF_OK;
    if (as_json) {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
        goto out;
    }
    json_array_foreach(list, i, c) print_campaign(c);
    if (!n)
        printf("no campaigns yet: import a delivery export with 'suf import deliveries "
               "FILE'\n");
    printf("rejected rows: %lld\n", (long long)rejects);
    print_pairs("  by reason: ", by_reason);
    if (runs)
        print_runs(json_object_get(out, "runs"));
out:
    json_decref(out);
    fflush(stdout);
    return rc;
}
