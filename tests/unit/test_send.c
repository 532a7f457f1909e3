/*
 * test_send.c: the send stage's state machine, driven through the
 * recording transport with canned replies: ordering (sessions first, part 2
 * after part 1), retries and budgets, permanent errors and opt-outs, the
 * consent window, 'unknown' rows of dead runs and their re-sends, --limit,
 * the cost cap (rate cards and markets inserted by SQL), the
 * permission-template check (status, category, quick replies), a dry
 * run that changes nothing, and runs that die mid-send (in a child process
 * that ends as kill -9 would end it): only a request that started to go out
 * waits as 'unknown', the rest are queued again, and the claim batch is a
 * quarter second of work.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/context.h"
#include "send/send.h"
#include "send/transport.h"
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

/* A permission template as Meta's catalog gives it, with `buttons` quick
 * replies (0..2). */
static void add_template(const char *name, const char *status, const char *category,
                         int buttons)
{
    static const char *const qr[] = {"Yes, show me", "No thanks"};
    char json[1024], btn[256] = "";
    int n = 0;
    sqlite3_stmt *s;

    for (int i = 0; i < buttons; i++)
        n += snprintf(btn + n, sizeof(btn) - (size_t)n, "%s{\"type\":\"QUICK_REPLY\",\"text\":\"%s\"}",
                      i ? "," : "", qr[i]);
    snprintf(json, sizeof(json),
             "{\"name\":\"%s\",\"language\":\"en_US\",\"status\":\"%s\",\"category\":\"%s\","
             "\"id\":\"9001\",\"components\":[{\"type\":\"BODY\",\"text\":\"Hi {{1}}, may we "
             "send you the offer here?\"}%s%s%s]}",
             name, status, category, buttons ? ",{\"type\":\"BUTTONS\",\"buttons\":[" : "", btn,
             buttons ? "]}" : "");
    s = suf_store_prepare(&st,
                          "INSERT INTO templates (name, language, status, category, json)"
                          " VALUES (?1, 'en_US', ?2, ?3, ?4)",
                          NULL);
    suf_bind_text(s, 1, name);
    suf_bind_text(s, 2, status);
    suf_bind_text(s, 3, category);
    suf_bind_text(s, 4, json);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

static void setup(const char *template_status)
{

    suf_config_init(&cfg);
    cfg.fallback = true; /* the campaigns here have no settings row */
    cfg.throughput = 0;
    cfg.backoff_base_ms = 1;
    cfg.backoff_max_ms = 4;
    cfg.max_tries = 3;
    cfg.retry_budget = 100;
    suf_test_store(&st, "send.db");
    run_no = 0;
    new_run(NOW);
    add_template("fallback_permission", template_status, "UTILITY", 2);
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

/* stderr into a scratch file while a stage runs, to check its log lines. */
static int saved_stderr = -1;

static void capture_start(void)
{
    fflush(stderr);
    saved_stderr = dup(2);
    CU_ASSERT_PTR_NOT_NULL(freopen(suf_test_path("stderr.txt"), "w", stderr));
}

/* Stops capturing; returns what was logged (static buffer), and echoes it. */
static const char *capture_end(void)
{
    static char text[16384];
    FILE *f;
    size_t n;

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    f = fopen(suf_test_path("stderr.txt"), "r");
    n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    fputs(text, stderr);
    return text;
}

#define SEND_STATE(id) q_text("SELECT state FROM sends WHERE id = ?1", (id))
#define FB_STATE(id) q_text("SELECT state FROM fallbacks WHERE id = ?1", (id))

/* --- canned replies --------------------------------------------------------- */

struct canned {
    const char *phone;
    int http; /* 0: a timeout; -1: the connection could not be made */
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
        if (c->http < 0) {
            r->net = SUF_NET_CONNECT;
            r->net_error = "Failed to connect: Connection refused";
            r->unsent = true;
            return;
        }
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

/* A new run at `at`, which must send nothing at all. */
static void rerun_sends_nothing(int64_t at)
{
    struct suf_transport *t;

    new_run(at);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    t->close(t);
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
    /* the run's clock starts at NOW and moves on with the monotonic clock, so
     * a slow machine (or a sanitizer build) may see a later second */
    CU_ASSERT(q_int("SELECT sent_at FROM sends WHERE id = ?1", s1) >= NOW);
    CU_ASSERT(q_int("SELECT sent_at FROM sends WHERE id = ?1", s1) <= suf_run_now(&run));
    CU_ASSERT_EQUAL(q_int("SELECT utility_sent_at IS NOT NULL FROM fallbacks f JOIN sends s"
                          " ON s.fallback_id = f.id WHERE s.id = ?1", u2), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.sent_session"), 2);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.sent_utility"), 2);
    t->close(t);
    /* a rerun has nothing left to send */
    rerun_sends_nothing(NOW + 60);
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
    exec_sql("UPDATE templates SET status = 'APPROVED',"
             " json = json_set(json, '$.status', 'APPROVED')");
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


/* The gate reads what suf last heard of the template (templates.live_*, set
 * by the catalog and by newer webhooks), over the catalog entry's own
 * status and category, and says since when. */
static void test_send__the_live_state_of_the_permission_template_decides(void)
{
    struct suf_transport *t;
    const char *log;
    int64_t a, b, c;

    setup("PENDING"); /* as suf created it: the webhook approves it later */
    ncanned = 0;
    exec_sql("UPDATE templates SET live_status = 'PAUSED', live_category = 'UTILITY',"
             " live_reason = 'FIRST_PAUSE', live_at = 1795480000");
    a = add_send(add_fallback("c1", "441000000120", "pending", 0), 'u', 1, "441000000120", "queued");
    capture_start();
    t = send_with(NULL, SUF_OK);
    log = capture_end();
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "queued");
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "campaign 'c1': permission template 'fallback_permission'"
                                       " (en_US) is PAUSED, not APPROVED (since "
                                       "2026-11-24T00:26:40Z; FIRST_PAUSE)"));
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM fallbacks WHERE state = 'blocked' AND"
                          " reason_detail LIKE '%is PAUSED, not APPROVED (since%'", 0), 1);
    t->close(t);

    /* approved by a webhook, though the catalog entry still says PENDING */
    exec_sql("UPDATE templates SET live_status = 'APPROVED', live_reason = 'NONE',"
             " live_at = 1795480100");
    new_run(NOW + 60);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "sent");
    t->close(t);

    /* re-categorised */
    exec_sql("UPDATE templates SET live_category = 'MARKETING', live_at = 1795480200");
    b = add_send(add_fallback("c1", "441000000121", "pending", 0), 'u', 1, "441000000121", "queued");
    new_run(NOW + 120);
    capture_start();
    t = send_with(NULL, SUF_OK);
    log = capture_end();
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(b), "queued");
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "is in category MARKETING, not UTILITY (re-categorised?)"
                                       " (since 2026-11-24T00:30:00Z)"));
    t->close(t);

    /* no live state (an older store's row): the entry decides, as before */
    exec_sql("UPDATE templates SET live_status = NULL, live_category = NULL, live_at = NULL,"
             " json = json_set(json, '$.status', 'APPROVED')");
    c = add_send(add_fallback("c2", "441000000122", "pending", 0), 'u', 1, "441000000122", "queued");
    new_run(NOW + 180);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 2);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(b), "sent");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(c), "sent");
    t->close(t);
    teardown();
}


