/*
 * test_import.c: the delivery export and campaign settings importers, into a
 * scratch store: rows kept, upserts, idempotent re-imports, every reject
 * reason row by row (fixtures/messy), hard errors per file, the reject
 * ratio verdict.
 *
 * Expected values come from the fixture files themselves (read here line by
 * line) and from fixtures/README.md's tables, never from suf's output.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/context.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/util.h"
#include "import/import.h"
#include "testutil.h"

static struct suf_config cfg;
static struct suf_store st = SUF_STORE_INIT;
static struct suf_run run;
static int nstore;

/* A fresh store and run context for each test. */
static void setup(void)
{
    char name[32];

    if (st.db)
        suf_store_close(&st);
    if (run.counts)
        json_decref(run.counts);
    suf_config_release(&cfg);
    suf_config_init(&cfg);
    snprintf(name, sizeof(name), "import-%d.db", ++nstore);
    suf_test_store(&st, name);
    memset(&run, 0, sizeof(run));
    run.cfg = &cfg;
    run.store = &st;
    run.counts = json_object();
    suf_clock_init(&run.clock, 1795485600); /* 2026-11-24T02:00:00Z */
}

static int import(const char *kind, const char *path, struct suf_err *err)
{
    suf_import_fn fn = !strcmp(kind, "campaigns") ? suf_import_campaigns : suf_import_deliveries;
    return suf_import_path(&run, kind, fn, path, NULL, err);
}

static int64_t scalar(const char *sql, const char *param)
{
    int64_t v = -1;
    struct suf_err err = SUF_ERR_INIT;

    CU_ASSERT_EQUAL(suf_store_scalar(&st, sql, param, &v, &err), SUF_OK);
    return v;
}

/* The text of a one-value query (of its last column), in a static buffer
 * ("" for NULL). */
static const char *text(const char *sql, const char *param)
{
    static char out[4096];
    sqlite3_stmt *s = suf_store_prepare(&st, sql, NULL);

    out[0] = '\0';
    if (!s)
        return "(prepare failed)";
    suf_bind_text(s, 1, param);
    if (sqlite3_step(s) == SQLITE_ROW) {
        int last = sqlite3_column_count(s) - 1; /* EXPLAIN QUERY PLAN: the detail */
        if (sqlite3_column_text(s, last))
            suf_strlcpy(out, (const char *)sqlite3_column_text(s, last), sizeof(out));
    }
    sqlite3_finalize(s);
    return out;
}

/* Physical lines of a file, minus `minus` (a header). */
static int64_t count_lines(const char *path, int minus)
{
    FILE *f = fopen(path, "rb");
    int64_t n = 0;
    int c, last = '\n';

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while ((c = getc(f)) != EOF) {
        if (c == '\n')
            n++;
        last = c;
    }
    fclose(f);
    return n + (last != '\n') - minus;
}

/* Line `want` (1-based) of a file, without its line end, into a static buffer. */
static const char *file_line(const char *path, int want)
{
    static char *line; /* reused; reachable until exit */
    static size_t size;
    FILE *f = fopen(path, "rb");
    int n = 0;

    while (f && getline(&line, &size, f) > 0)
        if (++n == want)
            break;
    if (f)
        fclose(f);
    if (line)
        line[strcspn(line, "\r\n")] = '\0';
    return line ? line : "";
}

static void test_import__fixture_deliveries_keeps_every_row(void)
{
    struct suf_err err = SUF_ERR_INIT;
    const char *path = suf_test_source("fixtures/deliveries.csv");
    int64_t lines = count_lines(path, 1);

    setup();
    CU_ASSERT_EQUAL_FATAL(import("deliveries", path, &err), SUF_OK);
    CU_ASSERT(lines > 50);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), lines);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM rejects", NULL), 0);
    CU_ASSERT_EQUAL(scalar("SELECT rows FROM files", NULL), lines);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "deliveries.rows"), lines);
    /* DESIGN.md's worked example row */
    CU_ASSERT_STRING_EQUAL(text("SELECT phone || ' ' || vars || ' ' || status || ' ' || "
                                "error_code || ' ' || attempt || ' ' || sent_at FROM attempts "
                                "WHERE message_id = ?1",
                                "wamid.winter.015.1"),
                           "447700900023 [\"Asha\",\"WINTER20\"] failed 131049 1 1795168800");
    /* epoch seconds and milliseconds read as the same instant */
    CU_ASSERT_EQUAL(scalar("SELECT sent_at FROM attempts WHERE message_id = ?1",
                           "wamid.s4.022.1"), 1795168800);
    CU_ASSERT_EQUAL(scalar("SELECT sent_at FROM attempts WHERE message_id = ?1",
                           "wamid.s5.026.1"), 1795168800);
    /* accepted means in flight */
    CU_ASSERT_STRING_EQUAL(text("SELECT status FROM attempts WHERE message_id = ?1",
                                "wamid.s2.014.1"), "pending");
    /* a number that is not E.164 is kept, flagged */
    CU_ASSERT_STRING_EQUAL(text("SELECT phone FROM attempts WHERE phone_valid = 0", NULL),
                           "62812");
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts WHERE phone_valid = 0", NULL), 1);
    CU_ASSERT_STRING_EQUAL(text("SELECT url_suffixes FROM attempts WHERE message_id = ?1",
                                "wamid.s6.030.1"), "[\"flash-40\"]");
    CU_ASSERT_STRING_EQUAL(text("SELECT button_payloads FROM attempts WHERE message_id = ?1",
                                "wamid.s7.033.1"), "[\"CAT_YES\",\"CAT_LATER\"]");
    CU_ASSERT_STRING_EQUAL(text("SELECT vars FROM attempts WHERE message_id = ?1",
                                "wamid.s1.005.1"), "[\"Dev\"]");
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts WHERE url_suffixes IS NOT NULL "
                           "AND campaign_id <> 'camp_s6'", NULL), 0);
}

