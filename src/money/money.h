/*
 * money.h: what a message costs, from Meta's rate cards and the market map.
 *
 * Invariants:
 *  - every amount is an int64_t count of micro-units of the card's currency
 *    (amount.h); nothing here ever holds money in floating point;
 *  - a "day" is a count of UTC days since 1970-01-01 (t / 86400 rounded
 *    down), so "the card in effect on the day it was delivered" is an
 *    integer comparison;
 *  - a phone's market is the one of its longest matching calling-code prefix
 *    whose `since` is on or before the day (markets split out on 2026-10-01
 *    have a dated row beside their undated group row); a phone no prefix
 *    matches falls in the "Other" market when the map has one;
 *  - the map is the one `suf import markets` stored, or, when the store has
 *    none, the map built into suf from fixtures/markets.csv
 *    (money_builtin.h): a fresh store prices by market too;
 *  - the card in effect on a day is the latest card of the currency whose
 *    effective date is on or before that day;
 *  - only delivered (delivered or read) messages cost anything: Meta bills
 *    delivered messages only.
 *
 * Two views of every charge:
 *  - the policy view: what the business resells a message as
 *    (config [billing]: utility_billed_as, session_billed_as,
 *    session_billing).  Under session_billing = per_conversion a fallback's
 *    session content is billed once, at its first delivered part, and only
 *    when the fallback converted: an S8 whose first part was delivered and
 *    whose second failed (or has not arrived yet) is not a conversion, and
 *    the policy does not bill it.  Meta's view still counts its parts;
 *  - Meta's view: utility templates at the Utility column; session
 *    (non-template) messages at the Service column from 2026-10-01, the
 *    Utility column where Service is n/a, and nothing before; broadcast
 *    templates at their category's column.  Where a status webhook carried
 *    `pricing`, Meta's view follows it, before 2026-10-01 as after
 *    (billable false: nothing; billable: its category's column, or the
 *    message's own when the category is unknown, with no free-before-
 *    2026-10-01 rule, since Meta said it bills the message) and the charge
 *    is marked as from the webhook; otherwise it is marked as estimated from
 *    delivery, and the date rule applies.
 *
 * Steps:
 *  1. suf_money_load(&m, store, currency, &err) reads every card of the
 *     currency and the market map into memory (a few hundred rows;
 *     money_load.c, the only file here that reads the store: the model and
 *     every look-up below are pure, and money_model.h builds one without a
 *     store);
 *  2. suf_money_market() / suf_money_card_rate() / suf_money_cost() as needed;
 *  3. suf_money_free(m).
 * The loaded tables are only read after step 1, so a struct suf_money may be
 * shared by any number of readers.
 */
#ifndef SUF_MONEY_H
#define SUF_MONEY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "base/status.h"
#include "store/store.h"

/* The rate-card columns a message can be billed at. */
enum suf_category {
    SUF_CAT_MARKETING = 0,
    SUF_CAT_UTILITY,
    SUF_CAT_AUTHENTICATION,
    SUF_CAT_AUTHENTICATION_INTL,
    SUF_CAT_SERVICE,
    SUF_CAT_COUNT
};

/* 2026-10-01, from which Meta bills service messages. */
#define SUF_SERVICE_BILLED_FROM_DAY 20727

/* "marketing", "UTILITY", "authentication_international", "service"... to a
 * category; -1 when it is none of them. */
int suf_category_parse(const char *s);
/* The lowercase name of a category ("authentication_international"). */
const char *suf_category_name(int cat);

/* UTC day number of `t` (seconds), rounding towards the past. */
int32_t suf_day_of(int64_t t);
/* Parses a strict "YYYY-MM-DD" calendar date into a day number; SUF_ERR_INPUT
 * when it is not one. */
int suf_day_parse(const char *s, int32_t *day);
/* Writes a day number as "YYYY-MM-DD" (buf of at least 11 bytes). */
char *suf_day_format(int32_t day, char *buf, size_t size);

/* The billing policy, parsed from the config once. */
struct suf_billing {
    int utility_as;      /* enum suf_category */
    int session_as;      /* enum suf_category */
    bool per_conversion; /* a conversion bills once, whatever its parts */
};

/* Fills `b` from cfg's [billing] keys (validated by the config already). */
void suf_billing_from_config(struct suf_billing *b, const struct suf_config *cfg);

