/*
 * plan_rules.c: the rules that give a recipient its outcome (see plan.h and
 * DESIGN.md, "Plan"), and the names plan stores for outcomes and reasons.
 *
 * The rules are pure: they read facts already gathered from the attempts
 * and a template already classified, and the campaign's settings with the
 * time of the decision.  They touch no store and do no I/O, so every rule
 * and its order can be tested from a table.  plan.c gathers the facts,
 * loads and classifies the templates, asks the rules and writes what they
 * decided; plan_explain.c prints it.
 */
#include <inttypes.h>
#include <stdio.h>

#include "base/timeutil.h"
#include "base/util.h"
#include "plan/plan.h"
#include "base/banned.h"

#define CODE_OPTED_OUT 131050
#define CODE_UNDELIVERABLE 131026
#define CODE_CAPPED 131049

static const char *const outcome_names[SUF_OUTCOME_COUNT] = {
    "delivered", "recovered_by_retry", "in_flight", "awaiting_retries", "excluded", "fallback",
};

static const char *const reason_names[SUF_REASON_COUNT] = {
    "",
    "fallback_off",
    "fallback_not_enabled",
    "campaign_expired",
    "unknown_template",
    "not_marketing",
    "unsupported_template",
    "opted_out",
    "undeliverable",
    "ineligible_error",
    "invalid_phone",
    "missing_content",
    "campaign_cancelled",
};

const char *suf_plan_outcome_name(enum suf_outcome o)
{
    return (unsigned)o < SUF_OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

const char *suf_plan_reason_name(enum suf_reason r)
{
    return (unsigned)r < SUF_REASON_COUNT ? reason_names[r] : "unknown";
}

int64_t suf_plan_retries_end(const struct suf_plan_facts *f, const struct suf_plan_policy *p)
{
    return f->last_at + p->retry_interval_s + p->grace_s;
}

bool suf_plan_retries_pending(const struct suf_plan_facts *f, const struct suf_plan_policy *p)
{
    return f->attempts < 1 + p->max_auto_retries && p->now < suf_plan_retries_end(f, p);
}

const char *suf_plan_policy_stopped(const struct suf_plan_policy *p, char *buf, size_t size)
{
    char until[32];

    if (size > 0)
        buf[0] = '\0';
    if (p->cancelled_at) {
        suf_strlcpy(buf, "cancelled by the operator", size);
        return "cancelled";
    }
    if (!p->fallback && p->fallback_set) {
        suf_strlcpy(buf, "fallback is off for this campaign", size);
        return "off";
    }
    if (!p->fallback) {
        suf_strlcpy(buf,
                    "fallback is not enabled for this campaign (no setting, and [plan] fallback "
                    "is off): set fallback to on in its settings, or [plan] fallback = on",
                    size);
        return "not_enabled";
    }
    if (p->has_valid_until && p->now > p->valid_until) {
        snprintf(buf, size, "valid_until %s has passed",
                 suf_time_format(p->valid_until, until, sizeof(until)));
        return "expired";
    }
    return NULL;
}

/* The error code as the rules read it: old exports reported the per-user
 * marketing limit as 131026, and a switch says so. */
static int64_t effective_code(const struct suf_plan_facts *f, const struct suf_plan_policy *p)
{
    if (f->last_error == CODE_UNDELIVERABLE && p->cfg && p->cfg->treat_131026_as_capping)
        return CODE_CAPPED;
    return f->last_error;
}

static enum suf_reason first_failing_rule(const struct suf_plan_facts *f,
                                          const struct suf_plan_policy *p)
{
    int64_t code = effective_code(f, p);

    if (p->cancelled_at)
        return SUF_REASON_CAMPAIGN_CANCELLED;
    /* Smart Utility Fallback applies when it is enabled: a campaign whose
     * settings do not say is off by the config's default, and says so
     * apart from one switched off on purpose. */
    if (!p->fallback)
        return p->fallback_set ? SUF_REASON_FALLBACK_OFF : SUF_REASON_FALLBACK_NOT_ENABLED;
    if (p->has_valid_until && p->now > p->valid_until)
        return SUF_REASON_CAMPAIGN_EXPIRED;
    if (!f->template_known)
        return SUF_REASON_UNKNOWN_TEMPLATE;
    if (!f->template_marketing)
        return SUF_REASON_NOT_MARKETING;
    if (f->scenario < 1 || f->scenario > 8)
        return SUF_REASON_UNSUPPORTED_TEMPLATE;
    if (f->opted_out || f->last_error == CODE_OPTED_OUT)
        return SUF_REASON_OPTED_OUT;
    if (code == CODE_UNDELIVERABLE)
        return SUF_REASON_UNDELIVERABLE;
    if (code == 0 || !p->cfg || !suf_config_code_eligible(p->cfg, code))
        return SUF_REASON_INELIGIBLE_ERROR;
    if (!f->phone_valid)
        return SUF_REASON_INVALID_PHONE;
    return SUF_REASON_NONE;
}

bool suf_plan_decide_attempts(const struct suf_plan_facts *f, const struct suf_plan_policy *p,
                              enum suf_outcome *outcome)
{
    if (f->first_ok)
        *outcome = SUF_OUTCOME_DELIVERED;
    else if (f->later_ok)
        *outcome = SUF_OUTCOME_RECOVERED;
    else if (!f->last_failed)
        *outcome = SUF_OUTCOME_IN_FLIGHT;
    else if (suf_plan_retries_pending(f, p))
        *outcome = SUF_OUTCOME_AWAITING;
    else
        return false;
    return true;
}

enum suf_outcome suf_plan_decide_rules(const struct suf_plan_facts *f,
                                       const struct suf_plan_policy *p, enum suf_reason *reason)
{
    *reason = first_failing_rule(f, p);
    return *reason ? SUF_OUTCOME_EXCLUDED : SUF_OUTCOME_FALLBACK;
}

enum suf_outcome suf_plan_decide(const struct suf_plan_facts *f, const struct suf_plan_policy *p,
                                 enum suf_reason *reason)
{
    enum suf_outcome o;

    *reason = SUF_REASON_NONE;
    if (suf_plan_decide_attempts(f, p, &o))
        return o;
    return suf_plan_decide_rules(f, p, reason);
}

void suf_plan_detail(const struct suf_plan_facts *f, const struct suf_plan_policy *p,
                     enum suf_outcome outcome, enum suf_reason reason, char *buf, size_t size)
{
    char until[32];

    if (reason >= SUF_REASON_UNKNOWN_TEMPLATE && reason <= SUF_REASON_UNSUPPORTED_TEMPLATE) {
        suf_strlcpy(buf, f->template_detail ? f->template_detail : "", size);
    } else if (outcome == SUF_OUTCOME_AWAITING) {
        suf_time_format(suf_plan_retries_end(f, p), until, sizeof(until));
        snprintf(buf, size,
                 "auto-retries not over: %" PRId64 " of %" PRId64 " attempts; waits until %s",
                 f->attempts, 1 + p->max_auto_retries, until);
    } else if (reason == SUF_REASON_FALLBACK_NOT_ENABLED) {
        suf_strlcpy(buf,
                    "the campaign's settings do not enable fallback and [plan] fallback is "
                    "off: set fallback to on in its campaign settings, or [plan] fallback = on",
                    size);
    } else if (reason == SUF_REASON_INELIGIBLE_ERROR) {
        snprintf(buf, size, f->last_error ? "error %" PRId64 : "no error code", f->last_error);
    } else if (size > 0) {
        buf[0] = '\0';
    }
}