static void test_import__reimporting_the_same_file_does_nothing(void)
{
    struct suf_err err = SUF_ERR_INIT;
    const char *path = suf_test_source("fixtures/deliveries.csv");
    int64_t before;

    setup();
    CU_ASSERT_EQUAL_FATAL(import("deliveries", path, &err), SUF_OK);
    before = scalar("SELECT count(*) FROM attempts", NULL);
    CU_ASSERT_EQUAL(import("deliveries", path, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), before);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "deliveries.skipped_files"), 1);
}

static void test_import__an_attempt_seen_again_updates_its_row(void)
{
    struct suf_err err = SUF_ERR_INIT;
    char p1[1024], p2[1024];

    setup();
    snprintf(p1, sizeof(p1), "%s", suf_test_write("a1.csv", "campaign_id,message_id,phone,template_name,status,sent_at,"
                                  "error_code,attempt\n"
                                  "c,w1,+919812300001,t,sent,2026-11-20T10:00:00Z,,1\n"
                                  "c,w2,+919812300002,t,failed,2026-11-20T10:00:00Z,131049,1\n"));
    snprintf(p2, sizeof(p2), "%s", suf_test_write("a2.csv", "campaign_id,message_id,phone,template_name,status,sent_at,"
                                  "error_code,attempt\n"
                                  "c,w1,+919812300001,t,failed,2026-11-20T10:00:00Z,131049,1\n"
                                  "c,w1,+919812300001,t,failed,2026-11-20T10:00:00Z,131026,1\n"
                                  "c,w3,+919812300003,t,read,2026-11-20T10:00:00Z,,1\n"));
    CU_ASSERT_EQUAL(import("deliveries", p1, &err), SUF_OK);
    CU_ASSERT_EQUAL(import("deliveries", p2, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 3);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts WHERE message_id = 'w1'", NULL), 1);
    CU_ASSERT_STRING_EQUAL(text("SELECT status || ' ' || error_code FROM attempts "
                                "WHERE message_id = ?1", "w1"),
                           "failed 131026");
    CU_ASSERT_EQUAL(scalar("SELECT file_id FROM attempts WHERE message_id = 'w1'", NULL),
                    scalar("SELECT id FROM files WHERE path LIKE '%a2.csv'", NULL));
}

static void test_import__export_without_attempt_column_stores_zero(void)
{
    struct suf_err err = SUF_ERR_INIT;
    const char *p;

    setup();
    p = suf_test_write("noattempt.csv", "wamid,to,template,state,timestamp,campaign\n"
                                        "w1,447700900001,t,DELIVERED,1795168800,c\n");
    CU_ASSERT_EQUAL(import("deliveries", p, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT attempt FROM attempts", NULL), 0);
    CU_ASSERT_STRING_EQUAL(text("SELECT status FROM attempts", NULL), "delivered");
}

/* The expected rejects of fixtures/messy/deliveries-messy.csv (see
 * fixtures/README.md): line and the start of the reason. */
static const struct {
    int line;
    const char *reason;
} messy_rejects[] = {
    {5, "missing required field 'message_id'"},
    {6, "unknown status 'bounced'"},
    {7, "phone 'call me' is not a number"},
    {8, "phone '9.19812E+11' looks like Excel scientific notation"},
    {9, "unparseable time 'yesterday'"},
    {10, "invalid UTF-8"},
    {11, "wrong number of fields: 15, the header has 18"},
    {13, "field over 64 KiB"},
    {15, "phone '98123 55513' has no country code"},
    {21, "missing required field 'status'"},
};

static void test_import__messy_export_rejects_each_bad_row_with_its_reason(void)
{
    struct suf_err err = SUF_ERR_INIT;
    char path[1024];
    sqlite3_stmt *s;
    size_t i = 0, nrej = sizeof(messy_rejects) / sizeof(messy_rejects[0]);

    setup();
    snprintf(path, sizeof(path), "%s", suf_test_source("fixtures/messy/deliveries-messy.csv"));
    CU_ASSERT_EQUAL(import("deliveries", path, &err), SUF_OK);
    CU_ASSERT_EQUAL(run.soft_status, SUF_ERR_REJECTS); /* 10 of 17: over 1 % */
    s = suf_store_prepare(&st, "SELECT line, reason, raw FROM rejects ORDER BY id", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int line = sqlite3_column_int(s, 0);
        const char *reason = (const char *)sqlite3_column_text(s, 1);

        CU_ASSERT_FATAL(i < nrej);
        CU_ASSERT_EQUAL(line, messy_rejects[i].line);
        CU_ASSERT_EQUAL(strncmp(reason, messy_rejects[i].reason, strlen(messy_rejects[i].reason)),
                        0);
        if (line != 13) { /* the raw text is the physical line as it is in the file */
            const char *raw = (const char *)sqlite3_column_blob(s, 2);
            const char *want = file_line(path, line);
            CU_ASSERT(sqlite3_column_bytes(s, 2) == (int)strlen(want) &&
                      !memcmp(raw, want, strlen(want)));
        } else {
            CU_ASSERT_EQUAL(sqlite3_column_bytes(s, 2), 65536);
        }
        i++;
    }
    sqlite3_finalize(s);
    CU_ASSERT_EQUAL(i, nrej);
    CU_ASSERT_EQUAL(scalar("SELECT rows FROM files", NULL), 17);
    CU_ASSERT_EQUAL(scalar("SELECT rejects FROM files", NULL), (int64_t)nrej);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 17 - (int64_t)nrej);
    /* quoted comma, quotes, CRLF in a field, zone offsets, Queued */
    CU_ASSERT_STRING_EQUAL(text("SELECT campaign_name FROM attempts LIMIT 1", NULL),
                           "Spring, \"special\" sale");
    CU_ASSERT_STRING_EQUAL(text("SELECT customer_name || ' ' || sent_at FROM attempts "
                                "WHERE message_id = ?1", "wamid.m.01"),
                           "Rao, Asha 1795168800");
    CU_ASSERT_STRING_EQUAL(text("SELECT vars FROM attempts WHERE message_id = ?1", "wamid.m.02"),
                           "[\"Line one\\r\\nLine two\",\"SPRING5\"]");
    CU_ASSERT_STRING_EQUAL(text("SELECT status || ' ' || attempt || ' ' || phone || ' ' || line "
                                "FROM attempts WHERE message_id = ?1", "wamid.m.10"),
                           "pending 2 447700900555 12");
    CU_ASSERT_EQUAL(scalar("SELECT line FROM attempts WHERE message_id = 'wamid.m.15'", NULL),
                    18);
    CU_ASSERT_STRING_EQUAL(text("SELECT url_suffixes || button_payloads FROM attempts "
                                "WHERE message_id = ?1", "wamid.m.17"),
                           "[\"sfx-17\"][\"PAY_17\"]");
}

static void test_import__default_country_code_completes_national_numbers(void)
{
    struct suf_err err = SUF_ERR_INIT;

    setup();
    free(cfg.default_country_code);
    cfg.default_country_code = suf_xstrdup("91");
    CU_ASSERT_EQUAL(import("deliveries", suf_test_source("fixtures/messy/deliveries-messy.csv"),
                           &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts WHERE phone = '919812355513'", NULL), 1);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM rejects WHERE line = 15", NULL), 0);
}

#define E_ACUTE_10 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"

/* Each kind of phone cell: kept, kept with phone_valid = 0 and its digits
 * (a number, but too short or too long for E.164), or rejected with the
 * whole reason.  How the phone's errors are told apart decides which. */
static void test_import__phone_cells_are_kept_flagged_or_rejected(void)
{
    static const struct {
        const char *phone;
        const char *kept;   /* phone || ' ' || phone_valid, or NULL */
        const char *reason; /* the reject's reason, or NULL */
    } rows[] = {
        {"+91 98123-44567", "919812344567 1", NULL},
        /* a spreadsheet's no-break spaces and dashes, as ASCII ones */
        {"+91\u00a098123\u201344567", "919812344567 1", NULL},
        {"(+44)\u202f7700\u2212900\u2007023", "447700900023 1", NULL},
        {"+12", "12 0", NULL},
        {"(+1) 234-56", "123456 0", NULL},
        {"+1234567890123456", "1234567890123456 0", NULL},
        /* too long to keep even its digits */
        {"+123456789012345678901234567890", NULL,
         "phone '+123456789012345678901234567890' is too long for E.164"},
        {"9812344567", NULL,
         "phone '9812344567' has no country code, and no default_country_code is configured"},
        {"9.19812E+11", NULL, "phone '9.19812E+11' looks like Excel scientific notation"},
        {"call me", NULL, "phone 'call me' is not a number"},
        {"+0123456789", NULL, "phone '+0123456789' country code cannot start with 0"},
        {"1234567890123456789012345678901234567890123456789012345678901234567890", NULL,
         "phone '12345678901234567890123456789012345678901234...' has too many digits"},
        /* the value is cut for the message before a character, never in one */
        {"x" E_ACUTE_10 E_ACUTE_10 E_ACUTE_10, NULL,
         "phone 'x" E_ACUTE_10 E_ACUTE_10 "\xc3\xa9...' is not a number"},
    };
    size_t n = sizeof(rows) / sizeof(rows[0]);
    struct suf_buf b = SUF_BUF_INIT;
    struct suf_err err = SUF_ERR_INIT;

    setup();
    suf_buf_addstr(&b, "campaign_id,message_id,phone,template_name,status,sent_at\n");
    for (size_t i = 0; i < n; i++)
        suf_buf_addf(&b, "c1,m%zu,%s,t,delivered,2026-11-20T10:00:00Z\n", i, rows[i].phone);
    CU_ASSERT_EQUAL(import("deliveries", suf_test_write("phones.csv", b.buf), &err), SUF_OK);
    for (size_t i = 0; i < n; i++) {
        char id[16], line[16];

        snprintf(id, sizeof(id), "m%zu", i);
        snprintf(line, sizeof(line), "%zu", i + 2);
        CU_ASSERT_STRING_EQUAL(text("SELECT phone || ' ' || phone_valid FROM attempts "
                                    "WHERE message_id = ?1", id),
                               rows[i].kept ? rows[i].kept : "");
        CU_ASSERT_STRING_EQUAL(text("SELECT reason FROM rejects WHERE line = ?1", line),
                               rows[i].reason ? rows[i].reason : "");
    }
    suf_buf_release(&b);
}

static void test_import__second_tool_updates_and_reads_json_params(void)
{
    struct suf_err err = SUF_ERR_INIT;

    setup();
    CU_ASSERT_EQUAL(import("deliveries", suf_test_source("fixtures/messy"), &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), 2);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts WHERE message_id = 'wamid.m.12'", NULL),
                    1);
    CU_ASSERT_STRING_EQUAL(text("SELECT status || ' ' || sent_at FROM attempts "
                                "WHERE message_id = ?1", "wamid.m.12"),
                           "read 1795169100");
    CU_ASSERT_STRING_EQUAL(text("SELECT status || ' ' || error_code FROM attempts "
                                "WHERE message_id = ?1", "wamid.m.10"),
                           "failed 131049");
    CU_ASSERT_STRING_EQUAL(text("SELECT vars || url_suffixes FROM attempts "
                                "WHERE message_id = ?1", "wamid.m.19"),
                           "[\"Ruth\",\"42\"][\"p/77\"]");
    CU_ASSERT_STRING_EQUAL(text("SELECT button_payloads FROM attempts WHERE message_id = ?1",
                                "wamid.m.18"), "[\"OPT_A\",\"OPT_B\"]");
    CU_ASSERT_STRING_EQUAL(text("SELECT reason FROM rejects WHERE file LIKE '%other-tool.csv'",
                                NULL),
                           "params 'not json' is not a JSON array of strings");
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 7 + 2);
}

