/*
 * test_events.c: importing webhook event logs: what is extracted from
 * Meta's shapes, deduplication, rejects with their line numbers, skipped
 * counts, and the incremental reading of a growing, truncated or rotated
 * file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "base/config.h"
#include "base/context.h"
#include "base/util.h"
#include "import/events.h"
#include "testutil.h"

#define T INT64_C(1795399200)
#define WAMID_A "wamid.HBgMNDQ3NzAwOTAwMDIzFQIAERgSQTFCMkMzRDRFNUY2QTdCOEMA"

static struct suf_config cfg;
static struct suf_store st = SUF_STORE_INIT;
static struct suf_run run;

static void fresh(const char *db)
{
    suf_store_close(&st);
    json_decref(run.counts);
    memset(&run, 0, sizeof(run));
    suf_test_store(&st, db);
    run.cfg = &cfg;
    run.store = &st;
    suf_clock_init(&run.clock, T + 86400);
}

static int64_t q(const char *sql, const char *param)
{
    struct suf_err err = SUF_ERR_INIT;
    int64_t v = -1;

    if (suf_store_scalar(&st, sql, param, &v, &err))
        fprintf(stderr, "%s: %s\n", sql, err.msg);
    return v;
}

static int import(const char *path)
{
    struct suf_err err = SUF_ERR_INIT;
    int rc = suf_import_events_path(&run, path, &err);

    if (rc)
        fprintf(stderr, "import %s: %s\n", path, err.msg);
    return rc;
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* The n-th (1-based) line of a fixture, with its newline. */
static char *fixture_line(const char *name, int n)
{
    FILE *f = fopen(suf_test_source(name), "rb");
    char *line = NULL;
    size_t cap = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *copy;

    for (int i = 0; i < n; i++)
        if (getline(&line, &cap, f) < 0)
            break;
    fclose(f);
    copy = suf_xstrdup(line ? line : "");
    free(line);
    return copy;
}

/* --- extraction --------------------------------------------------------------- */

static void test_events__statuses_keep_pricing_errors_and_callback(void)
{
    fresh("statuses.db");
    CU_ASSERT_EQUAL(import(suf_test_source("tests/data/events/statuses.jsonl")), SUF_OK);
    /* 6 lines, 7 statuses, the last line a redelivery of the second */
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE kind = 'status'", NULL), 6);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.duplicates"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.lines"), 6);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE wamid = ?1 AND status = 'delivered' AND "
                      "ts = 1795399205 AND callback = 'suf:1:u1' AND pricing_billable = 1 AND "
                      "pricing_model = 'PMP' AND pricing_type = 'regular' AND "
                      "pricing_category = 'utility' AND recipient = '447700900023' AND line = 2",
                      WAMID_A),
                    1);
    CU_ASSERT_EQUAL(q("SELECT error_code FROM events WHERE status = 'failed'", NULL), 131049);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE status = 'failed' AND error_title LIKE "
                      "'%healthy ecosystem%'",
                      NULL),
                    1);
    /* two statuses in one body, one free customer-service message */
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE line = 5", NULL), 2);
    CU_ASSERT_EQUAL(q("SELECT pricing_billable FROM events WHERE pricing_type = "
                      "'free_customer_service'",
                      NULL),
                    0);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE status = 'read' AND pricing_model IS NULL "
                      "AND pricing_billable IS NULL AND wamid = ?1",
                      WAMID_A),
                    1);
}

static void test_events__template_tap_interactive_replies_and_text_are_extracted(void)
{
    fresh("messages.db");
    CU_ASSERT_EQUAL(import(suf_test_source("tests/data/events/messages.jsonl")), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE kind = 'message'", NULL), 4);
    /* the type:"button" template tap, with its context and the profile name */
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE msg_type = 'button' AND "
                      "payload = 'suf:1:yes' AND text = 'Yes, show me' AND context_id = ?1 AND "
                      "from_phone = '447700900023' AND profile_name = 'Asha Rao' AND "
                      "ts = 1795399320",
                      WAMID_A),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE msg_type = 'interactive' AND "
                      "payload = 'Show me deals' AND text = 'Show me deals'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE msg_type = 'interactive' AND "
                      "payload = 'opt_3' AND text = 'Winter boots'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE msg_type = 'text' AND text = 'Stop' "
                      "AND profile_name = 'Ravi Kumar'",
                      NULL),
                    1);
    /* an image and a reaction: counted and skipped, not rejected */
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.skipped.message_type"), 2);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects", NULL), 0);
}