/* One rate card, as loaded. */
struct suf_money_card {
    int64_t id;        /* rate_cards.id */
    int32_t effective; /* day number */
    char date[11];     /* "YYYY-MM-DD" */
    int64_t file_id;   /* files.id, 0 when unknown */
};

struct suf_money; /* opaque; see suf_money_load */

/* Loads the cards of `currency` and the market map: the store's, else the
 * built-in one.  An empty store loads fine (no cards: everything is
 * unpriced).  The caller frees the result with suf_money_free. */
int suf_money_load(struct suf_money **out, struct suf_store *st, const char *currency,
                   struct suf_err *err);
void suf_money_free(struct suf_money *m);

const char *suf_money_currency(const struct suf_money *m);

/* Where the market map came from.  Strings live as long as the model. */
struct suf_money_map_source {
    bool builtin;       /* the store had no imported map: suf's own */
    const char *path;   /* imported: the file as it was given; "" when unknown */
    const char *sha256; /* hex: the imported file's, or the built-in map's
                         * version (its CSV's); "" when unknown */
};
void suf_money_map_source(const struct suf_money *m, struct suf_money_map_source *out);
/* Market ids run from 0 to suf_money_nmarkets()-1; names are sorted. */
int suf_money_nmarkets(const struct suf_money *m);
const char *suf_money_market_name(const struct suf_money *m, int market);
/* The market id of a name, -1 when unknown. */
int suf_money_market_id(const struct suf_money *m, const char *name);

/* The market of E.164 digits `phone` on `day`; -1 when nothing matches and
 * there is no "Other" market. */
int suf_money_market(const struct suf_money *m, const char *phone, int32_t day);
/* The same, and *matched says whether a prefix of the map matched: false
 * when the phone fell in "Other" (or in no market) for want of one, which a
 * report counts instead of passing over.  A prefix the map itself puts in
 * "Other" is a match. */
int suf_money_market_match(const struct suf_money *m, const char *phone, int32_t day,
                           bool *matched);

int suf_money_ncards(const struct suf_money *m);
const struct suf_money_card *suf_money_card(const struct suf_money *m, int index);
/* The index of the card in effect on `day`, -1 when none is. */
int suf_money_card_for(const struct suf_money *m, int32_t day);

/* The rate of `market` for `cat` on card `card`: false when the card has no
 * row for the market or the cell is n/a. */
bool suf_money_card_rate(const struct suf_money *m, int card, int market, int cat,
                         int64_t *micros);

/* What a message is, for costing. */
enum suf_msg_kind {
    SUF_MSG_BROADCAST = 0, /* the campaign's own template (category: tmpl_cat) */
    SUF_MSG_UTILITY,       /* suf's permission template */
    SUF_MSG_SESSION,       /* a session (non-template) part */
};

struct suf_msg {
    int kind;            /* enum suf_msg_kind */
    int tmpl_cat;        /* SUF_MSG_BROADCAST: the template's category */
    const char *phone;   /* E.164 digits */
    bool delivered;      /* delivered or read */
    int64_t delivered_at;
    /* SUF_MSG_SESSION, for per_conversion (the policy view): */
    bool converted;      /* its fallback converted */
    bool part_billed;    /* an earlier part of the same fallback was delivered,
                          * so the conversion's one charge is taken */
    bool has_pricing;    /* a status webhook carried pricing */
    bool pricing_billable;
    const char *pricing_category; /* may be NULL */
};

struct suf_charge {
    int64_t policy;    /* micros */
    int64_t meta;      /* micros */
    int market;        /* -1 unknown */
    int card;          /* index of the card used, -1 none */
    bool billed;       /* delivered: a charge exists (it may still be 0) */
    bool policy_billed; /* the policy view bills it (per_conversion: not every
                         * session part) */
    int policy_cat;     /* billed: the category the policy bills it as */
    int meta_cat;       /* billed: the one Meta billed it as; -1 when a
                         * webhook said it is not billable */
    bool from_webhook; /* Meta's view came from webhook pricing */
    bool unpriced;     /* billed, but no card or no rate: counted as 0 */
};

/* Costs one message under `b` (see the file comment for the rules). */
void suf_money_cost(const struct suf_money *m, const struct suf_billing *b,
                    const struct suf_msg *msg, struct suf_charge *out);

#endif /* SUF_MONEY_H */
