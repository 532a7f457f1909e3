/*
 * test_reconcile.c: the reconcile stage on a scratch store: fallbacks and
 * sends inserted with SQL as the plan and send stages would leave them,
 * webhook lines in Meta's envelope imported, then reconciled.  Covers
 * consent by payload and by context, wrong phones, declines, STOP and
 * 131050 opt-outs, unknown sends resolved by callback data, late consents,
 * the time-based closes, conversion on the last session part, out-of-order
 * statuses, the campaign filter, keywords, and idempotence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/config.h"
#include "base/context.h"
#include "base/util.h"
#include "import/events.h"
#include "reconcile/reconcile.h"
#include "testutil.h"

#define H INT64_C(3600)
#define T INT64_C(1795399200) /* 2026-11-23T02:00:00Z: the utility messages go out */

static struct suf_config cfg;
static struct suf_store st = SUF_STORE_INIT;
static struct suf_run run;
static int nfile;

static void exec(const char *sql)
{
    struct suf_err err = SUF_ERR_INIT;

    if (suf_store_exec(&st, sql, &err))
        fprintf(stderr, "%s\n", err.msg);
}

static int64_t q(const char *sql, const char *param)
{
    struct suf_err err = SUF_ERR_INIT;
    int64_t v = -1;

    if (suf_store_scalar(&st, sql, param, &v, &err))
        fprintf(stderr, "%s: %s\n", sql, err.msg);
    return v;
}

/* The fallback's state as a string (static buffer). */
static const char *state_of(int id)
{
    static char buf[64];
    char sql[128];
    sqlite3_stmt *s;

    snprintf(sql, sizeof(sql), "SELECT state FROM fallbacks WHERE id = %d", id);
    s = suf_store_prepare(&st, sql, NULL);
    buf[0] = '\0';
    if (s && sqlite3_step(s) == SQLITE_ROW)
        snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return buf;
}

/* Everything reconcile may change, as one string (the caller frees it). */
static char *snapshot(void)
{
    struct suf_buf b = SUF_BUF_INIT;
    sqlite3_stmt *s = suf_store_prepare(
        &st,
        "SELECT 'f', id, state, state_at, utility_sent_at, utility_delivered_at, consented_at, "
        "consent_source, late_consent_at, declined_at, session_sent_at, converted_at, closed_at, "
        "error_code FROM fallbacks UNION ALL SELECT 's', id, state, wamid, sent_at, delivery, "
        "delivered_at, read_at, failed_at, error_code, pricing_category, queued_at, NULL, NULL "
        "FROM sends UNION ALL SELECT 'o', phone, at, source, NULL, NULL, NULL, NULL, NULL, NULL, "
        "NULL, NULL, NULL, NULL FROM optouts UNION ALL SELECT 'e', id, "
        "id IN (SELECT id FROM event_queue), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
        "NULL, NULL FROM events ORDER BY 1, 2",
        NULL);

    while (s && sqlite3_step(s) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(s); i++) {
            const unsigned char *t = sqlite3_column_text(s, i);
            suf_buf_addf(&b, "%s|", t ? (const char *)t : "-");
        }
        suf_buf_addch(&b, '\n');
    }
    sqlite3_finalize(s);
    return suf_buf_detach(&b);
}

/* Only the fallbacks' rows (the caller frees the string). */
static char *fallbacks_snapshot(void)
{
    char *all = snapshot(), *f = strstr(all, "\nf|"), *end, *out;

    if (!f)
        return all;
    end = strstr(f + 1, "\no|");
    if (!end)
        end = strstr(f + 1, "\ns|");
    if (end)
        *end = '\0';
    out = suf_xstrdup(f);
    free(all);
    return out;
}

static void fresh(const char *db, int64_t now)
{
    suf_store_close(&st);
    json_decref(run.counts);
    memset(&run, 0, sizeof(run));
    suf_test_store(&st, db);
    run.cfg = &cfg;
    run.store = &st;
    suf_clock_init(&run.clock, now);
}

static void at(int64_t now)
{
    suf_clock_init(&run.clock, now);
}

static int reconcile(void)
{
    struct suf_err err = SUF_ERR_INIT;
    int rc = suf_reconcile(&run, &err);

    if (rc)
        fprintf(stderr, "reconcile: %s\n", err.msg);
    return rc;
}

