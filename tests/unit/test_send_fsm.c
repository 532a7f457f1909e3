/*
 * test_send_fsm.c: the send stage moves fallbacks exactly as the state
 * machine says.  For every fallback state and every event send knows (the
 * utility request accepted or refused, the last session part accepted, a
 * part refused, error 131050, the window's expiry, a phone opted out), the
 * stage's bookkeeping runs on a fallback in that state, and the row it
 * leaves is compared with what suf_fsm_step() makes of the same row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/context.h"
#include "send/send_db.h"
#include "store/fsm.h"
#include "testutil.h"

#define NOW INT64_C(1795485600) /* 2026-11-24T02:00:00Z */
#define H INT64_C(3600)
#define PHONE "441000000099"

static struct suf_config cfg;
static struct suf_store st;
static struct suf_run run;

/* What send does to the fallback. */
enum send_case {
    U_ACCEPTED,  /* the utility request accepted */
    U_REFUSED,   /* the utility request refused (131026) */
    S_ACCEPTED,  /* the last session part accepted */
    S_REFUSED,   /* a session part refused (131047) */
    OPTED_OUT,   /* error 131050 on the utility request */
    EXPIRY,      /* the window pass, a session part queued */
    OPTOUT_PASS, /* the opt-out pass, the phone opted out, a send queued */
    NCASES
};

static const char *const case_names[NCASES] = {
    "utility accepted", "utility refused", "last session part accepted", "session part refused",
    "error 131050",     "window expiry",   "opt-out pass",
};

/* The fallback row in `state` with the times of the states it passed: the
 * consent 25 hours ago, so that its window is over. */
static struct suf_fsm_row row_in(enum suf_fb_state state)
{
    struct suf_fsm_row r;

    memset(&r, 0, sizeof(r));
    r.state = state;
    r.state_at = NOW - 26 * H;
    if (state != SUF_FB_PENDING && state != SUF_FB_FAILED)
        r.utility_sent_at = NOW - 30 * H;
    if (state >= SUF_FB_UTILITY_DELIVERED && state != SUF_FB_UTILITY_FAILED)
        r.utility_delivered_at = NOW - 30 * H + 60;
    if (state >= SUF_FB_CONSENTED && state <= SUF_FB_CONVERTED)
        r.consented_at = NOW - 25 * H;
    if (state == SUF_FB_SESSION_SENT || state == SUF_FB_SESSION_FAILED ||
        state == SUF_FB_CONVERTED)
        r.session_sent_at = NOW - 25 * H + 60;
    if (state == SUF_FB_CONVERTED)
        r.converted_at = NOW - 25 * H + 120;
    return r;
}

static void exec_sql(const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(st.db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sql failed: %s: %s\n", sql, msg);
        exit(2);
    }
}

static void bind_or_null(sqlite3_stmt *s, int i, int64_t v)
{
    suf_bind_int64_or_null(s, i, v, v == 0);
}

static int64_t add_fallback(const struct suf_fsm_row *r)
{
    sqlite3_stmt *s = suf_store_prepare(
        &st,
        "INSERT INTO fallbacks (campaign_id, phone, attempt_id, template_name, scenario, state,"
        " state_at, created_at, utility_sent_at, utility_delivered_at, consented_at,"
        " session_sent_at, converted_at) VALUES ('c1', '" PHONE "', 1, 't', 'S8', ?1, ?2, ?2,"
        " ?3, ?4, ?5, ?6, ?7)",
        NULL);

    suf_bind_text(s, 1, suf_fsm_state_name(r->state));
    sqlite3_bind_int64(s, 2, r->state_at);
    bind_or_null(s, 3, r->utility_sent_at);
    bind_or_null(s, 4, r->utility_delivered_at);
    bind_or_null(s, 5, r->consented_at);
    bind_or_null(s, 6, r->session_sent_at);
    bind_or_null(s, 7, r->converted_at);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    return sqlite3_last_insert_rowid(st.db);
}

