/*
 * test_base.c: the base layer: statuses, strings, phones, times, amounts
 * and config (UTF-8 has test_utf8.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/amount.h"
#include "base/config.h"
#include "base/log.h"
#include "base/phone.h"
#include "base/status.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "testutil.h"

static void test_status__every_status_has_a_message_and_exit_code(void)
{
    for (int s = 0; s < SUF_STATUS_COUNT; s++) {
        CU_ASSERT_STRING_NOT_EQUAL(suf_strerror(s), "unknown status");
        CU_ASSERT(suf_status_exit_code(s) >= 0);
    }
    CU_ASSERT_EQUAL(suf_status_exit_code(SUF_OK), 0);
    CU_ASSERT_EQUAL(suf_status_exit_code(SUF_ERR_LOCKED), 75);
    CU_ASSERT_EQUAL(suf_status_exit_code(SUF_ERR_USAGE), 64);
    CU_ASSERT_STRING_EQUAL(suf_strerror(SUF_STATUS_COUNT), "unknown status");
}

static void test_status__err_at_prefixes_file_and_line(void)
{
    struct suf_err err = SUF_ERR_INIT;

    suf_err_at(&err, SUF_ERR_INPUT, "deliveries.csv", 1207, "phone '%s' looks odd", "9.1E+11");
    CU_ASSERT_STRING_EQUAL(err.msg, "deliveries.csv:1207: phone '9.1E+11' looks odd");
    CU_ASSERT_EQUAL(err.status, SUF_ERR_INPUT);
    suf_err_at(&err, SUF_ERR_IO, "x.csv", 0, "cannot read");
    CU_ASSERT_STRING_EQUAL(err.msg, "x.csv: cannot read");
}

static void test_util__parse_i64_rejects_junk(void)
{
    int64_t v = 0;

    CU_ASSERT_EQUAL(suf_parse_i64(" 42 ", &v), SUF_OK);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(suf_parse_i64("-7", &v), SUF_OK);
    CU_ASSERT_EQUAL(v, -7);
    CU_ASSERT_NOT_EQUAL(suf_parse_i64("", &v), SUF_OK);
    CU_ASSERT_NOT_EQUAL(suf_parse_i64("12x", &v), SUF_OK);
    CU_ASSERT_NOT_EQUAL(suf_parse_i64("99999999999999999999", &v), SUF_OK);
}

static void test_phone__normalisation_table(void)
{
    static const struct {
        const char *in, *cc, *out, *why;
    } rows[] = {
        {"+91 98123-44567", NULL, "919812344567", NULL},
        {"0091 9812344567", NULL, "919812344567", NULL},
        {"919812344567", NULL, "919812344567", NULL},
        {"(+44) 7700 900023", NULL, "447700900023", NULL},
        {"9812344567", "91", "919812344567", NULL},
        {"09812344567", "91", "919812344567", NULL},
        {"9812344567", NULL, NULL, "no country code"},
        {"9.19812E+11", NULL, NULL, "Excel scientific notation"},
        {"9.19812e11", "91", NULL, "Excel scientific notation"},
        {"abc", NULL, NULL, "not a number"},
        {"+12", NULL, NULL, "too short"},
        {"+1234567890123456", NULL, NULL, "too long"},
        {"", NULL, NULL, "empty"},
        /* the spaces and dashes of spreadsheets: as ASCII ones */
        {"+91\u00a098123\u00a044567", NULL, "919812344567", NULL},
        {"+91\u202f98123\u202f44567", NULL, "919812344567", NULL},
        {"+91\u200798123\u200744567", NULL, "919812344567", NULL},
        {"+91 98123\u201044567", NULL, "919812344567", NULL},
        {"+91 98123\u201144567", NULL, "919812344567", NULL},
        {"+91 98123\u201244567", NULL, "919812344567", NULL},
        {"+91 98123\u201344567", NULL, "919812344567", NULL},
        {"+91 98123\u201444567", NULL, "919812344567", NULL},
        {"+91 98123\u201544567", NULL, "919812344567", NULL},
        {"+91 98123\u221244567", NULL, "919812344567", NULL},
        {"\u00a0(+44)\u00a07700\u2013900023\u202f", NULL, "447700900023", NULL},
        {"\u00a0+44 7700 900023", NULL, "447700900023", NULL},
        {"09812\u00a0344567", "91", "919812344567", NULL},
        {"0091\u20119812344567", NULL, "919812344567", NULL},
        {"9.19812E+11\u00a0", NULL, NULL, "Excel scientific notation"},
        {"\u00a0\u202f", NULL, NULL, "empty"},
        /* other characters near them are still not separators */
        {"+91\u200898123 44567", NULL, NULL, "not a number"}, /* punctuation space */
        {"+91 98123\u201644567", NULL, NULL, "not a number"}, /* double vertical line */
        {"+91 98123\u221344567", NULL, NULL, "not a number"}, /* minus-or-plus */
        {"+91\xc2", NULL, NULL, "not a number"},               /* cut after a lead byte */
        {"+91\xe2\x80", NULL, NULL, "not a number"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[SUF_PHONE_MAX] = "";
        const char *why = NULL;
        int rc = suf_phone_normalize(rows[i].in, rows[i].cc, out, &why);
        if (rows[i].out) {
            CU_ASSERT_EQUAL(rc, SUF_OK);
            CU_ASSERT_STRING_EQUAL(out, rows[i].out);
        } else {
            CU_ASSERT_EQUAL(rc, SUF_ERR_INPUT);
            CU_ASSERT_PTR_NOT_NULL_FATAL(why);
            CU_ASSERT_PTR_NOT_NULL(strstr(why, rows[i].why));
        }
    }
}