static void test_import__unusable_files_are_hard_errors_and_others_still_import(void)
{
    static const struct {
        const char *name, *content;
        size_t len; /* 0: strlen */
        const char *msg;
    } rows[] = {
        {"b-binary.csv", "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0\xff\xfe\n"
                         "\0\0\x10\0\n", 31, "no usable header"},
        {"c-noheader.csv", "foo,bar\n1,2\n", 0, "no usable header"},
        {"d-data-first.csv", "c1,w1,919812300001,t,failed,2026-11-20T10:00:00Z\n", 0,
         "no usable header"},
        {"e-missing.csv", "campaign_id,message_id,template_name,status,sent_at\n", 0,
         "lacks the required column(s) 'phone'"},
        {"f-empty.csv", "", 0, "empty file"},
    };
    struct suf_err err = SUF_ERR_INIT;
    char dir[1024], path[1200];

    setup();
    snprintf(dir, sizeof(dir), "%s", suf_test_path("hard"));
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/a-good.csv", dir);
    {
        FILE *f = fopen(path, "wb");
        fputs("campaign_id,message_id,phone,template_name,status,sent_at\n"
              "c1,w1,919812300001,t,failed,2026-11-20T10:00:00Z\n", f);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/z-good.csv", dir);
    {
        FILE *f = fopen(path, "wb");
        fputs("campaign_id,message_id,phone,template_name,status,sent_at\n"
              "c1,w2,919812300002,t,read,2026-11-20T10:00:00Z\n", f);
        fclose(f);
    }
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t len = rows[i].len ? rows[i].len : strlen(rows[i].content);
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, rows[i].name);
        f = fopen(path, "wb");
        fwrite(rows[i].content, 1, len, f);
        fclose(f);
        /* each file alone: a hard error naming it */
        suf_err_clear(&err);
        CU_ASSERT_EQUAL(import("deliveries", path, &err), SUF_ERR_INPUT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rows[i].name));
        if (!strstr(err.msg, rows[i].msg))
            fprintf(stderr, "\n%s: '%s' lacks '%s'\n", rows[i].name, err.msg, rows[i].msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rows[i].msg));
    }
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), 0);
    /* the folder: the good files import, the bad ones are named (at once:
     * they were written a moment ago) */
    suf_err_clear(&err);
    cfg.inbox_settle_seconds = 0;
    CU_ASSERT_EQUAL(import("deliveries", dir, &err), SUF_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "b-binary.csv"));
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 2);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), 2);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM rejects", NULL), 0);
}

