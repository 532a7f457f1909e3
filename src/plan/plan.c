/*
 * plan.c: the plan stage: every recipient's outcome, and the messages of
 * each new fallback (see plan.h).
 *
 * The work is one ordered scan per campaign: the attempts of the campaign,
 * in (phone, attempt, sent_at, id) order, which is the order of the
 * attempts_recipient index, so SQLite streams them without sorting; the
 * index carries every column the scan reads, so the table is not read.  Each
 * recipient's attempts are folded into a struct suf_plan_facts as they pass,
 * and the pure rules (plan_rules.c) name its outcome.  No query runs per
 * attempt.  The campaign's stored recipients rows are read beside the scan,
 * in the same phone order, so each recipient's stored row comes without a
 * look-up: an unchanged recipient is not written at all, and one with a
 * fallback is neither decided nor written (it keeps its fallback).  What is
 * written (a recipient's row through an upsert that writes only when
 * something changed, and a new fallback's rows) goes by batches of rows,
 * one multi-row INSERT per batch (rowbatch.h), not one statement step per
 * row.  Everything that is the same for the whole campaign (its settings,
 * its templates, parsed and classified once) is loaded once.
 *
 * The rules decide in two steps (plan.h): the attempts alone settle most
 * recipients; only for the others is the template looked up in the
 * campaign's cache (a catalog read the first time a template is named) and
 * its classification handed to the exclusion rules.  --explain
 * (plan_explain.c) runs the same scan for one recipient, writing nothing,
 * through the preview of plan_priv.h.
 *
 * A fallback is created at most once (UNIQUE (campaign_id, phone), and a
 * look-up before building when the campaign has any fallback), and once
 * created its recipient's outcome stays `fallback`: it is created in the
 * same transaction as that outcome, a stored `fallback` is skipped, and the
 * upsert never overwrites it.
 *
 * Plan stores decisions, not requests.  A new fallback's messages go
 * through the builders once, in their check mode (render.h): every rule
 * that can refuse runs, no JSON is made, and what they refuse excludes the
 * recipient as missing_content.  Being the builders' own path, the check
 * cannot disagree with them.  What the messages are built from is stored
 * instead (fallback_inputs, with the template's version and the permission
 * settings, each stored once), with the utility row queued, its body empty
 * until the send stage claims it.
 *
 * The checking runs on a builder thread
 * (base/handoff.h) while the scan goes on: the main thread copies a new
 * fallback's content off the store and hands it over by batches, a few
 * batches held at most, and finishes each recipient (its fallback rows or
 * its exclusion for a hole, then its recipients row) in scan order when
 * its batch comes back, so the ids and every row are those a plan on one
 * thread writes.  --explain builds at once, and keeps the bodies.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/handoff.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/util.h"
#include "plan/permission.h"
#include "plan/plan.h"
#include "plan/plan_priv.h"
#include "plan/render.h"
#include "plan/rowbatch.h"
#include "plan/scenario.h"
#include "store/ckpt.h"
#include "store/purge.h"
#include "store/fsm.h"
#include "store/store.h"
#include "base/banned.h"

/* A 131050 on any attempt opts the recipient out (the rules' opted_out). */
#define CODE_OPTED_OUT 131050

/* --- the campaign's templates, loaded and classified once ----------------- */

/* Each entry is allocated on its own: a fallback being built on the worker
 * (see "the builder thread") holds a pointer to its template while the
 * cache grows. */
struct tpl_cache {
    struct suf_plan_tpl **v;
    size_t n, alloc;
};

static void tpl_release(struct suf_plan_tpl *e)
{
    free(e->name);
    free(e->lang);
    free(e->json);
    suf_template_release(&e->t);
    free(e);
}

static void tpl_cache_release(struct tpl_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        tpl_release(c->v[i]);
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static bool same_opt(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Fills `e` from the catalog: the language the attempt names, or the
 * catalog's only language for that name. */
static int tpl_load(struct suf_store *st, struct suf_plan_tpl *e, struct suf_err *err)
{
    static const char sql[] = "SELECT language, json, category FROM templates "
                              "WHERE name = ?1 AND (?2 IS NULL OR language = ?2) "
                              "ORDER BY language LIMIT 2";
    sqlite3_stmt *s = suf_store_prepare(st, sql, err);
    struct suf_err perr = SUF_ERR_INIT;
    int rc, rows = 0;
    char *json = NULL, *category = NULL, *lang = NULL;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, e->name);
    suf_bind_text(s, 2, e->lang);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (rows++ == 0) {
            lang = suf_xstrdup((const char *)sqlite3_column_text(s, 0));
            json = suf_xstrdup((const char *)sqlite3_column_text(s, 1));
            if (sqlite3_column_type(s, 2) != SQLITE_NULL)
                category = suf_xstrdup((const char *)sqlite3_column_text(s, 2));
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        rc = suf_store_fail(st, err, "templates");
        goto out;
    }
    rc = SUF_OK;
    if (rows == 0) {
        snprintf(e->detail, sizeof(e->detail), "template '%s' (%s) is not in the catalog", e->name,
                 e->lang ? e->lang : "any language");
        goto out;
    }
    if (rows > 1) {
        snprintf(e->detail, sizeof(e->detail),
                 "template '%s' has several languages and the export names none", e->name);
        goto out;
    }
    e->known = true;
    e->json = json;
    json = NULL;
    if (suf_template_parse(e->json, &e->t, &perr)) {
        e->marketing = category && suf_streq_fold(category, "MARKETING");
        snprintf(e->detail, sizeof(e->detail), "template '%s' (%s) cannot be read: %s", e->name,
                 lang, perr.msg);
        goto out;
    }
    e->marketing = e->t.category && suf_streq_fold(e->t.category, "MARKETING");
    if (!e->marketing) {
        snprintf(e->detail, sizeof(e->detail), "template '%s' is %s", e->name,
                 e->t.category ? e->t.category : "of no category");
    } else {
        const char *why = NULL;
        e->scenario = suf_scenario_classify(&e->t, &why);
        if (e->scenario < 1 || e->scenario > 8) {
            e->scenario = 0;
            snprintf(e->detail, sizeof(e->detail), "template '%s': %s", e->name,
                     why ? why : "unsupported");
        }
    }
out:
    free(json);
    free(category);
    free(lang);
    return rc;
}

static int tpl_get(struct suf_store *st, struct tpl_cache *c, const char *name, const char *lang,
                   struct suf_plan_tpl **out, struct suf_err *err)
{
    struct suf_plan_tpl *e;
    int rc;

    for (size_t i = 0; i < c->n; i++) {
        if (!strcmp(c->v[i]->name, name) && same_opt(c->v[i]->lang, lang)) {
            *out = c->v[i];
            return SUF_OK;
        }
    }
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? 2 * c->alloc : 4;
        c->v = suf_xrealloc(c->v, c->alloc * sizeof(*c->v));
    }
    e = suf_xcalloc(1, sizeof(*e));
    e->name = suf_xstrdup(name);
    e->lang = lang ? suf_xstrdup(lang) : NULL;
    rc = tpl_load(st, e, err);
    if (rc) {
        tpl_release(e);
        return rc;
    }
    c->v[c->n++] = e;
    *out = e;
    return SUF_OK;
}

/* --- one campaign ---------------------------------------------------------- */

struct campaign {
    const char *id;
    char *name; /* campaigns.name, or NULL */
    char *utility_template;
    char *utility_language;
    struct suf_plan_policy policy;
    int64_t settings_id; /* its message_settings row, once a fallback needed it */
};

static void campaign_release(struct campaign *c)
{
    free(c->name);
    free(c->utility_template);
    free(c->utility_language);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    return v && *v ? suf_xstrdup((const char *)v) : NULL;
}

