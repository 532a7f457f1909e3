/*
 * plan.c: the plan stage: every recipient's outcome, and the messages of
 * each new fallback (see plan.h).
 *
 * The work is one ordered scan per campaign: the attempts of the campaign,
 * in (phone, attempt, sent_at, id) order, which is the order of the
 * attempts_recipient index, so SQLite streams them without sorting.  Each
 * recipient's attempts are folded into a struct suf_plan_facts as they pass,
 * and the pure rules (plan_rules.c) name its outcome.  No query runs per
 * attempt; per recipient there is one upsert into `recipients` that writes
 * only when something changed, and for a new fallback the few statements
 * that create it.  Everything that is the same for the whole campaign (its
 * settings, its templates, parsed and classified once) is loaded once.
 *
 * The rules decide in two steps (plan.h): the attempts alone settle most
 * recipients; only for the others is the template looked up in the
 * campaign's cache (a catalog read the first time a template is named) and
 * its classification handed to the exclusion rules.  --explain
 * (plan_explain.c) runs the same scan for one recipient, writing nothing,
 * through the preview of plan_priv.h.
 *
 * A fallback is created at most once (UNIQUE (campaign_id, phone) and a
 * look-up before building), and once created its recipient's outcome stays
 * `fallback`: the upsert never overwrites it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/util.h"
#include "plan/plan.h"
#include "plan/plan_priv.h"
#include "plan/scenario.h"
#include "store/ckpt.h"
#include "store/purge.h"
#include "store/fsm.h"
#include "store/store.h"
#include "base/banned.h"

/* A 131050 on any attempt opts the recipient out (the rules' opted_out). */
#define CODE_OPTED_OUT 131050

/* --- the campaign's templates, loaded and classified once ----------------- */

struct tpl_cache {
    struct suf_plan_tpl *v;
    size_t n, alloc;
};

static void tpl_cache_release(struct tpl_cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].lang);
        suf_template_release(&c->v[i].t);
    }
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
    if (suf_template_parse(json, &e->t, &perr)) {
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
        if (!strcmp(c->v[i].name, name) && same_opt(c->v[i].lang, lang)) {
            *out = &c->v[i];
            return SUF_OK;
        }
    }
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? 2 * c->alloc : 4;
        c->v = suf_xrealloc(c->v, c->alloc * sizeof(*c->v));
    }
    e = &c->v[c->n];
    memset(e, 0, sizeof(*e));
    e->name = suf_xstrdup(name);
    e->lang = lang ? suf_xstrdup(lang) : NULL;
    rc = tpl_load(st, e, err);
    if (rc) {
        free(e->name);
        free(e->lang);
        suf_template_release(&e->t);
        return rc;
    }
    c->n++;
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
static int campaign_cancelled(struct suf_run *run, const char *campaign, bool *out,
                              struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        run->store, "SELECT 1 FROM campaign_cancels WHERE campaign_id = ?1", err);
    int rc;

    *out = false;
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, campaign);
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SUF_OK
                                                 : suf_store_fail(run->store, err, "campaign_cancels");
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
    return campaign_cancelled(run, campaign, &p->cancelled, err);
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
    struct suf_plan_facts f;
    int64_t last_id;
    bool last_any_131050;
    struct suf_buf tpl_name;
    struct suf_buf tpl_lang;
    bool tpl_lang_null;
    struct suf_buf campaign_name;
    bool campaign_name_null;
};

struct planner {
    struct suf_run *run;
    struct suf_store *st;
    struct campaign *camp;
    struct tpl_cache tpls;
    bool write;           /* false for --explain */
    int64_t next_id;      /* the id the next new fallback gets */
    int64_t new_fallbacks;
    sqlite3_stmt *upsert, *find_fb, *content, *ins_fb, *ins_send;
    struct suf_plan_decision last; /* the latest recipient's decision (explain) */
};

static const char upsert_sql[] =
    "INSERT INTO recipients (campaign_id, phone, outcome, reason, detail, attempts, "
    "last_attempt_id, last_attempt_at, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
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

static const char content_sql[] =
    "SELECT text, vars, header_media_url, url_suffixes, button_payloads, customer_name "
    "FROM attempts WHERE id = ?1";

/* ?9 is the state: a new fallback starts in the state machine's first. */
static const char ins_fb_sql[] =
    "INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, "
    "template_language, scenario, state, state_at, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9, ?8, ?8)";

