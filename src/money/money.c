/*
 * money.c: costing messages from rate cards and the market map (see money.h):
 * categories, days, the pricing model and its look-ups, and the costing
 * rules.  Pure: it never touches the store.  money_load.c fills the model
 * from the store through the builder of money_model.h, and unit tests fill
 * it from literals.
 *
 * The model is a few small sorted arrays: the market names (interned, so a
 * market is an int), the calling-code prefixes, and per card a dense
 * [market][category] matrix of micros.  A lookup is then a handful of
 * binary searches, cheap enough to run for every message of a
 * million-fallback campaign.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "base/util.h"
#include "money/money.h"
#include "money/money_model.h"
#include "base/banned.h"

#define NO_RATE INT64_MIN
#define NO_SINCE INT32_MIN
#define PREFIX_MAX 16

struct prefix {
    char digits[PREFIX_MAX];
    int32_t since; /* NO_SINCE: always */
    int market;
};

struct suf_money {
    char currency[16];
    char **names; /* sorted */
    int nnames, names_alloc;
    struct prefix *prefixes; /* sorted by digits, then since */
    int nprefixes, prefixes_alloc;
    struct suf_money_card *cards; /* by effective date: added oldest first */
    int ncards, cards_alloc;
    int64_t *rates; /* [card][market][category]; NULL until suf_money_cards_done */
    int other;      /* the "Other" market, -1 when none */
    bool map_builtin;
    char *map_path, *map_sha256; /* NULL: "" */
};

static const char *const cat_names[SUF_CAT_COUNT] = {
    "marketing", "utility", "authentication", "authentication_international", "service",
};

int suf_category_parse(const char *s)
{
    char norm[64];
    size_t n = 0;

    if (!s)
        return -1;
    for (; *s && n + 1 < sizeof(norm); s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == '-' || c == ' ')
            c = '_';
        norm[n++] = c;
    }
    norm[n] = '\0';
    for (int i = 0; i < SUF_CAT_COUNT; i++)
        if (!strcmp(norm, cat_names[i]))
            return i;
    if (!strcmp(norm, "authentication_intl"))
        return SUF_CAT_AUTHENTICATION_INTL;
    if (!strcmp(norm, "marketing_lite"))
        return SUF_CAT_MARKETING;
    return -1;
}

const char *suf_category_name(int cat)
{
    return cat >= 0 && cat < SUF_CAT_COUNT ? cat_names[cat] : "unknown";
}

/* --- days ---------------------------------------------------------------- */

