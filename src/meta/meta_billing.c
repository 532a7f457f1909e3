/*
 * meta_billing.c: what Meta billed, fetched from the API (see
 * meta_billing.h).
 *
 * Like the catalog fetch, this writes files and the billing import reads
 * them: a fetched reply is kept, hashed and imported as a response saved by
 * hand.  Only one thing is added to Meta's bytes, the span asked, because
 * the import cannot learn it from the reply: without it a window in which
 * Meta had nothing would record no period, and the empty replies of two
 * windows would have the same hash, the second skipped as a copy.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/config.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "import/billing.h"
#include "import/import.h"
#include "meta/meta_billing.h"
#include "base/banned.h"

#define DAY 86400

char *suf_meta_billing_path(const struct suf_config *cfg, int64_t since, int64_t until)
{
    char *fields = suf_xasprintf("currency,pricing_analytics.start(%lld).end(%lld)"
                                 ".granularity(DAILY).dimensions([" SUF_META_BILLING_DIMENSIONS
                                 "])",
                                 (long long)since, (long long)until);
    char *esc = curl_easy_escape(NULL, fields, 0), *path = NULL;

    if (esc) /* libcurl fails only when out of memory */
        path = suf_xasprintf("/%s/%s?fields=%s", cfg->api_version, cfg->waba_id, esc);
    curl_free(esc);
    free(fields);
    return path;
}

/* One option's value: an ISO day is midnight UTC; else suf_time_parse. */
static int read_time(const char *option, const char *text, int64_t *out, struct suf_err *err)
{
    const char *why = NULL;
    int rc;

    if (strlen(text) == 10 && text[4] == '-' && text[7] == '-') {
        char *utc = suf_xasprintf("%sT00:00:00Z", text);

        rc = suf_time_parse(utc, out, &why);
        free(utc);
    } else {
        rc = suf_time_parse(text, out, &why);
    }
    if (rc)
        return suf_err_set(err, SUF_ERR_USAGE,
                           "%s '%s' is not a day (YYYY-MM-DD, UTC) or a time: %s", option, text,
                           why ? why : "unreadable");
    return SUF_OK;
}

int suf_meta_billing_span(struct suf_run *run, const char *since_text, const char *until_text,
                          int64_t *since, int64_t *until, struct suf_err *err)
{
    int64_t now = suf_run_now(run);
    char a[32], b[32];
    int rc;

    if ((rc = read_time("--since", since_text, since, err)))
        return rc;
    if (!until_text)
        *until = now;
    else if ((rc = read_time("--until", until_text, until, err)))
        return rc;
    if (*until > now) {
        suf_info("billing: --until '%s' is after now: asking until %s", until_text,
                 suf_time_format(now, a, sizeof(a)));
        *until = now;
    }
    if (*since >= *until)
        return suf_err_set(err, SUF_ERR_USAGE, "--since '%s' is not before %s (%s)", since_text,
                           until_text ? "--until" : "now",
                           suf_time_format(*until, b, sizeof(b)));
    if (*since < now - (int64_t)SUF_META_BILLING_LOOKBACK_DAYS * DAY)
        return suf_err_set(err, SUF_ERR_USAGE,
                           "--since '%s' is more than %d days back: Meta keeps pricing "
                           "analytics for a year",
                           since_text, SUF_META_BILLING_LOOKBACK_DAYS);
    return SUF_OK;
}

/* "20261124T000000Z" */
static void stamp(int64_t t, char *out, size_t size)
{
    char iso[32];
    size_t j = 0;

    suf_time_format(t, iso, sizeof(iso));
    for (size_t i = 0; iso[i] && j + 1 < size; i++)
        if (iso[i] != '-' && iso[i] != ':')
            out[j++] = iso[i];
    out[j] = '\0';
}

/* Checks one reply of the window `what` ("2026-11-24T00:00:00Z..."):
 * nothing of it is kept unless this passes. */
static int check_reply(const struct suf_config *cfg, const char *body, size_t len,
                       const char *what, struct suf_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *pa = json_object_get(root, "pricing_analytics"), *id = json_object_get(root, "id");
    int rc = SUF_OK;

    if (!root)
        return suf_err_set(err, SUF_ERR_INPUT, "billing %s: not JSON: %s (column %d)", what,
                           jerr.text, jerr.column);
    if (!json_is_object(root))
        rc = suf_err_set(err, SUF_ERR_INPUT, "billing %s: not a JSON object", what);
    else if (!json_is_object(pa) || !json_is_array(json_object_get(pa, "data")))
        rc = suf_err_set(err, SUF_ERR_INPUT,
                         "billing %s: no \"pricing_analytics\" object with a \"data\" array",
                         what);
    else if (json_object_get(json_object_get(pa, "paging"), "next"))
        rc = suf_err_set(err, SUF_ERR_INPUT,
                         "billing %s: the reply says there is more (pricing_analytics.paging"
                         ".next), which Meta does not document: not kept",
                         what);
    else if (!json_is_string(id) || strcmp(json_string_value(id), cfg->waba_id))
        rc = suf_err_set(err, SUF_ERR_INPUT,
                         "billing %s: the reply is not of account '%s'", what, cfg->waba_id);
    else if (json_object_get(root, "asked"))
        rc = suf_err_set(err, SUF_ERR_INPUT,
                         "billing %s: the reply has an \"asked\" member of its own", what);
    json_decref(root);
    return rc;
}