/* Whether the operator cancelled the campaign (`suf cancel`). */
static int campaign_cancelled(struct suf_run *run, const char *campaign, int64_t *at,
                              struct suf_err *err)
{
    return suf_store_scalar(run->store,
                            "SELECT coalesce(max(at), 0) FROM campaign_cancels WHERE campaign_id = ?1",
                            campaign, at, err);
}

int suf_plan_policy_load(struct suf_run *run, const char *campaign, int64_t now,
                         struct suf_plan_policy *p, struct suf_err *err)
{
    static const char sql[] = "SELECT fallback, max_auto_retries, retry_interval_hours, "
                              "valid_until FROM campaigns WHERE campaign_id = ?1";
    const struct suf_config *cfg = run->cfg;
    sqlite3_stmt *s = suf_store_prepare(run->store, sql, err);
    int rc;

    memset(p, 0, sizeof(*p));
    p->now = now;
    p->cfg = cfg;
    p->fallback = cfg->fallback;
    p->max_auto_retries = cfg->max_auto_retries;
    p->retry_interval_s = cfg->retry_interval_hours * 3600;
    p->grace_s = cfg->grace_hours * 3600;
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, campaign);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        p->fallback_set = sqlite3_column_type(s, 0) != SQLITE_NULL;
        if (sqlite3_column_type(s, 0) != SQLITE_NULL)
            p->fallback = sqlite3_column_int64(s, 0) != 0;
        if (sqlite3_column_type(s, 1) != SQLITE_NULL)
            p->max_auto_retries = sqlite3_column_int64(s, 1);
        if (sqlite3_column_type(s, 2) != SQLITE_NULL)
            p->retry_interval_s = sqlite3_column_int64(s, 2) * 3600;
        if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
            p->has_valid_until = true;
            p->valid_until = sqlite3_column_int64(s, 3);
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return suf_store_fail(run->store, err, "campaigns");
    return campaign_cancelled(run, campaign, &p->cancelled_at, err);
}

static int campaign_load(struct suf_run *run, const char *id, int64_t now, struct campaign *c,
                         struct suf_err *err)
{
    static const char sql[] = "SELECT name, utility_template, utility_language FROM campaigns "
                              "WHERE campaign_id = ?1";
    const struct suf_config *cfg = run->cfg;
    sqlite3_stmt *s;
    int rc;

    memset(c, 0, sizeof(*c));
    c->id = id;
    if ((rc = suf_plan_policy_load(run, id, now, &c->policy, err)))
        return rc;
    s = suf_store_prepare(run->store, sql, err);
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        c->name = col_dup(s, 0);
        c->utility_template = col_dup(s, 1);
        c->utility_language = col_dup(s, 2);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return suf_store_fail(run->store, err, "campaigns");
    if (!c->utility_template)
        c->utility_template = suf_xstrdup(cfg->utility_template);
    if (!c->utility_language)
        c->utility_language = suf_xstrdup(cfg->utility_language);
    return SUF_OK;
}

/* --- the scan -------------------------------------------------------------- */

/* One recipient's attempts, folded as they stream past. */
struct acc {
    struct suf_buf phone;
    /* Its stored row, from the merge beside the scan: none (or not read),
     * one to compare with, or a fallback, which stays. */
    enum { STORED_NONE, STORED_ROW, STORED_FALLBACK } stored;
    struct suf_plan_facts f;
    int64_t last_id;
    bool last_any_131050;
};

/*
 * The campaign's stored recipients rows, read in phone order beside the
 * scan (both in BINARY order of the phone: the recipients key and the
 * attempts index), so each recipient's row is known without a look-up: an
 * unchanged one is not written, and a stored fallback stays as it is with
 * nothing read for it.  The row under the cursor is copied, because plan
 * writes the table while the cursor is open: every row it writes is for a
 * phone at or before the cursor's, so the cursor never meets one of them.
 */
struct stored {
    sqlite3_stmt *s; /* NULL: not read (--explain) */
    bool on;         /* the fields below are a row's */
    struct suf_buf phone, outcome, reason, detail;
    bool reason_null, detail_null, last_null;
    int64_t attempts, last_attempt_id;
};

static const char stored_sql[] =
    "SELECT phone, outcome, reason, detail, attempts, last_attempt_id FROM recipients "
    "WHERE campaign_id = ?1 ORDER BY phone";

static void stored_release(struct stored *r)
{
    sqlite3_finalize(r->s);
    suf_buf_release(&r->phone);
    suf_buf_release(&r->outcome);
    suf_buf_release(&r->reason);
    suf_buf_release(&r->detail);
    memset(r, 0, sizeof(*r));
}

static void copy_col(sqlite3_stmt *s, int i, struct suf_buf *b, bool *null)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    suf_buf_reset(b);
    if (null)
        *null = v == NULL;
    if (v)
        suf_buf_add(b, v, (size_t)sqlite3_column_bytes(s, i));
}

/* Moves to the next stored row. */
static int stored_step(struct suf_store *st, struct stored *r, struct suf_err *err)
{
    int src = sqlite3_step(r->s);

    r->on = src == SQLITE_ROW;
    if (src == SQLITE_DONE)
        return SUF_OK;
    if (src != SQLITE_ROW)
        return suf_store_fail(st, err, "recipients");
    copy_col(r->s, 0, &r->phone, NULL);
    copy_col(r->s, 1, &r->outcome, NULL);
    copy_col(r->s, 2, &r->reason, &r->reason_null);
    copy_col(r->s, 3, &r->detail, &r->detail_null);
    r->attempts = sqlite3_column_int64(r->s, 4);
    r->last_null = sqlite3_column_type(r->s, 5) == SQLITE_NULL;
    r->last_attempt_id = sqlite3_column_int64(r->s, 5);
    return SUF_OK;
}

static int stored_open(struct suf_store *st, struct stored *r, const char *campaign,
                       struct suf_err *err)
{
    r->s = suf_store_prepare(st, stored_sql, err);
    if (!r->s)
        return SUF_ERR_DB;
    suf_bind_text(r->s, 1, campaign);
    return stored_step(st, r, err);
}

/* Moves to the stored row of `phone`, the phones coming in ascending
 * order; true when there is one. */
static int stored_find(struct suf_store *st, struct stored *r, const char *phone, bool *found,
                       struct suf_err *err)
{
    int rc = SUF_OK;

    while (!rc && r->on && strcmp(suf_buf_str(&r->phone), phone) < 0)
        rc = stored_step(st, r, err);
    *found = !rc && r->on && !strcmp(suf_buf_str(&r->phone), phone);
    return rc;
}

static bool same_text(const struct suf_buf *b, bool null, const char *v)
{
    return v ? !null && !strcmp(suf_buf_str(b), v) : null;
}

/* The builder thread takes new fallbacks by batches (one hand-over per
 * batch, not per fallback), and holds a few batches at most: their
 * recipients wait, built or not, to be finished in scan order. */
#define BATCH_JOBS 64
#define BUILD_QUEUE 4

struct batch;
static void batch_free(struct batch *b);

struct planner {
    struct suf_run *run;
    struct suf_store *st;
    struct campaign *camp;
    struct tpl_cache tpls;
    bool write;           /* false for --explain */
    int64_t next_id;      /* the id the next new fallback gets */
    int64_t new_fallbacks;
    int64_t pending;      /* new fallbacks handed to the builder thread, not finished */
    sqlite3_stmt *find_fb;
    /* The latest attempt of a recipient the exclusion rules decide: its
     * template's name, then its content.  One seek serves both: it stays
     * on the row of attempt latest_id (0: reset) until the recipient is
     * finished. */
    sqlite3_stmt *latest;
    int64_t latest_id;
    sqlite3_stmt *find_version, *ins_version, *find_settings, *ins_settings;
    /* The rows written, by batches (rowbatch.h): flushed before anything
     * reads their tables, and before the campaign commits. */
    struct suf_rowbatch *w_recipients, *w_fallbacks, *w_inputs, *w_sends;
    bool has_fallbacks; /* the campaign had fallbacks before this plan */
    /* The campaign's settings stop its fallbacks (suf_plan_policy_stopped):
     * the first rules decide every recipient they reach, whatever its
     * template, so a writing plan does not read it. */
    bool stopped;
    struct stored stored; /* the campaign's recipients rows, beside the scan */
    struct suf_plan_decision last; /* the latest recipient's decision (explain) */
    struct suf_handoff *builder;   /* the builder thread; NULL for --explain */
    struct batch *filling;         /* the batch not handed over yet, or NULL */
    struct suf_progress bar;       /* by recipients; all zero (silent) for explain */
};

