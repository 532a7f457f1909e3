/*
 * test_send.c: the send stage's state machine, driven through the
 * recording transport with canned replies: ordering (sessions first, part 2
 * after part 1), retries and budgets, permanent errors and opt-outs, the
 * consent window, 'unknown' rows of dead runs and their re-sends, --limit,
 * the permission-template check, and a dry run that changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suf/context.h"
#include "suf/send.h"
#include "suf/transport.h"
#include "testutil.h"

#define NOW INT64_C(1795485600) /* 2026-11-24T02:00:00Z */

static struct suf_config cfg;
static struct suf_store st;
static struct suf_run run;
static int run_no;

/* --- fixtures ------------------------------------------------------------- */

static void exec_sql(const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(st.db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sql failed: %s: %s\n", sql, msg);
        exit(2);
    }
}

static void new_run(int64_t now)
{
    json_decref(run.counts);
    memset(&run, 0, sizeof(run));
    run.cfg = &cfg;
    run.store = &st;
    run.id = ++run_no;
    suf_clock_init(&run.clock, now);
}

static void setup(const char *template_status)
{
    sqlite3_stmt *s;

    suf_config_init(&cfg);
    cfg.throughput = 0;
    cfg.backoff_base_ms = 1;
    cfg.backoff_max_ms = 4;
    cfg.max_tries = 3;
    cfg.retry_budget = 100;
    suf_test_store(&st, "send.db");
    run_no = 0;
    new_run(NOW);
    s = suf_store_prepare(&st,
                          "INSERT INTO templates (name, language, status, category, json)"
                          " VALUES ('fallback_permission', 'en_US', ?1, 'UTILITY', '{}')",
                          NULL);
    suf_bind_text(s, 1, template_status);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

static void teardown(void)
{
    json_decref(run.counts);
    run.counts = NULL;
    suf_store_close(&st);
    suf_config_release(&cfg);
}

static int64_t add_fallback(const char *campaign, const char *phone, const char *state,
                            int64_t consented_at)
{
    sqlite3_stmt *s = suf_store_prepare(
        &st,
        "INSERT INTO fallbacks (campaign_id, phone, attempt_id, template_name, scenario, state,"
        " state_at, created_at, consented_at) VALUES (?1, ?2, 1, 't', 'S8', ?3, ?4, ?4, ?5)",
        NULL);

    suf_bind_text(s, 1, campaign);
    suf_bind_text(s, 2, phone);
    suf_bind_text(s, 3, state);
    sqlite3_bind_int64(s, 4, NOW - 7200);
    suf_bind_int64_or_null(s, 5, consented_at, consented_at == 0);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    return sqlite3_last_insert_rowid(st.db);
}

static int64_t add_send(int64_t fb, char kind, int part, const char *phone, const char *state)
{
    char cb[64], body[512], k[2] = {kind, 0};
    sqlite3_stmt *s;

    snprintf(cb, sizeof(cb), "suf:%lld:%c%d", (long long)fb, kind, part);
    snprintf(body, sizeof(body),
             "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\",\"to\":\"%s\","
             "\"type\":\"text\",\"biz_opaque_callback_data\":\"%s\",\"text\":{\"body\":\"caf\xc3\xa9 %d\"}}",
             phone, cb, part);
    s = suf_store_prepare(&st,
                          "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state,"
                          " queued_at, in_flight_at) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8)",
                          NULL);
    sqlite3_bind_int64(s, 1, fb);
    suf_bind_text(s, 2, k);
    sqlite3_bind_int(s, 3, part);
    suf_bind_text(s, 4, cb);
    suf_bind_text(s, 5, body);
    suf_bind_text(s, 6, state);
    sqlite3_bind_int64(s, 7, NOW - 3600);
    suf_bind_int64_or_null(s, 8, NOW - 3600, strcmp(state, "in_flight") != 0);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    return sqlite3_last_insert_rowid(st.db);
}

static int64_t q_int(const char *sql, int64_t param)
{
    sqlite3_stmt *s = suf_store_prepare(&st, sql, NULL);
    int64_t v = -1;

    if (sqlite3_bind_parameter_count(s) >= 1)
        sqlite3_bind_int64(s, 1, param);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static const char *q_text(const char *sql, int64_t param)
{
    static char buf[8192];
    sqlite3_stmt *s = suf_store_prepare(&st, sql, NULL);

    buf[0] = '\0';
    if (sqlite3_bind_parameter_count(s) >= 1)
        sqlite3_bind_int64(s, 1, param);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return buf;
}

#define SEND_STATE(id) q_text("SELECT state FROM sends WHERE id = ?1", (id))
#define FB_STATE(id) q_text("SELECT state FROM fallbacks WHERE id = ?1", (id))

/* --- canned replies --------------------------------------------------------- */

struct canned {
    const char *phone;
    int http; /* 0: a timeout */
    const char *body;
    int times; /* < 0: always */
    int seen;
};

static struct canned canned[8];
static size_t ncanned;

static void can(const char *phone, int http, const char *body, int times)
{
    canned[ncanned++] = (struct canned){phone, http, body, times, 0};
}

static void respond(void *ctx, const char *body, size_t seq, struct suf_reply *r)
{
    static char ok[160];

    (void)ctx;
    for (size_t i = 0; i < ncanned; i++) {
        char needle[64];
        struct canned *c = &canned[i];

        snprintf(needle, sizeof(needle), "\"to\":\"%s\"", c->phone);
        if (!strstr(body, needle) || (c->times >= 0 && c->seen >= c->times))
            continue;
        c->seen++;
        r->net = c->http ? SUF_NET_OK : SUF_NET_TIMEOUT;
        r->http_status = c->http;
        r->body = c->body;
        r->net_error = c->http ? NULL : "Operation timed out";
        r->retry_after = c->http == 429 ? "0" : NULL;
        return;
    }
    snprintf(ok, sizeof(ok), "{\"messaging_product\":\"whatsapp\",\"messages\":[{\"id\":\"wamid.T%zu\"}]}",
             seq);
    r->net = SUF_NET_OK;
    r->http_status = 200;
    r->body = ok;
}

/* Runs the stage through a fresh recording transport; returns it (close it). */
static struct suf_transport *send_with(const struct suf_send_opts *o, int want_rc)
{
    struct suf_transport *t = suf_transport_record_new(NULL, respond, NULL);
    struct suf_send_opts def;
    struct suf_err err = SUF_ERR_INIT;
    int rc;

    if (!o) {
        suf_send_opts_init(&def);
        o = &def;
    }
    rc = suf_send_with(&run, t, o, &err);
    if (rc != want_rc)
        fprintf(stderr, "\nsend returned %d (%s)\n", rc, err.msg);
    CU_ASSERT_EQUAL(rc, want_rc);
    return t;
}

static size_t count_bodies_with(struct suf_transport *t, const char *needle)
{
    size_t n = 0;

    for (size_t i = 0; i < suf_transport_record_count(t); i++)
        if (strstr(suf_transport_record_body(t, i), needle))
            n++;
    return n;
}

#define ERR(code) "{\"error\":{\"message\":\"msg " #code "\",\"code\":" #code \
                  ",\"error_data\":{\"details\":\"details " #code "\"}}}"

/* --- tests ------------------------------------------------------------------ */

static void test_send__sessions_go_first_and_part_two_after_part_one(void)
{
    struct suf_transport *t;
    int64_t u1, u2, s1, s2, fbs;

    setup("APPROVED");
    ncanned = 0;
    u1 = add_send(add_fallback("c1", "441000000001", "pending", 0), 'u', 1, "441000000001", "queued");
    fbs = add_fallback("c1", "441000000002", "consented", NOW - 3600);
    s1 = add_send(fbs, 's', 1, "441000000002", "queued");
    s2 = add_send(fbs, 's', 2, "441000000002", "queued");
    u2 = add_send(add_fallback("c2", "441000000003", "pending", 0), 'u', 1, "441000000003", "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL_FATAL(suf_transport_record_count(t), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_transport_record_body(t, 0), ":s1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_transport_record_body(t, 1), ":s2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_transport_record_body(t, 2), ":u1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_transport_record_body(t, 3), ":u1\""));
    CU_ASSERT_STRING_EQUAL(SEND_STATE(u1), "sent");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(u2), "sent");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(s1), "sent");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(s2), "sent");
    CU_ASSERT_STRING_EQUAL(FB_STATE(fbs), "session_sent");
    CU_ASSERT_STRING_EQUAL(q_text("SELECT state FROM fallbacks WHERE id = "
                                  "(SELECT fallback_id FROM sends WHERE id = ?1)", u1),
                           "utility_sent");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", u1), 1);
    CU_ASSERT_EQUAL(q_int("SELECT run_id FROM sends WHERE id = ?1", u1), run.id);
    CU_ASSERT_STRING_EQUAL(q_text("SELECT wamid FROM sends WHERE id = ?1", s1), "wamid.T0");
    CU_ASSERT_EQUAL(q_int("SELECT sent_at FROM sends WHERE id = ?1", s1), NOW);
    CU_ASSERT_EQUAL(q_int("SELECT utility_sent_at IS NOT NULL FROM fallbacks f JOIN sends s"
                          " ON s.fallback_id = f.id WHERE s.id = ?1", u2), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.sent_session"), 2);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.sent_utility"), 2);
    t->close(t);
    /* a rerun has nothing left to send */
    new_run(NOW + 60);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    t->close(t);
    teardown();
}