/* --- rejects and skips ---------------------------------------------------------- */

static void test_events__rejects_carry_file_and_line_and_skips_are_counted(void)
{
    const char *path = suf_test_source("tests/data/events/mixed.jsonl");

    fresh("mixed.db");
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects", NULL), 4);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects WHERE line = 2 AND reason = 'not JSON' AND "
                      "CAST(raw AS TEXT) = 'not json at all'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects WHERE line = 3 AND reason LIKE 'not a WhatsApp%'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects WHERE line = 4 AND reason LIKE 'not a WhatsApp%'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects WHERE line = 10 AND reason = 'not JSON'", NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects WHERE file = ?1", path), 4);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.skipped.field"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.skipped.status"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.skipped.group"), 1);
    /* the CRLF line at the end imports */
    CU_ASSERT_EQUAL(q("SELECT line FROM events WHERE status = 'delivered'", NULL), 11);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), 3);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.lines"), 11);
    /* 4 of 11 lines rejected is over the default ratio: the run is flagged */
    CU_ASSERT_EQUAL(run.soft_status, SUF_ERR_REJECTS);
    /* reading again reads nothing new and rejects nothing twice */
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects", NULL), 4);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.lines"), 11);
}

struct tally {
    int events, skips;
    char last_skip[32];
};

static int tally_event(void *ctx, const struct suf_event *ev)
{
    (void)ev;
    ((struct tally *)ctx)->events++;
    return SUF_OK;
}

static void tally_skip(void *ctx, const char *why)
{
    struct tally *t = ctx;
    t->skips++;
    snprintf(t->last_skip, sizeof(t->last_skip), "%s", why);
}

static void test_events__parse_line_refuses_what_is_not_a_webhook(void)
{
    static const struct {
        const char *line;
        int rc;
        int events;
        const char *skip; /* the last skip reason, "" when none */
    } rows[] = {
        {"", SUF_ERR_INPUT, 0, ""},
        {"{\"object\":", SUF_ERR_INPUT, 0, ""},
        {"[1,2]", SUF_ERR_INPUT, 0, ""},
        {"{\"object\":\"whatsapp_business_account\",\"entry\":{}}", SUF_ERR_INPUT, 0, ""},
        {"{\"object\":\"instagram\",\"entry\":[]}", SUF_ERR_INPUT, 0, ""},
        {"{\"object\":\"whatsapp_business_account\",\"entry\":[]}", SUF_OK, 0, ""},
        {"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":"
         "\"messages\",\"value\":{\"statuses\":[{\"id\":\"w\",\"status\":\"sent\"}]}}]}]}",
         SUF_OK, 0, "malformed"},
        {"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":"
         "\"messages\",\"value\":{\"statuses\":[{\"id\":\"w\",\"status\":\"sent\","
         "\"timestamp\":1795399200}]}}]}]}",
         SUF_OK, 1, ""},
        {"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":"
         "\"messages\",\"value\":{\"statuses\":[{\"id\":\"w\",\"status\":\"deleted\","
         "\"timestamp\":\"1795399200\"}]}}]}]}",
         SUF_OK, 0, "status"},
        {"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":"
         "\"messages\",\"value\":{\"messages\":[{\"id\":\"m\",\"from\":\"1\","
         "\"type\":\"text\",\"timestamp\":\"1795399200\"}]}}]}]}",
         SUF_OK, 0, "message_type"},
        {"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":"
         "\"group_lifecycle_update\",\"value\":{}}]}]}",
         SUF_OK, 0, "field"},
        {NULL, 0, 0, NULL},
    };

    for (int i = 0; rows[i].line; i++) {
        struct tally t = {0, 0, ""};
        struct suf_events_sink sink = {tally_event, tally_skip, &t};
        const char *why = NULL;
        int rc = suf_events_parse_line(rows[i].line, strlen(rows[i].line), &sink, &why);

        if (rc != rows[i].rc || t.events != rows[i].events || strcmp(t.last_skip, rows[i].skip))
            fprintf(stderr, "row %d: rc %d events %d skip '%s'\n", i, rc, t.events, t.last_skip);
        CU_ASSERT_EQUAL(rc, rows[i].rc);
        CU_ASSERT_EQUAL(t.events, rows[i].events);
        CU_ASSERT_STRING_EQUAL(t.last_skip, rows[i].skip);
        if (rc)
            CU_ASSERT_PTR_NOT_NULL(why);
    }
}

