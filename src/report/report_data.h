/*
 * report_data.h: what a workbook says, as data: one campaign's figures read
 * out of the store and costed.  The sheets (report_sheets.h) render it;
 * nothing here knows of cells.
 *
 * Invariants:
 *  - every figure of a workbook is computed here, once; money stays int64
 *    micros in both views (the billing policy's and Meta's own);
 *  - a campaign is read in a few sequential scans, and its fallbacks are
 *    handed to a callback one at a time, already costed, so that a million
 *    of them cost no memory: only their sums stay in struct rep_campaign;
 *  - the as-of time is the run clock's base, so the same store and the same
 *    --now give the same figures;
 *  - unknown is not zero: a charge without a rate (no card for its day, or
 *    n/a for its market and category: suf_charge.unpriced) adds nothing to
 *    any amount here, in either view, and is counted in the `unpriced` of
 *    the amount it would have been part of;
 *  - a charge belongs to the market of its phone on the day it was
 *    delivered, the day that also chose its rate card; a recipient to the
 *    market of its phone on the day of its broadcast; a fallback to the
 *    market of its first charge (its creation day when it has none).
 *
 * Steps for a caller (report.c):
 *  1. rep_ctx_init(&ctx, run, &err); its rep_ctx_release() comes last;
 *  2. for each campaign: rep_campaign_init(c, &ctx, id), then
 *     rep_scan_campaign() for everything but the fallbacks, then
 *     rep_scan_left_out() for the excluded recipients and for those still
 *     waiting, each with a callback per recipient, then
 *     rep_scan_fallbacks() with a callback for each fallback; the totals
 *     are complete once it returns;
 *  3. rep_campaign_trim(c) keeps only what the portfolio needs;
 *     rep_campaign_release(c) frees the rest.
 */
#ifndef SUF_REPORT_DATA_H
#define SUF_REPORT_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "base/context.h"
#include "money/money.h"
#include "store/fsm.h"

#define REP_NSCEN 8

/* The funnel's steps, from recipients to conversions. */
enum rep_funnel {
    REP_RECIPIENTS,        /* every recipient of the broadcast */
    REP_FAILED,            /* failed after retries: excluded or fallback */
    REP_FALLBACKS,         /* fallbacks planned */
    REP_UTILITY_SENT,      /* the permission message went out */
    REP_UTILITY_DELIVERED, /* ... and was delivered */
    REP_CONSENTED,         /* the customer tapped "yes" */
    REP_SESSION_SENT,      /* the content went out */
    REP_CONVERTED,         /* ... and its last message was delivered */
    REP_NFUNNEL
};

/* What the report reads from: the run, its rate cards and its clock. */
struct rep_ctx {
    struct suf_run *run;
    struct suf_money *money; /* owned */
    struct suf_billing bill;
    int64_t as_of;
    int32_t as_of_day;
    char as_of_date[11]; /* "YYYY-MM-DD", for file names */
    char *market_map;    /* owned: the market map in use, in words (Inputs) */
};

/* Both views of an amount, micros, and the charges behind it. */
struct rep_money {
    int64_t policy;
    int64_t meta;
    int64_t charges;  /* every charge, priced or not */
    int64_t unpriced; /* charges without a rate, in neither sum */
};

/* Adds v to *to: both views and both counts. */
void rep_money_add(struct rep_money *to, const struct rep_money *v);

/* Funnel counts of one market. */
struct rep_market {
    int64_t recipients, failed, fallbacks, utility_delivered, converted, broadcast_delivered;
};

/* Whose view a charge is counted in. */
enum rep_view { REP_VIEW_POLICY, REP_VIEW_META };

/* What Meta billed as, beyond the card's categories (enum suf_category). */
#define REP_NOT_BILLABLE SUF_CAT_COUNT /* a status webhook said "not billable" */

/*
 * One row of rates applied: the messages of one market, priced with one
 * card, in one view, of one kind, billed as one category at one rate.  Its
 * cost is messages * rate, exactly; an unpriced row has no rate and no cost.
 */
struct rep_rate_row {
    int market;          /* -1: no market matched */
    int card;            /* -1: no card for the day */
    int view;            /* enum rep_view */
    int kind;            /* enum suf_msg_kind */
    int billed_as;       /* enum suf_category, or REP_NOT_BILLABLE */
    bool unpriced;
    int64_t rate;        /* micros per message; 0 when unpriced */
    int64_t messages;
    int next;            /* report_data.c's chain while scanning */
};

struct rep_scenario {
    int64_t fallbacks, utility_sent, utility_delivered, consented, session_sent, converted;
    struct rep_money utility, session;
};

struct rep_reason {
    char *reason; /* owned */
    int64_t count;
};

/* One input file behind the numbers (a row of the Inputs sheet). */
struct rep_file {
    char *kind, *path, *sha256; /* owned */
    int64_t rows, rejects, imported_at;
};

