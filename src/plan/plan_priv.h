/*
 * plan_priv.h: what plan.c shares with plan_explain.c.  Not a public
 * interface.
 *
 * plan.c scans a campaign's attempts, asks the rules (plan_rules.c) and
 * writes what they decide.  --explain asks the same scan for one recipient,
 * with nothing written, and prints the decision; it reads it through a
 * preview, so that the printer never sees the scan, its statements or the
 * campaign's settings.
 *
 * Steps for the printer:
 *  1. suf_plan_preview_open(&pv, run, campaign, now, &err): the campaign's
 *     settings;
 *  2. suf_plan_preview_decide(pv, phone, &d, &err): one recipient's
 *     attempts, decided as `suf plan` would decide them at `now`;
 *  3. suf_plan_preview_free(pv), also after a failed step.
 */
#ifndef SUF_PLAN_PRIV_H
#define SUF_PLAN_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/context.h"
#include "base/status.h"
#include "plan/plan.h"
#include "plan/scenario.h"

/* A template as a campaign's attempts name it, loaded from the catalog and
 * classified once per campaign. */
struct suf_plan_tpl {
    char *name;          /* as the attempts give it */
    char *lang;          /* as the attempts give it; NULL when the export had none */
    bool known;
    bool marketing;
    int scenario;          /* 1..8, 0 unsupported */
    char detail[256];      /* why unknown, not marketing or unsupported */
    struct suf_template t; /* parsed when known */
    char *json;            /* its catalog JSON when known, as stored */
    int64_t version_id;    /* its template_versions row, once a fallback needed it */
};

/* What was decided for one recipient. */
struct suf_plan_decision {
    enum suf_outcome outcome;
    enum suf_reason reason;
    char detail[512];
    /* The template the exclusion rules read; NULL when the attempts alone
     * decided.  Owned by the planner's cache. */
    struct suf_plan_tpl *tpl;
    int64_t fallback_id; /* existing or new; 0 when none */
    bool fallback_new;
    /* A new fallback (--explain only): the utility body, then the session
     * parts, as they will be built from its frozen inputs. */
    json_t *bodies[3];
    size_t nbodies;
};

struct suf_plan_preview; /* opaque: plan.c's */

/* Loads the settings of `campaign` (campaign row over config) for decisions
 * at `now`.  *pv is NULL on failure; else the caller frees it with
 * suf_plan_preview_free. */
int suf_plan_preview_open(struct suf_plan_preview **pv, struct suf_run *run,
                          const char *campaign, int64_t now, struct suf_err *err);
/* Decides the recipient `phone` (normalised) as `suf plan` would, and writes
 * nothing; once per preview.  *d is the decision (a cleared one when the
 * recipient has no attempts), which pv owns. */
int suf_plan_preview_decide(struct suf_plan_preview *pv, const char *phone,
                            const struct suf_plan_decision **d, struct suf_err *err);
/* Frees pv and all it holds; accepts NULL. */
void suf_plan_preview_free(struct suf_plan_preview *pv);

#endif /* SUF_PLAN_PRIV_H */