int32_t suf_day_of(int64_t t)
{
    int64_t d = t / 86400;

    if (t % 86400 < 0)
        d--;
    return (int32_t)d;
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    int era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int suf_day_parse(const char *s, int32_t *day)
{
    int v[3] = {0, 0, 0}, lens[3] = {4, 2, 2}, y, m, d, cy, cm, cd;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return SUF_ERR_INPUT;
    for (int part = 0, pos = 0; part < 3; part++, pos++) {
        for (int k = 0; k < lens[part]; k++, pos++) {
            if (s[pos] < '0' || s[pos] > '9')
                return SUF_ERR_INPUT;
            v[part] = v[part] * 10 + (s[pos] - '0');
        }
    }
    y = v[0];
    m = v[1];
    d = v[2];
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return SUF_ERR_INPUT;
    *day = (int32_t)suf_time_days_from_civil(y, m, d);
    civil_from_days(*day, &cy, &cm, &cd);
    if (cy != y || cm != m || cd != d) /* 2026-02-30 */
        return SUF_ERR_INPUT;
    return SUF_OK;
}

char *suf_day_format(int32_t day, char *buf, size_t size)
{
    int y, m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
    return buf;
}

void suf_billing_from_config(struct suf_billing *b, const struct suf_config *cfg)
{
    int u = suf_category_parse(cfg->utility_billed_as);
    int s = suf_category_parse(cfg->session_billed_as);

    b->utility_as = u < 0 ? SUF_CAT_UTILITY : u;
    b->session_as = s < 0 ? SUF_CAT_MARKETING : s;
    b->per_conversion = strcmp(cfg->session_billing, "per_message") != 0;
}

/* --- building (money_model.h) ------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_prefix(const void *a, const void *b)
{
    const struct prefix *x = a, *y = b;
    int c = strcmp(x->digits, y->digits);

    if (c)
        return c;
    return (x->since > y->since) - (x->since < y->since);
}

int suf_money_market_id(const struct suf_money *m, const char *name)
{
    int lo = 0, hi = m->nnames - 1;

    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(name, m->names[mid]);
        if (!c)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

struct suf_money *suf_money_new(const char *currency)
{
    struct suf_money *m = suf_xcalloc(1, sizeof(*m));

    suf_strlcpy(m->currency, currency ? currency : "USD", sizeof(m->currency));
    m->other = -1;
    return m;
}

void suf_money_add_market(struct suf_money *m, const char *name)
{
    if (m->nnames == m->names_alloc) {
        m->names_alloc = m->names_alloc ? m->names_alloc * 2 : 64;
        m->names = suf_xrealloc(m->names, (size_t)m->names_alloc * sizeof(*m->names));
    }
    m->names[m->nnames++] = suf_xstrdup(name);
}

void suf_money_markets_done(struct suf_money *m)
{
    int n = 0;

    if (m->nnames)
        qsort(m->names, (size_t)m->nnames, sizeof(*m->names), cmp_str);
    for (int i = 0; i < m->nnames; i++) {
        if (n > 0 && !strcmp(m->names[i], m->names[n - 1]))
            free(m->names[i]);
        else
            m->names[n++] = m->names[i];
    }
    m->nnames = n;
    m->other = suf_money_market_id(m, "Other");
}

int suf_money_add_prefix(struct suf_money *m, const char *digits, const char *since,
                         const char *market)
{
    struct prefix p;

    if (suf_strlcpy(p.digits, digits, sizeof(p.digits)) >= sizeof(p.digits))
        return SUF_ERR_INPUT; /* never match a cut prefix */
    if (!since || !*since || suf_day_parse(since, &p.since))
        p.since = NO_SINCE;
    p.market = suf_money_market_id(m, market);
    if (m->nprefixes == m->prefixes_alloc) {
        m->prefixes_alloc = m->prefixes_alloc ? m->prefixes_alloc * 2 : 256;
        m->prefixes =
            suf_xrealloc(m->prefixes, (size_t)m->prefixes_alloc * sizeof(*m->prefixes));
    }
    m->prefixes[m->nprefixes++] = p;
    return SUF_OK;
}

int suf_money_add_card(struct suf_money *m, int64_t id, const char *effective, int64_t file_id)
{
    struct suf_money_card c;

    c.id = id;
    suf_strlcpy(c.date, effective, sizeof(c.date));
    c.file_id = file_id;
    if (suf_day_parse(c.date, &c.effective))
        return SUF_ERR_INPUT;
    if (m->ncards == m->cards_alloc) {
        m->cards_alloc = m->cards_alloc ? m->cards_alloc * 2 : 8;
        m->cards = suf_xrealloc(m->cards, (size_t)m->cards_alloc * sizeof(*m->cards));
    }
    m->cards[m->ncards++] = c;
    return SUF_OK;
}

static int64_t *rate_cell(const struct suf_money *m, int card, int market, int cat)
{
    return &m->rates[((size_t)card * (size_t)m->nnames + (size_t)market) * SUF_CAT_COUNT +
                     (size_t)cat];
}

void suf_money_cards_done(struct suf_money *m)
{
    size_t n = (size_t)m->ncards * (size_t)m->nnames * SUF_CAT_COUNT;

    if (m->nprefixes)
        qsort(m->prefixes, (size_t)m->nprefixes, sizeof(*m->prefixes), cmp_prefix);
    m->rates = suf_xmalloc((n ? n : 1) * sizeof(*m->rates));
    for (size_t i = 0; i < n; i++)
        m->rates[i] = NO_RATE;
}

