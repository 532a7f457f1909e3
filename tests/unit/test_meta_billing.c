/*
 * test_meta_billing.c: what Meta billed, fetched over the recording
 * transport, whose responder plays pricing_analytics replies, a reply with
 * paging, one of another account, one quoting the token, and a Graph
 * error.  Each test checks the requests suf made (the field expression,
 * the windows), what reached the store and the billing inbox, and the
 * error's words.  Sleeps are counted, not slept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/context.h"
#include "base/log.h"
#include "meta/graph.h"
#include "meta/meta_billing.h"
#include "send/transport.h"
#include "play.h"
#include "testutil.h"

#define NOW INT64_C(1795485600)  /* 2026-11-24T02:00:00Z */
#define D24 INT64_C(1795478400)  /* 2026-11-24T00:00:00Z */
#define DAY INT64_C(86400)
#define TOKEN "EAAGtokenBILL77"

/* One reply of account 2000000002 with one point of 2026-11-23 (UTC). */
#define REPLY(extra)                                                                     \
    "{\"currency\":\"USD\",\"pricing_analytics\":{\"data\":[{\"data_points\":[{"          \
    "\"start\":1795392000,\"end\":1795478400,\"country\":\"US\",\"phone_number\":"       \
    "\"15550001234\",\"pricing_type\":\"REGULAR\",\"pricing_category\":\"UTILITY\","      \
    "\"volume\":3,\"cost\":0.0342}]}]" extra "},\"id\":\"2000000002\"}"
#define EMPTY "{\"currency\":\"USD\",\"pricing_analytics\":{\"data\":[{\"data_points\":[]}]},\"id\":\"2000000002\"}"

static struct suf_test_run fx; /* the config, store and run of a test */
static char inbox[512];
static int64_t slept;


static void count_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    slept += ms;
}

static void setup(void)
{
    static int n;
    char name[64];

    snprintf(name, sizeof(name), "meta-billing%d.db", ++n);
    suf_test_run_open(&fx, name, NOW);
    snprintf(name, sizeof(name), "billing-inbox%d", n);
    snprintf(inbox, sizeof(inbox), "%s", suf_test_path(name));
    free(fx.cfg.inbox_billing);
    fx.cfg.inbox_billing = strdup(inbox);
    free(fx.cfg.waba_id);
    fx.cfg.waba_id = strdup("2000000002");
    fx.cfg.graph_rate = 0;
    fx.cfg.backoff_base_ms = 10;
    fx.run.id = n;
    slept = 0;
}

static void teardown(struct play *p)
{
    if (p->t)
        p->t->close(p->t);
    p->t = NULL;
    suf_test_run_close(&fx);
    suf_log_secrets_clear();
}

static int fetch(struct play *p, int64_t since, int64_t until, int *windows,
                 struct suf_err *err)
{
    struct suf_graph g;
    int rc;

    p->t = suf_transport_record_new(NULL, play_respond, p);
    suf_graph_init(&g, &fx.run, p->t);
    g.sleep = count_sleep;
    rc = suf_meta_billing_fetch(&fx.run, &g, since, until, windows, err);
    suf_graph_close(&g);
    return rc;
}

static int64_t q_int(const char *sql)
{
    int64_t v = -1;
    struct suf_err err = SUF_ERR_INIT;

    CU_ASSERT_EQUAL(suf_store_scalar(&fx.st, sql, NULL, &v, &err), SUF_OK);
    return v;
}

/* The files in the inbox (dot files not counted), and whether any holds
 * `needle`. */
static int inbox_files(const char *needle, bool *found)
{
    return suf_test_dir_files(inbox, needle, found);
}

/* The request of one window: the field expression, decoded. */
static char *decoded(const char *request)
{
    const char *q = strstr(request, "?fields=");
    char *raw = q ? curl_easy_unescape(NULL, q + 8, 0, NULL) : NULL;
    char *out = raw ? strdup(raw) : NULL;

    curl_free(raw);
    return out;
}