static void test_send__permission_template_needs_its_quick_replies(void)
{
    struct suf_transport *t;
    const char *log;
    int64_t one, none, recat, fine;

    setup("APPROVED");
    ncanned = 0;
    add_template("perm_one_qr", "APPROVED", "UTILITY", 1);
    add_template("perm_no_qr", "APPROVED", "UTILITY", 0);
    add_template("perm_recat", "APPROVED", "MARKETING", 2);
    exec_sql("INSERT INTO campaigns (campaign_id, utility_template) VALUES"
             " ('c1', 'perm_one_qr'), ('c2', 'perm_no_qr'), ('c3', 'perm_recat')");
    one = add_send(add_fallback("c1", "441000000110", "pending", 0), 'u', 1, "441000000110", "queued");
    none = add_send(add_fallback("c2", "441000000111", "pending", 0), 'u', 1, "441000000111", "queued");
    recat = add_send(add_fallback("c3", "441000000112", "pending", 0), 'u', 1, "441000000112", "queued");
    fine = add_send(add_fallback("c4", "441000000113", "pending", 0), 'u', 1, "441000000113", "queued");
    capture_start();
    t = send_with(NULL, SUF_OK);
    log = capture_end();
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(fine), "sent");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(one), "queued");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(none), "queued");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(recat), "queued");
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.campaigns_blocked"), 3);
    /* utility_no_button is on: the "no" reply must be there too */
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "campaign 'c1': permission template 'perm_one_qr' (en_US)"
                                       " lacks quick replies at buttons 0 and 1; no utility"
                                       " message sent for it"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "campaign 'c2': permission template 'perm_no_qr' (en_US)"
                                       " lacks quick replies"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "campaign 'c3': permission template 'perm_recat' (en_US)"
                                       " is in category MARKETING, not UTILITY"));
    t->close(t);

    /* without the "no" button one quick reply is enough */
    cfg.utility_no_button = false;
    new_run(NOW + 60);
    capture_start();
    t = send_with(NULL, SUF_OK);
    log = capture_end();
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(one), "sent");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(none), "queued");
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "'perm_no_qr' (en_US) lacks a quick reply at button 0"));
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.campaigns_blocked"), 2);
    t->close(t);
    teardown();
}