int suf_money_set_rate(struct suf_money *m, int card, int market, int cat, int64_t micros)
{
    if (!m->rates || card < 0 || card >= m->ncards || market < 0 || market >= m->nnames ||
        cat < 0 || cat >= SUF_CAT_COUNT)
        return SUF_ERR_INPUT;
    *rate_cell(m, card, market, cat) = micros;
    return SUF_OK;
}

void suf_money_set_map_source(struct suf_money *m, bool builtin, const char *path,
                              const char *sha256)
{
    free(m->map_path);
    free(m->map_sha256);
    m->map_builtin = builtin;
    m->map_path = suf_xstrdup(path ? path : "");
    m->map_sha256 = suf_xstrdup(sha256 ? sha256 : "");
}

void suf_money_free(struct suf_money *m)
{
    if (!m)
        return;
    free(m->map_path);
    free(m->map_sha256);
    for (int i = 0; i < m->nnames; i++)
        free(m->names[i]);
    free(m->names);
    free(m->prefixes);
    free(m->cards);
    free(m->rates);
    free(m);
}

/* --- lookups -------------------------------------------------------------- */

const char *suf_money_currency(const struct suf_money *m)
{
    return m->currency;
}

void suf_money_map_source(const struct suf_money *m, struct suf_money_map_source *out)
{
    out->builtin = m->map_builtin;
    out->path = m->map_path ? m->map_path : "";
    out->sha256 = m->map_sha256 ? m->map_sha256 : "";
}

int suf_money_nmarkets(const struct suf_money *m)
{
    return m->nnames;
}

const char *suf_money_market_name(const struct suf_money *m, int market)
{
    return market >= 0 && market < m->nnames ? m->names[market] : "Unknown";
}