/* n good rows and `bad` rows with an unknown status. */
static const char *ratio_file(const char *name, int n, int bad)
{
    struct suf_buf b = SUF_BUF_INIT;
    static char path[1024];

    suf_buf_addstr(&b, "campaign_id,message_id,phone,template_name,status,sent_at\n");
    for (int i = 0; i < n + bad; i++)
        suf_buf_addf(&b, "c,w%d,+9198123%05d,t,%s,2026-11-20T10:00:00Z\n", i, i,
                     i < n ? "failed" : "bounced");
    snprintf(path, sizeof(path), "%s", suf_test_write(name, b.buf));
    suf_buf_release(&b);
    return path;
}

static void test_import__reject_ratio_decides_the_verdict(void)
{
    static const struct {
        int good, bad, over;
    } rows[] = {{199, 1, 0}, {200, 2, 0}, {97, 3, 1}, {0, 1, 1}};
    struct suf_err err = SUF_ERR_INIT;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char name[32];

        setup();
        snprintf(name, sizeof(name), "ratio%zu.csv", i);
        CU_ASSERT_EQUAL(import("deliveries", ratio_file(name, rows[i].good, rows[i].bad), &err),
                        SUF_OK);
        CU_ASSERT_EQUAL(run.soft_status, rows[i].over ? SUF_ERR_REJECTS : SUF_OK);
        CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), rows[i].good);
        CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM rejects", NULL), rows[i].bad);
    }
}

/* The ways rows go into `attempts` (attempts_load.h), forced for a test. */
static int deliveries_upsert(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    return suf_import_deliveries_as(f, in, SUF_LOAD_UPSERT, err);
}

static int deliveries_bulk(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    return suf_import_deliveries_as(f, in, SUF_LOAD_BULK, err);
}

/* Every column of every attempt but its id, in id order: what two ways of
 * loading must agree on.  The caller frees the text. */
static char *dump_attempts(void)
{
    sqlite3_stmt *s = suf_store_prepare(
        &st,
        "SELECT quote(campaign_id), quote(message_id), quote(phone), quote(phone_valid), "
        "quote(campaign_name), quote(template_name), quote(template_language), quote(status), "
        "quote(error_code), quote(error_title), quote(attempt), quote(sent_at), quote(text), "
        "quote(vars), quote(header_media_url), quote(url_suffixes), quote(button_payloads), "
        "quote(customer_name), quote(file_id), quote(line) FROM attempts ORDER BY id",
        NULL);
    struct suf_buf b = SUF_BUF_INIT;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(s); i++)
            suf_buf_addf(&b, "%s%s", i ? "," : "", (const char *)sqlite3_column_text(s, i));
        suf_buf_addch(&b, '\n');
    }
    sqlite3_finalize(s);
    return suf_buf_detach(&b);
}

#define LOAD_HEADER                                                                         \
    "campaign_id,message_id,phone,template_name,status,sent_at,error_code,attempt,var1,var2," \
    "url_suffix1,button_payload1,customer_name,campaign_name\n"

/* Three files: the first holds attempts twice (and a bad row), the second
 * updates stored attempts and holds a new one twice, the third is all new. */
