/*
 * plan_explain.c: `suf plan --explain`: what plan decides for one recipient,
 * and why (see suf_plan_explain in plan.h).
 *
 * An operator asks why a customer got a fallback, or did not.  The answer
 * is printed from three sources: the recipient's attempts as stored; the
 * rules' decision now, taken by the same scan `suf plan` runs (plan.c's
 * preview, which writes nothing); and what the last plan stored, with the
 * bodies of its messages: those stored, and those not built yet rendered
 * from the fallback's frozen inputs by render.h, the code that will build
 * them.  Before the first plan, the bodies a plan would create are built
 * and printed instead.  Each body is printed pretty, then as its exact
 * bytes.  Reads only.
 *
 * The list form (suf_plan_explain_list) answers the same question for a
 * whole campaign at once, from what the last plan stored.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/phone.h"
#include "base/timeutil.h"
#include "plan/plan.h"
#include "plan/plan_priv.h"
#include "plan/render.h"
#include "store/store.h"
#include "base/banned.h"

/* A message: `title`, its body as pretty JSON for the reader, then its
 * exact bytes (what is stored and posted) on a line of their own. */
static void print_bytes(FILE *out, const char *title, const char *bytes)
{
    json_t *body = json_loads(bytes, 0, NULL);
    char *pretty = body ? json_dumps(body, JSON_INDENT(2)) : NULL;

    fprintf(out, "%s\n%s\nbytes: %s\n", title, pretty ? pretty : bytes, bytes);
    free(pretty);
    json_decref(body);
}

static void print_json(FILE *out, const char *title, const json_t *body)
{
    char *text = suf_render_text(body);

    if (text)
        print_bytes(out, title, text);
    else
        fprintf(out, "%s\n(cannot be printed)\n", title);
    free(text);
}

/* Prepares `sql`, whose ?1 and ?2 are a recipient's campaign and phone, and
 * binds them; NULL when it cannot be prepared (err says why). */
static sqlite3_stmt *prepare_recipient(struct suf_store *st, const char *sql,
                                       const char *campaign, const char *phone,
                                       struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(st, sql, err);

    if (s) {
        suf_bind_text(s, 1, campaign);
        suf_bind_text(s, 2, phone);
    }
    return s;
}

static int explain_attempts(struct suf_store *st, const char *campaign, const char *phone,
                            FILE *out, int64_t *n, struct suf_err *err)
{
    static const char sql[] =
        "SELECT attempt, sent_at, status, error_code, error_title, template_name, "
        "template_language, message_id, phone_valid FROM attempts "
        "WHERE campaign_id = ?1 AND phone = ?2 ORDER BY attempt, sent_at, id";
    sqlite3_stmt *s = prepare_recipient(st, sql, campaign, phone, err);
    char when[32];
    int src;

    *n = 0;
    if (!s)
        return SUF_ERR_DB;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *title = (const char *)sqlite3_column_text(s, 4);
        const char *lang = (const char *)sqlite3_column_text(s, 6);
        if ((*n)++ == 0)
            fprintf(out, "attempts (in order):\n");
        suf_time_format(sqlite3_column_int64(s, 1), when, sizeof(when));
        fprintf(out, "  %" PRId64 ". attempt %lld  %s  %-9s", *n,
                (long long)sqlite3_column_int64(s, 0), when,
                (const char *)sqlite3_column_text(s, 2));
        if (sqlite3_column_type(s, 3) != SQLITE_NULL)
            fprintf(out, "  error %lld%s%s", (long long)sqlite3_column_int64(s, 3),
                    title ? " " : "", title ? title : "");
        fprintf(out, "  template %s (%s)  %s%s\n", (const char *)sqlite3_column_text(s, 5),
                lang ? lang : "no language", (const char *)sqlite3_column_text(s, 7),
                sqlite3_column_int64(s, 8) ? "" : "  [invalid phone]");
    }
    sqlite3_finalize(s);
    if (src != SQLITE_DONE)
        return suf_store_fail(st, err, "attempts");
    return SUF_OK;
}

