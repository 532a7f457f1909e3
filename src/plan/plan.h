/*
 * plan.h: who gets a fallback, and why not (DESIGN.md, "Plan").
 *
 * The unit is a recipient: one (campaign, phone).  Only its attempts decide
 * its outcome, and every recipient gets exactly one, stored in `recipients`:
 *
 *   delivered           the first attempt was delivered or read
 *   recovered_by_retry  a later auto-retry was delivered or read
 *   in_flight           the latest attempt has no final status yet
 *   awaiting_retries    the latest attempt failed and the broadcast's
 *                       auto-retries are not over: attempts < 1 + retries
 *                       and now < last attempt + interval + grace
 *   excluded            a rule said no; `reason` names the first one
 *                       (enum suf_reason, in the order they are checked)
 *   fallback            every rule passed: a `fallbacks` row with its fixed
 *                       scenario, the frozen inputs of its messages
 *                       (`fallback_inputs`, see render.h) and its utility
 *                       `sends` row, queued with an empty body (the bytes
 *                       are built when it is claimed; the session parts
 *                       when the customer consents)
 *
 * Attempts are ordered by (attempt, sent_at, id); `attempt` is 0 when the
 * export had no attempt column, and then sent_at alone ranks them.
 *
 * Invariants:
 *  - planning is incremental and idempotent: a rerun recomputes every
 *    recipient of a campaign from its attempts and writes only what
 *    changed, so a second run with the same inputs and time changes nothing;
 *  - a recipient with a fallback keeps it: the fallback is never created
 *    twice, its scenario and the inputs of its messages never change (a
 *    later catalog import or attempt update included), and its outcome
 *    stays `fallback`;
 *  - one transaction per campaign; a campaign is planned wholly or not at all;
 *  - a content hole (a {{n}} value or the header link missing from the
 *    export) makes the recipient excluded:missing_content, with no fallback.
 *
 * Steps for a caller (cmd_plan, cmd_run):
 *  1. suf_plan_run(run, &err): every campaign, or run->campaign only;
 *  2. counts "plan.<outcome>", "plan.excluded.<reason>", "plan.new_fallbacks"
 *     and "plan.permission_template_errors" are added to run->counts.
 */
#ifndef SUF_PLAN_H
#define SUF_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/config.h"
#include "base/context.h"
#include "base/status.h"

enum suf_outcome {
    SUF_OUTCOME_DELIVERED = 0,
    SUF_OUTCOME_RECOVERED,
    SUF_OUTCOME_IN_FLIGHT,
    SUF_OUTCOME_AWAITING,
    SUF_OUTCOME_EXCLUDED,
    SUF_OUTCOME_FALLBACK,
    SUF_OUTCOME_COUNT
};

/* The exclusion reasons, in the order the rules are checked. */
enum suf_reason {
    SUF_REASON_NONE = 0,
    SUF_REASON_FALLBACK_OFF,          /* the campaign's settings say off */
    SUF_REASON_FALLBACK_NOT_ENABLED,  /* they do not say, and [plan] fallback is off */
    SUF_REASON_CAMPAIGN_EXPIRED,
    SUF_REASON_UNKNOWN_TEMPLATE,
    SUF_REASON_NOT_MARKETING,
    SUF_REASON_UNSUPPORTED_TEMPLATE,
    SUF_REASON_OPTED_OUT,
    SUF_REASON_UNDELIVERABLE,
    SUF_REASON_INELIGIBLE_ERROR,
    SUF_REASON_INVALID_PHONE,
    SUF_REASON_MISSING_CONTENT,
    SUF_REASON_CAMPAIGN_CANCELLED, /* `suf cancel`: checked before every other */
    SUF_REASON_COUNT
};

/* "delivered", ..., "fallback" (the value of recipients.outcome). */
const char *suf_plan_outcome_name(enum suf_outcome o);
/* "fallback_off", ... (the value of recipients.reason); "" for NONE. */
const char *suf_plan_reason_name(enum suf_reason r);

/* What the rules know about one recipient, gathered from its attempts. */
struct suf_plan_facts {
    int64_t attempts;   /* how many */
    bool first_ok;      /* the first attempt was delivered or read */
    bool later_ok;      /* a later attempt was delivered or read */
    bool last_failed;   /* the latest attempt failed (else: in flight) */
    int64_t last_at;    /* sent_at of the latest attempt */
    int64_t last_error; /* its error code, 0 when none */
    bool opted_out;     /* a 131050 on any attempt, or the phone in optouts */
    bool phone_valid;   /* the latest attempt's phone_valid */
    /* The template's classification (the catalog's verdict on the template
     * the latest attempt names): only the exclusion rules read it. */
    bool template_known;
    bool template_marketing;
    int scenario;       /* 1..8, 0 when the template is unsupported */
    const char *template_detail; /* why unknown, not marketing or unsupported;
                                  * NULL when none (borrowed) */
};