static const char *const load_files[][2] = {
    {"load1.csv", LOAD_HEADER
     "c1,w1,+919812300001,t,sent,2026-11-20T10:00:00Z,,1,Asha,CODE1,,,Asha,Winter\n"
     "c1,w2,+919812300002,t,failed,2026-11-20T10:00:00Z,131049,1,Ravi,,,,Ravi,Winter\n"
     "c1,w1,+919812300001,t,failed,2026-11-20T10:05:00Z,131049,1,Asha,CODE2,s,p,Asha,W2\n"
     "c2,w1,+447700900001,t,read,2026-11-20T10:00:00Z,,1,,,,,,\n"
     "c1,w3,+919812300003,t,bogus,2026-11-20T10:00:00Z,,1,,,,,,\n"
     "c1,w3,+919812300003,t,failed,2026-11-20T10:00:00Z,131026,1,,,,,,\n"
     "c1,w2,+919812300002,t,delivered,2026-11-20T11:00:00Z,,2,Ravi,X,,,Ravi,Winter\n"},
    {"load2.csv", LOAD_HEADER
     "c1,w4,+919812300004,t,failed,2026-11-21T10:00:00Z,131049,1,,,,,,\n"
     "c1,w3,+919812300003,t,read,2026-11-21T10:00:00Z,,1,Meera,,,,Meera,\n"
     "c1,w4,+919812300004,t,delivered,2026-11-21T12:00:00Z,,2,Dev,,,,,\n"
     "c1,w1,+919812300001,t,failed,2026-11-21T10:00:00Z,131050,2,,,,,,\n"},
    {"load3.csv", LOAD_HEADER
     "c3,w5,+5511987650001,t,sent,2026-11-22T10:00:00Z,,1,,,,,,\n"
     "c3,w6,+5511987650002,t,pending,1795341600,,1,,,,,,\n"},
};

static void test_import__bulk_load_and_upserts_leave_the_same_rows(void)
{
    static const suf_import_fn ways[] = {deliveries_upsert, deliveries_bulk,
                                         suf_import_deliveries};
    char *dumps[3] = {NULL, NULL, NULL};
    char schema[3][1024];
    struct suf_err err = SUF_ERR_INIT;

    for (size_t w = 0; w < 3; w++) {
        setup();
        suf_strlcpy(schema[w],
                    text("SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_schema "
                         "WHERE tbl_name = 'attempts' AND type = 'index' ORDER BY name)",
                         NULL),
                    sizeof(schema[w]));
        for (size_t i = 0; i < sizeof(load_files) / sizeof(load_files[0]); i++)
            CU_ASSERT_EQUAL(suf_import_path(&run, "deliveries", ways[w],
                                            suf_test_write(load_files[i][0], load_files[i][1]),
                                            NULL, &err),
                            SUF_OK);
        /* The inputs say: five attempts after the first two files, ids in
         * the order attempts were first seen, the last row of each wins. */
        CU_ASSERT_STRING_EQUAL(
            text("SELECT group_concat(campaign_id || '/' || message_id, ' ') FROM "
                 "(SELECT * FROM attempts ORDER BY id)", NULL),
            "c1/w1 c1/w2 c2/w1 c1/w3 c1/w4 c3/w5 c3/w6");
        CU_ASSERT_STRING_EQUAL(text("SELECT status || ' ' || error_code || ' ' || attempt || "
                                    "' ' || coalesce(vars, 'null') FROM attempts WHERE "
                                    "campaign_id = 'c1' AND message_id = ?1", "w1"),
                               "failed 131050 2 null");
        CU_ASSERT_STRING_EQUAL(text("SELECT status || ' ' || vars || ' ' || line FROM attempts "
                                    "WHERE campaign_id = 'c1' AND message_id = ?1", "w2"),
                               "delivered [\"Ravi\",\"X\"] 8");
        CU_ASSERT_STRING_EQUAL(text("SELECT status || ' ' || customer_name FROM attempts "
                                    "WHERE message_id = ?1", "w3"), "read Meera");
        CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM rejects", NULL), 1);
        /* the indexes are back, as the schema defines them, and sound */
        CU_ASSERT_STRING_EQUAL(
            text("SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_schema "
                 "WHERE tbl_name = 'attempts' AND type = 'index' ORDER BY name)", NULL),
            schema[w]);
        CU_ASSERT_STRING_EQUAL(text("PRAGMA integrity_check", NULL), "ok");
        /* the plan's scan still reads the recipient index */
        CU_ASSERT(strstr(text("EXPLAIN QUERY PLAN SELECT id FROM attempts WHERE campaign_id = "
                              "?1 ORDER BY phone, attempt, sent_at, id", "c1"),
                         "attempts_recipient") != NULL);
        /* a file seen again is still skipped */
        CU_ASSERT_EQUAL(suf_import_path(&run, "deliveries", ways[w],
                                        suf_test_write(load_files[0][0], load_files[0][1]), NULL,
                                        &err),
                        SUF_OK);
        CU_ASSERT_EQUAL(suf_run_get_count(&run, "deliveries.skipped_files"), 1);
        dumps[w] = dump_attempts();
    }
    CU_ASSERT_STRING_EQUAL(schema[1], schema[0]);
    CU_ASSERT(strstr(schema[0], "CREATE UNIQUE INDEX attempts_key") != NULL);
    CU_ASSERT(strstr(schema[0], "attempts_recipient ON attempts (campaign_id, phone, attempt, "
                                "sent_at, id, status, error_code, phone_valid)") != NULL);
    CU_ASSERT_STRING_EQUAL(dumps[1], dumps[0]);
    CU_ASSERT_STRING_EQUAL(dumps[2], dumps[0]);
    for (size_t w = 0; w < 3; w++)
        free(dumps[w]);
}

static void test_import__a_failed_bulk_load_leaves_the_table_as_before(void)
{
    struct suf_err err = SUF_ERR_INIT;
    char *before;
    int64_t files;

    setup();
    CU_ASSERT_EQUAL_FATAL(import("deliveries", suf_test_source("fixtures/deliveries.csv"), &err),
                          SUF_OK);
    before = dump_attempts();
    files = scalar("SELECT count(*) FROM files", NULL);
    /* Hard errors found after the indexes were dropped: an empty file, and
     * a header without the required columns. */
    CU_ASSERT_EQUAL(suf_import_path(&run, "deliveries", deliveries_bulk,
                                    suf_test_write("bulk-empty.csv", ""), NULL, &err),
                    SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(suf_import_path(&run, "deliveries", deliveries_bulk,
                                    suf_test_write("bulk-header.csv", "campaign_id,x\nc,1\n"),
                                    NULL, &err),
                    SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                           "name IN ('attempts_key', 'attempts_recipient')", NULL), 2);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), files);
    CU_ASSERT_STRING_EQUAL(text("PRAGMA integrity_check", NULL), "ok");
    {
        char *after = dump_attempts();
        CU_ASSERT_STRING_EQUAL(after, before);
        free(after);
    }
    free(before);
}