static void test_meta_billing__the_request_asks_the_documented_expression(void)
{
    struct play p = {.n = 1, .status = {200}, .body = {REPLY("")}};
    struct suf_err err = SUF_ERR_INIT;
    char *path, *expr;
    int windows = 0;
    bool found;

    setup();
    path = suf_meta_billing_path(&fx.cfg, D24 - DAY, D24);
    /* every bracket, parenthesis and comma URL-encoded */
    CU_ASSERT_STRING_EQUAL(path,
                           "/v23.0/2000000002?fields=currency%2Cpricing_analytics.start%28"
                           "1795392000%29.end%281795478400%29.granularity%28DAILY%29.dimensions"
                           "%28%5BPRICING_CATEGORY%2CPRICING_TYPE%2CCOUNTRY%2CPHONE%5D%29");
    free(path);
    CU_ASSERT_EQUAL(fetch(&p, D24 - DAY, D24, &windows, &err), SUF_OK);
    CU_ASSERT_EQUAL(windows, 1);
    CU_ASSERT_EQUAL_FATAL(suf_transport_record_count(p.t), 1);
    CU_ASSERT_STRING_EQUAL(suf_transport_record_path(p.t, 0),
                           "GET /v23.0/2000000002?fields=currency%2Cpricing_analytics.start%28"
                           "1795392000%29.end%281795478400%29.granularity%28DAILY%29.dimensions"
                           "%28%5BPRICING_CATEGORY%2CPRICING_TYPE%2CCOUNTRY%2CPHONE%5D%29");
    expr = decoded(suf_transport_record_path(p.t, 0));
    CU_ASSERT_STRING_EQUAL(expr, "currency,pricing_analytics.start(1795392000).end(1795478400)"
                                 ".granularity(DAILY).dimensions([PRICING_CATEGORY,PRICING_TYPE,"
                                 "COUNTRY,PHONE])");
    free(expr);
    CU_ASSERT_EQUAL(q_int("SELECT cost FROM meta_billing WHERE waba_id = '2000000002'"
                          " AND country = 'US' AND pricing_category = 'UTILITY'"),
                    34200);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM meta_billing_periods WHERE since = 1795392000"
                          " AND until = 1795478400 AND currency = 'USD'"),
                    1);
    CU_ASSERT_EQUAL(inbox_files("\"asked\":{\"since\":1795392000,\"until\":1795478400}", &found),
                    1);
    CU_ASSERT_TRUE(found);
    teardown(&p);
}

/* 200 days: three requests of at most 90 days, back to back, each kept and
 * recorded as asked; the empty windows are recorded too. */
static void test_meta_billing__a_long_span_is_split_into_windows(void)
{
    struct play p = {.n = 3, .status = {200, 200, 200}, .body = {EMPTY, EMPTY, REPLY("")}};
    struct suf_err err = SUF_ERR_INIT;
    int64_t since = D24 - 200 * DAY, w = 90 * DAY;
    int windows = 0;
    bool found;

    setup();
    CU_ASSERT_EQUAL(fetch(&p, since, D24, &windows, &err), SUF_OK);
    CU_ASSERT_EQUAL(windows, 3);
    CU_ASSERT_EQUAL_FATAL(suf_transport_record_count(p.t), 3);
    for (int i = 0; i < 3; i++) {
        char want[128], *expr = decoded(suf_transport_record_path(p.t, (size_t)i));
        int64_t end = i < 2 ? since + (i + 1) * w : D24;

        snprintf(want, sizeof(want), "pricing_analytics.start(%lld).end(%lld).",
                 (long long)(since + i * w), (long long)end);
        CU_ASSERT_PTR_NOT_NULL(strstr(expr, want));
        free(expr);
    }
    CU_ASSERT_EQUAL(inbox_files(NULL, &found), 3);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM files WHERE kind = 'billing'"), 3);
    /* the empty windows are recorded as asked too: their replies differ
     * by the span, so the second is no copy of the first */
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM meta_billing_periods WHERE"
                          " (since = 1795478400 - 200 * 86400 AND until = 1795478400 - 110 * 86400)"
                          " OR (since = 1795478400 - 110 * 86400 AND until = 1795478400 - 20 * 86400)"
                          " OR (since = 1795478400 - 20 * 86400 AND until = 1795478400)"),
                    3);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM meta_billing"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "billing.windows"), 3);
    teardown(&p);
}

/* Replies that fail the check: an error naming the window, nothing kept. */
static void test_meta_billing__a_bad_reply_is_kept_nowhere(void)
{
    static const struct {
        const char *body, *why;
    } rows[] = {
        {REPLY(",\"paging\":{\"next\":\"https://elsewhere.example/x\"}"),
         "the reply says there is more (pricing_analytics.paging.next)"},
        {"{\"currency\":\"USD\",\"id\":\"2000000002\"}",
         "no \"pricing_analytics\" object with a \"data\" array"},
        {"{\"pricing_analytics\":{\"data\":[]},\"id\":\"999\"}",
         "the reply is not of account '2000000002'"},
        {"{\"pricing_analytics\":{\"data\":[]}}", "the reply is not of account '2000000002'"},
        {"{\"asked\":{\"since\":1,\"until\":2},\"pricing_analytics\":{\"data\":[]},"
         "\"id\":\"2000000002\"}",
         "has an \"asked\" member of its own"},
        {"{\"pricing_analytics\":{\"data\":[{\"data_points\":[{\"start\":1,\"end\":2,"
         "\"volume\":1,\"country\":\"" TOKEN "\"}]}]},\"id\":\"2000000002\"}",
         "the reply quotes a secret"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct play p = {.n = 1, .status = {200}, .body = {rows[i].body}};
        struct suf_err err = SUF_ERR_INIT;
        bool found;

        setup();
        suf_log_secret(TOKEN);
        CU_ASSERT_EQUAL(fetch(&p, D24 - DAY, D24, NULL, &err), SUF_ERR_INPUT);
        if (!strstr(err.msg, rows[i].why))
            fprintf(stderr, "\nreply %zu: %s\n", i, err.msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "billing 2026-11-23T00:00:00Z..2026-11-24T00:00:00Z"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rows[i].why));
        CU_ASSERT_PTR_NULL(strstr(err.msg, TOKEN));
        CU_ASSERT_EQUAL(inbox_files(NULL, &found), 0);
        CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM meta_billing"), 0);
        CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM meta_billing_periods"), 0);
        CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM files"), 0);
        teardown(&p);
    }
}

