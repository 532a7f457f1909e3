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

static void test_config__plain_http_only_to_loopback(void)
{
    static const struct {
        const char *url;
        int ok;
    } rows[] = {
        {"https://graph.facebook.com", 1}, {"http://127.0.0.1:8080", 1},
        {"http://localhost:9", 1},         {"http://localhost", 1},
        {"http://[::1]:80/x", 1},          {"http://graph.facebook.com", 0},
        {"http://127.0.0.1.evil.example", 0}, {"http://10.0.0.1", 0},
        {"ftp://127.0.0.1", 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_config cfg;
        struct suf_err err = SUF_ERR_INIT;
        char text[256];

        snprintf(text, sizeof(text), "[api]\nbase_url = %s\n", rows[i].url);
        suf_config_init(&cfg);
        CU_ASSERT_EQUAL(suf_config_load_string(&cfg, text, "t.conf", &err),
                        rows[i].ok ? SUF_OK : SUF_ERR_CONFIG);
        suf_config_release(&cfg);
    }
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

static const struct suf_test tests[] = {
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
    {"config: long line is an error", test_config__long_line_is_an_error_not_a_cut},
    {"config: NUL byte in a file line", test_config__nul_byte_in_a_file_line_is_an_error},
    {"config: plain http only to loopback", test_config__plain_http_only_to_loopback},
    {"config: secret file modes", test_config__secret_file_modes},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("base", tests);
}