/* The recipient's row, written only when something changed; a stored
 * fallback stays.  By batches: head, a tuple per row, tail. */
static const char upsert_head[] =
    "INSERT INTO recipients (campaign_id, phone, outcome, reason, detail, attempts, "
    "last_attempt_id, last_attempt_at, decided_at) VALUES ";
static const char upsert_tuple[] = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char upsert_tail[] =
    "ON CONFLICT (campaign_id, phone) DO UPDATE SET outcome = excluded.outcome, "
    "reason = excluded.reason, detail = excluded.detail, attempts = excluded.attempts, "
    "last_attempt_id = excluded.last_attempt_id, last_attempt_at = excluded.last_attempt_at, "
    "decided_at = excluded.decided_at "
    "WHERE recipients.outcome <> 'fallback' AND (recipients.outcome <> excluded.outcome "
    "OR recipients.reason IS NOT excluded.reason OR recipients.detail IS NOT excluded.detail "
    "OR recipients.attempts <> excluded.attempts "
    "OR recipients.last_attempt_id IS NOT excluded.last_attempt_id)";

static const char find_fb_sql[] =
    "SELECT id FROM fallbacks WHERE campaign_id = ?1 AND phone = ?2";

/* Read only for the recipients the exclusion rules decide, so that the
 * scan reads the index alone. */
static const char latest_sql[] =
    "SELECT template_name, template_language, text, vars, header_media_url, url_suffixes, "
    "button_payloads, customer_name, campaign_name FROM attempts WHERE id = ?1";

/* A new fallback starts in the state machine's first state. */
static const char ins_fb_head[] =
    "INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, "
    "template_language, scenario, state, state_at, created_at) VALUES ";
static const char ins_fb_tuple[] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* run_id stays NULL: the send stage sets it when it tries the row. */
static const char ins_send_head[] =
    "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state, queued_at, "
    "updated_at) VALUES ";
static const char ins_send_tuple[] = "(?, 'u', 1, 1, ?, '', 'queued', ?, ?)";

static const char ins_inputs_head[] =
    "INSERT INTO fallback_inputs (fallback_id, template_version, settings, campaign_name, "
    "text, vars, header_media_url, url_suffixes, button_payloads, customer_name) VALUES ";
static const char ins_inputs_tuple[] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char find_version_sql[] = "SELECT id FROM template_versions WHERE sha256 = ?1";
static const char ins_version_sql[] = "INSERT INTO template_versions (sha256, json) VALUES (?1, ?2)";

#define SETTINGS_COLS \
    "utility_template = ?1 AND utility_language = ?2 AND utility_params = ?3 AND " \
    "utility_no_button = ?4 AND list_button_label = ?5"
static const char find_settings_sql[] = "SELECT id FROM message_settings WHERE " SETTINGS_COLS;
static const char ins_settings_sql[] =
    "INSERT INTO message_settings (utility_template, utility_language, utility_params, "
    "utility_no_button, list_button_label) VALUES (?1, ?2, ?3, ?4, ?5)";

static void decision_clear(struct suf_plan_decision *d)
{
    for (size_t i = 0; i < d->nbodies; i++)
        json_decref(d->bodies[i]);
    memset(d, 0, sizeof(*d));
}

static void planner_release(struct planner *pl)
{
    sqlite3_finalize(pl->find_fb);
    sqlite3_finalize(pl->latest);
    sqlite3_finalize(pl->find_version);
    sqlite3_finalize(pl->ins_version);
    sqlite3_finalize(pl->find_settings);
    sqlite3_finalize(pl->ins_settings);
    pl->find_fb = pl->latest = NULL;
    pl->latest_id = 0;
    pl->find_version = pl->ins_version = pl->find_settings = pl->ins_settings = NULL;
    suf_rowbatch_free(pl->w_recipients);
    suf_rowbatch_free(pl->w_fallbacks);
    suf_rowbatch_free(pl->w_inputs);
    suf_rowbatch_free(pl->w_sends);
    pl->w_recipients = pl->w_fallbacks = pl->w_inputs = pl->w_sends = NULL;
    if (pl->builder) {
        void *b;
        suf_handoff_stop(pl->builder, SUF_HANDOFF_DROP);
        while ((b = suf_handoff_take(pl->builder)))
            batch_free(b);
        suf_handoff_free(pl->builder);
        pl->builder = NULL;
    }
    batch_free(pl->filling);
    pl->filling = NULL;
    stored_release(&pl->stored);
    tpl_cache_release(&pl->tpls);
    decision_clear(&pl->last);
}

/* Whether the campaign has a fallback already: when it has none, no
 * recipient needs the look-up for one. */
static int campaign_has_fallbacks(struct planner *pl, struct suf_err *err)
{
    int64_t found = 1;
    int rc = suf_store_scalar(pl->st,
                              "SELECT EXISTS (SELECT 1 FROM fallbacks WHERE campaign_id = ?1)",
                              pl->camp->id, &found, err);
    pl->has_fallbacks = found != 0;
    return rc;
}

static int planner_prepare(struct planner *pl, struct suf_err *err)
{
    char why[512];
    int rc = campaign_has_fallbacks(pl, err);

    if (rc)
        return rc;
    pl->stopped = suf_plan_policy_stopped(&pl->camp->policy, why, sizeof(why)) != NULL;
    pl->find_fb = suf_store_prepare(pl->st, find_fb_sql, err);
    pl->latest = pl->find_fb ? suf_store_prepare(pl->st, latest_sql, err) : NULL;
    if (!pl->latest)
        return SUF_ERR_DB;
    if (!pl->write)
        return SUF_OK;
    pl->w_recipients =
        suf_rowbatch_new(pl->st, upsert_head, upsert_tuple, upsert_tail, "recipients", err);
    pl->w_fallbacks = pl->w_recipients ? suf_rowbatch_new(pl->st, ins_fb_head, ins_fb_tuple, "",
                                                           "fallbacks", err)
                                       : NULL;
    pl->w_inputs = pl->w_fallbacks ? suf_rowbatch_new(pl->st, ins_inputs_head, ins_inputs_tuple,
                                                      "", "fallback_inputs", err)
                                   : NULL;
    pl->w_sends = pl->w_inputs ? suf_rowbatch_new(pl->st, ins_send_head, ins_send_tuple, "",
                                                  "sends", err)
                               : NULL;
    pl->find_version = pl->w_sends ? suf_store_prepare(pl->st, find_version_sql, err) : NULL;
    pl->ins_version = pl->find_version ? suf_store_prepare(pl->st, ins_version_sql, err) : NULL;
    pl->find_settings = pl->ins_version ? suf_store_prepare(pl->st, find_settings_sql, err) : NULL;
    pl->ins_settings = pl->find_settings ? suf_store_prepare(pl->st, ins_settings_sql, err) : NULL;
    return pl->ins_settings ? SUF_OK : SUF_ERR_DB;
}

static bool status_ok(const char *s)
{
    return suf_streq_fold(s, "delivered") || suf_streq_fold(s, "read");
}

static void acc_start(struct acc *a, const char *phone)
{
    suf_buf_reset(&a->phone);
    suf_buf_addstr(&a->phone, phone);
    memset(&a->f, 0, sizeof(a->f));
    a->last_any_131050 = false;
}