/* --- webhook lines in Meta's envelope ---------------------------------------- */

#define ENV_HEAD                                                                              \
    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"419561257915477\","     \
    "\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{"             \
    "\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"106540352242922\"},"
#define ENV_TAIL "},\"field\":\"messages\"}]}]}\n"

static void status_line(struct suf_buf *b, const char *wamid, const char *status, int64_t ts,
                        const char *phone, const char *callback, int code)
{
    suf_buf_addf(b, ENV_HEAD "\"statuses\":[{\"id\":\"%s\",\"status\":\"%s\","
                             "\"timestamp\":\"%lld\",\"recipient_id\":\"%s\"",
                 wamid, status, (long long)ts, phone);
    if (callback)
        suf_buf_addf(b, ",\"biz_opaque_callback_data\":\"%s\"", callback);
    if (code)
        suf_buf_addf(b, ",\"errors\":[{\"code\":%d,\"title\":\"error %d\",\"message\":\"m\","
                        "\"error_data\":{\"details\":\"d\"}}]",
                     code, code);
    else if (strcmp(status, "read"))
        suf_buf_addstr(b, ",\"pricing\":{\"billable\":true,\"pricing_model\":\"PMP\","
                          "\"type\":\"regular\",\"category\":\"utility\"}");
    suf_buf_addstr(b, "}]" ENV_TAIL);
}

static void tap_line(struct suf_buf *b, const char *id, const char *from, int64_t ts,
                     const char *context, const char *payload)
{
    suf_buf_addf(b, ENV_HEAD "\"contacts\":[{\"profile\":{\"name\":\"Customer\"},\"wa_id\":\"%s\"}],"
                             "\"messages\":[{\"context\":{\"from\":\"15550783881\",\"id\":\"%s\"},"
                             "\"from\":\"%s\",\"id\":\"%s\",\"timestamp\":\"%lld\","
                             "\"type\":\"button\",\"button\":{\"payload\":\"%s\","
                             "\"text\":\"Yes, show me\"}}]" ENV_TAIL,
                 from, context, from, id, (long long)ts, payload);
}

static void text_line(struct suf_buf *b, const char *id, const char *from, int64_t ts,
                      const char *body)
{
    suf_buf_addf(b, ENV_HEAD "\"contacts\":[{\"profile\":{\"name\":\"Customer\"},\"wa_id\":\"%s\"}],"
                             "\"messages\":[{\"from\":\"%s\",\"id\":\"%s\",\"timestamp\":\"%lld\","
                             "\"type\":\"text\",\"text\":{\"body\":\"%s\"}}]" ENV_TAIL,
                 from, from, id, (long long)ts, body);
}

/* Writes the lines to a new events file and imports it. */
static void import_lines(struct suf_buf *b)
{
    struct suf_err err = SUF_ERR_INIT;
    char name[32];
    const char *path;

    snprintf(name, sizeof(name), "events-%d.jsonl", ++nfile);
    path = suf_test_write(name, suf_buf_str(b));
    if (suf_import_events_path(&run, path, &err))
        fprintf(stderr, "import: %s\n", err.msg);
    suf_buf_reset(b);
}

/* --- the store as plan and send leave it ------------------------------------- */

static void add_fallback(int id, const char *campaign, const char *phone, const char *state,
                         int parts)
{
    char sql[1024];

    if (strcmp(state, "pending")) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, "
                 "scenario, state, state_at, created_at, utility_sent_at) VALUES (%d, '%s', '%s', "
                 "%d, 'winter_sale', '%s', '%s', %lld, %lld, %lld);"
                 "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state, wamid, "
                 "sent_at) VALUES (%d, 'u', 1, 1, 'suf:%d:u1', '{}', 'sent', 'wamid.u%d', %lld);",
                 id, campaign, phone, id, parts > 1 ? "S8" : "S3", state, (long long)T,
                 (long long)T, (long long)T, id, id, id, (long long)T);
    } else {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, "
                 "scenario, state, state_at, created_at) VALUES (%d, '%s', '%s', %d, "
                 "'winter_sale', 'S3', 'pending', %lld, %lld);"
                 "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state) "
                 "VALUES (%d, 'u', 1, 1, 'suf:%d:u1', '{}', 'unknown');",
                 id, campaign, phone, id, (long long)T, (long long)T, id, id);
    }
    exec(sql);
    for (int p = 1; p <= parts; p++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state) "
                 "VALUES (%d, 's', %d, %d, 'suf:%d:s%d', '{}', 'held')",
                 id, p, p, id, p);
        exec(sql);
    }
}

