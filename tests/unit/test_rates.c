/*
 * test_rates.c: importing Meta's rate-card CSV (notes before the header, a
 * header cell with an embedded newline, n/a cells, exact amounts) and the
 * market map, and what both do with hostile bytes: invalid UTF-8, NUL, a
 * lone CR, fields over 64 KiB and market names too long to keep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/context.h"
#include "base/hash.h"
#include "base/utf8.h"
#include "base/util.h"
#include "import/import.h"
#include "import/rates.h"
#include "money/money.h"
#include "money/money_builtin.h"
#include "store/store.h"
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

static int cmp_map_row(const void *a, const void *b)
{
    const struct suf_money_map_row *x = a, *y = b;
    int c = strcmp(x->prefix, y->prefix);

    return c ? c : strcmp(x->since, y->since);
}

/* The built-in map is generated from fixtures/markets.csv at build time by
 * a script that reads only the file's simple shape; here the same file goes
 * through the real importer, and both must give the very same rows. */
static void test_markets__built_in_map_is_the_shipped_csv_as_imported(void)
{
    struct env e;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_money_map_row *rows;
    sqlite3_stmt *s;
    size_t n = suf_money_builtin_map_rows, i = 0;

    env_open(&e, "builtin.db");
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "markets", suf_import_markets,
                                    suf_test_source("fixtures/markets.csv"), NULL, &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects"), 0);
    CU_ASSERT_EQUAL_FATAL(scalar(&e, "SELECT count(*) FROM markets"), (int64_t)n);
    CU_ASSERT_FATAL(n > 200);
    rows = suf_xmalloc(n * sizeof(*rows));
    memcpy(rows, suf_money_builtin_map, n * sizeof(*rows));
    qsort(rows, n, sizeof(*rows), cmp_map_row);
    s = suf_store_prepare(&e.st, "SELECT prefix, since, market FROM markets ORDER BY 1, 2",
                          NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (; sqlite3_step(s) == SQLITE_ROW && i < n; i++) {
        const char *prefix = (const char *)sqlite3_column_text(s, 0);
        const char *since = (const char *)sqlite3_column_text(s, 1);
        const char *market = (const char *)sqlite3_column_text(s, 2);

        if (strcmp(prefix, rows[i].prefix) || strcmp(since, rows[i].since) ||
            strcmp(market, rows[i].market))
            fprintf(stderr, "imported %s,%s,%s; built in %s,%s,%s\n", prefix, market, since,
                    rows[i].prefix, rows[i].market, rows[i].since);
        CU_ASSERT_STRING_EQUAL(prefix, rows[i].prefix);
        CU_ASSERT_STRING_EQUAL(since, rows[i].since);
        CU_ASSERT_STRING_EQUAL(market, rows[i].market);
    }
    CU_ASSERT_EQUAL(i, n);
    sqlite3_finalize(s);
    free(rows);
    env_close(&e);
}

/* What the money model loaded from the store makes of a phone on
 * 2026-11-20, and where its market map came from. */
struct map_seen {
    char market[64];
    bool builtin;
    char path[1024], sha256[SUF_SHA256_HEX];
};

static void map_seen(struct env *e, const char *phone, struct map_seen *out)
{
    struct suf_money *m = NULL;
    struct suf_money_map_source src;

    CU_ASSERT_EQUAL_FATAL(suf_money_load(&m, &e->st, "USD", NULL), SUF_OK);
    suf_strlcpy(out->market, suf_money_market_name(m, suf_money_market(m, phone, 20777)),
                sizeof(out->market));
    suf_money_map_source(m, &src);
    out->builtin = src.builtin;
    suf_strlcpy(out->path, src.path, sizeof(out->path));
    suf_strlcpy(out->sha256, src.sha256, sizeof(out->sha256));
    suf_money_free(m);
}

static void test_markets__an_import_replaces_the_built_in_map(void)
{
    struct env e;
    struct suf_err err = SUF_ERR_INIT;
    struct map_seen seen;
    char path[1024], sha[SUF_SHA256_HEX];
    FILE *f;

    env_open(&e, "replace.db");
    /* Nothing imported: the built-in map. */
    map_seen(&e, "5511999999999", &seen);
    CU_ASSERT_STRING_EQUAL(seen.market, "Brazil");
    CU_ASSERT_TRUE(seen.builtin);
    CU_ASSERT_STRING_EQUAL(seen.sha256, suf_money_builtin_map_sha256);
    /* A map with no usable row is refused, and the built-in map stays. */
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "markets", suf_import_markets,
                                    suf_test_write("bad.csv", "prefix,market\nxx,Nowhere\n"),
                                    NULL, &err),
                    SUF_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bad.csv: no usable market row (line 2: prefix "
                                           "'xx' is not a calling code): the map in use is "
                                           "kept"));
    map_seen(&e, "5511999999999", &seen);
    CU_ASSERT_STRING_EQUAL(seen.market, "Brazil");
    CU_ASSERT_TRUE(seen.builtin);
    /* An imported map replaces the built-in one whole. */
    suf_strlcpy(path, suf_test_write("mine.csv", "prefix,market\n91,Testland\n"), sizeof(path));
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "markets", suf_import_markets, path, NULL, &err),
                    SUF_OK);
    f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(suf_sha256_stream(f, sha), SUF_OK);
    fclose(f);
    map_seen(&e, "919812345678", &seen);
    CU_ASSERT_STRING_EQUAL(seen.market, "Testland");
    CU_ASSERT_FALSE(seen.builtin);
    CU_ASSERT_STRING_EQUAL(seen.path, path);
    CU_ASSERT_STRING_EQUAL(seen.sha256, sha);
    map_seen(&e, "5511999999999", &seen);
    CU_ASSERT_STRING_EQUAL(seen.market, "Unknown"); /* no Brazil, and no card with an Other */
    /* A header and nothing else is refused too; the imported map stays. */
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "markets", suf_import_markets,
                                    suf_test_write("empty.csv", "prefix,market\n"), NULL, &err),
                    SUF_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "empty.csv: no market rows after the header"));
    map_seen(&e, "919812345678", &seen);
    CU_ASSERT_STRING_EQUAL(seen.market, "Testland");
    CU_ASSERT_STRING_EQUAL(seen.path, path);
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects"), 0); /* rolled back */
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