static int explain_stored(struct suf_store *st, const char *campaign, const char *phone,
                          FILE *out, int64_t *fallback_id, struct suf_err *err)
{
    static const char rsql[] = "SELECT outcome, reason, detail, decided_at FROM recipients "
                               "WHERE campaign_id = ?1 AND phone = ?2";
    static const char fsql[] = "SELECT id, scenario, state, template_name, template_language "
                               "FROM fallbacks WHERE campaign_id = ?1 AND phone = ?2";
    sqlite3_stmt *s = prepare_recipient(st, rsql, campaign, phone, err);
    char when[32];
    int src;

    *fallback_id = 0;
    if (!s)
        return SUF_ERR_DB;
    src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        const char *reason = (const char *)sqlite3_column_text(s, 1);
        const char *detail = (const char *)sqlite3_column_text(s, 2);
        fprintf(out, "stored outcome: %s%s%s%s%s (decided %s)\n", sqlite3_column_text(s, 0),
                reason ? ":" : "", reason ? reason : "", detail ? ": " : "", detail ? detail : "",
                suf_time_format(sqlite3_column_int64(s, 3), when, sizeof(when)));
    } else if (src == SQLITE_DONE) {
        fprintf(out, "stored outcome: none yet (not planned)\n");
    }
    sqlite3_finalize(s);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return suf_store_fail(st, err, "recipients");
    if (!(s = prepare_recipient(st, fsql, campaign, phone, err)))
        return SUF_ERR_DB;
    src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        *fallback_id = sqlite3_column_int64(s, 0);
        fprintf(out, "fallback %" PRId64 ": scenario %s, state %s, template %s (%s)\n",
                *fallback_id, sqlite3_column_text(s, 1), sqlite3_column_text(s, 2),
                sqlite3_column_text(s, 3), sqlite3_column_text(s, 4));
    }
    sqlite3_finalize(s);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return suf_store_fail(st, err, "fallbacks");
    return SUF_OK;
}

/* One sends row: its stored bytes, or (a utility row not claimed yet) the
 * bytes its claim will build and store. */
static int explain_send(struct suf_render *r, sqlite3_stmt *s, int64_t fallback_id, FILE *out,
                        struct suf_err *err)
{
    const char *kind = (const char *)sqlite3_column_text(s, 0);
    const char *body = (const char *)sqlite3_column_text(s, 4);
    int n = sqlite3_column_int(s, 1);
    char title[200], *built = NULL;
    int rc;

    snprintf(title, sizeof(title), "%s %d (%s, state %s%s):",
             kind && *kind == 'u' ? "utility message" : "session message part", n,
             sqlite3_column_text(s, 3), sqlite3_column_text(s, 2),
             body && *body ? "" : "; built from the frozen inputs when claimed");
    if (body && *body) {
        print_bytes(out, title, body);
        return SUF_OK;
    }
    rc = kind && *kind == 'u' ? suf_render_utility(r, fallback_id, n, &built, err)
                              : suf_err_set(err, SUF_ERR_NOTFOUND, "no body");
    if (rc == SUF_OK)
        print_bytes(out, title, built);
    else
        fprintf(out, "%s\n(no body: %s)\n", title, err->msg);
    free(built);
    return rc == SUF_ERR_DB ? rc : SUF_OK;
}

/* The session parts a consent will build and store, while none is stored. */
static int explain_session(struct suf_render *r, int64_t fallback_id, FILE *out,
                           struct suf_err *err)
{
    char *parts[2], title[96];
    size_t n = 0;
    int rc = suf_render_session(r, fallback_id, parts, &n, err);

    if (rc == SUF_ERR_NOTFOUND)
        return SUF_OK; /* planned by an earlier release: its parts are rows */
    if (rc == SUF_ERR_DB)
        return rc;
    if (rc) {
        fprintf(out, "session message: cannot be built: %s\n", err->msg);
        return SUF_OK;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(title, sizeof(title),
                 "session message part %zu (suf:%lld:s%zu; built when the customer consents):",
                 i + 1, (long long)fallback_id, i + 1);
        print_bytes(out, title, parts[i]);
        free(parts[i]);
    }
    return SUF_OK;
}

static int explain_sends(struct suf_store *st, int64_t fallback_id, FILE *out,
                         struct suf_err *err)
{
    static const char sql[] = "SELECT kind, n, state, callback, body FROM sends "
                              "WHERE fallback_id = ?1 ORDER BY kind DESC, n, id";
    sqlite3_stmt *s = suf_store_prepare(st, sql, err);
    struct suf_render *r = NULL;
    bool session = false;
    int src = SQLITE_DONE, rc;

    if (!s)
        return SUF_ERR_DB;
    if ((rc = suf_render_open(st, &r, err)))
        goto out;
    sqlite3_bind_int64(s, 1, fallback_id);
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 0);
        session = session || (kind && *kind == 's');
        if ((rc = explain_send(r, s, fallback_id, out, err)))
            goto out;
    }
    if (src != SQLITE_DONE) {
        rc = suf_store_fail(st, err, "sends");
        goto out;
    }
    if (!session)
        rc = explain_session(r, fallback_id, out, err);
out:
    suf_render_free(r);
    sqlite3_finalize(s);
    return rc;
}