/* The first prefix entry whose digits equal `key`, or -1. */
static int first_prefix(const struct suf_money *m, const char *key)
{
    int lo = 0, hi = m->nprefixes;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(m->prefixes[mid].digits, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->nprefixes && !strcmp(m->prefixes[lo].digits, key) ? lo : -1;
}

int suf_money_market(const struct suf_money *m, const char *phone, int32_t day)
{
    bool matched;

    return suf_money_market_match(m, phone, day, &matched);
}

int suf_money_market_match(const struct suf_money *m, const char *phone, int32_t day,
                           bool *matched)
{
    char key[PREFIX_MAX];
    size_t n = phone ? strlen(phone) : 0;

    *matched = true;

    if (n >= sizeof(key))
        n = sizeof(key) - 1;
    for (size_t len = n; len > 0; len--) {
        int i, best = -1;

        memcpy(key, phone, len);
        key[len] = '\0';
        i = first_prefix(m, key);
        if (i < 0)
            continue;
        /* Entries of one prefix are sorted by since: the last one on or
         * before the day wins. */
        for (; i < m->nprefixes && !strcmp(m->prefixes[i].digits, key); i++)
            if (m->prefixes[i].since == NO_SINCE || m->prefixes[i].since <= day)
                best = m->prefixes[i].market;
        if (best >= 0)
            return best;
    }
    *matched = false;
    return m->other;
}

int suf_money_ncards(const struct suf_money *m)
{
    return m->ncards;
}

const struct suf_money_card *suf_money_card(const struct suf_money *m, int index)
{
    return index >= 0 && index < m->ncards ? &m->cards[index] : NULL;
}

int suf_money_card_for(const struct suf_money *m, int32_t day)
{
    int lo = 0, hi = m->ncards;

    /* The number of cards effective on or before `day`, minus one. */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (m->cards[mid].effective <= day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

bool suf_money_card_rate(const struct suf_money *m, int card, int market, int cat,
                         int64_t *micros)
{
    int64_t v;

    if (card < 0 || card >= m->ncards || market < 0 || market >= m->nnames || cat < 0 ||
        cat >= SUF_CAT_COUNT)
        return false;
    v = *rate_cell(m, card, market, cat);
    if (v == NO_RATE)
        return false;
    *micros = v;
    return true;
}

/* --- costing -------------------------------------------------------------- */

/*
 * The price of one message billed as `cat`: the card's column, except
 * `service`, which is free before 2026-10-01 (unless `billable`: Meta's
 * webhook said it bills this message) and falls back to the Utility column
 * where the card's Service cell is n/a.  Returns false when no rate applies
 * (no card, no row, n/a).
 */
static bool price(const struct suf_money *m, int card, int market, int cat, int32_t day,
                  bool billable, int64_t *micros)
{
    if (cat == SUF_CAT_SERVICE) {
        if (day < SUF_SERVICE_BILLED_FROM_DAY && !billable) {
            *micros = 0;
            return true;
        }
        return suf_money_card_rate(m, card, market, SUF_CAT_SERVICE, micros) ||
               suf_money_card_rate(m, card, market, SUF_CAT_UTILITY, micros);
    }
    return suf_money_card_rate(m, card, market, cat, micros);
}

/* Meta's category for a message when no webhook said otherwise. */
static int meta_category(const struct suf_msg *msg)
{
    switch (msg->kind) {
    case SUF_MSG_UTILITY:
        return SUF_CAT_UTILITY;
    case SUF_MSG_SESSION:
        return SUF_CAT_SERVICE;
    default:
        return msg->tmpl_cat >= 0 && msg->tmpl_cat < SUF_CAT_COUNT ? msg->tmpl_cat
                                                                   : SUF_CAT_MARKETING;
    }
}

static int policy_category(const struct suf_billing *b, const struct suf_msg *msg)
{
    switch (msg->kind) {
    case SUF_MSG_UTILITY:
        return b->utility_as;
    case SUF_MSG_SESSION:
        return b->session_as;
    default:
        return meta_category(msg);
    }
}

/*
 * Whether the policy view bills a delivered message.  per_message bills
 * every one.  per_conversion bills what a conversion delivered, once: a
 * session part is billed only when its fallback converted, and only the
 * first delivered one.  The rule is the billing policy's, so it lives here
 * beside the policy's categories; the report only says what happened to
 * the fallback.
 */
static bool policy_bills(const struct suf_billing *b, const struct suf_msg *msg)
{
    if (msg->kind != SUF_MSG_SESSION || !b->per_conversion)
        return true;
    return msg->converted && !msg->part_billed;
}

void suf_money_cost(const struct suf_money *m, const struct suf_billing *b,
                    const struct suf_msg *msg, struct suf_charge *out)
{
    int32_t day = suf_day_of(msg->delivered_at);
    int cat;
    int64_t v;

    memset(out, 0, sizeof(*out));
    out->market = suf_money_market(m, msg->phone, day);
    out->card = suf_money_card_for(m, day);
    if (!msg->delivered)
        return; /* Meta bills delivered messages only */
    out->billed = true;
    out->policy_billed = policy_bills(b, msg);
    out->policy_cat = policy_category(b, msg);
    if (out->policy_billed) {
        if (price(m, out->card, out->market, out->policy_cat, day, false, &v))
            out->policy = v;
        else
            out->unpriced = true;
    }
    cat = meta_category(msg);
    if (msg->has_pricing) {
        int wcat = suf_category_parse(msg->pricing_category);

        if (!msg->pricing_billable) {
            out->from_webhook = true;
            out->meta_cat = -1;
            return; /* free entry point, free customer service... */
        }
        if (wcat >= 0) {
            out->from_webhook = true;
            cat = wcat;
        }
    }
    out->meta_cat = cat;
    /* Meta's word wins over the date rule: a webhook that says billable is
     * billed, before 2026-10-01 too. */
    if (price(m, out->card, out->market, cat, day, msg->has_pricing, &v))
        out->meta = v;
    else
        out->unpriced = true;
}
