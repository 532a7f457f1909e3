/*
 * test_rates.c: importing Meta's rate-card CSV (notes before the header, a
 * header cell with an embedded newline, n/a cells, exact amounts) and the
 * market map.
 */
#include <stdio.h>
#include <string.h>

#include "suf/config.h"
#include "suf/context.h"
#include "suf/import.h"
#include "suf/rates.h"
#include "suf/store.h"
#include "testutil.h"

struct env {
    struct suf_config cfg;
    struct suf_store st;
    struct suf_run run;
};

static void env_open(struct env *e, const char *db)
{
    memset(e, 0, sizeof(*e));
    suf_config_init(&e->cfg);
    suf_test_store(&e->st, db);
    e->run.cfg = &e->cfg;
    e->run.store = &e->st;
    suf_clock_init(&e->run.clock, 1795000000);
}

static void env_close(struct env *e)
{
    suf_store_close(&e->st);
    suf_config_release(&e->cfg);
    json_decref(e->run.counts);
}

/* The value of one rate cell: 1 and *v set, 0 for NULL, -1 when no row. */
static int rate(struct env *e, const char *effective, const char *market, const char *col,
                long long *v)
{
    char sql[256];
    sqlite3_stmt *s;
    int rc, out = -1;

    snprintf(sql, sizeof(sql),
             "SELECT r.%s FROM rates r JOIN rate_cards c ON c.id = r.card_id "
             "WHERE c.effective = ?1 AND r.market = ?2",
             col);
    s = suf_store_prepare(&e->st, sql, NULL);
    suf_bind_text(s, 1, effective);
    suf_bind_text(s, 2, market);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 : 1;
        *v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return out;
}

static int64_t scalar(struct env *e, const char *sql)
{
    int64_t v = -1;
    suf_store_scalar(&e->st, sql, NULL, &v, NULL);
    return v;
}

static const char meta_layout[] =
    "\"WhatsApp Business Platform pricing\",,,,,,\n"
    "\"Effective 2026-10-01, per delivered message\",,,,,,\n"
    ",,,,,,\n"
    "Market,Currency,Marketing,Utility,Authentication,\"Authentication-\n"
    "International\",Service\n"
    "India,USD,0.0118,0.0014,0.0014,0.0280,0.0014\n"
    "\"Rest of Central &\nEastern Europe\",USD,0.0860,0.0212,0.0212,n/a,N/A\n"
    "Nigeria,USD,0.0516,0.0067,0.0067,0.0750,n/a\n"
    "Broken,USD,0.01.2,0.0014,0.0014,n/a,n/a\n"
    "Euro,EUR,0.0100,0.0014,0.0014,n/a,n/a\n"
    "India,USD,0.0200,0.0014,0.0014,n/a,n/a\n"
    "\"* Prices exclude taxes\",,,,,,\n";

static void test_rates__meta_layout_with_notes_newline_header_and_na(void)
{
    struct env e;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_import_opts opts = {"2026-10-01", NULL};
    const char *path;
    long long v = 0;

    env_open(&e, "rates1.db");
    path = suf_test_write("card.csv", meta_layout); /* after: the path buffer is shared */
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates, path, &opts, &err),
                    SUF_OK);
    if (err.msg[0])
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_EQUAL(rate(&e, "2026-10-01", "India", "marketing", &v), 1);
    CU_ASSERT_EQUAL(v, 11800);
    CU_ASSERT_EQUAL(rate(&e, "2026-10-01", "India", "authentication_intl", &v), 1);
    CU_ASSERT_EQUAL(v, 28000);
    /* A market name with an embedded newline is folded to one line. */
    CU_ASSERT_EQUAL(rate(&e, "2026-10-01", "Rest of Central & Eastern Europe", "utility", &v), 1);
    CU_ASSERT_EQUAL(v, 21200);
    CU_ASSERT_EQUAL(rate(&e, "2026-10-01", "Rest of Central & Eastern Europe", "service", &v), 0);
    CU_ASSERT_EQUAL(rate(&e, "2026-10-01", "Nigeria", "service", &v), 0);
    /* Bad amount, other currency and a market given twice are rejects; the
     * trailing note is not a row. */
    CU_ASSERT_EQUAL(rate(&e, "2026-10-01", "Broken", "utility", &v), -1);
    CU_ASSERT_EQUAL(rate(&e, "2026-10-01", "Euro", "utility", &v), -1);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects"), 3);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT rows FROM files"), 6);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects WHERE line = 10 AND "
                               "reason LIKE '%marketing rate ''0.01.2''%'"),
                    1);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects WHERE line = 11 AND "
                               "reason LIKE '%currency ''EUR''%'"),
                    1);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects WHERE reason LIKE '%twice%'"), 1);
    env_close(&e);
}