static const char ins_send_sql[] =
    "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state, queued_at, "
    "updated_at, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

static void decision_clear(struct suf_plan_decision *d)
{
    for (size_t i = 0; i < d->nbodies; i++)
        json_decref(d->bodies[i]);
    memset(d, 0, sizeof(*d));
}

static void planner_release(struct planner *pl)
{
    sqlite3_finalize(pl->upsert);
    sqlite3_finalize(pl->find_fb);
    sqlite3_finalize(pl->content);
    sqlite3_finalize(pl->ins_fb);
    sqlite3_finalize(pl->ins_send);
    pl->upsert = pl->find_fb = pl->content = pl->ins_fb = pl->ins_send = NULL;
    tpl_cache_release(&pl->tpls);
    decision_clear(&pl->last);
}

static int planner_prepare(struct planner *pl, struct suf_err *err)
{
    pl->find_fb = suf_store_prepare(pl->st, find_fb_sql, err);
    pl->content = pl->find_fb ? suf_store_prepare(pl->st, content_sql, err) : NULL;
    if (!pl->content)
        return SUF_ERR_DB;
    if (!pl->write)
        return SUF_OK;
    pl->upsert = suf_store_prepare(pl->st, upsert_sql, err);
    pl->ins_fb = pl->upsert ? suf_store_prepare(pl->st, ins_fb_sql, err) : NULL;
    pl->ins_send = pl->ins_fb ? suf_store_prepare(pl->st, ins_send_sql, err) : NULL;
    return pl->ins_send ? SUF_OK : SUF_ERR_DB;
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

static void buf_set(struct suf_buf *b, bool *is_null, sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);

    suf_buf_reset(b);
    if (is_null)
        *is_null = v == NULL || !*v;
    if (v)
        suf_buf_add(b, v, (size_t)sqlite3_column_bytes(s, i));
}

/* Columns of the scan: see scan_sql. */
enum { C_PHONE, C_ID, C_STATUS, C_ERROR, C_SENT_AT, C_VALID, C_TNAME, C_TLANG, C_CNAME, C_OPTOUT };

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
    buf_set(&a->tpl_name, NULL, s, C_TNAME);
    buf_set(&a->tpl_lang, &a->tpl_lang_null, s, C_TLANG);
    buf_set(&a->campaign_name, &a->campaign_name_null, s, C_CNAME);
}

