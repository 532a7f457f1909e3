/*
 * test_cloudapi.c: the Cloud API client's pure parts: the URL, the reply
 * parser, the one retry decision (table-driven), Retry-After and backoff,
 * the words for a redirect, and the redaction of every known secret from
 * what a reply says (in the redactor itself, from a table, and through the
 * parser, where replies come in).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "send/cloudapi.h"
#include "testutil.h"

static void test_cloudapi__url_joins_base_version_and_number(void)
{
    struct suf_config cfg;
    char *url;

    suf_config_init(&cfg);
    free(cfg.base_url);
    free(cfg.phone_number_id);
    cfg.base_url = strdup("http://127.0.0.1:8080//");
    cfg.phone_number_id = strdup("123456");
    url = suf_cloudapi_url(&cfg);
    CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:8080/v23.0/123456/messages");
    free(url);
    suf_config_release(&cfg);
}

#define OK_BODY "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"1\",\"wa_id\":\"1\"}]," \
                "\"messages\":[{\"id\":\"wamid.HBgL\"}]}"
#define ERR_BODY(code) "{\"error\":{\"message\":\"m\",\"type\":\"OAuthException\",\"code\":" #code \
                       ",\"error_data\":{\"messaging_product\":\"whatsapp\",\"details\":\"d\"}," \
                       "\"fbtrace_id\":\"x\"}}"

static const struct classify_row {
    const char *what;
    enum suf_net_outcome net;
    int http;
    const char *body;
    enum suf_api_verdict want;
    long code;
} classify_rows[] = {
    {"200 with a wamid", SUF_NET_OK, 200, OK_BODY, SUF_API_SENT, 0},
    {"201 with a wamid", SUF_NET_OK, 201, OK_BODY, SUF_API_SENT, 0},
    {"200 without messages", SUF_NET_OK, 200, "{\"messaging_product\":\"whatsapp\"}", SUF_API_RETRY, 0},
    {"200 with an empty messages array", SUF_NET_OK, 200, "{\"messages\":[]}", SUF_API_RETRY, 0},
    {"200 with an empty id", SUF_NET_OK, 200, "{\"messages\":[{\"id\":\"\"}]}", SUF_API_RETRY, 0},
    {"200 with a malformed body", SUF_NET_OK, 200, "{\"messages\":[{\"id\":", SUF_API_RETRY, 0},
    {"200 with an empty body", SUF_NET_OK, 200, "", SUF_API_RETRY, 0},
    {"429 without a body", SUF_NET_OK, 429, "", SUF_API_RETRY, 0},
    {"429 with Graph's rate-limit code 4", SUF_NET_OK, 429, ERR_BODY(4), SUF_API_RETRY, 4},
    {"500 with an HTML page", SUF_NET_OK, 500, "<html>oops</html>", SUF_API_RETRY, 0},
    {"502", SUF_NET_OK, 502, "", SUF_API_RETRY, 0},
    {"503", SUF_NET_OK, 503, "", SUF_API_RETRY, 0},
    {"400 code 130429 (throughput)", SUF_NET_OK, 400, ERR_BODY(130429), SUF_API_RETRY, 130429},
    {"400 code 131056 (pair rate)", SUF_NET_OK, 400, ERR_BODY(131056), SUF_API_RETRY, 131056},
    {"500 code 131000 (unknown)", SUF_NET_OK, 500, ERR_BODY(131000), SUF_API_RETRY, 131000},
    {"400 code 131000 (unknown)", SUF_NET_OK, 400, ERR_BODY(131000), SUF_API_RETRY, 131000},
    {"503 code 131016 (unavailable)", SUF_NET_OK, 503, ERR_BODY(131016), SUF_API_RETRY, 131016},
    {"200 carrying code 131016", SUF_NET_OK, 200, ERR_BODY(131016), SUF_API_RETRY, 131016},
    {"400 code 131026 (undeliverable)", SUF_NET_OK, 400, ERR_BODY(131026), SUF_API_PERMANENT, 131026},
    {"400 code 131047 (window closed)", SUF_NET_OK, 400, ERR_BODY(131047), SUF_API_PERMANENT, 131047},
    {"400 code 131050 (stopped marketing)", SUF_NET_OK, 400, ERR_BODY(131050), SUF_API_PERMANENT, 131050},
    {"400 code 132001 (no template)", SUF_NET_OK, 400, ERR_BODY(132001), SUF_API_PERMANENT, 132001},
    {"400 code 131049 (per-user limit)", SUF_NET_OK, 400, ERR_BODY(131049), SUF_API_PERMANENT, 131049},
    {"400 code 368 (restricted)", SUF_NET_OK, 400, ERR_BODY(368), SUF_API_PERMANENT, 368},
    {"200 carrying code 132015", SUF_NET_OK, 200, ERR_BODY(132015), SUF_API_PERMANENT, 132015},
    {"401 bad token", SUF_NET_OK, 401, ERR_BODY(190), SUF_API_PERMANENT, 190},
    {"404 without a body", SUF_NET_OK, 404, "", SUF_API_PERMANENT, 0},
    {"code given as a string", SUF_NET_OK, 400, "{\"error\":{\"code\":\"130429\"}}", SUF_API_RETRY, 130429},
    {"timeout", SUF_NET_TIMEOUT, 0, NULL, SUF_API_RETRY, 0},
    {"connection refused or reset", SUF_NET_CONNECT, 0, NULL, SUF_API_RETRY, 0},
    {"other transport error", SUF_NET_OTHER, 0, NULL, SUF_API_RETRY, 0},
};

/* Parses and classifies one row (as a Graph call when `graph`), checks the
 * verdict and the code, and returns the verdict. */