/* Each kind of phone error comes back as its own enum member. */
static void test_phone__parse_names_each_kind_of_error(void)
{
    static const struct {
        const char *in, *cc;
        enum suf_phone_error want;
    } rows[] = {
        {"+91 98123-44567", NULL, SUF_PHONE_OK},
        {" \t", NULL, SUF_PHONE_EMPTY},
        {"9.19812E+11", "91", SUF_PHONE_SCIENTIFIC},
        {"call me", NULL, SUF_PHONE_NOT_A_NUMBER},
        {"+ - ()", NULL, SUF_PHONE_NOT_A_NUMBER},
        {"1234567890123456789012345678901234567890123456789012345678901234", NULL,
         SUF_PHONE_TOO_MANY_DIGITS},
        {"9812344567", NULL, SUF_PHONE_NO_COUNTRY_CODE},
        {"9812344567", "", SUF_PHONE_NO_COUNTRY_CODE},
        {"+0123456789", NULL, SUF_PHONE_ZERO_COUNTRY_CODE},
        {"+1234567", NULL, SUF_PHONE_TOO_SHORT},
        {"0", "91", SUF_PHONE_TOO_SHORT},
        {"+12345678", NULL, SUF_PHONE_OK},
        {"+123456789012345", NULL, SUF_PHONE_OK},
        {"+1234567890123456", NULL, SUF_PHONE_TOO_LONG},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[SUF_PHONE_MAX] = "";

        CU_ASSERT_EQUAL(suf_phone_parse(rows[i].in, rows[i].cc, out), rows[i].want);
    }
}

/* The message table and the enum have the same length, and each message
 * is its own. */
static void test_phone__every_error_has_a_message(void)
{
    for (int e = 0; e < SUF_PHONE_ERROR_COUNT; e++) {
        CU_ASSERT_STRING_NOT_EQUAL(suf_phone_strerror(e), "unknown phone error");
        for (int f = 0; f < e; f++)
            CU_ASSERT_STRING_NOT_EQUAL(suf_phone_strerror(e), suf_phone_strerror(f));
    }
    CU_ASSERT_STRING_EQUAL(suf_phone_strerror(SUF_PHONE_ERROR_COUNT), "unknown phone error");
    CU_ASSERT_STRING_EQUAL(suf_phone_strerror(SUF_PHONE_SCIENTIFIC),
                           "looks like Excel scientific notation");
}

static void test_phone__mask_keeps_prefix_and_last_digits(void)
{
    char out[32];

    CU_ASSERT_STRING_EQUAL(suf_phone_mask("919812344567", 2, 4, out, sizeof(out)),
                           "+91******4567");
    CU_ASSERT_STRING_EQUAL(suf_phone_mask("447700900023", 0, 0, out, sizeof(out)),
                           "+************");
}