/* What the send stage does for a queued session part: it goes out. */
static void send_session(int id, int part, int64_t when)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "UPDATE sends SET state = 'sent', wamid = 'wamid.s%d_%d', sent_at = %lld "
             "WHERE fallback_id = %d AND kind = 's' AND part = %d AND state = 'queued';"
             "UPDATE fallbacks SET state = 'session_sent', state_at = %lld, session_sent_at = %lld "
             "WHERE id = %d AND state = 'consented'",
             id, part, (long long)when, id, part, (long long)when, (long long)when, id);
    exec(sql);
}

static void base_store(const char *db)
{
    fresh(db, T + 12 * H);
    exec("INSERT INTO campaigns (campaign_id, name) VALUES ('camp_a', 'Winter sale');"
         "INSERT INTO campaigns (campaign_id, name, valid_until) VALUES ('camp_b', 'Flash', "
         "1795435200)"); /* camp_b ends at T + 10 h */
    add_fallback(1, "camp_a", "447700900001", "utility_sent", 1);
    add_fallback(2, "camp_a", "447700900002", "utility_sent", 2);
    add_fallback(3, "camp_a", "447700900003", "utility_sent", 1);
    add_fallback(4, "camp_a", "447700900004", "utility_sent", 1);
    add_fallback(5, "camp_a", "447700900005", "utility_sent", 1);
    add_fallback(6, "camp_a", "447700900006", "pending", 1);
    add_fallback(7, "camp_b", "447700900007", "utility_sent", 1);
    add_fallback(8, "camp_a", "447700900008", "utility_sent", 1);
    add_fallback(9, "camp_b", "447700900008", "utility_sent", 1);
}

/* --- the tests ------------------------------------------------------------------ */