static void test_send__part_two_never_goes_when_part_one_fails(void)
{
    struct suf_transport *t;
    int64_t fb, s1, s2;

    setup("APPROVED");
    ncanned = 0;
    can("441000000010", 400, ERR(131047), -1);
    fb = add_fallback("c1", "441000000010", "consented", NOW - 3600);
    s1 = add_send(fb, 's', 1, "441000000010", "queued");
    s2 = add_send(fb, 's', 2, "441000000010", "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(s1), "failed");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(s2), "cancelled");
    CU_ASSERT_STRING_EQUAL(FB_STATE(fb), "session_failed");
    CU_ASSERT_EQUAL(q_int("SELECT error_code FROM fallbacks WHERE id = ?1", fb), 131047);
    CU_ASSERT_EQUAL(run.soft_status, SUF_ERR_SEND);
    t->close(t);
    teardown();
}

static void test_send__closed_window_expires_instead_of_sending(void)
{
    struct suf_transport *t;
    int64_t fb, s1, late;

    setup("APPROVED");
    ncanned = 0;
    /* consented 23 h 40 min ago: inside 24 h, but past the 30-minute margin */
    fb = add_fallback("c1", "441000000020", "consented", NOW - 23 * 3600 - 40 * 60);
    s1 = add_send(fb, 's', 1, "441000000020", "queued");
    late = add_send(add_fallback("c1", "441000000021", "consented", NOW - 23 * 3600 - 20 * 60), 's',
                    1, "441000000021", "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_EQUAL(count_bodies_with(t, "441000000021"), 1);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(s1), "cancelled");
    CU_ASSERT_STRING_EQUAL(FB_STATE(fb), "window_expired");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(late), "sent");
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.window_expired"), 1);
    t->close(t);
    teardown();
}

static void test_send__transient_failures_are_retried_then_sent(void)
{
    struct suf_transport *t;
    int64_t a, b, c;

    setup("APPROVED");
    ncanned = 0;
    can("441000000030", 503, "<html>busy</html>", 1);
    can("441000000030", 0, NULL, 1); /* then a timeout */
    can("441000000031", 429, "", 1);
    can("441000000032", 200, "{\"messaging_product\":\"whatsapp\",\"messages\":[]}", 1);
    a = add_send(add_fallback("c1", "441000000030", "pending", 0), 'u', 1, "441000000030", "queued");
    b = add_send(add_fallback("c1", "441000000031", "pending", 0), 'u', 1, "441000000031", "queued");
    c = add_send(add_fallback("c1", "441000000032", "pending", 0), 'u', 1, "441000000032", "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "sent");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", a), 3);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(b), "sent");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", b), 2);
    /* a 200 without a wamid was not taken for a success */
    CU_ASSERT_STRING_EQUAL(SEND_STATE(c), "sent");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", c), 2);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.retried"), 4);
    CU_ASSERT_EQUAL(count_bodies_with(t, "441000000030"), 3);
    /* the retries carried the same bytes */
    CU_ASSERT_STRING_EQUAL(suf_transport_record_body(t, 0),
                           q_text("SELECT body FROM sends WHERE id = ?1", a));
    CU_ASSERT_EQUAL(run.soft_status, 0);
    t->close(t);
    teardown();
}