static void test_time__parse_table(void)
{
    static const struct {
        const char *in;
        long long want; /* -1: refused */
    } rows[] = {
        {"2026-11-20T10:15:00Z", 1795169700},
        {"2026-11-20 10:15:00Z", 1795169700},
        {"2026-11-20T15:45:00+05:30", 1795169700},
        {"2026-11-20T10:15:00.250Z", 1795169700},
        {"2026-11-20T10:15", 1795169700},
        {"2026-11-20", 1795132800},
        {"1763633700", 1763633700},
        {"1763633700250", 1763633700},
        {"2026-02-30T00:00:00Z", -1},
        {"20/11/2026", -1},
        {"1899-01-01", -1},
        {"-5", -1},
        {"9999999999999", -1},
        {"2026-11-20T10:15:00Zjunk", -1},
        {"", -1},
    };
    suf_time_set_input_zone("UTC");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t t = 0;
        const char *why = NULL;
        int rc = suf_time_parse(rows[i].in, &t, &why);
        if (rows[i].want < 0) {
            CU_ASSERT_EQUAL(rc, SUF_ERR_INPUT);
            CU_ASSERT_PTR_NOT_NULL(why);
        } else {
            CU_ASSERT_EQUAL(rc, SUF_OK);
            CU_ASSERT_EQUAL(t, rows[i].want);
        }
    }
}

static void test_time__input_zone_applies_to_zoneless_times(void)
{
    int64_t t = 0;

    CU_ASSERT_EQUAL(suf_time_set_input_zone("+05:30"), SUF_OK);
    CU_ASSERT_EQUAL(suf_time_parse("2026-11-20T15:45:00", &t, NULL), SUF_OK);
    CU_ASSERT_EQUAL(t, 1795169700);
    CU_ASSERT_EQUAL(suf_time_parse("2026-11-20T10:15:00Z", &t, NULL), SUF_OK);
    CU_ASSERT_EQUAL(t, 1795169700);
    CU_ASSERT_EQUAL(suf_time_set_input_zone("Asia/Kolkata"), SUF_OK);
    CU_ASSERT_EQUAL(suf_time_parse("2026-11-20T15:45:00", &t, NULL), SUF_OK);
    CU_ASSERT_EQUAL(t, 1795169700);
    CU_ASSERT_EQUAL(suf_time_set_input_zone("Nowhere/Atlantis"), SUF_ERR_CONFIG);
    suf_time_set_input_zone("UTC");
}

static void test_amount__parse_and_format(void)
{
    static const struct {
        const char *in;
        long long want; /* -1: refused */
    } rows[] = {
        {"0.0113", 11300}, {"12.50", 12500000}, {"7", 7000000}, {".5", 500000},
        {" 0.000001 ", 1}, {"0.0000001", -1},   {"-1", -1},     {"1,000", -1},
        {"1e3", -1},       {"", -1},            {"n/a", -1},
    };
    char buf[32];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t m = 0;
        int rc = suf_amount_parse(rows[i].in, &m);
        if (rows[i].want < 0) {
            CU_ASSERT_EQUAL(rc, SUF_ERR_INPUT);
        } else {
            CU_ASSERT_EQUAL(rc, SUF_OK);
            CU_ASSERT_EQUAL(m, rows[i].want);
        }
    }
    CU_ASSERT_STRING_EQUAL(suf_amount_format(11300, buf, sizeof(buf)), "0.011300");
    CU_ASSERT_STRING_EQUAL(suf_amount_format(-1500000, buf, sizeof(buf)), "-1.500000");
}