static enum suf_api_verdict check_row(const struct classify_row *row, bool graph,
                                      struct suf_api_result *r)
{
    size_t len = row->body ? strlen(row->body) : 0;
    enum suf_api_verdict got;

    memset(r, 0, sizeof(*r));
    r->retry_after_ms = -1;
    if (graph)
        suf_cloudapi_parse_graph(r, row->net, row->http, row->body, len);
    else
        suf_cloudapi_parse(r, row->net, row->http, row->body, len);
    got = graph ? suf_cloudapi_classify_graph(r) : suf_cloudapi_classify(r);
    if (got != row->want || r->api_code != row->code)
        fprintf(stderr, "\nrow '%s': verdict %d (want %d), code %ld (want %ld)\n", row->what,
                got, row->want, r->api_code, row->code);
    CU_ASSERT_EQUAL(got, row->want);
    CU_ASSERT_EQUAL(r->api_code, row->code);
    return got;
}

static void test_cloudapi__classify_table(void)
{
    for (size_t i = 0; i < sizeof(classify_rows) / sizeof(classify_rows[0]); i++) {
        const struct classify_row *row = &classify_rows[i];
        struct suf_api_result r;
        enum suf_api_verdict got = check_row(row, false, &r);

        if (got == SUF_API_SENT) {
            CU_ASSERT_STRING_EQUAL(r.wamid, "wamid.HBgL");
        } else if (row->net == SUF_NET_OK) { /* transport errors: the caller's text */
            CU_ASSERT_STRING_NOT_EQUAL(r.api_error, "");
        }
    }
}

/* Graph calls (the catalog): no wamid to expect; Meta's documented
 * replies of GET /{WABA-ID}: 401 code 190, 403 code 200, 404 code 803,
 * 429 code 4 subcode 2446079 is_transient, 500 code 2 is_transient. */
#define GRAPH_ERR(code, sub, transient)                                                    \
    "{\"error\":{\"message\":\"m\",\"type\":\"OAuthException\",\"code\":" #code            \
    ",\"error_subcode\":" #sub ",\"is_transient\":" #transient                              \
    ",\"error_user_msg\":\"u\",\"fbtrace_id\":\"x\"}}"