static void test_send__exhausted_tries_and_budget_wait_for_the_next_run(void)
{
    struct suf_transport *t;
    int64_t a, b;

    setup("APPROVED");
    ncanned = 0;
    can("441000000040", 500, ERR(131000), -1);
    can("441000000041", 503, "", 1);
    a = add_send(add_fallback("c1", "441000000040", "pending", 0), 'u', 1, "441000000040", "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "queued");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", a), cfg.max_tries);
    CU_ASSERT_EQUAL(q_int("SELECT api_code FROM sends WHERE id = ?1", a), 131000);
    CU_ASSERT(q_int("SELECT next_try_at FROM sends WHERE id = ?1", a) >= NOW);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.deferred"), 1);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), (size_t)cfg.max_tries);
    t->close(t);

    /* no retry budget: one try, then it waits */
    cfg.retry_budget = 0;
    new_run(NOW + 60);
    b = add_send(add_fallback("c1", "441000000041", "pending", 0), 'u', 1, "441000000041", "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(b), "queued");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", b), 1);
    t->close(t);

    /* the next run sends it */
    new_run(NOW + 120);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(b), "sent");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", b), 2);
    t->close(t);
    teardown();
}

static void test_send__permanent_errors_are_stored_with_code_and_text(void)
{
    struct suf_transport *t;
    int64_t fb, a;

    setup("APPROVED");
    ncanned = 0;
    can("441000000050", 400, ERR(131026), -1);
    fb = add_fallback("c1", "441000000050", "pending", 0);
    a = add_send(fb, 'u', 1, "441000000050", "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "failed");
    CU_ASSERT_EQUAL(q_int("SELECT api_code FROM sends WHERE id = ?1", a), 131026);
    CU_ASSERT_EQUAL(q_int("SELECT http_status FROM sends WHERE id = ?1", a), 400);
    CU_ASSERT_STRING_EQUAL(q_text("SELECT api_error FROM sends WHERE id = ?1", a),
                           "msg 131026 (details 131026)");
    CU_ASSERT_STRING_EQUAL(FB_STATE(fb), "utility_failed");
    CU_ASSERT_EQUAL(q_int("SELECT error_code FROM fallbacks WHERE id = ?1", fb), 131026);
    CU_ASSERT_EQUAL(run.soft_status, SUF_ERR_SEND);
    t->close(t);
    teardown();
}

static void test_send__error_131050_opts_the_phone_out_everywhere(void)
{
    struct suf_transport *t;
    struct suf_send_opts o;
    int64_t fa, fb, a, b;

    setup("APPROVED");
    ncanned = 0;
    can("441000000060", 400, ERR(131050), -1);
    fa = add_fallback("c1", "441000000060", "pending", 0);
    a = add_send(fa, 'u', 1, "441000000060", "queued");
    fb = add_fallback("c2", "441000000060", "pending", 0);
    b = add_send(fb, 'u', 1, "441000000060", "queued");
    suf_send_opts_init(&o);
    o.batch = 1;
    t = send_with(&o, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "failed");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(b), "cancelled");
    CU_ASSERT_STRING_EQUAL(FB_STATE(fa), "opted_out");
    CU_ASSERT_STRING_EQUAL(FB_STATE(fb), "opted_out");
    CU_ASSERT_EQUAL(q_int("SELECT COUNT(*) FROM optouts WHERE phone = '441000000060'", 0), 1);
    t->close(t);
    teardown();
}