static void test_import__fixture_campaigns_store_settings_and_nulls(void)
{
    struct suf_err err = SUF_ERR_INIT;
    const char *path = suf_test_source("fixtures/campaigns.csv");

    setup();
    CU_ASSERT_EQUAL_FATAL(import("campaigns", path, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM campaigns", NULL), count_lines(path, 1));
    CU_ASSERT_STRING_EQUAL(text("SELECT quote(fallback) || ' ' || quote(max_auto_retries) || ' ' "
                                "|| quote(retry_interval_hours) || ' ' || quote(valid_until) || "
                                "' ' || quote(utility_template) FROM campaigns "
                                "WHERE campaign_id = ?1", "camp_s5"),
                           "1 NULL 48 NULL NULL");
    CU_ASSERT_EQUAL(scalar("SELECT fallback FROM campaigns WHERE campaign_id = 'camp_off'", NULL),
                    0);
    CU_ASSERT_EQUAL(scalar("SELECT fallback FROM campaigns WHERE campaign_id = 'camp_winter'",
                           NULL), 1);
    CU_ASSERT_EQUAL(scalar("SELECT valid_until FROM campaigns WHERE campaign_id = 'camp_expired'",
                           NULL), 1795305600); /* 2026-11-22T00:00:00Z */
    CU_ASSERT_STRING_EQUAL(text("SELECT utility_template || ' ' || utility_language FROM "
                                "campaigns WHERE campaign_id = ?1", "camp_paused"),
                           "fallback_permission_paused en_US");
}

static void test_import__campaign_rows_reject_bad_values_and_upsert(void)
{
    static const struct {
        const char *row, *reason;
    } bad[] = {
        {"c1,A,maybe,,,,,", "fallback 'maybe' is not on/off"},
        {"c2,B,on,eleven,,,,", "max_auto_retries 'eleven' is not a number from 0 to 10"},
        {"c3,C,on,,999,,,", "retry_interval_hours '999' is not a number from 0 to 720"},
        {"c4,D,on,,,soon,,", "unparseable time 'soon' in valid_until"},
        {",E,on,,,,,", "missing required field 'campaign_id'"},
        {"c6,F,on", "wrong number of fields: 3, the header has 8"},
    };
    static const char header[] = "Campaign_ID,name,fallback,max_auto_retries,"
                                 "retry_interval_hours,valid_until,utility_template,"
                                 "utility_language\n";
    struct suf_buf b = SUF_BUF_INIT;
    struct suf_err err = SUF_ERR_INIT;
    sqlite3_stmt *s;
    size_t i = 0;

    setup();
    suf_buf_addstr(&b, header);
    suf_buf_addstr(&b, "c0,First,No,2,12,2026-12-01,,\n");
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        suf_buf_addf(&b, "%s\n", bad[k].row);
    CU_ASSERT_EQUAL(import("campaigns", suf_test_write("camp1.csv", b.buf), &err), SUF_OK);
    CU_ASSERT_EQUAL(run.soft_status, SUF_ERR_REJECTS);
    s = suf_store_prepare(&st, "SELECT line, reason FROM rejects ORDER BY id", NULL);
    while (sqlite3_step(s) == SQLITE_ROW) {
        CU_ASSERT_FATAL(i < sizeof(bad) / sizeof(bad[0]));
        CU_ASSERT_EQUAL(sqlite3_column_int(s, 0), (int)i + 3);
        CU_ASSERT_EQUAL(strncmp((const char *)sqlite3_column_text(s, 1), bad[i].reason,
                                strlen(bad[i].reason)), 0);
        i++;
    }
    sqlite3_finalize(s);
    CU_ASSERT_EQUAL(i, sizeof(bad) / sizeof(bad[0]));
    CU_ASSERT_STRING_EQUAL(text("SELECT name || ' ' || fallback || ' ' || max_auto_retries || ' ' "
                                "|| retry_interval_hours FROM campaigns WHERE campaign_id = ?1",
                                "c0"), "First 0 2 12");
    /* a later file replaces the settings of a campaign */
    suf_buf_reset(&b);
    suf_buf_addstr(&b, header);
    suf_buf_addstr(&b, "c0,Renamed,yes,,,,fallback_permission,en_US\n");
    CU_ASSERT_EQUAL(import("campaigns", suf_test_write("camp2.csv", b.buf), &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM campaigns", NULL), 1);
    CU_ASSERT_STRING_EQUAL(text("SELECT name || ' ' || fallback || ' ' || "
                                "quote(max_auto_retries) || ' ' || utility_template FROM "
                                "campaigns WHERE campaign_id = ?1", "c0"),
                           "Renamed 1 NULL fallback_permission");
    suf_buf_release(&b);
}

static void test_import__campaigns_with_another_header_are_refused(void)
{
    static const char *const files[] = {
        "campaign_id,name,fallback\nc1,A,on\n",
        ("campaign,name,fallback,max_auto_retries,retry_interval_hours,valid_until,"
         "utility_template,utility_language\n"),
        "",
    };
    struct suf_err err = SUF_ERR_INIT;

    setup();
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char name[32];

        snprintf(name, sizeof(name), "badcamp%zu.csv", i);
        suf_err_clear(&err);
        CU_ASSERT_EQUAL(import("campaigns", suf_test_write(name, files[i]), &err), SUF_ERR_INPUT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, name));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a campaign settings file"));
    }
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM campaigns", NULL), 0);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), 0);
}

/* --- files that are not plain, or not still ------------------------------ */

#define DELIVERIES_HEADER "campaign_id,message_id,phone,template_name,status,sent_at\n"
#define DELIVERY_ROW(id) "c1," id ",+919812300001,t,failed,2026-11-20T10:00:00Z\n"

/* Sets the modification time of `path` to `age` seconds before now, by the
 * wall clock (the clock the kernel stamps files with). */
static void set_age(const char *path, int64_t age)
{
    struct timespec t[2];

    t[0].tv_sec = t[1].tv_sec = time(NULL) - (time_t)age;
    t[0].tv_nsec = t[1].tv_nsec = 0;
    CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* Appends `text` to the file `path` (creating it). */
static void append_text(const char *text, const char *path)
{
    FILE *f = fopen(path, "ab");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* The hook: appends the text in ctx to the file, as a writer still at work
 * would, between the hash and the parse. */
static void append_hook(void *ctx, const char *path)
{
    append_text(ctx, path);
}

/* A file that grows between its hash and its parse (here ending inside a
 * quoted field, as a half-written one does) is not recorded, none of its
 * rows or rejects stay, and the error says it changed; the next import,
 * of the whole file, records the size and hash of what it parsed. */
static void test_import__a_file_written_to_while_read_is_not_kept(void)
{
    static const char first[] = DELIVERIES_HEADER DELIVERY_ROW("w1") DELIVERY_ROW("w2");
    static char more[] = DELIVERY_ROW("w3") "c1,w4,\"+91 98123";
    const struct suf_import_hook hook = {append_hook, more};
    struct suf_err err = SUF_ERR_INIT;
    char path[1024], sha[SUF_SHA256_HEX];
    struct stat sb;
    FILE *f;

    setup();
    snprintf(path, sizeof(path), "%s", suf_test_write("growing.csv", first));
    CU_ASSERT_EQUAL(suf_import_path_hooked(&run, "deliveries", suf_import_deliveries, path,
                                           NULL, &hook, &err),
                    SUF_ERR_CHANGED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "changed while being read"));
    CU_ASSERT_EQUAL(suf_status_exit_code(err.status), 75);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), 0);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 0);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM rejects", NULL), 0);

    /* the writer finishes its line; the next run takes the whole file */
    append_text(" 44567\",t,failed,2026-11-20T10:00:00Z\n", path);
    suf_err_clear(&err);
    CU_ASSERT_EQUAL(import("deliveries", path, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 4);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM rejects", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(scalar("SELECT size FROM files", NULL), (int64_t)sb.st_size);
    f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(suf_sha256_stream(f, sha), SUF_OK);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(text("SELECT sha256 FROM files", NULL), sha);
}

/* The hook: overwrites the file's first row in place with one of the same
 * length, then sets the modification time back, as a copy tool keeping
 * times does. */
static void rewrite_in_place(void *ctx, const char *path)
{
    const char *row = ctx;
    struct stat sb;
    struct timespec t[2];
    int fd = open(path, O_WRONLY);

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(fstat(fd, &sb), 0);
    CU_ASSERT_EQUAL(pwrite(fd, row, strlen(row), (off_t)strlen(DELIVERIES_HEADER)),
                    (ssize_t)strlen(row));
    t[0] = sb.st_atim;
    t[1] = sb.st_mtim;
    CU_ASSERT_EQUAL(futimens(fd, t), 0);
    close(fd);
}

/* Same size, same modification time: the change time still moves, and the
 * file is refused as changed. */
static void test_import__a_same_size_rewrite_while_read_is_seen(void)
{
    static char row[] = DELIVERY_ROW("w9");
    const struct suf_import_hook hook = {rewrite_in_place, row};
    const struct timespec pause = {0, 50 * 1000 * 1000};
    struct suf_err err = SUF_ERR_INIT;
    char path[1024];

    setup();
    snprintf(path, sizeof(path), "%s",
             suf_test_write("rewritten.csv", DELIVERIES_HEADER DELIVERY_ROW("w1")));
    /* past the file system's timestamp tick (at most 10 ms), so that the
     * rewrite's change time differs from the creation's */
    nanosleep(&pause, NULL);
    CU_ASSERT_EQUAL(suf_import_path_hooked(&run, "deliveries", suf_import_deliveries, path,
                                           NULL, &hook, &err),
                    SUF_ERR_CHANGED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "changed while being read"));
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), 0);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 0);
}