/* --- incremental reading -------------------------------------------------------- */

static void test_events__a_partial_last_line_waits_until_it_is_complete(void)
{
    char *l1 = fixture_line("tests/data/events/statuses.jsonl", 1);
    char *l2 = fixture_line("tests/data/events/statuses.jsonl", 2);
    char *l3 = fixture_line("tests/data/events/statuses.jsonl", 3);
    const char *path;
    size_t half = strlen(l3) / 2;

    fresh("grow.db");
    path = suf_test_write("grow.jsonl", l1);
    append(path, l2);
    l3[half] = '\0';
    append(path, l3); /* half a line, no newline yet */
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), 2);
    CU_ASSERT_EQUAL(q("SELECT offset FROM event_files", NULL), (int64_t)(strlen(l1) + strlen(l2)));
    CU_ASSERT_EQUAL(q("SELECT lines FROM event_files", NULL), 2);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects", NULL), 0);
    /* the writer finishes the line */
    free(l3);
    l3 = fixture_line("tests/data/events/statuses.jsonl", 3);
    append(path, l3 + half);
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), 3);
    CU_ASSERT_EQUAL(q("SELECT line FROM events WHERE status = 'read'", NULL), 3);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects", NULL), 0);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.lines"), 3);
    free(l1);
    free(l2);
    free(l3);
}

static void test_events__a_truncated_file_is_read_from_the_start(void)
{
    char *l1 = fixture_line("tests/data/events/statuses.jsonl", 1);
    char *l2 = fixture_line("tests/data/events/statuses.jsonl", 2);
    char *l4 = fixture_line("tests/data/events/statuses.jsonl", 4);
    const char *path;

    fresh("trunc.db");
    path = suf_test_write("trunc.jsonl", l1);
    append(path, l2);
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), 2);
    /* truncated and rewritten shorter: size < offset */
    path = suf_test_write("trunc.jsonl", l4);
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.truncated_files"), 1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), 3);
    CU_ASSERT_EQUAL(q("SELECT line FROM events WHERE status = 'failed'", NULL), 1);
    CU_ASSERT_EQUAL(q("SELECT offset FROM event_files", NULL), (int64_t)strlen(l4));
    free(l1);
    free(l2);
    free(l4);
}

static void test_events__a_replaced_file_of_the_same_size_is_detected_by_its_head(void)
{
    char *l1 = fixture_line("tests/data/events/statuses.jsonl", 1);
    char *l3 = fixture_line("tests/data/events/statuses.jsonl", 3);
    char *l2 = fixture_line("tests/data/events/statuses.jsonl", 2);
    const char *path;
    FILE *f;

    fresh("head.db");
    path = suf_test_write("head.jsonl", l1);
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    /* rewritten in place (same inode) with other content that is longer */
    f = fopen(path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(l3, f);
    fputs(l2, f);
    fclose(f);
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.rotated_files"), 1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), 3);
    free(l1);
    free(l2);
    free(l3);
}

static void test_events__rotation_by_rename_reads_the_new_file_and_resumes_the_old(void)
{
    char *l1 = fixture_line("tests/data/events/mixed.jsonl", 1);
    char *bad = fixture_line("tests/data/events/mixed.jsonl", 2);
    char *l4 = fixture_line("tests/data/events/statuses.jsonl", 4);
    char *l5 = fixture_line("tests/data/events/statuses.jsonl", 5);
    char old[1024], path[1024], dir[1024];

    fresh("rotate.db");
    snprintf(dir, sizeof(dir), "%s", suf_test_path("inbox"));
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s", suf_test_write("inbox/events.jsonl", l1));
    append(path, bad);
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects", NULL), 1);
    /* the receiver appends one more line, then rotates: rename + new file */
    append(path, l4);
    snprintf(old, sizeof(old), "%s", suf_test_path("inbox/events-1.jsonl"));
    CU_ASSERT_EQUAL(rename(path, old), 0);
    suf_test_write("inbox/events.jsonl", l5);
    CU_ASSERT_EQUAL(import(dir), SUF_OK);
    /* the renamed file went on from its offset: no second reject */
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects", NULL), 1);
    CU_ASSERT_EQUAL(q("SELECT line FROM events WHERE status = 'failed'", NULL), 3);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE line = 1 AND status = 'read'", NULL), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.rotated_files"), 1);
    free(l1);
    free(bad);
    free(l4);
    free(l5);
}

