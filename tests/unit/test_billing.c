/*
 * test_billing.c: importing what Meta billed (pricing_analytics responses)
 * into meta_billing and meta_billing_periods.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/config.h"
#include "base/context.h"
#include "import/billing.h"
#include "import/import.h"
#include "testutil.h"

/* Meta's own example response (the Analytics page, "Pricing analytics"),
 * with a WABA id in place of its "...". */
#define META_EXAMPLE                                                                     \
    "{\"pricing_analytics\":{\"data\":[{\"data_points\":[{\"start\":1749106800,"          \
    "\"end\":1749193200,\"country\":\"IN\",\"tier\":\"0:750000\",\"pricing_type\":"       \
    "\"REGULAR\",\"pricing_category\":\"AUTHENTICATION_INTERNATIONAL\",\"volume\":2,"     \
    "\"cost\":4.6},{\"start\":1749193200,\"end\":1749279600,\"country\":\"IN\","          \
    "\"pricing_type\":\"FREE_CUSTOMER_SERVICE\",\"pricing_category\":\"SERVICE\","        \
    "\"volume\":2,\"cost\":0}]}]},\"id\":\"102290129340398\"}"

/* One data point of 2026-11-24 (a UTC day) for US utility messages. */
#define POINT(rest)                                                                      \
    "{\"start\":1795478400,\"end\":1795564800,\"country\":\"US\",\"pricing_category\":"   \
    "\"UTILITY\",\"pricing_type\":\"REGULAR\",\"volume\":3" rest "}"

#define NOW 1795485600 /* 2026-11-24T02:00:00Z */

/* The first column of the first row of `sql`; -1 when there is none, -2
 * when it is NULL. */
static int64_t scalar(struct suf_test_run *fx, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t n = -1;

    if (sqlite3_prepare_v2(fx->st.db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_type(s, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* Writes `text` to the scratch file `name` and imports it as billing. */
static int import_text(struct suf_test_run *fx, const char *name, const char *text,
                       struct suf_err *err)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s", suf_test_write(name, text));
    return suf_import_path(&fx->run, "billing", suf_import_billing, path, NULL, err);
}

/* The reasons of the rejects, in order, joined by " | ". */
static void reject_reasons(struct suf_test_run *fx, char *buf, size_t size)
{
    sqlite3_stmt *s = NULL;
    size_t len = 0;

    buf[0] = '\0';
    if (sqlite3_prepare_v2(fx->st.db, "SELECT reason FROM rejects ORDER BY id", -1, &s, NULL))
        return;
    while (sqlite3_step(s) == SQLITE_ROW && len < size)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " | " : "",
                                (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

static void test_billing__meta_example_response_is_stored_point_by_point(void)
{
    struct suf_test_run fx;
    struct suf_err err = SUF_ERR_INIT;

    suf_test_run_open(&fx, "example.db", NOW);
    CU_ASSERT_EQUAL_FATAL(import_text(&fx, "example.json", META_EXAMPLE, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing"), 2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT cost FROM meta_billing WHERE bucket_start = 1749106800"
                                " AND bucket_end = 1749193200 AND country = 'IN'"
                                " AND tier = '0:750000' AND pricing_type = 'REGULAR'"
                                " AND pricing_category = 'AUTHENTICATION_INTERNATIONAL'"
                                " AND volume = 2 AND waba_id = '102290129340398'"
                                " AND phone_number = '' AND file_id IS NOT NULL"),
                    4600000);
    /* a free row: cost 0 is given, and it is 0, not "not given" */
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT cost FROM meta_billing WHERE bucket_start = 1749193200"
                                " AND pricing_category = 'SERVICE' AND tier = ''"),
                    0);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing_periods"
                                " WHERE waba_id = '102290129340398' AND since = 1749106800"
                                " AND until = 1749279600 AND cost_given = 1"
                                " AND imported_at = 1795485600"),
                    1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM rejects"), 0);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "billing.rows"), 2);
    /* the same file again is skipped by its hash */
    CU_ASSERT_EQUAL(import_text(&fx, "example.json", META_EXAMPLE, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "billing.skipped_files"), 1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM files"), 1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing"), 2);
    suf_test_run_close(&fx);
}

static void test_billing__cost_absent_or_null_is_not_given_never_zero(void)
{
    struct suf_test_run fx;
    struct suf_err err = SUF_ERR_INIT;

    suf_test_run_open(&fx, "nocost.db", NOW);
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "credit-line.json",
                    "{\"currency\":\"USD\",\"pricing_analytics\":{\"data\":[{\"data_points\":["
                    POINT("") "," POINT(",\"phone_number\":\"15550001111\",\"cost\":null")
                    "]}]},\"id\":\"42\"}",
                    &err),
        SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing"), 2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing WHERE cost IS NULL"), 2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing WHERE cost = 0"), 0);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing WHERE currency = 'USD'"
                                " AND volume = 3"),
                    2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing"
                                " WHERE phone_number = '15550001111'"),
                    1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT cost_given FROM meta_billing_periods"), 0);
    suf_test_run_close(&fx);
}