static json_t *json_col(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    json_t *j;

    if (!v || !*v)
        return NULL;
    j = json_loads(v, JSON_DECODE_ANY, NULL);
    if (j && !json_is_array(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static const char *opt_text(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    return v && *v ? v : NULL;
}

/*
 * Builds the utility body and the session parts of fallback `id` into
 * d->bodies.  A hole in the content (or anything the builders refuse) is
 * SUF_ERR_INPUT with d->detail saying why.
 */
static int build_bodies(struct planner *pl, const struct acc *a, struct suf_plan_decision *d,
                        int64_t id, struct suf_err *err)
{
    const struct suf_config *cfg = pl->run->cfg;
    struct suf_session_opts sopts = {cfg->list_button_label};
    struct suf_utility_opts uopts = {pl->camp->utility_template, pl->camp->utility_language,
                                     cfg->utility_params, cfg->utility_no_button};
    struct suf_content c;
    json_t *vars = NULL, *suffixes = NULL, *payloads = NULL, *parts[2] = {NULL, NULL};
    const char *why = NULL, *cname;
    size_t nparts = 0;
    int rc, src;

    sqlite3_reset(pl->content);
    sqlite3_bind_int64(pl->content, 1, a->last_id);
    src = sqlite3_step(pl->content);
    if (src != SQLITE_ROW)
        return suf_store_fail(pl->st, err, "attempt content");
    vars = json_col(pl->content, 1);
    suffixes = json_col(pl->content, 3);
    payloads = json_col(pl->content, 4);
    memset(&c, 0, sizeof(c));
    c.to = suf_buf_str(&a->phone);
    c.vars = vars;
    c.text = opt_text(pl->content, 0);
    c.header_media_url = opt_text(pl->content, 2);
    c.url_suffixes = suffixes;
    c.button_payloads = payloads;
    c.customer_name = opt_text(pl->content, 5);
    rc = suf_session_build(&d->tpl->t, d->tpl->scenario, &c, id, &sopts, parts, &nparts, &why);
    if (rc) {
        snprintf(d->detail, sizeof(d->detail), "session message: %s",
                 why ? why : "cannot be built");
        rc = SUF_ERR_INPUT;
        goto out;
    }
    cname = pl->camp->name                ? pl->camp->name
            : !a->campaign_name_null      ? suf_buf_str(&a->campaign_name)
                                          : pl->camp->id;
    why = NULL;
    rc = suf_utility_build(&uopts, c.to, cname, c.customer_name, id, 1, &d->bodies[0], &why);
    if (rc) {
        snprintf(d->detail, sizeof(d->detail), "utility message: %s",
                 why ? why : "cannot be built");
        rc = SUF_ERR_INPUT;
        for (size_t i = 0; i < nparts; i++)
            json_decref(parts[i]);
        goto out;
    }
    d->nbodies = 1;
    for (size_t i = 0; i < nparts && i < 2; i++)
        d->bodies[d->nbodies++] = parts[i];
out:
    sqlite3_reset(pl->content);
    json_decref(vars);
    json_decref(suffixes);
    json_decref(payloads);
    return rc;
}

static int insert_send(struct planner *pl, int64_t id, char kind, int part, const json_t *body,
                       struct suf_err *err)
{
    char callback[64];
    char *text = json_dumps(body, JSON_COMPACT);
    int64_t now = pl->camp->policy.now;
    sqlite3_stmt *s = pl->ins_send;
    int rc;

    if (!text)
        return suf_err_set(err, SUF_ERR_INTERNAL, "fallback %" PRId64 ": body cannot be written",
                           id);
    snprintf(callback, sizeof(callback), "suf:%" PRId64 ":%c%d", id, kind, part);
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, kind == 'u' ? "u" : "s", 1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, part);
    sqlite3_bind_int(s, 4, part);
    sqlite3_bind_text(s, 5, callback, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, text, -1, free);
    sqlite3_bind_text(s, 7, kind == 'u' ? "queued" : "held", -1, SQLITE_STATIC);
    suf_bind_int64_or_null(s, 8, now, kind != 'u');
    sqlite3_bind_int64(s, 9, now);
    sqlite3_bind_null(s, 10); /* run_id: set by the send stage when it tries the row */
    rc = sqlite3_step(s) == SQLITE_DONE ? SUF_OK : suf_store_fail(pl->st, err, "sends");
    sqlite3_reset(s);
    return rc;
}

static int insert_fallback(struct planner *pl, const struct acc *a, struct suf_plan_decision *d,
                           struct suf_err *err)
{
    sqlite3_stmt *s = pl->ins_fb;
    char scenario[4];
    int rc;

    snprintf(scenario, sizeof(scenario), "S%d", d->tpl->scenario);
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, d->fallback_id);
    suf_bind_text(s, 2, pl->camp->id);
    suf_bind_text(s, 3, suf_buf_str(&a->phone));
    sqlite3_bind_int64(s, 4, a->last_id);
    suf_bind_text(s, 5, d->tpl->t.name ? d->tpl->t.name : d->tpl->name);
    suf_bind_text(s, 6, d->tpl->t.language);
    suf_bind_text(s, 7, scenario);
    sqlite3_bind_int64(s, 8, pl->camp->policy.now);
    sqlite3_bind_text(s, 9, suf_fsm_state_name(SUF_FB_PENDING), -1, SQLITE_STATIC);
    rc = sqlite3_step(s) == SQLITE_DONE ? SUF_OK : suf_store_fail(pl->st, err, "fallbacks");
    sqlite3_reset(s);
    if (rc)
        return rc;
    rc = insert_send(pl, d->fallback_id, 'u', 1, d->bodies[0], err);
    for (size_t i = 1; !rc && i < d->nbodies; i++)
        rc = insert_send(pl, d->fallback_id, 's', (int)i, d->bodies[i], err);
    return rc;
}

/* For a recipient the rules let through: keeps its fallback if it has one,
 * else builds and (when writing) creates it, or excludes it for a hole. */
static int settle_fallback(struct planner *pl, const struct acc *a, struct suf_plan_decision *d,
                           struct suf_err *err)
{
    int rc, src;

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
    rc = build_bodies(pl, a, d, pl->next_id, err);
    if (rc == SUF_ERR_INPUT) {
        d->outcome = SUF_OUTCOME_EXCLUDED;
        d->reason = SUF_REASON_MISSING_CONTENT;
        return SUF_OK;
    }
    if (rc)
        return rc;
    d->fallback_id = pl->next_id++;
    d->fallback_new = true;
    if (!pl->write)
        return SUF_OK;
    rc = insert_fallback(pl, a, d, err);
    if (!rc)
        pl->new_fallbacks++;
    return rc;
}

static int upsert_recipient(struct planner *pl, const struct acc *a,
                            const struct suf_plan_decision *d, struct suf_err *err)
{
    sqlite3_stmt *s = pl->upsert;
    int rc;

    sqlite3_reset(s);
    suf_bind_text(s, 1, pl->camp->id);
    suf_bind_text(s, 2, suf_buf_str(&a->phone));
    sqlite3_bind_text(s, 3, suf_plan_outcome_name(d->outcome), -1, SQLITE_STATIC);
    if (d->reason)
        sqlite3_bind_text(s, 4, suf_plan_reason_name(d->reason), -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 4);
    suf_bind_text(s, 5, d->detail[0] ? d->detail : NULL);
    sqlite3_bind_int64(s, 6, a->f.attempts);
    sqlite3_bind_int64(s, 7, a->last_id);
    sqlite3_bind_int64(s, 8, a->f.last_at);
    sqlite3_bind_int64(s, 9, pl->camp->policy.now);
    rc = sqlite3_step(s) == SQLITE_DONE ? SUF_OK : suf_store_fail(pl->st, err, "recipients");
    sqlite3_reset(s);
    return rc;
}

/* Decides one recipient whose attempts are all in `a`, and writes it. */
static int finish_recipient(struct planner *pl, struct acc *a, struct suf_err *err)
{
    const struct suf_plan_policy *policy = &pl->camp->policy;
    struct suf_plan_decision *d = &pl->last;
    struct suf_plan_facts *f = &a->f;
    struct suf_plan_tpl *tpl;
    int rc;

    decision_clear(d);
    /* A purged recipient keeps the outcome it had when it was purged: its
     * content and its phone are gone, so a new decision could only be a
     * wrong one. */
    if (suf_purge_is_pseudonym(suf_buf_str(&a->phone)))
        return SUF_OK;
    if (!suf_plan_decide_attempts(f, policy, &d->outcome)) {
        /* The exclusion rules decide: they read the template's class. */
        rc = tpl_get(pl->st, &pl->tpls, suf_buf_str(&a->tpl_name),
                     a->tpl_lang_null ? NULL : suf_buf_str(&a->tpl_lang), &tpl, err);
        if (rc)
            return rc;
        f->template_known = tpl->known;
        f->template_marketing = tpl->marketing;
        f->scenario = tpl->scenario;
        f->template_detail = tpl->detail;
        d->tpl = tpl;
        d->outcome = suf_plan_decide_rules(f, policy, &d->reason);
    }
    suf_plan_detail(f, policy, d->outcome, d->reason, d->detail, sizeof(d->detail));
    if (d->outcome == SUF_OUTCOME_FALLBACK && (rc = settle_fallback(pl, a, d, err)))
        return rc;
    if (!pl->write)
        return SUF_OK;
    /* Bodies were stored with the fallback; the writer does not keep them. */
    for (size_t i = 0; i < d->nbodies; i++)
        json_decref(d->bodies[i]);
    d->nbodies = 0;
    return upsert_recipient(pl, a, d, err);
}

/* The scan, for the whole campaign or one phone; the optouts look-up is
 * left out when nobody has opted out (the usual case), which saves a seek
 * per attempt. */
#define SCAN_COLS(optout)                                                                  \
    "SELECT a.phone, a.id, a.status, a.error_code, a.sent_at, a.phone_valid, "             \
    "a.template_name, a.template_language, a.campaign_name, " optout " FROM attempts a "
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
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(s, C_PHONE);
        if (!p)
            p = "";
        if (n == 0 || strcmp(p, suf_buf_str(&a.phone))) {
            if (n > 0 && (rc = finish_recipient(pl, &a, err)))
                goto out;
            acc_start(&a, p);
            n++;
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
    suf_buf_release(&a.phone);
    suf_buf_release(&a.tpl_name);
    suf_buf_release(&a.tpl_lang);
    suf_buf_release(&a.campaign_name);
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
    static const char sql[] = "SELECT json FROM templates WHERE name = ?1 AND language = ?2";
    sqlite3_stmt *s = suf_store_prepare(pl->st, sql, err);
    struct suf_template t;
    struct suf_err perr = SUF_ERR_INIT;
    const char *why = NULL;
    char whybuf[300];
    int src;

    if (!s)
        return SUF_ERR_DB;
    memset(&t, 0, sizeof(t));
    suf_bind_text(s, 1, pl->camp->utility_template);
    suf_bind_text(s, 2, pl->camp->utility_language);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        if (suf_template_parse((const char *)sqlite3_column_text(s, 0), &t, &perr)) {
            snprintf(whybuf, sizeof(whybuf), "template cannot be read: %s", perr.msg);
            why = whybuf;
        } else if (suf_utility_check(&t, pl->run->cfg->utility_no_button, &why)) {
            if (!why)
                why = "is not an approved utility template";
        } else {
            why = NULL;
        }
    } else if (src == SQLITE_DONE) {
        why = "not in the template catalog";
    }
    sqlite3_finalize(s);
    suf_template_release(&t);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return suf_store_fail(pl->st, err, "templates");
    if (why) {
        suf_error("plan: campaign '%s': permission template '%s' (%s) refused: %s; its fallbacks are "
                  "planned but the send stage will not send them",
                  pl->camp->id, pl->camp->utility_template, pl->camp->utility_language, why);
        suf_run_count(pl->run, "plan.permission_template_errors", 1);
    }
    return SUF_OK;
}