static void explain_decision(const struct suf_plan_decision *d, int64_t now, FILE *out)
{
    char when[32];

    fprintf(out, "rule now (as of %s): %s%s%s%s%s\n", suf_time_format(now, when, sizeof(when)),
            suf_plan_outcome_name(d->outcome), d->reason ? ":" : "",
            suf_plan_reason_name(d->reason), d->detail[0] ? ": " : "", d->detail);
    if (d->tpl && d->tpl->known)
        fprintf(out, "template: %s (%s), %s, scenario %s%d%s\n", d->tpl->name,
                d->tpl->t.language ? d->tpl->t.language : "?",
                d->tpl->t.category ? d->tpl->t.category : "no category",
                d->tpl->scenario ? "S" : "", d->tpl->scenario,
                d->tpl->scenario ? "" : " (unsupported)");
}

int suf_plan_explain(struct suf_run *run, const char *campaign, const char *phone_in, FILE *out,
                     struct suf_err *err)
{
    char phone[SUF_PHONE_MAX];
    const char *why = NULL, *phone_key = phone_in;
    const struct suf_plan_decision *d = NULL;
    struct suf_plan_preview *pv = NULL;
    int64_t n = 0, stored_id = 0, now = suf_run_now(run);
    int rc;

    if (!suf_phone_normalize(phone_in, run->cfg->default_country_code, phone, &why))
        phone_key = phone;
    rc = suf_plan_preview_open(&pv, run, campaign, now, err);
    if (rc)
        goto out;
    fprintf(out, "recipient: campaign '%s', phone %s\n", campaign, phone_key);
    if ((rc = explain_attempts(run->store, campaign, phone_key, out, &n, err)))
        goto out;
    if (n == 0) {
        rc = suf_err_set(err, SUF_ERR_NOTFOUND, "campaign '%s' has no attempts for phone '%s'",
                         campaign, phone_in);
        goto out;
    }
    if ((rc = suf_plan_preview_decide(pv, phone_key, &d, err)))
        goto out;
    explain_decision(d, now, out);
    if ((rc = explain_stored(run->store, campaign, phone_key, out, &stored_id, err)))
        goto out;
    if (stored_id) {
        rc = explain_sends(run->store, stored_id, out, err);
    } else if (d->fallback_new) {
        fprintf(out, "not planned yet: 'suf plan' will create fallback %" PRId64
                     " with these messages:\n",
                d->fallback_id);
        print_json(out, "utility message 1 (queued when planned; built when claimed):",
                   d->bodies[0]);
        for (size_t i = 1; i < d->nbodies; i++) {
            char title[64];
            snprintf(title, sizeof(title),
                     "session message part %zu (built when the customer consents):", i);
            print_json(out, title, d->bodies[i]);
        }
    }
out:
    suf_plan_preview_free(pv);
    return rc;
}

/* One CSV field: quoted when it holds a comma, a quote or a line break. */
static void put_csv_field(FILE *out, const char *v, const char *sep)
{
    if (v && v[strcspn(v, ",\"\r\n")]) {
        fputc('"', out);
        for (; *v; v++) {
            if (*v == '"')
                fputc('"', out);
            fputc(*v, out);
        }
        fputc('"', out);
    } else if (v) {
        fputs(v, out);
    }
    fputs(sep, out);
}

int suf_plan_explain_list(struct suf_run *run, const char *campaign, int csv, FILE *out,
                          struct suf_err *err)
{
    static const char sql[] =
        "SELECT r.phone, r.outcome, r.reason, f.scenario, r.detail FROM recipients r "
        "LEFT JOIN fallbacks f USING (campaign_id, phone) WHERE r.campaign_id = ?1 "
        "ORDER BY r.phone";
    sqlite3_stmt *s = suf_store_prepare(run->store, sql, err);
    int64_t n = 0;
    int src;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, campaign);
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *col[5];
        for (int i = 0; i < 5; i++)
            col[i] = (const char *)sqlite3_column_text(s, i);
        if (n++ == 0 && csv)
            fprintf(out, "phone,outcome,reason,scenario,detail\r\n");
        else if (n == 1)
            fprintf(out, "%-16s %-18s %-26s %-8s %s\n", "phone", "outcome", "reason",
                    "scenario", "detail");
        if (csv) {
            for (int i = 0; i < 5; i++)
                put_csv_field(out, col[i], i < 4 ? "," : "\r\n");
        } else {
            fprintf(out, "%-16s %-18s %-26s %-8s %s\n", col[0], col[1], col[2] ? col[2] : "-",
                    col[3] ? col[3] : "-", col[4] ? col[4] : "");
        }
    }
    sqlite3_finalize(s);
    if (src != SQLITE_DONE)
        return suf_store_fail(run->store, err, "recipients");
    if (n == 0)
        return suf_err_set(err, SUF_ERR_NOTFOUND,
                           "campaign '%s' has no planned recipients (run 'suf plan' first)",
                           campaign);
    return SUF_OK;
}
