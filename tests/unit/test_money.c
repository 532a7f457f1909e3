/*
 * test_money.c: costing: market by longest prefix and date, the card in
 * effect on a day, the policy and Meta views, and exact sums.
 *
 * Most tests price from a model loaded from a small store.  The pricing
 * itself is pure, so the last ones build the same model from literals
 * (money_model.h), without a store, check that it prices exactly like the
 * loaded one, and test the builder's own rules.
 */
#include <stdio.h>
#include <string.h>

#include "base/amount.h"
#include "base/config.h"
#include "base/hash.h"
#include "money/money.h"
#include "money/money_builtin.h"
#include "money/money_model.h"
#include "store/store.h"
#include "testutil.h"

static struct suf_store st = SUF_STORE_INIT;
static struct suf_money *money;

/* A small store: two cards and a map with a NANP exception and a split. */
static void load_fixture(void)
{
    static const char sql[] =
        "INSERT INTO markets (prefix, since, market) VALUES"
        " ('1', '', 'North America'), ('1809', '', 'Rest of Latin America'),"
        " ('1876', '', 'Rest of Latin America'), ('91', '', 'India'),"
        " ('880', '', 'Rest of Asia Pacific'), ('880', '2026-10-01', 'Bangladesh'),"
        " ('7', '', 'Russia'), ('77', '', 'Rest of Central & Eastern Europe'),"
        " ('77', '2026-10-01', 'Kazakhstan'), ('99', '2030-01-01', 'Future');"
        "INSERT INTO rate_cards (id, currency, effective) VALUES (1, 'USD', '2026-07-01'),"
        " (2, 'USD', '2026-10-01'), (3, 'EUR', '2026-10-01');"
        "INSERT INTO rates VALUES"
        " (1, 'India', 10700, 1400, 1400, 28000, NULL),"
        " (1, 'North America', 25000, 4000, 4000, NULL, NULL),"
        " (1, 'Rest of Asia Pacific', 73200, 11300, 11300, NULL, NULL),"
        " (1, 'Rest of Latin America', 74000, 12000, 12000, NULL, NULL),"
        " (2, 'India', 11800, 1400, 1400, 28000, 1300),"
        " (2, 'North America', 25000, 3400, 3400, NULL, NULL),"
        " (2, 'Rest of Asia Pacific', 73200, 11300, 11300, NULL, 11300),"
        " (2, 'Bangladesh', 36400, 5700, 5700, NULL, 5700),"
        " (2, 'Rest of Latin America', 74000, 11300, 11300, NULL, 11300),"
        " (2, 'Other', 60400, 7700, 7700, NULL, NULL),"
        " (3, 'India', 1, 1, 1, 1, 1);";

    suf_test_store(&st, "money.db");
    CU_ASSERT_EQUAL_FATAL(suf_store_exec(&st, sql, NULL), SUF_OK);
    CU_ASSERT_EQUAL_FATAL(suf_money_load(&money, &st, "USD", NULL), SUF_OK);
}

static int32_t d(const char *s)
{
    int32_t v = 0;
    CU_ASSERT_EQUAL(suf_day_parse(s, &v), SUF_OK);
    return v;
}