/* suf_billing_cost, from the number's JSON text. */
static void test_billing__cost_is_exact_micros_or_refused(void)
{
    static const struct {
        const char *json;
        int rc;
        int64_t micros; /* -1: not given */
        const char *why;
    } rows[] = {
        {"0.0353", SUF_OK, 35300, NULL},
        {"4.6", SUF_OK, 4600000, NULL},
        {"0", SUF_OK, 0, NULL},
        {"0.0", SUF_OK, 0, NULL},
        {"12", SUF_OK, 12000000, NULL},
        {"0.000001", SUF_OK, 1, NULL},
        {"1e-5", SUF_OK, 10, NULL},
        {"123456.789012", SUF_OK, 123456789012, NULL},
        {"0.1", SUF_OK, 100000, NULL},
        {"0.30000000000000004", SUF_ERR_INPUT, 0, "cost '0.30000000000000004' has more than 6 decimals"},
        {"0.1234567", SUF_ERR_INPUT, 0, "cost '0.1234567' has more than 6 decimals"},
        {"1e-7", SUF_ERR_INPUT, 0, "cost '1e-07' has more than 6 decimals"},
        {"-0.5", SUF_ERR_INPUT, 0, "cost '-0.5' is negative"},
        {"-3", SUF_ERR_INPUT, 0, "cost '-3' is negative"},
        {"1e300", SUF_ERR_INPUT, 0, "is too large"},
        {"\"0.0353\"", SUF_ERR_INPUT, 0, "cost is not a number"},
        {"true", SUF_ERR_INPUT, 0, "cost is not a number"},
        {"null", SUF_OK, -1, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *v = json_loads(rows[i].json, JSON_DECODE_ANY, NULL);
        int64_t micros = -7;
        bool given = true;
        char why[160] = "";
        int rc;

        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        rc = suf_billing_cost(v, &micros, &given, why, sizeof(why));
        CU_ASSERT_EQUAL(rc, rows[i].rc);
        if (rc == SUF_OK && rows[i].micros >= 0) {
            CU_ASSERT_TRUE(given);
            CU_ASSERT_EQUAL(micros, rows[i].micros);
        } else if (rc == SUF_OK) {
            CU_ASSERT_FALSE(given);
        } else {
            CU_ASSERT_PTR_NOT_NULL(strstr(why, rows[i].why));
        }
        if (rc != rows[i].rc || (rc == SUF_OK && given && micros != rows[i].micros) ||
            (rc && !strstr(why, rows[i].why)))
            fprintf(stderr, "\n%s: rc %d, micros %lld, why '%s'\n", rows[i].json, rc,
                    (long long)micros, why);
        json_decref(v);
    }
    /* absent is not given, like null */
    {
        int64_t micros = -7;
        bool given = true;
        char why[16];

        CU_ASSERT_EQUAL(suf_billing_cost(NULL, &micros, &given, why, sizeof(why)), SUF_OK);
        CU_ASSERT_FALSE(given);
    }
}

/* Each bad point is rejected with its position and reason; the good ones of
 * the same file, in both groups, are stored. */
static void test_billing__bad_points_are_rejected_with_their_position(void)
{
    struct suf_test_run fx;
    struct suf_err err = SUF_ERR_INIT;
    char reasons[2048];

    suf_test_run_open(&fx, "bad.db", NOW);
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "bad.json",
                    "{\"data\":[{\"data_points\":["
                    POINT(",\"cost\":0.0353") ","
                    POINT(",\"cost\":0.1234567") ","
                    POINT(",\"region\":\"EU\"") "]},"
                    "{\"data_points\":["
                    "{\"start\":1795564800,\"end\":1795564800,\"volume\":1},"
                    "{\"start\":1795564800,\"end\":1795651200,\"volume\":-1},"
                    "{\"start\":1795564800,\"end\":1795651200,\"volume\":2.5},"
                    "{\"start\":\"1795564800\",\"end\":1795651200,\"volume\":1},"
                    "{\"start\":1795564800,\"end\":1795651200,\"country\":\"usa\",\"volume\":1},"
                    "{\"start\":1795564800,\"end\":1795651200,\"volume\":1,\"cost\":0.5},"
                    "{\"start\":1795564800,\"end\":1795651200,\"volume\":4,\"cost\":1},"
                    "{\"start\":1795564800,\"end\":1798416000,\"volume\":4}]},"
                    "{\"points\":[]}]}",
                    &err),
        SUF_OK);
    reject_reasons(&fx, reasons, sizeof(reasons));
    CU_ASSERT_STRING_EQUAL(
        reasons,
        "data[0].data_points[1]: cost '0.1234567' has more than 6 decimals | "
        "data[0].data_points[2]: unknown dimension 'region' | "
        "data[1].data_points[0]: start 1795564800 is not before end 1795564800 | "
        "data[1].data_points[1]: volume '-1' is not a non-negative integer | "
        "data[1].data_points[2]: volume '2.5' is not a non-negative integer | "
        "data[1].data_points[3]: 'start' is not a unix time in whole seconds | "
        "data[1].data_points[4]: country '\"usa\"' is not a two-letter country code | "
        "data[1].data_points[7]: bucket of 2851200 seconds is longer than a month | "
        "data[2]: has no \"data_points\" array | "
        "data[1].data_points[6]: repeats the bucket and dimensions of an earlier data point");
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing"), 2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT cost FROM meta_billing WHERE country = 'US'"), 35300);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT cost FROM meta_billing WHERE country = ''"), 500000);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT rows FROM files"), 12);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT rejects FROM files"), 10);
    CU_ASSERT_EQUAL(
        scalar(&fx, "SELECT count(*) FROM rejects WHERE CAST(raw AS TEXT) LIKE '%0.1234567}'"), 1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing_periods WHERE"
                                " since = 1795478400 AND until = 1795651200"),
                    1);
    suf_test_run_close(&fx);
}