/* --- hostile input: every record is stored, skipped as a note or rejected -- */

/* A file built as head + nfill copies of fill[0..fill_len) + tail, so that
 * a case can hold a NUL byte or a 8 MiB field. */
struct hostile_file {
    const char *head;
    const char *fill;
    size_t fill_len;
    size_t nfill;
    const char *tail;
};

static const char *write_hostile(const char *name, const struct hostile_file *h)
{
    const char *path = suf_test_path(name);
    FILE *out = fopen(path, "wb");
    int bad;

    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    bad = fputs(h->head, out) < 0;
    for (size_t i = 0; i < h->nfill && !bad; i++)
        bad = fwrite(h->fill, 1, h->fill_len, out) != h->fill_len;
    bad |= fputs(h->tail, out) < 0;
    bad |= fclose(out) != 0;
    CU_ASSERT_FALSE_FATAL(bad);
    return path;
}

/* The first column of a one-row query as text, "" for NULL or no row. */
static void text_scalar(struct env *e, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *s = suf_store_prepare(&e->st, sql, NULL);
    const unsigned char *v;

    out[0] = '\0';
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    if (sqlite3_step(s) == SQLITE_ROW && (v = sqlite3_column_text(s, 0)))
        snprintf(out, size, "%s", (const char *)v);
    sqlite3_finalize(s);
}

/* Every reject's reason must be valid UTF-8: a reason quotes cells, and a
 * cell cut mid-character would carry a broken one into the workbooks. */