static void test_events__the_same_event_twice_is_one_event(void)
{
    char *l2 = fixture_line("tests/data/events/statuses.jsonl", 2);
    char a[1024], b[1024];

    fresh("dedupe.db");
    snprintf(a, sizeof(a), "%s", suf_test_write("a.jsonl", l2));
    snprintf(b, sizeof(b), "%s", suf_test_write("b.jsonl", l2));
    append(b, l2);
    CU_ASSERT_EQUAL(import(a), SUF_OK);
    CU_ASSERT_EQUAL(import(b), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.new"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.duplicates"), 2);
    free(l2);
}

static void test_events__identity_is_wamid_status_and_callback_or_message_id(void)
{
    static const char head[] =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":"
        "[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",";
    static const char *const bodies[] = {
        /* 1: a status without callback data */
        "\"statuses\":[{\"id\":\"wamid.X\",\"status\":\"sent\",\"timestamp\":\"1795399200\"}]",
        /* 2: with empty callback data: another event */
        "\"statuses\":[{\"id\":\"wamid.X\",\"status\":\"sent\",\"timestamp\":\"1795399200\","
        "\"biz_opaque_callback_data\":\"\"}]",
        /* 3: 1 again, later: the same event */
        "\"statuses\":[{\"id\":\"wamid.X\",\"status\":\"sent\",\"timestamp\":\"1795399300\"}]",
        /* 4: a message whose id is that wamid: another event */
        "\"messages\":[{\"id\":\"wamid.X\",\"from\":\"447700900023\",\"timestamp\":\"1795399200\","
        "\"type\":\"text\",\"text\":{\"body\":\"hi\"}}]",
        /* 5: that message again, with another text: the same event */
        "\"messages\":[{\"id\":\"wamid.X\",\"from\":\"447700900023\",\"timestamp\":\"1795399200\","
        "\"type\":\"text\",\"text\":{\"body\":\"hello\"}}]",
    };
    struct suf_buf b = SUF_BUF_INIT;

    fresh("identity.db");
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        suf_buf_addf(&b, "%s%s}}]}]}\n", head, bodies[i]);
    CU_ASSERT_EQUAL(import(suf_test_write("identity.jsonl", suf_buf_str(&b))), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), 3);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events WHERE line IN (1, 2, 4)", NULL), 3);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM event_queue", NULL), 3);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.duplicates"), 2);
    suf_buf_release(&b);
}

static void test_events__an_over_long_line_is_rejected_and_the_next_imports(void)
{
    char *l1 = fixture_line("tests/data/events/statuses.jsonl", 1);
    char path[1024];
    FILE *f;
    size_t n = SUF_EVENTS_MAX_LINE + 1000;
    char *big = suf_xmalloc(n);

    fresh("long.db");
    snprintf(path, sizeof(path), "%s", suf_test_path("long.jsonl"));
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    memset(big, 'x', n);
    fwrite(big, 1, n, f);
    fputc('\n', f);
    fputs(l1, f);
    fclose(f);
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM rejects WHERE line = 1 AND reason LIKE 'line longer%'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT line FROM events", NULL), 2);
    CU_ASSERT_EQUAL(q("SELECT offset FROM event_files", NULL), (int64_t)(n + 1 + strlen(l1)));
    free(big);
    free(l1);
}

static void test_events__batches_commit_the_offset_with_the_lines(void)
{
    char *l1 = fixture_line("tests/data/events/statuses.jsonl", 1);
    char path[1024];
    FILE *f;
    int n = SUF_EVENTS_BATCH * 2 + 7;
    size_t bytes = 0;

    const char *found = strstr(l1, WAMID_A);
    int before = found ? (int)(found - l1) : 0;
    const char *after = found ? l1 + before + strlen(WAMID_A) : "";

    fresh("many.db");
    snprintf(path, sizeof(path), "%s", suf_test_path("many.jsonl"));
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(found);
    for (int i = 0; i < n; i++) {
        char wamid[32];
        snprintf(wamid, sizeof(wamid), "wamid.bulk%08d", i);
        /* the same status for another message id */
        bytes += (size_t)fprintf(f, "%.*s%s%s", before, l1, wamid, after);
    }
    fclose(f);
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), n);
    CU_ASSERT_EQUAL(q("SELECT lines FROM event_files", NULL), n);
    CU_ASSERT_EQUAL(q("SELECT offset FROM event_files", NULL), (int64_t)bytes);
    CU_ASSERT_EQUAL(q("SELECT MAX(line) FROM events", NULL), n);
    free(l1);
}