struct rep_campaign {
    char *id;   /* owned, like every pointer here */
    char *name;
    char safe[96];
    char *relpath; /* the workbook, relative to the reports folder (report.c's) */
    int64_t funnel[REP_NFUNNEL];
    int64_t states[SUF_FB_STATE_COUNT + 1]; /* by enum suf_fb_state; the last: any other */
    int64_t broadcast_delivered, utility_delivered_msgs, session_delivered_msgs;
    struct rep_money broadcast; /* the same in both views */
    struct rep_money utility, session;
    /* Every charge is one of: priced from webhook pricing, priced from the
     * card (estimated), or unpriced. */
    int64_t charges_webhook, charges_estimated, charges_unpriced, resends;
    /* Fallbacks whose session was delivered, in part or whole, that did not
     * convert (an S8 whose second part failed): per_conversion does not
     * bill them; their session's cost in Meta's view. */
    int64_t unconverted_sessions;
    struct rep_money unconverted_session; /* their session charges, both views */
    int64_t no_market;       /* its phones that no prefix of the market map matches */
    char *no_market_example; /* the first of them (digits), NULL when none */
    struct rep_reason *reasons; /* plan's, in its order, then any other seen, sorted */
    int nreasons;
    struct rep_market *markets; /* nmarkets + 1: the last is "Unknown" */
    struct rep_rate_row *rates; /* sorted by market name, card date, view, kind,
                                   billed as, rate once rep_scan_fallbacks returns */
    int nrates, rates_alloc;
    int *rate_slots;            /* report_data.c's index into rates while scanning */
    struct rep_scenario scen[REP_NSCEN + 1]; /* the last: any other */
    int64_t *card_charges;                   /* charges priced per card */
    struct rep_file *files;                  /* the delivery exports that hold its
                                                attempts, and every other input */
    int nfiles;
};

/* One fallback, costed, as the Fallbacks sheet shows it.  Its strings live
 * until the callback returns. */
struct rep_fallback {
    int64_t id;
    const char *phone, *template_name, *scenario, *state;
    const char *held_why; /* blocked or cancelled: why, in words; NULL otherwise */
    int market; /* of its first charge; of its creation day when none */
    int64_t created_at, state_at, utility_sent_at, utility_delivered_at, consented_at,
        declined_at, session_sent_at, converted_at; /* 0: none */
    struct rep_money utility, session;
    int charges, from_webhook, resends; /* from_webhook: priced charges only */
    int session_delivered;              /* session parts delivered */
};

/* Called for each fallback in id order; a non-zero return stops the scan
 * and is returned. */
typedef int (*rep_fallback_fn)(void *user, const struct rep_fallback *fb, struct suf_err *err);

/* The recipients a left-out list holds. */
enum rep_left {
    REP_LEFT_EXCLUDED, /* excluded by a rule: never a fallback */
    REP_LEFT_WAITING,  /* awaiting_retries or in_flight: decided at a later run */
};

/* One recipient without a fallback, as the Excluded recipients and Waiting
 * recipients sheets show it.  Its strings live until the callback returns. */
struct rep_left_out {
    const char *phone;
    const char *outcome;       /* "excluded", "awaiting_retries", "in_flight" */
    const char *reason;        /* excluded: the rule's id ("opted_out"); else "" */
    const char *detail;        /* plan's detail ("error 368"), "" when none */
    const char *template_name; /* of the latest attempt, "" when none */
    int market;                /* on its last attempt's day, as the funnel counts it */
    bool has_error;
    int64_t error_code;      /* of the latest attempt, when has_error */
    int64_t attempts;        /* the broadcast's attempts so far */
    int64_t max_attempts;    /* waiting: 1 + the campaign's auto-retries */
    int64_t last_attempt_at; /* 0: unknown */
    int64_t eligible_at;     /* awaiting_retries: when its retries are over (plan's
                              * rule, suf_plan_retries_end); 0: not known, as for
                              * in_flight, which waits for a final status */
};

/* Called for each recipient of a left-out list in phone order; a non-zero
 * return stops the scan and is returned. */
typedef int (*rep_left_fn)(void *user, const struct rep_left_out *r, struct suf_err *err);

/* Fills ctx for `run`: loads the rate cards of the configured currency, and
 * takes the as-of time from the run's clock. */
int rep_ctx_init(struct rep_ctx *ctx, struct suf_run *run, struct suf_err *err);
void rep_ctx_release(struct rep_ctx *ctx);

void rep_campaign_init(struct rep_campaign *c, const struct rep_ctx *ctx, const char *id);
/* Frees what the portfolio does not need: reasons, markets, rates, cards,
 * files. */
void rep_campaign_trim(struct rep_campaign *c);
void rep_campaign_release(struct rep_campaign *c);