static void test_config__defaults_file_env_and_errors(void)
{
    struct suf_config cfg;
    struct suf_err err = SUF_ERR_INIT;

    suf_config_init(&cfg);
    CU_ASSERT_EQUAL(cfg.throughput, 80);
    CU_ASSERT_TRUE(suf_config_code_eligible(&cfg, 131049));
    CU_ASSERT_FALSE(suf_config_code_eligible(&cfg, 131026));
    setenv("SUF_CONCURRENCY", "4", 1);
    CU_ASSERT_EQUAL(suf_config_load_string(&cfg,
                                           "[api]\nthroughput = 1000\n"
                                           "[plan]\neligible_error_codes = 131049, 131026\n"
                                           "[utility]\nmax_utility_cost_per_run = 12.50\n",
                                           "t.conf", &err),
                    SUF_OK);
    unsetenv("SUF_CONCURRENCY");
    CU_ASSERT_EQUAL(cfg.throughput, 1000);
    CU_ASSERT_EQUAL(cfg.concurrency, 4);
    CU_ASSERT_EQUAL(cfg.max_utility_cost_per_run, 12500000);
    CU_ASSERT_TRUE(suf_config_code_eligible(&cfg, 131026));
    suf_config_release(&cfg);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"[api]\nthroughput = 1001\n", "t.conf:2: key 'throughput': out of range"},
        {"[api]\nnope = 1\n", "t.conf:2: unknown key 'nope' in [api]"},
        {"[plan]\nthroughput = 5\n", "t.conf:2: key 'throughput' belongs in another section"},
        {"[plan]\nfallback = maybe\n", "t.conf:2: key 'fallback': not on/off"},
        {"junk line\n", "t.conf:1: not a section"},
        {"[billing]\nsession_billing = twice\n", "session_billing 'twice'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        suf_config_init(&cfg);
        suf_err_clear(&err);
        CU_ASSERT_EQUAL(suf_config_load_string(&cfg, bad[i].text, "t.conf", &err), SUF_ERR_CONFIG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].msg));
        if (!strstr(err.msg, bad[i].msg))
            fprintf(stderr, "got: %s\n", err.msg);
        suf_config_release(&cfg);
    }
}

static void test_config__permission_template_keys_are_checked(void)
{
    static const struct {
        const char *text, *msg; /* msg NULL: accepted */
    } rows[] = {
        {"", NULL},
        {"[utility]\npermission_body = Hi, {{1}} and {{2}} sent news.\n"
         "permission_example = Winter sale|Ana\n",
         NULL},
        {"[utility]\npermission_body = {{1}} sent you news\n", "starts with a variable"},
        {"[utility]\npermission_body =   {{1}} sent you news\n", "starts with a variable"},
        {"[utility]\npermission_body = News from {{1}}\n", "ends with a variable"},
        {"[utility]\npermission_body = News from {{1}} {{2}} here\n",
         "has two variables next to each other"},
        {"[utility]\npermission_body = News from {{1}}{{2}} here\n",
         "has two variables next to each other"},
        {"[utility]\npermission_body = News {{1}} and {{3}} here\npermission_example = a|b|c\n",
         "skips a variable number"},
        {"[utility]\npermission_body = News {{x}} here\n", "other than {{1}} to {{99}}"},
        {"[utility]\npermission_body = News {{+1}} here\n", "other than {{1}} to {{99}}"},
        {"[utility]\npermission_example = a|b\n",
         "permission_example 'a|b' does not give one value per variable (1"},
        {"[utility]\npermission_yes = Yes please show me that message now\n",
         "permission_yes 'Yes please show me that message now' is not 1 to 25 characters"},
        {"[utility]\npermission_no = \n", "permission_no '' is not 1 to 25 characters"},
        {"[utility]\npermission_yes = S\xc3\xad, mu\xc3\xa9strame el mensaje\n", NULL},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_config cfg;
        struct suf_err err = SUF_ERR_INIT;
        int rc;

        suf_config_init(&cfg);
        rc = suf_config_load_string(&cfg, rows[i].text, "t.conf", &err);
        if (rows[i].msg ? !strstr(err.msg, rows[i].msg) : rc != SUF_OK)
            fprintf(stderr, "\nrow %zu: got %d '%s'\n", i, rc, err.msg);
        CU_ASSERT_EQUAL(rc, rows[i].msg ? SUF_ERR_CONFIG : SUF_OK);
        if (rows[i].msg)
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rows[i].msg));
        suf_config_release(&cfg);
    }
}

static void test_config__long_line_is_an_error_not_a_cut(void)
{
    struct suf_config cfg;
    struct suf_err err = SUF_ERR_INIT;
    char text[1024];

    snprintf(text, sizeof(text), "[general]\nreports_dir = /%0400d\n", 0);
    suf_config_init(&cfg);
    CU_ASSERT_EQUAL(suf_config_load_string(&cfg, text, "t.conf", &err), SUF_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "t.conf:2: line is too long"));
    suf_config_release(&cfg);
}