static int64_t add_send(int64_t fb, char kind, const char *state)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state, queued_at,"
             " in_flight_at) VALUES (%lld, '%c', 1, 1, 'suf:%lld:%c1', '{}', '%s', %lld, %lld)",
             (long long)fb, kind, (long long)fb, kind, state, (long long)(NOW - H),
             (long long)(NOW - H));
    exec_sql(sql);
    return sqlite3_last_insert_rowid(st.db);
}

/* The event the state machine gets for `c`, and the send row it needs. */
static struct suf_fsm_event event_of(enum send_case c, char *kind, const char **send_state)
{
    struct suf_fsm_event ev = {SUF_EV_TICK, NOW, false, 0, SUF_FB_REASON_NONE, NULL};

    *kind = 'u';
    *send_state = "in_flight";
    switch (c) {
    case U_ACCEPTED:
        ev.kind = SUF_EV_UTILITY_SENT;
        break;
    case U_REFUSED:
        ev.kind = SUF_EV_UTILITY_FAILED;
        ev.error_code = 131026;
        break;
    case S_ACCEPTED:
        ev.kind = SUF_EV_SESSION_SENT;
        *kind = 's';
        break;
    case S_REFUSED:
        ev.kind = SUF_EV_SESSION_FAILED;
        ev.error_code = 131047;
        *kind = 's';
        break;
    case OPTED_OUT:
        ev.kind = SUF_EV_OPT_OUT;
        ev.error_code = 131050;
        break;
    case EXPIRY:
        *kind = 's';
        *send_state = "queued";
        break;
    case OPTOUT_PASS:
        ev.kind = SUF_EV_OPT_OUT;
        *send_state = "queued";
        break;
    case NCASES:
        break;
    }
    return ev;
}

/* Runs the send stage's bookkeeping for case `c` on send `id`. */
static void run_case(enum send_case c, int64_t fb, int64_t id, char kind)
{
    struct send_db db;
    struct send_item it;
    struct suf_err err = SUF_ERR_INIT;
    char phone[] = PHONE, campaign[] = "c1";
    int64_t n;

    CU_ASSERT_EQUAL_FATAL(suf_send_db_open(&db, &run, &err), SUF_OK);
    memset(&it, 0, sizeof(it));
    it.id = id;
    it.fallback_id = fb;
    it.kind = kind;
    it.part = it.n = 1;
    it.phone = phone;
    it.campaign = campaign;
    if (c == EXPIRY) {
        CU_ASSERT_EQUAL(suf_send_db_expire(&db, &n, &err), SUF_OK);
    } else if (c == OPTOUT_PASS) {
        exec_sql("INSERT INTO optouts (phone, at, source) VALUES ('" PHONE "', 1, 'stop')");
        CU_ASSERT_EQUAL(suf_send_db_optouts(&db, &n, &err), SUF_OK);
    } else {
        it.verdict = c == U_ACCEPTED || c == S_ACCEPTED ? SUF_API_SENT : SUF_API_PERMANENT;
        it.res.http_status = it.verdict == SUF_API_SENT ? 200 : 400;
        snprintf(it.res.wamid, sizeof(it.res.wamid), "wamid.%lld", (long long)id);
        it.res.api_code = c == U_REFUSED ? 131026 : c == S_REFUSED ? 131047 : c == OPTED_OUT ? 131050 : 0;
        CU_ASSERT_EQUAL(suf_send_db_begin(&db, &err), SUF_OK);
        CU_ASSERT_EQUAL(suf_send_db_outcome(&db, &it, &err), SUF_OK);
        CU_ASSERT_EQUAL(suf_send_db_commit(&db, &err), SUF_OK);
    }
    suf_send_db_close(&db);
}

static int64_t col(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, i);
}

/* Compares the stored fallback with `want`; says what differs, unless
 * `what` is NULL. */