static void assert_reasons_utf8(struct env *e)
{
    sqlite3_stmt *s = suf_store_prepare(&e->st, "SELECT reason FROM rejects", NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(s, 0);
        CU_ASSERT_TRUE(r && suf_utf8_valid(r, strlen(r)));
    }
    sqlite3_finalize(s);
}

struct hostile_case {
    const char *what;
    struct hostile_file file;
    const char *stored; /* "market/bytes,..." in market order */
    int64_t rows;       /* rows counted: stored + rejected */
    int64_t line;       /* the one reject's line, 0 for none */
    const char *reason; /* a substring of its reason */
};

#define RATE_HEAD "Market,Currency,Marketing,Utility,Authentication,Service\n"
#define INDIA "India,USD,0.0107,0.0014,,\n"
#define BRAZIL "Brazil,USD,0.0625,0.0080,,\n"
#define E_ACUTE "\xC3\xA9"
#define E_ACUTE_8 E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE

static const struct hostile_case card_cases[] = {
    {"invalid UTF-8 rejects its row",
     {RATE_HEAD INDIA "Caf", "\xE9", 1, 1, ",USD,0.01,0.01,,\n" BRAZIL},
     "Brazil/6,India/5", 3, 3, "invalid UTF-8"},
    {"a NUL byte rejects its row, never cuts the cell",
     {RATE_HEAD INDIA "Ne", "\0", 1, 1, "pal,USD,0.01,0.01,,\n" BRAZIL},
     "Brazil/6,India/5", 3, 3, "invalid UTF-8"},
    {"a lone CR ends a record: both records are stored",
     {RATE_HEAD "India,USD,0.0107,0.0014,,", "\r", 1, 1, BRAZIL "Mexico,USD,0.0305,0.0085,,\n"},
     "Brazil/6,India/5,Mexico/6", 3, 0, NULL},
    {"a field just over 64 KiB rejects its row",
     {RATE_HEAD INDIA "\"", "a", 1, 65537, "\",USD,0.01,0.01,,\n" BRAZIL},
     "Brazil/6,India/5", 3, 3, "field over 64 KiB"},
    {"an 8 MiB field rejects its row and the next rows still import",
     {RATE_HEAD INDIA "x", "0123456789abcdef", 16, 1u << 19, ",USD,0.01,0.01,,\n" BRAZIL},
     "Brazil/6,India/5", 3, 3, "field over 64 KiB"},
    {"a market name of 128 bytes is kept whole",
     {RATE_HEAD INDIA, "M", 1, 128, ",USD,0.01,0.01,,\n"},
     "India/5,MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM"
     "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM/128",
     2, 0, NULL},
    {"a market name over 128 bytes is rejected, never cut",
     {RATE_HEAD INDIA, "M", 1, 129, ",USD,0.01,0.01,,\n"},
     "India/5", 2, 3, "market name 'MMMM"},
    {"64 two-byte characters are 128 bytes: kept",
     {RATE_HEAD INDIA, E_ACUTE, 2, 64, ",USD,0.01,0.01,,\n"},
     "India/5," E_ACUTE_8 E_ACUTE_8 E_ACUTE_8 E_ACUTE_8 E_ACUTE_8 E_ACUTE_8 E_ACUTE_8 E_ACUTE_8
     "/128",
     2, 0, NULL},
    {"129 bytes of two-byte characters are rejected; the reason quotes whole characters",
     {RATE_HEAD INDIA "x", E_ACUTE, 2, 64, ",USD,0.01,0.01,,\n"}, "India/5", 2, 3,
     "market name 'x" E_ACUTE_8 E_ACUTE_8 E_ACUTE E_ACUTE E_ACUTE "...' is over 128 bytes"},
    {"a long currency cell is not the card's currency",
     {RATE_HEAD INDIA "Chile,USD", " ", 1, 100, "X,0.01,0.01,,\n"}, "India/5", 2, 3,
     "currency 'USD X'"},
    {"a long note before the header is skipped like any note",
     {"\"", "n", 1, 100000, "\",,,\n" RATE_HEAD INDIA}, "India/5", 1, 0, NULL},
};