static void test_reconcile__taps_statuses_and_stops_move_each_fallback(void)
{
    struct suf_buf b = SUF_BUF_INIT;

    base_store("main.db");
    for (int i = 1; i <= 9; i++) {
        char w[32], phone[32];
        if (i == 6 || i == 8)
            continue;
        snprintf(w, sizeof(w), "wamid.u%d", i);
        snprintf(phone, sizeof(phone), "44770090000%d", i);
        status_line(&b, w, "delivered", T + 5, phone, NULL, 0);
    }
    status_line(&b, "wamid.u1", "read", T + 60, "447700900001", "suf:1:u1", 0);
    tap_line(&b, "in.1", "447700900001", T + 100, "wamid.u1", "suf:1:yes");
    tap_line(&b, "in.1", "447700900001", T + 100, "wamid.u1", "suf:1:yes"); /* redelivered */
    tap_line(&b, "in.2", "447700900002", T + 200, "wamid.u2", "Yes, show me");
    tap_line(&b, "in.3", "447700900003", T + 300, "wamid.u3", "suf:3:no");
    tap_line(&b, "in.4", "447700900099", T + 400, "wamid.u4", "suf:4:yes"); /* forwarded */
    tap_line(&b, "in.4b", "447700900001", T + 401, "wamid.u4", "suf:4:yes"); /* wrong message */
    text_line(&b, "in.5", "447700900005", T + 500, "  Stop ");
    status_line(&b, "wamid.u6", "delivered", T + 10, "447700900006", "suf:6:u1", 0);
    tap_line(&b, "in.7", "447700900007", T + 11 * H, "wamid.u7", "suf:7:yes");
    status_line(&b, "wamid.u8", "failed", T + 3, "447700900008", "suf:8:u1", 131050);
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);

    CU_ASSERT_STRING_EQUAL(state_of(1), "consented");
    CU_ASSERT_EQUAL(q("SELECT consented_at FROM fallbacks WHERE id = 1", NULL), T + 100);
    CU_ASSERT_EQUAL(q("SELECT utility_delivered_at FROM fallbacks WHERE id = 1", NULL), T + 5);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM fallbacks WHERE id = 1 AND consent_source = 'button'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE fallback_id = 1 AND kind = 's' AND "
                      "state = 'queued' AND queued_at IS NOT NULL",
                      NULL),
                    1);
    /* consent by context.id when the payload is not ours; both parts queued */
    CU_ASSERT_STRING_EQUAL(state_of(2), "consented");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE fallback_id = 2 AND state = 'queued'", NULL),
                    2);
    CU_ASSERT_STRING_EQUAL(state_of(3), "declined");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE fallback_id = 3 AND state = 'held'", NULL),
                    1);
    /* a tap from another phone and a tap on someone else's message: ignored */
    CU_ASSERT_STRING_EQUAL(state_of(4), "utility_delivered");
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.wrong_phone_taps"), 2);
    /* STOP: opted out, its held session cancelled, the phone recorded */
    CU_ASSERT_STRING_EQUAL(state_of(5), "opted_out");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE fallback_id = 5 AND state = 'cancelled'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM optouts WHERE phone = '447700900005' AND source = "
                      "'stop'",
                      NULL),
                    1);
    /* the unknown send, resolved by its callback data */
    CU_ASSERT_STRING_EQUAL(state_of(6), "utility_delivered");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE callback = 'suf:6:u1' AND state = 'sent' "
                      "AND wamid = 'wamid.u6' AND delivery = 'delivered'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.unknown_resolved"), 1);
    /* a tap after valid_until: recorded as late, nothing queued */
    CU_ASSERT_EQUAL(q("SELECT late_consent_at FROM fallbacks WHERE id = 7", NULL), T + 11 * H);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE fallback_id = 7 AND state = 'held'", NULL),
                    1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.late_consents"), 1);
    /* camp_b's window closed at valid_until: the time pass says no_response */
    CU_ASSERT_STRING_EQUAL(state_of(7), "no_response");
    CU_ASSERT_EQUAL(q("SELECT closed_at FROM fallbacks WHERE id = 7", NULL), T + 10 * H);
    /* 131050 on the utility message: the phone is out of every campaign */
    CU_ASSERT_STRING_EQUAL(state_of(8), "opted_out");
    CU_ASSERT_STRING_EQUAL(state_of(9), "opted_out");
    CU_ASSERT_EQUAL(q("SELECT error_code FROM fallbacks WHERE id = 8", NULL), 131050);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM optouts WHERE phone = '447700900008' AND source = "
                      "'131050'",
                      NULL),
                    1);
    /* statuses: delivery, read, pricing */
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE wamid = 'wamid.u1' AND delivery = 'read' "
                      "AND delivered_at = 1795399205 AND read_at = 1795399260 AND "
                      "pricing_model = 'PMP' AND pricing_category = 'utility' AND "
                      "pricing_billable = 1",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM event_queue", NULL), 0);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.consented"), 2);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.declined"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.opted_out"), 3);
    suf_buf_release(&b);
}

static void test_reconcile__a_second_run_changes_nothing(void)
{
    struct suf_buf b = SUF_BUF_INIT;
    char *before, *after;

    base_store("idem.db");
    status_line(&b, "wamid.u1", "delivered", T + 5, "447700900001", NULL, 0);
    tap_line(&b, "in.1", "447700900001", T + 100, "wamid.u1", "suf:1:yes");
    text_line(&b, "in.5", "447700900005", T + 500, "STOP");
    status_line(&b, "wamid.u4", "delivered", T + 5, "447700900004", NULL, 0);
    import_lines(&b);
    at(T + 80 * H);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    before = snapshot();
    json_decref(run.counts);
    run.counts = NULL;
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    after = snapshot();
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.events"), 0);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.no_response"), 0);
    /* the first run did close them */
    CU_ASSERT_STRING_EQUAL(state_of(4), "no_response");
    CU_ASSERT_STRING_EQUAL(state_of(1), "window_expired");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE fallback_id = 1 AND state = 'cancelled'",
                      NULL),
                    1);
    free(before);
    free(after);
    suf_buf_release(&b);
}