static bool stored_is(int64_t fb, const struct suf_fsm_row *want, const char *what)
{
    sqlite3_stmt *s = suf_store_prepare(
        &st,
        "SELECT state, state_at, utility_sent_at, session_sent_at, closed_at, error_code"
        " FROM fallbacks WHERE id = ?1",
        NULL);
    bool same;

    sqlite3_bind_int64(s, 1, fb);
    CU_ASSERT_EQUAL_FATAL(sqlite3_step(s), SQLITE_ROW);
    same = !strcmp((const char *)sqlite3_column_text(s, 0), suf_fsm_state_name(want->state)) &&
           col(s, 1) == want->state_at && col(s, 2) == want->utility_sent_at &&
           col(s, 3) == want->session_sent_at && col(s, 4) == want->closed_at &&
           col(s, 5) == want->error_code;
    if (!same && what)
        fprintf(stderr,
                "%s: stored %s at %lld (sent %lld, session %lld, closed %lld, code %lld); the "
                "machine says %s at %lld (sent %lld, session %lld, closed %lld, code %lld)\n",
                what, (const char *)sqlite3_column_text(s, 0), (long long)col(s, 1),
                (long long)col(s, 2), (long long)col(s, 3), (long long)col(s, 4),
                (long long)col(s, 5), suf_fsm_state_name(want->state), (long long)want->state_at,
                (long long)want->utility_sent_at, (long long)want->session_sent_at,
                (long long)want->closed_at, (long long)want->error_code);
    sqlite3_finalize(s);
    return same;
}

static void test_send_fsm__send_moves_every_state_as_the_machine_says(void)
{
    int checked = 0;

    for (int c = 0; c < NCASES; c++) {
        for (int state = 0; state < SUF_FB_STATE_COUNT; state++) {
            struct suf_fsm_row want = row_in((enum suf_fb_state)state);
            struct suf_fsm_params p;
            struct suf_fsm_event ev;
            const char *send_state;
            char kind, what[96];
            unsigned fx;
            int64_t fb, id, t0, t1;

            suf_config_init(&cfg);
            suf_test_store(&st, "send_fsm.db");
            memset(&run, 0, sizeof(run));
            run.cfg = &cfg;
            run.store = &st;
            run.id = 1;
            suf_clock_init(&run.clock, NOW);
            p.consent_wait_s = cfg.consent_wait_hours * 3600;
            p.margin_s = cfg.window_margin_minutes * 60;

            ev = event_of((enum send_case)c, &kind, &send_state);
            fb = add_fallback(&want);
            id = add_send(fb, kind, send_state);
            /* the run's clock moves on from NOW: send stamps its moves with
             * the second it reads, which a slow machine may see tick */
            t0 = suf_run_now(&run);
            run_case((enum send_case)c, fb, id, kind);
            t1 = suf_run_now(&run);
            snprintf(what, sizeof(what), "%s, from %s", case_names[c],
                     suf_fsm_state_name((enum suf_fb_state)state));
            /* the machine's answer at the second send read; a second that
             * ticked during the call allows the later one */
            ev.at += t0 - NOW;
            {
                struct suf_fsm_row later = want;
                struct suf_fsm_event ev1 = ev;
                unsigned fx1;

                ev1.at += t1 - t0;
                suf_fsm_step(&p, &want, &ev, &fx);
                suf_fsm_step(&p, &later, &ev1, &fx1);
                if (t1 != t0 && fx1 == fx && stored_is(fb, &later, NULL))
                    want = later;
            }
            CU_ASSERT(stored_is(fb, &want, what));
            /* cancelled sends follow the machine's effect */
            if (c == OPTED_OUT || c == OPTOUT_PASS || c == EXPIRY) {
                sqlite3_stmt *s = suf_store_prepare(
                    &st, "SELECT state FROM sends WHERE id = ?1", NULL);

                sqlite3_bind_int64(s, 1, id);
                CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_ROW);
                if (c != OPTED_OUT)
                    CU_ASSERT_EQUAL(!strcmp((const char *)sqlite3_column_text(s, 0), "cancelled"),
                                    (fx & SUF_FSM_CANCEL_SENDS) != 0);
                sqlite3_finalize(s);
            }
            checked++;
            json_decref(run.counts);
            suf_store_close(&st);
            remove(suf_test_path("send_fsm.db"));
            suf_config_release(&cfg);
        }
    }
    CU_ASSERT_EQUAL(checked, NCASES * SUF_FB_STATE_COUNT);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"send moves every state as the machine says",
         test_send_fsm__send_moves_every_state_as_the_machine_says},
        {NULL, NULL},
    };

    return suf_test_main("send_fsm", tests);
}