static void test_config__nul_byte_in_a_file_line_is_an_error(void)
{
    struct suf_config cfg;
    struct suf_err err = SUF_ERR_INIT;
    static const char text[] = "[api]\nthroughput = 5\0 0\n";
    const char *path = suf_test_path("nul.conf");
    FILE *f = fopen(path, "wb");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(text, 1, sizeof(text) - 1, f);
    fclose(f);
    suf_config_init(&cfg);
    CU_ASSERT_EQUAL(suf_config_load(&cfg, path, &err), SUF_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nul.conf:2: line contains a NUL byte"));
    CU_ASSERT_EQUAL(cfg.throughput, 80);
    suf_config_release(&cfg);
}

static void test_config__base_url_check_table(void)
{
    static const struct {
        const char *url;
        const char *why; /* NULL: accepted; else a part of the reason */
    } rows[] = {
        {"https://graph.facebook.com", NULL},
        {"https://graph.facebook.com/", NULL},
        {"https://proxy.example:8443/graph", NULL},
        {"https://203.0.113.7", NULL},
        {"HTTPS://Graph.Facebook.com", NULL},
        {"http://127.0.0.1:8080", NULL},
        {"http://127.9.8.7", NULL},
        {"http://localhost", NULL},
        {"http://localhost:9/mock", NULL},
        {"http://LocalHost:9", NULL},
        {"HTTP://127.0.0.1:18499", NULL},
        {"http://[::1]", NULL},
        {"http://[::1]:80/x", NULL},
        {"http://[0:0:0:0:0:0:0:1]:80", NULL},
        /* curl reads these numeric forms as 127.0.0.1, and connects there */
        {"http://0x7f.1:18499", NULL},
        {"http://2130706433:18499", NULL},
        {"http://0177.0.0.1", NULL},
        /* user info: curl connects to the host after the '@' */
        {"http://localhost:1@192.0.2.2:18499", "user name or password"},
        {"http://localhost@192.0.2.2", "user name or password"},
        {"http://127.0.0.1:8080\\@192.0.2.2", "user name or password"},
        {"http://@127.0.0.1", "user name or password"},
        {"http://u:p@127.0.0.1", "user name or password"},
        {"https://user:secret@graph.facebook.com", "user name or password"},
        /* not provably this machine */
        {"http://localhost.", "not 127.0.0.0/8"},
        {"http://localhost.:18499", "not 127.0.0.0/8"},
        {"http://127.0.0.1.", "not 127.0.0.0/8"},
        {"http://127.0.0.1.example.com", "not 127.0.0.0/8"},
        {"http://127.0.0.1.evil.example", "not 127.0.0.0/8"},
        {"http://example.com/127.0.0.1", "not 127.0.0.0/8"},
        {"http://foo.localhost", "not 127.0.0.0/8"},
        {"http://[::ffff:127.0.0.1]", "not 127.0.0.0/8"},
        {"http://[::1%25lo]", "not 127.0.0.0/8"},
        {"http://0", "not 127.0.0.0/8"},
        {"http://[::]", "not 127.0.0.0/8"},
        {"http://10.0.0.1", "not 127.0.0.0/8"},
        {"http://graph.facebook.com", "not 127.0.0.0/8"},
        {"HTTP://graph.facebook.com", "not 127.0.0.0/8"},
        /* other schemes */
        {"ftp://127.0.0.1", "scheme is not https"},
        {"file:///etc/passwd", "scheme is not https"},
        {"gopher://127.0.0.1", "scheme is not https"},
        {"FTP://127.0.0.1", "scheme is not https"},
        /* not URLs, or not a prefix for the API path */
        {"graph.facebook.com", "not a URL"},
        {"localhost:1@192.0.2.2:18499", "not a URL"},
        {"http:127.0.0.1", "not a URL"},
        {"http://", "not a URL"},
        {"", "not a URL"},
        {"http://127.0.0.1:99999", "not a URL"},
        {"http://127.0.0.1/a b", "not a URL"},
        {"http://127.0.0.1#@192.0.2.2", "query or fragment"},
        {"https://graph.facebook.com?x=1", "query or fragment"},
        {"http://127.0.0.1#", "query or fragment"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *why = "unset";
        int rc = suf_config_check_base_url(rows[i].url, &why);

        if (rows[i].why) {
            CU_ASSERT_EQUAL(rc, SUF_ERR_CONFIG);
            CU_ASSERT_PTR_NOT_NULL(why);
            CU_ASSERT(why && strstr(why, rows[i].why));
        } else {
            CU_ASSERT_EQUAL(rc, SUF_OK);
            CU_ASSERT_PTR_NULL(why);
        }
        if ((rows[i].why ? rc != SUF_ERR_CONFIG || !why || !strstr(why, rows[i].why)
                         : rc != SUF_OK))
            fprintf(stderr, "row %zu '%s': status %d, '%s'\n", i, rows[i].url, rc,
                    why ? why : "(null)");
    }
}

/* The rule holds wherever base_url comes from: the file, with its line, and
 * the environment; and the reason never quotes the URL, whose user info may
 * be a password. */
static void test_config__base_url_refused_from_file_and_env(void)
{
    struct suf_config cfg;
    struct suf_err err = SUF_ERR_INIT;

    suf_config_init(&cfg);
    CU_ASSERT_EQUAL(
        suf_config_load_string(&cfg,
                               "[api]\napi_version = v23.0\n"
                               "base_url = http://localhost:pw-123@192.0.2.2:18499\n",
                               "t.conf", &err),
        SUF_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "t.conf:3: key 'base_url': has a user name"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "pw-123"));
    CU_ASSERT_STRING_EQUAL(cfg.base_url, "https://graph.facebook.com");
    suf_config_release(&cfg);

    suf_config_init(&cfg);
    suf_err_clear(&err);
    setenv("SUF_BASE_URL", "http://0x7f.1.evil.example:18499", 1);
    CU_ASSERT_EQUAL(suf_config_load_string(&cfg, "", "t.conf", &err), SUF_ERR_CONFIG);
    unsetenv("SUF_BASE_URL");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(err.msg, "environment SUF_BASE_URL: plain http to a host"));
    suf_config_release(&cfg);

    suf_config_init(&cfg);
    suf_err_clear(&err);
    CU_ASSERT_EQUAL(suf_config_load_string(&cfg, "[api]\nbase_url = http://[::1]:18499\n",
                                           "t.conf", &err),
                    SUF_OK);
    CU_ASSERT_STRING_EQUAL(cfg.base_url, "http://[::1]:18499");
    suf_config_release(&cfg);
}