/* Graph error 100 is a refusal: not retried, the words redacted; a window
 * after a good one stops there, the good one stays. */
static void test_meta_billing__a_graph_error_stops_with_its_words(void)
{
    struct play p = {.n = 2, .status = {200, 400}};
    struct suf_err err = SUF_ERR_INIT;
    int windows = 0;
    bool found;

    setup();
    suf_log_secret(TOKEN);
    p.body[0] = EMPTY;
    p.body[1] = "{\"error\":{\"message\":\"(#100) Invalid parameter for " TOKEN "\",\"type\":"
                "\"OAuthException\",\"code\":100,\"fbtrace_id\":\"x\"}}";
    CU_ASSERT_EQUAL(fetch(&p, D24 - 100 * DAY, D24, &windows, &err), SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(windows, 1);
    CU_ASSERT_EQUAL(suf_transport_record_count(p.t), 2);
    CU_ASSERT_EQUAL(err.api_code, 100);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "HTTP 400, code 100: (#100) Invalid parameter for "
                                           "[redacted]"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, TOKEN));
    CU_ASSERT_EQUAL(inbox_files(TOKEN, &found), 1);
    CU_ASSERT_FALSE(found);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM meta_billing_periods"), 1);
    teardown(&p);
}

static void test_meta_billing__setup_is_checked_before_any_request(void)
{
    struct play p = {.n = 1, .status = {200}, .body = {EMPTY}};
    struct suf_err err = SUF_ERR_INIT;

    setup();
    free(fx.cfg.inbox_billing);
    fx.cfg.inbox_billing = strdup("");
    CU_ASSERT_EQUAL(fetch(&p, D24 - DAY, D24, NULL, &err), SUF_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no inbox_billing"));
    CU_ASSERT_EQUAL(suf_transport_record_count(p.t), 0);
    teardown(&p);
}

/* --since and --until, read. */
static void test_meta_billing__spans_are_read_or_refused(void)
{
    static const struct {
        const char *since, *until;
        int rc;
        int64_t from, to;
        const char *why;
    } rows[] = {
        {"2026-11-20", "2026-11-24", SUF_OK, D24 - 4 * DAY, D24, NULL},
        {"2026-11-20", NULL, SUF_OK, D24 - 4 * DAY, NOW, NULL},
        {"2026-11-20T06:00:00+05:30", "1795478400", SUF_OK, D24 - 4 * DAY + 1800, D24, NULL},
        {"2026-11-20", "2026-11-30", SUF_OK, D24 - 4 * DAY, NOW, NULL}, /* brought to now */
        {"2026-11-32", NULL, SUF_ERR_USAGE, 0, 0,
         "--since '2026-11-32' is not a day (YYYY-MM-DD, UTC) or a time"},
        {"yesterday", NULL, SUF_ERR_USAGE, 0, 0, "--since 'yesterday' is not a day"},
        {"2026-11-20", "soon", SUF_ERR_USAGE, 0, 0, "--until 'soon' is not a day"},
        {"2026-11-24", "2026-11-24", SUF_ERR_USAGE, 0, 0,
         "--since '2026-11-24' is not before --until (2026-11-24T00:00:00Z)"},
        {"2026-11-25", NULL, SUF_ERR_USAGE, 0, 0, "--since '2026-11-25' is not before now"},
        {"2025-11-20", NULL, SUF_ERR_USAGE, 0, 0,
         "--since '2025-11-20' is more than 366 days back"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct play p = {.n = 0};
        struct suf_err err = SUF_ERR_INIT;
        int64_t from = -1, to = -1;
        int rc;

        setup();
        rc = suf_meta_billing_span(&fx.run, rows[i].since, rows[i].until, &from, &to, &err);
        CU_ASSERT_EQUAL(rc, rows[i].rc);
        if (rows[i].rc == SUF_OK) {
            CU_ASSERT_EQUAL(from, rows[i].from);
            CU_ASSERT_EQUAL(to, rows[i].to);
        } else {
            if (!strstr(err.msg, rows[i].why))
                fprintf(stderr, "\nspan %zu: %s\n", i, err.msg);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rows[i].why));
        }
        teardown(&p);
    }
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"the request asks the documented expression",
         test_meta_billing__the_request_asks_the_documented_expression},
        {"a long span is split into windows", test_meta_billing__a_long_span_is_split_into_windows},
        {"a bad reply is kept nowhere", test_meta_billing__a_bad_reply_is_kept_nowhere},
        {"a graph error stops with its words",
         test_meta_billing__a_graph_error_stops_with_its_words},
        {"setup is checked before any request",
         test_meta_billing__setup_is_checked_before_any_request},
        {"spans are read or refused", test_meta_billing__spans_are_read_or_refused},
        {NULL, NULL},
    };
    return suf_test_main("meta_billing", tests);
}