/* A folder scan leaves a file modified less than inbox_settle_seconds ago
 * (by the wall clock, whatever the run's clock says) for the next scan,
 * and takes it once it has settled; a file named alone is taken at once. */
static void test_import__a_folder_scan_leaves_recent_files_for_later(void)
{
    struct suf_err err = SUF_ERR_INIT;
    char dir[1024], old[1100], young[1100];

    setup();
    cfg.inbox_settle_seconds = 30;
    snprintf(dir, sizeof(dir), "%s", suf_test_path("settle"));
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    snprintf(old, sizeof(old), "%s/a-old.csv", dir);
    snprintf(young, sizeof(young), "%s/b-young.csv", dir);
    append_text(DELIVERIES_HEADER DELIVERY_ROW("w1"), old);
    append_text(DELIVERIES_HEADER DELIVERY_ROW("w2"), young);
    set_age(old, 31);
    set_age(young, 20);
    CU_ASSERT_EQUAL(import("deliveries", dir, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files WHERE path LIKE '%a-old.csv'", NULL), 1);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files WHERE path LIKE '%b-young.csv'", NULL),
                    0);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "deliveries.unsettled_files"), 1);
    /* stamped a little in the future (a clock a few seconds off): waits too */
    set_age(young, -20);
    CU_ASSERT_EQUAL(import("deliveries", dir, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 1);
    /* settled: the next scan takes it */
    set_age(young, 31);
    CU_ASSERT_EQUAL(import("deliveries", dir, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files WHERE path LIKE '%b-young.csv'", NULL),
                    1);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 2);
    /* named alone, a just-written file is taken at once */
    CU_ASSERT_EQUAL(import("deliveries", suf_test_write("named.csv", DELIVERIES_HEADER
                                                        DELIVERY_ROW("w3")),
                           &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts", NULL), 3);
}

/* In a folder, a symbolic link (here to a file outside it), a FIFO and a
 * subfolder are skipped: none of their lines reach the store or the
 * rejects, and the scan neither blocks nor fails.  The same link named on
 * its own is followed: the operator chose it. */
static void test_import__a_folder_scan_skips_links_and_fifos(void)
{
    struct suf_err err = SUF_ERR_INIT;
    char dir[1024], outside[1024], p[1100];

    setup();
    cfg.inbox_settle_seconds = 0;
    snprintf(outside, sizeof(outside), "%s",
             suf_test_write("outside.csv", DELIVERIES_HEADER DELIVERY_ROW("w-outside")
                                           "not,a,row\n"));
    snprintf(dir, sizeof(dir), "%s", suf_test_path("links"));
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    snprintf(p, sizeof(p), "%s/a-link.csv", dir);
    CU_ASSERT_EQUAL(symlink(outside, p), 0);
    snprintf(p, sizeof(p), "%s/b-fifo.csv", dir);
    CU_ASSERT_EQUAL(mkfifo(p, 0600), 0);
    snprintf(p, sizeof(p), "%s/c-sub", dir);
    CU_ASSERT_EQUAL(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/d-real.csv", dir);
    append_text(DELIVERIES_HEADER DELIVERY_ROW("w-real"), p);
    alarm(20); /* a blocked open ends the test, not the suite's patience */
    CU_ASSERT_EQUAL(import("deliveries", dir, &err), SUF_OK);
    alarm(0);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), 1);
    CU_ASSERT_STRING_EQUAL(text("SELECT group_concat(message_id) FROM attempts", NULL),
                           "w-real");
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM rejects", NULL), 0);
    /* named, the link is followed */
    snprintf(p, sizeof(p), "%s/a-link.csv", dir);
    CU_ASSERT_EQUAL(import("deliveries", p, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM attempts WHERE message_id = 'w-outside'",
                           NULL),
                    1);
}

/* Named as input, what is not a regular file is refused at once, with the
 * path and what it is: a FIFO (whose open would wait for a writer) or a
 * device. */
static void test_import__a_fifo_or_device_named_as_input_is_refused(void)
{
    static const struct {
        const char *path, *what;
    } rows[] = {
        {NULL, "is a FIFO, not a regular file"},
        {"/dev/null", "is a character device, not a regular file"},
    };
    char fifo[1024];

    setup();
    snprintf(fifo, sizeof(fifo), "%s", suf_test_path("named.fifo"));
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *path = rows[i].path ? rows[i].path : fifo;
        struct suf_err err = SUF_ERR_INIT;
        char want[1200];

        alarm(20);
        CU_ASSERT_EQUAL(import("deliveries", path, &err), SUF_ERR_NOINPUT);
        alarm(0);
        snprintf(want, sizeof(want), "%s: %s", path, rows[i].what);
        CU_ASSERT_STRING_EQUAL(err.msg, want);
    }
    CU_ASSERT_EQUAL(scalar("SELECT count(*) FROM files", NULL), 0);
}