/* The text body of line i of the test below: a letter repeated, some
 * longer than a block of a unit's string arena, most shorter. */
static size_t body_len(int i)
{
    return i % 3 ? 1000 + 37 * (size_t)i : 70000 + (size_t)i;
}

static void test_events__strings_survive_the_workers_hand_over(void)
{
    enum { N = 60 }; /* at 4 long lines per unit, more units than the ring */
    char path[1024];
    sqlite3_stmt *s;
    FILE *f;
    int rows = 0;

    fresh("long.db");
    snprintf(path, sizeof(path), "%s", suf_test_path("long.jsonl"));
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < N; i++) {
        fprintf(f,
                "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\","
                "\"changes\":[{\"field\":\"messages\",\"value\":{\"messages\":[{"
                "\"from\":\"447700900023\",\"id\":\"wamid.long%04d\",\"timestamp\":"
                "\"1795399320\",\"type\":\"text\",\"text\":{\"body\":\"",
                i);
        for (size_t k = 0; k < body_len(i); k++)
            fputc('a' + i % 26, f);
        fputs("\"}}]}}]}]}\n", f);
    }
    fclose(f);
    CU_ASSERT_EQUAL(import(path), SUF_OK);
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(st.db,
                                             "SELECT line, wamid, text FROM events ORDER BY line",
                                             -1, &s, NULL),
                          SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int i = sqlite3_column_int(s, 0) - 1;
        const char *text = (const char *)sqlite3_column_text(s, 2);
        char wamid[32];
        size_t k = 0;

        snprintf(wamid, sizeof(wamid), "wamid.long%04d", i);
        CU_ASSERT_STRING_EQUAL(sqlite3_column_text(s, 1), wamid);
        CU_ASSERT_EQUAL((size_t)sqlite3_column_bytes(s, 2), body_len(i));
        while (text && text[k] == 'a' + i % 26)
            k++;
        CU_ASSERT_EQUAL(k, body_len(i));
        rows++;
    }
    sqlite3_finalize(s);
    CU_ASSERT_EQUAL(rows, N);
}

static void test_events__a_missing_file_is_an_error_naming_it(void)
{
    struct suf_err err = SUF_ERR_INIT;

    fresh("missing.db");
    CU_ASSERT_EQUAL(suf_import_events_path(&run, suf_test_path("nope.jsonl"), &err),
                    SUF_ERR_NOINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nope.jsonl"));
}

static void cleanup(void)
{
    suf_store_close(&st);
    json_decref(run.counts);
    suf_config_release(&cfg);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"statuses keep pricing, errors and callback",
         test_events__statuses_keep_pricing_errors_and_callback},
        {"template tap, interactive replies and text are extracted",
         test_events__template_tap_interactive_replies_and_text_are_extracted},
        {"rejects carry file and line; skips are counted",
         test_events__rejects_carry_file_and_line_and_skips_are_counted},
        {"parse refuses what is not a webhook", test_events__parse_line_refuses_what_is_not_a_webhook},
        {"a partial last line waits until it is complete",
         test_events__a_partial_last_line_waits_until_it_is_complete},
        {"a truncated file is read from the start", test_events__a_truncated_file_is_read_from_the_start},
        {"a replaced file is detected by its head",
         test_events__a_replaced_file_of_the_same_size_is_detected_by_its_head},
        {"rotation by rename reads the new file and resumes the old",
         test_events__rotation_by_rename_reads_the_new_file_and_resumes_the_old},
        {"the same event twice is one event", test_events__the_same_event_twice_is_one_event},
        {"identity is wamid, status and callback, or the message id",
         test_events__identity_is_wamid_status_and_callback_or_message_id},
        {"an over-long line is rejected and the next imports",
         test_events__an_over_long_line_is_rejected_and_the_next_imports},
        {"batches commit the offset with the lines",
         test_events__batches_commit_the_offset_with_the_lines},
        {"strings survive the workers' hand-over",
         test_events__strings_survive_the_workers_hand_over},
        {"a missing file is an error naming it", test_events__a_missing_file_is_an_error_naming_it},
        {NULL, NULL},
    };
    int rc;

    suf_config_init(&cfg);
    rc = suf_test_main("events", tests);
    cleanup();
    return rc;
}