/* Prices (micros of USD) of the rate cards the cost-cap test loads. */
#define UK_OLD 30000 /* card of 2026-07-01 */
#define UK_NOW 22000 /* card of 2026-10-01, in effect at NOW */
#define IN_NOW 1400

static void add_rates(void)
{
    char sql[1024];

    snprintf(sql, sizeof(sql),
             "INSERT INTO rate_cards (id, currency, effective) VALUES (1, 'USD', '2026-07-01'),"
             " (2, 'USD', '2026-10-01'), (3, 'USD', '2027-01-01');"
             "INSERT INTO rates (card_id, market, marketing, utility) VALUES"
             " (1, 'United Kingdom', 50000, %d), (1, 'India', 10000, 2000),"
             " (2, 'United Kingdom', 50000, %d), (2, 'India', 10000, %d),"
             " (2, 'Indonesia', 30000, NULL),"
             " (3, 'United Kingdom', 50000, 1), (3, 'India', 10000, 1);"
             "INSERT INTO markets (prefix, since, market) VALUES ('44', '', 'United Kingdom'),"
             " ('91', '', 'India'), ('62', '', 'Indonesia');",
             UK_OLD, UK_NOW, IN_NOW);
    exec_sql(sql);
}

static void test_send__cost_cap_stops_utility_before_the_next_would_pass_it(void)
{
    static const char *const phones[] = {
        "621000000001", /* Indonesia: no utility rate on the card (n/a) */
        "999000000001", /* no market at all, and no "Other" market */
        "441000000201", "441000000202", "911000000203", "441000000204", "441000000205",
    };
    static const int64_t price[] = {-1, -1, UK_NOW, UK_NOW, IN_NOW, UK_NOW, UK_NOW};
    enum { N = sizeof(phones) / sizeof(phones[0]) };
    struct suf_transport *t;
    const char *log;
    int64_t ids[N], spent = 0, cap = 2 * UK_NOW + IN_NOW + UK_NOW / 2;
    size_t fit = 0, left = 0, unpriced = 0;
    bool stopped = false;
    char line[160];

    setup("APPROVED");
    ncanned = 0;
    add_rates();
    for (size_t i = 0; i < N; i++)
        ids[i] = add_send(add_fallback("c1", phones[i], "pending", 0), 'u', 1, phones[i], "queued");
    add_send(add_fallback("c1", "441000000299", "consented", NOW - 60), 's', 1, "441000000299",
             "queued");
    /* what the cap lets through, from the prices in row order */
    for (size_t i = 0; i < N; i++) {
        if (price[i] < 0 && !stopped)
            unpriced++;
        else if (stopped || spent + price[i] > cap)
            stopped = true, left++;
        else
            spent += price[i], fit++;
    }
    CU_ASSERT_FATAL(fit >= 2 && left >= 1 && unpriced == 2);
    cfg.max_utility_cost_per_run = cap;
    capture_start();
    t = send_with(NULL, SUF_OK);
    log = capture_end();
    CU_ASSERT_EQUAL(count_bodies_with(t, ":u1\""), fit);
    CU_ASSERT_EQUAL(count_bodies_with(t, ":s1\""), 1); /* sessions are not capped */
    for (size_t i = 0; i < N; i++) {
        bool sent = price[i] >= 0 && i < unpriced + fit;
        CU_ASSERT_STRING_EQUAL(SEND_STATE(ids[i]), sent ? "sent" : "queued");
        CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", ids[i]), sent ? 1 : 0);
    }
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.sent_utility"), (int64_t)fit);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.left_by_cost_cap"), (int64_t)left);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.left_unpriced"), (int64_t)unpriced);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.left_by_limit"), 0);
    snprintf(line, sizeof(line), "max_utility_cost_per_run (%lld.%06lld USD) reached",
             (long long)(cap / 1000000), (long long)(cap % 1000000));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, line));
    snprintf(line, sizeof(line), "%zu utility messages (the first: send %lld) have no known USD",
             unpriced, (long long)ids[0]);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, line));
    t->close(t);

    /* the next run, with room for everything priced: only the unpriced stay */
    cfg.max_utility_cost_per_run = 10 * UK_NOW;
    new_run(NOW + 60);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), left);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(ids[0]), "queued");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(ids[1]), "queued");
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.left_unpriced"), (int64_t)unpriced);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.left_by_cost_cap"), 0);
    t->close(t);

    /* no cap: an unknown price is no obstacle */
    cfg.max_utility_cost_per_run = 0;
    new_run(NOW + 120);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), unpriced);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(ids[0]), "sent");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(ids[1]), "sent");
    t->close(t);
    teardown();
}