static void test_reconcile__converted_needs_the_last_part_and_never_goes_back(void)
{
    struct suf_buf b = SUF_BUF_INIT;

    base_store("convert.db");
    status_line(&b, "wamid.u2", "delivered", T + 5, "447700900002", NULL, 0);
    tap_line(&b, "in.2", "447700900002", T + 200, "wamid.u2", "suf:2:yes");
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(2), "consented");
    send_session(2, 1, T + 300);
    send_session(2, 2, T + 301);
    /* part 1 delivered: not yet converted */
    status_line(&b, "wamid.s2_1", "delivered", T + 310, "447700900002", "suf:2:s1", 0);
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(2), "session_sent");
    /* part 2 read (delivered skipped): converted */
    status_line(&b, "wamid.s2_2", "read", T + 400, "447700900002", "suf:2:s2", 0);
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(2), "converted");
    CU_ASSERT_EQUAL(q("SELECT converted_at FROM fallbacks WHERE id = 2", NULL), T + 400);
    /* a late delivered after read, and a STOP: nothing moves back */
    status_line(&b, "wamid.s2_2", "delivered", T + 390, "447700900002", "suf:2:s2", 0);
    text_line(&b, "in.2b", "447700900002", T + 500, "unsubscribe");
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(2), "converted");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE wamid = 'wamid.s2_2' AND delivery = 'read' "
                      "AND delivered_at = 1795399600",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM optouts", NULL), 1);
    suf_buf_release(&b);
}

static void test_reconcile__session_failed_keeps_the_window_closed_code(void)
{
    struct suf_buf b = SUF_BUF_INIT;

    base_store("sfail.db");
    status_line(&b, "wamid.u1", "delivered", T + 5, "447700900001", NULL, 0);
    tap_line(&b, "in.1", "447700900001", T + 100, "wamid.u1", "suf:1:yes");
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    send_session(1, 1, T + 200);
    status_line(&b, "wamid.s1_1", "failed", T + 210, "447700900001", "suf:1:s1", 131047);
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(1), "session_failed");
    CU_ASSERT_EQUAL(q("SELECT error_code FROM fallbacks WHERE id = 1", NULL), 131047);
    CU_ASSERT_EQUAL(q("SELECT error_code FROM sends WHERE wamid = 'wamid.s1_1'", NULL), 131047);
    suf_buf_release(&b);
}

static void test_reconcile__a_late_delivered_after_read_changes_nothing(void)
{
    struct suf_buf b = SUF_BUF_INIT;
    char *before, *after;

    base_store("order.db");
    status_line(&b, "wamid.u3", "read", T + 60, "447700900003", NULL, 0);
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(3), "utility_delivered");
    CU_ASSERT_EQUAL(q("SELECT utility_delivered_at FROM fallbacks WHERE id = 3", NULL), T + 60);
    before = fallbacks_snapshot();
    status_line(&b, "wamid.u3", "delivered", T + 5, "447700900003", NULL, 0);
    status_line(&b, "wamid.u3", "sent", T + 1, "447700900003", NULL, 0);
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    after = fallbacks_snapshot();
    /* the fallbacks are exactly as they were; the send's delivery too (the
     * late status may only fill the pricing the read status lacked) */
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE wamid = 'wamid.u3' AND delivery = 'read' "
                      "AND delivered_at = 1795399260 AND read_at = 1795399260 AND sent_at = "
                      "1795399200 AND pricing_category = 'utility'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.stale_statuses"), 2);
    free(before);
    free(after);
    suf_buf_release(&b);
}

static void test_reconcile__the_campaign_filter_leaves_other_campaigns_for_later(void)
{
    struct suf_buf b = SUF_BUF_INIT;

    base_store("filter.db");
    status_line(&b, "wamid.u1", "delivered", T + 5, "447700900001", NULL, 0);
    status_line(&b, "wamid.u7", "delivered", T + 5, "447700900007", NULL, 0);
    tap_line(&b, "in.7", "447700900007", T + 60, "wamid.u7", "suf:7:yes");
    import_lines(&b);
    run.campaign = "camp_b";
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(7), "consented");
    CU_ASSERT_STRING_EQUAL(state_of(1), "utility_sent");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM event_queue", NULL), 1);
    run.campaign = NULL;
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(1), "utility_delivered");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM event_queue", NULL), 0);
    suf_buf_release(&b);
}