/* The campaign's settings (campaign row over config) and the decision time. */
struct suf_plan_policy {
    int64_t now;
    bool fallback;
    bool fallback_set; /* the campaign's settings say `fallback` (else the config's) */
    int64_t max_auto_retries;
    int64_t retry_interval_s;
    int64_t grace_s;
    bool has_valid_until;
    int64_t valid_until;
    int64_t cancelled_at; /* when the operator cancelled it (`suf cancel`); 0: never */
    const struct suf_config *cfg; /* eligible codes, treat_131026_as_capping */
};

/* True while the broadcast's own auto-retries are not over (the failed
 * recipient waits). */
bool suf_plan_retries_pending(const struct suf_plan_facts *f, const struct suf_plan_policy *p);
/* When they are over by time: the latest attempt + the retry interval +
 * grace.  An awaiting_retries recipient is decided by the exclusion rules
 * (a fallback, or an exclusion) from then on, or as soon as its attempts
 * reach 1 + max_auto_retries. */
int64_t suf_plan_retries_end(const struct suf_plan_facts *f, const struct suf_plan_policy *p);

/* Whether the campaign's settings stop its fallbacks at p->now:
 * "cancelled" (`suf cancel`), "off" (its settings say fallback off),
 * "not_enabled" (they do not say, and [plan] fallback is off), "expired"
 * (now is past valid_until) or NULL; and why, in words, into buf (at most
 * `size` bytes; "" when NULL is returned). */
const char *suf_plan_policy_stopped(const struct suf_plan_policy *p, char *buf, size_t size);

/* The settings of `campaign` (its campaigns row over run->cfg: fallback,
 * max_auto_retries, retry_interval_hours, valid_until) for decisions at
 * `now`, into *p: what suf_plan_run decides that campaign with. */
int suf_plan_policy_load(struct suf_run *run, const char *campaign, int64_t now,
                         struct suf_plan_policy *p, struct suf_err *err);

/*
 * The pure rules (plan_rules.c: no store, no I/O, no clock).  A decision
 * has two steps, because only the second needs the template's
 * classification, and that is the one fact that costs a catalog look-up:
 *  1. suf_plan_decide_attempts() settles what the attempts alone decide
 *     (delivered, recovered_by_retry, in_flight, awaiting_retries) and
 *     returns true; it returns false when the latest attempt failed and the
 *     auto-retries are over, so the exclusion rules must decide;
 *  2. the caller then classifies the template into f (template_known,
 *     template_marketing, scenario, template_detail) and
 *     suf_plan_decide_rules() checks the exclusion rules in order: EXCLUDED
 *     with the first rule that said no in *reason, or FALLBACK with NONE.
 * suf_plan_decide() is both steps at once, for facts that hold the
 * classification already.  missing_content is not decided here: it needs
 * the message builders (suf_plan_run does it).
 */
bool suf_plan_decide_attempts(const struct suf_plan_facts *f, const struct suf_plan_policy *p,
                              enum suf_outcome *outcome);
enum suf_outcome suf_plan_decide_rules(const struct suf_plan_facts *f,
                                       const struct suf_plan_policy *p, enum suf_reason *reason);
/* The outcome of one recipient, and for EXCLUDED the first rule that said no
 * in *reason (NONE otherwise). */
enum suf_outcome suf_plan_decide(const struct suf_plan_facts *f, const struct suf_plan_policy *p,
                                 enum suf_reason *reason);

/*
 * Writes into buf (at most `size` bytes) why the rules gave `outcome` and
 * `reason`: until when an awaiting recipient waits, the error code of an
 * ineligible one, the template's detail for the template rules, and ""
 * otherwise.  This is recipients.detail (for missing_content, the message
 * builders say what is missing instead).
 */
void suf_plan_detail(const struct suf_plan_facts *f, const struct suf_plan_policy *p,
                     enum suf_outcome outcome, enum suf_reason reason, char *buf, size_t size);

/* The plan stage at the run's clock: every campaign, or run->campaign
 * (SUF_ERR_NOTFOUND when it has no attempts). */
int suf_plan_run(struct suf_run *run, struct suf_err *err);
/* The same, deciding as of `now` (tests pin the time with it). */
int suf_plan_run_at(struct suf_run *run, int64_t now, struct suf_err *err);

/*
 * Writes to `out`, for one recipient: its attempts, the rule that decides it
 * now and the stored outcome, the scenario, and the messages that were or
 * will be sent: each as pretty JSON, then its exact bytes on a line
 * "bytes: ..." (stored, or built from the frozen inputs by the code that
 * will build them when sent).  Reads only.  `phone` is normalised first.
 * SUF_ERR_NOTFOUND when the recipient has no attempts.
 */
int suf_plan_explain(struct suf_run *run, const char *campaign, const char *phone, FILE *out,
                     struct suf_err *err);

/*
 * Writes to `out` every recipient of `campaign` with its stored outcome,
 * reason, scenario and detail, ordered by phone: an aligned table, or with
 * `csv` RFC 4180 CSV with a header line.  Reads only.  SUF_ERR_NOTFOUND
 * when the campaign has no planned recipient.
 */
int suf_plan_explain_list(struct suf_run *run, const char *campaign, int csv, FILE *out,
                          struct suf_err *err);

#endif /* SUF_PLAN_H */