static void test_money__days_are_exact(void)
{
    char buf[16];

    CU_ASSERT_EQUAL(d("2026-10-01"), SUF_SERVICE_BILLED_FROM_DAY);
    CU_ASSERT_EQUAL(suf_day_of(1790812800), d("2026-10-01")); /* 2026-10-01T00:00:00Z */
    CU_ASSERT_EQUAL(suf_day_of(1790812799), d("2026-09-30"));
    CU_ASSERT_STRING_EQUAL(suf_day_format(d("2028-02-29"), buf, sizeof(buf)), "2028-02-29");
    CU_ASSERT_EQUAL(suf_day_parse("2026-02-29", &(int32_t){0}), SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(suf_day_parse("2026-1-01", &(int32_t){0}), SUF_ERR_INPUT);
}

static void test_money__market_by_longest_prefix_and_date(void)
{
    static const struct {
        const char *phone, *day, *market;
    } rows[] = {
        {"14155550100", "2026-11-20", "North America"},
        {"18095550100", "2026-11-20", "Rest of Latin America"}, /* Dominican Republic */
        {"18765550100", "2026-11-20", "Rest of Latin America"}, /* Jamaica */
        {"18005550100", "2026-11-20", "North America"},
        {"919812344567", "2026-11-20", "India"},
        {"8801712345678", "2026-09-30", "Rest of Asia Pacific"}, /* before the split */
        {"8801712345678", "2026-10-01", "Bangladesh"},           /* from the split */
        {"77012345678", "2026-09-30", "Rest of Central & Eastern Europe"},
        {"77012345678", "2026-10-01", "Kazakhstan"},
        {"74951234567", "2026-10-01", "Russia"},
        {"99123456789", "2026-11-20", "Other"}, /* dated in the future: not yet */
        {"33123456789", "2026-11-20", "Other"}, /* no prefix at all */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int m = suf_money_market(money, rows[i].phone, d(rows[i].day));
        if (strcmp(suf_money_market_name(money, m), rows[i].market))
            fprintf(stderr, "%s on %s: %s, expected %s\n", rows[i].phone, rows[i].day,
                    suf_money_market_name(money, m), rows[i].market);
        CU_ASSERT_STRING_EQUAL(suf_money_market_name(money, m), rows[i].market);
    }
}

/* A phone no prefix matches is told apart from one the map itself puts in
 * "Other", with or without an "Other" market to fall in. */
static void test_money__a_phone_no_prefix_matches_is_told_apart(void)
{
    static const struct {
        bool with_other;
        const char *phone, *day, *market;
        bool matched;
    } rows[] = {
        {true, "919812344567", "2026-11-20", "India", true},
        {true, "298123456", "2026-11-20", "Other", true}, /* the map says Other */
        {true, "99912345678", "2026-11-20", "Other", false},
        {true, "99123456789", "2026-11-20", "Other", false}, /* dated in the future */
        {true, "99123456789", "2030-01-01", "Future", true},
        {true, "", "2026-11-20", "Other", false},
        {false, "919812344567", "2026-11-20", "India", true},
        {false, "99912345678", "2026-11-20", "Unknown", false},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_money *m = suf_money_new("USD");
        bool matched = !rows[i].matched;
        int got;

        suf_money_add_market(m, "India");
        suf_money_add_market(m, "Future");
        if (rows[i].with_other)
            suf_money_add_market(m, "Other");
        suf_money_markets_done(m);
        suf_money_add_prefix(m, "91", "", "India");
        suf_money_add_prefix(m, "99", "2030-01-01", "Future");
        if (rows[i].with_other)
            suf_money_add_prefix(m, "298", "", "Other");
        suf_money_cards_done(m);
        got = suf_money_market_match(m, rows[i].phone, d(rows[i].day), &matched);
        CU_ASSERT_STRING_EQUAL(suf_money_market_name(m, got), rows[i].market);
        CU_ASSERT_EQUAL(matched, rows[i].matched);
        CU_ASSERT_EQUAL(suf_money_market(m, rows[i].phone, d(rows[i].day)), got);
        suf_money_free(m);
    }
}

static void test_money__card_in_effect_on_the_day(void)
{
    CU_ASSERT_EQUAL(suf_money_ncards(money), 2); /* the EUR card is not loaded */
    CU_ASSERT_EQUAL(suf_money_card_for(money, d("2026-06-30")), -1);
    CU_ASSERT_STRING_EQUAL(suf_money_card(money, suf_money_card_for(money, d("2026-07-01")))->date,
                           "2026-07-01");
    CU_ASSERT_STRING_EQUAL(suf_money_card(money, suf_money_card_for(money, d("2026-09-30")))->date,
                           "2026-07-01");
    CU_ASSERT_STRING_EQUAL(suf_money_card(money, suf_money_card_for(money, d("2026-10-01")))->date,
                           "2026-10-01");
    CU_ASSERT_STRING_EQUAL(suf_money_card(money, suf_money_card_for(money, d("2027-05-01")))->date,
                           "2026-10-01");
}

/* Noon UTC of a day, in seconds. */
static int64_t noon(const char *day)
{
    return (int64_t)d(day) * 86400 + 43200;
}

static void test_money__policy_and_meta_views(void)
{
    static const struct {
        const char *what;
        int kind;
        const char *phone, *day;
        const char *u_as, *s_as, *billing;
        bool delivered, converted, part_billed, has_pricing, billable;
        const char *pcat;
        int64_t policy, meta;
        bool webhook, unpriced;
    } rows[] = {
        /* what, kind, phone, day, utility as, session as, session billing,
         * delivered, converted, part billed, pricing, billable, category,
         * policy, meta, from webhook, unpriced */
        {"utility in India, October", SUF_MSG_UTILITY, "919800000001", "2026-11-20",
         "utility", "marketing", "per_conversion", true, true, false, false, false, NULL,
         1400, 1400, false, false},
        {"utility billed as marketing", SUF_MSG_UTILITY, "919800000001", "2026-11-20",
         "marketing", "marketing", "per_conversion", true, true, false, false, false, NULL,
         11800, 1400, false, false},
        {"session as marketing; Meta: Service", SUF_MSG_SESSION, "919800000001",
         "2026-11-20", "utility", "marketing", "per_conversion", true, true, false, false,
         false, NULL, 11800, 1300, false, false},
        {"session before 2026-10-01: Meta free", SUF_MSG_SESSION, "919800000001",
         "2026-09-20", "utility", "marketing", "per_conversion", true, true, false, false,
         false, NULL, 10700, 0, false, false},
        {"session billed as service, before: free", SUF_MSG_SESSION, "919800000001",
         "2026-09-20", "utility", "service", "per_message", true, true, false, false, false,
         NULL, 0, 0, false, false},
        {"Service n/a: Utility column", SUF_MSG_SESSION, "14155550100", "2026-11-20",
         "utility", "service", "per_message", true, true, false, false, false, NULL, 3400,
         3400, false, false},
        {"per_conversion: second part not billed", SUF_MSG_SESSION, "919800000001",
         "2026-11-20", "utility", "marketing", "per_conversion", true, true, true, false,
         false, NULL, 0, 1300, false, false},
        {"not delivered: nothing", SUF_MSG_UTILITY, "919800000001", "2026-11-20", "utility",
         "marketing", "per_conversion", false, true, false, false, false, NULL, 0, 0, false,
         false},
        {"webhook: not billable", SUF_MSG_SESSION, "919800000001", "2026-11-20", "utility",
         "marketing", "per_conversion", true, true, false, true, false, "service", 11800, 0,
         true, false},
        {"webhook: its category", SUF_MSG_UTILITY, "919800000001", "2026-11-20", "utility",
         "marketing", "per_conversion", true, true, false, true, true, "marketing", 1400,
         11800, true, false},
        {"July card", SUF_MSG_UTILITY, "14155550100", "2026-08-01", "utility", "marketing",
         "per_conversion", true, true, false, false, false, NULL, 4000, 4000, false, false},
        {"split market priced by date", SUF_MSG_UTILITY, "8801712345678", "2026-11-20",
         "utility", "marketing", "per_conversion", true, true, false, false, false, NULL,
         5700, 5700, false, false},
        {"split market before: its group", SUF_MSG_UTILITY, "8801712345678", "2026-09-20",
         "utility", "marketing", "per_conversion", true, true, false, false, false, NULL,
         11300, 11300, false, false},
        {"no card yet: unpriced", SUF_MSG_UTILITY, "919800000001", "2026-06-01", "utility",
         "marketing", "per_conversion", true, true, false, false, false, NULL, 0, 0, false,
         true},
        {"market missing from the card: unpriced", SUF_MSG_UTILITY, "74951234567",
         "2026-11-20", "utility", "marketing", "per_conversion", true, true, false, false,
         false, NULL, 0, 0, false, true},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_config cfg;
        struct suf_billing b;
        struct suf_msg msg;
        struct suf_charge ch;

        suf_config_init(&cfg);
        CU_ASSERT_EQUAL(suf_config_set(&cfg, "utility_billed_as", rows[i].u_as, NULL), SUF_OK);
        CU_ASSERT_EQUAL(suf_config_set(&cfg, "session_billed_as", rows[i].s_as, NULL), SUF_OK);
        CU_ASSERT_EQUAL(suf_config_set(&cfg, "session_billing", rows[i].billing, NULL), SUF_OK);
        suf_billing_from_config(&b, &cfg);
        memset(&msg, 0, sizeof(msg));
        msg.kind = rows[i].kind;
        msg.phone = rows[i].phone;
        msg.delivered = rows[i].delivered;
        msg.delivered_at = noon(rows[i].day);
        msg.converted = rows[i].converted;
        msg.part_billed = rows[i].part_billed;
        msg.has_pricing = rows[i].has_pricing;
        msg.pricing_billable = rows[i].billable;
        msg.pricing_category = rows[i].pcat;
        suf_money_cost(money, &b, &msg, &ch);
        if (ch.policy != rows[i].policy || ch.meta != rows[i].meta ||
            ch.from_webhook != rows[i].webhook || ch.unpriced != rows[i].unpriced)
            fprintf(stderr, "%s: policy %lld meta %lld webhook %d unpriced %d\n", rows[i].what,
                    (long long)ch.policy, (long long)ch.meta, ch.from_webhook, ch.unpriced);
        CU_ASSERT_EQUAL(ch.policy, rows[i].policy);
        CU_ASSERT_EQUAL(ch.meta, rows[i].meta);
        CU_ASSERT_EQUAL(ch.from_webhook, rows[i].webhook);
        CU_ASSERT_EQUAL(ch.unpriced, rows[i].unpriced);
        CU_ASSERT_EQUAL(ch.billed, rows[i].delivered);
        suf_config_release(&cfg);
    }
}

/* One session message to India under utility/marketing billing: its
 * charge. */
static void cost_session(const char *day, const char *billing, bool converted,
                         bool part_billed, bool has_pricing, bool billable,
                         const char *category, struct suf_charge *ch)
{
    struct suf_config cfg;
    struct suf_billing b;
    struct suf_msg msg;

    suf_config_init(&cfg);
    CU_ASSERT_EQUAL(suf_config_set(&cfg, "session_billing", billing, NULL), SUF_OK);
    suf_billing_from_config(&b, &cfg);
    memset(&msg, 0, sizeof(msg));
    msg.kind = SUF_MSG_SESSION;
    msg.phone = "919800000001";
    msg.delivered = true;
    msg.delivered_at = noon(day);
    msg.converted = converted;
    msg.part_billed = part_billed;
    msg.has_pricing = has_pricing;
    msg.pricing_billable = billable;
    msg.pricing_category = category;
    suf_money_cost(money, &b, &msg, ch);
    suf_config_release(&cfg);
}

/* Meta's view follows the status webhook's pricing before 2026-10-01 as
 * after it; the date rule (service free before 2026-10-01) only prices what
 * no webhook priced.  India, July card: marketing 0.0107, utility 0.0014,
 * service n/a; October card: service 0.0013. */
static void test_money__webhook_pricing_wins_before_2026_10_01(void)
{
    static const struct {
        const char *what, *day;
        bool has_pricing, billable;
        const char *category;
        int64_t meta;
        bool webhook;
    } rows[] = {
        {"before, no webhook pricing: free", "2026-09-20", false, false, NULL, 0, false},
        {"before, billable service: Utility, Service being n/a", "2026-09-20", true, true,
         "service", 1400, true},
        {"before, billable marketing: its category", "2026-09-20", true, true, "marketing",
         10700, true},
        {"before, billable utility", "2026-09-20", true, true, "utility", 1400, true},
        {"before, billable, no category: billed at the message's own", "2026-09-20", true,
         true, NULL, 1400, false},
        {"before, not billable: free", "2026-09-20", true, false, "service", 0, true},
        {"after, billable service", "2026-11-20", true, true, "service", 1300, true},
        {"after, no webhook pricing: Service", "2026-11-20", false, false, NULL, 1300, false},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_charge ch;

        cost_session(rows[i].day, "per_conversion", true, false, rows[i].has_pricing,
                     rows[i].billable, rows[i].category, &ch);
        if (ch.meta != rows[i].meta || ch.from_webhook != rows[i].webhook)
            fprintf(stderr, "%s: meta %lld webhook %d\n", rows[i].what, (long long)ch.meta,
                    ch.from_webhook);
        CU_ASSERT_TRUE(ch.billed);
        CU_ASSERT_FALSE(ch.unpriced);
        CU_ASSERT_EQUAL(ch.meta, rows[i].meta);
        CU_ASSERT_EQUAL(ch.from_webhook, rows[i].webhook);
    }
}

/* per_conversion bills a conversion once and nothing else: the session
 * part of a fallback that did not convert (an S8 whose first part was
 * delivered and whose second failed) costs nothing in the policy view, and
 * still costs what Meta bills.  per_message bills every delivered part. */
static void test_money__per_conversion_bills_conversions_only(void)
{
    static const struct {
        const char *what, *billing;
        bool converted, part_billed;
        int64_t policy;
    } rows[] = {
        {"converted, first part: its one charge", "per_conversion", true, false, 11800},
        {"converted, later part: already charged", "per_conversion", true, true, 0},
        {"S8 not converted, first part delivered", "per_conversion", false, false, 0},
        {"not converted, later part", "per_conversion", false, true, 0},
        {"per_message: not converted, still billed", "per_message", false, false, 11800},
        {"per_message: every part", "per_message", true, true, 11800},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_charge ch;

        cost_session("2026-11-20", rows[i].billing, rows[i].converted, rows[i].part_billed,
                     false, false, NULL, &ch);
        if (ch.policy != rows[i].policy)
            fprintf(stderr, "%s: policy %lld\n", rows[i].what, (long long)ch.policy);
        CU_ASSERT_TRUE(ch.billed);
        CU_ASSERT_FALSE(ch.unpriced);
        CU_ASSERT_EQUAL(ch.policy, rows[i].policy);
        CU_ASSERT_EQUAL(ch.meta, 1300); /* Meta bills every delivered part */
    }
}

static void test_money__million_line_items_sum_exactly(void)
{
    /* Rates from the fixtures, parsed as the importer parses them. */
    static const char *const rates[] = {"0.0732", "0.0113", "0.0118", "0.0014", "0.0411",
                                        "0.0250", "0.0068", "0.0034", "0.0001", "0.1597"};
    enum { N = 1000000, K = sizeof(rates) / sizeof(rates[0]) };
    int64_t micros[K], total = 0, expected = 0, count[K] = {0}, at;
    char buf[32];
    struct suf_config cfg;
    struct suf_billing b;

    for (int k = 0; k < K; k++)
        CU_ASSERT_EQUAL_FATAL(suf_amount_parse(rates[k], &micros[k]), SUF_OK);
    for (int i = 0; i < N; i++) {
        int k = (int)(((unsigned)i * 2654435761u) % K); /* a spread, not a cycle */
        total += micros[k];
        count[k]++;
    }
    for (int k = 0; k < K; k++)
        expected += count[k] * micros[k];
    CU_ASSERT_EQUAL(total, expected);
    /* The same million through the costing itself: one utility message in
     * India on the October card, each 0.0014. */
    suf_config_init(&cfg);
    suf_billing_from_config(&b, &cfg);
    total = 0;
    at = noon("2026-11-20");
    for (int i = 0; i < N; i++) {
        struct suf_msg msg = {.kind = SUF_MSG_UTILITY, .phone = "919800000001",
                              .delivered = true, .delivered_at = at};
        struct suf_charge ch;
        suf_money_cost(money, &b, &msg, &ch);
        total += ch.policy;
    }
    CU_ASSERT_EQUAL(total, INT64_C(1400000000));
    CU_ASSERT_STRING_EQUAL(suf_amount_format(total, buf, sizeof(buf)), "1400.000000");
    suf_config_release(&cfg);
}

static void test_money__category_names(void)
{
    CU_ASSERT_EQUAL(suf_category_parse("MARKETING"), SUF_CAT_MARKETING);
    CU_ASSERT_EQUAL(suf_category_parse("authentication-international"),
                    SUF_CAT_AUTHENTICATION_INTL);
    CU_ASSERT_EQUAL(suf_category_parse("service"), SUF_CAT_SERVICE);
    CU_ASSERT_EQUAL(suf_category_parse("referral_conversion"), -1);
    CU_ASSERT_EQUAL(suf_category_parse(NULL), -1);
}

/* --- the same model without a store ------------------------------------------ */

#define NA INT64_MIN

/* load_fixture's store, as literals: the map, the USD cards, their rates. */
static const struct {
    const char *digits, *since, *market;
} fixture_map[] = {
    {"1", "", "North America"},
    {"1809", "", "Rest of Latin America"},
    {"1876", "", "Rest of Latin America"},
    {"91", "", "India"},
    {"880", "", "Rest of Asia Pacific"},
    {"880", "2026-10-01", "Bangladesh"},
    {"7", "", "Russia"},
    {"77", "", "Rest of Central & Eastern Europe"},
    {"77", "2026-10-01", "Kazakhstan"},
    {"99", "2030-01-01", "Future"},
};

static const struct {
    int card; /* 0: 2026-07-01, 1: 2026-10-01 */
    const char *market;
    int64_t rate[SUF_CAT_COUNT]; /* marketing, utility, auth, auth intl, service */
} fixture_rates[] = {
    {0, "India", {10700, 1400, 1400, 28000, NA}},
    {0, "North America", {25000, 4000, 4000, NA, NA}},
    {0, "Rest of Asia Pacific", {73200, 11300, 11300, NA, NA}},
    {0, "Rest of Latin America", {74000, 12000, 12000, NA, NA}},
    {1, "India", {11800, 1400, 1400, 28000, 1300}},
    {1, "North America", {25000, 3400, 3400, NA, NA}},
    {1, "Rest of Asia Pacific", {73200, 11300, 11300, NA, 11300}},
    {1, "Bangladesh", {36400, 5700, 5700, NA, 5700}},
    {1, "Rest of Latin America", {74000, 11300, 11300, NA, 11300}},
    {1, "Other", {60400, 7700, 7700, NA, NA}},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Builds load_fixture's USD model through the builder, in its steps. */
static struct suf_money *build_fixture(void)
{
    struct suf_money *m = suf_money_new("USD");

    for (size_t i = 0; i < COUNT(fixture_map); i++)
        suf_money_add_market(m, fixture_map[i].market);
    for (size_t i = 0; i < COUNT(fixture_rates); i++)
        suf_money_add_market(m, fixture_rates[i].market); /* repeats count once */
    suf_money_markets_done(m);
    for (size_t i = 0; i < COUNT(fixture_map); i++)
        CU_ASSERT_EQUAL(suf_money_add_prefix(m, fixture_map[i].digits, fixture_map[i].since,
                                             fixture_map[i].market),
                        SUF_OK);
    CU_ASSERT_EQUAL(suf_money_add_card(m, 1, "2026-07-01", 0), SUF_OK);
    CU_ASSERT_EQUAL(suf_money_add_card(m, 2, "2026-10-01", 0), SUF_OK);
    suf_money_cards_done(m);
    for (size_t i = 0; i < COUNT(fixture_rates); i++) {
        int market = suf_money_market_id(m, fixture_rates[i].market);
        for (int cat = 0; cat < SUF_CAT_COUNT; cat++)
            if (fixture_rates[i].rate[cat] != NA)
                CU_ASSERT_EQUAL(suf_money_set_rate(m, fixture_rates[i].card, market, cat,
                                                   fixture_rates[i].rate[cat]),
                                SUF_OK);
    }
    return m;
}

static void test_money__model_built_without_a_store_prices_like_the_loaded_one(void)
{
    static const char *const phones[] = {"14155550100",  "18095550100",   "919812344567",
                                         "8801712345678", "77012345678",  "74951234567",
                                         "99123456789",  "33123456789",   ""};
    static const char *const days[] = {"2026-06-30", "2026-07-01", "2026-09-30",
                                       "2026-10-01", "2027-05-01", "2030-01-01"};
    struct suf_money *built = build_fixture();
    struct suf_config cfg;
    struct suf_billing b;

    suf_config_init(&cfg);
    suf_billing_from_config(&b, &cfg);
    CU_ASSERT_STRING_EQUAL(suf_money_currency(built), suf_money_currency(money));
    CU_ASSERT_EQUAL_FATAL(suf_money_nmarkets(built), suf_money_nmarkets(money));
    for (int i = 0; i < suf_money_nmarkets(built); i++)
        CU_ASSERT_STRING_EQUAL(suf_money_market_name(built, i), suf_money_market_name(money, i));
    CU_ASSERT_EQUAL_FATAL(suf_money_ncards(built), suf_money_ncards(money));
    for (int c = 0; c < suf_money_ncards(built); c++) {
        CU_ASSERT_STRING_EQUAL(suf_money_card(built, c)->date, suf_money_card(money, c)->date);
        for (int market = 0; market < suf_money_nmarkets(built); market++) {
            for (int cat = 0; cat < SUF_CAT_COUNT; cat++) {
                int64_t x = -1, y = -1;
                CU_ASSERT_EQUAL(suf_money_card_rate(built, c, market, cat, &x),
                                suf_money_card_rate(money, c, market, cat, &y));
                CU_ASSERT_EQUAL(x, y);
            }
        }
    }
    for (size_t i = 0; i < COUNT(phones); i++) {
        for (size_t j = 0; j < COUNT(days); j++) {
            for (int kind = SUF_MSG_BROADCAST; kind <= SUF_MSG_SESSION; kind++) {
                struct suf_msg msg = {.kind = kind, .tmpl_cat = SUF_CAT_MARKETING,
                                      .phone = phones[i], .delivered = true,
                                      .delivered_at = noon(days[j]), .converted = true};
                struct suf_charge x, y;

                suf_money_cost(built, &b, &msg, &x);
                suf_money_cost(money, &b, &msg, &y);
                CU_ASSERT_EQUAL(x.policy, y.policy);
                CU_ASSERT_EQUAL(x.meta, y.meta);
                CU_ASSERT_EQUAL(x.market, y.market);
                CU_ASSERT_EQUAL(x.card, y.card);
                CU_ASSERT_EQUAL(x.billed, y.billed);
                CU_ASSERT_EQUAL(x.unpriced, y.unpriced);
            }
        }
    }
    suf_config_release(&cfg);
    suf_money_free(built);
}

static void test_money__builder_leaves_out_what_cannot_match(void)
{
    struct suf_money *m = suf_money_new(NULL);
    int64_t v = 0;

    CU_ASSERT_STRING_EQUAL(suf_money_currency(m), "USD");
    suf_money_add_market(m, "India");
    suf_money_add_market(m, "Brazil");
    suf_money_add_market(m, "India");
    suf_money_markets_done(m);
    CU_ASSERT_EQUAL(suf_money_nmarkets(m), 2);
    CU_ASSERT_EQUAL(suf_money_market_id(m, "Brazil"), 0);
    CU_ASSERT_EQUAL(suf_money_market_id(m, "India"), 1);
    /* A prefix longer than any phone could match is refused, not cut. */
    CU_ASSERT_EQUAL(suf_money_add_prefix(m, "9112345678901234567", "", "India"),
                    SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(suf_money_add_prefix(m, "91", NULL, "India"), SUF_OK);
    CU_ASSERT_EQUAL(suf_money_add_prefix(m, "55", "not a date", "Brazil"), SUF_OK);
    CU_ASSERT_EQUAL(suf_money_add_card(m, 7, "2026-02-30", 0), SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(suf_money_add_card(m, 8, "2026-10-01", 3), SUF_OK);
    CU_ASSERT_EQUAL(suf_money_set_rate(m, 0, 1, SUF_CAT_UTILITY, 1400), SUF_ERR_INPUT);
    suf_money_cards_done(m);
    CU_ASSERT_EQUAL(suf_money_set_rate(m, 1, 1, SUF_CAT_UTILITY, 1400), SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(suf_money_set_rate(m, 0, 2, SUF_CAT_UTILITY, 1400), SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(suf_money_set_rate(m, 0, 1, SUF_CAT_COUNT, 1400), SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(suf_money_set_rate(m, 0, 1, SUF_CAT_UTILITY, 1400), SUF_OK);
    CU_ASSERT_EQUAL(suf_money_ncards(m), 1);
    CU_ASSERT_EQUAL(suf_money_card(m, 0)->id, 8);
    CU_ASSERT_EQUAL(suf_money_card(m, 0)->file_id, 3);
    CU_ASSERT_EQUAL(suf_money_market(m, "919800000001", d("2026-01-01")), 1);
    /* A `since` that is not a date means always; no "Other": -1. */
    CU_ASSERT_EQUAL(suf_money_market(m, "5511999999999", d("2020-01-01")), 0);
    CU_ASSERT_EQUAL(suf_money_market(m, "447700900023", d("2026-11-20")), -1);
    CU_ASSERT_TRUE(suf_money_card_rate(m, 0, 1, SUF_CAT_UTILITY, &v));
    CU_ASSERT_EQUAL(v, 1400);
    CU_ASSERT_FALSE(suf_money_card_rate(m, 0, 1, SUF_CAT_MARKETING, &v));
    CU_ASSERT_FALSE(suf_money_card_rate(m, 0, 0, SUF_CAT_UTILITY, &v));
    suf_money_free(m);
}

static void test_money__service_is_free_before_its_day_then_service_or_utility(void)
{
    static const struct {
        const char *what, *day;
        int64_t service, utility; /* the card's cells; NA: n/a */
        bool unpriced;
        int64_t meta;
    } rows[] = {
        {"before 2026-10-01: free", "2026-09-30", 1300, 1400, false, 0},
        {"before, even with no rate", "2026-09-30", NA, NA, false, 0},
        {"from 2026-10-01: Service", "2026-10-01", 1300, 1400, false, 1300},
        {"Service n/a: Utility", "2026-10-01", NA, 1400, false, 1400},
        {"both n/a: unpriced", "2026-10-01", NA, NA, true, 0},
    };

    for (size_t i = 0; i < COUNT(rows); i++) {
        struct suf_money *m = suf_money_new("USD");
        struct suf_billing b = {SUF_CAT_UTILITY, SUF_CAT_SERVICE, true};
        struct suf_msg msg = {.kind = SUF_MSG_SESSION, .phone = "919800000001",
                              .delivered = true, .delivered_at = noon(rows[i].day),
                              .converted = true};
        struct suf_charge ch;

        suf_money_add_market(m, "India");
        suf_money_markets_done(m);
        suf_money_add_prefix(m, "91", "", "India");
        suf_money_add_card(m, 1, "2026-07-01", 0);
        suf_money_cards_done(m);
        if (rows[i].service != NA)
            suf_money_set_rate(m, 0, 0, SUF_CAT_SERVICE, rows[i].service);
        if (rows[i].utility != NA)
            suf_money_set_rate(m, 0, 0, SUF_CAT_UTILITY, rows[i].utility);
        suf_money_cost(m, &b, &msg, &ch);
        if (ch.meta != rows[i].meta || ch.unpriced != rows[i].unpriced)
            fprintf(stderr, "%s: meta %lld unpriced %d\n", rows[i].what, (long long)ch.meta,
                    ch.unpriced);
        CU_ASSERT_TRUE(ch.billed);
        CU_ASSERT_EQUAL(ch.meta, rows[i].meta);
        CU_ASSERT_EQUAL(ch.policy, rows[i].meta); /* billed as service by the policy too */
        CU_ASSERT_EQUAL(ch.unpriced, rows[i].unpriced);
        suf_money_free(m);
    }
}

/* A charge says whether the policy bills it and at which category each
 * view billed it, so a report labels its rows with money's own rules. */
static void test_money__charge_says_what_each_view_billed(void)
{
    static const struct {
        const char *what;
        int kind;
        bool converted, part_billed, has_pricing, billable;
        const char *category;
        bool policy_billed;
        int policy_cat, meta_cat;
    } rows[] = {
        {"utility: both views bill it", SUF_MSG_UTILITY, false, false, false, false, NULL, true,
         SUF_CAT_UTILITY, SUF_CAT_UTILITY},
        {"session of a conversion: billed once", SUF_MSG_SESSION, true, false, false, false, NULL,
         true, SUF_CAT_MARKETING, SUF_CAT_SERVICE},
        {"its second part: not again", SUF_MSG_SESSION, true, true, false, false, NULL, false,
         SUF_CAT_MARKETING, SUF_CAT_SERVICE},
        {"session with no conversion: not billed", SUF_MSG_SESSION, false, false, false, false,
         NULL, false, SUF_CAT_MARKETING, SUF_CAT_SERVICE},
        {"webhook category wins for Meta", SUF_MSG_SESSION, true, false, true, true, "utility",
         true, SUF_CAT_MARKETING, SUF_CAT_UTILITY},
        {"webhook says not billable", SUF_MSG_UTILITY, false, false, true, false, NULL, true,
         SUF_CAT_UTILITY, -1},
    };

    for (size_t i = 0; i < COUNT(rows); i++) {
        struct suf_money *m = suf_money_new("USD");
        struct suf_billing b = {SUF_CAT_UTILITY, SUF_CAT_MARKETING, true};
        struct suf_msg msg = {.kind = rows[i].kind, .phone = "919800000001", .delivered = true,
                              .delivered_at = noon("2026-11-20"),
                              .converted = rows[i].converted, .part_billed = rows[i].part_billed,
                              .has_pricing = rows[i].has_pricing,
                              .pricing_billable = rows[i].billable,
                              .pricing_category = rows[i].category};
        struct suf_charge ch;

        suf_money_markets_done(m);
        suf_money_cards_done(m);
        suf_money_cost(m, &b, &msg, &ch);
        if (ch.policy_billed != rows[i].policy_billed || ch.policy_cat != rows[i].policy_cat ||
            ch.meta_cat != rows[i].meta_cat)
            fprintf(stderr, "%s: policy_billed %d policy_cat %d meta_cat %d\n", rows[i].what,
                    ch.policy_billed, ch.policy_cat, ch.meta_cat);
        CU_ASSERT_EQUAL(ch.policy_billed, rows[i].policy_billed);
        CU_ASSERT_EQUAL(ch.policy_cat, rows[i].policy_cat);
        CU_ASSERT_EQUAL(ch.meta_cat, rows[i].meta_cat);
        suf_money_free(m);
    }
}

/* A store where `suf import markets` never ran: the built-in map prices
 * by market, where an empty map priced every phone as "Other". */
static void test_money__without_an_imported_map_the_built_in_one_prices(void)
{
    static const char sql[] =
        "INSERT INTO rate_cards (id, currency, effective) VALUES (1, 'USD', '2026-10-01');"
        "INSERT INTO rates VALUES (1, 'India', 11800, 1400, 1400, 28000, 1300),"
        " (1, 'Rest of Latin America', 74000, 11300, 11300, NULL, 11300),"
        " (1, 'Other', 60400, 7700, 7700, NULL, NULL);";
    struct suf_store fresh = SUF_STORE_INIT;
    struct suf_money *m = NULL;
    struct suf_money_map_source src;
    struct suf_billing b = {SUF_CAT_UTILITY, SUF_CAT_MARKETING, true};
    struct suf_msg msg;
    struct suf_charge ch;
    char sha[SUF_SHA256_HEX] = "";
    FILE *csv;

    suf_test_store(&fresh, "fresh.db");
    CU_ASSERT_EQUAL_FATAL(suf_store_exec(&fresh, sql, NULL), SUF_OK);
    CU_ASSERT_EQUAL_FATAL(suf_money_load(&m, &fresh, "USD", NULL), SUF_OK);
    CU_ASSERT_STRING_EQUAL(suf_money_market_name(m, suf_money_market(m, "919812345678",
                                                                     d("2026-11-20"))),
                           "India");
    CU_ASSERT_STRING_EQUAL(suf_money_market_name(m, suf_money_market(m, "18095550100",
                                                                     d("2026-11-20"))),
                           "Rest of Latin America");
    CU_ASSERT_STRING_EQUAL(suf_money_market_name(m, suf_money_market(m, "14155550100",
                                                                     d("2026-11-20"))),
                           "North America");
    memset(&msg, 0, sizeof(msg));
    msg.kind = SUF_MSG_UTILITY;
    msg.phone = "919812345678";
    msg.delivered = true;
    msg.delivered_at = noon("2026-11-20");
    suf_money_cost(m, &b, &msg, &ch);
    CU_ASSERT_EQUAL(ch.policy, 1400); /* India's rate, not Other's 7700 */
    CU_ASSERT_EQUAL(ch.meta, 1400);
    /* The model says which map it used: the built-in one, whose version is
     * the SHA-256 of the CSV it was built from. */
    suf_money_map_source(m, &src);
    CU_ASSERT_TRUE(src.builtin);
    CU_ASSERT_STRING_EQUAL(src.path, "");
    csv = fopen(suf_test_source("fixtures/markets.csv"), "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    CU_ASSERT_EQUAL(suf_sha256_stream(csv, sha), SUF_OK);
    fclose(csv);
    CU_ASSERT_STRING_EQUAL(src.sha256, sha);
    CU_ASSERT_STRING_EQUAL(suf_money_builtin_map_sha256, sha);
    /* The store of the other tests has its own map: that one is used. */
    suf_money_map_source(money, &src);
    CU_ASSERT_FALSE(src.builtin);
    CU_ASSERT_STRING_EQUAL(suf_money_market_name(money, suf_money_market(money, "5511999999999",
                                                                         d("2026-11-20"))),
                           "Other"); /* the built-in map would say Brazil */
    suf_money_free(m);
    suf_store_close(&fresh);
}

/* Meta's billing names countries: each has a calling code that the built-in
 * map places in the country's own market, on the day asked, and a country
 * the table does not have is told apart, never guessed. */
static void test_money__countries_reach_their_market_through_the_map(void)
{
    static const struct {
        const char *country, *day, *market;
    } rows[] = {
        {"US", "2026-11-20", "North America"},
        {"CA", "2026-11-20", "North America"},
        {"DO", "2026-11-20", "Rest of Latin America"},
        {"PR", "2026-11-20", "Rest of Latin America"},
        {"JM", "2026-11-20", "Rest of Latin America"},
        {"RU", "2026-11-20", "Russia"},
        {"KZ", "2026-09-30", "Rest of Central & Eastern Europe"},
        {"KZ", "2026-10-01", "Kazakhstan"},
        {"IN", "2026-11-20", "India"},
        {"GB", "2026-11-20", "United Kingdom"},
        {"BD", "2026-11-20", "Bangladesh"},
    };
    struct suf_store fresh = SUF_STORE_INIT;
    struct suf_money *m = NULL;
    bool matched;

    suf_test_store(&fresh, "countries.db");
    CU_ASSERT_EQUAL_FATAL(suf_money_load(&m, &fresh, "USD", NULL), SUF_OK);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *code = suf_country_code(rows[i].country);

        CU_ASSERT_PTR_NOT_NULL_FATAL(code);
        if (strcmp(suf_money_market_name(m, suf_money_market(m, code, d(rows[i].day))),
                   rows[i].market))
            CU_FAIL(rows[i].country);
    }
    CU_ASSERT_PTR_NULL(suf_country_code("ZZ"));
    CU_ASSERT_PTR_NULL(suf_country_code("us"));
    CU_ASSERT_PTR_NULL(suf_country_code(""));
    /* Every country of the table has a market: its own prefix's, or
     * "Other" where the map has none of its codes (Aruba's 297). */
    for (size_t i = 0; i < suf_country_builtin_rows; i++) {
        int market = suf_money_market_match(m, suf_country_builtin[i].code, d("2026-11-20"),
                                            &matched);

        if (market < 0 || (!matched && strcmp(suf_money_market_name(m, market), "Other")))
            CU_FAIL(suf_country_builtin[i].country);
        if (i && strcmp(suf_country_builtin[i - 1].country, suf_country_builtin[i].country) >= 0)
            CU_FAIL("countries out of order");
    }
    suf_money_free(m);
    suf_store_close(&fresh);
}

static void test_money__cleanup(void)
{
    suf_money_free(money);
    money = NULL;
    suf_store_close(&st);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"load fixture", load_fixture},
        {"days are exact", test_money__days_are_exact},
        {"market by longest prefix and date", test_money__market_by_longest_prefix_and_date},
        {"a phone no prefix matches is told apart",
         test_money__a_phone_no_prefix_matches_is_told_apart},
        {"card in effect on the day", test_money__card_in_effect_on_the_day},
        {"policy and Meta views", test_money__policy_and_meta_views},
        {"webhook pricing wins before 2026-10-01",
         test_money__webhook_pricing_wins_before_2026_10_01},
        {"per_conversion bills conversions only",
         test_money__per_conversion_bills_conversions_only},
        {"a million line items sum exactly", test_money__million_line_items_sum_exactly},
        {"category names", test_money__category_names},
        {"model built without a store prices like the loaded one",
         test_money__model_built_without_a_store_prices_like_the_loaded_one},
        {"builder leaves out what cannot match", test_money__builder_leaves_out_what_cannot_match},
        {"service is free before its day, then Service or Utility",
         test_money__service_is_free_before_its_day_then_service_or_utility},
        {"charge says what each view billed", test_money__charge_says_what_each_view_billed},
        {"without an imported map the built-in one prices",
         test_money__without_an_imported_map_the_built_in_one_prices},
        {"countries reach their market through the map",
         test_money__countries_reach_their_market_through_the_map},
        {"cleanup", test_money__cleanup},
        {NULL, NULL},
    };
    return suf_test_main("money", tests);
}