static const struct classify_row graph_rows[] = {
    {"200 with a catalog page", SUF_NET_OK, 200, "{\"data\":[],\"paging\":{}}", SUF_API_SENT, 0},
    {"200 that is not JSON", SUF_NET_OK, 200, "{\"data\":[", SUF_API_RETRY, 0},
    {"401 code 190", SUF_NET_OK, 401, GRAPH_ERR(190, 463, false), SUF_API_PERMANENT, 190},
    {"403 code 200", SUF_NET_OK, 403, GRAPH_ERR(200, 0, false), SUF_API_PERMANENT, 200},
    {"404 code 803", SUF_NET_OK, 404, GRAPH_ERR(803, 0, false), SUF_API_PERMANENT, 803},
    {"429 code 4", SUF_NET_OK, 429, GRAPH_ERR(4, 2446079, true), SUF_API_RETRY, 4},
    {"500 code 2", SUF_NET_OK, 500, GRAPH_ERR(2, 0, true), SUF_API_RETRY, 2},
    {"400 code 1 said transient", SUF_NET_OK, 400, GRAPH_ERR(1, 99, true), SUF_API_RETRY, 1},
    {"400 code 100", SUF_NET_OK, 400, GRAPH_ERR(100, 33, false), SUF_API_PERMANENT, 100},
    {"timeout", SUF_NET_TIMEOUT, 0, NULL, SUF_API_RETRY, 0},
};

static void test_cloudapi__classify_graph_table(void)
{
    for (size_t i = 0; i < sizeof(graph_rows) / sizeof(graph_rows[0]); i++) {
        const struct classify_row *row = &graph_rows[i];
        struct suf_api_result r;
        enum suf_api_verdict got = check_row(row, true, &r);

        if (got == SUF_API_SENT)
            CU_ASSERT_STRING_EQUAL(r.api_error, "");
        if (row->code) /* no details: Graph's words for a person instead */
            CU_ASSERT_STRING_EQUAL(r.api_error, "m (u)");
    }
    /* the subcode is read, and a messages call still wants its wamid */
    {
        struct suf_api_result r;
        const char *body = GRAPH_ERR(4, 2446079, true);

        memset(&r, 0, sizeof(r));
        suf_cloudapi_parse_graph(&r, SUF_NET_OK, 429, body, strlen(body));
        CU_ASSERT_EQUAL(r.api_subcode, 2446079);
        CU_ASSERT_TRUE(r.transient);
        body = GRAPH_ERR(1, 99, true);
        suf_cloudapi_parse(&r, SUF_NET_OK, 400, body, strlen(body));
        CU_ASSERT_EQUAL(suf_cloudapi_classify(&r), SUF_API_PERMANENT);
        suf_cloudapi_parse(&r, SUF_NET_OK, 200, "{}", 2);
        CU_ASSERT_EQUAL(suf_cloudapi_classify(&r), SUF_API_RETRY);
        CU_ASSERT_TRUE(suf_cloudapi_code_token(190));
        CU_ASSERT_FALSE(suf_cloudapi_code_token(100));
    }
}