static void test_send__cost_cap_uses_the_card_in_effect_on_the_day(void)
{
    struct suf_transport *t;
    char phone[16];

    setup("APPROVED");
    ncanned = 0;
    add_rates();
    for (int i = 0; i < 4; i++) {
        snprintf(phone, sizeof(phone), "4410000003%02d", i);
        add_send(add_fallback("c1", phone, "pending", 0), 'u', 1, phone, "queued");
    }
    /* room for two at the old card's price, three at the one in effect */
    cfg.max_utility_cost_per_run = 3 * UK_NOW;
    CU_ASSERT_FATAL(2 * UK_OLD <= 3 * UK_NOW && 3 * UK_OLD > 3 * UK_NOW);
    new_run(NOW); /* 2026-11-24: the 2026-10-01 card, not 2026-07-01 nor 2027-01-01 */
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 3);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.left_by_cost_cap"), 1);
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

/* --- runs that die ---------------------------------------------------------- */

/* The request (by its 0-based sequence number) at which the child dies. */
static size_t die_at;

/* Answers as `respond` does, until request `die_at`: there the process
 * ends at once, as kill -9 would end it, in the middle of a poll: the
 * requests before it in the same poll were answered and left, that one and
 * those after it never left. */
static void respond_then_die(void *ctx, const char *body, size_t seq, struct suf_reply *r)
{
    if (seq == die_at)
        _exit(0);
    respond(ctx, body, seq, r);
}

static void reopen_store(void)
{
    struct suf_err err = SUF_ERR_INIT;

    if (suf_store_open(&st, suf_test_path("send.db"), SUF_STORE_LOCK, &err)) {
        fprintf(stderr, "cannot open the test store again: %s\n", err.msg);
        exit(2);
    }
}

/* Runs the stage in a child process that dies at request `at`.  A SQLite
 * connection must not cross a fork, and the child needs the writer lock:
 * the store is closed around it, and opened again after. */
static void run_and_die(size_t at)
{
    int status = -1;
    pid_t pid;

    die_at = at;
    fflush(NULL);
    suf_store_close(&st);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        struct suf_transport *t;
        struct suf_send_opts o;
        struct suf_err err = SUF_ERR_INIT;

        reopen_store();
        t = suf_transport_record_new(NULL, respond_then_die, NULL);
        suf_send_opts_init(&o);
        suf_send_with(&run, t, &o, &err);
        _exit(3); /* the stage ended before request `at`: it did not die */
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    reopen_store();
}

static int64_t add_utility(int i)
{
    char phone[32];

    snprintf(phone, sizeof(phone), "4410000003%02d", i);
    return add_send(add_fallback("c1", phone, "pending", 0), 'u', 1, phone, "queued");
}