/* Columns of the scan: see scan_sql. */
enum { C_PHONE, C_ID, C_STATUS, C_ERROR, C_SENT_AT, C_VALID, C_OPTOUT };

static void acc_add(struct acc *a, sqlite3_stmt *s)
{
    const char *status = (const char *)sqlite3_column_text(s, C_STATUS);
    bool ok = status && status_ok(status);

    if (a->f.attempts == 0)
        a->f.first_ok = ok;
    else if (ok)
        a->f.later_ok = true;
    a->f.attempts++;
    a->f.last_failed = status && suf_streq_fold(status, "failed");
    a->f.last_at = sqlite3_column_int64(s, C_SENT_AT);
    a->f.last_error = sqlite3_column_int64(s, C_ERROR);
    a->f.phone_valid = sqlite3_column_int64(s, C_VALID) != 0;
    if (a->f.last_error == CODE_OPTED_OUT)
        a->last_any_131050 = true;
    a->f.opted_out = a->last_any_131050 || sqlite3_column_int64(s, C_OPTOUT) != 0;
    a->last_id = sqlite3_column_int64(s, C_ID);
}

static const char *opt_text(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    return v && *v ? v : NULL;
}

/* The columns of latest_sql: the template's name and language, then the
 * content, K_* counted from K_FIRST. */
enum { L_NAME, L_LANG, K_FIRST };
enum { K_TEXT, K_VARS, K_MEDIA, K_SUFFIXES, K_PAYLOADS, K_CUSTOMER, K_CNAME, K_COUNT };

/* Puts pl->latest on the row of attempt `id`, unless it is there. */
static int latest_seek(struct planner *pl, int64_t id, const char *what, struct suf_err *err)
{
    if (pl->latest_id == id)
        return SUF_OK;
    sqlite3_reset(pl->latest);
    pl->latest_id = 0;
    sqlite3_bind_int64(pl->latest, 1, id);
    if (sqlite3_step(pl->latest) != SQLITE_ROW) {
        int rc = suf_store_fail(pl->st, err, what);
        sqlite3_reset(pl->latest);
        return rc;
    }
    pl->latest_id = id;
    return SUF_OK;
}

static void latest_done(struct planner *pl)
{
    sqlite3_reset(pl->latest);
    pl->latest_id = 0;
}

/* The latest attempt's content, copied off pl->latest: the builders may
 * run on the builder thread after the statement has moved on. */
struct content {
    char *text[K_COUNT];         /* each column as opt_text reads it */
    sqlite3_value *raw[K_COUNT]; /* each column as stored, for fallback_inputs */
};

static void content_release(struct content *c)
{
    for (int i = 0; i < K_COUNT; i++) {
        free(c->text[i]);
        sqlite3_value_free(c->raw[i]);
    }
    memset(c, 0, sizeof(*c));
}

static int content_load(struct planner *pl, int64_t attempt_id, struct content *c,
                        struct suf_err *err)
{
    int rc = SUF_OK;

    memset(c, 0, sizeof(*c));
    if ((rc = latest_seek(pl, attempt_id, "attempt content", err)))
        return rc;
    for (int i = 0; i < K_COUNT; i++) {
        const char *v = opt_text(pl->latest, K_FIRST + i);
        c->text[i] = v ? suf_xstrdup(v) : NULL;
        c->raw[i] = sqlite3_value_dup(sqlite3_column_value(pl->latest, K_FIRST + i));
        if (!c->raw[i] && !rc)
            rc = suf_err_set(err, SUF_ERR_INTERNAL,
                             "out of memory copying the content of attempt %" PRId64, attempt_id);
    }
    return rc;
}

/* The name the permission message gives the campaign: its settings', the
 * export's (on the latest attempt), or its id. */
static const char *campaign_name(const struct campaign *camp, const struct content *c)
{
    return camp->name ? camp->name : c->text[K_CNAME] ? c->text[K_CNAME] : camp->id;
}

/*
 * Runs the builders of fallback `id`'s messages on the latest attempt's
 * content: plan refuses what the builders refuse.  Reads only what stays
 * the same during the scan (the campaign, the config, the template), so
 * that it can run on the builder thread.  A hole in the content (or
 * anything the builders refuse) is SUF_ERR_INPUT with d->detail saying why.
 * With `keep` (--explain) the bodies are built into d->bodies; a writing
 * plan only checks, the builders making no JSON (the frozen inputs are
 * stored instead, and the bytes built, by the same code, when sent).
 */
static int build_bodies(const struct planner *pl, const char *phone, const struct content *c,
                        struct suf_plan_decision *d, int64_t id, bool keep)
{
    const struct suf_config *cfg = pl->run->cfg;
    struct suf_render_inputs in;
    json_t *vars, *suffixes, *payloads, *parts[2] = {NULL, NULL};
    size_t nparts = 0;
    int rc;

    vars = suf_render_array(c->text[K_VARS]);
    suffixes = suf_render_array(c->text[K_SUFFIXES]);
    payloads = suf_render_array(c->text[K_PAYLOADS]);
    memset(&in, 0, sizeof(in));
    in.tpl = &d->tpl->t;
    in.scenario = d->tpl->scenario;
    in.content.to = phone;
    in.content.vars = vars;
    in.content.text = c->text[K_TEXT];
    in.content.header_media_url = c->text[K_MEDIA];
    in.content.url_suffixes = suffixes;
    in.content.button_payloads = payloads;
    in.content.customer_name = c->text[K_CUSTOMER];
    in.utility = (struct suf_utility_opts){pl->camp->utility_template,
                                           pl->camp->utility_language, cfg->utility_params,
                                           cfg->utility_no_button};
    in.session.list_button_label = cfg->list_button_label;
    in.campaign_name = campaign_name(pl->camp, c);
    if (!keep) {
        rc = suf_render_check(&in, id, d->detail, sizeof(d->detail));
        goto out;
    }
    rc = suf_render_session_json(&in, id, parts, &nparts, d->detail, sizeof(d->detail));
    if (!rc)
        rc = suf_render_utility_json(&in, id, 1, &d->bodies[0], d->detail, sizeof(d->detail));
out:
    if (rc) {
        rc = SUF_ERR_INPUT;
        for (size_t i = 0; i < nparts; i++)
            json_decref(parts[i]);
    } else if (keep) {
        d->nbodies = 1;
        for (size_t i = 0; i < nparts && i < 2; i++)
            d->bodies[d->nbodies++] = parts[i];
    }
    json_decref(vars);
    json_decref(suffixes);
    json_decref(payloads);
    return rc;
}

/* The id of the row `find` (bound already) names, after inserting it with
 * `ins` (bound already) when there is none. */
static int find_or_insert(struct planner *pl, sqlite3_stmt *find, sqlite3_stmt *ins,
                          const char *what, int64_t *id, struct suf_err *err)
{
    int src = sqlite3_step(find);

    if (src == SQLITE_DONE) {
        if (sqlite3_step(ins) != SQLITE_DONE) {
            sqlite3_reset(ins);
            sqlite3_reset(find);
            return suf_store_fail(pl->st, err, what);
        }
        sqlite3_reset(ins);
        *id = sqlite3_last_insert_rowid(pl->st->db);
        src = SQLITE_ROW;
    } else if (src == SQLITE_ROW) {
        *id = sqlite3_column_int64(find, 0);
    }
    sqlite3_reset(ins);
    sqlite3_reset(find);
    return src == SQLITE_ROW ? SUF_OK : suf_store_fail(pl->st, err, what);
}

/* The template_versions row of `tpl`'s catalog JSON, stored the first
 * time a fallback uses it: identified by its SHA-256, never changed. */