/* Meta's reply with the span asked in front: {"asked":{...}, <the rest>}.
 * The reply passed check_reply, so it is an object with members. */
static char *with_span(const char *body, size_t len, int64_t since, int64_t until,
                       size_t *out_len)
{
    struct suf_buf b = SUF_BUF_INIT;
    size_t lead = strspn(body, " \t\r\n") + 1; /* past the '{' */

    suf_buf_addf(&b, "{\"asked\":{\"since\":%lld,\"until\":%lld},", (long long)since,
                 (long long)until);
    suf_buf_add(&b, body + lead, len - lead);
    *out_len = b.len;
    return suf_buf_detach(&b);
}

/* Fetches, checks, keeps and imports the window [since, until). */
static int one_window(struct suf_run *run, struct suf_graph *g, int64_t since, int64_t until,
                      struct suf_err *err)
{
    const struct suf_config *cfg = run->cfg;
    char from[32], to[32], what[96], s1[32], s2[32];
    struct suf_graph_reply reply;
    char *path = suf_meta_billing_path(cfg, since, until), *file, *kept;
    size_t kept_len;
    int rc;

    if (!path)
        return suf_err_set(err, SUF_ERR_INTERNAL, "cannot encode the billing request");
    snprintf(what, sizeof(what), "%s..%s", suf_time_format(since, from, sizeof(from)),
             suf_time_format(until, to, sizeof(to)));
    rc = suf_graph_get(g, path, &reply, err);
    free(path);
    if (rc)
        return rc;
    if ((rc = check_reply(cfg, reply.body, reply.len, what, err))) {
        suf_graph_reply_release(&reply);
        return rc;
    }
    if (suf_graph_quotes_secret(reply.body)) {
        suf_graph_reply_release(&reply);
        return suf_err_set(err, SUF_ERR_INPUT,
                           "billing %s: the reply quotes a secret (the access token?): not kept",
                           what);
    }
    kept = with_span(reply.body, reply.len, since, until, &kept_len);
    suf_graph_reply_release(&reply);
    stamp(since, s1, sizeof(s1));
    stamp(until, s2, sizeof(s2));
    file = suf_xasprintf("%s/api-%s-%s-%s-run%lld.json", cfg->inbox_billing, cfg->waba_id, s1,
                         s2, (long long)run->id);
    rc = suf_graph_keep(cfg->inbox_billing, file, kept, kept_len, "a billing reply", err);
    free(kept);
    if (!rc)
        rc = suf_import_path(run, "billing", suf_import_billing, file, NULL, err);
    if (!rc)
        suf_info("billing %s: kept in '%s'", what, file);
    free(file);
    return rc;
}

static int check_setup(const struct suf_config *cfg, struct suf_err *err)
{
    return suf_graph_check_inbox(cfg, "inbox_billing", cfg->inbox_billing, "what Meta billed",
                                 "the replies", err);
}

int suf_meta_billing_fetch(struct suf_run *run, struct suf_graph *g, int64_t since,
                           int64_t until, int *windows, struct suf_err *err)
{
    const int64_t step = (int64_t)SUF_META_BILLING_WINDOW_DAYS * DAY;
    int rc;

    if (windows)
        *windows = 0;
    if ((rc = check_setup(run->cfg, err)))
        return rc;
    if (since >= until)
        return suf_err_set(err, SUF_ERR_INTERNAL, "billing: an empty span");
    /* at most a year of 90-day windows: the loop is bounded by the span */
    for (int64_t at = since; at < until; at += step) {
        int64_t end = until - at > step ? at + step : until;

        if ((rc = one_window(run, g, at, end, err)))
            return rc;
        if (windows)
            (*windows)++;
        suf_run_count(run, "billing.windows", 1);
    }
    return SUF_OK;
}

int suf_meta_billing_run(struct suf_run *run, int64_t since, int64_t until,
                         struct suf_err *err)
{
    struct suf_graph g;
    char a[32], b[32];
    int windows = 0, rc;

    if ((rc = check_setup(run->cfg, err)) || (rc = suf_graph_open(&g, run, err)))
        return rc;
    rc = suf_meta_billing_fetch(run, &g, since, until, &windows, err);
    suf_graph_close(&g);
    if (!rc)
        suf_info("billing: %s to %s of WhatsApp Business Account %s fetched and imported "
                 "(%d %s)",
                 suf_time_format(since, a, sizeof(a)), suf_time_format(until, b, sizeof(b)),
                 run->cfg->waba_id, windows, windows == 1 ? "request" : "requests");
    return rc;
}