static void test_send__opted_out_phones_get_nothing(void)
{
    struct suf_transport *t;
    int64_t fb, a;

    setup("APPROVED");
    ncanned = 0;
    exec_sql("INSERT INTO optouts (phone, at, source) VALUES ('441000000070', 1, 'stop')");
    fb = add_fallback("c1", "441000000070", "pending", 0);
    a = add_send(fb, 'u', 1, "441000000070", "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "cancelled");
    CU_ASSERT_STRING_EQUAL(FB_STATE(fb), "opted_out");
    t->close(t);
    teardown();
}

static void test_send__in_flight_of_a_dead_run_is_unknown_then_resent_late(void)
{
    struct suf_transport *t;
    int64_t fb, a, r;

    setup("APPROVED");
    ncanned = 0;
    fb = add_fallback("c1", "441000000080", "pending", 0);
    a = add_send(fb, 'u', 1, "441000000080", "in_flight");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "unknown");
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.unknown"), 1);
    t->close(t);

    /* not yet: 23 h after it left (it left an hour before NOW) */
    new_run(NOW + 22 * 3600);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    t->close(t);

    /* past unknown_resend_after_hours: a new row, new callback data */
    new_run(NOW + 25 * 3600);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL_FATAL(suf_transport_record_count(t), 1);
    r = q_int("SELECT id FROM sends WHERE resend_of = ?1", a);
    CU_ASSERT(r > a);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "unknown");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(r), "sent");
    CU_ASSERT_EQUAL(q_int("SELECT n FROM sends WHERE id = ?1", r), 2);
    CU_ASSERT_STRING_EQUAL(q_text("SELECT callback FROM sends WHERE id = ?1", r), "suf:1:u2");
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_transport_record_body(t, 0),
                                  "\"biz_opaque_callback_data\":\"suf:1:u2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_transport_record_body(t, 0), "caf\xc3\xa9"));
    CU_ASSERT_STRING_EQUAL(suf_transport_record_body(t, 0),
                           q_text("SELECT body FROM sends WHERE id = ?1", r));
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.resent"), 1);
    CU_ASSERT_STRING_EQUAL(FB_STATE(fb), "utility_sent");
    t->close(t);

    /* never twice */
    new_run(NOW + 50 * 3600);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    CU_ASSERT_EQUAL(q_int("SELECT COUNT(*) FROM sends WHERE fallback_id = ?1", fb), 2);
    t->close(t);
    teardown();
}