static int template_version(struct planner *pl, struct suf_plan_tpl *tpl, struct suf_err *err)
{
    char sha[SUF_SHA256_HEX];

    if (tpl->version_id)
        return SUF_OK;
    suf_sha256_buf(tpl->json, strlen(tpl->json), sha);
    suf_bind_text(pl->find_version, 1, sha);
    suf_bind_text(pl->ins_version, 1, sha);
    suf_bind_text_static(pl->ins_version, 2, tpl->json);
    return find_or_insert(pl, pl->find_version, pl->ins_version, "template_versions",
                          &tpl->version_id, err);
}

/* The message_settings row of the campaign's permission template and the
 * config's builder settings, stored the first time a fallback uses it. */
static int message_settings(struct planner *pl, struct suf_err *err)
{
    const struct suf_config *cfg = pl->run->cfg;
    sqlite3_stmt *s[2] = {pl->find_settings, pl->ins_settings};

    if (pl->camp->settings_id)
        return SUF_OK;
    for (int i = 0; i < 2; i++) {
        suf_bind_text(s[i], 1, pl->camp->utility_template);
        suf_bind_text(s[i], 2, pl->camp->utility_language);
        suf_bind_text(s[i], 3, cfg->utility_params);
        sqlite3_bind_int(s[i], 4, cfg->utility_no_button ? 1 : 0);
        suf_bind_text(s[i], 5, cfg->list_button_label);
    }
    return find_or_insert(pl, pl->find_settings, pl->ins_settings, "message_settings",
                          &pl->camp->settings_id, err);
}

/* The fallback's frozen inputs: the attempt's values, as stored, are
 * copied, so a later import cannot change them. */
static int insert_inputs(struct planner *pl, const struct content *c, struct suf_plan_decision *d,
                         struct suf_err *err)
{
    struct suf_rowbatch *w = pl->w_inputs;
    int rc;

    if ((rc = template_version(pl, d->tpl, err)) ||
        (rc = message_settings(pl, err)))
        return rc;
    suf_rowbatch_int(w, d->fallback_id);
    suf_rowbatch_int(w, d->tpl->version_id);
    suf_rowbatch_int(w, pl->camp->settings_id);
    suf_rowbatch_text(w, campaign_name(pl->camp, c));
    for (int i = K_TEXT; i <= K_CUSTOMER; i++)
        suf_rowbatch_value(w, c->raw[i]);
    return suf_rowbatch_end(w, err);
}

/* The utility row, queued with an empty body: its bytes are built and
 * stored when the send stage claims it. */
static int insert_utility_send(struct planner *pl, int64_t id, struct suf_err *err)
{
    char callback[64];
    int64_t now = pl->camp->policy.now;
    struct suf_rowbatch *w = pl->w_sends;

    snprintf(callback, sizeof(callback), "suf:%" PRId64 ":u1", id);
    suf_rowbatch_int(w, id);
    suf_rowbatch_text(w, callback);
    suf_rowbatch_int(w, now);
    suf_rowbatch_int(w, now);
    return suf_rowbatch_end(w, err);
}

static int insert_fallback(struct planner *pl, const struct acc *a, const struct content *c,
                           struct suf_plan_decision *d, struct suf_err *err)
{
    struct suf_rowbatch *w = pl->w_fallbacks;
    char scenario[4];
    int rc;

    snprintf(scenario, sizeof(scenario), "S%d", d->tpl->scenario);
    suf_rowbatch_int(w, d->fallback_id);
    suf_rowbatch_text(w, pl->camp->id);
    suf_rowbatch_text(w, suf_buf_str(&a->phone));
    suf_rowbatch_int(w, a->last_id);
    suf_rowbatch_text(w, d->tpl->t.name ? d->tpl->t.name : d->tpl->name);
    suf_rowbatch_text(w, d->tpl->t.language);
    suf_rowbatch_text(w, scenario);
    suf_rowbatch_text(w, suf_fsm_state_name(SUF_FB_PENDING));
    suf_rowbatch_int(w, pl->camp->policy.now);
    suf_rowbatch_int(w, pl->camp->policy.now);
    rc = suf_rowbatch_end(w, err);
    if (!rc)
        rc = insert_inputs(pl, c, d, err);
    if (!rc)
        rc = insert_utility_send(pl, d->fallback_id, err);
    return rc;
}

/* A new fallback's recipient whose messages are being built on the
 * builder thread; the main thread finishes it in scan order. */
struct job {
    struct acc a;                /* its attempts (a.phone owned) */
    struct suf_plan_decision d;  /* FALLBACK until the builders refuse */
    struct content c;
    int64_t id; /* for building only, the id it gets unless one before it
                 * is refused: the bytes are dropped, and whether the
                 * builders refuse does not depend on it */
    int rc;     /* build_bodies' */
};

static void job_free(struct job *j)
{
    suf_buf_release(&j->a.phone);
    content_release(&j->c);
    free(j);
}

struct batch {
    struct job *v[BATCH_JOBS];
    size_t n;
};

static void batch_free(struct batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        job_free(b->v[i]);
    free(b);
}

/* The builder thread's half: checks each. */
static void batch_run(void *ctx, void *item)
{
    const struct planner *pl = ctx;
    struct batch *b = item;

    for (size_t i = 0; i < b->n; i++) {
        struct job *j = b->v[i];
        j->rc = build_bodies(pl, suf_buf_str(&j->a.phone), &j->c, &j->d, j->id, false);
    }
}

static int upsert_recipient(struct planner *pl, const struct acc *a,
                            const struct suf_plan_decision *d, struct suf_err *err);

/* The main thread's half, in scan order (so ids are given as a plan on one
 * thread gives them): creates each fallback, or excludes its recipient for
 * a hole in the content; then writes the recipient.  Frees b, also after
 * a failure (the campaign then rolls back). */
static int batch_finish(struct planner *pl, struct batch *b, struct suf_err *err)
{
    int rc = SUF_OK;

    pl->pending -= (int64_t)b->n;
    for (size_t i = 0; !rc && i < b->n; i++) {
        struct job *j = b->v[i];
        if (j->rc) {
            j->d.outcome = SUF_OUTCOME_EXCLUDED;
            j->d.reason = SUF_REASON_MISSING_CONTENT;
        } else {
            j->d.fallback_id = pl->next_id++;
            j->d.fallback_new = true;
            rc = insert_fallback(pl, &j->a, &j->c, &j->d, err);
            if (!rc)
                pl->new_fallbacks++;
        }
        if (!rc)
            rc = upsert_recipient(pl, &j->a, &j->d, err);
    }
    batch_free(b);
    return rc;
}

static int batch_put(struct planner *pl, struct suf_err *err);

/* Finishes the batches already built, or all of them when `all` (the one
 * filling handed over first). */
static int batches_finish(struct planner *pl, bool all, struct suf_err *err)
{
    struct batch *b;
    int rc = SUF_OK;

    if (all && pl->filling)
        rc = batch_put(pl, err);
    while ((b = all ? suf_handoff_take(pl->builder) : suf_handoff_poll(pl->builder))) {
        if (rc)
            batch_free(b);
        else
            rc = batch_finish(pl, b, err);
    }
    return rc;
}

/* Hands the filling batch over once full: room first, which only a take
 * makes. */
static int batch_put(struct planner *pl, struct suf_err *err)
{
    int rc = batches_finish(pl, false, err);

    if (!rc && suf_handoff_held(pl->builder) == BUILD_QUEUE)
        rc = batch_finish(pl, suf_handoff_take(pl->builder), err);
    if (rc)
        return rc;
    suf_handoff_put(pl->builder, pl->filling);
    pl->filling = NULL;
    return SUF_OK;
}

/* Adds a new fallback's recipient to the filling batch; takes c. */
static int job_put(struct planner *pl, const struct acc *a, const struct suf_plan_decision *d,
                   struct content *c, struct suf_err *err)
{
    struct job *j = suf_xcalloc(1, sizeof(*j));
    struct batch *b = pl->filling;