/* Every real-valued key (max_reject_ratio is the only one) refuses NaN and
 * the infinities: NaN fails every comparison, so a range test passes it and
 * the exit-65 rule would quietly never fire. */
static void test_config__real_values_refuse_nan_and_infinity(void)
{
    static const char *const bad[] = {"nan",   "NaN",      "-nan",     "nan(1)",
                                      "inf",   "-inf",     "infinity", "+Infinity",
                                      "1e999", "0x1p99999"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct suf_config cfg;
        struct suf_err err = SUF_ERR_INIT;
        char text[128];

        snprintf(text, sizeof(text), "[general]\nmax_reject_ratio = %s\n", bad[i]);
        suf_config_init(&cfg);
        CU_ASSERT_EQUAL(suf_config_load_string(&cfg, text, "t.conf", &err),
                        SUF_ERR_CONFIG);
        CU_ASSERT_PTR_NOT_NULL(
            strstr(err.msg, "t.conf:2: key 'max_reject_ratio': not a ratio"));
        CU_ASSERT_DOUBLE_EQUAL(cfg.max_reject_ratio, 0.01, 1e-12);
        suf_config_release(&cfg);

        suf_config_init(&cfg);
        suf_err_clear(&err);
        setenv("SUF_MAX_REJECT_RATIO", bad[i], 1);
        CU_ASSERT_EQUAL(suf_config_load_string(&cfg, "", "t.conf", &err), SUF_ERR_CONFIG);
        unsetenv("SUF_MAX_REJECT_RATIO");
        CU_ASSERT_PTR_NOT_NULL(
            strstr(err.msg, "environment SUF_MAX_REJECT_RATIO: not a ratio"));
        suf_config_release(&cfg);
    }
}