static void test_send__a_resolved_unknown_is_never_resent(void)
{
    struct suf_transport *t;
    int64_t fb, a;

    setup("APPROVED");
    ncanned = 0;
    fb = add_fallback("c1", "441000000085", "pending", 0);
    a = add_send(fb, 'u', 1, "441000000085", "unknown");
    /* a webhook carrying its callback data moved it on (reconcile's job) */
    exec_sql("UPDATE sends SET state = 'sent', wamid = 'wamid.W' WHERE state = 'unknown'");
    exec_sql("UPDATE fallbacks SET state = 'utility_delivered'");
    new_run(NOW + 48 * 3600);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "sent");
    t->close(t);
    teardown();
}

static void test_send__limit_and_cap_stop_utility_cleanly(void)
{
    struct suf_transport *t;
    struct suf_send_opts o;
    char phone[16];

    setup("APPROVED");
    ncanned = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(phone, sizeof(phone), "4410000001%02d", i);
        add_send(add_fallback("c1", phone, "pending", 0), 'u', 1, phone, "queued");
    }
    add_send(add_fallback("c1", "441000000199", "consented", NOW - 60), 's', 1, "441000000199",
             "queued");
    suf_send_opts_init(&o);
    o.limit = 2;
    t = send_with(&o, SUF_OK);
    CU_ASSERT_EQUAL(count_bodies_with(t, ":u1\""), 2);
    CU_ASSERT_EQUAL(count_bodies_with(t, ":s1\""), 1); /* sessions are not capped */
    CU_ASSERT_EQUAL(q_int("SELECT COUNT(*) FROM sends WHERE kind = 'u' AND state = 'queued'"
                          " AND tries = 0", 0), 3);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.left_by_limit"), 3);
    t->close(t);

    cfg.max_utility_per_run = 1;
    new_run(NOW + 60);
    t = send_with(&o, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    t->close(t);
    teardown();
}

static void test_send__unusable_permission_template_blocks_utility_only(void)
{
    struct suf_transport *t;
    int64_t a, s;

    setup("PAUSED");
    ncanned = 0;
    a = add_send(add_fallback("c1", "441000000090", "pending", 0), 'u', 1, "441000000090", "queued");
    s = add_send(add_fallback("c1", "441000000091", "consented", NOW - 60), 's', 1, "441000000091",
                 "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "queued");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(s), "sent");
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.campaigns_blocked"), 1);
    t->close(t);

    /* re-approved (catalog import): it goes */
    exec_sql("UPDATE templates SET status = 'APPROVED'");
    new_run(NOW + 60);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "sent");
    t->close(t);

    /* a campaign's own template setting wins over the config's */
    exec_sql("INSERT INTO campaigns (campaign_id, utility_template) VALUES ('c3', 'missing')");
    a = add_send(add_fallback("c3", "441000000092", "pending", 0), 'u', 1, "441000000092", "queued");
    new_run(NOW + 120);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "queued");
    t->close(t);
    teardown();
}