static void test_reconcile__typed_keywords_count_only_when_configured(void)
{
    struct suf_buf b = SUF_BUF_INIT;
    struct suf_err err = SUF_ERR_INIT;

    base_store("kw.db");
    status_line(&b, "wamid.u1", "delivered", T + 5, "447700900001", NULL, 0);
    status_line(&b, "wamid.u3", "delivered", T + 5, "447700900003", NULL, 0);
    text_line(&b, "in.1", "447700900001", T + 60, "Yes!");
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(1), "utility_delivered");
    CU_ASSERT_EQUAL(suf_config_set(&cfg, "consent_keywords", "yes, ok", &err), SUF_OK);
    text_line(&b, "in.1b", "447700900001", T + 70, "yes!");
    text_line(&b, "in.3", "447700900003", T + 80 * H, "OK"); /* after the window */
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(1), "consented");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM fallbacks WHERE id = 1 AND consent_source = 'keyword'",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(q("SELECT late_consent_at FROM fallbacks WHERE id = 3", NULL), T + 80 * H);
    CU_ASSERT_EQUAL(suf_config_set(&cfg, "consent_keywords", "", &err), SUF_OK);
    suf_buf_release(&b);
}

static void test_reconcile__payloads_and_keywords_parse_strictly(void)
{
    static const struct {
        const char *payload;
        bool ok;
        int64_t id;
        bool yes;
    } rows[] = {
        {"suf:42:yes", true, 42, true}, {"suf:42:no", true, 42, false},
        {"suf:42:maybe", false, 0, false}, {"suf::yes", false, 0, false},
        {"suf:-1:yes", false, 0, false}, {"suf:4x:yes", false, 0, false},
        {"SUF:42:yes", false, 0, false}, {"Yes, show me", false, 0, false},
        {"suf:42:yes ", false, 0, false}, {NULL, false, 0, false},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t id = 0;
        bool yes = false;
        CU_ASSERT_EQUAL(suf_reconcile_parse_payload(rows[i].payload, &id, &yes), rows[i].ok);
        if (rows[i].ok) {
            CU_ASSERT_EQUAL(id, rows[i].id);
            CU_ASSERT_EQUAL(yes, rows[i].yes);
        }
    }
    CU_ASSERT_TRUE(suf_reconcile_keyword("STOP,UNSUBSCRIBE", " stop. "));
    CU_ASSERT_TRUE(suf_reconcile_keyword("STOP, UNSUBSCRIBE", "Unsubscribe"));
    CU_ASSERT_FALSE(suf_reconcile_keyword("STOP,UNSUBSCRIBE", "don't stop"));
    CU_ASSERT_FALSE(suf_reconcile_keyword("", "stop"));
    CU_ASSERT_FALSE(suf_reconcile_keyword("STOP", ""));
    CU_ASSERT_FALSE(suf_reconcile_keyword("STOP,,", "  "));
}

static void new_counts(void)
{
    json_decref(run.counts);
    run.counts = NULL;
}

static void test_reconcile__each_event_is_taken_once_across_imports_and_runs(void)
{
    struct suf_buf b = SUF_BUF_INIT;

    base_store("queue.db");
    status_line(&b, "wamid.u1", "delivered", T + 50, "447700900001", NULL, 0);
    status_line(&b, "wamid.u2", "delivered", T + 60, "447700900002", NULL, 0);
    import_lines(&b);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM event_queue", NULL), 2);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.events"), 2);
    /* a later log: a redelivery of a taken event, and an event older than
     * every taken one; only the new one is queued, and it is not skipped */
    status_line(&b, "wamid.u2", "delivered", T + 60, "447700900002", NULL, 0);
    status_line(&b, "wamid.u3", "delivered", T + 10, "447700900003", NULL, 0);
    import_lines(&b);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM event_queue", NULL), 1);
    new_counts();
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.events"), 1);
    CU_ASSERT_STRING_EQUAL(state_of(3), "utility_delivered");
    CU_ASSERT_EQUAL(q("SELECT utility_delivered_at FROM fallbacks WHERE id = 3", NULL), T + 10);
    new_counts();
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.events"), 0);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM events", NULL), 3);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM event_queue", NULL), 0);
    suf_buf_release(&b);
}