    if (!b)
        b = pl->filling = suf_xcalloc(1, sizeof(*b));
    suf_buf_addstr(&j->a.phone, suf_buf_str(&a->phone));
    j->a.f = a->f;
    j->a.last_id = a->last_id;
    j->d = *d;
    j->c = *c;
    memset(c, 0, sizeof(*c));
    j->id = pl->next_id + pl->pending++;
    b->v[b->n++] = j;
    return b->n == BATCH_JOBS ? batch_put(pl, err) : SUF_OK;
}

/* For a recipient the rules let through: keeps its fallback if it has one,
 * else builds its messages and creates it with its frozen inputs, or
 * excludes it for a hole.  A writing plan hands the building to the builder
 * thread and finishes the recipient later (*deferred); --explain builds at
 * once, keeping the bodies. */
static int settle_fallback(struct planner *pl, const struct acc *a, struct suf_plan_decision *d,
                           bool *deferred, struct suf_err *err)
{
    struct content c;
    int rc, src;

    *deferred = false;
    if (!pl->has_fallbacks)
        goto build;
    sqlite3_reset(pl->find_fb);
    suf_bind_text(pl->find_fb, 1, pl->camp->id);
    suf_bind_text(pl->find_fb, 2, suf_buf_str(&a->phone));
    src = sqlite3_step(pl->find_fb);
    if (src == SQLITE_ROW)
        d->fallback_id = sqlite3_column_int64(pl->find_fb, 0);
    sqlite3_reset(pl->find_fb);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return suf_store_fail(pl->st, err, "fallbacks");
    if (src == SQLITE_ROW)
        return SUF_OK;
build:
    if ((rc = content_load(pl, a->last_id, &c, err)))
        goto out;
    if (pl->builder) {
        *deferred = true;
        rc = job_put(pl, a, d, &c, err);
        goto out;
    }
    rc = build_bodies(pl, suf_buf_str(&a->phone), &c, d, pl->next_id, !pl->write);
    if (rc == SUF_ERR_INPUT) {
        d->outcome = SUF_OUTCOME_EXCLUDED;
        d->reason = SUF_REASON_MISSING_CONTENT;
        rc = SUF_OK;
        goto out;
    }
    if (rc)
        goto out;
    d->fallback_id = pl->next_id++;
    d->fallback_new = true;
    if (pl->write && !(rc = insert_fallback(pl, a, &c, d, err)))
        pl->new_fallbacks++;
out:
    content_release(&c);
    return rc;
}

static int upsert_recipient(struct planner *pl, const struct acc *a,
                            const struct suf_plan_decision *d, struct suf_err *err)
{
    struct suf_rowbatch *w = pl->w_recipients;

    suf_rowbatch_text(w, pl->camp->id);
    suf_rowbatch_text(w, suf_buf_str(&a->phone));
    suf_rowbatch_text(w, suf_plan_outcome_name(d->outcome));
    suf_rowbatch_text(w, d->reason ? suf_plan_reason_name(d->reason) : NULL);
    suf_rowbatch_text(w, d->detail[0] ? d->detail : NULL);
    suf_rowbatch_int(w, a->f.attempts);
    suf_rowbatch_int(w, a->last_id);
    suf_rowbatch_int(w, a->f.last_at);
    suf_rowbatch_int(w, pl->camp->policy.now);
    return suf_rowbatch_end(w, err);
}

/* The template the latest attempt names, from the campaign's cache. */
static int latest_template(struct planner *pl, const struct acc *a, struct suf_plan_tpl **tpl,
                           struct suf_err *err)
{
    const char *name;
    int rc = latest_seek(pl, a->last_id, "attempts", err);

    if (rc)
        return rc;
    name = (const char *)sqlite3_column_text(pl->latest, L_NAME);
    return tpl_get(pl->st, &pl->tpls, name ? name : "", opt_text(pl->latest, L_LANG), tpl, err);
}

/* Sets a->stored from the campaign's stored rows (none when they are not
 * read). */
static int stored_match(struct planner *pl, struct acc *a, struct suf_err *err)
{
    bool found = false;
    int rc;

    a->stored = STORED_NONE;
    if (!pl->stored.s)
        return SUF_OK;
    if ((rc = stored_find(pl->st, &pl->stored, suf_buf_str(&a->phone), &found, err)))
        return rc;
    if (found)
        a->stored = strcmp(suf_buf_str(&pl->stored.outcome), "fallback") ? STORED_ROW
                                                                          : STORED_FALLBACK;
    return SUF_OK;
}

/* Whether the stored row (the recipient's) says what `d` says: the test of
 * the upsert's WHERE, so that a row it would not change is not sent to it. */
static bool stored_unchanged(const struct stored *r, const struct acc *a,
                             const struct suf_plan_decision *d)
{
    return !strcmp(suf_buf_str(&r->outcome), suf_plan_outcome_name(d->outcome)) &&
           same_text(&r->reason, r->reason_null,
                     d->reason ? suf_plan_reason_name(d->reason) : NULL) &&
           same_text(&r->detail, r->detail_null, d->detail[0] ? d->detail : NULL) &&
           r->attempts == a->f.attempts && !r->last_null && r->last_attempt_id == a->last_id;
}

/* Decides one recipient whose attempts are all in `a`, and writes it. */
static int finish_recipient(struct planner *pl, struct acc *a, struct suf_err *err)
{
    const struct suf_plan_policy *policy = &pl->camp->policy;
    struct suf_plan_decision *d = &pl->last;
    struct suf_plan_facts *f = &a->f;
    struct suf_plan_tpl *tpl = NULL;
    bool deferred = false, settled;
    int rc;

    decision_clear(d);
    /* A purged recipient keeps the outcome it had when it was purged: its
     * content and its phone are gone, so a new decision could only be a
     * wrong one. */
    if (suf_purge_is_pseudonym(suf_buf_str(&a->phone)))
        return SUF_OK;
    if ((rc = stored_match(pl, a, err)))
        return rc;
    /* A recipient with a fallback keeps it, and its outcome: nothing to
     * decide, read or write. */
    if (a->stored == STORED_FALLBACK)
        return SUF_OK;
    settled = suf_plan_decide_attempts(f, policy, &d->outcome);
    if (!settled && pl->write && pl->stopped) {
        /* The campaign's settings decide, before any rule reads the
         * template (--explain still reads it, to show it). */
        d->outcome = suf_plan_decide_rules(f, policy, &d->reason);
    } else if (!settled) {
        /* The exclusion rules decide: they read the template's class. */
        rc = latest_template(pl, a, &tpl, err);
        if (rc) {
            latest_done(pl);
            return rc;
        }
        f->template_known = tpl->known;
        f->template_marketing = tpl->marketing;
        f->scenario = tpl->scenario;
        f->template_detail = tpl->detail;
        d->tpl = tpl;
        d->outcome = suf_plan_decide_rules(f, policy, &d->reason);
    }
    suf_plan_detail(f, policy, d->outcome, d->reason, d->detail, sizeof(d->detail));
    rc = d->outcome == SUF_OUTCOME_FALLBACK ? settle_fallback(pl, a, d, &deferred, err) : SUF_OK;
    latest_done(pl);
    if (rc)
        return rc;
    if (!pl->write || deferred)
        return SUF_OK;
    /* The bodies only proved that the messages can be built: the frozen
     * inputs were stored instead. */
    for (size_t i = 0; i < d->nbodies; i++)
        json_decref(d->bodies[i]);
    d->nbodies = 0;
    if (a->stored == STORED_ROW && stored_unchanged(&pl->stored, a, d))
        return SUF_OK;
    return upsert_recipient(pl, a, d, err);
}

/* The scan, for the whole campaign or one phone; the optouts look-up is
 * left out when nobody has opted out (the usual case), which saves a seek
 * per attempt. */
#define SCAN_COLS(optout)                                                                  \
    "SELECT a.phone, a.id, a.status, a.error_code, a.sent_at, a.phone_valid, "             \
    optout " FROM attempts a "