static void test_config__umask_is_octal(void)
{
    static const struct {
        const char *value;
        int ok;
    } rows[] = {
        {"0027", 1}, {"027", 1},  {"27", 1},
        {"0", 1},    {"0777", 1}, {"00000777", 1},
        {"077", 1},  {"abc", 0},  {"999", 0},
        {"8", 0},    {"0778", 0}, {"01000", 0},
        {"1000", 0}, {"", 0},     {"-1", 0},
        {"0x1f", 0}, {"0o27", 0}, {"27a", 0},
        {"0 27", 0}, {"+27", 0},  {"7777777777777777777777", 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_config cfg;
        struct suf_err err = SUF_ERR_INIT;
        char text[128];
        int rc;

        snprintf(text, sizeof(text), "[general]\numask = %s\n", rows[i].value);
        suf_config_init(&cfg);
        rc = suf_config_load_string(&cfg, text, "t.conf", &err);
        if (rows[i].ok) {
            CU_ASSERT_EQUAL(rc, SUF_OK);
            CU_ASSERT_STRING_EQUAL(cfg.umask, rows[i].value);
        } else {
            CU_ASSERT_EQUAL(rc, SUF_ERR_CONFIG);
            CU_ASSERT_PTR_NOT_NULL(
                strstr(err.msg, "t.conf:2: key 'umask': not an octal umask"));
            CU_ASSERT_STRING_EQUAL(cfg.umask, "0027");
        }
        if (rows[i].ok != (rc == SUF_OK))
            fprintf(stderr, "umask '%s': status %d, '%s'\n", rows[i].value, rc, err.msg);
        suf_config_release(&cfg);
    }
}

static void test_config__a_key_set_twice_in_a_file_is_refused(void)
{
    static const struct {
        const char *text, *msg;
    } rows[] = {
        {"[api]\nthroughput = 10\nconcurrency = 4\nthroughput = 20\n",
         "t.conf:4: key 'throughput' is set twice in [api] (first on line 2)"},
        {"[api]\nthroughput = 10\n[plan]\ngrace_hours = 1\n[api]\nthroughput = 10\n",
         "t.conf:6: key 'throughput' is set twice in [api] (first on line 2)"},
        {"[general]\nmax_reject_ratio = 0.5\nmax_reject_ratio = nan\n",
         "t.conf:3: key 'max_reject_ratio' is set twice in [general] (first on line 2)"},
        {"[consent]\nstop_keywords = STOP,\n  UNSUBSCRIBE\n",
         "t.conf:3: key 'stop_keywords' continues on an indented line"},
    };
    struct suf_config cfg;
    struct suf_err err = SUF_ERR_INIT;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        suf_config_init(&cfg);
        suf_err_clear(&err);
        CU_ASSERT_EQUAL(suf_config_load_string(&cfg, rows[i].text, "t.conf", &err),
                        SUF_ERR_CONFIG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rows[i].msg));
        if (!strstr(err.msg, rows[i].msg))
            fprintf(stderr, "got: %s\n", err.msg);
        suf_config_release(&cfg);
    }

    /* The environment overriding the file is not a duplicate. */
    suf_config_init(&cfg);
    suf_err_clear(&err);
    setenv("SUF_THROUGHPUT", "7", 1);
    CU_ASSERT_EQUAL(
        suf_config_load_string(&cfg, "[api]\nthroughput = 10\n", "t.conf", &err), SUF_OK);
    unsetenv("SUF_THROUGHPUT");
    CU_ASSERT_EQUAL(cfg.throughput, 7);
    suf_config_release(&cfg);
}

static void test_config__duplicate_key_in_a_file_names_file_and_line(void)
{
    struct suf_config cfg;
    struct suf_err err = SUF_ERR_INIT;
    const char *path = suf_test_write("twice.conf", "[general]\n"
                                                    "umask = 0027\n"
                                                    "\n"
                                                    "; later, someone adds\n"
                                                    "umask = 0002\n");

    suf_config_init(&cfg);
    CU_ASSERT_EQUAL(suf_config_load(&cfg, path, &err), SUF_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg,
                                  "twice.conf:5: key 'umask' is set twice in [general] "
                                  "(first on line 2)"));
    suf_config_release(&cfg);
}