static void test_rates__header_names_match_loosely(void)
{
    static const struct {
        const char *cell;
        int col;
    } rows[] = {
        {"Market", SUF_RATES_COL_MARKET},
        {" market ", SUF_RATES_COL_MARKET},
        {"Authentication-\nInternational", SUF_RATES_COL_AUTHENTICATION_INTL},
        {"AUTHENTICATION INTERNATIONAL", SUF_RATES_COL_AUTHENTICATION_INTL},
        {"authentication_international", SUF_RATES_COL_AUTHENTICATION_INTL},
        {"Service\n(from 2026-10-01)", SUF_RATES_COL_SERVICE},
        {"Utility", SUF_RATES_COL_UTILITY},
        {"Marketing", SUF_RATES_COL_MARKETING},
        {"Currency", SUF_RATES_COL_CURRENCY},
        {"Marketing Lite", SUF_RATES_COL_NONE},
        {"", SUF_RATES_COL_NONE},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CU_ASSERT_EQUAL(suf_rates_column(rows[i].cell), rows[i].col);
}

static void test_rates__effective_date_from_file_name_or_usage_error(void)
{
    struct env e;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_import_opts none = {NULL, NULL};
    char date[11];

    CU_ASSERT_EQUAL(suf_rates_date_from_name("/x/USD_2026-10-01.csv", date), SUF_OK);
    CU_ASSERT_STRING_EQUAL(date, "2026-10-01");
    CU_ASSERT_EQUAL(suf_rates_date_from_name("/x/USD_2026-13-01.csv", date), SUF_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(suf_rates_date_from_name("card.csv", date), SUF_ERR_NOTFOUND);

    env_open(&e, "rates2.db");
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates,
                                    suf_test_write("card.csv", meta_layout), &none, &err),
                    SUF_ERR_USAGE);
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates,
                                    suf_test_write("INR_2027-01-01.csv", meta_layout), &none,
                                    &err),
                    SUF_OK);
    /* The currency comes from the file name too; the USD rows are then
     * the wrong currency and rejected. */
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rate_cards WHERE currency = 'INR' AND "
                               "effective = '2027-01-01'"),
                    1);
    env_close(&e);
}

static void test_rates__cards_coexist_and_reimport_replaces(void)
{
    struct env e;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_import_opts jul = {"2026-07-01", "USD"}, oct = {"2026-10-01", "USD"};
    long long v = 0;

    env_open(&e, "rates3.db");
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates,
                                    suf_test_write("a.csv", meta_layout), &jul, &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates,
                                    suf_test_write("a.csv", meta_layout), &oct, &err),
                    SUF_OK); /* same bytes: skipped as seen */
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rate_cards"), 1);
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates,
                                    suf_test_write("b.csv",
                                                   "Market,Utility\nIndia,0.0015\n"),
                                    &oct, &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rate_cards"), 2);
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates,
                                    suf_test_write("c.csv",
                                                   "Market,Utility\nIndia,0.0016\n"),
                                    &oct, &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rate_cards"), 2);
    CU_ASSERT_EQUAL(rate(&e, "2026-10-01", "India", "utility", &v), 1);
    CU_ASSERT_EQUAL(v, 1600);
    CU_ASSERT_EQUAL(rate(&e, "2026-07-01", "India", "utility", &v), 1);
    CU_ASSERT_EQUAL(v, 1400);
    env_close(&e);
}

static void test_rates__file_without_header_is_a_hard_error(void)
{
    struct env e;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_import_opts o = {"2026-10-01", "USD"};

    env_open(&e, "rates4.db");
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates,
                                    suf_test_write("x.csv", "a,b\n1,2\n"), &o, &err),
                    SUF_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "Market"));
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rate_cards"), 0);
    env_close(&e);
}

static void test_markets__map_imports_and_rejects_bad_rows(void)
{
    struct env e;
    struct suf_err err = SUF_ERR_INIT;

    env_open(&e, "markets.db");
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "markets", suf_import_markets,
                                    suf_test_write("m.csv",
                                                   "prefix,market,since\n"
                                                   "+91,India,\n"
                                                   "1-809,Rest of Latin America,\n"
                                                   "880,Rest of Asia Pacific,\n"
                                                   "880,Bangladesh,2026-10-01\n"
                                                   "abc,Nowhere,\n"
                                                   "44,,\n"
                                                   "33,France,2026-02-30\n"
                                                   "91,India,\n"),
                                    NULL, &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM markets"), 4);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM markets WHERE prefix = '1809'"), 1);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects"), 4);
    /* A new map replaces the old one. */
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "markets", suf_import_markets,
                                    suf_test_write("m2.csv", "prefix,market\n44,United Kingdom\n"),
                                    NULL, &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM markets"), 1);
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "markets", suf_import_markets,
                                    suf_test_write("m3.csv", "code;name\n"), NULL, &err),
                    SUF_ERR_INPUT);
    env_close(&e);
}

static void test_rates__fixture_cards_import_cleanly(void)
{
    struct env e;
    struct suf_err err = SUF_ERR_INIT;
    long long v = 0;

    env_open(&e, "fixtures.db");
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "markets", suf_import_markets,
                                    suf_test_source("fixtures/markets.csv"), NULL, &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates,
                                    suf_test_source("fixtures/rates"), NULL, &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects"), 0);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rate_cards"), 2);
    /* Every market of the map has a rate in the October card. */
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM (SELECT DISTINCT market FROM markets) m "
                               "WHERE market NOT IN (SELECT market FROM rates r JOIN rate_cards "
                               "c ON c.id = r.card_id WHERE c.effective = '2026-10-01')"),
                    0);
    CU_ASSERT_EQUAL(rate(&e, "2026-10-01", "Rest of Asia Pacific", "marketing", &v), 1);
    CU_ASSERT_EQUAL(v, 73200);
    CU_ASSERT_EQUAL(rate(&e, "2026-07-01", "India", "service", &v), 0);
    env_close(&e);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"meta layout: notes, newline header, n/a", test_rates__meta_layout_with_notes_newline_header_and_na},
        {"header names match loosely", test_rates__header_names_match_loosely},
        {"effective date from the file name", test_rates__effective_date_from_file_name_or_usage_error},
        {"cards coexist; reimport replaces", test_rates__cards_coexist_and_reimport_replaces},
        {"no header is a hard error", test_rates__file_without_header_is_a_hard_error},
        {"market map", test_markets__map_imports_and_rejects_bad_rows},
        {"fixture cards import cleanly", test_rates__fixture_cards_import_cleanly},
        {NULL, NULL},
    };
    return suf_test_main("rates", tests);
}