static void test_send__after_a_crash_only_what_may_have_left_waits(void)
{
    struct suf_transport *t;
    int64_t ids[12];
    const size_t n = sizeof(ids) / sizeof(ids[0]);

    setup("APPROVED");
    ncanned = 0;
    cfg.throughput = 40; /* claims of 10: a quarter second */
    cfg.concurrency = 2;
    for (size_t i = 0; i < n; i++)
        ids[i] = add_utility((int)i);
    /* requests 0 and 1 are polled together: 0 is answered, then the run
     * dies before 1 leaves; 2..9 were claimed and never submitted */
    run_and_die(1);
    CU_ASSERT_EQUAL(q_int("SELECT COUNT(*) FROM sends WHERE state = 'in_flight'", 0), 10);
    CU_ASSERT_EQUAL(q_int("SELECT COUNT(*) FROM sends WHERE state = 'sent'", 0), 0);

    new_run(NOW + 60);
    t = send_with(NULL, SUF_OK);
    /* request 0 reached the API: it waits for its webhook, never re-sent */
    CU_ASSERT_STRING_EQUAL(SEND_STATE(ids[0]), "unknown");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", ids[0]), 1);
    CU_ASSERT_EQUAL(count_bodies_with(t, "\"4410000003"
                                         "00\""),
                    0);
    /* the rest provably never left: each goes now, exactly once */
    for (size_t i = 1; i < n; i++) {
        char needle[32];

        snprintf(needle, sizeof(needle), "\"4410000003%02zu\"", i);
        CU_ASSERT_STRING_EQUAL(SEND_STATE(ids[i]), "sent");
        CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", ids[i]), 1);
        CU_ASSERT_EQUAL(count_bodies_with(t, needle), 1);
    }
    CU_ASSERT_EQUAL(suf_transport_record_count(t), n - 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.unknown"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.requeued"), 9);
    t->close(t);

    /* and the next run sends nothing at all */
    rerun_sends_nothing(NOW + 120);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(ids[0]), "unknown");
    teardown();
}

/* The rate limiter's clock for the test below: each reading is a second
 * after the one before, as if the run had waited out every refusal, so the
 * seconds it shows are those a rate-limited run would spend. */
static int64_t waited_out_clock(void *ctx)
{
    int64_t *ns = ctx;

    *ns += INT64_C(1000000000);
    return *ns;
}

/* The rate limiter's seconds for sending `rows` queued utility messages at
 * one a second, dry or not; every message must reach the transport. */
static int64_t limiter_seconds(bool dry, int rows)
{
    struct suf_transport *t;
    struct suf_send_opts o;
    int64_t ns = 0;

    setup("APPROVED");
    ncanned = 0;
    cfg.throughput = 1;
    for (int i = 0; i < rows; i++)
        add_utility(i);
    run.dry_run = dry;
    suf_send_opts_init(&o);
    o.clock = waited_out_clock;
    o.clock_ctx = &ns;
    t = send_with(&o, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), (size_t)rows);
    t->close(t);
    teardown();
    return ns / INT64_C(1000000000);
}

static void test_send__a_dry_run_is_not_held_to_the_throughput(void)
{
    /* sending: 50 messages at 1/s take the limiter 50 s (the seam works) */
    CU_ASSERT(limiter_seconds(false, 50) >= 49);
    /* a dry run posts nothing: the limiter never makes it wait */
    CU_ASSERT(limiter_seconds(true, 50) < 10);
}

/* A fresh store of `rows` queued utility sends, and a run at `throughput`
 * with `concurrency` slots that dies at its second request; returns how
 * many rows that run left in flight.  The caller tears down. */
static int64_t left_in_flight_by_a_death(int64_t throughput, int concurrency, int rows)
{
    setup("APPROVED");
    ncanned = 0;
    cfg.throughput = throughput;
    cfg.concurrency = concurrency;
    for (int i = 0; i < rows; i++)
        add_utility(i);
    run_and_die(1);
    return q_int("SELECT COUNT(*) FROM sends WHERE state = 'in_flight'", 0);
}

static void test_send__the_claim_batch_is_a_quarter_second_of_work(void)
{
    struct suf_transport *t;

    /* 10 messages a second, 16 slots: 3 claimed, not 16 (1.6 s of work) */
    CU_ASSERT_EQUAL(left_in_flight_by_a_death(10, 16, 20), 3);
    new_run(NOW + 60);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.unknown"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.requeued"), 2);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 19);
    t->close(t);
    teardown();

    /* no throughput (no limit): the first claim fills the slots, no more */
    CU_ASSERT_EQUAL(left_in_flight_by_a_death(0, 2, 20), 2);
    teardown();
}

/* The transport answers at once and the claim batch starts at the two
 * request slots: the wire runs dry while each job commits the next two
 * marks, and the batch grows (never past its bound); every row still goes
 * exactly once. */