static const char snapshot_sql[] =
    "SELECT (SELECT group_concat(quote(id) || quote(state) || quote(tries) || quote(wamid) ||"
    " quote(next_try_at) || quote(run_id) || quote(body) || quote(updated_at), '|') FROM sends)"
    " || (SELECT group_concat(quote(id) || quote(state) || quote(state_at), '|') FROM fallbacks)"
    " || (SELECT COUNT(*) FROM optouts) || (SELECT COUNT(*) FROM sends)";

static void test_send__dry_run_changes_nothing_and_records_stored_bodies(void)
{
    struct suf_transport *t;
    char *before;
    int64_t fbs, u;

    setup("APPROVED");
    ncanned = 0;
    can("441000000101", 400, ERR(131050), -1);
    u = add_send(add_fallback("c1", "441000000100", "pending", 0), 'u', 1, "441000000100", "queued");
    add_send(add_fallback("c1", "441000000101", "pending", 0), 'u', 1, "441000000101", "queued");
    fbs = add_fallback("c1", "441000000102", "consented", NOW - 60);
    add_send(fbs, 's', 1, "441000000102", "queued");
    add_send(fbs, 's', 2, "441000000102", "queued");
    add_send(add_fallback("c1", "441000000103", "consented", NOW - 86400), 's', 1, "441000000103",
             "queued");
    add_send(add_fallback("c1", "441000000104", "pending", 0), 'u', 1, "441000000104", "in_flight");
    before = strdup(q_text(snapshot_sql, 0));
    run.dry_run = true;
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_STRING_EQUAL(q_text(snapshot_sql, 0), before);
    CU_ASSERT_EQUAL_FATAL(suf_transport_record_count(t), 4);
    CU_ASSERT_STRING_EQUAL(suf_transport_record_body(t, 0),
                           q_text("SELECT body FROM sends WHERE fallback_id = ?1 AND part = 1", fbs));
    CU_ASSERT_STRING_EQUAL(suf_transport_record_body(t, 1),
                           q_text("SELECT body FROM sends WHERE fallback_id = ?1 AND part = 2", fbs));
    CU_ASSERT_STRING_EQUAL(suf_transport_record_body(t, 2),
                           q_text("SELECT body FROM sends WHERE id = ?1", u));
    t->close(t);
    free(before);
    teardown();
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"sessions go first and part two after part one",
         test_send__sessions_go_first_and_part_two_after_part_one},
        {"part two never goes when part one fails",
         test_send__part_two_never_goes_when_part_one_fails},
        {"closed window expires instead of sending",
         test_send__closed_window_expires_instead_of_sending},
        {"transient failures are retried then sent",
         test_send__transient_failures_are_retried_then_sent},
        {"exhausted tries and budget wait for the next run",
         test_send__exhausted_tries_and_budget_wait_for_the_next_run},
        {"permanent errors are stored with code and text",
         test_send__permanent_errors_are_stored_with_code_and_text},
        {"error 131050 opts the phone out everywhere",
         test_send__error_131050_opts_the_phone_out_everywhere},
        {"opted-out phones get nothing", test_send__opted_out_phones_get_nothing},
        {"in-flight of a dead run is unknown, then re-sent late",
         test_send__in_flight_of_a_dead_run_is_unknown_then_resent_late},
        {"a resolved unknown is never re-sent", test_send__a_resolved_unknown_is_never_resent},
        {"limit and cap stop utility cleanly", test_send__limit_and_cap_stop_utility_cleanly},
        {"unusable permission template blocks utility only",
         test_send__unusable_permission_template_blocks_utility_only},
        {"dry run changes nothing and records stored bodies",
         test_send__dry_run_changes_nothing_and_records_stored_bodies},
        {NULL, NULL},
    };
    return suf_test_main("send", tests);
}