static void test_reconcile__a_run_that_dies_mid_chunk_leaves_every_event_queued(void)
{
    struct suf_buf b = SUF_BUF_INIT;
    char *before, *after;

    base_store("dies.db");
    status_line(&b, "wamid.u1", "delivered", T + 5, "447700900001", NULL, 0);
    tap_line(&b, "in.1", "447700900001", T + 100, "wamid.u1", "suf:1:yes");
    status_line(&b, "wamid.u2", "delivered", T + 200, "447700900002", NULL, 0);
    import_lines(&b);
    before = snapshot();
    /* the third event's write fails, after the first two were applied */
    exec("CREATE TRIGGER die BEFORE UPDATE OF state ON fallbacks WHEN old.id = 2 "
         "BEGIN SELECT RAISE(ABORT, 'killed'); END");
    CU_ASSERT_NOT_EQUAL(reconcile(), SUF_OK);
    exec("DROP TRIGGER die");
    after = snapshot();
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM event_queue", NULL), 3);
    new_counts();
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.events"), 3);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.consented"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.sessions_queued"), 1);
    CU_ASSERT_STRING_EQUAL(state_of(1), "consented");
    CU_ASSERT_STRING_EQUAL(state_of(2), "utility_delivered");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM event_queue", NULL), 0);
    free(before);
    free(after);
    suf_buf_release(&b);
}

static void test_reconcile__a_status_sees_what_earlier_events_of_its_chunk_did(void)
{
    struct suf_buf b = SUF_BUF_INIT;

    base_store("chunk.db");
    /* all in one chunk: the statuses' rows are read with the chunk, before
     * the STOP and the first status changed them */
    text_line(&b, "in.3", "447700900003", T + 10, "STOP");
    status_line(&b, "wamid.u3", "delivered", T + 20, "447700900003", NULL, 0);
    status_line(&b, "wamid.u1", "delivered", T + 30, "447700900001", NULL, 0);
    status_line(&b, "wamid.u1", "read", T + 40, "447700900001", NULL, 0);
    status_line(&b, "wamid.u1", "sent", T + 50, "447700900001", NULL, 0);
    import_lines(&b);
    CU_ASSERT_EQUAL(reconcile(), SUF_OK);
    CU_ASSERT_STRING_EQUAL(state_of(3), "opted_out");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE wamid = 'wamid.u3' AND "
                      "delivery = 'delivered' AND delivered_at = 1795399220",
                      NULL),
                    1);
    CU_ASSERT_STRING_EQUAL(state_of(1), "utility_delivered");
    CU_ASSERT_EQUAL(q("SELECT COUNT(*) FROM sends WHERE wamid = 'wamid.u1' AND delivery = 'read' "
                      "AND delivered_at = 1795399230 AND read_at = 1795399240",
                      NULL),
                    1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "reconcile.stale_statuses"), 1);
    suf_buf_release(&b);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"taps, statuses and stops move each fallback",
         test_reconcile__taps_statuses_and_stops_move_each_fallback},
        {"a second run changes nothing", test_reconcile__a_second_run_changes_nothing},
        {"converted needs the last part and never goes back",
         test_reconcile__converted_needs_the_last_part_and_never_goes_back},
        {"session failed keeps the window-closed code",
         test_reconcile__session_failed_keeps_the_window_closed_code},
        {"a late delivered after read changes nothing",
         test_reconcile__a_late_delivered_after_read_changes_nothing},
        {"the campaign filter leaves other campaigns for later",
         test_reconcile__the_campaign_filter_leaves_other_campaigns_for_later},
        {"typed keywords count only when configured",
         test_reconcile__typed_keywords_count_only_when_configured},
        {"payloads and keywords parse strictly", test_reconcile__payloads_and_keywords_parse_strictly},
        {"a status sees what earlier events of its chunk did",
         test_reconcile__a_status_sees_what_earlier_events_of_its_chunk_did},
        {"each event is taken once across imports and runs",
         test_reconcile__each_event_is_taken_once_across_imports_and_runs},
        {"a run that dies mid-chunk leaves every event queued",
         test_reconcile__a_run_that_dies_mid_chunk_leaves_every_event_queued},
        {NULL, NULL},
    };
    int rc;

    suf_config_init(&cfg);
    rc = suf_test_main("reconcile", tests);
    suf_store_close(&st);
    json_decref(run.counts);
    suf_config_release(&cfg);
    return rc;
}