/* The pricing_analytics object alone, and two groups of points. */
static void test_billing__top_level_object_and_two_groups(void)
{
    struct suf_test_run fx;
    struct suf_err err = SUF_ERR_INIT;

    suf_test_run_open(&fx, "groups.db", NOW);
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "groups.json",
                    "{\"data\":[{\"data_points\":[" POINT(",\"cost\":0.03") "]},"
                    "{\"data_points\":[" POINT(",\"cost\":0.04,\"phone_number\":\"15550002222\"")
                    "]}]}",
                    &err),
        SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing WHERE waba_id = ''"
                                " AND currency IS NULL"),
                    2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT sum(cost) FROM meta_billing"), 70000);
    suf_test_run_close(&fx);
}

/* A later file of the same span replaces it: changed rows change, rows Meta
 * no longer reports go, rows outside the span stay. */
static void test_billing__a_refetch_replaces_its_span(void)
{
    struct suf_test_run fx;
    struct suf_err err = SUF_ERR_INIT;

    suf_test_run_open(&fx, "refetch.db", NOW);
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "first.json",
                    "{\"data\":[{\"data_points\":["
                    POINT(",\"cost\":0.03") ","
                    POINT(",\"cost\":0.05,\"phone_number\":\"15550002222\"") ","
                    "{\"start\":1795564800,\"end\":1795651200,\"volume\":9,\"cost\":1.5}]}]}",
                    &err),
        SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing"), 3);
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "second.json",
                    "{\"data\":[{\"data_points\":[" POINT(",\"cost\":0.06") "]}]}", &err),
        SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing"), 2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT cost FROM meta_billing WHERE bucket_start = 1795478400"),
                    60000);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT cost FROM meta_billing WHERE bucket_start = 1795564800"),
                    1500000);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing_periods"), 2);
    suf_test_run_close(&fx);
}

/* A reply kept by the API fetch says the span asked: that span is recorded
 * and replaced, even where Meta had nothing; a bucket of the account's own
 * day that starts before it widens it. */