static void test_cloudapi__only_the_four_throughput_codes_are_retryable(void)
{
    static const long yes[] = {130429, 131056, 131000, 131016};
    static const long no[] = {0, 4, 131026, 131047, 131048, 131049, 131050, 130472, 132000, 132001, 368};

    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_TRUE(suf_cloudapi_code_retryable(yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        CU_ASSERT_FALSE(suf_cloudapi_code_retryable(no[i]));
}

static void test_cloudapi__error_text_has_message_and_details(void)
{
    struct suf_api_result r;
    const char *body = "{\"error\":{\"message\":\"(#131026) Message undeliverable\",\"code\":131026,"
                       "\"error_data\":{\"details\":\"Unable to deliver\"}}}";

    memset(&r, 0, sizeof(r));
    suf_cloudapi_parse(&r, SUF_NET_OK, 400, body, strlen(body));
    CU_ASSERT_STRING_EQUAL(r.api_error, "(#131026) Message undeliverable (Unable to deliver)");
    CU_ASSERT_EQUAL(r.api_code, 131026);
    CU_ASSERT_STRING_EQUAL(r.wamid, "");
}

static void test_cloudapi__transport_error_text_is_kept(void)
{
    struct suf_api_result r;

    memset(&r, 0, sizeof(r));
    snprintf(r.api_error, sizeof(r.api_error), "Operation timed out after 1000 ms");
    suf_cloudapi_parse(&r, SUF_NET_TIMEOUT, 0, NULL, 0);
    CU_ASSERT_STRING_EQUAL(r.api_error, "Operation timed out after 1000 ms");
    CU_ASSERT_EQUAL(suf_cloudapi_classify(&r), SUF_API_RETRY);
}

static void test_cloudapi__retry_after_seconds_and_dates(void)
{
    /* 2026-11-24T02:00:00Z */
    const int64_t now = INT64_C(1795485600);
    static const struct {
        const char *v;
        int64_t want;
    } rows[] = {
        {"3", 3000},
        {" 0 ", 0},
        {"120", 120000},
        {"Tue, 24 Nov 2026 02:00:30 GMT", 30000},
        {"Tue, 24 Nov 2026 01:59:00 GMT", 0},
        {"soon", -1},
        {"-1", -1},
        {"1.5", -1},
        {"", -1},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t got = suf_cloudapi_retry_after(rows[i].v, now);
        if (got != rows[i].want)
            fprintf(stderr, "\nRetry-After '%s': %lld, want %lld\n", rows[i].v, (long long)got,
                    (long long)rows[i].want);
        CU_ASSERT_EQUAL(got, rows[i].want);
    }
    CU_ASSERT_EQUAL(suf_cloudapi_retry_after(NULL, now), -1);
}

static uint32_t jitter_low(void *ctx)
{
    (void)ctx;
    return 0;
}

static uint32_t jitter_high(void *ctx)
{
    (void)ctx;
    return UINT32_MAX;
}

static uint32_t jitter_lcg(void *ctx)
{
    uint32_t *x = ctx;
    *x = *x * 1664525u + 1013904223u;
    return *x;
}

static void test_cloudapi__backoff_grows_within_jitter_bounds(void)
{
    const int64_t base = 500, max = 30000;
    uint32_t seed = 42;

    for (int tries = 1; tries <= 12; tries++) {
        int64_t d = base;
        for (int i = 1; i < tries && d < max; i++)
            d *= 2;
        if (d > max)
            d = max;
        CU_ASSERT_EQUAL(suf_cloudapi_backoff_ms(tries, base, max, -1, jitter_low, NULL), d / 2);
        CU_ASSERT(suf_cloudapi_backoff_ms(tries, base, max, -1, jitter_high, NULL) <= d);
        CU_ASSERT(suf_cloudapi_backoff_ms(tries, base, max, -1, jitter_high, NULL) >= d / 2);
        for (int k = 0; k < 200; k++) {
            int64_t v = suf_cloudapi_backoff_ms(tries, base, max, -1, jitter_lcg, &seed);
            CU_ASSERT(v >= d / 2 && v <= d);
        }
    }
    /* 500, 1000, 2000: the first three lower bounds double */
    CU_ASSERT_EQUAL(suf_cloudapi_backoff_ms(1, base, max, -1, jitter_low, NULL), 250);
    CU_ASSERT_EQUAL(suf_cloudapi_backoff_ms(3, base, max, -1, jitter_low, NULL), 1000);
}

static void test_cloudapi__retry_after_is_a_floor(void)
{
    CU_ASSERT_EQUAL(suf_cloudapi_backoff_ms(1, 500, 30000, 7000, jitter_low, NULL), 7000);
    CU_ASSERT_EQUAL(suf_cloudapi_backoff_ms(1, 500, 30000, 60000, jitter_low, NULL), 60000);
    /* a Retry-After below the backoff does not shorten it */
    CU_ASSERT_EQUAL(suf_cloudapi_backoff_ms(5, 500, 30000, 100, jitter_low, NULL), 4000);
}

/* The secrets of the redaction tests: an access token, an app secret, a
 * verify token far too short to be a good one, and one that overlaps
 * itself ("aXaXa" holds it twice). */
#define TOKEN "EAAGm0PX4ZCpsBAKZBt0k3n"
#define APP_SECRET "9f86d081884c7d65"
#define SHORT_SECRET "Q9"
#define SELF_OVERLAP "aXa"

static void know_secrets(void)
{
    suf_log_secrets_clear();
    suf_log_secret(TOKEN);
    suf_log_secret(APP_SECRET);
    suf_log_secret(SHORT_SECRET);
    suf_log_secret(SELF_OVERLAP);
}

static const struct redact_row {
    const char *what, *in, *want;
} redact_rows[] = {
    {"no secret", "Invalid parameter", "Invalid parameter"},
    {"the whole text", TOKEN, "[redacted]"},
    {"inside other text", "Malformed access token x" TOKEN "y (code 190)",
     "Malformed access token x[redacted]y (code 190)"},
    {"at the start and the end", TOKEN " was refused for " TOKEN,
     "[redacted] was refused for [redacted]"},
    {"repeated", "a " TOKEN " b " TOKEN " c " TOKEN " d",
     "a [redacted] b [redacted] c [redacted] d"},
    {"twice in a row", TOKEN TOKEN, "[redacted]"},
    {"two secrets side by side", TOKEN APP_SECRET "!", "[redacted]!"},
    {"a short secret", "proof Q9 failed", "proof [redacted] failed"},
    {"a short secret at both ends", "Q9Q9 xQ9", "[redacted] x[redacted]"},
    {"overlapping occurrences", "<aXaXa>", "<[redacted]>"},
    {"the head of a secret only", "EAAGm0PX4 and 9f86d0", "EAAGm0PX4 and 9f86d0"},
    {"the redaction mark is not searched again", "[redacted] " SHORT_SECRET,
     "[redacted] [redacted]"},
};

static void test_cloudapi__redaction_table(void)
{
    know_secrets();
    for (size_t i = 0; i < sizeof(redact_rows) / sizeof(redact_rows[0]); i++) {
        const struct redact_row *row = &redact_rows[i];
        char *got = suf_redact_dup(row->in);
        char buf[256];

        if (strcmp(got, row->want))
            fprintf(stderr, "\nrow '%s': '%s', want '%s'\n", row->what, got, row->want);
        CU_ASSERT_STRING_EQUAL(got, row->want);
        free(got);
        snprintf(buf, sizeof(buf), "%s", row->in); /* in place, as log lines are */
        CU_ASSERT_STRING_EQUAL(suf_redact(buf, sizeof(buf)), row->want);
    }
    suf_log_secrets_clear();
}

/* A Graph API token error as the mock plays it: the token in the message
 * and in the details. */
#define TOKEN_ERROR                                                                      \
    "{\"error\":{\"message\":\"Malformed access token " TOKEN "\","                      \
    "\"type\":\"OAuthException\",\"code\":190,\"error_data\":"                           \
    "{\"details\":\"token " TOKEN " is not valid\"},\"fbtrace_id\":\"x\"}}"

static void test_cloudapi__replies_lose_every_known_secret(void)
{
    struct suf_api_result r;
    char body[2048], *pad = malloc(600);

    know_secrets();
    memset(&r, 0, sizeof(r));
    suf_cloudapi_parse(&r, SUF_NET_OK, 401, TOKEN_ERROR, strlen(TOKEN_ERROR));
    CU_ASSERT_STRING_EQUAL(
        r.api_error, "Malformed access token [redacted] (token [redacted] is not valid)");
    CU_ASSERT_EQUAL(r.api_code, 190);
    CU_ASSERT_EQUAL(suf_cloudapi_classify(&r), SUF_API_PERMANENT);

    /* cut to fit after the redaction, so no head of the token is left */
    memset(pad, 'x', 505);
    pad[505] = '\0';
    snprintf(body, sizeof(body),
             "{\"error\":{\"message\":\"%s " TOKEN "\",\"code\":190}}", pad);
    memset(&r, 0, sizeof(r));
    suf_cloudapi_parse(&r, SUF_NET_OK, 401, body, strlen(body));
    CU_ASSERT_EQUAL(strlen(r.api_error), sizeof(r.api_error) - 1);
    CU_ASSERT_PTR_NULL(strstr(r.api_error, "EAA"));
    free(pad);

    /* the other secrets too, and the wamid, which is stored as well */
    snprintf(body, sizeof(body),
             "{\"messages\":[{\"id\":\"wamid." APP_SECRET "\"}],\"error\":{\"message\":"
             "\"proof Q9\",\"code\":131000,\"error_data\":{\"details\":\"" APP_SECRET
             "\"}}}");
    memset(&r, 0, sizeof(r));
    suf_cloudapi_parse(&r, SUF_NET_OK, 500, body, strlen(body));
    CU_ASSERT_STRING_EQUAL(r.api_error, "proof [redacted] ([redacted])");
    CU_ASSERT_STRING_EQUAL(r.wamid, "wamid.[redacted]");

    /* and the transport's words */
    memset(&r, 0, sizeof(r));
    snprintf(r.api_error, sizeof(r.api_error), "proxy said: Bearer %s", TOKEN);
    suf_cloudapi_parse(&r, SUF_NET_OTHER, 0, NULL, 0);
    CU_ASSERT_STRING_EQUAL(r.api_error, "proxy said: Bearer [redacted]");
    suf_log_secrets_clear();
}

static void test_cloudapi__a_redirect_says_so_and_is_permanent(void)
{
    struct suf_api_result r;

    know_secrets();
    memset(&r, 0, sizeof(r));
    suf_cloudapi_parse(&r, SUF_NET_OK, 307, "", 0);
    suf_cloudapi_redirect(&r, "http://127.0.0.1:9/v23.0/1/messages?access_token=" TOKEN);
    CU_ASSERT_STRING_EQUAL(r.api_error,
                           "HTTP 307: a redirect to "
                           "'http://127.0.0.1:9/v23.0/1/messages?access_token="
                           "[redacted]', which suf never follows");
    CU_ASSERT_EQUAL(suf_cloudapi_classify(&r), SUF_API_PERMANENT);
    memset(&r, 0, sizeof(r));
    suf_cloudapi_parse(&r, SUF_NET_OK, 301, "<html>moved</html>", 18);
    suf_cloudapi_redirect(&r, NULL);
    CU_ASSERT_STRING_EQUAL(r.api_error, "HTTP 301: a redirect, which suf never follows");
    CU_ASSERT_EQUAL(suf_cloudapi_classify(&r), SUF_API_PERMANENT);
    /* any other status keeps its own words */
    memset(&r, 0, sizeof(r));
    suf_cloudapi_parse(&r, SUF_NET_OK, 404, "", 0);
    suf_cloudapi_redirect(&r, "http://elsewhere.example/");
    CU_ASSERT_STRING_EQUAL(r.api_error, "HTTP 404 with an empty reply");
    suf_log_secrets_clear();
}

/* The accepted-message reply is read without a tree only in Meta's exact
 * layout; every other layout goes to jansson, and both give the same. */
#define ACCEPTED(id, tail) "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":" \
                           "\"+16505551234\",\"wa_id\":\"16505551234\"}],\"messages\":[{\"id\":\"" \
                           id "\"" tail "}]}"

static void test_cloudapi__accepted_reply_without_a_tree(void)
{
    static const struct {
        const char *what, *body;
        bool fast;         /* taken without jansson */
        const char *wamid; /* what the parse stores ("" for none) */
    } rows[] = {
#define META_ID "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJCMTE4RTUA"
        {"Meta's layout", ACCEPTED(META_ID, ""), true, META_ID},
        {"with message_status", ACCEPTED("wamid.a+b/c=", ",\"message_status\":\"accepted\""),
         true, "wamid.a+b/c="},
        {"an escaped slash in the id", ACCEPTED("wamid.a\\/b", ""), false, "wamid.a/b"},
        {"a space after a colon",
         "{\"messaging_product\": \"whatsapp\",\"contacts\":[{\"input\":\"1\",\"wa_id\":\"1\"}],"
         "\"messages\":[{\"id\":\"wamid.x\"}]}",
         false, "wamid.x"},
        {"a newline at the end", ACCEPTED("wamid.x", "") "\n", false, "wamid.x"},
        {"another member after the id", ACCEPTED("wamid.x", ",\"x\":1"), false, "wamid.x"},
        {"an empty message_status", ACCEPTED("wamid.x", ",\"message_status\":\"\""), false,
         "wamid.x"},
        {"an empty id", ACCEPTED("", ""), false, ""},
        {"a control byte in the id", ACCEPTED("wamid.\001", ""), false, ""},
        {"a byte above ASCII in the id", ACCEPTED("wamid.\303\251", ""), false,
         "wamid.\303\251"},
        {"cut short", "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"1\"", false,
         ""},
        {"a second message id", ACCEPTED("wamid.x", "},{\"id\":\"wamid.y\""), false, "wamid.x"},
    };
    char id[160], longest[sizeof(id) + 1], body[512];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_api_result r;
        size_t len = strlen(rows[i].body);

        memset(id, 0, sizeof(id));
        CU_ASSERT_EQUAL(suf_cloudapi_accepted(rows[i].body, len, id, sizeof(id)), rows[i].fast);
        if (rows[i].fast)
            CU_ASSERT_STRING_EQUAL(id, rows[i].wamid);
        memset(&r, 0, sizeof(r));
        suf_cloudapi_parse(&r, SUF_NET_OK, 200, rows[i].body, len);
        if (strcmp(r.wamid, rows[i].wamid))
            fprintf(stderr, "\n%s: wamid '%s'\n", rows[i].what, r.wamid);
        CU_ASSERT_STRING_EQUAL(r.wamid, rows[i].wamid);
        CU_ASSERT_EQUAL(suf_cloudapi_classify(&r), rows[i].wamid[0] ? SUF_API_SENT : SUF_API_RETRY);
        if (rows[i].wamid[0])
            CU_ASSERT_STRING_EQUAL(r.api_error, "");
    }
    /* the id must fit, as through jansson: 159 bytes do, 160 do not */
    memset(longest, 'w', sizeof(longest) - 1);
    longest[sizeof(id) - 1] = '\0';
    snprintf(body, sizeof(body), ACCEPTED("%s", ""), longest);
    CU_ASSERT_TRUE(suf_cloudapi_accepted(body, strlen(body), id, sizeof(id)));
    CU_ASSERT_STRING_EQUAL(id, longest);
    longest[sizeof(id) - 1] = 'w';
    longest[sizeof(id)] = '\0';
    snprintf(body, sizeof(body), ACCEPTED("%s", ""), longest);
    CU_ASSERT_FALSE(suf_cloudapi_accepted(body, strlen(body), id, sizeof(id)));
    /* not NUL-terminated: only `len` bytes are read */
    CU_ASSERT_FALSE(suf_cloudapi_accepted(rows[0].body, strlen(rows[0].body) - 1, id, sizeof(id)));
    CU_ASSERT_FALSE(suf_cloudapi_accepted(NULL, 0, id, sizeof(id)));
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"url joins base, version and number", test_cloudapi__url_joins_base_version_and_number},
        {"classify table", test_cloudapi__classify_table},
        {"classify Graph table", test_cloudapi__classify_graph_table},
        {"only the four throughput codes are retryable",
         test_cloudapi__only_the_four_throughput_codes_are_retryable},
        {"error text has message and details", test_cloudapi__error_text_has_message_and_details},
        {"transport error text is kept", test_cloudapi__transport_error_text_is_kept},
        {"Retry-After seconds and dates", test_cloudapi__retry_after_seconds_and_dates},
        {"backoff grows within jitter bounds", test_cloudapi__backoff_grows_within_jitter_bounds},
        {"Retry-After is a floor", test_cloudapi__retry_after_is_a_floor},
        {"redaction table", test_cloudapi__redaction_table},
        {"replies lose every known secret",
         test_cloudapi__replies_lose_every_known_secret},
        {"a redirect says so and is permanent",
         test_cloudapi__a_redirect_says_so_and_is_permanent},
        {"the accepted reply is read without a tree", test_cloudapi__accepted_reply_without_a_tree},
        {NULL, NULL},
    };
    return suf_test_main("cloudapi", tests);
}