static void test_send__the_claim_batch_grows_while_the_wire_waits(void)
{
    struct suf_transport *t;
    const int rows = 600;

    setup("APPROVED");
    ncanned = 0;
    cfg.throughput = 0;
    cfg.concurrency = 2;
    for (int i = 0; i < rows; i++)
        add_utility(i);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), (size_t)rows);
    CU_ASSERT_EQUAL(q_int("SELECT COUNT(*) FROM sends WHERE state = 'sent' AND tries = 1", 0),
                    rows);
    /* 2, 4, ... 1,024: nine doublings at most */
    CU_ASSERT(suf_run_get_count(&run, "send.claim_grown") >= 1);
    CU_ASSERT(suf_run_get_count(&run, "send.claim_grown") <= 9);
    t->close(t);
    teardown();

    /* at a throughput the bound is its quarter second: 40/s claims 10,
     * which it starts at, so it never grows */
    setup("APPROVED");
    ncanned = 0;
    cfg.throughput = 40;
    cfg.concurrency = 2;
    for (int i = 0; i < 12; i++)
        add_utility(i);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 12);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "send.claim_grown"), 0);
    t->close(t);
    teardown();
}

static void test_send__departures_are_recorded_in_the_store(void)
{
    struct suf_transport *t;
    int64_t ok, refused;

    setup("APPROVED");
    ncanned = 0;
    can("441000000401", -1, NULL, -1); /* never connects */
    ok = add_send(add_fallback("c1", "441000000400", "pending", 0), 'u', 1,
                  "441000000400", "queued");
    refused = add_send(add_fallback("c1", "441000000401", "pending", 0), 'u', 1,
                       "441000000401", "queued");
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(ok), "sent");
    CU_ASSERT(q_int("SELECT left_at FROM sends WHERE id = ?1", ok) >= NOW);
    /* a connection never made: deferred, and nothing says it left */
    CU_ASSERT_STRING_EQUAL(SEND_STATE(refused), "queued");
    CU_ASSERT_EQUAL(q_int("SELECT left_at FROM sends WHERE id = ?1", refused), -1);
    CU_ASSERT_STRING_EQUAL(q_text("SELECT api_error FROM sends WHERE id = ?1", refused),
                           "Failed to connect: Connection refused");
    /* a clean end leaves no departure log behind */
    CU_ASSERT_EQUAL(access(suf_test_path("send.db-departures"), F_OK), -1);
    t->close(t);
    teardown();
}

/* A departure log whose blocks cannot be had (here a file size limit below
 * its first chunk, refused as a full disk refuses it): the blocks are
 * reserved before they are mapped, so this is an I/O error of the stage,
 * never a SIGBUS in a copy; nothing is sent and nothing is marked as
 * having left. */
static void test_send__a_log_that_cannot_grow_holds_requests_back(void)
{
    struct suf_transport *t;
    struct rlimit saved, small;
    void (*saved_xfsz)(int);
    int64_t a, b;

    setup("APPROVED");
    a = add_send(add_fallback("c1", "441000000410", "pending", 0), 'u', 1, "441000000410",
                 "queued");
    b = add_send(add_fallback("c1", "441000000411", "pending", 0), 'u', 1, "441000000411",
                 "queued");
    CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    small = saved;
    small.rlim_cur = 128 * 1024; /* the store's files stay below it; the log's chunk does not */
    saved_xfsz = signal(SIGXFSZ, SIG_IGN);
    CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &small) == 0);
    t = send_with(NULL, SUF_ERR_IO);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, saved_xfsz);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(a), "queued");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(b), "queued");
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM sends WHERE left_at IS NOT NULL", 0), 0);
    t->close(t);
    teardown();
}

/* The recording transport, with its wakeups counted (they come from the
 * writer's thread). */
struct counting {
    struct suf_transport t;
    struct suf_transport *inner;
    atomic_int wakeups;
};

static int counting_submit(struct suf_transport *t, const struct suf_request *req,
                           struct suf_err *err)
{
    struct suf_transport *in = ((struct counting *)t)->inner;
    return in->submit(in, req, err);
}

static size_t counting_poll(struct suf_transport *t, int timeout_ms, suf_transport_done_fn done,
                            void *ctx)
{
    struct suf_transport *in = ((struct counting *)t)->inner;
    return in->poll(in, timeout_ms, done, ctx);
}

