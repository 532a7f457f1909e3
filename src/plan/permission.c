/*
 * permission.c: whether a permission template can ask permission (see
 * permission.h), for the plan's warning and the send stage's gate alike.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/timeutil.h"
#include "base/util.h"
#include "plan/permission.h"
#include "plan/scenario.h"
#include "store/store.h"
#include "base/banned.h"

/* " (since <time>; <reason>)" of a refusal, or "" when neither is known;
 * without the reason when `with_reason` is false (the reason is the last
 * status event's, not the category's). */
static void live_since(const struct suf_template_live *live, bool with_reason, char *buf, size_t size)
{
    char t[40];
    bool reason = with_reason && live->reason && *live->reason && strcmp(live->reason, "NONE");

    if (!live->at && !reason)
        snprintf(buf, size, "%s", "");
    else
        snprintf(buf, size, " (%s%s%s%s)", live->at ? "since " : "",
                 live->at ? suf_time_format(live->at, t, sizeof(t)) : "",
                 live->at && reason ? "; " : "", reason ? live->reason : "");
}

/*
 * Why a campaign's permission template cannot ask permission, or NULL when
 * it can.  suf_utility_check decides, on the catalog entry as Meta gave it
 * (so a template without its quick replies is refused too) with its status
 * and category as last heard (`live`: a webhook may have paused or
 * re-categorised it since the catalog was read); the words name the status
 * or category, as the user sees them in Meta's manager, and since when.
 * `json` is NULL when the catalog has no such template.
 */
const char *suf_permission_refusal(const char *json, const struct suf_template_live *live,
                                   int no_button, char *why, size_t size)
{
    static const char prefix[] = "utility template ";
    struct suf_template t;
    struct suf_err perr = SUF_ERR_INIT;
    const char *check = NULL;
    char since[200], since_cat[80];

    if (!json)
        return "is not in the template catalog";
    memset(&t, 0, sizeof(t));
    live_since(live, true, since, sizeof(since));
    live_since(live, false, since_cat, sizeof(since_cat));
    if (suf_template_parse(json, &t, &perr)) {
        snprintf(why, size, "has a catalog entry that cannot be read (%s)", perr.msg);
        suf_template_release(&t);
        return why;
    }
    if (live->status) {
        free(t.status);
        t.status = suf_xstrdup(live->status);
    }
    if (live->category) {
        free(t.category);
        t.category = suf_xstrdup(live->category);
    }
    if (suf_utility_check(&t, no_button, &check) == SUF_OK) {
        why = NULL;
    } else if (!suf_streq_fold(t.status, "APPROVED")) {
        snprintf(why, size, "is %s, not APPROVED%s", t.status ? t.status : "without a status",
                 since);
    } else if (!suf_streq_fold(t.category, "UTILITY")) {
        snprintf(why, size, "is in category %s, not UTILITY (re-categorised?)%s",
                 t.category ? t.category : "(none)", since_cat);
    } else {
        check = check ? check : "cannot ask permission";
        if (!strncmp(check, prefix, sizeof(prefix) - 1))
            check += sizeof(prefix) - 1;
        snprintf(why, size, "%s", check);
    }
    suf_template_release(&t);
    return why;
}

int suf_permission_check(struct suf_store *st, const char *name, const char *language,
                         int no_button, const char **refusal, char *why, size_t size,
                         struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        st,
        "SELECT json, live_status, live_category, live_reason, live_at FROM templates"
        " WHERE name = ?1 AND language = ?2",
        err);
    int step;

    *refusal = NULL;
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, name);
    suf_bind_text(s, 2, language);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const struct suf_template_live live = {(const char *)sqlite3_column_text(s, 1),
                                               (const char *)sqlite3_column_text(s, 2),
                                               (const char *)sqlite3_column_text(s, 3),
                                               sqlite3_column_int64(s, 4)};

        *refusal = suf_permission_refusal((const char *)sqlite3_column_text(s, 0), &live,
                                          no_button, why, size);
    } else if (step == SQLITE_DONE) {
        const struct suf_template_live none = {NULL, NULL, NULL, 0};

        *refusal = suf_permission_refusal(NULL, &none, no_button, why, size);
    }
    sqlite3_finalize(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? SUF_OK
                                                     : suf_store_fail(st, err, "templates");
}