#define OPTOUT_SEEK "EXISTS (SELECT 1 FROM optouts o WHERE o.phone = a.phone)"
#define SCAN_ALL "WHERE a.campaign_id = ?1 ORDER BY a.phone, a.attempt, a.sent_at, a.id"
#define SCAN_ONE "WHERE a.campaign_id = ?1 AND a.phone = ?2 ORDER BY a.attempt, a.sent_at, a.id"

static const char *const scan_sql[2][2] = {
    {SCAN_COLS("0") SCAN_ALL, SCAN_COLS("0") SCAN_ONE},
    {SCAN_COLS(OPTOUT_SEEK) SCAN_ALL, SCAN_COLS(OPTOUT_SEEK) SCAN_ONE},
};

/* Streams the campaign's attempts (or one phone's) and decides each
 * recipient.  *recipients gets how many. */
static int scan(struct planner *pl, const char *phone, int64_t *recipients, struct suf_err *err)
{
    sqlite3_stmt *s;
    struct acc a;
    int rc, src;
    int64_t n = 0, optouts = 1;

    rc = suf_store_scalar(pl->st, "SELECT EXISTS (SELECT 1 FROM optouts)", NULL, &optouts, err);
    if (rc)
        return rc;
    s = suf_store_prepare(pl->st, scan_sql[optouts != 0][phone != NULL], err);
    if (!s)
        return SUF_ERR_DB;
    memset(&a, 0, sizeof(a));
    suf_bind_text(s, 1, pl->camp->id);
    if (phone)
        suf_bind_text(s, 2, phone);
    if (pl->write && !phone && (rc = stored_open(pl->st, &pl->stored, pl->camp->id, err)))
        goto out;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(s, C_PHONE);
        if (!p)
            p = "";
        if (n == 0 || strcmp(p, suf_buf_str(&a.phone))) {
            if (n > 0 && (rc = finish_recipient(pl, &a, err)))
                goto out;
            acc_start(&a, p);
            suf_progress_set(&pl->bar, n++);
        }
        acc_add(&a, s);
    }
    if (src != SQLITE_DONE) {
        rc = suf_store_fail(pl->st, err, "attempts");
        goto out;
    }
    if (n > 0)
        rc = finish_recipient(pl, &a, err);
out:
    sqlite3_finalize(s);
    stored_release(&pl->stored);
    suf_buf_release(&a.phone);
    *recipients = n;
    return rc;
}

static int next_fallback_id(struct suf_store *st, int64_t *id, struct suf_err *err)
{
    return suf_store_scalar(st, "SELECT coalesce(max(id), 0) + 1 FROM fallbacks", NULL, id, err);
}

/* Checks the campaign's permission template against the catalog; logs and
 * counts a refusal (the send stage will not send these fallbacks). */
static int check_permission_template(struct planner *pl, struct suf_err *err)
{
    const char *why;
    char whybuf[400];

    if (suf_permission_check(pl->st, pl->camp->utility_template, pl->camp->utility_language,
                             pl->run->cfg->utility_no_button, &why, whybuf, sizeof(whybuf), err))
        return SUF_ERR_DB;
    if (why) {
        suf_error("plan: campaign '%s': permission template '%s' (%s) %s; its fallbacks are "
                  "planned but the send stage will not send them",
                  pl->camp->id, pl->camp->utility_template, pl->camp->utility_language, why);
        suf_run_count(pl->run, "plan.permission_template_errors", 1);
    }
    return SUF_OK;
}

/* The campaign's counts by (outcome, reason): a handful of pairs, however
 * many recipients. */
struct pair_count {
    char *outcome, *reason; /* reason NULL when the row has none */
    int64_t n;
};

struct pair_counts {
    struct pair_count *v;
    size_t n, alloc;
    size_t last; /* the pair the previous row counted: rows come in runs */
};

static bool pair_is(const struct pair_count *p, const char *o, const char *r)
{
    return !strcmp(p->outcome, o) && same_opt(p->reason, r);
}

static void pair_add(struct pair_counts *c, const char *o, const char *r)
{
    if (c->n > c->last && pair_is(&c->v[c->last], o, r)) {
        c->v[c->last].n++;
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (pair_is(&c->v[i], o, r)) {
            c->v[i].n++;
            c->last = i;
            return;
        }
    }
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? 2 * c->alloc : 16;
        c->v = suf_xrealloc(c->v, c->alloc * sizeof(*c->v));
    }
    c->v[c->n].outcome = suf_xstrdup(o);
    c->v[c->n].reason = r ? suf_xstrdup(r) : NULL;
    c->v[c->n].n = 1;
    c->last = c->n++;
}

/* The order GROUP BY outcome, reason gave: by outcome, then by reason,
 * none first. */
static int pair_cmp(const void *x, const void *y)
{
    const struct pair_count *a = x, *b = y;
    int d = strcmp(a->outcome, b->outcome);
    if (d)
        return d;
    if (!a->reason || !b->reason)
        return (a->reason != NULL) - (b->reason != NULL);
    return strcmp(a->reason, b->reason);
}

static void pair_counts_release(struct pair_counts *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].outcome);
        free(c->v[i].reason);
    }
    free(c->v);
    memset(c, 0, sizeof(*c));
}

/* Counts the campaign's outcomes as stored, and logs its summary line.  The
 * rows are read in primary-key order and counted here: a GROUP BY would
 * sort them in a temporary B-tree of one row per recipient, which grows
 * with the campaign. */