static void test_billing__the_span_asked_is_recorded_and_replaced(void)
{
    struct suf_test_run fx;
    struct suf_err err = SUF_ERR_INIT;

    suf_test_run_open(&fx, "asked.db", NOW);
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "before.json",
                    "{\"data\":[{\"data_points\":[" POINT(",\"cost\":0.03") ","
                    "{\"start\":1795564800,\"end\":1795651200,\"volume\":9,\"cost\":1.5}]}]}",
                    &err),
        SUF_OK);
    /* 2026-11-24..26 asked, and Meta had nothing: both old rows go */
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "empty.json",
                    "{\"asked\":{\"since\":1795478400,\"until\":1795651200},"
                    "\"pricing_analytics\":{\"data\":[{\"data_points\":[]}]},\"id\":\"7\"}",
                    &err),
        SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing WHERE waba_id = '7'"), 0);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing_periods WHERE waba_id = '7'"
                                " AND since = 1795478400 AND until = 1795651200 AND cost_given = 1"),
                    1);
    /* an empty reply of another span is no copy of the first: recorded too */
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "empty2.json",
                    "{\"asked\":{\"since\":1795651200,\"until\":1795737600},"
                    "\"pricing_analytics\":{\"data\":[{\"data_points\":[]}]},\"id\":\"7\"}",
                    &err),
        SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing_periods WHERE waba_id = '7'"),
                    2);
    /* a Pacific day (08:00Z) starting before the span asked widens it */
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "pacific.json",
                    "{\"asked\":{\"since\":1795824000,\"until\":1795910400},"
                    "\"pricing_analytics\":{\"data\":[{\"data_points\":[{\"start\":1795766400,"
                    "\"end\":1795852800,\"volume\":1}]}]},\"id\":\"7\"}",
                    &err),
        SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing_periods WHERE waba_id = '7'"
                                " AND since = 1795766400 AND until = 1795910400"),
                    1);
    /* without "asked", a file with no point records nothing (as before) */
    CU_ASSERT_EQUAL_FATAL(
        import_text(&fx, "plain-empty.json",
                    "{\"pricing_analytics\":{\"data\":[]},\"id\":\"8\"}", &err),
        SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing_periods WHERE waba_id = '8'"),
                    0);
    suf_test_run_close(&fx);
}

/* A file that is no response: an error naming the file, nothing stored. */
static void test_billing__a_malformed_file_stores_nothing(void)
{
    static const struct {
        const char *name, *text, *msg;
    } rows[] = {
        {"truncated.json", "{\"data\":[{\"data_points\":[\n{\"start\":1,",
         "truncated.json:2: not a pricing_analytics response"},
        {"csv.json", "country,volume\nUS,3\n", "csv.json:1: not a pricing_analytics response"},
        {"no-data.json", "{\"pricing_analytics\":{}}", "no-data.json: not a pricing_analytics"
                                                       " response: no \"data\" array"},
        {"pa-array.json", "{\"pricing_analytics\":[]}", "\"pricing_analytics\" is not an object"},
        {"array.json", "[]", "array.json: not a pricing_analytics response: not a JSON object"},
        {"paged.json",
         "{\"data\":[{\"data_points\":[" POINT("") "]}],\"paging\":{\"next\":\"https://x\"}}",
         "paged.json: the response has more pages (paging.next)"},
        {"bad-id.json", "{\"pricing_analytics\":{\"data\":[]},\"id\":12}",
         "\"id\" is not an account id"},
        {"bad-currency.json", "{\"pricing_analytics\":{\"data\":[]},\"currency\":\"usd\"}",
         "\"currency\" is not a currency code"},
        {"asked-back.json",
         "{\"asked\":{\"since\":5,\"until\":5},\"pricing_analytics\":{\"data\":[]}}",
         "asked-back.json: \"asked\" is not a span"},
        {"asked-text.json",
         "{\"asked\":{\"since\":\"2026-11-24\",\"until\":9},\"pricing_analytics\":{\"data\":[]}}",
         "\"asked\" is not a span"},
        {"asked-more.json",
         "{\"asked\":{\"since\":1,\"until\":9,\"tz\":0},\"pricing_analytics\":{\"data\":[]}}",
         "\"asked\" is not a span"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_test_run fx;
        struct suf_err err = SUF_ERR_INIT;
        char db[64];

        snprintf(db, sizeof(db), "malformed%zu.db", i);
        suf_test_run_open(&fx, db, NOW);
        CU_ASSERT_EQUAL(import_text(&fx, rows[i].name, rows[i].text, &err), SUF_ERR_INPUT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rows[i].msg));
        if (!strstr(err.msg, rows[i].msg))
            fprintf(stderr, "\nmessage: %s\n", err.msg);
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing"), 0);
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM meta_billing_periods"), 0);
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM files"), 0);
        suf_test_run_close(&fx);
    }
}

static const struct suf_test tests[] = {
    {"meta example", test_billing__meta_example_response_is_stored_point_by_point},
    {"no cost", test_billing__cost_absent_or_null_is_not_given_never_zero},
    {"cost to micros", test_billing__cost_is_exact_micros_or_refused},
    {"bad points", test_billing__bad_points_are_rejected_with_their_position},
    {"top level, two groups", test_billing__top_level_object_and_two_groups},
    {"refetch", test_billing__a_refetch_replaces_its_span},
    {"span asked", test_billing__the_span_asked_is_recorded_and_replaced},
    {"malformed", test_billing__a_malformed_file_stores_nothing},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("billing", tests);
}