static void counting_wakeup(struct suf_transport *t)
{
    atomic_fetch_add(&((struct counting *)t)->wakeups, 1);
}

static void counting_close(struct suf_transport *t)
{
    struct counting *c = (struct counting *)t;

    c->inner->close(c->inner);
}

/* The writer tells the sending thread at once that a job is done (the
 * rows it marked may go), through the transport's wakeup, instead of the
 * sending thread looking for it every millisecond. */
static void test_send__the_writer_wakes_the_sending_thread_when_a_job_is_done(void)
{
    struct counting c;
    struct suf_send_opts o;
    struct suf_err err = SUF_ERR_INIT;
    char phone[32];

    setup("APPROVED");
    for (int i = 0; i < 20; i++) {
        snprintf(phone, sizeof(phone), "4410000005%02d", i);
        add_send(add_fallback("c1", phone, "pending", 0), 'u', 1, phone, "queued");
    }
    memset(&c, 0, sizeof(c));
    c.inner = suf_transport_record_new(NULL, respond, NULL);
    c.t.submit = counting_submit;
    c.t.poll = counting_poll;
    c.t.wakeup = counting_wakeup;
    c.t.close = counting_close;
    c.t.name = "counting";
    atomic_init(&c.wakeups, 0);
    suf_send_opts_init(&o);
    CU_ASSERT_EQUAL(suf_send_with(&run, &c.t, &o, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(c.inner), 20);
    CU_ASSERT_EQUAL(q_int("SELECT COUNT(*) FROM sends WHERE state = 'sent' AND ?1", 1), 20);
    /* a job marks the rows, a later one writes their outcomes */
    CU_ASSERT(atomic_load(&c.wakeups) >= 2);
    c.t.close(&c.t);
    teardown();
}

/* Row writes to sends, counted by SQLite's update hook (it runs on the
 * writer's thread; read once the stage is over). */
static int sends_updates;

static void count_sends_update(void *ctx, int op, const char *db, const char *table,
                               sqlite3_int64 rowid)
{
    (void)ctx;
    (void)db;
    (void)rowid;
    if (op == SQLITE_UPDATE && strcmp(table, "sends") == 0)
        sends_updates++;
}

/* A reply back before the next job: that job's outcome records the
 * departure too, so the row is written twice (its mark, its outcome), not
 * three times; a retried row's outcome records the departure of its try. */
static void test_send__a_sent_row_is_written_twice_mark_then_outcome(void)
{
    struct suf_transport *t;
    int64_t id[3];

    setup("APPROVED");
    ncanned = 0;
    can("441000000412", 503, ERR(2), 1); /* once, then the default 200 */
    for (int i = 0; i < 3; i++) {
        char phone[32];

        snprintf(phone, sizeof(phone), "44100000041%d", i);
        id[i] = add_send(add_fallback("c1", phone, "pending", 0), 'u', 1, phone,
                         "queued");
    }
    sends_updates = 0;
    sqlite3_update_hook(st.db, count_sends_update, NULL);
    t = send_with(NULL, SUF_OK);
    sqlite3_update_hook(st.db, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_STRING_EQUAL(SEND_STATE(id[i]), "sent");
        CU_ASSERT(q_int("SELECT left_at FROM sends WHERE id = ?1", id[i]) >= NOW);
    }
    /* two rows twice; the retried one four times (mark, retry, mark, sent) */
    CU_ASSERT_EQUAL(sends_updates, 2 * 2 + 4);
    t->close(t);
    teardown();
}

/* An in_flight row of dead run 7, its mark's try `tries`, left_at as given
 * (0: none). */
static int64_t add_dead(int i, int tries, int64_t left_at)
{
    int64_t id;
    char phone[32];
    sqlite3_stmt *s;

    snprintf(phone, sizeof(phone), "4410000005%02d", i);
    id = add_send(add_fallback("c1", phone, "pending", 0), 'u', 1, phone, "in_flight");
    s = suf_store_prepare(
        &st, "UPDATE sends SET run_id = 7, tries = ?2, left_at = ?3 WHERE id = ?1", NULL);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, tries);
    suf_bind_int64_or_null(s, 3, left_at, left_at == 0);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    return id;
}

/* Writes the departure log as a run that died leaves it: `text`, then
 * `zeros` zero bytes (the rest of its mapped space), then `after`. */