static void teardown(void)
{
    if (st.db)
        suf_store_close(&st);
    if (run.counts)
        json_decref(run.counts);
    suf_config_release(&cfg);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"fixture_deliveries_keeps_every_row", test_import__fixture_deliveries_keeps_every_row},
        {"reimporting_the_same_file_does_nothing",
         test_import__reimporting_the_same_file_does_nothing},
        {"an_attempt_seen_again_updates_its_row", test_import__an_attempt_seen_again_updates_its_row},
        {"export_without_attempt_column_stores_zero",
         test_import__export_without_attempt_column_stores_zero},
        {"messy_export_rejects_each_bad_row_with_its_reason",
         test_import__messy_export_rejects_each_bad_row_with_its_reason},
        {"default_country_code_completes_national_numbers",
         test_import__default_country_code_completes_national_numbers},
        {"phone_cells_are_kept_flagged_or_rejected",
         test_import__phone_cells_are_kept_flagged_or_rejected},
        {"second_tool_updates_and_reads_json_params",
         test_import__second_tool_updates_and_reads_json_params},
        {"unusable_files_are_hard_errors_and_others_still_import",
         test_import__unusable_files_are_hard_errors_and_others_still_import},
        {"reject_ratio_decides_the_verdict", test_import__reject_ratio_decides_the_verdict},
        {"bulk_load_and_upserts_leave_the_same_rows",
         test_import__bulk_load_and_upserts_leave_the_same_rows},
        {"a_failed_bulk_load_leaves_the_table_as_before",
         test_import__a_failed_bulk_load_leaves_the_table_as_before},
        {"fixture_campaigns_store_settings_and_nulls",
         test_import__fixture_campaigns_store_settings_and_nulls},
        {"campaign_rows_reject_bad_values_and_upsert",
         test_import__campaign_rows_reject_bad_values_and_upsert},
        {"campaigns_with_another_header_are_refused",
         test_import__campaigns_with_another_header_are_refused},
        {"a_file_written_to_while_read_is_not_kept",
         test_import__a_file_written_to_while_read_is_not_kept},
        {"a_same_size_rewrite_while_read_is_seen",
         test_import__a_same_size_rewrite_while_read_is_seen},
        {"a_folder_scan_leaves_recent_files_for_later",
         test_import__a_folder_scan_leaves_recent_files_for_later},
        {"a_folder_scan_skips_links_and_fifos", test_import__a_folder_scan_skips_links_and_fifos},
        {"a_fifo_or_device_named_as_input_is_refused",
         test_import__a_fifo_or_device_named_as_input_is_refused},
        {NULL, NULL},
    };
    int rc;

    suf_log_setup(SUF_LOG_ERROR);
    suf_config_init(&cfg);
    rc = suf_test_main("import", tests);
    teardown();
    return rc;
}