static void test_rates__hostile_rows_are_stored_or_rejected_never_cut(void)
{
    static const char stored_sql[] =
        "SELECT group_concat(m, ',') FROM (SELECT market || '/' || length(CAST(market AS BLOB)) "
        "AS m "
        "FROM rates ORDER BY market)";

    for (size_t i = 0; i < sizeof(card_cases) / sizeof(card_cases[0]); i++) {
        const struct hostile_case *c = &card_cases[i];
        struct suf_import_opts o = {"2026-10-01", "USD"};
        struct suf_err err = SUF_ERR_INIT;
        char got[1024], sql[256];
        struct env e;
        int rc;

        env_open(&e, "hostile.db");
        rc = suf_import_path(&e.run, "rates", suf_import_rates, write_hostile("h.csv", &c->file),
                             &o, &err);
        CU_ASSERT_EQUAL(rc, SUF_OK);
        text_scalar(&e, stored_sql, got, sizeof(got));
        if (strcmp(got, c->stored) || rc)
            fprintf(stderr, "\n%s: stored '%s' (%s)\n", c->what, got, err.msg);
        CU_ASSERT_STRING_EQUAL(got, c->stored);
        CU_ASSERT_EQUAL(scalar(&e, "SELECT rows FROM files"), c->rows);
        CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects"), c->line ? 1 : 0);
        if (c->line) {
            snprintf(sql, sizeof(sql), "SELECT line || ': ' || reason FROM rejects");
            text_scalar(&e, sql, got, sizeof(got));
            if (strtoll(got, NULL, 10) != c->line || !strstr(got, c->reason))
                fprintf(stderr, "\n%s: reject '%s'\n", c->what, got);
            CU_ASSERT_EQUAL(strtoll(got, NULL, 10), c->line);
            CU_ASSERT_PTR_NOT_NULL(strstr(got, c->reason));
        }
        assert_reasons_utf8(&e);
        env_close(&e);
    }
}

static void test_rates__no_header_names_the_first_unreadable_line(void)
{
    static const struct hostile_file big = {"note\n", "a", 1, 200000, "\n"};
    struct suf_import_opts o = {"2026-10-01", "USD"};
    struct suf_err err = SUF_ERR_INIT;
    struct env e;

    env_open(&e, "nohead.db");
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "rates", suf_import_rates,
                                    write_hostile("big.csv", &big), &o, &err),
                    SUF_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no header row starting with 'Market'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(line 2: field over 64 KiB)"));
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rate_cards"), 0);
    env_close(&e);
}

#define MAP_HEAD "prefix,market,since\n"

static const struct hostile_case map_cases[] = {
    {"invalid UTF-8 rejects its row",
     {MAP_HEAD "91,India,\n33,Fran", "\xE7", 1, 1, "e,\n55,Brazil,\n"},
     "55=Brazil/6,91=India/5", 3, 3, "invalid UTF-8"},
    {"a NUL byte rejects its row",
     {MAP_HEAD "91,India,\n977,Ne", "\0", 1, 1, "pal,\n55,Brazil,\n"},
     "55=Brazil/6,91=India/5", 3, 3, "invalid UTF-8"},
    {"a lone CR ends a record: both records are stored",
     {MAP_HEAD "91,India,", "\r", 1, 1, "55,Brazil,\n52,Mexico,\n"},
     "52=Mexico/6,55=Brazil/6,91=India/5", 3, 0, NULL},
    {"a field over 64 KiB rejects its row",
     {MAP_HEAD "91,India,\n44,", "U", 1, 70000, ",\n55,Brazil,\n"},
     "55=Brazil/6,91=India/5", 3, 3, "field over 64 KiB"},
    {"a market name over 128 bytes is rejected, never cut",
     {MAP_HEAD "91,India,\n44,", E_ACUTE, 2, 65, ",\n"}, "91=India/5", 2, 3,
     "prefix '44': market name"},
    {"a long since is rejected, not read cut",
     {MAP_HEAD "91,India,\n880,Bangladesh,2026-10-01", "0", 1, 100, "\n"}, "91=India/5", 2, 3,
     "since '2026-10-01000"},
};