static void write_log(const char *text, size_t zeros, const char *after)
{
    FILE *f = fopen(suf_test_path("send.db-departures"), "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    for (size_t i = 0; i < zeros; i++)
        fputc('\0', f);
    fputs(after, f);
    fclose(f);
}

/* A dead run's in_flight row that nothing names stays 'unknown' under a
 * log (write_log's arguments) that cannot be trusted: nothing is sent. */
static void log_not_trusted(const char *text, size_t zeros, const char *after)
{
    struct suf_transport *t;
    int64_t quiet;

    setup("APPROVED");
    ncanned = 0;
    quiet = add_dead(3, 1, 0);
    write_log(text, zeros, after);
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(quiet), "unknown");
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 0);
    t->close(t);
    teardown();
}

static void test_send__recovery_trusts_the_departure_log_only_as_far_as_it_goes(void)
{
    struct suf_transport *t;
    int64_t named, other_try, in_store, quiet, other_run;
    char log[256];

    setup("APPROVED");
    ncanned = 0;
    named = add_dead(0, 1, 0);          /* the log names it: it may have left */
    other_try = add_dead(1, 2, 0);      /* the log names its first try only */
    in_store = add_dead(2, 1, NOW - 5); /* the store says it left */
    quiet = add_dead(3, 1, 0);          /* nothing says it left */
    other_run = add_dead(4, 1, 0);
    exec_sql("UPDATE sends SET run_id = 6 WHERE id = 5"); /* not the log's run */
    CU_ASSERT_EQUAL(other_run, 5);
    snprintf(log, sizeof(log), "suf departures run 7\n%lld 1\n%lld 1\n", (long long)named,
             (long long)other_try);
    write_log(log, 4096, ""); /* the zero bytes a dead run's log ends in */
    t = send_with(NULL, SUF_OK);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(named), "unknown");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(in_store), "unknown");
    CU_ASSERT_STRING_EQUAL(SEND_STATE(other_run), "unknown");
    /* requeued with their try undone, and sent by this run */
    CU_ASSERT_STRING_EQUAL(SEND_STATE(other_try), "sent");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", other_try), 2);
    CU_ASSERT_STRING_EQUAL(SEND_STATE(quiet), "sent");
    CU_ASSERT_EQUAL(q_int("SELECT tries FROM sends WHERE id = ?1", quiet), 1);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 2);
    t->close(t);
    teardown();

    /* a log with a line it cannot vouch for is not trusted at all */
    log_not_trusted("suf departures run 7\n12 1\n13 1", 0, "");
    /* nor is one with anything but zero bytes after its first zero byte */
    log_not_trusted("suf departures run 7\n12 1\n", 100, "13 1\n");
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
        {"permission template needs its quick replies",
         test_send__permission_template_needs_its_quick_replies},
        {"the live state of the permission template decides",
         test_send__the_live_state_of_the_permission_template_decides},
        {"cost cap stops utility before the next would pass it",
         test_send__cost_cap_stops_utility_before_the_next_would_pass_it},
        {"cost cap uses the card in effect on the day",
         test_send__cost_cap_uses_the_card_in_effect_on_the_day},
        {"dry run changes nothing and records stored bodies",
         test_send__dry_run_changes_nothing_and_records_stored_bodies},
        {"a dry run is not held to the throughput",
         test_send__a_dry_run_is_not_held_to_the_throughput},
        {"after a crash only what may have left waits",
         test_send__after_a_crash_only_what_may_have_left_waits},
        {"the claim batch is a quarter second of work",
         test_send__the_claim_batch_is_a_quarter_second_of_work},
        {"the claim batch grows while the wire waits",
         test_send__the_claim_batch_grows_while_the_wire_waits},
        {"a sent row is written twice: mark, then outcome",
         test_send__a_sent_row_is_written_twice_mark_then_outcome},
        {"the writer wakes the sending thread when a job is done",
         test_send__the_writer_wakes_the_sending_thread_when_a_job_is_done},
        {"departures are recorded in the store",
         test_send__departures_are_recorded_in_the_store},
        {"a departure log whose blocks cannot be had stops the stage, nothing sent",
         test_send__a_log_that_cannot_grow_holds_requests_back},
        {"recovery trusts the departure log only as far as it goes",
         test_send__recovery_trusts_the_departure_log_only_as_far_as_it_goes},
        {NULL, NULL},
    };
    return suf_test_main("send", tests);
}