static int count_outcomes(struct planner *pl, struct suf_err *err)
{
    static const char sql[] = "SELECT outcome, reason FROM recipients WHERE campaign_id = ?1";
    sqlite3_stmt *s = suf_store_prepare(pl->st, sql, err);
    int64_t by[SUF_OUTCOME_COUNT] = {0}, total = 0;
    struct pair_counts pairs = {0};
    struct suf_buf reasons = SUF_BUF_INIT;
    char name[96];
    int src, rc = SUF_OK;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, pl->camp->id);
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *o = (const char *)sqlite3_column_text(s, 0);
        pair_add(&pairs, o ? o : "unknown", (const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
    if (src != SQLITE_DONE)
        rc = suf_store_fail(pl->st, err, "recipients");
    if (pairs.n > 1)
        qsort(pairs.v, pairs.n, sizeof(*pairs.v), pair_cmp);
    for (size_t k = 0; !rc && k < pairs.n; k++) {
        const struct pair_count *p = &pairs.v[k];
        total += p->n;
        for (int i = 0; i < SUF_OUTCOME_COUNT; i++)
            if (!strcmp(p->outcome, suf_plan_outcome_name(i)))
                by[i] += p->n;
        snprintf(name, sizeof(name), "plan.%s", p->outcome);
        suf_run_count(pl->run, name, p->n);
        if (p->reason) {
            snprintf(name, sizeof(name), "plan.excluded.%s", p->reason);
            suf_run_count(pl->run, name, p->n);
            suf_buf_addf(&reasons, "%s%s %" PRId64, reasons.len ? ", " : "", p->reason, p->n);
        }
    }
    pair_counts_release(&pairs);
    suf_run_count(pl->run, "plan.recipients", total);
    suf_run_count(pl->run, "plan.new_fallbacks", pl->new_fallbacks);
    if (!rc)
        suf_info("plan: campaign '%s': %" PRId64 " recipients: %" PRId64 " delivered, %" PRId64
                 " recovered_by_retry, %" PRId64 " in_flight, %" PRId64
                 " awaiting_retries, %" PRId64 " excluded%s%s%s, %" PRId64 " fallback (%" PRId64
                 " new)",
                 pl->camp->id, total, by[SUF_OUTCOME_DELIVERED], by[SUF_OUTCOME_RECOVERED],
                 by[SUF_OUTCOME_IN_FLIGHT], by[SUF_OUTCOME_AWAITING], by[SUF_OUTCOME_EXCLUDED],
                 reasons.len ? " (" : "", suf_buf_str(&reasons), reasons.len ? ")" : "",
                 by[SUF_OUTCOME_FALLBACK], pl->new_fallbacks);
    if (!rc && by[SUF_OUTCOME_FALLBACK] > 0)
        rc = check_permission_template(pl, err);
    suf_buf_release(&reasons);
    return rc;
}

/* Writes the rows the batches hold: fallbacks before the rows that name
 * them, each table in the order its rows were added. */
static int writes_flush(struct planner *pl, struct suf_err *err)
{
    int rc;

    if ((rc = suf_rowbatch_flush(pl->w_fallbacks, err)) ||
        (rc = suf_rowbatch_flush(pl->w_inputs, err)) ||
        (rc = suf_rowbatch_flush(pl->w_sends, err)))
        return rc;
    return suf_rowbatch_flush(pl->w_recipients, err);
}

static int plan_campaign(struct suf_run *run, const char *id, int64_t now, struct suf_err *err)
{
    struct campaign camp;
    struct planner pl;
    int64_t n = 0;
    int rc;

    memset(&pl, 0, sizeof(pl));
    pl.run = run;
    pl.st = run->store;
    pl.camp = &camp;
    pl.write = true;
    rc = campaign_load(run, id, now, &camp, err);
    if (rc)
        goto out;
    if ((rc = suf_store_begin(run->store, err)))
        goto out;
    /* The total is one pass over the index the scan reads anyway. */
    if (suf_progress_wanted())
        suf_store_scalar(run->store, "SELECT count(DISTINCT phone) FROM attempts "
                         "WHERE campaign_id = ?1", id, &n, NULL);
    suf_progress_start(&pl.bar, "plan", n);
    pl.builder = suf_handoff_start(1, BUILD_QUEUE, batch_run, &pl);
    if ((rc = planner_prepare(&pl, err)) || (rc = next_fallback_id(pl.st, &pl.next_id, err)) ||
        (rc = scan(&pl, NULL, &n, err)) || (rc = batches_finish(&pl, true, err)) ||
        (rc = writes_flush(&pl, err)) || (rc = count_outcomes(&pl, err))) {
        suf_store_rollback(run->store);
        goto out;
    }
    planner_release(&pl);
    rc = suf_store_commit(run->store, err);
    if (rc)
        suf_store_rollback(run->store);
out:
    suf_progress_end(&pl.bar);
    planner_release(&pl);
    campaign_release(&camp);
    return rc;
}

/* The campaigns that have attempts, by skipping through the index. */
static int list_campaigns(struct suf_store *st, char ***ids, size_t *n, struct suf_err *err)
{
    static const char sql[] =
        "WITH RECURSIVE c(id) AS ("
        " SELECT (SELECT min(campaign_id) FROM attempts)"
        " UNION ALL"
        " SELECT (SELECT min(campaign_id) FROM attempts WHERE campaign_id > c.id)"
        " FROM c WHERE c.id IS NOT NULL)"
        "SELECT id FROM c WHERE id IS NOT NULL";
    sqlite3_stmt *s = suf_store_prepare(st, sql, err);
    size_t alloc = 0;
    int src;

    *ids = NULL;
    *n = 0;
    if (!s)
        return SUF_ERR_DB;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == alloc) {
            alloc = alloc ? 2 * alloc : 16;
            *ids = suf_xrealloc(*ids, alloc * sizeof(**ids));
        }
        (*ids)[(*n)++] = suf_xstrdup((const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    if (src != SQLITE_DONE)
        return suf_store_fail(st, err, "attempts");
    return SUF_OK;
}

static int campaign_exists(struct suf_store *st, const char *id, struct suf_err *err)
{
    int64_t found = 0;
    int rc = suf_store_scalar(st, "SELECT EXISTS (SELECT 1 FROM attempts WHERE campaign_id = ?1)",
                              id, &found, err);
    if (rc)
        return rc;
    if (!found)
        return suf_err_set(err, SUF_ERR_NOTFOUND, "campaign '%s' has no attempts", id);
    return SUF_OK;
}

/*
 * The scan reads the recipient index alone (it carries every column the
 * scan needs), in order; the table is read only by point look-ups for the
 * recipients the rules decide.  A page cache a little larger than SQLite's
 * default keeps the pages the inserts touch; it is bounded, and no memory
 * map is used, so plan's memory stays the same whatever the size of the
 * store.  The connection's own setting comes back afterwards.
 */
static void tune(struct suf_store *st, int64_t *saved_cache)
{
    struct suf_err ignored = SUF_ERR_INIT;

    if (suf_store_scalar(st, "PRAGMA cache_size", NULL, saved_cache, &ignored))
        *saved_cache = -2000;
    suf_store_exec(st, "PRAGMA cache_size = -32768", &ignored);
}

static void untune(struct suf_store *st, int64_t saved_cache)
{
    struct suf_err ignored = SUF_ERR_INIT;
    char sql[64];

    snprintf(sql, sizeof(sql), "PRAGMA cache_size = %" PRId64, saved_cache);
    suf_store_exec(st, sql, &ignored);
}

static int plan_all(struct suf_run *run, int64_t now, struct suf_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    int64_t relinked = 0;
    int rc;

    /* A number whose opt-out was purged, back in a later export, is still
     * opted out: before anything is decided. */
    if ((rc = suf_purge_relink_optouts(run, &relinked, err)))
        return rc;
    if (relinked)
        suf_run_count(run, "plan.optouts_relinked", relinked);
    if (run->campaign) {
        rc = campaign_exists(run->store, run->campaign, err);
        if (!rc)
            rc = plan_campaign(run, run->campaign, now, err);
        return rc;
    }
    rc = list_campaigns(run->store, &ids, &n, err);
    for (size_t i = 0; !rc && i < n; i++) {
        if (suf_run_stopping(run))
            break;
        rc = plan_campaign(run, ids[i], now, err);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

int suf_plan_run_at(struct suf_run *run, int64_t now, struct suf_err *err)
{
    int64_t saved_cache = -2000;
    struct suf_ckpt *ckpt;
    int rc;

    tune(run->store, &saved_cache);
    ckpt = suf_ckpt_start(run->store, 0);
    rc = plan_all(run, now, err);
    suf_ckpt_stop(ckpt);
    untune(run->store, saved_cache);
    return rc;
}

int suf_plan_run(struct suf_run *run, struct suf_err *err)
{
    return suf_plan_run_at(run, suf_run_now(run), err);
}

/* --- one recipient, nothing written (--explain) ------------------------------- */

struct suf_plan_preview {
    struct campaign camp;
    struct planner pl; /* pl.camp is &camp; pl.write is false */
};

int suf_plan_preview_open(struct suf_plan_preview **out, struct suf_run *run,
                          const char *campaign, int64_t now, struct suf_err *err)
{
    struct suf_plan_preview *pv = suf_xcalloc(1, sizeof(*pv));
    int rc;

    pv->pl.run = run;
    pv->pl.st = run->store;
    pv->pl.camp = &pv->camp;
    pv->pl.write = false;
    rc = campaign_load(run, campaign, now, &pv->camp, err);
    if (rc) {
        suf_plan_preview_free(pv);
        pv = NULL;
    }
    *out = pv;
    return rc;
}

int suf_plan_preview_decide(struct suf_plan_preview *pv, const char *phone,
                            const struct suf_plan_decision **d, struct suf_err *err)
{
    int64_t n = 0;
    int rc;

    *d = &pv->pl.last;
    if ((rc = planner_prepare(&pv->pl, err)) ||
        (rc = next_fallback_id(pv->pl.st, &pv->pl.next_id, err)))
        return rc;
    return scan(&pv->pl, phone, &n, err);
}

void suf_plan_preview_free(struct suf_plan_preview *pv)
{
    if (!pv)
        return;
    planner_release(&pv->pl);
    campaign_release(&pv->camp);
    free(pv);
}