static void test_markets__hostile_rows_are_stored_or_rejected_never_cut(void)
{
    static const char stored_sql[] =
        "SELECT group_concat(m, ',') FROM (SELECT prefix || '=' || market || '/' || "
        "length(CAST(market AS BLOB)) AS m FROM markets ORDER BY prefix)";

    for (size_t i = 0; i < sizeof(map_cases) / sizeof(map_cases[0]); i++) {
        const struct hostile_case *c = &map_cases[i];
        struct suf_err err = SUF_ERR_INIT;
        char got[1024];
        struct env e;
        int rc;

        env_open(&e, "hostile_map.db");
        rc = suf_import_path(&e.run, "markets", suf_import_markets,
                             write_hostile("m.csv", &c->file), NULL, &err);
        CU_ASSERT_EQUAL(rc, SUF_OK);
        text_scalar(&e, stored_sql, got, sizeof(got));
        if (strcmp(got, c->stored) || rc)
            fprintf(stderr, "\n%s: stored '%s' (%s)\n", c->what, got, err.msg);
        CU_ASSERT_STRING_EQUAL(got, c->stored);
        CU_ASSERT_EQUAL(scalar(&e, "SELECT rows FROM files"), c->rows);
        CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM rejects"), c->line ? 1 : 0);
        if (c->line) {
            text_scalar(&e, "SELECT line || ': ' || reason FROM rejects", got, sizeof(got));
            if (strtoll(got, NULL, 10) != c->line || !strstr(got, c->reason))
                fprintf(stderr, "\n%s: reject '%s'\n", c->what, got);
            CU_ASSERT_EQUAL(strtoll(got, NULL, 10), c->line);
            CU_ASSERT_PTR_NOT_NULL(strstr(got, c->reason));
        }
        assert_reasons_utf8(&e);
        env_close(&e);
    }
}

static void test_markets__unreadable_header_is_a_hard_error(void)
{
    static const struct hostile_file bad = {"pre", "\xFF", 1, 1, "fix,market\n91,India\n"};
    struct suf_err err = SUF_ERR_INIT;
    struct env e;

    env_open(&e, "map_head.db");
    CU_ASSERT_EQUAL(suf_import_path(&e.run, "markets", suf_import_markets,
                                    write_hostile("mh.csv", &bad), NULL, &err),
                    SUF_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a market map"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "invalid UTF-8"));
    CU_ASSERT_EQUAL(scalar(&e, "SELECT count(*) FROM markets"), 0);
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
        {"built-in map is the shipped CSV as imported",
         test_markets__built_in_map_is_the_shipped_csv_as_imported},
        {"an import replaces the built-in map", test_markets__an_import_replaces_the_built_in_map},
        {"fixture cards import cleanly", test_rates__fixture_cards_import_cleanly},
        {"hostile rate rows: stored or rejected, never cut", test_rates__hostile_rows_are_stored_or_rejected_never_cut},
        {"no header: names the first unreadable line", test_rates__no_header_names_the_first_unreadable_line},
        {"hostile map rows: stored or rejected, never cut", test_markets__hostile_rows_are_stored_or_rejected_never_cut},
        {"unreadable map header is a hard error", test_markets__unreadable_header_is_a_hard_error},
        {NULL, NULL},
    };
    return suf_test_main("rates", tests);
}