/* Counts the campaign's outcomes as stored, and logs its summary line. */
static int count_outcomes(struct planner *pl, struct suf_err *err)
{
    static const char sql[] = "SELECT outcome, reason, count(*) FROM recipients "
                              "WHERE campaign_id = ?1 GROUP BY outcome, reason";
    sqlite3_stmt *s = suf_store_prepare(pl->st, sql, err);
    int64_t by[SUF_OUTCOME_COUNT] = {0}, total = 0;
    struct suf_buf reasons = SUF_BUF_INIT;
    char name[96];
    int src, rc = SUF_OK;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, pl->camp->id);
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *o = (const char *)sqlite3_column_text(s, 0);
        const char *r = (const char *)sqlite3_column_text(s, 1);
        int64_t n = sqlite3_column_int64(s, 2);
        total += n;
        for (int i = 0; i < SUF_OUTCOME_COUNT; i++)
            if (o && !strcmp(o, suf_plan_outcome_name(i)))
                by[i] += n;
        snprintf(name, sizeof(name), "plan.%s", o ? o : "unknown");
        suf_run_count(pl->run, name, n);
        if (r) {
            snprintf(name, sizeof(name), "plan.excluded.%s", r);
            suf_run_count(pl->run, name, n);
            suf_buf_addf(&reasons, "%s%s %" PRId64, reasons.len ? ", " : "", r, n);
        }
    }
    sqlite3_finalize(s);
    if (src != SQLITE_DONE)
        rc = suf_store_fail(pl->st, err, "recipients");
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
    if ((rc = planner_prepare(&pl, err)) || (rc = next_fallback_id(pl.st, &pl.next_id, err)) ||
        (rc = scan(&pl, NULL, &n, err)) || (rc = count_outcomes(&pl, err))) {
        suf_store_rollback(run->store);
        goto out;
    }
    planner_release(&pl);
    rc = suf_store_commit(run->store, err);
    if (rc)
        suf_store_rollback(run->store);
out:
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
 * The scan reads attempts in index order, so the table rows it needs are
 * read out of order: a page cache larger than SQLite's default 2 MB and a
 * memory map turn those reads (and re-reads of the pages the inserts touch)
 * from system calls into memory accesses.  The connection's own settings
 * come back afterwards.
 */
static void tune(struct suf_store *st, int64_t *saved_cache)
{
    struct suf_err ignored = SUF_ERR_INIT;

    if (suf_store_scalar(st, "PRAGMA cache_size", NULL, saved_cache, &ignored))
        *saved_cache = -2000;
    suf_store_exec(st, "PRAGMA cache_size = -131072", &ignored);
    suf_store_exec(st, "PRAGMA mmap_size = 1073741824", &ignored);
}

static void untune(struct suf_store *st, int64_t saved_cache)
{
    struct suf_err ignored = SUF_ERR_INIT;
    char sql[64];

    snprintf(sql, sizeof(sql), "PRAGMA cache_size = %" PRId64, saved_cache);
    suf_store_exec(st, sql, &ignored);
    suf_store_exec(st, "PRAGMA mmap_size = 0", &ignored);
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
    ckpt = suf_ckpt_start(run->store);
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