static void test_config__secret_file_modes(void)
{
    struct suf_err err = SUF_ERR_INIT;
    char *secret = NULL;
    const char *path = suf_test_write("token", "marker-token-123\n");

    unsetenv("SUF_TEST_TOKEN");
    chmod(path, 0644);
    CU_ASSERT_EQUAL(suf_config_secret("SUF_TEST_TOKEN", path, &secret, &err), SUF_ERR_PERM);
    CU_ASSERT_PTR_NULL(strstr(err.msg, "marker-token"));
    chmod(path, 0600);
    CU_ASSERT_EQUAL(suf_config_secret("SUF_TEST_TOKEN", path, &secret, &err), SUF_OK);
    CU_ASSERT_STRING_EQUAL(secret, "marker-token-123");
    free(secret);
    {
        char msg[128] = "Authorization: Bearer marker-token-123 failed";
        suf_redact(msg, sizeof(msg));
        CU_ASSERT_STRING_EQUAL(msg, "Authorization: Bearer [redacted] failed");
    }
    suf_log_secrets_clear();
}

/* The run's clock is --now plus the whole seconds elapsed: a clock started
 * a nanosecond before a second's end still reads --now until a full second
 * has passed, and one started 2.5 s ago reads --now + 2. */
static void test_clock__counts_whole_seconds_elapsed(void)
{
    struct suf_clock clk;
    struct timespec now;

    suf_clock_init(&clk, 1795485600);
    CU_ASSERT_EQUAL(suf_clock_now(&clk), 1795485600);
    clock_gettime(CLOCK_MONOTONIC, &now);
    clk.started.tv_sec = now.tv_sec - 1;
    clk.started.tv_nsec = 999999999; /* now.tv_nsec + 1 ns ago */
    CU_ASSERT_EQUAL(suf_clock_now(&clk), 1795485600);
    clk.started.tv_sec = now.tv_sec - 3;
    clk.started.tv_nsec = now.tv_nsec + 500000000L;
    if (clk.started.tv_nsec >= 1000000000L) {
        clk.started.tv_sec++;
        clk.started.tv_nsec -= 1000000000L;
    }
    CU_ASSERT_EQUAL(suf_clock_now(&clk), 1795485602);
}

static const struct suf_test tests[] = {
    {"clock: counts whole seconds elapsed", test_clock__counts_whole_seconds_elapsed},
    {"status: every status has a message and exit code",
     test_status__every_status_has_a_message_and_exit_code},
    {"status: err_at prefixes file and line", test_status__err_at_prefixes_file_and_line},
    {"util: parse_i64 rejects junk", test_util__parse_i64_rejects_junk},
    {"phone: normalisation table", test_phone__normalisation_table},
    {"phone: parse names each kind of error", test_phone__parse_names_each_kind_of_error},
    {"phone: every error has a message", test_phone__every_error_has_a_message},
    {"phone: mask", test_phone__mask_keeps_prefix_and_last_digits},
    {"time: parse table", test_time__parse_table},
    {"time: input zone", test_time__input_zone_applies_to_zoneless_times},
    {"amount: parse and format", test_amount__parse_and_format},
    {"config: defaults, file, env, errors", test_config__defaults_file_env_and_errors},
    {"config: permission template keys are checked",
     test_config__permission_template_keys_are_checked},
    {"config: long line is an error", test_config__long_line_is_an_error_not_a_cut},
    {"config: NUL byte in a file line", test_config__nul_byte_in_a_file_line_is_an_error},
    {"config: base_url check table", test_config__base_url_check_table},
    {"config: base_url refused from file and env",
     test_config__base_url_refused_from_file_and_env},
    {"config: real values refuse nan and infinity",
     test_config__real_values_refuse_nan_and_infinity},
    {"config: umask is octal", test_config__umask_is_octal},
    {"config: a key set twice is refused",
     test_config__a_key_set_twice_in_a_file_is_refused},
    {"config: duplicate key names file and line",
     test_config__duplicate_key_in_a_file_names_file_and_line},
    {"config: secret file modes", test_config__secret_file_modes},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("base", tests);
}