/* Whether any table names the campaign `id`. */
int rep_campaign_exists(struct rep_ctx *ctx, const char *id, bool *yes, struct suf_err *err);
/* The next campaign id after `after` (`after_len` bytes; "" for the first)
 * into *out (the caller frees it), NULL when there is none.  An id is data:
 * it may hold a NUL, so its length is *out_len. */
int rep_next_campaign(struct rep_ctx *ctx, const char *after, int after_len, char **out,
                      int *out_len, struct suf_err *err);

/* Everything of the campaign but its fallbacks: its name, the broadcast,
 * the recipients and exclusions, the phones with no market, and the input
 * files. */
int rep_scan_campaign(struct rep_ctx *ctx, struct rep_campaign *c, struct suf_err *err);
/* Counts the distinct phones of campaign `c` that no prefix of the market
 * map matches on the day of their last attempt (suf_money_market_match)
 * into c->no_market,
 * and keeps the first, in phone order, in c->no_market_example. */
int rep_scan_no_market(struct rep_ctx *ctx, struct rep_campaign *c, struct suf_err *err);
/* The recipients of campaign `c` that `which` names, handed to `fn` one at
 * a time, in phone order: a million of them cost no memory. */
int rep_scan_left_out(struct rep_ctx *ctx, const struct rep_campaign *c, enum rep_left which,
                      rep_left_fn fn, void *user, struct suf_err *err);
/* The fallbacks with their sends, costed, added to the campaign's sums and
 * handed to `fn` one at a time.  Once it returns, c->rates is complete and
 * sorted. */
int rep_scan_fallbacks(struct rep_ctx *ctx, struct rep_campaign *c, rep_fallback_fn fn,
                       void *user, struct suf_err *err);

/* --- Meta billed vs estimate (the portfolio) -------------------------------- */

/*
 * One row of "Meta billed vs estimate": one of Meta's buckets (a day in the
 * account's time zone, so not always from midnight UTC), one market, one
 * category.  Meta's own figures beside what suf knows of the same messages:
 * its own sends and the broadcasts it imported, each counted in the bucket
 * that holds its delivery time (Meta bills a message when it is delivered)
 * and costed in Meta's view.
 */
struct rep_billed_row {
    int64_t start, end; /* Meta's bucket [start, end), UTC seconds */
    char *market;       /* owned: a market's name, or words for none */
    char *category;     /* owned: suf's name ("utility"), or Meta's own word
                         * ("MARKETING_LITE") for a category suf does not know */
    bool compared;      /* suf knows the market and the category: it could have
                         * counted messages here */
    int64_t meta_volume;
    bool meta_cost_given; /* false: Meta gave no cost for some of it (an account
                           * on a partner's credit line); never read as 0 */
    int64_t meta_cost;    /* micros, when given */
    struct rep_money sent;      /* suf's utility and session messages (.meta) */
    struct rep_money broadcast; /* the broadcasts' delivered attempts (.meta) */
    int64_t other;         /* meta_volume - sent - broadcast: Meta's other
                            * traffic, and the count difference; below 0 when
                            * suf counts more than Meta */
    bool diff_known;       /* Meta gave a cost, in suf's currency, and every
                            * charge of suf's was priced */
    int64_t diff;          /* meta_cost - sent.meta - broadcast.meta, micros */
    bool flag_count, flag_cost; /* above the config's thresholds */
    int bucket, market_key, cat_key; /* report_data.c's, while scanning */
};

/* A span of time Meta's billing was fetched for, or was not. */
struct rep_span {
    int64_t start, end;
};

/* The sheet's figures, and what its note says. */
struct rep_billed {
    struct rep_billed_row *rows; /* sorted by bucket, market, category */
    int nrows, alloc;
    char *currency;        /* owned: Meta's, as the billing says (NULL: not said) */
    bool currency_differs; /* ... and not suf's: costs are not compared */
    bool phone_dimension;  /* Meta broke its figures down by business number */
    int64_t other_numbers; /* Meta's messages of other numbers, left out */
    int64_t meta_free;     /* Meta's messages of a FREE_ pricing type, left out */
    int64_t suf_free;      /* suf's that a webhook said were not billable */
    int64_t not_fetched;   /* suf's billed messages in no fetched span */
    int64_t between;       /* ... in a fetched span but in no bucket of Meta's */
    struct rep_span *fetched, *gaps; /* merged spans, and the gaps between them */
    int nfetched, ngaps;
};

/* Reads meta_billing and meta_billing_periods, and every billed message of
 * suf's, into b (which the caller releases with rep_billed_release, even on
 * failure).  No billing rows: b->nrows is 0, and the sheet is not written. */
int rep_scan_meta_billed(struct rep_ctx *ctx, struct rep_billed *b, struct suf_err *err);
void rep_billed_release(struct rep_billed *b);

#endif /* SUF_REPORT_DATA_H */
